//! Applications: a citizen starts one from a service, fills its pages (each saved as a draft),
//! checks the answers, declares and submits; it gets a reference number (ARN) and follows the
//! service's workflow. The application pins the definition's version it started on.

use std::collections::BTreeMap;

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::catalog::answers::{self, Answer, Answers, Context, Typed};
use ekdwar_domain::catalog::{
    ActionKind, Arn, DeliveryKind, FieldKind, Page, Prefill, Service, ServiceDefinition, Texts,
};
use ekdwar_domain::{ApplicationId, Contact, Email, Phone, UserId};
use ekdwar_store::applications::{self as store, Application, DRAFT, Event, Submission};

use crate::audit::Actor;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Lang;
use crate::notify::Outgoing;
use crate::views::AccountView;

mod eform;
mod officer;
mod sweep;

pub use eform::{Imported, Problem};
pub use officer::{Assignment, QueueItem};
pub use sweep::Swept;

crate::core::service!(
    /// Applications for services: drafts, submission, the applicant's view and withdrawal,
    /// and officers' queues and actions.
    Applications,
    catalog: crate::catalog::Catalog,
    // The applicant's contacts and language, to tell them of each step.
    identity: crate::identity::Identity
);

/// A workflow step to take (see [`Applications::step`]).
pub(crate) struct Step_<'a> {
    pub loaded: &'a Loaded,
    pub action: &'a ekdwar_domain::catalog::WorkflowAction,
    pub by: &'a UserId,
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

    /// The applicant's name as written in the application (given name and surname).
    pub fn applicant_name(&self) -> String {
        ["given_name", "surname"]
            .iter()
            .filter_map(|k| self.answers.get(*k).and_then(Answer::one))
            .collect::<Vec<_>>()
            .join(" ")
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
    async fn definition(&self, code: &str, version: i64) -> AppResult<std::sync::Arc<Service>> {
        let snapshot = self.catalog.snapshot();
        if let Some((v, s)) = snapshot.service(code)
            && v == version
        {
            return Ok(s.clone());
        }
        // An older version: read it as it was.
        let stored =
            ekdwar_store::catalog::service_version(&mut *self.store.read().await?, code, version)
                .await?
                .ok_or(AppError::NotFound)?;
        let def: ServiceDefinition = serde_json::from_str(&stored.body).map_err(internal)?;
        let langs = crate::catalog::Catalog::languages();
        let langs: Vec<&str> = langs.iter().map(String::as_str).collect();
        Service::parse(def, &snapshot.entries, &langs)
            .map(std::sync::Arc::new)
            .map_err(|p| internal(p[0].to_string()))
    }

    async fn load(&self, a: Application) -> AppResult<Loaded> {
        let service = self.definition(&a.service, a.version).await?;
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

    /// Starts an application as a draft, with what the profile already knows filled in. A
    /// service that allows one open application at a time answers with the open one instead.
    pub async fn start(
        &self,
        account: &AccountView,
        code: &str,
        actor: &Actor,
    ) -> AppResult<Result<ApplicationId, ApplicationId>> {
        let snapshot = self.catalog.snapshot();
        let (version, service) = snapshot.service(code).ok_or(AppError::NotFound)?;
        if service.delivery.kind != DeliveryKind::Online {
            return Err(AppError::NotFound);
        }
        if account.level < service.min_level {
            return Err(AppError::field("level", "application-level-too-low"));
        }
        if !service.applicants.contains(&account.account_type) {
            return Err(AppError::field("level", "application-not-for-you"));
        }
        let mut work = self.work().await?;
        if service.one_open_application {
            let finals: Vec<&str> = service
                .workflow
                .iter()
                .flat_map(|w| &w.states)
                .filter(|s| s.terminal)
                .map(|s| s.id.as_str())
                .collect();
            if let Some(open) = store::open_for(&mut work, &account.id, code, &finals).await? {
                return Ok(Err(open.id));
            }
        }
        let mut prefilled = Answers::new();
        for f in service
            .form
            .iter()
            .flat_map(|f| &f.pages)
            .flat_map(|p| &p.fields)
        {
            let value = match f.prefill {
                Some(Prefill::GivenName) => Some(account.first_name.clone()),
                Some(Prefill::Surname) => Some(account.last_name.clone()),
                Some(Prefill::Phone) => account.phone.clone(),
                Some(Prefill::Email) => account.email.clone(),
                None => None,
            };
            if let Some(v) = value.filter(|v| !v.is_empty()) {
                prefilled.insert(f.id.clone(), Answer::One(v));
            }
        }
        let now = self.clock.now();
        let id = ApplicationId::new(format!("a-{}", self.random.token(12)));
        store::insert(
            &mut work,
            &Application {
                id: id.clone(),
                arn: None,
                user_id: account.id.clone(),
                service: service.code.clone(),
                version,
                department: service.department.clone(),
                office: None,
                state: DRAFT.into(),
                answers: serde_json::to_string(&prefilled).map_err(internal)?,
                birth_date: None,
                created_at: now,
                updated_at: now,
                submitted_at: None,
                reopened: "[]".into(),
                due_on: None,
                escalated_at: None,
                claimed_by: None,
            },
        )
        .await?;
        self.audit(
            &mut work,
            actor,
            Some(&account.id),
            AuditAction::ApplicationStarted,
            Outcome::Success,
            Some(format!("{} {id}", service.code)),
        )
        .await?;
        work.commit().await?;
        Ok(Ok(id))
    }

    /// The page `page_id` of a draft, if it applies given the answers so far.
    pub fn page<'a>(&self, loaded: &'a Loaded, page_id: &str) -> Option<&'a Page> {
        let form = loaded.service.form.as_ref()?;
        answers::pages(form, &loaded.answers, self.today())
            .into_iter()
            .find(|p| p.id == page_id)
    }

    /// The questions of `page` that apply now.
    pub fn questions<'a>(
        &self,
        loaded: &Loaded,
        page: &'a Page,
    ) -> Vec<&'a ekdwar_domain::catalog::Field> {
        answers::fields(page, &loaded.answers, self.today())
    }

    /// Where a draft continues: the first page with a required question unanswered, or the
    /// check page.
    pub fn resume(&self, loaded: &Loaded) -> Next {
        match loaded
            .service
            .form
            .as_ref()
            .and_then(|f| answers::first_incomplete(f, &loaded.answers, self.today()))
        {
            Some(p) => Next::Page(p.id.clone()),
            None => Next::Check,
        }
    }

    /// The pages that apply now, in order.
    pub fn pages<'a>(&self, loaded: &'a Loaded) -> Vec<&'a Page> {
        loaded
            .service
            .form
            .as_ref()
            .map(|f| answers::pages(f, &loaded.answers, self.today()))
            .unwrap_or_default()
    }

    /// The fees due for the answers so far: (label, amount in minor units, currency, at the
    /// centre).
    pub fn fees<'a>(&self, loaded: &'a Loaded) -> Vec<&'a ekdwar_domain::catalog::Fee> {
        answers::fees(&loaded.service.fees, &loaded.answers, self.today())
    }

    /// Saves one page of a draft. Its answers are checked; on errors nothing is saved and the
    /// errors name each question.
    pub async fn save_page(
        &self,
        owner: &UserId,
        id: &ApplicationId,
        page_id: &str,
        typed: &BTreeMap<String, Typed>,
        lang: &Lang,
    ) -> AppResult<Next> {
        let loaded = self.get(owner, id).await?;
        let correcting = loaded.in_correction();
        if !loaded.is_draft() && !correcting {
            return Err(AppError::field("form", "application-not-draft"));
        }
        let page = self.page(&loaded, page_id).ok_or(AppError::NotFound)?;
        if correcting && !page.fields.iter().any(|f| loaded.reopened.contains(&f.id)) {
            return Err(AppError::NotFound);
        }
        // In a correction only the reopened questions are asked, so only they are checked.
        let only = correcting.then_some(loaded.reopened.as_slice());
        let accepted = self.check_answers(&loaded, page, typed, only, lang)?;
        let mut all = loaded.answers.clone();
        for f in &page.fields {
            // In a correction, only the reopened answers change.
            if !correcting || loaded.reopened.contains(&f.id) {
                all.remove(&f.id);
            }
        }
        for (k, v) in accepted {
            if !correcting || loaded.reopened.contains(&k) {
                all.insert(k, v);
            }
        }
        let json = serde_json::to_string(&all).map_err(internal)?;
        let mut work = self.work().await?;
        let saved = if correcting {
            store::save_correction(&mut work, id, owner, &loaded.state, &json, self.clock.now())
                .await?
        } else {
            store::save_draft(&mut work, id, owner, &json, self.clock.now()).await?
        };
        if !saved {
            return Err(AppError::field("form", "application-not-draft"));
        }
        work.commit().await?;
        if correcting {
            return Ok(Next::Check);
        }
        let today = self.today();
        let form = loaded.service.form.as_ref().ok_or(AppError::NotFound)?;
        let pages = answers::pages(form, &all, today);
        let at = pages.iter().position(|p| p.id == page_id);
        let next = at
            .and_then(|i| pages.get(i + 1))
            .map(|p| Next::Page(p.id.clone()));
        // After the last page, or when changing one answer from the check page, any page still
        // incomplete comes first.
        Ok(match answers::first_incomplete(form, &all, today) {
            Some(p) if next.is_none() => Next::Page(p.id.clone()),
            _ => next.unwrap_or(Next::Check),
        })
    }

    /// The answers of `page` as typed, checked by the form's rules against what else is
    /// answered (only the questions in `only`, when given); each refusal names its question.
    pub(crate) fn check_answers(
        &self,
        loaded: &Loaded,
        page: &Page,
        typed: &BTreeMap<String, Typed>,
        only: Option<&[String]>,
        lang: &Lang,
    ) -> AppResult<BTreeMap<String, Answer>> {
        let offices = self.offices(&loaded.service);
        let office_codes: Vec<&str> = offices.iter().map(|(c, _)| c.as_str()).collect();
        let regions = self.regions_for(Some(lang));
        let ctx = Context {
            today: self.today(),
            regions: &regions,
            offices: &office_codes,
        };
        let narrowed;
        let checked = match only {
            Some(ids) => {
                narrowed = Page {
                    fields: page
                        .fields
                        .iter()
                        .filter(|f| ids.contains(&f.id))
                        .cloned()
                        .collect(),
                    ..page.clone()
                };
                &narrowed
            }
            None => page,
        };
        answers::check_page(checked, typed, &loaded.answers, &ctx).map_err(|refusals| {
            AppError::Form(
                refusals
                    .into_iter()
                    .map(|r| {
                        let mut e = FieldError::new(r.field.clone(), r.code);
                        if r.code == "form-pattern"
                            && let Some(m) = page
                                .fields
                                .iter()
                                .find(|f| f.id == r.field)
                                .and_then(|f| f.pattern_message.as_ref())
                        {
                            e = e.arg("message", m.get(&lang.tag(), "en"));
                        }
                        for (k, v) in r.args {
                            e = e.arg(k, v);
                        }
                        e
                    })
                    .collect(),
            )
        })
    }

    /// Submits a draft: every page that applies must be complete and the declaration made. It
    /// gets its reference number and enters the workflow; the applicant is told.
    pub async fn submit(
        &self,
        account: &AccountView,
        id: &ApplicationId,
        declared: bool,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<Arn> {
        let loaded = self.get(&account.id, id).await?;
        if !loaded.is_draft() {
            return Err(AppError::field("declaration", "application-not-draft"));
        }
        let form = loaded.service.form.as_ref().ok_or(AppError::NotFound)?;
        let today = self.today();
        if let Some(p) = answers::first_incomplete(form, &loaded.answers, today) {
            return Err(AppError::Form(vec![
                FieldError::new("declaration", "application-incomplete").arg("page", p.id.clone()),
            ]));
        }
        if !declared {
            return Err(AppError::field(
                "declaration",
                "application-declaration-required",
            ));
        }
        let workflow = loaded.service.workflow.as_ref().ok_or(AppError::NotFound)?;
        let start = workflow.states.first().ok_or(AppError::NotFound)?;
        let kept = answers::applicable(form, &loaded.answers, today);
        let office = form
            .pages
            .iter()
            .flat_map(|p| &p.fields)
            .find(|f| f.kind == FieldKind::Office)
            .and_then(|f| kept.get(&f.id))
            .and_then(Answer::one)
            .map(str::to_string);
        let birth_date = kept
            .get("date_of_birth")
            .and_then(Answer::one)
            .map(str::to_string);
        let arn = Arn::generate(today.year(), |n| self.random.below(n));
        let now = self.clock.now();
        let json = serde_json::to_string(&kept).map_err(internal)?;
        let mut work = self.work().await?;
        let submitted = store::submit(
            &mut work,
            id,
            &account.id,
            &Submission {
                arn: arn.as_str(),
                state: &start.id,
                answers: &json,
                office: office.as_deref(),
                birth_date: birth_date.as_deref(),
                due_on: self
                    .due_on(&loaded.service, &start.id, office.as_deref())
                    .as_deref(),
                at: now,
            },
        )
        .await?;
        if !submitted {
            return Err(AppError::field("declaration", "application-not-draft"));
        }
        // What it owes, from the fees that apply to these answers.
        crate::payments::open_order(
            &mut work,
            self.random.id(),
            id,
            &account.id,
            &loaded.service.code,
            &answers::fees(&loaded.service.fees, &kept, today),
            now,
        )
        .await?;
        store::append_event(
            &mut work,
            id,
            &Event {
                at: now,
                actor_id: Some(account.id.to_string()),
                role: "applicant".into(),
                action: "submit".into(),
                from_state: Some(DRAFT.into()),
                to_state: start.id.clone(),
                comment: None,
            },
        )
        .await?;
        self.audit(
            &mut work,
            actor,
            Some(&account.id),
            AuditAction::ApplicationSubmitted,
            Outcome::Success,
            Some(format!("{} {}", loaded.service.code, arn.as_str())),
        )
        .await?;
        let name = loaded.service.name.get(&lang.tag(), "en").to_string();
        self.tell(
            &mut work,
            account,
            lang,
            "application-submitted",
            &arn,
            &name,
            start.label.get(&lang.tag(), "en"),
        )
        .await?;
        work.commit().await?;
        Ok(arn)
    }

    /// Tells the applicant, on each contact they have, in their language.
    #[allow(clippy::too_many_arguments)]
    async fn tell(
        &self,
        work: &mut crate::core::Work<'_>,
        account: &AccountView,
        lang: &Lang,
        kind: &'static str,
        arn: &Arn,
        service: &str,
        state: &str,
    ) -> AppResult<()> {
        self.tell_with(
            work,
            account,
            lang,
            kind,
            vec![
                ("arn", arn.to_string()),
                ("service", service.to_string()),
                ("state", state.to_string()),
            ],
        )
        .await
    }

    /// A person's account, to tell them something (none if it is gone).
    pub(crate) async fn account(&self, id: &UserId) -> AppResult<Option<AccountView>> {
        self.identity.admin_find_user(id.as_str()).await
    }

    /// The language a person reads: the one their account keeps, else the portal's default.
    pub(crate) fn language_of(&self, account: &AccountView) -> Lang {
        account
            .language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or_else(|| self.default_lang.clone())
    }

    /// Tells a person (applicant or officer) on each contact they have, in their language
    /// (else `lang`), the message `kind` with `args`.
    pub(crate) async fn tell_with(
        &self,
        work: &mut crate::core::Work<'_>,
        account: &AccountView,
        lang: &Lang,
        kind: &'static str,
        args: Vec<(&'static str, String)>,
    ) -> AppResult<()> {
        let lang = account
            .language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or_else(|| lang.clone());
        let contacts: Vec<Contact> = account
            .phone
            .iter()
            .map(|p| Contact::Phone(Phone::from_trusted(p.clone())))
            .chain(
                account
                    .email
                    .iter()
                    .map(|e| Contact::Email(Email::from_trusted(e.clone()))),
            )
            .collect();
        for to in &contacts {
            self.enqueue(
                work,
                Outgoing {
                    kind,
                    to,
                    lang: &lang,
                    args: args.clone(),
                },
            )
            .await?;
        }
        Ok(())
    }

    /// The applicant withdraws an application before a decision.
    pub async fn withdraw(
        &self,
        account: &AccountView,
        id: &ApplicationId,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        self.applicant_act(account, id, ActionKind::Withdraw, lang, actor)
            .await
    }

    /// The applicant sends a corrected application back to the officers.
    pub async fn resubmit(
        &self,
        account: &AccountView,
        id: &ApplicationId,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        self.applicant_act(account, id, ActionKind::Resubmit, lang, actor)
            .await
    }

    async fn applicant_act(
        &self,
        account: &AccountView,
        id: &ApplicationId,
        kind: ActionKind,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        let loaded = self.get(&account.id, id).await?;
        let action = loaded
            .applicant_actions()
            .into_iter()
            .find(|a| a.kind == kind)
            .cloned()
            .ok_or_else(|| AppError::field("form", "application-cannot-withdraw"))?;
        self.step(Step_ {
            loaded: &loaded,
            action: &action,
            by: &account.id,
            role: "applicant",
            comment: None,
            reopened: Vec::new(),
            applicant: account,
            lang,
            actor,
        })
        .await
    }

    /// Takes a workflow action: one conditional change of state from the state the actor saw,
    /// its step in the history, the audit entry and the applicant told, all together.
    pub(crate) async fn step(&self, s: Step_<'_>) -> AppResult<()> {
        let now = self.clock.now();
        let reopened = serde_json::to_string(&s.reopened).map_err(internal)?;
        let mut work = self.work().await?;
        let id = &s.loaded.id;
        let due_on = self.due_on(&s.loaded.service, &s.action.to, s.loaded.office.as_deref());
        let moved = store::transition(
            &mut work,
            id,
            &store::Transition {
                from: &s.loaded.state,
                to: &s.action.to,
                reopened: &reopened,
                due_on: due_on.as_deref(),
                at: now,
            },
        )
        .await?;
        if !moved {
            return Err(AppError::field("form", "application-changed"));
        }
        store::append_event(
            &mut work,
            id,
            &Event {
                at: now,
                actor_id: Some(s.by.to_string()),
                role: s.role.to_string(),
                action: s.action.id.clone(),
                from_state: Some(s.loaded.state.clone()),
                to_state: s.action.to.clone(),
                comment: s.comment.clone(),
            },
        )
        .await?;
        self.audit(
            &mut work,
            s.actor,
            Some(&s.loaded.owner),
            AuditAction::ApplicationActed,
            Outcome::Success,
            Some(format!(
                "{} {} {}",
                s.loaded.arn.as_ref().map_or("", |a| a.as_str()),
                s.role,
                s.action.id
            )),
        )
        .await?;
        if let Some(arn) = &s.loaded.arn {
            let lang = s
                .applicant
                .language
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or_else(|| s.lang.clone());
            let to_label = s
                .loaded
                .service
                .state(&s.action.to)
                .map(|st| st.label.get(&lang.tag(), "en").to_string())
                .unwrap_or_default();
            let name = s.loaded.service.name.get(&lang.tag(), "en").to_string();
            self.tell(
                &mut work,
                s.applicant,
                &lang,
                "application-changed",
                arn,
                &name,
                &to_label,
            )
            .await?;
        }
        work.commit().await
    }

    /// Discards a draft.
    pub async fn discard(&self, owner: &UserId, id: &ApplicationId) -> AppResult<()> {
        let mut work = self.work().await?;
        if !store::delete_draft(&mut work, id, owner).await? {
            return Err(AppError::NotFound);
        }
        work.commit().await
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

impl Applications {}

/// What tracking without logging in shows: never the application's contents.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The reference number.
    pub arn: Arn,
    /// The service's name.
    pub service: Texts,
    /// The state's label.
    pub state: Option<Texts>,
    /// When it was submitted.
    pub submitted_at: Option<ekdwar_domain::Timestamp>,
    /// The applicant's name, masked (`A••• K•••`).
    pub masked_name: String,
}

impl Tracked {
    fn of(loaded: &Loaded, arn: Arn) -> Self {
        Tracked {
            masked_name: mask(&loaded.applicant_name()),
            state: loaded.state_label().cloned(),
            service: loaded.service.name.clone(),
            submitted_at: loaded.submitted_at,
            arn,
        }
    }
}

/// Each word's first letter, the rest hidden.
pub fn mask(name: &str) -> String {
    name.split_whitespace()
        .map(|w| {
            let first: String = w.chars().take(1).collect();
            format!("{first}•••")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl Applications {
    /// Tracks an application without logging in (Passport Seva): the service, the file number
    /// (ARN) and the applicant's date of birth must all match. Each try spends a challenge;
    /// a wrong combination says only that nothing matches, whichever part was wrong.
    pub async fn track(
        &self,
        service: &str,
        arn: &str,
        birth_date: &str,
        challenge: &crate::captcha::ChallengeAnswer,
    ) -> AppResult<Tracked> {
        self.check_challenge(challenge).await?;
        let arn = Arn::parse(arn).map_err(|_| AppError::field("arn", "arn-invalid"))?;
        let born = answers::parse_date(birth_date)
            .ok_or_else(|| AppError::field("birth_date", "form-date"))?;
        let nothing = || AppError::field("arn", "track-no-match");
        let found = store::by_arn(&mut *self.store.read().await?, arn.as_str())
            .await?
            .filter(|a| a.service == service)
            .filter(|a| {
                a.birth_date
                    .as_deref()
                    .and_then(|d| d.parse::<jiff::civil::Date>().ok())
                    == Some(born)
            })
            .ok_or_else(nothing)?;
        let loaded = self.load(found).await?;
        Ok(Tracked::of(&loaded, arn))
    }

    /// The token a receipt's QR code carries: the ARN and a MAC of it under the server key,
    /// so that the public verification page answers only for receipts this portal issued
    /// (an ARN alone, which is printed and told on the phone, shows nothing there).
    pub fn receipt_token(&self, arn: &Arn) -> String {
        let mac = self.key.sign(&[b"receipt", arn.as_str().as_bytes()]);
        format!(
            "{arn}.{}",
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &mac[..16]
            )
        )
    }

    /// What a receipt's token verifies: only the ARN, service, status, date and masked name.
    /// A token this portal did not issue, or for no application, is not found.
    pub async fn verify_receipt(&self, token: &str) -> AppResult<Tracked> {
        let (arn, mac) = token.split_once('.').ok_or(AppError::NotFound)?;
        let arn = Arn::parse(arn).map_err(|_| AppError::NotFound)?;
        let expected = self.receipt_token(&arn);
        if !crate::security::constant_time_eq(
            expected.as_bytes(),
            format!("{arn}.{mac}").as_bytes(),
        ) {
            return Err(AppError::NotFound);
        }
        let found = store::by_arn(&mut *self.store.read().await?, arn.as_str())
            .await?
            .ok_or(AppError::NotFound)?;
        let loaded = self.load(found).await?;
        Ok(Tracked::of(&loaded, arn))
    }

    /// The services an application can be tracked for (those applied for here).
    pub fn trackable(&self) -> Vec<(String, Texts)> {
        self.catalog
            .snapshot()
            .offered(None)
            .filter(|s| s.delivery.kind == DeliveryKind::Online)
            .map(|s| (s.code.clone(), s.name.clone()))
            .collect()
    }
}

impl Applications {
    /// The deadline of `state` entered today: its working days counted in the calendar of the
    /// office's region (weekends only, without an office); none for a state without one.
    pub fn due_on(&self, service: &Service, state: &str, office: Option<&str>) -> Option<String> {
        let days = service.state(state)?.sla_working_days?;
        let snapshot = self.catalog.snapshot();
        let region = office
            .and_then(|o| snapshot.entries.office(o))
            .map(|o| o.region.clone());
        Some(
            snapshot
                .entries
                .add_working_days(region.as_deref(), self.today(), days)
                .to_string(),
        )
    }

    /// Today in the portal's time zone.
    pub fn today(&self) -> jiff::civil::Date {
        jiff::Timestamp::from_millisecond(self.clock.now().millis())
            .map(|t| t.to_zoned(self.time_zone.clone()).date())
            .unwrap_or_default()
    }

    /// The fee calculator: the questions the service's fees depend on; with their answers
    /// typed, the answers (`None` until every one is given).
    pub fn fee_calculator<'a>(
        &self,
        service: &'a Service,
        typed: &BTreeMap<String, Typed>,
        lang: &Lang,
    ) -> (
        Vec<&'a ekdwar_domain::catalog::Field>,
        AppResult<Option<Answers>>,
    ) {
        fn named(c: &ekdwar_domain::catalog::Condition, out: &mut Vec<String>) {
            out.extend(c.field.iter().cloned());
            for inner in c.all.iter().chain(c.any.iter()).flatten() {
                named(inner, out);
            }
        }
        let mut ids = Vec::new();
        for f in &service.fees {
            if let Some(w) = &f.when {
                named(w, &mut ids);
            }
        }
        let asked: Vec<&ekdwar_domain::catalog::Field> = service
            .form
            .iter()
            .flat_map(|f| &f.pages)
            .flat_map(|p| &p.fields)
            .filter(|f| ids.contains(&f.id))
            .collect();
        if asked.iter().all(|f| !typed.contains_key(&f.id)) {
            return (asked, Ok(None));
        }
        let regions = self.regions_for(Some(lang));
        let ctx = Context {
            today: self.today(),
            regions: &regions,
            offices: &[],
        };
        let mut answers = Answers::new();
        let mut errors = Vec::new();
        for f in &asked {
            // A question that does not apply to these answers (a minor's booklet) is skipped.
            if f.when
                .as_ref()
                .is_some_and(|w| !answers::holds(w, &answers, ctx.today))
            {
                continue;
            }
            match answers::check(f, typed.get(&f.id).unwrap_or(&Typed::Missing), &ctx) {
                Ok(Some(a)) => {
                    answers.insert(f.id.clone(), a);
                }
                Ok(None) => {}
                Err(rs) => errors.extend(rs.into_iter().map(|r| {
                    let mut e = FieldError::new(r.field, r.code);
                    for (k, v) in r.args {
                        e = e.arg(k, v);
                    }
                    e
                })),
            }
        }
        let result = if errors.is_empty() {
            Ok(Some(answers))
        } else {
            Err(AppError::Form(errors))
        };
        (asked, result)
    }
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
                let d = self.definition(&n.service, n.version).await?;
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
