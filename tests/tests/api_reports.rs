//! Report requests and backfills over real HTTP, against the sandbox: requested, tracked and listed; types
//! sellersync does not parse kept as raw documents; the createReport quota respected; a backfill walked
//! forward in 30-day windows, readable as it goes, resumed after a failure.

mod api_support;

use api_support::{Api, DE, US, epoch, seller_spec, start};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::sandbox::{Fault, FaultKind, Operation};

const FLAT: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";
const FBA: &str = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL";
const INVENTORY: &str = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA";

async fn reports(api: &Api, id: &str) -> Vec<Value> {
    let answer = api.get(&format!("/accounts/{id}/reports?limit=100")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_requested_report_is_tracked_to_its_outcome_and_unparsed_types_are_kept_raw() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(11, &[US], 30), "never").await;
    let orders = api
        .post(
            &format!("/accounts/{id}/reports"),
            json!({"reportType": FLAT, "dataStartTime": "2026-03-01T00:00:00Z", "dataEndTime": "2026-03-09T00:00:00Z"}),
        )
        .await;
    assert_eq!(orders.status, StatusCode::ACCEPTED, "{:?}", orders.body);
    assert_eq!(orders.body["status"], "pending");
    assert_eq!(orders.body["purpose"], "requested");
    assert_eq!(orders.body["dataStartTime"], "2026-03-01T00:00:00Z");
    let inventory = api
        .post(
            &format!("/accounts/{id}/reports"),
            json!({"reportType": INVENTORY}),
        )
        .await;
    assert_eq!(inventory.status, StatusCode::ACCEPTED, "{:?}", inventory.body);
    assert_eq!(inventory.body.get("dataStartTime"), None);

    let listed = reports(&api, &id).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["reportId"], inventory.body["reportId"], "newest first");

    api.advance(TimeDelta::minutes(2));
    api.poll_and_parse().await;
    let listed = reports(&api, &id).await;
    let by_type = |t: &str| listed.iter().find(|r| r["reportType"] == t).unwrap().clone();
    let imported = by_type(FLAT);
    assert_eq!(imported["status"], "imported", "{imported}");
    assert!(imported["summary"]["written"].as_u64().unwrap() > 0, "{imported}");
    let raw = by_type(INVENTORY);
    assert_eq!(raw["status"], "raw_document", "{raw}");
    assert!(raw["reportDocumentId"].as_str().is_some());
    // A copy as Amazon sent it, in the raw documents bucket.
    let location = raw["documentLocation"].as_str().expect("a location");
    let bucket = api.resources.get("RawDocumentsBucket").unwrap();
    let key = location
        .strip_prefix(&format!("s3://{bucket}/"))
        .unwrap_or_else(|| panic!("{location} is not in {bucket}"));
    assert!(key.starts_with(&format!("{id}/{INVENTORY}/")), "{key}");
    let object = api
        .stack
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let content_type = object.content_type().unwrap_or_default().to_owned();
    let gzip = object.content_encoding() == Some("gzip");
    let bytes = object.body.collect().await.unwrap().into_bytes();
    let text = if gzip {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out).unwrap();
        out
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    assert!(content_type.starts_with("text/"), "{content_type}");
    assert!(
        text.lines().count() >= 1 && text.contains('\t'),
        "a tab-separated report: {text:?}"
    );

    let stored = api.get(&format!("/accounts/{id}/orders?limit=100")).await;
    assert!(
        !stored.body["items"].as_array().unwrap().is_empty(),
        "the report's orders are readable"
    );
}

#[tokio::test]
async fn bad_report_requests_name_the_field() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(12, &[US], 5), "never").await;
    let path = format!("/accounts/{id}/reports");
    let cases = [
        (json!({"reportType": "GET_NO_SUCH_REPORT"}), "reportType"),
        (json!({}), "reportType"),
        (json!({"reportType": FLAT}), "dataStartTime"),
        (
            json!({"reportType": FLAT, "dataStartTime": "2026-01-01T00:00:00Z", "dataEndTime": "2026-03-01T00:00:00Z"}),
            "dataEndTime",
        ),
        (
            json!({"reportType": FLAT, "dataStartTime": "2026-03-08T00:00:00Z", "dataEndTime": "2026-04-01T00:00:00Z"}),
            "dataEndTime",
        ),
        (
            json!({"reportType": FLAT, "dataStartTime": "2026-03-08T00:00:00Z", "dataEndTime": "2026-03-07T00:00:00Z"}),
            "dataStartTime",
        ),
        (
            json!({"reportType": FLAT, "dataStartTime": "yesterday"}),
            "dataStartTime",
        ),
        (
            json!({"reportType": INVENTORY, "marketplaceIds": [DE]}),
            "marketplaceIds[0]",
        ),
    ];
    for (body, field) in cases {
        let answer = api.post(&path, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {:?}",
            answer.body
        );
        assert_eq!(answer.field(), Some(field), "{body}: {:?}", answer.body);
    }
    let backfill = format!("/accounts/{id}/backfill");
    for (body, field) in [
        (json!({}), "startDate"),
        (json!({"startDate": "2023-01-01T00:00:00Z"}), "startDate"),
        (
            json!({"startDate": "2026-03-01T00:00:00Z", "reportTypes": [INVENTORY]}),
            "reportTypes[0]",
        ),
        (
            json!({"startDate": "2026-03-01T00:00:00Z", "endDate": "2027-01-01T00:00:00Z"}),
            "endDate",
        ),
    ] {
        let answer = api.post(&backfill, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {:?}",
            answer.body
        );
        assert_eq!(answer.field(), Some(field), "{body}: {:?}", answer.body);
    }
    assert!(reports(&api, &id).await.is_empty(), "nothing was requested");
}

