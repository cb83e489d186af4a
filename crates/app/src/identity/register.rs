//! Registration: contact + name + consent → code or link → password and portal ID → account.
//! The visitor can never learn whether the contact was already registered: its owner is told
//! instead, and the visitor sees the same "enter your code" step.

use ekdwar_domain::UserId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::password::Password;
use ekdwar_domain::{
    AccountLevel, AccountStatus, AccountType, Contact, EmployeeId, PersonName, PortalId, Role,
};
use ekdwar_store::StoreError;
use ekdwar_store::identity::{self as users, User};
use ekdwar_store::verifications as store;
use serde::{Deserialize, Serialize};

use super::Identity;
use super::LoggedIn;
use super::verification::{NewVerification, Purpose};
use crate::audit::Actor;
use crate::captcha::ChallengeAnswer;
use crate::core::Work;
use crate::error::{AppError, AppResult, FieldError, FormCheck};
use crate::i18n::Lang;
use crate::outbox::Outgoing;

pub struct RegisterInput {
    pub contact: String,
    pub first_name: String,
    pub last_name: String,
    /// A government employee's ID, if the person registers as one (empty otherwise).
    pub employee_id: String,
    pub consent: bool,
    pub challenge: ChallengeAnswer,
    pub lang: Lang,
}

#[derive(Serialize, Deserialize)]
struct Pending {
    first_name: String,
    last_name: String,
    lang: String,
    consent_at: i64,
    #[serde(default)]
    decoy: bool,
    /// Registering as a government employee with this ID.
    #[serde(default)]
    employee_id: Option<String>,
}

/// What the "choose your password" page shows.
#[derive(Debug, Clone)]
pub struct RegistrationDetails {
    pub first_name: String,
    pub last_name: String,
    pub contact: String,
    pub suggested_portal_id: String,
}

