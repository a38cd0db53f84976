//! What the API does with a seller's action: check it against the stored order, write it to the outbox, then
//! nudge the FIFO feed queue. The outbox write comes first: a failed send loses nothing, because the
//! submitter's scheduled flush finds queued actions in the outbox.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt, TryStreamExt};
use rand::Rng;

use super::plan::{ordered_units, total, units_left};
use crate::clock::Clock;
use crate::domain::{
    ActionPayload, ActionState, FeedAction, FeedNudge, FeedSubmission, FulfillmentChannel, Order,
    OrderDetails, OrderStatus, action_id, action_key,
};
use crate::domain::{
    CancelReason, Cancellation, CancelledItem, InventoryUpdate, ItemQuantity, ShipmentConfirmation,
    ShippedItems,
};
use crate::error::{DomainError, StoreError};
use crate::ports::{AccountStore, AddOutcome, FeedStore, MessageQueue, OrderStore, OutgoingMessage, Page};

/// The most SKUs one inventory request may set.
pub const MAX_INVENTORY_UPDATES: usize = 1000;

/// Times an order action is decided again because another action of the order was added first. Each round
/// has a winner, so this bounds the requests racing for one order, not the time.
const MAX_LEDGER_RACES: u32 = 30;

/// Conditional writes in flight at once for a large inventory request.
const WRITES_IN_FLIGHT: usize = 16;

/// Why an action was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The request is malformed; names the field.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// No such account, order or feed.
    #[error("no {0}")]
    NotFound(String),
    /// The order's state does not allow it; names the field.
    #[error("{message}")]
    Conflict {
        /// The field at fault.
        field: String,
        /// Why.
        message: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an inventory request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryResult {
    /// The queued actions, one per SKU update.
    pub actions: Vec<FeedAction>,
    /// SKUs left out because the request marked them `skip`.
    pub skipped: Vec<String>,
}

/// An order line as a request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemRef {
    /// Amazon's order item id, as shipments and cancellations send it.
    OrderItemId(String),
    /// The seller's SKU, which names a line when exactly one line of the order has it.
    Sku(String),
}

/// The order item id of each reference: ids as given, SKUs through the order's `getOrder` details (`None`: not
/// read yet). The error names the reference (`items[2].sku`).
fn order_item_ids<'a>(
    details: Option<&OrderDetails>,
    refs: impl Iterator<Item = &'a ItemRef>,
) -> Result<Vec<String>, ActionError> {
    let mut order_item_ids = Vec::new();
    for (index, item) in refs.enumerate() {
        let sku = match item {
            ItemRef::OrderItemId(id) => {
                order_item_ids.push(id.clone());
                continue;
            }
            ItemRef::Sku(sku) => sku,
        };
        let field = format!("items[{index}].sku");
        let Some(details) = details else {
            return Err(conflict(
                &field,
                "the order's lines are not known yet: sellersync reads them with Amazon's Orders API within minutes \
                 of importing the order; name the line by orderItemId, or try again shortly",
            ));
        };
        let lines: Vec<&str> = details
            .items
            .iter()
            .filter(|line| line.sku.as_deref() == Some(sku.as_str()))
            .map(|line| line.order_item_id.as_str())
            .collect();
        match lines[..] {
            [id] => order_item_ids.push(id.to_owned()),
            [] => {
                return Err(DomainError::invalid(field, sku, "no line of the order has this SKU").into());
            }
            _ => {
                return Err(DomainError::invalid(
                    field,
                    sku,
                    format!(
                        "{} lines of the order have this SKU; name the line by orderItemId",
                        lines.len()
                    ),
                )
                .into());
            }
        }
    }
    Ok(order_item_ids)
}

/// A partial shipment's items: each named line (by id or SKU, through `details`) with its units.
pub fn shipped_items(
    details: Option<&OrderDetails>,
    lines: &[(ItemRef, u32)],
) -> Result<Vec<ItemQuantity>, ActionError> {
    let ids = order_item_ids(details, lines.iter().map(|(item, _)| item))?;
    Ok(ids
        .into_iter()
        .zip(lines)
        .map(|(order_item_id, (_, quantity))| ItemQuantity {
            order_item_id,
            quantity: *quantity,
        })
        .collect())
}

