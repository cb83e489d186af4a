//! The OpenID Connect provider's records: departmental apps (clients), signing keys, consents,
//! authorization codes and tokens. Codes and tokens are stored as hashes only.

use ekdwar_domain::Timestamp;
use ekdwar_domain::revocation::Revocation;
use ekdwar_domain::sso::{SigningAlg, SubjectType, TokenKind};
use sqlx::any::AnyRow;

use crate::{Conn, Result, StoreError, int, opt_int, opt_text, parsed, sql, text};
use ekdwar_domain::{ClientId, SessionId, UserId};

/// A departmental application allowed to log citizens in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its `client_id`.
    pub id: ClientId,
    /// Its name, as people see it.
    pub name: String,
    /// SHA-256 of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    /// Where it may receive codes (exact match).
    pub redirect_uris: Vec<String>,
    /// Where it may send people after logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// A public app (no secret; PKCE required).
    pub is_public: bool,
    /// Where the administrator said the logo is; the portal serves its own copy.
    pub logo_url: Option<String>,
    /// The version of the stored copy of the logo, when there is one.
    pub logo_etag: Option<String>,
    /// The department's helpdesk number.
    pub helpdesk_phone: Option<String>,
    /// The department's helpdesk address.
    pub helpdesk_email: Option<String>,
    /// The officer responsible.
    pub officer: Option<String>,
    /// `pairwise` or `public`.
    pub subject_type: SubjectType,
    /// Where it wants back-channel logout tokens.
    pub backchannel_logout_uri: Option<String>,
    /// Where the apps page sends people to start using the app (its login start).
    pub launch_url: Option<String>,
    /// `ES256` (default) or `RS256`.
    pub id_token_alg: SigningAlg,
    /// The app's own API scopes, the only ones `client_credentials` grants it.
    pub api_scopes: Vec<String>,
    /// Whether it may log people in.
    pub enabled: bool,
    /// When it was registered.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

const CLIENT_COLUMNS: &str = "id, name, secret_hash, redirect_uris, post_logout_redirect_uris, is_public, \
    logo_url, helpdesk_phone, helpdesk_email, officer, subject_type, backchannel_logout_uri, launch_url, id_token_alg, enabled, created_at, updated_at, logo_etag, api_scopes";

fn lines(s: String) -> Vec<String> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn client_from_row(row: &AnyRow) -> Result<Client> {
    Ok(Client {
        id: ClientId::new(text(row, "id")?),
        name: text(row, "name")?,
        secret_hash: opt_text(row, "secret_hash")?,
        redirect_uris: lines(text(row, "redirect_uris")?),
        post_logout_redirect_uris: lines(text(row, "post_logout_redirect_uris")?),
        is_public: int(row, "is_public")? != 0,
        logo_url: opt_text(row, "logo_url")?,
        logo_etag: opt_text(row, "logo_etag")?,
        helpdesk_phone: opt_text(row, "helpdesk_phone")?,
        helpdesk_email: opt_text(row, "helpdesk_email")?,
        officer: opt_text(row, "officer")?,
        subject_type: parsed(row, "subject_type", SubjectType::parse)?,
        backchannel_logout_uri: opt_text(row, "backchannel_logout_uri")?,
        launch_url: opt_text(row, "launch_url")?,
        id_token_alg: parsed(row, "id_token_alg", SigningAlg::parse)?,
        api_scopes: text(row, "api_scopes")?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        enabled: int(row, "enabled")? != 0,
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        updated_at: Timestamp::from_millis(int(row, "updated_at")?),
    })
}

