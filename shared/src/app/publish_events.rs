//! Events from the tables' change streams: which events one stored change means ([`decide`]), and the publishing
//! of a stream batch with partial failures ([`publish_changes`]).
//!
//! Events come from the change stream, not from the writers, so no write path can forget one and a crash between
//! a write and its publication loses nothing: the stream keeps the change until the publisher reports it done.
//! The rules, over a record's old and new image (see [`crate::domain::events`] for the contract):
//!
//! - an order item (`kind` = `order`) that is new: `Order Created`; one that is stored again with a newer or equal
//!   version: `Order Changed` naming which of status, items and shipment state (its lines' own statuses) changed;
//!   nothing when none of them did (a re-read, a new write token, a later version with the same facts) and
//!   nothing when the version went back; the report row that settles a copy the Orders API moved ahead
//!   (`ahead_of_reports`, same version) publishes only a status the answer did not give: the change at Amazon
//!   was published when the copy moved;
//! - a buyer item from a report or from the Orders API (`kind` = `buyer_pii` or `order_pii`) that appears or
//!   disappears (written, or expired by TTL): `Order Changed` with `recipient`, with the same id from either;
//!   rewritten: nothing;
//! - an order's Orders API details (`kind` = `order_details`) showing a buyer's cancellation request on an item
//!   the older details had none on: `Order Cancellation Requested` naming the requested items (not the buyer's
//!   reason);
//! - an outbox action (`kind` = `feed_action`) that reaches `accepted` or `rejected` from another state:
//!   `Seller Action Accepted` or `Seller Action Rejected` with Amazon's code and text;
//! - an account (`kind` = `account`) whose connection becomes `disconnected`: `Account Disconnected` with the
//!   classified cause; one that goes from `disconnected` to `connected`: `Account Reconnected` with the cause it
//!   recovered from;
//! - everything else (report jobs, ledgers, rate buckets, unshipped and shipment parts, removals of orders):
//!   nothing.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_dynamo::Item;
use thiserror::Error;

use crate::domain::events::{
    AccountDetail, ActionDetail, CancellationDetail, CancellationItem, Event, EventDetail, EventKind,
    OrderChange, OrderDetail, event_id,
};
use crate::domain::health::Problem;
use crate::domain::{ActionPayload, ActionState, FeedAction, Order, OrderDetails, OrderItem};
use crate::ports::EventPublisher;

