//! `DynamoRateLimiter`: SP-API token buckets in the state table, shared by every Lambda instance.
//!
//! Lambda instances share nothing, so a bucket per (account, operation) lives in one item. A draw reads the
//! item, does the bucket arithmetic of [`TokenBucket`], and writes the result back only if nobody else wrote
//! in between (a version check); a lost race simply draws again. Two requests per SP-API call.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use chrono::{TimeZone, Utc};
use rand::Rng;

use super::keys::{BUCKET_SK, bucket_pk};
use super::{Item, get_i64, n, s};
use crate::adapters::unavailable;
use crate::amazon::{Operation, Quota, RateLimiter, TokenBucket};
use crate::clock::Clock;
use crate::error::StoreError;

/// Attempts at a conditional write before giving up: many instances drawing from one bucket at once.
const MAX_RACES: u32 = 20;

/// Token buckets in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoRateLimiter {
    client: aws_sdk_dynamodb::Client,
    table: String,
    clock: Arc<dyn Clock>,
}

/// A bucket as stored: its state, the rate Amazon last reported, and the version guarding writes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Stored {
    bucket: TokenBucket,
    observed_rate: Option<f64>,
    version: i64,
}

impl DynamoRateLimiter {
    /// Buckets in the state table `table`, refilled by `clock`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        DynamoRateLimiter {
            client,
            table: table.into(),
            clock,
        }
    }

    async fn load(&self, key: &str, operation: Operation) -> Result<Option<Stored>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(bucket_pk(key, operation.name())))
            .key("sk", s(BUCKET_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(output.item.and_then(|item| {
            let tokens = item.get("tokens")?.as_n().ok()?.parse().ok()?;
            let updated_at = Utc.timestamp_millis_opt(get_i64(&item, "updated_ms")?).single()?;
            let observed_rate = item
                .get("rate")
                .and_then(|v| v.as_n().ok())
                .and_then(|r| r.parse().ok());
            Some(Stored {
                bucket: TokenBucket { tokens, updated_at },
                observed_rate,
                version: get_i64(&item, "version")?,
            })
        }))
    }

    /// Writes `next` if the item is still at `previous`'s version; `false` when another draw won the race.
    async fn store(
        &self,
        key: &str,
        operation: Operation,
        previous: Option<Stored>,
        next: TokenBucket,
    ) -> Result<bool, StoreError> {
        let version = previous.map_or(0, |p| p.version);
        let mut item = Item::from([
            ("pk".into(), s(bucket_pk(key, operation.name()))),
            ("sk".into(), s(BUCKET_SK)),
            ("kind".into(), s("rate_bucket")),
            ("tokens".into(), n(next.tokens)),
            ("updated_ms".into(), n(next.updated_at.timestamp_millis())),
            ("version".into(), n(version + 1)),
        ]);
        if let Some(rate) = previous.and_then(|p| p.observed_rate) {
            item.insert("rate".into(), n(rate));
        }
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = match previous {
            Some(_) => request
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(version)),
            None => request.condition_expression("attribute_not_exists(pk)"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(unavailable("PutItem", err)),
            },
        }
    }
}

fn quota_of(operation: Operation, stored: Option<Stored>) -> Quota {
    let default = operation.default_quota();
    stored
        .and_then(|s| s.observed_rate)
        .and_then(|rate| Quota::new(rate, default.burst))
        .unwrap_or(default)
}

impl DynamoRateLimiter {
    /// Takes a token if the bucket holds one now, or says how long until it will; a lost race reads again.
    async fn take(&self, key: &str, operation: Operation) -> Result<Result<(), Duration>, StoreError> {
        let mut races = 0;
        loop {
            let stored = self.load(key, operation).await?;
            let quota = quota_of(operation, stored);
            let now = self.clock.now();
            let mut bucket = stored.map_or_else(|| TokenBucket::full(quota, now), |s| s.bucket);
            if let Err(wait) = bucket.take(quota, now) {
                return Ok(Err(wait));
            }
            if self.store(key, operation, stored, bucket).await? {
                return Ok(Ok(()));
            }
            races += 1;
            if races >= MAX_RACES {
                return Err(StoreError::Unavailable {
                    operation: "PutItem",
                    message: format!("rate bucket {key}/{operation} contended {races} times in a row"),
                });
            }
            // Spread the losers out so they do not collide again on the next read.
            let jitter = rand::rng().random_range(0..=(5 * u64::from(races)));
            tokio::time::sleep(Duration::from_millis(jitter)).await;
        }
    }
}

#[async_trait]
impl RateLimiter for DynamoRateLimiter {
    async fn try_acquire(&self, key: &str, operation: Operation) -> Result<Result<(), Duration>, StoreError> {
        self.take(key, operation).await
    }

    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    async fn available(&self, key: &str, operation: Operation) -> Result<Option<f64>, StoreError> {
        let stored = self.load(key, operation).await?;
        let quota = quota_of(operation, stored);
        let now = self.clock.now();
        let mut bucket = stored.map_or_else(|| TokenBucket::full(quota, now), |s| s.bucket);
        bucket.refill(quota, now);
        Ok(Some(bucket.tokens))
    }

    async fn observe_limit(&self, key: &str, operation: Operation, rate: f64) -> Result<(), StoreError> {
        if Quota::new(rate, 1).is_none() {
            return Ok(());
        }
        // Amazon only reports a rate on a response, so the bucket exists; a draw racing this update may put the
        // old rate back, which the next response corrects.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(bucket_pk(key, operation.name())))
            .key("sk", s(BUCKET_SK))
            .update_expression("SET #r = :r")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#r", "rate")
            .expression_attribute_values(":r", n(rate))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(unavailable("UpdateItem", err)),
            },
        }
    }
}
