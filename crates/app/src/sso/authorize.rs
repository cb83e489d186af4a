//! The authorization endpoint: validate the request, then log in, ask consent, check the level,
//! and send the app a single-use code. Errors go back to the app, except when the app or its
//! redirect URI cannot be trusted: then the person is told.

use std::time::Duration;

use ekdwar_domain::AccountLevel;
use ekdwar_domain::sso::{Prompt, RedirectUri, Scopes, check_challenge, required_level};
use ekdwar_store::sso::{self as store, AuthCode, Client};
use serde::Deserialize;

use super::Sso;
use crate::audit::Actor;
use crate::error::AppResult;
use crate::identity::CurrentSession;
use crate::security::sha256_hex;
use ekdwar_domain::audit::{AuditAction, Outcome};

/// The query of an authorization request, as sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuthorizeParams {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub acr_values: Option<String>,
    pub response_mode: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// A request that passed validation.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub(crate) client: Client,
    pub redirect_uri: String,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<u64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    pub min_level: Option<AccountLevel>,
}

impl AuthorizeRequest {
    /// The app asking, as the consent page shows it.
    pub fn app(&self) -> crate::views::AppView {
        crate::views::AppView::from(&self.client)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The app or redirect URI cannot be trusted; the code names the message for the person.
    ToUser(&'static str),
    /// A redirect to the app carrying `error`.
    ToClient(String),
}

/// What happens next in the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Login,
    Consent { scopes: Scopes },
    LevelTooLow { need: AccountLevel, cancel: String },
    Redirect(String),
}

impl Sso {
    /// Adds parameters to an app's redirect URI, keeping its own query, plus `iss` (RFC 9207).
    pub fn client_redirect(
        &self,
        redirect_uri: &str,
        params: &[(&str, &str)],
        state: Option<&str>,
    ) -> String {
        let Ok(mut url) = url::Url::parse(redirect_uri) else {
            return redirect_uri.to_string();
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
            if let Some(s) = state {
                q.append_pair("state", s);
            }
            q.append_pair("iss", &self.config.issuer());
        }
        url.to_string()
    }

    /// Where a browser may be sent at the end of an authorization request: its registered
    /// redirect URI, for the CSP `form-action` of the pages on the way there.
    pub async fn authorize_target(&self, params: &AuthorizeParams) -> Option<RedirectUri> {
        self.parse_authorize(params)
            .await
            .ok()
            .map(|r| RedirectUri::from_trusted(r.redirect_uri))
    }

    pub async fn parse_authorize(
        &self,
        p: &AuthorizeParams,
    ) -> Result<AuthorizeRequest, AuthorizeError> {
        let client = match self.client(&p.client_id).await {
            Ok(Some(c)) if c.enabled => c,
            _ => return Err(AuthorizeError::ToUser("sso-unknown-client")),
        };
        // Exact match against the registered list; nothing else is trusted with a redirect.
        let redirect_uri = match RedirectUri::parse(&p.redirect_uri) {
            Ok(u) if client.redirect_uris.iter().any(|r| r == u.as_str()) => u.as_str().to_string(),
            _ => return Err(AuthorizeError::ToUser("sso-bad-redirect")),
        };
        let state = p.state.clone().filter(|s| !s.is_empty());
        let fail = |error: &str, description: &str| {
            AuthorizeError::ToClient(self.client_redirect(
                &redirect_uri,
                &[("error", error), ("error_description", description)],
                state.as_deref(),
            ))
        };
        if p.request.is_some() {
            return Err(fail(
                "request_not_supported",
                "request objects are not supported",
            ));
        }
        if p.request_uri.is_some() {
            return Err(fail(
                "request_uri_not_supported",
                "request_uri is not supported",
            ));
        }
        if p.response_type != "code" {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        if p.response_mode.as_deref().is_some_and(|m| m != "query") {
            return Err(fail(
                "invalid_request",
                "only response_mode=query is supported",
            ));
        }
        let scopes = Scopes::parse(&p.scope);
        if !scopes.contains("openid") {
            return Err(fail("invalid_scope", "the openid scope is required"));
        }
        let challenge = p.code_challenge.clone().filter(|c| !c.is_empty());
        match (&challenge, p.code_challenge_method.as_deref()) {
            (None, _) if client.is_public => {
                return Err(fail(
                    "invalid_request",
                    "public clients must use PKCE (S256)",
                ));
            }
            (Some(_), m) if m != Some("S256") => {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            (Some(c), _) if check_challenge(c).is_err() => {
                return Err(fail("invalid_request", "malformed code_challenge"));
            }
            _ => {}
        }
        let prompt = Prompt::parse(p.prompt.as_deref().unwrap_or(""))
            .ok_or_else(|| fail("invalid_request", "prompt=none cannot be combined"))?;
        let max_age = match p.max_age.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                s.parse::<u64>()
                    .map_err(|_| fail("invalid_request", "max_age must be a number of seconds"))?,
            ),
        };
        Ok(AuthorizeRequest {
            client,
            redirect_uri,
            scopes,
            state,
            nonce: p.nonce.clone().filter(|n| !n.is_empty()),
            challenge,
            prompt,
            max_age,
            login_hint: p.login_hint.clone().filter(|s| !s.is_empty()),
            ui_locales: p.ui_locales.clone(),
            min_level: p.acr_values.as_deref().and_then(required_level),
        })
    }

