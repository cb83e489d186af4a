//! Passkeys and the ceremonies that register and use them. A ceremony is taken by one
//! `DELETE … RETURNING`, so a browser's answer is checked at most once however many requests
//! race.

use ekdwar_domain::{Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::{Conn, Result, int, opt_int, opt_text, sql, text};

/// A person's passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// The credential id, base64url.
    pub credential_id: String,
    /// Whose it is.
    pub user_id: UserId,
    /// The id the authenticator returns with a discoverable credential.
    pub user_handle: String,
    /// What the person called it ("my phone").
    pub name: String,
    /// The verifier's record of the credential, as JSON.
    pub credential: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it last logged in; `None` before its first login.
    pub last_used_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "credential_id, user_id, user_handle, name, credential, created_at, last_used_at";

fn from_row(r: &AnyRow) -> Result<StoredPasskey> {
    Ok(StoredPasskey {
        credential_id: text(r, "credential_id")?,
        user_id: UserId::new(text(r, "user_id")?),
        user_handle: text(r, "user_handle")?,
        name: text(r, "name")?,
        credential: text(r, "credential")?,
        created_at: Timestamp::from_millis(int(r, "created_at")?),
        last_used_at: opt_int(r, "last_used_at")?.map(Timestamp::from_millis),
    })
}

/// Stores a new passkey. False if a passkey with this credential id exists already.
pub async fn insert(conn: &mut Conn, p: &StoredPasskey) -> Result<bool> {
    let done = sqlx::query(sql!(
        "INSERT INTO passkeys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL) \
         ON CONFLICT (credential_id) DO NOTHING"
    ))
    .bind(&p.credential_id)
    .bind(p.user_id.as_str())
    .bind(&p.user_handle)
    .bind(&p.name)
    .bind(&p.credential)
    .bind(p.created_at.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A person's passkeys, oldest first.
pub async fn of_user(conn: &mut Conn, user_id: &UserId) -> Result<Vec<StoredPasskey>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, credential_id"
    ))
    .bind(user_id.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The passkey with this credential id.
pub async fn by_credential(conn: &mut Conn, credential_id: &str) -> Result<Option<StoredPasskey>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
    ))
    .bind(credential_id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Records a use: the credential's new state (its counter) and when. Only over the state
/// that was read (`before`), so of two racing uses of one signature count only one passes.
pub async fn record_use(
    conn: &mut Conn,
    credential_id: &str,
    before: &str,
    after: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE passkeys SET credential = $3, last_used_at = $4 \
         WHERE credential_id = $1 AND credential = $2",
    )
    .bind(credential_id)
    .bind(before)
    .bind(after)
    .bind(at.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes one of a person's passkeys; false if they have no such passkey.
pub async fn remove(conn: &mut Conn, user_id: &UserId, credential_id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND credential_id = $2")
        .bind(user_id.as_str())
        .bind(credential_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes all of a person's passkeys and the ceremonies they started; how many passkeys.
pub async fn remove_all(conn: &mut Conn, user_id: &UserId) -> Result<u64> {
    sqlx::query("DELETE FROM passkey_ceremonies WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// A ceremony under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// The SHA-256 of the ceremony's token, hex.
    pub id_hash: String,
    /// `register`, `login` or `second`.
    pub purpose: String,
    /// Whose: the account adding a passkey or passing a second step; none for a login.
    pub user_id: Option<UserId>,
    /// What the purpose needs besides: the new passkey's name, how the first step was passed.
    pub detail: String,
    /// The verifier's challenge state, as JSON.
    pub state: String,
    /// After this the answer is too late.
    pub expires_at: Timestamp,
}

/// Stores a ceremony, first dropping those that expired.
pub async fn put_ceremony(conn: &mut Conn, c: &Ceremony, now: Timestamp) -> Result<()> {
    sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
        .bind(now.millis())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO passkey_ceremonies (id_hash, purpose, user_id, detail, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&c.id_hash)
    .bind(&c.purpose)
    .bind(c.user_id.as_ref().map(|u| u.as_str().to_string()))
    .bind(&c.detail)
    .bind(&c.state)
    .bind(c.expires_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes a ceremony of `purpose` that has not expired: it is gone for any later request.
pub async fn take_ceremony(
    conn: &mut Conn,
    id_hash: &str,
    purpose: &str,
    now: Timestamp,
) -> Result<Option<Ceremony>> {
    let row = sqlx::query(
        "DELETE FROM passkey_ceremonies WHERE id_hash = $1 AND purpose = $2 \
         RETURNING id_hash, purpose, user_id, detail, state, expires_at",
    )
    .bind(id_hash)
    .bind(purpose)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let c = Ceremony {
        id_hash: text(&r, "id_hash")?,
        purpose: text(&r, "purpose")?,
        user_id: opt_text(&r, "user_id")?.map(UserId::new),
        detail: text(&r, "detail")?,
        state: text(&r, "state")?,
        expires_at: Timestamp::from_millis(int(&r, "expires_at")?),
    };
    Ok((c.expires_at > now).then_some(c))
}

/// How many ceremonies are waiting (for tests and the expiry sweep).
pub async fn ceremonies(conn: &mut Conn) -> Result<i64> {
    Ok(
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM passkey_ceremonies")
            .fetch_one(conn)
            .await?,
    )
}
