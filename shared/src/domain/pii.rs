//! Buyer personal data from restricted reports, kept apart from orders: it is stored encrypted, with a TTL,
//! and never logged, so its `Debug` shows only the order id.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The buyer and recipient of one order, as a restricted report gives them. Every field is PII except the
/// order id; empty report cells are `None`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerPii {
    /// The order these details belong to (not PII).
    pub amazon_order_id: String,
    /// The buyer's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    /// The buyer's e-mail address (often an anonymised `@marketplace.amazon.com` relay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    /// The buyer's phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_phone: Option<String>,
    /// Where the order goes, with the recipient's name.
    #[serde(default)]
    pub ship_to: PostalAddress,
    /// The billing address, when the report has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bill_to: Option<PostalAddress>,
}

impl BuyerPii {
    /// Whether the report gave no personal data at all for this order.
    pub fn is_empty(&self) -> bool {
        self.buyer_name.is_none()
            && self.buyer_email.is_none()
            && self.buyer_phone.is_none()
            && self.ship_to.is_empty()
            && self.bill_to.as_ref().is_none_or(PostalAddress::is_empty)
    }
}

impl fmt::Debug for BuyerPii {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuyerPii")
            .field("amazon_order_id", &self.amazon_order_id)
            .finish_non_exhaustive()
    }
}

/// A full postal address with the name and phone of the person at it. PII throughout.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostalAddress {
    /// The recipient's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Address line 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_1: Option<String>,
    /// Address line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_2: Option<String>,
    /// Address line 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_3: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State or region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Postal code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166 country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Phone number at the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl PostalAddress {
    /// Whether every field is empty.
    pub fn is_empty(&self) -> bool {
        [
            &self.name,
            &self.address_1,
            &self.address_2,
            &self.address_3,
            &self.city,
            &self.state,
            &self.postal_code,
            &self.country,
            &self.phone,
        ]
        .iter()
        .all(|field| field.is_none())
    }
}

impl fmt::Debug for PostalAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostalAddress").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_the_order_id_and_no_personal_data() {
        let pii = BuyerPii {
            amazon_order_id: "103-2601055-5904000".into(),
            buyer_name: Some("Joe Customer".into()),
            buyer_email: Some("joe@example.com".into()),
            ship_to: PostalAddress {
                address_1: Some("123 Main Street".into()),
                ..PostalAddress::default()
            },
            ..BuyerPii::default()
        };
        let text = format!("{pii:?} {:?}", pii.ship_to);
        assert!(text.contains("103-2601055-5904000"), "{text}");
        for secret in ["Joe", "joe@", "Main Street"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn an_address_with_any_field_is_not_empty() {
        let mut pii = BuyerPii::default();
        assert!(pii.is_empty());
        pii.ship_to.city = Some("Lawrence".into());
        assert!(!pii.is_empty());
    }
}
