//! The client against a loopback Amazon (wiremock) answering with the recorded shapes of LWA, SP-API and S3.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::domain::{ProblemKind, Region};
use crate::error::{AmazonError, StoreError};
use crate::metrics::Metrics;

const LWA_PATH: &str = "/auth/o2/token";
const CLIENT_ID: &str = "amzn1.application-oa2-client.test";
const CLIENT_SECRET: &str = "amzn1.oa2-cs.v1.do-not-print";
const REFRESH_TOKEN: &str = "Atzr|refresh-one";
const ACCESS_TOKEN: &str = "Atza|access-one";
const ACCOUNT: &str = "acct-1";

const RECORDED_403: &str = r#"{
  "errors": [
    {
      "code": "Unauthorized",
      "message": "Access to requested resource is denied.",
      "details": ""
    }
  ]
}"#;
const RECORDED_429: &str = r#"{
  "errors": [
    {
      "code": "QuotaExceeded",
      "message": "You exceeded your quota for the requested resource.",
      "details": ""
    }
  ]
}"#;
const EXPIRED_URL_XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
    <Message>Request has expired</Message><X-Amz-Expires>300</X-Amz-Expires>\
    <Expires>2025-06-03T12:26:02Z</Expires><ServerTime>2025-06-03T14:34:02Z</ServerTime>\
    <RequestId>S3JY1BXRCHR180S3</RequestId></Error>";

/// Records every draw and every reported rate on top of a real in-memory limiter.
#[derive(Debug)]
struct RecordingLimiter {
    inner: MemoryRateLimiter,
    draws: Mutex<Vec<(String, Operation)>>,
    observed: Mutex<Vec<(String, Operation, f64)>>,
}

impl RecordingLimiter {
    fn draws(&self) -> Vec<(String, Operation)> {
        self.draws.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn draws_of(&self, operation: Operation) -> usize {
        self.draws().iter().filter(|(_, op)| *op == operation).count()
    }

    fn observed(&self) -> Vec<(String, Operation, f64)> {
        self.observed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl RateLimiter for RecordingLimiter {
    async fn try_acquire(&self, key: &str, operation: Operation) -> Result<Result<(), Duration>, StoreError> {
        self.inner.try_acquire(key, operation).await
    }

    fn clock(&self) -> &dyn Clock {
        self.inner.clock()
    }

    /// One draw per call, however long it waits.
    async fn acquire_within(
        &self,
        key: &str,
        operation: Operation,
        limit: Option<Duration>,
    ) -> Result<Result<(), Duration>, StoreError> {
        self.draws
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((key.to_owned(), operation));
        self.inner.acquire_within(key, operation, limit).await
    }

    async fn observe_limit(&self, key: &str, operation: Operation, rate: f64) -> Result<(), StoreError> {
        self.observed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((key.to_owned(), operation, rate));
        self.inner.observe_limit(key, operation, rate).await
    }
}

struct Amazon {
    server: MockServer,
    client: AmazonClient,
    clock: Arc<ManualClock>,
    limiter: Arc<RecordingLimiter>,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 3, 12, 0, 0).unwrap()
}

async fn amazon() -> Amazon {
    amazon_with(RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(8),
        attempt_timeout: Duration::from_secs(5),
    })
    .await
}

async fn amazon_with(retry: RetryPolicy) -> Amazon {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new(start()));
    let limiter = Arc::new(RecordingLimiter {
        inner: MemoryRateLimiter::new(clock.clone()),
        draws: Mutex::default(),
        observed: Mutex::default(),
    });
    let client = AmazonClient::new(
        AmazonClient::http_client().unwrap(),
        Endpoints::single(&server.uri(), &format!("{}{LWA_PATH}", server.uri())),
        LwaCredentials::new(CLIENT_ID, CLIENT_SECRET),
        clock.clone(),
        limiter.clone(),
        retry,
        Metrics::recording("test"),
    );
    Amazon {
        server,
        client,
        clock,
        limiter,
    }
}

/// `max_attempts` attempts of 200 ms each at most.
fn impatient(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(8),
        attempt_timeout: Duration::from_millis(200),
    }
}

fn seller() -> SellerAuth {
    SellerAuth::new(ACCOUNT, Region::Eu, REFRESH_TOKEN)
}

fn lwa_token(access_token: &str) -> ResponseTemplate {
    // The recorded shape: the refresh token is echoed back.
    ResponseTemplate::new(200)
        .insert_header("Cache-Control", "no-cache, no-store, must-revalidate")
        .set_body_json(json!({
            "access_token": access_token,
            "refresh_token": REFRESH_TOKEN,
            "token_type": "bearer",
            "expires_in": 3600
        }))
}

async fn mount_lwa(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(LWA_PATH))
        .respond_with(lwa_token(ACCESS_TOKEN))
        .mount(server)
        .await;
}

fn report_json(report_id: &str) -> Value {
    json!({
        "reportId": report_id,
        "reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        "marketplaceIds": ["A1PA6795UKMFR9"],
        "dataStartTime": "2025-06-01T00:00:00Z",
        "dataEndTime": "2025-06-03T00:00:00Z",
        "createdTime": "2025-06-03T11:59:00.000Z",
        "processingStatus": "DONE",
        "processingStartTime": "2025-06-03T11:59:10.000Z",
        "processingEndTime": "2025-06-03T11:59:40.000Z",
        "reportDocumentId": "amzn1.spdoc.1.4.eu.doc-1"
    })
}

fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("x-amzn-RequestId", "f118850f-d6f0-47b8-b329-463e7e80e63d")
        .set_body_json(body)
}

async fn mount_get_report(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports/ID323"))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn requests_to(server: &MockServer, wanted: &str) -> Vec<Request> {
    let all = server.received_requests().await.unwrap_or_default();
    all.into_iter().filter(|r| r.url.path() == wanted).collect()
}

