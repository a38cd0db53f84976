//! The HTTP API's entry point: API Gateway (HTTP API, IAM authorization) invokes it with each request; the
//! router of `shared::api` answers it, the same router the local runner serves on a loopback port.

use lambda_http::Error;
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let state = shared::runtime::api(&config, &shared::runtime::sdk_config().await).await?;
    lambda_http::run(shared::api::router(state)).await
}
