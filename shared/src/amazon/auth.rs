//! Authorization: the application's LWA credentials, a seller's refresh token, access tokens cached per
//! account, and Restricted Data Tokens for operations that return buyer PII.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use super::client::{AmazonClient, ApiRequest, Stat, clean_text, decode, transport_error};
use super::rate::Operation;
use crate::domain::Region;
use crate::error::AmazonError;

/// An access token is used until this long before LWA said it expires, so that a call never starts with a
/// token that dies in flight.
pub const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(120);

const LWA_OPERATION: &str = "lwaToken";

/// The application's LWA client id and secret, as stored in Secrets Manager (`{"clientId", "clientSecret"}`).
/// `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LwaCredentials {
    client_id: String,
    client_secret: String,
}

impl LwaCredentials {
    /// Credentials from their parts.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> LwaCredentials {
        LwaCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }

    /// Reads the secret's JSON text; the error never repeats the text.
    pub fn from_secret_json(text: &str) -> Result<LwaCredentials, AmazonError> {
        let credentials: LwaCredentials = serde_json::from_str(text).map_err(|err| {
            AmazonError::Misconfigured(format!(
                "LWA credentials secret is not {{\"clientId\", \"clientSecret\"}} JSON ({} at line {} column {})",
                match err.classify() {
                    serde_json::error::Category::Data => "wrong or missing field",
                    _ => "not JSON",
                },
                err.line(),
                err.column()
            ))
        })?;
        if credentials.client_id.trim().is_empty() || credentials.client_secret.trim().is_empty() {
            return Err(AmazonError::Misconfigured(
                "LWA credentials secret has an empty clientId or clientSecret".to_owned(),
            ));
        }
        Ok(credentials)
    }

    /// The application's client id (not a secret: it shows in Seller Central's app listing).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl fmt::Debug for LwaCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LwaCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// Who a per-seller call is for: the account, its region, and its refresh token. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct SellerAuth {
    /// sellersync's account id: keys the token cache and the rate limiter's buckets.
    pub account_id: String,
    /// Amazon's merchant id, when known (for logs only).
    pub seller_id: Option<String>,
    /// The region whose endpoint serves the account.
    pub region: Region,
    /// The seller's LWA refresh token.
    pub refresh_token: String,
}

impl SellerAuth {
    /// A seller context without a known merchant id.
    pub fn new(
        account_id: impl Into<String>,
        region: Region,
        refresh_token: impl Into<String>,
    ) -> SellerAuth {
        SellerAuth {
            account_id: account_id.into(),
            seller_id: None,
            region,
            refresh_token: refresh_token.into(),
        }
    }

    /// The same context naming Amazon's merchant id.
    pub fn with_seller_id(mut self, seller_id: impl Into<String>) -> SellerAuth {
        self.seller_id = Some(seller_id.into());
        self
    }
}

impl fmt::Debug for SellerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SellerAuth")
            .field("account_id", &self.account_id)
            .field("seller_id", &self.seller_id)
            .field("region", &self.region)
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// A Restricted Data Token: an access token limited to the resources it was created for. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct RestrictedDataToken {
    token: String,
    /// Seconds it lives, as Amazon said.
    pub expires_in: u64,
}

impl RestrictedDataToken {
    /// The token, for the `x-amz-access-token` header only.
    pub fn expose(&self) -> &str {
        &self.token
    }
}