/// Inserts a client, or replaces every field of an existing one.
pub async fn save_client(conn: &mut Conn, c: &Client) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO oidc_clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_hash = excluded.secret_hash, \
         redirect_uris = excluded.redirect_uris, post_logout_redirect_uris = excluded.post_logout_redirect_uris, \
         is_public = excluded.is_public, logo_url = excluded.logo_url, helpdesk_phone = excluded.helpdesk_phone, \
         helpdesk_email = excluded.helpdesk_email, officer = excluded.officer, subject_type = excluded.subject_type, \
         backchannel_logout_uri = excluded.backchannel_logout_uri, launch_url = excluded.launch_url, id_token_alg = excluded.id_token_alg, enabled = excluded.enabled, updated_at = excluded.updated_at, logo_etag = excluded.logo_etag, api_scopes = excluded.api_scopes"
    ))
    .bind(c.id.as_str())
    .bind(&c.name)
    .bind(c.secret_hash.clone())
    .bind(c.redirect_uris.join("\n"))
    .bind(c.post_logout_redirect_uris.join("\n"))
    .bind(i64::from(c.is_public))
    .bind(c.logo_url.clone())
    .bind(c.helpdesk_phone.clone())
    .bind(c.helpdesk_email.clone())
    .bind(c.officer.clone())
    .bind(c.subject_type.as_str())
    .bind(c.backchannel_logout_uri.clone())
    .bind(c.launch_url.clone())
    .bind(c.id_token_alg.as_str())
    .bind(i64::from(c.enabled))
    .bind(c.created_at.millis())
    .bind(c.updated_at.millis())
    .bind(c.logo_etag.clone())
    .bind(c.api_scopes.join(" "))
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores the portal's copy of an app's logo (PNG), replacing any earlier one.
pub async fn save_logo(
    conn: &mut Conn,
    client_id: &ClientId,
    png: &[u8],
    etag: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO client_logos (client_id, png, etag) VALUES ($1, $2, $3) \
         ON CONFLICT (client_id) DO UPDATE SET png = excluded.png, etag = excluded.etag",
    )
    .bind(client_id.as_str())
    .bind(png.to_vec())
    .bind(etag)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes an app's stored logo.
pub async fn remove_logo(conn: &mut Conn, client_id: &ClientId) -> Result<()> {
    sqlx::query("DELETE FROM client_logos WHERE client_id = $1")
        .bind(client_id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The stored logo (PNG) of an app and its version.
pub async fn logo(conn: &mut Conn, client_id: &ClientId) -> Result<Option<(Vec<u8>, String)>> {
    use sqlx::Row;
    let row = sqlx::query("SELECT png, etag FROM client_logos WHERE client_id = $1")
        .bind(client_id.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((r.try_get::<Vec<u8>, _>("png")?, text(&r, "etag")?)))
        .transpose()
}

/// The app with this id.
pub async fn client(conn: &mut Conn, id: &ClientId) -> Result<Option<Client>> {
    let row = sqlx::query(sql!(
        "SELECT {CLIENT_COLUMNS} FROM oidc_clients WHERE id = $1"
    ))
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(client_from_row).transpose()
}

/// All clients by name; only enabled ones when `enabled_only`.
pub async fn clients(conn: &mut Conn, enabled_only: bool) -> Result<Vec<Client>> {
    let filter = if enabled_only {
        "WHERE enabled = 1"
    } else {
        ""
    };
    let rows = sqlx::query(sql!(
        "SELECT {CLIENT_COLUMNS} FROM oidc_clients {filter} ORDER BY name, id"
    ))
    .fetch_all(conn)
    .await?;
    rows.iter().map(client_from_row).collect()
}

/// A signing key; the private part is wrapped with the server key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Its key id (`kid`).
    pub kid: String,
    /// What it signs with.
    pub alg: SigningAlg,
    /// The private key, wrapped with the server key.
    pub private_wrapped: String,
    /// The public key as a JWK.
    pub public_jwk: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stopped signing (it stays published for the overlap).
    pub retired_at: Option<Timestamp>,
}

/// Stores a new signing key.
pub async fn insert_key(conn: &mut Conn, k: &SigningKey) -> Result<()> {
    sqlx::query("INSERT INTO signing_keys (kid, alg, private_wrapped, public_jwk, created_at, retired_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&k.kid)
        .bind(k.alg.as_str())
        .bind(&k.private_wrapped)
        .bind(&k.public_jwk)
        .bind(k.created_at.millis())
        .bind(k.retired_at.map(Timestamp::millis))
        .execute(conn)
        .await?;
    Ok(())
}

/// Every key, newest first.
pub async fn keys(conn: &mut Conn) -> Result<Vec<SigningKey>> {
    let rows = sqlx::query("SELECT kid, alg, private_wrapped, public_jwk, created_at, retired_at FROM signing_keys ORDER BY created_at DESC, kid")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(SigningKey {
                kid: text(r, "kid")?,
                alg: parsed(r, "alg", SigningAlg::parse)?,
                private_wrapped: text(r, "private_wrapped")?,
                public_jwk: text(r, "public_jwk")?,
                created_at: Timestamp::from_millis(int(r, "created_at")?),
                retired_at: opt_int(r, "retired_at")?.map(Timestamp::from_millis),
            })
        })
        .collect()
}

