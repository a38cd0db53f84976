//! Backfills: a seller's order history imported window by window, oldest first, as Amazon's quota allows.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::report::{JobState, Window};

/// One report type over one window of a backfill, and the job that requested it once it is requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillWindow {
    /// Amazon's report type.
    pub report_type: String,
    /// The data window.
    pub window: Window,
    /// The key of the job requesting it; `None` until it is requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_key: Option<String>,
    /// The job's final state name (`imported`, `no_data`, `fatal`, ...) once it is settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

impl BackfillWindow {
    /// Requested and not settled yet.
    pub fn in_flight(&self) -> bool {
        self.job_key.is_some() && self.outcome.is_none()
    }

    /// Settled without its data: Amazon failed the report, or it was given up on.
    pub fn failed(&self) -> bool {
        matches!(self.outcome.as_deref(), Some("fatal" | "abandoned"))
    }
}

/// Where a backfill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackfillStatus {
    /// Windows are left to request, or requested reports are not settled yet.
    Running,
    /// Every window's report is settled and imported (or had no data).
    Completed,
    /// Every window is settled, but some reports failed; their windows are listed.
    CompletedWithErrors,
}

/// A backfill of one account: its windows, walked oldest first, and what became of each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// The seller account.
    pub account_id: String,
    /// Its id within the account.
    pub id: String,
    /// Report types it requests.
    pub report_types: Vec<String>,
    /// Marketplaces it covers.
    pub marketplace_ids: Vec<String>,
    /// Start of the history.
    pub start: DateTime<Utc>,
    /// End of the history.
    pub end: DateTime<Utc>,
    /// Every window of every report type, in the order they are requested.
    pub windows: Vec<BackfillWindow>,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Why the last attempt to request a window failed, until one succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Bumped by every write; a write is made only over the version it read, so two walkers never both
    /// record a window.
    #[serde(default)]
    pub version: u64,
}

impl Backfill {
    /// A new backfill of `[start, end]`: windows of at most `max_window` each, oldest first, every report type
    /// of a window before the next window.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        account_id: String,
        id: String,
        report_types: Vec<String>,
        marketplace_ids: Vec<String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        max_window: TimeDelta,
        now: DateTime<Utc>,
    ) -> Backfill {
        let windows = Window::split(start, end, max_window)
            .into_iter()
            .flat_map(|window| {
                report_types.iter().map(move |report_type| BackfillWindow {
                    report_type: report_type.clone(),
                    window,
                    job_key: None,
                    outcome: None,
                })
            })
            .collect();
        Backfill {
            account_id,
            id,
            report_types,
            marketplace_ids,
            start,
            end,
            windows,
            created_at: now,
            updated_at: now,
            last_error: None,
            version: 0,
        }
    }

    /// The index of the next window to request, if any is left.
    pub fn next_window(&self) -> Option<usize> {
        self.windows.iter().position(|w| w.job_key.is_none())
    }

    /// Windows requested and not settled yet.
    pub fn in_flight(&self) -> usize {
        self.windows.iter().filter(|w| w.in_flight()).count()
    }

    /// Where it stands.
    pub fn status(&self) -> BackfillStatus {
        if self.windows.iter().any(|w| w.outcome.is_none()) {
            BackfillStatus::Running
        } else if self.windows.iter().any(BackfillWindow::failed) {
            BackfillStatus::CompletedWithErrors
        } else {
            BackfillStatus::Completed
        }
    }

    /// Records what became of the job of window `index`: following a replacement request, or settling the
    /// window with the job's final state. Returns whether anything changed.
    pub fn observe(&mut self, index: usize, state: &JobState) -> bool {
        let Some(window) = self.windows.get_mut(index) else {
            return false;
        };
        match state {
            JobState::Abandoned {
                replaced_by: Some(replacement),
                ..
            } => {
                window.job_key = Some(replacement.clone());
                true
            }
            state if state.is_settled() => {
                window.outcome = Some(state.name().to_owned());
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn backfill() -> Backfill {
        Backfill::new(
            "a1".into(),
            "b1".into(),
            vec!["FLAT".into(), "FBA".into()],
            vec!["ATVPDKIKX0DER".into()],
            t("2026-01-01T00:00:00Z"),
            t("2026-03-01T00:00:00Z"),
            TimeDelta::days(30),
            t("2026-03-02T00:00:00Z"),
        )
    }

    #[test]
    fn windows_are_walked_oldest_first_with_every_type_of_a_window_together() {
        let backfill = backfill();
        let order: Vec<(&str, DateTime<Utc>)> = backfill
            .windows
            .iter()
            .map(|w| (w.report_type.as_str(), w.window.start))
            .collect();
        assert_eq!(
            order,
            [
                ("FLAT", t("2026-01-01T00:00:00Z")),
                ("FBA", t("2026-01-01T00:00:00Z")),
                ("FLAT", t("2026-01-31T00:00:00Z")),
                ("FBA", t("2026-01-31T00:00:00Z")),
            ]
        );
        assert_eq!(backfill.status(), BackfillStatus::Running);
        assert_eq!(backfill.next_window(), Some(0));
    }

    #[test]
    fn a_replaced_job_is_followed_and_a_fatal_one_completes_with_errors() {
        let mut backfill = backfill();
        for (i, window) in backfill.windows.iter_mut().enumerate() {
            window.job_key = Some(format!("k{i}"));
        }
        assert_eq!(backfill.in_flight(), 4);
        let replaced = JobState::Abandoned {
            reason: "stuck".into(),
            replaced_by: Some("k9".into()),
        };
        assert!(backfill.observe(0, &replaced));
        assert_eq!(backfill.windows[0].job_key.as_deref(), Some("k9"));
        assert!(backfill.windows[0].in_flight());
        assert!(!backfill.observe(
            1,
            &JobState::Pending {
                amazon_status: "IN_QUEUE".into()
            }
        ));

        backfill.observe(0, &JobState::NoData);
        backfill.observe(1, &JobState::Fatal { reason: "x".into() });
        backfill.observe(2, &JobState::NoData);
        assert_eq!(backfill.status(), BackfillStatus::Running);
        backfill.observe(3, &JobState::NoData);
        assert_eq!(backfill.status(), BackfillStatus::CompletedWithErrors);
        assert_eq!(backfill.next_window(), None);
    }
}
