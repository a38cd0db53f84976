//! Report documents as served by the sandbox: presigned URLs that expire, gzip, charsets, truncation, and the
//! columns and structure of each report type read with plain readers (no sellersync code).

mod sandbox_support;

use std::collections::HashSet;
use std::io::Read;

use chrono::TimeDelta;
use quick_xml::events::Event;
use reqwest::StatusCode;
use sandbox_support::{DE, FR, IT, JP, PL, US, decode, epoch, harness, harness_with, read_tsv, spec};
use tests::sandbox::{
    ACTIONABLE_ORDERS, ALL_ORDERS_BY_LAST_UPDATE, ALL_ORDERS_BY_ORDER_DATE, FBA_SHIPMENTS, Fault, FaultKind,
    XML_ORDERS_BY_LAST_UPDATE,
};

/// Columns COLUMNS.md documents for the all-orders flat files.
const ALL_ORDERS_DOCUMENTED: &[&str] = &[
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

const ACTIONABLE_DOCUMENTED: &[&str] = &[
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

fn assert_has_columns(headers: &[String], expected: &[&str]) {
    for column in expected {
        assert!(
            headers.iter().any(|h| h == column),
            "missing column {column} in {headers:?}"
        );
    }
}

#[tokio::test]
async fn a_document_url_older_than_five_minutes_gets_request_has_expired() {
    let h = harness().await;
    let seller = h.add_seller(spec(3, &[US], 60));
    let token = h.token(&seller).await;
    let id = h
        .create_report(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(3),
            epoch(),
        )
        .await;
    let report = h.finished_report(&token, &id).await;
    let meta = h
        .report_document(&token, report["reportDocumentId"].as_str().expect("document"))
        .await;
    assert_eq!(meta.header("x-amzn-ratelimit-limit"), Some("0.0167"));
    let url = meta.body["url"].as_str().expect("url");
    assert!(
        url.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256") && url.contains("X-Amz-Signature="),
        "{url}"
    );

    h.advance(TimeDelta::minutes(4));
    assert_eq!(h.download(url).await.status, StatusCode::OK);
    h.advance(TimeDelta::minutes(2));
    let expired = h.download(url).await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN);
    assert_eq!(expired.header("content-type"), Some("application/xml"));
    let body = String::from_utf8(expired.bytes.clone()).expect("XML text");
    assert!(
        body.contains(
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message><X-Amz-Expires>300"
        ),
        "{body}"
    );

    // A fresh getReportDocument gives a fresh URL.
    let again = h
        .report_document(&token, report["reportDocumentId"].as_str().expect("document"))
        .await;
    assert_eq!(
        h.download(again.body["url"].as_str().expect("url")).await.status,
        StatusCode::OK
    );

    // An altered URL does not pass.
    let tampered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=30000");
    let refused = h.download(&tampered).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&refused.bytes).contains("SignatureDoesNotMatch"));
}

#[tokio::test]
async fn larger_documents_are_gzipped_and_small_ones_are_not_and_both_keep_a_text_content_type() {
    let h = harness().await;
    let big = h.add_seller(spec(3, &[DE], 600));
    let small = h.add_seller(spec(4, &[DE], 12));
    let window = (epoch() - TimeDelta::days(3), epoch());
    let big_token = h.token(&big).await;
    let small_token = h.token(&small).await;
    let big_doc = h
        .report_text(&big_token, ALL_ORDERS_BY_LAST_UPDATE, &[DE], window.0, window.1)
        .await
        .expect("DONE");
    let small_doc = h
        .report_text(&small_token, ALL_ORDERS_BY_LAST_UPDATE, &[DE], window.0, window.1)
        .await
        .expect("DONE");
    assert!(
        big_doc.compressed,
        "a {}-byte document should be gzip'd",
        big_doc.text.len()
    );
    assert_eq!(&big_doc.raw[..2], &[0x1f, 0x8b]);
    assert!(!small_doc.compressed);
    for doc in [&big_doc, &small_doc] {
        assert_eq!(doc.content_type, "text/plain; charset=Cp1252");
    }
}

