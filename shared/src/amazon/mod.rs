//! The Selling Partner API client: one `AmazonClient` that every function talks to Amazon (or the sandbox)
//! through.
//!
//! - [`rate`]: operations and their usage plans, the [`RateLimiter`] port, token-bucket arithmetic.

pub mod rate;

#[cfg(test)]
mod testing;

pub use rate::{MemoryRateLimiter, Operation, Quota, RateLimiter, TokenBucket};
