//! The listings feed (`JSON_LISTINGS_FEED`): each message checked against Amazon's listings feed schema and
//! applied to the seller's listings, and the JSON processing report.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{MessageResult, Processed, Rejection, ReportDocument};
use crate::feeds::FeedJob;
use crate::reports::ProcessingStatus;
use crate::state::{ListingState, World};

fn issue(message_id: Option<u32>, sku: Option<&str>, code: &str, message: &str) -> Rejection {
    let mut result = MessageResult::error(message_id.unwrap_or(0), code, message);
    result.sku = sku.map(str::to_owned);
    result
}

const SCHEMA_INVALID: &str =
    "The provided message did not meet the schema validation requirements for a feed message.";

fn json_report(job: &FeedJob, messages: u64, rejected: u64, results: &[MessageResult]) -> ReportDocument {
    let issues: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut issue = serde_json::Map::new();
            if r.message_id > 0 {
                issue.insert("messageId".into(), json!(r.message_id));
            }
            if let Some(sku) = &r.sku {
                issue.insert("sku".into(), json!(sku));
            }
            if !r.code.is_empty() {
                issue.insert("code".into(), json!(r.code));
            }
            issue.insert(
                "severity".into(),
                json!(if r.error { "ERROR" } else { "WARNING" }),
            );
            issue.insert("message".into(), json!(r.description));
            if let Some(attribute) = &r.attribute {
                issue.insert("attributeName".into(), json!(attribute));
            }
            Value::Object(issue)
        })
        .collect();
    let body = json!({
        "header": {"sellerId": job.seller, "version": "2.0", "feedId": job.id},
        "issues": issues,
        "summary": {
            "errors": results.iter().filter(|r| r.error).count(),
            "warnings": results.iter().filter(|r| !r.error).count(),
            "messagesProcessed": messages,
            "messagesAccepted": messages.saturating_sub(rejected),
            "messagesInvalid": rejected,
        }
    });
    ReportDocument {
        bytes: body.to_string().into_bytes(),
        content_type: "application/json",
        always_gzip: true,
    }
}

/// The quantity and lead time a `fulfillment_availability` value sets for channel `DEFAULT`, or the issue.
fn availability(id: u32, sku: &str, value: &Value) -> Result<Option<(u32, Option<u32>)>, Rejection> {
    let Some(entries) = value.as_array() else {
        return Err(issue(Some(id), Some(sku), "4002008", SCHEMA_INVALID));
    };
    let attribute = |code: &str, message: &str| {
        let mut result = issue(Some(id), Some(sku), code, message);
        result.attribute = Some("fulfillment_availability".to_owned());
        result
    };
    let mut set = None;
    for entry in entries {
        let Some(entry) = entry.as_object() else {
            return Err(issue(Some(id), Some(sku), "4002008", SCHEMA_INVALID));
        };
        let Some(channel) = entry.get("fulfillment_channel_code").and_then(Value::as_str) else {
            return Err(attribute(
                "99022",
                "The field 'fulfillment_channel_code' for the attribute 'fulfillment_availability' does not have \
                 enough values. The required minimum is '1' value(s).",
            ));
        };
        let quantity = match entry.get("quantity") {
            None => None,
            Some(q) => match q.as_u64().and_then(|q| u32::try_from(q).ok()) {
                Some(q) => Some(q),
                None => {
                    return Err(attribute(
                        "4000001",
                        "The provided value for 'fulfillment_availability' is invalid.",
                    ));
                }
            },
        };
        let lead_time = match entry.get("lead_time_to_ship_max_days") {
            None => None,
            Some(d) => match d.as_u64().filter(|d| (1..=30).contains(d)) {
                Some(d) => u32::try_from(d).ok(),
                None => {
                    return Err(attribute(
                        "4000001",
                        "The provided value for 'fulfillment_availability' is invalid.",
                    ));
                }
            },
        };
        if channel == "DEFAULT" {
            set = quantity.map(|q| (q, lead_time));
        }
    }
    Ok(set)
}

/// What one listings message changes: a quantity (and lead time) to set, `Some(None)` to delete, or nothing.
type ListingChange = Option<Option<(u32, Option<u32>)>>;