fn form_of(request: &Request) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(&request.body);
    reqwest::Url::parse(&format!("http://form/?{text}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn header_of<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

// ---- LWA ----

#[tokio::test]
async fn one_lwa_exchange_serves_many_calls_until_the_token_nears_expiry() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    mount_get_report(&amazon.server, ok_json(report_json("ID323"))).await;

    amazon.client.authorize(&seller()).await.unwrap();
    for _ in 0..3 {
        amazon.client.get_report(&seller(), "ID323").await.unwrap();
    }
    let lwa = requests_to(&amazon.server, LWA_PATH).await;
    assert_eq!(lwa.len(), 1);
    assert_eq!(
        form_of(&lwa[0]),
        [
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), REFRESH_TOKEN.to_owned()),
            ("client_id".to_owned(), CLIENT_ID.to_owned()),
            ("client_secret".to_owned(), CLIENT_SECRET.to_owned()),
        ]
    );
    assert_eq!(
        header_of(&lwa[0], "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    for call in requests_to(&amazon.server, "/reports/2021-06-30/reports/ID323").await {
        assert_eq!(header_of(&call, "x-amz-access-token"), Some(ACCESS_TOKEN));
        assert_eq!(header_of(&call, "x-amz-date"), Some("20250603T120000Z"));
    }

    // Still good just inside the margin, refreshed once past it.
    amazon
        .clock
        .advance(Duration::from_secs(3600) - auth::TOKEN_EXPIRY_MARGIN - Duration::from_secs(1));
    amazon.client.get_report(&seller(), "ID323").await.unwrap();
    assert_eq!(requests_to(&amazon.server, LWA_PATH).await.len(), 1);
    amazon.clock.advance(Duration::from_secs(2));
    amazon.client.get_report(&seller(), "ID323").await.unwrap();
    assert_eq!(requests_to(&amazon.server, LWA_PATH).await.len(), 2);
    assert_eq!(amazon.client.stats().lwa_requests, 2);
}

#[tokio::test]
async fn concurrent_calls_for_one_account_share_one_lwa_exchange() {
    let amazon = amazon().await;
    Mock::given(method("POST"))
        .and(path(LWA_PATH))
        .respond_with(lwa_token(ACCESS_TOKEN).set_delay(Duration::from_millis(100)))
        .mount(&amazon.server)
        .await;
    mount_get_report(&amazon.server, ok_json(report_json("ID323"))).await;

    let seller = seller();
    let calls = (0..5).map(|_| amazon.client.get_report(&seller, "ID323"));
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert_eq!(requests_to(&amazon.server, LWA_PATH).await.len(), 1);
}

#[tokio::test]
async fn a_new_refresh_token_for_the_account_is_not_served_the_old_access_token() {
    let amazon = amazon().await;
    Mock::given(method("POST"))
        .and(path(LWA_PATH))
        .and(body_string_contains("refresh_token=Atzr%7Crefresh-one"))
        .respond_with(lwa_token("Atza|for-old"))
        .mount(&amazon.server)
        .await;
    Mock::given(method("POST"))
        .and(path(LWA_PATH))
        .and(body_string_contains("refresh_token=Atzr%7Crefresh-two"))
        .respond_with(lwa_token("Atza|for-new"))
        .mount(&amazon.server)
        .await;
    mount_get_report(&amazon.server, ok_json(report_json("ID323"))).await;

    amazon.client.get_report(&seller(), "ID323").await.unwrap();
    let reauthorized = SellerAuth::new(ACCOUNT, Region::Eu, "Atzr|refresh-two");
    amazon.client.get_report(&reauthorized, "ID323").await.unwrap();

    let tokens: Vec<_> = requests_to(&amazon.server, "/reports/2021-06-30/reports/ID323")
        .await
        .iter()
        .map(|r| header_of(r, "x-amz-access-token").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(tokens, ["Atza|for-old", "Atza|for-new"]);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_classified_as_revoked_and_not_retried() {
    let amazon = amazon().await;
    Mock::given(method("POST"))
        .and(path(LWA_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error_description": "The request has an invalid grant parameter : refresh_token",
            "error": "invalid_grant"
        })))
        .mount(&amazon.server)
        .await;
    mount_get_report(&amazon.server, ok_json(report_json("ID323"))).await;

    let err = amazon.client.get_report(&seller(), "ID323").await.unwrap_err();

    assert!(matches!(err, AmazonError::RefreshTokenRevoked { .. }), "{err:?}");
    assert_eq!(err.problem(), Some(ProblemKind::RefreshTokenRevoked));
    assert!(!err.is_retryable());
    assert_eq!(requests_to(&amazon.server, LWA_PATH).await.len(), 1);
    assert!(
        requests_to(&amazon.server, "/reports/2021-06-30/reports/ID323")
            .await
            .is_empty()
    );
    assert!(!err.to_string().contains("refresh-one"), "{err}");
}

#[tokio::test]
async fn wrong_application_credentials_are_classified_as_invalid_client() {
    let amazon = amazon().await;
    Mock::given(method("POST"))
        .and(path(LWA_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error_description": "Client authentication failed",
            "error": "invalid_client"
        })))
        .mount(&amazon.server)
        .await;

    let err = amazon.client.authorize(&seller()).await.unwrap_err();

    assert!(matches!(err, AmazonError::InvalidClient { .. }), "{err:?}");
    assert_eq!(err.problem(), Some(ProblemKind::InvalidCredentials));
    assert!(!err.to_string().contains(CLIENT_SECRET), "{err}");
}

/// LWA that takes only `secret` as the application's client secret.
async fn mount_lwa_for_secret(server: &MockServer, secret: &str) {
    Mock::given(method("POST"))
        .and(path(LWA_PATH))
        .and(body_string_contains(format!("client_secret={secret}")))
        .respond_with(lwa_token(ACCESS_TOKEN))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path(LWA_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error_description": "Client authentication failed",
            "error": "invalid_client"
        })))
        .with_priority(2)
        .mount(server)
        .await;
}

fn credentials_json(secret: &str) -> String {
    json!({"clientId": CLIENT_ID, "clientSecret": secret}).to_string()
}

/// A client whose credentials come from `secrets` under `lwa-app`, read again every five minutes.
fn client_reading(amazon: &Amazon, secrets: Arc<crate::testing::MemorySecrets>, first: &str) -> AmazonClient {
    AmazonClient::new(
        AmazonClient::http_client().unwrap(),
        Endpoints::single(
            &amazon.server.uri(),
            &format!("{}{LWA_PATH}", amazon.server.uri()),
        ),
        Credentials::from_source(
            LwaCredentials::new(CLIENT_ID, first),
            crate::clock::Clock::now(amazon.clock.as_ref()),
            CredentialsSource {
                secrets,
                name: "lwa-app".into(),
                lifetime: chrono::TimeDelta::minutes(5),
            },
        ),
        amazon.clock.clone(),
        amazon.limiter.clone(),
        impatient(1),
        Metrics::recording("test"),
    )
}

