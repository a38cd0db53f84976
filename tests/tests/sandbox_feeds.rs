//! The sandbox's Feeds API over real HTTP: feed documents and their presigned uploads, the feed lifecycle,
//! validation and throttling as Amazon answers them, and what order and listings feeds do to the seller's
//! orders and quantities, with the processing reports' codes.

mod sandbox_support;

use std::io::Read;

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use sandbox_support::{Answer, DE, FR, Harness, US, harness, spec};
use serde_json::{Value, json};
use tests::sandbox::{
    Channel, Fault, FaultKind, Operation, OrderState, ProcessingStatus, SandboxOrder, SellerCredentials,
};

const XML: &str = "text/xml; charset=UTF-8";
const JSON: &str = "application/json; charset=UTF-8";
const FULFILLMENT: &str = "POST_ORDER_FULFILLMENT_DATA";
const ACKNOWLEDGEMENT: &str = "POST_ORDER_ACKNOWLEDGEMENT_DATA";
const LISTINGS: &str = "JSON_LISTINGS_FEED";

/// A US seller whose orders are all merchant-fulfilled and wait for the seller to ship them.
fn awaiting_seller(h: &Harness, seed: u64) -> SellerCredentials {
    let mut spec = spec(seed, &[US], 80);
    spec.afn_share = 0.0;
    spec.cancel_share = 0.0;
    spec.awaiting_shipment_share = 1.0;
    h.add_seller(spec)
}

/// An unshipped order with at least `items` lines and `units` units on its first line.
fn unshipped(h: &Harness, seller: &SellerCredentials, items: usize, units: u32) -> SandboxOrder {
    h.sandbox
        .orders(&seller.seller_id)
        .expect("known seller")
        .into_iter()
        .find(|o| {
            o.fulfillment_channel == Channel::Mfn
                && o.status == OrderState::Unshipped
                && o.items.len() >= items
                && o.items[0].quantity >= units
        })
        .expect("an order to ship")
}

fn order(h: &Harness, seller: &SellerCredentials, id: &str) -> SandboxOrder {
    h.sandbox
        .order(&seller.seller_id, id)
        .expect("known seller")
        .expect("known order")
}

/// An envelope of `message_type` around `messages` (each the payload element of one message).
fn envelope(seller: &str, message_type: &str, messages: &[String]) -> String {
    let body: String = messages
        .iter()
        .enumerate()
        .map(|(i, m)| format!("<Message><MessageID>{}</MessageID>{m}</Message>\n", i + 1))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AmazonEnvelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:noNamespaceSchemaLocation=\"amzn-envelope.xsd\">\n<Header><DocumentVersion>1.01</DocumentVersion>\
         <MerchantIdentifier>{seller}</MerchantIdentifier></Header>\n<MessageType>{message_type}</MessageType>\n{body}</AmazonEnvelope>\n"
    )
}

fn ship(order: &str, carrier: &str, tracking: &str, items: &[(&str, u32)]) -> String {
    let items: String = items
        .iter()
        .map(|(id, n)| {
            format!("<Item><AmazonOrderItemCode>{id}</AmazonOrderItemCode><Quantity>{n}</Quantity></Item>")
        })
        .collect();
    format!(
        "<OrderFulfillment><AmazonOrderID>{order}</AmazonOrderID><FulfillmentDate>2025-03-10T12:00:00+00:00</FulfillmentDate>\
         <FulfillmentData><CarrierCode>{carrier}</CarrierCode><ShippingMethod>Ground</ShippingMethod>\
         <ShipperTrackingNumber>{tracking}</ShipperTrackingNumber></FulfillmentData>{items}</OrderFulfillment>"
    )
}

fn cancel(order: &str, items: &[(&str, &str)]) -> String {
    let items: String = items
        .iter()
        .map(|(id, reason)| {
            format!("<Item><AmazonOrderItemCode>{id}</AmazonOrderItemCode><CancelReason>{reason}</CancelReason></Item>")
        })
        .collect();
    format!(
        "<OrderAcknowledgement><AmazonOrderID>{order}</AmazonOrderID><StatusCode>Failure</StatusCode>{items}</OrderAcknowledgement>"
    )
}

fn listing_patch(id: u32, sku: &str, value: Value) -> Value {
    json!({"messageId": id, "sku": sku, "operationType": "PATCH", "productType": "PRODUCT",
           "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability", "value": [value]}]})
}

