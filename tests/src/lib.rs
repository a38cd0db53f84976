//! sellersync's test infrastructure: the local AWS stack harness, the SP-API sandbox and the local runner.

pub mod bench;
pub mod latency;
pub mod logs;
pub mod orders;
pub mod reference;
pub mod runner;
pub mod sandbox;
pub mod stack;
