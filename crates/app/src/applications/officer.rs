//! Officers: their assignments, their queue, the application as they see it (every view
//! recorded against the citizen), and the workflow's actions. An officer sees only what their
//! department, region or office covers; anything else is "not found".

use ekdwar_domain::audit::{AuditAction, Outcome};
use std::collections::BTreeMap;

use ekdwar_domain::catalog::answers::Typed;
use ekdwar_domain::catalog::{ActionKind, WorkflowAction};
use ekdwar_domain::{ApplicationId, UserId};
use ekdwar_store::applications as store;
use ekdwar_store::staff;

use super::{Applications, Loaded, Step_, internal};
use crate::audit::Actor;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Lang;

pub use ekdwar_store::staff::Assignment;

/// The most applications a queue shows at once (the oldest first).
const QUEUE_LIMIT: i64 = 500;

/// A line of an officer's queue.
#[derive(Debug, Clone)]
pub struct QueueItem {
    /// The application.
    pub loaded: Loaded,
    /// Past its state's deadline (working days of its office's region).
    pub overdue: bool,
}

impl Applications {
    /// Gives `user` a workflow role in a department (optionally a region or an office).
    pub async fn assign(&self, user: &UserId, a: &Assignment, actor: &Actor) -> AppResult<()> {
        let snapshot = self.catalog.snapshot();
        if snapshot.entries.department(&a.department).is_none() {
            return Err(AppError::field("department", "officer-unknown-department"));
        }
        if let Some(r) = &a.region
            && !snapshot.entries.has_region(r)
        {
            return Err(AppError::field("region", "officer-unknown-region"));
        }
        if let Some(o) = &a.office
            && snapshot
                .entries
                .office(o)
                .is_none_or(|x| x.department != a.department)
        {
            return Err(AppError::field("office", "officer-unknown-office"));
        }
        if !ekdwar_domain::catalog::is_code(&a.role) || a.role == "applicant" {
            return Err(AppError::field("role", "officer-bad-role"));
        }
        let mut work = self.work().await?;
        staff::assign(&mut work, user, a, self.clock.now()).await?;
        self.audit(
            &mut work,
            actor,
            Some(user),
            AuditAction::OfficerAssigned,
            Outcome::Success,
            Some(format!(
                "{} {} {} {}",
                a.role,
                a.department,
                a.region.as_deref().unwrap_or("-"),
                a.office.as_deref().unwrap_or("-")
            )),
        )
        .await?;
        work.commit().await
    }

    /// Gives the demo officer (`officer.jaipur`) the roles of the demo services in Rajasthan,
    /// once.
    pub async fn seed_demo_officer(&self) -> AppResult<()> {
        let Some(officer) = self.identity.admin_find_user("officer.jaipur").await? else {
            return Ok(());
        };
        if !self.assignments(&officer.id).await?.is_empty() {
            return Ok(());
        }
        for (role, department) in [
            ("passport-officer", "mea"),
            ("passport-granting-officer", "mea"),
            ("passport-supervisor", "mea"),
            ("passport-cse", "mea"),
            ("police-verifier", "mea"),
            ("tehsildar", "rj-revenue"),
        ] {
            let a = Assignment {
                role: role.into(),
                department: department.into(),
                region: Some("IN-RJ".into()),
                office: None,
            };
            self.assign(&officer.id, &a, &Actor::command_line()).await?;
        }
        Ok(())
    }

    /// A person's assignments (none: not an officer).
    pub async fn assignments(&self, user: &UserId) -> AppResult<Vec<Assignment>> {
        Ok(staff::of_user(&mut *self.store.read().await?, user).await?)
    }

    /// Whether `a` covers the application.
    pub(super) fn covers(&self, a: &Assignment, app: &Loaded) -> bool {
        if a.department != app.service.department {
            return false;
        }
        let snapshot = self.catalog.snapshot();
        let office_region = app
            .office
            .as_deref()
            .and_then(|o| snapshot.entries.office(o))
            .map(|x| x.region.clone());
        match (&a.office, &a.region) {
            (Some(o), _) => app.office.as_deref() == Some(o.as_str()),
            // Where the application was made: its office's region, or, for a service without
            // offices, the regions the service is offered in (the Rajasthan income
            // certificate is Rajasthan's).
            (None, Some(r)) => match office_region {
                Some(or) => snapshot.entries.within(&or, r),
                None => {
                    !app.service.regions.is_empty()
                        && app
                            .service
                            .regions
                            .iter()
                            .all(|sr| snapshot.entries.within(sr, r))
                }
            },
            (None, None) => true,
        }
    }

