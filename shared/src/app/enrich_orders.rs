//! Completing merchant-fulfilled orders with what a seller ships from: `getOrder` (Orders API 2026-01-01) for
//! every stored order that still needs the seller and whose details are missing or older than the order.
//!
//! The orders that may need it are marked when a report writes them open and merchant-fulfilled
//! ([`crate::domain::awaits_details`], the store's `details-due` index), and the mark is cleared once details of
//! their version are stored; so a run reads a few marked orders, never every open one, and a backlog of 10,000
//! drains from both ends. Decide, then apply: [`select`] picks the orders (pure) within the tokens the shared
//! `getOrder` bucket holds, so a backlog drains at the bucket's rate over successive runs (after each import and
//! every minute from the report poller) and never waits for tokens; [`enrich`] calls Amazon and writes by the one
//! version rule ([`decide_details`]). FBA orders are never marked.

use chrono::{DateTime, Utc};

use crate::amazon::{AmazonClient, IncludedData, Operation, SellerAuth};
use crate::app::import::{Import, ImportError};
use crate::domain::{
    DetailsDecision, OrderDetails, OrderPii, OrderStatus, PiiAvailability, SellerAccount, decide_details,
};
use crate::error::{AmazonError, StoreError};
use crate::ports::OrderStore;

/// The most `getOrder` calls of one run: at 0.5/s a full bucket of 30 drains in one run, and a run stays far
/// inside a Lambda's time limit even when every call is retried.
pub const MAX_PER_RUN: usize = 30;

/// An order marked as awaiting its details, as selection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The order id.
    pub order_id: String,
    /// The order's version its mark was written at.
    pub order_version: DateTime<Utc>,
    /// The stored details' version, if any.
    pub details_version: Option<DateTime<Utc>>,
}

/// What one run does with the candidates it read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The orders to call `getOrder` for now, in this order.
    pub call: Vec<String>,
    /// Marks to clear without a call: details of the order's version are stored already (the report row that
    /// settled a copy `getOrder` moved ahead marks it again).
    pub settled: Vec<(String, DateTime<Utc>)>,
}

/// How many `getOrder` calls a run may make: the whole tokens the shared bucket holds (`available`, `None` when
/// the limiter cannot tell), at most [`MAX_PER_RUN`].
pub fn budget(available: Option<f64>) -> usize {
    available.map_or(MAX_PER_RUN, |tokens| {
        (tokens.max(0.0).floor() as usize).min(MAX_PER_RUN)
    })
}