impl Identity {
    #[tracing::instrument(skip_all)]
    pub async fn start_registration(
        &self,
        input: RegisterInput,
        actor: &Actor,
    ) -> AppResult<String> {
        let mut check = FormCheck::default();
        let contact = check.take(
            "contact",
            Contact::parse(&input.contact, &self.regions_for(Some(&input.lang))),
        );
        let first = check.take("first_name", PersonName::parse(&input.first_name));
        let last = check.take("last_name", PersonName::parse(&input.last_name));
        let employee = if input.employee_id.trim().is_empty() {
            None
        } else {
            check.take("employee_id", EmployeeId::parse(&input.employee_id))
        };
        if !input.consent {
            check.push(FieldError::new("consent", "consent-required"));
        }
        check.finish()?;
        let (Some(contact), Some(first), Some(last)) = (contact, first, last) else {
            return Err(AppError::Internal(
                "form check passed without values".into(),
            ));
        };
        self.check_challenge(&input.challenge).await?;

        let now = self.clock.now();
        let mut tx = self.work().await?;
        let to = ekdwar_domain::Recipient::Contact(contact.clone());
        self.count_send(&mut tx, &to, actor).await?;
        let existing = users::by_contact(&mut tx, &contact).await?;
        let pending = Pending {
            first_name: first.as_str().into(),
            last_name: last.as_str().into(),
            lang: input.lang.tag(),
            consent_at: now.millis(),
            decoy: existing.is_some(),
            employee_id: employee.map(|e| e.as_str().to_string()),
        };
        let flow = self
            .start_verification(
                &mut tx,
                NewVerification {
                    purpose: Purpose::Register,
                    user_id: None,
                    to: &to,
                    payload: serde_json::to_value(&pending)
                        .map_err(|e| AppError::Internal(e.into()))?,
                    lang: &input.lang,
                    deliver: existing.is_none(),
                },
            )
            .await?;
        if let Some(owner) = existing {
            self.tell_owner(&mut tx, &owner, &contact, &input.lang)
                .await?;
            self.audit(
                &mut tx,
                actor,
                Some(&owner.id),
                AuditAction::RegistrationOnExistingContact,
                Outcome::Denied,
                None,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(flow)
    }

    /// The names and a free portal ID for the last step.
    pub async fn registration_details(&self, flow: &str) -> AppResult<RegistrationDetails> {
        let mut conn = self.store.conn().await?;
        let v = self
            .verified_flow(&mut conn, flow, Purpose::Register)
            .await?;
        let p: Pending =
            serde_json::from_str(&v.payload).map_err(|e| AppError::Internal(e.into()))?;
        let first = PersonName::from_trusted(p.first_name.clone());
        let last = PersonName::from_trusted(p.last_name.clone());
        let suggestion = self.suggest_portal_id(&mut conn, &first, &last).await?;
        Ok(RegistrationDetails {
            first_name: p.first_name,
            last_name: p.last_name,
            contact: ekdwar_domain::Contact::from_trusted(v.channel, v.contact)
                .as_str()
                .to_string(),
            suggested_portal_id: suggestion,
        })
    }

    /// A free portal ID made of the person's names (checked a few times: a race may still
    /// take it, and the last step then says so).
    pub(crate) async fn suggest_portal_id(
        &self,
        conn: &mut ekdwar_store::Conn,
        first: &PersonName,
        last: &PersonName,
    ) -> AppResult<String> {
        let base = PortalId::suggestion_base(first, last);
        let mut suggestion = base.clone();
        for _ in 0..20 {
            if let Ok(id) = PortalId::parse(&suggestion)
                && !users::portal_id_taken(conn, &id).await?
            {
                break;
            }
            suggestion = format!("{base}{}", 10 + self.random.below(9990));
        }
        Ok(suggestion)
    }

    /// Creates the account and logs it in.
    pub async fn complete_registration(
        &self,
        flow: &str,
        portal_id: &str,
        password: Password,
        confirm: Password,
        actor: &Actor,
    ) -> AppResult<LoggedIn> {
        let details = self.registration_details(flow).await?;
        let (portal_id, hash) = self
            .prepare_account(
                flow,
                portal_id,
                &password,
                &confirm,
                &[&details.first_name, &details.last_name, &details.contact],
            )
            .await?;
        let now = self.clock.now();
        let mut tx = self.work().await?;
        let v = self.verified_flow(&mut tx, flow, Purpose::Register).await?;
        let p: Pending =
            serde_json::from_str(&v.payload).map_err(|e| AppError::Internal(e.into()))?;
        // A government employee's portal ID names them, never their post.
        let portal_id = match p.employee_id {
            Some(_) => portal_id
                .name_based()
                .map_err(|e| AppError::Form(vec![FieldError::from_code("portal_id", &e)]))?,
            None => portal_id,
        };
        if p.decoy {
            // Cannot happen: a decoy's code was never sent. Treat it like an expired step.
            return Err(AppError::FlowExpired);
        }
        if !store::consume(&mut tx, &v.id, now).await? {
            return Err(AppError::FlowExpired);
        }
        let done = self
            .open_account(
                &mut tx,
                NewAccount {
                    portal_id,
                    first_name: PersonName::from_trusted(p.first_name),
                    last_name: PersonName::from_trusted(p.last_name),
                    contact: Contact::from_trusted(v.channel, v.contact.clone()),
                    password_hash: Some(hash),
                    lang: p.lang,
                    consent_at: ekdwar_domain::Timestamp::from_millis(p.consent_at),
                    employee: p.employee_id.map(|id| (id, None)),
                },
                actor,
                v.channel.as_str(),
            )
            .await?;
        tx.commit().await?;
        self.metrics.registrations.inc();
        Ok(done)
    }

    /// The last step's checks before any account is written: the portal ID chosen (20 tries
    /// per flow: each tells whether one is taken, security finding 11) and the new password,
    /// hashed. `words` are the person's own, which the password must not contain.
    pub(crate) async fn prepare_account(
        &self,
        flow: &str,
        portal_id: &str,
        password: &Password,
        confirm: &Password,
        words: &[&str],
    ) -> AppResult<(PortalId, String)> {
        let portal_id = PortalId::parse(portal_id)
            .map_err(|e| AppError::Form(vec![FieldError::from_code("portal_id", &e)]))?;
        let now = self.clock.now();
        let key = format!("register:tries:{flow}");
        if let Err(until) = self
            .take_quota(&mut *self.store.conn().await?, &key, 20, now)
            .await?
        {
            return Err(crate::limits::throttled(until, now));
        }
        let mut all = words.to_vec();
        all.push(portal_id.as_str());
        self.check_new_password(password, confirm, &all)?;
        let hash = self.hashing.hash(password).await?;
        Ok((portal_id, hash))
    }

    /// Writes a new citizen's account, audited, and logs it in, inside `work`.
    pub(crate) async fn open_account(
        &self,
        work: &mut Work<'_>,
        a: NewAccount,
        actor: &Actor,
        how: &str,
    ) -> AppResult<LoggedIn> {
        let user = self.insert_account(work, a, actor, how).await?;
        let token = self.create_session(work, &user.id, actor, "pwd").await?;
        Ok(LoggedIn {
            token,
            user,
            password_expired: false,
        })
    }

    /// Writes a new citizen's account, audited (`how` it was made), inside `work`.
    async fn insert_account(
        &self,
        work: &mut Work<'_>,
        a: NewAccount,
        actor: &Actor,
        how: &str,
    ) -> AppResult<User> {
        let now = self.clock.now();
        let user = User {
            id: UserId::new(self.random.id()),
            portal_id: a.portal_id,
            first_name: a.first_name,
            last_name: a.last_name,
            phone: match &a.contact {
                Contact::Phone(ph) => Some(ph.clone()),
                Contact::Email(_) => None,
            },
            email: match &a.contact {
                Contact::Email(e) => Some(e.clone()),
                Contact::Phone(_) => None,
            },
            password_hash: a.password_hash,
            password_changed_at: now,
            level: AccountLevel::Simplified,
            account_type: if a.employee.is_some() {
                AccountType::Government
            } else {
                AccountType::Citizen
            },
            role: Role::Citizen,
            status: AccountStatus::Active,
            language: Some(a.lang),
            consent_at: a.consent_at,
            created_at: now,
            updated_at: now,
        };
        match users::insert(work, &user).await {
            Ok(()) => {}
            Err(StoreError::Conflict("portal_id")) => {
                return Err(AppError::field("portal_id", "portal-id-taken"));
            }
            // The same contact finished registering in another tab a moment ago.
            Err(StoreError::Conflict(_)) => return Err(AppError::FlowExpired),
            Err(e) => return Err(e.into()),
        }
        if let Some((employee_id, directory)) = &a.employee
            && !ekdwar_store::employees::insert(
                work,
                &user.id,
                employee_id,
                directory.as_deref(),
                now,
            )
            .await?
        {
            return Err(AppError::field("portal_id", "employee-id-taken"));
        }
        self.audit(
            work,
            actor,
            Some(&user.id),
            AuditAction::Registered,
            Outcome::Success,
            Some(how.into()),
        )
        .await?;
        Ok(user)
    }

    /// At a centre's desk: an operator registers a citizen who has no account. The code goes
    /// to the citizen's own phone; nothing is made until they tell it. An operator may know
    /// that a phone has an account (the desk finds people by phone), so that is said.
    pub async fn desk_register_start(
        &self,
        phone: &str,
        first_name: &str,
        last_name: &str,
        consent: bool,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<String> {
        let mut check = FormCheck::default();
        let phone = check.take(
            "phone",
            ekdwar_domain::Phone::parse(phone, &self.regions_for(Some(lang))),
        );
        let first = check.take("first_name", PersonName::parse(first_name));
        let last = check.take("last_name", PersonName::parse(last_name));
        if !consent {
            check.push(FieldError::new("consent", "desk-consent-required"));
        }
        check.finish()?;
        let (Some(phone), Some(first), Some(last)) = (phone, first, last) else {
            return Err(AppError::Internal(
                "form check passed without values".into(),
            ));
        };
        let contact = Contact::Phone(phone);
        let mut tx = self.work().await?;
        if users::by_contact(&mut tx, &contact).await?.is_some() {
            return Err(AppError::field("phone", "desk-phone-taken"));
        }
        let to = ekdwar_domain::Recipient::Contact(contact);
        self.count_send(&mut tx, &to, actor).await?;
        let pending = Pending {
            first_name: first.as_str().into(),
            last_name: last.as_str().into(),
            lang: lang.tag(),
            consent_at: self.clock.now().millis(),
            decoy: false,
            employee_id: None,
        };
        let flow = self
            .start_verification(
                &mut tx,
                NewVerification {
                    purpose: Purpose::Register,
                    user_id: None,
                    to: &to,
                    payload: serde_json::to_value(&pending)
                        .map_err(|e| AppError::Internal(e.into()))?,
                    lang,
                    deliver: true,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(flow)
    }

    /// The code the citizen told the operator: the account opens, with no password (the
    /// citizen sets one themselves, by the link sent to their phone). `how` says where and
    /// by whom, for the citizen's security log.
    pub async fn desk_register_finish(
        &self,
        flow: &str,
        code: &str,
        how: &str,
        actor: &Actor,
    ) -> AppResult<User> {
        self.verify_code(flow, Purpose::Register, code).await?;
        let now = self.clock.now();
        let mut tx = self.work().await?;
        let v = self.verified_flow(&mut tx, flow, Purpose::Register).await?;
        let p: Pending =
            serde_json::from_str(&v.payload).map_err(|e| AppError::Internal(e.into()))?;
        if !store::consume(&mut tx, &v.id, now).await? {
            return Err(AppError::FlowExpired);
        }
        let first = PersonName::from_trusted(p.first_name);
        let last = PersonName::from_trusted(p.last_name);
        let suggestion = self.suggest_portal_id(&mut tx, &first, &last).await?;
        let portal_id = PortalId::parse(&suggestion).map_err(|e| AppError::Internal(e.into()))?;
        let contact = Contact::from_trusted(v.channel, v.contact.clone());
        let user = self
            .insert_account(
                &mut tx,
                NewAccount {
                    portal_id,
                    first_name: first,
                    last_name: last,
                    contact: contact.clone(),
                    password_hash: None,
                    lang: p.lang,
                    consent_at: ekdwar_domain::Timestamp::from_millis(p.consent_at),
                    employee: None,
                },
                actor,
                &format!("desk\t{how}"),
            )
            .await?;
        let lang = self.user_lang(&user);
        self.enqueue(
            &mut tx,
            Outgoing {
                kind: "desk-registered",
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
        self.metrics.registrations.inc();
        Ok(user)
    }
}

/// A new citizen's account, its contact already proven.
pub(crate) struct NewAccount {
    pub portal_id: PortalId,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub contact: Contact,
    /// `None` for an account opened at a desk, until its owner sets one.
    pub password_hash: Option<String>,
    pub lang: String,
    pub consent_at: ekdwar_domain::Timestamp,
    /// A government employee: the employee ID, and the directory that vouched for it.
    pub employee: Option<(String, Option<String>)>,
}
