//! Passkeys (WebAuthn, through `webauthn-rs`): a login for everyone that needs no identifier
//! and no password, and for staff a second factor in place of an authenticator app. Every
//! passkey must verify its user (a PIN, a fingerprint, the phone's screen lock), so a passkey
//! alone is two factors. A ceremony's state waits in the database and is taken once; the
//! browser's answer is checked against it, the stored credential and its signature counter.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::password::Password;
use ekdwar_domain::{AccountStatus, Timestamp, UserId};
use ekdwar_store::identity as users;
use ekdwar_store::passkeys::{self as store, Ceremony, StoredPasskey};
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::Identity;
use super::login::LoggedIn;
use super::sessions::CurrentSession;
use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::limits::throttled;
use crate::security::sha256_hex;

/// How long the browser has to answer a ceremony's challenge.
const CEREMONY_TTL: Duration = Duration::from_secs(5 * 60);
/// The most passkeys one account keeps.
pub const MAX_PASSKEYS: usize = 10;
/// The longest name of a passkey, in characters.
const MAX_NAME: usize = 60;
/// Ceremonies one address may start in an hour (each is a row until it expires).
const STARTS_PER_HOUR: i64 = 120;
/// What a passkey adds to a session's `amr` (RFC 8176): a key the person holds, unlocked by
/// them (user verification is required), so two factors.
const AMR_PASSKEY: &str = "hwk mfa";

const REGISTER: &str = "register";
const LOGIN: &str = "login";
const SECOND: &str = "second";

/// The relying party for the portal at `public_url`: its host is the passkeys' scope. `None`
/// (passkeys off) when the address has no host a browser accepts.
#[must_use]
pub(crate) fn relying_party(public_url: &str) -> Option<Arc<Webauthn>> {
    let mut origin = Url::parse(public_url).ok()?;
    // Browsers take no IP address as a passkey's scope: a portal on the loopback address
    // (the demo) offers passkeys at `localhost`, the same machine.
    if matches!(origin.host_str(), Some("127.0.0.1" | "[::1]")) {
        origin.set_host(Some("localhost")).ok()?;
    }
    let host = origin.host_str()?.to_string();
    match WebauthnBuilder::new(&host, &origin).and_then(|b| b.rp_name("Ekdwar").build()) {
        Ok(w) => Some(Arc::new(w)),
        Err(e) => {
            tracing::warn!(%public_url, error = %e, "passkeys are off: the public address is not a relying party");
            None
        }
    }
}

/// One of a person's passkeys, as their account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyView {
    /// The credential id (base64url): names the passkey to remove.
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// A ceremony started: the options for `navigator.credentials` and the token naming the
/// ceremony when the browser answers.
#[derive(Debug, Clone)]
pub struct PasskeyChallenge {
    pub ceremony: String,
    pub options: Value,
}

/// How a login's second step may be passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondStepWays {
    /// A code from an authenticator app or a recovery code.
    pub code: bool,
    pub passkey: bool,
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string().into())
}

fn refused() -> AppError {
    AppError::field("passkey", "passkey-refused")
}

impl Identity {
    /// Whether this portal offers passkeys (its public address names a host).
    pub fn passkeys_on(&self) -> bool {
        self.webauthn.is_some()
    }

    fn relying(&self) -> AppResult<&Webauthn> {
        self.webauthn
            .as_deref()
            .ok_or(AppError::field("passkey", "passkeys-unavailable"))
    }

    /// The person's passkeys, oldest first.
    pub async fn passkeys(&self, cur: &CurrentSession) -> AppResult<Vec<PasskeyView>> {
        let mut conn = self.store.read().await?;
        Ok(store::of_user(&mut conn, &cur.user.id)
            .await?
            .into_iter()
            .map(|p| PasskeyView {
                id: p.credential_id,
                name: p.name,
                created_at: p.created_at,
                last_used_at: p.last_used_at,
            })
            .collect())
    }

    /// Whether a password login of this account asks for a second step: an authenticator
    /// app, or for staff (who must show two factors) a passkey.
    pub(crate) async fn has_second_step(
        &self,
        conn: &mut ekdwar_store::Conn,
        user: &users::User,
    ) -> AppResult<bool> {
        Ok(self.has_two_step(conn, &user.id).await?
            || (user.role.requires_two_step()
                && self.passkeys_on()
                && !store::of_user(conn, &user.id).await?.is_empty()))
    }

