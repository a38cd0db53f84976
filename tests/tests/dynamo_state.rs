//! `DynamoStateStore` against DynamoDB Local: accounts, their status, and report jobs.

use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::dynamo::DynamoStateStore;
use shared::domain::report::ALL_ORDERS_FLAT;
use shared::domain::{
    Connection, ImportInterval, ImportOptions, JobPurpose, JobState, Problem, ProblemKind, Region, ReportJob,
    SellerAccount,
};
use shared::ports::{AccountStore, JobStore};
use tests::stack::{LocalStack, Template, unique_prefix};

async fn store() -> DynamoStateStore {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("state"))
        .await
        .unwrap();
    DynamoStateStore::new(stack.dynamodb.clone(), resources.get("StateTable").unwrap())
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
    }
}

#[tokio::test]
async fn an_account_is_created_once_and_its_settings_and_status_are_kept_apart() {
    let store = store().await;
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

#[tokio::test]
async fn accounts_are_listed_in_pages_and_deleted() {
    let store = store().await;
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

#[tokio::test]
async fn pending_jobs_are_due_at_their_poll_time_and_leave_the_queue_when_settled() {
    let store = store().await;
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    let early = job("a1", "1001", t0);
    let late = job("a2", "1002", t0);
    store
        .put_job(&early, Some(t0 + TimeDelta::minutes(1)))
        .await
        .unwrap();
    store
        .put_job(&late, Some(t0 + TimeDelta::minutes(5)))
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
    done.state = JobState::Parsing {
        document_id: "doc-1".into(),
    };
    store.put_job(&done, Some(t0)).await.unwrap();
    assert_eq!(
        store.due_jobs(t0 + TimeDelta::minutes(9), 10).await.unwrap(),
        vec![late]
    );
    assert_eq!(store.get_job("a1", &done.key()).await.unwrap(), Some(done));
}

#[tokio::test]
async fn an_accounts_jobs_are_listed_newest_first_in_pages() {
    let store = store().await;
    let t0: DateTime<Utc> = "2026-11-02T10:00:00Z".parse().unwrap();
    for i in 0..5 {
        store
            .put_job(
                &job("a1", &format!("{}", 9 - i), t0 + TimeDelta::minutes(i)),
                None,
            )
            .await
            .unwrap();
    }
    store.put_job(&job("a2", "77", t0), None).await.unwrap();
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
}
