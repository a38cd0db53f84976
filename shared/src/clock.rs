//! Time as a dependency: the system clock in production, a faster one where tests compress hours into seconds.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

/// The time source every use case and the SP-API client read, so that tests can run the day faster.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Waits for `duration` of this clock's time.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock that runs `scale` times faster than the wall clock from a common origin. Two processes given the
/// same origin and scale agree on the time, which is how the sandbox and the local runner share one.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    origin: DateTime<Utc>,
    started: Instant,
    started_at: DateTime<Utc>,
    scale: f64,
}

impl ScaledClock {
    /// A clock that reads `origin` at the wall-clock instant `origin` and runs `scale` times as fast.
    /// `scale` must be at least 1.
    pub fn new(origin: DateTime<Utc>, scale: f64) -> Self {
        ScaledClock {
            origin,
            started: Instant::now(),
            started_at: Utc::now(),
            scale: scale.max(1.0),
        }
    }

    /// How many times faster than the wall clock it runs.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    fn scaled(&self, real: Duration) -> TimeDelta {
        TimeDelta::from_std(real.mul_f64(self.scale)).unwrap_or(TimeDelta::MAX)
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        // Real time since the origin, measured with the monotonic clock from a fixed wall-clock reading.
        let since_origin =
            (self.started_at - self.origin).to_std().unwrap_or_default() + self.started.elapsed();
        self.origin + self.scaled(since_origin)
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration.div_f64(self.scale)))
    }
}

/// A clock that moves only when told to, for tests that step through hours exactly. `sleep` advances it by
/// the requested duration instead of waiting, so code that backs off runs at once, and records it, so the
/// waits can be asserted exactly.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    slept: Mutex<Vec<Duration>>,
}

impl ManualClock {
    /// A clock reading `start` until it is advanced.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Mutex::new(start),
            slept: Mutex::new(Vec::new()),
        }
    }

    /// Every sleep so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
    }

    /// Sets the clock to `to`, which may be earlier than its current reading.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.slept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(duration);
        self.advance(duration);
        Box::pin(tokio::task::yield_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scaled_clock_runs_faster_and_sleeps_shorter() {
        let clock = ScaledClock::new(Utc::now(), 1000.0);
        let before = clock.now();
        let real = Instant::now();
        clock.sleep(Duration::from_secs(10)).await;
        assert!(
            real.elapsed() < Duration::from_secs(1),
            "slept {:?} of real time",
            real.elapsed()
        );
        assert!(clock.now() - before >= TimeDelta::seconds(10));
    }

    #[test]
    fn two_clocks_with_one_origin_agree() {
        let origin = Utc::now() - TimeDelta::seconds(2);
        let (a, b) = (ScaledClock::new(origin, 60.0), ScaledClock::new(origin, 60.0));
        let gap = (a.now() - b.now()).abs();
        assert!(gap < TimeDelta::seconds(1), "clocks differ by {gap}");
        assert!(a.now() - origin >= TimeDelta::seconds(119));
    }

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_advanced_or_slept() {
        let start = Utc::now();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        clock.sleep(Duration::from_secs(30)).await;
        assert_eq!(clock.now() - start, TimeDelta::seconds(120));
        clock.set(start);
        assert_eq!(clock.now(), start);
    }
}
