//! An account's health: whether its connection to Amazon works right now (a fresh token exchange and one cheap
//! `getReports` call), what stops its import and what the seller must do, when it last imported, when it runs
//! next, what is in flight and whether Amazon throttles it.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::accounts::{AccountError, AccountNaming};
use crate::amazon::{AmazonClient, GetReportsQuery};
use crate::app::credentials::{StoredCredentials, credentials_problem};
use crate::clock::Clock;
use crate::domain::report::ALL_ORDERS_FLAT;
use crate::domain::{
    ImportInterval, JobPurpose, JobState, NotificationStatus, Problem, ProblemKind, ReportJob, SellerAccount,
};
use crate::error::AmazonError;
use crate::ports::{AccountStore, JobStore, Schedules, SecretStore};

/// Throttling this recent counts as "recent".
pub const RECENT: TimeDelta = TimeDelta::hours(1);
/// Jobs looked at for what is in flight and the last report outcomes.
const JOBS_LOOKED_AT: u32 = 100;

/// How the connection check went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveCheck {
    /// The token exchange and the call went through.
    Connected,
    /// One of them failed, for this cause.
    Failed {
        /// The classified cause.
        kind: ProblemKind,
        /// What Amazon said (never a token).
        detail: String,
    },
    /// The call was not made, and why (the quota is in use by the import; the token exchange still ran).
    Skipped {
        /// Why.
        reason: String,
    },
}

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Nothing in the way.
    Healthy,
    /// Something slows the import down but passes by itself (throttling, Amazon failing).
    Degraded,
    /// The import is stopped until someone acts.
    Failing,
}

/// An account's health as of `checked_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountHealth {
    /// The account.
    pub account_id: String,
    /// When it was checked.
    pub checked_at: DateTime<Utc>,
    /// The verdict.
    pub status: HealthStatus,
    /// The connection check just made.
    pub connection: LiveCheck,
    /// What stops (or slows) the import now, if anything; its `kind` says what to do.
    pub cause: Option<Problem>,
    /// The last classified error the import recorded (cleared by its next success).
    pub last_error: Option<Problem>,
    /// When orders were last imported.
    pub last_successful_import: Option<DateTime<Utc>>,
    /// When the schedule fires next (estimated from its last tick: Scheduler does not tell, and fires within a
    /// flexible window after it); `None` when it does not fire.
    pub next_scheduled_run: Option<DateTime<Utc>>,
    /// Whether the account's schedule exists and is enabled.
    pub schedule_enabled: bool,
    /// Report jobs waiting on Amazon or the parsers.
    pub reports_in_flight: u32,
    /// When Amazon last throttled one of its calls.
    pub last_throttled_at: Option<DateTime<Utc>>,
    /// Whether that was within the last hour.
    pub throttled_recently: bool,
    /// The account's notification subscriptions as last checked, with Amazon's refusals.
    pub notifications: Option<NotificationStatus>,
}

/// The health check.
#[derive(Debug, Clone)]
pub struct HealthCheck {
    accounts: Arc<dyn AccountStore>,
    jobs: Arc<dyn JobStore>,
    secrets: Arc<dyn SecretStore>,
    schedules: Arc<dyn Schedules>,
    amazon: AmazonClient,
    clock: Arc<dyn Clock>,
    naming: AccountNaming,
}

