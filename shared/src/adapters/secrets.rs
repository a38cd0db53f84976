//! `SecretsManagerStore`: a [`SecretStore`] over AWS Secrets Manager.

use async_trait::async_trait;
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_secretsmanager::operation::delete_secret::DeleteSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use super::unavailable;
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
