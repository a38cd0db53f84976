//! SP-API regions and every marketplace they serve, with the facts sellersync needs about each.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// An SP-API region: one endpoint, one LWA authorization, several marketplaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Region {
    /// North America: US, CA, MX, BR.
    Na,
    /// Europe, the Middle East, Africa and India.
    Eu,
    /// Far East: JP, AU, SG.
    Fe,
}

impl Region {
    /// Every region, in a stable order.
    pub const ALL: [Region; 3] = [Region::Na, Region::Eu, Region::Fe];

    /// Host of the region's production SP-API endpoint.
    pub fn endpoint_host(self) -> &'static str {
        match self {
            Region::Na => "sellingpartnerapi-na.amazon.com",
            Region::Eu => "sellingpartnerapi-eu.amazon.com",
            Region::Fe => "sellingpartnerapi-fe.amazon.com",
        }
    }

    /// Production base URL, used unless configuration overrides it.
    pub fn default_base_url(self) -> String {
        format!("https://{}", self.endpoint_host())
    }

    /// Short upper-case code, as used in the API and configuration (`NA`, `EU`, `FE`).
    pub fn code(self) -> &'static str {
        match self {
            Region::Na => "NA",
            Region::Eu => "EU",
            Region::Fe => "FE",
        }
    }

    /// The marketplaces of this region.
    pub fn marketplaces(self) -> impl Iterator<Item = &'static Marketplace> {
        MARKETPLACES.iter().filter(move |m| m.region == self)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Region {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| DomainError::invalid("region", s, "expected NA, EU or FE"))
    }
}

/// One Amazon marketplace.
#[derive(Debug, PartialEq, Eq)]
pub struct Marketplace {
    /// Amazon's marketplace id, e.g. `ATVPDKIKX0DER`.
    pub id: &'static str,
    /// ISO 3166 country code, as in report `ship-country` columns (`GB`, not `UK`).
    pub country: &'static str,
    /// Web host of the storefront; reports name it in `sales-channel` as `Amazon.com`, `Amazon.co.uk`, ...
    pub host: &'static str,
    /// The region whose endpoint serves it.
    pub region: Region,
    /// The marketplace's currency (ISO 4217).
    pub currency: &'static str,
}

impl Marketplace {
    /// The `sales-channel` value reports use for this marketplace, e.g. `Amazon.co.jp`.
    pub fn sales_channel(&self) -> String {
        let domain = self.host.trim_start_matches("www.");
        let mut chars = domain.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }

    /// Looks a marketplace up by its id.
    pub fn by_id(id: &str) -> Option<&'static Marketplace> {
        MARKETPLACES.iter().find(|m| m.id == id)
    }

    /// Looks a marketplace up by a report's `sales-channel` value (case-insensitive, `www.` optional).
    pub fn by_sales_channel(channel: &str) -> Option<&'static Marketplace> {
        let channel = channel.trim();
        let channel = channel.strip_prefix("www.").unwrap_or(channel);
        MARKETPLACES
            .iter()
            .find(|m| m.host.trim_start_matches("www.").eq_ignore_ascii_case(channel))
    }

    /// Parses and checks a marketplace id, naming the field in the error.
    pub fn parse_id(field: &str, id: &str) -> Result<&'static Marketplace, DomainError> {
        Self::by_id(id).ok_or_else(|| DomainError::invalid(field, id, "unknown marketplace id"))
    }
}

