//! What the builders produce: feed documents within Amazon's limits, each with the map from its MessageIDs
//! back to the actions it carries, so a processing report's results can be given to the right outbox entries.

use super::limits::FEED_DOCUMENT_BYTES;
use crate::error::FeedError;

/// The feed types sellersync submits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeedType {
    /// `POST_ORDER_FULFILLMENT_DATA`: shipment confirmations (XML `OrderFulfillment`).
    OrderFulfillment,
    /// `POST_ORDER_ACKNOWLEDGEMENT_DATA`: cancellations (XML `OrderAcknowledgement`).
    OrderAcknowledgement,
    /// `JSON_LISTINGS_FEED`: quantities (the XML inventory feed was retired on 2025-07-31).
    JsonListings,
}

impl FeedType {
    /// The `feedType` for `createFeed`.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedType::OrderFulfillment => "POST_ORDER_FULFILLMENT_DATA",
            FeedType::OrderAcknowledgement => "POST_ORDER_ACKNOWLEDGEMENT_DATA",
            FeedType::JsonListings => "JSON_LISTINGS_FEED",
        }
    }

    /// The `contentType` for `createFeedDocument`, which the upload must repeat exactly.
    pub fn content_type(self) -> &'static str {
        match self {
            FeedType::OrderFulfillment | FeedType::OrderAcknowledgement => "text/xml; charset=UTF-8",
            FeedType::JsonListings => "application/json; charset=UTF-8",
        }
    }

    /// Every feed type sellersync submits.
    pub const ALL: [FeedType; 3] = [
        FeedType::OrderFulfillment,
        FeedType::OrderAcknowledgement,
        FeedType::JsonListings,
    ];

    /// The feed type named `text`, if sellersync submits it.
    pub fn parse(text: &str) -> Option<FeedType> {
        [
            FeedType::OrderFulfillment,
            FeedType::OrderAcknowledgement,
            FeedType::JsonListings,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}

impl serde::Serialize for FeedType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for FeedType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FeedType::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a feed type sellersync submits: {text:?}")))
    }
}

/// How much one feed document may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedLimits {
    /// Messages per document. Amazon names no count for the XML order feeds; the listings feed builder
    /// caps this at [`crate::feeds::LISTINGS_MESSAGES_PER_FEED`] whatever it is set to.
    pub max_messages: usize,
    /// Bytes per document ([`FEED_DOCUMENT_BYTES`]).
    pub max_bytes: usize,
}

impl Default for FeedLimits {
    fn default() -> Self {
        FeedLimits {
            max_messages: usize::MAX,
            max_bytes: FEED_DOCUMENT_BYTES,
        }
    }
}

/// One document to upload and submit as one feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedDocument {
    /// Its feed type.
    pub feed_type: FeedType,
    /// The bytes to upload, UTF-8.
    pub body: Vec<u8>,
    /// Its messages in document order; MessageIDs run from 1 within each document.
    pub messages: Vec<FeedMessage>,
}

impl FeedDocument {
    /// The `contentType` to create the document with and upload it with.
    pub fn content_type(&self) -> &'static str {
        self.feed_type.content_type()
    }
}

/// One message of a document and the actions it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMessage {
    /// Its `MessageID` / `messageId`.
    pub message_id: u32,
    /// Indexes into the slice given to the builder: one, or several when updates of one SKU were coalesced
    /// into the latest (they all share its result).
    pub inputs: Vec<usize>,
}

/// A message rendered without its id, with the actions it carries.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub(crate) inputs: Vec<usize>,
    /// Upper bound of the message's bytes in any document, whatever its MessageID.
    pub(crate) size: usize,
}

/// Groups rendered messages, in order, into documents within `limits`; `frame` is the bytes every document
/// spends outside its messages. Returns the messages' index ranges.
pub(crate) fn split(
    messages: &[Rendered],
    frame: usize,
    limits: &FeedLimits,
) -> Result<Vec<std::ops::Range<usize>>, FeedError> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, frame);
    for (index, message) in messages.iter().enumerate() {
        if frame + message.size > limits.max_bytes {
            return Err(FeedError::MessageTooLarge {
                index: message.inputs.first().copied().unwrap_or(index),
                bytes: message.size,
                limit: limits.max_bytes.saturating_sub(frame),
            });
        }
        let full = index - start >= limits.max_messages.max(1) || bytes + message.size > limits.max_bytes;
        if full {
            chunks.push(start..index);
            (start, bytes) = (index, frame);
        }
        bytes += message.size;
    }
    if start < messages.len() {
        chunks.push(start..messages.len());
    }
    Ok(chunks)
}

/// MessageIDs of a document's messages: 1, 2, … within the document.
pub(crate) fn message_id(position: usize) -> u32 {
    // A document of more than u32::MAX messages would break every byte limit long before; saturate anyway.
    u32::try_from(position + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(sizes: &[usize]) -> Vec<Rendered> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, size)| Rendered {
                inputs: vec![i],
                size: *size,
            })
            .collect()
    }

    #[test]
    fn messages_are_split_by_count_and_by_bytes() {
        let limits = FeedLimits {
            max_messages: 2,
            max_bytes: 100,
        };
        let chunks = split(&rendered(&[10, 10, 10, 10, 10]), 20, &limits).unwrap();
        assert_eq!(chunks, [0..2, 2..4, 4..5]);
        let chunks = split(
            &rendered(&[40, 40, 30]),
            20,
            &FeedLimits {
                max_messages: 10,
                max_bytes: 100,
            },
        )
        .unwrap();
        assert_eq!(chunks, [0..2, 2..3]);
    }

    #[test]
    fn a_message_larger_than_a_document_is_an_error_naming_it() {
        let err = split(&rendered(&[10, 95]), 10, &FeedLimits::default().with_bytes(100)).unwrap_err();
        assert!(
            matches!(err, FeedError::MessageTooLarge { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn nothing_to_send_makes_no_document() {
        assert!(split(&[], 10, &FeedLimits::default()).unwrap().is_empty());
    }

    #[test]
    fn feed_types_know_their_names_and_content_types() {
        assert_eq!(
            FeedType::parse("POST_ORDER_FULFILLMENT_DATA"),
            Some(FeedType::OrderFulfillment)
        );
        assert_eq!(
            FeedType::JsonListings.content_type(),
            "application/json; charset=UTF-8"
        );
        assert_eq!(FeedType::parse("POST_PRODUCT_DATA"), None);
    }

    impl FeedLimits {
        fn with_bytes(mut self, max_bytes: usize) -> Self {
            self.max_bytes = max_bytes;
            self
        }
    }
}
