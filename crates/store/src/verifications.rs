//! One-time verifications: a code sent by SMS or a link sent by e-mail, for registration,
//! recovery and contact changes. Only a hash of the secret is stored.

use ekdwar_domain::{Channel, Timestamp};
use sqlx::any::AnyRow;

use crate::{Conn, Result, corrupt, int, opt_int, opt_text, parsed, sql, text};
use ekdwar_domain::UserId;
use ekdwar_domain::identity::Purpose;

#[derive(Debug, Clone)]
/// A code or link sent to prove a contact.
pub struct Verification {
    /// Its id (kept in the flow's cookie).
    pub id: String,
    /// `register`, `recover` or `contact`.
    pub purpose: Purpose,
    /// The account it is for, when there is one.
    pub user_id: Option<UserId>,
    /// SMS or e-mail.
    pub channel: Channel,
    /// Where it was sent.
    pub contact: String,
    /// The keyed hash of the code or link token.
    pub secret_hash: String,
    /// Use-case data carried to the next step (JSON).
    pub payload: String,
    /// Wrong codes typed so far.
    pub attempts: i64,
    /// Wrong codes allowed.
    pub max_attempts: i64,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops being good.
    pub expires_at: Timestamp,
    /// No resend before this.
    pub resend_after: Timestamp,
    /// When the code or link was shown to be right.
    pub verified_at: Option<Timestamp>,
    /// When the flow it proved was completed (it cannot be used again).
    pub consumed_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, purpose, user_id, channel, contact, secret_hash, payload, attempts, \
    max_attempts, created_at, expires_at, resend_after, verified_at, consumed_at";

fn from_row(row: &AnyRow) -> Result<Verification> {
    let channel = text(row, "channel")?;
    Ok(Verification {
        id: text(row, "id")?,
        purpose: parsed(row, "purpose", Purpose::parse)?,
        user_id: opt_text(row, "user_id")?.map(UserId::new),
        channel: Channel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
        contact: text(row, "contact")?,
        secret_hash: text(row, "secret_hash")?,
        payload: text(row, "payload")?,
        attempts: int(row, "attempts")?,
        max_attempts: int(row, "max_attempts")?,
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        expires_at: Timestamp::from_millis(int(row, "expires_at")?),
        resend_after: Timestamp::from_millis(int(row, "resend_after")?),
        verified_at: opt_int(row, "verified_at")?.map(Timestamp::from_millis),
        consumed_at: opt_int(row, "consumed_at")?.map(Timestamp::from_millis),
    })
}

/// Stores a new verification.
pub async fn insert(conn: &mut Conn, v: &Verification) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO verifications ({COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(&v.id)
    .bind(v.purpose.as_str())
    .bind(v.user_id.as_deref())
    .bind(v.channel.as_str())
    .bind(&v.contact)
    .bind(&v.secret_hash)
    .bind(&v.payload)
    .bind(v.attempts)
    .bind(v.max_attempts)
    .bind(v.created_at.millis())
    .bind(v.expires_at.millis())
    .bind(v.resend_after.millis())
    .bind(v.verified_at.map(Timestamp::millis))
    .bind(v.consumed_at.map(Timestamp::millis))
    .execute(conn)
    .await?;
    Ok(())
}

/// The verification with this id.
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<Verification>> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM verifications WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Takes one attempt at the secret, if any is left: the new count, or `None` when all are used
/// (or the secret is already proven). One conditional statement, so concurrent guesses never
/// share an attempt.
pub async fn claim_attempt(conn: &mut Conn, id: &str) -> Result<Option<i64>> {
    let row = sqlx::query(
        "UPDATE verifications SET attempts = attempts + 1 \
         WHERE id = $1 AND attempts < max_attempts AND verified_at IS NULL RETURNING attempts",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| int(&r, "attempts")).transpose()
}

/// Marks the secret as proven. Only the first call succeeds (single use).
pub async fn mark_verified(conn: &mut Conn, id: &str, at: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE verifications SET verified_at = $1 WHERE id = $2 AND verified_at IS NULL AND consumed_at IS NULL")
        .bind(at.millis())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the secret as proven and keeps what proving it gave (a registry's record, sealed)
/// for the next step. Only the first call succeeds.
pub async fn mark_verified_with(
    conn: &mut Conn,
    id: &str,
    payload: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE verifications SET verified_at = $1, payload = $2 \
         WHERE id = $3 AND verified_at IS NULL AND consumed_at IS NULL",
    )
    .bind(at.millis())
    .bind(payload)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the verification as used up. Only the first call succeeds.
pub async fn consume(conn: &mut Conn, id: &str, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE verifications SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL",
    )
    .bind(at.millis())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the secret (a resend), resetting attempts and the deadline.
pub async fn replace_secret(
    conn: &mut Conn,
    id: &str,
    secret_hash: &str,
    now: Timestamp,
    expires_at: Timestamp,
    resend_after: Timestamp,
) -> Result<bool> {
    // The cool-down is part of the condition: of resends racing on one row, one wins.
    let done = sqlx::query(
        "UPDATE verifications SET secret_hash = $1, attempts = 0, expires_at = $2, resend_after = $3 \
         WHERE id = $4 AND verified_at IS NULL AND consumed_at IS NULL AND resend_after <= $5",
    )
    .bind(secret_hash)
    .bind(expires_at.millis())
    .bind(resend_after.millis())
    .bind(id)
    .bind(now.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes verifications that expired before `before`.
pub async fn purge(conn: &mut Conn, before: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM verifications WHERE expires_at < $1")
        .bind(before.millis())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
