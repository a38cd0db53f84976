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

/// The `Content-Type`s a fuzz input may claim: none, and each charset reports come in.
pub const FUZZ_CONTENT_TYPES: [Option<&str>; 6] = [
    None,
    Some("text/plain; charset=UTF-8"),
    Some("text/plain; charset=Cp1252"),
    Some("text/xml; charset=ISO-8859-1"),
    Some("text/plain; charset=Windows-31J"),
    Some("text/plain; charset=x-unknown"),
];

/// Parses a fuzz input: its first byte picks the `Content-Type` from [`FUZZ_CONTENT_TYPES`], the rest is the
/// document. The `cargo fuzz` targets (`fuzz/`) and the replay of their crash corpus both read inputs this way,
/// so a saved crash replays exactly as it was found.
pub fn parse_fuzz_input(kind: ReportKind, data: &[u8]) -> Result<ParsedDocument, ParseError> {
    let Some((&selector, bytes)) = data.split_first() else {
        return parse_document(kind, data, None);
    };
    let content_type = FUZZ_CONTENT_TYPES[usize::from(selector) % FUZZ_CONTENT_TYPES.len()];
    parse_document(kind, bytes, content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAT: [(ReportKind, &[u8]); 3] = [
        (
            ReportKind::AllOrdersFlat,
            include_bytes!("../../tests/fixtures/report-all-orders.tsv"),
        ),
        (
            ReportKind::ActionableOrders,
            include_bytes!("../../tests/fixtures/report-unshipped-orders.tsv"),
        ),
        (
            ReportKind::FbaShipments,
            include_bytes!("../../tests/fixtures/report-fba-shipments.tsv"),
        ),
    ];
    const XML: &str = include_str!("../../tests/fixtures/report-all-orders.xml");

    #[test]
    fn a_flat_file_whose_lines_end_in_cr_alone_is_refused_not_read_as_no_rows() {
        for (kind, fixture) in FLAT {
            let ok = parse_document(kind, fixture, None).unwrap();
            assert!(ok.summary.rows > 0, "{kind:?}");
            let text = String::from_utf8(fixture.to_vec()).unwrap().replace("\r\n", "\n");
            let cr_only = text.replace('\n', "\r");
            let err = parse_document(kind, cr_only.as_bytes(), None)
                .map(|doc| doc.summary)
                .expect_err("CR-only line endings");
            let reason = err.to_string();
            assert!(
                reason.contains("line 1") && reason.contains("CR"),
                "{kind:?}: {reason}"
            );
        }
    }

    #[test]
    fn an_xml_document_whose_declared_encoding_does_not_match_its_bytes_is_refused() {
        let ok = parse_document(ReportKind::AllOrdersXml, XML.as_bytes(), None).unwrap();
        assert!(ok.summary.rows > 0);
        let mislabelled = XML.replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1);
        assert_ne!(mislabelled, XML);
        let err = parse_document(ReportKind::AllOrdersXml, mislabelled.as_bytes(), None)
            .map(|doc| doc.summary)
            .expect_err("no element read");
        assert!(err.to_string().contains("encoding"), "{err}");
    }
}
