//! The feed submitter's entry point: the FIFO feed queue (batches of nudges) and a one-minute flush schedule
//! invoke it; either way it submits every due group of queued seller actions as feeds.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::app::feeds::SubmitterEvent;
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let feeds = shared::runtime::feeds(&config, &shared::runtime::sdk_config().await).await?;
    let feeds = &feeds;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SubmitterEvent>| async move {
        feeds.handle_event(event.payload).await.map_err(Error::from)
    }))
    .await
}