/// `(messageId, code)` of each issue of a listings processing report.
fn issue_codes(report: &Value) -> Vec<(u64, &str)> {
    report["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| {
            (
                i["messageId"].as_u64().unwrap_or(0),
                i["code"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

fn listings_feed(seller: &str, messages: Vec<Value>) -> String {
    json!({"header": {"sellerId": seller, "version": "2.0", "issueLocale": "en_US"}, "messages": messages})
        .to_string()
}

async fn create_document(h: &Harness, token: &str, content_type: &str) -> (String, String) {
    let answer = h
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(token),
            Some(json!({ "contentType": content_type })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    (
        answer.body["feedDocumentId"].as_str().expect("id").to_owned(),
        answer.body["url"].as_str().expect("url").to_owned(),
    )
}

async fn upload(h: &Harness, url: &str, content_type: &str, body: &str) -> Answer {
    let response = h
        .http
        .put(url)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("upload answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body").to_vec();
    Answer {
        status,
        headers,
        body: Value::String(String::from_utf8_lossy(&bytes).into_owned()),
        bytes,
    }
}

async fn create_feed_raw(h: &Harness, token: &str, body: Value) -> Answer {
    h.call(Method::POST, "/feeds/2021-06-30/feeds", Some(token), Some(body))
        .await
}

/// createFeedDocument, upload, createFeed; returns the feed id.
async fn submit(h: &Harness, token: &str, feed_type: &str, content_type: &str, document: &str) -> String {
    let (document_id, url) = create_document(h, token, content_type).await;
    let uploaded = upload(h, &url, content_type, document).await;
    assert_eq!(uploaded.status, StatusCode::OK, "{:?}", uploaded.body);
    let answer = create_feed_raw(
        h,
        token,
        json!({"feedType": feed_type, "marketplaceIds": [US], "inputFeedDocumentId": document_id}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{:?}", answer.body);
    answer.body["feedId"].as_str().expect("feedId").to_owned()
}

/// Lets the feed's processing time pass and returns `getFeed`.
async fn finished_feed(h: &Harness, token: &str, feed_id: &str) -> Value {
    h.advance(TimeDelta::seconds(91));
    let answer = h.get(&format!("/feeds/2021-06-30/feeds/{feed_id}"), token).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    answer.body
}

/// The processing report's text: getFeedDocument, download, gunzip when the API says GZIP.
async fn report_text(h: &Harness, token: &str, feed: &Value) -> String {
    let document_id = feed["resultFeedDocumentId"]
        .as_str()
        .expect("a processing report");
    let meta = h
        .get(&format!("/feeds/2021-06-30/documents/{document_id}"), token)
        .await;
    assert_eq!(meta.status, StatusCode::OK, "{:?}", meta.body);
    let download = h.download(meta.body["url"].as_str().expect("url")).await;
    assert_eq!(download.status, StatusCode::OK);
    if meta.body["compressionAlgorithm"] == "GZIP" {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&download.bytes[..])
            .read_to_string(&mut text)
            .expect("gzip");
        text
    } else {
        String::from_utf8(download.bytes).expect("UTF-8")
    }
}

/// Submits a document and returns the finished feed and its report's text.
async fn run_feed(
    h: &Harness,
    token: &str,
    feed_type: &str,
    content_type: &str,
    document: &str,
) -> (Value, String) {
    let feed_id = submit(h, token, feed_type, content_type, document).await;
    let feed = finished_feed(h, token, &feed_id).await;
    assert_eq!(feed["processingStatus"], "DONE", "{feed}");
    let report = report_text(h, token, &feed).await;
    (feed, report)
}

/// `<Result>` blocks of an XML report as (MessageID, ResultMessageCode, text of the block).
fn results(report: &str) -> Vec<(u32, String, String)> {
    report
        .split("<Result>")
        .skip(1)
        .map(|block| {
            let field = |name: &str| {
                block
                    .split(&format!("<{name}>"))
                    .nth(1)
                    .and_then(|rest| rest.split(&format!("</{name}>")).next())
                    .unwrap_or_default()
                    .to_owned()
            };
            (
                field("MessageID").parse().expect("MessageID"),
                field("ResultMessageCode"),
                block.to_owned(),
            )
        })
        .collect()
}

fn summary(report: &str, name: &str) -> u64 {
    report
        .split(&format!("<{name}>"))
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|n| n.parse().ok())
        .expect("summary count")
}

#[tokio::test]
async fn create_feed_document_answers_an_id_and_a_presigned_upload_url() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 10));
    let token = h.token(&seller).await;
    let answer = h
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(&token),
            Some(json!({"contentType": XML})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.header("x-amzn-ratelimit-limit"), Some("0.5"));
    let id = answer.body["feedDocumentId"].as_str().expect("id");
    assert!(id.starts_with("amzn1.tortuga.3."), "{id}");
    let url = answer.body["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("{}/_documents/{id}?", h.sandbox.base_url())),
        "{url}"
    );
    assert!(url.contains("X-Amz-Expires=300"), "{url}");

    let uploaded = upload(&h, url, XML, "<AmazonEnvelope/>").await;
    assert_eq!(uploaded.status, StatusCode::OK);
    assert!(uploaded.header("etag").is_some());
    let stats = h.sandbox.stats(&seller.seller_id).expect("stats");
    assert_eq!(stats[&Operation::UploadDocument].succeeded, 1);
}

#[tokio::test]
async fn create_feed_document_without_a_content_type_is_a_400() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 10));
    let token = h.token(&seller).await;
    let answer = h
        .call(
            Method::POST,
            "/feeds/2021-06-30/documents",
            Some(&token),
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body,
        json!({"errors":[{"code":"InvalidInput","message":"One or more required parameters missing",
                          "details":"contentType;"}]})
    );
}

#[tokio::test]
async fn an_upload_with_another_content_type_is_refused_as_s3_refuses_it() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 10));
    let token = h.token(&seller).await;
    let (_, url) = create_document(&h, &token, XML).await;
    for other in ["text/xml; charset=utf-8", "application/xml", ""] {
        let refused = upload(&h, &url, other, "<AmazonEnvelope/>").await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{other}");
        assert!(
            refused
                .body
                .as_str()
                .unwrap_or_default()
                .contains("<Code>SignatureDoesNotMatch</Code>"),
            "{:?}",
            refused.body
        );
    }
    assert_eq!(
        upload(&h, &url, XML, "<AmazonEnvelope/>").await.status,
        StatusCode::OK
    );
    let stats = h.sandbox.stats(&seller.seller_id).expect("stats");
    assert_eq!(stats[&Operation::UploadDocument].forbidden, 3);
}

#[tokio::test]
async fn a_feed_document_of_several_megabytes_uploads_as_s3_takes_it() {
    let h = harness().await;
    let seller = h.add_seller(spec(3, &[US], 10));
    let token = h.token(&seller).await;
    let (_, url) = create_document(&h, &token, XML).await;
    let big = format!("<AmazonEnvelope>{}</AmazonEnvelope>", "x".repeat(9 << 20));
    let answer = upload(&h, &url, XML, &big).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
}

#[tokio::test]
async fn an_upload_url_expires_after_five_minutes() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 10));
    let token = h.token(&seller).await;
    let (_, url) = create_document(&h, &token, XML).await;
    h.advance(TimeDelta::minutes(6));
    let refused = upload(&h, &url, XML, "<AmazonEnvelope/>").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .body
            .as_str()
            .unwrap_or_default()
            .contains("Request has expired")
    );
}

#[tokio::test]
async fn create_feed_without_required_fields_or_with_bad_ones_is_a_400() {
    let h = harness().await;
    let seller = h.add_seller(spec(1, &[US], 10));
    let token = h.token(&seller).await;
    let answer = create_feed_raw(&h, &token, json!({})).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["errors"][0]["details"],
        "feedType;inputFeedDocumentId;marketplaceIds;"
    );
    assert_eq!(answer.header("x-amzn-ratelimit-limit"), Some("0.0083"));

    let (document_id, _) = create_document(&h, &token, XML).await;
    let cases = [
        (
            json!({"feedType": "POST_NOTHING", "marketplaceIds": [US], "inputFeedDocumentId": document_id}),
            "Invalid feed type",
        ),
        (
            json!({"feedType": FULFILLMENT, "marketplaceIds": [US], "inputFeedDocumentId": "amzn1.tortuga.3.nope"}),
            "inputFeedDocumentId",
        ),
        (
            json!({"feedType": FULFILLMENT, "marketplaceIds": [DE], "inputFeedDocumentId": document_id}),
            "does not participate",
        ),
        (
            json!({"feedType": FULFILLMENT, "marketplaceIds": [], "inputFeedDocumentId": document_id}),
            "marketplaceIds",
        ),
        (
            json!({"feedType": FULFILLMENT, "marketplaceIds": US, "inputFeedDocumentId": document_id}),
            "Could not match",
        ),
    ];
    for (body, expected) in cases {
        let answer = create_feed_raw(&h, &token, body.clone()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let message = answer.body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{body} → {message}");
    }
}

