//! Ports: the traits through which use cases reach the outside world, named by role.
//!
//! Adapters in [`crate::adapters`] implement them over AWS; [`crate::testing`] has in-memory fakes.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    ActionOrigin, Backfill, BuyerPii, ConnectLink, FbaShipmentItem, FeedAction, FeedSubmission,
    FulfillmentChannel, ImportStatus, JobPrecondition, NotificationStatus, Order, OrderDetails, OrderPii,
    OrderStatus, Problem, QueuedGroup, ReportJob, SellerAccount, StoredVersion, UnshippedOrder,
};
use crate::error::StoreError;
use crate::feeds::FeedType;

/// What a conditional order write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The order was new, or newer than the stored copy, and was written.
    Written,
    /// The stored copy was as new or newer (another writer got there first); nothing was written.
    NotNewer,
}

/// A stored order with the token of the write that stored it: every write of an order stores a new random token,
/// so a merge conditioned on the token it read fails if anything wrote the order since (a merge keeps the
/// order's version, so the version alone cannot tell). `None` for a copy stored before tokens were written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenedOrder {
    /// The stored order.
    pub order: Order,
    /// The token of the write that stored it.
    pub token: Option<String>,
    /// Moved ahead of the reports by the Orders API ([`StoredVersion`]).
    pub ahead_of_reports: bool,
}

impl TokenedOrder {
    /// Its stored version.
    pub fn version(&self) -> StoredVersion {
        StoredVersion {
            last_updated: self.order.last_updated,
            ahead_of_reports: self.ahead_of_reports,
        }
    }
}

/// Orders of seller accounts, each kept at its newest `last_updated` version.
#[async_trait]
pub trait OrderStore: Send + Sync + std::fmt::Debug {
    /// The stored version of each of `order_ids` that is stored, in as few requests as the store allows.
    async fn order_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, StoredVersion>, StoreError>;

    /// Writes `order` if it is new or replaces the stored copy ([`StoredVersion::is_replaced_by`]); when
    /// `only_if_stored`, writes it only over an existing copy (an order the account's options would not import,
    /// but whose earlier version is kept).
    async fn put_order(
        &self,
        account: &str,
        order: &Order,
        only_if_stored: bool,
    ) -> Result<PutOutcome, StoreError>;

    /// Moves a stored order ahead of the reports to the newer version `getOrder` answered (its status and
    /// version; the lines stay as the last report showed them): written only over an older stored copy, and
    /// marked so that the report row of the same version still replaces it.
    async fn put_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError>;

    /// Stores an order no report has brought yet, as `getOrder` tells it, marked ahead of the reports so that
    /// the report row of the same version replaces it: written only when no copy is stored.
    async fn create_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError>;

    /// One order, if stored.
    async fn get_order(&self, account: &str, order_id: &str) -> Result<Option<Order>, StoreError>;

    /// An account's orders matching `query`, oldest update first, at most `query.limit` a page.
    async fn list_orders(&self, account: &str, query: &OrderQuery) -> Result<Page<Order>, StoreError>;

