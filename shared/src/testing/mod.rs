//! In-memory fakes of the ports, for unit tests of use cases and for runs with no AWS at all.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    ActionOrigin, ActionState, BuyerPii, FbaShipmentItem, FeedAction, FeedSubmission, Order, OrderDetails,
    OrderPii, PiiAvailability, QueuedGroup, ShippableItem, StoredVersion, UnshippedOrder,
};
use crate::error::StoreError;
use crate::feeds::FeedType;
use crate::ports::{
    AddOutcome, FeedStore, Leases, OrderLedger, OrderQuery, OrderStore, Page, PutOutcome, QuarantinedRow,
    TokenedOrder,
};

mod state;
mod system;

pub use state::MemoryState;
pub use system::{MemorySystem, NOTIFICATION_QUEUE_ARN};

/// `getOrder` details of an unshipped merchant-fulfilled order at `last_updated`, with `items` and the PII given.
pub fn unshipped_details(
    order_id: &str,
    last_updated: DateTime<Utc>,
    items: Vec<ShippableItem>,
) -> OrderDetails {
    OrderDetails {
        amazon_order_id: order_id.into(),
        last_updated,
        fulfillment_status: "UNSHIPPED".into(),
        fulfilled_by: Some("MERCHANT".into()),
        ship_by: Default::default(),
        deliver_by: Default::default(),
        programs: vec![],
        purchase_order_number: None,
        items,
        pii: PiiAvailability::Given,
    }
}

/// Orders in a map, with the same conditional-write rules as the DynamoDB store, counting writes.
#[derive(Debug, Default)]
pub struct MemoryOrderStore {
    orders: Mutex<HashMap<(String, String), Order>>,
    /// What each stored order's write stamped on it (locked after `orders`, never alone while writing an order).
    stamps: Mutex<HashMap<(String, String), Stamp>>,
    next_token: AtomicU64,
    extras: Mutex<Extras>,
    writes: AtomicU64,
}

/// What a write stamps on a stored order besides the order, as the DynamoDB store's attributes.
#[derive(Debug, Clone)]
struct Stamp {
    /// The write token.
    token: String,
    /// Ahead of the reports ([`StoredVersion`]).
    ahead: bool,
    /// Marked as awaiting its `getOrder` details ([`crate::domain::awaits_details`]).
    awaiting_details: bool,
}

/// What is stored beside orders.
#[derive(Debug, Default)]
pub struct Extras {
    /// Unshipped orders and their fingerprints by (account, order id).
    pub unshipped: HashMap<(String, String), (UnshippedOrder, u64)>,
    /// Buyer PII and its expiry by (account, order id).
    pub buyers: HashMap<(String, String), (BuyerPii, DateTime<Utc>)>,
    /// `getOrder` details by (account, order id).
    pub details: HashMap<(String, String), OrderDetails>,
    /// `getOrder` PII and its expiry by (account, order id).
    pub order_pii: HashMap<(String, String), (OrderPii, DateTime<Utc>)>,
    /// FBA shipment lines by (account, shipment-item id).
    pub shipment_items: HashMap<(String, String), FbaShipmentItem>,
    /// Quarantined rows by account.
    pub quarantined: Vec<(String, QuarantinedRow)>,
}

