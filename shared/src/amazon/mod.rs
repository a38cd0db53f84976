//! The Selling Partner API client: one [`AmazonClient`] that every function talks to Amazon (or the sandbox)
//! through.
//!
//! - [`client`]: the client, its endpoints, retry policy and statistics; the path every call takes.
//! - [`auth`]: LWA credentials, the seller context, the access-token cache, Restricted Data Tokens' types.
//! - [`lwa`]: Login with Amazon's token grants and the Tokens API, on the client.
//! - [`rate`]: operations and their usage plans, the [`RateLimiter`] port, token-bucket arithmetic.
//! - [`reports`], [`feeds`], [`orders`]: the operations, typed as the official models name them.
//! - [`document`]: streamed document downloads (gzip, charset) and feed uploads on presigned URLs.
//!
//! Errors are [`crate::error::AmazonError`]. No log line or error carries a token, a secret or a presigned
//! URL's query.

pub mod application;
pub mod auth;
pub mod client;
pub mod document;
pub mod feeds;
pub mod lwa;
pub mod notifications;
pub mod orders;
pub mod rate;
pub mod reports;
pub mod sellers;

#[cfg(test)]
mod tests;

pub use auth::{
    Credentials, CredentialsSource, LwaCredentials, RestrictedDataToken, RestrictedResource, SellerAuth,
};
pub use client::{AmazonClient, CallStats, Endpoints, RetryPolicy};
pub use document::{CompressionAlgorithm, Document, DocumentReader, PresignedUrl, read_error};
pub use feeds::{
    CreateFeedDocumentResponse, CreateFeedDocumentSpecification, CreateFeedResponse, CreateFeedSpecification,
    Feed, FeedDocument, GetFeedsQuery, GetFeedsResponse,
};
pub use orders::{
    ApiOrder, ApiOrderItem, FulfilledBy, FulfillmentStatus, GetOrderResponse, IncludedData, PiiText,
    SearchOrdersQuery, SearchOrdersResponse,
};
pub use rate::{MemoryRateLimiter, Operation, Quota, RateLimiter, TokenBucket};
pub use reports::{
    CreateReportResponse, CreateReportSpecification, DocumentAccess, GetReportsQuery, GetReportsResponse,
    ProcessingStatus, Report, ReportDocument,
};
pub use sellers::MarketplaceParticipation;
