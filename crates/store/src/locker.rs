//! The document locker's records and the objects waiting to be removed from the object store.
//! A document's size counts toward its owner's quota; an upload's total is checked under a lock
//! on the owner's row, so two uploads at once cannot both slip under it.

use ekdwar_domain::{Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::{Conn, Result, int, opt_text, sql, text};

/// A document in a person's locker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// Its random id.
    pub id: String,
    /// Whose locker it is in.
    pub owner_id: UserId,
    /// `uploaded` or `issued`.
    pub source: String,
    /// An issued document's URI.
    pub uri: Option<String>,
    /// An issued document's type.
    pub doc_type: Option<String>,
    /// An issued document's issuer.
    pub issuer_id: Option<String>,
    /// The file's media type.
    pub mime: String,
    /// The file's size in bytes.
    pub size: i64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Where the sealed bytes are in the object store.
    pub object_key: String,
    /// The vault's data key that seals `sealed`.
    pub key_id: String,
    /// The document's own key, description, folder and file name, sealed.
    pub sealed: String,
    /// Where the sealed thumbnail is, for an image.
    pub thumbnail_key: Option<String>,
    /// When it arrived.
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, owner_id, source, uri, doc_type, issuer_id, mime, size, sha256, \
                       object_key, key_id, sealed, thumbnail_key, created_at";

fn from_row(r: &AnyRow) -> Result<StoredDocument> {
    Ok(StoredDocument {
        id: text(r, "id")?,
        owner_id: UserId::new(text(r, "owner_id")?),
        source: text(r, "source")?,
        uri: opt_text(r, "uri")?,
        doc_type: opt_text(r, "doc_type")?,
        issuer_id: opt_text(r, "issuer_id")?,
        mime: text(r, "mime")?,
        size: int(r, "size")?,
        sha256: text(r, "sha256")?,
        object_key: text(r, "object_key")?,
        key_id: text(r, "key_id")?,
        sealed: text(r, "sealed")?,
        thumbnail_key: opt_text(r, "thumbnail_key")?,
        created_at: Timestamp::from_millis(int(r, "created_at")?),
    })
}

/// Locks the owner's account row until the transaction ends (SQLite's single writer already
/// serialises), then returns the bytes their documents take.
pub async fn lock_and_measure(conn: &mut Conn, owner: &UserId) -> Result<i64> {
    let lock = crate::Backend::of(conn).for_update();
    sqlx::query(sql!("SELECT id FROM users WHERE id = $1{lock}"))
        .bind(owner.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    used(conn, owner).await
}

/// The bytes a person's documents take.
pub async fn used(conn: &mut Conn, owner: &UserId) -> Result<i64> {
    let row = sqlx::query(sql!(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS used FROM locker_documents \
         WHERE owner_id = $1"
    ))
    .bind(owner.as_str())
    .fetch_one(conn)
    .await?;
    int(&row, "used")
}

/// Stores a document's record and forgets its object's pending removal, in the caller's
/// transaction. False when an issued document with this URI exists already.
pub async fn insert(conn: &mut Conn, d: &StoredDocument) -> Result<bool> {
    let done = sqlx::query(sql!(
        "INSERT INTO locker_documents ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT DO NOTHING"
    ))
    .bind(&d.id)
    .bind(d.owner_id.as_str())
    .bind(&d.source)
    .bind(d.uri.as_deref())
    .bind(d.doc_type.as_deref())
    .bind(d.issuer_id.as_deref())
    .bind(&d.mime)
    .bind(d.size)
    .bind(&d.sha256)
    .bind(&d.object_key)
    .bind(&d.key_id)
    .bind(&d.sealed)
    .bind(d.thumbnail_key.as_deref())
    .bind(d.created_at.millis())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    kept(conn, &d.object_key).await?;
    if let Some(t) = &d.thumbnail_key {
        kept(conn, t).await?;
    }
    Ok(true)
}

/// A person's documents, newest first.
pub async fn of_owner(conn: &mut Conn, owner: &UserId) -> Result<Vec<StoredDocument>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM locker_documents WHERE owner_id = $1 \
         ORDER BY created_at DESC, id"
    ))
    .bind(owner.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The document with this id.
pub async fn by_id(conn: &mut Conn, id: &str) -> Result<Option<StoredDocument>> {
    sqlx::query(sql!("SELECT {COLUMNS} FROM locker_documents WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Removes a document's record and schedules its objects' removal, in the caller's
/// transaction. False when it was not the owner's (or is gone).
pub async fn delete(conn: &mut Conn, id: &str, owner: &UserId, now: Timestamp) -> Result<bool> {
    let Some(row) = sqlx::query(sql!(
        "DELETE FROM locker_documents WHERE id = $1 AND owner_id = $2 \
         RETURNING object_key, thumbnail_key"
    ))
    .bind(id)
    .bind(owner.as_str())
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(false);
    };
    orphan(conn, &text(&row, "object_key")?, now).await?;
    if let Some(t) = opt_text(&row, "thumbnail_key")? {
        orphan(conn, &t, now).await?;
    }
    Ok(true)
}

/// Records that the object at `key` is to be removed once `after` has passed (an upload about
/// to begin names its object here first, so a crash leaves nothing unaccounted for).
pub async fn orphan(conn: &mut Conn, key: &str, after: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO locker_orphans (object_key, remove_after) VALUES ($1, $2) \
         ON CONFLICT (object_key) DO UPDATE SET remove_after = excluded.remove_after",
    )
    .bind(key)
    .bind(after.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The object at `key` belongs to a record now, or has been removed.
pub async fn kept(conn: &mut Conn, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM locker_orphans WHERE object_key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(())
}

/// Up to `limit` objects whose removal is due.
pub async fn due_orphans(conn: &mut Conn, now: Timestamp, limit: i64) -> Result<Vec<String>> {
    sqlx::query(
        "SELECT object_key FROM locker_orphans WHERE remove_after <= $1 \
         ORDER BY remove_after LIMIT $2",
    )
    .bind(now.millis())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| text(r, "object_key"))
    .collect()
}

/// The locker id of `owner`, if one was made.
pub async fn locker_id(conn: &mut Conn, owner: &UserId) -> Result<Option<String>> {
    sqlx::query("SELECT locker_id FROM locker_ids WHERE user_id = $1")
        .bind(owner.as_str())
        .fetch_optional(conn)
        .await?
        .map(|r| text(&r, "locker_id"))
        .transpose()
}

/// Gives `owner` the locker id `id` unless they have one; returns the one they have.
pub async fn ensure_locker_id(conn: &mut Conn, owner: &UserId, id: &str) -> Result<String> {
    sqlx::query(
        "INSERT INTO locker_ids (user_id, locker_id) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(owner.as_str())
    .bind(id)
    .execute(&mut *conn)
    .await?;
    locker_id(conn, owner)
        .await?
        .ok_or_else(|| crate::StoreError::Corrupt("a locker id vanished".into()))
}

/// The person whose locker id is `id`.
pub async fn owner_of_locker(conn: &mut Conn, id: &str) -> Result<Option<UserId>> {
    sqlx::query("SELECT user_id FROM locker_ids WHERE locker_id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(|r| text(&r, "user_id").map(UserId::new))
        .transpose()
}

/// The issued document with this URI.
pub async fn by_uri(conn: &mut Conn, uri: &str) -> Result<Option<StoredDocument>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM locker_documents WHERE uri = $1"
    ))
    .bind(uri)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Replaces an issued document's file and sealed details (an issuer's update), in the caller's
/// transaction; the old object is scheduled for removal.
pub async fn replace(
    conn: &mut Conn,
    d: &StoredDocument,
    old_object: &str,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE locker_documents SET mime = $2, size = $3, sha256 = $4, object_key = $5, \
         key_id = $6, sealed = $7, created_at = $8 WHERE id = $1",
    )
    .bind(&d.id)
    .bind(&d.mime)
    .bind(d.size)
    .bind(&d.sha256)
    .bind(&d.object_key)
    .bind(&d.key_id)
    .bind(&d.sealed)
    .bind(d.created_at.millis())
    .execute(&mut *conn)
    .await?;
    kept(conn, &d.object_key).await?;
    orphan(conn, old_object, now).await
}

/// A shared link to a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    /// Its random id (the owner's handle on it).
    pub id: String,
    /// SHA-256 of the link's token, hex.
    pub token_hash: String,
    /// The document it opens.
    pub document_id: String,
    /// Whose document it is.
    pub owner_id: UserId,
    /// The keyed hash of its PIN, if it has one.
    pub pin_hash: Option<String>,
    /// Wrong PINs typed so far.
    pub wrong_pins: i64,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// When it was revoked (by its owner, or by wrong PINs).
    pub revoked_at: Option<Timestamp>,
}