impl fmt::Debug for RestrictedDataToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestrictedDataToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A resource a Restricted Data Token is asked for (Tokens API `RestrictedResource`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestrictedResource {
    /// `GET`, `PUT`, `POST` or `DELETE`.
    pub method: String,
    /// The exact path, or a generic one such as `/orders/v0/orders/{orderId}/address`.
    pub path: String,
    /// Restricted data elements wanted (Orders API only), e.g. `buyerInfo`, `shippingAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_elements: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateRestrictedDataTokenRequest<'a> {
    restricted_resources: &'a [RestrictedResource],
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRestrictedDataTokenResponse {
    restricted_data_token: String,
    #[serde(default)]
    expires_in: u64,
}

#[derive(Deserialize)]
struct LwaTokenResponse {
    access_token: String,
    #[serde(default = "default_expires_in")]
    expires_in: u64,
}

fn default_expires_in() -> u64 {
    3600
}

#[derive(Deserialize, Default)]
struct LwaErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

struct CachedToken {
    /// The refresh token it was issued for: a new one for the same account must not get this token.
    refresh_token: String,
    access_token: String,
    usable_until: DateTime<Utc>,
}

type Slot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

/// Access tokens per account. One async lock per account makes concurrent calls share one LWA exchange.
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl TokenCache {
    fn slot(&self, account_id: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(account_id.to_owned()).or_default().clone()
    }

    /// Drops the account's token, so that the next call asks LWA again.
    pub(crate) fn forget(&self, account_id: &str) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(account_id);
    }
}

impl AmazonClient {
    /// The seller's access token: cached until [`TOKEN_EXPIRY_MARGIN`] before it expires, else fresh from LWA.
    pub(crate) async fn access_token(&self, seller: &SellerAuth) -> Result<String, AmazonError> {
        let slot = self.inner().tokens.slot(&seller.account_id);
        let mut cached = slot.lock().await;
        let now = self.inner().clock.now();
        if let Some(token) = cached.as_ref()
            && token.refresh_token == seller.refresh_token
            && now < token.usable_until
        {
            return Ok(token.access_token.clone());
        }
        let fresh = self.exchange_refresh_token(seller).await?;
        let lifetime = Duration::from_secs(fresh.expires_in).saturating_sub(TOKEN_EXPIRY_MARGIN);
        // Measured from before the request, so the token is never thought younger than it is.
        let usable_until = now + TimeDelta::from_std(lifetime).unwrap_or(TimeDelta::zero());
        let access_token = fresh.access_token.clone();
        *cached = Some(CachedToken {
            refresh_token: seller.refresh_token.clone(),
            access_token: fresh.access_token,
            usable_until,
        });
        Ok(access_token)
    }

    /// Proves that the seller's refresh token and the application's credentials work, by getting an access
    /// token (cached or fresh) without spending any SP-API quota; for the account health check.
    pub async fn authorize(&self, seller: &SellerAuth) -> Result<(), AmazonError> {
        self.access_token(seller).await.map(drop)
    }

    /// Proves that the seller's refresh token works now: drops any cached access token and exchanges the
    /// refresh token anew, since a cached token keeps working for up to an hour after a revocation.
    pub async fn check_authorization(&self, seller: &SellerAuth) -> Result<(), AmazonError> {
        self.inner().tokens.forget(&seller.account_id);
        self.access_token(seller).await.map(drop)
    }

    /// LWA's refresh-token grant, retried on 429, server errors and transport failures.
    async fn exchange_refresh_token(&self, seller: &SellerAuth) -> Result<LwaTokenResponse, AmazonError> {
        let span = tracing::info_span!("lwa", account = %seller.account_id);
        async {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self.lwa_attempt(seller, attempt).await {
                    Ok(token) => return Ok(token),
                    Err(error) if error.is_retryable() && attempt < self.inner().retry.max_attempts => {
                        self.back_off(LWA_OPERATION, &error, attempt).await;
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn lwa_attempt(&self, seller: &SellerAuth, attempt: u32) -> Result<LwaTokenResponse, AmazonError> {
        let credentials = &self.inner().credentials;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", seller.refresh_token.as_str()),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.as_str()),
        ];
        self.count(Stat::LwaRequests);
        let response = self
            .inner()
            .http
            .post(self.inner().endpoints.lwa())
            .timeout(self.inner().retry.attempt_timeout)
            .form(&form)
            .send()
            .await
            .map_err(|err| transport_error(LWA_OPERATION, err, attempt))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|err| transport_error(LWA_OPERATION, err, attempt))?;
        if status.is_success() {
            let token: LwaTokenResponse = decode(LWA_OPERATION, &body)?;
            if token.access_token.is_empty() {
                return Err(AmazonError::Decode {
                    operation: LWA_OPERATION,
                    reason: "empty access_token".to_owned(),
                });
            }
            return Ok(token);
        }
        Err(lwa_error(status, &body, attempt))
    }

    /// Creates a Restricted Data Token for `resources` (Tokens API 2021-03-01 `createRestrictedDataToken`).
    pub async fn create_restricted_data_token(
        &self,
        seller: &SellerAuth,
        resources: &[RestrictedResource],
    ) -> Result<RestrictedDataToken, AmazonError> {
        let request = ApiRequest::new(
            Operation::CreateRestrictedDataToken,
            Method::POST,
            "/tokens/2021-03-01/restrictedDataToken".to_owned(),
        )
        .json(&CreateRestrictedDataTokenRequest {
            restricted_resources: resources,
        })?;
        let response: CreateRestrictedDataTokenResponse = self.send_json(seller, request).await?;
        if response.restricted_data_token.is_empty() {
            return Err(AmazonError::Decode {
                operation: Operation::CreateRestrictedDataToken.name(),
                reason: "empty restrictedDataToken".to_owned(),
            });
        }
        Ok(RestrictedDataToken {
            token: response.restricted_data_token,
            expires_in: response.expires_in,
        })
    }
}

/// Classifies an LWA error answer (`{"error", "error_description"}`).
fn lwa_error(status: StatusCode, body: &[u8], attempts: u32) -> AmazonError {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return AmazonError::Throttled {
            operation: LWA_OPERATION,
            attempts,
        };
    }
    let parsed: LwaErrorBody = serde_json::from_slice(body).unwrap_or_default();
    if parsed.error.is_empty() && status.is_server_error() {
        return AmazonError::AmazonUnavailable {
            operation: LWA_OPERATION,
            status: status.as_u16(),
            attempts,
        };
    }
    let description = clean_text(&parsed.error_description);
    match parsed.error.as_str() {
        "invalid_grant" => AmazonError::RefreshTokenRevoked { description },
        "invalid_client" | "unauthorized_client" => AmazonError::InvalidClient {
            code: parsed.error,
            description,
        },
        "" => AmazonError::Lwa {
            status: status.as_u16(),
            code: "unknown".to_owned(),
            description: status.canonical_reason().unwrap_or("no error body").to_owned(),
        },
        _ => AmazonError::Lwa {
            status: status.as_u16(),
            code: clean_text(&parsed.error),
            description,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret_or_token() {
        let credentials =
            LwaCredentials::new("amzn1.application-oa2-client.abc", "amzn1.oa2-cs.v1.TOPSECRET");
        let seller = SellerAuth::new("acct-1", Region::Eu, "Atzr|REFRESHSECRET").with_seller_id("A1SELLER");
        let rdt = RestrictedDataToken {
            token: "Atz.sprdt|RDTSECRET".to_owned(),
            expires_in: 3600,
        };
        let shown = format!("{credentials:?} {seller:?} {rdt:?} {credentials:#?} {seller:#?}");
        for secret in ["TOPSECRET", "REFRESHSECRET", "RDTSECRET"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("amzn1.application-oa2-client.abc") && shown.contains("A1SELLER"),
            "{shown}"
        );
    }

    #[test]
    fn credentials_are_read_from_the_secret_json_without_echoing_it() {
        let credentials =
            LwaCredentials::from_secret_json(r#"{"clientId":"amzn1.app","clientSecret":"s3cr3t"}"#).unwrap();
        assert_eq!(credentials, LwaCredentials::new("amzn1.app", "s3cr3t"));
        let err =
            LwaCredentials::from_secret_json(r#"{"client_id":"amzn1.app","secret":"s3cr3t"}"#).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        let err = LwaCredentials::from_secret_json("s3cr3t").unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(LwaCredentials::from_secret_json(r#"{"clientId":"a","clientSecret":" "}"#).is_err());
    }

    #[test]
    fn lwa_errors_are_classified_by_their_oauth_code() {
        let grant = br#"{"error_description":"The request has an invalid grant parameter : refresh_token","error":"invalid_grant"}"#;
        assert!(matches!(
            lwa_error(StatusCode::BAD_REQUEST, grant, 1),
            AmazonError::RefreshTokenRevoked { .. }
        ));
        let client = br#"{"error":"invalid_client","error_description":"Client authentication failed"}"#;
        assert!(matches!(
            lwa_error(StatusCode::UNAUTHORIZED, client, 1),
            AmazonError::InvalidClient { .. }
        ));
        let unauthorized = br#"{"error":"unauthorized_client","error_description":"Not authorized"}"#;
        assert!(matches!(
            lwa_error(StatusCode::BAD_REQUEST, unauthorized, 1),
            AmazonError::InvalidClient { .. }
        ));
        let recorded = br#"{"error_index":"KJrS","error_description":"The authorization grant type is not supported by the authorization server","error":"unsupported_grant_type","request_id":"29beab06"}"#;
        let err = lwa_error(StatusCode::BAD_REQUEST, recorded, 1);
        assert!(
            matches!(&err, AmazonError::Lwa { code, .. } if code == "unsupported_grant_type"),
            "{err:?}"
        );
        assert!(!err.is_retryable());
        let busy = br#"{"error":"temporarily_unavailable","error_description":"try later"}"#;
        assert!(lwa_error(StatusCode::SERVICE_UNAVAILABLE, busy, 1).is_retryable());
        assert!(lwa_error(StatusCode::BAD_GATEWAY, b"<html/>", 1).is_retryable());
        assert!(lwa_error(StatusCode::TOO_MANY_REQUESTS, b"", 1).is_retryable());
    }
}
