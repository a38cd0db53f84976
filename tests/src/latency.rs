//! What the order latency benchmark measures: when Amazon showed each change of an order, and when sellersync
//! stored it. [`ObservedOrders`] wraps the functions' order store and notes, on the run's clock, the first time
//! each version of an order and its recipient were written; [`Latencies::of`] holds those notes against the
//! sandbox's timeline of the same orders. [`run`] runs one seller's orders through the local runner on a stepped
//! clock and measures them (the `latency-bench` binary prints two such runs side by side).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use shared::clock::{Clock, ManualClock};
use shared::domain::{
    BuyerPii, FbaShipmentItem, Order, OrderDetails, OrderPii, StoredVersion, UnshippedOrder,
};
use shared::domain::{ImportInterval, Region};
use shared::error::StoreError;
use shared::ports::{OrderQuery, OrderStore, Page, PutOutcome, QuarantinedRow, TokenedOrder};

use crate::runner::proxy::{StackProxy, StackRequests};
use crate::runner::scenario::{Scenario, ScenarioSettings};
use crate::sandbox::{Channel, Operation, OperationStats, OrderState, SandboxOrder};
use crate::stack::LocalStack;

/// What was stored of one order, and when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// Each version written that was newer than every earlier one (`last_updated`), with when it was written:
    /// increasing in both.
    pub versions: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// When its recipient was first written (from a report's buyer data or the Orders API).
    pub recipient: Option<DateTime<Utc>>,
}

impl Stored {
    /// When a version at least as new as `version` was first stored.
    pub fn stored_by(&self, version: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.versions
            .iter()
            .find(|(stored, _)| *stored >= version)
            .map(|(_, at)| *at)
    }
}

/// The notes of an [`ObservedOrders`], by order id.
#[derive(Debug, Default)]
pub struct StoreLog {
    orders: Mutex<HashMap<String, Stored>>,
}

impl StoreLog {
    fn version_written(&self, order_id: &str, version: DateTime<Utc>, at: DateTime<Utc>) {
        let mut orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = orders.entry(order_id.to_owned()).or_default();
        if stored.versions.last().is_none_or(|(last, _)| version > *last) {
            stored.versions.push((version, at));
        }
    }

    fn recipient_written(&self, order_id: &str, at: DateTime<Utc>) {
        let mut orders = self.orders.lock().unwrap_or_else(PoisonError::into_inner);
        orders
            .entry(order_id.to_owned())
            .or_default()
            .recipient
            .get_or_insert(at);
    }

    /// Everything noted so far.
    pub fn snapshot(&self) -> HashMap<String, Stored> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// An order store that notes in a [`StoreLog`] what the store it wraps wrote, and when by `clock`.
#[derive(Debug)]
pub struct ObservedOrders {
    inner: Arc<dyn OrderStore>,
    clock: Arc<dyn Clock>,
    log: Arc<StoreLog>,
}

impl ObservedOrders {
    /// `inner`, observed on `clock` into `log`.
    pub fn new(inner: Arc<dyn OrderStore>, clock: Arc<dyn Clock>, log: Arc<StoreLog>) -> Self {
        ObservedOrders { inner, clock, log }
    }

    fn note_order(&self, order: &Order, outcome: PutOutcome) -> PutOutcome {
        if outcome == PutOutcome::Written {
            self.log
                .version_written(&order.amazon_order_id, order.last_updated, self.clock.now());
        }
        outcome
    }
}

#[async_trait]
impl OrderStore for ObservedOrders {
    async fn order_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, StoredVersion>, StoreError> {
        self.inner.order_versions(account, order_ids).await
    }

    async fn put_order(
        &self,
        account: &str,
        order: &Order,
        only_if_stored: bool,
    ) -> Result<PutOutcome, StoreError> {
        let outcome = self.inner.put_order(account, order, only_if_stored).await?;
        Ok(self.note_order(order, outcome))
    }

    async fn put_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError> {
        let outcome = self.inner.put_order_ahead_of_reports(account, order).await?;
        Ok(self.note_order(order, outcome))
    }

