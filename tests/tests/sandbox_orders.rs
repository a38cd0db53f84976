//! The sandbox's Orders API v2026-01-01 over real HTTP: getOrder and searchOrders agree with the reports, page
//! through every order once, show the `includedData` blocks asked for, withhold PII without the role (Amazon's
//! "Access Orders PII" page), throttle beyond the burst and show shipments fed through feeds.

mod sandbox_support;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use sandbox_support::{DE, FR, Harness, US, epoch, harness, harness_with, read_tsv, spec};
use serde_json::{Value, json};
use tests::sandbox::{ALL_ORDERS_BY_LAST_UPDATE, Channel, Operation, OrderState, SellerCredentials};

async fn fast() -> Harness {
    // The getOrder bucket (0.5/s, burst 30) would take minutes of real time for a whole seed.
    harness_with(|o| o.rate_scale = 10_000.0).await
}

async fn get_order(h: &Harness, token: &str, id: &str, included: &str) -> Value {
    let answer = h
        .get(
            &format!("/orders/2026-01-01/orders/{id}?includedData={included}"),
            token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{id}: {:?}", answer.body);
    answer.body["order"].clone()
}

fn parse(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("ISO 8601")
        .with_timezone(&Utc)
}

fn api_status(report: &str) -> &'static str {
    match report {
        "Pending" => "PENDING",
        "Unshipped" => "UNSHIPPED",
        "Shipped" => "SHIPPED",
        "Cancelled" => "CANCELLED",
        other => panic!("unexpected report status {other}"),
    }
}

#[tokio::test]
async fn get_order_is_never_behind_the_report_row_and_agrees_with_it_on_the_same_version() {
    let h = fast().await;
    let seller = h.add_seller(spec(17, &[US], 60));
    h.advance(TimeDelta::hours(2));
    let token = h.token(&seller).await;
    let document = h
        .report_text(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(4),
            h.now(),
        )
        .await
        .expect("a report");
    let (_, rows) = read_tsv(&document.text);
    let mut by_order: BTreeMap<String, (String, String, BTreeSet<String>)> = BTreeMap::new();
    for row in &rows {
        let entry = by_order.entry(row["amazon-order-id"].clone()).or_insert_with(|| {
            (
                row["order-status"].clone(),
                row["last-updated-date"].clone(),
                BTreeSet::new(),
            )
        });
        entry.2.insert(row["sku"].clone());
    }
    assert!(by_order.len() > 20, "{} orders", by_order.len());
    let (mut same_version, mut ahead) = (0, 0);
    for (id, (status, updated, skus)) in &by_order {
        // A millisecond refills the scaled bucket without letting anything happen to the orders.
        h.advance(TimeDelta::milliseconds(1));
        let order = get_order(&h, &token, id, "FULFILLMENT").await;
        // The API shows a change about two minutes after it happens, reports 30 minutes to a day after.
        let api_updated = parse(order["lastUpdatedTime"].as_str().expect("lastUpdatedTime"));
        assert!(api_updated >= parse(updated), "{id}: the API behind the report");
        if api_updated == parse(updated) {
            same_version += 1;
            assert_eq!(
                order["fulfillment"]["fulfillmentStatus"],
                api_status(status),
                "{id}"
            );
        } else {
            ahead += 1;
        }
        let api_skus: BTreeSet<String> = order["orderItems"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["product"]["sellerSku"].as_str().expect("sku").to_owned())
            .collect();
        assert_eq!(&api_skus, skus, "{id}");
        for item in order["orderItems"].as_array().expect("items") {
            assert_eq!(item["orderItemId"].as_str().map(str::len), Some(14), "{id}");
        }
    }
    assert!(
        same_version > 10 && ahead > 0,
        "{same_version} at the report's version, {ahead} ahead"
    );
}

