//! The client's side of connecting a seller (issue 20), against the sandbox as Seller Central and Login with
//! Amazon: the authorization code a seller's consent sends back buys the seller's refresh token once, and the
//! Sellers API then names the seller's marketplaces within the operation's own bucket.

mod sandbox_support;

use std::sync::Arc;

use reqwest::StatusCode;
use sandbox_support::{CA, US, harness, spec};
use shared::amazon::{
    AmazonClient, Endpoints, LwaCredentials, MemoryRateLimiter, Operation, RetryPolicy, SellerAuth,
};
use shared::domain::Region;
use shared::error::AmazonError;
use shared::metrics::Metrics;
use tests::sandbox::{APPLICATION_ID, CLIENT_ID, CLIENT_SECRET};

const CALLBACK: &str = "https://sellersync.example/connect/callback";

#[tokio::test]
async fn a_consents_code_buys_the_sellers_refresh_token_once_and_the_sellers_marketplaces_follow() {
    let h = harness().await;
    let seller = h.add_seller(spec(21, &[US, CA], 5));
    h.sandbox.set_redirect_uris(&[CALLBACK]);
    let confirmed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/apps/authorize/confirm", h.sandbox.base_url()))
        .form(&[
            ("application_id", APPLICATION_ID),
            ("state", "state-1"),
            ("seller_id", seller.seller_id.as_str()),
            ("decision", "confirm"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::FOUND);
    let location = confirmed.headers()["location"].to_str().unwrap().to_owned();
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    let code = params
        .iter()
        .find(|(k, _)| k == "spapi_oauth_code")
        .map(|(_, v)| v.clone())
        .unwrap();

    let limiter = Arc::new(MemoryRateLimiter::new(h.clock.clone()));
    let client = AmazonClient::new(
        AmazonClient::http_client().unwrap(),
        Endpoints::single(h.sandbox.base_url(), &h.sandbox.lwa_url()),
        LwaCredentials::new(CLIENT_ID, CLIENT_SECRET),
        h.clock.clone(),
        limiter,
        RetryPolicy::default(),
        Metrics::recording("connect"),
    );
    let granted = client.exchange_authorization_code(&code, CALLBACK).await.unwrap();
    assert!(!format!("{granted:?}").contains("Atzr|"), "Debug shows the token");
    let again = client
        .exchange_authorization_code(&code, CALLBACK)
        .await
        .unwrap_err();
    assert!(
        matches!(again, AmazonError::AuthorizationCodeRefused { .. }),
        "{again:?}"
    );
    assert!(!again.is_retryable());
    assert_eq!(
        again.problem(),
        None,
        "a refused code says nothing about an account"
    );

    let auth = SellerAuth::new("new-account", Region::Na, granted.expose());
    let participations = client.get_marketplace_participations(&auth).await.unwrap();
    let ids: Vec<&str> = participations.iter().map(|p| p.marketplace_id.as_str()).collect();
    assert_eq!(ids, [US, CA]);
    assert!(
        participations
            .iter()
            .all(|p| p.is_participating && !p.has_suspended_listings)
    );
    assert_eq!(participations[0].country_code, "US");
    assert_eq!(participations[0].name, "Amazon.com");
    // It drew from its own bucket: 15 tokens, one spent.
    let left = client
        .available_tokens("new-account", Operation::GetMarketplaceParticipations)
        .await
        .unwrap()
        .unwrap();
    assert!((13.9..14.1).contains(&left), "{left}");
}
