//! The API under real concurrent requests, against DynamoDB Local, moto and the sandbox: one order's units are
//! reserved once whoever asks at the same moment, racing account connections store the token of the request
//! that won, and the routes that need an SP-API quota answer at once instead of waiting for it.

mod api_support;

use std::time::{Duration, Instant};

use api_support::{Api, US, seller_spec, start};
use chrono::TimeDelta;
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::clock::Clock;

fn count(answers: &[api_support::Answer], status: StatusCode) -> usize {
    answers.iter().filter(|a| a.status == status).count()
}

async fn order_actions(api: &Api, account: &str, order: &str) -> (Vec<Value>, Vec<Value>) {
    let view = api.get(&format!("/accounts/{account}/orders/{order}")).await;
    assert_eq!(view.status, StatusCode::OK, "{:?}", view.body);
    let list = |name: &str| view.body[name].as_array().cloned().unwrap_or_default();
    (list("shipments"), list("cancellations"))
}

#[tokio::test]
async fn twenty_concurrent_ship_all_requests_queue_exactly_one_shipment() {
    let api = start().await;
    let orders = [
        "114-6010001-0000001",
        "114-6010001-0000002",
        "114-6010001-0000003",
    ];
    let account = api.account_with_orders(601, &orders, 3).await;
    let body = json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784"});

    for order in orders {
        let path = format!("/accounts/{account}/orders/{order}/shipments");
        let answers = join_all((0..20).map(|i| {
            let (api, path, body) = (&api, &path, body.clone());
            async move {
                api.post_with_key(path, &format!("ship-all-{order}-{i}"), body)
                    .await
            }
        }))
        .await;
        assert_eq!(count(&answers, StatusCode::ACCEPTED), 1, "{order}: {answers:?}");
        assert_eq!(count(&answers, StatusCode::CONFLICT), 19, "{order}: {answers:?}");
        let (shipments, _) = order_actions(&api, &account, order).await;
        assert_eq!(shipments.len(), 1, "{order}: {shipments:?}");
    }
}

#[tokio::test]
async fn concurrent_partial_shipments_take_no_more_units_than_the_order_has() {
    let api = start().await;
    let order = "114-6020001-0000001";
    let account = api.account_with_orders(602, &[order], 3).await;
    let path = format!("/accounts/{account}/orders/{order}/shipments");
    let body = json!({
        "carrierCode": "UPS",
        "trackingNumber": "1Z999AA10123456784",
        "items": [{"orderItemId": "12345678901234", "quantity": 1}],
    });

    let answers = join_all((0..20).map(|i| {
        let (api, path, body) = (&api, &path, body.clone());
        async move { api.post_with_key(path, &format!("ship-one-{i}"), body).await }
    }))
    .await;
    assert_eq!(count(&answers, StatusCode::ACCEPTED), 3, "{answers:?}");
    assert_eq!(count(&answers, StatusCode::CONFLICT), 17, "{answers:?}");
    let (shipments, _) = order_actions(&api, &account, order).await;
    assert_eq!(shipments.len(), 3);
}

#[tokio::test]
async fn a_shipment_and_a_cancellation_of_one_order_at_once_never_both_queue() {
    let api = start().await;
    let orders: Vec<String> = (1..=8).map(|i| format!("114-6030001-000000{i}")).collect();
    let ids: Vec<&str> = orders.iter().map(String::as_str).collect();
    let account = api.account_with_orders(603, &ids, 2).await;

    for order in &ids {
        let (ship_path, cancel_path) = (
            format!("/accounts/{account}/orders/{order}/shipments"),
            format!("/accounts/{account}/orders/{order}/cancel"),
        );
        let (ship_key, cancel_key) = (format!("ship-{order}"), format!("cancel-{order}"));
        let ship = api.post_with_key(
            &ship_path,
            &ship_key,
            json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784"}),
        );
        let cancel = api.post_with_key(&cancel_path, &cancel_key, json!({"reason": "NoInventory"}));
        let (ship, cancel) = tokio::join!(ship, cancel);
        let answers = [ship, cancel];
        assert_eq!(count(&answers, StatusCode::ACCEPTED), 1, "{order}: {answers:?}");
        assert_eq!(count(&answers, StatusCode::CONFLICT), 1, "{order}: {answers:?}");
        let (shipments, cancellations) = order_actions(&api, &account, order).await;
        assert_eq!(shipments.len() + cancellations.len(), 1, "{order}");
    }
}

