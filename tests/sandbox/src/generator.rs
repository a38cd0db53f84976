//! The seeded generator of realistic sellers: a catalog, orders across the seller's marketplaces, and each
//! order's timeline of status events with the delay after which each event reaches reports (late arrivals).
//!
//! Everything is a pure function of the [`SellerSpec`]: the same seed gives the same orders, ids, amounts,
//! timelines and report layout, whatever the sandbox's clock or the order in which reports are requested.

use std::collections::{HashMap, HashSet};

use super::marketplaces::{Marketplace, Region};
use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::locales::{self, Locale};

/// What kind of seller to generate. Every field has a sensible default except the time span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SellerSpec {
    /// The seed; the same spec always generates the same seller.
    pub seed: u64,
    /// The marketplaces the seller sells in, all of one region; orders are spread over them, most in the first.
    pub marketplace_ids: Vec<String>,
    /// How many orders are placed between `start` and `end`.
    pub orders: usize,
    /// When the first order may be placed.
    pub start: DateTime<Utc>,
    /// When the last order may be placed; may lie in the clock's future so orders keep arriving during a test.
    pub end: DateTime<Utc>,
    /// Share of orders fulfilled by Amazon (AFN); the rest are merchant-fulfilled (MFN).
    pub afn_share: f64,
    /// Share of orders that are Amazon Business orders.
    pub business_share: f64,
    /// Share of orders cancelled before they ship.
    pub cancel_share: f64,
    /// Share of MFN orders that stay `Unshipped` until the seller confirms shipment (through feeds).
    pub awaiting_shipment_share: f64,
    /// Share of status events that reach reports hours late (up to 24 h) instead of after 30–60 minutes.
    pub late_share: f64,
}

impl SellerSpec {
    /// A US seller with 200 orders placed between `start` and `end` and default shares.
    pub fn new(seed: u64, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        SellerSpec {
            seed,
            marketplace_ids: vec!["ATVPDKIKX0DER".to_owned()],
            orders: 200,
            start,
            end,
            afn_share: 0.35,
            business_share: 0.06,
            cancel_share: 0.08,
            awaiting_shipment_share: 0.25,
            late_share: 0.12,
        }
    }

    /// The same spec selling in `marketplace_ids`.
    pub fn in_marketplaces(mut self, marketplace_ids: &[&str]) -> Self {
        self.marketplace_ids = marketplace_ids.iter().map(|id| (*id).to_owned()).collect();
        self
    }

    /// The same spec with `orders` orders.
    pub fn with_orders(mut self, orders: usize) -> Self {
        self.orders = orders;
        self
    }

    /// Checks the spec, returning its marketplaces or a message naming the bad field.
    pub(crate) fn validate(&self) -> Result<Vec<&'static Marketplace>, String> {
        if self.marketplace_ids.is_empty() {
            return Err("marketplaceIds: at least one marketplace is required".to_owned());
        }
        let marketplaces = self
            .marketplace_ids
            .iter()
            .map(|id| {
                Marketplace::by_id(id).ok_or_else(|| format!("marketplaceIds: unknown marketplace {id:?}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let region: Region = marketplaces[0].region;
        if marketplaces.iter().any(|m| m.region != region) {
            return Err("marketplaceIds: a seller's marketplaces must all be in one region".to_owned());
        }
        if self.orders > 200_000 {
            return Err("orders: at most 200000".to_owned());
        }
        if self.start >= self.end {
            return Err("start: must be before end".to_owned());
        }
        for (name, share) in [
            ("afnShare", self.afn_share),
            ("businessShare", self.business_share),
            ("cancelShare", self.cancel_share),
            ("awaitingShipmentShare", self.awaiting_shipment_share),
            ("lateShare", self.late_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("{name}: must be between 0 and 1"));
            }
        }
        Ok(marketplaces)
    }
}

/// An order's status as order reports spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OrderState {
    /// Placed, payment not yet authorised.
    Pending,
    /// Paid, waiting to be shipped.
    Unshipped,
    /// Shipped.
    Shipped,
    /// Cancelled (two Ls, as reports write it).
    Cancelled,
}

impl OrderState {
    /// The `order-status` value.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Pending => "Pending",
            OrderState::Unshipped => "Unshipped",
            OrderState::Shipped => "Shipped",
            OrderState::Cancelled => "Cancelled",
        }
    }
}

/// Who fulfils an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Channel {
    /// Fulfilled by Amazon (FBA): `Amazon` in order reports, `AFN` in FBA reports.
    Afn,
    /// Fulfilled by the merchant: `Merchant` in order reports.
    Mfn,
}

impl Channel {
    /// The `fulfillment-channel` value of order-tracking reports.
    pub fn order_report_value(self) -> &'static str {
        match self {
            Channel::Afn => "Amazon",
            Channel::Mfn => "Merchant",
        }
    }
}

/// One status change: when it happened (the `last-updated-date`) and when reports first show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) state: OrderState,
    pub(crate) at: DateTime<Utc>,
    pub(crate) visible_at: DateTime<Utc>,
}

/// Money of one order line, in minor units of the order's currency (no decimals for JPY).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Amounts {
    pub(crate) item_price: i64,
    pub(crate) item_tax: i64,
    pub(crate) shipping_price: i64,
    pub(crate) shipping_tax: i64,
    pub(crate) gift_wrap_price: i64,
    pub(crate) gift_wrap_tax: i64,
    /// Zero or negative.
    pub(crate) item_promotion_discount: i64,
    /// Zero or negative.
    pub(crate) ship_promotion_discount: i64,
}

