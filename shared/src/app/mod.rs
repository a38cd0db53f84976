//! Use cases: what the functions do, over ports, so that tests and the local runner can run them anywhere.

pub mod accounts;
pub mod batch;
pub mod connect;
pub mod credentials;
pub mod enrich_orders;
pub mod feeds;
pub mod health;
pub mod idempotency;
pub mod import;
pub mod notifications;
pub mod orders;
pub mod parse_reports;
pub mod poll_reports;
pub mod publish_events;
pub mod reports;
pub mod request_reports;
pub mod store_orders;
pub mod subscriptions;
