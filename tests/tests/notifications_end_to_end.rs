//! Amazon's notifications through the local runner: the sandbox delivers them to the stack's notification queue
//! (late, twice, out of order, some never) and the notification function acts on them beside the pollers and
//! the scheduled imports. The import still ends equal to Amazon's truth, every order at its latest status; and
//! a finished report is imported sooner after Amazon finishes it than by polling alone.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use shared::domain::{ImportInterval, JobState, NotificationType};
use tests::runner::scenario::{Scenario, ScenarioSettings};
use tests::sandbox::NotificationDelivery;
use tests::stack::LocalStack;

#[tokio::test(flavor = "multi_thread")]
async fn with_notifications_late_repeated_reordered_and_lost_the_import_ends_equal_to_amazons_truth() {
    let stack = LocalStack::with_own_dynamodb().await.unwrap();
    let mut scenario = Scenario::start(
        stack,
        ScenarioSettings {
            seed: 61,
            orders: 150,
            history: TimeDelta::days(2),
            arrivals: TimeDelta::hours(12),
            interval: ImportInterval::Minutes(30),
            notification_delivery: NotificationDelivery {
                delay: Duration::from_secs(20 * 60),
                duplicated: 0.25,
                lost: 0.15,
                reordered: true,
            },
            ..ScenarioSettings::default()
        },
    )
    .await
    .unwrap();
    scenario.run_to_the_end().await.unwrap();
    let report = scenario.report().await.unwrap();
    eprintln!("{report}");
    assert_eq!(report.comparison.truth, 150, "{report}");
    assert!(report.comparison.is_exact(), "{report}");
    assert!(report.events.problems.is_empty(), "{report}");
    assert_eq!(report.events.by_type.get("Order Created"), Some(&150), "{report}");

    // The subscriptions were made and the faults happened.
    let record = scenario
        .runner
        .import
        .accounts
        .get_account(&scenario.account_id)
        .await
        .unwrap()
        .unwrap();
    let status = record.status.notifications.expect("subscriptions checked");
    assert!(status.all_active(), "{status:?}");
    let stats = scenario.sandbox.notification_stats();
    eprintln!("notifications: {stats:?}");
    for kind in [
        NotificationType::OrderChange,
        NotificationType::ReportProcessingFinished,
    ] {
        assert!(
            stats.made.get(kind.as_str()).copied().unwrap_or(0) > 10,
            "{stats:?}"
        );
    }
    assert!(stats.lost > 0 && stats.duplicated > 0, "{stats:?}");
    // Nothing the function could not take: no dead letters.
    let dlq = scenario
        .runner
        .resources
        .get("NotificationDeadLetterQueue")
        .unwrap()
        .to_owned();
    let dead = scenario
        .runner
        .stack
        .sqs
        .receive_message()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert!(dead.is_empty(), "{dead:?}");
}

/// How long after Amazon finished each settled report (45 s after it was requested) its job settled, sorted.
async fn report_lags(scenario: &Scenario) -> Vec<TimeDelta> {
    let jobs = scenario
        .runner
        .import
        .jobs
        .list_jobs(&scenario.account_id, None, 1000)
        .await
        .unwrap();
    let mut lags: Vec<TimeDelta> = jobs
        .items
        .iter()
        .filter(|job| matches!(job.state, JobState::Imported { .. } | JobState::NoData))
        .map(|job| job.updated_at - (job.requested_at + TimeDelta::seconds(45)))
        .collect();
    lags.sort();
    lags
}

/// Runs a fresh scenario for `minutes` of a clock 30 times faster than the wall's: the reports' lags.
async fn run_for(notifications: bool, minutes: i64) -> (Vec<TimeDelta>, DateTime<Utc>) {
    let stack = LocalStack::with_own_dynamodb().await.unwrap();
    let mut scenario = Scenario::start(
        stack,
        ScenarioSettings {
            seed: 62,
            orders: 40,
            history: TimeDelta::hours(6),
            arrivals: TimeDelta::hours(1),
            interval: ImportInterval::Minutes(5),
            clock_scale: 30.0,
            notifications,
            ..ScenarioSettings::default()
        },
    )
    .await
    .unwrap();
    let end = scenario.runner.clock().now() + TimeDelta::minutes(minutes);
    scenario
        .runner
        .run_until(end, Duration::from_millis(20))
        .await
        .unwrap();
    (report_lags(&scenario).await, end)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_finished_report_is_imported_within_seconds_with_notifications_and_within_the_polls_without() {
    let (with, _) = run_for(true, 25).await;
    let (without, _) = run_for(false, 25).await;
    let median = |lags: &[TimeDelta]| lags[lags.len() / 2];
    eprintln!(
        "report lags, {} with notifications: {:?}; {} by polling alone: {:?}",
        with.len(),
        with.iter().map(|d| d.num_seconds()).collect::<Vec<_>>(),
        without.len(),
        without.iter().map(|d| d.num_seconds()).collect::<Vec<_>>()
    );
    assert!(with.len() >= 6 && without.len() >= 6, "too few reports settled");
    // Notifications: the runner hands them over every quarter second of wall time (7.5 s of this clock) and the
    // function polls the job at once; the document is parsed within the next rounds.
    assert!(median(&with) <= TimeDelta::seconds(45), "{with:?}");
    // Polling alone: a job is asked about 30 s after it is requested, then 60 s later (the poller's backoff),
    // so a report Amazon finishes after 45 s waits for the second poll.
    assert!(median(&without) > median(&with), "{without:?} against {with:?}");
    assert!(
        without.iter().all(|lag| *lag <= TimeDelta::minutes(6)),
        "{without:?}"
    );
}
