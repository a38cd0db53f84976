//! An account's notification subscriptions, kept as part of its life: made when it first imports, checked every
//! day and repaired when one is missing or points elsewhere, asked for again every hour while Amazon refuses
//! one, and removed when the account is deleted. What Amazon answered is kept on the account
//! ([`NotificationStatus`]) for its health.
//!
//! The stack has one SQS destination per SP-API region (`createDestination` is grantless and regional); it is
//! found among the application's destinations by the queue's ARN, or made, and remembered by the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use crate::amazon::notifications::Subscription;
use crate::amazon::{AmazonClient, SellerAuth};
use crate::clock::Clock;
use crate::domain::{NotificationStatus, NotificationType, Region, SellerAccount, SubscriptionState};
use crate::error::{AmazonError, StoreError};
use crate::ports::AccountStore;

/// The name the stack's destinations are given.
pub const DESTINATION_NAME: &str = "sellersync";

/// The subscriptions use cases.
#[derive(Debug, Clone)]
pub struct Subscriptions {
    amazon: AmazonClient,
    accounts: Arc<dyn AccountStore>,
    clock: Arc<dyn Clock>,
    /// The stack's notification queue; `None` when the stack takes no notifications.
    queue_arn: Option<String>,
    /// The destination of the queue in each region, once found or made.
    destinations: Arc<Mutex<HashMap<Region, String>>>,
}

/// What to do about one type, given what Amazon shows (pure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Subscribed to the stack's destination: nothing to do.
    Keep(String),
    /// Not subscribed: subscribe.
    Create,
    /// Subscribed to another destination (an earlier stack's queue): delete that one, then subscribe.
    Move(String),
}

/// The step for a type whose subscription Amazon shows as `found`, with the stack's `destination`.
pub fn step(found: Option<&Subscription>, destination: &str) -> Step {
    match found {
        None => Step::Create,
        Some(s) if s.destination_id == destination => Step::Keep(s.subscription_id.clone()),
        Some(s) => Step::Move(s.subscription_id.clone()),
    }
}

/// The refusal an Amazon failure stands for, as its health shows it.
fn refused(err: &AmazonError) -> SubscriptionState {
    let (code, message) = match err {
        AmazonError::AccessDenied { code, message, .. }
        | AmazonError::BadRequest { code, message, .. }
        | AmazonError::NotFound { code, message, .. } => (code.clone(), message.clone()),
        AmazonError::Throttled { .. } => ("QuotaExceeded".to_owned(), err.to_string()),
        other => ("Unavailable".to_owned(), other.to_string()),
    };
    SubscriptionState::Refused { code, message }
}

fn is_conflict(err: &AmazonError) -> bool {
    matches!(err, AmazonError::BadRequest { status: 409, .. })
}

impl Subscriptions {
    /// The use cases; `queue_arn` is the stack's notification queue, if it has one.
    pub fn new(
        amazon: AmazonClient,
        accounts: Arc<dyn AccountStore>,
        clock: Arc<dyn Clock>,
        queue_arn: Option<String>,
    ) -> Subscriptions {
        Subscriptions {
            amazon,
            accounts,
            clock,
            queue_arn,
            destinations: Arc::default(),
        }
    }

    /// Whether the stack takes notifications at all.
    pub fn enabled(&self) -> bool {
        self.queue_arn.is_some()
    }

    /// The stack's destination in `region`: remembered, found by the queue's ARN, or made (two processes
    /// making it at once: Amazon answers the second 409, which then finds the first's).
    async fn destination(&self, region: Region, arn: &str) -> Result<String, AmazonError> {
        if let Some(id) = self.remembered(region) {
            return Ok(id);
        }
        let find = || async {
            let found = self.amazon.get_destinations(region).await?;
            Ok::<_, AmazonError>(
                found
                    .into_iter()
                    .find(|d| d.sqs_arn.as_deref() == Some(arn))
                    .map(|d| d.destination_id),
            )
        };
        let id = match find().await? {
            Some(id) => id,
            None => match self
                .amazon
                .create_destination(region, DESTINATION_NAME, arn)
                .await
            {
                Ok(made) => made.destination_id,
                Err(err) if is_conflict(&err) => find().await?.ok_or(err)?,
                Err(err) => return Err(err),
            },
        };
        self.destinations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(region, id.clone());
        Ok(id)
    }

