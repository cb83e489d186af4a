//! What a logged-in person can change about themselves.

use ekdwar_domain::UserId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::password::Password;
use ekdwar_domain::{AccountLevel, Contact, PersonName};
use ekdwar_store::StoreError;
use ekdwar_store::identity as users;
use ekdwar_store::verifications as store;

use super::Identity;
use super::verification::{NewVerification, Purpose};
use super::{CurrentSession, identifiers_of};
use crate::audit::Actor;
use crate::core::Work;
use crate::error::{AppError, AppResult, FieldError, FormCheck};
use crate::i18n::Lang;
use crate::outbox::Outgoing;

/// A person's name changed: what was checked with the old name is checked again.
pub const NAME_CHANGED: &str = "name-changed";

/// The account's level and what the next one needs.
#[derive(Debug, Clone)]
pub struct LevelInfo {
    pub level: AccountLevel,
    pub next: Option<AccountLevel>,
}

impl Identity {
    pub fn level_info(&self, level: AccountLevel) -> LevelInfo {
        LevelInfo {
            level,
            next: level.next(),
        }
    }

    pub async fn update_name(
        &self,
        cur: &CurrentSession,
        first: &str,
        last: &str,
        actor: &Actor,
    ) -> AppResult<()> {
        let mut check = FormCheck::default();
        let first = check.take("first_name", PersonName::parse(first));
        let last = check.take("last_name", PersonName::parse(last));
        check.finish()?;
        let (Some(first), Some(last)) = (first, last) else {
            return Err(AppError::Internal(
                "form check passed without values".into(),
            ));
        };
        let mut tx = self.work().await?;
        users::set_name(&mut tx, &cur.user.id, &first, &last, self.clock.now()).await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::NameChanged,
            Outcome::Success,
            None,
        )
        .await?;
        // The name is part of every check of the profile: the checks above accounts take
        // it up (`assurance`), through the runner.
        self.enqueue_job(
            &mut tx,
            NAME_CHANGED,
            &serde_json::json!({ "user": cur.user.id.as_str() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the person logged in long enough ago that a sensitive change needs their
    /// password again (`security.reauth_minutes`, 10 by default).
    pub fn needs_reauth(&self, cur: &CurrentSession) -> bool {
        self.clock.now().since(cur.session.created_at)
            > std::time::Duration::from_secs(self.config.security.reauth_minutes * 60)
    }

    /// Passes when the login is recent, else checks the password typed with the form (in the
    /// field `current`).
    pub(crate) async fn recent_or_password(
        &self,
        cur: &CurrentSession,
        password: Option<&Password>,
        actor: &Actor,
    ) -> AppResult<()> {
        if !self.needs_reauth(cur) {
            return Ok(());
        }
        match password {
            Some(p) if !p.expose().is_empty() => {
                self.confirm_password(cur, p, "current", actor).await
            }
            _ => Err(AppError::field("current", "reauth-required")),
        }
    }

    /// Checks the person's password before a sensitive change. Guesses count like failed
    /// logins of the account, with the same back-off and hourly ceiling (security finding 12);
    /// a wrong one is audited. `field` is the form field the password was typed in.
    pub(crate) async fn confirm_password(
        &self,
        cur: &CurrentSession,
        password: &Password,
        field: &'static str,
        actor: &Actor,
    ) -> AppResult<()> {
        if cur.user.password_hash.is_none() {
            // Nothing to type (an account from an upstream login): only a fresh login proves
            // the person.
            return Err(AppError::field(field, "reauth-login-again"));
        }
        // Counted on every identifier of the account, as a failed login with each would be.
        let keys = super::login::login_keys_of(&cur.user);
        let now = self.clock.now();
        let policy = self.account_throttle();
        if let Err(until) = self
            .count_failure_on_all(&mut *self.store.conn().await?, &keys, &policy, now)
            .await?
        {
            return Err(crate::limits::throttled(until, now));
        }
        if !self
            .hashing
            .verify(password, cur.user.password_hash.as_deref())
            .await
        {
            let mut tx = self.work().await?;
            self.audit(
                &mut tx,
                actor,
                Some(&cur.user.id),
                AuditAction::PasswordChanged,
                Outcome::Failure,
                Some("wrong current password".into()),
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::field(field, "password-current-wrong"));
        }
        super::login::forgive(&mut *self.store.conn().await?, &cur.user).await?;
        Ok(())
    }

    /// Changes the password after checking the current one; other sessions end.
    #[tracing::instrument(skip_all, fields(user = %cur.user.id))]
    pub async fn change_password(
        &self,
        cur: &CurrentSession,
        current: Password,
        new: Password,
        confirm: Password,
        actor: &Actor,
    ) -> AppResult<()> {
        self.confirm_password(cur, &current, "current", actor)
            .await?;
        let ids = identifiers_of(&cur.user);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.check_new_password(&new, &confirm, &ids)?;
        if new.expose() == current.expose() {
            return Err(AppError::field("password", "password-same"));
        }
        let hash = self.hashing.hash(&new).await?;
        let now = self.clock.now();
        let mut tx = self.work().await?;
        users::set_password(&mut tx, &cur.user.id, &hash, now).await?;
        self.end_sessions(
            &mut tx,
            &cur.user.id,
            super::Ending::AllBut(Some(&cur.session.id_hash)),
        )
        .await?;
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::PasswordChanged,
            Outcome::Success,
            None,
        )
        .await?;
        self.notify_owner(&mut tx, &cur.user, "password-changed")
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends a code or link to a new phone or e-mail; it replaces the old one once proven.
    /// If another account has it, its owner is told and this flow can never complete, so a
    /// logged-in user cannot probe which contacts are registered either.
    pub async fn start_contact_change(
        &self,
        cur: &CurrentSession,
        new: &str,
        password: Option<Password>,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<String> {
        // Whoever sits at an open session must not take the account over by moving its
        // contacts: after the first minutes, the password again (security finding 3).
        self.recent_or_password(cur, password.as_ref(), actor)
            .await?;
        let contact = Contact::parse(new, &self.regions_for(Some(lang)))
            .map_err(|e| AppError::Form(vec![FieldError::from_code("contact", &e)]))?;
        let mut tx = self.work().await?;
        let to = ekdwar_domain::Recipient::Contact(contact.clone());
        self.count_send(&mut tx, &to, actor).await?;
        let owner = users::by_contact(&mut tx, &contact).await?;
        if owner.as_ref().is_some_and(|o| o.id == cur.user.id) {
            return Err(AppError::field("contact", "contact-unchanged"));
        }
        let flow = self
            .start_verification(
                &mut tx,
                NewVerification {
                    purpose: Purpose::Contact,
                    user_id: Some(&cur.user.id),
                    to: &to,
                    payload: serde_json::json!({ "decoy": owner.is_some() }),
                    lang,
                    deliver: owner.is_none(),
                },
            )
            .await?;
        if let Some(owner) = owner {
            self.tell_owner(&mut tx, &owner, &contact, lang).await?;
        }
        self.audit(
            &mut tx,
            actor,
            Some(&cur.user.id),
            AuditAction::ContactChangeRequested,
            Outcome::Success,
            Some(contact.channel().as_str().into()),
        )
        .await?;
        tx.commit().await?;
        Ok(flow)
    }

    /// Proves the new contact (code or link token) and puts it on the account; the contact
    /// it replaces is told.
    pub async fn complete_contact_change(
        &self,
        flow: &str,
        secret: &str,
        actor: &Actor,
    ) -> AppResult<Contact> {
        let v = self.verify_secret(flow, Purpose::Contact, secret).await?;
        let now = self.clock.now();
        let mut tx = self.work().await?;
        let v = self.verified_flow(&mut tx, &v.id, Purpose::Contact).await?;
        let uid = v.user_id.clone().ok_or(AppError::FlowExpired)?;
        let user = users::by_id(&mut tx, &uid)
            .await?
            .ok_or(AppError::FlowExpired)?;
        if !store::consume(&mut tx, &v.id, now).await? {
            return Err(AppError::FlowExpired);
        }
        let contact = Contact::from_trusted(v.channel, v.contact.clone());
        match users::set_contact(&mut tx, &uid, &contact, now).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => return Err(AppError::FlowExpired),
            Err(e) => return Err(e.into()),
        }
        let old = match &contact {
            Contact::Phone(_) => user.phone.clone().map(Contact::Phone),
            Contact::Email(_) => user.email.clone().map(Contact::Email),
        };
        if let Some(old) = old {
            self.tell_contact_changed(&mut tx, &user, &old, &contact)
                .await?;
        }
        self.audit(
            &mut tx,
            actor,
            Some(&uid),
            AuditAction::ContactChanged,
            Outcome::Success,
            Some(contact.channel().as_str().into()),
        )
        .await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// At a centre's desk, after the operator checked the person and their document: sends a
    /// code to the new phone of a person who lost their phone and e-mail.
    pub async fn desk_restore_start(
        &self,
        user_id: &UserId,
        phone: &str,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<String> {
        let phone = ekdwar_domain::Phone::parse(phone, &self.regions_for(Some(lang)))
            .map_err(|e| AppError::Form(vec![FieldError::from_code("phone", &e)]))?;
        let contact = Contact::Phone(phone);
        let mut tx = self.work().await?;
        let user = users::by_id(&mut tx, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        match users::by_contact(&mut tx, &contact).await? {
            Some(o) if o.id == user.id => {
                return Err(AppError::field("phone", "contact-unchanged"));
            }
            Some(_) => return Err(AppError::field("phone", "desk-phone-taken")),
            None => {}
        }
        let to = ekdwar_domain::Recipient::Contact(contact);
        self.count_send(&mut tx, &to, actor).await?;
        let flow = self
            .start_verification(
                &mut tx,
                NewVerification {
                    purpose: Purpose::Contact,
                    user_id: Some(&user.id),
                    to: &to,
                    payload: serde_json::json!({ "desk": true }),
                    lang,
                    deliver: true,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(flow)
    }

    /// The code the person told the operator: the new phone replaces the lost contacts (the
    /// e-mail is removed too), two-step login is turned off, and every session and app token
    /// ends. The old contacts are told; `how` says where and by whom.
    pub async fn desk_restore_finish(
        &self,
        user_id: &UserId,
        flow: &str,
        code: &str,
        how: &str,
        actor: &Actor,
    ) -> AppResult<Contact> {
        let v = self.verify_code(flow, Purpose::Contact, code).await?;
        if v.user_id.as_ref() != Some(user_id) {
            return Err(AppError::FlowExpired);
        }
        let now = self.clock.now();
        let mut tx = self.work().await?;
        let v = self.verified_flow(&mut tx, &v.id, Purpose::Contact).await?;
        let user = users::by_id(&mut tx, user_id)
            .await?
            .ok_or(AppError::FlowExpired)?;
        if !store::consume(&mut tx, &v.id, now).await? {
            return Err(AppError::FlowExpired);
        }
        let contact = Contact::from_trusted(v.channel, v.contact.clone());
        match users::set_contact(&mut tx, user_id, &contact, now).await {
            Ok(_) => {}
            Err(StoreError::Conflict(_)) => return Err(AppError::FlowExpired),
            Err(e) => return Err(e.into()),
        }
        users::remove_email(&mut tx, user_id, now).await?;
        ekdwar_store::second_factor::remove(&mut tx, user_id).await?;
        ekdwar_store::passkeys::remove_all(&mut tx, user_id).await?;
        self.end_sessions(&mut tx, user_id, super::Ending::AllBut(None))
            .await?;
        super::login::forgive(&mut tx, &user).await?;
        self.audit(
            &mut tx,
            actor,
            Some(user_id),
            AuditAction::AccessRestored,
            Outcome::Success,
            Some(how.to_string()),
        )
        .await?;
        for old in contacts_of(&user) {
            self.tell_contact_changed(&mut tx, &user, &old, &contact)
                .await?;
        }
        let lang = self.user_lang(&user);
        self.enqueue(
            &mut tx,
            Outgoing {
                kind: "access-restored",
                to: &contact,
                lang: &lang,
                args: vec![
                    ("portal_id", user.portal_id.to_string()),
                    ("link", format!("{}/recover", self.config.public_url())),
                ],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Tells `old`, a contact `user` had, that `new` replaced it.
    async fn tell_contact_changed(
        &self,
        work: &mut Work<'_>,
        user: &ekdwar_store::identity::User,
        old: &Contact,
        new: &Contact,
    ) -> AppResult<()> {
        let lang = self.user_lang(user);
        self.enqueue(
            work,
            Outgoing {
                kind: "contact-changed",
                to: old,
                lang: &lang,
                args: vec![
                    ("new", new.masked()),
                    ("portal_id", user.portal_id.to_string()),
                ],
            },
        )
        .await
    }

    pub async fn set_language(
        &self,
        user_id: &UserId,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        let mut tx = self.work().await?;
        users::set_language(&mut tx, user_id, Some(&lang.tag()), self.clock.now()).await?;
        self.audit(
            &mut tx,
            actor,
            Some(user_id),
            AuditAction::LanguageChanged,
            Outcome::Success,
            Some(lang.tag()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The language a person chose, else the portal's default.
    pub fn user_lang(&self, user: &ekdwar_store::identity::User) -> Lang {
        self.user_lang_or(user, &self.default_lang)
    }

    pub fn user_lang_or(&self, user: &ekdwar_store::identity::User, fallback: &Lang) -> Lang {
        user.language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or_else(|| fallback.clone())
    }

    /// Tells the owner of a contact that someone tried to register it or add it to another
    /// account, in place of telling the person who tried.
    pub(crate) async fn tell_owner(
        &self,
        work: &mut Work<'_>,
        owner: &ekdwar_store::identity::User,
        contact: &Contact,
        fallback: &Lang,
    ) -> AppResult<()> {
        let lang = self.user_lang_or(owner, fallback);
        self.enqueue(
            work,
            Outgoing {
                kind: "register-existing",
                to: contact,
                lang: &lang,
                args: vec![
                    ("portal_id", owner.portal_id.to_string()),
                    ("link", format!("{}/recover", self.config.public_url())),
                ],
            },
        )
        .await
    }
}

impl Identity {
    /// Tells an account's owner, on each of their contacts and in their language, of a change
    /// to how they log in (`kind` names the message: `password-changed`, `two-step-on`, …).
    pub(crate) async fn notify_owner(
        &self,
        work: &mut Work<'_>,
        user: &ekdwar_store::identity::User,
        kind: &'static str,
    ) -> AppResult<()> {
        let lang = self.user_lang(user);
        for contact in contacts_of(user) {
            self.enqueue(
                work,
                Outgoing {
                    kind,
                    to: &contact,
                    lang: &lang,
                    args: vec![("portal_id", user.portal_id.to_string())],
                },
            )
            .await?;
        }
        Ok(())
    }
}

fn contacts_of(user: &ekdwar_store::identity::User) -> Vec<Contact> {
    let mut v = Vec::new();
    v.extend(user.phone.clone().map(Contact::Phone));
    v.extend(user.email.clone().map(Contact::Email));
    v
}
