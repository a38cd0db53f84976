//! What Lambda's DynamoDB Streams event-source mapping does, for the local runner and the tests: read each
//! shard of a table's stream from a checkpoint (ListStreams, DescribeStream, GetShardIterator, GetRecords),
//! hand the records to the publisher's handler logic (`shared::app::publish_events::publish_changes`), and move
//! the checkpoint only past the records it published: a failure (or a crash before the call returns) leaves
//! the checkpoint where it was, so the next pump reads the same records again.

use std::collections::HashMap;

use anyhow::{Context, Result};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use shared::app::publish_events::{ChangeRecord, publish_changes};
use shared::ports::EventPublisher;

/// A table's stream read like an event-source mapping with `ReportBatchItemFailures`.
#[derive(Debug)]
pub struct StreamSource {
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    /// Per shard, the sequence number of the last record published (none: from the shard's start).
    checkpoints: HashMap<String, Option<String>>,
}

/// What one pump did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PumpStats {
    /// Records read and handed to the publisher.
    pub records: usize,
    /// Batches the publisher reported a failure in (their shards stopped there).
    pub failed_batches: usize,
}

impl StreamSource {
    /// The stream of `table`, read from its start (TRIM_HORIZON, as the template's mappings start).
    pub fn new(streams: aws_sdk_dynamodbstreams::Client, table: impl Into<String>) -> Self {
        StreamSource {
            streams,
            table: table.into(),
            checkpoints: HashMap::new(),
        }
    }

    /// A streams client for the local stack's DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn local_client(sdk: &aws_config::SdkConfig) -> Result<aws_sdk_dynamodbstreams::Client> {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").context("AWS_ENDPOINT_URL_DYNAMODB")?;
        let config = aws_sdk_dynamodbstreams::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        Ok(aws_sdk_dynamodbstreams::Client::from_conf(config))
    }

    /// Reads every shard from its checkpoint to its current end, in batches of up to `batch_size` records,
    /// publishing each batch; a shard stops at its first failed batch (its checkpoint then names the last
    /// record before the failure).
    pub async fn pump(&mut self, publisher: &dyn EventPublisher, batch_size: i32) -> Result<PumpStats> {
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
                self.pump_shard(arn, &shard, publisher, batch_size, &mut stats)
                    .await?;
            }
        }
        Ok(stats)
    }

    async fn pump_shard(
        &mut self,
        arn: &str,
        shard: &str,
        publisher: &dyn EventPublisher,
        batch_size: i32,
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
            let output = self
                .streams
                .get_records()
                .shard_iterator(current)
                .limit(batch_size)
                .send()
                .await
                .context("GetRecords")?;
            let records: Vec<ChangeRecord> = output
                .records()
                .iter()
                .filter_map(|record| {
                    let change = record.dynamodb()?;
                    Some(ChangeRecord {
                        sequence_number: change.sequence_number()?.to_owned(),
                        old: change.old_image().cloned().map(serde_dynamo::Item::from),
                        new: change.new_image().cloned().map(serde_dynamo::Item::from),
                    })
                })
                .collect();
            if records.is_empty() {
                // DynamoDB Local keeps an open shard's iterator alive forever; no records means its end.
                break;
            }
            stats.records += records.len();
            match publish_changes(&records, publisher).await {
                None => {
                    let last = records.last().map(|r| r.sequence_number.clone());
                    self.checkpoints.insert(shard.to_owned(), last);
                    iterator = output.next_shard_iterator().map(str::to_owned);
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
