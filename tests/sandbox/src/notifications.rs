//! The Notifications API v1 (`notifications-api-model/notifications.json`) and Amazon's delivery of what the
//! sellers' subscriptions ask for.
//!
//! - **Destinations** belong to the application: `createDestination`, `getDestinations`, `getDestination` and
//!   `deleteDestination` are grantless, with an LWA `client_credentials` token of the scope
//!   `sellingpartnerapi::notifications` (the model's descriptions; the use-case guide's "Step 2. Create a
//!   destination", and `../shared/reference/NOTES.md`). A second destination for a queue ARN the application
//!   already registered is 409 `Conflict` with the details Amazon sends ("A destination with arn … already exists
//!   for the application …", amzn/selling-partner-api-docs#2072 and #1800); a destination that still has
//!   subscriptions cannot be deleted (#1800: `Unauthorized`, "Destination has subscriptions").
//! - **Subscriptions** belong to a seller and the application: `createSubscription`, `getSubscription` and
//!   `getSubscriptions` take the seller's token; `getSubscriptionById` and `deleteSubscriptionById` are
//!   grantless (the model's descriptions). One subscription per notification type: a second is 409
//!   `StateConflict` "Subscription already exist for notification type …" (amzn/selling-partner-api-docs#3448,
//!   #1564). `ORDER_CHANGE` needs a `processingDirective` with an `eventFilter` of `eventFilterType`
//!   `ORDER_CHANGE` (abuzuhri/Amazon-SP-API-CSharp#621: "the Processing Directive is REQUIRED"), and refuses
//!   `marketplaceIds` in it (amzn/selling-partner-api-models#4135: "EventFilter Payload … failed to validate for
//!   notification type ORDER_CHANGE"); `orderChangeTypes` narrows it to values of the model's
//!   `OrderChangeTypeEnum`. The sandbox's orders change status only, so it sends `OrderStatusChange`.
//! - The sandbox knows the three types sellersync subscribes to and their payload versions (the schemas in
//!   `schemas/notifications`): `ORDER_CHANGE` 1.0, `REPORT_PROCESSING_FINISHED` and `FEED_PROCESSING_FINISHED`
//!   2020-09-04. Any other type is refused 400 as Amazon refuses a type it does not take (#467: "Invalid value …
//!   for path parameter notificationType").
//! - **Delivery**: what a subscription covers after it was made, from the same truth as reports and `getOrder`:
//!   an `ORDER_CHANGE` when a change of an order becomes visible to the API (the order's events), a
//!   `REPORT_PROCESSING_FINISHED` when a report of the seller's reaches DONE, CANCELLED or FATAL, a
//!   `FEED_PROCESSING_FINISHED` when a feed does (the use-case guide's type list). Notifications wait in an
//!   outbox, each with the SQS ARN of its destination, until the local runner (Amazon's delivery) takes them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::consent::APPLICATION_ID;
use super::generator::{Channel, GenOrder, OrderState};
use super::server::ApiError;
use super::state::World;

/// The scope of the grantless token of destinations and of subscriptions by id.
pub const NOTIFICATIONS_SCOPE: &str = "sellingpartnerapi::notifications";

/// The notification types the sandbox delivers, with the payload version each has.
const TYPES: &[(&str, &str)] = &[
    ("ORDER_CHANGE", "1.0"),
    ("REPORT_PROCESSING_FINISHED", "2020-09-04"),
    ("FEED_PROCESSING_FINISHED", "2020-09-04"),
];

/// The order change types of `OrderChangeTypeEnum`.
const ORDER_CHANGE_TYPES: &[&str] = &["BuyerRequestedChange", "DeliveryTipChange", "OrderStatusChange"];

/// A destination: where the application's notifications go.
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    id: String,
    name: String,
    resource: Value,
    /// The SQS queue's ARN (EventBridge destinations are kept but never delivered to).
    sqs_arn: Option<String>,
}

