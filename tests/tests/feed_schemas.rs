//! Documents sellersync builds, and its report fixtures, checked against Amazon's own schemas in the shared
//! reference folder (never copied into the repository) with the one helper tests and the sandbox share
//! ([`tests::reference`]): one `xmllint` run over Amazon's whole envelope schema for XML, a JSON Schema
//! validator for the listings feed. Under CI a missing folder or `xmllint` fails these tests.

use serde_json::Value;
use shared::domain::{
    CARRIER_CODES, CancelReason, Cancellation, CancelledItem, Carrier, InventoryUpdate, ItemQuantity,
    ShipFrom, ShipmentConfirmation, ShippedItems,
};
use shared::feeds::*;
use tests::reference::{self, XsdError};

fn ship(order: &str, carrier: &str, items: ShippedItems) -> ShipmentConfirmation {
    ShipmentConfirmation {
        amazon_order_id: order.to_owned(),
        carrier: Carrier::from_name(carrier),
        shipping_method: Some("Standard".to_owned()),
        tracking_number: Some("1Z999AA10123456784".to_owned()),
        ship_date: "2025-03-10T12:00:00Z".parse().expect("date"),
        items,
        ship_from: None,
    }
}

#[test]
fn order_feeds_and_report_fixtures_are_valid_against_amazons_envelope_schema() {
    let Some(reference) = reference::require_xsd() else {
        return;
    };
    let partial = ShippedItems::Some(vec![
        ItemQuantity {
            order_item_id: "12345678901234".to_owned(),
            quantity: 1,
        },
        ItemQuantity {
            order_item_id: "12345678901235".to_owned(),
            quantity: 3,
        },
    ]);
    let mut from_hamburg = ship("114-1234567-7654324", "DHL", ShippedItems::All);
    from_hamburg.ship_from = Some(Box::new(ShipFrom {
        name: "Lager Nord GmbH".to_owned(),
        address_line1: "Hafenstrasse 12".to_owned(),
        address_line2: Some("Tor 3".to_owned()),
        address_line3: None,
        city: Some("Hamburg".to_owned()),
        state_or_region: None,
        postal_code: Some("20457".to_owned()),
        country_code: "DE".to_owned(),
    }));
    let confirmations = [
        ship("114-1234567-7654321", "UPS", ShippedItems::All),
        ship("114-1234567-7654322", "Deutsche Post", partial),
        ship("114-1234567-7654323", "Ferry & <Van> \"Co\"", ShippedItems::All),
        from_hamburg,
    ];
    let docs = order_fulfillment_feeds("A2SELLER", &confirmations, &FeedLimits::default()).expect("builds");
    let cancellations = [
        Cancellation {
            amazon_order_id: "302-1234567-7654321".to_owned(),
            reason: CancelReason::BuyerCanceled,
            items: Vec::new(),
        },
        Cancellation {
            amazon_order_id: "302-1234567-7654322".to_owned(),
            reason: CancelReason::WeatherDelay,
            items: vec![
                CancelledItem {
                    order_item_id: "12345678901234".to_owned(),
                    quantity: Some(2),
                },
                CancelledItem {
                    order_item_id: "12345678901235".to_owned(),
                    quantity: None,
                },
            ],
        },
    ];
    let cancels =
        order_acknowledgement_feeds("A2SELLER", &cancellations, &FeedLimits::default()).expect("builds");
    let mut documents: Vec<String> = docs
        .iter()
        .chain(&cancels)
        .map(|d| String::from_utf8_lossy(&d.body).into_owned())
        .collect();
    documents.push(include_str!("../../shared/tests/fixtures/feeds/order-fulfillment-report.xml").to_owned());
    documents.push(include_str!("../../shared/tests/fixtures/feeds/unparsable-feed-report.xml").to_owned());
    let valid = documents.len();
    // The check must be able to fail: each variant breaks the schema in one place.
    let broken = broken_variants(&documents[0], &documents[docs.len()]);
    documents.extend(broken);
    let bytes: Vec<&[u8]> = documents.iter().map(|d| d.as_bytes()).collect();
    // One xmllint run over Amazon's whole envelope (compiling it takes seconds).
    let whole = reference::validate_xml(&reference::envelope_schema(&reference), &bytes);
    for (verdict, document) in whole.iter().zip(&documents).take(valid) {
        if let Err(errors) = verdict {
            panic!("{errors:?}\n{document}");
        }
    }
    for (verdict, document) in whole.iter().zip(&documents).skip(valid) {
        assert!(verdict.is_err(), "must be refused: {document}");
    }
    // The sandbox validates with the envelope narrowed to the order feeds: it must judge every document of
    // these types as the whole envelope does, line for line.
    let narrowed = reference::validate_xml(&reference::order_feed_schema(&reference), &bytes);
    let lines = |v: &Result<(), Vec<XsdError>>| {
        v.as_ref()
            .err()
            .map(|e| e.iter().map(|e| e.line).collect::<Vec<_>>())
    };
    for ((whole, narrowed), document) in whole.iter().zip(&narrowed).zip(&documents) {
        assert_eq!(lines(whole), lines(narrowed), "{document}");
    }
}

