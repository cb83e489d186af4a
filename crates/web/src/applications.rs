//! The applicant's pages: start an application from a service, fill it one page at a time
//! (each page saved), check the answers, declare and submit, then follow it in "My
//! applications".

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ekdwar_app::App;
use ekdwar_app::applications::{Loaded, Next, Step};
use ekdwar_app::error::AppError;
use ekdwar_domain::ApplicationId;
use ekdwar_domain::catalog::answers::{Answer, Typed};
use ekdwar_domain::catalog::{Field, FieldKind, Page, Texts};

use crate::ctx::render;
use crate::ctx::{Ctx, Me, app_id};
use crate::error::{Errors, FieldMessage, WebError, field_message};

/// The applicant's pages.
pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/services/{code}/apply", post(start))
        .route("/applications", get(mine))
        .route("/applications/{id}", get(show))
        .route("/applications/{id}/pages/{page}", get(page).post(save_page))
        .route("/applications/{id}/check", get(check))
        .route("/applications/{id}/submit", post(submit))
        .route("/applications/{id}/withdraw", post(withdraw))
        .route("/applications/{id}/actions/{action}", post(applicant_step))
        .route("/applications/{id}/resubmit", post(resubmit))
        .route("/applications/{id}/discard", post(discard))
}

pub(crate) fn go(next: &Next, id: &ApplicationId) -> Redirect {
    match next {
        Next::Page(p) => Redirect::to(&format!("/applications/{id}/pages/{p}")),
        Next::Check => Redirect::to(&format!("/applications/{id}/check")),
    }
}

async fn start(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let started = match app.applications.start(&me.account, &code, &c.actor).await {
        // Not allowed to apply: the service page says why and what to do.
        Err(AppError::Form(list)) => {
            let notice = match list.first().map(|f| f.code) {
                Some("application-level-too-low") => "notice-level-needed",
                _ => "notice-not-for-you",
            };
            let code: String = code
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            return Ok(Redirect::to(&format!("/services/{code}?notice={notice}")).into_response());
        }
        other => other?,
    };
    match started {
        Ok(id) => {
            let loaded = app.applications.get(me.user_id(), &id).await?;
            let first = app
                .applications
                .pages(&loaded)
                .first()
                .map_or(Next::Check, |p| Next::Page(p.id.clone()));
            Ok(go(&first, &id).into_response())
        }
        // One open application at a time: go to the one there is.
        Err(open) => Ok(Redirect::to(&format!(
            "/applications/{open}?notice=notice-application-open"
        ))
        .into_response()),
    }
}

/// One question as the page shows it: its definition, its current value(s), its error.
pub struct Question<'a> {
    pub field: &'a Field,
    /// The name of the input (for group items, `group.index.question`).
    pub name: String,
    pub value: String,
    /// Ticked choices (checkbox).
    pub ticked: Vec<String>,
    /// Group items: each item's questions.
    pub items: Vec<Vec<Question<'a>>>,
}

#[derive(Template)]
#[template(path = "application_page.html")]
struct FormPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    loaded: &'a Loaded,
    page: &'a Page,
    questions: Vec<Question<'a>>,
    offices: Vec<(String, Texts)>,
    /// "Page 2 of 5".
    number: usize,
    total: usize,
    back: Option<String>,
    /// Where the form is sent.
    action: String,
    /// Staff correcting a submitted application (not the applicant's draft).
    staff: bool,
}

