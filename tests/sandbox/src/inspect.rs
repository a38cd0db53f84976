//! What tests may know that a client of Amazon cannot: the truth about every order (with the shipments and
//! cancellations feeds made), the reports and feeds produced, the quantities listings feeds set, and
//! per-operation statistics; plus the controls (sellers, tokens, authorization, faults). Each is reachable from
//! Rust through [`super::Sandbox`] and over HTTP under `/_sandbox/…` (routes in the module doc of `sandbox`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::auth::{self, CLIENT_ID, CLIENT_SECRET};
use super::faults::Fault;
use super::feeds;
use super::generator::{self, Channel, GenOrder, OrderState, SellerSpec};
use super::operations::Operation;
use super::reports::{self, ProcessingStatus};
use super::server::Shared;
use super::state::{SellerState, World};

/// Calls of one operation by one seller, and how they were answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationStats {
    /// Every call that reached the sandbox with a token naming the seller (or, for downloads, its document).
    pub calls: u64,
    /// Answered 2xx.
    pub succeeded: u64,
    /// Answered 4xx other than 403 and 429 (validation, not found).
    pub client_errors: u64,
    /// Answered 403 (expired token, deauthorized seller, missing RDT).
    pub forbidden: u64,
    /// Answered 429 because the seller's token bucket was empty.
    pub throttled: u64,
    /// Answered 429 by an injected `Throttle` fault.
    pub injected_throttles: u64,
    /// Answered 5xx by an injected `ServerError` fault.
    pub injected_server_errors: u64,
    /// Answered 5xx otherwise (a sandbox bug) or, for LWA and downloads, other failures.
    pub server_errors: u64,
    /// Held back by a `Slow` fault (then answered normally).
    pub slowed: u64,
    /// Documents served cut short by a `TruncateDocument` fault.
    pub truncated: u64,
}

impl OperationStats {
    /// Every 429, from the bucket or injected.
    pub fn all_throttled(&self) -> u64 {
        self.throttled + self.injected_throttles
    }
}

/// A seller's statistics per operation.
pub type SellerStats = BTreeMap<Operation, OperationStats>;

/// What `add_seller` hands back: what a seller's authorization gives an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SellerCredentials {
    /// Amazon's merchant id, e.g. `A2Q3Y263D00KWC`-like.
    pub seller_id: String,
    /// An LWA refresh token for the sandbox's application (`CLIENT_ID`/`CLIENT_SECRET`).
    pub refresh_token: String,
    /// The seller's marketplaces.
    pub marketplace_ids: Vec<String>,
}

/// Why a control call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// No seller has this id.
    #[error("no seller {0} in the sandbox")]
    UnknownSeller(String),
    /// The seller spec cannot be generated; the message names the field.
    #[error("invalid seller spec: {0}")]
    InvalidSpec(String),
}

/// One status change of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxEvent {
    /// The status the order took.
    pub status: OrderState,
    /// When it took it (the report's `last-updated-date`).
    pub last_updated_date: DateTime<Utc>,
    /// When reports first show it.
    pub visible_at: DateTime<Utc>,
    /// When the Orders API first shows it (`getOrder`, `searchOrders`, and `ORDER_CHANGE` sent).
    pub api_visible_at: DateTime<Utc>,
}

/// One line of an order, with every amount as Amazon holds it (reports hide some while an order is pending).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxItem {
    /// 14-digit order item id, as shipment confirmations need.
    pub order_item_id: String,
    /// The seller's SKU.
    pub sku: String,
    /// The ASIN.
    pub asin: String,
    /// The title in the marketplace's language.
    pub product_name: String,
    /// Units ordered.
    pub quantity: u32,
    /// Item price for the quantity (tax included outside the US and Canada).
    pub item_price: Decimal,
    /// Tax on the item.
    pub item_tax: Decimal,
    /// Shipping charged.
    pub shipping_price: Decimal,
    /// Tax on shipping.
    pub shipping_tax: Decimal,
    /// Gift wrap charged.
    pub gift_wrap_price: Decimal,
    /// Tax on gift wrap.
    pub gift_wrap_tax: Decimal,
    /// Promotion discount on the item (zero or negative).
    pub item_promotion_discount: Decimal,
    /// Promotion discount on shipping (zero or negative).
    pub ship_promotion_discount: Decimal,
    /// Promotions applied.
    pub promotion_ids: Vec<String>,
    /// Units shipped through shipment-confirmation feeds by the instant asked for.
    pub quantity_shipped: u32,
    /// Units cancelled through order-acknowledgement feeds by the instant asked for.
    pub quantity_cancelled: u32,
}

