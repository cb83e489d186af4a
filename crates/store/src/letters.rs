//! Activation letters by post: asked for, exported for printing (when the code is made and its
//! keyed hash kept), and closed when used, replaced or spent.

use ekdwar_domain::{Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::{Conn, Result, int, opt_int, opt_text, sql, text};

/// One letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    /// Its number, printed on it.
    pub id: String,
    /// Whose.
    pub user_id: UserId,
    /// The language it is printed in.
    pub lang: String,
    /// When it was asked for.
    pub requested_at: Timestamp,
    /// When its batch was exported (its code made); `None` while it waits.
    pub exported_at: Option<Timestamp>,
    /// The keyed hash of its code.
    pub code_hash: Option<String>,
    /// Until when its code is valid.
    pub expires_at: Option<Timestamp>,
    /// Wrong codes entered.
    pub attempts: i64,
    /// When it was used, replaced or spent.
    pub closed_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "id, user_id, lang, requested_at, exported_at, code_hash, expires_at, attempts, closed_at";

fn from_row(r: &AnyRow) -> Result<Letter> {
    Ok(Letter {
        id: text(r, "id")?,
        user_id: UserId::new(text(r, "user_id")?),
        lang: text(r, "lang")?,
        requested_at: Timestamp::from_millis(int(r, "requested_at")?),
        exported_at: opt_int(r, "exported_at")?.map(Timestamp::from_millis),
        code_hash: opt_text(r, "code_hash")?,
        expires_at: opt_int(r, "expires_at")?.map(Timestamp::from_millis),
        attempts: int(r, "attempts")?,
        closed_at: opt_int(r, "closed_at")?.map(Timestamp::from_millis),
    })
}

/// Records a letter asked for.
pub async fn request(conn: &mut Conn, l: &Letter) -> Result<()> {
    sqlx::query(
        "INSERT INTO activation_letters (id, user_id, lang, requested_at, attempts) \
         VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(&l.id)
    .bind(l.user_id.as_str())
    .bind(&l.lang)
    .bind(l.requested_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// A person's latest letter that is not closed.
pub async fn open_of(conn: &mut Conn, user: &UserId) -> Result<Option<Letter>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM activation_letters WHERE user_id = $1 AND closed_at IS NULL \
         ORDER BY requested_at DESC LIMIT 1"
    ))
    .bind(user.as_str())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Letters waiting for the next batch, oldest first.
pub async fn pending(conn: &mut Conn, limit: i64) -> Result<Vec<Letter>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM activation_letters WHERE exported_at IS NULL AND closed_at IS NULL \
         ORDER BY requested_at LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Records a letter's code (its hash) and validity as it goes to print; false if another
/// export took it first.
pub async fn exported(
    conn: &mut Conn,
    id: &str,
    code_hash: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE activation_letters SET exported_at = $1, code_hash = $2, expires_at = $3 \
         WHERE id = $4 AND exported_at IS NULL AND closed_at IS NULL",
    )
    .bind(now.millis())
    .bind(code_hash)
    .bind(expires_at.millis())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts a wrong code.
pub async fn wrong_code(conn: &mut Conn, id: &str) -> Result<()> {
    sqlx::query("UPDATE activation_letters SET attempts = attempts + 1 WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Closes a letter (used, replaced, spent).
pub async fn close(conn: &mut Conn, id: &str, now: Timestamp) -> Result<()> {
    sqlx::query("UPDATE activation_letters SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
        .bind(now.millis())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
