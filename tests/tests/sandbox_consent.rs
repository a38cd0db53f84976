//! The sandbox as Seller Central and Login with Amazon in the website authorization workflow: the consent page,
//! Confirm's redirect with `state`, `selling_partner_id` and `spapi_oauth_code`, Cancel's page without one, the
//! code's single five-minute exchange, and the Sellers API that names the seller's marketplaces.

mod sandbox_support;

use chrono::TimeDelta;
use reqwest::StatusCode;
use sandbox_support::{CA, Harness, US, harness, spec};
use tests::sandbox::{APPLICATION_ID, CLIENT_ID, CLIENT_SECRET, Operation};

const CALLBACK: &str = "https://sellersync.example/connect/callback";

/// A browser that does not follow redirects, so the test sees where Seller Central sends it.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn consent_page(h: &Harness, query: &[(&str, &str)]) -> (StatusCode, String) {
    let response = browser()
        .get(format!("{}/apps/authorize/consent", h.sandbox.base_url()))
        .query(query)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Submits the consent form: `decision` is `confirm` or `cancel`. The status, the `Location` header and the body.
async fn decide(
    h: &Harness,
    fields: &[(&str, &str)],
    decision: &str,
) -> (StatusCode, Option<String>, String) {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("decision", decision));
    let response = browser()
        .post(format!("{}/apps/authorize/confirm", h.sandbox.base_url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status(), location, response.text().await.unwrap())
}

fn query_of(location: &str) -> Vec<(String, String)> {
    let (_, query) = location.split_once('?').expect("a query");
    serde_urlencoded::from_str(query).unwrap()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} in {pairs:?}"))
}

async fn exchange(h: &Harness, code: &str, redirect_uri: &str) -> sandbox_support::Answer {
    h.lwa(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ])
    .await
}

