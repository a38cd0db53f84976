//! What a merchant-fulfilled order needs to be shipped from, as the Orders API (`getOrder`) gives it: items with
//! their order item ids and quantities shipped and left, the ship-by and deliver-by promises, programs, gift
//! wrap and buyer cancellation requests. Buyer PII of the same answer is kept apart in [`OrderPii`], stored
//! encrypted with a TTL and never logged.
//!
//! One version rule holds for both sources: Amazon's last-updated date. The order a report row stored and the
//! details `getOrder` gave are ordered by it, so neither overwrites the other backwards, and a re-read of the
//! same version writes nothing ([`decide_details`]).

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::order::{FulfillmentChannel, Order, OrderStatus};
use super::pii::BuyerPii;

/// Buyer PII is kept this long after the order's (promised) delivery, as for report PII (Amazon's Data
/// Protection Policy).
pub const PII_RETENTION: TimeDelta = TimeDelta::days(30);
/// When an order has no deliver-by promise, delivery is assumed this long after its ship-by date or creation.
pub const ASSUMED_DELIVERY: TimeDelta = TimeDelta::days(7);

/// A promise window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest: Option<DateTime<Utc>>,
    /// End: the date that counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<DateTime<Utc>>,
}

/// A buyer's request to cancel an item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationRequest {
    /// Who asked, e.g. `BUYER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// The reason given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One item as a seller ships it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippableItem {
    /// The id shipments and cancellations name.
    pub order_item_id: String,
    /// The seller's SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// Units ordered.
    pub quantity_ordered: u32,
    /// Units shipped.
    pub quantity_shipped: u32,
    /// Units left to ship.
    pub quantity_left: u32,
    /// Item programs, e.g. `TRANSPARENCY`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    /// Gift wrap level, when the buyer chose gift wrap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_wrap_level: Option<String>,
    /// A pending cancellation request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_request: Option<CancellationRequest>,
}

/// Whether Amazon gave the order's PII, or withheld it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiAvailability {
    /// Asked for and given (at least the delivery address).
    Given,
    /// Asked for and left out: the application lacks the role, or the order is not in a status that allows it.
    #[default]
    Withheld,
}

/// An order's shipping details (no PII), as of `last_updated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    /// Amazon's order id.
    pub amazon_order_id: String,
    /// Amazon's last-updated date of the answer: the version.
    pub last_updated: DateTime<Utc>,
    /// The Orders API's fulfillment status, e.g. `UNSHIPPED` (kept verbatim; unknown values as `OTHER`).
    pub fulfillment_status: String,
    /// `MERCHANT` or `AMAZON`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilled_by: Option<String>,
    /// When it must ship.
    #[serde(default)]
    pub ship_by: TimeWindow,
    /// When it must arrive.
    #[serde(default)]
    pub deliver_by: TimeWindow,
    /// Order programs, e.g. `PRIME`, `AMAZON_BUSINESS`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    /// Business buyer's purchase order number (not PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_order_number: Option<String>,
    /// Its items.
    pub items: Vec<ShippableItem>,
    /// Whether the PII was given or withheld.
    #[serde(default)]
    pub pii: PiiAvailability,
}

impl OrderDetails {
    /// A Prime order.
    pub fn is_prime(&self) -> bool {
        self.programs.iter().any(|p| p == "PRIME")
    }

    /// An Amazon Business order.
    pub fn is_business(&self) -> bool {
        self.programs.iter().any(|p| p == "AMAZON_BUSINESS")
    }

    /// Whether any item has a pending cancellation request.
    pub fn has_cancellation_request(&self) -> bool {
        self.items.iter().any(|i| i.cancellation_request.is_some())
    }

    /// Whether the seller still has something to ship.
    pub fn needs_shipping(&self) -> bool {
        matches!(
            self.fulfillment_status.as_str(),
            "PENDING" | "UNSHIPPED" | "PARTIALLY_SHIPPED"
        ) && self.fulfilled_by.as_deref() != Some("AMAZON")
    }

    /// The item with this order item id, or else the only item with this SKU.
    pub fn item(&self, order_item_id_or_sku: &str) -> Option<&ShippableItem> {
        self.items
            .iter()
            .find(|i| i.order_item_id == order_item_id_or_sku)
            .or_else(|| {
                let mut by_sku = self
                    .items
                    .iter()
                    .filter(|i| i.sku.as_deref() == Some(order_item_id_or_sku));
                match (by_sku.next(), by_sku.next()) {
                    (Some(item), None) => Some(item),
                    _ => None,
                }
            })
    }

