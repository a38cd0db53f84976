//! Orders API v2026-01-01: `getOrder` and `searchOrders`, answered from the same generated truth as the reports
//! (issue 17: a report row and getOrder never disagree about an order's status, items or last update).
//!
//! Model: `spapi-models/models/orders-api-model/orders_2026-01-01.json`. PII follows Amazon's "Access Orders PII"
//! page (https://developer-docs.amazon.com/sp-api/docs/access-orders-pii): no Restricted Data Token; each PII field
//! (buyer name and e-mail, gift message, `customizedUrl`, the delivery address's name, lines, postal code and
//! phone) only for an application holding the role, on a merchant-fulfilled order in `UNSHIPPED`,
//! `PARTIALLY_SHIPPED` or `SHIPPED` status. Without them the fields are simply absent, the call still succeeds.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::generator::{Channel, GenOrder, OrderState};
use super::server::ApiError;
use super::state::World;

/// The `includedData` values of the model (searchOrders and getOrder parameters).
const DATASETS: [&str; 11] = [
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
];

/// The `fulfillmentStatuses` values of the model.
const STATUSES: [&str; 7] = [
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
];

/// Marketplaces in the EU VAT area, where IOSS applies.
const EU_VAT: [&str; 8] = ["DE", "FR", "IT", "ES", "NL", "SE", "PL", "BE"];

/// Amazon's IOSS number (Amazon EU S.à r.l.), shown as the marketplace's registration on EU orders it collects
/// import VAT for.
const AMAZON_IOSS: &str = "IM4420001201";

fn invalid(message: impl Into<String>) -> ApiError {
    // The model's 400 example: `InvalidInput` with the problem in the message.
    ApiError::new(400, "InvalidInput", message).details("")
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// FNV-1a of an order id: the extras (promises, gift messages, requests) are drawn from it rather than from the
/// generator's random stream, so existing seeds keep their reports byte-identical.
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// An order as the API shows it at `at`: the latest event the API shows by then (about two minutes after it
/// happened, see `api_delay`; reports show it 30 minutes to a day after), so an order exists for the API
/// well before any report has it.
struct View<'a> {
    order: &'a GenOrder,
    state: OrderState,
    updated: DateTime<Utc>,
    at: DateTime<Utc>,
}

impl<'a> View<'a> {
    fn of(order: &'a GenOrder, at: DateTime<Utc>) -> Option<Self> {
        let event = order.api_event_at(at)?;
        Some(View {
            order,
            state: event.state,
            updated: event.at,
            at,
        })
    }

    fn shipped_units(&self, item: usize) -> u32 {
        let item = &self.order.items[item];
        match self.state {
            OrderState::Shipped => item.quantity,
            OrderState::Cancelled | OrderState::Pending => 0,
            OrderState::Unshipped => self
                .order
                .shipped_units(&item.order_item_id, self.at)
                .min(item.quantity),
        }
    }

    /// `FulfillmentStatus`: `PARTIALLY_SHIPPED` when feeds shipped some units of an unshipped order.
    fn status(&self) -> &'static str {
        match self.state {
            OrderState::Pending => "PENDING",
            OrderState::Shipped => "SHIPPED",
            OrderState::Cancelled => "CANCELLED",
            OrderState::Unshipped => {
                if (0..self.order.items.len()).any(|i| self.shipped_units(i) > 0) {
                    "PARTIALLY_SHIPPED"
                } else {
                    "UNSHIPPED"
                }
            }
        }
    }

    /// Some unshipped merchant orders carry a buyer's cancellation request (about one in ten).
    fn buyer_cancel_request(&self) -> bool {
        self.order.channel == Channel::Mfn
            && self.status() == "UNSHIPPED"
            && (hash(&self.order.amazon_order_id) >> 16).is_multiple_of(10)
    }
}

