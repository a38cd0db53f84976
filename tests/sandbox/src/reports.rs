//! The Reports API 2021-06-30: report jobs that move IN_QUEUE → IN_PROGRESS → DONE/CANCELLED/FATAL over the
//! configured processing time, their documents, and the model's validation and error bodies.
//!
//! A report's content is fixed at the instant it becomes terminal (`processingEndTime`): it holds what the
//! seller's order timelines make visible by then. The sandbox computes it lazily on the first look after that
//! instant, which gives the same bytes as computing it on time because events only ever become visible later.

use std::collections::BTreeMap;

use super::marketplaces::Marketplace;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::Caller;
use super::documents::StoredDocument;
use super::faults::FaultKind;
use super::generator::OrderState;
use super::listing::{Page, Pages};
use super::locales::Charset;
use super::operations::Operation;
use super::render::{self, ReportQuery};
use super::report_types::{self, Rendering};
use super::server::ApiError;
use super::state::{self, World};

/// A report's processing status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessingStatus {
    /// Waiting to start.
    InQueue,
    /// Being produced.
    InProgress,
    /// Produced; `reportDocumentId` is set.
    Done,
    /// Cancelled on request before it started, or because the window held no data.
    Cancelled,
    /// Aborted; `reportDocumentId`, when set, names a document with `errorDetails`.
    Fatal,
}

impl ProcessingStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProcessingStatus::InQueue => "IN_QUEUE",
            ProcessingStatus::InProgress => "IN_PROGRESS",
            ProcessingStatus::Done => "DONE",
            ProcessingStatus::Cancelled => "CANCELLED",
            ProcessingStatus::Fatal => "FATAL",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [
            ProcessingStatus::InQueue,
            ProcessingStatus::InProgress,
            ProcessingStatus::Done,
            ProcessingStatus::Cancelled,
            ProcessingStatus::Fatal,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// How a report ended.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub(crate) status: ProcessingStatus,
    pub(crate) document_id: Option<String>,
    /// The orders a DONE order report holds, with the state it shows for each.
    pub(crate) orders: Vec<(String, OrderState)>,
}

/// One report job.
#[derive(Debug, Clone)]
pub(crate) struct ReportJob {
    pub(crate) id: String,
    pub(crate) seller: String,
    pub(crate) report_type: String,
    pub(crate) marketplace_ids: Vec<String>,
    pub(crate) data_start: DateTime<Utc>,
    pub(crate) data_end: DateTime<Utc>,
    pub(crate) created: DateTime<Utc>,
    fatal_injected: bool,
    cancelled_at: Option<DateTime<Utc>>,
    pub(crate) finished: Option<Finished>,
}

/// Every report, and the cursors of `getReports` pages still to be read.
#[derive(Debug, Default)]
pub(crate) struct Reports {
    pub(crate) jobs: BTreeMap<String, ReportJob>,
    last_id: u64,
    pages: Pages,
}

pub(crate) fn invalid_input(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "InvalidInput", message).details("")
}

fn format_time(at: DateTime<Utc>) -> String {
    render::utc_date(at)
}

pub(crate) fn parse_time(field: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid_input(format!("Invalid {field}: {text}")))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateReportSpecification {
    report_type: Option<String>,
    marketplace_ids: Option<Vec<String>>,
    data_start_time: Option<String>,
    data_end_time: Option<String>,
    /// Parsed only to reject options that are not string pairs, as the model's `ReportOptions` requires.
    #[serde(default, rename = "reportOptions")]
    _report_options: Option<BTreeMap<String, String>>,
}