    /// When the order's PII is removed: [`PII_RETENTION`] after its promised delivery (deliver-by, else
    /// ship-by or `created` plus [`ASSUMED_DELIVERY`]).
    pub fn pii_expiry(&self, created: DateTime<Utc>) -> DateTime<Utc> {
        let delivered = self
            .deliver_by
            .latest
            .or_else(|| self.ship_by.latest.map(|s| s + ASSUMED_DELIVERY))
            .unwrap_or(created + ASSUMED_DELIVERY);
        delivered + PII_RETENTION
    }
}

/// Buyer PII of one order from `getOrder`: buyer and recipient (as report PII has them) plus the items' gift
/// messages and Amazon Custom URLs. `Debug` shows only the order id.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPii {
    /// Buyer name and e-mail, recipient address and phone.
    pub buyer: BuyerPii,
    /// Gift messages by order item id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gift_messages: Vec<(String, String)>,
    /// Amazon Custom personalisation URLs by order item id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub customized_urls: Vec<(String, String)>,
}

impl OrderPii {
    /// Whether Amazon gave nothing.
    pub fn is_empty(&self) -> bool {
        self.buyer.is_empty() && self.gift_messages.is_empty() && self.customized_urls.is_empty()
    }
}

impl fmt::Debug for OrderPii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderPii")
            .field("amazon_order_id", &self.buyer.amazon_order_id)
            .finish_non_exhaustive()
    }
}

/// What to do with details `getOrder` just gave, given the stored order's version and the stored details'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailsDecision {
    /// Write the details (and their PII); when `bumps_order`, the answer is newer than the stored order, whose
    /// version (and status) move up to it so that an older report row cannot overwrite it afterwards.
    Write {
        /// Whether the stored order's version moves up.
        bumps_order: bool,
    },
    /// The stored details are of this version or newer: a re-read, nothing to write.
    Unchanged,
    /// Older than the stored order (a report row newer than this answer came in meanwhile): nothing to write;
    /// the order still needs a fresh `getOrder`.
    Stale,
    /// No stored order: details are only kept for orders the import stored (the account's options apply).
    NoOrder,
}

/// The one version rule, for an answer of version `incoming`.
pub fn decide_details(
    order_version: Option<DateTime<Utc>>,
    details_version: Option<DateTime<Utc>>,
    incoming: DateTime<Utc>,
) -> DetailsDecision {
    match (order_version, details_version) {
        (None, _) => DetailsDecision::NoOrder,
        (Some(order), _) if incoming < order => DetailsDecision::Stale,
        (Some(_), Some(details)) if details >= incoming => DetailsDecision::Unchanged,
        (Some(order), _) => DetailsDecision::Write {
            bumps_order: incoming > order,
        },
    }
}

/// Whether the seller still has to ship `order` now: merchant-fulfilled, paid and not (fully) shipped or
/// cancelled as stored, and its `getOrder` details say so too. Details are refreshed only while an order needs
/// the seller, so the stored status, which every report updates, is the one that can say "no longer".
pub fn still_to_ship(order: &Order, details: &OrderDetails) -> bool {
    order.fulfillment_channel == FulfillmentChannel::Mfn
        && matches!(
            order.status,
            OrderStatus::Unshipped | OrderStatus::PartiallyShipped
        )
        && details.needs_shipping()
}

/// Whether a report's write of `order` marks it as awaiting its `getOrder` details (the stores' `details-due`
/// mark): merchant-fulfilled and open (pending, unshipped or partially shipped). The mark is cleared once details
/// of the order's version are stored, and every write of a newer version sets it again, so the orders that need
/// `getOrder` are found without reading every open order.
pub fn awaits_details(order: &Order) -> bool {
    order.fulfillment_channel == FulfillmentChannel::Mfn
        && matches!(
            order.status,
            OrderStatus::Pending | OrderStatus::Unshipped | OrderStatus::PartiallyShipped
        )
}

