//! `DynamoOrderStore`: orders in the orders table, written only when new or newer.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use super::keys::{
    account_pk, order_part_sk, order_sk, order_updated_sk, quarantine_sk, timestamp, to_ship_sk,
};
use super::{Item, batch_get, batch_put, get_i64, n, put_item, s};
use crate::adapters::unavailable;
use crate::domain::{
    BuyerPii, FbaShipmentItem, Order, OrderDetails, OrderPii, StoredVersion, UnshippedOrder,
};
use crate::error::StoreError;
use crate::ports::{OrderQuery, OrderStore, Page, PutOutcome, QuarantinedRow, TokenedOrder};

/// The attribute marking a copy ahead of the reports; every other write leaves it out.
const AHEAD: &str = "ahead_of_reports";

/// The `details-due` index's keys, on an order item awaiting its `getOrder` details
/// ([`crate::domain::awaits_details`]): the account, and the version and id ([`order_updated_sk`]).
const DUE_PK: &str = "gsi3pk";
const DUE_SK: &str = "gsi3sk";

fn is_ahead(item: &Item) -> bool {
    item.get(AHEAD)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

/// Queries one listing page may take: filters can leave most of a query's items out, so a page keeps reading
/// until it is full, but never for long; a short page still carries the cursor to go on.
const LIST_QUERIES_PER_PAGE: usize = 8;

/// Orders in DynamoDB. One item per order (`pk` = account, `sk` = `ORDER#<id>`) holding the whole order in
/// `order`, with `version` (last update, epoch milliseconds) deciding which copy is newer, and `write_token`
/// (random, new with every write) telling a merge whether the copy it read is still the one stored, and
/// `ahead_of_reports` (true, or absent) on a copy `getOrder` moved ahead of the reports ([`StoredVersion`]).
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

    /// The item of an order's `getOrder` details, at the answer's version.
    /// Details that need shipping are in the `to-ship` index, by latest ship date.
    pub(crate) fn details_item(account: &str, details: &OrderDetails) -> Result<Item, StoreError> {
        let sk = order_part_sk(&details.amazon_order_id, "DETAILS");
        let mut item = Self::part(account, sk, "order_details", "details", details)?;
        item.insert("version".into(), n(details.last_updated.timestamp_millis()));
        if details.needs_shipping() {
            let order_id = &details.amazon_order_id;
            item.insert("gsi2pk".into(), s(account_pk(account)));
            item.insert("gsi2sk".into(), s(to_ship_sk(details.ship_by.latest, order_id)));
        }
        Ok(item)
    }

    /// The item of the PII of an order's `getOrder` answer, removed by TTL at `expires_at`.
    pub(crate) fn order_pii_item(
        account: &str,
        details: &OrderDetails,
        pii: &OrderPii,
        expires_at: DateTime<Utc>,
    ) -> Result<Item, StoreError> {
        let sk = order_part_sk(&details.amazon_order_id, "ORDERPII");
        let mut item = Self::part(account, sk, "order_pii", "pii", pii)?;
        item.insert("expires_at".into(), n(expires_at.timestamp()));
        item.insert("version".into(), n(details.last_updated.timestamp_millis()));
        Ok(item)
    }

    /// The item of an order moved ahead of the reports ([`StoredVersion`]).
    pub(crate) fn ahead_item(account: &str, order: &Order) -> Result<Item, StoreError> {
        let mut item = Self::item(account, order)?;
        item.insert(AHEAD.into(), AttributeValue::Bool(true));
        // Written with the details of its version: not awaiting them.
        item.remove(DUE_PK);
        item.remove(DUE_SK);
        Ok(item)
    }

    pub(crate) fn item(account: &str, order: &Order) -> Result<Item, StoreError> {
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
            ("write_token".into(), s(new_write_token())),
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
            item.insert("marketplace_id".into(), s(marketplace.as_str()));
        }
        if crate::domain::awaits_details(order) {
            item.insert(DUE_PK.into(), s(account_pk(account)));
            item.insert(
                DUE_SK.into(),
                s(order_updated_sk(order.last_updated, &order.amazon_order_id)),
            );
        }
        Ok(item)
    }
}

