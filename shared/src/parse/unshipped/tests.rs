use encoding_rs::SHIFT_JIS;

use super::*;
use crate::parse::{Charset, Quarantined, Record};

const FIXTURE: &str = include_str!("../../../tests/fixtures/report-unshipped-orders.tsv");
const LEGACY: &str = include_str!("../../../tests/fixtures/report-legacy-orders.tsv");

fn parse(
    bytes: &[u8],
    content_type: Option<&str>,
) -> (Vec<Record<WithBuyer<UnshippedOrder>>>, Vec<Quarantined>) {
    let reader = UnshippedOrdersFlat::new(bytes, Charset::from_content_type(content_type).unwrap()).unwrap();
    let (mut records, mut quarantined) = (Vec::new(), Vec::new());
    for entry in reader {
        match entry.unwrap() {
            Parsed::Record(record) => records.push(record),
            Parsed::Quarantined(q) => quarantined.push(q),
        }
    }
    (records, quarantined)
}

#[test]
fn unshipped_orders_carry_order_item_ids_by_sku_and_promise_dates() {
    let (records, quarantined) = parse(FIXTURE.as_bytes(), None);
    assert!(quarantined.is_empty(), "{quarantined:?}");
    assert_eq!(records.len(), 2);
    let order = &records[0].value.data;
    assert_eq!(order.amazon_order_id, "114-3941689-8772232");
    assert_eq!(order.order_item_id("SKL-12-CI"), Some("62946107834921"));
    assert_eq!(order.order_item_id("HDL-RED"), Some("62946107834933"));
    assert_eq!(order.items[0].quantity_to_ship, 2);
    assert_eq!(order.items[1].quantity_to_ship, 0);
    assert_eq!(order.promise_date, "2026-11-04T07:59:59Z".parse().ok());
    assert_eq!(
        order.purchase_date,
        "2026-10-31T15:12:44Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert!(order.is_prime);
    let business = &records[1].value.data;
    assert!(business.is_business_order && !business.is_prime);
    assert_eq!(business.purchase_order_number.as_deref(), Some("PO-4471"));
}

#[test]
fn buyer_pii_is_split_off_the_order() {
    let (records, _) = parse(FIXTURE.as_bytes(), None);
    let buyer = records[0].value.buyer.as_ref().unwrap();
    assert_eq!(buyer.amazon_order_id, "114-3941689-8772232");
    assert_eq!(buyer.buyer_name.as_deref(), Some("Jane Q. Buyer"));
    assert_eq!(
        buyer.buyer_email.as_deref(),
        Some("8kq3x0vz2mnd7w4@marketplace.amazon.com")
    );
    assert_eq!(buyer.buyer_phone.as_deref(), Some("+1 206-555-0142"));
    assert_eq!(buyer.ship_to.name.as_deref(), Some("Jane Buyer"));
    assert_eq!(buyer.ship_to.address_1.as_deref(), Some("1200 Example Ave N"));
    assert_eq!(buyer.ship_to.address_2.as_deref(), Some("Apt 4B"));
    assert_eq!(buyer.ship_to.address_3, None);
    assert_eq!(buyer.ship_to.postal_code.as_deref(), Some("98109-1234"));
    let order_json = serde_json::to_string(&records[0].value.data).unwrap();
    for pii in ["Jane", "Example Ave", "206-555", "8kq3x0vz2mnd7w4"] {
        assert!(!order_json.contains(pii), "{pii} leaked into the order");
    }
}

#[test]
fn quarantine_reasons_and_debug_output_hold_no_pii() {
    let broken = FIXTURE.replace("2026-10-31T08:12:44-07:00", "Jane Q. Buyer");
    let (records, quarantined) = parse(broken.as_bytes(), None);
    assert_eq!(records.len(), 1);
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].lines, [2, 3]);
    let shown = format!("{quarantined:?} {records:?}");
    for pii in [
        "Jane",
        "Example Ave",
        "206-555",
        "Ana Comprador",
        "77 Sample Road",
    ] {
        assert!(!shown.contains(pii), "{pii} shown in {shown}");
    }
    assert_eq!(
        quarantined[0].reason,
        "purchase-date: not a date-time like 2020-12-18T06:32:18-08:00"
    );
}

#[test]
fn the_legacy_order_report_with_a_quoted_multi_line_title_and_a_ragged_row_reads() {
    let (records, quarantined) = parse(LEGACY.as_bytes(), None);
    assert!(quarantined.is_empty(), "{quarantined:?}");
    assert_eq!(records.len(), 2);
    let first = &records[0];
    assert_eq!(first.line, 2);
    assert_eq!(
        first.value.data.items[0].product_name,
        "The Structure of Aikido:\nVolume 1: Kenjutsu and Taijutsu Sword and Open-Hand Movement\n\
         Relationships (Structure of Aikido, Vol 1)"
    );
    let buyer = first.value.buyer.as_ref().unwrap();
    assert_eq!(buyer.ship_to.city.as_deref(), Some("LAWRENCE"));
    assert_eq!(buyer.ship_to.phone.as_deref(), Some("206-555-0199"));
    // The row after the three-line cell is on line 5, and it is cut short after item-price.
    let second = &records[1];
    assert_eq!(second.line, 5);
    assert_eq!(second.value.data.items[0].product_name, "Pizza Pan 12\" nonstick");
    assert_eq!(second.value.data.items[0].quantity_to_ship, 2);
    assert_eq!(second.value.buyer.as_ref().unwrap().ship_to.city, None);
}

#[test]
fn a_cp932_report_decodes_names_and_addresses() {
    let japanese = FIXTURE
        .replace("Jane Q. Buyer", "山田 太郎")
        .replace("SEATTLE", "渋谷区")
        .replace("Silicone Handle Cover, Red", "シリコン取っ手カバー 赤");
    let (bytes, _, unmappable) = SHIFT_JIS.encode(&japanese);
    assert!(!unmappable);
    let (records, quarantined) = parse(&bytes, Some("text/tab-separated-values;charset=CP932"));
    assert!(quarantined.is_empty());
    let buyer = records[0].value.buyer.as_ref().unwrap();
    assert_eq!(buyer.buyer_name.as_deref(), Some("山田 太郎"));
    assert_eq!(buyer.ship_to.city.as_deref(), Some("渋谷区"));
    assert_eq!(
        records[0].value.data.items[1].product_name,
        "シリコン取っ手カバー 赤"
    );
}

#[test]
fn a_report_without_order_item_ids_is_refused_whole() {
    let header_only = "order-id\tsku\tpurchase-date\tquantity-purchased\r\n";
    let err = UnshippedOrdersFlat::new(header_only.as_bytes(), Charset::UTF_8).unwrap_err();
    assert_eq!(
        err.to_string(),
        "report header lacks required column(s) order-item-id"
    );
}
