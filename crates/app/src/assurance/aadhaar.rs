//! Signing up with Aadhaar, as DigiLocker does: the person gives their Aadhaar number (or its
//! Virtual ID) and the mobile linked to it; UIDAI, through the registry connector, sends its
//! own one-time code to that mobile; the code typed back is judged by UIDAI, whose answer is
//! the person's record (names, date of birth, gender). The account opens with those, its phone
//! proven by the code, and its Aadhaar already confirmed — a checked item that counts toward
//! the standard level.
//!
//! Nothing reveals whether a number has an account: a mobile not linked to the number (or an
//! unknown number) gets one refusal, the same for both. Only once the code proves the person
//! holds the linked mobile are they told that the number or the mobile already has an account
//! (its portal ID goes to that mobile). The number is never stored in the clear: the flow
//! keeps it sealed, the account's profile seals it, and the identifier index holds only its
//! keyed blind index.

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::national_id::{IdKind, NationalId};
use ekdwar_domain::otp::OtpCode;
use ekdwar_domain::password::Password;
use ekdwar_domain::profile::{CheckItem, CheckStatus, Gender, ProfileFacts};
use ekdwar_domain::{Contact, PersonName, Phone, Recipient, Timestamp};
use ekdwar_store::identifiers;
use ekdwar_store::identity as users;
use ekdwar_store::profiles::{self as store, Check};
use ekdwar_store::verifications;
use serde::{Deserialize, Serialize};

use super::Assurance;
use super::registry::{OtpCheck, OtpRequest, OtpSent, OtpVerdict, Person};
use crate::audit::Actor;
use crate::captcha::ChallengeAnswer;
use crate::error::{AppError, AppResult, FieldError, FormCheck};
use crate::i18n::Lang;
use crate::identity::{LoggedIn, NewAccount, NewVerification, Purpose, RegistrationDetails};
use crate::vault::Sealed;

/// The first step's form.
pub struct AadhaarSignup {
    /// The Aadhaar number or its 16-digit Virtual ID, as typed.
    pub number: String,
    /// The mobile linked to it, as typed.
    pub mobile: String,
    pub consent: bool,
    pub challenge: ChallengeAnswer,
    pub lang: Lang,
}

/// Where the code step leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AadhaarVerified {
    /// On to choosing a portal ID and a password.
    NewAccount,
    /// The number or the mobile already has an account: its portal ID went to the mobile.
    HasAccount,
}

/// What a flow carries, sealed: the number, and after the code the registry's record.
#[derive(Serialize, Deserialize)]
struct Secret {
    kind: String,
    number: String,
    #[serde(default)]
    person: Option<Person>,
}

/// A flow's payload (stored as the verification's JSON): the registry's transaction, the
/// sealed secret and the person's choices.
#[derive(Serialize, Deserialize)]
struct Payload {
    txn: String,
    registry: String,
    key_id: String,
    sealed: String,
    lang: String,
    consent_at: i64,
}

fn context(flow: &str) -> String {
    format!("aadhaar-signup/{flow}")
}

impl Assurance {
    /// The registry that checks Aadhaar numbers (UIDAI), if a country profile asks for one:
    /// without it there is no Aadhaar sign-up.
    pub fn aadhaar_registry(&self) -> Option<String> {
        let country = self.aadhaar_country()?;
        country
            .identifiers
            .iter()
            .find(|r| r.kind == IdKind::Aadhaar)
            .map(|r| r.registry.clone())
    }

    /// The first country profile that asks for Aadhaar.
    fn aadhaar_country(&self) -> Option<&ekdwar_domain::profile::CountryProfile> {
        self.countries
            .all()
            .iter()
            .find(|c| c.identifiers.iter().any(|r| r.kind == IdKind::Aadhaar))
    }

