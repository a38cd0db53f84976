//! The sandbox's Reports API: validation as the model says, job lifecycle, FATAL and CANCELLED outcomes,
//! filtering and paging.

mod sandbox_support;

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use sandbox_support::{DE, FR, US, epoch, harness, spec};
use serde_json::json;
use tests::sandbox::{ALL_ORDERS_BY_LAST_UPDATE, FBA_SHIPMENTS, Fault, FaultKind, Operation};

#[tokio::test]
async fn create_report_without_required_fields_gets_amazons_400_body() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    let answer = h.create_report_raw(&token, json!({})).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        json!({"errors":[{"code":"InvalidInput","message":"One or more required parameters missing",
                          "details":"marketplaceIds;reportType;"}]})
    );
    assert_eq!(answer.header("x-amzn-ratelimit-limit"), Some("0.0167"));
    assert_eq!(answer.header("content-type"), Some("application/json"));

    let no_type = h.create_report_raw(&token, json!({"marketplaceIds": [US]})).await;
    assert_eq!(no_type.body["errors"][0]["details"], "reportType;");
}

#[tokio::test]
async fn create_report_rejects_unknown_types_foreign_marketplaces_and_inverted_windows() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[DE, FR], 20));
    let token = h.token(&seller).await;
    let cases = [
        (
            json!({"reportType": "BAD_FEE_DISCOUNTS_REPORT", "marketplaceIds": [DE]}),
            "Invalid Report Type",
        ),
        (
            json!({"reportType": ALL_ORDERS_BY_LAST_UPDATE, "marketplaceIds": [US]}),
            "could not be applied",
        ),
        (
            json!({"reportType": ALL_ORDERS_BY_LAST_UPDATE, "marketplaceIds": []}),
            "marketplaceIds",
        ),
        (
            json!({"reportType": ALL_ORDERS_BY_LAST_UPDATE, "marketplaceIds": ["NOPE"]}),
            "NOPE",
        ),
        (
            json!({"reportType": ALL_ORDERS_BY_LAST_UPDATE, "marketplaceIds": [DE],
                   "dataStartTime": "2025-03-09T00:00:00Z", "dataEndTime": "2025-03-08T00:00:00Z"}),
            "dataStartTime is after dataEndTime",
        ),
        (
            json!({"reportType": ALL_ORDERS_BY_LAST_UPDATE, "marketplaceIds": [DE], "dataStartTime": "yesterday"}),
            "dataStartTime",
        ),
        (
            json!({"reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2", "marketplaceIds": [DE]}),
            "not allowed",
        ),
        (
            json!({"reportType": ALL_ORDERS_BY_LAST_UPDATE, "marketplaceIds": DE}),
            "Could not match",
        ),
        (
            json!({"reportType": ALL_ORDERS_BY_LAST_UPDATE, "marketplaceIds": [DE], "reportOptions": {"n": 1}}),
            "Could not match",
        ),
    ];
    for (body, expected) in cases {
        let answer = h.create_report_raw(&token, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer.body["errors"][0]["code"], "InvalidInput", "{body}");
        let message = answer.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body} → {message}");
    }
}

#[tokio::test]
async fn a_report_moves_from_in_queue_through_in_progress_to_done() {
    let h = harness().await;
    let seller = h.add_seller(spec(2, &[US], 100));
    let token = h.token(&seller).await;
    let id = h
        .create_report(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(2),
            epoch(),
        )
        .await;
    let path = format!("/reports/2021-06-30/reports/{id}");
    let queued = h.get(&path, &token).await;
    assert_eq!(queued.body["processingStatus"], "IN_QUEUE");
    assert_eq!(queued.body["reportType"], ALL_ORDERS_BY_LAST_UPDATE);
    assert_eq!(queued.body["marketplaceIds"], json!([US]));
    assert_eq!(queued.body["createdTime"], "2025-03-10T12:00:00+00:00");
    assert!(queued.body.get("processingStartTime").is_none());
    assert_eq!(queued.header("x-amzn-ratelimit-limit"), Some("2.0"));

    h.advance(TimeDelta::seconds(20));
    let running = h.get(&path, &token).await;
    assert_eq!(running.body["processingStatus"], "IN_PROGRESS");
    assert!(running.body["processingStartTime"].is_string());
    assert!(running.body.get("reportDocumentId").is_none());

    h.advance(TimeDelta::seconds(30));
    let done = h.get(&path, &token).await;
    assert_eq!(done.body["processingStatus"], "DONE", "{:?}", done.body);
    assert!(
        done.body["reportDocumentId"]
            .as_str()
            .is_some_and(|d| d.starts_with("amzn1.spdoc.1.4.na."))
    );
    assert_eq!(done.body["processingEndTime"], "2025-03-10T12:00:45+00:00");
}

