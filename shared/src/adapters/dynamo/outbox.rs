//! The feed outbox in the state table.
//!
//! An action is `ACCOUNT#<id>`, `FEEDACTION#<action key>`; while queued it is listed in `by-kind` under
//! `FEED-QUEUED`, `<account>#<feed type>#<created>#<key>`, so a group's oldest action is the first of its
//! prefix and the groups are found by skipping from one prefix to the next. A submission is `ACCOUNT#<id>`,
//! `FEED#<submission id>`, listed under `FEED-OPEN` while it needs the submitter or the poller.
//!
//! An order's actions have a ledger, `ACCOUNT#<id>`, `FEEDLEDGER#<order id>`, holding a version. An order
//! action is written in one transaction with the ledger's version moved on, conditioned on the version its
//! writer read: of two requests that saw the same units left, one writes and the other decides again.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use futures::stream::{self, StreamExt, TryStreamExt};

use super::keys::{
    FEEDS_OPEN_KIND, FEEDS_QUEUED_KIND, account_pk, feed_action_sk, feed_ledger_sk, feed_open_sk,
    feed_queued_sk, feed_sk,
};
use super::state::{decode, encode};
use super::{
    DynamoStateStore, Item, batch_get, batch_put, get_i64, get_s, n, put_item, put_new_item, s, written,
};
use crate::adapters::unavailable;
use crate::domain::{ActionOrigin, ActionState, FeedAction, FeedSubmission, QueuedGroup};
use crate::error::StoreError;
use crate::feeds::FeedType;
use crate::ports::{AddOutcome, FeedStore, OrderLedger, Page};

/// Conditional writes of one move in flight at once.
const MOVES_IN_FLIGHT: usize = 16;

pub(crate) fn action_item(action: &FeedAction) -> Result<Item, StoreError> {
    let key = action.key();
    let mut item = Item::from([
        ("pk".into(), s(account_pk(&action.account_id))),
        ("sk".into(), s(feed_action_sk(&key))),
        ("kind".into(), s("feed_action")),
        ("action".into(), encode(&key, action)?),
        ("state".into(), s(action.state.name())),
    ]);
    if action.state == ActionState::Queued {
        item.insert("gsi1pk".into(), s(FEEDS_QUEUED_KIND));
        item.insert(
            "gsi1sk".into(),
            s(feed_queued_sk(
                &action.account_id,
                action.feed_type().as_str(),
                action.created_at,
                &key,
            )),
        );
    }
    Ok(item)
}

fn build_error(operation: &'static str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected {
        operation,
        message: err.to_string(),
    }
}

impl DynamoStateStore {
    /// Writes an order action and moves its order's ledger on, in one transaction (see the module's doc).
    async fn add_order_action(
        &self,
        action: &FeedAction,
        order_id: &str,
        ledger: Option<u64>,
    ) -> Result<AddOutcome, StoreError> {
        const OPERATION: &str = "TransactWriteItems";
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(action_item(action)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| build_error(OPERATION, e))?;
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(account_pk(&action.account_id)))
            .key("sk", s(feed_ledger_sk(order_id)))
            .update_expression("SET kind = :kind ADD #v :one")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":kind", s("feed_ledger"))
            .expression_attribute_values(":one", n(1));
        update = match ledger {
            None => update,
            Some(0) => update.condition_expression("attribute_not_exists(#v)"),
            Some(version) => update
                .condition_expression("#v = :v")
                .expression_attribute_values(":v", n(version)),
        };
        let update = update.build().map_err(|e| build_error(OPERATION, e))?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(AddOutcome::Added),
            Err(err) => err,
        };
        let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = err.as_service_error()
        else {
            return Err(unavailable(OPERATION, err));
        };
        // One reason per item, in order: the ledger's, then the action's.
        let codes: Vec<&str> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None"))
            .collect();
        match codes.as_slice() {
            [_, "ConditionalCheckFailed"] => Ok(AddOutcome::Exists),
            ["ConditionalCheckFailed" | "TransactionConflict", _] => Ok(AddOutcome::LedgerMoved),
            _ if codes.contains(&"ValidationError") => Err(StoreError::Rejected {
                operation: OPERATION,
                message: format!("ValidationError: {}", codes.join(", ")),
            }),
            _ => Err(unavailable(OPERATION, err)),
        }
    }

    /// Stores `action` if its stored copy is still in `from`; its key when it was stored.
    async fn move_action(
        &self,
        from: ActionOrigin<'_>,
        action: &FeedAction,
    ) -> Result<Option<String>, StoreError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(action_item(action)?))
            .expression_attribute_names("#st", "state");
        let request = match from {
            ActionOrigin::Queued => request
                .condition_expression("#st = :from")
                .expression_attribute_values(":from", s(ActionState::Queued.name())),
            // The submission is read inside the stored action (`ActionState` keeps its field names).
            ActionOrigin::SubmittedIn(submission) => request
                .condition_expression("#st = :from AND #a.#st.#sub = :sub")
                .expression_attribute_names("#a", "action")
                .expression_attribute_names("#sub", "submission_id")
                .expression_attribute_values(":from", s("submitted"))
                .expression_attribute_values(":sub", s(submission)),
        };
        Ok(written("PutItem", request.send().await)?.then(|| action.key()))
    }

    async fn query_all(
        &self,
        mut request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        loop {
            let (mut page, last) = self.query_page(request.clone()).await?;
            items.append(&mut page);
            match last {
                Some(last) if items.len() < limit => request = request.set_exclusive_start_key(Some(last)),
                _ => break,
            }
        }
        items.truncate(limit);
        Ok(items)
    }
}

