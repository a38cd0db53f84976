//! The event publisher's entry point: the orders and state tables' stream mappings invoke it with a batch of
//! changes and get back the first one not published (`ReportBatchItemFailures`), from which the batch is retried.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = shared::config::Config::from_env()?;
    let bus = shared::config::Config::require(&config.event_bus_name, "EVENT_BUS_NAME")?.to_owned();
    let sdk = shared::runtime::sdk_config().await;
    let publisher = shared::runtime::event_publisher(&sdk, bus);
    let publisher = &publisher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        Ok::<DynamoDbEventResponse, Error>(
            shared::app::publish_events::handle_stream_event(event.payload, publisher).await,
        )
    }))
    .await
}
