//! The submitter's decisions, without I/O: which groups of queued actions are due, how actions become feed
//! documents (SKU updates coalesced to the latest, documents split within Amazon's limits), and how many units
//! of an order are left to ship or cancel.

use chrono::{DateTime, Utc};

use super::FeedSettings;
use crate::domain::ShippedItems;
use crate::domain::{ActionPayload, ActionState, FeedAction, Order, QueuedGroup, SubmittedMessage};
use crate::error::FeedError;
use crate::feeds::{
    FeedDocument, FeedType, inventory_feeds, order_acknowledgement_feeds, order_fulfillment_feeds,
};

/// The groups whose oldest action has waited its feed type's batching window at `now`.
pub fn due_groups<'a>(
    groups: &'a [QueuedGroup],
    now: DateTime<Utc>,
    settings: &FeedSettings,
) -> Vec<&'a QueuedGroup> {
    groups
        .iter()
        .filter(|g| now - g.oldest >= settings.window_of(g.feed_type))
        .collect()
}

/// `actions` by the one marketplace whose feed carries each (Amazon takes one per feed), each group in the
/// actions' order; an action without a marketplace goes with `default`. The group that has waited longest
/// (its oldest action) comes first, ties in marketplace order: when `createFeed` tokens are scarce, they go
/// round the marketplaces instead of always to the same one while the others wait.
pub fn by_marketplace(actions: &[FeedAction], default: &str) -> Vec<(String, Vec<FeedAction>)> {
    let mut groups: std::collections::BTreeMap<&str, Vec<FeedAction>> = std::collections::BTreeMap::new();
    for action in actions {
        let marketplace = action.marketplace_id.as_deref().unwrap_or(default);
        groups.entry(marketplace).or_default().push(action.clone());
    }
    let mut groups: Vec<(String, Vec<FeedAction>)> = groups
        .into_iter()
        .map(|(marketplace, actions)| (marketplace.to_owned(), actions))
        .collect();
    // Stable: equal waits keep marketplace order.
    groups.sort_by_key(|(_, actions)| actions.iter().map(|a| a.created_at).min());
    groups
}

/// A document to submit and, per message, the keys of the actions it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDocument {
    /// The document.
    pub document: FeedDocument,
    /// Its messages' actions.
    pub messages: Vec<SubmittedMessage>,
}

