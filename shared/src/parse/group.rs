//! Grouping the rows of one order into one record: consecutive rows with the same order id form an order; a
//! bad row quarantines its whole order. Memory holds one order at a time plus a fixed-size Bloom filter that
//! recognises an order id coming back after other orders, which is then yielded again, marked `split`.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hasher};
use std::io::Read;

use super::tsv::{MAX_LINE, Next, TsvReader};
use super::value::{CellResult, trim};
use super::{ParseSummary, Parsed, Quarantined, Record};
use crate::error::ParseError;

/// A report whose rows group into orders.
pub(crate) trait GroupParser {
    /// An order being built from its rows.
    type Partial;
    /// The finished order.
    type Record;

    /// Position and name of the order-id column.
    fn id_column(&self) -> (usize, &'static str);
    /// Starts an order from its first row (its order-level cells).
    fn begin<R: Read>(&mut self, row: &TsvReader<R>) -> CellResult<Self::Partial>;
    /// Adds a row's line-level cells, the first row's included.
    fn add<R: Read>(&mut self, order: &mut Self::Partial, row: &TsvReader<R>) -> CellResult<()>;
    /// Finishes an order.
    fn finish(&mut self, order: Self::Partial) -> Self::Record;
}

/// Order ids remembered as quarantined, so that their later, split-off rows are quarantined too. Bounded: a
/// document worse than this has bigger problems, and its later fragments are still flagged `split`.
const QUARANTINED_IDS_CAP: usize = 100_000;

enum State<T> {
    Building(T),
    Poisoned { line: u64, reason: String, more: u32 },
}

struct Group<T> {
    first_line: u64,
    split: bool,
    state: State<T>,
}

impl<T> Group<T> {
    fn poison(&mut self, line: u64, reason: String) {
        match &mut self.state {
            State::Poisoned { more, .. } => *more += 1,
            State::Building(_) => {
                self.state = State::Poisoned {
                    line,
                    reason,
                    more: 0,
                }
            }
        }
    }
}

/// Iterator over the orders of a grouped flat-file report.
pub(crate) struct Grouped<R, P: GroupParser> {
    rows: TsvReader<R>,
    parser: P,
    group: Option<Group<P::Partial>>,
    id: Vec<u8>,
    next_id: Vec<u8>,
    lines: Vec<u64>,
    /// Rows without an order id (or unreadable) since the current group's last row, with why.
    orphans: Vec<(u64, String)>,
    out: VecDeque<Parsed<P::Record>>,
    seen: Bloom,
    quarantined_ids: HashMap<Vec<u8>, u64>,
    summary: ParseSummary,
    done: bool,
}

impl<R: Read, P: GroupParser> Grouped<R, P> {
    pub(crate) fn new(rows: TsvReader<R>, parser: P) -> Self {
        Grouped {
            rows,
            parser,
            group: None,
            id: Vec::new(),
            next_id: Vec::new(),
            lines: Vec::new(),
            orphans: Vec::new(),
            out: VecDeque::new(),
            seen: Bloom::default(),
            quarantined_ids: HashMap::new(),
            summary: ParseSummary::default(),
            done: false,
        }
    }

    pub(crate) fn summary(&self) -> ParseSummary {
        ParseSummary {
            lines: self.rows.lines_read(),
            ..self.summary
        }
    }

    pub(crate) fn next_entry(&mut self) -> Option<Result<Parsed<P::Record>, ParseError>> {
        loop {
            if let Some(entry) = self.out.pop_front() {
                return Some(Ok(entry));
            }
            if self.done {
                return None;
            }
            match self.rows.next_record() {
                Ok(Next::Record) => self.row(),
                Ok(Next::TooLong(line)) => {
                    self.summary.rows += 1;
                    self.orphans
                        .push((line, format!("line is longer than {MAX_LINE} bytes; skipped")));
                }
                Ok(Next::End) => {
                    self.finish_group();
                    self.flush_orphans();
                    self.done = true;
                }
                Err(err) => {
                    // The order being read may be incomplete: leave it out rather than store half of it.
                    self.done = true;
                    return Some(Err(err));
                }
            }
        }
    }

