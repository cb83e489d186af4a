//! Signing up with Aadhaar: the number and its linked mobile, UIDAI's code, then a portal ID
//! and a password (`ekdwar_app::assurance` does each step).

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::assurance::{AadhaarSignup, AadhaarVerified};
use ekdwar_app::captcha::Challenge;
use ekdwar_app::error::AppError;
use ekdwar_domain::password::Password;
use serde::Deserialize;

use crate::ctx::{Ctx, SESSION_COOKIE, render};
use crate::error::{Errors, WebError};
use crate::identity::{
    ChallengeFields, CodeForm, NewPasswordForm, PasswordPage, flow_cookie, form_errors, with_errors,
};

const AADHAAR_FLOW: &str = "ekdwar_aadhaar";

#[derive(Deserialize, Default)]
pub struct AadhaarForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    mobile: String,
    consent: Option<String>,
    #[serde(flatten)]
    challenge: ChallengeFields,
}

#[derive(Template)]
#[template(path = "aadhaar.html")]
struct AadhaarPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    form: AadhaarForm,
    challenge: Option<Challenge>,
}

/// No Aadhaar sign-up where no country profile asks for Aadhaar.
fn offered(app: &App) -> Result<(), WebError> {
    match app.assurance.aadhaar_registry() {
        Some(_) => Ok(()),
        None => Err(WebError(AppError::NotFound)),
    }
}

async fn form(State(app): State<App>, c: Ctx) -> Result<Response, WebError> {
    offered(&app)?;
    Ok(render(&AadhaarPage {
        c: &c,
        errors: Errors::default(),
        form: AadhaarForm::default(),
        challenge: Some(app.identity.new_challenge()),
    }))
}

async fn submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<AadhaarForm>,
) -> Result<Response, WebError> {
    offered(&app)?;
    let input = AadhaarSignup {
        number: f.number.clone(),
        mobile: f.mobile.clone(),
        consent: f.consent.is_some(),
        challenge: f.challenge.answer(),
        lang: c.lang.clone(),
    };
    match app.assurance.start_aadhaar_signup(input, &c.actor).await {
        Ok(flow) => Ok((
            jar.add(c.cookie(AADHAAR_FLOW, flow, Some(3_600))),
            Redirect::to("/register/aadhaar/verify"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "number")?;
            Ok(with_errors(
                render(&AadhaarPage {
                    c: &c,
                    errors: errors.clone(),
                    form: f,
                    challenge: Some(app.identity.new_challenge()),
                }),
                &errors,
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "aadhaar_code.html")]
struct CodePage<'a> {
    c: &'a Ctx,
    errors: Errors,
}

async fn code_form(c: Ctx) -> Response {
    render(&CodePage {
        c: &c,
        errors: Errors::default(),
    })
}

async fn code_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let flow = flow_cookie(&jar, AADHAAR_FLOW);
    match app.assurance.verify_aadhaar_otp(&flow, &f.code).await {
        Ok(AadhaarVerified::NewAccount) => {
            Ok(Redirect::to("/register/aadhaar/password").into_response())
        }
        Ok(AadhaarVerified::HasAccount) => Ok((
            jar.add(c.removal(AADHAAR_FLOW)),
            Redirect::to("/login?notice=notice-aadhaar-has-account"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "code")?;
            Ok(with_errors(
                render(&CodePage {
                    c: &c,
                    errors: errors.clone(),
                }),
                &errors,
            ))
        }
    }
}

fn password_page<'a>(
    app: &App,
    c: &'a Ctx,
    errors: Errors,
    lead: Option<String>,
    portal_id: String,
) -> PasswordPage<'a> {
    PasswordPage {
        c,
        errors,
        title: "register-password-title",
        lead,
        action: "/register/aadhaar/password",
        portal_id: Some(portal_id),
        ask_current: false,
        min_length: app.config().password.min_length,
        button: "register-create",
    }
}

async fn password_form(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
) -> Result<Response, WebError> {
    let d = app
        .assurance
        .aadhaar_details(&flow_cookie(&jar, AADHAAR_FLOW))
        .await?;
    let lead = c.ta2(
        "aadhaar-password-lead",
        "name",
        format!("{} {}", d.first_name, d.last_name),
        "mobile",
        &d.contact,
    );
    Ok(render(&password_page(
        &app,
        &c,
        Errors::default(),
        Some(lead),
        d.suggested_portal_id,
    )))
}

async fn password_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<NewPasswordForm>,
) -> Result<Response, WebError> {
    let flow = flow_cookie(&jar, AADHAAR_FLOW);
    match app
        .assurance
        .complete_aadhaar_signup(
            &flow,
            &f.portal_id,
            Password::new(f.password),
            Password::new(f.confirm),
            &c.actor,
        )
        .await
    {
        Ok(done) => {
            let jar =
                jar.add(c.removal(AADHAAR_FLOW))
                    .add(c.cookie(SESSION_COOKIE, done.token, None));
            Ok((jar, Redirect::to("/account?notice=notice-welcome-aadhaar")).into_response())
        }
        Err(e) => {
            let errors = form_errors(&c, e, "password")?;
            let page = password_page(&app, &c, errors.clone(), None, f.portal_id);
            Ok(with_errors(render(&page), &errors))
        }
    }
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/register/aadhaar", get(form).post(submit))
        .route("/register/aadhaar/verify", get(code_form).post(code_submit))
        .route(
            "/register/aadhaar/password",
            get(password_form).post(password_submit),
        )
}
