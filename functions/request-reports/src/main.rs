//! The report requester's entry point: each account's EventBridge Scheduler schedule invokes it with
//! `{"accountId": ..}`; it requests the account's order reports and records their jobs.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::app::request_reports::Tick;
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let import = shared::runtime::import(&config, &shared::runtime::sdk_config().await).await?;
    let import = &import;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Tick>| async move {
        import.tick(&event.payload).await.map_err(Error::from)
    }))
    .await
}
