//! The seeded seller generator as seen through reports: determinism, late arrivals and status changes, and
//! report contents that match the sandbox's truth.

mod sandbox_support;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sandbox_support::{DE, FR, US, epoch, harness, read_tsv, spec};
use tests::sandbox::{ALL_ORDERS_BY_LAST_UPDATE, Channel, OrderState, SellerSpec};

#[tokio::test]
async fn the_generator_is_deterministic_per_seed() {
    let (a, b) = (harness().await, harness().await);
    let seller_a = a.add_seller(spec(42, &[DE, FR], 200));
    let seller_b = b.add_seller(spec(42, &[DE, FR], 200));
    let other = a.add_seller(spec(43, &[DE, FR], 200));
    let orders_a = a.sandbox.orders(&seller_a.seller_id).expect("seller");
    let orders_b = b.sandbox.orders(&seller_b.seller_id).expect("seller");
    assert_eq!(orders_a, orders_b);
    assert_ne!(orders_a, a.sandbox.orders(&other.seller_id).expect("seller"));

    let window = (epoch() - TimeDelta::days(3), epoch());
    let (token_a, token_b) = (a.token(&seller_a).await, b.token(&seller_b).await);
    let doc_a = a
        .report_text(&token_a, ALL_ORDERS_BY_LAST_UPDATE, &[DE, FR], window.0, window.1)
        .await
        .expect("DONE");
    let doc_b = b
        .report_text(&token_b, ALL_ORDERS_BY_LAST_UPDATE, &[DE, FR], window.0, window.1)
        .await
        .expect("DONE");
    assert_eq!(
        doc_a.raw, doc_b.raw,
        "the same seed and clock give the same bytes"
    );
}

#[tokio::test]
async fn generated_orders_are_varied_like_a_real_sellers() {
    let h = harness().await;
    let seller = h.add_seller(spec(7, &[DE, FR], 500));
    let orders = h.sandbox.orders(&seller.seller_id).expect("seller");
    assert!(orders.len() > 400, "orders placed by now: {}", orders.len());
    let marketplaces: HashSet<_> = orders.iter().map(|o| o.marketplace_id.as_str()).collect();
    assert_eq!(marketplaces.len(), 2);
    assert!(orders.iter().any(|o| o.fulfillment_channel == Channel::Afn));
    assert!(orders.iter().any(|o| o.fulfillment_channel == Channel::Mfn));
    assert!(orders.iter().any(|o| o.items.len() > 1), "multi-item orders");
    assert!(orders.iter().any(|o| o.is_business_order), "business orders");
    let items: Vec<_> = orders.iter().flat_map(|o| &o.items).collect();
    assert!(
        items
            .iter()
            .any(|i| i.item_promotion_discount.is_sign_negative() && !i.promotion_ids.is_empty())
    );
    assert!(items.iter().any(|i| !i.gift_wrap_price.is_zero()), "gift wrap");
    assert!(
        items.iter().any(|i| !i.shipping_price.is_zero()),
        "shipping charges"
    );
    assert!(
        items.iter().any(|i| !i.product_name.is_ascii()),
        "accented titles"
    );
    let statuses: HashSet<_> = orders.iter().map(|o| o.status).collect();
    for status in [OrderState::Unshipped, OrderState::Shipped, OrderState::Cancelled] {
        assert!(statuses.contains(&status), "no {status:?} order");
    }
    assert!(
        orders
            .iter()
            .filter(|o| o.fulfillment_channel == Channel::Afn)
            .all(|o| o.events.iter().all(|e| e.status != OrderState::Unshipped)),
        "AFN orders go Pending → Shipped"
    );
}

/// Orders (id → status) in a flat-file report.
fn statuses(text: &str) -> HashMap<String, String> {
    let (_, rows) = read_tsv(text);
    rows.into_iter()
        .map(|r| (r["amazon-order-id"].clone(), r["order-status"].clone()))
        .collect()
}

