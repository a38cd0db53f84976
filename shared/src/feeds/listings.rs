//! `JSON_LISTINGS_FEED` documents (listings feed schema v2) that set merchant-fulfilled quantities: one `PATCH`
//! message per SKU replacing `/attributes/fulfillment_availability`, repeated updates of a SKU coalesced.

use std::collections::HashMap;

use serde::Serialize;

use super::build::{FeedDocument, FeedLimits, FeedMessage, FeedType, Rendered, message_id, split};
use super::limits::LISTINGS_MESSAGES_PER_FEED;
use crate::domain::InventoryUpdate;
use crate::error::{DomainError, FeedError};

/// The listings schema's version constant.
const VERSION: &str = "2.0";
/// Amazon's product type for offer-only updates of a listing whatever its catalog type.
const PRODUCT_TYPE: &str = "PRODUCT";
/// Merchant-fulfilled inventory (FBA quantities are Amazon's to set).
const MERCHANT_CHANNEL: &str = "DEFAULT";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Feed<'a> {
    header: Header<'a>,
    messages: Vec<Message<'a>>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
struct Header<'a> {
    seller_id: &'a str,
    version: &'static str,
    issue_locale: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Message<'a> {
    message_id: u32,
    sku: &'a str,
    operation_type: &'static str,
    product_type: &'static str,
    patches: [Patch; 1],
}

#[derive(Debug, Serialize)]
struct Patch {
    op: &'static str,
    path: &'static str,
    value: [Availability; 1],
}

#[derive(Debug, Serialize)]
struct Availability {
    fulfillment_channel_code: &'static str,
    quantity: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    lead_time_to_ship_max_days: Option<u32>,
}

/// One SKU's update after coalescing.
#[derive(Debug)]
struct Coalesced<'a> {
    sku: &'a str,
    quantity: u32,
    handling_time_days: Option<u32>,
    inputs: Vec<usize>,
}

fn message<'a>(id: u32, update: &Coalesced<'a>) -> Message<'a> {
    Message {
        message_id: id,
        sku: update.sku,
        operation_type: "PATCH",
        product_type: PRODUCT_TYPE,
        patches: [Patch {
            op: "replace",
            path: "/attributes/fulfillment_availability",
            value: [Availability {
                fulfillment_channel_code: MERCHANT_CHANNEL,
                quantity: update.quantity,
                lead_time_to_ship_max_days: update.handling_time_days,
            }],
        }],
    }
}

/// Coalesces updates per SKU in order of first appearance: the latest quantity wins, and the latest handling
/// time given (an update that gives none does not undo an earlier one).
fn coalesce(updates: &[InventoryUpdate]) -> Vec<Coalesced<'_>> {
    let mut by_sku: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Coalesced<'_>> = Vec::new();
    for (index, update) in updates.iter().enumerate() {
        match by_sku.get(update.sku.as_str()) {
            Some(&at) => {
                let entry = &mut out[at];
                entry.quantity = update.quantity;
                entry.handling_time_days = update.handling_time_days.or(entry.handling_time_days);
                entry.inputs.push(index);
            }
            None => {
                by_sku.insert(&update.sku, out.len());
                out.push(Coalesced {
                    sku: &update.sku,
                    quantity: update.quantity,
                    handling_time_days: update.handling_time_days,
                    inputs: vec![index],
                });
            }
        }
    }
    out
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, FeedError> {
    serde_json::to_vec(value).map_err(|e| FeedError::Write(e.to_string()))
}

