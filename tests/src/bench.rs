//! What the benches share: a seller account connected to the in-process sandbox the way the functions keep it
//! (the account in the state table, its refresh token in Secrets Manager, the SP-API rate limiter in its table,
//! on the local stack), with an Amazon client on the benches' manual clock.

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use shared::adapters::dynamo::{DynamoRateLimiter, DynamoStateStore};
use shared::adapters::secrets::SecretsManagerStore;
use shared::amazon::{AmazonClient, Endpoints, LwaCredentials, RetryPolicy};
use shared::app::accounts::AccountNaming;
use shared::clock::ManualClock;
use shared::domain::{ImportInterval, ImportOptions, Region, SellerAccount};
use shared::metrics::Metrics;
use shared::ports::{AccountStore, SecretStore};

use crate::sandbox::{CLIENT_ID, CLIENT_SECRET, Sandbox, SandboxOptions, SellerCredentials};
use crate::stack::{LocalStack, Resources, Template, unique_prefix};

/// The benches' start: a manual clock at Monday 2026-03-09 12:00 UTC and the sandbox on it.
pub async fn sandbox() -> Result<(DateTime<Utc>, Arc<ManualClock>, Sandbox)> {
    let epoch = Utc
        .with_ymd_and_hms(2026, 3, 9, 12, 0, 0)
        .single()
        .context("epoch")?;
    let clock = Arc::new(ManualClock::new(epoch));
    let sandbox = Sandbox::start(SandboxOptions::with_clock(clock.clone())).await?;
    Ok((epoch, clock, sandbox))
}

/// A duration in minutes, to a tenth.
pub fn minutes(delta: TimeDelta) -> String {
    format!("{:.1} min", delta.num_milliseconds() as f64 / 60_000.0)
}

/// A bench's seller account and what reaches it.
#[derive(Debug)]
pub struct BenchAccount {
    /// The local stack.
    pub stack: LocalStack,
    /// The template's resources, created for this bench.
    pub resources: Resources,
    /// Accounts, jobs, rate buckets and the outbox's table.
    pub state: Arc<DynamoStateStore>,
    /// Refresh tokens.
    pub secrets: Arc<SecretsManagerStore>,
    /// Where the account's refresh token is.
    pub naming: AccountNaming,
    /// The account (id `bench`, never imported on a schedule).
    pub account: SellerAccount,
    /// Amazon, that is the sandbox, with the production rate limiter.
    pub amazon: AmazonClient,
}

/// Connects `seller` of `sandbox` in `marketplaces` (NA region) as account `bench`, on the local stack the
/// environment names, with resources prefixed by `name`.
pub async fn connect(
    name: &str,
    sandbox: &Sandbox,
    seller: &SellerCredentials,
    marketplaces: &[String],
    clock: Arc<ManualClock>,
) -> Result<BenchAccount> {
    let stack = LocalStack::from_env()
        .await
        .context("the local stack (tests/local-stack.sh start; source its env)")?;
    let prefix = unique_prefix(name);
    let resources = stack.provision(&Template::load()?, &prefix).await?;
    let table = resources.get("StateTable").context("state table")?.to_owned();
    let state = Arc::new(DynamoStateStore::new(stack.dynamodb.clone(), &table));
    let secrets = Arc::new(SecretsManagerStore::new(stack.secrets.clone(), None));
    let naming = AccountNaming {
        secret_prefix: format!("{prefix}/accounts/"),
        lwa_secret: format!("{prefix}/lwa-app"),
    };
    let now: DateTime<Utc> = shared::clock::Clock::now(clock.as_ref());
    let account = SellerAccount {
        id: "bench".into(),
        seller_id: seller.seller_id.clone(),
        region: Region::Na,
        marketplaces: marketplaces.to_vec(),
        import_interval: ImportInterval::Never,
        options: ImportOptions::default(),
        created_at: now,
        ship_from: None,
    };
    state.create_account(&account).await?;
    secrets
        .put(&naming.secret_name(&account.id), &seller.refresh_token)
        .await?;
    let amazon = AmazonClient::new(
        AmazonClient::http_client()?,
        Endpoints::single(sandbox.base_url(), &sandbox.lwa_url()),
        LwaCredentials::new(CLIENT_ID, CLIENT_SECRET),
        clock.clone(),
        Arc::new(DynamoRateLimiter::new(stack.dynamodb.clone(), &table, clock)),
        RetryPolicy::default(),
        Metrics::recording(name),
    );
    Ok(BenchAccount {
        stack,
        resources,
        state,
        secrets,
        naming,
        account,
        amazon,
    })
}
