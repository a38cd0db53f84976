//! Connecting a seller in one click, over real HTTP: an operator's connect link, its public page, the sandbox's
//! Seller Central consent, Amazon's redirect to the public callback, and the account it connects (or renews).
//! Every refusal (a denied consent, a forged state, an expired or reused link, a code used twice or exchanged
//! too late, another seller, two callbacks at once) ends on a page that says so, with no account changed.

mod api_support;

use api_support::{Api, CA, DE, US, seller_spec, start};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::app::request_reports::Tick;
use tests::sandbox::{APPLICATION_ID, Fault, FaultKind, Operation};

/// A browser that does not follow redirects, so that each hop is seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A page: status, `Location`, and the body.
struct Page {
    status: StatusCode,
    location: Option<String>,
    html: String,
    referrer_policy: Option<String>,
}

async fn fetch(request: reqwest::RequestBuilder) -> Page {
    let response = request.send().await.expect("answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (location, referrer_policy) = (header("location"), header("referrer-policy"));
    Page {
        status: response.status(),
        location,
        referrer_policy,
        html: response.text().await.unwrap(),
    }
}

async fn get_page(url: &str, language: &str) -> Page {
    fetch(browser().get(url).header("accept-language", language)).await
}

/// Creates a link with `body`; its URL and secret id.
async fn create_link(api: &Api, body: Value) -> (String, String) {
    let created = api.post("/connect-links", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let url = created.body["url"].as_str().expect("url").to_owned();
    let id = url.rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/connect-links/{id}").as_str())
    );
    (url, id)
}

fn link_body() -> Value {
    json!({"region": "NA", "importInterval": "15m"})
}

/// The consent URL behind the page's button.
fn consent_href(html: &str) -> String {
    let start = html
        .find("class=\"button\" rel=\"noreferrer\" href=\"")
        .expect("the button")
        + 38;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

fn query_of(url: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str(url.split_once('?').expect("a query").1).unwrap()
}

fn param(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} in {pairs:?}"))
}

/// Opens the link's page and follows its button to the sandbox's consent page; the consent URL.
async fn open_link(api: &Api, url: &str) -> String {
    let page = get_page(url, "en").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.referrer_policy.as_deref(), Some("no-referrer"));
    let consent = consent_href(&page.html);
    assert!(
        consent.starts_with(&format!("{}/apps/authorize/consent?", api.sandbox.base_url())),
        "{consent}"
    );
    let shown = get_page(&consent, "en").await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.html);
    consent
}

/// The seller picks `seller` and presses `decision` on the consent page of `consent`: Seller Central's answer.
async fn decide(api: &Api, consent: &str, seller: &str, decision: &str) -> Page {
    let query = query_of(consent);
    assert_eq!(param(&query, "application_id"), APPLICATION_ID);
    let form = [
        ("application_id", APPLICATION_ID.to_owned()),
        ("state", param(&query, "state")),
        ("redirect_uri", param(&query, "redirect_uri")),
        ("seller_id", seller.to_owned()),
        ("decision", decision.to_owned()),
    ];
    fetch(
        browser()
            .post(format!("{}/apps/authorize/confirm", api.sandbox.base_url()))
            .form(&form),
    )
    .await
}

/// Consents as `seller`: the callback URL Amazon redirects to.
async fn consent_as(api: &Api, consent: &str, seller: &str) -> String {
    let confirmed = decide(api, consent, seller, "confirm").await;
    assert_eq!(confirmed.status, StatusCode::FOUND, "{}", confirmed.html);
    confirmed.location.expect("a redirect")
}

/// Registers the API's callback as the application's OAuth Redirect URI.
fn register_callback(api: &Api) {
    api.sandbox
        .set_redirect_uris(&[&format!("{}/connect/callback", api.url)]);
}