/// One seller's subscription to one notification type.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    id: String,
    seller: String,
    notification_type: String,
    payload_version: String,
    destination_id: String,
    processing_directive: Option<Value>,
    /// `orderChangeTypes` of an `ORDER_CHANGE` filter; `None` takes every type.
    change_types: Option<Vec<String>>,
    /// Events visible to the API after this instant are delivered (the subscription's creation).
    since: DateTime<Utc>,
}

/// One notification on its way to a queue.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) arn: String,
    pub(crate) body: Value,
    /// When the delivery hands it over.
    due: DateTime<Utc>,
}

/// How Amazon's delivery treats notifications: at least once, in no promised order, after a while, and some
/// never (the use case guide promises no more; faults to inject, none by default).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NotificationDelivery {
    /// Each notification is handed over up to this much clock time after it was published (a random part of it).
    pub delay: std::time::Duration,
    /// The share of notifications handed over twice (each copy with its own delay).
    pub duplicated: f64,
    /// The share of notifications never handed over.
    pub lost: f64,
    /// What is due is handed over in random order rather than in the order it was published.
    pub reordered: bool,
}

impl Default for NotificationDelivery {
    fn default() -> Self {
        NotificationDelivery {
            delay: std::time::Duration::ZERO,
            duplicated: 0.0,
            lost: 0.0,
            reordered: false,
        }
    }
}

/// What the delivery did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Notifications made, by type.
    pub made: BTreeMap<String, u64>,
    /// Of those, never handed over.
    pub lost: u64,
    /// Of those, handed over twice.
    pub duplicated: u64,
}

/// Destinations, subscriptions and what is waiting for delivery.
#[derive(Debug, Default)]
pub(crate) struct Notifications {
    destinations: Vec<Destination>,
    subscriptions: Vec<Subscription>,
    /// Up to when each subscription's events were collected.
    collected: BTreeMap<String, DateTime<Utc>>,
    /// Reports and feeds already notified, by subscription.
    finished: BTreeSet<(String, String)>,
    outbox: Vec<Outgoing>,
    /// How they are delivered, with a generator of its own (the world's ids do not depend on the faults).
    pub(crate) delivery: NotificationDelivery,
    rng: Option<rand_chacha::ChaCha8Rng>,
    /// What was made, lost and duplicated so far.
    pub(crate) stats: DeliveryStats,
}

impl Notifications {
    /// No destinations or subscriptions yet; notifications delivered as `delivery` says.
    pub(crate) fn new(delivery: NotificationDelivery, seed: u64) -> Notifications {
        use rand::SeedableRng;
        Notifications {
            delivery,
            rng: Some(rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x6e6f_7469_6679)),
            ..Notifications::default()
        }
    }

    fn draw(&mut self) -> f64 {
        use rand::{Rng, SeedableRng};
        self.rng
            .get_or_insert_with(|| rand_chacha::ChaCha8Rng::seed_from_u64(0))
            .random::<f64>()
    }

    /// Queues `body` for delivery as the delivery settings say: maybe lost, maybe twice, each copy after its
    /// own delay.
    fn send(&mut self, arn: &str, body: Value, published: DateTime<Utc>) {
        if self.draw() < self.delivery.lost {
            self.stats.lost += 1;
            return;
        }
        let copies = if self.draw() < self.delivery.duplicated {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = self.delivery.delay.mul_f64(self.draw());
            self.outbox.push(Outgoing {
                arn: arn.to_owned(),
                body: body.clone(),
                due: published + super::state::delta(delay),
            });
        }
    }
}

fn invalid(details: impl Into<String>) -> ApiError {
    ApiError::new(
        400,
        "InvalidInput",
        "Request has missing or invalid parameters and cannot be parsed.",
    )
    .details(details)
}

fn not_found(details: impl Into<String>) -> ApiError {
    ApiError::new(404, "NotFound", "The resource specified does not exist.").details(details)
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn payload_version(notification_type: &str) -> Result<&'static str, ApiError> {
    TYPES
        .iter()
        .find(|(t, _)| *t == notification_type)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            invalid(format!(
                "Invalid value \"{notification_type}\" for path parameter notificationType"
            ))
        })
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid("The request body is not a JSON object.")),
    }
}

