use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::captcha::Challenge;
use ekdwar_app::identity::Purpose;
use ekdwar_domain::password::Password;
use serde::Deserialize;

use super::code_step::RECOVER;
use super::{
    ChallengeFields, CodeForm, LinkQuery, NewPasswordForm, PasswordPage, flow_cookie, form_errors,
    with_errors,
};
use crate::ctx::{Ctx, render};
use crate::error::{Errors, WebError};

pub(crate) const RECOVER_FLOW: &str = RECOVER.cookie;

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    title: &'a str,
    lead: &'a str,
    action: &'a str,
    field: &'a str,
    label: &'a str,
    value: String,
    /// The second thing a reset by portal ID asks for (`None` on the portal ID page).
    second: Option<String>,
    /// The national identifiers that also find an account, by name.
    national: String,
    challenge: Option<Challenge>,
}

fn recover_page<'a>(
    app: &App,
    c: &'a Ctx,
    errors: Errors,
    value: String,
    second: String,
) -> RecoverPage<'a> {
    RecoverPage {
        c,
        errors,
        title: "recover-title",
        lead: "recover-lead",
        action: "/recover",
        field: "identifier",
        label: "field-identifier",
        value,
        second: Some(second),
        national: super::national_names(app.identity.id_kinds(), c),
        challenge: Some(app.identity.new_challenge()),
    }
}

fn portal_id_page<'a>(app: &App, c: &'a Ctx, errors: Errors, value: String) -> RecoverPage<'a> {
    RecoverPage {
        c,
        errors,
        title: "portal-id-title",
        lead: "portal-id-lead",
        action: "/recover/portal-id",
        field: "contact",
        label: "field-contact-or-id",
        value,
        second: None,
        national: super::national_names(app.identity.id_kinds(), c),
        challenge: Some(app.identity.new_challenge()),
    }
}

pub async fn recover_form(State(app): State<App>, c: Ctx) -> Response {
    render(&recover_page(
        &app,
        &c,
        Errors::default(),
        String::new(),
        String::new(),
    ))
}

#[derive(Deserialize)]
pub struct IdentifierForm {
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    second: String,
    #[serde(default)]
    contact: String,
    #[serde(flatten)]
    challenge: ChallengeFields,
}

pub async fn recover_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<IdentifierForm>,
) -> Result<Response, WebError> {
    match app
        .identity
        .start_recovery(
            &f.identifier,
            &f.second,
            &f.challenge.answer(),
            &c.lang,
            &c.actor,
        )
        .await
    {
        Ok(flow) => Ok((
            jar.add(c.cookie(RECOVER_FLOW, flow, Some(86_400))),
            Redirect::to("/recover/verify"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "identifier")?;
            Ok(with_errors(
                render(&recover_page(
                    &app,
                    &c,
                    errors.clone(),
                    f.identifier,
                    f.second,
                )),
                &errors,
            ))
        }
    }
}

/// The code page never names the channel or the contact: that would tell whether the account
/// exists (`RECOVER` is discreet).
pub async fn recover_verify_form(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
) -> Result<Response, WebError> {
    RECOVER.show(&app, &c, &jar).await
}

pub async fn recover_verify_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    RECOVER.submit(&app, &c, &jar, &f.code).await
}

pub async fn recover_resend(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
) -> Result<Response, WebError> {
    RECOVER.resend(&app, &c, &jar).await
}

pub async fn recover_confirm_link(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Query(q): Query<LinkQuery>,
) -> Result<Response, WebError> {
    app.identity
        .verify_secret(&q.flow, Purpose::Recover, &q.token)
        .await?;
    Ok((
        jar.add(c.cookie(RECOVER_FLOW, q.flow, Some(86_400))),
        Redirect::to("/recover/password"),
    )
        .into_response())
}

fn recover_password_page<'a>(app: &App, c: &'a Ctx, errors: Errors) -> PasswordPage<'a> {
    PasswordPage {
        c,
        errors,
        title: "recover-password-title",
        lead: None,
        action: "/recover/password",
        portal_id: None,
        ask_current: false,
        min_length: app.config().password.min_length,
        button: "save",
    }
}

pub async fn recover_password_form(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
) -> Result<Response, WebError> {
    let info = app
        .identity
        .flow_info(&flow_cookie(&jar, RECOVER_FLOW), Purpose::Recover)
        .await?;
    if !info.verified {
        return Ok(Redirect::to("/recover/verify").into_response());
    }
    Ok(render(&recover_password_page(&app, &c, Errors::default())))
}

pub async fn recover_password_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<NewPasswordForm>,
) -> Result<Response, WebError> {
    match app
        .identity
        .complete_recovery(
            &flow_cookie(&jar, RECOVER_FLOW),
            Password::new(f.password),
            Password::new(f.confirm),
            &c.actor,
        )
        .await
    {
        Ok(()) => Ok((
            jar.add(c.removal(RECOVER_FLOW)),
            Redirect::to("/login?notice=notice-password-reset"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "password")?;
            Ok(with_errors(
                render(&recover_password_page(&app, &c, errors.clone())),
                &errors,
            ))
        }
    }
}

pub async fn portal_id_form(State(app): State<App>, c: Ctx) -> Response {
    render(&portal_id_page(&app, &c, Errors::default(), String::new()))
}

pub async fn portal_id_submit(
    State(app): State<App>,
    c: Ctx,
    Form(f): Form<IdentifierForm>,
) -> Result<Response, WebError> {
    match app
        .identity
        .remind_portal_id(&f.contact, &f.challenge.answer(), &c.lang, &c.actor)
        .await
    {
        Ok(()) => Ok(Redirect::to("/login?notice=notice-portal-id-sent").into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "contact")?;
            Ok(with_errors(
                render(&portal_id_page(&app, &c, errors.clone(), f.contact)),
                &errors,
            ))
        }
    }
}
