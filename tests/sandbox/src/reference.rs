//! Amazon's reference material beside the checkout (`shared/reference`: feed XSDs, JSON schemas, API models),
//! used in place and never copied into the repository, and the one way tests and the sandbox check documents
//! against it: [`validate_xml`] (one `xmllint` run for any number of documents) and [`json_validator`].
//!
//! A check that cannot run (no reference folder, no `xmllint`) fails under CI (the `CI` variable, as CI
//! sets it) and elsewhere prints `SKIPPED` and checks nothing: see [`unavailable`]. `tests/run-tests.sh`
//! installs `xmllint` (Debian's `libxml2-utils`) when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The file every XML feed and processing report is checked against (Amazon's schema bundle's entry point).
const ENVELOPE: &str = "feeds/xsd/validation-bundle/amzn-envelope.xsd";

/// Whether this run is CI's (`CI` set to anything but empty, `0` or `false`), where no check may skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// A check cannot run because `why`: under CI that is a failure (panics); elsewhere it prints `SKIPPED`.
pub fn unavailable(why: &str) {
    assert!(
        !in_ci(),
        "{why}: CI must run this check, so the missing piece must be installed"
    );
    println!("SKIPPED: {why}");
}

/// The reference folder: `SELLERSYNC_REFERENCE_DIR`, else the first `shared/reference` found beside the
/// checkout or any folder above it (a worktree may sit deeper than the checkout CI uses).
pub fn find_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SELLERSYNC_REFERENCE_DIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return dir.join(ENVELOPE).is_file().then_some(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/reference"))
        .find(|dir| dir.join(ENVELOPE).is_file())
}

/// [`find_dir`], or [`unavailable`].
pub fn require_dir() -> Option<PathBuf> {
    let found = find_dir();
    if found.is_none() {
        unavailable("Amazon's reference folder (shared/reference) not found; set SELLERSYNC_REFERENCE_DIR");
    }
    found
}

/// Whether `xmllint` runs here (asked once per process).
pub fn xmllint_found() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        Command::new("xmllint")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The reference folder when it and `xmllint` are both here, or [`unavailable`].
pub fn require_xsd() -> Option<PathBuf> {
    let dir = require_dir()?;
    if !xmllint_found() {
        unavailable("xmllint not installed (apt-get install libxml2-utils); XSD validation not run");
        return None;
    }
    Some(dir)
}

/// Amazon's envelope schema, which covers every feed and report message type.
pub fn envelope_schema(reference: &Path) -> PathBuf {
    reference.join(ENVELOPE)
}

/// The values of `element`'s enumeration in the bundle's `file` (e.g. `CarrierCode` of `amzn-base.xsd`), each
/// once, in the schema's order: read from Amazon's text, so code that checks against it carries no copy.
pub fn xsd_enumeration(reference: &Path, file: &str, element: &str) -> Vec<String> {
    let path = reference.join("feeds/xsd/validation-bundle").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = text
        .find(&format!("<xsd:element name=\"{element}\""))
        .unwrap_or_else(|| panic!("{element} not in {file}"));
    let end = start + text[start..].find("</xsd:element>").expect("element end");
    let mut values: Vec<String> = Vec::new();
    for part in text[start..end].split("<xsd:enumeration value=\"").skip(1) {
        let value = part.split('"').next().unwrap_or_default().to_owned();
        if !values.contains(&value) {
            values.push(value);
        }
    }
    values
}

/// One schema violation `xmllint` reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XsdError {
    /// 1-based line of the document.
    pub line: usize,
    /// xmllint's words, e.g. `Element 'Quantity': '0' is not a valid value of the atomic type 'xs:positiveInteger'.`
    pub message: String,
}

