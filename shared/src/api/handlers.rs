//! The route handlers: read the request, call a use case, shape the answer. No logic of their own.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::ApiState;
use super::error::ApiError;
use super::extract::{JsonBody, PublicBase, QueryParams, check_id};
use super::idempotency::HEADER as IDEMPOTENCY_HEADER;
use super::pages::{self, Lang};
use super::views::{
    AccountView, ActionView, BackfillView, ConnectLinkView, FeedView, HealthView, OrderView, PageView,
    RecipientView, ReportJobView,
};
use crate::app::accounts::{AccountChanges, NewAccount, RefreshToken};
use crate::app::connect::Callback;
use crate::app::feeds::ItemRef;
use crate::app::orders::{MAX_PAGE as MAX_ORDERS_PAGE, RecipientRead};
use crate::app::reports::{BackfillRequest, ReportRequest};
use crate::domain::connect::{DEFAULT_LINK_LIFETIME, is_secret};
use crate::domain::{
    CancelReason, Carrier, CarrierCode, InventoryUpdate, ShipFrom, ShipmentConfirmation, ShippedItems,
};
use crate::domain::{
    CountryFilter, FeedAction, FulfillmentChannel, ImportInterval, ImportOptions, Marketplace, NewLink,
    OrderStatus, Region,
};
use crate::ports::OrderQuery;

/// Largest page of accounts and report jobs.
const MAX_PAGE: u32 = 100;

type Answer = Result<Response, ApiError>;

/// An optional body field: left out is `None`, but an explicit `null` is refused like any other wrong type, as
/// the OpenAPI document says.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// An optional body field that `null` clears: left out is `None`, `null` is `Some(None)`.
fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

fn created(location: String, body: impl serde::Serialize, status: StatusCode) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Import options as the API takes them; a left-out option keeps its current (or default) value.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct OptionsBody {
    #[serde(default, deserialize_with = "present")]
    import_fba: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    import_shipped: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    country_filter: Option<CountryFilter>,
    #[serde(default, deserialize_with = "present")]
    import_addresses: Option<bool>,
}