#[tokio::test]
async fn a_feed_moves_from_in_queue_through_in_progress_to_done_with_a_report() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 2);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 1, 1);
    let document = envelope(
        &seller.seller_id,
        "OrderFulfillment",
        &[ship(&target.amazon_order_id, "UPS", "1Z999AA10123456784", &[])],
    );
    let feed_id = submit(&h, &token, FULFILLMENT, XML, &document).await;
    let path = format!("/feeds/2021-06-30/feeds/{feed_id}");
    let queued = h.get(&path, &token).await;
    assert_eq!(queued.body["processingStatus"], "IN_QUEUE");
    assert_eq!(queued.body["feedType"], FULFILLMENT);
    assert_eq!(queued.body["createdTime"], "2025-03-10T12:00:00.000Z");
    assert!(queued.body.get("processingStartTime").is_none());
    assert_eq!(queued.header("x-amzn-ratelimit-limit"), Some("2.0"));

    h.advance(TimeDelta::seconds(40));
    let running = h.get(&path, &token).await;
    assert_eq!(running.body["processingStatus"], "IN_PROGRESS");
    assert!(running.body.get("resultFeedDocumentId").is_none());
    assert_eq!(
        order(&h, &seller, &target.amazon_order_id).status,
        OrderState::Unshipped
    );

    let done = finished_feed(&h, &token, &feed_id).await;
    assert_eq!(done["processingStatus"], "DONE");
    assert_eq!(done["processingEndTime"], "2025-03-10T12:01:30.000Z");
    let report = report_text(&h, &token, &done).await;
    assert!(report.contains("<StatusCode>Complete</StatusCode>"), "{report}");
    assert_eq!(summary(&report, "MessagesProcessed"), 1);
    assert_eq!(summary(&report, "MessagesSuccessful"), 1);
    assert!(results(&report).is_empty(), "{report}");

    let unknown = h
        .get("/feeds/2021-06-30/documents/amzn1.tortuga.3.nope", &token)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn get_feed_refuses_malformed_ids_and_does_not_know_other_sellers_feeds() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 3);
    let other = awaiting_seller(&h, 4);
    let token = h.token(&seller).await;
    let other_token = h.token(&other).await;
    let feed_id = submit(
        &h,
        &token,
        LISTINGS,
        JSON,
        &listings_feed(&seller.seller_id, vec![]),
    )
    .await;
    assert_eq!(
        h.get("/feeds/2021-06-30/feeds/abc", &token).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.get("/feeds/2021-06-30/feeds/123", &token).await.status,
        StatusCode::NOT_FOUND
    );
    let foreign = h
        .get(&format!("/feeds/2021-06-30/feeds/{feed_id}"), &other_token)
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn get_feeds_filters_by_type_and_status_and_pages_newest_first() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 5);
    let token = h.token(&seller).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            submit(
                &h,
                &token,
                LISTINGS,
                JSON,
                &listings_feed(&seller.seller_id, vec![]),
            )
            .await,
        );
        h.advance(TimeDelta::seconds(1));
    }
    let xml = envelope(&seller.seller_id, "OrderFulfillment", &[]);
    let order_feed = submit(&h, &token, FULFILLMENT, XML, &xml).await;

    let first = h
        .get(
            "/feeds/2021-06-30/feeds?feedTypes=JSON_LISTINGS_FEED&pageSize=2",
            &token,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    let page: Vec<&str> = first.body["feeds"]
        .as_array()
        .expect("feeds")
        .iter()
        .map(|f| f["feedId"].as_str().expect("id"))
        .collect();
    assert_eq!(page, [ids[2].as_str(), ids[1].as_str()]);
    let token_param = first.body["nextToken"].as_str().expect("nextToken");
    let next = h
        .get(
            &format!("/feeds/2021-06-30/feeds?nextToken={}", urlencode(token_param)),
            &token,
        )
        .await;
    assert_eq!(next.body["feeds"][0]["feedId"], ids[0].as_str());
    assert!(next.body.get("nextToken").is_none());
    // "Specifying nextToken with any other parameters will cause the request to fail." (the model)
    let mixed = h
        .get(
            &format!(
                "/feeds/2021-06-30/feeds?feedTypes=JSON_LISTINGS_FEED&nextToken={}",
                urlencode(token_param)
            ),
            &token,
        )
        .await;
    assert_eq!(mixed.status, StatusCode::BAD_REQUEST, "{:?}", mixed.body);

    let both = "/feeds/2021-06-30/feeds?feedTypes=JSON_LISTINGS_FEED,POST_ORDER_FULFILLMENT_DATA";
    let all = h.get(both, &token).await;
    assert_eq!(all.body["feeds"].as_array().expect("feeds").len(), 4);
    assert_eq!(all.body["feeds"][0]["feedId"], order_feed.as_str());
    let queued = h.get(&format!("{both}&processingStatuses=DONE"), &token).await;
    assert_eq!(queued.body["feeds"].as_array().expect("feeds").len(), 0);
    let bad = h
        .get(&format!("{both}&processingStatuses=FINISHED"), &token)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // "Either feedTypes or nextToken is required" (the model).
    for query in ["", "?processingStatuses=DONE", "?pageSize=5"] {
        let refused = h.get(&format!("/feeds/2021-06-30/feeds{query}"), &token).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(
            refused.body,
            json!({"errors": [{"code": "InvalidInput", "message": "One or more required parameters missing",
                "details": "feedTypes;"}]})
        );
    }
}

#[tokio::test]
async fn messages_that_break_amazons_xsds_are_rejected_with_5000_and_the_rest_applied() {
    if tests::reference::require_xsd().is_none() {
        return;
    }
    let h = harness().await;
    let seller = awaiting_seller(&h, 23);
    let token = h.token(&seller).await;
    let orders: Vec<SandboxOrder> = h
        .sandbox
        .orders(&seller.seller_id)
        .expect("seller")
        .into_iter()
        .filter(|o| o.fulfillment_channel == Channel::Mfn && o.status == OrderState::Unshipped)
        .take(9)
        .collect();
    let good = |order: &SandboxOrder| ship(&order.amazon_order_id, "UPS", "1Z999", &[]);
    // Eight ways to break Amazon's OrderFulfillment schema that the sandbox's own checks never caught: each
    // was applied as a success before the sandbox validated against the XSDs.
    let broken: Vec<String> = vec![
        good(&orders[0]).replace("<FulfillmentData>", "<GiftWrap>yes</GiftWrap><FulfillmentData>"),
        good(&orders[1]).replace(
            "<ShippingMethod>Ground</ShippingMethod>",
            &format!("<ShippingMethod>{}</ShippingMethod>", "G".repeat(600)),
        ),
        good(&orders[2]).replace(
            "<CarrierCode>UPS</CarrierCode>",
            &format!("<CarrierCode>Other</CarrierCode><CarrierName>{}</CarrierName>", "C".repeat(600)),
        ),
        good(&orders[3]).replace(
            "</AmazonOrderID>",
            "</AmazonOrderID><MerchantFulfillmentID>abc</MerchantFulfillmentID>",
        ),
        good(&orders[4]).replace(
            "</AmazonOrderID>",
            &format!("</AmazonOrderID><AmazonOrderID>{}</AmazonOrderID>", orders[4].amazon_order_id),
        ),
        good(&orders[5]).replace(
            "<ShipperTrackingNumber>1Z999</ShipperTrackingNumber>",
            "<ShipperTrackingNumber>1Z999</ShipperTrackingNumber><ShipperTrackingNumber>1Z998</ShipperTrackingNumber>",
        ),
        good(&orders[6]).replace("</OrderFulfillment>", "<CODCollectionMethod>Cash</CODCollectionMethod></OrderFulfillment>"),
        good(&orders[7]).replace(
            "</OrderFulfillment>",
            "<ShipFromAddress><Name>Depot</Name></ShipFromAddress></OrderFulfillment>",
        ),
    ];
    let mut messages = broken.clone();
    messages.push(good(&orders[8]));
    let document = envelope(&seller.seller_id, "OrderFulfillment", &messages);
    let (feed, report) = run_feed(&h, &token, FULFILLMENT, XML, &document).await;
    assert_eq!(feed["processingStatus"], "DONE");
    let results = shared::feeds::parse_xml_processing_report(report.as_bytes()).expect("report");
    for id in 1..=8u32 {
        match results.outcome(id) {
            shared::feeds::MessageOutcome::Rejected { errors } => {
                assert_eq!(errors[0].code, "5000", "message {id}: {errors:?}");
                assert!(
                    errors[0].text.starts_with("XML Parsing Error at Line"),
                    "{errors:?}"
                );
            }
            other => panic!(
                "message {id} ({}) must be refused: {other:?}",
                broken[id as usize - 1]
            ),
        }
    }
    assert!(matches!(
        results.outcome(9),
        shared::feeds::MessageOutcome::Accepted { .. }
    ));
    for order in &orders[..8] {
        assert_eq!(
            self::order(&h, &seller, &order.amazon_order_id).status,
            OrderState::Unshipped
        );
    }
    assert_eq!(
        self::order(&h, &seller, &orders[8].amazon_order_id).status,
        OrderState::Shipped
    );
}

