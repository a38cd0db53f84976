//! A whole import, end to end: the sandbox generates a seller, the local runner connects its account and runs
//! the import through the schedule, the poller and the parse queue, and the result is compared with the
//! sandbox's truth. The local-runner binary prints it; the integration tests assert on it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, TimeDelta, Utc};
use shared::app::accounts::{Accounts, NewAccount, RefreshToken};
use shared::app::import::ParseMessage;
use shared::clock::{Clock, ManualClock, ScaledClock};
use shared::domain::{ImportInterval, ImportOptions, ImportSummary, JobState, Order, Region};
use shared::metrics::{ACCOUNT_DISCONNECTED, IMPORT_OVERDUE, IMPORT_SUCCEEDED, Metrics, SP_API_THROTTLED};
use shared::ports::OrderQuery;

use super::local::{LocalRunner, RunnerSettings};
use crate::sandbox::{
    CLIENT_ID, CLIENT_SECRET, Channel, NotificationDelivery, OrderState, Sandbox, SandboxOptions,
    SandboxOrder, SandboxReport, SellerCredentials, SellerSpec, SellerStats,
};
use crate::stack::{LocalStack, unique_prefix};

/// What to import and how fast.
#[derive(Debug, Clone)]
pub struct ScenarioSettings {
    /// The generated seller's seed.
    pub seed: u64,
    /// Orders generated.
    pub orders: usize,
    /// The seller's marketplaces (one region).
    pub marketplaces: Vec<String>,
    /// The region of the marketplaces.
    pub region: Region,
    /// How far before the run's start the first order was placed.
    pub history: TimeDelta,
    /// How long after the run's start orders keep arriving.
    pub arrivals: TimeDelta,
    /// How often the account imports.
    pub interval: ImportInterval,
    /// How many times faster than the wall clock the run's time goes.
    pub clock_scale: f64,
    /// Multiplies the sandbox's SP-API rates (1: Amazon's).
    pub rate_scale: f64,
    /// Every order merchant-fulfilled and unshipped until the seller confirms its shipment through a feed (the
    /// generator's default shares otherwise: some FBA orders, MFN orders the seller ships on their own).
    pub merchant_only: bool,
    /// Connect the seller's account at the start, as an operator would with its refresh token; `false` leaves
    /// connecting to the test (through a connect link, as the seller would).
    pub connect_account: bool,
    /// Accounts subscribe to Amazon's notifications; `false` imports by reports and polling alone.
    pub notifications: bool,
    /// How the sandbox delivers notifications (faults: delay, duplicates, order, losses).
    pub notification_delivery: NotificationDelivery,
    /// A clock the caller moves, for the sandbox and the functions alike (`clock_scale` is then unused): the
    /// run's time passes only when the caller advances it ([`RunnerSettings::stepped_clock`]).
    pub manual_clock: Option<Arc<ManualClock>>,
}

impl Default for ScenarioSettings {
    fn default() -> Self {
        ScenarioSettings {
            seed: 7,
            orders: 600,
            marketplaces: vec![
                "ATVPDKIKX0DER".into(),
                "A2EUQ1WTGCTBG2".into(),
                "A1AM78C64UM0Y8".into(),
            ],
            region: Region::Na,
            history: TimeDelta::days(5),
            arrivals: TimeDelta::hours(12),
            interval: ImportInterval::Minutes(30),
            clock_scale: 3600.0,
            rate_scale: 1.0,
            merchant_only: false,
            connect_account: true,
            notifications: true,
            notification_delivery: NotificationDelivery::default(),
            manual_clock: None,
        }
    }
}

/// Orders go on changing for at most this long after they are placed (MFN orders ship up to 3 days and 40
/// minutes after they are placed) and changes reach reports up to a day later; after that, reports hold the
/// final truth.
const SETTLING: TimeDelta = TimeDelta::hours(4 * 24 + 2);

