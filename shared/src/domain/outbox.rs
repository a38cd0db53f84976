//! The feed outbox: every seller action (a shipment confirmation, a cancellation, a SKU's quantity) stored before
//! it is queued, with where it stands (queued → submitted → accepted | rejected), and the feed submissions that
//! carried actions to Amazon. The outbox, not the queue, is the source of truth: a lost queue message loses no
//! action, because the submitter's scheduled flush finds queued actions in the outbox.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::feeds::FeedType;

use crate::domain::{Cancellation, InventoryUpdate, ShipmentConfirmation};

/// What the seller asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ActionPayload {
    /// Confirm a shipment.
    Shipment(ShipmentConfirmation),
    /// Cancel an order or some of its items.
    Cancellation(Cancellation),
    /// Set a SKU's quantity.
    Inventory(InventoryUpdate),
}

impl ActionPayload {
    /// The feed that carries it.
    pub fn feed_type(&self) -> FeedType {
        match self {
            ActionPayload::Shipment(_) => FeedType::OrderFulfillment,
            ActionPayload::Cancellation(_) => FeedType::OrderAcknowledgement,
            ActionPayload::Inventory(_) => FeedType::JsonListings,
        }
    }

    /// The order it is about, for order actions.
    pub fn order_id(&self) -> Option<&str> {
        match self {
            ActionPayload::Shipment(s) => Some(&s.amazon_order_id),
            ActionPayload::Cancellation(c) => Some(&c.amazon_order_id),
            ActionPayload::Inventory(_) => None,
        }
    }
}

/// Where an action stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum ActionState {
    /// Waiting for the next feed of its type.
    Queued,
    /// In a feed Amazon has (or is about to have).
    Submitted {
        /// The submission (feed log entry) that carries it.
        submission_id: String,
        /// Its MessageID in that feed's document.
        message_id: u32,
    },
    /// Amazon applied it.
    Accepted {
        /// The submission that carried it.
        submission_id: String,
        /// Its MessageID.
        message_id: u32,
        /// Amazon's warnings, if any (`code: text`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
    },
    /// Amazon refused it.
    Rejected {
        /// The submission that carried it.
        submission_id: String,
        /// Its MessageID.
        message_id: u32,
        /// Amazon's result code, e.g. `18028`.
        code: String,
        /// Amazon's text.
        text: String,
    },
}

impl ActionState {
    /// `queued`, `submitted`, `accepted` or `rejected`.
    pub fn name(&self) -> &'static str {
        match self {
            ActionState::Queued => "queued",
            ActionState::Submitted { .. } => "submitted",
            ActionState::Accepted { .. } => "accepted",
            ActionState::Rejected { .. } => "rejected",
        }
    }

    /// Whether Amazon has answered for it.
    pub fn is_final(&self) -> bool {
        matches!(self, ActionState::Accepted { .. } | ActionState::Rejected { .. })
    }
}

/// The state a batch of actions moves from. The outbox writes a move only over an action still in it, so two
/// runs cannot both move one action, nor a late run move it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionOrigin<'a> {
    /// Queued: the submitter puts it into a feed.
    Queued,
    /// Submitted in the submission with this id: the poller settles or requeues it.
    SubmittedIn(&'a str),
}

impl ActionOrigin<'_> {
    /// Whether an action in `state` is in this origin.
    pub fn holds(&self, state: &ActionState) -> bool {
        match (self, state) {
            (ActionOrigin::Queued, ActionState::Queued) => true,
            (ActionOrigin::SubmittedIn(id), ActionState::Submitted { submission_id, .. }) => {
                submission_id == id
            }
            _ => false,
        }
    }
}

