//! Report types sellersync requests, and the jobs that track each request from `createReport` to imported orders.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Order Tracking flat file, MFN and AFN, by last update; no PII. The import's workhorse.
pub const ALL_ORDERS_FLAT: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";
/// The same, by order date.
pub const ALL_ORDERS_FLAT_BY_ORDER_DATE: &str = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL";
/// XML twin of [`ALL_ORDERS_FLAT`].
pub const ALL_ORDERS_XML: &str = "GET_XML_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";
/// XML twin of [`ALL_ORDERS_FLAT_BY_ORDER_DATE`].
pub const ALL_ORDERS_XML_BY_ORDER_DATE: &str = "GET_XML_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL";
/// Unshipped MFN orders with the shipping address; restricted (needs a Restricted Data Token).
pub const ACTIONABLE_ORDERS: &str = "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING";
/// FBA shipments, one row per shipped item.
pub const FBA_SHIPMENTS: &str = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL";

/// The longest window Amazon accepts for an order report request.
pub const MAX_ORDER_REPORT_WINDOW: TimeDelta = TimeDelta::days(30);

/// How long a document handed to the parsers may stay unimported before its job is given up (and its window
/// covered again): past the parse queue's five deliveries 90 minutes apart (7.5 hours, infra/template.yaml),
/// after which SQS has dead-lettered the message, even if no delivery ran far enough to say so.
pub const PARSE_DEADLINE: TimeDelta = TimeDelta::hours(12);

/// FBA customer returns.
pub const FBA_RETURNS: &str = "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA";
/// FBA inventory: active listings with their fulfillable quantities.
pub const FBA_INVENTORY: &str = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA";
/// FBA inventory per fulfillment network.
pub const AFN_INVENTORY: &str = "GET_AFN_INVENTORY_DATA";
/// VAT Calculation Service (VCS) report: the VAT of each shipment, return and refund, for invoicing.
pub const VCS_TAX: &str = "SC_VAT_TAX_REPORT";
/// Amazon VAT transactions.
pub const VAT_TRANSACTIONS: &str = "GET_VAT_TRANSACTION_DATA";

/// A report type sellersync requests on a seller's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportTypeSpec {
    /// Amazon's report type.
    pub report_type: &'static str,
    /// What it holds, for the API's listing and errors.
    pub description: &'static str,
    /// The longest data window Amazon accepts for it, when it takes one.
    pub max_window: Option<TimeDelta>,
    /// Whether a backfill may walk it window by window (order reports by date).
    pub backfillable: bool,
}

/// Every report type the API requests: order reports (MFN and FBA), FBA returns and inventory, VCS invoices.
pub const REQUESTABLE_REPORT_TYPES: &[ReportTypeSpec] = &[
    spec(
        ALL_ORDERS_FLAT,
        "MFN and FBA orders by last update (flat file)",
        Some(30),
        true,
    ),
    spec(
        ALL_ORDERS_FLAT_BY_ORDER_DATE,
        "MFN and FBA orders by order date (flat file)",
        Some(30),
        true,
    ),
    spec(
        ALL_ORDERS_XML,
        "MFN and FBA orders by last update (XML)",
        Some(30),
        true,
    ),
    spec(
        ALL_ORDERS_XML_BY_ORDER_DATE,
        "MFN and FBA orders by order date (XML)",
        Some(30),
        true,
    ),
    spec(
        ACTIONABLE_ORDERS,
        "unshipped MFN orders with shipping addresses",
        None,
        false,
    ),
    spec(FBA_SHIPMENTS, "FBA orders: shipped items", Some(30), true),
    spec(FBA_RETURNS, "FBA customer returns", Some(60), false),
    spec(FBA_INVENTORY, "FBA inventory", None, false),
    spec(AFN_INVENTORY, "FBA inventory by fulfillment network", None, false),
    spec(
        VCS_TAX,
        "VCS (VAT Calculation Service) invoice data",
        Some(31),
        false,
    ),
    spec(VAT_TRANSACTIONS, "VAT transactions", Some(31), false),
];

const fn spec(
    report_type: &'static str,
    description: &'static str,
    max_window_days: Option<i64>,
    backfillable: bool,
) -> ReportTypeSpec {
    ReportTypeSpec {
        report_type,
        description,
        max_window: match max_window_days {
            Some(days) => Some(TimeDelta::days(days)),
            None => None,
        },
        backfillable,
    }
}

impl ReportTypeSpec {
    /// The spec of a report type the API requests, if it is one.
    pub fn of(report_type: &str) -> Option<&'static ReportTypeSpec> {
        REQUESTABLE_REPORT_TYPES
            .iter()
            .find(|spec| spec.report_type == report_type)
    }
}

