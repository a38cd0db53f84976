//! The HTTP API's entry point: API Gateway (HTTP API, IAM authorization) invokes it with each request; the
//! router of `shared::api` answers it, the same router the local runner serves on a loopback port.

use lambda_http::Error;
use shared::config::Config;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let state = shared::runtime::api(&config, &shared::runtime::sdk_config().await).await?;
    let router = shared::api::router(state).layer(axum::middleware::map_request(caller_from_context));
    lambda_http::run(router).await
}

/// Puts the IAM caller of API Gateway's request context into the request as [`shared::api::Caller`], for the
/// access log of buyer PII reads.
async fn caller_from_context(mut request: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::request::RequestContext;
    let caller = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.iam.as_ref())
            .and_then(|iam| iam.user_arn.clone()),
        _ => None,
    };
    if let Some(caller) = caller {
        request.extensions_mut().insert(shared::api::Caller(caller));
    }
    request
}
