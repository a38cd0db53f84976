//! Report documents as Amazon writes them: which orders a report holds at a given instant, and the flat-file
//! or XML text of each report type, in the seller's layout and the marketplace's conventions.

use super::marketplaces::Marketplace;
use chrono::{DateTime, TimeDelta, Utc};

use super::generator::{Channel, GenItem, GenOrder, GeneratedSeller, OrderState, ReportStyle};
use super::locales::{self, Charset};
use super::report_types::Rendering;

/// What a report asks for.
#[derive(Debug, Clone)]
pub(crate) struct ReportQuery<'a> {
    pub(crate) rendering: Rendering,
    pub(crate) report_type: &'a str,
    pub(crate) marketplace_ids: &'a [String],
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: DateTime<Utc>,
    /// The instant the report is produced: only events visible by then are in it.
    pub(crate) at: DateTime<Utc>,
}

/// A report's text before encoding, with what it holds.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub(crate) text: String,
    pub(crate) charset: Charset,
    pub(crate) content_type: String,
    /// Orders in the report with the state it shows for each.
    pub(crate) orders: Vec<(String, OrderState)>,
}

/// Renders a report, or `None` when it would hold no data (Amazon then cancels it).
pub(crate) fn render(seller: &GeneratedSeller, query: &ReportQuery<'_>) -> Option<Rendered> {
    let marketplaces: Vec<&'static Marketplace> = query
        .marketplace_ids
        .iter()
        .filter_map(|id| Marketplace::by_id(id))
        .collect();
    let in_marketplaces = |order: &&GenOrder| marketplaces.iter().any(|m| m.id == order.marketplace.id);
    let in_window = |t: DateTime<Utc>| query.start <= t && t <= query.end;
    let charset = Charset::of_all(marketplaces.iter().copied());
    let style = &seller.style;

    let (text, orders) = match query.rendering {
        Rendering::AllOrdersFlat { by_order_date } | Rendering::AllOrdersXml { by_order_date } => {
            let mut selected: Vec<(&GenOrder, OrderState, DateTime<Utc>)> = seller
                .orders
                .iter()
                .filter(in_marketplaces)
                .filter_map(|order| {
                    let event = order.visible_event_at(query.at)?;
                    let selected_by = if by_order_date {
                        order.purchase_date
                    } else {
                        event.at
                    };
                    in_window(selected_by).then_some((order, event.state, event.at))
                })
                .collect();
            selected.sort_by_key(|(order, _, updated)| {
                if by_order_date {
                    order.purchase_date
                } else {
                    *updated
                }
            });
            if selected.is_empty() {
                return None;
            }
            let orders = selected
                .iter()
                .map(|(o, s, _)| (o.amazon_order_id.clone(), *s))
                .collect();
            if matches!(query.rendering, Rendering::AllOrdersXml { .. }) {
                let charset = if style.xml_latin1 && charset == Charset::Cp1252 {
                    Charset::Latin1
                } else {
                    Charset::Utf8
                };
                let text = all_orders_xml(&selected, charset.label());
                return Some(Rendered {
                    text,
                    charset,
                    content_type: format!("text/xml; charset={}", charset.label()),
                    orders,
                });
            }
            let columns = if by_order_date {
                &style.all_orders_by_order_date
            } else {
                &style.all_orders_by_last_update
            };
            let rows = selected.iter().flat_map(|(order, state, updated)| {
                order
                    .items
                    .iter()
                    .map(move |item| all_orders_row(columns, order, item, *state, *updated))
            });
            (flat_file(style, charset, columns, rows), orders)
        }
        Rendering::Actionable => {
            let selected: Vec<&GenOrder> = seller
                .orders
                .iter()
                .filter(in_marketplaces)
                .filter(|order| order.channel == Channel::Mfn && in_window(order.purchase_date))
                .filter(|order| {
                    order.visible_event_at(query.at).map(|e| e.state) == Some(OrderState::Unshipped)
                })
                .collect();
            if selected.is_empty() {
                return None;
            }
            let columns = &style.actionable;
            // Lines the seller has shipped or cancelled in full through feeds are no longer actionable.
            let rows = selected.iter().flat_map(|order| {
                order
                    .items
                    .iter()
                    .filter(|item| {
                        let done = order.shipped_units(&item.order_item_id, query.at)
                            + order.cancelled_units(&item.order_item_id, query.at);
                        done < item.quantity
                    })
                    .map(|item| actionable_row(columns, order, item, query.at))
            });
            let text = flat_file(style, charset, columns, rows);
            (
                text,
                selected
                    .iter()
                    .map(|o| (o.amazon_order_id.clone(), OrderState::Unshipped))
                    .collect(),
            )
        }
        Rendering::FbaShipments => {
            let selected: Vec<&GenOrder> = seller
                .orders
                .iter()
                .filter(in_marketplaces)
                .filter(|order| order.channel == Channel::Afn && order.sales_channel != "Non-Amazon")
                .filter(|order| {
                    order
                        .shipped_event()
                        .is_some_and(|shipped| shipped.visible_at <= query.at && in_window(shipped.at))
                })
                .collect();
            if selected.is_empty() {
                return None;
            }
            let columns = &style.fba_shipments;
            let rows = selected.iter().flat_map(|order| {
                order
                    .items
                    .iter()
                    .map(|item| fba_shipment_row(columns, order, item))
            });
            let text = flat_file(style, charset, columns, rows);
            (
                text,
                selected
                    .iter()
                    .map(|o| (o.amazon_order_id.clone(), OrderState::Shipped))
                    .collect(),
            )
        }
        Rendering::Catalog => {
            let marketplace = marketplaces.first().copied()?;
            (
                catalog_report(seller, style, charset, marketplace, query.report_type),
                Vec::new(),
            )
        }
    };
    Some(Rendered {
        text,
        charset,
        content_type: format!("text/plain; charset={}", charset.label()),
        orders,
    })
}

