//! Reports a seller asks for: single reports of any supported type over a date range, and backfills that walk
//! an account's order history forward in windows of at most 30 days, as the `createReport` quota allows.
//!
//! Both are report jobs like the scheduled import's (`JobPurpose::Requested`, `JobPurpose::Backfill`), so the
//! report poller polls them and the parsers import them. A backfill's cursor is its stored list of windows;
//! the API starts it, and every poll run ([`Reports::advance_backfills`]) requests its next windows while
//! the quota leaves room for the scheduled imports, so an interrupted backfill resumes where it stopped.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use futures::stream::{self, StreamExt};

use super::accounts::{AccountError, AccountNaming, record_account_failure};
use crate::amazon::{AmazonClient, CreateReportSpecification, Operation, SellerAuth};
use crate::clock::Clock;
use crate::domain::report::{ACTIONABLE_ORDERS, MAX_ORDER_REPORT_WINDOW};
use crate::domain::{
    Backfill, BackfillStatus, JobPrecondition, JobPurpose, JobState, ProblemKind, ReportJob, ReportTypeSpec,
    SellerAccount,
};
use crate::error::{AmazonError, DomainError, StoreError};
use crate::ports::{AccountStore, JobStore, Page, SecretStore};

/// A window ends at least this long before now: Amazon refuses end times in the future.
const END_MARGIN: TimeDelta = TimeDelta::minutes(2);
/// How far back a backfill may reach; bounds its windows (25 per report type).
pub const MAX_BACKFILL: TimeDelta = TimeDelta::days(730);
/// `createReport` tokens a backfill leaves in the bucket for the scheduled imports (a tick needs up to three).
const RESERVED_FOR_IMPORTS: f64 = 4.0;
/// Windows of one backfill waiting on Amazon at once.
const MAX_IN_FLIGHT: usize = 4;
/// Windows one backfill requests per run at most.
const MAX_REQUESTS_PER_RUN: usize = 4;
/// After a failed request, a backfill waits this long before trying again.
const RETRY_AFTER_FAILURE: TimeDelta = TimeDelta::minutes(15);
/// Backfills advanced per run, and at once.
const BACKFILLS_PER_RUN: u32 = 100;
const BACKFILLS_IN_FLIGHT: usize = 4;
/// The first poll of a new job.
const FIRST_POLL: TimeDelta = TimeDelta::seconds(30);
/// The most report jobs on a page.
const MAX_PAGE: u32 = 100;
/// The API's names of a report request's and a backfill's range.
const REPORT_FIELDS: (&str, &str) = ("dataStartTime", "dataEndTime");
const BACKFILL_FIELDS: (&str, &str) = ("startDate", "endDate");

/// A report the seller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    /// Amazon's report type; one of [`crate::domain::report::REQUESTABLE_REPORT_TYPES`].
    pub report_type: String,
    /// Start of the data window (required by types that take one).
    pub start: Option<DateTime<Utc>>,
    /// End of the data window; a little before now when left out.
    pub end: Option<DateTime<Utc>>,
    /// Marketplaces; the account's when left out.
    pub marketplace_ids: Option<Vec<String>>,
}

/// A backfill the seller asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillRequest {
    /// Start of the history to import.
    pub start: DateTime<Utc>,
    /// End of it; a little before now when left out.
    pub end: Option<DateTime<Utc>>,
    /// Report types; the account's order reports when left out.
    pub report_types: Option<Vec<String>>,
}

/// Why a report request or backfill failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The request does not fit; names the field.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// No such account or backfill.
    #[error("no {0}")]
    NotFound(String),
    /// The account has no refresh token stored.
    #[error("account {0} has no refresh token stored; store one with PUT /accounts/{0}")]
    MissingToken(String),
    /// Amazon refused or failed.
    #[error(transparent)]
    Amazon(#[from] AmazonError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AccountError> for ReportError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Invalid(err) => ReportError::Invalid(err),
            AccountError::NotFound(what) => ReportError::NotFound(what),
            AccountError::Exists(what) => ReportError::Invalid(DomainError::invalid("id", &what, "exists")),
            AccountError::Store(err) => ReportError::Store(err),
        }
    }
}

