use encoding_rs::WINDOWS_1252;
use rust_decimal::Decimal;

use super::*;
use crate::domain::{FulfillmentChannel, Money};
use crate::parse::Charset;

const FIXTURE: &str = include_str!("../../../tests/fixtures/report-fba-shipments.tsv");

fn parse(text: &str) -> (Vec<Parsed<WithBuyer<FbaShipmentItem>>>, ParseSummary) {
    let mut reader = FbaShipmentsFlat::new(text.as_bytes(), Charset::UTF_8).unwrap();
    let entries = (&mut reader).map(Result::unwrap).collect();
    (entries, reader.summary())
}

fn records(text: &str) -> Vec<Record<WithBuyer<FbaShipmentItem>>> {
    parse(text)
        .0
        .into_iter()
        .filter_map(|e| match e {
            Parsed::Record(r) => Some(r),
            Parsed::Quarantined(_) => None,
        })
        .collect()
}

#[test]
fn every_row_is_a_shipment_item_keyed_by_its_shipment_item_id() {
    let records = records(FIXTURE);
    let keys: Vec<&str> = records
        .iter()
        .map(|r| r.value.data.shipment_item_id.as_str())
        .collect();
    assert_eq!(keys, ["DnQ4r8TzX", "DnQ4r8TzY", "D1BL053WR"]);
    let item = &records[0].value.data;
    assert_eq!(item.amazon_order_id, "111-2290145-3321087");
    assert_eq!(item.shipment_id, "Zk3PqL9wK");
    assert_eq!(item.amazon_order_item_id, "17493802264151");
    assert_eq!(item.sku, "SKL-12-CI");
    assert_eq!(item.quantity_shipped, 1);
    assert_eq!(item.carrier.as_deref(), Some("AMZN_US"));
    assert_eq!(item.tracking_number.as_deref(), Some("TBA305532241004"));
    assert_eq!(item.fulfillment_center_id.as_deref(), Some("CMH1"));
    assert_eq!(item.fulfillment_channel, Some(FulfillmentChannel::Afn));
    assert_eq!(item.marketplace_id.as_deref(), Some("ATVPDKIKX0DER"));
    assert_eq!(item.ship_to.city.as_deref(), Some("MOSCOW MILLS"));
    assert_eq!(records[2].line, 4);
}

#[test]
fn shipment_dates_become_utc() {
    let item = &records(FIXTURE)[0].value.data;
    assert_eq!(
        item.purchase_date,
        "2026-10-28T14:32:18Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(
        item.shipment_date,
        "2026-10-29T20:14:07Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(item.reporting_date, "2026-10-29T21:14:15Z".parse().ok());
    assert_eq!(item.estimated_arrival_date, "2026-11-01T03:00:00Z".parse().ok());
}

#[test]
fn money_columns_are_exact_including_discounts() {
    let item = &records(FIXTURE)[1].value.data;
    let usd = |s: &str| Some(Money::new(s.parse::<Decimal>().unwrap(), "USD".parse().unwrap()));
    assert_eq!(item.amounts.item_price, usd("14.98"));
    assert_eq!(item.amounts.shipping_price, usd("0.75"));
    assert_eq!(item.amounts.ship_promotion_discount, usd("-0.75"));
    assert_eq!(item.amounts.gift_wrap_tax, usd("0.00"));
}

#[test]
fn the_buyer_columns_are_split_off() {
    let record = &records(FIXTURE)[0].value;
    let buyer = record.buyer.as_ref().unwrap();
    assert_eq!(
        buyer.buyer_email.as_deref(),
        Some("w7c2n5q1z8kd3fh@marketplace.amazon.com")
    );
    assert_eq!(buyer.ship_to.city.as_deref(), Some("MOSCOW MILLS"));
    assert_eq!(buyer.bill_to, None, "all bill-* cells are empty");
    let json = serde_json::to_string(&record.data).unwrap();
    assert!(!json.contains("w7c2n5q1z8kd3fh"));
}

#[test]
fn a_bad_row_is_quarantined_alone_with_its_line() {
    let text = FIXTURE.replacen("\t2\tUSD\t14.98", "\ttwo\tUSD\t14.98", 1);
    let (entries, summary) = parse(&text);
    assert_eq!(entries.len(), 3);
    match &entries[1] {
        Parsed::Quarantined(q) => {
            assert_eq!((q.line, q.order_id.as_deref()), (3, Some("111-2290145-3321087")));
            assert_eq!(q.reason, "quantity-shipped: not a whole number of units");
        }
        other => panic!("expected a quarantine entry, got {other:?}"),
    }
    assert_eq!((summary.records, summary.quarantined, summary.lines), (2, 1, 4));
}

#[test]
fn shuffled_columns_in_cp1252_read_the_same() {
    let mut rows: Vec<Vec<&str>> = FIXTURE.lines().map(|l| l.split('\t').collect()).collect();
    for row in &mut rows {
        row.rotate_left(17);
    }
    let text: String = rows.iter().map(|r| r.join("\t") + "\r\n").collect();
    let (bytes, _, _) = WINDOWS_1252.encode(&text);
    let reader = FbaShipmentsFlat::new(&bytes[..], Charset::WINDOWS_1252).unwrap();
    let shuffled: Vec<FbaShipmentItem> = reader
        .map(|e| match e.unwrap() {
            Parsed::Record(r) => r.value.data,
            Parsed::Quarantined(q) => panic!("{q:?}"),
        })
        .collect();
    let plain: Vec<FbaShipmentItem> = records(FIXTURE).into_iter().map(|r| r.value.data).collect();
    assert_eq!(shuffled, plain);
}
