//! Typed errors shared across the library; each module with a boundary of its own adds its enum here.

use thiserror::Error;

use crate::domain::health::ProblemKind;

/// A value that does not fit the domain, naming the field it came from so the API can answer 400 with it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {reason} (got {value:?})")]
pub struct DomainError {
    /// The field, column or variable that held the value (`marketplaceIds[1]`, `item-price`, ...).
    pub field: String,
    /// The offending value, cut to a readable length.
    pub value: String,
    /// What is wrong with it, as a phrase.
    pub reason: String,
}

impl DomainError {
    /// A value of `field` that is not acceptable for `reason`.
    pub fn invalid(field: impl Into<String>, value: &str, reason: impl Into<String>) -> Self {
        const MAX: usize = 80;
        let value = match value.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}...", &value[..cut]),
            None => value.to_owned(),
        };
        DomainError {
            field: field.into(),
            value,
            reason: reason.into(),
        }
    }
}

/// Configuration that cannot start a function; names the environment variable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A required variable is not set.
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    /// A variable is set to something unusable.
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid {
        /// The variable's name.
        name: &'static str,
        /// Why its value cannot be used.
        reason: String,
    },
}

/// A failure of the storage behind a port (DynamoDB); never carries item contents, which may hold buyer PII.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The store could not be reached or refused the request; worth retrying.
    #[error("{operation} failed: {message}")]
    Unavailable {
        /// The store operation, e.g. `PutItem`.
        operation: &'static str,
        /// What the store said.
        message: String,
    },
    /// The store refused the request itself (an item over DynamoDB's 400 KB limit, a value it does not take):
    /// repeating it fails the same way, so it is the caller's to report (a 4xx answer, a quarantined record).
    #[error("{operation} refused: {message}")]
    Rejected {
        /// The store operation, e.g. `PutItem`.
        operation: &'static str,
        /// What the store said.
        message: String,
    },
    /// An item exists but cannot be read as the type it should hold.
    #[error("stored item {key} cannot be read: {reason}")]
    Corrupt {
        /// The item's key.
        key: String,
        /// Why it cannot be read.
        reason: String,
    },
}

impl StoreError {
    /// Worth trying again later (a redelivery, a next tick), as opposed to a fault that repeats.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }

    /// The store refused what it was given ([`StoreError::Rejected`]).
    pub fn is_rejected(&self) -> bool {
        matches!(self, StoreError::Rejected { .. })
    }
}

/// A failed exchange with Amazon: the Selling Partner API, Login with Amazon, or a document's presigned URL.
///
/// Messages never hold tokens, secrets or presigned URLs. [`AmazonError::problem`] classifies it for the
/// account's health; [`AmazonError::is_retryable`] is the one retry policy, used inside the client's retry
/// loop as well as by callers deciding on a redelivery.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmazonError {
    /// SP-API answered 403 (or 401): the seller's authorization of the app is missing or expired.
    #[error(
        "Amazon denied access to {operation} ({code}: {message}): the seller's authorization of the app is \
         missing or expired"
    )]
    AccessDenied {
        /// The operation, e.g. `createReport`.
        operation: &'static str,
        /// Amazon's error code, e.g. `Unauthorized`.
        code: String,
        /// Amazon's message and details.
        message: String,
    },
    /// Login with Amazon answered `invalid_grant`: the refresh token was revoked or has expired.
    #[error("Login with Amazon rejected the refresh token ({description}): it was revoked or has expired")]
    RefreshTokenRevoked {
        /// LWA's `error_description`.
        description: String,
    },
    /// Login with Amazon rejected the application's client id or secret (`invalid_client`, `unauthorized_client`).
    #[error("Login with Amazon rejected the application's LWA credentials ({code}: {description})")]
    InvalidClient {
        /// LWA's `error`.
        code: String,
        /// LWA's `error_description`.
        description: String,
    },
    /// Any other Login with Amazon error.
    #[error("Login with Amazon answered {status} {code}: {description}")]
    Lwa {
        /// HTTP status.
        status: u16,
        /// LWA's `error`, e.g. `invalid_request`, `server_error`.
        code: String,
        /// LWA's `error_description`.
        description: String,
    },
    /// Amazon answered 429 to every attempt.
    #[error("Amazon throttled {operation} (429) on all {attempts} attempts")]
    Throttled {
        /// The operation.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
    },
    /// Amazon rejected the request (400, or another 4xx without a class of its own); not worth repeating.
    #[error("Amazon rejected {operation} with {status} ({code}: {message})")]
    BadRequest {
        /// The operation.
        operation: &'static str,
        /// HTTP status, usually 400.
        status: u16,
        /// Amazon's error code, e.g. `InvalidInput`.
        code: String,
        /// Amazon's message and details, with anything token-like removed.
        message: String,
    },
    /// Amazon does not know the resource (404).
    #[error("Amazon does not know the resource of {operation} ({code}: {message})")]
    NotFound {
        /// The operation.
        operation: &'static str,
        /// Amazon's error code.
        code: String,
        /// Amazon's message.
        message: String,
    },
    /// Amazon answered with a server error to every attempt.
    #[error("Amazon answered {operation} with {status} on all {attempts} attempts")]
    AmazonUnavailable {
        /// The operation.
        operation: &'static str,
        /// The last HTTP status.
        status: u16,
        /// How many attempts were made.
        attempts: u32,
    },
    /// Amazon could not be reached: timeouts, refused or dropped connections.
    #[error("{operation} could not reach Amazon on all {attempts} attempts: {reason}")]
    Transport {
        /// The operation.
        operation: &'static str,
        /// What went wrong, without the URL.
        reason: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// LWA refused an authorization code (`invalid_grant`): unknown, used already, older than its five minutes,
    /// or sent with another redirect URI than it was issued for. The seller must authorize again.
    #[error("Login with Amazon refused the authorization code: {description}")]
    AuthorizationCodeRefused {
        /// LWA's description.
        description: String,
    },
    /// A document's presigned URL has expired (S3 403 "Request has expired"): ask for the document again.
    #[error("the document's URL has expired; its document must be requested again")]
    DocumentExpired,
    /// Amazon's answer could not be read.
    #[error("unexpected answer to {operation}: {reason}")]
    Decode {
        /// The operation.
        operation: &'static str,
        /// What was wrong with it, without its values.
        reason: String,
    },
    /// The account's bucket for the operation holds no token within the wait the client allows (none for the
    /// API's, which answers a person within API Gateway's 30 s; a few seconds for a notification's `getOrder`):
    /// a token is there after `retry_after`.
    #[error(
        "{operation} was not called: the account's {operation} quota is in use, a token is there in {} s",
        retry_after.as_secs_f64().ceil()
    )]
    QuotaInUse {
        /// The operation.
        operation: &'static str,
        /// How long until the bucket holds a token.
        retry_after: std::time::Duration,
    },
    /// The shared rate limiter could not be read or updated.
    #[error("rate limiter failed: {0}")]
    RateLimiter(#[source] StoreError),
    /// The client is set up wrong (an unparseable base URL, a token that is not a header value).
    #[error("SP-API client misconfigured: {0}")]
    Misconfigured(String),
}

