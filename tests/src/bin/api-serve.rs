//! Serves sellersync's HTTP API from the local runner on a loopback port, over the local stack and an
//! in-process SP-API sandbox with one generated seller, while the runner's schedules and queues run around it:
//! the target of `tests/api-fuzz.sh` (and of a person with curl).
//!
//! `cargo run -p tests --bin api-serve -- [PORT]` with the local stack's environment sourced; prints the URL,
//! then serves until interrupted. Every run provisions its own tables, queues and schedule group.

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{TimeDelta, Utc};
use tests::runner::local::{LocalRunner, RunnerSettings};
use tests::sandbox::{CLIENT_ID, CLIENT_SECRET, Sandbox, SandboxOptions, SellerSpec};
use tests::stack::{LocalStack, unique_prefix};

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let port: u16 = match std::env::args().nth(1) {
        Some(text) => text.parse().context("the port must be a number")?,
        None => 0,
    };
    let origin = Utc::now();
    let sandbox = Sandbox::start(SandboxOptions::default()).await?;
    let seller =
        sandbox.add_seller(SellerSpec::new(1, origin - TimeDelta::days(7), origin).with_orders(50))?;
    let mut runner = LocalRunner::start(
        LocalStack::from_env().await?,
        &RunnerSettings {
            prefix: unique_prefix("serve"),
            spapi_url: sandbox.base_url().to_owned(),
            lwa_url: sandbox.lwa_url(),
            lwa_client: (CLIENT_ID.to_owned(), CLIENT_SECRET.to_owned()),
            clock_origin: origin,
            clock_scale: 1.0,
            redelivery: Duration::from_secs(5),
            notifications: true,
            stepped_clock: None,
        },
    )
    .await?;
    let (url, server) = runner.serve_api(port).await?;
    // Connect links' callback, as the application's OAuth Redirect URI at the sandbox's Seller Central.
    sandbox.set_redirect_uris(&[&format!("{url}/connect/callback")]);
    println!("{url}");
    println!(
        "sandbox seller {} in {} (refresh token: ask the sandbox at {}/_sandbox/sellers)",
        seller.seller_id,
        seller.marketplace_ids.join(","),
        sandbox.base_url()
    );
    let run = async {
        loop {
            if let Err(error) = runner.step().await {
                tracing::warn!("the runner's round failed: {error:#}");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    tokio::select! {
        () = run => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    server.abort();
    sandbox.shutdown().await;
    Ok(())
}