/// Validates `documents` against `schema` with one `xmllint --noout --schema` run (compiling a schema
/// costs milliseconds to seconds, so it is done once): for each document, `Ok` or its violations. Call
/// [`require_xsd`] first.
pub fn validate_xml(schema: &Path, documents: &[&[u8]]) -> Vec<Result<(), Vec<XsdError>>> {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sellersync-xsd-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir for xmllint");
    let files: Vec<PathBuf> = documents
        .iter()
        .enumerate()
        .map(|(i, document)| {
            let file = dir.join(format!("document-{i}.xml"));
            std::fs::write(&file, document).expect("temp file for xmllint");
            file
        })
        .collect();
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(schema)
        .args(&files)
        .output()
        .expect("xmllint runs");
    let _ = std::fs::remove_dir_all(&dir);
    let said = String::from_utf8_lossy(&output.stderr);
    files
        .iter()
        .map(|file| {
            let name = file.display().to_string();
            if said.lines().any(|line| line == format!("{name} validates")) {
                return Ok(());
            }
            let errors: Vec<XsdError> = said
                .lines()
                .filter_map(|line| line.strip_prefix(&name)?.strip_prefix(':'))
                .filter_map(|rest| {
                    let (line, message) = rest.split_once(':')?;
                    let message = message.rsplit_once(" : ").map_or(message, |(_, m)| m);
                    Some(XsdError {
                        line: line.trim().parse().ok()?,
                        message: message.trim().to_owned(),
                    })
                })
                .collect();
            Err(if errors.is_empty() {
                vec![XsdError {
                    line: 1,
                    message: said.trim().to_owned(),
                }]
            } else {
                errors
            })
        })
        .collect()
}

/// Each of `documents` against Amazon's whole envelope schema, one `xmllint` run; `None` where it cannot
/// run (see [`require_xsd`]).
pub fn check_envelopes(documents: &[&[u8]]) -> Option<Vec<Result<(), Vec<XsdError>>>> {
    let reference = require_xsd()?;
    Some(validate_xml(&envelope_schema(&reference), documents))
}

/// The message types of Amazon's envelope that the order feeds sellersync sends, and their reports, use.
const ORDER_FEED_TYPES: [&str; 3] = ["OrderFulfillment", "OrderAcknowledgement", "ProcessingReport"];

/// Amazon's envelope narrowed to the order feeds: `amzn-envelope.xsd`'s own text, with the includes and
/// `Message` choices of the other message types (the product categories among them) left out. Amazon's
/// definitions of the envelope and of these message types are untouched and read in place, and a document
/// gets the same verdict (the feed tests check both against the same documents), but it compiles in
/// milliseconds instead of seconds: the sandbox checks every XML feed with it. Written once per process.
pub fn order_feed_schema(reference: &Path) -> PathBuf {
    static SCHEMA: OnceLock<PathBuf> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let bundle = reference.join("feeds/xsd/validation-bundle");
            let text = std::fs::read_to_string(reference.join(ENVELOPE)).expect("amzn-envelope.xsd readable");
            let keep_include = |file: &str| {
                ["amzn-base.xsd", "amzn-header.xsd"].contains(&file)
                    || ORDER_FEED_TYPES.iter().any(|t| file == format!("{t}.xsd"))
            };
            let other_types: Vec<String> = text
                .split("<xsd:enumeration value=\"")
                .skip(1)
                .filter_map(|part| part.split('"').next())
                .filter(|name| !ORDER_FEED_TYPES.contains(name))
                .map(str::to_owned)
                .collect();
            let narrowed: String = text
                .lines()
                .filter_map(|line| {
                    let trimmed = line.trim();
                    if let Some(file) = trimmed
                        .strip_prefix("<xsd:include schemaLocation=\"")
                        .and_then(|rest| rest.strip_suffix("\"/>"))
                    {
                        return keep_include(file).then(|| {
                            format!(
                                "<xsd:include schemaLocation=\"{}\"/>",
                                bundle.join(file).display()
                            )
                        });
                    }
                    let dropped = other_types
                        .iter()
                        .any(|t| trimmed == format!("<xsd:element ref=\"{t}\"/>"));
                    (!dropped).then(|| line.to_owned())
                })
                .map(|line| line + "\n")
                .collect();
            let path =
                std::env::temp_dir().join(format!("sellersync-order-feeds-{}.xsd", std::process::id()));
            std::fs::write(&path, narrowed).expect("narrowed envelope written");
            path
        })
        .clone()
}

/// A validator for the JSON schema `name` of Amazon's feed schemas (`spapi-models/schemas/feeds`).
pub fn json_validator(reference: &Path, name: &str) -> jsonschema::Validator {
    let path = reference.join("spapi-models/schemas/feeds").join(name);
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("schema readable")).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// A validator for the JSON schema `name` of Amazon's notification schemas (`spapi-models/schemas/notifications`).
pub fn notification_validator(reference: &Path, name: &str) -> jsonschema::Validator {
    let path = reference.join("spapi-models/schemas/notifications").join(name);
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("schema readable")).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}
