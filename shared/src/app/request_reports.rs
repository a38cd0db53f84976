//! The report requester: one schedule tick for one account asks Amazon for the account's order reports over a
//! window that overlaps the last imported one, and records a job for each.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::import::{Import, ImportError};
use crate::amazon::{CreateReportSpecification, SellerAuth};
use crate::domain::notifications::check_due;
use crate::domain::report::MAX_ORDER_REPORT_WINDOW;
use crate::domain::{ImportInterval, ImportStatus, JobPrecondition, JobPurpose, JobState, ReportJob, Window};
use crate::ports::AccountRecord;

/// A window ends this long before now: Amazon refuses end times in the future, and clocks differ a little.
const END_MARGIN: TimeDelta = TimeDelta::minutes(2);

/// The first poll of a new job: reports take at least this long.
const FIRST_POLL: TimeDelta = TimeDelta::seconds(30);

/// The input of a tick: what each account's schedule sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tick {
    /// The account to import.
    pub account_id: String,
}

/// What a tick did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TickOutcome {
    /// Reports were requested; their jobs.
    Requested {
        /// The jobs.
        jobs: Vec<ReportJob>,
    },
    /// Nothing to do, and why.
    Skipped {
        /// Why.
        reason: String,
    },
    /// A failure another try cannot fix; it is recorded on the account.
    Failed {
        /// What failed.
        error: String,
    },
}

/// The next window of a report type: from its watermark less the overlap (or the initial lookback for a new
/// account) up to now, at most 30 days; a longer gap is caught up one 30-day window per tick, never skipped.
pub fn next_window(
    status: &ImportStatus,
    report_type: &str,
    now: DateTime<Utc>,
    overlap: TimeDelta,
    initial_lookback: TimeDelta,
) -> Window {
    let end = now - END_MARGIN;
    let start = match status.watermarks.get(report_type) {
        Some(watermark) => *watermark - overlap,
        None => now - initial_lookback,
    }
    .min(end - TimeDelta::minutes(1));
    Window {
        start,
        end: end.min(start + MAX_ORDER_REPORT_WINDOW),
    }
}

impl Import {
    /// A tick as the function answers it: a failure another try could fix is an error (Scheduler retries the
    /// tick, then dead-letters it); any other failure was recorded on the account and ends the tick.
    pub async fn tick(&self, tick: &Tick) -> Result<TickOutcome, ImportError> {
        match self.request_reports(tick).await {
            Err(err) if !err.is_retryable() => Ok(TickOutcome::Failed {
                error: err.to_string(),
            }),
            other => other,
        }
    }

    /// Handles one tick of an account's schedule.
    #[tracing::instrument(skip(self), fields(account = %tick.account_id))]
    pub async fn request_reports(&self, tick: &Tick) -> Result<TickOutcome, ImportError> {
        let Some(record) = self.accounts.get_account(&tick.account_id).await? else {
            tracing::warn!("tick for an account that no longer exists");
            return Ok(TickOutcome::Skipped {
                reason: "no such account".into(),
            });
        };
        if record.account.import_interval == ImportInterval::Never {
            return Ok(TickOutcome::Skipped {
                reason: "import interval is never".into(),
            });
        }
        let account = &record.account;
        let mut seller = None;
        let result = async {
            let auth = self.seller_auth(account).await?;
            seller = Some(auth.clone());
            let mut jobs = Vec::new();
            for report_type in account.options.report_types() {
                let now = self.clock.now();
                let window = next_window(
                    &record.status,
                    report_type,
                    now,
                    self.settings.overlap,
                    self.settings.initial_lookback,
                );
                let specification = CreateReportSpecification {
                    report_type: report_type.to_owned(),
                    marketplace_ids: account.marketplaces.clone(),
                    data_start_time: Some(window.start),
                    data_end_time: Some(window.end),
                    report_options: None,
                };
                let created = self.amazon.create_report(&auth, &specification).await?;
                let job = ReportJob {
                    account_id: account.id.clone(),
                    report_id: created.report_id,
                    report_type: report_type.to_owned(),
                    marketplace_ids: account.marketplaces.clone(),
                    window: Some(window),
                    purpose: JobPurpose::Scheduled,
                    requested_at: now,
                    state: JobState::Pending { amazon_status: "IN_QUEUE".into() },
                    updated_at: now,
                    polls: 0,
                    version: 0,
                };
                self.jobs.put_job(&job, Some(now + FIRST_POLL), JobPrecondition::New).await?;
                tracing::info!(report_type, report_id = %job.report_id, start = %window.start, end = %window.end, "report requested");
                jobs.push(job);
            }
            Ok::<_, ImportError>(jobs)
        }
        .await;
        match result {
            Ok(jobs) => {
                self.accounts.record_connected(&account.id).await?;
                if let Some(seller) = &seller {
                    self.keep_subscriptions(&record, seller).await;
                }
                Ok(TickOutcome::Requested { jobs })
            }
            Err(err) => {
                self.record_failure(&account.id, &err).await?;
                Err(err)
            }
        }
    }
}