/// One line of a generated order.
#[derive(Debug, Clone)]
pub(crate) struct GenItem {
    /// 14 digits, unique within the seller.
    pub(crate) order_item_id: String,
    pub(crate) sku: String,
    pub(crate) asin: String,
    pub(crate) product_name: String,
    pub(crate) quantity: u32,
    pub(crate) amounts: Amounts,
    pub(crate) promotion_ids: Vec<String>,
    /// Unique per shipped item, for the FBA shipments report.
    pub(crate) shipment_item_id: String,
}

/// Where an order goes, with the PII only restricted reports carry.
#[derive(Debug, Clone)]
pub(crate) struct Address {
    pub(crate) name: String,
    pub(crate) line1: String,
    pub(crate) line2: String,
    pub(crate) city: String,
    pub(crate) state: String,
    pub(crate) postal_code: String,
    pub(crate) country: String,
    pub(crate) phone: String,
}

/// How a shipped order travelled.
#[derive(Debug, Clone)]
pub(crate) struct Shipment {
    pub(crate) shipment_id: String,
    pub(crate) carrier: String,
    pub(crate) tracking_number: String,
    pub(crate) fulfillment_center: String,
    pub(crate) estimated_arrival: DateTime<Utc>,
}

/// A shipment the seller confirmed through a `POST_ORDER_FULFILLMENT_DATA` feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeedShipment {
    /// The feed that confirmed it.
    pub(crate) feed_id: String,
    /// When the feed applied it (its processing end).
    pub(crate) at: DateTime<Utc>,
    /// `CarrierCode` as sent.
    pub(crate) carrier_code: String,
    /// `CarrierName`, sent with `CarrierCode` `Other`.
    pub(crate) carrier_name: Option<String>,
    /// `ShippingMethod`.
    pub(crate) shipping_method: Option<String>,
    /// `ShipperTrackingNumber`.
    pub(crate) tracking_number: Option<String>,
    /// `FulfillmentDate`.
    pub(crate) ship_date: DateTime<Utc>,
    /// Order item ids and the units shipped of each.
    pub(crate) items: Vec<(String, u32)>,
    /// `ShipFromAddress`'s `CountryCode` and `PostalCode`, when the message names where it shipped from.
    pub(crate) ship_from: Option<(String, Option<String>)>,
}

/// Units of an order the seller cancelled through a `POST_ORDER_ACKNOWLEDGEMENT_DATA` feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FeedCancellation {
    /// The feed that cancelled them.
    pub(crate) feed_id: String,
    /// When the feed applied it.
    pub(crate) at: DateTime<Utc>,
    /// Order item ids, the units cancelled of each and the `CancelReason` given (if any).
    pub(crate) items: Vec<(String, u32, Option<String>)>,
}

/// A generated order with its whole timeline, including events still in the clock's future.
#[derive(Debug, Clone)]
pub(crate) struct GenOrder {
    pub(crate) amazon_order_id: String,
    pub(crate) merchant_order_id: String,
    pub(crate) marketplace: &'static Marketplace,
    pub(crate) channel: Channel,
    /// `Amazon.de`, or `Non-Amazon` for multi-channel fulfilment orders.
    pub(crate) sales_channel: String,
    pub(crate) order_channel: &'static str,
    pub(crate) purchase_date: DateTime<Utc>,
    pub(crate) ship_service_level: &'static str,
    pub(crate) is_business_order: bool,
    pub(crate) purchase_order_number: String,
    pub(crate) is_prime: bool,
    pub(crate) signature_recommended: bool,
    pub(crate) buyer_email: String,
    pub(crate) buyer_name: String,
    pub(crate) address: Address,
    pub(crate) items: Vec<GenItem>,
    /// In time order; the first is always `Pending` at the purchase date.
    pub(crate) events: Vec<Event>,
    /// Set for orders that ship (AFN always carries one; MFN when shipped outside feeds).
    pub(crate) shipment: Option<Shipment>,
    /// Shipments the seller confirmed through feeds, in the order they were applied.
    pub(crate) feed_shipments: Vec<FeedShipment>,
    /// Cancellations the seller sent through feeds, in the order they were applied.
    pub(crate) feed_cancellations: Vec<FeedCancellation>,
}

impl GenOrder {
    /// The latest event that happened by `at` (the truth), if the order was placed by then.
    pub(crate) fn event_at(&self, at: DateTime<Utc>) -> Option<&Event> {
        self.events.iter().filter(|e| e.at <= at).max_by_key(|e| e.at)
    }

    /// The latest event reports show at `at`: among the events visible by then, the one that happened last.
    pub(crate) fn visible_event_at(&self, at: DateTime<Utc>) -> Option<&Event> {
        self.events
            .iter()
            .filter(|e| e.visible_at <= at)
            .max_by_key(|e| e.at)
    }

    /// When the Orders API starts showing `event` ([`api_delay`] after it happened, never later than reports).
    pub(crate) fn api_visible_at(&self, event: &Event) -> DateTime<Utc> {
        (event.at + api_delay(&self.amazon_order_id, event.at)).min(event.visible_at)
    }

    /// The latest event the Orders API shows at `at`: among the events it shows by then, the one that happened
    /// last.
    pub(crate) fn api_event_at(&self, at: DateTime<Utc>) -> Option<&Event> {
        self.events
            .iter()
            .filter(|e| self.api_visible_at(e) <= at)
            .max_by_key(|e| e.at)
    }

    /// The event that shipped the order, if any.
    pub(crate) fn shipped_event(&self) -> Option<&Event> {
        self.events.iter().find(|e| e.state == OrderState::Shipped)
    }

    /// The currency's number of decimals.
    pub(crate) fn decimals(&self) -> u32 {
        currency_decimals(self.marketplace.currency)
    }

