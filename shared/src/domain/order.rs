//! Orders as sellersync stores them, whichever report they came from.

use std::fmt;

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::money::{Currency, Money};

/// An Amazon order with its items, as of its `last_updated` date.
///
/// Short text (ids, codes, places) is held in [`CompactString`]s, inline up to 24 bytes: a parsed order then
/// costs a few allocations instead of a dozen, which is most of what a report parser spends beyond reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Amazon's order id, e.g. `114-1234567-1234567`.
    pub amazon_order_id: CompactString,
    /// The seller's own order id, when the seller set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_order_id: Option<CompactString>,
    /// When the buyer placed the order (UTC).
    pub purchase_date: DateTime<Utc>,
    /// When Amazon last changed the order (UTC); the version that decides which copy is newer.
    pub last_updated: DateTime<Utc>,
    /// The order's status.
    pub status: OrderStatus,
    /// Who ships it: Amazon (FBA) or the merchant.
    pub fulfillment_channel: FulfillmentChannel,
    /// The report's `sales-channel`, e.g. `Amazon.de` or `Non-Amazon`.
    pub sales_channel: CompactString,
    /// The marketplace the sales channel names, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<CompactString>,
    /// The shipping service level, e.g. `Standard` or `Expedited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_service_level: Option<CompactString>,
    /// Where it goes, to the level of detail that is not buyer PII.
    #[serde(default)]
    pub ship_to: ShipTo,
    /// Whether it is an Amazon Business order.
    #[serde(default)]
    pub is_business_order: bool,
    /// The buyer's purchase order number (business orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_order_number: Option<CompactString>,
    /// Its lines, in report order.
    pub items: Vec<OrderItem>,
}

impl Order {
    /// The ship-to country, when known.
    pub fn ship_country(&self) -> Option<&str> {
        self.ship_to.country.as_deref()
    }
}

/// The part of the shipping address that order-tracking reports carry without restriction.
/// The version of a stored order, and whether the copy is ahead of the reports: `getOrder` answered a newer
/// version before any report showed it, and the copy moved to it (status and version) keeping its older lines.
/// Reports carry the lines as Amazon settles them at that version (a cancelled line shows 0 units), so the report
/// row of the same version still replaces such a copy; any other copy is replaced only by a newer version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredVersion {
    /// The stored copy's `last_updated`.
    pub last_updated: DateTime<Utc>,
    /// Moved ahead by the Orders API, not yet replaced by a report row.
    pub ahead_of_reports: bool,
}

impl StoredVersion {
    /// Whether a report row of version `incoming` replaces the stored copy.
    pub fn is_replaced_by(&self, incoming: DateTime<Utc>) -> bool {
        incoming > self.last_updated || (incoming == self.last_updated && self.ahead_of_reports)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipTo {
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<CompactString>,
    /// State or region, sometimes spelled out (`FLORIDA`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CompactString>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<CompactString>,
    /// ISO 3166 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<CompactString>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    /// The seller's SKU.
    pub sku: CompactString,
    /// Amazon's product id.
    #[serde(default, skip_serializing_if = "CompactString::is_empty")]
    pub asin: CompactString,
    /// Product title.
    #[serde(default, skip_serializing_if = "CompactString::is_empty")]
    pub product_name: CompactString,
    /// The line's own status (`Shipped`, `Unshipped`, `Cancelled`), when the report gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_status: Option<CompactString>,
    /// Units ordered (0 on cancelled lines).
    pub quantity: u32,
    /// Amounts of the line; all in the order's currency. Each is the total for the quantity, not a unit price.
    #[serde(default)]
    pub amounts: ItemAmounts,
    /// Promotion ids applied to the line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotion_ids: Vec<CompactString>,
}

/// The money columns of an order line; empty cells are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemAmounts {
    /// Item price (EU prices include VAT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_price: Option<Money>,
    /// Tax on the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_tax: Option<Money>,
    /// Shipping charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_price: Option<Money>,
    /// Tax on shipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_tax: Option<Money>,
    /// Gift wrap charged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_wrap_price: Option<Money>,
    /// Tax on gift wrap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_wrap_tax: Option<Money>,
    /// Promotion discount on the item (negative or zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_promotion_discount: Option<Money>,
    /// Promotion discount on shipping (negative or zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_promotion_discount: Option<Money>,
}

impl ItemAmounts {
    /// The currency of the first amount present, if any.
    pub fn currency(&self) -> Option<Currency> {
        [
            self.item_price,
            self.item_tax,
            self.shipping_price,
            self.shipping_tax,
            self.gift_wrap_price,
            self.gift_wrap_tax,
            self.item_promotion_discount,
            self.ship_promotion_discount,
        ]
        .into_iter()
        .flatten()
        .map(|m| m.currency)
        .next()
    }
}

/// Fulfillment channel. Reports say `Amazon`/`Merchant` (order tracking) or `AFN`/`MFN` (FBA shipments).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FulfillmentChannel {
    /// Fulfilled by Amazon (FBA).
    Afn,
    /// Fulfilled by the merchant.
    Mfn,
}

