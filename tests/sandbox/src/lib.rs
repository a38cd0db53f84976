//! The SP-API sandbox: a stateful stand-in for Amazon that tests and the local runner talk to over loopback
//! HTTP exactly as they talk to Amazon (Login with Amazon, Tokens API, Reports API 2021-06-30, Feeds API
//! 2021-06-30, document hosting and upload).
//!
//! It is the oracle sellersync is tested against, so it follows Amazon's models and real recordings (paths,
//! field names, status codes, error bodies, headers) and is deterministic: a seller generated from a seed is
//! the same seller every time, and all time is the configured [`Clock`]'s (use `ManualClock` or `ScaledClock`
//! so no test waits real minutes). It shares no code with sellersync's client or parsers.
//!
//! # In-process use
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use chrono::{TimeDelta, Utc};
//! use shared::clock::ManualClock;
//! use sandbox::{Sandbox, SandboxOptions, SellerSpec};
//!
//! let now = Utc::now();
//! let clock = Arc::new(ManualClock::new(now));
//! let sandbox = Sandbox::start(SandboxOptions::with_clock(clock.clone())).await?;
//! let seller = sandbox
//!     .add_seller(SellerSpec::new(7, now - TimeDelta::days(3), now).in_marketplaces(&["A1PA6795UKMFR9"]))
//!     .expect("valid spec");
//! // Point the client at sandbox.base_url() (every region) and sandbox.lwa_url(), with
//! // sandbox::CLIENT_ID / CLIENT_SECRET and seller.refresh_token.
//! clock.advance(std::time::Duration::from_secs(60));
//! let truth = sandbox.orders(&seller.seller_id).expect("known seller");
//! # drop(truth); sandbox.shutdown().await; Ok(()) }
//! ```
//!
//! # Amazon's endpoints
//!
//! | Route | Operation |
//! |---|---|
//! | `POST /auth/o2/token` | LWA token exchange (form-encoded; `refresh_token` and `client_credentials` grants) |
//! | `POST /tokens/2021-03-01/restrictedDataToken` | `createRestrictedDataToken` |
//! | `GET /reports/2021-06-30/reports` | `getReports` |
//! | `POST /reports/2021-06-30/reports` | `createReport` (202) |
//! | `GET /reports/2021-06-30/reports/{reportId}` | `getReport` |
//! | `DELETE /reports/2021-06-30/reports/{reportId}` | `cancelReport` |
//! | `GET /reports/2021-06-30/documents/{reportDocumentId}` | `getReportDocument` |
//! | `POST /feeds/2021-06-30/documents` | `createFeedDocument` (201; the URL takes a `PUT` with the same `Content-Type`) |
//! | `GET /feeds/2021-06-30/documents/{feedDocumentId}` | `getFeedDocument` (processing reports) |
//! | `GET /feeds/2021-06-30/feeds` | `getFeeds` |
//! | `POST /feeds/2021-06-30/feeds` | `createFeed` (202) |
//! | `GET /feeds/2021-06-30/feeds/{feedId}` | `getFeed` |
//! | `DELETE /feeds/2021-06-30/feeds/{feedId}` | `cancelFeed` |
//! | `POST /applications/2023-11-30/clientSecret` | `rotateApplicationClientSecret` (204; grantless token with `ROTATION_SCOPE`) |
//! | `GET /_documents/{id}?X-Amz-…` | the document's presigned URL (S3 in production) |
//! | `PUT /_documents/{id}?X-Amz-…` | a feed document's upload URL (S3 in production) |
//!
//! Every SP-API call needs `x-amz-access-token` (SigV4 headers are accepted and ignored); every operation has
//! Amazon's default token bucket per seller (`operations::USAGE_PLANS`, refill rates times `rate_scale`).
//! Other paths answer 403 `Unauthorized`, as API Gateway does.
//!
//! # Control and inspection routes (JSON)
//!
//! | Route | Does | Rust |
//! |---|---|---|
//! | `GET /_sandbox` | clock time, base and LWA URLs, client id and secret, seller ids | [`Sandbox::now`] |
//! | `POST /_sandbox/sellers` | generate a seller from a [`SellerSpec`] (every field optional; `start`/`end` default to the last 7 days) → 201 [`SellerCredentials`] | [`Sandbox::add_seller`] |
//! | `GET /_sandbox/sellers` | sellers with marketplaces, authorization, spec | — |
//! | `POST /_sandbox/sellers/{id}/refresh-tokens` | issue another refresh token → 201 `{"refreshToken"}` | [`Sandbox::issue_refresh_token`] |
//! | `DELETE /_sandbox/sellers/{id}/refresh-tokens` | revoke all its refresh tokens (then `invalid_grant`) | [`Sandbox::revoke_refresh_token`] |
//! | `POST /_sandbox/sellers/{id}/deauthorize`, `/authorize` | SP-API calls answer 403 `Unauthorized` / work again | [`Sandbox::deauthorize`], [`Sandbox::reauthorize`] |
//! | `POST /_sandbox/sellers/{id}/ineligible`, `/eligible` | SP-API calls answer 403 naming ineligibility / work again | [`Sandbox::set_ineligible`] |
//! | `GET /_sandbox/sellers/{id}/orders?at=RFC3339&visible=bool` | [`SandboxOrder`]s: the truth at `at` (default now), or with `visible=true` as reports show them at `at` | [`Sandbox::orders`], [`Sandbox::orders_at`], [`Sandbox::visible_orders`] |
//! | `GET /_sandbox/sellers/{id}/reports` | [`SandboxReport`]s: every report with status and the orders it holds | [`Sandbox::reports`] |
//! | `GET /_sandbox/sellers/{id}/feeds` | [`SandboxFeed`]s: every feed with status, document and report results | [`Sandbox::feeds`] |
//! | `GET /_sandbox/sellers/{id}/listings` | [`SandboxListing`]s: catalog SKUs and what listings feeds set | [`Sandbox::listings`] |
//! | `GET /_sandbox/sellers/{id}/stats` | [`SellerStats`]: per operation calls, 2xx, 4xx, 403, 429 (bucket vs injected), … | [`Sandbox::stats`] |
//! | `POST /_sandbox/faults` | arm a [`Fault`] → 201 `{"faultId"}` | [`Sandbox::inject`] |
//! | `GET /_sandbox/faults`, `DELETE /_sandbox/faults` | list / disarm faults | [`Sandbox::faults`], [`Sandbox::clear_faults`] |
//! | `POST /_sandbox/carriers/{code}/retire` | reject order feeds naming this carrier code (result code 25), as when Amazon retires a code | [`Sandbox::retire_carrier`] |
//! | `POST /_sandbox/sellers/{id}/pii-role`, `DELETE …/pii-role` | grant / withdraw the application's PII roles: Orders API v2026-01-01 leaves PII fields out without them | [`Sandbox::set_pii_role`] |
//! | `GET /_sandbox/sellers/{id}/pii` | the buyer names, e-mails, recipient names, street lines and phones of its orders (to grep logs for) | [`Sandbox::pii_values`] |
//! | `POST /_sandbox/app/notifications/take` | take the application notifications (`APPLICATION_OAUTH_CLIENT_NEW_SECRET`) waiting for delivery → `{"notifications": [...]}` | [`Sandbox::take_application_notifications`] |
//! | `POST /_sandbox/notifications/take` | take the sellers' notifications due by now (what their subscriptions cover) → `{"notifications": [{"arn": "<destination's SQS ARN>", "body": {...}}]}` | [`Sandbox::take_notifications`] |
//! | `PUT /_sandbox/app/redirect-uris` | the application's OAuth Redirect URIs, in order (`["https://..."]`; the first is the default) | [`Sandbox::set_redirect_uris`] |
//!
//! Unknown sellers answer 404 and bad input 400, both as `{"error": "..."}`.
//!
//! # Behaviour worth knowing
//!
//! - Access tokens and RDTs live 3600 s of clock time. Revoking refresh tokens leaves issued access tokens
//!   working until they expire; deauthorizing a seller refuses its SP-API calls at once.
//! - Reports are `IN_QUEUE` for the first third of `report_processing`, then `IN_PROGRESS`, then terminal. A
//!   report holds what the seller's order timelines make visible at its `processingEndTime`; an empty result is
//!   `CANCELLED` without a document; order-report windows over 30 days (and injected `Fatal` faults) end
//!   `FATAL` with a JSON document `{"errorDetails": …}`.
//! - Documents of at least `gzip_min_bytes` are gzip'd and say so only through `compressionAlgorithm`; the
//!   download keeps `Content-Type: text/plain; charset=…` and `Content-Encoding: identity`, as S3 answers.
//! - Statistics count a call under the seller its token (or document) belongs to; calls with unknown tokens are
//!   answered but not counted.
//! - Feeds are `IN_QUEUE` for the first third of `feed_processing`, then `IN_PROGRESS`, then `DONE` (or `FATAL`:
//!   an unreadable document, nothing uploaded, a feed type the sandbox does not process, an injected `Fatal`).
//!   A feed takes effect when its processing ends: `POST_ORDER_FULFILLMENT_DATA` ships merchant-fulfilled
//!   orders (in part, by item), `POST_ORDER_ACKNOWLEDGEMENT_DATA` with `StatusCode` `Failure` cancels orders or
//!   items, `JSON_LISTINGS_FEED` sets quantities; reports and [`SandboxOrder`] show the result. Orders stay
//!   `Unshipped` while units are left; their generated future (a later shipment or cancellation) is dropped once
//!   the seller acts. Processing reports reject bad messages one by one with Amazon's codes (table in the
//!   `feed_apply` module); JSON reports are served gzip'd.