/// A shipment the seller confirmed through a `POST_ORDER_FULFILLMENT_DATA` feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxShipment {
    /// The feed that confirmed it.
    pub feed_id: String,
    /// When the feed applied it.
    pub applied_at: DateTime<Utc>,
    /// `CarrierCode` as sent (`Other` for a carrier by name).
    pub carrier_code: String,
    /// `CarrierName`, for `CarrierCode` `Other`.
    pub carrier_name: Option<String>,
    /// `ShippingMethod`.
    pub shipping_method: Option<String>,
    /// `ShipperTrackingNumber`.
    pub tracking_number: Option<String>,
    /// `FulfillmentDate`.
    pub ship_date: DateTime<Utc>,
    /// The order items shipped and the units of each.
    pub items: Vec<SandboxItemUnits>,
    /// `ShipFromAddress`: its country code and postal code, when the seller named where it shipped from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from: Option<(String, Option<String>)>,
}

/// Units of one order item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxItemUnits {
    /// The order item id.
    pub order_item_id: String,
    /// Units.
    pub quantity: u32,
    /// The `CancelReason` given, for cancelled units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
}

/// Units the seller cancelled through a `POST_ORDER_ACKNOWLEDGEMENT_DATA` feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxCancellation {
    /// The feed that cancelled them.
    pub feed_id: String,
    /// When the feed applied it.
    pub applied_at: DateTime<Utc>,
    /// The order items cancelled, the units of each and the reason given.
    pub items: Vec<SandboxItemUnits>,
}

/// A feed as the sandbox processed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxFeed {
    /// The feed id.
    pub feed_id: String,
    /// The feed type.
    pub feed_type: String,
    /// Its marketplaces.
    pub marketplace_ids: Vec<String>,
    /// Its status now.
    pub processing_status: ProcessingStatus,
    /// When it was created.
    pub created_time: DateTime<Utc>,
    /// The document it was created from.
    pub input_feed_document_id: String,
    /// The document's `contentType`.
    pub content_type: String,
    /// The document's text as uploaded (`None` when nothing was uploaded).
    pub content: Option<String>,
    /// The processing report, once done.
    pub result_feed_document_id: Option<String>,
    /// Messages in the document.
    pub messages: u64,
    /// Messages rejected.
    pub messages_rejected: u64,
    /// The report's errors and warnings.
    pub results: Vec<SandboxFeedResult>,
}

/// An error or warning of a feed's processing report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxFeedResult {
    /// The message it is about; 0 for the whole document.
    pub message_id: u32,
    /// `Error` or `Warning`.
    pub severity: String,
    /// Amazon's code, e.g. `18028`; empty when none.
    pub code: String,
    /// Amazon's text.
    pub description: String,
    /// The order it names, if any.
    pub amazon_order_id: Option<String>,
    /// The SKU it names, if any.
    pub sku: Option<String>,
}

/// A SKU's merchant-fulfilled offer as listings feeds left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxListing {
    /// The marketplace of the offer.
    pub marketplace_id: String,
    /// The SKU.
    pub sku: String,
    /// Whether the seller's generated catalog has it (Amazon accepts updates of unknown SKUs too).
    pub in_catalog: bool,
    /// Units available; `None` when no feed set one (or a feed deleted it).
    pub quantity: Option<u32>,
    /// Handling time a feed set.
    pub lead_time_to_ship_max_days: Option<u32>,
    /// When a feed last changed it.
    pub updated_at: Option<DateTime<Utc>>,
    /// The feed that last changed it.
    pub feed_id: Option<String>,
}

