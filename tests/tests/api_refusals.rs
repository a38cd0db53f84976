//! What the API refuses, and what a failed request leaves behind (nothing), over real HTTP against DynamoDB
//! Local, moto and the sandbox: numbers that would overflow, quantities beyond the order, ship dates years
//! away, cancel reasons outside Amazon's list, duplicate SKUs and marketplaces, arrays where objects belong,
//! idempotency keys per account and media type; account writes that fail half-way; a 1,000-SKU request.

mod api_support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use api_support::{Api, CA, US, seller_spec, start};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::app::accounts::{AccountChanges, Accounts, NewAccount, RefreshToken};
use shared::app::feeds::FeedActions;
use shared::domain::InventoryUpdate;
use shared::domain::{
    ActionOrigin, FeedAction, FeedSubmission, ImportInterval, ImportOptions, Problem, QueuedGroup, Region,
};
use shared::error::StoreError;
use shared::feeds::FeedType;
use shared::ports::{
    AccountRecord, AccountStore, AddOutcome, FeedStore, OrderLedger, Page, ScheduleSpec, Schedules,
    SecretStore,
};

/// Sends `body` as raw bytes with `content_type`, with an idempotency key.
async fn raw(api: &Api, path: &str, key: &str, content_type: &str, body: &str) -> (StatusCode, Value) {
    let response = api
        .http
        .post(format!("{}{path}", api.url))
        .header("content-type", content_type)
        .header("idempotency-key", key)
        .body(body.to_owned())
        .send()
        .await
        .expect("API answers");
    let status = response.status();
    let body = serde_json::from_slice(&response.bytes().await.expect("body")).unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn quantities_that_would_overflow_or_exceed_the_order_are_refused_naming_the_field() {
    let api = start().await;
    let order = "114-7010001-0000001";
    let account = api.account_with_orders(701, &[order], 3).await;
    let ship = format!("/accounts/{account}/orders/{order}/shipments");
    let cancel = format!("/accounts/{account}/orders/{order}/cancel");

    // 4,294,967,295 + 2 overflows 32 bits.
    let overflow = api
        .post_with_key(
            &ship,
            "overflow",
            json!({"carrierCode": "UPS", "items": [
                {"orderItemId": "12345678901234", "quantity": 4_294_967_295u64},
                {"orderItemId": "12345678901235", "quantity": 2},
            ]}),
        )
        .await;
    assert_eq!(
        (overflow.status, overflow.field()),
        (StatusCode::BAD_REQUEST, Some("items[0].quantity")),
        "{:?}",
        overflow.body
    );
    let beyond = api
        .post(
            &ship,
            json!({"carrierCode": "UPS", "items": [{"orderItemId": "12345678901234", "quantity": 4}]}),
        )
        .await;
    assert_eq!(
        (beyond.status, beyond.field()),
        (StatusCode::BAD_REQUEST, Some("items[0].quantity")),
        "{:?}",
        beyond.body
    );
    let cancelled = api
        .post(
            &cancel,
            json!({"reason": "NoInventory", "items": [
                {"orderItemId": "12345678901234", "quantity": 4_294_967_295u64},
                {"orderItemId": "12345678901235", "quantity": 1},
            ]}),
        )
        .await;
    assert_eq!(
        (cancelled.status, cancelled.field()),
        (StatusCode::BAD_REQUEST, Some("items[0].quantity")),
        "{:?}",
        cancelled.body
    );
    // Nothing was queued, and the order still takes its three units.
    let all = api
        .post_with_key(&ship, "all", json!({"carrierCode": "UPS"}))
        .await;
    assert_eq!(all.status, StatusCode::ACCEPTED, "{:?}", all.body);
}

#[tokio::test]
async fn what_amazon_would_refuse_is_refused_here_naming_the_field() {
    let api = start().await;
    let order = "114-7020001-0000001";
    let account = api.account_with_orders(702, &[order], 2).await;
    let ship = format!("/accounts/{account}/orders/{order}/shipments");
    let cancel = format!("/accounts/{account}/orders/{order}/cancel");
    let inventory = format!("/accounts/{account}/inventory");
    let cases: Vec<(reqwest::Method, String, Value, &str)> = vec![
        (
            reqwest::Method::POST,
            ship.clone(),
            json!({"carrierCode": "UPS", "shipDate": "2031-03-09T12:00:00Z"}),
            "shipDate",
        ),
        (
            reqwest::Method::POST,
            ship.clone(),
            json!({"carrierCode": "UPS", "shipDate": "2026-03-01T12:00:00Z"}),
            "shipDate",
        ),
        (
            reqwest::Method::POST,
            cancel.clone(),
            json!({"reason": "noinventory"}),
            "reason",
        ),
        (
            reqwest::Method::POST,
            cancel.clone(),
            json!({"reason": "NOINVENTORY"}),
            "reason",
        ),
        (
            reqwest::Method::PUT,
            inventory.clone(),
            json!({"items": [{"sku": "MUG", "quantity": 1}, {"sku": "MUG", "quantity": 2}]}),
            "items[1].sku",
        ),
        // Arrays where objects belong: serde would read them field by field, in order.
        (
            reqwest::Method::POST,
            cancel.clone(),
            json!(["NoInventory"]),
            "body",
        ),
        (
            reqwest::Method::PUT,
            inventory.clone(),
            json!({"items": [["MUG", 1]]}),
            "items[0]",
        ),
        (
            reqwest::Method::PUT,
            format!("/accounts/{account}"),
            json!({"options": [true, true]}),
            "options",
        ),
        // Duplicate marketplaces, and lists beyond any real request.
        (
            reqwest::Method::PUT,
            format!("/accounts/{account}"),
            json!({"marketplaceIds": [US, CA, US]}),
            "marketplaceIds[2]",
        ),
        (
            reqwest::Method::POST,
            format!("/accounts/{account}/reports"),
            json!({"reportType": "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "marketplaceIds": [US, US]}),
            "marketplaceIds[1]",
        ),
        (
            reqwest::Method::POST,
            cancel.clone(),
            json!({"reason": "NoInventory", "items": (0..1001)
                .map(|i| json!({"orderItemId": format!("{:014}", i)}))
                .collect::<Vec<_>>()}),
            "items",
        ),
    ];
    for (method, path, body, field) in cases {
        let answer = api.call(method.clone(), &path, Some(body.clone()), &[]).await;
        assert_eq!(
            (answer.status, answer.field()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{method} {path} {body}: {:?}",
            answer.body
        );
    }
    // A marketplace list of 100,000 copies of one id is refused as a duplicate, never written (an item that
    // size is more than DynamoDB stores, which used to answer 503 "try again").
    let huge = api
        .put(
            &format!("/accounts/{account}"),
            json!({"marketplaceIds": vec![US; 100_000]}),
        )
        .await;
    assert_eq!(huge.status, StatusCode::BAD_REQUEST, "{:?}", huge.code());
    let stored = api.get(&format!("/accounts/{account}")).await;
    assert_eq!(stored.body["marketplaceIds"], json!([US]));
    let (shipments, cancellations) = {
        let view = api.get(&format!("/accounts/{account}/orders/{order}")).await;
        (view.body["shipments"].clone(), view.body["cancellations"].clone())
    };
    assert!(
        shipments.as_array().is_none_or(Vec::is_empty) && cancellations.as_array().is_none_or(Vec::is_empty),
        "nothing queued: {shipments} {cancellations}"
    );
}

#[tokio::test]
async fn idempotency_keys_are_per_account_and_the_media_type_is_part_of_the_request() {
    let api = start().await;
    let first_order = "114-7030001-0000001";
    let second_order = "114-7030002-0000001";
    let first = api.account_with_orders(703, &[first_order], 1).await;
    let second = api.account_with_orders(704, &[second_order], 1).await;

    // One client library, two sellers, the same key sequence.
    let body = json!({"reason": "NoInventory"});
    let a = api
        .post_with_key(
            &format!("/accounts/{first}/orders/{first_order}/cancel"),
            "key-1",
            body.clone(),
        )
        .await;
    let b = api
        .post_with_key(
            &format!("/accounts/{second}/orders/{second_order}/cancel"),
            "key-1",
            body.clone(),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    assert_eq!(b.status, StatusCode::ACCEPTED, "{:?}", b.body);
    assert_eq!(b.header("idempotent-replayed"), Some("false"));

    // The same bytes as text/plain are another request: its 415 is not replayed to the JSON one.
    let path = format!("/accounts/{first}/reports");
    let text = r#"{"reportType": "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"}"#;
    let (status, _) = raw(&api, &path, "key-2", "text/plain", text).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, answer) = raw(&api, &path, "key-2", "application/json", text).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("idempotency_key_reused")),
        "{answer}"
    );
}

/// A store whose named operations fail, as a store that is down for them would.
#[derive(Debug)]
struct Failing<T: ?Sized> {
    inner: Arc<T>,
    failing: Mutex<HashSet<&'static str>>,
}

impl<T: ?Sized> Failing<T> {
    fn new(inner: Arc<T>) -> Arc<Self> {
        Arc::new(Failing {
            inner,
            failing: Mutex::new(HashSet::new()),
        })
    }

    fn fail(&self, operation: &'static str) {
        self.failing.lock().unwrap().insert(operation);
    }

    fn heal(&self) {
        self.failing.lock().unwrap().clear();
    }

    fn check(&self, operation: &'static str) -> Result<(), StoreError> {
        if self.failing.lock().unwrap().contains(operation) {
            Err(StoreError::Unavailable {
                operation,
                message: "injected failure".into(),
            })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl AccountStore for Failing<dyn AccountStore> {
    async fn create_account(&self, account: &shared::domain::SellerAccount) -> Result<bool, StoreError> {
        self.check("create_account")?;
        self.inner.create_account(account).await
    }
    async fn save_settings(&self, account: &shared::domain::SellerAccount) -> Result<bool, StoreError> {
        self.check("save_settings")?;
        self.inner.save_settings(account).await
    }
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        self.inner.get_account(id).await
    }
    async fn list_accounts(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<AccountRecord>, StoreError> {
        self.inner.list_accounts(after, limit).await
    }
    async fn delete_account(&self, id: &str) -> Result<(), StoreError> {
        self.check("delete_account")?;
        self.inner.delete_account(id).await
    }
    async fn record_problem(&self, id: &str, problem: &Problem) -> Result<(), StoreError> {
        self.inner.record_problem(id, problem).await
    }
    async fn record_connected(&self, id: &str) -> Result<(), StoreError> {
        self.inner.record_connected(id).await
    }
    async fn record_import(
        &self,
        id: &str,
        at: DateTime<Utc>,
        watermark: Option<(&str, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        self.inner.record_import(id, at, watermark).await
    }
    async fn record_throttled(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.inner.record_throttled(id, at).await
    }
    async fn record_notifications(
        &self,
        id: &str,
        status: &shared::domain::NotificationStatus,
    ) -> Result<(), StoreError> {
        self.inner.record_notifications(id, status).await
    }
}

#[async_trait]
impl SecretStore for Failing<dyn SecretStore> {
    async fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.inner.get(name).await
    }
    async fn put(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.check("secret_put")?;
        self.inner.put(name, value).await
    }
    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.inner.delete(name).await
    }
}

#[async_trait]
impl Schedules for Failing<dyn Schedules> {
    async fn put(&self, spec: &ScheduleSpec) -> Result<(), StoreError> {
        self.check("schedule_put")?;
        self.inner.put(spec).await
    }
    async fn get(&self, name: &str) -> Result<Option<ScheduleSpec>, StoreError> {
        self.inner.get(name).await
    }
    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.inner.delete(name).await
    }
}

#[tokio::test]
async fn account_writes_that_fail_half_way_leave_nothing_behind() {
    let api = start().await;
    let store = Failing::<dyn AccountStore>::new(api.state.clone());
    let secrets = Failing::<dyn SecretStore>::new(api.import.secrets.clone());
    let schedules = Failing::<dyn Schedules>::new(api.schedules.clone());
    let accounts = Accounts::new(
        store.clone(),
        secrets.clone(),
        schedules.clone(),
        api.clock.clone(),
        api.naming.clone(),
    );
    let token = |text: &str| RefreshToken::parse("refreshToken", text).unwrap();
    let new = |seller: &str| NewAccount {
        seller_id: seller.into(),
        region: Region::Na,
        marketplaces: vec![US.into()],
        refresh_token: token("Atzr|first-token-value"),
        import_interval: ImportInterval::Minutes(60),
        options: ImportOptions::default(),
        ship_from: None,
    };
    let secret_of = |id: String| {
        let secrets = api.import.secrets.clone();
        let name = api.naming.secret_name(&id);
        async move { secrets.get(&name).await.expect("read") }
    };

    // Connecting: a failing secret or schedule leaves no account, secret or schedule.
    for failing in ["secret_put", "schedule_put"] {
        let seller = if failing == "secret_put" {
            "A2FAILING00001"
        } else {
            "A2FAILING00002"
        };
        let id = Accounts::account_id(seller, Region::Na);
        store.heal();
        secrets.heal();
        schedules.heal();
        if failing == "secret_put" {
            secrets.fail(failing);
        } else {
            schedules.fail(failing);
        }
        assert!(accounts.create(new(seller)).await.is_err(), "{failing}");
        assert_eq!(api.state.get_account(&id).await.unwrap(), None, "{failing}");
        assert_eq!(secret_of(id.clone()).await, None, "{failing}");
        assert_eq!(
            api.schedules
                .get(&shared::app::accounts::AccountNaming::schedule_name(&id))
                .await
                .unwrap(),
            None,
            "{failing}"
        );
    }

    // Changing: whichever write fails, the token, the settings and the schedule stay as they were.
    secrets.heal();
    schedules.heal();
    let record = accounts.create(new("A2FAILING00003")).await.expect("created");
    let id = record.account.id.clone();
    for failing in ["save_settings", "schedule_put", "secret_put"] {
        store.heal();
        secrets.heal();
        schedules.heal();
        match failing {
            "save_settings" => store.fail("save_settings"),
            "schedule_put" => schedules.fail("schedule_put"),
            _ => secrets.fail("secret_put"),
        }
        let changes = AccountChanges {
            refresh_token: Some(token("Atzr|second-token-value")),
            import_interval: Some(ImportInterval::Minutes(1440)),
            marketplaces: Some(vec![US.into(), CA.into()]),
            ..AccountChanges::default()
        };
        assert!(accounts.update(&id, changes).await.is_err(), "{failing}");
        assert_eq!(
            secret_of(id.clone()).await.as_deref(),
            Some("Atzr|first-token-value"),
            "{failing}: the token is unchanged"
        );
        let stored = api.state.get_account(&id).await.unwrap().unwrap().account;
        assert_eq!(stored.import_interval, ImportInterval::Minutes(60), "{failing}");
        assert_eq!(stored.marketplaces, vec![US.to_owned()], "{failing}");
        let schedule = api
            .schedules
            .get(&shared::app::accounts::AccountNaming::schedule_name(&id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(schedule.expression, "rate(1 hour)", "{failing}");
    }
}

/// The outbox, counting the use case's calls to it.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn FeedStore>,
    reads: AtomicUsize,
    read_keys: AtomicUsize,
    writes: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

#[async_trait]
impl FeedStore for Counting {
    async fn add_action(&self, action: &FeedAction, ledger: Option<u64>) -> Result<AddOutcome, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let result = self.inner.add_action(action, ledger).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        result
    }
    async fn save_actions(&self, actions: &[FeedAction]) -> Result<(), StoreError> {
        self.inner.save_actions(actions).await
    }
    async fn move_actions(
        &self,
        from: ActionOrigin<'_>,
        actions: &[FeedAction],
    ) -> Result<Vec<String>, StoreError> {
        self.inner.move_actions(from, actions).await
    }
    async fn get_actions(&self, account: &str, keys: &[String]) -> Result<Vec<FeedAction>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.read_keys.fetch_max(keys.len(), Ordering::SeqCst);
        self.inner.get_actions(account, keys).await
    }
    async fn order_ledger(&self, account: &str, order_id: &str) -> Result<OrderLedger, StoreError> {
        self.inner.order_ledger(account, order_id).await
    }
    async fn queued_actions(
        &self,
        account: &str,
        feed_type: FeedType,
        limit: usize,
    ) -> Result<Vec<FeedAction>, StoreError> {
        self.inner.queued_actions(account, feed_type, limit).await
    }
    async fn queued_groups(&self) -> Result<Vec<QueuedGroup>, StoreError> {
        self.inner.queued_groups().await
    }
    async fn save_submission(&self, submission: &FeedSubmission) -> Result<(), StoreError> {
        self.inner.save_submission(submission).await
    }
    async fn get_submission(&self, account: &str, id: &str) -> Result<Option<FeedSubmission>, StoreError> {
        self.inner.get_submission(account, id).await
    }
    async fn open_submissions(&self, limit: u32) -> Result<Vec<FeedSubmission>, StoreError> {
        self.inner.open_submissions(limit).await
    }
    async fn list_submissions(
        &self,
        account: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<FeedSubmission>, StoreError> {
        self.inner.list_submissions(account, after, limit).await
    }
}

#[tokio::test]
async fn a_thousand_sku_request_reads_in_batches_and_writes_in_parallel() {
    let api = start().await;
    let (_, account) = api.connect(seller_spec(705, &[US], 1), "never").await;
    let outbox = Arc::new(Counting {
        inner: api.state.clone(),
        reads: AtomicUsize::new(0),
        read_keys: AtomicUsize::new(0),
        writes: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        most_in_flight: AtomicUsize::new(0),
    });
    let actions = FeedActions::new(
        api.state.clone(),
        api.orders.clone(),
        outbox.clone(),
        Arc::new(shared::adapters::sqs::SqsQueue::new(
            api.stack.sqs.clone(),
            api.resources.get("FeedQueue").expect("feed queue"),
        )),
        api.clock.clone(),
    );
    let updates: Vec<(InventoryUpdate, bool)> = (0..1000)
        .map(|i| {
            let update = InventoryUpdate {
                sku: format!("SKU-{i:04}"),
                quantity: i,
                handling_time_days: None,
            };
            (update, false)
        })
        .collect();

    let started = Instant::now();
    let result = actions
        .set_inventory(&account, updates.clone(), None, Some("thousand"))
        .await
        .expect("queued");
    let took = started.elapsed();
    println!(
        "1,000-SKU inventory request against DynamoDB Local: {took:?}, {} reads of at most {} keys, {} writes, \
         at most {} in flight",
        outbox.reads.load(Ordering::SeqCst),
        outbox.read_keys.load(Ordering::SeqCst),
        outbox.writes.load(Ordering::SeqCst),
        outbox.most_in_flight.load(Ordering::SeqCst),
    );
    assert_eq!(result.actions.len(), 1000);
    assert!(
        outbox.reads.load(Ordering::SeqCst) <= 10,
        "{} reads",
        outbox.reads.load(Ordering::SeqCst)
    );
    assert_eq!(outbox.writes.load(Ordering::SeqCst), 1000);
    assert!(
        outbox.most_in_flight.load(Ordering::SeqCst) > 1,
        "the conditional writes run in parallel"
    );

    // The same request again writes nothing and answers the same actions.
    let again = actions
        .set_inventory(&account, updates, None, Some("thousand"))
        .await
        .expect("repeat");
    assert_eq!(outbox.writes.load(Ordering::SeqCst), 1000);
    let ids = |actions: &[FeedAction]| actions.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&again.actions), ids(&result.actions));
}
