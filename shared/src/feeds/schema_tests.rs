//! Generated documents and the report fixtures checked against Amazon's own schemas in the shared reference
//! folder (never copied into the repository): `xmllint --schema amzn-envelope.xsd` for XML, a JSON Schema
//! validator for the listings feed. Where the folder or `xmllint` is missing, a test says so and checks nothing
//! else (install `libxml2-utils` to run them; set `SELLERSYNC_REFERENCE_DIR` if the folder lives elsewhere).

use std::path::{Path, PathBuf};
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

/// Validates `documents` with one `xmllint --noout --schema amzn-envelope.xsd` run (compiling Amazon's schema
/// bundle costs seconds, so it is done once); each verdict is `Err` with xmllint's words when invalid.
fn validate_xml(reference: &Path, documents: &[&[u8]]) -> Vec<Result<(), String>> {
    let dir = std::env::temp_dir().join(format!("sellersync-feeds-xsd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let files: Vec<PathBuf> = documents
        .iter()
        .enumerate()
        .map(|(i, document)| {
            let file = dir.join(format!("document-{i}.xml"));
            std::fs::write(&file, document).expect("temp file");
            file
        })
        .collect();
    let output = Command::new("xmllint")
        .args(["--noout", "--schema", "amzn-envelope.xsd"])
        .args(&files)
        .current_dir(reference.join("feeds/xsd/validation-bundle"))
        .output()
        .expect("xmllint runs");
    let said = String::from_utf8_lossy(&output.stderr).into_owned();
    let verdicts = files
        .iter()
        .map(|file| {
            let name = file.display().to_string();
            if said.lines().any(|line| line == format!("{name} validates")) {
                Ok(())
            } else {
                Err(said
                    .lines()
                    .filter(|l| l.starts_with(&name))
                    .collect::<Vec<_>>()
                    .join("\n"))
            }
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    verdicts
}

fn json_schema(reference: &Path, name: &str) -> jsonschema::Validator {
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

fn xsd_enumeration(reference: &Path, file: &str, element: &str) -> Vec<String> {
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
fn order_feeds_and_report_fixtures_are_valid_against_amazons_envelope_schema() {
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
    // The check must be able to fail: an unknown carrier code is not in the schema's enumeration.
    let broken =
        String::from_utf8_lossy(&docs[0].body).replace("<CarrierCode>UPS", "<CarrierCode>Carrier Pigeon");
    let mut documents: Vec<&[u8]> = docs.iter().chain(&cancels).map(|d| d.body.as_slice()).collect();
    documents.push(include_bytes!(
        "../../tests/fixtures/feeds/order-fulfillment-report.xml"
    ));
    documents.push(include_bytes!(
        "../../tests/fixtures/feeds/unparsable-feed-report.xml"
    ));
    documents.push(broken.as_bytes());
    let mut verdicts = validate_xml(&reference, &documents);
    assert!(
        verdicts.pop().is_some_and(|v| v.is_err()),
        "the broken document must fail"
    );
    for (verdict, document) in verdicts.iter().zip(&documents) {
        if let Err(output) = verdict {
            panic!("{output}\n{}", String::from_utf8_lossy(document));
        }
    }
}

#[test]
fn the_listings_report_fixture_is_valid_against_amazons_schema() {
    let Some(reference) = reference_dir() else { return };
    let report: Value =
        serde_json::from_str(include_str!("../../tests/fixtures/feeds/listings-report.json")).expect("json");
    let validator = json_schema(&reference, "listings-feed-processing-report-schema-v2.json");
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
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
