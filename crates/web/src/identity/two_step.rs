//! Two-step login pages: the code asked after the password, and setting it up, renewing the
//! recovery codes and turning it off on the account.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::{CurrentSession, LoggedIn, SecondStepWays, TwoStepSetup};
use ekdwar_domain::password::Password;
use ekdwar_domain::totp::RecoveryCode;
use serde::Deserialize;

use super::{flow_cookie, form_errors, safe_next, with_errors};
use crate::ctx::render;
use crate::ctx::{Ctx, Me, SESSION_COOKIE};
use crate::error::{Errors, WebError};

/// Carries the signed proof of the right password to the page asking for the code.
pub const SECOND_STEP: &str = "ekdwar_second_step";

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage<'a> {
    c: &'a Ctx,
    errors: Errors,
    next: String,
    ways: SecondStepWays,
}

/// The page of a login's second step: the code, a passkey, or both as the account has them.
/// Back to the login when the ticket has expired.
pub(crate) async fn code_page(
    app: &App,
    c: &Ctx,
    ticket: &str,
    errors: Errors,
    next: String,
) -> Result<Response, WebError> {
    let Some(ways) = app.identity.second_step_ways(ticket).await? else {
        return Ok(Redirect::to("/login?notice=notice-two-step-expired").into_response());
    };
    let page = CodePage {
        c,
        errors: errors.clone(),
        next,
        ways,
    };
    Ok(with_errors(render(&page), &errors))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NextQuery {
    next: String,
}

pub async fn login_code_form(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> Result<Response, WebError> {
    let ticket = flow_cookie(&jar, SECOND_STEP);
    if ticket.is_empty() {
        return Ok(Redirect::to("/login").into_response());
    }
    code_page(&app, &c, &ticket, Errors::default(), q.next).await
}

#[derive(Deserialize)]
pub struct SecondStepForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

pub async fn login_code_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<SecondStepForm>,
) -> Result<Response, WebError> {
    let ticket = flow_cookie(&jar, SECOND_STEP);
    match app
        .identity
        .login_second_step(&ticket, &f.code, &c.actor)
        .await
    {
        Ok(done) => finish_login(&app, &c, jar.add(c.removal(SECOND_STEP)), done, &f.next).await,
        Err(AppError::FlowExpired) => Ok((
            jar.add(c.removal(SECOND_STEP)),
            Redirect::to("/login?notice=notice-two-step-expired"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "code")?;
            code_page(&app, &c, &ticket, errors, f.next).await
        }
    }
}

/// Ends a login: the session cookie, a new CSRF secret, and on to the app or the account
/// (or to a new password first).
pub(crate) async fn finish_login(
    app: &App,
    c: &Ctx,
    jar: CookieJar,
    done: LoggedIn,
    next: &str,
) -> Result<Response, WebError> {
    // A new session on every login; the one this browser had before ends.
    if let Some(previous) = &c.user {
        app.identity.logout(previous, &c.actor).await?;
    }
    let to = if done.password_expired {
        "/account/password?notice=notice-password-expired".to_string()
    } else {
        super::after_login(app, safe_next(next), &done.token)
    };
    // A new CSRF secret with the new session: a token seen before login is dead.
    let jar = jar
        .add(c.cookie(SESSION_COOKIE, done.token, None))
        .add(c.removal(super::CHECK_COOKIE))
        .add(c.removal(crate::ctx::CSRF_COOKIE));
    Ok((jar, Redirect::to(&to)).into_response())
}

#[derive(Template)]
#[template(path = "two_step.html")]
struct TwoStepPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    /// Setting up: the QR code (inline SVG) and the key to type.
    setup: Option<(String, String)>,
    /// The setup form asks for the password (the login is not recent).
    reauth: bool,
    recovery_codes_left: i64,
    /// Administrators cannot turn it off.
    required: bool,
}

async fn two_step_page(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    errors: Errors,
) -> Result<Response, WebError> {
    let status = app.identity.two_step_status(me).await?;
    let setup = if status.enabled {
        None
    } else {
        app.identity.two_step_setup(me).await?.map(|s| shown(&s))
    };
    let page = TwoStepPage {
        c,
        errors: errors.clone(),
        setup,
        reauth: app.identity.needs_reauth(me),
        recovery_codes_left: status.recovery_codes_left,
        required: status.required,
    };
    Ok(with_errors(render(&page), &errors))
}

/// The QR code as inline SVG (one path, so pages load nothing else) and the grouped key.
fn shown(s: &TwoStepSetup) -> (String, String) {
    (qr_svg(&s.uri), s.secret.grouped())
}

pub(crate) fn qr_svg(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) else {
        return String::new();
    };
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut path = String::new();
    for (i, colour) in code.to_colors().iter().enumerate() {
        if *colour == qrcode::Color::Dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"240\" height=\"240\" \
         shape-rendering=\"crispEdges\" aria-hidden=\"true\" focusable=\"false\"><rect width=\"{size}\" height=\"{size}\" \
         fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

pub async fn two_step(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    two_step_page(&app, &c, &me, Errors::default()).await
}

#[derive(Deserialize)]
pub struct EnableForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    current: String,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct CodesPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    codes: Vec<String>,
    /// Two-step login was turned on just now (not new codes for it).
    enabled_now: bool,
}

fn codes_page(c: &Ctx, codes: Vec<RecoveryCode>, enabled_now: bool) -> Response {
    render(&CodesPage {
        c,
        errors: Errors::default(),
        codes: codes.iter().map(RecoveryCode::shown).collect(),
        enabled_now,
    })
}

pub async fn two_step_enable(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<EnableForm>,
) -> Result<Response, WebError> {
    let password = Password::new(f.current);
    match app
        .identity
        .two_step_enable(&me, &f.code, Some(&password), &c.actor)
        .await
    {
        Ok(codes) => Ok(codes_page(&c, codes, true)),
        Err(AppError::FlowExpired) => Ok(Redirect::to("/account/two-step").into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "code")?;
            two_step_page(&app, &c, &me, errors).await
        }
    }
}

#[derive(Deserialize)]
pub struct ManageForm {
    #[serde(default)]
    current: String,
    /// `codes` for new recovery codes, `off` to turn two-step login off.
    #[serde(default)]
    action: String,
}

pub async fn two_step_manage(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<ManageForm>,
) -> Result<Response, WebError> {
    let password = Password::new(f.current);
    let done = match f.action.as_str() {
        "off" => app
            .identity
            .two_step_disable(&me, &password, &c.actor)
            .await
            .map(|()| None),
        _ => app
            .identity
            .two_step_new_codes(&me, &password, &c.actor)
            .await
            .map(Some),
    };
    match done {
        Ok(Some(codes)) => Ok(codes_page(&c, codes, false)),
        Ok(None) => Ok(Redirect::to("/account?notice=notice-two-step-off").into_response()),
        Err(AppError::FlowExpired) => Ok(Redirect::to("/account/two-step").into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "current")?;
            two_step_page(&app, &c, &me, errors).await
        }
    }
}
