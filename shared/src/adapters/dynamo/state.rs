//! `DynamoStateStore`: seller accounts and report jobs in the state table.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{
    ACCOUNT_SK, ACCOUNTS_KIND, BACKFILLS_RUNNING_KIND, IDEMPOTENCY_SK, REPORTS_DUE_KIND, account_pk,
    backfill_running_sk, backfill_sk, idempotency_pk, job_due_sk, job_sk, timestamp,
};
use super::{Item, get_s, n, put_item, put_new_item, put_versioned, s, written};
use crate::adapters::unavailable;
use crate::domain::{
    Backfill, BackfillStatus, Connection, ImportStatus, JobPrecondition, NotificationStatus, Problem,
    ReportJob, SellerAccount,
};
use crate::error::StoreError;
use crate::ports::{
    AccountRecord, AccountStore, IdempotencyRecord, IdempotencyStore, JobStore, Page, StoredResponse,
};

/// Accounts, report jobs, backfills and API idempotency keys in DynamoDB.
///
/// An account is one item (`ACCOUNT#<id>`, `ACCOUNT`) with its settings in `settings` and its import status in
/// separate attributes, so that the API's settings writes and the functions' status writes never overwrite
/// each other. A report job is `ACCOUNT#<id>`, `REPORT#<key>`; while pending it is also listed in the `by-kind`
/// index under the time of its next poll. A backfill is `ACCOUNT#<id>`, `BACKFILL#<backfill id>`, listed in
/// `by-kind` while it runs. An idempotency key is `IDEMPOTENCY#<key>`, `IDEMPOTENCY`, removed by the table's
/// TTL (`expires_at`) and ignored once expired, since TTL deletes lazily.
#[derive(Debug, Clone)]
pub struct DynamoStateStore {
    pub(super) client: aws_sdk_dynamodb::Client,
    pub(super) table: String,
}

impl DynamoStateStore {
    /// A store over the state table `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoStateStore {
            client,
            table: table.into(),
        }
    }

    /// An update of an existing account's attributes when `condition` (if any) holds; a vanished account, or
    /// a failed condition, leaves the item alone.
    async fn update_account(
        &self,
        id: &str,
        expression: &str,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), StoreError> {
        let condition = match condition {
            Some(extra) => format!("attribute_exists(pk) AND ({extra})"),
            None => "attribute_exists(pk)".to_owned(),
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .key("sk", s(ACCOUNT_SK))
            .update_expression(expression)
            .condition_expression(condition);
        for (name, value) in names {
            request = request.expression_attribute_names(*name, *value);
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(unavailable("UpdateItem", err)),
            },
        }
    }

    /// The item at (`pk`, `sk`), read consistently, with its `attribute` decoded; `None` when there is none.
    pub(super) async fn get_decoded<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
        attribute: &str,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        output
            .item
            .map(|mut item| decode(&mut item, attribute))
            .transpose()
    }

    /// A page of the account's items whose sort key starts with `prefix`, newest (highest key) first, each
    /// decoded from `attribute`; the cursor is the last item's sort key.
    pub(super) async fn newest_first<T: DeserializeOwned>(
        &self,
        account: &str,
        prefix: &str,
        attribute: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<T>, StoreError> {
        if after.is_some_and(|after| !after.starts_with(prefix)) {
            // A cursor of another listing, or made up: nothing of this listing follows it (DynamoDB would
            // refuse a start key outside the query's keys).
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(account_pk(account)))
            .expression_attribute_values(":p", s(prefix))
            .scan_index_forward(false)
            .limit(limit.clamp(1, 1000) as i32);
        if let Some(after) = after {
            request = request
                .exclusive_start_key("pk", s(account_pk(account)))
                .exclusive_start_key("sk", s(after));
        }
        let (items, last) = self.query_page(request).await?;
        let items = items
            .into_iter()
            .map(|mut item| decode(&mut item, attribute))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next: cursor(last, "sk"),
        })
    }

    pub(super) async fn query_page(
        &self,
        request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let output = request.send().await.map_err(|e| unavailable("Query", e))?;
        Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
    }
}

pub(super) fn encode<T: Serialize>(key: &str, value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        reason: format!("cannot be encoded: {e}"),
    })
}

