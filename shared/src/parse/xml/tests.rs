use std::io::BufReader;

use encoding_rs::WINDOWS_1252;

use super::*;
use crate::parse::decode_xml;

const FIXTURE: &str = include_str!("../../../tests/fixtures/report-all-orders.xml");

fn parse_bytes(bytes: &[u8], content_type: Option<&str>) -> Vec<Result<Parsed<Order>, ParseError>> {
    AllOrdersXml::new(BufReader::new(decode_xml(bytes, content_type).unwrap())).collect()
}

fn orders(text: &str) -> Vec<Record<Order>> {
    parse_bytes(text.as_bytes(), None)
        .into_iter()
        .map(|e| match e {
            Ok(Parsed::Record(r)) => r,
            other => panic!("expected an order, got {other:?}"),
        })
        .collect()
}

fn money(amount: &str, currency: &str) -> Option<Money> {
    Some(Money::new(amount.parse().unwrap(), currency.parse().unwrap()))
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn every_order_element_becomes_an_order() {
    let orders = orders(FIXTURE);
    let ids: Vec<&str> = orders.iter().map(|o| o.value.amazon_order_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "111-5574600-0153060",
            "302-7715530-4412345",
            "111-9754278-6869864"
        ]
    );
    assert_eq!(orders[0].line, 8);
    let first = &orders[0].value;
    assert_eq!(first.merchant_order_id.as_deref(), Some("111-5574600-0153060"));
    assert_eq!(first.purchase_date, utc("2026-10-31T03:06:06Z"));
    assert_eq!(first.last_updated, utc("2026-11-01T04:11:42Z"));
    assert_eq!(first.status, OrderStatus::Shipped);
    assert_eq!(first.fulfillment_channel, FulfillmentChannel::Mfn);
    assert_eq!(first.ship_service_level.as_deref(), Some("SecondDay"));
    assert_eq!(first.ship_to.postal_code.as_deref(), Some("33195-2855"));
    assert_eq!(first.marketplace_id.as_deref(), Some("ATVPDKIKX0DER"));
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.items[0].sku, "TEE-JL-M");
    assert_eq!(first.items[0].quantity, 2);
    assert_eq!(
        first.items[0].product_name,
        "Justice League Emblems T Shirt & Stickers (Medium) – 2 pack"
    );
    assert_eq!(first.items[1].product_name, "Batman Logo T Shirt <Small>");
    assert_eq!(orders[2].value.items[0].quantity, 0);
    assert_eq!(orders[2].value.items[0].amounts, ItemAmounts::default());
}

#[test]
fn price_components_and_promotions_map_to_item_amounts() {
    let orders = orders(FIXTURE);
    let item = &orders[0].value.items[0];
    assert_eq!(
        item.amounts,
        ItemAmounts {
            item_price: money("31.90", "USD"),
            item_tax: money("2.23", "USD"),
            shipping_price: money("4.49", "USD"),
            shipping_tax: money("0.31", "USD"),
            gift_wrap_price: money("3.99", "USD"),
            gift_wrap_tax: money("0.28", "USD"),
            item_promotion_discount: money("-1.50", "USD"),
            ship_promotion_discount: money("-4.49", "USD"),
        }
    );
    assert_eq!(item.promotion_ids, ["Core Free Shipping 2026", "PLM-TEE-5"]);
}

#[test]
fn an_amount_without_a_currency_attribute_takes_the_marketplaces() {
    let orders = orders(FIXTURE);
    let de = &orders[1].value;
    assert_eq!(de.items[0].amounts.item_price, money("49.90", "EUR"));
    assert_eq!(de.fulfillment_channel, FulfillmentChannel::Afn);
    assert!(de.is_business_order);
    assert_eq!(de.purchase_order_number.as_deref(), Some("BE-2026-117"));
    assert_eq!(de.ship_to.city.as_deref(), Some("Köln"));
}

/// A multi-channel (Non-Amazon) order names no marketplace; its promotion discounts, which carry no currency
/// attribute, are in the currency its prices state.
#[test]
fn a_discount_without_a_currency_takes_the_items_own_currency_where_the_channel_names_none() {
    let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope><Header><DocumentVersion>1.00</DocumentVersion></Header><MessageType>AllOrdersReport</MessageType>
<Message><Order><AmazonOrderID>111-4123185-3853729</AmazonOrderID><MerchantOrderID>MCF-39640621</MerchantOrderID>
<PurchaseDate>2025-03-08T18:58:47+00:00</PurchaseDate><LastUpdatedDate>2025-03-09T12:42:42+00:00</LastUpdatedDate>
<OrderStatus>Shipped</OrderStatus><SalesChannel>Non-Amazon</SalesChannel>
<FulfillmentData><FulfillmentChannel>Amazon</FulfillmentChannel></FulfillmentData><IsBusinessOrder>false</IsBusinessOrder>
<OrderItem><ASIN>B0EG55DZS8</ASIN><SKU>682602</SKU><ItemStatus>Shipped</ItemStatus><ProductName>Mat</ProductName>
<Quantity>1</Quantity><ItemPrice><Component><Type>Principal</Type><Amount currency="USD">39.99</Amount></Component>
</ItemPrice><Promotion><PromotionIDs>PROMO-1</PromotionIDs><ItemPromotionDiscount>-5.99</ItemPromotionDiscount>
</Promotion></OrderItem></Order></Message></AmazonEnvelope>"#;
    let orders = orders(text);
    let item = &orders[0].value.items[0];
    assert_eq!(orders[0].value.marketplace_id, None);
    assert_eq!(item.amounts.item_price, money("39.99", "USD"));
    assert_eq!(item.amounts.item_promotion_discount, money("-5.99", "USD"));
}

