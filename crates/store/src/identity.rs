//! Accounts.

use ekdwar_domain::{
    AccountLevel, AccountStatus, AccountType, Contact, Email, LoginIdentifier, PersonName, Phone,
    PortalId, Role, Timestamp, name_search_keys,
};
use sqlx::any::AnyRow;

use crate::{Conn, Result, StoreError, corrupt, int, opt_text, sql, text};
use ekdwar_domain::UserId;

/// An account as stored.
#[derive(Debug, Clone)]
pub struct User {
    /// The account's id (never shown to apps, which get a subject).
    pub id: UserId,
    /// The name the person logs in with.
    pub portal_id: PortalId,
    /// Given name.
    pub first_name: PersonName,
    /// Family name.
    pub last_name: PersonName,
    /// A verified mobile number.
    pub phone: Option<Phone>,
    /// A verified e-mail address.
    pub email: Option<Email>,
    /// PHC string (argon2id); `None` for accounts that cannot log in with a password.
    pub password_hash: Option<String>,
    /// When the password was last set (for expiry, where a deployment asks for it).
    pub password_changed_at: Timestamp,
    /// How far the person's identity is established.
    pub level: AccountLevel,
    /// Citizen, business, government or not yet known.
    pub account_type: AccountType,
    /// What the account may administer.
    pub role: Role,
    /// Whether it may log in.
    pub status: AccountStatus,
    /// The language of its messages (a tag such as `hi`).
    pub language: Option<String>,
    /// When the person accepted the terms.
    pub consent_at: Timestamp,
    /// When the account was made.
    pub created_at: Timestamp,
    /// When the account last changed.
    pub updated_at: Timestamp,
}

impl User {
    /// An active citizen at the simplified level, made `now`, without contacts or password:
    /// the account that bulk seeding writes.
    pub fn citizen(
        id: UserId,
        portal_id: PortalId,
        first_name: PersonName,
        last_name: PersonName,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            portal_id,
            first_name,
            last_name,
            phone: None,
            email: None,
            password_hash: None,
            password_changed_at: now,
            level: AccountLevel::Simplified,
            account_type: AccountType::Citizen,
            role: Role::Citizen,
            status: AccountStatus::Active,
            language: None,
            consent_at: now,
            created_at: now,
            updated_at: now,
        }
    }

    /// Given and family name, as shown.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name.as_str(), self.last_name.as_str())
    }
}

const COLUMNS: &str = "id, portal_id, first_name, last_name, phone, email, password_hash, \
    password_changed_at, level, account_type, role, status, language, consent_at, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<User> {
    let level = text(row, "level")?;
    let account_type = text(row, "account_type")?;
    let role = text(row, "role")?;
    let status = text(row, "status")?;
    Ok(User {
        id: UserId::new(text(row, "id")?),
        portal_id: PortalId::from_trusted(text(row, "portal_id")?),
        first_name: PersonName::from_trusted(text(row, "first_name")?),
        last_name: PersonName::from_trusted(text(row, "last_name")?),
        phone: opt_text(row, "phone")?.map(Phone::from_trusted),
        email: opt_text(row, "email")?.map(Email::from_trusted),
        password_hash: opt_text(row, "password_hash")?,
        password_changed_at: Timestamp::from_millis(int(row, "password_changed_at")?),
        level: AccountLevel::parse(&level).ok_or_else(|| corrupt("level", &level))?,
        account_type: AccountType::parse(&account_type)
            .ok_or_else(|| corrupt("account_type", &account_type))?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        status: AccountStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        language: opt_text(row, "language")?,
        consent_at: Timestamp::from_millis(int(row, "consent_at")?),
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        updated_at: Timestamp::from_millis(int(row, "updated_at")?),
    })
}

/// Inserts a new account. A taken portal ID, phone or e-mail is reported as
/// [`StoreError::Conflict`] naming the column.
pub async fn insert(conn: &mut Conn, u: &User) -> Result<()> {
    insert_many(conn, std::slice::from_ref(u)).await
}

/// Inserts many accounts in one statement (bulk data: seeding, benchmarks). Keep a call under
/// 1,700 accounts (SQLite binds at most 32,766 values).
pub async fn insert_many(conn: &mut Conn, users: &[User]) -> Result<()> {
    insert_rows(conn, users, true).await
}

/// The migration since which accounts carry their name search keys.
pub const NAME_KEYS_SINCE: i64 = 13;

