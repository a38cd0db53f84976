//! An account's notification subscriptions as part of its life, against the sandbox's Notifications API and
//! DynamoDB Local: made at the first tick to the stack's destination, trusted for a day, repaired when one is
//! gone, shown in health (with Amazon's refusal when there is one, asked again an hour later), made once when
//! two checks meet, and removed with the account.

mod api_support;

use std::collections::BTreeSet;

use api_support::{NOTIFICATION_QUEUE_ARN, seller_spec};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::Value;
use shared::app::notifications::{NotificationHandler, Taken};
use shared::app::request_reports::Tick;
use shared::ports::OrderStore;
use tests::sandbox::{CLIENT_ID, CLIENT_SECRET, Fault, FaultKind, NOTIFICATIONS_SCOPE, Operation};

const US: &str = "ATVPDKIKX0DER";
const TYPES: [&str; 3] = [
    "ORDER_CHANGE",
    "REPORT_PROCESSING_FINISHED",
    "FEED_PROCESSING_FINISHED",
];

/// The seller's subscriptions at Amazon, by type: `(id, destination ARN)`.
fn at_amazon(api: &api_support::Api, seller: &str) -> Vec<(String, String, Option<String>)> {
    let mut subscriptions = api.sandbox.subscriptions(seller);
    subscriptions.sort();
    subscriptions
}

async fn health(api: &api_support::Api, account: &str) -> Value {
    let answer = api.get(&format!("/accounts/{account}/health")).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body
}

async fn tick(api: &api_support::Api, account: &str) {
    api.import
        .request_reports(&Tick {
            account_id: account.to_owned(),
        })
        .await
        .expect("tick");
}

fn get_subscription_calls(api: &api_support::Api, seller: &str) -> u64 {
    api.sandbox
        .stats(seller)
        .expect("stats")
        .get(&Operation::GetSubscription)
        .map_or(0, |s| s.calls)
}