#[tokio::test]
async fn an_empty_create_report_bucket_answers_429_and_frees_the_idempotency_key() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(13, &[US], 5), "never").await;
    let path = format!("/accounts/{id}/reports");
    let body = json!({"reportType": INVENTORY});
    for n in 0..15 {
        let answer = api.post(&path, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::ACCEPTED,
            "request {n}: {:?}",
            answer.body
        );
    }
    let refused = api.post_with_key(&path, "inventory-16", body.clone()).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:?}",
        refused.body
    );
    assert_eq!(refused.code(), Some("quota_exhausted"));
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");

    api.advance(TimeDelta::seconds(wait as i64));
    let retried = api.post_with_key(&path, "inventory-16", body).await;
    assert_eq!(
        retried.status,
        StatusCode::ACCEPTED,
        "the key was freed: {:?}",
        retried.body
    );
    assert_eq!(retried.header("idempotent-replayed"), Some("false"));
}

#[tokio::test]
async fn a_backfill_walks_thirty_day_windows_forward_and_resumes_after_a_failure() {
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(14, &[US], 40), "never").await;
    let start_date = epoch() - TimeDelta::days(70);
    let body = json!({"startDate": start_date.to_rfc3339()});
    let path = format!("/accounts/{id}/backfill");

    // The seller has withdrawn the authorization: the backfill starts, stopped, with the reason.
    api.sandbox.deauthorize(&seller.seller_id).unwrap();
    let started = api.post_with_key(&path, "backfill-1", body.clone()).await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{:?}", started.body);
    let backfill_id = started.body["id"].as_str().unwrap().to_owned();
    let location = format!("/accounts/{id}/backfills/{backfill_id}");
    assert_eq!(started.header("location"), Some(location.as_str()));
    assert_eq!(started.body["status"], "running");
    assert_eq!(started.body["reportTypes"], json!([FLAT, FBA]));
    assert_eq!(started.body["progress"]["requested"], 0);
    assert!(
        started.body["lastError"].as_str().unwrap().contains("denied"),
        "{:?}",
        started.body
    );
    // 70 days: windows of 30, 30 and 10 days, two report types each, oldest first.
    let windows = started.body["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 6);
    assert_eq!(
        windows[0]["dataStartTime"].as_str().unwrap(),
        start_date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(windows[5]["dataEndTime"], started.body["endDate"]);
    let replay = api.post_with_key(&path, "backfill-1", body).await;
    assert_eq!(
        replay.body["id"], started.body["id"],
        "a retried POST starts no second backfill"
    );
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));

    // Authorized again, the walk resumes from its first window, four in flight at most, and finishes.
    api.sandbox.reauthorize(&seller.seller_id).unwrap();
    api.advance(TimeDelta::minutes(16));
    api.poll_and_parse().await;
    let resumed = api.get(&location).await.body;
    assert_eq!(resumed["progress"]["requested"], 4, "{resumed}");
    assert_eq!(resumed["windows"][0]["status"], "requested");
    assert_eq!(resumed["windows"][4]["status"], "waiting");
    assert_eq!(resumed.get("lastError"), None);
    for _ in 0..6 {
        api.advance(TimeDelta::minutes(2));
        api.poll_and_parse().await;
        if api.get(&location).await.body["status"] != "running" {
            break;
        }
    }
    let done = api.get(&location).await.body;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"]["settled"], 6);

    let jobs = reports(&api, &id).await;
    let backfill_jobs: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["backfillId"] == backfill_id.as_str())
        .collect();
    assert_eq!(backfill_jobs.len(), 6, "{jobs:?}");
    assert!(backfill_jobs.iter().all(|j| j["purpose"] == "backfill"));
    let orders = api.get(&format!("/accounts/{id}/orders?limit=100")).await;
    assert!(
        !orders.body["items"].as_array().unwrap().is_empty(),
        "the history was imported"
    );
}

#[tokio::test]
async fn a_backfill_amazon_throttles_marks_the_account_throttled_as_the_import_does() {
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(15, &[US], 10), "never").await;
    let account = api.get(&format!("/accounts/{id}")).await.body;
    assert_eq!(account["status"].get("lastThrottledAt"), None, "{account}");
    api.sandbox.inject(
        Fault::new(FaultKind::Throttle)
            .on(Operation::CreateReport)
            .for_seller(&seller.seller_id)
            .times(100),
    );
    let body = json!({"startDate": (epoch() - TimeDelta::days(20)).to_rfc3339()});
    let started = api
        .post_with_key(&format!("/accounts/{id}/backfill"), "backfill-throttled", body)
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{:?}", started.body);
    assert!(
        started.body["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("throttl"),
        "{:?}",
        started.body
    );
    // The account says so, as it does when the scheduled import is throttled.
    let account = api.get(&format!("/accounts/{id}")).await.body;
    assert!(account["status"]["lastThrottledAt"].is_string(), "{account}");
    assert_eq!(account["status"]["problem"]["kind"], "throttled", "{account}");
}