const SHARE_COLUMNS: &str = "id, token_hash, document_id, owner_id, pin_hash, wrong_pins, \
                             created_at, expires_at, revoked_at";

fn share_from_row(r: &AnyRow) -> Result<Share> {
    Ok(Share {
        id: text(r, "id")?,
        token_hash: text(r, "token_hash")?,
        document_id: text(r, "document_id")?,
        owner_id: UserId::new(text(r, "owner_id")?),
        pin_hash: opt_text(r, "pin_hash")?,
        wrong_pins: int(r, "wrong_pins")?,
        created_at: Timestamp::from_millis(int(r, "created_at")?),
        expires_at: Timestamp::from_millis(int(r, "expires_at")?),
        revoked_at: crate::opt_int(r, "revoked_at")?.map(Timestamp::from_millis),
    })
}

/// Stores a new share.
pub async fn add_share(conn: &mut Conn, s: &Share) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO locker_shares ({SHARE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, NULL)"
    ))
    .bind(&s.id)
    .bind(&s.token_hash)
    .bind(&s.document_id)
    .bind(s.owner_id.as_str())
    .bind(s.pin_hash.as_deref())
    .bind(s.created_at.millis())
    .bind(s.expires_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The share whose token hashes to `token_hash`.
pub async fn share_by_token(conn: &mut Conn, token_hash: &str) -> Result<Option<Share>> {
    sqlx::query(sql!(
        "SELECT {SHARE_COLUMNS} FROM locker_shares WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(share_from_row)
    .transpose()
}

/// A document's shares, newest first.
pub async fn shares_of(conn: &mut Conn, document_id: &str) -> Result<Vec<Share>> {
    sqlx::query(sql!(
        "SELECT {SHARE_COLUMNS} FROM locker_shares WHERE document_id = $1 \
         ORDER BY created_at DESC, id"
    ))
    .bind(document_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(share_from_row)
    .collect()
}

/// Ends a share of `owner`'s. False when it is not theirs or already ended.
pub async fn revoke_share(
    conn: &mut Conn,
    id: &str,
    owner: &UserId,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE locker_shares SET revoked_at = $3 \
         WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(owner.as_str())
    .bind(now.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts a wrong PIN; at `limit` the share ends. Returns the count now.
pub async fn wrong_pin(conn: &mut Conn, id: &str, limit: i64, now: Timestamp) -> Result<i64> {
    let row = sqlx::query(
        "UPDATE locker_shares SET wrong_pins = wrong_pins + 1, \
         revoked_at = CASE WHEN wrong_pins + 1 >= $2 AND revoked_at IS NULL THEN $3 ELSE revoked_at END \
         WHERE id = $1 RETURNING wrong_pins",
    )
    .bind(id)
    .bind(limit)
    .bind(now.millis())
    .fetch_one(conn)
    .await?;
    int(&row, "wrong_pins")
}

/// A use of a shared link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareUse {
    /// The link used.
    pub share_id: String,
    /// When.
    pub at: Timestamp,
    /// `opened`, `downloaded`, `wrong-pin`, `refused`.
    pub what: String,
    /// From which network address.
    pub ip: Option<String>,
    /// With which browser.
    pub user_agent: Option<String>,
}

/// Records a use of a shared link.
pub async fn add_share_use(conn: &mut Conn, u: &ShareUse) -> Result<()> {
    sqlx::query(
        "INSERT INTO locker_share_uses (share_id, at, what, ip, user_agent) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&u.share_id)
    .bind(u.at.millis())
    .bind(&u.what)
    .bind(u.ip.as_deref())
    .bind(u.user_agent.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

/// The uses of a document's shared links, newest first (at most `limit`).
pub async fn share_uses_of(
    conn: &mut Conn,
    document_id: &str,
    limit: i64,
) -> Result<Vec<ShareUse>> {
    sqlx::query(
        "SELECT u.share_id, u.at, u.what, u.ip, u.user_agent FROM locker_share_uses u \
         JOIN locker_shares s ON s.id = u.share_id WHERE s.document_id = $1 \
         ORDER BY u.at DESC LIMIT $2",
    )
    .bind(document_id)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(ShareUse {
            share_id: text(r, "share_id")?,
            at: Timestamp::from_millis(int(r, "at")?),
            what: text(r, "what")?,
            ip: opt_text(r, "ip")?,
            user_agent: opt_text(r, "user_agent")?,
        })
    })
    .collect()
}

/// Up to `limit` documents whose secrets are sealed under a data key other than `current`:
/// (id, key id, sealed).
pub async fn sealed_under_other(
    conn: &mut Conn,
    current: &str,
    limit: i64,
) -> Result<Vec<(String, String, String)>> {
    sqlx::query(
        "SELECT id, key_id, sealed FROM locker_documents WHERE key_id <> $1 ORDER BY id LIMIT $2",
    )
    .bind(current)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((text(r, "id")?, text(r, "key_id")?, text(r, "sealed")?)))
    .collect()
}

/// Re-seals one document's secrets, only if they are still as read (an issuer's update made
/// meanwhile wins, sealed under the new key already).
pub async fn reseal(
    conn: &mut Conn,
    id: &str,
    old_sealed: &str,
    key_id: &str,
    sealed: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE locker_documents SET key_id = $3, sealed = $4 WHERE id = $1 AND sealed = $2",
    )
    .bind(id)
    .bind(old_sealed)
    .bind(key_id)
    .bind(sealed)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many documents each data key seals.
pub async fn count_by_key(conn: &mut Conn) -> Result<Vec<(String, i64)>> {
    sqlx::query(
        "SELECT key_id, CAST(COUNT(*) AS BIGINT) AS n FROM locker_documents GROUP BY key_id ORDER BY key_id",
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((text(r, "key_id")?, int(r, "n")?)))
    .collect()
}
