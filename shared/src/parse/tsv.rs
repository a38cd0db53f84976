//! The tab-separated reader under every flat-file report: raw bytes are decoded from the report's charset
//! straight into a text window (so cells need no further UTF-8 check) and split into records, with the
//! physical line numbers a seller can look up, in a window of bounded size.
//!
//! Amazon's flat files are not RFC 4180: `"` is usually data (`12" pizza pan`), yet some files quote a cell
//! that spans lines. A cell is read as quoted only if it starts with `"` and a closing `"` follows before
//! the next tab, within [`QUOTED_MAX_LINES`] lines and [`QUOTED_MAX_BYTES`] bytes; otherwise it is re-read
//! literally, so a stray quote can never swallow the rows after it. Ragged rows are fine: missing cells read
//! as empty, extra cells are ignored. CRLF and LF both end lines; blank lines are skipped.

use std::io::{self, ErrorKind, Read};

use encoding_rs::{CoderResult, Decoder};
use memchr::{memchr, memchr2};

use super::charset::Charset;
use crate::error::ParseError;

/// Longest physical line read; a longer one is quarantined and skipped.
pub(crate) const MAX_LINE: usize = 1 << 20;
/// How many extra physical lines one record's quoted cells may span.
pub(crate) const QUOTED_MAX_LINES: u32 = 16;
/// How many bytes a quoted cell may span before it is re-read literally.
pub(crate) const QUOTED_MAX_BYTES: usize = 64 << 10;
const INITIAL_WINDOW: usize = 256 << 10;
/// Raw bytes read (and decoded) at a time.
const RAW_CHUNK: usize = 64 << 10;
// A record is at most a quoted run plus the line it ends on, plus the line it started on.
const MAX_WINDOW: usize = 2 * MAX_LINE + QUOTED_MAX_BYTES + INITIAL_WINDOW;

/// A cell's byte range: in the window (relative to `pos`), or in `scratch` when it was unescaped. Eight
/// bytes, since a record pushes one per cell: the window never reaches 2^31 bytes, so the top bit of `start`
/// is free to say which.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    const UNESCAPED: u32 = 1 << 31;

    fn window(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    fn scratch(start: usize, end: usize) -> Span {
        Span {
            start: start as u32 | Span::UNESCAPED,
            end: end as u32,
        }
    }

    fn unescaped(self) -> bool {
        self.start & Span::UNESCAPED != 0
    }

    fn range(self) -> std::ops::Range<usize> {
        (self.start & !Span::UNESCAPED) as usize..self.end as usize
    }
}

/// What [`TsvReader::next_record`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// A record, readable through [`TsvReader::cell`] until the next call.
    Record,
    /// A physical line longer than [`MAX_LINE`], skipped; its line number.
    TooLong(u64),
    /// End of the document.
    End,
}

enum LineEnd {
    /// Relative offset of the `\n`.
    Newline(usize),
    /// The document ends, unterminated, at this relative offset.
    Eof(usize),
    /// No `\n` within the limit.
    TooLong,
}

/// Decodes a byte stream and splits it into records of cells.
pub(crate) struct TsvReader<R> {
    src: R,
    decoder: Decoder,
    raw: Vec<u8>,
    raw_pos: usize,
    raw_len: usize,
    raw_eof: bool,
    /// Decoded text; unconsumed from `pos`, which spans are relative to.
    text: String,
    pos: usize,
    /// Everything is decoded.
    eof: bool,
    /// Bytes of the current record, consumed on the next call.
    pending: usize,
    /// Physical line number of the first line at `pos + pending`.
    next_line: u64,
    record_line: u64,
    cells: Vec<Span>,
    /// Unescaped contents of quoted cells.
    scratch: String,
    /// The header's cell count, once read: an unterminated last record with fewer cells was cut short.
    header_cells: usize,
}

impl<R: Read> TsvReader<R> {
    /// Reads `src`, encoded in `charset`; a BOM, if any, wins over `charset` and is dropped.
    pub(crate) fn new(src: R, charset: Charset) -> Self {
        TsvReader {
            src,
            decoder: charset.encoding().new_decoder(),
            raw: vec![0; RAW_CHUNK],
            raw_pos: 0,
            raw_len: 0,
            raw_eof: false,
            text: String::with_capacity(INITIAL_WINDOW),
            pos: 0,
            eof: false,
            pending: 0,
            next_line: 1,
            record_line: 0,
            cells: Vec::with_capacity(64),
            scratch: String::new(),
            header_cells: 0,
        }
    }

