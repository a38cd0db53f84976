//! The HTTP API as the local runner serves it (the port `api-serve` and the fuzz run use), over a whole import:
//! what a seller's integrator sees through real HTTP matches what the sandbox holds.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use tests::runner::scenario::{Scenario, ScenarioSettings};
use tests::stack::LocalStack;

async fn get(client: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_local_runners_port_serves_the_imported_orders_reports_and_health() {
    let stack = LocalStack::with_own_dynamodb().await.unwrap();
    let mut scenario = Scenario::start(
        stack,
        ScenarioSettings {
            seed: 31,
            orders: 150,
            ..ScenarioSettings::default()
        },
    )
    .await
    .unwrap();
    let (base, server) = scenario.runner.serve_api(0).await.unwrap();
    let client = reqwest::Client::new();
    let account = format!("{base}/accounts/{}", scenario.account_id);

    let (status, health) = get(&client, &format!("{account}/health")).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "healthy", "{health}");

    scenario.run_to_the_end().await.unwrap();

    // Every order, page by page, exactly once.
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    let mut next: Option<String> = None;
    loop {
        let url = match &next {
            Some(token) => format!("{account}/orders?limit=40&nextToken={token}"),
            None => format!("{account}/orders?limit=40"),
        };
        let (status, page) = get(&client, &url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for order in page["items"].as_array().unwrap() {
            let id = order["amazonOrderId"].as_str().unwrap().to_owned();
            assert!(seen.insert(id.clone()), "{id} listed twice");
        }
        next = page["nextToken"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    let truth: BTreeSet<String> = scenario
        .sandbox
        .visible_orders(&scenario.seller.seller_id, scenario.sandbox.now())
        .unwrap()
        .into_iter()
        .map(|order| order.amazon_order_id)
        .collect();
    assert_eq!(seen, truth, "the API lists what Amazon holds");
    assert!(pages >= 4, "{pages} pages of 40 for {} orders", truth.len());

    let one = truth.iter().next().unwrap();
    let (status, order) = get(&client, &format!("{account}/orders/{one}")).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["amazonOrderId"], one.as_str());
    assert!(!order["items"].as_array().unwrap().is_empty(), "{order}");

    let (status, reports) = get(&client, &format!("{account}/reports")).await;
    assert_eq!(status, StatusCode::OK, "{reports}");
    let states: BTreeSet<&str> = reports["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|job| job["status"].as_str())
        .collect();
    // The newest jobs first: after the run every one has settled.
    assert!(!states.is_empty(), "{reports}");
    assert!(
        states.iter().all(|state| ["imported", "no_data"].contains(state)),
        "{states:?}"
    );

    let (status, health) = get(&client, &format!("{account}/health")).await;
    assert_eq!(status, StatusCode::OK, "{health}");
    assert_eq!(health["status"], "healthy", "{health}");
    assert!(
        health["lastSuccessfulImport"].is_string(),
        "an import is recorded: {health}"
    );

    let (status, missing) = get(&client, &format!("{account}/orders/111-0000000-0000000")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    server.abort();
}
