//! Getting back in: a new password through a code or link sent to a verified contact, and a
//! reminder of the portal ID. The answer is the same whether or not an account matches.

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::password::Password;
use ekdwar_domain::{Channel, Contact, LoginIdentifier, Recipient};
use ekdwar_store::identity::{self as users, User};
use ekdwar_store::verifications as store;

use super::Identity;
use super::verification::{NewVerification, Purpose};
use super::{identifiers_of, preferred_contact};
use crate::audit::Actor;
use crate::captcha::ChallengeAnswer;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Lang;
use crate::outbox::Outgoing;

impl Identity {
    /// Starts password recovery for a phone, e-mail or portal ID.
    #[tracing::instrument(skip_all)]
    pub async fn start_recovery(
        &self,
        identifier: &str,
        challenge: &ChallengeAnswer,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<String> {
        let id = LoginIdentifier::parse(identifier, &self.regions_for(Some(lang)))
            .map_err(|e| AppError::Form(vec![FieldError::from_code("identifier", &e)]))?;
        self.check_challenge(challenge).await?;
        let mut tx = self.work().await?;
        // An account that cannot be reached (no phone or e-mail, as after an upstream login)
        // is answered exactly like an unknown one.
        let user = users::by_identifier(&mut tx, &id)
            .await?
            .filter(|u| preferred_contact(u).is_some());
        // Where the message goes: the contact typed, or for a portal ID the account's phone
        // (else e-mail). A decoy for a portal ID pretends to use SMS; the page never says which,
        // and a typed code is judged the same whichever channel it is (`verify_code`).
        let to = match (&id, user.as_ref().and_then(preferred_contact)) {
            (LoginIdentifier::Phone(p), _) => Recipient::Contact(Contact::Phone(p.clone())),
            (LoginIdentifier::Email(e), _) => Recipient::Contact(Contact::Email(e.clone())),
            (LoginIdentifier::PortalId(_), Some(c)) => Recipient::Contact(c),
            (LoginIdentifier::PortalId(p), None) => Recipient::Decoy {
                channel: Channel::Sms,
                key: p.key(),
            },
        };
        self.count_send(&mut tx, &to, actor).await?;
        let user_lang = user
            .as_ref()
            .map_or_else(|| lang.clone(), |u| self.user_lang_or(u, lang));
        let flow = self
            .start_verification(
                &mut tx,
                NewVerification {
                    purpose: Purpose::Recover,
                    user_id: user.as_ref().map(|u| &u.id),
                    to: &to,
                    payload: serde_json::json!({ "decoy": user.is_none() }),
                    lang: &user_lang,
                    deliver: user.is_some(),
                },
            )
            .await?;
        // The same audit row either way (security finding 15).
        self.audit(
            &mut tx,
            actor,
            user.as_ref().map(|u| u.id.as_str()),
            AuditAction::RecoveryRequested,
            if user.is_some() {
                Outcome::Success
            } else {
                Outcome::Denied
            },
            Some(to.channel().as_str().into()),
        )
        .await?;
        tx.commit().await?;
        Ok(flow)
    }

    /// Sets the new password after the secret was proven; every session of the account ends.
    /// The account a verified recovery flow is for.
    pub(crate) async fn recovery_user(&self, flow: &str) -> AppResult<User> {
        let mut conn = self.store.conn().await?;
        let v = self
            .verified_flow(&mut conn, flow, Purpose::Recover)
            .await?;
        let uid = v.user_id.ok_or(AppError::FlowExpired)?;
        users::by_id(&mut conn, &uid)
            .await?
            .ok_or(AppError::FlowExpired)
    }

    pub async fn complete_recovery(
        &self,
        flow: &str,
        password: Password,
        confirm: Password,
        actor: &Actor,
    ) -> AppResult<()> {
        let user = self.recovery_user(flow).await?;
        let ids = identifiers_of(&user);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.check_new_password(&password, &confirm, &ids)?;
        let hash = self.hashing.hash(&password).await?;
        let now = self.clock.now();
        let mut tx = self.work().await?;
        let v = self.verified_flow(&mut tx, flow, Purpose::Recover).await?;
        if !store::consume(&mut tx, &v.id, now).await? {
            return Err(AppError::FlowExpired);
        }
        users::set_password(&mut tx, &user.id, &hash, now).await?;
        self.end_sessions(&mut tx, &user.id, super::Ending::AllBut(None))
            .await?;
        super::login::forgive(&mut tx, &user).await?;
        self.audit(
            &mut tx,
            actor,
            Some(&user.id),
            AuditAction::PasswordReset,
            Outcome::Success,
            None,
        )
        .await?;
        let lang = self.user_lang(&user);
        let contact = Contact::from_trusted(v.channel, v.contact.clone());
        self.enqueue(
            &mut tx,
            Outgoing {
                kind: "password-changed",
                to: &contact,
                lang: &lang,
                args: vec![("portal_id", user.portal_id.to_string())],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends the portal ID to a verified phone or e-mail, if an account has it.
    pub async fn remind_portal_id(
        &self,
        contact: &str,
        challenge: &ChallengeAnswer,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        let contact = Contact::parse(contact, &self.regions_for(Some(lang)))
            .map_err(|e| AppError::Form(vec![FieldError::from_code("contact", &e)]))?;
        self.check_challenge(challenge).await?;
        let mut tx = self.work().await?;
        self.count_send(&mut tx, &Recipient::Contact(contact.clone()), actor)
            .await?;
        if let Some(user) = users::by_contact(&mut tx, &contact).await? {
            let lang = self.user_lang_or(&user, lang);
            self.enqueue(
                &mut tx,
                Outgoing {
                    kind: "portal-id",
                    to: &contact,
                    lang: &lang,
                    args: vec![
                        ("portal_id", user.portal_id.to_string()),
                        ("link", format!("{}/login", self.config.public_url())),
                    ],
                },
            )
            .await?;
            self.audit(
                &mut tx,
                actor,
                Some(&user.id),
                AuditAction::PortalIdReminded,
                Outcome::Success,
                None,
            )
            .await?;
        } else {
            // An unknown contact costs the same writes as a known one (security finding 15).
            self.enqueue_decoy(&mut tx, contact.channel()).await?;
            self.audit(
                &mut tx,
                actor,
                None,
                AuditAction::PortalIdReminded,
                Outcome::Denied,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
