//! Seller accounts: who sellersync imports for, how often, and with which options.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::marketplace::Region;
use super::order::{FulfillmentChannel, Order};
use super::report::{ACTIONABLE_ORDERS, ALL_ORDERS_FLAT, FBA_SHIPMENTS};
use crate::error::DomainError;

/// A seller account connected to sellersync. The LWA refresh token is not here: it lives in Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerAccount {
    /// sellersync's id for the account.
    pub id: String,
    /// Amazon's merchant (selling partner) id.
    pub seller_id: String,
    /// The region whose endpoint serves the account.
    pub region: Region,
    /// Marketplaces to import, all in `region`.
    pub marketplaces: Vec<String>,
    /// How often the report requester runs for it.
    pub import_interval: ImportInterval,
    /// What to import.
    pub options: ImportOptions,
    /// When it was connected.
    pub created_at: DateTime<Utc>,
    /// Where its shipments leave from unless a shipment names another place (`ShipFromAddress`); `None` leaves
    /// the address out, and Amazon takes the seller's default from Seller Central.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from: Option<super::ShipFrom>,
}

/// What to import for an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    /// Import orders fulfilled by Amazon (AFN) as well as merchant-fulfilled ones.
    #[serde(default = "yes")]
    pub import_fba: bool,
    /// Import orders that were already shipped when first seen.
    #[serde(default = "yes")]
    pub import_shipped: bool,
    /// Which ship-to countries to keep.
    #[serde(default)]
    pub country_filter: CountryFilter,
    /// Import the shipping addresses of unshipped merchant-fulfilled orders (a restricted report: the app
    /// needs Amazon's Direct-to-Consumer Shipping role). Without it no buyer name, address or phone is
    /// stored, whichever report carries them (one requested by hand included).
    #[serde(default)]
    pub import_addresses: bool,
}

fn yes() -> bool {
    true
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            import_fba: true,
            import_shipped: true,
            country_filter: CountryFilter::default(),
            import_addresses: false,
        }
    }
}

impl ImportOptions {
    /// Whether an order read for the first time should be imported. Orders already stored are always updated.
    pub fn admits_new(&self, order: &Order) -> bool {
        (self.import_fba || order.fulfillment_channel != FulfillmentChannel::Afn)
            && (self.import_shipped || !order.status.is_shipped())
            && self.country_filter.admits(order.ship_country())
    }
    /// The report types a scheduled import requests for these options.
    pub fn report_types(&self) -> Vec<&'static str> {
        let mut types = vec![ALL_ORDERS_FLAT];
        if self.import_fba {
            types.push(FBA_SHIPMENTS);
        }
        if self.import_addresses {
            types.push(ACTIONABLE_ORDERS);
        }
        types
    }
}

/// A ship-to country filter: `US,CA` keeps only those, `-US` drops US, empty keeps every order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CountryFilter {
    /// Keep every order.
    #[default]
    All,
    /// Keep only orders shipping to these countries.
    Only(BTreeSet<String>),
    /// Keep every order except those shipping to these countries.
    Except(BTreeSet<String>),
}

impl CountryFilter {
    /// Whether an order shipping to `country` passes. Orders with no known country pass an `Except` filter
    /// and fail an `Only` filter.
    pub fn admits(&self, country: Option<&str>) -> bool {
        match (self, country) {
            (CountryFilter::All, _) => true,
            (CountryFilter::Only(set), Some(c)) => set.contains(&c.to_ascii_uppercase()),
            (CountryFilter::Only(_), None) => false,
            (CountryFilter::Except(set), Some(c)) => !set.contains(&c.to_ascii_uppercase()),
            (CountryFilter::Except(_), None) => true,
        }
    }
}

impl FromStr for CountryFilter {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| DomainError::invalid("countryFilter", text, reason);
        let parts: Vec<&str> = text.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            return Ok(CountryFilter::All);
        }
        let excluded = parts.iter().filter(|p| p.starts_with('-')).count();
        if excluded != 0 && excluded != parts.len() {
            return Err(invalid(
                "mix of kept and dropped countries; use either `US,CA` or `-US,-CA`",
            ));
        }
        let codes = parts
            .iter()
            .map(|p| {
                let code = p.trim_start_matches('-');
                if code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
                    Ok(code.to_ascii_uppercase())
                } else {
                    Err(invalid(
                        "expected two-letter ISO country codes, e.g. `US,CA` or `-US`",
                    ))
                }
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(if excluded == 0 {
            CountryFilter::Only(codes)
        } else {
            CountryFilter::Except(codes)
        })
    }
}