#[tokio::test]
async fn the_download_says_identity_unless_the_content_encoding_header_was_asked_for() {
    let h = harness_with(|options| options.gzip_min_bytes = 0).await;
    let seller = h.add_seller(spec(3, &[US], 40));
    let token = h.token(&seller).await;
    let id = h
        .create_report(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(3),
            epoch(),
        )
        .await;
    let report = h.finished_report(&token, &id).await;
    let document_id = report["reportDocumentId"].as_str().expect("document");
    let meta = h.report_document(&token, document_id).await;
    assert_eq!(meta.body["compressionAlgorithm"], "GZIP");
    let plain = h.download(meta.body["url"].as_str().expect("url")).await;
    assert_eq!(plain.header("content-encoding"), Some("identity"));
    assert_eq!(&plain.bytes[..2], &[0x1f, 0x8b]);

    let encoded = h
        .get(
            &format!("/reports/2021-06-30/documents/{document_id}?enableContentEncodingUrlHeader=true"),
            &token,
        )
        .await;
    let url = encoded.body["url"].as_str().expect("url");
    let raw = reqwest::get(url).await.expect("answers");
    assert_eq!(
        raw.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
}

#[tokio::test]
async fn a_truncated_document_fault_cuts_rows_and_gzip_streams() {
    let h = harness().await;
    let seller = h.add_seller(spec(3, &[US], 600));
    let token = h.token(&seller).await;
    let id = h
        .create_report(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(3),
            epoch(),
        )
        .await;
    let report = h.finished_report(&token, &id).await;
    let meta = h
        .report_document(&token, report["reportDocumentId"].as_str().expect("document"))
        .await;
    assert_eq!(meta.body["compressionAlgorithm"], "GZIP");
    let url = meta.body["url"].as_str().expect("url");
    let full = h.download(url).await;
    h.sandbox.inject(Fault::new(FaultKind::TruncateDocument));
    let cut = h.download(url).await;
    assert_eq!(cut.status, StatusCode::OK);
    assert!(cut.bytes.len() < full.bytes.len());
    let mut out = Vec::new();
    assert!(
        flate2::read::GzDecoder::new(&cut.bytes[..])
            .read_to_end(&mut out)
            .is_err()
    );

    let small = h.add_seller(spec(4, &[US], 40));
    let small_token = h.token(&small).await;
    let id = h
        .create_report(
            &small_token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[US],
            epoch() - TimeDelta::days(3),
            epoch(),
        )
        .await;
    let report = h.finished_report(&small_token, &id).await;
    let meta = h
        .report_document(
            &small_token,
            report["reportDocumentId"].as_str().expect("document"),
        )
        .await;
    assert!(meta.body.get("compressionAlgorithm").is_none());
    h.sandbox.inject(Fault::new(FaultKind::TruncateDocument));
    let cut = h.download(meta.body["url"].as_str().expect("url")).await;
    let text = decode(&cut.bytes, false, cut.header("content-type").expect("type"));
    let last = text.lines().last().expect("some rows");
    let header_columns = text.lines().next().expect("header").split('\t').count();
    assert!(
        last.split('\t').count() < header_columns,
        "the last row must be cut short: {last:?}"
    );
    assert_eq!(
        h.sandbox.stats(&small.seller_id).expect("seller")[&tests::sandbox::Operation::DownloadDocument]
            .truncated,
        1
    );
}

#[tokio::test]
async fn order_documents_read_cleanly_with_a_plain_tsv_reader_and_carry_the_documented_columns() {
    let h = harness().await;
    let window = (epoch() - TimeDelta::days(3), epoch());
    for (seed, marketplaces, charset) in [
        (11, vec![US], "Cp1252"),
        (12, vec![DE, FR, IT], "Cp1252"),
        (13, vec![PL], "UTF-8"),
        (14, vec![JP], "CP932"),
    ] {
        let seller = h.add_seller(spec(seed, &marketplaces, 250));
        let token = h.token(&seller).await;
        for report_type in [ALL_ORDERS_BY_LAST_UPDATE, ALL_ORDERS_BY_ORDER_DATE] {
            let doc = h
                .report_text(&token, report_type, &marketplaces, window.0, window.1)
                .await
                .expect("DONE");
            assert_eq!(doc.content_type, format!("text/plain; charset={charset}"));
            let (headers, rows) = read_tsv(&doc.text);
            assert_has_columns(&headers, ALL_ORDERS_DOCUMENTED);
            assert!(!rows.is_empty());
            for row in &rows {
                assert!(
                    ["Pending", "Unshipped", "Shipped", "Cancelled"].contains(&row["order-status"].as_str())
                );
                assert!(["Amazon", "Merchant"].contains(&row["fulfillment-channel"].as_str()));
                assert!(["true", "false"].contains(&row["is-business-order"].as_str()));
                assert!(
                    row["purchase-date"].ends_with("+00:00"),
                    "{}",
                    row["purchase-date"]
                );
                if row["order-status"] == "Cancelled" {
                    assert_eq!(row["quantity"], "0");
                }
                if row["order-status"] == "Pending" && row["fulfillment-channel"] == "Merchant" {
                    assert_eq!(row["item-price"], "");
                }
            }
        }
        let doc = h
            .report_text(&token, ACTIONABLE_ORDERS, &marketplaces, window.0, window.1)
            .await
            .expect("some orders await shipment");
        let (headers, rows) = read_tsv(&doc.text);
        assert_has_columns(&headers, ACTIONABLE_DOCUMENTED);
        assert!(
            rows.iter()
                .all(|r| r["order-item-id"].len() == 14 && r["quantity-shipped"] == "0")
        );
        assert!(rows.iter().all(|r| !r["recipient-name"].is_empty()));

        let doc = h
            .report_text(&token, FBA_SHIPMENTS, &marketplaces, window.0, window.1)
            .await
            .expect("some AFN orders shipped");
        let (headers, rows) = read_tsv(&doc.text);
        assert_eq!(headers.len(), 48);
        let shipment_items: HashSet<_> = rows.iter().map(|r| r["shipment-item-id"].clone()).collect();
        assert_eq!(
            shipment_items.len(),
            rows.len(),
            "shipment-item-id is unique per shipped item"
        );
        assert!(rows.iter().all(|r| r["fulfillment-channel"] == "AFN"));
        assert!(
            rows.iter()
                .all(|r| !r["shipment-date"].ends_with("+00:00") || marketplaces == [PL])
        );
    }
}

#[tokio::test]
async fn column_order_and_line_ends_vary_between_sellers() {
    let h = harness().await;
    let window = (epoch() - TimeDelta::days(3), epoch());
    let mut layouts = HashSet::new();
    let mut line_ends = HashSet::new();
    for seed in 20..28 {
        let seller = h.add_seller(spec(seed, &[US], 30));
        let token = h.token(&seller).await;
        let doc = h
            .report_text(&token, ALL_ORDERS_BY_LAST_UPDATE, &[US], window.0, window.1)
            .await
            .expect("DONE");
        layouts.insert(doc.text.lines().next().expect("header").to_owned());
        line_ends.insert(doc.text.contains("\r\n"));
    }
    assert!(layouts.len() > 1, "every seller had the same header");
    assert_eq!(line_ends.len(), 2, "expected both CRLF and LF documents");
}

#[tokio::test]
async fn a_jp_document_round_trips_japanese_text_through_cp932() {
    let h = harness().await;
    let seller = h.add_seller(spec(14, &[JP], 120));
    let token = h.token(&seller).await;
    let doc = h
        .report_text(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[JP],
            epoch() - TimeDelta::days(3),
            epoch(),
        )
        .await
        .expect("DONE");
    assert_eq!(doc.content_type, "text/plain; charset=CP932");
    assert!(
        std::str::from_utf8(&doc.raw).is_err(),
        "CP932 bytes are not UTF-8"
    );
    let (_, rows) = read_tsv(&doc.text);
    let truth = h.sandbox.orders(&seller.seller_id).expect("seller");
    let japanese = rows
        .iter()
        .find(|r| {
            r["product-name"]
                .chars()
                .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c))
        })
        .expect("a Japanese product name");
    let order = truth
        .iter()
        .find(|o| o.amazon_order_id == japanese["amazon-order-id"])
        .expect("the order exists");
    assert!(
        order
            .items
            .iter()
            .any(|i| i.product_name == japanese["product-name"])
    );
    assert_eq!(japanese["currency"], "JPY");
    assert!(
        rows.iter().all(|r| !r["item-price"].contains('.')),
        "yen have no decimals"
    );
}

