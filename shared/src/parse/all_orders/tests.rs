use encoding_rs::WINDOWS_1252;
use rust_decimal::Decimal;

use super::*;
use crate::domain::Money;
use crate::parse::{Charset, Quarantined, Record};

const FIXTURE: &str = include_str!("../../../tests/fixtures/report-all-orders.tsv");

struct Outcome {
    orders: Vec<Record<Order>>,
    quarantined: Vec<Quarantined>,
    summary: ParseSummary,
}

fn parse_bytes(bytes: &[u8], content_type: Option<&str>) -> Outcome {
    let mut reader = AllOrdersFlat::new(bytes, Charset::from_content_type(content_type).unwrap()).unwrap();
    let (mut orders, mut quarantined) = (Vec::new(), Vec::new());
    for entry in &mut reader {
        match entry.unwrap() {
            Parsed::Record(order) => orders.push(order),
            Parsed::Quarantined(q) => quarantined.push(q),
        }
    }
    Outcome {
        orders,
        quarantined,
        summary: reader.summary(),
    }
}

fn parse(text: &str) -> Outcome {
    parse_bytes(text.as_bytes(), None)
}

fn values(outcome: &Outcome) -> Vec<&Order> {
    outcome.orders.iter().map(|r| &r.value).collect()
}

/// The fixture as rows of cells, header first.
fn table() -> Vec<Vec<String>> {
    FIXTURE
        .lines()
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect()
}

fn render(rows: &[Vec<String>]) -> String {
    rows.iter().map(|r| r.join("\t") + "\n").collect()
}

fn set(rows: &mut [Vec<String>], row: usize, column: &str, value: &str) {
    let at = rows[0].iter().position(|c| c == column).unwrap();
    rows[row][at] = value.to_owned();
}

fn usd(amount: &str) -> Option<Money> {
    Some(Money::new(
        amount.parse::<Decimal>().unwrap(),
        "USD".parse().unwrap(),
    ))
}

#[test]
fn the_fixture_reads_into_orders_with_their_items_grouped() {
    let out = parse(FIXTURE);
    assert!(out.quarantined.is_empty(), "{:?}", out.quarantined);
    let orders = values(&out);
    let ids: Vec<&str> = orders.iter().map(|o| o.amazon_order_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "113-4402871-5521837",
            "114-5642155-9428269",
            "112-8173974-4673832",
            "028-1234567-7654321"
        ]
    );
    let first = orders[0];
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.status, OrderStatus::Shipped);
    assert_eq!(first.fulfillment_channel, FulfillmentChannel::Mfn);
    assert_eq!(first.marketplace_id.as_deref(), Some("ATVPDKIKX0DER"));
    assert_eq!(first.ship_to.postal_code.as_deref(), Some("78028-6411"));
    assert_eq!(first.items[0].product_name, "Cast Iron Skillet 12\" pre-seasoned");
    assert_eq!(
        first.items[0].promotion_ids,
        ["PLM-SKILLET-10", "Core Free Shipping 2026"]
    );
    assert_eq!(first.items[1].quantity, 1);
    assert_eq!(out.orders[0].line, 2);
    assert_eq!(out.orders[1].line, 4);
    assert!(out.orders.iter().all(|r| !r.split));
    assert_eq!(
        out.summary,
        ParseSummary {
            lines: 6,
            rows: 5,
            records: 4,
            split_records: 0,
            quarantined: 0,
            quarantined_rows: 0,
        }
    );
}

#[test]
fn dates_with_offsets_are_normalised_to_utc_and_the_newest_row_dates_the_order() {
    let orders = parse(FIXTURE).orders;
    let first = &orders[0].value;
    assert_eq!(
        first.purchase_date,
        "2026-10-31T01:52:47Z".parse::<DateTime>().unwrap()
    );
    // Rows say 08:19:16-07:00 and 09:02:00-07:00.
    assert_eq!(
        first.last_updated,
        "2026-11-01T16:02:00Z".parse::<DateTime>().unwrap()
    );
    let de = &orders[3].value;
    assert_eq!(
        de.purchase_date,
        "2026-10-31T08:36:43Z".parse::<DateTime>().unwrap()
    );
}

type DateTime = chrono::DateTime<chrono::Utc>;

