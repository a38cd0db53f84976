//! Draining a getOrder backlog: a new account with 10,000 unshipped merchant orders, none completed with the
//! Orders API yet, while new orders keep arriving (one a minute by default). The report poller runs every
//! simulated minute as its schedule does (`Import::poll_reports`, which completes the orders awaiting their
//! details with the tokens the seller's shared getOrder bucket holds), against the SP-API sandbox at Amazon's
//! published getOrder rate (0.5/s, burst 30). Time is simulated: one manual clock drives sellersync and the
//! sandbox, so five hours run in minutes and the figures do not depend on this machine's speed.
//!
//! Accounts, refresh tokens, the rate limiter, the parse queue and the archive are the production adapters over
//! the local stack; the order store is the in-memory fake (its `details-due` marks follow the DynamoDB store's
//! index, one contract test holds both to the same rules), so the figures measure the selection and the quota,
//! not DynamoDB Local.
//!
//! Prints getOrder calls, 429s, the simulated time to drain the backlog next to the least time Amazon's rate
//! allows, the getOrder calls of the busiest run, store writes per order, and how long arriving orders waited
//! for their details; exits 1 when a target is missed (0 429s; no order read twice; the backlog drained within
//! 2 % of the least time; every arriving order completed within 2 minutes). `tests/enrich-bench.sh` runs it with
//! a local stack of its own.
//!
//! An arriving order is counted as placed just after the previous run (the worst case), so a wait of 1 minute
//! means it was completed by the first run after it was stored.
//!
//! Usage: `enrich-bench [--backlog N] [--arrivals-per-hour N]`

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, TimeDelta, Utc};
use shared::adapters::s3::S3Archive;
use shared::adapters::sqs::SqsQueue;
use shared::app::import::{Import, ImportSettings};
use shared::clock::Clock;
use shared::metrics::Metrics;
use shared::ports::OrderStore;
use shared::testing::MemoryOrderStore;
use tests::sandbox::{Channel, Operation, OrderState, Sandbox, SellerSpec};

/// Amazon's published getOrder rate (Orders API 2026-01-01): 0.5 requests a second, burst 30.
const GET_ORDER_RATE: f64 = 0.5;
const GET_ORDER_BURST: f64 = 30.0;

struct Args {
    backlog: usize,
    arrivals_per_hour: usize,
}

fn args() -> Result<Args> {
    let mut parsed = Args {
        backlog: 10_000,
        arrivals_per_hour: 60,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--backlog" => parsed.backlog = value.parse()?,
            "--arrivals-per-hour" => parsed.arrivals_per_hour = value.parse()?,
            other => bail!("unknown option {other}"),
        }
    }
    if parsed.backlog == 0 {
        bail!("--backlog must be positive");
    }
    Ok(parsed)
}