    /// Physical line number (1-based) of the current record's first line.
    pub(crate) fn line(&self) -> u64 {
        self.record_line
    }

    /// Physical lines read so far.
    pub(crate) fn lines_read(&self) -> u64 {
        self.next_line - 1
    }

    /// Number of cells in the current record.
    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }

    /// Cell `i` of the current record; empty when the row is shorter.
    pub(crate) fn cell(&self, i: usize) -> &[u8] {
        match self.cells.get(i) {
            Some(span) if span.unescaped() => &self.scratch.as_bytes()[span.range()],
            Some(span) => {
                let range = span.range();
                &self.text.as_bytes()[self.pos + range.start..self.pos + range.end]
            }
            None => b"",
        }
    }

    /// Cell at an optional column index, as bytes; empty when the column is absent.
    pub(crate) fn get(&self, column: Option<usize>) -> &[u8] {
        column.map_or(&b""[..], |i| self.cell(i))
    }

    /// The current record's cells as text.
    pub(crate) fn row(&self) -> Row<'_> {
        Row {
            // `pos` and `pending` are line boundaries, so this slice always succeeds.
            line: self.text.get(self.pos..self.pos + self.pending).unwrap_or(""),
            scratch: &self.scratch,
            cells: &self.cells,
        }
    }

    pub(crate) fn io_error(&self, source: io::Error) -> ParseError {
        ParseError::Io {
            line: self.lines_read(),
            source,
        }
    }

    /// Reads the next non-blank record.
    pub(crate) fn next_record(&mut self) -> Result<Next, ParseError> {
        self.next_record_inner().map_err(|e| self.io_error(e))
    }

    fn next_record_inner(&mut self) -> io::Result<Next> {
        loop {
            self.pos += self.pending;
            self.pending = 0;
            self.cells.clear();
            self.scratch.clear();
            self.record_line = self.next_line;
            let (content_end, consumed) = match self.line_end(0, MAX_LINE)? {
                LineEnd::Newline(nl) => (nl, nl + 1),
                LineEnd::Eof(0) => return Ok(Next::End),
                LineEnd::Eof(end) => (end, end),
                LineEnd::TooLong => {
                    self.skip_line()?;
                    return Ok(Next::TooLong(self.record_line));
                }
            };
            let content_end = self.strip_cr(content_end);
            self.next_line += 1;
            let line = &self.text.as_bytes()[self.pos..self.pos + content_end];
            if line.iter().all(|&b| matches!(b, b'\t' | b' ')) {
                self.pending = consumed;
                continue;
            }
            self.split(content_end, consumed)?;
            self.check_not_cut()?;
            return Ok(Next::Record);
        }
    }

    /// Every report line ends in a line end, the last one included (every flat file in Amazon's samples
    /// does: ../shared/reference/reports). A row after the header without one is where a download was cut
    /// short: a read error, which is retried, rather than a short or mangled last row that would import the
    /// document minus its tail. Cut inside its last cell, the row even has all its cells.
    fn check_not_cut(&self) -> io::Result<()> {
        let terminated = self.text.as_bytes()[..self.pos + self.pending].ends_with(b"\n");
        if terminated || self.header_cells == 0 {
            return Ok(());
        }
        Err(io::Error::new(
            ErrorKind::UnexpectedEof,
            format!(
                "the document ends inside line {}, which has no line end ({} of the header's {} cells): it was \
                 cut short",
                self.record_line,
                self.cells.len(),
                self.header_cells
            ),
        ))
    }

    /// Splits the record whose first physical line ends at `content_end` (raw end `consumed`).
    fn split(&mut self, content_end: usize, consumed: usize) -> io::Result<()> {
        self.split_plain(content_end);
        let line = &self.text.as_bytes()[self.pos..self.pos + content_end];
        let starts_quoted = |span: &Span| line.get(span.range().start) == Some(&b'"');
        if memchr(b'"', line).is_some() && self.cells.iter().any(starts_quoted) {
            self.cells.clear();
            return self.split_quoted(content_end, consumed);
        }
        self.pending = consumed;
        Ok(())
    }

    /// Splits a line at every tab, eight bytes at a time. Finding all tabs first, rather than one cell after
    /// another, keeps the loop free of a chain of dependent loads.
    fn split_plain(&mut self, content_end: usize) {
        let line = &self.text.as_bytes()[self.pos..self.pos + content_end];
        let mut start = 0;
        let mut at = 0;
        let mut push = |tab: usize, start: &mut usize| {
            self.cells.push(Span::window(*start, tab));
            *start = tab + 1;
        };
        while let Some(chunk) = line[at..].first_chunk::<8>() {
            let mut tabs = tab_mask(u64::from_le_bytes(*chunk));
            while tabs != 0 {
                push(at + (tabs.trailing_zeros() / 8) as usize, &mut start);
                tabs &= tabs - 1;
            }
            at += 8;
        }
        for (i, &b) in line[at..].iter().enumerate() {
            if b == b'\t' {
                push(at + i, &mut start);
            }
        }
        self.cells.push(Span::window(start, content_end));
    }

    /// Splits a record with a cell that starts with `"`, which may be quoted and span lines.
    fn split_quoted(&mut self, mut content_end: usize, mut consumed: usize) -> io::Result<()> {
        let mut extra_lines = 0u32;
        let mut start = 0;
        loop {
            if start < content_end
                && self.text.as_bytes()[self.pos + start] == b'"'
                && let Some(quoted) = self.quoted(start, content_end, consumed, &mut extra_lines)?
            {
                self.cells.push(quoted.span);
                content_end = quoted.content_end;
                consumed = quoted.consumed;
                if quoted.after >= content_end {
                    break;
                }
                start = quoted.after + 1;
                continue;
            }
            let line = &self.text.as_bytes()[self.pos + start..self.pos + content_end];
            match find_tab(line) {
                Some(tab) => {
                    self.cells.push(Span::window(start, start + tab));
                    start += tab + 1;
                }
                None => {
                    self.cells.push(Span::window(start, content_end));
                    break;
                }
            }
        }
        self.pending = consumed;
        self.next_line += u64::from(extra_lines);
        Ok(())
    }

    /// Tries to read a quoted cell starting at `start`. `None` means: read it literally.
    fn quoted(
        &mut self,
        start: usize,
        mut content_end: usize,
        mut consumed: usize,
        extra_lines: &mut u32,
    ) -> io::Result<Option<Quoted>> {
        let from = self.scratch.len();
        let mut i = start + 1;
        let mut lines_here = 0u32;
        loop {
            let hay = &self.text.as_bytes()[self.pos + i..self.pos + content_end];
            match memchr2(b'"', b'\t', hay) {
                Some(k) if hay[k] == b'\t' => break,
                Some(k) => {
                    let q = i + k;
                    // Quotes, tabs and line ends are ASCII, so every slice here is on character boundaries.
                    self.scratch.push_str(&self.text[self.pos + i..self.pos + q]);
                    let next = self.text.as_bytes()[self.pos..self.pos + content_end]
                        .get(q + 1)
                        .copied();
                    match next {
                        Some(b'"') => {
                            self.scratch.push('"');
                            i = q + 2;
                        }
                        None | Some(b'\t') => {
                            *extra_lines += lines_here;
                            return Ok(Some(Quoted {
                                span: Span::scratch(from, self.scratch.len()),
                                after: q + 1,
                                content_end,
                                consumed,
                            }));
                        }
                        // `"12" pizza pan`: the quote was data.
                        Some(_) => break,
                    }
                }
                None => {
                    // The line ends inside the quotes: the cell may go on, within bounds, on the next line.
                    let at_eof = consumed == content_end;
                    if at_eof
                        || *extra_lines + lines_here >= QUOTED_MAX_LINES
                        || content_end - start > QUOTED_MAX_BYTES
                    {
                        break;
                    }
                    self.scratch
                        .push_str(&self.text[self.pos + i..self.pos + content_end]);
                    self.scratch.push('\n');
                    let next_start = consumed;
                    match self.line_end(next_start, MAX_LINE)? {
                        LineEnd::Newline(nl) => {
                            content_end = self.strip_cr(nl);
                            consumed = nl + 1;
                        }
                        LineEnd::Eof(end) if end > next_start => {
                            content_end = end;
                            consumed = end;
                        }
                        LineEnd::Eof(_) | LineEnd::TooLong => break,
                    }
                    lines_here += 1;
                    i = next_start;
                }
            }
        }
        self.scratch.truncate(from);
        Ok(None)
    }

    fn strip_cr(&self, content_end: usize) -> usize {
        if content_end > 0 && self.text.as_bytes()[self.pos + content_end - 1] == b'\r' {
            content_end - 1
        } else {
            content_end
        }
    }

    /// Finds the end of the physical line starting at relative offset `from`, reading more as needed.
    fn line_end(&mut self, from: usize, limit: usize) -> io::Result<LineEnd> {
        let mut scanned = from;
        loop {
            if let Some(k) = memchr(b'\n', &self.text.as_bytes()[self.pos + scanned..]) {
                let nl = scanned + k;
                return Ok(if nl - from > limit {
                    LineEnd::TooLong
                } else {
                    LineEnd::Newline(nl)
                });
            }
            scanned = self.text.len() - self.pos;
            if scanned - from > limit {
                return Ok(LineEnd::TooLong);
            }
            if !self.fill()? {
                return Ok(LineEnd::Eof(self.text.len() - self.pos));
            }
        }
    }

    /// Decodes more input, keeping everything from `pos`. `false` at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            // `pos` is a line start, so a character boundary.
            self.text.drain(..self.pos);
            self.pos = 0;
        }
        if self.text.len() >= MAX_WINDOW {
            // Unreachable through line_end's limits; refuse rather than grow without bound.
            return Err(io::Error::other("record exceeds the parser's window"));
        }
        // The decoder writes only into spare capacity.
        self.text
            .reserve((MAX_WINDOW - self.text.len()).min(3 * RAW_CHUNK));
        loop {
            if self.raw_pos == self.raw_len && !self.raw_eof {
                self.raw_pos = 0;
                self.raw_len = loop {
                    match self.src.read(&mut self.raw) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                self.raw_eof = self.raw_len == 0;
            }
            let before = self.text.len();
            let input = &self.raw[self.raw_pos..self.raw_len];
            let last = self.raw_eof;
            let (result, read, _replaced) = self.decoder.decode_to_string(input, &mut self.text, last);
            self.raw_pos += read;
            // The final call may still flush output (U+FFFD for a character cut off at the end): the decoder
            // is finished all the same, and encoding_rs panics if it is called again.
            let finished = last && result == CoderResult::InputEmpty;
            if finished {
                self.eof = true;
            }
            if self.text.len() > before {
                return Ok(true);
            }
            match result {
                CoderResult::InputEmpty if finished => return Ok(false),
                CoderResult::InputEmpty => {}
                CoderResult::OutputFull => self.text.reserve(16),
            }
        }
    }

    /// Drops the rest of an over-long line, without holding it.
    fn skip_line(&mut self) -> io::Result<()> {
        loop {
            if let Some(k) = memchr(b'\n', &self.text.as_bytes()[self.pos..]) {
                self.pos += k + 1;
                break;
            }
            self.pos = self.text.len();
            if !self.fill()? {
                break;
            }
        }
        self.next_line += 1;
        self.pending = 0;
        self.cells.clear();
        Ok(())
    }
}

