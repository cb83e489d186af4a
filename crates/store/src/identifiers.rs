//! Confirmed national identifiers, by a keyed blind index (never the number itself): who
//! holds which, for login by identifier, recovery and the staff's look-ups. Assurance writes
//! a number here when a registry confirms it; accounts read it when someone logs in with it.

use ekdwar_domain::{Timestamp, UserId};

use crate::{Conn, Result, text};

/// Records that `user_id` holds the confirmed identifier whose blind index is `blind`.
/// False if another account holds it.
pub async fn index_identifier(
    conn: &mut Conn,
    blind: &str,
    user_id: &UserId,
    kind: &str,
    now: Timestamp,
) -> Result<bool> {
    sqlx::query(
        "INSERT INTO identifier_index (blind, user_id, kind, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (blind) DO NOTHING",
    )
    .bind(blind)
    .bind(user_id.as_str())
    .bind(kind)
    .bind(now.millis())
    .execute(&mut *conn)
    .await?;
    Ok(holder(conn, blind).await?.as_ref() == Some(user_id))
}

/// Forgets a person's indexed identifier of `kind` (it was edited or removed).
pub async fn unindex(conn: &mut Conn, user_id: &UserId, kind: &str) -> Result<()> {
    sqlx::query("DELETE FROM identifier_index WHERE user_id = $1 AND kind = $2")
        .bind(user_id.as_str())
        .bind(kind)
        .execute(conn)
        .await?;
    Ok(())
}

/// The account holding the identifier whose blind index is `blind`.
pub async fn holder(conn: &mut Conn, blind: &str) -> Result<Option<UserId>> {
    sqlx::query("SELECT user_id FROM identifier_index WHERE blind = $1")
        .bind(blind)
        .fetch_optional(conn)
        .await?
        .map(|r| text(&r, "user_id").map(UserId::new))
        .transpose()
}
