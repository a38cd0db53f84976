//! SQS batches: one span per message, failed messages reported back for redelivery (`ReportBatchItemFailures`),
//! and messages that cannot succeed dead-lettered with the reason attached.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

use crate::ports::{MessageQueue, OutgoingMessage};

/// An error a message handler returns: it knows whether another delivery could succeed.
pub trait HandlerError: Display {
    /// Worth another delivery, as opposed to a failure that repeats.
    fn is_retryable(&self) -> bool;
}

/// Where messages go that cannot succeed, with the reason as a message attribute.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    /// The queue's dead-letter queue.
    pub queue: Arc<dyn MessageQueue>,
    /// Deliveries after which a retryable failure is dead-lettered too (the queue's `maxReceiveCount`).
    pub max_receives: u32,
}

/// Runs `handle` on every message of `event`, one at a time. A message that fails for a reason another
/// delivery could fix is reported back for redelivery; one that cannot succeed (or that has used up its
/// deliveries) is sent to the dead-letter queue with a `reason` attribute and then counted as handled. If
/// dead-lettering fails too, the message is reported back: it is never dropped. A handler that panics fails
/// its message as one that cannot succeed, with the panic's message as the reason ([`crate::panic`]); the
/// other messages of the batch are handled as usual.
///
/// The function must be deployed with `FunctionResponseTypes: [ReportBatchItemFailures]`, or SQS ignores the
/// response and retries (or deletes) the whole batch.
pub async fn each_message<F, Fut, E>(
    event: SqsEvent,
    dead_letters: Option<&DeadLetters>,
    handle: F,
) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: HandlerError,
{
    let mut response = SqsBatchResponse::default();
    for message in event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let receives: u32 = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let span = tracing::info_span!("message", message_id = %id, receives);
        let copy = (
            message.body.clone(),
            message.attributes.get("MessageGroupId").cloned(),
        );
        let err = match crate::panic::catch(handle(message).instrument(span)).await {
            Ok(Ok(())) => continue,
            Ok(Err(err)) => Failure::Handler(err),
            Err(reason) => Failure::Panicked(reason),
        };

        let give_up = !err.is_retryable() || dead_letters.is_some_and(|d| receives >= d.max_receives);
        if let (true, Some(dead_letters)) = (give_up, dead_letters) {
            let (body, group) = copy;
            let letter = OutgoingMessage {
                body: body.unwrap_or_default(),
                dedup_id: group.as_ref().map(|_| id.clone()),
                group_id: group,
                attributes: BTreeMap::from([
                    ("reason".to_owned(), err.to_string()),
                    ("sourceMessageId".to_owned(), id.clone()),
                    ("receives".to_owned(), receives.to_string()),
                ]),
            };
            match dead_letters.queue.send(letter).await {
                Ok(()) => {
                    tracing::error!(message_id = %id, error = %err, receives, "message dead-lettered");
                    continue;
                }
                Err(dlq) => {
                    tracing::error!(message_id = %id, error = %dlq, "cannot dead-letter; redelivering")
                }
            }
        } else {
            tracing::error!(message_id = %id, error = %err, receives, "message failed; it will be redelivered");
        }
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// Why a message failed: its handler said so, or it panicked (which another delivery would repeat).
enum Failure<E> {
    Handler(E),
    Panicked(String),
}

impl<E: HandlerError> Failure<E> {
    fn is_retryable(&self) -> bool {
        match self {
            Failure::Handler(err) => err.is_retryable(),
            Failure::Panicked(_) => false,
        }
    }
}

impl<E: Display> Display for Failure<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Handler(err) => err.fmt(f),
            Failure::Panicked(reason) => f.write_str(reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::testing::MemoryQueue;

    #[derive(Debug)]
    struct Failure(bool);

    impl Display for Failure {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(if self.0 { "try again" } else { "bad body" })
        }
    }

    impl HandlerError for Failure {
        fn is_retryable(&self) -> bool {
            self.0
        }
    }

    fn event(records: serde_json::Value) -> SqsEvent {
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    async fn run(event: SqsEvent, dead_letters: Option<&DeadLetters>) -> Vec<String> {
        let response = each_message(event, dead_letters, |message| async move {
            match message.body.as_deref() {
                Some("ok") => Ok(()),
                Some("flaky") => Err(Failure(true)),
                _ => Err(Failure(false)),
            }
        })
        .await;
        response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect()
    }

    #[tokio::test]
    async fn only_failed_messages_are_reported_back() {
        let records = serde_json::json!([
            {"messageId": "good", "body": "ok"},
            {"messageId": "flaky", "body": "flaky"},
            {"messageId": "good-too", "body": "ok"}
        ]);
        assert_eq!(run(event(records), None).await, ["flaky"]);
    }

    #[tokio::test]
    async fn a_handler_that_panics_fails_its_message_with_the_reason_and_the_batch_goes_on() {
        let recorder = Arc::new(MemoryQueue::default());
        let dead_letters = DeadLetters {
            queue: recorder.clone(),
            max_receives: 5,
        };
        let records = serde_json::json!([
            {"messageId": "before", "body": "ok"},
            {"messageId": "boom", "body": "panic", "attributes": {"ApproximateReceiveCount": "1"}},
            {"messageId": "after", "body": "ok"}
        ]);
        let handled = Mutex::new(Vec::new());
        let response = each_message(event(records.clone()), Some(&dead_letters), |message| {
            let handled = &handled;
            async move {
                // A port that panics: an index past the end, as a parser bug would.
                if message.body.as_deref() == Some("panic") {
                    let cells: Vec<u8> = Vec::new();
                    let _ = cells[usize::from(message.body.is_some())];
                }
                handled
                    .lock()
                    .unwrap()
                    .push(message.message_id.unwrap_or_default());
                Ok::<(), Failure>(())
            }
        })
        .await;
        assert!(
            response.batch_item_failures.is_empty(),
            "dead-lettered, so handled"
        );
        assert_eq!(*handled.lock().unwrap(), ["before", "after"]);
        let letters = recorder.messages();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].attributes["sourceMessageId"], "boom");
        let reason = &letters[0].attributes["reason"];
        assert!(
            reason.starts_with("the handler panicked: index out of bounds"),
            "{reason}"
        );

        // Without a dead-letter queue the message is reported back, never lost.
        let response = each_message(event(records), None, |message| async move {
            assert_ne!(message.body.as_deref(), Some("panic"), "port failure");
            Ok::<(), Failure>(())
        })
        .await;
        let failed: Vec<_> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        assert_eq!(failed, ["boom"]);
    }

    #[tokio::test]
    async fn a_poison_message_is_dead_lettered_with_its_reason_and_not_redelivered() {
        let recorder = Arc::new(MemoryQueue::default());
        let dead_letters = DeadLetters {
            queue: recorder.clone(),
            max_receives: 5,
        };
        let records = serde_json::json!([
            {"messageId": "poison", "body": "garbage", "attributes": {"ApproximateReceiveCount": "1"}},
            {"messageId": "flaky", "body": "flaky", "attributes": {"ApproximateReceiveCount": "2"}},
            {"messageId": "worn-out", "body": "flaky", "attributes": {"ApproximateReceiveCount": "5"}}
        ]);
        assert_eq!(run(event(records), Some(&dead_letters)).await, ["flaky"]);
        let letters = recorder.messages();
        assert_eq!(letters.len(), 2);
        assert_eq!(letters[0].body, "garbage");
        assert_eq!(letters[0].attributes["reason"], "bad body");
        assert_eq!(letters[1].attributes["sourceMessageId"], "worn-out");
    }
}
