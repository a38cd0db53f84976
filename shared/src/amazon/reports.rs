//! Reports API 2021-06-30: request, poll, list, cancel reports, and get their documents (with a Restricted
//! Data Token for restricted report types). Field names are the model's.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::auth::{RestrictedResource, SellerAuth};
use super::client::{AmazonClient, ApiRequest, segment};
use super::document::{CompressionAlgorithm, PresignedUrl};
use super::rate::Operation;
use crate::domain::ReportKind;
use crate::error::AmazonError;

const REPORTS: &str = "/reports/2021-06-30/reports";
const DOCUMENTS: &str = "/reports/2021-06-30/documents";

/// Where a report or feed is in its processing (`processingStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessingStatus {
    /// Cancelled, by request or (reports) because there was no data.
    Cancelled,
    /// Finished; the document is ready.
    Done,
    /// Aborted by a fatal error.
    Fatal,
    /// Being processed.
    InProgress,
    /// Waiting to be processed.
    InQueue,
}

impl ProcessingStatus {
    /// The model's value, e.g. `IN_PROGRESS`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingStatus::Cancelled => "CANCELLED",
            ProcessingStatus::Done => "DONE",
            ProcessingStatus::Fatal => "FATAL",
            ProcessingStatus::InProgress => "IN_PROGRESS",
            ProcessingStatus::InQueue => "IN_QUEUE",
        }
    }

    /// Whether processing has ended (`DONE`, `CANCELLED`, `FATAL`).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ProcessingStatus::Done | ProcessingStatus::Cancelled | ProcessingStatus::Fatal
        )
    }
}

/// `createReport`'s body (`CreateReportSpecification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateReportSpecification {
    /// The report type, e.g. `GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL`.
    pub report_type: String,
    /// Marketplaces the report covers (1 to 25).
    pub marketplace_ids: Vec<String>,
    /// Start of the data window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_start_time: Option<DateTime<Utc>>,
    /// End of the data window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_end_time: Option<DateTime<Utc>>,
    /// Options of the report type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_options: Option<BTreeMap<String, String>>,
}

/// `createReport`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateReportResponse {
    /// The new report's id.
    pub report_id: String,
}

/// A report (`Report`), as `getReport` and `getReports` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Its id.
    pub report_id: String,
    /// Its type.
    pub report_type: String,
    /// Marketplaces it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_ids: Option<Vec<String>>,
    /// Start of its data window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_start_time: Option<DateTime<Utc>>,
    /// End of its data window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_end_time: Option<DateTime<Utc>>,
    /// The schedule that created it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_schedule_id: Option<String>,
    /// When it was requested.
    pub created_time: DateTime<Utc>,
    /// Where it is in processing.
    pub processing_status: ProcessingStatus,
    /// When processing started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_start_time: Option<DateTime<Utc>>,
    /// When processing ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_end_time: Option<DateTime<Utc>>,
    /// Its document once `DONE` (an error document's when `FATAL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_document_id: Option<String>,
}

/// `getReports`'s filters; empty lists and `None` are left out of the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetReportsQuery {
    /// `reportTypes` (1 to 10).
    pub report_types: Vec<String>,
    /// `processingStatuses`.
    pub processing_statuses: Vec<ProcessingStatus>,
    /// `marketplaceIds` (1 to 10).
    pub marketplace_ids: Vec<String>,
    /// `pageSize` (1 to 100, Amazon's default 10).
    pub page_size: Option<u32>,
    /// `createdSince` (Amazon's default: 90 days ago).
    pub created_since: Option<DateTime<Utc>>,
    /// `createdUntil` (Amazon's default: now).
    pub created_until: Option<DateTime<Utc>>,
}

impl GetReportsQuery {
    fn to_query(&self) -> Vec<(&'static str, String)> {
        let statuses: Vec<&str> = self.processing_statuses.iter().map(|s| s.as_str()).collect();
        list_and_time_query(
            ("reportTypes", &self.report_types),
            &statuses,
            &self.marketplace_ids,
            self.page_size,
            self.created_since,
            self.created_until,
        )
    }
}

