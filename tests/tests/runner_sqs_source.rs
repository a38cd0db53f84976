//! The local runner's SQS event source behaves like Lambda's: successes deleted, failures redelivered, and
//! redriven to the dead-letter queue after `maxReceiveCount`.

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::QueueAttributeName;
use tests::runner::sqs_source::SqsSource;
use tests::stack::{LocalStack, unique_prefix};

fn fail_bodies(event: &SqsEvent, bad: &str) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in &event.records {
        if record.body.as_deref() == Some(bad) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = record.message_id.clone().unwrap_or_default();
            response.batch_item_failures.push(failure);
        }
    }
    response
}

#[tokio::test]
async fn failed_messages_come_back_and_end_in_the_dead_letter_queue() {
    let stack = LocalStack::from_env().await.unwrap();
    let prefix = unique_prefix("src");
    let dlq = stack
        .sqs
        .create_queue()
        .queue_name(format!("{prefix}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = stack
        .sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let queue = stack
        .sqs
        .create_queue()
        .queue_name(format!("{prefix}-q"))
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}"#),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for body in ["good", "bad"] {
        stack
            .sqs
            .send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let source = SqsSource::new(
        stack.sqs.clone(),
        &queue,
        "arn:local:q",
        10,
        Duration::from_secs(1),
    );

    // Poll as the event source would until the queue is empty and the failure has been redriven.
    let mut handled = Vec::new();
    let mut dead = Vec::new();
    for _ in 0..40 {
        source
            .poll_once(Duration::from_secs(0), |event| {
                handled.extend(event.records.iter().filter_map(|r| r.body.clone()));
                let response = fail_bodies(&event, "bad");
                async move { response }
            })
            .await
            .unwrap();
        dead = stack
            .sqs
            .receive_message()
            .queue_url(&dlq)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if !dead.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(
        handled.iter().filter(|b| *b == "good").count(),
        1,
        "a success is deleted: {handled:?}"
    );
    assert_eq!(
        handled.iter().filter(|b| *b == "bad").count(),
        2,
        "a failure comes back: {handled:?}"
    );

    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body.as_deref(), Some("bad"));
}