/// The cancellation a request asks for, given the order's `getOrder` details (`None`: not read yet):
/// - the named lines (by id or SKU), each with its units or whole; with none named, the whole order, which names
///   its open lines where the details are known, since Amazon takes a cancel reason only per item;
/// - `reason`, or `BuyerCanceled` when left out and a buyer asked to cancel; left out otherwise, an error.
pub fn cancellation(
    order_id: &str,
    reason: Option<CancelReason>,
    lines: &[(ItemRef, Option<u32>)],
    details: Option<&OrderDetails>,
) -> Result<Cancellation, ActionError> {
    let ids = order_item_ids(details, lines.iter().map(|(item, _)| item))?;
    let buyer_asked = details.is_some_and(OrderDetails::has_cancellation_request);
    let reason = match reason {
        Some(reason) => reason,
        None if buyer_asked => CancelReason::BuyerCanceled,
        None => {
            return Err(DomainError::invalid(
                "reason",
                "",
                "required: no buyer asked to cancel this order (BuyerCanceled is the default only then)",
            )
            .into());
        }
    };
    let items = if lines.is_empty() {
        details
            .into_iter()
            .flat_map(|d| &d.items)
            .filter(|line| line.quantity_left > 0)
            .map(|line| CancelledItem {
                order_item_id: line.order_item_id.clone(),
                quantity: None,
            })
            .collect()
    } else {
        ids.into_iter()
            .zip(lines)
            .map(|(order_item_id, (_, quantity))| CancelledItem {
                order_item_id,
                quantity: *quantity,
            })
            .collect()
    };
    Ok(Cancellation {
        amazon_order_id: order_id.to_owned(),
        reason,
        items,
    })
}

/// The API's feed use cases.
#[derive(Debug, Clone)]
pub struct FeedActions {
    accounts: Arc<dyn AccountStore>,
    orders: Arc<dyn OrderStore>,
    outbox: Arc<dyn FeedStore>,
    queue: Arc<dyn MessageQueue>,
    clock: Arc<dyn Clock>,
}

