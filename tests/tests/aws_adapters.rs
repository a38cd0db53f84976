//! The SQS, Secrets Manager, Scheduler and S3 adapters against moto, and their in-memory fakes
//! (`shared::testing`) by the same checks, so a use case tested on a fake meets what the adapter does.

use shared::adapters::s3::S3Archive;
use shared::adapters::scheduler::{EventBridgeSchedules, ScheduleTarget};
use shared::adapters::secrets::SecretsManagerStore;
use shared::adapters::sqs::SqsQueue;
use shared::ports::{
    ArchivedDocument, DocumentArchive, MessageQueue, OutgoingMessage, ScheduleSpec, Schedules, SecretStore,
};
use shared::testing::{MemoryArchive, MemoryQueue, MemorySchedules, MemorySecrets};
use tests::stack::{LocalStack, Template, unique_prefix};

/// A secret is created, replaced and read; deleting it twice succeeds; then it is gone.
async fn secret_contract(secrets: &dyn SecretStore, name: &str) {
    assert_eq!(secrets.get(name).await.unwrap(), None);
    secrets.put(name, "Atzr|first").await.unwrap();
    secrets.put(name, "Atzr|second").await.unwrap();
    assert_eq!(secrets.get(name).await.unwrap().as_deref(), Some("Atzr|second"));
    secrets.delete(name).await.unwrap();
    secrets.delete(name).await.unwrap();
    assert_eq!(secrets.get(name).await.unwrap(), None);
}

#[tokio::test]
async fn a_secret_is_created_replaced_read_and_deleted() {
    let stack = LocalStack::from_env().await.unwrap();
    let secrets = SecretsManagerStore::new(stack.secrets.clone(), None);
    let name = format!("{}/accounts/a1/refresh-token", unique_prefix("secret"));
    secret_contract(&secrets, &name).await;
}

#[tokio::test]
async fn the_secrets_fake_keeps_the_same_contract() {
    secret_contract(&MemorySecrets::default(), "stack/accounts/a1/refresh-token").await;
}

/// A schedule is created, read back as it was put, changed and disabled, deleted twice, then gone.
async fn schedule_contract(schedules: &dyn Schedules) {
    let mut spec = ScheduleSpec {
        name: "account-a1".into(),
        expression: "rate(15 minutes)".into(),
        enabled: true,
        flexible_window_minutes: 3,
        input: r#"{"accountId":"a1"}"#.into(),
    };
    assert_eq!(schedules.get("account-a1").await.unwrap(), None);

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
    schedule_contract(&schedules).await;
}

#[tokio::test]
async fn the_schedules_fake_keeps_the_same_contract() {
    schedule_contract(&MemorySchedules::default()).await;
}