#[tokio::test]
async fn a_rotated_client_secret_is_read_again_when_lwa_refuses_the_old_one() {
    use crate::ports::SecretStore;
    let amazon = amazon().await;
    let secrets = Arc::new(crate::testing::MemorySecrets::default());
    secrets
        .put("lwa-app", &credentials_json("old-secret"))
        .await
        .unwrap();
    let client = client_reading(&amazon, secrets.clone(), "old-secret");
    // The secret was rotated and its old value expired; the stored one is new, the client holds the old.
    secrets
        .put("lwa-app", &credentials_json("new-secret"))
        .await
        .unwrap();
    mount_lwa_for_secret(&amazon.server, "new-secret").await;

    client
        .authorize(&seller())
        .await
        .expect("the new secret is read and works");
    let lwa = requests_to(&amazon.server, LWA_PATH).await;
    assert_eq!(lwa.len(), 2, "one refusal, one success");
    assert!(String::from_utf8_lossy(&lwa[1].body).contains("client_secret=new-secret"));

    // A secret that is simply wrong is read again once, and the refusal stands.
    secrets
        .put("lwa-app", &credentials_json("wrong-secret"))
        .await
        .unwrap();
    let other = client_reading(&amazon, secrets.clone(), "wrong-secret");
    let err = other.authorize(&seller()).await.unwrap_err();
    assert!(matches!(err, AmazonError::InvalidClient { .. }), "{err:?}");
    assert_eq!(requests_to(&amazon.server, LWA_PATH).await.len(), 3);
}

#[tokio::test]
async fn credentials_older_than_their_lifetime_are_read_again_and_a_failed_read_keeps_them() {
    use crate::ports::SecretStore;
    let amazon = amazon().await;
    let secrets = Arc::new(crate::testing::MemorySecrets::default());
    secrets.put("lwa-app", &credentials_json("first")).await.unwrap();
    let client = client_reading(&amazon, secrets.clone(), "first");
    secrets.put("lwa-app", &credentials_json("second")).await.unwrap();
    assert_eq!(
        client.credentials().await,
        LwaCredentials::new(CLIENT_ID, "first"),
        "within the lifetime"
    );
    amazon.clock.advance(Duration::from_secs(300));
    assert_eq!(
        client.credentials().await,
        LwaCredentials::new(CLIENT_ID, "second")
    );
    // Secrets Manager down: the held credentials go on working.
    secrets
        .fail_reads
        .store(true, std::sync::atomic::Ordering::SeqCst);
    amazon.clock.advance(Duration::from_secs(300));
    assert_eq!(
        client.credentials().await,
        LwaCredentials::new(CLIENT_ID, "second")
    );
}

#[tokio::test]
async fn an_lwa_outage_is_retried_with_backoff() {
    let amazon = amazon().await;
    Mock::given(method("POST"))
        .and(path(LWA_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>Service Unavailable</html>"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&amazon.server)
        .await;
    mount_lwa(&amazon.server).await;
    mount_get_report(&amazon.server, ok_json(report_json("ID323"))).await;

    amazon.client.get_report(&seller(), "ID323").await.unwrap();

    assert_eq!(requests_to(&amazon.server, LWA_PATH).await.len(), 3);
    assert_eq!(amazon.clock.sleeps().len(), 2);
}

// ---- SP-API errors and retries ----

#[tokio::test]
async fn a_403_unauthorized_means_access_denied_and_drops_the_cached_token() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    mount_get_report(
        &amazon.server,
        ResponseTemplate::new(403).set_body_raw(RECORDED_403, "application/json"),
    )
    .await;

    let err = amazon.client.get_report(&seller(), "ID323").await.unwrap_err();

    assert_eq!(
        err,
        AmazonError::AccessDenied {
            operation: "getReport",
            code: "Unauthorized".to_owned(),
            message: "Access to requested resource is denied.".to_owned(),
        }
    );
    assert_eq!(err.problem(), Some(ProblemKind::AccessDenied));
    assert_eq!(
        requests_to(&amazon.server, "/reports/2021-06-30/reports/ID323")
            .await
            .len(),
        1
    );
    // The next call asks LWA again instead of sending the refused token.
    let _ = amazon.client.get_report(&seller(), "ID323").await;
    assert_eq!(requests_to(&amazon.server, LWA_PATH).await.len(), 2);
}

#[tokio::test]
async fn a_429_is_retried_after_a_backoff_until_it_succeeds() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports/ID323"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("X-Amzn-Errortype", "TooManyRequestsException")
                .set_body_raw(RECORDED_429, "application/json"),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&amazon.server)
        .await;
    mount_get_report(&amazon.server, ok_json(report_json("ID323"))).await;

    let report = amazon.client.get_report(&seller(), "ID323").await.unwrap();

    assert_eq!(report.report_id, "ID323");
    let stats = amazon.client.stats();
    assert_eq!(
        (stats.calls, stats.attempts, stats.throttled, stats.retries),
        (1, 3, 2, 2)
    );
    let sleeps = amazon.clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(
        sleeps[0] <= Duration::from_secs(1) && sleeps[1] <= Duration::from_secs(2),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn a_429_forever_ends_throttled_after_every_attempt_drew_from_the_bucket() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    mount_get_report(
        &amazon.server,
        ResponseTemplate::new(429).set_body_raw(RECORDED_429, "application/json"),
    )
    .await;

    let err = amazon.client.get_report(&seller(), "ID323").await.unwrap_err();

    assert_eq!(
        err,
        AmazonError::Throttled {
            operation: "getReport",
            attempts: 4
        }
    );
    assert_eq!(err.problem(), Some(ProblemKind::Throttled));
    assert_eq!(
        requests_to(&amazon.server, "/reports/2021-06-30/reports/ID323")
            .await
            .len(),
        4
    );
    assert_eq!(
        amazon.limiter.draws(),
        vec![(ACCOUNT.to_owned(), Operation::GetReport); 4]
    );
    assert_eq!(amazon.client.stats().throttled, 4);
}