impl FeedActions {
    /// The use cases over their stores and the feed queue.
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        orders: Arc<dyn OrderStore>,
        outbox: Arc<dyn FeedStore>,
        queue: Arc<dyn MessageQueue>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        FeedActions {
            accounts,
            orders,
            outbox,
            queue,
            clock,
        }
    }

    /// Queues a shipment confirmation of a stored merchant-fulfilled order. `request_key` (the request's
    /// idempotency key) makes a repeat return the first action instead of queuing another.
    pub async fn confirm_shipment(
        &self,
        account_id: &str,
        confirmation: ShipmentConfirmation,
        request_key: Option<&str>,
    ) -> Result<FeedAction, ActionError> {
        let confirmation = self.with_default_ship_from(account_id, confirmation).await?;
        confirmation.validate()?;
        let id = action_id(account_id, "shipment", request_key, 0);
        let now = self.clock.now();
        let action = self.new_action(account_id, id, ActionPayload::Shipment(confirmation.clone()));
        self.queue_order_action(action, |order, earlier| {
            check_shipment(order, earlier, &confirmation, now)
        })
        .await
    }

    /// The confirmation with the account's default ship-from address when it names none.
    async fn with_default_ship_from(
        &self,
        account_id: &str,
        confirmation: ShipmentConfirmation,
    ) -> Result<ShipmentConfirmation, ActionError> {
        if confirmation.ship_from.is_some() {
            return Ok(confirmation);
        }
        let default = self
            .accounts
            .get_account(account_id)
            .await?
            .and_then(|record| record.account.ship_from);
        Ok(ShipmentConfirmation {
            ship_from: default.map(Box::new),
            ..confirmation
        })
    }

    /// The items of a partial shipment that names `lines` by id or SKU ([`shipped_items`]).
    pub async fn shipped_items(
        &self,
        account_id: &str,
        order_id: &str,
        lines: &[(ItemRef, u32)],
    ) -> Result<Vec<ItemQuantity>, ActionError> {
        let details = self.orders.get_order_details(account_id, order_id).await?;
        shipped_items(details.as_ref(), lines)
    }

    /// The cancellation a request asks for ([`cancellation`]), from the order's details.
    pub async fn cancellation(
        &self,
        account_id: &str,
        order_id: &str,
        reason: Option<CancelReason>,
        lines: &[(ItemRef, Option<u32>)],
    ) -> Result<Cancellation, ActionError> {
        let details = self.orders.get_order_details(account_id, order_id).await?;
        cancellation(order_id, reason, lines, details.as_ref())
    }

    /// Queues a cancellation of a stored order, or of some of its items.
    pub async fn cancel(
        &self,
        account_id: &str,
        cancellation: Cancellation,
        request_key: Option<&str>,
    ) -> Result<FeedAction, ActionError> {
        cancellation.validate()?;
        let id = action_id(account_id, "cancel", request_key, 0);
        let action = self.new_action(account_id, id, ActionPayload::Cancellation(cancellation.clone()));
        self.queue_order_action(action, |order, earlier| {
            check_cancellation(order, earlier, &cancellation)
        })
        .await
    }

    /// Queues an order action if `check` allows it against the stored order and its earlier actions. The
    /// check and the write are one step for the order's ledger: when another action of the order is added
    /// between them, the write is refused and the check made again on what is stored now.
    async fn queue_order_action(
        &self,
        mut action: FeedAction,
        check: impl Fn(&Order, &[FeedAction]) -> Result<(), ActionError>,
    ) -> Result<FeedAction, ActionError> {
        let account_id = action.account_id.clone();
        let order_id = action.payload.order_id().unwrap_or_default().to_owned();
        if let Some(existing) = self.existing(&account_id, Some(&order_id), &action.id).await? {
            return Ok(existing);
        }
        let order = self.order(&account_id, &order_id).await?;
        // Amazon takes one marketplace per feed: the action goes with its order's.
        action.marketplace_id = order.marketplace_id.as_deref().map(str::to_owned);
        for race in 1..=MAX_LEDGER_RACES {
            let ledger = self.outbox.order_ledger(&account_id, &order_id).await?;
            check(&order, &ledger.actions)?;
            match self.outbox.add_action(&action, Some(ledger.version)).await? {
                AddOutcome::Added => {
                    self.nudge(&action).await?;
                    return Ok(action);
                }
                AddOutcome::Exists => {
                    // The same request, answered a moment ago by another instance.
                    if let Some(existing) = self.existing(&account_id, Some(&order_id), &action.id).await? {
                        return Ok(existing);
                    }
                }
                AddOutcome::LedgerMoved => {
                    // Spread the losers out so they do not meet again on the next round.
                    let jitter = rand::rng().random_range(0..=(3 * u64::from(race)));
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
            }
        }
        Err(StoreError::Unavailable {
            operation: "TransactWriteItems",
            message: format!("order {order_id} is being changed by many requests at once; try again"),
        }
        .into())
    }

    /// Queues SKUs' quantities in `marketplaces` (all of the account's when `None`); updates marked `skip`
    /// are left out. One action per SKU update and marketplace, because Amazon takes one marketplace per
    /// listings feed: each marketplace's result is its own.
    pub async fn set_inventory(
        &self,
        account_id: &str,
        updates: Vec<(InventoryUpdate, bool)>,
        marketplaces: Option<Vec<String>>,
        request_key: Option<&str>,
    ) -> Result<InventoryResult, ActionError> {
        if updates.is_empty() || updates.len() > MAX_INVENTORY_UPDATES {
            return Err(DomainError::invalid(
                "items",
                &updates.len().to_string(),
                format!("expected 1 to {MAX_INVENTORY_UPDATES} SKUs"),
            )
            .into());
        }
        for (index, (update, _)) in updates.iter().enumerate() {
            update.validate().map_err(|mut err| {
                err.field = format!("items[{index}].{}", err.field);
                err
            })?;
        }
        let mut seen = HashSet::new();
        for (index, (update, _)) in updates.iter().enumerate() {
            if !seen.insert(update.sku.as_str()) {
                return Err(DomainError::invalid(
                    format!("items[{index}].sku"),
                    &update.sku,
                    "listed twice in one request; give each SKU once, with the quantity it should have",
                )
                .into());
            }
        }
        let account = self
            .accounts
            .get_account(account_id)
            .await?
            .ok_or_else(|| ActionError::NotFound(format!("account {account_id}")))?
            .account;
        let marketplaces = inventory_marketplaces(marketplaces, &account.marketplaces)?;
        let mut result = InventoryResult {
            actions: Vec::new(),
            skipped: Vec::new(),
        };
        let mut wanted = Vec::new();
        for (index, (update, skip)) in updates.into_iter().enumerate() {
            if skip {
                result.skipped.push(update.sku);
                continue;
            }
            for marketplace in &marketplaces {
                let kind = format!("inventory {marketplace}");
                let id = action_id(account_id, &kind, request_key, index);
                wanted.push(FeedAction {
                    marketplace_id: Some(marketplace.clone()),
                    ..self.new_action(account_id, id, ActionPayload::Inventory(update.clone()))
                });
            }
        }
        // One batched read finds what a repeat of the request stored before; the rest is written in parallel.
        let keys: Vec<String> = wanted.iter().map(FeedAction::key).collect();
        let mut stored: HashMap<String, FeedAction> = self
            .outbox
            .get_actions(account_id, &keys)
            .await?
            .into_iter()
            .map(|action| (action.key(), action))
            .collect();
        let fresh: Vec<FeedAction> = wanted
            .iter()
            .filter(|a| !stored.contains_key(&a.key()))
            .cloned()
            .collect();
        let outcomes: Vec<(FeedAction, AddOutcome)> = stream::iter(fresh)
            .map(|action| {
                let outbox = self.outbox.clone();
                async move {
                    let outcome = outbox.add_action(&action, None).await?;
                    Ok::<_, StoreError>((action, outcome))
                }
            })
            .buffered(WRITES_IN_FLIGHT)
            .try_collect()
            .await?;
        if let Some((first, _)) = outcomes.iter().find(|(_, o)| *o == AddOutcome::Added) {
            self.nudge(first).await?;
        }
        result.actions = wanted
            .into_iter()
            .map(|action| stored.remove(&action.key()).unwrap_or(action))
            .collect();
        Ok(result)
    }

    /// Every action about one order, oldest first.
    pub async fn order_actions(
        &self,
        account_id: &str,
        order_id: &str,
    ) -> Result<Vec<FeedAction>, ActionError> {
        Ok(self.outbox.order_ledger(account_id, order_id).await?.actions)
    }

    /// A page of the account's feed log, newest first.
    pub async fn feed_log(
        &self,
        account_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<FeedSubmission>, ActionError> {
        self.require_account(account_id).await?;
        Ok(self.outbox.list_submissions(account_id, after, limit).await?)
    }

    /// One feed of the log with its actions.
    pub async fn feed(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<(FeedSubmission, Vec<FeedAction>), ActionError> {
        self.require_account(account_id).await?;
        let submission = self
            .outbox
            .get_submission(account_id, id)
            .await?
            .ok_or_else(|| ActionError::NotFound(format!("feed {id} of account {account_id}")))?;
        let actions = self
            .outbox
            .get_actions(account_id, &submission.action_keys())
            .await?;
        Ok((submission, actions))
    }

    async fn existing(
        &self,
        account_id: &str,
        order_id: Option<&str>,
        id: &str,
    ) -> Result<Option<FeedAction>, ActionError> {
        let key = action_key(order_id, id);
        Ok(self.outbox.get_actions(account_id, &[key]).await?.pop())
    }

    /// The stored order an action is about, if the seller may act on it.
    async fn order(&self, account_id: &str, order_id: &str) -> Result<Order, ActionError> {
        self.require_account(account_id).await?;
        let order = self
            .orders
            .get_order(account_id, order_id)
            .await?
            .ok_or_else(|| ActionError::NotFound(format!("order {order_id} of account {account_id}")))?;
        if order.fulfillment_channel == FulfillmentChannel::Afn {
            return Err(conflict(
                "orderId",
                "the order is fulfilled by Amazon; Amazon ships and cancels it",
            ));
        }
        Ok(order)
    }

    async fn require_account(&self, account_id: &str) -> Result<(), ActionError> {
        match self.accounts.get_account(account_id).await? {
            Some(_) => Ok(()),
            None => Err(ActionError::NotFound(format!("account {account_id}"))),
        }
    }

    fn new_action(&self, account_id: &str, id: String, payload: ActionPayload) -> FeedAction {
        FeedAction {
            id,
            account_id: account_id.to_owned(),
            payload,
            marketplace_id: None,
            created_at: self.clock.now(),
            state: ActionState::Queued,
            attempts: 0,
            submitted_at: None,
        }
    }

    /// Sends the feed queue one nudge for `action` (the submitter reads the outbox, so one message per request
    /// is enough). A failed send is logged, not returned: the action is safe in the outbox and the minute's
    /// flush submits it.
    async fn nudge(&self, action: &FeedAction) -> Result<(), ActionError> {
        let nudge = FeedNudge {
            account_id: action.account_id.clone(),
            feed_type: action.feed_type(),
            action_id: action.id.clone(),
        };
        let body = serde_json::to_string(&nudge).map_err(|e| StoreError::Corrupt {
            key: action.id.clone(),
            reason: e.to_string(),
        })?;
        let message = OutgoingMessage {
            group_id: Some(format!("{}:{}", nudge.account_id, nudge.feed_type.as_str())),
            dedup_id: Some(action.id.clone()),
            ..OutgoingMessage::standard(body)
        };
        if let Err(err) = self.queue.send(message).await {
            tracing::warn!(account = %action.account_id, error = %err, "feed queue send failed; the flush will find the action");
        }
        Ok(())
    }
}

/// Whether `confirmation` may be queued for `order`, given its earlier actions: the order's state allows a
/// shipment, the ship date fits, no item names more units than the order holds, and the units are left.
fn check_shipment(
    order: &Order,
    earlier: &[FeedAction],
    confirmation: &ShipmentConfirmation,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ActionError> {
    match &order.status {
        OrderStatus::Cancelled => return Err(conflict("orderId", "the order is cancelled")),
        OrderStatus::Pending => {
            return Err(conflict(
                "orderId",
                "the order is pending (payment not confirmed); Amazon does not take shipments for it yet",
            ));
        }
        _ => {}
    }
    confirmation.check_ship_date(order.purchase_date, now)?;
    let left = units_left(order, earlier);
    let wanted = match &confirmation.items {
        ShippedItems::All => left.max(1),
        ShippedItems::Some(items) => {
            check_within_order(order, items.iter().map(|i| i.quantity))?;
            total(items.iter().map(|i| i.quantity))
        }
    };
    check_left(left, wanted, "ship")
}

/// Whether `cancellation` may be queued for `order`, given its earlier actions.
fn check_cancellation(
    order: &Order,
    earlier: &[FeedAction],
    cancellation: &Cancellation,
) -> Result<(), ActionError> {
    if order.status.is_shipped() || order.status == OrderStatus::Cancelled {
        return Err(conflict(
            "orderId",
            format!(
                "the order is {}; only unshipped orders can be cancelled",
                order.status
            ),
        ));
    }
    let quantities = || cancellation.items.iter().map(|i| i.quantity.unwrap_or(1));
    check_within_order(order, quantities())?;
    let left = units_left(order, earlier);
    let wanted = total(quantities());
    check_left(left, wanted, "cancel")
}

/// Refuses an action wanting more units than `left` (or any, when none is left).
fn check_left(left: u64, wanted: u64, verb: &str) -> Result<(), ActionError> {
    if left == 0 || wanted > left {
        return Err(conflict(
            "items",
            format!(
                "{wanted} unit(s) to {verb}, but {left} of the order's units are not yet shipped, cancelled or queued"
            ),
        ));
    }
    Ok(())
}

/// Refuses an item quantity larger than the whole order: no state of the order could allow it.
fn check_within_order(order: &Order, quantities: impl Iterator<Item = u32>) -> Result<(), ActionError> {
    let ordered = ordered_units(order);
    for (index, quantity) in quantities.enumerate() {
        if u64::from(quantity) > ordered {
            return Err(DomainError::invalid(
                format!("items[{index}].quantity"),
                &quantity.to_string(),
                format!("more units than the whole order holds ({ordered})"),
            )
            .into());
        }
    }
    Ok(())
}

/// The marketplaces an inventory request names, each one of the account's and none twice; all of the
/// account's when it names none.
fn inventory_marketplaces(
    named: Option<Vec<String>>,
    account: &[String],
) -> Result<Vec<String>, ActionError> {
    let Some(named) = named else {
        return Ok(account.to_vec());
    };
    if named.is_empty() {
        return Err(DomainError::invalid(
            "marketplaceIds",
            "[]",
            "name at least one marketplace, or leave it out for all",
        )
        .into());
    }
    let mut out: Vec<String> = Vec::with_capacity(named.len());
    for id in named {
        if !account.contains(&id) {
            return Err(DomainError::invalid(
                "marketplaceIds",
                &id,
                format!("not one of the account's marketplaces ({})", account.join(", ")),
            )
            .into());
        }
        if out.contains(&id) {
            return Err(DomainError::invalid("marketplaceIds", &id, "named twice").into());
        }
        out.push(id);
    }
    Ok(out)
}

fn conflict(field: &str, message: impl Into<String>) -> ActionError {
    ActionError::Conflict {
        field: field.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CancellationRequest, ShippableItem};

    fn details(lines: &[(&str, &str)], requested: bool) -> OrderDetails {
        crate::testing::unshipped_details(
            "306-1234567-1234567",
            chrono::DateTime::UNIX_EPOCH,
            lines
                .iter()
                .map(|(id, sku)| ShippableItem {
                    order_item_id: (*id).into(),
                    sku: Some((*sku).into()),
                    quantity_ordered: 2,
                    quantity_left: 2,
                    cancellation_request: requested.then(CancellationRequest::default),
                    ..Default::default()
                })
                .collect(),
        )
    }

    fn id(s: &str) -> ItemRef {
        ItemRef::OrderItemId(s.into())
    }

    fn sku(s: &str) -> ItemRef {
        ItemRef::Sku(s.into())
    }

    fn ids(items: &[CancelledItem]) -> Vec<&str> {
        items.iter().map(|i| i.order_item_id.as_str()).collect()
    }

    fn cancel(
        details: Option<&OrderDetails>,
        reason: Option<CancelReason>,
        refs: &[ItemRef],
    ) -> Result<Cancellation, ActionError> {
        let lines: Vec<(ItemRef, Option<u32>)> = refs.iter().map(|r| (r.clone(), None)).collect();
        cancellation("306-1234567-1234567", reason, &lines, details)
    }

    #[test]
    fn skus_name_the_only_line_that_has_them_and_ids_pass_as_given() {
        let order = details(&[("41", "MUG"), ("42", "CUP"), ("43", "CUP")], false);
        let named = [sku("MUG"), id("43"), id("99")];
        let no_inventory = Some(CancelReason::NoInventory);
        let lines = cancel(Some(&order), no_inventory, &named).unwrap();
        assert_eq!(ids(&lines.items), ["41", "43", "99"]);
        let shipped: Vec<(ItemRef, u32)> = named.iter().map(|r| (r.clone(), 2)).collect();
        let shipped = shipped_items(Some(&order), &shipped).unwrap();
        let shipped: Vec<(&str, u32)> = shipped
            .iter()
            .map(|i| (i.order_item_id.as_str(), i.quantity))
            .collect();
        assert_eq!(shipped, [("41", 2), ("43", 2), ("99", 2)]);

        // The whole order names its open lines where known.
        assert_eq!(
            ids(&cancel(Some(&order), no_inventory, &[]).unwrap().items),
            ["41", "42", "43"]
        );
        let mut part_shipped = details(&[("41", "MUG"), ("42", "CUP")], false);
        part_shipped.items[0].quantity_left = 0;
        assert_eq!(
            ids(&cancel(Some(&part_shipped), no_inventory, &[]).unwrap().items),
            ["42"]
        );
        assert!(cancel(None, no_inventory, &[]).unwrap().items.is_empty());

        // The reason: BuyerCanceled by default only when a buyer asked.
        let asked = details(&[("41", "MUG")], true);
        assert_eq!(
            cancel(Some(&asked), None, &[]).unwrap().reason,
            CancelReason::BuyerCanceled
        );
        assert_eq!(
            cancel(Some(&asked), no_inventory, &[]).unwrap().reason,
            CancelReason::NoInventory
        );

        let refused = |result: Result<Cancellation, ActionError>| match result {
            Err(ActionError::Invalid(err)) => (400, err.field.clone(), err.to_string()),
            Err(ActionError::Conflict { field, message }) => (409, field, message),
            other => panic!("{other:?}"),
        };
        let (status, field, _) = refused(cancel(Some(&order), None, &[]));
        assert_eq!((status, field.as_str()), (400, "reason"));
        let (status, field, _) = refused(cancel(None, None, &[id("41")]));
        assert_eq!((status, field.as_str()), (400, "reason"));
        let (status, field, message) = refused(cancel(Some(&order), no_inventory, &[id("41"), sku("CUP")]));
        assert_eq!((status, field.as_str()), (400, "items[1].sku"));
        assert!(message.contains("2 lines"), "{message}");
        let (status, field, _) = refused(cancel(Some(&order), no_inventory, &[sku("BOWL")]));
        assert_eq!((status, field.as_str()), (400, "items[0].sku"));
        let (status, field, message) = refused(cancel(None, no_inventory, &[id("41"), sku("MUG")]));
        assert_eq!((status, field.as_str()), (409, "items[1].sku"));
        assert!(message.contains("orderItemId"), "{message}");
    }
}
