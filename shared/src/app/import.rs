//! What the three import functions (request, poll, parse) share: their dependencies, their errors, and how
//! an Amazon failure becomes the account's classified problem.

use std::sync::Arc;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::accounts::{AccountNaming, record_account_failure};
use super::reports::Reports;
use crate::amazon::{AmazonClient, SellerAuth};
use crate::clock::Clock;
use crate::domain::{ProblemKind, ReportJob, SellerAccount};
use crate::error::{AmazonError, ParseError, StoreError};
use crate::metrics::Metrics;
use crate::ports::{AccountStore, DocumentArchive, JobStore, MessageQueue, OrderStore, SecretStore};

/// How the import windows are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSettings {
    /// How far a window reaches back before the previous one ended: orders reach reports up to a day late.
    pub overlap: TimeDelta,
    /// How far back an account's first import reaches.
    pub initial_lookback: TimeDelta,
    /// How long a document may wait for its parsers before its job is given up.
    pub parse_deadline: TimeDelta,
    /// Where refresh tokens are kept.
    pub naming: AccountNaming,
    /// Whether the parser completes open merchant-fulfilled orders with `getOrder` after an import
    /// (`ENRICH_ORDERS=true`; see [`crate::app::enrich_orders`]).
    pub enrich_orders: bool,
}

/// The dependencies of the import functions.
#[derive(Debug, Clone)]
pub struct Import {
    /// Seller accounts and their status.
    pub accounts: Arc<dyn AccountStore>,
    /// Report jobs.
    pub jobs: Arc<dyn JobStore>,
    /// Orders.
    pub orders: Arc<dyn OrderStore>,
    /// Refresh tokens.
    pub secrets: Arc<dyn SecretStore>,
    /// Where the poller sends documents to parse.
    pub parse_queue: Arc<dyn MessageQueue>,
    /// Where documents of types sellersync does not parse are kept.
    pub archive: Arc<dyn DocumentArchive>,
    /// Amazon.
    pub amazon: AmazonClient,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Where the alarms' metrics go (account health, imports).
    pub metrics: Metrics,
    /// Window layout.
    pub settings: ImportSettings,
    /// The account's notification subscriptions.
    pub subscriptions: crate::app::subscriptions::Subscriptions,
}

/// Why an import step failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Amazon refused or failed.
    #[error(transparent)]
    Amazon(#[from] AmazonError),
    /// DynamoDB, SQS or Secrets Manager failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The report document cannot be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The account has no refresh token stored.
    #[error("account {0} has no refresh token stored; connect it again with a new one")]
    MissingToken(String),
    /// A message or event that is not what the function expects.
    #[error("malformed input: {0}")]
    BadInput(String),
    /// A worker task died.
    #[error("internal failure: {0}")]
    Internal(String),
    /// Code panicked on this input (see [`crate::panic`]); another delivery would panic again.
    #[error("{0}")]
    Panicked(String),
}

impl ImportError {
    /// Worth another try (a redelivery, the schedule's retry), as opposed to a failure that repeats.
    pub fn is_retryable(&self) -> bool {
        match self {
            ImportError::Amazon(err) => err.is_retryable(),
            ImportError::Store(err) => err.is_retryable(),
            ImportError::Parse(err) => err.is_retryable(),
            ImportError::Internal(_) => true,
            ImportError::MissingToken(_) | ImportError::BadInput(_) | ImportError::Panicked(_) => false,
        }
    }
}

/// The parse queue's message: one report document to import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseMessage {
    /// The seller account.
    pub account_id: String,
    /// The report job's key.
    pub job_key: String,
    /// Amazon's report id.
    pub report_id: String,
    /// Amazon's report type.
    pub report_type: String,
    /// The document to fetch.
    pub report_document_id: String,
}

impl ParseMessage {
    /// The message that hands `job`'s document `document_id` to the parsers.
    pub fn of(job: &ReportJob, document_id: &str) -> ParseMessage {
        ParseMessage {
            account_id: job.account_id.clone(),
            job_key: job.key(),
            report_id: job.report_id.clone(),
            report_type: job.report_type.clone(),
            report_document_id: document_id.to_owned(),
        }
    }
}

impl Import {
    /// The report use cases over the same ports: the poller advances backfills through them.
    pub fn reports(&self) -> Reports {
        Reports::new(
            self.accounts.clone(),
            self.jobs.clone(),
            self.secrets.clone(),
            self.amazon.clone(),
            self.clock.clone(),
            self.settings.naming.clone(),
        )
    }

    /// The seller's credentials for Amazon, from the secret store.
    pub async fn seller_auth(&self, account: &SellerAccount) -> Result<SellerAuth, ImportError> {
        self.settings
            .naming
            .seller_auth(self.secrets.as_ref(), account)
            .await?
            .ok_or_else(|| ImportError::MissingToken(account.id.clone()))
    }

    /// Records what a failure says about the account: a classified problem (authorization, throttling, ...),
    /// or nothing for failures that are not the account's.
    pub async fn record_failure(&self, account_id: &str, err: &ImportError) -> Result<(), StoreError> {
        let kind = match err {
            ImportError::Amazon(err) => err.problem(),
            ImportError::MissingToken(_) => Some(ProblemKind::RefreshTokenRevoked),
            _ => None,
        };
        record_account_failure(self.accounts.as_ref(), account_id, kind, err, self.clock.now()).await
    }
}
