//! The sandbox's Login with Amazon endpoint, access-token checks and Restricted Data Tokens.

mod sandbox_support;

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use sandbox_support::{DE, US, epoch, harness, spec};
use serde_json::json;
use tests::sandbox::{ACTIONABLE_ORDERS, CLIENT_ID, CLIENT_SECRET};

#[tokio::test]
async fn a_refresh_token_exchange_returns_a_bearer_token_with_the_recorded_headers() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let answer = h
        .lwa(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &seller.refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.body["access_token"]
            .as_str()
            .expect("token")
            .starts_with("Atza|")
    );
    assert_eq!(answer.body["refresh_token"], seller.refresh_token.as_str());
    assert_eq!(answer.body["token_type"], "bearer");
    assert_eq!(answer.body["expires_in"], 3600);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    assert_eq!(
        answer.header("cache-control"),
        Some("no-cache, no-store, must-revalidate")
    );
    assert_eq!(answer.header("pragma"), Some("no-cache"));
    assert!(answer.header("x-amzn-requestid").is_some());
}

#[tokio::test]
async fn a_revoked_refresh_token_gets_invalid_grant_until_a_new_one_is_issued() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    h.sandbox
        .revoke_refresh_token(&seller.seller_id)
        .expect("known seller");
    let answer = h.exchange(&seller.refresh_token).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.body["error"], "invalid_grant");
    assert_eq!(
        answer.body["error_description"],
        "The request has an invalid grant parameter : refresh_token"
    );

    let fresh = h
        .sandbox
        .issue_refresh_token(&seller.seller_id)
        .expect("known seller");
    assert_eq!(h.exchange(&fresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_client_gets_invalid_client_and_a_missing_grant_type_gets_unsupported_grant_type() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let wrong_client = h
        .lwa(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &seller.refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", "not-the-secret"),
        ])
        .await;
    assert_eq!(wrong_client.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_client.body["error"], "invalid_client");

    let no_grant = h
        .lwa(&[("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)])
        .await;
    assert_eq!(no_grant.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_grant.body["error"], "unsupported_grant_type");
    assert_eq!(
        no_grant.body["error_description"],
        "The authorization grant type is not supported by the authorization server"
    );
    assert!(no_grant.body["request_id"].is_string());
    assert!(
        no_grant
            .header("x-amzn-errortype")
            .is_some_and(|t| t.starts_with("OA2UnsupportedGrantTypeException:"))
    );
}

#[tokio::test]
async fn a_call_without_an_access_token_gets_403_unauthorized() {
    let h = harness().await;
    let answer = h
        .call(Method::GET, "/reports/2021-06-30/reports/123", None, None)
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.body["errors"][0]["code"], "Unauthorized");
    assert_eq!(
        answer.body["errors"][0]["message"],
        "Access to requested resource is denied."
    );
    assert_eq!(
        answer.body["errors"][0]["details"],
        "Access token is missing in the request header."
    );
    assert!(answer.header("x-amzn-ratelimit-limit").is_none());

    let unknown = h
        .call(
            Method::GET,
            "/reports/2021-06-30/reports/123",
            Some("Atza|made-up"),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);
    assert_eq!(unknown.body["errors"][0]["code"], "Unauthorized");
}

#[tokio::test]
async fn an_access_token_expires_after_an_hour_of_clock_time() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    let path = "/reports/2021-06-30/reports?reportTypes=GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";
    h.advance(TimeDelta::minutes(59));
    assert_eq!(h.get(path, &token).await.status, StatusCode::OK);
    h.advance(TimeDelta::minutes(2));
    let expired = h.get(path, &token).await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN);
    assert_eq!(expired.body["errors"][0]["code"], "Unauthorized");
    assert_eq!(
        expired.body["errors"][0]["details"],
        "The security token included in the request is expired"
    );
}

#[tokio::test]
async fn a_deauthorized_seller_gets_access_denied_and_requests_with_sigv4_headers_are_accepted() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    let url = format!(
        "{}/reports/2021-06-30/reports?reportTypes=GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        h.sandbox.base_url()
    );
    let signed = h
        .http
        .get(&url)
        .header("x-amz-access-token", &token)
        .header("x-amz-date", "20250310T120000Z")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIA/20250310/us-east-1/execute-api/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=abc",
        )
        .send()
        .await
        .expect("answers");
    assert_eq!(signed.status(), StatusCode::OK);

    h.sandbox.deauthorize(&seller.seller_id).expect("known seller");
    let denied = h
        .get(
            "/reports/2021-06-30/reports?reportTypes=GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            &token,
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.body,
        json!({"errors":[{"code":"Unauthorized","message":"Access to requested resource is denied.","details":""}]})
    );
    let stats = h.sandbox.stats(&seller.seller_id).expect("known seller");
    assert_eq!(stats[&tests::sandbox::Operation::GetReports].forbidden, 1);
}

