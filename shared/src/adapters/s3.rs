//! `S3Archive`: a [`DocumentArchive`] over an S3 bucket.

use std::path::Path;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::unavailable;
use crate::error::StoreError;
use crate::ports::{ArchivedDocument, DocumentArchive};

/// Documents kept in one bucket, encrypted with the stack's KMS key when one is configured.
#[derive(Debug, Clone)]
pub struct S3Archive {
    client: aws_sdk_s3::Client,
    bucket: String,
    kms_key_id: Option<String>,
}

impl S3Archive {
    /// An archive in `bucket`; objects are encrypted with `kms_key_id` (else the bucket's default).
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, kms_key_id: Option<String>) -> Self {
        S3Archive {
            client,
            bucket: bucket.to_owned(),
            kms_key_id,
        }
    }
}

#[async_trait]
impl DocumentArchive for S3Archive {
    async fn put_file(
        &self,
        key: &str,
        file: &Path,
        document: &ArchivedDocument,
    ) -> Result<String, StoreError> {
        let body = ByteStream::from_path(file)
            .await
            .map_err(|err| StoreError::Unavailable {
                operation: "PutObject",
                message: format!("cannot read the spooled document: {err}"),
            })?;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body)
            .set_content_type(document.content_type.clone())
            .set_content_encoding(document.content_encoding.clone());
        if let Some(key_id) = &self.kms_key_id {
            request = request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key_id);
        }
        request
            .send()
            .await
            .map_err(|err| unavailable("PutObject", err))?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}
