//! Applications: a citizen starts one from a service, fills its pages (each saved as a draft),
//! checks the answers, declares and submits; it gets a reference number (ARN) and follows the
//! service's workflow. The application pins the definition's version it started on.

use std::collections::BTreeMap;

use ekdwar_domain::catalog::answers::{Answer, Answers};
use ekdwar_domain::catalog::{ActionKind, Arn, Service, Texts};
use ekdwar_domain::{ApplicationId, UserId};
use ekdwar_store::applications::{self as store, Application, DRAFT, Event};

use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::views::AccountView;

mod eform;
mod filling;
mod officer;
mod queue;
mod sweep;
mod tracking;
mod workflow;

pub use queue::Place;
pub use tracking::{Tracked, mask};

pub use eform::{Imported, Problem};
pub use officer::{Assignment, QueueItem};
pub use sweep::Swept;

crate::core::service!(
    /// Applications for services: drafts, submission, the applicant's view and withdrawal,
    /// and officers' queues and actions.
    Applications,
    catalog: crate::catalog::Catalog,
    // The applicant's contacts and language, to tell them of each step.
    identity: crate::identity::Identity,
    // The applicant's checked profile, which fills in forms once only.
    assurance: crate::assurance::Assurance
);

/// A workflow step to take (see [`Applications::step`]).
pub(crate) struct Step_<'a> {
    pub loaded: &'a Loaded,
    pub action: &'a ekdwar_domain::catalog::WorkflowAction,
    /// Who took it (none: the portal itself, on a deadline).
    pub by: Option<&'a UserId>,
    pub role: &'a str,
    pub comment: Option<String>,
    pub reopened: Vec<String>,
    pub applicant: &'a AccountView,
    pub lang: &'a Lang,
    pub actor: &'a Actor,
}

/// An application with the definition it follows.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The stored application.
    pub id: ApplicationId,
    /// Its reference number, once submitted.
    pub arn: Option<Arn>,
    /// `draft`, or a state of the workflow.
    pub state: String,
    /// The answers so far.
    pub answers: Answers,
    /// The definition's version it follows (shared with the catalog).
    pub service: std::sync::Arc<Service>,
    /// When it was submitted (ms).
    pub submitted_at: Option<ekdwar_domain::Timestamp>,
    /// When it last changed.
    pub updated_at: ekdwar_domain::Timestamp,
    /// The questions an officer reopened for correction.
    pub reopened: Vec<String>,
    /// The applicant.
    pub owner: UserId,
    /// The office chosen.
    pub office: Option<String>,
    /// The deadline of its state, if it has one.
    pub due_on: Option<jiff::civil::Date>,
    /// The officer who claimed it in its state.
    pub claimed_by: Option<UserId>,
}

impl Loaded {
    /// Whether the applicant may correct answers now (an officer sent it back).
    pub fn in_correction(&self) -> bool {
        self.applicant_actions()
            .iter()
            .any(|a| a.kind == ActionKind::Resubmit)
    }

    /// The applicant's name as written in the application (given name and surname), if the
    /// form asks for it.
    fn written_name(&self) -> Option<String> {
        let name = ["given_name", "surname"]
            .iter()
            .filter_map(|k| self.answers.get(*k).and_then(Answer::one))
            .collect::<Vec<_>>()
            .join(" ");
        (!name.trim().is_empty()).then_some(name)
    }

    /// The name of the person the application is for, when it is not the applicant (the
    /// definition's `subject`), as answered.
    pub fn subject_name(&self) -> Option<&str> {
        let subject = self.service.subject.as_ref()?;
        self.answers.get(&subject.name).and_then(Answer::one)
    }

    /// The PIN code the applicant gave (the form's first PIN code question answered), to
    /// offer the centres near it first.
    pub fn pincode(&self) -> Option<ekdwar_domain::appointments::Pincode> {
        self.service
            .questions()
            .filter(|f| f.kind == ekdwar_domain::catalog::FieldKind::Pincode)
            .find_map(|f| self.answers.get(&f.id).and_then(Answer::one))
            .and_then(ekdwar_domain::appointments::Pincode::parse)
    }

