//! The report poller's entry point: a one-minute schedule invokes it; it polls every due report job.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let import = shared::runtime::import(&config, &shared::runtime::sdk_config().await).await?;
    let import = &import;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        import.poll_reports().await.map_err(Error::from)
    }))
    .await
}
