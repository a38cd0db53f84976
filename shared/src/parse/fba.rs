//! `GET_AMAZON_FULFILLED_SHIPMENTS_DATA_GENERAL`: one [`FbaShipmentItem`] per row, deduplicated downstream on
//! `shipment-item-id`; the buyer, recipient and billing columns are split off as [`BuyerPii`].

use std::fmt;
use std::io::Read;

use super::all_orders::{ChannelCache, amounts, fulfillment_channel};
use super::charset::Charset;
use super::tsv::{Header, MAX_LINE, Next, TsvReader};
use super::value::{self, CellResult};
use super::{ParseSummary, Parsed, Quarantined, Record, WithBuyer};
use crate::domain::{BuyerPii, Currency, FbaShipmentItem, PostalAddress, ShipTo};
use crate::error::ParseError;

const ORDER_ID: usize = 0;
const MERCHANT_ORDER_ID: usize = 1;
const SHIPMENT_ID: usize = 2;
const SHIPMENT_ITEM_ID: usize = 3;
const ORDER_ITEM_ID: usize = 4;
const MERCHANT_ORDER_ITEM_ID: usize = 5;
const PURCHASE_DATE: usize = 6;
const PAYMENTS_DATE: usize = 7;
const SHIPMENT_DATE: usize = 8;
const REPORTING_DATE: usize = 9;
const BUYER_EMAIL: usize = 10;
const BUYER_NAME: usize = 11;
const BUYER_PHONE: usize = 12;
const SKU: usize = 13;
const PRODUCT_NAME: usize = 14;
const QUANTITY_SHIPPED: usize = 15;
const CURRENCY: usize = 16;
/// Eight amount columns in [`crate::domain::ItemAmounts`] field order.
const AMOUNTS: usize = 17;
const SHIP_SERVICE_LEVEL: usize = 25;
const RECIPIENT_NAME: usize = 26;
const SHIP_ADDRESS_1: usize = 27;
const SHIP_CITY: usize = 30;
const SHIP_STATE: usize = 31;
const SHIP_POSTAL_CODE: usize = 32;
const SHIP_COUNTRY: usize = 33;
const SHIP_PHONE: usize = 34;
const BILL_ADDRESS_1: usize = 35;
/// Followed by bill-state, bill-postal-code and bill-country, as ship-city is by its three.
const BILL_CITY: usize = 38;
const CARRIER: usize = 42;
const TRACKING_NUMBER: usize = 43;
const ESTIMATED_ARRIVAL: usize = 44;
const FULFILLMENT_CENTER: usize = 45;
const FULFILLMENT_CHANNEL: usize = 46;
const SALES_CHANNEL: usize = 47;

const COLUMNS: [(&str, bool); 48] = [
    ("amazon-order-id", true),
    ("merchant-order-id", false),
    ("shipment-id", true),
    ("shipment-item-id", true),
    ("amazon-order-item-id", true),
    ("merchant-order-item-id", false),
    ("purchase-date", true),
    ("payments-date", false),
    ("shipment-date", true),
    ("reporting-date", false),
    ("buyer-email", false),
    ("buyer-name", false),
    ("buyer-phone-number", false),
    ("sku", true),
    ("product-name", false),
    ("quantity-shipped", true),
    ("currency", false),
    ("item-price", false),
    ("item-tax", false),
    ("shipping-price", false),
    ("shipping-tax", false),
    ("gift-wrap-price", false),
    ("gift-wrap-tax", false),
    ("item-promotion-discount", false),
    ("ship-promotion-discount", false),
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
    ("bill-address-1", false),
    ("bill-address-2", false),
    ("bill-address-3", false),
    ("bill-city", false),
    ("bill-state", false),
    ("bill-postal-code", false),
    ("bill-country", false),
    ("carrier", false),
    ("tracking-number", false),
    ("estimated-arrival-date", false),
    ("fulfillment-center-id", false),
    ("fulfillment-channel", false),
    ("sales-channel", false),
];

/// Reads the FBA shipments report, one record per row; a bad row is quarantined alone.
pub struct FbaShipmentsFlat<R: Read> {
    rows: TsvReader<R>,
    columns: [Option<usize>; 48],
    channel_cache: ChannelCache,
    summary: ParseSummary,
    done: bool,
}

impl<R: Read> FbaShipmentsFlat<R> {
    /// Reads the header; fails if the document is empty or lacks a required column (`amazon-order-id`,
    /// `shipment-id`, `shipment-item-id`, `amazon-order-item-id`, `purchase-date`, `shipment-date`, `sku`,
    /// `quantity-shipped`). `input` is the document's bytes in `charset`.
    pub fn new(input: R, charset: Charset) -> Result<Self, ParseError> {
        let mut rows = TsvReader::new(input, charset);
        let columns = Header::read(&mut rows)?.resolve(COLUMNS)?;
        Ok(FbaShipmentsFlat {
            rows,
            columns,
            channel_cache: ChannelCache::default(),
            summary: ParseSummary::default(),
            done: false,
        })
    }

    /// Counts so far; final once the iterator has ended.
    pub fn summary(&self) -> ParseSummary {
        ParseSummary {
            lines: self.rows.lines_read(),
            ..self.summary
        }
    }