/// How a question is drawn, for every page that draws questions (`application_field.html`).
pub trait Questions {
    fn kind(&self, q: &Question<'_>) -> &'static str {
        q.field.kind.as_str()
    }

    fn is(&self, q: &Question<'_>, kind: &str) -> bool {
        q.field.kind.as_str() == kind
    }

    fn input_type(&self, q: &Question<'_>) -> &'static str {
        match q.field.kind {
            FieldKind::Number => "text",
            FieldKind::Phone => "tel",
            FieldKind::Email => "email",
            _ => "text",
        }
    }

    fn input_mode(&self, q: &Question<'_>) -> &'static str {
        match q.field.kind {
            FieldKind::Number | FieldKind::Pincode => "numeric",
            FieldKind::Phone => "tel",
            FieldKind::Email => "email",
            _ => "text",
        }
    }

    fn autocomplete(&self, q: &Question<'_>) -> &'static str {
        use ekdwar_domain::catalog::Prefill as P;
        match (q.field.prefill, q.field.kind) {
            (Some(P::GivenName), _) => "given-name",
            (Some(P::Surname), _) => "family-name",
            (_, FieldKind::Phone) => "tel",
            (_, FieldKind::Email) => "email",
            (_, FieldKind::Pincode) => "postal-code",
            (_, FieldKind::Address) => "street-address",
            (_, FieldKind::Date) if q.field.id.contains("birth") => "bday",
            _ => "off",
        }
    }

    /// The question's hint in the page's language, or nothing.
    fn hint_of(&self, c: &Ctx, q: &Question<'_>) -> String {
        q.field
            .hint
            .as_ref()
            .map_or_else(String::new, |h| c.text(h).to_string())
    }

    fn is_ticked(&self, q: &Question<'_>, value: &str) -> bool {
        q.ticked.iter().any(|t| t == value)
    }

    /// The choices a ranked question asks for: 1, 2, … up to its `max_items`.
    fn ranks(&self, q: &Question<'_>) -> Vec<usize> {
        let n = q
            .field
            .max_items
            .map_or(q.field.options.len(), |m| m as usize);
        (1..=n.min(q.field.options.len().max(1))).collect()
    }

    /// The element id of choice `n` (the first takes the question's own, for the error
    /// summary's link).
    fn rank_id(&self, q: &Question<'_>, n: &usize) -> String {
        if *n == 1 {
            q.name.to_string()
        } else {
            format!("{}-{n}", q.name)
        }
    }

    /// Whether choice `n` of a ranked question is `value`.
    fn ranked_is(&self, q: &Question<'_>, n: &usize, value: &str) -> bool {
        q.ticked.get(n.wrapping_sub(1)).is_some_and(|t| t == value)
    }
}

impl Questions for FormPage<'_> {}

impl FormPage<'_> {
    fn can_add(&self, q: &Question<'_>) -> bool {
        q.field.max_items.is_none_or(|m| q.items.len() < m as usize)
    }
}

fn questions<'a>(
    fields: Vec<&'a Field>,
    answers: &ekdwar_domain::catalog::answers::Answers,
    typed: Option<&BTreeMap<String, Typed>>,
    extra_row: bool,
) -> Vec<Question<'a>> {
    fields
        .into_iter()
        .map(|f| {
            let typed_one = typed.and_then(|t| t.get(&f.id));
            let (value, ticked, items) = match (typed_one, answers.get(&f.id)) {
                (Some(Typed::One(v)), _) => (v.clone(), Vec::new(), Vec::new()),
                (Some(Typed::Many(v)), _) => (String::new(), v.clone(), Vec::new()),
                (Some(Typed::Items(v)), _) => (String::new(), Vec::new(), v.clone()),
                (Some(Typed::Missing), _) => Default::default(),
                (None, Some(Answer::One(v))) => (v.clone(), Vec::new(), Vec::new()),
                (None, Some(Answer::Many(v))) => (String::new(), v.clone(), Vec::new()),
                (None, Some(Answer::Items(v))) => (String::new(), Vec::new(), v.clone()),
                (None, None) => Default::default(),
            };
            let mut rows = items;
            if f.kind == FieldKind::Group {
                let min = f.min_items.unwrap_or(1).max(1) as usize;
                let max = f.max_items.map_or(usize::MAX, |m| m as usize);
                while rows.len() < min || (extra_row && rows.len() < max) {
                    rows.push(BTreeMap::new());
                    if rows.len() >= min && extra_row {
                        break;
                    }
                }
            }
            let items = rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    f.fields
                        .iter()
                        .map(|sub| Question {
                            field: sub,
                            name: format!("{}.{}.{}", f.id, i, sub.id),
                            value: row.get(&sub.id).cloned().unwrap_or_default(),
                            ticked: Vec::new(),
                            items: Vec::new(),
                        })
                        .collect()
                })
                .collect();
            Question {
                field: f,
                name: f.id.clone(),
                value,
                ticked,
                items,
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn render_page(
    app: &App,
    c: &Ctx,
    loaded: &Loaded,
    page: &Page,
    typed: Option<&BTreeMap<String, Typed>>,
    errors: Errors,
    extra_row: bool,
) -> Response {
    render_form(app, c, loaded, page, typed, errors, extra_row, false)
}

/// A page of a submitted application as staff correct it for the applicant: posted to the
/// officer's pages, every question of the page asked.
pub(crate) fn render_staff_page(
    app: &App,
    c: &Ctx,
    loaded: &Loaded,
    page: &Page,
    typed: Option<&BTreeMap<String, Typed>>,
    errors: Errors,
    extra_row: bool,
) -> Response {
    render_form(app, c, loaded, page, typed, errors, extra_row, true)
}

#[allow(clippy::too_many_arguments)]
fn render_form(
    app: &App,
    c: &Ctx,
    loaded: &Loaded,
    page: &Page,
    typed: Option<&BTreeMap<String, Typed>>,
    errors: Errors,
    extra_row: bool,
    staff: bool,
) -> Response {
    let pages = app.applications.pages(loaded);
    let at = pages.iter().position(|p| p.id == page.id).unwrap_or(0);
    let back = if staff {
        Some(format!("/officer/applications/{}", loaded.id))
    } else {
        at.checked_sub(1)
            .and_then(|i| pages.get(i))
            .map(|p| format!("/applications/{}/pages/{}", loaded.id, p.id))
    };
    let action = if staff {
        format!("/officer/applications/{}/edit/{}", loaded.id, page.id)
    } else {
        format!("/applications/{}/pages/{}", loaded.id, page.id)
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::BAD_REQUEST
    };
    let mut resp = render(&FormPage {
        c,
        errors,
        loaded,
        page,
        questions: questions(
            app.applications
                .questions(loaded, page)
                .into_iter()
                // In a correction, only the answers the officer reopened.
                .filter(|f| staff || !loaded.in_correction() || loaded.reopened.contains(&f.id))
                .collect(),
            &loaded.answers,
            typed,
            extra_row,
        ),
        offices: app.applications.offices(&loaded.service),
        number: at + 1,
        total: pages.len(),
        back,
        action,
        staff,
    });
    *resp.status_mut() = status;
    resp
}

async fn page(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path((id, page_id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let loaded = app.applications.get(me.user_id(), &id).await?;
    if !loaded.is_draft() && !loaded.in_correction() {
        return Ok(Redirect::to(&format!("/applications/{id}")).into_response());
    }
    let page = app
        .applications
        .page(&loaded, &page_id)
        .ok_or(WebError(AppError::NotFound))?;
    Ok(render_page(
        &app,
        &c,
        &loaded,
        page,
        None,
        Errors::default(),
        false,
    ))
}

/// The typed values of a page's form: single values, ticked boxes, and group items from
/// names `group.index.question`.
pub(crate) fn typed_of(fields: Vec<(String, String)>) -> BTreeMap<String, Typed> {
    let mut out: BTreeMap<String, Typed> = BTreeMap::new();
    let mut items: BTreeMap<String, BTreeMap<usize, BTreeMap<String, String>>> = BTreeMap::new();
    let fields = crate::dates::joined(fields.into_iter().take(1500).collect());
    for (k, v) in fields.into_iter().take(500) {
        if k == "csrf" || k == "more" {
            continue;
        }
        let parts: Vec<&str> = k.splitn(3, '.').collect();
        if let [group, index, sub] = parts[..]
            && let Ok(i) = index.parse::<usize>()
            && i < 50
        {
            items
                .entry(group.to_string())
                .or_default()
                .entry(i)
                .or_default()
                .insert(sub.to_string(), v);
            continue;
        }
        match out.remove(&k) {
            None => {
                out.insert(k, Typed::One(v));
            }
            Some(Typed::One(first)) => {
                out.insert(k, Typed::Many(vec![first, v]));
            }
            Some(Typed::Many(mut all)) => {
                all.push(v);
                out.insert(k, Typed::Many(all));
            }
            Some(other) => {
                out.insert(k, other);
            }
        }
    }
    for (group, rows) in items {
        out.insert(group, Typed::Items(rows.into_values().collect()));
    }
    out
}

async fn save_page(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path((id, page_id)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let more = fields.iter().any(|(k, _)| k == "more");
    let typed = typed_of(fields);
    match app
        .applications
        .save_page(me.user_id(), &id, &page_id, &typed, &c.lang)
        .await
    {
        Ok(next) if more => {
            // "Add another": the page again, with a blank item.
            let loaded = app.applications.get(me.user_id(), &id).await?;
            let page = app
                .applications
                .page(&loaded, &page_id)
                .ok_or(WebError(AppError::NotFound))?;
            let _ = next;
            Ok(render_page(
                &app,
                &c,
                &loaded,
                page,
                None,
                Errors::default(),
                true,
            ))
        }
        Ok(next) => Ok(go(&next, &id).into_response()),
        Err(e) => {
            let loaded = app.applications.get(me.user_id(), &id).await?;
            let page = app
                .applications
                .page(&loaded, &page_id)
                .ok_or(WebError(AppError::NotFound))?;
            let Some(errors) = question_errors(&c, page, &e) else {
                return Err(WebError(e));
            };
            Ok(render_page(
                &app,
                &c,
                &loaded,
                page,
                Some(&typed),
                errors,
                false,
            ))
        }
    }
}

/// The errors of a page of a service's form, each in the question's own words: the
/// definition's message for it if it has one, else one that names the question ("Choose
/// “Kindergartens”", "Enter “Child's date of birth” as a date…").
fn question_errors(c: &Ctx, page: &Page, e: &AppError) -> Option<Errors> {
    let AppError::Form(list) = e else {
        return Errors::from_app(c, e, "form");
    };
    let messages = list
        .iter()
        .map(|f| {
            let question = page.fields.iter().find(|q| q.id == f.field);
            let message = match question {
                None => field_message(c, f),
                Some(q) => {
                    let code = f.code.strip_prefix("form-").unwrap_or(f.code);
                    match q.messages.get(code) {
                        Some(own) => c.text(own).to_string(),
                        None => {
                            let label = c.text(&q.label).to_string();
                            let key = match (code, q.kind) {
                                ("required" | "required-choice", FieldKind::Date) => {
                                    "err-form-required-date"
                                }
                                (
                                    "required" | "required-choice",
                                    FieldKind::Select
                                    | FieldKind::Radio
                                    | FieldKind::Office
                                    | FieldKind::Checkbox,
                                ) => "err-form-required-pick",
                                ("required" | "required-choice", _) => "err-form-required-enter",
                                _ => "",
                            };
                            if key.is_empty() {
                                field_message(c, f)
                            } else {
                                c.ta(key, "label", label)
                            }
                        }
                    }
                }
            };
            FieldMessage {
                field: f.field.to_string(),
                message,
            }
        })
        .collect();
    Some(Errors { list: messages })
}

/// An answer as the check page and the receipt show it.
pub struct Shown {
    pub id: String,
    pub label: String,
    pub value: String,
    pub page: String,
}

/// Every answer that applies, in the form's order, written for people.
pub fn shown(app: &App, c: &Ctx, loaded: &Loaded) -> Vec<Shown> {
    let offices = app.applications.offices(&loaded.service);
    let mut out = Vec::new();
    for page in app.applications.pages(loaded) {
        for f in app.applications.questions(loaded, page) {
            let value = match loaded.answers.get(&f.id) {
                None => c.t("application-not-answered"),
                Some(a) => written(c, f, a, &offices),
            };
            out.push(Shown {
                id: f.id.clone(),
                label: c.text(&f.label).to_string(),
                value,
                page: page.id.clone(),
            });
        }
    }
    out
}

fn written(c: &Ctx, f: &Field, a: &Answer, offices: &[(String, Texts)]) -> String {
    let choice = |v: &str| {
        f.options
            .iter()
            .find(|o| o.value == v)
            .map(|o| c.text(&o.label).to_string())
            .or_else(|| {
                offices
                    .iter()
                    .find(|(code, _)| code == v)
                    .map(|(_, n)| c.text(n).to_string())
            })
            .unwrap_or_else(|| v.to_string())
    };
    match a {
        Answer::One(v) => match f.kind {
            FieldKind::Select | FieldKind::Radio | FieldKind::Office => choice(v),
            FieldKind::Phone => ekdwar_domain::Phone::from_trusted(v.clone()).formatted(),
            // Written as every other date on the pages.
            FieldKind::Date => match v.parse::<jiff::civil::Date>() {
                Ok(d) => c.date(d),
                Err(_) => v.clone(),
            },
            _ => v.clone(),
        },
        Answer::Many(vs) => vs.iter().map(|v| choice(v)).collect::<Vec<_>>().join(", "),
        Answer::Items(items) => items
            .iter()
            .map(|item| {
                f.fields
                    .iter()
                    .filter_map(|sub| {
                        item.get(&sub.id)
                            .map(|v| written(c, sub, &Answer::One(v.clone()), offices))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

#[derive(Template)]
#[template(path = "application_check.html")]
struct CheckPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    loaded: &'a Loaded,
    answers: Vec<Shown>,
    fees: Vec<&'a ekdwar_domain::catalog::Fee>,
}

async fn check(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let loaded = app.applications.get(me.user_id(), &id).await?;
    if !loaded.is_draft() {
        return Ok(Redirect::to(&format!("/applications/{id}")).into_response());
    }
    if let Next::Page(p) = app.applications.resume(&loaded) {
        return Ok(Redirect::to(&format!("/applications/{id}/pages/{p}")).into_response());
    }
    Ok(render(&CheckPage {
        c: &c,
        errors: Errors::default(),
        answers: shown(&app, &c, &loaded),
        fees: app.applications.fees(&loaded),
        loaded: &loaded,
    }))
}

#[derive(serde::Deserialize)]
pub struct SubmitForm {
    #[serde(default)]
    declaration: String,
}

async fn submit(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Form(f): Form<SubmitForm>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    match app
        .applications
        .submit(&me.account, &id, f.declaration == "yes", &c.lang, &c.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/applications/{id}?submitted=1")).into_response()),
        Err(e) => {
            let Some(errors) = Errors::from_app(&c, &e, "declaration") else {
                return Err(WebError(e));
            };
            let loaded = app.applications.get(me.user_id(), &id).await?;
            let mut resp = render(&CheckPage {
                c: &c,
                errors,
                answers: shown(&app, &c, &loaded),
                fees: app.applications.fees(&loaded),
                loaded: &loaded,
            });
            *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(resp)
        }
    }
}

#[derive(Template)]
#[template(path = "application.html")]
struct ShowPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    payment: Option<crate::payments::Shown>,
    /// The booked (or held) appointment at a centre, if there is one.
    appointment: Option<ekdwar_app::appointments::AppointmentView>,
    /// Its places in waiting lists, in words.
    places: Vec<String>,
    /// The zone its times are shown in.
    zone: jiff::tz::TimeZone,
    loaded: &'a Loaded,
    answers: Vec<Shown>,
    fees: Vec<&'a ekdwar_domain::catalog::Fee>,
    history: Vec<Step>,
    /// Just submitted: the reference number in a confirmation panel.
    submitted: bool,
}

/// `?submitted=1` after submitting.
#[derive(serde::Deserialize, Default)]
struct JustSubmitted {
    #[serde(default)]
    submitted: String,
}

impl ShowPage<'_> {
    fn state_name(&self, state: &str) -> String {
        if state == "draft" {
            return self.c.t("application-draft");
        }
        self.loaded
            .service
            .state(state)
            .map(|s| self.c.text(&s.label).to_string())
            .unwrap_or_else(|| state.to_string())
    }

    /// The answers reopened for correction.
    fn corrections(&self) -> Vec<&Shown> {
        self.answers
            .iter()
            .filter(|a| self.loaded.reopened.contains(&a.id))
            .collect()
    }

    /// What the officer wrote when sending it back.
    fn officer_note(&self) -> Option<&str> {
        self.history
            .iter()
            .rev()
            .find(|s| !s.by_applicant)
            .and_then(|s| s.comment.as_deref())
    }

    /// The plain actions open to the applicant now (accept or decline an offered place).
    fn steps(&self) -> Vec<&ekdwar_domain::catalog::WorkflowAction> {
        self.loaded
            .applicant_actions()
            .into_iter()
            .filter(|a| a.kind == ekdwar_domain::catalog::ActionKind::Advance)
            .collect()
    }

    fn can_withdraw(&self) -> bool {
        self.loaded
            .applicant_actions()
            .iter()
            .any(|a| a.kind == ekdwar_domain::catalog::ActionKind::Withdraw)
    }
}

async fn show(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    axum::extract::Query(just): axum::extract::Query<JustSubmitted>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let loaded = app.applications.get(me.user_id(), &id).await?;
    let history = app.applications.history(me.user_id(), &id).await?;
    let payment = app
        .payments
        .of_application(me.user_id(), &id)
        .await?
        .map(|p| crate::payments::shown(&c, &p));
    let appointment = if loaded.service.appointment.is_some() && !loaded.is_draft() {
        app.appointments
            .of_application(me.user_id(), &id)
            .await?
            .into_iter()
            .find(|a| a.is_booked() || a.is_held())
    } else {
        None
    };
    let places = app
        .applications
        .places_of(&loaded)
        .await?
        .iter()
        .map(|p| place_line(&c, p))
        .collect();
    Ok(render(&ShowPage {
        c: &c,
        errors: Errors::default(),
        payment,
        appointment,
        places,
        zone: app.applications.zone(&loaded),
        answers: shown(&app, &c, &loaded),
        fees: app.applications.fees(&loaded),
        submitted: just.submitted == "1" && loaded.arn.is_some(),
        loaded: &loaded,
        history,
    }))
}

async fn withdraw(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    app.applications
        .withdraw(&me.account, &id, &c.lang, &c.actor)
        .await?;
    Ok(Redirect::to(&format!(
        "/applications/{id}?notice=notice-application-withdrawn"
    ))
    .into_response())
}

async fn applicant_step(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    app.applications
        .applicant_step(&me.account, &id, &action, &c.lang, &c.actor)
        .await?;
    Ok(Redirect::to(&format!("/applications/{id}?notice=notice-saved")).into_response())
}

async fn resubmit(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    app.applications
        .resubmit(&me.account, &id, &c.lang, &c.actor)
        .await?;
    Ok(Redirect::to(&format!(
        "/applications/{id}?notice=notice-application-resubmitted"
    ))
    .into_response())
}

async fn discard(
    State(app): State<App>,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    app.applications.discard(me.user_id(), &id).await?;
    Ok(Redirect::to("/applications?notice=notice-application-discarded").into_response())
}

/// An application's place in one waiting list, in words: "Kindergarten No. 101 (choice 1):
/// place 2 of 3".
pub(crate) fn place_line(c: &Ctx, p: &ekdwar_app::applications::Place) -> String {
    format!(
        "{} ({}): {}",
        c.text(&p.label),
        c.ta("queue-choice", "n", p.preference),
        c.ta2("queue-place", "position", p.position, "waiting", p.waiting)
    )
}

#[derive(Template)]
#[template(path = "applications.html")]
struct MinePage<'a> {
    c: &'a Ctx,
    errors: Errors,
    list: Vec<Loaded>,
    places: BTreeMap<ApplicationId, Vec<ekdwar_app::applications::Place>>,
}

impl MinePage<'_> {
    /// Its place in the list of its first choice, if it waits in one.
    fn first_place(&self, a: &Loaded) -> Option<String> {
        self.places
            .get(&a.id)
            .and_then(|p| p.first())
            .map(|p| place_line(self.c, p))
    }

    fn state_name(&self, a: &Loaded) -> String {
        match a.state_label() {
            Some(t) => self.c.text(t).to_string(),
            None => self.c.t("application-draft"),
        }
    }
}

async fn mine(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    let list = app.applications.mine(me.user_id()).await?;
    let places = app
        .applications
        .places(&list.iter().collect::<Vec<_>>())
        .await?;
    Ok(render(&MinePage {
        c: &c,
        errors: Errors::default(),
        list,
        places,
    }))
}

#[derive(Template)]
#[template(path = "track.html")]
struct TrackPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    services: Vec<(String, Texts)>,
    service: String,
    arn: String,
    birth_date: String,
    challenge: Option<ekdwar_app::captcha::Challenge>,
    found: Option<ekdwar_app::applications::Tracked>,
    standing: Option<Standing>,
}

/// Where an application stands besides its state, in words: its fee and its visit to a
/// centre. Tracking, the receipt and the officer's page all say it the same way.
pub struct Standing {
    /// "Paid — ₹1,500; due at the centre ₹2,000: not paid yet".
    pub fee: Option<String>,
    /// "Booked: Mon, 14 Dec 2026, 10:30 IST, Passport Seva Kendra, Jaipur".
    pub visit: Option<String>,
}

impl Standing {
    pub async fn of(
        app: &App,
        c: &Ctx,
        owner: &ekdwar_domain::UserId,
        loaded: &Loaded,
    ) -> Result<Self, WebError> {
        let fee = match app.payments.of_application(owner, &loaded.id).await? {
            Some(p) => {
                let p = crate::payments::shown(c, &p);
                let mut line = format!("{} — {}", c.t(p.status_code()), p.online);
                if let Some(due) = &p.centre {
                    let paid = if p.centre_paid {
                        "fee-centre-paid"
                    } else {
                        "fee-centre-unpaid"
                    };
                    line.push_str(&format!("; {} {due}: {}", c.t("fee-at-centre"), c.t(paid)));
                }
                Some(line)
            }
            None if !loaded.service.fees.is_empty() && !loaded.is_draft() => {
                Some(c.t("fee-unpaid"))
            }
            None => None,
        };
        // The latest visit: booked, done or missed (not a hold, nor one moved to another).
        let visit = if loaded.service.appointment.is_some() && !loaded.is_draft() {
            let latest = app
                .appointments
                .of_application(owner, &loaded.id)
                .await?
                .into_iter()
                .find(|a| !matches!(a.state.as_str(), "held" | "released" | "rescheduled"));
            Some(match latest {
                Some(a) => format!(
                    "{}: {}, {}",
                    c.t(&format!("visit-{}", a.state.replace('_', "-"))),
                    c.on_day(&a),
                    c.text(&a.centre.def.name)
                ),
                None => c.t("visit-none"),
            })
        } else {
            None
        };
        Ok(Self { fee, visit })
    }
}

/// Tracking without logging in: the service, the file number and the date of birth.
pub fn track_routes() -> axum::Router<App> {
    axum::Router::new().route("/track", get(track_form).post(track))
}

async fn track_form(State(app): State<App>, c: Ctx) -> Response {
    render(&TrackPage {
        c: &c,
        errors: Errors::default(),
        services: app.applications.trackable(),
        service: String::new(),
        arn: String::new(),
        birth_date: String::new(),
        challenge: Some(app.applications.new_challenge()),
        found: None,
        standing: None,
    })
}

#[derive(serde::Deserialize)]
pub struct TrackForm {
    #[serde(default)]
    service: String,
    #[serde(default)]
    arn: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default, rename = "birth_date[day]")]
    birth_day: String,
    #[serde(default, rename = "birth_date[month]")]
    birth_month: String,
    #[serde(default, rename = "birth_date[year]")]
    birth_year: String,
    #[serde(flatten)]
    challenge: crate::identity::ChallengeFields,
}

impl TrackForm {
    /// The date of birth, from its three boxes (or, from a client that sends one field, as
    /// it came).
    fn birth_date(&self) -> String {
        let boxes = crate::dates::compose(&self.birth_day, &self.birth_month, &self.birth_year);
        if boxes.is_empty() {
            self.birth_date.clone()
        } else {
            boxes
        }
    }
}

async fn track(
    State(app): State<App>,
    c: Ctx,
    Form(f): Form<TrackForm>,
) -> Result<Response, WebError> {
    let result = app
        .applications
        .track(
            &f.service,
            &f.arn,
            &f.birth_date(),
            &f.challenge.answer(),
            &c.actor,
        )
        .await;
    let throttled = matches!(result, Err(AppError::Throttled { .. }));
    let (found, errors) = match result {
        Ok(t) => (Some(t), Errors::default()),
        Err(AppError::Throttled { retry_after_secs }) => (
            None,
            Errors {
                list: vec![crate::error::FieldMessage {
                    field: "arn".into(),
                    message: c.ta(
                        "err-track-throttled",
                        "minutes",
                        retry_after_secs.div_ceil(60),
                    ),
                }],
            },
        ),
        Err(e) => match Errors::from_app(&c, &e, "arn") {
            Some(errors) => (None, errors),
            None => return Err(WebError(e)),
        },
    };
    let status = if errors.is_empty() {
        axum::http::StatusCode::OK
    } else if throttled {
        axum::http::StatusCode::TOO_MANY_REQUESTS
    } else {
        axum::http::StatusCode::BAD_REQUEST
    };
    let standing = match &found {
        Some(t) => {
            let loaded = app.applications.get(&t.owner, &t.id).await?;
            Some(Standing::of(&app, &c, &t.owner, &loaded).await?)
        }
        None => None,
    };
    let mut resp = render(&TrackPage {
        c: &c,
        errors,
        standing,
        services: app.applications.trackable(),
        service: f.service.chars().take(64).collect(),
        arn: f.arn.chars().take(40).collect(),
        birth_date: f.birth_date().chars().take(20).collect(),
        challenge: Some(app.applications.new_challenge()),
        found,
    });
    *resp.status_mut() = status;
    Ok(resp)
}

#[derive(Template)]
#[template(path = "fees.html")]
struct FeesPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    service: &'a ekdwar_domain::catalog::Service,
    questions: Vec<Question<'a>>,
    offices: Vec<(String, Texts)>,
    /// Computed once every question the fees depend on is answered.
    due: Option<Vec<&'a ekdwar_domain::catalog::Fee>>,
}

impl Questions for FeesPage<'_> {}

impl FeesPage<'_> {
    fn total(&self, at_centre: bool) -> u64 {
        self.due
            .iter()
            .flatten()
            .filter(|f| (f.due.as_str() == "at_centre") == at_centre)
            .map(|f| f.amount)
            .sum()
    }

    fn currency(&self) -> &str {
        self.service
            .fees
            .first()
            .map_or("INR", |f| f.currency.as_str())
    }
}

/// The fee calculator: the questions the service's fees depend on, and what is due.
pub fn fee_routes() -> axum::Router<App> {
    axum::Router::new().route("/services/{code}/fees", get(fees))
}

async fn fees(
    State(app): State<App>,
    c: Ctx,
    Path(code): Path<String>,
    axum::extract::Query(query): axum::extract::Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let snapshot = app.catalog.snapshot();
    let Some((_, service)) = snapshot.service(&code) else {
        return Err(WebError(AppError::NotFound));
    };
    let typed = typed_of(query);
    let (questions_asked, result) = app.applications.fee_calculator(service, &typed, &c.lang);
    let (due, errors) = match result {
        Ok(Some(answers)) => (
            Some(ekdwar_domain::catalog::answers::fees(
                &service.fees,
                &answers,
                app.applications.today(),
            )),
            Errors::default(),
        ),
        Ok(None) => (None, Errors::default()),
        Err(e) => (None, Errors::from_app(&c, &e, "form").unwrap_or_default()),
    };
    let bad = !errors.is_empty();
    let answers = ekdwar_domain::catalog::answers::Answers::new();
    let mut resp = render(&FeesPage {
        c: &c,
        errors,
        questions: questions(questions_asked, &answers, Some(&typed), false),
        offices: Vec::new(),
        service,
        due,
    });
    if bad {
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NoticesPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    notices: Vec<ekdwar_app::applications::Notice>,
}

/// The person's notifications.
pub fn notice_routes() -> axum::Router<App> {
    axum::Router::new().route("/notifications", get(notices))
}

async fn notices(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    let notices = app.applications.notices(me.user_id()).await?;
    Ok(render(&NoticesPage {
        c: &c,
        errors: Errors::default(),
        notices,
    }))
}