/// `createReport`: validates the specification as Amazon does and queues the job.
pub(crate) fn create_report(
    world: &mut World,
    caller: &Caller,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let spec: CreateReportSpecification =
        serde_json::from_slice(body).map_err(|_| invalid_input("Could not match input arguments"))?;
    let missing: String = [
        ("marketplaceIds", spec.marketplace_ids.is_none()),
        ("reportType", spec.report_type.is_none()),
    ]
    .iter()
    .filter(|(_, missing)| *missing)
    .map(|(name, _)| format!("{name};"))
    .collect();
    if !missing.is_empty() {
        return Err(
            ApiError::new(400, "InvalidInput", "One or more required parameters missing").details(missing),
        );
    }
    let (Some(report_type), Some(marketplace_ids)) = (spec.report_type, spec.marketplace_ids) else {
        return Err(invalid_input("One or more required parameters missing"));
    };
    let info = report_types::info(&report_type)
        .ok_or_else(|| invalid_input(format!("Invalid Report Type {report_type}")))?;
    if report_types::is_scheduled_only(&report_type) {
        return Err(invalid_input(format!(
            "Request for report type {report_type} is not allowed at this time"
        )));
    }
    if marketplace_ids.is_empty() || marketplace_ids.len() > 25 {
        return Err(invalid_input(
            "marketplaceIds must hold between 1 and 25 marketplace ids",
        ));
    }
    if let Some(unknown) = marketplace_ids.iter().find(|id| Marketplace::by_id(id).is_none()) {
        return Err(invalid_input(format!("Invalid marketplaceId: {unknown}")));
    }
    let seller_marketplaces = &world.sellers[&caller.seller].spec.marketplace_ids;
    let foreign: Vec<&String> = marketplace_ids
        .iter()
        .filter(|id| !seller_marketplaces.contains(id))
        .collect();
    if foreign.len() == marketplace_ids.len() {
        return Err(invalid_input(
            "Report rejected for this client. your report could not be applied to any marketplaces",
        ));
    }
    if let Some(foreign) = foreign.first() {
        return Err(invalid_input(format!(
            "Invalid marketplaceIds: the seller does not participate in marketplace {foreign}"
        )));
    }
    // Both times default to now (the model); unshipped-orders reports look back 60 days by default.
    let default_start = match info.rendering {
        Rendering::Actionable => now - TimeDelta::days(60),
        _ => now,
    };
    let data_start = spec
        .data_start_time
        .as_deref()
        .map(|t| parse_time("dataStartTime", t))
        .transpose()?
        .unwrap_or(default_start);
    let data_end = spec
        .data_end_time
        .as_deref()
        .map(|t| parse_time("dataEndTime", t))
        .transpose()?
        .unwrap_or(now)
        .min(now);
    if data_start > data_end {
        return Err(invalid_input("dataStartTime is after dataEndTime"));
    }

    let fatal_injected = world
        .faults
        .take(Operation::CreateReport, Some(&caller.seller), |k| {
            matches!(k, FaultKind::Fatal)
        })
        .is_some();
    let gap = world.random_u64(1..2_000);
    let reports = &mut world.reports;
    reports.last_id = if reports.last_id == 0 {
        50_039_018_708
    } else {
        reports.last_id + gap
    };
    let id = reports.last_id.to_string();
    reports.jobs.insert(
        id.clone(),
        ReportJob {
            id: id.clone(),
            seller: caller.seller.clone(),
            report_type,
            marketplace_ids,
            data_start,
            data_end,
            created: now,
            fatal_injected,
            cancelled_at: None,
            finished: None,
        },
    );
    Ok(json!({ "reportId": id }))
}

/// When the job leaves the queue and when it ends.
fn schedule(world: &World, job: &ReportJob) -> (DateTime<Utc>, DateTime<Utc>) {
    let processing = world.settings.report_processing;
    (job.created + processing / 3, job.created + processing)
}

/// The job's status at `now`, finishing it first if it is due.
pub(crate) fn status(world: &mut World, id: &str, now: DateTime<Utc>) -> Option<ProcessingStatus> {
    settle(world, id, now);
    let job = world.reports.jobs.get(id)?;
    if job.cancelled_at.is_some() {
        return Some(ProcessingStatus::Cancelled);
    }
    let (started, ends) = schedule(world, job);
    Some(if now < started {
        ProcessingStatus::InQueue
    } else if now < ends {
        ProcessingStatus::InProgress
    } else {
        job.finished
            .as_ref()
            .map_or(ProcessingStatus::InProgress, |f| f.status)
    })
}

/// How the job ended by `now`, if it did: its status, when, and its document (for notifications).
pub(crate) fn terminal(
    world: &mut World,
    id: &str,
    now: DateTime<Utc>,
) -> Option<(&'static str, DateTime<Utc>, Option<String>)> {
    settle(world, id, now);
    let job = world.reports.jobs.get(id)?;
    if let Some(at) = job.cancelled_at {
        return Some((ProcessingStatus::Cancelled.as_str(), at, None));
    }
    let finished = job.finished.as_ref()?;
    let (_, ends) = schedule(world, job);
    Some((finished.status.as_str(), ends, finished.document_id.clone()))
}

/// Produces the job's outcome if its processing time is over and it has none yet.
pub(crate) fn settle(world: &mut World, id: &str, now: DateTime<Utc>) {
    let Some(job) = world.reports.jobs.get(id) else {
        return;
    };
    let (_, ends) = schedule(world, job);
    if job.finished.is_some() || job.cancelled_at.is_some() || now < ends {
        return;
    }
    let job = job.clone();
    let finished = finish(world, &job, ends);
    if let Some(job) = world.reports.jobs.get_mut(id) {
        job.finished = Some(finished);
    }
}

