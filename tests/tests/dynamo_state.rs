//! Accounts, their status, report jobs (which move only from the state they were read in) and backfills:
//! `DynamoStateStore` against DynamoDB Local and `MemoryState` by the same checks, so that use cases tested on
//! the fake meet the rules the real store keeps.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoStateStore;
use shared::domain::report::ALL_ORDERS_FLAT;
use shared::domain::{
    Backfill, BackfillStatus, Connection, ImportInterval, ImportOptions, JobPrecondition, JobPurpose,
    JobState, NotificationStatus, Problem, ProblemKind, Region, ReportJob, SellerAccount,
};
use shared::ports::{AccountStore, JobStore};
use shared::testing::MemoryState;
use tests::stack::{LocalStack, Template, unique_prefix};

/// Both ports, as the state table holds them.
trait StateStore: AccountStore + JobStore {}
impl<T: AccountStore + JobStore> StateStore for T {}

/// Runs one check against DynamoDB Local and against the fake, as two tests of a module named after it.
macro_rules! contract {
    ($check:ident) => {
        mod $check {
            #[tokio::test]
            async fn in_dynamodb() {
                super::$check(&super::store_with_client().await.0).await;
            }

            #[tokio::test]
            async fn in_the_fake() {
                super::$check(&super::MemoryState::default()).await;
            }
        }
    };
}

contract!(an_account_is_created_once_and_its_settings_and_status_are_kept_apart);
contract!(accounts_are_listed_in_pages_and_deleted);
contract!(pending_jobs_are_due_at_their_poll_time_and_leave_the_queue_when_settled);
contract!(an_accounts_jobs_are_listed_newest_first_in_pages);
contract!(a_job_moves_only_from_the_state_it_was_read_in_and_a_stale_write_changes_nothing);
contract!(a_backfill_is_saved_over_the_version_it_read_and_listed_while_it_runs);

/// The store, and the client and table under it for writes the store would never make.
async fn store_with_client() -> (DynamoStateStore, aws_sdk_dynamodb::Client, String) {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("state"))
        .await
        .unwrap();
    let table = resources.get("StateTable").unwrap().to_owned();
    (
        DynamoStateStore::new(stack.dynamodb.clone(), &table),
        stack.dynamodb.clone(),
        table,
    )
}

fn account(id: &str) -> SellerAccount {
    SellerAccount {
        id: id.into(),
        seller_id: "A2SELLER".into(),
        region: Region::Na,
        marketplaces: vec!["ATVPDKIKX0DER".into()],
        import_interval: ImportInterval::Minutes(15),
        options: ImportOptions::default(),
        created_at: "2026-11-01T00:00:00Z".parse().unwrap(),
        ship_from: None,
    }
}

fn job(account: &str, id: &str, requested_at: DateTime<Utc>) -> ReportJob {
    ReportJob {
        account_id: account.into(),
        report_id: id.into(),
        report_type: ALL_ORDERS_FLAT.into(),
        marketplace_ids: vec!["ATVPDKIKX0DER".into()],
        window: None,
        purpose: JobPurpose::Scheduled,
        requested_at,
        state: JobState::Pending {
            amazon_status: "IN_QUEUE".into(),
        },
        updated_at: requested_at,
        polls: 0,
        version: 0,
    }
}

