//! Reading requests: JSON bodies whose errors name the field, query parameters checked one by one, opaque
//! page tokens, and path ids.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::strict::Strict;

/// Default page size of listings.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// Longest id accepted in a path; longer ones cannot exist.
const MAX_ID: usize = 128;

/// The URL this API is reached at from outside, as API Gateway names its domain (the API function puts it in
/// the request's extensions); connect links and their callback are built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(pub String);

/// The API's public base URL: [`PublicUrl`] when API Gateway gave one, else `http://` and the `Host` header
/// (the local runner and tests serve plain HTTP on loopback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicBase(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for PublicBase {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(PublicUrl(url)) = parts.extensions.get::<PublicUrl>() {
            return Ok(PublicBase(url.trim_end_matches('/').to_owned()));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
            })
            .ok_or_else(|| ApiError::invalid("Host", "expected the API's host name"))?;
        Ok(PublicBase(format!("http://{host}")))
    }
}

/// A JSON body of type `T`. Malformed JSON, a wrong type, a missing or unknown field all answer 400 naming
/// the field (`options.importFba`, `marketplaceIds[1]`); any other media type answers 415.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = media_type(request.headers()).is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON, sent with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), "invalid_body", rejection.body_text()))?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The request's media type: its `Content-Type` without parameters, in lower case.
pub(crate) fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}

/// Reads `bytes` as a `T`, naming the field at fault. A struct must be a JSON object ([`Strict`]).
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(Strict(&mut deserializer)).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        let field = if inner.is_syntax() || inner.is_eof() {
            "body".to_owned()
        } else {
            field_of(&path, &message)
        };
        ApiError::invalid(field, without_position(&message))
    })?;
    deserializer
        .end()
        .map_err(|err| ApiError::invalid("body", without_position(&err.to_string())))?;
    Ok(value)
}

/// The field an error is about: its path, plus the field serde names for a missing or unknown field (the
/// path stops at the object holding it).
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.split_once(prefix))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name);
    let path = if path == "." { "" } else { path };
    match named {
        Some(name) if path.is_empty() => name.to_owned(),
        Some(name) if !path.ends_with(name) => format!("{path}.{name}"),
        _ if path.is_empty() => "body".to_owned(),
        _ => path.to_owned(),
    }
}

/// serde_json's message without its " at line 1 column 20".
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters by name; a name given twice answers 400.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryParams(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map_err(|_| ApiError::invalid("query", "the query string is not URL-encoded"))?;
        let mut params = HashMap::new();
        for (name, value) in pairs {
            if params.insert(name.clone(), value).is_some() {
                return Err(ApiError::invalid(name, "given more than once"));
            }
        }
        Ok(QueryParams(params))
    }
}

impl QueryParams {
    /// Refuses parameters other than `known`.
    pub(crate) fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|name| !known.contains(&name.as_str())) {
            Some(name) => Err(ApiError::invalid(
                name.clone(),
                format!("unknown query parameter; expected {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// A parameter's text, if given.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `limit`: 1 to `max`, [`DEFAULT_LIMIT`] when left out.
    pub(crate) fn limit(&self, max: u32) -> Result<u32, ApiError> {
        match self.text("limit") {
            None => Ok(DEFAULT_LIMIT.min(max)),
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid("limit", format!("expected a whole number from 1 to {max}"))
                }),
        }
    }

    /// `nextToken`, decoded.
    pub(crate) fn next_token(&self) -> Result<Option<String>, ApiError> {
        self.text("nextToken").map(decode_token).transpose()
    }

    /// A boolean parameter: `true` or `false`, `false` when left out.
    pub(crate) fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.text(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(ApiError::invalid(name, "expected true or false")),
        }
    }

    /// An RFC 3339 timestamp parameter.
    pub(crate) fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.text(name)
            .map(|text| {
                DateTime::parse_from_rfc3339(text)
                    .map(|t| t.to_utc())
                    .map_err(|_| {
                        ApiError::invalid(name, "expected an RFC 3339 timestamp, e.g. 2026-11-01T00:00:00Z")
                    })
            })
            .transpose()
    }
}

/// A store's cursor as an opaque, URL-safe page token (hex).
pub(crate) fn encode_token(cursor: &str) -> String {
    cursor.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The cursor inside a page token.
pub(crate) fn decode_token(token: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::invalid("nextToken", "not a token this API returned");
    if token.is_empty() || !token.len().is_multiple_of(2) || token.len() > 2048 {
        return Err(invalid());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2).unwrap_or("x"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| invalid())?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

/// An id from the path: one that cannot exist (too long, odd characters) is simply not found, without asking
/// the store (whose keys have limits of their own).
pub(crate) fn check_id(what: &str, id: &str) -> Result<(), ApiError> {
    let plausible = !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plausible {
        Ok(())
    } else {
        Err(ApiError::not_found(&format!("{what} {id:.64}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        seller_id: String,
        options: Option<Inner>,
        ids: Option<Vec<u32>>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        import_fba: bool,
    }

    fn field(body: &str) -> String {
        parse_json::<Outer>(body.as_bytes()).unwrap_err().field.unwrap()
    }

    #[test]
    fn errors_name_the_field_at_any_depth() {
        assert_eq!(field(r#"{}"#), "sellerId");
        assert_eq!(field(r#"{"sellerId": 5}"#), "sellerId");
        assert_eq!(
            field(r#"{"sellerId": "A", "options": {"importFba": "yes"}}"#),
            "options.importFba"
        );
        assert_eq!(field(r#"{"sellerId": "A", "options": {}}"#), "options.importFba");
        assert_eq!(field(r#"{"sellerId": "A", "ids": [1, "x"]}"#), "ids[1]");
        assert_eq!(field(r#"{"sellerId": "A", "extra": 1}"#), "extra");
        assert_eq!(field(r#"{"sellerId": "A""#), "body");
        assert_eq!(field(r#"{"sellerId": "A"} trailing"#), "body");
        assert_eq!(field(r#"["A"]"#), "body");
        assert_eq!(field(r#"{"sellerId": "A", "options": [true]}"#), "options");
    }

    #[test]
    fn page_tokens_round_trip_and_reject_anything_else() {
        let cursor = "2026-11-02T10:00:00.000Z#114-1234567-1234567";
        assert_eq!(decode_token(&encode_token(cursor)).unwrap(), cursor);
        for bad in ["", "abc", "zz", "ff"] {
            assert_eq!(
                decode_token(bad).unwrap_err().field.as_deref(),
                Some("nextToken"),
                "{bad}"
            );
        }
    }
}
