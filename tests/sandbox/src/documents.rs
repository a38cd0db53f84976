//! Document hosting as S3 does it for SP-API: presigned URLs that expire, gzip signalled only by the API's
//! `compressionAlgorithm`, `Content-Type` with the charset, and S3's XML errors. Feed documents are uploaded
//! the same way: a presigned `PUT` URL whose signature covers the `Content-Type` given to `createFeedDocument`.

use std::collections::HashMap;
use std::io::Write;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;

/// A stored document, kept as it is served (gzip bytes when compressed).
#[derive(Debug, Clone)]
pub(crate) struct StoredDocument {
    pub(crate) seller: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) content_type: String,
    pub(crate) compressed: bool,
    /// Reading it through `getReportDocument` needs a Restricted Data Token.
    pub(crate) restricted: bool,
    pub(crate) stored_at: DateTime<Utc>,
}

/// Why S3 refuses a download, answered as S3's XML error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum S3Error {
    /// The URL lacks its signing parameters.
    MissingSignature,
    /// The signature does not match the URL (it was altered).
    SignatureMismatch,
    /// The URL is older than its `X-Amz-Expires`.
    Expired {
        expires: DateTime<Utc>,
        server_time: DateTime<Utc>,
        expires_secs: i64,
    },
    /// No such document.
    NoSuchKey,
    /// An injected `ServerError` fault: S3's 500.
    Internal,
    /// An injected `Throttle` fault (or `ServerError` 503): S3's 503 `SlowDown`.
    SlowDown,
}

impl S3Error {
    /// HTTP status and XML body, as S3 answers (`AccessDenied` "Request has expired" for an old URL).
    pub(crate) fn response(&self, request_id: &str) -> (u16, String) {
        let (status, code, message, extra) = match self {
            S3Error::MissingSignature => (
                403,
                "AccessDenied",
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
                String::new(),
            ),
            S3Error::SignatureMismatch => (
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key \
                 and signing method.",
                String::new(),
            ),
            S3Error::Expired {
                expires,
                server_time,
                expires_secs,
            } => (
                403,
                "AccessDenied",
                "Request has expired",
                format!(
                    "<X-Amz-Expires>{expires_secs}</X-Amz-Expires><Expires>{}</Expires><ServerTime>{}</ServerTime>",
                    expires.format("%Y-%m-%dT%H:%M:%SZ"),
                    server_time.format("%Y-%m-%dT%H:%M:%SZ")
                ),
            ),
            S3Error::NoSuchKey => (
                404,
                "NoSuchKey",
                "The specified key does not exist.",
                String::new(),
            ),
            S3Error::Internal => (
                500,
                "InternalError",
                "We encountered an internal error. Please try again.",
                String::new(),
            ),
            S3Error::SlowDown => (503, "SlowDown", "Please reduce your request rate.", String::new()),
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
             {extra}<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
        );
        (status, body)
    }
}

/// Every document, and the key URLs are signed with.
#[derive(Debug)]
pub(crate) struct Documents {
    docs: HashMap<String, StoredDocument>,
    signing_key: u64,
}

/// The query parameters of a download.
#[derive(Debug, Default)]
pub(crate) struct DownloadQuery {
    pub(crate) date: Option<String>,
    pub(crate) expires: Option<String>,
    pub(crate) signature: Option<String>,
    pub(crate) content_encoding: Option<String>,
}

impl DownloadQuery {
    /// Reads the presigned URL's parameters from the query pairs.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        DownloadQuery {
            date: get("X-Amz-Date"),
            expires: get("X-Amz-Expires"),
            signature: get("X-Amz-Signature"),
            content_encoding: get("response-content-encoding"),
        }
    }
}

impl Documents {
    /// An empty store signing with `signing_key`.
    pub(crate) fn new(signing_key: u64) -> Self {
        Documents {
            docs: HashMap::new(),
            signing_key,
        }
    }

    /// Stores a document, gzip-compressing it when `compress`.
    pub(crate) fn store(&mut self, id: &str, mut document: StoredDocument) -> &StoredDocument {
        if document.compressed {
            document.bytes = gzip(&document.bytes);
        }
        self.docs.entry(id.to_owned()).or_insert(document)
    }

    /// A stored document.
    pub(crate) fn get(&self, id: &str) -> Option<&StoredDocument> {
        self.docs.get(id)
    }

