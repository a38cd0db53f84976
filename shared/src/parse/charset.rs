//! Report charsets: which encoding a document's `Content-Type` names, and a streaming reader that turns the
//! document into UTF-8 (BOM removed) for the parsers.

use std::fmt;
use std::io::{self, Read};

use encoding_rs::{Encoding, SHIFT_JIS, UTF_8, WINDOWS_1252};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

use crate::error::ParseError;

/// The text encoding of a report document.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Charset(&'static Encoding);

impl Charset {
    /// UTF-8, what a document without a charset is taken to be.
    pub const UTF_8: Charset = Charset(UTF_8);
    /// Windows-1252, which Amazon calls `Cp1252` (US and EU reports).
    pub const WINDOWS_1252: Charset = Charset(WINDOWS_1252);
    /// Windows-31J, which Amazon calls `CP932` or `MS932` (JP reports).
    pub const CP932: Charset = Charset(SHIFT_JIS);

    /// The charset a `Content-Type` header names, e.g. `text/plain; charset=Cp1252`; UTF-8 when the header or
    /// its `charset` parameter is missing.
    pub fn from_content_type(content_type: Option<&str>) -> Result<Charset, ParseError> {
        match content_type.and_then(charset_parameter) {
            Some(label) => Charset::from_label(label),
            None => Ok(Charset::UTF_8),
        }
    }

    /// The charset for a label as Java and Amazon spell them (`Cp1252`, `CP932`, `MS932`, `Windows-31J`,
    /// `Shift_JIS`, `ISO-8859-1`, `UTF-8`) or as the WHATWG Encoding Standard lists them.
    pub fn from_label(label: &str) -> Result<Charset, ParseError> {
        let label = label.trim().trim_matches(|c| c == '"' || c == '\'');
        let lower = label.to_ascii_lowercase();
        let encoding = match lower.as_str() {
            // Java's names, which are not WHATWG labels. encoding_rs's Shift_JIS is the Windows-31J table,
            // which is what Amazon's JP reports use.
            "cp1252" | "windows-1252" => Some(WINDOWS_1252),
            "cp932" | "ms932" | "windows-31j" | "shift_jis" | "shift-jis" | "sjis" | "x-sjis" => {
                Some(SHIFT_JIS)
            }
            "utf8" | "utf-8" => Some(UTF_8),
            // The WHATWG maps ISO-8859-1 to windows-1252, a superset that differs only in 0x80-0x9F, where
            // ISO-8859-1 has unprintable controls and reports mean the Windows characters (€, ™, curly quotes).
            _ => Encoding::for_label_no_replacement(lower.as_bytes()),
        };
        encoding
            .map(Charset)
            .ok_or_else(|| ParseError::UnknownCharset(label.to_owned()))
    }

    /// The encoding's canonical name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The `encoding_rs` encoding, for writing test documents and benchmarks.
    pub fn encoding(self) -> &'static Encoding {
        self.0
    }
}

impl fmt::Debug for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn charset_parameter(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then_some(value.trim())
    })
}

const DECODE_BUFFER: usize = 64 << 10;

/// A report document decoded to UTF-8 as it streams: invalid byte sequences become U+FFFD and a leading BOM is
/// removed (a BOM also overrides the declared charset, since it cannot be there by accident).
pub struct Utf8Reader<R: Read>(DecodeReaderBytes<R, Vec<u8>>);

impl<R: Read> Utf8Reader<R> {
    /// Decodes `input` from `charset`.
    pub fn new(input: R, charset: Charset) -> Result<Self, ParseError> {
        DecodeReaderBytesBuilder::new()
            .encoding(Some(charset.0))
            .bom_override(true)
            .strip_bom(true)
            .build_with_buffer(input, vec![0; DECODE_BUFFER])
            .map(Utf8Reader)
            .map_err(|source| ParseError::Io { line: 0, source })
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Read> fmt::Debug for Utf8Reader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Utf8Reader").finish_non_exhaustive()
    }
}

