//! Leases against DynamoDB Local and the in-memory fake, by the same checks: one holder at a time, also when
//! many take it at once; renewed by its holder; free again when given back or expired.

use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoStateStore;
use shared::ports::Leases;
use shared::testing::MemoryLeases;
use tests::stack::{LocalStack, Template, unique_prefix};

async fn dynamo() -> DynamoStateStore {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("lease"))
        .await
        .unwrap();
    DynamoStateStore::new(stack.dynamodb.clone(), resources.get("StateTable").unwrap())
}

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-03-09T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
}

async fn one_holder_at_a_time(leases: &dyn Leases) {
    let takes = (0..8).map(|i| {
        let holder = format!("run-{i}");
        async move {
            (
                leases.take("submit", &holder, at(0), at(6)).await.unwrap(),
                holder,
            )
        }
    });
    let results = futures::future::join_all(takes).await;
    let winners: Vec<&String> = results
        .iter()
        .filter(|(taken, _)| *taken)
        .map(|(_, h)| h)
        .collect();
    assert_eq!(winners.len(), 1, "eight at once, one holder: {results:?}");
    let winner = winners[0].clone();

    assert!(
        leases.take("submit", &winner, at(5), at(11)).await.unwrap(),
        "renewed"
    );
    assert!(
        !leases.take("submit", "other", at(10), at(16)).await.unwrap(),
        "held until the renewal's end"
    );
    assert!(
        leases.take("other-lease", "other", at(10), at(16)).await.unwrap(),
        "leases of other names are apart"
    );
    leases.release("submit", "other").await.unwrap();
    assert!(
        !leases.take("submit", "other", at(10), at(16)).await.unwrap(),
        "only the holder gives it back"
    );
    leases.release("submit", &winner).await.unwrap();
    assert!(leases.take("submit", "other", at(10), at(16)).await.unwrap());

    // A holder that died frees it when it expires; it cannot renew it then, nor give it back.
    assert!(leases.take("submit", "late", at(16), at(22)).await.unwrap());
    assert!(!leases.take("submit", "other", at(17), at(23)).await.unwrap());
    leases.release("submit", "other").await.unwrap();
    assert!(!leases.take("submit", "third", at(17), at(23)).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dynamodb_lease_has_one_holder_at_a_time() {
    one_holder_at_a_time(&dynamo().await).await;
}

#[tokio::test]
async fn an_in_memory_lease_has_one_holder_at_a_time() {
    one_holder_at_a_time(&MemoryLeases::default()).await;
}
