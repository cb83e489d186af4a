//! Two-step login: after the password, a code from an authenticator app (RFC 6238) or one of
//! ten recovery codes. Required for administrators, offered to everyone. Codes are single-use
//! (the last accepted time step is stored and only later ones pass, by one conditional
//! `UPDATE`), guesses are limited per account, and the secret is stored wrapped.

use ekdwar_domain::UserId;
use std::time::Duration;

use ekdwar_domain::AccountStatus;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::otp::OtpCode;
use ekdwar_domain::password::Password;
use ekdwar_domain::throttle::ThrottlePolicy;
use ekdwar_domain::totp::{RECOVERY_CODES, RecoveryCode, SECRET_BYTES, TotpSecret};
use ekdwar_store::identity as users;
use ekdwar_store::second_factor::{self as store, TotpFactor};

use super::Identity;
use super::login::LoggedIn;
use super::sessions::CurrentSession;
use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::limits::throttled;

/// The keystream purpose authenticator secrets are wrapped under.
const TOTP_SECRET: &[u8] = b"totp-secret";
/// How long the second step may follow the password.
const TICKET_TTL: Duration = Duration::from_secs(10 * 60);
/// A secret shown for setting up stays the same on reloads for this long.
const SETUP_TTL: Duration = Duration::from_secs(15 * 60);
/// What a second step adds to a session's `amr` (RFC 8176).
const AMR_SECOND: &str = "otp mfa";

/// What the setup page shows: the secret as a QR code's address and as a key to type.
#[derive(Debug, Clone)]
pub struct TwoStepSetup {
    pub secret: TotpSecret,
    pub uri: String,
}

/// Whether an account has two-step login, and how many recovery codes remain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwoStepStatus {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// The account cannot turn it off (administrators).
    pub required: bool,
}

/// Proof that the password was right, carried (signed) to the page that asks for the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondStep {
    pub ticket: String,
}

/// Where a password login stands.
#[derive(Debug)]
pub enum Authenticated {
    /// Logged in.
    Session(Box<LoggedIn>),
    /// The password was right; the account also wants a code.
    SecondStep(SecondStep),
}

impl Authenticated {
    /// The session, for callers that know the account has no second step.
    pub fn session(self) -> Option<LoggedIn> {
        match self {
            Self::Session(s) => Some(*s),
            Self::SecondStep(_) => None,
        }
    }
}