impl MemoryOrderStore {
    /// Conditional writes attempted so far (each is one DynamoDB write request in production).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// What is stored beside orders.
    pub fn extras(&self) -> std::sync::MutexGuard<'_, Extras> {
        self.extras
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn stamps(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Stamp>> {
        self.stamps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores `order` under `key` with a new write token, as every DynamoDB write of an order does.
    fn store(
        &self,
        orders: &mut HashMap<(String, String), Order>,
        key: (String, String),
        order: &Order,
        ahead_of_reports: bool,
    ) {
        let token = format!("t{}", self.next_token.fetch_add(1, Ordering::Relaxed));
        let stamp = Stamp {
            token,
            ahead: ahead_of_reports,
            // A copy moved ahead is written with the details of its version.
            awaiting_details: !ahead_of_reports && crate::domain::awaits_details(order),
        };
        self.stamps().insert(key.clone(), stamp);
        orders.insert(key, order.clone());
    }

    fn stored_version(&self, key: &(String, String), order: &Order) -> StoredVersion {
        StoredVersion {
            last_updated: order.last_updated,
            ahead_of_reports: self.stamps().get(key).is_some_and(|stamp| stamp.ahead),
        }
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
    ) -> Result<HashMap<String, StoredVersion>, StoreError> {
        let orders = self.lock();
        Ok(order_ids
            .iter()
            .filter_map(|id| {
                let key = (account.to_owned(), (*id).to_owned());
                let order = orders.get(&key)?;
                Some(((*id).to_owned(), self.stored_version(&key, order)))
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
        let key = (account.to_owned(), order.amazon_order_id.to_string());
        let allowed = match orders.get(&key) {
            Some(stored) => self
                .stored_version(&key, stored)
                .is_replaced_by(order.last_updated),
            None => !only_if_stored,
        };
        if allowed {
            self.store(&mut orders, key, order, false);
            Ok(PutOutcome::Written)
        } else {
            Ok(PutOutcome::NotNewer)
        }
    }

    async fn put_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut orders = self.lock();
        let key = (account.to_owned(), order.amazon_order_id.to_string());
        match orders.get(&key) {
            Some(stored) if stored.last_updated < order.last_updated => {
                self.store(&mut orders, key, order, true);
                Ok(PutOutcome::Written)
            }
            _ => Ok(PutOutcome::NotNewer),
        }
    }

    async fn create_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut orders = self.lock();
        let key = (account.to_owned(), order.amazon_order_id.to_string());
        if orders.contains_key(&key) {
            return Ok(PutOutcome::NotNewer);
        }
        self.store(&mut orders, key, order, true);
        Ok(PutOutcome::Written)
    }

    async fn get_order(&self, account: &str, order_id: &str) -> Result<Option<Order>, StoreError> {
        Ok(self
            .lock()
            .get(&(account.to_owned(), order_id.to_owned()))
            .cloned())
    }

    async fn list_orders(&self, account: &str, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        // The same order and cursor as the DynamoDB store's `by-updated` index.
        let cursor =
            |o: &Order| crate::adapters::dynamo::keys::order_updated_sk(o.last_updated, &o.amazon_order_id);
        let since = query.updated_since.map(crate::adapters::dynamo::keys::timestamp);
        let mut matching: Vec<(String, Order)> = self
            .lock()
            .iter()
            .filter(|((owner, _), _)| owner == account)
            .map(|(_, order)| (cursor(order), order.clone()))
            .filter(|(key, order)| {
                since.as_ref().is_none_or(|since| key >= since)
                    && query.after.as_ref().is_none_or(|after| key > after)
                    && query.status.as_ref().is_none_or(|s| &order.status == s)
                    && query.channel.is_none_or(|c| order.fulfillment_channel == c)
                    && query
                        .marketplace_id
                        .as_ref()
                        .is_none_or(|m| order.marketplace_id.as_deref() == Some(m.as_str()))
            })
            .collect();
        matching.sort_by(|a, b| a.0.cmp(&b.0));
        let limit = query.limit.clamp(1, 1000) as usize;
        let more = matching.len() > limit;
        matching.truncate(limit);
        let next = if more {
            matching.last().map(|(key, _)| key.clone())
        } else {
            None
        };
        Ok(Page {
            items: matching.into_iter().map(|(_, order)| order).collect(),
            next,
        })
    }

    async fn orders_to_ship(
        &self,
        account: &str,
        marketplace_id: Option<&str>,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<(Order, OrderDetails)>, StoreError> {
        // The same order and cursor as the DynamoDB store's `to-ship` index.
        let orders = self.lock();
        let extras = self.extras();
        let mut entries: Vec<(String, &OrderDetails)> = extras
            .details
            .iter()
            .filter(|((owner, _), details)| owner == account && details.needs_shipping())
            .map(|((_, id), details)| {
                let cursor = crate::adapters::dynamo::keys::to_ship_sk(details.ship_by.latest, id);
                (cursor, details)
            })
            .filter(|(cursor, _)| after.is_none_or(|after| cursor.as_str() > after))
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let limit = limit.clamp(1, 1000) as usize;
        let mut items = Vec::new();
        let mut next = None;
        let mut entries = entries.into_iter().peekable();
        while items.len() < limit {
            let Some((cursor, details)) = entries.next() else {
                break;
            };
            next = Some(cursor);
            let Some(order) = orders.get(&(account.to_owned(), details.amazon_order_id.clone())) else {
                continue;
            };
            let marketplace_matches =
                marketplace_id.is_none_or(|m| order.marketplace_id.as_deref() == Some(m));
            if marketplace_matches && crate::domain::still_to_ship(order, details) {
                items.push((order.clone(), details.clone()));
            }
        }
        // As the index: no cursor once the last entry was read.
        if entries.peek().is_none() {
            next = None;
        }
        Ok(Page { items, next })
    }

    async fn get_tokened_order(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<TokenedOrder>, StoreError> {
        let orders = self.lock();
        let key = (account.to_owned(), order_id.to_owned());
        Ok(orders.get(&key).map(|order| {
            let (token, ahead_of_reports) = self
                .stamps()
                .get(&key)
                .map(|stamp| (stamp.token.clone(), stamp.ahead))
                .unzip();
            TokenedOrder {
                order: order.clone(),
                token,
                ahead_of_reports: ahead_of_reports.unwrap_or(false),
            }
        }))
    }

    async fn merge_order(
        &self,
        account: &str,
        order: &Order,
        read_token: Option<&str>,
    ) -> Result<PutOutcome, StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut orders = self.lock();
        let key = (account.to_owned(), order.amazon_order_id.to_string());
        let unchanged = self.stamps().get(&key).map(|stamp| stamp.token.as_str()) == read_token;
        match orders.get(&key) {
            Some(stored) if stored.last_updated == order.last_updated && unchanged => {
                self.store(&mut orders, key, order, false);
                Ok(PutOutcome::Written)
            }
            _ => Ok(PutOutcome::NotNewer),
        }
    }

    async fn unshipped_fingerprints(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, u64>, StoreError> {
        let extras = self.extras();
        Ok(order_ids
            .iter()
            .filter_map(|id| {
                let (_, fingerprint) = extras.unshipped.get(&(account.to_owned(), (*id).to_owned()))?;
                Some(((*id).to_owned(), *fingerprint))
            })
            .collect())
    }

    async fn put_unshipped(
        &self,
        account: &str,
        order: &UnshippedOrder,
        fingerprint: u64,
    ) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.extras().unshipped.insert(
            (account.to_owned(), order.amazon_order_id.clone()),
            (order.clone(), fingerprint),
        );
        Ok(())
    }

    async fn put_buyer(
        &self,
        account: &str,
        buyer: &BuyerPii,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.extras().buyers.insert(
            (account.to_owned(), buyer.amazon_order_id.clone()),
            (buyer.clone(), expires_at),
        );
        Ok(())
    }

    async fn get_order_details(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<OrderDetails>, StoreError> {
        Ok(self
            .extras()
            .details
            .get(&(account.to_owned(), order_id.to_owned()))
            .cloned())
    }

    async fn put_order_details(
        &self,
        account: &str,
        details: &OrderDetails,
        pii: Option<(&OrderPii, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        let key = (account.to_owned(), details.amazon_order_id.clone());
        let mut extras = self.extras();
        // As the DynamoDB store: never over details of the same or a newer version.
        if extras
            .details
            .get(&key)
            .is_some_and(|stored| stored.last_updated >= details.last_updated)
        {
            return Ok(());
        }
        if let Some((pii, expires_at)) = pii {
            self.writes.fetch_add(1, Ordering::Relaxed);
            extras.order_pii.insert(key.clone(), (pii.clone(), expires_at));
        }
        self.writes.fetch_add(1, Ordering::Relaxed);
        extras.details.insert(key, details.clone());
        Ok(())
    }

    async fn orders_awaiting_details(
        &self,
        account: &str,
        limit: u32,
        newest_first: bool,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let orders = self.lock();
        let stamps = self.stamps();
        // The same order as the DynamoDB store's `details-due` index.
        let mut marked: Vec<(String, String, DateTime<Utc>)> = orders
            .iter()
            .filter(|((acct, id), _)| {
                acct == account
                    && stamps
                        .get(&(acct.clone(), id.clone()))
                        .is_some_and(|stamp| stamp.awaiting_details)
            })
            .map(|((_, id), order)| {
                let sort_key = crate::adapters::dynamo::keys::order_updated_sk(order.last_updated, id);
                (sort_key, id.clone(), order.last_updated)
            })
            .collect();
        marked.sort();
        if newest_first {
            marked.reverse();
        }
        Ok(marked
            .into_iter()
            .take(limit.clamp(1, 1000) as usize)
            .map(|(_, id, version)| (id, version))
            .collect())
    }

    async fn details_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        let extras = self.extras();
        Ok(order_ids
            .iter()
            .filter_map(|id| {
                let details = extras.details.get(&(account.to_owned(), (*id).to_owned()))?;
                Some(((*id).to_owned(), details.last_updated))
            })
            .collect())
    }

    async fn clear_awaiting_details(
        &self,
        account: &str,
        order_id: &str,
        version: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let orders = self.lock();
        let key = (account.to_owned(), order_id.to_owned());
        if let (Some(order), Some(stamp)) = (orders.get(&key), self.stamps().get_mut(&key))
            && order.last_updated <= version
        {
            stamp.awaiting_details = false;
        }
        Ok(())
    }

    async fn get_order_pii(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<(OrderPii, DateTime<Utc>)>, StoreError> {
        Ok(self
            .extras()
            .order_pii
            .get(&(account.to_owned(), order_id.to_owned()))
            .cloned())
    }

    async fn stored_shipment_items(
        &self,
        account: &str,
        items: &[&FbaShipmentItem],
    ) -> Result<HashSet<String>, StoreError> {
        let extras = self.extras();
        Ok(items
            .iter()
            .filter(|item| {
                extras
                    .shipment_items
                    .contains_key(&(account.to_owned(), item.shipment_item_id.clone()))
            })
            .map(|item| item.shipment_item_id.clone())
            .collect())
    }

    async fn put_shipment_item(
        &self,
        account: &str,
        item: &FbaShipmentItem,
    ) -> Result<PutOutcome, StoreError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut extras = self.extras();
        let key = (account.to_owned(), item.shipment_item_id.clone());
        if extras.shipment_items.contains_key(&key) {
            return Ok(PutOutcome::NotNewer);
        }
        extras.shipment_items.insert(key, item.clone());
        Ok(PutOutcome::Written)
    }

    async fn quarantine(&self, account: &str, rows: &[QuarantinedRow]) -> Result<(), StoreError> {
        self.extras()
            .quarantined
            .extend(rows.iter().map(|row| (account.to_owned(), row.clone())));
        Ok(())
    }
}

/// The feed outbox in maps, indexed like the DynamoDB store (queued actions by account, feed type and age).
#[derive(Debug, Default)]
pub struct MemoryFeedStore {
    inner: Mutex<FeedMaps>,
    fail_feed_id_write: AtomicBool,
}

#[derive(Debug, Default)]
struct FeedMaps {
    actions: HashMap<(String, String), FeedAction>,
    queued: BTreeSet<(String, FeedType, DateTime<Utc>, String)>,
    /// Action keys by (account, order id), as the DynamoDB store's order items are found by key prefix.
    by_order: HashMap<(String, String), BTreeSet<String>>,
    /// Ledger versions by (account, order id).
    ledgers: HashMap<(String, String), u64>,
    submissions: BTreeMap<(String, String), FeedSubmission>,
}

impl FeedMaps {
    fn store(&mut self, action: &FeedAction) {
        let key = (action.account_id.clone(), action.key());
        if let Some(old) = self.actions.get(&key) {
            self.queued.remove(&queued_entry(old));
        }
        if action.state == ActionState::Queued {
            self.queued.insert(queued_entry(action));
        }
        if let Some(order_id) = action.payload.order_id() {
            self.by_order
                .entry((action.account_id.clone(), order_id.to_owned()))
                .or_default()
                .insert(action.key());
        }
        self.actions.insert(key, action.clone());
    }
}

fn queued_entry(action: &FeedAction) -> (String, FeedType, DateTime<Utc>, String) {
    (
        action.account_id.clone(),
        action.feed_type(),
        action.created_at,
        action.key(),
    )
}

impl MemoryFeedStore {
    /// Makes the next write of a submission that carries a feed id fail, as a submitter that dies right
    /// after `createFeed` would leave it.
    pub fn fail_next_feed_id_write(&self) {
        self.fail_feed_id_write.store(true, Ordering::SeqCst);
    }

    /// Every stored action.
    pub fn all_actions(&self) -> Vec<FeedAction> {
        self.lock().actions.values().cloned().collect()
    }

    /// Every stored submission.
    pub fn all_submissions(&self) -> Vec<FeedSubmission> {
        self.lock().submissions.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FeedMaps> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl FeedStore for MemoryFeedStore {
    async fn add_action(&self, action: &FeedAction, ledger: Option<u64>) -> Result<AddOutcome, StoreError> {
        let mut maps = self.lock();
        if maps
            .actions
            .contains_key(&(action.account_id.clone(), action.key()))
        {
            return Ok(AddOutcome::Exists);
        }
        if let Some(order_id) = action.payload.order_id() {
            let version = maps
                .ledgers
                .entry((action.account_id.clone(), order_id.to_owned()))
                .or_default();
            if ledger.is_some_and(|expected| expected != *version) {
                return Ok(AddOutcome::LedgerMoved);
            }
            *version += 1;
        }
        maps.store(action);
        Ok(AddOutcome::Added)
    }

    async fn save_actions(&self, actions: &[FeedAction]) -> Result<(), StoreError> {
        let mut maps = self.lock();
        for action in actions {
            maps.store(action);
        }
        Ok(())
    }

    async fn move_actions(
        &self,
        from: ActionOrigin<'_>,
        actions: &[FeedAction],
    ) -> Result<Vec<String>, StoreError> {
        let mut maps = self.lock();
        let mut moved = Vec::new();
        for action in actions {
            let key = (action.account_id.clone(), action.key());
            if maps
                .actions
                .get(&key)
                .is_some_and(|stored| from.holds(&stored.state))
            {
                maps.store(action);
                moved.push(action.key());
            }
        }
        Ok(moved)
    }

    async fn get_actions(&self, account: &str, keys: &[String]) -> Result<Vec<FeedAction>, StoreError> {
        let maps = self.lock();
        Ok(keys
            .iter()
            .filter_map(|key| maps.actions.get(&(account.to_owned(), key.clone())).cloned())
            .collect())
    }

    async fn order_ledger(&self, account: &str, order_id: &str) -> Result<OrderLedger, StoreError> {
        let maps = self.lock();
        let version = maps
            .ledgers
            .get(&(account.to_owned(), order_id.to_owned()))
            .copied()
            .unwrap_or(0);
        let mut found: Vec<FeedAction> = maps
            .by_order
            .get(&(account.to_owned(), order_id.to_owned()))
            .into_iter()
            .flatten()
            .filter_map(|key| maps.actions.get(&(account.to_owned(), key.clone())).cloned())
            .collect();
        found.sort_by_key(|a| a.created_at);
        Ok(OrderLedger {
            version,
            actions: found,
        })
    }

    async fn queued_actions(
        &self,
        account: &str,
        feed_type: FeedType,
        limit: usize,
    ) -> Result<Vec<FeedAction>, StoreError> {
        let maps = self.lock();
        Ok(maps
            .queued
            .range(
                (
                    account.to_owned(),
                    feed_type,
                    DateTime::<Utc>::MIN_UTC,
                    String::new(),
                )..,
            )
            .take_while(|(a, t, ..)| a == account && *t == feed_type)
            .take(limit)
            .filter_map(|(a, _, _, key)| maps.actions.get(&(a.clone(), key.clone())).cloned())
            .collect())
    }

    async fn queued_groups(&self) -> Result<Vec<QueuedGroup>, StoreError> {
        let maps = self.lock();
        let mut groups: Vec<QueuedGroup> = Vec::new();
        for (account, feed_type, at, _) in &maps.queued {
            match groups.last() {
                Some(last) if last.account_id == *account && last.feed_type == *feed_type => {}
                _ => groups.push(QueuedGroup {
                    account_id: account.clone(),
                    feed_type: *feed_type,
                    oldest: *at,
                }),
            }
        }
        Ok(groups)
    }

    async fn save_submission(&self, submission: &FeedSubmission) -> Result<(), StoreError> {
        if submission.feed_id.is_some() && self.fail_feed_id_write.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                operation: "PutItem",
                message: "injected failure after createFeed".to_owned(),
            });
        }
        self.lock().submissions.insert(
            (submission.account_id.clone(), submission.id.clone()),
            submission.clone(),
        );
        Ok(())
    }

    async fn get_submission(&self, account: &str, id: &str) -> Result<Option<FeedSubmission>, StoreError> {
        Ok(self
            .lock()
            .submissions
            .get(&(account.to_owned(), id.to_owned()))
            .cloned())
    }

    async fn open_submissions(&self, limit: u32) -> Result<Vec<FeedSubmission>, StoreError> {
        let maps = self.lock();
        let mut open: Vec<FeedSubmission> = maps
            .submissions
            .values()
            .filter(|s| s.status.is_open())
            .cloned()
            .collect();
        open.sort_by_key(|s| s.started_at);
        open.truncate(limit as usize);
        Ok(open)
    }

    async fn list_submissions(
        &self,
        account: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<FeedSubmission>, StoreError> {
        let maps = self.lock();
        let mut mine: Vec<&FeedSubmission> = maps
            .submissions
            .values()
            .filter(|s| s.account_id == account)
            .collect();
        mine.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        // A cursor that names no submission of the account: nothing follows it.
        let start = match after {
            None => 0,
            Some(after) => mine
                .iter()
                .position(|s| s.id == after)
                .map_or(mine.len(), |i| i + 1),
        };
        let items: Vec<FeedSubmission> = mine
            .iter()
            .skip(start)
            .take(limit as usize)
            .map(|s| (*s).clone())
            .collect();
        let next = (start + items.len() < mine.len())
            .then(|| items.last().map(|s| s.id.clone()))
            .flatten();
        Ok(Page { items, next })
    }
}

/// Leases in a map, taken and given back by the same rules as the DynamoDB store's.
#[derive(Debug, Default)]
pub struct MemoryLeases {
    held: Mutex<HashMap<String, (String, DateTime<Utc>)>>,
}

#[async_trait]
impl Leases for MemoryLeases {
    async fn take(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let free = held
            .get(name)
            .is_none_or(|(current, expires)| *expires <= now || current == holder);
        if free {
            held.insert(name.to_owned(), (holder.to_owned(), until));
        }
        Ok(free)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.get(name).is_some_and(|(current, _)| current == holder) {
            held.remove(name);
        }
        Ok(())
    }
}

/// An event bus in memory: keeps what it takes, and refuses the entries (or calls) it is told to. Like
/// `PutEvents`, it refuses a call of more than ten entries whole.
#[derive(Debug, Default)]
pub struct MemoryEventBus {
    /// Every event taken, in order.
    pub published: Mutex<Vec<crate::domain::events::Event>>,
    /// Calls to fail whole, from now on (counted down).
    pub fail_calls: AtomicU64,
    /// Entries to refuse one by one, from now on (counted down), as `PutEvents` does with `FailedEntryCount`.
    pub fail_entries: AtomicU64,
}

impl MemoryEventBus {
    /// The events taken so far.
    pub fn events(&self) -> Vec<crate::domain::events::Event> {
        self.published.lock().unwrap().clone()
    }
}

fn take_one(counter: &AtomicU64) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

#[async_trait]
impl crate::ports::EventPublisher for MemoryEventBus {
    async fn publish(&self, events: &[crate::domain::events::Event]) -> Result<Vec<usize>, StoreError> {
        if take_one(&self.fail_calls) {
            return Err(StoreError::Unavailable {
                operation: "PutEvents",
                message: "injected failure".into(),
            });
        }
        if events.len() > 10 {
            return Err(StoreError::Unavailable {
                operation: "PutEvents",
                message: "ValidationException: 'entries' must have length less than or equal to 10".into(),
            });
        }
        let mut failed = Vec::new();
        let mut published = self.published.lock().unwrap();
        for (index, event) in events.iter().enumerate() {
            if take_one(&self.fail_entries) {
                failed.push(index);
            } else {
                published.push(event.clone());
            }
        }
        Ok(failed)
    }
}

/// Connect links in a map, saved on the same version rule as the DynamoDB store's.
#[derive(Debug, Default)]
pub struct MemoryConnectLinks {
    links: Mutex<HashMap<String, crate::domain::ConnectLink>>,
}

#[async_trait]
impl crate::ports::ConnectLinkStore for MemoryConnectLinks {
    async fn get_link(&self, id_hash: &str) -> Result<Option<crate::domain::ConnectLink>, StoreError> {
        Ok(self.links.lock().unwrap().get(id_hash).cloned())
    }

    async fn save_link(
        &self,
        link: &crate::domain::ConnectLink,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut links = self.links.lock().unwrap();
        let stored = links.get(&link.id_hash).map(|l| l.version);
        if stored != expected {
            return Ok(false);
        }
        links.insert(link.id_hash.clone(), link.clone());
        Ok(true)
    }
}

/// Secrets in a map, as Secrets Manager keeps them by name; `fail_reads` makes reads fail from now on.
#[derive(Debug, Default)]
pub struct MemorySecrets {
    values: Mutex<HashMap<String, String>>,
    /// Reads fail while this is set.
    pub fail_reads: AtomicBool,
}

#[async_trait]
impl crate::ports::SecretStore for MemorySecrets {
    async fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        if self.fail_reads.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                operation: "GetSecretValue",
                message: "injected failure".into(),
            });
        }
        Ok(self.values.lock().unwrap().get(name).cloned())
    }

    async fn put(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.values
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.values.lock().unwrap().remove(name);
        Ok(())
    }
}

/// Per-account schedules in a map, as EventBridge Scheduler keeps them by name in the group.
#[derive(Debug, Default)]
pub struct MemorySchedules {
    schedules: Mutex<BTreeMap<String, crate::ports::ScheduleSpec>>,
}

#[async_trait]
impl crate::ports::Schedules for MemorySchedules {
    async fn put(&self, spec: &crate::ports::ScheduleSpec) -> Result<(), StoreError> {
        self.schedules
            .lock()
            .unwrap()
            .insert(spec.name.clone(), spec.clone());
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Option<crate::ports::ScheduleSpec>, StoreError> {
        Ok(self.schedules.lock().unwrap().get(name).cloned())
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.schedules.lock().unwrap().remove(name);
        Ok(())
    }
}

/// A queue keeping what was sent, in order. Like a FIFO queue in SQS, a message whose deduplication id was
/// sent before is accepted and dropped (SQS forgets an id after 5 minutes; this fake never does).
#[derive(Debug, Default)]
pub struct MemoryQueue {
    sent: Mutex<Vec<crate::ports::OutgoingMessage>>,
    /// How many of them [`MemoryQueue::receive`] handed out.
    received: Mutex<usize>,
    /// Sends fail while this is set.
    pub fail_sends: AtomicBool,
}

impl MemoryQueue {
    /// The messages the queue holds, oldest first.
    pub fn messages(&self) -> Vec<crate::ports::OutgoingMessage> {
        self.sent.lock().unwrap().clone()
    }

