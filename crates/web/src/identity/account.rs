use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::identity::CurrentSession;
use ekdwar_domain::password::Password;
use serde::Deserialize;

use super::code_step::CONTACT;
use super::{
    CodeForm, ConfirmPage, Confirmed, LinkQuery, NewPasswordForm, PasswordPage, form_errors,
    with_errors,
};
use crate::ctx::{Ctx, Me, SESSION_COOKIE, render};
use crate::error::{Errors, WebError};

const CONTACT_FLOW: &str = CONTACT.cookie;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    user: &'a ekdwar_app::views::AccountView,
    level_key: String,
    next_level_key: Option<String>,
    /// The contact form asks for the password (the login is more than a few minutes old).
    reauth: bool,
    /// The account has two-step login with an authenticator app.
    two_step: bool,
    /// How many passkeys the account has.
    passkeys: usize,
    /// A government employee's ID.
    employee_id: Option<String>,
}

async fn account_page<'a>(
    app: &App,
    c: &'a Ctx,
    s: &'a CurrentSession,
    errors: Errors,
) -> Result<AccountPage<'a>, WebError> {
    let info = app.identity.level_info(s.account.level);
    let employee_id = app.identity.employee_of(s.user_id()).await?;
    Ok(AccountPage {
        c,
        errors,
        user: &s.account,
        level_key: format!("level-{}", info.level.as_str()),
        next_level_key: info.next.map(|n| format!("level-next-{}", n.as_str())),
        reauth: app.identity.needs_reauth(s),
        two_step: app.identity.two_step_status(s).await?.enabled,
        passkeys: app.identity.passkeys(s).await?.len(),
        employee_id,
    })
}

pub async fn account(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    Ok(render(
        &account_page(&app, &c, &me, Errors::default()).await?,
    ))
}

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

pub async fn account_name(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<NameForm>,
) -> Result<Response, WebError> {
    let s = &me;
    match app
        .identity
        .update_name(s, &f.first_name, &f.last_name, &c.actor)
        .await
    {
        Ok(()) => Ok(Redirect::to("/account?notice=notice-saved").into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "first_name")?;
            Ok(with_errors(
                render(&account_page(&app, &c, s, errors.clone()).await?),
                &errors,
            ))
        }
    }
}

#[derive(Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    contact: String,
    #[serde(default)]
    current: String,
}

pub async fn account_contact(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    jar: CookieJar,
    Form(f): Form<ContactForm>,
) -> Result<Response, WebError> {
    let s = &me;
    match app
        .identity
        .start_contact_change(
            s,
            &f.contact,
            Some(Password::new(f.current)),
            &c.lang,
            &c.actor,
        )
        .await
    {
        Ok(flow) => Ok((
            jar.add(c.cookie(CONTACT_FLOW, flow, Some(86_400))),
            Redirect::to("/account/contact/verify"),
        )
            .into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "contact")?;
            Ok(with_errors(
                render(&account_page(&app, &c, s, errors.clone()).await?),
                &errors,
            ))
        }
    }
}

pub async fn contact_verify_form(
    State(app): State<App>,
    c: Ctx,
    _me: Me,
    jar: CookieJar,
) -> Result<Response, WebError> {
    CONTACT.show(&app, &c, &jar).await
}

pub async fn contact_verify_submit(
    State(app): State<App>,
    c: Ctx,
    _me: Me,
    jar: CookieJar,
    Form(f): Form<CodeForm>,
) -> Result<Response, WebError> {
    let flow = CONTACT.flow(&jar);
    match app
        .identity
        .complete_contact_change(&flow, &f.code, &c.actor)
        .await
    {
        Ok(_) => Ok((
            jar.add(c.removal(CONTACT_FLOW)),
            Redirect::to("/account?notice=notice-contact-changed"),
        )
            .into_response()),
        Err(e) => CONTACT.retry(&app, &c, &flow, e).await,
    }
}

pub async fn contact_resend(
    State(app): State<App>,
    c: Ctx,
    _me: Me,
    jar: CookieJar,
) -> Result<Response, WebError> {
    CONTACT.resend(&app, &c, &jar).await
}

pub async fn contact_confirm_link(
    State(app): State<App>,
    c: Ctx,
    Query(q): Query<LinkQuery>,
) -> Result<Response, WebError> {
    app.identity
        .complete_contact_change(&q.flow, &q.token, &c.actor)
        .await?;
    let to = if c.user.is_some() {
        "/account?notice=notice-contact-changed"
    } else {
        "/login?notice=notice-contact-changed"
    };
    Ok(Redirect::to(to).into_response())
}

fn password_page<'a>(app: &App, c: &'a Ctx, errors: Errors) -> PasswordPage<'a> {
    PasswordPage {
        c,
        errors,
        title: "account-change-password",
        lead: None,
        action: "/account/password",
        portal_id: None,
        ask_current: true,
        min_length: app.config().password.min_length,
        button: "save",
    }
}

pub async fn password_form(State(app): State<App>, c: Ctx, _me: Me) -> Response {
    render(&password_page(&app, &c, Errors::default()))
}

pub async fn password_submit(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<NewPasswordForm>,
) -> Result<Response, WebError> {
    let s = &me;
    match app
        .identity
        .change_password(
            s,
            Password::new(f.current),
            Password::new(f.password),
            Password::new(f.confirm),
            &c.actor,
        )
        .await
    {
        Ok(()) => Ok(Redirect::to("/account?notice=notice-password-changed").into_response()),
        Err(e) => {
            let errors = form_errors(&c, e, "password")?;
            Ok(with_errors(
                render(&password_page(&app, &c, errors.clone())),
                &errors,
            ))
        }
    }
}

