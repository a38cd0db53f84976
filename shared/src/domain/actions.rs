//! The seller's actions that become feed messages: confirm a shipment, cancel an order (or some of its items),
//! set a SKU's quantity. Plain data with validation that names the field, so the HTTP API can answer 400 with
//! it and the builders never emit a message Amazon's schemas reject.
//!
//! Field names in errors are the API's camelCase names (`amazonOrderId`, `items[2].quantity`).

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::carriers::CARRIER_CODES;
use crate::error::DomainError;

/// `String` in `amzn-base.xsd`: carrier names, shipping methods and tracking numbers are at most 50 characters.
const MAX_TEXT: usize = 50;
/// `SKUType` in `amzn-base.xsd`.
const MAX_SKU: usize = 40;
/// The listings schema's `lead_time_to_ship_max_days` range as Seller Central accepts it.
const MAX_HANDLING_DAYS: u32 = 30;
/// The most order items one shipment or cancellation names: far beyond any real order, and small enough that
/// the action stays well within a DynamoDB item.
const MAX_ACTION_ITEMS: usize = 1000;
/// How far ahead of now a ship date may be: a shipment leaves when it is confirmed, give or take the seller's
/// time zone and clock.
const SHIP_DATE_AHEAD: TimeDelta = TimeDelta::days(1);

/// A shipment the seller confirms: `POST_ORDER_FULFILLMENT_DATA`'s `OrderFulfillment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipmentConfirmation {
    /// Amazon's order id, `3-7-7` digits.
    pub amazon_order_id: String,
    /// Who carries it.
    pub carrier: Carrier,
    /// The carrier's service, e.g. `Ground` (free text, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    /// The carrier's tracking number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    /// When it left the seller (`FulfillmentDate`).
    pub ship_date: DateTime<Utc>,
    /// Which units it carries.
    pub items: ShippedItems,
    /// Where it left from, when the seller ships from more than one place (`ShipFromAddress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from: Option<Box<ShipFrom>>,
}

/// The address a shipment leaves from: `OrderFulfillment`'s optional `ShipFromAddress`, of `AddressType` in
/// `amzn-base.xsd` (a name and a first line required; lines at most 60 characters, other text at most 50, a
/// two-letter country code). Not buyer data: the seller's own warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShipFrom {
    /// The warehouse's or company's name (`Name`).
    pub name: String,
    /// `AddressFieldOne`.
    pub address_line1: String,
    /// `AddressFieldTwo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    /// `AddressFieldThree`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<String>,
    /// `City`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// `StateOrRegion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<String>,
    /// `PostalCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// `CountryCode`: ISO 3166-1 alpha-2, e.g. `DE`.
    pub country_code: String,
}

/// `AddressLine` in `amzn-base.xsd`.
const MAX_ADDRESS_LINE: usize = 60;

impl ShipFrom {
    /// Checks it against Amazon's `AddressType` limits, naming the field (`shipFrom.<name>`) that breaks one.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_text("shipFrom.name", &self.name, MAX_TEXT)?;
        check_text("shipFrom.addressLine1", &self.address_line1, MAX_ADDRESS_LINE)?;
        for (field, line) in [
            ("shipFrom.addressLine2", &self.address_line2),
            ("shipFrom.addressLine3", &self.address_line3),
        ] {
            if let Some(line) = line {
                check_text(field, line, MAX_ADDRESS_LINE)?;
            }
        }
        for (field, text) in [
            ("shipFrom.city", &self.city),
            ("shipFrom.stateOrRegion", &self.state_or_region),
            ("shipFrom.postalCode", &self.postal_code),
        ] {
            if let Some(text) = text {
                check_text(field, text, MAX_TEXT)?;
            }
        }
        let code = &self.country_code;
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(DomainError::invalid(
                "shipFrom.countryCode",
                code,
                "expected a two-letter ISO country code in capitals, e.g. DE",
            ));
        }
        Ok(())
    }
}