/// What one run of [`Reports::advance_backfills`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BackfillRun {
    /// Running backfills looked at.
    pub backfills: u32,
    /// Windows requested.
    pub requested: u32,
    /// Backfills that finished.
    pub finished: u32,
    /// Backfills that could not go on this time.
    pub failed: u32,
}

/// The report use cases.
#[derive(Debug, Clone)]
pub struct Reports {
    accounts: Arc<dyn AccountStore>,
    jobs: Arc<dyn JobStore>,
    secrets: Arc<dyn SecretStore>,
    amazon: AmazonClient,
    clock: Arc<dyn Clock>,
    naming: AccountNaming,
}

impl Reports {
    /// The use cases over their ports and Amazon.
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        jobs: Arc<dyn JobStore>,
        secrets: Arc<dyn SecretStore>,
        amazon: AmazonClient,
        clock: Arc<dyn Clock>,
        naming: AccountNaming,
    ) -> Self {
        Reports {
            accounts,
            jobs,
            secrets,
            amazon,
            clock,
            naming,
        }
    }

    /// Requests one report now and records its job. Through the API's client, an empty `createReport` bucket
    /// refuses the request ([`AmazonError::QuotaInUse`], saying when to come back) instead of waiting.
    #[tracing::instrument(skip(self, request), fields(report_type = %request.report_type))]
    pub async fn request(&self, account_id: &str, request: ReportRequest) -> Result<ReportJob, ReportError> {
        let account = self.account(account_id).await?;
        let spec = ReportTypeSpec::of(&request.report_type).ok_or_else(|| {
            let supported: Vec<&str> = crate::domain::report::REQUESTABLE_REPORT_TYPES
                .iter()
                .map(|s| s.report_type)
                .collect();
            DomainError::invalid(
                "reportType",
                &request.report_type,
                format!(
                    "not a report type sellersync requests; one of {}",
                    supported.join(", ")
                ),
            )
        })?;
        let now = self.clock.now();
        let window = match (spec.max_window, request.start) {
            (Some(_), None) => {
                return Err(DomainError::invalid(
                    "dataStartTime",
                    "",
                    format!("{} needs a data window: give dataStartTime", spec.report_type),
                )
                .into());
            }
            (max, Some(start)) => {
                let end = request.end.unwrap_or(now - END_MARGIN);
                let window = checked_window(start, end, now, REPORT_FIELDS)?;
                if let Some(max) = max
                    && window.length() > max
                {
                    return Err(DomainError::invalid(
                        "dataEndTime",
                        &end.to_rfc3339(),
                        format!(
                            "at most {} days after dataStartTime for {}; POST /accounts/{{id}}/backfill walks longer \
                             ranges",
                            max.num_days(),
                            spec.report_type
                        ),
                    )
                    .into());
                }
                Some(window)
            }
            (None, None) => None,
        };
        let marketplace_ids = match request.marketplace_ids {
            None => account.marketplaces.clone(),
            Some(ids) => {
                check_marketplaces(&account, &ids)?;
                ids
            }
        };
        let auth = self.seller_auth(&account).await?;
        let job = self
            .create(
                &auth,
                spec.report_type,
                &marketplace_ids,
                window,
                JobPurpose::Requested,
            )
            .await?;
        tracing::info!(account = %account_id, report_id = %job.report_id, "report requested");
        Ok(job)
    }

    /// The account's report jobs, newest first.
    pub async fn list(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<ReportJob>, ReportError> {
        check_limit(limit)?;
        if let Some(after) = after
            && !after.starts_with("REPORT#")
        {
            return Err(DomainError::invalid("nextToken", after, "not a token this API returned").into());
        }
        self.account(account_id).await?;
        Ok(self.jobs.list_jobs(account_id, after, limit).await?)
    }

    /// Starts a backfill and requests its first windows as the quota allows.
    #[tracing::instrument(skip(self, request))]
    pub async fn start_backfill(
        &self,
        account_id: &str,
        request: BackfillRequest,
    ) -> Result<Backfill, ReportError> {
        let account = self.account(account_id).await?;
        let now = self.clock.now();
        let end = request.end.unwrap_or(now - END_MARGIN);
        let window = checked_window(request.start, end, now, BACKFILL_FIELDS)?;
        if now - window.start > MAX_BACKFILL {
            return Err(DomainError::invalid(
                "startDate",
                &window.start.to_rfc3339(),
                format!("at most {} days back", MAX_BACKFILL.num_days()),
            )
            .into());
        }
        let types = match request.report_types {
            None => account
                .options
                .report_types()
                .into_iter()
                .filter(|t| *t != ACTIONABLE_ORDERS)
                .map(str::to_owned)
                .collect(),
            Some(types) => {
                check_backfill_types(&types)?;
                types
            }
        };
        let id = format!("bf-{}-{:08x}", now.format("%Y%m%d%H%M%S"), rand::random::<u32>());
        let backfill = Backfill::new(
            account.id.clone(),
            id,
            types,
            account.marketplaces.clone(),
            window.start,
            window.end,
            MAX_ORDER_REPORT_WINDOW,
            now,
        );
        if !self.jobs.save_backfill(&backfill, None).await? {
            return Err(StoreError::Unavailable {
                operation: "PutItem",
                message: "a backfill with this id exists; try again".into(),
            }
            .into());
        }
        tracing::info!(account = %account_id, backfill = %backfill.id, windows = backfill.windows.len(), "backfill started");
        let mut run = BackfillRun::default();
        Ok(self.advance(backfill, Some(&account), &mut run).await)
    }

    /// A backfill with every window's latest state (read, not written: the next run records it).
    pub async fn backfill(&self, account_id: &str, id: &str) -> Result<Backfill, ReportError> {
        self.account(account_id).await?;
        let mut backfill = self
            .jobs
            .get_backfill(account_id, id)
            .await?
            .ok_or_else(|| ReportError::NotFound(format!("backfill {id} of account {account_id}")))?;
        self.settle(&mut backfill).await?;
        Ok(backfill)
    }

    /// Advances every running backfill: records which windows settled and requests the next ones as the
    /// quota allows. The report poller calls it at the end of each run.
    #[tracing::instrument(skip(self))]
    pub async fn advance_backfills(&self) -> Result<BackfillRun, ReportError> {
        let running = self.jobs.running_backfills(BACKFILLS_PER_RUN).await?;
        let runs: Vec<BackfillRun> = stream::iter(running)
            .map(|backfill| async move {
                let mut run = BackfillRun {
                    backfills: 1,
                    ..BackfillRun::default()
                };
                self.advance(backfill, None, &mut run).await;
                run
            })
            .buffer_unordered(BACKFILLS_IN_FLIGHT)
            .collect()
            .await;
        let mut total = BackfillRun::default();
        for run in runs {
            total.backfills += run.backfills;
            total.requested += run.requested;
            total.finished += run.finished;
            total.failed += run.failed;
        }
        if total.backfills > 0 {
            tracing::info!(?total, "backfills advanced");
        }
        Ok(total)
    }

    /// Settles windows and requests the next ones; failures are recorded on the backfill, never returned,
    /// so one account's trouble does not stop the others'. Returns the backfill as last stored or seen.
    async fn advance(
        &self,
        mut backfill: Backfill,
        account: Option<&SellerAccount>,
        run: &mut BackfillRun,
    ) -> Backfill {
        let now = self.clock.now();
        if resting(&backfill, now) {
            return backfill;
        }
        let outcome = async {
            let account = match account {
                Some(account) => account.clone(),
                None => match self.accounts.get_account(&backfill.account_id).await? {
                    Some(record) => record.account,
                    None => {
                        // The account is gone: the backfill ends with its remaining windows abandoned.
                        for window in backfill.windows.iter_mut().filter(|w| w.outcome.is_none()) {
                            window.outcome = Some("abandoned".into());
                        }
                        backfill.last_error = Some("the account was deleted".into());
                        self.save(&mut backfill).await?;
                        return Ok::<_, ReportError>(());
                    }
                },
            };
            let settled = self.settle(&mut backfill).await?;
            let mut auth = None;
            let mut requested = 0;
            // The bucket is read only when a window could go, tokens aside.
            while window_to_request(&backfill, requested, None).is_some() {
                let tokens = self
                    .amazon
                    .available_tokens(&account.id, Operation::CreateReport)
                    .await?;
                let Some(index) = window_to_request(&backfill, requested, tokens) else {
                    break;
                };
                if auth.is_none() {
                    auth = Some(self.seller_auth(&account).await?);
                }
                let Some(auth) = auth.as_ref() else { break };
                let window = backfill.windows[index].clone();
                let job = self
                    .create(
                        auth,
                        &window.report_type,
                        &backfill.marketplace_ids,
                        Some(window.window),
                        JobPurpose::Backfill {
                            backfill_id: backfill.id.clone(),
                        },
                    )
                    .await?;
                backfill.windows[index].job_key = Some(job.key());
                backfill.last_error = None;
                // Stored after each window, so a crash repeats at most the one request in flight.
                self.save(&mut backfill).await?;
                requested += 1;
                run.requested += 1;
            }
            if settled && requested == 0 {
                self.save(&mut backfill).await?;
            }
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => {
                if backfill.status() != BackfillStatus::Running {
                    run.finished += 1;
                    tracing::info!(account = %backfill.account_id, backfill = %backfill.id, status = ?backfill.status(), "backfill finished");
                }
            }
            Err(err) => {
                run.failed += 1;
                tracing::warn!(account = %backfill.account_id, backfill = %backfill.id, error = %err, "backfill cannot go on now");
                let kind = match &err {
                    ReportError::Amazon(amazon) => amazon.problem(),
                    ReportError::MissingToken(_) => Some(ProblemKind::RefreshTokenRevoked),
                    _ => None,
                };
                let recorded =
                    record_account_failure(self.accounts.as_ref(), &backfill.account_id, kind, &err, now)
                        .await;
                if let Err(store) = recorded {
                    tracing::error!(error = %store, "cannot record the account's problem");
                }
                backfill.last_error = Some(err.to_string());
                if let Err(store) = self.save(&mut backfill).await {
                    tracing::error!(error = %store, "cannot record the backfill's failure");
                }
            }
        }
        backfill
    }

    /// Reads the jobs of the windows in flight and records those that settled or were replaced; whether any
    /// window changed.
    async fn settle(&self, backfill: &mut Backfill) -> Result<bool, StoreError> {
        let mut changed = false;
        for index in 0..backfill.windows.len() {
            // A replaced job is followed to its replacement, a few links at most.
            for _ in 0..3 {
                let window = &backfill.windows[index];
                let (true, Some(key)) = (window.in_flight(), window.job_key.clone()) else {
                    break;
                };
                let Some(job) = self.jobs.get_job(&backfill.account_id, &key).await? else {
                    break;
                };
                if !backfill.observe(index, &job.state) {
                    break;
                }
                changed = true;
            }
        }
        Ok(changed)
    }

    /// Stores the backfill over the version it was read at.
    async fn save(&self, backfill: &mut Backfill) -> Result<(), ReportError> {
        let expected = backfill.version;
        backfill.version += 1;
        backfill.updated_at = self.clock.now();
        if self.jobs.save_backfill(backfill, Some(expected)).await? {
            Ok(())
        } else {
            Err(StoreError::Unavailable {
                operation: "PutItem",
                message: format!("backfill {} was changed by another run", backfill.id),
            }
            .into())
        }
    }

    async fn create(
        &self,
        auth: &SellerAuth,
        report_type: &str,
        marketplace_ids: &[String],
        window: Option<crate::domain::Window>,
        purpose: JobPurpose,
    ) -> Result<ReportJob, ReportError> {
        let specification = CreateReportSpecification {
            report_type: report_type.to_owned(),
            marketplace_ids: marketplace_ids.to_vec(),
            data_start_time: window.map(|w| w.start),
            data_end_time: window.map(|w| w.end),
            report_options: None,
        };
        let created = self.amazon.create_report(auth, &specification).await?;
        let now = self.clock.now();
        let job = ReportJob {
            account_id: auth.account_id.clone(),
            report_id: created.report_id,
            report_type: report_type.to_owned(),
            marketplace_ids: marketplace_ids.to_vec(),
            window,
            purpose,
            requested_at: now,
            state: JobState::Pending {
                amazon_status: "IN_QUEUE".into(),
            },
            updated_at: now,
            polls: 0,
            version: 0,
        };
        self.jobs
            .put_job(&job, Some(now + FIRST_POLL), JobPrecondition::New)
            .await?;
        Ok(job)
    }

    async fn account(&self, account_id: &str) -> Result<SellerAccount, ReportError> {
        self.accounts
            .get_account(account_id)
            .await?
            .map(|record| record.account)
            .ok_or_else(|| ReportError::NotFound(format!("account {account_id}")))
    }

    async fn seller_auth(&self, account: &SellerAccount) -> Result<SellerAuth, ReportError> {
        self.naming
            .seller_auth(self.secrets.as_ref(), account)
            .await?
            .ok_or_else(|| ReportError::MissingToken(account.id.clone()))
    }
}

