//! `GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING` (restricted: buyer PII): unshipped merchant-fulfilled
//! orders with the order-item ids shipment feeds quote, and the buyer's details kept apart as [`BuyerPii`].
//! Also reads the legacy order report (`GET_FLAT_FILE_ORDERS_DATA`), which shares its key columns.

use std::fmt;
use std::io::Read;

use chrono::DateTime;

use super::charset::Charset;
use super::group::{GroupParser, Grouped};
use super::tsv::{Header, Row, TsvReader};
use super::value::{self, CellResult};
use super::{ParseSummary, Parsed, WithBuyer};
use crate::domain::{BuyerPii, PostalAddress, UnshippedItem, UnshippedOrder};
use crate::error::ParseError;

const ORDER_ID: usize = 0;
const ORDER_ITEM_ID: usize = 1;
const PURCHASE_DATE: usize = 2;
const PAYMENTS_DATE: usize = 3;
const REPORTING_DATE: usize = 4;
const PROMISE_DATE: usize = 5;
const BUYER_EMAIL: usize = 6;
const BUYER_NAME: usize = 7;
const BUYER_PHONE: usize = 8;
const SKU: usize = 9;
const PRODUCT_NAME: usize = 10;
const QUANTITY_PURCHASED: usize = 11;
const QUANTITY_SHIPPED: usize = 12;
const QUANTITY_TO_SHIP: usize = 13;
const SHIP_SERVICE_LEVEL: usize = 14;
const RECIPIENT_NAME: usize = 15;
const SHIP_ADDRESS_1: usize = 16;
const SHIP_CITY: usize = 19;
const SHIP_STATE: usize = 20;
const SHIP_POSTAL_CODE: usize = 21;
const SHIP_COUNTRY: usize = 22;
const SHIP_PHONE: usize = 23;
const IS_BUSINESS_ORDER: usize = 24;
const PURCHASE_ORDER_NUMBER: usize = 25;
const IS_PRIME: usize = 26;
const SALES_CHANNEL: usize = 27;
const ITEM_NAME: usize = 28;

const COLUMNS: [(&str, bool); 29] = [
    ("order-id", true),
    ("order-item-id", true),
    ("purchase-date", true),
    ("payments-date", false),
    ("reporting-date", false),
    ("promise-date", false),
    ("buyer-email", false),
    ("buyer-name", false),
    ("buyer-phone-number", false),
    ("sku", true),
    ("product-name", false),
    ("quantity-purchased", true),
    ("quantity-shipped", false),
    ("quantity-to-ship", false),
    ("ship-service-level", false),
    ("recipient-name", false),
    ("ship-address-1", false),
    ("ship-address-2", false),
    ("ship-address-3", false),
    ("ship-city", false),
    ("ship-state", false),
    ("ship-postal-code", false),
    ("ship-country", false),
    ("ship-phone-number", false),
    ("is-business-order", false),
    ("purchase-order-number", false),
    ("is-prime", false),
    ("sales-channel", false),
    // The EU edition of the legacy order report says item-name for product-name.
    ("item-name", false),
];

/// Reads the unshipped-orders report into [`UnshippedOrder`]s, each with its [`BuyerPii`] apart.
///
/// Rows of one order are grouped while adjacent; see [`super::Record::split`] for ids that come back later.
/// A bad row quarantines its whole order. Quarantine reasons name columns only, never values.
pub struct UnshippedOrdersFlat<R: Read> {
    inner: Grouped<R, UnshippedParser>,
}

impl<R: Read> UnshippedOrdersFlat<R> {
    /// Reads the header of `input`, the document's bytes in `charset`; fails if the document is empty or
    /// lacks a required column (`order-id`, `order-item-id`, `purchase-date`, `sku`, `quantity-purchased`).
    pub fn new(input: R, charset: Charset) -> Result<Self, ParseError> {
        let mut rows = TsvReader::new(input, charset);
        let columns = Header::read(&mut rows)?.resolve(COLUMNS)?;
        Ok(UnshippedOrdersFlat {
            inner: Grouped::new(rows, UnshippedParser { columns }),
        })
    }

    /// Lends every remaining entry to `visit`, then returns the final summary; see
    /// [`super::AllOrdersFlat::visit`].
    pub fn visit(
        &mut self,
        visit: impl FnMut(Parsed<&WithBuyer<UnshippedOrder>>),
    ) -> Result<ParseSummary, ParseError> {
        self.inner.visit(visit)
    }

    /// Counts so far; final once the iterator has ended.
    pub fn summary(&self) -> ParseSummary {
        self.inner.summary()
    }
}

impl<R: Read> Iterator for UnshippedOrdersFlat<R> {
    type Item = Result<Parsed<WithBuyer<UnshippedOrder>>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next_owned()
    }
}

