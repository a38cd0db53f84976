//! Chaos for the local runner, decided on a seed: what happens to each delivery of an SQS batch (a crash before
//! the ack, a Lambda timeout after some awaits, a duplicate delivery, records out of order), whether a DynamoDB
//! call is throttled, and which Amazon faults the sandbox is armed with. The decisions are pure and seeded
//! ([`ChaosPlan`]); the I/O around them is thin: [`deliver`] applies a decision to a handler call, and
//! [`super::proxy::StackProxy`] stands between the SDK and the local stack.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;

use anyhow::{Context, Result};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::proxy::StackProxy;
use super::scenario::{Comparison, Scenario, ScenarioSettings};
use crate::sandbox::{Fault, FaultKind, Operation, OrderState};
use crate::stack::LocalStack;

/// How often each fault is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChaosSettings {
    /// Share of SQS batch deliveries whose handler runs to its end and whose process then dies before the ack.
    pub crash: f64,
    /// Share of invocations (SQS batches and scheduled runs) cut off after a seeded number of awaits, as a Lambda
    /// timeout cuts a handler off.
    pub timeout: f64,
    /// Share of SQS batches delivered twice at once (SQS is at-least-once).
    pub duplicate: f64,
    /// Share of SQS batches whose records arrive in reverse order.
    pub reorder: f64,
    /// Share of DynamoDB calls answered `ProvisionedThroughputExceededException`.
    pub throttle: f64,
    /// Amazon faults armed in the sandbox at the start.
    pub amazon_faults: u32,
    /// Whether the Amazon faults include documents cut short (mid-row for text, mid-stream for gzip).
    pub truncated_documents: bool,
}

impl Default for ChaosSettings {
    fn default() -> Self {
        ChaosSettings {
            crash: 0.08,
            timeout: 0.08,
            duplicate: 0.08,
            reorder: 0.08,
            throttle: 0.1,
            amazon_faults: 12,
            truncated_documents: true,
        }
    }
}

/// What happens to one invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered once, handled, acknowledged.
    Normal,
    /// The batch's records arrive in reverse order.
    Reordered,
    /// The batch is delivered to two handlers at once.
    Duplicated,
    /// The handler finishes, then the process dies before the ack: every message comes back.
    CrashBeforeAck,
    /// The handler is cut off at its `n`th await: nothing is acknowledged.
    TimeoutAfter(u32),
}

/// How many faults were injected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// SQS batch deliveries decided.
    pub batches: u64,
    /// Scheduled runs decided.
    pub runs: u64,
    /// Crashes before the ack.
    pub crashes: u64,
    /// Invocations cut off by a timeout.
    pub timeouts: u64,
    /// Batches delivered twice.
    pub duplicates: u64,
    /// Batches delivered out of order.
    pub reorders: u64,
    /// DynamoDB calls seen while chaos was on.
    pub dynamodb_calls: u64,
    /// DynamoDB calls throttled.
    pub throttled: u64,
    /// Amazon faults armed, by kind.
    pub amazon: BTreeMap<String, u32>,
    /// Calls the armed Amazon faults hit (the rest were left when the chaos stopped).
    pub amazon_hit: u32,
}

impl fmt::Display for FaultCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let amazon: Vec<String> = self.amazon.iter().map(|(k, n)| format!("{k} {n}")).collect();
        write!(
            f,
            "{} batches + {} scheduled runs: {} crashes before ack, {} timeouts, {} duplicate deliveries, {} \
             reordered; DynamoDB {} of {} calls throttled; Amazon faults armed: {} ({} hit)",
            self.batches,
            self.runs,
            self.crashes,
            self.timeouts,
            self.duplicates,
            self.reorders,
            self.throttled,
            self.dynamodb_calls,
            if amazon.is_empty() {
                "none".to_owned()
            } else {
                amazon.join(", ")
            },
            self.amazon_hit
        )
    }
}

