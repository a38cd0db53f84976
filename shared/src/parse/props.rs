//! Property tests: no document, however mangled, makes a report parser panic. Real-shaped documents (the
//! fixtures, in every charset a report comes in) are cut, bit-flipped and sprinkled with quotes, tabs, line
//! ends, BOMs, markup and byte sequences that are invalid in one charset or another; every parser must answer
//! with records, quarantine entries that say where and why, or a document error, never a panic. The case
//! count is bounded (256 per property) so the suite stays fast; `cargo fuzz` (see `fuzz/`) searches longer.

use proptest::prelude::*;
use proptest::sample::Index;

use super::{ParsedDocument, parse_document};
use crate::domain::ReportKind;
use crate::error::ParseError;

const ALL_ORDERS: &[u8] = include_bytes!("../../tests/fixtures/report-all-orders.tsv");
const ALL_ORDERS_XML: &[u8] = include_bytes!("../../tests/fixtures/report-all-orders.xml");
const UNSHIPPED: &[u8] = include_bytes!("../../tests/fixtures/report-unshipped-orders.tsv");
const LEGACY: &[u8] = include_bytes!("../../tests/fixtures/report-legacy-orders.tsv");
const FBA: &[u8] = include_bytes!("../../tests/fixtures/report-fba-shipments.tsv");
/// Every fixture with the parser that reads it.
const FIXTURES: [(ReportKind, &[u8]); 5] = [
    (ReportKind::AllOrdersFlat, ALL_ORDERS),
    (ReportKind::AllOrdersXml, ALL_ORDERS_XML),
    (ReportKind::ActionableOrders, UNSHIPPED),
    (ReportKind::ActionableOrders, LEGACY),
    (ReportKind::FbaShipments, FBA),
];

/// The charsets reports come in, as their `Content-Type` names them.
const CHARSETS: [(&str, Option<&str>); 5] = [
    ("UTF-8", None),
    ("UTF-8", Some("text/plain; charset=UTF-8")),
    ("windows-1252", Some("text/plain; charset=Cp1252")),
    ("windows-1252", Some("text/xml; charset=ISO-8859-1")),
    ("Shift_JIS", Some("text/plain; charset=Windows-31J")),
];

/// What gets inserted: separators, line ends, BOMs, markup, numbers out of range, and byte sequences invalid
/// in UTF-8 (cut, overlong, surrogate, past U+10FFFF), in Shift_JIS (a lone lead byte, a bad trail byte) and
/// unassigned in windows-1252.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\"\"",
    b"\t",
    b"\t\"",
    b"\r",
    b"\r\n",
    b"\n",
    b"\n\n",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xFE\xFF",
    b"\xE3\x81",
    b"\xC3",
    b"\x80",
    b"\xFF",
    b"\xC0\x80",
    b"\xED\xA0\x80",
    b"\xF4\x90\x80\x80",
    b"\x82",
    b"\x81\x7F",
    b"\x81",
    b"\x8D",
    b"\x00",
    "Löwe 東京 €".as_bytes(),
    b"<",
    b">",
    b"&",
    b"&#0;",
    b"&#xFFFFFFFF;",
    b"&bogus;",
    b"<![CDATA[",
    b"]]>",
    b"<Order>",
    b"</Order>",
    b"<OrderItem><Quantity>",
    b"</Quantity></OrderItem>",
    b"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>",
    b"<!DOCTYPE x [<!ENTITY a \"b\">]>",
    b"99999999999999999999999999",
    b"-1",
    b"1e400",
    b"2020-02-30T25:61:61+99:99",
    b",",
];

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(Index),
    FlipBit(Index, u8),
    Insert(Index, Index),
    /// Inserts at the very end, where a cut-off download stops.
    Append(Index),
    Delete(Index, u8),
    /// Repeats a slice many times, as a runaway row or element would.
    Repeat(Index, u8, u16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (any::<Index>(), any::<Index>()).prop_map(|(at, token)| Mutation::Insert(at, token)),
        any::<Index>().prop_map(Mutation::Append),
        (any::<Index>(), any::<u8>()).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<Index>(), any::<u8>(), 0..2000u16).prop_map(|(at, len, n)| Mutation::Repeat(at, len, n)),
    ]
}