/// One seller action in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedAction {
    /// Its id: derived from the request's idempotency key when there is one, so a repeat stores nothing new.
    pub id: String,
    /// The seller account.
    pub account_id: String,
    /// What to do.
    pub payload: ActionPayload,
    /// The marketplace whose feed carries it: the order's for order actions, the one named for inventory.
    /// Amazon takes one marketplace per feed (see [`crate::feeds::MARKETPLACES_PER_FEED`]); an action stored
    /// without one goes with the account's first marketplace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    /// When the API took it: its batching window and its latency count from here.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub state: ActionState,
    /// Feeds it was put in so far (more than one after a FATAL feed).
    #[serde(default)]
    pub attempts: u32,
    /// When it was last put in a feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<DateTime<Utc>>,
}

impl FeedAction {
    /// Its feed type.
    pub fn feed_type(&self) -> FeedType {
        self.payload.feed_type()
    }

    /// Its address in the outbox: order actions sort under their order, so an order's actions are one query.
    pub fn key(&self) -> String {
        action_key(self.payload.order_id(), &self.id)
    }
}

/// The key of action `id` about `order_id` (none for inventory).
pub fn action_key(order_id: Option<&str>, id: &str) -> String {
    match order_id {
        Some(order) => format!("ORDER#{order}#{id}"),
        None => format!("SKU#{id}"),
    }
}

/// An action id: a digest of the account, the action's kind, the idempotency key and the position in the
/// request when a key was given (so a repeat of the request yields the same ids), else random.
pub fn action_id(account_id: &str, kind: &str, request_key: Option<&str>, index: usize) -> String {
    match request_key {
        Some(key) => {
            let digest = Sha256::digest(format!("{account_id}\n{kind}\n{key}\n{index}").as_bytes());
            digest[..16].iter().map(|b| format!("{b:02x}")).collect()
        }
        None => format!("{:032x}", rand::random::<u128>()),
    }
}

/// The feed queue's message: a nudge that `action_id` of `account_id` waits in `feed_type`'s outbox. The
/// submitter reads the outbox, not the message, so a lost or repeated message changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedNudge {
    /// The seller account.
    pub account_id: String,
    /// The feed type, e.g. `POST_ORDER_FULFILLMENT_DATA`.
    pub feed_type: FeedType,
    /// The (first) action the message announces.
    pub action_id: String,
}

/// Where a feed submission stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum SubmissionStatus {
    /// The document is uploaded and `createFeed` is being called; no feed id is recorded yet. A submission
    /// left in this state by a crash is resolved by the next run (adopted from `getFeeds`, or submitted again).
    Submitting,
    /// Amazon has the feed; it is polled until done.
    Submitted {
        /// Amazon's `processingStatus` at the last poll.
        amazon_status: String,
    },
    /// Amazon processed it; every action has its result.
    Done {
        /// Actions accepted.
        accepted: u32,
        /// Actions rejected.
        rejected: u32,
    },
    /// Amazon could not process it (`FATAL`) or cancelled it; its unanswered actions were queued again.
    Failed {
        /// Why, as Amazon said it.
        reason: String,
    },
}

impl SubmissionStatus {
    /// `submitting`, `submitted`, `done` or `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            SubmissionStatus::Submitting => "submitting",
            SubmissionStatus::Submitted { .. } => "submitted",
            SubmissionStatus::Done { .. } => "done",
            SubmissionStatus::Failed { .. } => "failed",
        }
    }

    /// Whether the submission still needs the submitter or the poller.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            SubmissionStatus::Submitting | SubmissionStatus::Submitted { .. }
        )
    }
}

/// One message of a submitted document and the actions it carries (several when SKU updates were coalesced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmittedMessage {
    /// Its MessageID.
    pub message_id: u32,
    /// The keys ([`FeedAction::key`]) of the actions it carries.
    pub actions: Vec<String>,
}