/// The seeded decisions of one chaos run. Each kind of decision draws from its own stream of the seed, so
/// that, say, how many DynamoDB calls a run makes does not change which batches crash.
#[derive(Debug)]
pub struct ChaosPlan {
    seed: u64,
    settings: ChaosSettings,
    deliveries: ChaCha8Rng,
    throttles: ChaCha8Rng,
    amazon: ChaCha8Rng,
    on: bool,
    counts: FaultCounts,
}

/// Awaits a cut-off handler may reach at most: enough to cut most handlers off somewhere in the middle.
const MAX_AWAITS: u32 = 40;

impl ChaosPlan {
    /// The plan of `seed`, switched on.
    pub fn new(seed: u64, settings: ChaosSettings) -> ChaosPlan {
        let stream = |n: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(n);
            rng
        };
        ChaosPlan {
            seed,
            settings,
            deliveries: stream(1),
            throttles: stream(2),
            amazon: stream(3),
            on: true,
            counts: FaultCounts::default(),
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Stops injecting (to let the system settle and check it); decisions from now on are all `Normal`.
    pub fn stop(&mut self) {
        self.on = false;
    }

    /// Starts injecting again.
    pub fn resume(&mut self) {
        self.on = true;
    }

    /// What was injected so far.
    pub fn counts(&self) -> &FaultCounts {
        &self.counts
    }

    /// What happens to the next SQS batch.
    pub fn batch(&mut self) -> Delivery {
        if !self.on {
            return Delivery::Normal;
        }
        self.counts.batches += 1;
        let s = self.settings;
        let roll: f64 = self.deliveries.random();
        let delivery = if roll < s.crash {
            Delivery::CrashBeforeAck
        } else if roll < s.crash + s.timeout {
            Delivery::TimeoutAfter(self.deliveries.random_range(1..=MAX_AWAITS))
        } else if roll < s.crash + s.timeout + s.duplicate {
            Delivery::Duplicated
        } else if roll < s.crash + s.timeout + s.duplicate + s.reorder {
            Delivery::Reordered
        } else {
            Delivery::Normal
        };
        self.count(delivery);
        delivery
    }

    /// What happens to the next scheduled run (a poller or submitter run): a timeout or nothing.
    pub fn scheduled_run(&mut self) -> Delivery {
        if !self.on {
            return Delivery::Normal;
        }
        self.counts.runs += 1;
        let delivery = if self.deliveries.random_bool(self.settings.timeout.clamp(0.0, 1.0)) {
            Delivery::TimeoutAfter(self.deliveries.random_range(1..=MAX_AWAITS))
        } else {
            Delivery::Normal
        };
        self.count(delivery);
        delivery
    }

    fn count(&mut self, delivery: Delivery) {
        let c = &mut self.counts;
        match delivery {
            Delivery::Normal => {}
            Delivery::Reordered => c.reorders += 1,
            Delivery::Duplicated => c.duplicates += 1,
            Delivery::CrashBeforeAck => c.crashes += 1,
            Delivery::TimeoutAfter(_) => c.timeouts += 1,
        }
    }

    /// Whether the next DynamoDB call is throttled.
    pub fn throttle(&mut self) -> bool {
        if !self.on {
            return false;
        }
        self.counts.dynamodb_calls += 1;
        let throttled = self.throttles.random_bool(self.settings.throttle.clamp(0.0, 1.0));
        self.counts.throttled += u64::from(throttled);
        throttled
    }

    /// The Amazon faults to arm in the sandbox for `seller`: throttling, server errors, slow answers and
    /// truncated downloads, each on an operation the import or the feeds call, for one to three calls.
    pub fn amazon_faults(&mut self, seller: &str) -> Vec<Fault> {
        const OPERATIONS: [Operation; 8] = [
            Operation::LwaToken,
            Operation::CreateReport,
            Operation::GetReport,
            Operation::GetReports,
            Operation::GetReportDocument,
            Operation::DownloadDocument,
            Operation::CreateFeedDocument,
            Operation::GetFeed,
        ];
        let mut faults = Vec::new();
        for _ in 0..self.settings.amazon_faults {
            let kinds = if self.settings.truncated_documents { 4 } else { 3 };
            let (name, kind, operation) = match self.amazon.random_range(0..kinds) {
                0 => (
                    "throttle",
                    FaultKind::Throttle,
                    OPERATIONS[self.amazon.random_range(1..OPERATIONS.len())],
                ),
                1 => (
                    "server error",
                    FaultKind::ServerError {
                        status: if self.amazon.random_bool(0.5) { 500 } else { 503 },
                    },
                    OPERATIONS[self.amazon.random_range(0..OPERATIONS.len())],
                ),
                2 => (
                    "slow",
                    FaultKind::Slow {
                        millis: self.amazon.random_range(50..400),
                    },
                    OPERATIONS[self.amazon.random_range(0..OPERATIONS.len())],
                ),
                _ => (
                    "truncated document",
                    FaultKind::TruncateDocument,
                    Operation::DownloadDocument,
                ),
            };
            let count = self.amazon.random_range(1..=3);
            *self.counts.amazon.entry(name.to_owned()).or_insert(0) += count;
            faults.push(Fault::new(kind).on(operation).for_seller(seller).times(count));
        }
        faults
    }
}

/// A plan shared by the runner and the proxy.
pub type SharedPlan = Arc<Mutex<ChaosPlan>>;

/// Locks a shared plan (a panic while holding it can only come from a failed run).
pub fn lock(plan: &SharedPlan) -> std::sync::MutexGuard<'_, ChaosPlan> {
    plan.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `future` to its end, or cuts it off (drops it) when it has waited `awaits` times: `None` when cut off.
pub async fn cut_off_after<F: Future>(awaits: u32, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut waited = 0;
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => {
            waited += 1;
            if waited >= awaits {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        }
    })
    .await
}

