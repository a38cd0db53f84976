//! `GET_XML_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL` (and `_BY_ORDER_DATE_GENERAL`): an `AmazonEnvelope` of
//! `MessageType` `AllOrdersReport`, one `Message/Order` per order, streamed with quick-xml 0.42.
//!
//! Item amounts come from `ItemPrice/Component` (`Type` Principal, Shipping, GiftWrap, Tax, ShippingTax,
//! GiftWrapTax; other types are ignored) and `Promotion` (`ItemPromotionDiscount`/`ShipPromotionDiscount`,
//! or `Component` Principal/Shipping as in the OrderReport schema). An `Amount` without a `currency`
//! attribute takes the marketplace's currency. A bad value quarantines its whole order.

use std::fmt;
use std::io::{self, BufRead, Read};

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use rust_decimal::Decimal;

use super::all_orders::{ChannelCache, fulfillment_channel, order_status};
use super::value::{self, CellError, CellResult};
use super::{ParseSummary, Parsed, Quarantined, Record};
use crate::domain::{
    Currency, FulfillmentChannel, ItemAmounts, Money, Order, OrderItem, OrderStatus, ShipTo,
};
use crate::error::ParseError;

/// Longest text of one element; longer values (no real field comes close) quarantine their order.
const MAX_TEXT: usize = 64 << 10;

/// Elements the parser reads; everything else is skipped whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    MessageType,
    Order,
    AmazonOrderId,
    MerchantOrderId,
    PurchaseDate,
    LastUpdatedDate,
    OrderStatus,
    SalesChannel,
    FulfillmentData,
    FulfillmentChannel,
    ShipServiceLevel,
    Address,
    City,
    State,
    PostalCode,
    Country,
    IsBusinessOrder,
    PurchaseOrderNumber,
    OrderItem,
    Asin,
    Sku,
    ItemStatus,
    ProductName,
    Quantity,
    ItemPrice,
    Promotion,
    Component,
    Type,
    Amount,
    PromotionIds,
    ItemPromotionDiscount,
    ShipPromotionDiscount,
    Other,
}

impl Tag {
    fn child(in_order: bool, parent: Option<Tag>, name: &str) -> Tag {
        use Tag::*;
        if !in_order {
            // Outside any order only the envelope's parts matter, wherever they nest.
            return match name {
                "MessageType" => MessageType,
                "Order" => Order,
                _ => Other,
            };
        }
        match (parent, name) {
            (Some(Order), _) => match name {
                "AmazonOrderID" => AmazonOrderId,
                "MerchantOrderID" => MerchantOrderId,
                "PurchaseDate" => PurchaseDate,
                "LastUpdatedDate" => LastUpdatedDate,
                "OrderStatus" => OrderStatus,
                "SalesChannel" => SalesChannel,
                "FulfillmentData" => FulfillmentData,
                "IsBusinessOrder" => IsBusinessOrder,
                "PurchaseOrderNumber" => PurchaseOrderNumber,
                "OrderItem" => OrderItem,
                _ => Other,
            },
            (Some(FulfillmentData), "FulfillmentChannel") => FulfillmentChannel,
            (Some(FulfillmentData), "ShipServiceLevel") => ShipServiceLevel,
            (Some(FulfillmentData), "Address") => Address,
            (Some(Address), "City") => City,
            (Some(Address), "State" | "StateOrRegion") => State,
            (Some(Address), "PostalCode") => PostalCode,
            (Some(Address), "Country" | "CountryCode") => Country,
            (Some(OrderItem), _) => match name {
                "ASIN" => Asin,
                "SKU" => Sku,
                "ItemStatus" => ItemStatus,
                "ProductName" | "Title" => ProductName,
                "Quantity" => Quantity,
                "ItemPrice" => ItemPrice,
                "Promotion" => Promotion,
                _ => Other,
            },
            (Some(ItemPrice | Promotion), "Component") => Component,
            (Some(Component), "Type") => Type,
            (Some(Component), "Amount") => Amount,
            (Some(Promotion), "PromotionIDs" | "PromotionID" | "MerchantPromotionID") => PromotionIds,
            (Some(Promotion), "ItemPromotionDiscount") => ItemPromotionDiscount,
            (Some(Promotion), "ShipPromotionDiscount") => ShipPromotionDiscount,
            _ => Other,
        }
    }