impl<R: Read> fmt::Debug for UnshippedOrdersFlat<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnshippedOrdersFlat")
            .field("summary", &self.summary())
            .finish_non_exhaustive()
    }
}

struct UnshippedParser {
    columns: [Option<usize>; 29],
}

impl GroupParser for UnshippedParser {
    type Record = WithBuyer<UnshippedOrder>;

    fn id_column(&self) -> (usize, &'static str) {
        // Required, so resolved.
        (self.columns[ORDER_ID].unwrap_or(usize::MAX), COLUMNS[ORDER_ID].0)
    }

    fn empty(&self) -> Self::Record {
        WithBuyer {
            data: UnshippedOrder {
                amazon_order_id: String::new(),
                purchase_date: DateTime::UNIX_EPOCH,
                payments_date: None,
                reporting_date: None,
                promise_date: None,
                ship_service_level: None,
                sales_channel: None,
                is_business_order: false,
                purchase_order_number: None,
                is_prime: false,
                items: Vec::new(),
            },
            buyer: None,
        }
    }

    fn begin(&mut self, row: &Row<'_>, record: &mut Self::Record) -> CellResult<()> {
        let c = |column: usize| row.get(self.columns[column]);
        let amazon_order_id: String = value::required_text("order-id", c(ORDER_ID))?;
        let order = UnshippedOrder {
            amazon_order_id: amazon_order_id.clone(),
            purchase_date: value::date("purchase-date", c(PURCHASE_DATE))?,
            payments_date: value::opt_date("payments-date", c(PAYMENTS_DATE))?,
            reporting_date: value::opt_date("reporting-date", c(REPORTING_DATE))?,
            promise_date: value::opt_date("promise-date", c(PROMISE_DATE))?,
            ship_service_level: value::opt_text(c(SHIP_SERVICE_LEVEL)),
            sales_channel: value::opt_text(c(SALES_CHANNEL)),
            is_business_order: value::flag("is-business-order", c(IS_BUSINESS_ORDER))?,
            purchase_order_number: value::opt_text(c(PURCHASE_ORDER_NUMBER)),
            is_prime: value::flag("is-prime", c(IS_PRIME))?,
            items: Vec::new(),
        };
        let buyer = BuyerPii {
            amazon_order_id,
            buyer_name: value::opt_text(c(BUYER_NAME)),
            buyer_email: value::opt_text(c(BUYER_EMAIL)),
            buyer_phone: value::opt_text(c(BUYER_PHONE)),
            ship_to: PostalAddress {
                name: value::opt_text(c(RECIPIENT_NAME)),
                address_1: value::opt_text(c(SHIP_ADDRESS_1)),
                address_2: value::opt_text(c(SHIP_ADDRESS_1 + 1)),
                address_3: value::opt_text(c(SHIP_ADDRESS_1 + 2)),
                city: value::opt_text(c(SHIP_CITY)),
                state: value::opt_text(c(SHIP_STATE)),
                postal_code: value::opt_text(c(SHIP_POSTAL_CODE)),
                country: value::opt_text(c(SHIP_COUNTRY)),
                phone: value::opt_text(c(SHIP_PHONE)),
            },
            bill_to: None,
        };
        *record = WithBuyer {
            data: order,
            buyer: Some(buyer),
        };
        Ok(())
    }

    fn add(&mut self, row: &Row<'_>, record: &mut Self::Record) -> CellResult<()> {
        let c = |column: usize| row.get(self.columns[column]);
        let purchased = value::quantity("quantity-purchased", c(QUANTITY_PURCHASED))?;
        let shipped = value::opt_quantity("quantity-shipped", c(QUANTITY_SHIPPED))?;
        let to_ship = value::opt_quantity("quantity-to-ship", c(QUANTITY_TO_SHIP))?
            .unwrap_or_else(|| purchased.saturating_sub(shipped.unwrap_or(0)));
        let product_name = match self.columns[PRODUCT_NAME] {
            Some(_) => value::text(c(PRODUCT_NAME)),
            None => value::text(c(ITEM_NAME)),
        };
        record.data.items.push(UnshippedItem {
            order_item_id: value::required_text("order-item-id", c(ORDER_ITEM_ID))?,
            sku: value::required_text("sku", c(SKU))?,
            product_name,
            quantity_purchased: purchased,
            quantity_shipped: shipped,
            quantity_to_ship: to_ship,
        });
        Ok(())
    }

    fn finish(&mut self, record: &mut Self::Record) {
        if record.buyer.as_ref().is_some_and(BuyerPii::is_empty) {
            record.buyer = None;
        }
    }
}

#[cfg(test)]
mod tests;