/// How sellersync reads a report type's documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// All-orders flat file: orders and their items.
    AllOrdersFlat,
    /// All-orders XML: orders and their items.
    AllOrdersXml,
    /// Actionable orders: buyer PII and order-item ids of unshipped MFN orders.
    ActionableOrders,
    /// FBA shipments: one line per shipped item.
    FbaShipments,
    /// Any other type: the document is kept as it is.
    Raw,
}

impl ReportKind {
    /// The kind of an Amazon report type.
    pub fn of(report_type: &str) -> ReportKind {
        match report_type {
            ALL_ORDERS_FLAT | ALL_ORDERS_FLAT_BY_ORDER_DATE => ReportKind::AllOrdersFlat,
            ALL_ORDERS_XML | ALL_ORDERS_XML_BY_ORDER_DATE => ReportKind::AllOrdersXml,
            ACTIONABLE_ORDERS => ReportKind::ActionableOrders,
            FBA_SHIPMENTS => ReportKind::FbaShipments,
            _ => ReportKind::Raw,
        }
    }

    /// Whether its documents hold buyer PII and need a Restricted Data Token.
    pub fn is_restricted(self) -> bool {
        self == ReportKind::ActionableOrders
    }

    /// Whether sellersync parses it into orders, rather than keeping the raw document.
    pub fn is_parsed(self) -> bool {
        self != ReportKind::Raw
    }
}

/// Why a report was requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobPurpose {
    /// A schedule tick's import.
    Scheduled,
    /// One window of a backfill.
    Backfill {
        /// The backfill it belongs to.
        backfill_id: String,
    },
    /// Asked for through the API.
    Requested,
}

/// A time window of report data, both ends inclusive as Amazon reads `dataStartTime`/`dataEndTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// `dataStartTime`.
    pub start: DateTime<Utc>,
    /// `dataEndTime`.
    pub end: DateTime<Utc>,
}

impl Window {
    /// Splits `[start, end]` into consecutive windows of at most `max` each.
    pub fn split(start: DateTime<Utc>, end: DateTime<Utc>, max: TimeDelta) -> Vec<Window> {
        let mut windows = Vec::new();
        let mut from = start;
        while from < end {
            let to = (from + max).min(end);
            windows.push(Window { start: from, end: to });
            from = to;
        }
        windows
    }

    /// The window's length.
    pub fn length(&self) -> TimeDelta {
        self.end - self.start
    }
}

/// Where a report job stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Amazon is preparing it (`IN_QUEUE` or `IN_PROGRESS`).
    Pending {
        /// Amazon's last `processingStatus`.
        amazon_status: String,
    },
    /// `DONE`; its document was handed to the parsers.
    Parsing {
        /// The report document.
        document_id: String,
    },
    /// Its document was parsed and stored.
    Imported {
        /// The report document.
        document_id: String,
        /// What the parser did.
        summary: ImportSummary,
    },
    /// `CANCELLED`: Amazon had no data for the window.
    NoData,
    /// `FATAL`: Amazon could not produce it.
    Fatal {
        /// The reason from the error document, or what is known.
        reason: String,
    },
    /// `DONE`, of a type sellersync does not parse yet: the document is kept as Amazon sent it.
    RawDocument {
        /// The report document.
        document_id: String,
        /// Where sellersync keeps a copy (`s3://bucket/key`); none while it is being copied.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    },
    /// Given up on (stuck too long, or replaced by a new request for the same window).
    Abandoned {
        /// Why.
        reason: String,
        /// The key of the job that requested the same window again, if one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced_by: Option<String>,
    },
}

impl JobState {
    /// Whether the job still waits on Amazon.
    pub fn is_pending(&self) -> bool {
        matches!(self, JobState::Pending { .. })
    }

    /// Whether the poller comes back to the job at a due time: it waits on Amazon, or on the parsers (whose
    /// [`PARSE_DEADLINE`] the poller enforces).
    pub fn is_watched(&self) -> bool {
        matches!(self, JobState::Pending { .. } | JobState::Parsing { .. })
    }

    /// The state's name as stored and served (`pending`, `parsing`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Pending { .. } => "pending",
            JobState::Parsing { .. } => "parsing",
            JobState::Imported { .. } => "imported",
            JobState::NoData => "no_data",
            JobState::Fatal { .. } => "fatal",
            JobState::RawDocument { .. } => "raw_document",
            JobState::Abandoned { .. } => "abandoned",
        }
    }

    /// Whether nothing more will happen to the job: its data is stored, or there is none to store.
    pub fn is_settled(&self) -> bool {
        !matches!(self, JobState::Pending { .. } | JobState::Parsing { .. })
    }
}