/// A record's cells as text.
pub(crate) struct Row<'a> {
    line: &'a str,
    scratch: &'a str,
    cells: &'a [Span],
}

impl<'a> Row<'a> {
    /// Cell `i`; empty when the row is shorter.
    #[inline]
    pub(crate) fn cell(&self, i: usize) -> &'a str {
        let text = |s: &'a str, span: &Span| s.get(span.range()).unwrap_or("");
        match self.cells.get(i) {
            Some(span) if span.unescaped() => text(self.scratch, span),
            // Spans end at tabs and line ends, which are character boundaries: `get` always succeeds.
            Some(span) => text(self.line, span),
            None => "",
        }
    }

    /// Cell at an optional column index; empty when the column is absent.
    #[inline]
    pub(crate) fn get(&self, column: Option<usize>) -> &'a str {
        column.map_or("", |i| self.cell(i))
    }
}

/// The high bit of every byte of `word` (little-endian) that is a tab, and no other bit.
#[inline]
fn tab_mask(word: u64) -> u64 {
    const LOWS: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const TABS: u64 = 0x0909_0909_0909_0909;
    let x = word ^ TABS;
    // Exact per byte: adding 0x7F to the low seven bits cannot carry into the next byte.
    !(((x & LOWS) + LOWS) | x | LOWS)
}