/// A flat file: header and rows joined by tabs, the seller's line ends, and a BOM for UTF-8 when the seller's
/// reports carry one.
fn flat_file(
    style: &ReportStyle,
    charset: Charset,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> String {
    let eol = if style.crlf { "\r\n" } else { "\n" };
    let mut text = String::new();
    if style.bom && charset == Charset::Utf8 {
        text.push('\u{feff}');
    }
    text.push_str(&columns.join("\t"));
    text.push_str(eol);
    for mut row in rows {
        if style.ragged {
            let kept = row
                .iter()
                .rposition(|cell| !cell.is_empty())
                .map_or(1, |last| last + 1);
            row.truncate(kept);
        }
        for cell in &mut row {
            // A cell that spans lines is quoted, its quotes doubled, as in the reference unshipped-orders file.
            if cell.contains('\n') {
                *cell = format!("\"{}\"", cell.replace('"', "\"\""));
            }
        }
        text.push_str(&row.join("\t"));
        text.push_str(eol);
    }
    if style.trailing_blank_line {
        text.push_str(eol);
    }
    text
}

/// `2022-07-18T18:52:47+00:00`, as order-tracking reports write dates.
pub(crate) fn utc_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// An amount in minor units as reports write it: `14.99`, `-2.00`, `1980`.
pub(crate) fn money(minor: i64, decimals: u32) -> String {
    if decimals == 0 {
        return minor.to_string();
    }
    let sign = if minor < 0 { "-" } else { "" };
    let scale = 10_i64.pow(decimals);
    let abs = minor.abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = decimals as usize
    )
}

/// Whether the order's amounts are shown: not for MFN orders still pending (Amazon hides self-fulfilled prices
/// until payment), nor for orders cancelled before they were paid.
fn amounts_shown(order: &GenOrder, state: OrderState) -> bool {
    let was_paid = order.events.iter().any(|e| e.state == OrderState::Unshipped);
    match state {
        OrderState::Pending => order.channel == Channel::Afn,
        OrderState::Cancelled => was_paid,
        OrderState::Unshipped | OrderState::Shipped => true,
    }
}

