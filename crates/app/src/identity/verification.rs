//! The one-time secrets behind registration, recovery and contact changes: a six-digit code by
//! SMS or a link by e-mail. Secrets are stored as keyed hashes, expire, are single-use and allow
//! a few wrong attempts. A "decoy" verification is created when the contact must not learn
//! anything (an address already registered, an unknown account): it looks the same to the
//! visitor but its secret was never sent, so it can never succeed.

use ekdwar_domain::UserId;
use std::time::Duration;

use ekdwar_domain::otp::OtpCode;
use ekdwar_domain::{Channel, Contact, Recipient};
use ekdwar_store::Conn;
use ekdwar_store::verifications::{self as store, Verification};

use super::Identity;
use crate::audit::Actor;
use crate::core::Work;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::outbox::Outgoing;

/// Time allowed to finish the next step once the secret is proven.
const AFTER_VERIFIED: Duration = Duration::from_secs(30 * 60);

pub use ekdwar_domain::identity::Purpose;

/// The message template family (`register` → `sms-register`, `email-register-body`).
fn message_kind(p: Purpose) -> &'static str {
    match p {
        // An Aadhaar sign-up's code comes from the registry; nothing of ours is sent.
        Purpose::Register | Purpose::Aadhaar => "register",
        Purpose::Recover => "recover",
        Purpose::Contact => "contact-verify",
    }
}

/// The path of the page a link in an e-mail opens.
fn link_path(p: Purpose) -> &'static str {
    match p {
        Purpose::Register | Purpose::Aadhaar => "/register/confirm",
        Purpose::Recover => "/recover/confirm",
        Purpose::Contact => "/account/contact/confirm",
    }
}

/// What a page may show about a flow in progress.
#[derive(Debug, Clone)]
pub struct FlowInfo {
    pub channel: Channel,
    pub masked_contact: String,
    pub verified: bool,
    pub resend_in_secs: u64,
}

pub(crate) struct NewVerification<'a> {
    pub purpose: Purpose,
    pub user_id: Option<&'a UserId>,
    pub to: &'a Recipient,
    pub payload: serde_json::Value,
    pub lang: &'a Lang,
    /// False for a decoy.
    pub deliver: bool,
}

impl Identity {
    fn secret_hash(&self, id: &str, secret: &str) -> String {
        self.key
            .sign_b64(&[b"verification", id.as_bytes(), secret.as_bytes()])
    }

    fn ttl(&self, channel: Channel) -> Duration {
        match channel {
            Channel::Sms => Duration::from_secs(self.config.security.otp_ttl_minutes * 60),
            Channel::Email => Duration::from_secs(self.config.security.email_link_ttl_hours * 3600),
        }
    }

    /// Refuses when too many messages went to this contact recently, else counts this one.
    pub(crate) async fn count_send(
        &self,
        conn: &mut Conn,
        to: &Recipient,
        actor: &Actor,
    ) -> AppResult<()> {
        let now = self.clock.now();
        let s = &self.config.security;
        // Per contact (against bombing one person), per address, per number range and in all
        // (against SMS pumping, which costs the government money): each taken by
        // compare-and-swap, so concurrency cannot pass a limit.
        let key = format!("send:{}", to.stored());
        if let Err(until) = self
            .count_failure(conn, &key, &self.send_throttle(), now)
            .await?
        {
            return Err(self.send_limited("number", until, now));
        }
        let mut quotas = Vec::new();
        if let Some(ip) = &actor.ip {
            quotas.push((
                "address",
                format!("send:ip:{}", crate::security::address_key(ip)),
                s.messages_per_address_per_hour,
            ));
        }
        if to.channel() == Channel::Sms {
            // A decoy counts on a range of its own: the same writes as a real number, and no
            // limit that only unknown accounts would reach.
            let range: String = match to {
                Recipient::Contact(c) => c.as_str().chars().take(7).collect(),
                Recipient::Decoy { .. } => to.stored(),
            };
            quotas.push((
                "range",
                format!("send:range:{range}"),
                s.sms_per_number_range_per_hour,
            ));
            quotas.push(("all", "send:sms".to_string(), s.sms_per_hour));
        }
        for (limit, key, per_hour) in quotas {
            if let Err(until) = self.take_quota(conn, &key, per_hour, now).await? {
                return Err(self.send_limited(limit, until, now));
            }
        }
        Ok(())
    }