pub(super) fn decode<T: DeserializeOwned>(item: &mut Item, attribute: &str) -> Result<T, StoreError> {
    let key = format!(
        "{}/{}",
        get_s(item, "pk").unwrap_or("?"),
        get_s(item, "sk").unwrap_or("?")
    );
    let value = item.remove(attribute).ok_or_else(|| StoreError::Corrupt {
        key: key.clone(),
        reason: format!("no `{attribute}` attribute"),
    })?;
    serde_dynamo::from_attribute_value(value).map_err(|e| StoreError::Corrupt {
        key,
        reason: e.to_string(),
    })
}

fn time_attribute(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    get_s(item, name).and_then(|t| t.parse().ok())
}

fn account_record(mut item: Item) -> Result<AccountRecord, StoreError> {
    let account: SellerAccount = decode(&mut item, "settings")?;
    let problem: Option<Problem> = if item.contains_key("problem") {
        Some(decode(&mut item, "problem")?)
    } else {
        None
    };
    let connection = match get_s(&item, "connection_state") {
        Some("connected") => Connection::Connected,
        Some("disconnected") => Connection::Disconnected,
        _ => Connection::Unknown,
    };
    let status = ImportStatus {
        connection,
        problem,
        last_successful_import: time_attribute(&item, "last_success"),
        watermarks: item
            .get("watermarks")
            .and_then(|v| v.as_m().ok())
            .map(|map| {
                map.iter()
                    .filter_map(|(report_type, at)| {
                        Some((report_type.clone(), at.as_s().ok()?.parse().ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        last_throttled_at: time_attribute(&item, "throttled_at"),
        notifications: if item.contains_key("notifications") {
            Some(decode(&mut item, "notifications")?)
        } else {
            None
        },
    };
    Ok(AccountRecord { account, status })
}

fn connection_name(connection: Connection) -> &'static str {
    match connection {
        Connection::Unknown => "unknown",
        Connection::Connected => "connected",
        Connection::Disconnected => "disconnected",
    }
}

/// The opaque cursor of a page: the last key's sort value, which with the fixed partition is the whole key.
fn cursor(last_key: Option<Item>, attribute: &str) -> Option<String> {
    last_key.and_then(|key| get_s(&key, attribute).map(str::to_owned))
}

#[async_trait]
impl AccountStore for DynamoStateStore {
    async fn create_account(&self, account: &SellerAccount) -> Result<bool, StoreError> {
        let item = Item::from([
            ("pk".into(), s(account_pk(&account.id))),
            ("sk".into(), s(ACCOUNT_SK)),
            ("kind".into(), s("account")),
            ("settings".into(), encode(&account.id, account)?),
            ("connection_state".into(), s(connection_name(Connection::Unknown))),
            // Per report type; the map must exist for `SET watermarks.#t` to work.
            ("watermarks".into(), AttributeValue::M(Default::default())),
            ("gsi1pk".into(), s(ACCOUNTS_KIND)),
            ("gsi1sk".into(), s(&account.id)),
        ]);
        put_new_item(&self.client, &self.table, item).await
    }

    async fn save_settings(&self, account: &SellerAccount) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(&account.id)))
            .key("sk", s(ACCOUNT_SK))
            .update_expression("SET settings = :s")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":s", encode(&account.id, account)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(unavailable("UpdateItem", err)),
            },
        }
    }

    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .key("sk", s(ACCOUNT_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        output.item.map(account_record).transpose()
    }

    async fn list_accounts(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<AccountRecord>, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by-kind")
            .key_condition_expression("gsi1pk = :k")
            .expression_attribute_values(":k", s(ACCOUNTS_KIND))
            .limit(limit.clamp(1, 1000) as i32);
        if let Some(after) = after {
            request = request
                .exclusive_start_key("gsi1pk", s(ACCOUNTS_KIND))
                .exclusive_start_key("gsi1sk", s(after))
                .exclusive_start_key("pk", s(account_pk(after)))
                .exclusive_start_key("sk", s(ACCOUNT_SK));
        }
        let (items, last) = self.query_page(request).await?;
        let items = items.into_iter().map(account_record).collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            next: cursor(last, "gsi1sk"),
        })
    }

    async fn delete_account(&self, id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(id)))
            .key("sk", s(ACCOUNT_SK))
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem", e))?;
        Ok(())
    }

    async fn record_problem(&self, id: &str, problem: &Problem) -> Result<(), StoreError> {
        let connection = if problem.kind.needs_action() {
            Connection::Disconnected
        } else {
            Connection::Connected
        };
        let values = vec![
            (":p", encode(id, problem)?),
            (":c", s(connection_name(connection))),
        ];
        self.update_account(id, "SET problem = :p, connection_state = :c", None, &[], values)
            .await
    }

    async fn record_connected(&self, id: &str) -> Result<(), StoreError> {
        let values = vec![(":c", s(connection_name(Connection::Connected)))];
        self.update_account(id, "SET connection_state = :c REMOVE problem", None, &[], values)
            .await
    }

    async fn record_import(
        &self,
        id: &str,
        at: DateTime<Utc>,
        watermark: Option<(&str, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        self.record_connected(id).await?;
        // Parsers finish out of order: the last success and the watermarks only ever move forward.
        let newer = "attribute_not_exists(last_success) OR last_success < :at";
        self.update_account(
            id,
            "SET last_success = :at",
            Some(newer),
            &[],
            vec![(":at", s(timestamp(at)))],
        )
        .await?;
        if let Some((report_type, watermark)) = watermark {
            let newer = "attribute_not_exists(watermarks.#t) OR watermarks.#t < :w";
            let values = vec![(":w", s(timestamp(watermark)))];
            self.update_account(
                id,
                "SET watermarks.#t = :w",
                Some(newer),
                &[("#t", report_type)],
                values,
            )
            .await?;
        }
        Ok(())
    }

    async fn record_throttled(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.update_account(
            id,
            "SET throttled_at = :t",
            None,
            &[],
            vec![(":t", s(timestamp(at)))],
        )
        .await
    }

    async fn record_notifications(&self, id: &str, status: &NotificationStatus) -> Result<(), StoreError> {
        // Two checks at once (a tick and a connect) both tell what Amazon said; the later check's word stays.
        let newer = "attribute_not_exists(notifications_checked) OR notifications_checked < :at";
        self.update_account(
            id,
            "SET notifications = :n, notifications_checked = :at",
            Some(newer),
            &[],
            vec![
                (":n", encode(id, status)?),
                (":at", s(timestamp(status.checked_at))),
            ],
        )
        .await
    }
}

