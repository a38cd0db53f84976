//! `MemorySystem`: the use cases the functions run, wired as `runtime` wires them but over the in-memory fakes,
//! calling an SP-API at the given endpoints (the sandbox, in tests) on one manual clock: the whole system with
//! no AWS at all.

use std::sync::Arc;

use chrono::TimeDelta;

use super::{
    MemoryArchive, MemoryConnectLinks, MemoryFeedStore, MemoryIdempotency, MemoryLeases, MemoryOrderStore,
    MemoryQueue, MemorySchedules, MemorySecrets, MemoryState,
};
use crate::amazon::{AmazonClient, Endpoints, LwaCredentials, MemoryRateLimiter, RetryPolicy};
use crate::api::{ApiParts, ApiState};
use crate::app::accounts::AccountNaming;
use crate::app::feeds::{FeedProcessor, FeedSettings};
use crate::app::import::{Import, ImportError, ImportSettings, ParseMessage};
use crate::app::notifications::NotificationHandler;
use crate::app::subscriptions::Subscriptions;
use crate::clock::ManualClock;
use crate::domain::connect::ConnectSettings;
use crate::metrics::Metrics;
use crate::runtime::API_RETRY;

/// The queue Amazon's notifications are subscribed to (the fakes only name it).
pub const NOTIFICATION_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:sellersync-notifications";

/// Every use case over one set of fakes, Amazon at `endpoints`, and one manual clock.
#[derive(Debug)]
pub struct MemorySystem {
    /// The one clock of the fakes, the client and the use cases.
    pub clock: Arc<ManualClock>,
    /// Accounts, report jobs and backfills.
    pub state: Arc<MemoryState>,
    /// Orders.
    pub orders: Arc<MemoryOrderStore>,
    /// The feed outbox.
    pub outbox: Arc<MemoryFeedStore>,
    /// Refresh tokens.
    pub secrets: Arc<MemorySecrets>,
    /// Per-account schedules.
    pub schedules: Arc<MemorySchedules>,
    /// The parse queue the poller fills.
    pub parse_queue: Arc<MemoryQueue>,
    /// The FIFO feed queue the API fills.
    pub feed_queue: Arc<MemoryQueue>,
    /// Documents kept as Amazon sent them.
    pub archive: Arc<MemoryArchive>,
    /// Where refresh tokens are kept.
    pub naming: AccountNaming,
    /// Requester, poller and parser.
    pub import: Import,
    /// Feed submitter and poller.
    pub feeds: FeedProcessor,
    /// The HTTP API's use cases ([`crate::api::router`] serves them).
    pub api: ApiState,
}

impl MemorySystem {
    /// The system calling Amazon at `endpoints` as the application `lwa`, with connect links presenting
    /// `connect`, from the clock's time on.
    pub fn new(
        endpoints: Endpoints,
        lwa: LwaCredentials,
        connect: ConnectSettings,
        clock: Arc<ManualClock>,
    ) -> MemorySystem {
        let state = Arc::new(MemoryState::default());
        let orders = Arc::new(MemoryOrderStore::default());
        let outbox = Arc::new(MemoryFeedStore::default());
        let secrets = Arc::new(MemorySecrets::default());
        let schedules = Arc::new(MemorySchedules::default());
        let parse_queue = Arc::new(MemoryQueue::default());
        let feed_queue = Arc::new(MemoryQueue::default());
        let archive = Arc::new(MemoryArchive::default());
        let naming = AccountNaming {
            secret_prefix: "sellersync/memory/accounts/".into(),
            lwa_secret: "sellersync/memory/lwa-app".into(),
        };
        let limiter = Arc::new(MemoryRateLimiter::new(clock.clone()));
        let metrics = Metrics::recording("memory");
        let amazon = |retry: RetryPolicy| {
            AmazonClient::new(
                AmazonClient::http_client().expect("an HTTP client"),
                endpoints.clone(),
                lwa.clone(),
                clock.clone(),
                limiter.clone(),
                retry,
                metrics.clone(),
            )
        };
        let import = Import {
            accounts: state.clone(),
            jobs: state.clone(),
            orders: orders.clone(),
            secrets: secrets.clone(),
            parse_queue: parse_queue.clone(),
            archive: archive.clone(),
            subscriptions: Subscriptions::new(
                amazon(RetryPolicy::default()),
                state.clone(),
                clock.clone(),
                Some(NOTIFICATION_QUEUE_ARN.to_owned()),
            ),
            amazon: amazon(RetryPolicy::default()),
            clock: clock.clone(),
            metrics: metrics.clone(),
            settings: ImportSettings {
                overlap: TimeDelta::hours(24),
                initial_lookback: TimeDelta::days(7),
                parse_deadline: crate::domain::PARSE_DEADLINE,
                naming: naming.clone(),
                enrich_orders: false,
            },
        };
        let feeds = FeedProcessor {
            accounts: state.clone(),
            secrets: secrets.clone(),
            outbox: outbox.clone(),
            leases: Arc::new(MemoryLeases::default()),
            amazon: amazon(RetryPolicy::default()),
            clock: clock.clone(),
            metrics: metrics.clone(),
            naming: naming.clone(),
            settings: FeedSettings::new(TimeDelta::minutes(3), TimeDelta::minutes(5)),
        };
        let api = ApiState::new(ApiParts {
            accounts: state.clone(),
            jobs: state.clone(),
            orders: orders.clone(),
            secrets: secrets.clone(),
            schedules: schedules.clone(),
            idempotency: Arc::new(MemoryIdempotency::default()),
            outbox: outbox.clone(),
            feed_queue: feed_queue.clone(),
            amazon: amazon(API_RETRY),
            clock: clock.clone(),
            naming: naming.clone(),
            links: Arc::new(MemoryConnectLinks::default()),
            connect,
            notification_queue_arn: Some(NOTIFICATION_QUEUE_ARN.to_owned()),
        });
        MemorySystem {
            clock,
            state,
            orders,
            outbox,
            secrets,
            schedules,
            parse_queue,
            feed_queue,
            archive,
            naming,
            import,
            feeds,
            api,
        }
    }

    /// The notification handler over the import and the feeds.
    pub fn notifications(&self) -> NotificationHandler {
        NotificationHandler {
            import: self.import.clone(),
            feeds: self.feeds.clone(),
        }
    }

    /// Moves the clock on.
    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by.to_std().expect("forward"));
    }

    /// One poll run, then every parse message it queued imported, as the poller and parsers do; each
    /// message's outcome.
    pub async fn poll_and_parse(&self) -> Result<Vec<Result<(), String>>, ImportError> {
        self.import.poll_reports().await?;
        let mut outcomes = Vec::new();
        for message in self.parse_queue.receive() {
            let parse: ParseMessage = serde_json::from_str(&message.body).expect("a parse message");
            let outcome = self.import.parse_report(&parse).await;
            outcomes.push(outcome.map(drop).map_err(|e| e.to_string()));
        }
        Ok(outcomes)
    }
}