fn destination_json(d: &Destination) -> Value {
    json!({ "name": d.name, "destinationId": d.id, "resource": d.resource })
}

fn subscription_json(s: &Subscription) -> Value {
    let mut out = json!({
        "subscriptionId": s.id,
        "payloadVersion": s.payload_version,
        "destinationId": s.destination_id,
    });
    if let Some(directive) = &s.processing_directive {
        out["processingDirective"] = directive.clone();
    }
    out
}

/// `createDestination`: an SQS destination (the ARN as the model's pattern has it) or an EventBridge one.
pub(crate) fn create_destination(world: &mut World, body: &[u8]) -> Result<Value, ApiError> {
    let body = body_object(body)?;
    let name = match body.get("name") {
        Some(Value::String(name)) if !name.is_empty() && name.chars().count() <= 256 => name.clone(),
        _ => return Err(invalid("name is required (at most 256 characters).")),
    };
    let spec = body
        .get("resourceSpecification")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("resourceSpecification is required."))?;
    let (resource, sqs_arn) = match (spec.get("sqs"), spec.get("eventBridge")) {
        (Some(sqs), None) => {
            let arn = sqs.get("arn").and_then(Value::as_str).unwrap_or_default();
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            let valid = arn.len() <= 1000
                && parts.len() == 6
                && parts[..3] == ["arn", "aws", "sqs"]
                && parts[3..]
                    .iter()
                    .all(|p| !p.is_empty() && !p.contains(char::is_whitespace));
            if !valid {
                return Err(invalid(format!("Invalid SQS ARN: {arn}")));
            }
            (json!({ "sqs": { "arn": arn } }), Some(arn.to_owned()))
        }
        (None, Some(bridge)) => {
            let field = |k: &str| bridge.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
            let (Some(region), Some(account)) = (field("region"), field("accountId")) else {
                return Err(invalid("eventBridge needs region and accountId."));
            };
            let source = format!("aws.partner/sellingpartnerapi.amazon.com/{account}/{name}");
            (
                json!({ "eventBridge": { "name": source, "region": region, "accountId": account } }),
                None,
            )
        }
        _ => {
            return Err(invalid(
                "resourceSpecification needs exactly one of sqs and eventBridge.",
            ));
        }
    };
    if let Some(arn) = &sqs_arn
        && world
            .notifications
            .destinations
            .iter()
            .any(|d| d.sqs_arn.as_ref() == Some(arn))
    {
        return Err(ApiError::new(
            409,
            "Conflict",
            "The requested resource conflict with a resource in the server.",
        )
        .details(format!(
            "A destination with arn {arn} already exists for the application {APPLICATION_ID}"
        )));
    }
    let destination = Destination {
        id: world.uuid().to_string(),
        name,
        resource,
        sqs_arn,
    };
    let out = destination_json(&destination);
    world.notifications.destinations.push(destination);
    Ok(json!({ "payload": out }))
}

/// `getDestinations`.
pub(crate) fn get_destinations(world: &World) -> Value {
    let list: Vec<Value> = world
        .notifications
        .destinations
        .iter()
        .map(destination_json)
        .collect();
    json!({ "payload": list })
}

/// `getDestination`.
pub(crate) fn get_destination(world: &World, id: &str) -> Result<Value, ApiError> {
    world
        .notifications
        .destinations
        .iter()
        .find(|d| d.id == id)
        .map(|d| json!({ "payload": destination_json(d) }))
        .ok_or_else(|| not_found(format!("Destination {id} does not exist.")))
}

/// `deleteDestination`: only a destination no subscription uses.
pub(crate) fn delete_destination(world: &mut World, id: &str) -> Result<Value, ApiError> {
    let n = &mut world.notifications;
    let Some(index) = n.destinations.iter().position(|d| d.id == id) else {
        return Err(not_found(format!("Destination {id} does not exist.")));
    };
    if n.subscriptions.iter().any(|s| s.destination_id == id) {
        return Err(
            ApiError::new(403, "Unauthorized", "The requested action is forbidden.")
                .details("Destination has subscriptions"),
        );
    }
    n.destinations.remove(index);
    Ok(json!({}))
}

