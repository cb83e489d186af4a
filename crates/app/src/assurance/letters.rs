//! The verified level by post: a standard account asks for a letter to the address in its
//! profile; `ekdwar letters export` prints the day's batch (each letter's 16-digit code is made
//! then, and only its keyed hash is kept); the citizen types the code with a national
//! identifier of their profile and the challenge. A wrong code counts; after
//! [`ProfileConfig::letter_attempts`](crate::config::ProfileConfig) the letter is spent and
//! another can be asked for. A mistyped code (its check digit) does not count.

use std::time::Duration;

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::national_id::{ActivationCode, NationalId};
use ekdwar_domain::profile::Address;
use ekdwar_domain::{AccountLevel, Timestamp, UserId};
use ekdwar_store::identity as users;
use ekdwar_store::letters::{self as store, Letter};
use ekdwar_store::profiles;

use super::Assurance;
use crate::audit::Actor;
use crate::captcha::ChallengeAnswer;
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::CurrentSession;

/// Where a person's letter stands, for their levels page.
#[derive(Debug, Clone)]
pub struct LetterView {
    pub requested_at: Timestamp,
    /// When it went to print; `None` while it waits for the batch.
    pub sent_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub attempts_left: i64,
}

/// One letter of a batch, to print and post (personal data: no debug form).
#[derive(Clone)]
pub struct LetterOut {
    pub id: String,
    pub lang: String,
    pub name: String,
    pub address: Address,
    pub code: ActivationCode,
    pub expires_at: Timestamp,
}

impl Assurance {
    fn code_hash(&self, letter: &str, code: &ActivationCode) -> String {
        self.vault.fingerprint(&[
            b"activation-letter",
            letter.as_bytes(),
            code.as_str().as_bytes(),
        ])
    }

    /// The person's open letter, if any.
    pub async fn letter(&self, user: &UserId) -> AppResult<Option<LetterView>> {
        let letter = store::open_of(&mut *self.store.read().await?, user).await?;
        let max = self.config.profile.letter_attempts;
        Ok(letter.map(|l| LetterView {
            requested_at: l.requested_at,
            sent_at: l.exported_at,
            expires_at: l.expires_at,
            attempts_left: (max - l.attempts).max(0),
        }))
    }

    /// Asks for a letter to the profile's address. Only a standard account with an address
    /// asks; one letter at a time (an expired one is replaced).
    pub async fn request_letter(&self, cur: &CurrentSession, actor: &Actor) -> AppResult<()> {
        let now = self.clock.now();
        let mut work = self.work().await?;
        profiles::lock(&mut work, &cur.user.id).await?;
        let user = users::by_id(&mut work, &cur.user.id)
            .await?
            .ok_or(AppError::NotFound)?;
        if user.level != AccountLevel::Standard {
            return Err(AppError::field("letter", "letter-not-standard"));
        }
        let (_, facts) = self.facts(&mut work, &user.id).await?;
        if facts.address.is_none() {
            return Err(AppError::field("letter", "letter-no-address"));
        }
        if let Some(open) = store::open_of(&mut work, &user.id).await? {
            if open.expires_at.is_none_or(|e| e > now) {
                return Err(AppError::field("letter", "letter-already-asked"));
            }
            store::close(&mut work, &open.id, now).await?;
        }
        let id = format!("L{}", self.random.id()[..12].to_uppercase());
        store::request(
            &mut work,
            &Letter {
                id: id.clone(),
                user_id: user.id.clone(),
                lang: self.identity.user_lang(&user).tag(),
                requested_at: now,
                exported_at: None,
                code_hash: None,
                expires_at: None,
                attempts: 0,
                closed_at: None,
            },
        )
        .await?;
        self.audit(
            &mut work,
            actor,
            Some(user.id.as_str()),
            AuditAction::LetterRequested,
            Outcome::Success,
            Some(id),
        )
        .await?;
        work.commit().await
    }