/// The PII page's "other conditions": merchant-fulfilled, in UNSHIPPED, PARTIALLY_SHIPPED or SHIPPED.
fn pii_allowed(world: &World, caller: &Caller, view: &View<'_>) -> bool {
    !world.pii_withheld.contains(&caller.seller)
        && view.order.channel == Channel::Mfn
        && matches!(view.status(), "UNSHIPPED" | "PARTIALLY_SHIPPED" | "SHIPPED")
}

fn render(view: &View<'_>, included: &[&str], pii: bool) -> Value {
    let order = view.order;
    let h = hash(&order.amazon_order_id);
    let has = |d: &str| included.contains(&d);
    let mut out = Map::new();
    out.insert("orderId".into(), json!(order.amazon_order_id));
    out.insert("createdTime".into(), json!(iso(order.purchase_date)));
    out.insert("lastUpdatedTime".into(), json!(iso(view.updated)));
    let mut programs = Vec::new();
    if order.is_prime {
        programs.push("PRIME");
    }
    if order.is_business_order {
        programs.push("AMAZON_BUSINESS");
    }
    if !programs.is_empty() {
        out.insert("programs".into(), json!(programs));
    }
    out.insert(
        "salesChannel".into(),
        json!({
            "channelName": if order.sales_channel == "Non-Amazon" { "NON_AMAZON" } else { "AMAZON" },
            "marketplaceId": order.marketplace.id,
            "marketplaceName": order.sales_channel,
        }),
    );
    if has("BUYER") {
        let mut buyer = Map::new();
        if pii {
            buyer.insert("buyerName".into(), json!(order.buyer_name));
            buyer.insert("buyerEmail".into(), json!(order.buyer_email));
        }
        if !order.purchase_order_number.is_empty() {
            buyer.insert(
                "buyerPurchaseOrderNumber".into(),
                json!(order.purchase_order_number),
            );
        }
        out.insert("buyer".into(), Value::Object(buyer));
    }
    if has("RECIPIENT") {
        let a = &order.address;
        let mut address = Map::new();
        if pii {
            address.insert("name".into(), json!(a.name));
            address.insert("addressLine1".into(), json!(a.line1));
            if !a.line2.is_empty() {
                address.insert("addressLine2".into(), json!(a.line2));
            }
            address.insert("postalCode".into(), json!(a.postal_code));
            address.insert("phone".into(), json!(a.phone));
        }
        address.insert("city".into(), json!(a.city));
        if !a.state.is_empty() {
            address.insert("stateOrRegion".into(), json!(a.state));
        }
        address.insert("countryCode".into(), json!(a.country));
        let kind = if order.is_business_order {
            "COMMERCIAL"
        } else {
            "RESIDENTIAL"
        };
        address.insert("addressType".into(), json!(kind));
        out.insert("recipient".into(), json!({ "deliveryAddress": address }));
    }
    if has("TAX") && EU_VAT.contains(&order.marketplace.country) && (h >> 24).is_multiple_of(8) {
        out.insert(
            "tax".into(),
            json!({"taxRegistrations": [{
                "entityType": "MARKETPLACE",
                "taxRegistrationType": "IOSS",
                "taxRegistrationNumber": AMAZON_IOSS,
            }]}),
        );
    }
    if has("FULFILLMENT") {
        // Promises: ship within one or two days of the purchase, deliver within three to seven.
        let ship_by = order.purchase_date + TimeDelta::days(1 + (h % 2) as i64);
        let deliver_from = order.purchase_date + TimeDelta::days(3);
        let deliver_by = deliver_from + TimeDelta::days(1 + ((h >> 4) % 4) as i64);
        out.insert(
            "fulfillment".into(),
            json!({
                "fulfillmentStatus": view.status(),
                "fulfilledBy": if order.channel == Channel::Afn { "AMAZON" } else { "MERCHANT" },
                "fulfillmentServiceLevel": order.ship_service_level,
                "shipByWindow": {"earliestDateTime": iso(order.purchase_date), "latestDateTime": iso(ship_by)},
                "deliverByWindow": {"earliestDateTime": iso(deliver_from), "latestDateTime": iso(deliver_by)},
            }),
        );
    }
    let items: Vec<Value> = order
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut product = Map::new();
            product.insert("asin".into(), json!(item.asin));
            product.insert("title".into(), json!(item.product_name));
            product.insert("sellerSku".into(), json!(item.sku));
            // Amazon Custom: some merchant items carry the customisation's archive.
            let custom = order.channel == Channel::Mfn && (hash(&item.order_item_id) >> 8).is_multiple_of(12);
            if custom && pii {
                product.insert(
                    "customization".into(),
                    json!({"customizedUrl": format!(
                        "https://zme-caps.amazon.com/t/{}/{}.zip",
                        order.amazon_order_id, item.order_item_id
                    )}),
                );
            }
            let mut line = Map::new();
            line.insert("orderItemId".into(), json!(item.order_item_id));
            line.insert("quantityOrdered".into(), json!(item.quantity));
            line.insert("product".into(), Value::Object(product));
            if has("PROMOTION") && !item.promotion_ids.is_empty() {
                let breakdowns: Vec<Value> = item
                    .promotion_ids
                    .iter()
                    .map(|id| json!({"promotionId": id}))
                    .collect();
                line.insert("promotion".into(), json!({ "breakdowns": breakdowns }));
            }
            if has("CANCELLATION") {
                let mut cancellation = Map::new();
                if view.buyer_cancel_request() {
                    cancellation.insert(
                        "cancellationRequest".into(),
                        json!({"requester": "BUYER", "cancelReason": "Order placed by mistake"}),
                    );
                }
                let fed = order
                    .feed_cancellations
                    .iter()
                    .filter(|c| c.at <= view.at)
                    .flat_map(|c| &c.items)
                    .find(|(id, ..)| *id == item.order_item_id);
                if let Some((_, _, reason)) = fed {
                    let mut execution = Map::new();
                    execution.insert("cancelledBy".into(), json!("MERCHANT"));
                    if let Some(reason) = reason {
                        execution.insert("cancelReason".into(), json!(reason));
                    }
                    cancellation.insert("cancellationExecution".into(), Value::Object(execution));
                }
                if !cancellation.is_empty() {
                    line.insert("cancellation".into(), Value::Object(cancellation));
                }
            }
            if has("FULFILLMENT") {
                let shipped = view.shipped_units(i);
                let unfulfilled = if view.state == OrderState::Cancelled {
                    0
                } else {
                    item.quantity.saturating_sub(shipped)
                };
                let mut fulfillment = Map::new();
                fulfillment.insert("quantityFulfilled".into(), json!(shipped));
                fulfillment.insert("quantityUnfulfilled".into(), json!(unfulfilled));
                if i == 0 && h.is_multiple_of(10) {
                    let mut gift = Map::new();
                    if pii {
                        gift.insert("giftMessage".into(), json!("Happy birthday! Love, Sam"));
                    }
                    gift.insert("giftWrapLevel".into(), json!("STANDARD"));
                    fulfillment.insert("packing".into(), json!({ "giftOption": gift }));
                }
                line.insert("fulfillment".into(), Value::Object(fulfillment));
            }
            Value::Object(line)
        })
        .collect();
    out.insert("orderItems".into(), Value::Array(items));
    if has("PACKAGES") {
        let packages: Vec<Value> = order
            .feed_shipments
            .iter()
            .filter(|s| s.at <= view.at)
            .map(|s| {
                let mut p = Map::new();
                p.insert("packageReferenceId".into(), json!(s.feed_id));
                p.insert("createdTime".into(), json!(iso(s.at)));
                p.insert("packageStatus".into(), json!({"status": "SHIPPED"}));
                p.insert(
                    "carrier".into(),
                    json!(s.carrier_name.clone().unwrap_or_else(|| s.carrier_code.clone())),
                );
                p.insert("shipTime".into(), json!(iso(s.ship_date)));
                if let Some(method) = &s.shipping_method {
                    p.insert("shippingService".into(), json!(method));
                }
                if let Some(tracking) = &s.tracking_number {
                    p.insert("trackingNumber".into(), json!(tracking));
                }
                let items: Vec<Value> = s
                    .items
                    .iter()
                    .map(|(id, units)| json!({"orderItemId": id, "quantity": units}))
                    .collect();
                p.insert("packageItems".into(), Value::Array(items));
                Value::Object(p)
            })
            .collect();
        if !packages.is_empty() {
            out.insert("packages".into(), Value::Array(packages));
        }
    }
    Value::Object(out)
}