/// Hands `event` to `handler` as `delivery` says: `None` when nothing is acknowledged (a crash or a timeout:
/// every message comes back after its visibility timeout). A duplicated batch fails the messages either
/// handler failed.
pub async fn deliver<H, Fut>(delivery: Delivery, mut event: SqsEvent, handler: H) -> Option<SqsBatchResponse>
where
    H: Fn(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    match delivery {
        Delivery::Normal => Some(handler(event).await),
        Delivery::Reordered => {
            event.records.reverse();
            Some(handler(event).await)
        }
        Delivery::Duplicated => {
            let (first, second) = tokio::join!(handler(event.clone()), handler(event));
            let mut failed: Vec<String> = first
                .batch_item_failures
                .into_iter()
                .chain(second.batch_item_failures)
                .map(|f| f.item_identifier)
                .collect();
            failed.sort();
            failed.dedup();
            let mut response = SqsBatchResponse::default();
            response.batch_item_failures = failed
                .into_iter()
                .map(|id| {
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    failure
                })
                .collect();
            Some(response)
        }
        Delivery::CrashBeforeAck => {
            handler(event).await;
            None
        }
        Delivery::TimeoutAfter(awaits) => cut_off_after(awaits, handler(event)).await,
    }
}

/// What one seed's chaos run did and found.
#[derive(Debug, Clone)]
pub struct ChaosRun {
    /// The seed (of the plan and of the sandbox seller).
    pub seed: u64,
    /// The faults injected.
    pub counts: FaultCounts,
    /// SQS messages the handlers did not acknowledge (failed, crashed or timed out) and that came back.
    pub messages_not_acked: u64,
    /// Stored orders against the sandbox's truth, once the system settled with chaos stopped.
    pub comparison: Comparison,
    /// What became of the seller actions queued through the API.
    pub actions: ActionOutcomes,
    /// Report jobs by final state.
    pub jobs: BTreeMap<&'static str, u64>,
    /// Wall-clock time the seed took.
    pub wall: std::time::Duration,
}

