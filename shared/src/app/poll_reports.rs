//! The report poller: asks Amazon about every report job that is due, hands finished documents to the
//! parsers, closes jobs without data, records why a report failed, and re-requests reports stuck too long.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::import::{Import, ImportError, ParseMessage};
use crate::amazon::{CreateReportSpecification, DocumentAccess, ProcessingStatus, Report, SellerAuth};
use crate::domain::{JobPrecondition, JobPurpose, JobState, Problem, ProblemKind, ReportJob, ReportKind};
use crate::metrics;
use crate::ports::OutgoingMessage;

/// Jobs one invocation polls at most; the rest wait for the next minute.
const JOBS_PER_RUN: u32 = 200;
/// Accounts polled at once (each account's calls share its own buckets).
const ACCOUNTS_IN_FLIGHT: usize = 8;
/// A report still not done after this long is cancelled and requested again.
const STUCK_AFTER: TimeDelta = TimeDelta::hours(3);
/// The longest pause between two polls of a pending report.
const MAX_POLL_INTERVAL: TimeDelta = TimeDelta::minutes(5);
/// The pause between two polls of a pending report while Amazon notifies the account when a report finishes:
/// the notification polls the job at once, and the poller is only the safety net for one that never comes.
const NOTIFIED_POLL_INTERVAL: TimeDelta = TimeDelta::minutes(15);
/// How long a run's claim on a DONE report keeps other runs from handing its document over: the time one
/// message send may take, with room to spare. A run that died after its claim is followed after this long.
const HANDOVER_LEASE: TimeDelta = TimeDelta::minutes(5);
/// An error document is a few lines; more is not read.
const ERROR_DOCUMENT_LIMIT: u64 = 64 * 1024;

/// What one poll run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PollSummary {
    /// Jobs asked about.
    pub polled: u32,
    /// Jobs whose document went to the parse queue.
    pub done: u32,
    /// Jobs Amazon had no data for.
    pub no_data: u32,
    /// Jobs Amazon could not produce.
    pub fatal: u32,
    /// Jobs still in Amazon's queue.
    pub pending: u32,
    /// Jobs requested again because they were stuck.
    pub retried: u32,
    /// Jobs that could not be polled this time.
    pub failed: u32,
    /// Jobs given up because their document was not imported within the parse deadline.
    pub abandoned: u32,
}

impl PollSummary {
    /// Adds another run's counts to these.
    pub fn add(&mut self, other: PollSummary) {
        self.polled += other.polled;
        self.done += other.done;
        self.no_data += other.no_data;
        self.fatal += other.fatal;
        self.pending += other.pending;
        self.retried += other.retried;
        self.failed += other.failed;
        self.abandoned += other.abandoned;
    }
}

/// When to ask again about a job polled `polls` times: 30 s, 1 min, 2 min, ... up to 5 minutes.
pub fn next_poll_after(polls: u32) -> TimeDelta {
    (TimeDelta::seconds(30) * 2_i32.saturating_pow(polls.min(10))).min(MAX_POLL_INTERVAL)
}

/// When to ask again about a pending report or feed polled `polls` times: on [`next_poll_after`]'s schedule, or
/// every 15 minutes when `notified` (the account's `REPORT_PROCESSING_FINISHED` or `FEED_PROCESSING_FINISHED`
/// subscription is active, so the notification polls it the moment Amazon finishes it).
pub fn pending_poll_after(polls: u32, notified: bool) -> TimeDelta {
    if notified {
        NOTIFIED_POLL_INTERVAL
    } else {
        next_poll_after(polls)
    }
}