#[async_trait]
impl JobStore for DynamoStateStore {
    async fn put_job(
        &self,
        job: &ReportJob,
        next_poll: Option<DateTime<Utc>>,
        expected: JobPrecondition,
    ) -> Result<bool, StoreError> {
        let key = job.key();
        let mut item = Item::from([
            ("pk".into(), s(account_pk(&job.account_id))),
            ("sk".into(), s(job_sk(&key))),
            ("kind".into(), s("report_job")),
            ("job".into(), encode(&key, job)?),
            ("state".into(), s(job.state.name())),
            ("version".into(), n(job.version)),
        ]);
        if let (true, Some(due)) = (job.state.is_watched(), next_poll) {
            item.insert("gsi1pk".into(), s(REPORTS_DUE_KIND));
            item.insert("gsi1sk".into(), s(job_due_sk(due, &job.account_id, &key)));
        }
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        request = match expected {
            JobPrecondition::New => request.condition_expression("attribute_not_exists(pk)"),
            JobPrecondition::InStates(states) => {
                let placeholders: Vec<String> = (0..states.len()).map(|i| format!(":s{i}")).collect();
                let mut request = request
                    .condition_expression(format!("#st IN ({})", placeholders.join(", ")))
                    .expression_attribute_names("#st", "state");
                for (placeholder, state) in placeholders.iter().zip(states) {
                    request = request.expression_attribute_values(placeholder, s(*state));
                }
                request
            }
            JobPrecondition::Unchanged { state, version } => {
                // Jobs written before versions existed have no `version`: they are at version 0.
                let condition = if version == 0 {
                    "#st = :st AND (#v = :v OR attribute_not_exists(#v))"
                } else {
                    "#st = :st AND #v = :v"
                };
                request
                    .condition_expression(condition)
                    .expression_attribute_names("#st", "state")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":st", s(state))
                    .expression_attribute_values(":v", n(version))
            }
        };
        written("PutItem", request.send().await)
    }

    async fn get_job(&self, account: &str, job_key: &str) -> Result<Option<ReportJob>, StoreError> {
        self.get_decoded(account_pk(account), job_sk(job_key), "job")
            .await
    }

    async fn due_jobs(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ReportJob>, StoreError> {
        // `~` sorts after every character of a key, so the bound takes every job due at `now` exactly.
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by-kind")
            .key_condition_expression("gsi1pk = :k AND gsi1sk <= :now")
            .expression_attribute_values(":k", s(REPORTS_DUE_KIND))
            .expression_attribute_values(":now", s(format!("{}~", timestamp(now))))
            .limit(limit.clamp(1, 1000) as i32);
        let (items, _) = self.query_page(request).await?;
        items
            .into_iter()
            .map(|mut item| decode(&mut item, "job"))
            .collect()
    }

    async fn list_jobs(
        &self,
        account: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<ReportJob>, StoreError> {
        self.newest_first(account, "REPORT#", "job", after, limit).await
    }

    async fn save_backfill(&self, backfill: &Backfill, expected: Option<u64>) -> Result<bool, StoreError> {
        let key = format!("{}/{}", backfill.account_id, backfill.id);
        let mut item = Item::from([
            ("pk".into(), s(account_pk(&backfill.account_id))),
            ("sk".into(), s(backfill_sk(&backfill.id))),
            ("kind".into(), s("backfill")),
            ("backfill".into(), encode(&key, backfill)?),
            ("version".into(), n(backfill.version)),
        ]);
        if backfill.status() == BackfillStatus::Running {
            item.insert("gsi1pk".into(), s(BACKFILLS_RUNNING_KIND));
            item.insert(
                "gsi1sk".into(),
                s(backfill_running_sk(
                    backfill.created_at,
                    &backfill.account_id,
                    &backfill.id,
                )),
            );
        }
        put_versioned(&self.client, &self.table, item, expected).await
    }

    async fn get_backfill(&self, account: &str, id: &str) -> Result<Option<Backfill>, StoreError> {
        self.get_decoded(account_pk(account), backfill_sk(id), "backfill")
            .await
    }

    async fn running_backfills(&self, limit: u32) -> Result<Vec<Backfill>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by-kind")
            .key_condition_expression("gsi1pk = :k")
            .expression_attribute_values(":k", s(BACKFILLS_RUNNING_KIND))
            .limit(limit.clamp(1, 1000) as i32);
        let (items, _) = self.query_page(request).await?;
        items
            .into_iter()
            .map(|mut item| decode(&mut item, "backfill"))
            .collect()
    }
}