struct SessionRow {
    id: String,
    device: String,
    ip: String,
    started: String,
    last_seen: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    sessions: Vec<SessionRow>,
}

/// A short description of a browser from its user agent.
fn device(ua: Option<&str>) -> String {
    let ua = ua.unwrap_or("");
    let browser = ["Edg", "OPR", "Firefox", "Chrome", "Safari"]
        .iter()
        .find(|b| ua.contains(*b))
        .copied()
        .unwrap_or("");
    let os = ["Android", "iPhone", "iPad", "Windows", "Mac OS", "Linux"]
        .iter()
        .find(|o| ua.contains(*o))
        .copied()
        .unwrap_or("");
    match (browser, os) {
        ("", "") => ua.chars().take(60).collect(),
        (b, "") => b.to_string(),
        ("", o) => o.to_string(),
        (b, o) => format!("{b} · {o}"),
    }
}

pub async fn sessions(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    let s = &me;
    let rows = app
        .identity
        .active_sessions(s.user_id())
        .await?
        .into_iter()
        .map(|x| SessionRow {
            current: x.id_hash == *s.session_id(),
            device: device(x.user_agent.as_deref()),
            ip: x.ip.clone().unwrap_or_default(),
            started: c.when(x.created_at),
            last_seen: c.when(x.last_seen_at),
            id: x.id_hash.into_string(),
        })
        .collect();
    Ok(render(&SessionsPage {
        c: &c,
        errors: Errors::default(),
        sessions: rows,
    }))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    id: String,
}

pub async fn session_revoke(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<RevokeForm>,
) -> Result<Response, WebError> {
    let s = &me;
    app.identity.revoke_session(s, &f.id, &c.actor).await?;
    Ok(Redirect::to("/account/sessions?notice=notice-session-ended").into_response())
}

pub async fn logout_all(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    jar: CookieJar,
    Form(confirmed): Form<Confirmed>,
) -> Result<Response, WebError> {
    if !confirmed.yes() {
        return Ok(render(&ConfirmPage {
            c: &c,
            errors: Errors::default(),
            title: "confirm-logout-all-title",
            lead: c.t("confirm-logout-all-lead"),
            action: "/account/sessions/logout-all",
            fields: vec![],
            button: "sessions-logout-all",
            cancel: "/account/sessions",
        }));
    }
    let s = &me;
    app.identity.logout_everywhere(s, &c.actor).await?;
    Ok((
        jar.add(c.removal(SESSION_COOKIE)),
        Redirect::to("/login?notice=notice-logged-out-everywhere"),
    )
        .into_response())
}

struct EventRow {
    when: String,
    /// What happened, outcome included: "Logged in", "Login refused: wrong password".
    what: String,
    /// Not a plain success: shown so that it stands out.
    warning: bool,
    ip: String,
}

#[derive(Template)]
#[template(path = "security.html")]
struct SecurityPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    events: Vec<EventRow>,
    /// Where the older events start, when there are any.
    older: Option<String>,
    /// This is not the first page.
    paged: bool,
}

#[derive(Deserialize)]
pub struct EventsQuery {
    before: Option<String>,
}

pub async fn security_events(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Query(q): Query<EventsQuery>,
) -> Result<Response, WebError> {
    let before = q.before.as_deref().and_then(|b| b.parse::<i64>().ok());
    let (events, next) = app.audit.security_events(me.user_id(), before).await?;
    let events = events
        .into_iter()
        .map(|e| {
            let action = e.action.as_str();
            let outcome = e.outcome.as_str();
            EventRow {
                when: c.when(e.at),
                // A failure or refusal has its own wording; a success is the action itself.
                what: match (action, e.detail.as_deref().and_then(|d| d.split_once('\t'))) {
                    // Who confirmed the person, and where.
                    ("identity-confirmed", Some((centre, operator))) => c.ta2(
                        "audit-identity-confirmed-at",
                        "centre",
                        centre,
                        "operator",
                        operator,
                    ),
                    ("access-restored", Some((centre, operator))) => c.ta2(
                        "audit-access-restored-at",
                        "centre",
                        centre,
                        "operator",
                        operator,
                    ),
                    // Where and by whom an account was opened, or access restored.
                    ("registered", Some(("desk", rest))) => {
                        let (centre, operator) = rest.split_once('\t').unwrap_or((rest, ""));
                        c.ta2(
                            "audit-registered-at",
                            "centre",
                            centre,
                            "operator",
                            operator,
                        )
                    }
                    // Which trusted provider the person proved their identity through.
                    ("identity-matched", _) => c.ta(
                        &format!("audit-identity-matched-{outcome}"),
                        "provider",
                        e.detail
                            .as_deref()
                            .and_then(|d| d.split('\t').next())
                            .unwrap_or_default(),
                    ),
                    _ => c
                        .lang
                        .try_t(&format!("audit-{action}-{outcome}"))
                        .unwrap_or_else(|| c.t(&format!("audit-{action}"))),
                },
                warning: outcome != "success",
                ip: e.ip.unwrap_or_default(),
            }
        })
        .collect();
    Ok(render(&SecurityPage {
        c: &c,
        errors: Errors::default(),
        events,
        older: next.map(|id| format!("/account/security?before={id}")),
        paged: before.is_some(),
    }))
}