pub(crate) fn region_code(world: &World, seller: &str) -> String {
    let region = world.sellers[seller].generated.marketplaces[0].region;
    region.code().to_owned()
}

fn fatal(world: &mut World, job: &ReportJob, at: DateTime<Utc>, reason: &str) -> Finished {
    let id = state::document_id(world, &region_code(world, &job.seller));
    let body = json!({ "errorDetails": reason }).to_string();
    world.documents.store(
        &id,
        StoredDocument {
            seller: job.seller.clone(),
            bytes: body.into_bytes(),
            content_type: "application/json".to_owned(),
            compressed: false,
            restricted: false,
            stored_at: at,
        },
    );
    Finished {
        status: ProcessingStatus::Fatal,
        document_id: Some(id),
        orders: Vec::new(),
    }
}

/// The outcome of a job produced at `at`.
fn finish(world: &mut World, job: &ReportJob, at: DateTime<Utc>) -> Finished {
    let Some(info) = report_types::info(&job.report_type) else {
        return fatal(world, job, at, "Unknown report type.");
    };
    if job.fatal_injected {
        return fatal(
            world,
            job,
            at,
            "The report could not be generated because of an internal error.",
        );
    }
    if let Some(days) = info.max_window_days
        && job.data_end - job.data_start > TimeDelta::days(days)
    {
        let reason =
            format!("The requested date range exceeds the maximum of {days} days for this report type.");
        return fatal(world, job, at, &reason);
    }
    let query = ReportQuery {
        rendering: info.rendering,
        report_type: &job.report_type,
        marketplace_ids: &job.marketplace_ids,
        start: job.data_start,
        end: job.data_end,
        at,
    };
    let Some(rendered) = render::render(&world.sellers[&job.seller].generated, &query) else {
        return Finished {
            status: ProcessingStatus::Cancelled,
            document_id: None,
            orders: Vec::new(),
        };
    };
    let (bytes, content_type) = match rendered.charset.encode(&rendered.text) {
        Some(bytes) => (bytes, rendered.content_type),
        None => {
            // A generator bug; serve UTF-8 rather than unreadable bytes, and say so.
            tracing::warn!(report_type = %job.report_type, "report text not encodable in its charset");
            (
                rendered.text.into_bytes(),
                rendered
                    .content_type
                    .replace(rendered.charset.label(), Charset::Utf8.label()),
            )
        }
    };
    let id = state::document_id(world, &region_code(world, &job.seller));
    let compressed = bytes.len() >= world.settings.gzip_min_bytes;
    world.documents.store(
        &id,
        StoredDocument {
            seller: job.seller.clone(),
            bytes,
            content_type,
            compressed,
            restricted: info.restricted,
            stored_at: at,
        },
    );
    Finished {
        status: ProcessingStatus::Done,
        document_id: Some(id),
        orders: rendered.orders,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportView {
    report_id: String,
    report_type: String,
    data_start_time: String,
    data_end_time: String,
    marketplace_ids: Vec<String>,
    created_time: String,
    processing_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_document_id: Option<String>,
}

fn view(world: &mut World, id: &str, now: DateTime<Utc>) -> Option<ReportView> {
    let status = status(world, id, now)?;
    let job = world.reports.jobs.get(id)?;
    let (started, ends) = schedule(world, job);
    let explicitly_cancelled = job.cancelled_at.is_some();
    let processing_start_time = match status {
        ProcessingStatus::InQueue => None,
        _ if explicitly_cancelled => None,
        _ => Some(format_time(started)),
    };
    let processing_end_time = match status {
        ProcessingStatus::Done | ProcessingStatus::Fatal => Some(format_time(ends)),
        ProcessingStatus::Cancelled => Some(format_time(job.cancelled_at.unwrap_or(ends))),
        _ => None,
    };
    let report_document_id = match status {
        ProcessingStatus::Done | ProcessingStatus::Fatal => {
            job.finished.as_ref().and_then(|f| f.document_id.clone())
        }
        _ => None,
    };
    Some(ReportView {
        report_id: job.id.clone(),
        report_type: job.report_type.clone(),
        data_start_time: format_time(job.data_start),
        data_end_time: format_time(job.data_end),
        marketplace_ids: job.marketplace_ids.clone(),
        created_time: format_time(job.created),
        processing_status: status.as_str(),
        processing_start_time,
        processing_end_time,
        report_document_id,
    })
}

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "One or more of the provided ReportRequestIds could not be found.",
    )
}

