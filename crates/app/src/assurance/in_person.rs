//! The verified level in person: at a centre that offers identity confirmation, an operator
//! finds the citizen (phone, e-mail, portal ID or a confirmed national identifier), compares
//! the document in front of them with the checked profile, and confirms. The centre's side
//! (who works where, and what each centre may do) is the appointments capability's; this is
//! what it asks of assurance: the person's card (each opening audited) and the confirmation.

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::catalog::Texts;
use ekdwar_domain::national_id::{IdKind, NationalId};
use ekdwar_domain::profile::{CheckStatus, ProfileFacts};
use ekdwar_domain::{AccountLevel, UserId};
use ekdwar_store::identity as users;
use ekdwar_store::profiles as store;

use super::{Assurance, ItemView};
use crate::audit::Actor;
use crate::error::{AppError, AppResult};

/// A person as the operator confirming them sees them.
#[derive(Debug, Clone)]
pub struct PersonCard {
    pub user_id: UserId,
    pub portal_id: String,
    pub name: String,
    pub level: AccountLevel,
    pub facts: ProfileFacts,
    pub items: Vec<ItemView>,
}

impl PersonCard {
    /// Whether access may be restored at a desk: the identity is checked (standard or above),
    /// so the operator has something to compare the document with.
    pub fn restorable(&self) -> bool {
        self.level >= AccountLevel::Standard && self.checked()
    }

    /// Whether every item of the profile is confirmed (the standard level rests on it).
    pub fn checked(&self) -> bool {
        !self.items.is_empty()
            && self
                .items
                .iter()
                .all(|i| i.status == Some(CheckStatus::Confirmed))
    }
}

impl Assurance {
    /// The account a query names: its portal ID, phone or e-mail, or a national identifier
    /// confirmed for it.
    pub async fn find_person(&self, query: &str) -> AppResult<Option<UserId>> {
        if let Some(found) = self.identity.admin_find_user(query).await? {
            return Ok(Some(found.id));
        }
        for kind in IdKind::ALL {
            if let Ok(id) = NationalId::parse(*kind, query)
                && let Some(holder) = self.holder_of(id.kind(), id.as_str()).await?
            {
                return Ok(Some(holder));
            }
        }
        Ok(None)
    }

    /// A person's card for staff (`why` names where, for the audit): the view is audited.
    pub async fn card(&self, user_id: &UserId, why: &str, actor: &Actor) -> AppResult<PersonCard> {
        let mut work = self.work().await?;
        let user = users::by_id(&mut work, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (row, facts) = self.facts(&mut work, user_id).await?;
        let checks = store::checks(&mut work, user_id).await?;
        let country = self
            .countries
            .get(&facts.country)
            .unwrap_or_else(|| self.countries.first());
        let view = self.view(&user, country, facts, row.as_ref(), &checks);
        self.audit(
            &mut work,
            actor,
            Some(user_id.as_str()),
            AuditAction::ProfileViewed,
            Outcome::Success,
            Some(why.to_string()),
        )
        .await?;
        work.commit().await?;
        Ok(PersonCard {
            user_id: user.id.clone(),
            portal_id: user.portal_id.as_str().to_string(),
            name: user.full_name(),
            level: user.level,
            facts: view.facts,
            items: view.items,
        })
    }

    /// Raises a standard account to verified after an operator saw the person and their
    /// document: `operator` is the staff member, `centre` the centre's name (both shown in the
    /// person's security log, the name in their language). Nobody raises their own account; only a standard account
    /// whose profile is still fully confirmed is raised.
    pub async fn confirm_in_person(
        &self,
        user_id: &UserId,
        operator: &UserId,
        centre: &Texts,
        actor: &Actor,
    ) -> AppResult<()> {
        if user_id == operator {
            return Err(AppError::field("person", "desk-own-account"));
        }
        let mut work = self.work().await?;
        store::lock(&mut work, user_id).await?;
        let user = users::by_id(&mut work, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let staff = users::by_id(&mut work, operator)
            .await?
            .ok_or(AppError::NotFound)?;
        match user.level {
            AccountLevel::Simplified => return Err(AppError::field("person", "desk-not-standard")),
            AccountLevel::Verified => {
                return Err(AppError::field("person", "desk-already-verified"));
            }
            AccountLevel::Standard => {}
        }
        if !self.verifiable(&mut work, &user).await? {
            return Err(AppError::field("person", "desk-not-standard"));
        }
        self.audit(
            &mut work,
            actor,
            Some(user_id.as_str()),
            AuditAction::IdentityConfirmed,
            Outcome::Success,
            Some(format!(
                "{}\t{}",
                centre.get(user.language.as_deref().unwrap_or("en"), "en"),
                staff.full_name()
            )),
        )
        .await?;
        self.raise_to_verified(&mut work, &user, actor, "identity-confirmed")
            .await?;
        work.commit().await?;
        Ok(())
    }
}
