//! The identity desk at a centre that confirms identities: find a citizen, compare their
//! document with the checked profile, confirm them to the verified level; register a citizen
//! who has no account; restore access for one who lost their phone and e-mail. Searches are
//! posted, so that no phone or national identifier is written into a URL (or a log of URLs).
//! A code step's flow is kept in a cookie of the operator's browser for ten minutes.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::appointments::DeskRegistration;
use ekdwar_app::assurance::PersonCard;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::CurrentSession;
use ekdwar_domain::{AccountLevel, UserId};
use serde::Deserialize;

use crate::assurance::{Fact, Item, facts_of};
use crate::ctx::{Ctx, Me, render};
use crate::error::{Errors, WebError};
use crate::identity::{CodeForm, flow_cookie, form_errors, with_errors};

const DESK_FLOW: &str = "ekdwar_desk";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/centre/identity", get(desk).post(find))
        .route("/centre/identity/{user}/confirm", post(confirm))
        .route("/centre/identity/register", post(register))
        .route(
            "/centre/identity/register/code",
            get(register_code_form).post(register_code),
        )
        .route("/centre/identity/{user}/restore", post(restore))
        .route(
            "/centre/identity/{user}/restore/code",
            get(restore_code_form).post(restore_code),
        )
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    centre: String,
    query: String,
    card: Option<PersonCard>,
    facts: Vec<Fact>,
    items: Vec<Item>,
    /// The registration form as typed: phone, first and last name, consent.
    new: NewCitizen,
}

#[derive(Deserialize, Default)]
struct NewCitizen {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    consent: Option<String>,
}

impl DeskPage<'_> {
    fn level_key(&self) -> String {
        self.card
            .as_ref()
            .map(|p| format!("level-{}", p.level.as_str()))
            .unwrap_or_default()
    }
    fn can_confirm(&self) -> bool {
        self.card
            .as_ref()
            .is_some_and(|p| p.level == AccountLevel::Standard && p.checked())
    }
    /// Access can be restored only for someone whose identity is checked.
    fn can_restore(&self) -> bool {
        self.card.as_ref().is_some_and(PersonCard::restorable)
    }
    fn verified(&self) -> bool {
        self.card
            .as_ref()
            .is_some_and(|p| p.level == AccountLevel::Verified)
    }
}

async fn page(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    query: String,
    card: Option<PersonCard>,
    errors: Errors,
) -> Result<Response, WebError> {
    page_with(app, c, me, query, card, errors, NewCitizen::default()).await
}

async fn page_with(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    query: String,
    card: Option<PersonCard>,
    errors: Errors,
    new: NewCitizen,
) -> Result<Response, WebError> {
    let centre = app.appointments.identity_desk(me.user_id()).await?;
    let facts = card
        .as_ref()
        .map(|p| facts_of(c, &p.facts, None))
        .unwrap_or_default();
    let items = card
        .as_ref()
        .map(|p| crate::assurance::item_rows(&p.items))
        .unwrap_or_default();
    let resp = render(&DeskPage {
        c,
        errors: errors.clone(),
        centre: c.text(&centre.def.name).to_string(),
        query,
        card,
        facts,
        items,
        new,
    });
    Ok(with_errors(resp, &errors))
}

/// The person's card again, saying why the action on it was refused (`field` for an error
/// that names none).
async fn card_with_errors(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    user: &UserId,
    e: AppError,
    field: &str,
) -> Result<Response, WebError> {
    match Errors::from_app(c, &e, field) {
        Some(errors) => {
            let card = app
                .appointments
                .desk_person(me.user_id(), user, &c.actor)
                .await?;
            page(app, c, me, String::new(), Some(card), errors).await
        }
        None => Err(WebError(e)),
    }
}

async fn desk(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    page(&app, &c, &me, String::new(), None, Errors::default()).await
}

#[derive(Deserialize)]
struct FindForm {
    #[serde(default)]
    query: String,
}

async fn find(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<FindForm>,
) -> Result<Response, WebError> {
    let query: String = f.query.trim().chars().take(100).collect();
    let found = if query.is_empty() {
        None
    } else {
        app.appointments
            .desk_find(me.user_id(), &query, &c.actor)
            .await?
    };
    let errors = match (&found, query.is_empty()) {
        (Some(_), _) => Errors::default(),
        (None, true) => Errors::one(&c, "query", "desk-query-missing"),
        (None, false) => Errors::one(&c, "query", "desk-not-found"),
    };
    page(&app, &c, &me, query, found, errors).await
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    seen: String,
}

