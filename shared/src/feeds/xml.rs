//! `POST_ORDER_FULFILLMENT_DATA` and `POST_ORDER_ACKNOWLEDGEMENT_DATA`: AmazonEnvelope documents valid against
//! `amzn-envelope.xsd`, one message per action, written with quick-xml (which escapes every value).

use std::io;

use quick_xml::Writer;
use quick_xml::events::BytesText;

use super::build::{FeedDocument, FeedLimits, FeedMessage, FeedType, Rendered, message_id, split};
use crate::domain::{Cancellation, Carrier, ShipmentConfirmation, ShippedItems};
use crate::error::{DomainError, FeedError};

/// `DocumentVersion` of the envelope's header (`\d{1,2}\.\d{1,2}`).
const DOCUMENT_VERSION: &str = "1.01";
/// What wrapping a body in `<Message><MessageID>…</MessageID>…</Message>\n` adds, MessageID at its longest.
const MESSAGE_OVERHEAD: usize = "<Message><MessageID>4294967295</MessageID></Message>\n".len();

/// Shipment confirmations as `POST_ORDER_FULFILLMENT_DATA` documents for the seller `merchant_id`, split
/// within `limits`. Every confirmation is validated first; the error names the first bad one.
pub fn order_fulfillment_feeds(
    merchant_id: &str,
    confirmations: &[ShipmentConfirmation],
    limits: &FeedLimits,
) -> Result<Vec<FeedDocument>, FeedError> {
    let bodies = confirmations
        .iter()
        .enumerate()
        .map(|(index, confirmation)| {
            confirmation
                .validate()
                .map_err(|source| FeedError::InvalidMessage { index, source })?;
            fragment(|w| write_fulfillment(w, confirmation))
        })
        .collect::<Result<Vec<_>, _>>()?;
    envelopes(FeedType::OrderFulfillment, merchant_id, bodies, limits)
}

/// Cancellations as `POST_ORDER_ACKNOWLEDGEMENT_DATA` documents (`StatusCode` `Failure`) for the seller
/// `merchant_id`, split within `limits`.
pub fn order_acknowledgement_feeds(
    merchant_id: &str,
    cancellations: &[Cancellation],
    limits: &FeedLimits,
) -> Result<Vec<FeedDocument>, FeedError> {
    let bodies = cancellations
        .iter()
        .enumerate()
        .map(|(index, cancellation)| {
            cancellation
                .validate()
                .map_err(|source| FeedError::InvalidMessage { index, source })?;
            fragment(|w| write_cancellation(w, cancellation))
        })
        .collect::<Result<Vec<_>, _>>()?;
    envelopes(FeedType::OrderAcknowledgement, merchant_id, bodies, limits)
}

fn fragment(write: impl FnOnce(&mut Writer<Vec<u8>>) -> io::Result<()>) -> Result<String, FeedError> {
    let mut writer = Writer::new(Vec::new());
    write(&mut writer).map_err(|e| FeedError::Write(e.to_string()))?;
    // quick-xml writes only what it is given, and every value is a Rust `&str`.
    String::from_utf8(writer.into_inner()).map_err(|e| FeedError::Write(e.to_string()))
}

fn element(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(text))
        .map(drop)
}

