//! Completing merchant-fulfilled orders with what a seller ships from: `getOrder` (Orders API 2026-01-01) for
//! every stored order that still needs the seller and whose details are missing or older than the order.
//!
//! Decide, then apply: [`select`] picks the orders (pure) within the tokens the shared `getOrder` bucket holds,
//! so a backlog drains at the bucket's rate over successive runs and never waits for tokens inside the import;
//! [`enrich`] calls Amazon and writes by the one version rule ([`decide_details`]). FBA orders never need it.

use chrono::{DateTime, Utc};

use crate::amazon::{AmazonClient, IncludedData, Operation, SellerAuth};
use crate::domain::{DetailsDecision, FulfillmentChannel, Order, OrderDetails, OrderStatus, decide_details};
use crate::error::{AmazonError, StoreError};
use crate::ports::OrderStore;

/// The most `getOrder` calls of one run: at 0.5/s a full bucket of 30 drains in one run, and a run stays far
/// inside a Lambda's time limit even when every call is retried.
pub const MAX_PER_RUN: usize = 30;

/// A stored order as selection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The order id.
    pub order_id: String,
    /// Fulfilled by the merchant.
    pub merchant_fulfilled: bool,
    /// Still needs the seller: pending, unshipped, partially shipped, or with a buyer cancellation request.
    pub needs_seller: bool,
    /// The stored order's version.
    pub order_version: DateTime<Utc>,
    /// The stored details' version, if any.
    pub details_version: Option<DateTime<Utc>>,
}

impl Candidate {
    /// The candidate a stored order and its stored details make.
    pub fn of(order: &Order, details: Option<&OrderDetails>) -> Candidate {
        let open = matches!(
            order.status,
            OrderStatus::Pending | OrderStatus::Unshipped | OrderStatus::PartiallyShipped
        );
        let cancellation_asked = details.is_some_and(OrderDetails::has_cancellation_request)
            && order.status != OrderStatus::Cancelled;
        Candidate {
            order_id: order.amazon_order_id.to_string(),
            merchant_fulfilled: order.fulfillment_channel == FulfillmentChannel::Mfn,
            needs_seller: open || cancellation_asked,
            order_version: order.last_updated,
            details_version: details.map(|d| d.last_updated),
        }
    }
}

/// The orders to call `getOrder` for now: those that need it, orders never read before first, then the oldest
/// change; at most the whole tokens `available` (the shared bucket's, `None` when unknown) and [`MAX_PER_RUN`].
pub fn select(candidates: &[Candidate], available: Option<f64>) -> Vec<String> {
    let budget = available.map_or(MAX_PER_RUN, |tokens| {
        (tokens.max(0.0).floor() as usize).min(MAX_PER_RUN)
    });
    let mut due: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| {
            crate::domain::needs_details(
                c.merchant_fulfilled,
                c.needs_seller,
                c.order_version,
                c.details_version,
            )
        })
        .collect();
    due.sort_by_key(|c| (c.details_version.is_some(), c.order_version, c.order_id.clone()));
    due.into_iter().take(budget).map(|c| c.order_id.clone()).collect()
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
            DetailsDecision::Unchanged => summary.unchanged += 1,
            DetailsDecision::Stale => summary.stale += 1,
            DetailsDecision::Write { bumps_order } => {
                let given = details.pii == crate::domain::PiiAvailability::Given;
                if !given {
                    summary.pii_withheld += 1;
                }
                let expiry = details.pii_expiry(stored.purchase_date);
                store
                    .put_order_details(account, &details, given.then_some((&pii, expiry)))
                    .await?;
                summary.written += 1;
                if bumps_order {
                    let mut newer = stored.clone();
                    newer.last_updated = details.last_updated;
                    if let Some(status) = status_of(&details) {
                        newer.status = status;
                    }
                    // Conditional on the stored copy being older: a newer report row written meanwhile wins; the
                    // report row of this version, with the lines as Amazon settled them, still replaces it.
                    store.put_order_ahead_of_reports(account, &newer).await?;
                    summary.orders_bumped += 1;
                }
            }
        }
    }
    Ok(summary)
}

/// Stored orders one run looks at, at most: the open merchant-fulfilled ones, oldest change first, a page of
/// [`SCAN_PAGE`] per status.
pub const SCAN_PAGE: u32 = 100;

