//! Adapters: the ports implemented over AWS (DynamoDB, S3, Scheduler, Secrets Manager, SQS). The only modules that import `aws_sdk_*`.

pub mod dynamo;
pub mod eventbridge;
pub mod s3;
pub mod scheduler;
pub mod secrets;
pub mod sqs;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::error::StoreError;

/// Error codes with which AWS services refuse the request itself (DynamoDB's `ValidationException` for an
/// item over 400 KB, an SQS message over 256 KB, ...): sending it again fails the same way.
const REFUSALS: &[&str] = &[
    "ValidationException",
    "SerializationException",
    "ItemCollectionSizeLimitExceededException",
    "InvalidParameterException",
    "InvalidParameterValue",
    "InvalidMessageContents",
    "MessageTooLong",
    "EntityTooLarge",
];

/// Turns an SDK failure into a `StoreError`: a request the service refuses as such is
/// [`StoreError::Rejected`], anything else (throttling, a service or network failure) is worth retrying. The
/// message is the service's code and text, which never hold item values.
pub(crate) fn unavailable<E: ProvideErrorMetadata + std::fmt::Debug, R>(
    operation: &'static str,
    err: SdkError<E, R>,
) -> StoreError {
    let message = match err.code() {
        Some(code) => format!("{code}: {}", err.message().unwrap_or("no message")),
        None => sdk_failure_kind(&err).to_owned(),
    };
    let refused =
        matches!(err, SdkError::ConstructionFailure(_)) || err.code().is_some_and(|c| REFUSALS.contains(&c));
    if refused {
        StoreError::Rejected { operation, message }
    } else {
        StoreError::Unavailable { operation, message }
    }
}

fn sdk_failure_kind<E, R>(err: &SdkError<E, R>) -> &'static str {
    match err {
        SdkError::ConstructionFailure(_) => "request could not be built",
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "could not reach DynamoDB",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ServiceError(_) => "service error",
        _ => "unknown failure",
    }
}
