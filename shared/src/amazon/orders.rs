//! Orders API 2026-01-01: `getOrder` and `searchOrders` with `includedData`, typed as the model names them.
//!
//! Only the parts sellersync uses are typed; serde ignores the rest, and open value lists (programs, gift wrap
//! levels, requesters, fulfillment statuses) accept values Amazon adds later. Buyer PII (Amazon's "Access Orders
//! PII" page for this version: buyer name and e-mail, gift message, `customizedUrl`, the delivery address's name,
//! lines, postal code, phone and extended fields) is held in [`PiiText`], whose `Debug` shows nothing. No
//! Restricted Data Token is needed for this version: Amazon leaves a PII field out when the application lacks
//! the role or the order is not in a status that allows it.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::auth::SellerAuth;
use super::client::{AmazonClient, ApiRequest, segment};
use super::rate::Operation;
use crate::domain::{
    BuyerPii, CancellationRequest, Currency, FulfillmentChannel, ItemAmounts, Money, Order, OrderDetails,
    OrderItem, OrderPii, OrderStatus, PiiAvailability, PostalAddress, ShipTo, ShippableItem, TimeWindow,
};
use crate::error::AmazonError;

const ORDERS: &str = "/orders/2026-01-01/orders";

/// A dataset `includedData` adds to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncludedData {
    /// `BUYER`: buyer name, e-mail relay, company, purchase order number (PII, role-gated).
    Buyer,
    /// `RECIPIENT`: the delivery address and preferences (PII, role-gated).
    Recipient,
    /// `PROCEEDS`.
    Proceeds,
    /// `EXPENSE`.
    Expense,
    /// `PROMOTION`.
    Promotion,
    /// `CANCELLATION`: buyer cancellation requests per item.
    Cancellation,
    /// `FULFILLMENT`: status, windows, quantities shipped and left, gift options.
    Fulfillment,
    /// `PACKAGES`.
    Packages,
    /// `TAX`.
    Tax,
    /// `PAYMENT`.
    Payment,
    /// `FULFILLMENT_ORDERS`.
    FulfillmentOrders,
}

impl IncludedData {
    /// The model's value, e.g. `FULFILLMENT_ORDERS`.
    pub fn as_str(self) -> &'static str {
        match self {
            IncludedData::Buyer => "BUYER",
            IncludedData::Recipient => "RECIPIENT",
            IncludedData::Proceeds => "PROCEEDS",
            IncludedData::Expense => "EXPENSE",
            IncludedData::Promotion => "PROMOTION",
            IncludedData::Cancellation => "CANCELLATION",
            IncludedData::Fulfillment => "FULFILLMENT",
            IncludedData::Packages => "PACKAGES",
            IncludedData::Tax => "TAX",
            IncludedData::Payment => "PAYMENT",
            IncludedData::FulfillmentOrders => "FULFILLMENT_ORDERS",
        }
    }

    /// What sellersync asks for to ship an order: the PII sets, fulfillment, cancellation requests and proceeds.
    pub const FOR_SHIPPING: [IncludedData; 5] = [
        IncludedData::Buyer,
        IncludedData::Recipient,
        IncludedData::Fulfillment,
        IncludedData::Cancellation,
        IncludedData::Proceeds,
    ];
}

fn included_data_param(included: &[IncludedData]) -> Option<(&'static str, String)> {
    (!included.is_empty()).then(|| {
        let values: Vec<&str> = included.iter().map(|d| d.as_str()).collect();
        ("includedData", values.join(","))
    })
}

/// An order's fulfillment status (`FulfillmentStatus`); values Amazon adds later read as [`Self::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FulfillmentStatus {
    /// Placed, not yet available for fulfilment (pre-orders).
    PendingAvailability,
    /// Placed, payment not yet authorised.
    Pending,
    /// Ready to ship.
    Unshipped,
    /// Some items shipped.
    PartiallyShipped,
    /// Every item shipped.
    Shipped,
    /// Cancelled.
    Cancelled,
    /// Cannot be fulfilled.
    Unfulfillable,
    /// A value this build does not know.
    #[serde(other)]
    Other,
}

impl FulfillmentStatus {
    /// The model's value (`OTHER` for an unknown one, which is never sent).
    pub fn as_str(self) -> &'static str {
        match self {
            FulfillmentStatus::PendingAvailability => "PENDING_AVAILABILITY",
            FulfillmentStatus::Pending => "PENDING",
            FulfillmentStatus::Unshipped => "UNSHIPPED",
            FulfillmentStatus::PartiallyShipped => "PARTIALLY_SHIPPED",
            FulfillmentStatus::Shipped => "SHIPPED",
            FulfillmentStatus::Cancelled => "CANCELLED",
            FulfillmentStatus::Unfulfillable => "UNFULFILLABLE",
            FulfillmentStatus::Other => "OTHER",
        }
    }
}

/// Who fulfils an order (`fulfilledBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FulfilledBy {
    /// Fulfilment by Amazon.
    Amazon,
    /// The seller ships it.
    Merchant,
    /// A value this build does not know.
    #[serde(other)]
    Other,
}

