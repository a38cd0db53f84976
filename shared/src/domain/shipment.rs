//! What shipping needs beyond `Order`: the unshipped merchant-fulfilled orders with their order-item ids,
//! and the shipments Amazon made for FBA orders. Buyer PII is not here; see [`super::pii`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::order::{FulfillmentChannel, ItemAmounts, ShipTo};

/// A merchant-fulfilled order waiting to be shipped (`GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnshippedOrder {
    /// Amazon's order id.
    pub amazon_order_id: String,
    /// When the buyer placed it (UTC).
    pub purchase_date: DateTime<Utc>,
    /// When it was paid (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payments_date: Option<DateTime<Utc>>,
    /// When Amazon produced the report row (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_date: Option<DateTime<Utc>>,
    /// The date promised to the buyer: ship by then (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise_date: Option<DateTime<Utc>>,
    /// The shipping service level, e.g. `Standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_service_level: Option<String>,
    /// The report's `sales-channel`, when it has the column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_channel: Option<String>,
    /// Whether it is an Amazon Business order.
    #[serde(default)]
    pub is_business_order: bool,
    /// The buyer's purchase order number (business orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase_order_number: Option<String>,
    /// Whether it is a Prime order.
    #[serde(default)]
    pub is_prime: bool,
    /// Its lines, in report order.
    pub items: Vec<UnshippedItem>,
}

impl UnshippedOrder {
    /// The order-item id of the line selling `sku`, which shipment confirmations must quote.
    pub fn order_item_id(&self, sku: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|item| item.sku == sku)
            .map(|item| item.order_item_id.as_str())
    }
}

/// One line of an unshipped order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnshippedItem {
    /// Amazon's id for the line, quoted by shipment and cancellation feeds.
    pub order_item_id: String,
    /// The seller's SKU.
    pub sku: String,
    /// Product title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub product_name: String,
    /// Units ordered.
    pub quantity_purchased: u32,
    /// Units already shipped, when the report says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_shipped: Option<u32>,
    /// Units still to ship: the report's `quantity-to-ship`, or purchased minus shipped when it lacks one.
    pub quantity_to_ship: u32,
}

/// One shipped line of an FBA order (`GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL`).
/// `shipment_item_id` identifies it: the same line reappears in overlapping reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FbaShipmentItem {
    /// Amazon's order id.
    pub amazon_order_id: String,
    /// The seller's own order id, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_order_id: Option<String>,
    /// Amazon's shipment id; one shipment can carry several lines.
    pub shipment_id: String,
    /// Amazon's id for this shipped line: the deduplication key.
    pub shipment_item_id: String,
    /// The order line it ships.
    pub amazon_order_item_id: String,
    /// The seller's own id for the order line, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_order_item_id: Option<String>,
    /// When the buyer placed the order (UTC).
    pub purchase_date: DateTime<Utc>,
    /// When it was paid (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payments_date: Option<DateTime<Utc>>,
    /// When it shipped (UTC).
    pub shipment_date: DateTime<Utc>,
    /// When Amazon reported it (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_date: Option<DateTime<Utc>>,
    /// The seller's SKU.
    pub sku: String,
    /// Product title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub product_name: String,
    /// Units shipped in this line.
    pub quantity_shipped: u32,
    /// The line's amounts (promotion discounts included), in the row's currency.
    #[serde(default)]
    pub amounts: ItemAmounts,
    /// The shipping service level, e.g. `Expedited`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_service_level: Option<String>,
    /// Destination to the level of detail that is not PII.
    #[serde(default)]
    pub ship_to: ShipTo,
    /// Carrier code, e.g. `AMZN_US` or `USPS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    /// The carrier's tracking number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// When Amazon expects it to arrive (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_arrival_date: Option<DateTime<Utc>>,
    /// The fulfillment center that shipped it, e.g. `CMH1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_center_id: Option<String>,
    /// `AFN` in this report; kept in case Amazon says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_channel: Option<FulfillmentChannel>,
    /// The report's `sales-channel`, e.g. `Amazon.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sales_channel: Option<String>,
    /// The marketplace the sales channel names, when it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unshipped_order_finds_the_order_item_id_of_a_sku() {
        let item = |id: &str, sku: &str| UnshippedItem {
            order_item_id: id.into(),
            sku: sku.into(),
            product_name: String::new(),
            quantity_purchased: 1,
            quantity_shipped: None,
            quantity_to_ship: 1,
        };
        let order = UnshippedOrder {
            amazon_order_id: "114-1234567-1234567".into(),
            purchase_date: "2026-11-01T10:00:00Z".parse().unwrap(),
            payments_date: None,
            reporting_date: None,
            promise_date: None,
            ship_service_level: None,
            sales_channel: None,
            is_business_order: false,
            purchase_order_number: None,
            is_prime: false,
            items: vec![item("11", "MUG"), item("22", "CUP")],
        };
        assert_eq!(order.order_item_id("CUP"), Some("22"));
        assert_eq!(order.order_item_id("PLATE"), None);
    }
}