    /// Units of an order item shipped through feeds applied by `at`.
    pub(crate) fn shipped_units(&self, order_item_id: &str, at: DateTime<Utc>) -> u32 {
        self.feed_shipments
            .iter()
            .filter(|s| s.at <= at)
            .flat_map(|s| &s.items)
            .filter(|(id, _)| id == order_item_id)
            .map(|(_, units)| units)
            .sum()
    }

    /// Units of an order item cancelled through feeds applied by `at`.
    pub(crate) fn cancelled_units(&self, order_item_id: &str, at: DateTime<Utc>) -> u32 {
        self.feed_cancellations
            .iter()
            .filter(|c| c.at <= at)
            .flat_map(|c| &c.items)
            .filter(|(id, ..)| id == order_item_id)
            .map(|(_, units, _)| units)
            .sum()
    }
}

/// A product of the seller's catalog; its title is localised per marketplace.
#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub(crate) sku: String,
    pub(crate) asin: String,
    noun: usize,
    colour: usize,
    /// Price in US cents before conversion into the marketplace's currency.
    base_cents: i64,
}

impl Product {
    /// The title in a marketplace's language.
    pub(crate) fn title(&self, locale: &Locale) -> String {
        let nouns = locales::product_nouns(locale.language);
        let colours = locales::colours(locale.language);
        let noun = nouns[self.noun % nouns.len()];
        let colour = colours[self.colour % colours.len()];
        match locale.language {
            locales::Language::Ja => format!("{noun} {colour}"),
            _ if self.colour.is_multiple_of(2) => format!("{noun}, {colour}"),
            _ => format!("{noun} - {colour}"),
        }
    }

    /// The unit price in a marketplace's currency, in minor units, with a price-point ending (9.99, 1980).
    pub(crate) fn unit_price(&self, marketplace: &Marketplace) -> i64 {
        let locale = locales::locale(marketplace);
        // The base price in the marketplace's currency, in hundredths of its unit.
        let converted = (self.base_cents as f64 * locale.per_usd).round() as i64;
        if currency_decimals(marketplace.currency) == 0 {
            // Yen have no minor unit: whole yen, rounded to hundreds minus twenty, e.g. 1980.
            let yen = converted / 100;
            (yen / 100).max(1) * 100 - 20
        } else {
            (converted / 100) * 100 + 99
        }
    }
}

/// How the seller's reports are laid out; fixed per seller so a client meets several layouts across sellers.
#[derive(Debug, Clone)]
pub(crate) struct ReportStyle {
    /// `\r\n` line ends instead of `\n`.
    pub(crate) crlf: bool,
    /// UTF-8 flat files start with a byte-order mark.
    pub(crate) bom: bool,
    pub(crate) all_orders_by_last_update: Vec<&'static str>,
    pub(crate) all_orders_by_order_date: Vec<&'static str>,
    pub(crate) actionable: Vec<&'static str>,
    pub(crate) fba_shipments: Vec<&'static str>,
    /// Rows end after their last non-empty cell, shorter than the header (the reference FBA shipments and
    /// unshipped-orders files have such ragged rows).
    pub(crate) ragged: bool,
    /// Flat files end with a blank line (as the reference unshipped-orders file does).
    pub(crate) trailing_blank_line: bool,
    /// Some product names hold a line break, written as a quoted cell spanning two lines (the reference
    /// unshipped-orders file quotes such a multi-line cell).
    pub(crate) multiline_names: bool,
    /// XML order reports are written in ISO-8859-1 and declare it (a GET_XML_ALL_ORDERS_DATA report in the
    /// reference folder's SOURCES.md does), where the marketplaces' charset is Cp1252.
    pub(crate) xml_latin1: bool,
}

/// A generated seller.
#[derive(Debug, Clone)]
pub(crate) struct GeneratedSeller {
    pub(crate) marketplaces: Vec<&'static Marketplace>,
    pub(crate) catalog: Vec<Product>,
    /// In purchase-date order.
    pub(crate) orders: Vec<GenOrder>,
    /// Each order's index in `orders`, by Amazon order id.
    pub(crate) order_index: HashMap<String, usize>,
    pub(crate) style: ReportStyle,
}

/// Columns of the all-orders flat files as documented (order-tracking reports attributes page).
pub(crate) const ALL_ORDERS_COLUMNS: &[&str] = &[
    "amazon-order-id",
    "merchant-order-id",
    "purchase-date",
    "last-updated-date",
    "order-status",
    "fulfillment-channel",
    "sales-channel",
    "order-channel",
    "ship-service-level",
    "product-name",
    "sku",
    "asin",
    "item-status",
    "quantity",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "item-promotion-discount",
    "ship-promotion-discount",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "promotion-ids",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
];

/// Columns of the unshipped-orders report as documented.
pub(crate) const ACTIONABLE_COLUMNS: &[&str] = &[
    "order-id",
    "order-item-id",
    "purchase-date",
    "payments-date",
    "reporting-date",
    "promise-date",
    "days-past-promise",
    "buyer-email",
    "buyer-phone-number",
    "sku",
    "product-name",
    "quantity-purchased",
    "quantity-shipped",
    "quantity-to-ship",
    "ship-service-level",
    "recipient-name",
    "ship-address-1",
    "ship-address-2",
    "ship-address-3",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "is-business-order",
    "purchase-order-number",
    "price-designation",
    "is-prime",
];

