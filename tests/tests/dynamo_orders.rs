//! `DynamoOrderStore` against DynamoDB Local: conditional writes keep the newest copy of each order.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoOrderStore;
use shared::app::store_orders::merge_order_part;
use shared::domain::{
    FulfillmentChannel, ImportOptions, ItemAmounts, Order, OrderDetails, OrderItem, OrderPii, OrderStatus,
    PiiAvailability, ShipTo, ShippableItem, TimeWindow,
};
use shared::ports::{OrderQuery, OrderStore, PutOutcome};
use tests::stack::{LocalStack, Template, unique_prefix};

async fn store() -> DynamoOrderStore {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("orders"))
        .await
        .unwrap();
    DynamoOrderStore::new(stack.dynamodb.clone(), resources.get("OrdersTable").unwrap())
}

fn order(id: &str, updated: DateTime<Utc>, status: OrderStatus) -> Order {
    Order {
        amazon_order_id: id.into(),
        merchant_order_id: None,
        purchase_date: updated - TimeDelta::hours(1),
        last_updated: updated,
        status,
        fulfillment_channel: FulfillmentChannel::Mfn,
        sales_channel: "Amazon.com".into(),
        marketplace_id: Some("ATVPDKIKX0DER".into()),
        ship_service_level: None,
        ship_to: ShipTo::default(),
        is_business_order: false,
        purchase_order_number: None,
        items: vec![],
    }
}

