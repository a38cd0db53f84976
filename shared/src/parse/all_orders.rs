//! `GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL` (and `_BY_ORDER_DATE_GENERAL`): one row per order
//! line, rows of one order adjacent, grouped into [`Order`]s.
//!
//! Columns the domain does not hold are ignored: `order-channel`, `url`, `cpf`, `price-designation`,
//! `signature-confirmation-recommended`, `number-of-items`, `tax-collection-*`, `address-type`.

use std::fmt;
use std::io::Read;

use super::charset::Charset;
use super::group::{GroupParser, Grouped};
use super::tsv::{Header, Row, TsvReader};
use super::value::{self, CellError, CellResult, DateCache};
use super::{ParseSummary, Parsed};
use crate::domain::{
    Currency, FulfillmentChannel, ItemAmounts, Marketplace, Order, OrderItem, OrderStatus, ShipTo,
};
use crate::error::ParseError;

const ORDER_ID: usize = 0;
const MERCHANT_ORDER_ID: usize = 1;
const PURCHASE_DATE: usize = 2;
const LAST_UPDATED: usize = 3;
const ORDER_STATUS: usize = 4;
const FULFILLMENT_CHANNEL: usize = 5;
const SALES_CHANNEL: usize = 6;
const SHIP_SERVICE_LEVEL: usize = 7;
const PRODUCT_NAME: usize = 8;
const SKU: usize = 9;
const ASIN: usize = 10;
const ITEM_STATUS: usize = 11;
const QUANTITY: usize = 12;
const CURRENCY: usize = 13;
/// The eight amount columns, in [`ItemAmounts`] field order.
const AMOUNTS: usize = 14;
const SHIP_CITY: usize = 22;
const SHIP_STATE: usize = 23;
const SHIP_POSTAL_CODE: usize = 24;
const SHIP_COUNTRY: usize = 25;
const PROMOTION_IDS: usize = 26;
const IS_BUSINESS_ORDER: usize = 27;
const PURCHASE_ORDER_NUMBER: usize = 28;

const COLUMNS: [(&str, bool); 29] = [
    ("amazon-order-id", true),
    ("merchant-order-id", false),
    ("purchase-date", true),
    ("last-updated-date", true),
    ("order-status", true),
    ("fulfillment-channel", true),
    ("sales-channel", false),
    ("ship-service-level", false),
    ("product-name", false),
    ("sku", true),
    ("asin", false),
    ("item-status", false),
    ("quantity", true),
    ("currency", false),
    ("item-price", false),
    ("item-tax", false),
    ("shipping-price", false),
    ("shipping-tax", false),
    ("gift-wrap-price", false),
    ("gift-wrap-tax", false),
    ("item-promotion-discount", false),
    ("ship-promotion-discount", false),
    ("ship-city", false),
    ("ship-state", false),
    ("ship-postal-code", false),
    ("ship-country", false),
    ("promotion-ids", false),
    ("is-business-order", false),
    ("purchase-order-number", false),
];

/// Reads an all-orders flat file into [`Order`]s.
///
/// Rows of one order are grouped while they are adjacent, as Amazon writes them. If an order id comes back
/// after other orders, its later rows are yielded as another record with `split` set (see
/// [`super::Record::split`]); the caller merges. A bad row quarantines its whole order.
pub struct AllOrdersFlat<R: Read> {
    inner: Grouped<R, AllOrdersParser>,
}

impl<R: Read> AllOrdersFlat<R> {
    /// Reads the header of `input`, the document's bytes in `charset` (see [`Charset::from_content_type`]);
    /// fails if the document is empty or lacks a required column (`amazon-order-id`, `purchase-date`,
    /// `last-updated-date`, `order-status`, `fulfillment-channel`, `sku`, `quantity`).
    pub fn new(input: R, charset: Charset) -> Result<Self, ParseError> {
        let mut rows = TsvReader::new(input, charset);
        let columns = Header::read(&mut rows)?.resolve(COLUMNS)?;
        let parser = AllOrdersParser {
            columns,
            channel_cache: ChannelCache::default(),
            last_updated: DateCache::default(),
        };
        Ok(AllOrdersFlat {
            inner: Grouped::new(rows, parser),
        })
    }

    /// Counts so far; final once the iterator has ended.
    pub fn summary(&self) -> ParseSummary {
        self.inner.summary()
    }
}

impl<R: Read> Iterator for AllOrdersFlat<R> {
    type Item = Result<Parsed<Order>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next_entry()
    }
}

impl<R: Read> fmt::Debug for AllOrdersFlat<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllOrdersFlat")
            .field("summary", &self.summary())
            .finish_non_exhaustive()
    }
}

struct AllOrdersParser {
    columns: [Option<usize>; 29],
    channel_cache: ChannelCache,
    last_updated: DateCache,
}

/// An order being built, with the currency its marketplace implies for rows whose currency cell is empty.
struct Partial {
    order: Order,
    fallback_currency: Option<Currency>,
}

impl GroupParser for AllOrdersParser {
    type Partial = Partial;
    type Record = Order;

    fn id_column(&self) -> (usize, &'static str) {
        // Required, so resolved.
        (self.columns[ORDER_ID].unwrap_or(usize::MAX), COLUMNS[ORDER_ID].0)
    }