#[tokio::test]
async fn listings_messages_and_headers_that_break_amazons_schema_are_refused() {
    if tests::reference::require_dir().is_none() {
        return;
    }
    let h = harness().await;
    let seller = awaiting_seller(&h, 24);
    let token = h.token(&seller).await;
    let value = json!({"fulfillment_channel_code": "DEFAULT", "quantity": 4});
    let mut bad_requirements = listing_patch(1, "A", value.clone());
    bad_requirements["operationType"] = json!("UPDATE");
    bad_requirements
        .as_object_mut()
        .expect("object")
        .remove("patches");
    bad_requirements["attributes"] = json!({"fulfillment_availability": [value]});
    bad_requirements["requirements"] = json!("LISTING_EVERYTHING");
    let mut unknown_op = listing_patch(2, "B", value.clone());
    unknown_op["patches"][0]["value"] = json!("not an array");
    let document = listings_feed(
        &seller.seller_id,
        vec![bad_requirements, unknown_op, listing_patch(3, "C", value.clone())],
    );
    let (_, text) = run_feed(&h, &token, LISTINGS, JSON, &document).await;
    let report: Value = serde_json::from_str(&text).expect("json");
    let codes = issue_codes(&report);
    assert_eq!(codes, [(1, "4002008"), (2, "4002008")], "{report}");
    let quantity = |sku: &str| {
        h.sandbox
            .listings(&seller.seller_id)
            .expect("listings")
            .into_iter()
            .find(|l| l.sku == sku)
            .and_then(|l| l.quantity)
    };
    assert_eq!(
        (quantity("A"), quantity("B"), quantity("C")),
        (None, None, Some(4))
    );

    // A report request without the listings API version the schema requires: nothing is applied.
    let headless = json!({
        "header": {"sellerId": seller.seller_id, "version": "2.0", "report": {"includedData": ["issues"]}},
        "messages": [listing_patch(1, "D", value)],
    });
    let (_, text) = run_feed(&h, &token, LISTINGS, JSON, &headless.to_string()).await;
    let report: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(report["issues"][0]["code"], "4002005", "{report}");
    assert_eq!(report["summary"]["messagesAccepted"], 0);
    assert_eq!(quantity("D"), None);
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).expect("encodes")[2..].to_owned()
}

#[tokio::test]
async fn a_feed_can_be_cancelled_only_while_queued_and_then_changes_nothing() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 6);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 1, 1);
    let document = envelope(
        &seller.seller_id,
        "OrderFulfillment",
        &[ship(
            &target.amazon_order_id,
            "USPS",
            "9400111899223344556677",
            &[],
        )],
    );
    let feed_id = submit(&h, &token, FULFILLMENT, XML, &document).await;
    let path = format!("/feeds/2021-06-30/feeds/{feed_id}");
    let cancelled = h.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    let feed = finished_feed(&h, &token, &feed_id).await;
    assert_eq!(feed["processingStatus"], "CANCELLED");
    assert!(feed.get("resultFeedDocumentId").is_none());
    assert_eq!(
        order(&h, &seller, &target.amazon_order_id).status,
        OrderState::Unshipped
    );

    let running = submit(&h, &token, FULFILLMENT, XML, &document).await;
    h.advance(TimeDelta::seconds(40));
    let refused = h
        .call(
            Method::DELETE,
            &format!("/feeds/2021-06-30/feeds/{running}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("IN_PROGRESS")
    );
}

#[tokio::test]
async fn create_feed_takes_one_marketplace_as_amazon_does_whatever_the_model_allows() {
    let h = harness().await;
    let seller = h.add_seller(spec(2, &[DE, FR], 10));
    let token = h.token(&seller).await;
    let (document_id, _) = create_document(&h, &token, JSON).await;
    let listings = create_feed_raw(
        &h,
        &token,
        json!({"feedType": LISTINGS, "marketplaceIds": [DE, FR], "inputFeedDocumentId": document_id}),
    )
    .await;
    assert_eq!(listings.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        listings.body,
        json!({"errors": [{"code": "InvalidInput",
            "message": "Too many 'marketplaceIds' values provided. Expected a maximum of 1.", "details": ""}]})
    );
    let (document_id, _) = create_document(&h, &token, XML).await;
    let order_feed = create_feed_raw(
        &h,
        &token,
        json!({"feedType": FULFILLMENT, "marketplaceIds": [DE, FR], "inputFeedDocumentId": document_id}),
    )
    .await;
    assert_eq!(order_feed.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        order_feed.body,
        json!({"errors": [{"code": "InvalidInput", "message": "Invalid request parameters", "details": ""}]})
    );
    assert!(h.sandbox.feeds(&seller.seller_id).expect("feeds").is_empty());
    let one = create_feed_raw(
        &h,
        &token,
        json!({"feedType": FULFILLMENT, "marketplaceIds": [FR], "inputFeedDocumentId": document_id}),
    )
    .await;
    assert_eq!(one.status, StatusCode::ACCEPTED, "{:?}", one.body);
}

