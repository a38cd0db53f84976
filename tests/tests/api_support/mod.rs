//! Helpers shared by the API tests: the router served on a loopback port over the local stack (DynamoDB Local,
//! moto) and an in-process SP-API sandbox, all on one manual clock, and a plain HTTP client.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::adapters::dynamo::{DynamoOrderStore, DynamoRateLimiter, DynamoStateStore};
use shared::adapters::s3::S3Archive;
use shared::adapters::scheduler::{EventBridgeSchedules, ScheduleTarget};
use shared::adapters::secrets::SecretsManagerStore;
use shared::adapters::sqs::SqsQueue;
use shared::amazon::{AmazonClient, Endpoints, LwaCredentials, RetryPolicy};
use shared::api::{ApiParts, ApiState};
use shared::app::accounts::AccountNaming;
use shared::app::import::{Import, ImportSettings, ParseMessage};
use shared::app::subscriptions::Subscriptions;
use shared::clock::ManualClock;
use shared::domain::connect::ConnectSettings;
use shared::metrics::Metrics;
use shared::runtime::API_RETRY;
use tests::sandbox::{
    APPLICATION_ID, CLIENT_ID, CLIENT_SECRET, Sandbox, SandboxOptions, SellerCredentials, SellerSpec,
};
use tests::stack::{LocalStack, Resources, Template, unique_prefix};
use tokio::task::JoinHandle;

pub const US: &str = "ATVPDKIKX0DER";
pub const CA: &str = "A2EUQ1WTGCTBG2";
pub const DE: &str = "A1PA6795UKMFR9";
pub const FR: &str = "A13V1IB3VIYZZH";
pub const IT: &str = "APJ6JRA9NG5V4";

/// The report requester every schedule targets in these tests.
pub const REQUESTER_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:request-reports";
/// The role Scheduler assumes in these tests.
pub const SCHEDULER_ROLE_ARN: &str = "arn:aws:iam::123456789012:role/scheduler";

/// A Monday noon, far from daylight-saving switches.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 12, 0, 0)
        .single()
        .expect("valid date")
}

/// An answer: status, headers and body (JSON when it parses, else null).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The error's `field`, for a 400.
    pub fn field(&self) -> Option<&str> {
        self.body["error"]["field"].as_str()
    }

    /// The error's `code`.
    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

/// The API on a loopback port, its stores, the sandbox behind it and the shared clock.
pub struct Api {
    pub url: String,
    pub http: reqwest::Client,
    pub sandbox: Sandbox,
    pub clock: Arc<ManualClock>,
    pub stack: LocalStack,
    pub resources: Resources,
    pub state: Arc<DynamoStateStore>,
    pub orders: Arc<DynamoOrderStore>,
    pub schedules: Arc<EventBridgeSchedules>,
    pub naming: AccountNaming,
    pub import: Import,
    server: JoinHandle<()>,
}

impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The queue the stack's notification destination names (the sandbox only keeps it as the destination's ARN).
pub use shared::testing::NOTIFICATION_QUEUE_ARN;

