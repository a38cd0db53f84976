//! CloudWatch metrics in Embedded Metric Format (EMF): one JSON line on stdout per data point, which
//! CloudWatch Logs turns into metrics with no API call and no extra latency.
//!
//! The alarms in `infra/template.yaml` watch these metrics by name, in namespace [`NAMESPACE`], on the series
//! whose only dimension is `Stack` (every metric carries it, so two stacks in one AWS account stay apart).
//! Metrics about one account or operation also go to a second series with that dimension, for the dashboard.
//! Format: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::domain::health::Connection;
use crate::ports::AccountRecord;

/// The CloudWatch namespace of every sellersync metric.
pub const NAMESPACE: &str = "sellersync";

/// Amazon answered 429 to an SP-API call (count; dimension `Operation`). Alarm: throttling through 15 minutes.
pub const SP_API_THROTTLED: &str = "SpApiThrottled";
/// Gauge: days until the application's LWA client secret expires (shared::app::credentials).
pub const LWA_SECRET_DAYS_LEFT: &str = "LwaSecretDaysLeft";
/// Count: rotations of the application's LWA client secret that failed.
pub const LWA_ROTATION_FAILED: &str = "LwaRotationFailed";
/// 1 while an account is disconnected (its authorization failed), else 0; per account, every poll run.
pub const ACCOUNT_DISCONNECTED: &str = "AccountDisconnected";
/// 1 while an account's import is overdue ([`crate::domain::ImportStatus::is_overdue`]), else 0; per account,
/// every poll run.
pub const IMPORT_OVERDUE: &str = "ImportOverdue";
/// Minutes since an account's last successful import (or since it was connected); per account, for the
/// dashboard.
pub const MINUTES_SINCE_IMPORT: &str = "MinutesSinceImport";
/// A report's orders were imported (count; dimension `AccountId`).
pub const IMPORT_SUCCEEDED: &str = "ImportSucceeded";
/// Amazon rejected seller actions in a feed (count of messages; dimension `AccountId`).
pub const FEED_MESSAGES_REJECTED: &str = "FeedMessagesRejected";
/// Seconds the oldest seller action still queued for a feed has waited (0 when none): a gauge every feed
/// submitter run writes, so actions stuck in the outbox raise an alarm even while the feed queue is empty.
pub const OLDEST_QUEUED_FEED_ACTION: &str = "OldestQueuedFeedActionAge";
/// Seconds since the oldest feed submission still without a feed id was started (0 when none): a gauge every
/// feed submitter run writes, so a feed Amazon never takes is seen even before its attempts run out, and
/// whatever the attempt limit cannot settle (Amazon unreachable, authorization revoked) raises an alarm.
pub const STUCK_FEED_SUBMISSION_AGE: &str = "StuckFeedSubmissionAge";

/// A notification's changed order was left to the reports because its `getOrder` token would not come within
/// the notification's wait (count; the account id is a property). Sustained, the seller's orders change faster
/// than Amazon's `getOrder` rate for the account serves, and orders arrive at report speed.
pub const NOTIFICATIONS_DEFERRED: &str = "NotificationsDeferred";

/// EMF caps a dimension value at 1024 characters.
const MAX_DIMENSION_VALUE: usize = 1024;

/// The unit of a metric value, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things.
    Count,
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Values measured together, with the dimension that breaks them down (if any) and properties that only
/// go to the log line (searchable in Logs Insights, no metric cost).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSet {
    dimension: Option<(&'static str, String)>,
    properties: Vec<(&'static str, String)>,
    values: Vec<(&'static str, Unit, f64)>,
}

impl MetricSet {
    /// An empty set: its values go to the `Stack` series only.
    pub fn new() -> MetricSet {
        MetricSet {
            dimension: None,
            properties: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Also breaks the values down by `key` (a second series, `Stack` + `key`).
    pub fn dimension(mut self, key: &'static str, value: impl Into<String>) -> MetricSet {
        let mut value: String = value.into();
        if value.is_empty() {
            // CloudWatch rejects an empty dimension value, and the whole line with it.
            value = "unknown".into();
        }
        if value.len() > MAX_DIMENSION_VALUE {
            let mut end = MAX_DIMENSION_VALUE;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
        }
        self.dimension = Some((key, value));
        self
    }

    /// Adds a property: written on the line, not a dimension.
    pub fn property(mut self, key: &'static str, value: impl Into<String>) -> MetricSet {
        self.properties.push((key, value.into()));
        self
    }

    /// Adds a value.
    pub fn value(mut self, name: &'static str, unit: Unit, value: f64) -> MetricSet {
        self.values.push((name, unit, value));
        self
    }

    /// The EMF document for this set, for `stack`, at `at`. Values that are not finite are left out, since
    /// CloudWatch would drop the whole line for one of them.
    pub fn to_emf(&self, stack: &str, at: DateTime<Utc>) -> Value {
        let values: Vec<_> = self.values.iter().filter(|(_, _, v)| v.is_finite()).collect();
        let mut dimension_sets = vec![json!(["Stack"])];
        if let Some((key, _)) = &self.dimension {
            dimension_sets.push(json!(["Stack", key]));
        }
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": at.timestamp_millis(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": dimension_sets,
                    "Metrics": definitions,
                }],
            }),
        );
        // Properties first: a dimension or value of the same name wins.
        for (key, value) in &self.properties {
            root.insert((*key).into(), json!(value));
        }
        root.insert("Stack".into(), json!(stack));
        if let Some((key, value)) = &self.dimension {
            root.insert((*key).into(), json!(value));
        }
        for (name, _, value) in values {
            root.insert((*name).into(), json!(value));
        }
        Value::Object(root)
    }
}

