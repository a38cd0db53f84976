//! The `Idempotency-Key` header of POSTs, and of `PUT /accounts/{accountId}/inventory` (which queues feed
//! messages): a repeat of a request gets the first response again
//! (`Idempotent-Replayed: true`), the same key on a different request gets 422, and a key whose first request
//! is still running gets 409. Responses worth retrying (429, 5xx) free the key instead of being kept.
//!
//! Keys are per account (the `{accountId}` of the path), so two sellers' clients that count keys alike never
//! meet; a request is its method, path, media type and body.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiState;
use super::error::ApiError;
use super::extract::media_type;
use crate::app::idempotency::{Begin, Idempotency};
use crate::ports::StoredResponse;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The response header saying the response is a replay.
pub const REPLAYED: &str = "idempotent-replayed";
/// Largest body read for a fingerprint or kept for a replay.
const MAX_BODY: usize = 1024 * 1024;

/// Whether the route `method` `path` takes an `Idempotency-Key`: every POST but a connect link's, and the
/// inventory PUT. A connect link's answer holds its secret id, which is never stored: a repeated request makes
/// another link, and the unused one expires.
pub(crate) fn keyed(method: &Method, path: &str) -> bool {
    (*method == Method::POST && path != "/connect-links")
        || (*method == Method::PUT && path.ends_with("/inventory"))
}

/// The middleware of the [`keyed`] routes: passes requests without a key straight through.
pub(crate) async fn idempotent(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let Some(key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match key
        .to_str()
        .map_err(|_| ())
        .and_then(|k| Idempotency::check_key(k).map_err(|_| ()))
    {
        Ok(()) => key.to_str().unwrap_or_default().to_owned(),
        Err(()) => {
            return ApiError::invalid(
                "Idempotency-Key",
                "expected 1 to 255 visible ASCII characters, e.g. a UUID",
            )
            .into_response();
        }
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {MAX_BODY} bytes"),
        )
        .into_response();
    };
    let media_type = media_type(&parts.headers).unwrap_or_default();
    let fingerprint = Idempotency::fingerprint(parts.method.as_str(), parts.uri.path(), &media_type, &body);
    let account = parts
        .uri
        .path()
        .strip_prefix("/accounts/")
        .and_then(|rest| rest.split('/').next());
    let key = Idempotency::scoped(account, &key);
    let idempotency = &state.idempotency;
    match idempotency.begin(&key, &fingerprint).await {
        Err(err) => ApiError::from(err).into_response(),
        Ok(Begin::Replay(stored)) => replay(stored),
        Ok(Begin::KeyReused) => ApiError {
            field: Some("Idempotency-Key".to_owned()),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            )
        }
        .into_response(),
        Ok(Begin::InProgress) => ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is still being handled; try again shortly",
            )
        }
        .into_response(),
        Ok(Begin::Proceed) => {
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            settle(idempotency, &key, &fingerprint, response).await
        }
    }
}

/// Keeps the response under the key, or frees the key when the response invites a retry.
async fn settle(idempotency: &Idempotency, key: &str, fingerprint: &str, response: Response) -> Response {
    let status = response.status();
    let (mut parts, body) = response.into_parts();
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "cannot read a response to keep it");
            if let Err(err) = idempotency.abandon(key).await {
                tracing::error!(error = %err, "cannot free an idempotency key");
            }
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal failure")
                .into_response();
        }
    };
    let retry_worthy = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
    let outcome = if retry_worthy {
        idempotency.abandon(key).await
    } else {
        let stored = StoredResponse {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body).into_owned(),
            location: parts
                .headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        };
        idempotency.finish(key, fingerprint, &stored).await
    };
    if let Err(err) = outcome {
        // The request was handled; only its replay is lost, and a retry answers 409 until the claim expires.
        tracing::error!(error = %err, "cannot record an idempotent response");
    }
    parts.headers.insert(REPLAYED, HeaderValue::from_static("false"));
    Response::from_parts(parts, Body::from(body))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let json = !stored.body.is_empty();
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    if json {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    if let Some(location) = stored.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}
