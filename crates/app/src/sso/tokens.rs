//! The token endpoint (authorization code with PKCE, refresh with rotation and reuse detection,
//! client credentials), userinfo, introspection (RFC 7662) and revocation (RFC 7009).
//! Access tokens are sealed and self-contained (see `access`): issuing one writes nothing.
//! Refresh tokens are opaque random strings, of which only the hashes are stored.

use ekdwar_domain::revocation::Revocation;
use ekdwar_domain::sso::{SubjectType, TokenKind};
use ekdwar_domain::{ClientId, SessionId, UserId};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ekdwar_domain::sso::{Scopes, acr_of, pkce_s256};
use ekdwar_domain::{AccountStatus, Timestamp};
use ekdwar_store::Conn;
use ekdwar_store::identity::{self as users, User};
use ekdwar_store::sso::{self as store, Client, Token};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sso;
use super::access::AccessToken;
use crate::security::{constant_time_eq, sha256_hex};

/// The form posted to the token, introspection and revocation endpoints.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TokenForm {
    pub grant_type: String,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub token: Option<String>,
    pub token_type_hint: Option<String>,
}

/// An OAuth error answer: `error` is the RFC 6749 code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The error code of RFC 6749 §5.2 / RFC 6750 §3.1.
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }
    fn grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }
    fn client() -> Self {
        Self::new("invalid_client", "client authentication failed")
    }
    fn server(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "token endpoint failure");
        Self::new("server_error", "internal error")
    }

    /// The kind of failure each OAuth error code is.
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self.error {
            "invalid_client" | "invalid_token" => ErrorKind::Unauthenticated,
            "insufficient_scope" => ErrorKind::Forbidden,
            "server_error" => ErrorKind::Internal,
            _ => ErrorKind::Invalid,
        }
    }
}

type OAuthResult<T> = Result<T, OAuthError>;

/// Everything a code exchange must match: the client, the deadline, the redirect URI, PKCE.
fn check_code(
    c: &store::AuthCode,
    client: &Client,
    form: &TokenForm,
    now: Timestamp,
) -> OAuthResult<()> {
    if c.client_id != client.id {
        return Err(OAuthError::grant("code was issued to another client"));
    }
    if c.expires_at <= now {
        return Err(OAuthError::grant("code expired"));
    }
    if form.redirect_uri.as_deref() != Some(c.redirect_uri.as_str()) {
        return Err(OAuthError::grant("redirect_uri does not match"));
    }
    match (&c.code_challenge, &form.code_verifier) {
        (Some(challenge), Some(verifier)) => {
            let ok = pkce_s256(verifier)
                .is_ok_and(|h| constant_time_eq(h.as_bytes(), challenge.as_bytes()));
            if !ok {
                return Err(OAuthError::grant("code_verifier does not match"));
            }
        }
        (Some(_), None) => return Err(OAuthError::grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(OAuthError::grant(
                "no code_challenge was sent for this code",
            ));
        }
        (None, None) => {}
    }
    Ok(())
}

async fn active_user(conn: &mut Conn, id: Option<&UserId>) -> OAuthResult<User> {
    let Some(id) = id else {
        return Err(OAuthError::grant("the account is not active"));
    };
    match users::by_id(conn, id).await.map_err(OAuthError::server)? {
        Some(u) if u.status == AccountStatus::Active => Ok(u),
        _ => Err(OAuthError::grant("the account is not active")),
    }
}

async fn session_alive(
    conn: &mut Conn,
    session_hash: &SessionId,
    now: Timestamp,
) -> OAuthResult<bool> {
    Ok(ekdwar_store::sessions::by_hash(conn, session_hash)
        .await
        .map_err(OAuthError::server)?
        .is_some_and(|s| s.revoked_at.is_none() && s.expires_at > now))
}

/// Credentials from an `Authorization: Basic` header (already decoded), if any.
pub type BasicAuth = Option<(String, String)>;