/// One feed document submitted for an account: the feed log's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedSubmission {
    /// sellersync's id for it (known before Amazon's feed id).
    pub id: String,
    /// The seller account.
    pub account_id: String,
    /// The feed type.
    pub feed_type: FeedType,
    /// The one marketplace the feed was created for (absent only on entries written before feeds went per
    /// marketplace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    /// The uploaded document.
    pub document_id: String,
    /// When it was started (before its first `createFeed`): a stuck submission's age counts from here.
    pub started_at: DateTime<Utc>,
    /// When `createFeed` was last sent for it, if since `started_at`: a crashed submission looks for its
    /// feed from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Attempts to have Amazon take it (a `createFeed`, or the `getFeeds` recovery before one) that failed;
    /// after the submitter's limit its actions fail.
    #[serde(default)]
    pub failed_attempts: u32,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Amazon's feed id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_id: Option<String>,
    /// Its messages.
    pub messages: Vec<SubmittedMessage>,
    /// Where it stands.
    #[serde(flatten)]
    pub status: SubmissionStatus,
    /// `getFeed` calls so far.
    #[serde(default)]
    pub polls: u32,
    /// When the poller asks about it next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_poll: Option<DateTime<Utc>>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl FeedSubmission {
    /// A new submission id: its start time (so ids sort by age), then a random part.
    pub fn new_id(now: DateTime<Utc>) -> String {
        format!("{}-{:08x}", now.format("%Y%m%d%H%M%S"), rand::random::<u32>())
    }

    /// When its last `createFeed` was sent (or is about to be).
    pub fn attempted_at(&self) -> DateTime<Utc> {
        self.last_attempt_at.unwrap_or(self.started_at)
    }

    /// Every action key it carries.
    pub fn action_keys(&self) -> Vec<String> {
        self.messages
            .iter()
            .flat_map(|m| m.actions.iter().cloned())
            .collect()
    }
}

/// A group of queued actions the submitter may put into one feed: one account, one feed type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedGroup {
    /// The seller account.
    pub account_id: String,
    /// The feed type.
    pub feed_type: FeedType,
    /// When its oldest queued action was taken.
    pub oldest: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyed_request_yields_the_same_action_ids_and_an_unkeyed_one_fresh_ids() {
        let a = action_id("acc", "shipment", Some("k-1"), 0);
        assert_eq!(a, action_id("acc", "shipment", Some("k-1"), 0));
        assert_ne!(a, action_id("acc", "shipment", Some("k-1"), 1));
        assert_ne!(a, action_id("other", "shipment", Some("k-1"), 0));
        assert_ne!(a, action_id("acc", "cancel", Some("k-1"), 0));
        assert_eq!(a.len(), 32);
        assert_ne!(
            action_id("acc", "shipment", None, 0),
            action_id("acc", "shipment", None, 0)
        );
    }

    #[test]
    fn order_actions_sort_under_their_order() {
        assert_eq!(action_key(Some("114-1-2"), "ab"), "ORDER#114-1-2#ab");
        assert_eq!(action_key(None, "ab"), "SKU#ab");
    }

    #[test]
    fn a_submission_reads_back_as_written() {
        let submission = FeedSubmission {
            id: "s1".into(),
            account_id: "a".into(),
            feed_type: FeedType::OrderFulfillment,
            marketplace_id: Some("ATVPDKIKX0DER".into()),
            document_id: "d".into(),
            started_at: "2026-03-09T12:00:00Z".parse().unwrap(),
            last_attempt_at: None,
            failed_attempts: 0,
            last_error: None,
            feed_id: Some("f".into()),
            messages: vec![SubmittedMessage {
                message_id: 1,
                actions: vec!["ORDER#o#x".into()],
            }],
            status: SubmissionStatus::Done {
                accepted: 1,
                rejected: 0,
            },
            polls: 2,
            next_poll: None,
            updated_at: "2026-03-09T12:00:00Z".parse().unwrap(),
        };
        let json = serde_json::to_string(&submission).unwrap();
        assert!(
            json.contains("\"feedType\":\"POST_ORDER_FULFILLMENT_DATA\""),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<FeedSubmission>(&json).unwrap(), submission);
    }
}