fn apply(doc: &mut Vec<u8>, mutation: &Mutation) {
    let at = |i: &Index, doc: &Vec<u8>| i.index(doc.len() + 1);
    match mutation {
        Mutation::Truncate(i) => doc.truncate(at(i, doc)),
        Mutation::FlipBit(i, bit) if !doc.is_empty() => {
            let i = i.index(doc.len());
            doc[i] ^= 1 << bit;
        }
        Mutation::FlipBit(..) => {}
        Mutation::Insert(i, token) => {
            let i = at(i, doc);
            let token = token.get(TOKENS);
            doc.splice(i..i, token.iter().copied());
        }
        Mutation::Append(token) => {
            let token: &[u8] = TOKENS[token.index(TOKENS.len())];
            doc.extend_from_slice(token);
        }
        Mutation::Delete(i, len) => {
            let i = at(i, doc);
            let end = (i + usize::from(*len)).min(doc.len());
            doc.drain(i..end);
        }
        Mutation::Repeat(i, len, n) => {
            let i = at(i, doc);
            let end = (i + usize::from(*len)).min(doc.len());
            let slice = doc[i..end].to_vec();
            for _ in 0..*n {
                doc.splice(end..end, slice.iter().copied());
            }
        }
    }
}

/// `doc` (UTF-8) written in the charset `encoding` names.
fn encoded(doc: &[u8], encoding: &str) -> Vec<u8> {
    let encoding = encoding_rs::Encoding::for_label(encoding.as_bytes()).unwrap();
    let text = String::from_utf8_lossy(doc);
    encoding.encode(&text).0.into_owned()
}

/// The property: whatever the outcome, no panic (proptest fails on one), and every outcome says where.
fn check(kind: ReportKind, doc: &[u8], content_type: Option<&str>) -> Result<(), TestCaseError> {
    match parse_document(kind, doc, content_type) {
        Ok(ParsedDocument { summary, quarantined }) => {
            prop_assert_eq!(summary.quarantined, quarantined.len() as u64);
            for entry in quarantined {
                prop_assert!(entry.line >= 1, "quarantined at line 0: {:?}", entry);
                prop_assert!(entry.lines.contains(&entry.line), "{:?}", entry);
                prop_assert!(!entry.reason.is_empty(), "no reason: {:?}", entry);
            }
        }
        Err(err) => {
            let says_where = match &err {
                ParseError::MissingColumns { columns } => !columns.is_empty(),
                ParseError::Io { .. } | ParseError::Xml { .. } => err.to_string().contains("line"),
                ParseError::Empty | ParseError::WrongReport(_) | ParseError::UnknownCharset(_) => {
                    !err.to_string().is_empty()
                }
            };
            prop_assert!(says_where, "{}", err);
        }
    }
    Ok(())
}