    /// How the second step of the login holding `ticket` may be passed; `None` if the ticket
    /// is not genuine or has expired.
    pub async fn second_step_ways(&self, ticket: &str) -> AppResult<Option<SecondStepWays>> {
        let Some((user_id, _)) = self.ticket_user(ticket) else {
            return Ok(None);
        };
        let mut conn = self.store.read().await?;
        let Some(user) = users::by_id(&mut conn, &user_id).await? else {
            return Ok(None);
        };
        Ok(Some(SecondStepWays {
            code: self.has_two_step(&mut conn, &user_id).await?,
            passkey: user.role.requires_two_step()
                && self.passkeys_on()
                && !store::of_user(&mut conn, &user_id).await?.is_empty(),
        }))
    }

    /// Counts a ceremony started from this address, or refuses while its hour is used up.
    async fn count_start(&self, actor: &Actor) -> AppResult<()> {
        let now = self.clock.now();
        let key = format!("passkey:ip:{}", actor.ip.as_deref().unwrap_or("-"));
        match self
            .take_quota(&mut *self.store.conn().await?, &key, STARTS_PER_HOUR, now)
            .await?
        {
            Ok(()) => Ok(()),
            Err(until) => Err(throttled(until, now)),
        }
    }

    async fn put_ceremony(
        &self,
        purpose: &str,
        user_id: Option<&UserId>,
        detail: &str,
        state: &impl serde::Serialize,
        options: &impl serde::Serialize,
    ) -> AppResult<PasskeyChallenge> {
        let token = self.random.token(32);
        let now = self.clock.now();
        let ceremony = Ceremony {
            id_hash: sha256_hex(token.as_bytes()),
            purpose: purpose.to_string(),
            user_id: user_id.cloned(),
            detail: detail.to_string(),
            state: serde_json::to_string(state).map_err(internal)?,
            expires_at: now.plus(CEREMONY_TTL),
        };
        store::put_ceremony(&mut *self.store.conn().await?, &ceremony, now).await?;
        Ok(PasskeyChallenge {
            ceremony: token,
            options: serde_json::to_value(options).map_err(internal)?,
        })
    }

    async fn take_ceremony(&self, token: &str, purpose: &str) -> AppResult<Ceremony> {
        store::take_ceremony(
            &mut *self.store.conn().await?,
            &sha256_hex(token.as_bytes()),
            purpose,
            self.clock.now(),
        )
        .await?
        .ok_or(AppError::FlowExpired)
    }