impl fmt::Display for ChaosRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.comparison;
        writeln!(f, "seed {}: {}", self.seed, self.counts)?;
        writeln!(f, "seed {}: report jobs {:?}", self.seed, self.jobs)?;
        write!(
            f,
            "seed {}: {} messages came back; orders: {} in Amazon's reports, {} stored, {} missing, {} unexpected, \
             {} different: {} ({:.1} s)",
            self.seed,
            self.messages_not_acked,
            c.truth,
            c.stored,
            c.missing.len(),
            c.unexpected.len(),
            c.different.len(),
            if c.is_exact() { "EXACT" } else { "DIFFERENT" },
            self.wall.as_secs_f64()
        )?;
        for line in c.missing.iter().chain(&c.unexpected).chain(&c.different).take(5) {
            write!(f, "\n  {line}")?;
        }
        let a = &self.actions;
        write!(
            f,
            "\nseed {}: seller actions: {} requests ({} repeated with their key), {} refused by the API, {} queued \
             ({} after settling): {} reached Amazon exactly once, {} reported rejected with a reason, {} otherwise: {}",
            self.seed,
            a.requests,
            a.repeats,
            a.refused,
            a.queued,
            a.queued_after_settling,
            a.delivered_once,
            a.reported_failed,
            a.violations.len(),
            if a.violations.is_empty() { "OK" } else { "VIOLATED" }
        )?;
        for line in a.violations.iter().take(5) {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

impl ChaosRun {
    /// Whether the run ended as it must: Amazon's orders stored, every queued action delivered exactly once or
    /// reported failed with its reason.
    pub fn held(&self) -> bool {
        self.comparison.is_exact() && self.actions.violations.is_empty()
    }
}

/// What became of the shipment confirmations and cancellations a chaos run queued through the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActionOutcomes {
    /// HTTP requests sent (retries of 5xx answers and repeats included).
    pub requests: u64,
    /// Requests sent a second time with the same idempotency key, as a client whose answer was lost would.
    pub repeats: u64,
    /// Actions the API answered with a 4xx (the caller is told; nothing is queued).
    pub refused: u64,
    /// Actions answered 202.
    pub queued: u64,
    /// Of those, the actions queued only after the first settling, because no checkpoint while orders arrived
    /// found an unshipped order stored.
    pub queued_after_settling: u64,
    /// Queued actions accepted by Amazon whose tracking number reached Amazon in exactly one feed message.
    pub delivered_once: u64,
    /// Queued actions the feed log reports rejected, with Amazon's code and text, that Amazon did not apply.
    pub reported_failed: u64,
    /// Queued actions that are neither, and why.
    pub violations: Vec<String>,
}

/// A seller action queued through the API.
#[derive(Debug, Clone)]
struct Queued {
    order_id: String,
    action_id: String,
    /// The shipment's tracking number; `None` for a cancellation of the whole order.
    tracking: Option<String>,
}

/// Asks the API to act on up to `count` of the account's stored unshipped merchant-fulfilled orders: every
/// third is cancelled, the others shipped. Each request is repeated with its idempotency key (a client that
/// lost the answer) and retried on 5xx (a throttled store).
async fn queue_actions(
    api: &str,
    account: &str,
    orders: &[shared::domain::Order],
    seed: u64,
    first: usize,
    count: usize,
    outcomes: &mut ActionOutcomes,
) -> Result<Vec<Queued>> {
    let client = reqwest::Client::new();
    let mut queued = Vec::new();
    let candidates = orders.iter().filter(|o| {
        o.status == shared::domain::OrderStatus::Unshipped
            && o.fulfillment_channel == shared::domain::FulfillmentChannel::Mfn
    });
    for (i, order) in (first..).zip(candidates.take(count)) {
        let (tracking, url, body) = if i % 3 == 2 {
            let url = format!("{api}/accounts/{account}/orders/{}/cancel", order.amazon_order_id);
            (None, url, serde_json::json!({ "reason": "NoInventory" }))
        } else {
            // A UPS tracking number: "1Z", six characters of shipper number, two of service, eight digits.
            let tracking = format!("1Z999AA1{:05}{:05}", seed % 100_000, i);
            let url = format!(
                "{api}/accounts/{account}/orders/{}/shipments",
                order.amazon_order_id
            );
            let body = serde_json::json!({
                "carrierCode": "UPS",
                "shippingMethod": "Ground",
                "trackingNumber": tracking,
            });
            (Some(tracking), url, body)
        };
        let key = format!("chaos-{seed}-{i}");
        let mut answer = None;
        for repeat in 0..2 {
            outcomes.repeats += u64::from(repeat == 1);
            for _ in 0..8 {
                outcomes.requests += 1;
                let response = client
                    .post(&url)
                    .header("Idempotency-Key", &key)
                    .json(&body)
                    .send()
                    .await;
                match response {
                    Ok(r) if !r.status().is_server_error() => {
                        let status = r.status();
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        answer = Some((status, body));
                        break;
                    }
                    _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                }
            }
        }
        match answer {
            Some((status, body)) if status == reqwest::StatusCode::ACCEPTED => {
                outcomes.queued += 1;
                queued.push(Queued {
                    order_id: order.amazon_order_id.to_string(),
                    action_id: body["id"].as_str().unwrap_or_default().to_owned(),
                    tracking,
                });
            }
            Some((status, _)) if status.is_client_error() => outcomes.refused += 1,
            other => outcomes.violations.push(format!(
                "{}: no answer but 5xx after retries: {other:?}",
                order.amazon_order_id
            )),
        }
    }
    Ok(queued)
}