/// The `orderChangeTypes` of an `ORDER_CHANGE` subscription's directive, checked as Amazon checks it.
fn order_change_filter(directive: Option<&Value>) -> Result<Option<Vec<String>>, ApiError> {
    let refused = |payload: &Value| {
        invalid(format!(
            "EventFilter Payload {payload} failed to validate for notification type ORDER_CHANGE"
        ))
    };
    let Some(filter) = directive.and_then(|d| d.get("eventFilter")) else {
        return Err(invalid(
            "processingDirective with an eventFilter is required for ORDER_CHANGE.",
        ));
    };
    let Some(fields) = filter.as_object() else {
        return Err(refused(filter));
    };
    if fields.get("eventFilterType").and_then(Value::as_str) != Some("ORDER_CHANGE")
        || fields
            .keys()
            .any(|k| k != "eventFilterType" && k != "orderChangeTypes")
    {
        return Err(refused(filter));
    }
    let Some(types) = fields.get("orderChangeTypes") else {
        return Ok(None);
    };
    let types: Vec<String> = match types.as_array() {
        Some(list) if !list.is_empty() => list
            .iter()
            .map(|t| {
                t.as_str()
                    .filter(|t| ORDER_CHANGE_TYPES.contains(t))
                    .map(str::to_owned)
            })
            .collect::<Option<_>>()
            .ok_or_else(|| refused(filter))?,
        _ => return Err(refused(filter)),
    };
    Ok(Some(types))
}

/// `createSubscription` for the calling seller.
pub(crate) fn create_subscription(
    world: &mut World,
    caller: &Caller,
    notification_type: &str,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let version = payload_version(notification_type)?;
    let body = body_object(body)?;
    let Some(destination_id) = body.get("destinationId").and_then(Value::as_str) else {
        return Err(invalid("destinationId is required."));
    };
    match body.get("payloadVersion").and_then(Value::as_str) {
        Some(v) if v == version => {}
        Some(v) => {
            return Err(invalid(format!(
                "Invalid payloadVersion {v} for notification type {notification_type}"
            )));
        }
        None => return Err(invalid("payloadVersion is required.")),
    }
    let directive = body.get("processingDirective").cloned();
    let change_types = if notification_type == "ORDER_CHANGE" {
        order_change_filter(directive.as_ref())?
    } else if directive.is_some() {
        return Err(invalid(format!(
            "processingDirective is not supported for notification type {notification_type}"
        )));
    } else {
        None
    };
    if !world
        .notifications
        .destinations
        .iter()
        .any(|d| d.id == destination_id)
    {
        return Err(not_found(format!("Destination {destination_id} does not exist.")));
    }
    if world
        .notifications
        .subscriptions
        .iter()
        .any(|s| s.seller == caller.seller && s.notification_type == notification_type)
    {
        return Err(ApiError::new(
            409,
            "StateConflict",
            "The resource specified conflicts with the current state.",
        )
        .details(format!(
            "Subscription already exist for notification type {notification_type}"
        )));
    }
    let subscription = Subscription {
        id: world.uuid().to_string(),
        seller: caller.seller.clone(),
        notification_type: notification_type.to_owned(),
        payload_version: version.to_owned(),
        destination_id: destination_id.to_owned(),
        processing_directive: directive,
        change_types,
        since: now,
    };
    let out = subscription_json(&subscription);
    world.notifications.collected.insert(subscription.id.clone(), now);
    world.notifications.subscriptions.push(subscription);
    Ok(json!({ "payload": out }))
}

/// `getSubscription`: the calling seller's subscription to the type.
pub(crate) fn get_subscription(
    world: &World,
    caller: &Caller,
    notification_type: &str,
) -> Result<Value, ApiError> {
    payload_version(notification_type)?;
    world
        .notifications
        .subscriptions
        .iter()
        .find(|s| s.seller == caller.seller && s.notification_type == notification_type)
        .map(|s| json!({ "payload": subscription_json(s) }))
        .ok_or_else(|| {
            not_found(format!(
                "No subscription for notification type {notification_type}."
            ))
        })
}

