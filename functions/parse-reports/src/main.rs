//! The report parser's entry point: the parse queue's event source invokes it with a batch of documents to
//! import and gets back the ones that failed (`ReportBatchItemFailures`).

// The handler's future nests the whole import (download, parse, conditional writes, then completing orders
// with getOrder); its layout is deeper than the compiler's default query limit of 128 in a clean build.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let sdk = shared::runtime::sdk_config().await;
    let import = shared::runtime::import(&config, &sdk).await?;
    let dead_letters = shared::runtime::parse_dead_letters(&config, &sdk);
    let (import, dead_letters) = (&import, dead_letters.as_ref());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(import.parse_batch(event.payload, dead_letters).await)
    }))
    .await
}
