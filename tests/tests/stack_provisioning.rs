//! The local stack gets exactly the tables and queues that infra/template.yaml declares.

use aws_sdk_sqs::types::QueueAttributeName;
use tests::stack::{LocalStack, Template};

#[tokio::test]
async fn every_table_and_queue_of_the_template_exists_locally_with_its_settings() {
    let stack = LocalStack::from_env().await.unwrap();
    let template = Template::load().unwrap();
    let prefix = tests::stack::unique_prefix("prov");
    let resources = stack.provision(&template, &prefix).await.unwrap();

    // Every page: other tests' tables share the stack, and a page holds 100 names.
    let tables: Vec<String> = stack
        .dynamodb
        .list_tables()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<_, _>>()
        .await
        .unwrap();
    for (id, definition) in template.resources_of("AWS::DynamoDB::Table") {
        assert!(
            tables.contains(&format!("{prefix}-{id}")),
            "table {id} missing from {tables:?}"
        );
        let table = stack
            .dynamodb
            .describe_table()
            .table_name(resources.get(id).unwrap())
            .send()
            .await
            .unwrap();
        let indexes = table.table.unwrap().global_secondary_indexes.unwrap_or_default();
        let mut names: Vec<&str> = indexes.iter().filter_map(|i| i.index_name()).collect();
        let mut declared: Vec<&str> = definition["GlobalSecondaryIndexes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|i| i["IndexName"].as_str().unwrap())
            .collect();
        names.sort();
        declared.sort();
        assert_eq!(names, declared, "{id} has the template's GSIs");
    }

    let feed_queue = resources.get("FeedQueue").unwrap();
    assert!(feed_queue.ends_with(".fifo"), "{feed_queue}");
    let attributes = stack
        .sqs
        .get_queue_attributes()
        .queue_url(feed_queue)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let redrive = &attributes[&QueueAttributeName::RedrivePolicy];
    assert!(
        redrive.contains(&resources.arns["FeedDeadLetterQueue"]),
        "{redrive}"
    );
    assert_eq!(attributes[&QueueAttributeName::FifoQueue], "true");
}

#[test]
fn sub_and_getatt_resolve_against_local_names() {
    let template = Template::parse("Resources: {}").unwrap();
    assert!(template.resources_of("AWS::SQS::Queue").next().is_none());
    let resources = tests::stack::Resources {
        prefix: "p".into(),
        refs: [("Q".to_string(), "http://q".to_string())].into(),
        arns: [("Q".to_string(), "arn:q".to_string())].into(),
    };
    let value: serde_norway::Value = serde_norway::from_str("!Sub 'x-${AWS::Region}-${Q}-${Q.Arn}'").unwrap();
    assert_eq!(resources.resolve(&value).unwrap(), "x-us-east-1-http://q-arn:q");
    let missing: serde_norway::Value = serde_norway::from_str("!Ref Nope").unwrap();
    assert!(resources.resolve(&missing).is_err());
}