/// `getSubscriptions`: the calling seller's subscriptions of the listed types (`notificationTypes`, required).
pub(crate) fn get_subscriptions(
    world: &World,
    caller: &Caller,
    pairs: &[(String, String)],
) -> Result<Value, ApiError> {
    let types: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "notificationTypes")
        .flat_map(|(_, v)| v.split(','))
        .filter(|t| !t.is_empty())
        .collect();
    if types.is_empty() {
        return Err(invalid("notificationTypes is required."));
    }
    let list: Vec<Value> = world
        .notifications
        .subscriptions
        .iter()
        .filter(|s| s.seller == caller.seller && types.contains(&s.notification_type.as_str()))
        .map(|s| {
            let mut entry = subscription_json(s);
            entry["notificationType"] = json!(s.notification_type);
            entry
        })
        .collect();
    Ok(json!({ "payload": { "subscriptions": list } }))
}

fn find_by_id(n: &Notifications, notification_type: &str, id: &str) -> Result<usize, ApiError> {
    n.subscriptions
        .iter()
        .position(|s| s.id == id && s.notification_type == notification_type)
        .ok_or_else(|| not_found(format!("Subscription {id} does not exist.")))
}

/// `getSubscriptionById` (grantless).
pub(crate) fn get_subscription_by_id(
    world: &World,
    notification_type: &str,
    id: &str,
) -> Result<Value, ApiError> {
    let index = find_by_id(&world.notifications, notification_type, id)?;
    Ok(json!({ "payload": subscription_json(&world.notifications.subscriptions[index]) }))
}

/// `deleteSubscriptionById` (grantless): notifications stop for it.
pub(crate) fn delete_subscription_by_id(
    world: &mut World,
    notification_type: &str,
    id: &str,
) -> Result<Value, ApiError> {
    let index = find_by_id(&world.notifications, notification_type, id)?;
    let removed = world.notifications.subscriptions.remove(index);
    world.notifications.collected.remove(&removed.id);
    Ok(json!({}))
}

/// The envelope every notification shares; `pascal` for the `ORDER_CHANGE` schema's spelling.
fn envelope(
    world: &mut World,
    subscription: &Subscription,
    event_time: DateTime<Utc>,
    publish: DateTime<Utc>,
    payload: Value,
) -> Value {
    let notification_id = world.uuid().to_string();
    if subscription.notification_type == "ORDER_CHANGE" {
        json!({
            "NotificationVersion": "1.0",
            "NotificationType": subscription.notification_type,
            "PayloadVersion": subscription.payload_version,
            "EventTime": stamp(event_time),
            "Payload": payload,
            "NotificationMetadata": {
                "ApplicationId": APPLICATION_ID,
                "SubscriptionId": subscription.id,
                "PublishTime": stamp(publish),
                "NotificationId": notification_id,
            }
        })
    } else {
        json!({
            "notificationVersion": "2020-09-04",
            "notificationType": subscription.notification_type,
            "payloadVersion": subscription.payload_version,
            "eventTime": stamp(event_time),
            "payload": payload,
            "notificationMetadata": {
                "applicationId": APPLICATION_ID,
                "subscriptionId": subscription.id,
                "publishTime": stamp(publish),
                "notificationId": notification_id,
            }
        })
    }
}