#[tokio::test]
async fn server_errors_are_retried_and_end_as_amazon_unavailable() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    for status in [500, 502, 503] {
        Mock::given(method("GET"))
            .and(path("/reports/2021-06-30/reports/ID323"))
            .respond_with(ResponseTemplate::new(status))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&amazon.server)
            .await;
    }
    mount_get_report(&amazon.server, ok_json(report_json("ID323"))).await;
    amazon.client.get_report(&seller(), "ID323").await.unwrap();
    assert_eq!(amazon.client.stats().attempts, 4);

    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports/ID504"))
        .respond_with(ResponseTemplate::new(504))
        .mount(&amazon.server)
        .await;
    let err = amazon.client.get_report(&seller(), "ID504").await.unwrap_err();
    assert_eq!(
        err,
        AmazonError::AmazonUnavailable {
            operation: "getReport",
            status: 504,
            attempts: 4
        }
    );
    assert_eq!(err.problem(), Some(ProblemKind::AmazonUnavailable));
}

#[tokio::test]
async fn a_timeout_is_retried_and_ends_as_a_transport_error() {
    let amazon = amazon_with(impatient(3)).await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports/ID323"))
        .respond_with(ok_json(report_json("ID323")).set_delay(Duration::from_secs(5)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&amazon.server)
        .await;
    mount_get_report(&amazon.server, ok_json(report_json("ID323"))).await;
    amazon.client.get_report(&seller(), "ID323").await.unwrap();
    assert_eq!(amazon.client.stats().retries, 1);

    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports/SLOW"))
        .respond_with(ok_json(report_json("SLOW")).set_delay(Duration::from_secs(5)))
        .mount(&amazon.server)
        .await;
    let err = amazon.client.get_report(&seller(), "SLOW").await.unwrap_err();
    assert!(
        matches!(&err, AmazonError::Transport { attempts: 3, reason, .. } if reason.contains("timed out")),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains("127.0.0.1"),
        "no URL in the error: {err}"
    );
}

#[tokio::test]
async fn a_400_is_not_retried_and_keeps_amazons_code_and_message() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("POST"))
        .and(path("/reports/2021-06-30/reports"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-amzn-RateLimit-Limit", "0.0167")
                .set_body_json(json!({"errors": [{
                    "message": "Invalid input",
                    "code": "InvalidInput",
                    "details": "dataStartTime is more than 30 days before dataEndTime"
                }]})),
        )
        .mount(&amazon.server)
        .await;
    let spec = CreateReportSpecification {
        report_type: "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL".to_owned(),
        marketplace_ids: vec!["A1PA6795UKMFR9".to_owned()],
        data_start_time: None,
        data_end_time: None,
        report_options: None,
    };

    let err = amazon.client.create_report(&seller(), &spec).await.unwrap_err();

    assert_eq!(
        err,
        AmazonError::BadRequest {
            operation: "createReport",
            status: 400,
            code: "InvalidInput".to_owned(),
            message: "Invalid input dataStartTime is more than 30 days before dataEndTime".to_owned(),
        }
    );
    assert!(!err.is_retryable());
    assert_eq!(amazon.client.stats().attempts, 1);
    // A 400 still tells the rate.
    assert_eq!(
        amazon.limiter.observed(),
        [(ACCOUNT.to_owned(), Operation::CreateReport, 0.0167)]
    );
}

#[tokio::test]
async fn the_rate_limit_header_feeds_the_limiter_but_a_429_never_does() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports/ID323"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-amzn-RateLimit-Limit", "99.0")
                .set_body_raw(RECORDED_429, "application/json"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&amazon.server)
        .await;
    mount_get_report(
        &amazon.server,
        ok_json(report_json("ID323")).insert_header("x-amzn-RateLimit-Limit", "5.0"),
    )
    .await;

    amazon.client.get_report(&seller(), "ID323").await.unwrap();

    assert_eq!(
        amazon.limiter.observed(),
        [(ACCOUNT.to_owned(), Operation::GetReport, 5.0)]
    );
    assert_eq!(
        amazon.limiter.inner.quota(ACCOUNT, Operation::GetReport).rate,
        5.0
    );
}

/// A client whose Amazon answers `cancelReport` of ID323 (burst 10 at 0.0222/s): for pacing tests.
async fn amazon_cancelling() -> Amazon {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("DELETE"))
        .and(path("/reports/2021-06-30/reports/ID323"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&amazon.server)
        .await;
    amazon
}

#[tokio::test]
async fn calls_are_paced_by_the_limiter_through_the_clock() {
    let amazon = amazon_cancelling().await;

    // cancelReport: burst 10 at 0.0222/s; the 11th call waits 45 s of clock time.
    for _ in 0..11 {
        amazon.client.cancel_report(&seller(), "ID323").await.unwrap();
    }

    assert_eq!(amazon.clock.sleeps(), [Duration::from_millis(45_046)]);
    assert_eq!(
        requests_to(&amazon.server, "/reports/2021-06-30/reports/ID323")
            .await
            .len(),
        11
    );
}

#[tokio::test]
async fn a_client_with_a_limit_waits_for_a_token_only_when_it_comes_within_the_limit() {
    let amazon = amazon_cancelling().await;
    for _ in 0..10 {
        amazon.client.cancel_report(&seller(), "ID323").await.unwrap();
    }

    // The burst is spent; the next token is 45 s away.
    let next = Duration::from_millis(45_046);
    for client in [
        amazon.client.without_waiting(),
        amazon.client.waiting_at_most(Duration::from_secs(30)),
    ] {
        let err = client.cancel_report(&seller(), "ID323").await.unwrap_err();
        assert_eq!(
            err,
            AmazonError::QuotaInUse {
                operation: "cancelReport",
                retry_after: next
            }
        );
    }
    assert!(amazon.clock.sleeps().is_empty(), "{:?}", amazon.clock.sleeps());
    let report = "/reports/2021-06-30/reports/ID323";
    assert_eq!(requests_to(&amazon.server, report).await.len(), 10);

    amazon
        .client
        .waiting_at_most(Duration::from_secs(50))
        .cancel_report(&seller(), "ID323")
        .await
        .unwrap();
    assert_eq!(amazon.clock.sleeps(), [next]);
    assert_eq!(requests_to(&amazon.server, report).await.len(), 11);
}

// ---- Restricted Data Tokens ----