impl FulfilledBy {
    /// The model's value (`OTHER` for an unknown one, which is never sent).
    pub fn as_str(self) -> &'static str {
        match self {
            FulfilledBy::Amazon => "AMAZON",
            FulfilledBy::Merchant => "MERCHANT",
            FulfilledBy::Other => "OTHER",
        }
    }
}

/// Text Amazon counts as buyer PII. Its `Debug` never shows the value; read it with [`PiiText::expose`].
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PiiText(String);

impl PiiText {
    /// The value, for encrypted storage or the PII route only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value, or `None` when Amazon sent an empty string.
    pub fn non_empty(&self) -> Option<&str> {
        (!self.0.trim().is_empty()).then_some(self.0.as_str())
    }
}

impl From<&str> for PiiText {
    fn from(value: &str) -> Self {
        PiiText(value.to_owned())
    }
}

impl fmt::Debug for PiiText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<pii>")
    }
}

/// An amount as the model sends it (`Money`: a decimal string and a currency code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiMoney {
    /// The amount, exactly.
    pub amount: Decimal,
    /// ISO 4217 code.
    pub currency_code: String,
}

/// A time window (`DateTimeRange`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeRange {
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest_date_time: Option<DateTime<Utc>>,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_date_time: Option<DateTime<Utc>>,
}

/// `getOrder`'s answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetOrderResponse {
    /// The order.
    pub order: ApiOrder,
}

/// One page of `searchOrders`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOrdersResponse {
    /// The orders on this page.
    pub orders: Vec<ApiOrder>,
    /// Present while there are further pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    /// The upper bound Amazon applied to `lastUpdatedTime` (when searching by update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_before: Option<DateTime<Utc>>,
    /// The upper bound Amazon applied to `createdTime` (when searching by creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_before: Option<DateTime<Utc>>,
}

/// `Pagination`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// Passed as `paginationToken` for the next page; lives 24 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// An order (`Order`), with the datasets `includedData` asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiOrder {
    /// Amazon's order id.
    pub order_id: String,
    /// Other ids of the order, e.g. the seller's (`SELLER_ORDER_ID`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_aliases: Vec<OrderAlias>,
    /// When it was placed.
    pub created_time: DateTime<Utc>,
    /// When Amazon or the seller last changed it: the version both sources are ordered by.
    pub last_updated_time: DateTime<Utc>,
    /// Programs, e.g. `PRIME`, `AMAZON_BUSINESS`, `PREORDER` (open list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    /// Where it was sold.
    pub sales_channel: SalesChannel,
    /// `BUYER` dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
    /// `RECIPIENT` dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
    /// `PROCEEDS` dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proceeds: Option<OrderProceeds>,
    /// `FULFILLMENT` dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment: Option<OrderFulfillment>,
    /// Its items.
    pub order_items: Vec<ApiOrderItem>,
}

impl ApiOrder {
    /// The seller's own order id, when it set one.
    pub fn seller_order_id(&self) -> Option<&str> {
        self.order_aliases
            .iter()
            .find(|alias| alias.alias_type.as_deref() == Some("SELLER_ORDER_ID"))
            .and_then(|alias| alias.alias_id.as_deref())
    }

    /// Whether the order carries the program, e.g. `PRIME`.
    pub fn has_program(&self, program: &str) -> bool {
        self.programs.iter().any(|p| p == program)
    }
}

/// `Alias`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAlias {
    /// The id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_id: Option<String>,
    /// Its kind, e.g. `SELLER_ORDER_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_type: Option<String>,
}

/// `SalesChannel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesChannel {
    /// e.g. `AMAZON`.
    pub channel_name: String,
    /// The marketplace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    /// e.g. `Amazon.co.uk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_name: Option<String>,
}

/// `Buyer`. Name and e-mail are PII; company and purchase order number are not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    /// Buyer name (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<PiiText>,
    /// Buyer e-mail relay (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<PiiText>,
    /// Business buyer's company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_company_name: Option<String>,
    /// Business buyer's purchase order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_purchase_order_number: Option<String>,
}

/// `Recipient`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// Where it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<CustomerAddress>,
}

/// `CustomerAddress`. Name, lines, postal code, phone and extended fields are PII.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAddress {
    /// Recipient name (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<PiiText>,
    /// Company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    /// Line 1 (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<PiiText>,
    /// Line 2 (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<PiiText>,
    /// Line 3 (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<PiiText>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// District or county.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district_or_county: Option<String>,
    /// State or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<String>,
    /// Municipality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
    /// Postal code (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<PiiText>,
    /// ISO 3166 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// Phone (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PiiText>,
    /// `RESIDENTIAL` or `COMMERCIAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type: Option<String>,
}

/// `OrderProceeds` (the grand total only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderProceeds {
    /// What the order is worth in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grand_total: Option<ApiMoney>,
}

/// `OrderFulfillment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillment {
    /// Where the order is.
    pub fulfillment_status: FulfillmentStatus,
    /// Who ships it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilled_by: Option<FulfilledBy>,
    /// e.g. `STANDARD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_service_level: Option<String>,
    /// When it must ship.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_by_window: Option<DateTimeRange>,
    /// When it must arrive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_by_window: Option<DateTimeRange>,
}

