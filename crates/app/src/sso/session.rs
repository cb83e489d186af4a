//! Logging out of the portal from an app (RP-initiated logout), and the apps a person has
//! allowed ("connected apps"), which they can disconnect.

use ekdwar_domain::Timestamp;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::sso::RedirectUri;
use ekdwar_domain::{ClientId, SessionId, UserId};
use ekdwar_store::sso as store;

use super::Sso;
use crate::audit::Actor;
use crate::core::PortFuture;
use crate::core::Work;
use crate::error::{AppError, AppResult};
use crate::identity::{CurrentSession, Ending, SessionsEnded};

/// Tell an app that a person's login session ended (OpenID Connect Back-Channel Logout 1.0).
pub const BACKCHANNEL_LOGOUT: &str = "backchannel-logout";

/// An app the person has allowed, and what it may see.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    pub app: crate::views::AppView,
    pub scopes: String,
    pub granted_at: Timestamp,
}

impl Sso {
    /// Ends the browser's portal session and every token given out in it. Returns where to
    /// send the browser: the app's registered post-logout URI, if the request names a valid one.
    pub async fn end_session(
        &self,
        cur: Option<&CurrentSession>,
        id_token_hint: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
        actor: &Actor,
    ) -> AppResult<Option<String>> {
        let hinted = match id_token_hint {
            Some(t) => self.verify_jwt(t).await,
            None => None,
        };
        let client_id = client_id.map(str::to_string).or_else(|| {
            hinted
                .as_ref()
                .and_then(|c| c["aud"].as_str().map(str::to_string))
        });
        if let Some(s) = cur {
            let mut tx = self.work().await?;
            crate::identity::end_sessions(
                &mut tx,
                &s.user.id,
                Ending::One(&s.session.id_hash),
                self.clock.now(),
                self,
            )
            .await?;
            self.audit(
                &mut tx,
                actor,
                Some(&s.user.id),
                AuditAction::Logout,
                Outcome::Success,
                client_id.clone().map(|c| format!("from app {c}")),
            )
            .await?;
            tx.commit().await?;
        }
        let (Some(cid), Some(uri)) = (client_id, post_logout_redirect_uri) else {
            return Ok(None);
        };
        if self.post_logout_target(&cid, uri).await?.is_none() {
            return Ok(None);
        }
        let mut url = url::Url::parse(uri).map_err(|e| AppError::Internal(e.into()))?;
        if let Some(s) = state {
            url.query_pairs_mut().append_pair("state", s);
        }
        Ok(Some(url.to_string()))
    }

    /// The registered post-logout redirect URI `uri` of app `client_id`, if it is one.
    pub async fn post_logout_target(
        &self,
        client_id: &str,
        uri: &str,
    ) -> AppResult<Option<RedirectUri>> {
        let Some(client) = self.client(client_id).await? else {
            return Ok(None);
        };
        Ok(RedirectUri::parse(uri).ok().filter(|u| {
            client
                .post_logout_redirect_uris
                .iter()
                .any(|r| r == u.as_str())
        }))
    }

    pub async fn connected_apps(&self, user_id: &UserId) -> AppResult<Vec<ConnectedApp>> {
        let mut conn = self.store.conn().await?;
        let mut out = Vec::new();
        for (client_id, scopes, granted_at) in store::consents_of(&mut conn, user_id).await? {
            if let Some(client) = store::client(&mut conn, &client_id).await? {
                out.push(ConnectedApp {
                    app: crate::views::AppView::from(&client),
                    scopes,
                    granted_at,
                });
            }
        }
        Ok(out)
    }