    /// The element's name, for quarantine reasons.
    fn name(self) -> &'static str {
        use Tag::*;
        match self {
            MessageType => "MessageType",
            Order => "Order",
            AmazonOrderId => "AmazonOrderID",
            MerchantOrderId => "MerchantOrderID",
            PurchaseDate => "PurchaseDate",
            LastUpdatedDate => "LastUpdatedDate",
            OrderStatus => "OrderStatus",
            SalesChannel => "SalesChannel",
            FulfillmentData => "FulfillmentData",
            FulfillmentChannel => "FulfillmentChannel",
            ShipServiceLevel => "ShipServiceLevel",
            Address => "Address",
            City => "City",
            State => "State",
            PostalCode => "PostalCode",
            Country => "Country",
            IsBusinessOrder => "IsBusinessOrder",
            PurchaseOrderNumber => "PurchaseOrderNumber",
            OrderItem => "OrderItem",
            Asin => "ASIN",
            Sku => "SKU",
            ItemStatus => "ItemStatus",
            ProductName => "ProductName",
            Quantity => "Quantity",
            ItemPrice => "ItemPrice",
            Promotion => "Promotion",
            Component => "Component",
            Type => "Type",
            Amount => "Amount",
            PromotionIds => "PromotionIDs",
            ItemPromotionDiscount => "ItemPromotionDiscount",
            ShipPromotionDiscount => "ShipPromotionDiscount",
            Other => "element",
        }
    }

    /// Whether the element's text is read.
    fn is_leaf(self) -> bool {
        !matches!(
            self,
            Tag::Order
                | Tag::FulfillmentData
                | Tag::Address
                | Tag::OrderItem
                | Tag::ItemPrice
                | Tag::Promotion
                | Tag::Component
                | Tag::Other
        )
    }
}

/// An amount as written: the currency, when the element named one.
type RawAmount = (Decimal, Option<Currency>);

#[derive(Default)]
struct XmlItem {
    sku: Option<CompactString>,
    asin: CompactString,
    item_status: Option<CompactString>,
    product_name: CompactString,
    quantity: Option<u32>,
    /// In [`ItemAmounts`] field order.
    amounts: [Option<RawAmount>; 8],
    promotion_ids: Vec<CompactString>,
}

#[derive(Default)]
struct XmlOrder {
    line: u64,
    error: Option<(u64, CellError)>,
    amazon_order_id: Option<CompactString>,
    merchant_order_id: Option<CompactString>,
    purchase_date: Option<DateTime<Utc>>,
    last_updated: Option<DateTime<Utc>>,
    status: Option<OrderStatus>,
    fulfillment_channel: Option<FulfillmentChannel>,
    sales_channel: CompactString,
    ship_service_level: Option<CompactString>,
    ship_to: ShipTo,
    is_business_order: bool,
    purchase_order_number: Option<CompactString>,
    items: Vec<XmlItem>,
}

/// The `Component` being read.
#[derive(Default)]
struct XmlComponent {
    kind: Option<String>,
    amount: Option<RawAmount>,
}

/// Counts lines as quick-xml consumes bytes, for line numbers in quarantine entries and errors.
struct LineCounter<R> {
    inner: R,
    newlines: u64,
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let amount = amount.min(buf.len());
            self.newlines += memchr::memchr_iter(b'\n', &buf[..amount]).count() as u64;
        }
        self.inner.consume(amount);
    }
}

