//! Logging in through an upstream OpenID provider ("others" registration in Rajasthan SSO).
//!
//! The first login creates a `simplified` account of type `other`, linked to the upstream
//! subject. An existing account is linked only by its owner while logged in: never by matching
//! e-mail addresses, which would let whoever controls an upstream account take over a portal one.
//! The ID token comes straight from the upstream token endpoint over TLS, so its issuer, audience,
//! expiry and nonce are checked and the TLS channel stands for the signature (OIDC Core §3.1.3.7).

use ekdwar_domain::UserId;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::{
    AccountLevel, AccountStatus, AccountType, EmployeeId, PersonName, PortalId, Role,
};
use ekdwar_store::StoreError;
use ekdwar_store::identity::{self as users, ExternalIdentity, User};
use serde_json::Value;

use super::Identity;
use super::{Authenticated, CurrentSession, LoggedIn};
use crate::audit::Actor;
use crate::config::UpstreamConfig;
use crate::core::PortFuture;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;

const FLOW_LIFETIME: Duration = Duration::from_secs(600);

/// Why a person starts an upstream login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalIntent {
    Login,
    Link,
    /// A standard account proving its identity through a trusted provider (assurance
    /// matches the answer against the checked profile).
    Verify,
}

impl ExternalIntent {
    fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Link => "link",
            Self::Verify => "verify",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Login, Self::Link, Self::Verify]
            .into_iter()
            .find(|i| i.as_str() == s)
    }
}

/// What an upstream provider said about the person, once its code was exchanged.
#[derive(Debug, Clone)]
pub struct UpstreamAnswer {
    pub provider: String,
    pub intent: ExternalIntent,
    pub subject: String,
    pub email: Option<String>,
    /// The ID token's claims, with userinfo's added.
    pub claims: Value,
}

/// A redirect to the upstream provider and the signed state to keep in a cookie meanwhile.
#[derive(Debug, Clone)]
pub struct ExternalStart {
    pub redirect: String,
    pub cookie: String,
}

impl Identity {
    pub fn upstreams(&self) -> &[UpstreamConfig] {
        &self.config.upstream
    }

    /// The providers people may log in with (and link to their account).
    pub fn login_upstreams(&self) -> impl Iterator<Item = &UpstreamConfig> {
        self.config.upstream.iter().filter(|u| u.login)
    }

    pub(crate) fn upstream(&self, id: &str) -> AppResult<&UpstreamConfig> {
        self.config
            .upstream
            .iter()
            .find(|u| u.id == id)
            .ok_or(AppError::NotFound)
    }

    fn upstream_callback(&self, id: &str) -> String {
        format!("{}/login/external/{id}/callback", self.config.public_url())
    }