fn all_orders_row(
    columns: &[&str],
    order: &GenOrder,
    item: &GenItem,
    state: OrderState,
    updated: DateTime<Utc>,
) -> Vec<String> {
    let shown = amounts_shown(order, state);
    let cancelled = state == OrderState::Cancelled;
    let decimals = order.decimals();
    let a = item.amounts;
    // Zero charges: Amazon leaves merchant orders' cells empty and writes 0.00 on its own.
    let optional = |minor: i64| {
        if !shown || cancelled || (minor == 0 && order.channel == Channel::Mfn) {
            String::new()
        } else {
            money(minor, decimals)
        }
    };
    let required = |minor: i64| {
        if shown {
            money(minor, decimals)
        } else {
            String::new()
        }
    };
    // A merchant order cancelled after payment keeps its currency and item-price, with an empty item-status,
    // quantity 0 and no tax (every Cancelled row of the real 2022 US report, airbyte's
    // GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL.reconstructed.tsv; reports/COLUMNS.md); Amazon's own
    // orders say Cancelled per item; an order cancelled before payment shows no amounts at all.
    let item_status = match state {
        OrderState::Pending | OrderState::Unshipped => "Unshipped",
        OrderState::Shipped => "Shipped",
        OrderState::Cancelled if shown && order.channel == Channel::Afn => "Cancelled",
        OrderState::Cancelled => "",
    };
    let number_of_items: u32 = order.items.iter().map(|i| i.quantity).sum();
    columns
        .iter()
        .map(|column| match *column {
            "amazon-order-id" => order.amazon_order_id.clone(),
            "merchant-order-id" => order.merchant_order_id.clone(),
            "purchase-date" => utc_date(order.purchase_date),
            "last-updated-date" => utc_date(updated),
            "order-status" => state.as_str().to_owned(),
            "fulfillment-channel" => order.channel.order_report_value().to_owned(),
            "sales-channel" => order.sales_channel.clone(),
            "order-channel" => order.order_channel.to_owned(),
            "ship-service-level" => order.ship_service_level.to_owned(),
            "product-name" => item.product_name.clone(),
            "sku" => item.sku.clone(),
            "asin" => item.asin.clone(),
            "item-status" => item_status.to_owned(),
            "quantity" => if cancelled { 0 } else { item.quantity }.to_string(),
            "number-of-items" => number_of_items.to_string(),
            "currency" if shown => order.marketplace.currency.to_owned(),
            "item-price" => required(a.item_price),
            "item-tax" if cancelled => String::new(),
            "item-tax" => required(a.item_tax),
            "shipping-price" => optional(a.shipping_price),
            "shipping-tax" => optional(a.shipping_tax),
            "gift-wrap-price" => optional(a.gift_wrap_price),
            "gift-wrap-tax" => optional(a.gift_wrap_tax),
            "item-promotion-discount" => optional(a.item_promotion_discount),
            "ship-promotion-discount" => optional(a.ship_promotion_discount),
            "ship-city" => order.address.city.clone(),
            "ship-state" => order.address.state.clone(),
            "ship-postal-code" => order.address.postal_code.clone(),
            "ship-country" => order.address.country.clone(),
            "promotion-ids" => item.promotion_ids.join(","),
            "is-business-order" => order.is_business_order.to_string(),
            "purchase-order-number" => order.purchase_order_number.clone(),
            "price-designation" if order.is_business_order => "BusinessPrice".to_owned(),
            "signature-confirmation-recommended" => order.signature_recommended.to_string(),
            "tax-collection-model" if order.marketplace.country == "US" => {
                "MarketplaceFacilitator".to_owned()
            }
            "tax-collection-responsible-party" if order.marketplace.country == "US" => {
                "Amazon Services, Inc.".to_owned()
            }
            "address-type" => if order.is_business_order {
                "Commercial"
            } else {
                "Residential"
            }
            .to_owned(),
            _ => String::new(),
        })
        .collect()
}

