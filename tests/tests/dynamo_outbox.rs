//! The feed outbox against DynamoDB Local and the in-memory fake, by the same checks: actions are added once,
//! queued ones are listed per account and feed type oldest first, groups are found across accounts, and
//! submissions are listed newest first and while open.

use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoStateStore;
use shared::domain::{
    ActionPayload, ActionState, FeedAction, FeedSubmission, SubmissionStatus, SubmittedMessage,
};
use shared::feeds::{CancelReason, Cancellation, FeedType, InventoryUpdate};
use shared::ports::FeedStore;
use shared::testing::MemoryFeedStore;
use tests::stack::{LocalStack, Template, unique_prefix};

async fn dynamo() -> DynamoStateStore {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("outbox"))
        .await
        .unwrap();
    DynamoStateStore::new(stack.dynamodb.clone(), resources.get("StateTable").unwrap())
}

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-03-09T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
}

fn stock(account: &str, id: &str, sku: &str, minutes: i64) -> FeedAction {
    FeedAction {
        id: id.into(),
        account_id: account.into(),
        payload: ActionPayload::Inventory(InventoryUpdate {
            sku: sku.into(),
            quantity: 3,
            handling_time_days: None,
        }),
        created_at: at(minutes),
        state: ActionState::Queued,
        attempts: 0,
        submitted_at: None,
    }
}

fn cancel(account: &str, id: &str, order: &str, minutes: i64) -> FeedAction {
    FeedAction {
        payload: ActionPayload::Cancellation(Cancellation {
            amazon_order_id: order.into(),
            reason: CancelReason::NoInventory,
            items: vec![],
        }),
        ..stock(account, id, "x", minutes)
    }
}

fn submission(account: &str, id: &str, minutes: i64, status: SubmissionStatus) -> FeedSubmission {
    FeedSubmission {
        id: id.into(),
        account_id: account.into(),
        feed_type: FeedType::JsonListings,
        document_id: "doc".into(),
        started_at: at(minutes),
        feed_id: Some(format!("feed-{id}")),
        messages: vec![SubmittedMessage {
            message_id: 1,
            actions: vec!["SKU#a".into()],
        }],
        status,
        polls: 0,
        next_poll: None,
        updated_at: at(minutes),
    }
}

async fn behaves_as_an_outbox(store: &dyn FeedStore) {
    let first = stock("acc-b", "a", "MUG", 2);
    assert!(store.add_action(&first).await.unwrap());
    assert!(!store.add_action(&first).await.unwrap(), "a repeat adds nothing");
    store.add_action(&stock("acc-b", "b", "CUP", 1)).await.unwrap();
    store
        .add_action(&cancel("acc-b", "c", "114-0000001-0000001", 5))
        .await
        .unwrap();
    store
        .add_action(&cancel("acc-a", "d", "114-0000002-0000002", 9))
        .await
        .unwrap();

    // Groups in no promised order: sorted here by account and feed type name.
    let mut groups: Vec<(String, FeedType, DateTime<Utc>)> = store
        .queued_groups()
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.account_id, g.feed_type, g.oldest))
        .collect();
    groups.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
    assert_eq!(
        groups,
        [
            ("acc-a".into(), FeedType::OrderAcknowledgement, at(9)),
            ("acc-b".into(), FeedType::JsonListings, at(1)),
            ("acc-b".into(), FeedType::OrderAcknowledgement, at(5)),
        ]
    );
    let queued: Vec<String> = store
        .queued_actions("acc-b", FeedType::JsonListings, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(queued, ["b", "a"], "oldest first");

    let mut sent = first.clone();
    sent.state = ActionState::Submitted {
        submission_id: "s1".into(),
        message_id: 1,
    };
    store.save_actions(&[sent]).await.unwrap();
    let queued = store
        .queued_actions("acc-b", FeedType::JsonListings, 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    let got = store
        .get_actions("acc-b", &["SKU#a".into(), "SKU#nope".into()])
        .await
        .unwrap();
    assert_eq!(got[0].state.name(), "submitted");
    assert_eq!(got.len(), 1);
    let on_order = store.order_actions("acc-b", "114-0000001-0000001").await.unwrap();
    assert_eq!(on_order.len(), 1);

    store
        .save_submission(&submission(
            "acc-b",
            "20260309120000-1",
            0,
            SubmissionStatus::Done {
                accepted: 1,
                rejected: 0,
            },
        ))
        .await
        .unwrap();
    let open = SubmissionStatus::Submitted {
        amazon_status: "IN_QUEUE".into(),
    };
    store
        .save_submission(&submission("acc-b", "20260309121000-2", 10, open.clone()))
        .await
        .unwrap();
    store
        .save_submission(&submission("acc-b", "20260309122000-3", 20, open))
        .await
        .unwrap();
    let open: Vec<String> = store
        .open_submissions(10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(open, ["20260309121000-2", "20260309122000-3"]);
    let page = store.list_submissions("acc-b", None, 2).await.unwrap();
    let ids: Vec<&str> = page.items.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["20260309122000-3", "20260309121000-2"]);
    let rest = store
        .list_submissions("acc-b", page.next.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].id, "20260309120000-1");
    let foreign = store
        .list_submissions("acc-b", Some("REPORT#made-up"), 2)
        .await
        .unwrap();
    assert!(
        foreign.items.is_empty() && foreign.next.is_none(),
        "a cursor of no submission is the end: {foreign:?}"
    );
}

#[tokio::test]
async fn the_dynamodb_outbox_keeps_actions_and_submissions() {
    behaves_as_an_outbox(&dynamo().await).await;
}

#[tokio::test]
async fn the_in_memory_outbox_behaves_like_the_dynamodb_one() {
    behaves_as_an_outbox(&MemoryFeedStore::default()).await;
}
