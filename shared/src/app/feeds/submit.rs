//! The feed submitter: one run per queue batch or minute tick, one run at a time (a lease; a run that cannot
//! take it ends at once, successfully, since the holder or the next tick sees what is queued). It first
//! settles submissions a crashed run left without a feed id, then submits every due group of queued actions
//! while the account's `createFeed` bucket has tokens. It never waits for a token: a group without one stays
//! queued for the next run.
//!
//! Crash safety: the submission (document id, messages, `started_at`) and the actions' `submitted` state are
//! written before `createFeed`, and the feed id after it. A submission found without a feed id is resolved
//! with `getFeeds` (its feed type, created since its last `createFeed` less a margin): a feed of that type that
//! no recorded submission owns is adopted; only when there is none is the document submitted again. This
//! assumes no other tool submits that feed type for the seller with this application in that minute or two.
//! `createFeed` is sent once a run; after [`MAX_SUBMIT_ATTEMPTS`] failed attempts, and `getFeeds` saying
//! Amazon has none, the submission's actions fail with the reason (`NOT_SUBMITTED`). A deleted account's
//! actions fail at once (`ACCOUNT_DELETED`).

use std::collections::{HashMap, HashSet};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::failures::{ACCOUNT_DELETED, NOT_SUBMITTED};
use super::plan::{PlannedDocument, by_marketplace, documents, due_groups};
use super::{FeedProcessor, FeedRunError};
use crate::amazon::{
    CreateFeedDocumentSpecification, CreateFeedSpecification, GetFeedsQuery, Operation, SellerAuth,
};
use crate::domain::{
    ActionOrigin, ActionState, FeedAction, FeedNudge, FeedSubmission, QueuedGroup, SellerAccount,
    SubmissionStatus,
};
use crate::feeds::{FeedType, LISTINGS_FEED_WINDOW, LISTINGS_FEEDS_PER_WINDOW};
use crate::metrics;

/// How far before `started_at` a crashed submission looks for its feed (clock skew between us and Amazon).
const ADOPT_MARGIN: TimeDelta = TimeDelta::minutes(2);
/// The first poll of a new feed.
pub(super) const FIRST_POLL: TimeDelta = TimeDelta::seconds(30);
/// Actions one group puts into feeds per run at most (four full documents).
const ACTIONS_PER_RUN: usize = 100_000;
/// Failed attempts to have Amazon take a submission's feed (one a run, so about as many minutes) after which
/// its actions fail, once `getFeeds` says Amazon has no feed for it.
pub const MAX_SUBMIT_ATTEMPTS: u32 = 10;
/// Recent submissions read to learn which feed ids are owned.
const OWNED_LOOKBACK: u32 = 100;

/// The submitter's lease: one run submits at a time, since two could put one action into two feeds.
pub const SUBMITTER_LEASE: &str = "submit-feeds";
/// How long a run holds the lease after taking or renewing it: longer than the function may run (its
/// `Timeout` in the template, 300 s), so a live run never loses it, and a run that died frees it this long
/// after its last renewal.
pub const SUBMITTER_LEASE_TIME: TimeDelta = TimeDelta::minutes(6);

/// What one submitter run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SubmitSummary {
    /// Another run held the lease, so this one did nothing: that run, or the next minute's, sees what is
    /// queued.
    pub busy: bool,
    /// Feeds created (`createFeed` calls that succeeded).
    pub feeds: u32,
    /// Actions put into them.
    pub actions: u32,
    /// Crashed submissions adopted from `getFeeds`.
    pub adopted: u32,
    /// Groups due but left for a later run because the account's `createFeed` bucket was empty.
    pub waiting_for_quota: u32,
    /// Groups or submissions that failed this time.
    pub failed: u32,
    /// Submissions or groups whose actions failed for good (a feed Amazon never took, a deleted account).
    pub given_up: u32,
}