    async fn upstream_metadata(&self, u: &UpstreamConfig) -> AppResult<Value> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            u.issuer.trim_end_matches('/')
        );
        let meta = self
            .upstream
            .get_json(&url, None)
            .await
            .map_err(|e| upstream_error(u, e))?;
        if meta["issuer"].as_str() != Some(u.issuer.trim_end_matches('/'))
            && meta["issuer"].as_str() != Some(u.issuer.as_str())
        {
            return Err(AppError::Internal(
                format!("upstream {} announces another issuer", u.id).into(),
            ));
        }
        Ok(meta)
    }

    pub async fn start_external(
        &self,
        provider: &str,
        intent: ExternalIntent,
    ) -> AppResult<ExternalStart> {
        let u = self.upstream(provider)?;
        if !u.login && intent != ExternalIntent::Verify {
            return Err(AppError::NotFound);
        }
        let meta = self.upstream_metadata(u).await?;
        let endpoint = meta["authorization_endpoint"]
            .as_str()
            .ok_or_else(|| AppError::Internal("upstream has no authorization endpoint".into()))?;
        let (state, nonce, verifier) = (
            self.random.token(16),
            self.random.token(16),
            self.random.token(32),
        );
        let challenge =
            ekdwar_domain::sso::pkce_s256(&verifier).map_err(|e| AppError::Internal(e.into()))?;
        let mut url = url::Url::parse(endpoint).map_err(|e| AppError::Internal(e.into()))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &u.client_id)
            .append_pair("redirect_uri", &self.upstream_callback(provider))
            .append_pair("scope", &u.scopes)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if intent != ExternalIntent::Login {
            // Linking and proving one's identity must be a deliberate choice of upstream
            // account, not whichever one the browser happens to be logged in to there.
            url.query_pairs_mut().append_pair("prompt", "login");
        }
        let expires = self.clock.now().plus(FLOW_LIFETIME).millis();
        let intent = intent.as_str();
        let payload = format!("{provider}|{state}|{nonce}|{verifier}|{intent}|{expires}");
        let sig = self.key.sign_b64(&[b"external-login", payload.as_bytes()]);
        Ok(ExternalStart {
            redirect: url.to_string(),
            cookie: format!("{}.{sig}", URL_SAFE_NO_PAD.encode(payload)),
        })
    }

    /// Exchanges the code an upstream provider sent back for what it says about the person,
    /// checking that the flow is the one this browser started.
    #[tracing::instrument(skip_all, fields(provider = %provider))]
    pub async fn external_answer(
        &self,
        provider: &str,
        code: &str,
        state: &str,
        cookie: &str,
    ) -> AppResult<UpstreamAnswer> {
        let (payload_b64, sig) = cookie.split_once('.').ok_or(AppError::FlowExpired)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .ok()
            .and_then(|p| String::from_utf8(p).ok())
            .ok_or(AppError::FlowExpired)?;
        if !self
            .key
            .verify_b64(&[b"external-login", payload.as_bytes()], sig)
        {
            return Err(AppError::FlowExpired);
        }
        let parts: Vec<&str> = payload.split('|').collect();
        let [p, expected_state, nonce, verifier, intent, expires] = parts[..] else {
            return Err(AppError::FlowExpired);
        };
        let expires: i64 = expires.parse().map_err(|_| AppError::FlowExpired)?;
        let intent = ExternalIntent::parse(intent).ok_or(AppError::FlowExpired)?;
        if p != provider || expected_state != state || expires <= self.clock.now().millis() {
            return Err(AppError::FlowExpired);
        }
        let u = self.upstream(provider)?;
        let meta = self.upstream_metadata(u).await?;
        let token_endpoint = meta["token_endpoint"]
            .as_str()
            .ok_or_else(|| AppError::Internal("upstream has no token endpoint".into()))?;
        let resp = self
            .upstream
            .post_form(
                token_endpoint,
                (&u.client_id, u.client_secret.expose()),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &self.upstream_callback(provider)),
                    ("code_verifier", verifier),
                ],
            )
            .await
            .map_err(|e| upstream_error(u, e))?;
        let id_token = resp["id_token"].as_str().ok_or_else(|| {
            AppError::Internal(
                format!(
                    "upstream {provider} returned no ID token: {}",
                    resp["error"]
                )
                .into(),
            )
        })?;
        let mut claims = self.upstream_claims(u, id_token, nonce)?;
        // Providers often keep profile claims out of the ID token; userinfo has them.
        if let (Some(access), Some(endpoint)) = (
            resp["access_token"].as_str(),
            meta["userinfo_endpoint"].as_str(),
        ) && let Ok(info) = self.upstream.get_json(endpoint, Some(access)).await
            && info["sub"] == claims["sub"]
            && let (Some(into), Some(from)) = (claims.as_object_mut(), info.as_object())
        {
            for (k, v) in from {
                into.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let subject = claims["sub"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AppError::Internal("upstream ID token has no sub".into()))?
            .to_string();
        let email = claims["email"].as_str().map(str::to_string);
        Ok(UpstreamAnswer {
            provider: provider.to_string(),
            intent,
            subject,
            email,
            claims,
        })
    }

    /// Finishes an upstream login: logs in (creating the account on first use), or links the
    /// upstream account to the person logged in.
    #[tracing::instrument(skip_all, fields(provider = %answer.provider))]
    pub async fn finish_external(
        &self,
        answer: UpstreamAnswer,
        current: Option<&CurrentSession>,
        actor: &Actor,
    ) -> AppResult<Authenticated> {
        let UpstreamAnswer {
            provider,
            intent,
            subject,
            email,
            claims,
        } = answer;
        let provider = provider.as_str();
        let now = self.clock.now();
        let mut tx = self.work().await?;
        let linked = users::external(&mut tx, provider, &subject).await?;
        use ExternalIntent::{Link, Login, Verify};
        let user = match (intent, linked, current) {
            (Verify, _, _) => return Err(AppError::FlowExpired),
            (Link, Some(l), Some(cur)) if l.user_id == cur.user.id => cur.user.clone(),
            (Link, Some(_), Some(_)) => {
                return Err(AppError::field("provider", "external-linked-elsewhere"));
            }
            (Link, None, Some(cur)) => {
                users::link_external(
                    &mut tx,
                    &ExternalIdentity {
                        provider: provider.into(),
                        subject,
                        user_id: cur.user.id.clone(),
                        email,
                        created_at: now,
                    },
                )
                .await?;
                self.audit(
                    &mut tx,
                    actor,
                    Some(&cur.user.id),
                    AuditAction::ExternalLinked,
                    Outcome::Success,
                    Some(provider.into()),
                )
                .await?;
                cur.user.clone()
            }
            (Link, _, None) => return Err(AppError::FlowExpired),
            (Login, Some(l), _) => users::by_id(&mut tx, &l.user_id)
                .await?
                .ok_or(AppError::FlowExpired)?,
            (Login, None, _) => {
                let u = self.upstream(provider)?;
                // From an employee directory, the employee ID the directory vouches for.
                let employee = match &u.employee_id_claim {
                    Some(claim) => Some(
                        claims[claim.as_str()]
                            .as_str()
                            .and_then(|id| EmployeeId::parse(id).ok())
                            .ok_or_else(|| AppError::field("provider", "external-refused"))?,
                    ),
                    None => None,
                };
                let user = self
                    .new_external_user(&mut tx, &claims, actor.lang.as_ref(), employee.is_some())
                    .await?;
                if let Some(id) = &employee
                    && !ekdwar_store::employees::insert(
                        &mut tx,
                        &user.id,
                        id.as_str(),
                        Some(provider),
                        now,
                    )
                    .await?
                {
                    return Err(AppError::field("provider", "employee-id-taken"));
                }
                users::link_external(
                    &mut tx,
                    &ExternalIdentity {
                        provider: provider.into(),
                        subject,
                        user_id: user.id.clone(),
                        email,
                        created_at: now,
                    },
                )
                .await?;
                self.audit(
                    &mut tx,
                    actor,
                    Some(&user.id),
                    AuditAction::Registered,
                    Outcome::Success,
                    Some(format!("external:{provider}")),
                )
                .await?;
                self.metrics.registrations.inc();
                user
            }
        };
        if user.status != AccountStatus::Active {
            return Err(AppError::AccountLocked);
        }
        // Linking keeps how the person logged in; a login of an account with two-step login
        // asks for the code next, as after a password.
        let amr = match current {
            Some(cur) if cur.user.id == user.id => cur.session.amr.clone(),
            _ if self.has_two_step(&mut tx, &user.id).await? => {
                tx.commit().await?;
                return Ok(Authenticated::SecondStep(
                    self.second_step_ticket(&user.id, "fed"),
                ));
            }
            _ => "fed".to_string(),
        };
        if let Some(cur) = current {
            ekdwar_store::sessions::revoke(&mut tx, &cur.user.id, &cur.session.id_hash, now)
                .await?;
        }
        let token = self.create_session(&mut tx, &user.id, actor, &amr).await?;
        self.audit(
            &mut tx,
            actor,
            Some(&user.id),
            AuditAction::LoginSucceeded,
            Outcome::Success,
            Some(format!("external:{provider}")),
        )
        .await?;
        tx.commit().await?;
        self.metrics.login("success");
        Ok(Authenticated::Session(Box::new(LoggedIn {
            token,
            user,
            password_expired: false,
        })))
    }

    fn upstream_claims(&self, u: &UpstreamConfig, id_token: &str, nonce: &str) -> AppResult<Value> {
        // A refused token is the upstream's fault or an attack, not ours: logged, and the
        // person is told the login did not work (never a 500).
        upstream_claims(u, id_token, nonce, self.clock.now()).map_err(|why| {
            tracing::warn!(provider = %u.id, reason = why, "upstream ID token refused");
            AppError::field("provider", "external-refused")
        })
    }

    async fn new_external_user(
        &self,
        conn: &mut ekdwar_store::Conn,
        claims: &Value,
        lang: Option<&Lang>,
        employee: bool,
    ) -> AppResult<User> {
        let full = claims["name"].as_str().unwrap_or_default();
        let mut split = full.split_whitespace();
        let given = claims["given_name"]
            .as_str()
            .map(str::to_string)
            .or_else(|| split.next().map(str::to_string))
            .unwrap_or_default();
        let family = claims["family_name"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| split.collect::<Vec<_>>().join(" "));
        let first = PersonName::parse(&given)
            .unwrap_or_else(|_| PersonName::from_trusted("Citizen".into()));
        let last =
            PersonName::parse(&family).unwrap_or_else(|_| PersonName::from_trusted("-".into()));
        let mut base = PortalId::suggestion_base(&first, &last);
        // An employee's portal ID names them, never their post (a directory may hold posts).
        if employee && PortalId::parse(&base).is_ok_and(|b| b.name_based().is_err()) {
            base = "employee".into();
        }
        let mut candidate = base.clone();
        let portal_id = loop {
            if let Ok(id) = PortalId::parse(&candidate)
                && !users::portal_id_taken(conn, &id).await?
            {
                break id;
            }
            candidate = format!("{base}{}", 10 + self.random.below(99_990));
        };
        let now = self.clock.now();
        let user = User {
            id: UserId::new(self.random.id()),
            portal_id,
            first_name: first,
            last_name: last,
            phone: None,
            email: None,
            password_hash: None,
            password_changed_at: now,
            level: AccountLevel::Simplified,
            account_type: if employee {
                AccountType::Government
            } else {
                AccountType::Other
            },
            role: Role::Citizen,
            status: AccountStatus::Active,
            language: Some(lang.unwrap_or(&self.default_lang).tag()),
            consent_at: now,
            created_at: now,
            updated_at: now,
        };
        match users::insert(conn, &user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(AppError::Internal("portal ID race".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// The upstream logins linked to an account: (provider id, provider name, e-mail).
    pub async fn linked_logins(
        &self,
        user_id: &UserId,
    ) -> AppResult<Vec<(String, String, Option<String>)>> {
        let mut conn = self.store.conn().await?;
        Ok(users::externals_of(&mut conn, user_id)
            .await?
            .into_iter()
            .map(|e| {
                let name = self
                    .config
                    .upstream
                    .iter()
                    .find(|u| u.id == e.provider)
                    .map_or_else(|| e.provider.clone(), |u| u.name.clone());
                (e.provider, name, e.email)
            })
            .collect())
    }

    /// Removes a linked login, unless it is the only way into the account.
    pub async fn unlink_external(
        &self,
        cur: &CurrentSession,
        provider: &str,
        actor: &Actor,
    ) -> AppResult<()> {
        let mut tx = self.work().await?;
        let links = users::externals_of(&mut tx, &cur.user.id).await?;
        if cur.user.password_hash.is_none() && links.len() <= 1 {
            return Err(AppError::field("provider", "external-last-login"));
        }
        if users::unlink_external(&mut tx, &cur.user.id, provider).await? == 0 {
            return Err(AppError::NotFound);
        }
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::ExternalUnlinked,
            Outcome::Success,
            Some(provider.into()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The port to upstream identity providers: the HTTP exchanges of an OpenID Connect login
/// (discovery, the token endpoint, userinfo). The real adapter speaks HTTPS; tests may put an
/// in-process provider in its place.
pub trait UpstreamClient: Send + Sync {
    /// GETs a JSON document (discovery; userinfo with a `bearer` token).
    fn get_json<'a>(
        &'a self,
        url: &'a str,
        bearer: Option<&'a str>,
    ) -> PortFuture<'a, Result<Value, String>>;

    /// POSTs a form with HTTP Basic client authentication and reads the JSON answer (the
    /// token endpoint; an error answer is JSON too, and is returned as such).
    fn post_form<'a>(
        &'a self,
        url: &'a str,
        basic: (&'a str, &'a str),
        form: &'a [(&'a str, &'a str)],
    ) -> PortFuture<'a, Result<Value, String>>;
}

/// The HTTPS adapter.
pub(crate) struct HttpUpstream(pub(crate) reqwest::Client);

impl UpstreamClient for HttpUpstream {
    fn get_json<'a>(
        &'a self,
        url: &'a str,
        bearer: Option<&'a str>,
    ) -> PortFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            let mut req = self.0.get(url);
            if let Some(b) = bearer {
                req = req.bearer_auth(b);
            }
            let r = req.send().await.map_err(|e| e.to_string())?;
            r.json().await.map_err(|e| e.to_string())
        })
    }

    fn post_form<'a>(
        &'a self,
        url: &'a str,
        (user, password): (&'a str, &'a str),
        form: &'a [(&'a str, &'a str)],
    ) -> PortFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            let r = self
                .0
                .post(url)
                .basic_auth(user, Some(password))
                .form(form)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            r.json().await.map_err(|e| e.to_string())
        })
    }
}

