//! What the API answers: the domain's types as the OpenAPI document (`infra/openapi.yaml`) describes them,
//! in camelCase, absent optional fields left out. Nothing here holds a token.

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::Serialize;

use super::extract::encode_token;
use crate::app::health::{AccountHealth, HealthStatus, LiveCheck};
use crate::domain::ShipFrom;
use crate::domain::{
    ActionPayload, ActionState, Backfill, BackfillStatus, ConnectLink, Connection, FeedAction,
    FeedSubmission, ImportOptions, ImportSummary, ItemAmounts, JobPurpose, JobState, LinkStatus, Money,
    NotificationStatus, Order, OrderDetails, OrderItem, OrderPii, PiiAvailability, Problem, ProblemKind,
    ReportJob, ShipTo, SubmissionStatus, TimeWindow,
};
use crate::ports::{AccountRecord, Page};

/// A page of a listing.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageView<T> {
    pub(crate) items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_token: Option<String>,
}

impl<T> PageView<T> {
    pub(crate) fn of<U>(page: Page<U>, view: impl Fn(U) -> T) -> PageView<T> {
        PageView {
            items: page.items.into_iter().map(view).collect(),
            next_token: page.next.as_deref().map(encode_token),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProblemView {
    kind: ProblemKind,
    detail: String,
    at: DateTime<Utc>,
    advice: &'static str,
    needs_action: bool,
}

impl From<Problem> for ProblemView {
    fn from(problem: Problem) -> Self {
        ProblemView {
            kind: problem.kind,
            advice: problem.kind.advice(),
            needs_action: problem.kind.needs_action(),
            detail: problem.detail,
            at: problem.at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OptionsView {
    import_fba: bool,
    import_shipped: bool,
    country_filter: String,
    import_addresses: bool,
}

impl From<ImportOptions> for OptionsView {
    fn from(options: ImportOptions) -> Self {
        OptionsView {
            import_fba: options.import_fba,
            import_shipped: options.import_shipped,
            country_filter: options.country_filter.to_string(),
            import_addresses: options.import_addresses,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountStatusView {
    connection: Connection,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<ProblemView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_successful_import: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_throttled_at: Option<DateTime<Utc>>,
}

/// An account as the API shows it: never its refresh token.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountView {
    id: String,
    seller_id: String,
    region: String,
    marketplace_ids: Vec<String>,
    import_interval: String,
    options: OptionsView,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ship_from: Option<ShipFrom>,
    status: AccountStatusView,
}

impl From<AccountRecord> for AccountView {
    fn from(record: AccountRecord) -> Self {
        let AccountRecord { account, status } = record;
        AccountView {
            id: account.id,
            seller_id: account.seller_id,
            region: account.region.code().to_owned(),
            marketplace_ids: account.marketplaces,
            import_interval: account.import_interval.to_string(),
            options: account.options.into(),
            created_at: account.created_at,
            ship_from: account.ship_from,
            status: AccountStatusView {
                connection: status.connection,
                problem: status.problem.map(ProblemView::from),
                last_successful_import: status.last_successful_import,
                last_throttled_at: status.last_throttled_at,
            },
        }
    }
}

/// A connect link as the API shows it: its URL (with its secret id) only in the answer that created it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConnectLinkView {
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    region: String,
    marketplace_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    seller_id: Option<String>,
    import_interval: String,
    options: OptionsView,
    #[serde(skip_serializing_if = "Option::is_none")]
    ship_from: Option<ShipFrom>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// `open`, `expired` or `used`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    used_at: Option<DateTime<Utc>>,
}

impl ConnectLinkView {
    /// The link as it stands at `now`, with `url` when it was just created.
    pub(crate) fn of(link: ConnectLink, url: Option<String>, now: DateTime<Utc>) -> ConnectLinkView {
        let (status, account_id, used_at) = match link.status {
            LinkStatus::Used { account_id, at, .. } => ("used", Some(account_id), Some(at)),
            _ if now >= link.expires_at => ("expired", None, None),
            _ => ("open", None, None),
        };
        ConnectLinkView {
            url,
            region: link.region.code().to_owned(),
            marketplace_id: link.marketplace_id,
            seller_id: link.seller_id,
            import_interval: link.import_interval.to_string(),
            options: link.options.into(),
            ship_from: link.ship_from,
            created_at: link.created_at,
            expires_at: link.expires_at,
            status,
            account_id,
            used_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SummaryView {
    rows: u64,
    records: u64,
    written: u64,
    unchanged: u64,
    filtered: u64,
    quarantined: u64,
}

impl From<ImportSummary> for SummaryView {
    fn from(s: ImportSummary) -> Self {
        SummaryView {
            rows: s.rows,
            records: s.records,
            written: s.written,
            unchanged: s.unchanged,
            filtered: s.filtered,
            quarantined: s.quarantined,
        }
    }
}

/// A report job: what was asked, where it stands, what came of it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportJobView {
    report_id: String,
    report_type: String,
    marketplace_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_start_time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_end_time: Option<DateTime<Utc>>,
    purpose: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    backfill_id: Option<String>,
    requested_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// sellersync's state: `pending`, `parsing`, `imported`, `no_data`, `fatal`, `raw_document`, `abandoned`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    amazon_processing_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_document_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<SummaryView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl From<ReportJob> for ReportJobView {
    fn from(job: ReportJob) -> Self {
        let status = job.state.name();
        let (purpose, backfill_id) = match job.purpose {
            JobPurpose::Scheduled => ("scheduled", None),
            JobPurpose::Requested => ("requested", None),
            JobPurpose::Backfill { backfill_id } => ("backfill", Some(backfill_id)),
        };
        let document_location = match &job.state {
            JobState::RawDocument { location, .. } => location.clone(),
            _ => None,
        };
        let (amazon_status, document, summary, reason) = match job.state {
            JobState::Pending { amazon_status } => (Some(amazon_status), None, None, None),
            JobState::Parsing { document_id } | JobState::RawDocument { document_id, .. } => {
                (None, Some(document_id), None, None)
            }
            JobState::Imported { document_id, summary } => {
                (None, Some(document_id), Some(summary.into()), None)
            }
            JobState::NoData => (None, None, None, None),
            JobState::Fatal { reason } | JobState::Abandoned { reason, .. } => {
                (None, None, None, Some(reason))
            }
        };
        ReportJobView {
            report_id: job.report_id,
            report_type: job.report_type,
            marketplace_ids: job.marketplace_ids,
            data_start_time: job.window.map(|w| w.start),
            data_end_time: job.window.map(|w| w.end),
            purpose,
            backfill_id,
            requested_at: job.requested_at,
            updated_at: job.updated_at,
            status,
            amazon_processing_status: amazon_status,
            report_document_id: document,
            document_location,
            summary,
            reason,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BackfillProgressView {
    windows: usize,
    requested: usize,
    in_flight: usize,
    settled: usize,
    failed: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BackfillWindowView {
    report_type: String,
    data_start_time: DateTime<Utc>,
    data_end_time: DateTime<Utc>,
    /// `waiting` (not requested yet), `requested`, or the report's final status.
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    report_id: Option<String>,
}

/// A backfill with its progress and every window.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BackfillView {
    id: String,
    account_id: String,
    status: BackfillStatus,
    start_date: DateTime<Utc>,
    end_date: DateTime<Utc>,
    report_types: Vec<String>,
    marketplace_ids: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
    progress: BackfillProgressView,
    windows: Vec<BackfillWindowView>,
}

impl From<Backfill> for BackfillView {
    fn from(backfill: Backfill) -> Self {
        let progress = BackfillProgressView {
            windows: backfill.windows.len(),
            requested: backfill.windows.iter().filter(|w| w.job_key.is_some()).count(),
            in_flight: backfill.in_flight(),
            settled: backfill.windows.iter().filter(|w| w.outcome.is_some()).count(),
            failed: backfill.windows.iter().filter(|w| w.failed()).count(),
        };
        let status = backfill.status();
        BackfillView {
            id: backfill.id,
            account_id: backfill.account_id,
            status,
            start_date: backfill.start,
            end_date: backfill.end,
            report_types: backfill.report_types,
            marketplace_ids: backfill.marketplace_ids,
            created_at: backfill.created_at,
            updated_at: backfill.updated_at,
            last_error: backfill.last_error,
            progress,
            windows: backfill
                .windows
                .into_iter()
                .map(|w| BackfillWindowView {
                    status: match (&w.outcome, &w.job_key) {
                        (Some(outcome), _) => outcome.clone(),
                        (None, Some(_)) => "requested".to_owned(),
                        (None, None) => "waiting".to_owned(),
                    },
                    // A job key is `<requested at>#<report id>`.
                    report_id: w
                        .job_key
                        .as_deref()
                        .and_then(|key| key.rsplit_once('#'))
                        .map(|(_, id)| id.to_owned()),
                    report_type: w.report_type,
                    data_start_time: w.window.start,
                    data_end_time: w.window.end,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConnectionView {
    /// `connected`, `failed` or `skipped`.
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThrottlingView {
    #[serde(skip_serializing_if = "Option::is_none")]
    last_throttled_at: Option<DateTime<Utc>>,
    recent: bool,
}

/// An account's health.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HealthView {
    account_id: String,
    checked_at: DateTime<Utc>,
    status: HealthStatus,
    connection: ConnectionView,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<ProblemView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<ProblemView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_successful_import: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_scheduled_run: Option<DateTime<Utc>>,
    schedule_enabled: bool,
    reports_in_flight: u32,
    throttling: ThrottlingView,
    /// The subscriptions' states as the domain writes them (`checkedAt`, and per type `active` with its
    /// `subscriptionId` or `refused` with Amazon's `code` and `message`).
    #[serde(skip_serializing_if = "Option::is_none")]
    notifications: Option<NotificationStatus>,
}

impl From<AccountHealth> for HealthView {
    fn from(health: AccountHealth) -> Self {
        let connection = match health.connection {
            LiveCheck::Connected => ConnectionView {
                state: "connected",
                detail: None,
            },
            LiveCheck::Failed { kind, detail } => ConnectionView {
                state: "failed",
                detail: Some(format!("{kind}: {detail}")),
            },
            LiveCheck::Skipped { reason } => ConnectionView {
                state: "skipped",
                detail: Some(reason),
            },
        };
        HealthView {
            account_id: health.account_id,
            checked_at: health.checked_at,
            status: health.status,
            connection,
            cause: health.cause.map(ProblemView::from),
            last_error: health.last_error.map(ProblemView::from),
            last_successful_import: health.last_successful_import,
            next_scheduled_run: health.next_scheduled_run,
            schedule_enabled: health.schedule_enabled,
            reports_in_flight: health.reports_in_flight,
            throttling: ThrottlingView {
                last_throttled_at: health.last_throttled_at,
                recent: health.throttled_recently,
            },
            notifications: health.notifications,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShipToView {
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<CompactString>,
}

impl From<ShipTo> for ShipToView {
    fn from(s: ShipTo) -> Self {
        ShipToView {
            city: s.city,
            state: s.state,
            postal_code: s.postal_code,
            country: s.country,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AmountsView {
    #[serde(skip_serializing_if = "Option::is_none")]
    item_price: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_tax: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping_price: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping_tax: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gift_wrap_price: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gift_wrap_tax: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_promotion_discount: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ship_promotion_discount: Option<Money>,
}

impl From<ItemAmounts> for AmountsView {
    fn from(a: ItemAmounts) -> Self {
        AmountsView {
            item_price: a.item_price,
            item_tax: a.item_tax,
            shipping_price: a.shipping_price,
            shipping_tax: a.shipping_tax,
            gift_wrap_price: a.gift_wrap_price,
            gift_wrap_tax: a.gift_wrap_tax,
            item_promotion_discount: a.item_promotion_discount,
            ship_promotion_discount: a.ship_promotion_discount,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderItemView {
    sku: CompactString,
    #[serde(skip_serializing_if = "CompactString::is_empty")]
    asin: CompactString,
    #[serde(skip_serializing_if = "CompactString::is_empty")]
    product_name: CompactString,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_status: Option<CompactString>,
    quantity: u32,
    amounts: AmountsView,
    promotion_ids: Vec<CompactString>,
}

impl From<OrderItem> for OrderItemView {
    fn from(item: OrderItem) -> Self {
        OrderItemView {
            sku: item.sku,
            asin: item.asin,
            product_name: item.product_name,
            item_status: item.item_status,
            quantity: item.quantity,
            amounts: item.amounts.into(),
            promotion_ids: item.promotion_ids,
        }
    }
}

/// An order with its items.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderView {
    amazon_order_id: CompactString,
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant_order_id: Option<CompactString>,
    purchase_date: DateTime<Utc>,
    last_updated: DateTime<Utc>,
    status: String,
    fulfillment_channel: String,
    sales_channel: CompactString,
    #[serde(skip_serializing_if = "Option::is_none")]
    marketplace_id: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ship_service_level: Option<CompactString>,
    ship_to: ShipToView,
    is_business_order: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    purchase_order_number: Option<CompactString>,
    items: Vec<OrderItemView>,
    /// Shipment confirmations sent (or on their way) to Amazon, oldest first.
    shipments: Vec<ActionView>,
    /// Cancellations sent (or on their way) to Amazon, oldest first.
    cancellations: Vec<ActionView>,
    /// What a seller ships from, once `getOrder` read the order (merchant-fulfilled orders left to ship).
    #[serde(skip_serializing_if = "Option::is_none")]
    shipping: Option<ShippingView>,
}

/// An order's shipping details from the Orders API; no PII (that is `.../recipient`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShippingView {
    last_updated: DateTime<Utc>,
    fulfillment_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fulfilled_by: Option<String>,
    ship_by: TimeWindow,
    deliver_by: TimeWindow,
    programs: Vec<String>,
    is_prime: bool,
    is_business: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    purchase_order_number: Option<String>,
    items: Vec<ShippableItemView>,
    /// `given` or `withheld` (the application lacks the role, or the status did not allow it).
    pii: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShippableItemView {
    order_item_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sku: Option<String>,
    quantity_ordered: u32,
    quantity_shipped: u32,
    quantity_left: u32,
    programs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gift_wrap_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancellation_request: Option<CancellationRequestView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancellationRequestView {
    #[serde(skip_serializing_if = "Option::is_none")]
    requester: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl From<OrderDetails> for ShippingView {
    fn from(d: OrderDetails) -> Self {
        ShippingView {
            is_prime: d.is_prime(),
            is_business: d.is_business(),
            last_updated: d.last_updated,
            fulfillment_status: d.fulfillment_status,
            fulfilled_by: d.fulfilled_by,
            ship_by: d.ship_by,
            deliver_by: d.deliver_by,
            programs: d.programs,
            purchase_order_number: d.purchase_order_number,
            items: d
                .items
                .into_iter()
                .map(|i| ShippableItemView {
                    order_item_id: i.order_item_id,
                    sku: i.sku,
                    quantity_ordered: i.quantity_ordered,
                    quantity_shipped: i.quantity_shipped,
                    quantity_left: i.quantity_left,
                    programs: i.programs,
                    gift_wrap_level: i.gift_wrap_level,
                    cancellation_request: i.cancellation_request.map(|r| CancellationRequestView {
                        requester: r.requester,
                        reason: r.reason,
                    }),
                })
                .collect(),
            pii: match d.pii {
                PiiAvailability::Given => "given",
                PiiAvailability::Withheld => "withheld",
            },
        }
    }
}

/// An order's buyer PII (`GET .../orders/{orderId}/recipient`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecipientView {
    amazon_order_id: String,
    expires_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    buyer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    buyer_email: Option<String>,
    address: PostalAddressView,
    gift_messages: Vec<ItemTextView>,
    customized_urls: Vec<ItemTextView>,
}

impl std::fmt::Debug for RecipientView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecipientView")
            .field("amazon_order_id", &self.amazon_order_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostalAddressView {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address_line3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_or_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ItemTextView {
    order_item_id: String,
    value: String,
}

impl RecipientView {
    pub(crate) fn new(pii: OrderPii, expires_at: DateTime<Utc>) -> Self {
        let a = pii.buyer.ship_to;
        let items = |list: Vec<(String, String)>| {
            list.into_iter()
                .map(|(order_item_id, value)| ItemTextView { order_item_id, value })
                .collect()
        };
        RecipientView {
            amazon_order_id: pii.buyer.amazon_order_id,
            expires_at,
            buyer_name: pii.buyer.buyer_name,
            buyer_email: pii.buyer.buyer_email,
            address: PostalAddressView {
                name: a.name,
                address_line1: a.address_1,
                address_line2: a.address_2,
                address_line3: a.address_3,
                city: a.city,
                state_or_region: a.state,
                postal_code: a.postal_code,
                country_code: a.country,
                phone: a.phone,
            },
            gift_messages: items(pii.gift_messages),
            customized_urls: items(pii.customized_urls),
        }
    }
}

impl OrderView {
    /// The order with its feed actions and its shipping details, when `getOrder` read them.
    pub(crate) fn with_details(
        order: Order,
        actions: Vec<FeedAction>,
        details: Option<OrderDetails>,
    ) -> Self {
        let mut view = OrderView::from(order);
        view.shipping = details.map(ShippingView::from);
        for action in actions {
            match action.payload {
                ActionPayload::Shipment(_) => view.shipments.push(ActionView::from(action)),
                ActionPayload::Cancellation(_) => view.cancellations.push(ActionView::from(action)),
                ActionPayload::Inventory(_) => {}
            }
        }
        view
    }
}

/// A seller action and where it stands at Amazon.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActionView {
    id: String,
    /// `queued`, `submitted`, `accepted` or `rejected`.
    state: &'static str,
    /// The marketplace whose feed carries it: its result is that marketplace's.
    #[serde(skip_serializing_if = "Option::is_none")]
    marketplace_id: Option<String>,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    submitted_at: Option<DateTime<Utc>>,
    /// The feed log entry that carried it.
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<u32>,
    /// Amazon's result code and text, when rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    /// What was asked for.
    request: ActionPayload,
}

impl From<FeedAction> for ActionView {
    fn from(action: FeedAction) -> Self {
        let state = action.state.name();
        let (feed_id, message_id, code, text, warnings) = match action.state {
            ActionState::Queued => (None, None, None, None, Vec::new()),
            ActionState::Submitted {
                submission_id,
                message_id,
            } => (Some(submission_id), Some(message_id), None, None, Vec::new()),
            ActionState::Accepted {
                submission_id,
                message_id,
                warnings,
            } => (Some(submission_id), Some(message_id), None, None, warnings),
            ActionState::Rejected {
                submission_id,
                message_id,
                code,
                text,
            } => (
                Some(submission_id),
                Some(message_id),
                Some(code),
                Some(text),
                Vec::new(),
            ),
        };
        ActionView {
            id: action.id,
            state,
            marketplace_id: action.marketplace_id,
            created_at: action.created_at,
            submitted_at: action.submitted_at,
            feed_id,
            message_id,
            code,
            text,
            warnings,
            request: action.payload,
        }
    }
}

/// A feed of the feed log.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FeedView {
    id: String,
    feed_type: &'static str,
    /// The one marketplace the feed went to.
    #[serde(skip_serializing_if = "Option::is_none")]
    marketplace_id: Option<String>,
    /// Amazon's feed id, once Amazon gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    amazon_feed_id: Option<String>,
    /// `submitting`, `submitted`, `done` or `failed`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    amazon_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    messages: usize,
    submitted_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Its actions with their results (single feed only).
    #[serde(skip_serializing_if = "Option::is_none")]
    actions: Option<Vec<ActionView>>,
}

impl From<FeedSubmission> for FeedView {
    fn from(submission: FeedSubmission) -> Self {
        let status = submission.status.name();
        let (amazon_status, accepted, rejected, reason) = match submission.status {
            // Why Amazon has not taken it yet, once an attempt failed.
            SubmissionStatus::Submitting => (
                None,
                None,
                None,
                submission.last_error.map(|error| {
                    format!(
                        "{} failed attempts so far; the last: {error}",
                        submission.failed_attempts
                    )
                }),
            ),
            SubmissionStatus::Submitted { amazon_status } => (Some(amazon_status), None, None, None),
            SubmissionStatus::Done { accepted, rejected } => (None, Some(accepted), Some(rejected), None),
            SubmissionStatus::Failed { reason } => (None, None, None, Some(reason)),
        };
        FeedView {
            id: submission.id,
            feed_type: submission.feed_type.as_str(),
            marketplace_id: submission.marketplace_id,
            amazon_feed_id: submission.feed_id,
            status,
            amazon_status,
            accepted,
            rejected,
            reason,
            messages: submission.messages.len(),
            submitted_at: submission.started_at,
            updated_at: submission.updated_at,
            actions: None,
        }
    }
}

impl FeedView {
    /// The feed with its actions.
    pub(crate) fn with_actions(submission: FeedSubmission, actions: Vec<FeedAction>) -> Self {
        FeedView {
            actions: Some(actions.into_iter().map(ActionView::from).collect()),
            ..FeedView::from(submission)
        }
    }
}

impl From<Order> for OrderView {
    fn from(order: Order) -> Self {
        OrderView {
            amazon_order_id: order.amazon_order_id,
            merchant_order_id: order.merchant_order_id,
            purchase_date: order.purchase_date,
            last_updated: order.last_updated,
            status: order.status.as_str().to_owned(),
            fulfillment_channel: order.fulfillment_channel.as_str().to_owned(),
            sales_channel: order.sales_channel,
            marketplace_id: order.marketplace_id,
            ship_service_level: order.ship_service_level,
            ship_to: order.ship_to.into(),
            is_business_order: order.is_business_order,
            purchase_order_number: order.purchase_order_number,
            items: order.items.into_iter().map(OrderItemView::from).collect(),
            shipments: Vec::new(),
            cancellations: Vec::new(),
            shipping: None,
        }
    }
}