#[tokio::test]
async fn a_restricted_document_is_fetched_with_an_rdt_for_exactly_its_path() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("POST"))
        .and(path("/tokens/2021-03-01/restrictedDataToken"))
        .and(header("x-amz-access-token", ACCESS_TOKEN))
        .and(body_json(json!({"restrictedResources": [
            {"method": "GET", "path": "/reports/2021-06-30/documents/amzn1.spdoc.1.4.eu.doc-2"}
        ]})))
        .respond_with(ok_json(
            json!({"restrictedDataToken": "Atz.sprdt|rdt-2", "expiresIn": 3600}),
        ))
        .expect(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/documents/amzn1.spdoc.1.4.eu.doc-2"))
        .and(header("x-amz-access-token", "Atz.sprdt|rdt-2"))
        .respond_with(ok_json(json!({
            "reportDocumentId": "amzn1.spdoc.1.4.eu.doc-2",
            "url": format!("{}/documents/doc-2?X-Amz-Signature=abc", amazon.server.uri()),
            "compressionAlgorithm": "GZIP"
        })))
        .expect(1)
        .mount(&amazon.server)
        .await;

    let access = DocumentAccess::for_report_type("GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING");
    let document = amazon
        .client
        .get_report_document(&seller(), "amzn1.spdoc.1.4.eu.doc-2", access)
        .await
        .unwrap();

    assert_eq!(document.compression_algorithm, Some(CompressionAlgorithm::Gzip));
    assert_eq!(amazon.limiter.draws_of(Operation::CreateRestrictedDataToken), 1);
    assert_eq!(amazon.limiter.draws_of(Operation::GetReportDocument), 1);
}

#[tokio::test]
async fn a_plain_document_is_fetched_with_the_access_token_and_no_rdt() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/documents/amzn1.spdoc.1.4.eu.doc-1"))
        .and(header("x-amz-access-token", ACCESS_TOKEN))
        .respond_with(ok_json(json!({
            "reportDocumentId": "amzn1.spdoc.1.4.eu.doc-1",
            "url": "https://d34o8swod1owfl.cloudfront.net/Report_47700__GET_MERCHANT_LISTINGS_ALL_DATA_.txt"
        })))
        .expect(1)
        .mount(&amazon.server)
        .await;

    let access = DocumentAccess::for_report_type("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL");
    let document = amazon
        .client
        .get_report_document(&seller(), "amzn1.spdoc.1.4.eu.doc-1", access)
        .await
        .unwrap();

    assert_eq!(document.compression_algorithm, None);
    assert!(
        requests_to(&amazon.server, "/tokens/2021-03-01/restrictedDataToken")
            .await
            .is_empty()
    );
}

// ---- Documents ----

fn cp1252_report(lines: usize) -> Vec<u8> {
    let mut text = b"amazon-order-id\tbuyer-name\tship-city\n".to_vec();
    for i in 0..lines {
        // 0xE9 and 0x80: "é" and "€" in Cp1252, invalid as UTF-8 on their own.
        text.extend_from_slice(format!("171-{i:07}-1234567\tRen").as_bytes());
        text.extend_from_slice(&[0xE9]);
        text.extend_from_slice(b"e\tK");
        text.extend_from_slice(&[0xF6]);
        text.extend_from_slice(b"ln \x80\n");
    }
    text
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn a_gzip_document_streams_back_to_its_original_bytes_with_its_charset() {
    let amazon = amazon().await;
    let original = cp1252_report(40_000);
    Mock::given(method("GET"))
        .and(path("/documents/doc-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Encoding", "identity")
                .set_body_raw(gzip(&original), "text/plain; charset=Cp1252"),
        )
        .mount(&amazon.server)
        .await;
    let url = PresignedUrl::new(format!(
        "{}/documents/doc-1?X-Amz-Expires=300&X-Amz-Signature=abc",
        amazon.server.uri()
    ));

    let document = amazon
        .client
        .download_document(&url, Some(CompressionAlgorithm::Gzip))
        .await
        .unwrap();
    assert_eq!(document.charset(), Some("Cp1252"));
    assert_eq!(document.content_type(), Some("text/plain; charset=Cp1252"));
    let mut reader = document.into_blocking_reader().unwrap();
    assert_eq!(reader.charset(), Some("Cp1252"));
    assert_eq!(
        crate::parse::Charset::from_content_type(reader.content_type())
            .unwrap()
            .name(),
        crate::parse::Charset::from_label("Cp1252").unwrap().name()
    );
    let read = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map(|_| out)
    })
    .await
    .unwrap()
    .unwrap();

    assert_eq!(read.len(), original.len());
    assert!(read == original, "decompressed bytes differ");
    // Downloads do not touch SP-API's buckets.
    assert!(amazon.limiter.draws().is_empty());
}