#[test]
fn money_is_exact_in_the_rows_currency_or_the_marketplaces() {
    let orders = parse(FIXTURE).orders;
    let skillet = &orders[0].value.items[0].amounts;
    assert_eq!(skillet.item_price, usd("59.98"));
    assert_eq!(skillet.item_tax, usd("4.95"));
    assert_eq!(skillet.shipping_price, usd("5.99"));
    assert_eq!(skillet.shipping_tax, usd("0.49"));
    assert_eq!(skillet.item_promotion_discount, usd("-6.00"));
    assert_eq!(skillet.gift_wrap_price, None);
    assert_eq!(skillet.item_price.unwrap().amount.to_string(), "59.98");

    let pending = &orders[1].value;
    assert_eq!(pending.items[0].amounts, ItemAmounts::default());
    assert!(pending.is_business_order);
    assert_eq!(pending.purchase_order_number.as_deref(), Some("PO-88213"));
    assert_eq!(pending.ship_to.state.as_deref(), Some("FLORIDA"));

    let cancelled = &orders[2].value;
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.items[0].quantity, 0);

    // The currency cell is empty: Amazon.de means EUR.
    let de = &orders[3].value;
    assert_eq!(de.fulfillment_channel, FulfillmentChannel::Afn);
    assert_eq!(de.marketplace_id.as_deref(), Some("A1PA6795UKMFR9"));
    let price = de.items[0].amounts.item_price.unwrap();
    assert_eq!(
        (price.amount.to_string().as_str(), price.currency.as_str()),
        ("49.90", "EUR")
    );
}

#[test]
fn columns_are_found_by_name_in_any_order_with_unknown_ones_ignored() {
    let mut rows = table();
    for row in &mut rows {
        row.reverse();
        row.insert(3, "x".into());
    }
    rows[0][3] = "some-new-column".into();
    assert_eq!(values(&parse(&render(&rows))), values(&parse(FIXTURE)));
}

#[test]
fn ragged_rows_read_missing_cells_as_empty_and_ignore_extra_ones() {
    let mut rows = table();
    for row in rows.iter_mut().skip(1) {
        while row.last().is_some_and(String::is_empty) {
            row.pop();
        }
    }
    rows[1].extend(["extra".to_owned(), String::new(), String::new()]);
    assert!(rows[3].len() < rows[0].len());
    assert_eq!(values(&parse(&render(&rows))), values(&parse(FIXTURE)));
}

#[test]
fn crlf_with_a_bom_reads_like_lf() {
    let crlf = format!("\u{FEFF}{}", FIXTURE.replace('\n', "\r\n"));
    assert_eq!(values(&parse(&crlf)), values(&parse(FIXTURE)));
}

#[test]
fn a_cp1252_document_reads_like_its_utf8_text() {
    let (bytes, _, unmappable) = WINDOWS_1252.encode(FIXTURE);
    assert!(!unmappable);
    assert!(bytes.contains(&0x96), "the en dash is a Cp1252 byte");
    let out = parse_bytes(&bytes, Some("text/plain; charset=Cp1252"));
    assert_eq!(values(&out), values(&parse(FIXTURE)));
    assert_eq!(
        out.orders[3].value.items[0].product_name,
        "Gusseisenpfanne 30 cm – für Induktion"
    );
    assert_eq!(out.orders[3].value.ship_to.city.as_deref(), Some("München"));
}

#[test]
fn a_poison_row_is_quarantined_with_its_line_and_the_rest_is_imported() {
    let mut rows = table();
    let mut poison = rows[3].clone();
    poison[0] = "999-0000000-0000001".into();
    rows.insert(3, poison);
    set(&mut rows, 3, "purchase-date", "2026-13-45T99:00:00+00:00");
    let out = parse(&render(&rows));
    assert_eq!(out.orders.len(), 4);
    assert_eq!(
        out.quarantined,
        [Quarantined {
            line: 4,
            lines: vec![4],
            order_id: Some("999-0000000-0000001".into()),
            reason: "purchase-date: not a date-time like 2020-12-18T06:32:18-08:00".into(),
        }]
    );
    assert_eq!((out.summary.rows, out.summary.quarantined_rows), (6, 1));
}

#[test]
fn a_bad_row_in_a_multi_row_order_quarantines_the_whole_order() {
    let mut rows = table();
    set(&mut rows, 2, "quantity", "two");
    let out = parse(&render(&rows));
    let ids: Vec<&str> = out
        .orders
        .iter()
        .map(|o| o.value.amazon_order_id.as_str())
        .collect();
    assert!(!ids.contains(&"113-4402871-5521837"), "{ids:?}");
    assert_eq!(out.orders.len(), 3);
    assert_eq!(
        out.quarantined,
        [Quarantined {
            line: 3,
            lines: vec![2, 3],
            order_id: Some("113-4402871-5521837".into()),
            reason: "quantity: not a whole number of units".into(),
        }]
    );
}