    fn begin(&mut self, row: &Row<'_>) -> CellResult<Partial> {
        let columns = self.columns;
        let c = |column: usize| row.get(columns[column]);
        let marketplace = self.channel_cache.lookup(c(SALES_CHANNEL));
        let order = Order {
            amazon_order_id: value::required_text("amazon-order-id", c(ORDER_ID))?,
            merchant_order_id: value::opt_text(c(MERCHANT_ORDER_ID)),
            purchase_date: value::date("purchase-date", c(PURCHASE_DATE))?,
            last_updated: self.last_updated.date("last-updated-date", c(LAST_UPDATED))?,
            status: order_status("order-status", c(ORDER_STATUS))?,
            fulfillment_channel: fulfillment_channel("fulfillment-channel", c(FULFILLMENT_CHANNEL))?,
            sales_channel: value::text(c(SALES_CHANNEL)),
            marketplace_id: marketplace.map(|m| m.id.to_owned()),
            ship_service_level: value::opt_text(c(SHIP_SERVICE_LEVEL)),
            ship_to: ShipTo {
                city: value::opt_text(c(SHIP_CITY)),
                state: value::opt_text(c(SHIP_STATE)),
                postal_code: value::opt_text(c(SHIP_POSTAL_CODE)),
                country: value::opt_text(c(SHIP_COUNTRY)),
            },
            is_business_order: value::flag("is-business-order", c(IS_BUSINESS_ORDER))?,
            purchase_order_number: value::opt_text(c(PURCHASE_ORDER_NUMBER)),
            // Most orders have one line; a bigger first allocation would leave the allocator's fast path.
            items: Vec::with_capacity(1),
        };
        let fallback_currency = marketplace.and_then(|m| Currency::parse("currency", m.currency).ok());
        Ok(Partial {
            order,
            fallback_currency,
        })
    }

    fn add(&mut self, partial: &mut Partial, row: &Row<'_>) -> CellResult<()> {
        let columns = self.columns;
        let c = |column: usize| row.get(columns[column]);
        // Rows of one order can carry different update dates; the order is as new as its newest row.
        let updated = self.last_updated.date("last-updated-date", c(LAST_UPDATED))?;
        let currency = value::currency("currency", c(CURRENCY))?.or(partial.fallback_currency);
        let item = OrderItem {
            sku: value::required_text("sku", c(SKU))?,
            asin: value::text(c(ASIN)),
            product_name: value::text(c(PRODUCT_NAME)),
            item_status: value::opt_text(c(ITEM_STATUS)),
            quantity: value::quantity("quantity", c(QUANTITY))?,
            amounts: amounts(|i| c(AMOUNTS + i), currency)?,
            promotion_ids: promotion_ids(c(PROMOTION_IDS)),
        };
        partial.order.last_updated = partial.order.last_updated.max(updated);
        // Grow one line at a time: doubling would soon ask for more than the allocator's fast path serves.
        partial.order.items.reserve_exact(1);
        partial.order.items.push(item);
        Ok(())
    }

    fn finish(&mut self, partial: Partial) -> Order {
        partial.order
    }
}

/// The eight amount cells, `cell(0..8)` in [`ItemAmounts`] field order.
pub(crate) fn amounts<'a>(
    cell: impl Fn(usize) -> &'a str,
    currency: Option<Currency>,
) -> CellResult<ItemAmounts> {
    const NAMES: [&str; 8] = [
        "item-price",
        "item-tax",
        "shipping-price",
        "shipping-tax",
        "gift-wrap-price",
        "gift-wrap-tax",
        "item-promotion-discount",
        "ship-promotion-discount",
    ];
    let m = |i: usize| value::money(NAMES[i], cell(i), currency);
    Ok(ItemAmounts {
        item_price: m(0)?,
        item_tax: m(1)?,
        shipping_price: m(2)?,
        shipping_tax: m(3)?,
        gift_wrap_price: m(4)?,
        gift_wrap_tax: m(5)?,
        item_promotion_discount: m(6)?,
        ship_promotion_discount: m(7)?,
    })
}

pub(crate) fn promotion_ids(cell: &str) -> Vec<String> {
    let cell = cell.trim_ascii();
    if cell.is_empty() {
        return Vec::new();
    }
    cell.split(',').filter_map(value::opt_text).collect()
}

/// `order-status`, with the common spellings matched without allocating.
pub(crate) fn order_status(column: &'static str, cell: &str) -> CellResult<OrderStatus> {
    Ok(match cell.trim_ascii() {
        "" => return Err(CellError::new(column, "empty")),
        "Shipped" => OrderStatus::Shipped,
        "Pending" => OrderStatus::Pending,
        "Cancelled" => OrderStatus::Cancelled,
        "Unshipped" => OrderStatus::Unshipped,
        other => OrderStatus::parse(other),
    })
}

/// `fulfillment-channel`: `Amazon`/`AFN` or `Merchant`/`MFN`.
pub(crate) fn fulfillment_channel(column: &'static str, cell: &str) -> CellResult<FulfillmentChannel> {
    let s = cell.trim_ascii();
    if s.eq_ignore_ascii_case("amazon") || s.eq_ignore_ascii_case("afn") {
        Ok(FulfillmentChannel::Afn)
    } else if s.eq_ignore_ascii_case("merchant") || s.eq_ignore_ascii_case("mfn") {
        Ok(FulfillmentChannel::Mfn)
    } else {
        Err(CellError::new(column, "expected Amazon, Merchant, AFN or MFN"))
    }
}

/// The marketplace of the last `sales-channel` seen: rows of a report nearly always share one.
#[derive(Default)]
pub(crate) struct ChannelCache {
    channel: String,
    marketplace: Option<&'static Marketplace>,
}

impl ChannelCache {
    pub(crate) fn lookup(&mut self, channel: &str) -> Option<&'static Marketplace> {
        let channel = channel.trim_ascii();
        if channel != self.channel {
            self.channel.clear();
            self.channel.push_str(channel);
            self.marketplace = Marketplace::by_sales_channel(channel);
        }
        self.marketplace
    }
}

#[cfg(test)]
mod tests;