    fn error_to_client(&self, req: &AuthorizeRequest, error: &str, description: &str) -> Step {
        Step::Redirect(self.client_redirect(
            &req.redirect_uri,
            &[("error", error), ("error_description", description)],
            req.state.as_deref(),
        ))
    }

    /// Decides the next step for a valid request. `fresh_login` is true right after the person
    /// logged in for this request (so `prompt=login` and `max_age` are satisfied).
    #[tracing::instrument(skip_all)]
    pub async fn authorize_step(
        &self,
        req: &AuthorizeRequest,
        session: Option<&CurrentSession>,
        fresh_login: bool,
    ) -> AppResult<Step> {
        let now = self.clock.now();
        let Some(s) = session else {
            return Ok(if req.prompt.none {
                self.error_to_client(req, "login_required", "the user is not logged in")
            } else {
                Step::Login
            });
        };
        if let Some(step) = self.unmet_requirement(req, s, fresh_login, now) {
            return Ok(step);
        }
        let granted = {
            let mut conn = self.store.conn().await?;
            store::consent(&mut conn, &s.user.id, &req.client.id)
                .await?
                .map(|g| Scopes::parse(&g))
        };
        let covered = granted.as_ref().is_some_and(|g| req.scopes.within(g));
        if req.prompt.consent || !covered {
            return Ok(if req.prompt.none {
                self.error_to_client(req, "consent_required", "the user has not allowed this app")
            } else {
                Step::Consent {
                    scopes: req.scopes.clone(),
                }
            });
        }
        self.issue_code(req, s).await.map(Step::Redirect)
    }

    /// Records the person's answer on the consent page and continues.
    /// What the request still needs before consent: a fresh login (`prompt=login`, `max_age`)
    /// or a higher account level; `None` when it has all.
    fn unmet_requirement(
        &self,
        req: &AuthorizeRequest,
        s: &CurrentSession,
        fresh_login: bool,
        now: ekdwar_domain::Timestamp,
    ) -> Option<Step> {
        let too_old = req
            .max_age
            .is_some_and(|m| now.since(s.session.created_at) > Duration::from_secs(m));
        if !fresh_login && (req.prompt.login || too_old) {
            return Some(if req.prompt.none {
                self.error_to_client(req, "login_required", "a fresh login is required")
            } else {
                Step::Login
            });
        }
        if let Some(need) = req.min_level
            && s.user.level < need
        {
            return Some(if req.prompt.none {
                self.error_to_client(
                    req,
                    "unmet_authentication_requirements",
                    "the account level is too low",
                )
            } else {
                Step::LevelTooLow {
                    need,
                    cancel: self.client_redirect(
                        &req.redirect_uri,
                        &[
                            ("error", "access_denied"),
                            ("error_description", "the account level is too low"),
                        ],
                        req.state.as_deref(),
                    ),
                }
            });
        }
        None
    }

    /// The person's answer on the consent page. The whole request is checked again first: a
    /// consent form posted directly must not skip `prompt=login`, `max_age` or `acr_values`
    /// (security finding 4).
    #[tracing::instrument(skip_all, fields(user = %s.user.id, client = %req.client.id))]
    pub async fn answer_consent(
        &self,
        req: &AuthorizeRequest,
        s: &CurrentSession,
        allow: bool,
        fresh_login: bool,
        actor: &Actor,
    ) -> AppResult<Step> {
        if let Some(step) = self.unmet_requirement(req, s, fresh_login, self.clock.now()) {
            return Ok(step);
        }
        if !allow {
            return Ok(self.error_to_client(req, "access_denied", "the user refused"));
        }
        let mut tx = self.work().await?;
        self.audit(
            &mut tx,
            actor,
            Some(&s.user.id),
            AuditAction::ConsentGranted,
            Outcome::Success,
            Some(format!(
                "{}: {}",
                req.client.id,
                req.scopes.to_string_list()
            )),
        )
        .await?;
        let previous = store::consent(&mut tx, &s.user.id, &req.client.id)
            .await?
            .map(|g| Scopes::parse(&g))
            .unwrap_or_default();
        store::save_consent(
            &mut tx,
            &s.user.id,
            &req.client.id,
            &previous.union(&req.scopes).to_string_list(),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        self.issue_code(req, s).await.map(Step::Redirect)
    }

    async fn issue_code(&self, req: &AuthorizeRequest, s: &CurrentSession) -> AppResult<String> {
        let code = self.random.token(32);
        let now = self.clock.now();
        let mut conn = self.store.conn().await?;
        store::insert_code(
            &mut conn,
            &AuthCode {
                code_hash: sha256_hex(code.as_bytes()),
                client_id: req.client.id.clone(),
                user_id: s.user.id.clone(),
                session_hash: s.session.id_hash.clone(),
                redirect_uri: req.redirect_uri.clone(),
                scopes: req.scopes.to_string_list(),
                nonce: req.nonce.clone(),
                code_challenge: req.challenge.clone(),
                auth_time: s.session.created_at,
                amr: s.session.amr.clone(),
                created_at: now,
                expires_at: now.plus(Duration::from_secs(self.config.sso.code_ttl_seconds)),
                used_at: None,
                family: self.random.id(),
            },
        )
        .await?;
        Ok(self.client_redirect(&req.redirect_uri, &[("code", &code)], req.state.as_deref()))
    }
}
