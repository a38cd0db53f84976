//! The sandbox's own reading of Amazon's marketplaces, kept apart from `shared::domain::marketplace` so that a
//! mistake in the client's table cannot hide in the Amazon that checks it.
//!
//! Ids, country codes and regions: Amazon's "Marketplace IDs" page
//! (<https://developer-docs.amazon.com/sp-api/docs/marketplace-ids>, which lists Ireland, Belgium and South Africa
//! beside the older table of the developer guide in `spapi-docs/guides/en-US/developer-guide`) and "SP-API
//! Endpoints" (<https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints>: which endpoint serves which
//! marketplace). The page writes `UK` for the United Kingdom; reports write ISO 3166's `GB` in `ship-country`
//! (`reports/COLUMNS.md`), which is what the sandbox renders. Hosts and currencies: each storefront's domain
//! and currency, as reports name them in `sales-channel` and `currency`.

/// An SP-API selling region: one endpoint for its marketplaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Region {
    /// `sellingpartnerapi-na.amazon.com`: Canada, US, Mexico, Brazil.
    Na,
    /// `sellingpartnerapi-eu.amazon.com`: Europe, the Middle East, Africa and India.
    Eu,
    /// `sellingpartnerapi-fe.amazon.com`: Singapore, Australia, Japan.
    Fe,
}

impl Region {
    /// The region's code as endpoints and S3 buckets spell it: `na`, `eu`, `fe`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Region::Na => "na",
            Region::Eu => "eu",
            Region::Fe => "fe",
        }
    }
}

/// One marketplace as Amazon serves it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Marketplace {
    pub(crate) id: &'static str,
    /// ISO 3166 code, as reports write it.
    pub(crate) country: &'static str,
    /// The storefront's web host.
    pub(crate) host: &'static str,
    pub(crate) region: Region,
    /// ISO 4217 code of the storefront's prices.
    pub(crate) currency: &'static str,
}

impl Marketplace {
    /// A marketplace Amazon knows, by id.
    pub(crate) fn by_id(id: &str) -> Option<&'static Marketplace> {
        MARKETPLACES.iter().find(|m| m.id == id)
    }

    /// What reports write in `sales-channel`: the host without `www.`, capitalised (`Amazon.co.jp`).
    pub(crate) fn sales_channel(&self) -> String {
        let domain = self.host.trim_start_matches("www.");
        let mut chars = domain.chars();
        chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }
}

const fn m(
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

/// Every marketplace of the "Marketplace IDs" page, in its order.
pub(crate) static MARKETPLACES: &[Marketplace] = &[
    m("A2EUQ1WTGCTBG2", "CA", "www.amazon.ca", Region::Na, "CAD"),
    m("ATVPDKIKX0DER", "US", "www.amazon.com", Region::Na, "USD"),
    m("A1AM78C64UM0Y8", "MX", "www.amazon.com.mx", Region::Na, "MXN"),
    m("A2Q3Y263D00KWC", "BR", "www.amazon.com.br", Region::Na, "BRL"),
    m("A28R8C7NBKEWEA", "IE", "www.amazon.ie", Region::Eu, "EUR"),
    m("A1RKKUPIHCS9HS", "ES", "www.amazon.es", Region::Eu, "EUR"),
    m("A1F83G8C2ARO7P", "GB", "www.amazon.co.uk", Region::Eu, "GBP"),
    m("A13V1IB3VIYZZH", "FR", "www.amazon.fr", Region::Eu, "EUR"),
    m("AMEN7PMS3EDWL", "BE", "www.amazon.com.be", Region::Eu, "EUR"),
    m("A1805IZSGTT6HS", "NL", "www.amazon.nl", Region::Eu, "EUR"),
    m("A1PA6795UKMFR9", "DE", "www.amazon.de", Region::Eu, "EUR"),
    m("APJ6JRA9NG5V4", "IT", "www.amazon.it", Region::Eu, "EUR"),
    m("A2NODRKZP88ZB9", "SE", "www.amazon.se", Region::Eu, "SEK"),
    m("AE08WJ6YKNBMC", "ZA", "www.amazon.co.za", Region::Eu, "ZAR"),
    m("A1C3SOZRARQ6R3", "PL", "www.amazon.pl", Region::Eu, "PLN"),
    m("ARBP9OOSHTCHU", "EG", "www.amazon.eg", Region::Eu, "EGP"),
    m("A33AVAJ2PDY3EV", "TR", "www.amazon.com.tr", Region::Eu, "TRY"),
    m("A17E79C6D8DWNP", "SA", "www.amazon.sa", Region::Eu, "SAR"),
    m("A2VIGQ35RCS4UG", "AE", "www.amazon.ae", Region::Eu, "AED"),
    m("A21TJRUUN4KGV", "IN", "www.amazon.in", Region::Eu, "INR"),
    m("A19VAU5U5O7RUS", "SG", "www.amazon.sg", Region::Fe, "SGD"),
    m("A39IBJ37TRP1C6", "AU", "www.amazon.com.au", Region::Fe, "AUD"),
    m("A1VC38T7YXB528", "JP", "www.amazon.co.jp", Region::Fe, "JPY"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every marketplace of the developer guide's table in the reference folder is here with the same
    /// country (the guide predates IE, BE and ZA, and writes UK where reports write GB).
    #[test]
    fn the_developer_guides_marketplace_table_is_here() {
        let Some(reference) = crate::reference::require_dir() else {
            return;
        };
        let guide = std::fs::read_to_string(
            reference.join("spapi-docs/guides/en-US/developer-guide/SellingPartnerApiDeveloperGuide.md"),
        )
        .expect("developer guide readable");
        let section = guide
            .split("# marketplaceId values")
            .nth(1)
            .expect("marketplace table");
        let cells: Vec<&str> = section
            .lines()
            .take_while(|line| !line.starts_with("# "))
            .flat_map(|line| line.split(['|', '<', '>']))
            .map(str::trim)
            .collect();
        let mut checked = 0;
        for (i, cell) in cells.iter().enumerate() {
            let is_id = cell.len() >= 12
                && cell.len() <= 15
                && cell.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
            if !is_id {
                continue;
            }
            let country = cells[i + 1..]
                .iter()
                .find(|c| c.len() == 2 && c.chars().all(|c| c.is_ascii_uppercase()))
                .expect("country code after the id");
            let ours = Marketplace::by_id(cell).unwrap_or_else(|| panic!("{cell} of the guide is missing"));
            let expected = if *country == "UK" { "GB" } else { country };
            assert_eq!(ours.country, expected, "{cell}");
            checked += 1;
        }
        assert_eq!(checked, 20, "the guide's table lists 20 marketplaces");
    }

    #[test]
    fn ids_are_unique_and_sales_channels_are_capitalised_hosts() {
        let ids: std::collections::HashSet<_> = MARKETPLACES.iter().map(|m| m.id).collect();
        assert_eq!(ids.len(), MARKETPLACES.len());
        let jp = Marketplace::by_id("A1VC38T7YXB528").expect("JP");
        assert_eq!(jp.sales_channel(), "Amazon.co.jp");
        assert_eq!(MARKETPLACES.iter().filter(|m| m.region == Region::Eu).count(), 16);
    }
}