    /// Starts adding a passkey called `name` to the account: the options for the browser.
    /// Asks for the password when the login is not recent.
    #[tracing::instrument(skip_all, fields(user = %cur.user.id))]
    pub async fn passkey_add_start(
        &self,
        cur: &CurrentSession,
        name: &str,
        password: Option<&Password>,
        actor: &Actor,
    ) -> AppResult<PasskeyChallenge> {
        let webauthn = self.relying()?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(AppError::field("name", "passkey-name-format"));
        }
        self.recent_or_password(cur, password, actor).await?;
        self.count_start(actor).await?;
        let mine = store::of_user(&mut *self.store.read().await?, &cur.user.id).await?;
        if mine.len() >= MAX_PASSKEYS {
            return Err(AppError::field("name", "passkey-too-many"));
        }
        // One user handle for all of an account's passkeys: an authenticator keeps one
        // discoverable credential per account.
        let handle = match mine.first() {
            Some(p) => Uuid::parse_str(&p.user_handle).map_err(internal)?,
            None => {
                let mut b = [0u8; 16];
                self.random.fill(&mut b);
                uuid_v4(b)
            }
        };
        let exclude = mine
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
            .collect();
        let display = format!(
            "{} {}",
            cur.user.first_name.as_str(),
            cur.user.last_name.as_str()
        );
        let (mut options, state) = webauthn
            .start_passkey_registration(
                handle,
                cur.user.portal_id.as_str(),
                display.trim(),
                Some(exclude),
            )
            .map_err(internal)?;
        // Logins start with no identifier, so the authenticator must keep the credential
        // (a discoverable credential, "resident key").
        if let Some(sel) = options.public_key.authenticator_selection.as_mut() {
            sel.require_resident_key = true;
            sel.resident_key = Some(ResidentKeyRequirement::Required);
        }
        // The ceremony keeps the handle and the name for its end.
        let detail = format!("{handle} {name}");
        self.put_ceremony(REGISTER, Some(&cur.user.id), &detail, &state, &options)
            .await
    }

    /// Ends adding a passkey with the browser's answer (`credential`, JSON). The session
    /// has shown two factors by it, as setting up an authenticator app shows them.
    #[tracing::instrument(skip_all, fields(user = %cur.user.id))]
    pub async fn passkey_add_finish(
        &self,
        cur: &CurrentSession,
        ceremony: &str,
        credential: &str,
        actor: &Actor,
    ) -> AppResult<String> {
        let webauthn = self.relying()?;
        let c = self.take_ceremony(ceremony, REGISTER).await?;
        if c.user_id.as_ref() != Some(&cur.user.id) {
            return Err(AppError::FlowExpired);
        }
        let state: PasskeyRegistration = serde_json::from_str(&c.state).map_err(internal)?;
        let answer: RegisterPublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| refused())?;
        let passkey = webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "a new passkey was refused");
                refused()
            })?;
        let now = self.clock.now();
        let (handle, name) = c
            .detail
            .split_once(' ')
            .ok_or_else(|| internal("a registration without its user handle"))?;
        let stored = StoredPasskey {
            credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id()),
            user_id: cur.user.id.clone(),
            user_handle: handle.to_string(),
            name: name.to_string(),
            credential: serde_json::to_string(&passkey).map_err(internal)?,
            created_at: now,
            last_used_at: None,
        };
        let mut tx = self.work().await?;
        if !store::insert(&mut tx, &stored).await? {
            return Err(AppError::field("passkey", "passkey-exists"));
        }
        if !cur.showed_second_factor() {
            let amr = format!("{} {AMR_PASSKEY}", cur.session.amr);
            ekdwar_store::sessions::set_amr(&mut tx, &cur.session.id_hash, &amr).await?;
        }
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::PasskeyAdded,
            Outcome::Success,
            Some(name.to_string()),
        )
        .await?;
        self.notify_owner(&mut tx, &cur.user, "passkey-added")
            .await?;
        tx.commit().await?;
        Ok(name.to_string())
    }

    /// Removes one of the person's passkeys (they are told on each contact). Staff keep at
    /// least one second factor.
    #[tracing::instrument(skip_all, fields(user = %cur.user.id))]
    pub async fn passkey_remove(
        &self,
        cur: &CurrentSession,
        id: &str,
        actor: &Actor,
    ) -> AppResult<()> {
        let mut tx = self.work().await?;
        let mine = store::of_user(&mut tx, &cur.user.id).await?;
        let Some(gone) = mine.iter().find(|p| p.credential_id == id) else {
            return Err(AppError::NotFound);
        };
        if cur.user.role.requires_two_step()
            && mine.len() == 1
            && !self.has_two_step(&mut tx, &cur.user.id).await?
        {
            return Err(AppError::field("passkey", "passkey-last-factor"));
        }
        store::remove(&mut tx, &cur.user.id, id).await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::PasskeyRemoved,
            Outcome::Success,
            Some(gone.name.clone()),
        )
        .await?;
        self.notify_owner(&mut tx, &cur.user, "passkey-removed")
            .await?;
        tx.commit().await
    }

    /// Starts a login with a passkey: with no ticket, any of the portal's passkeys the
    /// browser holds; with the ticket of a right password, one of that account's passkeys as
    /// the second step.
    pub async fn passkey_login_start(
        &self,
        ticket: Option<&str>,
        actor: &Actor,
    ) -> AppResult<PasskeyChallenge> {
        let webauthn = self.relying()?;
        self.count_start(actor).await?;
        match ticket {
            None => {
                let (mut options, state) = webauthn
                    .start_discoverable_authentication()
                    .map_err(internal)?;
                // Asked for by a button, not offered in the identifier field's suggestions.
                options.mediation = None;
                self.put_ceremony(LOGIN, None, "", &state, &options).await
            }
            Some(ticket) => {
                let (user_id, first) = self.ticket_user(ticket).ok_or(AppError::FlowExpired)?;
                let mine = store::of_user(&mut *self.store.read().await?, &user_id).await?;
                let keys: Vec<Passkey> = mine
                    .iter()
                    .filter_map(|p| serde_json::from_str(&p.credential).ok())
                    .collect();
                if keys.is_empty() {
                    return Err(AppError::FlowExpired);
                }
                let (options, state) = webauthn
                    .start_passkey_authentication(&keys)
                    .map_err(internal)?;
                self.put_ceremony(SECOND, Some(&user_id), &first, &state, &options)
                    .await
            }
        }
    }

    /// Ends a login with a passkey: the browser's answer (`credential`, JSON) to the
    /// ceremony. A second step's ceremony names its account and how the first step was passed.
    #[tracing::instrument(skip_all)]
    pub async fn passkey_login_finish(
        &self,
        ceremony: &str,
        credential: &str,
        second_step: bool,
        actor: &Actor,
    ) -> AppResult<LoggedIn> {
        let webauthn = self.relying()?;
        let purpose = if second_step { SECOND } else { LOGIN };
        let c = self.take_ceremony(ceremony, purpose).await?;
        let answer: PublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| refused())?;
        let credential_id = URL_SAFE_NO_PAD.encode(answer.get_credential_id());
        let stored = store::by_credential(&mut *self.store.read().await?, &credential_id).await?;
        let result = match (&c.user_id, stored) {
            // A second step: the account's own passkey.
            (Some(user_id), Some(p)) if &p.user_id == user_id => {
                let state: PasskeyAuthentication =
                    serde_json::from_str(&c.state).map_err(internal)?;
                webauthn
                    .finish_passkey_authentication(&answer, &state)
                    .map(|r| (p, r))
            }
            // A login: the passkey the browser chose, whose account it names.
            (None, Some(p)) => {
                let state: DiscoverableAuthentication =
                    serde_json::from_str(&c.state).map_err(internal)?;
                let key: Passkey = serde_json::from_str(&p.credential).map_err(internal)?;
                match webauthn.identify_discoverable_authentication(&answer) {
                    Ok((handle, _)) if handle.to_string() == p.user_handle => webauthn
                        .finish_discoverable_authentication_v2(&answer, state, &key)
                        .map(|r| (p, r)),
                    _ => Err(webauthn_rs::prelude::WebauthnError::InvalidUserUniqueId),
                }
            }
            _ => Err(webauthn_rs::prelude::WebauthnError::CredentialNotFound),
        };
        let now = self.clock.now();
        let (p, result) = match result {
            Ok(ok) => ok,
            Err(e) => {
                tracing::info!(error = %e, "a passkey login was refused");
                let mut tx = self.work().await?;
                self.audit(
                    &mut tx,
                    actor,
                    c.user_id.as_ref().map(UserId::as_str),
                    AuditAction::LoginFailed,
                    Outcome::Failure,
                    Some("passkey".into()),
                )
                .await?;
                tx.commit().await?;
                self.metrics.login("failure");
                return Err(refused());
            }
        };
        let mut key: Passkey = serde_json::from_str(&p.credential).map_err(internal)?;
        key.update_credential(&result);
        let after = serde_json::to_string(&key).map_err(internal)?;
        let mut tx = self.work().await?;
        let user = users::by_id(&mut tx, &p.user_id)
            .await?
            .ok_or_else(refused)?;
        if user.status != AccountStatus::Active {
            self.audit(
                &mut tx,
                actor,
                Some(&user.id),
                AuditAction::LoginFailed,
                Outcome::Denied,
                Some("account locked".into()),
            )
            .await?;
            tx.commit().await?;
            self.metrics.login("denied");
            return Err(AppError::AccountLocked);
        }
        // Over the state read: of two answers racing with one signature count, one passes.
        if !store::record_use(&mut tx, &p.credential_id, &p.credential, &after, now).await? {
            return Err(refused());
        }
        let amr = match &c.user_id {
            Some(_) => format!("{} {AMR_PASSKEY}", c.detail),
            None => AMR_PASSKEY.to_string(),
        };
        let token = self.create_session(&mut tx, &user.id, actor, &amr).await?;
        self.audit(
            &mut tx,
            actor,
            Some(&user.id),
            AuditAction::LoginSucceeded,
            Outcome::Success,
            Some(if second_step {
                "second step: passkey".into()
            } else {
                "passkey".into()
            }),
        )
        .await?;
        tx.commit().await?;
        super::login::forgive(&mut *self.store.conn().await?, &user).await?;
        self.metrics.login("success");
        let password_expired = c.detail == "pwd" && self.password_expired(&user, now);
        Ok(LoggedIn {
            token,
            user,
            password_expired,
        })
    }
}

/// A version 4 UUID from 16 random bytes.
fn uuid_v4(mut b: [u8; 16]) -> Uuid {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_public_host_and_loopback_is_localhost() {
        assert!(relying_party("https://sso.rajasthan.gov.in").is_some());
        assert!(relying_party("http://127.0.0.1:8080").is_some());
        assert!(relying_party("http://[::1]:8080").is_some());
        assert!(relying_party("not a url").is_none());
    }
}