/// The orders to call `getOrder` for, at most `budget`: orders never read first, taken alternately from the
/// newest and the oldest end (an order placed during a backlog waits one run, and the backlog drains from its
/// oldest end), then orders whose details are older than the order, oldest change first.
pub fn select(candidates: &[Candidate], budget: usize) -> Selection {
    let mut unread: Vec<&Candidate> = Vec::new();
    let mut stale: Vec<&Candidate> = Vec::new();
    let mut settled = Vec::new();
    for candidate in candidates {
        if !crate::domain::needs_details(candidate.order_version, candidate.details_version) {
            settled.push((candidate.order_id.clone(), candidate.order_version));
        } else if candidate.details_version.is_none() {
            unread.push(candidate);
        } else {
            stale.push(candidate);
        }
    }
    let key = |c: &&Candidate| (c.order_version, c.order_id.clone());
    unread.sort_by_key(key);
    unread.dedup_by_key(|c| c.order_id.clone());
    stale.sort_by_key(key);
    stale.dedup_by_key(|c| c.order_id.clone());
    let mut call = Vec::with_capacity(budget);
    let mut unread = std::collections::VecDeque::from(unread);
    let mut newest = true;
    while call.len() < budget {
        let next = if newest {
            unread.pop_back()
        } else {
            unread.pop_front()
        };
        let Some(next) = next else { break };
        call.push(next.order_id.clone());
        newest = !newest;
    }
    call.extend(
        stale
            .into_iter()
            .take(budget - call.len())
            .map(|c| c.order_id.clone()),
    );
    settled.sort();
    settled.dedup();
    Selection { call, settled }
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnrichSummary {
    /// `getOrder` calls answered.
    pub fetched: u64,
    /// Details written.
    pub written: u64,
    /// Of those, orders whose version (and status) moved up to the answer's.
    pub orders_bumped: u64,
    /// Answers of a version already stored: nothing written.
    pub unchanged: u64,
    /// Answers older than the stored order: nothing written (the order is selected again).
    pub stale: u64,
    /// Answers whose PII Amazon withheld (no role, or a status that does not allow it).
    pub pii_withheld: u64,
    /// Orders Amazon does not know (404) or that are no longer stored.
    pub missing: u64,
}

impl EnrichSummary {
    /// Adds another run's counts.
    pub fn add(&mut self, other: EnrichSummary) {
        self.fetched += other.fetched;
        self.written += other.written;
        self.orders_bumped += other.orders_bumped;
        self.unchanged += other.unchanged;
        self.stale += other.stale;
        self.pii_withheld += other.pii_withheld;
        self.missing += other.missing;
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// Amazon refused or failed.
    #[error(transparent)]
    Amazon(#[from] AmazonError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The status a `getOrder` fulfillment status stands for, if it is one order reports know.
fn status_of(details: &OrderDetails) -> Option<OrderStatus> {
    match details.fulfillment_status.as_str() {
        "PENDING" | "PENDING_AVAILABILITY" => Some(OrderStatus::Pending),
        "UNSHIPPED" => Some(OrderStatus::Unshipped),
        "PARTIALLY_SHIPPED" => Some(OrderStatus::PartiallyShipped),
        "SHIPPED" => Some(OrderStatus::Shipped),
        "CANCELLED" => Some(OrderStatus::Cancelled),
        _ => None,
    }
}

/// Stores an order's details from `getOrder`, with its PII (kept until [`OrderDetails::pii_expiry`] after
/// `purchase_date`) when Amazon gave it. Whether it did.
pub(crate) async fn put_details(
    store: &dyn OrderStore,
    account: &str,
    details: &OrderDetails,
    pii: &OrderPii,
    purchase_date: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let given = details.pii == PiiAvailability::Given;
    let expiry = details.pii_expiry(purchase_date);
    store
        .put_order_details(account, details, given.then_some((pii, expiry)))
        .await?;
    Ok(given)
}

/// Calls `getOrder` for each of `order_ids` (from [`select`]) and stores what is new by the one version rule.
/// A 404 skips the order; any other failure ends the run (what was written stays: a re-run writes nothing twice).
pub async fn enrich(
    amazon: &AmazonClient,
    seller: &SellerAuth,
    store: &dyn OrderStore,
    order_ids: &[String],
) -> Result<EnrichSummary, EnrichError> {
    let account = seller.account_id.as_str();
    let mut summary = EnrichSummary::default();
    for order_id in order_ids {
        let answer = match amazon
            .get_order(seller, order_id, &IncludedData::FOR_SHIPPING)
            .await
        {
            Ok(answer) => answer,
            Err(AmazonError::NotFound { .. }) => {
                // Not an order Amazon knows: it is not chosen again until a report writes a newer version.
                if let Some(stored) = store.get_order(account, order_id).await? {
                    store
                        .clear_awaiting_details(account, order_id, stored.last_updated)
                        .await?;
                }
                summary.missing += 1;
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        summary.fetched += 1;
        let (details, pii) = answer.split(true);
        let Some(stored) = store.get_order(account, order_id).await? else {
            summary.missing += 1;
            continue;
        };
        let stored_details = store.get_order_details(account, order_id).await?;
        match decide_details(
            Some(stored.last_updated),
            stored_details.map(|d| d.last_updated),
            details.last_updated,
        ) {
            DetailsDecision::NoOrder => summary.missing += 1,
            // Stored meanwhile by another run, which clears the mark.
            DetailsDecision::Unchanged => summary.unchanged += 1,
            DetailsDecision::Stale => summary.stale += 1,
            DetailsDecision::Write { bumps_order } => {
                if !put_details(store, account, &details, &pii, stored.purchase_date).await? {
                    summary.pii_withheld += 1;
                }
                summary.written += 1;
                if bumps_order {
                    let mut newer = stored.clone();
                    newer.last_updated = details.last_updated;
                    if let Some(status) = status_of(&details) {
                        newer.status = status;
                    }
                    // Conditional on the stored copy being older: a newer report row written meanwhile wins; the
                    // report row of this version, with the lines as Amazon settled them, still replaces it. The
                    // copy moved ahead is written without the awaiting-details mark.
                    store.put_order_ahead_of_reports(account, &newer).await?;
                    summary.orders_bumped += 1;
                } else {
                    store
                        .clear_awaiting_details(account, order_id, details.last_updated)
                        .await?;
                }
            }
        }
    }
    Ok(summary)
}

/// The candidates one run reads: this many from each end of the account's awaiting orders (the newest and the
/// oldest); more than a run can call, so that marks to clear never take a run's whole budget.
pub const CANDIDATES_PER_END: u32 = 2 * MAX_PER_RUN as u32;

/// What the account's next run will do: its marked orders (newest and oldest, [`CANDIDATES_PER_END`] of each)
/// with their details' versions, [`select`]ed within the `getOrder` tokens `available` (read only when some
/// order is marked). Marks of orders whose details are current are cleared here (conditionally: a newer copy
/// keeps its mark).
pub async fn choose(
    store: &dyn OrderStore,
    account: &str,
    available: impl Future<Output = Result<Option<f64>, AmazonError>>,
) -> Result<Vec<String>, EnrichError> {
    let mut marked = store
        .orders_awaiting_details(account, CANDIDATES_PER_END, true)
        .await?;
    if marked.is_empty() {
        return Ok(Vec::new());
    }
    if marked.len() == CANDIDATES_PER_END as usize {
        // The two ends overlap when fewer than twice a page are marked.
        let oldest = store
            .orders_awaiting_details(account, CANDIDATES_PER_END, false)
            .await?;
        let newest: std::collections::HashSet<String> = marked.iter().map(|(id, _)| id.clone()).collect();
        marked.extend(oldest.into_iter().filter(|(id, _)| !newest.contains(id)));
    }
    let ids: Vec<&str> = marked.iter().map(|(id, _)| id.as_str()).collect();
    let details = store.details_versions(account, &ids).await?;
    let candidates: Vec<Candidate> = marked
        .iter()
        .map(|(order_id, order_version)| Candidate {
            order_id: order_id.clone(),
            order_version: *order_version,
            details_version: details.get(order_id).copied(),
        })
        .collect();
    let selection = select(&candidates, budget(available.await?));
    for (order_id, version) in &selection.settled {
        store.clear_awaiting_details(account, order_id, *version).await?;
    }
    Ok(selection.call)
}

impl Import {
    /// Completes the account's orders awaiting their details with `getOrder`, within the tokens its shared
    /// bucket holds ([`choose`], then [`enrich`]); the seller's token is read only when there is a call to make.
    /// Best effort: what is not done now is chosen again by the next run (after the next import, and every minute
    /// from the report poller).
    pub async fn complete_orders(&self, account: &SellerAccount) -> EnrichSummary {
        let result = async {
            let available = self.amazon.available_tokens(&account.id, Operation::GetOrder);
            let chosen = choose(self.orders.as_ref(), &account.id, available)
                .await
                .map_err(ImportError::from)?;
            if chosen.is_empty() {
                return Ok(EnrichSummary::default());
            }
            let seller = self.seller_auth(account).await?;
            enrich(&self.amazon, &seller, self.orders.as_ref(), &chosen)
                .await
                .map_err(ImportError::from)
        }
        .await;
        match result {
            Ok(summary) => {
                if summary != EnrichSummary::default() {
                    tracing::info!(account = %account.id, ?summary, "orders completed with getOrder");
                }
                summary
            }
            Err(err) => {
                tracing::warn!(
                    account = %account.id,
                    error = %err,
                    "completing orders with getOrder failed; the next run retries"
                );
                EnrichSummary::default()
            }
        }
    }
}

impl From<EnrichError> for ImportError {
    fn from(err: EnrichError) -> Self {
        match err {
            EnrichError::Amazon(err) => ImportError::Amazon(err),
            EnrichError::Store(err) => ImportError::Store(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use chrono::{TimeDelta, TimeZone};
    use serde_json::{Value, json};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::amazon::{Endpoints, LwaCredentials, MemoryRateLimiter, RetryPolicy};
    use crate::app::store_orders::store_orders;
    use crate::clock::ManualClock;
    use crate::domain::{FulfillmentChannel, ImportOptions, Order, PiiAvailability, Region, ShipTo};
    use crate::metrics::Metrics;
    use crate::testing::MemoryOrderStore;

    const ACCOUNT: &str = "acct-1";

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, hour, 0, 0).unwrap()
    }

    fn candidate(id: &str, version: u32, details: Option<u32>) -> Candidate {
        Candidate {
            order_id: id.into(),
            order_version: t(version),
            details_version: details.map(t),
        }
    }

    #[test]
    fn selection_alternates_the_newest_and_oldest_unread_then_takes_moved_ones_and_settles_current_ones() {
        let candidates = [
            candidate("moved", 12, Some(10)),
            candidate("current", 10, Some(10)),
            candidate("ahead", 10, Some(11)),
            candidate("new-late", 11, None),
            candidate("new-mid", 10, None),
            candidate("new-early", 9, None),
            // Read from both ends of a short list: the same order twice.
            candidate("new-early", 9, None),
        ];
        let all = select(&candidates, budget(None));
        assert_eq!(all.call, ["new-late", "new-early", "new-mid", "moved"]);
        assert_eq!(
            all.settled,
            [("ahead".to_owned(), t(10)), ("current".to_owned(), t(10))]
        );
        assert_eq!(
            select(&candidates, budget(Some(2.7))).call,
            ["new-late", "new-early"]
        );
        let empty = select(&candidates, budget(Some(0.4)));
        assert!(empty.call.is_empty(), "an empty bucket waits for the next run");
        assert_eq!(empty.settled.len(), 2, "marks are cleared without tokens");
        let backlog: Vec<_> = (0..10_000)
            .map(|i| candidate(&format!("{i:05}"), 10, None))
            .collect();
        let run = select(&backlog, budget(Some(30.0)));
        assert_eq!(run.call.len(), MAX_PER_RUN);
        assert_eq!(run.call[..4], ["09999", "00000", "09998", "00001"]);
    }

    fn report_order(id: &str, updated: DateTime<Utc>) -> Order {
        Order {
            amazon_order_id: id.into(),
            merchant_order_id: None,
            purchase_date: t(1),
            last_updated: updated,
            status: OrderStatus::Unshipped,
            fulfillment_channel: FulfillmentChannel::Mfn,
            sales_channel: "Amazon.de".into(),
            marketplace_id: None,
            ship_service_level: None,
            ship_to: ShipTo::default(),
            is_business_order: false,
            purchase_order_number: None,
            items: vec![],
        }
    }

    fn answer(id: &str, updated: &str, status: &str, with_pii: bool) -> Value {
        let mut order = json!({
            "orderId": id, "createdTime": "2026-01-02T01:00:00Z", "lastUpdatedTime": updated,
            "programs": ["PRIME"],
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
            "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "MERCHANT",
                "shipByWindow": {"latestDateTime": "2026-01-04T00:00:00Z"},
                "deliverByWindow": {"latestDateTime": "2026-01-08T00:00:00Z"}},
            "orderItems": [{"orderItemId": "41", "quantityOrdered": 2, "product": {"sellerSku": "SKU-1"},
                "fulfillment": {"quantityFulfilled": 1, "quantityUnfulfilled": 1}}]
        });
        if with_pii {
            order["recipient"] = json!({"deliveryAddress": {"name": "Erika Mustermann",
                "addressLine1": "Heidestrasse 17", "city": "Koeln", "postalCode": "51147", "countryCode": "DE"}});
        }
        json!({ "order": order })
    }

    async fn amazon(server: &MockServer) -> (AmazonClient, SellerAuth) {
        Mock::given(method("POST"))
            .and(path("/auth/o2/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "Atza|a", "refresh_token": "Atzr|r", "token_type": "bearer", "expires_in": 3600
            })))
            .mount(server)
            .await;
        let clock = Arc::new(ManualClock::new(t(12)));
        let client = AmazonClient::new(
            AmazonClient::http_client().unwrap(),
            Endpoints::single(&server.uri(), &format!("{}/auth/o2/token", server.uri())),
            LwaCredentials::new("client", "secret"),
            clock.clone(),
            Arc::new(MemoryRateLimiter::new(clock)),
            RetryPolicy {
                max_attempts: 1,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(1),
                attempt_timeout: Duration::from_secs(5),
            },
            Metrics::recording("test"),
        );
        (client, SellerAuth::new(ACCOUNT, Region::Eu, "Atzr|r"))
    }

    async fn answer_with(server: &MockServer, body: Value) {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/orders/2026-01-01/orders/306-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(server)
            .await;
    }

    #[tokio::test]
    async fn a_newer_answer_is_stored_apart_from_its_pii_moves_the_order_up_and_is_never_overwritten_backwards()
     {
        let server = MockServer::start().await;
        let store = MemoryOrderStore::default();
        store_orders(
            &store,
            ACCOUNT,
            &ImportOptions::default(),
            &[report_order("306-1", t(10))],
        )
        .await
        .unwrap();
        answer_with(
            &server,
            answer("306-1", "2026-01-02T11:00:00Z", "PARTIALLY_SHIPPED", true),
        )
        .await;
        let (client, seller) = amazon(&server).await;

        let summary = enrich(&client, &seller, &store, &["306-1".to_owned()])
            .await
            .unwrap();

        assert_eq!(
            (summary.fetched, summary.written, summary.orders_bumped),
            (1, 1, 1)
        );
        let details = store.get_order_details(ACCOUNT, "306-1").await.unwrap().unwrap();
        assert_eq!(details.items[0].order_item_id, "41");
        assert_eq!(
            (details.items[0].quantity_shipped, details.items[0].quantity_left),
            (1, 1)
        );
        assert!(details.is_prime());
        let (pii, expires) = store.get_order_pii(ACCOUNT, "306-1").await.unwrap().unwrap();
        assert_eq!(pii.buyer.ship_to.address_1.as_deref(), Some("Heidestrasse 17"));
        assert_eq!(
            expires,
            Utc.with_ymd_and_hms(2026, 1, 8, 0, 0, 0).unwrap() + TimeDelta::days(30)
        );
        let order = store.get_order(ACCOUNT, "306-1").await.unwrap().unwrap();
        assert_eq!(
            (order.last_updated, order.status.clone()),
            (t(11), OrderStatus::PartiallyShipped)
        );

        // The report row of the older version comes again: it changes nothing.
        let writes = store.writes();
        let (stored, _) = store_orders(
            &store,
            ACCOUNT,
            &ImportOptions::default(),
            &[report_order("306-1", t(10))],
        )
        .await
        .unwrap();
        assert_eq!((stored.written, stored.unchanged), (0, 1));
        // The same answer read again writes nothing either.
        let again = enrich(&client, &seller, &store, &["306-1".to_owned()])
            .await
            .unwrap();
        assert_eq!((again.fetched, again.unchanged, again.written), (1, 1, 0));
        assert_eq!(store.writes(), writes);
        let order = store.get_order(ACCOUNT, "306-1").await.unwrap().unwrap();
        assert_eq!(order.status, OrderStatus::PartiallyShipped);

        // The report row of the answer's version carries the lines as Amazon settled them: it replaces the copy
        // moved ahead (which kept the older report's lines), once.
        let mut settled = report_order("306-1", t(11));
        settled.status = OrderStatus::PartiallyShipped;
        settled.items = vec![crate::domain::OrderItem {
            sku: "SKU-41".into(),
            asin: Default::default(),
            product_name: Default::default(),
            item_status: Some("Shipped".into()),
            quantity: 2,
            amounts: Default::default(),
            promotion_ids: vec![],
        }];
        for written in [1, 0] {
            let (stored, _) = store_orders(&store, ACCOUNT, &ImportOptions::default(), &[settled.clone()])
                .await
                .unwrap();
            assert_eq!(stored.written, written);
        }
        assert_eq!(store.get_order(ACCOUNT, "306-1").await.unwrap(), Some(settled));
    }

    #[tokio::test]
    async fn withheld_pii_is_not_written_and_an_answer_older_than_the_order_writes_nothing() {
        let server = MockServer::start().await;
        let store = MemoryOrderStore::default();
        store_orders(
            &store,
            ACCOUNT,
            &ImportOptions::default(),
            &[report_order("306-1", t(10))],
        )
        .await
        .unwrap();
        answer_with(
            &server,
            answer("306-1", "2026-01-02T10:00:00Z", "UNSHIPPED", false),
        )
        .await;
        let (client, seller) = amazon(&server).await;

        let summary = enrich(&client, &seller, &store, &["306-1".to_owned()])
            .await
            .unwrap();

        assert_eq!(
            (summary.written, summary.pii_withheld, summary.orders_bumped),
            (1, 1, 0)
        );
        let details = store.get_order_details(ACCOUNT, "306-1").await.unwrap().unwrap();
        assert_eq!(details.pii, PiiAvailability::Withheld);
        assert!(store.get_order_pii(ACCOUNT, "306-1").await.unwrap().is_none());

        store_orders(
            &store,
            ACCOUNT,
            &ImportOptions::default(),
            &[report_order("306-1", t(12))],
        )
        .await
        .unwrap();
        let writes = store.writes();
        let stale = enrich(&client, &seller, &store, &["306-1".to_owned()])
            .await
            .unwrap();
        assert_eq!((stale.stale, stale.written), (1, 0));
        assert_eq!(store.writes(), writes);
    }

    #[tokio::test]
    async fn an_account_run_calls_get_order_only_for_open_merchant_orders_and_then_not_again() {
        let server = MockServer::start().await;
        let store = MemoryOrderStore::default();
        let mut fba = report_order("fba", t(10));
        fba.fulfillment_channel = FulfillmentChannel::Afn;
        let mut shipped = report_order("shipped", t(10));
        shipped.status = OrderStatus::Shipped;
        store_orders(
            &store,
            ACCOUNT,
            &ImportOptions::default(),
            &[report_order("306-1", t(10)), fba, shipped],
        )
        .await
        .unwrap();
        answer_with(
            &server,
            answer("306-1", "2026-01-02T10:00:00Z", "UNSHIPPED", true),
        )
        .await;
        let (client, seller) = amazon(&server).await;

        let run = async || {
            let chosen = choose(&store, ACCOUNT, async { Ok(Some(30.0)) }).await.unwrap();
            enrich(&client, &seller, &store, &chosen).await.unwrap()
        };
        let first = run().await;
        let second = run().await;

        assert_eq!((first.fetched, first.written), (1, 1));
        assert_eq!(
            second,
            EnrichSummary::default(),
            "details of the order's version are stored"
        );
        let calls = server.received_requests().await.unwrap();
        let orders: Vec<_> = calls
            .iter()
            .filter(|r| r.url.path().starts_with("/orders/"))
            .collect();
        assert_eq!(orders.len(), 1);
    }
}
