//! The feed submitter under load: 100,000 shipment confirmations queued evenly over one hour through the API's
//! use case (`FeedActions::confirm_shipment`, what `POST /accounts/{id}/orders/{orderId}/shipments` calls),
//! submitted by the feed submitter and read back by the feed poller, against the SP-API sandbox at Amazon's
//! published quotas. Time is simulated: one manual clock drives sellersync and the sandbox (buckets, feed
//! processing), so an hour runs in a few minutes and the figures do not depend on this machine's speed.
//!
//! The submitter runs every `--run-every` simulated seconds (default 10: the feed queue wakes it as messages
//! arrive, one run at a time) and the poller every minute, as their schedules do. Accounts, refresh tokens and
//! the SP-API rate limiter are the production adapters over the local stack; the order store and the outbox
//! are the in-memory fakes (100,000 DynamoDB Local round trips would measure DynamoDB Local, not batching).
//!
//! Prints createFeed calls, 429s, and the median and p99 time from API call to submission, against the
//! issue's targets (at most 30 createFeed calls, 0 429s, median at most 5 minutes); exits 1 when one is missed.
//! `tests/feed-bench.sh` runs it with a local stack of its own.
//!
//! The seller sells in `--marketplaces` (default US, CA and MX): Amazon takes one marketplace per feed, so
//! each batching window makes one feed per marketplace with orders in it, and the createFeed target is 30
//! per marketplace.
//!
//! Usage: `feed-bench [--confirmations N] [--minutes M] [--run-every SECONDS] [--marketplaces ID,ID]`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::TimeDelta;
use shared::app::feeds::{FeedActions, FeedProcessor, FeedSettings};
use shared::clock::Clock;
use shared::domain::{Carrier, ShipmentConfirmation, ShippedItems};
use shared::metrics::Metrics;
use shared::ports::OrderStore;
use shared::testing::{MemoryFeedStore, MemoryLeases, MemoryOrderStore, MemoryQueue};
use tests::sandbox::{Channel, Operation, OrderState, SellerSpec};

/// US, CA and MX: one seller's marketplaces in the NA region.
const MARKETPLACES: &str = "ATVPDKIKX0DER,A2EUQ1WTGCTBG2,A1AM78C64UM0Y8";

struct Args {
    confirmations: usize,
    minutes: i64,
    run_every: i64,
    marketplaces: Vec<String>,
}

fn args() -> Result<Args> {
    let mut parsed = Args {
        confirmations: 100_000,
        minutes: 60,
        run_every: 10,
        marketplaces: MARKETPLACES.split(',').map(str::to_owned).collect(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--confirmations" => parsed.confirmations = value.parse()?,
            "--minutes" => parsed.minutes = value.parse()?,
            "--run-every" => parsed.run_every = value.parse()?,
            "--marketplaces" => parsed.marketplaces = value.split(',').map(str::to_owned).collect(),
            other => bail!("unknown option {other}"),
        }
    }
    if parsed.confirmations == 0 || parsed.minutes <= 0 || parsed.run_every <= 0 {
        bail!("--confirmations, --minutes and --run-every must be positive");
    }
    Ok(parsed)
}

/// The value at quantile `q` of sorted `values`.
fn quantile(values: &[TimeDelta], q: f64) -> TimeDelta {
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index]
}

