//! In-memory fakes of the ports, for unit tests of use cases and for runs with no AWS at all.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::Order;
use crate::error::StoreError;
use crate::ports::{OrderStore, PutOutcome};

/// Orders in a map, with the same conditional-write rules as the DynamoDB store, counting writes.
#[derive(Debug, Default)]
pub struct MemoryOrderStore {
    orders: Mutex<HashMap<(String, String), Order>>,
    writes: AtomicU64,
}

impl MemoryOrderStore {
    /// Conditional writes attempted so far (each is one DynamoDB write request in production).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Order>> {
        // A panic while holding the lock can only come from a test that already failed.
        self.orders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl OrderStore for MemoryOrderStore {
    async fn order_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        let orders = self.lock();
        Ok(order_ids
            .iter()
            .filter_map(|id| {
                orders
                    .get(&(account.to_owned(), (*id).to_owned()))
                    .map(|o| ((*id).to_owned(), o.last_updated))
            })
            .collect())
    }

    async fn put_order(
        &self,
        account: &str,
        order: &Order,
        only_if_stored: bool,
    ) -> Result<PutOutcome, StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut orders = self.lock();
        let key = (account.to_owned(), order.amazon_order_id.clone());
        let allowed = match orders.get(&key) {
            Some(stored) => stored.last_updated < order.last_updated,
            None => !only_if_stored,
        };
        if allowed {
            orders.insert(key, order.clone());
            Ok(PutOutcome::Written)
        } else {
            Ok(PutOutcome::NotNewer)
        }
    }

    async fn get_order(&self, account: &str, order_id: &str) -> Result<Option<Order>, StoreError> {
        Ok(self
            .lock()
            .get(&(account.to_owned(), order_id.to_owned()))
            .cloned())
    }
}
