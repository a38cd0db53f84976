//! How fast an order reaches DynamoDB, and what it costs: one seller receiving orders at a steady rate (10,000
//! an hour by default) with their status changes, imported once with Amazon's notifications and once by reports
//! and polling alone, side by side.
//!
//! Each mode runs the functions of the template in the local runner against the SP-API sandbox, on a DynamoDB
//! Local of its own and moto, with one manual clock for both: the clock stands still while a round runs and
//! moves on by `--step` between rounds (and by whatever the functions wait for rate tokens), so the figures are
//! in simulated time and do not depend on this machine's speed. The sandbox answers at Amazon's published rates
//! (times `--rate-scale`), shows a change in the Orders API about two minutes after it happens and in reports 30
//! minutes to a day after.
//!
//! Measured (see `tests::latency`): for every change the Orders API showed in the arrival window, from when it
//! showed it to when sellersync stored it; for merchant orders, from when the Orders API first showed the
//! recipient (Amazon withholds it while an order is `Pending`, which lasts minutes) to when sellersync stored
//! it, and from when the order was placed. Counted through a proxy in front of the local stack, per 1,000
//! orders: SP-API calls by operation, DynamoDB requests and the capacity units DynamoDB reported, SQS requests
//! (the runner's empty polls left out: Lambda's pollers cost the same whatever the traffic), EventBridge events,
//! Lambda invocations by function; and their cost at AWS's list prices (below, with their date).
//!
//! Exits 1 when a target is missed: with notifications, changes stored p50 ≤ 60 s and p99 ≤ 3 min after the
//! Orders API shows them and recipients likewise; no 429 from Amazon in either mode. `tests/latency-bench.sh`
//! runs it with a local stack of its own.
//!
//! Usage: `latency-bench [--orders-per-hour N] [--hours H] [--after H] [--step S] [--rate-scale X]
//! [--mode both|notifications|reports] [--seed N]`

use anyhow::{Context, Result, bail};
use chrono::TimeDelta;
use tests::latency::{self, Mode, Run, RunSettings};

/// AWS list prices, US East (N. Virginia), in dollars, as published on aws.amazon.com/<service>/pricing when
/// this was written (2026-12-06; DynamoDB's on-demand prices since their cut of 2024-11-01). Free tiers left out.
mod price {
    /// DynamoDB on demand, per million write request units.
    pub(crate) const DYNAMODB_WRITE_UNITS: f64 = 0.625;
    /// DynamoDB on demand, per million read request units.
    pub(crate) const DYNAMODB_READ_UNITS: f64 = 0.125;
    /// SQS standard queues, per million requests (each 64 KB of a request is one).
    pub(crate) const SQS_REQUESTS: f64 = 0.40;
    /// EventBridge custom events, per million (each 64 KB of an entry is one).
    pub(crate) const EVENTBRIDGE_EVENTS: f64 = 1.00;
    /// Lambda, per million requests.
    pub(crate) const LAMBDA_REQUESTS: f64 = 0.20;
    /// Lambda on Arm (the template's architecture), per GB-second.
    pub(crate) const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
    /// S3 Standard, per thousand PUT, COPY, POST or LIST requests.
    pub(crate) const S3_WRITES: f64 = 0.005;
    /// S3 Standard, per thousand GET and other requests.
    pub(crate) const S3_READS: f64 = 0.0004;
    /// Secrets Manager, per ten thousand API calls.
    pub(crate) const SECRETS_CALLS: f64 = 0.05;
}

/// The template's default function memory, in GB (`Globals.Function.MemorySize: 256`).
const FUNCTION_MEMORY_GB: f64 = 0.25;

struct Args {
    run: RunSettings,
    modes: Vec<Mode>,
}