/// The `OrderChangeNotification` of `order` as the API shows it after its event at `at`, in the schema's shape
/// (`OrderChangeNotification.json`: `Summary.OrderStatus` spells `Canceled` and `PartiallyShipped` as Orders v0
/// does; `OrderItemStatus` is only `Unshipped` or `Shipped`).
fn order_change(seller: &str, order: &GenOrder, state: OrderState, at: DateTime<Utc>) -> Value {
    let shipped: Vec<u32> = order
        .items
        .iter()
        .map(|item| match state {
            OrderState::Shipped => item.quantity,
            OrderState::Unshipped => order.shipped_units(&item.order_item_id, at).min(item.quantity),
            OrderState::Pending | OrderState::Cancelled => 0,
        })
        .collect();
    let status = match state {
        OrderState::Pending => "Pending",
        OrderState::Unshipped if shipped.iter().any(|n| *n > 0) => "PartiallyShipped",
        OrderState::Unshipped => "Unshipped",
        OrderState::Shipped => "Shipped",
        OrderState::Cancelled => "Canceled",
    };
    let open = |i: usize| {
        if state == OrderState::Cancelled {
            0
        } else {
            order.items[i].quantity - shipped[i]
        }
    };
    let items: Vec<Value> = order
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut entry = json!({
                "OrderItemId": item.order_item_id,
                "SellerSKU": item.sku,
                "SupplySourceId": null,
                "Quantity": item.quantity,
                "QuantityShipped": shipped[i],
            });
            if status == "PartiallyShipped" {
                entry["OrderItemStatus"] = json!(if open(i) == 0 { "Shipped" } else { "Unshipped" });
            }
            entry
        })
        .collect();
    let postal_code = (order.channel == Channel::Mfn).then(|| order.address.postal_code.clone());
    json!({
        "OrderChangeNotification": {
            "NotificationLevel": "OrderLevel",
            "SellerId": seller,
            "AmazonOrderId": order.amazon_order_id,
            "OrderChangeType": "OrderStatusChange",
            "OrderChangeTrigger": {
                "TimeOfOrderChange": stamp(at),
                "ChangeReason": "Order status changed",
            },
            "Summary": {
                "MarketplaceId": order.marketplace.id,
                "OrderStatus": status,
                "PurchaseDate": stamp(order.purchase_date),
                "DestinationPostalCode": postal_code,
                "FulfillmentType": if order.channel == Channel::Afn { "AFN" } else { "MFN" },
                "OrderType": "StandardOrder",
                "NumberOfItemsShipped": shipped.iter().sum::<u32>(),
                "NumberOfItemsUnshipped": (0..order.items.len()).map(open).sum::<u32>(),
                "OrderItems": items,
            }
        }
    })
}

/// The seller's subscriptions as `(notification type, subscription id, the destination's SQS ARN)`.
pub(crate) fn of_seller(world: &World, seller: &str) -> Vec<(String, String, Option<String>)> {
    let n = &world.notifications;
    n.subscriptions
        .iter()
        .filter(|s| s.seller == seller)
        .map(|s| {
            let arn = n
                .destinations
                .iter()
                .find(|d| d.id == s.destination_id)
                .and_then(|d| d.sqs_arn.clone());
            (s.notification_type.clone(), s.id.clone(), arn)
        })
        .collect()
}

/// Everything the subscriptions cover up to `now` goes to the outbox; what of it is due is handed over.
pub(crate) fn take(world: &mut World, now: DateTime<Utc>) -> Vec<Outgoing> {
    collect(world, now);
    let n = &mut world.notifications;
    let (mut due, waiting): (Vec<Outgoing>, Vec<Outgoing>) = n.outbox.drain(..).partition(|o| o.due <= now);
    n.outbox = waiting;
    if n.delivery.reordered {
        // A random key per notification, drawn from the delivery's own generator.
        let mut keyed: Vec<(f64, Outgoing)> = due.into_iter().map(|o| (n.draw(), o)).collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        due = keyed.into_iter().map(|(_, o)| o).collect();
    } else {
        due.sort_by_key(|o| o.due);
    }
    due
}

fn collect(world: &mut World, now: DateTime<Utc>) {
    let subscriptions = world.notifications.subscriptions.clone();
    for subscription in subscriptions {
        let Some(arn) = world
            .notifications
            .destinations
            .iter()
            .find(|d| d.id == subscription.destination_id)
            .and_then(|d| d.sqs_arn.clone())
        else {
            continue;
        };
        let made: Vec<(DateTime<Utc>, DateTime<Utc>, Value)> = match subscription.notification_type.as_str() {
            "ORDER_CHANGE" => order_changes(world, &subscription, now),
            "REPORT_PROCESSING_FINISHED" => finished(world, &subscription, now, Job::Report),
            "FEED_PROCESSING_FINISHED" => finished(world, &subscription, now, Job::Feed),
            _ => Vec::new(),
        };
        world.notifications.collected.insert(subscription.id.clone(), now);
        for (event_time, publish, payload) in made {
            let body = envelope(world, &subscription, event_time, publish, payload);
            *world
                .notifications
                .stats
                .made
                .entry(subscription.notification_type.clone())
                .or_default() += 1;
            world.notifications.send(&arn, body, publish);
        }
    }
}

