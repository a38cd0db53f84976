//! The local runner: every function's handler in one process against the local stack, with what AWS does
//! around them (schedule ticks, SQS event-source polling with batch failures and redrive, the HTTP API on a
//! loopback port).

pub mod chaos;
pub mod local;
pub mod proxy;
pub mod scenario;
pub mod sqs_source;
pub mod streams;
pub mod ticker;
