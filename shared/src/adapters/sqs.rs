//! `SqsQueue`: a [`MessageQueue`] over one SQS queue.

use async_trait::async_trait;
use aws_sdk_sqs::types::MessageAttributeValue;

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
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(message.body)
            .set_message_group_id(message.group_id)
            .set_message_deduplication_id(message.dedup_id);
        for (name, value) in message.attributes {
            // SQS caps an attribute value at 256 KB; reasons are short, but never let one fail the send.
            let value: String = value.chars().take(1000).collect();
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| StoreError::Unavailable {
                    operation: "SendMessage",
                    message: e.to_string(),
                })?;
            request = request.message_attributes(name, attribute);
        }
        request.send().await.map_err(|e| unavailable("SendMessage", e))?;
        Ok(())
    }
}