impl OptionsBody {
    fn over(self, base: ImportOptions) -> ImportOptions {
        ImportOptions {
            import_fba: self.import_fba.unwrap_or(base.import_fba),
            import_shipped: self.import_shipped.unwrap_or(base.import_shipped),
            country_filter: self.country_filter.unwrap_or(base.country_filter),
            import_addresses: self.import_addresses.unwrap_or(base.import_addresses),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CreateAccountBody {
    seller_id: String,
    region: Region,
    marketplace_ids: Vec<String>,
    refresh_token: String,
    import_interval: ImportInterval,
    #[serde(default)]
    options: OptionsBody,
    #[serde(default, deserialize_with = "present")]
    ship_from: Option<ShipFrom>,
}

pub(crate) async fn create_account(
    State(state): State<ApiState>,
    JsonBody(body): JsonBody<CreateAccountBody>,
) -> Answer {
    let new = NewAccount {
        refresh_token: RefreshToken::parse("refreshToken", &body.refresh_token)?,
        seller_id: body.seller_id,
        region: body.region,
        marketplaces: body.marketplace_ids,
        import_interval: body.import_interval,
        options: body.options.over(ImportOptions::default()),
        ship_from: body.ship_from,
    };
    let record = state.accounts.create(new).await?;
    let location = format!("/accounts/{}", record.account.id);
    Ok(created(location, AccountView::from(record), StatusCode::CREATED))
}

pub(crate) async fn list_accounts(State(state): State<ApiState>, query: QueryParams) -> Answer {
    query.only(&["limit", "nextToken"])?;
    let limit = query.limit(MAX_PAGE)?;
    let after = query.next_token()?;
    let page = state.accounts.list(after.as_deref(), limit).await?;
    Ok(Json(PageView::of(page, AccountView::from)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConnectLinkBody {
    region: Region,
    #[serde(default, deserialize_with = "present")]
    marketplace_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    seller_id: Option<String>,
    import_interval: ImportInterval,
    #[serde(default)]
    options: OptionsBody,
    #[serde(default, deserialize_with = "present")]
    ship_from: Option<ShipFrom>,
    #[serde(default, deserialize_with = "present")]
    expires_in_hours: Option<u32>,
}

/// The path of the public page of the link `id`.
fn connect_path(id: &str) -> String {
    format!("/connect/{id}")
}

/// The callback's path, which the SP-API application must list among its OAuth Redirect URIs.
pub(crate) const CALLBACK_PATH: &str = "/connect/callback";

pub(crate) async fn create_connect_link(
    State(state): State<ApiState>,
    PublicBase(base): PublicBase,
    JsonBody(body): JsonBody<ConnectLinkBody>,
) -> Answer {
    let request = NewLink {
        region: body.region,
        marketplace_id: body.marketplace_id,
        seller_id: body.seller_id,
        import_interval: body.import_interval,
        options: body.options.over(ImportOptions::default()),
        ship_from: body.ship_from,
        lifetime: body
            .expires_in_hours
            .map_or(DEFAULT_LINK_LIFETIME, |h| chrono::TimeDelta::hours(i64::from(h))),
    };
    let new = state.connect.create_link(request).await?;
    let url = format!("{base}{}", connect_path(&new.id));
    let location = format!("/connect-links/{}", new.id);
    let view = ConnectLinkView::of(new.link, Some(url), state.clock.now());
    Ok(created(location, view, StatusCode::CREATED))
}

pub(crate) async fn get_connect_link(State(state): State<ApiState>, Path(id): Path<String>) -> Answer {
    let link = if is_secret(&id) {
        state.connect.link(&id).await?
    } else {
        None
    };
    let link = link.ok_or_else(|| ApiError::not_found("connect link"))?;
    Ok(Json(ConnectLinkView::of(link, None, state.clock.now())).into_response())
}

fn lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

/// The public page of a connect link: a fresh state, and the button to Amazon's consent page.
pub(crate) async fn connect_page(
    State(state): State<ApiState>,
    PublicBase(base): PublicBase,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(&headers);
    let redirect_uri = format!("{base}{CALLBACK_PATH}");
    match state.connect.start(&id, &redirect_uri).await {
        Ok(start) => pages::link_page(lang, &start.link, &start.consent_url),
        Err(refusal) => pages::refusal_page(lang, &refusal),
    }
}

/// The public callback Amazon redirects the seller to.
pub(crate) async fn connect_callback(
    State(state): State<ApiState>,
    PublicBase(base): PublicBase,
    query: Result<QueryParams, ApiError>,
    headers: HeaderMap,
) -> Response {
    let lang = lang(&headers);
    // A query that does not parse (or names a parameter twice) is as good as none.
    let query = query.unwrap_or_default();
    let callback = Callback {
        state: query.text("state").map(str::to_owned),
        selling_partner_id: query.text("selling_partner_id").map(str::to_owned),
        code: query.text("spapi_oauth_code").map(str::to_owned),
        error: query.text("error").map(str::to_owned),
    };
    let redirect_uri = format!("{base}{CALLBACK_PATH}");
    match state.connect.finish(callback, &redirect_uri).await {
        Ok(connected) => pages::connected_page(lang, &connected),
        Err(refusal) => pages::refusal_page(lang, &refusal),
    }
}

pub(crate) async fn get_account(State(state): State<ApiState>, Path(id): Path<String>) -> Answer {
    check_id("account", &id)?;
    let record = state.accounts.get(&id).await?;
    Ok(Json(AccountView::from(record)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UpdateAccountBody {
    #[serde(default, deserialize_with = "present")]
    marketplace_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "present")]
    import_interval: Option<ImportInterval>,
    #[serde(default, deserialize_with = "present")]
    options: Option<OptionsBody>,
    /// `null` removes the default.
    #[serde(default, deserialize_with = "nullable")]
    ship_from: Option<Option<ShipFrom>>,
}

pub(crate) async fn update_account(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateAccountBody>,
) -> Answer {
    check_id("account", &id)?;
    let options = match body.options {
        Some(options) => Some(options.over(state.accounts.get(&id).await?.account.options)),
        None => None,
    };
    let changes = AccountChanges {
        marketplaces: body.marketplace_ids,
        refresh_token: body
            .refresh_token
            .as_deref()
            .map(|token| RefreshToken::parse("refreshToken", token))
            .transpose()?,
        import_interval: body.import_interval,
        options,
        ship_from: body.ship_from,
    };
    let record = state.accounts.update(&id, changes).await?;
    Ok(Json(AccountView::from(record)).into_response())
}

pub(crate) async fn delete_account(State(state): State<ApiState>, Path(id): Path<String>) -> Answer {
    check_id("account", &id)?;
    // Its subscriptions first (grantless, so a revoked seller's go too): if Amazon cannot be reached the
    // account stays whole, and deleting again goes on.
    let record = state.accounts.get(&id).await?;
    if let Some(status) = &record.status.notifications {
        state.subscriptions.remove(&record.account, status).await?;
    }
    state.accounts.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn account_health(State(state): State<ApiState>, Path(id): Path<String>) -> Answer {
    check_id("account", &id)?;
    let health = state.health.check(&id).await?;
    Ok(Json(HealthView::from(health)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ReportBody {
    report_type: String,
    #[serde(default, deserialize_with = "present")]
    data_start_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "present")]
    data_end_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "present")]
    marketplace_ids: Option<Vec<String>>,
}

pub(crate) async fn request_report(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReportBody>,
) -> Answer {
    check_id("account", &id)?;
    let request = ReportRequest {
        report_type: body.report_type,
        start: body.data_start_time,
        end: body.data_end_time,
        marketplace_ids: body.marketplace_ids,
    };
    let job = state.reports.request(&id, request).await?;
    Ok((StatusCode::ACCEPTED, Json(ReportJobView::from(job))).into_response())
}

pub(crate) async fn list_reports(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    query: QueryParams,
) -> Answer {
    check_id("account", &id)?;
    query.only(&["limit", "nextToken"])?;
    let limit = query.limit(MAX_PAGE)?;
    let after = query.next_token()?;
    let page = state.reports.list(&id, after.as_deref(), limit).await?;
    Ok(Json(PageView::of(page, ReportJobView::from)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BackfillBody {
    start_date: DateTime<Utc>,
    #[serde(default, deserialize_with = "present")]
    end_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "present")]
    report_types: Option<Vec<String>>,
}

pub(crate) async fn start_backfill(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<BackfillBody>,
) -> Answer {
    check_id("account", &id)?;
    let request = BackfillRequest {
        start: body.start_date,
        end: body.end_date,
        report_types: body.report_types,
    };
    let backfill = state.reports.start_backfill(&id, request).await?;
    let location = format!("/accounts/{id}/backfills/{}", backfill.id);
    Ok(created(
        location,
        BackfillView::from(backfill),
        StatusCode::ACCEPTED,
    ))
}

pub(crate) async fn get_backfill(
    State(state): State<ApiState>,
    Path((id, backfill_id)): Path<(String, String)>,
) -> Answer {
    check_id("account", &id)?;
    check_id("backfill", &backfill_id)?;
    let backfill = state.reports.backfill(&id, &backfill_id).await?;
    Ok(Json(BackfillView::from(backfill)).into_response())
}

pub(crate) async fn list_orders(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    query: QueryParams,
) -> Answer {
    check_id("account", &id)?;
    query.only(&[
        "status",
        "channel",
        "marketplace",
        "updatedSince",
        "needsShipping",
        "limit",
        "nextToken",
    ])?;
    let status = match query.text("status") {
        None => None,
        Some(text) if text.trim().is_empty() || text.len() > 64 => {
            return Err(ApiError::invalid(
                "status",
                "expected an order status, e.g. Unshipped",
            ));
        }
        Some(text) => Some(OrderStatus::parse(text)),
    };
    let channel = query
        .text("channel")
        .map(|text| {
            FulfillmentChannel::parse(text)
                .ok_or_else(|| ApiError::invalid("channel", "expected AFN (fulfilled by Amazon) or MFN"))
        })
        .transpose()?;
    let marketplace_id = query
        .text("marketplace")
        .map(|text| Marketplace::parse_id("marketplace", text).map(|m| m.id.to_owned()))
        .transpose()?;
    if query.flag("needsShipping")? {
        // What a warehouse works from: open merchant orders by latest ship date, with their shipping details.
        if let Some(other) = ["status", "channel", "updatedSince"]
            .into_iter()
            .find(|name| query.text(name).is_some())
        {
            return Err(ApiError::invalid(
                other,
                "needsShipping lists open merchant orders by latest ship date; it combines only with marketplace",
            ));
        }
        let limit = query.limit(MAX_ORDERS_PAGE)?;
        let after = query.next_token()?;
        let page = state
            .orders
            .to_ship(&id, marketplace_id.as_deref(), limit, after.as_deref())
            .await?;
        let view = |(order, details)| OrderView::with_details(order, Vec::new(), Some(details));
        return Ok(Json(PageView::of(page, view)).into_response());
    }
    let order_query = OrderQuery {
        status,
        channel,
        marketplace_id,
        updated_since: query.time("updatedSince")?,
        limit: query.limit(MAX_ORDERS_PAGE)?,
        after: query.next_token()?,
    };
    let page = state.orders.list(&id, order_query).await?;
    Ok(Json(PageView::of(page, OrderView::from)).into_response())
}

pub(crate) async fn get_order(
    State(state): State<ApiState>,
    Path((id, order_id)): Path<(String, String)>,
) -> Answer {
    check_id("account", &id)?;
    check_id("order", &order_id)?;
    let order = state.orders.get(&id, &order_id).await?;
    let actions = state.feeds.order_actions(&id, &order_id).await?;
    let details = state.orders.details(&id, &order_id).await?;
    Ok(Json(OrderView::with_details(order, actions, details)).into_response())
}

/// The caller the API function found in API Gateway's IAM authorisation ([`super::Caller`]); `unknown` when the
/// request did not come through API Gateway (tests, the local runner).
fn caller(caller: Option<&super::Caller>) -> &str {
    caller.map_or("unknown", |c| c.0.as_str())
}

pub(crate) async fn get_order_recipient(
    State(state): State<ApiState>,
    Path((id, order_id)): Path<(String, String)>,
    caller_ext: Option<axum::Extension<super::Caller>>,
) -> Answer {
    check_id("account", &id)?;
    check_id("order", &order_id)?;
    let now = state.clock.now();
    let read = state.orders.recipient(&id, &order_id, now).await?;
    // Every read of buyer PII is logged with who asked for which order, never the values.
    tracing::info!(caller = %caller(caller_ext.as_ref().map(|e| &e.0)), account = %id, order_id = %order_id, outcome = read.outcome(), "buyer PII read");
    match read {
        RecipientRead::Found(pii, expires_at) => {
            Ok(Json(RecipientView::new(*pii, expires_at)).into_response())
        }
        RecipientRead::NotRead => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "order {order_id} has not been read from Amazon's Orders API yet (only open merchant-fulfilled \
                 orders are); try again after the next import"
            ),
        )),
        RecipientRead::Withheld => Err(ApiError::new(
            StatusCode::CONFLICT,
            "pii_withheld",
            format!(
                "Amazon withheld the buyer data of order {order_id}: the application needs the Direct-to-Consumer \
                 Shipping (Restricted) role (and Tax Invoicing or Tax Remittance for the buyer name), and the \
                 order must be unshipped, partially shipped or shipped; request the role in Solution Provider \
                 Portal, then the next import reads the order again"
            ),
        )),
        RecipientRead::Expired => Err(ApiError::new(
            StatusCode::GONE,
            "pii_expired",
            format!(
                "the buyer data of order {order_id} was removed 30 days after its delivery, as Amazon's Data \
                 Protection Policy requires"
            ),
        )),
    }
}

/// The request's idempotency key, which also names the actions it queues (a repeat queues nothing new).
fn request_key(headers: &HeaderMap) -> Option<&str> {
    headers.get(IDEMPOTENCY_HEADER).and_then(|v| v.to_str().ok())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ShipmentBody {
    #[serde(default, deserialize_with = "present")]
    carrier_code: Option<String>,
    #[serde(default, deserialize_with = "present")]
    carrier_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    shipping_method: Option<String>,
    #[serde(default, deserialize_with = "present")]
    tracking_number: Option<String>,
    #[serde(default, deserialize_with = "present")]
    ship_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "present")]
    items: Option<Vec<LineBody>>,
    #[serde(default, deserialize_with = "present")]
    ship_from: Option<ShipFrom>,
}

/// An order line in a shipment or cancellation: by `orderItemId` or by `sku`, with units (a shipment's are
/// required, a cancellation's default to the whole line).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LineBody {
    #[serde(default, deserialize_with = "present")]
    order_item_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    sku: Option<String>,
    #[serde(default, deserialize_with = "present")]
    quantity: Option<u32>,
}

/// Each line's reference, or a 400 naming the line that gives both or neither.
fn line_refs(lines: &[LineBody]) -> Result<Vec<ItemRef>, ApiError> {
    lines
        .iter()
        .enumerate()
        .map(|(index, line)| match (&line.order_item_id, &line.sku) {
            (Some(id), None) => Ok(ItemRef::OrderItemId(id.clone())),
            (None, Some(sku)) => Ok(ItemRef::Sku(sku.clone())),
            _ => Err(ApiError::invalid(
                format!("items[{index}].orderItemId"),
                "name the line by orderItemId or by sku (one of them)",
            )),
        })
        .collect()
}

pub(crate) async fn confirm_shipment(
    State(state): State<ApiState>,
    Path((id, order_id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ShipmentBody>,
) -> Answer {
    check_id("account", &id)?;
    check_id("order", &order_id)?;
    let carrier = match (body.carrier_code, body.carrier_name) {
        (Some(code), None) => match CarrierCode::find(code.trim()) {
            Some(found) if found.as_str() != "Other" => Carrier::Code(found),
            _ => {
                return Err(ApiError::invalid(
                    "carrierCode",
                    "not one of Amazon's carrier codes; give carrierName for another carrier",
                ));
            }
        },
        (None, Some(name)) => Carrier::from_name(&name),
        _ => {
            return Err(ApiError::invalid(
                "carrierCode",
                "give either carrierCode (one of Amazon's) or carrierName",
            ));
        }
    };
    let items = match body.items {
        None => ShippedItems::All,
        Some(lines) => {
            let mut named = Vec::with_capacity(lines.len());
            for (item, (index, line)) in line_refs(&lines)?.into_iter().zip(lines.iter().enumerate()) {
                let quantity = line.quantity.ok_or_else(|| {
                    ApiError::invalid(format!("items[{index}].quantity"), "required: the units shipped")
                })?;
                named.push((item, quantity));
            }
            ShippedItems::Some(state.feeds.shipped_items(&id, &order_id, &named).await?)
        }
    };
    let confirmation = ShipmentConfirmation {
        amazon_order_id: order_id.clone(),
        carrier,
        shipping_method: body.shipping_method,
        tracking_number: body.tracking_number,
        ship_date: body.ship_date.unwrap_or_else(|| state.clock.now()),
        items,
        ship_from: body.ship_from.map(Box::new),
    };
    let action = state
        .feeds
        .confirm_shipment(&id, confirmation, request_key(&headers))
        .await?;
    Ok(queued(&id, &order_id, action))
}

/// 202 with the queued order action, located at its order (which shows the action's state).
fn queued(id: &str, order_id: &str, action: FeedAction) -> Response {
    let location = format!("/accounts/{id}/orders/{order_id}");
    created(location, ActionView::from(action), StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct CancelBody {
    #[serde(default, deserialize_with = "present")]
    reason: Option<String>,
    #[serde(default)]
    items: Vec<LineBody>,
}

pub(crate) async fn cancel_order(
    State(state): State<ApiState>,
    Path((id, order_id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CancelBody>,
) -> Answer {
    check_id("account", &id)?;
    check_id("order", &order_id)?;
    let lines: Vec<_> = line_refs(&body.items)?
        .into_iter()
        .zip(body.items.iter().map(|line| line.quantity))
        .collect();
    let reason = body.reason.map(|r| r.parse::<CancelReason>()).transpose()?;
    let cancellation = state.feeds.cancellation(&id, &order_id, reason, &lines).await?;
    let action = state
        .feeds
        .cancel(&id, cancellation, request_key(&headers))
        .await?;
    Ok(queued(&id, &order_id, action))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InventoryItemBody {
    sku: String,
    quantity: u32,
    #[serde(default, deserialize_with = "present")]
    handling_time_days: Option<u32>,
    #[serde(default)]
    skip: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InventoryBody {
    items: Vec<InventoryItemBody>,
    /// Where the quantities apply; all of the account's marketplaces when absent.
    #[serde(default, deserialize_with = "present")]
    marketplace_ids: Option<Vec<String>>,
}

pub(crate) async fn set_inventory(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InventoryBody>,
) -> Answer {
    check_id("account", &id)?;
    let updates = body
        .items
        .into_iter()
        .map(|item| {
            let update = InventoryUpdate {
                sku: item.sku,
                quantity: item.quantity,
                handling_time_days: item.handling_time_days,
            };
            (update, item.skip)
        })
        .collect();
    let result = state
        .feeds
        .set_inventory(&id, updates, body.marketplace_ids, request_key(&headers))
        .await?;
    let body = serde_json::json!({
        "actions": result.actions.into_iter().map(ActionView::from).collect::<Vec<_>>(),
        "skipped": result.skipped,
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

pub(crate) async fn list_feeds(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    query: QueryParams,
) -> Answer {
    check_id("account", &id)?;
    query.only(&["limit", "nextToken"])?;
    let page = state
        .feeds
        .feed_log(&id, query.next_token()?.as_deref(), query.limit(MAX_PAGE)?)
        .await?;
    Ok(Json(PageView::of(page, FeedView::from)).into_response())
}

pub(crate) async fn get_feed(
    State(state): State<ApiState>,
    Path((id, feed_id)): Path<(String, String)>,
) -> Answer {
    check_id("account", &id)?;
    check_id("feed", &feed_id)?;
    let (submission, actions) = state.feeds.feed(&id, &feed_id).await?;
    Ok(Json(FeedView::with_actions(submission, actions)).into_response())
}

pub(crate) async fn no_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no_route",
        "no such route; see infra/openapi.yaml",
    )
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; see infra/openapi.yaml",
    )
}
