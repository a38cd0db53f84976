//! The feed outbox against DynamoDB Local and the in-memory fake, by the same checks: actions are added once,
//! queued ones are listed per account and feed type oldest first, groups are found across accounts,
//! submissions are listed newest first and while open, an order action is added only while its order's
//! ledger is where its writer read it, however many writers race, and an action moves only from the state
//! it is in.

use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoStateStore;
use shared::domain::{
    ActionOrigin, ActionPayload, ActionState, FeedAction, FeedSubmission, SubmissionStatus, SubmittedMessage,
};
use shared::domain::{CancelReason, Cancellation, InventoryUpdate};
use shared::feeds::FeedType;
use shared::ports::{AddOutcome, FeedStore};
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
        marketplace_id: Some("ATVPDKIKX0DER".into()),
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
        marketplace_id: Some("ATVPDKIKX0DER".into()),
        document_id: "doc".into(),
        started_at: at(minutes),
        last_attempt_at: None,
        failed_attempts: 0,
        last_error: None,
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
    assert_eq!(store.add_action(&first, None).await.unwrap(), AddOutcome::Added);
    assert_eq!(
        store.add_action(&first, None).await.unwrap(),
        AddOutcome::Exists,
        "a repeat adds nothing"
    );
    store
        .add_action(&stock("acc-b", "b", "CUP", 1), None)
        .await
        .unwrap();
    store
        .add_action(&cancel("acc-b", "c", "114-0000001-0000001", 5), None)
        .await
        .unwrap();
    store
        .add_action(&cancel("acc-a", "d", "114-0000002-0000002", 9), None)
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
    let on_order = store.order_ledger("acc-b", "114-0000001-0000001").await.unwrap();
    assert_eq!((on_order.version, on_order.actions.len()), (1, 1));

    // The ledger: an order action is added only while the ledger is at the version its writer read.
    let order = "114-0000003-0000003";
    let (e, f) = (cancel("acc-c", "e", order, 1), cancel("acc-c", "f", order, 2));
    assert_eq!(store.order_ledger("acc-c", order).await.unwrap().version, 0);
    assert_eq!(store.add_action(&e, Some(0)).await.unwrap(), AddOutcome::Added);
    assert_eq!(
        store.add_action(&f, Some(0)).await.unwrap(),
        AddOutcome::LedgerMoved
    );
    assert_eq!(store.add_action(&e, Some(1)).await.unwrap(), AddOutcome::Exists);
    let ledger = store.order_ledger("acc-c", order).await.unwrap();
    assert_eq!(ledger.version, 1);
    assert_eq!(ledger.actions, std::slice::from_ref(&e));
    assert_eq!(store.add_action(&f, Some(1)).await.unwrap(), AddOutcome::Added);
    assert_eq!(store.order_ledger("acc-c", order).await.unwrap().version, 2);

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

/// Twenty writers read the same ledger and add at once: one wins, the others learn the ledger moved.
async fn one_of_many_racing_writers_adds(store: &dyn FeedStore) {
    let order = "114-0000004-0000004";
    let version = store.order_ledger("acc-d", order).await.unwrap().version;
    let writers: Vec<FeedAction> = (0..20)
        .map(|i| cancel("acc-d", &format!("w{i}"), order, i))
        .collect();
    let outcomes =
        futures::future::join_all(writers.iter().map(|a| store.add_action(a, Some(version)))).await;
    let added = outcomes
        .iter()
        .filter(|o| *o.as_ref().unwrap() == AddOutcome::Added)
        .count();
    let moved = outcomes
        .iter()
        .filter(|o| *o.as_ref().unwrap() == AddOutcome::LedgerMoved)
        .count();
    assert_eq!((added, moved), (1, 19), "{outcomes:?}");
    let ledger = store.order_ledger("acc-d", order).await.unwrap();
    assert_eq!((ledger.version, ledger.actions.len()), (version + 1, 1));
}

#[tokio::test]
async fn the_dynamodb_outbox_keeps_actions_and_submissions() {
    behaves_as_an_outbox(&dynamo().await).await;
}

#[tokio::test]
async fn the_in_memory_outbox_behaves_like_the_dynamodb_one() {
    behaves_as_an_outbox(&MemoryFeedStore::default()).await;
}

#[tokio::test]
async fn racing_writers_of_one_order_add_one_action_in_dynamodb_and_in_memory() {
    one_of_many_racing_writers_adds(&dynamo().await).await;
    one_of_many_racing_writers_adds(&MemoryFeedStore::default()).await;
}

fn submitted(action: &FeedAction, submission: &str) -> FeedAction {
    FeedAction {
        state: ActionState::Submitted {
            submission_id: submission.into(),
            message_id: 1,
        },
        attempts: action.attempts + 1,
        ..action.clone()
    }
}

async fn moves_an_action_only_from_the_state_it_is_in(store: &dyn FeedStore) {
    let a = stock("acc-m", "a", "MUG", 1);
    let b = cancel("acc-m", "b", "114-0000003-0000003", 2);
    store.add_action(&a, None).await.unwrap();
    store.add_action(&b, None).await.unwrap();

    let into_first = [submitted(&a, "s1"), submitted(&b, "s1")];
    let mut moved = store
        .move_actions(ActionOrigin::Queued, &into_first)
        .await
        .unwrap();
    moved.sort();
    assert_eq!(moved, [b.key(), a.key()]);
    assert!(
        store
            .move_actions(ActionOrigin::Queued, &[submitted(&a, "s2")])
            .await
            .unwrap()
            .is_empty(),
        "an action is taken into one submission only"
    );

    // The feed failed: one poll run queues `a` again and a later feed takes it; a late run of the first
    // feed's settling then finds it no longer held by s1.
    let requeued = FeedAction {
        state: ActionState::Queued,
        ..into_first[0].clone()
    };
    assert_eq!(
        store
            .move_actions(ActionOrigin::SubmittedIn("s1"), std::slice::from_ref(&requeued))
            .await
            .unwrap(),
        [a.key()]
    );
    let later = submitted(&requeued, "s3");
    store
        .move_actions(ActionOrigin::Queued, std::slice::from_ref(&later))
        .await
        .unwrap();
    assert!(
        store
            .move_actions(ActionOrigin::SubmittedIn("s1"), &[requeued])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .move_actions(ActionOrigin::SubmittedIn("s2"), &[into_first[1].clone()])
            .await
            .unwrap()
            .is_empty(),
        "held by s1, not s2"
    );
    let stored = store.get_actions("acc-m", &[a.key(), b.key()]).await.unwrap();
    assert_eq!(stored, [later, into_first[1].clone()]);
    assert!(
        store
            .move_actions(ActionOrigin::Queued, &[stock("acc-m", "new", "CUP", 3)])
            .await
            .unwrap()
            .is_empty(),
        "a move never creates an action"
    );
}

#[tokio::test]
async fn the_dynamodb_outbox_moves_an_action_only_from_the_state_it_is_in() {
    moves_an_action_only_from_the_state_it_is_in(&dynamo().await).await;
}

#[tokio::test]
async fn the_in_memory_outbox_moves_an_action_only_from_the_state_it_is_in() {
    moves_an_action_only_from_the_state_it_is_in(&MemoryFeedStore::default()).await;
}
