//! One entry point over every report parser, for callers that hold a whole document: property tests, fuzz
//! targets and tools. The import itself streams (see `app::parse_reports`).

use std::io::BufReader;

use super::{
    AllOrdersFlat, AllOrdersXml, Charset, FbaShipmentsFlat, ParseSummary, Parsed, Quarantined,
    UnshippedOrdersFlat, decode_xml,
};
use crate::domain::ReportKind;
use crate::error::ParseError;

/// What a whole document gave: its counts and its quarantine entries (records are counted, not kept).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedDocument {
    /// The parser's final counts.
    pub summary: ParseSummary,
    /// Every quarantine entry, in order.
    pub quarantined: Vec<Quarantined>,
}

/// Parses `bytes`, a document of report `kind` served with `content_type` (which names its charset), to the
/// end. `Err` is a document-level failure, the first one the parser met.
pub fn parse_document(
    kind: ReportKind,
    bytes: &[u8],
    content_type: Option<&str>,
) -> Result<ParsedDocument, ParseError> {
    let charset = || Charset::from_content_type(content_type);
    match kind {
        ReportKind::AllOrdersFlat => drain(AllOrdersFlat::new(bytes, charset()?)?, |p| p.summary()),
        ReportKind::AllOrdersXml => drain(
            AllOrdersXml::new(BufReader::new(decode_xml(bytes, content_type)?)),
            |p| p.summary(),
        ),
        ReportKind::ActionableOrders => drain(UnshippedOrdersFlat::new(bytes, charset()?)?, |p| p.summary()),
        ReportKind::FbaShipments => drain(FbaShipmentsFlat::new(bytes, charset()?)?, |p| p.summary()),
        ReportKind::Raw => Err(ParseError::WrongReport("raw documents are not parsed".into())),
    }
}

fn drain<P, T>(mut parser: P, summary: impl Fn(&P) -> ParseSummary) -> Result<ParsedDocument, ParseError>
where
    P: Iterator<Item = Result<Parsed<T>, ParseError>>,
{
    let mut quarantined = Vec::new();
    for entry in parser.by_ref() {
        if let Parsed::Quarantined(entry) = entry? {
            quarantined.push(entry);
        }
    }
    Ok(ParsedDocument {
        summary: summary(&parser),
        quarantined,
    })
}