/// A stream image sellersync cannot read; names the item's key, never its contents.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("stream image {key} cannot be read: {reason}")]
pub struct ImageError {
    /// `pk/sk` of the item.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    pk: String,
    #[serde(default)]
    sk: String,
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct OrderImage {
    order: Order,
    /// Moved ahead of the reports by the Orders API (`StoredVersion`).
    #[serde(default)]
    ahead_of_reports: bool,
}

#[derive(Deserialize)]
struct DetailsImage {
    details: OrderDetails,
}

#[derive(Deserialize)]
struct ActionImage {
    action: FeedAction,
}

#[derive(Deserialize)]
struct AccountImage {
    #[serde(default)]
    connection_state: Option<String>,
    #[serde(default)]
    problem: Option<Problem>,
}

fn read<T: DeserializeOwned>(head: &Head, item: &Item) -> Result<T, ImageError> {
    serde_dynamo::from_item(item.clone()).map_err(|e| ImageError {
        key: format!("{}/{}", head.pk, head.sk),
        reason: e.to_string(),
    })
}

fn head(item: Option<&Item>) -> Result<Option<Head>, ImageError> {
    match item {
        None => Ok(None),
        Some(item) if item.is_empty() => Ok(None),
        Some(item) => serde_dynamo::from_item(item.clone())
            .map(Some)
            .map_err(|e| ImageError {
                key: "?".into(),
                reason: e.to_string(),
            }),
    }
}

/// The events one stored change means: `old` and `new` are the item's images before and after (`None`, or
/// empty, when it did not exist). Pure; the same change always yields the same events with the same ids.
pub fn decide(old: Option<&Item>, new: Option<&Item>) -> Result<Vec<Event>, ImageError> {
    let (old_head, new_head) = (head(old)?, head(new)?);
    let Some(any) = new_head.as_ref().or(old_head.as_ref()) else {
        return Ok(vec![]);
    };
    let account = any.pk.strip_prefix("ACCOUNT#").unwrap_or(&any.pk).to_owned();
    let kind = any.kind.clone().unwrap_or_default();
    let old = old.filter(|_| old_head.is_some());
    let new = new.filter(|_| new_head.is_some());
    match kind.as_str() {
        "order" => {
            let Some(new) = new else { return Ok(vec![]) };
            let new: OrderImage = read(any, new)?;
            let old = old.map(|o| read::<OrderImage>(any, o)).transpose()?;
            Ok(order_events(&account, old.as_ref(), &new.order)
                .into_iter()
                .collect())
        }
        "buyer_pii" | "order_pii" => Ok(recipient_event(&account, any, old.is_some(), new.is_some())
            .into_iter()
            .collect()),
        "order_details" => {
            let Some(new) = new else { return Ok(vec![]) };
            let new: DetailsImage = read(any, new)?;
            let old = old.map(|o| read::<DetailsImage>(any, o)).transpose()?;
            Ok(
                cancellation_event(&account, old.map(|o| o.details).as_ref(), &new.details)
                    .into_iter()
                    .collect(),
            )
        }
        "feed_action" => {
            let Some(new) = new else { return Ok(vec![]) };
            let new: ActionImage = read(any, new)?;
            let old = old.map(|o| read::<ActionImage>(any, o)).transpose()?;
            Ok(action_event(old.map(|o| o.action.state).as_ref(), &new.action)
                .into_iter()
                .collect())
        }
        "account" => {
            let (Some(old), Some(new)) = (old, new) else {
                return Ok(vec![]);
            };
            let old: AccountImage = read(any, old)?;
            let new: AccountImage = read(any, new)?;
            Ok(account_event(&account, &old, &new).into_iter().collect())
        }
        _ => Ok(vec![]),
    }
}

/// The lines without their own statuses: what `items` compares.
fn lines(items: &[OrderItem]) -> Vec<OrderItem> {
    items
        .iter()
        .map(|item| OrderItem {
            item_status: None,
            ..item.clone()
        })
        .collect()
}

/// The lines' own statuses: what `shipment` compares.
fn line_states(items: &[OrderItem]) -> Vec<(&str, Option<&str>)> {
    items
        .iter()
        .map(|item| (item.sku.as_str(), item.item_status.as_deref()))
        .collect()
}

fn order_events(account: &str, old: Option<&OrderImage>, new: &Order) -> Option<Event> {
    let version = new.last_updated.timestamp_millis().to_string();
    let (kind, changes, previous_status) = match old {
        None => (EventKind::OrderCreated, vec![], None),
        Some(OrderImage {
            order: old,
            ahead_of_reports,
        }) => {
            if new.last_updated < old.last_updated {
                return None;
            }
            // The report row settling a copy the Orders API moved ahead: the change at Amazon was published when
            // the copy moved; only a status the answer did not give is news.
            let settles = *ahead_of_reports && new.last_updated == old.last_updated;
            let mut changes = BTreeSet::new();
            if old.status != new.status {
                changes.insert(OrderChange::Status);
            }
            if lines(&old.items) != lines(&new.items) && !settles {
                changes.insert(OrderChange::Items);
            }
            if line_states(&old.items) != line_states(&new.items) && !settles {
                changes.insert(OrderChange::Shipment);
            }
            if changes.is_empty() {
                return None;
            }
            let previous = (old.status != new.status).then(|| old.status.as_str().to_owned());
            (EventKind::OrderChanged, changes.into_iter().collect(), previous)
        }
    };
    let names: Vec<&str> = changes.iter().map(|c: &OrderChange| c.as_str()).collect();
    let names = names.join(",");
    let id = event_id(kind, &[account, &new.amazon_order_id, &version, &names]);
    Some(Event {
        kind,
        detail: EventDetail::Order(OrderDetail {
            event_id: id,
            account_id: account.to_owned(),
            amazon_order_id: new.amazon_order_id.to_string(),
            marketplace_id: new.marketplace_id.as_ref().map(|m| m.to_string()),
            sales_channel: Some(new.sales_channel.to_string()),
            fulfillment_channel: Some(new.fulfillment_channel.as_str().to_owned()),
            status: Some(new.status.as_str().to_owned()),
            previous_status,
            last_updated: Some(new.last_updated),
            changes,
            recipient_available: None,
        }),
    })
}

fn recipient_event(account: &str, head: &Head, existed: bool, exists: bool) -> Option<Event> {
    if existed == exists {
        return None;
    }
    // `ORDER#<id>#PII` (report buyer data) or `ORDER#<id>#ORDERPII` (the Orders API's): either makes the
    // recipient readable, and both give the same event id, so a consumer dropping repeats sees one.
    let (order_id, _) = head.sk.strip_prefix("ORDER#")?.split_once('#')?;
    let kind = EventKind::OrderChanged;
    let available = if exists { "available" } else { "gone" };
    Some(Event {
        kind,
        detail: EventDetail::Order(OrderDetail {
            event_id: event_id(kind, &[account, order_id, "recipient", available]),
            account_id: account.to_owned(),
            amazon_order_id: order_id.to_owned(),
            marketplace_id: None,
            sales_channel: None,
            fulfillment_channel: None,
            status: None,
            previous_status: None,
            last_updated: None,
            changes: vec![OrderChange::Recipient],
            recipient_available: Some(exists),
        }),
    })
}

/// `Order Cancellation Requested` when the answer shows a buyer's request on an item the older answer had none on.
fn cancellation_event(account: &str, old: Option<&OrderDetails>, new: &OrderDetails) -> Option<Event> {
    let requested = |details: &OrderDetails| -> BTreeSet<String> {
        details
            .items
            .iter()
            .filter(|item| item.cancellation_request.is_some())
            .map(|item| item.order_item_id.clone())
            .collect()
    };
    let now = requested(new);
    if now.is_empty() || old.is_some_and(|old| now.is_subset(&requested(old))) {
        return None;
    }
    let ids: Vec<&str> = now.iter().map(String::as_str).collect();
    let kind = EventKind::OrderCancellationRequested;
    Some(Event {
        kind,
        detail: EventDetail::Cancellation(CancellationDetail {
            event_id: event_id(kind, &[account, &new.amazon_order_id, &ids.join(",")]),
            account_id: account.to_owned(),
            amazon_order_id: new.amazon_order_id.clone(),
            last_updated: new.last_updated,
            items: new
                .items
                .iter()
                .filter_map(|item| {
                    let request = item.cancellation_request.as_ref()?;
                    Some(CancellationItem {
                        order_item_id: item.order_item_id.clone(),
                        sku: item.sku.clone(),
                        requester: request.requester.clone(),
                    })
                })
                .collect(),
        }),
    })
}

fn action_event(old: Option<&ActionState>, new: &FeedAction) -> Option<Event> {
    if old.is_some_and(ActionState::is_final) {
        return None;
    }
    let (kind, submission_id, message_id, code, text, warnings) = match &new.state {
        ActionState::Accepted {
            submission_id,
            message_id,
            warnings,
        } => (
            EventKind::SellerActionAccepted,
            submission_id,
            *message_id,
            None,
            None,
            warnings.clone(),
        ),
        ActionState::Rejected {
            submission_id,
            message_id,
            code,
            text,
        } => (
            EventKind::SellerActionRejected,
            submission_id,
            *message_id,
            Some(code.clone()),
            Some(text.clone()),
            vec![],
        ),
        ActionState::Queued | ActionState::Submitted { .. } => return None,
    };
    let (action, sku) = match &new.payload {
        ActionPayload::Shipment(_) => ("shipment", None),
        ActionPayload::Cancellation(_) => ("cancellation", None),
        ActionPayload::Inventory(update) => ("inventory", Some(update.sku.clone())),
    };
    Some(Event {
        kind,
        detail: EventDetail::Action(ActionDetail {
            event_id: event_id(kind, &[&new.account_id, &new.id, submission_id]),
            account_id: new.account_id.clone(),
            action_id: new.id.clone(),
            action,
            amazon_order_id: new.payload.order_id().map(str::to_owned),
            sku,
            marketplace_id: new.marketplace_id.clone(),
            feed_type: new.feed_type().as_str().to_owned(),
            submission_id: submission_id.clone(),
            message_id,
            code,
            text,
            warnings,
        }),
    })
}

fn account_event(account: &str, old: &AccountImage, new: &AccountImage) -> Option<Event> {
    let was = old.connection_state.as_deref() == Some("disconnected");
    let is = new.connection_state.as_deref() == Some("disconnected");
    let (kind, problem) = match (was, is) {
        (false, true) => (EventKind::AccountDisconnected, new.problem.as_ref()?),
        (true, false) if new.connection_state.as_deref() == Some("connected") => {
            (EventKind::AccountReconnected, old.problem.as_ref()?)
        }
        _ => return None,
    };
    let since = problem.at.timestamp_millis().to_string();
    Some(Event {
        kind,
        detail: EventDetail::Account(AccountDetail {
            event_id: event_id(kind, &[account, &problem.kind.to_string(), &since]),
            account_id: account.to_owned(),
            cause: problem.kind,
            since: problem.at,
        }),
    })
}

/// One record of a change stream.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    /// Its sequence number in its shard: what a partial batch failure names.
    pub sequence_number: String,
    /// The item before the change (`None` for an insert).
    pub old: Option<Item>,
    /// The item after it (`None` for a removal).
    pub new: Option<Item>,
}

