//! Password login with brute-force protection and no way to tell "no such account" from
//! "wrong password": same message, and the same argon2 work in both cases.

use std::time::Duration;

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::national_id::NationalId;
use ekdwar_domain::password::Password;
use ekdwar_domain::throttle::{Counter, ThrottlePolicy, Verdict};
use ekdwar_domain::{AccountStatus, LoginIdentifier, Role, Timestamp};
use ekdwar_store::identifiers;
use ekdwar_store::identity::{self as users, User};
use ekdwar_store::throttle;

use super::Identity;
use super::two_step::Authenticated;
use crate::audit::Actor;
use crate::captcha::ChallengeAnswer;
use crate::error::{AppError, AppResult};
use crate::limits::throttled;

pub struct LoginInput {
    pub identifier: String,
    pub password: Password,
    /// Present when the form carried a challenge.
    pub challenge: Option<ChallengeAnswer>,
}

#[derive(Debug)]
pub struct LoggedIn {
    pub token: String,
    pub user: User,
    /// The policy's expiry has passed: the user must choose a new password now.
    pub password_expired: bool,
}

struct Key {
    name: String,
    policy: ThrottlePolicy,
    before: Option<Counter>,
}

fn locked_until(verdicts: &[Verdict]) -> Option<Timestamp> {
    verdicts
        .iter()
        .filter_map(|v| match v {
            Verdict::Locked(t) => Some(*t),
            _ => None,
        })
        .max()
}

/// The throttle key for logins with one identifier.
fn login_key(id: &LoginIdentifier) -> String {
    format!("login:id:{}", id.key())
}

/// The throttle keys of every identifier an account logs in with (portal ID, phone, e-mail).
pub(crate) fn login_keys_of(user: &User) -> Vec<String> {
    let mut ids = vec![LoginIdentifier::PortalId(user.portal_id.clone())];
    ids.extend(user.phone.clone().map(LoginIdentifier::Phone));
    ids.extend(user.email.clone().map(LoginIdentifier::Email));
    ids.iter().map(login_key).collect()
}

/// Forgives the failed logins counted on all of an account's identifiers.
pub(crate) async fn forgive(conn: &mut ekdwar_store::Conn, user: &User) -> AppResult<()> {
    for key in login_keys_of(user) {
        throttle::clear(conn, &key).await?;
    }
    Ok(())
}

impl Identity {
    /// The national identifiers people may log in with, besides phone, e-mail and portal ID.
    pub fn login_kinds(&self) -> &[ekdwar_domain::national_id::IdKind] {
        &self.login_kinds
    }

    /// Every national identifier the country profiles ask for: a confirmed one finds its
    /// account for a forgotten portal ID or a password reset.
    pub fn id_kinds(&self) -> &[ekdwar_domain::national_id::IdKind] {
        &self.id_kinds
    }

    /// The account (if the identifier names one) and the counters a login from `actor` with
    /// `identifier` is judged by: the account's (or the unknown identifier's) and the address's.
    async fn login_keys(
        &self,
        identifier_raw: &str,
        actor: &Actor,
    ) -> AppResult<(Option<User>, Vec<Key>)> {
        let identifier =
            LoginIdentifier::parse(identifier_raw, &self.regions_for(actor.lang.as_ref())).ok();
        let mut conn = self.store.conn().await?;
        // A national identifier the deployment logs in with (SNILS) is looked up by its blind
        // index and counted under it: neither the number nor whether it has an account is
        // written anywhere. A number that is also a phone, and no one's, counts as the phone.
        let national = self
            .login_kinds
            .iter()
            .find_map(|k| NationalId::parse(*k, identifier_raw).ok())
            .map(|id| {
                let blind = self.vault.blind(id.kind().as_str(), id.as_str());
                (format!("login:id:{}:{blind}", id.kind()), blind)
            });
        let by_national = match &national {
            Some((_, blind)) => match identifiers::holder(&mut conn, blind).await? {
                Some(holder) => users::by_id(&mut conn, &holder).await?,
                None => None,
            },
            None => None,
        };
        let (user, account_key) = match (by_national, &national, &identifier) {
            (Some(user), Some((key, _)), _) => (Some(user), key.clone()),
            // Counted by the identifier as typed, known or not: a lock-out on an account's
            // phone says nothing about its portal ID (security finding 10).
            (_, _, Some(id)) => (users::by_identifier(&mut conn, id).await?, login_key(id)),
            (_, Some((key, _)), None) => (None, key.clone()),
            (_, None, None) => (
                None,
                format!("login:id:{}", identifier_raw.trim().to_lowercase()),
            ),
        };
        let mut keys = vec![Key {
            before: throttle::get(&mut conn, &account_key).await?,
            name: account_key,
            policy: self.account_throttle(),
        }];
        if let Some(ip) = &actor.ip {
            let name = format!("login:ip:{}", crate::security::address_key(ip));
            keys.push(Key {
                before: throttle::get(&mut conn, &name).await?,
                name,
                policy: self.address_throttle(),
            });
        }
        Ok((user, keys))
    }

    /// Whether the next login with `identifier` from `actor` must carry a challenge, so that
    /// the login page shows one before the attempt instead of refusing it.
    /// Without an identifier only the address counts.
    pub async fn login_challenge_needed(
        &self,
        identifier: Option<&str>,
        actor: &Actor,
    ) -> AppResult<bool> {
        let (_, keys) = self.login_keys(identifier.unwrap_or(""), actor).await?;
        let now = self.clock.now();
        let skip = usize::from(identifier.is_none());
        Ok(keys
            .iter()
            .skip(skip)
            .any(|k| k.policy.verdict(k.before, now) != Verdict::Allow))
    }

