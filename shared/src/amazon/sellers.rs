//! Sellers API v1 `getMarketplaceParticipations` (`sellers.json`): the marketplaces a seller can sell in, so that
//! a newly connected account imports the marketplaces the seller has rather than ones an operator typed.

use reqwest::Method;
use serde::Deserialize;

use super::auth::SellerAuth;
use super::client::{AmazonClient, ApiRequest};
use super::rate::Operation;
use crate::error::AmazonError;

/// One marketplace of the seller's, as sellersync uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketplaceParticipation {
    /// The marketplace id, e.g. `ATVPDKIKX0DER`.
    pub marketplace_id: String,
    /// Its name, e.g. `Amazon.com`.
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
    /// The seller sells there (`participation.isParticipating`).
    pub is_participating: bool,
    /// Some listings are suspended (`participation.hasSuspendedListings`).
    pub has_suspended_listings: bool,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    payload: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    marketplace: Marketplace,
    participation: Participation,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Marketplace {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    country_code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Participation {
    is_participating: bool,
    #[serde(default)]
    has_suspended_listings: bool,
}

impl AmazonClient {
    /// `getMarketplaceParticipations`: every marketplace the seller's account reaches, participating or not.
    pub async fn get_marketplace_participations(
        &self,
        seller: &SellerAuth,
    ) -> Result<Vec<MarketplaceParticipation>, AmazonError> {
        let request = ApiRequest::new(
            Operation::GetMarketplaceParticipations,
            Method::GET,
            "/sellers/v1/marketplaceParticipations".to_owned(),
        );
        let response: Response = self.send_json(seller, request).await?;
        Ok(response
            .payload
            .into_iter()
            .map(|entry| MarketplaceParticipation {
                marketplace_id: entry.marketplace.id,
                name: entry.marketplace.name,
                country_code: entry.marketplace.country_code,
                is_participating: entry.participation.is_participating,
                has_suspended_listings: entry.participation.has_suspended_listings,
            })
            .collect())
    }
}