    /// Asks UIDAI to send its code to the mobile linked to the number; the flow's id.
    #[tracing::instrument(skip_all)]
    pub async fn start_aadhaar_signup(
        &self,
        input: AadhaarSignup,
        actor: &Actor,
    ) -> AppResult<String> {
        let registry = self.aadhaar_registry().ok_or(AppError::NotFound)?;
        let mut check = FormCheck::default();
        let number = check.take(
            "number",
            NationalId::parse(IdKind::Aadhaar, &input.number)
                .or_else(|e| NationalId::parse(IdKind::Vid, &input.number).map_err(|_| e)),
        );
        let mobile = check.take(
            "mobile",
            Phone::parse(&input.mobile, &self.regions_for(Some(&input.lang))),
        );
        if !input.consent {
            check.push(FieldError::new("consent", "aadhaar-consent-required"));
        }
        check.finish()?;
        let (Some(number), Some(mobile)) = (number, mobile) else {
            return Err(AppError::Internal(
                "form check passed without values".into(),
            ));
        };
        self.check_challenge(&input.challenge).await?;
        // The registry's message is one to this mobile: counted as ours are.
        let mut work = self.work().await?;
        self.identity
            .count_send(
                &mut work,
                &Recipient::Contact(Contact::Phone(mobile.clone())),
                actor,
            )
            .await?;
        work.commit().await?;
        let request = OtpRequest {
            request_id: format!("rq-{}", self.random.token(12)),
            kind: number.kind().as_str().to_string(),
            number: number.as_str().to_string(),
            mobile: mobile.as_str().to_string(),
        };
        let sent = self
            .registries
            .send_otp(&registry, &request)
            .await
            .map_err(|e| {
                tracing::warn!(registry = %registry, error = %e, "the Aadhaar code could not be asked for");
                AppError::field("number", "aadhaar-unavailable")
            })?;
        let OtpSent::Sent { txn } = sent else {
            return Err(AppError::field("mobile", "aadhaar-not-linked"));
        };
        let now = self.clock.now();
        let mut work = self.work().await?;
        let flow_key = self.random.token(16);
        let secret = Secret {
            kind: request.kind,
            number: request.number,
            person: None,
        };
        let payload = self
            .seal_payload(
                &mut work,
                &flow_key,
                &secret,
                txn,
                registry,
                &input.lang.tag(),
                now.millis(),
            )
            .await?;
        let flow = self
            .identity
            .start_verification(
                &mut work,
                NewVerification {
                    purpose: Purpose::Aadhaar,
                    user_id: None,
                    to: &Recipient::Contact(Contact::Phone(mobile)),
                    payload: serde_json::json!({ "key": flow_key, "payload": payload }),
                    lang: &input.lang,
                    deliver: false,
                },
            )
            .await?;
        work.commit().await?;
        Ok(flow)
    }

    #[allow(clippy::too_many_arguments)]
    async fn seal_payload(
        &self,
        work: &mut crate::core::Work<'_>,
        flow_key: &str,
        secret: &Secret,
        txn: String,
        registry: String,
        lang: &str,
        consent_at: i64,
    ) -> AppResult<Payload> {
        let plain = serde_json::to_vec(secret).map_err(|e| AppError::Internal(e.into()))?;
        let sealed = self
            .vault
            .seal(
                work,
                self.random.as_ref(),
                self.clock.now(),
                &context(flow_key),
                &plain,
            )
            .await?;
        Ok(Payload {
            txn,
            registry,
            key_id: sealed.key_id,
            sealed: sealed.text,
            lang: lang.to_string(),
            consent_at,
        })
    }