/// The units a shipment carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "items")]
pub enum ShippedItems {
    /// Every unit of the order still to ship (the message names no items).
    All,
    /// These order items, each with a quantity (a partial shipment).
    Some(Vec<ItemQuantity>),
}

/// An order item and a number of its units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemQuantity {
    /// Amazon's 14-digit order item id (`AmazonOrderItemCode`).
    pub order_item_id: String,
    /// Units, at least one.
    pub quantity: u32,
}

/// A carrier: one of Amazon's carrier codes, or any other carrier by name (sent as `CarrierCode` `Other` with
/// `CarrierName`, as Amazon requires since 2021).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carrier {
    /// A code from Amazon's list, spelled as Amazon spells it.
    Code(CarrierCode),
    /// A carrier Amazon does not list, by name.
    Other(String),
}

impl Carrier {
    /// The carrier a seller names: Amazon's code when the name is one (compared without regard to case, since
    /// sellers type `usps`), else an `Other` carrier with that name.
    pub fn from_name(name: &str) -> Carrier {
        let name = name.trim();
        match CarrierCode::find(name) {
            Some(code) if code.as_str() != "Other" => Carrier::Code(code),
            _ => Carrier::Other(name.to_owned()),
        }
    }

    /// The name as the seller sees it: the code, or the free name.
    pub fn name(&self) -> &str {
        match self {
            Carrier::Code(code) => code.as_str(),
            Carrier::Other(name) => name,
        }
    }

    fn validate(&self, field: &str) -> Result<(), DomainError> {
        match self {
            Carrier::Code(_) => Ok(()),
            Carrier::Other(name) => {
                let name = name.trim();
                if name.is_empty() || name.eq_ignore_ascii_case("other") {
                    Err(DomainError::invalid(
                        field,
                        name,
                        "name the carrier: a code from Amazon's list or the carrier's name",
                    ))
                } else {
                    check_text(field, name, MAX_TEXT)
                }
            }
        }
    }
}

impl Serialize for Carrier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Carrier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Carrier::from_name(&name))
    }
}

/// One of Amazon's carrier codes ([`super::CARRIER_CODES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CarrierCode(&'static str);

impl CarrierCode {
    /// The code spelled `text` exactly, or else the first code equal to it without regard to case.
    pub fn find(text: &str) -> Option<CarrierCode> {
        CARRIER_CODES
            .iter()
            .find(|code| **code == text)
            .or_else(|| CARRIER_CODES.iter().find(|code| code.eq_ignore_ascii_case(text)))
            .map(|code| CarrierCode(code))
    }

    /// The code as `<CarrierCode>` carries it.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for CarrierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Why the seller cancels: `CancelReason` of `OrderAcknowledgement.xsd` (2021 set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CancelReason {
    /// Out of stock.
    NoInventory,
    /// The address cannot be served.
    ShippingAddressUndeliverable,
    /// The buyer exchanged the item.
    CustomerExchange,
    /// The buyer asked to cancel.
    BuyerCanceled,
    /// Any other adjustment.
    GeneralAdjustment,
    /// The carrier's credit decision.
    CarrierCreditDecision,
    /// Risk assessment information not valid.
    RiskAssessmentInformationNotValid,
    /// The carrier cannot cover the address.
    CarrierCoverageFailure,
    /// The buyer returned it.
    CustomerReturn,
    /// The buyer did not receive it.
    MerchandiseNotReceived,
    /// Information could not be verified.
    CannotVerifyInformation,
    /// The price was wrong.
    PricingError,
    /// The seller rejects the order.
    RejectOrder,
    /// Weather delays shipping.
    WeatherDelay,
}

impl CancelReason {
    /// Every reason, in the schema's order.
    pub const ALL: [CancelReason; 14] = [
        CancelReason::NoInventory,
        CancelReason::ShippingAddressUndeliverable,
        CancelReason::CustomerExchange,
        CancelReason::BuyerCanceled,
        CancelReason::GeneralAdjustment,
        CancelReason::CarrierCreditDecision,
        CancelReason::RiskAssessmentInformationNotValid,
        CancelReason::CarrierCoverageFailure,
        CancelReason::CustomerReturn,
        CancelReason::MerchandiseNotReceived,
        CancelReason::CannotVerifyInformation,
        CancelReason::PricingError,
        CancelReason::RejectOrder,
        CancelReason::WeatherDelay,
    ];