/// What parsing one report document did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Data rows read.
    pub rows: u64,
    /// Orders (or shipment lines, or PII records) found.
    pub records: u64,
    /// Records written because they were new or newer.
    pub written: u64,
    /// Records already stored at the same or a newer version: no write.
    pub unchanged: u64,
    /// New records the account's options leave out (FBA, shipped, country filter).
    pub filtered: u64,
    /// Rows quarantined.
    pub quarantined: u64,
}

impl ImportSummary {
    /// Adds another summary's counts to this one.
    pub fn add(&mut self, other: &ImportSummary) {
        self.rows += other.rows;
        self.records += other.records;
        self.written += other.written;
        self.unchanged += other.unchanged;
        self.filtered += other.filtered;
        self.quarantined += other.quarantined;
    }
}

/// One `createReport` and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportJob {
    /// The seller account.
    pub account_id: String,
    /// Amazon's report id.
    pub report_id: String,
    /// Amazon's report type.
    pub report_type: String,
    /// Marketplaces it covers.
    pub marketplace_ids: Vec<String>,
    /// The data window, when the request named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Why it was requested.
    pub purpose: JobPurpose,
    /// When it was requested.
    pub requested_at: DateTime<Utc>,
    /// Where it stands.
    #[serde(flatten)]
    pub state: JobState,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// How often it was polled.
    #[serde(default)]
    pub polls: u32,
    /// Bumped by every change; a change is written only over the version (or the states) it moved from, so
    /// two pollers cannot both hand a document over and a late write cannot move a job back.
    #[serde(default)]
    pub version: u64,
}

/// What a report job write requires of the stored copy; the store writes nothing when it does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPrecondition {
    /// Nothing is stored under the job's key: a new job.
    New,
    /// The stored job is in one of these states (as [`JobState::name`] names them), at any version: how a
    /// parser settles the job whichever poller run handed its document over.
    InStates(&'static [&'static str]),
    /// The stored job is still in `state` at `version`: nobody changed it since it was read.
    Unchanged {
        /// The state it moves from.
        state: &'static str,
        /// The version it was read at.
        version: u64,
    },
}

impl ReportJob {
    /// Begins a change of the job as it was read: bumps its version and answers the precondition that it
    /// is still as read.
    pub fn change(&mut self) -> JobPrecondition {
        let expected = JobPrecondition::Unchanged {
            state: self.state.name(),
            version: self.version,
        };
        self.version += 1;
        expected
    }

    /// Begins a change that may follow any change into `states`: bumps the version and answers that
    /// precondition.
    pub fn change_from(&mut self, states: &'static [&'static str]) -> JobPrecondition {
        self.version += 1;
        JobPrecondition::InStates(states)
    }

    /// The job's key within its account: request time, then Amazon's id, so that keys sort by age.
    pub fn key(&self) -> String {
        format!(
            "{}#{}",
            self.requested_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.report_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hundred_days_split_into_four_windows_of_at_most_thirty_days() {
        let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let windows = Window::split(start, start + TimeDelta::days(100), MAX_ORDER_REPORT_WINDOW);
        assert_eq!(windows.len(), 4);
        assert!(windows.iter().all(|w| w.length() <= MAX_ORDER_REPORT_WINDOW));
        assert_eq!(windows[0].start, start);
        assert_eq!(windows[3].end, start + TimeDelta::days(100));
        assert!(
            windows.windows(2).all(|pair| pair[0].end == pair[1].start),
            "no gaps"
        );
    }

    #[test]
    fn only_the_actionable_report_is_restricted_and_unknown_types_are_kept_raw() {
        assert!(ReportKind::of(ACTIONABLE_ORDERS).is_restricted());
        assert!(!ReportKind::of(ALL_ORDERS_FLAT).is_restricted());
        assert_eq!(
            ReportKind::of("GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"),
            ReportKind::Raw
        );
    }

    #[test]
    fn a_job_serialises_its_state_inline() {
        let job = ReportJob {
            account_id: "a1".into(),
            report_id: "50001".into(),
            report_type: ALL_ORDERS_FLAT.into(),
            marketplace_ids: vec!["ATVPDKIKX0DER".into()],
            window: None,
            purpose: JobPurpose::Backfill {
                backfill_id: "b1".into(),
            },
            requested_at: "2026-11-01T00:00:00Z".parse().unwrap(),
            state: JobState::Fatal {
                reason: "window over 30 days".into(),
            },
            updated_at: "2026-11-01T00:01:00Z".parse().unwrap(),
            polls: 2,
            version: 3,
        };
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["state"], "fatal");
        assert_eq!(json["reason"], "window over 30 days");
        assert_eq!(serde_json::from_value::<ReportJob>(json).unwrap(), job);
    }
}