    /// The messages sent since the last call, oldest first, as a consumer receives them.
    pub fn receive(&self) -> Vec<crate::ports::OutgoingMessage> {
        let sent = self.sent.lock().unwrap();
        let mut received = self.received.lock().unwrap();
        let new = sent[*received..].to_vec();
        *received = sent.len();
        new
    }
}

#[async_trait]
impl crate::ports::MessageQueue for MemoryQueue {
    async fn send(&self, message: crate::ports::OutgoingMessage) -> Result<(), StoreError> {
        if self.fail_sends.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                operation: "SendMessage",
                message: "injected failure".into(),
            });
        }
        let mut sent = self.sent.lock().unwrap();
        let repeated = message.group_id.is_some()
            && message.dedup_id.is_some()
            && sent.iter().any(|m| m.dedup_id == message.dedup_id);
        if !repeated {
            sent.push(message);
        }
        Ok(())
    }
}

/// Documents in a map by key, with how Amazon sent them, as the S3 archive keeps them in its bucket.
#[derive(Debug, Default)]
pub struct MemoryArchive {
    files: Mutex<BTreeMap<String, (Vec<u8>, crate::ports::ArchivedDocument)>>,
}

impl MemoryArchive {
    /// The document under `key`: its bytes and how they were sent.
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, crate::ports::ArchivedDocument)> {
        self.files.lock().unwrap().get(key).cloned()
    }
}

