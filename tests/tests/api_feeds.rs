//! Seller actions through the API to the sandbox's Feeds API: a shipment confirmation ships the order with its
//! tracking number, a cancellation cancels it, an order Amazon does not know and a carrier code Amazon has
//! retired are rejected with Amazon's codes in the feed log, a repeated request with one idempotency key is one
//! feed message, and a submitter that dies right after `createFeed` recovers without submitting twice.

mod api_support;

use std::sync::Arc;

use api_support::{Api, DE, FR, IT, US, processor, seller_spec, start, submit_and_settle};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;
use shared::adapters::sqs::SqsQueue;
use shared::app::feeds::FeedProcessor;
use shared::clock::Clock;
use shared::domain::events::EventDetail;
use shared::domain::{ActionOrigin, FeedAction, FeedSubmission, Order, QueuedGroup};
use shared::error::StoreError;
use shared::feeds::FeedType;
use shared::metrics;
use shared::ports::{AddOutcome, FeedStore, OrderLedger, OrderStore, Page};
use shared::testing::MemoryFeedStore;
use tests::sandbox::{Channel, Fault, FaultKind, Operation, OrderState, SandboxOrder, SellerCredentials};

/// A US seller whose orders are all merchant-fulfilled and unshipped, connected through the API, with its
/// unshipped orders stored as the import would store them.
async fn seller(api: &Api, seed: u64) -> (SellerCredentials, String, Vec<SandboxOrder>) {
    let mut spec = seller_spec(seed, &[US], 30);
    spec.afn_share = 0.0;
    spec.cancel_share = 0.0;
    spec.awaiting_shipment_share = 1.0;
    let (seller, account) = api.connect(spec, "never").await;
    let orders: Vec<SandboxOrder> = api
        .sandbox
        .orders(&seller.seller_id)
        .expect("seller")
        .into_iter()
        .filter(|o| o.fulfillment_channel == Channel::Mfn && o.status == OrderState::Unshipped)
        .collect();
    for order in &orders {
        api.orders
            .put_order(
                &account,
                &stored(
                    &order.amazon_order_id,
                    order.items.iter().map(|i| i.quantity).sum(),
                ),
                false,
            )
            .await
            .expect("stored");
    }
    (seller, account, orders)
}

fn stored(id: &str, units: u32) -> Order {
    tests::orders::unshipped(id, US, units, api_support::epoch() - TimeDelta::hours(2))
}

