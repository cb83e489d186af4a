//! Server-side sessions: random 256-bit tokens in a cookie, their hashes in the database, so any
//! node can serve any request. Idle and absolute timeouts; revocation one by one or all at once.

use ekdwar_domain::{SessionId, UserId};
use std::time::Duration;

use ekdwar_domain::AccountStatus;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_store::Conn;
use ekdwar_store::identity::{self as users, User};
use ekdwar_store::sessions::{self as store, Session};

use super::Identity;
use crate::audit::Actor;
use crate::core::{PortFuture, Work};
use crate::error::{AppError, AppResult};
use crate::security::sha256_hex;
use crate::views::AccountView;

/// Which login sessions end.
#[derive(Debug, Clone, Copy)]
pub enum Ending<'a> {
    /// One session (log out, an app's logout request, ending a listed session): the tokens its
    /// apps were given end; grants of `offline_access` stay.
    One(&'a SessionId),
    /// Every session but `keep` (log out everywhere, a password change or reset, a lock): every
    /// token the person holds in any app ends, offline grants included.
    AllBut(Option<&'a SessionId>),
}

/// Told when portal sessions end, in the same unit of work: single sign-on ends the apps'
/// tokens given out in them and tells the apps. A port, so that accounts know nothing of apps.
pub(crate) trait SessionsEnded: Send + Sync {
    fn ended<'a>(
        &'a self,
        work: &'a mut Work<'_>,
        user_id: &'a UserId,
        ending: Ending<'a>,
        sessions: &'a [SessionId],
    ) -> PortFuture<'a, AppResult<()>>;
}

/// Ends login sessions of `user_id` in `work` (the caller's unit of work) and tells `then`
/// which ended. Returns how many portal sessions ended.
pub(crate) async fn end_sessions(
    work: &mut Work<'_>,
    user_id: &UserId,
    ending: Ending<'_>,
    now: ekdwar_domain::Timestamp,
    then: &dyn SessionsEnded,
) -> AppResult<u64> {
    let (ended, sessions) = match ending {
        Ending::One(hash) => {
            let ended = store::revoke(work, user_id, hash, now).await?;
            (u64::from(ended), vec![hash.clone()])
        }
        Ending::AllBut(keep) => {
            let sessions: Vec<SessionId> = store::active_for_user(work, user_id, now)
                .await?
                .into_iter()
                .map(|s| s.id_hash)
                .filter(|h| Some(h) != keep)
                .collect();
            let ended = store::revoke_all_except(work, user_id, keep, now).await?;
            (ended, sessions)
        }
    };
    then.ended(work, user_id, ending, &sessions).await?;
    Ok(ended)
}

/// Writes to `last_seen_at` at most this often, so browsing is not a stream of writes.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// The person behind a request.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    pub(crate) user: User,
    pub(crate) session: Session,
    /// The account, as its pages show it.
    pub account: AccountView,
}

impl Identity {
    /// Ends login sessions of `user_id` in `work`, and what was given out in them.
    pub(crate) async fn end_sessions(
        &self,
        work: &mut Work<'_>,
        user_id: &UserId,
        ending: Ending<'_>,
    ) -> AppResult<u64> {
        end_sessions(
            work,
            user_id,
            ending,
            self.clock.now(),
            self.sessions_ended.as_ref(),
        )
        .await
    }
}

impl CurrentSession {
    pub(crate) fn new(user: User, session: Session) -> Self {
        Self {
            account: AccountView::from(&user),
            user,
            session,
        }
    }

    /// Whose session it is.
    pub fn user_id(&self) -> &UserId {
        &self.user.id
    }

    /// Which session it is.
    pub fn session_id(&self) -> &SessionId {
        &self.session.id_hash
    }

    /// The session id apps receive as `sid` (in ID and logout tokens).
    pub fn sid(&self) -> &str {
        let h = self.session.id_hash.as_str();
        &h[..32.min(h.len())]
    }

    /// Whether this login showed a second factor (a code from an app, or a passkey, which
    /// verifies its user): its `amr` says `mfa`.
    pub fn showed_second_factor(&self) -> bool {
        self.session.amr.split(' ').any(|m| m == "mfa")
    }
}

