//! `AmazonClient`: its dependencies, and the one path every SP-API call takes (draw from the bucket, access
//! token, send, classify, back off and retry).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::auth::{Credentials, RestrictedDataToken, SellerAuth, TokenCache};
use super::rate::{Operation, RateLimiter};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::Region;
use crate::error::AmazonError;
use crate::metrics::{self, Metrics};

/// Sent with every request, as Amazon asks of SP-API applications.
pub(crate) const USER_AGENT_VALUE: &str =
    concat!("sellersync/", env!("CARGO_PKG_VERSION"), " (Language=Rust)");

/// Where the client sends requests: the SP-API base URL of each region and the LWA token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    spapi: HashMap<Region, String>,
    lwa: String,
}

impl Endpoints {
    /// The endpoints `config` names (production hosts unless overridden, loopback in tests and local runs).
    pub fn from_config(config: &Config) -> Endpoints {
        Endpoints {
            spapi: Region::ALL
                .into_iter()
                .map(|region| (region, config.spapi_endpoint(region).to_owned()))
                .collect(),
            lwa: config.lwa_endpoint.clone(),
        }
    }

    /// One SP-API base URL for every region and an LWA token URL; what tests and the sandbox use.
    pub fn single(spapi_base_url: &str, lwa_token_url: &str) -> Endpoints {
        Endpoints {
            spapi: Region::ALL
                .into_iter()
                .map(|region| (region, spapi_base_url.trim_end_matches('/').to_owned()))
                .collect(),
            lwa: lwa_token_url.to_owned(),
        }
    }

    /// The SP-API base URL of `region`, without a trailing slash.
    pub fn spapi(&self, region: Region) -> Result<&str, AmazonError> {
        self.spapi
            .get(&region)
            .map(String::as_str)
            .filter(|url| !url.is_empty())
            .ok_or_else(|| AmazonError::Misconfigured(format!("no SP-API endpoint for region {region}")))
    }

    /// The LWA token URL.
    pub fn lwa(&self) -> &str {
        &self.lwa
    }
}

/// How calls are retried: bounded attempts, exponential backoff with full jitter, a time limit per attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff ceiling after the first failed attempt; it doubles with each further one.
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
    /// Time limit of one SP-API or LWA attempt, body included. Document transfers are bounded by the HTTP
    /// client's read timeout instead, since a large report takes long to stream but never stalls.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The largest wait after failed attempt number `attempt` (1-based): `base_delay * 2^(attempt-1)`, capped.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait after failed attempt `attempt`: uniformly random up to the ceiling ("full jitter"), so that
    /// many instances throttled together do not come back together. SP-API sends no `Retry-After`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.backoff_ceiling(attempt);
        Duration::from_millis(rand::rng().random_range(0..=ceiling.as_millis() as u64))
    }
}

/// What the client did since it was built; the local runner prints it ("SP-API calls and 429s").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallStats {
    /// SP-API calls made (each may take several attempts).
    pub calls: u64,
    /// HTTP requests sent to SP-API.
    pub attempts: u64,
    /// Of those, answered 429.
    pub throttled: u64,
    /// Attempts that were retried after a 429, a server error or a transport failure (LWA's and document
    /// transfers' included).
    pub retries: u64,
    /// Requests sent to Login with Amazon.
    pub lwa_requests: u64,
}

impl fmt::Display for CallStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} SP-API calls in {} requests, {} answered 429, {} retries, {} LWA token requests",
            self.calls, self.attempts, self.throttled, self.retries, self.lwa_requests
        )
    }
}

#[derive(Debug, Default)]
struct StatCounters {
    calls: AtomicU64,
    attempts: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
    lwa_requests: AtomicU64,
}

pub(crate) enum Stat {
    Calls,
    Attempts,
    Throttled,
    Retries,
    LwaRequests,
}

/// The Selling Partner API client every function uses: LWA tokens (cached per account), Restricted Data
/// Tokens, a draw from the shared rate limiter before every request, bounded retries with backoff through
/// the clock, typed errors, and the `SpApiThrottled` metric for every 429. Cheap to clone; clones share the token cache and the statistics.
#[derive(Clone)]
pub struct AmazonClient {
    inner: Arc<Inner>,
    /// How long a call waits for its rate token at most; `None` waits as long as it takes
    /// ([`AmazonClient::waiting_at_most`]).
    token_wait: Option<Duration>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoints: Endpoints,
    pub(crate) credentials: Credentials,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) limiter: Arc<dyn RateLimiter>,
    pub(crate) retry: RetryPolicy,
    pub(crate) tokens: TokenCache,
    stats: StatCounters,
    metrics: Metrics,
}