/// `OrderItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiOrderItem {
    /// The id shipments and cancellations name.
    pub order_item_id: String,
    /// Units ordered.
    pub quantity_ordered: u32,
    /// Item programs, e.g. `TRANSPARENCY` (open list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub programs: Vec<String>,
    /// The product.
    pub product: ItemProduct,
    /// `CANCELLATION` dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<ItemCancellation>,
    /// `FULFILLMENT` dataset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment: Option<ItemFulfillment>,
}

/// `ItemProduct`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemProduct {
    /// ASIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asin: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The seller's SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<String>,
    /// Unit price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<ItemPrice>,
    /// Amazon Custom personalisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customization: Option<ItemCustomization>,
}

/// `ItemPrice`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPrice {
    /// Per unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<ApiMoney>,
}

/// `ItemCustomization`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCustomization {
    /// Where the personalisation is (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_url: Option<PiiText>,
}

/// `ItemCancellation`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCancellation {
    /// A pending request to cancel the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation_request: Option<ItemCancellationRequest>,
}

/// `ItemCancellationRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCancellationRequest {
    /// Who asked, e.g. `BUYER` (open list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
}

/// `ItemFulfillment`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFulfillment {
    /// Units shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_fulfilled: Option<u32>,
    /// Units left to ship.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_unfulfilled: Option<u32>,
    /// Packing, with gift options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packing: Option<ItemPacking>,
}

/// `ItemPacking`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPacking {
    /// Gift options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_option: Option<GiftOption>,
}

/// `GiftOption`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftOption {
    /// The buyer's message (PII).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_message: Option<PiiText>,
    /// e.g. `PREMIUM` (open list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_wrap_level: Option<String>,
}

fn window(range: Option<DateTimeRange>) -> TimeWindow {
    range
        .map(|r| TimeWindow {
            earliest: r.earliest_date_time,
            latest: r.latest_date_time,
        })
        .unwrap_or_default()
}

fn pii(text: Option<&PiiText>) -> Option<String> {
    text.and_then(PiiText::non_empty).map(str::to_owned)
}