#[tokio::test]
async fn listings_feeds_beyond_five_in_five_minutes_are_throttled() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 8);
    let token = h.token(&seller).await;
    let (document_id, url) = create_document(&h, &token, JSON).await;
    upload(&h, &url, JSON, &listings_feed(&seller.seller_id, vec![])).await;
    let body = json!({"feedType": LISTINGS, "marketplaceIds": [US], "inputFeedDocumentId": document_id});
    for n in 0..5 {
        let answer = create_feed_raw(&h, &token, body.clone()).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "call {n}: {:?}", answer.body);
        h.advance(TimeDelta::seconds(50));
    }
    let throttled = create_feed_raw(&h, &token, body.clone()).await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "createFeed's own bucket has 10 left"
    );
    assert_eq!(throttled.body["errors"][0]["code"], "QuotaExceeded");
    h.advance(TimeDelta::seconds(51));
    assert_eq!(
        create_feed_raw(&h, &token, body).await.status,
        StatusCode::ACCEPTED,
        "the first of the five left the window"
    );
}

#[tokio::test]
async fn create_feed_beyond_its_burst_of_15_is_throttled() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 7);
    let token = h.token(&seller).await;
    let (document_id, url) = create_document(&h, &token, XML).await;
    upload(
        &h,
        &url,
        XML,
        &envelope(&seller.seller_id, "OrderFulfillment", &[]),
    )
    .await;
    let body = json!({"feedType": FULFILLMENT, "marketplaceIds": [US], "inputFeedDocumentId": document_id});
    for n in 0..15 {
        let answer = create_feed_raw(&h, &token, body.clone()).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "call {n}: {:?}", answer.body);
    }
    let throttled = create_feed_raw(&h, &token, body.clone()).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.body["errors"][0]["code"], "QuotaExceeded");
    assert_eq!(throttled.header("x-amzn-ratelimit-limit"), None);
    // 0.0083 per second: the next token comes after about two minutes.
    h.advance(TimeDelta::seconds(121));
    assert_eq!(
        create_feed_raw(&h, &token, body).await.status,
        StatusCode::ACCEPTED
    );
    let stats = h.sandbox.stats(&seller.seller_id).expect("stats");
    assert_eq!(stats[&Operation::CreateFeed].throttled, 1);
    assert_eq!(stats[&Operation::CreateFeed].succeeded, 16);
}

#[tokio::test]
async fn a_shipment_confirmation_ships_the_order_with_its_carrier_and_tracking_number() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 8);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 1, 1);
    let document = envelope(
        &seller.seller_id,
        "OrderFulfillment",
        &[ship(&target.amazon_order_id, "UPS", "1Z999AA10123456784", &[])],
    );
    let (feed, _) = run_feed(&h, &token, FULFILLMENT, XML, &document).await;

    let shipped = order(&h, &seller, &target.amazon_order_id);
    assert_eq!(shipped.status, OrderState::Shipped);
    assert_eq!(shipped.shipments.len(), 1);
    let shipment = &shipped.shipments[0];
    assert_eq!(shipment.carrier_code, "UPS");
    assert_eq!(shipment.tracking_number.as_deref(), Some("1Z999AA10123456784"));
    assert_eq!(shipment.shipping_method.as_deref(), Some("Ground"));
    assert_eq!(shipment.feed_id, feed["feedId"].as_str().expect("id"));
    assert!(shipped.items.iter().all(|i| i.quantity_shipped == i.quantity));
    let last = shipped.events.last().expect("events");
    assert_eq!(
        (last.status, last.last_updated_date),
        (OrderState::Shipped, h.now() - TimeDelta::seconds(1))
    );

    // The same truth over the inspection route.
    let url = format!(
        "{}/_sandbox/sellers/{}/orders",
        h.sandbox.base_url(),
        seller.seller_id
    );
    let orders: Value = h
        .http
        .get(url)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    let over_http = orders
        .as_array()
        .expect("orders")
        .iter()
        .find(|o| o["amazonOrderId"] == target.amazon_order_id.as_str())
        .expect("the order");
    assert_eq!(over_http["status"], "Shipped");
    assert_eq!(over_http["shipments"][0]["trackingNumber"], "1Z999AA10123456784");
    let feeds = h.sandbox.feeds(&seller.seller_id).expect("feeds");
    assert_eq!(feeds[0].processing_status, ProcessingStatus::Done);
    assert_eq!((feeds[0].messages, feeds[0].messages_rejected), (1, 0));
}

#[tokio::test]
async fn a_partial_shipment_leaves_the_order_unshipped_until_every_unit_ships() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 9);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 2, 1);
    let (first, second) = (&target.items[0], &target.items[1]);
    let part = envelope(
        &seller.seller_id,
        "OrderFulfillment",
        &[ship(
            &target.amazon_order_id,
            "DHL",
            "JD0001",
            &[(&first.order_item_id, first.quantity)],
        )],
    );
    run_feed(&h, &token, FULFILLMENT, XML, &part).await;
    let after_one = order(&h, &seller, &target.amazon_order_id);
    assert_eq!(after_one.status, OrderState::Unshipped);
    assert_eq!(after_one.items[0].quantity_shipped, first.quantity);
    assert_eq!(after_one.items[1].quantity_shipped, 0);

    let rest = envelope(
        &seller.seller_id,
        "OrderFulfillment",
        &[ship(
            &target.amazon_order_id,
            "DHL",
            "JD0002",
            &[(&second.order_item_id, second.quantity)],
        )],
    );
    run_feed(&h, &token, FULFILLMENT, XML, &rest).await;
    let shipped = order(&h, &seller, &target.amazon_order_id);
    assert_eq!(shipped.status, OrderState::Shipped);
    let tracking: Vec<_> = shipped
        .shipments
        .iter()
        .filter_map(|s| s.tracking_number.clone())
        .collect();
    assert_eq!(tracking, ["JD0001", "JD0002"]);
}

#[tokio::test]
async fn a_cancellation_cancels_the_order_with_its_reason() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 10);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 1, 1);
    let items: Vec<(&str, &str)> = target
        .items
        .iter()
        .map(|i| (i.order_item_id.as_str(), "NoInventory"))
        .collect();
    let document = envelope(
        &seller.seller_id,
        "OrderAcknowledgement",
        &[cancel(&target.amazon_order_id, &items)],
    );
    let (_, report) = run_feed(&h, &token, ACKNOWLEDGEMENT, XML, &document).await;
    assert_eq!(summary(&report, "MessagesSuccessful"), 1, "{report}");
    let cancelled = order(&h, &seller, &target.amazon_order_id);
    assert_eq!(cancelled.status, OrderState::Cancelled);
    assert_eq!(
        cancelled.cancellations[0].items[0].cancel_reason.as_deref(),
        Some("NoInventory")
    );
    assert!(cancelled.items.iter().all(|i| i.quantity_cancelled == i.quantity));
}

