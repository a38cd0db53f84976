//! Issue 17's whole path through the local runner: a seller with 300 merchant-fulfilled orders in 3
//! marketplaces is imported (schedule ticks, the report poller, the parse queue, getOrder completing the open
//! orders every minute), and a warehouse works from what the HTTP API shows: every unshipped order's item ids and
//! full recipient, a partial shipment by order item id and the rest by SKU, a buyer's cancellation request
//! answered with `BuyerCanceled`, an Amazon Custom order's `customizedUrl`. Amazon (the sandbox) sees the order
//! partially shipped, then shipped, and the cancellation accepted; the stored orders end equal to Amazon's,
//! re-reading every report writes nothing, and the run's log holds no buyer or recipient data.

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::logs::CapturedLogs;
use tests::runner::scenario::{Scenario, ScenarioSettings};
use tests::sandbox::{OrderState, SandboxOrder};
use tests::stack::LocalStack;

struct Http {
    client: reqwest::Client,
    account: String,
}

impl Http {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.account))
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.account))
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

/// Runs the functions for `hours` of simulated time, then until nothing is left in flight.
async fn run_for(scenario: &mut Scenario, hours: i64) {
    let end = scenario.runner.clock().now() + TimeDelta::hours(hours);
    scenario
        .runner
        .run_until(end, std::time::Duration::from_millis(20))
        .await
        .unwrap();
    scenario
        .runner
        .settle(TimeDelta::hours(6), std::time::Duration::from_millis(20))
        .await
        .unwrap();
}