use tests::bench::minutes;

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let started = Instant::now();
    let (epoch, clock, sandbox) = tests::bench::sandbox().await?;

    // A seller whose orders all wait for the seller to ship them.
    let mut spec = SellerSpec::new(7, epoch - TimeDelta::days(7), epoch - TimeDelta::hours(1))
        .in_marketplaces(&args.marketplaces.iter().map(String::as_str).collect::<Vec<_>>())
        .with_orders(args.confirmations);
    spec.afn_share = 0.0;
    spec.cancel_share = 0.0;
    spec.late_share = 0.0;
    spec.awaiting_shipment_share = 1.0;
    let seller = sandbox.add_seller(spec)?;
    let orders: Vec<_> = sandbox
        .orders(&seller.seller_id)?
        .into_iter()
        .filter(|o| o.fulfillment_channel == Channel::Mfn && o.status == OrderState::Unshipped)
        .collect();
    if orders.len() < args.confirmations {
        bail!(
            "the sandbox generated {} unshipped orders of {}",
            orders.len(),
            args.confirmations
        );
    }

    // The account and its refresh token where the functions keep them; the rate limiter in its table.
    let bench =
        tests::bench::connect("feedbench", &sandbox, &seller, &args.marketplaces, clock.clone()).await?;
    let (state, account) = (bench.state.clone(), bench.account.clone());
    let order_store = Arc::new(MemoryOrderStore::default());
    for order in &orders {
        let units = order.items.iter().map(|i| i.quantity).sum();
        order_store
            .put_order(
                &account.id,
                &tests::orders::unshipped(
                    &order.amazon_order_id,
                    &order.marketplace_id,
                    units,
                    order.purchase_date,
                ),
                false,
            )
            .await?;
    }

    let outbox = Arc::new(MemoryFeedStore::default());
    let queue = Arc::new(MemoryQueue::default());
    let actions = FeedActions::new(
        state.clone(),
        order_store,
        outbox.clone(),
        queue.clone(),
        clock.clone(),
    );
    // The deployed defaults: FEED_WINDOW_SECONDS 180, CANCEL_WINDOW_SECONDS 300.
    let feeds = FeedProcessor {
        accounts: state.clone(),
        secrets: bench.secrets.clone(),
        outbox: outbox.clone(),
        leases: Arc::new(MemoryLeases::default()),
        amazon: bench.amazon.clone(),
        clock: clock.clone(),
        metrics: Metrics::recording("feed-bench"),
        naming: bench.naming.clone(),
        settings: FeedSettings::new(TimeDelta::seconds(180), TimeDelta::seconds(300)),
    };
    println!(
        "feed-bench: {} shipment confirmations over {} simulated minutes, submitter every {} s, poller every 60 s \
         (set-up {:.1} s)",
        args.confirmations,
        args.minutes,
        args.run_every,
        started.elapsed().as_secs_f64()
    );

    // The hour: each simulated second its share of confirmations, the submitter and poller on their cadence;
    // then up to 30 more minutes for the last batches to be submitted and processed.
    let load_seconds = args.minutes * 60;
    let mut queued = 0usize;
    let mut second = 0i64;
    loop {
        let due = (args.confirmations as i64 * (second + 1) / load_seconds).min(args.confirmations as i64);
        while (queued as i64) < due {
            let order = &orders[queued];
            let confirmation = ShipmentConfirmation {
                amazon_order_id: order.amazon_order_id.clone(),
                carrier: Carrier::from_name("UPS"),
                shipping_method: Some("Ground".into()),
                tracking_number: Some(format!("1Z999AA1{queued:010}")),
                ship_date: clock.now(),
                items: ShippedItems::All,
                ship_from: None,
            };
            actions
                .confirm_shipment(&account.id, confirmation, Some(&format!("bench-{queued}")))
                .await
                .with_context(|| format!("confirmation {queued}"))?;
            queued += 1;
        }
        if second % args.run_every == 0 {
            feeds.submit_due().await?;
        }
        if second % 60 == 0 {
            feeds.poll_feeds().await?;
        }
        if second % 600 == 0 && second > 0 {
            println!(
                "  {:>3} simulated min: {queued} queued ({:.0} s real)",
                second / 60,
                started.elapsed().as_secs_f64()
            );
        }
        second += 1;
        clock.advance(std::time::Duration::from_secs(1));
        if second >= load_seconds && second % 60 == 0 {
            let settled = outbox
                .all_actions()
                .iter()
                .all(|a| matches!(a.state.name(), "accepted" | "rejected"));
            if settled || second >= load_seconds + 30 * 60 {
                break;
            }
        }
    }

    // What Amazon saw and what the outbox recorded.
    let stats = sandbox.stats(&seller.seller_id)?;
    let create_feed = stats.get(&Operation::CreateFeed).map_or(0, |s| s.calls);
    let throttled: u64 = stats.values().map(|s| s.all_throttled()).sum();
    let calls: BTreeMap<String, u64> = stats
        .iter()
        .filter(|(_, s)| s.calls > 0)
        .map(|(op, s)| (format!("{op:?}"), s.calls))
        .collect();
    let all = outbox.all_actions();
    let mut waits: Vec<TimeDelta> = all
        .iter()
        .filter_map(|a| a.submitted_at.map(|at| at - a.created_at))
        .collect();
    waits.sort();
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    for action in &all {
        *states.entry(action.state.name()).or_default() += 1;
    }
    let shipped = sandbox
        .orders(&seller.seller_id)?
        .iter()
        .filter(|o| o.status == OrderState::Shipped)
        .count();
    let per_feed: Vec<u64> = sandbox
        .feeds(&seller.seller_id)?
        .iter()
        .map(|f| f.messages)
        .collect();

    println!("simulated time:         {} min", second / 60);
    println!(
        "API calls queued:       {queued} (feed queue nudges: {})",
        queue.messages().len()
    );
    println!("actions by state:       {states:?}");
    println!("sandbox orders shipped: {shipped}");
    println!(
        "feeds:                  {} (messages each: min {}, max {})",
        per_feed.len(),
        per_feed.iter().min().copied().unwrap_or(0),
        per_feed.iter().max().copied().unwrap_or(0)
    );
    println!("SP-API calls:           {calls:?}");
    if waits.is_empty() {
        bail!("no action was submitted");
    }
    let (median, p99, max) = (
        quantile(&waits, 0.5),
        quantile(&waits, 0.99),
        quantile(&waits, 1.0),
    );
    let checks = [
        (
            format!(
                "createFeed calls:       {create_feed} in {} marketplaces (target ≤ 30 per marketplace)",
                args.marketplaces.len()
            ),
            create_feed <= 30 * args.marketplaces.len() as u64,
        ),
        (
            format!("429s:                   {throttled} (target 0)"),
            throttled == 0,
        ),
        (
            format!(
                "API call → submission:  median {}, p99 {}, max {} (target: median ≤ 5 min)",
                minutes(median),
                minutes(p99),
                minutes(max)
            ),
            median <= TimeDelta::minutes(5),
        ),
        (
            format!("submitted:              {} of {queued}", waits.len()),
            waits.len() == queued,
        ),
    ];
    let mut missed = false;
    for (line, met) in &checks {
        println!("{line}{}", if *met { "" } else { "   <- MISSED" });
        missed |= !met;
    }
    println!("real time:              {:.1} s", started.elapsed().as_secs_f64());
    if missed {
        std::process::exit(1);
    }
    Ok(())
}