    /// The roles an officer holds over this application.
    fn roles_over(&self, assignments: &[Assignment], app: &Loaded) -> Vec<String> {
        assignments
            .iter()
            .filter(|a| self.covers(a, app))
            .map(|a| a.role.clone())
            .collect()
    }

    /// The actions `roles` may take on the application now.
    pub fn officer_actions<'a>(
        &self,
        roles: &[String],
        app: &'a Loaded,
    ) -> Vec<&'a ekdwar_domain::catalog::WorkflowAction> {
        app.service
            .workflow
            .iter()
            .flat_map(|w| &w.actions)
            .filter(|a| a.from.contains(&app.state) && a.roles.iter().any(|r| roles.contains(r)))
            .collect()
    }

    /// The applications an officer may act on now, oldest first, with their deadlines.
    pub async fn queue(&self, officer: &UserId) -> AppResult<Vec<QueueItem>> {
        let assignments = self.assignments(officer).await?;
        let mut departments: Vec<&str> =
            assignments.iter().map(|a| a.department.as_str()).collect();
        departments.sort_unstable();
        departments.dedup();
        let snapshot = self.catalog.snapshot();
        let today = self.today();
        let mut out = Vec::new();
        for dept in departments {
            // Every non-final state of the department's services where one of the officer's
            // roles has an action.
            let roles: Vec<&str> = assignments
                .iter()
                .filter(|a| a.department == dept)
                .map(|a| a.role.as_str())
                .collect();
            let mut states: Vec<String> = snapshot
                .offered(None)
                .filter(|s| s.department == dept)
                .flat_map(|s| s.workflow.iter().flat_map(|w| &w.actions))
                .filter(|a| a.roles.iter().any(|r| roles.contains(&r.as_str())))
                .flat_map(|a| a.from.iter().cloned())
                .collect();
            states.sort();
            states.dedup();
            // The offices the officer's scope covers (none: the whole department).
            let scopes: Vec<&Assignment> = assignments
                .iter()
                .filter(|a| a.department == dept)
                .collect();
            let offices: Vec<store::Office<'_>> = if scopes
                .iter()
                .any(|a| a.office.is_none() && a.region.is_none())
            {
                vec![store::Office::Any]
            } else {
                snapshot
                    .entries
                    .file()
                    .offices
                    .iter()
                    .filter(|o| o.department == dept)
                    .filter(|o| {
                        scopes.iter().any(|a| match (&a.office, &a.region) {
                            (Some(code), _) => *code == o.code,
                            (None, Some(r)) => snapshot.entries.within(&o.region, r),
                            (None, None) => true,
                        })
                    })
                    .map(|o| store::Office::One(&o.code))
                    // Applications of services without offices are scoped by the service's
                    // regions (`covers`): they are read too.
                    .chain([store::Office::Without])
                    .collect()
            };
            // One index range per state and office, merged by submission.
            let mut rows = Vec::new();
            {
                let mut conn = self.store.read().await?;
                for state in &states {
                    for office in &offices {
                        rows.extend(
                            store::queue(&mut conn, dept, state, *office, QUEUE_LIMIT).await?,
                        );
                    }
                }
            }
            rows.sort_by(|a, b| (a.submitted_at, &a.id).cmp(&(b.submitted_at, &b.id)));
            rows.truncate(QUEUE_LIMIT as usize);
            for row in rows {
                let loaded = self.load(row).await?;
                let held = self.roles_over(&assignments, &loaded);
                if self.officer_actions(&held, &loaded).is_empty() {
                    continue;
                }
                let overdue = loaded.due_on.is_some_and(|d| d < today);
                out.push(QueueItem { loaded, overdue });
            }
        }
        Ok(out)
    }

    /// An application as an officer sees it, and the roles they hold over it; not found
    /// outside their assignments. Every view is recorded against the citizen.
    pub async fn inspect(
        &self,
        officer: &UserId,
        id: &ApplicationId,
        actor: &Actor,
    ) -> AppResult<(Loaded, Vec<String>)> {
        let (loaded, roles) = self.in_scope(officer, id).await?;
        let mut work = self.work().await?;
        self.audit(
            &mut work,
            actor,
            Some(&loaded.owner),
            AuditAction::ApplicationViewed,
            Outcome::Success,
            loaded.arn.as_ref().map(|a| a.as_str().to_string()),
        )
        .await?;
        work.commit().await?;
        Ok((loaded, roles))
    }

    /// The questions whose answers were facts of the applicant's checked profile when it was
    /// submitted (none recorded for applications submitted before this was kept).
    pub async fn checked_answers(&self, id: &ApplicationId) -> AppResult<Vec<String>> {
        let json = store::checked_facts(&mut *self.store.read().await?, id).await?;
        let map: std::collections::BTreeMap<String, String> = json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default();
        Ok(map.into_keys().collect())
    }

    /// A submitted application and the roles `officer` holds over it; not found outside
    /// their assignments (and for drafts).
    async fn in_scope(
        &self,
        officer: &UserId,
        id: &ApplicationId,
    ) -> AppResult<(Loaded, Vec<String>)> {
        let assignments = self.assignments(officer).await?;
        let row = store::by_id(&mut *self.store.read().await?, id)
            .await?
            .filter(|a| a.state != store::DRAFT)
            .ok_or(AppError::NotFound)?;
        let loaded = self.load(row).await?;
        let roles = self.roles_over(&assignments, &loaded);
        if roles.is_empty() {
            return Err(AppError::NotFound);
        }
        Ok((loaded, roles))
    }

    /// An officer takes a workflow action: a comment is required to ask for a correction (with
    /// the answers to reopen) and a reason to reject.
    #[allow(clippy::too_many_arguments)]
    pub async fn act(
        &self,
        officer: &UserId,
        id: &ApplicationId,
        action_id: &str,
        comment: &str,
        reason: &str,
        reopen: &[String],
        actor: &Actor,
    ) -> AppResult<()> {
        let (loaded, roles) = self.in_scope(officer, id).await?;
        let action = self
            .officer_actions(&roles, &loaded)
            .into_iter()
            .find(|a| a.id == action_id && a.kind != ActionKind::Edit)
            .cloned()
            .ok_or_else(|| AppError::field("action", "application-changed"))?;
        let comment = comment.trim();
        if comment.chars().count() > 1000 {
            return Err(AppError::Form(vec![
                FieldError::new("comment", "form-too-long").arg("max", 1000),
            ]));
        }
        let mut reopened = Vec::new();
        let mut written = (!comment.is_empty()).then(|| comment.to_string());
        match action.kind {
            ActionKind::Correction => {
                if comment.is_empty() {
                    return Err(AppError::field("comment", "officer-comment-required"));
                }
                let questions: Vec<&str> =
                    loaded.service.questions().map(|f| f.id.as_str()).collect();
                reopened = reopen
                    .iter()
                    .filter(|q| questions.contains(&q.as_str()))
                    .cloned()
                    .collect();
                if reopened.is_empty() {
                    return Err(AppError::field("reopen", "officer-reopen-required"));
                }
            }
            ActionKind::Forward if comment.is_empty() => {
                return Err(AppError::field("comment", "officer-note-required"));
            }
            ActionKind::Reject => {
                let reasons = loaded
                    .service
                    .workflow
                    .as_ref()
                    .map(|w| w.rejection_reasons.clone())
                    .unwrap_or_default();
                let Some(r) = reasons.iter().find(|r| r.value == reason) else {
                    return Err(AppError::field("reason", "officer-reason-required"));
                };
                let why = r.label.get("en", "en").to_string();
                written = Some(match written {
                    Some(c) => format!("{why}: {c}"),
                    None => why,
                });
            }
            _ => {}
        }
        let applicant = self
            .identity
            .admin_find_user(&loaded.owner)
            .await?
            .ok_or_else(|| internal("the applicant's account is gone"))?;
        let lang: Lang = self.default_lang.clone();
        self.step(Step_ {
            loaded: &loaded,
            action: &action,
            by: Some(officer),
            role: roles
                .iter()
                .find(|r| action.roles.contains(r))
                .map_or("officer", String::as_str),
            comment: written,
            reopened,
            applicant: &applicant,
            lang: &lang,
            actor,
        })
        .await
    }
}