fn listings_message(message: &Value) -> (Option<u32>, Option<String>, Result<ListingChange, Rejection>) {
    let id = message
        .get("messageId")
        .and_then(Value::as_u64)
        .filter(|id| (1..=2_147_483_647).contains(id))
        .and_then(|id| u32::try_from(id).ok());
    let sku = message
        .get("sku")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let operation = message.get("operationType").and_then(Value::as_str);
    let (Some(id), Some(sku_text), Some(operation)) = (id, sku.clone(), operation) else {
        let result = issue(id, sku.as_deref(), "4002008", SCHEMA_INVALID);
        return (id, sku, Err(result));
    };
    let sku_text = sku_text.as_str();
    let invalid = || issue(Some(id), Some(sku_text), "4002008", SCHEMA_INVALID);
    let has = |field: &str| message.get(field).is_some();
    let product_type_ok = message
        .get("productType")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    let change = match operation {
        "DELETE" => {
            if has("attributes") || has("patches") || has("productType") || has("requirements") {
                Err(invalid())
            } else {
                Ok(Some(None))
            }
        }
        "PATCH" => {
            let patches = message
                .get("patches")
                .and_then(Value::as_array)
                .filter(|p| !p.is_empty());
            match patches {
                Some(patches) if product_type_ok && !has("attributes") && !has("requirements") => {
                    let mut change = None;
                    for patch in patches {
                        let op = patch.get("op").and_then(Value::as_str);
                        let path = patch.get("path").and_then(Value::as_str);
                        let (Some(op), Some(path)) = (op, path) else {
                            return (Some(id), sku, Err(invalid()));
                        };
                        if !["add", "replace", "merge", "delete"].contains(&op) {
                            return (Some(id), sku, Err(invalid()));
                        }
                        if path != "/attributes/fulfillment_availability" {
                            continue;
                        }
                        if op == "delete" {
                            change = Some(None);
                            continue;
                        }
                        match availability(id, sku_text, patch.get("value").unwrap_or(&Value::Null)) {
                            Ok(Some(set)) => change = Some(Some(set)),
                            Ok(None) => {}
                            Err(result) => return (Some(id), sku, Err(result)),
                        }
                    }
                    Ok(change)
                }
                _ => Err(invalid()),
            }
        }
        "UPDATE" | "PARTIAL_UPDATE" => {
            let attributes = message
                .get("attributes")
                .and_then(Value::as_object)
                .filter(|a| !a.is_empty());
            match attributes {
                Some(attributes)
                    if product_type_ok
                        && !has("patches")
                        && !(operation == "PARTIAL_UPDATE" && has("requirements")) =>
                {
                    match attributes.get("fulfillment_availability") {
                        None => Ok(None),
                        Some(value) => availability(id, sku_text, value).map(|set| set.map(Some)),
                    }
                }
                _ => Err(invalid()),
            }
        }
        _ => Err(invalid()),
    };
    (Some(id), sku, change)
}

/// Messages one listings feed may hold: the schema's `maxItems` says 25,000, but an Amazon reply in
/// amzn/selling-partner-api-models#4097 says 10,000, beyond which the feed fails with "feed messages list
/// beyond allowed size" (the words Amazon gave there; no message is applied).
const LISTINGS_MESSAGES_LIMIT: usize = 10_000;

/// Where a listings feed breaks Amazon's `listings-feed-schema-v2.json`.
#[derive(Debug, Default)]
struct ListingsSchemaErrors {
    /// The first violation in the header, in the validator's words.
    header: Option<String>,
    /// Indexes of the messages that break it.
    messages: std::collections::BTreeSet<usize>,
}

/// Amazon's listings feed schema, compiled once per process; `None` (after a notice, or a panic under CI)
/// where the reference folder is missing.
fn listings_schema() -> Option<&'static jsonschema::Validator> {
    static SCHEMA: std::sync::OnceLock<Option<jsonschema::Validator>> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            crate::reference::require_dir()
                .map(|dir| crate::reference::json_validator(&dir, "listings-feed-schema-v2.json"))
        })
        .as_ref()
}