/// Decodes a flat-file report from the charset its `Content-Type` names.
pub fn decode<R: Read>(input: R, content_type: Option<&str>) -> Result<Utf8Reader<R>, ParseError> {
    Utf8Reader::new(input, Charset::from_content_type(content_type)?)
}

/// An XML document with its sniffed head put back in front.
pub type XmlInput<R> = io::Chain<io::Cursor<Vec<u8>>, R>;

/// How much of an XML document is read before its charset is chosen.
const XML_SNIFF: u64 = 64 << 10;

/// Decodes an XML report in the charset the document is in. The `Content-Type` charset and the XML
/// declaration's `encoding` (Amazon's XML order reports declare `ISO-8859-1` or `UTF-8`) usually agree; when
/// they do not, the document's first 64 KiB decide: bytes that are not UTF-8 rule UTF-8 out, valid
/// non-ASCII UTF-8 rules it in, and ASCII alone leaves the document's own declaration to speak. Without
/// either, UTF-8. A BOM overrides all of them.
pub fn decode_xml<R: Read>(
    mut input: R,
    content_type: Option<&str>,
) -> Result<Utf8Reader<XmlInput<R>>, ParseError> {
    let mut head = Vec::with_capacity(4096);
    (&mut input)
        .take(XML_SNIFF)
        .read_to_end(&mut head)
        .map_err(|source| ParseError::Io { line: 0, source })?;
    let charset = xml_charset(&head, content_type)?;
    Utf8Reader::new(io::Cursor::new(head).chain(input), charset)
}

/// The charset of an XML document whose first bytes are `head`: see [`decode_xml`].
fn xml_charset(head: &[u8], content_type: Option<&str>) -> Result<Charset, ParseError> {
    let header = content_type
        .and_then(charset_parameter)
        .map(Charset::from_label)
        .transpose()?;
    let declared = declared_encoding(head).map(Charset::from_label).transpose()?;
    Ok(match (header, declared) {
        (Some(header), Some(declared)) if header != declared => {
            let other = match (header == Charset::UTF_8, declared == Charset::UTF_8) {
                (true, _) => declared,
                (_, true) => header,
                // Two single-byte charsets: nothing in the bytes tells them apart.
                _ => return Ok(declared),
            };
            if head.is_ascii() {
                declared
            } else if is_utf8(head) {
                Charset::UTF_8
            } else {
                other
            }
        }
        (Some(header), _) => header,
        (None, Some(declared)) => declared,
        (None, None) => Charset::UTF_8,
    })
}

/// Whether `bytes` are UTF-8, allowing a sequence cut off at the end (the sniffed head ends anywhere).
fn is_utf8(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(error) => error.error_len().is_none(),
    }
}