/// Values of an array parameter: repeated keys and comma-separated lists both count.
fn values<'p>(pairs: &'p [(String, String)], name: &str) -> Vec<&'p str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect()
}

fn single<'p>(pairs: &'p [(String, String)], name: &str) -> Option<&'p str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn included(pairs: &[(String, String)]) -> Result<Vec<&str>, ApiError> {
    let wanted = values(pairs, "includedData");
    if let Some(bad) = wanted.iter().find(|v| !DATASETS.contains(v)) {
        return Err(invalid(format!("Invalid includedData value: {bad}")));
    }
    Ok(wanted)
}

fn date(pairs: &[(String, String)], name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    single(pairs, name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| invalid(format!("{name} must be an ISO 8601 date-time")))
        })
        .transpose()
}

/// `getOrder`: 404 for an order the seller does not have (or reports do not show yet).
pub(crate) fn get_order(
    world: &World,
    caller: &Caller,
    order_id: &str,
    pairs: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let included = included(pairs)?;
    let seller = &world.sellers[&caller.seller];
    let not_found = || ApiError::new(404, "NotFound", format!("Order {order_id} not found")).details("");
    let order = seller
        .generated
        .order_index
        .get(order_id)
        .map(|&i| &seller.generated.orders[i])
        .ok_or_else(not_found)?;
    let view = View::of(order, now).ok_or_else(not_found)?;
    let pii = pii_allowed(world, caller, &view);
    Ok(json!({ "order": render(&view, &included, pii) }))
}

