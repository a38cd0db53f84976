//! The application credentials' entry point: the application notification queue (Amazon's new client secret,
//! or notice that the secret expires) and a daily schedule invoke it; an operator can invoke it with
//! `{"action": "rotate"}` to rotate now. Logic in `shared::app::credentials`.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::app::credentials::CredentialsEvent;
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let (credentials, dead_letters) =
        shared::runtime::credentials(&config, &shared::runtime::sdk_config().await).await?;
    let (credentials, dead_letters) = (&credentials, dead_letters.as_ref());
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<CredentialsEvent>| async move {
            credentials
                .handle_event(event.payload, dead_letters)
                .await
                .map_err(Error::from)
        },
    ))
    .await
}
