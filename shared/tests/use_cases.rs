//! The use cases end to end on the in-memory fakes (`shared::testing::MemorySystem`) against the SP-API
//! sandbox, on one manual clock: the API, the report requester, poller and parsers, the feed submitter and
//! poller, and the notification handler, with no DynamoDB, moto, Java or Python. The fakes are held to the AWS
//! adapters by the contract tests in `tests/tests/` (dynamo_*, aws_adapters, leases, events_local), where the
//! same flows also run on the local stack.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use reqwest::{Method, StatusCode};
use sandbox::{
    APPLICATION_ID, CLIENT_ID, CLIENT_SECRET, Channel, OrderState, Sandbox, SandboxOptions, SandboxOrder,
    SellerCredentials, SellerSpec,
};
use serde_json::{Value, json};
use shared::amazon::{Endpoints, LwaCredentials};
use shared::app::notifications::Taken;
use shared::app::request_reports::{Tick, TickOutcome};
use shared::clock::ManualClock;
use shared::domain::Order;
use shared::domain::connect::ConnectSettings;
use shared::ports::{OrderQuery, OrderStore, Schedules};
use shared::testing::MemorySystem;
use tokio::task::JoinHandle;

const US: &str = "ATVPDKIKX0DER";

/// A Monday noon, far from daylight-saving switches.
fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 12, 0, 0).single().unwrap()
}

