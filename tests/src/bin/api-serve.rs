//! Serves sellersync's HTTP API on a loopback port over the local stack and an in-process SP-API sandbox, for
//! `tests/api-fuzz.sh` (and a person with curl) when no local runner is up.
//!
//! `cargo run -p tests --bin api-serve -- [PORT]` with the local stack's environment sourced; prints the URL,
//! then serves until interrupted. Every run provisions its own tables, queues and schedule group.

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{TimeDelta, Utc};
use shared::adapters::dynamo::{DynamoOrderStore, DynamoRateLimiter, DynamoStateStore};
use shared::adapters::scheduler::{EventBridgeSchedules, ScheduleTarget};
use shared::adapters::secrets::SecretsManagerStore;
use shared::amazon::{AmazonClient, Endpoints, LwaCredentials};
use shared::api::{ApiParts, ApiState};
use shared::app::accounts::AccountNaming;
use shared::clock::{Clock, SystemClock};
use tests::sandbox::{CLIENT_ID, CLIENT_SECRET, Sandbox, SandboxOptions, SellerSpec};
use tests::stack::{LOCAL_ACCOUNT, LocalStack, Template, unique_prefix};

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let port: u16 = match std::env::args().nth(1) {
        Some(text) => text.parse().context("the port must be a number")?,
        None => 0,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sandbox = Sandbox::start(SandboxOptions::with_clock(clock.clone())).await?;
    let now = Utc::now();
    let seller = sandbox.add_seller(SellerSpec::new(1, now - TimeDelta::days(7), now).with_orders(50))?;

    let stack = LocalStack::from_env().await?;
    let prefix = unique_prefix("serve");
    let resources = stack.provision(&Template::load()?, &prefix).await?;
    let state_table = resources.get("StateTable")?;
    let state = Arc::new(DynamoStateStore::new(stack.dynamodb.clone(), state_table));
    let amazon = AmazonClient::new(
        AmazonClient::http_client()?,
        Endpoints::single(sandbox.base_url(), &sandbox.lwa_url()),
        LwaCredentials::new(CLIENT_ID, CLIENT_SECRET),
        clock.clone(),
        Arc::new(DynamoRateLimiter::new(
            stack.dynamodb.clone(),
            state_table,
            clock.clone(),
        )),
        shared::runtime::API_RETRY,
    );
    let api = ApiState::new(ApiParts {
        accounts: state.clone(),
        jobs: state.clone(),
        orders: Arc::new(DynamoOrderStore::new(
            stack.dynamodb.clone(),
            resources.get("OrdersTable")?,
        )),
        secrets: Arc::new(SecretsManagerStore::new(stack.secrets.clone(), None)),
        schedules: Arc::new(EventBridgeSchedules::new(
            stack.scheduler.clone(),
            ScheduleTarget {
                group: resources.get("AccountScheduleGroup")?.to_owned(),
                function_arn: format!(
                    "arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT}:function:{prefix}-request-reports"
                ),
                role_arn: format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/{prefix}-scheduler"),
                dead_letter_arn: resources.arns["ScheduleDeadLetterQueue"].clone(),
            },
        )),
        idempotency: state,
        amazon,
        clock,
        naming: AccountNaming {
            secret_prefix: format!("{prefix}/accounts/"),
        },
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("http://{}", listener.local_addr()?);
    println!(
        "sandbox seller {} refresh token {}",
        seller.seller_id, seller.refresh_token
    );
    axum::serve(listener, shared::api::router(api))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    sandbox.shutdown().await;
    Ok(())
}