    /// The refusal when a sending limit is reached, counted and logged: the portal-wide
    /// ceiling as an alert, since it means SMS pumping or a flood of real demand.
    fn send_limited(
        &self,
        limit: &str,
        until: ekdwar_domain::Timestamp,
        now: ekdwar_domain::Timestamp,
    ) -> AppError {
        self.metrics
            .sends_limited
            .get_or_create(&crate::metrics::OutcomeLabels {
                outcome: limit.into(),
            })
            .inc();
        if limit == "all" {
            tracing::error!(
                alert = true,
                limit,
                "the portal-wide SMS ceiling is reached: SMS waits until the hour ends"
            );
        } else {
            tracing::warn!(limit, "message refused by a sending limit");
        }
        crate::limits::throttled(until, now)
    }

    /// Creates a verification and (unless a decoy) queues its message, on `conn`.
    pub(crate) async fn start_verification(
        &self,
        work: &mut Work<'_>,
        v: NewVerification<'_>,
    ) -> AppResult<String> {
        let now = self.clock.now();
        let channel = v.to.channel();
        let id = self.random.id();
        let secret = self.new_secret(channel);
        let ttl = self.ttl(channel);
        store::insert(
            work,
            &Verification {
                id: id.clone(),
                purpose: v.purpose,
                user_id: v.user_id.cloned(),
                channel,
                contact: v.to.stored(),
                secret_hash: self.secret_hash(&id, &secret),
                payload: v.payload.to_string(),
                attempts: 0,
                max_attempts: self.config.security.otp_max_attempts,
                created_at: now,
                expires_at: now.plus(ttl),
                resend_after: now.plus(Duration::from_secs(
                    self.config.security.resend_cooldown_seconds,
                )),
                verified_at: None,
                consumed_at: None,
            },
        )
        .await?;
        match (v.deliver, v.to.contact()) {
            (true, Some(contact)) => {
                self.send_secret(work, v.purpose, &id, &secret, contact, v.lang)
                    .await?;
            }
            // Recovery for an unknown account writes what a known one would (security finding
            // 15); registration on a known contact writes the owner's warning instead.
            _ if v.purpose == Purpose::Recover => self.enqueue_decoy(work, channel).await?,
            _ => {}
        }
        Ok(id)
    }

    fn new_secret(&self, channel: Channel) -> String {
        match channel {
            Channel::Sms => OtpCode::from_random(|| self.random.next_u32())
                .as_str()
                .to_string(),
            Channel::Email => self.random.token(32),
        }
    }

    async fn send_secret(
        &self,
        work: &mut Work<'_>,
        purpose: Purpose,
        id: &str,
        secret: &str,
        contact: &Contact,
        lang: &Lang,
    ) -> AppResult<()> {
        let channel = contact.channel();
        let link = format!(
            "{}{}?flow={id}&token={secret}",
            self.config.public_url(),
            link_path(purpose)
        );
        self.enqueue(
            work,
            Outgoing {
                kind: message_kind(purpose),
                to: contact,
                lang,
                args: vec![
                    ("code", secret.to_string()),
                    ("link", link),
                    ("minutes", self.config.security.otp_ttl_minutes.to_string()),
                    (
                        "hours",
                        self.config.security.email_link_ttl_hours.to_string(),
                    ),
                ],
            },
        )
        .await?;
        self.metrics.otp_sent(channel.as_str());
        Ok(())
    }

    /// A live flow of the given purpose, or `FlowExpired`.
    pub(crate) async fn live_flow(
        &self,
        conn: &mut Conn,
        id: &str,
        purpose: Purpose,
    ) -> AppResult<Verification> {
        let v = store::by_id(conn, id).await?.ok_or(AppError::FlowExpired)?;
        let now = self.clock.now();
        let alive = match v.verified_at {
            Some(at) => now < at.plus(AFTER_VERIFIED),
            None => now < v.expires_at,
        };
        if v.purpose != purpose || v.consumed_at.is_some() || !alive {
            return Err(AppError::FlowExpired);
        }
        Ok(v)
    }

    /// Checks a code typed into the page: six digits whatever the channel, so that a flow whose
    /// secret went by e-mail (a link) answers a typed code exactly as one that went by SMS, or
    /// a decoy, does.
    pub async fn verify_code(
        &self,
        flow: &str,
        purpose: Purpose,
        typed: &str,
    ) -> AppResult<Verification> {
        let code = OtpCode::parse(typed)
            .map_err(|e| AppError::Form(vec![crate::error::FieldError::from_code("code", &e)]))?;
        self.verify_secret(flow, purpose, code.as_str()).await
    }