/// Entries of one `PutEvents` call at most (EventBridge's limit).
pub const EVENTS_PER_CALL: usize = 10;

/// Publishes the events of a stream batch in stream order. Returns the sequence number of the first record whose
/// events were not all published (or whose image cannot be read), `None` when all were: the event source mapping
/// then retries from that record on, so nothing after a failure counts as done and an order's versions reach the
/// bus in their order. An event published before a failure may be published again; its id stays the same.
pub async fn publish_changes(records: &[ChangeRecord], publisher: &dyn EventPublisher) -> Option<String> {
    let mut pending: Vec<(usize, Event)> = Vec::new();
    let mut unreadable = None;
    for (index, record) in records.iter().enumerate() {
        match decide(record.old.as_ref(), record.new.as_ref()) {
            Ok(events) => pending.extend(events.into_iter().map(|e| (index, e))),
            Err(err) => {
                tracing::error!(error = %err, sequence_number = %record.sequence_number, "unreadable stream record");
                unreadable = Some(index);
                break;
            }
        }
    }
    for chunk in pending.chunks(EVENTS_PER_CALL) {
        let events: Vec<Event> = chunk.iter().map(|(_, e)| e.clone()).collect();
        let failed = match publisher.publish(&events).await {
            Ok(failed) => failed.into_iter().min(),
            Err(err) => {
                tracing::warn!(error = %err, "PutEvents failed");
                Some(0)
            }
        };
        if let Some(entry) = failed {
            let record = chunk.get(entry).map_or(chunk[0].0, |(index, _)| *index);
            return Some(records[record].sequence_number.clone());
        }
    }
    unreadable.map(|index| records[index].sequence_number.clone())
}

impl ChangeRecord {
    /// A record of a Lambda DynamoDB stream event; `None` without a sequence number (which every record of a
    /// stream has).
    pub fn from_lambda(record: aws_lambda_events::event::dynamodb::EventRecord) -> Option<Self> {
        let change = record.change;
        let image = |item: Item| (!item.is_empty()).then_some(item);
        Some(ChangeRecord {
            sequence_number: change.sequence_number?,
            old: image(change.old_image),
            new: image(change.new_image),
        })
    }
}

