//! What Lambda's SQS event-source mapping does, for the local runner: receive a batch, invoke the handler with
//! it, delete the messages that succeeded, and leave the failed ones to come back after their visibility
//! timeout (and, after `maxReceiveCount`, to be redriven to the dead-letter queue by the queue itself).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};

/// One queue polled like an event-source mapping with `ReportBatchItemFailures`.
#[derive(Debug, Clone)]
pub struct SqsSource {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    batch_size: i32,
    visibility: Duration,
}

/// What one poll did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    /// Messages received and handed to the handler.
    pub received: usize,
    /// Messages the handler reported as failed.
    pub failed: usize,
}

impl SqsSource {
    /// Polls `queue_url` in batches of up to `batch_size` (at most 10), hiding received messages for
    /// `visibility` (real time) so that failed ones come back soon in a local run.
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        queue_arn: impl Into<String>,
        batch_size: i32,
        visibility: Duration,
    ) -> Self {
        SqsSource {
            sqs,
            queue_url: queue_url.into(),
            queue_arn: queue_arn.into(),
            batch_size: batch_size.clamp(1, 10),
            visibility,
        }
    }

    /// Messages in the queue, visible or in flight (approximate, as SQS counts them).
    pub async fn depth(&self) -> Result<u64> {
        let attributes = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .context("reading the queue's depth")?
            .attributes
            .unwrap_or_default();
        Ok(attributes
            .values()
            .filter_map(|count| count.parse::<u64>().ok())
            .sum())
    }

    /// Receives one batch (waiting up to `wait` for messages), invokes `handler` and deletes what succeeded.
    pub async fn poll_once<H, Fut>(&self, wait: Duration, handler: H) -> Result<PollStats>
    where
        H: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        self.poll_once_or_abandon(wait, |event| async move { Some(handler(event).await) })
            .await
    }

    /// As [`SqsSource::poll_once`], for a handler that may never answer (`None`: its process died or it timed
    /// out): then nothing is deleted, and every message of the batch comes back after its visibility timeout.
    pub async fn poll_once_or_abandon<H, Fut>(&self, wait: Duration, handler: H) -> Result<PollStats>
    where
        H: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = Option<SqsBatchResponse>>,
    {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .visibility_timeout(self.visibility.as_secs().max(1) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .context("receiving from the queue")?
            .messages
            .unwrap_or_default();
        if received.is_empty() {
            return Ok(PollStats::default());
        }

        let mut event = SqsEvent::default();
        let mut receipts = HashMap::new();
        for message in received {
            let id = message.message_id.clone().unwrap_or_default();
            receipts.insert(id.clone(), message.receipt_handle.clone().unwrap_or_default());
            let mut record = SqsMessage::default();
            record.message_id = Some(id);
            record.receipt_handle = message.receipt_handle;
            record.body = message.body;
            record.md5_of_body = message.md5_of_body;
            record.attributes = message
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(name, value)| (name.as_str().to_owned(), value))
                .collect();
            record.event_source = Some("aws:sqs".into());
            record.event_source_arn = Some(self.queue_arn.clone());
            record.aws_region = Some("us-east-1".into());
            event.records.push(record);
        }
        let stats = PollStats {
            received: event.records.len(),
            failed: 0,
        };

        let Some(response) = handler(event).await else {
            return Ok(PollStats {
                failed: stats.received,
                ..stats
            });
        };
        for failure in &response.batch_item_failures {
            receipts.remove(&failure.item_identifier);
        }
        let entries: Vec<_> = receipts
            .into_iter()
            .enumerate()
            .map(|(i, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .build()
            })
            .collect::<Result<_, _>>()?;
        if !entries.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .context("deleting handled messages")?;
        }
        Ok(PollStats {
            failed: response.batch_item_failures.len(),
            ..stats
        })
    }
}