impl fmt::Debug for AmazonClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmazonClient")
            .field("endpoints", &self.inner.endpoints)
            .field("credentials", &self.inner.credentials)
            .field("limiter", &self.inner.limiter)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl AmazonClient {
    /// A client over `http` (build it with [`AmazonClient::http_client`] or with timeouts of your own).
    pub fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        credentials: impl Into<Credentials>,
        clock: Arc<dyn Clock>,
        limiter: Arc<dyn RateLimiter>,
        retry: RetryPolicy,
        metrics: Metrics,
    ) -> AmazonClient {
        let retry = RetryPolicy {
            max_attempts: retry.max_attempts.max(1),
            ..retry
        };
        AmazonClient {
            inner: Arc::new(Inner {
                http,
                endpoints,
                credentials: credentials.into(),
                clock,
                limiter,
                retry,
                tokens: TokenCache::default(),
                stats: StatCounters::default(),
                metrics,
            }),
            token_wait: None,
        }
    }

    /// This client (the same tokens, limiter and statistics) never waiting for a rate token: a call whose
    /// bucket is empty fails at once with [`AmazonError::QuotaInUse`], which says when a token will be there.
    /// For the API, which answers a person within API Gateway's 30 seconds.
    pub fn without_waiting(&self) -> AmazonClient {
        self.waiting_at_most(Duration::ZERO)
    }

    /// This client (the same tokens, limiter and statistics) waiting at most `limit` of its clock for a rate
    /// token: a call whose token is not there by then fails with [`AmazonError::QuotaInUse`] as soon as that
    /// is known. For work that must end within its Lambda's timeout and can leave a call to a later run.
    pub fn waiting_at_most(&self, limit: Duration) -> AmazonClient {
        AmazonClient {
            inner: self.inner.clone(),
            token_wait: Some(limit),
        }
    }

    /// An HTTP client fit for Amazon: connect and read timeouts (no total timeout, so a large document can
    /// stream for as long as it keeps arriving), rustls, no proxy from the environment, no automatic
    /// decompression (documents say their compression in `compressionAlgorithm`, not in HTTP headers).
    pub fn http_client() -> Result<reqwest::Client, AmazonError> {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .user_agent(USER_AGENT_VALUE)
            .build()
            .map_err(|err| AmazonError::Misconfigured(format!("cannot build the HTTP client: {err}")))
    }

    /// The tokens the account's bucket for `operation` holds now, without taking one (`None` when the limiter
    /// cannot tell): optional calls go only when they would not wait.
    pub async fn available_tokens(
        &self,
        account_id: &str,
        operation: Operation,
    ) -> Result<Option<f64>, AmazonError> {
        self.inner
            .limiter
            .available(account_id, operation)
            .await
            .map_err(AmazonError::RateLimiter)
    }

    /// What the client did so far.
    pub fn stats(&self) -> CallStats {
        let s = &self.inner.stats;
        CallStats {
            calls: s.calls.load(Ordering::Relaxed),
            attempts: s.attempts.load(Ordering::Relaxed),
            throttled: s.throttled.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            lwa_requests: s.lwa_requests.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn count(&self, stat: Stat) {
        let s = &self.inner.stats;
        let counter = match stat {
            Stat::Calls => &s.calls,
            Stat::Attempts => &s.attempts,
            Stat::Throttled => &s.throttled,
            Stat::Retries => &s.retries,
            Stat::LwaRequests => &s.lwa_requests,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Sleeps the backoff after failed attempt `attempt`, logging why.
    pub(crate) async fn back_off(&self, operation: &'static str, error: &AmazonError, attempt: u32) {
        let wait = self.inner.retry.backoff(attempt);
        tracing::warn!(
            operation,
            status = status_of(error),
            attempt,
            wait_ms = wait.as_millis() as u64,
            "retrying Amazon call: {error}"
        );
        self.count(Stat::Retries);
        self.inner.clock.sleep(wait).await;
    }

    /// The one retry loop of Amazon calls and document transfers: runs `attempt` with attempt numbers from 1
    /// until it succeeds or `then`, given the failure, gives up. Between attempts it backs off, for at most the
    /// policy's number of attempts; for [`Then::Repair`] it runs `repair`, which answers whether another attempt
    /// can do better. The last failure is the answer.
    pub(crate) async fn retrying<T, E, A, AF, R, RF>(
        &self,
        operation: &'static str,
        mut attempt: A,
        then: impl Fn(&E) -> Then,
        mut repair: R,
    ) -> Result<T, AmazonError>
    where
        E: AsRef<AmazonError> + Into<AmazonError>,
        A: FnMut(u32) -> AF,
        AF: Future<Output = Result<T, E>>,
        R: FnMut() -> RF,
        RF: Future<Output = bool>,
    {
        let mut repaired = false;
        let mut number = 0;
        loop {
            number += 1;
            // Boxed: every Amazon call's future nests this one, and a function's whole future must stay within
            // the compiler's layout depth (submit-feeds' did not).
            let failure = match Box::pin(attempt(number)).await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            match then(&failure) {
                Then::BackOff if number < self.inner.retry.max_attempts => {
                    self.back_off(operation, failure.as_ref(), number).await;
                }
                Then::Repair if !repaired && repair().await => repaired = true,
                _ => return Err(failure.into()),
            }
        }
    }

    /// Sends an SP-API request and decodes its JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        seller: &SellerAuth,
        request: ApiRequest,
    ) -> Result<T, AmazonError> {
        let operation = request.operation.name();
        let body = self.send(seller, request).await?;
        decode(operation, &body)
    }

    /// Sends an SP-API request through the limiter and the retry loop; the raw body of a 2xx answer.
    pub(crate) async fn send(&self, seller: &SellerAuth, request: ApiRequest) -> Result<Bytes, AmazonError> {
        let span = tracing::info_span!(
            "spapi",
            operation = request.operation.name(),
            account = %seller.account_id,
        );
        async {
            self.count(Stat::Calls);
            let operation = request.operation;
            self.retrying(
                operation.name(),
                |attempt| self.attempt(seller, &request, attempt),
                |failure: &Failure| match failure {
                    // LWA ran its own retries; repeating them here would multiply the attempts.
                    Failure::Token(_) => Then::Stop,
                    Failure::Call(error) if error.is_retryable() && may_repeat(operation, error) => {
                        Then::BackOff
                    }
                    Failure::Call(_) => Then::Stop,
                },
                no_repair,
            )
            .await
        }
        .instrument(span)
        .await
    }

    async fn attempt(
        &self,
        seller: &SellerAuth,
        request: &ApiRequest,
        attempt: u32,
    ) -> Result<Bytes, Failure> {
        let operation = request.operation;
        let base = self.inner.endpoints.spapi(seller.region).map_err(Failure::Call)?;
        self.draw(&seller.account_id, operation)
            .await
            .map_err(Failure::Call)?;
        let token = match (&request.restricted_token, &request.grantless_token) {
            (Some(rdt), _) => rdt.expose().to_owned(),
            (None, Some(grantless)) => grantless.clone(),
            (None, None) => self.access_token(seller).await.map_err(Failure::Token)?,
        };

        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), format!("{base}{}", request.path))
            .timeout(self.inner.retry.attempt_timeout)
            .header("x-amz-access-token", token)
            .header(
                "x-amz-date",
                self.inner.clock.now().format("%Y%m%dT%H%M%SZ").to_string(),
            )
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(ACCEPT, "application/json");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        tracing::debug!(method = %request.method, path = %request.path, attempt, "SP-API request");

        self.count(Stat::Attempts);
        let name = operation.name();
        let response = builder
            .send()
            .await
            .map_err(|err| Failure::Call(transport_error(name, err, attempt)))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|err| Failure::Call(transport_error(name, err, attempt)))?;

        // Amazon sends the header on 2xx, 400 and 404 only (best effort); a 429 never tells the rate.
        if (status.is_success() || status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND)
            && let Some(rate) = rate_limit_of(&headers)
            && let Err(err) = self
                .inner
                .limiter
                .observe_limit(&seller.account_id, operation, rate)
                .await
        {
            tracing::warn!(operation = name, "could not record the rate limit: {err}");
        }
        if status.is_success() {
            return Ok(body);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.count(Stat::Throttled);
            let throttled = metrics::sp_api_throttled(name, &seller.account_id);
            self.inner.metrics.emit(&throttled, self.inner.clock.now());
        }
        if status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED {
            // A token Amazon refuses is no use to the next call either (revoked authorization, skewed clock).
            self.inner.tokens.forget(&seller.account_id);
        }
        Err(Failure::Call(api_error(name, status, &body, attempt)))
    }
}

