//! `MemoryState`: accounts, their import status, report jobs and backfills in maps, by the DynamoDB state
//! store's rules (held to them by `tests/tests/dynamo_state.rs`).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Backfill, BackfillStatus, Connection, ImportStatus, JobPrecondition, NotificationStatus, Problem,
    ReportJob, SellerAccount,
};
use crate::error::StoreError;
use crate::ports::{AccountRecord, AccountStore, JobStore, Page};

/// The cursor prefix of a job listing, as the DynamoDB store's (its sort keys).
const JOB_CURSOR: &str = "REPORT#";

/// Accounts, report jobs and backfills in memory, written on the same conditions as the DynamoDB store:
/// status writes never create an account, the last import and the watermarks only move forward, a job moves
/// only from what its writer read, a backfill only over the version it read.
#[derive(Debug, Default)]
pub struct MemoryState {
    inner: Mutex<State>,
}

/// An account and its own key (an account id and a job key, or a backfill id).
type Owned = (String, String);

#[derive(Debug, Default)]
struct State {
    accounts: BTreeMap<String, AccountRecord>,
    /// By (account, job key): the job and when it is due, while it is watched.
    jobs: BTreeMap<Owned, (ReportJob, Option<DateTime<Utc>>)>,
    /// By (account, backfill id).
    backfills: BTreeMap<Owned, Backfill>,
}

impl MemoryState {
    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `change` to the account's status if the account exists.
    fn update_status(&self, id: &str, change: impl FnOnce(&mut ImportStatus)) {
        if let Some(record) = self.state().accounts.get_mut(id) {
            change(&mut record.status);
        }
    }
}

/// Whether the stored job (if any) meets `expected`.
fn meets(stored: Option<&ReportJob>, expected: JobPrecondition) -> bool {
    match (expected, stored) {
        (JobPrecondition::New, stored) => stored.is_none(),
        (JobPrecondition::InStates(states), Some(stored)) => states.contains(&stored.state.name()),
        (JobPrecondition::Unchanged { state, version }, Some(stored)) => {
            stored.state.name() == state && stored.version == version
        }
        (_, None) => false,
    }
}