/// The order as the import stores it from a report row: unshipped, at the sandbox's version.
fn stored(order: &tests::sandbox::SandboxOrder) -> shared::domain::Order {
    let units = order.items.iter().map(|i| i.quantity).sum();
    let mut stored = tests::orders::unshipped(
        &order.amazon_order_id,
        &order.marketplace_id,
        units,
        order.purchase_date,
    );
    stored.last_updated = order.last_updated_date;
    stored
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let started = Instant::now();
    let (epoch, clock, sandbox) = tests::bench::sandbox().await?;

    // The least time Amazon's rate allows for the backlog: the burst at once, then 0.5 a second, less what the
    // orders arriving meanwhile take of the same bucket.
    let per_minute = GET_ORDER_RATE * 60.0 - args.arrivals_per_hour as f64 / 60.0;
    if per_minute <= 0.0 {
        bail!("--arrivals-per-hour takes the whole getOrder rate: no backlog could drain");
    }
    let expected_minutes = ((args.backlog as f64 - GET_ORDER_BURST).max(0.0) / per_minute).ceil();
    let arrivals = (expected_minutes as usize * args.arrivals_per_hour).div_ceil(60);

    // A seller whose orders all wait for the seller to ship them.
    let wanted = args.backlog + arrivals;
    let mut spec = SellerSpec::new(11, epoch - TimeDelta::days(14), epoch - TimeDelta::hours(1))
        .in_marketplaces(&["ATVPDKIKX0DER"])
        .with_orders(wanted);
    spec.afn_share = 0.0;
    spec.cancel_share = 0.0;
    spec.late_share = 0.0;
    spec.awaiting_shipment_share = 1.0;
    let seller = sandbox.add_seller(spec)?;
    let mut orders: Vec<_> = sandbox
        .orders(&seller.seller_id)?
        .into_iter()
        .filter(|o| o.fulfillment_channel == Channel::Mfn && o.status == OrderState::Unshipped)
        .collect();
    if orders.len() < wanted {
        bail!(
            "the sandbox generated {} unshipped orders of {wanted}",
            orders.len()
        );
    }
    orders.sort_by_key(|o| (o.purchase_date, o.amazon_order_id.clone()));
    let arriving = orders.split_off(args.backlog);

    let marketplaces = ["ATVPDKIKX0DER".to_owned()];
    let bench = tests::bench::connect("enrichbench", &sandbox, &seller, &marketplaces, clock.clone()).await?;
    let account = bench.account.clone();
    let store = Arc::new(MemoryOrderStore::default());
    for order in &orders {
        store.put_order(&account.id, &stored(order), false).await?;
    }
    let import = Import {
        accounts: bench.state.clone(),
        jobs: bench.state.clone(),
        orders: store.clone(),
        secrets: bench.secrets.clone(),
        parse_queue: Arc::new(SqsQueue::new(
            bench.stack.sqs.clone(),
            bench.resources.get("ParseQueue").context("parse queue")?,
        )),
        archive: Arc::new(S3Archive::new(
            bench.stack.s3.clone(),
            bench.resources.get("RawDocumentsBucket").context("bucket")?,
            None,
        )),
        // The benchmark measures getOrder alone: no notification subscriptions.
        subscriptions: shared::app::subscriptions::Subscriptions::new(
            bench.amazon.clone(),
            bench.state.clone(),
            clock.clone(),
            None,
        ),
        amazon: bench.amazon.clone(),
        clock: clock.clone(),
        metrics: Metrics::recording("enrich-bench"),
        settings: ImportSettings {
            overlap: TimeDelta::hours(24),
            initial_lookback: TimeDelta::days(7),
            parse_deadline: shared::domain::PARSE_DEADLINE,
            naming: bench.naming.clone(),
            enrich_orders: true,
        },
    };
    let writes_before = store.writes();
    println!(
        "enrich-bench: a backlog of {} unshipped merchant orders, {} arriving ({} an hour), the report poller \
         every simulated minute (set-up {:.1} s)",
        orders.len(),
        arriving.len(),
        args.arrivals_per_hour,
        started.elapsed().as_secs_f64()
    );

    // Each simulated minute: the orders that arrived are stored (as the import would), then the poller runs.
    let drain_started = Instant::now();
    let mut arrived_at: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut waits: Vec<TimeDelta> = Vec::new();
    let mut completed_at: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut backlog_drained: Option<i64> = None;
    let mut busiest_run = 0u64;
    let mut last_calls = 0u64;
    let mut minute = 0i64;
    let get_order_calls = |sandbox: &Sandbox| -> Result<u64> {
        Ok(sandbox
            .stats(&seller.seller_id)?
            .get(&Operation::GetOrder)
            .map_or(0, |s| s.calls))
    };
    loop {
        let due = (minute as usize * args.arrivals_per_hour / 60).min(arriving.len());
        while arrived_at.len() < due {
            let order = &arriving[arrived_at.len()];
            store.put_order(&account.id, &stored(order), false).await?;
            // It arrived just after the previous run (the worst case): its wait counts from there.
            let arrival = clock.now() - TimeDelta::minutes(1);
            arrived_at.insert(order.amazon_order_id.clone(), arrival);
        }
        import.poll_reports().await?;
        let calls = get_order_calls(&sandbox)?;
        busiest_run = busiest_run.max(calls - last_calls);
        last_calls = calls;
        let details: Vec<String> = store.extras().details.keys().map(|(_, id)| id.clone()).collect();
        for id in details {
            if let std::collections::hash_map::Entry::Vacant(entry) = completed_at.entry(id) {
                if let Some(at) = arrived_at.get(entry.key()) {
                    waits.push(clock.now() - *at);
                }
                entry.insert(clock.now());
            }
        }
        if backlog_drained.is_none()
            && orders
                .iter()
                .all(|o| completed_at.contains_key(&o.amazon_order_id))
        {
            backlog_drained = Some(minute);
        }
        if minute % 60 == 0 && minute > 0 {
            println!(
                "  {:>3} simulated min: {} of {} completed ({:.0} s real)",
                minute,
                completed_at.len(),
                orders.len() + arrived_at.len(),
                started.elapsed().as_secs_f64()
            );
        }
        let all_arrived = arrived_at.len() == arriving.len();
        if backlog_drained.is_some() && all_arrived && completed_at.len() == orders.len() + arriving.len() {
            break;
        }
        if minute > 2 * expected_minutes as i64 + 60 {
            bail!("the backlog did not drain within twice the least time");
        }
        minute += 1;
        clock.advance(std::time::Duration::from_secs(60));
    }

    let stats = sandbox.stats(&seller.seller_id)?;
    let get_order = get_order_calls(&sandbox)?;
    let throttled: u64 = stats.values().map(|s| s.all_throttled()).sum();
    let total = orders.len() + arriving.len();
    let drained = backlog_drained.unwrap_or(minute);
    waits.sort();
    let wait_p50 = waits.get(waits.len() / 2).copied().unwrap_or_default();
    let wait_max = waits.last().copied().unwrap_or_default();
    let writes = store.writes() - writes_before;
    println!(
        "simulated time:         {minute} min ({:.1} s real for the runs)",
        drain_started.elapsed().as_secs_f64()
    );
    println!(
        "backlog drained in:     {drained} min (the least Amazon's 0.5/s and burst 30 allow: {expected_minutes} min)"
    );
    println!("getOrder calls:         {get_order} for {total} orders (busiest run: {busiest_run})");
    println!(
        "store writes per order: {:.2} (the details, their PII, the mark cleared or the copy moved ahead)",
        writes as f64 / total as f64
    );
    println!(
        "arriving orders:        {} completed, waited p50 {} and at most {}",
        waits.len(),
        tests::bench::minutes(wait_p50),
        tests::bench::minutes(wait_max)
    );
    let checks = [
        (
            format!("429s:                   {throttled} (target 0)"),
            throttled == 0,
        ),
        (
            format!("getOrder calls:         {get_order} (target {total}: each order read once)"),
            get_order == total as u64,
        ),
        (
            format!("drain time:             {drained} min (target ≤ {expected_minutes} min + 2 %)"),
            drained as f64 <= expected_minutes * 1.02,
        ),
        (
            format!(
                "longest arrival wait:   {} (target ≤ 2 min, the backlog notwithstanding)",
                tests::bench::minutes(wait_max)
            ),
            wait_max <= TimeDelta::minutes(2),
        ),
    ];
    let mut missed = false;
    for (line, met) in &checks {
        println!("{line} {}", if *met { "ok" } else { "MISSED" });
        missed |= !met;
    }
    sandbox.shutdown().await;
    if missed {
        bail!("a target was missed");
    }
    Ok(())
}
