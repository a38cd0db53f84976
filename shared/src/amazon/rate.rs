//! Rate limiting as SP-API does it: a token bucket per (application, seller, operation), drawn from before
//! every call.
//!
//! The bucket arithmetic ([`TokenBucket`]) is pure so that the in-memory limiter here and a shared one (DynamoDB,
//! for every Lambda instance) compute it the same way.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::StoreError;

/// Every SP-API operation the client calls, with its default usage plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Reports 2021-06-30 `createReport`.
    CreateReport,
    /// Reports 2021-06-30 `getReport`.
    GetReport,
    /// Reports 2021-06-30 `getReports`.
    GetReports,
    /// Reports 2021-06-30 `cancelReport`.
    CancelReport,
    /// Reports 2021-06-30 `getReportDocument`.
    GetReportDocument,
    /// Feeds 2021-06-30 `createFeedDocument`.
    CreateFeedDocument,
    /// Feeds 2021-06-30 `createFeed`.
    CreateFeed,
    /// Feeds 2021-06-30 `getFeed`.
    GetFeed,
    /// Feeds 2021-06-30 `getFeeds`.
    GetFeeds,
    /// Feeds 2021-06-30 `cancelFeed`.
    CancelFeed,
    /// Feeds 2021-06-30 `getFeedDocument`.
    GetFeedDocument,
    /// Tokens 2021-03-01 `createRestrictedDataToken`.
    CreateRestrictedDataToken,
    /// Orders 2026-01-01 `getOrder`.
    GetOrder,
    /// Orders 2026-01-01 `searchOrders`.
    SearchOrders,
    /// Sellers v1 `getMarketplaceParticipations`.
    GetMarketplaceParticipations,
    /// Application Management API `rotateApplicationClientSecret` (grantless).
    RotateApplicationClientSecret,
    /// Notifications v1 `getDestinations` (grantless).
    GetDestinations,
    /// Notifications v1 `createDestination` (grantless).
    CreateDestination,
    /// Notifications v1 `getSubscription`.
    GetSubscription,
    /// Notifications v1 `createSubscription`.
    CreateSubscription,
    /// Notifications v1 `deleteSubscriptionById` (grantless).
    DeleteSubscriptionById,
}

impl Operation {
    /// Every operation, in a stable order.
    pub const ALL: [Operation; 21] = [
        Operation::CreateReport,
        Operation::GetReport,
        Operation::GetReports,
        Operation::CancelReport,
        Operation::GetReportDocument,
        Operation::CreateFeedDocument,
        Operation::CreateFeed,
        Operation::GetFeed,
        Operation::GetFeeds,
        Operation::CancelFeed,
        Operation::GetFeedDocument,
        Operation::CreateRestrictedDataToken,
        Operation::GetOrder,
        Operation::SearchOrders,
        Operation::GetMarketplaceParticipations,
        Operation::RotateApplicationClientSecret,
        Operation::GetDestinations,
        Operation::CreateDestination,
        Operation::GetSubscription,
        Operation::CreateSubscription,
        Operation::DeleteSubscriptionById,
    ];

