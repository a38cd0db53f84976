//! The accounts routes over real HTTP: create, read, list, update, delete; the schedule in moto's Scheduler and
//! the refresh token in its Secrets Manager kept in step; bad bodies, unknown ids, idempotency keys.

mod api_support;

use api_support::{CA, DE, REQUESTER_ARN, SCHEDULER_ROLE_ARN, US, seller_spec, start};
use aws_sdk_scheduler::types::ScheduleState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::ports::SecretStore;

/// The account's schedule as moto's Scheduler holds it: expression, state, target ARN, role, input.
async fn schedule(
    api: &api_support::Api,
    id: &str,
) -> Option<(String, ScheduleState, String, String, Value)> {
    let group = api.resources.get("AccountScheduleGroup").unwrap();
    let found = api
        .stack
        .scheduler
        .get_schedule()
        .name(format!("account-{id}"))
        .group_name(group)
        .send()
        .await
        .ok()?;
    let target = found.target.unwrap();
    Some((
        found.schedule_expression.unwrap(),
        found.state.unwrap(),
        target.arn,
        target.role_arn,
        serde_json::from_str(target.input.as_deref().unwrap()).unwrap(),
    ))
}

fn new_account(seller_id: &str, token: &str) -> Value {
    json!({
        "sellerId": seller_id,
        "region": "NA",
        "marketplaceIds": [US, CA],
        "refreshToken": token,
        "importInterval": "15m",
        "options": {"importFba": false, "countryFilter": "US,CA"},
    })
}

