//! Officers' pages: the queue and one application with its actions. Anyone without an
//! assignment over an application gets "not found", as for an application that does not exist.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ekdwar_app::App;
use ekdwar_app::applications::{Loaded, QueueItem};
use ekdwar_app::error::AppError;
use ekdwar_domain::catalog::{ActionKind, WorkflowAction};

use crate::applications::{Shown, shown};
use crate::ctx::app_id;
use crate::ctx::render;
use crate::ctx::{Ctx, Me};
use crate::error::{Errors, WebError};

/// The officers' pages.
pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/officer", get(queue))
        .route(
            "/officer/applications/{id}/claim",
            axum::routing::post(claim),
        )
        .route(
            "/officer/applications/{id}/edit/{page}",
            get(edit_page).post(save_edit),
        )
        .route("/officer/applications/{id}", get(view))
        .route("/officer/applications/{id}/act", post(act))
}

#[derive(Template)]
#[template(path = "officer_queue.html")]
struct QueuePage<'a> {
    c: &'a Ctx,
    errors: Errors,
    items: Vec<QueueItem>,
    /// The services in the queue, for the filter.
    services: Vec<(String, String)>,
    /// How many are past their deadline.
    overdue: usize,
    due: String,
    service: String,
    claimed: String,
    me: ekdwar_domain::UserId,
}

impl QueuePage<'_> {
    fn claim_of(&self, a: &Loaded) -> String {
        match &a.claimed_by {
            None => String::new(),
            Some(u) if *u == self.me => self.c.t("officer-claimed-you"),
            Some(_) => self.c.t("officer-claimed-other"),
        }
    }

    fn state_name(&self, a: &Loaded) -> String {
        a.state_label()
            .map(|t| self.c.text(t).to_string())
            .unwrap_or_default()
    }
}

#[derive(serde::Deserialize)]
struct QueueFilter {
    /// `overdue`: only applications past their deadline.
    #[serde(default)]
    due: String,
    /// Only this service.
    #[serde(default)]
    service: String,
    /// `mine`: only those I claimed; `free`: only those no one claimed.
    #[serde(default)]
    claimed: String,
}

async fn queue(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    axum::extract::Query(filter): axum::extract::Query<QueueFilter>,
) -> Result<Response, WebError> {
    if app.applications.assignments(me.user_id()).await?.is_empty() {
        return Err(WebError(AppError::NotFound));
    }
    let all = app.applications.queue(me.user_id()).await?;
    let mut services: Vec<(String, String)> = all
        .iter()
        .map(|i| {
            (
                i.loaded.service.code.clone(),
                c.text(&i.loaded.service.name).to_string(),
            )
        })
        .collect();
    services.sort();
    services.dedup();
    let overdue = all.iter().filter(|i| i.overdue).count();
    let items = all
        .into_iter()
        .filter(|i| filter.due != "overdue" || i.overdue)
        .filter(|i| filter.service.is_empty() || i.loaded.service.code == filter.service)
        .filter(|i| match filter.claimed.as_str() {
            "mine" => i.loaded.claimed_by.as_ref() == Some(me.user_id()),
            "free" => i.loaded.claimed_by.is_none(),
            _ => true,
        })
        .collect();
    Ok(render(&QueuePage {
        c: &c,
        errors: Errors::default(),
        items,
        services,
        overdue,
        due: filter.due,
        service: filter.service,
        claimed: filter.claimed,
        me: me.user_id().clone(),
    }))
}

#[derive(Template)]
#[template(path = "officer_application.html")]
struct ViewPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    loaded: &'a Loaded,
    answers: Vec<Shown>,
    actions: Vec<&'a WorkflowAction>,
    /// Question ids and labels, for choosing what to reopen.
    questions: Vec<(String, String)>,
    /// Page ids and titles, for staff who correct answers.
    pages: Vec<(String, String)>,
    /// Every step so far.
    history: Vec<ekdwar_app::applications::Step>,
    /// Who is working on it.
    claimed: Claim,
    /// The zone its times are shown in.
    zone: jiff::tz::TimeZone,
    progress: Progress,
    /// The questions whose answers were checked profile facts at submission.
    checked: Vec<String>,
}

impl ViewPage<'_> {
    fn is_checked(&self, id: &str) -> bool {
        self.checked.iter().any(|c| c == id)
    }
}

/// Whose application it is and where it stands, as the officer deciding it needs to see it.
struct Progress {
    applicant: String,
    standing: crate::applications::Standing,
}

impl Progress {
    async fn of(app: &App, c: &Ctx, loaded: &Loaded) -> Result<Self, WebError> {
        Ok(Self {
            applicant: app.applications.applicant_name(loaded).await?,
            standing: crate::applications::Standing::of(app, c, &loaded.owner, loaded).await?,
        })
    }
}

