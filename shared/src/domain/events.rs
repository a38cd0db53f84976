//! The events sellersync publishes on its EventBridge bus: their names, their `detail` and their ids.
//!
//! The contract integrators write rules against. Every event has `source` [`EVENT_SOURCE`], a `detail-type`
//! from [`EventKind::detail_type`] and a `detail` that names the account and what changed, never the buyer
//! (no names, addresses, phones, e-mails) and never a token: consumers read the recipient through the API. Its
//! `eventId` is a digest of what it reports, so the duplicates that at-least-once delivery brings carry the
//! same id. The JSON Schema of each kind is `infra/events/<schema name>.json`.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::health::ProblemKind;

/// The `source` of every event sellersync publishes.
pub const EVENT_SOURCE: &str = "sellersync";

/// What an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// An order sellersync had not stored before.
    OrderCreated,
    /// A stored order changed in its status, items, shipment state or recipient availability.
    OrderChanged,
    /// A buyer asked to cancel items of a merchant-fulfilled order (Amazon's Orders API says so).
    OrderCancellationRequested,
    /// Amazon applied a seller action (shipment, cancellation, inventory update).
    SellerActionAccepted,
    /// Amazon refused a seller action, with its code and text.
    SellerActionRejected,
    /// Amazon stopped answering for an account, for a cause that needs someone to act.
    AccountDisconnected,
    /// An account that was disconnected reaches Amazon again.
    AccountReconnected,
}

impl EventKind {
    /// Every kind, in the order of the schemas.
    pub const ALL: [EventKind; 7] = [
        EventKind::OrderCreated,
        EventKind::OrderChanged,
        EventKind::OrderCancellationRequested,
        EventKind::SellerActionAccepted,
        EventKind::SellerActionRejected,
        EventKind::AccountDisconnected,
        EventKind::AccountReconnected,
    ];

    /// The event's `detail-type`, as a rule matches it.
    pub fn detail_type(self) -> &'static str {
        match self {
            EventKind::OrderCreated => "Order Created",
            EventKind::OrderChanged => "Order Changed",
            EventKind::OrderCancellationRequested => "Order Cancellation Requested",
            EventKind::SellerActionAccepted => "Seller Action Accepted",
            EventKind::SellerActionRejected => "Seller Action Rejected",
            EventKind::AccountDisconnected => "Account Disconnected",
            EventKind::AccountReconnected => "Account Reconnected",
        }
    }

    /// The name of its schema: `infra/events/<name>.json`, registered under the same name.
    pub fn schema_name(self) -> &'static str {
        match self {
            EventKind::OrderCreated => "OrderCreated",
            EventKind::OrderChanged => "OrderChanged",
            EventKind::OrderCancellationRequested => "OrderCancellationRequested",
            EventKind::SellerActionAccepted => "SellerActionAccepted",
            EventKind::SellerActionRejected => "SellerActionRejected",
            EventKind::AccountDisconnected => "AccountDisconnected",
            EventKind::AccountReconnected => "AccountReconnected",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.detail_type())
    }
}

/// One event to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What it reports.
    pub kind: EventKind,
    /// Its `detail`, which carries its id.
    pub detail: EventDetail,
}

impl Event {
    /// Its stable id (also `detail.eventId`).
    pub fn id(&self) -> &str {
        match &self.detail {
            EventDetail::Order(d) => &d.event_id,
            EventDetail::Cancellation(d) => &d.event_id,
            EventDetail::Action(d) => &d.event_id,
            EventDetail::Account(d) => &d.event_id,
        }
    }

    /// The account it is about.
    pub fn account_id(&self) -> &str {
        match &self.detail {
            EventDetail::Order(d) => &d.account_id,
            EventDetail::Cancellation(d) => &d.account_id,
            EventDetail::Action(d) => &d.account_id,
            EventDetail::Account(d) => &d.account_id,
        }
    }

    /// Its `detail` as JSON text.
    pub fn detail_json(&self) -> String {
        // Plain structs of strings, numbers and lists: serialising cannot fail.
        serde_json::to_string(&self.detail).unwrap_or_else(|_| "{}".into())
    }
}

/// An event's `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum EventDetail {
    /// Of `Order Created` and `Order Changed`.
    Order(OrderDetail),
    /// Of `Order Cancellation Requested`.
    Cancellation(CancellationDetail),
    /// Of `Seller Action Accepted` and `Seller Action Rejected`.
    Action(ActionDetail),
    /// Of `Account Disconnected` and `Account Reconnected`.
    Account(AccountDetail),
}

