//! The feed outbox in the state table.
//!
//! An action is `ACCOUNT#<id>`, `FEEDACTION#<action key>`; while queued it is listed in `by-kind` under
//! `FEED-QUEUED`, `<account>#<feed type>#<created>#<key>`, so a group's oldest action is the first of its
//! prefix and the groups are found by skipping from one prefix to the next. A submission is `ACCOUNT#<id>`,
//! `FEED#<submission id>`, listed under `FEED-OPEN` while it needs the submitter or the poller.

use std::collections::HashMap;

use async_trait::async_trait;

use super::keys::{
    FEEDS_OPEN_KIND, FEEDS_QUEUED_KIND, account_pk, feed_action_sk, feed_open_sk, feed_queued_sk, feed_sk,
};
use super::state::{decode, encode};
use super::{DynamoStateStore, Item, batch_get, batch_put, get_s, put_item, put_new_item, s};
use crate::domain::{ActionState, FeedAction, FeedSubmission, QueuedGroup};
use crate::error::StoreError;
use crate::feeds::FeedType;
use crate::ports::{FeedStore, Page};

fn action_item(action: &FeedAction) -> Result<Item, StoreError> {
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

impl DynamoStateStore {
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
    async fn add_action(&self, action: &FeedAction) -> Result<bool, StoreError> {
        put_new_item(&self.client, &self.table, action_item(action)?).await
    }

    async fn save_actions(&self, actions: &[FeedAction]) -> Result<(), StoreError> {
        let items = actions.iter().map(action_item).collect::<Result<Vec<_>, _>>()?;
        batch_put(&self.client, &self.table, items).await
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

    async fn order_actions(&self, account: &str, order_id: &str) -> Result<Vec<FeedAction>, StoreError> {
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
        Ok(actions)
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
