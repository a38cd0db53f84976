//! The Feeds API 2021-06-30: feed documents created and uploaded to presigned URLs, feeds that move IN_QUEUE →
//! IN_PROGRESS → DONE/FATAL over the configured processing time (or are cancelled while queued), their
//! processing reports, and the model's validation and error bodies.
//!
//! A feed takes effect at the instant its processing ends: [`settle_due`] applies every feed due by then, in
//! the order they end, before any other call looks at the world, so reports and inspection always see the
//! orders and listings as the feeds left them. What a feed does is [`super::feed_apply`]'s.

use std::collections::{BTreeMap, HashMap};

use super::marketplaces::Marketplace;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::Caller;
use super::documents::{DownloadQuery, S3Error, StoredDocument};
use super::faults::FaultKind;
use super::feed_apply::{self, MessageResult};
use super::inspect::{SandboxFeed, SandboxFeedResult};
use super::listing::{Page, Pages};
use super::operations::Operation;
use super::reports::{ProcessingStatus, invalid_input, split_list};
use super::server::ApiError;
use super::state::{self, World};

/// How long a `feedDocumentId` may be given to `createFeed` (the use-case guide: two days).
const INPUT_DOCUMENT_TTL: TimeDelta = TimeDelta::days(2);

/// `JSON_LISTINGS_FEED` feeds a seller may create per [`LISTINGS_WINDOW`] in a region, beyond `createFeed`'s
/// bucket: "five feed submissions per five minutes" (Amazon's changelog "Feed size and rate limit changes
/// for the JSON_LISTINGS_FEED", 2025-05-06; one per five minutes before). Beyond it, 429 `QuotaExceeded`
/// (amzn/selling-partner-api-models#4414 shows that answer to a listings feed).
const LISTINGS_PER_WINDOW: usize = 5;
/// The window of [`LISTINGS_PER_WINDOW`].
const LISTINGS_WINDOW: TimeDelta = TimeDelta::minutes(5);

/// Every feed type of Amazon's `feedType` values list (`createFeed` refuses others). The sandbox processes
/// the three sellersync sends; any other ends `FATAL`.
const FEED_TYPES: &[&str] = &[
    "JSON_LISTINGS_FEED",
    "POST_EASYSHIP_DOCUMENTS",
    "POST_EXPECTED_SHIP_DATE_SOD",
    "POST_EXPECTED_SHIP_DATE_SOD_FLAT_FILE",
    "POST_FBA_INBOUND_CARTON_CONTENTS",
    "POST_FLAT_FILE_BOOKLOADER_DATA",
    "POST_FLAT_FILE_CONVERGENCE_LISTINGS_DATA",
    "POST_FLAT_FILE_FBA_CREATE_INBOUND_PLAN",
    "POST_FLAT_FILE_FBA_CREATE_REMOVAL",
    "POST_FLAT_FILE_FBA_UPDATE_INBOUND_PLAN",
    "POST_FLAT_FILE_FULFILLMENT_DATA",
    "POST_FLAT_FILE_FULFILLMENT_ORDER_CANCELLATION_REQUEST_DATA",
    "POST_FLAT_FILE_FULFILLMENT_ORDER_REQUEST_DATA",
    "POST_FLAT_FILE_INVLOADER_DATA",
    "POST_FLAT_FILE_LISTINGS_DATA",
    "POST_FLAT_FILE_ORDER_ACKNOWLEDGEMENT_DATA",
    "POST_FLAT_FILE_PAYMENT_ADJUSTMENT_DATA",
    "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA",
    "POST_FULFILLMENT_ORDER_CANCELLATION_REQUEST_DATA",
    "POST_FULFILLMENT_ORDER_REQUEST_DATA",
    "POST_INVENTORY_AVAILABILITY_DATA",
    "POST_INVOICE_CONFIRMATION_DATA",
    "POST_ORDER_ACKNOWLEDGEMENT_DATA",
    "POST_ORDER_FULFILLMENT_DATA",
    "POST_PAYMENT_ADJUSTMENT_DATA",
    "POST_PRODUCT_DATA",
    "POST_PRODUCT_IMAGE_DATA",
    "POST_PRODUCT_OVERRIDES_DATA",
    "POST_PRODUCT_PRICING_DATA",
    "POST_PRODUCT_RELATIONSHIP_DATA",
    "POST_STD_ACES_DATA",
    "POST_UIEE_BOOKLOADER_DATA",
    "RFQ_UPLOAD_FEED",
];