async fn an_account_is_created_once_and_its_settings_and_status_are_kept_apart(store: &dyn StateStore) {
    let mut a1 = account("a1");
    assert!(store.create_account(&a1).await.unwrap());
    assert!(
        !store.create_account(&a1).await.unwrap(),
        "a second create is refused"
    );

    let at: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    let problem = Problem {
        kind: ProblemKind::RefreshTokenRevoked,
        detail: "invalid_grant".into(),
        at,
    };
    store.record_problem("a1", &problem).await.unwrap();
    a1.import_interval = ImportInterval::Minutes(60);
    assert!(store.save_settings(&a1).await.unwrap());

    let record = store.get_account("a1").await.unwrap().unwrap();
    assert_eq!(record.account, a1);
    assert_eq!(record.status.connection, Connection::Disconnected);
    assert_eq!(record.status.problem, Some(problem));

    store
        .record_import("a1", at, Some((ALL_ORDERS_FLAT, at)))
        .await
        .unwrap();
    let older = at - TimeDelta::hours(1);
    store
        .record_import("a1", at + TimeDelta::minutes(1), Some((ALL_ORDERS_FLAT, older)))
        .await
        .unwrap();
    store
        .record_import("a1", at, Some(("OTHER", at - TimeDelta::days(1))))
        .await
        .unwrap();
    let status = store.get_account("a1").await.unwrap().unwrap().status;
    assert_eq!(status.connection, Connection::Connected);
    assert_eq!(status.problem, None);
    assert_eq!(
        status.watermarks[ALL_ORDERS_FLAT], at,
        "the watermark never moves back"
    );
    assert_eq!(
        status.watermarks["OTHER"],
        at - TimeDelta::days(1),
        "each report type has its own"
    );
    assert_eq!(status.last_successful_import, Some(at + TimeDelta::minutes(1)));

    // Two checks of the subscriptions written out of order: the later check's word stays.
    let checked = |minutes| NotificationStatus {
        checked_at: at + TimeDelta::minutes(minutes),
        subscriptions: Default::default(),
    };
    store.record_notifications("a1", &checked(5)).await.unwrap();
    store.record_notifications("a1", &checked(2)).await.unwrap();
    store.record_throttled("a1", at).await.unwrap();
    let status = store.get_account("a1").await.unwrap().unwrap().status;
    assert_eq!(status.notifications, Some(checked(5)));
    assert_eq!(status.last_throttled_at, Some(at));

    assert!(!store.save_settings(&account("missing")).await.unwrap());
    store
        .record_problem(
            "missing",
            &Problem {
                kind: ProblemKind::Throttled,
                detail: String::new(),
                at,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_account("missing").await.unwrap(),
        None,
        "status writes never create an account"
    );
}

async fn accounts_are_listed_in_pages_and_deleted(store: &dyn StateStore) {
    for id in ["a1", "a2", "a3"] {
        store.create_account(&account(id)).await.unwrap();
    }
    let first = store.list_accounts(None, 2).await.unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|r| r.account.id.as_str())
            .collect::<Vec<_>>(),
        ["a1", "a2"]
    );
    let second = store.list_accounts(first.next.as_deref(), 2).await.unwrap();
    assert_eq!(
        second
            .items
            .iter()
            .map(|r| r.account.id.as_str())
            .collect::<Vec<_>>(),
        ["a3"]
    );

    store.delete_account("a2").await.unwrap();
    assert_eq!(store.get_account("a2").await.unwrap(), None);
    assert_eq!(store.list_accounts(None, 10).await.unwrap().items.len(), 2);
}