impl fmt::Display for CountryFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, set) = match self {
            CountryFilter::All => return Ok(()),
            CountryFilter::Only(set) => ("", set),
            CountryFilter::Except(set) => ("-", set),
        };
        let parts: Vec<String> = set.iter().map(|c| format!("{prefix}{c}")).collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for CountryFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CountryFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// How often an account's import runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportInterval {
    /// Never: the schedule is disabled.
    Never,
    /// Every so many minutes: 5, 15, 30, 60, 120, 360, 720 or 1440.
    Minutes(u32),
}

impl ImportInterval {
    /// The intervals a seller can pick, as written in the API.
    pub const CHOICES: [&'static str; 9] = ["never", "5m", "15m", "30m", "1h", "2h", "6h", "12h", "daily"];

    /// The interval's length, `None` for never.
    pub fn duration(self) -> Option<Duration> {
        match self {
            ImportInterval::Never => None,
            ImportInterval::Minutes(m) => Some(Duration::from_secs(u64::from(m) * 60)),
        }
    }

    /// EventBridge Scheduler's rate expression for it, `None` for never.
    pub fn schedule_expression(self) -> Option<String> {
        match self {
            ImportInterval::Never => None,
            ImportInterval::Minutes(1440) => Some("rate(1 day)".to_owned()),
            ImportInterval::Minutes(m) if m % 60 == 0 && m > 60 => Some(format!("rate({} hours)", m / 60)),
            ImportInterval::Minutes(60) => Some("rate(1 hour)".to_owned()),
            ImportInterval::Minutes(m) => Some(format!("rate({m} minutes)")),
        }
    }
}

impl fmt::Display for ImportInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportInterval::Never => f.write_str("never"),
            ImportInterval::Minutes(1440) => f.write_str("daily"),
            ImportInterval::Minutes(m) if m % 60 == 0 => write!(f, "{}h", m / 60),
            ImportInterval::Minutes(m) => write!(f, "{m}m"),
        }
    }
}

impl FromStr for ImportInterval {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let minutes = match text.trim().to_ascii_lowercase().as_str() {
            "never" => return Ok(ImportInterval::Never),
            "5m" => 5,
            "15m" => 15,
            "30m" => 30,
            "1h" => 60,
            "2h" => 120,
            "6h" => 360,
            "12h" => 720,
            "daily" | "24h" => 1440,
            _ => {
                return Err(DomainError::invalid(
                    "importInterval",
                    text,
                    format!("expected one of {}", ImportInterval::CHOICES.join(", ")),
                ));
            }
        };
        Ok(ImportInterval::Minutes(minutes))
    }
}

impl Serialize for ImportInterval {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ImportInterval {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Checks Amazon's merchant id (`selling_partner_id`): 8 to 20 letters and digits.
pub fn check_seller_id(field: &str, seller_id: &str) -> Result<(), DomainError> {
    let ok = (8..=20).contains(&seller_id.len()) && seller_id.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            seller_id,
            "expected Amazon's merchant id, e.g. A2EXAMPLE12345",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_choose_the_report_types() {
        let mut options = ImportOptions::default();
        assert_eq!(options.report_types(), [ALL_ORDERS_FLAT, FBA_SHIPMENTS]);
        options.import_fba = false;
        options.import_addresses = true;
        assert_eq!(options.report_types(), [ALL_ORDERS_FLAT, ACTIONABLE_ORDERS]);
    }

    #[test]
    fn country_filter_keeps_or_drops_the_listed_countries() {
        let only: CountryFilter = "US, ca".parse().unwrap();
        assert!(only.admits(Some("CA")) && !only.admits(Some("MX")) && !only.admits(None));
        let except: CountryFilter = "-US".parse().unwrap();
        assert!(!except.admits(Some("us")) && except.admits(Some("CA")) && except.admits(None));
        assert_eq!("".parse::<CountryFilter>().unwrap(), CountryFilter::All);
        assert_eq!(except.to_string(), "-US");
    }

    #[test]
    fn country_filter_rejects_mixed_and_malformed_lists() {
        assert_eq!(
            "US,-CA".parse::<CountryFilter>().unwrap_err().field,
            "countryFilter"
        );
        assert!("USA".parse::<CountryFilter>().is_err());
    }

    #[test]
    fn intervals_map_to_scheduler_rate_expressions() {
        let expr = |s: &str| s.parse::<ImportInterval>().unwrap().schedule_expression();
        assert_eq!(expr("5m").as_deref(), Some("rate(5 minutes)"));
        assert_eq!(expr("1h").as_deref(), Some("rate(1 hour)"));
        assert_eq!(expr("6h").as_deref(), Some("rate(6 hours)"));
        assert_eq!(expr("daily").as_deref(), Some("rate(1 day)"));
        assert_eq!(expr("never"), None);
        assert!("10m".parse::<ImportInterval>().is_err());
    }

    #[test]
    fn every_choice_parses_and_prints_back() {
        for choice in ImportInterval::CHOICES {
            assert_eq!(choice.parse::<ImportInterval>().unwrap().to_string(), choice);
        }
    }
}
