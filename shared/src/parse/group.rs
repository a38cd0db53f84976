//! Grouping the rows of one order into one record: consecutive rows with the same order id form an order; a
//! bad row quarantines its whole order. Memory holds one order at a time plus bounded Bloom filters that
//! recognise an order id coming back after other orders, which is then yielded again, marked `split`.

use std::collections::{HashMap, VecDeque};
use std::io::Read;

use super::tsv::{MAX_LINE, Next, Row, TsvReader};
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
    fn begin(&mut self, row: &Row<'_>) -> CellResult<Self::Partial>;
    /// Adds a row's line-level cells, the first row's included.
    fn add(&mut self, order: &mut Self::Partial, row: &Row<'_>) -> CellResult<()>;
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
                && let Err(err) = self.parser.add(order, &self.rows.row())
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
                let row = self.rows.row();
                let begun = self
                    .parser
                    .begin(&row)
                    .and_then(|mut order| self.parser.add(&mut order, &row).map(|()| order));
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

const BLOOM_HASHES: u32 = 7;
/// Filter tiers: (blocks of 64 bytes, ids it takes before the next tier opens). Each tier is sized for about
/// 3 false alarms in 100,000 when full; every order costs a lookup in each open tier, so the first is small
/// enough to stay in cache for most documents. 26 MiB at most, whatever the document's size.
const BLOOM_TIERS: [(usize, u64); 3] = [(1 << 15, 500_000), (1 << 17, 2_000_000), (1 << 18, u64::MAX)];

/// Order ids seen in this document, in a few fixed-size Bloom filters allocated as the document grows (and
/// paged in by the OS as they fill). Blocked: all of a key's bits fall in one cache line.
#[derive(Default)]
struct Bloom {
    tiers: Vec<BloomTier>,
}

struct BloomTier {
    blocks: Vec<Block>,
    keys: u64,
    capacity: u64,
}

/// One cache line.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Block([u64; 8]);

impl Bloom {
    /// Whether `key` may have been inserted before; inserts it.
    fn check_and_insert(&mut self, key: &[u8]) -> bool {
        let hash = hash(key);
        let present = self.tiers.iter_mut().any(|tier| tier.test(hash, false));
        if !present {
            let full = self.tiers.last().is_none_or(|tier| tier.keys >= tier.capacity);
            if full && let Some(&(blocks, capacity)) = BLOOM_TIERS.get(self.tiers.len()) {
                self.tiers.push(BloomTier {
                    blocks: vec![Block([0; 8]); blocks],
                    keys: 0,
                    capacity,
                });
            }
            if let Some(tier) = self.tiers.last_mut() {
                tier.test(hash, true);
                tier.keys += 1;
            }
        }
        present
    }
}

impl BloomTier {
    /// Whether all of the key's bits are set; sets them when `insert`.
    fn test(&mut self, hash: u64, insert: bool) -> bool {
        let index = (hash as usize) & (self.blocks.len() - 1);
        let block = &mut self.blocks[index].0;
        // A second, independent 64 bits for the seven 9-bit positions in the block.
        let mut bits = hash.wrapping_mul(0xD6E8_FEB8_6659_FD93).rotate_left(32) ^ (hash >> 16);
        let mut present = true;
        for _ in 0..BLOOM_HASHES {
            let bit = (bits & 511) as usize;
            bits >>= 9;
            let (word, mask) = (bit / 64, 1u64 << (bit % 64));
            present &= block[word] & mask != 0;
            if insert {
                block[word] |= mask;
            }
        }
        present
    }
}

/// A fast, well-mixed 64-bit hash of a short key (order ids are 19 bytes); not for untrusted hash tables.
fn hash(key: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = key.len() as u64;
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h.rotate_left(23) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    // Murmur3's finaliser spreads every input bit over the whole word.
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
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
        let mut big = Bloom::default();
        for n in 0..1_000_000u32 {
            big.check_and_insert(format!("111-{n:07}-0000000").as_bytes());
        }
        let false_alarms = (0..1_000_000u32)
            .filter(|n| big.check_and_insert(format!("114-{n:07}-9999999").as_bytes()))
            .count();
        // Filled with one to two million ids while checking.
        assert!(false_alarms < 100, "{false_alarms} in a million");
        assert_eq!(big.tiers.len(), 2);
    }
}