impl AsRef<AmazonError> for AmazonError {
    fn as_ref(&self) -> &AmazonError {
        self
    }
}

impl AmazonError {
    /// Worth trying again: inside the client's retry loop, or later by redelivering the work. A
    /// [`AmazonError::DocumentExpired`] is retryable only by requesting the document again.
    pub fn is_retryable(&self) -> bool {
        match self {
            AmazonError::Throttled { .. }
            | AmazonError::AmazonUnavailable { .. }
            | AmazonError::Transport { .. }
            | AmazonError::DocumentExpired => true,
            AmazonError::Lwa { status, code, .. } => {
                *status >= 500 || matches!(code.as_str(), "server_error" | "temporarily_unavailable")
            }
            AmazonError::RateLimiter(err) => err.is_retryable(),
            // Waiting is what the caller declined; it says when to come back instead.
            AmazonError::QuotaInUse { .. }
            | AmazonError::AccessDenied { .. }
            | AmazonError::RefreshTokenRevoked { .. }
            | AmazonError::AuthorizationCodeRefused { .. }
            | AmazonError::InvalidClient { .. }
            | AmazonError::BadRequest { .. }
            | AmazonError::NotFound { .. }
            | AmazonError::Decode { .. }
            | AmazonError::Misconfigured(_) => false,
        }
    }

    /// The cause it shows in the account's health, if it says something about the account's connection.
    pub fn problem(&self) -> Option<ProblemKind> {
        match self {
            // Amazon answers an ineligible account with the same 403 `Unauthorized`, saying so in its details.
            AmazonError::AccessDenied { message, .. } if message.contains("not eligible") => {
                Some(ProblemKind::Ineligible)
            }
            AmazonError::AccessDenied { .. } => Some(ProblemKind::AccessDenied),
            AmazonError::RefreshTokenRevoked { .. } => Some(ProblemKind::RefreshTokenRevoked),
            AmazonError::InvalidClient { .. } => Some(ProblemKind::InvalidCredentials),
            AmazonError::Throttled { .. } => Some(ProblemKind::Throttled),
            AmazonError::AmazonUnavailable { .. } | AmazonError::Transport { .. } => {
                Some(ProblemKind::AmazonUnavailable)
            }
            AmazonError::Lwa { .. } if self.is_retryable() => Some(ProblemKind::AmazonUnavailable),
            AmazonError::Lwa { .. }
            | AmazonError::AuthorizationCodeRefused { .. }
            | AmazonError::BadRequest { .. }
            | AmazonError::NotFound { .. }
            | AmazonError::DocumentExpired
            | AmazonError::Decode { .. }
            | AmazonError::QuotaInUse { .. }
            | AmazonError::RateLimiter(_)
            | AmazonError::Misconfigured(_) => None,
        }
    }
}

