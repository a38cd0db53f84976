//! Authorization: the application's LWA credentials, a seller's refresh token, access tokens cached per
//! account, and Restricted Data Tokens for operations that return buyer PII.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Region;
use crate::error::AmazonError;

/// An access token is used until this long before LWA said it expires, so that a call never starts with a
/// token that dies in flight.
pub const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(120);

/// The application's LWA client id and secret, as stored in Secrets Manager (`{"clientId", "clientSecret"}`).
/// `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LwaCredentials {
    pub(super) client_id: String,
    pub(super) client_secret: String,
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

/// Where the application's credentials are read again from: the secret they were first read from, again once
/// they are older than `lifetime`, and at once when LWA refuses them (`invalid_client`). So every function
/// takes a rotated client secret within `lifetime`, without a deploy.
#[derive(Debug, Clone)]
pub struct CredentialsSource {
    /// The secrets holding the credentials' JSON.
    pub secrets: Arc<dyn crate::ports::SecretStore>,
    /// The secret's name.
    pub name: String,
    /// How long a read is trusted.
    pub lifetime: chrono::TimeDelta,
}

/// The application's credentials as a client holds them: fixed, or read from a [`CredentialsSource`] and kept
/// fresh.
#[derive(Debug)]
pub struct Credentials {
    current: Mutex<(LwaCredentials, Option<DateTime<Utc>>)>,
    source: Option<CredentialsSource>,
}

impl From<LwaCredentials> for Credentials {
    fn from(credentials: LwaCredentials) -> Credentials {
        Credentials {
            current: Mutex::new((credentials, None)),
            source: None,
        }
    }
}

impl Credentials {
    /// Credentials first read at `read_at` from `source`.
    pub fn from_source(
        initial: LwaCredentials,
        read_at: DateTime<Utc>,
        source: CredentialsSource,
    ) -> Credentials {
        Credentials {
            current: Mutex::new((initial, Some(read_at))),
            source: Some(source),
        }
    }

    /// The credentials held now.
    pub(crate) fn current(&self) -> LwaCredentials {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone()
    }

    /// Whether the held credentials were read from a source longer than its lifetime before `now`.
    pub(crate) fn stale(&self, now: DateTime<Utc>) -> bool {
        let read_at = self.current.lock().unwrap_or_else(PoisonError::into_inner).1;
        match (&self.source, read_at) {
            (Some(source), Some(read_at)) => now >= read_at + source.lifetime,
            _ => false,
        }
    }

    /// Reads the source again at `now`; whether the credentials changed. A failed read keeps what is held (and
    /// is tried again after the lifetime), so a Secrets Manager outage never stops calls that still work.
    pub(crate) async fn reload(&self, now: DateTime<Utc>) -> bool {
        let Some(source) = &self.source else { return false };
        let fresh = match source.secrets.get(&source.name).await {
            Ok(Some(text)) => LwaCredentials::from_secret_json(&text).map_err(|e| e.to_string()),
            Ok(None) => Err(format!("the secret {} does not exist", source.name)),
            Err(err) => Err(err.to_string()),
        };
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current.1 = Some(now);
        match fresh {
            Ok(fresh) if fresh != current.0 => {
                tracing::info!(client_id = %fresh.client_id, "the application's LWA credentials changed");
                current.0 = fresh;
                true
            }
            Ok(_) => false,
            Err(reason) => {
                tracing::warn!(%reason, "cannot read the application's LWA credentials again; keeping those held");
                false
            }
        }
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
    pub(super) token: String,
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

pub(super) struct CachedToken {
    /// The refresh token it was issued for: a new one for the same account must not get this token.
    pub(super) refresh_token: String,
    pub(super) access_token: String,
    pub(super) usable_until: DateTime<Utc>,
}

pub(super) type Slot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

/// Access tokens per account. One async lock per account makes concurrent calls share one LWA exchange.
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl TokenCache {
    pub(super) fn slot(&self, account_id: &str) -> Slot {
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
}