/// Finds a seller's report; ids that cannot be Amazon's are a 400, unknown ones a 404.
fn find_job<'w>(world: &'w World, caller: &Caller, id: &str) -> Result<&'w ReportJob, ApiError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_input(format!("Invalid reportId: {id}")));
    }
    world
        .reports
        .jobs
        .get(id)
        .filter(|job| job.seller == caller.seller)
        .ok_or_else(not_found)
}

/// `getReport`.
pub(crate) fn get_report(
    world: &mut World,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    find_job(world, caller, id)?;
    let view = view(world, id, now).ok_or_else(not_found)?;
    serde_json::to_value(view).map_err(|e| ApiError::internal(e.to_string()))
}

/// `cancelReport`: only a report still in the queue can be cancelled.
pub(crate) fn cancel_report(
    world: &mut World,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    find_job(world, caller, id)?;
    match status(world, id, now) {
        Some(ProcessingStatus::InQueue) => {
            if let Some(job) = world.reports.jobs.get_mut(id) {
                job.cancelled_at = Some(now);
            }
            Ok(())
        }
        Some(other) => Err(invalid_input(format!(
            "The report cannot be cancelled because its processingStatus is {}",
            other.as_str()
        ))),
        None => Err(not_found()),
    }
}

pub(crate) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `getReports`: filters as the model describes, newest first, paged with an opaque `nextToken`.
pub(crate) fn get_reports(
    world: &mut World,
    caller: &Caller,
    query: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let page = Page::requested(
        &world.reports.pages,
        &caller.seller,
        query,
        now,
        report_types,
        "reportTypes",
    )?;
    let candidates: Vec<String> = world
        .reports
        .jobs
        .values()
        .filter(|job| job.seller == caller.seller)
        .filter(|job| page.types.contains(&job.report_type))
        .filter(|job| page.filter.admits(job.created, &job.marketplace_ids, now))
        .map(|job| job.id.clone())
        .collect();
    let mut views = Vec::new();
    for id in candidates {
        let Some(view) = view(world, &id, now) else {
            continue;
        };
        if page.filter.admits_status(view.processing_status) {
            views.push(view);
        }
    }
    views.sort_by(|a, b| {
        b.created_time
            .cmp(&a.created_time)
            .then_with(|| b.report_id.cmp(&a.report_id))
    });
    let (reports, next) = page.cut(&views, world, |world| &mut world.reports.pages);
    let mut body = json!({ "reports": reports });
    if let Some(token) = next {
        body["nextToken"] = Value::String(token);
    }
    Ok(body)
}

/// `getReports`' `reportTypes`: required, at most 10, each one Amazon knows.
fn report_types(given: Option<&str>) -> Result<Vec<String>, ApiError> {
    let report_types = given.map(split_list).unwrap_or_default();
    if report_types.is_empty() {
        return Err(
            ApiError::new(400, "InvalidInput", "One or more required parameters missing")
                .details("reportTypes;"),
        );
    }
    if report_types.len() > 10 {
        return Err(invalid_input("reportTypes may hold at most 10 report types"));
    }
    if let Some(bad) = report_types.iter().find(|t| report_types::info(t).is_none()) {
        return Err(invalid_input(format!("Invalid Report Type {bad}")));
    }
    Ok(report_types)
}

/// `getReportDocument`: a fresh presigned URL; restricted report types need an RDT for exactly this path.
pub(crate) fn get_report_document(
    world: &mut World,
    caller: &Caller,
    id: &str,
    content_encoding_header: bool,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let document = world
        .documents
        .get(id)
        .filter(|doc| doc.seller == caller.seller)
        .ok_or_else(|| ApiError::new(404, "NotFound", "The report document does not exist.").details(""))?;
    let path = format!("/reports/2021-06-30/documents/{id}");
    if document.restricted && !caller.has_rdt_for("GET", &path) {
        return Err(
            ApiError::new(403, "Unauthorized", "Access to requested resource is denied.").details(""),
        );
    }
    let compressed = document.compressed;
    let ttl = world.settings.document_url_ttl;
    let url = world
        .documents
        .presign(base_url, id, now, ttl, content_encoding_header && compressed);
    let mut body = json!({ "reportDocumentId": id, "url": url });
    if compressed {
        body["compressionAlgorithm"] = Value::String("GZIP".to_owned());
    }
    Ok(body)
}