#[test]
fn reasons_name_the_column_but_never_the_value() {
    let mut rows = table();
    set(&mut rows, 1, "item-price", "SECRET-12,34");
    let out = parse(&render(&rows));
    let reason = &out.quarantined[0].reason;
    assert_eq!(reason, "item-price: not a decimal amount like 12.34");
    assert!(!reason.contains("SECRET"));
}

#[test]
fn an_amount_without_any_currency_is_quarantined() {
    let mut rows = table();
    set(&mut rows, 5, "sales-channel", "Non-Amazon");
    let out = parse(&render(&rows));
    assert_eq!(out.quarantined.len(), 1);
    assert!(
        out.quarantined[0].reason.starts_with("currency: empty"),
        "{:?}",
        out.quarantined
    );
}

#[test]
fn missing_required_columns_fail_the_document_naming_them_all() {
    let rows: Vec<Vec<String>> = table()
        .into_iter()
        .map(|row| {
            let header = table().remove(0);
            row.into_iter()
                .zip(header)
                .filter(|(_, name)| name != "sku" && name != "quantity")
                .map(|(cell, _)| cell)
                .collect()
        })
        .collect();
    let err = AllOrdersFlat::new(render(&rows).as_bytes(), Charset::UTF_8).unwrap_err();
    assert!(
        matches!(&err, ParseError::MissingColumns { columns } if columns == &["sku", "quantity"]),
        "{err}"
    );
    assert!(matches!(
        AllOrdersFlat::new(&b"\r\n\n"[..], Charset::UTF_8),
        Err(ParseError::Empty)
    ));
}

#[test]
fn an_order_id_that_comes_back_later_is_yielded_again_marked_split() {
    let mut rows = table();
    let late = rows.remove(2);
    rows.push(late);
    let out = parse(&render(&rows));
    assert_eq!(out.orders.len(), 5);
    let parts: Vec<(&str, usize, bool)> = out
        .orders
        .iter()
        .filter(|r| r.value.amazon_order_id == "113-4402871-5521837")
        .map(|r| (r.value.items[0].sku.as_str(), r.value.items.len(), r.split))
        .collect();
    assert_eq!(parts, [("SKL-12-CI", 1, false), ("HDL-RED", 1, true)]);
    assert_eq!(out.summary.split_records, 1);
}

#[test]
fn a_row_without_an_order_id_inside_an_order_quarantines_that_order() {
    let mut rows = table();
    let mut orphan = rows[1].clone();
    orphan[0] = String::new();
    rows.insert(2, orphan);
    let out = parse(&render(&rows));
    assert_eq!(out.orders.len(), 3);
    assert_eq!(out.quarantined.len(), 1);
    assert_eq!(out.quarantined[0].lines, [2, 3, 4]);
    assert!(
        out.quarantined[0].reason.contains("line 3"),
        "{:?}",
        out.quarantined[0]
    );
}

#[test]
fn a_row_without_an_order_id_between_orders_is_quarantined_alone() {
    let mut rows = table();
    let mut orphan = rows[3].clone();
    orphan[0] = " ".into();
    rows.insert(3, orphan);
    let out = parse(&render(&rows));
    assert_eq!(out.orders.len(), 4);
    assert_eq!(
        out.quarantined,
        [Quarantined {
            line: 4,
            lines: vec![4],
            order_id: None,
            reason: "amazon-order-id: empty".into(),
        }]
    );
}

#[test]
fn later_rows_of_a_quarantined_order_are_quarantined_too() {
    let mut rows = table();
    set(&mut rows, 1, "order-status", "");
    let late = rows.remove(2);
    rows.push(late);
    let out = parse(&render(&rows));
    assert_eq!(out.orders.len(), 3);
    assert_eq!(out.quarantined.len(), 2);
    assert!(
        out.quarantined[1]
            .reason
            .contains("already quarantined at line 2"),
        "{:?}",
        out.quarantined
    );
}

#[test]
fn a_stray_quote_in_a_product_name_does_not_swallow_later_rows() {
    let mut rows = table();
    set(&mut rows, 1, "product-name", "\"Deluxe 12 inch pan");
    set(&mut rows, 3, "product-name", "Dutch oven 5\"");
    let out = parse(&render(&rows));
    assert_eq!(out.orders.len(), 4);
    assert_eq!(out.orders[0].value.items[0].product_name, "\"Deluxe 12 inch pan");
}