/// What a poll of a job makes of Amazon's answer (`getReport`), before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollDecision {
    /// Amazon has been at it for longer than [`STUCK_AFTER`]: cancel it and request the window again.
    RequestAgain,
    /// Still in Amazon's queue (`amazon_status`): ask again at `next_poll`.
    Wait {
        /// `IN_QUEUE` or `IN_PROGRESS`.
        amazon_status: String,
        /// When to poll again.
        next_poll: DateTime<Utc>,
    },
    /// Done: its document goes to the parsers.
    HandOver {
        /// Amazon's document id.
        document_id: String,
    },
    /// Amazon found no data: the job ends `no_data`, and a scheduled window's end (`watermark`) is imported.
    NoData {
        /// The end of the scheduled window the empty report covers.
        watermark: Option<DateTime<Utc>>,
    },
    /// Amazon could not produce it: the job ends `fatal` and the account shows why.
    Fatal,
}

/// The poll's decision for `job` (its polls already counted) from `report`, at `now`; `notified` when Amazon
/// tells the account when a report finishes. A DONE report without a document is bad input.
pub fn decide_poll(
    job: &ReportJob,
    report: &Report,
    now: DateTime<Utc>,
    notified: bool,
) -> Result<PollDecision, ImportError> {
    Ok(match report.processing_status {
        ProcessingStatus::InQueue | ProcessingStatus::InProgress if now - job.requested_at > STUCK_AFTER => {
            PollDecision::RequestAgain
        }
        status @ (ProcessingStatus::InQueue | ProcessingStatus::InProgress) => PollDecision::Wait {
            amazon_status: status.as_str().to_owned(),
            next_poll: now + pending_poll_after(job.polls, notified),
        },
        ProcessingStatus::Done => match &report.report_document_id {
            Some(document_id) => PollDecision::HandOver {
                document_id: document_id.clone(),
            },
            None => {
                return Err(ImportError::BadInput(format!(
                    "report {} is DONE without a document",
                    job.report_id
                )));
            }
        },
        ProcessingStatus::Cancelled => PollDecision::NoData {
            watermark: match (&job.purpose, job.window) {
                (JobPurpose::Scheduled, Some(window)) => Some(window.end),
                _ => None,
            },
        },
        ProcessingStatus::Fatal => PollDecision::Fatal,
    })
}

impl Import {
    /// Polls every due job (up to a run's limit).
    #[tracing::instrument(skip(self))]
    pub async fn poll_reports(&self) -> Result<PollSummary, ImportError> {
        let due = self.jobs.due_jobs(self.clock.now(), JOBS_PER_RUN).await?;
        let mut by_account: HashMap<String, Vec<ReportJob>> = HashMap::new();
        for job in due {
            by_account.entry(job.account_id.clone()).or_default().push(job);
        }
        let summaries: Vec<PollSummary> = stream::iter(by_account)
            .map(|(account_id, jobs)| self.poll_account(account_id, jobs))
            .buffer_unordered(ACCOUNTS_IN_FLIGHT)
            .collect()
            .await;
        let mut total = PollSummary::default();
        for summary in summaries {
            total.add(summary);
        }
        tracing::info!(?total, "poll run done");
        // Every run gauges every account, so the alarms on the gauges clear as soon as no account is affected;
        // and completes the orders awaiting their getOrder details with what each bucket holds, so a backlog
        // drains at Amazon's rate rather than a bucket's burst after each import.
        if let Err(err) = self.visit_accounts().await {
            tracing::error!(error = %err, "accounts could not be listed for their health and orders");
        }
        // Backfills go on after the polls, with whatever createReport quota the scheduled imports leave.
        if let Err(err) = self.reports().advance_backfills().await {
            tracing::error!(error = %err, "backfills could not be advanced");
        }
        Ok(total)
    }

