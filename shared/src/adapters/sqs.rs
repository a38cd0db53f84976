//! `SqsQueue`: a [`MessageQueue`] over one SQS queue.

use async_trait::async_trait;

use super::unavailable;
use crate::error::StoreError;
use crate::ports::{MessageQueue, OutgoingMessage};

/// One SQS queue, standard or FIFO.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        SqsQueue {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl MessageQueue for SqsQueue {
    async fn send(&self, message: OutgoingMessage) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(message.body)
            .set_message_group_id(message.group_id)
            .set_message_deduplication_id(message.dedup_id)
            .send()
            .await
            .map_err(|e| unavailable("SendMessage", e))?;
        Ok(())
    }
}
