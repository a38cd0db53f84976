//! What the API does with a seller's action: check it against the stored order, write it to the outbox, then
//! nudge the FIFO feed queue. The outbox write comes first: a failed send loses nothing, because the
//! submitter's scheduled flush finds queued actions in the outbox.

use std::sync::Arc;

use super::plan::units_left;
use crate::clock::Clock;
use crate::domain::{
    ActionPayload, ActionState, FeedAction, FeedNudge, FeedSubmission, FulfillmentChannel, OrderStatus,
    action_id, action_key,
};
use crate::error::{DomainError, StoreError};
use crate::feeds::{Cancellation, InventoryUpdate, ShipmentConfirmation, ShippedItems};
use crate::ports::{AccountStore, FeedStore, MessageQueue, OrderStore, OutgoingMessage, Page};

/// The most SKUs one inventory request may set.
pub const MAX_INVENTORY_UPDATES: usize = 1000;

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
        confirmation.validate()?;
        let order_id = confirmation.amazon_order_id.clone();
        let id = action_id(account_id, "shipment", request_key, 0);
        if let Some(existing) = self.existing(account_id, Some(&order_id), &id).await? {
            return Ok(existing);
        }
        let (order, earlier) = self.order_and_actions(account_id, &order_id).await?;
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
        let left = units_left(&order, &earlier);
        let wanted = match &confirmation.items {
            ShippedItems::All => left.max(1),
            ShippedItems::Some(items) => items.iter().map(|i| i.quantity).sum(),
        };
        if left == 0 || wanted > left {
            return Err(conflict(
                "items",
                format!(
                    "{wanted} unit(s) to ship, but {left} of the order's units are not yet shipped, cancelled or queued"
                ),
            ));
        }
        let action = self.new_action(account_id, id, ActionPayload::Shipment(confirmation));
        self.enqueue(std::slice::from_ref(&action)).await?;
        Ok(action)
    }

    /// Queues a cancellation of a stored order, or of some of its items.
    pub async fn cancel(
        &self,
        account_id: &str,
        cancellation: Cancellation,
        request_key: Option<&str>,
    ) -> Result<FeedAction, ActionError> {
        cancellation.validate()?;
        let order_id = cancellation.amazon_order_id.clone();
        let id = action_id(account_id, "cancel", request_key, 0);
        if let Some(existing) = self.existing(account_id, Some(&order_id), &id).await? {
            return Ok(existing);
        }
        let (order, earlier) = self.order_and_actions(account_id, &order_id).await?;
        if order.status.is_shipped() || order.status == OrderStatus::Cancelled {
            return Err(conflict(
                "orderId",
                format!(
                    "the order is {}; only unshipped orders can be cancelled",
                    order.status
                ),
            ));
        }
        let left = units_left(&order, &earlier);
        let wanted: u32 = cancellation.items.iter().map(|i| i.quantity.unwrap_or(1)).sum();
        if left == 0 || wanted > left {
            return Err(conflict(
                "items",
                format!(
                    "nothing left to cancel: {left} of the order's units are not yet shipped, cancelled or queued"
                ),
            ));
        }
        let action = self.new_action(account_id, id, ActionPayload::Cancellation(cancellation));
        self.enqueue(std::slice::from_ref(&action)).await?;
        Ok(action)
    }

    /// Queues SKUs' quantities; updates marked `skip` are left out. One action per SKU update.
    pub async fn set_inventory(
        &self,
        account_id: &str,
        updates: Vec<(InventoryUpdate, bool)>,
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
        self.require_account(account_id).await?;
        let mut result = InventoryResult {
            actions: Vec::new(),
            skipped: Vec::new(),
        };
        let mut fresh = Vec::new();
        for (index, (update, skip)) in updates.into_iter().enumerate() {
            if skip {
                result.skipped.push(update.sku);
                continue;
            }
            let id = action_id(account_id, "inventory", request_key, index);
            match self.existing(account_id, None, &id).await? {
                Some(existing) => result.actions.push(existing),
                None => {
                    let action = self.new_action(account_id, id, ActionPayload::Inventory(update));
                    fresh.push(action.clone());
                    result.actions.push(action);
                }
            }
        }
        self.enqueue(&fresh).await?;
        Ok(result)
    }

    /// Every action about one order, oldest first.
    pub async fn order_actions(
        &self,
        account_id: &str,
        order_id: &str,
    ) -> Result<Vec<FeedAction>, ActionError> {
        Ok(self.outbox.order_actions(account_id, order_id).await?)
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

    async fn order_and_actions(
        &self,
        account_id: &str,
        order_id: &str,
    ) -> Result<(crate::domain::Order, Vec<FeedAction>), ActionError> {
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
        let earlier = self.outbox.order_actions(account_id, order_id).await?;
        Ok((order, earlier))
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
            created_at: self.clock.now(),
            state: ActionState::Queued,
            attempts: 0,
            submitted_at: None,
        }
    }

    /// Writes the actions to the outbox, then sends one nudge for them (the submitter reads the outbox, so one
    /// message per request is enough). A failed send is logged, not returned: the action is safe in the
    /// outbox and the minute's flush submits it.
    async fn enqueue(&self, actions: &[FeedAction]) -> Result<(), ActionError> {
        let mut added = Vec::new();
        for action in actions {
            if self.outbox.add_action(action).await? {
                added.push(action);
            }
        }
        let Some(first) = added.first() else {
            return Ok(());
        };
        let nudge = FeedNudge {
            account_id: first.account_id.clone(),
            feed_type: first.feed_type(),
            action_id: first.id.clone(),
        };
        let body = serde_json::to_string(&nudge).map_err(|e| StoreError::Corrupt {
            key: first.id.clone(),
            reason: e.to_string(),
        })?;
        let message = OutgoingMessage {
            group_id: Some(format!("{}:{}", nudge.account_id, nudge.feed_type.as_str())),
            dedup_id: Some(first.id.clone()),
            ..OutgoingMessage::standard(body)
        };
        if let Err(err) = self.queue.send(message).await {
            tracing::warn!(account = %first.account_id, error = %err, "feed queue send failed; the flush will find the action");
        }
        Ok(())
    }
}

fn conflict(field: &str, message: impl Into<String>) -> ActionError {
    ActionError::Conflict {
        field: field.to_owned(),
        message: message.into(),
    }
}
