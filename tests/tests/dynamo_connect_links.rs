//! Connect links in DynamoDB and in the in-memory fake, held to one contract: a link is created once, saved
//! only on the version it was read at (so two callbacks racing for one link cannot both claim it), kept by
//! the digest of its id, and removed by the table's TTL a while after it expired or was used.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoStateStore;
use shared::domain::connect::{KEEP_AFTER, digest};
use shared::domain::{ConnectLink, ImportInterval, ImportOptions, LinkStatus, NewLink, Region};
use shared::ports::ConnectLinkStore;
use shared::testing::MemoryConnectLinks;
use tests::stack::{LocalStack, Template, unique_prefix};

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-11-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
}

fn link(id: &str) -> ConnectLink {
    ConnectLink::new(
        NewLink {
            region: Region::Eu,
            marketplace_id: None,
            seller_id: Some("A2SELLER01".into()),
            import_interval: ImportInterval::Minutes(15),
            options: ImportOptions::default(),
            ship_from: None,
            lifetime: TimeDelta::hours(2),
        },
        digest(id),
        at(0),
    )
    .unwrap()
}

/// The contract, against `store`.
async fn contract(store: Arc<dyn ConnectLinkStore>) {
    let new = link("one");
    assert_eq!(store.get_link(&new.id_hash).await.unwrap(), None);
    assert!(store.save_link(&new, None).await.unwrap());
    assert!(!store.save_link(&new, None).await.unwrap(), "created twice");
    assert_eq!(store.get_link(&new.id_hash).await.unwrap(), Some(new.clone()));
    assert_eq!(store.get_link(&digest("two")).await.unwrap(), None);

    // Two callbacks decide on the same version: only the first write lands.
    let opened = new.open(digest("nonce"), at(1)).unwrap();
    assert!(store.save_link(&opened, Some(new.version)).await.unwrap());
    let first = opened.claim(&digest("nonce"), "A2SELLER01", at(2)).unwrap();
    let second = opened.claim(&digest("nonce"), "A2SELLER01", at(2)).unwrap();
    let (a, b) = tokio::join!(
        store.save_link(&first, Some(opened.version)),
        store.save_link(&second, Some(opened.version))
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()].iter().filter(|won| **won).count(),
        1,
        "exactly one claim wins"
    );
    // A write decided on an older version changes nothing.
    let stale = new.open(digest("late"), at(3)).unwrap();
    assert!(!store.save_link(&stale, Some(new.version)).await.unwrap());
    let finished = first.finish("A2SELLER01-eu", "A2SELLER01", at(4));
    assert!(store.save_link(&finished, Some(first.version)).await.unwrap());
    let stored = store.get_link(&new.id_hash).await.unwrap().unwrap();
    assert!(
        matches!(stored.status, LinkStatus::Used { ref account_id, .. } if account_id == "A2SELLER01-eu")
    );
    assert_eq!(stored, finished);
}

#[tokio::test]
async fn the_fake_keeps_the_contract() {
    contract(Arc::new(MemoryConnectLinks::default())).await;
}

#[tokio::test]
async fn dynamodb_keeps_the_contract_stores_only_the_digest_and_expires_links() {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("links"))
        .await
        .unwrap();
    let table = resources.get("StateTable").unwrap().to_owned();
    let store = Arc::new(DynamoStateStore::new(stack.dynamodb.clone(), &table));
    contract(store.clone()).await;

    let item = stack
        .dynamodb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S(format!("CONNECT#{}", digest("one"))))
        .key("sk", AttributeValue::S("CONNECT".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("stored under the digest");
    let text = format!("{item:?}");
    assert!(!text.contains("\"one\""), "the link's id is stored: {text}");
    let expires = item["expires_at"].as_n().unwrap().parse::<i64>().unwrap();
    assert_eq!(
        expires,
        (at(120) + KEEP_AFTER).timestamp(),
        "TTL a while after the link's expiry"
    );
}