    /// Withdraws consent for an app and revokes every token the person gave it.
    pub async fn disconnect_app(
        &self,
        cur: &CurrentSession,
        client_id: &str,
        actor: &Actor,
    ) -> AppResult<()> {
        let client_id = &ClientId::new(client_id);
        let mut tx = self.work().await?;
        if !store::delete_consent(&mut tx, &cur.user.id, client_id).await? {
            return Err(AppError::NotFound);
        }
        store::revoke_user_client(&mut tx, &cur.user.id, client_id, self.clock.now()).await?;
        tx.revoked();
        self.enqueue_backchannel_logout(&mut tx, client_id, &cur.user.id, None)
            .await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::ConsentWithdrawn,
            Outcome::Success,
            Some(client_id.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Sso {
    /// What ends with portal sessions (the port accounts tell, `identity::SessionsEnded`):
    /// the apps' tokens given out in them, and a back-channel logout job for every app that
    /// took part and asked for one (OpenID Connect Back-Channel Logout 1.0), delivered by the
    /// jobs runner with retries.
    async fn end_tokens(
        &self,
        work: &mut Work<'_>,
        user_id: &UserId,
        ending: Ending<'_>,
        sessions: &[SessionId],
    ) -> AppResult<()> {
        let now = self.clock.now();
        match ending {
            Ending::One(hash) => {
                store::revoke_session_tokens(work, hash, true, now).await?;
            }
            Ending::AllBut(keep) => {
                store::revoke_user_tokens(work, user_id, keep, now).await?;
            }
        }
        work.revoked();
        for hash in sessions {
            for client_id in store::clients_of_session(work, hash).await? {
                self.enqueue_backchannel_logout(work, &client_id, user_id, Some(hash))
                    .await?;
            }
        }
        Ok(())
    }

    /// Queues a back-channel logout for an app, if it registered a URI for one.
    pub(crate) async fn enqueue_backchannel_logout(
        &self,
        work: &mut Work<'_>,
        client_id: &ClientId,
        user_id: &UserId,
        session_hash: Option<&str>,
    ) -> AppResult<()> {
        let Some(client) = self.client(client_id).await? else {
            return Ok(());
        };
        if client.backchannel_logout_uri.is_none() {
            return Ok(());
        }
        let payload = serde_json::json!({
            "client_id": client.id,
            "sub": self.subject_for(&client, user_id),
            "sid": session_hash.map(|h| &h[..32.min(h.len())]),
        });
        self.enqueue_job(work, BACKCHANNEL_LOGOUT, &payload).await
    }

    /// Delivers one back-channel logout: a signed `logout+jwt` posted to the app.
    pub(crate) async fn send_backchannel_logout(
        &self,
        payload: &serde_json::Value,
    ) -> Result<(), String> {
        let client_id = payload["client_id"].as_str().unwrap_or_default();
        let client = self
            .client(client_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the app no longer exists")?;
        let uri = client
            .backchannel_logout_uri
            .clone()
            .ok_or("the app no longer takes back-channel logout")?;
        let now = self.clock.now().millis() / 1000;
        let mut claims = serde_json::json!({
            "iss": self.config.issuer(),
            "aud": client.id,
            "iat": now,
            "exp": now + 120,
            "jti": self.random.token(16),
            "sub": payload["sub"],
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
        });
        if let Some(sid) = payload["sid"].as_str() {
            claims["sid"] = sid.into();
        }
        self.ready_signer(client.id_token_alg)
            .await
            .map_err(|e| e.to_string())?;
        let token = self
            .sign_jwt_typed(&claims, client.id_token_alg, "logout+jwt")
            .await
            .map_err(|e| e.to_string())?;
        let r = self
            .http
            .post(&uri)
            .form(&[("logout_token", token)])
            .send()
            .await
            .map_err(|e| format!("{uri}: {e}"))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("{uri} answered {}", r.status()))
        }
    }
}

/// How long after a login its mark still counts as "just logged in" for the request it was
/// made for.
const FRESH_LOGIN: std::time::Duration = std::time::Duration::from_secs(300);

impl crate::core::Core {
    /// The mark that tells the authorization endpoint a login just happened for this request:
    /// a MAC of the new session, so that no one can add it to a request to skip `prompt=login`
    /// or `max_age` (security finding 14).
    pub fn fresh_login_mark(&self, session_hash: &str) -> String {
        self.key
            .sign_b64(&[b"fresh-login", session_hash.as_bytes()])
    }

    /// Whether `mark` says `cur`'s login was made for this request, within the last five
    /// minutes: then it satisfies `prompt=login` and `max_age`.
    pub fn freshly_logged_in(&self, mark: &str, cur: &crate::identity::CurrentSession) -> bool {
        crate::security::constant_time_eq(
            mark.as_bytes(),
            self.fresh_login_mark(&cur.session.id_hash).as_bytes(),
        ) && self.clock.now().since(cur.session.created_at) < FRESH_LOGIN
    }
}

impl SessionsEnded for Sso {
    fn ended<'a>(
        &'a self,
        work: &'a mut Work<'_>,
        user_id: &'a UserId,
        ending: Ending<'a>,
        sessions: &'a [SessionId],
    ) -> PortFuture<'a, AppResult<()>> {
        Box::pin(self.end_tokens(work, user_id, ending, sessions))
    }
}