    /// A presigned-looking URL for the document, valid for `ttl` from `now`. With `gzip_encoding` the download
    /// carries `Content-Encoding: gzip` (the API's `enableContentEncodingUrlHeader`).
    pub(crate) fn presign(
        &self,
        base_url: &str,
        id: &str,
        now: DateTime<Utc>,
        ttl: TimeDelta,
        gzip_encoding: bool,
    ) -> String {
        let date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let expires = ttl.num_seconds().to_string();
        let encoding = if gzip_encoding { Some("gzip") } else { None };
        let signature = self.signature(id, &date, &expires, encoding);
        let mut url = format!(
            "{base_url}/_documents/{id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIASANDBOX%2F{}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host",
            now.format("%Y%m%d")
        );
        if let Some(encoding) = encoding {
            url.push_str(&format!("&response-content-encoding={encoding}"));
        }
        url.push_str(&format!("&X-Amz-Signature={signature}"));
        url
    }

    /// A presigned upload URL for a feed document; its signature covers `content_type`, so the `PUT` must carry
    /// exactly that `Content-Type` (S3 answers `SignatureDoesNotMatch` otherwise).
    pub(crate) fn presign_upload(
        &self,
        base_url: &str,
        id: &str,
        now: DateTime<Utc>,
        ttl: TimeDelta,
        content_type: &str,
    ) -> String {
        let date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let expires = ttl.num_seconds().to_string();
        let signature = self.upload_signature(id, &date, &expires, content_type);
        format!(
            "{base_url}/_documents/{id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIASANDBOX%2F{}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=content-type%3Bhost&X-Amz-Signature={signature}",
            now.format("%Y%m%d")
        )
    }

    /// Checks an upload's URL and `Content-Type` as S3 checks a presigned `PUT`.
    pub(crate) fn check_upload(
        &self,
        id: &str,
        query: &DownloadQuery,
        content_type: &str,
        now: DateTime<Utc>,
    ) -> Result<(), S3Error> {
        let (Some(date), Some(expires), Some(signature)) = (&query.date, &query.expires, &query.signature)
        else {
            return Err(S3Error::MissingSignature);
        };
        if &self.upload_signature(id, date, expires, content_type) != signature {
            return Err(S3Error::SignatureMismatch);
        }
        check_expiry(date, expires, now)
    }

    fn upload_signature(&self, id: &str, date: &str, expires: &str, content_type: &str) -> String {
        // S3 signs header values trimmed; the value itself is compared byte for byte.
        self.signature(id, date, expires, Some(&format!("PUT\n{}", content_type.trim())))
    }

    /// Checks a download's URL and returns the document, or S3's reason to refuse.
    pub(crate) fn download(
        &self,
        id: &str,
        query: &DownloadQuery,
        now: DateTime<Utc>,
    ) -> Result<&StoredDocument, S3Error> {
        let (Some(date), Some(expires), Some(signature)) = (&query.date, &query.expires, &query.signature)
        else {
            return Err(S3Error::MissingSignature);
        };
        let expected = self.signature(id, date, expires, query.content_encoding.as_deref());
        if &expected != signature {
            return Err(S3Error::SignatureMismatch);
        }
        check_expiry(date, expires, now)?;
        self.docs.get(id).ok_or(S3Error::NoSuchKey)
    }

    /// A keyed digest of what the URL grants; not cryptographic, only enough that an altered URL fails.
    fn signature(&self, id: &str, date: &str, expires: &str, encoding: Option<&str>) -> String {
        let message = format!("{id}\n{date}\n{expires}\n{}", encoding.unwrap_or(""));
        (0..4u64)
            .map(|round| {
                format!(
                    "{:016x}",
                    fnv1a(self.signing_key ^ round.wrapping_mul(0x100_0000_01B3), &message)
                )
            })
            .collect()
    }
}

/// `AccessDenied` "Request has expired" once `X-Amz-Expires` seconds have passed since `X-Amz-Date`.
fn check_expiry(date: &str, expires: &str, now: DateTime<Utc>) -> Result<(), S3Error> {
    let signed_at = NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| S3Error::SignatureMismatch)?
        .and_utc();
    let expires_secs: i64 = expires.parse().map_err(|_| S3Error::SignatureMismatch)?;
    let expires_at = signed_at + TimeDelta::seconds(expires_secs);
    if now > expires_at {
        return Err(S3Error::Expired {
            expires: expires_at,
            server_time: now,
            expires_secs,
        });
    }
    Ok(())
}

fn fnv1a(seed: u64, text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325 ^ seed, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Gzip with a fixed header, so the same text always gives the same bytes.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let written = encoder.write_all(bytes).and_then(|()| encoder.finish());
    written.unwrap_or_default()
}