    /// The model's `operationId`, e.g. `createReport`; also the name in logs and limiter keys.
    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateReport => "createReport",
            Operation::GetReport => "getReport",
            Operation::GetReports => "getReports",
            Operation::CancelReport => "cancelReport",
            Operation::GetReportDocument => "getReportDocument",
            Operation::CreateFeedDocument => "createFeedDocument",
            Operation::CreateFeed => "createFeed",
            Operation::GetFeed => "getFeed",
            Operation::GetFeeds => "getFeeds",
            Operation::CancelFeed => "cancelFeed",
            Operation::GetFeedDocument => "getFeedDocument",
            Operation::CreateRestrictedDataToken => "createRestrictedDataToken",
            Operation::GetOrder => "getOrder",
            Operation::SearchOrders => "searchOrders",
            Operation::GetMarketplaceParticipations => "getMarketplaceParticipations",
            Operation::RotateApplicationClientSecret => "rotateApplicationClientSecret",
            Operation::GetDestinations => "getDestinations",
            Operation::CreateDestination => "createDestination",
            Operation::GetSubscription => "getSubscription",
            Operation::CreateSubscription => "createSubscription",
            Operation::DeleteSubscriptionById => "deleteSubscriptionById",
        }
    }

    /// The operation with this `operationId`.
    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Amazon's default usage plan for the operation (rate per second and burst), as published in its
    /// usage-plans table. A seller's real rate may differ; `x-amzn-RateLimit-Limit` tells it.
    pub fn default_quota(self) -> Quota {
        let (rate, burst) = match self {
            Operation::CreateReport => (0.0167, 15),
            Operation::GetReport => (2.0, 15),
            Operation::GetReports => (0.0222, 10),
            Operation::CancelReport => (0.0222, 10),
            Operation::GetReportDocument => (0.0167, 15),
            Operation::CreateFeedDocument => (0.5, 15),
            Operation::CreateFeed => (0.0083, 15),
            Operation::GetFeed => (2.0, 15),
            Operation::GetFeeds => (0.0222, 10),
            Operation::CancelFeed => (2.0, 15),
            Operation::GetFeedDocument => (0.0222, 10),
            Operation::CreateRestrictedDataToken => (1.0, 10),
            Operation::GetOrder => (0.5, 30),
            Operation::SearchOrders => (0.0056, 20),
            // sellers.json, the operation's "Usage Plan" table (the usage-plans table has no Sellers rows).
            Operation::GetMarketplaceParticipations => (0.016, 15),
            // application_2023-11-30.json, the operation's "Usage Plan" table.
            Operation::RotateApplicationClientSecret => (0.0167, 1),
            // notifications.json, each operation's "Usage Plan" table (and the usage-plans table).
            Operation::GetDestinations
            | Operation::CreateDestination
            | Operation::GetSubscription
            | Operation::CreateSubscription
            | Operation::DeleteSubscriptionById => (1.0, 5),
        };
        Quota { rate, burst }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A usage plan: tokens added per second (may be below one) and the bucket's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Tokens restored per second.
    pub rate: f64,
    /// The most tokens the bucket holds, i.e. the longest burst of calls.
    pub burst: u32,
}

impl Quota {
    /// A usage plan, if `rate` is a positive finite number and `burst` at least 1.
    pub fn new(rate: f64, burst: u32) -> Option<Quota> {
        (rate.is_finite() && rate > 0.0 && burst >= 1).then_some(Quota { rate, burst })
    }
}

/// Float slack so that a bucket refilled for exactly the computed wait counts as holding a whole token.
const EPSILON: f64 = 1e-9;

/// A token bucket's state: what a limiter stores per (seller, operation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TokenBucket {
    /// Tokens available at `updated_at`; fractional between refills.
    pub tokens: f64,
    /// When `tokens` was computed.
    pub updated_at: DateTime<Utc>,
}

impl TokenBucket {
    /// A bucket holding its whole burst, as Amazon's buckets start.
    pub fn full(quota: Quota, now: DateTime<Utc>) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(quota.burst),
            updated_at: now,
        }
    }

    /// Adds the tokens earned since `updated_at`, up to the burst. A clock that went backwards adds nothing.
    pub fn refill(&mut self, quota: Quota, now: DateTime<Utc>) {
        let burst = f64::from(quota.burst);
        if now > self.updated_at {
            let elapsed = (now - self.updated_at)
                .to_std()
                .map_or(f64::INFINITY, |d| d.as_secs_f64());
            self.tokens += elapsed * quota.rate;
            self.updated_at = now;
        }
        // Also trims a bucket whose plan shrank since it was stored.
        self.tokens = self.tokens.clamp(0.0, burst);
    }

    /// Takes one token at `now`, or says how long until one is available.
    pub fn take(&mut self, quota: Quota, now: DateTime<Utc>) -> Result<(), Duration> {
        self.refill(quota, now);
        if self.tokens + EPSILON >= 1.0 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            Ok(())
        } else {
            Err(self.wait_for_token(quota))
        }
    }

    /// Time until the bucket holds one whole token, rounded up to the millisecond.
    pub fn wait_for_token(&self, quota: Quota) -> Duration {
        let missing = (1.0 - self.tokens).max(0.0);
        let millis = (missing / quota.rate * 1000.0).ceil();
        // At least 1 ms so that a caller always makes progress; `as` saturates for absurd values.
        Duration::from_millis((millis as u64).max(1))
    }
}

