//! The feed poller: `getFeed` for every submitted feed that is due; when Amazon is done, its processing report
//! gives each action its result. A FATAL or cancelled feed's actions that Amazon did not accept go back to the
//! queue for a new feed (rejected for good after [`MAX_ATTEMPTS`] feeds).

use std::collections::HashMap;

use chrono::TimeDelta;
use serde::Serialize;

use super::failures::ACCOUNT_DELETED;
use super::{FeedProcessor, FeedRunError};
// Feeds back off like report jobs: 30 s, 1 min, 2 min, ... up to 5 minutes.
use crate::amazon::{ProcessingStatus, SellerAuth};
use crate::app::poll_reports::{next_poll_after, pending_poll_after};
use crate::domain::{ActionOrigin, ActionState, FeedAction, FeedSubmission, SubmissionStatus};
use crate::feeds::{
    FeedType, MessageOutcome, ProcessingReport, parse_listings_processing_report, parse_xml_processing_report,
};
use crate::metrics;

/// Feeds an action may be put in before a FATAL feed rejects it for good.
pub const MAX_ATTEMPTS: u32 = 3;
/// Submissions polled per run at most.
const FEEDS_PER_RUN: u32 = 200;
/// The largest processing report read.
const REPORT_LIMIT: u64 = 256 * 1024 * 1024;

/// What one poll run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PollFeedsSummary {
    /// Feeds asked about.
    pub polled: u32,
    /// Feeds done, their actions settled.
    pub done: u32,
    /// Actions accepted.
    pub accepted: u32,
    /// Actions rejected.
    pub rejected: u32,
    /// FATAL or cancelled feeds, their actions queued again.
    pub failed_feeds: u32,
    /// Feeds still processing.
    pub pending: u32,
    /// Feeds that could not be polled this time (retried next run).
    pub errors: u32,
    /// Feeds of deleted accounts, closed with their actions failed.
    pub abandoned: u32,
}

impl FeedProcessor {
    /// Polls every submitted feed that is due.
    #[tracing::instrument(skip(self))]
    pub async fn poll_feeds(&self) -> Result<PollFeedsSummary, FeedRunError> {
        let now = self.clock.now();
        let due: Vec<FeedSubmission> = self
            .outbox
            .open_submissions(FEEDS_PER_RUN * 5)
            .await?
            .into_iter()
            .filter(|s| s.feed_id.is_some() && s.next_poll.is_none_or(|at| at <= now))
            .take(FEEDS_PER_RUN as usize)
            .collect();
        let mut summary = PollFeedsSummary::default();
        for submission in due {
            summary.polled += 1;
            let account = submission.account_id.clone();
            let mut retry = submission.clone();
            if let Err(err) = self.poll_one(submission, &mut summary).await {
                summary.errors += 1;
                tracing::warn!(%account, error = %err, "feed poll failed; retried next run");
                let now = self.clock.now();
                retry.polls += 1;
                retry.next_poll = Some(now + next_poll_after(retry.polls).max(TimeDelta::minutes(1)));
                retry.updated_at = now;
                self.outbox.save_submission(&retry).await?;
            }
        }
        tracing::info!(?summary, "feed poll run done");
        Ok(summary)
    }

    /// Polls the open submission of the feed `feed_id` now (Amazon said it finished); `None` when no open
    /// submission has it (settled already, or not a feed of this stack's).
    pub async fn poll_feed(&self, feed_id: &str) -> Result<Option<PollFeedsSummary>, FeedRunError> {
        let open = self.outbox.open_submissions(FEEDS_PER_RUN * 5).await?;
        let Some(submission) = open.into_iter().find(|s| s.feed_id.as_deref() == Some(feed_id)) else {
            return Ok(None);
        };
        let mut summary = PollFeedsSummary {
            polled: 1,
            ..PollFeedsSummary::default()
        };
        self.poll_one(submission, &mut summary).await?;
        Ok(Some(summary))
    }

