//! `GET /accounts/{id}/health` against the SP-API sandbox: the right cause, in words a seller acts on, for each
//! fault the sandbox injects, and healthy when there is none.

mod api_support;

use api_support::{Api, US, epoch, seller_spec, start};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::sandbox::{Fault, FaultKind, Operation};

async fn health(api: &Api, id: &str) -> Value {
    let answer = api.get(&format!("/accounts/{id}/health")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body
}

fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().expect("a timestamp").parse().expect("RFC 3339")
}

#[tokio::test]
async fn a_working_account_is_healthy_with_its_next_run_and_nothing_in_flight() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(1, &[US], 5), "15m").await;
    api.advance(TimeDelta::minutes(20));

    let health = health(&api, &id).await;
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!(health["connection"]["state"], "connected");
    assert_eq!(health.get("cause"), None);
    assert_eq!(health["scheduleEnabled"], true);
    assert_eq!(health["reportsInFlight"], 0);
    assert_eq!(health["throttling"]["recent"], false);
    // Connected at the epoch, every 15 minutes: the tick after now (epoch + 20 min) is at epoch + 30 min.
    assert_eq!(
        time(&health["nextScheduledRun"]),
        epoch() + TimeDelta::minutes(30)
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_is_named_with_what_to_do() {
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(2, &[US], 5), "15m").await;
    assert_eq!(health(&api, &id).await["status"], "healthy");
    api.sandbox.revoke_refresh_token(&seller.seller_id).unwrap();

    // The access token from the first check would still work for an hour; the check exchanges anew.
    let health = health(&api, &id).await;
    assert_eq!(health["status"], "failing", "{health}");
    assert_eq!(health["connection"]["state"], "failed");
    assert_eq!(health["cause"]["kind"], "refresh_token_revoked");
    assert_eq!(health["cause"]["needsAction"], true);
    assert!(
        health["cause"]["advice"]
            .as_str()
            .unwrap()
            .contains("authorize the app again")
    );
}

#[tokio::test]
async fn a_withdrawn_authorization_is_access_denied() {
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(3, &[US], 5), "15m").await;
    api.sandbox.deauthorize(&seller.seller_id).unwrap();

    // A call that needs Amazon now is the account's state to fix, not a server error.
    let report = api
        .post(
            &format!("/accounts/{id}/reports"),
            serde_json::json!({"reportType": "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING"}),
        )
        .await;
    assert_eq!(
        (report.status, report.code()),
        (reqwest::StatusCode::CONFLICT, Some("account_not_authorized")),
        "{:?}",
        report.body
    );

    let health = health(&api, &id).await;
    assert_eq!(health["status"], "failing", "{health}");
    assert_eq!(health["cause"]["kind"], "access_denied");
    assert!(
        health["cause"]["advice"]
            .as_str()
            .unwrap()
            .contains("Seller Central")
    );

    api.sandbox.reauthorize(&seller.seller_id).unwrap();
    assert_eq!(self::health(&api, &id).await["status"], "healthy");
}

#[tokio::test]
async fn an_ineligible_account_is_told_apart_from_a_withdrawn_authorization() {
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(4, &[US], 5), "15m").await;
    api.sandbox.set_ineligible(&seller.seller_id, true).unwrap();

    let health = health(&api, &id).await;
    assert_eq!(health["cause"]["kind"], "ineligible", "{health}");
    assert!(
        health["cause"]["advice"]
            .as_str()
            .unwrap()
            .contains("Professional")
    );
}

#[tokio::test]
async fn throttling_is_a_passing_cause_that_needs_nothing_done() {
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(5, &[US], 5), "15m").await;
    api.sandbox.inject(
        Fault::new(FaultKind::Throttle)
            .on(Operation::GetReports)
            .for_seller(&seller.seller_id)
            .times(2),
    );

    let health = health(&api, &id).await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["cause"]["kind"], "throttled");
    assert_eq!(health["cause"]["needsAction"], false);
    assert!(health["cause"]["advice"].as_str().unwrap().contains("catches up"));
}

#[tokio::test]
async fn a_fatal_report_is_named_with_amazons_reason() {
    let api = start().await;
    let (seller, id) = api.connect(seller_spec(6, &[US], 5), "15m").await;
    api.sandbox.inject(
        Fault::new(FaultKind::Fatal)
            .on(Operation::CreateReport)
            .for_seller(&seller.seller_id),
    );
    let requested = api
        .post(
            &format!("/accounts/{id}/reports"),
            json!({
                "reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
                "dataStartTime": "2026-03-05T00:00:00Z",
                "dataEndTime": "2026-03-06T00:00:00Z",
            }),
        )
        .await;
    assert_eq!(requested.status, StatusCode::ACCEPTED, "{:?}", requested.body);
    assert_eq!(health(&api, &id).await["reportsInFlight"], 1);

    api.advance(TimeDelta::minutes(2));
    api.poll_and_parse().await;

    let health = health(&api, &id).await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["cause"]["kind"], "report_fatal");
    assert!(
        health["cause"]["detail"]
            .as_str()
            .unwrap()
            .contains(requested.body["reportId"].as_str().unwrap())
    );
    assert_eq!(
        health["lastError"]["kind"], "report_fatal",
        "the poller recorded it too"
    );
    assert_eq!(health["reportsInFlight"], 0);
}

#[tokio::test]
async fn an_import_interval_of_never_is_no_schedule() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(7, &[US], 5), "never").await;

    let health = health(&api, &id).await;
    assert_eq!(health["status"], "failing", "{health}");
    assert_eq!(health["cause"]["kind"], "no_schedule");
    assert_eq!(health["scheduleEnabled"], false);
    assert_eq!(health.get("nextScheduledRun"), None);
}

#[tokio::test]
async fn an_application_secret_near_its_expiry_or_a_failed_rotation_degrades_every_account() {
    let api = start().await;
    let (_, id) = api.connect(seller_spec(9, &[US], 5), "15m").await;
    let secrets = &api.import.secrets;
    let stored = |expires: DateTime<Utc>, failed: Option<&str>| {
        let mut value = json!({"clientId": "amzn1.application-oa2-client.x", "clientSecret": "s",
                               "expiresAt": expires});
        if let Some(reason) = failed {
            value["rotationFailed"] = json!({"at": epoch(), "reason": reason});
        }
        value.to_string()
    };
    // A month left: nothing to say (the rotation is due but has time).
    secrets
        .put(
            &api.naming.lwa_secret,
            &stored(epoch() + TimeDelta::days(30), None),
        )
        .await
        .unwrap();
    assert_eq!(health(&api, &id).await["status"], "healthy");

    secrets
        .put(
            &api.naming.lwa_secret,
            &stored(epoch() + TimeDelta::days(10), None),
        )
        .await
        .unwrap();
    let near = health(&api, &id).await;
    assert_eq!(near["status"], "degraded", "{near}");
    assert_eq!(near["cause"]["kind"], "credentials_expiring");
    assert!(
        near["cause"]["advice"].as_str().unwrap().contains("rotate"),
        "{near}"
    );

    secrets
        .put(
            &api.naming.lwa_secret,
            &stored(
                epoch() + TimeDelta::days(90),
                Some("Amazon refused: 403 Unauthorized"),
            ),
        )
        .await
        .unwrap();
    let failed = health(&api, &id).await;
    assert_eq!(failed["cause"]["kind"], "credentials_expiring", "{failed}");
    assert!(
        failed["cause"]["detail"]
            .as_str()
            .unwrap()
            .contains("403 Unauthorized"),
        "{failed}"
    );
}
