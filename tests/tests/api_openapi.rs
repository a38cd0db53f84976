//! `infra/openapi.yaml` against the router, both ways: every documented path and method is routed, every
//! route is documented, and real answers (successes and errors) validate against the documented schemas and
//! status codes.

mod api_support;

use std::collections::BTreeSet;

use api_support::{Answer, US, seller_spec, start};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use shared::domain::{FulfillmentChannel, Order, OrderStatus, ShipTo};
use shared::ports::OrderStore;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn document() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/openapi.yaml");
    let text = std::fs::read_to_string(&path).expect("infra/openapi.yaml");
    serde_norway::from_str(&text).expect("valid YAML")
}

fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect()
}

#[test]
fn every_route_is_documented_and_every_documented_route_is_listed() {
    let routed: BTreeSet<(String, String)> = shared::api::routes()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path.to_owned()))
        .collect();
    let documented = documented(&document());
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routed but not documented"
    );
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not routed"
    );
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let api = start().await;
    for (method, path) in documented(&document()) {
        let concrete = path
            .replace("{accountId}", "A2NOBODY000000-na")
            .replace("{backfillId}", "bf-none")
            .replace("{orderId}", "114-0000000-0000000")
            .replace("{linkId}", "unknown");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = matches!(method, Method::POST | Method::PUT).then(|| json!({}));
        let answer = api.call(method.clone(), &concrete, body, &[]).await;
        assert!(
            !matches!(answer.code(), Some("no_route" | "method_not_allowed")),
            "{method} {path}: {:?}",
            answer.body
        );
    }
}

/// The schema of `operation`'s answer with `status`, or a failure naming what is undocumented.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> Option<&'a Value> {
    let operation = &doc["paths"][path][method.to_lowercase()];
    assert!(operation.is_object(), "{method} {path} is not documented");
    let mut response = &operation["responses"][status.to_string()];
    assert!(response.is_object(), "{method} {path} does not document {status}");
    if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
        response = resolve(doc, reference);
    }
    response.get("content").map(|c| &c["application/json"]["schema"])
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("a local reference");
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} does not resolve"))
}

