//! Every DynamoDB key and index value sellersync writes, in one place.

use chrono::{DateTime, SecondsFormat, Utc};

/// Partition key of everything that belongs to one seller account (orders table and state table).
pub fn account_pk(account: &str) -> String {
    format!("ACCOUNT#{account}")
}

/// Sort key of an order.
pub fn order_sk(order_id: &str) -> String {
    format!("ORDER#{order_id}")
}

/// Sort key of a part of an order stored apart from it: `UNSHIPPED`, `PII`, `SHIP#<shipment-item-id>`.
pub fn order_part_sk(order_id: &str, part: &str) -> String {
    format!("ORDER#{order_id}#{part}")
}

/// Sort key of a quarantined report row.
pub fn quarantine_sk(report_id: &str, line: u64) -> String {
    format!("QUARANTINE#{report_id}#{line:010}")
}

/// The `by-updated` index's sort key of an order: its last update, then its id to keep equal times apart (also
/// the `details-due` index's, for an order awaiting its `getOrder` details).
pub fn order_updated_sk(last_updated: DateTime<Utc>, order_id: &str) -> String {
    format!("{}#{order_id}", timestamp(last_updated))
}

/// The `to-ship` index's sort key of an order the seller still has to ship: its latest ship date (orders
/// without one last), then its id.
pub fn to_ship_sk(ship_by: Option<DateTime<Utc>>, order_id: &str) -> String {
    match ship_by {
        Some(at) => format!("{}#{order_id}", timestamp(at)),
        None => format!("9999-12-31T23:59:59.999Z#{order_id}"),
    }
}

/// Sort key of an account's own item in the state table.
pub const ACCOUNT_SK: &str = "ACCOUNT";

/// `by-kind` partition listing every account.
pub const ACCOUNTS_KIND: &str = "ACCOUNT";

/// `by-kind` partition of report jobs waiting for their next poll.
pub const REPORTS_DUE_KIND: &str = "REPORT-POLL";

/// Sort key of a report job, from its [`crate::domain::ReportJob::key`].
pub fn job_sk(job_key: &str) -> String {
    format!("REPORT#{job_key}")
}

/// `by-kind` sort key of a pending job: when it is due, then which job it is.
pub fn job_due_sk(due: DateTime<Utc>, account: &str, job_key: &str) -> String {
    format!("{}#{account}#{job_key}", timestamp(due))
}

/// Sort key of a backfill.
pub fn backfill_sk(id: &str) -> String {
    format!("BACKFILL#{id}")
}

/// `by-kind` partition of backfills still running.
pub const BACKFILLS_RUNNING_KIND: &str = "BACKFILL-RUNNING";

/// `by-kind` sort key of a running backfill: when it started, then whose it is.
pub fn backfill_running_sk(created_at: DateTime<Utc>, account: &str, id: &str) -> String {
    format!("{}#{account}#{id}", timestamp(created_at))
}

/// Partition key of an API idempotency key.
pub fn idempotency_pk(key: &str) -> String {
    format!("IDEMPOTENCY#{key}")
}

/// Sort key of an API idempotency key.
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";

/// Sort key of an SP-API rate bucket.
/// An outbox action: `ACCOUNT#<id>`, `FEEDACTION#<action key>` (order actions sort under their order).
pub fn feed_action_sk(action_key: &str) -> String {
    format!("FEEDACTION#{action_key}")
}

/// The ledger of one order's actions: `ACCOUNT#<id>`, `FEEDLEDGER#<order id>`, whose version every action
/// added to the order moves on.
pub fn feed_ledger_sk(order_id: &str) -> String {
    format!("FEEDLEDGER#{order_id}")
}

/// `by-kind` partition of queued outbox actions.
pub const FEEDS_QUEUED_KIND: &str = "FEED-QUEUED";

/// A queued action's `by-kind` sort key: grouped by account and feed type, oldest first within a group.
pub fn feed_queued_sk(account: &str, feed_type: &str, created_at: DateTime<Utc>, action_key: &str) -> String {
    format!("{account}#{feed_type}#{}#{action_key}", timestamp(created_at))
}

/// A feed submission: `ACCOUNT#<id>`, `FEED#<submission id>` (ids start with their time, so newest last).
pub fn feed_sk(id: &str) -> String {
    format!("FEED#{id}")
}

/// `by-kind` partition of open feed submissions.
pub const FEEDS_OPEN_KIND: &str = "FEED-OPEN";

/// An open submission's `by-kind` sort key, oldest first.
pub fn feed_open_sk(started_at: DateTime<Utc>, account: &str, id: &str) -> String {
    format!("{}#{account}#{id}", timestamp(started_at))
}

pub const BUCKET_SK: &str = "BUCKET";

/// Partition key of a connect link, by the digest of its secret id.
pub fn connect_pk(id_hash: &str) -> String {
    format!("CONNECT#{id_hash}")
}

/// Sort key of a connect link.
pub const CONNECT_SK: &str = "CONNECT";

/// Partition key of a lease (one holder at a time, e.g. the feed submitter's).
pub fn lease_pk(name: &str) -> String {
    format!("LEASE#{name}")
}

/// Sort key of a lease.
pub const LEASE_SK: &str = "LEASE";

/// Partition key of the SP-API rate bucket of one account and operation.
pub fn bucket_pk(account: &str, operation: &str) -> String {
    format!("BUCKET#{account}#{operation}")
}

/// A fixed-width UTC timestamp (`2026-11-02T10:00:00.000Z`), so that string order is time order.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_sort_in_time_order() {
        let early = order_updated_sk("2026-11-02T09:59:59.999Z".parse().unwrap(), "B");
        let late = order_updated_sk("2026-11-02T10:00:00Z".parse().unwrap(), "A");
        assert!(early < late, "{early} < {late}");
        assert_eq!(late, "2026-11-02T10:00:00.000Z#A");
    }
}