/// The 48 columns of the FBA shipments report.
pub(crate) const FBA_SHIPMENTS_COLUMNS: &[&str] = &[
    "amazon-order-id",
    "merchant-order-id",
    "shipment-id",
    "shipment-item-id",
    "amazon-order-item-id",
    "merchant-order-item-id",
    "purchase-date",
    "payments-date",
    "shipment-date",
    "reporting-date",
    "buyer-email",
    "buyer-name",
    "buyer-phone-number",
    "sku",
    "product-name",
    "quantity-shipped",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "gift-wrap-price",
    "gift-wrap-tax",
    "ship-service-level",
    "recipient-name",
    "ship-address-1",
    "ship-address-2",
    "ship-address-3",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "ship-phone-number",
    "bill-address-1",
    "bill-address-2",
    "bill-address-3",
    "bill-city",
    "bill-state",
    "bill-postal-code",
    "bill-country",
    "item-promotion-discount",
    "ship-promotion-discount",
    "carrier",
    "tracking-number",
    "estimated-arrival-date",
    "fulfillment-center-id",
    "fulfillment-channel",
    "sales-channel",
];

/// Decimals of a currency in reports: none for yen, two for every other currency Amazon sells in.
pub(crate) fn currency_decimals(currency: &str) -> u32 {
    if currency == "JPY" { 0 } else { 2 }
}