mod application;
mod auth;
mod buckets;
mod consent;
mod documents;
mod faults;
mod feed_apply;
mod feeds;
mod generator;
mod inspect;
mod listing;
mod locales;
mod marketplaces;
mod notifications;
mod operations;
mod orders;
pub mod reference;
mod render;
mod report_types;
mod reports;
mod sellers;
mod server;
mod state;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::clock::{Clock, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use application::ROTATION_SCOPE;
pub use auth::{CLIENT_ID, CLIENT_SECRET};
pub use consent::APPLICATION_ID;
pub use faults::{ArmedFault, Fault, FaultKind};
pub use generator::{Channel, OrderState, SellerSpec};
pub use inspect::{
    OperationStats, ReportedOrder, SandboxCancellation, SandboxError, SandboxEvent, SandboxFeed,
    SandboxFeedResult, SandboxItem, SandboxItemUnits, SandboxListing, SandboxOrder, SandboxReport,
    SandboxShipment, SellerCredentials, SellerStats,
};
pub use notifications::{DeliveryStats, NOTIFICATIONS_SCOPE, NotificationDelivery};
pub use operations::{Operation, USAGE_PLANS, UsagePlan};
pub use report_types::{
    ACTIONABLE_ORDERS, ALL_ORDERS_BY_LAST_UPDATE, ALL_ORDERS_BY_ORDER_DATE, FBA_SHIPMENTS,
    XML_ORDERS_BY_LAST_UPDATE, XML_ORDERS_BY_ORDER_DATE,
};
pub use reports::ProcessingStatus;

use server::Shared;
use state::{Settings, World};

/// How a sandbox runs.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// All of the sandbox's time: token expiry, buckets, report processing, URL expiry, order timelines.
    pub clock: Arc<dyn Clock>,
    /// Multiplies every bucket's refill rate (default 1: Amazon's rates).
    pub rate_scale: f64,
    /// Clock time a report spends `IN_QUEUE` and `IN_PROGRESS` (default 45 s).
    pub report_processing: Duration,
    /// Clock time a feed spends `IN_QUEUE` and `IN_PROGRESS` before it takes effect (default 90 s).
    pub feed_processing: Duration,
    /// Clock time a document URL stays valid (default 5 minutes, `X-Amz-Expires=300`).
    pub document_url_ttl: Duration,
    /// Documents at least this large are served gzip'd (default 32 KiB; 0 gzips all, `usize::MAX` none).
    pub gzip_min_bytes: usize,
    /// Seed of the ids and tokens the sandbox hands out (sellers have their own seeds).
    pub seed: u64,
    /// Loopback port to bind; 0 picks a free one.
    pub port: u16,
    /// How notifications are delivered (default: each once, in order, at once).
    pub notification_delivery: NotificationDelivery,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            clock: Arc::new(SystemClock),
            rate_scale: 1.0,
            report_processing: Duration::from_secs(45),
            feed_processing: Duration::from_secs(90),
            document_url_ttl: Duration::from_secs(300),
            gzip_min_bytes: 32 * 1024,
            seed: 0,
            port: 0,
            notification_delivery: NotificationDelivery::default(),
        }
    }
}