#[tokio::test]
async fn confirming_sends_the_seller_back_with_a_code_that_buys_one_refresh_token() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US, CA], 10));
    let other = h.add_seller(spec(2, &[US], 10));
    h.sandbox
        .set_redirect_uris(&[CALLBACK, "https://other.example/cb"]);

    let state = "link-1.a1b2c3";
    let (status, page) = consent_page(
        &h,
        &[
            ("application_id", APPLICATION_ID),
            ("state", state),
            ("version", "beta"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(&seller.seller_id) && page.contains(&other.seller_id),
        "{page}"
    );
    assert!(page.contains("Confirm") && page.contains("Cancel"), "{page}");

    // Without redirect_uri, the first registered one.
    let fields = [
        ("application_id", APPLICATION_ID),
        ("state", state),
        ("seller_id", seller.seller_id.as_str()),
    ];
    let (status, location, _) = decide(&h, &fields, "confirm").await;
    assert_eq!(status, StatusCode::FOUND);
    let location = location.expect("a redirect");
    assert!(location.starts_with(&format!("{CALLBACK}?")), "{location}");
    let params = query_of(&location);
    assert_eq!(param(&params, "state"), state);
    assert_eq!(param(&params, "selling_partner_id"), seller.seller_id);
    let code = param(&params, "spapi_oauth_code").to_owned();

    let granted = exchange(&h, &code, CALLBACK).await;
    assert_eq!(granted.status, StatusCode::OK, "{:?}", granted.body);
    let refresh_token = granted.body["refresh_token"].as_str().unwrap().to_owned();
    assert!(refresh_token.starts_with("Atzr|") && refresh_token != seller.refresh_token);
    assert_eq!(granted.body["token_type"], "bearer");

    // The code is spent; the refresh token it bought is the seller's.
    let again = exchange(&h, &code, CALLBACK).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(again.body["error"], "invalid_grant");
    assert_eq!(
        again.body["error_description"],
        "The request has an invalid grant parameter : code"
    );
    let access = h.exchange(&refresh_token).await;
    let token = access.body["access_token"].as_str().unwrap();
    let participations = h.get("/sellers/v1/marketplaceParticipations", token).await;
    assert_eq!(participations.status, StatusCode::OK, "{:?}", participations.body);
    assert_eq!(participations.header("x-amzn-ratelimit-limit"), Some("0.016"));
    let ids: Vec<&str> = participations.body["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["marketplace"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [US, CA]);
    let us = &participations.body["payload"][0];
    assert_eq!(us["marketplace"]["countryCode"], "US");
    assert_eq!(us["marketplace"]["defaultCurrencyCode"], "USD");
    assert_eq!(us["marketplace"]["domainName"], "www.amazon.com");
    assert_eq!(us["participation"]["isParticipating"], true);
    let stats = h.sandbox.stats(&seller.seller_id).unwrap();
    assert_eq!(stats[&Operation::GetMarketplaceParticipations].calls, 1);
}

#[tokio::test]
async fn a_code_is_refused_late_with_another_redirect_uri_or_another_client() {
    let h = harness().await;
    let seller = h.add_seller(spec(3, &[US], 10));
    h.sandbox.set_redirect_uris(&[CALLBACK]);
    let code = || async {
        let fields = [
            ("application_id", APPLICATION_ID),
            ("state", "s"),
            ("redirect_uri", CALLBACK),
            ("seller_id", seller.seller_id.as_str()),
        ];
        let (_, location, _) = decide(&h, &fields, "confirm").await;
        param(&query_of(&location.unwrap()), "spapi_oauth_code").to_owned()
    };

    let late = code().await;
    h.advance(TimeDelta::minutes(5));
    let refused = exchange(&h, &late, CALLBACK).await;
    assert_eq!(
        (refused.status, refused.body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "a code five minutes old"
    );

    let elsewhere = code().await;
    let refused = exchange(&h, &elsewhere, "https://attacker.example/cb").await;
    assert_eq!(refused.body["error"], "invalid_grant", "another redirect URI");
    // A refused exchange does not spend the code.
    h.advance(TimeDelta::minutes(4));
    let in_time = exchange(&h, &elsewhere, CALLBACK).await;
    assert_eq!(in_time.status, StatusCode::OK, "{:?}", in_time.body);

    let foreign = code().await;
    let refused = h
        .lwa(&[
            ("grant_type", "authorization_code"),
            ("code", &foreign),
            ("redirect_uri", CALLBACK),
            ("client_id", "amzn1.application-oa2-client.someoneelse"),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body["error"], "invalid_client");
    let made_up = exchange(&h, "NoSuchCodeFromSellerCentral", CALLBACK).await;
    assert_eq!(made_up.body["error"], "invalid_grant");
}

#[tokio::test]
async fn cancel_and_a_bad_request_show_a_page_and_send_nothing_to_the_application() {
    let h = harness().await;
    let seller = h.add_seller(spec(4, &[US], 10));
    h.sandbox.set_redirect_uris(&[CALLBACK]);
    let fields = [
        ("application_id", APPLICATION_ID),
        ("state", "s"),
        ("seller_id", seller.seller_id.as_str()),
    ];
    let (status, location, page) = decide(&h, &fields, "cancel").await;
    assert_eq!((status, location), (StatusCode::OK, None));
    assert!(page.contains("did not authorize"), "{page}");

    for (query, why) in [
        (
            vec![("application_id", "amzn1.sellerapps.app.unknown"), ("state", "s")],
            "application_id",
        ),
        (
            vec![
                ("application_id", APPLICATION_ID),
                ("state", "s"),
                ("redirect_uri", "https://attacker.example/cb"),
            ],
            "redirect_uri",
        ),
    ] {
        let (status, page) = consent_page(&h, &query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {page}");
        assert!(page.contains(why), "{why}: {page}");
        let mut form = query.clone();
        form.push(("seller_id", seller.seller_id.as_str()));
        let (status, location, _) = decide(&h, &form, "confirm").await;
        assert_eq!((status, location), (StatusCode::BAD_REQUEST, None), "{why}");
    }
    // A page's text is the page's: a state with markup comes back escaped.
    let (_, page) = consent_page(
        &h,
        &[
            ("application_id", APPLICATION_ID),
            ("state", "<script>x</script>"),
        ],
    )
    .await;
    assert!(
        !page.contains("<script>") && page.contains("&lt;script&gt;"),
        "{page}"
    );
}