impl Import {
    /// Checks the account's notification subscriptions when they are due ([`check_due`]): after its reports were
    /// requested, so a connected seller's first tick subscribes it. Best effort: a failure is logged and the
    /// next tick tries again.
    async fn keep_subscriptions(&self, record: &AccountRecord, seller: &SellerAuth) {
        if !self.subscriptions.enabled() || !check_due(record.status.notifications.as_ref(), self.clock.now())
        {
            return;
        }
        match self.subscriptions.check(&record.account, seller).await {
            Ok(Some(status)) if status.all_active() => {
                tracing::info!(account = %record.account.id, "notification subscriptions checked");
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(account = %record.account.id, error = %err, "cannot record the notification subscriptions");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::{ALL_ORDERS_FLAT, FBA_SHIPMENTS};

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_new_account_looks_back_its_initial_lookback() {
        let window = next_window(
            &ImportStatus::default(),
            ALL_ORDERS_FLAT,
            t("2026-11-10T12:00:00Z"),
            TimeDelta::hours(24),
            TimeDelta::days(7),
        );
        assert_eq!(window.start, t("2026-11-03T12:00:00Z"));
        assert_eq!(window.end, t("2026-11-10T11:58:00Z"));
    }

    #[test]
    fn the_next_window_overlaps_the_watermark_by_the_overlap() {
        let mut status = ImportStatus::default();
        status
            .watermarks
            .insert(ALL_ORDERS_FLAT.into(), t("2026-11-10T11:43:00Z"));
        let window = next_window(
            &status,
            ALL_ORDERS_FLAT,
            t("2026-11-10T12:00:00Z"),
            TimeDelta::hours(24),
            TimeDelta::days(7),
        );
        assert_eq!(window.start, t("2026-11-09T11:43:00Z"));
        let other = next_window(
            &status,
            FBA_SHIPMENTS,
            t("2026-11-10T12:00:00Z"),
            TimeDelta::hours(24),
            TimeDelta::days(7),
        );
        assert_eq!(
            other.start,
            t("2026-11-03T12:00:00Z"),
            "watermarks are per report type"
        );
    }

    #[test]
    fn a_long_gap_is_caught_up_thirty_days_at_a_time_without_skipping() {
        let mut status = ImportStatus::default();
        status
            .watermarks
            .insert(ALL_ORDERS_FLAT.into(), t("2026-08-01T00:00:00Z"));
        let window = next_window(
            &status,
            ALL_ORDERS_FLAT,
            t("2026-11-10T12:00:00Z"),
            TimeDelta::hours(24),
            TimeDelta::days(7),
        );
        assert_eq!(window.start, t("2026-07-31T00:00:00Z"));
        assert_eq!(window.length(), MAX_ORDER_REPORT_WINDOW);
    }
}
