//! The feed poller's entry point: a one-minute schedule invokes it; it polls every submitted feed that is due.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let feeds = shared::runtime::feeds(&config, &shared::runtime::sdk_config().await).await?;
    let feeds = &feeds;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        feeds.poll_feeds().await.map_err(Error::from)
    }))
    .await
}
