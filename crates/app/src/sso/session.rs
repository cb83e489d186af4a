//! Logging out of the portal from an app (RP-initiated logout), and the apps a person has
//! allowed ("connected apps"), which they can disconnect.

use ekdwar_domain::Timestamp;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::sso::RedirectUri;
use ekdwar_store::sso::{self as store, Client};

use crate::App;
use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::identity::CurrentSession;

/// An app the person has allowed, and what it may see.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    pub client: Client,
    pub scopes: String,
    pub granted_at: Timestamp,
}

impl App {
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
            let mut tx = self.store.begin().await?;
            let now = self.clock.now();
            for c in store::clients_of_session(&mut tx, &s.session.id_hash).await? {
                store::revoke_user_client(&mut tx, &s.user.id, &c, now).await?;
            }
            ekdwar_store::sessions::revoke(&mut tx, &s.user.id, &s.session.id_hash, now).await?;
            self.audit(
                &mut tx,
                actor,
                Some(&s.user.id),
                AuditAction::Logout,
                Outcome::Success,
                client_id.clone().map(|c| format!("from app {c}")),
            )
            .await?;
            ekdwar_store::commit(tx).await?;
        }
        let (Some(cid), Some(uri)) = (client_id, post_logout_redirect_uri) else {
            return Ok(None);
        };
        if self.post_logout_target(&cid, uri).await?.is_none() {
            return Ok(None);
        }
        let mut url = url::Url::parse(uri).map_err(|e| AppError::Internal(e.to_string()))?;
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

    pub async fn connected_apps(&self, user_id: &str) -> AppResult<Vec<ConnectedApp>> {
        let mut conn = self.store.conn().await?;
        let mut out = Vec::new();
        for (client_id, scopes, granted_at) in store::consents_of(&mut conn, user_id).await? {
            if let Some(client) = store::client(&mut conn, &client_id).await? {
                out.push(ConnectedApp {
                    client,
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
        let mut tx = self.store.begin().await?;
        if !store::delete_consent(&mut tx, &cur.user.id, client_id).await? {
            return Err(AppError::NotFound);
        }
        store::revoke_user_client(&mut tx, &cur.user.id, client_id, self.clock.now()).await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::ConsentWithdrawn,
            Outcome::Success,
            Some(client_id.to_string()),
        )
        .await?;
        ekdwar_store::commit(tx).await?;
        Ok(())
    }
}

impl App {
    /// A login session has ended: every token given out in it is revoked, and every app that
    /// took part and registered a back-channel logout URI is told (OpenID Connect Back-Channel
    /// Logout 1.0), in the background, so that a slow app cannot hold up the person.
    pub async fn end_app_sessions(&self, user_id: &str, session_hash: &str) -> AppResult<()> {
        let now = self.clock.now();
        let clients =
            store::clients_of_session(&mut *self.store.conn().await?, session_hash).await?;
        if clients.is_empty() {
            // No app took part: nothing to revoke, no write transaction.
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        for c in &clients {
            store::revoke_user_client(&mut tx, user_id, c, now).await?;
        }
        ekdwar_store::commit(tx).await?;
        for client_id in clients {
            let Some(client) = self.client(&client_id).await? else {
                continue;
            };
            let Some(uri) = client.backchannel_logout_uri.clone() else {
                continue;
            };
            let claims = serde_json::json!({
                "iss": self.config.issuer(),
                "aud": client.id,
                "iat": now.millis() / 1000,
                "exp": now.millis() / 1000 + 120,
                "jti": self.random.token(16),
                "sub": self.subject_for(&client, user_id),
                "sid": &session_hash[..32.min(session_hash.len())],
                "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            });
            self.ready_signer(&client.id_token_alg).await?;
            let token = self.sign_jwt(&claims, &client.id_token_alg).await?;
            let http = self.http.clone();
            tokio::spawn(async move {
                match http
                    .post(&uri)
                    .form(&[("logout_token", token)])
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => {
                        tracing::warn!(client = %client.id, status = %r.status(), "back-channel logout refused")
                    }
                    Err(e) => {
                        tracing::warn!(client = %client.id, error = %e, "back-channel logout failed")
                    }
                }
            });
        }
        Ok(())
    }
}
