//! The identity desk at a centre that confirms identities: find a citizen, compare their
//! document with the checked profile, confirm them to the verified level. Searches are posted,
//! so that no phone or national identifier is written into a URL (or a log of URLs).

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ekdwar_app::App;
use ekdwar_app::assurance::PersonCard;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::CurrentSession;
use ekdwar_domain::{AccountLevel, UserId};
use serde::Deserialize;

use crate::assurance::{Fact, Item, facts_of};
use crate::ctx::{Ctx, Me, render};
use crate::error::{Errors, WebError};
use crate::identity::with_errors;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/centre/identity", get(desk).post(find))
        .route("/centre/identity/{user}/confirm", post(confirm))
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
    });
    Ok(with_errors(resp, &errors))
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
        Err(e) => match Errors::from_app(&c, &e, "seen") {
            Some(errors) => {
                let card = app
                    .appointments
                    .desk_person(me.user_id(), &user, &c.actor)
                    .await?;
                page(&app, &c, &me, String::new(), Some(card), errors).await
            }
            None => Err(WebError(e)),
        },
    }
}
