//! Login with Amazon: the refresh-token grant behind every call's access token (cached per account in
//! [`TokenCache`](super::auth::TokenCache)), its errors classified, and Restricted Data Tokens. The types it
//! works with live in [`super::auth`], which depends on nothing here, so the client and the credentials no
//! longer import each other.

use std::time::Duration;

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use tracing::Instrument;

use super::auth::{
    CachedToken, LwaCredentials, RestrictedDataToken, RestrictedResource, SellerAuth, TOKEN_EXPIRY_MARGIN,
};
use super::client::{AmazonClient, ApiRequest, Stat, Then, clean_text, decode, transport_error};
use super::rate::Operation;
use crate::error::AmazonError;

const LWA_OPERATION: &str = "lwaToken";

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

#[derive(Deserialize)]
struct LwaCodeResponse {
    #[serde(default)]
    refresh_token: String,
}

/// The refresh token an authorization code bought: a credential, so `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct GrantedRefreshToken(String);

impl GrantedRefreshToken {
    /// The token, for the secret store only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for GrantedRefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrantedRefreshToken(<redacted>)")
    }
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
        self.retrying(
            LWA_OPERATION,
            |attempt| self.lwa_attempt(seller, attempt),
            lwa_then,
            || self.reload_credentials(),
        )
        .instrument(span)
        .await
    }

    /// The application's credentials, read again first when they are older than their source's lifetime.
    pub(crate) async fn credentials(&self) -> LwaCredentials {
        let credentials = &self.inner().credentials;
        let now = self.inner().clock.now();
        if credentials.stale(now) {
            credentials.reload(now).await;
        }
        credentials.current()
    }

    /// Reads the application's credentials again; whether they changed.
    async fn reload_credentials(&self) -> bool {
        self.inner().credentials.reload(self.inner().clock.now()).await
    }

    async fn lwa_attempt(&self, seller: &SellerAuth, attempt: u32) -> Result<LwaTokenResponse, AmazonError> {
        let credentials = self.credentials().await;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", seller.refresh_token.as_str()),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.as_str()),
        ];
        let (status, body) = self.lwa_post(&form, attempt).await?;
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

    /// One POST of `form` to LWA's token endpoint: the status and the body.
    async fn lwa_post(
        &self,
        form: &[(&str, &str)],
        attempt: u32,
    ) -> Result<(StatusCode, bytes::Bytes), AmazonError> {
        self.count(Stat::LwaRequests);
        let response = self
            .inner()
            .http
            .post(self.inner().endpoints.lwa())
            .timeout(self.inner().retry.attempt_timeout)
            .form(form)
            .send()
            .await
            .map_err(|err| transport_error(LWA_OPERATION, err, attempt))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|err| transport_error(LWA_OPERATION, err, attempt))?;
        Ok((status, body))
    }

    /// Exchanges an LWA authorization code from the website authorization workflow (its Step 4:
    /// `grant_type=authorization_code` with the code, the redirect URI it was sent to, and the application's
    /// credentials) for the seller's refresh token. A code is good for one exchange within five minutes, so the
    /// exchange is tried once: a retry after an answer that got lost would only meet a used code.
    pub async fn exchange_authorization_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<GrantedRefreshToken, AmazonError> {
        let mut reloaded = false;
        loop {
            match self.authorization_code_attempt(code, redirect_uri).await {
                // LWA checks the client before the code, so a rotated secret left the code unspent.
                Err(AmazonError::InvalidClient { .. }) if !reloaded && self.reload_credentials().await => {
                    reloaded = true;
                }
                other => return other,
            }
        }
    }

    async fn authorization_code_attempt(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<GrantedRefreshToken, AmazonError> {
        let credentials = self.credentials().await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.as_str()),
        ];
        let (status, body) = self.lwa_post(&form, 1).await?;
        if status.is_success() {
            let granted: LwaCodeResponse = decode(LWA_OPERATION, &body)?;
            if !granted.refresh_token.starts_with("Atzr|") {
                return Err(AmazonError::Decode {
                    operation: LWA_OPERATION,
                    reason: "no refresh_token in the grant".to_owned(),
                });
            }
            return Ok(GrantedRefreshToken(granted.refresh_token));
        }
        Err(match lwa_error(status, &body, 1) {
            // For this grant, `invalid_grant` is about the code, not a refresh token.
            AmazonError::RefreshTokenRevoked { description } => {
                AmazonError::AuthorizationCodeRefused { description }
            }
            other => other,
        })
    }

    /// An access token of LWA's `client_credentials` grant with `scope`, for a grantless operation (one that
    /// acts for the application, not a seller). Tried with LWA's retries, as the refresh-token grant is.
    pub(crate) async fn grantless_token(&self, scope: &str) -> Result<String, AmazonError> {
        self.retrying(
            LWA_OPERATION,
            |attempt| self.grantless_attempt(scope, attempt),
            lwa_then,
            || self.reload_credentials(),
        )
        .await
    }

    async fn grantless_attempt(&self, scope: &str, attempt: u32) -> Result<String, AmazonError> {
        let credentials = self.credentials().await;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", scope),
            ("client_id", credentials.client_id.as_str()),
            ("client_secret", credentials.client_secret.as_str()),
        ];
        let (status, body) = self.lwa_post(&form, attempt).await?;
        if !status.is_success() {
            return Err(lwa_error(status, &body, attempt));
        }
        let token: LwaTokenResponse = decode(LWA_OPERATION, &body)?;
        if token.access_token.is_empty() {
            return Err(AmazonError::Decode {
                operation: LWA_OPERATION,
                reason: "empty access_token".to_owned(),
            });
        }
        Ok(token.access_token)
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

/// What a failed LWA request leads to: LWA's 429s, server errors and transport failures are tried again; a
/// refused client secret once the credentials are read again (it may have been rotated since they were read).
fn lwa_then(error: &AmazonError) -> Then {
    match error {
        error if error.is_retryable() => Then::BackOff,
        AmazonError::InvalidClient { .. } => Then::Repair,
        _ => Then::Stop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
