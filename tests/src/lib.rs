//! sellersync's test infrastructure: the local AWS stack harness, the SP-API sandbox and the local runner.

pub mod bench;
pub mod latency;
pub mod logs;
pub mod orders;
pub mod runner;
pub mod stack;

// The sandbox is a crate of its own, so that `shared`'s tests can run use cases against it; these names keep
// `tests::sandbox` and `tests::reference` where they were.
pub use sandbox::{self, reference};