/// Reads an XML all-orders report into [`Order`]s. Each `<Order>` is complete in itself, so records are
/// never `split`; an order id that appears twice is two snapshots, the newer `LastUpdatedDate` wins.
pub struct AllOrdersXml<R: BufRead> {
    reader: quick_xml::Reader<LineCounter<R>>,
    buf: Vec<u8>,
    stack: Vec<Tag>,
    text: String,
    text_too_long: bool,
    order: Option<XmlOrder>,
    item: Option<XmlItem>,
    component: XmlComponent,
    amount_currency: Option<Currency>,
    channel_cache: ChannelCache,
    summary: ParseSummary,
    /// An element was read: a document without any is refused, not read as "no orders".
    saw_element: bool,
    done: bool,
}

impl<R: BufRead> AllOrdersXml<R> {
    /// Starts reading `input`, which must be UTF-8: wrap the document in [`super::decode_xml`] (and a
    /// `BufReader`). Nothing is read until the first `next`.
    pub fn new(input: R) -> Self {
        let mut reader = quick_xml::Reader::from_reader(LineCounter {
            inner: input,
            newlines: 0,
        });
        reader.config_mut().expand_empty_elements = true;
        AllOrdersXml {
            reader,
            buf: Vec::with_capacity(1024),
            stack: Vec::with_capacity(16),
            text: String::new(),
            text_too_long: false,
            order: None,
            item: None,
            component: XmlComponent::default(),
            amount_currency: None,
            channel_cache: ChannelCache::default(),
            summary: ParseSummary::default(),
            saw_element: false,
            done: false,
        }
    }

    /// Counts so far; final once the iterator has ended.
    pub fn summary(&self) -> ParseSummary {
        ParseSummary {
            lines: self.line(),
            ..self.summary
        }
    }

    fn line(&self) -> u64 {
        self.reader.get_ref().newlines + 1
    }

    fn fail(&mut self, reason: String) -> Option<Result<Parsed<Order>, ParseError>> {
        self.done = true;
        Some(Err(ParseError::Xml {
            line: self.line(),
            reason,
        }))
    }

    /// Records the first problem of the current order.
    fn problem(&mut self, error: CellError) {
        let line = self.line();
        if let Some(order) = self.order.as_mut()
            && order.error.is_none()
        {
            order.error = Some((line, error));
        }
    }

