//! Report and feed documents on their presigned URLs: streamed downloads (never buffered whole), gzip undone
//! by `compressionAlgorithm`, the charset from the Content-Type, and feed uploads.

use std::fmt;
use std::io::{self, BufReader, Read};
use std::pin::Pin;

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use futures::{Stream, StreamExt, TryStreamExt};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncRead;
use tokio_util::io::{StreamReader, SyncIoBridge};
use tracing::Instrument;

use super::client::{AmazonClient, Then, clean_text, no_repair, transport_error};
use crate::error::AmazonError;

const DOWNLOAD: &str = "downloadDocument";
const UPLOAD: &str = "uploadFeedDocument";

/// The largest S3 error body read to classify a failed transfer.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// A presigned S3 URL: a credential until it expires, so `Debug` and `Display` show only its host and path.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PresignedUrl(String);

impl PresignedUrl {
    /// Wraps a URL Amazon returned.
    pub fn new(url: impl Into<String>) -> PresignedUrl {
        PresignedUrl(url.into())
    }

    /// The whole URL with its signature, for the HTTP request only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Scheme, host and path, without the query that holds the signature.
    pub fn redacted(&self) -> String {
        match reqwest::Url::parse(&self.0) {
            Ok(url) => {
                let host = url.host_str().unwrap_or("");
                match url.port() {
                    Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
                    None => format!("{}://{host}{}", url.scheme(), url.path()),
                }
            }
            Err(_) => "<unparseable URL>".to_owned(),
        }
    }
}

impl fmt::Debug for PresignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PresignedUrl({:?})", self.redacted())
    }
}

impl fmt::Display for PresignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// How a document is compressed (`compressionAlgorithm`); absent means stored as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompressionAlgorithm {
    /// gzip.
    #[serde(rename = "GZIP")]
    Gzip,
}

type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A document being downloaded: its headers, and its body as a stream of chunks not yet read.
pub struct Document {
    content_type: Option<String>,
    charset: Option<String>,
    content_length: Option<u64>,
    compression: Option<CompressionAlgorithm>,
    body: ByteStream,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl Document {
    /// The Content-Type the document was stored with, e.g. `text/plain; charset=Cp1252`.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The Content-Type's `charset` parameter as Amazon spells it (`Cp1252`, `UTF-8`, `Shift_JIS`, ...);
    /// decoding it is the parser's job.
    pub fn charset(&self) -> Option<&str> {
        self.charset.as_deref()
    }

    /// Bytes to transfer, if S3 said.
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The compression the document was requested with.
    pub fn compression(&self) -> Option<CompressionAlgorithm> {
        self.compression
    }

    /// The body as stored (still compressed), chunk by chunk.
    pub fn into_stream(self) -> impl Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static {
        self.body
    }

    /// The body as stored (still compressed), as an `AsyncRead`.
    pub fn into_async_read(self) -> impl AsyncRead + Send + Unpin + 'static {
        StreamReader::new(self.body)
    }

    /// The body's raw bytes with the compression undone, as a blocking `Read` for a parser. Call it on the
    /// runtime, then read it off the runtime (`tokio::task::spawn_blocking`): each read waits for the next
    /// chunk of the download.
    pub fn into_blocking_reader(self) -> Result<DocumentReader, AmazonError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            AmazonError::Misconfigured("a document reader must be made inside the Tokio runtime".to_owned())
        })?;
        let bridge = SyncIoBridge::new_with_handle(StreamReader::new(self.body), handle);
        Ok(DocumentReader {
            inner: Inner::Unstarted(Some((bridge, self.compression))),
            content_type: self.content_type,
            charset: self.charset,
        })
    }

    /// The whole decompressed body, for small documents such as feed processing reports; fails beyond
    /// `limit` bytes rather than holding an unexpectedly large document in memory.
    pub async fn into_decoded_bytes(self, limit: u64) -> Result<Vec<u8>, AmazonError> {
        let mut reader = self.into_blocking_reader()?;
        let read = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            (&mut reader)
                .take(limit.saturating_add(1))
                .read_to_end(&mut out)
                .map(|_| out)
        })
        .await
        .map_err(|err| AmazonError::Transport {
            operation: DOWNLOAD,
            reason: format!("reading task failed: {err}"),
            attempts: 1,
        })?;
        let bytes = read.map_err(read_error)?;
        if bytes.len() as u64 > limit {
            return Err(AmazonError::Decode {
                operation: DOWNLOAD,
                reason: format!("document is larger than {limit} bytes"),
            });
        }
        Ok(bytes)
    }
}