/// An order as it stands at some instant: the truth tests compare sellersync's store with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxOrder {
    /// Amazon's order id.
    pub amazon_order_id: String,
    /// The seller's id for multi-channel orders; empty otherwise.
    pub merchant_order_id: String,
    /// The marketplace it was sold in.
    pub marketplace_id: String,
    /// `Amazon.de`, or `Non-Amazon` for multi-channel fulfilment.
    pub sales_channel: String,
    /// AFN or MFN.
    pub fulfillment_channel: Channel,
    /// When it was placed.
    pub purchase_date: DateTime<Utc>,
    /// When its current status was taken.
    pub last_updated_date: DateTime<Utc>,
    /// Its status at the instant asked for.
    pub status: OrderState,
    /// ISO 4217 currency of its amounts.
    pub currency: String,
    /// Shipping service level.
    pub ship_service_level: String,
    /// Amazon Business order.
    pub is_business_order: bool,
    /// The business buyer's purchase order number; empty when none.
    pub purchase_order_number: String,
    /// Ship-to city.
    pub ship_city: String,
    /// Ship-to state or region.
    pub ship_state: String,
    /// Ship-to postal code.
    pub ship_postal_code: String,
    /// Ship-to country (ISO 3166).
    pub ship_country: String,
    /// Its lines.
    pub items: Vec<SandboxItem>,
    /// The events that happened by the instant asked for (or, for a view of reports, that were visible).
    pub events: Vec<SandboxEvent>,
    /// Shipments confirmed through feeds by the instant asked for.
    pub shipments: Vec<SandboxShipment>,
    /// Cancellations sent through feeds by the instant asked for.
    pub cancellations: Vec<SandboxCancellation>,
}

/// An order as one report showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportedOrder {
    /// Amazon's order id.
    pub amazon_order_id: String,
    /// The status the report gave it.
    pub status: OrderState,
}

/// A report as the sandbox produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxReport {
    /// The report id.
    pub report_id: String,
    /// The report type.
    pub report_type: String,
    /// Its status now.
    pub processing_status: ProcessingStatus,
    /// Window start after defaults.
    pub data_start_time: DateTime<Utc>,
    /// Window end after defaults and clamping to the creation time.
    pub data_end_time: DateTime<Utc>,
    /// When it was created.
    pub created_time: DateTime<Utc>,
    /// The document (or FATAL error document).
    pub report_document_id: Option<String>,
    /// The orders it holds (order reports that are DONE).
    pub orders: Vec<ReportedOrder>,
}

fn amount(minor: i64, decimals: u32) -> Decimal {
    Decimal::new(minor, decimals)
}

/// Whose view of the orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// What happened.
    Truth,
    /// What the Orders API shows (minutes behind the truth).
    ByTheApi,
    /// What reports show (30 minutes to a day behind).
    ByReports,
}