/// Marks keys of `alg` other than `keep` as retired from `at` (they stay published until then).
pub async fn retire_keys_except(
    conn: &mut Conn,
    alg: SigningAlg,
    keep: &str,
    at: Timestamp,
) -> Result<u64> {
    let done = sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE alg = $2 AND kid <> $3 AND retired_at IS NULL")
        .bind(at.millis())
        .bind(alg.as_str())
        .bind(keep)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Scopes a user has allowed an app to have.
pub async fn consent(
    conn: &mut Conn,
    user_id: &UserId,
    client_id: &ClientId,
) -> Result<Option<String>> {
    let row = sqlx::query("SELECT scopes FROM oidc_consents WHERE user_id = $1 AND client_id = $2")
        .bind(user_id.as_str())
        .bind(client_id.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|r| text(&r, "scopes")).transpose()
}

/// Remembers the scopes a person allowed an app (adding to what was allowed).
pub async fn save_consent(
    conn: &mut Conn,
    user_id: &UserId,
    client_id: &ClientId,
    scopes: &str,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at",
    )
    .bind(user_id.as_str())
    .bind(client_id.as_str())
    .bind(scopes)
    .bind(at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets a person's consent for an app; false when there was none.
pub async fn delete_consent(
    conn: &mut Conn,
    user_id: &UserId,
    client_id: &ClientId,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM oidc_consents WHERE user_id = $1 AND client_id = $2")
        .bind(user_id.as_str())
        .bind(client_id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The apps a user has consented to: (client id, scopes, when).
pub async fn consents_of(
    conn: &mut Conn,
    user_id: &UserId,
) -> Result<Vec<(ClientId, String, Timestamp)>> {
    let rows = sqlx::query("SELECT client_id, scopes, granted_at FROM oidc_consents WHERE user_id = $1 ORDER BY granted_at DESC")
        .bind(user_id.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                ClientId::new(text(r, "client_id")?),
                text(r, "scopes")?,
                Timestamp::from_millis(int(r, "granted_at")?),
            ))
        })
        .collect()
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    /// The hash of the code (the code itself is never stored).
    pub code_hash: String,
    /// The app it was issued to.
    pub client_id: ClientId,
    /// Who logged in.
    pub user_id: UserId,
    /// The login session it was issued in.
    pub session_hash: SessionId,
    /// The redirect URI it was sent to (the exchange must repeat it).
    pub redirect_uri: String,
    /// The scopes granted, space-separated.
    pub scopes: String,
    /// The app's `nonce`, for the ID token.
    pub nonce: Option<String>,
    /// The PKCE challenge (S256).
    pub code_challenge: Option<String>,
    /// When the person logged in.
    pub auth_time: Timestamp,
    /// How they logged in (`pwd`, `otp`, ...).
    pub amr: String,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops being good.
    pub expires_at: Timestamp,
    /// When it was exchanged (a second exchange is a replay).
    pub used_at: Option<Timestamp>,
    /// The token family the exchange will create, so that a replayed code can revoke it.
    pub family: String,
}

/// Stores a new authorization code.
pub async fn insert_code(conn: &mut Conn, c: &AuthCode) -> Result<()> {
    sqlx::query(
        "INSERT INTO oidc_codes (code_hash, client_id, user_id, session_hash, redirect_uri, scopes, nonce, \
         code_challenge, auth_time, amr, created_at, expires_at, used_at, family) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&c.code_hash)
    .bind(c.client_id.as_str())
    .bind(c.user_id.as_str())
    .bind(c.session_hash.as_str())
    .bind(&c.redirect_uri)
    .bind(&c.scopes)
    .bind(c.nonce.clone())
    .bind(c.code_challenge.clone())
    .bind(c.auth_time.millis())
    .bind(&c.amr)
    .bind(c.created_at.millis())
    .bind(c.expires_at.millis())
    .bind(c.used_at.map(Timestamp::millis))
    .bind(&c.family)
    .execute(conn)
    .await?;
    Ok(())
}

/// Reads a code and marks it used in one step. The returned record shows whether it had been
/// used before (a replay).
pub async fn take_code(
    conn: &mut Conn,
    code_hash: &str,
    at: Timestamp,
) -> Result<Option<AuthCode>> {
    let row = sqlx::query(
        "SELECT code_hash, client_id, user_id, session_hash, redirect_uri, scopes, nonce, code_challenge, \
         auth_time, amr, created_at, expires_at, used_at, family FROM oidc_codes WHERE code_hash = $1",
    )
    .bind(code_hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let code = AuthCode {
        code_hash: text(&r, "code_hash")?,
        client_id: ClientId::new(text(&r, "client_id")?),
        user_id: UserId::new(text(&r, "user_id")?),
        session_hash: SessionId::new(text(&r, "session_hash")?),
        redirect_uri: text(&r, "redirect_uri")?,
        scopes: text(&r, "scopes")?,
        nonce: opt_text(&r, "nonce")?,
        code_challenge: opt_text(&r, "code_challenge")?,
        auth_time: Timestamp::from_millis(int(&r, "auth_time")?),
        amr: text(&r, "amr")?,
        created_at: Timestamp::from_millis(int(&r, "created_at")?),
        expires_at: Timestamp::from_millis(int(&r, "expires_at")?),
        used_at: opt_int(&r, "used_at")?.map(Timestamp::from_millis),
        family: text(&r, "family")?,
    };
    if code.used_at.is_none() {
        let done = sqlx::query(
            "UPDATE oidc_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(at.millis())
        .bind(code_hash)
        .execute(conn)
        .await?;
        if done.rows_affected() == 0 {
            // Another request used it between our read and write.
            return Ok(Some(AuthCode {
                used_at: Some(at),
                ..code
            }));
        }
    }
    Ok(Some(code))
}

/// An access or refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The hash of the token (the token itself is never stored).
    pub token_hash: String,
    /// `access` or `refresh`.
    pub kind: TokenKind,
    /// The app it was issued to.
    pub client_id: ClientId,
    /// Whose it is (none for `client_credentials`).
    pub user_id: Option<UserId>,
    /// The login session it hangs on (none for offline grants).
    pub session_hash: Option<SessionId>,
    /// The scopes it carries, space-separated.
    pub scopes: String,
    /// The refresh family: a reused refresh token ends every token of it.
    pub family: String,
    /// When the person logged in.
    pub auth_time: Option<Timestamp>,
    /// How they logged in.
    pub amr: Option<String>,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops being good.
    pub expires_at: Timestamp,
    /// When a refresh token was used (rotation).
    pub used_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

const TOKEN_COLUMNS: &str = "token_hash, kind, client_id, user_id, session_hash, scopes, family, auth_time, amr, \
    created_at, expires_at, used_at, revoked_at";

/// Binds a token's columns, in the order of `TOKEN_COLUMNS`, as `$1`…`$13`.
fn bind_token<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    t: &'q Token,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    q.bind(&t.token_hash)
        .bind(t.kind.as_str())
        .bind(t.client_id.as_str())
        .bind(t.user_id.as_deref())
        .bind(t.session_hash.as_deref())
        .bind(&t.scopes)
        .bind(&t.family)
        .bind(t.auth_time.map(Timestamp::millis))
        .bind(t.amr.clone())
        .bind(t.created_at.millis())
        .bind(t.expires_at.millis())
        .bind(t.used_at.map(Timestamp::millis))
        .bind(t.revoked_at.map(Timestamp::millis))
}

/// Stores a new token.
pub async fn insert_token(conn: &mut Conn, t: &Token) -> Result<()> {
    bind_token(
        sqlx::query(sql!(
            "INSERT INTO oidc_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )),
        t,
    )
    .execute(conn)
    .await
    .map_err(|e| StoreError::from_insert(e, &["token_hash"]))?;
    Ok(())
}

fn token_from_row(r: &AnyRow) -> Result<Token> {
    Ok(Token {
        token_hash: text(r, "token_hash")?,
        kind: parsed(r, "kind", TokenKind::parse)?,
        client_id: ClientId::new(text(r, "client_id")?),
        user_id: opt_text(r, "user_id")?.map(UserId::new),
        session_hash: opt_text(r, "session_hash")?.map(SessionId::new),
        scopes: text(r, "scopes")?,
        family: text(r, "family")?,
        auth_time: opt_int(r, "auth_time")?.map(Timestamp::from_millis),
        amr: opt_text(r, "amr")?,
        created_at: Timestamp::from_millis(int(r, "created_at")?),
        expires_at: Timestamp::from_millis(int(r, "expires_at")?),
        used_at: opt_int(r, "used_at")?.map(Timestamp::from_millis),
        revoked_at: opt_int(r, "revoked_at")?.map(Timestamp::from_millis),
    })
}

/// The token with this hash.
pub async fn token(conn: &mut Conn, token_hash: &str) -> Result<Option<Token>> {
    let row = sqlx::query(sql!(
        "SELECT {TOKEN_COLUMNS} FROM oidc_tokens WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(token_from_row).transpose()
}

/// A refresh token and, in the same read, until when the login session it hangs on lives
/// (`None` when it has none, or it was ended).
pub async fn token_and_session(
    conn: &mut Conn,
    token_hash: &str,
) -> Result<Option<(Token, Option<Timestamp>)>> {
    static COLUMNS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        TOKEN_COLUMNS
            .split(',')
            .map(|c| format!("t.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let row = sqlx::query(sql!(
        "SELECT {}, CASE WHEN s.revoked_at IS NULL THEN s.expires_at END AS session_until \
         FROM oidc_tokens t LEFT JOIN sessions s ON s.id_hash = t.session_hash \
         WHERE t.token_hash = $1",
        *COLUMNS
    ))
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok((
            token_from_row(&r)?,
            opt_int(&r, "session_until")?.map(Timestamp::from_millis),
        ))
    })
    .transpose()
}

/// Rotates a refresh token: marks `used` used and stores `next`, or does neither and answers
/// false when `used` was used or revoked already. On PostgreSQL this is one statement; on
/// SQLite two, which the caller runs in one transaction (the single writer holds it briefly).
pub async fn rotate_refresh(
    conn: &mut Conn,
    used: &str,
    next: &Token,
    at: Timestamp,
) -> Result<bool> {
    let postgres = crate::Backend::of(conn) == crate::Backend::Postgres;
    if !postgres {
        let marked = sqlx::query(
            "UPDATE oidc_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(at.millis())
        .bind(used)
        .execute(&mut *conn)
        .await?;
        if marked.rows_affected() == 0 {
            return Ok(false);
        }
        insert_token(conn, next).await?;
        return Ok(true);
    }
    let done = bind_token(
        sqlx::query(sql!(
            "WITH used AS (UPDATE oidc_tokens SET used_at = $14 WHERE token_hash = $15 \
             AND used_at IS NULL AND revoked_at IS NULL RETURNING 1) \
             INSERT INTO oidc_tokens ({TOKEN_COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM used"
        )),
        next,
    )
    .bind(at.millis())
    .bind(used)
    .execute(conn)
    .await
    .map_err(|e| StoreError::from_insert(e, &["token_hash"]))?;
    Ok(done.rows_affected() == 1)
}

/// Rotates many refresh tokens in two statements (run them in one transaction): marks each
/// `used` used and stores its `next`, answering for each whether it rotated (false when it had
/// been used or revoked already). The `used` hashes must differ from each other.
pub async fn rotate_refresh_many(
    conn: &mut Conn,
    rotations: &[(&str, &Token)],
    at: Timestamp,
) -> Result<Vec<bool>> {
    if rotations.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (0..rotations.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let mut mark = sqlx::query(sql!(
        "UPDATE oidc_tokens SET used_at = $1 WHERE token_hash IN ({}) \
         AND used_at IS NULL AND revoked_at IS NULL RETURNING token_hash",
        marks.join(", ")
    ))
    .bind(at.millis());
    for (used, _) in rotations {
        mark = mark.bind(*used);
    }
    let marked: std::collections::HashSet<String> = mark
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| text(r, "token_hash"))
        .collect::<Result<_>>()?;
    let rotated: Vec<bool> = rotations
        .iter()
        .map(|(used, _)| marked.contains(*used))
        .collect();
    let next: Vec<&Token> = rotations
        .iter()
        .zip(&rotated)
        .filter(|(_, ok)| **ok)
        .map(|((_, next), _)| *next)
        .collect();
    if !next.is_empty() {
        let rows: Vec<String> = (0..next.len())
            .map(|i| {
                let first = i * 13 + 1;
                let cells: Vec<String> = (first..first + 13).map(|n| format!("${n}")).collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let mut insert = sqlx::query(sql!(
            "INSERT INTO oidc_tokens ({TOKEN_COLUMNS}) VALUES {}",
            rows.join(", ")
        ));
        for t in next {
            insert = bind_token(insert, t);
        }
        insert
            .execute(conn)
            .await
            .map_err(|e| StoreError::from_insert(e, &["token_hash"]))?;
    }
    Ok(rotated)
}

/// Marks a refresh token as used (rotated). False if it had been used already.
pub async fn use_token(conn: &mut Conn, token_hash: &str, at: Timestamp) -> Result<bool> {
    let done = sqlx::query("UPDATE oidc_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND revoked_at IS NULL")
        .bind(at.millis())
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a revocation rule for the access tokens it matches (they are not stored) and, on
/// PostgreSQL, wakes every node's listener when the transaction commits.
pub async fn record_revocation(conn: &mut Conn, r: &Revocation, at: Timestamp) -> Result<()> {
    let (kind, subject, detail) = r.parts();
    sqlx::query(
        "INSERT INTO token_revocations (kind, subject, detail, at) VALUES ($1, $2, $3, $4)",
    )
    .bind(kind)
    .bind(subject)
    .bind(detail)
    .bind(at.millis())
    .execute(&mut *conn)
    .await?;
    if crate::Backend::of(conn) == crate::Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(REVOCATIONS_CHANNEL)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The PostgreSQL notification channel that says a revocation was recorded.
pub const REVOCATIONS_CHANNEL: &str = "ekdwar_revocations";

/// One recorded revocation rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRevocation {
    /// Its place in the order of recording.
    pub seq: i64,
    /// What it ends.
    pub rule: Revocation,
    /// When it was made: it ends the tokens issued at or before.
    pub at: Timestamp,
}

/// The rules made at or after `oldest` that were recorded after `seq` or made at or after
/// `recent`, in order.
pub async fn revocations_after(
    conn: &mut Conn,
    seq: i64,
    recent: Timestamp,
    oldest: Timestamp,
) -> Result<Vec<RecordedRevocation>> {
    let rows = sqlx::query(
        "SELECT seq, kind, subject, detail, at FROM token_revocations \
         WHERE at >= $3 AND (seq > $1 OR at >= $2) ORDER BY seq",
    )
    .bind(seq)
    .bind(recent.millis())
    .bind(oldest.millis())
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let kind = text(r, "kind")?;
        let detail = opt_text(r, "detail")?;
        if let Some(rule) = Revocation::from_parts(&kind, &text(r, "subject")?, detail.as_deref()) {
            out.push(RecordedRevocation {
                seq: int(r, "seq")?,
                rule,
                at: Timestamp::from_millis(int(r, "at")?),
            });
        }
    }
    Ok(out)
}

/// Deletes the rules made before `before` (every token they could end has expired).
pub async fn purge_revocations(conn: &mut Conn, before: Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM token_revocations WHERE at < $1")
        .bind(before.millis())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Revokes every token descended from one authorization.
pub async fn revoke_family(conn: &mut Conn, family: &str, at: Timestamp) -> Result<u64> {
    record_revocation(conn, &Revocation::Family(family.into()), at).await?;
    let done = sqlx::query(
        "UPDATE oidc_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL",
    )
    .bind(at.millis())
    .bind(family)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes every token a user has given one app (consent withdrawn).
pub async fn revoke_user_client(
    conn: &mut Conn,
    user_id: &UserId,
    client_id: &ClientId,
    at: Timestamp,
) -> Result<u64> {
    let rule = Revocation::Grant {
        user: user_id.clone(),
        client: client_id.clone(),
    };
    record_revocation(conn, &rule, at).await?;
    let done = sqlx::query("UPDATE oidc_tokens SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL")
        .bind(at.millis())
        .bind(user_id.as_str())
        .bind(client_id.as_str())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Revokes the tokens given out in a login session; with `keep_offline`, not the refresh
/// tokens the person granted `offline_access` (and the access tokens they bring).
pub async fn revoke_session_tokens(
    conn: &mut Conn,
    session_hash: &SessionId,
    keep_offline: bool,
    at: Timestamp,
) -> Result<u64> {
    let rule = Revocation::Session {
        session: session_hash.clone(),
        keep_offline,
    };
    record_revocation(conn, &rule, at).await?;
    let keep = if keep_offline {
        " AND scopes NOT LIKE '%offline_access%'"
    } else {
        ""
    };
    let done = sqlx::query(sql!(
        "UPDATE oidc_tokens SET revoked_at = $1 WHERE session_hash = $2 AND revoked_at IS NULL{keep}"
    ))
    .bind(at.millis())
    .bind(session_hash.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Revokes every token a person holds in any app (after a password change or reset, a lock, or
/// "log out everywhere"), `offline_access` grants included; `keep_session` keeps those of the
/// session that made the change.
pub async fn revoke_user_tokens(
    conn: &mut Conn,
    user_id: &UserId,
    keep_session: Option<&SessionId>,
    at: Timestamp,
) -> Result<u64> {
    let rule = Revocation::User {
        user: user_id.clone(),
        keep: keep_session.cloned(),
    };
    record_revocation(conn, &rule, at).await?;
    let done = sqlx::query(
        "UPDATE oidc_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL \
         AND (session_hash IS NULL OR session_hash <> $3 OR scopes LIKE '%offline_access%')",
    )
    .bind(at.millis())
    .bind(user_id.as_str())
    .bind(keep_session.map_or("", |k| k.as_str()))
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The apps that received tokens in a login session (for logout fan-out).
pub async fn clients_of_session(
    conn: &mut Conn,
    session_hash: &SessionId,
) -> Result<Vec<ClientId>> {
    let rows = sqlx::query("SELECT DISTINCT client_id FROM oidc_tokens WHERE session_hash = $1")
        .bind(session_hash.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| text(r, "client_id").map(ClientId::new))
        .collect()
}