#[test]
fn a_quoted_multi_line_product_name_is_one_cell() {
    let mut rows = table();
    set(
        &mut rows,
        3,
        "product-name",
        "\"Enamel Dutch Oven\n5.5 qt, \"\"Blue\"\"\"",
    );
    let out = parse(&render(&rows));
    assert!(out.quarantined.is_empty());
    assert_eq!(
        out.orders[1].value.items[0].product_name,
        "Enamel Dutch Oven\n5.5 qt, \"Blue\""
    );
    assert_eq!(
        out.orders[2].line, 6,
        "physical lines keep counting past the embedded newline"
    );
}

/// Every entry, with lent orders cloned.
fn lent(text: &str) -> Vec<Parsed<Order>> {
    let mut reader = AllOrdersFlat::new(text.as_bytes(), Charset::UTF_8).unwrap();
    let mut entries = Vec::new();
    let summary = reader
        .visit(|entry| {
            entries.push(match entry {
                Parsed::Record(r) => Parsed::Record(Record {
                    value: r.value.clone(),
                    line: r.line,
                    split: r.split,
                }),
                Parsed::Quarantined(q) => Parsed::Quarantined(q),
            })
        })
        .unwrap();
    assert_eq!(summary, parse(text).summary);
    entries
}

fn owned(text: &str) -> Vec<Parsed<Order>> {
    AllOrdersFlat::new(text.as_bytes(), Charset::UTF_8)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn lent_orders_equal_owned_ones_and_keep_nothing_from_the_order_before() {
    // Orders after the first lack fields the first had: nothing of it may linger in the reused buffers.
    let mut rows = table();
    rows.push(rows[1].clone());
    let last = rows.len() - 1;
    rows[last][0] = "115-0000000-0000001".into();
    for column in [
        "promotion-ids",
        "ship-city",
        "item-status",
        "currency",
        "item-price",
        "merchant-order-id",
    ] {
        set(&mut rows, last, column, "");
    }
    set(&mut rows, 1, "merchant-order-id", "MY-ORDER-1");
    set(&mut rows, 3, "quantity", "x");
    let text = render(&rows);
    let owned = owned(&text);
    assert_eq!(lent(&text), owned);
    assert_eq!(lent(FIXTURE), super::tests::owned(FIXTURE));
    match owned.last() {
        Some(Parsed::Record(r)) => {
            assert_eq!(r.value.merchant_order_id, None);
            assert_eq!(r.value.items[0].promotion_ids, Vec::<String>::new());
            assert_eq!(r.value.items[0].amounts.item_price, None);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn thousands_of_rows_without_an_order_id_are_quarantined_as_they_come_and_poison_the_order_around_them() {
    let mut rows = table();
    let mut orphan = rows[1].clone();
    orphan[0] = String::new();
    for _ in 0..2_500 {
        rows.insert(2, orphan.clone());
    }
    let out = parse(&render(&rows));
    // The first order's second row comes after the 2,500 rows without an id: the order cannot be trusted.
    assert_eq!(out.orders.len(), 3);
    let order = out
        .quarantined
        .iter()
        .find(|q| q.order_id.as_deref() == Some("113-4402871-5521837"))
        .expect("the order around the rows is quarantined");
    assert!(order.reason.contains("from line 3"), "{}", order.reason);
    assert_eq!(out.summary.quarantined_rows, 2_502);
}

#[test]
fn an_order_of_more_rows_than_the_cap_is_quarantined_and_the_next_order_still_reads() {
    let rows = table();
    let first_id = rows[1][rows[0].iter().position(|c| c == "amazon-order-id").unwrap()].clone();
    let mut big = vec![rows[0].clone()];
    // The fixture's first row repeated past the cap, then the fixture's other orders.
    big.extend(std::iter::repeat_n(
        rows[1].clone(),
        crate::parse::MAX_ROWS_PER_ORDER + 1,
    ));
    big.extend(rows[1..].iter().filter(|r| !r.contains(&first_id)).cloned());
    let outcome = parse(&render(&big));
    assert!(!outcome.orders.is_empty(), "the orders after it read");
    assert!(
        values(&outcome)
            .iter()
            .all(|o| o.amazon_order_id != first_id.as_str())
    );
    assert_eq!(outcome.quarantined.len(), 1);
    let q = &outcome.quarantined[0];
    assert_eq!(q.order_id.as_deref(), Some(first_id.as_str()));
    assert!(q.reason.contains("more than 1000 rows"), "{}", q.reason);
    assert!(
        q.lines.len() <= crate::parse::MAX_ROWS_PER_ORDER + 1,
        "memory per order is bounded"
    );
}
