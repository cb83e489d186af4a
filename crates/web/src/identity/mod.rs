//! Account pages: registration, login, recovery, profile, sessions, security events.

mod account;
mod code_step;
mod passkeys;
mod recover;
mod register;
mod two_step;
pub(crate) use two_step::qr_svg;

pub use account::*;
pub use code_step::CodeForm;
pub(crate) use code_step::flow_cookie;
pub use passkeys::*;
pub use recover::*;
pub use register::*;
pub use two_step::*;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::captcha::{Challenge, ChallengeAnswer};
use ekdwar_app::error::AppError;
use ekdwar_app::identity::{Authenticated, LoginInput};
use ekdwar_app::sso::AuthorizeParams;
use ekdwar_domain::password::Password;
use serde::Deserialize;

use crate::ctx::{Ctx, FormTargets, SESSION_COOKIE, render};
use crate::error::{Errors, WebError};

/// A page re-shown with errors answers 422 so that tools see the failure; people see the page.
pub(crate) fn with_errors(resp: Response, errors: &Errors) -> Response {
    if errors.is_empty() {
        resp
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, resp).into_response()
    }
}

/// The challenge fields every protected form carries.
#[derive(Deserialize, Default)]
pub struct ChallengeFields {
    #[serde(default)]
    challenge: String,
    #[serde(default)]
    pow: String,
    #[serde(default)]
    captcha_text: String,
}

impl ChallengeFields {
    pub(crate) fn answer(&self) -> ChallengeAnswer {
        ChallengeAnswer {
            token: self.challenge.clone(),
            pow: self.pow.clone(),
            text: self.captcha_text.clone(),
        }
    }
}

/// A question asked before an action that cannot be undone.
#[derive(Template)]
#[template(path = "confirm.html")]
pub(crate) struct ConfirmPage<'a> {
    pub c: &'a Ctx,
    pub errors: Errors,
    pub title: &'a str,
    pub lead: String,
    pub action: &'a str,
    /// Hidden fields to send again with the confirmation.
    pub fields: Vec<(&'a str, String)>,
    pub button: &'a str,
    pub cancel: &'a str,
}

/// Whether a form that needs a second "yes" carries it.
#[derive(Deserialize, Default)]
pub struct Confirmed {
    #[serde(default)]
    confirm: String,
}

impl Confirmed {
    pub fn yes(&self) -> bool {
        self.confirm == "yes"
    }
}

/// Splits a use-case failure: expected ones become messages on the form, the rest go to the
/// error boundary.
pub(crate) fn form_errors(c: &Ctx, e: AppError, field: &str) -> Result<Errors, WebError> {
    match Errors::from_app(c, &e, field) {
        Some(errors) => Ok(errors),
        None => Err(WebError(e)),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    identifier: String,
    next: String,
    challenge: Option<Challenge>,
    /// Upstream providers: (id, name).
    upstreams: Vec<(String, String)>,
    /// The national identifiers one may log in with (SNILS), by name; empty if none.
    national: String,
    /// The portal offers passkeys (the button shows where the browser has them).
    passkeys: bool,
}

/// National identifiers named in the page's language: those the deployment logs in with
/// (`Identity::login_kinds`) or all it knows (`Identity::id_kinds`).
fn national_names(kinds: &[ekdwar_domain::national_id::IdKind], c: &Ctx) -> String {
    kinds
        .iter()
        .map(|k| c.t(&format!("profile-id-{k}")))
        .collect::<Vec<_>>()
        .join(", ")
}

impl LoginPage<'_> {
    /// Where the language switch returns: the login page for the same app, also after a
    /// failed attempt (which was a POST to `/login`).
    fn back(&self) -> String {
        if self.next.is_empty() {
            return "/login".into();
        }
        let mut q = url::form_urlencoded::Serializer::for_suffix(String::from("/login?"), 7);
        q.append_pair("next", &self.next);
        q.finish()
    }
}

fn upstream_buttons(app: &App) -> Vec<(String, String)> {
    app.identity
        .login_upstreams()
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect()
}

/// Where to go after logging in: only back into a sign-in request of an app, or the account.
fn safe_next(next: &str) -> &str {
    match crate::ctx::local_path(next) {
        Some(n) if n.starts_with("/authorize?") => n,
        _ => "/account",
    }
}