fn args() -> Result<Args> {
    let mut parsed = Args {
        run: RunSettings::default(),
        modes: vec![Mode::Notifications, Mode::Reports],
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--orders-per-hour" => parsed.run.orders_per_hour = value.parse()?,
            "--hours" => parsed.run.hours = value.parse()?,
            "--after" => parsed.run.after = value.parse()?,
            "--step" => parsed.run.step = value.parse()?,
            "--rate-scale" => parsed.run.rate_scale = value.parse()?,
            "--seed" => parsed.run.seed = value.parse()?,
            "--mode" => {
                parsed.modes = match value.as_str() {
                    "both" => vec![Mode::Notifications, Mode::Reports],
                    "notifications" => vec![Mode::Notifications],
                    "reports" => vec![Mode::Reports],
                    other => bail!("--mode: {other} is not both, notifications or reports"),
                }
            }
            other => bail!("unknown option {other}"),
        }
    }
    parsed.run.check()?;
    Ok(parsed)
}

/// What one mode did, and what it costs.
type Figures = Run;

/// Dollars per 1,000 orders, by service.
fn costs(run: &Run) -> Vec<(&'static str, f64)> {
    let r = &run.requests;
    let s3_writes = r.of("s3", &["PUT", "POST"]) as f64;
    let s3_reads = r.of("s3", &["GET", "HEAD"]) as f64;
    let per_million = |count: f64, price: f64| run.per_thousand(count) * price / 1e6;
    vec![
        (
            "DynamoDB",
            per_million(r.write_units, price::DYNAMODB_WRITE_UNITS)
                + per_million(r.read_units, price::DYNAMODB_READ_UNITS),
        ),
        ("SQS", per_million(run.sqs_requests() as f64, price::SQS_REQUESTS)),
        (
            "EventBridge",
            per_million(run.events() as f64, price::EVENTBRIDGE_EVENTS),
        ),
        (
            "Lambda requests",
            per_million(run.lambda_invocations() as f64, price::LAMBDA_REQUESTS),
        ),
        (
            "Lambda waiting for rate tokens",
            run.per_thousand(run.waited.as_secs_f64()) * FUNCTION_MEMORY_GB * price::LAMBDA_ARM_GB_SECOND,
        ),
        (
            "S3",
            run.per_thousand(s3_writes) * price::S3_WRITES / 1000.0
                + run.per_thousand(s3_reads) * price::S3_READS / 1000.0,
        ),
        (
            "Secrets Manager",
            run.per_thousand(r.of_service("secretsmanager", &["CreateSecret"]) as f64) * price::SECRETS_CALLS
                / 10_000.0,
        ),
    ]
}