    async fn create_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError> {
        let outcome = self.inner.create_order_ahead_of_reports(account, order).await?;
        Ok(self.note_order(order, outcome))
    }

    async fn get_order(&self, account: &str, order_id: &str) -> Result<Option<Order>, StoreError> {
        self.inner.get_order(account, order_id).await
    }

    async fn list_orders(&self, account: &str, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        self.inner.list_orders(account, query).await
    }

    async fn orders_to_ship(
        &self,
        account: &str,
        marketplace_id: Option<&str>,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<(Order, OrderDetails)>, StoreError> {
        self.inner
            .orders_to_ship(account, marketplace_id, limit, after)
            .await
    }

    async fn get_tokened_order(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<TokenedOrder>, StoreError> {
        self.inner.get_tokened_order(account, order_id).await
    }

    async fn merge_order(
        &self,
        account: &str,
        order: &Order,
        read_token: Option<&str>,
    ) -> Result<PutOutcome, StoreError> {
        let outcome = self.inner.merge_order(account, order, read_token).await?;
        Ok(self.note_order(order, outcome))
    }

    async fn unshipped_fingerprints(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, u64>, StoreError> {
        self.inner.unshipped_fingerprints(account, order_ids).await
    }

    async fn put_unshipped(
        &self,
        account: &str,
        order: &UnshippedOrder,
        fingerprint: u64,
    ) -> Result<(), StoreError> {
        self.inner.put_unshipped(account, order, fingerprint).await
    }

    async fn put_buyer(
        &self,
        account: &str,
        buyer: &BuyerPii,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.put_buyer(account, buyer, expires_at).await?;
        self.log
            .recipient_written(&buyer.amazon_order_id, self.clock.now());
        Ok(())
    }

    async fn get_order_details(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<OrderDetails>, StoreError> {
        self.inner.get_order_details(account, order_id).await
    }

    async fn put_order_details(
        &self,
        account: &str,
        details: &OrderDetails,
        pii: Option<(&OrderPii, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        self.inner.put_order_details(account, details, pii).await?;
        if pii.is_some() {
            self.log
                .recipient_written(&details.amazon_order_id, self.clock.now());
        }
        Ok(())
    }

    async fn orders_awaiting_details(
        &self,
        account: &str,
        limit: u32,
        newest_first: bool,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        self.inner
            .orders_awaiting_details(account, limit, newest_first)
            .await
    }

    async fn details_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        self.inner.details_versions(account, order_ids).await
    }

    async fn clear_awaiting_details(
        &self,
        account: &str,
        order_id: &str,
        version: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner
            .clear_awaiting_details(account, order_id, version)
            .await
    }

    async fn get_order_pii(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<(OrderPii, DateTime<Utc>)>, StoreError> {
        self.inner.get_order_pii(account, order_id).await
    }

    async fn stored_shipment_items(
        &self,
        account: &str,
        items: &[&FbaShipmentItem],
    ) -> Result<HashSet<String>, StoreError> {
        self.inner.stored_shipment_items(account, items).await
    }

    async fn put_shipment_item(
        &self,
        account: &str,
        item: &FbaShipmentItem,
    ) -> Result<PutOutcome, StoreError> {
        self.inner.put_shipment_item(account, item).await
    }

    async fn quarantine(&self, account: &str, rows: &[QuarantinedRow]) -> Result<(), StoreError> {
        self.inner.quarantine(account, rows).await
    }
}

/// A latency distribution in which some cases never happened within the run (counted as longer than any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    /// Every case, stored ones sorted first; `None`: not stored by the end of the run.
    sorted: Vec<Option<TimeDelta>>,
}

impl Distribution {
    fn of(mut cases: Vec<Option<TimeDelta>>) -> Self {
        cases.sort_by_key(|case| (case.is_none(), *case));
        Distribution { sorted: cases }
    }

    /// How many cases.
    pub fn cases(&self) -> usize {
        self.sorted.len()
    }

    /// How many were not stored by the end of the run.
    pub fn missing(&self) -> usize {
        self.sorted.iter().filter(|c| c.is_none()).count()
    }

    /// The `q` quantile (nearest rank): `Some(None)` when it falls on a case not stored by the end of the run,
    /// `None` without cases.
    pub fn quantile(&self, q: f64) -> Option<Option<TimeDelta>> {
        if self.sorted.is_empty() {
            return None;
        }
        let rank = ((q * self.sorted.len() as f64).ceil() as usize).clamp(1, self.sorted.len());
        Some(self.sorted[rank - 1])
    }
}

impl fmt::Display for Distribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |q: f64| match self.quantile(q) {
            None => "-".to_owned(),
            Some(None) => "not stored".to_owned(),
            Some(Some(d)) => seconds(d),
        };
        write!(
            f,
            "p50 {:>10}  p99 {:>10}  ({} cases, {} not stored by the end)",
            show(0.5),
            show(0.99),
            self.cases(),
            self.missing()
        )
    }
}

fn seconds(delta: TimeDelta) -> String {
    let s = delta.num_milliseconds() as f64 / 1000.0;
    if s < 600.0 {
        format!("{s:.0} s")
    } else {
        format!("{:.1} min", s / 60.0)
    }
}

/// The latencies of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latencies {
    /// Every change the Orders API showed by the end of the window: from when it showed it to when a version at
    /// least as new was stored.
    pub shown_to_stored: Distribution,
    /// Merchant orders placed in the window (not cancelled by the end): from when the Orders API first showed
    /// their recipient (once Amazon has the payment: `Unshipped` or later) to when sellersync stored it.
    pub recipient_shown_to_stored: Distribution,
    /// The same orders from when they were placed to when their recipient was stored: Amazon's own time to
    /// take the payment included.
    pub placed_to_recipient_stored: Distribution,
    /// Every order placed in the window: from when it was placed to when it was first stored.
    pub placed_to_stored: Distribution,
}

impl Latencies {
    /// Holds what was `stored` against `truth` (orders with the events that happened by the end of the run),
    /// for the orders placed by `window_end` and the changes the Orders API showed by then.
    pub fn of(
        truth: &[SandboxOrder],
        stored: &HashMap<String, Stored>,
        window_end: DateTime<Utc>,
    ) -> Latencies {
        let nothing = Stored::default();
        let (mut shown, mut recipient, mut placed_recipient, mut placed) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for order in truth.iter().filter(|o| o.purchase_date <= window_end) {
            let seen = stored.get(&order.amazon_order_id).unwrap_or(&nothing);
            placed.push(seen.versions.first().map(|(_, at)| *at - order.purchase_date));
            for event in order.events.iter().filter(|e| e.api_visible_at <= window_end) {
                shown.push(
                    seen.stored_by(event.last_updated_date)
                        .map(|at| at - event.api_visible_at),
                );
            }
            if order.fulfillment_channel != Channel::Mfn || order.status == OrderState::Cancelled {
                continue;
            }
            let paid = order
                .events
                .iter()
                .find(|e| matches!(e.status, OrderState::Unshipped | OrderState::Shipped));
            if let Some(paid) = paid.filter(|e| e.api_visible_at <= window_end) {
                recipient.push(seen.recipient.map(|at| at - paid.api_visible_at));
                placed_recipient.push(seen.recipient.map(|at| at - order.purchase_date));
            }
        }
        Latencies {
            shown_to_stored: Distribution::of(shown),
            recipient_shown_to_stored: Distribution::of(recipient),
            placed_to_recipient_stored: Distribution::of(placed_recipient),
            placed_to_stored: Distribution::of(placed),
        }
    }
}

/// How sellersync learns of orders in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Subscribed to Amazon's notifications, with the scheduled imports as reconciliation.
    Notifications,
    /// Scheduled report imports and the minute pollers alone.
    Reports,
}

impl Mode {
    /// For people.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Notifications => "notifications",
            Mode::Reports => "reports only",
        }
    }
}