#[tokio::test]
async fn eu_prices_include_vat_in_the_document() {
    let h = harness().await;
    let seller = h.add_seller(spec(15, &[DE], 150));
    let token = h.token(&seller).await;
    let doc = h
        .report_text(
            &token,
            ALL_ORDERS_BY_LAST_UPDATE,
            &[DE],
            epoch() - TimeDelta::days(3),
            epoch(),
        )
        .await
        .expect("DONE");
    let (_, rows) = read_tsv(&doc.text);
    let priced: Vec<_> = rows.iter().filter(|r| !r["item-tax"].is_empty()).collect();
    assert!(!priced.is_empty());
    for row in priced {
        let price: f64 = row["item-price"].parse().expect("price");
        let tax: f64 = row["item-tax"].parse().expect("tax");
        let expected = price * 19.0 / 119.0;
        assert!(
            (tax - expected).abs() < 0.011,
            "{price} should contain {expected:.2} VAT, not {tax}"
        );
    }
}

#[tokio::test]
async fn the_xml_orders_report_declares_its_charset_and_has_the_all_orders_report_structure() {
    let h = harness().await;
    let seller = h.add_seller(spec(16, &[DE], 80));
    let token = h.token(&seller).await;
    let doc = h
        .report_text(
            &token,
            XML_ORDERS_BY_LAST_UPDATE,
            &[DE],
            epoch() - TimeDelta::days(3),
            epoch(),
        )
        .await
        .expect("DONE");
    // UTF-8, or for some Western sellers ISO-8859-1: the declaration and the Content-Type agree.
    let charset = doc.content_type.rsplit("charset=").next().expect("a charset");
    assert!(["UTF-8", "ISO-8859-1"].contains(&charset), "{}", doc.content_type);
    assert!(
        doc.text
            .starts_with(&format!("<?xml version=\"1.0\" encoding=\"{charset}\"?>")),
        "{}",
        &doc.text[..60]
    );
    let mut reader = quick_xml::Reader::from_str(&doc.text);
    let (mut path, mut orders, mut message_type) = (Vec::<String>::new(), 0, String::new());
    let mut seen = HashSet::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let qname = e.name();
                let name: &str = qname.as_ref();
                let name = name.to_owned();
                path.push(name);
                seen.insert(path.join("/"));
                if path.join("/") == "AmazonEnvelope/Message/Order" {
                    orders += 1;
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Text(t) if path.last().is_some_and(|p| p == "MessageType") => {
                message_type = t.xml_content(quick_xml::XmlVersion::Implicit1_0).into_owned();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(message_type, "AllOrdersReport");
    assert!(orders > 0);
    for expected in [
        "AmazonEnvelope/Header/DocumentVersion",
        "AmazonEnvelope/Message/Order/AmazonOrderID",
        "AmazonEnvelope/Message/Order/LastUpdatedDate",
        "AmazonEnvelope/Message/Order/OrderStatus",
        "AmazonEnvelope/Message/Order/FulfillmentData/FulfillmentChannel",
        "AmazonEnvelope/Message/Order/FulfillmentData/Address/Country",
        "AmazonEnvelope/Message/Order/OrderItem/SKU",
        "AmazonEnvelope/Message/Order/OrderItem/ItemPrice/Component/Amount",
    ] {
        assert!(seen.contains(expected), "missing {expected}");
    }
}

#[tokio::test]
async fn other_report_types_are_accepted_and_produce_a_small_tsv() {
    let h = harness().await;
    let seller = h.add_seller(spec(17, &[US], 40));
    let token = h.token(&seller).await;
    for report_type in [
        "GET_AFN_INVENTORY_DATA",
        "GET_FBA_FULFILLMENT_CUSTOMER_RETURNS_DATA",
        "GET_MERCHANT_LISTINGS_ALL_DATA",
    ] {
        let doc = h
            .report_text(&token, report_type, &[US], epoch() - TimeDelta::days(3), epoch())
            .await
            .unwrap_or_else(|| panic!("{report_type} should be DONE"));
        let (headers, _) = read_tsv(&doc.text);
        assert!(headers.len() >= 4, "{report_type}: {headers:?}");
    }
}

#[tokio::test]
async fn some_utf8_documents_start_with_a_bom_and_cp1252_ones_never_do() {
    let h = harness().await;
    let window = (epoch() - TimeDelta::days(3), epoch());
    let mut boms = 0;
    for seed in 30..38 {
        for (marketplace, utf8) in [(PL, true), (FR, false)] {
            let seller = h.add_seller(spec(seed, &[marketplace], 20));
            let token = h.token(&seller).await;
            let doc = h
                .report_text(
                    &token,
                    ALL_ORDERS_BY_LAST_UPDATE,
                    &[marketplace],
                    window.0,
                    window.1,
                )
                .await
                .expect("DONE");
            let has_bom = doc.raw.starts_with(&[0xEF, 0xBB, 0xBF]);
            assert!(utf8 || !has_bom, "a Cp1252 document cannot carry a UTF-8 BOM");
            boms += usize::from(has_bom);
        }
    }
    assert!(boms > 0, "no UTF-8 document had a BOM");
}
