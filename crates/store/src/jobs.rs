//! Jobs: work that must happen after a request, reliably. A job is written in the same
//! transaction as the change that causes it, leased by one worker at a time (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL; SQLite has a single writer), and retried with back-off until it
//! succeeds or runs out of attempts.

use ekdwar_domain::Timestamp;

use crate::{Backend, Conn, Result, int, opt_int, opt_text, sql, text};

#[derive(Debug, Clone, PartialEq, Eq)]
/// Work for the jobs runner.
pub struct Job {
    /// Its id.
    pub id: i64,
    /// Which registered kind runs it.
    pub kind: String,
    /// JSON, as the job's kind defines it.
    pub payload: String,
    /// `pending`, `done` or `failed`.
    pub status: String,
    /// How many times it has been tried.
    pub attempts: i64,
    /// When it is due (again).
    pub run_at: Timestamp,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it finished (done or given up).
    pub finished_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "id, kind, payload, status, attempts, run_at, last_error, created_at, finished_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Job> {
    Ok(Job {
        id: int(row, "id")?,
        kind: text(row, "kind")?,
        payload: text(row, "payload")?,
        status: text(row, "status")?,
        attempts: int(row, "attempts")?,
        run_at: Timestamp::from_millis(int(row, "run_at")?),
        last_error: opt_text(row, "last_error")?,
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        finished_at: opt_int(row, "finished_at")?.map(Timestamp::from_millis),
    })
}

/// Adds a job, due at `run_at`.
pub async fn enqueue(
    conn: &mut Conn,
    kind: &str,
    payload: &str,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO jobs (kind, payload, status, attempts, run_at, locked_until, created_at) \
         VALUES ($1, $2, 'pending', 0, $3, 0, $4)",
    )
    .bind(kind)
    .bind(payload)
    .bind(run_at.millis())
    .bind(now.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a job of `kind` unless one is already waiting (for periodic work).
pub async fn enqueue_unless_pending(
    conn: &mut Conn,
    kind: &str,
    payload: &str,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO jobs (kind, payload, status, attempts, run_at, locked_until, created_at) \
         SELECT $1, $2, 'pending', 0, $3, 0, $4 WHERE NOT EXISTS \
         (SELECT 1 FROM jobs WHERE kind = $1 AND status = 'pending')",
    )
    .bind(kind)
    .bind(payload)
    .bind(run_at.millis())
    .bind(now.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Leases up to `limit` due jobs until `lease_until`: no other worker takes them meanwhile, and
/// a worker that dies leaves them to be taken again when the lease ends.
pub async fn claim_due(
    conn: &mut Conn,
    now: Timestamp,
    lease_until: Timestamp,
    limit: i64,
) -> Result<Vec<Job>> {
    let lock = Backend::of(conn).skip_locked();
    let rows = sqlx::query(sql!(
        "UPDATE jobs SET locked_until = $1 WHERE id IN (SELECT id FROM jobs \
         WHERE status = 'pending' AND run_at <= $2 AND locked_until <= $2 \
         ORDER BY id LIMIT $3{lock}) RETURNING {COLUMNS}"
    ))
    .bind(lease_until.millis())
    .bind(now.millis())
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let mut out: Vec<Job> = rows.iter().map(from_row).collect::<Result<_>>()?;
    out.sort_by_key(|j| j.id);
    Ok(out)
}

/// Marks a claimed job done.
pub async fn mark_done(conn: &mut Conn, id: i64, at: Timestamp) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET status = 'done', attempts = attempts + 1, finished_at = $1, \
         last_error = NULL, locked_until = 0 WHERE id = $2",
    )
    .bind(at.millis())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt: due again at `retry_at`, or failed for good without one.
pub async fn mark_attempt_failed(
    conn: &mut Conn,
    id: i64,
    error: &str,
    retry_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<()> {
    let error: String = error.chars().take(500).collect();
    match retry_at {
        Some(at) => sqlx::query(
            "UPDATE jobs SET attempts = attempts + 1, last_error = $1, run_at = $2, \
             locked_until = 0 WHERE id = $3",
        )
        .bind(error)
        .bind(at.millis())
        .bind(id),
        None => sqlx::query(
            "UPDATE jobs SET attempts = attempts + 1, last_error = $1, status = 'failed', \
             finished_at = $2, locked_until = 0 WHERE id = $3",
        )
        .bind(error)
        .bind(now.millis())
        .bind(id),
    }
    .execute(conn)
    .await?;
    Ok(())
}

/// Jobs of one kind, newest first (for operators and tests).
pub async fn of_kind(conn: &mut Conn, kind: &str, limit: i64) -> Result<Vec<Job>> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM jobs WHERE kind = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(kind)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Forgets finished jobs older than `before`.
pub async fn purge(conn: &mut Conn, before: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM jobs WHERE status <> 'pending' AND finished_at < $1")
        .bind(before.millis())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