/// Whether an application is claimed, as the officer looking at it sees it.
#[derive(PartialEq, Eq)]
enum Claim {
    Free,
    Mine,
    Other,
}

impl ViewPage<'_> {
    fn state_name(&self) -> String {
        self.loaded
            .state_label()
            .map(|t| self.c.text(t).to_string())
            .unwrap_or_default()
    }

    fn is_correction(&self, a: &WorkflowAction) -> bool {
        a.kind == ActionKind::Correction
    }

    fn is_reject(&self, a: &WorkflowAction) -> bool {
        a.kind == ActionKind::Reject
    }

    fn is_edit(&self, a: &WorkflowAction) -> bool {
        a.kind == ActionKind::Edit
    }

    fn claim_is(&self, which: &str) -> bool {
        match which {
            "free" => self.claimed == Claim::Free,
            "mine" => self.claimed == Claim::Mine,
            _ => self.claimed == Claim::Other,
        }
    }

    fn step_state(&self, state: &str) -> String {
        self.loaded
            .service
            .state(state)
            .map(|s| self.c.text(&s.label).to_string())
            .unwrap_or_else(|| state.to_string())
    }

    /// Who took a step and what they did, in words: the action's label from the definition
    /// ("Verify", "Submit") and the role ("applicant" as the applicant, a workflow role as
    /// written, tidied), not the raw ids.
    fn step_by(&self, s: &ekdwar_app::applications::Step) -> String {
        let action = self
            .loaded
            .service
            .workflow
            .iter()
            .flat_map(|w| &w.actions)
            .find(|a| a.id == s.action)
            .map(|a| self.c.text(&a.label).to_string())
            .unwrap_or_else(|| match s.action.as_str() {
                "submit" => self.c.t("officer-step-submitted"),
                other => other.replace('-', " "),
            });
        let who = if s.by_applicant || s.role == "applicant" {
            self.c.t("officer-step-applicant")
        } else if s.role == "portal" {
            self.c.t("officer-step-portal")
        } else {
            s.role.replace('-', " ")
        };
        format!("{who}: {action}")
    }

    /// A field of one action's form: errors belong to the form that was sent, so each field
    /// is named after its action (`comment-reject`).
    fn name(&self, field: &str, a: &WorkflowAction) -> String {
        format!("{field}-{}", a.id)
    }
}

async fn render_view(
    app: &App,
    c: &Ctx,
    me: &ekdwar_domain::UserId,
    loaded: &Loaded,
    roles: &[String],
    errors: Errors,
) -> Result<Response, WebError> {
    let history = app.applications.timeline(loaded).await?;
    let questions = app
        .applications
        .pages(loaded)
        .into_iter()
        .flat_map(|p| app.applications.questions(loaded, p))
        .map(|f| (f.id.clone(), c.text(&f.label).to_string()))
        .collect();
    let pages = app
        .applications
        .pages(loaded)
        .into_iter()
        .map(|p| (p.id.clone(), c.text(&p.title).to_string()))
        .collect();
    let bad = !errors.is_empty();
    let progress = Progress::of(app, c, loaded).await?;
    let checked = app.applications.checked_answers(&loaded.id).await?;
    let mut resp = render(&ViewPage {
        c,
        errors,
        progress,
        checked,
        answers: shown(app, c, loaded),
        actions: app.applications.officer_actions(roles, loaded),
        questions,
        pages,
        zone: app.applications.zone(loaded),
        loaded,
        history,
        claimed: match &loaded.claimed_by {
            None => Claim::Free,
            Some(u) if u == me => Claim::Mine,
            Some(_) => Claim::Other,
        },
    });
    if bad {
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
    }
    Ok(resp)
}

async fn view(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let (loaded, roles) = app
        .applications
        .inspect(me.user_id(), &id, &c.actor)
        .await?;
    render_view(&app, &c, me.user_id(), &loaded, &roles, Errors::default()).await
}