impl AmazonClient {
    /// Takes the call's token from the shared bucket, waiting for it within the client's limit.
    async fn draw(&self, account_id: &str, operation: Operation) -> Result<(), AmazonError> {
        match self
            .inner
            .limiter
            .acquire_within(account_id, operation, self.token_wait)
            .await
            .map_err(AmazonError::RateLimiter)?
        {
            Ok(()) => Ok(()),
            Err(retry_after) => Err(AmazonError::QuotaInUse {
                operation: operation.name(),
                retry_after,
            }),
        }
    }
}

/// Whether a failed call of `operation` may be sent again in the same call. `createFeed` and `createReport`
/// create something each time they are accepted (the models: "Creates a feed", "Creates a report") and take
/// no client token, so a server error or a lost answer may hide a feed or report Amazon already has; sending
/// again could make a second identical feed. Those are sent once, unless Amazon answered 429: a throttled
/// request is refused before it is processed (usage-plans-rate-limits: "Throttling occurs when a request is
/// made for which no token is available ... A throttled request results in an error response"; "A 429 is a
/// retry-able status code"). The submitter's `getFeeds` recovery decides what a lost `createFeed` did; a lost
/// `createReport` costs one unused report, and the next tick requests the window again.
/// `createFeedDocument` is repeated: a document that no `createFeed` names is never processed, and its upload
/// URL expires after 5 minutes (feeds model, `CreateFeedDocumentResponse.url`). Reads, `cancelFeed`,
/// `cancelReport` and `createRestrictedDataToken` change nothing when repeated.
pub(crate) fn may_repeat(operation: Operation, error: &AmazonError) -> bool {
    match operation {
        // Each makes something new at Amazon: a repeat after a lost answer would make it twice (a second
        // rotation cuts the first new secret's life to a week).
        Operation::CreateFeed | Operation::CreateReport | Operation::RotateApplicationClientSecret => {
            matches!(error, AmazonError::Throttled { .. })
        }
        _ => true,
    }
}

