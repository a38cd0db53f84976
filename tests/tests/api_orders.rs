//! `GET /accounts/{id}/orders` and `GET /accounts/{id}/orders/{orderId}` over orders stored in DynamoDB Local:
//! filters, pagination by last update, an order with its items, bad parameters naming themselves.

mod api_support;

use api_support::{CA, US, seller_spec, start};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use shared::domain::{
    BuyerPii, CancellationRequest, Currency, FulfillmentChannel, ItemAmounts, Money, Order, OrderDetails,
    OrderItem, OrderPii, OrderStatus, PiiAvailability, PostalAddress, ShipTo, ShippableItem, TimeWindow,
};
use shared::ports::OrderStore;

fn order(
    id: &str,
    updated: DateTime<Utc>,
    status: OrderStatus,
    channel: FulfillmentChannel,
    marketplace: &str,
) -> Order {
    let usd: Currency = "USD".parse().unwrap();
    Order {
        amazon_order_id: id.into(),
        merchant_order_id: None,
        purchase_date: updated - TimeDelta::hours(1),
        last_updated: updated,
        status,
        fulfillment_channel: channel,
        sales_channel: "Amazon.com".into(),
        marketplace_id: Some(marketplace.into()),
        ship_service_level: Some("Standard".into()),
        ship_to: ShipTo {
            country: Some("US".into()),
            ..ShipTo::default()
        },
        is_business_order: false,
        purchase_order_number: None,
        items: vec![OrderItem {
            sku: "MUG-1".into(),
            asin: "B000000001".into(),
            product_name: "Mug".into(),
            item_status: None,
            quantity: 2,
            amounts: ItemAmounts {
                item_price: Some(Money {
                    amount: Decimal::new(1998, 2),
                    currency: usd,
                }),
                ..ItemAmounts::default()
            },
            promotion_ids: vec![],
        }],
    }
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["amazonOrderId"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn orders_are_listed_by_last_update_with_filters_and_pages() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(21, &[US, CA], 1), "never").await;
    let t0: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
    let stored = [
        order(
            "114-0000001-0000001",
            t0,
            OrderStatus::Unshipped,
            FulfillmentChannel::Mfn,
            US,
        ),
        order(
            "114-0000002-0000002",
            t0 + TimeDelta::hours(1),
            OrderStatus::Shipped,
            FulfillmentChannel::Afn,
            US,
        ),
        order(
            "114-0000003-0000003",
            t0 + TimeDelta::hours(2),
            OrderStatus::Unshipped,
            FulfillmentChannel::Mfn,
            CA,
        ),
        order(
            "114-0000004-0000004",
            t0 + TimeDelta::hours(3),
            OrderStatus::Cancelled,
            FulfillmentChannel::Mfn,
            US,
        ),
        order(
            "114-0000005-0000005",
            t0 + TimeDelta::hours(4),
            OrderStatus::Unshipped,
            FulfillmentChannel::Mfn,
            US,
        ),
    ];
    for o in &stored {
        api.orders.put_order(&id, o, false).await.unwrap();
    }
    let base = format!("/accounts/{id}/orders");

    let all = api.get(&base).await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.body);
    assert_eq!(ids(&all.body).len(), 5);
    assert_eq!(ids(&all.body)[0], "114-0000001-0000001", "oldest update first");

    let unshipped = api
        .get(&format!("{base}?status=Unshipped&channel=MFN&marketplace={US}"))
        .await;
    assert_eq!(
        ids(&unshipped.body),
        ["114-0000001-0000001", "114-0000005-0000005"]
    );
    let afn = api.get(&format!("{base}?channel=AFN")).await;
    assert_eq!(ids(&afn.body), ["114-0000002-0000002"]);
    let since = api
        .get(&format!("{base}?updatedSince=2026-03-01T02:00:00Z"))
        .await;
    assert_eq!(
        ids(&since.body),
        [
            "114-0000003-0000003",
            "114-0000004-0000004",
            "114-0000005-0000005"
        ]
    );

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..5 {
        let page = match &next {
            Some(token) => {
                api.get(&format!("{base}?status=Unshipped&limit=2&nextToken={token}"))
                    .await
            }
            None => api.get(&format!("{base}?status=Unshipped&limit=2")).await,
        };
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        seen.extend(ids(&page.body).into_iter().map(str::to_owned));
        next = page.body["nextToken"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            "114-0000001-0000001",
            "114-0000003-0000003",
            "114-0000005-0000005"
        ]
    );
}

#[tokio::test]
async fn an_order_comes_with_its_items_and_amounts() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(22, &[US], 1), "never").await;
    let t0: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
    api.orders
        .put_order(
            &id,
            &order(
                "114-0000001-0000001",
                t0,
                OrderStatus::Shipped,
                FulfillmentChannel::Afn,
                US,
            ),
            false,
        )
        .await
        .unwrap();

    let answer = api
        .get(&format!("/accounts/{id}/orders/114-0000001-0000001"))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.body["fulfillmentChannel"], "AFN");
    assert_eq!(answer.body["status"], "Shipped");
    assert_eq!(answer.body["lastUpdated"], "2026-03-01T00:00:00Z");
    assert_eq!(
        answer.body["items"],
        json!([{"sku": "MUG-1", "asin": "B000000001", "productName": "Mug", "quantity": 2,
            "amounts": {"itemPrice": {"amount": "19.98", "currency": "USD"}}, "promotionIds": []}])
    );
}

