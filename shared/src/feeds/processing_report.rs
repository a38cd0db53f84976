//! Feed processing reports, read into one shape whatever the feed: the XML `ProcessingReport` of order feeds
//! and the JSON report of `JSON_LISTINGS_FEED`, then each submitted message's outcome: accepted (perhaps with
//! warnings) or rejected with Amazon's code and text.
//!
//! Amazon lists only the messages it has something to say about; a message it does not mention was accepted.
//! An error that names no message (XML `MessageID` 0, a JSON issue without `messageId`) is about the document
//! itself and rejects every message that has no result of its own.

use std::io::{BufRead, Read};

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use serde::Deserialize;

use crate::error::ProcessingReportError;

/// How serious an entry of a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The message (or document) was not applied.
    Error,
    /// Applied, with a remark.
    Warning,
    /// For information only (JSON reports).
    Info,
}

/// One entry of a report: a `Result` of an XML report or an `issue` of a JSON report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEntry {
    /// The message it is about; `None` for the document as a whole.
    pub message_id: Option<u32>,
    /// Error, warning or information.
    pub severity: Severity,
    /// Amazon's code (`ResultMessageCode`, issue `code`), e.g. `18028`; empty when Amazon gave none.
    pub code: String,
    /// Amazon's text (`ResultDescription`, issue `message`).
    pub text: String,
    /// The SKU it names, if any.
    pub sku: Option<String>,
    /// The order it names (`AdditionalInfo/AmazonOrderID`), if any.
    pub amazon_order_id: Option<String>,
    /// The attribute it names (JSON `attributeName`), if any.
    pub attribute: Option<String>,
}

/// A report's counts, as Amazon states them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportSummary {
    /// Messages processed.
    pub processed: u64,
    /// Messages applied (`MessagesSuccessful`, `messagesAccepted`).
    pub accepted: u64,
    /// Messages rejected (`MessagesWithError`, `messagesInvalid`).
    pub rejected: u64,
    /// Warnings (`MessagesWithWarning`, `warnings`).
    pub warnings: u64,
}

/// A feed's processing report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessingReport {
    /// The XML report's `StatusCode` (`Complete`, `Processing`, `Rejected`); `None` for JSON reports.
    pub status_code: Option<String>,
    /// The counts, when the report has them.
    pub summary: Option<ReportSummary>,
    /// Every entry, in report order.
    pub entries: Vec<ReportEntry>,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    /// Applied; `warnings` says what Amazon remarked.
    Accepted {
        /// Warnings and information about the message.
        warnings: Vec<ReportEntry>,
    },
    /// Not applied, for these reasons (at least one).
    Rejected {
        /// The errors about the message, or about the whole document.
        errors: Vec<ReportEntry>,
    },
}

impl MessageOutcome {
    /// Whether Amazon applied the message.
    pub fn is_accepted(&self) -> bool {
        matches!(self, MessageOutcome::Accepted { .. })
    }
}

impl ProcessingReport {
    /// What became of message `message_id`.
    pub fn outcome(&self, message_id: u32) -> MessageOutcome {
        let own = self.entries.iter().filter(|e| e.message_id == Some(message_id));
        let errors: Vec<ReportEntry> = own
            .clone()
            .filter(|e| e.severity == Severity::Error)
            .cloned()
            .collect();
        if !errors.is_empty() {
            return MessageOutcome::Rejected { errors };
        }
        let document_errors: Vec<ReportEntry> = self
            .entries
            .iter()
            .filter(|e| e.message_id.is_none() && e.severity == Severity::Error)
            .cloned()
            .collect();
        if !document_errors.is_empty() {
            return MessageOutcome::Rejected {
                errors: document_errors,
            };
        }
        MessageOutcome::Accepted {
            warnings: own.cloned().collect(),
        }
    }

    /// Whether some error names no message: the document as a whole was refused.
    pub fn has_document_errors(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.message_id.is_none() && e.severity == Severity::Error)
    }
}

/// Where the XML reader is inside the report.
#[derive(Debug, Default)]
struct XmlState {
    path: Vec<String>,
    text: String,
    report: ProcessingReport,
    summary: ReportSummary,
    has_summary: bool,
    entry: Option<ReportEntry>,
    seen_report: bool,
}

fn xml_error(line: u64, reason: impl Into<String>) -> ProcessingReportError {
    ProcessingReportError::Xml {
        line,
        reason: reason.into(),
    }
}

fn count(line: u64, name: &str, text: &str) -> Result<u64, ProcessingReportError> {
    text.trim()
        .parse()
        .map_err(|_| xml_error(line, format!("{name} is not a count")))
}