/// `(event time, publish time, payload)` of each order change that became visible since the last collection: when
/// the API starts showing it (the order's latest event visible by then), so a consumer's `getOrder` sees it.
fn order_changes(
    world: &World,
    subscription: &Subscription,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, Value)> {
    if subscription
        .change_types
        .as_ref()
        .is_some_and(|types| !types.iter().any(|t| t == "OrderStatusChange"))
    {
        return Vec::new();
    }
    let from = world.notifications.collected[&subscription.id].max(subscription.since);
    let Some(seller) = world.sellers.get(&subscription.seller) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for order in &seller.generated.orders {
        for event in &order.events {
            // A change the API never shows (a later one became visible first) is never announced.
            let shown = order.api_visible_at(event);
            let overtaken = order
                .events
                .iter()
                .any(|e| e.at > event.at && order.api_visible_at(e) <= shown);
            if shown > from && shown <= now && !overtaken {
                let payload = order_change(&subscription.seller, order, event.state, event.at);
                out.push((event.at, shown, payload));
            }
        }
    }
    out.sort_by_key(|(_, publish, _)| *publish);
    out
}

/// A report or a feed: the two processing-finished notifications differ only in names.
#[derive(Debug, Clone, Copy)]
enum Job {
    Report,
    Feed,
}

/// `(event time, publish time, payload)` of each of the seller's reports or feeds that ended since it
/// subscribed and was not notified yet.
fn finished(
    world: &mut World,
    subscription: &Subscription,
    now: DateTime<Utc>,
    job: Job,
) -> Vec<(DateTime<Utc>, DateTime<Utc>, Value)> {
    if matches!(job, Job::Feed) {
        // Feeds take effect when their processing ends.
        super::feeds::settle_due(world, now);
    }
    // The seller's jobs made since it subscribed and not notified yet: (id, type).
    let wanted = |id: &str, seller: &str, created: DateTime<Utc>| {
        seller == subscription.seller
            && created >= subscription.since
            && !world
                .notifications
                .finished
                .contains(&(subscription.id.clone(), id.to_owned()))
    };
    let candidates: Vec<(String, String)> = match job {
        Job::Report => world
            .reports
            .jobs
            .values()
            .filter(|j| wanted(&j.id, &j.seller, j.created))
            .map(|j| (j.id.clone(), j.report_type.clone()))
            .collect(),
        Job::Feed => world
            .feeds
            .jobs
            .values()
            .filter(|j| wanted(&j.id, &j.seller, j.created))
            .map(|j| (j.id.clone(), j.feed_type.clone()))
            .collect(),
    };
    let (id_key, type_key, document_key, wrapper) = match job {
        Job::Report => (
            "reportId",
            "reportType",
            "reportDocumentId",
            "reportProcessingFinishedNotification",
        ),
        Job::Feed => (
            "feedId",
            "feedType",
            "resultFeedDocumentId",
            "feedProcessingFinishedNotification",
        ),
    };
    let mut out = Vec::new();
    let seller = &subscription.seller;
    for (id, kind) in candidates {
        let key = (subscription.id.clone(), id.clone());
        let ended = match job {
            Job::Report => super::reports::terminal(world, &id, now),
            Job::Feed => super::feeds::terminal(world, &id, now),
        };
        let Some((status, ended, document_id)) = ended else {
            continue;
        };
        let mut payload = json!({
            "sellerId": seller,
            "accountId": format!("amzn1.merchant.o.{seller}"),
            id_key: id,
            type_key: kind,
            "processingStatus": status,
        });
        if let Some(document_id) = document_id {
            payload[document_key] = json!(document_id);
        }
        world.notifications.finished.insert(key);
        out.push((ended, ended, json!({ wrapper: payload })));
    }
    out
}