fn upstream_error(u: &UpstreamConfig, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("upstream {} unreachable: {e}", u.id).into())
}

/// The claims of an upstream provider's ID token, received straight from its token endpoint,
/// or why it is refused.
fn upstream_claims(
    u: &UpstreamConfig,
    id_token: &str,
    nonce: &str,
    now: ekdwar_domain::Timestamp,
) -> Result<Value, &'static str> {
    let bad = |why: &'static str| why;
    let mut parts = id_token.split('.');
    let header: Value = parts
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| bad("not a JWT"))?;
    // Received straight from the provider's token endpoint over TLS (OpenID Connect Core
    // 3.1.3.7), but never unsigned.
    match header["alg"].as_str() {
        Some(alg) if !alg.eq_ignore_ascii_case("none") => {}
        _ => return Err(bad("unsigned")),
    }
    let payload = parts.next().ok_or_else(|| bad("not a JWT"))?;
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| bad("bad encoding"))?,
    )
    .map_err(|_| bad("bad JSON"))?;
    if claims["iss"].as_str().map(|i| i.trim_end_matches('/'))
        != Some(u.issuer.trim_end_matches('/'))
    {
        return Err(bad("issuer"));
    }
    let aud_ok = match &claims["aud"] {
        Value::String(a) => a == &u.client_id,
        Value::Array(list) => list.iter().any(|a| a.as_str() == Some(&u.client_id)),
        _ => false,
    };
    if !aud_ok {
        return Err(bad("audience"));
    }
    // With several audiences the token must say it was issued to us (`azp`).
    let several = claims["aud"].as_array().is_some_and(|a| a.len() > 1);
    match claims["azp"].as_str() {
        Some(azp) if azp != u.client_id => return Err(bad("authorized party")),
        None if several => return Err(bad("authorized party missing")),
        _ => {}
    }
    if claims["exp"]
        .as_i64()
        .is_none_or(|e| e * 1000 <= now.millis())
    {
        return Err(bad("expired"));
    }
    if claims["nonce"].as_str() != Some(nonce) {
        return Err(bad("nonce"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn upstream_tokens_must_be_signed_and_ours() {
        let u = UpstreamConfig::login_only(
            "up",
            "Up",
            "https://id.example",
            "ekdwar",
            crate::config::Secret::new("s"),
        );
        let now = ekdwar_domain::Timestamp::from_millis(1_000_000);
        let claims = |extra: Value| {
            let mut c = serde_json::json!({"iss": "https://id.example", "aud": "ekdwar", "exp": 2000, "nonce": "n", "sub": "s"});
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        let es = serde_json::json!({"alg": "ES256"});
        assert!(
            upstream_claims(
                &u,
                &jwt(es.clone(), claims(serde_json::json!({}))),
                "n",
                now
            )
            .is_ok()
        );
        assert_eq!(
            upstream_claims(
                &u,
                &jwt(
                    serde_json::json!({"alg": "none"}),
                    claims(serde_json::json!({}))
                ),
                "n",
                now
            ),
            Err("unsigned")
        );
        assert_eq!(
            upstream_claims(
                &u,
                &jwt(
                    es.clone(),
                    claims(serde_json::json!({"aud": ["ekdwar", "other"]}))
                ),
                "n",
                now
            ),
            Err("authorized party missing")
        );
        assert_eq!(
            upstream_claims(
                &u,
                &jwt(es.clone(), claims(serde_json::json!({"azp": "other"}))),
                "n",
                now
            ),
            Err("authorized party")
        );
        assert_eq!(upstream_claims(&u, "garbage", "n", now), Err("not a JWT"));
    }
}