impl XmlState {
    fn end(&mut self, name: &str, line: u64) -> Result<(), ProcessingReportError> {
        let text = std::mem::take(&mut self.text);
        let parent = self.path.iter().rev().nth(1).map(String::as_str);
        match (parent, name) {
            (Some("ProcessingReport"), "StatusCode") => {
                self.report.status_code = Some(text.trim().to_owned())
            }
            (Some("ProcessingSummary"), field) => {
                self.has_summary = true;
                let value = count(line, field, &text)?;
                match field {
                    "MessagesProcessed" => self.summary.processed = value,
                    "MessagesSuccessful" => self.summary.accepted = value,
                    "MessagesWithError" => self.summary.rejected = value,
                    "MessagesWithWarning" => self.summary.warnings = value,
                    _ => {}
                }
            }
            (Some("Result"), field) | (Some("AdditionalInfo"), field) => {
                let Some(entry) = self.entry.as_mut() else {
                    return Ok(());
                };
                let value = text.trim().to_owned();
                match field {
                    "MessageID" => {
                        let id: u64 = value
                            .parse()
                            .map_err(|_| xml_error(line, "MessageID is not a number"))?;
                        // MessageID 0 (or one beyond any we send) speaks about the document, not a message.
                        entry.message_id = u32::try_from(id).ok().filter(|id| *id > 0);
                    }
                    "ResultCode" => {
                        entry.severity = match value.as_str() {
                            "Error" => Severity::Error,
                            "Warning" => Severity::Warning,
                            other => return Err(xml_error(line, format!("unknown ResultCode {other:?}"))),
                        }
                    }
                    "ResultMessageCode" => entry.code = value,
                    "ResultDescription" => entry.text = value,
                    "SKU" => entry.sku = Some(value),
                    "AmazonOrderID" => entry.amazon_order_id = Some(value),
                    _ => {}
                }
            }
            (_, "Result") => {
                if let Some(entry) = self.entry.take() {
                    self.report.entries.push(entry);
                }
            }
            (_, "ProcessingReport") => self.seen_report = true,
            _ => {}
        }
        Ok(())
    }
}