#[async_trait]
impl AccountStore for MemoryState {
    async fn create_account(&self, account: &SellerAccount) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.accounts.contains_key(&account.id) {
            return Ok(false);
        }
        let record = AccountRecord {
            account: account.clone(),
            status: ImportStatus::default(),
        };
        state.accounts.insert(account.id.clone(), record);
        Ok(true)
    }

    async fn save_settings(&self, account: &SellerAccount) -> Result<bool, StoreError> {
        Ok(match self.state().accounts.get_mut(&account.id) {
            Some(record) => {
                record.account = account.clone();
                true
            }
            None => false,
        })
    }

    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, StoreError> {
        Ok(self.state().accounts.get(id).cloned())
    }

    async fn list_accounts(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<AccountRecord>, StoreError> {
        let state = self.state();
        let mut rest = state
            .accounts
            .iter()
            .filter(|(id, _)| after.is_none_or(|after| id.as_str() > after))
            .map(|(_, record)| record.clone());
        let items: Vec<AccountRecord> = rest.by_ref().take(limit.clamp(1, 1000) as usize).collect();
        let next = match rest.next() {
            Some(_) => items.last().map(|record| record.account.id.clone()),
            None => None,
        };
        Ok(Page { items, next })
    }

    async fn delete_account(&self, id: &str) -> Result<(), StoreError> {
        self.state().accounts.remove(id);
        Ok(())
    }

    async fn record_problem(&self, id: &str, problem: &Problem) -> Result<(), StoreError> {
        self.update_status(id, |status| {
            status.connection = if problem.kind.needs_action() {
                Connection::Disconnected
            } else {
                Connection::Connected
            };
            status.problem = Some(problem.clone());
        });
        Ok(())
    }

    async fn record_connected(&self, id: &str) -> Result<(), StoreError> {
        self.update_status(id, |status| {
            status.connection = Connection::Connected;
            status.problem = None;
        });
        Ok(())
    }

    async fn record_import(
        &self,
        id: &str,
        at: DateTime<Utc>,
        watermark: Option<(&str, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        self.update_status(id, |status| {
            status.connection = Connection::Connected;
            status.problem = None;
            status.last_successful_import = status.last_successful_import.max(Some(at));
            if let Some((report_type, watermark)) = watermark {
                let stored = status
                    .watermarks
                    .entry(report_type.to_owned())
                    .or_insert(watermark);
                *stored = (*stored).max(watermark);
            }
        });
        Ok(())
    }

    async fn record_throttled(&self, id: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.update_status(id, |status| status.last_throttled_at = Some(at));
        Ok(())
    }

    async fn record_notifications(&self, id: &str, checked: &NotificationStatus) -> Result<(), StoreError> {
        self.update_status(id, |status| {
            let later = status
                .notifications
                .as_ref()
                .is_none_or(|stored| stored.checked_at < checked.checked_at);
            if later {
                status.notifications = Some(checked.clone());
            }
        });
        Ok(())
    }
}

#[async_trait]
impl JobStore for MemoryState {
    async fn put_job(
        &self,
        job: &ReportJob,
        next_poll: Option<DateTime<Utc>>,
        expected: JobPrecondition,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let key = (job.account_id.clone(), job.key());
        if !meets(state.jobs.get(&key).map(|(job, _)| job), expected) {
            return Ok(false);
        }
        let due = next_poll.filter(|_| job.state.is_watched());
        state.jobs.insert(key, (job.clone(), due));
        Ok(true)
    }

    async fn get_job(&self, account: &str, job_key: &str) -> Result<Option<ReportJob>, StoreError> {
        let key = (account.to_owned(), job_key.to_owned());
        Ok(self.state().jobs.get(&key).map(|(job, _)| job.clone()))
    }

    async fn due_jobs(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<ReportJob>, StoreError> {
        let state = self.state();
        let mut due: Vec<(DateTime<Utc>, &Owned, &ReportJob)> = state
            .jobs
            .iter()
            .filter_map(|(key, (job, due))| Some((due.filter(|due| *due <= now)?, key, job)))
            .collect();
        due.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        Ok(due
            .into_iter()
            .take(limit.clamp(1, 1000) as usize)
            .map(|(_, _, job)| job.clone())
            .collect())
    }

    async fn list_jobs(
        &self,
        account: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<ReportJob>, StoreError> {
        let after = match after {
            Some(after) => match after.strip_prefix(JOB_CURSOR) {
                Some(key) => Some(key),
                // A cursor of another listing, or made up: nothing of this listing follows it.
                None => {
                    return Ok(Page {
                        items: Vec::new(),
                        next: None,
                    });
                }
            },
            None => None,
        };
        let state = self.state();
        let mut rest = state
            .jobs
            .iter()
            .rev()
            .filter(|((owner, key), _)| owner == account && after.is_none_or(|after| key.as_str() < after))
            .map(|(_, (job, _))| job.clone());
        let items: Vec<ReportJob> = rest.by_ref().take(limit.clamp(1, 1000) as usize).collect();
        let next = match rest.next() {
            Some(_) => items.last().map(|job| format!("{JOB_CURSOR}{}", job.key())),
            None => None,
        };
        Ok(Page { items, next })
    }

    async fn save_backfill(&self, backfill: &Backfill, expected: Option<u64>) -> Result<bool, StoreError> {
        let mut state = self.state();
        let key = (backfill.account_id.clone(), backfill.id.clone());
        if state.backfills.get(&key).map(|stored| stored.version) != expected {
            return Ok(false);
        }
        state.backfills.insert(key, backfill.clone());
        Ok(true)
    }

    async fn get_backfill(&self, account: &str, id: &str) -> Result<Option<Backfill>, StoreError> {
        let key = (account.to_owned(), id.to_owned());
        Ok(self.state().backfills.get(&key).cloned())
    }

    async fn running_backfills(&self, limit: u32) -> Result<Vec<Backfill>, StoreError> {
        let state = self.state();
        let mut running: Vec<&Backfill> = state
            .backfills
            .values()
            .filter(|backfill| backfill.status() == BackfillStatus::Running)
            .collect();
        running
            .sort_by(|a, b| (a.created_at, &a.account_id, &a.id).cmp(&(b.created_at, &b.account_id, &b.id)));
        Ok(running
            .into_iter()
            .take(limit.clamp(1, 1000) as usize)
            .cloned()
            .collect())
    }
}