async fn accounts(api: &Api) -> Vec<Value> {
    api.get("/accounts").await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn link_status(api: &Api, id: &str) -> Value {
    let answer = api.get(&format!("/connect-links/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body
}

#[tokio::test]
async fn a_seller_connects_in_one_click_and_the_account_imports() {
    let api = start().await;
    register_callback(&api);
    let seller = api.sandbox.add_seller(seller_spec(301, &[US, CA], 12)).unwrap();
    let (url, id) = create_link(&api, link_body()).await;
    assert!(url.starts_with(&format!("{}/connect/", api.url)), "{url}");
    assert_eq!(link_status(&api, &id).await["status"], "open");
    assert!(
        link_status(&api, &id).await.get("url").is_none(),
        "the URL is shown once"
    );

    let consent = open_link(&api, &url).await;
    let callback = consent_as(&api, &consent, &seller.seller_id).await;
    assert!(callback.starts_with(&format!("{}/connect/callback?", api.url)));
    let connected = get_page(&callback, "en").await;
    assert_eq!(connected.status, StatusCode::OK, "{}", connected.html);
    assert_eq!(connected.referrer_policy.as_deref(), Some("no-referrer"));
    assert!(
        connected.html.contains("Your Amazon account is connected"),
        "{}",
        connected.html
    );
    assert!(connected.html.contains(&seller.seller_id));
    assert!(connected.html.contains("Amazon.com") && connected.html.contains("Amazon.ca"));
    assert!(connected.html.contains("every 15 minutes"));

    // The account: the seller's marketplaces as Amazon named them, the link's settings, a schedule, a token.
    let account_id = format!("{}-na", seller.seller_id);
    let account = api.get(&format!("/accounts/{account_id}")).await;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(account.body["marketplaceIds"], json!([CA, US]));
    assert_eq!(account.body["importInterval"], "15m");
    let schedule = api
        .stack
        .scheduler
        .get_schedule()
        .name(format!("account-{account_id}"))
        .group_name(api.resources.get("AccountScheduleGroup").unwrap())
        .send()
        .await
        .expect("a schedule");
    assert_eq!(schedule.schedule_expression(), Some("rate(15 minutes)"));
    let token = api
        .import
        .secrets
        .get(&api.naming.secret_name(&account_id))
        .await
        .unwrap()
        .expect("a refresh token");
    assert!(token.starts_with("Atzr|"));
    let status = link_status(&api, &id).await;
    assert_eq!(
        (status["status"].as_str(), status["accountId"].as_str()),
        (Some("used"), Some(account_id.as_str()))
    );

    // It imports like any other account.
    api.import
        .request_reports(&Tick {
            account_id: account_id.clone(),
        })
        .await
        .expect("reports requested");
    api.advance(TimeDelta::minutes(2));
    api.poll_and_parse().await;
    let orders = api.get(&format!("/accounts/{account_id}/orders")).await;
    assert_eq!(orders.status, StatusCode::OK);
    assert!(
        !orders.body["items"].as_array().unwrap().is_empty(),
        "{:?}",
        orders.body
    );

    // The link is spent: its page, and its callback again, say so.
    let again = get_page(&url, "en").await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.html.contains("This link has been used"), "{}", again.html);
    let reloaded = get_page(&callback, "en").await;
    assert_eq!(reloaded.status, StatusCode::GONE, "{}", reloaded.html);
    assert_eq!(accounts(&api).await.len(), 1);
}

#[tokio::test]
async fn refusals_end_on_a_page_and_change_nothing() {
    let api = start().await;
    register_callback(&api);
    let seller = api.sandbox.add_seller(seller_spec(302, &[US], 3)).unwrap();
    let (url, id) = create_link(&api, link_body()).await;

    // Denied at the consent page: Seller Central shows its own page and never redirects.
    let consent = open_link(&api, &url).await;
    let cancelled = decide(&api, &consent, &seller.seller_id, "cancel").await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(cancelled.location, None);
    // An OAuth error instead of a code, should Amazon send one.
    let state = param(&query_of(&consent), "state");
    let denied = get_page(
        &format!("{}/connect/callback?error=access_denied&state={state}", api.url),
        "en",
    )
    .await;
    assert_eq!(denied.status, StatusCode::OK);
    assert!(
        denied.html.contains("You did not connect your account"),
        "{}",
        denied.html
    );

    // Forged states: unknown link, the right link with a nonce its page never handed out, none at all.
    let fake = "A".repeat(32);
    for state in [format!("{fake}.{fake}"), format!("{id}.{fake}"), "x".to_owned()] {
        let forged = get_page(
            &format!(
                "{}/connect/callback?state={state}&selling_partner_id={}&spapi_oauth_code=ANYCODE",
                api.url, seller.seller_id
            ),
            "en",
        )
        .await;
        assert_eq!(forged.status, StatusCode::BAD_REQUEST, "{state}: {}", forged.html);
        assert!(forged.html.contains("This link is not valid"), "{}", forged.html);
    }
    let no_state = get_page(&format!("{}/connect/callback", api.url), "en").await;
    assert_eq!(no_state.status, StatusCode::BAD_REQUEST);

    // A code exchanged too late: LWA's code lasts five minutes.
    let consent = open_link(&api, &url).await;
    let callback = consent_as(&api, &consent, &seller.seller_id).await;
    api.advance(TimeDelta::minutes(6));
    let late = get_page(&callback, "en").await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST, "{}", late.html);
    assert!(late.html.contains("no longer valid"), "{}", late.html);
    // Reloading the callback: its state was spent on that claim.
    let reloaded = get_page(&callback, "en").await;
    assert_eq!(reloaded.status, StatusCode::BAD_REQUEST, "{}", reloaded.html);

    // A code used twice: the first callback exchanged it, then the Sellers API failed and the link was
    // released; the same code with a fresh state reaches LWA, which refuses it.
    let consent = open_link(&api, &url).await;
    let callback = consent_as(&api, &consent, &seller.seller_id).await;
    api.sandbox.inject(
        Fault::new(FaultKind::ServerError { status: 503 })
            .on(Operation::GetMarketplaceParticipations)
            .times(10),
    );
    let failed = get_page(&callback, "en").await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE, "{}", failed.html);
    api.sandbox.clear_faults();
    let code = param(&query_of(&callback), "spapi_oauth_code");
    let fresh = param(&query_of(&open_link(&api, &url).await), "state");
    let twice = get_page(
        &format!(
            "{}/connect/callback?state={fresh}&selling_partner_id={}&spapi_oauth_code={code}",
            api.url, seller.seller_id
        ),
        "en",
    )
    .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST, "{}", twice.html);
    assert!(twice.html.contains("no longer valid"), "{}", twice.html);

    // None of it connected anything, and the link still works.
    assert!(accounts(&api).await.is_empty());
    assert_eq!(link_status(&api, &id).await["status"], "open");
    let consent = open_link(&api, &url).await;
    let callback = consent_as(&api, &consent, &seller.seller_id).await;
    assert_eq!(get_page(&callback, "en").await.status, StatusCode::OK);
    assert_eq!(accounts(&api).await.len(), 1);
}

