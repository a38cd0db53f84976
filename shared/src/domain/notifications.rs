//! Amazon's notifications as an account holds them: the types sellersync subscribes to, and where each
//! subscription stands.
//!
//! Amazon delivers an account's notifications to the stack's queue once the account subscribes to them
//! (Notifications API v1, `notifications.json`): one subscription per notification type and seller. The
//! account's subscriptions are checked when it connects and every day after, and at once again while one is
//! refused; [`check_due`] decides when.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// A notification type sellersync subscribes every account to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationType {
    /// An order's status changed (or the buyer asked to cancel it).
    OrderChange,
    /// A report reached DONE, CANCELLED or FATAL.
    ReportProcessingFinished,
    /// A feed reached DONE, CANCELLED or FATAL.
    FeedProcessingFinished,
}

impl NotificationType {
    /// Every type sellersync subscribes to.
    pub const ALL: [NotificationType; 3] = [
        NotificationType::OrderChange,
        NotificationType::ReportProcessingFinished,
        NotificationType::FeedProcessingFinished,
    ];

    /// The `notificationType` as Amazon spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationType::OrderChange => "ORDER_CHANGE",
            NotificationType::ReportProcessingFinished => "REPORT_PROCESSING_FINISHED",
            NotificationType::FeedProcessingFinished => "FEED_PROCESSING_FINISHED",
        }
    }

    /// The payload version sellersync reads (the schemas in Amazon's `schemas/notifications`).
    pub fn payload_version(self) -> &'static str {
        match self {
            NotificationType::OrderChange => "1.0",
            NotificationType::ReportProcessingFinished | NotificationType::FeedProcessingFinished => {
                "2020-09-04"
            }
        }
    }

    /// The type Amazon names `name`, if sellersync takes it.
    pub fn parse(name: &str) -> Option<NotificationType> {
        NotificationType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for NotificationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one subscription stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SubscriptionState {
    /// Amazon delivers this type to the stack's destination.
    Active {
        /// Amazon's subscription id (for `deleteSubscriptionById`).
        #[serde(rename = "subscriptionId")]
        subscription_id: String,
    },
    /// Amazon refused to make or show the subscription: its error, as it answered.
    Refused {
        /// Amazon's error code, e.g. `Unauthorized`.
        code: String,
        /// Amazon's message and details.
        message: String,
    },
}

/// An account's subscriptions as last checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationStatus {
    /// When Amazon was last asked.
    pub checked_at: DateTime<Utc>,
    /// Each type's subscription.
    pub subscriptions: BTreeMap<NotificationType, SubscriptionState>,
}

impl NotificationStatus {
    /// Whether every type is delivered.
    pub fn all_active(&self) -> bool {
        NotificationType::ALL.into_iter().all(|t| self.is_active(t))
    }

    /// The first refusal, if any, as `(type, code, message)`.
    pub fn refusal(&self) -> Option<(NotificationType, &str, &str)> {
        self.subscriptions.iter().find_map(|(t, s)| match s {
            SubscriptionState::Refused { code, message } => Some((*t, code.as_str(), message.as_str())),
            SubscriptionState::Active { .. } => None,
        })
    }

    /// Whether `notification_type` is delivered.
    pub fn is_active(&self, notification_type: NotificationType) -> bool {
        matches!(
            self.subscriptions.get(&notification_type),
            Some(SubscriptionState::Active { .. })
        )
    }

    /// The subscription ids Amazon gave, by type.
    pub fn active_ids(&self) -> Vec<(NotificationType, &str)> {
        self.subscriptions
            .iter()
            .filter_map(|(t, s)| match s {
                SubscriptionState::Active { subscription_id } => Some((*t, subscription_id.as_str())),
                SubscriptionState::Refused { .. } => None,
            })
            .collect()
    }
}

/// How long checked subscriptions are trusted: someone may delete one (another tool of the seller's, a
/// developer in Seller Central), and a day without notifications is what the reports' reconciliation covers.
pub const RECHECK_AFTER: TimeDelta = TimeDelta::hours(24);
/// How soon a refused subscription is asked for again.
pub const RETRY_REFUSED_AFTER: TimeDelta = TimeDelta::hours(1);

/// Whether the account's subscriptions are due a check at `now`: never checked, refused an hour ago, or checked
/// a day ago.
pub fn check_due(status: Option<&NotificationStatus>, now: DateTime<Utc>) -> bool {
    match status {
        None => true,
        Some(status) => {
            let age = now - status.checked_at;
            age >= RECHECK_AFTER || (!status.all_active() && age >= RETRY_REFUSED_AFTER)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn status(at: &str, refused: bool) -> NotificationStatus {
        let mut subscriptions: BTreeMap<_, _> = NotificationType::ALL
            .into_iter()
            .map(|t| {
                (
                    t,
                    SubscriptionState::Active {
                        subscription_id: format!("sub-{t}"),
                    },
                )
            })
            .collect();
        if refused {
            subscriptions.insert(
                NotificationType::OrderChange,
                SubscriptionState::Refused {
                    code: "Unauthorized".into(),
                    message: "Access to requested resource is denied.".into(),
                },
            );
        }
        NotificationStatus {
            checked_at: t(at),
            subscriptions,
        }
    }

    #[test]
    fn subscriptions_are_checked_at_first_daily_and_hourly_while_refused() {
        let cases = [
            (None, "2026-12-01T00:00:00Z", true),
            (
                Some(status("2026-12-01T00:00:00Z", false)),
                "2026-12-01T23:59:00Z",
                false,
            ),
            (
                Some(status("2026-12-01T00:00:00Z", false)),
                "2026-12-02T00:00:00Z",
                true,
            ),
            (
                Some(status("2026-12-01T00:00:00Z", true)),
                "2026-12-01T00:59:00Z",
                false,
            ),
            (
                Some(status("2026-12-01T00:00:00Z", true)),
                "2026-12-01T01:00:00Z",
                true,
            ),
        ];
        for (status, now, due) in cases {
            assert_eq!(check_due(status.as_ref(), t(now)), due, "{status:?} at {now}");
        }
    }

    #[test]
    fn a_status_round_trips_through_json_with_amazons_type_names() {
        let status = status("2026-12-01T00:00:00Z", true);
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(json["subscriptions"]["ORDER_CHANGE"]["state"], "refused");
        assert_eq!(
            json["subscriptions"]["REPORT_PROCESSING_FINISHED"]["subscriptionId"],
            "sub-REPORT_PROCESSING_FINISHED"
        );
        assert_eq!(
            serde_json::from_value::<NotificationStatus>(json).unwrap(),
            status
        );
        assert_eq!(status.refusal().map(|r| r.0), Some(NotificationType::OrderChange));
        assert_eq!(status.active_ids().len(), 2);
        assert!(!status.all_active());
        assert_eq!(
            NotificationType::parse("ORDER_CHANGE"),
            Some(NotificationType::OrderChange)
        );
        assert_eq!(NotificationType::parse("ANY_OFFER_CHANGED"), None);
    }
}