#[tokio::test]
async fn an_uncompressed_document_reads_as_stored() {
    let amazon = amazon().await;
    let original = cp1252_report(100);
    Mock::given(method("GET"))
        .and(path("/documents/plain"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(original.clone(), "text/plain; charset=UTF-8"))
        .mount(&amazon.server)
        .await;
    let url = PresignedUrl::new(format!("{}/documents/plain?sig=1", amazon.server.uri()));

    let document = amazon.client.download_document(&url, None).await.unwrap();
    assert_eq!(document.content_length(), Some(original.len() as u64));
    let mut read = Vec::new();
    document.into_async_read().read_to_end(&mut read).await.unwrap();
    assert_eq!(read, original);

    let document = amazon.client.download_document(&url, None).await.unwrap();
    assert_eq!(document.into_decoded_bytes(1 << 20).await.unwrap(), original);
    let document = amazon.client.download_document(&url, None).await.unwrap();
    assert!(matches!(
        document.into_decoded_bytes(10).await,
        Err(AmazonError::Decode { .. })
    ));
}

#[tokio::test]
async fn an_expired_document_url_is_document_expired_and_not_retried() {
    let amazon = amazon().await;
    Mock::given(method("GET"))
        .and(path("/documents/old"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(EXPIRED_URL_XML, "application/xml"))
        .mount(&amazon.server)
        .await;
    let url = PresignedUrl::new(format!(
        "{}/documents/old?X-Amz-Signature=abc",
        amazon.server.uri()
    ));

    let err = amazon.client.download_document(&url, None).await.unwrap_err();

    assert_eq!(err, AmazonError::DocumentExpired);
    assert!(err.is_retryable(), "a fresh getReportDocument helps");
    assert_eq!(requests_to(&amazon.server, "/documents/old").await.len(), 1);
}

#[tokio::test]
async fn a_document_download_is_retried_on_server_errors() {
    let amazon = amazon().await;
    Mock::given(method("GET"))
        .and(path("/documents/busy"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_raw("<Error><Code>SlowDown</Code></Error>", "application/xml"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/documents/busy"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("a\tb\n", "text/plain; charset=UTF-8"))
        .mount(&amazon.server)
        .await;
    let url = PresignedUrl::new(format!("{}/documents/busy?sig=1", amazon.server.uri()));

    let document = amazon.client.download_document(&url, None).await.unwrap();

    assert_eq!(document.into_decoded_bytes(100).await.unwrap(), b"a\tb\n");
    assert_eq!(amazon.clock.sleeps().len(), 1);
}

#[tokio::test]
async fn an_unreachable_url_fails_as_transport_without_showing_its_signature() {
    let amazon = amazon().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = PresignedUrl::new(format!(
        "http://127.0.0.1:{port}/doc?X-Amz-Signature=secret-signature"
    ));

    let err = amazon.client.download_document(&url, None).await.unwrap_err();

    assert!(
        matches!(err, AmazonError::Transport { attempts: 4, .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("secret-signature"), "{err}");
}

#[tokio::test]
async fn a_feed_document_is_uploaded_with_the_content_type_it_was_created_with() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    let content_type = "text/xml; charset=UTF-8";
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/documents"))
        .and(body_json(json!({"contentType": content_type})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "feedDocumentId": "3d4e42b5-1d6e-44e8-a89c-2abfca0625bb",
            "url": format!("{}/upload/feed-1?X-Amz-Signature=abc", amazon.server.uri())
        })))
        .expect(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/upload/feed-1"))
        .and(header("content-type", content_type))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&amazon.server)
        .await;
    let spec = CreateFeedDocumentSpecification {
        content_type: content_type.to_owned(),
    };

    let created = amazon
        .client
        .create_feed_document(&seller(), &spec)
        .await
        .unwrap();
    let xml = Bytes::from_static(b"<?xml version=\"1.0\"?><AmazonEnvelope/>");
    amazon
        .client
        .upload_feed_document(&created.url, content_type, xml.clone())
        .await
        .unwrap();

    let upload = &requests_to(&amazon.server, "/upload/feed-1").await[0];
    assert_eq!(upload.body, xml.as_ref());
    assert!(
        header_of(upload, "x-amz-access-token").is_none(),
        "S3 gets no SP-API token"
    );
    assert_eq!(created.feed_document_id, "3d4e42b5-1d6e-44e8-a89c-2abfca0625bb");
}

#[tokio::test]
async fn an_expired_upload_url_is_document_expired() {
    let amazon = amazon().await;
    Mock::given(method("PUT"))
        .and(path("/upload/old"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(EXPIRED_URL_XML, "application/xml"))
        .mount(&amazon.server)
        .await;
    let url = PresignedUrl::new(format!("{}/upload/old?sig=1", amazon.server.uri()));

    let err = amazon
        .client
        .upload_feed_document(&url, "text/xml; charset=UTF-8", Bytes::from_static(b"<x/>"))
        .await
        .unwrap_err();

    assert_eq!(err, AmazonError::DocumentExpired);
}

// ---- Request shapes, as the models name them ----

#[tokio::test]
async fn create_report_sends_the_models_fields() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("POST"))
        .and(path("/reports/2021-06-30/reports"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            "marketplaceIds": ["A1PA6795UKMFR9", "A1F83G8C2ARO7P"],
            "dataStartTime": "2025-06-01T00:00:00Z",
            "dataEndTime": "2025-06-03T11:30:00Z",
            "reportOptions": {"custom": "true"}
        })))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"reportId": "ID323"})))
        .expect(1)
        .mount(&amazon.server)
        .await;
    let spec = CreateReportSpecification {
        report_type: "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL".to_owned(),
        marketplace_ids: vec!["A1PA6795UKMFR9".to_owned(), "A1F83G8C2ARO7P".to_owned()],
        data_start_time: Some(Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()),
        data_end_time: Some(Utc.with_ymd_and_hms(2025, 6, 3, 11, 30, 0).unwrap()),
        report_options: Some([("custom".to_owned(), "true".to_owned())].into()),
    };

    let created = amazon.client.create_report(&seller(), &spec).await.unwrap();

    assert_eq!(created.report_id, "ID323");
    assert_eq!(
        amazon.limiter.draws(),
        [(ACCOUNT.to_owned(), Operation::CreateReport)]
    );
}

#[tokio::test]
async fn get_reports_sends_filters_then_only_the_next_token() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports"))
        .and(query_param(
            "reportTypes",
            "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL,GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL",
        ))
        .and(query_param("processingStatuses", "IN_QUEUE,IN_PROGRESS"))
        .and(query_param("marketplaceIds", "A1PA6795UKMFR9"))
        .and(query_param("pageSize", "2"))
        .and(query_param("createdSince", "2025-06-01T00:00:00Z"))
        .respond_with(ok_json(json!({
            "nextToken": "VGhpcyB0b2tlbiBpcyBvcGFxdWU=",
            "reports": [report_json("R1"), report_json("R2")]
        })))
        .expect(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/reports/2021-06-30/reports"))
        .and(query_param("nextToken", "VGhpcyB0b2tlbiBpcyBvcGFxdWU="))
        .respond_with(ok_json(json!({"reports": [report_json("R3")]})))
        .expect(1)
        .mount(&amazon.server)
        .await;
    let query = GetReportsQuery {
        report_types: vec![
            "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL".to_owned(),
            "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL".to_owned(),
        ],
        processing_statuses: vec![ProcessingStatus::InQueue, ProcessingStatus::InProgress],
        marketplace_ids: vec!["A1PA6795UKMFR9".to_owned()],
        page_size: Some(2),
        created_since: Some(Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()),
        created_until: None,
    };

    let reports = amazon.client.get_all_reports(&seller(), &query).await.unwrap();

    let ids: Vec<_> = reports.iter().map(|r| r.report_id.as_str()).collect();
    assert_eq!(ids, ["R1", "R2", "R3"]);
    let pages = requests_to(&amazon.server, "/reports/2021-06-30/reports").await;
    let second: Vec<_> = pages[1].url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(second, ["nextToken"]);
    assert_eq!(amazon.limiter.draws_of(Operation::GetReports), 2);
}

