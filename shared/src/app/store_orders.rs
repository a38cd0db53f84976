//! Storing parsed orders exactly once: a batch read of stored versions, then a conditional write for each
//! order that is new or newer. An unchanged re-read costs no write.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};

use crate::domain::{ImportOptions, ImportSummary, Order, StoredVersion};
use crate::error::StoreError;
use crate::ports::{OrderStore, PutOutcome};

/// Conditional writes in flight at once per batch: enough to hide DynamoDB's latency, few enough to stay far
/// below a partition's write limit.
const WRITES_IN_FLIGHT: usize = 16;

/// What to do with one parsed order, given the stored version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// New and admitted by the account's options: write it.
    Create,
    /// Newer than the stored copy: write it over that copy.
    Replace,
    /// The stored copy is as new or newer: nothing to write.
    Unchanged,
    /// New, but the account's options leave it out.
    Filtered,
}

fn decide(order: &Order, stored: Option<StoredVersion>, options: &ImportOptions) -> Decision {
    match stored {
        Some(version) if !version.is_replaced_by(order.last_updated) => Decision::Unchanged,
        // An order stored before the options changed is still kept current, so it never goes stale.
        Some(_) => Decision::Replace,
        None if options.admits_new(order) => Decision::Create,
        None => Decision::Filtered,
    }
}

/// An order the store would not keep (larger than an item may be, ...): the caller quarantines it with the
/// store's reason, and the rest of the document is imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The order.
    pub order_id: String,
    /// What the store said.
    pub reason: String,
}

/// Stores a batch of orders of one account. Orders with the same id in one batch must already be merged.
/// Orders the store refuses are returned apart; any other failure fails the batch.
pub async fn store_orders(
    store: &dyn OrderStore,
    account: &str,
    options: &ImportOptions,
    orders: &[Order],
) -> Result<(ImportSummary, Vec<Refused>), StoreError> {
    let ids: Vec<&str> = orders.iter().map(|o| o.amazon_order_id.as_str()).collect();
    let versions: HashMap<String, _> = if ids.is_empty() {
        HashMap::new()
    } else {
        store.order_versions(account, &ids).await?
    };

    let mut summary = ImportSummary {
        records: orders.len() as u64,
        ..ImportSummary::default()
    };
    let mut writes = Vec::new();
    for order in orders {
        match decide(
            order,
            versions.get(order.amazon_order_id.as_str()).copied(),
            options,
        ) {
            Decision::Unchanged => summary.unchanged += 1,
            Decision::Filtered => summary.filtered += 1,
            Decision::Create => writes.push((order, false)),
            Decision::Replace => writes.push((order, true)),
        }
    }
    let outcomes: Vec<(&Order, Result<PutOutcome, StoreError>)> = stream::iter(writes)
        .map(|(order, only_if_stored)| async move {
            (order, store.put_order(account, order, only_if_stored).await)
        })
        .buffer_unordered(WRITES_IN_FLIGHT)
        .collect()
        .await;
    let mut refused = Vec::new();
    for (order, outcome) in outcomes {
        match outcome {
            Ok(PutOutcome::Written) => summary.written += 1,
            // Another parser stored the same or a newer version between our read and our write.
            Ok(PutOutcome::NotNewer) => summary.unchanged += 1,
            Err(err) if err.is_rejected() => refused.push(Refused {
                order_id: order.amazon_order_id.to_string(),
                reason: err.to_string(),
            }),
            Err(err) => return Err(err),
        }
    }
    Ok((summary, refused))
}

/// Reads and conditional writes one split-order part may take before it is given back as retryable (a
/// redelivery merges it again): each lost race means another part was stored, so this bounds only contention.
const MERGE_ATTEMPTS: u32 = 5;