async fn pending_jobs_are_due_at_their_poll_time_and_leave_the_queue_when_settled(store: &dyn StateStore) {
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    let early = job("a1", "1001", t0);
    let late = job("a2", "1002", t0);
    store
        .put_job(&early, Some(t0 + TimeDelta::minutes(1)), JobPrecondition::New)
        .await
        .unwrap();
    store
        .put_job(&late, Some(t0 + TimeDelta::minutes(5)), JobPrecondition::New)
        .await
        .unwrap();

    assert!(store.due_jobs(t0, 10).await.unwrap().is_empty());
    assert_eq!(
        store.due_jobs(t0 + TimeDelta::minutes(1), 10).await.unwrap(),
        vec![early.clone()]
    );
    assert_eq!(
        store
            .due_jobs(t0 + TimeDelta::minutes(9), 10)
            .await
            .unwrap()
            .len(),
        2
    );

    let mut done = early.clone();
    let expected = done.change();
    done.state = JobState::Parsing {
        document_id: "doc-1".into(),
    };
    store.put_job(&done, None, expected).await.unwrap();
    assert_eq!(
        store.due_jobs(t0 + TimeDelta::minutes(9), 10).await.unwrap(),
        vec![late.clone()]
    );
    assert_eq!(
        store.get_job("a1", &done.key()).await.unwrap(),
        Some(done.clone())
    );

    // A job with the parsers is due again at its parse deadline, when the poller gives it up if it is still
    // there; a settled job (here: abandoned) is never due, whatever time it is given.
    let expected = done.change();
    store
        .put_job(&done, Some(t0 + TimeDelta::hours(12)), expected)
        .await
        .unwrap();
    assert_eq!(
        store.due_jobs(t0 + TimeDelta::hours(12), 10).await.unwrap(),
        vec![late.clone(), done.clone()]
    );
    let mut abandoned = done.clone();
    let expected = abandoned.change();
    abandoned.state = JobState::Abandoned {
        reason: "gone".into(),
        replaced_by: None,
    };
    store.put_job(&abandoned, Some(t0), expected).await.unwrap();
    assert_eq!(
        store.due_jobs(t0 + TimeDelta::hours(12), 10).await.unwrap(),
        vec![late]
    );
}

async fn an_accounts_jobs_are_listed_newest_first_in_pages(store: &dyn StateStore) {
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    for i in 0..5 {
        store
            .put_job(
                &job("a1", &format!("{}", 9 - i), t0 + TimeDelta::minutes(i)),
                None,
                JobPrecondition::New,
            )
            .await
            .unwrap();
    }
    store
        .put_job(&job("a2", "77", t0), None, JobPrecondition::New)
        .await
        .unwrap();
    let first = store.list_jobs("a1", None, 3).await.unwrap();
    assert_eq!(
        first
            .items
            .iter()
            .map(|j| j.report_id.as_str())
            .collect::<Vec<_>>(),
        ["5", "6", "7"]
    );
    let rest = store.list_jobs("a1", first.next.as_deref(), 3).await.unwrap();
    assert_eq!(
        rest.items
            .iter()
            .map(|j| j.report_id.as_str())
            .collect::<Vec<_>>(),
        ["8", "9"]
    );
    assert_eq!(rest.next, None);
    assert_eq!(store.list_jobs("a2", None, 3).await.unwrap().items.len(), 1);
    let made_up = store.list_jobs("a1", Some("ACCOUNT#a1"), 3).await.unwrap();
    assert!(
        made_up.items.is_empty() && made_up.next.is_none(),
        "a cursor of another listing starts nothing"
    );
}