/// Reads an XML `ProcessingReport` (UTF-8, as Amazon serves them).
pub fn parse_xml_processing_report(input: impl BufRead) -> Result<ProcessingReport, ProcessingReportError> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut state = XmlState::default();
    let mut line: u64 = 1;
    loop {
        buf.clear();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_error(line, e.to_string()))?;
        match event {
            Event::Start(element) => {
                let name = element.local_name().as_ref().to_owned();
                if name == "Result" {
                    state.entry = Some(ReportEntry {
                        message_id: None,
                        severity: Severity::Error,
                        code: String::new(),
                        text: String::new(),
                        sku: None,
                        amazon_order_id: None,
                        attribute: None,
                    });
                }
                state.path.push(name);
                state.text.clear();
            }
            Event::End(_) => {
                let Some(name) = state.path.last().cloned() else {
                    return Err(xml_error(line, "closing tag without an opening one"));
                };
                state.end(&name, line)?;
                state.path.pop();
            }
            Event::Text(text) => {
                let content = text.xml_content(XmlVersion::Implicit1_0);
                line += content.matches('\n').count() as u64;
                state.text.push_str(&content);
            }
            Event::CData(data) => state.text.push_str(&data.xml_content(XmlVersion::Implicit1_0)),
            Event::GeneralRef(reference) => match reference.resolve_char_ref() {
                Ok(Some(ch)) => state.text.push(ch),
                Ok(None) => match resolve_predefined_entity(&reference) {
                    Some(text) => state.text.push_str(text),
                    None => return Err(xml_error(line, "unknown entity reference")),
                },
                Err(_) => return Err(xml_error(line, "invalid character reference")),
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !state.path.is_empty() {
        return Err(xml_error(
            line,
            format!(
                "document ends inside <{}>: truncated download",
                state.path.join("/")
            ),
        ));
    }
    if !state.seen_report {
        return Err(ProcessingReportError::WrongDocument(
            "no <ProcessingReport> element".to_owned(),
        ));
    }
    let mut report = state.report;
    if state.has_summary {
        report.summary = Some(state.summary);
    }
    Ok(report)
}

#[derive(Debug, Deserialize)]
struct JsonReport {
    header: serde_json::Value,
    issues: Vec<JsonIssue>,
    summary: JsonSummary,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonIssue {
    message_id: Option<u64>,
    sku: Option<String>,
    #[serde(default)]
    code: String,
    severity: String,
    message: String,
    attribute_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonSummary {
    warnings: u64,
    messages_processed: u64,
    messages_accepted: u64,
    messages_invalid: u64,
}

/// Reads a `JSON_LISTINGS_FEED` processing report (already gunzipped).
pub fn parse_listings_processing_report(input: impl Read) -> Result<ProcessingReport, ProcessingReportError> {
    let report: JsonReport =
        serde_json::from_reader(input).map_err(|e| ProcessingReportError::Json(e.to_string()))?;
    if !report.header.is_object() {
        return Err(ProcessingReportError::WrongDocument(
            "header is not an object".to_owned(),
        ));
    }
    let entries = report
        .issues
        .into_iter()
        .map(|issue| {
            let severity = match issue.severity.as_str() {
                "ERROR" => Severity::Error,
                "WARNING" => Severity::Warning,
                "INFO" => Severity::Info,
                other => {
                    return Err(ProcessingReportError::Json(format!(
                        "unknown issue severity {other:?}"
                    )));
                }
            };
            Ok(ReportEntry {
                message_id: issue
                    .message_id
                    .and_then(|id| u32::try_from(id).ok())
                    .filter(|id| *id > 0),
                severity,
                code: issue.code,
                text: issue.message,
                sku: issue.sku,
                amazon_order_id: None,
                attribute: issue.attribute_name,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProcessingReport {
        status_code: None,
        summary: Some(ReportSummary {
            processed: report.summary.messages_processed,
            accepted: report.summary.messages_accepted,
            rejected: report.summary.messages_invalid,
            warnings: report.summary.warnings,
        }),
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER_ERRORS: &str = include_str!("../../tests/fixtures/feeds/order-fulfillment-report.xml");
    const PARSE_FAILURE: &str = include_str!("../../tests/fixtures/feeds/unparsable-feed-report.xml");
    const LISTINGS: &str = include_str!("../../tests/fixtures/feeds/listings-report.json");

    #[test]
    fn an_xml_report_gives_each_message_its_outcome() {
        let report = parse_xml_processing_report(ORDER_ERRORS.as_bytes()).unwrap();
        assert_eq!(report.status_code.as_deref(), Some("Complete"));
        assert_eq!(
            report.summary,
            Some(ReportSummary {
                processed: 4,
                accepted: 2,
                rejected: 2,
                warnings: 1
            })
        );
        assert!(report.outcome(1).is_accepted());
        match report.outcome(2) {
            MessageOutcome::Rejected { errors } => {
                assert_eq!(errors[0].code, "18028");
                assert_eq!(errors[0].amazon_order_id.as_deref(), Some("114-0000000-0000000"));
                assert!(errors[0].text.contains("can't be found"), "{}", errors[0].text);
            }
            other => panic!("message 2: {other:?}"),
        }
        match report.outcome(3) {
            MessageOutcome::Rejected { errors } => assert_eq!(errors[0].code, "18021"),
            other => panic!("message 3: {other:?}"),
        }
        match report.outcome(4) {
            MessageOutcome::Accepted { warnings } => assert_eq!(warnings[0].code, "5000"),
            other => panic!("message 4: {other:?}"),
        }
        assert!(!report.has_document_errors());
    }

    #[test]
    fn an_error_about_the_document_rejects_every_message() {
        let report = parse_xml_processing_report(PARSE_FAILURE.as_bytes()).unwrap();
        assert!(report.has_document_errors());
        match report.outcome(7) {
            MessageOutcome::Rejected { errors } => {
                assert_eq!(errors[0].code, "6001");
                assert_eq!(errors[0].message_id, None);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_truncated_or_foreign_xml_document_is_an_error() {
        let cut = &ORDER_ERRORS[..ORDER_ERRORS.len() / 2];
        let err = parse_xml_processing_report(cut.as_bytes()).unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(
            matches!(err, ProcessingReportError::Xml { line: 2.., .. }),
            "{err}"
        );
        let at_a_boundary = &ORDER_ERRORS[..ORDER_ERRORS.find("<Result>").unwrap()];
        let err = parse_xml_processing_report(at_a_boundary.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = parse_xml_processing_report("<AmazonEnvelope/>".as_bytes()).unwrap_err();
        assert!(matches!(err, ProcessingReportError::WrongDocument(_)), "{err}");
    }

    #[test]
    fn a_json_report_gives_each_message_its_outcome() {
        let report = parse_listings_processing_report(LISTINGS.as_bytes()).unwrap();
        assert_eq!(report.summary.map(|s| (s.accepted, s.rejected)), Some((2, 1)));
        assert!(report.outcome(1).is_accepted());
        match report.outcome(2) {
            MessageOutcome::Rejected { errors } => {
                assert_eq!(errors.len(), 1);
                assert_eq!(errors[0].code, "4000001");
                assert_eq!(errors[0].sku.as_deref(), Some("MUG-2"));
                assert_eq!(errors[0].attribute.as_deref(), Some("fulfillment_availability"));
            }
            other => panic!("{other:?}"),
        }
        match report.outcome(3) {
            MessageOutcome::Accepted { warnings } => assert_eq!(warnings[0].severity, Severity::Warning),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_json_issue_without_a_message_rejects_them_all() {
        let text = r#"{"header":{"sellerId":"A1","version":"2.0","feedId":"1"},
            "issues":[{"code":"4002006","severity":"ERROR","message":"The 'version' attribute does not match."}],
            "summary":{"errors":1,"warnings":0,"messagesProcessed":0,"messagesAccepted":0,"messagesInvalid":0}}"#;
        let report = parse_listings_processing_report(text.as_bytes()).unwrap();
        assert!(!report.outcome(1).is_accepted());
        let err = parse_listings_processing_report(&b"{\"header\":"[..]).unwrap_err();
        assert!(matches!(err, ProcessingReportError::Json(_)), "{err}");
    }
}
