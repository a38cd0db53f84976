//! Idempotency keys of the API's POSTs: the same key with the same request gets the first response again; the
//! same key with another request is refused, so a client's retry never creates a second account or backfill.

use std::sync::Arc;

use chrono::TimeDelta;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::{DomainError, StoreError};
use crate::ports::{IdempotencyStore, StoredResponse};

/// How long a response is kept for replay.
pub const RESPONSE_TTL: TimeDelta = TimeDelta::hours(24);

/// How long a claim of a request still being handled holds: a function that died mid-request frees its key
/// after this, so a retry can go ahead.
pub const CLAIM_TTL: TimeDelta = TimeDelta::minutes(5);

/// The longest key accepted.
const MAX_KEY_LENGTH: usize = 255;

/// What to do with a request that carries an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key is new (or expired): handle the request, then [`Idempotency::finish`] or
    /// [`Idempotency::abandon`].
    Proceed,
    /// The same request was handled: answer its response again.
    Replay(StoredResponse),
    /// The key was used for a different request.
    KeyReused,
    /// The same key's first request is still being handled.
    InProgress,
}

/// Idempotency keys over their store.
#[derive(Debug, Clone)]
pub struct Idempotency {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
}

impl Idempotency {
    /// Keys in `store`, expiring by `clock`.
    pub fn new(store: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>) -> Self {
        Idempotency { store, clock }
    }

    /// Checks a key's shape: 1 to 255 visible ASCII characters.
    pub fn check_key(key: &str) -> Result<(), DomainError> {
        if key.is_empty() || key.len() > MAX_KEY_LENGTH || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(DomainError::invalid(
                "Idempotency-Key",
                key,
                "expected 1 to 255 visible ASCII characters, e.g. a UUID",
            ));
        }
        Ok(())
    }

    /// The key as stored: `key` within `account`'s keys (the global ones' for routes of no account). Account
    /// ids never hold a space or `*`, keys never a space, so no two scopes share a stored key.
    pub fn scoped(account: Option<&str>, key: &str) -> String {
        format!("{} {key}", account.unwrap_or("*"))
    }

    /// The digest that tells two requests apart: method, path, media type and body. A JSON body is read
    /// first, so that key order and whitespace do not matter; the digest never reveals the body (it may hold a
    /// refresh token).
    pub fn fingerprint(method: &str, path: &str, media_type: &str, body: &[u8]) -> String {
        let canonical = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|value| serde_json::to_vec(&value).ok());
        let mut digest = Sha256::new();
        for part in [method, path, media_type] {
            digest.update(part.as_bytes());
            digest.update(b"\n");
        }
        digest.update(canonical.as_deref().unwrap_or(body));
        digest
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Claims `key` for the request with `fingerprint`, or says what the key already holds.
    pub async fn begin(&self, key: &str, fingerprint: &str) -> Result<Begin, StoreError> {
        let now = self.clock.now();
        let existing = self.store.claim(key, fingerprint, now, now + CLAIM_TTL).await?;
        Ok(match existing {
            None => Begin::Proceed,
            Some(record) if record.fingerprint != fingerprint => Begin::KeyReused,
            Some(record) => match record.response {
                Some(response) => Begin::Replay(response),
                None => Begin::InProgress,
            },
        })
    }

    /// Keeps the response of a request that [`Begin::Proceed`]ed, for replays.
    pub async fn finish(
        &self,
        key: &str,
        fingerprint: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let expires_at = self.clock.now() + RESPONSE_TTL;
        self.store.complete(key, fingerprint, response, expires_at).await
    }

    /// Frees the key of a request that failed in a way worth retrying (a 5xx, a 429), so the retry is handled
    /// instead of replayed.
    pub async fn abandon(&self, key: &str) -> Result<(), StoreError> {
        self.store.release(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_with_the_same_content_have_the_same_fingerprint() {
        let json = "application/json";
        let a = Idempotency::fingerprint("POST", "/accounts", json, br#"{"a": 1, "b": [true]}"#);
        let b = Idempotency::fingerprint("POST", "/accounts", json, br#"{"b":[true],"a":1}"#);
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(
            a,
            Idempotency::fingerprint("POST", "/accounts", json, br#"{"a": 2, "b": [true]}"#)
        );
        assert_ne!(
            a,
            Idempotency::fingerprint("POST", "/accounts/x/reports", json, br#"{"a": 1, "b": [true]}"#)
        );
        assert_ne!(
            a,
            Idempotency::fingerprint("POST", "/accounts", "text/plain", br#"{"a": 1, "b": [true]}"#),
            "the media type is part of the request"
        );
    }

    #[test]
    fn keys_are_scoped_per_account() {
        assert_ne!(
            Idempotency::scoped(Some("A2X-na"), "k"),
            Idempotency::scoped(Some("A2Y-na"), "k")
        );
        assert_ne!(
            Idempotency::scoped(None, "k"),
            Idempotency::scoped(Some("k"), "k")
        );
    }

    #[test]
    fn keys_must_be_short_visible_ascii() {
        assert!(Idempotency::check_key("5f0c3a4e-9d1b-4c55-8f53-3c8a2b7f1e90").is_ok());
        assert_eq!(Idempotency::check_key("").unwrap_err().field, "Idempotency-Key");
        assert!(Idempotency::check_key("has space").is_err());
        assert!(Idempotency::check_key(&"k".repeat(256)).is_err());
    }
}