/// A sandbox seller imported by the local runner.
#[derive(Debug)]
pub struct Scenario {
    /// The stand-in for Amazon.
    pub sandbox: Sandbox,
    /// The functions.
    pub runner: LocalRunner,
    /// The generated seller.
    pub seller: SellerCredentials,
    /// The seller's account id in sellersync.
    pub account_id: String,
    /// What was asked for.
    pub settings: ScenarioSettings,
    started: Instant,
    origin: DateTime<Utc>,
    /// The queue a rule for every sellersync event on the stack's bus sends to, as an integrator's would.
    events_queue: String,
    /// Events taken off that queue so far, in the order received.
    received_events: Mutex<Vec<serde_json::Value>>,
}

impl Scenario {
    /// The rule on the stack's bus that sends every sellersync event to the consumer's queue ([`Scenario::events`]).
    pub const CONSUMER_RULE: &'static str = "every-sellersync-event";
    /// That rule's target.
    pub const CONSUMER_TARGET: &'static str = "consumer";

    /// Starts the sandbox and the runner on one scaled clock, generates the seller and connects its account.
    pub async fn start(stack: LocalStack, settings: ScenarioSettings) -> Result<Scenario> {
        // A scaled clock reads its origin at the wall-clock instant of its origin: a rounded origin would start
        // the clock hours ahead at this speed.
        let (origin, clock): (DateTime<Utc>, Arc<dyn Clock>) = match &settings.manual_clock {
            Some(manual) => (manual.now(), manual.clone()),
            None => {
                let origin = Utc::now();
                (origin, Arc::new(ScaledClock::new(origin, settings.clock_scale)))
            }
        };
        let stepped_clock = settings.manual_clock.is_some().then(|| clock.clone());
        let sandbox = Sandbox::start(SandboxOptions {
            rate_scale: settings.rate_scale,
            notification_delivery: settings.notification_delivery,
            ..SandboxOptions::with_clock(clock)
        })
        .await
        .context("starting the SP-API sandbox")?;
        let marketplaces: Vec<&str> = settings.marketplaces.iter().map(String::as_str).collect();
        let mut spec = SellerSpec::new(
            settings.seed,
            origin - settings.history,
            origin + settings.arrivals,
        )
        .in_marketplaces(&marketplaces)
        .with_orders(settings.orders);
        if settings.merchant_only {
            spec.afn_share = 0.0;
            spec.awaiting_shipment_share = 1.0;
        }
        let seller = sandbox.add_seller(spec)?;
        let runner = LocalRunner::start(
            stack,
            &RunnerSettings {
                prefix: unique_prefix("run"),
                spapi_url: sandbox.base_url().to_owned(),
                lwa_url: sandbox.lwa_url(),
                lwa_client: (CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned()),
                clock_origin: origin,
                clock_scale: settings.clock_scale,
                redelivery: Duration::from_secs(1),
                notifications: settings.notifications,
                stepped_clock,
            },
        )
        .await?;
        let events_queue = subscribe_to_events(&runner).await?;
        if settings.connect_account {
            runner
                .accounts
                .create(NewAccount {
                    seller_id: seller.seller_id.clone(),
                    region: settings.region,
                    marketplaces: settings.marketplaces.clone(),
                    refresh_token: RefreshToken::parse("refreshToken", &seller.refresh_token)?,
                    import_interval: settings.interval,
                    options: ImportOptions {
                        import_fba: true,
                        import_shipped: true,
                        ..ImportOptions::default()
                    },
                    ship_from: None,
                })
                .await?;
        }
        Ok(Scenario {
            account_id: Accounts::account_id(&seller.seller_id, settings.region),
            sandbox,
            runner,
            seller,
            settings,
            started: Instant::now(),
            origin,
            events_queue,
            received_events: Mutex::new(Vec::new()),
        })
    }

    /// Every event a consumer of the stack's bus received so far (what the runner published), tallied against
    /// the sandbox's history.
    pub async fn events(&self) -> Result<EventTally> {
        let sqs = &self.runner.stack.sqs;
        loop {
            let output = sqs
                .receive_message()
                .queue_url(&self.events_queue)
                .max_number_of_messages(10)
                .send()
                .await
                .context("receiving events")?;
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            let mut delete = sqs.delete_message_batch().queue_url(&self.events_queue);
            for (i, message) in messages.iter().enumerate() {
                let body = message.body().unwrap_or_default();
                let event: serde_json::Value = serde_json::from_str(body)
                    .with_context(|| format!("an event that is not JSON: {body}"))?;
                lock(&self.received_events).push(event);
                delete = delete.entries(
                    aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .set_receipt_handle(message.receipt_handle().map(str::to_owned))
                        .build()?,
                );
            }
            delete.send().await.context("deleting events")?;
        }
        let truth = self
            .sandbox
            .visible_orders(&self.seller.seller_id, self.sandbox.now())?;
        let reports = self.sandbox.reports(&self.seller.seller_id)?;
        Ok(EventTally::of(&lock(&self.received_events), &truth, &reports))
    }

