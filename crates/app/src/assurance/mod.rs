//! Proving who you are: the standard profile, shaped by the deployment's country profiles,
//! sealed at rest; its checks against state registries through the registry connector port;
//! and the levels they lead to (simplified → standard, in that order only).
//!
//! Saving a profile to be checked starts one check per item (the identity document, each
//! national identifier) on the jobs runner. Each check asks its registry, retries with
//! back-off while the registry is down or slow, waits as long as the registry says while it
//! is pending (days, if need be), and goes to a staff member's review when the registry asks
//! for one or stays silent past `profile.review_after_days`: no check is ever stuck. When the
//! last check ends, the person is told; when every item is confirmed, the account is standard.
//! Editing a checked item forgets its check and, if the level rested on it, lowers the level.

mod aadhaar;
mod checks;
mod countries;
mod in_person;
mod known;
mod letters;
mod registry;
mod review;
mod rotate;
mod upstream;

use std::sync::Arc;

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::national_id::IdKind;
use ekdwar_domain::profile::{CheckItem, CheckStatus, CountryProfile, ProfileFacts, ProfileInput};
use ekdwar_domain::{AccountLevel, UserId};
use ekdwar_store::identifiers;
use ekdwar_store::identity::{self as users, User};
use ekdwar_store::profiles::{self as store, Check, SealedProfile};

pub use aadhaar::{AadhaarSignup, AadhaarVerified};
pub use checks::REGISTRY_CHECK;
pub use countries::Countries;
pub use in_person::PersonCard;
pub use known::KnownFact;
pub use letters::{LetterOut, LetterView};
pub(crate) use registry::HttpRegistries;
pub use registry::{
    CheckRequest, OtpCheck, OtpRequest, OtpSent, OtpVerdict, Person, Registries, RegistryAnswer,
    RegistryError,
};
pub use review::{ReviewCase, ReviewRow, mismatch_fields};
pub use rotate::Rotated;

use crate::audit::Actor;
use crate::core::Work;
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::{CurrentSession, Identity};
use crate::vault::Sealed;

crate::core::service!(
    /// The standard profile, its registry checks and the levels they give.
    Assurance,
    identity: Identity,
    countries: Arc<Countries>,
    // The port to the state registries.
    registries: Arc<dyn Registries>
);

/// One checked item as its owner sees it.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub item: CheckItem,
    /// `None`: not sent for checking yet (or edited since).
    pub status: Option<CheckStatus>,
    /// For a mismatch, the fields to correct (form field names).
    pub fields: Vec<String>,
    /// For a review, why (`in-use`, `no-answer`, or the registry's reason).
    pub reason: Option<String>,
    /// How long the registry usually takes.
    pub expected_minutes: u64,
}

/// A person's profile as its page shows it.
#[derive(Debug, Clone)]
pub struct ProfileView {
    pub country: CountryProfile,
    /// The country profiles the deployment offers (codes).
    pub countries: Vec<String>,
    pub facts: ProfileFacts,
    /// Whether anything of it was saved.
    pub started: bool,
    /// Whether it was sent for checking (and not edited since).
    pub submitted: bool,
    pub items: Vec<ItemView>,
    /// Fields still needed before it can be sent.
    pub missing: Vec<&'static str>,
    pub level: AccountLevel,
}

impl ProfileView {
    /// Whether any item is still being checked.
    pub fn checking(&self) -> bool {
        self.items
            .iter()
            .any(|i| i.status == Some(CheckStatus::Checking))
    }
}

/// What the person asked for with the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Save {
    /// Keep what is filled in; send nothing yet.
    Later,
    /// Keep it and send it for checking.
    Check,
}

fn context(user: &UserId) -> String {
    format!("profile/{}", user.as_str())
}

impl Assurance {
    /// The accounts below it, for those above (the centre's desk registers and restores).
    pub(crate) fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The country profiles offered.
    pub fn countries(&self) -> &Countries {
        &self.countries
    }

    /// The facts of a person's profile (empty if they began none).
    pub(crate) async fn facts(
        &self,
        conn: &mut ekdwar_store::Conn,
        user: &UserId,
    ) -> AppResult<(Option<SealedProfile>, ProfileFacts)> {
        let Some(row) = store::get(conn, user).await? else {
            return Ok((None, ProfileFacts::default()));
        };
        let plain = self
            .vault
            .open(
                conn,
                &Sealed {
                    key_id: row.key_id.clone(),
                    text: row.sealed.clone(),
                },
                &context(user),
            )
            .await?;
        let facts = serde_json::from_slice(&plain)
            .map_err(|e| AppError::Internal(format!("a profile does not read: {e}").into()))?;
        Ok((Some(row), facts))
    }

