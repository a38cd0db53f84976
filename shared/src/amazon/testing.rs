//! Test support for the client's own tests: a clock that only moves when slept on, and Amazon-shaped bodies.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;

/// A clock that moves only when advanced or slept on; sleeping advances it at once, so backoff and rate
/// limiting cost no real time and their waits can be asserted exactly.
#[derive(Debug)]
pub(crate) struct ManualClock {
    now: Mutex<DateTime<Utc>>,
    slept: Mutex<Vec<Duration>>,
}

impl ManualClock {
    pub(crate) fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            now: Mutex::new(start),
            slept: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
    }

    /// Every sleep so far, in order.
    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.slept.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.slept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(duration);
        self.advance(duration);
        Box::pin(tokio::task::yield_now())
    }
}