/// Whether an order awaiting its details ([`awaits_details`]) needs `getOrder`: its details are missing or
/// older than the order's version.
pub fn needs_details(order_version: DateTime<Utc>, details_version: Option<DateTime<Utc>>) -> bool {
    details_version.is_none_or(|d| d < order_version)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, hour, 0, 0).unwrap()
    }

    #[test]
    fn one_version_rule_orders_report_rows_and_get_order_answers() {
        use DetailsDecision::*;
        // (stored order version, stored details version, answer version, decision)
        let table = [
            (None, None, t(10), NoOrder),
            (Some(t(10)), None, t(10), Write { bumps_order: false }),
            (Some(t(10)), None, t(11), Write { bumps_order: true }),
            (Some(t(10)), Some(t(9)), t(10), Write { bumps_order: false }),
            (Some(t(10)), Some(t(10)), t(10), Unchanged),
            (Some(t(11)), Some(t(11)), t(11), Unchanged),
            (Some(t(12)), Some(t(11)), t(11), Stale),
            (Some(t(12)), None, t(11), Stale),
            (Some(t(10)), Some(t(12)), t(11), Unchanged),
        ];
        for (order, details, incoming, expected) in table {
            assert_eq!(
                decide_details(order, details, incoming),
                expected,
                "{order:?} {details:?} {incoming:?}"
            );
        }
    }

    #[test]
    fn only_open_merchant_orders_with_missing_or_older_details_need_get_order() {
        let mut order = crate::domain::Order {
            amazon_order_id: "306-1".into(),
            merchant_order_id: None,
            purchase_date: t(1),
            last_updated: t(10),
            status: OrderStatus::Unshipped,
            fulfillment_channel: FulfillmentChannel::Mfn,
            sales_channel: "Amazon.de".into(),
            marketplace_id: None,
            ship_service_level: None,
            ship_to: Default::default(),
            is_business_order: false,
            purchase_order_number: None,
            items: vec![],
        };
        for (status, awaits) in [
            (OrderStatus::Pending, true),
            (OrderStatus::Unshipped, true),
            (OrderStatus::PartiallyShipped, true),
            (OrderStatus::Shipped, false),
            (OrderStatus::Cancelled, false),
        ] {
            order.status = status.clone();
            assert_eq!(awaits_details(&order), awaits, "{status:?}");
        }
        order.status = OrderStatus::Unshipped;
        order.fulfillment_channel = FulfillmentChannel::Afn;
        assert!(!awaits_details(&order), "FBA never");
        assert!(needs_details(t(10), None));
        assert!(needs_details(t(10), Some(t(9))));
        assert!(!needs_details(t(10), Some(t(10))));
        assert!(!needs_details(t(10), Some(t(11))));
    }

    fn details() -> OrderDetails {
        OrderDetails {
            amazon_order_id: "306-1".into(),
            last_updated: t(10),
            fulfillment_status: "UNSHIPPED".into(),
            fulfilled_by: Some("MERCHANT".into()),
            ship_by: TimeWindow::default(),
            deliver_by: TimeWindow::default(),
            programs: vec!["PRIME".into()],
            purchase_order_number: None,
            items: vec![
                ShippableItem {
                    order_item_id: "1".into(),
                    sku: Some("A".into()),
                    ..ShippableItem::default()
                },
                ShippableItem {
                    order_item_id: "2".into(),
                    sku: Some("B".into()),
                    ..ShippableItem::default()
                },
                ShippableItem {
                    order_item_id: "3".into(),
                    sku: Some("B".into()),
                    ..ShippableItem::default()
                },
            ],
            pii: PiiAvailability::Given,
        }
    }

    #[test]
    fn an_item_is_found_by_its_id_or_by_a_sku_only_one_item_has() {
        let d = details();
        assert_eq!(d.item("2").unwrap().order_item_id, "2");
        assert_eq!(d.item("A").unwrap().order_item_id, "1");
        assert!(d.item("B").is_none(), "two items share SKU B");
        assert!(d.is_prime() && !d.is_business() && d.needs_shipping());
    }

    #[test]
    fn pii_expires_thirty_days_after_the_promised_delivery() {
        let mut d = details();
        assert_eq!(d.pii_expiry(t(0)), t(0) + ASSUMED_DELIVERY + PII_RETENTION);
        d.ship_by.latest = Some(t(5));
        assert_eq!(d.pii_expiry(t(0)), t(5) + ASSUMED_DELIVERY + PII_RETENTION);
        d.deliver_by.latest = Some(t(20));
        assert_eq!(d.pii_expiry(t(0)), t(20) + PII_RETENTION);
    }
}