fn print(all: &[Figures], args: &Args) {
    println!(
        "latency-bench: {} orders an hour for {} h, then {} h more; rounds every {} s of simulated time; SP-API \
         rates x{}",
        args.run.orders_per_hour, args.run.hours, args.run.after, args.run.step, args.run.rate_scale
    );
    for f in all {
        println!(
            "\n== {} ({} orders placed in the window; {:.0} s wall) ==",
            f.mode.name(),
            f.orders,
            f.wall.as_secs_f64()
        );
        let l = &f.latencies;
        println!(
            "Orders API shows a change -> stored:        {}",
            l.shown_to_stored
        );
        println!(
            "Orders API shows the recipient -> stored:  {}",
            l.recipient_shown_to_stored
        );
        println!(
            "placed -> stored with recipient:           {}",
            l.placed_to_recipient_stored
        );
        println!(
            "placed -> first stored:                    {}",
            l.placed_to_stored
        );
    }
    println!("\nper 1,000 orders        {}", header(all));
    let row = |name: &str, value: &dyn Fn(&Figures) -> f64| {
        let cells: Vec<String> = all.iter().map(|f| format!("{:>16.1}", value(f))).collect();
        println!("{name:<24}{}", cells.join(""));
    };
    let mut operations: Vec<&str> = all.iter().flat_map(|f| f.sp_api.keys().copied()).collect();
    operations.sort_unstable();
    operations.dedup();
    for operation in &operations {
        row(&format!("SP-API {operation}"), &|f| {
            f.per_thousand(f.sp_api.get(operation).map_or(0, |s| s.calls) as f64)
        });
    }
    row("SP-API 429s", &|f| f.per_thousand(f.throttled() as f64));
    row("DynamoDB requests", &|f| {
        f.per_thousand(f.requests.of_service("dynamodb", &[]) as f64)
    });
    row("DynamoDB read units", &|f| f.per_thousand(f.requests.read_units));
    row("DynamoDB write units", &|f| {
        f.per_thousand(f.requests.write_units)
    });
    row("SQS requests", &|f| f.per_thousand(f.sqs_requests() as f64));
    row("EventBridge events", &|f| f.per_thousand(f.events() as f64));
    row("S3 requests", &|f| {
        f.per_thousand(f.requests.of_service("s3", &[]) as f64)
    });
    row("Secrets Manager requests", &|f| {
        f.per_thousand(f.requests.of_service("secretsmanager", &[]) as f64)
    });
    row("Lambda invocations", &|f| {
        f.per_thousand(f.lambda_invocations() as f64)
    });
    let mut functions: Vec<&str> = all.iter().flat_map(|f| f.invocations.keys().copied()).collect();
    functions.sort_unstable();
    functions.dedup();
    for function in &functions {
        row(&format!("  {function}"), &|f| {
            f.per_thousand(f.invocations.get(function).copied().unwrap_or(0) as f64)
        });
    }
    row("Lambda s waiting tokens", &|f| {
        f.per_thousand(f.waited.as_secs_f64())
    });
    println!(
        "\ncost per 1,000 orders ($, AWS list prices us-east-1, 2026-12-06){}",
        header(all)
    );
    let names: Vec<&str> = all
        .first()
        .map(|f| costs(f).into_iter().map(|(n, _)| n).collect())
        .unwrap_or_default();
    for (i, name) in names.iter().enumerate() {
        let cells: Vec<String> = all.iter().map(|f| format!("{:>16.5}", costs(f)[i].1)).collect();
        println!("{name:<32}{}", cells.join(""));
    }
    let totals: Vec<String> = all
        .iter()
        .map(|f| format!("{:>16.5}", costs(f).iter().map(|(_, c)| c).sum::<f64>()))
        .collect();
    println!("{:<32}{}", "total", totals.join(""));
}

fn header(all: &[Figures]) -> String {
    all.iter()
        .map(|f| format!("{:>16}", f.mode.name()))
        .collect::<Vec<_>>()
        .join("")
}

/// The targets: `(line, met)`.
fn checks(all: &[Figures]) -> Vec<(String, bool)> {
    let within = |d: &tests::latency::Distribution, q: f64, limit: TimeDelta| matches!(d.quantile(q), Some(Some(latency)) if latency <= limit);
    let mut checks = Vec::new();
    for f in all {
        checks.push((
            format!("{}: 429s from Amazon {} (target 0)", f.mode.name(), f.throttled()),
            f.throttled() == 0,
        ));
        if f.mode == Mode::Notifications {
            let l = &f.latencies;
            for (what, d) in [
                ("changes", &l.shown_to_stored),
                ("recipients", &l.recipient_shown_to_stored),
            ] {
                checks.push((
                    format!(
                        "{}: {what} stored p50 <= 60 s after the Orders API shows them",
                        f.mode.name()
                    ),
                    within(d, 0.5, TimeDelta::seconds(60)),
                ));
                checks.push((
                    format!(
                        "{}: {what} stored p99 <= 3 min after the Orders API shows them",
                        f.mode.name()
                    ),
                    within(d, 0.99, TimeDelta::minutes(3)),
                ));
            }
        }
    }
    checks
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let mut all = Vec::new();
    for mode in &args.modes {
        all.push(latency::run(*mode, &args.run).await?);
    }
    print(&all, &args);
    println!();
    let mut missed = false;
    for (line, met) in checks(&all) {
        println!("{line}: {}", if met { "ok" } else { "MISSED" });
        missed |= !met;
    }
    if missed {
        bail!("a target was missed");
    }
    Ok(())
}
