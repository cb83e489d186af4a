//! Counters for brute-force protection, and single-use challenge nonces.

use ekdwar_domain::Timestamp;
use ekdwar_domain::throttle::Counter;

use crate::{Conn, Result, StoreError, int};

/// The counter of a key, if it has one.
pub async fn get(conn: &mut Conn, key: &str) -> Result<Option<Counter>> {
    let row = sqlx::query(
        "SELECT failures, window_start, last_failure_at, locked_until FROM throttle WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Counter {
            failures: int(&r, "failures")?,
            window_start: Timestamp::from_millis(int(&r, "window_start")?),
            last_failure_at: Timestamp::from_millis(int(&r, "last_failure_at")?),
            locked_until: Timestamp::from_millis(int(&r, "locked_until")?),
        })
    })
    .transpose()
}

/// Changes a counter atomically — the portal's one way to change a count or a limit. It reads
/// the counter, lets `change` decide the new value from the one read (or leave it, with `None`),
/// and writes only if the row still holds exactly what was read: a conditional `UPDATE` (or an
/// `INSERT … ON CONFLICT DO NOTHING` for a new key), one statement, so concurrent changes on
/// SQLite or PostgreSQL can never overwrite each other; a change that lost the race is decided
/// again on the new value. No lock is held between statements, so `conn` must not be inside a
/// transaction whose snapshot would hide other writers. Returns the value read and the one
/// written.
pub async fn modify(
    conn: &mut Conn,
    key: &str,
    mut change: impl FnMut(Option<Counter>) -> Option<Counter>,
) -> Result<(Option<Counter>, Option<Counter>)> {
    for _ in 0..1000 {
        let before = get(conn, key).await?;
        let Some(after) = change(before) else {
            return Ok((before, None));
        };
        let done = match before {
            None => sqlx::query(
                "INSERT INTO throttle (key, failures, window_start, last_failure_at, locked_until) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(after.failures)
            .bind(after.window_start.millis())
            .bind(after.last_failure_at.millis())
            .bind(after.locked_until.millis())
            .execute(&mut *conn)
            .await?,
            Some(b) => {
                sqlx::query(
                    "UPDATE throttle SET failures = $1, window_start = $2, last_failure_at = $3, \
                     locked_until = $4 WHERE key = $5 AND failures = $6 AND window_start = $7 \
                     AND last_failure_at = $8 AND locked_until = $9",
                )
                .bind(after.failures)
                .bind(after.window_start.millis())
                .bind(after.last_failure_at.millis())
                .bind(after.locked_until.millis())
                .bind(key)
                .bind(b.failures)
                .bind(b.window_start.millis())
                .bind(b.last_failure_at.millis())
                .bind(b.locked_until.millis())
                .execute(&mut *conn)
                .await?
            }
        };
        if done.rows_affected() == 1 {
            return Ok((before, Some(after)));
        }
    }
    Err(StoreError::Contention(key.to_string()))
}

/// Writes a key's counter (tests and tools; use-cases change counts with `modify`).
pub async fn put(conn: &mut Conn, key: &str, c: &Counter) -> Result<()> {
    sqlx::query(
        "INSERT INTO throttle (key, failures, window_start, last_failure_at, locked_until) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, \
         window_start = excluded.window_start, last_failure_at = excluded.last_failure_at, \
         locked_until = excluded.locked_until",
    )
    .bind(key)
    .bind(c.failures)
    .bind(c.window_start.millis())
    .bind(c.last_failure_at.millis())
    .bind(c.locked_until.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets a key's counter.
pub async fn clear(conn: &mut Conn, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM throttle WHERE key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a challenge nonce as used. False if it was used before (a replay).
pub async fn use_challenge(conn: &mut Conn, nonce: &str, expires_at: Timestamp) -> Result<bool> {
    let done = sqlx::query("INSERT INTO used_challenges (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING")
        .bind(nonce)
        .bind(expires_at.millis())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets counters idle since `before` and challenges that expired.
pub async fn purge(conn: &mut Conn, before: Timestamp) -> Result<u64> {
    let a = sqlx::query("DELETE FROM throttle WHERE last_failure_at < $1 AND locked_until < $1")
        .bind(before.millis())
        .execute(&mut *conn)
        .await?;
    let b = sqlx::query("DELETE FROM used_challenges WHERE expires_at < $1")
        .bind(before.millis())
        .execute(&mut *conn)
        .await?;
    Ok(a.rows_affected() + b.rows_affected())
}
