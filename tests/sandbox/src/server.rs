//! The HTTP face: every route, the pipeline each SP-API call goes through (access token, injected faults, token
//! bucket, operation, statistics) and the headers Amazon sends back.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shared::clock::Clock;

use super::auth::{self, Caller};
use super::buckets::format_rate;
use super::consent;
use super::documents::{self, DownloadQuery, S3Error};
use super::faults::FaultKind;
use super::feeds;
use super::inspect::{self, OperationStats};
use super::notifications;
use super::operations::Operation;
use super::orders;
use super::reports;
use super::state::World;

/// What every handler shares: the clock, the state and the address the sandbox answers on.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) world: Mutex<World>,
    pub(crate) base_url: String,
}

impl Shared {
    /// The state, even after a panic in another handler (a test's failure should not cascade).
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An SP-API error: status and one `{"code","message","details"}` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    code: String,
    message: String,
    details: Option<String>,
    error_type: Option<&'static str>,
}

impl ApiError {
    /// An error without details.
    pub(crate) fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            details: None,
            error_type: None,
        }
    }

    /// 500 `InternalFailure`, for the sandbox's own bugs.
    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        tracing::error!(reason = %reason.into(), "sandbox failed a request");
        ApiError::new(
            500,
            "InternalFailure",
            "We encountered an internal error. Please try again.",
        )
        .details("")
        .error_type("InternalFailure")
    }

    /// Adds `details`.
    pub(crate) fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// Adds the `x-amzn-ErrorType` header.
    pub(crate) fn error_type(mut self, error_type: &'static str) -> Self {
        self.error_type = Some(error_type);
        self
    }

    fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(details) = &self.details {
            error["details"] = Value::String(details.clone());
        }
        json!({ "errors": [error] })
    }
}

/// The 429 of an empty bucket, exactly as recorded from production.
pub(crate) fn quota_exceeded() -> ApiError {
    ApiError::new(
        429,
        "QuotaExceeded",
        "You exceeded your quota for the requested resource.",
    )
    .details("")
    .error_type("TooManyRequestsException")
}

fn server_error(status: u16) -> ApiError {
    if status == 503 {
        ApiError::new(
            503,
            "ServiceUnavailable",
            "Service temporarily unavailable. Please try again.",
        )
        .details("")
        .error_type("ServiceUnavailable")
    } else {
        ApiError::new(
            500,
            "InternalFailure",
            "We encountered an internal error. Please try again.",
        )
        .details("")
        .error_type("InternalFailure")
    }
}

/// A successful SP-API answer.
#[derive(Debug)]
pub(crate) struct Reply {
    status: u16,
    body: Option<Value>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            body: Some(body),
        }
    }
}

fn header(name: &'static str, value: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static(name),
        HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("")),
    )
}

/// `x-amz-rid`: twenty upper-case characters derived from the request id.
fn amz_rid(request_id: &str) -> String {
    request_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(20)
        .collect()
}

fn build(status: u16, headers: Vec<(HeaderName, HeaderValue)>, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().extend(headers);
    response
}

