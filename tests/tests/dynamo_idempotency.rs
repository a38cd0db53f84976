//! The API's idempotency keys against DynamoDB Local and the in-memory fake, by the same checks: a key is
//! claimed once however many requests race for it, a repeat sees the first request's fingerprint and, once
//! it completed, its response; a failed request's release frees the key but never drops a response; an expired
//! key is claimed anew.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoStateStore;
use shared::ports::{IdempotencyRecord, IdempotencyStore, StoredResponse};
use shared::testing::MemoryIdempotency;
use tests::stack::{LocalStack, Template, unique_prefix};

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-03-09T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
}

fn accepted() -> StoredResponse {
    StoredResponse {
        status: 202,
        body: r#"{"id":"act-1"}"#.into(),
        location: Some("/accounts/a1/actions/act-1".into()),
    }
}

async fn contract(store: Arc<dyn IdempotencyStore>) {
    let day = at(24 * 60);
    // Eight requests with one key at once: one claims it, the others see the claim.
    let claims = futures::future::join_all((0..8).map(|_| {
        let store = store.clone();
        async move { store.claim("k1", "fp-1", at(0), day).await.unwrap() }
    }))
    .await;
    assert_eq!(claims.iter().filter(|c| c.is_none()).count(), 1, "{claims:?}");
    let in_flight = IdempotencyRecord {
        fingerprint: "fp-1".into(),
        response: None,
    };
    for claim in claims.iter().flatten() {
        assert_eq!(claim, &in_flight);
    }
    // Another request with the key but another body sees the first one's fingerprint.
    assert_eq!(
        store.claim("k1", "fp-2", at(1), day).await.unwrap(),
        Some(in_flight)
    );

    // Completed, the key answers its response; a late release keeps it.
    store.complete("k1", "fp-1", &accepted(), day).await.unwrap();
    store.release("k1").await.unwrap();
    let done = IdempotencyRecord {
        fingerprint: "fp-1".into(),
        response: Some(accepted()),
    };
    assert_eq!(store.claim("k1", "fp-1", at(2), day).await.unwrap(), Some(done));
    // Once expired, the key is claimed anew.
    assert_eq!(
        store.claim("k1", "fp-3", day, at(2 * 24 * 60)).await.unwrap(),
        None
    );

    // A request that failed worth retrying releases its claim; its retry claims the key.
    assert_eq!(store.claim("k2", "fp-1", at(0), day).await.unwrap(), None);
    store.release("k2").await.unwrap();
    assert_eq!(store.claim("k2", "fp-1", at(1), day).await.unwrap(), None);
    // Releasing a key no one holds succeeds.
    store.release("k3").await.unwrap();
}

#[tokio::test]
async fn idempotency_keys_in_dynamodb() {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("idem"))
        .await
        .unwrap();
    let store = DynamoStateStore::new(stack.dynamodb.clone(), resources.get("StateTable").unwrap());
    contract(Arc::new(store)).await;
}

#[tokio::test]
async fn idempotency_keys_in_the_fake() {
    contract(Arc::new(MemoryIdempotency::default())).await;
}
