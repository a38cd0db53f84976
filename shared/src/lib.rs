//! sellersync's library: everything the Lambda functions do, so that each `main.rs` only wires it up.
//!
//! # Layout
//!
//! - [`config`]: the one `Config`, read from the environment at cold start.
//! - [`clock`]: time as a dependency (the wall clock, or a faster one for local runs).
//! - [`domain`]: orders, shipments, buyer PII, money, seller accounts, regions and marketplaces; plain data.
//! - [`error`]: the typed errors shared across modules.
//! - [`ports`]: the traits use cases reach the outside world through.
//! - [`app`]: the use cases, one module per function or API area.
//! - [`api`]: the HTTP API's axum router over the use cases.
//! - [`metrics`]: CloudWatch metrics in Embedded Metric Format, the ones the alarms watch.
//! - [`runtime`]: cold-start wiring of adapters and use cases, shared by the functions and the local runner.
//! - `testing` (feature `testing`): in-memory fakes of the ports.
//! - [`adapters`]: those ports over AWS (DynamoDB, SQS, Scheduler, Secrets Manager).
//! - [`amazon`]: the Selling Partner API client: LWA, rate limiting, retries, reports, feeds, documents.
//! - [`parse`]: streaming parsers for Amazon's order reports (flat files and XML), any charset.
//! - [`feeds`]: the seller's actions as feed documents (XML order feeds, JSON listings), and processing reports.

pub mod adapters;
pub mod amazon;
pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod feeds;
pub mod metrics;
pub mod panic;
pub mod parse;
pub mod ports;
pub mod runtime;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