/// Quantities as `JSON_LISTINGS_FEED` documents for the seller `seller_id`, issues reported in `issue_locale`
/// (`en_US`), split within `limits` and never above Amazon's [`LISTINGS_MESSAGES_PER_FEED`]. Every update is
/// validated first; the error names the first bad one.
pub fn inventory_feeds(
    seller_id: &str,
    issue_locale: &str,
    updates: &[InventoryUpdate],
    limits: &FeedLimits,
) -> Result<Vec<FeedDocument>, FeedError> {
    if seller_id.trim().is_empty() {
        return Err(FeedError::InvalidHeader(DomainError::invalid(
            "sellerId",
            seller_id,
            "must be the seller's id",
        )));
    }
    let locale_ok = issue_locale.len() == 5
        && issue_locale.as_bytes()[2] == b'_'
        && issue_locale
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 2 || b.is_ascii_alphabetic());
    if !locale_ok {
        return Err(FeedError::InvalidHeader(DomainError::invalid(
            "issueLocale",
            issue_locale,
            "must be a locale like en_US",
        )));
    }
    for (index, update) in updates.iter().enumerate() {
        update
            .validate()
            .map_err(|source| FeedError::InvalidMessage { index, source })?;
    }
    let coalesced = coalesce(updates);
    let header = Header {
        seller_id,
        version: VERSION,
        issue_locale,
    };
    // `{"header":…,"messages":[]}` plus a comma per message bounds what a document spends outside messages.
    let frame = to_json(&Feed {
        header,
        messages: Vec::new(),
    })?
    .len();
    let rendered = coalesced
        .iter()
        .map(|update| {
            Ok(Rendered {
                inputs: update.inputs.clone(),
                size: to_json(&message(u32::MAX, update))?.len() + 1,
            })
        })
        .collect::<Result<Vec<_>, FeedError>>()?;
    let limits = FeedLimits {
        max_messages: limits.max_messages.min(LISTINGS_MESSAGES_PER_FEED),
        ..*limits
    };
    split(&rendered, frame, &limits)?
        .into_iter()
        .map(|range| {
            let chunk = &coalesced[range];
            let messages = chunk
                .iter()
                .enumerate()
                .map(|(position, update)| message(message_id(position), update))
                .collect();
            let body = to_json(&Feed { header, messages })?;
            Ok(FeedDocument {
                feed_type: FeedType::JsonListings,
                body,
                messages: chunk
                    .iter()
                    .enumerate()
                    .map(|(position, update)| FeedMessage {
                        message_id: message_id(position),
                        inputs: update.inputs.clone(),
                    })
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn update(sku: &str, quantity: u32, days: Option<u32>) -> InventoryUpdate {
        InventoryUpdate {
            sku: sku.to_owned(),
            quantity,
            handling_time_days: days,
        }
    }

    #[test]
    fn an_update_becomes_a_patch_of_fulfillment_availability() {
        let docs = inventory_feeds(
            "A1SELLER",
            "en_US",
            &[update("MUG-1", 7, Some(2))],
            &FeedLimits::default(),
        )
        .unwrap();
        let body: Value = serde_json::from_slice(&docs[0].body).unwrap();
        assert_eq!(
            body,
            json!({
                "header": {"sellerId": "A1SELLER", "version": "2.0", "issueLocale": "en_US"},
                "messages": [{
                    "messageId": 1, "sku": "MUG-1", "operationType": "PATCH", "productType": "PRODUCT",
                    "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability",
                                 "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7,
                                            "lead_time_to_ship_max_days": 2}]}]
                }]
            })
        );
        assert_eq!(docs[0].content_type(), "application/json; charset=UTF-8");
    }

    #[test]
    fn repeated_updates_of_a_sku_coalesce_into_the_latest() {
        let updates = [
            update("A", 1, Some(3)),
            update("B", 5, None),
            update("A", 2, None),
            update("A", 0, None),
        ];
        let docs = inventory_feeds("A1", "en_US", &updates, &FeedLimits::default()).unwrap();
        let body: Value = serde_json::from_slice(&docs[0].body).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["sku"], "A");
        assert_eq!(messages[0]["patches"][0]["value"][0]["quantity"], 0);
        assert_eq!(
            messages[0]["patches"][0]["value"][0]["lead_time_to_ship_max_days"],
            3
        );
        assert_eq!(
            docs[0].messages,
            [
                FeedMessage {
                    message_id: 1,
                    inputs: vec![0, 2, 3]
                },
                FeedMessage {
                    message_id: 2,
                    inputs: vec![1]
                }
            ]
        );
    }

    #[test]
    fn beyond_the_limits_updates_split_into_several_documents() {
        let updates: Vec<_> = (0..7).map(|n| update(&format!("SKU-{n}"), n, None)).collect();
        let docs = inventory_feeds(
            "A1",
            "en_US",
            &updates,
            &FeedLimits {
                max_messages: 3,
                max_bytes: 1 << 20,
            },
        )
        .unwrap();
        assert_eq!(
            docs.iter().map(|d| d.messages.len()).collect::<Vec<_>>(),
            [3, 3, 1]
        );
        let body: Value = serde_json::from_slice(&docs[2].body).unwrap();
        assert_eq!(body["messages"][0]["messageId"], 1);
        assert_eq!(body["messages"][0]["sku"], "SKU-6");
        assert_eq!(docs[2].messages[0].inputs, [6]);

        let small = docs[0].body.len();
        let by_bytes = inventory_feeds(
            "A1",
            "en_US",
            &updates,
            &FeedLimits {
                max_messages: usize::MAX,
                max_bytes: small,
            },
        )
        .unwrap();
        assert!(by_bytes.len() >= 3);
        assert!(by_bytes.iter().all(|d| d.body.len() <= small));
    }

    #[test]
    fn no_document_holds_more_messages_than_amazon_takes() {
        let updates: Vec<_> = (0..LISTINGS_MESSAGES_PER_FEED + 1)
            .map(|n| update(&format!("S{n}"), 1, None))
            .collect();
        let docs = inventory_feeds("A1", "en_US", &updates, &FeedLimits::default()).unwrap();
        assert_eq!(
            docs.iter().map(|d| d.messages.len()).collect::<Vec<_>>(),
            [LISTINGS_MESSAGES_PER_FEED, 1]
        );
    }

    #[test]
    fn a_bad_update_or_header_is_refused_naming_the_field() {
        let err = inventory_feeds(
            "A1",
            "en_US",
            &[update("A", 1, None), update("", 1, None)],
            &FeedLimits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, FeedError::InvalidMessage { index: 1, source } if source.field == "sku"),
            "{err}"
        );
        let err = inventory_feeds("A1", "english", &[], &FeedLimits::default()).unwrap_err();
        assert!(
            matches!(&err, FeedError::InvalidHeader(e) if e.field == "issueLocale"),
            "{err}"
        );
    }
}