#[tokio::test]
async fn cancelling_one_item_leaves_the_rest_to_ship() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 11);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 2, 1);
    let document = envelope(
        &seller.seller_id,
        "OrderAcknowledgement",
        &[cancel(
            &target.amazon_order_id,
            &[(&target.items[0].order_item_id, "BuyerCanceled")],
        )],
    );
    run_feed(&h, &token, ACKNOWLEDGEMENT, XML, &document).await;
    let partly = order(&h, &seller, &target.amazon_order_id);
    assert_eq!(partly.status, OrderState::Unshipped);
    assert_eq!(partly.items[0].quantity_cancelled, target.items[0].quantity);

    let rest = envelope(
        &seller.seller_id,
        "OrderFulfillment",
        &[ship(&target.amazon_order_id, "FedEx", "7777", &[])],
    );
    run_feed(&h, &token, FULFILLMENT, XML, &rest).await;
    let shipped = order(&h, &seller, &target.amazon_order_id);
    assert_eq!(shipped.status, OrderState::Shipped);
    assert_eq!(shipped.items[0].quantity_shipped, 0);
}

#[tokio::test]
async fn a_confirmation_feed_rejects_bad_messages_one_by_one_with_amazons_codes() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 12);
    let token = h.token(&seller).await;
    let good = unshipped(&h, &seller, 1, 1);
    let other = h
        .sandbox
        .orders(&seller.seller_id)
        .expect("orders")
        .into_iter()
        .find(|o| o.status == OrderState::Unshipped && o.amazon_order_id != good.amazon_order_id)
        .expect("a second order");
    let item = &other.items[0];
    let bad_date =
        ship(&other.amazon_order_id, "UPS", "1", &[]).replace("2025-03-10T12:00:00+00:00", "yesterday");
    let messages = [
        ship(&good.amazon_order_id, "UPS", "1Z1", &[]),
        ship("114-0000000-0000000", "UPS", "1Z2", &[]),
        ship(&other.amazon_order_id, "Carrier Pigeon", "1Z3", &[]),
        ship(&other.amazon_order_id, "UPS", "1Z4", &[("99999999999999", 1)]),
        ship(
            &other.amazon_order_id,
            "UPS",
            "1Z5",
            &[(&item.order_item_id, item.quantity + 1)],
        ),
        bad_date,
    ];
    let document = envelope(&seller.seller_id, "OrderFulfillment", &messages);
    let (_, report) = run_feed(&h, &token, FULFILLMENT, XML, &document).await;
    let codes: Vec<(u32, String)> = results(&report)
        .into_iter()
        .map(|(id, code, _)| (id, code))
        .collect();
    assert_eq!(
        codes,
        [
            (2, "18028".to_owned()),
            // Not in the XSD's CarrierCode enumeration: the schema refuses it before anything else.
            (3, "5000".to_owned()),
            (4, "18028".to_owned()),
            (5, "18021".to_owned()),
            (6, "5000".to_owned())
        ],
        "{report}"
    );
    let blocks = results(&report);
    assert!(
        blocks[0]
            .2
            .contains("<AmazonOrderID>114-0000000-0000000</AmazonOrderID>"),
        "{report}"
    );
    assert!(
        blocks[2]
            .2
            .contains("<AmazonOrderItemCode>99999999999999</AmazonOrderItemCode>")
    );
    assert_eq!(summary(&report, "MessagesProcessed"), 6);
    assert_eq!(summary(&report, "MessagesSuccessful"), 1);
    assert_eq!(summary(&report, "MessagesWithError"), 5);
    assert_eq!(
        order(&h, &seller, &good.amazon_order_id).status,
        OrderState::Shipped
    );
    let untouched = order(&h, &seller, &other.amazon_order_id);
    assert_eq!(untouched.status, OrderState::Unshipped);
    assert!(untouched.shipments.is_empty());

    let feeds = h.sandbox.feeds(&seller.seller_id).expect("feeds");
    assert_eq!(feeds[0].messages_rejected, 5);
    assert_eq!(feeds[0].results[1].code, "5000");
}

#[tokio::test]
async fn an_order_cannot_be_shipped_twice_nor_cancelled_after_shipping() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 13);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 1, 1);
    let confirm = envelope(
        &seller.seller_id,
        "OrderFulfillment",
        &[ship(&target.amazon_order_id, "UPS", "1", &[])],
    );
    run_feed(&h, &token, FULFILLMENT, XML, &confirm).await;
    let (_, again) = run_feed(&h, &token, FULFILLMENT, XML, &confirm).await;
    assert_eq!(results(&again)[0].1, "18021", "{again}");

    let items = [(target.items[0].order_item_id.as_str(), "NoInventory")];
    let late = envelope(
        &seller.seller_id,
        "OrderAcknowledgement",
        &[
            cancel(&target.amazon_order_id, &items),
            cancel("114-0000000-0000000", &[]),
            cancel(&target.amazon_order_id, &[(items[0].0, "ChangedMyMind")]),
        ],
    );
    let (_, report) = run_feed(&h, &token, ACKNOWLEDGEMENT, XML, &late).await;
    let codes: Vec<String> = results(&report).into_iter().map(|(_, code, _)| code).collect();
    assert_eq!(codes, ["18028", "18028", "5000"], "{report}");
    assert_eq!(
        order(&h, &seller, &target.amazon_order_id).status,
        OrderState::Shipped
    );
}

#[tokio::test]
async fn messages_of_another_type_than_the_feed_are_all_rejected_with_25() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 14);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 1, 1);
    let document = envelope(
        &seller.seller_id,
        "OrderFulfillment",
        &[
            ship(&target.amazon_order_id, "UPS", "1", &[]),
            ship(&target.amazon_order_id, "UPS", "2", &[]),
        ],
    );
    let (_, report) = run_feed(&h, &token, ACKNOWLEDGEMENT, XML, &document).await;
    let codes: Vec<String> = results(&report).into_iter().map(|(_, code, _)| code).collect();
    assert_eq!(codes, ["25", "25"], "{report}");
    assert_eq!(
        order(&h, &seller, &target.amazon_order_id).status,
        OrderState::Unshipped
    );
}

#[tokio::test]
async fn a_malformed_document_ends_the_feed_fatal_with_a_6001_report() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 15);
    let token = h.token(&seller).await;
    let feed_id = submit(
        &h,
        &token,
        FULFILLMENT,
        XML,
        "<AmazonEnvelope>\n<Header>\n</AmazonEnvelope>",
    )
    .await;
    let feed = finished_feed(&h, &token, &feed_id).await;
    assert_eq!(feed["processingStatus"], "FATAL");
    let report = report_text(&h, &token, &feed).await;
    let result = &results(&report)[0];
    assert_eq!((result.0, result.1.as_str()), (0, "6001"), "{report}");
    assert!(result.2.contains("XML parsing fatal error at line"), "{report}");
}