impl Identity {
    /// Starts a session and returns the token for the cookie.
    pub(crate) async fn create_session(
        &self,
        conn: &mut Conn,
        user_id: &UserId,
        actor: &Actor,
        amr: &str,
    ) -> AppResult<String> {
        let token = self.random.token(32);
        let now = self.clock.now();
        let abs = Duration::from_secs(self.config.security.session_absolute_hours * 3600);
        store::insert(
            conn,
            &Session {
                id_hash: SessionId::new(sha256_hex(token.as_bytes())),
                user_id: user_id.clone(),
                created_at: now,
                last_seen_at: now,
                expires_at: now.plus(abs),
                ip: actor.ip.clone(),
                user_agent: actor
                    .user_agent
                    .as_ref()
                    .map(|u| u.chars().take(200).collect()),
                amr: amr.to_string(),
                revoked_at: None,
            },
        )
        .await?;
        // Messages follow the language the person chose last.
        if let Some(lang) = &actor.chosen_lang {
            ekdwar_store::identity::remember_language(conn, user_id, &lang.tag()).await?;
        }
        Ok(token)
    }

    /// The session for a cookie token, if it is valid now.
    pub async fn authenticate(&self, token: &str) -> AppResult<Option<CurrentSession>> {
        if token.is_empty() || token.len() > 100 {
            return Ok(None);
        }
        let hash = SessionId::new(sha256_hex(token.as_bytes()));
        let mut conn = self.store.read().await?;
        let Some(session) = store::by_hash(&mut conn, &hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let idle = Duration::from_secs(self.config.security.session_idle_minutes * 60);
        if session.revoked_at.is_some()
            || session.expires_at <= now
            || now.since(session.last_seen_at) > idle
        {
            return Ok(None);
        }
        let Some(user) = users::by_id(&mut conn, &session.user_id).await? else {
            return Ok(None);
        };
        if user.status != AccountStatus::Active {
            return Ok(None);
        }
        // Touched often enough that activity always keeps a short idle limit from running out.
        drop(conn);
        if now.since(session.last_seen_at) > TOUCH_EVERY.min(idle / 4) {
            store::touch(&mut *self.store.conn().await?, &hash, now).await?;
        }
        Ok(Some(CurrentSession::new(user, session)))
    }

    pub async fn logout(&self, cur: &CurrentSession, actor: &Actor) -> AppResult<()> {
        let mut tx = self.work().await?;
        self.end_sessions(&mut tx, &cur.user.id, Ending::One(&cur.session.id_hash))
            .await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::Logout,
            Outcome::Success,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the user, this one included.
    #[tracing::instrument(skip_all, fields(user = %cur.user.id))]
    pub async fn logout_everywhere(&self, cur: &CurrentSession, actor: &Actor) -> AppResult<u64> {
        let mut tx = self.work().await?;
        let n = self
            .end_sessions(&mut tx, &cur.user.id, Ending::AllBut(None))
            .await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::LogoutEverywhere,
            Outcome::Success,
            Some(format!("{n} sessions")),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn active_sessions(&self, user_id: &UserId) -> AppResult<Vec<Session>> {
        let mut conn = self.store.conn().await?;
        let now = self.clock.now();
        let idle = Duration::from_secs(self.config.security.session_idle_minutes * 60);
        Ok(store::active_for_user(&mut conn, user_id, now)
            .await?
            .into_iter()
            .filter(|s| now.since(s.last_seen_at) <= idle)
            .collect())
    }

    /// Ends one of the user's own sessions.
    #[tracing::instrument(skip_all, fields(user = %cur.user.id))]
    pub async fn revoke_session(
        &self,
        cur: &CurrentSession,
        id_hash: &str,
        actor: &Actor,
    ) -> AppResult<()> {
        let mut tx = self.work().await?;
        if self
            .end_sessions(&mut tx, &cur.user.id, Ending::One(&SessionId::new(id_hash)))
            .await?
            == 0
        {
            return Err(AppError::NotFound);
        }
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::SessionRevoked,
            Outcome::Success,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
