//! Generated documents and the report fixtures checked against Amazon's own schemas in the shared reference
//! folder (never copied into the repository): `xmllint --schema amzn-envelope.xsd` for XML, a JSON Schema
//! validator for the listings feed. Where the folder or `xmllint` is missing, a test says so and checks nothing
//! else (install `libxml2-utils` to run them; set `SELLERSYNC_REFERENCE_DIR` if the folder lives elsewhere).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::*;

/// `SELLERSYNC_REFERENCE_DIR`, else `shared/reference` beside the repository's checkout.
fn reference_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SELLERSYNC_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference"));
    if dir
        .join("feeds/xsd/validation-bundle/amzn-envelope.xsd")
        .is_file()
    {
        Some(dir)
    } else {
        println!(
            "SKIPPED: Amazon's reference schemas not found at {} (set SELLERSYNC_REFERENCE_DIR)",
            dir.display()
        );
        None
    }
}

fn xmllint_available() -> bool {
    let found = Command::new("xmllint")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        println!("SKIPPED: xmllint not installed (apt-get install libxml2-utils); XSD validation not run");
    }
    found
}

/// `xmllint --noout --schema amzn-envelope.xsd -` on `document`; the error is xmllint's output.
fn validate_xml(reference: &std::path::Path, document: &[u8]) -> Result<(), String> {
    let bundle = reference.join("feeds/xsd/validation-bundle");
    let mut child = Command::new("xmllint")
        .args(["--noout", "--schema", "amzn-envelope.xsd", "-"])
        .current_dir(&bundle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(document)
        .map_err(|e| e.to_string())?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn json_schema(reference: &std::path::Path, name: &str) -> jsonschema::Validator {
    let path = reference.join("spapi-models/schemas/feeds").join(name);
    let schema: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("schema readable")).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn ship(order: &str, carrier: &str, items: ShippedItems) -> ShipmentConfirmation {
    ShipmentConfirmation {
        amazon_order_id: order.to_owned(),
        carrier: Carrier::from_name(carrier),
        shipping_method: Some("Standard".to_owned()),
        tracking_number: Some("1Z999AA10123456784".to_owned()),
        ship_date: "2025-03-10T12:00:00Z".parse().expect("date"),
        items,
    }
}

fn xsd_enumeration(reference: &std::path::Path, file: &str, element: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(reference.join("feeds/xsd/validation-bundle").join(file)).expect("xsd");
    let start = text
        .find(&format!("<xsd:element name=\"{element}\""))
        .expect("element in xsd");
    let end = start + text[start..].find("</xsd:element>").expect("element end");
    let mut values: Vec<String> = Vec::new();
    for part in text[start..end].split("<xsd:enumeration value=\"").skip(1) {
        let value = part.split('"').next().unwrap_or_default().to_owned();
        if !values.contains(&value) {
            values.push(value);
        }
    }
    values
}

#[test]
fn order_feeds_are_valid_against_amazons_envelope_schema() {
    let Some(reference) = reference_dir() else { return };
    if !xmllint_available() {
        return;
    }
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
    let confirmations = [
        ship("114-1234567-7654321", "UPS", ShippedItems::All),
        ship("114-1234567-7654322", "Deutsche Post", partial),
        ship("114-1234567-7654323", "Ferry & <Van> \"Co\"", ShippedItems::All),
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
    for doc in docs.iter().chain(&cancels) {
        if let Err(output) = validate_xml(&reference, &doc.body) {
            panic!("{output}\n{}", String::from_utf8_lossy(&doc.body));
        }
    }
}

#[test]
fn the_xsd_check_would_catch_an_invalid_document() {
    let Some(reference) = reference_dir() else { return };
    if !xmllint_available() {
        return;
    }
    let docs = order_fulfillment_feeds(
        "A2SELLER",
        &[ship("114-1234567-7654321", "UPS", ShippedItems::All)],
        &FeedLimits::default(),
    )
    .expect("builds");
    let broken =
        String::from_utf8_lossy(&docs[0].body).replace("<CarrierCode>UPS", "<CarrierCode>Carrier Pigeon");
    assert!(validate_xml(&reference, broken.as_bytes()).is_err());
}

#[test]
fn processing_report_fixtures_are_valid_against_amazons_schemas() {
    let Some(reference) = reference_dir() else { return };
    let report: Value =
        serde_json::from_str(include_str!("../../tests/fixtures/feeds/listings-report.json")).expect("json");
    let validator = json_schema(&reference, "listings-feed-processing-report-schema-v2.json");
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    if !xmllint_available() {
        return;
    }
    for fixture in [
        include_str!("../../tests/fixtures/feeds/order-fulfillment-report.xml"),
        include_str!("../../tests/fixtures/feeds/unparsable-feed-report.xml"),
    ] {
        validate_xml(&reference, fixture.as_bytes()).expect("fixture is a valid ProcessingReport");
    }
}

#[test]
fn listings_feeds_are_valid_against_amazons_listings_feed_schema() {
    let Some(reference) = reference_dir() else { return };
    let validator = json_schema(&reference, "listings-feed-schema-v2.json");
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
    let Some(reference) = reference_dir() else { return };
    let carriers = xsd_enumeration(&reference, "amzn-base.xsd", "CarrierCode");
    assert_eq!(CARRIER_CODES, carriers.as_slice());
    let reasons = xsd_enumeration(&reference, "OrderAcknowledgement.xsd", "CancelReason");
    let ours: Vec<&str> = CancelReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(ours, reasons);
}