async fn act(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // A decision that ends the application is taken on a second page, after a summary of
    // what is being decided.
    if get("confirm") != "yes"
        && let Some((loaded, action)) =
            final_decision(&app, &c, me.user_id(), &id, &get("action")).await?
    {
        let progress = Progress::of(&app, &c, &loaded).await?;
        return Ok(render(&ConfirmPage {
            c: &c,
            errors: Errors::default(),
            loaded,
            action,
            progress,
            comment: get("comment").chars().take(1000).collect(),
            reason: get("reason").chars().take(64).collect(),
        }));
    }
    let reopen: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "reopen")
        .map(|(_, v)| v.clone())
        .take(200)
        .collect();
    match app
        .applications
        .act(
            me.user_id(),
            &id,
            &get("action"),
            &get("comment"),
            &get("reason"),
            &reopen,
            &c.actor,
        )
        .await
    {
        Ok(()) => Ok(Redirect::to("/officer?notice=notice-officer-done").into_response()),
        Err(e) => {
            let Some(mut errors) = Errors::from_app(&c, &e, "comment") else {
                return Err(WebError(e));
            };
            // Tie each message to the field of the form that was sent.
            let action = get("action");
            for m in &mut errors.list {
                m.field = format!("{}-{action}", m.field);
            }
            let (loaded, roles) = app
                .applications
                .inspect(me.user_id(), &id, &c.actor)
                .await?;
            render_view(&app, &c, me.user_id(), &loaded, &roles, errors).await
        }
    }
}

/// A page of the application as staff correct it (the applicant's own form, posted here).
async fn edit_page(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path((id, page_id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let (loaded, roles) = app
        .applications
        .inspect(me.user_id(), &id, &c.actor)
        .await?;
    if app.applications.edit_action(&roles, &loaded).is_none() {
        return Err(WebError(AppError::NotFound));
    }
    let page = app
        .applications
        .page(&loaded, &page_id)
        .ok_or(WebError(AppError::NotFound))?;
    Ok(crate::applications::render_staff_page(
        &app,
        &c,
        &loaded,
        page,
        None,
        Errors::default(),
        false,
    ))
}

async fn save_edit(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path((id, page_id)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let more = fields.iter().any(|(k, _)| k == "more");
    let typed = crate::applications::typed_of(fields);
    // "Add another" shows the page again with one more row, saving nothing yet.
    let (errors, extra_row) = if more {
        (Errors::default(), true)
    } else {
        match app
            .applications
            .edit_page(me.user_id(), &id, &page_id, &typed, &c.lang, &c.actor)
            .await
        {
            Ok(()) => {
                return Ok(Redirect::to(&format!(
                    "/officer/applications/{id}?notice=notice-officer-edited"
                ))
                .into_response());
            }
            Err(e) => match Errors::from_app(&c, &e, "form") {
                Some(errors) => (errors, false),
                None => return Err(WebError(e)),
            },
        }
    };
    let (loaded, _) = app
        .applications
        .inspect(me.user_id(), &id, &c.actor)
        .await?;
    let page = app
        .applications
        .page(&loaded, &page_id)
        .ok_or(WebError(AppError::NotFound))?;
    Ok(crate::applications::render_staff_page(
        &app,
        &c,
        &loaded,
        page,
        Some(&typed),
        errors,
        extra_row,
    ))
}

#[derive(serde::Deserialize)]
struct ClaimForm {
    #[serde(default)]
    claim: String,
}

/// Claims an application (or releases the claim) and comes back to it.
async fn claim(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Form(f): Form<ClaimForm>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let notice = match app
        .applications
        .claim(me.user_id(), &id, f.claim != "release", &c.actor)
        .await
    {
        Ok(()) if f.claim == "release" => "notice-officer-released",
        Ok(()) => "notice-officer-claimed",
        Err(AppError::Form(_)) => "notice-officer-claimed-by-another",
        Err(e) => return Err(WebError(e)),
    };
    Ok(Redirect::to(&format!("/officer/applications/{id}?notice={notice}")).into_response())
}

#[derive(Template)]
#[template(path = "officer_confirm.html")]
struct ConfirmPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    loaded: Loaded,
    action: WorkflowAction,
    progress: Progress,
    comment: String,
    reason: String,
}

impl ConfirmPage<'_> {
    fn outcome(&self) -> String {
        self.loaded
            .service
            .state(&self.action.to)
            .map(|s| self.c.text(&s.label).to_string())
            .unwrap_or_default()
    }
}

/// The application and `action` when the action is a plain decision that ends it (approve,
/// issue), to be confirmed first: anything else is taken at once. Only an officer who may take
/// it gets one; anyone else is answered as when taking it.
async fn final_decision(
    app: &App,
    c: &Ctx,
    me: &ekdwar_domain::UserId,
    id: &ekdwar_domain::ApplicationId,
    action: &str,
) -> Result<Option<(Loaded, WorkflowAction)>, WebError> {
    let (loaded, roles) = app.applications.inspect(me, id, &c.actor).await?;
    let Some(action) = app
        .applications
        .officer_actions(&roles, &loaded)
        .into_iter()
        .find(|a| a.id == action && a.kind == ActionKind::Advance)
        .filter(|a| loaded.service.state(&a.to).is_some_and(|s| s.terminal))
        .cloned()
    else {
        return Ok(None);
    };
    Ok(Some((loaded, action)))
}