#[tokio::test]
async fn search_orders_pages_cover_every_order_exactly_once() {
    let h = fast().await;
    let seller = h.add_seller(spec(5, &[DE, FR], 90));
    h.advance(TimeDelta::hours(3));
    let token = h.token(&seller).await;
    let after = (epoch() - TimeDelta::days(4)).to_rfc3339();
    let base = format!(
        "/orders/2026-01-01/orders?createdAfter={}&maxResultsPerPage=7",
        urlencode(&after)
    );
    let mut seen = Vec::new();
    let mut path = base.clone();
    let mut pages = 0;
    loop {
        let answer = h.get(&path, &token).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let orders = answer.body["orders"].as_array().expect("orders");
        assert!(orders.len() <= 7);
        h.advance(TimeDelta::milliseconds(1));
        seen.extend(
            orders
                .iter()
                .map(|o| o["orderId"].as_str().expect("id").to_owned()),
        );
        pages += 1;
        match answer.body["pagination"]["nextToken"].as_str() {
            Some(next) => path = format!("{base}&paginationToken={}", urlencode(next)),
            None => break,
        }
    }
    let expected: BTreeSet<String> = h
        .sandbox
        .api_orders(&seller.seller_id, h.now())
        .expect("known seller")
        .into_iter()
        .map(|o| o.amazon_order_id)
        .collect();
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "an order appeared twice");
    assert_eq!(unique, expected);
    assert!(pages > 5, "{pages} pages");

    // A token does not continue another query.
    let other = format!(
        "/orders/2026-01-01/orders?createdAfter={}&maxResultsPerPage=8&paginationToken=0000000000000000007",
        urlencode(&after)
    );
    assert_eq!(h.get(&other, &token).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn search_orders_refuses_the_combinations_the_model_forbids() {
    let h = fast().await;
    let seller = h.add_seller(spec(6, &[US], 10));
    let token = h.token(&seller).await;
    let t = urlencode(&(epoch() - TimeDelta::days(2)).to_rfc3339());
    let later = urlencode(&(epoch() - TimeDelta::days(1)).to_rfc3339());
    let future = urlencode(&(h.now() + TimeDelta::minutes(1)).to_rfc3339());
    for query in [
        String::new(),
        format!("createdAfter={t}&lastUpdatedAfter={t}"),
        format!("createdAfter={t}&lastUpdatedBefore={later}"),
        format!("lastUpdatedAfter={t}&createdBefore={later}"),
        format!("createdAfter={later}&createdBefore={t}"),
        format!("createdAfter={t}&createdBefore={future}"),
        "createdAfter=yesterday".to_owned(),
        format!("createdAfter={t}&maxResultsPerPage=101"),
        format!("createdAfter={t}&maxResultsPerPage=0"),
        format!("createdAfter={t}&fulfillmentStatuses=LOST"),
        format!("createdAfter={t}&fulfilledBy=SELLER"),
        format!("createdAfter={t}&includedData=EVERYTHING"),
        format!("createdAfter={t}&paginationToken=nonsense"),
    ] {
        let answer = h.get(&format!("/orders/2026-01-01/orders?{query}"), &token).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{query}: {:?}",
            answer.body
        );
        assert_eq!(answer.body["errors"][0]["code"], "InvalidInput", "{query}");
    }
    let fine = h
        .get(
            &format!("/orders/2026-01-01/orders?lastUpdatedAfter={t}&fulfilledBy=MERCHANT,AMAZON&fulfillmentStatuses=SHIPPED"),
            &token,
        )
        .await;
    assert_eq!(fine.status, StatusCode::OK, "{:?}", fine.body);
    for order in fine.body["orders"].as_array().expect("orders") {
        let updated = parse(order["lastUpdatedTime"].as_str().expect("updated"));
        assert!(updated >= epoch() - TimeDelta::days(2));
    }
    assert!(fine.body["lastUpdatedBefore"].is_string());
    let missing = h
        .get("/orders/2026-01-01/orders/111-0000000-0000000", &token)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// A merchant-fulfilled unshipped order of an all-MFN seller.
fn mfn_seller(h: &Harness, seed: u64) -> SellerCredentials {
    let mut spec = spec(seed, &[US], 40);
    spec.afn_share = 0.0;
    spec.cancel_share = 0.0;
    spec.awaiting_shipment_share = 1.0;
    h.add_seller(spec)
}

fn unshipped_id(h: &Harness, seller: &SellerCredentials) -> String {
    h.sandbox
        .visible_orders(&seller.seller_id, h.now())
        .expect("known seller")
        .into_iter()
        .find(|o| o.fulfillment_channel == Channel::Mfn && o.status == OrderState::Unshipped)
        .expect("an unshipped order")
        .amazon_order_id
}

#[tokio::test]
async fn included_data_decides_which_blocks_appear() {
    let h = fast().await;
    let seller = mfn_seller(&h, 8);
    h.advance(TimeDelta::hours(2));
    let token = h.token(&seller).await;
    let id = unshipped_id(&h, &seller);
    let bare = get_order(&h, &token, &id, "").await;
    for block in ["buyer", "recipient", "fulfillment"] {
        assert!(bare.get(block).is_none(), "{block} without includedData: {bare}");
    }
    assert!(bare["orderItems"][0]["fulfillment"].is_null());
    let full = get_order(&h, &token, &id, "BUYER,RECIPIENT,FULFILLMENT").await;
    let address = &full["recipient"]["deliveryAddress"];
    for field in [
        "name",
        "addressLine1",
        "city",
        "postalCode",
        "countryCode",
        "phone",
    ] {
        assert!(address[field].is_string(), "{field}: {full}");
    }
    assert!(full["buyer"]["buyerEmail"].is_string());
    assert_eq!(full["fulfillment"]["fulfilledBy"], "MERCHANT");
    assert!(full["fulfillment"]["shipByWindow"]["latestDateTime"].is_string());
    assert!(full["fulfillment"]["deliverByWindow"]["latestDateTime"].is_string());
    assert!(full.get("packages").is_none());
}

#[tokio::test]
async fn pii_is_withheld_without_the_role_and_back_when_granted() {
    let h = fast().await;
    let seller = mfn_seller(&h, 9);
    h.advance(TimeDelta::hours(2));
    let token = h.token(&seller).await;
    let id = unshipped_id(&h, &seller);
    let pii = h.sandbox.pii_values(&seller.seller_id).expect("known seller");
    assert!(pii.len() > 40);

    h.sandbox
        .set_pii_role(&seller.seller_id, false)
        .expect("known seller");
    let order = get_order(&h, &token, &id, "BUYER,RECIPIENT,FULFILLMENT").await;
    let text = order.to_string();
    for value in &pii {
        assert!(!text.contains(value.as_str()), "{value} leaked: {text}");
    }
    let address = &order["recipient"]["deliveryAddress"];
    assert!(address["city"].is_string(), "non-PII stays: {order}");
    assert!(address.get("addressLine1").is_none());
    assert!(order["buyer"].get("buyerEmail").is_none());

    // Through the control route, as a client-side test would.
    let url = format!("/_sandbox/sellers/{}/pii-role", seller.seller_id);
    let granted = h.call(Method::POST, &url, None, None).await;
    assert_eq!(granted.status, StatusCode::OK, "{:?}", granted.body);
    let order = get_order(&h, &token, &id, "BUYER,RECIPIENT").await;
    assert!(order["recipient"]["deliveryAddress"]["addressLine1"].is_string());
    assert!(order["buyer"]["buyerName"].is_string());
    let listed = h
        .call(
            Method::GET,
            &format!("/_sandbox/sellers/{}/pii", seller.seller_id),
            None,
            None,
        )
        .await;
    assert_eq!(listed.body, json!(pii));
}

#[tokio::test]
async fn get_order_beyond_its_burst_of_30_is_throttled() {
    let h = harness().await;
    let seller = mfn_seller(&h, 10);
    h.advance(TimeDelta::hours(2));
    let token = h.token(&seller).await;
    let id = unshipped_id(&h, &seller);
    for n in 0..30 {
        let answer = h.get(&format!("/orders/2026-01-01/orders/{id}"), &token).await;
        assert_eq!(answer.status, StatusCode::OK, "call {n}");
        assert_eq!(answer.header("x-amzn-ratelimit-limit"), Some("0.5"));
    }
    let throttled = h.get(&format!("/orders/2026-01-01/orders/{id}"), &token).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        throttled.body,
        json!({"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.","details":""}]})
    );
    let after = urlencode(&(epoch() - TimeDelta::days(4)).to_rfc3339());
    for n in 0..20 {
        let answer = h
            .get(&format!("/orders/2026-01-01/orders?createdAfter={after}"), &token)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "search {n}");
    }
    let throttled = h
        .get(&format!("/orders/2026-01-01/orders?createdAfter={after}"), &token)
        .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let stats = h.sandbox.stats(&seller.seller_id).expect("known seller");
    assert_eq!(stats[&Operation::GetOrder].throttled, 1);
    assert_eq!(stats[&Operation::SearchOrders].throttled, 1);
}