fn actionable_row(columns: &[&str], order: &GenOrder, item: &GenItem, at: DateTime<Utc>) -> Vec<String> {
    let mp = order.marketplace;
    let paid = order
        .events
        .iter()
        .find(|e| e.state == OrderState::Unshipped)
        .map_or(order.purchase_date, |e| e.at);
    let promise = order.purchase_date + TimeDelta::days(2);
    let days_past_promise = (at - promise).num_days();
    let shipped = order.shipped_units(&item.order_item_id, at);
    columns
        .iter()
        .map(|column| match *column {
            "order-id" => order.amazon_order_id.clone(),
            "order-item-id" => item.order_item_id.clone(),
            "purchase-date" => locales::local_date(mp, order.purchase_date),
            "payments-date" => locales::local_date(mp, paid),
            "reporting-date" => locales::local_date(mp, paid + TimeDelta::minutes(30)),
            "promise-date" => locales::local_date(mp, promise),
            "days-past-promise" => days_past_promise.to_string(),
            "buyer-email" => order.buyer_email.clone(),
            "buyer-name" => order.buyer_name.clone(),
            "buyer-phone-number" => order.address.phone.clone(),
            "sku" => item.sku.clone(),
            "product-name" => item.product_name.clone(),
            "quantity-purchased" => item.quantity.to_string(),
            "quantity-shipped" => shipped.to_string(),
            "quantity-to-ship" => item
                .quantity
                .saturating_sub(shipped + order.cancelled_units(&item.order_item_id, at))
                .to_string(),
            "ship-service-level" => order.ship_service_level.to_owned(),
            "recipient-name" => order.address.name.clone(),
            "ship-address-1" => order.address.line1.clone(),
            "ship-address-2" => order.address.line2.clone(),
            "ship-city" => order.address.city.clone(),
            "ship-state" => order.address.state.clone(),
            "ship-postal-code" => order.address.postal_code.clone(),
            "ship-country" => order.address.country.clone(),
            "is-business-order" => order.is_business_order.to_string(),
            "purchase-order-number" => order.purchase_order_number.clone(),
            "price-designation" if order.is_business_order => "BusinessPrice".to_owned(),
            "is-prime" => order.is_prime.to_string(),
            "is-iba" | "verge-of-cancellation" => "false".to_owned(),
            "verge-of-lateShipment" => (days_past_promise >= 0).to_string(),
            _ => String::new(),
        })
        .collect()
}

fn fba_shipment_row(columns: &[&str], order: &GenOrder, item: &GenItem) -> Vec<String> {
    let mp = order.marketplace;
    let decimals = order.decimals();
    let a = item.amounts;
    let shipped_at = order.shipped_event().map_or(order.purchase_date, |e| e.at);
    let shipment = order.shipment.as_ref();
    columns
        .iter()
        .map(|column| match *column {
            "amazon-order-id" => order.amazon_order_id.clone(),
            "merchant-order-id" => order.merchant_order_id.clone(),
            "shipment-id" => shipment.map(|s| s.shipment_id.clone()).unwrap_or_default(),
            "shipment-item-id" => item.shipment_item_id.clone(),
            "amazon-order-item-id" => item.order_item_id.clone(),
            "purchase-date" => locales::local_date(mp, order.purchase_date),
            "payments-date" => locales::local_date(mp, order.purchase_date + TimeDelta::minutes(3)),
            "shipment-date" => locales::local_date(mp, shipped_at),
            "reporting-date" => locales::local_date(mp, shipped_at + TimeDelta::hours(1)),
            "buyer-email" => order.buyer_email.clone(),
            "sku" => item.sku.clone(),
            "product-name" => item.product_name.clone(),
            "quantity-shipped" => item.quantity.to_string(),
            "currency" => mp.currency.to_owned(),
            "item-price" => money(a.item_price, decimals),
            "item-tax" => money(a.item_tax, decimals),
            "shipping-price" => money(a.shipping_price, decimals),
            "shipping-tax" => money(a.shipping_tax, decimals),
            "gift-wrap-price" => money(a.gift_wrap_price, decimals),
            "gift-wrap-tax" => money(a.gift_wrap_tax, decimals),
            "item-promotion-discount" => money(a.item_promotion_discount, decimals),
            "ship-promotion-discount" => money(a.ship_promotion_discount, decimals),
            "ship-service-level" => order.ship_service_level.to_owned(),
            "ship-city" => order.address.city.clone(),
            "ship-state" => order.address.state.clone(),
            "ship-postal-code" => order.address.postal_code.clone(),
            "ship-country" => order.address.country.clone(),
            "carrier" => shipment.map(|s| s.carrier.clone()).unwrap_or_default(),
            "tracking-number" => shipment.map(|s| s.tracking_number.clone()).unwrap_or_default(),
            "estimated-arrival-date" => shipment
                .map(|s| locales::local_date(mp, s.estimated_arrival))
                .unwrap_or_default(),
            "fulfillment-center-id" => shipment.map(|s| s.fulfillment_center.clone()).unwrap_or_default(),
            "fulfillment-channel" => "AFN".to_owned(),
            "sales-channel" => order.sales_channel.clone(),
            // The GENERAL variant leaves the other buyer PII columns empty.
            _ => String::new(),
        })
        .collect()
}

