//! Standard profiles (sealed), the checks of their items, and the blind index of confirmed
//! national identifiers.

use ekdwar_domain::profile::{CheckItem, CheckStatus};
use ekdwar_domain::{Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::{Conn, Result, corrupt, int, opt_int, opt_text, parsed, sql, text};

/// A person's profile as stored: the facts sealed under a data key.
#[derive(Debug, Clone)]
pub struct SealedProfile {
    /// Whose it is.
    pub user_id: UserId,
    /// The data key that sealed it.
    pub key_id: String,
    /// The sealed facts.
    pub sealed: String,
    /// When it was last sent for checking; `None` while it is being filled in.
    pub submitted_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Timestamp,
}

fn profile_from_row(r: &AnyRow) -> Result<SealedProfile> {
    Ok(SealedProfile {
        user_id: UserId::new(text(r, "user_id")?),
        key_id: text(r, "key_id")?,
        sealed: text(r, "sealed")?,
        submitted_at: opt_int(r, "submitted_at")?.map(Timestamp::from_millis),
        updated_at: Timestamp::from_millis(int(r, "updated_at")?),
    })
}

const PROFILE_COLUMNS: &str = "user_id, key_id, sealed, submitted_at, updated_at";

/// A person's profile, if they began one.
pub async fn get(conn: &mut Conn, user_id: &UserId) -> Result<Option<SealedProfile>> {
    sqlx::query(sql!(
        "SELECT {PROFILE_COLUMNS} FROM profiles WHERE user_id = $1"
    ))
    .bind(user_id.as_str())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(profile_from_row)
    .transpose()
}

/// Takes the write lock on a person's account row for the rest of the transaction, so that
/// the checks of their items end one after another: the last to end sees all the others.
pub async fn lock(conn: &mut Conn, user_id: &UserId) -> Result<()> {
    sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
        .bind(user_id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes a person's profile (made or replaced).
pub async fn put(conn: &mut Conn, p: &SealedProfile) -> Result<()> {
    sqlx::query(
        "INSERT INTO profiles (user_id, key_id, sealed, submitted_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET key_id = excluded.key_id, \
         sealed = excluded.sealed, submitted_at = excluded.submitted_at, updated_at = excluded.updated_at",
    )
    .bind(p.user_id.as_str())
    .bind(&p.key_id)
    .bind(&p.sealed)
    .bind(p.submitted_at.map(Timestamp::millis))
    .bind(p.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` profiles sealed under a key other than `current`, for a rotation.
pub async fn sealed_under_other(
    conn: &mut Conn,
    current: &str,
    limit: i64,
) -> Result<Vec<SealedProfile>> {
    sqlx::query(sql!(
        "SELECT {PROFILE_COLUMNS} FROM profiles WHERE key_id <> $1 ORDER BY user_id LIMIT $2"
    ))
    .bind(current)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(profile_from_row)
    .collect()
}

/// Re-seals one profile, only if it is still as read (`old_key`, `old_sealed`): a change made
/// meanwhile by its owner wins, and the rotation takes it up in its next pass.
pub async fn reseal(
    conn: &mut Conn,
    user_id: &UserId,
    old_key: &str,
    old_sealed: &str,
    key_id: &str,
    sealed: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE profiles SET key_id = $1, sealed = $2 WHERE user_id = $3 AND key_id = $4 AND sealed = $5",
    )
    .bind(key_id)
    .bind(sealed)
    .bind(user_id.as_str())
    .bind(old_key)
    .bind(old_sealed)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many profiles each data key seals.
pub async fn count_by_key(conn: &mut Conn) -> Result<Vec<(String, i64)>> {
    sqlx::query("SELECT key_id, COUNT(*) AS n FROM profiles GROUP BY key_id ORDER BY key_id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((text(r, "key_id")?, int(r, "n")?)))
        .collect()
}

/// The check of one item.
#[derive(Debug, Clone)]
pub struct Check {
    /// Whose profile.
    pub user_id: UserId,
    /// The item checked.
    pub item: CheckItem,
    /// The registry asked.
    pub registry: String,
    /// Keyed hash of the facts checked.
    pub fingerprint: String,
    /// Where it stands.
    pub status: CheckStatus,
    /// The id of the request to the registry (the same for every retry of one check).
    pub request_id: String,
    /// How many times the registry was asked (for back-off).
    pub attempts: i64,
    /// For a mismatch, the fields the registry named; for a review, why.
    pub detail: Option<String>,
    /// When this check began.
    pub started_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

fn check_from_row(r: &AnyRow) -> Result<Check> {
    let item = text(r, "item")?;
    Ok(Check {
        user_id: UserId::new(text(r, "user_id")?),
        item: CheckItem::parse(&item).ok_or_else(|| corrupt("check item", &item))?,
        registry: text(r, "registry")?,
        fingerprint: text(r, "fingerprint")?,
        status: parsed(r, "status", CheckStatus::parse)?,
        request_id: text(r, "request_id")?,
        attempts: int(r, "attempts")?,
        detail: opt_text(r, "detail")?,
        started_at: Timestamp::from_millis(int(r, "started_at")?),
        updated_at: Timestamp::from_millis(int(r, "updated_at")?),
    })
}

const CHECK_COLUMNS: &str = "user_id, item, registry, fingerprint, status, request_id, attempts, \
     detail, started_at, updated_at";

/// Every check of a person's items.
pub async fn checks(conn: &mut Conn, user_id: &UserId) -> Result<Vec<Check>> {
    sqlx::query(sql!(
        "SELECT {CHECK_COLUMNS} FROM profile_checks WHERE user_id = $1 ORDER BY item"
    ))
    .bind(user_id.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(check_from_row)
    .collect()
}

/// One check.
pub async fn check(conn: &mut Conn, user_id: &UserId, item: CheckItem) -> Result<Option<Check>> {
    sqlx::query(sql!(
        "SELECT {CHECK_COLUMNS} FROM profile_checks WHERE user_id = $1 AND item = $2"
    ))
    .bind(user_id.as_str())
    .bind(item.as_str())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(check_from_row)
    .transpose()
}

/// Starts (or starts again) the check of an item.
pub async fn start_check(conn: &mut Conn, c: &Check) -> Result<()> {
    sqlx::query(
        "INSERT INTO profile_checks (user_id, item, registry, fingerprint, status, request_id, attempts, \
         detail, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (user_id, item) DO UPDATE SET registry = excluded.registry, \
         fingerprint = excluded.fingerprint, status = excluded.status, request_id = excluded.request_id, \
         attempts = excluded.attempts, detail = excluded.detail, started_at = excluded.started_at, \
         updated_at = excluded.updated_at",
    )
    .bind(c.user_id.as_str())
    .bind(c.item.as_str())
    .bind(&c.registry)
    .bind(&c.fingerprint)
    .bind(c.status.as_str())
    .bind(&c.request_id)
    .bind(c.attempts)
    .bind(&c.detail)
    .bind(c.started_at.millis())
    .bind(c.updated_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the check of an item no longer in the profile.
pub async fn drop_check(conn: &mut Conn, user_id: &UserId, item: CheckItem) -> Result<()> {
    sqlx::query("DELETE FROM profile_checks WHERE user_id = $1 AND item = $2")
        .bind(user_id.as_str())
        .bind(item.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Records the registry's answer (`c`'s status, detail, attempts and time) to request
/// `c.request_id`, only while that request is the item's current one and still checking (or under review, when a staff member decides): an
/// answer to an older request (the item was edited since) changes nothing.
pub async fn answer(conn: &mut Conn, c: &Check) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE profile_checks SET status = $1, detail = $2, attempts = $3, updated_at = $4 \
         WHERE user_id = $5 AND item = $6 AND request_id = $7 AND status IN ('checking', 'review')",
    )
    .bind(c.status.as_str())
    .bind(&c.detail)
    .bind(c.attempts)
    .bind(c.updated_at.millis())
    .bind(c.user_id.as_str())
    .bind(c.item.as_str())
    .bind(&c.request_id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Checks waiting for a staff member, oldest first.
pub async fn in_review(conn: &mut Conn, limit: i64) -> Result<Vec<Check>> {
    sqlx::query(sql!(
        "SELECT {CHECK_COLUMNS} FROM profile_checks WHERE status = 'review' ORDER BY updated_at LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(check_from_row)
    .collect()
}