enum Failure {
    /// Getting the access token failed; LWA's retries are spent.
    Token(AmazonError),
    /// The call itself failed.
    Call(AmazonError),
}

impl AsRef<AmazonError> for Failure {
    fn as_ref(&self) -> &AmazonError {
        match self {
            Failure::Token(error) | Failure::Call(error) => error,
        }
    }
}

impl From<Failure> for AmazonError {
    fn from(failure: Failure) -> AmazonError {
        match failure {
            Failure::Token(error) | Failure::Call(error) => error,
        }
    }
}

/// What a failed attempt of an Amazon call leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    /// Try again after the retry policy's back-off, while attempts are left.
    BackOff,
    /// Try again at once if the call's repair (reading the application's credentials again) changed
    /// something; at most once per call.
    Repair,
    /// Give up with this failure.
    Stop,
}

/// The repair of a call that has none.
pub(crate) fn no_repair() -> std::future::Ready<bool> {
    std::future::ready(false)
}

/// One SP-API request, before authentication.
#[derive(Debug)]
pub(crate) struct ApiRequest {
    pub(crate) operation: Operation,
    pub(crate) method: Method,
    /// Path with its parameters filled in and percent-encoded.
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    /// JSON body.
    pub(crate) body: Option<Bytes>,
    /// Sent instead of the access token for restricted operations.
    pub(crate) restricted_token: Option<RestrictedDataToken>,
    /// Sent instead of a seller's access token for grantless operations.
    pub(crate) grantless_token: Option<String>,
}

impl ApiRequest {
    pub(crate) fn new(operation: Operation, method: Method, path: String) -> ApiRequest {
        ApiRequest {
            operation,
            method,
            path,
            query: Vec::new(),
            body: None,
            restricted_token: None,
            grantless_token: None,
        }
    }

    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<ApiRequest, AmazonError> {
        let bytes = serde_json::to_vec(body).map_err(|err| AmazonError::Decode {
            operation: self.operation.name(),
            reason: format!(
                "request body cannot be encoded: {}",
                redact_quoted(&err.to_string())
            ),
        })?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    pub(crate) fn query(mut self, query: Vec<(&'static str, String)>) -> ApiRequest {
        self.query = query;
        self
    }
}

/// Percent-encodes one path segment (an id from Amazon), keeping RFC 3986's unreserved characters.
pub(crate) fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes a JSON answer; the error names what is wrong without echoing values from the body.
pub(crate) fn decode<T: DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T, AmazonError> {
    serde_json::from_slice(body).map_err(|err| AmazonError::Decode {
        operation,
        reason: redact_quoted(&err.to_string()),
    })
}

/// A transport failure, described without the URL (a presigned URL's query is a credential).
pub(crate) fn transport_error(operation: &'static str, err: reqwest::Error, attempts: u32) -> AmazonError {
    let err = err.without_url();
    if err.is_builder() {
        return AmazonError::Misconfigured(format!("{operation} request cannot be built: {err}"));
    }
    let mut reason = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    AmazonError::Transport {
        operation,
        reason,
        attempts,
    }
}

/// Amazon's `{"errors":[{"code","message","details"}]}`, in any key order, `details` optional.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorList {
    #[serde(default)]
    pub(crate) errors: Vec<ApiErrorItem>,
}

/// One entry of an [`ErrorList`].
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ApiErrorItem {
    #[serde(default)]
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) details: Option<String>,
}