/// Validates the document against the listings feed schema, as Amazon does before it applies a message:
/// a message that breaks it is answered 4002008 "did not meet the schema validation requirements" (the
/// processing report in amzn/selling-partner-api-docs#374), a header that breaks it with a header issue.
fn listings_schema_errors(document: &Value) -> ListingsSchemaErrors {
    let mut found = ListingsSchemaErrors::default();
    let Some(validator) = listings_schema() else {
        return found;
    };
    for error in validator.iter_errors(document) {
        let path = error.instance_path().as_str().to_owned();
        let mut segments = path.split('/').skip(1);
        match (segments.next(), segments.next()) {
            (Some("messages"), Some(index)) => {
                if let Ok(index) = index.parse::<usize>() {
                    found.messages.insert(index);
                }
            }
            (Some("header"), _) if found.header.is_none() => found.header = Some(format!("{path}: {error}")),
            _ => {}
        }
    }
    found
}

pub(super) fn listings_feed(world: &mut World, job: &FeedJob, text: &str, at: DateTime<Utc>) -> Processed {
    let document: Value = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(error) => {
            let results = vec![*issue(
                None,
                None,
                "",
                &format!("The feed document is not valid JSON: {error}"),
            )];
            return Processed {
                status: ProcessingStatus::Fatal,
                report: Some(json_report(job, 0, 0, &results)),
                messages: 0,
                rejected: 0,
                results,
            };
        }
    };
    let header = document.get("header").and_then(Value::as_object);
    let header_issue = match header {
        None => Some(issue(
            None,
            None,
            "4002005",
            "Attribute 'header' is required, but not present.",
        )),
        Some(h) if h.get("sellerId").and_then(Value::as_str).is_none() => Some(issue(
            None,
            None,
            "4002005",
            "Attribute 'sellerId' is required, but not present.",
        )),
        Some(h) if h.get("version").and_then(Value::as_str) != Some("2.0") => Some(issue(
            None,
            None,
            "4002006",
            "The 'version' attribute does not match the required value.",
        )),
        Some(_) => None,
    };
    let messages = document
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty());
    let schema_errors = listings_schema_errors(&document);
    let header_issue = header_issue.or_else(|| {
        schema_errors.header.as_ref().map(|reason| {
            issue(
                None,
                None,
                "4002005",
                &format!("The feed header does not meet the schema: {reason}"),
            )
        })
    });
    let header_issue = header_issue.or_else(|| {
        messages
            .filter(|m| m.len() > LISTINGS_MESSAGES_LIMIT)
            .map(|_| issue(None, None, "", "feed messages list beyond allowed size"))
    });
    let header_issue = header_issue.or_else(|| {
        messages.is_none().then(|| {
            issue(
                None,
                None,
                "4002005",
                "Attribute 'messages' is required, but not present.",
            )
        })
    });
    if let Some(header_issue) = header_issue {
        let results = vec![*header_issue];
        return Processed {
            status: ProcessingStatus::Done,
            report: Some(json_report(job, 0, 0, &results)),
            messages: 0,
            rejected: 0,
            results,
        };
    }
    let messages = messages.map(Vec::as_slice).unwrap_or_default();
    let mut results = Vec::new();
    let mut rejected = 0;
    for (index, message) in messages.iter().enumerate() {
        let (id, sku, change) = listings_message(message);
        let change = match change {
            Ok(_) if schema_errors.messages.contains(&index) => {
                Err(issue(id, sku.as_deref(), "4002008", SCHEMA_INVALID))
            }
            other => other,
        };
        match change {
            Err(result) => {
                rejected += 1;
                results.push(*result);
            }
            Ok(None) => {}
            Ok(Some(set)) => {
                let (Some(seller), Some(sku)) = (world.sellers.get_mut(&job.seller), sku) else {
                    continue;
                };
                // createFeed takes exactly one marketplace id, so the feed's listings are that marketplace's.
                let key = (job.marketplace_ids[0].clone(), sku);
                let previous = seller
                    .listings
                    .get(&key)
                    .and_then(|l| l.lead_time_to_ship_max_days);
                seller.listings.insert(
                    key,
                    ListingState {
                        quantity: set.map(|(q, _)| q),
                        lead_time_to_ship_max_days: set.and_then(|(_, d)| d).or(previous),
                        updated_at: at,
                        feed_id: job.id.clone(),
                    },
                );
            }
        }
    }
    let count = messages.len() as u64;
    Processed {
        status: ProcessingStatus::Done,
        report: Some(json_report(job, count, rejected, &results)),
        messages: count,
        rejected,
        results,
    }
}