    /// When the last order can still change in reports.
    pub fn settled_at(&self) -> DateTime<Utc> {
        self.origin + self.settings.arrivals + SETTLING
    }

    /// Runs the import until every order has settled and the last reports are imported.
    pub async fn run_to_the_end(&mut self) -> Result<()> {
        let end = self.settled_at()
            + self
                .settings
                .interval
                .duration()
                .map_or(TimeDelta::hours(1), |d| {
                    TimeDelta::from_std(d).unwrap_or(TimeDelta::hours(1))
                });
        let started = Instant::now();
        self.runner.run_until(end, Duration::from_millis(20)).await?;
        let ran = started.elapsed();
        self.runner
            .settle(TimeDelta::hours(6), Duration::from_millis(20))
            .await?;
        eprintln!(
            "ran to the end in {ran:.1?} and settled in {:.1?} of wall time: {:?}",
            started.elapsed() - ran,
            self.runner.activity
        );
        // The event publisher catches up with everything the import wrote.
        self.runner.pump_streams().await
    }

    /// Runs the import until, for every report type of the account, it has imported a report made after reports
    /// show every change Amazon holds now (each order's latest event, those of the seller's feeds included), then
    /// settles. Changes the seller makes late (a cancellation feed after the orders settled) reach reports up to a
    /// day after `getOrder` shows them, and [`LocalRunner::settle`] stops at the first quiet moment: on a fast
    /// clock that moment can fall after such a change reached reports and before the next report, and a
    /// comparison then would hold the import to a report nobody has requested yet. Fails after `limit` of clock
    /// time.
    pub async fn catch_up_with_reports(&mut self, limit: TimeDelta, pause: Duration) -> Result<()> {
        let orders = self.sandbox.orders(&self.seller.seller_id)?;
        let Some(shown) = orders
            .iter()
            .flat_map(|order| order.events.iter().map(|event| event.visible_at))
            .max()
        else {
            return Ok(());
        };
        let deadline = self.runner.clock().now() + limit;
        loop {
            let record = self
                .runner
                .import
                .accounts
                .get_account(&self.account_id)
                .await?
                .context("the scenario's account is gone")?;
            let behind: Vec<&str> = record
                .account
                .options
                .report_types()
                .into_iter()
                .filter(|report_type| {
                    record
                        .status
                        .watermarks
                        .get(*report_type)
                        .is_none_or(|watermark| *watermark < shown)
                })
                .collect();
            if behind.is_empty() {
                return self.runner.settle(limit, pause).await;
            }
            if self.runner.clock().now() > deadline {
                anyhow::bail!(
                    "no report of {behind:?} made after {shown} (when reports show Amazon's last change) was \
                     imported within {limit} of clock time"
                );
            }
            self.runner.step().await?;
            tokio::time::sleep(pause).await;
        }
    }

    /// Parses every imported report's document again, as a redelivery or a re-run would: how many reports, and
    /// the records they wrote.
    pub async fn reimport_everything(&self) -> Result<(u64, u64)> {
        let jobs = self
            .runner
            .import
            .jobs
            .list_jobs(&self.account_id, None, 1000)
            .await?;
        anyhow::ensure!(jobs.next.is_none(), "one page holds every job of this run");
        let (mut reports, mut written) = (0, 0);
        for job in jobs.items {
            let JobState::Imported { document_id, .. } = &job.state else {
                continue;
            };
            let message = ParseMessage::of(&job, document_id);
            // As redeliveries would: a document URL can expire before a loaded machine fetches it.
            let mut attempts = 0;
            let summary = loop {
                attempts += 1;
                match self.runner.import.parse_report(&message).await {
                    Ok(summary) => break summary,
                    Err(err) if err.is_retryable() && attempts < 5 => continue,
                    Err(err) => anyhow::bail!("report {} cannot be imported again: {err}", job.report_id),
                }
            };
            reports += 1;
            written += summary.written;
        }
        Ok((reports, written))
    }