/// Ten ways to break an order feed that only Amazon's XSDs catch (sellersync's own checks never let them
/// through): each changes one thing of a valid document.
fn broken_variants(fulfillment: &str, acknowledgement: &str) -> Vec<String> {
    let one = |text: &str, from: &str, to: &str| {
        assert!(text.contains(from), "{from} not in {text}");
        text.replacen(from, to, 1)
    };
    vec![
        one(fulfillment, "<CarrierCode>UPS", "<CarrierCode>Carrier Pigeon"),
        one(
            fulfillment,
            "<CountryCode>DE</CountryCode>",
            "<CountryCode>DEU</CountryCode>",
        ),
        one(fulfillment, "<Name>Lager Nord GmbH</Name>", ""),
        one(
            fulfillment,
            "<FulfillmentDate>2025",
            "<FulfillmentDate>March 2025",
        ),
        one(
            fulfillment,
            "<MessageID>1</MessageID>",
            "<MessageID>one</MessageID>",
        ),
        one(
            fulfillment,
            "<FulfillmentData>",
            "<GiftWrap>yes</GiftWrap><FulfillmentData>",
        ),
        one(
            fulfillment,
            "<ShippingMethod>Standard</ShippingMethod>",
            &format!("<ShippingMethod>{}</ShippingMethod>", "S".repeat(600)),
        ),
        one(
            fulfillment,
            "<MerchantIdentifier>A2SELLER</MerchantIdentifier>",
            "",
        ),
        one(
            fulfillment,
            "<MessageType>OrderFulfillment",
            "<MessageType>Shipments",
        ),
        one(
            acknowledgement,
            "<CancelReason>WeatherDelay",
            "<CancelReason>Bored",
        ),
        one(acknowledgement, "<StatusCode>Failure", "<StatusCode>Maybe"),
        one(
            acknowledgement,
            "<Quantity>2</Quantity>",
            "<Quantity>0</Quantity>",
        ),
    ]
}

#[test]
fn the_listings_report_fixture_is_valid_against_amazons_schema() {
    let Some(reference) = reference::require_dir() else {
        return;
    };
    let report: Value = serde_json::from_str(include_str!(
        "../../shared/tests/fixtures/feeds/listings-report.json"
    ))
    .expect("json");
    let validator = reference::json_validator(&reference, "listings-feed-processing-report-schema-v2.json");
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn listings_feeds_are_valid_against_amazons_listings_feed_schema() {
    let Some(reference) = reference::require_dir() else {
        return;
    };
    let validator = reference::json_validator(&reference, "listings-feed-schema-v2.json");
    let updates = [
        InventoryUpdate {
            sku: "MUG-1".to_owned(),
            quantity: 0,
            handling_time_days: Some(2),
        },
        InventoryUpdate {
            sku: "Tasse \"rot\" / 0,5 l".to_owned(),
            quantity: 12,
            handling_time_days: None,
        },
    ];
    let docs = inventory_feeds("A2SELLER", "de_DE", &updates, &FeedLimits::default()).expect("builds");
    for doc in &docs {
        let value: Value = serde_json::from_slice(&doc.body).expect("json");
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{value}");
    }
    let mut bad: Value = serde_json::from_slice(&docs[0].body).expect("json");
    bad["messages"][0]["operationType"] = Value::String("UPSERT".to_owned());
    assert!(
        !validator.is_valid(&bad),
        "the validator must refuse an unknown operationType"
    );
}

#[test]
fn carrier_codes_and_cancel_reasons_are_the_xsds() {
    let Some(reference) = reference::require_dir() else {
        return;
    };
    let carriers = reference::xsd_enumeration(&reference, "amzn-base.xsd", "CarrierCode");
    assert_eq!(CARRIER_CODES, carriers.as_slice());
    let reasons = reference::xsd_enumeration(&reference, "OrderAcknowledgement.xsd", "CancelReason");
    let ours: Vec<&str> = CancelReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(ours, reasons);
}
