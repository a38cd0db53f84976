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
use shared::app::request_reports::Tick;
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
