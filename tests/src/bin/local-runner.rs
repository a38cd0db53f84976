//! `local-runner`: sellersync end to end on this machine. Starts the SP-API sandbox, creates the template's
//! tables and queues in the local stack (whose endpoints `tests/run-local.sh` exports), connects a generated
//! sandbox seller, runs the import functions around their real handlers on a fast clock until every order has
//! settled, and prints what happened, checked against the sandbox's truth.
//!
//! ```text
//! local-runner [--orders N] [--seed S] [--clock-scale X] [--marketplaces ID,ID,..]
//! ```
//!
//! Exits 1 when the stored orders differ from Amazon's.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use shared::domain::{Marketplace, Region};
use tests::runner::scenario::{Scenario, ScenarioSettings};
use tests::stack::LocalStack;

const USAGE: &str = "usage: local-runner [--orders N] [--seed S] [--clock-scale X] [--marketplaces ID,ID,..]";

fn parse_args(args: impl Iterator<Item = String>) -> Result<ScenarioSettings> {
    let mut settings = ScenarioSettings::default();
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            bail!("{USAGE}");
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--orders" => settings.orders = value.parse().context("--orders: expected a count")?,
            "--seed" => settings.seed = value.parse().context("--seed: expected an unsigned integer")?,
            "--clock-scale" => {
                settings.clock_scale = value.parse().context("--clock-scale: expected a number")?;
                if !(1.0..=100_000.0).contains(&settings.clock_scale) {
                    bail!("--clock-scale: expected 1 to 100000, got {value}");
                }
            }
            "--marketplaces" => {
                settings.marketplaces = value.split(',').map(|id| id.trim().to_owned()).collect();
                let first = Marketplace::parse_id("--marketplaces", &settings.marketplaces[0])?;
                settings.region = first.region;
            }
            _ => bail!("unknown option {flag}\n{USAGE}"),
        }
    }
    Ok(settings)
}

async fn run(settings: ScenarioSettings) -> Result<bool> {
    let stack = LocalStack::from_env().await?;
    let region: Region = settings.region;
    eprintln!(
        "local-runner: importing a sandbox seller with {} orders in {} ({region:?}), clock x{}",
        settings.orders,
        settings.marketplaces.join(","),
        settings.clock_scale
    );
    let mut scenario = Scenario::start(stack, settings).await?;
    scenario.run_to_the_end().await?;
    let report = scenario.report().await?;
    println!("{report}");
    let exact = report.comparison.is_exact();
    scenario.sandbox.shutdown().await;
    Ok(exact)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let settings = match parse_args(std::env::args().skip(1)) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err:#}");
            return ExitCode::from(2);
        }
    };
    match run(settings).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("local-runner: the stored orders differ from Amazon's (see above)");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("local-runner: {err:#}");
            ExitCode::FAILURE
        }
    }
}
