//! Feeds sellersync submits for the seller, built without I/O: the documents that carry the seller's actions
//! ([`crate::domain::actions`]) (XML order feeds, the JSON listings feed) split within Amazon's limits, and the processing
//! reports that say what became of each message.
//!
//! The submitter creates a feed document with [`FeedDocument::content_type`], uploads [`FeedDocument::body`]
//! with that same content type, and keeps [`FeedDocument::messages`] to map the report's results back to the
//! actions: [`ProcessingReport::outcome`] for each MessageID.

mod build;
mod limits;
mod listings;
mod processing_report;
mod xml;

pub use build::{FeedDocument, FeedLimits, FeedMessage, FeedType};
pub use limits::{
    FEED_DOCUMENT_BYTES, LISTINGS_FEED_WINDOW, LISTINGS_FEEDS_PER_WINDOW, LISTINGS_MESSAGES_PER_FEED,
    MARKETPLACES_PER_FEED,
};
pub use listings::inventory_feeds;
pub use processing_report::{
    MessageOutcome, ProcessingReport, ReportEntry, ReportSummary, Severity, parse_listings_processing_report,
    parse_xml_processing_report,
};
pub use xml::{order_acknowledgement_feeds, order_fulfillment_feeds};
