//! SQS batches: one span per message, failed messages reported back for redelivery (`ReportBatchItemFailures`).

use std::fmt::Display;
use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

/// Runs `handle` on every message of `event`, one at a time, and reports the ids of those that failed so that
/// only they come back (and, after the queue's `maxReceiveCount`, go to its dead-letter queue with their body).
///
/// The function must be deployed with `FunctionResponseTypes: [ReportBatchItemFailures]`, or SQS ignores the
/// response and retries (or deletes) the whole batch.
pub async fn each_message<F, Fut, E>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let receive_count = message
            .attributes
            .get("ApproximateReceiveCount")
            .cloned()
            .unwrap_or_default();
        let span = tracing::info_span!("message", message_id = %id, receive_count = %receive_count);
        if let Err(err) = handle(message).instrument(span).await {
            tracing::error!(message_id = %id, error = %err, "message failed; it will be redelivered");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_failed_messages_are_reported_back() {
        let event: SqsEvent = serde_json::from_value(serde_json::json!({
            "Records": [
                {"messageId": "good", "body": "1"},
                {"messageId": "bad", "body": "x"},
                {"messageId": "good-too", "body": "2"}
            ]
        }))
        .unwrap();
        let response = each_message(event, |message| async move {
            message
                .body
                .unwrap_or_default()
                .parse::<u32>()
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["bad"]);
    }
}