    /// The keyed hash of what the check of `item` is about: the person's names and birth
    /// facts, and the item's own values. An edit of any of them changes it.
    fn fingerprint(&self, user: &User, facts: &ProfileFacts, item: CheckItem) -> String {
        let request = CheckRequest::of(user, facts, item, String::new());
        let body = serde_json::to_vec(&request).unwrap_or_default();
        self.vault.fingerprint(&[item.as_str().as_bytes(), &body])
    }

    /// The person's profile page: in the country they filled it in for, or `country` when
    /// they choose another (or the deployment's first).
    pub async fn profile(
        &self,
        cur: &CurrentSession,
        country: Option<&str>,
    ) -> AppResult<ProfileView> {
        let mut conn = self.store.conn().await?;
        let (row, facts) = self.facts(&mut conn, &cur.user.id).await?;
        let checks = store::checks(&mut conn, &cur.user.id).await?;
        let chosen = country
            .and_then(|c| self.countries.get(c))
            .or_else(|| self.countries.get(&facts.country))
            .unwrap_or_else(|| self.countries.first());
        let facts = if facts.country == chosen.code {
            facts
        } else {
            ProfileFacts {
                country: chosen.code.clone(),
                ..ProfileFacts::default()
            }
        };
        Ok(self.view(&cur.user, chosen, facts, row.as_ref(), &checks))
    }

    fn view(
        &self,
        user: &User,
        country: &CountryProfile,
        facts: ProfileFacts,
        row: Option<&SealedProfile>,
        checks: &[Check],
    ) -> ProfileView {
        let items = facts
            .items()
            .into_iter()
            .map(|item| {
                let check = checks.iter().find(|c| {
                    c.item == item && c.fingerprint == self.fingerprint(user, &facts, item)
                });
                let registry = country.registry_of(item, &facts).unwrap_or_default();
                ItemView {
                    item,
                    status: check.map(|c| c.status),
                    fields: check
                        .filter(|c| c.status == CheckStatus::Mismatch)
                        .and_then(|c| c.detail.as_deref())
                        .map(|d| d.split(',').map(str::to_string).collect())
                        .unwrap_or_default(),
                    reason: check
                        .filter(|c| c.status == CheckStatus::Review)
                        .and_then(|c| c.detail.clone()),
                    expected_minutes: self.registries.expected_minutes(registry),
                }
            })
            .collect();
        ProfileView {
            missing: country.missing(&facts),
            country: country.clone(),
            countries: self.countries.codes(),
            started: row.is_some(),
            submitted: row.is_some_and(|r| r.submitted_at.is_some()),
            facts,
            items,
            level: user.level,
        }
    }

