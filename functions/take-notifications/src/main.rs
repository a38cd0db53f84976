//! The sellers' notifications' entry point: the notification queue invokes it with batches of Amazon's
//! `ORDER_CHANGE`, `REPORT_PROCESSING_FINISHED` and `FEED_PROCESSING_FINISHED`. Logic in
//! `shared::app::notifications`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let (handler, dead_letters) =
        shared::runtime::notifications(&config, &shared::runtime::sdk_config().await).await?;
    let (handler, dead_letters) = (&handler, dead_letters.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(handler.take_batch(event.payload, dead_letters).await)
    }))
    .await
}