    /// The account's merchant orders the seller still has to ship (as their `getOrder` details say, and their
    /// stored status still open), latest ship date soonest first, with those details; only `marketplace_id`'s
    /// when given. `after` is a previous page's `next`: the last order's `<latest ship date>#<order id>`.
    async fn orders_to_ship(
        &self,
        account: &str,
        marketplace_id: Option<&str>,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<(Order, OrderDetails)>, StoreError>;

    /// One order, if stored, with the token of the write that stored it, read consistently: what a merge starts
    /// from.
    async fn get_tokened_order(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<TokenedOrder>, StoreError>;

    /// Writes `order` over a stored copy of the same version that still holds `read_token` (nothing wrote it
    /// since it was read), with `order`'s items merged in by the caller: a later part of an order whose rows a
    /// report split apart. `NotNewer` when the stored copy changed; the caller reads it again and retries.
    async fn merge_order(
        &self,
        account: &str,
        order: &Order,
        read_token: Option<&str>,
    ) -> Result<PutOutcome, StoreError>;

    /// The fingerprints stored with these unshipped orders, so that an unchanged re-read writes nothing.
    async fn unshipped_fingerprints(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, u64>, StoreError>;

    /// Stores the order-item ids and shipping dates of an unshipped merchant-fulfilled order (latest wins),
    /// with the fingerprint of what was read (the order and its buyer data).
    async fn put_unshipped(
        &self,
        account: &str,
        order: &UnshippedOrder,
        fingerprint: u64,
    ) -> Result<(), StoreError>;

    /// Stores buyer PII of an order, removed by the store at `expires_at` (Amazon's Data Protection Policy).
    async fn put_buyer(
        &self,
        account: &str,
        buyer: &BuyerPii,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The `getOrder` details stored for an order, if any.
    async fn get_order_details(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<OrderDetails>, StoreError>;

    /// Stores an order's details over any older stored ones (the caller decided with
    /// [`crate::domain::decide_details`]; a concurrent writer's newer details win, whatever the order of the
    /// writes) and, when given, its PII, removed by the store at the expiry. The PII is written first, so that a
    /// crash between the two makes the next read write both again.
    async fn put_order_details(
        &self,
        account: &str,
        details: &OrderDetails,
        pii: Option<(&OrderPii, DateTime<Utc>)>,
    ) -> Result<(), StoreError>;

    /// Orders marked as awaiting their `getOrder` details ([`crate::domain::awaits_details`]), each with the
    /// version its mark was written at: the `limit` oldest, or the newest when `newest_first`.
    async fn orders_awaiting_details(
        &self,
        account: &str,
        limit: u32,
        newest_first: bool,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError>;

    /// The version of the stored `getOrder` details of each of `order_ids` that has some, in as few requests
    /// as the store allows.
    async fn details_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError>;

    /// Clears an order's awaiting-details mark if its stored version is `version` or older (details of `version`
    /// are stored, or Amazon does not know the order); a newer copy, written meanwhile, keeps its mark.
    async fn clear_awaiting_details(
        &self,
        account: &str,
        order_id: &str,
        version: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// An order's PII from `getOrder` with its expiry, if stored (the caller checks the expiry: a store may remove
    /// expired items late).
    async fn get_order_pii(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<(OrderPii, DateTime<Utc>)>, StoreError>;

    /// Which of these FBA shipment lines (by shipment-item id) are stored already.
    async fn stored_shipment_items(
        &self,
        account: &str,
        items: &[&FbaShipmentItem],
    ) -> Result<HashSet<String>, StoreError>;

    /// Stores an FBA shipment line unless one with its shipment-item id exists.
    async fn put_shipment_item(
        &self,
        account: &str,
        item: &FbaShipmentItem,
    ) -> Result<PutOutcome, StoreError>;

    /// Keeps rows a parser could not read, so the seller sees what was left out and why.
    async fn quarantine(&self, account: &str, rows: &[QuarantinedRow]) -> Result<(), StoreError>;
}

/// Which orders a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
    /// Only orders of this fulfillment channel.
    pub channel: Option<FulfillmentChannel>,
    /// Only orders of this marketplace.
    pub marketplace_id: Option<String>,
    /// Only orders updated at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
    /// The most orders on a page.
    pub limit: u32,
    /// The cursor of the page to return, from the previous page's `next`.
    pub after: Option<String>,
}

/// A report row left out of the import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuarantinedRow {
    /// The report it came from.
    pub report_id: String,
    /// Its report type.
    pub report_type: String,
    /// Physical line of the offending row.
    pub line: u64,
    /// Every line left out with it.
    pub lines: Vec<u64>,
    /// The order it belongs to, when known.
    pub order_id: Option<String>,
    /// The column and the problem; never a cell value.
    pub reason: String,
    /// When it was quarantined.
    pub at: DateTime<Utc>,
}

/// A message for another function's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The body, JSON.
    pub body: String,
    /// FIFO queues: the group whose messages are delivered in order (account and feed type).
    pub group_id: Option<String>,
    /// FIFO queues: the id under which SQS drops a repeat within five minutes.
    pub dedup_id: Option<String>,
    /// String message attributes (a dead letter's `reason`).
    pub attributes: BTreeMap<String, String>,
}

impl OutgoingMessage {
    /// A message for a standard queue.
    pub fn standard(body: impl Into<String>) -> Self {
        OutgoingMessage {
            body: body.into(),
            group_id: None,
            dedup_id: None,
            attributes: BTreeMap::new(),
        }
    }
}

/// A queue other functions consume (the parse queue, the feed queue).
#[async_trait]
pub trait MessageQueue: Send + Sync + std::fmt::Debug {
    /// Sends one message.
    async fn send(&self, message: OutgoingMessage) -> Result<(), StoreError>;
}

/// The event bus integrators' rules read (EventBridge).
#[async_trait]
pub trait EventPublisher: Send + Sync + std::fmt::Debug {
    /// Publishes up to [`crate::app::publish_events::EVENTS_PER_CALL`] events in one call. `Ok` lists the
    /// positions of the events the bus did not take (empty when it took all); `Err` means none was taken.
    async fn publish(&self, events: &[crate::domain::events::Event]) -> Result<Vec<usize>, StoreError>;
}

/// How an archived document was stored at Amazon, so that a reader gets it back the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchivedDocument {
    /// Amazon's Content-Type, with its charset (`text/plain; charset=Cp1252`).
    pub content_type: Option<String>,
    /// `gzip` when Amazon compressed it.
    pub content_encoding: Option<String>,
}

/// Report documents sellersync keeps as Amazon sent them (types it does not parse yet).
#[async_trait]
pub trait DocumentArchive: Send + Sync + std::fmt::Debug {
    /// Stores the file's bytes under `key`; answers where they are (`s3://bucket/key`).
    async fn put_file(
        &self,
        key: &str,
        file: &std::path::Path,
        document: &ArchivedDocument,
    ) -> Result<String, StoreError>;
}

/// Named secrets: sellers' LWA refresh tokens and the application's LWA credentials.
#[async_trait]
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// The secret's value, if it exists.
    async fn get(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Creates the secret or stores a new value for it.
    async fn put(&self, name: &str, value: &str) -> Result<(), StoreError>;
    /// Deletes the secret; deleting a missing one succeeds.
    async fn delete(&self, name: &str) -> Result<(), StoreError>;
}

/// A recurring schedule that invokes the report requester for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    /// The schedule's name, unique in the product's schedule group.
    pub name: String,
    /// Scheduler expression, e.g. `rate(15 minutes)`.
    pub expression: String,
    /// Whether it fires; a disabled schedule is kept so that re-enabling it keeps its history.
    pub enabled: bool,
    /// How late Scheduler may fire each tick, so that many accounts' ticks spread out instead of bunching.
    pub flexible_window_minutes: u32,
    /// The JSON the target receives at each tick.
    pub input: String,
}

/// The per-account schedules (EventBridge Scheduler).
#[async_trait]
pub trait Schedules: Send + Sync + std::fmt::Debug {
    /// Creates the schedule or replaces its settings.
    async fn put(&self, spec: &ScheduleSpec) -> Result<(), StoreError>;
    /// The schedule as stored, if it exists.
    async fn get(&self, name: &str) -> Result<Option<ScheduleSpec>, StoreError>;
    /// Deletes the schedule; deleting a missing one succeeds.
    async fn delete(&self, name: &str) -> Result<(), StoreError>;
}

/// A seller account's settings with its running import status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// Settings, as the seller gave them.
    pub account: SellerAccount,
    /// Where its import stands.
    pub status: ImportStatus,
}

/// A page of a listing and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Opaque cursor of the next page, when there is one.
    pub next: Option<String>,
}

/// Seller accounts and their import status.
#[async_trait]
pub trait AccountStore: Send + Sync + std::fmt::Debug {
    /// Stores a new account; `false` when one with its id exists.
    async fn create_account(&self, account: &SellerAccount) -> Result<bool, StoreError>;
    /// Replaces an existing account's settings, keeping its status; `false` when it does not exist.
    async fn save_settings(&self, account: &SellerAccount) -> Result<bool, StoreError>;
    /// One account.
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError>;
    /// Accounts in id order, `limit` at a time.
    async fn list_accounts(&self, after: Option<&str>, limit: u32)
    -> Result<Page<AccountRecord>, StoreError>;
    /// Deletes an account's record; deleting a missing one succeeds.
    async fn delete_account(&self, id: &str) -> Result<(), StoreError>;
    /// Records a classified problem; the connection is `Disconnected` when it needs action.
    async fn record_problem(&self, id: &str, problem: &Problem) -> Result<(), StoreError>;
    /// Records that Amazon answered: connected, problem cleared.
    async fn record_connected(&self, id: &str) -> Result<(), StoreError>;
    /// Records an import: last success at `at`, and the report type's watermark moved up to `watermark`
    /// (never back).
    async fn record_import(
        &self,
        id: &str,
        at: DateTime<Utc>,
        watermark: Option<(&str, DateTime<Utc>)>,
    ) -> Result<(), StoreError>;
    /// Records that Amazon throttled a call at `at`.
    async fn record_throttled(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records the account's notification subscriptions as checked at `status.checked_at`, unless a later
    /// check was recorded meanwhile; a missing account is left missing.
    async fn record_notifications(&self, id: &str, status: &NotificationStatus) -> Result<(), StoreError>;
}

/// Report jobs.
#[async_trait]
pub trait JobStore: Send + Sync + std::fmt::Debug {
    /// Stores a job in its current state if the stored copy meets `expected`; `false` (and nothing written)
    /// when it does not. A pending job is due for polling at `next_poll`.
    async fn put_job(
        &self,
        job: &ReportJob,
        next_poll: Option<DateTime<Utc>>,
        expected: JobPrecondition,
    ) -> Result<bool, StoreError>;
    /// One job, by its [`ReportJob::key`].
    async fn get_job(&self, account: &str, job_key: &str) -> Result<Option<ReportJob>, StoreError>;
    /// Pending jobs of every account whose next poll is at or before `now`, soonest first.
    async fn due_jobs(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ReportJob>, StoreError>;
    /// An account's jobs, newest first.
    async fn list_jobs(
        &self,
        account: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<ReportJob>, StoreError>;
    /// Stores a backfill if the stored copy is at version `expected` (`None`: if there is none); `false` when
    /// another writer got there first. A running backfill is listed by [`JobStore::running_backfills`].
    async fn save_backfill(&self, backfill: &Backfill, expected: Option<u64>) -> Result<bool, StoreError>;
    /// One backfill.
    async fn get_backfill(&self, account: &str, id: &str) -> Result<Option<Backfill>, StoreError>;
    /// Backfills of every account that are still running, oldest first.
    async fn running_backfills(&self, limit: u32) -> Result<Vec<Backfill>, StoreError>;
}

/// A response kept under its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: String,
    /// The `Location` header, if the response had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// What is stored under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Digest of the request that used the key first.
    pub fingerprint: String,
    /// Its response; `None` while that request is still being handled.
    pub response: Option<StoredResponse>,
}

/// Idempotency keys of API requests and the responses they got, each kept until it expires.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + std::fmt::Debug {
    /// Claims `key` for a request with `fingerprint` until `expires_at`; `None` when claimed, else what the
    /// key holds (an expired record counts as absent).
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// Stores the response of the request that claimed `key`, kept until `expires_at`.
    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Frees a claimed key whose request failed in a way worth retrying.
    async fn release(&self, key: &str) -> Result<(), StoreError>;
}

/// An order's actions, and the version of its ledger: every action added to the order moves the version on, so
/// a writer that decided on one version knows whether anything was added since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderLedger {
    /// The ledger's version: 0 before the order's first action.
    pub version: u64,
    /// Every action about the order, oldest first.
    pub actions: Vec<FeedAction>,
}

/// What [`FeedStore::add_action`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The action is stored (and its order's ledger moved on).
    Added,
    /// An action with its key exists (a repeated request); nothing was written.
    Exists,
    /// The order's ledger moved on since the caller read it: another action was added first. Nothing was
    /// written; decide again on the new ledger.
    LedgerMoved,
}