/// How an error while reading a document body reads as an [`AmazonError`]: corrupt compressed data is a
/// decode failure, anything else (a dropped or cut-off transfer) a transport failure worth a new download.
pub fn read_error(err: io::Error) -> AmazonError {
    match err.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => AmazonError::Decode {
            operation: DOWNLOAD,
            reason: format!("document body: {err}"),
        },
        _ => AmazonError::Transport {
            operation: DOWNLOAD,
            reason: format!("document body: {err}"),
            attempts: 1,
        },
    }
}

/// A downloaded document's raw bytes, decompressed, as a blocking `Read`, with the charset it is in.
pub struct DocumentReader {
    inner: Inner,
    content_type: Option<String>,
    charset: Option<String>,
}

type Bridge = SyncIoBridge<StreamReader<ByteStream, Bytes>>;

enum Inner {
    /// The gzip decoder reads the header as soon as it is made, which must not happen on the runtime: it is
    /// made by the first read, off the runtime.
    Unstarted(Option<(Bridge, Option<CompressionAlgorithm>)>),
    Reading(Box<dyn Read + Send>),
}

impl DocumentReader {
    /// The Content-Type the document was stored with (what `parse::Charset::from_content_type` reads).
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The Content-Type's `charset` parameter, if any.
    pub fn charset(&self) -> Option<&str> {
        self.charset.as_deref()
    }
}

impl Read for DocumentReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Inner::Unstarted(parts) = &mut self.inner {
            let reader: Box<dyn Read + Send> = match parts.take() {
                // Multi-member: a gzip file may be several gzip streams one after another.
                Some((bridge, Some(CompressionAlgorithm::Gzip))) => {
                    Box::new(MultiGzDecoder::new(BufReader::new(bridge)))
                }
                Some((bridge, None)) => Box::new(bridge),
                None => return Err(io::Error::other("document reader failed to start")),
            };
            self.inner = Inner::Reading(reader);
        }
        match &mut self.inner {
            Inner::Reading(reader) => reader.read(buf),
            Inner::Unstarted(_) => Err(io::Error::other("document reader failed to start")),
        }
    }
}

impl fmt::Debug for DocumentReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentReader")
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// The `charset` parameter of a Content-Type, unquoted, as written.
pub fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
            .filter(|value| !value.is_empty())
    })
}

impl AmazonClient {
    /// Starts downloading a document from its presigned URL (from `getReportDocument`/`getFeedDocument`),
    /// retrying server errors and transport failures before the body starts. The body is not read yet.
    /// An expired URL gives [`AmazonError::DocumentExpired`]: ask for the document again.
    pub async fn download_document(
        &self,
        url: &PresignedUrl,
        compression: Option<CompressionAlgorithm>,
    ) -> Result<Document, AmazonError> {
        let span = tracing::info_span!("document", operation = DOWNLOAD, url = %url);
        self.retrying(
            DOWNLOAD,
            |attempt| self.download_attempt(url, compression, attempt),
            transfer_then,
            no_repair,
        )
        .instrument(span)
        .await
    }