impl Identity {
    fn two_step_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            challenge_after: i64::MAX,
            free_failures: 5,
            max_failures_per_hour: 20,
            ..ThrottlePolicy::default()
        }
    }

    fn secret_of(&self, f: &TotpFactor) -> AppResult<TotpSecret> {
        self.key
            .unwrap(TOTP_SECRET, &f.wrap_id, &f.secret_wrapped)
            .map(TotpSecret::from_bytes)
            .ok_or_else(|| AppError::Internal("an authenticator secret is not hex".into()))
    }

    /// The signed ticket for the second step of `user_id`'s login, whose first step was
    /// `first` (`pwd` or `fed`, as in `amr`).
    pub(crate) fn second_step_ticket(&self, user_id: &str, first: &str) -> SecondStep {
        let expires = self.clock.now().plus(TICKET_TTL).millis().to_string();
        let mac = self.key.sign_b64(&[
            b"second-step",
            user_id.as_bytes(),
            first.as_bytes(),
            expires.as_bytes(),
        ]);
        SecondStep {
            ticket: format!("{user_id}.{first}.{expires}.{mac}"),
        }
    }

    /// The account a ticket is for and how its first step was passed, if the ticket is
    /// genuine and not expired.
    pub(super) fn ticket_user(&self, ticket: &str) -> Option<(UserId, String)> {
        let mut parts = ticket.splitn(4, '.');
        let (user_id, first, expires, mac) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let ok = self.key.verify_b64(
            &[
                b"second-step",
                user_id.as_bytes(),
                first.as_bytes(),
                expires.as_bytes(),
            ],
            mac,
        ) && expires.parse::<i64>().ok()? > self.clock.now().millis();
        ok.then(|| (UserId::new(user_id), first.to_string()))
    }

    /// Whether an account logs in with a second step.
    pub(crate) async fn has_two_step(
        &self,
        conn: &mut ekdwar_store::Conn,
        user_id: &UserId,
    ) -> AppResult<bool> {
        Ok(store::totp(conn, user_id)
            .await?
            .is_some_and(|f| f.confirmed_at.is_some()))
    }

    pub async fn two_step_status(&self, cur: &CurrentSession) -> AppResult<TwoStepStatus> {
        let mut conn = self.store.conn().await?;
        let enabled = self.has_two_step(&mut conn, &cur.user.id).await?;
        Ok(TwoStepStatus {
            enabled,
            recovery_codes_left: if enabled {
                store::recovery_codes_left(&mut conn, &cur.user.id).await?
            } else {
                0
            },
            required: cur.user.role.requires_two_step(),
        })
    }

    /// Whether the session must set up two-step login before anything else: administrators
    /// whose session did not pass a second step.
    pub fn must_set_up_two_step(&self, cur: &CurrentSession) -> bool {
        cur.user.role.requires_two_step() && !cur.showed_second_factor()
    }

    /// The secret to add to an authenticator app: the one being set up if it is recent, else a
    /// new one. `None` if two-step login is on already.
    pub async fn two_step_setup(&self, cur: &CurrentSession) -> AppResult<Option<TwoStepSetup>> {
        let now = self.clock.now();
        let mut conn = self.store.conn().await?;
        let secret = match store::totp(&mut conn, &cur.user.id).await? {
            Some(f) if f.confirmed_at.is_some() => return Ok(None),
            Some(f) if now.since(f.created_at) < SETUP_TTL => self.secret_of(&f)?,
            _ => {
                let mut bytes = vec![0u8; SECRET_BYTES];
                self.random.fill(&mut bytes);
                let wrap_id = self.random.id();
                let factor = TotpFactor {
                    user_id: cur.user.id.clone(),
                    secret_wrapped: self.key.wrap(TOTP_SECRET, &wrap_id, &bytes),
                    wrap_id,
                    created_at: now,
                    confirmed_at: None,
                    last_step: 0,
                };
                if !store::put_pending(&mut conn, &factor).await? {
                    return Ok(None);
                }
                TotpSecret::from_bytes(bytes)
            }
        };
        // The app lists the account under the portal's name and host, so that people with
        // accounts on two portals (a state's and the nation's) tell them apart.
        let host = url::Url::parse(&self.config.public_url())
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let issuer = format!("Ekdwar {host}");
        let uri = secret.uri(issuer.trim(), cur.user.portal_id.as_str());
        Ok(Some(TwoStepSetup { secret, uri }))
    }

    /// Turns two-step login on with the first code from the app; the recovery codes to show
    /// once. Asks for the password when the login is not recent.
    #[tracing::instrument(skip_all, fields(user = %cur.user.id))]
    pub async fn two_step_enable(
        &self,
        cur: &CurrentSession,
        code: &str,
        password: Option<&Password>,
        actor: &Actor,
    ) -> AppResult<Vec<RecoveryCode>> {
        self.recent_or_password(cur, password, actor).await?;
        let code = OtpCode::parse(code).map_err(|_| AppError::field("code", "otp-format"))?;
        let now = self.clock.now();
        let factor = match store::totp(&mut *self.store.read().await?, &cur.user.id).await? {
            Some(f) if f.confirmed_at.is_none() => f,
            _ => return Err(AppError::FlowExpired),
        };
        self.count_two_step_try(&cur.user.id).await?;
        let step = self
            .secret_of(&factor)?
            .matching_step(&code, now.millis() / 1000);
        let mut tx = self.work().await?;
        let taken = match step {
            Some(step) => {
                store::take_step(&mut tx, &cur.user.id, &factor.wrap_id, step, Some(now)).await?
            }
            None => false,
        };
        if !taken {
            drop(tx);
            return Err(AppError::field("code", "two-step-code-wrong"));
        }
        let codes = self.new_recovery_codes(&mut tx, &cur.user.id).await?;
        // This session has just shown the second factor.
        let amr = format!("{} {AMR_SECOND}", cur.session.amr);
        ekdwar_store::sessions::set_amr(&mut tx, &cur.session.id_hash, &amr).await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::TwoStepEnabled,
            Outcome::Success,
            None,
        )
        .await?;
        self.notify_owner(&mut tx, &cur.user, "two-step-on").await?;
        tx.commit().await?;
        ekdwar_store::throttle::clear(&mut *self.store.conn().await?, &two_step_key(&cur.user.id))
            .await?;
        Ok(codes)
    }

    /// Turns two-step login off (not for administrators); needs the password.
    #[tracing::instrument(skip_all, fields(user = %cur.user.id))]
    pub async fn two_step_disable(
        &self,
        cur: &CurrentSession,
        password: &Password,
        actor: &Actor,
    ) -> AppResult<()> {
        if cur.user.role.requires_two_step() {
            return Err(AppError::field("current", "two-step-required"));
        }
        self.confirm_password(cur, password, "current", actor)
            .await?;
        let mut tx = self.work().await?;
        store::remove(&mut tx, &cur.user.id).await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::TwoStepDisabled,
            Outcome::Success,
            None,
        )
        .await?;
        self.notify_owner(&mut tx, &cur.user, "two-step-off")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ten new recovery codes in place of the old ones; needs the password.
    pub async fn two_step_new_codes(
        &self,
        cur: &CurrentSession,
        password: &Password,
        actor: &Actor,
    ) -> AppResult<Vec<RecoveryCode>> {
        self.confirm_password(cur, password, "current", actor)
            .await?;
        let mut tx = self.work().await?;
        if !self.has_two_step(&mut tx, &cur.user.id).await? {
            return Err(AppError::FlowExpired);
        }
        let codes = self.new_recovery_codes(&mut tx, &cur.user.id).await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::RecoveryCodesRenewed,
            Outcome::Success,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// The second step of a login: a code from the app, or a recovery code (used up).
    #[tracing::instrument(skip_all)]
    pub async fn login_second_step(
        &self,
        ticket: &str,
        typed: &str,
        actor: &Actor,
    ) -> AppResult<LoggedIn> {
        let (user_id, first) = self.ticket_user(ticket).ok_or(AppError::FlowExpired)?;
        let now = self.clock.now();
        let mut conn = self.store.read().await?;
        let Some(user) = users::by_id(&mut conn, &user_id).await? else {
            return Err(AppError::FlowExpired);
        };
        if user.status != AccountStatus::Active {
            return Err(AppError::AccountLocked);
        }
        let Some(factor) = store::totp(&mut conn, &user_id)
            .await?
            .filter(|f| f.confirmed_at.is_some())
        else {
            return Err(AppError::FlowExpired);
        };
        let typed = match (OtpCode::parse(typed), RecoveryCode::parse(typed)) {
            (Ok(code), _) => Typed::App(code),
            (Err(_), Some(code)) => Typed::Recovery(code),
            (Err(_), None) => return Err(AppError::field("code", "two-step-code-format")),
        };
        drop(conn);
        self.count_two_step_try(&user_id).await?;
        let mut tx = self.work().await?;
        let used = match &typed {
            Typed::App(code) => match self
                .secret_of(&factor)?
                .matching_step(code, now.millis() / 1000)
            {
                Some(step) => {
                    store::take_step(&mut tx, &user_id, &factor.wrap_id, step, None).await?
                }
                None => false,
            },
            Typed::Recovery(code) => {
                let hash = self.recovery_code_hash(&user_id, code);
                store::use_recovery_code(&mut tx, &user_id, &hash, now).await?
            }
        };
        if !used {
            self.audit(
                &mut tx,
                actor,
                Some(&user_id),
                AuditAction::TwoStepFailed,
                Outcome::Failure,
                None,
            )
            .await?;
            tx.commit().await?;
            self.metrics.login("failure");
            return Err(AppError::field("code", "two-step-code-wrong"));
        }
        let token = self
            .create_session(&mut tx, &user_id, actor, &format!("{first} {AMR_SECOND}"))
            .await?;
        self.audit(
            &mut tx,
            actor,
            Some(&user_id),
            AuditAction::LoginSucceeded,
            Outcome::Success,
            Some(format!("second step: {} code", typed.kind())),
        )
        .await?;
        tx.commit().await?;
        ekdwar_store::throttle::clear(&mut *self.store.conn().await?, &two_step_key(&user_id))
            .await?;
        self.metrics.login("success");
        let password_expired = first == "pwd" && self.password_expired(&user, now);
        Ok(LoggedIn {
            token,
            user,
            password_expired,
        })
    }

    /// Counts one try at a code of `user_id`, or refuses while the account waits.
    async fn count_two_step_try(&self, user_id: &str) -> AppResult<()> {
        let now = self.clock.now();
        let policy = self.two_step_throttle();
        match self
            .count_failure(
                &mut *self.store.conn().await?,
                &two_step_key(user_id),
                &policy,
                now,
            )
            .await?
        {
            Ok(_) => Ok(()),
            Err(until) => Err(throttled(until, now)),
        }
    }

    fn recovery_code_hash(&self, user_id: &str, code: &RecoveryCode) -> String {
        hex::encode(self.key.sign(&[
            b"recovery-code",
            user_id.as_bytes(),
            code.canonical().as_bytes(),
        ]))
    }

    async fn new_recovery_codes(
        &self,
        conn: &mut ekdwar_store::Conn,
        user_id: &UserId,
    ) -> AppResult<Vec<RecoveryCode>> {
        let codes: Vec<RecoveryCode> = (0..RECOVERY_CODES)
            .map(|_| RecoveryCode::from_random(|n| self.random.below(n)))
            .collect();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| self.recovery_code_hash(user_id, c))
            .collect();
        store::replace_recovery_codes(conn, user_id, &hashes, self.clock.now()).await?;
        Ok(codes)
    }
}

fn two_step_key(user_id: &str) -> String {
    format!("two-step:{user_id}")
}

/// What was typed at the second step.
enum Typed {
    App(OtpCode),
    Recovery(RecoveryCode),
}

impl Typed {
    /// For the audit log.
    fn kind(&self) -> &'static str {
        match self {
            Self::App(_) => "app",
            Self::Recovery(_) => "recovery",
        }
    }
}