    /// Each account's health gauges; then, with enrichment on, its orders awaiting details completed (a
    /// disconnected account waits for its import to reconnect it).
    async fn visit_accounts(&self) -> Result<(), ImportError> {
        let mut after = None;
        loop {
            let page = self.accounts.list_accounts(after.as_deref(), 100).await?;
            let now = self.clock.now();
            for record in &page.items {
                self.metrics.emit(&metrics::account_health(record, now), now);
            }
            if self.settings.enrich_orders {
                for record in &page.items {
                    if record.status.connection != crate::domain::Connection::Disconnected {
                        self.complete_orders(&record.account).await;
                    }
                }
            }
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn poll_account(&self, account_id: String, jobs: Vec<ReportJob>) -> PollSummary {
        let mut summary = PollSummary::default();
        let mut notified = false;
        let auth = match self.accounts.get_account(&account_id).await {
            Ok(Some(record)) => {
                notified = record.status.notifications.as_ref().is_some_and(|status| {
                    status.is_active(crate::domain::NotificationType::ReportProcessingFinished)
                });
                self.seller_auth(&record.account).await
            }
            Ok(None) => Err(ImportError::BadInput(format!(
                "account {account_id} no longer exists"
            ))),
            Err(err) => Err(err.into()),
        };
        let auth = match auth {
            Ok(auth) => auth,
            Err(err) => {
                tracing::warn!(account = %account_id, error = %err, "cannot poll the account's reports");
                for job in jobs {
                    summary.failed += 1;
                    if let Err(err) = self.settle_unpollable(job, &err).await {
                        tracing::error!(account = %account_id, error = %err, "cannot record a poll failure");
                    }
                }
                return summary;
            }
        };
        for job in jobs {
            if let JobState::Parsing { .. } = job.state {
                match self.give_up_unparsed(job).await {
                    Ok(given_up) => summary.abandoned += u32::from(given_up),
                    Err(err) => {
                        summary.failed += 1;
                        tracing::error!(account = %account_id, error = %err, "cannot give up an unparsed job");
                    }
                }
                continue;
            }
            summary.polled += 1;
            match self.poll_job(&auth, job, notified).await {
                Ok(outcome) => summary.add(outcome),
                Err(err) => {
                    summary.failed += 1;
                    tracing::error!(account = %account_id, error = %err, "poll failed");
                    if let Err(record) = self.record_failure(&account_id, &err).await {
                        tracing::error!(account = %account_id, error = %record, "cannot record the failure");
                    }
                }
            }
        }
        summary
    }

    /// A job whose document went to the parsers a parse deadline ago and is still not imported: every
    /// delivery of its message died before it could settle the job (the message is in the parse dead-letter
    /// queue). The job is abandoned with the reason, so the next scheduled window covers it again; a parser
    /// that still finishes later (a redriven message) finds it settled and leaves it. Whether this run did.
    async fn give_up_unparsed(&self, mut job: ReportJob) -> Result<bool, ImportError> {
        let expected = job.change();
        job.updated_at = self.clock.now();
        job.state = JobState::Abandoned {
            reason: format!(
                "the document was not imported within {} minutes of going to the parsers: its message is in the \
                 parse dead-letter queue; the next window covers the orders again",
                self.settings.parse_deadline.num_minutes()
            ),
            replaced_by: None,
        };
        let given_up = self.jobs.put_job(&job, None, expected).await?;
        if given_up {
            tracing::warn!(account = %job.account_id, report_id = %job.report_id, "document never imported; job abandoned");
        }
        Ok(given_up)
    }

    /// A job of an account that cannot be polled: it is closed if the account is gone, else polled later.
    async fn settle_unpollable(&self, mut job: ReportJob, err: &ImportError) -> Result<(), ImportError> {
        let now = self.clock.now();
        let expected = job.change();
        job.updated_at = now;
        if matches!(err, ImportError::BadInput(_)) {
            job.state = JobState::Abandoned {
                reason: err.to_string(),
                replaced_by: None,
            };
            self.jobs.put_job(&job, None, expected).await?;
        } else {
            self.record_failure(&job.account_id, err).await?;
            self.jobs
                .put_job(&job, Some(now + MAX_POLL_INTERVAL * 3), expected)
                .await?;
        }
        Ok(())
    }

    /// Polls one job and moves it on. Every write is made over the job as read, so of two runs polling it at
    /// once only the first moves it; the other leaves it (and its document) alone. `notified`: Amazon notifies
    /// the account when its reports finish, so a pending job is asked about again only as a safety net.
    pub(crate) async fn poll_job(
        &self,
        auth: &SellerAuth,
        mut job: ReportJob,
        notified: bool,
    ) -> Result<PollSummary, ImportError> {
        let expected = job.change();
        let report = match self.amazon.get_report(auth, &job.report_id).await {
            Ok(report) => report,
            Err(err) => {
                // Keep the job for a later poll; the failure is recorded on the account by the caller.
                let now = self.clock.now();
                job.polls += 1;
                self.jobs
                    .put_job(
                        &job,
                        Some(now + next_poll_after(job.polls).max(TimeDelta::minutes(1))),
                        expected,
                    )
                    .await?;
                return Err(err.into());
            }
        };
        let now = self.clock.now();
        job.polls += 1;
        job.updated_at = now;
        let mut outcome = PollSummary::default();
        match decide_poll(&job, &report, now, notified)? {
            PollDecision::RequestAgain => {
                if self.request_again(auth, job, expected, &report).await? {
                    outcome.retried += 1;
                }
            }
            PollDecision::Wait {
                amazon_status,
                next_poll,
            } => {
                job.state = JobState::Pending { amazon_status };
                if self.jobs.put_job(&job, Some(next_poll), expected).await? {
                    outcome.pending += 1;
                }
            }
            PollDecision::HandOver { document_id } => {
                if self.hand_over(job, expected, document_id).await? {
                    outcome.done += 1;
                }
            }
            PollDecision::NoData { watermark } => {
                job.state = JobState::NoData;
                if !self.jobs.put_job(&job, None, expected).await? {
                    return Ok(outcome);
                }
                if let Some(end) = watermark {
                    self.accounts
                        .record_import(&job.account_id, now, Some((&job.report_type, end)))
                        .await?;
                }
                outcome.no_data += 1;
            }
            PollDecision::Fatal => {
                let reason = self.fatal_reason(auth, &report).await;
                job.state = JobState::Fatal {
                    reason: reason.clone(),
                };
                if !self.jobs.put_job(&job, None, expected).await? {
                    return Ok(outcome);
                }
                tracing::warn!(account = %job.account_id, report_id = %job.report_id, %reason, "report FATAL");
                let problem = Problem {
                    kind: ProblemKind::ReportFatal,
                    detail: format!("{} {}: {reason}", job.report_type, job.report_id),
                    at: now,
                };
                self.accounts.record_problem(&job.account_id, &problem).await?;
                outcome.fatal += 1;
            }
        }
        Ok(outcome)
    }

    /// Hands a DONE report's document to the parsers, once: the job is claimed first (still pending, due
    /// again after [`HANDOVER_LEASE`]), so a run that lost the claim sends nothing; then the message is
    /// sent; then the job moves to `parsing` (or `raw_document`). A run that dies after its claim leaves the
    /// job due, and a later poll hands it over again (parsing tolerates a repeated document). A parser that
    /// finishes before the last write settles the job from `pending`, and the last write then finds it
    /// changed and leaves it alone. Whether this run handed the document over.
    async fn hand_over(
        &self,
        mut job: ReportJob,
        expected: JobPrecondition,
        document_id: String,
    ) -> Result<bool, ImportError> {
        let now = self.clock.now();
        job.state = JobState::Pending {
            amazon_status: ProcessingStatus::Done.as_str().to_owned(),
        };
        if !self
            .jobs
            .put_job(&job, Some(now + HANDOVER_LEASE), expected)
            .await?
        {
            tracing::info!(account = %job.account_id, report_id = %job.report_id, "another poll run hands this report over");
            return Ok(false);
        }
        // Every document goes to the parsers; those of types sellersync does not parse are copied as they are
        // into the raw documents bucket there, off the poller's minute.
        let message = ParseMessage::of(&job, &document_id);
        let body = serde_json::to_string(&message).map_err(|e| ImportError::Internal(e.to_string()))?;
        self.parse_queue.send(OutgoingMessage::standard(body)).await?;
        let claimed = job.change();
        job.state = if ReportKind::of(&job.report_type).is_parsed() {
            JobState::Parsing { document_id }
        } else {
            JobState::RawDocument {
                document_id,
                location: None,
            }
        };
        // A parsed document's job comes due again at the parse deadline, in case no parser ever settles it.
        let deadline =
            matches!(job.state, JobState::Parsing { .. }).then(|| now + self.settings.parse_deadline);
        if !self.jobs.put_job(&job, deadline, claimed).await? {
            tracing::info!(account = %job.account_id, report_id = %job.report_id, "the parser settled the job first");
        }
        Ok(true)
    }

    /// Amazon's reason for a FATAL report, from its error document when there is one.
    async fn fatal_reason(&self, auth: &SellerAuth, report: &Report) -> String {
        let Some(document_id) = &report.report_document_id else {
            return "Amazon gave no reason (no error document)".to_owned();
        };
        let text = async {
            let document = self
                .amazon
                .get_report_document(auth, document_id, DocumentAccess::Plain)
                .await?;
            let body = self
                .amazon
                .download_document(&document.url, document.compression_algorithm)
                .await?;
            let bytes = body.into_decoded_bytes(ERROR_DOCUMENT_LIMIT).await?;
            Ok::<_, ImportError>(String::from_utf8_lossy(&bytes).trim().to_owned())
        }
        .await;
        match text {
            Ok(text) if !text.is_empty() => text.chars().take(500).collect(),
            Ok(_) => "Amazon's error document is empty".to_owned(),
            Err(err) => format!("the error document could not be read: {err}"),
        }
    }

    /// Cancels a stuck report and requests the same window again as a new job. Claimed first, like a hand
    /// over, so that of two runs only one requests it again; `false` when this run lost the claim.
    async fn request_again(
        &self,
        auth: &SellerAuth,
        mut job: ReportJob,
        expected: JobPrecondition,
        report: &Report,
    ) -> Result<bool, ImportError> {
        let now = self.clock.now();
        if !self
            .jobs
            .put_job(&job, Some(now + HANDOVER_LEASE), expected)
            .await?
        {
            return Ok(false);
        }
        let claimed = job.change();
        if let Err(err) = self.amazon.cancel_report(auth, &report.report_id).await {
            tracing::warn!(report_id = %report.report_id, error = %err, "could not cancel a stuck report");
        }
        let specification = CreateReportSpecification {
            report_type: job.report_type.clone(),
            marketplace_ids: job.marketplace_ids.clone(),
            data_start_time: job.window.map(|w| w.start),
            data_end_time: job.window.map(|w| w.end),
            report_options: None,
        };
        let created = self.amazon.create_report(auth, &specification).await?;
        let replacement = ReportJob {
            report_id: created.report_id,
            requested_at: now,
            updated_at: now,
            state: JobState::Pending {
                amazon_status: "IN_QUEUE".into(),
            },
            polls: 0,
            version: 0,
            ..job.clone()
        };
        self.jobs
            .put_job(&replacement, Some(now + next_poll_after(0)), JobPrecondition::New)
            .await?;
        job.state = JobState::Abandoned {
            reason: format!(
                "not done after {} hours; requested again as report {}",
                STUCK_AFTER.num_hours(),
                replacement.report_id
            ),
            replaced_by: Some(replacement.key()),
        };
        self.jobs.put_job(&job, None, claimed).await?;
        tracing::warn!(old = %job.report_id, new = %replacement.report_id, "stuck report requested again");
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Window;

    fn at(minutes: i64) -> DateTime<Utc> {
        "2026-03-09T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
    }

    fn job(purpose: JobPurpose, window: Option<Window>, polls: u32) -> ReportJob {
        ReportJob {
            account_id: "a1".into(),
            report_id: "50001".into(),
            report_type: "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL".into(),
            marketplace_ids: vec!["ATVPDKIKX0DER".into()],
            window,
            purpose,
            requested_at: at(0),
            state: JobState::Pending {
                amazon_status: "IN_QUEUE".into(),
            },
            updated_at: at(0),
            polls,
            version: 1,
        }
    }

    fn report(status: ProcessingStatus, document: Option<&str>) -> Report {
        Report {
            report_id: "50001".into(),
            report_type: "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL".into(),
            marketplace_ids: None,
            data_start_time: None,
            data_end_time: None,
            report_schedule_id: None,
            created_time: at(0),
            processing_status: status,
            processing_start_time: None,
            processing_end_time: None,
            report_document_id: document.map(str::to_owned),
        }
    }

    #[test]
    fn a_poll_decides_from_amazons_status_the_jobs_age_and_purpose() {
        use PollDecision::*;
        use ProcessingStatus as S;
        let window = Window {
            start: at(-60),
            end: at(-5),
        };
        let scheduled = job(JobPurpose::Scheduled, Some(window), 3);
        let requested = job(JobPurpose::Requested, Some(window), 3);
        let wait = |status: &str, after: TimeDelta, now: i64| Wait {
            amazon_status: status.into(),
            next_poll: at(now) + after,
        };
        // (job, Amazon's status, its document, minutes after the request, notified) -> decision
        let cases = [
            (
                &scheduled,
                S::InQueue,
                None,
                4,
                false,
                wait("IN_QUEUE", TimeDelta::minutes(4), 4),
            ),
            (
                &scheduled,
                S::InProgress,
                None,
                4,
                true,
                wait("IN_PROGRESS", TimeDelta::minutes(15), 4),
            ),
            (
                &scheduled,
                S::InProgress,
                None,
                180,
                false,
                wait("IN_PROGRESS", TimeDelta::minutes(4), 180),
            ),
            (&scheduled, S::InQueue, None, 181, false, RequestAgain),
            (&requested, S::InProgress, None, 181, true, RequestAgain),
            (
                &scheduled,
                S::Done,
                Some("doc-1"),
                5,
                false,
                HandOver {
                    document_id: "doc-1".into(),
                },
            ),
            (
                &scheduled,
                S::Cancelled,
                None,
                5,
                false,
                NoData {
                    watermark: Some(window.end),
                },
            ),
            (
                &requested,
                S::Cancelled,
                None,
                5,
                false,
                NoData { watermark: None },
            ),
            (&scheduled, S::Fatal, None, 5, false, Fatal),
        ];
        for (job, status, document, minutes, notified, expected) in cases {
            let decided = decide_poll(job, &report(status, document), at(minutes), notified).unwrap();
            assert_eq!(
                decided, expected,
                "{status:?} after {minutes} min, notified: {notified}"
            );
        }
        let done_without_document = decide_poll(&scheduled, &report(S::Done, None), at(5), false);
        assert!(
            matches!(&done_without_document, Err(ImportError::BadInput(why)) if why.contains("without a document")),
            "{done_without_document:?}"
        );
    }

    #[test]
    fn polls_back_off_to_five_minutes() {
        assert_eq!(next_poll_after(0), TimeDelta::seconds(30));
        assert_eq!(next_poll_after(1), TimeDelta::minutes(1));
        assert_eq!(next_poll_after(3), TimeDelta::minutes(4));
        assert_eq!(next_poll_after(4), TimeDelta::minutes(5));
        assert_eq!(next_poll_after(1000), TimeDelta::minutes(5));
        // With Amazon's notifications the poller is the safety net only.
        assert_eq!(pending_poll_after(0, false), TimeDelta::seconds(30));
        assert_eq!(pending_poll_after(3, false), TimeDelta::minutes(4));
        assert_eq!(pending_poll_after(0, true), TimeDelta::minutes(15));
        assert_eq!(pending_poll_after(1000, true), TimeDelta::minutes(15));
    }
}
