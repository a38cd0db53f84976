//! The sandbox as Amazon's Notifications API: destinations (grantless), subscriptions (the seller's, one per
//! type, with Amazon's refusals), and delivery of what a subscription covers, from the same truth as `getOrder`
//! and the Reports API, in the shape of Amazon's notification schemas.

mod sandbox_support;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use sandbox_support::{Harness, US, epoch, harness};
use serde_json::{Value, json};
use tests::sandbox::{CLIENT_ID, CLIENT_SECRET, NOTIFICATIONS_SCOPE, NotificationDelivery, SellerSpec};

const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:sellersync-notifications";

async fn grantless(h: &Harness) -> String {
    let answer = h
        .lwa(&[
            ("grant_type", "client_credentials"),
            ("scope", NOTIFICATIONS_SCOPE),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body["access_token"].as_str().unwrap().to_owned()
}

async fn create_destination(h: &Harness, token: &str, arn: &str) -> sandbox_support::Answer {
    let body = json!({"name": "sellersync", "resourceSpecification": {"sqs": {"arn": arn}}});
    h.call(
        Method::POST,
        "/notifications/v1/destinations",
        Some(token),
        Some(body),
    )
    .await
}

/// `createSubscription` of `kind` with the seller's `token`.
async fn subscribe(h: &Harness, token: &str, kind: &str, body: Value) -> sandbox_support::Answer {
    h.call(
        Method::POST,
        &format!("/notifications/v1/subscriptions/{kind}"),
        Some(token),
        Some(body),
    )
    .await
}

/// `DELETE path` with the application's token: 200, then 404 when asked again.
async fn delete_once(h: &Harness, path: &str, app: &str) {
    assert_eq!(
        h.call(Method::DELETE, path, Some(app), None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        h.call(Method::DELETE, path, Some(app), None).await.status,
        StatusCode::NOT_FOUND
    );
}

fn order_change_body(destination: &str) -> Value {
    json!({
        "payloadVersion": "1.0",
        "destinationId": destination,
        "processingDirective": {"eventFilter": {
            "eventFilterType": "ORDER_CHANGE",
            "orderChangeTypes": ["OrderStatusChange", "BuyerRequestedChange"],
        }},
    })
}

fn error_code(answer: &sandbox_support::Answer) -> (&str, &str) {
    let error = &answer.body["errors"][0];
    (
        error["code"].as_str().unwrap_or_default(),
        error["details"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn destinations_are_grantless_and_one_per_queue() {
    let h = harness().await;
    let seller = h.add_seller(sandbox_support::spec(1, &[US], 2));
    let seller_token = h.token(&seller).await;
    let app = grantless(&h).await;

    // A seller's token does not reach a grantless operation.
    let refused = create_destination(&h, &seller_token, QUEUE_ARN).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.body);

    let bad = create_destination(&h, &app, "arn:aws:sns:us-east-1:1:topic").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:?}", bad.body);

    let created = create_destination(&h, &app, QUEUE_ARN).await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
    let id = created.body["payload"]["destinationId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created.body["payload"]["resource"]["sqs"]["arn"], QUEUE_ARN);
    assert_eq!(created.header("x-amzn-ratelimit-limit"), Some("1.0"));

    let again = create_destination(&h, &app, QUEUE_ARN).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    let (code, details) = error_code(&again);
    assert_eq!(code, "Conflict");
    assert!(details.contains(QUEUE_ARN), "{details}");

    let listed = h
        .call(Method::GET, "/notifications/v1/destinations", Some(&app), None)
        .await;
    assert_eq!(listed.body["payload"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed.body["payload"][0]["destinationId"], id.as_str());

    // A destination in use cannot be deleted; an unused one can, once.
    let subscribed = subscribe(&h, &seller_token, "ORDER_CHANGE", order_change_body(&id)).await;
    assert_eq!(subscribed.status, StatusCode::OK, "{:?}", subscribed.body);
    let path = format!("/notifications/v1/destinations/{id}");
    let in_use = h.call(Method::DELETE, &path, Some(&app), None).await;
    assert_eq!(in_use.status, StatusCode::FORBIDDEN, "{:?}", in_use.body);
    assert_eq!(error_code(&in_use).1, "Destination has subscriptions");
    let subscription = subscribed.body["payload"]["subscriptionId"].as_str().unwrap();
    let unsubscribe = format!("/notifications/v1/subscriptions/ORDER_CHANGE/{subscription}");
    let deleted = h.call(Method::DELETE, &unsubscribe, Some(&app), None).await;
    assert_eq!(deleted.status, StatusCode::OK, "{:?}", deleted.body);
    delete_once(&h, &path, &app).await;
}

#[tokio::test]
async fn a_seller_has_one_subscription_per_type_and_amazons_refusals_apply() {
    let h = harness().await;
    let seller = h.add_seller(sandbox_support::spec(2, &[US], 2));
    let token = h.token(&seller).await;
    let app = grantless(&h).await;
    let destination = create_destination(&h, &app, QUEUE_ARN).await.body["payload"]["destinationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let subscribe_paced = |kind: &'static str, body: Value| {
        let token = token.clone();
        let h = &h;
        async move {
            // The operation's bucket refills one call a second.
            h.advance(TimeDelta::seconds(1));
            h.call(
                Method::POST,
                &format!("/notifications/v1/subscriptions/{kind}"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };

    let refusals = [
        (
            "ORDER_CHANGE",
            json!({"payloadVersion": "1.0", "destinationId": destination}),
        ),
        (
            "ORDER_CHANGE",
            json!({"payloadVersion": "1.0", "destinationId": destination, "processingDirective": {"eventFilter": {
                "eventFilterType": "ORDER_CHANGE", "marketplaceIds": [US]}}}),
        ),
        (
            "ORDER_CHANGE",
            json!({"payloadVersion": "1.0", "destinationId": destination, "processingDirective": {"eventFilter": {
                "eventFilterType": "ORDER_CHANGE", "orderChangeTypes": ["Teleported"]}}}),
        ),
        ("ORDER_CHANGE", {
            let mut body = order_change_body(&destination);
            body["payloadVersion"] = json!("2020-09-04");
            body
        }),
        (
            "REPORT_PROCESSING_FINISHED",
            json!({"payloadVersion": "2020-09-04"}),
        ),
        (
            "ORDER_STATUS_TELEPORTED",
            json!({"payloadVersion": "1.0", "destinationId": destination}),
        ),
    ];
    for (kind, body) in refusals {
        let answer = subscribe_paced(kind, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{kind} {body}: {:?}",
            answer.body
        );
    }
    let unknown = subscribe_paced(
        "FEED_PROCESSING_FINISHED",
        json!({"payloadVersion": "2020-09-04", "destinationId": "nope"}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{:?}", unknown.body);

    let none = h
        .get("/notifications/v1/subscriptions/ORDER_CHANGE", &token)
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND, "{:?}", none.body);
    let made = subscribe_paced("ORDER_CHANGE", order_change_body(&destination)).await;
    assert_eq!(made.status, StatusCode::OK, "{:?}", made.body);
    let id = made.body["payload"]["subscriptionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = subscribe_paced("ORDER_CHANGE", order_change_body(&destination)).await;
    assert_eq!(second.status, StatusCode::CONFLICT, "{:?}", second.body);
    assert_eq!(error_code(&second).0, "StateConflict");

    let got = h
        .get("/notifications/v1/subscriptions/ORDER_CHANGE", &token)
        .await;
    assert_eq!(got.body["payload"]["subscriptionId"], id.as_str());
    assert_eq!(got.body["payload"]["destinationId"], destination.as_str());
    let listed = h
        .get(
            "/notifications/v1/subscriptions?notificationTypes=ORDER_CHANGE,REPORT_PROCESSING_FINISHED",
            &token,
        )
        .await;
    assert_eq!(
        listed.body["payload"]["subscriptions"].as_array().map(Vec::len),
        Some(1)
    );

    // By id: grantless only.
    let by_id = format!("/notifications/v1/subscriptions/ORDER_CHANGE/{id}");
    assert_eq!(h.get(&by_id, &token).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.get(&by_id, &app).await.body["payload"]["subscriptionId"],
        id.as_str()
    );

    // Another seller subscribes on its own.
    let other = h.add_seller(sandbox_support::spec(3, &[US], 2));
    let other_token = h.token(&other).await;
    let theirs = subscribe(&h, &other_token, "ORDER_CHANGE", order_change_body(&destination)).await;
    assert_eq!(theirs.status, StatusCode::OK, "{:?}", theirs.body);

    delete_once(&h, &by_id, &app).await;
    let gone = h
        .get("/notifications/v1/subscriptions/ORDER_CHANGE", &token)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

/// A fulfillment feed of no messages (createFeedDocument, upload, createFeed); its id.
async fn submit_feed(h: &Harness, token: &str) -> String {
    let content_type = "text/xml; charset=UTF-8";
    let document = h
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(token),
            Some(json!({ "contentType": content_type })),
        )
        .await;
    assert_eq!(document.status, StatusCode::CREATED, "{:?}", document.body);
    let uploaded = h
        .http
        .put(document.body["url"].as_str().unwrap())
        .header("content-type", content_type)
        .body("<?xml version=\"1.0\"?><AmazonEnvelope/>")
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::OK);
    let body = json!({
        "feedType": "POST_ORDER_FULFILLMENT_DATA",
        "marketplaceIds": [US],
        "inputFeedDocumentId": document.body["feedDocumentId"],
    });
    let created = h
        .call(Method::POST, "/feeds/2021-06-30/feeds", Some(token), Some(body))
        .await;
    assert_eq!(created.status, StatusCode::ACCEPTED, "{:?}", created.body);
    created.body["feedId"].as_str().unwrap().to_owned()
}

fn parse(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("ISO 8601")
        .with_timezone(&Utc)
}

/// The Orders API's spelling of a notification's `OrderStatus`.
fn api_status(summary: &str) -> &'static str {
    match summary {
        "Pending" => "PENDING",
        "Unshipped" => "UNSHIPPED",
        "PartiallyShipped" => "PARTIALLY_SHIPPED",
        "Shipped" => "SHIPPED",
        "Canceled" => "CANCELLED",
        other => panic!("unexpected OrderStatus {other}"),
    }
}

#[tokio::test]
async fn subscribed_changes_arrive_once_in_amazons_shape_and_agree_with_get_order() {
    let Some(reference) = tests::reference::require_dir() else {
        return;
    };
    let order_schema = tests::reference::notification_validator(&reference, "OrderChangeNotification.json");
    let report_schema =
        tests::reference::notification_validator(&reference, "ReportProcessingFinishedNotification.json");
    let feed_schema =
        tests::reference::notification_validator(&reference, "FeedProcessingFinishedNotification.json");
    let h = harness().await;
    // Orders placed over the next two days, so their changes happen while the test watches.
    let spec = SellerSpec::new(5, epoch() - TimeDelta::hours(6), epoch() + TimeDelta::days(2))
        .in_marketplaces(&[US])
        .with_orders(60);
    let seller = h.add_seller(spec);
    let _quiet = h.add_seller(
        SellerSpec::new(6, epoch(), epoch() + TimeDelta::days(2))
            .in_marketplaces(&[US])
            .with_orders(30),
    );
    let token = h.token(&seller).await;
    let app = grantless(&h).await;
    let destination = create_destination(&h, &app, QUEUE_ARN).await.body["payload"]["destinationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let subscribed_at = h.now();
    for (kind, body) in [
        ("ORDER_CHANGE", order_change_body(&destination)),
        (
            "REPORT_PROCESSING_FINISHED",
            json!({"payloadVersion": "2020-09-04", "destinationId": destination}),
        ),
        (
            "FEED_PROCESSING_FINISHED",
            json!({"payloadVersion": "2020-09-04", "destinationId": destination}),
        ),
    ] {
        let answer = h
            .call(
                Method::POST,
                &format!("/notifications/v1/subscriptions/{kind}"),
                Some(&token),
                Some(body),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{kind}: {:?}", answer.body);
    }
    let report = h
        .create_report(
            &token,
            "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            &[US],
            epoch() - TimeDelta::hours(6),
            epoch(),
        )
        .await;

    let feed = submit_feed(&h, &token).await;

    let mut order_changes: Vec<Value> = Vec::new();
    let mut feeds: Vec<Value> = Vec::new();
    let mut reports: Vec<Value> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..16 {
        h.advance(TimeDelta::hours(3));
        let token = h.token(&seller).await;
        for (arn, body) in h.sandbox.take_notifications() {
            assert_eq!(arn, QUEUE_ARN);
            let kind = body["NotificationType"]
                .as_str()
                .or(body["notificationType"].as_str())
                .unwrap()
                .to_owned();
            let id = body["NotificationMetadata"]["NotificationId"]
                .as_str()
                .or(body["notificationMetadata"]["notificationId"].as_str())
                .unwrap()
                .to_owned();
            assert!(ids.insert(id), "a notification was taken twice");
            if kind == "ORDER_CHANGE" {
                let errors: Vec<String> = order_schema.iter_errors(&body).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{errors:?}\n{body}");
                let change = &body["Payload"]["OrderChangeNotification"];
                assert_eq!(change["SellerId"], seller.seller_id.as_str());
                assert!(parse(body["EventTime"].as_str().unwrap()) <= h.now());
                // What getOrder shows now is this change or a later one of the same order.
                let order_id = change["AmazonOrderId"].as_str().unwrap();
                let order = h
                    .get(
                        &format!("/orders/2026-01-01/orders/{order_id}?includedData=FULFILLMENT"),
                        &token,
                    )
                    .await;
                assert_eq!(order.status, StatusCode::OK, "{order_id}: {:?}", order.body);
                let updated = parse(order.body["order"]["lastUpdatedTime"].as_str().unwrap());
                let event = parse(
                    change["OrderChangeTrigger"]["TimeOfOrderChange"]
                        .as_str()
                        .unwrap(),
                );
                assert!(
                    updated >= event,
                    "{order_id}: getOrder shows {updated}, the change is of {event}"
                );
                if updated == event {
                    assert_eq!(
                        order.body["order"]["fulfillment"]["fulfillmentStatus"],
                        api_status(change["Summary"]["OrderStatus"].as_str().unwrap()),
                        "{order_id}"
                    );
                }
                order_changes.push(body);
            } else if kind == "FEED_PROCESSING_FINISHED" {
                let errors: Vec<String> = feed_schema.iter_errors(&body).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{errors:?}\n{body}");
                feeds.push(body);
            } else {
                assert_eq!(kind, "REPORT_PROCESSING_FINISHED");
                let errors: Vec<String> = report_schema.iter_errors(&body).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{errors:?}\n{body}");
                reports.push(body);
            }
        }
    }
    assert_eq!(reports.len(), 1, "{reports:?}");
    let finished = &reports[0]["payload"]["reportProcessingFinishedNotification"];
    assert_eq!(finished["reportId"], report.as_str());
    assert_eq!(finished["processingStatus"], "DONE");
    assert!(finished["reportDocumentId"].is_string());
    assert_eq!(feeds.len(), 1, "{feeds:?}");
    let finished = &feeds[0]["payload"]["feedProcessingFinishedNotification"];
    assert_eq!(finished["feedId"], feed.as_str());
    assert_eq!(finished["feedType"], "POST_ORDER_FULFILLMENT_DATA");
    assert_eq!(finished["sellerId"], seller.seller_id.as_str());

    // Every order placed after the subscription announced its purchase, and the notifications of one order
    // come in the order its changes happened.
    let placed_after: Vec<&Value> = order_changes
        .iter()
        .filter(|n| {
            parse(
                n["Payload"]["OrderChangeNotification"]["Summary"]["PurchaseDate"]
                    .as_str()
                    .unwrap(),
            ) > subscribed_at
        })
        .collect();
    assert!(
        placed_after.len() >= 20,
        "only {} changes of new orders",
        placed_after.len()
    );
    let mut last: std::collections::HashMap<String, DateTime<Utc>> = Default::default();
    for n in &order_changes {
        let change = &n["Payload"]["OrderChangeNotification"];
        let at = parse(
            change["OrderChangeTrigger"]["TimeOfOrderChange"]
                .as_str()
                .unwrap(),
        );
        let id = change["AmazonOrderId"].as_str().unwrap().to_owned();
        if let Some(before) = last.insert(id.clone(), at) {
            assert!(before < at, "{id}: a change of {at} after one of {before}");
        }
    }
    assert!(
        order_changes
            .iter()
            .all(|n| parse(n["NotificationMetadata"]["PublishTime"].as_str().unwrap()) > subscribed_at),
        "a change from before the subscription was sent"
    );
    // Nothing for the seller without subscriptions, and nothing twice.
    assert!(h.sandbox.take_notifications().is_empty());
}

#[tokio::test]
async fn delivery_loses_duplicates_delays_and_reorders_as_asked_and_accounts_for_each() {
    let delay = TimeDelta::minutes(10);
    let h = sandbox_support::harness_with(|options| {
        options.notification_delivery = NotificationDelivery {
            delay: delay.to_std().unwrap(),
            duplicated: 0.3,
            lost: 0.1,
            reordered: true,
        };
    })
    .await;
    let spec = SellerSpec::new(8, epoch(), epoch() + TimeDelta::days(1))
        .in_marketplaces(&[US])
        .with_orders(150);
    let seller = h.add_seller(spec);
    let token = h.token(&seller).await;
    let app = grantless(&h).await;
    let destination = create_destination(&h, &app, QUEUE_ARN).await.body["payload"]["destinationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let made = subscribe(&h, &token, "ORDER_CHANGE", order_change_body(&destination)).await;
    assert_eq!(made.status, StatusCode::OK, "{:?}", made.body);

    let mut copies = std::collections::HashMap::<String, u32>::new();
    let mut out_of_order = 0;
    for _ in 0..40 {
        h.advance(TimeDelta::hours(1));
        let mut last_publish = None;
        for (_, body) in h.sandbox.take_notifications() {
            let meta = &body["NotificationMetadata"];
            let published = parse(meta["PublishTime"].as_str().unwrap());
            // Handed over after its publication, within the delay.
            assert!(published <= h.now() && h.now() - published <= delay + TimeDelta::hours(1));
            if last_publish.is_some_and(|last| published < last) {
                out_of_order += 1;
            }
            last_publish = Some(published);
            *copies
                .entry(meta["NotificationId"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    // Unsubscribed, nothing new is made; what is on its way still arrives.
    let id = made.body["payload"]["subscriptionId"].as_str().unwrap();
    let path = format!("/notifications/v1/subscriptions/ORDER_CHANGE/{id}");
    // The first token expired hours ago.
    let app = grantless(&h).await;
    assert_eq!(
        h.call(Method::DELETE, &path, Some(&app), None).await.status,
        StatusCode::OK
    );
    h.advance(delay);
    for (_, body) in h.sandbox.take_notifications() {
        *copies
            .entry(
                body["NotificationMetadata"]["NotificationId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
            .or_default() += 1;
    }
    let stats = h.sandbox.notification_stats();
    let made = stats.made["ORDER_CHANGE"];
    assert!(made >= 200, "{stats:?}");
    assert!(copies.values().all(|n| *n <= 2));
    let twice = copies.values().filter(|n| **n == 2).count() as u64;
    assert_eq!(twice, stats.duplicated);
    assert_eq!(copies.len() as u64, made - stats.lost);
    // Near the asked shares (binomial, 200+ draws: far outside these bounds by chance less than once in 10^6).
    let share = |n: u64| n as f64 / made as f64;
    assert!((0.02..0.2).contains(&share(stats.lost)), "{stats:?}");
    assert!((0.18..0.42).contains(&share(stats.duplicated)), "{stats:?}");
    assert!(out_of_order > 0, "nothing came out of order");
}