#[tokio::test]
async fn a_next_token_that_repeats_stops_the_paging() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/feeds"))
        .respond_with(ok_json(json!({"nextToken": "same", "feeds": []})))
        .mount(&amazon.server)
        .await;
    let query = GetFeedsQuery {
        feed_types: vec!["POST_ORDER_FULFILLMENT_DATA".to_owned()],
        ..GetFeedsQuery::default()
    };

    let err = amazon.client.get_all_feeds(&seller(), &query).await.unwrap_err();

    assert!(
        matches!(
            err,
            AmazonError::Decode {
                operation: "getFeeds",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        requests_to(&amazon.server, "/feeds/2021-06-30/feeds").await.len(),
        2
    );
}

#[tokio::test]
async fn feed_operations_use_the_models_paths_and_fields() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    let feed = json!({
        "feedId": "FeedId1",
        "feedType": "POST_ORDER_FULFILLMENT_DATA",
        "marketplaceIds": ["A1PA6795UKMFR9"],
        "createdTime": "2025-06-03T11:00:00.000Z",
        "processingStatus": "DONE",
        "resultFeedDocumentId": "result-1"
    });
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/feeds"))
        .and(body_json(json!({
            "feedType": "POST_ORDER_FULFILLMENT_DATA",
            "marketplaceIds": ["A1PA6795UKMFR9"],
            "inputFeedDocumentId": "3d4e42b5"
        })))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"feedId": "FeedId1"})))
        .expect(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/feeds/FeedId1"))
        .respond_with(ok_json(feed.clone()))
        .expect(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/feeds"))
        .and(query_param("feedTypes", "POST_ORDER_FULFILLMENT_DATA"))
        .and(query_param("processingStatuses", "DONE"))
        .and(query_param("createdUntil", "2025-06-03T12:00:00Z"))
        .respond_with(ok_json(json!({"feeds": [feed]})))
        .expect(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/feeds/2021-06-30/feeds/FeedId1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/feeds/2021-06-30/documents/result-1"))
        .respond_with(ok_json(json!({
            "feedDocumentId": "result-1",
            "url": "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/result-1?X-Amz-Signature=abc",
            "compressionAlgorithm": "GZIP"
        })))
        .expect(1)
        .mount(&amazon.server)
        .await;
    let seller = seller();

    let created = amazon
        .client
        .create_feed(
            &seller,
            &CreateFeedSpecification {
                feed_type: "POST_ORDER_FULFILLMENT_DATA".to_owned(),
                marketplace_ids: vec!["A1PA6795UKMFR9".to_owned()],
                input_feed_document_id: "3d4e42b5".to_owned(),
                feed_options: None,
            },
        )
        .await
        .unwrap();
    let got = amazon.client.get_feed(&seller, &created.feed_id).await.unwrap();
    let listed = amazon
        .client
        .get_feeds(
            &seller,
            &GetFeedsQuery {
                feed_types: vec!["POST_ORDER_FULFILLMENT_DATA".to_owned()],
                processing_statuses: vec![ProcessingStatus::Done],
                created_until: Some(start()),
                ..GetFeedsQuery::default()
            },
        )
        .await
        .unwrap();
    amazon.client.cancel_feed(&seller, "FeedId1").await.unwrap();
    let result = amazon
        .client
        .get_feed_document(&seller, got.result_feed_document_id.as_deref().unwrap())
        .await
        .unwrap();

    assert_eq!(listed.feeds, [got]);
    assert_eq!(result.compression_algorithm, Some(CompressionAlgorithm::Gzip));
    let operations: Vec<_> = amazon.limiter.draws().into_iter().map(|(_, op)| op).collect();
    assert_eq!(
        operations,
        [
            Operation::CreateFeed,
            Operation::GetFeed,
            Operation::GetFeeds,
            Operation::CancelFeed,
            Operation::GetFeedDocument
        ]
    );
}

#[tokio::test]
async fn the_clients_debug_shows_no_secret() {
    let amazon = amazon().await;
    let shown = format!("{:?}", amazon.client);
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
    assert!(shown.contains(CLIENT_ID), "{shown}");
}

// ---- Operations that create something at Amazon ----

fn feed_specification() -> CreateFeedSpecification {
    CreateFeedSpecification {
        feed_type: "POST_ORDER_FULFILLMENT_DATA".to_owned(),
        marketplace_ids: vec!["A1PA6795UKMFR9".to_owned()],
        input_feed_document_id: "3d4e42b5".to_owned(),
        feed_options: None,
    }
}

#[tokio::test]
async fn create_feed_and_create_report_are_sent_once_when_the_answer_is_a_server_error_or_lost() {
    let amazon = amazon_with(impatient(5)).await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/feeds"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&amazon.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/reports/2021-06-30/reports"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_json(json!({"reportId": "ID323"}))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&amazon.server)
        .await;

    let err = amazon
        .client
        .create_feed(&seller(), &feed_specification())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        AmazonError::AmazonUnavailable {
            operation: "createFeed",
            status: 500,
            attempts: 1
        }
    );
    assert!(
        err.is_retryable(),
        "a later run may try again, after asking getFeeds"
    );
    assert_eq!(
        requests_to(&amazon.server, "/feeds/2021-06-30/feeds").await.len(),
        1
    );

    let spec = CreateReportSpecification {
        report_type: "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL".to_owned(),
        marketplace_ids: vec!["A1PA6795UKMFR9".to_owned()],
        data_start_time: None,
        data_end_time: None,
        report_options: None,
    };
    let err = amazon.client.create_report(&seller(), &spec).await.unwrap_err();
    assert!(
        matches!(&err, AmazonError::Transport { attempts: 1, reason, .. } if reason.contains("timed out")),
        "{err:?}"
    );
    assert_eq!(
        requests_to(&amazon.server, "/reports/2021-06-30/reports")
            .await
            .len(),
        1,
        "the report may exist: no second one"
    );
    assert_eq!(amazon.client.stats().retries, 0);
}

#[tokio::test]
async fn a_throttled_create_feed_is_retried_because_amazon_refused_it_unprocessed() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/feeds"))
        .respond_with(ResponseTemplate::new(429).set_body_raw(RECORDED_429, "application/json"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/feeds"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"feedId": "FeedId1"})))
        .mount(&amazon.server)
        .await;

    let created = amazon
        .client
        .create_feed(&seller(), &feed_specification())
        .await
        .unwrap();

    assert_eq!(created.feed_id, "FeedId1");
    assert_eq!(
        requests_to(&amazon.server, "/feeds/2021-06-30/feeds").await.len(),
        2
    );
}

#[tokio::test]
async fn create_feed_document_is_retried_on_a_server_error_since_an_unused_document_does_nothing() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/documents"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/feeds/2021-06-30/documents"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "feedDocumentId": "3d4e42b5",
            "url": "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/3d4e42b5?X-Amz-Signature=abc"
        })))
        .mount(&amazon.server)
        .await;

    let created = amazon
        .client
        .create_feed_document(
            &seller(),
            &CreateFeedDocumentSpecification {
                content_type: "text/xml; charset=UTF-8".to_owned(),
            },
        )
        .await
        .unwrap();

    assert_eq!(created.feed_document_id, "3d4e42b5");
    assert_eq!(amazon.client.stats().attempts, 2);
}

