//! DynamoDB adapters: the only code that speaks aws-sdk-dynamodb.
//!
//! Key formats live in [`keys`], so every item's address is written down once.

mod connect;
pub mod keys;
mod lease;
mod orders;
mod outbox;
mod rate;
mod state;

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};

pub use orders::DynamoOrderStore;
#[cfg(test)]
pub(crate) use outbox::action_item;
pub use rate::DynamoRateLimiter;
pub use state::DynamoStateStore;

use super::unavailable;
use crate::error::StoreError;

/// An item as the SDK holds it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// BatchGetItem's limit of keys per request.
const BATCH_GET_MAX: usize = 100;

/// BatchWriteItem's limit of items per request.
pub(crate) const BATCH_WRITE_MAX: usize = 25;

/// Writes `item` with PutItem, over whatever is stored under its key.
pub(crate) async fn put_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
) -> Result<(), StoreError> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| unavailable("PutItem", e))?;
    Ok(())
}

/// What a conditional write came to: `true` when written, `false` when its condition did not hold.
pub(crate) fn written<T, E: ProvideErrorMetadata + std::fmt::Debug, R>(
    operation: &'static str,
    result: Result<T, SdkError<E, R>>,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(err) => Err(unavailable(operation, err)),
    }
}

/// Writes `item` if the stored item's `version` is `expected` (`None`: if nothing is stored under its key);
/// whether it was written.
pub(crate) async fn put_versioned(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
    expected: Option<u64>,
) -> Result<bool, StoreError> {
    let request = client.put_item().table_name(table).set_item(Some(item));
    let request = match expected {
        Some(version) => request
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(version)),
        None => request.condition_expression("attribute_not_exists(pk)"),
    };
    written("PutItem", request.send().await)
}

/// Writes `item` only if nothing is stored under its key; whether it was written.
pub(crate) async fn put_new_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    item: Item,
) -> Result<bool, StoreError> {
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(err) => match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
            _ => Err(unavailable("PutItem", err)),
        },
    }
}

/// Writes many items with BatchWriteItem, 25 a request, retrying the unprocessed ones with growing pauses.
pub(crate) async fn batch_put(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<Item>,
) -> Result<(), StoreError> {
    for chunk in items.chunks(BATCH_WRITE_MAX) {
        let mut requests = chunk
            .iter()
            .map(|item| {
                let put = PutRequest::builder()
                    .set_item(Some(item.clone()))
                    .build()
                    .map_err(|e| StoreError::Unavailable {
                        operation: "BatchWriteItem",
                        message: e.to_string(),
                    })?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut attempt = 0u32;
        while !requests.is_empty() {
            let output = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(|e| unavailable("BatchWriteItem", e))?;
            requests = output
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
            if !requests.is_empty() {
                attempt += 1;
                if attempt > 8 {
                    return Err(StoreError::Unavailable {
                        operation: "BatchWriteItem",
                        message: "items still unprocessed after 8 attempts".into(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
        }
    }
    Ok(())
}

/// Reads many items by key with BatchGetItem, 100 keys a request, retrying the unprocessed ones.
pub(crate) async fn batch_get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<Item>,
    projection: &str,
    names: &HashMap<String, String>,
) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH_GET_MAX) {
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .projection_expression(projection)
                // DynamoDB refuses an empty map of names.
                .set_expression_attribute_names((!names.is_empty()).then(|| names.clone()))
                .build()
                .map_err(|e| StoreError::Unavailable {
                    operation: "BatchGetItem",
                    message: e.to_string(),
                })?,
        );
        let mut attempt = 0u32;
        while let Some(request) = pending.take() {
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| unavailable("BatchGetItem", e))?;
            found.extend(
                output
                    .responses
                    .and_then(|mut r| r.remove(table))
                    .unwrap_or_default(),
            );
            pending = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(table))
                .filter(|k| !k.keys.is_empty());
            if pending.is_some() {
                // DynamoDB returns unprocessed keys under throttling; back off before asking again.
                attempt += 1;
                if attempt > 8 {
                    return Err(StoreError::Unavailable {
                        operation: "BatchGetItem",
                        message: "keys still unprocessed after 8 attempts".into(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(25 << attempt.min(6))).await;
            }
        }
    }
    Ok(found)
}

/// A string attribute.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A string attribute of an item, if present.
pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// A number attribute of an item, if present and integral.
pub(crate) fn get_i64(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}