async fn confirm(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(user): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    let user = UserId::new(user);
    let result = if f.seen == "yes" {
        app.appointments
            .desk_confirm(me.user_id(), &user, &c.actor)
            .await
    } else {
        Err(AppError::field("seen", "desk-seen-missing"))
    };
    match result {
        Ok(()) => {
            Ok(Redirect::to("/centre/identity?notice=notice-identity-confirmed").into_response())
        }
        Err(e) => card_with_errors(&app, &c, &me, &user, e, "seen").await,
    }
}

async fn register(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    jar: CookieJar,
    Form(f): Form<NewCitizen>,
) -> Result<Response, WebError> {
    let started = app
        .appointments
        .desk_register_start(
            me.user_id(),
            DeskRegistration {
                phone: &f.phone,
                first_name: &f.first_name,
                last_name: &f.last_name,
                consent: f.consent.is_some(),
                lang: &c.lang,
            },
            &c.actor,
        )
        .await;
    match started {
        Ok(flow) => Ok((
            jar.add(c.cookie(DESK_FLOW, flow, Some(600))),
            Redirect::to("/centre/identity/register/code"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "phone")?;
            page_with(&app, &c, &me, String::new(), None, errors, f).await
        }
    }
}

#[derive(Template)]
#[template(path = "desk_code.html")]
struct DeskCodePage<'a> {
    c: &'a Ctx,
    errors: Errors,
    centre: String,
    title: &'static str,
    lead: &'static str,
    action: String,
}

async fn code_page(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    errors: Errors,
    restore: Option<&UserId>,
) -> Result<Response, WebError> {
    let centre = app.appointments.identity_desk(me.user_id()).await?;
    let (title, lead, action) = match restore {
        None => (
            "desk-register-code-title",
            "desk-register-code-lead",
            "/centre/identity/register/code".to_string(),
        ),
        Some(u) => (
            "desk-restore-code-title",
            "desk-restore-code-lead",
            format!("/centre/identity/{u}/restore/code"),
        ),
    };
    let resp = render(&DeskCodePage {
        c,
        errors: errors.clone(),
        centre: c.text(&centre.def.name).to_string(),
        title,
        lead,
        action,
    });
    Ok(with_errors(resp, &errors))
}

async fn register_code_form(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
) -> Result<Response, WebError> {
    code_page(&app, &c, &me, Errors::default(), None).await
}

async fn register_code(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let flow = flow_cookie(&jar, DESK_FLOW);
    match app
        .appointments
        .desk_register_finish(me.user_id(), &flow, &f.code, &c.lang, &c.actor)
        .await
    {
        Ok(_) => Ok((
            jar.add(c.removal(DESK_FLOW)),
            Redirect::to("/centre/identity?notice=notice-desk-registered"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "code")?;
            code_page(&app, &c, &me, errors, None).await
        }
    }
}

#[derive(Deserialize)]
struct RestoreForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    restore_seen: String,
}

async fn restore(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    jar: CookieJar,
    Path(user): Path<String>,
    Form(f): Form<RestoreForm>,
) -> Result<Response, WebError> {
    let user = UserId::new(user);
    let started = app
        .appointments
        .desk_restore_start(
            me.user_id(),
            &user,
            &f.phone,
            f.restore_seen == "yes",
            &c.lang,
            &c.actor,
        )
        .await;
    match started {
        Ok(flow) => Ok((
            jar.add(c.cookie(DESK_FLOW, flow, Some(600))),
            Redirect::to(&format!("/centre/identity/{user}/restore/code")),
        )
            .into_response()),
        Err(e) => card_with_errors(&app, &c, &me, &user, e, "phone").await,
    }
}

async fn restore_code_form(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(user): Path<String>,
) -> Result<Response, WebError> {
    code_page(&app, &c, &me, Errors::default(), Some(&UserId::new(user))).await
}

async fn restore_code(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    jar: CookieJar,
    Path(user): Path<String>,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let user = UserId::new(user);
    let flow = flow_cookie(&jar, DESK_FLOW);
    match app
        .appointments
        .desk_restore_finish(me.user_id(), &user, &flow, &f.code, &c.actor)
        .await
    {
        Ok(_) => Ok((
            jar.add(c.removal(DESK_FLOW)),
            Redirect::to("/centre/identity?notice=notice-access-restored"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "code")?;
            code_page(&app, &c, &me, errors, Some(&user)).await
        }
    }
}