impl HealthCheck {
    /// The check over its ports and Amazon.
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        jobs: Arc<dyn JobStore>,
        secrets: Arc<dyn SecretStore>,
        schedules: Arc<dyn Schedules>,
        amazon: AmazonClient,
        clock: Arc<dyn Clock>,
        naming: AccountNaming,
    ) -> Self {
        HealthCheck {
            accounts,
            jobs,
            secrets,
            schedules,
            amazon: amazon.without_waiting(),
            clock,
            naming,
        }
    }

    /// Checks the account now. Reads only: the import's own runs record what they see.
    #[tracing::instrument(skip(self))]
    pub async fn check(&self, account_id: &str) -> Result<AccountHealth, AccountError> {
        let record = self
            .accounts
            .get_account(account_id)
            .await?
            .ok_or_else(|| AccountError::NotFound(format!("account {account_id}")))?;
        let account = &record.account;
        let now = self.clock.now();
        let connection = self.live_check(account).await?;
        let schedule = self
            .schedules
            .get(&AccountNaming::schedule_name(account_id))
            .await?;
        let schedule_enabled =
            schedule.as_ref().is_some_and(|s| s.enabled) && account.import_interval != ImportInterval::Never;
        let jobs = self.jobs.list_jobs(account_id, None, JOBS_LOOKED_AT).await?.items;
        let reports_in_flight = jobs.iter().filter(|job| !job.state.is_settled()).count() as u32;
        let next_scheduled_run = schedule_enabled.then(|| next_run(account, &jobs, now)).flatten();
        let status = &record.status;
        let throttled_recently = status.last_throttled_at.is_some_and(|at| now - at <= RECENT);

        let credentials = self.credentials_problem(now).await;
        let cause = match &connection {
            LiveCheck::Failed { kind, detail } => Some(Problem {
                kind: *kind,
                detail: detail.clone(),
                at: now,
            }),
            _ if !schedule_enabled => Some(Problem {
                kind: ProblemKind::NoSchedule,
                detail: match (&schedule, account.import_interval) {
                    (_, ImportInterval::Never) => "the import interval is never".to_owned(),
                    (None, _) => "the account's schedule does not exist".to_owned(),
                    (Some(_), _) => "the account's schedule is disabled".to_owned(),
                },
                at: now,
            }),
            _ if credentials.is_some() => credentials,
            _ => fatal_report(&jobs)
                .or_else(|| {
                    // A problem the connection check cannot see: the last one recorded, if still recent.
                    status.problem.clone().filter(|p| {
                        !connection_kind(p.kind) && now - p.at <= RECENT && p.kind != ProblemKind::Throttled
                    })
                })
                .or_else(|| {
                    throttled_recently.then(|| Problem {
                        kind: ProblemKind::Throttled,
                        detail: "Amazon throttled a call within the last hour".to_owned(),
                        at: status.last_throttled_at.unwrap_or(now),
                    })
                }),
        };
        let status_verdict = match &cause {
            None => HealthStatus::Healthy,
            Some(problem) if problem.kind.needs_action() => HealthStatus::Failing,
            Some(_) => HealthStatus::Degraded,
        };
        Ok(AccountHealth {
            account_id: account_id.to_owned(),
            checked_at: now,
            status: status_verdict,
            connection,
            cause,
            last_error: record.status.problem.clone(),
            last_successful_import: record.status.last_successful_import,
            next_scheduled_run,
            schedule_enabled,
            reports_in_flight,
            last_throttled_at: record.status.last_throttled_at,
            throttled_recently,
            notifications: record.status.notifications.clone(),
        })
    }

    /// What the application's credentials secret says of its rotation ([`credentials_problem`]); nothing when it
    /// cannot be read (the connection check then says what matters).
    async fn credentials_problem(&self, now: DateTime<Utc>) -> Option<Problem> {
        let text = self.secrets.get(&self.naming.lwa_secret).await.ok().flatten()?;
        let stored: StoredCredentials = serde_json::from_str(&text).ok()?;
        credentials_problem(&stored, now)
    }

    /// A fresh token exchange, then `getReports` with a page size of 1 if the bucket has a token now.
    async fn live_check(&self, account: &SellerAccount) -> Result<LiveCheck, AccountError> {
        let Some(auth) = self.naming.seller_auth(self.secrets.as_ref(), account).await? else {
            return Ok(LiveCheck::Failed {
                kind: ProblemKind::RefreshTokenRevoked,
                detail: "no refresh token is stored for the account".to_owned(),
            });
        };
        if let Err(err) = self.amazon.check_authorization(&auth).await {
            return Ok(failed(&err));
        }
        let query = GetReportsQuery {
            report_types: vec![ALL_ORDERS_FLAT.to_owned()],
            page_size: Some(1),
            ..GetReportsQuery::default()
        };
        // The client takes a token only if one is there now: a check never waits for the import's quota.
        Ok(match self.amazon.get_reports(&auth, &query).await {
            Ok(_) => LiveCheck::Connected,
            Err(err @ AmazonError::QuotaInUse { .. }) => LiveCheck::Skipped {
                reason: format!("the token exchange worked; {err}"),
            },
            Err(err) => failed(&err),
        })
    }
}

fn failed(err: &AmazonError) -> LiveCheck {
    match err.problem() {
        Some(kind) => LiveCheck::Failed {
            kind,
            detail: err.to_string(),
        },
        // Not about the account's connection (a malformed answer, a misconfiguration): Amazon is the suspect.
        None => LiveCheck::Failed {
            kind: ProblemKind::AmazonUnavailable,
            detail: err.to_string(),
        },
    }
}