/// The `encoding` pseudo-attribute of an XML declaration at the start of `head`.
fn declared_encoding(head: &[u8]) -> Option<&str> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let head = std::str::from_utf8(head.split(|&b| b == b'>').next()?).ok()?;
    let decl = head.trim_start().strip_prefix("<?xml")?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    rest[1..].split(quote).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded_xml(bytes: &[u8], content_type: Option<&str>) -> String {
        let mut text = String::new();
        decode_xml(bytes, content_type)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn an_xml_document_is_read_in_the_charset_its_bytes_are_in_when_header_and_declaration_disagree() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>M\xfcller</a>";
        assert_eq!(
            decoded_xml(latin1, Some("text/xml; charset=UTF-8")),
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Müller</a>",
            "the declaration is right, the header is not"
        );
        let utf8 = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>Müller</a>";
        assert_eq!(
            decoded_xml(utf8.as_bytes(), Some("text/xml; charset=ISO-8859-1")),
            utf8,
            "the declaration is right, the header is not"
        );
        let mislabelled = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>M\xfcller</a>";
        assert_eq!(
            decoded_xml(mislabelled, Some("text/xml; charset=ISO-8859-1")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>Müller</a>",
            "the header is right, the declaration is not"
        );
        assert_eq!(
            decoded_xml(latin1, Some("text/xml; charset=ISO-8859-1")),
            decoded_xml(latin1, None)
        );
    }

    fn decoded(bytes: &[u8], content_type: Option<&str>) -> String {
        let mut text = String::new();
        decode(bytes, content_type)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn amazon_and_java_charset_names_map_to_encodings() {
        let name = |ct: &str| Charset::from_content_type(Some(ct)).unwrap().name();
        assert_eq!(name("text/plain; charset=Cp1252"), "windows-1252");
        assert_eq!(name("text/plain;charset=\"windows-1252\""), "windows-1252");
        assert_eq!(name("text/tab-separated-values; charset=CP932"), "Shift_JIS");
        assert_eq!(name("text/plain; charset=MS932"), "Shift_JIS");
        assert_eq!(name("text/plain; charset=Windows-31J"), "Shift_JIS");
        assert_eq!(name("text/plain; charset=Shift_JIS"), "Shift_JIS");
        assert_eq!(name("text/plain; charset=ISO-8859-1"), "windows-1252");
        assert_eq!(name("text/plain; charset=UTF-8"), "UTF-8");
        assert_eq!(name("text/plain"), "UTF-8");
        assert_eq!(Charset::from_content_type(None).unwrap(), Charset::UTF_8);
    }

    #[test]
    fn an_unknown_charset_is_a_clear_error() {
        let err = Charset::from_content_type(Some("text/plain; charset=klingon-1")).unwrap_err();
        assert!(
            matches!(&err, ParseError::UnknownCharset(label) if label == "klingon-1"),
            "{err}"
        );
        assert!(err.to_string().contains("klingon-1"));
    }

    #[test]
    fn cp932_bytes_decode_to_japanese_text() {
        let (bytes, _, _) = SHIFT_JIS.encode("sku\tproduct-name\nA-1\tこんにちは世界\n");
        assert_eq!(
            decoded(&bytes, Some("text/plain; charset=CP932")),
            "sku\tproduct-name\nA-1\tこんにちは世界\n"
        );
    }

    #[test]
    fn cp1252_and_iso_8859_1_bytes_decode_including_the_windows_range() {
        let (bytes, _, _) = WINDOWS_1252.encode("Gähnen\tLöwe\tStraße\t12\u{201D} pan \u{20AC}5");
        assert_eq!(bytes[1], 0xE4);
        let expected = "Gähnen\tLöwe\tStraße\t12\u{201D} pan \u{20AC}5";
        assert_eq!(decoded(&bytes, Some("text/plain; charset=Cp1252")), expected);
        assert_eq!(decoded(&bytes, Some("text/plain; charset=ISO-8859-1")), expected);
    }

    #[test]
    fn a_bom_is_stripped_and_wins_over_the_declared_charset() {
        assert_eq!(decoded(b"\xEF\xBB\xBFsku\n", None), "sku\n");
        assert_eq!(
            decoded("\u{FEFF}Löwe".as_bytes(), Some("text/plain; charset=Cp1252")),
            "Löwe"
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters_not_an_error() {
        assert_eq!(
            decoded(b"L\xF6we\n", Some("text/plain; charset=UTF-8")),
            "L\u{FFFD}we\n"
        );
    }

    #[test]
    fn xml_without_a_content_type_charset_uses_its_declaration() {
        let (body, _, _) = WINDOWS_1252.encode("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Löwe</a>");
        let mut text = String::new();
        decode_xml(&body[..], Some("text/xml"))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.ends_with("<a>Löwe</a>"), "{text}");
        assert_eq!(
            declared_encoding(b"<?xml version='1.0' encoding='UTF-8'?>"),
            Some("UTF-8")
        );
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\"?><a/>"), None);
    }
}
