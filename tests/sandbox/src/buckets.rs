//! Token buckets per (seller, operation), refilled in the sandbox clock's time, as Amazon meters SP-API calls.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::operations::{Operation, UsagePlan};

/// One bucket: `tokens` left as of `updated`, refilled continuously at `rate` per second up to `burst`.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: DateTime<Utc>,
}

impl TokenBucket {
    /// A full bucket, as Amazon's are for a seller's first call.
    pub(crate) fn full(rate: f64, burst: u32, now: DateTime<Utc>) -> Self {
        TokenBucket {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            updated: now,
        }
    }

    /// Takes a token if one is there; `false` means the call is throttled.
    pub(crate) fn try_take(&mut self, now: DateTime<Utc>) -> bool {
        // A clock set backwards (manual clocks can be) refills nothing rather than draining the bucket.
        let elapsed = (now - self.updated).as_seconds_f64().max(0.0);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = self.updated.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Every seller's buckets, created full on first use.
#[derive(Debug)]
pub(crate) struct Buckets {
    rate_scale: f64,
    buckets: HashMap<(String, Operation), TokenBucket>,
}

impl Buckets {
    /// Buckets whose refill rates are Amazon's multiplied by `rate_scale`.
    pub(crate) fn new(rate_scale: f64) -> Self {
        Buckets {
            rate_scale,
            buckets: HashMap::new(),
        }
    }

    /// The rate a seller sees for `plan`, after scaling.
    pub(crate) fn scaled_rate(&self, plan: &UsagePlan) -> f64 {
        plan.rate * self.rate_scale
    }

    /// Takes a token from the seller's bucket for `op`; operations without a usage plan are never throttled.
    pub(crate) fn try_take(&mut self, seller: &str, op: Operation, now: DateTime<Utc>) -> bool {
        let Some(plan) = op.usage_plan() else {
            return true;
        };
        let rate = self.scaled_rate(plan);
        self.buckets
            .entry((seller.to_owned(), op))
            .or_insert_with(|| TokenBucket::full(rate, plan.burst, now))
            .try_take(now)
    }
}

/// `x-amzn-RateLimit-Limit` as Amazon writes it: `2.0`, `0.0167`, `5.0`.
pub(crate) fn format_rate(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{rate:.1}")
    } else {
        let text = format!("{rate:.4}");
        let text = text.trim_end_matches('0');
        text.strip_suffix('.')
            .map_or_else(|| text.to_owned(), |whole| format!("{whole}.0"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn a_full_bucket_allows_its_burst_then_refills_at_its_rate() {
        let start = Utc::now();
        let mut bucket = TokenBucket::full(0.5, 3, start);
        assert!((0..3).all(|_| bucket.try_take(start)));
        assert!(!bucket.try_take(start));
        assert!(!bucket.try_take(start + TimeDelta::milliseconds(1900)));
        assert!(bucket.try_take(start + TimeDelta::seconds(2)));
        assert!(!bucket.try_take(start + TimeDelta::seconds(2)));
    }

    #[test]
    fn a_clock_set_backwards_neither_refills_nor_panics() {
        let start = Utc::now();
        let mut bucket = TokenBucket::full(1.0, 1, start);
        assert!(bucket.try_take(start));
        assert!(!bucket.try_take(start - TimeDelta::hours(1)));
        assert!(bucket.try_take(start + TimeDelta::seconds(1)));
    }

    #[test]
    fn buckets_are_kept_per_seller_and_operation_and_scaled() {
        let now = Utc::now();
        let mut buckets = Buckets::new(10.0);
        for _ in 0..15 {
            assert!(buckets.try_take("A1", Operation::CreateReport, now));
        }
        assert!(!buckets.try_take("A1", Operation::CreateReport, now));
        assert!(buckets.try_take("A2", Operation::CreateReport, now));
        assert!(buckets.try_take("A1", Operation::GetReport, now));
        // 0.0167 * 10 per second: one token after six seconds.
        assert!(buckets.try_take("A1", Operation::CreateReport, now + TimeDelta::seconds(6)));
        assert!(buckets.try_take("A1", Operation::LwaToken, now));
    }

    #[test]
    fn rates_are_written_as_amazon_writes_them() {
        assert_eq!(format_rate(2.0), "2.0");
        assert_eq!(format_rate(0.0167), "0.0167");
        assert_eq!(format_rate(0.0222 * 10.0), "0.222");
        assert_eq!(format_rate(5.0), "5.0");
        assert_eq!(format_rate(0.00001), "0.0");
    }
}
