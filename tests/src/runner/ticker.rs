//! What EventBridge Scheduler does, for the local runner (moto stores schedules but never fires them): fire
//! each enabled `rate(...)` schedule at its interval of the runner's clock.

use std::collections::HashMap;

use anyhow::{Result, bail};
use chrono::{DateTime, TimeDelta, Utc};

/// A schedule's next tick, by name.
#[derive(Debug, Default)]
pub struct Ticker {
    next: HashMap<String, DateTime<Utc>>,
}

impl Ticker {
    /// Whether the schedule `name` with `expression` is due at `now`; a schedule fires at once when first seen,
    /// then every interval after.
    pub fn due(&mut self, name: &str, expression: &str, now: DateTime<Utc>) -> Result<bool> {
        let interval = rate_interval(expression)?;
        let next = self.next.entry(name.to_owned()).or_insert(now);
        if *next > now {
            return Ok(false);
        }
        // A runner that fell behind fires once, not once per missed tick, as Scheduler does.
        while *next <= now {
            *next += interval;
        }
        Ok(true)
    }

    /// Forgets schedules that no longer exist.
    pub fn retain(&mut self, names: &[String]) {
        self.next.retain(|name, _| names.contains(name));
    }
}

/// The interval of a Scheduler `rate(...)` expression.
pub fn rate_interval(expression: &str) -> Result<TimeDelta> {
    let inner = expression
        .trim()
        .strip_prefix("rate(")
        .and_then(|e| e.strip_suffix(')'));
    let Some((value, unit)) = inner.and_then(|i| i.trim().split_once(' ')) else {
        bail!("only rate(...) schedules run locally, not {expression:?}");
    };
    let value: i64 = value.parse()?;
    if value < 1 {
        bail!("a rate must be positive: {expression:?}");
    }
    Ok(match unit.trim() {
        "minute" | "minutes" => TimeDelta::minutes(value),
        "hour" | "hours" => TimeDelta::hours(value),
        "day" | "days" => TimeDelta::days(value),
        other => bail!("unknown rate unit {other:?} in {expression:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_expressions_give_their_interval() {
        assert_eq!(rate_interval("rate(1 minute)").unwrap(), TimeDelta::minutes(1));
        assert_eq!(rate_interval("rate(6 hours)").unwrap(), TimeDelta::hours(6));
        assert_eq!(rate_interval("rate(1 day)").unwrap(), TimeDelta::days(1));
        assert!(rate_interval("cron(0 12 * * ? *)").is_err());
        assert!(rate_interval("rate(0 minutes)").is_err());
    }

    #[test]
    fn a_schedule_fires_when_first_seen_then_once_per_interval() {
        let mut ticker = Ticker::default();
        let t0: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        assert!(ticker.due("a", "rate(15 minutes)", t0).unwrap());
        assert!(
            !ticker
                .due("a", "rate(15 minutes)", t0 + TimeDelta::minutes(14))
                .unwrap()
        );
        assert!(
            ticker
                .due("a", "rate(15 minutes)", t0 + TimeDelta::minutes(15))
                .unwrap()
        );
        assert!(
            ticker
                .due("a", "rate(15 minutes)", t0 + TimeDelta::minutes(75))
                .unwrap(),
            "behind: fires once"
        );
        assert!(
            !ticker
                .due("a", "rate(15 minutes)", t0 + TimeDelta::minutes(80))
                .unwrap()
        );
    }
}
