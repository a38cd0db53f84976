//! Adapters: the ports implemented over AWS (DynamoDB, S3, Scheduler, Secrets Manager, SQS). The only modules that import `aws_sdk_*`.

pub mod dynamo;
pub mod s3;
pub mod scheduler;
pub mod secrets;
pub mod sqs;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::error::StoreError;

/// Turns an SDK failure into a `StoreError`; the message is the service's code and text, which never hold
/// item values.
pub(crate) fn unavailable<E: ProvideErrorMetadata + std::fmt::Debug, R>(
    operation: &'static str,
    err: SdkError<E, R>,
) -> StoreError {
    let message = match err.code() {
        Some(code) => format!("{code}: {}", err.message().unwrap_or("no message")),
        None => sdk_failure_kind(&err).to_owned(),
    };
    StoreError::Unavailable { operation, message }
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