    /// Who the application is for, to tell one open application from another: the
    /// subject's name (case and spacing folded) and date of birth.
    fn subject_key(&self) -> Option<(String, String)> {
        let subject = self.service.subject.as_ref()?;
        let name = self.subject_name()?;
        let born = self
            .answers
            .get(&subject.birth_date)
            .and_then(Answer::one)?;
        let folded = name
            .split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ");
        Some((folded, born.to_string()))
    }

    /// Whether it is still a draft.
    pub fn is_draft(&self) -> bool {
        self.state == DRAFT
    }

    /// The label of its state, in every language.
    pub fn state_label(&self) -> Option<&Texts> {
        self.workflow_state().map(|s| &s.label)
    }

    /// What the applicant must do next, if the state says.
    pub fn next_step(&self) -> Option<&Texts> {
        self.workflow_state().and_then(|s| s.next_step.as_ref())
    }

    fn workflow_state(&self) -> Option<&ekdwar_domain::catalog::State> {
        self.service.state(&self.state)
    }

    /// Whether no action leaves its state.
    pub fn is_final(&self) -> bool {
        self.workflow_state().is_some_and(|s| s.terminal)
    }

    /// The applicant's own actions possible now (withdraw, resubmit).
    pub fn applicant_actions(&self) -> Vec<&ekdwar_domain::catalog::WorkflowAction> {
        self.service
            .workflow
            .iter()
            .flat_map(|w| &w.actions)
            .filter(|a| a.roles.iter().any(|r| r == "applicant") && a.from.contains(&self.state))
            .collect()
    }
}

/// Where to go after saving a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The next page that applies.
    Page(String),
    /// Every page is done: check the answers.
    Check,
}

/// A step of an application's history, as the applicant sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    /// When.
    pub at: ekdwar_domain::Timestamp,
    /// Taken by the applicant (else by staff, who are not named to the applicant).
    pub by_applicant: bool,
    /// The action's id (`submit`, `approve`…).
    pub action: String,
    /// The state it led to.
    pub to_state: String,
    /// What was written with it.
    pub comment: Option<String>,
    /// The role it was taken in (`applicant`, or a staff role), for officers' eyes.
    pub role: String,
}