#[test]
fn an_iso_8859_1_declaration_decodes_when_the_content_type_names_no_charset() {
    let latin = FIXTURE.replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1);
    let (bytes, _, _) = WINDOWS_1252.encode(&latin);
    let parsed: Vec<Order> = parse_bytes(&bytes, Some("text/xml"))
        .into_iter()
        .map(|e| match e {
            Ok(Parsed::Record(r)) => r.value,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(parsed[1].ship_to.city.as_deref(), Some("Köln"));
    let utf8: Vec<Order> = orders(FIXTURE).into_iter().map(|r| r.value).collect();
    assert_eq!(parsed, utf8);
}

#[test]
fn a_bad_value_quarantines_its_order_and_the_next_ones_still_read() {
    let text = FIXTURE.replacen(
        "<Amount currency=\"USD\">4.49</Amount>",
        "<Amount currency=\"USD\">4,49</Amount>",
        1,
    );
    let entries = parse_bytes(text.as_bytes(), None);
    assert_eq!(entries.len(), 3);
    match &entries[0] {
        Ok(Parsed::Quarantined(q)) => {
            assert_eq!(q.order_id.as_deref(), Some("111-5574600-0153060"));
            assert_eq!(q.reason, "Amount: not a decimal amount like 12.34");
            assert_eq!(q.line, 39);
            assert_eq!((q.lines.first(), q.lines.last()), (Some(&8), Some(&81)));
        }
        other => panic!("expected a quarantine entry, got {other:?}"),
    }
    assert!(matches!(&entries[1], Ok(Parsed::Record(r)) if r.value.amazon_order_id == "302-7715530-4412345"));
}

#[test]
fn a_missing_required_element_quarantines_the_order() {
    let text = FIXTURE.replacen(
        "<LastUpdatedDate>2026-10-31T22:15:30+01:00</LastUpdatedDate>",
        "",
        1,
    );
    let entries = parse_bytes(text.as_bytes(), None);
    let reasons: Vec<&str> = entries
        .iter()
        .filter_map(|e| match e {
            Ok(Parsed::Quarantined(q)) => Some(q.reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, ["LastUpdatedDate: missing"]);
}

#[test]
fn a_truncated_document_is_a_retryable_error_after_the_complete_orders() {
    let cut = &FIXTURE[..FIXTURE.find("<AmazonOrderID>302-").unwrap()];
    let entries = parse_bytes(cut.as_bytes(), None);
    assert_eq!(entries.len(), 2);
    assert!(matches!(&entries[0], Ok(Parsed::Record(_))));
    let err = entries[1].as_ref().unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn another_message_type_is_refused() {
    let text = FIXTURE.replace("AllOrdersReport", "OrderReport");
    let entries = parse_bytes(text.as_bytes(), None);
    assert!(
        matches!(entries.as_slice(), [Err(ParseError::WrongReport(_))]),
        "{entries:?}"
    );
}

#[test]
fn malformed_xml_is_an_error_with_a_line() {
    let text = FIXTURE.replacen("</SKU>", "</SKUX>", 1);
    let entries = parse_bytes(text.as_bytes(), None);
    match entries.last() {
        Some(Err(ParseError::Xml { line, .. })) => assert_eq!(*line, 28),
        other => panic!("expected an XML error, got {other:?}"),
    }
}

#[test]
fn an_order_of_more_items_than_the_cap_is_quarantined_and_the_next_order_still_reads() {
    let start = FIXTURE.find("<OrderItem>").unwrap();
    let end = FIXTURE[start..].find("</OrderItem>").unwrap() + start + "</OrderItem>".len();
    let item = &FIXTURE[start..end];
    let mut doc = FIXTURE[..end].to_owned();
    for _ in 0..crate::parse::MAX_ROWS_PER_ORDER {
        doc.push_str(item);
    }
    doc.push_str(&FIXTURE[end..]);
    let entries: Vec<_> = parse_bytes(doc.as_bytes(), None)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let quarantined: Vec<_> = entries
        .iter()
        .filter_map(|e| match e {
            Parsed::Quarantined(q) => Some(q),
            Parsed::Record(_) => None,
        })
        .collect();
    assert_eq!(quarantined.len(), 1, "{} entries", entries.len());
    assert!(
        quarantined[0].reason.contains("more than 1000"),
        "{}",
        quarantined[0].reason
    );
    assert_eq!(entries.len(), 3, "the other orders still read");
}