impl ApiOrder {
    /// The order as far as `getOrder` tells it, for an order no report has brought yet (asked with
    /// [`IncludedData::FOR_SHIPPING`]): its version, status, channel, marketplace and lines with their unit
    /// prices times the units; taxes, shipping and promotions are left out, and the postal code (PII here, not
    /// in reports). The report row of the same version replaces it ([`crate::domain::StoredVersion`]). The error
    /// names what is missing.
    pub fn to_order(&self) -> Result<Order, String> {
        let fulfillment = self
            .fulfillment
            .as_ref()
            .ok_or("the answer has no fulfillment (ask for FULFILLMENT)")?;
        let status = match fulfillment.fulfillment_status {
            FulfillmentStatus::Pending | FulfillmentStatus::PendingAvailability => OrderStatus::Pending,
            FulfillmentStatus::Unshipped => OrderStatus::Unshipped,
            FulfillmentStatus::PartiallyShipped => OrderStatus::PartiallyShipped,
            FulfillmentStatus::Shipped => OrderStatus::Shipped,
            FulfillmentStatus::Cancelled => OrderStatus::Cancelled,
            other => {
                return Err(format!(
                    "fulfillmentStatus {} is not one reports know",
                    other.as_str()
                ));
            }
        };
        let fulfillment_channel = match fulfillment.fulfilled_by {
            Some(FulfilledBy::Amazon) => FulfillmentChannel::Afn,
            Some(FulfilledBy::Merchant) => FulfillmentChannel::Mfn,
            _ => return Err("fulfilledBy is missing".to_owned()),
        };
        let items = self
            .order_items
            .iter()
            .map(|item| {
                let sku = item
                    .product
                    .seller_sku
                    .as_deref()
                    .ok_or_else(|| format!("item {} has no sellerSku", item.order_item_id))?;
                let item_price = match item.product.price.as_ref().and_then(|p| p.unit_price.as_ref()) {
                    Some(unit) => {
                        let currency = Currency::parse("unitPrice.currencyCode", &unit.currency_code)
                            .map_err(|err| err.to_string())?;
                        Some(Money::new(
                            unit.amount * Decimal::from(item.quantity_ordered),
                            currency,
                        ))
                    }
                    None => None,
                };
                Ok(OrderItem {
                    sku: sku.into(),
                    asin: item.product.asin.as_deref().unwrap_or_default().into(),
                    product_name: item.product.title.as_deref().unwrap_or_default().into(),
                    item_status: None,
                    quantity: item.quantity_ordered,
                    amounts: ItemAmounts {
                        item_price,
                        ..ItemAmounts::default()
                    },
                    promotion_ids: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let address = self.recipient.as_ref().and_then(|r| r.delivery_address.as_ref());
        let channel = &self.sales_channel;
        Ok(Order {
            amazon_order_id: self.order_id.as_str().into(),
            merchant_order_id: self.seller_order_id().map(Into::into),
            purchase_date: self.created_time,
            last_updated: self.last_updated_time,
            status,
            fulfillment_channel,
            sales_channel: channel
                .marketplace_name
                .as_deref()
                .unwrap_or(&channel.channel_name)
                .into(),
            marketplace_id: channel.marketplace_id.as_deref().map(Into::into),
            ship_service_level: fulfillment.fulfillment_service_level.as_deref().map(Into::into),
            ship_to: ShipTo {
                city: address.and_then(|a| a.city.as_deref()).map(Into::into),
                state: address.and_then(|a| a.state_or_region.as_deref()).map(Into::into),
                postal_code: None,
                country: address.and_then(|a| a.country_code.as_deref()).map(Into::into),
            },
            is_business_order: self.has_program("AMAZON_BUSINESS"),
            purchase_order_number: self
                .buyer
                .as_ref()
                .and_then(|b| b.buyer_purchase_order_number.as_deref())
                .map(Into::into),
            items,
        })
    }

    /// The order's shipping details and, apart, its PII. `pii_asked` says whether `BUYER`/`RECIPIENT` were in
    /// `includedData`: asked for and absent means Amazon withheld them.
    pub fn split(&self, pii_asked: bool) -> (OrderDetails, OrderPii) {
        let fulfillment = self.fulfillment.as_ref();
        let items = self
            .order_items
            .iter()
            .map(|item| {
                let fulfilled = item.fulfillment.as_ref();
                let shipped = fulfilled.and_then(|f| f.quantity_fulfilled).unwrap_or(0);
                let gift = fulfilled
                    .and_then(|f| f.packing.as_ref())
                    .and_then(|p| p.gift_option.as_ref());
                ShippableItem {
                    order_item_id: item.order_item_id.clone(),
                    sku: item.product.seller_sku.clone(),
                    quantity_ordered: item.quantity_ordered,
                    quantity_shipped: shipped,
                    quantity_left: fulfilled
                        .and_then(|f| f.quantity_unfulfilled)
                        .unwrap_or(item.quantity_ordered.saturating_sub(shipped)),
                    programs: item.programs.clone(),
                    gift_wrap_level: gift.and_then(|g| g.gift_wrap_level.clone()),
                    cancellation_request: item
                        .cancellation
                        .as_ref()
                        .and_then(|c| c.cancellation_request.as_ref())
                        .map(|r| CancellationRequest {
                            requester: r.requester.clone(),
                            reason: r.cancel_reason.clone(),
                        }),
                }
            })
            .collect();
        let buyer = self.buyer.as_ref();
        let address = self.recipient.as_ref().and_then(|r| r.delivery_address.as_ref());
        let order_pii = OrderPii {
            buyer: BuyerPii {
                amazon_order_id: self.order_id.clone(),
                buyer_name: pii(buyer.and_then(|b| b.buyer_name.as_ref())),
                buyer_email: pii(buyer.and_then(|b| b.buyer_email.as_ref())),
                buyer_phone: None,
                ship_to: address
                    .map(|a| PostalAddress {
                        name: pii(a.name.as_ref()),
                        address_1: pii(a.address_line1.as_ref()),
                        address_2: pii(a.address_line2.as_ref()),
                        address_3: pii(a.address_line3.as_ref()),
                        city: a.city.clone(),
                        state: a.state_or_region.clone(),
                        postal_code: pii(a.postal_code.as_ref()),
                        country: a.country_code.clone(),
                        phone: pii(a.phone.as_ref()),
                    })
                    .unwrap_or_default(),
                bill_to: None,
            },
            gift_messages: self
                .order_items
                .iter()
                .filter_map(|item| {
                    let message = item
                        .fulfillment
                        .as_ref()?
                        .packing
                        .as_ref()?
                        .gift_option
                        .as_ref()?
                        .gift_message
                        .as_ref();
                    Some((item.order_item_id.clone(), pii(message)?))
                })
                .collect(),
            customized_urls: self
                .order_items
                .iter()
                .filter_map(|item| {
                    let url = item.product.customization.as_ref()?.customized_url.as_ref();
                    Some((item.order_item_id.clone(), pii(url)?))
                })
                .collect(),
        };
        // The address lines and the recipient's name are what a label needs; without them the PII was withheld.
        let given = pii_asked && order_pii.buyer.ship_to.address_1.is_some();
        let details = OrderDetails {
            amazon_order_id: self.order_id.clone(),
            last_updated: self.last_updated_time,
            fulfillment_status: fulfillment
                .map_or(FulfillmentStatus::Other, |f| f.fulfillment_status)
                .as_str()
                .to_owned(),
            fulfilled_by: fulfillment
                .and_then(|f| f.fulfilled_by)
                .map(|f| f.as_str().to_owned()),
            ship_by: window(fulfillment.and_then(|f| f.ship_by_window)),
            deliver_by: window(fulfillment.and_then(|f| f.deliver_by_window)),
            programs: self.programs.clone(),
            purchase_order_number: buyer.and_then(|b| b.buyer_purchase_order_number.clone()),
            items,
            pii: if given {
                PiiAvailability::Given
            } else {
                PiiAvailability::Withheld
            },
        };
        (details, order_pii)
    }
}

/// Which orders `searchOrders` returns. Exactly one of `created_after` and `last_updated_after` must be set,
/// and the `created_*` and `last_updated_*` pairs do not mix (the model's notes on those parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchOrdersQuery {
    /// `createdAfter`.
    pub created_after: Option<DateTime<Utc>>,
    /// `createdBefore`.
    pub created_before: Option<DateTime<Utc>>,
    /// `lastUpdatedAfter`.
    pub last_updated_after: Option<DateTime<Utc>>,
    /// `lastUpdatedBefore`.
    pub last_updated_before: Option<DateTime<Utc>>,
    /// `fulfillmentStatuses`.
    pub fulfillment_statuses: Vec<FulfillmentStatus>,
    /// `marketplaceIds` (up to 50).
    pub marketplace_ids: Vec<String>,
    /// `fulfilledBy`.
    pub fulfilled_by: Vec<FulfilledBy>,
    /// `maxResultsPerPage` (1 to 100, Amazon's default 100).
    pub max_results_per_page: Option<u32>,
    /// `includedData`.
    pub included_data: Vec<IncludedData>,
}

fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl SearchOrdersQuery {
    fn to_query(&self, pagination_token: Option<&str>) -> Result<Vec<(&'static str, String)>, AmazonError> {
        let by_creation = self.created_after.is_some() || self.created_before.is_some();
        let by_update = self.last_updated_after.is_some() || self.last_updated_before.is_some();
        let problem = if by_creation && by_update {
            Some("createdAfter/createdBefore and lastUpdatedAfter/lastUpdatedBefore do not mix")
        } else if self.created_after.is_none() && self.last_updated_after.is_none() {
            Some("exactly one of createdAfter and lastUpdatedAfter is required")
        } else if self.marketplace_ids.len() > 50 {
            Some("marketplaceIds takes at most 50 values")
        } else if self.max_results_per_page.is_some_and(|n| !(1..=100).contains(&n)) {
            Some("maxResultsPerPage is between 1 and 100")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(AmazonError::Misconfigured(format!("searchOrders: {problem}")));
        }
        let mut query = Vec::new();
        for (name, time) in [
            ("createdAfter", self.created_after),
            ("createdBefore", self.created_before),
            ("lastUpdatedAfter", self.last_updated_after),
            ("lastUpdatedBefore", self.last_updated_before),
        ] {
            if let Some(time) = time {
                query.push((name, iso(time)));
            }
        }
        if !self.fulfillment_statuses.is_empty() {
            let values: Vec<&str> = self
                .fulfillment_statuses
                .iter()
                .filter(|s| **s != FulfillmentStatus::Other)
                .map(|s| s.as_str())
                .collect();
            query.push(("fulfillmentStatuses", values.join(",")));
        }
        if !self.marketplace_ids.is_empty() {
            query.push(("marketplaceIds", self.marketplace_ids.join(",")));
        }
        if !self.fulfilled_by.is_empty() {
            let values: Vec<&str> = self
                .fulfilled_by
                .iter()
                .filter(|f| **f != FulfilledBy::Other)
                .map(|f| f.as_str())
                .collect();
            query.push(("fulfilledBy", values.join(",")));
        }
        if let Some(size) = self.max_results_per_page {
            query.push(("maxResultsPerPage", size.to_string()));
        }
        query.extend(included_data_param(&self.included_data));
        if let Some(token) = pagination_token {
            query.push(("paginationToken", token.to_owned()));
        }
        Ok(query)
    }
}

impl AmazonClient {
    /// `getOrder`: one order with the datasets in `included` (none: the order and its items only).
    pub async fn get_order(
        &self,
        seller: &SellerAuth,
        order_id: &str,
        included: &[IncludedData],
    ) -> Result<ApiOrder, AmazonError> {
        let path = format!("{ORDERS}/{}", segment(order_id));
        let request = ApiRequest::new(Operation::GetOrder, Method::GET, path)
            .query(included_data_param(included).into_iter().collect());
        let response: GetOrderResponse = self.send_json(seller, request).await?;
        Ok(response.order)
    }

    /// `searchOrders`: one page; `pagination_token` is the previous page's `nextToken` (the other parameters
    /// must be the same as for the first page, which `query` ensures).
    pub async fn search_orders(
        &self,
        seller: &SellerAuth,
        query: &SearchOrdersQuery,
        pagination_token: Option<&str>,
    ) -> Result<SearchOrdersResponse, AmazonError> {
        let request = ApiRequest::new(Operation::SearchOrders, Method::GET, ORDERS.to_owned())
            .query(query.to_query(pagination_token)?);
        self.send_json(seller, request).await
    }

    /// Every order matching `query`, following `nextToken` to the last page.
    pub async fn search_all_orders(
        &self,
        seller: &SellerAuth,
        query: &SearchOrdersQuery,
    ) -> Result<Vec<ApiOrder>, AmazonError> {
        let mut page = self.search_orders(seller, query, None).await?;
        let mut orders = std::mem::take(&mut page.orders);
        while let Some(token) = page.pagination.take().and_then(|p| p.next_token) {
            let next = self.search_orders(seller, query, Some(&token)).await?;
            if next.pagination.as_ref().and_then(|p| p.next_token.as_deref()) == Some(token.as_str()) {
                return Err(super::reports::repeated_token(Operation::SearchOrders));
            }
            page = next;
            orders.append(&mut page.orders);
        }
        Ok(orders)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rust_decimal::Decimal;

    use super::*;

    /// The model's `getOrder` 200 example (orders_2026-01-01.json), trimmed of datasets sellersync does not type
    /// but keeping some of them (`proceeds.breakdowns`, `packages`, `fulfillmentOrders`, `serialNumbers`,
    /// `shippingConstraints`) to show they are ignored.
    const MODEL_GET_ORDER: &str = r#"{"order":{"orderId":"202-1234567-8901234",
      "orderAliases":[{"aliasId":"UK-MERCHANT-ORDER-2024-001","aliasType":"SELLER_ORDER_ID"}],
      "createdTime":"2024-12-25T09:15:00Z","lastUpdatedTime":"2024-12-25T16:30:00Z","programs":["PRIME"],
      "salesChannel":{"channelName":"AMAZON","marketplaceId":"A1F83G8C2ARO7P","marketplaceName":"Amazon.co.uk"},
      "buyer":{"buyerName":"James Wilson","buyerEmail":"buyer-email@marketplace.amazon.co.uk"},
      "recipient":{"deliveryAddress":{"name":"James Wilson","companyName":"Wilson Electronics Ltd",
        "addressLine1":"123 High Street","addressLine2":"Unit 4B","addressLine3":"","city":"Manchester",
        "districtOrCounty":"Greater Manchester","stateOrRegion":"England","municipality":"","postalCode":"M1 2AB",
        "countryCode":"GB","phone":"+44 161 123 4567","addressType":"COMMERCIAL"}},
      "proceeds":{"grandTotal":{"amount":"103.97","currencyCode":"GBP"},
        "breakdowns":[{"type":"ITEM","subtotal":{"amount":"89.97","currencyCode":"GBP"}}]},
      "fulfillment":{"fulfillmentStatus":"SHIPPED","fulfilledBy":"MERCHANT","fulfillmentServiceLevel":"STANDARD",
        "shipByWindow":{"earliestDateTime":"2024-12-25T00:00:00Z","latestDateTime":"2024-12-26T23:59:59Z"},
        "deliverByWindow":{"earliestDateTime":"2024-12-27T00:00:00Z","latestDateTime":"2024-12-30T23:59:59Z"}},
      "orderItems":[{"orderItemId":"20212345678901","quantityOrdered":3,"programs":["TRANSPARENCY"],
        "product":{"asin":"B08DFPV54V","title":"Echo Dot (4th Gen)","sellerSku":"ECHO-DOT-4-UK-CHARCOAL-3PACK",
          "condition":{"conditionType":"NEW","conditionSubtype":"NEW"},
          "price":{"unitPrice":{"amount":"29.99","currencyCode":"GBP"},"priceDesignation":"BUSINESS_PRICE"},
          "serialNumbers":["ED4UK-2024-ABC123456789"],"customization":{"customizedUrl":""}},
        "fulfillment":{"quantityFulfilled":3,"quantityUnfulfilled":0,
          "packing":{"giftOption":{"giftMessage":"Happy Christmas! Hope you enjoy your new smart speakers.",
            "giftWrapLevel":"PREMIUM"}},
          "shipping":{"shippingConstraints":{"signatureConfirmation":"MANDATORY"}}}}],
      "packages":[{"packageReferenceId":"UK-PKG-2024-001","carrier":"Royal Mail"}],
      "fulfillmentOrders":[{"fulfillmentOrderId":"LdDv2jxM4"}]}}"#;

    fn model_order() -> ApiOrder {
        serde_json::from_str::<GetOrderResponse>(MODEL_GET_ORDER)
            .unwrap()
            .order
    }

    #[test]
    fn the_models_example_makes_an_order_as_reports_would_show_it_less_taxes_shipping_and_postal_code() {
        let order = model_order().to_order().unwrap();
        assert_eq!(order.amazon_order_id, "202-1234567-8901234");
        assert_eq!(
            order.merchant_order_id.as_deref(),
            Some("UK-MERCHANT-ORDER-2024-001")
        );
        assert_eq!(order.status, OrderStatus::Shipped);
        assert_eq!(order.fulfillment_channel, FulfillmentChannel::Mfn);
        assert_eq!(order.marketplace_id.as_deref(), Some("A1F83G8C2ARO7P"));
        assert_eq!(order.sales_channel, "Amazon.co.uk");
        assert_eq!(
            order.last_updated,
            Utc.with_ymd_and_hms(2024, 12, 25, 16, 30, 0).unwrap()
        );
        assert_eq!(order.ship_to.country.as_deref(), Some("GB"));
        assert_eq!(order.ship_to.city.as_deref(), Some("Manchester"));
        assert_eq!(
            order.ship_to.postal_code, None,
            "the postal code is PII in the Orders API"
        );
        let item = &order.items[0];
        assert_eq!(
            (item.sku.as_str(), item.quantity),
            ("ECHO-DOT-4-UK-CHARCOAL-3PACK", 3)
        );
        let price = item.amounts.item_price.as_ref().unwrap();
        assert_eq!(price.amount, Decimal::new(8997, 2), "3 x 29.99");
        assert_eq!(item.amounts.item_tax, None);

        // What is missing is named.
        let mut bare = model_order();
        bare.fulfillment = None;
        assert!(bare.to_order().unwrap_err().contains("fulfillment"));
        let mut no_sku = model_order();
        no_sku.order_items[0].product.seller_sku = None;
        assert!(no_sku.to_order().unwrap_err().contains("sellerSku"));
    }

    #[test]
    fn the_models_get_order_example_reads_with_what_a_seller_ships_from() {
        let order = model_order();
        assert_eq!(order.order_id, "202-1234567-8901234");
        assert_eq!(order.seller_order_id(), Some("UK-MERCHANT-ORDER-2024-001"));
        assert_eq!(
            order.last_updated_time,
            Utc.with_ymd_and_hms(2024, 12, 25, 16, 30, 0).unwrap()
        );
        assert!(order.has_program("PRIME") && !order.has_program("AMAZON_BUSINESS"));
        let fulfillment = order.fulfillment.as_ref().unwrap();
        assert_eq!(fulfillment.fulfillment_status, FulfillmentStatus::Shipped);
        assert_eq!(fulfillment.fulfilled_by, Some(FulfilledBy::Merchant));
        assert_eq!(
            fulfillment.ship_by_window.unwrap().latest_date_time,
            Some(Utc.with_ymd_and_hms(2024, 12, 26, 23, 59, 59).unwrap())
        );
        let item = &order.order_items[0];
        assert_eq!(item.order_item_id, "20212345678901");
        assert_eq!(
            item.product.seller_sku.as_deref(),
            Some("ECHO-DOT-4-UK-CHARCOAL-3PACK")
        );
        let unit = item.product.price.as_ref().unwrap().unit_price.as_ref().unwrap();
        assert_eq!(unit.amount, Decimal::new(2999, 2));
        let item_fulfillment = item.fulfillment.as_ref().unwrap();
        assert_eq!(
            (
                item_fulfillment.quantity_fulfilled,
                item_fulfillment.quantity_unfulfilled
            ),
            (Some(3), Some(0))
        );
        let gift = item_fulfillment
            .packing
            .as_ref()
            .unwrap()
            .gift_option
            .as_ref()
            .unwrap();
        assert_eq!(gift.gift_wrap_level.as_deref(), Some("PREMIUM"));
        assert!(
            gift.gift_message
                .as_ref()
                .unwrap()
                .expose()
                .starts_with("Happy Christmas")
        );
        let customized = item
            .product
            .customization
            .as_ref()
            .unwrap()
            .customized_url
            .as_ref()
            .unwrap();
        assert_eq!(
            customized.non_empty(),
            None,
            "the example's empty customizedUrl is no personalisation"
        );
        let address = order
            .recipient
            .as_ref()
            .unwrap()
            .delivery_address
            .as_ref()
            .unwrap();
        assert_eq!(
            address.address_line1.as_ref().unwrap().expose(),
            "123 High Street"
        );
        assert_eq!(address.country_code.as_deref(), Some("GB"));
        assert_eq!(
            order.proceeds.unwrap().grand_total.unwrap().amount,
            Decimal::new(10397, 2)
        );
    }

    #[test]
    fn no_pii_of_the_example_reaches_debug_output() {
        let order = model_order();
        let text = format!("{order:?} {order:#?}");
        for pii in [
            "James Wilson",
            "buyer-email@",
            "123 High Street",
            "Unit 4B",
            "M1 2AB",
            "+44 161",
            "Happy Christmas",
        ] {
            assert!(!text.contains(pii), "{pii} in {text}");
        }
        assert!(text.contains("202-1234567-8901234") && text.contains("Manchester"));
    }

    #[test]
    fn values_amazon_adds_later_and_withheld_datasets_still_read() {
        // Without includedData an order is its id, times, channel and items; the statuses, programs and
        // requesters Amazon documents as open lists may grow.
        let bare: GetOrderResponse = serde_json::from_str(
            r#"{"order":{"orderId":"1","createdTime":"2026-01-02T03:04:05Z","lastUpdatedTime":"2026-01-02T03:04:05.123Z",
            "salesChannel":{"channelName":"AMAZON"},"newThing":{"x":1},
            "orderItems":[{"orderItemId":"9","quantityOrdered":1,"product":{}}]}}"#,
        )
        .unwrap();
        assert!(bare.order.buyer.is_none() && bare.order.fulfillment.is_none());
        let future: OrderFulfillment = serde_json::from_str(
            r#"{"fulfillmentStatus":"AWAITING_PICKUP","fulfilledBy":"PARTNER","extra":true}"#,
        )
        .unwrap();
        assert_eq!(future.fulfillment_status, FulfillmentStatus::Other);
        assert_eq!(future.fulfilled_by, Some(FulfilledBy::Other));
        let item: ApiOrderItem = serde_json::from_str(
            r#"{"orderItemId":"9","quantityOrdered":2,"product":{"sellerSku":"S"},
            "cancellation":{"cancellationRequest":{"requester":"BUYER","cancelReason":"Ordered by mistake"}}}"#,
        )
        .unwrap();
        let request = item.cancellation.unwrap().cancellation_request.unwrap();
        assert_eq!(request.requester.as_deref(), Some("BUYER"));
        assert_eq!(request.cancel_reason.as_deref(), Some("Ordered by mistake"));
    }

    #[test]
    fn the_example_splits_into_shipping_details_and_pii_kept_apart() {
        let (details, pii) = model_order().split(true);
        assert_eq!(details.amazon_order_id, "202-1234567-8901234");
        assert_eq!(details.fulfillment_status, "SHIPPED");
        assert_eq!(details.fulfilled_by.as_deref(), Some("MERCHANT"));
        assert!(details.is_prime() && !details.needs_shipping());
        assert_eq!(
            details.deliver_by.latest,
            Some(Utc.with_ymd_and_hms(2024, 12, 30, 23, 59, 59).unwrap())
        );
        let item = &details.items[0];
        assert_eq!(
            (item.order_item_id.as_str(), item.sku.as_deref()),
            ("20212345678901", Some("ECHO-DOT-4-UK-CHARCOAL-3PACK"))
        );
        assert_eq!(
            (item.quantity_ordered, item.quantity_shipped, item.quantity_left),
            (3, 3, 0)
        );
        assert_eq!(item.gift_wrap_level.as_deref(), Some("PREMIUM"));
        assert_eq!(details.pii, PiiAvailability::Given);
        let details_json = serde_json::to_string(&details).unwrap();
        for secret in [
            "James",
            "High Street",
            "M1 2AB",
            "+44",
            "Happy Christmas",
            "buyer-email",
        ] {
            assert!(!details_json.contains(secret), "{secret} in {details_json}");
        }
        assert_eq!(pii.buyer.ship_to.address_1.as_deref(), Some("123 High Street"));
        assert_eq!(pii.buyer.ship_to.address_3, None, "empty strings are no data");
        assert_eq!(pii.buyer.buyer_name.as_deref(), Some("James Wilson"));
        assert_eq!(pii.gift_messages.len(), 1);
        assert!(pii.customized_urls.is_empty());
        assert!(!format!("{pii:?}").contains("James"));
    }

    #[test]
    fn pii_asked_for_and_left_out_is_withheld() {
        let mut order = model_order();
        order.buyer = None;
        order.recipient = None;
        let (details, pii) = order.split(true);
        assert_eq!(details.pii, PiiAvailability::Withheld);
        assert!(pii.buyer.ship_to.is_empty());
        let (details, _) = model_order().split(false);
        assert_eq!(details.pii, PiiAvailability::Withheld, "not asked for");
    }

    #[test]
    fn search_orders_queries_follow_the_models_rules() {
        let since = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let query = SearchOrdersQuery {
            last_updated_after: Some(since),
            fulfillment_statuses: vec![FulfillmentStatus::Unshipped, FulfillmentStatus::PartiallyShipped],
            marketplace_ids: vec!["A1PA6795UKMFR9".into(), "A13V1IB3VIYZZH".into()],
            fulfilled_by: vec![FulfilledBy::Merchant],
            max_results_per_page: Some(100),
            included_data: vec![IncludedData::Fulfillment, IncludedData::Recipient],
            ..SearchOrdersQuery::default()
        };
        assert_eq!(
            query.to_query(Some("tok")).unwrap(),
            vec![
                ("lastUpdatedAfter", "2026-01-02T03:04:05Z".to_owned()),
                ("fulfillmentStatuses", "UNSHIPPED,PARTIALLY_SHIPPED".to_owned()),
                ("marketplaceIds", "A1PA6795UKMFR9,A13V1IB3VIYZZH".to_owned()),
                ("fulfilledBy", "MERCHANT".to_owned()),
                ("maxResultsPerPage", "100".to_owned()),
                ("includedData", "FULFILLMENT,RECIPIENT".to_owned()),
                ("paginationToken", "tok".to_owned()),
            ]
        );
        let neither = SearchOrdersQuery::default();
        let mixed = SearchOrdersQuery {
            created_after: Some(since),
            last_updated_before: Some(since),
            ..SearchOrdersQuery::default()
        };
        let too_big = SearchOrdersQuery {
            created_after: Some(since),
            max_results_per_page: Some(101),
            ..SearchOrdersQuery::default()
        };
        for wrong in [neither, mixed, too_big] {
            assert!(
                matches!(wrong.to_query(None), Err(AmazonError::Misconfigured(_))),
                "{wrong:?}"
            );
        }
    }
}