    async fn download_attempt(
        &self,
        url: &PresignedUrl,
        compression: Option<CompressionAlgorithm>,
        attempt: u32,
    ) -> Result<Document, AmazonError> {
        // No x-amz-* headers: S3 would count them against the signature.
        let response = self
            .inner()
            .http
            .get(url.expose())
            .send()
            .await
            .map_err(|err| transport_error(DOWNLOAD, err, attempt))?;
        let status = response.status();
        if !status.is_success() {
            return Err(transfer_error(DOWNLOAD, status, response, attempt).await);
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let content_length = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        tracing::debug!(
            content_type,
            content_length,
            ?compression,
            "document download started"
        );
        let body: ByteStream = Box::pin(
            response
                .bytes_stream()
                .map_err(|err| io::Error::other(err.without_url())),
        );
        Ok(Document {
            charset: content_type.as_deref().and_then(charset_of).map(str::to_owned),
            content_type,
            content_length,
            compression,
            body,
        })
    }

    /// Uploads a feed document to the URL `createFeedDocument` returned, with the same Content-Type it was
    /// created with (S3 rejects another). Retried on server errors and transport failures.
    pub async fn upload_feed_document(
        &self,
        url: &PresignedUrl,
        content_type: &str,
        body: Bytes,
    ) -> Result<(), AmazonError> {
        let span = tracing::info_span!("document", operation = UPLOAD, url = %url, bytes = body.len());
        self.retrying(
            UPLOAD,
            |attempt| self.upload_attempt(url, content_type, body.clone(), attempt),
            transfer_then,
            no_repair,
        )
        .instrument(span)
        .await
    }

    async fn upload_attempt(
        &self,
        url: &PresignedUrl,
        content_type: &str,
        body: Bytes,
        attempt: u32,
    ) -> Result<(), AmazonError> {
        let response = self
            .inner()
            .http
            .put(url.expose())
            .timeout(self.inner().retry.attempt_timeout)
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .map_err(|err| transport_error(UPLOAD, err, attempt))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(transfer_error(UPLOAD, status, response, attempt).await)
    }
}

fn transfer_then(error: &AmazonError) -> Then {
    // The same URL stays expired: only a new getReportDocument helps, which is the caller's move.
    if error.is_retryable() && *error != AmazonError::DocumentExpired {
        Then::BackOff
    } else {
        Then::Stop
    }
}

/// Classifies S3's answer to a transfer: `<Error><Code>..</Code><Message>..</Message></Error>`.
async fn transfer_error(
    operation: &'static str,
    status: StatusCode,
    response: reqwest::Response,
    attempts: u32,
) -> AmazonError {
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return AmazonError::AmazonUnavailable {
            operation,
            status: status.as_u16(),
            attempts,
        };
    }
    let body = read_prefix(response, MAX_ERROR_BODY).await;
    let text = String::from_utf8_lossy(&body);
    let code = xml_element(&text, "Code").unwrap_or_default();
    let message = xml_element(&text, "Message").unwrap_or_default();
    if status == StatusCode::FORBIDDEN && message.contains("expired") {
        return AmazonError::DocumentExpired;
    }
    let code = if code.is_empty() {
        status.as_u16().to_string()
    } else {
        clean_text(code)
    };
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("").to_owned()
    } else {
        clean_text(message)
    };
    if status == StatusCode::NOT_FOUND {
        AmazonError::NotFound {
            operation,
            code,
            message,
        }
    } else {
        AmazonError::BadRequest {
            operation,
            status: status.as_u16(),
            code,
            message,
        }
    }
}

async fn read_prefix(response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() >= limit {
            body.truncate(limit);
            break;
        }
    }
    body
}

/// The text of the first `<name>` element; S3 error bodies are flat and escape nothing sellersync reads.
fn xml_element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_charset_parameter_is_read_from_the_content_type() {
        assert_eq!(charset_of("text/plain; charset=Cp1252"), Some("Cp1252"));
        assert_eq!(charset_of("text/plain;charset=\"UTF-8\""), Some("UTF-8"));
        assert_eq!(
            charset_of("text/tab-separated-values; Charset=Shift_JIS; x=y"),
            Some("Shift_JIS")
        );
        assert_eq!(charset_of("application/json"), None);
        assert_eq!(charset_of("text/plain; charset="), None);
    }

    #[test]
    fn a_presigned_url_shows_neither_query_nor_signature() {
        let url = PresignedUrl::new(
            "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/doc/123?X-Amz-Algorithm=AWS4&X-Amz-Signature=deadbeef",
        );
        let shown = format!("{url:?} {url}");
        assert!(!shown.contains("deadbeef") && !shown.contains("X-Amz"), "{shown}");
        assert!(
            shown.contains("https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/doc/123"),
            "{shown}"
        );
        assert_eq!(
            PresignedUrl::new("http://127.0.0.1:9000/d?s=1").redacted(),
            "http://127.0.0.1:9000/d"
        );
        assert_eq!(
            PresignedUrl::new("not a url?sig=1").redacted(),
            "<unparseable URL>"
        );
    }

    #[test]
    fn s3_error_elements_are_found() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Request has expired</Message><X-Amz-Expires>300</X-Amz-Expires></Error>"#;
        assert_eq!(xml_element(xml, "Code"), Some("AccessDenied"));
        assert_eq!(xml_element(xml, "Message"), Some("Request has expired"));
        assert_eq!(xml_element(xml, "RequestId"), None);
    }

    #[test]
    fn body_read_errors_split_into_corrupt_data_and_cut_transfers() {
        assert!(matches!(
            read_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "corrupt deflate stream"
            )),
            AmazonError::Decode { .. }
        ));
        assert!(read_error(io::Error::new(io::ErrorKind::UnexpectedEof, "cut")).is_retryable());
    }
}