#[tokio::test]
async fn an_expired_link_and_another_sellers_consent_are_refused() {
    let api = start().await;
    register_callback(&api);
    let seller = api.sandbox.add_seller(seller_spec(303, &[US], 3)).unwrap();
    let other = api.sandbox.add_seller(seller_spec(304, &[US], 3)).unwrap();

    // A link for one seller refuses another's consent.
    let mut body = link_body();
    body["sellerId"] = json!(seller.seller_id);
    let (url, _) = create_link(&api, body).await;
    let consent = open_link(&api, &url).await;
    let callback = consent_as(&api, &consent, &other.seller_id).await;
    let refused = get_page(&callback, "en").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.html);
    assert!(refused.html.contains("another seller"), "{}", refused.html);

    // An expired link: its page, and a state handed out before it expired.
    let mut body = link_body();
    body["expiresInHours"] = json!(1);
    let (url, id) = create_link(&api, body).await;
    let consent = open_link(&api, &url).await;
    let callback = consent_as(&api, &consent, &seller.seller_id).await;
    api.advance(TimeDelta::minutes(61));
    let page = get_page(&url, "en").await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(page.html.contains("This link has expired"), "{}", page.html);
    assert_eq!(get_page(&callback, "en").await.status, StatusCode::GONE);
    assert_eq!(link_status(&api, &id).await["status"], "expired");
    assert!(accounts(&api).await.is_empty());
}

#[tokio::test]
async fn two_callbacks_with_one_state_connect_once() {
    let api = start().await;
    register_callback(&api);
    let seller = api.sandbox.add_seller(seller_spec(305, &[US], 3)).unwrap();
    let (url, _) = create_link(&api, link_body()).await;
    let consent = open_link(&api, &url).await;
    let callback = consent_as(&api, &consent, &seller.seller_id).await;
    let (a, b) = tokio::join!(get_page(&callback, "en"), get_page(&callback, "en"));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses[0], StatusCode::OK, "{} / {}", a.html, b.html);
    assert!(
        [StatusCode::BAD_REQUEST, StatusCode::CONFLICT, StatusCode::GONE].contains(&statuses[1]),
        "{statuses:?}"
    );
    assert_eq!(accounts(&api).await.len(), 1);
}

