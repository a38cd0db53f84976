//! Events end to end on the local stack: orders written to DynamoDB Local, its stream read the way the event
//! source mapping reads it (tests::runner::streams), published through the EventBridge adapter to moto's bus,
//! whose rule sends them to an SQS queue the test counts. The bus and its fake (`MemoryEventBus`) are held to
//! one contract.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoOrderStore;
use shared::adapters::eventbridge::EventBus;
use shared::domain::events::{AccountDetail, Event, EventDetail, EventKind, event_id};
use shared::domain::{
    BuyerPii, CancellationRequest, FulfillmentChannel, ItemAmounts, Order, OrderDetails, OrderItem, OrderPii,
    OrderStatus, ProblemKind, ShipTo, ShippableItem,
};
use shared::error::StoreError;
use shared::ports::{EventPublisher, OrderStore, PutOutcome};
use shared::testing::MemoryEventBus;
use tests::runner::streams::StreamSource;
use tests::stack::{LocalStack, Template, unique_prefix};

struct Setup {
    store: DynamoOrderStore,
    source: StreamSource,
    bus: EventBus,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

/// The stack's tables, a bus on moto with a rule for `source: sellersync` whose target is a queue.
async fn setup() -> Setup {
    let stack = LocalStack::from_env().await.unwrap();
    let prefix = unique_prefix("events");
    let resources = stack
        .provision(&Template::load().unwrap(), &prefix)
        .await
        .unwrap();
    let table = resources.get("OrdersTable").unwrap().to_owned();
    let events = stack.events.clone();
    // The template's bus, created by `provision`.
    let bus_name = resources.get("EventBus").unwrap().to_owned();
    let queue_url = stack
        .sqs
        .create_queue()
        .queue_name(format!("{prefix}-consumer"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!(
        "arn:aws:sqs:us-east-1:{}:{prefix}-consumer",
        tests::stack::LOCAL_ACCOUNT
    );
    events
        .put_rule()
        .name("all-sellersync")
        .event_bus_name(&bus_name)
        .event_pattern(r#"{"source": ["sellersync"]}"#)
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("all-sellersync")
        .event_bus_name(&bus_name)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    Setup {
        store: DynamoOrderStore::new(stack.dynamodb.clone(), &table),
        source: StreamSource::new(&stack, table),
        bus: EventBus::new(events, bus_name),
        sqs: stack.sqs.clone(),
        queue_url,
    }
}

/// Every message on the consumer queue, as delivered events.
async fn drain(setup: &Setup) -> Vec<serde_json::Value> {
    let mut events = vec![];
    loop {
        let output = setup
            .sqs
            .receive_message()
            .queue_url(&setup.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return events;
        }
        for message in messages {
            events.push(serde_json::from_str(message.body().unwrap()).unwrap());
            setup
                .sqs
                .delete_message()
                .queue_url(&setup.queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Account `a<n>`'s disconnection.
fn disconnected(n: usize) -> Event {
    let account_id = format!("a{n}");
    Event {
        kind: EventKind::AccountDisconnected,
        detail: EventDetail::Account(AccountDetail {
            event_id: event_id(EventKind::AccountDisconnected, &[&account_id]),
            account_id,
            cause: ProblemKind::RefreshTokenRevoked,
            since: "2026-11-02T10:00:00Z".parse().unwrap(),
        }),
    }
}

/// What a bus must do for the publisher: an empty call takes nothing, a call of more than ten entries is
/// refused whole, ten are all taken. Answers the events that must have arrived.
async fn bus_contract(bus: &dyn EventPublisher) -> Vec<Event> {
    assert_eq!(bus.publish(&[]).await.unwrap(), Vec::<usize>::new());
    let events: Vec<Event> = (0..11).map(disconnected).collect();
    assert!(
        bus.publish(&events).await.is_err(),
        "more than ten entries in one call"
    );
    assert_eq!(bus.publish(&events[..10]).await.unwrap(), Vec::<usize>::new());
    events[..10].to_vec()
}

/// An event as a rule's target gets it: its detail type and detail.
fn delivered(event: &Event) -> (String, serde_json::Value) {
    (
        event.kind.detail_type().to_owned(),
        serde_json::from_str(&event.detail_json()).unwrap(),
    )
}

#[tokio::test]
async fn the_bus_takes_ten_events_a_call_and_refuses_more_whole() {
    let setup = setup().await;
    let expected = bus_contract(&setup.bus).await;
    let mut arrived: Vec<(String, serde_json::Value)> = drain(&setup)
        .await
        .into_iter()
        .map(|event| {
            (
                event["detail-type"].as_str().unwrap().to_owned(),
                event["detail"].clone(),
            )
        })
        .collect();
    let mut expected: Vec<_> = expected.iter().map(delivered).collect();
    // A standard queue does not promise order.
    arrived.sort_by_key(|(_, detail)| detail.to_string());
    expected.sort_by_key(|(_, detail)| detail.to_string());
    assert_eq!(arrived, expected);
}

#[tokio::test]
async fn the_bus_fake_keeps_the_same_contract() {
    let bus = MemoryEventBus::default();
    let expected = bus_contract(&bus).await;
    assert_eq!(bus.events(), expected);
}

fn order(n: usize, updated: DateTime<Utc>, status: OrderStatus) -> Order {
    Order {
        amazon_order_id: format!("302-0000000-{n:07}").into(),
        merchant_order_id: None,
        purchase_date: "2026-11-01T09:00:00Z".parse().unwrap(),
        last_updated: updated,
        status,
        fulfillment_channel: FulfillmentChannel::Mfn,
        sales_channel: "Amazon.de".into(),
        marketplace_id: Some("A1PA6795UKMFR9".into()),
        ship_service_level: Some("Standard".into()),
        ship_to: ShipTo {
            city: Some("Berlin".into()),
            country: Some("DE".into()),
            ..ShipTo::default()
        },
        is_business_order: false,
        purchase_order_number: None,
        items: vec![OrderItem {
            sku: "SKU-1".into(),
            asin: "B000000001".into(),
            product_name: "Mug".into(),
            item_status: None,
            quantity: 1,
            // Empty: DynamoDB Local's GetRecords writes the empty map as `{}` (see runner::streams).
            amounts: ItemAmounts::default(),
            promotion_ids: vec![],
        }],
    }
}

/// A bus that takes the first `take` events through `inner` and then refuses everything, as a publisher that
/// crashes (or loses EventBridge) part-way through a batch.
#[derive(Debug)]
struct CrashAfter<'a> {
    take: usize,
    taken: AtomicUsize,
    inner: &'a EventBus,
}

#[async_trait]
impl EventPublisher for CrashAfter<'_> {
    async fn publish(&self, events: &[Event]) -> Result<Vec<usize>, StoreError> {
        let room = self
            .take
            .saturating_sub(self.taken.load(Ordering::SeqCst))
            .min(events.len());
        if room == 0 {
            return Err(StoreError::Unavailable {
                operation: "PutEvents",
                message: "the publisher crashed".into(),
            });
        }
        let failed = self.inner.publish(&events[..room]).await?;
        assert!(failed.is_empty(), "moto refused {failed:?}");
        self.taken.fetch_add(room, Ordering::SeqCst);
        Ok((room..events.len()).collect())
    }
}

#[tokio::test]
async fn each_order_is_created_once_changed_once_per_change_and_a_crash_loses_nothing() {
    const ORDERS: usize = 24;
    let mut setup = setup().await;
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    for n in 0..ORDERS {
        let new = order(n, t0, OrderStatus::Unshipped);
        assert_eq!(
            setup.store.put_order("acc-1", &new, false).await.unwrap(),
            PutOutcome::Written
        );
    }
    // A re-read of the same documents writes nothing.
    for n in 0..ORDERS {
        let again = order(n, t0, OrderStatus::Unshipped);
        assert_eq!(
            setup.store.put_order("acc-1", &again, false).await.unwrap(),
            PutOutcome::NotNewer
        );
    }
    // A later version with the same facts is written but changes nothing that matters; 5 orders ship.
    let t1 = t0 + TimeDelta::hours(1);
    for n in 0..3 {
        let same = order(n, t1, OrderStatus::Unshipped);
        assert_eq!(
            setup.store.put_order("acc-1", &same, false).await.unwrap(),
            PutOutcome::Written
        );
    }
    let t2 = t0 + TimeDelta::hours(2);
    for n in 10..15 {
        let shipped = order(n, t2, OrderStatus::Shipped);
        assert_eq!(
            setup.store.put_order("acc-1", &shipped, false).await.unwrap(),
            PutOutcome::Written
        );
    }

    // The publisher crashes after 7 events of the first batch: the stream position stays before the first
    // record not published.
    let crash = CrashAfter {
        take: 7,
        taken: AtomicUsize::new(0),
        inner: &setup.bus,
    };
    let first = setup.source.pump(&crash, 10, None).await.unwrap();
    assert_eq!(first.failed_batches, 1, "{first:?}");
    // Restarted, it publishes the rest; a third pump finds nothing new.
    let second = setup.source.pump(&setup.bus, 10, None).await.unwrap();
    assert_eq!(second.failed_batches, 0, "{second:?}");
    assert_eq!(second.records, ORDERS + 3 + 5 - 7, "{second:?}");
    let third = setup.source.pump(&setup.bus, 10, None).await.unwrap();
    assert_eq!(third.records, 0);

    let delivered = drain(&setup).await;
    let count = |detail_type: &str| {
        delivered
            .iter()
            .filter(|e| e["detail-type"] == detail_type)
            .count()
    };
    assert_eq!(count("Order Created"), ORDERS, "{delivered:#?}");
    assert_eq!(count("Order Changed"), 5);
    assert_eq!(delivered.len(), ORDERS + 5);
    let ids: BTreeSet<&str> = delivered
        .iter()
        .map(|e| e["detail"]["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), delivered.len(), "an event came twice");
    let mut created: BTreeMap<&str, usize> = BTreeMap::new();
    let mut versions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for event in &delivered {
        let detail = &event["detail"];
        assert_eq!(event["source"], "sellersync");
        let id = detail["amazonOrderId"].as_str().unwrap();
        if event["detail-type"] == "Order Created" {
            *created.entry(id).or_default() += 1;
        } else {
            assert_eq!(detail["changes"], serde_json::json!(["status"]));
            assert_eq!(detail["status"], "Shipped");
        }
        versions
            .entry(id)
            .or_default()
            .push(detail["lastUpdated"].as_str().unwrap());
        assert!(
            !event.to_string().contains("Berlin"),
            "PII-ish ship-to in {event}"
        );
    }
    assert!(created.values().all(|&n| n == 1));
    for (id, seen) in versions {
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "{id}: versions went back: {seen:?}"
        );
    }
}

fn details(n: usize, updated: DateTime<Utc>, requested: bool) -> OrderDetails {
    shared::testing::unshipped_details(
        &format!("302-0000000-{n:07}"),
        updated,
        vec![ShippableItem {
            order_item_id: "41".into(),
            sku: Some("SKU-1".into()),
            quantity_ordered: 1,
            quantity_left: 1,
            cancellation_request: requested.then(|| CancellationRequest {
                requester: Some("BUYER".into()),
                reason: Some("Jane ordered twice".into()),
            }),
            ..Default::default()
        }],
    )
}

/// What the Orders API adds, through real stream images: an order moved ahead of the reports and the report row
/// settling it (one `Order Changed`), the `getOrder` recipient (one recipient change, the same id as the
/// report's), a buyer's cancellation request seen in two answers (one `Order Cancellation Requested`).
#[tokio::test]
async fn the_orders_apis_answers_publish_each_change_once() {
    let mut setup = setup().await;
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    let t1 = t0 + TimeDelta::minutes(20);
    let store = &setup.store;
    store
        .put_order("acc-1", &order(1, t0, OrderStatus::Unshipped), false)
        .await
        .unwrap();
    let mut ahead = order(1, t1, OrderStatus::Cancelled);
    assert_eq!(
        store.put_order_ahead_of_reports("acc-1", &ahead).await.unwrap(),
        PutOutcome::Written
    );
    ahead.items[0].quantity = 0;
    assert_eq!(
        store.put_order("acc-1", &ahead, false).await.unwrap(),
        PutOutcome::Written,
        "the report row of the same version did not settle the copy ahead"
    );

    let pii = OrderPii {
        buyer: BuyerPii {
            amazon_order_id: "302-0000000-0000002".into(),
            buyer_name: Some("Jane Doe".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    store
        .put_order("acc-1", &order(2, t0, OrderStatus::Unshipped), false)
        .await
        .unwrap();
    let expiry = t0 + TimeDelta::days(30);
    store
        .put_order_details("acc-1", &details(2, t0, true), Some((&pii, expiry)))
        .await
        .unwrap();
    store
        .put_order_details("acc-1", &details(2, t1, true), Some((&pii, expiry)))
        .await
        .unwrap();

    let pumped = setup.source.pump(&setup.bus, 10, None).await.unwrap();
    assert_eq!(pumped.failed_batches, 0, "{pumped:?}");
    let delivered = drain(&setup).await;
    let kinds: Vec<(&str, &str, String)> = delivered
        .iter()
        .map(|e| {
            (
                e["detail-type"].as_str().unwrap(),
                e["detail"]["amazonOrderId"].as_str().unwrap(),
                e["detail"]["changes"].to_string(),
            )
        })
        .collect();
    let expected = [
        ("Order Created", "302-0000000-0000001", "null".to_owned()),
        ("Order Changed", "302-0000000-0000001", r#"["status"]"#.to_owned()),
        ("Order Created", "302-0000000-0000002", "null".to_owned()),
        (
            "Order Changed",
            "302-0000000-0000002",
            r#"["recipient"]"#.to_owned(),
        ),
        (
            "Order Cancellation Requested",
            "302-0000000-0000002",
            "null".to_owned(),
        ),
    ];
    let mut sorted = kinds.clone();
    sorted.sort();
    let mut wanted = expected.to_vec();
    wanted.sort();
    assert_eq!(sorted, wanted, "{delivered:#?}");
    for event in &delivered {
        assert!(!event.to_string().contains("Jane"), "PII in {event}");
    }
    let request = delivered
        .iter()
        .find(|e| e["detail-type"] == "Order Cancellation Requested")
        .unwrap();
    assert_eq!(
        request["detail"]["items"],
        serde_json::json!([{"orderItemId": "41", "sku": "SKU-1", "requester": "BUYER"}])
    );
}
