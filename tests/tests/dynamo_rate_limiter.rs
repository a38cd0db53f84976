//! The rate limiter's buckets: `DynamoRateLimiter` against DynamoDB Local, where Lambda instances that share
//! nothing but the table never draw more than Amazon's bucket holds, and `MemoryRateLimiter` (the fakes' and
//! one process's) by the same checks.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoRateLimiter;
use shared::amazon::{MemoryRateLimiter, Operation, RateLimiter};
use shared::clock::{Clock, ManualClock};
use tests::stack::{LocalStack, Template, unique_prefix};

/// Two limiters over the same buckets (two Lambda instances, or one process's limiter twice) on one clock.
struct Limiters {
    clock: Arc<ManualClock>,
    a: Arc<dyn RateLimiter>,
    b: Arc<dyn RateLimiter>,
}

fn t0() -> DateTime<Utc> {
    "2026-11-01T00:00:00Z".parse().unwrap()
}

async fn dynamo() -> Limiters {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("rate"))
        .await
        .unwrap();
    let table = resources.get("StateTable").unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let limiter = || {
        Arc::new(DynamoRateLimiter::new(
            stack.dynamodb.clone(),
            table,
            clock.clone(),
        ))
    };
    Limiters {
        a: limiter(),
        b: limiter(),
        clock,
    }
}

fn memory() -> Limiters {
    let clock = Arc::new(ManualClock::new(t0()));
    let limiter = Arc::new(MemoryRateLimiter::new(clock.clone()));
    Limiters {
        a: limiter.clone(),
        b: limiter,
        clock,
    }
}

/// Runs one check against DynamoDB Local and in memory, as two tests of a module named after it.
macro_rules! contract {
    ($check:ident) => {
        mod $check {
            #[tokio::test]
            async fn in_dynamodb() {
                super::$check(super::dynamo().await).await;
            }

            #[tokio::test]
            async fn in_memory() {
                super::$check(super::memory()).await;
            }
        }
    };
}

contract!(a_burst_is_served_at_once_and_the_next_draw_waits_for_the_refill);
contract!(two_instances_drawing_at_once_share_one_bucket);
contract!(a_rate_amazon_reports_changes_how_fast_the_bucket_refills);

async fn a_burst_is_served_at_once_and_the_next_draw_waits_for_the_refill(limiters: Limiters) {
    let (t0, clock, limiter) = (t0(), limiters.clock, limiters.a);

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

async fn two_instances_drawing_at_once_share_one_bucket(limiters: Limiters) {
    let Limiters { clock, a, b } = limiters;
    let t0 = t0();

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

async fn a_rate_amazon_reports_changes_how_fast_the_bucket_refills(limiters: Limiters) {
    let (t0, clock, limiter) = (t0(), limiters.clock, limiters.a);

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
