//! Counters for brute-force protection, and single-use challenge nonces.

use ekdwar_domain::Timestamp;
use ekdwar_domain::throttle::Counter;

use crate::{Conn, Result, int};

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