#[async_trait]
impl crate::ports::DocumentArchive for MemoryArchive {
    async fn put_file(
        &self,
        key: &str,
        file: &std::path::Path,
        document: &crate::ports::ArchivedDocument,
    ) -> Result<String, StoreError> {
        let bytes = std::fs::read(file).map_err(|err| StoreError::Unavailable {
            operation: "PutObject",
            message: format!("cannot read the spooled document: {err}"),
        })?;
        self.files
            .lock()
            .unwrap()
            .insert(key.to_owned(), (bytes, document.clone()));
        Ok(format!("memory://archive/{key}"))
    }
}

/// Idempotency keys in a map, with the DynamoDB store's rules: a key is claimed when absent or expired, a
/// completed one keeps its response, and only a claim without a response is released.
#[derive(Debug, Default)]
pub struct MemoryIdempotency {
    keys: Mutex<HashMap<String, (crate::ports::IdempotencyRecord, DateTime<Utc>)>>,
}

#[async_trait]
impl crate::ports::IdempotencyStore for MemoryIdempotency {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<crate::ports::IdempotencyRecord>, StoreError> {
        let mut keys = self.keys.lock().unwrap();
        match keys.get(key) {
            // The store keeps expiry in whole seconds.
            Some((record, expires)) if expires.timestamp() > now.timestamp() => Ok(Some(record.clone())),
            _ => {
                let record = crate::ports::IdempotencyRecord {
                    fingerprint: fingerprint.to_owned(),
                    response: None,
                };
                keys.insert(key.to_owned(), (record, expires_at));
                Ok(None)
            }
        }
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: &crate::ports::StoredResponse,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let record = crate::ports::IdempotencyRecord {
            fingerprint: fingerprint.to_owned(),
            response: Some(response.clone()),
        };
        self.keys
            .lock()
            .unwrap()
            .insert(key.to_owned(), (record, expires_at));
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let mut keys = self.keys.lock().unwrap();
        if keys.get(key).is_some_and(|(record, _)| record.response.is_none()) {
            keys.remove(key);
        }
        Ok(())
    }
}
