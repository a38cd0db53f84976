//! The HTTP API: an axum [`Router`] over the use cases, served by the API function through `lambda_http` and
//! by the local runner and tests with `axum::serve` on a loopback port. `infra/openapi.yaml` documents every
//! route of [`routes`]; a test checks both ways.
//!
//! - Accounts: `POST /accounts`, `GET /accounts`, `GET|PUT|DELETE /accounts/{accountId}`.
//! - Health: `GET /accounts/{accountId}/health`.
//! - Reports: `POST|GET /accounts/{accountId}/reports`; backfills: `POST /accounts/{accountId}/backfill`,
//!   `GET /accounts/{accountId}/backfills/{backfillId}`.
//! - Orders: `GET /accounts/{accountId}/orders`, `GET /accounts/{accountId}/orders/{orderId}` (with its
//!   shipments and cancellations and their feed state).
//! - Feeds: `POST /accounts/{accountId}/orders/{orderId}/shipments`, `POST .../orders/{orderId}/cancel`,
//!   `PUT /accounts/{accountId}/inventory`; the feed log: `GET /accounts/{accountId}/feeds`,
//!   `GET /accounts/{accountId}/feeds/{feedId}`.
//!
//! - Connect links: `POST /connect-links`, `GET /connect-links/{linkId}`; and the two public pages a seller
//!   meets, `GET /connect/{linkId}` (to Amazon's consent) and `GET /connect/callback` (Amazon's redirect).
//!
//! JSON in and out; errors are `{"error": {"code", "message", "field"}}` ([`ApiError`]). POSTs and PUTs take
//! an `Idempotency-Key` header ([`idempotency`]). Authorization is IAM at API Gateway, before a request gets here,
//! but for the two `/connect/...` pages, which answer HTML (the template serves them without IAM).

pub mod error;
mod extract;
mod handlers;
pub mod idempotency;
mod pages;
mod strict;
mod views;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, post, put};

pub use error::ApiError;
pub use extract::PublicUrl;

use crate::amazon::AmazonClient;
use crate::app::accounts::{AccountNaming, Accounts};
use crate::app::connect::Connect;
use crate::app::feeds::FeedActions;
use crate::app::health::HealthCheck;
use crate::app::idempotency::Idempotency;
use crate::app::orders::Orders;
use crate::app::reports::Reports;
use crate::app::subscriptions::Subscriptions;
use crate::clock::Clock;
use crate::domain::connect::ConnectSettings;
use crate::ports::{
    AccountStore, ConnectLinkStore, FeedStore, IdempotencyStore, JobStore, MessageQueue, OrderStore,
    Schedules, SecretStore,
};

/// The use cases the API serves.
/// Who called, as API Gateway's IAM authorisation names them (a user or role ARN); the API function puts it in
/// the request's extensions, and reads of buyer PII log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

#[derive(Debug, Clone)]
pub struct ApiState {
    /// Accounts, their secrets and schedules.
    pub accounts: Accounts,
    /// Account health.
    pub health: HealthCheck,
    /// Report requests and backfills.
    pub reports: Reports,
    /// Imported orders.
    pub orders: Orders,
    /// Idempotency keys of POSTs and PUTs.
    pub idempotency: Idempotency,
    /// Seller actions for Amazon (feeds) and the feed log.
    pub feeds: FeedActions,
    /// Connect links and their callback.
    pub connect: Connect,
    /// Time (a shipment's default ship date).
    pub clock: Arc<dyn Clock>,
    /// Notification subscriptions (removed with their account).
    pub subscriptions: Subscriptions,
}

/// The ports and clients the API's use cases are built from: what `shared::runtime::api` builds over AWS,
/// and what tests and the local runner build over the local stack and the sandbox.
#[derive(Debug, Clone)]
pub struct ApiParts {
    /// Seller accounts and their status.
    pub accounts: Arc<dyn AccountStore>,
    /// Report jobs and backfills.
    pub jobs: Arc<dyn JobStore>,
    /// Orders.
    pub orders: Arc<dyn OrderStore>,
    /// Refresh tokens.
    pub secrets: Arc<dyn SecretStore>,
    /// Per-account schedules.
    pub schedules: Arc<dyn Schedules>,
    /// Idempotency keys.
    pub idempotency: Arc<dyn IdempotencyStore>,
    /// The feed outbox.
    pub outbox: Arc<dyn FeedStore>,
    /// The FIFO feed queue.
    pub feed_queue: Arc<dyn MessageQueue>,
    /// Amazon, for health checks and report requests; give it few retries, a person is waiting.
    pub amazon: AmazonClient,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Where refresh tokens are kept.
    pub naming: AccountNaming,
    /// Connect links.
    pub links: Arc<dyn ConnectLinkStore>,
    /// The SP-API application as connect links present it to Amazon.
    pub connect: ConnectSettings,
    /// The stack's notification queue, whose subscriptions a deleted account's go with it.
    pub notification_queue_arn: Option<String>,
}

