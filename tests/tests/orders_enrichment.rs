//! Issue 17 end to end against the sandbox's Orders API 2026-01-01: a seller's merchant orders imported from the
//! all-orders report are completed by the parser with getOrder (within the getOrder bucket), readable with item
//! ids and promises on the order route and with the full recipient on its own route; without the PII role the
//! recipient route answers 409; no PII value reaches the details.

mod api_support;

use api_support::{US, processor, seller_spec, start, submit_and_settle};
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
    import_enriched(&api, &id).await;

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

    // The warehouse's list: every completed open order, latest ship date soonest first, with its details.
    let mut listed = Vec::new();
    let mut token = String::new();
    loop {
        let page = api
            .get(&format!(
                "/accounts/{id}/orders?needsShipping=true&limit=7{token}"
            ))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        listed.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["nextToken"].as_str() {
            Some(next) => token = format!("&nextToken={next}"),
            None => break,
        }
    }
    assert_eq!(listed.len(), completed, "{listed:#?}");
    let ship_by: Vec<&str> = listed
        .iter()
        .map(|o| o["shipping"]["shipBy"]["latest"].as_str().unwrap())
        .collect();
    assert!(ship_by.windows(2).all(|w| w[0] <= w[1]), "{ship_by:?}");
    assert!(listed.iter().all(|o| o["fulfillmentChannel"] == "MFN"
        && ["Unshipped", "PartiallyShipped"].contains(&o["status"].as_str().unwrap())));
    let mixed = api
        .get(&format!(
            "/accounts/{id}/orders?needsShipping=true&status=Shipped"
        ))
        .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST, "{:?}", mixed.body);
    assert_eq!(mixed.body["error"]["field"], "status");
    let unclear = api.get(&format!("/accounts/{id}/orders?needsShipping=yes")).await;
    assert_eq!(unclear.status, StatusCode::BAD_REQUEST, "{:?}", unclear.body);
    assert_eq!(unclear.body["error"]["field"], "needsShipping");

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
    import_enriched(&api, &id).await;

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

/// Imports the seller's orders of the first March week with enrichment on.
async fn import_enriched(api: &api_support::Api, id: &str) {
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
}

/// The SKU of a line no other line of the order has, with its order item id.
fn unique_sku(shipping: &Value) -> Option<(String, String)> {
    let items = shipping["items"].as_array()?;
    items.iter().find_map(|item| {
        let sku = item["sku"].as_str()?;
        let same = items.iter().filter(|i| i["sku"] == item["sku"]).count();
        let line = item["orderItemId"].as_str()?;
        (same == 1).then(|| (sku.to_owned(), line.to_owned()))
    })
}