/// Ships `units` of the order's first line through a `POST_ORDER_FULFILLMENT_DATA` feed, the existing feed path.
async fn ship_first_line(h: &Harness, token: &str, seller: &str, order: &str, item: &str, units: u32) {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AmazonEnvelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:noNamespaceSchemaLocation=\"amzn-envelope.xsd\">\n<Header><DocumentVersion>1.01</DocumentVersion>\
         <MerchantIdentifier>{seller}</MerchantIdentifier></Header>\n<MessageType>OrderFulfillment</MessageType>\n\
         <Message><MessageID>1</MessageID><OrderFulfillment><AmazonOrderID>{order}</AmazonOrderID>\
         <FulfillmentDate>2025-03-10T12:00:00+00:00</FulfillmentDate><FulfillmentData><CarrierCode>DHL</CarrierCode>\
         <ShippingMethod>Ground</ShippingMethod><ShipperTrackingNumber>JD0001</ShipperTrackingNumber></FulfillmentData>\
         <Item><AmazonOrderItemCode>{item}</AmazonOrderItemCode><Quantity>{units}</Quantity></Item></OrderFulfillment>\
         </Message>\n</AmazonEnvelope>\n"
    );
    let content_type = "text/xml; charset=UTF-8";
    let document = h
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(token),
            Some(json!({ "contentType": content_type })),
        )
        .await;
    assert_eq!(document.status, StatusCode::CREATED, "{:?}", document.body);
    let uploaded = h
        .http
        .put(document.body["url"].as_str().expect("url"))
        .header("content-type", content_type)
        .body(xml)
        .send()
        .await
        .expect("upload");
    assert_eq!(uploaded.status(), StatusCode::OK);
    let feed = h
        .call(
            Method::POST,
            "/feeds/2021-06-30/feeds",
            Some(token),
            Some(
                json!({"feedType": "POST_ORDER_FULFILLMENT_DATA", "marketplaceIds": [US],
                "inputFeedDocumentId": document.body["feedDocumentId"]}),
            ),
        )
        .await;
    assert_eq!(feed.status, StatusCode::ACCEPTED, "{:?}", feed.body);
    h.advance(TimeDelta::seconds(91));
}

