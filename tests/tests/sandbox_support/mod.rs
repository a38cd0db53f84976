//! Helpers shared by the sandbox tests: a sandbox on a manual clock, and a plain HTTP client that talks to it
//! the way any SP-API client would (no sellersync code involved).

#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::clock::ManualClock;
use tests::sandbox::{CLIENT_ID, CLIENT_SECRET, Sandbox, SandboxOptions, SellerCredentials, SellerSpec};

/// A Monday noon, far from daylight-saving switches.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 10, 12, 0, 0)
        .single()
        .expect("valid date")
}

pub const US: &str = "ATVPDKIKX0DER";
pub const CA: &str = "A2EUQ1WTGCTBG2";
pub const DE: &str = "A1PA6795UKMFR9";
pub const FR: &str = "A13V1IB3VIYZZH";
pub const IT: &str = "APJ6JRA9NG5V4";
pub const JP: &str = "A1VC38T7YXB528";
pub const PL: &str = "A1C3SOZRARQ6R3";

/// An answer: status, headers and body (JSON when it parses, else a string).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub struct Harness {
    pub sandbox: Sandbox,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
}

pub async fn harness() -> Harness {
    harness_with(|_| {}).await
}

pub async fn harness_with(configure: impl FnOnce(&mut SandboxOptions)) -> Harness {
    let clock = Arc::new(ManualClock::new(epoch()));
    let mut options = SandboxOptions::with_clock(clock.clone());
    configure(&mut options);
    let sandbox = Sandbox::start(options).await.expect("sandbox starts");
    Harness {
        sandbox,
        clock,
        http: reqwest::Client::new(),
    }
}

/// A seller spec over the three days before the epoch.
pub fn spec(seed: u64, marketplaces: &[&str], orders: usize) -> SellerSpec {
    SellerSpec::new(seed, epoch() - TimeDelta::days(3), epoch())
        .in_marketplaces(marketplaces)
        .with_orders(orders)
}

impl Harness {
    pub fn advance(&self, by: TimeDelta) {
        self.clock.advance(by.to_std().expect("forward"));
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.sandbox.now()
    }