/// `xsd:dateTime` in UTC with an explicit offset, as Amazon's own samples write it.
fn date_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn write_fulfillment(w: &mut Writer<Vec<u8>>, c: &ShipmentConfirmation) -> io::Result<()> {
    w.create_element("OrderFulfillment").write_inner_content(|w| {
        element(w, "AmazonOrderID", &c.amazon_order_id)?;
        element(w, "FulfillmentDate", &date_time(c.ship_date))?;
        w.create_element("FulfillmentData").write_inner_content(|w| {
            match &c.carrier {
                Carrier::Code(code) => element(w, "CarrierCode", code.as_str())?,
                Carrier::Other(name) => {
                    element(w, "CarrierCode", "Other")?;
                    element(w, "CarrierName", name.trim())?;
                }
            }
            if let Some(method) = &c.shipping_method {
                element(w, "ShippingMethod", method)?;
            }
            if let Some(tracking) = &c.tracking_number {
                element(w, "ShipperTrackingNumber", tracking)?;
            }
            Ok(())
        })?;
        if let ShippedItems::Some(items) = &c.items {
            for item in items {
                w.create_element("Item").write_inner_content(|w| {
                    element(w, "AmazonOrderItemCode", &item.order_item_id)?;
                    element(w, "Quantity", &item.quantity.to_string())
                })?;
            }
        }
        if let Some(from) = &c.ship_from {
            // `AddressType`'s order: Name, the lines, City, StateOrRegion, PostalCode, CountryCode.
            w.create_element("ShipFromAddress").write_inner_content(|w| {
                element(w, "Name", &from.name)?;
                element(w, "AddressFieldOne", &from.address_line1)?;
                let optional = [
                    ("AddressFieldTwo", &from.address_line2),
                    ("AddressFieldThree", &from.address_line3),
                    ("City", &from.city),
                    ("StateOrRegion", &from.state_or_region),
                    ("PostalCode", &from.postal_code),
                ];
                for (name, text) in optional {
                    if let Some(text) = text {
                        element(w, name, text)?;
                    }
                }
                element(w, "CountryCode", &from.country_code)
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_cancellation(w: &mut Writer<Vec<u8>>, c: &Cancellation) -> io::Result<()> {
    w.create_element("OrderAcknowledgement")
        .write_inner_content(|w| {
            element(w, "AmazonOrderID", &c.amazon_order_id)?;
            element(w, "StatusCode", "Failure")?;
            for item in &c.items {
                w.create_element("Item").write_inner_content(|w| {
                    element(w, "AmazonOrderItemCode", &item.order_item_id)?;
                    element(w, "CancelReason", c.reason.as_str())?;
                    if let Some(quantity) = item.quantity {
                        element(w, "Quantity", &quantity.to_string())?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(())
}

/// The envelope's text before and after the messages.
fn frame(message_type: &str, merchant_id: &str) -> Result<(String, &'static str), FeedError> {
    let head = fragment(|w| {
        w.create_element("Header").write_inner_content(|w| {
            element(w, "DocumentVersion", DOCUMENT_VERSION)?;
            element(w, "MerchantIdentifier", merchant_id)
        })?;
        element(w, "MessageType", message_type)
    })?;
    let head = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AmazonEnvelope \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:noNamespaceSchemaLocation=\"amzn-envelope.xsd\">\n{head}\n"
    );
    Ok((head, "</AmazonEnvelope>\n"))
}

fn check_merchant(merchant_id: &str) -> Result<(), FeedError> {
    let fine = !merchant_id.trim().is_empty()
        && merchant_id.chars().count() <= 50
        && !merchant_id.chars().any(char::is_control);
    if fine {
        Ok(())
    } else {
        Err(FeedError::InvalidHeader(DomainError::invalid(
            "merchantIdentifier",
            merchant_id,
            "must be the seller's id (1 to 50 characters)",
        )))
    }
}

fn envelopes(
    feed_type: FeedType,
    merchant_id: &str,
    bodies: Vec<String>,
    limits: &FeedLimits,
) -> Result<Vec<FeedDocument>, FeedError> {
    check_merchant(merchant_id)?;
    let message_type = match feed_type {
        FeedType::OrderFulfillment => "OrderFulfillment",
        FeedType::OrderAcknowledgement => "OrderAcknowledgement",
        FeedType::JsonListings => return Err(FeedError::Write("a listings feed is not XML".to_owned())),
    };
    let (head, tail) = frame(message_type, merchant_id)?;
    let rendered: Vec<Rendered> = bodies
        .iter()
        .enumerate()
        .map(|(index, body)| Rendered {
            inputs: vec![index],
            size: body.len() + MESSAGE_OVERHEAD,
        })
        .collect();
    let chunks = split(&rendered, head.len() + tail.len(), limits)?;
    Ok(chunks
        .into_iter()
        .map(|range| {
            let mut text = head.clone();
            let mut messages = Vec::with_capacity(range.len());
            for (position, index) in range.enumerate() {
                let id = message_id(position);
                text.push_str(&format!(
                    "<Message><MessageID>{id}</MessageID>{}</Message>\n",
                    bodies[index]
                ));
                messages.push(FeedMessage {
                    message_id: id,
                    inputs: vec![index],
                });
            }
            text.push_str(tail);
            FeedDocument {
                feed_type,
                body: text.into_bytes(),
                messages,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CancelReason, CancelledItem, ItemQuantity};

    fn confirmation(order: &str) -> ShipmentConfirmation {
        ShipmentConfirmation {
            amazon_order_id: order.to_owned(),
            carrier: Carrier::from_name("Bob & Sons <Couriers>"),
            shipping_method: Some("Next Day".to_owned()),
            tracking_number: Some("TRK-1".to_owned()),
            ship_date: "2025-03-10T12:30:00Z".parse().unwrap(),
            items: ShippedItems::Some(vec![ItemQuantity {
                order_item_id: "12345678901234".to_owned(),
                quantity: 2,
            }]),
            ship_from: None,
        }
    }

    #[test]
    fn a_confirmation_becomes_an_order_fulfillment_message_with_escaped_values() {
        let docs = order_fulfillment_feeds(
            "A1SELLER",
            &[confirmation("114-1234567-7654321")],
            &FeedLimits::default(),
        )
        .unwrap();
        assert_eq!(docs.len(), 1);
        let text = String::from_utf8(docs[0].body.clone()).unwrap();
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AmazonEnvelope"));
        assert!(
            text.contains("<MerchantIdentifier>A1SELLER</MerchantIdentifier>"),
            "{text}"
        );
        assert!(text.contains("<MessageType>OrderFulfillment</MessageType>"));
        assert!(
            text.contains(
                "<Message><MessageID>1</MessageID><OrderFulfillment><AmazonOrderID>114-1234567-7654321\
                 </AmazonOrderID><FulfillmentDate>2025-03-10T12:30:00+00:00</FulfillmentDate>\
                 <FulfillmentData><CarrierCode>Other</CarrierCode><CarrierName>Bob &amp; Sons \
                 &lt;Couriers&gt;</CarrierName><ShippingMethod>Next Day</ShippingMethod>\
                 <ShipperTrackingNumber>TRK-1</ShipperTrackingNumber></FulfillmentData><Item>\
                 <AmazonOrderItemCode>12345678901234</AmazonOrderItemCode><Quantity>2</Quantity></Item>\
                 </OrderFulfillment></Message>"
            ),
            "{text}"
        );
        assert_eq!(
            docs[0].messages,
            [FeedMessage {
                message_id: 1,
                inputs: vec![0]
            }]
        );
        assert_eq!(docs[0].content_type(), "text/xml; charset=UTF-8");
    }

    #[test]
    fn a_cancellation_carries_its_reason_on_every_item() {
        let cancel = Cancellation {
            amazon_order_id: "302-1234567-7654321".into(),
            reason: CancelReason::NoInventory,
            items: vec![
                CancelledItem {
                    order_item_id: "11111111111111".into(),
                    quantity: None,
                },
                CancelledItem {
                    order_item_id: "22222222222222".into(),
                    quantity: Some(1),
                },
            ],
        };
        let docs = order_acknowledgement_feeds("A1", &[cancel], &FeedLimits::default()).unwrap();
        let text = String::from_utf8(docs[0].body.clone()).unwrap();
        assert!(text.contains("<StatusCode>Failure</StatusCode>"), "{text}");
        assert_eq!(
            text.matches("<CancelReason>NoInventory</CancelReason>").count(),
            2
        );
        assert!(text.contains("<CancelReason>NoInventory</CancelReason><Quantity>1</Quantity>"));
    }

    #[test]
    fn an_invalid_action_is_refused_with_its_index_and_field() {
        let mut bad = confirmation("114-1234567-7654321");
        bad.tracking_number = Some(String::new());
        let err = order_fulfillment_feeds(
            "A1",
            &[confirmation("114-1234567-7654321"), bad],
            &FeedLimits::default(),
        )
        .unwrap_err();
        match err {
            FeedError::InvalidMessage { index, source } => {
                assert_eq!((index, source.field.as_str()), (1, "trackingNumber"));
            }
            other => panic!("unexpected {other}"),
        }
        let err = order_fulfillment_feeds("", &[], &FeedLimits::default()).unwrap_err();
        assert!(matches!(err, FeedError::InvalidHeader(_)), "{err}");
    }

    #[test]
    fn many_confirmations_split_into_documents_with_message_ids_from_one() {
        let confirmations: Vec<_> = (0..5)
            .map(|n| confirmation(&format!("114-123456{n}-7654321")))
            .collect();
        let limits = FeedLimits {
            max_messages: 2,
            max_bytes: 1 << 20,
        };
        let docs = order_fulfillment_feeds("A1", &confirmations, &limits).unwrap();
        assert_eq!(docs.len(), 3);
        let ids: Vec<Vec<(u32, Vec<usize>)>> = docs
            .iter()
            .map(|d| {
                d.messages
                    .iter()
                    .map(|m| (m.message_id, m.inputs.clone()))
                    .collect()
            })
            .collect();
        assert_eq!(
            ids,
            [
                vec![(1, vec![0]), (2, vec![1])],
                vec![(1, vec![2]), (2, vec![3])],
                vec![(1, vec![4])]
            ]
        );
        let one = docs[0].body.len();
        let by_bytes = order_fulfillment_feeds(
            "A1",
            &confirmations,
            &FeedLimits {
                max_messages: 100,
                max_bytes: one,
            },
        )
        .unwrap();
        assert!(by_bytes.iter().all(|d| d.body.len() <= one));
        assert_eq!(by_bytes.iter().map(|d| d.messages.len()).sum::<usize>(), 5);
    }
}
