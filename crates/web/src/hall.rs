//! At the centre: the operators' console (the day at a glance, check-in by appointment number
//! or QR code, walk-in tokens, calling the next token to a counter, served or not come, the
//! balance due at the centre) and the hall's public display of the tokens called, which a small
//! script refreshes; without it, a link does.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ekdwar_app::App;
use ekdwar_app::appointments::{DaySummary, TokenView};
use ekdwar_app::error::AppError;
use ekdwar_app::identity::CurrentSession;
use ekdwar_domain::appointments::{Capability, Centre};
use serde::Deserialize;

use crate::ctx::render;
use crate::ctx::{Ctx, Me};
use crate::error::{Errors, WebError};

pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/centre", get(console))
        .route("/centre/check-in", post(check_in))
        .route("/centre/walk-in", post(walk_in))
        .route("/centre/call", post(call))
        .route("/centre/tokens/{id}/finish", post(finish))
        .route("/centre/appointments/{id}/no-show", post(no_show))
        .route("/centre/appointments/{id}/balance", post(balance))
        .route("/centres/{code}/display", get(display))
        .route("/centres/{code}/display.json", get(display_json))
}

#[derive(Template)]
#[template(path = "centre.html")]
struct Console<'a> {
    c: &'a Ctx,
    errors: Errors,
    centre: &'a Centre,
    day: DaySummary,
    today: String,
    walk_in: bool,
    payments: bool,
    /// The centre confirms identities: its desk is linked.
    identity: bool,
    services: Vec<(String, String)>,
    /// The token just issued or called.
    token: String,
}

impl Console<'_> {
    fn name(&self) -> String {
        self.c.text(&self.centre.def.name).to_string()
    }
    fn state(&self, t: &TokenView) -> String {
        self.c
            .t(&format!("centre-token-{}", t.state.replace('_', "-")))
    }
}