impl ErrorList {
    /// The first error's code and its message with details, or the HTTP reason when the body is no ErrorList
    /// (an HTML page from a load balancer, an empty body).
    pub(crate) fn code_and_message(status: StatusCode, body: &[u8]) -> (String, String) {
        let list: ErrorList = serde_json::from_slice(body).unwrap_or_default();
        match list.errors.into_iter().next() {
            Some(item) => {
                let code = if item.code.is_empty() {
                    status.as_u16().to_string()
                } else {
                    item.code
                };
                let message = match item.details.as_deref().map(str::trim) {
                    Some(details) if !details.is_empty() && details != item.message => {
                        format!("{} {details}", item.message)
                    }
                    _ => item.message,
                };
                (clean_text(&code), clean_text(&message))
            }
            None => (
                status.as_u16().to_string(),
                status.canonical_reason().unwrap_or("no error body").to_owned(),
            ),
        }
    }
}

/// Classifies a non-2xx SP-API answer.
pub(crate) fn api_error(
    operation: &'static str,
    status: StatusCode,
    body: &[u8],
    attempts: u32,
) -> AmazonError {
    match status.as_u16() {
        429 => AmazonError::Throttled { operation, attempts },
        500..=599 => AmazonError::AmazonUnavailable {
            operation,
            status: status.as_u16(),
            attempts,
        },
        _ => {
            let (code, message) = ErrorList::code_and_message(status, body);
            match status.as_u16() {
                401 | 403 => AmazonError::AccessDenied {
                    operation,
                    code,
                    message,
                },
                404 => AmazonError::NotFound {
                    operation,
                    code,
                    message,
                },
                other => AmazonError::BadRequest {
                    operation,
                    status: other,
                    code,
                    message,
                },
            }
        }
    }
}

/// `x-amzn-RateLimit-Limit` as a rate per second, if present and sensible.
pub(crate) fn rate_limit_of(headers: &HeaderMap) -> Option<f64> {
    headers
        .get("x-amzn-ratelimit-limit")?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|rate| rate.is_finite() && *rate > 0.0)
}

fn status_of(error: &AmazonError) -> Option<u16> {
    match error {
        AmazonError::Throttled { .. } => Some(429),
        AmazonError::AmazonUnavailable { status, .. }
        | AmazonError::BadRequest { status, .. }
        | AmazonError::Lwa { status, .. } => Some(*status),
        _ => None,
    }
}

/// Longest piece of Amazon's text kept in an error.
const MAX_TEXT: usize = 300;

/// Amazon's text made fit for an error message: anything that looks like an LWA token or RDT removed, cut
/// to a readable length.
pub(crate) fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT));
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if let Some(at) = word.find("Atz") {
            out.push_str(&word[..at]);
            out.push_str("<token>");
        } else {
            out.push_str(word);
        }
    }
    match out.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}...", &out[..cut]),
        None => out,
    }
}

