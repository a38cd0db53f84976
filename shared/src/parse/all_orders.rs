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
use chrono::DateTime;
use compact_str::CompactString;

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
///
/// Iterate to own each order, or call [`AllOrdersFlat::visit`] to borrow them: that refills one order in
/// place and so allocates nothing per order, for callers that only convert or count.
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
            fallback_currency: None,
            spare_items: Vec::new(),
        };
        Ok(AllOrdersFlat {
            inner: Grouped::new(rows, parser),
        })
    }

    /// Lends every remaining entry to `visit`, then returns the final summary. The lent order is only valid
    /// during the call: it is refilled in place for the next one. Stops at the first document error.
    pub fn visit(&mut self, visit: impl FnMut(Parsed<&Order>)) -> Result<ParseSummary, ParseError> {
        self.inner.visit(visit)
    }

    /// Counts so far; final once the iterator has ended.
    pub fn summary(&self) -> ParseSummary {
        self.inner.summary()
    }
}

impl<R: Read> Iterator for AllOrdersFlat<R> {
    type Item = Result<Parsed<Order>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next_owned()
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
    /// The currency the current order's marketplace implies, for rows whose currency cell is empty.
    fallback_currency: Option<Currency>,
    /// Lines of earlier orders, kept for their buffers; never more than the largest order had.
    spare_items: Vec<OrderItem>,
}

impl GroupParser for AllOrdersParser {
    type Record = Order;

    fn id_column(&self) -> (usize, &'static str) {
        // Required, so resolved.
        (self.columns[ORDER_ID].unwrap_or(usize::MAX), COLUMNS[ORDER_ID].0)
    }

    fn empty(&self) -> Order {
        Order {
            amazon_order_id: CompactString::default(),
            merchant_order_id: None,
            purchase_date: DateTime::UNIX_EPOCH,
            last_updated: DateTime::UNIX_EPOCH,
            status: OrderStatus::Pending,
            fulfillment_channel: FulfillmentChannel::Mfn,
            sales_channel: CompactString::default(),
            marketplace_id: None,
            ship_service_level: None,
            ship_to: ShipTo::default(),
            is_business_order: false,
            purchase_order_number: None,
            items: Vec::new(),
        }
    }

    fn begin(&mut self, row: &Row<'_>, order: &mut Order) -> CellResult<()> {
        let columns = self.columns;
        let c = |column: usize| row.get(columns[column]);
        let marketplace = self.channel_cache.lookup(c(SALES_CHANNEL));
        self.fallback_currency = marketplace.and_then(|m| Currency::parse("currency", m.currency).ok());
        order.purchase_date = value::date("purchase-date", c(PURCHASE_DATE))?;
        order.last_updated = self.last_updated.date("last-updated-date", c(LAST_UPDATED))?;
        order.status = order_status("order-status", c(ORDER_STATUS))?;
        order.fulfillment_channel = fulfillment_channel("fulfillment-channel", c(FULFILLMENT_CHANNEL))?;
        order.is_business_order = value::flag("is-business-order", c(IS_BUSINESS_ORDER))?;
        value::set_required_text("amazon-order-id", &mut order.amazon_order_id, c(ORDER_ID))?;
        value::set_opt_text(&mut order.merchant_order_id, c(MERCHANT_ORDER_ID));
        value::set_text(&mut order.sales_channel, c(SALES_CHANNEL));
        value::set_opt_text(&mut order.marketplace_id, marketplace.map_or("", |m| m.id));
        value::set_opt_text(&mut order.ship_service_level, c(SHIP_SERVICE_LEVEL));
        value::set_opt_text(&mut order.ship_to.city, c(SHIP_CITY));
        value::set_opt_text(&mut order.ship_to.state, c(SHIP_STATE));
        value::set_opt_text(&mut order.ship_to.postal_code, c(SHIP_POSTAL_CODE));
        value::set_opt_text(&mut order.ship_to.country, c(SHIP_COUNTRY));
        value::set_opt_text(&mut order.purchase_order_number, c(PURCHASE_ORDER_NUMBER));
        self.spare_items.append(&mut order.items);
        Ok(())
    }

    fn add(&mut self, row: &Row<'_>, order: &mut Order) -> CellResult<()> {
        let columns = self.columns;
        let c = |column: usize| row.get(columns[column]);
        // Rows of one order can carry different update dates; the order is as new as its newest row.
        let updated = self.last_updated.date("last-updated-date", c(LAST_UPDATED))?;
        let currency = value::currency("currency", c(CURRENCY))?.or(self.fallback_currency);
        let quantity = value::quantity("quantity", c(QUANTITY))?;
        let amounts = amounts(|i| c(AMOUNTS + i), currency)?;
        let sku = c(SKU).trim_ascii();
        if sku.is_empty() {
            return Err(CellError::new("sku", "empty"));
        }
        let mut item = self.spare_items.pop().unwrap_or_else(|| OrderItem {
            sku: CompactString::default(),
            asin: CompactString::default(),
            product_name: CompactString::default(),
            item_status: None,
            quantity: 0,
            amounts: ItemAmounts::default(),
            promotion_ids: Vec::new(),
        });
        value::set_text(&mut item.sku, sku);
        value::set_text(&mut item.asin, c(ASIN));
        value::set_text(&mut item.product_name, c(PRODUCT_NAME));
        value::set_opt_text(&mut item.item_status, c(ITEM_STATUS));
        item.quantity = quantity;
        item.amounts = amounts;
        item.promotion_ids.clear();
        item.promotion_ids.extend(promotion_ids(c(PROMOTION_IDS)));
        order.last_updated = order.last_updated.max(updated);
        // Grow one line at a time: doubling would soon ask for more than the allocator's fast path serves.
        order.items.reserve_exact(1);
        order.items.push(item);
        Ok(())
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

/// The comma-separated ids of a `promotion-ids` cell.
pub(crate) fn promotion_ids(cell: &str) -> impl Iterator<Item = CompactString> + '_ {
    cell.split(',').filter_map(value::opt_text)
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