    /// Checks the password; logs in, or, for an account with two-step login, hands out the
    /// ticket for the second step.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, input: LoginInput, actor: &Actor) -> AppResult<Authenticated> {
        let now = self.clock.now();
        let (user, keys) = self.login_keys(&input.identifier, actor).await?;

        let verdicts: Vec<Verdict> = keys
            .iter()
            .map(|k| k.policy.verdict(k.before, now))
            .collect();
        if let Some(until) = locked_until(&verdicts) {
            self.metrics.login("throttled");
            return Err(throttled(until, now));
        }
        let challenged = verdicts.contains(&Verdict::Challenge);
        if challenged {
            match &input.challenge {
                Some(answer) if !answer.token.is_empty() => self.check_challenge(answer).await?,
                _ => return Err(AppError::CaptchaRequired),
            }
        }

        // Every attempt is counted as a failure before the password is checked, each key by a
        // compare-and-swap: concurrent attempts each take their own place in the count, so
        // none slips past a limit while another is being hashed. A success gives it back.
        let charges = self.charge_attempt(&keys, challenged, now).await?;

        let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let check = self.hashing.check(&input.password, stored).await;
        let ok = check != crate::security::Check::Wrong;
        let mut tx = self.work().await?;
        match user {
            Some(user) if ok => {
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
                if check == crate::security::Check::RightButOldForm {
                    // Hashed before passwords were normalised: hash the NFKC form now, so the
                    // password keeps working whichever way it is typed.
                    let hash = self.hashing.hash(&input.password).await?;
                    users::set_password_hash(&mut tx, &user.id, &hash).await?;
                }
                if self.has_second_step(&mut tx, &user).await? {
                    tx.commit().await?;
                    self.forgive_login(&user, &keys).await?;
                    return Ok(Authenticated::SecondStep(
                        self.second_step_ticket(&user.id, "pwd"),
                    ));
                }
                let token = self.create_session(&mut tx, &user.id, actor, "pwd").await?;
                self.audit(
                    &mut tx,
                    actor,
                    Some(&user.id),
                    AuditAction::LoginSucceeded,
                    Outcome::Success,
                    None,
                )
                .await?;
                tx.commit().await?;
                self.forgive_login(&user, &keys).await?;
                self.metrics.login("success");
                let password_expired = self.password_expired(&user, now);
                Ok(Authenticated::Session(Box::new(LoggedIn {
                    token,
                    user,
                    password_expired,
                })))
            }
            user => {
                let subject = user.as_ref().map(|u| u.id.as_str());
                for (k, (before, after)) in keys.iter().zip(&charges) {
                    if k.policy.starts_lockout(*before, after, now) {
                        self.metrics.lockouts.inc();
                        tracing::warn!(key = %k.name, until = after.locked_until.millis(), "login back-off started");
                        self.audit(
                            &mut tx,
                            actor,
                            subject,
                            AuditAction::Lockout,
                            Outcome::Denied,
                            Some(k.name.clone()),
                        )
                        .await?;
                    }
                }
                self.audit(
                    &mut tx,
                    actor,
                    subject,
                    AuditAction::LoginFailed,
                    Outcome::Failure,
                    None,
                )
                .await?;
                tx.commit().await?;
                self.metrics.login("failure");
                Err(AppError::InvalidCredentials)
            }
        }
    }

    /// After the right password: the account's failures are forgiven; the address keeps its
    /// others.
    async fn forgive_login(&self, user: &User, keys: &[Key]) -> AppResult<()> {
        let mut conn = self.store.conn().await?;
        forgive(&mut conn, user).await?;
        for k in &keys[1..] {
            self.give_back(&mut conn, &k.name).await?;
        }
        Ok(())
    }

    /// Counts one failed attempt on every key, refusing (and counting nothing) if, by the time
    /// the count is taken, a key is locked or wants a challenge this attempt did not solve.
    async fn charge_attempt(
        &self,
        keys: &[Key],
        challenged: bool,
        now: Timestamp,
    ) -> AppResult<Vec<(Option<Counter>, Counter)>> {
        let mut conn = self.store.conn().await?;
        let mut charged = Vec::new();
        let mut refusal = None;
        for k in keys {
            let (before, after) = throttle::modify(&mut conn, &k.name, |c| {
                match k.policy.verdict(c, now) {
                    Verdict::Locked(until) => refusal = Some(throttled(until, now)),
                    Verdict::Challenge if !challenged => refusal = Some(AppError::CaptchaRequired),
                    _ => return Some(k.policy.after_failure(c, now)),
                }
                None
            })
            .await?;
            match after {
                Some(after) => charged.push((before, after)),
                None => break,
            }
        }
        if let Some(refusal) = refusal {
            // Give back what this attempt counted on the keys before the refusing one.
            for (k, _) in keys.iter().zip(&charged) {
                self.give_back(&mut conn, &k.name).await?;
            }
            self.metrics.login("throttled");
            return Err(refusal);
        }
        Ok(charged)
    }

    /// Whether the password of the session's account has expired (where the deployment
    /// sets an expiry).
    pub fn session_password_expired(&self, cur: &super::CurrentSession, now: Timestamp) -> bool {
        self.password_expired(&cur.user, now)
    }

    pub(crate) fn password_expired(&self, user: &User, now: Timestamp) -> bool {
        self.config
            .password
            .expiry_days_for(user.role == Role::Admin)
            .is_some_and(|days| {
                now.since(user.password_changed_at) > Duration::from_secs(u64::from(days) * 86_400)
            })
    }
}