/// A report document that cannot be read at all. Single bad rows are not errors: they are quarantined
/// (see `parse::Quarantined`). Messages name columns and lines, never cell values, so no buyer PII leaks.
#[derive(Debug, Error)]
pub enum ParseError {
    /// The Content-Type names a charset sellersync cannot decode.
    #[error("unknown charset {0:?} in the report's Content-Type")]
    UnknownCharset(String),
    /// The document has no header line.
    #[error("report is empty: no header line")]
    Empty,
    /// The header lacks columns every row needs.
    #[error("report header lacks required column(s) {}", .columns.join(", "))]
    MissingColumns {
        /// The missing column names, as Amazon spells them.
        columns: Vec<&'static str>,
    },
    /// The document is not the report the parser was asked to read.
    #[error("not the expected report: {0}")]
    WrongReport(String),
    /// Reading the (decoded) document failed.
    #[error("reading the report failed after line {line}: {source}")]
    Io {
        /// The last physical line read in full.
        line: u64,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// The XML is not well-formed, or ends inside an element (a truncated download).
    #[error("malformed report XML at line {line}: {reason}")]
    Xml {
        /// The physical line where reading stopped.
        line: u64,
        /// What the XML reader found.
        reason: String,
    },
}

impl ParseError {
    /// Worth downloading the document again: the bytes may have been cut short in transit.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ParseError::Io { .. } | ParseError::Xml { .. })
    }
}

/// A feed that cannot be built from the actions given; names the action (by its index) and its field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeedError {
    /// An action does not fit what Amazon accepts.
    #[error("feed message {index} is invalid: {source}")]
    InvalidMessage {
        /// The action's index in the slice given to the builder.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: DomainError,
    },
    /// The seller id or locale of the document's header is unusable.
    #[error("feed header is invalid: {0}")]
    InvalidHeader(DomainError),
    /// One message is larger than a whole document may be.
    #[error("feed message {index} takes {bytes} bytes, more than the {limit} a document leaves for messages")]
    MessageTooLarge {
        /// The action's index.
        index: usize,
        /// The message's size.
        bytes: usize,
        /// The room a document has for messages.
        limit: usize,
    },
    /// Writing the document failed (a bug: the builders write into memory).
    #[error("writing the feed document failed: {0}")]
    Write(String),
}

/// A feed processing report that cannot be read. Messages name lines and elements, never values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProcessingReportError {
    /// The XML is not well-formed, ends early, or holds a value of the wrong kind.
    #[error("malformed processing report XML at line {line}: {reason}")]
    Xml {
        /// The line reading stopped at.
        line: u64,
        /// What was wrong.
        reason: String,
    },
    /// The JSON is not a listings processing report.
    #[error("malformed listings processing report: {0}")]
    Json(String),
    /// The document is well-formed but not a processing report.
    #[error("not a feed processing report: {0}")]
    WrongDocument(String),
}

impl ProcessingReportError {
    /// Worth downloading the report again: a cut-short download reads as malformed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProcessingReportError::Xml { .. } | ProcessingReportError::Json(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amazon_errors_say_whether_to_retry_and_what_the_seller_sees() {
        let denied = AmazonError::AccessDenied {
            operation: "getReport",
            code: "Unauthorized".to_owned(),
            message: "Access to requested resource is denied.".to_owned(),
        };
        assert!(!denied.is_retryable());
        assert_eq!(denied.problem(), Some(ProblemKind::AccessDenied));
        let ineligible = AmazonError::AccessDenied {
            operation: "getReports",
            code: "Unauthorized".to_owned(),
            message: "Access to requested resource is denied. (The seller account is not eligible to use this API.)"
                .to_owned(),
        };
        assert_eq!(ineligible.problem(), Some(ProblemKind::Ineligible));
        let bad = AmazonError::BadRequest {
            operation: "createReport",
            status: 400,
            code: "InvalidInput".to_owned(),
            message: "Invalid input".to_owned(),
        };
        assert!(!bad.is_retryable());
        assert_eq!(bad.problem(), None);
        let limiter = AmazonError::RateLimiter(StoreError::Unavailable {
            operation: "UpdateItem",
            message: "timed out".to_owned(),
        });
        assert!(limiter.is_retryable());
        let lwa_down = AmazonError::Lwa {
            status: 500,
            code: "server_error".to_owned(),
            description: "".to_owned(),
        };
        assert!(lwa_down.is_retryable());
        assert_eq!(lwa_down.problem(), Some(ProblemKind::AmazonUnavailable));
        assert_eq!(
            AmazonError::Throttled {
                operation: "createReport",
                attempts: 5
            }
            .to_string(),
            "Amazon throttled createReport (429) on all 5 attempts"
        );
    }

    #[test]
    fn domain_error_names_the_field_and_cuts_long_values() {
        let err = DomainError::invalid("sku", &"x".repeat(200), "too long");
        let text = err.to_string();
        assert!(text.starts_with("sku: too long"), "{text}");
        assert!(text.len() < 120, "{text}");
    }
}