    pub fn add_seller(&self, spec: SellerSpec) -> SellerCredentials {
        self.sandbox.add_seller(spec).expect("valid spec")
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body").to_vec();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            headers,
            body,
            bytes,
        }
    }

    /// `POST /auth/o2/token` with a form body.
    pub async fn lwa(&self, form: &[(&str, &str)]) -> Answer {
        let body = serde_urlencoded::to_string(form).expect("form");
        let response = self
            .http
            .post(self.sandbox.lwa_url())
            .header("content-type", "application/x-www-form-urlencoded;charset=UTF-8")
            .body(body)
            .send()
            .await
            .expect("LWA answers");
        Self::answer(response).await
    }

    /// The refresh-token grant with the sandbox's client credentials.
    pub async fn exchange(&self, refresh_token: &str) -> Answer {
        self.lwa(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .await
    }

    /// Exchanges the seller's refresh token for an access token.
    pub async fn token(&self, seller: &SellerCredentials) -> String {
        let answer = self.exchange(&seller.refresh_token).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.body["access_token"]
            .as_str()
            .expect("access token")
            .to_owned()
    }

    /// An SP-API call with `x-amz-access-token`.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.sandbox.base_url()));
        if let Some(token) = token {
            request = request.header("x-amz-access-token", token);
        }
        request = request.header("x-amz-date", "20250310T120000Z");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        Self::answer(request.send().await.expect("sandbox answers")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// `createReport`; returns the answer.
    pub async fn create_report_raw(&self, token: &str, body: Value) -> Answer {
        self.call(
            Method::POST,
            "/reports/2021-06-30/reports",
            Some(token),
            Some(body),
        )
        .await
    }

    /// `createReport` that must succeed; returns the report id.
    pub async fn create_report(
        &self,
        token: &str,
        report_type: &str,
        marketplaces: &[&str],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> String {
        let answer = self
            .create_report_raw(
                token,
                json!({
                    "reportType": report_type,
                    "marketplaceIds": marketplaces,
                    "dataStartTime": start.to_rfc3339(),
                    "dataEndTime": end.to_rfc3339(),
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{:?}", answer.body);
        answer.body["reportId"].as_str().expect("reportId").to_owned()
    }

    /// Lets the report's processing time pass and returns `getReport`.
    pub async fn finished_report(&self, token: &str, report_id: &str) -> Value {
        self.advance(TimeDelta::seconds(46));
        let answer = self
            .get(&format!("/reports/2021-06-30/reports/{report_id}"), token)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.body
    }

    /// `getReportDocument`, with an RDT when given one as the token.
    pub async fn report_document(&self, token: &str, document_id: &str) -> Answer {
        self.get(&format!("/reports/2021-06-30/documents/{document_id}"), token)
            .await
    }

    /// GET of a presigned URL.
    pub async fn download(&self, url: &str) -> Answer {
        Self::answer(self.http.get(url).send().await.expect("document host answers")).await
    }

    /// A report through to its decoded text: create, wait, get the document (with an RDT if restricted),
    /// download, gunzip, decode with the declared charset. `None` when the report did not end DONE.
    pub async fn report_text(
        &self,
        token: &str,
        report_type: &str,
        marketplaces: &[&str],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Option<Document> {
        let report_id = self
            .create_report(token, report_type, marketplaces, start, end)
            .await;
        let report = self.finished_report(token, &report_id).await;
        if report["processingStatus"] != "DONE" {
            return None;
        }
        let document_id = report["reportDocumentId"]
            .as_str()
            .expect("document id")
            .to_owned();
        let restricted = report_type == tests::sandbox::ACTIONABLE_ORDERS;
        let token = if restricted {
            self.rdt_for_document(token, &document_id).await
        } else {
            token.to_owned()
        };
        let meta = self.report_document(&token, &document_id).await;
        assert_eq!(meta.status, StatusCode::OK, "{:?}", meta.body);
        let url = meta.body["url"].as_str().expect("url").to_owned();
        let download = self.download(&url).await;
        assert_eq!(download.status, StatusCode::OK);
        let compressed = meta.body.get("compressionAlgorithm").is_some();
        let content_type = download.header("content-type").expect("content type").to_owned();
        Some(Document {
            text: decode(&download.bytes, compressed, &content_type),
            compressed,
            content_type,
            raw: download.bytes,
        })
    }

    /// An RDT for one report document.
    pub async fn rdt_for_document(&self, token: &str, document_id: &str) -> String {
        let answer = self
            .call(
                Method::POST,
                "/tokens/2021-03-01/restrictedDataToken",
                Some(token),
                Some(json!({"restrictedResources": [
                    {"method": "GET", "path": format!("/reports/2021-06-30/documents/{document_id}")}
                ]})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        answer.body["restrictedDataToken"]
            .as_str()
            .expect("rdt")
            .to_owned()
    }
}

/// A downloaded report document.
#[derive(Debug)]
pub struct Document {
    pub text: String,
    pub compressed: bool,
    pub content_type: String,
    pub raw: Vec<u8>,
}

/// Gunzips when the API said GZIP, then decodes with the charset the Content-Type declares.
pub fn decode(bytes: &[u8], compressed: bool, content_type: &str) -> String {
    let plain = if compressed {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    } else {
        bytes.to_vec()
    };
    let charset = content_type
        .split(';')
        .find_map(|part| part.trim().strip_prefix("charset="))
        .unwrap_or("UTF-8");
    let encoding = match charset.to_ascii_lowercase().as_str() {
        "cp1252" | "iso-8859-1" => encoding_rs::WINDOWS_1252,
        "cp932" | "shift_jis" | "windows-31j" => encoding_rs::SHIFT_JIS,
        _ => encoding_rs::UTF_8,
    };
    let (text, _, had_errors) = encoding.decode(&plain);
    assert!(!had_errors, "document does not decode as {charset}");
    text.into_owned()
}

/// Reads a flat file with a plain TSV reader (ragged rows allowed, a cell quoted when it spans lines, as
/// Amazon writes them): header names and rows as maps, a missing trailing cell as empty.
pub fn read_tsv(text: &str) -> (Vec<String>, Vec<std::collections::HashMap<String, String>>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .quoting(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .expect("header row")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|record| {
            let record = record.expect("a well-formed row");
            headers
                .iter()
                .cloned()
                .zip(
                    record
                        .iter()
                        .map(str::to_owned)
                        .chain(std::iter::repeat(String::new())),
                )
                .collect()
        })
        .collect();
    (headers, rows)
}

/// Advances real time a little, for tests that must let a spawned process start.
pub async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
