//! `DynamoRateLimiter` against DynamoDB Local: Lambda instances that share nothing but the table never draw
//! more than Amazon's bucket holds.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoRateLimiter;
use shared::amazon::{Operation, RateLimiter};
use shared::clock::{Clock, ManualClock};
use tests::stack::{LocalStack, Template, unique_prefix};

async fn table() -> (aws_sdk_dynamodb::Client, String) {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("rate"))
        .await
        .unwrap();
    (
        stack.dynamodb.clone(),
        resources.get("StateTable").unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_burst_is_served_at_once_and_the_next_draw_waits_for_the_refill() {
    let (client, table) = table().await;
    let t0: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let limiter = DynamoRateLimiter::new(client, table, clock.clone());

    for _ in 0..15 {
        limiter.acquire("acct", Operation::CreateReport).await.unwrap();
    }
    assert_eq!(clock.now(), t0, "createReport's burst of 15 needs no wait");

    limiter.acquire("acct", Operation::CreateReport).await.unwrap();
    let waited = clock.now() - t0;
    // 0.0167 tokens a second: the 16th call waits about a minute.
    assert!(
        waited >= TimeDelta::seconds(59) && waited <= TimeDelta::seconds(61),
        "waited {waited}"
    );

    limiter
        .acquire("other-account", Operation::CreateReport)
        .await
        .unwrap();
    assert_eq!(clock.now() - t0, waited, "buckets are per account");
}

#[tokio::test]
async fn two_instances_drawing_at_once_share_one_bucket() {
    let (client, table) = table().await;
    let t0: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let a = Arc::new(DynamoRateLimiter::new(
        client.clone(),
        table.clone(),
        clock.clone(),
    ));
    let b = Arc::new(DynamoRateLimiter::new(client, table, clock.clone()));

    // getReportDocument: burst 15, then one a minute. 20 concurrent draws from two "Lambda instances".
    let draws: Vec<_> = (0..20)
        .map(|i| {
            let limiter = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { limiter.acquire("acct", Operation::GetReportDocument).await })
        })
        .collect();
    for draw in draws {
        draw.await.unwrap().unwrap();
    }
    // Five draws beyond the burst need five refills of a minute each; the manual clock advances by the
    // waits of whoever sleeps, so it has moved on by at least the refill time of the tokens drawn.
    let elapsed = clock.now() - t0;
    assert!(
        elapsed >= TimeDelta::seconds(5 * 59),
        "20 draws from a bucket of 15 took only {elapsed}"
    );
}

#[tokio::test]
async fn a_rate_amazon_reports_changes_how_fast_the_bucket_refills() {
    let (client, table) = table().await;
    let t0: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let limiter = DynamoRateLimiter::new(client, table, clock.clone());

    for _ in 0..15 {
        limiter
            .acquire("acct", Operation::GetReportDocument)
            .await
            .unwrap();
    }
    limiter
        .observe_limit("acct", Operation::GetReportDocument, 1.0)
        .await
        .unwrap();
    limiter
        .acquire("acct", Operation::GetReportDocument)
        .await
        .unwrap();
    let waited = clock.now() - t0;
    assert!(
        waited <= TimeDelta::seconds(1),
        "at 1/s the next token comes within a second, waited {waited}"
    );
}