/// Escapes text for XML element content and attribute values.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// The AllOrdersReport XML: one `Message/Order` per order, amounts as `ItemPrice/Component`s.
fn all_orders_xml(selected: &[(&GenOrder, OrderState, DateTime<Utc>)], encoding: &str) -> String {
    let mut x = format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n");
    x.push_str("<AmazonEnvelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ");
    x.push_str("xsi:noNamespaceSchemaLocation=\"amzn-envelope.xsd\">\n");
    x.push_str("  <Header>\n    <DocumentVersion>1.00</DocumentVersion>\n  </Header>\n");
    x.push_str("  <MessageType>AllOrdersReport</MessageType>\n");
    let element = |x: &mut String, indent: usize, name: &str, value: &str| {
        x.push_str(&format!("{:indent$}<{name}>{}</{name}>\n", "", xml_escape(value)));
    };
    for (order, state, updated) in selected {
        let decimals = order.decimals();
        x.push_str("  <Message>\n    <Order>\n");
        element(&mut x, 6, "AmazonOrderID", &order.amazon_order_id);
        if !order.merchant_order_id.is_empty() {
            element(&mut x, 6, "MerchantOrderID", &order.merchant_order_id);
        }
        element(&mut x, 6, "PurchaseDate", &utc_date(order.purchase_date));
        element(&mut x, 6, "LastUpdatedDate", &utc_date(*updated));
        element(&mut x, 6, "OrderStatus", state.as_str());
        element(&mut x, 6, "SalesChannel", &order.sales_channel);
        x.push_str("      <FulfillmentData>\n");
        element(
            &mut x,
            8,
            "FulfillmentChannel",
            order.channel.order_report_value(),
        );
        element(&mut x, 8, "ShipServiceLevel", order.ship_service_level);
        x.push_str("        <Address>\n");
        element(&mut x, 10, "City", &order.address.city);
        element(&mut x, 10, "State", &order.address.state);
        element(&mut x, 10, "PostalCode", &order.address.postal_code);
        element(&mut x, 10, "Country", &order.address.country);
        x.push_str("        </Address>\n      </FulfillmentData>\n");
        element(&mut x, 6, "IsBusinessOrder", &order.is_business_order.to_string());
        if !order.purchase_order_number.is_empty() {
            element(&mut x, 6, "PurchaseOrderNumber", &order.purchase_order_number);
        }
        let shown = amounts_shown(order, *state);
        for item in &order.items {
            x.push_str("      <OrderItem>\n");
            element(&mut x, 8, "ASIN", &item.asin);
            element(&mut x, 8, "SKU", &item.sku);
            let item_status = match state {
                OrderState::Shipped => "Shipped",
                OrderState::Cancelled => "Cancelled",
                _ => "Unshipped",
            };
            element(&mut x, 8, "ItemStatus", item_status);
            element(&mut x, 8, "ProductName", &item.product_name);
            let quantity = if *state == OrderState::Cancelled {
                0
            } else {
                item.quantity
            };
            element(&mut x, 8, "Quantity", &quantity.to_string());
            // A cancelled order keeps its item price and nothing else, as its flat-file row does.
            let cancelled = *state == OrderState::Cancelled;
            if shown {
                let a = item.amounts;
                x.push_str("        <ItemPrice>\n");
                for (kind, minor) in [
                    ("Principal", a.item_price),
                    ("Tax", a.item_tax),
                    ("Shipping", a.shipping_price),
                    ("ShippingTax", a.shipping_tax),
                    ("GiftWrap", a.gift_wrap_price),
                    ("GiftWrapTax", a.gift_wrap_tax),
                ] {
                    if kind == "Principal" || (minor != 0 && !cancelled) {
                        x.push_str(&format!(
                            "          <Component>\n            <Type>{kind}</Type>\n            \
                             <Amount currency=\"{}\">{}</Amount>\n          </Component>\n",
                            order.marketplace.currency,
                            money(minor, decimals)
                        ));
                    }
                }
                x.push_str("        </ItemPrice>\n");
                if !item.promotion_ids.is_empty() && !cancelled {
                    x.push_str("        <Promotion>\n");
                    element(&mut x, 10, "PromotionIDs", &item.promotion_ids.join(","));
                    element(
                        &mut x,
                        10,
                        "ItemPromotionDiscount",
                        &money(a.item_promotion_discount, decimals),
                    );
                    element(
                        &mut x,
                        10,
                        "ShipPromotionDiscount",
                        &money(a.ship_promotion_discount, decimals),
                    );
                    x.push_str("        </Promotion>\n");
                }
            }
            x.push_str("      </OrderItem>\n");
        }
        x.push_str("    </Order>\n  </Message>\n");
    }
    x.push_str("</AmazonEnvelope>\n");
    x
}