/// The feed outbox: seller actions and the feed submissions that carry them.
#[async_trait]
pub trait FeedStore: Send + Sync + std::fmt::Debug {
    /// Stores a new action, unless one with its key exists. An order action moves its order's ledger on in the
    /// same atomic write; with `ledger` (the version its caller decided on, from [`FeedStore::order_ledger`]) it
    /// is written only while the ledger is still at that version, so two requests that saw the same units left
    /// can never both take them.
    async fn add_action(&self, action: &FeedAction, ledger: Option<u64>) -> Result<AddOutcome, StoreError>;
    /// Stores actions in their current state, over the stored copies.
    async fn save_actions(&self, actions: &[FeedAction]) -> Result<(), StoreError>;
    /// Stores each action in its new state if its stored copy is still in `from`; the keys of those stored.
    /// An action another run moved first keeps what that run wrote.
    async fn move_actions(
        &self,
        from: ActionOrigin<'_>,
        actions: &[FeedAction],
    ) -> Result<Vec<String>, StoreError>;
    /// Actions by key ([`FeedAction::key`]); missing ones are left out.
    async fn get_actions(&self, account: &str, keys: &[String]) -> Result<Vec<FeedAction>, StoreError>;
    /// Every action about one order, oldest first, with its ledger's version (read first).
    async fn order_ledger(&self, account: &str, order_id: &str) -> Result<OrderLedger, StoreError>;
    /// Queued actions of one account and feed type, oldest first, at most `limit`.
    async fn queued_actions(
        &self,
        account: &str,
        feed_type: FeedType,
        limit: usize,
    ) -> Result<Vec<FeedAction>, StoreError>;
    /// Every (account, feed type) with queued actions, with its oldest action's time.
    async fn queued_groups(&self) -> Result<Vec<QueuedGroup>, StoreError>;
    /// Stores a submission in its current state.
    async fn save_submission(&self, submission: &FeedSubmission) -> Result<(), StoreError>;
    /// One submission.
    async fn get_submission(&self, account: &str, id: &str) -> Result<Option<FeedSubmission>, StoreError>;
    /// Submissions of every account still open (submitting, or waiting for Amazon), oldest first.
    async fn open_submissions(&self, limit: u32) -> Result<Vec<FeedSubmission>, StoreError>;
    /// An account's submissions, newest first.
    async fn list_submissions(
        &self,
        account: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<FeedSubmission>, StoreError>;
}

/// Leases: at most one holder of a named lease at a time, each until an expiry, so that a holder that dies
/// frees it by itself.
#[async_trait]
pub trait Leases: Send + Sync + std::fmt::Debug {
    /// Takes lease `name` for `holder` until `until` if it is free at `now` (never taken, expired, or
    /// `holder`'s already, which renews it); whether `holder` has it now.
    async fn take(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Gives lease `name` back if `holder` has it.
    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}

/// Connect links ([`crate::domain::connect`]), by the digest of their secret id, each kept until a while after
/// it expired or was used.
#[async_trait]
pub trait ConnectLinkStore: Send + Sync + std::fmt::Debug {
    /// The link whose id has digest `id_hash`.
    async fn get_link(&self, id_hash: &str) -> Result<Option<ConnectLink>, StoreError>;
    /// Saves `link` if the stored link is at version `expected` (`None`: if there is none yet); whether it was
    /// saved. A `false` means another request changed the link first: read it again and decide again.
    async fn save_link(&self, link: &ConnectLink, expected: Option<u64>) -> Result<bool, StoreError>;
}
