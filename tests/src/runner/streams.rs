//! What Lambda's DynamoDB Streams event-source mapping does, for the local runner and the tests: read each
//! shard of a table's stream from a checkpoint (ListStreams, DescribeStream, GetShardIterator, GetRecords),
//! hand the records to the publisher's handler logic (`shared::app::publish_events::publish_changes`), and move
//! the checkpoint only past the records it published: a failure (or a crash before the call returns) leaves
//! the checkpoint where it was, so the next pump reads the same records again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use shared::app::publish_events::{ChangeRecord, publish_changes};
use shared::ports::EventPublisher;

use crate::stack::LocalStack;

/// A table's stream read like an event-source mapping with `ReportBatchItemFailures`.
#[derive(Debug)]
pub struct StreamSource {
    streams: aws_sdk_dynamodbstreams::Client,
    /// DynamoDB Local's address, for GetRecords read as JSON.
    endpoint: String,
    http: reqwest::Client,
    table: String,
    /// Per shard, the sequence number of the last record published (none: from the shard's start).
    checkpoints: HashMap<String, Option<String>>,
}

/// What one pump did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PumpStats {
    /// Records read and handed to the publisher.
    pub records: usize,
    /// Batches handed to the publisher (its invocations).
    pub batches: usize,
    /// Batches the publisher reported a failure in (their shards stopped there).
    pub failed_batches: usize,
}

impl StreamSource {
    /// The table whose stream this is.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The stream of `table` in the local stack's DynamoDB Local, read from its start (TRIM_HORIZON, as the
    /// template's mappings start).
    pub fn new(stack: &LocalStack, table: impl Into<String>) -> Self {
        let config = aws_sdk_dynamodbstreams::config::Builder::from(&stack.sdk)
            .endpoint_url(&stack.dynamodb_endpoint)
            .build();
        StreamSource {
            streams: aws_sdk_dynamodbstreams::Client::from_conf(config),
            endpoint: stack.dynamodb_endpoint.clone(),
            http: reqwest::Client::new(),
            table: table.into(),
            checkpoints: HashMap::new(),
        }
    }