#[tokio::test]
async fn a_restricted_document_needs_an_rdt_for_exactly_its_path() {
    let h = harness().await;
    let seller = h.add_seller(spec(5, &[DE], 150));
    let token = h.token(&seller).await;
    let report_id = h
        .create_report(
            &token,
            ACTIONABLE_ORDERS,
            &[DE],
            epoch() - TimeDelta::days(3),
            epoch(),
        )
        .await;
    let report = h.finished_report(&token, &report_id).await;
    assert_eq!(report["processingStatus"], "DONE", "{report}");
    let document_id = report["reportDocumentId"].as_str().expect("document");

    let plain = h.report_document(&token, document_id).await;
    assert_eq!(plain.status, StatusCode::FORBIDDEN);
    assert_eq!(plain.body["errors"][0]["code"], "Unauthorized");

    let other = h.rdt_for_document(&token, "amzn1.spdoc.1.4.eu.other").await;
    assert_eq!(
        h.report_document(&other, document_id).await.status,
        StatusCode::FORBIDDEN
    );

    let rdt = h.rdt_for_document(&token, document_id).await;
    assert!(rdt.starts_with("Atz.sprdt|"));
    let with_rdt = h.report_document(&rdt, document_id).await;
    assert_eq!(with_rdt.status, StatusCode::OK, "{:?}", with_rdt.body);
    assert!(
        with_rdt.body["url"]
            .as_str()
            .is_some_and(|u| u.contains("X-Amz-Expires=300"))
    );

    // An RDT reaches only its resources.
    let elsewhere = h
        .get(
            "/reports/2021-06-30/reports?reportTypes=GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            &rdt,
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn create_restricted_data_token_validates_its_resources() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    let rdt = |body: serde_json::Value| {
        let token = token.clone();
        let h = &h;
        async move {
            h.call(
                Method::POST,
                "/tokens/2021-03-01/restrictedDataToken",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let missing = rdt(json!({"targetApplication": "amzn1.sellerapps.app.x"})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(missing.body["errors"][0]["code"], "InvalidRequest");
    assert_eq!(missing.body["errors"][0]["details"], "Resource not provided.");
    assert!(missing.header("x-amzn-ratelimit-limit").is_some());

    let no_method =
        rdt(json!({"restrictedResources": [{"method": "", "path": "/orders/v0/orders/1/address"}]})).await;
    assert_eq!(no_method.status, StatusCode::BAD_REQUEST);

    let generic_report = rdt(json!({"restrictedResources": [
        {"method": "GET", "path": "/reports/2021-06-30/documents/{reportDocumentId}"}
    ]}))
    .await;
    assert_eq!(generic_report.status, StatusCode::BAD_REQUEST);

    let bad_element = rdt(json!({"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo", "favouriteColour"]}
    ]}))
    .await;
    assert_eq!(bad_element.status, StatusCode::BAD_REQUEST);

    let good = rdt(json!({"restrictedResources": [
        {"method": "GET", "path": "/orders/v0/orders", "dataElements": ["buyerInfo", "shippingAddress"]}
    ]}))
    .await;
    assert_eq!(good.status, StatusCode::OK, "{:?}", good.body);
    assert_eq!(good.body["expiresIn"], 3600);
    assert_eq!(good.header("x-amzn-ratelimit-limit"), Some("1.0"));
}

#[tokio::test]
async fn the_token_endpoint_also_takes_a_json_body_and_client_credentials() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let answer = h
        .http
        .post(h.sandbox.lwa_url())
        .header("content-type", "application/json")
        .body(
            json!({"grant_type": "refresh_token", "refresh_token": seller.refresh_token,
                   "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
            .to_string(),
        )
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::OK);

    let grantless = h
        .lwa(&[
            ("grant_type", "client_credentials"),
            ("scope", "sellingpartnerapi::notifications"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await;
    assert_eq!(grantless.status, StatusCode::OK);
    assert_eq!(grantless.body["scope"], "sellingpartnerapi::notifications");
    let token = grantless.body["access_token"].as_str().expect("token");
    // A grantless token reaches no seller's reports.
    let denied = h
        .get(
            "/reports/2021-06-30/reports?reportTypes=GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
            token,
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_ineligible_seller_gets_403_naming_eligibility_until_made_eligible_again() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 20));
    let token = h.token(&seller).await;
    let path = "/reports/2021-06-30/reports?reportTypes=GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL";
    h.sandbox
        .set_ineligible(&seller.seller_id, true)
        .expect("known seller");
    let refused = h.get(path, &token).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body["errors"][0]["details"]
            .as_str()
            .is_some_and(|d| d.contains("not eligible"))
    );
    h.sandbox
        .set_ineligible(&seller.seller_id, false)
        .expect("known seller");
    assert_eq!(h.get(path, &token).await.status, StatusCode::OK);
    assert!(h.sandbox.set_ineligible("A0NOSUCHSELLER", true).is_err());
}
