//! sellersync's library: everything the Lambda functions do, so that each `main.rs` only wires it up.
//!
//! # Layout
//!
//! - [`config`]: the one `Config`, read from the environment at cold start.
//! - [`clock`]: time as a dependency (the wall clock, or a faster one for local runs).
//! - [`domain`]: orders, shipments, buyer PII, money, seller accounts, regions and marketplaces; plain data.
//! - [`error`]: the typed errors shared across modules.
//! - [`parse`]: streaming parsers for Amazon's order reports (flat files and XML), any charset.

pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod parse;