#[tokio::test]
async fn a_shipment_fed_through_feeds_shows_in_get_order() {
    let h = fast().await;
    let seller = mfn_seller(&h, 11);
    h.advance(TimeDelta::hours(2));
    let token = h.token(&seller).await;
    let target = h
        .sandbox
        .visible_orders(&seller.seller_id, h.now())
        .expect("known seller")
        .into_iter()
        .find(|o| o.status == OrderState::Unshipped && o.items.len() >= 2)
        .expect("an unshipped order with two lines");
    let first = &target.items[0];
    let id = &target.amazon_order_id;
    ship_first_line(
        &h,
        &token,
        &seller.seller_id,
        id,
        &first.order_item_id,
        first.quantity,
    )
    .await;

    let order = get_order(&h, &token, id, "FULFILLMENT,PACKAGES").await;
    assert_eq!(
        order["fulfillment"]["fulfillmentStatus"], "PARTIALLY_SHIPPED",
        "{order}"
    );
    let line = order["orderItems"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["orderItemId"] == first.order_item_id.as_str())
        .expect("the shipped line");
    assert_eq!(line["fulfillment"]["quantityFulfilled"], first.quantity);
    assert_eq!(line["fulfillment"]["quantityUnfulfilled"], 0);
    let packages = order["packages"].as_array().expect("packages");
    assert_eq!(packages.len(), 1);
    assert_eq!(packages[0]["trackingNumber"], "JD0001");
    assert_eq!(
        packages[0]["packageItems"][0]["orderItemId"],
        first.order_item_id.as_str()
    );
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn merchant_orders_carry_buyer_requests_customisations_gifts_and_purchase_orders_on_some_orders() {
    let h = fast().await;
    let mut spec = spec(12, &[US], 200);
    spec.afn_share = 0.0;
    spec.cancel_share = 0.0;
    spec.awaiting_shipment_share = 1.0;
    spec.business_share = 0.2;
    let seller = h.add_seller(spec);
    h.advance(TimeDelta::hours(2));
    let token = h.token(&seller).await;
    let after = urlencode(&(epoch() - TimeDelta::days(4)).to_rfc3339());
    let answer = h
        .get(
            &format!(
                "/orders/2026-01-01/orders?createdAfter={after}&includedData=BUYER,CANCELLATION,FULFILLMENT"
            ),
            &token,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let orders = answer.body["orders"].as_array().expect("orders");
    let items = || {
        orders
            .iter()
            .flat_map(|o| o["orderItems"].as_array().expect("items"))
    };
    let requests = items()
        .filter(|i| i["cancellation"]["cancellationRequest"]["requester"] == "BUYER")
        .count();
    let custom = items()
        .filter(|i| i["product"]["customization"]["customizedUrl"].is_string())
        .count();
    let gifts = items()
        .filter(|i| i["fulfillment"]["packing"]["giftOption"]["giftMessage"].is_string())
        .count();
    let purchase_orders = orders
        .iter()
        .filter(|o| o["buyer"]["buyerPurchaseOrderNumber"].is_string())
        .count();
    for (what, n) in [
        ("cancellation requests", requests),
        ("customised items", custom),
        ("gift messages", gifts),
        ("purchase orders", purchase_orders),
    ] {
        assert!(
            n > 0 && n < orders.len(),
            "{what}: {n} of {} orders",
            orders.len()
        );
    }
    // Requests only on orders still waiting for the seller.
    for order in orders {
        let requested = order["orderItems"][0]["cancellation"]["cancellationRequest"].is_object();
        if requested {
            assert_eq!(order["fulfillment"]["fulfillmentStatus"], "UNSHIPPED", "{order}");
        }
    }
}
