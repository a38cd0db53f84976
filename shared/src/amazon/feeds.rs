//! Feeds API 2021-06-30: create a feed document, submit, poll, list and cancel feeds, and find their result
//! documents. Field names are the model's. The upload itself is [`AmazonClient::upload_feed_document`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::auth::SellerAuth;
use super::client::{AmazonClient, ApiRequest, segment};
use super::document::{CompressionAlgorithm, PresignedUrl};
use super::rate::Operation;
use super::reports::{ProcessingStatus, list_and_time_query, repeated_token};
use crate::error::AmazonError;

const FEEDS: &str = "/feeds/2021-06-30/feeds";
const DOCUMENTS: &str = "/feeds/2021-06-30/documents";

/// `createFeedDocument`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeedDocumentSpecification {
    /// The Content-Type the upload will carry, e.g. `text/xml; charset=UTF-8`.
    pub content_type: String,
}

/// `createFeedDocument`'s answer: the document id for `createFeed` and where to upload (valid 5 minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeedDocumentResponse {
    /// The document's id (valid two days).
    pub feed_document_id: String,
    /// Presigned URL to PUT the document to.
    pub url: PresignedUrl,
}

/// `createFeed`'s body (`CreateFeedSpecification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeedSpecification {
    /// The feed type, e.g. `POST_ORDER_FULFILLMENT_DATA`.
    pub feed_type: String,
    /// Marketplaces it applies to (1 to 25).
    pub marketplace_ids: Vec<String>,
    /// The uploaded document.
    pub input_feed_document_id: String,
    /// Options of the feed type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_options: Option<BTreeMap<String, String>>,
}

/// `createFeed`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeedResponse {
    /// The new feed's id.
    pub feed_id: String,
}

/// A feed (`Feed`), as `getFeed` and `getFeeds` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feed {
    /// Its id.
    pub feed_id: String,
    /// Its type.
    pub feed_type: String,
    /// Marketplaces it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_ids: Option<Vec<String>>,
    /// When it was submitted.
    pub created_time: DateTime<Utc>,
    /// Where it is in processing.
    pub processing_status: ProcessingStatus,
    /// When processing started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_start_time: Option<DateTime<Utc>>,
    /// When processing ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_end_time: Option<DateTime<Utc>>,
    /// The processing report, when `DONE` (sometimes when `FATAL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_feed_document_id: Option<String>,
}

/// `getFeeds`'s filters; empty lists and `None` are left out of the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetFeedsQuery {
    /// `feedTypes` (1 to 10).
    pub feed_types: Vec<String>,
    /// `processingStatuses`.
    pub processing_statuses: Vec<ProcessingStatus>,
    /// `marketplaceIds` (1 to 10).
    pub marketplace_ids: Vec<String>,
    /// `pageSize` (1 to 100, Amazon's default 10).
    pub page_size: Option<u32>,
    /// `createdSince`.
    pub created_since: Option<DateTime<Utc>>,
    /// `createdUntil`.
    pub created_until: Option<DateTime<Utc>>,
}

impl GetFeedsQuery {
    fn to_query(&self) -> Vec<(&'static str, String)> {
        let statuses: Vec<&str> = self.processing_statuses.iter().map(|s| s.as_str()).collect();
        list_and_time_query(
            ("feedTypes", &self.feed_types),
            &statuses,
            &self.marketplace_ids,
            self.page_size,
            self.created_since,
            self.created_until,
        )
    }
}

/// One page of `getFeeds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetFeedsResponse {
    /// The feeds on this page.
    pub feeds: Vec<Feed>,
    /// Token for the next page, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Where a feed document is (`FeedDocument`), usually a processing report. Its URL lives five minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedDocument {
    /// The document's id.
    pub feed_document_id: String,
    /// Presigned URL to download it from.
    pub url: PresignedUrl,
    /// Its compression, if compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_algorithm: Option<CompressionAlgorithm>,
}

impl AmazonClient {
    /// `createFeedDocument`: a document id and an upload URL for content of `content_type`.
    pub async fn create_feed_document(
        &self,
        seller: &SellerAuth,
        specification: &CreateFeedDocumentSpecification,
    ) -> Result<CreateFeedDocumentResponse, AmazonError> {
        let request = ApiRequest::new(Operation::CreateFeedDocument, Method::POST, DOCUMENTS.to_owned())
            .json(specification)?;
        self.send_json(seller, request).await
    }

    /// `createFeed`: submits an uploaded document for processing.
    pub async fn create_feed(
        &self,
        seller: &SellerAuth,
        specification: &CreateFeedSpecification,
    ) -> Result<CreateFeedResponse, AmazonError> {
        let request =
            ApiRequest::new(Operation::CreateFeed, Method::POST, FEEDS.to_owned()).json(specification)?;
        self.send_json(seller, request).await
    }