    async fn poll_one(
        &self,
        mut submission: FeedSubmission,
        summary: &mut PollFeedsSummary,
    ) -> Result<(), FeedRunError> {
        let (auth, notified) = match self.record_auth(&submission.account_id).await {
            Ok((record, auth)) => {
                let notified = record.status.notifications.as_ref().is_some_and(|status| {
                    status.is_active(crate::domain::NotificationType::FeedProcessingFinished)
                });
                (auth, notified)
            }
            Err(FeedRunError::NoAccount(_)) => {
                let reason = "the account was deleted before Amazon's result was read (Amazon may have \
                              applied it)"
                    .to_owned();
                self.fail_submission(submission, ACCOUNT_DELETED, reason).await?;
                summary.abandoned += 1;
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        let feed_id = submission.feed_id.clone().unwrap_or_default();
        let feed = self.amazon.get_feed(&auth, &feed_id).await?;
        let now = self.clock.now();
        submission.polls += 1;
        submission.updated_at = now;
        match feed.processing_status {
            status @ (ProcessingStatus::InQueue | ProcessingStatus::InProgress) => {
                submission.status = SubmissionStatus::Submitted {
                    amazon_status: status.as_str().to_owned(),
                };
                // When Amazon notifies the feed's end, it is polled then; this poll is the safety net.
                submission.next_poll = Some(now + pending_poll_after(submission.polls, notified));
                self.outbox.save_submission(&submission).await?;
                summary.pending += 1;
            }
            ProcessingStatus::Done => {
                let document = feed.result_feed_document_id.ok_or_else(|| {
                    FeedRunError::Document(format!("feed {feed_id} is DONE without a processing report"))
                })?;
                let report = self
                    .processing_report(&auth, submission.feed_type, &document)
                    .await?;
                let settled = self.settle(&submission, &report, false).await?;
                let Settled {
                    accepted, rejected, ..
                } = settled;
                submission.status = SubmissionStatus::Done { accepted, rejected };
                submission.next_poll = None;
                self.outbox.save_submission(&submission).await?;
                summary.done += 1;
                summary.accepted += accepted;
                summary.rejected += rejected;
                if settled.newly_rejected > 0 {
                    self.metrics.emit(
                        &metrics::feed_messages_rejected(
                            &submission.account_id,
                            submission.feed_type.as_str(),
                            settled.newly_rejected,
                        ),
                        now,
                    );
                }
            }
            status @ (ProcessingStatus::Fatal | ProcessingStatus::Cancelled) => {
                let report = match &feed.result_feed_document_id {
                    Some(document) => self
                        .processing_report(&auth, submission.feed_type, document)
                        .await
                        .ok(),
                    None => None,
                };
                let reason = report
                    .as_ref()
                    .and_then(|r| r.entries.iter().find(|e| e.message_id.is_none()))
                    .map(|e| format!("{} {}: {}", status.as_str(), e.code, e.text))
                    .unwrap_or_else(|| format!("Amazon ended the feed {}", status.as_str()));
                tracing::warn!(account = %submission.account_id, %feed_id, %reason, "feed failed; its actions are queued again");
                let report = report.unwrap_or_default();
                let settled = self.settle(&submission, &report, true).await?;
                summary.accepted += settled.accepted;
                summary.rejected += settled.rejected;
                submission.status = SubmissionStatus::Failed { reason };
                submission.next_poll = None;
                self.outbox.save_submission(&submission).await?;
                summary.failed_feeds += 1;
            }
        }
        Ok(())
    }

    async fn processing_report(
        &self,
        auth: &SellerAuth,
        feed_type: FeedType,
        document_id: &str,
    ) -> Result<ProcessingReport, FeedRunError> {
        let document = self.amazon.get_feed_document(auth, document_id).await?;
        let body = self
            .amazon
            .download_document(&document.url, document.compression_algorithm)
            .await?;
        let bytes = body.into_decoded_bytes(REPORT_LIMIT).await?;
        let parsed = match feed_type {
            FeedType::JsonListings => parse_listings_processing_report(bytes.as_slice()),
            FeedType::OrderFulfillment | FeedType::OrderAcknowledgement => {
                parse_xml_processing_report(bytes.as_slice())
            }
        };
        parsed.map_err(|e| FeedRunError::Document(e.to_string()))
    }

    /// Gives each of the submission's actions its result. For a failed feed (`requeue`), only messages the
    /// report names with their own error are rejected; the others go back to the queue, unless they have
    /// been in [`MAX_ATTEMPTS`] feeds already. Each action moves only while this submission still holds it,
    /// so a poll run settling the same feed at once, or late, changes nothing another run settled or a later
    /// feed carries. Counts every action the submission settled (by this run or another), and apart those
    /// this run rejected.
    async fn settle(
        &self,
        submission: &FeedSubmission,
        report: &ProcessingReport,
        requeue: bool,
    ) -> Result<Settled, FeedRunError> {
        let actions = self
            .outbox
            .get_actions(&submission.account_id, &submission.action_keys())
            .await?;
        let by_key: HashMap<String, FeedAction> = actions.into_iter().map(|a| (a.key(), a)).collect();
        let holder = ActionOrigin::SubmittedIn(&submission.id);
        let mut settled = Settled::default();
        let mut changed = Vec::new();
        for message in &submission.messages {
            for key in &message.actions {
                let Some(action) = by_key.get(key) else { continue };
                // Only actions this submission still holds: a later feed may carry one already.
                if !holder.holds(&action.state) {
                    settled.count(&action.state, &submission.id);
                    continue;
                }
                let mut action = action.clone();
                let state = action_result(
                    &submission.id,
                    message.message_id,
                    action.attempts,
                    report,
                    requeue,
                );
                // Another run settling this feed computes the same result from the same report.
                settled.count(&state, &submission.id);
                action.state = state;
                changed.push(action);
            }
        }
        let moved = self.outbox.move_actions(holder, &changed).await?;
        settled.newly_rejected = changed
            .iter()
            .filter(|a| matches!(a.state, ActionState::Rejected { .. }) && moved.contains(&a.key()))
            .count() as u32;
        Ok(settled)
    }
}

/// The state an action carried as message `message_id` of submission `submission_id` takes from Amazon's
/// processing `report`. A processed feed gives the message's result, with its warnings or errors. A feed Amazon
/// failed (`requeue`) rejects the message only for an error of its own, or once the action has been in
/// [`MAX_ATTEMPTS`] feeds; otherwise the action is queued again for the next feed.
fn action_result(
    submission_id: &str,
    message_id: u32,
    attempts: u32,
    report: &ProcessingReport,
    requeue: bool,
) -> ActionState {
    let rejected = |code: String, text: String| ActionState::Rejected {
        submission_id: submission_id.to_owned(),
        message_id,
        code,
        text,
    };
    if requeue {
        let own_error = report
            .entries
            .iter()
            .find(|e| e.message_id == Some(message_id) && e.severity == crate::feeds::Severity::Error);
        return match own_error {
            Some(error) => rejected(error.code.clone(), error.text.clone()),
            None if attempts >= MAX_ATTEMPTS => rejected(
                "FATAL".to_owned(),
                format!("Amazon could not process the {MAX_ATTEMPTS} feeds that carried it"),
            ),
            None => ActionState::Queued,
        };
    }
    match report.outcome(message_id) {
        MessageOutcome::Accepted { warnings } => ActionState::Accepted {
            submission_id: submission_id.to_owned(),
            message_id,
            warnings: warnings
                .iter()
                .map(|w| format!("{}: {}", w.code, w.text))
                .collect(),
        },
        MessageOutcome::Rejected { errors } => rejected(
            errors
                .iter()
                .map(|e| e.code.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            errors
                .iter()
                .map(|e| e.text.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
}

/// What settling a submission's actions came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Settled {
    /// Its actions Amazon accepted.
    accepted: u32,
    /// Its actions rejected.
    rejected: u32,
    /// Of those, the ones this run rejected (what the rejection metric counts).
    newly_rejected: u32,
}

impl Settled {
    fn count(&mut self, state: &ActionState, submission: &str) {
        match state {
            ActionState::Accepted { submission_id, .. } if submission_id == submission => self.accepted += 1,
            ActionState::Rejected { submission_id, .. } if submission_id == submission => self.rejected += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::{ReportEntry, Severity};

    fn entry(message_id: Option<u32>, severity: Severity, code: &str) -> ReportEntry {
        ReportEntry {
            message_id,
            severity,
            code: code.into(),
            text: format!("text of {code}"),
            sku: None,
            amazon_order_id: None,
            attribute: None,
        }
    }

    fn accepted(warnings: &[&str]) -> ActionState {
        ActionState::Accepted {
            submission_id: "s1".into(),
            message_id: 2,
            warnings: warnings.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    fn rejected(code: &str, text: &str) -> ActionState {
        ActionState::Rejected {
            submission_id: "s1".into(),
            message_id: 2,
            code: code.into(),
            text: text.into(),
        }
    }

    #[test]
    fn each_action_takes_its_messages_result_or_goes_back_to_the_queue_when_the_feed_failed() {
        use Severity::{Error, Warning};
        let own_error = entry(Some(2), Error, "18028");
        let other_error = entry(Some(3), Error, "18029");
        let own_warning = entry(Some(2), Warning, "20001");
        let document_error = entry(None, Error, "5000");
        let report = |entries: Vec<&ReportEntry>| ProcessingReport {
            entries: entries.into_iter().cloned().collect(),
            ..ProcessingReport::default()
        };
        let last = MAX_ATTEMPTS;
        // (the report's entries, the feed failed, the action's attempts) -> the state of message 2's action
        let cases = [
            (vec![], false, 1, accepted(&[])),
            (vec![&other_error], false, 1, accepted(&[])),
            (vec![&own_warning], false, 1, accepted(&["20001: text of 20001"])),
            (
                vec![&own_error, &own_warning],
                false,
                1,
                rejected("18028", "text of 18028"),
            ),
            (vec![&document_error], false, 1, rejected("5000", "text of 5000")),
            (vec![], true, 1, ActionState::Queued),
            (
                vec![&document_error, &other_error],
                true,
                last - 1,
                ActionState::Queued,
            ),
            (vec![&own_error], true, 1, rejected("18028", "text of 18028")),
            (
                vec![],
                true,
                last,
                rejected(
                    "FATAL",
                    &format!("Amazon could not process the {last} feeds that carried it"),
                ),
            ),
        ];
        for (i, (entries, requeue, attempts, expected)) in cases.into_iter().enumerate() {
            let state = action_result("s1", 2, attempts, &report(entries), requeue);
            assert_eq!(state, expected, "case {i}");
        }
    }
}