#[tokio::test]
async fn bad_order_parameters_name_themselves() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(23, &[US], 1), "never").await;
    for (query, field) in [
        ("channel=FBM", "channel"),
        ("marketplace=XYZ", "marketplace"),
        ("updatedSince=yesterday", "updatedSince"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("nextToken=00", "nextToken"),
        ("status=", "status"),
        ("colour=red", "colour"),
        ("limit=1&limit=2", "limit"),
    ] {
        let answer = api.get(&format!("/accounts/{id}/orders?{query}")).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{query}: {:?}",
            answer.body
        );
        assert_eq!(answer.field(), Some(field), "{query}: {:?}", answer.body);
    }
}

fn details(id: &str, updated: DateTime<Utc>, pii: PiiAvailability) -> OrderDetails {
    OrderDetails {
        amazon_order_id: id.into(),
        last_updated: updated,
        fulfillment_status: "PARTIALLY_SHIPPED".into(),
        fulfilled_by: Some("MERCHANT".into()),
        ship_by: TimeWindow {
            earliest: None,
            latest: Some(updated + TimeDelta::days(1)),
        },
        deliver_by: TimeWindow {
            earliest: None,
            latest: Some(updated + TimeDelta::days(5)),
        },
        programs: vec!["PRIME".into()],
        purchase_order_number: None,
        items: vec![ShippableItem {
            order_item_id: "41".into(),
            sku: Some("MUG-1".into()),
            quantity_ordered: 2,
            quantity_shipped: 1,
            quantity_left: 1,
            programs: vec![],
            gift_wrap_level: Some("PREMIUM".into()),
            cancellation_request: Some(CancellationRequest {
                requester: Some("BUYER".into()),
                reason: Some("Ordered by mistake".into()),
            }),
        }],
        pii,
    }
}

#[tokio::test]
async fn an_order_read_with_get_order_shows_what_to_ship_and_its_pii_only_on_its_own_route() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(23, &[US], 1), "never").await;
    let t0 = api_support::epoch();
    let given = "114-0000001-0000001";
    let withheld = "114-0000002-0000002";
    let unread = "114-0000003-0000003";
    for order_id in [given, withheld, unread] {
        let stored = order(order_id, t0, OrderStatus::Unshipped, FulfillmentChannel::Mfn, US);
        api.orders.put_order(&id, &stored, false).await.unwrap();
    }
    let pii = OrderPii {
        buyer: BuyerPii {
            amazon_order_id: given.into(),
            buyer_name: Some("Jane Doe".into()),
            ship_to: PostalAddress {
                name: Some("Jane Doe".into()),
                address_1: Some("1 Main Street".into()),
                postal_code: Some("66044".into()),
                country: Some("US".into()),
                ..PostalAddress::default()
            },
            ..BuyerPii::default()
        },
        gift_messages: vec![("41".into(), "Happy birthday".into())],
        customized_urls: vec![],
    };
    let expires = t0 + TimeDelta::days(35);
    api.orders
        .put_order_details(
            &id,
            &details(given, t0, PiiAvailability::Given),
            Some((&pii, expires)),
        )
        .await
        .unwrap();
    api.orders
        .put_order_details(&id, &details(withheld, t0, PiiAvailability::Withheld), None)
        .await
        .unwrap();

    let order = api.get(&format!("/accounts/{id}/orders/{given}")).await;
    assert_eq!(order.status, StatusCode::OK, "{:?}", order.body);
    let shipping = &order.body["shipping"];
    assert_eq!(shipping["isPrime"], true);
    assert_eq!(
        shipping["items"][0],
        json!({"orderItemId": "41", "sku": "MUG-1", "quantityOrdered": 2, "quantityShipped": 1,
            "quantityLeft": 1, "programs": [], "giftWrapLevel": "PREMIUM",
            "cancellationRequest": {"requester": "BUYER", "reason": "Ordered by mistake"}})
    );
    assert!(
        !order.body.to_string().contains("Main Street"),
        "no PII on the order route"
    );

    let recipient = api.get(&format!("/accounts/{id}/orders/{given}/recipient")).await;
    assert_eq!(recipient.status, StatusCode::OK, "{:?}", recipient.body);
    assert_eq!(recipient.body["address"]["addressLine1"], "1 Main Street");
    assert_eq!(recipient.body["giftMessages"][0]["value"], "Happy birthday");

    let refused = api
        .get(&format!("/accounts/{id}/orders/{withheld}/recipient"))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.body);
    assert!(refused.body.to_string().contains("Direct-to-Consumer Shipping"));
    let unread_answer = api
        .get(&format!("/accounts/{id}/orders/{unread}/recipient"))
        .await;
    assert_eq!(unread_answer.status, StatusCode::NOT_FOUND);

    api.advance(TimeDelta::days(36));
    let gone = api.get(&format!("/accounts/{id}/orders/{given}/recipient")).await;
    assert_eq!(gone.status, StatusCode::GONE, "{:?}", gone.body);
}
