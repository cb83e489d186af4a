//! Counting against limits — failures with back-off, hourly quotas — the one way use-cases
//! change a count: each change is a compare-and-swap in the store
//! (`ekdwar_store::throttle::modify`), so no concurrency can pass a limit.

use ekdwar_domain::Timestamp;
use ekdwar_domain::throttle::{Counter, Quota, ThrottlePolicy, Verdict};
use ekdwar_store::Conn;

use crate::core::Core;
use crate::error::{AppError, AppResult};

/// The refusal for a limit that frees up at `until`.
pub(crate) fn throttled(until: Timestamp, now: Timestamp) -> AppError {
    AppError::Throttled {
        retry_after_secs: until.since(now).as_secs().max(1),
    }
}

impl Core {
    /// Counts one more failure on `key` under `policy`: the counter before and after, or the
    /// time the key is locked until (then nothing is counted).
    pub(crate) async fn count_failure(
        &self,
        conn: &mut Conn,
        key: &str,
        policy: &ThrottlePolicy,
        now: Timestamp,
    ) -> AppResult<Result<(Option<Counter>, Counter), Timestamp>> {
        let mut locked = None;
        let (before, after) =
            ekdwar_store::throttle::modify(conn, key, |c| match policy.verdict(c, now) {
                Verdict::Locked(until) => {
                    locked = Some(until);
                    None
                }
                _ => Some(policy.after_failure(c, now)),
            })
            .await?;
        Ok(match (after, locked) {
            (Some(after), _) => Ok((before, after)),
            (None, until) => Err(until.unwrap_or(now)),
        })
    }

    /// Counts one failure on each of `keys`, or on none: if one is locked, what was counted on
    /// the others is given back and the time it is locked until is returned.
    pub(crate) async fn count_failure_on_all(
        &self,
        conn: &mut Conn,
        keys: &[String],
        policy: &ThrottlePolicy,
        now: Timestamp,
    ) -> AppResult<Result<(), Timestamp>> {
        let keys: Vec<(String, ThrottlePolicy)> =
            keys.iter().map(|k| (k.clone(), *policy)).collect();
        Ok(self.count_failures(conn, &keys, now).await?.map(|_| ()))
    }

    /// Counts one failure on each key under its own policy, or on none: if one is locked,
    /// what was counted on the others is given back and the time it is locked until is
    /// returned. Otherwise, for each key, whether this failure started its lock-out.
    pub(crate) async fn count_failures(
        &self,
        conn: &mut Conn,
        keys: &[(String, ThrottlePolicy)],
        now: Timestamp,
    ) -> AppResult<Result<Vec<bool>, Timestamp>> {
        let mut started = Vec::new();
        for (i, (key, policy)) in keys.iter().enumerate() {
            match self.count_failure(conn, key, policy, now).await? {
                Ok((before, after)) => started.push(policy.starts_lockout(before, &after, now)),
                Err(until) => {
                    for (counted, _) in &keys[..i] {
                        self.give_back(conn, counted).await?;
                    }
                    return Ok(Err(until));
                }
            }
        }
        Ok(Ok(started))
    }

    /// Whether the hourly quota on `key` is used up, and until when (nothing is taken).
    pub(crate) async fn quota_used_up(
        &self,
        conn: &mut Conn,
        key: &str,
        per_hour: i64,
        now: Timestamp,
    ) -> AppResult<Option<Timestamp>> {
        let c = ekdwar_store::throttle::get(conn, key).await?;
        Ok(Quota { per_hour }.take(c, now).err())
    }

    /// Takes back one failure counted on `key` (an attempt that turned out not to be one).
    pub(crate) async fn give_back(&self, conn: &mut Conn, key: &str) -> AppResult<()> {
        ekdwar_store::throttle::modify(conn, key, |c| {
            c.map(|c| Counter {
                failures: (c.failures - 1).max(0),
                ..c
            })
        })
        .await?;
        Ok(())
    }

    /// Takes one from the hourly quota on `key`, or says when it refills.
    pub(crate) async fn take_quota(
        &self,
        conn: &mut Conn,
        key: &str,
        per_hour: i64,
        now: Timestamp,
    ) -> AppResult<Result<(), Timestamp>> {
        let quota = Quota { per_hour };
        let mut until = None;
        let (_, taken) = ekdwar_store::throttle::modify(conn, key, |c| {
            quota.take(c, now).map_err(|u| until = Some(u)).ok()
        })
        .await?;
        Ok(match taken {
            Some(_) => Ok(()),
            None => Err(until.unwrap_or(now)),
        })
    }
}