    /// Every order stored for the account.
    pub async fn stored_orders(&self) -> Result<Vec<Order>> {
        let mut orders = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .runner
                .import
                .orders
                .list_orders(
                    &self.account_id,
                    &OrderQuery {
                        limit: 1000,
                        after: after.take(),
                        ..OrderQuery::default()
                    },
                )
                .await?;
            orders.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(orders),
            }
        }
    }

    /// What sellersync stored against what the sandbox's reports show now.
    pub async fn compare(&self) -> Result<Comparison> {
        let truth = self
            .sandbox
            .visible_orders(&self.seller.seller_id, self.sandbox.now())?;
        let stored: HashMap<String, Order> = self
            .stored_orders()
            .await?
            .into_iter()
            .map(|order| (order.amazon_order_id.to_string(), order))
            .collect();
        let mut comparison = Comparison {
            truth: truth.len(),
            stored: stored.len(),
            ..Comparison::default()
        };
        for expected in &truth {
            match stored.get(&expected.amazon_order_id) {
                None => comparison.missing.push(format!(
                    "{}: {} {:?} {}, placed {}, last updated {}, not stored",
                    expected.amazon_order_id,
                    expected.marketplace_id,
                    expected.fulfillment_channel,
                    expected.status.as_str(),
                    expected.purchase_date,
                    expected.last_updated_date
                )),
                Some(order) => {
                    if let Some(difference) = difference(expected, order) {
                        comparison
                            .different
                            .push(format!("{}: {difference}", expected.amazon_order_id));
                    }
                }
            }
        }
        let known: std::collections::HashSet<&str> =
            truth.iter().map(|o| o.amazon_order_id.as_str()).collect();
        comparison.unexpected = stored
            .keys()
            .filter(|id| !known.contains(id.as_str()))
            .cloned()
            .collect();
        Ok(comparison)
    }

    /// What the run did, for people.
    pub async fn report(&self) -> Result<RunReport> {
        let stored = self.stored_orders().await?;
        let mut by_status_and_channel = BTreeMap::new();
        for order in &stored {
            *by_status_and_channel
                .entry((
                    order.status.as_str().to_owned(),
                    order.fulfillment_channel.as_str(),
                ))
                .or_insert(0) += 1;
        }
        let (imports, jobs) = self.runner.job_summary(&self.account_id).await?;
        Ok(RunReport {
            seller_id: self.seller.seller_id.clone(),
            marketplaces: self.settings.marketplaces.clone(),
            generated: self.settings.orders,
            simulated: self.sandbox.now() - self.origin,
            wall: self.started.elapsed(),
            clock_scale: self.settings.clock_scale,
            by_status_and_channel,
            jobs: jobs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            imports,
            ticks: self.runner.activity.ticks,
            messages_failed: self.runner.activity.messages_failed,
            calls: self.sandbox.stats(&self.seller.seller_id)?,
            alarms: AlarmMetrics::of(&self.runner.import.metrics, &self.account_id),
            comparison: self.compare().await?,
            events: self.events().await?,
            awaiting_details: self
                .runner
                .import
                .orders
                .orders_awaiting_details(&self.account_id, 1000, false)
                .await?
                .len(),
            poll_runs: (self.runner.activity.poll_runs, self.runner.activity.poll_time),
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A queue and a rule on the stack's bus that sends it every sellersync event: an integrator's subscription.
async fn subscribe_to_events(runner: &LocalRunner) -> Result<String> {
    let bus = runner.resources.get("EventBus")?;
    let name = format!("{}-consumer", runner.resources.prefix);
    let queue_url = runner
        .stack
        .sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .context("creating the events consumer's queue")?
        .queue_url
        .context("a queue URL")?;
    let events = &runner.stack.events;
    events
        .put_rule()
        .name(Scenario::CONSUMER_RULE)
        .event_bus_name(bus)
        .event_pattern(r#"{"source": ["sellersync"]}"#)
        .send()
        .await
        .context("creating the consumer's rule")?;
    events
        .put_targets()
        .rule(Scenario::CONSUMER_RULE)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id(Scenario::CONSUMER_TARGET)
                .arn(format!(
                    "arn:aws:sqs:us-east-1:{}:{name}",
                    crate::stack::LOCAL_ACCOUNT
                ))
                .build()?,
        )
        .send()
        .await
        .context("pointing the rule at the queue")?;
    Ok(queue_url)
}

/// The events a consumer received, against the sandbox's history of each order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventTally {
    /// Messages received, duplicates included.
    pub received: usize,
    /// Messages whose `detail.eventId` was received before (at-least-once delivery's duplicates).
    pub duplicates: usize,
    /// Distinct events by `detail-type`.
    pub by_type: BTreeMap<String, usize>,
    /// Changes at Amazon: per order, the status changes in its history after the version its `Order Created`
    /// carried. Two changes between two reports reach sellersync as one, so this is an upper bound.
    pub real_changes: usize,
    /// Changes reports showed: per order, the statuses the sandbox's reports gave it, less the first. Each is
    /// one `Order Changed`.
    pub reported_changes: usize,
    /// `Order Changed` events that name only the recipient (its PII became readable or expired), apart from the
    /// changes of the order itself.
    pub recipient_changes: usize,
    /// What breaks the contract: an order created other than once, an `Order Changed` whose version is not a
    /// change in the order's history, a version going backwards, an event for an order Amazon does not have.
    pub problems: Vec<String>,
}

impl EventTally {
    /// Tallies `events` (as received, in order) against `truth` (the orders reports show now).
    pub fn of(events: &[serde_json::Value], truth: &[SandboxOrder], reports: &[SandboxReport]) -> EventTally {
        let mut tally = EventTally {
            received: events.len(),
            ..EventTally::default()
        };
        let mut statuses: HashMap<&str, std::collections::BTreeSet<OrderState>> = HashMap::new();
        for order in reports.iter().flat_map(|r| &r.orders) {
            statuses
                .entry(order.amazon_order_id.as_str())
                .or_default()
                .insert(order.status);
        }
        tally.reported_changes = statuses.values().map(|s| s.len().saturating_sub(1)).sum();
        let history: HashMap<&str, &SandboxOrder> =
            truth.iter().map(|o| (o.amazon_order_id.as_str(), o)).collect();
        let mut seen = std::collections::HashSet::new();
        // Per order: versions of its order events in the order received, and its creations.
        let mut versions: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
        for event in events {
            let detail = &event["detail"];
            let id = detail["eventId"].as_str().unwrap_or_default().to_owned();
            if !seen.insert(id) {
                tally.duplicates += 1;
                continue;
            }
            let kind = event["detail-type"].as_str().unwrap_or("?").to_owned();
            *tally.by_type.entry(kind.clone()).or_insert(0) += 1;
            if kind == "Order Changed" && detail["changes"] == serde_json::json!(["recipient"]) {
                tally.recipient_changes += 1;
            }
            let (Some(order), Some(version)) = (
                detail["amazonOrderId"].as_str(),
                detail["lastUpdated"]
                    .as_str()
                    .and_then(|v| v.parse::<DateTime<Utc>>().ok()),
            ) else {
                continue;
            };
            if kind == "Order Created" || kind == "Order Changed" {
                versions
                    .entry(order.to_owned())
                    .or_default()
                    .push((kind, version.timestamp()));
            }
        }
        for order in truth {
            let id = order.amazon_order_id.as_str();
            let Some(events) = versions.get(id) else {
                tally.problems.push(format!("{id}: no Order Created"));
                continue;
            };
            let created: Vec<i64> = events
                .iter()
                .filter(|(kind, _)| kind == "Order Created")
                .map(|(_, v)| *v)
                .collect();
            if created.len() != 1 {
                tally
                    .problems
                    .push(format!("{id}: {} Order Created events", created.len()));
            }
            if let Some(first) = created.first() {
                tally.real_changes += order
                    .events
                    .iter()
                    .filter(|e| e.last_updated_date.timestamp() > *first)
                    .count();
            }
            let changes: Vec<i64> = order
                .events
                .iter()
                .map(|e| e.last_updated_date.timestamp())
                .collect();
            let mut last = i64::MIN;
            for (kind, version) in events {
                if *version < last {
                    tally
                        .problems
                        .push(format!("{id}: {kind} at version {version} after {last}"));
                }
                if kind == "Order Changed" && !changes.contains(version) {
                    tally.problems.push(format!(
                        "{id}: Order Changed at version {version}, which is no change in its history"
                    ));
                }
                last = last.max(*version);
            }
        }
        for id in versions.keys() {
            if !history.contains_key(id.as_str()) {
                tally
                    .problems
                    .push(format!("{id}: events for an order Amazon does not have"));
            }
        }
        tally
    }
}

fn difference(expected: &SandboxOrder, order: &Order) -> Option<String> {
    let channel = match expected.fulfillment_channel {
        Channel::Afn => "AFN",
        Channel::Mfn => "MFN",
    };
    if order.status.as_str() != expected.status.as_str() {
        return Some(format!(
            "status {} but Amazon says {}",
            order.status,
            expected.status.as_str()
        ));
    }
    if order.fulfillment_channel.as_str() != channel {
        return Some(format!(
            "channel {} but Amazon says {channel}",
            order.fulfillment_channel
        ));
    }
    // Reports give whole seconds.
    if order.last_updated.timestamp() != expected.last_updated_date.timestamp() {
        return Some(format!(
            "last updated {} but Amazon says {}",
            order.last_updated, expected.last_updated_date
        ));
    }
    let quantity: u32 = order.items.iter().map(|item| item.quantity).sum();
    // Amazon's reports show cancelled lines with quantity 0.
    let expected_quantity: u32 = match expected.status {
        OrderState::Cancelled => 0,
        _ => expected.items.iter().map(|item| item.quantity).sum(),
    };
    if quantity != expected_quantity {
        return Some(format!("{quantity} units but Amazon says {expected_quantity}"));
    }
    None
}

/// Stored orders against the sandbox's truth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Orders the sandbox's reports show.
    pub truth: usize,
    /// Orders stored.
    pub stored: usize,
    /// In the sandbox, not stored.
    pub missing: Vec<String>,
    /// Stored, unknown to the sandbox.
    pub unexpected: Vec<String>,
    /// Stored with another status, channel, update time or quantity, and how.
    pub different: Vec<String>,
}

impl Comparison {
    /// Whether sellersync holds exactly the sandbox's orders.
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.different.is_empty()
    }
}

