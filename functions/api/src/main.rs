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

/// Puts what API Gateway's request context says into the request: the IAM caller as [`shared::api::Caller`],
/// for the access log of buyer PII reads, and the API's domain as [`shared::api::PublicUrl`], for connect links
/// and their callback.
async fn caller_from_context(mut request: axum::extract::Request) -> axum::extract::Request {
    use lambda_http::request::RequestContext;
    let (caller, domain) = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(context)) => (
            context
                .authorizer
                .as_ref()
                .and_then(|authorizer| authorizer.iam.as_ref())
                .and_then(|iam| iam.user_arn.clone()),
            context.domain_name.clone(),
        ),
        _ => (None, None),
    };
    if let Some(caller) = caller {
        request.extensions_mut().insert(shared::api::Caller(caller));
    }
    if let Some(domain) = domain {
        let url = shared::api::PublicUrl(format!("https://{domain}"));
        request.extensions_mut().insert(url);
    }
    request
}
