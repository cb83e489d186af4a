//! Filling in an application: started from the catalog (prefilled from the profile), one
//! saved page at a time with the questions that apply, the fees its answers owe, and the
//! submission that checks every answer, opens the order and gives the ARN.

use std::collections::BTreeMap;

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::catalog::answers::{self, Answer, Answers, Context, Typed};
use ekdwar_domain::catalog::{Arn, DeliveryKind, FieldKind, Page, Prefill, Service};
use ekdwar_domain::{ApplicationId, UserId};
use ekdwar_store::applications::{self as store, Application, DRAFT, Event, Submission};

use crate::audit::Actor;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Lang;
use crate::views::AccountView;

use super::{Applications, Loaded, Next, internal};

/// The states an application ends in.
fn finals(service: &Service) -> Vec<&str> {
    service
        .workflow
        .iter()
        .flat_map(|w| &w.states)
        .filter(|s| s.terminal)
        .map(|s| s.id.as_str())
        .collect()
}

/// The page that asks question `field`.
fn first_page_with(form: &ekdwar_domain::catalog::Form, field: &str) -> String {
    form.pages
        .iter()
        .find(|p| p.fields.iter().any(|f| f.id == field))
        .map(|p| p.id.clone())
        .unwrap_or_default()
}

impl Applications {
    /// Another submitted application of the same applicant to the same service, still open,
    /// for the same person (the definition's `subject`): a second child is not the first.
    /// Read inside the submission's own transaction, with the applicant locked: two
    /// submissions for the same child at once cannot both pass.
    async fn open_for_same_subject(
        &self,
        conn: &mut ekdwar_store::Conn,
        loaded: &Loaded,
    ) -> AppResult<Option<Loaded>> {
        let Some(key) = loaded.subject_key() else {
            return Ok(None);
        };
        store::lock_applicant(conn, &loaded.owner).await?;
        let open = store::open_for(
            conn,
            &loaded.owner,
            &loaded.service.code,
            &finals(&loaded.service),
        )
        .await?;
        for a in open {
            if a.id == loaded.id || a.state == DRAFT {
                continue;
            }
            let other = self.load(a).await?;
            if other.subject_key().as_ref() == Some(&key) {
                return Ok(Some(other));
            }
        }
        Ok(None)
    }

    /// Starts an application as a draft, with what the profile already knows filled in. A
    /// service that allows one open application at a time answers with the open one instead;
    /// where the definition names whom an application is for (a child), there may be one open
    /// application per such person, checked at submission, and only a draft that names no one
    /// yet is taken up again.
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
        // Read before the unit of work: no second connection is asked for while it is open.
        let known = self.assurance.known_facts(&account.id).await?;
        let mut work = self.work().await?;
        if service.one_open_application {
            let open = store::open_for(&mut work, &account.id, code, &finals(service)).await?;
            let taken_up = match &service.subject {
                None => open.into_iter().next(),
                Some(subject) => open.into_iter().find(|a| {
                    a.state == DRAFT
                        && serde_json::from_str::<Answers>(&a.answers)
                            .map(|ans| !ans.contains_key(&subject.name))
                            .unwrap_or(false)
                }),
            };
            if let Some(open) = taken_up {
                return Ok(Err(open.id));
            }
        }
        let mut prefilled = Answers::new();
        for f in service.questions() {
            let value = match f.prefill {
                Some(Prefill::GivenName) => Some(account.first_name.clone()),
                Some(Prefill::Surname) => Some(account.last_name.clone()),
                Some(Prefill::Phone) => account.phone.clone(),
                Some(Prefill::Email) => account.email.clone(),
                Some(p) => known.iter().find(|k| k.fact == p).map(|k| k.value.clone()),
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
        self.ensure_waiting_lists(&loaded.service).await?;
        // Read before the unit of work: no second connection is asked for while it is open.
        let known = self.assurance.known_facts(&account.id).await?;
        let mut work = self.work().await?;
        if loaded.service.one_open_application
            && let Some(other) = self.open_for_same_subject(&mut work, &loaded).await?
        {
            let subject = loaded.service.subject.as_ref().ok_or(AppError::NotFound)?;
            return Err(AppError::Form(vec![
                FieldError::new("declaration", "application-subject-open")
                    .arg("name", loaded.subject_name().unwrap_or_default())
                    .arg("arn", other.arn.map(|a| a.to_string()).unwrap_or_default())
                    .arg("page", first_page_with(form, &subject.name)),
            ]));
        }
        let kept = answers::applicable(form, &loaded.answers, today);
        let office = form
            .pages
            .iter()
            .flat_map(|p| &p.fields)
            .find(|f| f.kind == FieldKind::Office)
            .and_then(|f| kept.get(&f.id))
            .and_then(Answer::one)
            .map(str::to_string);
        // Tracking asks the date of birth of whom the application is for.
        let born_field = loaded
            .service
            .subject
            .as_ref()
            .map_or("date_of_birth", |s| s.birth_date.as_str());
        let birth_date = kept
            .get(born_field)
            .and_then(Answer::one)
            .map(str::to_string);
        let arn = Arn::generate(today.year(), |n| self.random.below(n));
        let now = self.clock.now();
        let json = serde_json::to_string(&kept).map_err(internal)?;
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
        // Which answers are still what the checked profile says (an edited one is not).
        let checked: std::collections::BTreeMap<&str, &str> = loaded
            .service
            .questions()
            .filter_map(|f| {
                let fact = f.prefill?;
                let k = known.iter().find(|k| k.fact == fact && k.checked)?;
                (kept.get(&f.id).and_then(Answer::one) == Some(k.value.as_str()))
                    .then_some((f.id.as_str(), fact.as_str()))
            })
            .collect();
        store::set_checked_facts(
            &mut work,
            id,
            &serde_json::to_string(&checked).map_err(internal)?,
        )
        .await?;
        self.sync_waiting(&mut work, &loaded.service, id, &start.id, &kept, now)
            .await?;
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

    /// Discards a draft.
    pub async fn discard(&self, owner: &UserId, id: &ApplicationId) -> AppResult<()> {
        let mut work = self.work().await?;
        if !store::delete_draft(&mut work, id, owner).await? {
            return Err(AppError::NotFound);
        }
        work.commit().await
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
            .questions()
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
