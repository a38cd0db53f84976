//! Leases in the state table: `LEASE#<name>`, `LEASE`, with the holder and the time it holds it until. Taken
//! with a conditional put, given back with a conditional delete, so two holders never have one lease.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::keys::{LEASE_SK, lease_pk, timestamp};
use super::{DynamoStateStore, Item, s, written};
use crate::error::StoreError;
use crate::ports::Leases;

#[async_trait]
impl Leases for DynamoStateStore {
    async fn take(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let item = Item::from([
            ("pk".into(), s(lease_pk(name))),
            ("sk".into(), s(LEASE_SK)),
            ("kind".into(), s("lease")),
            ("holder".into(), s(holder)),
            ("held_until".into(), s(timestamp(until))),
        ]);
        let taken = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR held_until <= :now OR holder = :me")
            .expression_attribute_values(":now", s(timestamp(now)))
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        written("PutItem", taken)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let released = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(lease_pk(name)))
            .key("sk", s(LEASE_SK))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await;
        // Not written: another holder has it (ours expired), and it stays theirs.
        written("DeleteItem", released).map(drop)
    }
}