/// An SP-API response: JSON, request ids, and the rate header on 2xx, 400 and 404 only (never on 429).
fn sp_api_response(
    status: u16,
    body: Option<&Value>,
    request_id: &str,
    rate: Option<f64>,
    error_type: Option<&str>,
) -> Response {
    let mut headers = vec![
        header("content-type", "application/json"),
        header("x-amzn-requestid", request_id),
        header("x-amz-rid", &amz_rid(request_id)),
    ];
    if let Some(rate) = rate
        && ((200..300).contains(&status) || status == 400 || status == 404)
    {
        headers.push(header("x-amzn-ratelimit-limit", &format_rate(rate)));
    }
    if let Some(error_type) = error_type {
        headers.push(header("x-amzn-errortype", error_type));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    build(status, headers, body)
}

fn error_response(error: &ApiError, request_id: &str, rate: Option<f64>) -> Response {
    sp_api_response(
        error.status,
        Some(&error.body()),
        request_id,
        rate,
        error.error_type,
    )
}

fn count(stats: &mut OperationStats, status: u16) {
    match status {
        200..=299 => stats.succeeded += 1,
        403 => stats.forbidden += 1,
        400..=499 => stats.client_errors += 1,
        _ => stats.server_errors += 1,
    }
}

/// The pipeline of every SP-API call: access token (403), injected faults, token bucket (429), the operation,
/// statistics and headers.
async fn sp_api(
    shared: &Shared,
    op: Operation,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    run: impl FnOnce(&mut World, &Caller, DateTime<Utc>) -> Result<Reply, ApiError>,
) -> Response {
    let token = headers.get("x-amz-access-token").and_then(|v| v.to_str().ok());
    let (caller, request_id, fault) = {
        let mut world = shared.world();
        let request_id = world.uuid().to_string();
        let caller = match auth::authenticate(&world, token, method.as_str(), path, shared.clock.now()) {
            Ok(caller) => caller,
            Err(failure) => {
                if let Some(seller) = failure.seller() {
                    let stats = world.stats_mut(seller, op);
                    stats.calls += 1;
                    stats.forbidden += 1;
                }
                return error_response(&failure.error(), &request_id, None);
            }
        };
        let wanted = |k: &FaultKind| {
            matches!(
                k,
                FaultKind::Throttle | FaultKind::ServerError { .. } | FaultKind::Slow { .. }
            )
        };
        let fault = world.faults.take(op, Some(&caller.seller), wanted);
        (caller, request_id, fault)
    };
    if let Some(FaultKind::Slow { millis }) = fault {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }

    let now = shared.clock.now();
    let mut world = shared.world();
    let rate = op.usage_plan().map(|plan| world.buckets.scaled_rate(plan));
    let outcome = match fault {
        Some(FaultKind::Throttle) => Err((quota_exceeded(), Some(Refusal::InjectedThrottle))),
        Some(FaultKind::ServerError { status }) => {
            Err((server_error(status), Some(Refusal::InjectedServerError)))
        }
        _ if !world.buckets.try_take(&caller.seller, op, now) => {
            Err((quota_exceeded(), Some(Refusal::Throttled)))
        }
        _ => {
            // Feeds take effect when their processing ends; whatever the call reads must see that.
            feeds::settle_due(&mut world, now);
            run(&mut world, &caller, now).map_err(|e| (e, None))
        }
    };
    let stats = world.stats_mut(&caller.seller, op);
    stats.calls += 1;
    if matches!(fault, Some(FaultKind::Slow { .. })) {
        stats.slowed += 1;
    }
    match outcome {
        Ok(reply) => {
            count(stats, reply.status);
            sp_api_response(reply.status, reply.body.as_ref(), &request_id, rate, None)
        }
        Err((error, refusal)) => {
            match refusal {
                Some(Refusal::InjectedThrottle) => stats.injected_throttles += 1,
                Some(Refusal::InjectedServerError) => stats.injected_server_errors += 1,
                Some(Refusal::Throttled) => stats.throttled += 1,
                None => count(stats, error.status),
            }
            error_response(&error, &request_id, rate)
        }
    }
}

/// An SP-API request as [`sp_api`] takes it: the sandbox, and the method, path and headers it authenticates.
struct Call {
    shared: Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl FromRequestParts<Arc<Shared>> for Call {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, Self::Rejection> {
        Ok(Call {
            shared: shared.clone(),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl Call {
    /// Runs operation `op` through the SP-API pipeline ([`sp_api`]).
    async fn run(
        &self,
        op: Operation,
        run: impl FnOnce(&mut World, &Caller, DateTime<Utc>) -> Result<Reply, ApiError>,
    ) -> Response {
        sp_api(
            &self.shared,
            op,
            &self.method,
            self.uri.path(),
            &self.headers,
            run,
        )
        .await
    }

    /// The query string's pairs, in order.
    fn query(&self) -> Result<Vec<(String, String)>, ApiError> {
        query_pairs(self.uri.query())
    }
}

/// Why the pipeline answered before the operation ran.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    InjectedThrottle,
    InjectedServerError,
    Throttled,
}

/// Every route of the sandbox.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/auth/o2/token", post(lwa_token))
        .route(
            "/tokens/2021-03-01/restrictedDataToken",
            post(create_restricted_data_token),
        )
        .route(
            "/reports/2021-06-30/reports",
            get(get_reports).post(create_report),
        )
        .route(
            "/reports/2021-06-30/reports/{report_id}",
            get(get_report).delete(cancel_report),
        )
        .route(
            "/reports/2021-06-30/documents/{document_id}",
            get(get_report_document),
        )
        .route("/feeds/2021-06-30/documents", post(create_feed_document))
        .route(
            "/feeds/2021-06-30/documents/{document_id}",
            get(get_feed_document),
        )
        .route("/feeds/2021-06-30/feeds", get(get_feeds).post(create_feed))
        .route(
            "/feeds/2021-06-30/feeds/{feed_id}",
            get(get_feed).delete(cancel_feed),
        )
        // Orders API v2026-01-01 (issue 17).
        .route("/orders/2026-01-01/orders", get(search_orders))
        .route("/orders/2026-01-01/orders/{order_id}", get(get_order))
        .route(
            "/sellers/v1/marketplaceParticipations",
            get(get_marketplace_participations),
        )
        // Application Management API 2023-11-30 (super::application).
        .route(
            "/applications/2023-11-30/clientSecret",
            post(rotate_application_client_secret),
        )
        // Notifications API v1 (super::notifications).
        .route(
            "/notifications/v1/destinations",
            get(get_destinations).post(create_destination),
        )
        .route(
            "/notifications/v1/destinations/{destination_id}",
            get(get_destination).delete(delete_destination),
        )
        .route("/notifications/v1/subscriptions", get(get_subscriptions))
        .route(
            "/notifications/v1/subscriptions/{notification_type}",
            get(get_subscription).post(create_subscription),
        )
        .route(
            "/notifications/v1/subscriptions/{notification_type}/{subscription_id}",
            get(get_subscription_by_id).delete(delete_subscription_by_id),
        )
        // Seller Central's consent page (website authorization workflow; super::consent).
        .route("/apps/authorize/consent", get(consent_page))
        .route("/apps/authorize/confirm", post(confirm_consent))
        .route(
            "/_documents/{document_id}",
            // S3 takes a single PUT of up to 5 GB; axum's default body limit (2 MB) refused feed documents
            // Amazon takes (up to 10 MiB recommended). The sandbox holds documents in memory: 64 MiB.
            get(download_document)
                .put(upload_document)
                .layer(axum::extract::DefaultBodyLimit::max(64 << 20)),
        )
        .merge(inspect::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .with_state(shared)
}

/// API Gateway answers paths it does not know as it answers a denied call (recorded: `POST /` → 403).
async fn unknown_route(uri: Uri) -> Response {
    if uri.path().starts_with("/_sandbox") {
        return inspect::control_error(404, &format!("no control route {}", uri.path()));
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let error = ApiError::new(403, "Unauthorized", "Access to requested resource is denied.").details("");
    error_response(&error, &request_id, None)
}

async fn create_report(call: Call, body: Bytes) -> Response {
    call.run(Operation::CreateReport, |world, caller, now| {
        reports::create_report(world, caller, &body, now).map(|v| Reply::json(202, v))
    })
    .await
}

fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|_| ApiError::new(400, "InvalidInput", "Could not parse the query string").details(""))
}

async fn get_reports(call: Call) -> Response {
    call.run(Operation::GetReports, |world, caller, now| {
        let pairs = call.query()?;
        reports::get_reports(world, caller, &pairs, now).map(|v| Reply::json(200, v))
    })
    .await
}

async fn search_orders(call: Call) -> Response {
    call.run(Operation::SearchOrders, |world, caller, now| {
        let pairs = call.query()?;
        orders::search_orders(world, caller, &pairs, now).map(|v| Reply::json(200, v))
    })
    .await
}

async fn get_order(call: Call, Path(order_id): Path<String>) -> Response {
    call.run(Operation::GetOrder, |world, caller, now| {
        let pairs = call.query()?;
        orders::get_order(world, caller, &order_id, &pairs, now).map(|v| Reply::json(200, v))
    })
    .await
}

async fn get_marketplace_participations(call: Call) -> Response {
    call.run(Operation::GetMarketplaceParticipations, |world, caller, _| {
        super::sellers::marketplace_participations(world, caller).map(|v| Reply::json(200, v))
    })
    .await
}

/// The application's bucket, for grantless operations (no seller).
const APPLICATION_BUCKET: &str = "_application";

/// The pipeline of a grantless operation: a client-credentials token with `scope`, injected server errors, the
/// application's bucket of the operation, then the operation.
fn grantless(
    shared: &Shared,
    op: Operation,
    scope: &str,
    headers: &HeaderMap,
    run: impl FnOnce(&mut World, DateTime<Utc>) -> Result<Reply, ApiError>,
) -> Response {
    let token = headers.get("x-amz-access-token").and_then(|v| v.to_str().ok());
    let now = shared.clock.now();
    let mut world = shared.world();
    let request_id = world.uuid().to_string();
    if let Err(failure) = auth::authenticate_grantless(&world, token, scope, now) {
        return error_response(&failure.error(), &request_id, None);
    }
    let rate = op.usage_plan().map(|plan| world.buckets.scaled_rate(plan));
    let fault = world
        .faults
        .take(op, None, |k| matches!(k, FaultKind::ServerError { .. }));
    if let Some(FaultKind::ServerError { status }) = fault {
        return error_response(&server_error(status), &request_id, rate);
    }
    if !world.buckets.try_take(APPLICATION_BUCKET, op, now) {
        return error_response(&quota_exceeded(), &request_id, rate);
    }
    match run(&mut world, now) {
        Ok(reply) => sp_api_response(reply.status, reply.body.as_ref(), &request_id, rate, None),
        Err(error) => error_response(&error, &request_id, rate),
    }
}

/// `rotateApplicationClientSecret` (super::application): a grantless token with the rotation scope, the
/// operation's own bucket (0.0167/s, burst 1), then 204 and the new secret on its way to the registered queue.
async fn rotate_application_client_secret(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    grantless(
        &shared,
        Operation::RotateApplicationClientSecret,
        super::application::ROTATION_SCOPE,
        &headers,
        |world, now| {
            super::application::rotate(world, now);
            Ok(Reply {
                status: 204,
                body: None,
            })
        },
    )
}

/// A grantless Notifications API operation (destinations, subscriptions by id).
fn notifications_grantless(
    shared: &Shared,
    op: Operation,
    headers: &HeaderMap,
    run: impl FnOnce(&mut World) -> Result<Value, ApiError>,
) -> Response {
    grantless(
        shared,
        op,
        notifications::NOTIFICATIONS_SCOPE,
        headers,
        |world, _| run(world).map(|v| Reply::json(200, v)),
    )
}

async fn create_destination(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    notifications_grantless(&shared, Operation::CreateDestination, &headers, |world| {
        notifications::create_destination(world, &body)
    })
}

async fn get_destinations(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    notifications_grantless(&shared, Operation::GetDestinations, &headers, |world| {
        Ok(notifications::get_destinations(world))
    })
}

async fn get_destination(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    notifications_grantless(&shared, Operation::GetDestination, &headers, |world| {
        notifications::get_destination(world, &id)
    })
}

async fn delete_destination(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    notifications_grantless(&shared, Operation::DeleteDestination, &headers, |world| {
        notifications::delete_destination(world, &id)
    })
}

async fn get_subscription_by_id(
    State(shared): State<Arc<Shared>>,
    Path((notification_type, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    notifications_grantless(&shared, Operation::GetSubscriptionById, &headers, |world| {
        notifications::get_subscription_by_id(world, &notification_type, &id)
    })
}

async fn delete_subscription_by_id(
    State(shared): State<Arc<Shared>>,
    Path((notification_type, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    notifications_grantless(&shared, Operation::DeleteSubscriptionById, &headers, |world| {
        notifications::delete_subscription_by_id(world, &notification_type, &id)
    })
}

async fn create_subscription(call: Call, Path(notification_type): Path<String>, body: Bytes) -> Response {
    call.run(Operation::CreateSubscription, |world, caller, now| {
        notifications::create_subscription(world, caller, &notification_type, &body, now)
            .map(|v| Reply::json(200, v))
    })
    .await
}

async fn get_subscription(call: Call, Path(notification_type): Path<String>) -> Response {
    call.run(Operation::GetSubscription, |world, caller, _| {
        notifications::get_subscription(world, caller, &notification_type).map(|v| Reply::json(200, v))
    })
    .await
}

async fn get_subscriptions(call: Call) -> Response {
    call.run(Operation::GetSubscriptions, |world, caller, _| {
        let pairs = call.query()?;
        notifications::get_subscriptions(world, caller, &pairs).map(|v| Reply::json(200, v))
    })
    .await
}

/// An HTML page of Seller Central's; `Referrer-Policy: no-referrer` as the workflow's Step 1 asks of the
/// application's pages, since codes and states travel in URLs.
fn html(status: u16, body: String) -> Response {
    build(
        status,
        vec![
            header("content-type", "text/html; charset=utf-8"),
            header("referrer-policy", "no-referrer"),
        ],
        body,
    )
}

async fn consent_page(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let world = shared.world();
    match consent::check_request(&world, &pairs) {
        Ok(request) => html(200, consent::consent_page(&world, &request)),
        Err(error) => html(400, consent::error_page(&error)),
    }
}

/// Confirm (a redirect to the application with the code) or Cancel (a page, no redirect).
async fn confirm_consent(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let now = shared.clock.now();
    let mut world = shared.world();
    let request = match consent::check_request(&world, &pairs) {
        Ok(request) => request,
        Err(error) => return html(400, consent::error_page(&error)),
    };
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if field("decision") != Some("confirm") {
        return html(200, consent::cancelled_page());
    }
    match consent::confirm(&mut world, &request, field("seller_id").unwrap_or_default(), now) {
        Ok(location) => build(
            302,
            vec![
                header("location", &location),
                header("referrer-policy", "no-referrer"),
            ],
            Body::empty(),
        ),
        Err(error) => html(400, consent::error_page(&error)),
    }
}

async fn get_report(call: Call, Path(report_id): Path<String>) -> Response {
    call.run(Operation::GetReport, |world, caller, now| {
        reports::get_report(world, caller, &report_id, now).map(|v| Reply::json(200, v))
    })
    .await
}

async fn cancel_report(call: Call, Path(report_id): Path<String>) -> Response {
    call.run(Operation::CancelReport, |world, caller, now| {
        reports::cancel_report(world, caller, &report_id, now).map(|()| Reply {
            status: 200,
            body: None,
        })
    })
    .await
}

async fn get_report_document(call: Call, Path(document_id): Path<String>) -> Response {
    let base_url = call.shared.base_url.clone();
    call.run(Operation::GetReportDocument, |world, caller, now| {
        let pairs = call.query()?;
        let encoding = pairs
            .iter()
            .any(|(k, v)| k == "enableContentEncodingUrlHeader" && v.eq_ignore_ascii_case("true"));
        reports::get_report_document(world, caller, &document_id, encoding, &base_url, now)
            .map(|v| Reply::json(200, v))
    })
    .await
}

async fn create_feed_document(call: Call, body: Bytes) -> Response {
    let base_url = call.shared.base_url.clone();
    call.run(Operation::CreateFeedDocument, |world, caller, now| {
        feeds::create_feed_document(world, caller, &body, &base_url, now).map(|v| Reply::json(201, v))
    })
    .await
}

async fn create_feed(call: Call, body: Bytes) -> Response {
    call.run(Operation::CreateFeed, |world, caller, now| {
        feeds::create_feed(world, caller, &body, now).map(|v| Reply::json(202, v))
    })
    .await
}

async fn get_feeds(call: Call) -> Response {
    call.run(Operation::GetFeeds, |world, caller, now| {
        let pairs = call.query()?;
        feeds::get_feeds(world, caller, &pairs, now).map(|v| Reply::json(200, v))
    })
    .await
}

async fn get_feed(call: Call, Path(feed_id): Path<String>) -> Response {
    call.run(Operation::GetFeed, |world, caller, now| {
        feeds::get_feed(world, caller, &feed_id, now).map(|v| Reply::json(200, v))
    })
    .await
}

async fn cancel_feed(call: Call, Path(feed_id): Path<String>) -> Response {
    call.run(Operation::CancelFeed, |world, caller, now| {
        feeds::cancel_feed(world, caller, &feed_id, now).map(|()| Reply {
            status: 200,
            body: None,
        })
    })
    .await
}

async fn get_feed_document(call: Call, Path(document_id): Path<String>) -> Response {
    let base_url = call.shared.base_url.clone();
    call.run(Operation::GetFeedDocument, |world, caller, now| {
        let pairs = call.query()?;
        let encoding = pairs
            .iter()
            .any(|(k, v)| k == "enableContentEncodingUrlHeader" && v.eq_ignore_ascii_case("true"));
        feeds::get_feed_document(world, caller, &document_id, encoding, &base_url, now)
            .map(|v| Reply::json(200, v))
    })
    .await
}

async fn create_restricted_data_token(call: Call, body: Bytes) -> Response {
    call.run(Operation::CreateRestrictedDataToken, |world, caller, now| {
        auth::create_restricted_data_token(world, caller, &body, now).map(|v| Reply::json(200, v))
    })
    .await
}

/// The token request's fields: form-encoded as documented, or the JSON object LWA also accepts.
fn lwa_fields(headers: &HeaderMap, body: &[u8]) -> Vec<(String, String)> {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().starts_with("application/json"));
    if is_json {
        let object: serde_json::Map<String, Value> = serde_json::from_slice(body).unwrap_or_default();
        return object
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_owned())))
            .collect();
    }
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// `POST /auth/o2/token` with the headers recorded from Login with Amazon.
async fn lwa_token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = lwa_fields(&headers, &body);
    let (request_id, seller, fault) = {
        let mut world = shared.world();
        let request_id = world.uuid().to_string();
        let refresh_token = form
            .iter()
            .find(|(k, _)| k == "refresh_token")
            .map(|(_, v)| v.as_str());
        let seller = refresh_token.and_then(|t| world.tokens.seller_of(t));
        let fault = world.faults.take(Operation::LwaToken, seller.as_deref(), |k| {
            matches!(
                k,
                FaultKind::Slow { .. } | FaultKind::ServerError { .. } | FaultKind::Throttle
            )
        });
        (request_id, seller, fault)
    };
    if let Some(FaultKind::Slow { millis }) = fault {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
    let now = shared.clock.now();
    let mut world = shared.world();
    let outcome = match fault {
        Some(FaultKind::ServerError { status }) => Err((
            status,
            json!({"error_description": "The authorization server encountered an unexpected condition", "error": "server_error"}),
            "OA2ServerErrorException",
        )),
        Some(FaultKind::Throttle) => Err((
            429,
            json!({"error_description": "The request has been throttled", "error": "temporarily_unavailable"}),
            "OA2TemporarilyUnavailableException",
        )),
        _ => auth::lwa_token(&mut world, &form, now)
            .map(|(_, body)| body)
            .map_err(|e| {
                let error_index = world.random_string(
                    120,
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                );
                (e.status, e.body(&request_id, &error_index), e.error_type)
            }),
    };
    if let Some(seller) = &seller {
        let stats = world.stats_mut(seller, Operation::LwaToken);
        stats.calls += 1;
        match (&outcome, &fault) {
            (Ok(_), _) => stats.succeeded += 1,
            (Err(_), Some(FaultKind::ServerError { .. })) => stats.injected_server_errors += 1,
            (Err(_), Some(FaultKind::Throttle)) => stats.injected_throttles += 1,
            (Err((status, ..)), _) => count(stats, *status),
        }
        if matches!(fault, Some(FaultKind::Slow { .. })) {
            stats.slowed += 1;
        }
    }
    drop(world);
    let mut headers = vec![
        header("content-type", "application/json;charset=UTF-8"),
        header("cache-control", "no-cache, no-store, must-revalidate"),
        header("pragma", "no-cache"),
        header("x-amzn-requestid", &request_id),
        header("x-amz-rid", &amz_rid(&request_id)),
        header("x-amz-date", &now.format("%a, %d %b %Y %H:%M:%S GMT").to_string()),
    ];
    let (status, body) = match outcome {
        Ok(body) => (200, body),
        Err((status, body, error_type)) => {
            headers.push(header(
                "x-amzn-errortype",
                &format!("{error_type}:http://internal.amazon.com/coral/com.amazon.panda/"),
            ));
            (status, body)
        }
    };
    build(status, headers, body.to_string())
}

/// `GET /_documents/{id}?X-Amz-…`: the document as S3 serves it, or S3's XML error.
async fn download_document(
    State(shared): State<Arc<Shared>>,
    Path(document_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let query = DownloadQuery::from_pairs(&pairs);
    let now = shared.clock.now();
    let (request_id, result, fault) = {
        let mut world = shared.world();
        let request_id = world.random_string(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        let owner = world.documents.get(&document_id).map(|d| d.seller.clone());
        let mut result = world.documents.download(&document_id, &query, now).cloned();
        let fault = match (&result, &owner) {
            (Ok(_), Some(owner)) => world.faults.take(Operation::DownloadDocument, Some(owner), |k| {
                matches!(
                    k,
                    FaultKind::Slow { .. }
                        | FaultKind::TruncateDocument
                        | FaultKind::Throttle
                        | FaultKind::ServerError { .. }
                )
            }),
            _ => None,
        };
        match fault {
            Some(FaultKind::Throttle | FaultKind::ServerError { status: 503 }) => {
                result = Err(S3Error::SlowDown)
            }
            Some(FaultKind::ServerError { .. }) => result = Err(S3Error::Internal),
            _ => {}
        }
        if let Some(owner) = &owner {
            let stats = world.stats_mut(owner, Operation::DownloadDocument);
            stats.calls += 1;
            match (&result, &fault) {
                (Ok(_), Some(FaultKind::TruncateDocument)) => {
                    stats.succeeded += 1;
                    stats.truncated += 1;
                }
                (Ok(_), Some(FaultKind::Slow { .. })) => {
                    stats.succeeded += 1;
                    stats.slowed += 1;
                }
                (Ok(_), _) => stats.succeeded += 1,
                (Err(_), Some(FaultKind::Throttle)) => stats.injected_throttles += 1,
                (Err(_), Some(FaultKind::ServerError { .. })) => stats.injected_server_errors += 1,
                (Err(error), _) => count(stats, error.response(&request_id).0),
            }
        }
        (request_id, result, fault)
    };
    let document = match result {
        Ok(document) => document,
        Err(error) => {
            let (status, body) = error.response(&request_id);
            let headers = vec![
                header("content-type", "application/xml"),
                header("x-amz-request-id", &request_id),
                header("server", "AmazonS3"),
            ];
            return build(status, headers, body);
        }
    };
    if let Some(FaultKind::Slow { millis }) = fault {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
    let body = match fault {
        Some(FaultKind::TruncateDocument) => documents::truncate(&document),
        _ => document.bytes.clone(),
    };
    let encoding = if query.content_encoding.as_deref() == Some("gzip") {
        "gzip"
    } else {
        "identity"
    };
    let etag = format!(
        "\"{:032x}\"",
        u128::from(fnv(&document.bytes)) << 64 | u128::from(fnv(document_id.as_bytes()))
    );
    let headers = vec![
        header("content-type", &document.content_type),
        header("content-encoding", encoding),
        header("x-amz-request-id", &request_id),
        header("x-amz-id-2", &format!("{request_id}/{request_id}")),
        header("x-amz-server-side-encryption", "aws:kms"),
        header(
            "last-modified",
            &document.stored_at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ),
        header("etag", &etag),
        header("accept-ranges", "bytes"),
        header("server", "AmazonS3"),
    ];
    build(200, headers, body)
}

/// `PUT /_documents/{id}?X-Amz-…`: a feed document's upload, as S3 takes a presigned `PUT` (the signature
/// covers the `Content-Type` given to `createFeedDocument`), or S3's XML error.
async fn upload_document(
    State(shared): State<Arc<Shared>>,
    Path(document_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let query = DownloadQuery::from_pairs(&pairs);
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let now = shared.clock.now();
    let (request_id, result, fault) = {
        let mut world = shared.world();
        let request_id = world.random_string(16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        let owner = feeds::upload_owner(&world, &document_id);
        let fault = owner.as_deref().and_then(|owner| {
            world.faults.take(Operation::UploadDocument, Some(owner), |k| {
                matches!(
                    k,
                    FaultKind::Slow { .. } | FaultKind::Throttle | FaultKind::ServerError { .. }
                )
            })
        });
        let result = match fault {
            Some(FaultKind::Throttle | FaultKind::ServerError { status: 503 }) => Err(S3Error::SlowDown),
            Some(FaultKind::ServerError { .. }) => Err(S3Error::Internal),
            _ => feeds::upload(
                &mut world,
                &document_id,
                &query,
                &content_type,
                body.to_vec(),
                now,
            ),
        };
        if let Some(owner) = &owner {
            let stats = world.stats_mut(owner, Operation::UploadDocument);
            stats.calls += 1;
            if matches!(fault, Some(FaultKind::Slow { .. })) {
                stats.slowed += 1;
            }
            match (&result, &fault) {
                (Ok(_), _) => stats.succeeded += 1,
                (Err(_), Some(FaultKind::Throttle)) => stats.injected_throttles += 1,
                (Err(_), Some(FaultKind::ServerError { .. })) => stats.injected_server_errors += 1,
                (Err(error), _) => count(stats, error.response(&request_id).0),
            }
        }
        (request_id, result, fault)
    };
    if let Some(FaultKind::Slow { millis }) = fault {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
    match result {
        Ok(_) => {
            let etag = format!("\"{:016x}\"", fnv(&body));
            let headers = vec![
                header("x-amz-request-id", &request_id),
                header("x-amz-id-2", &format!("{request_id}/{request_id}")),
                header("x-amz-server-side-encryption", "aws:kms"),
                header("etag", &etag),
                header("server", "AmazonS3"),
            ];
            build(200, headers, Body::empty())
        }
        Err(error) => {
            let (status, body) = error.response(&request_id);
            let headers = vec![
                header("content-type", "application/xml"),
                header("x-amz-request-id", &request_id),
                header("server", "AmazonS3"),
            ];
            build(status, headers, body)
        }
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}