/// How an order looks at `at` as `seen`.
fn order_view(order: &GenOrder, at: DateTime<Utc>, seen: Seen) -> Option<SandboxOrder> {
    let current = match seen {
        Seen::Truth => order.event_at(at),
        Seen::ByTheApi => order.api_event_at(at),
        Seen::ByReports => order.visible_event_at(at),
    }?;
    let decimals = order.decimals();
    let events = order
        .events
        .iter()
        .filter(|e| match seen {
            Seen::Truth => e.at <= at,
            Seen::ByTheApi => order.api_visible_at(e) <= at,
            Seen::ByReports => e.visible_at <= at,
        })
        .map(|e| SandboxEvent {
            status: e.state,
            last_updated_date: e.at,
            visible_at: e.visible_at,
            api_visible_at: order.api_visible_at(e),
        })
        .collect();
    Some(SandboxOrder {
        amazon_order_id: order.amazon_order_id.clone(),
        merchant_order_id: order.merchant_order_id.clone(),
        marketplace_id: order.marketplace.id.to_owned(),
        sales_channel: order.sales_channel.clone(),
        fulfillment_channel: order.channel,
        purchase_date: order.purchase_date,
        last_updated_date: current.at,
        status: current.state,
        currency: order.marketplace.currency.to_owned(),
        ship_service_level: order.ship_service_level.to_owned(),
        is_business_order: order.is_business_order,
        purchase_order_number: order.purchase_order_number.clone(),
        ship_city: order.address.city.clone(),
        ship_state: order.address.state.clone(),
        ship_postal_code: order.address.postal_code.clone(),
        ship_country: order.address.country.clone(),
        items: order
            .items
            .iter()
            .map(|item| {
                let a = item.amounts;
                SandboxItem {
                    order_item_id: item.order_item_id.clone(),
                    sku: item.sku.clone(),
                    asin: item.asin.clone(),
                    product_name: item.product_name.clone(),
                    quantity: item.quantity,
                    item_price: amount(a.item_price, decimals),
                    item_tax: amount(a.item_tax, decimals),
                    shipping_price: amount(a.shipping_price, decimals),
                    shipping_tax: amount(a.shipping_tax, decimals),
                    gift_wrap_price: amount(a.gift_wrap_price, decimals),
                    gift_wrap_tax: amount(a.gift_wrap_tax, decimals),
                    item_promotion_discount: amount(a.item_promotion_discount, decimals),
                    ship_promotion_discount: amount(a.ship_promotion_discount, decimals),
                    promotion_ids: item.promotion_ids.clone(),
                    quantity_shipped: order.shipped_units(&item.order_item_id, at),
                    quantity_cancelled: order.cancelled_units(&item.order_item_id, at),
                }
            })
            .collect(),
        events,
        shipments: order
            .feed_shipments
            .iter()
            .filter(|s| s.at <= at)
            .map(|s| SandboxShipment {
                feed_id: s.feed_id.clone(),
                applied_at: s.at,
                carrier_code: s.carrier_code.clone(),
                carrier_name: s.carrier_name.clone(),
                shipping_method: s.shipping_method.clone(),
                tracking_number: s.tracking_number.clone(),
                ship_date: s.ship_date,
                items: s
                    .items
                    .iter()
                    .map(|(id, quantity)| SandboxItemUnits {
                        order_item_id: id.clone(),
                        quantity: *quantity,
                        cancel_reason: None,
                    })
                    .collect(),
                ship_from: s.ship_from.clone(),
            })
            .collect(),
        cancellations: order
            .feed_cancellations
            .iter()
            .filter(|c| c.at <= at)
            .map(|c| SandboxCancellation {
                feed_id: c.feed_id.clone(),
                applied_at: c.at,
                items: c
                    .items
                    .iter()
                    .map(|(id, quantity, reason)| SandboxItemUnits {
                        order_item_id: id.clone(),
                        quantity: *quantity,
                        cancel_reason: reason.clone(),
                    })
                    .collect(),
            })
            .collect(),
    })
}

fn seller<'w>(world: &'w World, seller_id: &str) -> Result<&'w SellerState, SandboxError> {
    world
        .sellers
        .get(seller_id)
        .ok_or_else(|| SandboxError::UnknownSeller(seller_id.to_owned()))
}

fn seller_mut<'w>(world: &'w mut World, seller_id: &str) -> Result<&'w mut SellerState, SandboxError> {
    world
        .sellers
        .get_mut(seller_id)
        .ok_or_else(|| SandboxError::UnknownSeller(seller_id.to_owned()))
}

/// A generated seller waiting to be registered; generation runs outside the state's lock.
#[derive(Debug)]
pub(crate) struct PreparedSeller {
    spec: SellerSpec,
    generated: generator::GeneratedSeller,
}

/// Checks a spec and generates the seller.
pub(crate) fn prepare_seller(spec: SellerSpec) -> Result<PreparedSeller, SandboxError> {
    let marketplaces = spec.validate().map_err(SandboxError::InvalidSpec)?;
    let generated = generator::generate(&spec, marketplaces);
    Ok(PreparedSeller { spec, generated })
}