/// The document cut short: mid-row for text (never just after a line end), mid-stream for gzip.
pub(crate) fn truncate(document: &StoredDocument) -> Vec<u8> {
    let bytes = &document.bytes;
    let mut cut = bytes.len() * 3 / 5;
    if !document.compressed {
        while cut > 1 && matches!(bytes[cut - 1], b'\n' | b'\r' | b'\t') {
            cut -= 1;
        }
    }
    bytes[..cut.min(bytes.len())].to_vec()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn document(text: &str, compressed: bool) -> StoredDocument {
        StoredDocument {
            seller: "A1".to_owned(),
            bytes: text.as_bytes().to_vec(),
            content_type: "text/plain; charset=UTF-8".to_owned(),
            compressed,
            restricted: false,
            stored_at: Utc::now(),
        }
    }

    fn query_of(url: &str) -> DownloadQuery {
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).expect("valid query");
        DownloadQuery::from_pairs(&pairs)
    }

    #[test]
    fn a_presigned_url_works_until_it_expires() {
        let mut docs = Documents::new(42);
        docs.store("doc1", document("a\tb\n", false));
        let now = Utc::now();
        let url = docs.presign("http://x", "doc1", now, TimeDelta::minutes(5), false);
        assert!(url.contains("X-Amz-Expires=300"), "{url}");
        let query = query_of(&url);
        assert!(
            docs.download("doc1", &query, now + TimeDelta::seconds(299))
                .is_ok()
        );
        let expired = docs
            .download("doc1", &query, now + TimeDelta::minutes(6))
            .expect_err("expired");
        assert!(matches!(
            expired,
            S3Error::Expired {
                expires_secs: 300,
                ..
            }
        ));
        let (status, body) = expired.response("REQ1");
        assert_eq!(status, 403);
        assert!(
            body.contains("<Code>AccessDenied</Code><Message>Request has expired</Message>"),
            "{body}"
        );
    }

    #[test]
    fn an_altered_url_does_not_match_its_signature() {
        let mut docs = Documents::new(42);
        docs.store("doc1", document("x", false));
        let now = Utc::now();
        let mut query = query_of(&docs.presign("http://x", "doc1", now, TimeDelta::minutes(5), false));
        query.expires = Some("3000".to_owned());
        assert_eq!(
            docs.download("doc1", &query, now).err(),
            Some(S3Error::SignatureMismatch)
        );
        assert_eq!(
            docs.download("doc1", &DownloadQuery::default(), now).err(),
            Some(S3Error::MissingSignature)
        );
    }

    #[test]
    fn an_upload_url_accepts_only_the_content_type_it_was_signed_for() {
        let docs = Documents::new(7);
        let now = Utc::now();
        let url = docs.presign_upload(
            "http://x",
            "feed1",
            now,
            TimeDelta::minutes(5),
            "text/xml; charset=UTF-8",
        );
        assert!(url.contains("X-Amz-SignedHeaders=content-type%3Bhost"), "{url}");
        let query = query_of(&url);
        assert_eq!(
            docs.check_upload("feed1", &query, "text/xml; charset=UTF-8", now),
            Ok(())
        );
        assert_eq!(
            docs.check_upload("feed1", &query, "text/xml; charset=utf-8", now),
            Err(S3Error::SignatureMismatch)
        );
        assert_eq!(
            docs.check_upload("feed2", &query, "text/xml; charset=UTF-8", now),
            Err(S3Error::SignatureMismatch)
        );
        assert!(matches!(
            docs.check_upload(
                "feed1",
                &query,
                "text/xml; charset=UTF-8",
                now + TimeDelta::minutes(6)
            ),
            Err(S3Error::Expired { .. })
        ));
        // A download URL is no upload URL.
        let download = query_of(&docs.presign("http://x", "feed1", now, TimeDelta::minutes(5), false));
        assert_eq!(
            docs.check_upload("feed1", &download, "text/xml; charset=UTF-8", now),
            Err(S3Error::SignatureMismatch)
        );
    }

    #[test]
    fn truncation_cuts_text_mid_row_and_gzip_mid_stream() {
        let text = "h1\th2\n".to_owned() + &"value\tother\n".repeat(200);
        let plain = document(&text, false);
        let cut = truncate(&plain);
        assert!(cut.len() < text.len());
        assert_ne!(cut.last(), Some(&b'\n'));

        let mut docs = Documents::new(1);
        let gz = docs.store("g", document(&text, true)).clone();
        let cut = truncate(&gz);
        let mut out = String::new();
        let result = flate2::read::GzDecoder::new(&cut[..]).read_to_string(&mut out);
        assert!(result.is_err(), "a cut gzip stream must not decode cleanly");
    }

    #[test]
    fn gzip_is_deterministic() {
        assert_eq!(gzip(b"same text"), gzip(b"same text"));
    }
}
