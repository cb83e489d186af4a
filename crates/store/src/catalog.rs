//! The catalog's versions: `catalog.toml` and each service's definition, stored as JSON with a
//! digest. A new version is written only when the digest changes; versions are never altered.

use ekdwar_domain::Timestamp;

use crate::{Conn, Result, int, text};

/// One stored version of a definition.
#[derive(Debug, Clone)]
pub struct Version {
    /// The service's code (empty for the catalog file).
    pub code: String,
    /// 1, 2, 3… per code.
    pub version: i64,
    /// The definition, as JSON.
    pub body: String,
    /// The digest of the body.
    pub digest: String,
    /// When it was imported.
    pub imported_at: Timestamp,
}

fn from_row(row: &sqlx::any::AnyRow, code: Option<String>) -> Result<Version> {
    Ok(Version {
        code: match code {
            Some(c) => c,
            None => text(row, "code")?,
        },
        version: int(row, "version")?,
        body: text(row, "body")?,
        digest: text(row, "digest")?,
        imported_at: Timestamp::from_millis(int(row, "imported_at")?),
    })
}

/// The latest version of the catalog file.
pub async fn latest_catalog(conn: &mut Conn) -> Result<Option<Version>> {
    sqlx::query(
        "SELECT version, body, digest, imported_at FROM catalog_versions \
         ORDER BY version DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(|r| from_row(r, Some(String::new())))
    .transpose()
}

/// Writes a new version of the catalog file unless the latest has this digest; returns the
/// version now current and whether it is new. Two imports at once cannot both take a number:
/// the second fails on the primary key and its transaction is rolled back.
pub async fn put_catalog(
    conn: &mut Conn,
    body: &str,
    digest: &str,
    at: Timestamp,
) -> Result<(i64, bool)> {
    if let Some(v) = latest_catalog(&mut *conn).await?
        && v.digest == digest
    {
        return Ok((v.version, false));
    }
    let row = sqlx::query(
        "INSERT INTO catalog_versions (version, body, digest, imported_at) \
         SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3 FROM catalog_versions \
         RETURNING version",
    )
    .bind(body)
    .bind(digest)
    .bind(at.millis())
    .fetch_one(conn)
    .await?;
    Ok((int(&row, "version")?, true))
}

/// Writes a new version of a service's definition unless its latest has this digest; returns
/// the version now current and whether it is new.
pub async fn put_service(
    conn: &mut Conn,
    code: &str,
    body: &str,
    digest: &str,
    at: Timestamp,
) -> Result<(i64, bool)> {
    let latest = sqlx::query(
        "SELECT version, digest FROM service_versions WHERE code = $1 \
         ORDER BY version DESC LIMIT 1",
    )
    .bind(code)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = &latest
        && text(row, "digest")? == digest
    {
        return Ok((int(row, "version")?, false));
    }
    let row = sqlx::query(
        "INSERT INTO service_versions (code, version, body, digest, imported_at) \
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 FROM service_versions \
         WHERE code = $1 RETURNING version",
    )
    .bind(code)
    .bind(body)
    .bind(digest)
    .bind(at.millis())
    .fetch_one(conn)
    .await?;
    Ok((int(&row, "version")?, true))
}

/// The latest version of every service, by code.
pub async fn latest_services(conn: &mut Conn) -> Result<Vec<Version>> {
    sqlx::query(
        "SELECT s.code, s.version, s.body, s.digest, s.imported_at FROM service_versions s \
         WHERE s.version = (SELECT MAX(v.version) FROM service_versions v WHERE v.code = s.code) \
         ORDER BY s.code",
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| from_row(r, None))
    .collect()
}

/// One version of a service.
pub async fn service_version(conn: &mut Conn, code: &str, version: i64) -> Result<Option<Version>> {
    sqlx::query(
        "SELECT code, version, body, digest, imported_at FROM service_versions \
         WHERE code = $1 AND version = $2",
    )
    .bind(code)
    .bind(version)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(|r| from_row(r, None))
    .transpose()
}

/// A number that changes whenever anything is imported: nodes compare it to know when to
/// reload the catalog another node imported.
pub async fn generation(conn: &mut Conn) -> Result<i64> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM catalog_versions) + \
         (SELECT COUNT(*) FROM service_versions) AS n",
    )
    .fetch_one(conn)
    .await?;
    int(&row, "n")
}