/// Registers a generated seller and authorizes the sandbox's application for it.
pub(crate) fn add_seller(world: &mut World, prepared: PreparedSeller) -> SellerCredentials {
    let PreparedSeller { spec, generated } = prepared;
    let seller_id = loop {
        let id = format!(
            "A{}",
            world.random_string(13, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        );
        if !world.sellers.contains_key(&id) {
            break id;
        }
    };
    let marketplace_ids = spec.marketplace_ids.clone();
    world.sellers.insert(
        seller_id.clone(),
        SellerState {
            spec,
            generated,
            authorized: true,
            eligible: true,
            listings: BTreeMap::new(),
        },
    );
    let refresh_token = auth::issue_refresh_token(world, &seller_id);
    SellerCredentials {
        seller_id,
        refresh_token,
        marketplace_ids,
    }
}

/// Revokes every refresh token of the seller.
pub(crate) fn revoke_refresh_tokens(world: &mut World, seller_id: &str) -> Result<(), SandboxError> {
    seller(world, seller_id)?;
    world.tokens.revoke_refresh_tokens(seller_id);
    Ok(())
}

/// Issues a new refresh token for the seller.
pub(crate) fn issue_refresh_token(world: &mut World, seller_id: &str) -> Result<String, SandboxError> {
    seller(world, seller_id)?;
    Ok(auth::issue_refresh_token(world, seller_id))
}

/// Sets whether the seller authorizes the application.
pub(crate) fn set_authorized(
    world: &mut World,
    seller_id: &str,
    authorized: bool,
) -> Result<(), SandboxError> {
    seller_mut(world, seller_id)?.authorized = authorized;
    Ok(())
}

/// Sets whether the seller's account is eligible for the APIs.
pub(crate) fn set_eligible(world: &mut World, seller_id: &str, eligible: bool) -> Result<(), SandboxError> {
    seller_mut(world, seller_id)?.eligible = eligible;
    Ok(())
}

/// Every order placed by `at`, as `seen` then (leaving out the orders it does not show yet).
pub(crate) fn orders(
    world: &World,
    seller_id: &str,
    at: DateTime<Utc>,
    seen: Seen,
) -> Result<Vec<SandboxOrder>, SandboxError> {
    Ok(seller(world, seller_id)?
        .generated
        .orders
        .iter()
        .filter_map(|order| order_view(order, at, seen))
        .collect())
}

/// The seller's statistics (empty before its first call).
pub(crate) fn stats(world: &World, seller_id: &str) -> Result<SellerStats, SandboxError> {
    seller(world, seller_id)?;
    Ok(world.stats.get(seller_id).cloned().unwrap_or_default())
}

/// The seller's reports, oldest first, settled as of `now`.
pub(crate) fn seller_reports(
    world: &mut World,
    seller_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SandboxReport>, SandboxError> {
    seller(world, seller_id)?;
    let ids: Vec<String> = world
        .reports
        .jobs
        .values()
        .filter(|job| job.seller == seller_id)
        .map(|job| job.id.clone())
        .collect();
    let mut views = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(status) = reports::status(world, &id, now) else {
            continue;
        };
        let job = &world.reports.jobs[&id];
        let finished = job
            .finished
            .as_ref()
            .filter(|_| status != ProcessingStatus::InProgress);
        views.push(SandboxReport {
            report_id: job.id.clone(),
            report_type: job.report_type.clone(),
            processing_status: status,
            data_start_time: job.data_start,
            data_end_time: job.data_end,
            created_time: job.created,
            report_document_id: finished.and_then(|f| f.document_id.clone()),
            orders: finished
                .map(|f| {
                    f.orders
                        .iter()
                        .map(|(id, status)| ReportedOrder {
                            amazon_order_id: id.clone(),
                            status: *status,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    views.sort_by_key(|r| (r.created_time, r.report_id.clone()));
    Ok(views)
}

/// The seller's feeds, oldest first, as of `now` (feeds due by then applied first).
pub(crate) fn feeds_of(
    world: &mut World,
    seller_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SandboxFeed>, SandboxError> {
    seller(world, seller_id)?;
    feeds::settle_due(world, now);
    Ok(feeds::seller_feeds(world, seller_id, now))
}

/// Every SKU of the seller's catalog in each of its marketplaces, and every other SKU a listings feed set,
/// with what feeds set, by marketplace and SKU.
pub(crate) fn listings(world: &World, seller_id: &str) -> Result<Vec<SandboxListing>, SandboxError> {
    let state = seller(world, seller_id)?;
    let empty = |marketplace_id: &str, sku: &str, in_catalog: bool| SandboxListing {
        marketplace_id: marketplace_id.to_owned(),
        sku: sku.to_owned(),
        in_catalog,
        quantity: None,
        lead_time_to_ship_max_days: None,
        updated_at: None,
        feed_id: None,
    };
    let mut listings: BTreeMap<(String, String), SandboxListing> = BTreeMap::new();
    for marketplace in &state.spec.marketplace_ids {
        for product in &state.generated.catalog {
            listings.insert(
                (marketplace.clone(), product.sku.clone()),
                empty(marketplace, &product.sku, true),
            );
        }
    }
    for ((marketplace, sku), set) in &state.listings {
        let listing = listings
            .entry((marketplace.clone(), sku.clone()))
            .or_insert_with(|| empty(marketplace, sku, false));
        listing.quantity = set.quantity;
        listing.lead_time_to_ship_max_days = set.lead_time_to_ship_max_days;
        listing.updated_at = Some(set.updated_at);
        listing.feed_id = Some(set.feed_id.clone());
    }
    Ok(listings.into_values().collect())
}

/// A seller spec as the HTTP control route takes it: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SellerSpecRequest {
    seed: Option<u64>,
    marketplace_ids: Option<Vec<String>>,
    orders: Option<usize>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    afn_share: Option<f64>,
    business_share: Option<f64>,
    cancel_share: Option<f64>,
    awaiting_shipment_share: Option<f64>,
    late_share: Option<f64>,
}

impl SellerSpecRequest {
    /// Fills the gaps: a seed from the sellers so far, the last 7 days up to `now`.
    fn into_spec(self, default_seed: u64, now: DateTime<Utc>) -> SellerSpec {
        let start = self.start.unwrap_or(now - TimeDelta::days(7));
        let end = self.end.unwrap_or(now);
        let mut spec = SellerSpec::new(self.seed.unwrap_or(default_seed), start, end);
        if let Some(ids) = self.marketplace_ids {
            spec.marketplace_ids = ids;
        }
        spec.orders = self.orders.unwrap_or(spec.orders);
        spec.afn_share = self.afn_share.unwrap_or(spec.afn_share);
        spec.business_share = self.business_share.unwrap_or(spec.business_share);
        spec.cancel_share = self.cancel_share.unwrap_or(spec.cancel_share);
        spec.awaiting_shipment_share = self
            .awaiting_shipment_share
            .unwrap_or(spec.awaiting_shipment_share);
        spec.late_share = self.late_share.unwrap_or(spec.late_share);
        spec
    }
}

/// A control route's error: `{"error": "..."}`.
pub(crate) fn control_error(status: u16, message: &str) -> Response {
    let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    (status, Json(json!({ "error": message }))).into_response()
}

fn control_result<T: Serialize>(status: u16, result: Result<T, SandboxError>) -> Response {
    match result {
        Ok(value) => {
            let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK);
            (status, Json(value)).into_response()
        }
        Err(error @ SandboxError::UnknownSeller(_)) => control_error(404, &error.to_string()),
        Err(error) => control_error(400, &error.to_string()),
    }
}

/// The `/_sandbox/…` routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sandbox", get(index))
        .route("/_sandbox/sellers", get(list_sellers).post(create_seller))
        .route(
            "/_sandbox/sellers/{seller_id}/refresh-tokens",
            post(new_refresh_token).delete(revoke_refresh_token),
        )
        .route("/_sandbox/sellers/{seller_id}/deauthorize", post(deauthorize))
        .route("/_sandbox/sellers/{seller_id}/authorize", post(authorize))
        .route("/_sandbox/sellers/{seller_id}/ineligible", post(ineligible))
        .route("/_sandbox/sellers/{seller_id}/eligible", post(eligible))
        .route("/_sandbox/sellers/{seller_id}/orders", get(seller_orders))
        .route("/_sandbox/sellers/{seller_id}/reports", get(list_reports))
        .route("/_sandbox/sellers/{seller_id}/stats", get(seller_stats))
        .route("/_sandbox/sellers/{seller_id}/feeds", get(list_feeds))
        .route("/_sandbox/sellers/{seller_id}/listings", get(list_listings))
        .route(
            "/_sandbox/faults",
            get(list_faults).post(inject_fault).delete(clear_faults),
        )
        .route("/_sandbox/carriers/{code}/retire", post(retire_carrier_route))
        .route(
            "/_sandbox/sellers/{seller_id}/pii-role",
            post(grant_pii_role).delete(withdraw_pii_role),
        )
        .route("/_sandbox/sellers/{seller_id}/pii", get(list_pii))
        .route(
            "/_sandbox/app/redirect-uris",
            axum::routing::put(set_redirect_uris),
        )
        .route("/_sandbox/app/notifications/take", post(take_app_notifications))
        .route("/_sandbox/notifications/take", post(take_notifications))
}

/// Takes the sellers' notifications due by now (what their subscriptions cover, super::notifications), each
/// with the SQS ARN of its destination: the local runner's stand-in for Amazon's delivery.
async fn take_notifications(State(shared): State<Arc<Shared>>) -> Response {
    let now = shared.clock.now();
    let taken: Vec<serde_json::Value> = super::notifications::take(&mut shared.world(), now)
        .into_iter()
        .map(|n| json!({ "arn": n.arn, "body": n.body }))
        .collect();
    control_result(200, Ok(json!({ "notifications": taken })))
}

/// Takes the application notifications waiting for delivery to the developer's queue: the local runner's
/// stand-in for Amazon's delivery.
async fn take_app_notifications(State(shared): State<Arc<Shared>>) -> Response {
    let taken = super::application::take_notifications(&mut shared.world());
    control_result(200, Ok(json!({ "notifications": taken })))
}

async fn set_redirect_uris(State(shared): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Vec<String>>(&body) {
        Ok(uris) => {
            shared.world().consent.redirect_uris = uris.clone();
            control_result(200, Ok(json!({ "redirectUris": uris })))
        }
        Err(err) => control_error(400, &format!("expected a JSON array of URIs: {err}")),
    }
}

/// Grants or withdraws the application's PII roles for a seller (Orders API v2026-01-01 leaves PII out
/// without them).
pub(crate) fn set_pii_role(world: &mut World, seller_id: &str, granted: bool) -> Result<(), SandboxError> {
    seller(world, seller_id)?;
    if granted {
        world.pii_withheld.remove(seller_id);
    } else {
        world.pii_withheld.insert(seller_id.to_owned());
    }
    Ok(())
}

/// The PII values of a seller's orders.
pub(crate) fn pii_values(world: &World, seller_id: &str) -> Result<Vec<String>, SandboxError> {
    super::orders::pii_values(world, seller_id)
        .ok_or_else(|| SandboxError::UnknownSeller(seller_id.to_owned()))
}

async fn grant_pii_role(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    control_result(
        200,
        set_pii_role(&mut shared.world(), &seller_id, true).map(|()| json!({})),
    )
}

async fn withdraw_pii_role(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    control_result(
        200,
        set_pii_role(&mut shared.world(), &seller_id, false).map(|()| json!({})),
    )
}

async fn list_pii(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    control_result(200, pii_values(&shared.world(), &seller_id))
}

/// Makes order feeds naming carrier code `code` fail with result code 25 from now on.
pub(crate) fn retire_carrier(world: &mut World, code: &str) {
    world.retired_carriers.insert(code.to_owned());
}

async fn retire_carrier_route(State(shared): State<Arc<Shared>>, Path(code): Path<String>) -> Response {
    retire_carrier(&mut shared.world(), &code);
    control_result(200, Ok::<_, SandboxError>(json!({})))
}

async fn index(State(shared): State<Arc<Shared>>) -> Response {
    let world = shared.world();
    Json(json!({
        "now": shared.clock.now(),
        "baseUrl": shared.base_url,
        "lwaUrl": format!("{}/auth/o2/token", shared.base_url),
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "sellers": world.sellers.keys().collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn list_sellers(State(shared): State<Arc<Shared>>) -> Response {
    let world = shared.world();
    let sellers: Vec<_> = world
        .sellers
        .iter()
        .map(|(id, s)| {
            json!({
                "sellerId": id,
                "marketplaceIds": s.spec.marketplace_ids,
                "authorized": s.authorized,
                "eligible": s.eligible,
                "spec": s.spec,
            })
        })
        .collect();
    Json(sellers).into_response()
}

async fn create_seller(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: SellerSpecRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SellerSpecRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(error) => return control_error(400, &format!("invalid seller spec: {error}")),
        }
    };
    let now = shared.clock.now();
    let default_seed = shared.world().sellers.len() as u64 + 1;
    let prepared = prepare_seller(request.into_spec(default_seed, now));
    control_result(
        201,
        prepared.map(|prepared| add_seller(&mut shared.world(), prepared)),
    )
}

async fn new_refresh_token(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    let result = issue_refresh_token(&mut shared.world(), &seller_id).map(|t| json!({ "refreshToken": t }));
    control_result(201, result)
}

async fn revoke_refresh_token(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    control_result(
        200,
        revoke_refresh_tokens(&mut shared.world(), &seller_id).map(|()| json!({})),
    )
}

async fn deauthorize(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    control_result(
        200,
        set_authorized(&mut shared.world(), &seller_id, false).map(|()| json!({})),
    )
}

async fn authorize(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    control_result(
        200,
        set_authorized(&mut shared.world(), &seller_id, true).map(|()| json!({})),
    )
}

async fn ineligible(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    control_result(
        200,
        set_eligible(&mut shared.world(), &seller_id, false).map(|()| json!({})),
    )
}

async fn eligible(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    control_result(
        200,
        set_eligible(&mut shared.world(), &seller_id, true).map(|()| json!({})),
    )
}

#[derive(Debug, Deserialize)]
struct OrdersQuery {
    at: Option<DateTime<Utc>>,
    #[serde(default)]
    visible: bool,
}

async fn seller_orders(
    State(shared): State<Arc<Shared>>,
    Path(seller_id): Path<String>,
    query: Result<Query<OrdersQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return control_error(400, "expected ?at=<RFC 3339>&visible=<bool>");
    };
    let now = shared.clock.now();
    let at = query.at.unwrap_or(now);
    let mut world = shared.world();
    feeds::settle_due(&mut world, now);
    let seen = if query.visible {
        Seen::ByReports
    } else {
        Seen::Truth
    };
    control_result(200, orders(&world, &seller_id, at, seen))
}

async fn list_reports(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    let now = shared.clock.now();
    let mut world = shared.world();
    feeds::settle_due(&mut world, now);
    control_result(200, seller_reports(&mut world, &seller_id, now))
}

async fn list_feeds(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    let now = shared.clock.now();
    control_result(200, feeds_of(&mut shared.world(), &seller_id, now))
}

async fn list_listings(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    let now = shared.clock.now();
    let mut world = shared.world();
    feeds::settle_due(&mut world, now);
    control_result(200, listings(&world, &seller_id))
}

async fn seller_stats(State(shared): State<Arc<Shared>>, Path(seller_id): Path<String>) -> Response {
    control_result(200, stats(&shared.world(), &seller_id))
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.world().faults.list()).into_response()
}

async fn inject_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fault: Fault = match serde_json::from_slice(&body) {
        Ok(fault) => fault,
        Err(error) => return control_error(400, &format!("invalid fault: {error}")),
    };
    let id = shared.world().faults.inject(fault);
    control_result(201, Ok::<_, SandboxError>(json!({ "faultId": id })))
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.world().faults.clear();
    control_result(200, Ok::<_, SandboxError>(json!({})))
}
