//! Orders as the import would have stored them, for tests and benches that need stored orders without running
//! an import first.

use chrono::{DateTime, Utc};
use shared::domain::{FulfillmentChannel, Order, OrderItem, OrderStatus, ShipTo};

/// An unshipped merchant-fulfilled order in `marketplace_id` placed at `at`, all its `units` on one line.
pub fn unshipped(id: &str, marketplace_id: &str, units: u32, at: DateTime<Utc>) -> Order {
    Order {
        amazon_order_id: id.into(),
        merchant_order_id: None,
        purchase_date: at,
        last_updated: at,
        status: OrderStatus::Unshipped,
        fulfillment_channel: FulfillmentChannel::Mfn,
        sales_channel: "Amazon.com".into(),
        marketplace_id: Some(marketplace_id.into()),
        ship_service_level: None,
        ship_to: ShipTo::default(),
        is_business_order: false,
        purchase_order_number: None,
        items: vec![OrderItem {
            sku: "SKU-1".into(),
            asin: Default::default(),
            product_name: Default::default(),
            item_status: None,
            quantity: units,
            amounts: Default::default(),
            promotion_ids: vec![],
        }],
    }
}
