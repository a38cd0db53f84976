//! The route handlers: read the request, call a use case, shape the answer. No logic of their own.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::ApiState;
use super::error::ApiError;
use super::extract::{JsonBody, QueryParams, check_id};
use super::views::{AccountView, BackfillView, HealthView, OrderView, PageView, ReportJobView};
use crate::app::accounts::{AccountChanges, NewAccount, RefreshToken};
use crate::app::orders::MAX_PAGE as MAX_ORDERS_PAGE;
use crate::app::reports::{BackfillRequest, ReportRequest};
use crate::domain::{
    CountryFilter, FulfillmentChannel, ImportInterval, ImportOptions, Marketplace, OrderStatus, Region,
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
    };
    let record = state.accounts.update(&id, changes).await?;
    Ok(Json(AccountView::from(record)).into_response())
}

pub(crate) async fn delete_account(State(state): State<ApiState>, Path(id): Path<String>) -> Answer {
    check_id("account", &id)?;
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
    Ok(Json(OrderView::from(order)).into_response())
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