impl Default for MetricSet {
    fn default() -> Self {
        MetricSet::new()
    }
}

/// Amazon throttled a call of `operation` (e.g. `createReport`) for `account_id`.
pub fn sp_api_throttled(operation: &str, account_id: &str) -> MetricSet {
    MetricSet::new()
        .dimension("Operation", operation)
        .property("AccountId", account_id)
        .value(SP_API_THROTTLED, Unit::Count, 1.0)
}

/// A changed order of `account_id` was left to the reports: no `getOrder` token within the notification's wait.
pub fn notification_deferred(account_id: &str) -> MetricSet {
    MetricSet::new()
        .property("AccountId", account_id)
        .value(NOTIFICATIONS_DEFERRED, Unit::Count, 1.0)
}

/// A report of `account_id` was imported (`report_type` goes on the line as a property).
pub fn import_succeeded(account_id: &str, report_type: &str) -> MetricSet {
    MetricSet::new()
        .dimension("AccountId", account_id)
        .property("ReportType", report_type)
        .value(IMPORT_SUCCEEDED, Unit::Count, 1.0)
}

/// Amazon rejected `count` messages of a feed of `account_id`.
pub fn feed_messages_rejected(account_id: &str, feed_type: &str, count: u32) -> MetricSet {
    MetricSet::new()
        .dimension("AccountId", account_id)
        .property("FeedType", feed_type)
        .value(FEED_MESSAGES_REJECTED, Unit::Count, f64::from(count))
}

/// How long the oldest queued seller action has waited, over every account and feed type.
pub fn oldest_queued_feed_action(waited: TimeDelta) -> MetricSet {
    MetricSet::new().value(
        OLDEST_QUEUED_FEED_ACTION,
        Unit::Seconds,
        waited.num_seconds().max(0) as f64,
    )
}

/// How long the oldest submission still waiting for Amazon to take its feed has waited.
pub fn stuck_feed_submission_age(waited: TimeDelta) -> MetricSet {
    MetricSet::new().value(
        STUCK_FEED_SUBMISSION_AGE,
        Unit::Seconds,
        waited.num_seconds().max(0) as f64,
    )
}

/// An account's health gauges at `now`: [`ACCOUNT_DISCONNECTED`], [`IMPORT_OVERDUE`] and
/// [`MINUTES_SINCE_IMPORT`]. Emitted for every account on every poll run, so the alarms on them stay in
/// ALARM exactly as long as some account is affected.
pub fn account_health(record: &AccountRecord, now: DateTime<Utc>) -> MetricSet {
    let account = &record.account;
    let waited = record.status.waited(account.created_at, now);
    let overdue = record
        .status
        .is_overdue(account.import_interval, account.created_at, now);
    let disconnected = record.status.connection == Connection::Disconnected;
    MetricSet::new()
        .dimension("AccountId", account.id.as_str())
        .value(
            ACCOUNT_DISCONNECTED,
            Unit::Count,
            if disconnected { 1.0 } else { 0.0 },
        )
        .value(IMPORT_OVERDUE, Unit::Count, if overdue { 1.0 } else { 0.0 })
        .value(
            MINUTES_SINCE_IMPORT,
            Unit::Count,
            waited.num_seconds() as f64 / 60.0,
        )
}

/// Where a stack's metrics go: stdout in Lambda (CloudWatch Logs extracts them), or memory in tests.
#[derive(Debug, Clone)]
pub struct Metrics {
    stack: Arc<str>,
    recorded: Option<Arc<Mutex<Vec<Value>>>>,
}

