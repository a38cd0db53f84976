//! The application's client secret, rotated through the Application Management API against the sandbox: the
//! grantless call, Amazon's new-secret notification, the old secret's last week, and a client that reads its
//! credentials from a secret store going on working through the switch and past the old secret's expiry.

mod sandbox_support;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use sandbox_support::{US, harness, spec};
use shared::amazon::{
    AmazonClient, Credentials, CredentialsSource, Endpoints, LwaCredentials, MemoryRateLimiter, RetryPolicy,
    SellerAuth,
};
use shared::domain::Region;
use shared::error::AmazonError;
use shared::metrics::Metrics;
use shared::ports::SecretStore;
use shared::testing::MemorySecrets;
use tests::sandbox::{CLIENT_ID, CLIENT_SECRET, ROTATION_SCOPE};

/// LWA's answer to the seller's refresh-token grant made with the application's `secret`.
async fn grant_with(h: &sandbox_support::Harness, refresh_token: &str, secret: &str) -> StatusCode {
    h.lwa(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", CLIENT_ID),
        ("client_secret", secret),
    ])
    .await
    .status
}

/// A grantless access token with `scope`.
async fn grantless(h: &sandbox_support::Harness, scope: &str) -> String {
    let answer = h
        .lwa(&[
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    answer.body["access_token"].as_str().unwrap().to_owned()
}

fn credentials_json(secret: &str) -> String {
    serde_json::json!({"clientId": CLIENT_ID, "clientSecret": secret}).to_string()
}

#[tokio::test]
async fn a_rotation_sends_the_new_secret_and_the_old_one_lasts_a_week() {
    let h = harness().await;
    let seller = h.add_seller(spec(71, &[US], 3));
    let secrets = Arc::new(MemorySecrets::default());
    secrets
        .put("lwa-app", &credentials_json(CLIENT_SECRET))
        .await
        .unwrap();
    let clock: Arc<dyn shared::clock::Clock> = h.clock.clone();
    let client = AmazonClient::new(
        AmazonClient::http_client().unwrap(),
        Endpoints::single(h.sandbox.base_url(), &h.sandbox.lwa_url()),
        Credentials::from_source(
            LwaCredentials::new(CLIENT_ID, CLIENT_SECRET),
            h.now(),
            CredentialsSource {
                secrets: secrets.clone(),
                name: "lwa-app".into(),
                lifetime: TimeDelta::minutes(5),
            },
        ),
        clock.clone(),
        Arc::new(MemoryRateLimiter::new(clock)),
        RetryPolicy::default(),
        Metrics::recording("rotation"),
    );
    let auth = SellerAuth::new("A-na", Region::Na, seller.refresh_token.clone());
    client.authorize(&auth).await.expect("the first secret works");

    client
        .rotate_application_client_secret(Region::Na)
        .await
        .expect("rotated");
    let notifications = h.sandbox.take_application_notifications();
    assert_eq!(notifications.len(), 1, "{notifications:?}");
    let n = &notifications[0];
    assert_eq!(n["notificationType"], "APPLICATION_OAUTH_CLIENT_NEW_SECRET");
    let payload = &n["payload"]["applicationOAuthClientNewSecret"];
    assert_eq!(payload["clientId"], CLIENT_ID);
    let new_secret = payload["newClientSecret"].as_str().unwrap().to_owned();
    assert!(new_secret.starts_with("amzn1.oa2-cs.v1."), "{new_secret}");
    let time = |field: &str| payload[field].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    assert_eq!(time("oldClientSecretExpiryTime"), h.now() + TimeDelta::days(7));
    assert_eq!(time("newClientSecretExpiryTime"), h.now() + TimeDelta::days(180));
    assert!(
        h.sandbox.take_application_notifications().is_empty(),
        "taken once"
    );

    // The old secret works for its last week, then LWA refuses it.
    let refresh = seller.refresh_token.as_str();
    assert_eq!(grant_with(&h, refresh, CLIENT_SECRET).await, StatusCode::OK);
    h.advance(TimeDelta::days(7));
    assert_eq!(
        grant_with(&h, refresh, CLIENT_SECRET).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(grant_with(&h, refresh, &new_secret).await, StatusCode::OK);

    // The client still holds the old secret; the store has the new one (what the notification's handler
    // does): LWA's refusal makes it read the store again, and the seller's calls go on.
    secrets
        .put("lwa-app", &credentials_json(&new_secret))
        .await
        .unwrap();
    h.advance(TimeDelta::hours(2));
    client
        .authorize(&auth)
        .await
        .expect("the new secret is read and works");
}

#[tokio::test]
async fn only_a_grantless_token_with_the_rotation_scope_rotates_and_the_quota_is_one_a_minute() {
    let h = harness().await;
    let seller = h.add_seller(spec(72, &[US], 3));
    let path = "/applications/2023-11-30/clientSecret";
    let seller_token = h.token(&seller).await;
    let other_scope = grantless(&h, "sellingpartnerapi::notifications").await;
    for token in [Some(seller_token.as_str()), Some(other_scope.as_str()), None] {
        let refused = h.call(Method::POST, path, token, None).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{token:?}: {:?}",
            refused.body
        );
        assert_eq!(refused.body["errors"][0]["code"], "Unauthorized");
    }
    assert!(h.sandbox.take_application_notifications().is_empty());
    assert_eq!(h.sandbox.client_secrets().len(), 1);

    let token = grantless(&h, ROTATION_SCOPE).await;
    let rotated = h.call(Method::POST, path, Some(&token), None).await;
    assert_eq!(rotated.status, StatusCode::NO_CONTENT, "{:?}", rotated.body);
    assert!(rotated.bytes.is_empty());
    let again = h.call(Method::POST, path, Some(&token), None).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS, "burst 1");
    h.advance(TimeDelta::seconds(60));
    assert_eq!(
        h.call(Method::POST, path, Some(&token), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.sandbox.client_secrets().len(), 3);
    assert_eq!(h.sandbox.take_application_notifications().len(), 2);
}

#[tokio::test]
async fn a_client_with_fixed_credentials_is_refused_once_the_old_secret_expires() {
    let h = harness().await;
    let seller = h.add_seller(spec(73, &[US], 3));
    let clock: Arc<dyn shared::clock::Clock> = h.clock.clone();
    let client = AmazonClient::new(
        AmazonClient::http_client().unwrap(),
        Endpoints::single(h.sandbox.base_url(), &h.sandbox.lwa_url()),
        LwaCredentials::new(CLIENT_ID, CLIENT_SECRET),
        clock.clone(),
        Arc::new(MemoryRateLimiter::new(clock)),
        RetryPolicy::default(),
        Metrics::recording("rotation"),
    );
    h.sandbox.rotate_client_secret();
    h.advance(TimeDelta::days(7));
    let auth = SellerAuth::new("A-na", Region::Na, seller.refresh_token.clone());
    let err = client.authorize(&auth).await.unwrap_err();
    assert!(matches!(err, AmazonError::InvalidClient { .. }), "{err:?}");
}