async fn a_job_moves_only_from_the_state_it_was_read_in_and_a_stale_write_changes_nothing(
    store: &dyn StateStore,
) {
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    let read = job("a1", "2001", t0);
    assert!(
        store
            .put_job(&read, Some(t0), JobPrecondition::New)
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_job(&read, Some(t0), JobPrecondition::New)
            .await
            .unwrap(),
        "a job is created once"
    );

    // Two poll runs read the same pending job; the first hands it over, the second's write is refused.
    let (mut first, mut second) = (read.clone(), read.clone());
    let (first_expects, second_expects) = (first.change(), second.change());
    first.state = JobState::Parsing {
        document_id: "doc-1".into(),
    };
    assert!(store.put_job(&first, None, first_expects).await.unwrap());
    second.polls = 1;
    assert!(
        !store
            .put_job(&second, Some(t0 + TimeDelta::minutes(1)), second_expects)
            .await
            .unwrap(),
        "the second run read a job that has moved on"
    );
    assert!(
        store
            .due_jobs(t0 + TimeDelta::hours(1), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The parser settles it from any hand-over state; a late write of the poller then cannot move it back.
    const HANDED_OVER: &[&str] = &["pending", "parsing", "raw_document"];
    let mut parsed = store.get_job("a1", &read.key()).await.unwrap().unwrap();
    let parsed_expects = parsed.change_from(HANDED_OVER);
    parsed.state = JobState::Imported {
        document_id: "doc-1".into(),
        summary: Default::default(),
    };
    assert!(store.put_job(&parsed, None, parsed_expects).await.unwrap());
    let mut late = first.clone();
    let late_expects = late.change();
    assert!(!store.put_job(&late, None, late_expects).await.unwrap());
    let mut repeated = parsed.clone();
    let repeated_expects = repeated.change_from(HANDED_OVER);
    assert!(
        !store.put_job(&repeated, None, repeated_expects).await.unwrap(),
        "a repeated delivery does not settle an imported job again"
    );
    assert_eq!(store.get_job("a1", &read.key()).await.unwrap(), Some(parsed));
}

/// Only DynamoDB holds items written by older versions of sellersync.
#[tokio::test]
async fn a_job_stored_before_versions_existed_moves_from_version_0() {
    let (store, client, table) = store_with_client().await;
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    let legacy = job("a1", "2002", t0);
    assert!(store.put_job(&legacy, None, JobPrecondition::New).await.unwrap());
    client
        .update_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("ACCOUNT#a1".into()))
        .key("sk", AttributeValue::S(format!("REPORT#{}", legacy.key())))
        .update_expression("REMOVE #v")
        .expression_attribute_names("#v", "version")
        .send()
        .await
        .unwrap();
    let mut moved = store.get_job("a1", &legacy.key()).await.unwrap().unwrap();
    let moved_expects = moved.change();
    moved.state = JobState::NoData;
    assert!(store.put_job(&moved, None, moved_expects).await.unwrap());
}

async fn a_backfill_is_saved_over_the_version_it_read_and_listed_while_it_runs(store: &dyn StateStore) {
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    let backfill = |account: &str, id: &str, created: DateTime<Utc>| {
        Backfill::new(
            account.into(),
            id.into(),
            vec![ALL_ORDERS_FLAT.into()],
            vec!["ATVPDKIKX0DER".into()],
            created - TimeDelta::days(60),
            created - TimeDelta::days(1),
            TimeDelta::days(30),
            created,
        )
    };
    let late = backfill("a1", "b2", t0 + TimeDelta::hours(1));
    let early = backfill("a2", "b1", t0);
    assert!(store.save_backfill(&late, None).await.unwrap());
    assert!(store.save_backfill(&early, None).await.unwrap());
    assert!(
        !store.save_backfill(&early, None).await.unwrap(),
        "a backfill is created once"
    );
    assert_eq!(
        store.running_backfills(10).await.unwrap(),
        vec![early.clone(), late.clone()],
        "oldest first, whoever's they are"
    );
    assert_eq!(store.running_backfills(1).await.unwrap(), vec![early.clone()]);

    // Two walkers read version 0 and each requests the first window; only the first write is kept.
    let (mut first, mut second) = (early.clone(), early.clone());
    for (walker, job) in [(&mut first, "k1"), (&mut second, "k2")] {
        walker.windows[0].job_key = Some(job.into());
        walker.version = 1;
    }
    assert!(store.save_backfill(&first, Some(0)).await.unwrap());
    assert!(!store.save_backfill(&second, Some(0)).await.unwrap());
    assert_eq!(store.get_backfill("a2", "b1").await.unwrap(), Some(first.clone()));

    // Every window settled: it leaves the running list and stays readable.
    let mut done = first.clone();
    for window in &mut done.windows {
        window.job_key.get_or_insert_with(|| "k".into());
        window.outcome = Some("imported".into());
    }
    done.version = 2;
    assert_eq!(done.status(), BackfillStatus::Completed);
    assert!(
        !store.save_backfill(&done, Some(0)).await.unwrap(),
        "a stale version"
    );
    assert!(store.save_backfill(&done, Some(1)).await.unwrap());
    assert_eq!(store.running_backfills(10).await.unwrap(), vec![late]);
    assert_eq!(store.get_backfill("a2", "b1").await.unwrap(), Some(done));
    assert_eq!(store.get_backfill("a2", "missing").await.unwrap(), None);
}