/// Deletes a subscription at Amazon behind sellersync's back, as another tool of the seller's could.
async fn delete_at_amazon(api: &api_support::Api, kind: &str, id: &str) {
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", NOTIFICATIONS_SCOPE),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    let token: Value = api
        .http
        .post(api.sandbox.lwa_url())
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answer = api
        .http
        .delete(format!(
            "{}/notifications/v1/subscriptions/{kind}/{id}",
            api.sandbox.base_url()
        ))
        .header("x-amz-access-token", token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_connected_account_is_subscribed_checked_daily_repaired_and_unsubscribed_when_deleted() {
    let api = api_support::start().await;
    let (seller, account) = api.connect(seller_spec(301, &[US], 5), "15m").await;
    assert!(at_amazon(&api, &seller.seller_id).is_empty());
    let before = health(&api, &account).await;
    assert!(before.get("notifications").is_none(), "{before}");

    tick(&api, &account).await;
    let subscribed = at_amazon(&api, &seller.seller_id);
    let kinds: BTreeSet<&str> = subscribed.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(kinds, TYPES.into_iter().collect());
    assert!(
        subscribed
            .iter()
            .all(|(_, _, arn)| arn.as_deref() == Some(NOTIFICATION_QUEUE_ARN)),
        "{subscribed:?}"
    );
    let shown = health(&api, &account).await;
    for (kind, id, _) in &subscribed {
        assert_eq!(
            shown["notifications"]["subscriptions"][kind]["state"], "active",
            "{shown}"
        );
        assert_eq!(
            shown["notifications"]["subscriptions"][kind]["subscriptionId"],
            id.as_str()
        );
    }

    // Within a day the check is trusted: no calls.
    let calls = get_subscription_calls(&api, &seller.seller_id);
    api.advance(TimeDelta::hours(20));
    tick(&api, &account).await;
    assert_eq!(get_subscription_calls(&api, &seller.seller_id), calls);

    // Someone removes one at Amazon; the next day's check makes it again.
    let (kind, old_id, _) = subscribed
        .iter()
        .find(|(k, _, _)| k == "ORDER_CHANGE")
        .cloned()
        .unwrap();
    delete_at_amazon(&api, &kind, &old_id).await;
    assert_eq!(at_amazon(&api, &seller.seller_id).len(), 2);
    api.advance(TimeDelta::hours(5));
    tick(&api, &account).await;
    let repaired = at_amazon(&api, &seller.seller_id);
    assert_eq!(repaired.len(), 3, "{repaired:?}");
    let new_id = repaired
        .iter()
        .find(|(k, _, _)| k == "ORDER_CHANGE")
        .unwrap()
        .1
        .clone();
    assert_ne!(new_id, old_id);
    let shown = health(&api, &account).await;
    assert_eq!(
        shown["notifications"]["subscriptions"]["ORDER_CHANGE"]["subscriptionId"],
        new_id.as_str()
    );

    // Deleting the account removes them at Amazon.
    let deleted = api.delete(&format!("/accounts/{account}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.body);
    assert!(at_amazon(&api, &seller.seller_id).is_empty());
}

#[tokio::test]
async fn a_refused_subscription_is_shown_with_amazons_answer_and_asked_for_again_an_hour_later() {
    let api = api_support::start().await;
    let (seller, account) = api.connect(seller_spec(302, &[US], 5), "15m").await;
    // Amazon fails every createSubscription of this seller's (three per check, and the client's retries).
    api.sandbox.inject(Fault {
        operation: Some(Operation::CreateSubscription),
        seller: Some(seller.seller_id.clone()),
        kind: FaultKind::ServerError { status: 503 },
        count: 1000,
    });
    tick(&api, &account).await;
    assert!(at_amazon(&api, &seller.seller_id).is_empty());
    let shown = health(&api, &account).await;
    for kind in TYPES {
        let state = &shown["notifications"]["subscriptions"][kind];
        assert_eq!(state["state"], "refused", "{shown}");
        assert_eq!(state["code"], "Unavailable", "{shown}");
        assert!(
            state["message"].as_str().unwrap().contains("createSubscription"),
            "{shown}"
        );
    }
    // The import itself goes on: reports were requested.
    assert_eq!(shown["reportsInFlight"], 2, "{shown}");

    api.sandbox.clear_faults();
    api.advance(TimeDelta::minutes(30));
    tick(&api, &account).await;
    assert!(
        at_amazon(&api, &seller.seller_id).is_empty(),
        "asked again within the hour"
    );
    api.advance(TimeDelta::minutes(31));
    tick(&api, &account).await;
    assert_eq!(at_amazon(&api, &seller.seller_id).len(), 3);
    let shown = health(&api, &account).await;
    assert!(
        TYPES
            .iter()
            .all(|k| shown["notifications"]["subscriptions"][k]["state"] == "active"),
        "{shown}"
    );
}

#[tokio::test]
async fn two_checks_at_once_leave_one_subscription_per_type() {
    let api = api_support::start().await;
    let (seller, account) = api.connect(seller_spec(303, &[US], 5), "15m").await;
    let record = api.import.accounts.get_account(&account).await.unwrap().unwrap();
    let auth = api.import.seller_auth(&record.account).await.unwrap();
    let (a, b) = tokio::join!(
        api.import.subscriptions.check(&record.account, &auth),
        api.import.subscriptions.check(&record.account, &auth),
    );
    let (a, b) = (a.unwrap().unwrap(), b.unwrap().unwrap());
    let subscribed = at_amazon(&api, &seller.seller_id);
    assert_eq!(subscribed.len(), 3, "{subscribed:?}");
    for status in [&a, &b] {
        assert!(status.all_active(), "{status:?}");
        let ids: BTreeSet<String> = status
            .active_ids()
            .into_iter()
            .map(|(_, id)| id.to_owned())
            .collect();
        let at_amazon: BTreeSet<String> = subscribed.iter().map(|(_, id, _)| id.clone()).collect();
        assert_eq!(ids, at_amazon);
    }
}

/// The notifications the sandbox hands over now whose type (`field`, as the type's schema spells it) is `kind`.
fn delivered(api: &api_support::Api, field: &str, kind: &str) -> Vec<Value> {
    api.sandbox
        .take_notifications()
        .into_iter()
        .map(|(_, body)| body)
        .filter(|n| n[field] == kind)
        .collect()
}

/// The `getOrder` calls the sandbox answered for `seller`.
fn get_order_calls(api: &api_support::Api, seller: &str) -> u64 {
    api.sandbox
        .stats(seller)
        .unwrap()
        .get(&Operation::GetOrder)
        .map_or(0, |s| s.calls)
}

/// The notification handler of the test's stack (the import's and the feed poller's use cases).
fn handler(api: &api_support::Api) -> NotificationHandler {
    NotificationHandler {
        import: api.import.clone(),
        feeds: api_support::processor(api, api.state.clone()),
    }
}

#[tokio::test]
async fn order_changes_are_read_again_once_in_order_and_never_backwards() {
    let api = api_support::start().await;
    // Orders placed over the three days before the clock and the two after, so some change while the test
    // watches.
    let spec = tests::sandbox::SellerSpec::new(
        304,
        api_support::epoch() - TimeDelta::days(3),
        api_support::epoch() + TimeDelta::days(2),
    )
    .in_marketplaces(&[US])
    .with_orders(80);
    let (seller, account) = api.connect(spec, "15m").await;
    let requested = api
        .post(
            &format!("/accounts/{account}/reports"),
            serde_json::json!({"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
                "dataStartTime": "2026-03-06T00:00:00Z", "dataEndTime": "2026-03-09T11:50:00Z"}),
        )
        .await;
    assert_eq!(requested.status, StatusCode::ACCEPTED, "{:?}", requested.body);
    api.advance(TimeDelta::minutes(2));
    api.poll_and_parse().await;
    api.subscribe(&account).await;

    api.advance(TimeDelta::hours(30));
    let handler = handler(&api);
    let changes = delivered(&api, "NotificationType", "ORDER_CHANGE");
    let changes: Vec<&Value> = changes.iter().collect();
    assert!(
        changes.len() >= 10,
        "only {} order changes in 30 hours",
        changes.len()
    );

    // Delivered out of order (newest first), then all again in order.
    let mut read_again = 0;
    let mut created = Vec::new();
    let mut dropped = std::collections::BTreeMap::<&str, u32>::new();
    for body in changes.iter().rev() {
        match handler.take(&body.to_string()).await.expect("taken") {
            Taken::Order(summary) => read_again += summary.fetched,
            Taken::NewOrder { .. } => created.push(
                body["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            Taken::Dropped(why) => *dropped.entry(why).or_default() += 1,
            other => panic!("an order change taken as {other:?}"),
        }
    }
    // Orders placed after the import are stored from getOrder, ahead of the reports, with their details.
    assert!(
        created.len() >= 3,
        "{} orders created: {dropped:?}",
        created.len()
    );
    let ids: Vec<&str> = created.iter().map(String::as_str).collect();
    let versions = api.orders.order_versions(&account, &ids).await.unwrap();
    for id in &ids {
        assert!(versions[*id].ahead_of_reports, "{id}");
        let details = api.orders.get_order_details(&account, id).await.unwrap();
        assert_eq!(
            details.map(|d| d.last_updated),
            Some(versions[*id].last_updated),
            "{id}"
        );
    }
    assert!(read_again > 0, "no stored order was read again: {dropped:?}");
    // An older change after a newer one was read reads nothing.
    assert!(
        dropped.contains_key("the stored order already has this change"),
        "{dropped:?}"
    );
    let reads = get_order_calls(&api, &seller.seller_id);
    for body in &changes {
        let taken = handler.take(&body.to_string()).await.expect("taken");
        assert!(
            matches!(taken, Taken::Dropped(_)),
            "a repeated change did {taken:?}"
        );
    }
    assert_eq!(
        get_order_calls(&api, &seller.seller_id),
        reads,
        "a repeated change was read again"
    );
    let mut per_order = std::collections::BTreeMap::<&str, u32>::new();
    for body in &changes {
        *per_order
            .entry(
                body["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
                    .as_str()
                    .unwrap(),
            )
            .or_default() += 1;
    }

    // Every stored order that got a change is now at least as new as its last change, and as getOrder shows it.
    let token_calls = get_order_calls(&api, &seller.seller_id);
    for (order_id, _) in per_order {
        let Some(stored) = api.orders.get_order(&account, order_id).await.unwrap() else {
            continue;
        };
        let last_change = changes
            .iter()
            .map(|n| &n["Payload"]["OrderChangeNotification"])
            .filter(|c| c["AmazonOrderId"] == order_id)
            .map(|c| {
                c["OrderChangeTrigger"]["TimeOfOrderChange"]
                    .as_str()
                    .unwrap()
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .unwrap()
            })
            .max()
            .unwrap();
        let details = api.orders.get_order_details(&account, order_id).await.unwrap();
        let known = details.map_or(stored.last_updated, |d| d.last_updated.max(stored.last_updated));
        assert!(
            known >= last_change,
            "{order_id}: stored {known}, changed {last_change}"
        );
    }
    // A third delivery of everything changes and reads nothing.
    for body in &changes {
        assert!(matches!(
            handler.take(&body.to_string()).await.unwrap(),
            Taken::Dropped(_)
        ));
    }
    assert_eq!(get_order_calls(&api, &seller.seller_id), token_calls);

    // Reports show those versions (or later ones) once they catch up with the API (a day at most): each report
    // row replaces the copy made from getOrder, which is then no longer ahead.
    api.advance(TimeDelta::hours(25));
    let requested = api
        .post(
            &format!("/accounts/{account}/reports"),
            serde_json::json!({"reportType": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
                "dataStartTime": "2026-03-09T11:00:00Z",
                "dataEndTime": (api.sandbox.now() - TimeDelta::minutes(5)).to_rfc3339()}),
        )
        .await;
    assert_eq!(requested.status, StatusCode::ACCEPTED, "{:?}", requested.body);
    api.advance(TimeDelta::minutes(2));
    api.poll_and_parse().await;
    let versions = api.orders.order_versions(&account, &ids).await.unwrap();
    let ahead: Vec<&&str> = ids.iter().filter(|id| versions[**id].ahead_of_reports).collect();
    assert!(
        ahead.is_empty(),
        "copies made from getOrder no report row replaced: {ahead:?}"
    );
}

#[tokio::test]
async fn a_finished_report_is_polled_at_once_and_bad_notifications_are_dead_lettered_with_the_reason() {
    let api = api_support::start().await;
    let (seller, account) = api.connect(seller_spec(305, &[US], 20), "15m").await;
    let record = api.import.accounts.get_account(&account).await.unwrap().unwrap();
    let auth = api.import.seller_auth(&record.account).await.unwrap();
    api.import
        .subscriptions
        .check(&record.account, &auth)
        .await
        .unwrap();
    tick(&api, &account).await;
    // Amazon finishes the reports after 45 s; the notifications say so.
    api.advance(TimeDelta::seconds(50));
    let finished = delivered(&api, "notificationType", "REPORT_PROCESSING_FINISHED");
    let finished: Vec<&Value> = finished.iter().collect();
    assert_eq!(finished.len(), 2, "{finished:?}");
    let handler = handler(&api);
    for body in &finished {
        match handler.take(&body.to_string()).await.expect("taken") {
            Taken::Report(summary) => assert_eq!(summary.done, 1, "{summary:?}"),
            other => panic!("a finished report taken as {other:?}"),
        }
        // Again: the job moved on, nothing more happens.
        assert_eq!(
            handler.take(&body.to_string()).await.unwrap(),
            Taken::Dropped("the report's job was handled already")
        );
    }
    // Their documents went to the parsers, before any poller run.
    assert_eq!(api.receive_parse_messages().await.len(), 2);

    // Another seller's, a vendor's and an unreadable notification: the first two are dropped, the last is
    // dead-lettered with its reason (never retried: it cannot succeed).
    let mut other = finished[0].clone();
    other["payload"]["reportProcessingFinishedNotification"]["sellerId"] = Value::from("A0THERSELLER0");
    assert_eq!(
        handler.take(&other.to_string()).await.unwrap(),
        Taken::Dropped("no account of this seller")
    );
    let dlq = api.resources.get("ParseDeadLetterQueue").unwrap().to_owned();
    let dead_letters = shared::app::batch::DeadLetters {
        queue: std::sync::Arc::new(shared::adapters::sqs::SqsQueue::new(api.stack.sqs.clone(), &dlq)),
        max_receives: 5,
    };
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(serde_json::json!({"Records": [{
            "messageId": "m-1",
            "body": r#"{"notificationType":"REPORT_PROCESSING_FINISHED","payload":{}}"#,
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
        }]}))
        .unwrap();
    let response = handler.take_batch(event, Some(&dead_letters)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    let letters = api
        .stack
        .sqs
        .receive_message()
        .queue_url(&dlq)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(letters.len(), 1);
    let reason = letters[0]
        .message_attributes()
        .and_then(|a| a.get("reason"))
        .and_then(|v| v.string_value())
        .unwrap_or_default();
    assert!(
        reason.contains("REPORT_PROCESSING_FINISHED") && reason.contains("payload"),
        "{reason}"
    );
    let _ = seller;
}

#[tokio::test]
async fn with_reports_notified_the_poller_asks_about_a_pending_report_only_every_fifteen_minutes() {
    let api = api_support::start().await;
    let (seller, account) = api.connect(seller_spec(306, &[US], 20), "15m").await;
    let record = api.import.accounts.get_account(&account).await.unwrap().unwrap();
    let auth = api.import.seller_auth(&record.account).await.unwrap();
    api.import
        .subscriptions
        .check(&record.account, &auth)
        .await
        .unwrap();
    // Polled first 30 s after the request, before Amazon finishes the reports (45 s).
    tick(&api, &account).await;
    let get_reports = || {
        api.sandbox
            .stats(&seller.seller_id)
            .unwrap()
            .get(&Operation::GetReport)
            .map_or(0, |s| s.calls)
    };
    api.advance(TimeDelta::seconds(31));
    let first = api.import.poll_reports().await.unwrap();
    assert_eq!(first.pending, 2, "{first:?}");
    let polled = get_reports();
    // Without notifications the next polls would come 1, 2 and 4 minutes later; with them, none for 15.
    for _ in 0..14 {
        api.advance(TimeDelta::minutes(1));
        api.import.poll_reports().await.unwrap();
    }
    assert_eq!(get_reports(), polled, "a notified pending report was polled");
    // The safety net for a notification that never came.
    api.advance(TimeDelta::minutes(1));
    let net = api.import.poll_reports().await.unwrap();
    assert_eq!(net.done, 2, "{net:?}");
    assert_eq!(get_reports(), polled + 2);
}

#[tokio::test]
async fn an_order_whose_get_order_token_is_seconds_away_is_left_to_the_reports_and_counted() {
    use std::sync::Arc;

    use shared::amazon::rate::{MemoryRateLimiter, Operation as SpApi, RateLimiter};
    use shared::amazon::{AmazonClient, Endpoints, LwaCredentials, RetryPolicy};
    use shared::app::notifications::ORDER_TOKEN_WAIT;
    use shared::clock::Clock;
    use shared::metrics::{Metrics, NOTIFICATIONS_DEFERRED};

    let api = api_support::start().await;
    // Orders placed over the two hours after the clock, none imported: every change is of an order not stored.
    let spec = tests::sandbox::SellerSpec::new(
        318,
        api_support::epoch(),
        api_support::epoch() + TimeDelta::hours(2),
    )
    .in_marketplaces(&[US])
    .with_orders(20);
    let (seller, account) = api.connect(spec, "15m").await;
    api.subscribe(&account).await;
    api.advance(TimeDelta::hours(3));
    let changes = delivered(&api, "NotificationType", "ORDER_CHANGE");
    assert!(!changes.is_empty(), "no order changed in 3 hours");
    let change = changes[0].to_string();
    let order_id = changes[0]["Payload"]["OrderChangeNotification"]["AmazonOrderId"]
        .as_str()
        .unwrap()
        .to_owned();

    // The account's getOrder bucket is empty and refills at 0.1 a second (other Lambdas took its burst): the
    // next token is 10 s away, beyond the notification's wait.
    let limiter = Arc::new(MemoryRateLimiter::new(api.clock.clone()));
    limiter
        .observe_limit(&account, SpApi::GetOrder, 0.1)
        .await
        .unwrap();
    while limiter
        .try_acquire(&account, SpApi::GetOrder)
        .await
        .unwrap()
        .is_ok()
    {}
    let metrics = Metrics::recording("api-tests");
    let amazon = AmazonClient::new(
        AmazonClient::http_client().unwrap(),
        Endpoints::single(api.sandbox.base_url(), &api.sandbox.lwa_url()),
        LwaCredentials::new(CLIENT_ID, CLIENT_SECRET),
        api.clock.clone(),
        limiter.clone(),
        RetryPolicy::default(),
        metrics.clone(),
    );
    let handler = NotificationHandler {
        import: shared::app::import::Import {
            amazon,
            metrics: metrics.clone(),
            ..api.import.clone()
        },
        feeds: api_support::processor(&api, api.state.clone()),
    };
    let before = api.clock.now();
    let taken = handler.take(&change).await.expect("taken");
    assert_eq!(taken, Taken::Deferred);
    // Told at once, without waiting out the 4 s or calling Amazon; nothing stored; counted.
    assert_eq!(
        api.clock.now(),
        before,
        "the handler waited for a token it could not have"
    );
    assert_eq!(get_order_calls(&api, &seller.seller_id), 0);
    assert!(api.orders.get_order(&account, &order_id).await.unwrap().is_none());
    assert_eq!(metrics.recorded_sum(NOTIFICATIONS_DEFERRED), 1.0);
    // A batch of it is acknowledged, not retried into the dead-letter queue.
    let batch: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(serde_json::json!({
        "Records": [{"messageId": "m-1", "body": change}]
    }))
    .unwrap();
    let answer = handler.take_batch(batch, None).await;
    assert!(
        answer.batch_item_failures.is_empty(),
        "{:?}",
        answer.batch_item_failures
    );
    assert_eq!(metrics.recorded_sum(NOTIFICATIONS_DEFERRED), 2.0);

    // 7 s later the next token is 3 s away: the handler waits for it and stores the order.
    api.advance(TimeDelta::seconds(7));
    let before = api.clock.now();
    let taken = handler.take(&change).await.expect("taken");
    assert!(matches!(taken, Taken::NewOrder { .. }), "{taken:?}");
    let waited = (api.clock.now() - before).to_std().unwrap();
    assert!(
        waited > std::time::Duration::ZERO && waited <= ORDER_TOKEN_WAIT,
        "waited {waited:?}"
    );
    assert_eq!(get_order_calls(&api, &seller.seller_id), 1);
    assert!(api.orders.get_order(&account, &order_id).await.unwrap().is_some());
    assert_eq!(metrics.recorded_sum(NOTIFICATIONS_DEFERRED), 2.0);
}