/// `text` with the contents of every double-quoted string replaced, so that a decoder's message keeps field
/// names (backquoted) but no values.
pub(crate) fn redact_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for ch in text.chars() {
        if ch == '"' {
            if !quoted {
                out.push_str("\"...");
            }
            quoted = !quoted;
            if !quoted {
                out.push('"');
            }
        } else if !quoted {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_in_any_key_order_with_or_without_details() {
        let recorded = br#"{
  "errors": [
    {
      "code": "Unauthorized",
      "message": "Access to requested resource is denied.",
      "details": ""
    }
  ]
}"#;
        assert_eq!(
            ErrorList::code_and_message(StatusCode::FORBIDDEN, recorded),
            (
                "Unauthorized".to_owned(),
                "Access to requested resource is denied.".to_owned()
            )
        );
        let reordered = br#"{"errors":[{"message":"You exceeded your quota.","code":"QuotaExceeded"}]}"#;
        assert_eq!(
            ErrorList::code_and_message(StatusCode::TOO_MANY_REQUESTS, reordered),
            ("QuotaExceeded".to_owned(), "You exceeded your quota.".to_owned())
        );
        let with_details = br#"{"errors":[{"details":"Access token is missing in the request header.",
            "message":"Access to requested resource is denied.","code":"Unauthorized"}]}"#;
        assert_eq!(
            ErrorList::code_and_message(StatusCode::FORBIDDEN, with_details).1,
            "Access to requested resource is denied. Access token is missing in the request header."
        );
    }

    #[test]
    fn a_body_that_is_no_error_list_gives_the_http_reason() {
        assert_eq!(
            ErrorList::code_and_message(StatusCode::BAD_GATEWAY, b"<html>Bad Gateway</html>"),
            ("502".to_owned(), "Bad Gateway".to_owned())
        );
        assert_eq!(
            ErrorList::code_and_message(StatusCode::BAD_REQUEST, b""),
            ("400".to_owned(), "Bad Request".to_owned())
        );
    }

    #[test]
    fn statuses_map_to_their_classes() {
        let denied =
            br#"{"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied."}]}"#;
        assert!(matches!(
            api_error("getReport", StatusCode::FORBIDDEN, denied, 1),
            AmazonError::AccessDenied { .. }
        ));
        assert!(matches!(
            api_error("getReport", StatusCode::NOT_FOUND, b"{}", 1),
            AmazonError::NotFound { .. }
        ));
        assert_eq!(
            api_error("getReport", StatusCode::TOO_MANY_REQUESTS, b"{}", 3),
            AmazonError::Throttled {
                operation: "getReport",
                attempts: 3
            }
        );
        assert_eq!(
            api_error("createFeedDocument", StatusCode::PAYLOAD_TOO_LARGE, b"", 1),
            AmazonError::BadRequest {
                operation: "createFeedDocument",
                status: 413,
                code: "413".to_owned(),
                message: "Payload Too Large".to_owned()
            }
        );
        assert!(api_error("getReport", StatusCode::SERVICE_UNAVAILABLE, b"", 1).is_retryable());
    }

    #[test]
    fn tokens_never_reach_an_error_message() {
        let text =
            clean_text("Invalid token Atza|IQEBLjAsAhRmHjNgHpi0U and x-amz-access-token=Atz.sprdt|abc");
        assert!(!text.contains("IQEB") && !text.contains("sprdt|abc"), "{text}");
        assert!(text.starts_with("Invalid token <token>"), "{text}");
        assert!(clean_text(&"x".repeat(1000)).len() < 310);
    }

    #[test]
    fn decoder_messages_keep_field_names_but_not_values() {
        let err = decode::<u32>("getReport", br#""https://bucket/doc?X-Amz-Signature=abc""#).unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("Signature"), "{text}");
        assert!(text.contains("getReport"), "{text}");
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Needs {
            #[serde(rename = "reportId")]
            report_id: String,
        }
        let err = decode::<Needs>("getReport", b"{}").unwrap_err();
        assert!(err.to_string().contains("`reportId`"), "{err}");
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(
            segment("amzn1.spdoc.1.4.eu.abc-DEF_1~"),
            "amzn1.spdoc.1.4.eu.abc-DEF_1~"
        );
        assert_eq!(segment("a/b c?"), "a%2Fb%20c%3F");
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap_and_jitters_below_it() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            attempt_timeout: Duration::from_secs(1),
        };
        let ceilings: Vec<u64> = (1..=7)
            .map(|a| policy.backoff_ceiling(a).as_millis() as u64)
            .collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::from_secs(8));
        let waits: Vec<Duration> = (0..200).map(|_| policy.backoff(3)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_secs(2)));
        assert!(
            waits.iter().any(|w| *w != waits[0]),
            "full jitter varies the wait"
        );
    }

    #[test]
    fn the_rate_limit_header_is_read_as_a_rate_per_second() {
        let mut headers = HeaderMap::new();
        assert_eq!(rate_limit_of(&headers), None);
        headers.insert("x-amzn-RateLimit-Limit", "0.0167".parse().unwrap());
        assert_eq!(rate_limit_of(&headers), Some(0.0167));
        headers.insert("x-amzn-RateLimit-Limit", "fast".parse().unwrap());
        assert_eq!(rate_limit_of(&headers), None);
    }
}