/// Checks `value` against an OpenAPI 3.0 schema (the subset the document uses); the failures, with paths.
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, failures: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return validate(doc, resolve(doc, reference), value, at, failures);
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            validate(doc, part, value, at, failures);
        }
    }
    if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        failures.push(format!("{at}: {value} is not one of {options:?}"));
    }
    let kind = schema.get("type").and_then(Value::as_str);
    let fits = match kind {
        None => true,
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some(other) => panic!("unknown type {other}"),
    };
    if !fits {
        failures.push(format!("{at}: {value} is not a {}", kind.unwrap_or("?")));
        return;
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time")
        && value
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
            .is_none()
    {
        failures.push(format!("{at}: {value} is not a date-time"));
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_i64), value.as_i64())
        && n < min
    {
        failures.push(format!("{at}: {n} < {min}"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap();
            if !object.contains_key(name) {
                failures.push(format!("{at}: required {name} is missing"));
            }
        }
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => validate(doc, property, field, &format!("{at}.{name}"), failures),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    failures.push(format!("{at}: {name} is not documented"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(doc, items, item, &format!("{at}[{i}]"), failures);
        }
    }
}

fn check(doc: &Value, method: &str, path: &str, answer: &Answer) {
    let schema = response_schema(doc, method, path, answer.status.as_u16());
    match schema {
        Some(schema) => {
            let mut failures = Vec::new();
            validate(doc, schema, &answer.body, "$", &mut failures);
            assert!(
                failures.is_empty(),
                "{method} {path} {}: {failures:#?}\n{}",
                answer.status,
                answer.body
            );
        }
        None => assert_eq!(
            answer.body,
            Value::Null,
            "{method} {path} answers an undocumented body"
        ),
    }
}

#[tokio::test]
async fn real_answers_match_their_documented_schemas() {
    let doc = document();
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(41, &[US], 10), "15m").await;
    let account = format!("/accounts/{id}");
    let t0: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
    let order = Order {
        amazon_order_id: "114-0000001-0000001".into(),
        merchant_order_id: Some("M-1".into()),
        purchase_date: t0,
        last_updated: t0,
        status: OrderStatus::Unshipped,
        fulfillment_channel: FulfillmentChannel::Mfn,
        sales_channel: "Amazon.com".into(),
        marketplace_id: Some(US.into()),
        ship_service_level: None,
        ship_to: ShipTo {
            city: Some("Lawrence".into()),
            country: Some("US".into()),
            ..ShipTo::default()
        },
        is_business_order: false,
        purchase_order_number: None,
        items: vec![],
    };
    api.orders.put_order(&id, &order, false).await.unwrap();
    let mut with_details = order.clone();
    with_details.amazon_order_id = "114-0000002-0000002".into();
    api.orders.put_order(&id, &with_details, false).await.unwrap();
    let details = shared::domain::OrderDetails {
        amazon_order_id: with_details.amazon_order_id.to_string(),
        last_updated: t0,
        fulfillment_status: "UNSHIPPED".into(),
        fulfilled_by: Some("MERCHANT".into()),
        ship_by: shared::domain::TimeWindow {
            earliest: Some(t0),
            latest: Some(t0 + chrono::TimeDelta::days(1)),
        },
        deliver_by: shared::domain::TimeWindow::default(),
        programs: vec!["PRIME".into()],
        purchase_order_number: Some("PO-1".into()),
        items: vec![shared::domain::ShippableItem {
            order_item_id: "41".into(),
            sku: Some("MUG-1".into()),
            quantity_ordered: 1,
            quantity_left: 1,
            cancellation_request: Some(shared::domain::CancellationRequest::default()),
            ..shared::domain::ShippableItem::default()
        }],
        pii: shared::domain::PiiAvailability::Given,
    };
    let pii = shared::domain::OrderPii {
        buyer: shared::domain::BuyerPii {
            amazon_order_id: details.amazon_order_id.clone(),
            buyer_email: Some("x@marketplace.amazon.com".into()),
            ..shared::domain::BuyerPii::default()
        },
        gift_messages: vec![("41".into(), "Hi".into())],
        customized_urls: vec![("41".into(), "https://zme-caps.amazon.com/t/x".into())],
    };
    api.orders
        .put_order_details(&id, &details, Some((&pii, t0 + chrono::TimeDelta::days(400))))
        .await
        .unwrap();

    let exchanges: Vec<(&str, &str, Answer)> = vec![
        ("GET", "/accounts", api.get("/accounts").await),
        ("GET", "/accounts/{accountId}", api.get(&account).await),
        (
            "GET",
            "/accounts/{accountId}",
            api.get("/accounts/A2NOBODY000000-na").await,
        ),
        (
            "PUT",
            "/accounts/{accountId}",
            api.put(&account, json!({"options": {"countryFilter": "-US"}}))
                .await,
        ),
        (
            "PUT",
            "/accounts/{accountId}",
            api.put(&account, json!({"importInterval": 5})).await,
        ),
        (
            "POST",
            "/accounts",
            api.post("/accounts", json!({"sellerId": 1})).await,
        ),
        (
            "GET",
            "/accounts/{accountId}/health",
            api.get(&format!("{account}/health")).await,
        ),
        (
            "POST",
            "/accounts/{accountId}/reports",
            api.post(
                &format!("{account}/reports"),
                json!({"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
                    "dataStartTime": "2026-03-05T00:00:00Z"}),
            )
            .await,
        ),
        (
            "POST",
            "/accounts/{accountId}/backfill",
            api.post(
                &format!("{account}/backfill"),
                json!({"startDate": "2026-01-01T00:00:00Z"}),
            )
            .await,
        ),
        (
            "GET",
            "/accounts/{accountId}/orders",
            api.get(&format!("{account}/orders")).await,
        ),
        (
            "GET",
            "/accounts/{accountId}/orders/{orderId}",
            api.get(&format!("{account}/orders/114-0000001-0000001")).await,
        ),
        (
            "GET",
            "/accounts/{accountId}/orders/{orderId}",
            api.get(&format!("{account}/orders/114-0000002-0000002")).await,
        ),
        (
            "GET",
            "/accounts/{accountId}/orders/{orderId}/recipient",
            api.get(&format!("{account}/orders/114-0000002-0000002/recipient"))
                .await,
        ),
        (
            "GET",
            "/accounts/{accountId}/orders/{orderId}/recipient",
            api.get(&format!("{account}/orders/114-0000001-0000001/recipient"))
                .await,
        ),
    ];
    for (method, path, answer) in &exchanges {
        check(&doc, method, path, answer);
    }
    let backfill_id = exchanges[8].2.body["id"].as_str().expect("a backfill").to_owned();

    // Later states: reports done, a backfill under way, an account with a problem.
    api.advance(TimeDelta::minutes(2));
    api.poll_and_parse().await;
    api.sandbox.deauthorize(&seller.seller_id).unwrap();
    let later: Vec<(&str, &str, Answer)> = vec![
        (
            "GET",
            "/accounts/{accountId}/reports",
            api.get(&format!("{account}/reports")).await,
        ),
        (
            "GET",
            "/accounts/{accountId}/backfills/{backfillId}",
            api.get(&format!("{account}/backfills/{backfill_id}")).await,
        ),
        (
            "GET",
            "/accounts/{accountId}/health",
            api.get(&format!("{account}/health")).await,
        ),
        (
            "GET",
            "/accounts/{accountId}/orders",
            api.get(&format!("{account}/orders?limit=1")).await,
        ),
        ("DELETE", "/accounts/{accountId}", api.delete(&account).await),
    ];
    for (method, path, answer) in &later {
        check(&doc, method, path, answer);
    }
    assert_eq!(later[2].2.body["cause"]["kind"], "access_denied");

    // Connect links: created with every field, read back, and a 404 (the public pages answer HTML).
    let created = api
        .post(
            "/connect-links",
            json!({
                "region": "NA", "marketplaceId": "A2EUQ1WTGCTBG2", "sellerId": seller.seller_id,
                "importInterval": "1h", "options": {"importFba": false}, "expiresInHours": 24,
                "shipFrom": {"name": "Warehouse", "addressLine1": "1 Dock St", "countryCode": "US"},
            }),
        )
        .await;
    let id = created.body["url"]
        .as_str()
        .expect("a url")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let links = vec![
        ("POST", "/connect-links", created),
        (
            "GET",
            "/connect-links/{linkId}",
            api.get(&format!("/connect-links/{id}")).await,
        ),
        (
            "GET",
            "/connect-links/{linkId}",
            api.get("/connect-links/unknown").await,
        ),
        (
            "POST",
            "/connect-links",
            api.post("/connect-links", json!({"region": "NA"})).await,
        ),
    ];
    for (method, path, answer) in &links {
        check(&doc, method, path, answer);
    }
    assert_eq!(
        links
            .iter()
            .map(|(_, _, a)| a.status.as_u16())
            .collect::<Vec<_>>(),
        [201, 200, 404, 400]
    );
}