/// The documents that carry `actions` (all of `feed_type`) for the seller `seller_id`. Repeated updates of
/// one SKU become one message (the latest quantity), which all of them share.
pub fn documents(
    feed_type: FeedType,
    seller_id: &str,
    actions: &[FeedAction],
    settings: &FeedSettings,
) -> Result<Vec<PlannedDocument>, FeedError> {
    let built = match feed_type {
        FeedType::OrderFulfillment => {
            let payloads: Vec<_> = actions
                .iter()
                .filter_map(|a| match &a.payload {
                    ActionPayload::Shipment(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            order_fulfillment_feeds(seller_id, &payloads, &settings.limits)?
        }
        FeedType::OrderAcknowledgement => {
            let payloads: Vec<_> = actions
                .iter()
                .filter_map(|a| match &a.payload {
                    ActionPayload::Cancellation(c) => Some(c.clone()),
                    _ => None,
                })
                .collect();
            order_acknowledgement_feeds(seller_id, &payloads, &settings.limits)?
        }
        FeedType::JsonListings => {
            let payloads: Vec<_> = actions
                .iter()
                .filter_map(|a| match &a.payload {
                    ActionPayload::Inventory(u) => Some(u.clone()),
                    _ => None,
                })
                .collect();
            inventory_feeds(seller_id, &settings.issue_locale, &payloads, &settings.limits)?
        }
    };
    // The builders index into the payloads, which are `actions` filtered to the type: the same order.
    let of_type: Vec<&FeedAction> = actions.iter().filter(|a| a.feed_type() == feed_type).collect();
    Ok(built
        .into_iter()
        .map(|document| {
            let messages = document
                .messages
                .iter()
                .map(|m| SubmittedMessage {
                    message_id: m.message_id,
                    actions: m.inputs.iter().map(|&i| of_type[i].key()).collect(),
                })
                .collect();
            PlannedDocument { document, messages }
        })
        .collect())
}

/// Units of `order` not yet shipped, cancelled, or queued to be, given the order's earlier `actions`.
///
/// Stored orders carry no order-item ids, so this counts the order's units as a whole: an action for every
/// unit takes all that is left; a cancelled line whose quantity is not given counts as one unit. Quantities
/// come from reports and requests, so they are added up in 64 bits, where no list of 32-bit numbers shorter
/// than four billion entries can overflow.
pub fn units_left(order: &Order, actions: &[FeedAction]) -> u64 {
    if order.status.as_str() == "Shipped" || order.status.as_str() == "Cancelled" {
        return 0;
    }
    let mut left = ordered_units(order);
    for action in actions {
        if matches!(action.state, ActionState::Rejected { .. }) {
            continue;
        }
        let taken = match &action.payload {
            ActionPayload::Shipment(s) => match &s.items {
                ShippedItems::All => left,
                ShippedItems::Some(items) => total(items.iter().map(|i| i.quantity)),
            },
            ActionPayload::Cancellation(c) if c.items.is_empty() => left,
            ActionPayload::Cancellation(c) => total(c.items.iter().map(|i| i.quantity.unwrap_or(1))),
            ActionPayload::Inventory(_) => 0,
        };
        left = left.saturating_sub(taken);
    }
    left
}

/// Every unit the order holds, as its report gave them.
pub fn ordered_units(order: &Order) -> u64 {
    total(order.items.iter().map(|i| i.quantity))
}

/// The sum of 32-bit quantities, in 64 bits (saturating, though no real list comes near).
pub fn total(quantities: impl Iterator<Item = u32>) -> u64 {
    quantities.fold(0u64, |sum, q| sum.saturating_add(u64::from(q)))
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::domain::{
        CancelReason, Cancellation, Carrier, InventoryUpdate, ItemQuantity, ShipmentConfirmation,
    };
    use crate::domain::{FulfillmentChannel, OrderItem, OrderStatus};
    use crate::feeds::FeedLimits;

    fn at(minutes: i64) -> DateTime<Utc> {
        "2026-03-09T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(minutes)
    }

    fn action(id: &str, payload: ActionPayload, minutes: i64) -> FeedAction {
        FeedAction {
            id: id.into(),
            account_id: "acc".into(),
            payload,
            marketplace_id: None,
            created_at: at(minutes),
            state: ActionState::Queued,
            attempts: 0,
            submitted_at: None,
        }
    }

    fn shipment(order: &str, items: ShippedItems) -> ActionPayload {
        ActionPayload::Shipment(ShipmentConfirmation {
            amazon_order_id: order.into(),
            carrier: Carrier::from_name("UPS"),
            shipping_method: None,
            tracking_number: Some("1Z999".into()),
            ship_date: at(0),
            items,
            ship_from: None,
        })
    }

    fn stock(sku: &str, quantity: u32) -> ActionPayload {
        ActionPayload::Inventory(InventoryUpdate {
            sku: sku.into(),
            quantity,
            handling_time_days: None,
        })
    }

    /// An unshipped merchant-fulfilled order with a line of each quantity.
    fn unshipped(quantities: &[u32]) -> Order {
        let line = |quantity: u32| OrderItem {
            sku: "MUG".into(),
            asin: Default::default(),
            product_name: Default::default(),
            item_status: None,
            quantity,
            amounts: Default::default(),
            promotion_ids: vec![],
        };
        Order {
            amazon_order_id: "114-0000001-1234567".into(),
            merchant_order_id: None,
            purchase_date: at(0),
            last_updated: at(0),
            status: OrderStatus::Unshipped,
            fulfillment_channel: FulfillmentChannel::Mfn,
            sales_channel: "Amazon.com".into(),
            marketplace_id: None,
            ship_service_level: None,
            ship_to: Default::default(),
            is_business_order: false,
            purchase_order_number: None,
            items: quantities.iter().copied().map(line).collect(),
        }
    }

    #[test]
    fn a_group_is_due_once_its_oldest_action_waited_its_types_window() {
        let settings = FeedSettings::new(TimeDelta::minutes(3), TimeDelta::minutes(5));
        let group = |feed_type, minutes| QueuedGroup {
            account_id: "acc".into(),
            feed_type,
            oldest: at(minutes),
        };
        let groups = [
            group(FeedType::OrderFulfillment, 0),
            group(FeedType::OrderAcknowledgement, 0),
            group(FeedType::JsonListings, 2),
        ];
        let due: Vec<FeedType> = due_groups(&groups, at(3), &settings)
            .into_iter()
            .map(|g| g.feed_type)
            .collect();
        assert_eq!(due, [FeedType::OrderFulfillment]);
        assert_eq!(due_groups(&groups, at(5), &settings).len(), 3);
        assert!(due_groups(&groups, at(2), &settings).is_empty());
    }

    #[test]
    fn repeated_sku_updates_are_one_message_shared_by_every_action() {
        let actions = [
            action("a", stock("MUG", 1), 0),
            action("b", stock("CUP", 4), 1),
            action("c", stock("MUG", 7), 2),
        ];
        let settings = FeedSettings::new(TimeDelta::zero(), TimeDelta::zero());
        let docs = documents(FeedType::JsonListings, "SELLER", &actions, &settings).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(
            docs[0].messages,
            [
                SubmittedMessage {
                    message_id: 1,
                    actions: vec!["SKU#a".into(), "SKU#c".into()]
                },
                SubmittedMessage {
                    message_id: 2,
                    actions: vec!["SKU#b".into()]
                },
            ]
        );
        let body = String::from_utf8(docs[0].document.body.clone()).unwrap();
        assert!(
            body.contains("\"quantity\":7") && !body.contains("\"quantity\":1"),
            "{body}"
        );
    }

    #[test]
    fn actions_go_to_their_marketplaces_feeds_and_unplaced_ones_to_the_default() {
        let placed = |id: &str, marketplace: Option<&str>| FeedAction {
            marketplace_id: marketplace.map(str::to_owned),
            ..action(id, stock(id, 1), 0)
        };
        let actions = [
            placed("a", Some("A1PA6795UKMFR9")),
            placed("b", Some("A13V1IB3VIYZZH")),
            placed("c", None),
            placed("d", Some("A1PA6795UKMFR9")),
        ];
        let groups: Vec<(String, Vec<String>)> = by_marketplace(&actions, "A1RKKUPIHCS9HS")
            .into_iter()
            .map(|(m, actions)| (m, actions.into_iter().map(|a| a.id).collect()))
            .collect();
        assert_eq!(
            groups,
            [
                ("A13V1IB3VIYZZH".to_owned(), vec!["b".to_owned()]),
                ("A1PA6795UKMFR9".to_owned(), vec!["a".to_owned(), "d".to_owned()]),
                ("A1RKKUPIHCS9HS".to_owned(), vec!["c".to_owned()]),
            ]
        );
    }

    #[test]
    fn the_marketplace_that_has_waited_longest_goes_first() {
        let placed = |id: &str, marketplace: &str, minutes: i64| FeedAction {
            marketplace_id: Some(marketplace.to_owned()),
            ..action(id, stock(id, 1), minutes)
        };
        // MX sorts first by id, but US has waited since minute 1 and CA since minute 2.
        let actions = [
            placed("mx", "A1AM78C64UM0Y8", 9),
            placed("us", "ATVPDKIKX0DER", 1),
            placed("ca", "A2EUQ1WTGCTBG2", 2),
            placed("mx-2", "A1AM78C64UM0Y8", 3),
        ];
        let order: Vec<String> = by_marketplace(&actions, "ATVPDKIKX0DER")
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        assert_eq!(order, ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"]);
    }

    #[test]
    fn documents_split_beyond_the_message_limit_and_keep_each_actions_message() {
        let actions: Vec<FeedAction> = (0..5)
            .map(|i| {
                action(
                    &format!("x{i}"),
                    shipment(&format!("114-000000{i}-1234567"), ShippedItems::All),
                    i,
                )
            })
            .collect();
        let mut settings = FeedSettings::new(TimeDelta::zero(), TimeDelta::zero());
        settings.limits = FeedLimits {
            max_messages: 2,
            max_bytes: 10 * 1024 * 1024,
        };
        let docs = documents(FeedType::OrderFulfillment, "SELLER", &actions, &settings).unwrap();
        assert_eq!(docs.len(), 3);
        let carried: Vec<(u32, String)> = docs
            .iter()
            .flat_map(|d| d.messages.iter().map(|m| (m.message_id, m.actions[0].clone())))
            .collect();
        assert_eq!(carried[2], (1, "ORDER#114-0000002-1234567#x2".to_owned()));
        assert_eq!(carried.len(), 5);
    }

    #[test]
    fn units_left_count_earlier_shipments_and_cancellations_but_not_rejected_ones() {
        let order = unshipped(&[5]);
        let id = &order.amazon_order_id;
        let two = shipment(
            id,
            ShippedItems::Some(vec![ItemQuantity {
                order_item_id: "12345678901234".into(),
                quantity: 2,
            }]),
        );
        assert_eq!(units_left(&order, &[]), 5);
        assert_eq!(units_left(&order, &[action("a", two.clone(), 0)]), 3);
        let mut rejected = action("b", two, 0);
        rejected.state = ActionState::Rejected {
            submission_id: "s".into(),
            message_id: 1,
            code: "18028".into(),
            text: "no".into(),
        };
        assert_eq!(units_left(&order, &[rejected]), 5);
        let cancel = ActionPayload::Cancellation(Cancellation {
            amazon_order_id: id.to_string(),
            reason: CancelReason::NoInventory,
            items: vec![],
        });
        assert_eq!(units_left(&order, &[action("c", cancel, 0)]), 0);
        assert_eq!(
            units_left(&order, &[action("d", shipment(id, ShippedItems::All), 0)]),
            0
        );
        let shipped = Order {
            status: OrderStatus::Shipped,
            ..order
        };
        assert_eq!(units_left(&shipped, &[]), 0);
    }

    #[test]
    fn units_left_never_overflow_whatever_a_report_or_a_request_says() {
        let mut order = unshipped(&[u32::MAX, 2]);
        let id = order.amazon_order_id.to_string();
        let huge = shipment(
            &id,
            ShippedItems::Some(vec![
                ItemQuantity {
                    order_item_id: "12345678901234".into(),
                    quantity: u32::MAX,
                },
                ItemQuantity {
                    order_item_id: "12345678901235".into(),
                    quantity: u32::MAX,
                },
            ]),
        );
        assert_eq!(units_left(&order, &[]), u64::from(u32::MAX) + 2);
        assert_eq!(units_left(&order, &[action("a", huge, 0)]), 0);
        order.items = unshipped(&[3]).items;
        assert_eq!(units_left(&order, &[]), 3);
    }
}