/// Checks each queued action against the feed log (through the API) and Amazon's truth (the sandbox).
async fn check_actions(
    api: &str,
    account: &str,
    sandbox: &crate::sandbox::Sandbox,
    seller: &str,
    queued: &[Queued],
    outcomes: &mut ActionOutcomes,
) -> Result<()> {
    let client = reqwest::Client::new();
    let feeds = sandbox.feeds(seller)?;
    for action in queued {
        let order: serde_json::Value = client
            .get(format!("{api}/accounts/{account}/orders/{}", action.order_id))
            .send()
            .await?
            .json()
            .await?;
        let list = if action.tracking.is_some() {
            "shipments"
        } else {
            "cancellations"
        };
        let view = order[list]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["id"].as_str() == Some(action.action_id.as_str()))
            .cloned()
            .unwrap_or_default();
        let state = view["state"]
            .as_str()
            .unwrap_or("missing from the order's actions");
        let truth = sandbox.order(seller, &action.order_id)?;
        // A shipment is known by its tracking number; a cancellation by its order in an acknowledgement feed
        // (each chaos order gets one action at most).
        let (applied, needle, feed_type) = match &action.tracking {
            Some(tracking) => (
                truth
                    .iter()
                    .flat_map(|o| &o.shipments)
                    .filter(|s| s.tracking_number.as_deref() == Some(tracking.as_str()))
                    .count(),
                tracking.clone(),
                "POST_ORDER_FULFILLMENT_DATA",
            ),
            // Amazon accepts the cancellation of an order already cancelled (the buyer or Amazon did it first)
            // and changes nothing: the order is cancelled once either way.
            None => (
                truth
                    .iter()
                    .map(|o| {
                        o.cancellations
                            .len()
                            .max(usize::from(o.status == OrderState::Cancelled))
                    })
                    .sum(),
                format!("<AmazonOrderID>{}</AmazonOrderID>", action.order_id),
                "POST_ORDER_ACKNOWLEDGEMENT_DATA",
            ),
        };
        let messages: usize = feeds
            .iter()
            .filter(|f| f.feed_type == feed_type)
            .filter_map(|f| f.content.as_deref())
            .map(|content| content.matches(needle.as_str()).count())
            .sum();
        let reason = view["code"].is_string() && view["text"].as_str().is_some_and(|t| !t.is_empty());
        match state {
            "accepted" if applied == 1 && messages == 1 => outcomes.delivered_once += 1,
            "rejected" if reason && applied == 0 => outcomes.reported_failed += 1,
            _ => outcomes.violations.push(format!(
                "{} action {}: state {state}, applied by Amazon {applied} times, in {messages} feed messages: {view}",
                action.order_id, action.action_id
            )),
        }
    }
    Ok(())
}

/// How many actions a chaos run queues.
const ACTIONS: usize = 6;