/// One run for an account: the open merchant-fulfilled orders' candidates, [`select`] within the `getOrder`
/// bucket's tokens, then [`enrich`]. What the bucket cannot take now is selected again by the next run.
pub async fn enrich_account(
    amazon: &AmazonClient,
    seller: &SellerAuth,
    store: &dyn OrderStore,
) -> Result<EnrichSummary, EnrichError> {
    let account = seller.account_id.as_str();
    let mut candidates = Vec::new();
    for status in [
        OrderStatus::Unshipped,
        OrderStatus::PartiallyShipped,
        OrderStatus::Pending,
    ] {
        let query = crate::ports::OrderQuery {
            status: Some(status),
            channel: Some(FulfillmentChannel::Mfn),
            limit: SCAN_PAGE,
            ..Default::default()
        };
        for order in store.list_orders(account, &query).await?.items {
            let details = store.get_order_details(account, &order.amazon_order_id).await?;
            candidates.push(Candidate::of(&order, details.as_ref()));
        }
    }
    let available = available_get_order_tokens(amazon, seller).await?;
    let chosen = select(&candidates, available);
    if chosen.is_empty() {
        return Ok(EnrichSummary::default());
    }
    enrich(amazon, seller, store, &chosen).await
}

/// The tokens the seller's shared `getOrder` bucket holds now (`None` when the limiter cannot tell).
pub async fn available_get_order_tokens(
    amazon: &AmazonClient,
    seller: &SellerAuth,
) -> Result<Option<f64>, AmazonError> {
    amazon
        .available_tokens(&seller.account_id, Operation::GetOrder)
        .await
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
    use crate::domain::{ImportOptions, PiiAvailability, Region, ShipTo};
    use crate::metrics::Metrics;
    use crate::testing::MemoryOrderStore;

    const ACCOUNT: &str = "acct-1";

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, hour, 0, 0).unwrap()
    }

    fn candidate(id: &str, merchant: bool, open: bool, version: u32, details: Option<u32>) -> Candidate {
        Candidate {
            order_id: id.into(),
            merchant_fulfilled: merchant,
            needs_seller: open,
            order_version: t(version),
            details_version: details.map(t),
        }
    }

    #[test]
    fn selection_takes_new_orders_first_then_moved_ones_within_the_buckets_tokens() {
        let candidates = [
            candidate("moved", true, true, 12, Some(10)),
            candidate("fba", false, true, 10, None),
            candidate("shipped", true, false, 10, None),
            candidate("current", true, true, 10, Some(10)),
            candidate("new-late", true, true, 11, None),
            candidate("new-early", true, true, 9, None),
        ];
        assert_eq!(select(&candidates, None), ["new-early", "new-late", "moved"]);
        assert_eq!(select(&candidates, Some(2.7)), ["new-early", "new-late"]);
        assert!(
            select(&candidates, Some(0.4)).is_empty(),
            "an empty bucket waits for the next run"
        );
        let backlog: Vec<_> = (0..10_000)
            .map(|i| candidate(&i.to_string(), true, true, 10, None))
            .collect();
        assert_eq!(select(&backlog, Some(30.0)).len(), MAX_PER_RUN);
    }

    #[test]
    fn a_buyer_cancellation_request_keeps_a_shipped_order_a_candidate_and_fba_never_is() {
        let mut order = report_order("1", t(10));
        order.status = OrderStatus::Shipped;
        let details = OrderDetails {
            amazon_order_id: "1".into(),
            last_updated: t(9),
            fulfillment_status: "SHIPPED".into(),
            fulfilled_by: Some("MERCHANT".into()),
            ship_by: Default::default(),
            deliver_by: Default::default(),
            programs: vec![],
            purchase_order_number: None,
            items: vec![crate::domain::ShippableItem {
                order_item_id: "41".into(),
                cancellation_request: Some(Default::default()),
                ..Default::default()
            }],
            pii: PiiAvailability::Given,
        };
        assert!(Candidate::of(&order, Some(&details)).needs_seller);
        assert!(!Candidate::of(&order, None).needs_seller);
        order.fulfillment_channel = FulfillmentChannel::Afn;
        assert!(select(&[Candidate::of(&order, Some(&details))], None).is_empty());
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

        let first = enrich_account(&client, &seller, &store).await.unwrap();
        let second = enrich_account(&client, &seller, &store).await.unwrap();

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
