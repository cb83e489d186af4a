//! The specialists' queue: checks a registry sent to review, or that stayed unanswered, or
//! whose number another account holds. Only an account with the reviewer role sees it (to
//! anyone else it does not exist); a reviewer never decides a check of their own; every case
//! opened is audited as a view of the person's data.

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::profile::{CheckItem, CheckStatus, ProfileFacts};
use ekdwar_domain::{Role, Timestamp, UserId};
use ekdwar_store::identity as users;
use ekdwar_store::profiles::{self as store, Check};

use super::Assurance;
use crate::audit::Actor;
use crate::error::{AppError, AppResult};

/// One check waiting for a specialist, as the queue lists it.
#[derive(Debug, Clone)]
pub struct ReviewRow {
    pub user_id: UserId,
    pub name: String,
    pub item: CheckItem,
    pub registry: String,
    /// Why it is here: `in-use`, `no-answer`, or the registry's reason.
    pub reason: Option<String>,
    /// Since when it waits.
    pub since: Timestamp,
}

/// One case opened: the row, and the facts the decision rests on.
#[derive(Debug, Clone)]
pub struct ReviewCase {
    pub row: ReviewRow,
    pub portal_id: String,
    pub facts: ProfileFacts,
}

/// The fields a specialist may name as not matching, for an item.
pub fn mismatch_fields(item: CheckItem) -> &'static [&'static str] {
    match item {
        CheckItem::Document => &[
            "last_name",
            "first_name",
            "middle_name",
            "birth_date",
            "series",
            "number",
            "issued_on",
        ],
        CheckItem::Id(_) => &[
            "last_name",
            "first_name",
            "middle_name",
            "birth_date",
            "gender",
            "number",
        ],
    }
}

impl Assurance {
    /// Refuses anyone but a reviewer, as if the queue did not exist.
    async fn reviewer(&self, by: &UserId) -> AppResult<()> {
        let user = users::by_id(&mut *self.store.read().await?, by).await?;
        match user {
            Some(u) if u.role == Role::Reviewer => Ok(()),
            _ => Err(AppError::NotFound),
        }
    }

    async fn row(&self, c: &Check) -> AppResult<Option<ReviewRow>> {
        let user = users::by_id(&mut *self.store.read().await?, &c.user_id).await?;
        Ok(user.map(|u| ReviewRow {
            user_id: c.user_id.clone(),
            name: u.full_name(),
            item: c.item,
            registry: c.registry.clone(),
            reason: c.detail.clone(),
            since: c.updated_at,
        }))
    }

    /// The checks waiting for a specialist, oldest first; a reviewer's own are not among them.
    pub async fn review_queue(&self, by: &UserId) -> AppResult<Vec<ReviewRow>> {
        self.reviewer(by).await?;
        let checks = store::in_review(&mut *self.store.read().await?, 100).await?;
        let mut rows = Vec::new();
        for c in checks.iter().filter(|c| &c.user_id != by) {
            rows.extend(self.row(c).await?);
        }
        Ok(rows)
    }

    /// One case, with the facts to decide it by; the view is audited.
    pub async fn review_case(
        &self,
        by: &UserId,
        user_id: &UserId,
        item: CheckItem,
        actor: &Actor,
    ) -> AppResult<ReviewCase> {
        self.reviewer(by).await?;
        if by == user_id {
            return Err(AppError::NotFound);
        }
        let mut work = self.work().await?;
        let check = store::check(&mut work, user_id, item)
            .await?
            .filter(|c| c.status == CheckStatus::Review)
            .ok_or(AppError::NotFound)?;
        let user = users::by_id(&mut work, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (_, facts) = self.facts(&mut work, user_id).await?;
        self.audit(
            &mut work,
            actor,
            Some(user_id.as_str()),
            AuditAction::ProfileViewed,
            Outcome::Success,
            Some(format!("review {}", item.as_str())),
        )
        .await?;
        work.commit().await?;
        Ok(ReviewCase {
            row: ReviewRow {
                user_id: user_id.clone(),
                name: user.full_name(),
                item,
                registry: check.registry,
                reason: check.detail,
                since: check.updated_at,
            },
            portal_id: user.portal_id.as_str().to_string(),
            facts,
        })
    }

    /// A reviewer's decision on a check under review (`confirm`: the document or number was
    /// seen to be the person's; otherwise a mismatch naming `fields`, which must be among
    /// [`mismatch_fields`]).
    pub async fn decide_review(
        &self,
        by: &UserId,
        user_id: &UserId,
        item: CheckItem,
        confirm: bool,
        fields: &[String],
        actor: &Actor,
    ) -> AppResult<()> {
        self.reviewer(by).await?;
        if by == user_id {
            return Err(AppError::NotFound);
        }
        let allowed = mismatch_fields(item);
        if !confirm && (fields.is_empty() || fields.iter().any(|f| !allowed.contains(&f.as_str())))
        {
            return Err(AppError::field("fields", "review-fields-missing"));
        }
        let mut work = self.work().await?;
        store::lock(&mut work, user_id).await?;
        let user = users::by_id(&mut work, user_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let check = store::check(&mut work, user_id, item)
            .await?
            .filter(|c| c.status == CheckStatus::Review)
            .ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        let mut decided = Check {
            status: if confirm {
                CheckStatus::Confirmed
            } else {
                CheckStatus::Mismatch
            },
            detail: (!confirm).then(|| fields.join(",")),
            updated_at: now,
            ..check
        };
        if confirm {
            decided = self.index_confirmed(&mut work, &user, decided).await?;
            if decided.status == CheckStatus::Review {
                // Another account holds the number: it cannot be this one's too.
                return Err(AppError::field("fields", "review-number-held"));
            }
        }
        store::answer(&mut work, &decided).await?;
        self.audit(
            &mut work,
            actor,
            Some(user_id.as_str()),
            AuditAction::ProfileReviewed,
            Outcome::Success,
            Some(format!("{}:{}", item.as_str(), decided.status)),
        )
        .await?;
        self.settle(&mut work, &user, actor).await?;
        work.commit().await?;
        Ok(())
    }
}
