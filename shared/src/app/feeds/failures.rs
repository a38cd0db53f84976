//! Seller actions that will not reach Amazon: they fail for good, rejected with sellersync's code and the
//! reason, and the feed log shows the submission that carried them (or one made to carry them) as failed.

use super::{FeedProcessor, FeedRunError};
use crate::domain::{
    ActionOrigin, ActionState, FeedAction, FeedSubmission, SubmissionStatus, SubmittedMessage,
};
use crate::feeds::FeedType;
use crate::metrics;

/// The code of actions whose feed Amazon never took (`createFeed` kept failing).
pub const NOT_SUBMITTED: &str = "NOT_SUBMITTED";
/// The code of actions of an account deleted before they reached Amazon or before Amazon answered.
pub const ACCOUNT_DELETED: &str = "ACCOUNT_DELETED";

impl FeedProcessor {
    /// Fails `submission` with `reason`; the actions it still holds are rejected with `code` and the reason.
    /// Answers how many were.
    pub(super) async fn fail_submission(
        &self,
        mut submission: FeedSubmission,
        code: &str,
        reason: String,
    ) -> Result<u32, FeedRunError> {
        let held = self
            .outbox
            .get_actions(&submission.account_id, &submission.action_keys())
            .await?;
        let holder = ActionOrigin::SubmittedIn(&submission.id);
        let rejected: Vec<FeedAction> = held
            .into_iter()
            .filter(|action| holder.holds(&action.state))
            .filter_map(|mut action| {
                let ActionState::Submitted { message_id, .. } = action.state else {
                    return None;
                };
                action.state = rejection(&submission.id, message_id, code, &reason);
                Some(action)
            })
            .collect();
        let moved = self.outbox.move_actions(holder, &rejected).await?;
        tracing::warn!(account = %submission.account_id, submission = %submission.id, actions = moved.len(), %reason, "feed submission failed for good");
        let now = self.clock.now();
        submission.status = SubmissionStatus::Failed { reason };
        submission.next_poll = None;
        submission.updated_at = now;
        self.outbox.save_submission(&submission).await?;
        self.count_failed(&submission.account_id, submission.feed_type, moved.len());
        Ok(moved.len() as u32)
    }

    /// Fails queued `actions` of `account_id` (all of `feed_type`) that will never be submitted: a failed
    /// submission without a feed carries them in the feed log. Answers how many failed.
    pub(super) async fn fail_queued(
        &self,
        account_id: &str,
        feed_type: FeedType,
        actions: &[FeedAction],
        code: &str,
        reason: String,
    ) -> Result<u32, FeedRunError> {
        if actions.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now();
        let submission = FeedSubmission {
            id: FeedSubmission::new_id(now),
            account_id: account_id.to_owned(),
            feed_type,
            // Never sent: it names no marketplace.
            marketplace_id: None,
            document_id: String::new(),
            started_at: now,
            last_attempt_at: None,
            failed_attempts: 0,
            last_error: None,
            feed_id: None,
            messages: (1..)
                .zip(actions)
                .map(|(message_id, action)| SubmittedMessage {
                    message_id,
                    actions: vec![action.key()],
                })
                .collect(),
            status: SubmissionStatus::Failed {
                reason: reason.clone(),
            },
            polls: 0,
            next_poll: None,
            updated_at: now,
        };
        self.outbox.save_submission(&submission).await?;
        let rejected: Vec<FeedAction> = (1..)
            .zip(actions)
            .map(|(message_id, action)| FeedAction {
                state: rejection(&submission.id, message_id, code, &reason),
                ..action.clone()
            })
            .collect();
        let moved = self.outbox.move_actions(ActionOrigin::Queued, &rejected).await?;
        tracing::warn!(account = %account_id, feed_type = feed_type.as_str(), actions = moved.len(), %reason, "queued actions failed for good");
        self.count_failed(account_id, feed_type, moved.len());
        Ok(moved.len() as u32)
    }

    /// Failed actions count as rejected messages: the seller's action did not happen at Amazon.
    fn count_failed(&self, account_id: &str, feed_type: FeedType, failed: usize) {
        if failed > 0 {
            let set = metrics::feed_messages_rejected(account_id, feed_type.as_str(), failed as u32);
            self.metrics.emit(&set, self.clock.now());
        }
    }
}

fn rejection(submission_id: &str, message_id: u32, code: &str, reason: &str) -> ActionState {
    ActionState::Rejected {
        submission_id: submission_id.to_owned(),
        message_id,
        code: code.to_owned(),
        text: reason.to_owned(),
    }
}