#[tokio::test]
async fn an_injected_fatal_or_a_missing_upload_ends_the_feed_fatal_without_a_report() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 16);
    let token = h.token(&seller).await;
    h.sandbox
        .inject(Fault::new(FaultKind::Fatal).on(Operation::CreateFeed));
    let feed_id = submit(
        &h,
        &token,
        LISTINGS,
        JSON,
        &listings_feed(&seller.seller_id, vec![]),
    )
    .await;
    let feed = finished_feed(&h, &token, &feed_id).await;
    assert_eq!(feed["processingStatus"], "FATAL");
    assert!(feed.get("resultFeedDocumentId").is_none());

    let (document_id, _) = create_document(&h, &token, JSON).await;
    let answer = create_feed_raw(
        &h,
        &token,
        json!({"feedType": LISTINGS, "marketplaceIds": [US], "inputFeedDocumentId": document_id}),
    )
    .await;
    let feed_id = answer.body["feedId"].as_str().expect("feedId");
    assert_eq!(
        finished_feed(&h, &token, feed_id).await["processingStatus"],
        "FATAL"
    );
}

#[tokio::test]
async fn a_listings_feed_sets_the_skus_quantity_and_answers_a_gzipped_json_report() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 17);
    let token = h.token(&seller).await;
    let listings = h.sandbox.listings(&seller.seller_id).expect("listings");
    let sku = listings
        .iter()
        .find(|l| l.in_catalog)
        .expect("a catalog SKU")
        .sku
        .clone();
    let document = listings_feed(
        &seller.seller_id,
        vec![
            listing_patch(
                1,
                &sku,
                json!({"fulfillment_channel_code": "DEFAULT", "quantity": 42, "lead_time_to_ship_max_days": 3}),
            ),
            listing_patch(
                2,
                "NOT-IN-CATALOG",
                json!({"fulfillment_channel_code": "DEFAULT", "quantity": 1}),
            ),
        ],
    );
    let feed_id = submit(&h, &token, LISTINGS, JSON, &document).await;
    let feed = finished_feed(&h, &token, &feed_id).await;
    assert_eq!(feed["processingStatus"], "DONE");
    let meta = h
        .get(
            &format!(
                "/feeds/2021-06-30/documents/{}",
                feed["resultFeedDocumentId"].as_str().expect("report")
            ),
            &token,
        )
        .await;
    assert_eq!(meta.body["compressionAlgorithm"], "GZIP");
    let report: Value = serde_json::from_str(&report_text(&h, &token, &feed).await).expect("json report");
    assert_eq!(report["header"]["feedId"], feed_id.as_str());
    assert_eq!(report["issues"], json!([]));
    assert_eq!(report["summary"]["messagesAccepted"], 2);

    let after = h.sandbox.listings(&seller.seller_id).expect("listings");
    let set = after.iter().find(|l| l.sku == sku).expect("the SKU");
    assert_eq!(
        (set.quantity, set.lead_time_to_ship_max_days),
        (Some(42), Some(3))
    );
    let unknown = after.iter().find(|l| l.sku == "NOT-IN-CATALOG").expect("created");
    assert!(!unknown.in_catalog);
    assert_eq!(unknown.quantity, Some(1));

    let url = format!(
        "{}/_sandbox/sellers/{}/listings",
        h.sandbox.base_url(),
        seller.seller_id
    );
    let over_http: Value = h
        .http
        .get(url)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert!(
        over_http
            .as_array()
            .expect("listings")
            .iter()
            .any(|l| l["sku"] == sku.as_str() && l["quantity"] == 42)
    );
}

#[tokio::test]
async fn a_listings_feed_rejects_bad_messages_with_amazons_codes() {
    let h = harness().await;
    let seller = awaiting_seller(&h, 18);
    let token = h.token(&seller).await;
    let document = listings_feed(
        &seller.seller_id,
        vec![
            listing_patch(1, "A", json!({"quantity": 5})),
            listing_patch(
                2,
                "B",
                json!({"fulfillment_channel_code": "DEFAULT", "quantity": -1}),
            ),
            json!({"messageId": 3, "sku": "C", "operationType": "UPSERT", "productType": "PRODUCT"}),
            listing_patch(
                4,
                "D",
                json!({"fulfillment_channel_code": "DEFAULT", "quantity": 9}),
            ),
        ],
    );
    let (_, text) = run_feed(&h, &token, LISTINGS, JSON, &document).await;
    let report: Value = serde_json::from_str(&text).expect("json");
    let codes = issue_codes(&report);
    assert_eq!(codes, [(1, "99022"), (2, "4000001"), (3, "4002008")], "{report}");
    assert_eq!(report["issues"][1]["attributeName"], "fulfillment_availability");
    assert_eq!(report["summary"]["messagesInvalid"], 3);
    assert_eq!(report["summary"]["messagesAccepted"], 1);
    let listings = h.sandbox.listings(&seller.seller_id).expect("listings");
    assert!(listings.iter().all(|l| l.sku != "A" && l.sku != "B"));
    assert!(listings.iter().any(|l| l.sku == "D" && l.quantity == Some(9)));

    let old_version = json!({"header": {"sellerId": seller.seller_id, "version": "1.0"},
                             "messages": [listing_patch(1, "E", json!({"fulfillment_channel_code": "DEFAULT", "quantity": 1}))]});
    let (_, text) = run_feed(&h, &token, LISTINGS, JSON, &old_version.to_string()).await;
    let report: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(report["issues"][0]["code"], "4002006");
    assert!(report["issues"][0].get("messageId").is_none());
    assert_eq!(report["summary"]["messagesProcessed"], 0);
    assert!(
        h.sandbox
            .listings(&seller.seller_id)
            .expect("listings")
            .iter()
            .all(|l| l.sku != "E")
    );

    let headless = json!({"messages": [listing_patch(1, "F", json!({"fulfillment_channel_code": "DEFAULT", "quantity": 1}))]});
    let (_, text) = run_feed(&h, &token, LISTINGS, JSON, &headless.to_string()).await;
    let report: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(report["issues"][0]["code"], "4002005");
    let listings = h.sandbox.listings(&seller.seller_id).expect("listings");
    assert!(listings.iter().all(|l| l.sku != "F"));
}

