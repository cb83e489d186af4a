//! Getting back in: a new password through a code or link sent to a verified contact, and a
//! reminder of the portal ID. The answer is the same whether or not an account matches.
//!
//! A portal ID is name-based, so anyone can guess one: a reset by portal ID also asks for one
//! more thing the account holds (its mobile, e-mail or a confirmed national identifier such as
//! Aadhaar or its VID), as Rajasthan SSO does, before any code is sent. A forgotten portal ID
//! is found by a contact or by a confirmed national identifier, and only ever sent to the
//! account's own contact.

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::national_id::NationalId;
use ekdwar_domain::password::Password;
use ekdwar_domain::{Channel, Contact, LoginIdentifier, Recipient, UserId};
use ekdwar_store::Conn;
use ekdwar_store::identifiers;
use ekdwar_store::identity::{self as users, User};
use ekdwar_store::verifications as store;

use super::Identity;
use super::verification::{NewVerification, Purpose};
use super::{identifiers_of, preferred_contact};
use crate::audit::Actor;
use crate::captcha::ChallengeAnswer;
use crate::core::Work;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Lang;
use crate::outbox::Outgoing;

/// Something that names an account besides its portal ID: a contact, or a national
/// identifier (any of the kinds it parses as, by its blind index).
struct AccountKey {
    contact: Option<Contact>,
    /// The kind and blind index of each reading as a national identifier.
    national: Vec<(String, String)>,
}

impl Identity {
    /// Sends `user`'s portal ID, with the login page's address, to `to`.
    pub(crate) async fn send_portal_id(
        &self,
        work: &mut Work<'_>,
        user: &User,
        to: &Contact,
        lang: &Lang,
    ) -> AppResult<()> {
        self.enqueue(
            work,
            Outgoing {
                kind: "portal-id",
                to,
                lang,
                args: vec![
                    ("portal_id", user.portal_id.to_string()),
                    ("link", format!("{}/login", self.config.public_url())),
                ],
            },
        )
        .await
    }

    /// Reads `raw` as a contact and as every national identifier it could be; an error if it
    /// is none of them.
    fn account_key(&self, raw: &str, field: &'static str, lang: &Lang) -> AppResult<AccountKey> {
        let contact = Contact::parse(raw, &self.regions_for(Some(lang))).ok();
        let national: Vec<(String, String)> = self
            .id_kinds
            .iter()
            .filter_map(|k| NationalId::parse(*k, raw).ok())
            .map(|id| {
                let kind = id.kind().as_str().to_string();
                let blind = self.vault.blind(&kind, id.as_str());
                (kind, blind)
            })
            .collect();
        if contact.is_none() && national.is_empty() {
            return Err(AppError::field(field, "contact-or-id"));
        }
        Ok(AccountKey { contact, national })
    }

    /// The accounts `key` names, each with the contact it was found by (none when found by a
    /// confirmed national identifier).
    async fn holders(
        &self,
        conn: &mut Conn,
        key: &AccountKey,
    ) -> AppResult<Vec<(User, Option<Contact>)>> {
        let mut found = Vec::new();
        if let Some(c) = &key.contact
            && let Some(u) = users::by_contact(conn, c).await?
        {
            found.push((u, Some(c.clone())));
        }
        for (_, blind) in &key.national {
            let holder: Option<UserId> = identifiers::holder(conn, blind).await?;
            if let Some(id) = holder
                && !found.iter().any(|(u, _)| u.id == id)
                && let Some(u) = users::by_id(conn, &id).await?
            {
                found.push((u, None));
            }
        }
        Ok(found)
    }

    /// Starts password recovery for a phone or e-mail, or for a portal ID together with one
    /// more thing its account holds (`second`: mobile, e-mail, Aadhaar, VID...).
    #[tracing::instrument(skip_all)]
    pub async fn start_recovery(
        &self,
        identifier: &str,
        second: &str,
        challenge: &ChallengeAnswer,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<String> {
        let id = LoginIdentifier::parse(identifier, &self.regions_for(Some(lang)))
            .map_err(|e| AppError::Form(vec![FieldError::from_code("identifier", &e)]))?;
        let second = match &id {
            LoginIdentifier::PortalId(_) if second.trim().is_empty() => {
                return Err(AppError::field("second", "recover-second-required"));
            }
            LoginIdentifier::PortalId(_) => Some(self.account_key(second, "second", lang)?),
            _ => None,
        };
        self.check_challenge(challenge).await?;
        let mut tx = self.work().await?;
        // An account that cannot be reached (no phone or e-mail, as after an upstream login),
        // or whose portal ID came with something it does not hold, is answered exactly like
        // an unknown one.
        let mut user = users::by_identifier(&mut tx, &id)
            .await?
            .filter(|u| preferred_contact(u).is_some());
        let mut through = None;
        if let Some(key) = &second {
            let holders = self.holders(&mut tx, key).await?;
            match holders
                .into_iter()
                .find(|(h, _)| user.as_ref().is_some_and(|u| u.id == h.id))
            {
                // A contact typed as the second thing is where the code goes.
                Some((_, contact)) => through = contact,
                None => user = None,
            }
        }
        // Where the message goes: the contact typed, or for a portal ID the account's phone
        // (else e-mail). A decoy for a portal ID pretends to use SMS; the page never says which,
        // and a typed code is judged the same whichever channel it is (`verify_code`).
        let to = match (
            &id,
            through.or_else(|| user.as_ref().and_then(preferred_contact)),
        ) {
            (LoginIdentifier::Phone(p), _) => Recipient::Contact(Contact::Phone(p.clone())),
            (LoginIdentifier::Email(e), _) => Recipient::Contact(Contact::Email(e.clone())),
            (LoginIdentifier::PortalId(_), Some(c)) if user.is_some() => Recipient::Contact(c),
            (LoginIdentifier::PortalId(p), _) => Recipient::Decoy {
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

    /// Sends the portal ID to the account's own verified phone or e-mail, if an account has
    /// the contact or the confirmed national identifier typed.
    pub async fn remind_portal_id(
        &self,
        contact: &str,
        challenge: &ChallengeAnswer,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        let key = self.account_key(contact, "contact", lang)?;
        self.check_challenge(challenge).await?;
        let mut tx = self.work().await?;
        let found = self.holders(&mut tx, &key).await?.into_iter().next();
        // Found by the contact typed: it goes there. By a national identifier: to the
        // holder's own contact. Nobody: counted under the contact typed, or under the number's
        // blind index (never written plain).
        let contact = found
            .as_ref()
            .and_then(|(u, by)| by.clone().or_else(|| preferred_contact(u)))
            .or_else(|| key.contact.clone());
        let to = match contact {
            Some(c) => Recipient::Contact(c),
            None => Recipient::Decoy {
                channel: Channel::Sms,
                key: key
                    .national
                    .first()
                    .map(|(k, b)| format!("id:{k}:{b}"))
                    .unwrap_or_default(),
            },
        };
        self.count_send(&mut tx, &to, actor).await?;
        let user = found
            .map(|(u, _)| u)
            .filter(|u| preferred_contact(u).is_some());
        if let (Some(user), Recipient::Contact(contact)) = (user, &to) {
            let lang = self.user_lang_or(&user, lang);
            self.send_portal_id(&mut tx, &user, contact, &lang).await?;
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
            self.enqueue_decoy(&mut tx, to.channel()).await?;
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