    fn start(&mut self, tag: Tag, element: &BytesStart<'_>) {
        match tag {
            Tag::Order => {
                self.summary.rows += 1;
                self.order = Some(XmlOrder {
                    line: self.line(),
                    ..XmlOrder::default()
                });
            }
            Tag::OrderItem => self.item = Some(XmlItem::default()),
            Tag::Component => self.component = XmlComponent::default(),
            Tag::Amount | Tag::ItemPromotionDiscount | Tag::ShipPromotionDiscount => {
                self.amount_currency = None;
                let currency = element.try_get_attribute("currency").ok().flatten().map(|attr| {
                    attr.normalized_value(XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                });
                match currency {
                    None => {}
                    Some(Ok(code)) => match Currency::parse("currency", &code) {
                        Ok(currency) => self.amount_currency = Some(currency),
                        Err(_) => {
                            self.problem(CellError::new("currency", "not a three-letter ISO 4217 code"))
                        }
                    },
                    Some(Err(_)) => self.problem(CellError::new("currency", "unreadable attribute")),
                }
            }
            _ => {}
        }
        if tag.is_leaf() {
            self.text.clear();
            self.text_too_long = false;
        }
    }

    /// Handles the end of `tag`; returns a finished order.
    fn end(&mut self, tag: Tag) -> Result<Option<Parsed<Order>>, ParseError> {
        if self.order.is_none() {
            if tag == Tag::MessageType && self.text.trim() != "AllOrdersReport" {
                return Err(ParseError::WrongReport(
                    "MessageType is not AllOrdersReport".to_owned(),
                ));
            }
            return Ok(None);
        }
        let applied = if tag.is_leaf() && self.text_too_long {
            Err(CellError::new(tag.name(), "longer than 64 KiB"))
        } else {
            self.apply(tag)
        };
        if let Err(error) = applied {
            self.problem(error);
        }
        if tag == Tag::Order {
            return Ok(self.order.take().map(|order| self.finish(order)));
        }
        Ok(None)
    }

    /// Stores the value of a closed element in the order being read.
    fn apply(&mut self, tag: Tag) -> CellResult<()> {
        let text = self.text.as_str();
        let Some(order) = self.order.as_mut() else {
            return Ok(());
        };
        if tag == Tag::OrderItem {
            let item = self.item.take();
            if order.items.len() >= super::MAX_ROWS_PER_ORDER {
                // The order stops growing; it is quarantined whole when it ends.
                const _: () = assert!(super::MAX_ROWS_PER_ORDER == 1_000, "say so below");
                return Err(CellError::new(
                    "OrderItem",
                    "more than 1000 in one order: quarantined whole",
                ));
            }
            order.items.extend(item);
            return Ok(());
        }
        match tag {
            Tag::AmazonOrderId => order.amazon_order_id = value::opt_text(text),
            Tag::MerchantOrderId => order.merchant_order_id = value::opt_text(text),
            Tag::PurchaseDate => order.purchase_date = Some(value::date("PurchaseDate", text)?),
            Tag::LastUpdatedDate => order.last_updated = Some(value::date("LastUpdatedDate", text)?),
            Tag::OrderStatus => order.status = Some(order_status("OrderStatus", text)?),
            Tag::SalesChannel => order.sales_channel = value::text(text),
            Tag::FulfillmentChannel => {
                order.fulfillment_channel = Some(fulfillment_channel("FulfillmentChannel", text)?)
            }
            Tag::ShipServiceLevel => order.ship_service_level = value::opt_text(text),
            Tag::City => order.ship_to.city = value::opt_text(text),
            Tag::State => order.ship_to.state = value::opt_text(text),
            Tag::PostalCode => order.ship_to.postal_code = value::opt_text(text),
            Tag::Country => order.ship_to.country = value::opt_text(text),
            Tag::IsBusinessOrder => order.is_business_order = value::flag("IsBusinessOrder", text)?,
            Tag::PurchaseOrderNumber => order.purchase_order_number = value::opt_text(text),
            _ => {}
        }
        let Some(item) = self.item.as_mut() else {
            return Ok(());
        };
        match tag {
            Tag::Asin => item.asin = value::text(text),
            Tag::Sku => item.sku = value::opt_text(text),
            Tag::ItemStatus => item.item_status = value::opt_text(text),
            Tag::ProductName => item.product_name = value::text(text),
            Tag::Quantity => item.quantity = Some(value::quantity("Quantity", text)?),
            Tag::PromotionIds => item.promotion_ids.extend(super::all_orders::promotion_ids(text)),
            Tag::Type => self.component.kind = value::opt_text(text),
            Tag::Amount => self.component.amount = raw_amount("Amount", text, self.amount_currency)?,
            Tag::ItemPromotionDiscount => add_amount(
                &mut item.amounts[6],
                raw_amount("ItemPromotionDiscount", text, self.amount_currency)?,
            )?,
            Tag::ShipPromotionDiscount => add_amount(
                &mut item.amounts[7],
                raw_amount("ShipPromotionDiscount", text, self.amount_currency)?,
            )?,
            Tag::Component => {
                let in_promotion = self.stack.last() == Some(&Tag::Promotion);
                let component = std::mem::take(&mut self.component);
                let slot = match (in_promotion, component.kind.as_deref()) {
                    (false, Some("Principal")) => Some(0),
                    (false, Some("Tax")) => Some(1),
                    (false, Some("Shipping")) => Some(2),
                    (false, Some("ShippingTax")) => Some(3),
                    (false, Some("GiftWrap")) => Some(4),
                    (false, Some("GiftWrapTax")) => Some(5),
                    (true, Some("Principal")) => Some(6),
                    (true, Some("Shipping")) => Some(7),
                    _ => None,
                };
                if let Some(slot) = slot {
                    add_amount(&mut item.amounts[slot], component.amount)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, order: XmlOrder) -> Parsed<Order> {
        let end_line = self.line();
        let start_line = order.line;
        let order_id = order.amazon_order_id.clone();
        let built = match order.error {
            Some((line, error)) => Err((line, error)),
            None => self.build(order).map_err(|error| (end_line, error)),
        };
        match built {
            Ok((order, line)) => {
                self.summary.records += 1;
                Parsed::Record(Record {
                    value: order,
                    line,
                    split: false,
                })
            }
            Err((line, error)) => {
                self.summary.quarantined += 1;
                self.summary.quarantined_rows += 1;
                Parsed::Quarantined(Quarantined {
                    line,
                    lines: (start_line..=end_line).collect(),
                    order_id: order_id.map(String::from),
                    reason: error.reason(),
                })
            }
        }
    }

    fn build(&mut self, order: XmlOrder) -> CellResult<(Order, u64)> {
        let missing = |name| CellError::new(name, "missing");
        let marketplace = self.channel_cache.lookup(&order.sales_channel);
        let fallback = marketplace.and_then(|m| Currency::parse("currency", m.currency).ok());
        let items = order
            .items
            .into_iter()
            .map(|item| {
                // An amount without a currency attribute (promotion discounts carry none) is in the currency
                // the item's other amounts state; only where none does, the sales channel's (a Non-Amazon
                // order names no marketplace, so its amounts must say theirs).
                let stated = item.amounts.iter().flatten().find_map(|(_, currency)| *currency);
                let [a0, a1, a2, a3, a4, a5, a6, a7] = item.amounts.map(|a| resolve(a, stated.or(fallback)));
                Ok(OrderItem {
                    sku: item.sku.ok_or(missing("SKU"))?,
                    asin: item.asin,
                    product_name: item.product_name,
                    item_status: item.item_status,
                    quantity: item.quantity.ok_or(missing("Quantity"))?,
                    amounts: ItemAmounts {
                        item_price: a0?,
                        item_tax: a1?,
                        shipping_price: a2?,
                        shipping_tax: a3?,
                        gift_wrap_price: a4?,
                        gift_wrap_tax: a5?,
                        item_promotion_discount: a6?,
                        ship_promotion_discount: a7?,
                    },
                    promotion_ids: item.promotion_ids,
                })
            })
            .collect::<CellResult<Vec<_>>>()?;
        let built = Order {
            amazon_order_id: order.amazon_order_id.ok_or(missing("AmazonOrderID"))?,
            merchant_order_id: order.merchant_order_id,
            purchase_date: order.purchase_date.ok_or(missing("PurchaseDate"))?,
            last_updated: order.last_updated.ok_or(missing("LastUpdatedDate"))?,
            status: order.status.ok_or(missing("OrderStatus"))?,
            fulfillment_channel: order.fulfillment_channel.ok_or(missing("FulfillmentChannel"))?,
            sales_channel: order.sales_channel,
            marketplace_id: marketplace.map(|m| m.id.into()),
            ship_service_level: order.ship_service_level,
            ship_to: order.ship_to,
            is_business_order: order.is_business_order,
            purchase_order_number: order.purchase_order_number,
            items,
        };
        Ok((built, order.line))
    }
}

fn raw_amount(column: &'static str, text: &str, currency: Option<Currency>) -> CellResult<Option<RawAmount>> {
    match value::decimal(text) {
        Ok(amount) => Ok(amount.map(|amount| (amount, currency))),
        Err(()) => Err(CellError::new(column, "not a decimal amount like 12.34")),
    }
}

/// Adds an amount into a slot: Amazon may split one charge over several components.
fn add_amount(slot: &mut Option<RawAmount>, amount: Option<RawAmount>) -> CellResult<()> {
    let Some((amount, currency)) = amount else {
        return Ok(());
    };
    *slot = match *slot {
        None => Some((amount, currency)),
        Some((sum, earlier)) => {
            if earlier.is_some() && currency.is_some() && earlier != currency {
                return Err(CellError::new(
                    "currency",
                    "amounts of one item in different currencies",
                ));
            }
            let sum = sum
                .checked_add(amount)
                .ok_or(CellError::new("Amount", "sum out of range"))?;
            Some((sum, earlier.or(currency)))
        }
    };
    Ok(())
}

fn resolve(amount: Option<RawAmount>, fallback: Option<Currency>) -> CellResult<Option<Money>> {
    match amount {
        None => Ok(None),
        Some((amount, currency)) => currency
            .or(fallback)
            .map(|currency| Some(Money::new(amount, currency)))
            .ok_or(CellError::new(
                "currency",
                "no currency attribute, and the sales channel names no marketplace to take it from",
            )),
    }
}

impl<R: BufRead> Iterator for AllOrdersXml<R> {
    type Item = Result<Parsed<Order>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        // Events borrow the buffer; taking it out of `self` leaves `self` free to update.
        let mut buf = std::mem::take(&mut self.buf);
        let entry = self.next_entry(&mut buf);
        self.buf = buf;
        entry
    }
}

impl<R: BufRead> AllOrdersXml<R> {
    fn next_entry(&mut self, buf: &mut Vec<u8>) -> Option<Result<Parsed<Order>, ParseError>> {
        loop {
            buf.clear();
            let event = match self.reader.read_event_into(buf) {
                Ok(event) => event,
                Err(err) => return self.fail(err.to_string()),
            };
            let in_leaf = self.stack.last().is_some_and(|t| t.is_leaf());
            match event {
                Event::Start(element) => {
                    self.saw_element = true;
                    let parent = self.stack.last().copied();
                    let tag = Tag::child(self.order.is_some(), parent, element.local_name().as_ref());
                    self.stack.push(tag);
                    self.start(tag, &element);
                }
                Event::End(_) => {
                    let Some(tag) = self.stack.pop() else {
                        return self.fail("closing tag without an opening one".into());
                    };
                    match self.end(tag) {
                        Ok(Some(entry)) => return Some(Ok(entry)),
                        Ok(None) => {}
                        Err(err) => {
                            self.done = true;
                            return Some(Err(err));
                        }
                    }
                }
                Event::Text(text) if in_leaf => {
                    let content = text.xml_content(XmlVersion::Implicit1_0);
                    push_text(&mut self.text, &mut self.text_too_long, &content);
                }
                Event::CData(data) if in_leaf => {
                    let content = data.xml_content(XmlVersion::Implicit1_0);
                    push_text(&mut self.text, &mut self.text_too_long, &content);
                }
                Event::GeneralRef(reference) if in_leaf => match reference.resolve_char_ref() {
                    Ok(Some(ch)) => push_text(
                        &mut self.text,
                        &mut self.text_too_long,
                        ch.encode_utf8(&mut [0; 4]),
                    ),
                    Ok(None) => match resolve_predefined_entity(&reference) {
                        Some(text) => push_text(&mut self.text, &mut self.text_too_long, text),
                        None => self.problem(CellError::new("element", "unknown entity reference")),
                    },
                    Err(_) => self.problem(CellError::new("element", "invalid character reference")),
                },
                Event::Eof => {
                    self.done = true;
                    if !self.stack.is_empty() {
                        let inside = if self.order.is_some() {
                            "Order"
                        } else {
                            "AmazonEnvelope"
                        };
                        return self.fail(format!("document ends inside <{inside}>: truncated download"));
                    }
                    if !self.saw_element {
                        // Not retryable (unlike a malformed document, which may be a cut download): the
                        // same bytes read the same way again.
                        return Some(Err(ParseError::WrongReport(format!(
                            "no XML element up to line {}: the declared encoding (or the Content-Type's \
                             charset) does not match the document's bytes, or it is not XML",
                            self.line()
                        ))));
                    }
                    return None;
                }
                _ => {}
            }
        }
    }
}

fn push_text(text: &mut String, too_long: &mut bool, content: &str) {
    if text.len() + content.len() > MAX_TEXT {
        *too_long = true;
    } else {
        text.push_str(content);
    }
}

impl<R: BufRead> fmt::Debug for AllOrdersXml<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllOrdersXml")
            .field("summary", &self.summary())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