fn api_order_json(order_id: &str) -> Value {
    json!({
        "orderId": order_id,
        "createdTime": "2026-01-02T10:00:00Z",
        "lastUpdatedTime": "2026-01-02T11:00:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
        "orderItems": [{"orderItemId": "41", "quantityOrdered": 1, "product": {"sellerSku": "SKU-1"}}]
    })
}

#[tokio::test]
async fn get_order_asks_for_its_datasets_on_the_orders_path_and_draws_from_the_get_order_bucket() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/306-1234567-1234567"))
        .and(query_param(
            "includedData",
            "BUYER,RECIPIENT,FULFILLMENT,CANCELLATION,PROCEEDS",
        ))
        .and(header("x-amz-access-token", ACCESS_TOKEN))
        .respond_with(ok_json(json!({"order": api_order_json("306-1234567-1234567")})))
        .expect(1)
        .mount(&amazon.server)
        .await;

    let order = amazon
        .client
        .get_order(&seller(), "306-1234567-1234567", &IncludedData::FOR_SHIPPING)
        .await
        .unwrap();

    assert_eq!(order.order_items[0].order_item_id, "41");
    assert_eq!(
        amazon.limiter.draws(),
        [(ACCOUNT.to_owned(), Operation::GetOrder)]
    );
}

#[tokio::test]
async fn get_order_of_an_unknown_order_is_not_found_and_not_retried() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders/nope"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "errors": [{"code": "NotFound", "message": "Order not found", "details": ""}]
        })))
        .expect(1)
        .mount(&amazon.server)
        .await;

    let err = amazon.client.get_order(&seller(), "nope", &[]).await.unwrap_err();

    assert!(
        matches!(
            err,
            AmazonError::NotFound {
                operation: "getOrder",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn search_orders_repeats_every_filter_with_the_pagination_token() {
    let amazon = amazon().await;
    mount_lwa(&amazon.server).await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders"))
        .and(query_param("lastUpdatedAfter", "2026-01-01T00:00:00Z"))
        .and(query_param("fulfilledBy", "MERCHANT"))
        .and(query_param("includedData", "FULFILLMENT"))
        .and(query_param("paginationToken", "page-2"))
        .respond_with(ok_json(json!({"orders": [api_order_json("O3")],
            "lastUpdatedBefore": "2026-01-03T00:00:00Z"})))
        .expect(1)
        .mount(&amazon.server)
        .await;
    Mock::given(method("GET"))
        .and(path("/orders/2026-01-01/orders"))
        .and(query_param("lastUpdatedAfter", "2026-01-01T00:00:00Z"))
        .respond_with(ok_json(
            json!({"orders": [api_order_json("O1"), api_order_json("O2")],
            "pagination": {"nextToken": "page-2"}}),
        ))
        .expect(1)
        .mount(&amazon.server)
        .await;
    let query = SearchOrdersQuery {
        last_updated_after: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
        fulfilled_by: vec![FulfilledBy::Merchant],
        included_data: vec![IncludedData::Fulfillment],
        ..SearchOrdersQuery::default()
    };

    let orders = amazon.client.search_all_orders(&seller(), &query).await.unwrap();

    let ids: Vec<_> = orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["O1", "O2", "O3"]);
    assert_eq!(amazon.limiter.draws_of(Operation::SearchOrders), 2);
}

/// The one retry loop, by itself: back-offs end with the policy's attempts, a repair is tried once and only
/// while it helps, and a stop answers the failure at once.
#[tokio::test]
async fn the_retry_loop_backs_off_within_the_attempts_repairs_once_and_stops_when_told() {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::client::{Then, no_repair};

    let amazon = amazon().await;
    let client = &amazon.client;
    let unavailable = |attempt: u32| AmazonError::Transport {
        operation: "test",
        reason: "connection refused".into(),
        attempts: attempt,
    };
    let attempts = AtomicU32::new(0);
    let failing = |attempt: u32| {
        attempts.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Err::<(), _>(unavailable(attempt)))
    };
    let counted = |expected: u32| assert_eq!(attempts.swap(0, Ordering::SeqCst), expected);

    // Backing off: four attempts (the policy's), three back-offs of the clock, the last failure answered.
    let started = amazon.clock.now();
    let error = client
        .retrying("test", failing, |_: &AmazonError| Then::BackOff, no_repair)
        .await
        .unwrap_err();
    assert_eq!(error, unavailable(4));
    counted(4);
    assert!(amazon.clock.now() > started, "it backed off");

    // Stopping: one attempt, no wait.
    let now = amazon.clock.now();
    let error = client
        .retrying("test", failing, |_: &AmazonError| Then::Stop, no_repair)
        .await
        .unwrap_err();
    assert_eq!(error, unavailable(1));
    counted(1);
    assert_eq!(amazon.clock.now(), now);

    // Repairing: once when the repair helps, then the failure stands; never when it does not.
    let repairs = AtomicU32::new(0);
    let helps = || {
        repairs.fetch_add(1, Ordering::SeqCst);
        std::future::ready(true)
    };
    let error = client
        .retrying("test", failing, |_: &AmazonError| Then::Repair, helps)
        .await
        .unwrap_err();
    assert_eq!((error, repairs.load(Ordering::SeqCst)), (unavailable(2), 1));
    counted(2);
    let error = client
        .retrying("test", failing, |_: &AmazonError| Then::Repair, no_repair)
        .await
        .unwrap_err();
    assert_eq!(error, unavailable(1));
    counted(1);

    // Success ends the loop with the value.
    let third = |attempt: u32| {
        std::future::ready(if attempt < 3 {
            Err(unavailable(attempt))
        } else {
            Ok(attempt)
        })
    };
    let value = client
        .retrying("test", third, |_: &AmazonError| Then::BackOff, no_repair)
        .await
        .unwrap();
    assert_eq!(value, 3);
}