impl FulfillmentChannel {
    /// Reads any of the spellings Amazon uses.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "amazon" | "afn" => Some(FulfillmentChannel::Afn),
            "merchant" | "mfn" => Some(FulfillmentChannel::Mfn),
            _ => None,
        }
    }

    /// `AFN` or `MFN`, as stored and served.
    pub fn as_str(self) -> &'static str {
        match self {
            FulfillmentChannel::Afn => "AFN",
            FulfillmentChannel::Mfn => "MFN",
        }
    }
}

impl fmt::Display for FulfillmentChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FulfillmentChannel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FulfillmentChannel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FulfillmentChannel::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown fulfillment channel {text:?}")))
    }
}

/// Order status as order reports spell it. Statuses sellersync has no rule for are kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Placed, payment not yet authorised.
    Pending,
    /// Paid, nothing shipped yet.
    Unshipped,
    /// Some items shipped.
    PartiallyShipped,
    /// All items shipped.
    Shipped,
    /// Cancelled (reports spell it with two Ls, the Orders API with one).
    Cancelled,
    /// Any other status, verbatim.
    Other(String),
}

impl OrderStatus {
    /// Reads a report's `order-status`, accepting the Orders API's spellings too.
    pub fn parse(text: &str) -> Self {
        let text = text.trim();
        match text.to_ascii_lowercase().replace([' ', '_'], "").as_str() {
            "pending" => OrderStatus::Pending,
            "unshipped" => OrderStatus::Unshipped,
            "partiallyshipped" => OrderStatus::PartiallyShipped,
            "shipped" => OrderStatus::Shipped,
            "cancelled" | "canceled" => OrderStatus::Cancelled,
            _ if text.to_ascii_lowercase().starts_with("pending") => OrderStatus::Pending,
            _ => OrderStatus::Other(text.to_owned()),
        }
    }

    /// The status as stored and served.
    pub fn as_str(&self) -> &str {
        match self {
            OrderStatus::Pending => "Pending",
            OrderStatus::Unshipped => "Unshipped",
            OrderStatus::PartiallyShipped => "PartiallyShipped",
            OrderStatus::Shipped => "Shipped",
            OrderStatus::Cancelled => "Cancelled",
            OrderStatus::Other(text) => text,
        }
    }

    /// Whether the order has left the warehouse, fully or partly.
    pub fn is_shipped(&self) -> bool {
        matches!(self, OrderStatus::Shipped | OrderStatus::PartiallyShipped)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for OrderStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OrderStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(OrderStatus::parse(&String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_ahead_of_the_reports_is_replaced_by_the_row_of_its_own_version_and_others_only_by_newer_ones() {
        let at = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        for (ahead, incoming, replaced) in [
            (false, 9, false),
            (false, 10, false),
            (false, 11, true),
            (true, 9, false),
            (true, 10, true),
            (true, 11, true),
        ] {
            let stored = StoredVersion {
                last_updated: at(10),
                ahead_of_reports: ahead,
            };
            assert_eq!(
                stored.is_replaced_by(at(incoming)),
                replaced,
                "ahead {ahead}, incoming {incoming}"
            );
        }
    }

    #[test]
    fn statuses_accept_both_spellings_and_keep_unknown_ones() {
        assert_eq!(OrderStatus::parse("Cancelled"), OrderStatus::Cancelled);
        assert_eq!(OrderStatus::parse("Canceled"), OrderStatus::Cancelled);
        assert_eq!(
            OrderStatus::parse("Pending - Waiting for Pick Up"),
            OrderStatus::Pending
        );
        assert_eq!(
            OrderStatus::parse("InvoiceUnconfirmed").as_str(),
            "InvoiceUnconfirmed"
        );
    }

    #[test]
    fn fulfillment_channel_reads_report_and_api_spellings() {
        assert_eq!(FulfillmentChannel::parse("Amazon"), Some(FulfillmentChannel::Afn));
        assert_eq!(FulfillmentChannel::parse("MFN"), Some(FulfillmentChannel::Mfn));
        assert_eq!(FulfillmentChannel::parse("Seller"), None);
    }

    #[test]
    fn an_order_round_trips_through_json() {
        let order = Order {
            amazon_order_id: "114-1234567-1234567".into(),
            merchant_order_id: None,
            purchase_date: "2026-11-01T10:00:00Z".parse().unwrap(),
            last_updated: "2026-11-02T10:00:00Z".parse().unwrap(),
            status: OrderStatus::Shipped,
            fulfillment_channel: FulfillmentChannel::Afn,
            sales_channel: "Amazon.com".into(),
            marketplace_id: Some("ATVPDKIKX0DER".into()),
            ship_service_level: Some("Standard".into()),
            ship_to: ShipTo {
                country: Some("US".into()),
                ..ShipTo::default()
            },
            is_business_order: false,
            purchase_order_number: None,
            items: vec![OrderItem {
                sku: "SKU-1".into(),
                asin: "B000000001".into(),
                product_name: "Mug".into(),
                item_status: Some("Shipped".into()),
                quantity: 2,
                amounts: ItemAmounts {
                    item_price: Money::parse_amount("item-price", "19.98", "USD".parse().unwrap()).unwrap(),
                    ..ItemAmounts::default()
                },
                promotion_ids: vec![],
            }],
        };
        let json = serde_json::to_string(&order).unwrap();
        assert_eq!(serde_json::from_str::<Order>(&json).unwrap(), order);
        assert_eq!(
            order.items[0].amounts.currency().map(|c| c.to_string()),
            Some("USD".into())
        );
    }
}