/// Kinds the connection check sees for itself, so that a recorded one is stale once the check passes.
fn connection_kind(kind: ProblemKind) -> bool {
    matches!(
        kind,
        ProblemKind::AccessDenied
            | ProblemKind::RefreshTokenRevoked
            | ProblemKind::InvalidCredentials
            | ProblemKind::Ineligible
            | ProblemKind::AmazonUnavailable
    )
}

/// A report type whose newest settled report ended FATAL: the import of that type gets nothing.
fn fatal_report(jobs: &[ReportJob]) -> Option<Problem> {
    let mut seen = HashSet::new();
    // Newest first: the first settled job of each type is its latest outcome.
    for job in jobs.iter().filter(|job| job.state.is_settled()) {
        if !seen.insert(job.report_type.as_str()) {
            continue;
        }
        if let JobState::Fatal { reason } = &job.state {
            return Some(Problem {
                kind: ProblemKind::ReportFatal,
                detail: format!("{} {}: {reason}", job.report_type, job.report_id),
                at: job.updated_at,
            });
        }
    }
    None
}

/// The schedule's next tick after `now`: its interval after the last tick seen (a scheduled job), or after
/// the account was connected.
fn next_run(account: &SellerAccount, jobs: &[ReportJob], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let interval = TimeDelta::from_std(account.import_interval.duration()?).ok()?;
    if interval <= TimeDelta::zero() {
        return None;
    }
    let last_tick = jobs
        .iter()
        .filter(|job| job.purpose == JobPurpose::Scheduled)
        .map(|job| job.requested_at)
        .max()
        .unwrap_or(account.created_at);
    let mut next = last_tick + interval;
    if next <= now {
        let behind = (now - next).num_seconds() / interval.num_seconds().max(1) + 1;
        next += interval * i32::try_from(behind).unwrap_or(i32::MAX);
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ImportOptions, Region};

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn job(report_type: &str, at: &str, state: JobState) -> ReportJob {
        ReportJob {
            account_id: "a1".into(),
            report_id: format!("r-{at}"),
            report_type: report_type.into(),
            marketplace_ids: vec![],
            window: None,
            purpose: JobPurpose::Scheduled,
            requested_at: t(at),
            state,
            updated_at: t(at),
            polls: 0,
            version: 0,
        }
    }

    #[test]
    fn the_next_run_is_an_interval_after_the_last_tick_rolled_past_now() {
        let account = SellerAccount {
            id: "a1".into(),
            seller_id: "A2SELLER".into(),
            region: Region::Na,
            marketplaces: vec![],
            import_interval: ImportInterval::Minutes(15),
            options: ImportOptions::default(),
            created_at: t("2026-11-01T00:00:00Z"),
            ship_from: None,
        };
        let now = t("2026-11-10T12:07:00Z");
        let jobs = [job(ALL_ORDERS_FLAT, "2026-11-10T12:00:00Z", JobState::NoData)];
        assert_eq!(next_run(&account, &jobs, now), Some(t("2026-11-10T12:15:00Z")));
        let later = t("2026-11-10T12:40:00Z");
        assert_eq!(next_run(&account, &jobs, later), Some(t("2026-11-10T12:45:00Z")));
        assert_eq!(next_run(&account, &[], now), Some(t("2026-11-10T12:15:00Z")));
    }

    #[test]
    fn only_the_newest_outcome_of_a_report_type_counts_as_fatal() {
        let fatal = JobState::Fatal {
            reason: "boom".into(),
        };
        let recovered = [
            job(ALL_ORDERS_FLAT, "2026-11-10T12:00:00Z", JobState::NoData),
            job(ALL_ORDERS_FLAT, "2026-11-10T11:00:00Z", fatal.clone()),
        ];
        assert_eq!(fatal_report(&recovered), None);
        let failing = [
            job(
                ALL_ORDERS_FLAT,
                "2026-11-10T12:00:00Z",
                JobState::Pending {
                    amazon_status: "IN_QUEUE".into(),
                },
            ),
            job(ALL_ORDERS_FLAT, "2026-11-10T11:00:00Z", fatal),
        ];
        assert_eq!(
            fatal_report(&failing).map(|p| p.kind),
            Some(ProblemKind::ReportFatal)
        );
    }
}