fn mangled(fixture: &'static [u8]) -> impl Strategy<Value = (Vec<u8>, Option<&'static str>)> {
    (0..CHARSETS.len(), proptest::collection::vec(mutation(), 1..6)).prop_map(move |(charset, mutations)| {
        let (encoding, content_type) = CHARSETS[charset];
        let mut doc = fixture.to_vec();
        doc.extend_from_slice("Löwe 東京 €\n".as_bytes());
        let mut doc = encoded(&doc, encoding);
        for mutation in &mutations {
            apply(&mut doc, mutation);
        }
        (doc, content_type)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_all_orders_flat_file_parser_never_panics((doc, content_type) in mangled(ALL_ORDERS)) {
        check(ReportKind::AllOrdersFlat, &doc, content_type)?;
    }

    #[test]
    fn the_all_orders_xml_parser_never_panics((doc, content_type) in mangled(ALL_ORDERS_XML)) {
        check(ReportKind::AllOrdersXml, &doc, content_type)?;
    }

    #[test]
    fn the_unshipped_orders_parser_never_panics((doc, content_type) in mangled(UNSHIPPED)) {
        check(ReportKind::ActionableOrders, &doc, content_type)?;
    }

    #[test]
    fn the_legacy_orders_parser_never_panics((doc, content_type) in mangled(LEGACY)) {
        check(ReportKind::ActionableOrders, &doc, content_type)?;
    }

    #[test]
    fn the_fba_shipments_parser_never_panics((doc, content_type) in mangled(FBA)) {
        check(ReportKind::FbaShipments, &doc, content_type)?;
    }
}

/// Truncation at every byte of every fixture in every charset: a download cut short anywhere.
#[test]
fn every_parser_survives_its_document_cut_at_every_byte() {
    for (kind, fixture) in FIXTURES {
        for (encoding, content_type) in CHARSETS {
            // Some non-ASCII text at the end, so cuts land inside multi-byte characters.
            let mut doc = fixture.to_vec();
            doc.extend_from_slice("Löwe 東京 €".as_bytes());
            let doc = encoded(&doc, encoding);
            // Every byte in one charset; in the others (slower to build each case), every fifth and the tail.
            let every = if content_type.is_none() { 1 } else { 5 };
            let tail = doc.len().saturating_sub(32);
            for end in (0..=doc.len()).filter(|&end| end % every == 0 || end >= tail) {
                if let Err(e) = check(kind, &doc[..end], content_type) {
                    panic!("{kind:?} in {encoding} cut at {end}: {e}");
                }
            }
        }
    }
}

/// A flat file cut anywhere inside its last row, its last cell included, is a download cut short: a retryable
/// error, never a smaller import (the rows before the cut would be stored, the window moved on, and the
/// orders after it missed).
#[test]
fn a_flat_file_cut_inside_its_last_row_is_a_retryable_error() {
    for (kind, fixture) in FIXTURES
        .into_iter()
        .filter(|(kind, _)| *kind != ReportKind::AllOrdersXml)
    {
        let body = fixture.strip_suffix(b"\n").unwrap_or(fixture);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let row_start = body.iter().rposition(|&b| b == b'\n').expect("a header and rows") + 1;
        for end in row_start + 1..body.len() {
            match parse_document(kind, &body[..end], None) {
                Err(err) => assert!(err.is_retryable(), "{kind:?} cut at {end}: {err}"),
                Ok(parsed) => panic!("{kind:?} cut at {end} imported: {:?}", parsed.summary),
            }
        }
    }
}

/// The crash corpus: every input `cargo fuzz` (tests/fuzz.sh) or a report found crashing a parser is kept in
/// `tests/fixtures/fuzz/<target>/` and replayed here exactly as the target reads it.
#[test]
fn every_saved_fuzz_crash_replays_without_a_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut replayed = 0;
    for dir in std::fs::read_dir(&root).expect("the crash corpus") {
        let dir = dir.unwrap().path();
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        let kind = match target.as_str() {
            "all_orders_flat" => ReportKind::AllOrdersFlat,
            "all_orders_xml" => ReportKind::AllOrdersXml,
            "actionable_orders" => ReportKind::ActionableOrders,
            "fba_shipments" => ReportKind::FbaShipments,
            other => panic!("{other}: not a fuzz target (fuzz/Cargo.toml names them)"),
        };
        for input in std::fs::read_dir(&dir).unwrap() {
            let input = input.unwrap().path();
            let data = std::fs::read(&input).unwrap();
            let caught = std::panic::catch_unwind(|| super::parse_fuzz_input(kind, &data));
            assert!(caught.is_ok(), "{} panics the {target} parser", input.display());
            replayed += 1;
        }
    }
    assert!(replayed >= 4, "the crash corpus holds {replayed} inputs");
}
