//! Issue 17 end to end against the sandbox's Orders API 2026-01-01: a seller's merchant orders imported from the
//! all-orders report are completed by the parser with getOrder (within the getOrder bucket), readable with item
//! ids and promises on the order route and with the full recipient on its own route; without the PII role the
//! recipient route answers 409; no PII value reaches the details.

mod api_support;

use api_support::{US, seller_spec, start};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

const FLAT: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";

async fn open_merchant_orders(api: &api_support::Api, id: &str) -> Vec<Value> {
    let page = api
        .get(&format!(
            "/accounts/{id}/orders?channel=MFN&status=Unshipped&limit=100"
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    page.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn imported_merchant_orders_are_completed_with_get_order_and_their_recipient_is_readable_apart() {
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(61, &[US], 40), "never").await;
    let requested = api
        .post(
            &format!("/accounts/{id}/reports"),
            json!({"reportType": FLAT, "dataStartTime": "2026-03-02T00:00:00Z", "dataEndTime": "2026-03-09T12:00:00Z"}),
        )
        .await;
    assert_eq!(requested.status, StatusCode::ACCEPTED, "{:?}", requested.body);
    let mut import = api.import.clone();
    import.settings.enrich_orders = true;
    api.advance(TimeDelta::minutes(2));
    for outcome in api.poll_and_parse_with(&import).await {
        outcome.expect("report imported");
    }

    let open = open_merchant_orders(&api, &id).await;
    assert!(!open.is_empty(), "the seed has unshipped merchant orders");
    let mut completed = 0;
    for listed in &open {
        let order_id = listed["amazonOrderId"].as_str().unwrap();
        let order = api.get(&format!("/accounts/{id}/orders/{order_id}")).await;
        let shipping = &order.body["shipping"];
        if shipping.is_null() {
            continue;
        }
        completed += 1;
        let items = shipping["items"].as_array().unwrap();
        assert!(
            !items.is_empty() && items.iter().all(|i| i["orderItemId"].is_string()),
            "{shipping}"
        );
        assert_eq!(shipping["fulfilledBy"], "MERCHANT");
        assert!(shipping["shipBy"]["latest"].is_string(), "{shipping}");
        let recipient = api
            .get(&format!("/accounts/{id}/orders/{order_id}/recipient"))
            .await;
        assert_eq!(recipient.status, StatusCode::OK, "{:?}", recipient.body);
        assert!(
            recipient.body["address"]["addressLine1"].is_string(),
            "{:?}",
            recipient.body
        );
    }
    assert!(
        completed > 0,
        "getOrder completed none of {} open orders",
        open.len()
    );

    // No PII value of the seller is on an order route.
    let pii = api.sandbox.pii_values(&seller.seller_id).unwrap();
    for listed in &open {
        let order_id = listed["amazonOrderId"].as_str().unwrap();
        let order = api
            .get(&format!("/accounts/{id}/orders/{order_id}"))
            .await
            .body
            .to_string();
        for value in &pii {
            assert!(!order.contains(value.as_str()), "PII on the order route");
        }
    }
}

#[tokio::test]
async fn without_the_pii_role_the_recipient_route_says_what_to_do() {
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(62, &[US], 20), "never").await;
    api.sandbox.set_pii_role(&seller.seller_id, false).unwrap();
    let requested = api
        .post(
            &format!("/accounts/{id}/reports"),
            json!({"reportType": FLAT, "dataStartTime": "2026-03-02T00:00:00Z", "dataEndTime": "2026-03-09T12:00:00Z"}),
        )
        .await;
    assert_eq!(requested.status, StatusCode::ACCEPTED, "{:?}", requested.body);
    let mut import = api.import.clone();
    import.settings.enrich_orders = true;
    api.advance(TimeDelta::minutes(2));
    for outcome in api.poll_and_parse_with(&import).await {
        outcome.expect("report imported");
    }

    let open = open_merchant_orders(&api, &id).await;
    let order_id = open
        .iter()
        .map(|o| o["amazonOrderId"].as_str().unwrap().to_owned())
        .find(|_| true)
        .expect("an open merchant order");
    let order = api.get(&format!("/accounts/{id}/orders/{order_id}")).await;
    assert_eq!(order.body["shipping"]["pii"], "withheld", "{:?}", order.body);
    let refused = api
        .get(&format!("/accounts/{id}/orders/{order_id}/recipient"))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
}
