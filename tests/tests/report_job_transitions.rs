//! Report jobs move only from the state they were read in, against DynamoDB Local, moto's SQS and the
//! sandbox: two poll runs at once hand each document to the parsers once, and a parser that finishes before
//! the poller has recorded the hand-over leaves the job imported, not `parsing` again.

mod api_support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use api_support::{Api, US, seller_spec, start};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::app::batch::DeadLetters;
use shared::app::import::{Import, ParseMessage};
use shared::domain::Problem;
use shared::error::StoreError;
use shared::ports::{AccountRecord, AccountStore, MessageQueue, OutgoingMessage, Page};
use tests::sandbox::{Fault, FaultKind, Operation, SellerCredentials};
use tokio::sync::Barrier;

const FLAT: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";
const INVENTORY: &str = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA";

/// The account store, with the first `parties` account reads held until all of them arrived: each poll run
/// reads its account after it listed the due jobs, so every run has listed them before any run polls one.
#[derive(Debug)]
struct Meeting {
    inner: Arc<dyn AccountStore>,
    barrier: Barrier,
    arrived: AtomicUsize,
    parties: usize,
}

impl Meeting {
    fn new(inner: Arc<dyn AccountStore>, parties: usize) -> Self {
        Meeting {
            inner,
            barrier: Barrier::new(parties),
            arrived: AtomicUsize::new(0),
            parties,
        }
    }
}

#[async_trait]
impl AccountStore for Meeting {
    async fn create_account(&self, account: &shared::domain::SellerAccount) -> Result<bool, StoreError> {
        self.inner.create_account(account).await
    }
    async fn save_settings(&self, account: &shared::domain::SellerAccount) -> Result<bool, StoreError> {
        self.inner.save_settings(account).await
    }
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        if self.arrived.fetch_add(1, Ordering::SeqCst) < self.parties {
            self.barrier.wait().await;
        }
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

/// A parse queue with the fastest parser there can be: the document is imported before `send` returns.
#[derive(Debug)]
struct ParsedAtOnce {
    parser: Import,
}

#[async_trait]
impl MessageQueue for ParsedAtOnce {
    async fn send(&self, message: OutgoingMessage) -> Result<(), StoreError> {
        let parse: ParseMessage = serde_json::from_str(&message.body).expect("a parse message");
        let parser = self.parser.clone();
        // On a blocking thread of its own: the parser's future is not `Send` for every lifetime, which an
        // `async_trait` method needs of what it awaits.
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || runtime.block_on(parser.parse_report(&parse)).map(drop))
            .await
            .expect("parser thread")
            .expect("imported");
        Ok(())
    }
}