async fn console_page(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    errors: Errors,
    token: String,
) -> Result<Response, WebError> {
    let (centre, day) = app.appointments.day(me.user_id(), &c.actor).await?;
    let snapshot = app.catalog.snapshot();
    let services = centre
        .def
        .services
        .iter()
        .filter_map(|s| {
            snapshot
                .service(s)
                .map(|(_, d)| (s.clone(), c.text(&d.name).to_string()))
        })
        .collect();
    let bad = !errors.is_empty();
    let mut resp = render(&Console {
        c,
        errors,
        today: c.day_with_weekday(centre.date_at(app.clock().now())),
        walk_in: centre.can(Capability::WalkIn),
        identity: centre.can(Capability::IdentityConfirmation),
        payments: centre.can(Capability::CentrePayment),
        services,
        token,
        centre: &centre,
        day,
    });
    if bad {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

#[derive(Deserialize, Default)]
struct Shown {
    #[serde(default)]
    token: String,
}

async fn console(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    axum::extract::Query(q): axum::extract::Query<Shown>,
) -> Result<Response, WebError> {
    // The token just issued or called, shown large (only a token label, never other text).
    let token = q.token.trim();
    let ok = token.len() <= 8
        && token.starts_with(['A', 'W'])
        && token[1..].starts_with('-')
        && token[2..].bytes().all(|b| b.is_ascii_digit());
    let token = if ok { token.to_string() } else { String::new() };
    console_page(&app, &c, &me, Errors::default(), token).await
}

/// Re-shows the console with the errors of a refused action, or follows on.
async fn after(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    result: Result<String, AppError>,
    field: &str,
) -> Result<Response, WebError> {
    match result {
        Ok(notice) => Ok(Redirect::to(&format!("/centre?{notice}")).into_response()),
        Err(e) => match Errors::from_app(c, &e, field) {
            Some(errors) => console_page(app, c, me, errors, String::new()).await,
            None => Err(WebError(e)),
        },
    }
}

#[derive(Deserialize)]
struct NumberForm {
    #[serde(default)]
    number: String,
}

async fn check_in(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<NumberForm>,
) -> Result<Response, WebError> {
    let r = app
        .appointments
        .check_in(me.user_id(), &f.number, &c.actor)
        .await
        .map(|t| format!("notice=notice-checked-in&token={}", t.label));
    after(&app, &c, &me, r, "number").await
}

#[derive(Deserialize)]
struct WalkInForm {
    #[serde(default)]
    service: String,
}

async fn walk_in(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<WalkInForm>,
) -> Result<Response, WebError> {
    let r = app
        .appointments
        .walk_in(me.user_id(), &f.service, &c.actor)
        .await
        .map(|t| format!("notice=notice-walk-in&token={}", t.label));
    after(&app, &c, &me, r, "service").await
}

#[derive(Deserialize)]
struct CallForm {
    #[serde(default)]
    counter: String,
}

async fn call(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<CallForm>,
) -> Result<Response, WebError> {
    let r = app
        .appointments
        .call_next(me.user_id(), &f.counter, &c.actor)
        .await
        .map(|t| match t {
            Some(t) => format!("notice=notice-token-called&token={}", t.label),
            None => "notice=notice-nobody-waiting".to_string(),
        });
    after(&app, &c, &me, r, "counter").await
}

#[derive(Deserialize)]
struct FinishForm {
    #[serde(default)]
    outcome: String,
}

fn id_of(s: &str) -> Result<&str, WebError> {
    if s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(WebError(AppError::NotFound))
    }
}

async fn finish(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Form(f): Form<FinishForm>,
) -> Result<Response, WebError> {
    let r = app
        .appointments
        .finish(me.user_id(), id_of(&id)?, f.outcome == "served", &c.actor)
        .await
        .map(|()| "notice=notice-token-finished".to_string());
    after(&app, &c, &me, r, "token").await
}

async fn no_show(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let r = app
        .appointments
        .mark_no_show(me.user_id(), id_of(&id)?, &c.actor)
        .await
        .map(|()| "notice=notice-no-show".to_string());
    after(&app, &c, &me, r, "appointment").await
}

async fn balance(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let r = app
        .appointments
        .collect_balance(me.user_id(), id_of(&id)?, &c.actor)
        .await
        .map(|_| "notice=notice-balance-paid".to_string());
    after(&app, &c, &me, r, "appointment").await
}

#[derive(Template)]
#[template(path = "display.html")]
struct Display<'a> {
    c: &'a Ctx,
    centre: &'a Centre,
    called: Vec<TokenView>,
    /// The centre's languages, the page's first when it is one of them.
    langs: Vec<ekdwar_app::i18n::Lang>,
}

impl Display<'_> {
    fn name(&self) -> String {
        self.c.text(&self.centre.def.name).to_string()
    }

    /// A text in each of the centre's languages, joined.
    fn each(&self, key: &str) -> String {
        let mut seen = Vec::new();
        for l in &self.langs {
            let t = l.t(key);
            if !seen.contains(&t) {
                seen.push(t);
            }
        }
        seen.join(" · ")
    }
}

/// The languages of a centre's display: the centre's (those the portal has), else the page's.
fn display_langs(c: &Ctx, centre: &Centre) -> Vec<ekdwar_app::i18n::Lang> {
    let mut langs: Vec<_> = centre
        .def
        .languages
        .iter()
        .filter_map(|t| ekdwar_app::i18n::Lang::parse(t))
        .collect();
    if langs.is_empty() {
        langs.push(c.lang.clone());
    }
    langs
}

fn code_of(s: &str) -> Result<&str, WebError> {
    if s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(s)
    } else {
        Err(WebError(AppError::NotFound))
    }
}

/// The hall's display: large type, the tokens called and their counters.
async fn display(
    State(app): State<App>,
    c: Ctx,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let (centre, called) = app.appointments.display(code_of(&code)?).await?;
    Ok(render(&Display {
        c: &c,
        langs: display_langs(&c, &centre),
        centre: &centre,
        called,
    }))
}

/// The same, for the display's script.
async fn display_json(
    State(app): State<App>,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let (_, called) = app.appointments.display(code_of(&code)?).await?;
    let list: Vec<serde_json::Value> = called
        .iter()
        .map(|t| serde_json::json!({ "token": t.label, "counter": t.counter }))
        .collect();
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "called": list })),
    )
        .into_response())
}
