//! Reports imported against DynamoDB Local, moto and the sandbox, where the store or the seller's choices say
//! no: an order DynamoDB refuses to store (over its 400 KB item limit) is quarantined with the reason and the
//! rest of the document imported, instead of failing the message forever; an account that does not import
//! addresses keeps no buyer data, even from an actionable-orders report requested by hand.

mod api_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use api_support::{Api, US, seller_spec, start};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::app::import::Import;
use shared::domain::{BuyerPii, FbaShipmentItem, Order, UnshippedOrder};
use shared::error::StoreError;
use shared::ports::{OrderQuery, OrderStore, Page, PutOutcome, QuarantinedRow, TokenedOrder};

/// The orders store, with the first order written made larger than DynamoDB stores (a product name of
/// 450 KB), as a report's order with thousands of lines would be.
#[derive(Debug)]
struct Oversized {
    inner: Arc<dyn OrderStore>,
    done: AtomicBool,
}

#[async_trait]
impl OrderStore for Oversized {
    async fn order_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, shared::domain::StoredVersion>, StoreError> {
        self.inner.order_versions(account, order_ids).await
    }
    async fn put_order(
        &self,
        account: &str,
        order: &Order,
        only_if_stored: bool,
    ) -> Result<PutOutcome, StoreError> {
        if self.done.swap(true, Ordering::SeqCst) {
            return self.inner.put_order(account, order, only_if_stored).await;
        }
        let mut big = order.clone();
        big.items[0].product_name = "x".repeat(450 * 1024).into();
        self.inner.put_order(account, &big, only_if_stored).await
    }
    async fn put_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError> {
        self.inner.put_order_ahead_of_reports(account, order).await
    }
    async fn create_order_ahead_of_reports(
        &self,
        account: &str,
        order: &Order,
    ) -> Result<PutOutcome, StoreError> {
        self.inner.create_order_ahead_of_reports(account, order).await
    }
    async fn orders_to_ship(
        &self,
        account: &str,
        marketplace_id: Option<&str>,
        limit: u32,
        after: Option<&str>,
    ) -> Result<Page<(Order, shared::domain::OrderDetails)>, StoreError> {
        self.inner
            .orders_to_ship(account, marketplace_id, limit, after)
            .await
    }
    async fn get_order(&self, account: &str, order_id: &str) -> Result<Option<Order>, StoreError> {
        self.inner.get_order(account, order_id).await
    }
    async fn list_orders(&self, account: &str, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        self.inner.list_orders(account, query).await
    }
    async fn get_tokened_order(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<TokenedOrder>, StoreError> {
        self.inner.get_tokened_order(account, order_id).await
    }
    async fn merge_order(
        &self,
        account: &str,
        order: &Order,
        read_token: Option<&str>,
    ) -> Result<PutOutcome, StoreError> {
        self.inner.merge_order(account, order, read_token).await
    }
    async fn get_order_details(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<shared::domain::OrderDetails>, StoreError> {
        self.inner.get_order_details(account, order_id).await
    }
    async fn put_order_details(
        &self,
        account: &str,
        details: &shared::domain::OrderDetails,
        pii: Option<(&shared::domain::OrderPii, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        self.inner.put_order_details(account, details, pii).await
    }
    async fn get_order_pii(
        &self,
        account: &str,
        order_id: &str,
    ) -> Result<Option<(shared::domain::OrderPii, DateTime<Utc>)>, StoreError> {
        self.inner.get_order_pii(account, order_id).await
    }
    async fn orders_awaiting_details(
        &self,
        account: &str,
        limit: u32,
        newest_first: bool,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        self.inner
            .orders_awaiting_details(account, limit, newest_first)
            .await
    }
    async fn details_versions(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, DateTime<Utc>>, StoreError> {
        self.inner.details_versions(account, order_ids).await
    }
    async fn clear_awaiting_details(
        &self,
        account: &str,
        order_id: &str,
        version: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner
            .clear_awaiting_details(account, order_id, version)
            .await
    }
    async fn unshipped_fingerprints(
        &self,
        account: &str,
        order_ids: &[&str],
    ) -> Result<std::collections::HashMap<String, u64>, StoreError> {
        self.inner.unshipped_fingerprints(account, order_ids).await
    }
    async fn put_unshipped(
        &self,
        account: &str,
        order: &UnshippedOrder,
        fingerprint: u64,
    ) -> Result<(), StoreError> {
        self.inner.put_unshipped(account, order, fingerprint).await
    }
    async fn put_buyer(
        &self,
        account: &str,
        buyer: &BuyerPii,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.inner.put_buyer(account, buyer, expires_at).await
    }
    async fn stored_shipment_items(
        &self,
        account: &str,
        items: &[&FbaShipmentItem],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        self.inner.stored_shipment_items(account, items).await
    }
    async fn put_shipment_item(
        &self,
        account: &str,
        item: &FbaShipmentItem,
    ) -> Result<PutOutcome, StoreError> {
        self.inner.put_shipment_item(account, item).await
    }
    async fn quarantine(&self, account: &str, rows: &[QuarantinedRow]) -> Result<(), StoreError> {
        self.inner.quarantine(account, rows).await
    }
}

/// Every item of the account in the orders table whose sort key contains `part`.
async fn items_of(
    api: &Api,
    account: &str,
    part: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let table = api.resources.get("OrdersTable").expect("orders table");
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let page = api
            .stack
            .dynamodb
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("ACCOUNT#{account}")))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("query");
        found.extend(page.items.unwrap_or_default().into_iter().filter(|item| {
            item.get("sk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.contains(part))
        }));
        start = page.last_evaluated_key;
        if start.is_none() {
            return found;
        }
    }
}

async fn request(api: &Api, account: &str, body: Value) {
    let answer = api.post(&format!("/accounts/{account}/reports"), body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{:?}", answer.body);
}

#[tokio::test]
async fn an_order_dynamodb_refuses_to_store_is_quarantined_and_the_rest_imported() {
    let api = start().await;
    let (_, account) = api.connect(seller_spec(801, &[US], 30), "never").await;
    request(
        &api,
        &account,
        json!({"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
               "dataStartTime": "2026-03-01T00:00:00Z", "dataEndTime": "2026-03-09T00:00:00Z"}),
    )
    .await;
    api.advance(TimeDelta::minutes(2));
    let import = Import {
        orders: Arc::new(Oversized {
            inner: api.orders.clone(),
            done: AtomicBool::new(false),
        }),
        ..api.import.clone()
    };

    let outcomes = api.poll_and_parse_with(&import).await;
    assert_eq!(
        outcomes,
        [Ok(())],
        "the message succeeds instead of failing forever"
    );
    let jobs = api.get(&format!("/accounts/{account}/reports")).await;
    let job = &jobs.body["items"][0];
    assert_eq!(job["status"], "imported", "{job}");
    assert!(job["summary"]["written"].as_u64().unwrap() > 0, "{job}");
    assert_eq!(job["summary"]["quarantined"], 1, "{job}");
    let quarantined = items_of(&api, &account, "QUARANTINE#").await;
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    let row = format!("{:?}", quarantined[0]);
    assert!(
        row.contains("item size") || row.contains("400 KB") || row.contains("maximum allowed size"),
        "{row}"
    );
}

#[tokio::test]
async fn a_store_refusal_is_not_worth_retrying() {
    let api = start().await;
    let order = tests::orders::unshipped("114-8020001-0000001", US, 1, api_support::epoch());
    let mut big = order.clone();
    big.items[0].product_name = "x".repeat(450 * 1024).into();
    let err = api
        .orders
        .put_order("acct", &big, false)
        .await
        .expect_err("too large");
    assert!(!err.is_retryable(), "{err}");
    assert!(
        api.orders.put_order("acct", &order, false).await.is_ok(),
        "the store itself is fine"
    );
}

#[tokio::test]
async fn an_account_that_does_not_import_addresses_keeps_no_buyer_data() {
    let api = start().await;
    let mut spec = seller_spec(803, &[US], 30);
    spec.afn_share = 0.0;
    spec.cancel_share = 0.0;
    spec.awaiting_shipment_share = 1.0;
    let (_, account) = api.connect(spec, "never").await;
    let options = api.get(&format!("/accounts/{account}")).await.body["options"].clone();
    assert_eq!(options["importAddresses"], false);

    // Requested by hand, although the account's options leave the report out of its imports.
    request(
        &api,
        &account,
        json!({"reportType": "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING"}),
    )
    .await;
    api.advance(TimeDelta::minutes(2));
    api.poll_and_parse().await;

    let jobs = api.get(&format!("/accounts/{account}/reports")).await;
    let job = &jobs.body["items"][0];
    assert_eq!(job["status"], "imported", "{job}");
    assert!(job["summary"]["records"].as_u64().unwrap() > 0, "{job}");
    assert!(
        !items_of(&api, &account, "#UNSHIPPED").await.is_empty(),
        "the orders' shipping data (item ids, dates) is kept"
    );
    let buyers = items_of(&api, &account, "#PII").await;
    assert!(buyers.is_empty(), "{} buyer records stored", buyers.len());
}
