//! The whole import through the local runner (schedule ticks, the report poller, the parse queue, the real
//! handlers) against the SP-API sandbox on a fast clock: a generated seller's orders reach DynamoDB exactly once
//! and current, through overlapping windows, late arrivals and status changes, with and without faults.

use chrono::TimeDelta;
use shared::app::accounts::{AccountChanges, RefreshToken};
use shared::domain::{Connection, JobPurpose, ProblemKind};
use shared::metrics::{ACCOUNT_DISCONNECTED, IMPORT_OVERDUE, IMPORT_SUCCEEDED, SP_API_THROTTLED};
use tests::logs::CapturedLogs;
use tests::runner::scenario::{Scenario, ScenarioSettings};
use tests::sandbox::{Fault, FaultKind, Operation, SellerStats};
use tests::stack::LocalStack;

async fn scenario(settings: ScenarioSettings) -> Scenario {
    let stack = LocalStack::with_own_dynamodb().await.unwrap();
    Scenario::start(stack, settings).await.unwrap()
}

fn throttled_by_buckets(stats: &SellerStats) -> u64 {
    stats.values().map(|s| s.throttled).sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_orders_in_three_marketplaces_arrive_exactly_once_and_current_and_a_rerun_writes_nothing()
 {
    let logs = CapturedLogs::install().unwrap();
    let mut scenario = scenario(ScenarioSettings {
        orders: 2000,
        // The import by reports alone, at scale. Notifications have tests of their own
        // (notifications_end_to_end): here every change of 2,000 orders over five days of a clock 3,600 times
        // faster than the wall's would arrive within minutes of wall time, for one thread to take one after
        // another, where Lambda takes them side by side.
        notifications: false,
        ..ScenarioSettings::default()
    })
    .await;
    scenario.run_to_the_end().await.unwrap();

    let report = scenario.report().await.unwrap();
    eprintln!("{report}");
    let comparison = &report.comparison;
    assert_eq!(comparison.truth, 2000, "{report}");
    assert!(comparison.is_exact(), "{report}");
    let marketplaces: std::collections::BTreeSet<_> = scenario
        .stored_orders()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|order| order.marketplace_id)
        .collect();
    assert_eq!(marketplaces.len(), 3, "{marketplaces:?}");
    assert!(
        report.imports.unchanged > 0,
        "overlapping windows re-read orders: {report}"
    );
    assert_eq!(
        throttled_by_buckets(&report.calls),
        0,
        "our own pacing caused 429s: {report}"
    );
    let metrics = &scenario.runner.import.metrics;
    assert_eq!(metrics.recorded_sum(SP_API_THROTTLED), 0.0);
    assert_eq!(
        metrics.recorded_sum(IMPORT_SUCCEEDED),
        report.jobs["imported"] as f64,
        "one ImportSucceeded per imported report: {report}"
    );
    let account = scenario.account_id.as_str();
    assert_eq!(
        metrics.recorded_latest(IMPORT_OVERDUE, "AccountId", account),
        Some(0.0)
    );

    // A consumer of the bus heard of each order once and of each status change reports showed once.
    let events = &report.events;
    assert!(events.problems.is_empty(), "{report}");
    assert_eq!(events.by_type.get("Order Created"), Some(&2000), "{report}");
    // Recipient changes (getOrder's PII becoming readable) are apart from changes of the order. Every change
    // reports showed is published, and nothing but real changes: getOrder, read every minute, can publish a
    // change that reports fold into the next one (two changes between two imports), never one that did not
    // happen, and never one twice (the tally's problems).
    let changed = events.by_type.get("Order Changed").copied().unwrap_or(0) - events.recipient_changes;
    assert!(changed >= events.reported_changes, "{report}");
    assert!(changed <= events.real_changes, "{report}");

    let (reports, written) = scenario.reimport_everything().await.unwrap();
    assert!(reports > 10, "{reports} reports");
    assert_eq!(
        written, 0,
        "importing {reports} reports again wrote {written} records"
    );
    let after = scenario.compare().await.unwrap();
    assert!(after.is_exact(), "{after:?}");
    // The re-read wrote no order, so it published nothing. (Only the orders' stream: the state table's holds
    // the re-read's rate-bucket updates, which DynamoDB Local would take minutes to hand over.)
    scenario.runner.pump_stream("OrdersTable").await.unwrap();
    let events_after = scenario.events().await.unwrap();
    assert_eq!(events_after.received, events.received, "{events_after:?}");
    // The run's whole log (as CloudWatch would hold it) names none of the buyers, recipients, streets, phones
    // or e-mails Amazon gave for this seller's orders.
    let log = logs.text();
    assert!(
        log.contains("report imported") && log.contains("orders completed with getOrder"),
        "the log was not captured: {} bytes",
        log.len()
    );
    let pii = scenario.sandbox.pii_values(&scenario.seller.seller_id).unwrap();
    assert!(pii.len() > 100, "{} PII values", pii.len());
    let leaked: Vec<&String> = pii.iter().filter(|value| log.contains(value.as_str())).collect();
    assert!(
        leaked.is_empty(),
        "{} PII values in the log, e.g. a value of {} characters",
        leaked.len(),
        leaked[0].len()
    );
    eprintln!(
        "log of the run: {} lines, {} bytes, none of {} PII values",
        log.lines().count(),
        log.len(),
        pii.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_throttling_server_errors_and_truncated_documents_the_import_ends_in_the_same_state() {
    let mut scenario = scenario(ScenarioSettings {
        seed: 11,
        orders: 800,
        ..ScenarioSettings::default()
    })
    .await;
    let seller = scenario.seller.seller_id.clone();
    let faults = [
        Fault::new(FaultKind::Throttle)
            .on(Operation::CreateReport)
            .times(3),
        Fault::new(FaultKind::Throttle).on(Operation::GetReport).times(5),
        Fault::new(FaultKind::ServerError { status: 500 })
            .on(Operation::GetReport)
            .times(3),
        Fault::new(FaultKind::ServerError { status: 503 })
            .on(Operation::GetReportDocument)
            .times(2),
        Fault::new(FaultKind::ServerError { status: 500 })
            .on(Operation::LwaToken)
            .times(2),
        // A document cut short: the parser stores what it read, fails, and the redelivery completes it.
        Fault::new(FaultKind::TruncateDocument)
            .on(Operation::DownloadDocument)
            .times(3),
        Fault::new(FaultKind::ServerError { status: 503 })
            .on(Operation::DownloadDocument)
            .times(2),
    ];
    for fault in faults {
        scenario.sandbox.inject(fault.for_seller(&seller));
    }
    scenario.run_to_the_end().await.unwrap();

    assert!(
        scenario.sandbox.faults().is_empty(),
        "every fault was hit: {:?}",
        scenario.sandbox.faults()
    );
    let report = scenario.report().await.unwrap();
    assert!(report.comparison.is_exact(), "{report}");
    assert!(
        report.messages_failed >= 3,
        "truncated documents failed their parse: {report}"
    );
    let stats = &report.calls;
    assert!(stats[&Operation::DownloadDocument].truncated >= 3, "{report}");
    let sp_api_429s: u64 = stats
        .iter()
        .filter(|(operation, _)| **operation != Operation::LwaToken)
        .map(|(_, s)| s.all_throttled())
        .sum();
    assert_eq!(sp_api_429s, 8, "{report}");
    assert_eq!(
        scenario.runner.import.metrics.recorded_sum(SP_API_THROTTLED),
        sp_api_429s as f64,
        "every 429 is counted for the throttling alarm"
    );
    let (_, written) = scenario.reimport_everything().await.unwrap();
    assert_eq!(written, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_refresh_token_disconnects_the_account_and_a_new_one_resumes_with_no_gap() {
    let mut scenario = scenario(ScenarioSettings {
        seed: 23,
        orders: 400,
        arrivals: TimeDelta::days(2),
        ..ScenarioSettings::default()
    })
    .await;
    let clock = scenario.runner.clock();
    let seller = scenario.seller.seller_id.clone();
    scenario
        .runner
        .run_until(
            clock.now() + TimeDelta::hours(12),
            std::time::Duration::from_millis(20),
        )
        .await
        .unwrap();
    scenario.sandbox.revoke_refresh_token(&seller).unwrap();
    // Issued access tokens live an hour; after that every exchange answers invalid_grant.
    scenario
        .runner
        .run_until(
            clock.now() + TimeDelta::hours(18),
            std::time::Duration::from_millis(20),
        )
        .await
        .unwrap();
    let record = scenario
        .runner
        .import
        .accounts
        .get_account(&scenario.account_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status.connection, Connection::Disconnected);
    let metrics = scenario.runner.import.metrics.clone();
    let account = scenario.account_id.clone();
    let gauge = |name| metrics.recorded_latest(name, "AccountId", &account);
    assert_eq!(gauge(ACCOUNT_DISCONNECTED), Some(1.0), "the alarm's gauge");
    assert_eq!(gauge(IMPORT_OVERDUE), Some(1.0), "hours without an import");
    let problem = record.status.problem.expect("a classified problem");
    assert_eq!(problem.kind, ProblemKind::RefreshTokenRevoked, "{problem:?}");
    assert!(
        !problem.detail.contains(&scenario.seller.refresh_token),
        "the token never appears in the problem"
    );

    let token = scenario.sandbox.issue_refresh_token(&seller).unwrap();
    scenario
        .runner
        .accounts
        .update(
            &scenario.account_id,
            AccountChanges {
                refresh_token: Some(RefreshToken::parse("refreshToken", &token).unwrap()),
                ..AccountChanges::default()
            },
        )
        .await
        .unwrap();
    scenario.run_to_the_end().await.unwrap();

    let record = scenario
        .runner
        .import
        .accounts
        .get_account(&scenario.account_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status.connection, Connection::Connected);
    assert!(record.status.problem.is_none(), "{:?}", record.status.problem);
    assert_eq!(gauge(ACCOUNT_DISCONNECTED), Some(0.0), "the alarm clears");
    assert_eq!(gauge(IMPORT_OVERDUE), Some(0.0));
    let report = scenario.report().await.unwrap();
    assert!(
        report.comparison.is_exact(),
        "no gap after reconnecting: {report}"
    );
    let scheduled = scenario
        .runner
        .import
        .jobs
        .list_jobs(&scenario.account_id, None, 1000)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|job| job.purpose == JobPurpose::Scheduled)
        .count();
    assert!(scheduled > 0);
}
