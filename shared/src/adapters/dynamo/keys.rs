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

/// The `by-updated` index's sort key of an order: its last update, then its id to keep equal times apart.
pub fn order_updated_sk(last_updated: DateTime<Utc>, order_id: &str) -> String {
    format!("{}#{order_id}", timestamp(last_updated))
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