/// Remembers for an hour that this browser's next login needs the challenge.
pub(crate) const CHECK_COOKIE: &str = "ekdwar_check";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: String,
    login_hint: String,
}

pub async fn login_form(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    axum::extract::Query(q): axum::extract::Query<LoginQuery>,
) -> Response {
    // Logged in already: the account, unless an app's sign-in request asked for a new login
    // (`prompt=login`, `max_age`, a higher level), which this form then gives.
    if c.user.is_some() && safe_next(&q.next) == "/account" {
        return Redirect::to("/account").into_response();
    }
    let targets = login_targets(&app, &q.next).await;
    // A browser whose last attempt needed the check gets it at once (the account is not known
    // yet); so does any browser at an address with many failures.
    let remembered = jar.get(CHECK_COOKIE).is_some();
    let challenge = match app.identity.login_challenge_needed(None, &c.actor).await {
        Ok(needed) if needed || remembered => Some(app.identity.new_challenge()),
        Ok(_) => None,
        Err(e) => return WebError(e).into_response(),
    };
    targets.apply(render(&LoginPage {
        c: &c,
        errors: Errors::default(),
        identifier: q.login_hint,
        next: q.next,
        challenge,
        upstreams: upstream_buttons(&app),
        national: national_names(app.identity.login_kinds(), &c),
        passkeys: app.identity.passkeys_on(),
    }))
}

/// The login page saying why a login through another way did not work (an upstream's
/// answer refused).
pub(crate) fn login_page_with(app: &App, c: &Ctx, errors: Errors, next: String) -> Response {
    let page = LoginPage {
        c,
        errors: errors.clone(),
        identifier: String::new(),
        next,
        challenge: None,
        upstreams: upstream_buttons(app),
        national: national_names(app.identity.login_kinds(), c),
        passkeys: app.identity.passkeys_on(),
    };
    with_errors(render(&page), &errors)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(flatten)]
    challenge: ChallengeFields,
}

pub async fn login_submit(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<LoginForm>,
) -> Result<Response, WebError> {
    let had_challenge = !f.challenge.challenge.is_empty();
    let input = LoginInput {
        identifier: f.identifier.clone(),
        password: Password::new(f.password),
        challenge: had_challenge.then(|| f.challenge.answer()),
    };
    match app.identity.login(input, &c.actor).await {
        Ok(Authenticated::Session(done)) => finish_login(&app, &c, jar, *done, &f.next).await,
        Ok(Authenticated::SecondStep(step)) => {
            // The password was right: the code from the app next, on its own page.
            let mut to = url::form_urlencoded::Serializer::new(String::from("/login/code?"));
            to.append_pair("next", &f.next);
            let jar = jar
                .add(c.cookie(two_step::SECOND_STEP, step.ticket, Some(600)))
                .add(c.removal(CHECK_COOKIE));
            Ok((jar, Redirect::to(&to.finish())).into_response())
        }
        Err(e) => {
            let needs_challenge = matches!(e, AppError::CaptchaRequired)
                || had_challenge
                || app
                    .identity
                    .login_challenge_needed(Some(&f.identifier), &c.actor)
                    .await?;
            let errors = form_errors(&c, e, "identifier")?;
            let targets = login_targets(&app, &f.next).await;
            let page = LoginPage {
                c: &c,
                errors: errors.clone(),
                identifier: f.identifier,
                next: f.next,
                challenge: needs_challenge.then(|| app.identity.new_challenge()),
                upstreams: upstream_buttons(&app),
                national: national_names(app.identity.login_kinds(), &c),
                passkeys: app.identity.passkeys_on(),
            };
            let jar = if needs_challenge {
                jar.add(c.cookie(CHECK_COOKIE, "1".into(), Some(3600)))
            } else {
                jar
            };
            Ok((jar, targets.apply(with_errors(render(&page), &errors))).into_response())
        }
    }
}