/// The shared query shape of `getReports` and `getFeeds`: lists comma-separated (the model's default
/// `collectionFormat`), times in ISO 8601.
pub(crate) fn list_and_time_query(
    types: (&'static str, &[String]),
    statuses: &[&str],
    marketplace_ids: &[String],
    page_size: Option<u32>,
    created_since: Option<DateTime<Utc>>,
    created_until: Option<DateTime<Utc>>,
) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if !types.1.is_empty() {
        query.push((types.0, types.1.join(",")));
    }
    if !statuses.is_empty() {
        query.push(("processingStatuses", statuses.join(",")));
    }
    if !marketplace_ids.is_empty() {
        query.push(("marketplaceIds", marketplace_ids.join(",")));
    }
    if let Some(size) = page_size {
        query.push(("pageSize", size.to_string()));
    }
    if let Some(since) = created_since {
        query.push(("createdSince", since.to_rfc3339_opts(SecondsFormat::Secs, true)));
    }
    if let Some(until) = created_until {
        query.push(("createdUntil", until.to_rfc3339_opts(SecondsFormat::Secs, true)));
    }
    query
}

/// One page of `getReports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetReportsResponse {
    /// The reports on this page.
    pub reports: Vec<Report>,
    /// Token for the next page, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Where a report's document is (`ReportDocument`). Its URL lives five minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportDocument {
    /// The document's id.
    pub report_document_id: String,
    /// Presigned URL to download it from.
    pub url: PresignedUrl,
    /// Its compression, if compressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_algorithm: Option<CompressionAlgorithm>,
}

/// Whether a document holds restricted data (buyer PII) and so needs a Restricted Data Token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentAccess {
    /// An ordinary document: the seller's access token suffices.
    Plain,
    /// A restricted report type's document (e.g. `GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING`).
    Restricted,
}

impl DocumentAccess {
    /// The access a report type's documents need.
    pub fn for_report_type(report_type: &str) -> DocumentAccess {
        if ReportKind::of(report_type).is_restricted() {
            DocumentAccess::Restricted
        } else {
            DocumentAccess::Plain
        }
    }
}

impl AmazonClient {
    /// `createReport`: asks Amazon to produce a report.
    pub async fn create_report(
        &self,
        seller: &SellerAuth,
        specification: &CreateReportSpecification,
    ) -> Result<CreateReportResponse, AmazonError> {
        let request =
            ApiRequest::new(Operation::CreateReport, Method::POST, REPORTS.to_owned()).json(specification)?;
        self.send_json(seller, request).await
    }

    /// `getReport`: a report's status and, once `DONE`, its document id.
    pub async fn get_report(&self, seller: &SellerAuth, report_id: &str) -> Result<Report, AmazonError> {
        let path = format!("{REPORTS}/{}", segment(report_id));
        self.send_json(seller, ApiRequest::new(Operation::GetReport, Method::GET, path))
            .await
    }

    /// `getReports`: the first page of reports matching `query`.
    pub async fn get_reports(
        &self,
        seller: &SellerAuth,
        query: &GetReportsQuery,
    ) -> Result<GetReportsResponse, AmazonError> {
        let request =
            ApiRequest::new(Operation::GetReports, Method::GET, REPORTS.to_owned()).query(query.to_query());
        self.send_json(seller, request).await
    }

    /// `getReports` with a `nextToken`, which must be the only parameter.
    pub async fn get_reports_next(
        &self,
        seller: &SellerAuth,
        next_token: &str,
    ) -> Result<GetReportsResponse, AmazonError> {
        let request = ApiRequest::new(Operation::GetReports, Method::GET, REPORTS.to_owned())
            .query(vec![("nextToken", next_token.to_owned())]);
        self.send_json(seller, request).await
    }