    /// A flow's key, payload and opened secret.
    async fn open_flow(
        &self,
        conn: &mut ekdwar_store::Conn,
        v: &verifications::Verification,
    ) -> AppResult<(String, Payload, Secret)> {
        let outer: serde_json::Value =
            serde_json::from_str(&v.payload).map_err(|e| AppError::Internal(e.into()))?;
        let key = outer["key"].as_str().unwrap_or_default().to_string();
        let payload: Payload = serde_json::from_value(outer["payload"].clone())
            .map_err(|e| AppError::Internal(e.into()))?;
        let plain = self
            .vault
            .open(
                conn,
                &Sealed {
                    key_id: payload.key_id.clone(),
                    text: payload.sealed.clone(),
                },
                &context(&key),
            )
            .await?;
        let secret: Secret =
            serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.into()))?;
        Ok((key, payload, secret))
    }

    /// Judges the code UIDAI sent, through UIDAI. A wrong one uses up an attempt.
    pub async fn verify_aadhaar_otp(&self, flow: &str, typed: &str) -> AppResult<AadhaarVerified> {
        let code = OtpCode::parse(typed)
            .map_err(|e| AppError::Form(vec![FieldError::from_code("code", &e)]))?;
        let mut conn = self.store.conn().await?;
        let v = self
            .identity
            .live_flow(&mut conn, flow, Purpose::Aadhaar)
            .await?;
        if v.verified_at.is_some() {
            return Ok(AadhaarVerified::NewAccount);
        }
        // Each guess takes an attempt before UIDAI is asked: concurrent guesses cannot share
        // one.
        let Some(attempts) = verifications::claim_attempt(&mut conn, &v.id).await? else {
            return Err(AppError::TooManyAttempts);
        };
        let (key, payload, secret) = self.open_flow(&mut conn, &v).await?;
        drop(conn);
        let verdict = self
            .registries
            .verify_otp(
                &payload.registry,
                &OtpCheck {
                    request_id: format!("rq-{}", self.random.token(12)),
                    txn: payload.txn.clone(),
                    otp: code.as_str().to_string(),
                },
            )
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "the Aadhaar code could not be judged");
                AppError::field("code", "aadhaar-unavailable")
            })?;
        let person = match verdict {
            OtpVerdict::Verified(p) => p,
            OtpVerdict::Expired => return Err(AppError::field("code", "aadhaar-code-expired")),
            OtpVerdict::Wrong => {
                let left = v.max_attempts - attempts;
                return Err(if left <= 0 {
                    AppError::TooManyAttempts
                } else {
                    AppError::CodeWrong {
                        attempts_left: left,
                    }
                });
            }
        };
        let mobile = Contact::from_trusted(v.channel, v.contact.clone());
        let mut work = self.work().await?;
        let blind = self.vault.blind(IdKind::Aadhaar.as_str(), &secret.number);
        let holder = match identifiers::holder(&mut work, &blind).await? {
            Some(id) => users::by_id(&mut work, &id).await?,
            None => users::by_contact(&mut work, &mobile).await?,
        };
        if let Some(owner) = holder {
            // They hold the linked mobile: they may know. The portal ID goes to that mobile.
            verifications::consume(&mut work, &v.id, self.clock.now()).await?;
            let lang = Lang::parse(&payload.lang).unwrap_or_else(Lang::english);
            self.identity
                .send_portal_id(&mut work, &owner, &mobile, &lang)
                .await?;
            work.commit().await?;
            return Ok(AadhaarVerified::HasAccount);
        }
        let secret = Secret {
            person: Some(person),
            ..secret
        };
        let payload = self
            .seal_payload(
                &mut work,
                &key,
                &secret,
                payload.txn,
                payload.registry,
                &payload.lang,
                payload.consent_at,
            )
            .await?;
        let outer = serde_json::json!({ "key": key, "payload": payload }).to_string();
        if !verifications::mark_verified_with(&mut work, &v.id, &outer, self.clock.now()).await? {
            return Err(AppError::FlowExpired);
        }
        work.commit().await?;
        Ok(AadhaarVerified::NewAccount)
    }

    /// The registry's names and a free portal ID, for the last step.
    pub async fn aadhaar_details(&self, flow: &str) -> AppResult<RegistrationDetails> {
        let mut conn = self.store.conn().await?;
        let v = self
            .identity
            .verified_flow(&mut conn, flow, Purpose::Aadhaar)
            .await?;
        let (_, _, secret) = self.open_flow(&mut conn, &v).await?;
        let person = secret.person.ok_or(AppError::FlowExpired)?;
        let (first, last) = names(&person)?;
        let suggested_portal_id = self
            .identity
            .suggest_portal_id(&mut conn, &first, &last)
            .await?;
        Ok(RegistrationDetails {
            first_name: first.as_str().to_string(),
            last_name: last.as_str().to_string(),
            contact: Contact::from_trusted(v.channel, v.contact)
                .as_str()
                .to_string(),
            suggested_portal_id,
        })
    }

    /// Opens the account with the registry's record: phone proven, Aadhaar confirmed.
    pub async fn complete_aadhaar_signup(
        &self,
        flow: &str,
        portal_id: &str,
        password: Password,
        confirm: Password,
        actor: &Actor,
    ) -> AppResult<LoggedIn> {
        let details = self.aadhaar_details(flow).await?;
        let (portal_id, hash) = self
            .identity
            .prepare_account(
                flow,
                portal_id,
                &password,
                &confirm,
                &[&details.first_name, &details.last_name, &details.contact],
            )
            .await?;
        let now = self.clock.now();
        let mut work = self.work().await?;
        let v = self
            .identity
            .verified_flow(&mut work, flow, Purpose::Aadhaar)
            .await?;
        let (_, payload, secret) = self.open_flow(&mut work, &v).await?;
        let person = secret.person.clone().ok_or(AppError::FlowExpired)?;
        if !verifications::consume(&mut work, &v.id, now).await? {
            return Err(AppError::FlowExpired);
        }
        let (first_name, last_name) = names(&person)?;
        let done = self
            .identity
            .open_account(
                &mut work,
                NewAccount {
                    portal_id,
                    first_name,
                    last_name,
                    contact: Contact::from_trusted(v.channel, v.contact.clone()),
                    password_hash: Some(hash),
                    lang: payload.lang,
                    consent_at: Timestamp::from_millis(payload.consent_at),
                    employee: None,
                },
                actor,
                "aadhaar",
            )
            .await?;
        self.confirmed_by_kyc(&mut work, &done.user, &person, &secret, &payload.registry)
            .await?;
        work.commit().await?;
        self.metrics.registrations.inc();
        Ok(done)
    }

    /// The new account's profile: the registry's record, the number, and its check already
    /// confirmed (the code proved the person holds the number's mobile, and the registry
    /// answered with its record).
    async fn confirmed_by_kyc(
        &self,
        work: &mut crate::core::Work<'_>,
        user: &ekdwar_store::identity::User,
        person: &Person,
        secret: &Secret,
        registry: &str,
    ) -> AppResult<()> {
        let now = self.clock.now();
        let country = self.aadhaar_country().ok_or(AppError::NotFound)?;
        let facts = ProfileFacts {
            country: country.code.clone(),
            middle_name: person.middle_name.clone().filter(|m| !m.trim().is_empty()),
            gender: person.gender.as_deref().and_then(Gender::parse),
            birth_date: person.birth_date.as_deref().and_then(|d| d.parse().ok()),
            ids: [(IdKind::Aadhaar, secret.number.clone())].into(),
            ..ProfileFacts::default()
        };
        self.put_facts(work, &user.id, &facts, None).await?;
        let item = CheckItem::Id(IdKind::Aadhaar);
        let blind = self.vault.blind(IdKind::Aadhaar.as_str(), &secret.number);
        // Another account may have been confirmed with it since the code step: then a
        // specialist looks, as for any number two accounts claim.
        let indexed =
            identifiers::index_identifier(work, &blind, &user.id, IdKind::Aadhaar.as_str(), now)
                .await?;
        store::start_check(
            work,
            &Check {
                user_id: user.id.clone(),
                item,
                registry: registry.to_string(),
                fingerprint: self.fingerprint(user, &facts, item),
                status: if indexed {
                    CheckStatus::Confirmed
                } else {
                    CheckStatus::Review
                },
                request_id: format!("rq-{}", self.random.token(12)),
                attempts: 1,
                detail: if indexed {
                    Some("e-kyc".into())
                } else {
                    Some("in-use".into())
                },
                started_at: now,
                updated_at: now,
            },
        )
        .await?;
        self.audit(
            work,
            &Actor::system(),
            Some(user.id.as_str()),
            AuditAction::ProfileChecked,
            Outcome::Success,
            Some(format!("{}:e-kyc", item.as_str())),
        )
        .await?;
        Ok(())
    }
}

/// The registry's names as an account's.
fn names(p: &Person) -> AppResult<(PersonName, PersonName)> {
    let bad = || AppError::Internal("the registry's record has no usable name".into());
    Ok((
        PersonName::parse(&p.first_name).map_err(|_| bad())?,
        PersonName::parse(&p.last_name).map_err(|_| bad())?,
    ))
}
