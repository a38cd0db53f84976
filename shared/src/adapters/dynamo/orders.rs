//! `DynamoOrderStore`: orders in the orders table, written only when new or newer.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use chrono::{DateTime, TimeZone, Utc};

use super::keys::{account_pk, order_sk, order_updated_sk, timestamp};
use super::{Item, batch_get, get_i64, n, s};
use crate::adapters::unavailable;
use crate::domain::Order;
use crate::error::StoreError;
use crate::ports::{OrderStore, PutOutcome};

/// Orders in DynamoDB. One item per order (`pk` = account, `sk` = `ORDER#<id>`) holding the whole order in
/// `order`, with `version` (last update, epoch milliseconds) deciding which copy is newer.
#[derive(Debug, Clone)]
pub struct DynamoOrderStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoOrderStore {
    /// A store over the orders table `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoOrderStore {
            client,
            table: table.into(),
        }
    }

    fn item(account: &str, order: &Order) -> Result<Item, StoreError> {
        let body = serde_dynamo::to_attribute_value(order).map_err(|e| StoreError::Corrupt {
            key: order_sk(&order.amazon_order_id),
            reason: format!("order cannot be encoded: {e}"),
        })?;
        let mut item = Item::from([
            ("pk".into(), s(account_pk(account))),
            ("sk".into(), s(order_sk(&order.amazon_order_id))),
            ("kind".into(), s("order")),
            ("order".into(), body),
            ("version".into(), n(order.last_updated.timestamp_millis())),
            ("status".into(), s(order.status.as_str())),
            (
                "fulfillment_channel".into(),
                s(order.fulfillment_channel.as_str()),
            ),
            ("purchase_date".into(), s(timestamp(order.purchase_date))),
            ("last_updated".into(), s(timestamp(order.last_updated))),
            ("gsi1pk".into(), s(account_pk(account))),
            (
                "gsi1sk".into(),
                s(order_updated_sk(order.last_updated, &order.amazon_order_id)),
            ),
        ]);
        if let Some(marketplace) = &order.marketplace_id {
            item.insert("marketplace_id".into(), s(marketplace));
        }
        Ok(item)
    }
}

#[async_trait]
impl OrderStore for DynamoOrderStore {
    async fn order_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        let keys = order_ids
            .iter()
            .map(|id| {
                Item::from([
                    ("pk".into(), s(account_pk(account))),
                    ("sk".into(), s(order_sk(id))),
                ])
            })
            .collect();
        let names = HashMap::from([("#v".to_owned(), "version".to_owned())]);
        let items = batch_get(&self.client, &self.table, keys, "sk, #v", &names).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let id = super::get_s(item, "sk")?.strip_prefix("ORDER#")?;
                let version = Utc.timestamp_millis_opt(get_i64(item, "version")?).single()?;
                Some((id.to_owned(), version))
            })
            .collect())
    }

    async fn put_order(
        &self,
        account: &str,
        order: &Order,
        only_if_stored: bool,
    ) -> Result<PutOutcome, StoreError> {
        let condition = if only_if_stored {
            "attribute_exists(pk) AND #v < :v"
        } else {
            "attribute_not_exists(pk) OR #v < :v"
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::item(account, order)?))
            .condition_expression(condition)
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", n(order.last_updated.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Written),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(PutOutcome::NotNewer),
                _ => Err(unavailable("PutItem", err)),
            },
        }
    }

    async fn get_order(&self, account: &str, order_id: &str) -> Result<Option<Order>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(account)))
            .key("sk", s(order_sk(order_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        let Some(mut item) = output.item else {
            return Ok(None);
        };
        let body = item.remove("order").ok_or_else(|| StoreError::Corrupt {
            key: order_sk(order_id),
            reason: "no `order` attribute".into(),
        })?;
        serde_dynamo::from_attribute_value(body)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                key: order_sk(order_id),
                reason: e.to_string(),
            })
    }
}
