//! Typed errors shared across the library; each module with a boundary of its own adds its enum here.

use thiserror::Error;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_error_names_the_field_and_cuts_long_values() {
        let err = DomainError::invalid("sku", &"x".repeat(200), "too long");
        let text = err.to_string();
        assert!(text.starts_with("sku: too long"), "{text}");
        assert!(text.len() < 120, "{text}");
    }
}