#[tokio::test]
async fn shipments_and_cancellations_reach_the_sandbox_and_rejections_show_in_the_feed_log() {
    let api = start().await;
    let (seller, account, orders) = seller(&api, 501).await;
    let (shipped, cancelled, retired) = (&orders[0], &orders[1], &orders[2]);
    let unknown = "114-0000000-0000001";
    api.orders
        .put_order(&account, &stored(unknown, 1), false)
        .await
        .expect("stored");

    let path = |order: &str, what: &str| format!("/accounts/{account}/orders/{order}/{what}");
    let body =
        json!({"carrierCode": "ups", "shippingMethod": "Ground", "trackingNumber": "1Z999AA10123456784"});
    let first = api
        .post_with_key(
            &path(&shipped.amazon_order_id, "shipments"),
            "ship-1",
            body.clone(),
        )
        .await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{:?}", first.body);
    assert_eq!(first.body["state"], "queued");
    let again = api
        .post_with_key(
            &path(&shipped.amazon_order_id, "shipments"),
            "ship-1",
            body.clone(),
        )
        .await;
    assert_eq!(again.body["id"], first.body["id"]);
    let cancel = api
        .post(
            &path(&cancelled.amazon_order_id, "cancel"),
            json!({"reason": "NoInventory"}),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::ACCEPTED, "{:?}", cancel.body);
    let ghost = api
        .post(&path(unknown, "shipments"), json!({"carrierName": "Bob's Vans"}))
        .await;
    assert_eq!(ghost.status, StatusCode::ACCEPTED, "{:?}", ghost.body);
    // A code on our list that Amazon no longer takes: only Amazon's processing report can say so.
    let usps = api
        .post(
            &path(&retired.amazon_order_id, "shipments"),
            json!({"carrierCode": "USPS", "trackingNumber": "9400111899223344556677"}),
        )
        .await;
    assert_eq!(usps.status, StatusCode::ACCEPTED, "{:?}", usps.body);
    api.sandbox.retire_carrier("USPS");

    // Bad input names its field; state conflicts are 409.
    let bad = api
        .post(
            &path(&shipped.amazon_order_id, "shipments"),
            json!({"carrierCode": "Pigeon"}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.field()),
        (StatusCode::BAD_REQUEST, Some("carrierCode"))
    );
    let bad = api
        .post(
            &path(&cancelled.amazon_order_id, "cancel"),
            json!({"reason": "Bored"}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.field()),
        (StatusCode::BAD_REQUEST, Some("reason"))
    );
    let twice = api.post(&path(&shipped.amazon_order_id, "shipments"), body).await;
    assert_eq!(
        (twice.status, twice.field()),
        (StatusCode::CONFLICT, Some("items"))
    );
    let missing = api
        .post(
            &path("114-9999999-9999999", "cancel"),
            json!({"reason": "NoInventory"}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let feeds = processor(&api, api.state.clone());
    submit_and_settle(&api, &feeds).await;

    let truth = api
        .sandbox
        .order(&seller.seller_id, &shipped.amazon_order_id)
        .unwrap()
        .unwrap();
    assert_eq!(truth.status, OrderState::Shipped);
    assert_eq!(
        truth.shipments[0].tracking_number.as_deref(),
        Some("1Z999AA10123456784")
    );
    let truth = api
        .sandbox
        .order(&seller.seller_id, &cancelled.amazon_order_id)
        .unwrap()
        .unwrap();
    assert_eq!(truth.status, OrderState::Cancelled);
    let submitted = api.sandbox.feeds(&seller.seller_id).unwrap();
    let fulfillment: Vec<_> = submitted
        .iter()
        .filter(|f| f.feed_type == "POST_ORDER_FULFILLMENT_DATA")
        .collect();
    assert_eq!(fulfillment.len(), 1, "one feed for every shipment");
    assert_eq!(fulfillment[0].messages, 3, "the repeated request is one message");

    let order = api
        .get(&format!("/accounts/{account}/orders/{}", shipped.amazon_order_id))
        .await;
    assert_eq!(
        order.body["shipments"][0]["state"], "accepted",
        "{:?}",
        order.body
    );
    let log = api.get(&format!("/accounts/{account}/feeds")).await;
    assert_eq!(log.status, StatusCode::OK);
    let entries = log.body["items"].as_array().expect("items").clone();
    assert_eq!(entries.len(), 2, "{entries:?}");
    let feed_id = entries
        .iter()
        .find(|f| f["feedType"] == "POST_ORDER_FULFILLMENT_DATA")
        .and_then(|f| f["id"].as_str())
        .expect("fulfillment feed");
    let feed = api.get(&format!("/accounts/{account}/feeds/{feed_id}")).await;
    assert_eq!(feed.body["status"], "done");
    let rejected: Vec<_> = feed.body["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|a| a["state"] == "rejected")
        .collect();
    let mut codes: Vec<&str> = rejected.iter().filter_map(|a| a["code"].as_str()).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        ["18028", "25"],
        "unknown order, retired carrier: {:?}",
        feed.body
    );
    let truth = api
        .sandbox
        .order(&seller.seller_id, &retired.amazon_order_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        truth.status,
        OrderState::Unshipped,
        "a rejected confirmation ships nothing"
    );

    // The state table's stream, published as the event publisher publishes it: one result event per action.
    let mut stream =
        tests::runner::streams::StreamSource::new(&api.stack, api.resources.get("StateTable").unwrap());
    let bus = shared::testing::MemoryEventBus::default();
    let pumped = stream.pump(&bus, 100, None).await.expect("stream read");
    assert_eq!(pumped.failed_batches, 0);
    let mut results: Vec<(String, String, Option<String>)> = bus
        .events()
        .iter()
        .map(|event| match &event.detail {
            EventDetail::Action(detail) => (
                event.kind.detail_type().to_owned(),
                detail.amazon_order_id.clone().unwrap_or_default(),
                detail.code.clone(),
            ),
            other => panic!("not a seller action's result: {other:?}"),
        })
        .collect();
    results.sort();
    let accepted = "Seller Action Accepted".to_owned();
    let rejected = "Seller Action Rejected".to_owned();
    let mut expected = vec![
        (accepted.clone(), shipped.amazon_order_id.clone(), None),
        (accepted, cancelled.amazon_order_id.clone(), None),
        (rejected.clone(), unknown.to_owned(), Some("18028".to_owned())),
        (rejected, retired.amazon_order_id.clone(), Some("25".to_owned())),
    ];
    expected.sort();
    assert_eq!(results, expected);
}

/// The account's default ship-from address goes with every shipment that names none (a shipment's own wins); it
/// is shown on the account, refused with the field named when Amazon's limits would refuse it, and `null`
/// removes it, after which confirmations carry no address (Amazon takes Seller Central's default).
#[tokio::test]
async fn an_accounts_default_ship_from_goes_with_shipments_that_name_none() {
    let api = start().await;
    let (seller, account, orders) = seller(&api, 503).await;
    let warehouse = json!({"name": "Warehouse West", "addressLine1": "9 Harbor Way", "city": "Oakland",
                           "stateOrRegion": "CA", "postalCode": "94607", "countryCode": "US"});
    let too_long = json!({"name": "W".repeat(51), "addressLine1": "9 Harbor Way", "countryCode": "US"});
    let refused = api
        .put(&format!("/accounts/{account}"), json!({"shipFrom": too_long}))
        .await;
    assert_eq!(
        (refused.status, refused.field()),
        (StatusCode::BAD_REQUEST, Some("shipFrom.name"))
    );
    let set = api
        .put(&format!("/accounts/{account}"), json!({"shipFrom": warehouse}))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(set.body["shipFrom"], warehouse);
    assert_eq!(
        api.get(&format!("/accounts/{account}")).await.body["shipFrom"],
        warehouse
    );

    let path =
        |order: &SandboxOrder| format!("/accounts/{account}/orders/{}/shipments", order.amazon_order_id);
    let ups = json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784"});
    let by_default = api.post(&path(&orders[0]), ups.clone()).await;
    assert_eq!(by_default.status, StatusCode::ACCEPTED, "{:?}", by_default.body);
    assert_eq!(by_default.body["request"]["shipFrom"], warehouse);
    let mut own = ups.clone();
    own["shipFrom"] = json!({"name": "Store", "addressLine1": "1 Main St", "postalCode": "10001",
                             "countryCode": "US"});
    let named = api.post(&path(&orders[1]), own).await;
    assert_eq!(named.status, StatusCode::ACCEPTED, "{:?}", named.body);
    let cleared = api
        .put(&format!("/accounts/{account}"), json!({"shipFrom": null}))
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{:?}", cleared.body);
    assert!(cleared.body.get("shipFrom").is_none(), "{:?}", cleared.body);
    let without = api.post(&path(&orders[2]), ups).await;
    assert_eq!(without.status, StatusCode::ACCEPTED, "{:?}", without.body);
    assert!(
        without.body["request"].get("shipFrom").is_none(),
        "{:?}",
        without.body
    );

    let feeds = processor(&api, api.state.clone());
    submit_and_settle(&api, &feeds).await;
    let ship_from = |order: &SandboxOrder| {
        let at_amazon = api
            .sandbox
            .order(&seller.seller_id, &order.amazon_order_id)
            .unwrap()
            .unwrap();
        assert_eq!(at_amazon.shipments.len(), 1, "{:?}", at_amazon.shipments);
        at_amazon.shipments[0].ship_from.clone()
    };
    assert_eq!(
        ship_from(&orders[0]),
        Some(("US".to_owned(), Some("94607".to_owned())))
    );
    assert_eq!(
        ship_from(&orders[1]),
        Some(("US".to_owned(), Some("10001".to_owned())))
    );
    assert_eq!(ship_from(&orders[2]), None);
}

#[tokio::test]
async fn a_submitter_that_dies_after_create_feed_adopts_its_feed_instead_of_submitting_twice() {
    let api = start().await;
    let (seller, account, orders) = seller(&api, 502).await;
    let outbox = Arc::new(MemoryFeedStore::default());
    let actions = shared::app::feeds::FeedActions::new(
        api.state.clone(),
        api.orders.clone(),
        outbox.clone(),
        Arc::new(SqsQueue::new(
            api.stack.sqs.clone(),
            api.resources.get("FeedQueue").expect("feed queue"),
        )),
        api.clock.clone(),
    );
    let feeds = processor(&api, outbox.clone());
    for order in &orders[..3] {
        let confirmation = shared::domain::ShipmentConfirmation {
            amazon_order_id: order.amazon_order_id.clone(),
            carrier: shared::domain::Carrier::from_name("USPS"),
            shipping_method: None,
            tracking_number: Some("9400111899223344556677".into()),
            ship_date: api.clock.now(),
            items: shared::domain::ShippedItems::All,
            ship_from: None,
        };
        actions
            .confirm_shipment(&account, confirmation, None)
            .await
            .expect("queued");
    }
    outbox.fail_next_feed_id_write();
    api.advance(TimeDelta::minutes(6));
    assert!(
        feeds.submit_due().await.expect("run").failed > 0,
        "the run fails after createFeed"
    );
    assert_eq!(api.sandbox.feeds(&seller.seller_id).unwrap().len(), 1);
    let oldest_waiting = || {
        feeds
            .metrics
            .recorded_latest(metrics::OLDEST_QUEUED_FEED_ACTION, "Stack", "feed-tests")
    };
    assert_eq!(oldest_waiting(), Some(360.0), "queued 6 minutes before the run");

    let recovery = feeds.submit_due().await.expect("next run");
    assert_eq!((recovery.adopted, recovery.feeds), (1, 0), "{recovery:?}");
    assert_eq!(oldest_waiting(), Some(0.0), "nothing queued any more");
    for _ in 0..10 {
        api.advance(TimeDelta::minutes(2));
        feeds.poll_feeds().await.expect("poll run");
    }
    assert_eq!(
        api.sandbox.feeds(&seller.seller_id).unwrap().len(),
        1,
        "exactly one createFeed"
    );
    let states: Vec<&str> = outbox.all_actions().iter().map(|a| a.state.name()).collect();
    assert_eq!(states, ["accepted"; 3]);
}

/// The outbox, with the first write of actions held until the test opens the gate: a poll run that is slow
/// to settle a feed.
#[derive(Debug)]
struct Gate {
    inner: Arc<dyn FeedStore>,
    armed: std::sync::atomic::AtomicBool,
    arrived: tokio::sync::Semaphore,
    open: tokio::sync::Semaphore,
}

impl Gate {
    fn new(inner: Arc<dyn FeedStore>) -> Self {
        Gate {
            inner,
            armed: std::sync::atomic::AtomicBool::new(true),
            arrived: tokio::sync::Semaphore::new(0),
            open: tokio::sync::Semaphore::new(0),
        }
    }

    async fn hold_the_first(&self) {
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.arrived.add_permits(1);
            drop(self.open.acquire().await.expect("gate"));
        }
    }

    /// Waits until a run is held at the gate.
    async fn reached(&self) {
        drop(self.arrived.acquire().await.expect("gate"));
    }

    fn open(&self) {
        self.open.add_permits(1);
    }
}

#[async_trait::async_trait]
impl FeedStore for Gate {
    async fn add_action(&self, action: &FeedAction, ledger: Option<u64>) -> Result<AddOutcome, StoreError> {
        self.inner.add_action(action, ledger).await
    }
    async fn save_actions(&self, actions: &[FeedAction]) -> Result<(), StoreError> {
        self.hold_the_first().await;
        self.inner.save_actions(actions).await
    }
    async fn move_actions(
        &self,
        from: ActionOrigin<'_>,
        actions: &[FeedAction],
    ) -> Result<Vec<String>, StoreError> {
        self.hold_the_first().await;
        self.inner.move_actions(from, actions).await
    }
    async fn get_actions(&self, account: &str, keys: &[String]) -> Result<Vec<FeedAction>, StoreError> {
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

/// Ships each order (all its units) through the API.
async fn ship(api: &Api, account: &str, orders: &[SandboxOrder]) {
    for order in orders {
        let answer = api
            .post(
                &format!("/accounts/{account}/orders/{}/shipments", order.amazon_order_id),
                json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784"}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{:?}", answer.body);
    }
}

/// Feeds of one type the sandbox received for the seller.
fn feeds_of(api: &Api, seller: &SellerCredentials, feed_type: &str) -> usize {
    api.sandbox
        .feeds(&seller.seller_id)
        .expect("seller")
        .iter()
        .filter(|f| f.feed_type == feed_type)
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_run_that_settles_a_fatal_feed_late_does_not_queue_its_actions_again() {
    let api = start().await;
    let (seller, account, orders) = seller(&api, 503).await;
    ship(&api, &account, &orders[..2]).await;
    api.sandbox
        .inject(Fault::new(FaultKind::Fatal).on(Operation::CreateFeed));
    let feeds = processor(&api, api.state.clone());
    api.advance(TimeDelta::minutes(6));
    assert_eq!(feeds.submit_due().await.expect("run").feeds, 1);
    api.advance(TimeDelta::minutes(2));

    // Two poll runs at once: the late one reads the FATAL feed and is held before it writes its actions;
    // meanwhile the other settles the feed and the submitter puts the actions into a new feed.
    let gate = Arc::new(Gate::new(api.state.clone()));
    let late = FeedProcessor {
        outbox: gate.clone(),
        ..processor(&api, api.state.clone())
    };
    let (late_run, ()) = tokio::join!(late.poll_feeds(), async {
        gate.reached().await;
        let settled = feeds.poll_feeds().await.expect("poll run");
        assert_eq!(settled.failed_feeds, 1, "{settled:?}");
        api.advance(TimeDelta::minutes(6));
        assert_eq!(feeds.submit_due().await.expect("run").feeds, 1);
        gate.open();
    });
    late_run.expect("late poll run");
    assert_eq!(feeds_of(&api, &seller, "POST_ORDER_FULFILLMENT_DATA"), 2);

    for _ in 0..10 {
        api.advance(TimeDelta::minutes(2));
        feeds.poll_feeds().await.expect("poll run");
        feeds.submit_due().await.expect("run");
    }
    assert_eq!(
        feeds_of(&api, &seller, "POST_ORDER_FULFILLMENT_DATA"),
        2,
        "the FATAL feed and the one that carried its actions again, no third"
    );
    let answer = api
        .get(&format!(
            "/accounts/{account}/orders/{}",
            orders[0].amazon_order_id
        ))
        .await;
    assert_eq!(
        answer.body["shipments"][0]["state"], "accepted",
        "{:?}",
        answer.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_submitter_runs_at_once_never_both_submit() {
    let api = start().await;
    let (seller, account, orders) = seller(&api, 504).await;
    ship(&api, &account, &orders[..3]).await;
    // A run's first Amazon call is slow: two runs started together overlap from start to end.
    api.sandbox.inject(
        Fault::new(FaultKind::slow(std::time::Duration::from_millis(300)))
            .on(Operation::CreateFeedDocument)
            .times(2),
    );
    let feeds = processor(&api, api.state.clone());
    api.advance(TimeDelta::minutes(6));

    let (first, second) = tokio::join!(feeds.submit_due(), feeds.submit_due());
    let (first, second) = (first.expect("first run"), second.expect("second run"));

    assert_eq!(first.feeds + second.feeds, 1, "{first:?} {second:?}");
    assert_eq!(first.failed + second.failed, 0, "{first:?} {second:?}");
    let stats = api.sandbox.stats(&seller.seller_id).expect("seller");
    assert_eq!(
        stats[&Operation::CreateFeedDocument].calls,
        1,
        "the other run did nothing"
    );
    assert_eq!(stats[&Operation::CreateFeed].calls, 1);
    let log = api.get(&format!("/accounts/{account}/feeds")).await;
    assert_eq!(
        log.body["items"].as_array().map(Vec::len),
        Some(1),
        "{:?}",
        log.body
    );

    // The lease went with the run: the next run submits.
    ship(&api, &account, &orders[3..4]).await;
    api.advance(TimeDelta::minutes(6));
    assert_eq!(feeds.submit_due().await.expect("next run").feeds, 1);
}

/// The feed log's entries, newest first.
async fn feed_log(api: &Api, account: &str) -> Vec<serde_json::Value> {
    let log = api.get(&format!("/accounts/{account}/feeds")).await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    log.body["items"].as_array().expect("items").clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feed_amazon_never_takes_is_retried_once_a_run_then_its_actions_fail_with_the_reason() {
    let api = start().await;
    let (seller, account, orders) = seller(&api, 505).await;
    ship(&api, &account, &orders[..2]).await;
    api.sandbox.inject(
        Fault::new(FaultKind::ServerError { status: 500 })
            .on(Operation::CreateFeed)
            .times(1000),
    );
    let feeds = processor(&api, api.state.clone());
    let stuck_age = || {
        feeds
            .metrics
            .recorded_latest(metrics::STUCK_FEED_SUBMISSION_AGE, "Stack", "feed-tests")
    };
    api.advance(TimeDelta::minutes(6));
    let first = feeds.submit_due().await.expect("run");
    assert_eq!(first.failed, 1, "{first:?}");
    let create_feed_calls =
        || api.sandbox.stats(&seller.seller_id).expect("seller")[&Operation::CreateFeed].calls;
    assert_eq!(create_feed_calls(), 1, "a 500 is not sent again in the same run");
    assert_eq!(feed_log(&api, &account).await[0]["status"], "submitting");

    let mut runs = 1;
    let mut ages = Vec::new();
    while feed_log(&api, &account).await[0]["status"] == "submitting" && runs < 30 {
        api.advance(TimeDelta::minutes(1));
        feeds.submit_due().await.expect("run");
        runs += 1;
        ages.push(stuck_age().expect("the gauge is written every run"));
        assert_eq!(create_feed_calls(), runs.min(10), "one createFeed a run");
    }
    assert_eq!(runs, 11, "ten createFeed attempts, then the run that gives up");
    assert_eq!(
        ages[..3],
        [60.0, 120.0, 180.0],
        "the oldest stuck submission's age"
    );
    let entry = &feed_log(&api, &account).await[0];
    assert_eq!(entry["status"], "failed", "{entry}");
    let reason = entry["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("10 attempts") && reason.contains("500"),
        "{reason}"
    );
    let order = api
        .get(&format!(
            "/accounts/{account}/orders/{}",
            orders[0].amazon_order_id
        ))
        .await;
    let shipment = &order.body["shipments"][0];
    assert_eq!(shipment["state"], "rejected", "{shipment}");
    assert_eq!(shipment["code"], "NOT_SUBMITTED", "{shipment}");

    api.advance(TimeDelta::minutes(1));
    let quiet = feeds.submit_due().await.expect("run");
    assert_eq!((quiet.failed, quiet.feeds), (0, 0), "{quiet:?}");
    assert_eq!(stuck_age(), Some(0.0));
    assert!(api.sandbox.feeds(&seller.seller_id).unwrap().is_empty());
    // The seller may send the shipment again: its units are free.
    ship(&api, &account, &orders[..1]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_account_fails_its_waiting_actions_with_the_reason_instead_of_retrying_them() {
    let api = start().await;
    let (seller, account, orders) = seller(&api, 506).await;
    ship(&api, &account, &orders[..1]).await;
    api.sandbox
        .inject(Fault::new(FaultKind::ServerError { status: 503 }).on(Operation::CreateFeed));
    let feeds = processor(&api, api.state.clone());
    api.advance(TimeDelta::minutes(6));
    assert_eq!(
        feeds.submit_due().await.expect("run").failed,
        1,
        "left submitting"
    );
    ship(&api, &account, &orders[1..3]).await;
    let deleted = api.delete(&format!("/accounts/{account}")).await;
    assert!(deleted.status.is_success(), "{:?}", deleted.body);

    api.advance(TimeDelta::minutes(6));
    let run = feeds.submit_due().await.expect("run");
    assert_eq!(run.failed, 0, "{run:?}");
    api.advance(TimeDelta::minutes(1));
    let next = feeds.submit_due().await.expect("run");
    assert_eq!(next.failed, 0, "nothing left to fail on every minute: {next:?}");
    assert!(api.sandbox.feeds(&seller.seller_id).unwrap().is_empty());

    // Connected again (the same seller is the same account): the feed log says what became of them.
    let again = api
        .post(
            "/accounts",
            json!({"sellerId": seller.seller_id, "region": "NA", "marketplaceIds": [US],
                   "refreshToken": seller.refresh_token, "importInterval": "never"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    assert_eq!(again.body["id"], account.as_str());
    let log = feed_log(&api, &account).await;
    assert!(!log.is_empty());
    for entry in &log {
        assert_eq!(entry["status"], "failed", "{entry}");
        assert!(
            entry["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("account was deleted"),
            "{entry}"
        );
    }
    for order in &orders[..3] {
        let view = api
            .get(&format!("/accounts/{account}/orders/{}", order.amazon_order_id))
            .await;
        assert_eq!(
            view.body["shipments"][0]["code"], "ACCOUNT_DELETED",
            "{:?}",
            view.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submission_that_finds_one_of_its_actions_taken_sends_no_feed_and_queues_the_rest_again() {
    let api = start().await;
    let (seller, account, orders) = seller(&api, 507).await;
    ship(&api, &account, &orders[..2]).await;
    let gate = Arc::new(Gate::new(api.state.clone()));
    let feeds = FeedProcessor {
        outbox: gate.clone(),
        ..processor(&api, api.state.clone())
    };
    api.advance(TimeDelta::minutes(6));

    // The run is held as it marks its actions submitted; meanwhile another writer takes one of them.
    let (run, taken) = tokio::join!(feeds.submit_due(), async {
        gate.reached().await;
        let queued = api
            .state
            .queued_actions(&account, FeedType::OrderFulfillment, 10)
            .await
            .expect("queued");
        let taken = shared::domain::FeedAction {
            state: shared::domain::ActionState::Submitted {
                submission_id: "elsewhere".into(),
                message_id: 1,
            },
            ..queued[0].clone()
        };
        let moved = api
            .state
            .move_actions(ActionOrigin::Queued, std::slice::from_ref(&taken))
            .await
            .expect("moved");
        assert_eq!(moved.len(), 1);
        gate.open();
        taken.key()
    });

    let run = run.expect("run");
    assert_eq!((run.feeds, run.failed), (0, 1), "{run:?}");
    let stats = api.sandbox.stats(&seller.seller_id).expect("seller");
    assert_eq!(
        stats.get(&Operation::CreateFeed).map_or(0, |s| s.calls),
        0,
        "no feed carries an action another run has"
    );
    let queued = api
        .state
        .queued_actions(&account, FeedType::OrderFulfillment, 10)
        .await
        .expect("queued");
    assert_eq!(queued.len(), 1, "the other action waits for the next feed");
    assert_ne!(queued[0].key(), taken);
    let log = feed_log(&api, &account).await;
    assert_eq!(log[0]["status"], "failed", "{log:?}");
}

#[tokio::test]
async fn inventory_for_three_marketplaces_goes_as_one_listings_feed_per_marketplace() {
    let api = start().await;
    let mut spec = seller_spec(503, &[DE, FR, IT], 10);
    spec.afn_share = 0.0;
    let (seller, account) = api.connect(spec, "never").await;
    let skus: Vec<String> = api
        .sandbox
        .listings(&seller.seller_id)
        .expect("listings")
        .into_iter()
        .filter(|l| l.marketplace_id == DE)
        .map(|l| l.sku)
        .take(2)
        .collect();
    let path = format!("/accounts/{account}/inventory");
    let everywhere = api
        .put(
            &path,
            json!({"items": [{"sku": skus[0], "quantity": 7}, {"sku": skus[1], "quantity": 0}]}),
        )
        .await;
    assert_eq!(everywhere.status, StatusCode::ACCEPTED, "{:?}", everywhere.body);
    let mut placed: Vec<(String, String)> = everywhere.body["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["marketplaceId"].as_str().unwrap_or_default().to_owned(),
                a["request"]["sku"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    placed.sort();
    assert_eq!(placed.len(), 6, "one action per SKU and marketplace: {placed:?}");
    api.advance(TimeDelta::seconds(1));
    let france = api
        .put(
            &path,
            json!({"marketplaceIds": [FR], "items": [{"sku": skus[0], "quantity": 3}]}),
        )
        .await;
    assert_eq!(france.status, StatusCode::ACCEPTED, "{:?}", france.body);
    let elsewhere = api
        .put(
            &path,
            json!({"marketplaceIds": [US], "items": [{"sku": skus[0], "quantity": 3}]}),
        )
        .await;
    assert_eq!(
        (elsewhere.status, elsewhere.field()),
        (StatusCode::BAD_REQUEST, Some("marketplaceIds"))
    );

    let feeds = processor(&api, api.state.clone());
    submit_and_settle(&api, &feeds).await;

    let submitted = api.sandbox.feeds(&seller.seller_id).expect("feeds");
    let mut feed_marketplaces: Vec<Vec<String>> =
        submitted.iter().map(|f| f.marketplace_ids.clone()).collect();
    feed_marketplaces.sort();
    let mut each = [DE, FR, IT];
    each.sort_unstable();
    let expected: Vec<Vec<String>> = each.iter().map(|m| vec![(*m).to_owned()]).collect();
    assert_eq!(feed_marketplaces, expected, "one listings feed per marketplace");
    assert!(
        submitted
            .iter()
            .all(|f| f.messages_rejected == 0 && f.results.is_empty()),
        "no refusals: {submitted:?}"
    );
    let quantity = |marketplace: &str, sku: &str| {
        api.sandbox
            .listings(&seller.seller_id)
            .expect("listings")
            .into_iter()
            .find(|l| l.marketplace_id == marketplace && l.sku == sku)
            .and_then(|l| l.quantity)
    };
    assert_eq!(quantity(DE, &skus[0]), Some(7));
    assert_eq!(
        quantity(FR, &skus[0]),
        Some(3),
        "the later FR-only update wins in FR"
    );
    assert_eq!(quantity(IT, &skus[0]), Some(7));
    for marketplace in [DE, FR, IT] {
        assert_eq!(quantity(marketplace, &skus[1]), Some(0));
    }

    let log = api.get(&format!("/accounts/{account}/feeds")).await;
    let mut logged: Vec<&str> = log.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|f| f["marketplaceId"].as_str())
        .collect();
    logged.sort_unstable();
    assert_eq!(logged, each, "the feed log names each feed's marketplace");
    for entry in log.body["items"].as_array().expect("items") {
        let feed = api
            .get(&format!(
                "/accounts/{account}/feeds/{}",
                entry["id"].as_str().expect("id")
            ))
            .await;
        for action in feed.body["actions"].as_array().expect("actions") {
            assert_eq!(action["state"], "accepted", "{action}");
            assert_eq!(action["marketplaceId"], entry["marketplaceId"], "{action}");
        }
    }
}

#[tokio::test]
async fn a_seller_in_six_marketplaces_gets_five_listings_feeds_now_and_the_sixth_when_amazon_takes_it() {
    let api = start().await;
    let marketplaces = [DE, FR, IT, "A1RKKUPIHCS9HS", "A1F83G8C2ARO7P", "A1805IZSGTT6HS"];
    let (seller, account) = api.connect(seller_spec(504, &marketplaces, 5), "never").await;
    let set = api
        .put(
            &format!("/accounts/{account}/inventory"),
            json!({"items": [{"sku": "MUG-1", "quantity": 4}]}),
        )
        .await;
    assert_eq!(set.status, StatusCode::ACCEPTED, "{:?}", set.body);
    let feeds = processor(&api, api.state.clone());
    api.advance(TimeDelta::minutes(6));
    let first = feeds.submit_due().await.expect("run");
    assert_eq!(
        (first.feeds, first.waiting_for_quota),
        (5, 1),
        "Amazon takes five listings feeds in five minutes: {first:?}"
    );
    api.advance(TimeDelta::minutes(1));
    assert_eq!(
        feeds.submit_due().await.expect("run").feeds,
        0,
        "still within the window"
    );
    api.advance(TimeDelta::minutes(4));
    assert_eq!(feeds.submit_due().await.expect("run").feeds, 1);
    let stats = api.sandbox.stats(&seller.seller_id).expect("stats");
    let create = &stats[&tests::sandbox::Operation::CreateFeed];
    assert_eq!((create.succeeded, create.throttled), (6, 0), "never throttled");
    api.advance(TimeDelta::minutes(10));
    let listed = api.sandbox.listings(&seller.seller_id).expect("listings");
    for marketplace in marketplaces {
        assert!(
            listed
                .iter()
                .any(|l| l.marketplace_id == marketplace && l.sku == "MUG-1" && l.quantity == Some(4)),
            "{marketplace} has no quantity"
        );
    }
}

#[tokio::test]
async fn a_document_that_breaks_amazons_schema_shows_5000_per_message_in_the_feed_log() {
    use shared::amazon::{CreateFeedDocumentSpecification, CreateFeedSpecification};
    use shared::app::feeds::plan::documents;
    use shared::domain::{ActionState, FeedSubmission, SubmissionStatus};
    use shared::feeds::FeedType;
    use shared::ports::AccountStore;

    let api = start().await;
    let (_, account, orders) = seller(&api, 505).await;
    for order in &orders[..3] {
        let queued = api
            .post(
                &format!("/accounts/{account}/orders/{}/shipments", order.amazon_order_id),
                json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784"}),
            )
            .await;
        assert_eq!(queued.status, StatusCode::ACCEPTED, "{:?}", queued.body);
    }
    // What the submitter would send, with the second message broken the way only Amazon's XSDs see.
    let feeds = processor(&api, api.state.clone());
    let actions = api
        .state
        .queued_actions(&account, FeedType::OrderFulfillment, 10)
        .await
        .expect("queued");
    let record = api
        .state
        .get_account(&account)
        .await
        .expect("read")
        .expect("account");
    let planned = documents(
        FeedType::OrderFulfillment,
        &record.account.seller_id,
        &actions,
        &feeds.settings,
    )
    .expect("builds");
    let body = String::from_utf8(planned[0].document.body.clone()).expect("UTF-8");
    let second = body.find("<MessageID>2</MessageID>").expect("a second message");
    let broken = format!(
        "{}{}",
        &body[..second],
        body[second..].replacen(
            "<FulfillmentData>",
            "<GiftWrap>yes</GiftWrap><FulfillmentData>",
            1
        )
    );
    let auth = api
        .naming
        .seller_auth(api.import.secrets.as_ref(), &record.account)
        .await
        .expect("secret")
        .expect("token");
    let content_type = FeedType::OrderFulfillment.content_type();
    let created = api
        .import
        .amazon
        .create_feed_document(
            &auth,
            &CreateFeedDocumentSpecification {
                content_type: content_type.to_owned(),
            },
        )
        .await
        .expect("document");
    api.import
        .amazon
        .upload_feed_document(&created.url, content_type, broken.into_bytes().into())
        .await
        .expect("upload");
    let feed = api
        .import
        .amazon
        .create_feed(
            &auth,
            &CreateFeedSpecification {
                feed_type: FeedType::OrderFulfillment.as_str().to_owned(),
                marketplace_ids: vec![US.to_owned()],
                input_feed_document_id: created.feed_document_id.clone(),
                feed_options: None,
            },
        )
        .await
        .expect("feed");
    let now = api.clock.now();
    let submission = FeedSubmission {
        id: "broken-1".to_owned(),
        account_id: account.clone(),
        feed_type: FeedType::OrderFulfillment,
        marketplace_id: Some(US.to_owned()),
        document_id: created.feed_document_id,
        started_at: now,
        last_attempt_at: Some(now),
        failed_attempts: 0,
        last_error: None,
        feed_id: Some(feed.feed_id),
        messages: planned[0].messages.clone(),
        status: SubmissionStatus::Submitted {
            amazon_status: "IN_QUEUE".to_owned(),
        },
        polls: 0,
        next_poll: Some(now),
        updated_at: now,
    };
    api.state.save_submission(&submission).await.expect("saved");
    let submitted: Vec<_> = planned[0]
        .messages
        .iter()
        .flat_map(|m| m.actions.iter().map(move |key| (m.message_id, key)))
        .map(|(message_id, key)| {
            let mut action = actions.iter().find(|a| &a.key() == key).expect("action").clone();
            action.state = ActionState::Submitted {
                submission_id: submission.id.clone(),
                message_id,
            };
            action
        })
        .collect();
    api.state.save_actions(&submitted).await.expect("marked");
    for _ in 0..10 {
        api.advance(TimeDelta::minutes(2));
        feeds.poll_feeds().await.expect("poll run");
    }

    let logged = api.get(&format!("/accounts/{account}/feeds/broken-1")).await;
    assert_eq!(logged.body["status"], "done", "{:?}", logged.body);
    let mut results: Vec<(u64, String, String)> = logged.body["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| {
            (
                a["messageId"].as_u64().unwrap_or(0),
                a["state"].as_str().unwrap_or_default().to_owned(),
                a["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    results.sort();
    assert_eq!(
        results,
        [
            (1, "accepted".to_owned(), String::new()),
            (2, "rejected".to_owned(), "5000".to_owned()),
            (3, "accepted".to_owned(), String::new()),
        ],
        "{:?}",
        logged.body
    );
}

#[tokio::test]
async fn with_feeds_notified_the_poller_asks_about_a_processing_feed_only_every_fifteen_minutes() {
    let api = start().await;
    let (seller, account, orders) = seller(&api, 507).await;
    api.subscribe(&account).await;
    let queued = api
        .post(
            &format!(
                "/accounts/{account}/orders/{}/shipments",
                orders[0].amazon_order_id
            ),
            json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784"}),
        )
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{:?}", queued.body);
    let feeds = processor(&api, api.state.clone());
    api.advance(TimeDelta::minutes(6));
    feeds.submit_due().await.expect("submitter run");
    let get_feeds = || {
        api.sandbox
            .stats(&seller.seller_id)
            .unwrap()
            .get(&Operation::GetFeed)
            .map_or(0, |s| s.calls)
    };
    // Polled every minute until Amazon is first found processing it...
    let mut pending = 0;
    for _ in 0..10 {
        api.advance(TimeDelta::seconds(20));
        pending += feeds.poll_feeds().await.unwrap().pending;
        if pending > 0 {
            break;
        }
    }
    assert_eq!(pending, 1, "the feed was never seen processing");
    // ...then left to the notification: no poll for 14 minutes, the safety net's poll at the 15th.
    let polled = get_feeds();
    for _ in 0..14 {
        api.advance(TimeDelta::minutes(1));
        feeds.poll_feeds().await.unwrap();
    }
    assert_eq!(get_feeds(), polled, "a notified processing feed was polled");
    api.advance(TimeDelta::minutes(1));
    let net = feeds.poll_feeds().await.unwrap();
    assert_eq!((net.polled, net.done), (1, 1), "{net:?}");
}