    /// `getFeed`: a feed's status and, once done, its result document id.
    pub async fn get_feed(&self, seller: &SellerAuth, feed_id: &str) -> Result<Feed, AmazonError> {
        let path = format!("{FEEDS}/{}", segment(feed_id));
        self.send_json(seller, ApiRequest::new(Operation::GetFeed, Method::GET, path))
            .await
    }

    /// `getFeeds`: the first page of feeds matching `query`.
    pub async fn get_feeds(
        &self,
        seller: &SellerAuth,
        query: &GetFeedsQuery,
    ) -> Result<GetFeedsResponse, AmazonError> {
        let request =
            ApiRequest::new(Operation::GetFeeds, Method::GET, FEEDS.to_owned()).query(query.to_query());
        self.send_json(seller, request).await
    }

    /// `getFeeds` with a `nextToken`, which must be the only parameter.
    pub async fn get_feeds_next(
        &self,
        seller: &SellerAuth,
        next_token: &str,
    ) -> Result<GetFeedsResponse, AmazonError> {
        let request = ApiRequest::new(Operation::GetFeeds, Method::GET, FEEDS.to_owned())
            .query(vec![("nextToken", next_token.to_owned())]);
        self.send_json(seller, request).await
    }

    /// Every feed matching `query`, following `nextToken` to the last page.
    pub async fn get_all_feeds(
        &self,
        seller: &SellerAuth,
        query: &GetFeedsQuery,
    ) -> Result<Vec<Feed>, AmazonError> {
        let mut page = self.get_feeds(seller, query).await?;
        let mut feeds = std::mem::take(&mut page.feeds);
        while let Some(token) = page.next_token.take() {
            let next = self.get_feeds_next(seller, &token).await?;
            if next.next_token.as_deref() == Some(token.as_str()) {
                return Err(repeated_token(Operation::GetFeeds));
            }
            page = next;
            feeds.append(&mut page.feeds);
        }
        Ok(feeds)
    }

    /// `cancelFeed`: cancels a feed that has not started processing.
    pub async fn cancel_feed(&self, seller: &SellerAuth, feed_id: &str) -> Result<(), AmazonError> {
        let path = format!("{FEEDS}/{}", segment(feed_id));
        self.send(
            seller,
            ApiRequest::new(Operation::CancelFeed, Method::DELETE, path),
        )
        .await
        .map(drop)
    }

    /// `getFeedDocument`: where to download a feed document (a processing report).
    pub async fn get_feed_document(
        &self,
        seller: &SellerAuth,
        feed_document_id: &str,
    ) -> Result<FeedDocument, AmazonError> {
        let path = format!("{DOCUMENTS}/{}", segment(feed_document_id));
        self.send_json(
            seller,
            ApiRequest::new(Operation::GetFeedDocument, Method::GET, path),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_is_read_as_the_model_describes_it() {
        let body = r#"{"feedId":"FeedId1","feedType":"POST_ORDER_FULFILLMENT_DATA","createdTime":"2019-12-11T13:16:24.630Z",
            "processingStatus":"DONE","processingStartTime":"2019-12-11T13:16:24.630Z","processingEndTime":"2019-12-11T13:16:24.630Z",
            "resultFeedDocumentId":"0356cf79-b8b0-4226-b4b9-0ee058ea5760","marketplaceIds":["ATVPDKIKX0DER"]}"#;
        let feed: Feed = serde_json::from_str(body).unwrap();
        assert_eq!(feed.processing_status, ProcessingStatus::Done);
        assert_eq!(
            feed.result_feed_document_id.as_deref(),
            Some("0356cf79-b8b0-4226-b4b9-0ee058ea5760")
        );
    }

    #[test]
    fn feed_specifications_use_the_models_field_names() {
        let spec = CreateFeedSpecification {
            feed_type: "POST_ORDER_FULFILLMENT_DATA".to_owned(),
            marketplace_ids: vec!["ATVPDKIKX0DER".to_owned()],
            input_feed_document_id: "3d4e42b5".to_owned(),
            feed_options: None,
        };
        assert_eq!(
            serde_json::to_value(&spec).unwrap(),
            serde_json::json!({"feedType":"POST_ORDER_FULFILLMENT_DATA","marketplaceIds":["ATVPDKIKX0DER"],
                "inputFeedDocumentId":"3d4e42b5"})
        );
        let doc = CreateFeedDocumentSpecification {
            content_type: "text/xml; charset=UTF-8".to_owned(),
        };
        assert_eq!(
            serde_json::to_value(&doc).unwrap(),
            serde_json::json!({"contentType":"text/xml; charset=UTF-8"})
        );
    }
}