    /// Saves the profile as typed in `country`'s form. Every answer is checked first; with
    /// any refused, nothing is saved and the errors name each field (the page keeps what was
    /// typed). `Save::Check` also needs every required answer, and starts the checks of the
    /// items that are new or changed.
    pub async fn save(
        &self,
        cur: &CurrentSession,
        country: &str,
        input: &ProfileInput,
        save: Save,
        actor: &Actor,
    ) -> AppResult<()> {
        let country = self.countries.get(country).ok_or_else(|| {
            AppError::Form(vec![FieldError::new("country", "profile-country-invalid")])
        })?;
        let (facts, problems) = country.read(input, self.today());
        let mut errors: Vec<FieldError> = problems
            .into_iter()
            .map(|(field, code)| FieldError::new(field, code))
            .collect();
        if save == Save::Check {
            let missing: Vec<FieldError> = country
                .missing(&facts)
                .into_iter()
                .filter(|f| !errors.iter().any(|e| e.field == *f))
                .map(|f| FieldError::new(f, "profile-required"))
                .collect();
            errors.extend(missing);
        }
        if !errors.is_empty() {
            return Err(AppError::Form(errors));
        }
        let now = self.clock.now();
        let mut work = self.work().await?;
        store::lock(&mut work, &cur.user.id).await?;
        let user = users::by_id(&mut work, &cur.user.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (row, before) = self.facts(&mut work, &user.id).await?;
        let checks = store::checks(&mut work, &user.id).await?;
        // Checks of items removed or changed are forgotten, with what rested on them.
        let mut lost_confirmed = false;
        for c in &checks {
            let same = facts.items().contains(&c.item)
                && c.fingerprint == self.fingerprint(&user, &facts, c.item);
            if !same {
                lost_confirmed |= c.status == CheckStatus::Confirmed;
                store::drop_check(&mut work, &user.id, c.item).await?;
                if let CheckItem::Id(kind) = c.item {
                    identifiers::unindex(&mut work, &user.id, kind.as_str()).await?;
                }
            }
        }
        if lost_confirmed && user.level > AccountLevel::Simplified {
            self.lower_level(&mut work, &user, actor).await?;
        }
        let changed = before != facts;
        let submitted_at = match save {
            Save::Check => Some(now),
            Save::Later if changed => None,
            Save::Later => row.as_ref().and_then(|r| r.submitted_at),
        };
        self.put_facts(&mut work, &user.id, &facts, submitted_at)
            .await?;
        let mut started = Vec::new();
        if save == Save::Check {
            for item in facts.items() {
                let fingerprint = self.fingerprint(&user, &facts, item);
                let current = checks
                    .iter()
                    .find(|c| c.item == item && c.fingerprint == fingerprint);
                if current.is_some_and(|c| c.status != CheckStatus::Mismatch) {
                    continue;
                }
                let registry = country.registry_of(item, &facts).ok_or_else(|| {
                    AppError::Internal(format!("no registry checks {}", item.as_str()).into())
                })?;
                self.start_check(&mut work, &user.id, item, registry, fingerprint)
                    .await?;
                started.push(item.as_str());
            }
        }
        self.audit(
            &mut work,
            actor,
            Some(user.id.as_str()),
            match save {
                Save::Check => AuditAction::ProfileSubmitted,
                Save::Later => AuditAction::ProfileSaved,
            },
            Outcome::Success,
            (!started.is_empty()).then(|| started.join(",")),
        )
        .await?;
        if save == Save::Check && started.is_empty() {
            // Nothing new to ask: the checks already ended; the level follows them.
            self.settle(&mut work, &user, actor).await?;
        }
        work.commit().await?;
        Ok(())
    }

    /// Seals and stores a person's profile facts.
    async fn put_facts(
        &self,
        work: &mut Work<'_>,
        user_id: &UserId,
        facts: &ProfileFacts,
        submitted_at: Option<ekdwar_domain::Timestamp>,
    ) -> AppResult<()> {
        let now = self.clock.now();
        let plain =
            serde_json::to_vec(facts).map_err(|e| AppError::Internal(e.to_string().into()))?;
        let sealed = self
            .vault
            .seal(work, self.random.as_ref(), now, &context(user_id), &plain)
            .await?;
        store::put(
            work,
            &SealedProfile {
                user_id: user_id.clone(),
                key_id: sealed.key_id,
                sealed: sealed.text,
                submitted_at,
                updated_at: now,
            },
        )
        .await?;
        Ok(())
    }

    /// Starts (or starts again) the check of `item` with a new request to `registry`.
    async fn start_check(
        &self,
        work: &mut Work<'_>,
        user_id: &UserId,
        item: CheckItem,
        registry: &str,
        fingerprint: String,
    ) -> AppResult<()> {
        let now = self.clock.now();
        let check = Check {
            user_id: user_id.clone(),
            item,
            registry: registry.to_string(),
            fingerprint,
            status: CheckStatus::Checking,
            request_id: format!("rq-{}", self.random.token(12)),
            attempts: 0,
            detail: None,
            started_at: now,
            updated_at: now,
        };
        store::start_check(work, &check).await?;
        self.enqueue_check(work, &check, now).await
    }

    /// After a change of the person's name (part of every check): each check made with the
    /// old name is started again if the profile was sent (or forgotten if not), and a level
    /// that rested on one is lowered with a notice.
    pub async fn recheck(&self, user_id: &UserId) -> AppResult<()> {
        let mut work = self.work().await?;
        store::lock(&mut work, user_id).await?;
        let Some(user) = users::by_id(&mut work, user_id).await? else {
            return Ok(());
        };
        let (row, facts) = self.facts(&mut work, user_id).await?;
        let submitted = row.as_ref().is_some_and(|r| r.submitted_at.is_some());
        let mut lost_confirmed = false;
        for c in store::checks(&mut work, user_id).await? {
            let fingerprint = self.fingerprint(&user, &facts, c.item);
            if c.fingerprint == fingerprint {
                continue;
            }
            lost_confirmed |= c.status == CheckStatus::Confirmed;
            if let CheckItem::Id(kind) = c.item {
                identifiers::unindex(&mut work, user_id, kind.as_str()).await?;
            }
            if submitted {
                self.start_check(&mut work, user_id, c.item, &c.registry, fingerprint)
                    .await?;
            } else {
                store::drop_check(&mut work, user_id, c.item).await?;
            }
        }
        if lost_confirmed && user.level > AccountLevel::Simplified {
            self.lower_level(&mut work, &user, &Actor::system()).await?;
        }
        work.commit().await?;
        Ok(())
    }

    /// Lowers a level that rested on a confirmed item the person changed, and tells them.
    async fn lower_level(&self, work: &mut Work<'_>, user: &User, actor: &Actor) -> AppResult<()> {
        self.set_level(work, user, AccountLevel::Simplified, actor, "level-lowered")
            .await
    }

    /// Puts `user` at `level`, audited as raised or lowered, and tells them with the
    /// message `notice`.
    async fn set_level(
        &self,
        work: &mut Work<'_>,
        user: &User,
        level: AccountLevel,
        actor: &Actor,
        notice: &'static str,
    ) -> AppResult<()> {
        users::set_level(work, &user.id, level, self.clock.now()).await?;
        self.audit(
            work,
            actor,
            Some(user.id.as_str()),
            if level > user.level {
                AuditAction::LevelRaised
            } else {
                AuditAction::LevelLowered
            },
            Outcome::Success,
            Some(level.as_str().into()),
        )
        .await?;
        self.identity.notify_owner(work, user, notice).await
    }

    /// After a check ends: when none is left checking, raises the level if every item is
    /// confirmed, and tells the person how the checks ended.
    async fn settle(&self, work: &mut Work<'_>, user: &User, actor: &Actor) -> AppResult<()> {
        let (row, facts) = self.facts(work, &user.id).await?;
        let Some(row) = row.filter(|r| r.submitted_at.is_some()) else {
            return Ok(());
        };
        let Some(country) = self.countries.get(&facts.country) else {
            return Ok(());
        };
        let checks = store::checks(work, &user.id).await?;
        let view = self.view(user, country, facts, Some(&row), &checks);
        if view.checking() {
            return Ok(());
        }
        let all_confirmed = view.missing.is_empty()
            && view
                .items
                .iter()
                .all(|i| i.status == Some(CheckStatus::Confirmed));
        if all_confirmed && user.level < AccountLevel::Standard {
            self.set_level(
                work,
                user,
                AccountLevel::Standard,
                actor,
                "profile-confirmed",
            )
            .await
        } else if !all_confirmed {
            self.identity
                .notify_owner(work, user, "profile-not-confirmed")
                .await
        } else {
            Ok(())
        }
    }

    /// Whether a standard account's every item is still confirmed, so that it may become
    /// verified.
    async fn verifiable(&self, work: &mut Work<'_>, user: &User) -> AppResult<bool> {
        let checks = store::checks(work, &user.id).await?;
        Ok(user.level == AccountLevel::Standard
            && !checks.is_empty()
            && checks.iter().all(|c| c.status == CheckStatus::Confirmed))
    }

    /// Raises a [`verifiable`](Self::verifiable) account to verified, audited, and tells the
    /// person with the message `notice`.
    async fn raise_to_verified(
        &self,
        work: &mut Work<'_>,
        user: &User,
        actor: &Actor,
        notice: &'static str,
    ) -> AppResult<()> {
        self.set_level(work, user, AccountLevel::Verified, actor, notice)
            .await
    }

    /// A confirmed identifier enters the blind index; one that another account already
    /// holds goes to review instead (two accounts of one person, or a mistake).
    async fn index_confirmed(
        &self,
        work: &mut Work<'_>,
        user: &User,
        check: Check,
    ) -> AppResult<Check> {
        let CheckItem::Id(kind) = check.item else {
            return Ok(check);
        };
        let (_, facts) = self.facts(work, &user.id).await?;
        let Some(number) = facts.ids.get(&kind) else {
            return Ok(check);
        };
        let blind = self.vault.blind(kind.as_str(), number);
        if identifiers::index_identifier(work, &blind, &user.id, kind.as_str(), self.clock.now())
            .await?
        {
            Ok(check)
        } else {
            Ok(Check {
                status: CheckStatus::Review,
                detail: Some("in-use".into()),
                ..check
            })
        }
    }

    /// The account holding a confirmed identifier, if any (login by SNILS, recovery).
    pub async fn holder_of(&self, kind: IdKind, number: &str) -> AppResult<Option<UserId>> {
        let blind = self.vault.blind(kind.as_str(), number);
        Ok(identifiers::holder(&mut *self.store.conn().await?, &blind).await?)
    }
}
