//! The latency benchmark's machinery on small runs (`tests::latency::run`: the local runner on a stepped manual
//! clock, a DynamoDB Local of its own behind the counting proxy, the sandbox's timeline): what it measures
//! follows from what Amazon shows and when, whatever this machine's speed. The figures at 10,000 orders an hour
//! come from `tests/latency-bench.sh`.

use chrono::TimeDelta;
use tests::latency::{Distribution, Mode, RunSettings, run};

fn small() -> RunSettings {
    RunSettings {
        orders_per_hour: 160.0,
        hours: 0.25,
        after: 0.25,
        step: 5,
        rate_scale: 1.0,
        seed: 5,
    }
}

fn at_most(distribution: &Distribution, q: f64, limit: TimeDelta) -> bool {
    matches!(distribution.quantile(q), Some(Some(latency)) if latency <= limit)
}

#[tokio::test]
async fn with_notifications_every_change_the_orders_api_shows_is_stored_within_rounds_and_what_it_took_is_counted()
 {
    let run = run(Mode::Notifications, &small()).await.unwrap();

    assert!(run.orders >= 30, "{} orders placed", run.orders);
    let latencies = &run.latencies;
    // Most orders' first change shows within the window (the Orders API lags up to 30 minutes, mostly 2).
    assert!(
        latencies.shown_to_stored.cases() >= run.orders * 3 / 4,
        "{latencies:?}"
    );
    assert_eq!(latencies.shown_to_stored.missing(), 0, "{latencies:?}");
    // One round (5 s) to take the notification, another at most to meet a rate token: never minutes.
    assert!(
        at_most(&latencies.shown_to_stored, 1.0, TimeDelta::seconds(30)),
        "{}",
        latencies.shown_to_stored
    );
    assert!(latencies.recipient_shown_to_stored.cases() > 0, "{latencies:?}");
    assert!(
        at_most(&latencies.recipient_shown_to_stored, 1.0, TimeDelta::seconds(30)),
        "{}",
        latencies.recipient_shown_to_stored
    );
    // Amazon withholds the recipient while an order is pending (minutes), so from placing it takes longer.
    assert!(
        !at_most(&latencies.placed_to_recipient_stored, 0.5, TimeDelta::seconds(30)),
        "{}",
        latencies.placed_to_recipient_stored
    );

    assert_eq!(run.throttled(), 0, "{:?}", run.sp_api);
    let get_order = run.sp_api.get("getOrder").map_or(0, |s| s.calls);
    assert!(get_order >= run.orders as u64, "{get_order} getOrder calls");
    assert!(
        run.requests.of("dynamodb", &["PutItem", "UpdateItem"]) > 0,
        "{:?}",
        run.requests
    );
    assert!(
        run.requests.write_units > 0.0 && run.requests.read_units > 0.0,
        "{:?}",
        run.requests
    );
    assert!(run.sqs_requests() > 0, "{:?}", run.requests);
    assert!(run.events() > 0, "{:?}", run.requests);
    assert!(
        run.invocations.get("take-notifications").is_some_and(|n| *n > 0),
        "{:?}",
        run.invocations
    );
}

#[tokio::test]
async fn by_reports_alone_a_change_is_stored_once_a_report_shows_it_most_of_an_hour_later() {
    let settings = RunSettings {
        after: 1.25,
        ..small()
    };
    let run = run(Mode::Reports, &settings).await.unwrap();

    let latencies = &run.latencies;
    assert!(
        latencies.shown_to_stored.cases() >= run.orders * 3 / 4,
        "{latencies:?}"
    );
    // Reports show a change 30 minutes to a day after it happened; the Orders API mostly within two minutes.
    assert!(
        !at_most(&latencies.shown_to_stored, 0.5, TimeDelta::minutes(20)),
        "{}",
        latencies.shown_to_stored
    );
    assert!(
        at_most(&latencies.shown_to_stored, 0.5, TimeDelta::minutes(75)),
        "{}",
        latencies.shown_to_stored
    );
    assert_eq!(run.throttled(), 0, "{:?}", run.sp_api);
    assert!(
        !run.invocations.contains_key("take-notifications"),
        "{:?}",
        run.invocations
    );
    assert!(run.sp_api.contains_key("createReport"), "{:?}", run.sp_api);
}
