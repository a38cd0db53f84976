//! Feeds sellersync submits for the seller, built without I/O: the seller's actions ([`actions`]), the documents
//! that carry them (XML order feeds, the JSON listings feed) split within Amazon's limits, and the processing
//! reports that say what became of each message.
//!
//! The submitter creates a feed document with [`FeedDocument::content_type`], uploads [`FeedDocument::body`]
//! with that same content type, and keeps [`FeedDocument::messages`] to map the report's results back to the
//! actions: [`ProcessingReport::outcome`] for each MessageID.

pub mod actions;
mod build;
mod carriers;
mod limits;
mod listings;
mod report;
mod xml;

pub use actions::{
    CancelReason, Cancellation, CancelledItem, Carrier, CarrierCode, InventoryUpdate, ItemQuantity, ShipFrom,
    ShipmentConfirmation, ShippedItems,
};
pub use build::{FeedDocument, FeedLimits, FeedMessage, FeedType};
pub use carriers::CARRIER_CODES;
pub use limits::{
    FEED_DOCUMENT_BYTES, LISTINGS_FEED_WINDOW, LISTINGS_FEEDS_PER_WINDOW, LISTINGS_MESSAGES_PER_FEED,
    MARKETPLACES_PER_FEED,
};
pub use listings::inventory_feeds;
pub use report::{
    MessageOutcome, ProcessingReport, ReportEntry, ReportSummary, Severity, parse_listings_processing_report,
    parse_xml_processing_report,
};
pub use xml::{order_acknowledgement_feeds, order_fulfillment_feeds};