    /// Exports the letters waiting (at most `limit`): makes each one's code, keeps its hash,
    /// and hands the batch to `print` (which writes the files for the post office) before
    /// anything is committed; if printing fails, nothing is recorded and the letters wait for
    /// the next export. A letter whose account is no longer standard, or whose address is
    /// gone, is closed instead.
    pub async fn export_letters(
        &self,
        limit: i64,
        actor: &Actor,
        print: impl FnOnce(&[LetterOut]) -> Result<(), String>,
    ) -> AppResult<usize> {
        let now = self.clock.now();
        let valid = Duration::from_secs(self.config.profile.letter_valid_days * 86_400);
        let expires_at = now.plus(valid);
        let mut work = self.work().await?;
        let mut batch = Vec::new();
        for letter in store::pending(&mut work, limit).await? {
            let user = users::by_id(&mut work, &letter.user_id).await?;
            let (_, facts) = self.facts(&mut work, &letter.user_id).await?;
            let (Some(user), Some(address)) = (user, facts.address) else {
                store::close(&mut work, &letter.id, now).await?;
                continue;
            };
            if user.level != AccountLevel::Standard {
                store::close(&mut work, &letter.id, now).await?;
                continue;
            }
            let mut body = String::new();
            for _ in 0..15 {
                body.push(char::from(b'0' + self.random.below(10) as u8));
            }
            let code = ActivationCode::with_check_digit(&body)
                .map_err(|e| AppError::Internal(format!("an activation code: {e}").into()))?;
            let hash = self.code_hash(&letter.id, &code);
            if store::exported(&mut work, &letter.id, &hash, expires_at, now).await? {
                batch.push(LetterOut {
                    id: letter.id,
                    lang: letter.lang,
                    name: match &facts.middle_name {
                        Some(m) => format!(
                            "{} {} {}",
                            user.last_name.as_str(),
                            user.first_name.as_str(),
                            m
                        ),
                        None => user.full_name(),
                    },
                    address,
                    code,
                    expires_at,
                });
            }
        }
        if batch.is_empty() {
            return Ok(0);
        }
        print(&batch).map_err(|e| AppError::Internal(e.into()))?;
        self.audit(
            &mut work,
            actor,
            None,
            AuditAction::LettersExported,
            Outcome::Success,
            Some(batch.len().to_string()),
        )
        .await?;
        work.commit().await?;
        Ok(batch.len())
    }

    /// The citizen types the code of their letter with a national identifier of their
    /// profile (and the challenge): the account becomes verified.
    pub async fn enter_letter_code(
        &self,
        cur: &CurrentSession,
        code: &str,
        identifier: &str,
        challenge: &ChallengeAnswer,
        actor: &Actor,
    ) -> AppResult<()> {
        let code = ActivationCode::parse(code)
            .map_err(|e| AppError::Form(vec![FieldError::from_code("code", &e)]))?;
        self.check_challenge(challenge).await?;
        let now = self.clock.now();
        let max = self.config.profile.letter_attempts;
        let mut work = self.work().await?;
        profiles::lock(&mut work, &cur.user.id).await?;
        let user = users::by_id(&mut work, &cur.user.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let letter = store::open_of(&mut work, &user.id)
            .await?
            .filter(|l| l.exported_at.is_some())
            .ok_or_else(|| AppError::field("code", "letter-none"))?;
        if letter.expires_at.is_some_and(|e| e <= now) {
            return Err(AppError::field("code", "letter-expired"));
        }
        let (_, facts) = self.facts(&mut work, &user.id).await?;
        let id_matches = facts.ids.iter().any(|(kind, number)| {
            NationalId::parse(*kind, identifier).is_ok_and(|typed| typed.as_str() == number)
        });
        let code_matches = letter.code_hash.as_deref() == Some(&self.code_hash(&letter.id, &code));
        if !(id_matches && code_matches) {
            store::wrong_code(&mut work, &letter.id).await?;
            let left = max - letter.attempts - 1;
            if left <= 0 {
                store::close(&mut work, &letter.id, now).await?;
            }
            self.audit(
                &mut work,
                actor,
                Some(user.id.as_str()),
                AuditAction::LetterCodeEntered,
                Outcome::Failure,
                Some(letter.id.clone()),
            )
            .await?;
            work.commit().await?;
            return Err(if left <= 0 {
                AppError::field("code", "letter-spent")
            } else {
                AppError::Form(vec![
                    FieldError::new("code", "letter-code-wrong").arg("left", left),
                ])
            });
        }
        if !self.verifiable(&mut work, &user).await? {
            return Err(AppError::field("code", "letter-not-standard"));
        }
        store::close(&mut work, &letter.id, now).await?;
        self.audit(
            &mut work,
            actor,
            Some(user.id.as_str()),
            AuditAction::LetterCodeEntered,
            Outcome::Success,
            Some(letter.id.clone()),
        )
        .await?;
        self.raise_to_verified(&mut work, &user, actor, "letter-verified")
            .await?;
        work.commit().await
    }
}
