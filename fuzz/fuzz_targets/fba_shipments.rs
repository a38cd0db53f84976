//! Fuzzes the FBA shipments flat file parser: the first input byte picks the charset, the rest is the document. Any answer
//! (records, quarantine entries, a document error) is fine; a panic, a hang or runaway memory is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::domain::ReportKind;
use shared::parse::parse_fuzz_input;

fuzz_target!(|data: &[u8]| {
    let _ = parse_fuzz_input(ReportKind::FbaShipments, data);
});
