//! Streaming parsers for Amazon's order reports: bytes (gzip already undone) and a `Content-Type` in, domain
//! records out, one order at a time.
//!
//! ```no_run
//! # fn run(body: &[u8]) -> Result<(), shared::error::ParseError> {
//! use shared::parse::{AllOrdersFlat, Charset, Parsed};
//!
//! let charset = Charset::from_content_type(Some("text/plain; charset=Cp1252"))?;
//! let mut orders = AllOrdersFlat::new(body, charset)?;
//! for entry in &mut orders {
//!     match entry? {
//!         Parsed::Record(order) => { /* store order.value; merge if order.split */ }
//!         Parsed::Quarantined(bad) => { /* keep bad.line and bad.reason for the seller */ }
//!     }
//! }
//! println!("{:?}", orders.summary());
//! # Ok(()) }
//! ```
//!
//! Flat-file parsers take the raw bytes and the charset and decode as they read; the XML parser takes the
//! UTF-8 text [`decode_xml`] makes. Every parser is an iterator of `Result<Parsed<T>, ParseError>`: `Err` is
//! a document-level failure (after which the iterator ends), a bad row or order is a [`Quarantined`] entry
//! and parsing goes on. The grouped flat-file parsers also lend their orders to a visitor
//! ([`AllOrdersFlat::visit`]), refilling one order in place, which is the fastest way through a document.
//! Memory is bounded by the largest order, never by the document. Flat files are read by header name, never
//! by position. Quarantine reasons and errors name columns and lines, never cell values, so restricted
//! reports cannot leak buyer PII through them.

mod all_orders;
mod charset;
mod document;
mod fba;
mod group;
#[cfg(test)]
mod props;
mod tsv;
mod unshipped;
mod value;
mod xml;

pub use all_orders::AllOrdersFlat;
pub use charset::{Charset, Utf8Reader, XmlInput, decode, decode_xml};
pub use document::{FUZZ_CONTENT_TYPES, ParsedDocument, parse_document, parse_fuzz_input};
pub use fba::FbaShipmentsFlat;
pub use unshipped::UnshippedOrdersFlat;
pub use xml::AllOrdersXml;

use crate::domain::BuyerPii;

/// Rows (flat files) or `<OrderItem>`s (XML) one order may have; an order with more is quarantined, so that
/// one order cannot grow memory without bound.
pub const MAX_ROWS_PER_ORDER: usize = 1_000;

/// One entry of a parsed report.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<T> {
    /// A well-formed record.
    Record(Record<T>),
    /// Rows that could not be read; the rest of the document goes on.
    Quarantined(Quarantined),
}

/// A record with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<T> {
    /// The record.
    pub value: T,
    /// Physical line (1-based) of its first row, or of its `<Order>` tag.
    pub line: u64,
    /// The record may hold only part of an order: its id may already have appeared earlier in this document,
    /// apart from these rows. Amazon keeps an order's rows together, so this is rare. Merge its items into
    /// what the earlier part stored instead of replacing them (for orders: write even if `last_updated` is
    /// not newer). Decided by Bloom filters of bounded size (21 MiB at most), so it can be a false alarm (about
    /// 1 order in 10,000, measured up to five million orders), never a miss. Always `false` for single-row and XML records.
    pub split: bool,
}

/// Rows left out of the import, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Physical line (1-based) of the offending row.
    pub line: u64,
    /// Every physical line left out with it (all rows of its order), `line` included, ascending.
    pub lines: Vec<u64>,
    /// The order it belongs to, when the row named one (order ids are not PII).
    pub order_id: Option<String>,
    /// The column and the problem, e.g. `purchase-date: not a date-time like 2020-12-18T06:32:18-08:00`.
    pub reason: String,
}

/// A restricted-report record with the buyer's personal data kept apart, so that it can be stored apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithBuyer<T> {
    /// The record, free of PII.
    pub data: T,
    /// The buyer and recipient details; `None` when the report gave none.
    pub buyer: Option<BuyerPii>,
}

/// Counts for one document, final once the iterator has ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseSummary {
    /// Physical lines read (XML: lines up to where parsing stopped).
    pub lines: u64,
    /// Data rows read (flat files) or `<Order>` elements (XML), quarantined ones included.
    pub rows: u64,
    /// Records yielded.
    pub records: u64,
    /// Records yielded with `split` set.
    pub split_records: u64,
    /// Quarantine entries yielded.
    pub quarantined: u64,
    /// Rows (or `<Order>` elements) in quarantine entries.
    pub quarantined_rows: u64,
}