    /// Checks a typed code or a link's token. A wrong secret uses up one attempt.
    pub async fn verify_secret(
        &self,
        flow: &str,
        purpose: Purpose,
        secret: &str,
    ) -> AppResult<Verification> {
        let mut tx = self.work().await?;
        let v = self.live_flow(&mut tx, flow, purpose).await?;
        if v.verified_at.is_some() {
            // A second click on the same link, or a reload: already proven.
            return Ok(v);
        }
        let secret = match v.channel {
            Channel::Sms => match OtpCode::parse(secret) {
                Ok(c) => c.as_str().to_string(),
                Err(e) => {
                    return Err(AppError::Form(vec![crate::error::FieldError::from_code(
                        "code", &e,
                    )]));
                }
            },
            Channel::Email => secret.trim().to_string(),
        };
        // Each guess takes an attempt before it is compared, in one conditional statement:
        // concurrent guesses cannot share one.
        let Some(attempts) = store::claim_attempt(&mut tx, &v.id).await? else {
            return Err(AppError::TooManyAttempts);
        };
        let expected = self.secret_hash(&v.id, &secret);
        if crate::security::constant_time_eq(expected.as_bytes(), v.secret_hash.as_bytes()) {
            store::mark_verified(&mut tx, &v.id, self.clock.now()).await?;
            tx.commit().await?;
            return store::by_id(&mut *self.store.conn().await?, flow)
                .await?
                .ok_or(AppError::FlowExpired);
        }
        tx.commit().await?;
        let left = v.max_attempts - attempts;
        if left <= 0 {
            Err(AppError::TooManyAttempts)
        } else {
            Err(AppError::CodeWrong {
                attempts_left: left,
            })
        }
    }

    /// A flow whose secret has been proven and whose next step is not done yet.
    pub(crate) async fn verified_flow(
        &self,
        conn: &mut Conn,
        flow: &str,
        purpose: Purpose,
    ) -> AppResult<Verification> {
        let v = self.live_flow(conn, flow, purpose).await?;
        if v.verified_at.is_none() {
            return Err(AppError::FlowExpired);
        }
        Ok(v)
    }

    /// Sends a fresh secret after the cool-down. Decoys are refreshed but stay silent.
    pub async fn resend(
        &self,
        flow: &str,
        purpose: Purpose,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        let mut tx = self.work().await?;
        let v = self.live_flow(&mut tx, flow, purpose).await?;
        let now = self.clock.now();
        if v.verified_at.is_some() {
            return Err(AppError::FlowExpired);
        }
        if v.resend_after > now {
            return Err(AppError::ResendTooSoon {
                seconds: v.resend_after.since(now).as_secs().max(1),
            });
        }
        let to = Recipient::from_stored(v.channel, v.contact.clone());
        self.count_send(&mut tx, &to, actor).await?;
        let secret = self.new_secret(v.channel);
        let cooldown = Duration::from_secs(self.config.security.resend_cooldown_seconds);
        if !store::replace_secret(
            &mut tx,
            &v.id,
            &self.secret_hash(&v.id, &secret),
            now,
            now.plus(self.ttl(v.channel)),
            now.plus(cooldown),
        )
        .await?
        {
            // Another resend won the race; nothing of this one is written.
            return Err(AppError::ResendTooSoon {
                seconds: cooldown.as_secs().max(1),
            });
        }
        let decoy: bool = serde_json::from_str::<serde_json::Value>(&v.payload)
            .ok()
            .and_then(|p| p.get("decoy").and_then(serde_json::Value::as_bool))
            .unwrap_or(false);
        if let (false, Some(contact)) = (decoy, to.contact()) {
            self.send_secret(&mut tx, purpose, &v.id, &secret, contact, lang)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What the "enter your code" page shows.
    pub async fn flow_info(&self, flow: &str, purpose: Purpose) -> AppResult<FlowInfo> {
        let mut conn = self.store.conn().await?;
        let v = self.live_flow(&mut conn, flow, purpose).await?;
        let now = self.clock.now();
        Ok(FlowInfo {
            channel: v.channel,
            masked_contact: Recipient::from_stored(v.channel, v.contact)
                .contact()
                .map_or_else(|| "•••".to_string(), Contact::masked),
            verified: v.verified_at.is_some(),
            resend_in_secs: v.resend_after.since(now).as_secs(),
        })
    }
}