/// What changed in an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderChange {
    /// The order's status.
    Status,
    /// Its lines: SKUs, quantities or amounts.
    Items,
    /// The shipment state of its lines (their own statuses).
    Shipment,
    /// Whether the recipient (name and address) can be read through the API.
    Recipient,
}

impl OrderChange {
    /// Its name in `detail.changes`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderChange::Status => "status",
            OrderChange::Items => "items",
            OrderChange::Shipment => "shipment",
            OrderChange::Recipient => "recipient",
        }
    }
}

/// The `detail` of an order event: the order's facts that are not buyer PII.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDetail {
    /// The event's stable id.
    pub event_id: String,
    /// The seller account.
    pub account_id: String,
    /// Amazon's order id.
    pub amazon_order_id: String,
    /// The marketplace, when the sales channel names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    /// The sales channel, e.g. `Amazon.de`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_channel: Option<String>,
    /// `AFN` or `MFN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfillment_channel: Option<String>,
    /// The order's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The status before the change (`Order Changed` with a status change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<String>,
    /// Amazon's last-updated date of the order: its version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<DateTime<Utc>>,
    /// What changed (`Order Changed` only), in a fixed order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<OrderChange>,
    /// Whether the recipient can be read now (`Order Changed` with a recipient change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient_available: Option<bool>,
}

/// The `detail` of `Order Cancellation Requested`: the order and the items a buyer asked to cancel, as of the
/// Orders API answer's version. The buyer's reason is left out (free text a buyer wrote); the API has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancellationDetail {
    /// The event's stable id.
    pub event_id: String,
    /// The seller account.
    pub account_id: String,
    /// Amazon's order id.
    pub amazon_order_id: String,
    /// The Orders API's last update of the order when the request was seen.
    pub last_updated: DateTime<Utc>,
    /// The items with a pending request (all of them, not only the newly requested ones).
    pub items: Vec<CancellationItem>,
}

/// An item a buyer asked to cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancellationItem {
    /// The id a cancellation names.
    pub order_item_id: String,
    /// The seller's SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Who asked, e.g. `BUYER`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
}

/// The `detail` of a seller action's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionDetail {
    /// The event's stable id.
    pub event_id: String,
    /// The seller account.
    pub account_id: String,
    /// sellersync's action id (as `POST /accounts/{id}/...` returned it).
    pub action_id: String,
    /// `shipment`, `cancellation` or `inventory`.
    pub action: &'static str,
    /// The order, for order actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amazon_order_id: Option<String>,
    /// The SKU, for inventory updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// The marketplace whose feed carried it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    /// The feed type, e.g. `POST_ORDER_FULFILLMENT_DATA`.
    pub feed_type: String,
    /// The submission that carried it.
    pub submission_id: String,
    /// Its MessageID in that feed.
    pub message_id: u32,
    /// Amazon's result code (rejections).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Amazon's text (rejections).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Amazon's warnings (acceptances), `code: text`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The `detail` of an account's connection event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDetail {
    /// The event's stable id.
    pub event_id: String,
    /// The seller account.
    pub account_id: String,
    /// The classified cause: of the disconnection, or the one the account recovered from.
    pub cause: ProblemKind,
    /// When the cause was (last) seen.
    pub since: DateTime<Utc>,
}

/// A stable event id: the first 128 bits of SHA-256 over the kind and the parts that name what it reports.
pub fn event_id(kind: EventKind, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.schema_name().as_bytes());
    for part in parts {
        hasher.update(b"\n");
        hasher.update(part.as_bytes());
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_by_kind_and_by_every_part_and_repeat_for_the_same_facts() {
        let id = event_id(EventKind::OrderCreated, &["a1", "111-1", "17"]);
        assert_eq!(id, event_id(EventKind::OrderCreated, &["a1", "111-1", "17"]));
        assert_eq!(id.len(), 32);
        assert_ne!(id, event_id(EventKind::OrderChanged, &["a1", "111-1", "17"]));
        assert_ne!(id, event_id(EventKind::OrderCreated, &["a1", "111-1", "18"]));
        // Parts are separated, so moving a boundary changes the id.
        assert_ne!(
            event_id(EventKind::OrderCreated, &["a1", "1"]),
            event_id(EventKind::OrderCreated, &["a11", ""])
        );
    }
}