impl ApiState {
    /// The use cases over `parts`.
    pub fn new(parts: ApiParts) -> ApiState {
        let ApiParts {
            accounts,
            jobs,
            orders,
            secrets,
            schedules,
            idempotency,
            outbox,
            feed_queue,
            amazon,
            clock,
            naming,
            links,
            connect,
            notification_queue_arn,
        } = parts;
        // A person is waiting (and API Gateway gives up after 30 s): calls take a rate token only if one is
        // there now, and otherwise answer when to come back.
        let amazon = amazon.without_waiting();
        let account_cases = Accounts::new(
            accounts.clone(),
            secrets.clone(),
            schedules.clone(),
            clock.clone(),
            naming.clone(),
        );
        ApiState {
            subscriptions: Subscriptions::new(
                amazon.clone(),
                accounts.clone(),
                clock.clone(),
                notification_queue_arn,
            ),
            connect: Connect::new(
                links,
                account_cases.clone(),
                accounts.clone(),
                amazon.clone(),
                clock.clone(),
                connect,
            ),
            accounts: account_cases,
            health: HealthCheck::new(
                accounts.clone(),
                jobs.clone(),
                secrets.clone(),
                schedules,
                amazon.clone(),
                clock.clone(),
                naming.clone(),
            ),
            reports: Reports::new(accounts.clone(), jobs, secrets, amazon, clock.clone(), naming),
            feeds: FeedActions::new(
                accounts.clone(),
                orders.clone(),
                outbox,
                feed_queue,
                clock.clone(),
            ),
            orders: Orders::new(accounts, orders),
            idempotency: Idempotency::new(idempotency, clock.clone()),
            clock,
        }
    }
}

/// A route: its method, its path template as `infra/openapi.yaml` documents it, and its handler.
type Route = (Method, &'static str, MethodRouter<ApiState>);

/// Every route: the one table that [`router`] serves and [`routes`] lists.
fn table() -> Vec<Route> {
    use handlers as h;
    vec![
        (Method::GET, "/accounts", get(h::list_accounts)),
        (Method::POST, "/accounts", post(h::create_account)),
        (Method::GET, "/accounts/{accountId}", get(h::get_account)),
        (Method::PUT, "/accounts/{accountId}", put(h::update_account)),
        (Method::DELETE, "/accounts/{accountId}", delete(h::delete_account)),
        (
            Method::GET,
            "/accounts/{accountId}/health",
            get(h::account_health),
        ),
        (
            Method::POST,
            "/accounts/{accountId}/backfill",
            post(h::start_backfill),
        ),
        (
            Method::GET,
            "/accounts/{accountId}/backfills/{backfillId}",
            get(h::get_backfill),
        ),
        (Method::GET, "/accounts/{accountId}/reports", get(h::list_reports)),
        (
            Method::POST,
            "/accounts/{accountId}/reports",
            post(h::request_report),
        ),
        (Method::GET, "/accounts/{accountId}/orders", get(h::list_orders)),
        (
            Method::GET,
            "/accounts/{accountId}/orders/{orderId}",
            get(h::get_order),
        ),
        (
            Method::GET,
            "/accounts/{accountId}/orders/{orderId}/recipient",
            get(h::get_order_recipient),
        ),
        (
            Method::POST,
            "/accounts/{accountId}/orders/{orderId}/shipments",
            post(h::confirm_shipment),
        ),
        (
            Method::POST,
            "/accounts/{accountId}/orders/{orderId}/cancel",
            post(h::cancel_order),
        ),
        (
            Method::PUT,
            "/accounts/{accountId}/inventory",
            put(h::set_inventory),
        ),
        (Method::GET, "/accounts/{accountId}/feeds", get(h::list_feeds)),
        (
            Method::GET,
            "/accounts/{accountId}/feeds/{feedId}",
            get(h::get_feed),
        ),
        (Method::POST, "/connect-links", post(h::create_connect_link)),
        (Method::GET, "/connect-links/{linkId}", get(h::get_connect_link)),
        (Method::GET, "/connect/{linkId}", get(h::connect_page)),
        (Method::GET, "/connect/callback", get(h::connect_callback)),
    ]
}

/// Every route's method and path template, in the order of the table.
pub fn routes() -> Vec<(Method, &'static str)> {
    table()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

/// The API over `state`: every route of the table, JSON errors for unknown routes and methods, idempotency
/// keys on POSTs, one log line per request.
pub fn router(state: ApiState) -> Router {
    let mut router = Router::new();
    for (method, path, handler) in table() {
        // Only the handler itself: a method the route does not take is a 405 whatever its key says.
        let handler = if idempotency::keyed(&method, path) {
            handler.route_layer(middleware::from_fn_with_state(
                state.clone(),
                idempotency::idempotent,
            ))
        } else {
            handler
        };
        // Routes of one path with different methods merge into one.
        router = router.route(path, handler);
    }
    router
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .fallback(handlers::no_route)
        .layer(middleware::from_fn(access_log))
        .with_state(state)
}

/// One line per request: method, route template (never the ids or query, which may name orders), status,
/// time taken.
async fn access_log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        millis = started.elapsed().as_millis() as u64,
        "api request"
    );
    response
}
