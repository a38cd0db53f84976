//! The seller's actions on their way to Amazon as feeds.
//!
//! - [`FeedActions`] (the API): validates a shipment confirmation, cancellation or inventory update against
//!   the stored order, writes it to the outbox and nudges the FIFO feed queue.
//! - [`FeedProcessor::submit_due`] (the feed submitter, fed by the queue and ticked every minute; one run at a
//!   time, by a lease): per account and feed type, puts every queued action into one feed once the oldest
//!   has waited its batching window and the account's `createFeed` bucket holds a token.
//! - [`FeedProcessor::poll_feeds`] (the feed poller): `getFeed` until done, then each action accepted or
//!   rejected with Amazon's code and text; FATAL feeds' unanswered actions are queued again.
//! - Actions that will not reach Amazon (a feed Amazon never takes, a deleted account) fail with their reason
//!   in the feed log ([`failures`]).
//!
//! Pure planning (which groups are due, how actions become documents) is in [`plan`].

mod actions;
mod failures;
pub mod plan;
mod poll;
mod submit;

use std::sync::Arc;

use chrono::TimeDelta;

pub use actions::{
    ActionError, FeedActions, InventoryResult, ItemRef, MAX_INVENTORY_UPDATES, cancellation, shipped_items,
};
pub use failures::{ACCOUNT_DELETED, NOT_SUBMITTED};
pub use poll::{MAX_ATTEMPTS, PollFeedsSummary};
pub use submit::{
    FlushTick, MAX_SUBMIT_ATTEMPTS, SUBMITTER_LEASE, SUBMITTER_LEASE_TIME, SubmitSummary, SubmitterEvent,
};

use super::accounts::AccountNaming;
use crate::amazon::{AmazonClient, SellerAuth};
use crate::clock::Clock;
use crate::domain::SellerAccount;
use crate::error::{AmazonError, StoreError};
use crate::feeds::{FeedLimits, FeedType};
use crate::metrics::Metrics;
use crate::ports::{AccountRecord, AccountStore, FeedStore, Leases, SecretStore};

/// How the submitter batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSettings {
    /// How long the oldest queued shipment confirmation or inventory update waits for others.
    pub window: TimeDelta,
    /// How long the oldest queued cancellation waits for others.
    pub cancel_window: TimeDelta,
    /// How much one document holds.
    pub limits: FeedLimits,
    /// The listings feed's `issueLocale`.
    pub issue_locale: String,
}

impl FeedSettings {
    /// The settings with these windows and Amazon's document limits.
    pub fn new(window: TimeDelta, cancel_window: TimeDelta) -> Self {
        FeedSettings {
            window,
            cancel_window,
            limits: FeedLimits::default(),
            issue_locale: "en_US".to_owned(),
        }
    }

    /// The batching window of `feed_type`.
    pub fn window_of(&self, feed_type: FeedType) -> TimeDelta {
        match feed_type {
            FeedType::OrderAcknowledgement => self.cancel_window,
            FeedType::OrderFulfillment | FeedType::JsonListings => self.window,
        }
    }
}

/// Why a feed run failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum FeedRunError {
    /// The outbox or the account store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Amazon refused or failed.
    #[error(transparent)]
    Amazon(#[from] AmazonError),
    /// The account has no refresh token.
    #[error("account {0} cannot submit feeds: {1}")]
    Account(String, String),
    /// The account was deleted.
    #[error("account {0} no longer exists")]
    NoAccount(String),
    /// A feed document could not be built or read.
    #[error("feed document: {0}")]
    Document(String),
}

/// The feed submitter's and poller's dependencies.
#[derive(Debug, Clone)]
pub struct FeedProcessor {
    /// Seller accounts.
    pub accounts: Arc<dyn AccountStore>,
    /// Refresh tokens.
    pub secrets: Arc<dyn SecretStore>,
    /// The outbox.
    pub outbox: Arc<dyn FeedStore>,
    /// The submitter's lease: one run submits at a time.
    pub leases: Arc<dyn Leases>,
    /// Amazon.
    pub amazon: AmazonClient,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Where `FeedMessagesRejected` goes.
    pub metrics: Metrics,
    /// Where refresh tokens are kept.
    pub naming: AccountNaming,
    /// Batching.
    pub settings: FeedSettings,
}

impl FeedProcessor {
    async fn account_auth(&self, account_id: &str) -> Result<(SellerAccount, SellerAuth), FeedRunError> {
        let (record, auth) = self.record_auth(account_id).await?;
        Ok((record.account, auth))
    }

    /// The account as stored (with its status) and its seller's credentials.
    async fn record_auth(&self, account_id: &str) -> Result<(AccountRecord, SellerAuth), FeedRunError> {
        let record = self
            .accounts
            .get_account(account_id)
            .await?
            .ok_or_else(|| FeedRunError::NoAccount(account_id.to_owned()))?;
        let account = &record.account;
        let auth = self
            .naming
            .seller_auth(self.secrets.as_ref(), account)
            .await?
            .ok_or_else(|| FeedRunError::Account(account.id.clone(), "no refresh token stored".into()))?;
        Ok((record, auth))
    }
}