#[tokio::test]
async fn an_order_is_written_when_new_or_newer_and_never_over_a_newer_copy() {
    let store = store().await;
    let t0: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let first = order("111-0000000-0000001", t0, OrderStatus::Unshipped);

    assert_eq!(
        store.put_order("acct", &first, false).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        store.put_order("acct", &first, false).await.unwrap(),
        PutOutcome::NotNewer
    );

    let older = order(
        "111-0000000-0000001",
        t0 - TimeDelta::minutes(5),
        OrderStatus::Pending,
    );
    assert_eq!(
        store.put_order("acct", &older, false).await.unwrap(),
        PutOutcome::NotNewer
    );

    let shipped = order(
        "111-0000000-0000001",
        t0 + TimeDelta::hours(3),
        OrderStatus::Shipped,
    );
    assert_eq!(
        store.put_order("acct", &shipped, true).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        store.get_order("acct", "111-0000000-0000001").await.unwrap(),
        Some(shipped)
    );
    assert_eq!(
        store.get_order("other", "111-0000000-0000001").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn only_if_stored_never_creates_an_order() {
    let store = store().await;
    let t0: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let filtered = order("111-0000000-0000002", t0, OrderStatus::Shipped);
    assert_eq!(
        store.put_order("acct", &filtered, true).await.unwrap(),
        PutOutcome::NotNewer
    );
    assert_eq!(
        store.get_order("acct", "111-0000000-0000002").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn versions_of_more_orders_than_one_batch_holds_are_all_returned() {
    let store = store().await;
    let t0: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let ids: Vec<String> = (0..150).map(|i| format!("111-0000000-{i:07}")).collect();
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let at = t0 + TimeDelta::seconds(i as i64);
        store
            .put_order("acct", &order(id, at, OrderStatus::Pending), false)
            .await
            .unwrap();
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let versions = store.order_versions("acct", &refs).await.unwrap();
    assert_eq!(versions.len(), 50);
    assert_eq!(
        versions["111-0000000-0000003"].last_updated,
        t0 + TimeDelta::seconds(3)
    );
    assert!(!versions.contains_key("111-0000000-0000001"));
}

#[tokio::test]
async fn a_split_order_is_merged_only_over_the_same_version_and_the_copy_it_read() {
    let store = store().await;
    let t0: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let first = order("111-0000000-0000009", t0, OrderStatus::Shipped);
    store.put_order("acct", &first, false).await.unwrap();
    let read = store
        .get_tokened_order("acct", "111-0000000-0000009")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.order, first);

    let mut merged = first.clone();
    merged.merchant_order_id = Some("merged".into());
    assert_eq!(
        store
            .merge_order("acct", &merged, read.token.as_deref())
            .await
            .unwrap(),
        PutOutcome::Written
    );
    let mut concurrent = first.clone();
    concurrent.merchant_order_id = Some("lost".into());
    assert_eq!(
        store
            .merge_order("acct", &concurrent, read.token.as_deref())
            .await
            .unwrap(),
        PutOutcome::NotNewer,
        "a merge over a copy written since it was read is refused"
    );
    let stale = order(
        "111-0000000-0000009",
        t0 - TimeDelta::minutes(1),
        OrderStatus::Pending,
    );
    let token = store
        .get_tokened_order("acct", "111-0000000-0000009")
        .await
        .unwrap()
        .unwrap()
        .token;
    assert_ne!(token, read.token, "every write stores a new token");
    assert_eq!(
        store.merge_order("acct", &stale, token.as_deref()).await.unwrap(),
        PutOutcome::NotNewer
    );
    assert_eq!(
        store.get_order("acct", "111-0000000-0000009").await.unwrap(),
        Some(merged)
    );
}

#[tokio::test]
async fn fba_shipment_lines_are_stored_once_by_shipment_item_id() {
    let store = store().await;
    let line: shared::domain::FbaShipmentItem = serde_json::from_value(serde_json::json!({
        "amazon_order_id": "111-0000000-0000010",
        "shipment_id": "D1",
        "shipment_item_id": "DX1",
        "amazon_order_item_id": "12345678901234",
        "purchase_date": "2026-11-01T10:00:00Z",
        "shipment_date": "2026-11-02T10:00:00Z",
        "sku": "MUG",
        "quantity_shipped": 1
    }))
    .unwrap();
    assert!(
        store
            .stored_shipment_items("acct", &[&line])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.put_shipment_item("acct", &line).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        store.put_shipment_item("acct", &line).await.unwrap(),
        PutOutcome::NotNewer
    );
    let stored = store.stored_shipment_items("acct", &[&line]).await.unwrap();
    assert_eq!(stored.into_iter().collect::<Vec<_>>(), ["DX1"]);
}

#[tokio::test]
async fn listing_pages_through_an_accounts_orders_and_skips_their_parts_and_other_accounts() {
    let store = store().await;
    let t0: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let ids: Vec<String> = (0..7).map(|i| format!("111-0000000-000000{i}")).collect();
    for id in &ids {
        store
            .put_order("acct", &order(id, t0, OrderStatus::Shipped), false)
            .await
            .unwrap();
        let buyer = shared::domain::BuyerPii {
            amazon_order_id: id.clone(),
            buyer_name: None,
            buyer_email: None,
            buyer_phone: None,
            ship_to: Default::default(),
            bill_to: None,
        };
        store
            .put_buyer("acct", &buyer, t0 + TimeDelta::days(30))
            .await
            .unwrap();
    }
    store
        .put_order(
            "other",
            &order("222-0000000-0000000", t0, OrderStatus::Shipped),
            false,
        )
        .await
        .unwrap();

    let mut listed = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = OrderQuery {
            limit: 3,
            after: after.take(),
            ..OrderQuery::default()
        };
        let page = store.list_orders("acct", &query).await.unwrap();
        pages += 1;
        listed.extend(page.items.into_iter().map(|o| o.amazon_order_id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(listed, ids);
    assert!(
        pages >= 3,
        "7 orders in pages of 3 take at least 3 pages, took {pages}"
    );
}

fn item(sku: &str) -> OrderItem {
    OrderItem {
        sku: sku.into(),
        asin: Default::default(),
        product_name: Default::default(),
        item_status: None,
        quantity: 1,
        amounts: ItemAmounts::default(),
        promotion_ids: vec![],
    }
}

/// Parts of one order, as concurrent parsers of a report that split its rows would merge them: 20 parts at once,
/// 25 times, half of them with the first part already stored and half onto nothing. A part whose merge fails
/// as retryable is merged again, as its message would be redelivered; in the end every part's item is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_merges_of_a_split_orders_parts_lose_no_item() {
    const PARTS: usize = 20;
    const TRIALS: usize = 25;
    const DELIVERIES: usize = 10;
    let store = std::sync::Arc::new(store().await);
    let options = ImportOptions::default();
    let t0: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let mut lost = Vec::new();
    for trial in 0..TRIALS {
        let id = format!("111-0000000-{:07}", 100 + trial);
        let part = |n: usize| {
            let mut part = order(&id, t0, OrderStatus::Shipped);
            part.items = vec![item(&format!("SKU-{n}"))];
            part
        };
        if trial % 2 == 0 {
            store.put_order("acct", &part(0), false).await.unwrap();
        }
        let first = usize::from(trial % 2 == 0);
        let merges = (first..=PARTS).map(|n| {
            let (store, options, part) = (store.clone(), options.clone(), part(n));
            tokio::spawn(async move {
                for _ in 0..DELIVERIES {
                    match merge_order_part(store.as_ref(), "acct", &options, part.clone()).await {
                        Ok(outcome) => return outcome,
                        Err(err) if err.is_retryable() => continue,
                        Err(err) => panic!("{err}"),
                    }
                }
                panic!("part {n} not merged after {DELIVERIES} deliveries");
            })
        });
        let outcomes: Vec<_> = futures::future::join_all(merges).await;
        let stored = store.get_order("acct", &id).await.unwrap().unwrap();
        let skus: BTreeSet<String> = stored.items.iter().map(|i| i.sku.to_string()).collect();
        let missing = (0..=PARTS)
            .filter(|n| !skus.contains(&format!("SKU-{n}")))
            .count();
        let unwritten = outcomes
            .into_iter()
            .filter(|o| o.as_ref().unwrap() != &Some(PutOutcome::Written))
            .count();
        if missing > 0 || unwritten > 0 {
            lost.push((trial, missing, unwritten));
        }
    }
    assert!(
        lost.is_empty(),
        "(trial, items lost, parts not answered Written) of {TRIALS} trials: {lost:?}"
    );
}

fn details(id: &str, updated: DateTime<Utc>, status: &str, recipient: &str) -> (OrderDetails, OrderPii) {
    let details = OrderDetails {
        amazon_order_id: id.into(),
        last_updated: updated,
        fulfillment_status: status.into(),
        fulfilled_by: Some("MERCHANT".into()),
        ship_by: TimeWindow::default(),
        deliver_by: TimeWindow::default(),
        programs: vec![],
        purchase_order_number: None,
        items: vec![ShippableItem {
            order_item_id: "11111111111111".into(),
            sku: Some("SKU-1".into()),
            ..ShippableItem::default()
        }],
        pii: PiiAvailability::Given,
    };
    let mut pii = OrderPii::default();
    pii.buyer.amazon_order_id = id.into();
    pii.buyer.ship_to.name = Some(recipient.into());
    (details, pii)
}

/// Two parsers enriching one order at once: the newer getOrder answer stays, whichever write comes last, in the
/// DynamoDB store and in its in-memory fake alike (fails with an unconditional put: the older answer wins).
#[tokio::test]
async fn order_details_and_their_pii_are_never_written_over_newer_ones() {
    let dynamo = store().await;
    let memory = shared::testing::MemoryOrderStore::default();
    let stores: [&dyn OrderStore; 2] = [&dynamo, &memory];
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    let expiry = t0 + TimeDelta::days(30);
    for store in stores {
        let (newer, newer_pii) = details("114-1", t0 + TimeDelta::hours(2), "PARTIALLY_SHIPPED", "New Name");
        let (older, older_pii) = details("114-1", t0 + TimeDelta::hours(1), "UNSHIPPED", "Old Name");
        store
            .put_order_details("acc-d", &newer, Some((&newer_pii, expiry)))
            .await
            .unwrap();
        store
            .put_order_details("acc-d", &older, Some((&older_pii, expiry)))
            .await
            .unwrap();
        let stored = store.get_order_details("acc-d", "114-1").await.unwrap().unwrap();
        assert_eq!(stored.fulfillment_status, "PARTIALLY_SHIPPED");
        assert_eq!(stored.last_updated, newer.last_updated);
        let (pii, _) = store.get_order_pii("acc-d", "114-1").await.unwrap().unwrap();
        assert_eq!(pii.buyer.ship_to.name.as_deref(), Some("New Name"));
    }
}

/// The same rules from the DynamoDB store and its in-memory fake: a copy `getOrder` moved ahead of the reports
/// is replaced by the report row of its own version (the lines as Amazon settled them), any other copy only by
/// a newer version; moving ahead never creates an order nor goes back.
async fn a_copy_ahead_of_the_reports_yields_to_the_report_row_of_its_version(store: &dyn OrderStore) {
    let t0: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let t1 = t0 + TimeDelta::minutes(30);
    let id = "111-0000000-0000077";
    let mut unshipped = order(id, t0, OrderStatus::Unshipped);
    unshipped.items = vec![item("SKU-1")];
    assert_eq!(
        store
            .put_order_ahead_of_reports("acct", &order(id, t1, OrderStatus::Cancelled))
            .await
            .unwrap(),
        PutOutcome::NotNewer,
        "moving ahead created an order"
    );
    store.put_order("acct", &unshipped, false).await.unwrap();

    // getOrder says Cancelled at t1; the lines are still the t0 report's.
    let mut ahead = unshipped.clone();
    ahead.status = OrderStatus::Cancelled;
    ahead.last_updated = t1;
    assert_eq!(
        store.put_order_ahead_of_reports("acct", &ahead).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        store.put_order_ahead_of_reports("acct", &ahead).await.unwrap(),
        PutOutcome::NotNewer,
        "moved ahead to the same version twice"
    );
    assert_eq!(
        store.put_order("acct", &unshipped, false).await.unwrap(),
        PutOutcome::NotNewer,
        "an older report row went back over the copy ahead"
    );
    let versions = store.order_versions("acct", &[id]).await.unwrap();
    assert_eq!(versions[id].last_updated, t1);
    assert!(versions[id].ahead_of_reports);
    assert!(
        store
            .get_tokened_order("acct", id)
            .await
            .unwrap()
            .unwrap()
            .ahead_of_reports
    );

    // The t1 report row: cancelled lines show 0 units. It replaces the copy ahead, and then nothing of t1 does.
    let mut cancelled = ahead.clone();
    cancelled.items[0].quantity = 0;
    assert_eq!(
        store.put_order("acct", &cancelled, true).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        store.get_order("acct", id).await.unwrap(),
        Some(cancelled.clone())
    );
    let versions = store.order_versions("acct", &[id]).await.unwrap();
    assert!(!versions[id].ahead_of_reports);
    assert_eq!(
        store.put_order("acct", &ahead, false).await.unwrap(),
        PutOutcome::NotNewer
    );
    assert_eq!(
        store.put_order_ahead_of_reports("acct", &ahead).await.unwrap(),
        PutOutcome::NotNewer
    );

    // An order no report brought yet, as getOrder tells it: created only where nothing is stored, ahead of the
    // reports, and the report row of its version replaces it.
    let fresh_id = "111-0000000-0000079";
    let mut fresh = order(fresh_id, t1, OrderStatus::Unshipped);
    fresh.items = vec![item("SKU-3")];
    assert_eq!(
        store.create_order_ahead_of_reports("acct", &fresh).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(
        store.create_order_ahead_of_reports("acct", &fresh).await.unwrap(),
        PutOutcome::NotNewer,
        "created twice"
    );
    assert_eq!(
        store
            .create_order_ahead_of_reports("acct", &cancelled)
            .await
            .unwrap(),
        PutOutcome::NotNewer,
        "created over a stored order"
    );
    assert!(store.order_versions("acct", &[fresh_id]).await.unwrap()[fresh_id].ahead_of_reports);
    let mut row = fresh.clone();
    row.items[0].amounts = ItemAmounts::default();
    row.ship_service_level = Some("Standard".into());
    assert_eq!(
        store.put_order("acct", &row, false).await.unwrap(),
        PutOutcome::Written
    );
    assert_eq!(store.get_order("acct", fresh_id).await.unwrap(), Some(row));

    // A split order's first part at the version of a copy ahead replaces the copy instead of merging into it.
    let other = "111-0000000-0000078";
    let mut first = order(other, t0, OrderStatus::Unshipped);
    first.items = vec![item("SKU-1")];
    store.put_order("acct", &first, false).await.unwrap();
    let mut moved = first.clone();
    moved.status = OrderStatus::Cancelled;
    moved.last_updated = t1;
    store.put_order_ahead_of_reports("acct", &moved).await.unwrap();
    let mut part = moved.clone();
    part.items = vec![item("SKU-2")];
    merge_order_part(store, "acct", &ImportOptions::default(), part.clone())
        .await
        .unwrap();
    assert_eq!(store.get_order("acct", other).await.unwrap(), Some(part));
}

#[tokio::test]
async fn a_copy_ahead_of_the_reports_yields_to_the_report_row_of_its_version_in_dynamodb_and_the_fake() {
    a_copy_ahead_of_the_reports_yields_to_the_report_row_of_its_version(&store().await).await;
    a_copy_ahead_of_the_reports_yields_to_the_report_row_of_its_version(
        &shared::testing::MemoryOrderStore::default(),
    )
    .await;
}

/// The same listing from the DynamoDB store's `to-ship` index and from the fake: open merchant orders by latest
/// ship date (none last), paged, by marketplace; an order the reports moved on (stale details) is left out.
async fn orders_to_ship_come_by_latest_ship_date(store: &dyn OrderStore) {
    let t0: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let ship_by = |hours: i64| Some(t0 + TimeDelta::hours(hours));
    // id, marketplace, ship-by, stored status
    let orders = [
        (
            "111-0000000-0000201",
            "ATVPDKIKX0DER",
            ship_by(30),
            OrderStatus::Unshipped,
        ),
        (
            "111-0000000-0000202",
            "ATVPDKIKX0DER",
            ship_by(10),
            OrderStatus::PartiallyShipped,
        ),
        (
            "111-0000000-0000203",
            "A2EUQ1WTGCTBG2",
            ship_by(20),
            OrderStatus::Unshipped,
        ),
        (
            "111-0000000-0000204",
            "ATVPDKIKX0DER",
            None,
            OrderStatus::Unshipped,
        ),
        (
            "111-0000000-0000205",
            "ATVPDKIKX0DER",
            ship_by(5),
            OrderStatus::Shipped,
        ),
        (
            "111-0000000-0000206",
            "ATVPDKIKX0DER",
            ship_by(15),
            OrderStatus::Unshipped,
        ),
    ];
    for (id, marketplace, latest, status) in &orders {
        let mut stored = order(id, t0, status.clone());
        stored.marketplace_id = Some((*marketplace).into());
        store.put_order("acct", &stored, false).await.unwrap();
        let (mut details, _) = details(id, t0, "UNSHIPPED", "");
        details.ship_by.latest = *latest;
        store.put_order_details("acct", &details, None).await.unwrap();
    }
    // Details that no longer need shipping leave the index.
    let (shipped, _) = details("111-0000000-0000206", t0 + TimeDelta::hours(1), "SHIPPED", "");
    store.put_order_details("acct", &shipped, None).await.unwrap();

    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..10 {
        let page = store
            .orders_to_ship("acct", None, 2, after.as_deref())
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(
            page.items
                .into_iter()
                .map(|(o, d)| (o.amazon_order_id.to_string(), d.ship_by.latest)),
        );
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    let ids: Vec<&str> = seen.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "111-0000000-0000202",
            "111-0000000-0000203",
            "111-0000000-0000201",
            "111-0000000-0000204"
        ]
    );
    let us = store
        .orders_to_ship("acct", Some("ATVPDKIKX0DER"), 100, None)
        .await
        .unwrap();
    let ids: Vec<String> = us
        .items
        .iter()
        .map(|(o, _)| o.amazon_order_id.to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "111-0000000-0000202",
            "111-0000000-0000201",
            "111-0000000-0000204"
        ]
    );
    assert_eq!(us.next, None);
    assert!(
        store
            .orders_to_ship("other", None, 100, None)
            .await
            .unwrap()
            .items
            .is_empty(),
        "another account's orders"
    );
}

#[tokio::test]
async fn orders_to_ship_come_by_latest_ship_date_in_dynamodb_and_the_fake() {
    orders_to_ship_come_by_latest_ship_date(&store().await).await;
    orders_to_ship_come_by_latest_ship_date(&shared::testing::MemoryOrderStore::default()).await;
}

/// The same awaiting-details marks from the DynamoDB store's `details-due` index and from the fake: a report's
/// write of an open merchant order marks it (FBA, shipped and cancelled orders never are), oldest or newest first;
/// the mark is cleared only up to the version whose details are stored, so a newer copy written meanwhile keeps
/// it; a copy `getOrder` moved ahead is written unmarked, and the report row of its version marks it again;
/// the details' versions a run compares with come in batches.
async fn orders_awaiting_details_are_marked_until_details_of_their_version_are_stored(
    store: &dyn OrderStore,
) {
    let t0: DateTime<Utc> = "2026-11-01T10:00:00Z".parse().unwrap();
    let at = |minutes: i64| t0 + TimeDelta::minutes(minutes);
    let put = |order: Order| async move { store.put_order("acct", &order, false).await.unwrap() };
    put(order("A-early", at(1), OrderStatus::Unshipped)).await;
    put(order("B-pending", at(2), OrderStatus::Pending)).await;
    put(order("C-partly", at(3), OrderStatus::PartiallyShipped)).await;
    put(order("D-shipped", at(4), OrderStatus::Shipped)).await;
    put(order("E-cancelled", at(5), OrderStatus::Cancelled)).await;
    let mut fba = order("F-fba", at(6), OrderStatus::Unshipped);
    fba.fulfillment_channel = FulfillmentChannel::Afn;
    put(fba).await;
    put(order("G-late", at(7), OrderStatus::Unshipped)).await;
    let mut other = order("H-other", at(8), OrderStatus::Unshipped);
    other.amazon_order_id = "H-other".into();
    store.put_order("another", &other, false).await.unwrap();

    let ids = |marked: Vec<(String, DateTime<Utc>)>| -> Vec<String> {
        marked.into_iter().map(|(id, _)| id).collect()
    };
    let oldest = store.orders_awaiting_details("acct", 10, false).await.unwrap();
    assert_eq!(
        oldest,
        [
            ("A-early".to_owned(), at(1)),
            ("B-pending".to_owned(), at(2)),
            ("C-partly".to_owned(), at(3)),
            ("G-late".to_owned(), at(7)),
        ]
    );
    assert_eq!(
        ids(store.orders_awaiting_details("acct", 2, true).await.unwrap()),
        ["G-late", "C-partly"]
    );

    // Details of an older version do not clear a newer copy's mark; details of its version do.
    put(order("A-early", at(9), OrderStatus::Unshipped)).await;
    store
        .clear_awaiting_details("acct", "A-early", at(1))
        .await
        .unwrap();
    assert_eq!(
        store.orders_awaiting_details("acct", 1, true).await.unwrap(),
        [("A-early".to_owned(), at(9))]
    );
    store
        .clear_awaiting_details("acct", "A-early", at(9))
        .await
        .unwrap();
    // Clearing twice, or an order never marked or never stored, is not an error.
    store
        .clear_awaiting_details("acct", "A-early", at(9))
        .await
        .unwrap();
    store
        .clear_awaiting_details("acct", "D-shipped", at(9))
        .await
        .unwrap();
    store
        .clear_awaiting_details("acct", "nothing", at(9))
        .await
        .unwrap();
    assert_eq!(
        ids(store.orders_awaiting_details("acct", 10, false).await.unwrap()),
        ["B-pending", "C-partly", "G-late"]
    );

    // Shipped: the report's write leaves no mark.
    put(order("C-partly", at(10), OrderStatus::Shipped)).await;
    // Moved ahead by getOrder (details of that version stored with it): unmarked; the report row of that
    // version marks it again, and its details being current, the next run clears it without a call.
    let ahead = order("G-late", at(11), OrderStatus::Unshipped);
    store.put_order_ahead_of_reports("acct", &ahead).await.unwrap();
    assert_eq!(
        ids(store.orders_awaiting_details("acct", 10, false).await.unwrap()),
        ["B-pending"]
    );
    put(ahead).await;
    assert_eq!(
        store.orders_awaiting_details("acct", 10, true).await.unwrap(),
        [("G-late".to_owned(), at(11)), ("B-pending".to_owned(), at(2))]
    );
    assert_eq!(
        ids(store.orders_awaiting_details("another", 10, false).await.unwrap()),
        ["H-other"]
    );

    // The details' versions, read in batches (more ids than one BatchGetItem takes), only of orders with some.
    let (answer, _) = details("B-pending", at(2), "PENDING", "Erika");
    store.put_order_details("acct", &answer, None).await.unwrap();
    let mut wanted: Vec<String> = (0..120).map(|i| format!("none-{i}")).collect();
    // Named twice, as the two ends of a short list of marks name the same orders.
    wanted.push("B-pending".into());
    wanted.push("B-pending".into());
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let versions = store.details_versions("acct", &wanted).await.unwrap();
    assert_eq!(
        versions,
        std::collections::HashMap::from([("B-pending".to_owned(), at(2))])
    );
    assert!(
        store
            .details_versions("another", &wanted)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn orders_awaiting_details_are_marked_until_details_of_their_version_are_stored_in_dynamodb_and_the_fake()
 {
    orders_awaiting_details_are_marked_until_details_of_their_version_are_stored(&store().await).await;
    orders_awaiting_details_are_marked_until_details_of_their_version_are_stored(
        &shared::testing::MemoryOrderStore::default(),
    )
    .await;
}