fn at_amazon(scenario: &Scenario, order_id: &str) -> SandboxOrder {
    scenario
        .sandbox
        .order(&scenario.seller.seller_id, order_id)
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_hundred_merchant_orders_are_shipped_and_cancelled_from_what_the_api_shows() {
    let logs = CapturedLogs::install().unwrap();
    let stack = LocalStack::with_own_dynamodb().await.unwrap();
    let mut scenario = Scenario::start(
        stack,
        ScenarioSettings {
            seed: 17,
            orders: 300,
            history: TimeDelta::days(2),
            arrivals: TimeDelta::hours(2),
            merchant_only: true,
            ..ScenarioSettings::default()
        },
    )
    .await
    .unwrap();
    scenario.run_to_the_end().await.unwrap();
    let comparison = scenario.compare().await.unwrap();
    assert_eq!(comparison.truth, 300, "{comparison:?}");
    assert!(comparison.is_exact(), "{comparison:?}");

    let (base, server) = scenario.runner.serve_api(0).await.unwrap();
    let api = Http {
        client: reqwest::Client::new(),
        account: format!("{base}/accounts/{}", scenario.account_id),
    };
    let seller_id = scenario.seller.seller_id.clone();
    let unshipped: Vec<SandboxOrder> = scenario
        .sandbox
        .orders(&seller_id)
        .unwrap()
        .into_iter()
        .filter(|o| o.status == OrderState::Unshipped)
        .collect();
    let marketplaces: BTreeSet<&str> = unshipped.iter().map(|o| o.marketplace_id.as_str()).collect();
    assert!(unshipped.len() >= 200, "{} unshipped", unshipped.len());
    assert_eq!(marketplaces.len(), 3, "{marketplaces:?}");

    // Every unshipped order: its item ids as Amazon has them, and its full recipient on its own route.
    let mut custom = None;
    let mut requested = None;
    let mut to_ship = None;
    for order in &unshipped {
        let id = &order.amazon_order_id;
        let (status, shown) = api.get(&format!("/orders/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        let items = shown["shipping"]["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{id} not completed with getOrder: {shown}"));
        let shown_ids: BTreeSet<&str> = items.iter().map(|i| i["orderItemId"].as_str().unwrap()).collect();
        let amazon_ids: BTreeSet<&str> = order.items.iter().map(|i| i.order_item_id.as_str()).collect();
        assert_eq!(shown_ids, amazon_ids, "{id}");
        let (status, recipient) = api.get(&format!("/orders/{id}/recipient")).await;
        assert_eq!(status, StatusCode::OK, "{id}: {recipient}");
        let address = &recipient["address"];
        for field in ["name", "addressLine1", "city", "postalCode", "countryCode"] {
            assert!(
                address[field].as_str().is_some_and(|v| !v.is_empty()),
                "{id}: no {field}"
            );
        }
        if custom.is_none()
            && let Some(url) = recipient["customizedUrls"][0]["value"].as_str()
        {
            custom = Some(url.to_owned());
        }
        let asked = items.iter().any(|i| i["cancellationRequest"].is_object());
        let skus: BTreeSet<&str> = order.items.iter().map(|i| i.sku.as_str()).collect();
        let units: u32 = order.items.iter().map(|i| i.quantity).sum();
        if asked {
            requested = requested.or(Some(order.clone()));
        } else if to_ship.is_none() && units >= 2 && skus.len() == order.items.len() {
            to_ship = Some(order.clone());
        }
    }
    let url = custom.expect("an Amazon Custom order among the unshipped ones");
    assert!(url.starts_with("https://") && url.ends_with(".zip"), "{url}");
    let requested = requested.expect("an order with a buyer's cancellation request");
    let to_ship = to_ship.expect("an order of 2 or more units with distinct SKUs");

    // A partial shipment by order item id, then the rest by SKU; the buyer's request answered.
    let first = &to_ship.items[0];
    let path = |order: &SandboxOrder, action: &str| format!("/orders/{}/{action}", order.amazon_order_id);
    let (status, body) = api
        .post(
            &path(&to_ship, "shipments"),
            json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784",
                   "items": [{"orderItemId": first.order_item_id, "quantity": 1}]}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = api.post(&path(&requested, "cancel"), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["request"]["reason"], "BuyerCanceled", "{body}");
    run_for(&mut scenario, 3).await;

    let partly = at_amazon(&scenario, &to_ship.amazon_order_id);
    assert_eq!(partly.status, OrderState::Unshipped, "partially shipped");
    assert_eq!(partly.shipments.len(), 1, "{:?}", partly.shipments);
    let shipped_units: BTreeMap<&str, u32> = partly.shipments[0]
        .items
        .iter()
        .map(|i| (i.order_item_id.as_str(), i.quantity))
        .collect();
    assert_eq!(shipped_units, BTreeMap::from([(first.order_item_id.as_str(), 1)]));
    let (_, shown) = api.get(&format!("/orders/{}", to_ship.amazon_order_id)).await;
    assert_eq!(
        shown["shipping"]["fulfillmentStatus"], "PARTIALLY_SHIPPED",
        "{shown}"
    );
    let cancelled = at_amazon(&scenario, &requested.amazon_order_id);
    assert_eq!(cancelled.status, OrderState::Cancelled);
    assert!(
        cancelled.cancellations[0]
            .items
            .iter()
            .all(|i| i.cancel_reason.as_deref() == Some("BuyerCanceled")),
        "{:?}",
        cancelled.cancellations
    );

    let rest: Vec<Value> = to_ship
        .items
        .iter()
        .map(|item| {
            let left = if item.order_item_id == first.order_item_id {
                item.quantity - 1
            } else {
                item.quantity
            };
            json!({"sku": item.sku, "quantity": left})
        })
        .filter(|line| line["quantity"] != 0)
        .collect();
    let (status, body) = api
        .post(
            &path(&to_ship, "shipments"),
            json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456785", "items": rest}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    run_for(&mut scenario, 26).await;
    let shipped = at_amazon(&scenario, &to_ship.amazon_order_id);
    assert_eq!(shipped.status, OrderState::Shipped, "{:?}", shipped.shipments);
    assert_eq!(shipped.shipments.len(), 2);

    // What sellersync stores is still exactly Amazon's, and a second read of every report writes nothing.
    scenario.runner.pump_streams().await.unwrap();
    let after = scenario.compare().await.unwrap();
    assert!(after.is_exact(), "{after:?}");
    let (reports, written) = scenario.reimport_everything().await.unwrap();
    assert!(reports > 5, "{reports} reports");
    assert_eq!(
        written, 0,
        "importing {reports} reports again wrote {written} records"
    );
    server.abort();

    // The run's log names none of the buyers, recipients, streets, phones or e-mails Amazon gave.
    let log = logs.text();
    assert!(
        log.contains("orders completed with getOrder"),
        "{} bytes of log",
        log.len()
    );
    let pii = scenario.sandbox.pii_values(&seller_id).unwrap();
    assert!(pii.len() > 100, "{} PII values", pii.len());
    let leaked = pii.iter().filter(|value| log.contains(value.as_str())).count();
    assert_eq!(leaked, 0, "{leaked} PII values in the log");
}