/// A document created by `createFeedDocument`, waiting for its upload and its feed.
#[derive(Debug, Clone)]
pub(crate) struct InputDocument {
    pub(crate) seller: String,
    /// The `contentType` it was created with; the upload must carry exactly this.
    pub(crate) content_type: String,
    pub(crate) created: DateTime<Utc>,
    /// The bytes of the last upload.
    pub(crate) bytes: Option<Vec<u8>>,
}

/// One feed.
#[derive(Debug, Clone)]
pub(crate) struct FeedJob {
    pub(crate) id: String,
    pub(crate) seller: String,
    pub(crate) feed_type: String,
    pub(crate) marketplace_ids: Vec<String>,
    pub(crate) input_document_id: String,
    /// The document as it was when the feed was created (`None`: nothing had been uploaded).
    pub(crate) content: Option<Vec<u8>>,
    pub(crate) content_type: String,
    pub(crate) created: DateTime<Utc>,
    fatal_injected: bool,
    cancelled_at: Option<DateTime<Utc>>,
    pub(crate) finished: Option<Finished>,
}

/// How a feed ended.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub(crate) status: ProcessingStatus,
    pub(crate) result_document_id: Option<String>,
    /// Messages in the document, how many were rejected, and the errors and warnings the report gives.
    pub(crate) messages: u64,
    pub(crate) rejected: u64,
    pub(crate) results: Vec<MessageResult>,
}

/// Every feed and feed document, and the cursors of `getFeeds` pages.
#[derive(Debug, Default)]
pub(crate) struct Feeds {
    pub(crate) inputs: HashMap<String, InputDocument>,
    pub(crate) jobs: BTreeMap<String, FeedJob>,
    last_id: u64,
    pages: Pages,
}