    /// The value as `<CancelReason>` carries it.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::NoInventory => "NoInventory",
            CancelReason::ShippingAddressUndeliverable => "ShippingAddressUndeliverable",
            CancelReason::CustomerExchange => "CustomerExchange",
            CancelReason::BuyerCanceled => "BuyerCanceled",
            CancelReason::GeneralAdjustment => "GeneralAdjustment",
            CancelReason::CarrierCreditDecision => "CarrierCreditDecision",
            CancelReason::RiskAssessmentInformationNotValid => "RiskAssessmentInformationNotValid",
            CancelReason::CarrierCoverageFailure => "CarrierCoverageFailure",
            CancelReason::CustomerReturn => "CustomerReturn",
            CancelReason::MerchandiseNotReceived => "MerchandiseNotReceived",
            CancelReason::CannotVerifyInformation => "CannotVerifyInformation",
            CancelReason::PricingError => "PricingError",
            CancelReason::RejectOrder => "RejectOrder",
            CancelReason::WeatherDelay => "WeatherDelay",
        }
    }
}

impl fmt::Display for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CancelReason {
    type Err = DomainError;

    /// Exactly as `OrderAcknowledgement.xsd` spells it: Amazon's enumeration is case-sensitive, so another
    /// spelling is refused (naming the one Amazon takes), not sent to be rejected in the feed.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(reason) = CancelReason::ALL.into_iter().find(|r| r.as_str() == text) {
            return Ok(reason);
        }
        let reason = match CancelReason::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(text.trim()))
        {
            Some(near) => format!("not one of Amazon's cancel reasons; Amazon spells it {near}"),
            None => "not one of Amazon's cancel reasons".to_owned(),
        };
        Err(DomainError::invalid("reason", text, reason))
    }
}

/// The seller cancels an order, or some of its items: `POST_ORDER_ACKNOWLEDGEMENT_DATA` with `StatusCode`
/// `Failure`.
///
/// Amazon takes the reason per item: a cancellation that names no items cancels the whole order but carries
/// no reason, so name the order's items (all of them, for a whole order) whenever the reason matters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancellation {
    /// Amazon's order id.
    pub amazon_order_id: String,
    /// Why.
    pub reason: CancelReason,
    /// The items to cancel; empty cancels the whole order.
    #[serde(default)]
    pub items: Vec<CancelledItem>,
}

/// An order item to cancel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledItem {
    /// Amazon's 14-digit order item id.
    pub order_item_id: String,
    /// Units to cancel; `None` cancels the whole line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u32>,
}

/// A SKU's new quantity for merchant fulfilment: `JSON_LISTINGS_FEED` patching `fulfillment_availability`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryUpdate {
    /// The seller's SKU.
    pub sku: String,
    /// Units available to sell.
    pub quantity: u32,
    /// Days the seller needs to ship (`lead_time_to_ship_max_days`); `None` leaves it as it is on Amazon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling_time_days: Option<u32>,
}

/// `3-7-7` word characters, as `AmazonOrderID` in `amzn-base.xsd` (`\w{3}-\w{7}-\w{7}`); Amazon's are digits.
fn check_order_id(field: &str, id: &str) -> Result<(), DomainError> {
    let parts: Vec<&str> = id.split('-').collect();
    let shaped = parts.len() == 3
        && parts.iter().zip([3, 7, 7]).all(|(part, len)| {
            part.len() == len && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
    if shaped {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            id,
            "not an Amazon order id (like 114-1234567-1234567)",
        ))
    }
}

