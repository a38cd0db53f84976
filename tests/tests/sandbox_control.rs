//! The `/_sandbox/…` control and inspection routes, and the `spapi-sandbox` binary.

mod sandbox_support;

use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use sandbox_support::{DE, harness};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

async fn control(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("answers");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn the_http_control_routes_mirror_the_rust_api() {
    let h = harness().await;
    let base = h.sandbox.base_url().to_owned();
    let http = &h.http;

    let (status, index) = control(http, Method::GET, &format!("{base}/_sandbox"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(index["lwaUrl"], h.sandbox.lwa_url());
    assert_eq!(index["clientId"], tests::sandbox::CLIENT_ID);
    assert_eq!(index["now"], "2025-03-10T12:00:00Z");

    let (status, seller) = control(
        http,
        Method::POST,
        &format!("{base}/_sandbox/sellers"),
        Some(json!({"seed": 5, "marketplaceIds": [DE], "orders": 50})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{seller}");
    let seller_id = seller["sellerId"].as_str().expect("seller id").to_owned();
    let refresh_token = seller["refreshToken"].as_str().expect("refresh token").to_owned();
    assert_eq!(seller["marketplaceIds"], json!([DE]));
    let token = h.exchange(&refresh_token).await.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    let (status, orders) = control(
        http,
        Method::GET,
        &format!("{base}/_sandbox/sellers/{seller_id}/orders"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        orders.as_array().map(Vec::len),
        Some(h.sandbox.orders(&seller_id).expect("seller").len())
    );
    let (_, visible) = control(
        http,
        Method::GET,
        &format!("{base}/_sandbox/sellers/{seller_id}/orders?at=2025-03-10T12:00:00Z&visible=true"),
        None,
    )
    .await;
    assert!(visible.as_array().map(Vec::len) <= orders.as_array().map(Vec::len));

    let (status, fault) = control(
        http,
        Method::POST,
        &format!("{base}/_sandbox/faults"),
        Some(
            json!({"operation": "getReport", "seller": seller_id, "kind": {"type": "throttle"}, "count": 1}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{fault}");
    let (_, faults) = control(http, Method::GET, &format!("{base}/_sandbox/faults"), None).await;
    assert_eq!(faults[0]["operation"], "getReport");
    assert_eq!(
        h.get("/reports/2021-06-30/reports/1", &token).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );

    let (_, stats) = control(
        http,
        Method::GET,
        &format!("{base}/_sandbox/sellers/{seller_id}/stats"),
        None,
    )
    .await;
    assert_eq!(stats["getReport"]["injectedThrottles"], 1);
    assert_eq!(stats["lwaToken"]["succeeded"], 1);

    let (status, _) = control(
        http,
        Method::POST,
        &format!("{base}/_sandbox/sellers/{seller_id}/deauthorize"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        h.get("/reports/2021-06-30/reports/1", &token).await.status,
        StatusCode::FORBIDDEN
    );
    control(
        http,
        Method::POST,
        &format!("{base}/_sandbox/sellers/{seller_id}/authorize"),
        None,
    )
    .await;
    assert_eq!(
        h.get("/reports/2021-06-30/reports/1", &token).await.status,
        StatusCode::NOT_FOUND
    );

    let (status, _) = control(
        http,
        Method::DELETE,
        &format!("{base}/_sandbox/sellers/{seller_id}/refresh-tokens"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.exchange(&refresh_token).await.body["error"], "invalid_grant");
    let (status, fresh) = control(
        http,
        Method::POST,
        &format!("{base}/_sandbox/sellers/{seller_id}/refresh-tokens"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        h.exchange(fresh["refreshToken"].as_str().expect("token"))
            .await
            .status,
        StatusCode::OK
    );

    let (status, _) = control(
        http,
        Method::GET,
        &format!("{base}/_sandbox/sellers/A0NOSUCHSELLER/stats"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = control(
        http,
        Method::POST,
        &format!("{base}/_sandbox/sellers"),
        Some(json!({"marketplaceIds": ["ATVPDKIKX0DER", DE]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error"].as_str().is_some_and(|e| e.contains("one region")),
        "{error}"
    );
    let (status, _) = control(http, Method::GET, &format!("{base}/_sandbox/nothing-here"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_binary_prints_its_base_url_and_serves_on_a_scaled_clock() {
    // The scaled clock reads its origin at that wall-clock instant, as the local runner's does.
    let origin = chrono::Utc::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_spapi-sandbox"))
        .args([
            "--port",
            "0",
            "--seed",
            "3",
            "--clock-scale",
            "60",
            "--clock-origin",
            &origin.to_rfc3339(),
        ])
        .args(["--rate-scale", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base_url = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("prints its URL in time")
        .expect("reads stdout")
        .expect("a line");
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    let http = reqwest::Client::new();
    let (status, index) = control(&http, Method::GET, &format!("{base_url}/_sandbox"), None).await;
    assert_eq!(status, StatusCode::OK);
    let now: chrono::DateTime<chrono::Utc> = serde_json::from_value(index["now"].clone()).expect("a time");
    assert!(now >= origin, "the scaled clock starts at its origin");
    assert!(
        now - origin < chrono::TimeDelta::hours(1),
        "and runs 60 times as fast: {now} vs {origin}"
    );
    let (status, seller) = control(
        &http,
        Method::POST,
        &format!("{base_url}/_sandbox/sellers"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{seller}");

    child.start_kill().expect("stops");
    let _ = child.wait().await;
}

#[tokio::test]
async fn shutdown_completes_with_idle_keep_alive_connections_open() {
    let h = harness().await;
    let seller = h.add_seller(sandbox_support::spec(1, &[DE], 10));
    let token = h.token(&seller).await;
    assert_eq!(
        h.get("/reports/2021-06-30/reports/1", &token).await.status,
        StatusCode::NOT_FOUND
    );
    let base = h.sandbox.base_url().to_owned();
    tokio::time::timeout(Duration::from_secs(5), h.sandbox.shutdown())
        .await
        .expect("shutdown does not wait for idle connections");
    assert!(
        h.http.get(format!("{base}/_sandbox")).send().await.is_err(),
        "nothing listens any more"
    );
}