    /// Reads every shard from its checkpoint to its current end, in batches of up to `batch_size` records,
    /// publishing each batch; a shard stops at its first failed batch (its checkpoint then names the last
    /// record before the failure). With a `budget`, stops after the first batch that ends past it, checkpoint
    /// saved: the next pump goes on from there.
    pub async fn pump(
        &mut self,
        publisher: &dyn EventPublisher,
        batch_size: i32,
        budget: Option<Duration>,
    ) -> Result<PumpStats> {
        let until = budget.map(|b| Instant::now() + b);
        let mut stats = PumpStats::default();
        let streams = self
            .streams
            .list_streams()
            .table_name(&self.table)
            .send()
            .await
            .context("ListStreams")?;
        for stream in streams.streams() {
            let Some(arn) = stream.stream_arn() else { continue };
            let description = self
                .streams
                .describe_stream()
                .stream_arn(arn)
                .send()
                .await
                .context("DescribeStream")?;
            let shards: Vec<String> = description
                .stream_description()
                .map(|d| {
                    d.shards()
                        .iter()
                        .filter_map(|s| s.shard_id().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            for shard in shards {
                if until.is_some_and(|until| Instant::now() >= until) {
                    return Ok(stats);
                }
                self.pump_shard(arn, &shard, publisher, batch_size, until, &mut stats)
                    .await?;
            }
        }
        Ok(stats)
    }

    /// GetRecords, read as JSON rather than through the SDK: DynamoDB Local writes an empty map attribute as
    /// `{}` instead of `{"M": {}}` (an account's `watermarks`, an order line without amounts), which the SDK
    /// refuses to parse, failing the whole batch. DynamoDB Local does not check signatures.
    async fn get_records(&self, iterator: &str, limit: i32) -> Result<RecordsPage> {
        let response = self
            .http
            .post(&self.endpoint)
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("X-Amz-Target", "DynamoDBStreams_20120810.GetRecords")
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20261101/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host, Signature=local",
            )
            .json(&serde_json::json!({"ShardIterator": iterator, "Limit": limit}))
            .send()
            .await
            .context("GetRecords")?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.context("GetRecords body")?;
        if !status.is_success() {
            anyhow::bail!("GetRecords: {status} {body}");
        }
        let mut records = Vec::new();
        for record in body["Records"].as_array().into_iter().flatten() {
            let change = &record["dynamodb"];
            let Some(sequence) = change["SequenceNumber"].as_str() else {
                continue;
            };
            let image = |name: &str| -> Result<Option<serde_dynamo::Item>> {
                match change.get(name) {
                    Some(serde_json::Value::Object(map)) => {
                        let fixed: serde_json::Map<String, serde_json::Value> =
                            map.iter().map(|(k, v)| (k.clone(), empty_maps(v))).collect();
                        Ok(Some(serde_json::from_value(serde_json::Value::Object(fixed))?))
                    }
                    _ => Ok(None),
                }
            };
            records.push(ChangeRecord {
                sequence_number: sequence.to_owned(),
                old: image("OldImage")?,
                new: image("NewImage")?,
            });
        }
        Ok(RecordsPage {
            records,
            next_iterator: body["NextShardIterator"].as_str().map(str::to_owned),
        })
    }

    async fn pump_shard(
        &mut self,
        arn: &str,
        shard: &str,
        publisher: &dyn EventPublisher,
        batch_size: i32,
        until: Option<Instant>,
        stats: &mut PumpStats,
    ) -> Result<()> {
        let checkpoint = self.checkpoints.get(shard).cloned().flatten();
        let request = self.streams.get_shard_iterator().stream_arn(arn).shard_id(shard);
        let request = match &checkpoint {
            Some(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let mut iterator = request.send().await.context("GetShardIterator")?.shard_iterator;
        while let Some(current) = iterator.take() {
            let output = self.get_records(&current, batch_size).await?;
            let records = output.records;
            if records.is_empty() {
                // DynamoDB Local keeps an open shard's iterator alive forever; no records means its end.
                break;
            }
            stats.records += records.len();
            stats.batches += 1;
            match publish_changes(&records, publisher).await {
                None => {
                    let last = records.last().map(|r| r.sequence_number.clone());
                    self.checkpoints.insert(shard.to_owned(), last);
                    iterator = output.next_iterator;
                    if until.is_some_and(|until| Instant::now() >= until) {
                        break;
                    }
                }
                Some(failed) => {
                    // Retry from the failed record: the checkpoint names the record before it.
                    let position = records.iter().position(|r| r.sequence_number == failed);
                    if let Some(before) = position.and_then(|p| p.checked_sub(1)) {
                        let sequence = records[before].sequence_number.clone();
                        self.checkpoints.insert(shard.to_owned(), Some(sequence));
                    }
                    stats.failed_batches += 1;
                    break;
                }
            }
        }
        Ok(())
    }
}

/// One GetRecords answer.
struct RecordsPage {
    records: Vec<ChangeRecord>,
    next_iterator: Option<String>,
}

/// An attribute value with DynamoDB Local's `{}` for an empty map restored to `{"M": {}}`, at any depth.
fn empty_maps(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    let Value::Object(map) = value else {
        return value.clone();
    };
    if map.is_empty() {
        return json!({"M": {}});
    }
    if let Some(Value::Object(inner)) = map.get("M") {
        let fixed: serde_json::Map<String, Value> =
            inner.iter().map(|(k, v)| (k.clone(), empty_maps(v))).collect();
        return json!({ "M": fixed });
    }
    if let Some(Value::Array(items)) = map.get("L") {
        return json!({ "L": items.iter().map(empty_maps).collect::<Vec<_>>() });
    }
    value.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_maps_are_restored_at_any_depth_and_other_values_kept() {
        let local = serde_json::json!({"M": {"e": {}, "l": {"L": [{}, {"S": "x"}]}, "n": {"N": "1"}}});
        let fixed = empty_maps(&local);
        assert_eq!(
            fixed,
            serde_json::json!({"M": {"e": {"M": {}}, "l": {"L": [{"M": {}}, {"S": "x"}]}, "n": {"N": "1"}}})
        );
        let item: serde_dynamo::Item =
            serde_json::from_value(serde_json::json!({"a": fixed})).expect("a valid image");
        assert_eq!(item.len(), 1);
    }
}