#[tokio::test]
async fn racing_connections_of_one_seller_keep_the_token_of_the_request_that_won() {
    let api = start().await;
    for round in 0..3 {
        let seller = api
            .sandbox
            .add_seller(seller_spec(610 + round, &[US], 1))
            .expect("seller");
        let token = |i: usize| format!("Atzr|race-{round}-{i}-secretsecret");
        let answers = join_all((0..8).map(|i| {
            api.post(
                "/accounts",
                json!({
                    "sellerId": seller.seller_id,
                    "region": "NA",
                    "marketplaceIds": [US],
                    "refreshToken": token(i),
                    "importInterval": "never",
                }),
            )
        }))
        .await;
        let won: Vec<usize> = (0..8)
            .filter(|&i| answers[i].status == StatusCode::CREATED)
            .collect();
        assert_eq!(won.len(), 1, "{answers:?}");
        assert_eq!(count(&answers, StatusCode::CONFLICT), 7, "{answers:?}");
        let id = answers[won[0]].body["id"].as_str().expect("id").to_owned();
        let secrets = api.import.secrets.clone();
        let stored = secrets
            .get(&api.naming.secret_name(&id))
            .await
            .expect("read")
            .expect("a token");
        assert_eq!(
            stored,
            token(won[0]),
            "round {round}: the secret is the winning request's token"
        );
    }
}

#[tokio::test]
async fn thirty_concurrent_health_checks_answer_at_once_instead_of_waiting_for_the_quota() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(620, &[US], 5), "never").await;
    let before = api.clock.now();
    let started = Instant::now();

    let path = format!("/accounts/{id}/health");
    let answers = join_all((0..30).map(|_| api.get(&path))).await;
    let waited = api.clock.now() - before;
    let took = started.elapsed();

    assert_eq!(count(&answers, StatusCode::OK), 30, "{answers:?}");
    // The client's clock is the test's manual clock: any wait for a token would move it.
    assert!(
        waited <= TimeDelta::seconds(5),
        "the checks waited {waited} of the clock's time for getReports tokens"
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let states: Vec<&str> = answers
        .iter()
        .map(|a| a.body["connection"]["state"].as_str().unwrap_or_default())
        .collect();
    // getReports' burst is 10: ten checks call it, the others say what they would have waited for.
    assert_eq!(
        states.iter().filter(|s| **s == "connected").count(),
        10,
        "{states:?}"
    );
    let skipped: Vec<&Value> = answers
        .iter()
        .filter(|a| a.body["connection"]["state"] == "skipped")
        .map(|a| &a.body)
        .collect();
    assert_eq!(skipped.len(), 20, "{states:?}");
    for body in skipped {
        let detail = body["connection"]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("getReports") && detail.contains(" s"), "{detail}");
    }
}

#[tokio::test]
async fn concurrent_report_requests_beyond_the_burst_get_429_with_retry_after_at_once() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(621, &[US], 5), "never").await;
    let before = api.clock.now();
    let body = json!({
        "reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        "dataStartTime": "2026-03-01T00:00:00Z",
        "dataEndTime": "2026-03-08T00:00:00Z",
    });

    let path = format!("/accounts/{id}/reports");
    let answers = join_all((0..18).map(|_| api.post(&path, body.clone()))).await;
    let waited = api.clock.now() - before;

    // createReport's burst is 15.
    assert_eq!(count(&answers, StatusCode::ACCEPTED), 15, "{answers:?}");
    let throttled: Vec<&api_support::Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!(throttled.len(), 3, "{answers:?}");
    for answer in throttled {
        assert_eq!(answer.code(), Some("quota_exhausted"));
        let seconds: u64 = answer
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!((1..=120).contains(&seconds), "{seconds}");
    }
    assert!(
        waited <= TimeDelta::seconds(5),
        "the requests waited {waited} of the clock's time for createReport tokens"
    );
}
