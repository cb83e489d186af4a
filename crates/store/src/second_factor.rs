//! Second factors: an authenticator app's secret (wrapped) and recovery codes (hashed). Every
//! use is one conditional `UPDATE`, so a code can be used once however many requests race.

use ekdwar_domain::Timestamp;
use sqlx::any::AnyRow;

use crate::{Conn, Result, int, opt_int, text};
use ekdwar_domain::UserId;

#[derive(Debug, Clone)]
/// A person's authenticator app.
pub struct TotpFactor {
    /// Whose it is.
    pub user_id: UserId,
    /// Names the keystream the secret is wrapped with; new for every secret.
    pub wrap_id: String,
    /// The TOTP secret, wrapped with the server key.
    pub secret_wrapped: String,
    /// When it was set up.
    pub created_at: Timestamp,
    /// `None` while the person has not yet typed a first code from the app.
    pub confirmed_at: Option<Timestamp>,
    /// The last time step whose code was accepted: no code of it or before is accepted again.
    pub last_step: i64,
}

fn from_row(r: &AnyRow) -> Result<TotpFactor> {
    Ok(TotpFactor {
        user_id: UserId::new(text(r, "user_id")?),
        wrap_id: text(r, "wrap_id")?,
        secret_wrapped: text(r, "secret_wrapped")?,
        created_at: Timestamp::from_millis(int(r, "created_at")?),
        confirmed_at: opt_int(r, "confirmed_at")?.map(Timestamp::from_millis),
        last_step: int(r, "last_step")?,
    })
}

/// A person's authenticator app, if they set one up.
pub async fn totp(conn: &mut Conn, user_id: &UserId) -> Result<Option<TotpFactor>> {
    sqlx::query(
        "SELECT user_id, wrap_id, secret_wrapped, created_at, confirmed_at, last_step \
         FROM totp_factors WHERE user_id = $1",
    )
    .bind(user_id.as_str())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Stores a secret being set up, replacing an earlier unconfirmed one; never a confirmed one.
/// False if the account has a confirmed factor.
pub async fn put_pending(conn: &mut Conn, f: &TotpFactor) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO totp_factors (user_id, wrap_id, secret_wrapped, created_at, confirmed_at, last_step) \
         VALUES ($1, $2, $3, $4, NULL, 0) \
         ON CONFLICT (user_id) DO UPDATE SET wrap_id = excluded.wrap_id, \
         secret_wrapped = excluded.secret_wrapped, created_at = excluded.created_at, last_step = 0 \
         WHERE totp_factors.confirmed_at IS NULL",
    )
    .bind(f.user_id.as_str())
    .bind(&f.wrap_id)
    .bind(&f.secret_wrapped)
    .bind(f.created_at.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the code of `step`: confirms a pending factor (when `confirming`) or uses a
/// confirmed one. False if that step, or a later one, was used already.
pub async fn take_step(
    conn: &mut Conn,
    user_id: &UserId,
    wrap_id: &str,
    step: i64,
    confirming: Option<Timestamp>,
) -> Result<bool> {
    let done = match confirming {
        Some(now) => {
            sqlx::query(
                "UPDATE totp_factors SET last_step = $1, confirmed_at = $2 \
             WHERE user_id = $3 AND wrap_id = $4 AND confirmed_at IS NULL AND last_step < $1",
            )
            .bind(step)
            .bind(now.millis())
            .bind(user_id.as_str())
            .bind(wrap_id)
            .execute(conn)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE totp_factors SET last_step = $1 \
             WHERE user_id = $2 AND wrap_id = $3 AND confirmed_at IS NOT NULL AND last_step < $1",
            )
            .bind(step)
            .bind(user_id.as_str())
            .bind(wrap_id)
            .execute(conn)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Removes the factor and the recovery codes.
pub async fn remove(conn: &mut Conn, user_id: &UserId) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces all of an account's recovery codes with new ones (their hashes).
pub async fn replace_recovery_codes(
    conn: &mut Conn,
    user_id: &UserId,
    hashes: &[String],
    now: Timestamp,
) -> Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    for h in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at, used_at) VALUES ($1, $2, $3, NULL)",
        )
        .bind(user_id.as_str())
        .bind(h)
        .bind(now.millis())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Uses a recovery code: false if it is not one of the account's or was used already.
pub async fn use_recovery_code(
    conn: &mut Conn,
    user_id: &UserId,
    hash: &str,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now.millis())
    .bind(user_id.as_str())
    .bind(hash)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many unused recovery codes an account has.
pub async fn recovery_codes_left(conn: &mut Conn, user_id: &UserId) -> Result<i64> {
    let r = sqlx::query(
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user_id.as_str())
    .fetch_one(conn)
    .await?;
    int(&r, "n")
}
