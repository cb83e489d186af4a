//! Passkey pages: the account's list of passkeys, and logging in with one. The browser's part
//! of a ceremony needs JavaScript (`navigator.credentials`): a small script asks for the
//! options (JSON), lets the device sign, and posts the answer with the page's form, so the
//! ending and every error are an ordinary page. Without JavaScript the pages say so and keep
//! every other way in.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::{CurrentSession, PasskeyChallenge};
use ekdwar_domain::password::Password;
use serde::Deserialize;
use serde_json::json;

use super::two_step::{SECOND_STEP, code_page, finish_login};
use super::{flow_cookie, form_errors, login_page_with, with_errors};
use crate::ctx::{Ctx, Me, render};
use crate::error::{Errors, WebError};

/// A passkey as its row on the page.
struct Row {
    id: String,
    name: String,
    added: String,
    used: Option<String>,
}

#[derive(Template)]
#[template(path = "passkeys.html")]
struct PasskeysPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    passkeys: Vec<Row>,
    /// The forms ask for the password (the login is not recent).
    reauth: bool,
    /// The account holds as many passkeys as it may.
    full: bool,
    /// The portal's address allows passkeys.
    on: bool,
    /// Staff: a passkey is their second factor.
    staff: bool,
}

async fn page(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    errors: Errors,
) -> Result<Response, WebError> {
    let passkeys: Vec<Row> = app
        .identity
        .passkeys(me)
        .await?
        .into_iter()
        .map(|p| Row {
            id: p.id,
            name: p.name,
            added: c.when(p.created_at),
            used: p.last_used_at.map(|t| c.when(t)),
        })
        .collect();
    let page = PasskeysPage {
        c,
        errors: errors.clone(),
        full: passkeys.len() >= ekdwar_app::identity::MAX_PASSKEYS,
        passkeys,
        reauth: app.identity.needs_reauth(me),
        on: app.identity.passkeys_on(),
        staff: me.account.role.requires_two_step(),
    };
    Ok(with_errors(render(&page), &errors))
}

pub async fn passkeys(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    page(&app, &c, &me, Errors::default()).await
}

/// The options of a ceremony for the page's script, or the error to show it (translated).
fn options_answer(c: &Ctx, done: Result<PasskeyChallenge, AppError>) -> Result<Response, WebError> {
    let body = match done {
        Ok(ch) => json!({ "ceremony": ch.ceremony, "options": ch.options }),
        Err(e) => {
            let errors = form_errors(c, e, "passkey")?;
            let first = errors.list.first();
            json!({
                "field": first.map(|f| f.field.clone()),
                "error": first.map(|f| f.message.clone()),
            })
        }
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
}

pub async fn add_options(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<AddForm>,
) -> Result<Response, WebError> {
    let password = Password::new(f.current);
    let done = app
        .identity
        .passkey_add_start(&me, &f.name, Some(&password), &c.actor)
        .await;
    options_answer(&c, done)
}

pub async fn add(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<AddForm>,
) -> Result<Response, WebError> {
    if f.credential.is_empty() {
        // The form was sent without the script's answer (JavaScript off, or the device
        // never answered).
        let errors = form_errors(
            &c,
            AppError::field("passkey", "passkey-needs-script"),
            "passkey",
        )?;
        return page(&app, &c, &me, errors).await;
    }
    match app
        .identity
        .passkey_add_finish(&me, &f.ceremony, &f.credential, &c.actor)
        .await
    {
        Ok(_) => Ok(Redirect::to("/account/passkeys?notice=notice-passkey-added").into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "passkey")?;
            page(&app, &c, &me, errors).await
        }
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    id: String,
}

pub async fn remove(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<RemoveForm>,
) -> Result<Response, WebError> {
    match app.identity.passkey_remove(&me, &f.id, &c.actor).await {
        Ok(()) => {
            Ok(Redirect::to("/account/passkeys?notice=notice-passkey-removed").into_response())
        }
        Err(AppError::NotFound) => Ok(Redirect::to("/account/passkeys").into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "passkey")?;
            page(&app, &c, &me, errors).await
        }
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    /// `1` on the second step of a password login.
    #[serde(default)]
    second: String,
    #[serde(default)]
    ceremony: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    next: String,
}

pub async fn login_options(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let ticket = flow_cookie(&jar, SECOND_STEP);
    let ticket = (f.second == "1").then_some(ticket.as_str());
    let done = app.identity.passkey_login_start(ticket, &c.actor).await;
    options_answer(&c, done)
}

pub async fn login(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let second = f.second == "1";
    let done = if f.credential.is_empty() {
        Err(AppError::field("passkey", "passkey-needs-script"))
    } else {
        app.identity
            .passkey_login_finish(&f.ceremony, &f.credential, second, &c.actor)
            .await
    };
    match done {
        Ok(done) => {
            let jar = if second {
                jar.add(c.removal(SECOND_STEP))
            } else {
                jar
            };
            finish_login(&app, &c, jar, done, &f.next).await
        }
        Err(AppError::FlowExpired) if second => Ok((
            jar.add(c.removal(SECOND_STEP)),
            Redirect::to("/login?notice=notice-two-step-expired"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "passkey")?;
            if second {
                let ticket = flow_cookie(&jar, SECOND_STEP);
                code_page(&app, &c, &ticket, errors, f.next).await
            } else {
                Ok(login_page_with(&app, &c, errors, f.next))
            }
        }
    }
}
