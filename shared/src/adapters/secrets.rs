//! `SecretsManagerStore`: a [`SecretStore`] over AWS Secrets Manager; [`CachedSecrets`]: what a function read,
//! kept for a few minutes.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_secretsmanager::operation::delete_secret::DeleteSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use chrono::{DateTime, TimeDelta, Utc};

use super::unavailable;
use crate::clock::Clock;
use crate::error::StoreError;
use crate::ports::SecretStore;

/// Secrets in Secrets Manager, optionally encrypted with a customer-managed KMS key.
#[derive(Debug, Clone)]
pub struct SecretsManagerStore {
    client: aws_sdk_secretsmanager::Client,
    kms_key_id: Option<String>,
}

impl SecretsManagerStore {
    /// A store that creates new secrets under `kms_key_id` (or the account's default key).
    pub fn new(client: aws_sdk_secretsmanager::Client, kms_key_id: Option<String>) -> Self {
        SecretsManagerStore { client, kms_key_id }
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        match self.client.get_secret_value().secret_id(name).send().await {
            Ok(output) => Ok(output.secret_string),
            Err(err) => match err.as_service_error() {
                Some(GetSecretValueError::ResourceNotFoundException(_)) => Ok(None),
                _ => Err(unavailable("GetSecretValue", err)),
            },
        }
    }

    async fn put(&self, name: &str, value: &str) -> Result<(), StoreError> {
        let created = self
            .client
            .create_secret()
            .name(name)
            .secret_string(value)
            .set_kms_key_id(self.kms_key_id.clone())
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(CreateSecretError::ResourceExistsException(_)) => {
                    self.client
                        .put_secret_value()
                        .secret_id(name)
                        .secret_string(value)
                        .send()
                        .await
                        .map_err(|e| unavailable("PutSecretValue", e))?;
                    Ok(())
                }
                _ => Err(unavailable("CreateSecret", err)),
            },
        }
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        // Without a recovery window the name is free at once, so an account can be connected again.
        match self
            .client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(DeleteSecretError::ResourceNotFoundException(_)) => Ok(()),
                _ => Err(unavailable("DeleteSecret", err)),
            },
        }
    }
}

/// A [`SecretStore`] that keeps the values it read for `lifetime` in this process. A function asks for an
/// account's refresh token at every job it polls and every notification it takes, and Secrets Manager bills
/// each call; a warm function now reads each token once every few minutes. What this process writes or deletes
/// replaces its copy at once. Another process's change shows within `lifetime`: the only one is a seller's
/// new token after reconnecting, when the old token was revoked, the account already shows the cause, and the
/// new one is used minutes later. Nothing absent is kept, so a newly connected account is seen at once.
pub struct CachedSecrets {
    inner: Arc<dyn SecretStore>,
    clock: Arc<dyn Clock>,
    lifetime: TimeDelta,
    kept: Mutex<HashMap<String, (String, DateTime<Utc>)>>,
}

impl CachedSecrets {
    /// `inner`'s values, each kept for `lifetime` of `clock`'s time after it was read.
    pub fn new(inner: Arc<dyn SecretStore>, clock: Arc<dyn Clock>, lifetime: TimeDelta) -> Self {
        CachedSecrets {
            inner,
            clock,
            lifetime,
            kept: Mutex::new(HashMap::new()),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, DateTime<Utc>)>> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for CachedSecrets {
    // Names and values stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedSecrets")
            .field("lifetime", &self.lifetime)
            .field("kept", &self.kept().len())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SecretStore for CachedSecrets {
    async fn get(&self, name: &str) -> Result<Option<String>, StoreError> {
        let now = self.clock.now();
        if let Some((value, read_at)) = self.kept().get(name)
            && now >= *read_at
            && now - *read_at < self.lifetime
        {
            return Ok(Some(value.clone()));
        }
        let value = self.inner.get(name).await?;
        match &value {
            Some(value) => self.kept().insert(name.to_owned(), (value.clone(), now)),
            None => self.kept().remove(name),
        };
        Ok(value)
    }

    async fn put(&self, name: &str, value: &str) -> Result<(), StoreError> {
        // Forgotten first: if the write fails, what Secrets Manager holds is unknown, so it is read again.
        self.kept().remove(name);
        self.inner.put(name, value).await?;
        self.kept()
            .insert(name.to_owned(), (value.to_owned(), self.clock.now()));
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<(), StoreError> {
        self.kept().remove(name);
        self.inner.delete(name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::testing::MemorySecrets;

    fn cached() -> (Arc<MemorySecrets>, Arc<ManualClock>, CachedSecrets) {
        let inner = Arc::new(MemorySecrets::default());
        let clock = Arc::new(ManualClock::new(DateTime::<Utc>::UNIX_EPOCH));
        let cached = CachedSecrets::new(inner.clone(), clock.clone(), TimeDelta::minutes(5));
        (inner, clock, cached)
    }

    #[tokio::test]
    async fn a_value_read_is_kept_for_its_lifetime_then_read_again() {
        let (inner, clock, cached) = cached();
        inner.put("token", "old").await.unwrap();
        assert_eq!(cached.get("token").await.unwrap().as_deref(), Some("old"));
        // Another process changes it: this one keeps what it read, without asking, until the lifetime ends.
        inner.put("token", "new").await.unwrap();
        inner.fail_reads.store(true, std::sync::atomic::Ordering::SeqCst);
        clock.advance(std::time::Duration::from_secs(299));
        assert_eq!(cached.get("token").await.unwrap().as_deref(), Some("old"));
        clock.advance(std::time::Duration::from_secs(1));
        assert!(cached.get("token").await.is_err(), "read again after 5 minutes");
        inner.fail_reads.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(cached.get("token").await.unwrap().as_deref(), Some("new"));
    }

    #[tokio::test]
    async fn what_this_process_writes_or_deletes_shows_at_once_and_nothing_absent_is_kept() {
        let (inner, _clock, cached) = cached();
        assert_eq!(cached.get("token").await.unwrap(), None);
        inner.put("token", "connected elsewhere").await.unwrap();
        assert_eq!(
            cached.get("token").await.unwrap().as_deref(),
            Some("connected elsewhere")
        );
        cached.put("token", "reconnected here").await.unwrap();
        assert_eq!(
            cached.get("token").await.unwrap().as_deref(),
            Some("reconnected here")
        );
        assert_eq!(
            inner.get("token").await.unwrap().as_deref(),
            Some("reconnected here")
        );
        cached.delete("token").await.unwrap();
        assert_eq!(cached.get("token").await.unwrap(), None);
        assert_eq!(inner.get("token").await.unwrap(), None);
    }

    #[tokio::test]
    async fn debug_shows_neither_names_nor_values() {
        let (_inner, _clock, cached) = cached();
        cached.put("sellersync/accounts/A1", "Atzr|SECRET").await.unwrap();
        let shown = format!("{cached:?}");
        assert!(!shown.contains("SECRET") && !shown.contains("A1"), "{shown}");
    }
}
