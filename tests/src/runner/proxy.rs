//! A loopback HTTP proxy between the SDK and the local stack: DynamoDB calls (by their `X-Amz-Target`) go to
//! DynamoDB Local, everything else to moto. On the way it counts every request by service and operation; given
//! a chaos plan, it answers DynamoDB calls as throttled when the plan says so; metering, it also reads what AWS
//! bills from the bodies (DynamoDB's consumed capacity, EventBridge's entries, SQS's empty receives), which
//! costs a JSON round trip per call that a wall-clock-paced chaos run cannot spare.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result};

use super::chaos::{SharedPlan, lock};

/// The requests the proxy passed on so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackRequests {
    /// Requests by `service Operation` (`dynamodb PutItem`, `sqs SendMessageBatch`, `s3 PUT`); a `ReceiveMessage`
    /// that returned nothing counts as `sqs ReceiveMessage (empty)`, and `events PutEvents entries` counts the
    /// events the `PutEvents` requests carried (what EventBridge bills).
    pub calls: BTreeMap<String, u64>,
    /// DynamoDB read capacity units consumed, as DynamoDB reported them (on demand: read request units).
    pub read_units: f64,
    /// DynamoDB write capacity units consumed (on demand: write request units).
    pub write_units: f64,
}

impl StackRequests {
    /// What passed through since `earlier` (a snapshot of the same proxy).
    pub fn since(&self, earlier: &StackRequests) -> StackRequests {
        StackRequests {
            calls: self
                .calls
                .iter()
                .map(|(name, n)| (name.clone(), n - earlier.calls.get(name).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            read_units: self.read_units - earlier.read_units,
            write_units: self.write_units - earlier.write_units,
        }
    }

    /// The requests to `service` other than `except`.
    pub fn of_service(&self, service: &str, except: &[&str]) -> u64 {
        self.calls
            .iter()
            .filter(|(name, _)| {
                let (of, operation) = name.split_once(' ').unwrap_or((name, ""));
                of == service && !except.contains(&operation)
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// The requests to `service` whose operation is one of `operations`.
    pub fn of(&self, service: &str, operations: &[&str]) -> u64 {
        operations
            .iter()
            .map(|op| self.calls.get(&format!("{service} {op}")).copied().unwrap_or(0))
            .sum()
    }
}

/// The proxy; stops when dropped.
#[derive(Debug)]
pub struct StackProxy {
    /// The proxy's endpoint, for the SDK.
    pub url: String,
    upstreams: Arc<Upstreams>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Upstreams {
    dynamodb: String,
    moto: String,
    client: reqwest::Client,
    plan: Option<SharedPlan>,
    meter: bool,
    requests: Mutex<StackRequests>,
}

/// DynamoDB operations that report the capacity they consume when asked (`ReturnConsumedCapacity`), and whether
/// they read (rather than write).
const METERED: [(&str, bool); 10] = [
    ("GetItem", true),
    ("BatchGetItem", true),
    ("Query", true),
    ("Scan", true),
    ("TransactGetItems", true),
    ("PutItem", false),
    ("UpdateItem", false),
    ("DeleteItem", false),
    ("BatchWriteItem", false),
    ("TransactWriteItems", false),
];

impl StackProxy {
    /// Starts the proxy on a free loopback port, in front of `dynamodb` and `moto` (base URLs), throttling
    /// DynamoDB calls as `plan` decides.
    pub async fn throttling(dynamodb: String, moto: String, plan: SharedPlan) -> Result<StackProxy> {
        Self::start(dynamodb, moto, Some(plan), false).await
    }

    /// Starts the proxy in front of `dynamodb` and `moto`, metering what AWS would bill.
    pub async fn metering(dynamodb: String, moto: String) -> Result<StackProxy> {
        Self::start(dynamodb, moto, None, true).await
    }

    async fn start(
        dynamodb: String,
        moto: String,
        plan: Option<SharedPlan>,
        meter: bool,
    ) -> Result<StackProxy> {
        let upstreams = Arc::new(Upstreams {
            dynamodb,
            moto,
            client: reqwest::Client::new(),
            plan,
            meter,
            requests: Mutex::new(StackRequests::default()),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the stack proxy")?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(upstreams.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "the stack proxy stopped");
            }
        });
        Ok(StackProxy { url, upstreams, task })
    }

    /// What passed through so far.
    pub fn requests(&self) -> StackRequests {
        self.upstreams
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for StackProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `service Operation` of a request: from its `X-Amz-Target` (JSON protocols: DynamoDB, SQS, EventBridge,
/// Secrets Manager), else the service its signature is scoped to and the HTTP method (REST: S3, Scheduler).
fn operation_of(headers: &axum::http::HeaderMap, method: &axum::http::Method) -> (String, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    if let Some((prefix, operation)) = header("x-amz-target").split_once('.') {
        let service = match prefix {
            p if p.starts_with("DynamoDB_") => "dynamodb",
            p if p.starts_with("DynamoDBStreams_") => "dynamodbstreams",
            "AmazonSQS" => "sqs",
            "AWSEvents" => "events",
            other => other,
        };
        return (service.to_ascii_lowercase(), operation.to_owned());
    }
    // `Credential=<key>/<date>/<region>/<service>/aws4_request`
    let service = header("authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unknown");
    (service.to_owned(), method.as_str().to_owned())
}

/// The capacity units a DynamoDB answer reports: one `ConsumedCapacity` or a list of them (batches,
/// transactions).
fn consumed_units(answer: &serde_json::Value) -> f64 {
    match &answer["ConsumedCapacity"] {
        serde_json::Value::Array(each) => each.iter().filter_map(|c| c["CapacityUnits"].as_f64()).sum(),
        one => one["CapacityUnits"].as_f64().unwrap_or(0.0),
    }
}

async fn forward(
    axum::extract::State(upstreams): axum::extract::State<Arc<Upstreams>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = request.into_parts();
    let (service, operation) = operation_of(&parts.headers, &parts.method);
    let is_dynamodb = service == "dynamodb";
    if is_dynamodb && upstreams.plan.as_ref().is_some_and(|plan| lock(plan).throttle()) {
        // DynamoDB's answer when a table's throughput is exceeded: 400 with this error type, which the SDK
        // classifies as throttling and retries with backoff (DynamoDB API Reference, "Common errors" and
        // "Error handling with DynamoDB": ProvisionedThroughputExceededException).
        return (
            axum::http::StatusCode::BAD_REQUEST,
            [("content-type", "application/x-amz-json-1.0")],
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}"#,
        )
            .into_response();
    }
    let mut body = match axum::body::to_bytes(body, 512 * 1024 * 1024).await {
        Ok(body) => body,
        Err(error) => return (axum::http::StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    };
    // Asks DynamoDB for the capacity the call consumes, unless the caller asked itself (then it reads it too).
    let metered = METERED
        .iter()
        .find(|(op, _)| upstreams.meter && *op == operation)
        .map(|(_, reads)| *reads);
    let mut injected = false;
    if is_dynamodb
        && metered.is_some()
        && let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_slice(&body)
        && !fields.contains_key("ReturnConsumedCapacity")
    {
        fields.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
        injected = true;
        body = serde_json::to_vec(&fields).unwrap_or_default().into();
    }
    let entries = (upstreams.meter && service == "events" && operation == "PutEvents")
        .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
        .flatten()
        .and_then(|request| request["Entries"].as_array().map(Vec::len));
    let base = if is_dynamodb {
        &upstreams.dynamodb
    } else {
        &upstreams.moto
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = upstreams
        .client
        .request(parts.method, format!("{}{path}", base.trim_end_matches('/')))
        .body(body);
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(error) => return (axum::http::StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let mut bytes = match answer.bytes().await {
        Ok(bytes) => bytes,
        Err(error) => return (axum::http::StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    {
        let mut requests = upstreams.requests.lock().unwrap_or_else(PoisonError::into_inner);
        let mut name = format!("{service} {operation}");
        if upstreams.meter
            && service == "sqs"
            && operation == "ReceiveMessage"
            && !bytes.windows(10).any(|w| w == b"\"Messages\"")
        {
            name.push_str(" (empty)");
        }
        *requests.calls.entry(name).or_default() += 1;
        if let Some(entries) = entries {
            *requests
                .calls
                .entry("events PutEvents entries".to_owned())
                .or_default() += entries as u64;
        }
        if let (Some(reads), true) = (metered, status.is_success())
            && let Ok(mut answer) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            let units = consumed_units(&answer);
            if reads {
                requests.read_units += units;
            } else {
                requests.write_units += units;
            }
            // The caller did not ask for it: it gets the answer it would have had.
            if injected && let Some(fields) = answer.as_object_mut() {
                fields.remove("ConsumedCapacity");
                bytes = serde_json::to_vec(&answer).unwrap_or_default().into();
            }
        }
    }
    let mut response = axum::response::Response::new(axum::body::Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != axum::http::header::TRANSFER_ENCODING
            && name != axum::http::header::CONTENT_LENGTH
            && name != axum::http::header::CONNECTION
        {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_named_by_their_target_or_their_signing_scope() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-amz-target", "DynamoDB_20120810.PutItem".parse().unwrap());
        assert_eq!(
            operation_of(&headers, &axum::http::Method::POST),
            ("dynamodb".into(), "PutItem".into())
        );
        headers.insert("x-amz-target", "AmazonSQS.SendMessageBatch".parse().unwrap());
        assert_eq!(
            operation_of(&headers, &axum::http::Method::POST),
            ("sqs".into(), "SendMessageBatch".into())
        );
        let mut rest = axum::http::HeaderMap::new();
        rest.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            operation_of(&rest, &axum::http::Method::PUT),
            ("s3".into(), "PUT".into())
        );
    }

    #[test]
    fn consumed_capacity_is_read_from_one_answer_or_a_list() {
        let one = serde_json::json!({"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.0}});
        let many = serde_json::json!({"ConsumedCapacity": [
            {"TableName": "t", "CapacityUnits": 2.0}, {"TableName": "u", "CapacityUnits": 0.5}]});
        assert_eq!(consumed_units(&one), 1.0);
        assert_eq!(consumed_units(&many), 2.5);
        assert_eq!(consumed_units(&serde_json::json!({})), 0.0);
    }
}