#[tokio::test]
async fn reconnecting_renews_the_token_keeps_the_settings_and_clears_the_problem() {
    let api = start().await;
    register_callback(&api);
    let (seller, account_id) = api.connect(seller_spec(306, &[US, CA], 3), "1h").await;
    let old_token = api
        .import
        .secrets
        .get(&api.naming.secret_name(&account_id))
        .await
        .unwrap();
    // The seller withdraws the app's authorization; the next import finds out.
    api.sandbox.revoke_refresh_token(&seller.seller_id).unwrap();
    let _ = api
        .import
        .request_reports(&Tick {
            account_id: account_id.clone(),
        })
        .await;
    let before = api.get(&format!("/accounts/{account_id}")).await.body;
    assert_eq!(
        before["status"]["problem"]["kind"], "refresh_token_revoked",
        "{before}"
    );

    let (url, _) = create_link(
        &api,
        json!({"region": "NA", "importInterval": "5m", "marketplaceId": CA}),
    )
    .await;
    let consent = open_link(&api, &url).await;
    assert!(consent.contains("application_id="));
    let callback = consent_as(&api, &consent, &seller.seller_id).await;
    let page = get_page(&callback, "de-DE,de;q=0.9").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("<html lang=\"de\""));
    assert!(page.html.contains("wieder verbunden"), "{}", page.html);

    let after = api.get(&format!("/accounts/{account_id}")).await.body;
    assert_eq!(after["status"]["connection"], "connected", "{after}");
    assert!(after["status"].get("problem").is_none(), "{after}");
    assert_eq!(after["importInterval"], "1h", "the account's settings stay");
    let new_token = api
        .import
        .secrets
        .get(&api.naming.secret_name(&account_id))
        .await
        .unwrap();
    assert_ne!(new_token, old_token);
    api.import
        .request_reports(&Tick { account_id })
        .await
        .expect("the renewed token works");
    assert_eq!(accounts(&api).await.len(), 1);
}

#[tokio::test]
async fn link_requests_are_checked_and_pages_speak_german() {
    let api = start().await;
    register_callback(&api);
    let cases = [
        (json!({"region": "XX", "importInterval": "15m"}), "region"),
        (
            json!({"region": "NA", "importInterval": "15m", "marketplaceId": DE}),
            "marketplaceId",
        ),
        (
            json!({"region": "NA", "importInterval": "15m", "expiresInHours": 0}),
            "expiresInHours",
        ),
        (
            json!({"region": "NA", "importInterval": "15m", "expiresInHours": 169}),
            "expiresInHours",
        ),
        (
            json!({"region": "NA", "importInterval": "15m", "sellerId": "bad id"}),
            "sellerId",
        ),
        (
            json!({"region": "NA", "importInterval": "15m", "url": "x"}),
            "url",
        ),
        (json!({"region": "NA"}), "importInterval"),
    ];
    for (body, field) in cases {
        let answer = api.post("/connect-links", body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {:?}",
            answer.body
        );
        assert_eq!(answer.field(), Some(field), "{body}: {:?}", answer.body);
    }
    assert_eq!(
        api.get(&format!("/connect-links/{}", "B".repeat(32)))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/connect-links/short").await.status,
        StatusCode::NOT_FOUND
    );

    let (url, _) = create_link(&api, json!({"region": "EU", "importInterval": "daily"})).await;
    let page = get_page(&url, "fr-FR,de;q=0.8,en;q=0.5").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Weiter zu Amazon"), "{}", page.html);
    assert!(page.html.contains("<html lang=\"de\""));
    let unknown = get_page(&format!("{}/connect/{}", api.url, "C".repeat(32)), "de").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(
        unknown.html.contains("Dieser Link ist ungültig"),
        "{}",
        unknown.html
    );
}

#[tokio::test]
async fn no_code_token_state_or_link_id_reaches_a_log_line() {
    let logs = tests::logs::CapturedLogs::install().unwrap();
    let api = start().await;
    register_callback(&api);
    let seller = api.sandbox.add_seller(seller_spec(307, &[US], 3)).unwrap();
    let (url, id) = create_link(&api, link_body()).await;
    // A refused round (the code exchanged too late) and a connecting one.
    let consent = open_link(&api, &url).await;
    let late = consent_as(&api, &consent, &seller.seller_id).await;
    api.advance(TimeDelta::minutes(6));
    assert_eq!(get_page(&late, "en").await.status, StatusCode::BAD_REQUEST);
    let consent = open_link(&api, &url).await;
    let callback = consent_as(&api, &consent, &seller.seller_id).await;
    assert_eq!(get_page(&callback, "en").await.status, StatusCode::OK);
    let account_id = format!("{}-na", seller.seller_id);
    let token = api
        .import
        .secrets
        .get(&api.naming.secret_name(&account_id))
        .await
        .unwrap()
        .unwrap();

    let text = logs.text();
    assert!(
        text.contains("seller connected"),
        "the connection is logged: {text}"
    );
    let mut secrets = vec![id.clone(), token];
    for redirect in [&late, &callback] {
        let query = query_of(redirect);
        let state = param(&query, "state");
        let (_, nonce) = state.split_once('.').unwrap();
        secrets.extend([param(&query, "spapi_oauth_code"), state.clone(), nonce.to_owned()]);
    }
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a log line holds {secret}");
    }
}