/// A listing's page size: 1 to 100.
pub(crate) fn check_limit(limit: u32) -> Result<(), DomainError> {
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "limit",
            &limit.to_string(),
            format!("expected 1 to {MAX_PAGE}"),
        ))
    }
}

/// `[start, end]` if it ends in the past after it starts; errors name `fields` (start's, end's).
fn checked_window(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
    fields: (&str, &str),
) -> Result<crate::domain::Window, DomainError> {
    if end > now {
        return Err(DomainError::invalid(
            fields.1,
            &end.to_rfc3339(),
            "must not be in the future",
        ));
    }
    if start >= end {
        return Err(DomainError::invalid(
            fields.0,
            &start.to_rfc3339(),
            "must be before the end of the range",
        ));
    }
    Ok(crate::domain::Window { start, end })
}

fn check_marketplaces(account: &SellerAccount, ids: &[String]) -> Result<(), DomainError> {
    if ids.is_empty() {
        return Err(DomainError::invalid(
            "marketplaceIds",
            "[]",
            "at least one marketplace is needed",
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        if !account.marketplaces.contains(id) {
            return Err(DomainError::invalid(
                format!("marketplaceIds[{i}]"),
                id,
                "not one of the account's marketplaces",
            ));
        }
        // Each one at most once, so the list is never longer than the account's.
        if ids[..i].contains(id) {
            return Err(DomainError::invalid(
                format!("marketplaceIds[{i}]"),
                id,
                "listed twice",
            ));
        }
    }
    Ok(())
}

fn check_backfill_types(types: &[String]) -> Result<(), DomainError> {
    if types.is_empty() {
        return Err(DomainError::invalid(
            "reportTypes",
            "[]",
            "at least one report type is needed",
        ));
    }
    for (i, report_type) in types.iter().enumerate() {
        let field = format!("reportTypes[{i}]");
        if !ReportTypeSpec::of(report_type).is_some_and(|spec| spec.backfillable) {
            let backfillable: Vec<&str> = crate::domain::report::REQUESTABLE_REPORT_TYPES
                .iter()
                .filter(|s| s.backfillable)
                .map(|s| s.report_type)
                .collect();
            return Err(DomainError::invalid(
                field,
                report_type,
                format!(
                    "a backfill walks order reports only: one of {}",
                    backfillable.join(", ")
                ),
            ));
        }
        if types[..i].contains(report_type) {
            return Err(DomainError::invalid(field, report_type, "listed twice"));
        }
    }
    Ok(())
}

/// Whether a backfill whose last attempt failed waits before it is tried again.
fn resting(backfill: &Backfill, now: DateTime<Utc>) -> bool {
    backfill.last_error.is_some() && now - backfill.updated_at < RETRY_AFTER_FAILURE
}

/// The window a walk requests next, if one may go now: the oldest not yet requested, while fewer than
/// [`MAX_IN_FLIGHT`] are in flight and fewer than [`MAX_REQUESTS_PER_RUN`] were `requested` this run, and while
/// the account's `createReport` bucket holds a token beyond those kept for the scheduled imports (`tokens`;
/// `None` when the limiter does not know, and Amazon's 429 will tell).
fn window_to_request(backfill: &Backfill, requested: usize, tokens: Option<f64>) -> Option<usize> {
    let room = requested < MAX_REQUESTS_PER_RUN && backfill.in_flight() < MAX_IN_FLIGHT;
    let quota = tokens.is_none_or(|t| t >= 1.0 + RESERVED_FOR_IMPORTS);
    backfill.next_window().filter(|_| room && quota)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_requests_the_oldest_window_within_its_limits_and_the_quota_it_leaves_the_imports() {
        let created: DateTime<Utc> = "2026-03-09T12:00:00Z".parse().unwrap();
        // 100 days: four windows of order reports.
        let fresh = Backfill::new(
            "a1".into(),
            "b1".into(),
            vec![crate::domain::report::ALL_ORDERS_FLAT.into()],
            vec!["ATVPDKIKX0DER".into()],
            created - TimeDelta::days(101),
            created - TimeDelta::days(1),
            crate::domain::report::MAX_ORDER_REPORT_WINDOW,
            created,
        );
        let with = |requested: usize, settled: usize| {
            let mut backfill = fresh.clone();
            for (i, window) in backfill.windows.iter_mut().enumerate().take(requested) {
                window.job_key = Some(format!("job-{i}"));
                window.outcome = (i < settled).then(|| "imported".to_owned());
            }
            backfill
        };
        // (windows requested so far, of which settled, requested this run, tokens) -> window to request
        let cases = [
            (0, 0, 0, None, Some(0)),
            (0, 0, 0, Some(5.0), Some(0)),
            (0, 0, 0, Some(4.9), None),
            (1, 1, 0, Some(100.0), Some(1)),
            (2, 0, 0, None, Some(2)),
            (3, 3, 0, None, Some(3)),
            (3, 0, 0, Some(100.0), Some(3)),
            (3, 0, 4, None, None),
            (4, 0, 0, None, None),
            (4, 4, 0, None, None),
        ];
        for (requested, settled, this_run, tokens, expected) in cases {
            let backfill = with(requested, settled);
            assert_eq!(
                window_to_request(&backfill, this_run, tokens),
                expected,
                "{requested} requested, {settled} settled, {this_run} this run, tokens {tokens:?}"
            );
        }

        let mut failed = fresh.clone();
        failed.last_error = Some("denied".into());
        assert!(resting(&failed, created + TimeDelta::minutes(14)));
        assert!(!resting(&failed, created + TimeDelta::minutes(15)));
        assert!(!resting(&fresh, created));
    }

    #[test]
    fn a_backfill_takes_order_reports_once_each() {
        assert!(check_backfill_types(&[crate::domain::report::ALL_ORDERS_FLAT.into()]).is_ok());
        let twice = vec![
            crate::domain::report::ALL_ORDERS_FLAT.to_owned(),
            crate::domain::report::ALL_ORDERS_FLAT.to_owned(),
        ];
        assert_eq!(check_backfill_types(&twice).unwrap_err().field, "reportTypes[1]");
        let inventory = vec![crate::domain::report::FBA_INVENTORY.to_owned()];
        assert_eq!(
            check_backfill_types(&inventory).unwrap_err().field,
            "reportTypes[0]"
        );
        assert_eq!(check_backfill_types(&[]).unwrap_err().field, "reportTypes");
    }

    #[test]
    fn a_window_ends_in_the_past_after_it_starts() {
        let now: DateTime<Utc> = "2026-11-10T12:00:00Z".parse().unwrap();
        assert_eq!(
            checked_window(
                now - TimeDelta::days(1),
                now + TimeDelta::hours(1),
                now,
                REPORT_FIELDS
            )
            .unwrap_err()
            .field,
            "dataEndTime"
        );
        assert_eq!(
            checked_window(
                now - TimeDelta::days(1),
                now - TimeDelta::days(2),
                now,
                BACKFILL_FIELDS
            )
            .unwrap_err()
            .field,
            "startDate"
        );
        assert!(checked_window(now - TimeDelta::days(1), now, now, REPORT_FIELDS).is_ok());
    }
}