/// Every marketplace SP-API serves, from Amazon's "Marketplace IDs" table.
pub static MARKETPLACES: &[Marketplace] = &[
    mp("A2EUQ1WTGCTBG2", "CA", "www.amazon.ca", Region::Na, "CAD"),
    mp("ATVPDKIKX0DER", "US", "www.amazon.com", Region::Na, "USD"),
    mp("A1AM78C64UM0Y8", "MX", "www.amazon.com.mx", Region::Na, "MXN"),
    mp("A2Q3Y263D00KWC", "BR", "www.amazon.com.br", Region::Na, "BRL"),
    mp("A28R8C7NBKEWEA", "IE", "www.amazon.ie", Region::Eu, "EUR"),
    mp("A1RKKUPIHCS9HS", "ES", "www.amazon.es", Region::Eu, "EUR"),
    mp("A1F83G8C2ARO7P", "GB", "www.amazon.co.uk", Region::Eu, "GBP"),
    mp("A13V1IB3VIYZZH", "FR", "www.amazon.fr", Region::Eu, "EUR"),
    mp("AMEN7PMS3EDWL", "BE", "www.amazon.com.be", Region::Eu, "EUR"),
    mp("A1805IZSGTT6HS", "NL", "www.amazon.nl", Region::Eu, "EUR"),
    mp("A1PA6795UKMFR9", "DE", "www.amazon.de", Region::Eu, "EUR"),
    mp("APJ6JRA9NG5V4", "IT", "www.amazon.it", Region::Eu, "EUR"),
    mp("A2NODRKZP88ZB9", "SE", "www.amazon.se", Region::Eu, "SEK"),
    mp("AE08WJ6YKNBMC", "ZA", "www.amazon.co.za", Region::Eu, "ZAR"),
    mp("A1C3SOZRARQ6R3", "PL", "www.amazon.pl", Region::Eu, "PLN"),
    mp("ARBP9OOSHTCHU", "EG", "www.amazon.eg", Region::Eu, "EGP"),
    mp("A33AVAJ2PDY3EV", "TR", "www.amazon.com.tr", Region::Eu, "TRY"),
    mp("A17E79C6D8DWNP", "SA", "www.amazon.sa", Region::Eu, "SAR"),
    mp("A2VIGQ35RCS4UG", "AE", "www.amazon.ae", Region::Eu, "AED"),
    mp("A21TJRUUN4KGV", "IN", "www.amazon.in", Region::Eu, "INR"),
    mp("A19VAU5U5O7RUS", "SG", "www.amazon.sg", Region::Fe, "SGD"),
    mp("A39IBJ37TRP1C6", "AU", "www.amazon.com.au", Region::Fe, "AUD"),
    mp("A1VC38T7YXB528", "JP", "www.amazon.co.jp", Region::Fe, "JPY"),
];

const fn mp(
    id: &'static str,
    country: &'static str,
    host: &'static str,
    region: Region,
    currency: &'static str,
) -> Marketplace {
    Marketplace {
        id,
        country,
        host,
        region,
        currency,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn marketplace_ids_and_countries_are_unique() {
        let ids: HashSet<_> = MARKETPLACES.iter().map(|m| m.id).collect();
        let countries: HashSet<_> = MARKETPLACES.iter().map(|m| m.country).collect();
        assert_eq!(ids.len(), MARKETPLACES.len());
        assert_eq!(countries.len(), MARKETPLACES.len());
    }

    #[test]
    fn every_region_serves_its_marketplaces() {
        assert_eq!(Region::Na.marketplaces().count(), 4);
        assert_eq!(Region::Eu.marketplaces().count(), 16);
        assert_eq!(Region::Fe.marketplaces().count(), 3);
        assert_eq!(
            Marketplace::by_id("A1VC38T7YXB528").map(|m| m.region),
            Some(Region::Fe)
        );
    }

    #[test]
    fn sales_channel_round_trips_through_the_lookup() {
        let jp = Marketplace::by_id("A1VC38T7YXB528").expect("JP is listed");
        assert_eq!(jp.sales_channel(), "Amazon.co.jp");
        assert_eq!(Marketplace::by_sales_channel("Amazon.co.jp"), Some(jp));
        assert_eq!(
            Marketplace::by_sales_channel("amazon.com").map(|m| m.country),
            Some("US")
        );
        assert_eq!(Marketplace::by_sales_channel("Non-Amazon"), None);
    }

    #[test]
    fn region_parses_case_insensitively_and_rejects_others() {
        assert_eq!("eu".parse::<Region>().ok(), Some(Region::Eu));
        let err = "US".parse::<Region>().expect_err("US is a country, not a region");
        assert!(err.to_string().contains("region"), "{err}");
    }
}