/// A child seed for one part of the seller, so that parts do not shift when another part changes.
fn sub_seed(seed: u64, part: u64, index: u64) -> u64 {
    // SplitMix64 finaliser: spreads nearby inputs over the whole range.
    let mut z = seed ^ part.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn digits(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

fn alnum(rng: &mut ChaCha8Rng, n: usize, charset: &[u8]) -> String {
    (0..n).map(|_| char::from(*pick(rng, charset))).collect()
}

const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const MIXED_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

fn minutes(rng: &mut ChaCha8Rng, from: i64, to: i64) -> TimeDelta {
    TimeDelta::seconds(rng.random_range(from * 60..=to * 60))
}

/// When an event reaches reports: mostly 30–60 minutes later, a `late_share` of them 1–24 hours later.
fn visibility_delay(rng: &mut ChaCha8Rng, late_share: f64) -> TimeDelta {
    if rng.random_bool(late_share) {
        if rng.random_bool(0.5) {
            minutes(rng, 60, 6 * 60)
        } else {
            minutes(rng, 6 * 60, 24 * 60)
        }
    } else {
        minutes(rng, 30, 60)
    }
}

/// How long after a change the Orders API shows it. Amazon: "The getOrders operation has a systematic delay in
/// data retrieval. Most updated orders data are available two minutes after an order is created or last
/// updated" (https://developer-docs.amazon.com/sp-api/docs/get-orders-with-filtering-criteria, the warning). So
/// 90% of changes show within 20 s to 2 min and the rest within 2 to 30 min. Drawn from a hash of the order and
/// the change rather than the generator's stream, so existing seeds keep their reports byte-identical.
fn api_delay(order_id: &str, at: DateTime<Utc>) -> TimeDelta {
    let hash = order_id
        .bytes()
        .chain(at.timestamp().to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let (bucket, spread) = (hash % 100, (hash >> 8) % 1000);
    let seconds = if bucket < 90 {
        20 + spread as i64 * 100 / 1000
    } else {
        120 + spread as i64 * (28 * 60) / 1000
    };
    TimeDelta::seconds(seconds)
}

/// Generates a seller from a validated spec.
pub(crate) fn generate(spec: &SellerSpec, marketplaces: Vec<&'static Marketplace>) -> GeneratedSeller {
    let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(spec.seed, 1, 0));
    let catalog = catalog(&mut rng, spec.seed);
    let style = report_style(&mut ChaCha8Rng::seed_from_u64(sub_seed(spec.seed, 2, 0)));

    // Purchase dates: uniform over the span, sorted, so order ids follow purchase order.
    let span = (spec.end - spec.start).num_seconds().max(1);
    let mut purchases: Vec<DateTime<Utc>> = (0..spec.orders)
        .map(|_| spec.start + TimeDelta::seconds(rng.random_range(0..span)))
        .collect();
    purchases.sort();

    let mut ids = HashSet::new();
    let mut orders = Vec::with_capacity(spec.orders);
    for (index, purchase) in purchases.into_iter().enumerate() {
        let mut order_rng = ChaCha8Rng::seed_from_u64(sub_seed(spec.seed, 3, index as u64));
        let mut order = generate_order(&mut order_rng, spec, &marketplaces, &catalog, purchase);
        // Ids are random; redraw the rare duplicate so every id names one order.
        while !ids.insert(order.amazon_order_id.clone()) {
            order.amazon_order_id = order_id(&mut order_rng, order.marketplace);
        }
        for item in &mut order.items {
            while !ids.insert(item.order_item_id.clone()) {
                item.order_item_id = digits(&mut order_rng, 14);
            }
            while !ids.insert(item.shipment_item_id.clone()) {
                item.shipment_item_id = alnum(&mut order_rng, 9, MIXED_ALNUM);
            }
        }
        orders.push(order);
    }
    if style.multiline_names {
        // About a third of the SKUs: the name's last word on a second line.
        for item in orders.iter_mut().flat_map(|o| o.items.iter_mut()) {
            let picked = item.sku.bytes().map(u32::from).sum::<u32>() % 3 == 0;
            if let Some(at) = item.product_name.rfind(' ').filter(|_| picked) {
                item.product_name.replace_range(at..=at, "\n");
            }
        }
    }
    let order_index = orders
        .iter()
        .enumerate()
        .map(|(i, o)| (o.amazon_order_id.clone(), i))
        .collect();
    GeneratedSeller {
        marketplaces,
        catalog,
        orders,
        order_index,
        style,
    }
}

fn catalog(rng: &mut ChaCha8Rng, seed: u64) -> Vec<Product> {
    let size = rng.random_range(12..40);
    let sku_style = seed % 3;
    let mut skus = HashSet::new();
    (0..size)
        .map(|n| {
            let noun = rng.random_range(0..100);
            let colour = rng.random_range(0..100);
            let mut sku;
            loop {
                sku = match sku_style {
                    0 => format!(
                        "{}-{}-{}",
                        alnum(rng, 2, UPPER_ALNUM),
                        alnum(rng, 4, UPPER_ALNUM),
                        alnum(rng, 4, UPPER_ALNUM)
                    ),
                    1 => format!("SKU-{:04}-{}", n + 1, alnum(rng, 3, UPPER_ALNUM)),
                    _ => digits(rng, 6),
                };
                if skus.insert(sku.clone()) {
                    break;
                }
            }
            Product {
                sku,
                asin: format!("B0{}", alnum(rng, 8, UPPER_ALNUM)),
                noun,
                colour,
                base_cents: rng.random_range(8..90) * 100 + 99,
            }
        })
        .collect()
}

/// The seller's report layout: line ends, BOM, and each flat file's columns with observed extras and a
/// seller-specific order (the first column stays first, as in every real report).
fn report_style(rng: &mut ChaCha8Rng) -> ReportStyle {
    let crlf = rng.random_bool(0.5);
    let bom = rng.random_bool(0.35);
    let all_orders = |rng: &mut ChaCha8Rng, by_order_date: bool| {
        let mut columns: Vec<&'static str> = ALL_ORDERS_COLUMNS.to_vec();
        let insert_after = |columns: &mut Vec<&'static str>, after: &str, column: &'static str| {
            let at = columns
                .iter()
                .position(|c| *c == after)
                .map_or(columns.len(), |i| i + 1);
            columns.insert(at, column);
        };
        if by_order_date || rng.random_bool(0.8) {
            insert_after(&mut columns, "promotion-ids", "cpf");
        }
        if rng.random_bool(0.3) {
            insert_after(&mut columns, "order-channel", "url");
        }
        if rng.random_bool(0.4) {
            insert_after(&mut columns, "quantity", "number-of-items");
        }
        if rng.random_bool(0.4) {
            columns.push("tax-collection-model");
            columns.push("tax-collection-responsible-party");
        }
        if rng.random_bool(0.8) {
            columns.push("signature-confirmation-recommended");
        }
        if rng.random_bool(0.3) {
            columns.push("address-type");
        }
        shuffle_a_little(rng, &mut columns);
        columns
    };
    let all_orders_by_last_update = all_orders(rng, false);
    let all_orders_by_order_date = all_orders(rng, true);
    let mut actionable = ACTIONABLE_COLUMNS.to_vec();
    if rng.random_bool(0.5) {
        let at = actionable
            .iter()
            .position(|c| *c == "buyer-email")
            .map_or(0, |i| i + 1);
        actionable.insert(at, "buyer-name");
    }
    if rng.random_bool(0.25) {
        actionable.extend(["is-iba", "verge-of-cancellation", "verge-of-lateShipment"]);
    }
    shuffle_a_little(rng, &mut actionable);
    let mut fba_shipments = FBA_SHIPMENTS_COLUMNS.to_vec();
    shuffle_a_little(rng, &mut fba_shipments);
    ReportStyle {
        crlf,
        bom,
        all_orders_by_last_update,
        all_orders_by_order_date,
        actionable,
        fba_shipments,
        ragged: rng.random_bool(0.5),
        trailing_blank_line: rng.random_bool(0.4),
        multiline_names: rng.random_bool(0.5),
        xml_latin1: rng.random_bool(0.5),
    }
}

/// Up to three swaps of columns after the first, so that no two sellers need share a column order.
fn shuffle_a_little(rng: &mut ChaCha8Rng, columns: &mut [&'static str]) {
    for _ in 0..rng.random_range(0..=3) {
        let a = rng.random_range(1..columns.len());
        let b = rng.random_range(1..columns.len());
        columns.swap(a, b);
    }
}

fn order_id(rng: &mut ChaCha8Rng, marketplace: &Marketplace) -> String {
    let prefix = match (marketplace.region, marketplace.country) {
        (Region::Na, _) => rng.random_range(111..=114),
        (_, "GB") => rng.random_range(202..=206),
        (_, "DE") => rng.random_range(302..=306),
        (Region::Eu, _) => rng.random_range(402..=408),
        (Region::Fe, "JP") => *pick(rng, &[249, 250, 503]),
        (Region::Fe, _) => *pick(rng, &[250, 503]),
    };
    format!("{prefix:03}-{}-{}", digits(rng, 7), digits(rng, 7))
}

fn calling_code(country: &str) -> &'static str {
    match country {
        "US" | "CA" => "1",
        "MX" => "52",
        "BR" => "55",
        "GB" => "44",
        "IE" => "353",
        "DE" => "49",
        "FR" => "33",
        "BE" => "32",
        "IT" => "39",
        "ES" => "34",
        "NL" => "31",
        "SE" => "46",
        "PL" => "48",
        "TR" => "90",
        "AE" => "971",
        "SA" => "966",
        "EG" => "20",
        "IN" => "91",
        "ZA" => "27",
        "AU" => "61",
        "SG" => "65",
        "JP" => "81",
        _ => "1",
    }
}

/// Tax contained in (or added to) `amount` at `bp` basis points.
fn tax_of(amount: i64, bp: i64, exclusive: bool) -> i64 {
    let divisor = if exclusive { 10_000 } else { 10_000 + bp };
    // Round half up in integer arithmetic; amounts are never negative here.
    (amount * bp * 2 + divisor) / (divisor * 2)
}

/// One order placed at `purchase`: where and how it was sold, its lines, its timeline, its buyer and its
/// shipment. The random draws follow this order, so a seed keeps generating the same orders.
fn generate_order(
    rng: &mut ChaCha8Rng,
    spec: &SellerSpec,
    marketplaces: &[&'static Marketplace],
    catalog: &[Product],
    purchase: DateTime<Utc>,
) -> GenOrder {
    // The first marketplace carries about half the orders, the others share the rest.
    let marketplace = if marketplaces.len() == 1 || rng.random_bool(0.5) {
        marketplaces[0]
    } else {
        marketplaces[rng.random_range(1..marketplaces.len())]
    };
    let locale = locales::locale(marketplace);
    let channel = if rng.random_bool(spec.afn_share) {
        Channel::Afn
    } else {
        Channel::Mfn
    };
    let is_business_order = rng.random_bool(spec.business_share);
    let non_amazon = channel == Channel::Afn && rng.random_bool(0.02);
    let pricing = pricing(rng, marketplace, locale, channel);
    let items = order_items(rng, catalog, marketplace, locale, &pricing, is_business_order);
    let events = timeline(rng, spec, channel, purchase);
    let (buyer_name, mut address) = recipient(rng, marketplace, locale);
    let (phone, buyer_email) = buyer_contact(rng, marketplace);
    address.phone = phone;
    let shipment = events
        .iter()
        .find(|e| e.state == OrderState::Shipped)
        .map(|shipped| shipment(rng, locale, shipped.at));
    GenOrder {
        amazon_order_id: order_id(rng, marketplace),
        merchant_order_id: if non_amazon {
            format!("MCF-{}", digits(rng, 8))
        } else {
            String::new()
        },
        marketplace,
        channel,
        sales_channel: if non_amazon {
            "Non-Amazon".to_owned()
        } else {
            marketplace.sales_channel()
        },
        order_channel: if non_amazon { "" } else { "WebsiteOrderChannel" },
        purchase_date: purchase,
        ship_service_level: pricing.ship_service_level,
        is_business_order,
        purchase_order_number: if is_business_order && rng.random_bool(0.6) {
            format!("PO-{}", digits(rng, 6))
        } else {
            String::new()
        },
        is_prime: channel == Channel::Afn || rng.random_bool(0.1),
        signature_recommended: rng.random_bool(0.05),
        buyer_email,
        buyer_name,
        address,
        items,
        events,
        shipment,
        feed_shipments: Vec::new(),
        feed_cancellations: Vec::new(),
    }
}

/// How an order is priced: its tax rate, its service level and shipping charge, and whether a promotion
/// makes the shipping free.
struct Pricing {
    /// Tax in basis points, and whether prices exclude it.
    tax_bp: i64,
    tax_exclusive: bool,
    decimals: u32,
    ship_service_level: &'static str,
    shipping_charge: Option<i64>,
    free_shipping_promotion: bool,
}

impl Pricing {
    fn tax(&self, amount: i64) -> i64 {
        tax_of(amount, self.tax_bp, self.tax_exclusive)
    }
}

fn pricing(
    rng: &mut ChaCha8Rng,
    marketplace: &Marketplace,
    locale: &locales::Locale,
    channel: Channel,
) -> Pricing {
    let decimals = currency_decimals(marketplace.currency);
    // Sales tax varies by US state and Canadian province; VAT and GST are one rate per marketplace.
    let tax_bp = match marketplace.country {
        "US" => *pick(rng, &[0, 600, 725, 825, 1025]),
        "CA" => *pick(rng, &[500, 1300, 1500]),
        _ => locale.tax_bp,
    };
    let ship_service_level = if channel == Channel::Afn {
        *pick(rng, &["Standard", "Standard", "Expedited"])
    } else {
        *pick(
            rng,
            &[
                "Standard",
                "Standard",
                "Standard",
                "Expedited",
                "NextDay",
                "SecondDay",
            ],
        )
    };
    let shipping_charge = match channel {
        Channel::Mfn if rng.random_bool(0.55) => Some(if decimals == 0 { 500 } else { 399 }),
        Channel::Afn if ship_service_level == "Expedited" => Some(if decimals == 0 { 700 } else { 599 }),
        _ => None,
    }
    .map(|base: i64| {
        if decimals == 0 {
            base
        } else {
            ((base as f64 * locale.per_usd.max(1.0)) as i64 / 100) * 100 + 99
        }
    });
    let free_shipping_promotion = shipping_charge.is_some() && rng.random_bool(0.3);
    Pricing {
        tax_bp,
        tax_exclusive: locale.tax_exclusive,
        decimals,
        ship_service_level,
        shipping_charge,
        free_shipping_promotion,
    }
}

/// One to five lines of distinct products, with their amounts and promotions; the first carries the shipping.
fn order_items(
    rng: &mut ChaCha8Rng,
    catalog: &[Product],
    marketplace: &Marketplace,
    locale: &locales::Locale,
    pricing: &Pricing,
    is_business_order: bool,
) -> Vec<GenItem> {
    let item_count = match rng.random_range(0..100) {
        0..70 => 1,
        70..90 => 2,
        _ => rng.random_range(3..=5),
    };
    let mut items = Vec::with_capacity(item_count);
    let mut used = HashSet::new();
    for line in 0..item_count {
        let product = loop {
            let candidate = pick(rng, catalog);
            if used.insert(candidate.sku.clone()) || used.len() >= catalog.len() {
                break candidate;
            }
        };
        let quantity = if rng.random_bool(0.8) {
            1
        } else {
            rng.random_range(2..=3)
        };
        let item_price = product.unit_price(marketplace) * i64::from(quantity);
        let mut amounts = Amounts {
            item_price,
            item_tax: pricing.tax(item_price),
            ..Amounts::default()
        };
        let mut promotion_ids = Vec::new();
        if line == 0
            && let Some(charge) = pricing.shipping_charge
        {
            amounts.shipping_price = charge;
            amounts.shipping_tax = pricing.tax(charge);
            if pricing.free_shipping_promotion {
                amounts.ship_promotion_discount = -charge;
                promotion_ids.push(format!(
                    "{} Core Free Shipping Promotion {}",
                    marketplace.country,
                    digits(rng, 10)
                ));
            }
        }
        if !is_business_order && rng.random_bool(0.04) {
            let wrap = if pricing.decimals == 0 { 300 } else { 399 };
            amounts.gift_wrap_price = wrap;
            amounts.gift_wrap_tax = pricing.tax(wrap);
        }
        if rng.random_bool(0.15) {
            let percent = *pick(rng, &[5, 10, 15, 20]);
            let discount = item_price * percent / 100;
            if discount > 0 {
                amounts.item_promotion_discount = -discount;
                promotion_ids.push(format!("PROMO-{}", alnum(rng, 10, UPPER_ALNUM)));
            }
        }
        items.push(GenItem {
            order_item_id: digits(rng, 14),
            sku: product.sku.clone(),
            asin: product.asin.clone(),
            product_name: product.title(locale),
            quantity,
            amounts,
            promotion_ids,
            shipment_item_id: alnum(rng, 9, MIXED_ALNUM),
        });
    }
    items
}

/// The buyer's name and address as the marketplace's locale writes them (the phone comes with [`buyer_contact`]).
fn recipient(rng: &mut ChaCha8Rng, marketplace: &Marketplace, locale: &locales::Locale) -> (String, Address) {
    let first = pick(rng, locale.first_names);
    let last = pick(rng, locale.last_names);
    let name = if locale.family_name_first {
        format!("{last} {first}")
    } else {
        format!("{first} {last}")
    };
    let (city, state, postal_code) = *pick(rng, locale.places);
    let street = pick(rng, locale.streets);
    let house = rng.random_range(1..200);
    let line1 = match locale.language {
        locales::Language::En | locales::Language::Fr => format!("{house} {street}"),
        locales::Language::Ja => (*street).to_owned(),
        _ => format!("{street} {house}"),
    };
    let line2 = if rng.random_bool(0.2) {
        match locale.language {
            locales::Language::Ja => format!("{}号室", rng.random_range(101..999)),
            _ => format!("Apt {}", rng.random_range(1..40)),
        }
    } else {
        String::new()
    };
    let address = Address {
        name: name.clone(),
        line1,
        line2,
        city: city.to_owned(),
        state: state.to_owned(),
        postal_code: postal_code.to_owned(),
        country: marketplace.country.to_owned(),
        phone: String::new(),
    };
    (name, address)
}

/// The buyer's phone number and Amazon's anonymized email address for them.
fn buyer_contact(rng: &mut ChaCha8Rng, marketplace: &Marketplace) -> (String, String) {
    let phone = format!("+{} {}", calling_code(marketplace.country), digits(rng, 9));
    let tld = marketplace.host.trim_start_matches("www.amazon.");
    let email = format!("{}@marketplace.amazon.{tld}", alnum(rng, 15, LOWER_ALNUM));
    (phone, email)
}

/// The shipment of an order shipped at `shipped_at`: a carrier of the locale's, its tracking number's shape.
fn shipment(rng: &mut ChaCha8Rng, locale: &locales::Locale, shipped_at: DateTime<Utc>) -> Shipment {
    let carrier = (*pick(rng, locale.carriers)).to_owned();
    let tracking_number = if carrier.starts_with("AMZN") {
        format!("TBA{}", digits(rng, 12))
    } else if carrier == "UPS" {
        format!("1Z{}", alnum(rng, 16, UPPER_ALNUM))
    } else {
        let len = rng.random_range(12..=22);
        digits(rng, len)
    };
    Shipment {
        shipment_id: alnum(rng, 9, MIXED_ALNUM),
        carrier,
        tracking_number,
        fulfillment_center: (*pick(rng, locale.fulfillment_centers)).to_owned(),
        estimated_arrival: shipped_at + TimeDelta::days(rng.random_range(1..=4)),
    }
}

/// The order's status events: MFN Pending → Unshipped → Shipped (or left Unshipped for the seller's feed),
/// AFN Pending → Shipped, either possibly Cancelled on the way.
fn timeline(
    rng: &mut ChaCha8Rng,
    spec: &SellerSpec,
    channel: Channel,
    purchase: DateTime<Utc>,
) -> Vec<Event> {
    let event = |rng: &mut ChaCha8Rng, state, at| Event {
        state,
        at,
        visible_at: at + visibility_delay(rng, spec.late_share),
    };
    let mut events = vec![event(rng, OrderState::Pending, purchase)];
    let cancel_at = rng
        .random_bool(spec.cancel_share)
        .then(|| purchase + minutes(rng, 10, 2 * 24 * 60));
    match channel {
        Channel::Afn => {
            if let Some(cancel_at) = cancel_at {
                let cancel_at = cancel_at.min(purchase + TimeDelta::hours(6));
                events.push(event(rng, OrderState::Cancelled, cancel_at));
            } else {
                let shipped_at = purchase + minutes(rng, 60, 36 * 60);
                events.push(event(rng, OrderState::Shipped, shipped_at));
            }
        }
        Channel::Mfn => {
            let unshipped_at = purchase + minutes(rng, 2, 40);
            match cancel_at {
                Some(cancel_at) if cancel_at <= unshipped_at => {
                    events.push(event(rng, OrderState::Cancelled, cancel_at));
                }
                Some(cancel_at) => {
                    events.push(event(rng, OrderState::Unshipped, unshipped_at));
                    events.push(event(rng, OrderState::Cancelled, cancel_at));
                }
                None => {
                    events.push(event(rng, OrderState::Unshipped, unshipped_at));
                    if !rng.random_bool(spec.awaiting_shipment_share) {
                        let shipped_at = unshipped_at + minutes(rng, 3 * 60, 3 * 24 * 60);
                        events.push(event(rng, OrderState::Shipped, shipped_at));
                    }
                }
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn spec(seed: u64) -> SellerSpec {
        let start = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).single().expect("valid");
        SellerSpec::new(seed, start, start + TimeDelta::days(10)).with_orders(300)
    }

    fn generated(spec: &SellerSpec) -> GeneratedSeller {
        generate(spec, spec.validate().expect("valid spec"))
    }

    #[test]
    fn the_same_seed_generates_the_same_seller() {
        let (a, b) = (generated(&spec(7)), generated(&spec(7)));
        let ids = |s: &GeneratedSeller| {
            s.orders
                .iter()
                .map(|o| o.amazon_order_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(a.orders[10].events, b.orders[10].events);
        assert_eq!(
            a.style.all_orders_by_last_update,
            b.style.all_orders_by_last_update
        );
        assert_ne!(ids(&a), ids(&generated(&spec(8))));
    }

    #[test]
    fn the_api_shows_most_changes_within_two_minutes_and_every_one_before_reports() {
        let seller = generated(&spec(3));
        let (mut within_two_minutes, mut all) = (0, 0);
        for order in &seller.orders {
            for event in &order.events {
                let delay = order.api_visible_at(event) - event.at;
                assert!(delay >= TimeDelta::seconds(20), "{delay}");
                assert!(delay <= TimeDelta::minutes(30), "{delay}");
                assert!(order.api_visible_at(event) <= event.visible_at);
                all += 1;
                within_two_minutes += usize::from(delay <= TimeDelta::minutes(2));
            }
        }
        let share = within_two_minutes as f64 / all as f64;
        assert!((0.85..0.95).contains(&share), "{share} of {all}");
        // An order exists for the API minutes after it is placed, long before reports have it.
        let order = &seller.orders[0];
        let soon = order.purchase_date + TimeDelta::minutes(2);
        assert!(order.visible_event_at(soon).is_none());
        let placed = order.events[0];
        assert_eq!(
            order.api_event_at(order.api_visible_at(&placed)).map(|e| e.at),
            Some(placed.at)
        );
    }

    #[test]
    fn timelines_start_pending_move_forward_and_end_in_a_known_way() {
        let seller = generated(&spec(3));
        for order in &seller.orders {
            assert_eq!(order.events[0].state, OrderState::Pending);
            assert_eq!(order.events[0].at, order.purchase_date);
            assert!(
                order.events.windows(2).all(|w| w[0].at < w[1].at),
                "{:?}",
                order.events
            );
            assert!(
                order
                    .events
                    .iter()
                    .all(|e| e.visible_at - e.at >= TimeDelta::minutes(30))
            );
            assert!(
                order
                    .events
                    .iter()
                    .all(|e| e.visible_at - e.at <= TimeDelta::hours(24))
            );
            if order.channel == Channel::Afn {
                assert!(order.events.iter().all(|e| e.state != OrderState::Unshipped));
            }
        }
        let last_states: HashSet<_> = seller
            .orders
            .iter()
            .map(|o| o.events.last().map(|e| e.state))
            .collect();
        for state in [OrderState::Unshipped, OrderState::Shipped, OrderState::Cancelled] {
            assert!(last_states.contains(&Some(state)), "no order ends {state:?}");
        }
    }

    #[test]
    fn ids_are_unique_and_shaped_like_amazons() {
        let seller = generated(&spec(11));
        let mut seen = HashSet::new();
        for order in &seller.orders {
            assert!(seen.insert(order.amazon_order_id.clone()));
            let parts: Vec<_> = order.amazon_order_id.split('-').map(str::len).collect();
            assert_eq!(parts, [3, 7, 7], "{}", order.amazon_order_id);
            for item in &order.items {
                assert_eq!(item.order_item_id.len(), 14);
                assert!(item.order_item_id.bytes().all(|b| b.is_ascii_digit()));
                assert!(seen.insert(item.order_item_id.clone()));
                assert!(seen.insert(item.shipment_item_id.clone()));
            }
        }
    }

    #[test]
    fn eu_prices_include_vat_and_yen_prices_are_whole() {
        let de = generated(&spec(5).in_marketplaces(&["A1PA6795UKMFR9"]));
        for item in de.orders.iter().flat_map(|o| &o.items) {
            let a = item.amounts;
            assert_eq!(a.item_tax, tax_of(a.item_price, 1900, false));
            assert!(a.item_tax * 100 < a.item_price * 19, "{a:?}");
        }
        let jp = generated(&spec(5).in_marketplaces(&["A1VC38T7YXB528"]));
        assert!(
            jp.orders
                .iter()
                .flat_map(|o| &o.items)
                .all(|i| i.amounts.item_price % 10 == 0)
        );
        assert_eq!(jp.orders[0].decimals(), 0);
    }

    #[test]
    fn taxes_round_like_amazon() {
        assert_eq!(tax_of(11_900, 1900, false), 1_900);
        assert_eq!(tax_of(1_000, 725, true), 73);
        assert_eq!(tax_of(1_980, 1000, false), 180);
    }

    #[test]
    fn a_spec_must_stay_in_one_region_and_name_known_marketplaces() {
        let mixed = spec(1).in_marketplaces(&["ATVPDKIKX0DER", "A1PA6795UKMFR9"]);
        assert!(mixed.validate().expect_err("two regions").contains("one region"));
        let unknown = spec(1).in_marketplaces(&["NOPE"]);
        assert!(unknown.validate().expect_err("unknown").contains("NOPE"));
    }
}