/// Stores the later part of an order whose rows a report split apart: its items are added to the stored copy
/// of the same version (a newer part replaces an older copy; an older part changes nothing). `None` when the
/// order is new and the account's options leave it out.
///
/// Parsers merge parts of one order at once, so every write is conditioned on what was read: a merge on the
/// write token of the copy it read, a first part on the order being absent or older. A write that loses the
/// race reads the order again and retries, so no part's items are lost; after [`MERGE_ATTEMPTS`] lost races
/// the part fails as retryable.
pub async fn merge_order_part(
    store: &dyn OrderStore,
    account: &str,
    options: &ImportOptions,
    part: Order,
) -> Result<Option<PutOutcome>, StoreError> {
    for attempt in 1..=MERGE_ATTEMPTS {
        let written = match store.get_tokened_order(account, &part.amazon_order_id).await? {
            None if !options.admits_new(&part) => return Ok(None),
            None => store.put_order(account, &part, false).await?,
            Some(stored) if stored.version().is_replaced_by(part.last_updated) => {
                store.put_order(account, &part, true).await?
            }
            Some(stored) if stored.order.last_updated == part.last_updated => {
                let mut merged = stored.order.clone();
                for item in &part.items {
                    if !merged.items.contains(item) {
                        merged.items.push(item.clone());
                    }
                }
                if merged == stored.order {
                    return Ok(Some(PutOutcome::NotNewer));
                }
                store
                    .merge_order(account, &merged, stored.token.as_deref())
                    .await?
            }
            Some(_) => return Ok(Some(PutOutcome::NotNewer)),
        };
        if written == PutOutcome::Written {
            return Ok(Some(written));
        }
        // Another part or version was stored since the read: a short random pause spreads the retries of
        // parts racing each other.
        let pause = rand::random_range(0..=10 * u64::from(attempt));
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
    }
    Err(StoreError::Unavailable {
        operation: "MergeOrder",
        message: format!(
            "order {} changed under {MERGE_ATTEMPTS} merges in a row; merge the part again later",
            part.amazon_order_id
        ),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};

    use super::*;
    use crate::domain::{CountryFilter, FulfillmentChannel, OrderStatus, ShipTo};
    use crate::testing::MemoryOrderStore;

    fn order(id: &str, updated: DateTime<Utc>, channel: FulfillmentChannel, country: &str) -> Order {
        Order {
            amazon_order_id: id.into(),
            merchant_order_id: None,
            purchase_date: updated,
            last_updated: updated,
            status: OrderStatus::Unshipped,
            fulfillment_channel: channel,
            sales_channel: "Amazon.com".into(),
            marketplace_id: None,
            ship_service_level: None,
            ship_to: ShipTo {
                country: Some(country.into()),
                ..ShipTo::default()
            },
            is_business_order: false,
            purchase_order_number: None,
            items: vec![],
        }
    }

    #[tokio::test]
    async fn new_and_newer_orders_are_written_once_and_rereads_cost_nothing() {
        let store = MemoryOrderStore::default();
        let t0: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let batch = vec![
            order("1", t0, FulfillmentChannel::Mfn, "US"),
            order("2", t0, FulfillmentChannel::Afn, "US"),
        ];
        let options = ImportOptions::default();

        let (first, _) = store_orders(&store, "a", &options, &batch).await.unwrap();
        assert_eq!((first.written, first.unchanged), (2, 0));
        let writes_after_first = store.writes();

        let (again, _) = store_orders(&store, "a", &options, &batch).await.unwrap();
        assert_eq!((again.written, again.unchanged), (0, 2));
        assert_eq!(
            store.writes(),
            writes_after_first,
            "an unchanged re-read writes nothing"
        );

        let newer = vec![order(
            "1",
            t0 + TimeDelta::minutes(1),
            FulfillmentChannel::Mfn,
            "US",
        )];
        assert_eq!(
            store_orders(&store, "a", &options, &newer)
                .await
                .unwrap()
                .0
                .written,
            1
        );
    }

    #[tokio::test]
    async fn options_filter_new_orders_but_stored_ones_stay_current() {
        let store = MemoryOrderStore::default();
        let t0: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let everything = ImportOptions::default();
        store_orders(
            &store,
            "a",
            &everything,
            &[order("kept", t0, FulfillmentChannel::Afn, "US")],
        )
        .await
        .unwrap();

        let no_fba_no_us = ImportOptions {
            import_fba: false,
            country_filter: "-US".parse::<CountryFilter>().unwrap(),
            ..ImportOptions::default()
        };
        let batch = vec![
            order("fba", t0, FulfillmentChannel::Afn, "CA"),
            order("us", t0, FulfillmentChannel::Mfn, "US"),
            order("ca", t0, FulfillmentChannel::Mfn, "CA"),
            order("kept", t0 + TimeDelta::hours(1), FulfillmentChannel::Afn, "US"),
        ];
        let (summary, _) = store_orders(&store, "a", &no_fba_no_us, &batch).await.unwrap();
        assert_eq!((summary.written, summary.filtered), (2, 2));
        assert!(store.get_order("a", "ca").await.unwrap().is_some());
        assert!(store.get_order("a", "fba").await.unwrap().is_none());
        assert_eq!(
            store.get_order("a", "kept").await.unwrap().unwrap().last_updated,
            t0 + TimeDelta::hours(1)
        );
    }

    #[tokio::test]
    async fn a_merge_over_a_copy_written_since_it_was_read_is_refused_and_the_part_merged_again() {
        let store = MemoryOrderStore::default();
        let t0: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let base = order("1", t0, FulfillmentChannel::Mfn, "US");
        store.put_order("a", &base, false).await.unwrap();
        let read = store.get_tokened_order("a", "1").await.unwrap().unwrap();
        let mut other = base.clone();
        other.merchant_order_id = Some("other part".into());
        assert_eq!(
            store
                .merge_order("a", &other, read.token.as_deref())
                .await
                .unwrap(),
            PutOutcome::Written
        );
        assert_eq!(
            store
                .merge_order("a", &base, read.token.as_deref())
                .await
                .unwrap(),
            PutOutcome::NotNewer,
            "the token read before the other part's merge no longer matches"
        );

        let mut part = base.clone();
        part.items = vec![crate::domain::OrderItem {
            sku: "SKU-2".into(),
            asin: Default::default(),
            product_name: Default::default(),
            item_status: None,
            quantity: 1,
            amounts: Default::default(),
            promotion_ids: vec![],
        }];
        let outcome = merge_order_part(&store, "a", &ImportOptions::default(), part).await;
        assert_eq!(outcome.unwrap(), Some(PutOutcome::Written));
        let stored = store.get_order("a", "1").await.unwrap().unwrap();
        assert_eq!(stored.merchant_order_id.as_deref(), Some("other part"));
        assert_eq!(stored.items.len(), 1);
    }
}