/// Reads the stored orders with chaos stopped (what is under test is the actions, not the test's reading), then,
/// with chaos on, queues actions on unshipped orders not yet acted on until `ACTIONS` are queued.
async fn act_on_stored(
    scenario: &Scenario,
    plan: &SharedPlan,
    api: &str,
    seed: u64,
    queued: &mut Vec<Queued>,
    actions: &mut ActionOutcomes,
) -> Result<()> {
    lock(plan).stop();
    let stored: Vec<_> = scenario
        .stored_orders()
        .await?
        .into_iter()
        .filter(|o| queued.iter().all(|q| q.order_id != o.amazon_order_id.as_str()))
        .collect();
    lock(plan).resume();
    let wanted = ACTIONS.saturating_sub(queued.len());
    let first = (actions.queued + actions.refused) as usize + actions.violations.len();
    let account = &scenario.account_id;
    queued.extend(queue_actions(api, account, &stored, seed, first, wanted, actions).await?);
    Ok(())
}

/// Imports a sandbox seller of `orders` orders generated from `seed` through the local runner with the chaos of
/// `seed` on: DynamoDB behind a throttling proxy, Amazon faults armed in the sandbox, SQS deliveries and
/// scheduled runs crashed, cut off, duplicated and reordered. Then stops the chaos, lets the system settle, and
/// compares what it stored with what Amazon's reports show.
pub async fn run_seed(seed: u64, orders: usize, settings: ChaosSettings) -> Result<ChaosRun> {
    let started = std::time::Instant::now();
    let env = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let plan: SharedPlan = Arc::new(Mutex::new(ChaosPlan::new(seed, settings)));
    // Setting up (tables, queues, the account) is not what is under test.
    lock(&plan).stop();
    let own = LocalStack::with_own_dynamodb().await?;
    let proxy = StackProxy::throttling(
        own.dynamodb_endpoint.clone(),
        env("AWS_ENDPOINT_URL")?,
        plan.clone(),
    )
    .await?;
    let stack = own.through(&proxy.url).await?;
    let mut scenario = Scenario::start(
        stack,
        ScenarioSettings {
            seed,
            orders,
            marketplaces: vec!["ATVPDKIKX0DER".into(), "A2EUQ1WTGCTBG2".into()],
            history: chrono::TimeDelta::days(2),
            arrivals: chrono::TimeDelta::hours(6),
            clock_scale: 20_000.0,
            ..ScenarioSettings::default()
        },
    )
    .await?;
    let faults = lock(&plan).amazon_faults(&scenario.seller.seller_id);
    for fault in faults {
        scenario.sandbox.inject(fault);
    }
    let (api, server) = scenario.runner.serve_api(0).await?;
    scenario.runner.set_chaos(plan.clone());
    lock(&plan).resume();
    let pause = std::time::Duration::from_millis(20);
    // Every six hours, while orders still arrive, the seller ships or cancels a few stored unshipped orders
    // through the API, with chaos on, until `ACTIONS` are queued.
    let clock = scenario.runner.clock();
    let mut actions = ActionOutcomes::default();
    let mut queued: Vec<Queued> = Vec::new();
    let last_arrival = scenario.settled_at() - chrono::TimeDelta::days(3);
    while clock.now() < last_arrival && queued.len() < ACTIONS {
        scenario
            .runner
            .run_until(clock.now() + chrono::TimeDelta::hours(6), pause)
            .await?;
        act_on_stored(&scenario, &plan, &api, seed, &mut queued, &mut actions).await?;
    }
    let end = scenario.settled_at() + chrono::TimeDelta::hours(1);
    scenario.runner.run_until(end, pause).await?;
    // Chaos off: the system settles, feeds are processed and polled, and the last reports are imported. A job
    // whose message died on every delivery waits for the parse deadline (about 44 h of this clock), hence 72 h.
    lock(&plan).stop();
    let left: u32 = scenario.sandbox.faults().iter().map(|f| f.fault.count).sum();
    let armed: u32 = lock(&plan).counts().amazon.values().sum();
    lock(&plan).counts.amazon_hit = armed.saturating_sub(left);
    scenario.sandbox.clear_faults();
    scenario
        .runner
        .settle(chrono::TimeDelta::hours(72), pause)
        .await?;
    // The scaled clock does not wait for the import: it outruns it (at 20,000 times, 6 h pass in about a second
    // of wall time), so a checkpoint often finds no unshipped order stored yet. Settled, the store holds Amazon's
    // orders, and any still awaiting the seller's shipment make up the six, with the handlers' chaos (not
    // Amazon's faults) back on for three hours; then the system settles again with chaos off.
    let before = queued.len();
    act_on_stored(&scenario, &plan, &api, seed, &mut queued, &mut actions).await?;
    actions.queued_after_settling = (queued.len() - before) as u64;
    scenario
        .runner
        .run_until(clock.now() + chrono::TimeDelta::hours(3), pause)
        .await?;
    lock(&plan).stop();
    scenario
        .runner
        .settle(chrono::TimeDelta::hours(72), pause)
        .await?;
    // The feeds are answered; reports show what they changed up to a day later.
    scenario
        .catch_up_with_reports(chrono::TimeDelta::hours(72), pause)
        .await?;
    let comparison = scenario.compare().await?;
    let account = scenario.account_id.clone();
    let (_, jobs) = scenario.runner.job_summary(&account).await?;
    let seller = scenario.seller.seller_id.clone();
    check_actions(&api, &account, &scenario.sandbox, &seller, &queued, &mut actions).await?;
    server.abort();
    let run = ChaosRun {
        seed,
        counts: lock(&plan).counts().clone(),
        messages_not_acked: scenario.runner.activity.messages_failed,
        comparison,
        actions,
        jobs,
        wall: started.elapsed(),
    };
    scenario.sandbox.shutdown().await;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decisions(seed: u64) -> (Vec<Delivery>, Vec<bool>, Vec<Fault>) {
        let mut plan = ChaosPlan::new(seed, ChaosSettings::default());
        let batches = (0..200).map(|_| plan.batch()).collect();
        let throttles = (0..200).map(|_| plan.throttle()).collect();
        (batches, throttles, plan.amazon_faults("A1"))
    }

    #[test]
    fn a_seed_decides_the_same_faults_every_time_and_seeds_differ() {
        assert_eq!(decisions(7), decisions(7));
        assert_ne!(decisions(7).0, decisions(8).0);
    }

    #[test]
    fn throttling_does_not_shift_which_batches_fail() {
        let mut a = ChaosPlan::new(3, ChaosSettings::default());
        let mut b = ChaosPlan::new(3, ChaosSettings::default());
        for _ in 0..50 {
            b.throttle();
        }
        let a: Vec<_> = (0..100).map(|_| a.batch()).collect();
        let b: Vec<_> = (0..100).map(|_| b.batch()).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn faults_come_in_about_their_shares_and_are_counted() {
        let mut plan = ChaosPlan::new(11, ChaosSettings::default());
        for _ in 0..10_000 {
            plan.batch();
            plan.throttle();
        }
        let c = plan.counts().clone();
        assert_eq!(c.batches, 10_000);
        for (name, n) in [
            ("crashes", c.crashes),
            ("timeouts", c.timeouts),
            ("duplicates", c.duplicates),
            ("reorders", c.reorders),
        ] {
            assert!((600..1000).contains(&n), "{name}: {n} of 10000 at 8%");
        }
        assert!(
            (800..1200).contains(&c.throttled),
            "{} of 10000 at 10%",
            c.throttled
        );
    }

    #[test]
    fn a_stopped_plan_injects_nothing() {
        let mut plan = ChaosPlan::new(5, ChaosSettings::default());
        plan.stop();
        assert!((0..1000).all(|_| plan.batch() == Delivery::Normal && !plan.throttle()));
        assert_eq!(plan.counts(), &FaultCounts::default());
    }

    #[tokio::test]
    async fn a_cut_off_handler_is_dropped_at_its_nth_await() {
        let reached = Arc::new(Mutex::new(0));
        let handler = {
            let reached = reached.clone();
            async move {
                for _ in 0..10 {
                    *reached.lock().unwrap() += 1;
                    tokio::task::yield_now().await;
                }
                "done"
            }
        };
        assert_eq!(cut_off_after(3, handler).await, None);
        assert_eq!(*reached.lock().unwrap(), 3);
        assert_eq!(cut_off_after(100, async { "done" }).await, Some("done"));
    }
}