/// The alarms' metrics over a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlarmMetrics {
    /// `ImportSucceeded`, summed.
    pub imports_succeeded: f64,
    /// `SpApiThrottled`, summed.
    pub throttled: f64,
    /// The account's last `AccountDisconnected` gauge.
    pub disconnected: Option<f64>,
    /// The account's last `ImportOverdue` gauge.
    pub overdue: Option<f64>,
}

impl AlarmMetrics {
    fn of(metrics: &Metrics, account_id: &str) -> AlarmMetrics {
        let gauge = |name| metrics.recorded_latest(name, "AccountId", account_id);
        AlarmMetrics {
            imports_succeeded: metrics.recorded_sum(IMPORT_SUCCEEDED),
            throttled: metrics.recorded_sum(SP_API_THROTTLED),
            disconnected: gauge(ACCOUNT_DISCONNECTED),
            overdue: gauge(IMPORT_OVERDUE),
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The sandbox seller.
    pub seller_id: String,
    /// Its marketplaces.
    pub marketplaces: Vec<String>,
    /// Orders the sandbox generated.
    pub generated: usize,
    /// Clock time the run covered.
    pub simulated: TimeDelta,
    /// Wall-clock time it took.
    pub wall: Duration,
    /// The clock's speed.
    pub clock_scale: f64,
    /// Stored orders by status and fulfilment channel.
    pub by_status_and_channel: BTreeMap<(String, &'static str), u64>,
    /// Report jobs by final state.
    pub jobs: BTreeMap<String, u64>,
    /// What the parsers did over every report.
    pub imports: ImportSummary,
    /// Schedule ticks.
    pub ticks: u64,
    /// Parse messages that failed and came back.
    pub messages_failed: u64,
    /// SP-API calls per operation, as the sandbox counted them.
    pub calls: SellerStats,
    /// What the alarms would have seen: the metrics the functions emitted.
    pub alarms: AlarmMetrics,
    /// Stored against true.
    pub comparison: Comparison,
    /// The events a consumer of the stack's bus received.
    pub events: EventTally,
    /// Open merchant orders still awaiting their getOrder details (0 once the run has caught up).
    pub awaiting_details: usize,
    /// Report poller runs and the wall time they took together.
    pub poll_runs: (u64, Duration),
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sellersync local run: seller {} in {} ({} orders generated)",
            self.seller_id,
            self.marketplaces.join(", "),
            self.generated
        )?;
        writeln!(
            f,
            "  {} h of clock time in {:.1} s (clock x{}), {} schedule ticks",
            self.simulated.num_hours(),
            self.wall.as_secs_f64(),
            self.clock_scale,
            self.ticks
        )?;
        let jobs: Vec<String> = self
            .jobs
            .iter()
            .map(|(state, n)| format!("{n} {state}"))
            .collect();
        writeln!(f, "report jobs: {}", jobs.join(", "))?;
        writeln!(f, "orders stored: {}", self.comparison.stored)?;
        for ((status, channel), n) in &self.by_status_and_channel {
            writeln!(f, "  {status:<18} {channel}  {n:>6}")?;
        }
        let i = &self.imports;
        writeln!(
            f,
            "report rows read {}, records {}: written {}, re-reads skipped {}, filtered {}, quarantined rows {}",
            i.rows, i.records, i.written, i.unchanged, i.filtered, i.quarantined
        )?;
        writeln!(
            f,
            "parse messages redelivered after a failure: {}",
            self.messages_failed
        )?;
        writeln!(f, "SP-API calls (as Amazon counted them):")?;
        let (mut calls, mut throttled) = (0, 0);
        for (operation, stats) in &self.calls {
            calls += stats.calls;
            throttled += stats.all_throttled();
            writeln!(
                f,
                "  {:<28} {:>5} calls, {:>3} x 429",
                format!("{operation:?}"),
                stats.calls,
                stats.all_throttled()
            )?;
        }
        writeln!(f, "  {:<28} {calls:>5} calls, {throttled:>3} x 429", "total")?;
        writeln!(
            f,
            "report poller: {} runs in {:.1} s of wall time; {} orders still awaiting getOrder details",
            self.poll_runs.0,
            self.poll_runs.1.as_secs_f64(),
            self.awaiting_details
        )?;
        let c = &self.comparison;
        writeln!(
            f,
            "check against Amazon's truth: {} orders in reports, {} stored, {} missing, {} unexpected, {} different",
            c.truth,
            c.stored,
            c.missing.len(),
            c.unexpected.len(),
            c.different.len()
        )?;
        for line in c.missing.iter().chain(&c.unexpected).chain(&c.different).take(10) {
            writeln!(f, "  {line}")?;
        }
        let e = &self.events;
        let types: Vec<String> = e.by_type.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
        writeln!(
            f,
            "events received: {} ({} duplicates): {} ({} of them the recipient's); status changes after \
             creation: {} at Amazon, {} in reports; {} problems",
            e.received,
            e.duplicates,
            types.join(", "),
            e.recipient_changes,
            e.real_changes,
            e.reported_changes,
            e.problems.len()
        )?;
        for line in e.problems.iter().take(10) {
            writeln!(f, "  {line}")?;
        }
        let a = &self.alarms;
        let gauge = |value: Option<f64>| value.map_or("none".to_owned(), |v| v.to_string());
        writeln!(
            f,
            "alarm metrics: ImportSucceeded {}, SpApiThrottled {}, AccountDisconnected now {}, ImportOverdue now {}",
            a.imports_succeeded,
            a.throttled,
            gauge(a.disconnected),
            gauge(a.overdue)
        )?;
        Ok(())
    }
}
