//! The API's errors: one JSON shape, `{"error": {"code", "message", "field"}}`, with the status that fits.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::accounts::AccountError;
use crate::app::connect::CreateLinkError;
use crate::app::feeds::ActionError;
use crate::app::reports::ReportError;
use crate::domain::ProblemKind;
use crate::error::{AmazonError, DomainError, StoreError};

/// An error answer. Messages never hold a token, a secret or buyer data: domain errors hide credentials,
/// and storage and Amazon errors carry only codes and Amazon's own text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `invalid_request`.
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// The request field at fault (`marketplaceIds[1]`, `Idempotency-Key`), for a 400 or 422.
    pub field: Option<String>,
    /// Seconds to wait before trying again, for a 429 or 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error without a field.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// A 400 naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
        }
    }

    /// A 404 for what was looked for (`account A2X-na`).
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no {what}"))
    }

    fn from_store(err: &StoreError) -> ApiError {
        match err {
            // What the request carried is more than the store takes (an item over its size limit): the same
            // request fails the same way, so it is the caller's to change, not to retry.
            StoreError::Rejected { message, .. } => {
                tracing::warn!(error = %err, "storage refused a request");
                ApiError {
                    field: Some("body".to_owned()),
                    ..ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        format!("the request cannot be stored: {message}"),
                    )
                }
            }
            _ if err.is_retryable() => {
                tracing::error!(error = %err, "storage unavailable");
                ApiError {
                    retry_after: Some(1),
                    ..ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "storage is unavailable; try again",
                    )
                }
            }
            _ => {
                tracing::error!(error = %err, "storage failure");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal failure")
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = &self.field {
            error["field"] = json!(field);
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        let message = err.to_string();
        ApiError::invalid(err.field, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::from_store(&err)
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Invalid(err) => err.into(),
            AccountError::NotFound(what) => ApiError::not_found(&what),
            AccountError::Exists(id) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("account {id} exists already; change it with PUT /accounts/{id}"),
            ),
            AccountError::Store(err) => err.into(),
        }
    }
}

impl From<CreateLinkError> for ApiError {
    fn from(err: CreateLinkError) -> Self {
        match err {
            CreateLinkError::Invalid(err) => err.into(),
            CreateLinkError::NotSetUp => ApiError::new(StatusCode::CONFLICT, "not_set_up", err.to_string()),
            CreateLinkError::Store(err) => err.into(),
        }
    }
}

impl From<ActionError> for ApiError {
    fn from(err: ActionError) -> Self {
        match err {
            ActionError::Invalid(err) => err.into(),
            ActionError::NotFound(what) => ApiError::not_found(&what),
            ActionError::Conflict { field, message } => ApiError {
                field: Some(field),
                ..ApiError::new(StatusCode::CONFLICT, "conflict", message)
            },
            ActionError::Store(err) => err.into(),
        }
    }
}

impl From<AmazonError> for ApiError {
    fn from(err: AmazonError) -> Self {
        if let AmazonError::QuotaInUse { retry_after, .. } = &err {
            return ApiError {
                retry_after: Some(retry_after.as_secs_f64().ceil().max(1.0) as u64),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "quota_exhausted", err.to_string())
            };
        }
        tracing::warn!(error = %err, "Amazon refused an API request's call");
        if let Some(
            kind @ (ProblemKind::RefreshTokenRevoked | ProblemKind::AccessDenied | ProblemKind::Ineligible),
        ) = err.problem()
        {
            // The account's state, not a failure of ours or Amazon's: the seller must act first.
            return ApiError::new(
                StatusCode::CONFLICT,
                "account_not_authorized",
                format!("Amazon: {err}. {}", kind.advice()),
            );
        }
        let status = if err.is_retryable() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::BAD_GATEWAY
        };
        ApiError::new(status, "amazon_error", format!("Amazon: {err}"))
    }
}

impl From<ReportError> for ApiError {
    fn from(err: ReportError) -> Self {
        match err {
            ReportError::Invalid(err) => err.into(),
            ReportError::NotFound(what) => ApiError::not_found(&what),
            ReportError::MissingToken(_) => {
                ApiError::new(StatusCode::CONFLICT, "missing_refresh_token", err.to_string())
            }
            ReportError::Amazon(err) => err.into(),
            ReportError::Store(err) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_refusal_is_the_callers_to_fix_and_an_outage_is_worth_retrying() {
        let refused = ApiError::from(StoreError::Rejected {
            operation: "PutItem",
            message: "ValidationException: Item size has exceeded the maximum allowed size".into(),
        });
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.message.contains("maximum allowed size"), "{refused}");
        assert_eq!(refused.retry_after, None);
        let down = ApiError::from(StoreError::Unavailable {
            operation: "PutItem",
            message: "timed out".into(),
        });
        assert_eq!(
            (down.status, down.retry_after),
            (StatusCode::SERVICE_UNAVAILABLE, Some(1))
        );
    }
}
