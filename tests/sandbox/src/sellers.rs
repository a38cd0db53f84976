//! The Sellers API's `getMarketplaceParticipations` (`sellers.json` in the shared reference models): the
//! marketplaces the seller can sell in, each with `marketplace` (id, name, country code, default currency and
//! language, domain name), `storeName` and `participation` (`isParticipating`, `hasSuspendedListings`), in
//! `payload`. The sandbox's sellers participate in the marketplaces their spec names and nowhere else, with no
//! suspended listings.

use serde_json::{Value, json};

use super::auth::Caller;
use super::marketplaces::Marketplace;
use super::server::ApiError;
use super::state::World;

/// The storefront's default language, as Amazon's example writes it (`en_US`).
fn default_language(country: &str) -> &'static str {
    match country {
        "US" => "en_US",
        "CA" => "en_CA",
        "MX" => "es_MX",
        "BR" => "pt_BR",
        "GB" => "en_GB",
        "IE" => "en_IE",
        "DE" => "de_DE",
        "FR" => "fr_FR",
        "BE" => "fr_BE",
        "IT" => "it_IT",
        "ES" => "es_ES",
        "NL" => "nl_NL",
        "SE" => "sv_SE",
        "PL" => "pl_PL",
        "TR" => "tr_TR",
        "AE" | "SA" | "EG" => "ar_AE",
        "IN" => "en_IN",
        "JP" => "ja_JP",
        "AU" => "en_AU",
        "SG" => "en_SG",
        "ZA" => "en_ZA",
        _ => "en_US",
    }
}

/// `GET /sellers/v1/marketplaceParticipations` for the calling seller.
pub(crate) fn marketplace_participations(world: &World, caller: &Caller) -> Result<Value, ApiError> {
    let seller = world
        .sellers
        .get(&caller.seller)
        .ok_or_else(|| ApiError::internal(format!("no seller {}", caller.seller)))?;
    let payload: Vec<Value> = seller
        .spec
        .marketplace_ids
        .iter()
        .filter_map(|id| Marketplace::by_id(id))
        .map(|m| {
            json!({
                "marketplace": {
                    "id": m.id,
                    "name": m.sales_channel(),
                    "countryCode": m.country,
                    "defaultCurrencyCode": m.currency,
                    "defaultLanguageCode": default_language(m.country),
                    "domainName": m.host,
                },
                "storeName": format!("Store {}", caller.seller),
                "participation": {"isParticipating": true, "hasSuspendedListings": false},
            })
        })
        .collect();
    Ok(json!({ "payload": payload }))
}