    fn remembered(&self, region: Region) -> Option<String> {
        self.destinations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&region)
            .cloned()
    }

    /// Makes sure the seller's subscriptions deliver to the stack's queue, records what Amazon answered on the
    /// account, and returns it; `None` when the stack takes no notifications. Amazon's refusals are part of the
    /// answer; only a store failure is an error.
    pub async fn check(
        &self,
        account: &SellerAccount,
        seller: &SellerAuth,
    ) -> Result<Option<NotificationStatus>, StoreError> {
        let Some(arn) = &self.queue_arn else {
            return Ok(None);
        };
        let mut subscriptions = BTreeMap::new();
        match self.destination(account.region, arn).await {
            Ok(destination) => {
                for kind in NotificationType::ALL {
                    let state = self.subscribe(seller, kind, &destination).await;
                    if let SubscriptionState::Refused { code, .. } = &state {
                        tracing::warn!(account = %account.id, notification = %kind, code, "Amazon refused a notification subscription");
                    }
                    subscriptions.insert(kind, state);
                }
            }
            Err(err) => {
                tracing::warn!(account = %account.id, error = %err, "cannot find or make the stack's notification destination");
                for kind in NotificationType::ALL {
                    subscriptions.insert(kind, refused(&err));
                }
            }
        }
        let status = NotificationStatus {
            checked_at: self.clock.now(),
            subscriptions,
        };
        self.accounts.record_notifications(&account.id, &status).await?;
        Ok(Some(status))
    }

    async fn subscribe(
        &self,
        seller: &SellerAuth,
        kind: NotificationType,
        destination: &str,
    ) -> SubscriptionState {
        let result = async {
            let found = self.amazon.get_subscription(seller, kind).await?;
            match step(found.as_ref(), destination) {
                Step::Keep(id) => return Ok(id),
                Step::Move(old) => {
                    tracing::warn!(account = %seller.account_id, notification = %kind, "the subscription delivered to another destination: moved to this stack's queue");
                    self.amazon
                        .delete_subscription_by_id(seller.region, kind, &old)
                        .await?;
                }
                Step::Create => {}
            }
            match self.amazon.create_subscription(seller, kind, destination).await {
                Ok(made) => Ok(made.subscription_id),
                // Made meanwhile by another check (or the answer to ours was lost): read it.
                Err(err) if is_conflict(&err) => self
                    .amazon
                    .get_subscription(seller, kind)
                    .await?
                    .filter(|s| s.destination_id == destination)
                    .map(|s| s.subscription_id)
                    .ok_or(err),
                Err(err) => Err(err),
            }
        }
        .await;
        match result {
            Ok(subscription_id) => SubscriptionState::Active { subscription_id },
            Err(err) => refused(&err),
        }
    }

    /// Removes the account's subscriptions (grantless: this works after the seller revoked the app). A
    /// subscription Amazon no longer knows is removed.
    pub async fn remove(
        &self,
        account: &SellerAccount,
        status: &NotificationStatus,
    ) -> Result<(), AmazonError> {
        for (kind, id) in status.active_ids() {
            self.amazon
                .delete_subscription_by_id(account.region, kind, id)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: &str, destination: &str) -> Subscription {
        Subscription {
            subscription_id: id.into(),
            destination_id: destination.into(),
            payload_version: "1.0".into(),
        }
    }

    #[test]
    fn a_subscription_is_kept_made_or_moved_to_the_stacks_destination() {
        assert_eq!(step(None, "d1"), Step::Create);
        assert_eq!(step(Some(&sub("s1", "d1")), "d1"), Step::Keep("s1".into()));
        assert_eq!(step(Some(&sub("s1", "d0")), "d1"), Step::Move("s1".into()));
    }

    #[test]
    fn a_refusal_keeps_amazons_code_and_a_conflict_is_told_apart() {
        let denied = AmazonError::AccessDenied {
            operation: "createSubscription",
            code: "Unauthorized".into(),
            message: "Access to requested resource is denied.".into(),
        };
        assert_eq!(
            refused(&denied),
            SubscriptionState::Refused {
                code: "Unauthorized".into(),
                message: "Access to requested resource is denied.".into()
            }
        );
        let conflict = AmazonError::BadRequest {
            operation: "createSubscription",
            status: 409,
            code: "StateConflict".into(),
            message: "Subscription already exist".into(),
        };
        assert!(is_conflict(&conflict));
        assert!(!is_conflict(&denied));
    }
}