/// A token no other write of the same item has: 128 random bits.
fn new_write_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl DynamoOrderStore {
    /// The item of one order, read consistently.
    async fn get_order_item(&self, account: &str, order_id: &str) -> Result<Option<Item>, StoreError> {
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
        Ok(output.item)
    }

    /// An order's part item (`sk` from [`order_part_sk`]), read consistently.
    async fn get_part(&self, account: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(account)))
            .key("sk", s(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        Ok(output.item)
    }

    /// The body `body_name` of a part item.
    fn body_of<T: serde::de::DeserializeOwned>(
        sk: &str,
        item: &mut Item,
        body_name: &str,
    ) -> Result<T, StoreError> {
        let body = item.remove(body_name).ok_or_else(|| StoreError::Corrupt {
            key: sk.to_owned(),
            reason: format!("no `{body_name}` attribute"),
        })?;
        serde_dynamo::from_attribute_value(body).map_err(|e| StoreError::Corrupt {
            key: sk.to_owned(),
            reason: e.to_string(),
        })
    }

    /// The order an order item holds.
    fn order_of(order_id: &str, item: &mut Item) -> Result<Order, StoreError> {
        let body = item.remove("order").ok_or_else(|| StoreError::Corrupt {
            key: order_sk(order_id),
            reason: "no `order` attribute".into(),
        })?;
        serde_dynamo::from_attribute_value(body).map_err(|e| StoreError::Corrupt {
            key: order_sk(order_id),
            reason: e.to_string(),
        })
    }

    /// A conditional put; `NotNewer` when the condition fails. `#v` names `version` and `#t` `write_token`;
    /// `values` are the condition's values.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<PutOutcome, StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if condition.contains("#v") {
            request = request.expression_attribute_names("#v", "version");
        }
        if condition.contains("#t") {
            request = request.expression_attribute_names("#t", "write_token");
        }
        if condition.contains("#a") {
            request = request.expression_attribute_names("#a", AHEAD);
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(PutOutcome::Written),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(PutOutcome::NotNewer),
                _ => Err(unavailable("PutItem", err)),
            },
        }
    }

    fn part(
        account: &str,
        sk: String,
        kind: &str,
        body_name: &str,
        body: &impl Serialize,
    ) -> Result<Item, StoreError> {
        let encoded = serde_dynamo::to_attribute_value(body).map_err(|e| StoreError::Corrupt {
            key: sk.clone(),
            reason: format!("cannot be encoded: {e}"),
        })?;
        Ok(Item::from([
            ("pk".into(), s(account_pk(account))),
            ("sk".into(), s(sk)),
            ("kind".into(), s(kind)),
            (body_name.into(), encoded),
        ]))
    }
}

#[async_trait]
impl OrderStore for DynamoOrderStore {
    async fn order_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, StoredVersion>, StoreError> {
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
        let items = batch_get(
            &self.client,
            &self.table,
            keys,
            &format!("sk, #v, {AHEAD}"),
            &names,
        )
        .await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let id = super::get_s(item, "sk")?.strip_prefix("ORDER#")?;
                let last_updated = Utc.timestamp_millis_opt(get_i64(item, "version")?).single()?;
                let version = StoredVersion {
                    last_updated,
                    ahead_of_reports: is_ahead(item),
                };
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
        // `StoredVersion::is_replaced_by`, as a condition.
        let condition = if only_if_stored {
            "attribute_exists(pk) AND (#v < :v OR (#v = :v AND #a = :ahead))"
        } else {
            "attribute_not_exists(pk) OR #v < :v OR (#v = :v AND #a = :ahead)"
        };
        let version = n(order.last_updated.timestamp_millis());
        let values = vec![(":v", version), (":ahead", AttributeValue::Bool(true))];
        self.put_if(Self::item(account, order)?, condition, values).await
    }

    async fn put_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError> {
        let item = Self::ahead_item(account, order)?;
        let version = n(order.last_updated.timestamp_millis());
        self.put_if(item, "attribute_exists(pk) AND #v < :v", vec![(":v", version)])
            .await
    }

    async fn create_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError> {
        let item = Self::ahead_item(account, order)?;
        self.put_if(item, "attribute_not_exists(pk)", Vec::new()).await
    }

