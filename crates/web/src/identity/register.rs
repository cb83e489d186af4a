use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::captcha::Challenge;
use ekdwar_app::identity::{Purpose, RegisterInput};
use ekdwar_domain::password::Password;
use serde::Deserialize;

use super::code_step::{CodeForm, REGISTER, flow_cookie};
use super::{ChallengeFields, form_errors, with_errors};
use crate::ctx::render;
use crate::ctx::{Ctx, SESSION_COOKIE};
use crate::error::{Errors, WebError};

pub(crate) const REGISTER_FLOW: &str = REGISTER.cookie;

#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    contact: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    employee_id: String,
    consent: Option<String>,
    #[serde(flatten)]
    challenge: ChallengeFields,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    form: RegisterForm,
    challenge: Option<Challenge>,
    /// Whether signing up with Aadhaar is offered.
    aadhaar: bool,
}

pub async fn register_form(State(app): State<App>, c: Ctx) -> Response {
    render(&RegisterPage {
        c: &c,
        errors: Errors::default(),
        form: RegisterForm::default(),
        challenge: Some(app.identity.new_challenge()),
        aadhaar: app.assurance.aadhaar_registry().is_some(),
    })
}

pub async fn register_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<RegisterForm>,
) -> Result<Response, WebError> {
    let input = RegisterInput {
        contact: f.contact.clone(),
        first_name: f.first_name.clone(),
        last_name: f.last_name.clone(),
        employee_id: f.employee_id.clone(),
        consent: f.consent.is_some(),
        challenge: f.challenge.answer(),
        lang: c.lang.clone(),
    };
    match app.identity.start_registration(input, &c.actor).await {
        Ok(flow) => Ok((
            jar.add(c.cookie(REGISTER_FLOW, flow, Some(86_400))),
            Redirect::to("/register/verify"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "contact")?;
            Ok(with_errors(
                render(&RegisterPage {
                    c: &c,
                    errors: errors.clone(),
                    form: f,
                    challenge: Some(app.identity.new_challenge()),
                    aadhaar: app.assurance.aadhaar_registry().is_some(),
                }),
                &errors,
            ))
        }
    }
}

pub async fn register_verify_form(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
) -> Result<Response, WebError> {
    REGISTER.show(&app, &c, &jar).await
}

pub async fn register_verify_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    REGISTER.submit(&app, &c, &jar, &f.code).await
}

pub async fn register_resend(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
) -> Result<Response, WebError> {
    REGISTER.resend(&app, &c, &jar).await
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    pub flow: String,
    #[serde(default)]
    pub token: String,
}

/// The link in the confirmation e-mail.
pub async fn register_confirm_link(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Query(q): Query<LinkQuery>,
) -> Result<Response, WebError> {
    app.identity
        .verify_secret(&q.flow, Purpose::Register, &q.token)
        .await?;
    Ok((
        jar.add(c.cookie(REGISTER_FLOW, q.flow, Some(86_400))),
        Redirect::to("/register/password"),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "password.html")]
pub(crate) struct PasswordPage<'a> {
    pub c: &'a Ctx,
    pub errors: Errors,
    pub title: &'a str,
    pub lead: Option<String>,
    pub action: &'a str,
    pub portal_id: Option<String>,
    pub ask_current: bool,
    pub min_length: usize,
    pub button: &'a str,
}

pub async fn register_password_form(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
) -> Result<Response, WebError> {
    let d = app
        .identity
        .registration_details(&flow_cookie(&jar, REGISTER_FLOW))
        .await?;
    Ok(render(&PasswordPage {
        c: &c,
        errors: Errors::default(),
        title: "register-password-title",
        lead: Some(c.ta("register-password-lead", "name", &d.first_name)),
        action: "/register/password",
        portal_id: Some(d.suggested_portal_id),
        ask_current: false,
        min_length: app.config().password.min_length,
        button: "register-create",
    }))
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    #[serde(default)]
    pub portal_id: String,
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub confirm: String,
}

pub async fn register_password_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<NewPasswordForm>,
) -> Result<Response, WebError> {
    let flow = flow_cookie(&jar, REGISTER_FLOW);
    match app
        .identity
        .complete_registration(
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
                jar.add(c.removal(REGISTER_FLOW))
                    .add(c.cookie(SESSION_COOKIE, done.token, None));
            Ok((jar, Redirect::to("/account?notice=notice-welcome")).into_response())
        }
        Err(e) => {
            let errors = form_errors(&c, e, "password")?;
            let page = PasswordPage {
                c: &c,
                errors: errors.clone(),
                title: "register-password-title",
                lead: None,
                action: "/register/password",
                portal_id: Some(f.portal_id),
                ask_current: false,
                min_length: app.config().password.min_length,
                button: "register-create",
            };
            Ok(with_errors(render(&page), &errors))
        }
    }
}