    /// Every report matching `query`, following `nextToken` to the last page.
    pub async fn get_all_reports(
        &self,
        seller: &SellerAuth,
        query: &GetReportsQuery,
    ) -> Result<Vec<Report>, AmazonError> {
        let mut page = self.get_reports(seller, query).await?;
        let mut reports = std::mem::take(&mut page.reports);
        while let Some(token) = page.next_token.take() {
            let next = self.get_reports_next(seller, &token).await?;
            if next.next_token.as_deref() == Some(token.as_str()) {
                return Err(repeated_token(Operation::GetReports));
            }
            page = next;
            reports.append(&mut page.reports);
        }
        Ok(reports)
    }

    /// `cancelReport`: cancels a report that has not started processing.
    pub async fn cancel_report(&self, seller: &SellerAuth, report_id: &str) -> Result<(), AmazonError> {
        let path = format!("{REPORTS}/{}", segment(report_id));
        self.send(
            seller,
            ApiRequest::new(Operation::CancelReport, Method::DELETE, path),
        )
        .await
        .map(drop)
    }

    /// `getReportDocument`: where to download a report's document. A restricted document is asked for with a
    /// Restricted Data Token for exactly its path.
    pub async fn get_report_document(
        &self,
        seller: &SellerAuth,
        report_document_id: &str,
        access: DocumentAccess,
    ) -> Result<ReportDocument, AmazonError> {
        let path = format!("{DOCUMENTS}/{}", segment(report_document_id));
        let mut request = ApiRequest::new(Operation::GetReportDocument, Method::GET, path.clone());
        if access == DocumentAccess::Restricted {
            let resource = RestrictedResource {
                method: "GET".to_owned(),
                path,
                data_elements: None,
            };
            request.restricted_token = Some(self.create_restricted_data_token(seller, &[resource]).await?);
        }
        self.send_json(seller, request).await
    }
}

pub(crate) fn repeated_token(operation: Operation) -> AmazonError {
    AmazonError::Decode {
        operation: operation.name(),
        reason: "nextToken repeats the previous page's token".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_read_as_the_model_describes_it() {
        let body = r#"{"reportId":"ReportId1","reportType":"FEE_DISCOUNTS_REPORT","dataStartTime":"2024-03-11T13:47:20.677Z",
            "dataEndTime":"2024-03-12T13:47:20.677Z","createdTime":"2024-03-10T13:47:20.677Z","processingStatus":"IN_PROGRESS",
            "processingStartTime":"2024-03-10T13:47:20.677Z","processingEndTime":"2024-03-12T13:47:20+00:00",
            "reportDocumentId":"0356cf79","marketplaceIds":["A1F83G8C2ARO7P"]}"#;
        let report: Report = serde_json::from_str(body).unwrap();
        assert_eq!(report.processing_status, ProcessingStatus::InProgress);
        assert_eq!(report.report_document_id.as_deref(), Some("0356cf79"));
        let minimal = r#"{"reportId":"1","reportType":"T","createdTime":"2024-03-10T13:47:20Z","processingStatus":"DONE"}"#;
        assert!(
            serde_json::from_str::<Report>(minimal)
                .unwrap()
                .processing_status
                .is_final()
        );
    }

    #[test]
    fn a_gzip_report_document_names_its_compression() {
        let doc: ReportDocument = serde_json::from_str(
            r#"{"reportDocumentId":"amzn1.spdoc.1","url":"https://s3/doc?sig=1","compressionAlgorithm":"GZIP"}"#,
        )
        .unwrap();
        assert_eq!(doc.compression_algorithm, Some(CompressionAlgorithm::Gzip));
        assert!(!format!("{doc:?}").contains("sig=1"));
    }

    #[test]
    fn the_actionable_orders_report_needs_a_restricted_data_token() {
        assert_eq!(
            DocumentAccess::for_report_type("GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING"),
            DocumentAccess::Restricted
        );
        assert_eq!(
            DocumentAccess::for_report_type("GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"),
            DocumentAccess::Plain
        );
    }
}
