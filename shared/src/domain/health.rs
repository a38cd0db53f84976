//! An account's import health: what stops its orders from arriving, in words a seller acts on.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// A cause that stops (or slows) an account's import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Amazon denies access (403 Unauthorized): the seller's authorization of the app is missing or expired.
    AccessDenied,
    /// LWA says `invalid_grant`: the refresh token was revoked or expired.
    RefreshTokenRevoked,
    /// LWA rejects the application's client id or secret: the operator's configuration is wrong.
    InvalidCredentials,
    /// The seller account cannot use the API (not a Professional selling account).
    Ineligible,
    /// Amazon throttles the account's calls.
    Throttled,
    /// No active schedule: the import interval is `never`, or the schedule is missing.
    NoSchedule,
    /// Amazon ended report requests FATAL.
    ReportFatal,
    /// Amazon answers with server errors or cannot be reached.
    AmazonUnavailable,
    /// The application's LWA client secret expires within two weeks and was not rotated, or its last rotation
    /// failed: every account stops when it expires.
    CredentialsExpiring,
}

impl ProblemKind {
    /// What the seller (or operator) must do about it.
    pub fn advice(self) -> &'static str {
        match self {
            ProblemKind::AccessDenied => {
                "Amazon denies access to this seller account: authorize the app again in Seller Central \
                 (Apps and Services > Manage Your Apps), then store the new refresh token."
            }
            ProblemKind::RefreshTokenRevoked => {
                "The refresh token was revoked or has expired: authorize the app again and store the new \
                 refresh token with PUT /accounts/{id}."
            }
            ProblemKind::InvalidCredentials => {
                "Amazon rejects the application's LWA client id or secret: the operator must correct the \
                 application credentials secret."
            }
            ProblemKind::Ineligible => {
                "This seller account is not eligible for the Selling Partner API: a Professional selling \
                 account is needed."
            }
            ProblemKind::Throttled => {
                "Amazon is throttling requests: nothing to do, the import catches up on its own."
            }
            ProblemKind::NoSchedule => {
                "The import is not scheduled: set an import interval other than \"never\"."
            }
            ProblemKind::ReportFatal => {
                "Amazon could not produce the order report: sellersync requests it again; if it keeps \
                 failing, check the account in Seller Central."
            }
            ProblemKind::AmazonUnavailable => {
                "Amazon's API is failing or unreachable: nothing to do, sellersync retries."
            }
            ProblemKind::CredentialsExpiring => {
                "The application's LWA client secret is not being rotated: check the rotate-credentials \
                 function's logs and that its queue is registered for new secrets, or rotate by hand, before \
                 the secret expires and every account stops."
            }
        }
    }

    /// Whether it stops the import until someone acts (as opposed to passing by itself).
    pub fn needs_action(self) -> bool {
        matches!(
            self,
            ProblemKind::AccessDenied
                | ProblemKind::RefreshTokenRevoked
                | ProblemKind::InvalidCredentials
                | ProblemKind::Ineligible
                | ProblemKind::NoSchedule
        )
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        f.write_str(text.as_deref().unwrap_or("unknown"))
    }
}

/// A classified problem seen on an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Its cause.
    pub kind: ProblemKind,
    /// What was seen (Amazon's error code and message; never a token).
    pub detail: String,
    /// When it was last seen.
    pub at: DateTime<Utc>,
}

/// Whether sellersync can reach Amazon for the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Not tried yet.
    #[default]
    Unknown,
    /// The last call went through.
    Connected,
    /// The last call failed for a cause that needs action.
    Disconnected,
}

/// The import's running state of one account, kept apart from its settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportStatus {
    /// Whether Amazon can be reached for it.
    #[serde(default)]
    pub connection: Connection,
    /// The last classified problem, cleared by the next success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
    /// When a report's orders were last imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_import: Option<DateTime<Utc>>,
    /// Per report type, the end of the newest window whose data is all imported; the next window overlaps it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub watermarks: BTreeMap<String, DateTime<Utc>>,
    /// When Amazon last throttled a call for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_throttled_at: Option<DateTime<Utc>>,
    /// The account's notification subscriptions as last checked (none before the first check, or when the
    /// stack has no notification queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<super::NotificationStatus>,
}

/// An import is overdue after twice its interval, but never sooner than this: Amazon regularly takes several
/// minutes to produce a report, so a 5-minute interval would otherwise alarm on ordinary report latency.
pub const MIN_OVERDUE_AFTER: TimeDelta = TimeDelta::minutes(30);

impl ImportStatus {
    /// How long the account has waited for its orders at `now`: since its last successful import, or since it
    /// was created (`created_at`) when it has had none.
    pub fn waited(&self, created_at: DateTime<Utc>, now: DateTime<Utc>) -> TimeDelta {
        let since = self.last_successful_import.unwrap_or(created_at);
        (now - since).max(TimeDelta::zero())
    }

    /// Whether the import is overdue at `now`: nothing imported for twice the account's `interval` (and at least
    /// [`MIN_OVERDUE_AFTER`]). An account that never imports is never overdue; its health says it has no
    /// schedule.
    pub fn is_overdue(
        &self,
        interval: super::ImportInterval,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        interval
            .duration()
            .and_then(|interval| TimeDelta::from_std(interval).ok())
            .is_some_and(|interval| self.waited(created_at, now) > (interval * 2).max(MIN_OVERDUE_AFTER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ImportInterval;

    #[test]
    fn an_import_is_overdue_after_twice_its_interval_and_never_within_half_an_hour() {
        let created: DateTime<Utc> = "2026-03-09T12:00:00Z".parse().unwrap();
        let imported = |minutes: i64| ImportStatus {
            last_successful_import: Some(created + TimeDelta::minutes(minutes)),
            ..ImportStatus::default()
        };
        let never_imported = ImportStatus::default();
        // (interval, status, minutes after creation) -> overdue
        let cases = [
            (ImportInterval::Minutes(60), &never_imported, 120, false),
            (ImportInterval::Minutes(60), &never_imported, 121, true),
            (ImportInterval::Minutes(60), &imported(100), 221, true),
            (ImportInterval::Minutes(60), &imported(100), 220, false),
            (ImportInterval::Minutes(5), &never_imported, 30, false),
            (ImportInterval::Minutes(5), &never_imported, 31, true),
            (ImportInterval::Never, &never_imported, 100_000, false),
            // A last import recorded after `now` (another function's clock) is no wait.
            (ImportInterval::Minutes(5), &imported(60), 0, false),
        ];
        for (interval, status, minutes, overdue) in cases {
            let now = created + TimeDelta::minutes(minutes);
            assert_eq!(
                status.is_overdue(interval, created, now),
                overdue,
                "{interval:?} at {minutes} min"
            );
        }
        assert_eq!(imported(60).waited(created, created), TimeDelta::zero());
    }

    #[test]
    fn problems_that_need_the_seller_are_told_apart_from_passing_ones() {
        assert!(ProblemKind::RefreshTokenRevoked.needs_action());
        assert!(!ProblemKind::Throttled.needs_action());
        assert!(ProblemKind::Ineligible.advice().contains("Professional"));
        assert_eq!(ProblemKind::AccessDenied.to_string(), "access_denied");
    }
}