impl Metrics {
    /// Metrics of `stack` (the `STACK_NAME` setting), written to stdout.
    pub fn stdout(stack: &str) -> Metrics {
        Metrics {
            stack: stack.into(),
            recorded: None,
        }
    }

    /// Metrics of `stack` kept in memory, for tests to read back with [`Metrics::recorded`].
    pub fn recording(stack: &str) -> Metrics {
        Metrics {
            stack: stack.into(),
            recorded: Some(Arc::default()),
        }
    }

    /// Emits `set` as measured at `at`.
    pub fn emit(&self, set: &MetricSet, at: DateTime<Utc>) {
        let document = set.to_emf(&self.stack, at);
        match &self.recorded {
            // A poisoned lock only means another test thread panicked; the lines are still good.
            Some(lines) => lines
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(document),
            // One println is one write of a whole line under stdout's lock, so it never interleaves with the
            // tracing subscriber's lines.
            None => println!("{document}"),
        }
    }

    /// The EMF documents emitted so far (always empty for stdout).
    pub fn recorded(&self) -> Vec<Value> {
        self.recorded.as_ref().map_or_else(Vec::new, |lines| {
            lines
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone()
        })
    }

    /// The last recorded value of `name` on the series of `dimension` = `value` (e.g. `AccountId`), for tests.
    pub fn recorded_latest(&self, name: &str, dimension: &str, value: &str) -> Option<f64> {
        self.recorded()
            .iter()
            .rev()
            .filter(|document| document.get(dimension).and_then(Value::as_str) == Some(value))
            .find_map(|document| document.get(name).and_then(Value::as_f64))
    }

