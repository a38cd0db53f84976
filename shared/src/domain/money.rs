//! Money: a decimal amount with its currency. Never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::DomainError;

/// An ISO 4217 currency code: three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a currency code, naming `field` when it is not three letters.
    pub fn parse(field: &str, code: &str) -> Result<Self, DomainError> {
        let bytes = code.trim().as_bytes();
        match bytes {
            [a, b, c] if bytes.iter().all(u8::is_ascii_alphabetic) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(DomainError::invalid(
                field,
                code,
                "expected a three-letter ISO 4217 currency code",
            )),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse("currency", s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Currency::parse("currency", &text).map_err(serde::de::Error::custom)
    }
}

/// An amount in a currency. Serialised as `{"amount": "12.34", "currency": "EUR"}`, the amount a string so
/// that no JSON reader turns it into a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount, exact to the cent (or yen).
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// Its currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in a currency.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    /// Parses a report's amount cell (`12.34`, `-1.00`, `1500`), naming `field` when it is not a number.
    /// An empty cell is no amount at all, which reports use for pending and some cancelled lines.
    pub fn parse_amount(field: &str, text: &str, currency: Currency) -> Result<Option<Money>, DomainError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let amount = Decimal::from_str_exact(text)
            .map_err(|_| DomainError::invalid(field, text, "expected a decimal amount like 12.34"))?;
        Ok(Some(Money { amount, currency }))
    }

    /// The sum of two amounts, or `None` when their currencies differ.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.amount.checked_add(other.amount))
            .flatten()
            .map(|amount| Money {
                amount,
                currency: self.currency,
            })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("currency", "eur").expect("valid code")
    }

    #[test]
    fn amounts_keep_every_digit() {
        let a = Money::parse_amount("item-price", "0.10", eur()).unwrap().unwrap();
        let b = Money::parse_amount("item-price", "0.20", eur()).unwrap().unwrap();
        assert_eq!(a.checked_add(b).unwrap().amount.to_string(), "0.30");
    }

    #[test]
    fn empty_cell_is_no_amount_and_garbage_names_the_field() {
        assert_eq!(Money::parse_amount("item-tax", " ", eur()).unwrap(), None);
        let err = Money::parse_amount("item-tax", "12,5x", eur()).unwrap_err();
        assert_eq!(err.field, "item-tax");
    }

    #[test]
    fn different_currencies_do_not_add() {
        let usd = Currency::parse("currency", "USD").unwrap();
        let a = Money::new(Decimal::ONE, eur());
        assert_eq!(a.checked_add(Money::new(Decimal::ONE, usd)), None);
    }

    #[test]
    fn money_serialises_its_amount_as_a_string() {
        let m = Money::new(Decimal::new(1999, 2), eur());
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"19.99","currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }

    #[test]
    fn currency_codes_must_be_three_letters() {
        assert!(Currency::parse("currency", "EURO").is_err());
        assert!(Currency::parse("currency", "E1R").is_err());
    }
}
