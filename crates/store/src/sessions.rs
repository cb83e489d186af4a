//! Server-side login sessions. Only a hash of the session token is stored, so a copy of the
//! database does not let anyone log in.

use ekdwar_domain::Timestamp;
use sqlx::any::AnyRow;

use crate::{Conn, Result, int, opt_int, opt_text, sql, text};
use ekdwar_domain::{SessionId, UserId};

#[derive(Debug, Clone)]
/// A login session.
pub struct Session {
    /// The hash of its cookie token (the token itself is never stored).
    pub id_hash: SessionId,
    /// Whose it is.
    pub user_id: UserId,
    /// When it began.
    pub created_at: Timestamp,
    /// When it was last used.
    pub last_seen_at: Timestamp,
    /// When it ends whatever happens.
    pub expires_at: Timestamp,
    /// The address it began from.
    pub ip: Option<String>,
    /// The browser it began in.
    pub user_agent: Option<String>,
    /// How the user authenticated (`pwd`, ...), space-separated.
    pub amr: String,
    /// When it was ended early.
    pub revoked_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "id_hash, user_id, created_at, last_seen_at, expires_at, ip, user_agent, amr, revoked_at";

fn from_row(row: &AnyRow) -> Result<Session> {
    Ok(Session {
        id_hash: SessionId::new(text(row, "id_hash")?),
        user_id: UserId::new(text(row, "user_id")?),
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        last_seen_at: Timestamp::from_millis(int(row, "last_seen_at")?),
        expires_at: Timestamp::from_millis(int(row, "expires_at")?),
        ip: opt_text(row, "ip")?,
        user_agent: opt_text(row, "user_agent")?,
        amr: text(row, "amr")?,
        revoked_at: opt_int(row, "revoked_at")?.map(Timestamp::from_millis),
    })
}

/// Stores a new session.
pub async fn insert(conn: &mut Conn, s: &Session) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO sessions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(s.id_hash.as_str())
    .bind(s.user_id.as_str())
    .bind(s.created_at.millis())
    .bind(s.last_seen_at.millis())
    .bind(s.expires_at.millis())
    .bind(s.ip.clone())
    .bind(s.user_agent.clone())
    .bind(&s.amr)
    .bind(s.revoked_at.map(Timestamp::millis))
    .execute(conn)
    .await?;
    Ok(())
}

/// The session with this token hash.
pub async fn by_hash(conn: &mut Conn, id_hash: &SessionId) -> Result<Option<Session>> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM sessions WHERE id_hash = $1"))
        .bind(id_hash.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Notes that a session was used now.
pub async fn touch(conn: &mut Conn, id_hash: &SessionId, at: Timestamp) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
        .bind(at.millis())
        .bind(id_hash.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Sessions of a user that are neither revoked nor past their absolute expiry, newest first.
pub async fn active_for_user(
    conn: &mut Conn,
    user_id: &UserId,
    now: Timestamp,
) -> Result<Vec<Session>> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
         AND expires_at > $2 ORDER BY last_seen_at DESC"
    ))
    .bind(user_id.as_str())
    .bind(now.millis())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes one session of a user; false if it is not theirs or already revoked.
pub async fn revoke(
    conn: &mut Conn,
    user_id: &UserId,
    id_hash: &SessionId,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id_hash = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(at.millis())
    .bind(id_hash.as_str())
    .bind(user_id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every session of a user except `keep`, returning how many were ended.
pub async fn revoke_all_except(
    conn: &mut Conn,
    user_id: &UserId,
    keep: Option<&SessionId>,
    at: Timestamp,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND id_hash <> $3",
    )
    .bind(at.millis())
    .bind(user_id.as_str())
    .bind(keep.map_or("", |k| k.as_str()))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes sessions that ended before `before`.
pub async fn purge(conn: &mut Conn, before: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
        .bind(before.millis())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Records a further way the session's owner proved who they are.
pub async fn set_amr(conn: &mut Conn, id_hash: &SessionId, amr: &str) -> Result<()> {
    sqlx::query("UPDATE sessions SET amr = $1 WHERE id_hash = $2")
        .bind(amr)
        .bind(id_hash.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