pub async fn logout(State(app): State<App>, c: Ctx, jar: CookieJar) -> Result<Response, WebError> {
    if let Some(s) = &c.user {
        app.identity.logout(s, &c.actor).await?;
    }
    Ok((
        jar.add(c.removal(SESSION_COOKIE)),
        Redirect::to("/login?notice=notice-logged-out"),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct StrengthForm {
    #[serde(default)]
    password: String,
    /// The form the password is typed in (`/register/password`, …).
    #[serde(default)]
    form: String,
    #[serde(default)]
    portal_id: String,
}

/// The live strength meter: the same estimator and policy that judge the form, knowing the
/// person's own names and contacts, and the form's own message when it would be refused.
pub async fn password_strength(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<StrengthForm>,
) -> Result<Response, WebError> {
    use ekdwar_app::identity::PasswordFor;
    let register_flow = flow_cookie(&jar, register::REGISTER_FLOW);
    let recover_flow = flow_cookie(&jar, recover::RECOVER_FLOW);
    let whose = match (f.form.as_str(), &c.user) {
        ("/account/password", Some(s)) => PasswordFor::Account(s),
        ("/register/password", _) => PasswordFor::Registration {
            flow: &register_flow,
            portal_id: &f.portal_id,
        },
        ("/recover/password", _) => PasswordFor::Recovery {
            flow: &recover_flow,
        },
        _ => PasswordFor::Nobody,
    };
    let feedback = app
        .identity
        .password_feedback(&Password::new(f.password), whose)
        .await?;
    let message = feedback
        .problem
        .map(|p| crate::error::field_message(&c, &p));
    Ok(
        axum::Json(serde_json::json!({ "score": feedback.score, "message": message }))
            .into_response(),
    )
}

/// The account pages: registration, login (with its second step), recovery, the profile.
pub fn routes() -> axum::Router<ekdwar_app::App> {
    axum::Router::new()
        .route("/password/strength", post(password_strength))
        .route("/register", get(register_form).post(register_submit))
        .route(
            "/register/verify",
            get(register_verify_form).post(register_verify_submit),
        )
        .route("/register/resend", post(register_resend))
        .route("/register/confirm", get(register_confirm_link))
        .route(
            "/register/password",
            get(register_password_form).post(register_password_submit),
        )
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/recover", get(recover_form).post(recover_submit))
        .route(
            "/recover/verify",
            get(recover_verify_form).post(recover_verify_submit),
        )
        .route("/recover/resend", post(recover_resend))
        .route("/recover/confirm", get(recover_confirm_link))
        .route(
            "/recover/password",
            get(recover_password_form).post(recover_password_submit),
        )
        .route(
            "/recover/portal-id",
            get(portal_id_form).post(portal_id_submit),
        )
        .route("/account", get(account))
        .route("/account/name", post(account_name))
        .route("/account/contact", post(account_contact))
        .route(
            "/account/contact/verify",
            get(contact_verify_form).post(contact_verify_submit),
        )
        .route("/account/contact/resend", post(contact_resend))
        .route("/account/contact/confirm", get(contact_confirm_link))
        .route(
            "/account/password",
            get(password_form).post(password_submit),
        )
        .route("/account/sessions", get(sessions))
        .route("/account/sessions/revoke", post(session_revoke))
        .route("/account/sessions/logout-all", post(logout_all))
        .route("/account/security", get(security_events))
        .route("/login/code", get(login_code_form).post(login_code_submit))
        .route("/account/two-step", get(two_step))
        .route("/account/two-step/enable", post(two_step_enable))
        .route("/account/two-step/manage", post(two_step_manage))
        .route("/account/passkeys", get(passkeys))
        .route("/account/passkeys/options", post(add_options))
        .route("/account/passkeys/add", post(add))
        .route("/account/passkeys/remove", post(remove))
        .route("/login/passkey/options", post(login_options))
        .route("/login/passkey", post(login))
}

/// Where a successful login goes: `next` (an authorization request, already checked to be
/// local) marked as freshly logged in for the session `token` opens.
pub fn after_login(app: &App, next: &str, token: &str) -> String {
    if next.starts_with("/authorize?") {
        let hash = ekdwar_app::security::sha256_hex(token.as_bytes());
        format!("{next}&_fresh={}", app.identity.fresh_login_mark(&hash))
    } else {
        next.to_string()
    }
}

/// Where the forms of a login page for `next` may lead: the app's redirect URI when `next`
/// continues an authorization request.
pub async fn login_targets(app: &App, next: &str) -> FormTargets {
    let target = match next.strip_prefix("/authorize?") {
        Some(q) => match serde_urlencoded::from_str::<AuthorizeParams>(q) {
            Ok(p) => app.sso.authorize_target(&p).await,
            Err(_) => None,
        },
        None => None,
    };
    FormTargets::of(target.as_ref())
}