#[tokio::test]
async fn an_order_absent_from_a_report_appears_a_day_later_with_a_later_status() {
    let h = harness().await;
    // Orders keep arriving for a day after the epoch; a third of events arrive hours late.
    let mut spec = SellerSpec::new(9, epoch() - TimeDelta::days(1), epoch() + TimeDelta::days(1))
        .in_marketplaces(&[US])
        .with_orders(400);
    spec.late_share = 0.3;
    let seller = h.add_seller(spec);
    let token = h.token(&seller).await;
    let since = epoch() - TimeDelta::days(1);

    let t = h.now();
    let first = h
        .report_text(&token, ALL_ORDERS_BY_LAST_UPDATE, &[US], since, t)
        .await
        .expect("DONE");
    let first = statuses(&first.text);

    h.advance(TimeDelta::hours(24));
    let token = h.token(&seller).await;
    let second = h
        .report_text(&token, ALL_ORDERS_BY_LAST_UPDATE, &[US], since, h.now())
        .await
        .expect("DONE");
    let second = statuses(&second.text);

    // Placed before the first report, not in it, and in the second with a status past Pending.
    let truth = h.sandbox.orders(&seller.seller_id).expect("seller");
    let late: Vec<_> = truth
        .iter()
        .filter(|o| o.purchase_date <= t && !first.contains_key(&o.amazon_order_id))
        .filter(|o| second.get(&o.amazon_order_id).is_some_and(|s| s != "Pending"))
        .collect();
    assert!(!late.is_empty(), "no order arrived late");

    // Orders in both reports never go back in their timeline.
    let rank = |s: &str| {
        ["Pending", "Unshipped", "Shipped", "Cancelled"]
            .iter()
            .position(|x| *x == s)
    };
    for (id, before) in &first {
        if let Some(after) = second.get(id) {
            assert!(
                rank(after) >= rank(before) || after == "Cancelled",
                "{id}: {before} → {after}"
            );
        }
    }
    assert!(
        first
            .iter()
            .any(|(id, s)| second.get(id).is_some_and(|after| after != s)),
        "no status changed"
    );
}

#[tokio::test]
async fn a_report_holds_exactly_the_orders_visible_when_it_was_produced() {
    let h = harness().await;
    let seller = h.add_seller(spec(21, &[US], 300));
    let token = h.token(&seller).await;
    let (start, end) = (epoch() - TimeDelta::days(2), epoch());
    let doc = h
        .report_text(&token, ALL_ORDERS_BY_LAST_UPDATE, &[US], start, end)
        .await
        .expect("DONE");
    let reported = statuses(&doc.text);
    let produced_at: DateTime<Utc> = epoch() + TimeDelta::seconds(45);
    let expected: HashMap<String, String> = h
        .sandbox
        .visible_orders(&seller.seller_id, produced_at)
        .expect("seller")
        .into_iter()
        .filter(|o| start <= o.last_updated_date && o.last_updated_date <= end)
        .map(|o| (o.amazon_order_id, format!("{:?}", o.status)))
        .collect();
    assert_eq!(reported, expected);

    // The truth runs ahead of what reports show.
    let truth = h
        .sandbox
        .orders_at(&seller.seller_id, produced_at)
        .expect("seller");
    let ahead = truth
        .iter()
        .filter(|o| {
            reported
                .get(&o.amazon_order_id)
                .is_none_or(|s| *s != format!("{:?}", o.status))
        })
        .count();
    assert!(ahead > 0, "some events must still be on their way to reports");
}

#[tokio::test]
async fn yen_prices_are_whole_yen_at_the_exchange_rate_not_a_hundred_times_it() {
    use rust_decimal::Decimal;
    const JP: &str = "A1VC38T7YXB528";
    const AU: &str = "A39IBJ37TRP1C6";
    let h = harness().await;
    let seller = h.add_seller(spec(61, &[AU, JP], 300));
    let orders = h.sandbox.orders(&seller.seller_id).expect("seller");
    // The same catalog in both marketplaces: at 150 yen and 1.5 Australian dollars to the US dollar, a SKU's
    // yen price is about 100 times its Australian one (price points round it either way).
    let unit = |marketplace: &str| -> HashMap<String, Decimal> {
        orders
            .iter()
            .filter(|o| o.marketplace_id == marketplace)
            .flat_map(|o| o.items.iter())
            .filter(|i| i.quantity > 0 && i.item_price > Decimal::ZERO)
            .map(|i| (i.sku.clone(), i.item_price / Decimal::from(i.quantity)))
            .collect()
    };
    let (dollars, yen) = (unit(AU), unit(JP));
    let shared: Vec<&String> = dollars.keys().filter(|sku| yen.contains_key(*sku)).collect();
    assert!(shared.len() >= 3, "SKUs sold in both: {}", shared.len());
    for sku in shared {
        let ratio = yen[sku] / dollars[sku];
        assert!(
            (Decimal::from(50)..=Decimal::from(200)).contains(&ratio),
            "{sku}: ¥{} against ${} (ratio {ratio})",
            yen[sku],
            dollars[sku]
        );
        assert_eq!(yen[sku].fract(), Decimal::ZERO, "whole yen");
    }
}