/// What a run imports, for how long, in what steps.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Orders placed an hour, evenly over the window.
    pub orders_per_hour: f64,
    /// The window in which orders are placed, in hours.
    pub hours: f64,
    /// How long the run goes on after the window, in hours.
    pub after: f64,
    /// Simulated seconds between the runner's rounds.
    pub step: i64,
    /// Multiplies Amazon's published SP-API rates (a dynamic usage plan; 1: the defaults).
    pub rate_scale: f64,
    /// The sandbox seller's seed.
    pub seed: u64,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            orders_per_hour: 10_000.0,
            hours: 1.0,
            after: 1.0,
            step: 5,
            rate_scale: 1.0,
            seed: 18,
        }
    }
}

impl RunSettings {
    /// Refuses settings no run can have.
    pub fn check(&self) -> Result<()> {
        if self.orders_per_hour < 1.0 || self.hours <= 0.0 || self.after < 0.0 || self.step < 1 {
            bail!("orders per hour, hours and the step must be positive, the time after not negative");
        }
        Ok(())
    }
}

/// SQS requests of the runner's own bookkeeping or of the set-up, not of the functions' traffic: Lambda's
/// pollers cost the same whatever the traffic.
const SQS_NOT_TRAFFIC: [&str; 5] = [
    "ReceiveMessage (empty)",
    "GetQueueAttributes",
    "GetQueueUrl",
    "CreateQueue",
    "ListQueues",
];