/// The system on fakes, its API on a loopback port, and the sandbox it calls.
struct World {
    sandbox: Sandbox,
    system: MemorySystem,
    url: String,
    http: reqwest::Client,
    server: JoinHandle<()>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl World {
    async fn start() -> World {
        let clock = Arc::new(ManualClock::new(epoch()));
        let mut options = SandboxOptions::with_clock(clock.clone());
        options.report_processing = Duration::from_secs(45);
        let sandbox = Sandbox::start(options).await.unwrap();
        let system = MemorySystem::new(
            Endpoints::single(sandbox.base_url(), &sandbox.lwa_url()),
            LwaCredentials::new(CLIENT_ID, CLIENT_SECRET),
            ConnectSettings {
                application_id: Some(APPLICATION_ID.to_owned()),
                draft: false,
                seller_central_url: Some(sandbox.base_url().to_owned()),
            },
            clock,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = shared::api::router(system.api.clone());
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        World {
            sandbox,
            system,
            url,
            http: reqwest::Client::new(),
            server,
        }
    }

    /// A request to the API; its status and JSON body (null when there is none).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }

    /// A sandbox seller of `spec`, connected through the API with a refresh token; its credentials and account.
    async fn connect(&self, spec: SellerSpec, interval: &str) -> (SellerCredentials, String) {
        let marketplaces = spec.marketplace_ids.clone();
        let seller = self.sandbox.add_seller(spec).unwrap();
        let (status, body) = self
            .call(
                Method::POST,
                "/accounts",
                Some(json!({
                    "sellerId": seller.seller_id,
                    "region": "NA",
                    "marketplaceIds": marketplaces,
                    "refreshToken": seller.refresh_token,
                    "importInterval": interval,
                })),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (seller, body["id"].as_str().unwrap().to_owned())
    }

    /// One scheduled tick of the account, then the reports polled and parsed once Amazon made them.
    async fn tick_and_import(&self, account: &str) {
        let tick = Tick {
            account_id: account.to_owned(),
        };
        let outcome = self.system.import.tick(&tick).await.unwrap();
        assert!(matches!(outcome, TickOutcome::Requested { .. }), "{outcome:?}");
        self.system.advance(TimeDelta::minutes(2));
        let outcomes = self.system.poll_and_parse().await.unwrap();
        assert!(!outcomes.is_empty(), "no report was handed to the parsers");
        for outcome in outcomes {
            outcome.unwrap();
        }
    }

    async fn stored(&self, account: &str) -> Vec<Order> {
        let query = OrderQuery {
            limit: 1000,
            ..OrderQuery::default()
        };
        let page = self.system.orders.list_orders(account, &query).await.unwrap();
        assert_eq!(page.next, None);
        page.items
    }

    /// The seller's merchant-fulfilled orders Amazon has as unshipped now.
    fn unshipped(&self, seller: &SellerCredentials) -> Vec<SandboxOrder> {
        self.sandbox
            .orders(&seller.seller_id)
            .unwrap()
            .into_iter()
            .filter(|o| o.fulfillment_channel == Channel::Mfn && o.status == OrderState::Unshipped)
            .collect()
    }

    /// The feed submitter once the batching window has passed, then the poller until Amazon processed them.
    async fn submit_and_settle(&self) {
        self.system.advance(TimeDelta::minutes(6));
        self.system.feeds.submit_due().await.unwrap();
        for _ in 0..10 {
            self.system.advance(TimeDelta::minutes(2));
            self.system.feeds.poll_feeds().await.unwrap();
        }
    }

    /// Stored orders against what Amazon's reports show now: each as (status, last update to the second).
    async fn differences(&self, seller: &SellerCredentials, account: &str) -> Vec<String> {
        let truth: BTreeMap<String, (String, i64)> = self
            .sandbox
            .visible_orders(&seller.seller_id, self.sandbox.now())
            .unwrap()
            .into_iter()
            .map(|o| {
                let seen = (o.status.as_str().to_owned(), o.last_updated_date.timestamp());
                (o.amazon_order_id, seen)
            })
            .collect();
        let stored: BTreeMap<String, (String, i64)> = self
            .stored(account)
            .await
            .into_iter()
            .map(|o| {
                let seen = (o.status.as_str().to_owned(), o.last_updated.timestamp());
                (o.amazon_order_id.to_string(), seen)
            })
            .collect();
        let ids: BTreeSet<&String> = truth.keys().chain(stored.keys()).collect();
        ids.into_iter()
            .filter(|id| truth.get(*id) != stored.get(*id))
            .map(|id| format!("{id}: Amazon {:?}, stored {:?}", truth.get(id), stored.get(id)))
            .collect()
    }
}

fn spec(seed: u64, orders: usize) -> SellerSpec {
    SellerSpec::new(seed, epoch() - TimeDelta::days(7), epoch())
        .in_marketplaces(&[US])
        .with_orders(orders)
}

/// A merchant-fulfilled seller whose orders all await shipment.
fn awaiting_shipment(seed: u64, orders: usize) -> SellerSpec {
    let mut spec = spec(seed, orders);
    spec.afn_share = 0.0;
    spec.cancel_share = 0.0;
    spec.awaiting_shipment_share = 1.0;
    spec
}

#[tokio::test]
async fn a_tick_imports_the_sellers_week_exactly_and_a_repeated_delivery_writes_nothing() {
    let world = World::start().await;
    let (seller, account) = world.connect(spec(21, 40), "15m").await;
    let schedule = world
        .system
        .schedules
        .get(&format!("account-{account}"))
        .await
        .unwrap();
    assert_eq!(
        schedule.map(|s| (s.expression, s.enabled)),
        Some(("rate(15 minutes)".to_owned(), true))
    );

    world.tick_and_import(&account).await;
    let differences = world.differences(&seller, &account).await;
    assert_eq!(differences, Vec::<String>::new());
    assert!(world.stored(&account).await.len() >= 30);

    // Every parse message delivered a second time: nothing is written again.
    let writes = world.system.orders.writes();
    for message in world.system.parse_queue.messages() {
        let parse = serde_json::from_str(&message.body).unwrap();
        world.system.import.parse_report(&parse).await.unwrap();
    }
    assert_eq!(world.system.orders.writes(), writes);

    // The account's health and report log, through the API.
    let health = world.get(&format!("/accounts/{account}/health")).await;
    assert_eq!(health["connection"]["state"], "connected", "{health}");
    assert!(health["lastSuccessfulImport"].is_string(), "{health}");
    let reports = world.get(&format!("/accounts/{account}/reports?limit=100")).await;
    let statuses: BTreeSet<&str> = reports["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains("imported"), "{reports}");

    // A day later, the next tick brings the day's changes: still exactly Amazon's orders.
    world.system.advance(TimeDelta::days(1));
    world.tick_and_import(&account).await;
    assert_eq!(world.differences(&seller, &account).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_shipment_confirmed_through_the_api_reaches_amazon_once() {
    let world = World::start().await;
    let (seller, account) = world.connect(awaiting_shipment(22, 6), "1h").await;
    world.tick_and_import(&account).await;
    let unshipped = world.unshipped(&seller);
    let order = &unshipped.first().expect("an unshipped order").amazon_order_id;

    // The seller's system retries its request: one action, one answer.
    let path = format!("/accounts/{account}/orders/{order}/shipments");
    let body = json!({"carrierCode": "UPS", "trackingNumber": "1Z999AA10123456784"});
    let first = world
        .call(Method::POST, &path, Some(body.clone()), Some("ship-1"))
        .await;
    let again = world.call(Method::POST, &path, Some(body), Some("ship-1")).await;
    assert_eq!(first.0, StatusCode::ACCEPTED, "{}", first.1);
    assert_eq!(again, first);
    assert_eq!(world.system.feed_queue.messages().len(), 1);

    world.submit_and_settle().await;
    let shipped = world
        .sandbox
        .orders(&seller.seller_id)
        .unwrap()
        .into_iter()
        .find(|o| &o.amazon_order_id == order)
        .unwrap();
    assert_eq!(shipped.shipments.len(), 1, "{:?}", shipped.shipments);
    let fulfilment_feeds = world
        .sandbox
        .feeds(&seller.seller_id)
        .unwrap()
        .iter()
        .filter(|f| f.feed_type == "POST_ORDER_FULFILLMENT_DATA")
        .count();
    assert_eq!(fulfilment_feeds, 1);
    let log = world.get(&format!("/accounts/{account}/feeds")).await;
    assert_eq!(log["items"][0]["status"], "done", "{log}");
}

#[tokio::test]
async fn an_order_placed_after_the_import_arrives_by_notification_with_its_details() {
    let world = World::start().await;
    // Orders over the three days before the clock and the two after.
    let spec = SellerSpec::new(23, epoch() - TimeDelta::days(3), epoch() + TimeDelta::days(2))
        .in_marketplaces(&[US])
        .with_orders(60);
    let (seller, account) = world.connect(spec, "15m").await;
    world.tick_and_import(&account).await;
    let subscribed = world.get(&format!("/accounts/{account}/health")).await;
    assert!(
        subscribed["notifications"]["subscriptions"]["ORDER_CHANGE"]["subscriptionId"].is_string(),
        "the first tick subscribes: {subscribed}"
    );

    world.system.advance(TimeDelta::hours(30));
    let handler = world.system.notifications();
    let mut created = Vec::new();
    for (_, body) in world.sandbox.take_notifications() {
        if let Taken::NewOrder { .. } = handler.take(&body.to_string()).await.unwrap() {
            let id = &body["Payload"]["OrderChangeNotification"]["AmazonOrderId"];
            created.push(id.as_str().unwrap().to_owned());
        }
    }
    assert!(!created.is_empty(), "no order arrived by notification");
    let truth: BTreeSet<String> = world
        .sandbox
        .orders(&seller.seller_id)
        .unwrap()
        .into_iter()
        .map(|o| o.amazon_order_id)
        .collect();
    for id in &created {
        assert!(truth.contains(id), "{id} is not Amazon's");
        let details = world.system.orders.get_order_details(&account, id).await.unwrap();
        assert!(details.is_some(), "{id} was stored without its details");
    }
}

#[tokio::test]
async fn a_backfill_walks_its_windows_and_imports_the_history() {
    let world = World::start().await;
    let (_, account) = world.connect(spec(24, 40), "never").await;
    let path = format!("/accounts/{account}/backfill");
    let body = json!({"startDate": (epoch() - TimeDelta::days(70)).to_rfc3339()});
    let (status, started) = world
        .call(Method::POST, &path, Some(body), Some("backfill-1"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");
    let location = format!(
        "/accounts/{account}/backfills/{}",
        started["id"].as_str().unwrap()
    );
    for _ in 0..12 {
        world.system.advance(TimeDelta::minutes(2));
        for outcome in world.system.poll_and_parse().await.unwrap() {
            outcome.unwrap();
        }
        if world.get(&location).await["status"] != "running" {
            break;
        }
    }
    let done = world.get(&location).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"]["settled"], 6, "{done}");
    assert!(
        !world.stored(&account).await.is_empty(),
        "the history was imported"
    );
}

/// The `name` parameter of `url`'s query.
fn query_param(url: &str, name: &str) -> String {
    let (_, query) = url.split_once('?').expect("a query");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(k, _)| k == name).expect(name).1
}

#[tokio::test]
async fn a_seller_connects_in_one_click_and_deleting_the_account_undoes_it_at_amazon() {
    let world = World::start().await;
    world
        .sandbox
        .set_redirect_uris(&[&format!("{}/connect/callback", world.url)]);
    let seller = world.sandbox.add_seller(spec(25, 10)).unwrap();
    let (status, link) = world
        .call(
            Method::POST,
            "/connect-links",
            Some(json!({"region": "NA", "importInterval": "15m"})),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");

    // The link's page, its button to Amazon's consent, the seller's confirmation, Amazon's redirect back.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = browser.get(link["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let button = "class=\"button\" rel=\"noreferrer\" href=\"";
    let start = html.find(button).expect("the consent button") + button.len();
    let consent = html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&");
    let confirmed = browser
        .post(format!("{}/apps/authorize/confirm", world.sandbox.base_url()))
        .form(&[
            ("application_id", APPLICATION_ID.to_owned()),
            ("state", query_param(&consent, "state")),
            ("redirect_uri", query_param(&consent, "redirect_uri")),
            ("seller_id", seller.seller_id.clone()),
            ("decision", "confirm".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::FOUND);
    let callback = confirmed.headers()["location"].to_str().unwrap().to_owned();
    let connected = browser.get(&callback).send().await.unwrap();
    assert_eq!(connected.status(), StatusCode::OK);
    assert!(
        connected
            .text()
            .await
            .unwrap()
            .contains("Your Amazon account is connected")
    );

    // The account, its schedule and its refresh token; its first tick subscribes it and imports.
    let account = format!("{}-na", seller.seller_id);
    assert_eq!(
        world.get(&format!("/accounts/{account}")).await["importInterval"],
        "15m"
    );
    let schedule = format!("account-{account}");
    let secret = world.system.naming.secret_name(&account);
    assert!(world.system.schedules.get(&schedule).await.unwrap().is_some());
    assert!(
        shared::ports::SecretStore::get(world.system.secrets.as_ref(), &secret)
            .await
            .unwrap()
            .is_some()
    );
    world.tick_and_import(&account).await;
    assert_eq!(world.differences(&seller, &account).await, Vec::<String>::new());
    assert_eq!(world.sandbox.subscriptions(&seller.seller_id).len(), 3);

    let (status, body) = world
        .call(Method::DELETE, &format!("/accounts/{account}"), None, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(world.sandbox.subscriptions(&seller.seller_id).is_empty());
    assert_eq!(world.system.schedules.get(&schedule).await.unwrap(), None);
    assert_eq!(
        shared::ports::SecretStore::get(world.system.secrets.as_ref(), &secret)
            .await
            .unwrap(),
        None
    );
    let (status, _) = world
        .call(Method::GET, &format!("/accounts/{account}"), None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_cancellation_and_an_inventory_update_reach_amazon_as_their_feeds() {
    let world = World::start().await;
    let (seller, account) = world.connect(awaiting_shipment(26, 6), "1h").await;
    world.tick_and_import(&account).await;
    let order = world
        .unshipped(&seller)
        .into_iter()
        .next()
        .expect("an unshipped order");

    let cancel = world
        .call(
            Method::POST,
            &format!("/accounts/{account}/orders/{}/cancel", order.amazon_order_id),
            Some(json!({"reason": "NoInventory"})),
            None,
        )
        .await;
    assert_eq!(cancel.0, StatusCode::ACCEPTED, "{}", cancel.1);
    let sku = order.items[0].sku.clone();
    let inventory = world
        .call(
            Method::PUT,
            &format!("/accounts/{account}/inventory"),
            Some(json!({"items": [{"sku": sku, "quantity": 7}]})),
            None,
        )
        .await;
    assert_eq!(inventory.0, StatusCode::ACCEPTED, "{}", inventory.1);

    world.submit_and_settle().await;
    let feed_types: BTreeSet<String> = world
        .sandbox
        .feeds(&seller.seller_id)
        .unwrap()
        .into_iter()
        .map(|f| f.feed_type)
        .collect();
    assert_eq!(
        feed_types,
        BTreeSet::from([
            "JSON_LISTINGS_FEED".to_owned(),
            "POST_ORDER_ACKNOWLEDGEMENT_DATA".to_owned()
        ])
    );
    let cancelled = world
        .sandbox
        .orders(&seller.seller_id)
        .unwrap()
        .into_iter()
        .find(|o| o.amazon_order_id == order.amazon_order_id)
        .unwrap();
    assert_eq!(cancelled.cancellations.len(), 1, "{:?}", cancelled.cancellations);
    let log = world.get(&format!("/accounts/{account}/feeds")).await;
    let statuses: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["done", "done"], "{log}");
}

#[tokio::test]
async fn with_enrichment_on_each_unshipped_merchant_order_is_stored_with_its_recipient() {
    let mut world = World::start().await;
    world.system.import.settings.enrich_orders = true;
    let (seller, account) = world.connect(awaiting_shipment(27, 8), "1h").await;
    world.tick_and_import(&account).await;
    let unshipped = world.unshipped(&seller);
    assert!(!unshipped.is_empty());
    for order in unshipped.iter().map(|o| &o.amazon_order_id) {
        let path = format!("/accounts/{account}/orders/{order}/recipient");
        let (status, recipient) = world.call(Method::GET, &path, None, None).await;
        assert_eq!(status, StatusCode::OK, "{order}: {recipient}");
        assert!(recipient["address"]["addressLine1"].is_string(), "{recipient}");
    }
}