async fn request(api: &Api, account: &str, body: Value) {
    let answer = api.post(&format!("/accounts/{account}/reports"), body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{:?}", answer.body);
}

/// Requests the all-orders flat file of 1-9 March 2026, the window every test here imports.
async fn request_orders(api: &Api, account: &str) {
    let window = json!({"reportType": FLAT, "dataStartTime": "2026-03-01T00:00:00Z", "dataEndTime": "2026-03-09T00:00:00Z"});
    request(api, account, window).await;
}

/// Every message waiting in the parse queue, by report id.
async fn queued_documents(api: &Api) -> BTreeMap<String, usize> {
    let mut documents = BTreeMap::new();
    loop {
        let received = api.receive_parse_messages().await;
        if received.is_empty() {
            return documents;
        }
        for (parse, _) in received {
            *documents.entry(parse.report_id).or_default() += 1;
        }
    }
}

async fn job_states(api: &Api, account: &str) -> Vec<String> {
    let answer = api.get(&format!("/accounts/{account}/reports?limit=100")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|job| job["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_poll_runs_at_once_queue_each_document_once() {
    let api = start().await;
    let (_, account) = api.connect(seller_spec(41, &[US], 20), "never").await;
    request_orders(&api, &account).await;
    request(&api, &account, json!({"reportType": INVENTORY})).await;
    api.advance(TimeDelta::minutes(2));

    let poller = Import {
        accounts: Arc::new(Meeting::new(api.state.clone(), 2)),
        ..api.import.clone()
    };
    let (first, second) = tokio::join!(poller.poll_reports(), poller.poll_reports());
    let (first, second) = (first.expect("first run"), second.expect("second run"));

    let documents = queued_documents(&api).await;
    assert_eq!(documents.len(), 2, "{documents:?}");
    assert!(
        documents.values().all(|&sent| sent == 1),
        "each document queued once: {documents:?}"
    );
    assert_eq!(first.done + second.done, 2, "{first:?} {second:?}");
    let mut states = job_states(&api, &account).await;
    states.sort();
    assert_eq!(states, ["parsing", "raw_document"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parser_that_finishes_before_the_poller_records_the_hand_over_leaves_the_job_imported() {
    let api = start().await;
    let (_, account) = api.connect(seller_spec(42, &[US], 20), "never").await;
    request_orders(&api, &account).await;
    api.advance(TimeDelta::minutes(2));

    let poller = Import {
        parse_queue: Arc::new(ParsedAtOnce {
            parser: api.import.clone(),
        }),
        ..api.import.clone()
    };
    let summary = poller.poll_reports().await.expect("poll run");

    assert_eq!(summary.done, 1, "{summary:?}");
    assert_eq!(
        job_states(&api, &account).await,
        ["imported"],
        "the poller's late write does not move the job back to parsing"
    );
    api.advance(TimeDelta::minutes(10));
    let again = api.import.poll_reports().await.expect("poll run");
    assert_eq!(again.polled, 0, "nothing is due any more: {again:?}");
}

/// Connects a seller (from `seed`) and polls its orders report until its document is with the parsers: the
/// job `parsing`, its message in the parse queue.
async fn handed_to_the_parsers(api: &Api, seed: u64) -> (SellerCredentials, String) {
    let (seller, account) = api.connect(seller_spec(seed, &[US], 20), "never").await;
    request_orders(api, &account).await;
    api.advance(TimeDelta::minutes(2));
    api.import.poll_reports().await.expect("poll run");
    assert_eq!(job_states(api, &account).await, ["parsing"]);
    (seller, account)
}

/// The parse queue's dead-letter queue, recorded.
#[derive(Debug, Default)]
struct Recorded(std::sync::Mutex<Vec<OutgoingMessage>>);

#[async_trait]
impl MessageQueue for Recorded {
    async fn send(&self, message: OutgoingMessage) -> Result<(), StoreError> {
        self.0.lock().unwrap().push(message);
        Ok(())
    }
}

/// Found by the chaos run (tests/chaos.sh, seeds 2, 3, 5, 6, 9, 11, 12): a document whose downloads kept
/// failing was dead-lettered after its last delivery, and its job stayed `parsing` for ever.
#[tokio::test(flavor = "multi_thread")]
async fn a_document_dead_lettered_after_its_last_delivery_leaves_its_job_abandoned_with_the_reason() {
    let api = start().await;
    let (seller, account) = handed_to_the_parsers(&api, 43).await;

    let queue = api.resources.get("ParseQueue").expect("parse queue");
    let received = api
        .stack
        .sqs
        .receive_message()
        .queue_url(queue)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    let body = received[0].body.clone().expect("body");
    // Amazon fails every download from now on: a retryable failure, on the message's fifth and last delivery.
    api.sandbox.inject(
        Fault::new(FaultKind::ServerError { status: 503 })
            .on(Operation::DownloadDocument)
            .for_seller(&seller.seller_id)
            .times(100),
    );
    let event = serde_json::from_value(json!({"Records": [{
        "messageId": "m-1",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "5"},
    }]}))
    .expect("event");
    let dead_letters = DeadLetters {
        queue: Arc::new(Recorded::default()),
        max_receives: 5,
    };
    let response = api.import.parse_batch(event, Some(&dead_letters)).await;
    assert!(response.batch_item_failures.is_empty(), "dead-lettered");

    let answer = api.get(&format!("/accounts/{account}/reports?limit=100")).await;
    let job = &answer.body["items"][0];
    assert_eq!(job["status"], "abandoned", "{job}");
    assert!(
        job.to_string().contains("503") || job.to_string().contains("Amazon"),
        "the job says why: {job}"
    );
}

/// Found by the chaos run (tests/chaos.sh, seed 17): a parser that dies on the message's last delivery (a
/// crash, a timeout, running out of memory) never gets to abandon the job; SQS dead-letters the message and
/// the job stayed `parsing` for ever, its window never covered again. The poller gives such a job up once no
/// delivery can still come.
#[tokio::test(flavor = "multi_thread")]
async fn a_job_whose_parser_never_finished_is_abandoned_after_the_parse_deadline() {
    let api = start().await;
    let (_, account) = handed_to_the_parsers(&api, 44).await;
    // Every delivery of the parse message dies before it acknowledges anything: nothing happens to the job.
    let received = api.receive_parse_messages().await;
    assert_eq!(received.len(), 1);
    let message = received[0].0.clone();

    api.advance(shared::domain::PARSE_DEADLINE - TimeDelta::minutes(5));
    let early = api.import.poll_reports().await.expect("poll run");
    assert_eq!(early.polled, 0, "a delivery may still come: {early:?}");
    assert_eq!(job_states(&api, &account).await, ["parsing"]);

    api.advance(TimeDelta::minutes(10));
    let late = api.import.poll_reports().await.expect("poll run");
    assert_eq!(late.abandoned, 1, "{late:?}");
    let answer = api.get(&format!("/accounts/{account}/reports?limit=100")).await;
    let job = &answer.body["items"][0];
    assert_eq!(job["status"], "abandoned", "{job}");
    assert!(job.to_string().contains("dead-letter"), "the job says why: {job}");
    api.advance(TimeDelta::minutes(10));
    let again = api.import.poll_reports().await.expect("poll run");
    assert_eq!(
        again.polled + again.abandoned,
        0,
        "nothing is due any more: {again:?}"
    );

    // The message redriven from the dead-letter queue and parsed after all: its orders are stored, and the job
    // it finds given up stays so (the next window covers the same orders again, which changes nothing).
    api.import.parse_report(&message).await.expect("parsed late");
    assert_eq!(job_states(&api, &account).await, ["abandoned"]);
    let orders = api.get(&format!("/accounts/{account}/orders?limit=100")).await;
    assert!(
        !orders.body["items"].as_array().expect("items").is_empty(),
        "{:?}",
        orders.body
    );
}