/// A FIFO message sent twice with one deduplication id, then another: what the queue holds, as
/// `(body, group id, the "reason" attribute)`, must be the first and the other, nothing more.
async fn send_to_fifo(queue: &dyn MessageQueue) -> Vec<(String, Option<String>, Option<String>)> {
    let message = OutgoingMessage {
        body: r#"{"n":1}"#.into(),
        group_id: Some("a1/POST_ORDER_FULFILLMENT_DATA".into()),
        dedup_id: Some("m1".into()),
        attributes: [("reason".to_string(), "a test".to_string())].into(),
    };
    queue.send(message.clone()).await.unwrap();
    queue.send(message.clone()).await.unwrap();
    queue
        .send(OutgoingMessage {
            body: r#"{"n":2}"#.into(),
            dedup_id: Some("m2".into()),
            ..message
        })
        .await
        .unwrap();
    let group = Some("a1/POST_ORDER_FULFILLMENT_DATA".to_owned());
    let reason = Some("a test".to_owned());
    vec![
        (r#"{"n":1}"#.to_owned(), group.clone(), reason.clone()),
        (r#"{"n":2}"#.to_owned(), group, reason),
    ]
}

#[tokio::test]
async fn a_fifo_message_carries_its_group_and_dedup_id() {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("sqs"))
        .await
        .unwrap();
    let url = resources.get("FeedQueue").unwrap();
    let expected = send_to_fifo(&SqsQueue::new(stack.sqs.clone(), url)).await;

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
    let received: Vec<_> = received
        .iter()
        .map(|m| {
            let group = m.attributes.as_ref().and_then(|a| {
                a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                    .cloned()
            });
            let reason = m
                .message_attributes
                .as_ref()
                .and_then(|a| a.get("reason"))
                .and_then(|v| v.string_value.clone());
            (m.body.clone().unwrap_or_default(), group, reason)
        })
        .collect();
    assert_eq!(received, expected, "the repeat was dropped as a duplicate");
}

#[tokio::test]
async fn the_queue_fake_keeps_the_same_contract() {
    let queue = MemoryQueue::default();
    let expected = send_to_fifo(&queue).await;
    let held: Vec<_> = queue
        .messages()
        .into_iter()
        .map(|m| (m.body, m.group_id, m.attributes.get("reason").cloned()))
        .collect();
    assert_eq!(held, expected, "the repeat was dropped as a duplicate");
}

/// A Cp1252 document Amazon sent gzipped, spooled to a file of its own.
fn spooled(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", unique_prefix("archive")));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A document is stored as Amazon sent it (bytes, type, encoding) under its key, which the answer names; a
/// second put under the key replaces it; a spool file that is gone is an error that says so. Answers the
/// keys it stored, with what each must hold.
async fn archive_contract(archive: &dyn DocumentArchive) -> Vec<(String, Vec<u8>, ArchivedDocument)> {
    let gzipped = ArchivedDocument {
        content_type: Some("text/plain; charset=Cp1252".into()),
        content_encoding: Some("gzip".into()),
    };
    // S3 gives an object stored without a type one of its own: Amazon always names the type.
    let plain = ArchivedDocument {
        content_type: Some("text/plain; charset=UTF-8".into()),
        content_encoding: None,
    };
    let key = "raw/acct-1/GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE/amzn1.doc.1";
    let first = spooled("first", b"\x1f\x8b first");
    let location = archive.put_file(key, &first, &gzipped).await.unwrap();
    assert!(location.ends_with(&format!("/{key}")), "{location}");
    let other = "raw/acct-1/GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE/amzn1.doc.2";
    let second = spooled("second", b"caf\xe9\tsecond");
    archive.put_file(other, &second, &gzipped).await.unwrap();
    archive.put_file(other, &second, &plain).await.unwrap();
    let gone = first.with_extension("gone");
    let err = archive.put_file(key, &gone, &plain).await.unwrap_err();
    assert!(err.to_string().contains("spooled document"), "{err}");
    for file in [first, second] {
        std::fs::remove_file(file).unwrap();
    }
    vec![
        (key.to_owned(), b"\x1f\x8b first".to_vec(), gzipped),
        (other.to_owned(), b"caf\xe9\tsecond".to_vec(), plain),
    ]
}

#[tokio::test]
async fn a_document_is_archived_in_s3_as_amazon_sent_it() {
    let stack = LocalStack::from_env().await.unwrap();
    let resources = stack
        .provision(&Template::load().unwrap(), &unique_prefix("s3"))
        .await
        .unwrap();
    let bucket = resources.get("RawDocumentsBucket").unwrap();
    let expected = archive_contract(&S3Archive::new(stack.s3.clone(), bucket, None)).await;
    for (key, bytes, document) in expected {
        let object = stack
            .s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .unwrap();
        let held = ArchivedDocument {
            content_type: object.content_type.clone(),
            content_encoding: object.content_encoding.clone(),
        };
        let body = object.body.collect().await.unwrap().into_bytes();
        assert_eq!((body.to_vec(), held), (bytes, document), "{key}");
    }
}

#[tokio::test]
async fn the_archive_fake_keeps_the_same_contract() {
    let archive = MemoryArchive::default();
    let expected = archive_contract(&archive).await;
    for (key, bytes, document) in expected {
        assert_eq!(archive.get(&key), Some((bytes, document)), "{key}");
    }
}