#[tokio::test]
async fn a_line_ships_by_sku_and_a_buyers_cancellation_request_is_answered_with_buyer_canceled() {
    let api = start().await;
    let mut spec = seller_spec(63, &[US], 60);
    spec.afn_share = 0.0;
    let (seller, id) = api.connect(spec, "never").await;
    import_enriched(&api, &id).await;

    // Enriched open orders: one with 2 or more units and no request to ship a unit of by SKU, one with a
    // buyer's cancellation request, one without to cancel with no reason.
    let mut to_ship = None;
    let mut requested = None;
    let mut unrequested = None;
    for listed in open_merchant_orders(&api, &id).await {
        let order_id = listed["amazonOrderId"].as_str().unwrap().to_owned();
        let order = api.get(&format!("/accounts/{id}/orders/{order_id}")).await.body;
        let shipping = &order["shipping"];
        let Some(items) = shipping["items"].as_array() else {
            continue;
        };
        let asked = items.iter().any(|i| i["cancellationRequest"].is_object());
        let units: u64 = items.iter().map(|i| i["quantityOrdered"].as_u64().unwrap()).sum();
        match unique_sku(shipping) {
            _ if asked => requested = requested.or(Some(order_id)),
            Some(line) if units >= 2 && to_ship.is_none() => to_ship = Some((order_id, line)),
            _ => unrequested = unrequested.or(Some(order_id)),
        }
    }
    let (shipped, (sku, line)) = to_ship.expect("an enriched order of 2 or more units");
    let requested = requested.expect("an enriched order with a buyer's cancellation request");
    let unrequested = unrequested.expect("another enriched order");
    let path = |order: &str, action: &str| format!("/accounts/{id}/orders/{order}/{action}");

    let ship = api
        .post(
            &path(&shipped, "shipments"),
            json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784",
                   "items": [{"sku": sku, "quantity": 1}],
                   "shipFrom": {"name": "Warehouse East", "addressLine1": "1 Dock Rd", "city": "Newark",
                                "stateOrRegion": "NJ", "postalCode": "07114", "countryCode": "US"}}),
        )
        .await;
    assert_eq!(ship.status, StatusCode::ACCEPTED, "{:?}", ship.body);
    assert_eq!(
        ship.body["request"]["items"]["items"][0]["orderItemId"],
        line.as_str(),
        "{:?}",
        ship.body
    );
    let refusals = [
        (
            path(&shipped, "shipments"),
            json!({"carrierCode": "UPS", "items": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}),
            StatusCode::BAD_REQUEST,
            "items[0].sku",
        ),
        (
            path(&shipped, "shipments"),
            json!({"carrierCode": "UPS", "items": [{"sku": sku, "orderItemId": line, "quantity": 1}]}),
            StatusCode::BAD_REQUEST,
            "items[0].orderItemId",
        ),
        (
            path(&shipped, "shipments"),
            json!({"carrierCode": "UPS", "items": [{"sku": sku}]}),
            StatusCode::BAD_REQUEST,
            "items[0].quantity",
        ),
        (
            path(&unrequested, "cancel"),
            json!({}),
            StatusCode::BAD_REQUEST,
            "reason",
        ),
    ];
    for (route, body, status, field) in refusals {
        let refused = api.post(&route, body.clone()).await;
        assert_eq!(refused.status, status, "{body}: {:?}", refused.body);
        assert_eq!(
            refused.body["error"]["field"], field,
            "{body}: {:?}",
            refused.body
        );
    }
    let cancel = api.post(&path(&requested, "cancel"), json!({})).await;
    assert_eq!(cancel.status, StatusCode::ACCEPTED, "{:?}", cancel.body);
    assert_eq!(
        cancel.body["request"]["reason"], "BuyerCanceled",
        "{:?}",
        cancel.body
    );

    let feeds = processor(&api, api.state.clone());
    submit_and_settle(&api, &feeds).await;
    let at_amazon = |order: &str| api.sandbox.order(&seller.seller_id, order).unwrap().unwrap();
    let shipments = at_amazon(&shipped).shipments;
    assert_eq!(shipments.len(), 1, "{shipments:?}");
    assert_eq!(
        shipments[0].ship_from,
        Some(("US".to_owned(), Some("07114".to_owned())))
    );
    assert_eq!(
        (
            shipments[0].items[0].order_item_id.as_str(),
            shipments[0].items[0].quantity
        ),
        (line.as_str(), 1)
    );
    let cancellations = at_amazon(&requested).cancellations;
    assert_eq!(cancellations.len(), 1, "{cancellations:?}");
    assert!(
        cancellations[0]
            .items
            .iter()
            .all(|i| i.cancel_reason.as_deref() == Some("BuyerCanceled")),
        "{cancellations:?}"
    );
    for (order, actions) in [(&shipped, "shipments"), (&requested, "cancellations")] {
        let view = api.get(&format!("/accounts/{id}/orders/{order}")).await.body;
        let states: Vec<&str> = view[actions]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["state"].as_str().unwrap())
            .collect();
        assert_eq!(states, ["accepted"], "{view}");
    }
}