/// [`insert_many`] as releases before [`NAME_KEYS_SINCE`] wrote accounts (no name search
/// keys): to build such a database for upgrade tests and measurements.
pub async fn insert_many_without_name_keys(conn: &mut Conn, users: &[User]) -> Result<()> {
    insert_rows(conn, users, false).await
}

async fn insert_rows(conn: &mut Conn, users: &[User], keys: bool) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let width = if keys { 19 } else { 17 };
    let rows: Vec<String> = (0..users.len())
        .map(|i| {
            let cells: Vec<String> = (i * width + 1..=i * width + width)
                .map(|n| format!("${n}"))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let key_columns = if keys { ", name_key, family_key" } else { "" };
    let mut q = sqlx::query(sql!(
        "INSERT INTO users ({COLUMNS}, portal_id_key{key_columns}) VALUES {}",
        rows.join(", ")
    ));
    for u in users {
        q = q
            .bind(u.id.as_str())
            .bind(u.portal_id.as_str())
            .bind(u.first_name.as_str())
            .bind(u.last_name.as_str())
            .bind(u.phone.as_ref().map(|p| p.as_str().to_string()))
            .bind(u.email.as_ref().map(|e| e.as_str().to_string()))
            .bind(u.password_hash.clone())
            .bind(u.password_changed_at.millis())
            .bind(u.level.as_str())
            .bind(u.account_type.as_str())
            .bind(u.role.as_str())
            .bind(u.status.as_str())
            .bind(u.language.clone())
            .bind(u.consent_at.millis())
            .bind(u.created_at.millis())
            .bind(u.updated_at.millis())
            .bind(u.portal_id.key());
        if keys {
            let (name_key, family_key) = name_search_keys(&u.first_name, &u.last_name);
            q = q.bind(name_key).bind(family_key);
        }
    }
    q.execute(conn)
        .await
        .map_err(|e| StoreError::from_insert(e, &["portal_id", "phone", "email"]))?;
    Ok(())
}

async fn one_by(conn: &mut Conn, column: &str, value: &str) -> Result<Option<User>> {
    let row = sqlx::query(sql!("SELECT {COLUMNS} FROM users WHERE {column} = $1"))
        .bind(value)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The account with this id.
pub async fn by_id(conn: &mut Conn, id: &UserId) -> Result<Option<User>> {
    one_by(conn, "id", id).await
}

/// The account with this portal ID (case-insensitive).
pub async fn by_portal_id(conn: &mut Conn, portal_id: &PortalId) -> Result<Option<User>> {
    one_by(conn, "portal_id_key", &portal_id.key()).await
}

/// The account with this verified phone or e-mail.
pub async fn by_contact(conn: &mut Conn, contact: &Contact) -> Result<Option<User>> {
    match contact {
        Contact::Phone(p) => one_by(conn, "phone", p.as_str()).await,
        Contact::Email(e) => one_by(conn, "email", e.as_str()).await,
    }
}

/// The account a login identifier names.
pub async fn by_identifier(conn: &mut Conn, id: &LoginIdentifier) -> Result<Option<User>> {
    match id {
        LoginIdentifier::Phone(p) => one_by(conn, "phone", p.as_str()).await,
        LoginIdentifier::Email(e) => one_by(conn, "email", e.as_str()).await,
        LoginIdentifier::PortalId(p) => by_portal_id(conn, p).await,
    }
}

/// Whether a portal ID is in use (case-insensitive).
pub async fn portal_id_taken(conn: &mut Conn, portal_id: &PortalId) -> Result<bool> {
    Ok(by_portal_id(conn, portal_id).await?.is_some())
}

async fn set(
    conn: &mut Conn,
    id: &UserId,
    assignments: &str,
    values: Vec<Option<String>>,
    at: Timestamp,
) -> Result<bool> {
    let n = values.len();
    let sql = format!(
        "UPDATE users SET {assignments}, updated_at = ${} WHERE id = ${}",
        n + 1,
        n + 2
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for v in values {
        q = q.bind(v);
    }
    let done = q
        .bind(at.millis())
        .bind(id.as_str())
        .execute(conn)
        .await
        .map_err(|e| StoreError::from_insert(e, &["portal_id", "phone", "email"]))?;
    Ok(done.rows_affected() == 1)
}

/// Sets a new password hash and the time it was set; false when there is no such account.
pub async fn set_password(conn: &mut Conn, id: &UserId, hash: &str, at: Timestamp) -> Result<bool> {
    let n = sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(at.millis())
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(n.rows_affected() == 1)
}

/// Replaces the stored hash of the same password (a new hashing form), keeping its age.
pub async fn set_password_hash(conn: &mut Conn, id: &UserId, hash: &str) -> Result<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Changes the name; false when there is no such account.
pub async fn set_name(
    conn: &mut Conn,
    id: &UserId,
    first: &PersonName,
    last: &PersonName,
    at: Timestamp,
) -> Result<bool> {
    let (name_key, family_key) = name_search_keys(first, last);
    set(
        conn,
        id,
        "first_name = $1, last_name = $2, name_key = $3, family_key = $4",
        vec![
            Some(first.as_str().into()),
            Some(last.as_str().into()),
            Some(name_key),
            Some(family_key),
        ],
        at,
    )
    .await
}

/// Replaces the phone or e-mail of an account (the caller has verified it).
pub async fn set_contact(
    conn: &mut Conn,
    id: &UserId,
    contact: &Contact,
    at: Timestamp,
) -> Result<bool> {
    let column = match contact {
        Contact::Phone(_) => "phone = $1",
        Contact::Email(_) => "email = $1",
    };
    set(conn, id, column, vec![Some(contact.as_str().into())], at).await
}

/// Removes an account's e-mail address (it was lost, and may be in someone else's hands).
pub async fn remove_email(conn: &mut Conn, id: &UserId, at: Timestamp) -> Result<bool> {
    set(conn, id, "email = $1", vec![None], at).await
}

/// Sets the language of messages.
pub async fn set_language(
    conn: &mut Conn,
    id: &UserId,
    language: Option<&str>,
    at: Timestamp,
) -> Result<bool> {
    set(
        conn,
        id,
        "language = $1",
        vec![language.map(str::to_string)],
        at,
    )
    .await
}

/// Records the language a person used last, writing only when it changed.
pub async fn remember_language(conn: &mut Conn, id: &UserId, language: &str) -> Result<()> {
    sqlx::query(
        "UPDATE users SET language = $1 WHERE id = $2 AND (language IS NULL OR language <> $1)",
    )
    .bind(language)
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks or unlocks an account; false when nothing changed.
pub async fn set_status(
    conn: &mut Conn,
    id: &UserId,
    status: AccountStatus,
    at: Timestamp,
) -> Result<bool> {
    set(
        conn,
        id,
        "status = $1",
        vec![Some(status.as_str().into())],
        at,
    )
    .await
}

/// Sets an account's level (an administrator's decision until registry checks and in-person
/// confirmation arrive); false when nothing changed.
pub async fn set_level(
    conn: &mut Conn,
    id: &UserId,
    level: ekdwar_domain::AccountLevel,
    at: Timestamp,
) -> Result<bool> {
    set(
        conn,
        id,
        "level = $1",
        vec![Some(level.as_str().into())],
        at,
    )
    .await
}

/// Accounts in creation order.
pub async fn list(conn: &mut Conn, limit: i64, offset: i64) -> Result<Vec<User>> {
    let rows = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Up to `limit` accounts whose name, given name first or family name first, starts with
/// `prefix` (already folded by [`name_search_key`]), in order of the folded name. Each order is
/// one range scan of its index, stopped at `limit`, however many accounts there are.
pub async fn by_name_prefix(conn: &mut Conn, prefix: &str, limit: i64) -> Result<Vec<User>> {
    if prefix.is_empty() {
        return Ok(Vec::new());
    }
    // Keys are ASCII: every key with the prefix sorts below the prefix followed by DEL.
    let end = format!("{prefix}\u{7f}");
    let mut found: Vec<(String, User)> = Vec::new();
    for key in ["name_key", "family_key"] {
        let rows = sqlx::query(sql!(
            "SELECT {COLUMNS}, {key} AS k FROM users WHERE {key} >= $1 AND {key} < $2 \
             ORDER BY {key} LIMIT $3"
        ))
        .bind(prefix)
        .bind(&end)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        for row in &rows {
            let user = from_row(row)?;
            if !found.iter().any(|(_, f)| f.id == user.id) {
                found.push((text(row, "k")?, user));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|(_, u)| u)
        .collect())
}

/// Fills the name search keys of accounts that have none (after the migration that added
/// them, on accounts made before it), a batch at a time in order of id, each batch committed:
/// run again after a crash, it goes on where it stopped. Returns how many were filled.
pub async fn fill_name_keys(conn: &mut Conn) -> Result<u64> {
    const BATCH: i64 = 2000;
    // Most runs find nothing to do: once the index exists this answers from it.
    let empty = sqlx::query("SELECT id FROM users WHERE name_key IS NULL LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    if empty.is_none() {
        return Ok(0);
    }
    let mut after = String::new();
    let mut filled = 0u64;
    loop {
        let rows = sqlx::query(
            "SELECT id, first_name, last_name FROM users WHERE id > $1 AND name_key IS NULL \
             ORDER BY id LIMIT $2",
        )
        .bind(&after)
        .bind(BATCH)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(filled);
        };
        after = text(last, "id")?;
        let mut values = Vec::with_capacity(rows.len());
        for row in &rows {
            let (given, family) = name_search_keys(
                &PersonName::from_trusted(text(row, "first_name")?),
                &PersonName::from_trusted(text(row, "last_name")?),
            );
            values.push((text(row, "id")?, given, family));
        }
        // One transaction; small statements on SQLite, which finds each parameter by a
        // linear scan.
        let rows_per_statement = match crate::Backend::of(conn) {
            crate::Backend::Sqlite => 100,
            crate::Backend::Postgres => BATCH as usize,
        };
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for chunk in values.chunks(rows_per_statement) {
            let cells: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${})", i * 3 + 1, i * 3 + 2, i * 3 + 3))
                .collect();
            let mut q = sqlx::query(sql!(
                "UPDATE users SET name_key = v.column2, family_key = v.column3 \
                 FROM (VALUES {}) AS v WHERE users.id = v.column1",
                cells.join(", ")
            ));
            for (id, given, family) in chunk {
                q = q.bind(id).bind(given).bind(family);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        filled += rows.len() as u64;
    }
}

/// How many accounts there are.
pub async fn count(conn: &mut Conn) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
        .fetch_one(conn)
        .await?;
    int(&row, "n")
}

/// An account's login through an upstream identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The provider's id in the configuration.
    pub provider: String,
    /// The person's subject at the provider.
    pub subject: String,
    /// The account it logs in to.
    pub user_id: UserId,
    /// The e-mail the provider gave (unverified here).
    pub email: Option<String>,
    /// When it was linked.
    pub created_at: Timestamp,
}

/// Links an upstream subject to an account; a subject already linked anywhere is a conflict.
pub async fn link_external(conn: &mut Conn, e: &ExternalIdentity) -> Result<()> {
    sqlx::query("INSERT INTO external_identities (provider, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&e.provider)
        .bind(&e.subject)
        .bind(e.user_id.as_str())
        .bind(e.email.clone())
        .bind(e.created_at.millis())
        .execute(conn)
        .await
        .map_err(|err| StoreError::from_insert(err, &["subject", "provider"]))?;
    Ok(())
}

/// The link for a provider's subject, if any.
pub async fn external(
    conn: &mut Conn,
    provider: &str,
    subject: &str,
) -> Result<Option<ExternalIdentity>> {
    let row = sqlx::query("SELECT provider, subject, user_id, email, created_at FROM external_identities WHERE provider = $1 AND subject = $2")
        .bind(provider)
        .bind(subject)
        .fetch_optional(conn)
        .await?;
    row.map(|r| external_from_row(&r)).transpose()
}

fn external_from_row(r: &AnyRow) -> Result<ExternalIdentity> {
    Ok(ExternalIdentity {
        provider: text(r, "provider")?,
        subject: text(r, "subject")?,
        user_id: UserId::new(text(r, "user_id")?),
        email: opt_text(r, "email")?,
        created_at: Timestamp::from_millis(int(r, "created_at")?),
    })
}

/// The upstream logins linked to an account.
pub async fn externals_of(conn: &mut Conn, user_id: &UserId) -> Result<Vec<ExternalIdentity>> {
    let rows = sqlx::query("SELECT provider, subject, user_id, email, created_at FROM external_identities WHERE user_id = $1 ORDER BY created_at")
        .bind(user_id.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(external_from_row).collect()
}

/// Removes an upstream login from an account; how many links went.
pub async fn unlink_external(conn: &mut Conn, user_id: &UserId, provider: &str) -> Result<u64> {
    let done = sqlx::query("DELETE FROM external_identities WHERE user_id = $1 AND provider = $2")
        .bind(user_id.as_str())
        .bind(provider)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
