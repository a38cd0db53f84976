//! The SQS, Secrets Manager and Scheduler adapters against moto.

use shared::adapters::scheduler::{EventBridgeSchedules, ScheduleTarget};
use shared::adapters::secrets::SecretsManagerStore;
use shared::adapters::sqs::SqsQueue;
use shared::ports::{MessageQueue, OutgoingMessage, ScheduleSpec, Schedules, SecretStore};
use tests::stack::{LocalStack, Template, unique_prefix};

#[tokio::test]
async fn a_secret_is_created_replaced_read_and_deleted() {
    let stack = LocalStack::from_env().await.unwrap();
    let secrets = SecretsManagerStore::new(stack.secrets.clone(), None);
    let name = format!("{}/accounts/a1/refresh-token", unique_prefix("secret"));

    assert_eq!(secrets.get(&name).await.unwrap(), None);
    secrets.put(&name, "Atzr|first").await.unwrap();
    secrets.put(&name, "Atzr|second").await.unwrap();
    assert_eq!(secrets.get(&name).await.unwrap().as_deref(), Some("Atzr|second"));
    secrets.delete(&name).await.unwrap();
    secrets.delete(&name).await.unwrap();
    assert_eq!(secrets.get(&name).await.unwrap(), None);
}

#[tokio::test]
async fn a_schedule_is_created_updated_disabled_and_deleted() {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("sched"))
        .await
        .unwrap();
    let group = resources.get("AccountScheduleGroup").unwrap().to_owned();
    let schedules = EventBridgeSchedules::new(
        stack.scheduler.clone(),
        ScheduleTarget {
            group,
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:request-reports".into(),
            role_arn: "arn:aws:iam::123456789012:role/scheduler".into(),
            dead_letter_arn: resources.arns["ScheduleDeadLetterQueue"].clone(),
        },
    );
    let mut spec = ScheduleSpec {
        name: "account-a1".into(),
        expression: "rate(15 minutes)".into(),
        enabled: true,
        flexible_window_minutes: 3,
        input: r#"{"accountId":"a1"}"#.into(),
    };

    schedules.put(&spec).await.unwrap();
    assert_eq!(schedules.get("account-a1").await.unwrap().as_ref(), Some(&spec));

    spec.expression = "rate(1 hour)".into();
    spec.enabled = false;
    schedules.put(&spec).await.unwrap();
    assert_eq!(schedules.get("account-a1").await.unwrap().as_ref(), Some(&spec));

    schedules.delete("account-a1").await.unwrap();
    schedules.delete("account-a1").await.unwrap();
    assert_eq!(schedules.get("account-a1").await.unwrap(), None);
}

#[tokio::test]
async fn a_fifo_message_carries_its_group_and_dedup_id() {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("sqs"))
        .await
        .unwrap();
    let url = resources.get("FeedQueue").unwrap();
    let queue = SqsQueue::new(stack.sqs.clone(), url);
    let message = OutgoingMessage {
        body: "{}".into(),
        group_id: Some("a1/POST_ORDER_FULFILLMENT_DATA".into()),
        dedup_id: Some("m1".into()),
        attributes: [("reason".to_string(), "a test".to_string())].into(),
    };
    queue.send(message.clone()).await.unwrap();
    queue.send(message).await.unwrap();

    let received = stack
        .sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(received.len(), 1, "the repeat was dropped as a duplicate");
    let group = received[0].attributes.as_ref().unwrap()
        [&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId]
        .clone();
    assert_eq!(group, "a1/POST_ORDER_FULFILLMENT_DATA");
    let reason = received[0].message_attributes.as_ref().unwrap()["reason"]
        .string_value
        .clone();
    assert_eq!(reason.as_deref(), Some("a test"));
}