/// The port every SP-API call draws from before it is sent. Implementations share buckets as widely as they
/// can: in memory for one process, DynamoDB for every Lambda instance.
#[async_trait]
pub trait RateLimiter: Send + Sync + fmt::Debug {
    /// Takes a token from `key`'s bucket for `operation` only if one is there now; otherwise takes nothing
    /// and says how long until one would be. `key` names one seller in one region (sellersync's account id).
    async fn try_acquire(&self, key: &str, operation: Operation) -> Result<Result<(), Duration>, StoreError>;

    /// The clock the buckets refill by, on which a caller waits for a token.
    fn clock(&self) -> &dyn Clock;

    /// Waits (through the clock) until `key`'s bucket for `operation` has a token, and takes it: the wait
    /// of every caller that can afford one.
    async fn acquire(&self, key: &str, operation: Operation) -> Result<(), StoreError> {
        // Without a limit the wait ends only with a token.
        while self.acquire_within(key, operation, None).await?.is_err() {}
        Ok(())
    }

    /// Takes a token, waiting (through the clock) only while the one the bucket promises next comes within
    /// what is left of `limit` (`None`: any wait). Callers sharing the bucket may take that token first; the
    /// caller then waits for the next one, within the same limit. When it would come later, takes nothing
    /// and says how long until it would be, at once. A zero limit is for callers that answer a person and
    /// must not wait (the API).
    async fn acquire_within(
        &self,
        key: &str,
        operation: Operation,
        limit: Option<Duration>,
    ) -> Result<Result<(), Duration>, StoreError> {
        let mut waited = Duration::ZERO;
        loop {
            let wait = match self.try_acquire(key, operation).await? {
                Ok(()) => return Ok(Ok(())),
                Err(wait) => wait,
            };
            if limit.is_some_and(|limit| waited.saturating_add(wait) > limit) {
                return Ok(Err(wait));
            }
            tracing::debug!(
                operation = operation.name(),
                wait_ms = wait.as_millis() as u64,
                "waiting for a token"
            );
            self.clock().sleep(wait).await;
            waited = waited.saturating_add(wait);
        }
    }

    /// Records the rate Amazon reported in `x-amzn-RateLimit-Limit` for `key` and `operation`; later draws
    /// refill at that rate.
    async fn observe_limit(&self, key: &str, operation: Operation, rate: f64) -> Result<(), StoreError>;

    /// The tokens `key`'s bucket for `operation` holds now, without taking any; `None` when the limiter
    /// cannot tell. Lets optional work (a backfill, a health check) go only when it would not wait.
    async fn available(&self, key: &str, operation: Operation) -> Result<Option<f64>, StoreError> {
        let _ = (key, operation);
        Ok(None)
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    quota: Quota,
    bucket: TokenBucket,
}

/// Token buckets in memory, driven by the clock: for tests and single-process runs.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    clock: Arc<dyn Clock>,
    slots: Mutex<HashMap<(String, Operation), Slot>>,
}

