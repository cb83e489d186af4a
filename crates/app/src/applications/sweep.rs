//! What happens to applications with time: an application past its state's working-day
//! deadline is escalated (once per state) to the role the workflow names, in the scope of the
//! application, or moved on by the action the state names for its deadline (an offer not
//! answered lapses); a draft left untouched is deleted, after a reminder. The jobs runner calls
//! [`Applications::sweep`] periodically; every change is one conditional update, so two
//! workers sweeping at once do each thing once.

use std::time::Duration;

use ekdwar_domain::UserId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_store::applications as store;
use ekdwar_store::staff;

use super::Applications;
use crate::audit::Actor;
use crate::error::AppResult;

/// How many of each are handled per sweep (the next sweep takes the rest).
const BATCH: i64 = 200;

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    /// Applications escalated for passing their deadline.
    pub escalated: usize,
    /// Officers told of them.
    pub officers_told: usize,
    /// Applications the portal moved on by itself at their deadline (lapsed offers).
    pub lapsed: usize,
    /// Drafts whose owners were reminded.
    pub reminded: usize,
    /// Drafts deleted.
    pub expired: usize,
}

const DAY: Duration = Duration::from_secs(86_400);

impl Applications {
    /// Escalates overdue applications and reminds of, then deletes, untouched drafts.
    pub async fn sweep(&self) -> AppResult<Swept> {
        let mut swept = Swept::default();
        self.escalate(&mut swept).await?;
        self.expire_drafts(&mut swept).await?;
        Ok(swept)
    }

    async fn escalate(&self, swept: &mut Swept) -> AppResult<()> {
        let today = self.today().to_string();
        let overdue = store::overdue(&mut *self.store.read().await?, &today, BATCH).await?;
        for a in overdue {
            let due = a.due_on.clone().unwrap_or_default();
            let loaded = self.load(a).await?;
            if let Some(action) = loaded
                .service
                .state(&loaded.state)
                .and_then(|s| s.on_deadline.as_ref())
                .and_then(|id| {
                    loaded
                        .service
                        .workflow
                        .iter()
                        .flat_map(|w| &w.actions)
                        .find(|a| &a.id == id)
                })
            {
                if self.act_on_deadline(&loaded, action).await? {
                    swept.lapsed += 1;
                }
                continue;
            }
            let Some(role) = loaded
                .service
                .state(&loaded.state)
                .and_then(|s| s.escalate_to.clone())
            else {
                // A deadline with no one to tell is still marked, so it is not read again.
                let mut work = self.work().await?;
                store::mark_escalated(&mut work, &loaded.id, &loaded.state, self.clock.now())
                    .await?;
                work.commit().await?;
                continue;
            };
            let holders = staff::holding(
                &mut *self.store.read().await?,
                &role,
                &loaded.service.department,
            )
            .await?;
            let told: Vec<UserId> = holders
                .into_iter()
                .filter(|(_, scope)| self.covers(scope, &loaded))
                .map(|(user, _)| user)
                .collect();
            // Read before the write starts: the unit of work holds the writer.
            let mut officers = Vec::new();
            for user in &told {
                if let Some(officer) = self.identity.admin_find_user(user.as_str()).await? {
                    officers.push(officer);
                }
            }
            let mut work = self.work().await?;
            if !store::mark_escalated(&mut work, &loaded.id, &loaded.state, self.clock.now())
                .await?
            {
                continue;
            }
            let arn = loaded.arn.as_ref().map_or(String::new(), |a| a.to_string());
            for officer in &officers {
                let lang = self.language_of(officer);
                let tag = lang.tag();
                self.tell_with(
                    &mut work,
                    officer,
                    &lang,
                    "application-overdue",
                    vec![
                        ("arn", arn.clone()),
                        ("service", loaded.service.name.get(&tag, "en").to_string()),
                        (
                            "state",
                            loaded
                                .state_label()
                                .map(|t| t.get(&tag, "en").to_string())
                                .unwrap_or_default(),
                        ),
                        ("due", due.clone()),
                    ],
                )
                .await?;
                swept.officers_told += 1;
            }
            self.audit(
                &mut work,
                &Actor::system(),
                Some(&loaded.owner),
                AuditAction::ApplicationEscalated,
                Outcome::Success,
                Some(format!(
                    "{arn} {} due {due} to {role} ({})",
                    loaded.state,
                    told.len()
                )),
            )
            .await?;
            work.commit().await?;
            swept.escalated += 1;
        }
        Ok(())
    }