/// `2024-03-11T13:16:24.630Z`, as the Feeds API writes times.
fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn missing(fields: &[(&str, bool)]) -> Result<(), ApiError> {
    let missing: String = fields
        .iter()
        .filter(|(_, missing)| *missing)
        .map(|(name, _)| format!("{name};"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(400, "InvalidInput", "One or more required parameters missing").details(missing))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateFeedDocumentSpecification {
    content_type: Option<String>,
}

/// `createFeedDocument`: a document id and a presigned upload URL for content of `contentType` (201).
pub(crate) fn create_feed_document(
    world: &mut World,
    caller: &Caller,
    body: &[u8],
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let spec: CreateFeedDocumentSpecification =
        serde_json::from_slice(body).map_err(|_| invalid_input("Could not match input arguments"))?;
    missing(&[(
        "contentType",
        spec.content_type.as_deref().is_none_or(|t| t.trim().is_empty()),
    )])?;
    let content_type = spec.content_type.unwrap_or_default();
    let id = state::feed_document_id(world);
    world.feeds.inputs.insert(
        id.clone(),
        InputDocument {
            seller: caller.seller.clone(),
            content_type: content_type.clone(),
            created: now,
            bytes: None,
        },
    );
    let ttl = world.settings.document_url_ttl;
    let url = world
        .documents
        .presign_upload(base_url, &id, now, ttl, &content_type);
    Ok(json!({ "feedDocumentId": id, "url": url }))
}

/// A `PUT` to an upload URL: checked as S3 checks a presigned `PUT`, then stored. Returns the owner.
pub(crate) fn upload(
    world: &mut World,
    id: &str,
    query: &DownloadQuery,
    content_type: &str,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<String, S3Error> {
    world.documents.check_upload(id, query, content_type, now)?;
    let input = world.feeds.inputs.get_mut(id).ok_or(S3Error::SignatureMismatch)?;
    input.bytes = Some(bytes);
    Ok(input.seller.clone())
}

/// The seller who owns an upload URL's document, for statistics and faults.
pub(crate) fn upload_owner(world: &World, id: &str) -> Option<String> {
    world.feeds.inputs.get(id).map(|input| input.seller.clone())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateFeedSpecification {
    feed_type: Option<String>,
    marketplace_ids: Option<Vec<String>>,
    input_feed_document_id: Option<String>,
    /// Parsed only to refuse options that are not string pairs, as the model's `FeedOptions` requires.
    #[serde(default, rename = "feedOptions")]
    _feed_options: Option<BTreeMap<String, String>>,
}

/// `createFeed`: validates the specification as Amazon does and queues the feed (202 `{feedId}`).
pub(crate) fn create_feed(
    world: &mut World,
    caller: &Caller,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let spec: CreateFeedSpecification =
        serde_json::from_slice(body).map_err(|_| invalid_input("Could not match input arguments"))?;
    missing(&[
        ("feedType", spec.feed_type.is_none()),
        ("inputFeedDocumentId", spec.input_feed_document_id.is_none()),
        ("marketplaceIds", spec.marketplace_ids.is_none()),
    ])?;
    let (Some(feed_type), Some(marketplace_ids), Some(input_id)) =
        (spec.feed_type, spec.marketplace_ids, spec.input_feed_document_id)
    else {
        return Err(invalid_input("One or more required parameters missing"));
    };
    if !FEED_TYPES.contains(&feed_type.as_str()) {
        return Err(invalid_input(format!("Invalid feed type {feed_type}")));
    }
    if marketplace_ids.is_empty() || marketplace_ids.len() > 25 {
        return Err(invalid_input(
            "marketplaceIds must hold between 1 and 25 marketplace ids",
        ));
    }
    // The model allows 25, Amazon takes one. JSON_LISTINGS_FEED: "Too many 'marketplaceIds' values
    // provided. Expected a maximum of 1." (amzn/selling-partner-api-models#4726, 2025; #5049: several per
    // feed are only planned). Other feed types: 400 InvalidInput "Invalid request parameters" with empty
    // details (#2327, POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA; the same for POST_PRODUCT_DATA in
    // jrl84/amazon-sp-api#269).
    if marketplace_ids.len() > 1 {
        return Err(if feed_type == "JSON_LISTINGS_FEED" {
            invalid_input("Too many 'marketplaceIds' values provided. Expected a maximum of 1.")
        } else {
            invalid_input("Invalid request parameters")
        });
    }
    if let Some(unknown) = marketplace_ids.iter().find(|id| Marketplace::by_id(id).is_none()) {
        return Err(invalid_input(format!("Invalid marketplaceId: {unknown}")));
    }
    let seller_marketplaces = &world.sellers[&caller.seller].spec.marketplace_ids;
    if let Some(foreign) = marketplace_ids
        .iter()
        .find(|id| !seller_marketplaces.contains(id))
    {
        return Err(invalid_input(format!(
            "Invalid marketplaceIds: the seller does not participate in marketplace {foreign}"
        )));
    }
    let input = world
        .feeds
        .inputs
        .get(&input_id)
        .filter(|input| input.seller == caller.seller && now - input.created <= INPUT_DOCUMENT_TTL)
        .ok_or_else(|| invalid_input(format!("Invalid inputFeedDocumentId: {input_id}")))?;
    let (content, content_type) = (input.bytes.clone(), input.content_type.clone());
    if feed_type == "JSON_LISTINGS_FEED" {
        let recent = world
            .feeds
            .jobs
            .values()
            .filter(|job| job.seller == caller.seller && job.feed_type == feed_type)
            .filter(|job| now - job.created < LISTINGS_WINDOW)
            .count();
        if recent >= LISTINGS_PER_WINDOW {
            return Err(super::server::quota_exceeded());
        }
    }

    let fatal_injected = world
        .faults
        .take(Operation::CreateFeed, Some(&caller.seller), |k| {
            matches!(k, FaultKind::Fatal)
        })
        .is_some();
    let gap = world.random_u64(1..2_000);
    let feeds = &mut world.feeds;
    feeds.last_id = if feeds.last_id == 0 {
        230_000_019_000
    } else {
        feeds.last_id + gap
    };
    let id = feeds.last_id.to_string();
    feeds.jobs.insert(
        id.clone(),
        FeedJob {
            id: id.clone(),
            seller: caller.seller.clone(),
            feed_type,
            marketplace_ids,
            input_document_id: input_id,
            content,
            content_type,
            created: now,
            fatal_injected,
            cancelled_at: None,
            finished: None,
        },
    );
    Ok(json!({ "feedId": id }))
}

/// When the feed leaves the queue and when it ends.
fn schedule(world: &World, job: &FeedJob) -> (DateTime<Utc>, DateTime<Utc>) {
    let processing = world.settings.feed_processing;
    (job.created + processing / 3, job.created + processing)
}

/// How the feed ended by `now`, if it did: its status, when, and its processing report (for notifications).
/// Feeds due by `now` must be settled first ([`settle_due`]).
pub(crate) fn terminal(
    world: &World,
    id: &str,
    now: DateTime<Utc>,
) -> Option<(&'static str, DateTime<Utc>, Option<String>)> {
    let job = world.feeds.jobs.get(id)?;
    if let Some(at) = job.cancelled_at {
        return Some((ProcessingStatus::Cancelled.as_str(), at, None));
    }
    let finished = job.finished.as_ref()?;
    let (_, ends) = schedule(world, job);
    (ends <= now).then(|| {
        (
            finished.status.as_str(),
            ends,
            finished.result_document_id.clone(),
        )
    })
}

/// Applies every feed whose processing ended by `now`, in the order they ended.
pub(crate) fn settle_due(world: &mut World, now: DateTime<Utc>) {
    let mut due: Vec<(DateTime<Utc>, String)> = world
        .feeds
        .jobs
        .values()
        .filter(|job| job.finished.is_none() && job.cancelled_at.is_none())
        .map(|job| (schedule(world, job).1, job.id.clone()))
        .filter(|(ends, _)| *ends <= now)
        .collect();
    due.sort();
    for (ends, id) in due {
        let Some(job) = world.feeds.jobs.get(&id).cloned() else {
            continue;
        };
        let finished = finish(world, &job, ends);
        if let Some(job) = world.feeds.jobs.get_mut(&id) {
            job.finished = Some(finished);
        }
    }
}

fn finish(world: &mut World, job: &FeedJob, at: DateTime<Utc>) -> Finished {
    let fatal = Finished {
        status: ProcessingStatus::Fatal,
        result_document_id: None,
        messages: 0,
        rejected: 0,
        results: Vec::new(),
    };
    if job.fatal_injected {
        return fatal;
    }
    let Some(content) = &job.content else {
        return fatal;
    };
    let Some(processed) = feed_apply::process(world, job, content, at) else {
        tracing::warn!(feed_type = %job.feed_type, "the sandbox does not process this feed type");
        return fatal;
    };
    let result_document_id = processed.report.map(|report| {
        let id = state::feed_document_id(world);
        world.documents.store(
            &id,
            StoredDocument {
                seller: job.seller.clone(),
                compressed: report.always_gzip || report.bytes.len() >= world.settings.gzip_min_bytes,
                bytes: report.bytes,
                content_type: report.content_type.to_owned(),
                restricted: false,
                stored_at: at,
            },
        );
        id
    });
    Finished {
        status: processed.status,
        result_document_id,
        messages: processed.messages,
        rejected: processed.rejected,
        results: processed.results,
    }
}

/// The feed's status at `now` (call [`settle_due`] first).
fn status(world: &World, job: &FeedJob, now: DateTime<Utc>) -> ProcessingStatus {
    if job.cancelled_at.is_some() {
        return ProcessingStatus::Cancelled;
    }
    let (started, ends) = schedule(world, job);
    if now < started {
        ProcessingStatus::InQueue
    } else if now < ends {
        ProcessingStatus::InProgress
    } else {
        job.finished
            .as_ref()
            .map_or(ProcessingStatus::InProgress, |f| f.status)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FeedView {
    feed_id: String,
    feed_type: String,
    marketplace_ids: Vec<String>,
    created_time: String,
    processing_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_start_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_end_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_feed_document_id: Option<String>,
    #[serde(skip)]
    created: DateTime<Utc>,
}

fn view(world: &World, job: &FeedJob, now: DateTime<Utc>) -> FeedView {
    let status = status(world, job, now);
    let (started, ends) = schedule(world, job);
    let processing_start_time = match status {
        ProcessingStatus::InQueue | ProcessingStatus::Cancelled => None,
        _ => Some(format_time(started)),
    };
    let processing_end_time = match status {
        ProcessingStatus::Done | ProcessingStatus::Fatal => Some(format_time(ends)),
        ProcessingStatus::Cancelled => Some(format_time(job.cancelled_at.unwrap_or(ends))),
        _ => None,
    };
    let result_feed_document_id = match status {
        ProcessingStatus::Done | ProcessingStatus::Fatal => {
            job.finished.as_ref().and_then(|f| f.result_document_id.clone())
        }
        _ => None,
    };
    FeedView {
        feed_id: job.id.clone(),
        feed_type: job.feed_type.clone(),
        marketplace_ids: job.marketplace_ids.clone(),
        created_time: format_time(job.created),
        processing_status: status.as_str(),
        processing_start_time,
        processing_end_time,
        result_feed_document_id,
        created: job.created,
    }
}

fn not_found() -> ApiError {
    ApiError::new(404, "NotFound", "The requested feed was not found.").details("")
}

/// A seller's feed; ids that cannot be Amazon's are a 400, unknown ones a 404.
fn find_job<'w>(world: &'w World, caller: &Caller, id: &str) -> Result<&'w FeedJob, ApiError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_input(format!("Invalid feedId: {id}")));
    }
    world
        .feeds
        .jobs
        .get(id)
        .filter(|job| job.seller == caller.seller)
        .ok_or_else(not_found)
}

/// `getFeed`.
pub(crate) fn get_feed(
    world: &mut World,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let job = find_job(world, caller, id)?;
    serde_json::to_value(view(world, job, now)).map_err(|e| ApiError::internal(e.to_string()))
}

/// `cancelFeed`: only a feed still in the queue can be cancelled.
pub(crate) fn cancel_feed(
    world: &mut World,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let job = find_job(world, caller, id)?;
    match status(world, job, now) {
        ProcessingStatus::InQueue => {
            if let Some(job) = world.feeds.jobs.get_mut(id) {
                job.cancelled_at = Some(now);
            }
            Ok(())
        }
        other => Err(invalid_input(format!(
            "The feed cannot be cancelled because its processingStatus is {}",
            other.as_str()
        ))),
    }
}

/// `getFeeds`: filters as the model describes, newest first, paged with an opaque `nextToken`.
pub(crate) fn get_feeds(
    world: &mut World,
    caller: &Caller,
    query: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let page = Page::requested(
        &world.feeds.pages,
        &caller.seller,
        query,
        now,
        feed_types,
        "feedTypes",
    )?;
    let mut views: Vec<FeedView> = world
        .feeds
        .jobs
        .values()
        .filter(|job| job.seller == caller.seller)
        .filter(|job| page.filter.admits(job.created, &job.marketplace_ids, now))
        .filter(|job| page.types.contains(&job.feed_type))
        .map(|job| view(world, job, now))
        .filter(|view| page.filter.admits_status(view.processing_status))
        .collect();
    views.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.feed_id.cmp(&a.feed_id)));
    let (feeds, next) = page.cut(&views, world, |world| &mut world.feeds.pages);
    let mut body = json!({ "feeds": feeds });
    if let Some(token) = next {
        body["nextToken"] = Value::String(token);
    }
    Ok(body)
}

/// `getFeeds`' `feedTypes`: required, 1 to 10, each one the sandbox takes.
fn feed_types(given: Option<&str>) -> Result<Vec<String>, ApiError> {
    match given.map(split_list) {
        // "Either feedTypes or nextToken is required." (feeds_2021-06-30.json, getFeeds' feedTypes); the
        // answer is the one getReports gives without reportTypes.
        None => Err(
            ApiError::new(400, "InvalidInput", "One or more required parameters missing")
                .details("feedTypes;"),
        ),
        Some(list) if list.is_empty() || list.len() > 10 => {
            Err(invalid_input("feedTypes must hold between 1 and 10 feed types"))
        }
        Some(list) => match list.iter().find(|t| !FEED_TYPES.contains(&t.as_str())) {
            Some(bad) => Err(invalid_input(format!("Invalid feed type {bad}"))),
            None => Ok(list),
        },
    }
}

/// `getFeedDocument`: a fresh presigned URL for a processing report.
pub(crate) fn get_feed_document(
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
        .ok_or_else(|| {
            ApiError::new(404, "NotFound", "The requested feed document was not found.").details("")
        })?;
    let compressed = document.compressed;
    let ttl = world.settings.document_url_ttl;
    let url = world
        .documents
        .presign(base_url, id, now, ttl, content_encoding_header && compressed);
    let mut body = json!({ "feedDocumentId": id, "url": url });
    if compressed {
        body["compressionAlgorithm"] = Value::String("GZIP".to_owned());
    }
    Ok(body)
}

/// The seller's feeds, oldest first, as of `now` (call [`settle_due`] first).
pub(crate) fn seller_feeds(world: &World, seller: &str, now: DateTime<Utc>) -> Vec<SandboxFeed> {
    let mut feeds: Vec<SandboxFeed> = world
        .feeds
        .jobs
        .values()
        .filter(|job| job.seller == seller)
        .map(|job| {
            let status = status(world, job, now);
            let finished = job
                .finished
                .as_ref()
                .filter(|_| matches!(status, ProcessingStatus::Done | ProcessingStatus::Fatal));
            let results: Vec<SandboxFeedResult> = finished
                .map(|f| f.results.iter().map(MessageResult::to_public).collect())
                .unwrap_or_default();
            SandboxFeed {
                feed_id: job.id.clone(),
                feed_type: job.feed_type.clone(),
                marketplace_ids: job.marketplace_ids.clone(),
                processing_status: status,
                created_time: job.created,
                input_feed_document_id: job.input_document_id.clone(),
                content_type: job.content_type.clone(),
                content: job
                    .content
                    .as_ref()
                    .map(|bytes| String::from_utf8_lossy(bytes).into_owned()),
                result_feed_document_id: finished.and_then(|f| f.result_document_id.clone()),
                messages: finished.map_or(0, |f| f.messages),
                messages_rejected: finished.map_or(0, |f| f.rejected),
                results,
            }
        })
        .collect();
    feeds.sort_by_key(|f| (f.created_time, f.feed_id.clone()));
    feeds
}