fn internal(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> AppError {
    AppError::Internal(e.into())
}

impl Applications {
    async fn load(&self, a: Application) -> AppResult<Loaded> {
        let service = self.catalog.definition(&a.service, a.version).await?;
        Ok(Loaded {
            id: a.id,
            arn: a.arn.as_deref().and_then(|s| Arn::parse(s).ok()),
            state: a.state,
            answers: serde_json::from_str(&a.answers).map_err(internal)?,
            service,
            submitted_at: a.submitted_at,
            updated_at: a.updated_at,
            reopened: serde_json::from_str(&a.reopened).unwrap_or_default(),
            owner: a.user_id,
            office: a.office,
            due_on: a.due_on.as_deref().and_then(|d| d.parse().ok()),
            claimed_by: a.claimed_by.map(UserId::new),
        })
    }

    /// One of `owner`'s applications; not found for anyone else's.
    pub async fn get(&self, owner: &UserId, id: &ApplicationId) -> AppResult<Loaded> {
        let a = store::owned(&mut *self.store.read().await?, id, owner)
            .await?
            .ok_or(AppError::NotFound)?;
        self.load(a).await
    }

    /// `owner`'s applications, the most recent first.
    pub async fn mine(&self, owner: &UserId) -> AppResult<Vec<Loaded>> {
        let rows = store::of_user(&mut *self.store.read().await?, owner, 100).await?;
        let mut out = Vec::with_capacity(rows.len());
        for a in rows {
            out.push(self.load(a).await?);
        }
        Ok(out)
    }

    /// The offices an applicant to `service` may choose.
    pub fn offices(&self, service: &Service) -> Vec<(String, Texts)> {
        self.catalog
            .snapshot()
            .entries
            .file()
            .offices
            .iter()
            .filter(|o| o.department == service.department)
            .map(|o| (o.code.clone(), o.name.clone()))
            .collect()
    }

    /// The time zone an application's times are shown in: its office's region's, else its
    /// service's region's (a Moscow service in Moscow time), else the portal's.
    pub fn zone(&self, loaded: &Loaded) -> jiff::tz::TimeZone {
        let snapshot = self.catalog.snapshot();
        let entries = &snapshot.entries;
        loaded
            .office
            .as_deref()
            .and_then(|o| entries.office(o))
            .and_then(|o| entries.time_zone(&o.region))
            .or_else(|| {
                loaded
                    .service
                    .regions
                    .iter()
                    .find_map(|r| entries.time_zone(r))
            })
            .unwrap_or_else(|| self.time_zone.clone())
    }

    /// The applicant's name: as written in the application when the form asks for it,
    /// otherwise the account's.
    pub async fn applicant_name(&self, loaded: &Loaded) -> AppResult<String> {
        if let Some(name) = loaded.written_name() {
            return Ok(name);
        }
        Ok(self
            .account(&loaded.owner)
            .await?
            .map(|a| {
                format!("{} {}", a.first_name, a.last_name)
                    .trim()
                    .to_string()
            })
            .unwrap_or_default())
    }

    /// A person's account, to tell them something (none if it is gone).
    pub(crate) async fn account(&self, id: &UserId) -> AppResult<Option<AccountView>> {
        self.identity.admin_find_user(id.as_str()).await
    }

    /// An application's history, oldest first.
    pub async fn history(&self, owner: &UserId, id: &ApplicationId) -> AppResult<Vec<Step>> {
        let mut conn = self.store.read().await?;
        store::owned(&mut conn, id, owner)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(steps(store::events(&mut conn, id).await?))
    }

    /// The history of an application an officer has opened (through
    /// [`Applications::inspect`], which checked their scope and recorded the view).
    pub async fn timeline(&self, loaded: &Loaded) -> AppResult<Vec<Step>> {
        Ok(steps(
            store::events(&mut *self.store.read().await?, &loaded.id).await?,
        ))
    }
}

fn steps(events: Vec<Event>) -> Vec<Step> {
    events
        .into_iter()
        .map(|e| Step {
            at: e.at,
            by_applicant: e.role == "applicant",
            action: e.action,
            to_state: e.to_state,
            comment: e.comment,
            role: e.role,
        })
        .collect()
}

/// A notification in the portal: one step of one of the person's applications.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The application.
    pub application: ApplicationId,
    /// Its reference number.
    pub arn: Option<Arn>,
    /// The service's name.
    pub service: Texts,
    /// The state it reached.
    pub state: Option<Texts>,
    /// What the officer wrote.
    pub comment: Option<String>,
    /// Taken by the person themselves.
    pub by_applicant: bool,
    /// When.
    pub at: ekdwar_domain::Timestamp,
}

impl Applications {
    /// The person's notifications: the steps of their applications, newest first.
    pub async fn notices(&self, owner: &UserId) -> AppResult<Vec<Notice>> {
        let rows = store::notices(&mut *self.store.read().await?, owner, 50).await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut definitions: BTreeMap<(String, i64), std::sync::Arc<Service>> = BTreeMap::new();
        for n in rows {
            let key = (n.service.clone(), n.version);
            if !definitions.contains_key(&key) {
                let d = self.catalog.definition(&n.service, n.version).await?;
                definitions.insert(key.clone(), d);
            }
            let service = &definitions[&key];
            out.push(Notice {
                application: n.application,
                arn: n.arn.as_deref().and_then(|a| Arn::parse(a).ok()),
                service: service.name.clone(),
                state: service.state(&n.event.to_state).map(|s| s.label.clone()),
                comment: n.event.comment,
                by_applicant: n.event.role == "applicant",
                at: n.event.at,
            });
        }
        Ok(out)
    }
}