    /// The sum of every recorded value of `name` (0 when none), for tests.
    pub fn recorded_sum(&self, name: &str) -> f64 {
        self.recorded()
            .iter()
            .filter_map(|document| document.get(name).and_then(Value::as_f64))
            // `sum` of no floats is -0.0, which prints as "-0".
            .fold(0.0, |total, value| total + value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ImportInterval, ImportOptions, ImportStatus, Region, SellerAccount};

    fn t(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn record(interval: ImportInterval, last_import: Option<&str>) -> AccountRecord {
        AccountRecord {
            account: SellerAccount {
                id: "A1B2C3-na".into(),
                seller_id: "A1B2C3".into(),
                region: Region::Na,
                marketplaces: vec!["ATVPDKIKX0DER".into()],
                import_interval: interval,
                options: ImportOptions::default(),
                created_at: t("2026-11-01T00:00:00Z"),
                ship_from: None,
            },
            status: ImportStatus {
                last_successful_import: last_import.map(t),
                ..ImportStatus::default()
            },
        }
    }

    fn value(document: &Value, name: &str) -> f64 {
        document[name].as_f64().unwrap()
    }

    #[test]
    fn a_metric_line_is_an_emf_document_with_a_stack_series_and_a_breakdown() {
        let at = t("2026-11-10T12:00:00Z");
        let document = sp_api_throttled("createReport", "A1B2C3-na").to_emf("sellersync-prod", at);

        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(document["_aws"]["Timestamp"], at.timestamp_millis());
        assert_eq!(directive["Namespace"], "sellersync");
        assert_eq!(
            directive["Dimensions"],
            json!([["Stack"], ["Stack", "Operation"]])
        );
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "SpApiThrottled", "Unit": "Count"}])
        );
        assert_eq!(document["Stack"], "sellersync-prod");
        assert_eq!(document["Operation"], "createReport");
        assert_eq!(document["AccountId"], "A1B2C3-na", "a property, not a dimension");
        assert_eq!(value(&document, "SpApiThrottled"), 1.0);
    }

    #[test]
    fn every_dimension_named_in_the_directive_is_a_string_member_of_the_line() {
        for set in [
            sp_api_throttled("getReport", "a"),
            import_succeeded("a", "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"),
            feed_messages_rejected("a", "POST_ORDER_FULFILLMENT_DATA", 3),
            account_health(&record(ImportInterval::Minutes(60), None), Utc::now()),
            MetricSet::new().value("Plain", Unit::Milliseconds, 5.0),
        ] {
            let document = set.to_emf("s", Utc::now());
            let directive = &document["_aws"]["CloudWatchMetrics"][0];
            for dimension in directive["Dimensions"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|d| d.as_array().unwrap())
            {
                let key = dimension.as_str().unwrap();
                assert!(document[key].is_string(), "{key} missing from {document}");
            }
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                assert!(document[name].is_number(), "{name} missing from {document}");
            }
        }
    }

    #[test]
    fn values_that_are_not_finite_are_left_out_of_the_line() {
        let document = MetricSet::new()
            .value("Good", Unit::Count, 1.0)
            .value("Bad", Unit::Count, f64::NAN)
            .to_emf("s", Utc::now());
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "Good", "Unit": "Count"}])
        );
        assert!(document.get("Bad").is_none());
    }

    #[test]
    fn dimension_values_are_never_empty_nor_longer_than_emf_allows() {
        let empty = MetricSet::new()
            .dimension("AccountId", "")
            .to_emf("s", Utc::now());
        assert_eq!(empty["AccountId"], "unknown");
        let long = MetricSet::new()
            .dimension("AccountId", "é".repeat(600))
            .to_emf("s", Utc::now());
        let kept = long["AccountId"].as_str().unwrap();
        assert!(
            kept.len() <= 1024 && kept.chars().all(|c| c == 'é'),
            "{}",
            kept.len()
        );
    }

    #[test]
    fn an_account_is_overdue_after_twice_its_interval() {
        let healthy = record(ImportInterval::Minutes(60), Some("2026-11-10T10:01:00Z"));
        let overdue = record(ImportInterval::Minutes(60), Some("2026-11-10T09:59:00Z"));
        let now = t("2026-11-10T12:00:00Z");

        let healthy = account_health(&healthy, now).to_emf("s", now);
        let overdue = account_health(&overdue, now).to_emf("s", now);

        assert_eq!(value(&healthy, IMPORT_OVERDUE), 0.0);
        assert_eq!(value(&healthy, MINUTES_SINCE_IMPORT), 119.0);
        assert_eq!(value(&overdue, IMPORT_OVERDUE), 1.0);
        assert_eq!(overdue["AccountId"], "A1B2C3-na");
    }

    #[test]
    fn short_intervals_get_half_an_hour_before_they_are_overdue() {
        let now = t("2026-11-10T12:00:00Z");
        let after_20_minutes = record(ImportInterval::Minutes(5), Some("2026-11-10T11:40:00Z"));
        let after_31_minutes = record(ImportInterval::Minutes(5), Some("2026-11-10T11:29:00Z"));
        assert_eq!(
            value(
                &account_health(&after_20_minutes, now).to_emf("s", now),
                IMPORT_OVERDUE
            ),
            0.0
        );
        assert_eq!(
            value(
                &account_health(&after_31_minutes, now).to_emf("s", now),
                IMPORT_OVERDUE
            ),
            1.0
        );
    }

    #[test]
    fn a_never_imported_account_counts_from_its_connection_and_never_is_never_overdue() {
        let now = t("2026-11-10T12:00:00Z");
        let new = account_health(&record(ImportInterval::Minutes(1440), None), now).to_emf("s", now);
        assert_eq!(value(&new, IMPORT_OVERDUE), 1.0, "connected 9.5 days ago");
        assert_eq!(value(&new, MINUTES_SINCE_IMPORT), 9.5 * 24.0 * 60.0);
        let never = account_health(&record(ImportInterval::Never, None), now).to_emf("s", now);
        assert_eq!(value(&never, IMPORT_OVERDUE), 0.0);
    }

    #[test]
    fn a_disconnected_account_sets_its_gauge() {
        let now = t("2026-11-10T12:00:00Z");
        let mut disconnected = record(ImportInterval::Minutes(60), Some("2026-11-10T11:30:00Z"));
        disconnected.status.connection = Connection::Disconnected;
        let connected = record(ImportInterval::Minutes(60), Some("2026-11-10T11:30:00Z"));
        assert_eq!(
            value(
                &account_health(&disconnected, now).to_emf("s", now),
                ACCOUNT_DISCONNECTED
            ),
            1.0
        );
        assert_eq!(
            value(
                &account_health(&connected, now).to_emf("s", now),
                ACCOUNT_DISCONNECTED
            ),
            0.0
        );
    }

    #[test]
    fn recording_metrics_keeps_every_line_for_tests() {
        let metrics = Metrics::recording("s");
        metrics.emit(&feed_messages_rejected("a", "JSON_LISTINGS_FEED", 2), Utc::now());
        metrics.emit(&feed_messages_rejected("b", "JSON_LISTINGS_FEED", 3), Utc::now());
        assert_eq!(metrics.recorded().len(), 2);
        assert_eq!(metrics.recorded_sum(FEED_MESSAGES_REJECTED), 5.0);
        assert!(Metrics::stdout("s").recorded().is_empty());
    }
}