/// What invokes the submitter (see its `main.rs`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SubmitterEvent {
    /// A batch of nudges from the FIFO feed queue (an SQS event source mapping).
    Nudges(SqsEvent),
    /// The one-minute flush schedule's tick, whose input is `{}` (infra/template.yaml).
    Tick(FlushTick),
}

/// The flush schedule's input: an empty object, and nothing else.
#[derive(Debug)]
pub struct FlushTick {}

impl<'de> Deserialize<'de> for FlushTick {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = serde_json::Map::deserialize(deserializer)?;
        match fields.keys().next() {
            None => Ok(FlushTick {}),
            Some(key) => Err(serde::de::Error::custom(format!(
                "the flush tick is {{}}, not a field {key:?}"
            ))),
        }
    }
}

impl FeedProcessor {
    /// The queue's batch: the messages only say that something is queued, so the run is the same as a tick's.
    /// Every message fails (and is redelivered) only when the run cannot read the outbox at all.
    pub async fn handle_nudges(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in &event.records {
            let body = record.body.as_deref().unwrap_or_default();
            if let Err(err) = serde_json::from_str::<FeedNudge>(body) {
                // The outbox holds every action, so a malformed nudge carries nothing to lose.
                tracing::warn!(message_id = ?record.message_id, error = %err, "malformed feed message dropped");
            }
        }
        if let Err(err) = self.submit_due().await {
            tracing::error!(error = %err, "feed submitter run failed");
            for record in event.records {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = record.message_id.unwrap_or_default();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    /// The submitter's invocation: a feed queue batch answers with its batch item failures, the minute's
    /// flush tick with the run's summary.
    pub async fn handle_event(&self, event: SubmitterEvent) -> Result<serde_json::Value, FeedRunError> {
        let json = match event {
            SubmitterEvent::Nudges(batch) => serde_json::to_value(self.handle_nudges(batch).await),
            SubmitterEvent::Tick(FlushTick {}) => serde_json::to_value(self.submit_due().await?),
        };
        json.map_err(|e| FeedRunError::Document(e.to_string()))
    }

    /// One run, if it gets the submitter's lease (else it ends at once, successfully): settle crashed
    /// submissions, then submit every due group that has a `createFeed` token. The lease is renewed before
    /// each submission and given back at the end.
    #[tracing::instrument(skip(self))]
    pub async fn submit_due(&self) -> Result<SubmitSummary, FeedRunError> {
        let holder = format!("{:032x}", rand::random::<u128>());
        if !self.renew_lease(&holder).await? {
            tracing::info!("another submitter run holds the lease; it sees the queued actions");
            return Ok(SubmitSummary {
                busy: true,
                ..SubmitSummary::default()
            });
        }
        let result = self.submit_leased(&holder).await;
        if let Err(err) = self.leases.release(SUBMITTER_LEASE, &holder).await {
            tracing::warn!(error = %err, "could not give the submitter's lease back; it expires by itself");
        }
        result
    }

    /// Takes or renews the submitter's lease for `holder`; whether it has it.
    async fn renew_lease(&self, holder: &str) -> Result<bool, FeedRunError> {
        let now = self.clock.now();
        Ok(self
            .leases
            .take(SUBMITTER_LEASE, holder, now, now + SUBMITTER_LEASE_TIME)
            .await?)
    }

    async fn submit_leased(&self, holder: &str) -> Result<SubmitSummary, FeedRunError> {
        let mut summary = SubmitSummary::default();
        let stuck: Vec<FeedSubmission> = self
            .outbox
            .open_submissions(1000)
            .await?
            .into_iter()
            .filter(|s| s.status == SubmissionStatus::Submitting)
            .collect();
        let now = self.clock.now();
        let stuck_for = stuck.iter().map(|s| now - s.started_at).max().unwrap_or_default();
        self.metrics
            .emit(&metrics::stuck_feed_submission_age(stuck_for), now);
        for submission in stuck {
            if !self.renew_lease(holder).await? {
                return Ok(lost_lease(summary));
            }
            let account = submission.account_id.clone();
            if let Err(err) = self.resolve(submission, &mut summary).await {
                summary.failed += 1;
                tracing::error!(%account, error = %err, "cannot settle an interrupted feed submission");
            }
        }
        let groups = self.outbox.queued_groups().await?;
        let now = self.clock.now();
        let waited = groups.iter().map(|g| now - g.oldest).max().unwrap_or_default();
        self.metrics
            .emit(&metrics::oldest_queued_feed_action(waited), now);
        for group in due_groups(&groups, now, &self.settings) {
            if !self.renew_lease(holder).await? {
                return Ok(lost_lease(summary));
            }
            if let Err(err) = self.submit_group(group, &mut summary).await {
                summary.failed += 1;
                tracing::error!(account = %group.account_id, feed_type = group.feed_type.as_str(), error = %err, "feed submission failed");
            }
        }
        tracing::info!(?summary, "feed submitter run done");
        Ok(summary)
    }

    async fn has_create_token(&self, account_id: &str) -> Result<bool, FeedRunError> {
        let tokens = self
            .amazon
            .available_tokens(account_id, Operation::CreateFeed)
            .await?;
        Ok(tokens.is_none_or(|t| t + 1e-9 >= 1.0))
    }

    /// `JSON_LISTINGS_FEED` submissions Amazon still takes within its window, beyond `createFeed`'s bucket.
    async fn listings_feeds_left(&self, account_id: &str) -> Result<usize, FeedRunError> {
        let since = self.clock.now() - LISTINGS_FEED_WINDOW;
        let recent = self
            .outbox
            .list_submissions(account_id, None, LISTINGS_FEEDS_PER_WINDOW as u32 * 4)
            .await?
            .items
            .into_iter()
            .filter(|s| s.feed_type == FeedType::JsonListings && s.started_at > since)
            .count();
        Ok(LISTINGS_FEEDS_PER_WINDOW.saturating_sub(recent))
    }

    /// Whether a feed of `feed_type` may be created for the account now: a `createFeed` token, and for the
    /// listings feed room in its own window. `listings_left` counts down as listings feeds go out.
    async fn may_create(
        &self,
        account_id: &str,
        feed_type: FeedType,
        listings_left: &mut Option<usize>,
    ) -> Result<bool, FeedRunError> {
        if feed_type == FeedType::JsonListings {
            let left = match *listings_left {
                Some(left) => left,
                None => self.listings_feeds_left(account_id).await?,
            };
            *listings_left = Some(left);
            if left == 0 {
                return Ok(false);
            }
        }
        self.has_create_token(account_id).await
    }

    async fn submit_group(
        &self,
        group: &QueuedGroup,
        summary: &mut SubmitSummary,
    ) -> Result<(), FeedRunError> {
        let mut listings_left = None;
        if !self
            .may_create(&group.account_id, group.feed_type, &mut listings_left)
            .await?
        {
            summary.waiting_for_quota += 1;
            return Ok(());
        }
        let found = self.account_auth(&group.account_id).await;
        let actions = self
            .outbox
            .queued_actions(&group.account_id, group.feed_type, ACTIONS_PER_RUN)
            .await?;
        let (account, auth) = match found {
            Err(FeedRunError::NoAccount(_)) => {
                let reason = "not sent: the account was deleted".to_owned();
                self.fail_queued(
                    &group.account_id,
                    group.feed_type,
                    &actions,
                    ACCOUNT_DELETED,
                    reason,
                )
                .await?;
                summary.given_up += 1;
                return Ok(());
            }
            found => found?,
        };
        // Amazon takes one marketplace per feed: one set of documents per marketplace.
        let first = account.marketplaces.first().ok_or_else(|| {
            FeedRunError::Account(account.id.clone(), "the account names no marketplace".into())
        })?;
        for (marketplace, actions) in by_marketplace(&actions, first) {
            let planned = documents(group.feed_type, &account.seller_id, &actions, &self.settings)
                .map_err(|e| FeedRunError::Document(e.to_string()))?;
            for document in planned {
                if !self
                    .may_create(&group.account_id, group.feed_type, &mut listings_left)
                    .await?
                {
                    summary.waiting_for_quota += 1;
                    return Ok(());
                }
                let carried = document
                    .messages
                    .iter()
                    .map(|m| m.actions.len() as u32)
                    .sum::<u32>();
                self.submit_document(&account, &auth, &marketplace, &actions, document)
                    .await?;
                if let Some(left) = listings_left.as_mut() {
                    *left = left.saturating_sub(1);
                }
                summary.feeds += 1;
                summary.actions += carried;
            }
        }
        Ok(())
    }

    async fn submit_document(
        &self,
        account: &SellerAccount,
        auth: &SellerAuth,
        marketplace: &str,
        actions: &[FeedAction],
        planned: PlannedDocument,
    ) -> Result<(), FeedRunError> {
        let PlannedDocument { document, messages } = planned;
        let content_type = document.content_type();
        let created = self
            .amazon
            .create_feed_document(
                auth,
                &CreateFeedDocumentSpecification {
                    content_type: content_type.to_owned(),
                },
            )
            .await?;
        self.amazon
            .upload_feed_document(&created.url, content_type, Bytes::from(document.body))
            .await?;
        let now = self.clock.now();
        let mut submission = FeedSubmission {
            id: FeedSubmission::new_id(now),
            account_id: account.id.clone(),
            feed_type: document.feed_type,
            marketplace_id: Some(marketplace.to_owned()),
            document_id: created.feed_document_id,
            started_at: now,
            last_attempt_at: None,
            failed_attempts: 0,
            last_error: None,
            feed_id: None,
            messages,
            status: SubmissionStatus::Submitting,
            polls: 0,
            next_poll: None,
            updated_at: now,
        };
        self.outbox.save_submission(&submission).await?;
        let by_key: HashMap<String, &FeedAction> = actions.iter().map(|a| (a.key(), a)).collect();
        let mut marked: Vec<FeedAction> = Vec::new();
        for message in &submission.messages {
            for action in message.actions.iter().filter_map(|key| by_key.get(key)) {
                let mut action = (*action).clone();
                action.state = ActionState::Submitted {
                    submission_id: submission.id.clone(),
                    message_id: message.message_id,
                };
                action.attempts += 1;
                action.submitted_at = Some(now);
                marked.push(action);
            }
        }
        // Marked before createFeed, so a crash between the two can never put these actions in a second feed;
        // and only while still queued, so no action is in two submissions.
        let moved = self.outbox.move_actions(ActionOrigin::Queued, &marked).await?;
        if moved.len() < marked.len() {
            return self.withdraw(submission, &by_key, &moved).await;
        }
        self.create_feed(account, auth, &mut submission).await
    }

    /// Gives up a submission some of whose actions another run took before `createFeed`: the ones this run
    /// took are queued again as they were, and the submission fails without a feed.
    async fn withdraw(
        &self,
        mut submission: FeedSubmission,
        read: &HashMap<String, &FeedAction>,
        taken: &[String],
    ) -> Result<(), FeedRunError> {
        let back: Vec<FeedAction> = taken
            .iter()
            .filter_map(|key| read.get(key).map(|a| (*a).clone()))
            .collect();
        self.outbox
            .move_actions(ActionOrigin::SubmittedIn(&submission.id), &back)
            .await?;
        let reason = "not sent: another submitter run took some of its actions".to_owned();
        submission.status = SubmissionStatus::Failed {
            reason: reason.clone(),
        };
        submission.updated_at = self.clock.now();
        self.outbox.save_submission(&submission).await?;
        Err(FeedRunError::Document(reason))
    }

    /// `createFeed` for a recorded submission, then its feed id recorded. A failure is recorded on the
    /// submission (the next run asks `getFeeds` before it sends `createFeed` again).
    async fn create_feed(
        &self,
        account: &SellerAccount,
        auth: &SellerAuth,
        submission: &mut FeedSubmission,
    ) -> Result<(), FeedRunError> {
        let created = self
            .amazon
            .create_feed(
                auth,
                &CreateFeedSpecification {
                    feed_type: submission.feed_type.as_str().to_owned(),
                    marketplace_ids: vec![submission_marketplace(account, submission)?],
                    input_feed_document_id: submission.document_id.clone(),
                    feed_options: None,
                },
            )
            .await;
        let created = match created {
            Ok(created) => created,
            Err(err) => return Err(self.failed_attempt(submission, err.into()).await),
        };
        tracing::info!(account = %account.id, feed_id = %created.feed_id, feed_type = submission.feed_type.as_str(), messages = submission.messages.len(), "feed submitted");
        self.record_feed_id(submission, created.feed_id).await
    }

    async fn record_feed_id(
        &self,
        submission: &mut FeedSubmission,
        feed_id: String,
    ) -> Result<(), FeedRunError> {
        let now = self.clock.now();
        submission.feed_id = Some(feed_id);
        submission.status = SubmissionStatus::Submitted {
            amazon_status: "IN_QUEUE".to_owned(),
        };
        submission.next_poll = Some(now + FIRST_POLL);
        submission.updated_at = now;
        self.outbox.save_submission(submission).await?;
        Ok(())
    }

    /// Records a failed attempt on the submission; answers the error, or the one recording it met.
    async fn failed_attempt(&self, submission: &mut FeedSubmission, err: FeedRunError) -> FeedRunError {
        submission.failed_attempts += 1;
        submission.last_error = Some(err.to_string());
        submission.updated_at = self.clock.now();
        match self.outbox.save_submission(submission).await {
            Ok(()) => err,
            Err(store) => store.into(),
        }
    }

    /// A submission without a feed id: adopt its feed if Amazon has one, else submit its document again; or,
    /// after [`MAX_SUBMIT_ATTEMPTS`] failed attempts and with `getFeeds` saying Amazon has no feed for it,
    /// fail its actions with the reason. A deleted account's submission fails at once.
    async fn resolve(
        &self,
        mut submission: FeedSubmission,
        summary: &mut SubmitSummary,
    ) -> Result<(), FeedRunError> {
        let (account, auth) = match self.account_auth(&submission.account_id).await {
            Ok(found) => found,
            Err(FeedRunError::NoAccount(_)) => {
                let reason = "the account was deleted before Amazon confirmed the feed (it may have been \
                              applied)"
                    .to_owned();
                self.fail_submission(submission, ACCOUNT_DELETED, reason).await?;
                summary.given_up += 1;
                return Ok(());
            }
            Err(err) => return Err(self.failed_attempt(&mut submission, err).await),
        };
        let marketplace = submission_marketplace(&account, &submission)?;
        let unowned = match self.unowned_feed(&auth, &submission, &marketplace).await {
            Ok(unowned) => unowned,
            Err(err) => return Err(self.failed_attempt(&mut submission, err).await),
        };
        if let Some(feed_id) = unowned {
            tracing::warn!(account = %account.id, %feed_id, "adopting the feed of an interrupted submission");
            self.record_feed_id(&mut submission, feed_id).await?;
            summary.adopted += 1;
            return Ok(());
        }
        if submission.failed_attempts >= MAX_SUBMIT_ATTEMPTS {
            // Amazon has no feed for it: the actions did not happen, and the seller may send them again.
            let reason = format!(
                "Amazon did not take the feed after {} attempts; the last failed: {}",
                submission.failed_attempts,
                submission.last_error.as_deref().unwrap_or("no error recorded")
            );
            self.fail_submission(submission, NOT_SUBMITTED, reason).await?;
            summary.given_up += 1;
            return Ok(());
        }
        if !self
            .may_create(&account.id, submission.feed_type, &mut None)
            .await?
        {
            summary.waiting_for_quota += 1;
            return Ok(());
        }
        tracing::warn!(account = %account.id, submission = %submission.id, attempts = submission.failed_attempts, "Amazon has no feed for an interrupted submission; submitting it again");
        submission.last_attempt_at = Some(self.clock.now());
        self.outbox.save_submission(&submission).await?;
        self.create_feed(&account, &auth, &mut submission).await?;
        summary.feeds += 1;
        summary.actions += submission
            .messages
            .iter()
            .map(|m| m.actions.len() as u32)
            .sum::<u32>();
        Ok(())
    }

    /// The oldest feed of the submission's type and marketplace created since its last `createFeed` that no
    /// recorded
    /// submission owns.
    async fn unowned_feed(
        &self,
        auth: &SellerAuth,
        submission: &FeedSubmission,
        marketplace: &str,
    ) -> Result<Option<String>, FeedRunError> {
        let since: DateTime<Utc> = submission.attempted_at() - ADOPT_MARGIN;
        let feeds = self
            .amazon
            .get_all_feeds(
                auth,
                &GetFeedsQuery {
                    feed_types: vec![submission.feed_type.as_str().to_owned()],
                    marketplace_ids: vec![marketplace.to_owned()],
                    created_since: Some(since),
                    page_size: Some(100),
                    ..GetFeedsQuery::default()
                },
            )
            .await?;
        let owned: HashSet<String> = self
            .outbox
            .list_submissions(&submission.account_id, None, OWNED_LOOKBACK)
            .await?
            .items
            .into_iter()
            .filter_map(|s| s.feed_id)
            .collect();
        let mut candidates: Vec<_> = feeds
            .into_iter()
            .filter(|f| f.created_time >= since && !owned.contains(&f.feed_id))
            .filter(|f| FeedType::parse(&f.feed_type) == Some(submission.feed_type))
            .filter(|f| {
                f.marketplace_ids
                    .as_ref()
                    .is_none_or(|ids| ids.iter().any(|m| m == marketplace))
            })
            .collect();
        candidates.sort_by_key(|f| f.created_time);
        Ok(candidates.into_iter().next().map(|f| f.feed_id))
    }
}

/// A run that found its lease taken by another (it outlived [`SUBMITTER_LEASE_TIME`]): it stops submitting.
fn lost_lease(summary: SubmitSummary) -> SubmitSummary {
    tracing::warn!(
        ?summary,
        "the submitter's lease passed to another run; this run stops"
    );
    summary
}

/// The one marketplace a submission's feed goes to: its own, or (for one written before feeds went per
/// marketplace) the account's first.
fn submission_marketplace(
    account: &SellerAccount,
    submission: &FeedSubmission,
) -> Result<String, FeedRunError> {
    submission
        .marketplace_id
        .clone()
        .or_else(|| account.marketplaces.first().cloned())
        .ok_or_else(|| FeedRunError::Account(account.id.clone(), "the account names no marketplace".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Result<SubmitterEvent, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn the_submitter_tells_a_queue_batch_from_the_flush_tick_and_refuses_anything_else() {
        let batch = r#"{"Records":[{"messageId":"m1","body":"{}","attributes":{},"messageAttributes":{}}]}"#;
        assert!(matches!(event(batch), Ok(SubmitterEvent::Nudges(b)) if b.records.len() == 1));
        assert!(matches!(event("{}"), Ok(SubmitterEvent::Tick(FlushTick {}))));
        // Not a batch, not the schedule's `{}`: an error naming neither, rather than a run.
        for other in [r#"{"Records":"x"}"#, r#"{"source":"aws.events"}"#, "[]", "null"] {
            assert!(event(other).is_err(), "{other} was accepted");
        }
    }
}
