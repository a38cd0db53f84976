//! Ports: the traits through which use cases reach the outside world, named by role.
//!
//! Adapters in [`crate::adapters`] implement them over AWS; [`crate::testing`] has in-memory fakes.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::Order;
use crate::error::StoreError;

/// What a conditional order write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The order was new, or newer than the stored copy, and was written.
    Written,
    /// The stored copy was as new or newer (another writer got there first); nothing was written.
    NotNewer,
}

/// Orders of seller accounts, each kept at its newest `last_updated` version.
#[async_trait]
pub trait OrderStore: Send + Sync + std::fmt::Debug {
    /// The stored `last_updated` of each of `order_ids` that is stored, in as few requests as the store allows.
    async fn order_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError>;

    /// Writes `order` if it is new or newer than the stored copy; when `only_if_stored`, writes it only over an
    /// existing older copy (an order the account's options would not import, but whose earlier version is kept).
    async fn put_order(
        &self,
        account: &str,
        order: &Order,
        only_if_stored: bool,
    ) -> Result<PutOutcome, StoreError>;

    /// One order, if stored.
    async fn get_order(&self, account: &str, order_id: &str) -> Result<Option<Order>, StoreError>;
}