    fn row(&mut self) {
        self.summary.rows += 1;
        let line = self.rows.line();
        let (id_column, id_name) = self.parser.id_column();
        self.next_id.clear();
        self.next_id.extend_from_slice(trim(self.rows.cell(id_column)));
        if self.next_id.is_empty() {
            self.orphans.push((line, format!("{id_name}: empty")));
            return;
        }
        if let Some(group) = self.group.as_mut().filter(|_| self.next_id == self.id) {
            // Rows without an id between two rows of this order most likely belong to it.
            for (orphan, _) in self.orphans.drain(..) {
                self.lines.push(orphan);
                group.poison(
                    orphan,
                    format!("row at line {orphan}, inside this order's rows, has no readable {id_name}"),
                );
            }
            self.lines.push(line);
            if let State::Building(order) = &mut group.state
                && let Err(err) = self.parser.add(order, &self.rows)
            {
                group.poison(line, err.reason());
            }
            return;
        }
        self.finish_group();
        self.flush_orphans();
        std::mem::swap(&mut self.id, &mut self.next_id);
        self.lines.clear();
        self.lines.push(line);
        let split = self.seen.check_and_insert(&self.id);
        let state = match self.quarantined_ids.get(&self.id) {
            Some(first) => State::Poisoned {
                line,
                reason: format!(
                    "order was already quarantined at line {first}; its later rows are left out too"
                ),
                more: 0,
            },
            None => {
                let begun = self
                    .parser
                    .begin(&self.rows)
                    .and_then(|mut order| self.parser.add(&mut order, &self.rows).map(|()| order));
                match begun {
                    Ok(order) => State::Building(order),
                    Err(err) => State::Poisoned {
                        line,
                        reason: err.reason(),
                        more: 0,
                    },
                }
            }
        };
        self.group = Some(Group {
            first_line: line,
            split,
            state,
        });
    }

    fn finish_group(&mut self) {
        let Some(group) = self.group.take() else {
            return;
        };
        match group.state {
            State::Building(order) => {
                let value = self.parser.finish(order);
                self.summary.records += 1;
                self.summary.split_records += u64::from(group.split);
                self.out.push_back(Parsed::Record(Record {
                    value,
                    line: group.first_line,
                    split: group.split,
                }));
            }
            State::Poisoned { line, reason, more } => {
                let reason = match more {
                    0 => reason,
                    n => format!("{reason} (and {n} more bad row(s) in this order)"),
                };
                if self.quarantined_ids.len() < QUARANTINED_IDS_CAP {
                    self.quarantined_ids.entry(self.id.clone()).or_insert(line);
                }
                self.lines.sort_unstable();
                self.summary.quarantined += 1;
                self.summary.quarantined_rows += self.lines.len() as u64;
                self.out.push_back(Parsed::Quarantined(Quarantined {
                    line,
                    lines: self.lines.clone(),
                    order_id: Some(String::from_utf8_lossy(&self.id).into_owned()),
                    reason,
                }));
            }
        }
    }

    fn flush_orphans(&mut self) {
        for (line, reason) in self.orphans.drain(..) {
            self.summary.quarantined += 1;
            self.summary.quarantined_rows += 1;
            self.out.push_back(Parsed::Quarantined(Quarantined {
                line,
                lines: vec![line],
                order_id: None,
                reason,
            }));
        }
    }
}

const BLOOM_BITS: usize = 1 << 25;
const BLOOM_HASHES: u32 = 7;

/// A fixed 4 MiB Bloom filter of order ids, allocated on first use (and paged in by the OS as it fills).
#[derive(Default)]
struct Bloom {
    words: Vec<u64>,
}

impl Bloom {
    /// Whether `key` may have been inserted before; inserts it.
    fn check_and_insert(&mut self, key: &[u8]) -> bool {
        if self.words.is_empty() {
            self.words = vec![0; BLOOM_BITS / 64];
        }
        let mut hasher = DefaultHasher::new();
        hasher.write(key);
        let hash = hasher.finish();
        let (h1, h2) = (hash as u32, ((hash >> 32) as u32) | 1);
        let mut present = true;
        for i in 0..BLOOM_HASHES {
            let bit = (h1.wrapping_add(i.wrapping_mul(h2)) as usize) & (BLOOM_BITS - 1);
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            if self.words[word] & mask == 0 {
                present = false;
                self.words[word] |= mask;
            }
        }
        present
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bloom_filter_remembers_every_key_and_rarely_imagines_one() {
        let mut bloom = Bloom::default();
        let keys: Vec<String> = (0..200_000).map(|n| format!("114-{n:07}-1234567")).collect();
        assert!(keys.iter().all(|k| !bloom.check_and_insert(k.as_bytes())));
        assert!(keys.iter().all(|k| bloom.check_and_insert(k.as_bytes())));
        let false_alarms = (0..200_000)
            .filter(|n| bloom.check_and_insert(format!("205-{n:07}-7654321").as_bytes()))
            .count();
        assert!(false_alarms < 20, "{false_alarms}");
    }
}