/// What one run did.
#[derive(Debug)]
pub struct Run {
    /// How it learned of orders.
    pub mode: Mode,
    /// Orders placed in the window.
    pub orders: usize,
    /// How fast they were stored.
    pub latencies: Latencies,
    /// SP-API calls (and Amazon's 429s) by operation, LWA left out.
    pub sp_api: BTreeMap<&'static str, OperationStats>,
    /// What reached the local stack after the set-up.
    pub requests: StackRequests,
    /// Lambda invocations by function.
    pub invocations: BTreeMap<&'static str, u64>,
    /// How long the functions waited for rate tokens or backed off, in simulated time (billed Lambda time).
    pub waited: std::time::Duration,
    /// Wall time of the run.
    pub wall: std::time::Duration,
}

impl Run {
    /// `count` per 1,000 orders placed in the window.
    pub fn per_thousand(&self, count: f64) -> f64 {
        count * 1000.0 / self.orders.max(1) as f64
    }

    /// Amazon's 429s for an empty bucket (none is injected here).
    pub fn throttled(&self) -> u64 {
        self.sp_api.values().map(|s| s.throttled).sum()
    }

    /// SQS requests of the functions' traffic.
    pub fn sqs_requests(&self) -> u64 {
        self.requests.of_service("sqs", &SQS_NOT_TRAFFIC)
    }

    /// Events put on the bus.
    pub fn events(&self) -> u64 {
        self.requests
            .calls
            .get("events PutEvents entries")
            .copied()
            .unwrap_or(0)
    }

    /// Lambda invocations, all functions.
    pub fn lambda_invocations(&self) -> u64 {
        self.invocations.values().sum()
    }
}

