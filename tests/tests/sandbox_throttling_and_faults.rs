//! Token buckets answering 429 as Amazon does, the rate header, and injected faults with their statistics.

mod sandbox_support;

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use reqwest::StatusCode;
use sandbox_support::{US, epoch, harness, harness_with, spec};
use serde_json::json;
use tests::sandbox::{ALL_ORDERS_BY_LAST_UPDATE, Fault, FaultKind, Operation};

fn create_body() -> serde_json::Value {
    json!({
        "reportType": ALL_ORDERS_BY_LAST_UPDATE,
        "marketplaceIds": [US],
        "dataStartTime": (epoch() - TimeDelta::days(1)).to_rfc3339(),
    })
}

#[tokio::test]
async fn a_burst_beyond_the_bucket_gets_429_quota_exceeded() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    for n in 0..15 {
        let answer = h.create_report_raw(&token, create_body()).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "call {n}");
    }
    let throttled = h.create_report_raw(&token, create_body()).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        throttled.body,
        json!({"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the requested resource.","details":""}]})
    );
    assert_eq!(
        throttled.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    assert_eq!(throttled.header("content-type"), Some("application/json"));
    assert!(throttled.header("x-amzn-requestid").is_some());
    assert!(
        throttled.header("x-amzn-ratelimit-limit").is_none(),
        "no rate header on a 429"
    );

    // Other operations and other sellers have buckets of their own.
    let other = h.add_seller(spec(2, &[US], 20));
    let other_token = h.token(&other).await;
    assert_eq!(
        h.create_report_raw(&other_token, create_body()).await.status,
        StatusCode::ACCEPTED
    );

    let stats = h.sandbox.stats(&seller.seller_id).expect("known seller");
    assert_eq!(stats[&Operation::CreateReport].calls, 16);
    assert_eq!(stats[&Operation::CreateReport].throttled, 1);
    assert_eq!(stats[&Operation::CreateReport].injected_throttles, 0);
}