impl MemoryRateLimiter {
    /// A limiter whose buckets start full with each operation's default quota.
    pub fn new(clock: Arc<dyn Clock>) -> MemoryRateLimiter {
        MemoryRateLimiter {
            clock,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The quota `key`'s bucket for `operation` refills at: the default until Amazon reports another rate.
    pub fn quota(&self, key: &str, operation: Operation) -> Quota {
        self.lock()
            .get(&(key.to_owned(), operation))
            .map_or_else(|| operation.default_quota(), |slot| slot.quota)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Operation), Slot>> {
        // The lock only guards arithmetic that cannot panic; a poisoned map is still consistent.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on `key`'s slot for `operation` (a full bucket at the default quota if new) at the clock's now.
    fn with_slot<R>(
        &self,
        key: &str,
        operation: Operation,
        f: impl FnOnce(&mut Slot, DateTime<Utc>) -> R,
    ) -> R {
        let now = self.clock.now();
        let mut slots = self.lock();
        let slot = slots.entry((key.to_owned(), operation)).or_insert_with(|| {
            let quota = operation.default_quota();
            Slot {
                quota,
                bucket: TokenBucket::full(quota, now),
            }
        });
        f(slot, now)
    }

    fn take(&self, key: &str, operation: Operation) -> Result<(), Duration> {
        self.with_slot(key, operation, |slot, now| slot.bucket.take(slot.quota, now))
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn try_acquire(&self, key: &str, operation: Operation) -> Result<Result<(), Duration>, StoreError> {
        Ok(self.take(key, operation))
    }

    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    async fn available(&self, key: &str, operation: Operation) -> Result<Option<f64>, StoreError> {
        let now = self.clock.now();
        let slots = self.lock();
        Ok(Some(match slots.get(&(key.to_owned(), operation)) {
            Some(slot) => {
                let mut bucket = slot.bucket;
                bucket.refill(slot.quota, now);
                bucket.tokens
            }
            None => f64::from(operation.default_quota().burst),
        }))
    }

    async fn observe_limit(&self, key: &str, operation: Operation, rate: f64) -> Result<(), StoreError> {
        self.with_slot(key, operation, |slot, now| {
            if let Some(quota) = Quota::new(rate, slot.quota.burst) {
                // Settle the tokens earned at the old rate before the new one applies.
                slot.bucket.refill(slot.quota, now);
                slot.quota = quota;
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::clock::ManualClock;

    fn at(seconds: f64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::milliseconds((seconds * 1000.0).round() as i64)
    }

    #[test]
    fn a_full_bucket_allows_its_burst_and_then_asks_to_wait() {
        let quota = Quota::new(2.0, 15).unwrap();
        let mut bucket = TokenBucket::full(quota, at(0.0));
        for _ in 0..15 {
            assert_eq!(bucket.take(quota, at(0.0)), Ok(()));
        }
        assert_eq!(bucket.take(quota, at(0.0)), Err(Duration::from_millis(500)));
        assert_eq!(bucket.take(quota, at(0.5)), Ok(()));
    }

    #[test]
    fn rates_below_one_per_second_wait_the_right_fraction_of_a_minute() {
        // createReport: 0.0167/s, one token every 59.88 s.
        let quota = Operation::CreateReport.default_quota();
        let mut bucket = TokenBucket {
            tokens: 0.0,
            updated_at: at(0.0),
        };
        let wait = bucket.take(quota, at(0.0)).unwrap_err();
        assert_eq!(wait, Duration::from_millis(59_881));
        assert!(bucket.take(quota, at(59.0)).is_err());
        assert_eq!(bucket.take(quota, at(wait.as_secs_f64())), Ok(()));
        // createFeed: 0.0083/s, about two minutes.
        let quota = Operation::CreateFeed.default_quota();
        let bucket = TokenBucket {
            tokens: 0.5,
            updated_at: at(0.0),
        };
        assert_eq!(bucket.wait_for_token(quota), Duration::from_millis(60_241));
    }

    #[test]
    fn a_long_idle_bucket_never_holds_more_than_its_burst() {
        let quota = Quota::new(0.0222, 10).unwrap();
        let mut bucket = TokenBucket {
            tokens: 3.0,
            updated_at: at(0.0),
        };
        let later = at(86_400.0 * 30.0);
        let taken = (0..20).filter(|_| bucket.take(quota, later).is_ok()).count();
        assert_eq!(taken, 10);
    }

    #[test]
    fn no_window_of_time_lets_more_calls_through_than_burst_plus_rate_times_its_length() {
        let quota = Quota::new(0.5, 15).unwrap();
        let mut bucket = TokenBucket::full(quota, at(0.0));
        let mut granted = Vec::new();
        // Callers try every 100 ms for ten minutes.
        for step in 0..6000 {
            let now = at(f64::from(step) * 0.1);
            if bucket.take(quota, now).is_ok() {
                granted.push(f64::from(step) * 0.1);
            }
        }
        for (i, start) in granted.iter().enumerate() {
            for (j, end) in granted.iter().enumerate().skip(i) {
                let allowed = 15.0 + (end - start) * quota.rate;
                assert!(
                    ((j - i + 1) as f64) <= allowed + 1e-6,
                    "{} calls in [{start}, {end}]",
                    j - i + 1
                );
            }
        }
        assert_eq!(granted.len(), 15 + 299, "burst plus one every two seconds");
    }

    #[test]
    fn a_clock_that_goes_backwards_adds_no_tokens() {
        let quota = Quota::new(1.0, 5).unwrap();
        let mut bucket = TokenBucket {
            tokens: 0.0,
            updated_at: at(100.0),
        };
        bucket.refill(quota, at(10.0));
        assert_eq!(bucket.tokens, 0.0);
        assert_eq!(bucket.updated_at, at(100.0));
    }

    #[test]
    fn a_smaller_plan_trims_a_stored_bucket() {
        let mut bucket = TokenBucket {
            tokens: 15.0,
            updated_at: at(0.0),
        };
        bucket.refill(Quota::new(1.0, 5).unwrap(), at(0.0));
        assert_eq!(bucket.tokens, 5.0);
    }

    #[test]
    fn quotas_must_be_positive() {
        assert!(Quota::new(0.0, 5).is_none());
        assert!(Quota::new(f64::NAN, 5).is_none());
        assert!(Quota::new(1.0, 0).is_none());
        assert!(Quota::new(0.0083, 15).is_some());
    }

    #[test]
    fn every_operation_has_its_model_name_and_a_valid_default_plan() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.name()), Some(op));
            let quota = op.default_quota();
            assert!(Quota::new(quota.rate, quota.burst).is_some(), "{op}");
        }
        assert_eq!(
            Operation::GetReport.default_quota(),
            Quota { rate: 2.0, burst: 15 }
        );
        assert_eq!(
            Operation::from_name("getReportDocument"),
            Some(Operation::GetReportDocument)
        );
    }

    #[tokio::test]
    async fn the_memory_limiter_lets_a_burst_through_then_paces_by_the_clock() {
        let clock = Arc::new(ManualClock::new(at(0.0)));
        let limiter = MemoryRateLimiter::new(clock.clone());
        for _ in 0..15 {
            limiter.acquire("acct-1", Operation::GetReport).await.unwrap();
        }
        assert_eq!(clock.now(), at(0.0), "the burst needs no wait");
        limiter.acquire("acct-1", Operation::GetReport).await.unwrap();
        assert_eq!(clock.now(), at(0.5));
        assert_eq!(clock.sleeps(), [Duration::from_millis(500)]);
        assert_eq!(
            limiter.available("acct-1", Operation::GetReport).await.unwrap(),
            Some(0.0),
            "looking takes no token"
        );
        assert_eq!(
            limiter.available("acct-9", Operation::GetReport).await.unwrap(),
            Some(15.0)
        );
        // Another seller and another operation have buckets of their own.
        limiter.acquire("acct-2", Operation::GetReport).await.unwrap();
        limiter.acquire("acct-1", Operation::GetFeed).await.unwrap();
        assert_eq!(clock.now(), at(0.5));
    }

    #[tokio::test]
    async fn trying_takes_a_token_only_if_one_is_there_and_never_waits() {
        let clock = Arc::new(ManualClock::new(at(0.0)));
        let limiter = MemoryRateLimiter::new(clock.clone());
        for _ in 0..10 {
            assert_eq!(
                limiter
                    .try_acquire("acct-1", Operation::GetReports)
                    .await
                    .unwrap(),
                Ok(())
            );
        }
        // getReports: 0.0222/s, a token every 45 s.
        assert_eq!(
            limiter
                .try_acquire("acct-1", Operation::GetReports)
                .await
                .unwrap(),
            Err(Duration::from_millis(45_046))
        );
        assert_eq!(clock.now(), at(0.0), "no wait");
        assert_eq!(
            limiter.available("acct-1", Operation::GetReports).await.unwrap(),
            Some(0.0),
            "a refused try takes nothing"
        );
    }

    #[tokio::test]
    async fn the_memory_limiter_refills_at_the_rate_amazon_reports() {
        let clock = Arc::new(ManualClock::new(at(0.0)));
        let limiter = MemoryRateLimiter::new(clock.clone());
        limiter
            .observe_limit("acct-1", Operation::CreateReport, 1.0)
            .await
            .unwrap();
        assert_eq!(limiter.quota("acct-1", Operation::CreateReport).rate, 1.0);
        for _ in 0..16 {
            limiter.acquire("acct-1", Operation::CreateReport).await.unwrap();
        }
        assert_eq!(
            clock.now(),
            at(1.0),
            "one second for the 16th token, not a minute"
        );
        // Nonsense rates are ignored.
        limiter
            .observe_limit("acct-1", Operation::CreateReport, 0.0)
            .await
            .unwrap();
        assert_eq!(limiter.quota("acct-1", Operation::CreateReport).rate, 1.0);
        assert_eq!(
            limiter.quota("acct-2", Operation::CreateReport),
            Operation::CreateReport.default_quota()
        );
    }
}