#[tokio::test]
async fn processing_reports_are_valid_against_amazons_schemas() {
    let Some(reference) = tests::reference::require_xsd() else {
        return;
    };
    let h = harness().await;
    let seller = awaiting_seller(&h, 19);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 1, 1);
    let document = envelope(
        &seller.seller_id,
        "OrderFulfillment",
        &[
            ship(&target.amazon_order_id, "UPS", "1Z1", &[]),
            ship("114-0000000-0000000", "UPS", "1Z &amp; &lt;2&gt;", &[]),
            ship(&target.amazon_order_id, "Nope", "1Z3", &[("99999999999999", 1)]),
        ],
    );
    let (_, with_errors) = run_feed(&h, &token, FULFILLMENT, XML, &document).await;
    let fatal_id = submit(&h, &token, ACKNOWLEDGEMENT, XML, "<AmazonEnvelope><Header>").await;
    let fatal = finished_feed(&h, &token, &fatal_id).await;
    let unparsable = report_text(&h, &token, &fatal).await;
    let reports = [with_errors.as_bytes(), unparsable.as_bytes()];
    let schema = tests::reference::envelope_schema(&reference);
    for (verdict, report) in tests::reference::validate_xml(&schema, &reports)
        .iter()
        .zip(reports)
    {
        if let Err(errors) = verdict {
            panic!("{errors:?}\n{}", String::from_utf8_lossy(report));
        }
    }

    let validator =
        tests::reference::json_validator(&reference, "listings-feed-processing-report-schema-v2.json");
    let listings = listings_feed(
        &seller.seller_id,
        vec![
            listing_patch(1, "A", json!({"quantity": 5})),
            listing_patch(
                2,
                "B",
                json!({"fulfillment_channel_code": "DEFAULT", "quantity": 2}),
            ),
        ],
    );
    let (_, text) = run_feed(&h, &token, LISTINGS, JSON, &listings).await;
    let report: Value = serde_json::from_str(&text).expect("json");
    let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{report}");
    assert!(!validator.is_valid(&json!({"header": {}, "issues": [], "summary": {}})));
}

#[tokio::test]
async fn feeds_built_by_sellersync_are_applied_and_their_reports_read_back_per_message() {
    use shared::domain::{Carrier, InventoryUpdate, ShipmentConfirmation, ShippedItems};
    use shared::feeds::{
        FeedLimits, MessageOutcome, inventory_feeds, order_fulfillment_feeds,
        parse_listings_processing_report, parse_xml_processing_report,
    };

    let h = harness().await;
    let seller = awaiting_seller(&h, 20);
    let token = h.token(&seller).await;
    let target = unshipped(&h, &seller, 1, 1);
    let confirmation = |order: &str| ShipmentConfirmation {
        amazon_order_id: order.to_owned(),
        carrier: Carrier::from_name("usps"),
        shipping_method: Some("Priority".to_owned()),
        tracking_number: Some("9400111899223344556677".to_owned()),
        ship_date: h.now(),
        items: ShippedItems::All,
        ship_from: None,
    };
    let confirmations = [
        confirmation("114-0000000-0000000"),
        confirmation(&target.amazon_order_id),
    ];
    let docs =
        order_fulfillment_feeds(&seller.seller_id, &confirmations, &FeedLimits::default()).expect("builds");
    let doc = &docs[0];
    let body = String::from_utf8(doc.body.clone()).expect("UTF-8");
    let (_, text) = run_feed(&h, &token, doc.feed_type.as_str(), doc.content_type(), &body).await;
    let report = parse_xml_processing_report(text.as_bytes()).expect("sellersync reads the report");
    let outcomes: Vec<(Vec<usize>, MessageOutcome)> = doc
        .messages
        .iter()
        .map(|m| (m.inputs.clone(), report.outcome(m.message_id)))
        .collect();
    match &outcomes[0] {
        (inputs, MessageOutcome::Rejected { errors }) => {
            assert_eq!(inputs, &[0]);
            assert_eq!(errors[0].code, "18028");
        }
        other => panic!("{other:?}"),
    }
    assert!(outcomes[1].1.is_accepted(), "{outcomes:?}");
    let shipped = order(&h, &seller, &target.amazon_order_id);
    assert_eq!(shipped.status, OrderState::Shipped);
    assert_eq!(shipped.shipments[0].carrier_code, "USPS");

    let sku = h.sandbox.listings(&seller.seller_id).expect("listings")[0]
        .sku
        .clone();
    let updates = [
        InventoryUpdate {
            sku: sku.clone(),
            quantity: 4,
            handling_time_days: None,
        },
        InventoryUpdate {
            sku: sku.clone(),
            quantity: 6,
            handling_time_days: Some(2),
        },
    ];
    let docs = inventory_feeds(&seller.seller_id, "en_US", &updates, &FeedLimits::default()).expect("builds");
    let body = String::from_utf8(docs[0].body.clone()).expect("UTF-8");
    let (_, text) = run_feed(
        &h,
        &token,
        docs[0].feed_type.as_str(),
        docs[0].content_type(),
        &body,
    )
    .await;
    let report = parse_listings_processing_report(text.as_bytes()).expect("sellersync reads the report");
    assert!(report.outcome(docs[0].messages[0].message_id).is_accepted());
    let listing = h
        .sandbox
        .listings(&seller.seller_id)
        .expect("listings")
        .into_iter()
        .find(|l| l.sku == sku)
        .expect("the SKU");
    assert_eq!(
        (listing.quantity, listing.lead_time_to_ship_max_days),
        (Some(6), Some(2))
    );

    // A partial shipment and a partial cancellation, as sellersync builds them, pass Amazon's XSDs.
    let split = h
        .sandbox
        .orders(&seller.seller_id)
        .expect("orders")
        .into_iter()
        .find(|o| {
            o.status == OrderState::Unshipped
                && o.amazon_order_id != target.amazon_order_id
                && o.items.len() >= 2
                && o.items[0].quantity >= 2
        })
        .expect("an order of two lines");
    let first_line = &split.items[0];
    let partial = ShipmentConfirmation {
        items: ShippedItems::Some(vec![shared::domain::ItemQuantity {
            order_item_id: first_line.order_item_id.clone(),
            quantity: 1,
        }]),
        ..confirmation(&split.amazon_order_id)
    };
    let docs =
        order_fulfillment_feeds(&seller.seller_id, &[partial], &FeedLimits::default()).expect("builds");
    let body = String::from_utf8(docs[0].body.clone()).expect("UTF-8");
    let (_, text) = run_feed(
        &h,
        &token,
        docs[0].feed_type.as_str(),
        docs[0].content_type(),
        &body,
    )
    .await;
    let report = parse_xml_processing_report(text.as_bytes()).expect("report");
    assert!(report.outcome(1).is_accepted(), "{text}");
    let cancellation = shared::domain::Cancellation {
        amazon_order_id: split.amazon_order_id.clone(),
        reason: shared::domain::CancelReason::NoInventory,
        items: vec![shared::domain::CancelledItem {
            order_item_id: split.items[1].order_item_id.clone(),
            quantity: Some(split.items[1].quantity),
        }],
    };
    let docs = shared::feeds::order_acknowledgement_feeds(
        &seller.seller_id,
        &[cancellation],
        &FeedLimits::default(),
    )
    .expect("builds");
    let body = String::from_utf8(docs[0].body.clone()).expect("UTF-8");
    let (_, text) = run_feed(
        &h,
        &token,
        docs[0].feed_type.as_str(),
        docs[0].content_type(),
        &body,
    )
    .await;
    let report = parse_xml_processing_report(text.as_bytes()).expect("report");
    assert!(report.outcome(1).is_accepted(), "{text}");
    let after = order(&h, &seller, &split.amazon_order_id);
    assert_eq!(
        after.status,
        OrderState::Unshipped,
        "units of the first line are left"
    );
    assert_eq!((after.shipments.len(), after.cancellations.len()), (1, 1));
}