/// Starts everything with a fresh set of tables, queues and schedule group.
pub async fn start() -> Api {
    let clock = Arc::new(ManualClock::new(epoch()));
    let mut options = SandboxOptions::with_clock(clock.clone());
    options.report_processing = Duration::from_secs(45);
    let sandbox = Sandbox::start(options).await.expect("sandbox starts");
    let stack = LocalStack::from_env().await.expect("local stack");
    let prefix = unique_prefix("api");
    let resources = stack
        .provision(&Template::load().expect("template"), &prefix)
        .await
        .expect("provisioned");
    let state = Arc::new(DynamoStateStore::new(
        stack.dynamodb.clone(),
        resources.get("StateTable").expect("state table"),
    ));
    let orders = Arc::new(DynamoOrderStore::new(
        stack.dynamodb.clone(),
        resources.get("OrdersTable").expect("orders table"),
    ));
    let secrets = Arc::new(SecretsManagerStore::new(stack.secrets.clone(), None));
    let schedules = Arc::new(EventBridgeSchedules::new(
        stack.scheduler.clone(),
        ScheduleTarget {
            group: resources.get("AccountScheduleGroup").expect("group").to_owned(),
            function_arn: REQUESTER_ARN.into(),
            role_arn: SCHEDULER_ROLE_ARN.into(),
            dead_letter_arn: resources.arns["ScheduleDeadLetterQueue"].clone(),
        },
    ));
    let naming = AccountNaming {
        secret_prefix: format!("{prefix}/accounts/"),
        lwa_secret: format!("{prefix}/lwa-app"),
    };
    let limiter = Arc::new(DynamoRateLimiter::new(
        stack.dynamodb.clone(),
        resources.get("StateTable").expect("state table"),
        clock.clone(),
    ));
    let amazon = |retry: RetryPolicy| {
        AmazonClient::new(
            AmazonClient::http_client().expect("http client"),
            Endpoints::single(sandbox.base_url(), &sandbox.lwa_url()),
            LwaCredentials::new(CLIENT_ID, CLIENT_SECRET),
            clock.clone(),
            limiter.clone(),
            retry,
            Metrics::recording("api-tests"),
        )
    };
    let api_state = ApiState::new(ApiParts {
        accounts: state.clone(),
        jobs: state.clone(),
        orders: orders.clone(),
        secrets: secrets.clone(),
        schedules: schedules.clone(),
        idempotency: state.clone(),
        outbox: state.clone(),
        feed_queue: Arc::new(SqsQueue::new(
            stack.sqs.clone(),
            resources.get("FeedQueue").expect("feed queue"),
        )),
        amazon: amazon(API_RETRY),
        clock: clock.clone(),
        naming: naming.clone(),
        links: state.clone(),
        connect: ConnectSettings {
            application_id: Some(APPLICATION_ID.to_owned()),
            draft: false,
            seller_central_url: Some(sandbox.base_url().to_owned()),
        },
        notification_queue_arn: Some(NOTIFICATION_QUEUE_ARN.to_owned()),
    });
    let import = Import {
        accounts: state.clone(),
        jobs: state.clone(),
        orders: orders.clone(),
        secrets,
        parse_queue: Arc::new(SqsQueue::new(
            stack.sqs.clone(),
            resources.get("ParseQueue").expect("parse queue"),
        )),
        archive: Arc::new(S3Archive::new(
            stack.s3.clone(),
            resources.get("RawDocumentsBucket").expect("raw documents bucket"),
            None,
        )),
        subscriptions: Subscriptions::new(
            amazon(RetryPolicy::default()),
            state.clone(),
            clock.clone(),
            Some(NOTIFICATION_QUEUE_ARN.to_owned()),
        ),
        amazon: amazon(RetryPolicy::default()),
        clock: clock.clone(),
        metrics: Metrics::recording("api-tests"),
        settings: ImportSettings {
            overlap: TimeDelta::hours(24),
            initial_lookback: TimeDelta::days(7),
            parse_deadline: shared::domain::PARSE_DEADLINE,
            naming: naming.clone(),
            enrich_orders: false,
        },
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let router = shared::api::router(api_state);
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.expect("API serves");
    });
    Api {
        url,
        http: reqwest::Client::new(),
        sandbox,
        clock,
        stack,
        resources,
        state,
        orders,
        schedules,
        naming,
        import,
        server,
    }
}

/// A seller with orders over the week before the epoch.
pub fn seller_spec(seed: u64, marketplaces: &[&str], orders: usize) -> SellerSpec {
    SellerSpec::new(seed, epoch() - TimeDelta::days(7), epoch())
        .in_marketplaces(marketplaces)
        .with_orders(orders)
}