impl Sso {
    /// Authenticates the client by `client_secret_basic`, `client_secret_post` or, for public
    /// clients, `none`. Using two methods at once is refused.
    async fn token_client(&self, form: &TokenForm, basic: &BasicAuth) -> OAuthResult<Client> {
        let (id, secret) = match (basic, &form.client_secret) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::new(
                    "invalid_request",
                    "use one client authentication method",
                ));
            }
            (Some((id, secret)), None) => {
                if form.client_id.as_ref().is_some_and(|f| f != id) {
                    return Err(OAuthError::client());
                }
                (id.clone(), Some(secret.clone()))
            }
            (None, secret) => (
                form.client_id.clone().ok_or_else(OAuthError::client)?,
                secret.clone(),
            ),
        };
        self.authenticate_client(&id, secret.as_deref())
            .await
            .ok_or_else(OAuthError::client)
    }

    /// The subject identifier an app sees: pairwise by default, so that departments cannot
    /// join their records on it.
    pub fn subject_for(&self, client: &Client, user_id: &str) -> String {
        if client.subject_type == SubjectType::Public {
            return user_id.to_string();
        }
        let sector = client
            .redirect_uris
            .first()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| client.id.to_string());
        URL_SAFE_NO_PAD.encode(
            &self
                .key
                .sign(&[b"pairwise-sub", sector.as_bytes(), user_id.as_bytes()])[..24],
        )
    }

    #[tracing::instrument(skip_all, fields(grant = %form.grant_type))]
    pub async fn token(&self, form: TokenForm, basic: BasicAuth) -> OAuthResult<Value> {
        let client = self.token_client(&form, &basic).await?;
        self.ready_signer(client.id_token_alg)
            .await
            .map_err(OAuthError::server)?;
        match form.grant_type.as_str() {
            "authorization_code" => self.exchange_code(&client, &form).await,
            "refresh_token" => self.refresh(&client, &form).await,
            "client_credentials" => self.client_credentials(&client, &form).await,
            "" => Err(OAuthError::new("invalid_request", "grant_type is required")),
            _ => Err(OAuthError::new(
                "unsupported_grant_type",
                "unsupported grant_type",
            )),
        }
    }

    async fn exchange_code(&self, client: &Client, form: &TokenForm) -> OAuthResult<Value> {
        let now = self.clock.now();
        let code = form
            .code
            .as_deref()
            .ok_or_else(|| OAuthError::new("invalid_request", "code is required"))?;
        let mut tx = self.work().await.map_err(OAuthError::server)?;
        let c = store::take_code(&mut tx, &sha256_hex(code.as_bytes()), now)
            .await
            .map_err(OAuthError::server)?
            .ok_or_else(|| OAuthError::grant("unknown code"))?;
        if c.used_at.is_some() {
            // A replayed code: whatever it produced is revoked (RFC 6749 §4.1.2).
            store::revoke_family(&mut tx, &c.family, now)
                .await
                .map_err(OAuthError::server)?;
            tx.revoked();
            tx.commit().await.map_err(OAuthError::server)?;
            return Err(OAuthError::grant("code already used"));
        }
        if let Err(e) = check_code(&c, client, form, now) {
            // A failed exchange still uses the code up: codes are single-use whatever happens.
            tx.commit().await.map_err(OAuthError::server)?;
            return Err(e);
        }
        let user = active_user(&mut tx, Some(&c.user_id)).await?;
        if !session_alive(&mut tx, &c.session_hash, now).await? {
            return Err(OAuthError::grant("the login session has ended"));
        }
        let scopes = Scopes::parse(&c.scopes);
        let (issued, refresh) = self
            .issue_tokens(
                client,
                &user,
                &scopes,
                &c.family,
                Some(&c.session_hash),
                c.auth_time,
                &c.amr,
                c.nonce.as_deref(),
            )
            .await?;
        store::insert_token(&mut tx, &refresh)
            .await
            .map_err(OAuthError::server)?;
        tx.commit().await.map_err(OAuthError::server)?;
        Ok(issued)
    }

    /// An access token for `claims`, sealed: nothing is stored.
    fn seal_access(
        &self,
        client: &Client,
        user: Option<&UserId>,
        session: Option<&SessionId>,
        family: &str,
        scopes: String,
    ) -> String {
        let now = self.clock.now();
        let ttl = Duration::from_secs(self.config.sso.access_token_ttl_seconds);
        let mut salt = [0u8; 16];
        self.random.fill(&mut salt);
        self.sealer.seal(
            &AccessToken {
                id: String::new(),
                client: client.id.to_string(),
                user: user.map(ToString::to_string),
                session: session.map(ToString::to_string),
                family: family.to_string(),
                scopes,
                issued_at: now.millis(),
                expires_at: now.plus(ttl).millis(),
            },
            salt,
        )
    }

    /// The token response, and the refresh token's row for the caller to store.
    #[allow(clippy::too_many_arguments)]
    async fn issue_tokens(
        &self,
        client: &Client,
        user: &User,
        scopes: &Scopes,
        family: &str,
        session: Option<&SessionId>,
        auth_time: Timestamp,
        amr: &str,
        nonce: Option<&str>,
    ) -> OAuthResult<(Value, Token)> {
        let now = self.clock.now();
        let sso = &self.config.sso;
        let access = self.seal_access(
            client,
            Some(&user.id),
            session,
            family,
            scopes.to_string_list(),
        );
        let refresh = self.random.token(32);
        let row = Token {
            token_hash: sha256_hex(refresh.as_bytes()),
            kind: TokenKind::Refresh,
            client_id: client.id.clone(),
            user_id: Some(user.id.clone()),
            session_hash: session.cloned(),
            scopes: scopes.to_string_list(),
            family: family.to_string(),
            auth_time: Some(auth_time),
            amr: Some(amr.to_string()),
            created_at: now,
            expires_at: now.plus(Duration::from_secs(sso.refresh_token_ttl_days * 86_400)),
            used_at: None,
            revoked_at: None,
        };
        let sub = self.subject_for(client, &user.id);
        let mut claims = json!({
            "iss": self.config.issuer(),
            "sub": sub,
            "aud": client.id,
            "azp": client.id,
            "iat": now.millis() / 1000,
            "exp": now.plus(Duration::from_secs(sso.id_token_ttl_seconds)).millis() / 1000,
            "auth_time": auth_time.millis() / 1000,
            "acr": acr_of(user.level),
            "amr": amr.split_whitespace().collect::<Vec<_>>(),
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(s) = session {
            claims["sid"] = json!(&s[..32.min(s.len())]);
        }
        let id_token = self
            .sign_jwt(&claims, client.id_token_alg)
            .await
            .map_err(OAuthError::server)?;
        let response = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": sso.access_token_ttl_seconds,
            "refresh_token": refresh,
            "id_token": id_token,
            "scope": scopes.to_string_list(),
        });
        Ok((response, row))
    }

    /// Ends a token family (and, through the revocation rules, its access tokens on every
    /// node), answering `error`.
    async fn end_family(&self, family: &str, error: &str) -> OAuthResult<Value> {
        let mut work = self.work().await.map_err(OAuthError::server)?;
        store::revoke_family(&mut work, family, self.clock.now())
            .await
            .map_err(OAuthError::server)?;
        work.revoked();
        work.commit().await.map_err(OAuthError::server)?;
        Err(OAuthError::grant(error.to_string()))
    }

    /// Rotation: everything is read first on the read pool; the one write marks the presented
    /// token used and stores its successor, atomically, so that a second use of it is seen.
    async fn refresh(&self, client: &Client, form: &TokenForm) -> OAuthResult<Value> {
        let now = self.clock.now();
        let presented = form
            .refresh_token
            .as_deref()
            .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required"))?;
        let hash = sha256_hex(presented.as_bytes());
        let (t, session_until) = store::token_and_session(
            &mut *self.store.read().await.map_err(OAuthError::server)?,
            &hash,
        )
        .await
        .map_err(OAuthError::server)?
        .filter(|(t, _)| t.kind == TokenKind::Refresh)
        .ok_or_else(|| OAuthError::grant("unknown refresh token"))?;
        if t.client_id != client.id {
            return Err(OAuthError::grant(
                "refresh token was issued to another client",
            ));
        }
        if t.revoked_at.is_some() || t.expires_at <= now {
            return Err(OAuthError::grant("refresh token is no longer valid"));
        }
        if t.used_at.is_some() {
            return self.reused(client, &t.family).await;
        }
        // A refresh token lives as long as the login session it came from, unless the person
        // granted `offline_access`; and no family outlives its absolute lifetime.
        let started = t.auth_time.unwrap_or(t.created_at);
        let max = Duration::from_secs(self.config.sso.refresh_family_max_days * 86_400);
        let offline = Scopes::parse(&t.scopes).contains("offline_access");
        let ended = t.session_hash.is_some() && !offline && session_until.is_none_or(|u| u <= now);
        if ended || now.since(started) > max {
            return self
                .end_family(
                    &t.family,
                    if ended {
                        "the login session this token came from has ended"
                    } else {
                        "the refresh token family has reached its lifetime; log in again"
                    },
                )
                .await;
        }
        // Read at most two seconds ago: a lock has revoked this token in the same write.
        let user = self
            .recent_active_user(t.user_id.as_ref())
            .await?
            .ok_or_else(|| OAuthError::grant("the account is not active"))?;
        let granted = Scopes::parse(&t.scopes);
        let scopes = match form.scope.as_deref() {
            Some(s) if !s.is_empty() => {
                let asked = Scopes::parse(s);
                if !asked.within(&granted) {
                    return Err(OAuthError::new(
                        "invalid_scope",
                        "scope exceeds the original grant",
                    ));
                }
                asked
            }
            _ => granted,
        };
        let (issued, next) = self
            .issue_tokens(
                client,
                &user,
                &scopes,
                &t.family,
                t.session_hash.as_ref(),
                t.auth_time.unwrap_or(t.created_at),
                t.amr.as_deref().unwrap_or("pwd"),
                None,
            )
            .await?;
        if !self.rotate(&hash, next).await.map_err(OAuthError::server)? {
            return self.reused(client, &t.family).await;
        }
        Ok(issued)
    }

    /// Reuse of a rotated token: someone has a copy. The whole family ends.
    async fn reused(&self, client: &Client, family: &str) -> OAuthResult<Value> {
        tracing::warn!(client = %client.id, "refresh token reuse: family revoked");
        self.end_family(family, "refresh token was already used")
            .await
    }

    /// Marks `used` used and stores `next`, or neither (false) when `used` was used or
    /// revoked meanwhile: one statement on PostgreSQL; on SQLite, a place in the next group
    /// commit (see `rotation`).
    async fn rotate(&self, used: &str, next: Token) -> anyhow::Result<bool> {
        if let Some(rotations) = &self.rotations {
            return rotations.rotate(used, next).await;
        }
        let mut conn = self.store.conn().await?;
        Ok(store::rotate_refresh(&mut conn, used, &next, self.clock.now()).await?)
    }

    async fn client_credentials(&self, client: &Client, form: &TokenForm) -> OAuthResult<Value> {
        if client.is_public {
            return Err(OAuthError::new(
                "unauthorized_client",
                "public clients cannot use client_credentials",
            ));
        }
        // No person is behind this token: only the app's own API scopes, as registered.
        let scope = match form.scope.as_deref() {
            None => client.api_scopes.join(" "),
            Some(asked) => {
                let asked: Vec<&str> = asked.split_whitespace().collect();
                if let Some(other) = asked
                    .iter()
                    .find(|s| !client.api_scopes.iter().any(|a| a == *s))
                {
                    return Err(OAuthError::new(
                        "invalid_scope",
                        format!("{other} is not a scope of this app"),
                    ));
                }
                asked.join(" ")
            }
        };
        let access = self.seal_access(client, None, None, &self.random.id(), scope.clone());
        Ok(
            json!({ "access_token": access, "token_type": "Bearer", "expires_in": self.config.sso.access_token_ttl_seconds, "scope": scope }),
        )
    }

    /// The account, as read at most two seconds ago, if it is active.
    async fn recent_active_user(
        &self,
        id: Option<&UserId>,
    ) -> OAuthResult<Option<std::sync::Arc<User>>> {
        let Some(id) = id else {
            return Ok(None);
        };
        Ok(self
            .recent_user(id)
            .await
            .map_err(OAuthError::server)?
            .filter(|u| u.status == AccountStatus::Active))
    }

    /// A live access token and its app: sealed by this server, not expired, its app
    /// enabled, and no revocation rule ending it.
    async fn live_access_token(&self, presented: &str) -> OAuthResult<(AccessToken, Client)> {
        let invalid = || OAuthError::new("invalid_token", "the access token is not valid");
        let t = self.sealer.open(presented).ok_or_else(invalid)?;
        let now = self.clock.now();
        if t.expires_at <= now.millis() {
            return Err(invalid());
        }
        let client = self
            .client(&ClientId::new(t.client.clone()))
            .await
            .map_err(OAuthError::server)?
            .filter(|c| c.enabled)
            .ok_or_else(invalid)?;
        if self
            .revocations
            .ends(&self.store, now, self.revocation_window(), &t.facts())
            .await
            .map_err(OAuthError::server)?
        {
            return Err(invalid());
        }
        Ok((t, client))
    }

    /// Claims about the person behind an access token, limited to its scopes.
    #[tracing::instrument(skip_all)]
    pub async fn userinfo(&self, bearer: &str) -> OAuthResult<Value> {
        let (t, client) = self.live_access_token(bearer).await?;
        let scopes = Scopes::parse(&t.scopes);
        let user_id = t.user.map(UserId::new);
        if !scopes.contains("openid") {
            return Err(OAuthError::new(
                "insufficient_scope",
                "the token has no openid scope",
            ));
        }
        let user = self
            .recent_active_user(user_id.as_ref())
            .await?
            .ok_or_else(|| OAuthError::new("invalid_token", "the account is not active"))?;
        let mut claims = json!({ "sub": self.subject_for(&client, &user.id) });
        if scopes.contains("profile") {
            claims["name"] = json!(user.full_name());
            claims["given_name"] = json!(user.first_name.as_str());
            claims["family_name"] = json!(user.last_name.as_str());
            claims["locale"] = json!(user.language);
            claims["updated_at"] = json!(user.updated_at.millis() / 1000);
        }
        if scopes.contains("email")
            && let Some(e) = &user.email
        {
            claims["email"] = json!(e.as_str());
            claims["email_verified"] = json!(true);
        }
        if scopes.contains("phone")
            && let Some(p) = &user.phone
        {
            claims["phone_number"] = json!(p.as_str());
            claims["phone_number_verified"] = json!(true);
        }
        if scopes.contains("portal") {
            claims["preferred_username"] = json!(user.portal_id.as_str());
            claims["portal_id"] = json!(user.portal_id.as_str());
            claims["account_level"] = json!(user.level.as_str());
            claims["account_type"] = json!(user.account_type.as_str());
        }
        Ok(claims)
    }

    /// RFC 7662: an app with a secret may ask about tokens issued to it. A public app cannot
    /// (discovery lists no `none` method for introspection): anyone could pose as it.
    #[tracing::instrument(skip_all)]
    pub async fn introspect(&self, form: TokenForm, basic: BasicAuth) -> OAuthResult<Value> {
        let client = self.token_client(&form, &basic).await?;
        if client.is_public {
            return Err(OAuthError::client());
        }
        let presented = form.token.unwrap_or_default();
        let inactive = || Ok(json!({ "active": false }));
        let (user_id, mut out) = if let Some(t) = self.sealer.open(&presented) {
            if t.client != client.id.as_str()
                || t.expires_at <= self.clock.now().millis()
                || self
                    .revocations
                    .ends(
                        &self.store,
                        self.clock.now(),
                        self.revocation_window(),
                        &t.facts(),
                    )
                    .await
                    .map_err(OAuthError::server)?
            {
                return inactive();
            }
            let out = json!({
                "active": true,
                "client_id": t.client,
                "scope": t.scopes,
                "token_type": "Bearer",
                "iat": t.issued_at / 1000,
                "exp": t.expires_at / 1000,
                "iss": self.config.issuer(),
                "jti": t.id,
            });
            (t.user.map(UserId::new), out)
        } else {
            let mut conn = self.store.read().await.map_err(OAuthError::server)?;
            let Some(t) = store::token(&mut conn, &sha256_hex(presented.as_bytes()))
                .await
                .map_err(OAuthError::server)?
            else {
                return inactive();
            };
            if t.client_id != client.id
                || t.revoked_at.is_some()
                || t.expires_at <= self.clock.now()
                || t.used_at.is_some()
            {
                return inactive();
            }
            let out = json!({
                "active": true,
                "client_id": t.client_id,
                "scope": t.scopes,
                "token_type": "refresh_token",
                "iat": t.created_at.millis() / 1000,
                "exp": t.expires_at.millis() / 1000,
                "iss": self.config.issuer(),
            });
            (t.user_id, out)
        };
        if let Some(uid) = &user_id {
            // A token of a locked (or deleted) account is not active, whatever its expiry
            // (security finding 13).
            match self.recent_active_user(Some(uid)).await? {
                Some(u) => {
                    out["sub"] = json!(self.subject_for(&client, uid));
                    out["acr"] = json!(acr_of(u.level));
                }
                _ => return inactive(),
            }
        }
        Ok(out)
    }

    /// RFC 7009: revokes a token of the calling app (a refresh token takes its family with it).
    /// Unknown tokens are not an error.
    #[tracing::instrument(skip_all)]
    pub async fn revoke(&self, form: TokenForm, basic: BasicAuth) -> OAuthResult<()> {
        let client = self.token_client(&form, &basic).await?;
        let presented = form.token.unwrap_or_default();
        let now = self.clock.now();
        let mut work = self.work().await.map_err(OAuthError::server)?;
        if let Some(t) = self.sealer.open(&presented) {
            if t.client == client.id.as_str() {
                store::record_revocation(&mut work, &Revocation::Token(t.id), now)
                    .await
                    .map_err(OAuthError::server)?;
                work.revoked();
            }
        } else if let Some(t) = store::token(&mut work, &sha256_hex(presented.as_bytes()))
            .await
            .map_err(OAuthError::server)?
            && t.client_id == client.id
        {
            store::revoke_family(&mut work, &t.family, now)
                .await
                .map_err(OAuthError::server)?;
            work.revoked();
        }
        work.commit().await.map_err(OAuthError::server)?;
        Ok(())
    }
}