    async fn get_tokened_order(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<TokenedOrder>, StoreError> {
        let Some(mut item) = self.get_order_item(account, order_id).await? else {
            return Ok(None);
        };
        let token = super::get_s(&item, "write_token").map(str::to_owned);
        let ahead_of_reports = is_ahead(&item);
        let order = Self::order_of(order_id, &mut item)?;
        Ok(Some(TokenedOrder {
            order,
            token,
            ahead_of_reports,
        }))
    }

    async fn merge_order(
        &self,
        account: &str,
        order: &Order,
        read_token: Option<&str>,
    ) -> Result<PutOutcome, StoreError> {
        let mut values = vec![(":v", n(order.last_updated.timestamp_millis()))];
        let condition = match read_token {
            Some(token) => {
                values.push((":t", s(token)));
                "#v = :v AND #t = :t"
            }
            None => "#v = :v AND attribute_not_exists(#t)",
        };
        self.put_if(Self::item(account, order)?, condition, values).await
    }

    async fn unshipped_fingerprints(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, u64>, StoreError> {
        let keys = order_ids
            .iter()
            .map(|id| {
                let sk = order_part_sk(id, "UNSHIPPED");
                Item::from([("pk".into(), s(account_pk(account))), ("sk".into(), s(sk))])
            })
            .collect();
        let found = batch_get(
            &self.client,
            &self.table,
            keys,
            "sk, fingerprint",
            &HashMap::new(),
        )
        .await?;
        Ok(found
            .iter()
            .filter_map(|item| {
                let id = super::get_s(item, "sk")?
                    .strip_prefix("ORDER#")?
                    .strip_suffix("#UNSHIPPED")?;
                let fingerprint = item.get("fingerprint")?.as_s().ok()?.parse().ok()?;
                Some((id.to_owned(), fingerprint))
            })
            .collect())
    }

    async fn put_unshipped(
        &self,
        account: &str,
        order: &UnshippedOrder,
        fingerprint: u64,
    ) -> Result<(), StoreError> {
        let sk = order_part_sk(&order.amazon_order_id, "UNSHIPPED");
        let mut item = Self::part(account, sk, "unshipped", "unshipped", order)?;
        // As a string: a u64 may not fit DynamoDB's number precision unchanged.
        item.insert("fingerprint".into(), s(fingerprint.to_string()));
        put_item(&self.client, &self.table, item).await
    }

    async fn put_buyer(
        &self,
        account: &str,
        buyer: &BuyerPii,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sk = order_part_sk(&buyer.amazon_order_id, "PII");
        let mut item = Self::part(account, sk, "buyer_pii", "buyer", buyer)?;
        item.insert("expires_at".into(), n(expires_at.timestamp()));
        put_item(&self.client, &self.table, item).await
    }

    async fn get_order_details(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<OrderDetails>, StoreError> {
        let sk = order_part_sk(order_id, "DETAILS");
        match self.get_part(account, &sk).await? {
            Some(mut item) => Self::body_of(&sk, &mut item, "details").map(Some),
            None => Ok(None),
        }
    }

    async fn put_order_details(
        &self,
        account: &str,
        details: &OrderDetails,
        pii: Option<(&OrderPii, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        // Two parsers can enrich the same order at once with answers of different ages: each part is written
        // only over an older one, so the older answer, written last, changes nothing.
        let version = n(details.last_updated.timestamp_millis());
        let newer = "attribute_not_exists(pk) OR #v < :v";
        if let Some((pii, expires_at)) = pii {
            let item = Self::order_pii_item(account, details, pii, expires_at)?;
            self.put_if(item, newer, vec![(":v", version.clone())]).await?;
        }
        let item = Self::details_item(account, details)?;
        self.put_if(item, newer, vec![(":v", version)]).await?;
        Ok(())
    }

    async fn get_order_pii(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<(OrderPii, DateTime<Utc>)>, StoreError> {
        let sk = order_part_sk(order_id, "ORDERPII");
        let Some(mut item) = self.get_part(account, &sk).await? else {
            return Ok(None);
        };
        let expires_at = get_i64(&item, "expires_at")
            .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
            .ok_or_else(|| StoreError::Corrupt {
                key: sk.clone(),
                reason: "no `expires_at` attribute".into(),
            })?;
        Self::body_of(&sk, &mut item, "pii").map(|pii| Some((pii, expires_at)))
    }

    async fn stored_shipment_items(
        &self,
        account: &str,
        items: &[&FbaShipmentItem],
    ) -> Result<HashSet<String>, StoreError> {
        let keys = items
            .iter()
            .map(|item| {
                let sk = order_part_sk(&item.amazon_order_id, &format!("SHIP#{}", item.shipment_item_id));
                Item::from([("pk".into(), s(account_pk(account))), ("sk".into(), s(sk))])
            })
            .collect();
        let found = batch_get(&self.client, &self.table, keys, "sk", &HashMap::new()).await?;
        Ok(found
            .iter()
            .filter_map(|item| {
                super::get_s(item, "sk")?
                    .rsplit_once("#SHIP#")
                    .map(|(_, id)| id.to_owned())
            })
            .collect())
    }

    async fn put_shipment_item(
        &self,
        account: &str,
        item: &FbaShipmentItem,
    ) -> Result<PutOutcome, StoreError> {
        let sk = order_part_sk(&item.amazon_order_id, &format!("SHIP#{}", item.shipment_item_id));
        let stored = Self::part(account, sk, "fba_shipment_item", "shipment", item)?;
        self.put_if(stored, "attribute_not_exists(pk)", vec![]).await
    }

    async fn quarantine(&self, account: &str, rows: &[QuarantinedRow]) -> Result<(), StoreError> {
        let items = rows
            .iter()
            .map(|row| {
                Self::part(
                    account,
                    quarantine_sk(&row.report_id, row.line),
                    "quarantine",
                    "row",
                    row,
                )
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        batch_put(&self.client, &self.table, items).await
    }

    async fn list_orders(&self, account: &str, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        let limit = query.limit.clamp(1, 1000) as usize;
        let pk = account_pk(account);
        let mut filters = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::from([(":pk".to_owned(), s(&pk))]);
        if let Some(status) = &query.status {
            filters.push("#st = :st");
            names.insert("#st".to_owned(), "status".to_owned());
            values.insert(":st".to_owned(), s(status.as_str()));
        }
        if let Some(channel) = query.channel {
            filters.push("fulfillment_channel = :ch");
            values.insert(":ch".to_owned(), s(channel.as_str()));
        }
        if let Some(marketplace) = &query.marketplace_id {
            filters.push("marketplace_id = :mp");
            values.insert(":mp".to_owned(), s(marketplace.as_str()));
        }
        let key_condition = match query.updated_since {
            Some(since) => {
                values.insert(":since".to_owned(), s(timestamp(since)));
                "gsi1pk = :pk AND gsi1sk >= :since"
            }
            None => "gsi1pk = :pk",
        };
        let filter = (!filters.is_empty()).then(|| filters.join(" AND "));

        let mut start = query.after.as_deref().and_then(|cursor| {
            let (_, order_id) = cursor.split_once('#')?;
            Some(Item::from([
                ("pk".into(), s(&pk)),
                ("sk".into(), s(order_sk(order_id))),
                ("gsi1pk".into(), s(&pk)),
                ("gsi1sk".into(), s(cursor)),
            ]))
        });
        let mut orders = Vec::new();
        let mut next = None;
        for _ in 0..LIST_QUERIES_PER_PAGE {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("by-updated")
                .key_condition_expression(key_condition)
                .set_filter_expression(filter.clone())
                .set_expression_attribute_names((!names.is_empty()).then(|| names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .limit((limit - orders.len()) as i32)
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            for mut item in output.items.unwrap_or_default() {
                let cursor = super::get_s(&item, "gsi1sk").map(str::to_owned);
                let key = cursor.clone().unwrap_or_default();
                let body = item.remove("order").ok_or_else(|| StoreError::Corrupt {
                    key: key.clone(),
                    reason: "no `order` attribute".into(),
                })?;
                let order: Order =
                    serde_dynamo::from_attribute_value(body).map_err(|e| StoreError::Corrupt {
                        key,
                        reason: e.to_string(),
                    })?;
                orders.push(order);
                next = cursor;
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                // The last page: nothing after the last order.
                next = None;
                break;
            }
            if orders.len() >= limit {
                break;
            }
            next = start
                .as_ref()
                .and_then(|key| super::get_s(key, "gsi1sk"))
                .map(str::to_owned);
        }
        Ok(Page { items: orders, next })
    }

    async fn orders_to_ship(
        &self,
        account: &str,
        marketplace_id: Option<&str>,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<(Order, OrderDetails)>, StoreError> {
        let limit = limit.clamp(1, 1000) as usize;
        let pk = account_pk(account);
        let values = HashMap::from([(":pk".to_owned(), s(&pk))]);
        let mut start = after.and_then(|cursor| {
            let (_, order_id) = cursor.split_once('#')?;
            Some(Item::from([
                ("pk".into(), s(&pk)),
                ("sk".into(), s(order_part_sk(order_id, "DETAILS"))),
                ("gsi2pk".into(), s(&pk)),
                ("gsi2sk".into(), s(cursor)),
            ]))
        });
        let mut found = Vec::new();
        let mut next = None;
        for _ in 0..LIST_QUERIES_PER_PAGE {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("to-ship")
                .key_condition_expression("gsi2pk = :pk")
                .set_expression_attribute_values(Some(values.clone()))
                .set_exclusive_start_key(start.take())
                .limit((limit - found.len()) as i32)
                .send()
                .await
                .map_err(|e| unavailable("Query", e))?;
            let entries: Vec<(String, String)> = output
                .items
                .unwrap_or_default()
                .iter()
                .filter_map(|entry| {
                    let cursor = super::get_s(entry, "gsi2sk")?;
                    let (_, order_id) = cursor.split_once('#')?;
                    Some((cursor.to_owned(), order_id.to_owned()))
                })
                .collect();
            // The orders and their details, read together; an entry whose order no longer needs shipping (the
            // reports moved it on since its details were read) is left out.
            let keys = entries
                .iter()
                .flat_map(|(_, order_id)| [order_sk(order_id), order_part_sk(order_id, "DETAILS")])
                .map(|sk| Item::from([("pk".into(), s(&pk)), ("sk".into(), s(sk))]))
                .collect();
            let names = HashMap::from([("#o".to_owned(), "order".to_owned())]);
            let items = batch_get(&self.client, &self.table, keys, "sk, #o, details", &names).await?;
            let mut orders = HashMap::new();
            let mut details = HashMap::new();
            for mut item in items {
                let sk = super::get_s(&item, "sk").unwrap_or_default().to_owned();
                if let Some(id) = sk.strip_prefix("ORDER#").and_then(|r| r.strip_suffix("#DETAILS")) {
                    let id = id.to_owned();
                    details.insert(id, Self::body_of::<OrderDetails>(&sk, &mut item, "details")?);
                } else if let Some(id) = sk.strip_prefix("ORDER#") {
                    let id = id.to_owned();
                    orders.insert(id.clone(), Self::order_of(&id, &mut item)?);
                }
            }
            for (cursor, order_id) in entries {
                next = Some(cursor);
                let (Some(order), Some(details)) = (orders.remove(&order_id), details.remove(&order_id))
                else {
                    continue;
                };
                let marketplace_matches =
                    marketplace_id.is_none_or(|m| order.marketplace_id.as_deref() == Some(m));
                if marketplace_matches && crate::domain::still_to_ship(&order, &details) {
                    found.push((order, details));
                }
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                next = None;
                break;
            }
            if found.len() >= limit {
                break;
            }
            next = start
                .as_ref()
                .and_then(|key| super::get_s(key, "gsi2sk"))
                .map(str::to_owned);
        }
        Ok(Page { items: found, next })
    }

    async fn orders_awaiting_details(
        &self,
        account: &str,
        limit: u32,
        newest_first: bool,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("details-due")
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", DUE_PK)
            .expression_attribute_values(":pk", s(account_pk(account)))
            .scan_index_forward(!newest_first)
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| unavailable("Query", e))?;
        output
            .items
            .unwrap_or_default()
            .iter()
            .map(|entry| {
                let sort_key = super::get_s(entry, DUE_SK).unwrap_or_default();
                let corrupt = || StoreError::Corrupt {
                    key: sort_key.to_owned(),
                    reason: "not a `<version>#<order id>` details-due key".into(),
                };
                let (at, order_id) = sort_key.split_once('#').ok_or_else(corrupt)?;
                let version = DateTime::parse_from_rfc3339(at).map_err(|_| corrupt())?;
                Ok((order_id.to_owned(), version.with_timezone(&Utc)))
            })
            .collect()
    }

    async fn details_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        // BatchGetItem refuses a request that names a key twice.
        let unique: HashSet<&str> = order_ids.iter().copied().collect();
        let keys = unique
            .into_iter()
            .map(|id| {
                Item::from([
                    ("pk".into(), s(account_pk(account))),
                    ("sk".into(), s(order_part_sk(id, "DETAILS"))),
                ])
            })
            .collect();
        let names = HashMap::from([("#v".to_owned(), "version".to_owned())]);
        let items = batch_get(&self.client, &self.table, keys, "sk, #v", &names).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let sk = super::get_s(item, "sk")?;
                let id = sk.strip_prefix("ORDER#")?.strip_suffix("#DETAILS")?;
                let version = Utc.timestamp_millis_opt(get_i64(item, "version")?).single()?;
                Some((id.to_owned(), version))
            })
            .collect())
    }

    async fn clear_awaiting_details(
        &self,
        account: &str,
        order_id: &str,
        version: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(account)))
            .key("sk", s(order_sk(order_id)))
            .update_expression("REMOVE #pk, #sk")
            .condition_expression("attribute_exists(#pk) AND #v <= :v")
            .expression_attribute_names("#pk", DUE_PK)
            .expression_attribute_names("#sk", DUE_SK)
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", n(version.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // No mark, or a newer copy's: nothing to clear.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(unavailable("UpdateItem", err)),
        }
    }

    async fn get_order(&self, account: &str, order_id: &str) -> Result<Option<Order>, StoreError> {
        match self.get_order_item(account, order_id).await? {
            Some(mut item) => Self::order_of(order_id, &mut item).map(Some),
            None => Ok(None),
        }
    }
}