/// Runs one mode: the sandbox seller, a DynamoDB Local of its own behind a counting proxy, the local runner on a
/// stepped manual clock; then holds what was stored against the sandbox's truth.
pub async fn run(mode: Mode, args: &RunSettings) -> Result<Run> {
    let started = Instant::now();
    let epoch = Utc
        .with_ymd_and_hms(2026, 3, 9, 12, 0, 0)
        .single()
        .context("epoch")?;
    let clock = Arc::new(ManualClock::new(epoch));
    let own = LocalStack::with_own_dynamodb().await?;
    let moto = std::env::var("AWS_ENDPOINT_URL").context("AWS_ENDPOINT_URL (the local stack's moto)")?;
    let proxy = StackProxy::metering(own.dynamodb_endpoint.clone(), moto).await?;
    let stack = own.through(&proxy.url).await?;
    let window = TimeDelta::seconds((args.hours * 3600.0) as i64);
    let orders = (args.orders_per_hour * args.hours).round() as usize;
    let mut scenario = Scenario::start(
        stack,
        ScenarioSettings {
            seed: args.seed,
            orders,
            marketplaces: vec!["ATVPDKIKX0DER".into()],
            region: Region::Na,
            history: TimeDelta::zero(),
            arrivals: window,
            // The shortest interval an account can import at.
            interval: ImportInterval::Minutes(5),
            rate_scale: args.rate_scale,
            notifications: mode == Mode::Notifications,
            manual_clock: Some(clock.clone()),
            ..ScenarioSettings::default()
        },
    )
    .await?;
    // No consumer on the bus: what it costs to publish is counted at PutEvents, and moto's copying of every
    // event into the scenario's consumer queue (tens of thousands) took longer than the run itself.
    let bus = scenario.runner.resources.get("EventBus")?.to_owned();
    scenario
        .runner
        .stack
        .events
        .remove_targets()
        .rule(Scenario::CONSUMER_RULE)
        .event_bus_name(bus)
        .ids(Scenario::CONSUMER_TARGET)
        .send()
        .await
        .context("removing the scenario's consumer of events")?;
    let log = Arc::new(StoreLog::default());
    let observed: Arc<dyn shared::ports::OrderStore> = Arc::new(ObservedOrders::new(
        scenario.runner.import.orders.clone(),
        clock.clone(),
        log.clone(),
    ));
    scenario.runner.import.orders = observed.clone();
    scenario.runner.notifications.import.orders = observed;
    let seller = scenario.seller.seller_id.clone();
    let set_up_requests = proxy.requests();
    let set_up_calls = scenario.sandbox.stats(&seller)?;
    let set_up_sleeps = clock.sleeps().len();

    let window_end = epoch + window;
    let end = window_end + TimeDelta::seconds((args.after * 3600.0) as i64);
    let step = TimeDelta::seconds(args.step);
    let mut progress = epoch + TimeDelta::minutes(30);
    while clock.now() < end {
        let round = clock.now();
        scenario.runner.step().await?;
        // The functions' own waits moved the clock already; otherwise the round took `step`.
        if clock.now() < round + step {
            clock.set(round + step);
        }
        if clock.now() >= progress {
            let stored = log.snapshot();
            eprintln!(
                "  {} {:>4} min: {} orders stored, {} recipients ({:.0} s wall)",
                mode.name(),
                (clock.now() - epoch).num_minutes(),
                stored.len(),
                stored.values().filter(|s| s.recipient.is_some()).count(),
                started.elapsed().as_secs_f64()
            );
            progress += TimeDelta::minutes(30);
        }
    }
    // The event publisher catches up with what the run wrote.
    scenario.runner.pump_streams().await?;

    let truth = scenario.sandbox.orders_at(&seller, clock.now())?;
    let latencies = Latencies::of(&truth, &log.snapshot(), window_end);
    let placed = truth.iter().filter(|o| o.purchase_date <= window_end).count();
    let mut sp_api = BTreeMap::new();
    for (operation, stats) in scenario.sandbox.stats(&seller)? {
        let before = set_up_calls.get(&operation).copied().unwrap_or_default();
        let calls = stats.calls - before.calls;
        if calls > 0 && operation != Operation::LwaToken {
            sp_api.insert(
                operation.name(),
                OperationStats {
                    calls,
                    throttled: stats.throttled - before.throttled,
                    ..OperationStats::default()
                },
            );
        }
    }
    let waited = clock.sleeps()[set_up_sleeps..].iter().sum();
    let run = Run {
        mode,
        orders: placed,
        latencies,
        sp_api,
        requests: proxy.requests().since(&set_up_requests),
        invocations: scenario.runner.activity.invocations.clone(),
        waited,
        wall: started.elapsed(),
    };
    scenario.sandbox.shutdown().await;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::SandboxEvent;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::minutes(minute)
    }

    fn event(status: OrderState, minute: i64, api_delay: i64) -> SandboxEvent {
        SandboxEvent {
            status,
            last_updated_date: at(minute),
            visible_at: at(minute + 45),
            api_visible_at: at(minute + api_delay),
        }
    }

    fn order(id: &str, channel: Channel, events: Vec<SandboxEvent>) -> SandboxOrder {
        let last = events.last().cloned().expect("an event");
        SandboxOrder {
            amazon_order_id: id.into(),
            merchant_order_id: String::new(),
            marketplace_id: "ATVPDKIKX0DER".into(),
            sales_channel: "Amazon.com".into(),
            fulfillment_channel: channel,
            purchase_date: events[0].last_updated_date,
            last_updated_date: last.last_updated_date,
            status: last.status,
            currency: "USD".into(),
            ship_service_level: "Standard".into(),
            is_business_order: false,
            purchase_order_number: String::new(),
            ship_city: String::new(),
            ship_state: String::new(),
            ship_postal_code: String::new(),
            ship_country: "US".into(),
            items: Vec::new(),
            events,
            shipments: Vec::new(),
            cancellations: Vec::new(),
        }
    }

    #[test]
    fn a_store_log_keeps_the_first_time_of_each_newer_version_and_of_the_recipient() {
        let log = StoreLog::default();
        log.version_written("A", at(0), at(2));
        log.version_written("A", at(0), at(5));
        log.version_written("A", at(10), at(12));
        log.version_written("A", at(3), at(13));
        log.recipient_written("A", at(12));
        log.recipient_written("A", at(20));
        let stored = &log.snapshot()["A"];
        assert_eq!(stored.versions, [(at(0), at(2)), (at(10), at(12))]);
        assert_eq!(stored.recipient, Some(at(12)));
        assert_eq!(stored.stored_by(at(0)), Some(at(2)));
        assert_eq!(
            stored.stored_by(at(5)),
            Some(at(12)),
            "a later version stores an earlier change"
        );
        assert_eq!(stored.stored_by(at(11)), None);
    }

    #[test]
    fn quantiles_count_what_was_never_stored_as_longer_than_anything() {
        let d = |s: i64| Some(TimeDelta::seconds(s));
        let all = Distribution::of(vec![d(30), d(10), d(20), None]);
        assert_eq!(all.quantile(0.5), Some(d(20)));
        assert_eq!(all.quantile(0.99), Some(None));
        assert_eq!(all.missing(), 1);
        assert_eq!(Distribution::of(Vec::new()).quantile(0.5), None);
        let hundred = Distribution::of((1..=100).map(d).collect());
        assert_eq!(hundred.quantile(0.99), Some(d(99)));
        assert_eq!(hundred.quantile(0.5), Some(d(50)));
    }

    #[test]
    fn latencies_run_from_when_amazon_showed_a_change_to_when_a_version_as_new_was_stored() {
        // A merchant order: placed at 0 (shown at 1), paid at 10 (shown at 12), shipped at 100 (shown after the
        // window). Stored at 3, moved to Unshipped at 13 with its recipient at 14.
        let mfn = order(
            "M",
            Channel::Mfn,
            vec![
                event(OrderState::Pending, 0, 1),
                event(OrderState::Unshipped, 10, 2),
                event(OrderState::Shipped, 100, 2),
            ],
        );
        // An FBA order placed at 5, shown at 6, never stored.
        let afn = order("F", Channel::Afn, vec![event(OrderState::Pending, 5, 1)]);
        // Placed after the window.
        let late = order("L", Channel::Mfn, vec![event(OrderState::Pending, 70, 1)]);
        let log = StoreLog::default();
        log.version_written("M", at(0), at(3));
        log.version_written("M", at(10), at(13));
        log.recipient_written("M", at(14));
        log.version_written("L", at(70), at(72));

        let latencies = Latencies::of(&[mfn, afn, late], &log.snapshot(), at(60));

        let minutes = |m: i64| Some(Some(TimeDelta::minutes(m)));
        assert_eq!(
            latencies.shown_to_stored.cases(),
            3,
            "M's two changes and F's one"
        );
        assert_eq!(latencies.shown_to_stored.missing(), 1);
        assert_eq!(latencies.shown_to_stored.quantile(0.3), minutes(1));
        assert_eq!(latencies.shown_to_stored.quantile(0.5), minutes(2));
        assert_eq!(latencies.recipient_shown_to_stored.quantile(0.5), minutes(2));
        assert_eq!(latencies.placed_to_recipient_stored.quantile(0.5), minutes(14));
        assert_eq!(latencies.placed_to_stored.cases(), 2);
        assert_eq!(latencies.placed_to_stored.quantile(0.5), minutes(3));
        assert_eq!(latencies.placed_to_stored.quantile(0.99), Some(None));
    }
}