    fn row(&mut self) -> CellResult<WithBuyer<FbaShipmentItem>> {
        let row = self.rows.row();
        let columns = self.columns;
        let c = |column: usize| row.get(columns[column]);
        let sales_channel = value::opt_text(c(SALES_CHANNEL));
        let marketplace = self.channel_cache.lookup(c(SALES_CHANNEL));
        let currency = value::currency("currency", c(CURRENCY))?
            .or_else(|| marketplace.and_then(|m| Currency::parse("currency", m.currency).ok()));
        let channel_cell = c(FULFILLMENT_CHANNEL);
        let item = FbaShipmentItem {
            amazon_order_id: value::required_text("amazon-order-id", c(ORDER_ID))?,
            merchant_order_id: value::opt_text(c(MERCHANT_ORDER_ID)),
            shipment_id: value::required_text("shipment-id", c(SHIPMENT_ID))?,
            shipment_item_id: value::required_text("shipment-item-id", c(SHIPMENT_ITEM_ID))?,
            amazon_order_item_id: value::required_text("amazon-order-item-id", c(ORDER_ITEM_ID))?,
            merchant_order_item_id: value::opt_text(c(MERCHANT_ORDER_ITEM_ID)),
            purchase_date: value::date("purchase-date", c(PURCHASE_DATE))?,
            payments_date: value::opt_date("payments-date", c(PAYMENTS_DATE))?,
            shipment_date: value::date("shipment-date", c(SHIPMENT_DATE))?,
            reporting_date: value::opt_date("reporting-date", c(REPORTING_DATE))?,
            sku: value::required_text("sku", c(SKU))?,
            product_name: value::text(c(PRODUCT_NAME)),
            quantity_shipped: value::quantity("quantity-shipped", c(QUANTITY_SHIPPED))?,
            amounts: amounts(|i| c(AMOUNTS + i), currency)?,
            ship_service_level: value::opt_text(c(SHIP_SERVICE_LEVEL)),
            ship_to: ShipTo {
                city: value::opt_text(c(SHIP_CITY)),
                state: value::opt_text(c(SHIP_STATE)),
                postal_code: value::opt_text(c(SHIP_POSTAL_CODE)),
                country: value::opt_text(c(SHIP_COUNTRY)),
            },
            carrier: value::opt_text(c(CARRIER)),
            tracking_number: value::opt_text(c(TRACKING_NUMBER)),
            estimated_arrival_date: value::opt_date("estimated-arrival-date", c(ESTIMATED_ARRIVAL))?,
            fulfillment_center_id: value::opt_text(c(FULFILLMENT_CENTER)),
            fulfillment_channel: match channel_cell.trim_ascii() {
                "" => None,
                _ => Some(fulfillment_channel("fulfillment-channel", channel_cell)?),
            },
            sales_channel,
            marketplace_id: marketplace.map(|m| m.id.to_owned()),
        };
        let address = |first: usize, city: usize| PostalAddress {
            name: None,
            address_1: value::opt_text(c(first)),
            address_2: value::opt_text(c(first + 1)),
            address_3: value::opt_text(c(first + 2)),
            city: value::opt_text(c(city)),
            state: value::opt_text(c(city + 1)),
            postal_code: value::opt_text(c(city + 2)),
            country: value::opt_text(c(city + 3)),
            phone: None,
        };
        let bill_to = address(BILL_ADDRESS_1, BILL_CITY);
        let buyer = BuyerPii {
            amazon_order_id: item.amazon_order_id.clone(),
            buyer_name: value::opt_text(c(BUYER_NAME)),
            buyer_email: value::opt_text(c(BUYER_EMAIL)),
            buyer_phone: value::opt_text(c(BUYER_PHONE)),
            ship_to: PostalAddress {
                name: value::opt_text(c(RECIPIENT_NAME)),
                phone: value::opt_text(c(SHIP_PHONE)),
                ..address(SHIP_ADDRESS_1, SHIP_CITY)
            },
            bill_to: (!bill_to.is_empty()).then_some(bill_to),
        };
        Ok(WithBuyer {
            data: item,
            buyer: (!buyer.is_empty()).then_some(buyer),
        })
    }

    fn quarantine(&mut self, line: u64, reason: String) -> Parsed<WithBuyer<FbaShipmentItem>> {
        self.summary.quarantined += 1;
        self.summary.quarantined_rows += 1;
        let order_id = value::opt_text(&String::from_utf8_lossy(self.rows.get(self.columns[ORDER_ID])));
        Parsed::Quarantined(Quarantined {
            line,
            lines: vec![line],
            order_id,
            reason,
        })
    }
}

impl<R: Read> Iterator for FbaShipmentsFlat<R> {
    type Item = Result<Parsed<WithBuyer<FbaShipmentItem>>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = match self.rows.next_record() {
            Ok(next) => next,
            Err(err) => {
                self.done = true;
                return Some(Err(err));
            }
        };
        self.summary.rows += u64::from(next != Next::End);
        let line = self.rows.line();
        Some(Ok(match next {
            Next::End => {
                self.done = true;
                return None;
            }
            Next::TooLong(line) => {
                self.quarantine(line, format!("line is longer than {MAX_LINE} bytes; skipped"))
            }
            Next::Record => match self.row() {
                Ok(value) => {
                    self.summary.records += 1;
                    Parsed::Record(Record {
                        value,
                        line,
                        split: false,
                    })
                }
                Err(err) => self.quarantine(line, err.reason()),
            },
        }))
    }
}

impl<R: Read> fmt::Debug for FbaShipmentsFlat<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FbaShipmentsFlat")
            .field("summary", &self.summary())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