impl Applications {
    /// The edit action an officer may take on this application now, if any.
    pub fn edit_action<'a>(
        &self,
        roles: &[String],
        loaded: &'a Loaded,
    ) -> Option<&'a WorkflowAction> {
        self.officer_actions(roles, loaded)
            .into_iter()
            .find(|a| a.kind == ActionKind::Edit)
    }

    /// Staff change one page of a submitted application on the applicant's behalf: only with
    /// an edit action of the workflow in its state, through the same checks as the applicant's
    /// own answers. The state stays; the change is a step of its history (naming the answers
    /// changed), audited against the applicant, who is told.
    pub async fn edit_page(
        &self,
        officer: &UserId,
        id: &ApplicationId,
        page_id: &str,
        typed: &BTreeMap<String, Typed>,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        let (loaded, roles) = self.in_scope(officer, id).await?;
        let action = self
            .edit_action(&roles, &loaded)
            .cloned()
            .ok_or(AppError::NotFound)?;
        let page = self.page(&loaded, page_id).ok_or(AppError::NotFound)?;
        let accepted = self.check_answers(&loaded, page, typed, None, lang)?;
        let mut all = loaded.answers.clone();
        let mut changed = Vec::new();
        for f in &page.fields {
            let new = accepted.get(&f.id);
            if all.get(&f.id) != new {
                changed.push(f.label.get(&self.default_lang.tag(), "en").to_string());
            }
            match new {
                Some(v) => all.insert(f.id.clone(), v.clone()),
                None => all.remove(&f.id),
            };
        }
        if changed.is_empty() {
            return Ok(());
        }
        let applicant = self
            .identity
            .admin_find_user(&loaded.owner)
            .await?
            .ok_or_else(|| internal("the applicant's account is gone"))?;
        let json = serde_json::to_string(&all).map_err(internal)?;
        let now = self.clock.now();
        let role = roles
            .iter()
            .find(|r| action.roles.contains(r))
            .map_or("officer", String::as_str);
        self.ensure_waiting_lists(&loaded.service).await?;
        let mut work = self.work().await?;
        if !store::save_by_staff(&mut work, id, &loaded.state, &json, now).await? {
            return Err(AppError::field("form", "application-changed"));
        }
        let since = loaded.submitted_at.unwrap_or(now);
        self.sync_waiting(&mut work, &loaded.service, id, &loaded.state, &all, since)
            .await?;
        store::append_event(
            &mut work,
            id,
            &store::Event {
                at: now,
                actor_id: Some(officer.to_string()),
                role: role.to_string(),
                action: action.id.clone(),
                from_state: Some(loaded.state.clone()),
                to_state: loaded.state.clone(),
                comment: Some(changed.join(", ")),
            },
        )
        .await?;
        let arn = loaded.arn.as_ref().map_or(String::new(), |a| a.to_string());
        self.audit(
            &mut work,
            actor,
            Some(&loaded.owner),
            AuditAction::ApplicationActed,
            Outcome::Success,
            Some(format!("{arn} {role} {} {}", action.id, changed.join(", "))),
        )
        .await?;
        let lang = self.language_of(&applicant);
        let tag = lang.tag();
        self.tell_with(
            &mut work,
            &applicant,
            &lang,
            "application-edited",
            vec![
                ("arn", arn),
                ("service", loaded.service.name.get(&tag, "en").to_string()),
            ],
        )
        .await?;
        work.commit().await
    }
}

impl Applications {
    /// An officer claims an application they may act on, so that others see it is being
    /// worked on (or releases their claim, with `claim` false). Anyone else's claim stands;
    /// the next step of the workflow releases it.
    pub async fn claim(
        &self,
        officer: &UserId,
        id: &ApplicationId,
        claim: bool,
        actor: &Actor,
    ) -> AppResult<()> {
        let (loaded, roles) = self.in_scope(officer, id).await?;
        if self.officer_actions(&roles, &loaded).is_empty() {
            return Err(AppError::NotFound);
        }
        let mut work = self.work().await?;
        if !store::claim(&mut work, id, &loaded.state, officer.as_str(), claim).await? {
            return Err(AppError::field("claim", "officer-claimed-by-another"));
        }
        self.audit(
            &mut work,
            actor,
            Some(&loaded.owner),
            AuditAction::ApplicationClaimed,
            Outcome::Success,
            Some(format!(
                "{} {}",
                loaded.arn.as_ref().map_or("", |a| a.as_str()),
                if claim { "claimed" } else { "released" }
            )),
        )
        .await?;
        work.commit().await
    }
}
