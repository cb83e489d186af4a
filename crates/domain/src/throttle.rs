//! Brute-force protection: how failures turn into delays, challenges and lockouts.
//!
//! Each key (an account, an unknown identifier, an IP address) has a [`Counter`]. Failures
//! within an hour add up; after `free_failures` each further failure doubles a back-off delay
//! (capped), and the hourly count never exceeds `max_failures_per_hour`, which caps an online
//! guessing attack at that many guesses per account per hour whatever the attacker does.

use std::time::Duration;

use crate::Timestamp;

const HOUR: Duration = Duration::from_secs(3600);

/// Failures counted for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Failures counted in the current window.
    pub failures: i64,
    /// When the current window started.
    pub window_start: Timestamp,
    /// The latest failure.
    pub last_failure_at: Timestamp,
    /// No attempt is accepted before this.
    pub locked_until: Timestamp,
}

/// The thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures after which a challenge (captcha) is required.
    pub challenge_after: i64,
    /// Failures allowed before back-off starts.
    pub free_failures: i64,
    /// First back-off delay; doubles with every further failure.
    pub base_delay: Duration,
    /// The longest back-off delay.
    pub max_delay: Duration,
    /// Hard cap; at most 100 by the portal's security baseline.
    pub max_failures_per_hour: i64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            challenge_after: 3,
            free_failures: 5,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(15 * 60),
            max_failures_per_hour: 100,
        }
    }
}

/// What a key may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Allowed only with a solved challenge.
    Challenge,
    /// Refused until the given time.
    Locked(Timestamp),
}

impl ThrottlePolicy {
    /// A fresh counter, or the stored one if its hour has not passed.
    fn current(&self, c: Option<Counter>, now: Timestamp) -> Counter {
        match c {
            Some(c) if now.since(c.window_start) < HOUR => c,
            Some(c) => Counter {
                failures: 0,
                window_start: now,
                ..c
            },
            None => Counter {
                failures: 0,
                window_start: now,
                last_failure_at: now,
                locked_until: Timestamp::from_millis(0),
            },
        }
    }

    /// What `policy` allows now for a key with counter `c`.
    pub fn verdict(&self, c: Option<Counter>, now: Timestamp) -> Verdict {
        let Some(stored) = c else {
            return Verdict::Allow;
        };
        if stored.locked_until > now {
            return Verdict::Locked(stored.locked_until);
        }
        let c = self.current(Some(stored), now);
        if c.failures >= self.challenge_after {
            Verdict::Challenge
        } else {
            Verdict::Allow
        }
    }

    /// The counter after one more failure. `locked_until` moves forward when back-off applies.
    pub fn after_failure(&self, c: Option<Counter>, now: Timestamp) -> Counter {
        let mut c = self.current(c, now);
        c.failures += 1;
        c.last_failure_at = now;
        if c.failures >= self.max_failures_per_hour.min(100) {
            c.locked_until = c.window_start.plus(HOUR);
        } else if c.failures > self.free_failures {
            let exp = (c.failures - self.free_failures - 1).min(20) as u32;
            let delay = self
                .base_delay
                .saturating_mul(2u32.saturating_pow(exp))
                .min(self.max_delay);
            c.locked_until = now.plus(delay);
        }
        c
    }

    /// True when this failure is the one that starts a lock-out (worth logging once).
    pub fn starts_lockout(&self, before: Option<Counter>, after: &Counter, now: Timestamp) -> bool {
        after.locked_until > now && before.is_none_or(|b| b.locked_until <= now)
    }
}

/// A plain hourly quota (messages sent per address, per number range, in all): at most
/// `per_hour` in a window that starts with the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// How many per hour.
    pub per_hour: i64,
}

impl Quota {
    /// The counter with one more taken, or the time the window ends when it is used up.
    pub fn take(&self, c: Option<Counter>, now: Timestamp) -> Result<Counter, Timestamp> {
        let mut c = match c {
            Some(c) if now.since(c.window_start) < HOUR => c,
            _ => Counter {
                failures: 0,
                window_start: now,
                last_failure_at: now,
                locked_until: Timestamp::from_millis(0),
            },
        };
        if c.failures >= self.per_hour {
            return Err(c.window_start.plus(HOUR));
        }
        c.failures += 1;
        c.last_failure_at = now;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }

    #[test]
    fn back_off_doubles_and_challenge_comes_first() {
        let p = ThrottlePolicy::default();
        let mut c = None;
        for i in 1..=5 {
            let n = p.after_failure(c, at(i));
            assert_eq!(n.locked_until, Timestamp::from_millis(0));
            c = Some(n);
        }
        assert_eq!(p.verdict(c, at(6)), Verdict::Challenge);
        let sixth = p.after_failure(c, at(6));
        assert_eq!(sixth.locked_until, at(36));
        assert!(p.starts_lockout(c, &sixth, at(6)));
        assert_eq!(p.verdict(Some(sixth), at(10)), Verdict::Locked(at(36)));
        let seventh = p.after_failure(Some(sixth), at(40));
        assert_eq!(seventh.locked_until, at(100));
    }

    #[test]
    fn quotas_refill_every_hour() {
        let q = Quota { per_hour: 2 };
        let a = q.take(None, at(0)).unwrap();
        let b = q.take(Some(a), at(10)).unwrap();
        assert_eq!(q.take(Some(b), at(20)), Err(at(3600)));
        assert_eq!(q.take(Some(b), at(3600)).unwrap().failures, 1);
    }

    #[test]
    fn never_more_than_the_hourly_cap() {
        let p = ThrottlePolicy {
            base_delay: Duration::ZERO,
            ..ThrottlePolicy::default()
        };
        let mut c = None;
        let mut allowed = 0;
        let mut t = 0;
        while t < 3600 {
            if !matches!(p.verdict(c, at(t)), Verdict::Locked(_)) {
                allowed += 1;
                c = Some(p.after_failure(c, at(t)));
            }
            t += 1;
        }
        assert_eq!(allowed, 100);
    }

    #[test]
    fn the_window_resets_after_an_hour() {
        let p = ThrottlePolicy::default();
        let c = p.after_failure(None, at(0));
        let c = p.after_failure(Some(c), at(1));
        let c = p.after_failure(Some(c), at(2));
        assert_eq!(p.verdict(Some(c), at(3)), Verdict::Challenge);
        assert_eq!(p.verdict(Some(c), at(3700)), Verdict::Allow);
        assert_eq!(p.after_failure(Some(c), at(3700)).failures, 1);
    }
}