impl Api {
    /// Sends a request; `body` as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("API answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body), &[]).await
    }

    pub async fn post_with_key(&self, path: &str, key: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body), &[("Idempotency-Key", key)])
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None, &[]).await
    }

    /// Generates a sandbox seller and connects it through the API; its credentials and account id.
    pub async fn connect(&self, spec: SellerSpec, interval: &str) -> (SellerCredentials, String) {
        let marketplaces = spec.marketplace_ids.clone();
        let region = marketplaces
            .first()
            .and_then(|m| shared::domain::marketplace::Marketplace::by_id(m))
            .map_or("NA", |m| m.region.code());
        let seller = self.sandbox.add_seller(spec).expect("valid spec");
        let answer = self
            .post(
                "/accounts",
                json!({
                    "sellerId": seller.seller_id,
                    "region": region,
                    "marketplaceIds": marketplaces,
                    "refreshToken": seller.refresh_token,
                    "importInterval": interval,
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
        let id = answer.body["id"].as_str().expect("id").to_owned();
        (seller, id)
    }

    /// Makes the account's notification subscriptions at the sandbox, as its first import tick would, and
    /// checks that all are active.
    pub async fn subscribe(&self, account: &str) {
        let record = self.import.accounts.get_account(account).await.unwrap().unwrap();
        let auth = self.import.seller_auth(&record.account).await.unwrap();
        let status = self
            .import
            .subscriptions
            .check(&record.account, &auth)
            .await
            .unwrap()
            .unwrap();
        assert!(status.all_active(), "{status:?}");
    }

    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by.to_std().expect("forward"));
    }

    /// One poll run, then every parse message it queued imported: what the poller and parsers do.
    pub async fn poll_and_parse(&self) {
        for outcome in self.poll_and_parse_with(&self.import).await {
            outcome.expect("report imported");
        }
    }

    /// One poll run by `import`, then every parse message it queued handled by `import`; each message's
    /// outcome (the message is deleted either way).
    pub async fn poll_and_parse_with(&self, import: &Import) -> Vec<Result<(), String>> {
        import.poll_reports().await.expect("poll run");
        let queue = self.resources.get("ParseQueue").expect("parse queue");
        let mut outcomes = Vec::new();
        loop {
            let received = self.receive_parse_messages().await;
            if received.is_empty() {
                return outcomes;
            }
            for (parse, receipt) in received {
                let outcome = import.parse_report(&parse).await;
                outcomes.push(outcome.map(|_| ()).map_err(|e| e.to_string()));
                self.stack
                    .sqs
                    .delete_message()
                    .queue_url(queue)
                    .set_receipt_handle(receipt)
                    .send()
                    .await
                    .expect("deleted");
            }
        }
    }

    /// A connected account (a sandbox seller of `seed`) with unshipped merchant-fulfilled `orders` of `units`
    /// units each, stored as the import stores them.
    pub async fn account_with_orders(&self, seed: u64, orders: &[&str], units: u32) -> String {
        let (_, account) = self.connect(seller_spec(seed, &[US], 5), "never").await;
        for order in orders {
            let stored = tests::orders::unshipped(order, US, units, epoch() - TimeDelta::hours(2));
            shared::ports::OrderStore::put_order(self.orders.as_ref(), &account, &stored, false)
                .await
                .expect("stored");
        }
        account
    }

    /// Up to ten messages of the parse queue, with their receipt handles; received, so hidden for a while.
    pub async fn receive_parse_messages(&self) -> Vec<(ParseMessage, Option<String>)> {
        let queue = self.resources.get("ParseQueue").expect("parse queue");
        self.stack
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|message| {
                let parse: ParseMessage =
                    serde_json::from_str(message.body.as_deref().unwrap_or_default()).expect("parse message");
                (parse, message.receipt_handle)
            })
            .collect()
    }
}

/// The feed submitter and poller over the API's stores, the sandbox and the clock, with `outbox`.
pub fn processor(api: &Api, outbox: Arc<dyn shared::ports::FeedStore>) -> shared::app::feeds::FeedProcessor {
    shared::app::feeds::FeedProcessor {
        accounts: api.state.clone(),
        secrets: api.import.secrets.clone(),
        outbox,
        leases: api.state.clone(),
        amazon: api.import.amazon.clone(),
        clock: api.clock.clone(),
        metrics: Metrics::recording("feed-tests"),
        naming: api.naming.clone(),
        settings: shared::app::feeds::FeedSettings::new(TimeDelta::minutes(3), TimeDelta::minutes(5)),
    }
}

/// Submits what is due, then lets the sandbox process and the poller read every feed.
pub async fn submit_and_settle(api: &Api, feeds: &shared::app::feeds::FeedProcessor) {
    api.advance(TimeDelta::minutes(6));
    feeds.submit_due().await.expect("submitter run");
    for _ in 0..10 {
        api.advance(TimeDelta::minutes(2));
        feeds.poll_feeds().await.expect("poll run");
    }
}