    /// Takes the action a state names for its deadline (an unanswered offer lapses), as the
    /// portal; false if the application moved meanwhile or its owner is gone.
    async fn act_on_deadline(
        &self,
        loaded: &super::Loaded,
        action: &ekdwar_domain::catalog::WorkflowAction,
    ) -> AppResult<bool> {
        let Some(applicant) = self.account(&loaded.owner).await? else {
            return Ok(false);
        };
        let lang = self.language_of(&applicant);
        let taken = self
            .step(super::Step_ {
                loaded,
                action,
                by: None,
                role: "portal",
                comment: None,
                reopened: Vec::new(),
                applicant: &applicant,
                lang: &lang,
                actor: &Actor::system(),
            })
            .await;
        match taken {
            Ok(()) => Ok(true),
            // Someone acted first (the parent accepted at the last minute).
            Err(crate::error::AppError::Form(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn expire_drafts(&self, swept: &mut Swept) -> AppResult<()> {
        let policy = &self.config.applications;
        let now = self.clock.now();
        let keep = DAY * policy.draft_days;
        let remind_after = DAY * policy.draft_days.saturating_sub(policy.draft_reminder_days);
        // First the drafts that are gone (reminded before), then the ones to remind.
        // A draft is deleted only once its owner has had the reminder's days to act.
        let notice = DAY * policy.draft_reminder_days;
        let expired = store::drafts_to_expire(
            &mut *self.store.read().await?,
            now.minus(keep),
            now.minus(notice),
            BATCH,
        )
        .await?;
        for a in expired {
            let mut work = self.work().await?;
            if !store::expire_draft(&mut work, &a.id, a.updated_at).await? {
                continue;
            }
            self.audit(
                &mut work,
                &Actor::system(),
                Some(&a.user_id),
                AuditAction::ApplicationExpired,
                Outcome::Success,
                Some(format!("{} {}", a.service, a.id)),
            )
            .await?;
            work.commit().await?;
            swept.expired += 1;
        }
        let stale = store::drafts_to_remind(
            &mut *self.store.read().await?,
            now.minus(remind_after),
            BATCH,
        )
        .await?;
        for a in stale {
            let Some(owner) = self.identity.admin_find_user(a.user_id.as_str()).await? else {
                continue;
            };
            let lang = self.language_of(&owner);
            let service = self
                .catalog
                .snapshot()
                .service(&a.service)
                .map(|(_, s)| s.name.get(&lang.tag(), "en").to_string())
                .unwrap_or_else(|| a.service.clone());
            // The day it goes: its last change plus the days a draft is kept, and never
            // before the reminder's days have passed.
            let ends = a
                .updated_at
                .plus(keep)
                .millis()
                .max(now.plus(notice).millis());
            let ends = jiff::Timestamp::from_millisecond(ends)
                .map(|t| t.to_zoned(self.time_zone.clone()).date().to_string())
                .unwrap_or_default();
            let mut work = self.work().await?;
            if !store::mark_reminded(&mut work, &a.id, a.updated_at, now).await? {
                continue;
            }
            self.tell_with(
                &mut work,
                &owner,
                &lang,
                "draft-expiring",
                vec![("service", service), ("date", ends)],
            )
            .await?;
            work.commit().await?;
            swept.reminded += 1;
        }
        Ok(())
    }
}
