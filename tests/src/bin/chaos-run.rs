//! `chaos-run`: sellersync's import under seeded chaos on this machine (see `tests::runner::chaos`). For each
//! seed, a sandbox seller is imported by the local runner while batches crash, time out, arrive twice or out of
//! order, DynamoDB throttles and Amazon fails; then the chaos stops, the system settles, and the stored orders are
//! compared with Amazon's truth. Prints the faults injected and the result per seed.
//!
//! ```text
//! chaos-run [--orders N] [--no-truncation] [SEED | FIRST..=LAST]...     (default: seeds 1..=20, 60 orders)
//! ```
//!
//! Exits 1 when any seed's stored orders differ from Amazon's.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use tests::runner::chaos::{ChaosSettings, run_seed};

const USAGE: &str = "usage: chaos-run [--orders N] [--no-truncation] [SEED | FIRST..=LAST]...";

fn parse_args(args: impl Iterator<Item = String>) -> Result<(usize, ChaosSettings, Vec<u64>)> {
    let (mut orders, mut settings, mut seeds) = (60, ChaosSettings::default(), Vec::new());
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => bail!("{USAGE}"),
            "--no-truncation" => settings.truncated_documents = false,
            "--orders" => {
                let value = args.next().context("--orders needs a value")?;
                orders = value.parse().context("--orders: expected a count")?;
            }
            range if range.contains("..=") => {
                let (first, last) = range.split_once("..=").context(USAGE)?;
                let (first, last): (u64, u64) = (first.parse()?, last.parse()?);
                seeds.extend(first..=last);
            }
            seed => seeds.push(
                seed.parse()
                    .with_context(|| format!("{seed}: not a seed\n{USAGE}"))?,
            ),
        }
    }
    if seeds.is_empty() {
        seeds.extend(1..=20);
    }
    Ok((orders, settings, seeds))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let (orders, settings, seeds) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("chaos-run: {err:#}");
            return ExitCode::from(2);
        }
    };
    println!(
        "chaos-run: {} seeds, {orders} orders each, {settings:?}",
        seeds.len()
    );
    let mut different = Vec::new();
    for seed in seeds {
        match run_seed(seed, orders, settings).await {
            Ok(run) => {
                println!("{run}");
                if !run.held() {
                    different.push(seed);
                }
            }
            Err(err) => {
                println!("seed {seed}: the run failed: {err:#}");
                different.push(seed);
            }
        }
    }
    if different.is_empty() {
        println!(
            "chaos-run: every seed ended with Amazon's orders and every queued action delivered once or reported"
        );
        ExitCode::SUCCESS
    } else {
        println!("chaos-run: seeds that did not: {different:?}");
        ExitCode::FAILURE
    }
}