#[tokio::test]
async fn a_31_day_window_ends_fatal_with_an_error_document() {
    let h = harness().await;
    let seller = h.add_seller(spec(2, &[US], 50));
    let token = h.token(&seller).await;
    let id = h
        .create_report(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(31),
            epoch(),
        )
        .await;
    let report = h.finished_report(&token, &id).await;
    assert_eq!(report["processingStatus"], "FATAL");
    let document_id = report["reportDocumentId"].as_str().expect("error document");
    let meta = h.report_document(&token, document_id).await;
    let download = h.download(meta.body["url"].as_str().expect("url")).await;
    let error: serde_json::Value = serde_json::from_slice(&download.bytes).expect("JSON error document");
    assert!(
        error["errorDetails"]
            .as_str()
            .is_some_and(|d| d.contains("30 days")),
        "{error}"
    );

    // Exactly 30 days is allowed.
    let ok = h
        .create_report(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(30),
            epoch(),
        )
        .await;
    assert_eq!(h.finished_report(&token, &ok).await["processingStatus"], "DONE");
}

#[tokio::test]
async fn an_empty_window_ends_cancelled_without_a_document() {
    let h = harness().await;
    let seller = h.add_seller(spec(2, &[US], 50));
    let token = h.token(&seller).await;
    let id = h
        .create_report(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(20),
            epoch() - TimeDelta::days(10),
        )
        .await;
    let report = h.finished_report(&token, &id).await;
    assert_eq!(report["processingStatus"], "CANCELLED");
    assert!(report.get("reportDocumentId").is_none());
    assert!(report["processingEndTime"].is_string());

    // Without dates both default to now: an empty window too.
    let defaulted = h
        .create_report_raw(
            &token,
            json!({"reportType": ALL_ORDERS_BY_LAST_UPDATE, "marketplaceIds": [US]}),
        )
        .await;
    let id = defaulted.body["reportId"].as_str().expect("created");
    assert_eq!(
        h.finished_report(&token, id).await["processingStatus"],
        "CANCELLED"
    );
}

#[tokio::test]
async fn a_fatal_fault_ends_the_next_report_fatal() {
    let h = harness().await;
    let seller = h.add_seller(spec(2, &[US], 50));
    let token = h.token(&seller).await;
    h.sandbox
        .inject(Fault::new(FaultKind::Fatal).for_seller(&seller.seller_id));
    let start = epoch() - TimeDelta::days(2);
    let doomed = h
        .create_report(&token, ALL_ORDERS_BY_LAST_UPDATE, &[US], start, epoch())
        .await;
    let fine = h
        .create_report(&token, ALL_ORDERS_BY_LAST_UPDATE, &[US], start, epoch())
        .await;
    assert_eq!(
        h.finished_report(&token, &doomed).await["processingStatus"],
        "FATAL"
    );
    assert_eq!(h.finished_report(&token, &fine).await["processingStatus"], "DONE");
}