/// Position of the first tab, eight bytes at a time: cells are short, so this beats a call to `memchr`.
#[inline]
fn find_tab(hay: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(chunk) = hay[at..].first_chunk::<8>() {
        let tabs = tab_mask(u64::from_le_bytes(*chunk));
        if tabs != 0 {
            return Some(at + (tabs.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    hay[at..].iter().position(|&b| b == b'\t').map(|p| at + p)
}

struct Quoted {
    span: Span,
    /// Relative offset just past the closing quote.
    after: usize,
    content_end: usize,
    consumed: usize,
}

/// A report's header: column names (trimmed, lower-cased: Amazon writes `Ship-address-2` in some files)
/// mapped to cell positions.
#[derive(Debug)]
pub(crate) struct Header {
    names: Vec<String>,
}

impl Header {
    /// Reads the header record, skipping leading blank lines.
    pub(crate) fn read<R: Read>(rows: &mut TsvReader<R>) -> Result<Header, ParseError> {
        match rows.next_record()? {
            Next::Record => {}
            Next::End => return Err(ParseError::Empty),
            Next::TooLong(line) => {
                return Err(ParseError::WrongReport(format!(
                    "header line {line} is longer than {MAX_LINE} bytes"
                )));
            }
        }
        if (0..rows.len()).any(|i| memchr(b'\r', rows.cell(i)).is_some()) {
            // Otherwise the whole document reads as one header line and imports as "no rows".
            return Err(ParseError::WrongReport(format!(
                "header line {} holds a CR: the document's lines end in CR alone, which no report does",
                rows.line()
            )));
        }
        let names = (0..rows.len())
            .map(|i| {
                let cell = rows.cell(i);
                let cell = cell.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(cell);
                String::from_utf8_lossy(cell.trim_ascii()).to_ascii_lowercase()
            })
            .collect::<Vec<_>>();
        rows.header_cells = names.len();
        Ok(Header { names })
    }

    /// Position of a column; the first one when a name repeats.
    pub(crate) fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Resolves `columns`, failing with every missing required one named.
    pub(crate) fn resolve<const N: usize>(
        &self,
        columns: [(&'static str, bool); N],
    ) -> Result<[Option<usize>; N], ParseError> {
        let found = columns.map(|(name, _)| self.index(name));
        let missing: Vec<&'static str> = columns
            .iter()
            .zip(&found)
            .filter(|((_, required), index)| *required && index.is_none())
            .map(|((name, _), _)| *name)
            .collect();
        if missing.is_empty() {
            Ok(found)
        } else {
            Err(ParseError::MissingColumns { columns: missing })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record as (line, cells).
    fn records(input: &[u8]) -> Vec<(u64, Vec<String>)> {
        let mut rows = TsvReader::new(input, Charset::UTF_8);
        let mut out = Vec::new();
        loop {
            match rows.next_record().unwrap() {
                Next::Record => out.push((
                    rows.line(),
                    (0..rows.len())
                        .map(|i| String::from_utf8(rows.cell(i).to_vec()).unwrap())
                        .collect(),
                )),
                Next::TooLong(line) => out.push((line, vec!["<too long>".into()])),
                Next::End => return out,
            }
        }
    }

    fn row(line: u64, cells: &[&str]) -> (u64, Vec<String>) {
        (line, cells.iter().map(|c| c.to_string()).collect())
    }

    #[test]
    fn crlf_lf_blank_lines_and_a_missing_final_newline_all_read() {
        let got = records(b"a\tb\r\n\r\n1\t2\n\t\t\n3\t4");
        assert_eq!(
            got,
            vec![row(1, &["a", "b"]), row(3, &["1", "2"]), row(5, &["3", "4"])]
        );
    }

    #[test]
    fn a_row_without_its_line_end_is_a_retryable_read_error() {
        // Cut mid-row (a download cut short): no line end, fewer cells than the header; or cut inside the last
        // cell, with every cell there.
        for (input, cells) in [
            (&b"a\tb\tc\n1\t2\t3\n4\t5"[..], "2 of"),
            (b"a\tb\tc\r\n1\t2\t3\r\n4\t5\t6", "3 of"),
        ] {
            let mut rows = TsvReader::new(input, Charset::UTF_8);
            Header::read(&mut rows).unwrap();
            assert_eq!(rows.next_record().unwrap(), Next::Record);
            let err = rows.next_record().unwrap_err();
            assert!(err.is_retryable(), "{err}");
            assert!(
                err.to_string().contains(&format!(
                    "line 3, which has no line end ({cells} the header's 3 cells)"
                )),
                "{err}"
            );
        }
        // A short row with its line end (ragged rows) and a header alone without one still read.
        for input in [&b"a\tb\tc\n1\t2\r\n4\t5\t6\n"[..], b"a\tb\tc"] {
            let mut rows = TsvReader::new(input, Charset::UTF_8);
            Header::read(&mut rows).unwrap();
            while rows.next_record().unwrap() != Next::End {}
        }
    }

    #[test]
    fn trailing_tabs_and_empty_cells_are_kept_as_empty_cells() {
        let got = records(b"a\t\tc\t\t\n");
        assert_eq!(got, vec![row(1, &["a", "", "c", "", ""])]);
    }

    #[test]
    fn quotes_inside_or_after_data_are_data() {
        let got = records(b"12\" pizza pan\t\"12\" pan\tx\"y\n");
        assert_eq!(got, vec![row(1, &["12\" pizza pan", "\"12\" pan", "x\"y"])]);
    }

    #[test]
    fn a_quoted_multi_line_cell_is_one_cell_and_lines_keep_counting() {
        let input =
            b"id\tname\tqty\r\n1\t\"The Structure: \nVolume \"\"1\"\"\n(Vol 1)\"\t1\r\n2\tplain\t3\r\n";
        let got = records(input);
        assert_eq!(
            got,
            vec![
                row(1, &["id", "name", "qty"]),
                row(2, &["1", "The Structure: \nVolume \"1\"\n(Vol 1)", "1"]),
                row(5, &["2", "plain", "3"]),
            ]
        );
    }

    #[test]
    fn a_stray_opening_quote_never_swallows_the_rows_after_it() {
        let mut input = b"1\t\"Deluxe pan\t5\n".to_vec();
        for n in 2..40 {
            input.extend_from_slice(format!("{n}\tpan {n}\"\t5\n").as_bytes());
        }
        let got = records(&input);
        assert_eq!(got.len(), 39);
        assert_eq!(got[0], row(1, &["1", "\"Deluxe pan", "5"]));
        assert_eq!(got[1], row(2, &["2", "pan 2\"", "5"]));
    }

    #[test]
    fn an_unclosed_quote_in_the_last_column_is_bounded_by_the_line_cap() {
        let mut input = b"1\t\"open\n".to_vec();
        for n in 2..=40 {
            input.extend_from_slice(format!("line {n}\n").as_bytes());
        }
        let got = records(&input);
        assert_eq!(got.len(), 40, "every line read on its own");
        assert_eq!(got[0], row(1, &["1", "\"open"]));
        assert_eq!(got[39], row(40, &["line 40"]));
    }

    #[test]
    fn an_over_long_line_is_reported_and_skipped() {
        let mut input = b"a\tb\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        input.extend_from_slice(b"\nc\td\n");
        let got = records(&input);
        assert_eq!(
            got,
            vec![row(1, &["a", "b"]), row(2, &["<too long>"]), row(3, &["c", "d"])]
        );
    }

    #[test]
    fn records_spanning_many_refills_are_read_whole() {
        let mut input = Vec::new();
        for n in 0..20_000 {
            input.extend_from_slice(format!("{n}\t{}\tend\n", "y".repeat(n % 300)).as_bytes());
        }
        let got = records(&input);
        assert_eq!(got.len(), 20_000);
        assert_eq!(got[19_999].1[0], "19999");
        assert_eq!(got[19_999].1[2], "end");
        assert_eq!(got[19_999].0, 20_000);
    }

    #[test]
    fn tab_mask_flags_exactly_the_tabs() {
        for byte in 0..=255u8 {
            for at in 0..8 {
                let mut word = [0x08u8, 0x01, 0x09, 0x0A, 0x89, 0xFF, 0x00, 0x20];
                word[at] = byte;
                let mask = tab_mask(u64::from_le_bytes(word));
                for (i, &b) in word.iter().enumerate() {
                    assert_eq!(
                        mask >> (8 * i + 7) & 1 == 1,
                        b == b'\t',
                        "byte {b:#x} at {i} in {word:?}"
                    );
                }
                assert_eq!(mask & !0x8080_8080_8080_8080, 0);
            }
        }
    }

    #[test]
    fn lines_of_every_length_split_at_every_tab() {
        for len in 0..200 {
            let line: String = (0..len)
                .map(|i| if i % 7 == 3 || i % 64 == 63 { '\t' } else { 'a' })
                .collect();
            let mut expected: Vec<String> = line.split('\t').map(str::to_owned).collect();
            if let Some(last) = expected.last_mut() {
                last.push('x');
            }
            assert_eq!(
                records(format!("{line}x\n").as_bytes()),
                vec![(1, expected)],
                "len {len}"
            );
        }
    }

    #[test]
    fn a_quoted_cell_far_into_a_line_is_noticed() {
        for at in 60..70 {
            let mut line = "a".repeat(at);
            line.push('\t');
            line.push_str("\"x\ny\"\tz\n");
            let got = records(line.as_bytes());
            assert_eq!(got[0].1[1], "x\ny", "tab at {at}");
            assert_eq!(got[0].1[2], "z");
        }
    }

    #[test]
    fn find_tab_finds_the_first_tab_at_any_offset() {
        for len in 0..40 {
            for tab in 0..len {
                let mut hay = vec![b'x'; len];
                hay[tab] = b'\t';
                if tab + 1 < len {
                    hay[len - 1] = b'\t';
                }
                assert_eq!(find_tab(&hay), Some(tab), "len {len} tab {tab}");
            }
            assert_eq!(find_tab(&vec![0x89; len]), None);
        }
    }

    #[test]
    fn a_document_ending_in_an_incomplete_character_reads_it_as_a_replacement_character() {
        // UTF-8 cut inside a three-byte character, Shift_JIS cut after a lead byte, with and without a newline
        // before it: the decoder's final call flushes U+FFFD, and it must not be called again after that.
        for (input, charset) in [
            (&b"a\tb\n\xE3\x81"[..], Charset::UTF_8),
            (&b"a\tb\xE3"[..], Charset::UTF_8),
            (&b"a\tb\n\x82"[..], Charset::CP932),
            (&b"\x82"[..], Charset::CP932),
        ] {
            let mut rows = TsvReader::new(input, charset);
            let mut last = String::new();
            while let Next::Record = rows.next_record().unwrap() {
                last = rows.row().cell(rows.len() - 1).to_owned();
            }
            assert!(last.ends_with('\u{FFFD}'), "{input:?} in {charset:?}: {last:?}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        let mut rows = TsvReader::new(&b"ok\tL\xF6we\n"[..], Charset::UTF_8);
        assert_eq!(rows.next_record().unwrap(), Next::Record);
        assert_eq!(rows.row().cell(1), "L\u{FFFD}we");
    }

    #[test]
    fn cp1252_bytes_are_decoded_into_the_cells_and_a_bom_switches_to_utf8() {
        let mut rows = TsvReader::new(&b"L\xF6we\t12\x94 pan\n"[..], Charset::WINDOWS_1252);
        assert_eq!(rows.next_record().unwrap(), Next::Record);
        assert_eq!(
            (rows.row().cell(0), rows.row().cell(1)),
            ("Löwe", "12\u{201D} pan")
        );
        let mut rows = TsvReader::new("\u{FEFF}Löwe\n".as_bytes(), Charset::WINDOWS_1252);
        assert_eq!(rows.next_record().unwrap(), Next::Record);
        assert_eq!(rows.row().cell(0), "Löwe");
    }

    #[test]
    fn header_names_are_trimmed_and_lower_cased_and_missing_ones_are_all_named() {
        let mut rows = TsvReader::new(
            &b"\xEF\xBB\xBFOrder-Id\tShip-address-2 \t\t\n"[..],
            Charset::UTF_8,
        );
        let header = Header::read(&mut rows).unwrap();
        assert_eq!(header.index("order-id"), Some(0));
        assert_eq!(header.index("ship-address-2"), Some(1));
        let err = header
            .resolve([
                ("order-id", true),
                ("sku", true),
                ("asin", false),
                ("quantity", true),
            ])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "report header lacks required column(s) sku, quantity"
        );
    }
}
