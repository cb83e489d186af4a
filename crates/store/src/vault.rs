//! Data keys: the keys personal data is sealed with, each kept wrapped by the server's key
//! (which is never in the database). The newest key not retired seals new records; every key
//! opens what it sealed until a rotation has moved all of it.

use ekdwar_domain::Timestamp;
use sqlx::any::AnyRow;

use crate::{Conn, Result, int, opt_int, sql, text};

/// A data key as stored.
#[derive(Debug, Clone)]
pub struct DataKey {
    /// Its id, stored beside everything it sealed.
    pub id: String,
    /// The key, wrapped with the server's key.
    pub wrapped: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When a newer key took over sealing; it still opens what it sealed.
    pub retired_at: Option<Timestamp>,
}

fn from_row(r: &AnyRow) -> Result<DataKey> {
    Ok(DataKey {
        id: text(r, "id")?,
        wrapped: text(r, "wrapped")?,
        created_at: Timestamp::from_millis(int(r, "created_at")?),
        retired_at: opt_int(r, "retired_at")?.map(Timestamp::from_millis),
    })
}

/// Every data key, oldest first.
pub async fn all(conn: &mut Conn) -> Result<Vec<DataKey>> {
    sqlx::query("SELECT id, wrapped, created_at, retired_at FROM data_keys ORDER BY created_at, id")
        .fetch_all(conn)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The key that seals new records: the newest not retired.
pub async fn current(conn: &mut Conn) -> Result<Option<DataKey>> {
    sqlx::query(
        "SELECT id, wrapped, created_at, retired_at FROM data_keys WHERE retired_at IS NULL \
         ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// Adds a key and retires every other: from now on it alone seals.
pub async fn add_current(conn: &mut Conn, key: &DataKey) -> Result<()> {
    sqlx::query("UPDATE data_keys SET retired_at = $1 WHERE retired_at IS NULL")
        .bind(key.created_at.millis())
        .execute(&mut *conn)
        .await?;
    insert(conn, key, "").await
}

/// Adds the first key unless one exists (two processes starting at once make one).
pub async fn add_first(conn: &mut Conn, key: &DataKey) -> Result<()> {
    insert(conn, key, " WHERE NOT EXISTS (SELECT 1 FROM data_keys)").await
}

/// Inserts `key` as current, unless `condition` (a `WHERE` clause, or nothing) fails.
async fn insert(conn: &mut Conn, key: &DataKey, condition: &'static str) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO data_keys (id, wrapped, created_at, retired_at) SELECT $1, $2, $3, NULL{condition}"
    ))
    .bind(&key.id)
    .bind(&key.wrapped)
    .bind(key.created_at.millis())
    .execute(conn)
    .await?;
    Ok(())
}