/// A small plausible TSV for report types the sandbox does not model, drawn from the seller's catalog.
fn catalog_report(
    seller: &GeneratedSeller,
    style: &ReportStyle,
    charset: Charset,
    marketplace: &Marketplace,
    report_type: &str,
) -> String {
    let locale = locales::locale(marketplace);
    let decimals = super::generator::currency_decimals(marketplace.currency);
    let products = seller.catalog.iter().enumerate();
    if report_type.contains("INVENTORY") {
        let columns = [
            "seller-sku",
            "fulfillment-channel-sku",
            "asin",
            "condition-type",
            "Warehouse-Condition-code",
            "Quantity Available",
        ];
        let rows = products.map(|(n, p)| {
            vec![
                p.sku.clone(),
                format!("X00{}", &p.asin[2..]),
                p.asin.clone(),
                "NewItem".to_owned(),
                "SELLABLE".to_owned(),
                ((n * 7) % 40).to_string(),
            ]
        });
        flat_file(style, charset, &columns, rows)
    } else if report_type.contains("LISTINGS") {
        let columns = [
            "item-name",
            "seller-sku",
            "price",
            "quantity",
            "open-date",
            "asin1",
            "fulfillment-channel",
            "status",
        ];
        let rows = products.map(|(n, p)| {
            vec![
                p.title(locale),
                p.sku.clone(),
                money(p.unit_price(marketplace), decimals),
                ((n * 3) % 25).to_string(),
                "2024-01-15 10:00:00 UTC".to_owned(),
                p.asin.clone(),
                "DEFAULT".to_owned(),
                "Active".to_owned(),
            ]
        });
        flat_file(style, charset, &columns, rows)
    } else if report_type.contains("RETURNS") {
        let columns = [
            "return-date",
            "order-id",
            "sku",
            "asin",
            "fnsku",
            "product-name",
            "quantity",
            "fulfillment-center-id",
            "detailed-disposition",
            "reason",
            "status",
            "license-plate-number",
            "customer-comments",
        ];
        let rows = seller
            .orders
            .iter()
            .filter(|o| o.channel == Channel::Afn && o.shipped_event().is_some())
            .step_by(7)
            .take(10)
            .map(|o| {
                let item = &o.items[0];
                vec![
                    utc_date(o.purchase_date + TimeDelta::days(9)),
                    o.amazon_order_id.clone(),
                    item.sku.clone(),
                    item.asin.clone(),
                    format!("X00{}", &item.asin[2..]),
                    item.product_name.clone(),
                    "1".to_owned(),
                    o.shipment
                        .as_ref()
                        .map(|s| s.fulfillment_center.clone())
                        .unwrap_or_default(),
                    "SELLABLE".to_owned(),
                    "UNWANTED_ITEM".to_owned(),
                    "Unit returned to inventory".to_owned(),
                    format!("LPN{}", &item.order_item_id[..10]),
                    String::new(),
                ]
            });
        flat_file(style, charset, &columns, rows)
    } else {
        let columns = ["sku", "asin", "product-name", "quantity"];
        let rows = products.map(|(n, p)| {
            vec![
                p.sku.clone(),
                p.asin.clone(),
                p.title(locale),
                (n % 9).to_string(),
            ]
        });
        flat_file(style, charset, &columns, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_with_the_currencys_decimals() {
        assert_eq!(money(1499, 2), "14.99");
        assert_eq!(money(-200, 2), "-2.00");
        assert_eq!(money(5, 2), "0.05");
        assert_eq!(money(1980, 0), "1980");
        assert_eq!(money(0, 2), "0.00");
    }

    /// What the client reads of each order in a report: status, dates and each line's units and price.
    type Seen = Vec<(String, String, String, Vec<(String, u32, Option<String>)>)>;

    fn seen(orders: impl IntoIterator<Item = shared::domain::Order>) -> Seen {
        let mut seen: Seen = orders
            .into_iter()
            .map(|o| {
                let mut items: Vec<_> = o
                    .items
                    .iter()
                    .map(|i| {
                        let price = i
                            .amounts
                            .item_price
                            .as_ref()
                            .map(|m| m.amount.normalize().to_string());
                        (i.sku.to_string(), i.quantity, price)
                    })
                    .collect();
                items.sort();
                let id = o.amazon_order_id.to_string();
                (
                    id,
                    o.status.as_str().to_owned(),
                    o.last_updated.to_rfc3339(),
                    items,
                )
            })
            .collect();
        seen.sort();
        seen
    }

    /// The flat file and the XML report of the same orders at the same instant say the same about each order
    /// (Amazon renders both from one order record), read by the client's own parsers.
    #[test]
    fn flat_and_xml_renderings_of_the_same_orders_agree() {
        use chrono::TimeZone;
        use shared::parse::{AllOrdersFlat, AllOrdersXml, Charset, Parsed};

        use crate::generator::{SellerSpec, generate};

        let start = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).single().expect("valid");
        let end = start + TimeDelta::days(10);
        let spec = SellerSpec::new(11, start, end).with_orders(300);
        let seller = generate(&spec, spec.validate().expect("valid spec"));
        let ids: Vec<String> = seller.marketplaces.iter().map(|m| m.id.to_owned()).collect();
        let query = |rendering| ReportQuery {
            rendering,
            report_type: "",
            marketplace_ids: &ids,
            start,
            end,
            at: end + TimeDelta::days(20),
        };
        let flat =
            render(&seller, &query(Rendering::AllOrdersFlat { by_order_date: false })).expect("orders");
        let xml = render(&seller, &query(Rendering::AllOrdersXml { by_order_date: false })).expect("orders");
        assert!(
            flat.orders.iter().any(|(_, s)| *s == OrderState::Cancelled),
            "the window holds cancelled orders"
        );

        let mut from_flat = Vec::new();
        AllOrdersFlat::new(flat.text.as_bytes(), Charset::UTF_8)
            .expect("header")
            .visit(|parsed| match parsed {
                Parsed::Record(r) => from_flat.push(r.value.clone()),
                Parsed::Quarantined(q) => panic!("flat row quarantined: {}", q.reason),
            })
            .expect("flat file reads");
        let from_xml: Vec<_> = AllOrdersXml::new(xml.text.as_bytes())
            .map(|parsed| match parsed.expect("XML reads") {
                Parsed::Record(r) => r.value,
                Parsed::Quarantined(q) => panic!("XML order quarantined: {}", q.reason),
            })
            .collect();
        let (from_flat, from_xml) = (seen(from_flat), seen(from_xml));
        assert_eq!(from_flat.len(), flat.orders.len());
        for (f, x) in from_flat.iter().zip(&from_xml) {
            assert_eq!(f, x);
        }
        assert_eq!(from_flat.len(), from_xml.len());
    }

    #[test]
    fn xml_text_is_escaped() {
        assert_eq!(
            xml_escape("Tom & Jerry's <\"best\">"),
            "Tom &amp; Jerry&apos;s &lt;&quot;best&quot;&gt;"
        );
    }
}