#[tokio::test]
async fn create_update_and_delete_keep_the_schedule_and_secret_in_step() {
    let api = start().await;
    let token = "Atzr|IwEBIfirst-token-value";
    let created = api.post("/accounts", new_account("A2SELLER000001", token)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(id, "A2SELLER000001-na");
    assert_eq!(created.header("location"), Some("/accounts/A2SELLER000001-na"));
    assert_eq!(created.body["importInterval"], "15m");
    assert_eq!(
        created.body["options"],
        json!({"importFba": false, "importShipped": true, "countryFilter": "CA,US", "importAddresses": false})
    );
    assert_eq!(created.body["status"]["connection"], "unknown");

    let (expression, state, arn, role, input) = schedule(&api, &id).await.expect("schedule created");
    assert_eq!(expression, "rate(15 minutes)");
    assert_eq!(state, ScheduleState::Enabled);
    assert_eq!((arn.as_str(), role.as_str()), (REQUESTER_ARN, SCHEDULER_ROLE_ARN));
    assert_eq!(input, json!({"accountId": id}));
    let secret_name = api.naming.secret_name(&id);
    let secrets = shared::adapters::secrets::SecretsManagerStore::new(api.stack.secrets.clone(), None);
    assert_eq!(secrets.get(&secret_name).await.unwrap().as_deref(), Some(token));

    let read = api.get(&format!("/accounts/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, created.body);

    let never = api
        .put(&format!("/accounts/{id}"), json!({"importInterval": "never"}))
        .await;
    assert_eq!(never.status, StatusCode::OK, "{:?}", never.body);
    let (expression, state, ..) = schedule(&api, &id).await.unwrap();
    assert_eq!(
        (expression.as_str(), state),
        ("rate(1 day)", ScheduleState::Disabled)
    );

    let hourly = api
        .put(
            &format!("/accounts/{id}"),
            json!({"importInterval": "1h", "refreshToken": "Atzr|IwEBIsecond-token", "options": {"importFba": true}}),
        )
        .await;
    assert_eq!(hourly.status, StatusCode::OK, "{:?}", hourly.body);
    assert_eq!(hourly.body["options"]["importFba"], true);
    assert_eq!(
        hourly.body["options"]["countryFilter"], "CA,US",
        "options left out keep their value"
    );
    let (expression, state, ..) = schedule(&api, &id).await.unwrap();
    assert_eq!(
        (expression.as_str(), state),
        ("rate(1 hour)", ScheduleState::Enabled)
    );
    assert_eq!(
        secrets.get(&secret_name).await.unwrap().as_deref(),
        Some("Atzr|IwEBIsecond-token")
    );

    let deleted = api.delete(&format!("/accounts/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(schedule(&api, &id).await.is_none(), "the schedule is deleted");
    assert_eq!(
        secrets.get(&secret_name).await.unwrap(),
        None,
        "the secret is deleted"
    );
    assert_eq!(
        api.get(&format!("/accounts/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.delete(&format!("/accounts/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_refresh_token_is_never_answered() {
    let api = start().await;
    let token = "Atzr|IwEBIsecret-never-shown";
    let created = api.post("/accounts", new_account("A2SELLER000002", token)).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    for answer in [
        created,
        api.get(&format!("/accounts/{id}")).await,
        api.get("/accounts").await,
        api.put(&format!("/accounts/{id}"), json!({"refreshToken": token}))
            .await,
        api.post(
            "/accounts",
            json!({"sellerId": "A2SELLER000003", "region": "NA", "marketplaceIds": [US],
            "refreshToken": "Atzr| with a space", "importInterval": "5m"}),
        )
        .await,
    ] {
        let text = answer.body.to_string();
        assert!(
            !text.contains("IwEBI") && !text.contains("with a space"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn accounts_are_listed_in_pages() {
    let api = start().await;
    for n in 1..=3 {
        let answer = api
            .post(
                "/accounts",
                new_account(&format!("A2SELLER00001{n}"), "Atzr|IwEBItoken"),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let first = api.get("/accounts?limit=2").await;
    assert_eq!(first.status, StatusCode::OK);
    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&first.body), ["A2SELLER000011-na", "A2SELLER000012-na"]);
    let token = first.body["nextToken"].as_str().expect("a next page");
    let second = api.get(&format!("/accounts?limit=2&nextToken={token}")).await;
    assert_eq!(ids(&second.body), ["A2SELLER000013-na"]);
    assert_eq!(second.body.get("nextToken"), None);
    assert_eq!(api.get("/accounts?limit=0").await.field(), Some("limit"));
    assert_eq!(api.get("/accounts?nextToken=zz").await.field(), Some("nextToken"));
    assert_eq!(api.get("/accounts?sort=id").await.field(), Some("sort"));
}

#[tokio::test]
async fn bad_bodies_get_400_naming_the_field_and_the_problem() {
    let api = start().await;
    let base = new_account("A2SELLER000021", "Atzr|IwEBItoken");
    let with = |path: &str, value: Value| {
        let mut body = base.clone();
        match path.split_once('.') {
            Some((outer, inner)) => body[outer][inner] = value,
            None => body[path] = value,
        }
        body
    };
    let without = |field: &str| {
        let mut body = base.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        (without("sellerId"), "sellerId", "missing field"),
        (with("sellerId", json!("x")), "sellerId", "merchant id"),
        (with("sellerId", json!(42)), "sellerId", "invalid type"),
        (with("region", json!("US")), "region", "unknown variant"),
        (
            with("marketplaceIds", json!(["XYZ"])),
            "marketplaceIds[0]",
            "unknown marketplace",
        ),
        (
            with("marketplaceIds", json!([US, DE])),
            "marketplaceIds[1]",
            "region",
        ),
        (
            with("marketplaceIds", json!([])),
            "marketplaceIds",
            "at least one",
        ),
        (
            with("importInterval", json!("10m")),
            "importInterval",
            "expected one of",
        ),
        (
            with("options.importFba", json!("yes")),
            "options.importFba",
            "invalid type",
        ),
        (
            with("options.countryFilter", json!("US,-CA")),
            "options.countryFilter",
            "mix",
        ),
        (
            with("options.colour", json!(1)),
            "options.colour",
            "unknown field",
        ),
        (
            with("refreshToken", json!("not a token")),
            "refreshToken",
            "refresh token",
        ),
        (with("extra", json!(true)), "extra", "unknown field"),
    ];
    for (body, field, problem) in cases {
        let answer = api.post("/accounts", body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{field}: {:?}",
            answer.body
        );
        assert_eq!(answer.code(), Some("invalid_request"));
        assert_eq!(answer.field(), Some(field), "{:?}", answer.body);
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(problem), "{field}: {message}");
    }

    let broken = api
        .http
        .post(format!("{}/accounts", api.url))
        .header("content-type", "application/json")
        .body("{\"sellerId\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let body: Value = broken.json().await.unwrap();
    assert_eq!(body["error"]["field"], "body");

    let not_json = api
        .http
        .post(format!("{}/accounts", api.url))
        .header("content-type", "text/plain")
        .body(base.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let id = "A2SELLER000021-na";
    assert_eq!(
        api.post("/accounts", base.clone()).await.status,
        StatusCode::CREATED
    );
    let update = api
        .put(&format!("/accounts/{id}"), json!({"marketplaceIds": [DE]}))
        .await;
    assert_eq!(
        (update.status, update.field()),
        (StatusCode::BAD_REQUEST, Some("marketplaceIds[0]"))
    );
    let null = api
        .put(&format!("/accounts/{id}"), json!({"refreshToken": null}))
        .await;
    assert_eq!(
        (null.status, null.field()),
        (StatusCode::BAD_REQUEST, Some("refreshToken"))
    );
    let again = api.post("/accounts", base).await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
}

#[tokio::test]
async fn unknown_ids_get_404_and_unknown_routes_and_methods_say_so() {
    let api = start().await;
    for path in [
        "/accounts/A2NOBODY000000-na",
        "/accounts/A2NOBODY000000-na/health",
        "/accounts/A2NOBODY000000-na/reports",
        "/accounts/A2NOBODY000000-na/orders",
        "/accounts/A2NOBODY000000-na/orders/114-0000000-0000000",
        "/accounts/A2NOBODY000000-na/backfills/bf-1",
        "/accounts/%20%22%3C/orders",
    ] {
        let answer = api.get(path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.code(), Some("not_found"), "{path}");
    }
    let put = api
        .put("/accounts/A2NOBODY000000-na", json!({"importInterval": "5m"}))
        .await;
    assert_eq!(put.status, StatusCode::NOT_FOUND);
    let report = api
        .post(
            "/accounts/A2NOBODY000000-na/reports",
            json!({"reportType": "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"}),
        )
        .await;
    assert_eq!(report.status, StatusCode::NOT_FOUND);

    let (_, id) = api.connect(seller_spec(31, &[US], 5), "15m").await;
    let order = api
        .get(&format!("/accounts/{id}/orders/114-0000000-0000000"))
        .await;
    assert_eq!(
        (order.status, order.code()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let backfill = api.get(&format!("/accounts/{id}/backfills/bf-nothing")).await;
    assert_eq!(backfill.status, StatusCode::NOT_FOUND);

    let nowhere = api.get("/nowhere").await;
    assert_eq!(
        (nowhere.status, nowhere.code()),
        (StatusCode::NOT_FOUND, Some("no_route"))
    );
    let wrong = api.call(Method::PATCH, "/accounts", None, &[]).await;
    assert_eq!(
        (wrong.status, wrong.code()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn a_repeated_idempotency_key_replays_and_a_different_body_is_refused() {
    let api = start().await;
    let body = new_account("A2SELLER000041", "Atzr|IwEBItoken");
    let first = api.post_with_key("/accounts", "key-1", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.header("idempotent-replayed"), Some("false"));

    let again = api.post_with_key("/accounts", "key-1", body.clone()).await;
    assert_eq!(
        again.status,
        StatusCode::CREATED,
        "the first answer, not a conflict"
    );
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));

    let mut other = body.clone();
    other["importInterval"] = json!("1h");
    let reused = api.post_with_key("/accounts", "key-1", other).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.code(), Some("idempotency_key_reused"));
    assert_eq!(reused.field(), Some("Idempotency-Key"));
    // A method the route does not take is refused before its key is looked at.
    let id = first.body["id"].as_str().expect("id");
    let wrong_method = api
        .post_with_key(
            &format!("/accounts/{id}/inventory"),
            "key-1",
            json!({"items": []}),
        )
        .await;
    assert_eq!(
        (wrong_method.status, wrong_method.code()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );

    let without_key = api.post("/accounts", body).await;
    assert_eq!(
        without_key.status,
        StatusCode::CONFLICT,
        "without a key, a repeat is a second create"
    );

    let bad = api
        .post_with_key("/accounts", "key-2", json!({"sellerId": "x"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad_again = api
        .post_with_key("/accounts", "key-2", json!({"sellerId": "x"}))
        .await;
    assert_eq!(bad_again.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_again.header("idempotent-replayed"), Some("true"));

    let malformed_key = api.post_with_key("/accounts", "has space", json!({})).await;
    assert_eq!(malformed_key.field(), Some("Idempotency-Key"));
}