/// `searchOrders` with the model's parameter rules.
pub(crate) fn search_orders(
    world: &World,
    caller: &Caller,
    pairs: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let included = included(pairs)?;
    let created_after = date(pairs, "createdAfter")?;
    let created_before = date(pairs, "createdBefore")?;
    let updated_after = date(pairs, "lastUpdatedAfter")?;
    let updated_before = date(pairs, "lastUpdatedBefore")?;
    // "You must provide exactly one of createdAfter and lastUpdatedAfter"; neither may be mixed with the
    // other's Before; Before must be at or after After and at least two minutes before the request.
    let latest = now - TimeDelta::minutes(2);
    let (by_update, after, before) = match (created_after, updated_after) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(invalid(
                "Exactly one of createdAfter and lastUpdatedAfter must be provided",
            ));
        }
        (Some(after), None) => {
            if updated_before.is_some() {
                return Err(invalid("lastUpdatedBefore cannot be provided with createdAfter"));
            }
            (false, after, created_before)
        }
        (None, Some(after)) => {
            if created_before.is_some() {
                return Err(invalid("createdBefore cannot be provided with lastUpdatedAfter"));
            }
            (true, after, updated_before)
        }
    };
    if let Some(before) = before {
        if before < after {
            return Err(invalid(
                "The Before date must be equal to or after the After date",
            ));
        }
        if before > latest {
            return Err(invalid(
                "The Before date must be at least two minutes before the time of the request",
            ));
        }
    }
    if after > latest {
        return Err(invalid(
            "The After date must be at least two minutes before the time of the request",
        ));
    }
    let before = before.unwrap_or(latest);
    let statuses = values(pairs, "fulfillmentStatuses");
    if let Some(bad) = statuses.iter().find(|v| !STATUSES.contains(v)) {
        return Err(invalid(format!("Invalid fulfillmentStatuses value: {bad}")));
    }
    let fulfilled_by = values(pairs, "fulfilledBy");
    if let Some(bad) = fulfilled_by.iter().find(|v| !["MERCHANT", "AMAZON"].contains(v)) {
        return Err(invalid(format!("Invalid fulfilledBy value: {bad}")));
    }
    let marketplaces = values(pairs, "marketplaceIds");
    if marketplaces.len() > 50 {
        return Err(invalid("marketplaceIds takes at most 50 values"));
    }
    let page_size = match single(pairs, "maxResultsPerPage") {
        None => 100,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => n,
            _ => return Err(invalid("maxResultsPerPage must be between 1 and 100")),
        },
    };
    // The token binds the query it continues (everything but the token itself) and the offset reached.
    let fingerprint = hash(
        &pairs
            .iter()
            .filter(|(k, _)| k != "paginationToken")
            .map(|(k, v)| format!("{k}={v}&"))
            .collect::<String>(),
    );
    let offset = match single(pairs, "paginationToken") {
        None => 0,
        Some(token) => token
            .strip_prefix(&format!("{fingerprint:016x}"))
            .and_then(|rest| rest.parse::<usize>().ok())
            .ok_or_else(|| invalid("Invalid paginationToken"))?,
    };
    let seller = &world.sellers[&caller.seller];
    let mut selected: Vec<View<'_>> = seller
        .generated
        .orders
        .iter()
        .filter_map(|order| View::of(order, now))
        .filter(|v| marketplaces.is_empty() || marketplaces.contains(&v.order.marketplace.id))
        .filter(|v| {
            let by = if v.order.channel == Channel::Afn {
                "AMAZON"
            } else {
                "MERCHANT"
            };
            fulfilled_by.is_empty() || fulfilled_by.contains(&by)
        })
        .filter(|v| statuses.is_empty() || statuses.contains(&v.status()))
        .filter(|v| {
            let t = if by_update {
                v.updated
            } else {
                v.order.purchase_date
            };
            after <= t && t <= before
        })
        .collect();
    selected.sort_by(|a, b| {
        let key = |v: &View<'_>| {
            if by_update {
                v.updated
            } else {
                v.order.purchase_date
            }
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.order.amazon_order_id.cmp(&b.order.amazon_order_id))
    });
    let page: Vec<Value> = selected
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|v| render(v, &included, pii_allowed(world, caller, v)))
        .collect();
    let mut out = Map::new();
    out.insert("orders".into(), Value::Array(page));
    if offset + page_size < selected.len() {
        out.insert(
            "pagination".into(),
            json!({"nextToken": format!("{fingerprint:016x}{}", offset + page_size)}),
        );
    }
    let key = if by_update {
        "lastUpdatedBefore"
    } else {
        "createdBefore"
    };
    out.insert(key.into(), json!(iso(before)));
    Ok(Value::Object(out))
}

/// The buyer and recipient PII the sandbox's sellers hold, for tests that grep logs for it.
pub(crate) fn pii_values(world: &World, seller_id: &str) -> Option<Vec<String>> {
    let seller = world.sellers.get(seller_id)?;
    let mut values: Vec<String> = seller
        .generated
        .orders
        .iter()
        .flat_map(|o| {
            [
                o.buyer_name.clone(),
                o.buyer_email.clone(),
                o.address.name.clone(),
                o.address.line1.clone(),
                o.address.line2.clone(),
                o.address.phone.clone(),
            ]
        })
        .filter(|v| !v.is_empty())
        .collect();
    values.sort();
    values.dedup();
    Some(values)
}