#[async_trait]
impl FeedStore for DynamoStateStore {
    async fn add_action(&self, action: &FeedAction, ledger: Option<u64>) -> Result<AddOutcome, StoreError> {
        if let Some(order_id) = action.payload.order_id() {
            return self.add_order_action(action, order_id, ledger).await;
        }
        Ok(
            match put_new_item(&self.client, &self.table, action_item(action)?).await? {
                true => AddOutcome::Added,
                false => AddOutcome::Exists,
            },
        )
    }

    async fn save_actions(&self, actions: &[FeedAction]) -> Result<(), StoreError> {
        let items = actions.iter().map(action_item).collect::<Result<Vec<_>, _>>()?;
        batch_put(&self.client, &self.table, items).await
    }

    async fn move_actions(
        &self,
        from: ActionOrigin<'_>,
        actions: &[FeedAction],
    ) -> Result<Vec<String>, StoreError> {
        // The futures are made first: a mapping closure inside an `async_trait` method is not `Send` for
        // every lifetime, which the boxed future must be.
        let moves: Vec<_> = actions
            .iter()
            .map(|action| self.move_action(from, action))
            .collect();
        let moved: Vec<Option<String>> = stream::iter(moves)
            .buffer_unordered(MOVES_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(moved.into_iter().flatten().collect())
    }

    async fn get_actions(&self, account: &str, keys: &[String]) -> Result<Vec<FeedAction>, StoreError> {
        let item_keys: Vec<Item> = keys
            .iter()
            .map(|key| {
                Item::from([
                    ("pk".into(), s(account_pk(account))),
                    ("sk".into(), s(feed_action_sk(key))),
                ])
            })
            .collect();
        let found = batch_get(
            &self.client,
            &self.table,
            item_keys,
            "pk, sk, #a",
            &HashMap::from([("#a".to_owned(), "action".to_owned())]),
        )
        .await?;
        let mut by_key: HashMap<String, FeedAction> = found
            .into_iter()
            .map(|mut item| decode::<FeedAction>(&mut item, "action").map(|a| (a.key(), a)))
            .collect::<Result<_, _>>()?;
        Ok(keys.iter().filter_map(|k| by_key.remove(k)).collect())
    }

    async fn order_ledger(&self, account: &str, order_id: &str) -> Result<OrderLedger, StoreError> {
        // The version first: an action added after this read moves it on, so a write conditioned on it fails
        // even if the query below already lists that action.
        let ledger = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(account_pk(account)))
            .key("sk", s(feed_ledger_sk(order_id)))
            .projection_expression("#v")
            .expression_attribute_names("#v", "version")
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", e))?;
        let version = ledger
            .item
            .as_ref()
            .and_then(|item| get_i64(item, "version"))
            .map_or(0, |v| u64::try_from(v).unwrap_or(0));
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(account_pk(account)))
            .expression_attribute_values(":p", s(feed_action_sk(&format!("ORDER#{order_id}#"))))
            .consistent_read(true);
        let mut actions: Vec<FeedAction> = self
            .query_all(request, 10_000)
            .await?
            .into_iter()
            .map(|mut item| decode(&mut item, "action"))
            .collect::<Result<_, _>>()?;
        actions.sort_by_key(|a| a.created_at);
        Ok(OrderLedger { version, actions })
    }

    async fn queued_actions(
        &self,
        account: &str,
        feed_type: FeedType,
        limit: usize,
    ) -> Result<Vec<FeedAction>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by-kind")
            .key_condition_expression("gsi1pk = :k AND begins_with(gsi1sk, :p)")
            .expression_attribute_values(":k", s(FEEDS_QUEUED_KIND))
            .expression_attribute_values(":p", s(format!("{account}#{}#", feed_type.as_str())));
        let items = self.query_all(request, limit).await?;
        // The index is eventually consistent: an action just submitted may still be listed, so its own item
        // is read again and kept only while it is still queued.
        let keys: Vec<String> = items
            .into_iter()
            .map(|mut item| decode::<FeedAction>(&mut item, "action").map(|a| a.key()))
            .collect::<Result<_, _>>()?;
        let mut fresh = self.get_actions(account, &keys).await?;
        fresh.retain(|a| a.state == ActionState::Queued);
        Ok(fresh)
    }

    async fn queued_groups(&self) -> Result<Vec<QueuedGroup>, StoreError> {
        let mut groups = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("by-kind")
                .limit(1)
                .expression_attribute_values(":k", s(FEEDS_QUEUED_KIND));
            request = match &after {
                None => request.key_condition_expression("gsi1pk = :k"),
                Some(after) => request
                    .key_condition_expression("gsi1pk = :k AND gsi1sk > :after")
                    .expression_attribute_values(":after", s(after.clone())),
            };
            let (items, _) = self.query_page(request).await?;
            let Some(mut item) = items.into_iter().next() else {
                return Ok(groups);
            };
            let sort_key = get_s(&item, "gsi1sk").unwrap_or_default().to_owned();
            let action: FeedAction = decode(&mut item, "action")?;
            // `~` sorts after every character of a key: the next query starts past this group.
            after = Some(format!("{}#{}#~", action.account_id, action.feed_type().as_str()));
            if sort_key.is_empty() {
                continue;
            }
            groups.push(QueuedGroup {
                account_id: action.account_id.clone(),
                feed_type: action.feed_type(),
                oldest: action.created_at,
            });
        }
    }

    async fn save_submission(&self, submission: &FeedSubmission) -> Result<(), StoreError> {
        let mut item = Item::from([
            ("pk".into(), s(account_pk(&submission.account_id))),
            ("sk".into(), s(feed_sk(&submission.id))),
            ("kind".into(), s("feed")),
            ("submission".into(), encode(&submission.id, submission)?),
            ("state".into(), s(submission.status.name())),
        ]);
        if submission.status.is_open() {
            item.insert("gsi1pk".into(), s(FEEDS_OPEN_KIND));
            item.insert(
                "gsi1sk".into(),
                s(feed_open_sk(
                    submission.started_at,
                    &submission.account_id,
                    &submission.id,
                )),
            );
        }
        put_item(&self.client, &self.table, item).await
    }

    async fn get_submission(&self, account: &str, id: &str) -> Result<Option<FeedSubmission>, StoreError> {
        self.get_decoded(account_pk(account), feed_sk(id), "submission")
            .await
    }

    async fn open_submissions(&self, limit: u32) -> Result<Vec<FeedSubmission>, StoreError> {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("by-kind")
            .key_condition_expression("gsi1pk = :k")
            .expression_attribute_values(":k", s(FEEDS_OPEN_KIND));
        let listed: Vec<FeedSubmission> = self
            .query_all(request, limit as usize)
            .await?
            .into_iter()
            .map(|mut item| decode(&mut item, "submission"))
            .collect::<Result<_, _>>()?;
        // Read each again: the index may still list a submission that was just closed.
        let mut open = Vec::with_capacity(listed.len());
        for submission in listed {
            if let Some(fresh) = self
                .get_submission(&submission.account_id, &submission.id)
                .await?
                && fresh.status.is_open()
            {
                open.push(fresh);
            }
        }
        Ok(open)
    }

    async fn list_submissions(
        &self,
        account: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<FeedSubmission>, StoreError> {
        self.newest_first(account, &feed_sk(""), "submission", after, limit)
            .await
    }
}