#[tokio::test]
async fn the_bucket_refills_at_its_rate_of_clock_time() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    for _ in 0..15 {
        h.create_report_raw(&token, create_body()).await;
    }
    assert_eq!(
        h.create_report_raw(&token, create_body()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // 0.0167 per second: one token takes just under a minute.
    h.advance(TimeDelta::seconds(55));
    assert_eq!(
        h.create_report_raw(&token, create_body()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    h.advance(TimeDelta::seconds(5));
    assert_eq!(
        h.create_report_raw(&token, create_body()).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn the_rate_scale_multiplies_refills_and_the_rate_header() {
    let h = harness_with(|options| options.rate_scale = 60.0).await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    let first = h.create_report_raw(&token, create_body()).await;
    assert_eq!(first.header("x-amzn-ratelimit-limit"), Some("1.002"));
    for _ in 0..14 {
        h.create_report_raw(&token, create_body()).await;
    }
    assert_eq!(
        h.create_report_raw(&token, create_body()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    h.advance(TimeDelta::seconds(1));
    assert_eq!(
        h.create_report_raw(&token, create_body()).await.status,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn injected_throttles_and_server_errors_are_answered_and_counted_apart() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    let path = "/reports/2021-06-30/reports/50039018708";
    h.sandbox
        .inject(Fault::new(FaultKind::Throttle).on(Operation::GetReport).times(2));
    h.sandbox
        .inject(Fault::new(FaultKind::ServerError { status: 503 }).on(Operation::GetReport));
    h.sandbox
        .inject(Fault::new(FaultKind::ServerError { status: 500 }).on(Operation::GetReport));

    for _ in 0..2 {
        let answer = h.get(path, &token).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.body["errors"][0]["code"], "QuotaExceeded");
    }
    let unavailable = h.get(path, &token).await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(unavailable.header("x-amzn-ratelimit-limit").is_none());
    let internal = h.get(path, &token).await;
    assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(internal.body["errors"][0]["code"], "InternalFailure");
    assert_eq!(h.get(path, &token).await.status, StatusCode::NOT_FOUND);
    assert!(h.sandbox.faults().is_empty());

    let stats = h.sandbox.stats(&seller.seller_id).expect("known seller")[&Operation::GetReport];
    assert_eq!(stats.calls, 5);
    assert_eq!(stats.injected_throttles, 2);
    assert_eq!(stats.throttled, 0);
    assert_eq!(stats.all_throttled(), 2);
    assert_eq!(stats.injected_server_errors, 2);
    assert_eq!(stats.client_errors, 1);
}

#[tokio::test]
async fn a_fault_for_one_seller_leaves_the_others_alone() {
    let h = harness().await;
    let hit = h.add_seller(spec(1, &[US], 20));
    let spared = h.add_seller(spec(2, &[US], 20));
    let (hit_token, spared_token) = (h.token(&hit).await, h.token(&spared).await);
    h.sandbox
        .inject(Fault::new(FaultKind::Throttle).for_seller(&hit.seller_id));
    let path = "/reports/2021-06-30/reports/50039018708";
    assert_eq!(h.get(path, &spared_token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        h.get(path, &hit_token).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_slow_fault_holds_the_answer_back_in_wall_clock_time() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    h.sandbox
        .inject(Fault::new(FaultKind::slow(Duration::from_millis(300))).on(Operation::GetReport));
    let path = "/reports/2021-06-30/reports/50039018708";
    let started = Instant::now();
    let slow = h.get(path, &token).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(slow.status, StatusCode::NOT_FOUND);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    h.sandbox
        .inject(Fault::new(FaultKind::slow(Duration::from_millis(500))).on(Operation::GetReport));
    let timed_out = client
        .get(format!("{}{path}", h.sandbox.base_url()))
        .header("x-amz-access-token", &token)
        .send()
        .await;
    assert!(timed_out.is_err_and(|e| e.is_timeout()));
    let stats = h.sandbox.stats(&seller.seller_id).expect("known seller")[&Operation::GetReport];
    assert!(stats.slowed >= 1);
}

#[tokio::test]
async fn faults_aimed_at_downloads_and_lwa_answer_as_s3_and_lwa_do() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 40));
    let token = h.token(&seller).await;
    let id = h
        .create_report(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(3),
            epoch(),
        )
        .await;
    let report = h.finished_report(&token, &id).await;
    let meta = h
        .report_document(&token, report["reportDocumentId"].as_str().expect("document"))
        .await;
    let url = meta.body["url"].as_str().expect("url");
    h.sandbox
        .inject(Fault::new(FaultKind::ServerError { status: 500 }).on(Operation::DownloadDocument));
    h.sandbox
        .inject(Fault::new(FaultKind::Throttle).on(Operation::DownloadDocument));
    let internal = h.download(url).await;
    assert_eq!(internal.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(String::from_utf8_lossy(&internal.bytes).contains("<Code>InternalError</Code>"));
    let slow_down = h.download(url).await;
    assert_eq!(slow_down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&slow_down.bytes).contains("<Code>SlowDown</Code>"));
    assert_eq!(h.download(url).await.status, StatusCode::OK);

    h.sandbox
        .inject(Fault::new(FaultKind::ServerError { status: 500 }).on(Operation::LwaToken));
    let lwa = h.exchange(&seller.refresh_token).await;
    assert_eq!(lwa.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(lwa.body["error"], "server_error");

    let stats = h.sandbox.stats(&seller.seller_id).expect("known seller");
    let downloads = stats[&Operation::DownloadDocument];
    assert_eq!(
        (
            downloads.injected_server_errors,
            downloads.injected_throttles,
            downloads.succeeded
        ),
        (1, 1, 1)
    );
    assert_eq!(stats[&Operation::LwaToken].injected_server_errors, 1);
}