#[async_trait]
impl IdempotencyStore for DynamoStateStore {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        // A key released between our put and our read is free again: claim it anew, a few times at most.
        for _ in 0..3 {
            let item = Item::from([
                ("pk".into(), s(idempotency_pk(key))),
                ("sk".into(), s(IDEMPOTENCY_SK)),
                ("kind".into(), s("idempotency_key")),
                ("fingerprint".into(), s(fingerprint)),
                ("expires_at".into(), n(expires_at.timestamp())),
            ]);
            let claimed = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
                .expression_attribute_values(":now", n(now.timestamp()))
                .send()
                .await;
            match claimed {
                Ok(_) => return Ok(None),
                Err(err) => match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(_)) => {}
                    _ => return Err(unavailable("PutItem", err)),
                },
            }
            let output = self
                .client
                .get_item()
                .table_name(&self.table)
                .key("pk", s(idempotency_pk(key)))
                .key("sk", s(IDEMPOTENCY_SK))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| unavailable("GetItem", e))?;
            let Some(mut item) = output.item else { continue };
            let response: Option<StoredResponse> = if item.contains_key("response") {
                Some(decode(&mut item, "response")?)
            } else {
                None
            };
            return Ok(Some(IdempotencyRecord {
                fingerprint: get_s(&item, "fingerprint").unwrap_or_default().to_owned(),
                response,
            }));
        }
        Err(StoreError::Unavailable {
            operation: "PutItem",
            message: "idempotency key contended three times in a row".into(),
        })
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let item = Item::from([
            ("pk".into(), s(idempotency_pk(key))),
            ("sk".into(), s(IDEMPOTENCY_SK)),
            ("kind".into(), s("idempotency_key")),
            ("fingerprint".into(), s(fingerprint)),
            ("response".into(), encode(key, response)?),
            ("expires_at".into(), n(expires_at.timestamp())),
        ]);
        put_item(&self.client, &self.table, item).await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(idempotency_pk(key)))
            .key("sk", s(IDEMPOTENCY_SK))
            .condition_expression("attribute_not_exists(#r)")
            .expression_attribute_names("#r", "response")
            .send()
            .await
            .map_or_else(
                |err| match err.as_service_error() {
                    // Completed meanwhile: the response stays.
                    Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(()),
                    _ => Err(unavailable("DeleteItem", err)),
                },
                |_| Ok(()),
            )
    }
}
