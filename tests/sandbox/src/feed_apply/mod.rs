//! What a feed does when it is processed: order feeds ship or cancel the seller's orders, the listings feed
//! sets SKUs' quantities, and each answers with a processing report that rejects bad messages one by one, with
//! Amazon's result codes:
//!
//! | Code | When |
//! |---|---|
//! | XML `6001` (feed `FATAL`) | the document is not well-formed XML, or not an `AmazonEnvelope` with messages |
//! | XML `5000` | a message breaks Amazon's XSDs (validated with `xmllint` against `amzn-envelope.xsd`, narrowed to the order feeds, from the reference folder); also, where that cannot run: no `MessageID`, missing or malformed element, unknown `CancelReason` |
//! | XML `25` | a `MessageType` other than the feed type's; `CarrierCode` missing, retired, or `Other` without `CarrierName` |
//! | XML `18028` | no such merchant-fulfilled order (or order item), or an order in a state that cannot take the message |
//! | XML `18021` | more units than are left to ship or cancel (after earlier shipments and cancellations) |
//! | JSON `4002005` / `4002006` | the header is missing or breaks the schema / has another `version` (no message applied) |
//! | JSON `4002008` | a message breaks the listings feed schema (validated against `listings-feed-schema-v2.json`) |
//! | JSON, no code | more than 10,000 messages: "feed messages list beyond allowed size" (no message applied) |
//! | JSON `99022` / `4000001` | `fulfillment_availability` without `fulfillment_channel_code` / with a bad quantity or lead time |
//!
//! A message is applied whole or not at all. An XML document that cannot be read ends the feed `FATAL` with a
//! report; a JSON document that is not JSON ends it `FATAL` with a report whose issue has no code. As on
//! Amazon, a listings update for a SKU the catalog lacks is accepted (it creates an offer-only listing).

mod listings;
mod xml;

use chrono::{DateTime, Utc};

use self::listings::listings_feed;
use self::xml::xml_feed;
use crate::feeds::FeedJob;
use crate::inspect::SandboxFeedResult;
use crate::reports::ProcessingStatus;
use crate::state::World;

const FULFILLMENT: &str = "POST_ORDER_FULFILLMENT_DATA";
const ACKNOWLEDGEMENT: &str = "POST_ORDER_ACKNOWLEDGEMENT_DATA";
const LISTINGS: &str = "JSON_LISTINGS_FEED";

/// One error or warning of a processing report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageResult {
    /// The message; 0 for the document as a whole.
    pub(crate) message_id: u32,
    pub(crate) error: bool,
    pub(crate) code: String,
    pub(crate) description: String,
    pub(crate) amazon_order_id: Option<String>,
    pub(crate) order_item_id: Option<String>,
    pub(crate) sku: Option<String>,
    pub(crate) attribute: Option<String>,
}

/// A message's rejection, boxed: results are large and rejections travel through `Result`s.
type Rejection = Box<MessageResult>;

impl MessageResult {
    fn error(message_id: u32, code: &str, description: impl Into<String>) -> Rejection {
        Box::new(MessageResult {
            message_id,
            error: true,
            code: code.to_owned(),
            description: description.into(),
            amazon_order_id: None,
            order_item_id: None,
            sku: None,
            attribute: None,
        })
    }

    fn order(mut self: Box<Self>, id: &str) -> Rejection {
        self.amazon_order_id = Some(id.to_owned());
        self
    }

    fn item(mut self: Box<Self>, id: &str) -> Rejection {
        self.order_item_id = Some(id.to_owned());
        self
    }

    /// As inspection shows it.
    pub(crate) fn to_public(&self) -> SandboxFeedResult {
        SandboxFeedResult {
            message_id: self.message_id,
            severity: if self.error { "Error" } else { "Warning" }.to_owned(),
            code: self.code.clone(),
            description: self.description.clone(),
            amazon_order_id: self.amazon_order_id.clone(),
            sku: self.sku.clone(),
        }
    }
}

/// A processing report to store.
#[derive(Debug)]
pub(crate) struct ReportDocument {
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: &'static str,
    /// JSON reports are always served gzip'd (recorded), XML ones only when large.
    pub(crate) always_gzip: bool,
}

/// What processing a feed came to.
#[derive(Debug)]
pub(crate) struct Processed {
    pub(crate) status: ProcessingStatus,
    pub(crate) report: Option<ReportDocument>,
    pub(crate) messages: u64,
    pub(crate) rejected: u64,
    pub(crate) results: Vec<MessageResult>,
}

/// Processes a feed's document at `at`; `None` for feed types the sandbox does not process.
pub(crate) fn process(
    world: &mut World,
    job: &FeedJob,
    content: &[u8],
    at: DateTime<Utc>,
) -> Option<Processed> {
    let text = decode(content, &job.content_type);
    match job.feed_type.as_str() {
        FULFILLMENT | ACKNOWLEDGEMENT => Some(xml_feed(world, job, content, &text, at)),
        LISTINGS => Some(listings_feed(world, job, &text, at)),
        _ => None,
    }
}

/// The document's text in the charset its `Content-Type` names (UTF-8 when it names none).
fn decode(bytes: &[u8], content_type: &str) -> String {
    let label = content_type
        .split(';')
        .find_map(|part| part.trim().strip_prefix("charset="))
        .map(|c| c.trim_matches('"'));
    let encoding = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(bytes);
    text.trim_start_matches('\u{feff}').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_charset_comes_from_the_content_type() {
        assert_eq!(decode(b"caf\xe9", "text/xml; charset=iso-8859-1"), "café");
        assert_eq!(decode("café".as_bytes(), "text/xml"), "café");
    }
}