/// Amazon's order item ids are 14 digits (`AmazonOrderItemCode`).
fn check_order_item_id(field: &str, id: &str) -> Result<(), DomainError> {
    if id.len() == 14 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            id,
            "not an Amazon order item id (14 digits)",
        ))
    }
}

/// Text Amazon stores as `normalizedString` of at most `max` characters: no line breaks or tabs.
fn check_text(field: &str, text: &str, max: usize) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::invalid(field, text, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(DomainError::invalid(
            field,
            text,
            format!("at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            text,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn check_count(items: usize) -> Result<(), DomainError> {
    if items > MAX_ACTION_ITEMS {
        return Err(DomainError::invalid(
            "items",
            &items.to_string(),
            format!("at most {MAX_ACTION_ITEMS} order items"),
        ));
    }
    Ok(())
}

fn check_unique<'a>(
    ids: impl Iterator<Item = &'a str>,
    field: impl Fn(usize) -> String,
) -> Result<(), DomainError> {
    let mut seen = HashSet::new();
    for (index, id) in ids.enumerate() {
        if !seen.insert(id) {
            return Err(DomainError::invalid(
                field(index),
                id,
                "names the same item twice",
            ));
        }
    }
    Ok(())
}

impl ShipmentConfirmation {
    /// Checks every field against what Amazon accepts; the error names the first bad one.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_order_id("amazonOrderId", &self.amazon_order_id)?;
        self.carrier.validate("carrier")?;
        if let Some(method) = &self.shipping_method {
            check_text("shippingMethod", method, MAX_TEXT)?;
        }
        if let Some(tracking) = &self.tracking_number {
            check_text("trackingNumber", tracking, MAX_TEXT)?;
        }
        if let Some(ship_from) = &self.ship_from {
            ship_from.validate()?;
        }
        if let ShippedItems::Some(items) = &self.items {
            if items.is_empty() {
                return Err(DomainError::invalid(
                    "items",
                    "[]",
                    "name at least one item, or ship all items",
                ));
            }
            check_count(items.len())?;
            for (index, item) in items.iter().enumerate() {
                check_order_item_id(&format!("items[{index}].orderItemId"), &item.order_item_id)?;
                if item.quantity == 0 {
                    return Err(DomainError::invalid(
                        format!("items[{index}].quantity"),
                        "0",
                        "must be at least 1",
                    ));
                }
            }
            check_unique(items.iter().map(|i| i.order_item_id.as_str()), |index| {
                format!("items[{index}].orderItemId")
            })?;
        }
        Ok(())
    }

    /// Checks the ship date against the order's purchase and now: a shipment leaves after the order was
    /// placed, and not in days to come.
    pub fn check_ship_date(&self, purchased: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DomainError> {
        let date = self.ship_date;
        if date < purchased {
            return Err(DomainError::invalid(
                "shipDate",
                &date.to_rfc3339(),
                format!("before the order was placed ({})", purchased.to_rfc3339()),
            ));
        }
        if date > now + SHIP_DATE_AHEAD {
            return Err(DomainError::invalid(
                "shipDate",
                &date.to_rfc3339(),
                "in the future: give the date the shipment left, now or earlier",
            ));
        }
        Ok(())
    }
}

impl Cancellation {
    /// Checks every field against what Amazon accepts; the error names the first bad one.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_order_id("amazonOrderId", &self.amazon_order_id)?;
        check_count(self.items.len())?;
        for (index, item) in self.items.iter().enumerate() {
            check_order_item_id(&format!("items[{index}].orderItemId"), &item.order_item_id)?;
            if item.quantity == Some(0) {
                return Err(DomainError::invalid(
                    format!("items[{index}].quantity"),
                    "0",
                    "must be at least 1, or left out to cancel the whole line",
                ));
            }
        }
        check_unique(self.items.iter().map(|i| i.order_item_id.as_str()), |index| {
            format!("items[{index}].orderItemId")
        })
    }
}

impl InventoryUpdate {
    /// Checks every field against what Amazon accepts; the error names the first bad one.
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.sku.is_empty() || self.sku.trim() != self.sku {
            return Err(DomainError::invalid(
                "sku",
                &self.sku,
                "must not be empty or start or end with spaces",
            ));
        }
        check_text("sku", &self.sku, MAX_SKU)?;
        if let Some(days) = self.handling_time_days
            && !(1..=MAX_HANDLING_DAYS).contains(&days)
        {
            return Err(DomainError::invalid(
                "handlingTimeDays",
                &days.to_string(),
                format!("must be between 1 and {MAX_HANDLING_DAYS}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Change = Box<dyn Fn(&mut ShipmentConfirmation)>;

    fn confirmation() -> ShipmentConfirmation {
        ShipmentConfirmation {
            amazon_order_id: "114-1234567-7654321".to_owned(),
            carrier: Carrier::from_name("usps"),
            shipping_method: Some("Priority Mail".to_owned()),
            tracking_number: Some("9400111899223344556677".to_owned()),
            ship_date: "2025-03-10T12:00:00Z".parse().unwrap(),
            items: ShippedItems::All,
            ship_from: None,
        }
    }

    #[test]
    fn a_listed_carrier_is_recognised_without_regard_to_case_and_others_keep_their_name() {
        assert_eq!(Carrier::from_name("usps"), Carrier::Code(CarrierCode("USPS")));
        assert_eq!(
            Carrier::from_name(" Royal Mail "),
            Carrier::Code(CarrierCode("Royal Mail"))
        );
        assert_eq!(Carrier::from_name("NACEX").name(), "NACEX");
        assert_eq!(Carrier::from_name("nacex").name(), "Nacex");
        assert_eq!(
            Carrier::from_name("Bob's Couriers"),
            Carrier::Other("Bob's Couriers".to_owned())
        );
    }

    #[test]
    fn a_carrier_reads_and_writes_as_its_name() {
        let json = serde_json::to_string(&Carrier::from_name("fedex")).unwrap();
        assert_eq!(json, "\"FedEx\"");
        let back: Carrier = serde_json::from_str("\"Local Van\"").unwrap();
        assert_eq!(back, Carrier::Other("Local Van".to_owned()));
    }

    fn warehouse() -> ShipFrom {
        ShipFrom {
            name: "Lager Nord".into(),
            address_line1: "x".repeat(60),
            address_line2: None,
            address_line3: None,
            city: Some("Hamburg".into()),
            state_or_region: None,
            postal_code: Some("20457".into()),
            country_code: "DE".into(),
        }
    }

    #[test]
    fn a_valid_confirmation_passes() {
        assert_eq!(confirmation().validate(), Ok(()));
        let mut from_a_warehouse = confirmation();
        from_a_warehouse.ship_from = Some(Box::new(warehouse()));
        assert_eq!(from_a_warehouse.validate(), Ok(()));
    }

    #[test]
    fn a_confirmation_names_its_bad_field() {
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|c| c.amazon_order_id = "114-123".into()),
                "amazonOrderId",
            ),
            (
                Box::new(|c| c.carrier = Carrier::Other("Other".into())),
                "carrier",
            ),
            (Box::new(|c| c.carrier = Carrier::Other(" ".into())), "carrier"),
            (
                Box::new(|c| c.tracking_number = Some("x".repeat(51))),
                "trackingNumber",
            ),
            (
                Box::new(|c| c.tracking_number = Some("12\n34".into())),
                "trackingNumber",
            ),
            (
                Box::new(|c| c.shipping_method = Some(String::new())),
                "shippingMethod",
            ),
            (Box::new(|c| c.items = ShippedItems::Some(vec![])), "items"),
            (
                Box::new(|c| {
                    c.ship_from = Some(Box::new(ShipFrom {
                        country_code: "DEU".into(),
                        ..warehouse()
                    }))
                }),
                "shipFrom.countryCode",
            ),
            (
                Box::new(|c| {
                    c.ship_from = Some(Box::new(ShipFrom {
                        country_code: "de".into(),
                        ..warehouse()
                    }))
                }),
                "shipFrom.countryCode",
            ),
            (
                Box::new(|c| {
                    c.ship_from = Some(Box::new(ShipFrom {
                        address_line1: "x".repeat(61),
                        ..warehouse()
                    }))
                }),
                "shipFrom.addressLine1",
            ),
            (
                Box::new(|c| {
                    c.ship_from = Some(Box::new(ShipFrom {
                        name: " ".into(),
                        ..warehouse()
                    }))
                }),
                "shipFrom.name",
            ),
            (
                Box::new(|c| {
                    c.ship_from = Some(Box::new(ShipFrom {
                        city: Some("x".repeat(51)),
                        ..warehouse()
                    }))
                }),
                "shipFrom.city",
            ),
            (
                Box::new(|c| {
                    c.items = ShippedItems::Some(vec![ItemQuantity {
                        order_item_id: "123".into(),
                        quantity: 1,
                    }])
                }),
                "items[0].orderItemId",
            ),
            (
                Box::new(|c| {
                    c.items = ShippedItems::Some(vec![
                        ItemQuantity {
                            order_item_id: "12345678901234".into(),
                            quantity: 1,
                        },
                        ItemQuantity {
                            order_item_id: "12345678901235".into(),
                            quantity: 0,
                        },
                    ])
                }),
                "items[1].quantity",
            ),
            (
                Box::new(|c| {
                    let item = ItemQuantity {
                        order_item_id: "12345678901234".into(),
                        quantity: 1,
                    };
                    c.items = ShippedItems::Some(vec![item.clone(), item]);
                }),
                "items[1].orderItemId",
            ),
        ];
        for (change, field) in cases {
            let mut c = confirmation();
            change(&mut c);
            let err = c.validate().expect_err(field);
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn cancel_reasons_are_amazons_fourteen() {
        assert_eq!("BuyerCanceled".parse(), Ok(CancelReason::BuyerCanceled));
        let near = "buyercanceled"
            .parse::<CancelReason>()
            .expect_err("Amazon's enum is case-sensitive");
        assert!(near.reason.contains("BuyerCanceled"), "{near}");
        assert_eq!(CancelReason::ALL.len(), 14);
        let err = "Changed my mind".parse::<CancelReason>().expect_err("unknown");
        assert_eq!(err.field, "reason");
        assert_eq!(
            serde_json::to_string(&CancelReason::NoInventory).unwrap(),
            "\"NoInventory\""
        );
    }

    #[test]
    fn a_cancellation_names_its_bad_field() {
        let mut cancel = Cancellation {
            amazon_order_id: "302-1234567-7654321".into(),
            reason: CancelReason::NoInventory,
            items: vec![CancelledItem {
                order_item_id: "12345678901234".into(),
                quantity: Some(0),
            }],
        };
        assert_eq!(cancel.validate().unwrap_err().field, "items[0].quantity");
        cancel.items[0].quantity = None;
        assert_eq!(cancel.validate(), Ok(()));
        cancel.amazon_order_id = "nope".into();
        assert_eq!(cancel.validate().unwrap_err().field, "amazonOrderId");
    }

    #[test]
    fn an_inventory_update_names_its_bad_field() {
        let update = |sku: &str, days: Option<u32>| InventoryUpdate {
            sku: sku.into(),
            quantity: 3,
            handling_time_days: days,
        };
        assert_eq!(update("MUG-1", Some(2)).validate(), Ok(()));
        assert_eq!(update("", None).validate().unwrap_err().field, "sku");
        assert_eq!(update(" MUG", None).validate().unwrap_err().field, "sku");
        assert_eq!(update(&"S".repeat(41), None).validate().unwrap_err().field, "sku");
        assert_eq!(
            update("MUG", Some(0)).validate().unwrap_err().field,
            "handlingTimeDays"
        );
        assert_eq!(
            update("MUG", Some(31)).validate().unwrap_err().field,
            "handlingTimeDays"
        );
    }
}