/// The publisher's handler: a Lambda stream batch in, the partial failure out (the first record not published;
/// the event source mapping retries from it, bisects, and after its retries sends it to the on-failure queue).
pub async fn handle_stream_event(
    event: aws_lambda_events::event::dynamodb::Event,
    publisher: &dyn EventPublisher,
) -> aws_lambda_events::event::streams::DynamoDbEventResponse {
    let mut response = aws_lambda_events::event::streams::DynamoDbEventResponse::default();
    let mut records = Vec::with_capacity(event.records.len());
    for record in event.records {
        let sequence = record.change.sequence_number.clone();
        match ChangeRecord::from_lambda(record) {
            Some(record) => records.push(record),
            None => {
                tracing::error!(?sequence, "stream record without a sequence number: skipped");
            }
        }
    }
    if let Some(sequence) = publish_changes(&records, publisher).await {
        let mut failure = aws_lambda_events::event::streams::DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence);
        response.batch_item_failures.push(failure);
    }
    response
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::adapters::dynamo::{DynamoOrderStore, action_item};
    use crate::domain::health::ProblemKind;
    use crate::domain::{CancelReason, Cancellation, InventoryUpdate};
    use crate::domain::{FulfillmentChannel, OrderStatus, ShipTo};
    use crate::testing::MemoryEventBus;

    const ACCOUNT: &str = "acc-1";

    fn at(minutes: i64) -> DateTime<Utc> {
        "2026-11-02T10:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
    }

    fn order(updated: i64) -> Order {
        Order {
            amazon_order_id: "114-1234567-1234567".into(),
            merchant_order_id: None,
            purchase_date: at(0),
            last_updated: at(updated),
            status: OrderStatus::Unshipped,
            fulfillment_channel: FulfillmentChannel::Mfn,
            sales_channel: "Amazon.de".into(),
            marketplace_id: Some("A1PA6795UKMFR9".into()),
            ship_service_level: Some("Standard".into()),
            ship_to: ShipTo {
                city: Some("Berlin".into()),
                country: Some("DE".into()),
                ..ShipTo::default()
            },
            is_business_order: false,
            purchase_order_number: None,
            items: vec![OrderItem {
                sku: "SKU-1".into(),
                asin: "B000000001".into(),
                product_name: "Mug".into(),
                item_status: Some("Unshipped".into()),
                quantity: 2,
                amounts: Default::default(),
                promotion_ids: vec![],
            }],
        }
    }

    /// The item the orders table's writer stores for `order` (with a fresh write token).
    fn stored(order: &Order) -> Item {
        DynamoOrderStore::item(ACCOUNT, order).unwrap().into()
    }

    fn one(old: Option<&Item>, new: Option<&Item>) -> Option<Event> {
        let mut events = decide(old, new).unwrap();
        assert!(events.len() <= 1, "{events:?}");
        events.pop()
    }

    fn order_detail(event: &Event) -> &OrderDetail {
        match &event.detail {
            EventDetail::Order(detail) => detail,
            other => panic!("not an order event: {other:?}"),
        }
    }

    #[test]
    fn a_new_order_is_created_once_with_its_facts_and_a_stable_id() {
        let new = stored(&order(5));
        let event = one(None, Some(&new)).expect("an event");
        assert_eq!(event.kind, EventKind::OrderCreated);
        let detail = order_detail(&event);
        assert_eq!(detail.account_id, ACCOUNT);
        assert_eq!(detail.amazon_order_id, "114-1234567-1234567");
        assert_eq!(detail.marketplace_id.as_deref(), Some("A1PA6795UKMFR9"));
        assert_eq!(detail.fulfillment_channel.as_deref(), Some("MFN"));
        assert_eq!(detail.status.as_deref(), Some("Unshipped"));
        assert_eq!(detail.last_updated, Some(at(5)));
        assert!(detail.changes.is_empty());
        // Another write of the same version (a redelivery, another token) has the same id.
        let again = one(None, Some(&stored(&order(5)))).unwrap();
        assert_eq!(again.id(), event.id());
        // An empty image is no image: the Lambda event gives `{}` for a missing one.
        assert_eq!(one(Some(&Item::default()), Some(&new)).unwrap().id(), event.id());
    }

    #[test]
    fn rewrites_without_a_change_that_matters_publish_nothing() {
        let old = stored(&order(5));
        // The same order again: only the write token differs.
        assert_eq!(one(Some(&old), Some(&stored(&order(5)))), None);
        // A later version with the same status, lines and line states.
        assert_eq!(one(Some(&old), Some(&stored(&order(9)))), None);
        // A bookkeeping-only change of the item.
        let mut touched = old.clone();
        touched.insert("gsi1sk".into(), serde_dynamo::AttributeValue::S("x".into()));
        assert_eq!(one(Some(&old), Some(&touched)), None);
        // An older version never reaches the bus, whatever it changed.
        let mut older = order(1);
        older.status = OrderStatus::Cancelled;
        assert_eq!(one(Some(&old), Some(&stored(&older))), None);
        // A removal of an order publishes nothing.
        assert_eq!(one(Some(&old), None), None);
    }

    #[test]
    fn a_change_names_what_changed() {
        let before = order(5);
        let old = stored(&before);
        let changed = |edit: &dyn Fn(&mut Order)| {
            let mut after = order(9);
            edit(&mut after);
            let event = one(Some(&old), Some(&stored(&after))).expect("an event");
            assert_eq!(event.kind, EventKind::OrderChanged);
            order_detail(&event).clone()
        };
        let status = changed(&|o| o.status = OrderStatus::Cancelled);
        assert_eq!(status.changes, [OrderChange::Status]);
        assert_eq!(status.previous_status.as_deref(), Some("Unshipped"));
        assert_eq!(status.status.as_deref(), Some("Cancelled"));
        assert_eq!(status.last_updated, Some(at(9)));

        let items = changed(&|o| o.items[0].quantity = 3);
        assert_eq!(items.changes, [OrderChange::Items]);
        assert_eq!(items.previous_status, None);

        let shipped = changed(&|o| {
            o.status = OrderStatus::Shipped;
            o.items[0].item_status = Some("Shipped".into());
        });
        assert_eq!(shipped.changes, [OrderChange::Status, OrderChange::Shipment]);

        let line_added = changed(&|o| {
            let mut line = o.items[0].clone();
            line.sku = "SKU-2".into();
            o.items.push(line);
        });
        assert_eq!(line_added.changes, [OrderChange::Items, OrderChange::Shipment]);

        // A merge of a split order keeps the version: still a change.
        let mut merged = before.clone();
        merged.items[0].quantity = 1;
        let event = one(Some(&old), Some(&stored(&merged))).unwrap();
        assert_eq!(order_detail(&event).changes, [OrderChange::Items]);
        // Different changes of one version have different ids; the same change the same id.
        assert_ne!(event.id(), status.event_id);
        assert_eq!(one(Some(&old), Some(&stored(&merged))).unwrap().id(), event.id());
    }

    fn buyer_item() -> Item {
        let mut item = Item::default();
        for (name, value) in [
            ("pk", "ACCOUNT#acc-1"),
            ("sk", "ORDER#114-1234567-1234567#PII"),
            ("kind", "buyer_pii"),
        ] {
            item.insert(name.into(), serde_dynamo::AttributeValue::S(value.into()));
        }
        item.insert(
            "buyer".into(),
            serde_dynamo::to_attribute_value(serde_json::json!({"buyer_name": "Jane Doe"})).unwrap(),
        );
        item
    }

    #[test]
    fn the_recipient_appearing_or_expiring_is_a_change_and_carries_no_pii() {
        let buyer = buyer_item();
        let appeared = one(None, Some(&buyer)).expect("an event");
        assert_eq!(appeared.kind, EventKind::OrderChanged);
        let detail = order_detail(&appeared);
        assert_eq!(detail.changes, [OrderChange::Recipient]);
        assert_eq!(detail.recipient_available, Some(true));
        assert_eq!(detail.amazon_order_id, "114-1234567-1234567");
        assert!(
            !appeared.detail_json().contains("Jane"),
            "{}",
            appeared.detail_json()
        );
        let expired = one(Some(&buyer), None).expect("an event");
        assert_eq!(order_detail(&expired).recipient_available, Some(false));
        assert_ne!(expired.id(), appeared.id());
        // Rewritten on a re-read: nothing.
        assert_eq!(one(Some(&buyer), Some(&buyer)), None);
    }

    /// A copy `getOrder` moved ahead of the reports: cancelled at 9, still with the lines of the report at 5.
    fn moved_ahead() -> Order {
        let mut ahead = order(9);
        ahead.status = OrderStatus::Cancelled;
        ahead
    }

    #[test]
    fn a_copy_moved_ahead_publishes_the_change_and_the_report_row_settling_it_publishes_nothing_new() {
        let old = stored(&order(5));
        let ahead = DynamoOrderStore::ahead_item(ACCOUNT, &moved_ahead())
            .unwrap()
            .into();
        let moved = one(Some(&old), Some(&ahead)).expect("an event");
        assert_eq!(order_detail(&moved).changes, [OrderChange::Status]);
        assert_eq!(order_detail(&moved).last_updated, Some(at(9)));

        // The report row of version 9: the cancelled line at 0 units and without its own status. The same change
        // at Amazon, already published.
        let mut settled = moved_ahead();
        settled.items[0].quantity = 0;
        settled.items[0].item_status = None;
        assert_eq!(one(Some(&ahead), Some(&stored(&settled))), None);
        // A status the answer did not give is news (and only it).
        settled.status = OrderStatus::Shipped;
        let news = one(Some(&ahead), Some(&stored(&settled))).expect("an event");
        assert_eq!(order_detail(&news).changes, [OrderChange::Status]);
        // Over a copy that is not ahead, the same row is a change of its lines.
        let plain = stored(&moved_ahead());
        settled.status = OrderStatus::Cancelled;
        let lines = one(Some(&plain), Some(&stored(&settled))).expect("an event");
        assert_eq!(
            order_detail(&lines).changes,
            [OrderChange::Items, OrderChange::Shipment]
        );
    }

    fn details(updated: i64, requested: &[&str]) -> OrderDetails {
        crate::testing::unshipped_details(
            "114-1234567-1234567",
            at(updated),
            ["41", "42"]
                .iter()
                .map(|id| crate::domain::ShippableItem {
                    order_item_id: (*id).into(),
                    sku: Some(format!("SKU-{id}")),
                    quantity_ordered: 1,
                    quantity_left: 1,
                    cancellation_request: requested.contains(id).then(|| {
                        crate::domain::CancellationRequest {
                            requester: Some("BUYER".into()),
                            reason: Some("Jane found it cheaper".into()),
                        }
                    }),
                    ..Default::default()
                })
                .collect(),
        )
    }

    fn details_item(details: &OrderDetails) -> Item {
        DynamoOrderStore::details_item(ACCOUNT, details).unwrap().into()
    }

    #[test]
    fn a_buyers_cancellation_request_is_published_once_per_requested_item_without_the_reason() {
        let none = details_item(&details(5, &[]));
        assert_eq!(one(None, Some(&none)), None);
        let first = details_item(&details(6, &["41"]));
        let event = one(Some(&none), Some(&first)).expect("an event");
        assert_eq!(event.kind, EventKind::OrderCancellationRequested);
        let EventDetail::Cancellation(detail) = &event.detail else {
            panic!("{event:?}")
        };
        assert_eq!(detail.amazon_order_id, "114-1234567-1234567");
        assert_eq!(detail.last_updated, at(6));
        assert_eq!(detail.items.len(), 1);
        assert_eq!(detail.items[0].order_item_id, "41");
        assert_eq!(detail.items[0].sku.as_deref(), Some("SKU-41"));
        assert_eq!(detail.items[0].requester.as_deref(), Some("BUYER"));
        assert!(!event.detail_json().contains("Jane"), "{}", event.detail_json());
        // Details stored first with the request: the same event, the same id.
        assert_eq!(one(None, Some(&first)).unwrap().id(), event.id());
        // A newer answer with the same request, or with the request gone: nothing.
        assert_eq!(one(Some(&first), Some(&details_item(&details(7, &["41"])))), None);
        assert_eq!(one(Some(&first), Some(&details_item(&details(8, &[])))), None);
        // Another item requested: a new event naming both.
        let second = one(Some(&first), Some(&details_item(&details(9, &["41", "42"])))).unwrap();
        assert_ne!(second.id(), event.id());
        let EventDetail::Cancellation(detail) = &second.detail else {
            panic!("{second:?}")
        };
        assert_eq!(detail.items.len(), 2);
    }

    #[test]
    fn the_orders_apis_recipient_is_the_same_change_as_the_reports() {
        let pii = crate::domain::OrderPii {
            buyer: crate::domain::BuyerPii {
                amazon_order_id: "114-1234567-1234567".into(),
                buyer_name: Some("Jane Doe".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let item: Item = DynamoOrderStore::order_pii_item(ACCOUNT, &details(5, &[]), &pii, at(60))
            .unwrap()
            .into();
        let appeared = one(None, Some(&item)).expect("an event");
        assert_eq!(order_detail(&appeared).changes, [OrderChange::Recipient]);
        assert_eq!(order_detail(&appeared).amazon_order_id, "114-1234567-1234567");
        assert!(!appeared.detail_json().contains("Jane"));
        assert_eq!(appeared.id(), one(None, Some(&buyer_item())).unwrap().id());
        assert_eq!(one(Some(&item), Some(&item)), None);
        let expired = one(Some(&item), None).expect("an event");
        assert_eq!(order_detail(&expired).recipient_available, Some(false));
    }

    fn action(payload: ActionPayload, state: ActionState) -> Item {
        action_item(&FeedAction {
            id: "act-1".into(),
            account_id: ACCOUNT.into(),
            payload,
            marketplace_id: Some("A1PA6795UKMFR9".into()),
            created_at: at(0),
            state,
            attempts: 1,
            submitted_at: Some(at(1)),
        })
        .unwrap()
        .into()
    }

    fn submitted() -> ActionState {
        ActionState::Submitted {
            submission_id: "sub-1".into(),
            message_id: 3,
        }
    }

    #[test]
    fn a_seller_action_reports_its_result_once_with_amazons_code() {
        let cancel = || {
            ActionPayload::Cancellation(Cancellation {
                amazon_order_id: "114-1234567-1234567".into(),
                reason: CancelReason::NoInventory,
                items: vec![],
            })
        };
        let rejected = ActionState::Rejected {
            submission_id: "sub-1".into(),
            message_id: 3,
            code: "18028".into(),
            text: "The order id was not found".into(),
        };
        let before = action(cancel(), submitted());
        let after = action(cancel(), rejected.clone());
        let event = one(Some(&before), Some(&after)).expect("an event");
        assert_eq!(event.kind, EventKind::SellerActionRejected);
        let EventDetail::Action(detail) = &event.detail else {
            panic!()
        };
        assert_eq!(detail.code.as_deref(), Some("18028"));
        assert_eq!(detail.text.as_deref(), Some("The order id was not found"));
        assert_eq!(detail.action, "cancellation");
        assert_eq!(detail.amazon_order_id.as_deref(), Some("114-1234567-1234567"));
        assert_eq!(detail.message_id, 3);
        // Written again after it was final: nothing.
        assert_eq!(one(Some(&after), Some(&after)), None);
        // Queued, submitted: nothing yet.
        let queued = action(cancel(), ActionState::Queued);
        assert_eq!(one(None, Some(&queued)), None);
        assert_eq!(one(Some(&queued), Some(&before)), None);

        let inventory = || {
            ActionPayload::Inventory(InventoryUpdate {
                sku: "SKU-1".into(),
                quantity: 4,
                handling_time_days: None,
            })
        };
        let accepted = ActionState::Accepted {
            submission_id: "sub-1".into(),
            message_id: 3,
            warnings: vec![],
        };
        let event = one(
            Some(&action(inventory(), submitted())),
            Some(&action(inventory(), accepted)),
        )
        .expect("an event");
        assert_eq!(event.kind, EventKind::SellerActionAccepted);
        let EventDetail::Action(detail) = &event.detail else {
            panic!()
        };
        assert_eq!(
            (detail.action, detail.sku.as_deref()),
            ("inventory", Some("SKU-1"))
        );
        assert_eq!(detail.code, None);
    }

    fn account(connection: &str, problem: Option<(ProblemKind, i64)>) -> Item {
        let mut item = Item::default();
        for (name, value) in [
            ("pk", "ACCOUNT#acc-1"),
            ("sk", "ACCOUNT"),
            ("kind", "account"),
            ("connection_state", connection),
        ] {
            item.insert(name.into(), serde_dynamo::AttributeValue::S(value.into()));
        }
        if let Some((kind, minutes)) = problem {
            let problem = Problem {
                kind,
                detail: "Unauthorized: Access to requested resource is denied.".into(),
                at: at(minutes),
            };
            item.insert(
                "problem".into(),
                serde_dynamo::to_attribute_value(problem).unwrap(),
            );
        }
        item
    }

    #[test]
    fn an_account_reports_disconnection_and_reconnection_with_the_cause() {
        let connected = account("connected", None);
        let revoked = account("disconnected", Some((ProblemKind::RefreshTokenRevoked, 3)));
        let event = one(Some(&connected), Some(&revoked)).expect("an event");
        assert_eq!(event.kind, EventKind::AccountDisconnected);
        let EventDetail::Account(detail) = &event.detail else {
            panic!()
        };
        assert_eq!(detail.cause, ProblemKind::RefreshTokenRevoked);
        assert_eq!(detail.account_id, ACCOUNT);
        assert!(!event.detail_json().contains("Unauthorized"));
        // Seen again while disconnected: nothing.
        let again = account("disconnected", Some((ProblemKind::RefreshTokenRevoked, 8)));
        assert_eq!(one(Some(&revoked), Some(&again)), None);
        // A passing problem (throttling) keeps the account connected: nothing.
        let throttled = account("connected", Some((ProblemKind::Throttled, 4)));
        assert_eq!(one(Some(&connected), Some(&throttled)), None);
        // Back: reconnected from the cause it had.
        let event = one(Some(&again), Some(&connected)).expect("an event");
        assert_eq!(event.kind, EventKind::AccountReconnected);
        let EventDetail::Account(detail) = &event.detail else {
            panic!()
        };
        assert_eq!(detail.cause, ProblemKind::RefreshTokenRevoked);
        // Created, removed: nothing.
        assert_eq!(one(None, Some(&connected)), None);
        assert_eq!(one(Some(&connected), None), None);
    }

    #[test]
    fn other_items_publish_nothing_and_unreadable_ones_name_their_key_only() {
        let mut job = Item::default();
        job.insert(
            "pk".into(),
            serde_dynamo::AttributeValue::S("ACCOUNT#acc-1".into()),
        );
        job.insert(
            "kind".into(),
            serde_dynamo::AttributeValue::S("report_job".into()),
        );
        assert_eq!(decide(None, Some(&job)).unwrap(), vec![]);
        let mut broken = stored(&order(5));
        broken.insert(
            "order".into(),
            serde_dynamo::AttributeValue::S("Jane Doe, 1 Main St".into()),
        );
        let err = decide(None, Some(&broken)).unwrap_err();
        assert!(err.key.contains("ORDER#114"), "{err}");
        assert!(!err.to_string().contains("Jane"), "{err}");
    }

    /// One event of every case the decision has, from the same images as the table tests above.
    fn every_case() -> Vec<Event> {
        let old = stored(&order(5));
        let mut cancelled = order(9);
        cancelled.status = OrderStatus::Cancelled;
        cancelled.items[0].item_status = Some("Cancelled".into());
        cancelled.items[0].quantity = 0;
        let mut no_marketplace = order(5);
        no_marketplace.marketplace_id = None;
        let inventory = || {
            ActionPayload::Inventory(InventoryUpdate {
                sku: "SKU-1".into(),
                quantity: 4,
                handling_time_days: None,
            })
        };
        let accepted = ActionState::Accepted {
            submission_id: "sub-1".into(),
            message_id: 3,
            warnings: vec!["8560: SKU has no price".into()],
        };
        let rejected = ActionState::Rejected {
            submission_id: "sub-1".into(),
            message_id: 3,
            code: "18028".into(),
            text: "The order id was not found".into(),
        };
        let connected = account("connected", None);
        let denied = account("disconnected", Some((ProblemKind::AccessDenied, 3)));
        let cases: Vec<(Option<Item>, Option<Item>)> = vec![
            (None, Some(old.clone())),
            (None, Some(stored(&no_marketplace))),
            (Some(old.clone()), Some(stored(&cancelled))),
            (None, Some(buyer_item())),
            (Some(buyer_item()), None),
            (None, Some(details_item(&details(6, &["41", "42"])))),
            (
                Some(action(inventory(), submitted())),
                Some(action(inventory(), accepted)),
            ),
            (
                Some(action(inventory(), submitted())),
                Some(action(inventory(), rejected)),
            ),
            (Some(connected.clone()), Some(denied.clone())),
            (Some(denied), Some(connected)),
        ];
        cases
            .iter()
            .flat_map(|(old, new)| decide(old.as_ref(), new.as_ref()).unwrap())
            .collect()
    }

    fn schema(kind: EventKind) -> jsonschema::Validator {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../infra/events")
            .join(format!("{}.json", kind.schema_name()));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The event as EventBridge delivers it to a target.
    fn delivered(event: &Event) -> serde_json::Value {
        serde_json::json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": event.kind.detail_type(),
            "source": crate::domain::events::EVENT_SOURCE,
            "account": "111122223333",
            "time": "2026-11-02T10:00:00Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": serde_json::from_str::<serde_json::Value>(&event.detail_json()).unwrap(),
        })
    }

    #[test]
    fn every_event_the_decision_emits_validates_against_its_schema() {
        let events = every_case();
        let kinds: BTreeSet<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            EventKind::ALL.into_iter().collect(),
            "a kind without a case"
        );
        for event in &events {
            let instance = delivered(event);
            let errors: Vec<String> = schema(event.kind)
                .iter_errors(&instance)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{}: {errors:?}\n{instance:#}", event.kind);
        }
    }

    #[test]
    fn the_schemas_refuse_what_the_contract_leaves_out() {
        let event = every_case().remove(0);
        let validator = schema(event.kind);
        let mut pii = delivered(&event);
        pii["detail"]["buyerName"] = "Jane Doe".into();
        assert!(!validator.is_valid(&pii), "a PII field must not validate");
        let mut other = delivered(&event);
        other["detail-type"] = "Order Changed".into();
        assert!(!validator.is_valid(&other));
        let mut no_id = delivered(&event);
        no_id["detail"].as_object_mut().unwrap().remove("eventId");
        assert!(!validator.is_valid(&no_id));
    }

    fn records(count: usize) -> Vec<ChangeRecord> {
        (0..count)
            .map(|i| {
                let mut o = order(5);
                o.amazon_order_id = format!("114-0000000-{i:07}").into();
                ChangeRecord {
                    sequence_number: format!("{:05}", 100 + i),
                    old: None,
                    new: Some(stored(&o)),
                }
            })
            .collect()
    }

    #[tokio::test]
    async fn a_batch_publishes_in_calls_of_ten_and_reports_the_first_record_not_published() {
        let bus = MemoryEventBus::default();
        let batch = records(25);
        assert_eq!(publish_changes(&batch, &bus).await, None);
        assert_eq!(bus.events().len(), 25);

        // Entries from 13 on refused (`FailedEntryCount` > 0): records from 13 on are retried, none before.
        let failing = FailAt(13, MemoryEventBus::default());
        assert_eq!(publish_changes(&batch, &failing).await.as_deref(), Some("00113"));
        assert_eq!(failing.1.events().len(), 13);

        // One entry refused in the first call: the record it belongs to.
        let bus = MemoryEventBus::default();
        bus.fail_entries.store(1, Ordering::SeqCst);
        assert_eq!(publish_changes(&batch, &bus).await.as_deref(), Some("00100"));

        // A whole call refused: the first record of that call.
        let bus = MemoryEventBus::default();
        bus.fail_calls.store(1, Ordering::SeqCst);
        assert_eq!(publish_changes(&batch, &bus).await.as_deref(), Some("00100"));
        assert!(bus.events().is_empty());

        // An unreadable record: what comes before it is published, it is reported.
        let mut batch = records(4);
        batch[2]
            .new
            .as_mut()
            .unwrap()
            .insert("order".into(), serde_dynamo::AttributeValue::S("?".into()));
        let bus = MemoryEventBus::default();
        assert_eq!(publish_changes(&batch, &bus).await.as_deref(), Some("00102"));
        assert_eq!(bus.events().len(), 2);
    }

    /// A Lambda DynamoDB stream event as the event source mapping sends it.
    fn lambda_event(records: &[ChangeRecord]) -> aws_lambda_events::event::dynamodb::Event {
        let records: Vec<serde_json::Value> = records
            .iter()
            .map(|r| {
                let mut change = serde_json::json!({
                    "ApproximateCreationDateTime": 1_793_613_600.0,
                    "Keys": {"pk": {"S": "ACCOUNT#acc-1"}, "sk": {"S": "ORDER#x"}},
                    "SequenceNumber": r.sequence_number,
                    "SizeBytes": 512,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                });
                if let Some(new) = &r.new {
                    change["NewImage"] = serde_json::to_value(new).unwrap();
                }
                if let Some(old) = &r.old {
                    change["OldImage"] = serde_json::to_value(old).unwrap();
                }
                serde_json::json!({
                    "eventID": format!("e{}", r.sequence_number),
                    "eventName": if r.old.is_none() { "INSERT" } else { "MODIFY" },
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": "eu-west-1",
                    "dynamodb": change,
                    "eventSourceARN": "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/stream/2026-11-02T00:00:00.000",
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
    }

    #[tokio::test]
    async fn the_lambda_handler_reads_stream_images_and_answers_with_the_failed_sequence_number() {
        let batch = records(3);
        let bus = MemoryEventBus::default();
        let response = handle_stream_event(lambda_event(&batch), &bus).await;
        assert!(response.batch_item_failures.is_empty());
        let published = bus.events();
        assert_eq!(published.len(), 3);
        assert_eq!(order_detail(&published[2]).amazon_order_id, "114-0000000-0000002");

        let bus = MemoryEventBus::default();
        bus.fail_calls.store(1, Ordering::SeqCst);
        let response = handle_stream_event(lambda_event(&batch), &bus).await;
        let failed: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(failed, [Some("00100".to_owned())]);
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "00100");
    }

    /// A bus that refuses the event at one position of the whole run and everything after it in that call.
    #[derive(Debug)]
    struct FailAt(usize, MemoryEventBus);

    #[async_trait::async_trait]
    impl EventPublisher for FailAt {
        async fn publish(&self, events: &[Event]) -> Result<Vec<usize>, crate::error::StoreError> {
            let seen = self.1.events().len();
            let mut failed = vec![];
            for (i, event) in events.iter().enumerate() {
                if seen + i >= self.0 {
                    failed.push(i);
                } else {
                    self.1.published.lock().unwrap().push(event.clone());
                }
            }
            Ok(failed)
        }
    }
}