#[tokio::test]
async fn cancel_report_cancels_only_queued_reports_and_unknown_ids_are_not_found() {
    let h = harness().await;
    let seller = h.add_seller(spec(2, &[US], 50));
    let token = h.token(&seller).await;
    let start = epoch() - TimeDelta::days(2);
    let queued = h
        .create_report(&token, ALL_ORDERS_BY_LAST_UPDATE, &[US], start, epoch())
        .await;
    let path = format!("/reports/2021-06-30/reports/{queued}");
    let cancelled = h.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    h.advance(TimeDelta::minutes(5));
    assert_eq!(h.get(&path, &token).await.body["processingStatus"], "CANCELLED");

    let running = h
        .create_report(&token, ALL_ORDERS_BY_LAST_UPDATE, &[US], start, epoch())
        .await;
    h.advance(TimeDelta::seconds(20));
    let too_late = h
        .call(
            Method::DELETE,
            &format!("/reports/2021-06-30/reports/{running}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(too_late.status, StatusCode::BAD_REQUEST);

    let missing = h.get("/reports/2021-06-30/reports/1234567", &token).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.body,
        json!({"errors":[{"code":"NotFound","message":"One or more of the provided ReportRequestIds could not be found."}]})
    );
    assert_eq!(missing.header("x-amzn-ratelimit-limit"), Some("2.0"));

    // Another seller's report is not found either.
    let other = h.add_seller(spec(3, &[US], 10));
    let other_token = h.token(&other).await;
    assert_eq!(h.get(&path, &other_token).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn get_reports_filters_newest_first_and_pages_with_next_token() {
    let h = harness_with_fast_buckets().await;
    let seller = h.add_seller(spec(2, &[DE, FR], 80));
    let token = h.token(&seller).await;
    let start = epoch() - TimeDelta::days(2);
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            h.create_report(&token, ALL_ORDERS_BY_LAST_UPDATE, &[DE], start, epoch())
                .await,
        );
        h.advance(TimeDelta::minutes(1 + n));
    }
    let fba = h
        .create_report(&token, FBA_SHIPMENTS, &[FR], start, epoch())
        .await;

    let first = h
        .get(
            &format!("/reports/2021-06-30/reports?reportTypes={ALL_ORDERS_BY_LAST_UPDATE}&pageSize=2"),
            &token,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let page_ids = |body: &serde_json::Value| {
        body["reports"]
            .as_array()
            .expect("reports")
            .iter()
            .map(|r| r["reportId"].as_str().expect("id").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(page_ids(&first.body), [ids[4].clone(), ids[3].clone()]);
    let token_param = first.body["nextToken"].as_str().expect("more pages").to_owned();
    let encoded: String =
        serde_urlencoded::to_string([("nextToken", token_param.as_str())]).expect("encodes");
    let second = h
        .get(&format!("/reports/2021-06-30/reports?{encoded}"), &token)
        .await;
    assert_eq!(page_ids(&second.body), [ids[2].clone(), ids[1].clone()]);
    let retried = h
        .get(&format!("/reports/2021-06-30/reports?{encoded}"), &token)
        .await;
    assert_eq!(
        page_ids(&retried.body),
        page_ids(&second.body),
        "a page can be read again"
    );

    let mixed = h
        .get(
            &format!("/reports/2021-06-30/reports?{encoded}&pageSize=2"),
            &token,
        )
        .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST);

    let done_fr = h
        .get(
            &format!(
                "/reports/2021-06-30/reports?reportTypes={ALL_ORDERS_BY_LAST_UPDATE},{FBA_SHIPMENTS}\
                 &processingStatuses=IN_QUEUE,IN_PROGRESS&marketplaceIds={FR}"
            ),
            &token,
        )
        .await;
    assert_eq!(page_ids(&done_fr.body), [fba]);

    let bad_status = h
        .get(
            &format!("/reports/2021-06-30/reports?reportTypes={ALL_ORDERS_BY_LAST_UPDATE}&processingStatuses=BAD_VALUE"),
            &token,
        )
        .await;
    assert_eq!(bad_status.status, StatusCode::BAD_REQUEST);
    let neither = h.get("/reports/2021-06-30/reports", &token).await;
    assert_eq!(neither.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        neither.body["errors"][0]["message"],
        "One or more required parameters missing"
    );
}

async fn harness_with_fast_buckets() -> sandbox_support::Harness {
    sandbox_support::harness_with(|options| options.rate_scale = 1000.0).await
}

#[tokio::test]
async fn the_sandboxs_view_of_a_report_lists_the_orders_it_holds() {
    let h = harness().await;
    let seller = h.add_seller(spec(4, &[US], 120));
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
    h.finished_report(&token, &id).await;
    let reports = h.sandbox.reports(&seller.seller_id).expect("known seller");
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].report_id, id);
    assert!(!reports[0].orders.is_empty());
    let stats = h.sandbox.stats(&seller.seller_id).expect("known seller");
    assert_eq!(stats[&Operation::CreateReport].succeeded, 1);
    assert_eq!(stats[&Operation::GetReport].calls, 1);
}