impl SandboxOptions {
    /// Defaults with the given clock.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        SandboxOptions {
            clock,
            ..SandboxOptions::default()
        }
    }
}

/// A running sandbox bound to a loopback port; stops on [`Sandbox::shutdown`] or when dropped.
#[derive(Debug)]
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `127.0.0.1:{port}` and starts serving.
    pub async fn start(options: SandboxOptions) -> io::Result<Sandbox> {
        let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
        let addr = listener.local_addr()?;
        let settings = Settings {
            report_processing: state::delta(options.report_processing),
            document_url_ttl: state::delta(options.document_url_ttl),
            gzip_min_bytes: options.gzip_min_bytes,
            feed_processing: state::delta(options.feed_processing),
        };
        let mut world = World::new(options.seed, options.rate_scale, settings);
        // The application's first client secret, made when the sandbox starts.
        world.application = application::Application::new(CLIENT_SECRET, options.clock.now());
        world.notifications = notifications::Notifications::new(options.notification_delivery, options.seed);
        let shared = Arc::new(Shared {
            clock: options.clock.clone(),
            world: Mutex::new(world),
            base_url: format!("http://{addr}"),
        });
        let app = server::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::error!(%error, "sandbox server stopped");
            }
        });
        Ok(Sandbox {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: the SP-API endpoint of every region, and the host of its documents.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The Login with Amazon token URL (`base_url` + `/auth/o2/token`).
    pub fn lwa_url(&self) -> String {
        format!("{}/auth/o2/token", self.shared.base_url)
    }

    /// The sandbox's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.shared.clock.clone()
    }

    /// The sandbox's time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Generates a seller from `spec` and authorizes the sandbox's application for it.
    pub fn add_seller(&self, spec: SellerSpec) -> Result<SellerCredentials, SandboxError> {
        let prepared = inspect::prepare_seller(spec)?;
        Ok(inspect::add_seller(&mut self.shared.world(), prepared))
    }

    /// Revokes every refresh token of the seller: token exchanges answer `invalid_grant`.
    pub fn revoke_refresh_token(&self, seller_id: &str) -> Result<(), SandboxError> {
        inspect::revoke_refresh_tokens(&mut self.shared.world(), seller_id)
    }

    /// Issues another refresh token, as a new authorization would.
    pub fn issue_refresh_token(&self, seller_id: &str) -> Result<String, SandboxError> {
        inspect::issue_refresh_token(&mut self.shared.world(), seller_id)
    }

    /// The seller withdraws the application's authorization: SP-API calls answer 403 `Unauthorized`.
    pub fn deauthorize(&self, seller_id: &str) -> Result<(), SandboxError> {
        inspect::set_authorized(&mut self.shared.world(), seller_id, false)
    }

    /// Undoes [`Sandbox::deauthorize`].
    pub fn reauthorize(&self, seller_id: &str) -> Result<(), SandboxError> {
        inspect::set_authorized(&mut self.shared.world(), seller_id, true)
    }

    /// Grants (`true`) or withdraws (`false`) the application's PII roles for the seller: without them the
    /// Orders API v2026-01-01 leaves every PII field out (Access Orders PII page).
    pub fn set_pii_role(&self, seller_id: &str, granted: bool) -> Result<(), SandboxError> {
        inspect::set_pii_role(&mut self.shared.world(), seller_id, granted)
    }

    /// Rotates the application's client secret, as `rotateApplicationClientSecret` does; the new secret.
    pub fn rotate_client_secret(&self) -> String {
        let now = self.shared.clock.now();
        let mut world = self.shared.world();
        application::rotate(&mut world, now);
        world
            .application
            .current()
            .map(|s| s.value.clone())
            .unwrap_or_default()
    }

    /// The application's client secrets and when each expires, oldest first.
    pub fn client_secrets(&self) -> Vec<(String, DateTime<Utc>)> {
        let world = self.shared.world();
        world
            .application
            .secrets
            .iter()
            .map(|s| (s.value.clone(), s.expires_at))
            .collect()
    }

    /// Takes the application notifications (`APPLICATION_OAUTH_CLIENT_NEW_SECRET`) waiting for delivery to the
    /// developer's registered queue.
    pub fn take_application_notifications(&self) -> Vec<serde_json::Value> {
        application::take_notifications(&mut self.shared.world())
    }

    /// Takes the sellers' notifications due by now (`ORDER_CHANGE`, `REPORT_PROCESSING_FINISHED`,
    /// `FEED_PROCESSING_FINISHED`, as their subscriptions ask), each as `(destination SQS ARN, notification)`.
    pub fn take_notifications(&self) -> Vec<(String, serde_json::Value)> {
        let now = self.shared.clock.now();
        notifications::take(&mut self.shared.world(), now)
            .into_iter()
            .map(|n| (n.arn, n.body))
            .collect()
    }

    /// The seller's subscriptions as `(notification type, subscription id, the destination's SQS ARN)`.
    pub fn subscriptions(&self, seller_id: &str) -> Vec<(String, String, Option<String>)> {
        notifications::of_seller(&self.shared.world(), seller_id)
    }

    /// How many notifications of each type the sandbox made, and how many its delivery lost or duplicated.
    pub fn notification_stats(&self) -> DeliveryStats {
        self.shared.world().notifications.stats.clone()
    }

    /// Registers the application's OAuth Redirect URIs, in order (the first is the consent's default), as a
    /// developer does in Seller Central; the consent page refuses any other.
    pub fn set_redirect_uris(&self, uris: &[&str]) {
        self.shared.world().consent.redirect_uris = uris.iter().map(|u| (*u).to_owned()).collect();
    }

    /// The buyer names, e-mails, recipient names, street lines and phones of the seller's orders, so tests
    /// can check logs hold none of them.
    pub fn pii_values(&self, seller_id: &str) -> Result<Vec<String>, SandboxError> {
        inspect::pii_values(&self.shared.world(), seller_id)
    }

    /// Marks the seller's account ineligible (`true`) or eligible again (`false`).
    pub fn set_ineligible(&self, seller_id: &str, ineligible: bool) -> Result<(), SandboxError> {
        inspect::set_eligible(&mut self.shared.world(), seller_id, !ineligible)
    }

    /// Arms a fault and returns its id.
    pub fn inject(&self, fault: Fault) -> u64 {
        self.shared.world().faults.inject(fault)
    }

    /// Rejects order feeds that name carrier code `code` from now on (result code 25), as Amazon does once it
    /// retires a code that a client's list still holds.
    pub fn retire_carrier(&self, code: &str) {
        inspect::retire_carrier(&mut self.shared.world(), code);
    }

    /// The faults still armed, with what each has left.
    pub fn faults(&self) -> Vec<ArmedFault> {
        self.shared.world().faults.list()
    }

    /// Disarms every fault.
    pub fn clear_faults(&self) {
        self.shared.world().faults.clear();
    }

    /// The truth: every order placed by now, with all events up to now applied.
    pub fn orders(&self, seller_id: &str) -> Result<Vec<SandboxOrder>, SandboxError> {
        self.orders_at(seller_id, self.now())
    }

    /// The truth at `at` (with every feed processed by now applied).
    pub fn orders_at(&self, seller_id: &str, at: DateTime<Utc>) -> Result<Vec<SandboxOrder>, SandboxError> {
        inspect::orders(&self.settled_world(), seller_id, at, inspect::Seen::Truth)
    }

    /// One order as it stands now, with the shipments and cancellations feeds made.
    pub fn order(
        &self,
        seller_id: &str,
        amazon_order_id: &str,
    ) -> Result<Option<SandboxOrder>, SandboxError> {
        Ok(self
            .orders(seller_id)?
            .into_iter()
            .find(|order| order.amazon_order_id == amazon_order_id))
    }

    /// The state after applying every feed whose processing has ended.
    fn settled_world(&self) -> std::sync::MutexGuard<'_, state::World> {
        let now = self.now();
        let mut world = self.shared.world();
        feeds::settle_due(&mut world, now);
        world
    }

    /// The orders as reports produced at `at` see them: each order's latest event visible by then.
    pub fn visible_orders(
        &self,
        seller_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<SandboxOrder>, SandboxError> {
        inspect::orders(&self.settled_world(), seller_id, at, inspect::Seen::ByReports)
    }

    /// The seller's orders as the Orders API shows them at `at` (about two minutes behind what happened, well
    /// ahead of reports), with the events it shows by then.
    pub fn api_orders(&self, seller_id: &str, at: DateTime<Utc>) -> Result<Vec<SandboxOrder>, SandboxError> {
        inspect::orders(&self.settled_world(), seller_id, at, inspect::Seen::ByTheApi)
    }

    /// The seller's reports with their status now and the orders each holds.
    pub fn reports(&self, seller_id: &str) -> Result<Vec<SandboxReport>, SandboxError> {
        let now = self.now();
        inspect::seller_reports(&mut self.settled_world(), seller_id, now)
    }

    /// The seller's feeds with their status now, document and processing results.
    pub fn feeds(&self, seller_id: &str) -> Result<Vec<SandboxFeed>, SandboxError> {
        let now = self.now();
        inspect::feeds_of(&mut self.shared.world(), seller_id, now)
    }

    /// The seller's SKUs (catalog and any a listings feed named) with the quantities feeds set.
    pub fn listings(&self, seller_id: &str) -> Result<Vec<SandboxListing>, SandboxError> {
        inspect::listings(&self.settled_world(), seller_id)
    }

    /// Per-operation statistics of the seller.
    pub fn stats(&self, seller_id: &str) -> Result<SellerStats, SandboxError> {
        inspect::stats(&self.shared.world(), seller_id)
    }

    /// Stops serving and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
