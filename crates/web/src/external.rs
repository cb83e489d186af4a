//! Logging in with an upstream identity provider, and the linked logins on the profile.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::identity::Authenticated;
use ekdwar_app::identity::ExternalIntent;
use serde::Deserialize;

use crate::ctx::render;
use crate::ctx::{Ctx, Me, SESSION_COOKIE};
use crate::error::{Errors, WebError};

const EXTERNAL_FLOW: &str = "ekdwar_external";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StartQuery {
    link: Option<String>,
    /// A standard account proving its identity through a trusted provider.
    verify: Option<String>,
}

pub async fn start(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Path(provider): Path<String>,
    Query(q): Query<StartQuery>,
) -> Result<Response, WebError> {
    let intent = match (&c.user, &q.link, &q.verify) {
        (Some(_), _, Some(_)) => ExternalIntent::Verify,
        (Some(_), Some(_), None) => ExternalIntent::Link,
        _ => ExternalIntent::Login,
    };
    let started = app.identity.start_external(&provider, intent).await?;
    let jar = jar.add(c.cookie(EXTERNAL_FLOW, started.cookie, Some(600)));
    Ok((jar, Redirect::to(&started.redirect)).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    code: String,
    state: String,
    error: Option<String>,
}

pub async fn callback(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Path(provider): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, WebError> {
    let cookie = jar
        .get(EXTERNAL_FLOW)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    let jar = jar.add(c.removal(EXTERNAL_FLOW));
    if q.error.is_some() {
        // The person cancelled at the provider.
        return Ok((jar, Redirect::to("/login")).into_response());
    }
    let linking = c.user.is_some();
    let answer = app
        .identity
        .external_answer(&provider, &q.code, &q.state, &cookie)
        .await;
    if let (Ok(answer), Some(me)) = (&answer, &c.user)
        && answer.intent == ExternalIntent::Verify
    {
        let done = app.assurance.verify_by_upstream(me, answer, &c.actor).await;
        return Ok((
            jar,
            crate::assurance::after_upstream(&app, &c, me, done).await?,
        )
            .into_response());
    }
    let done = match answer {
        Ok(answer) => {
            app.identity
                .finish_external(answer, c.user.as_ref(), &c.actor)
                .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(Authenticated::SecondStep(step)) => Ok((
            jar.add(c.cookie(crate::identity::SECOND_STEP, step.ticket, Some(600))),
            Redirect::to("/login/code"),
        )
            .into_response()),
        Ok(Authenticated::Session(done)) => {
            // An employee from a directory has one national identifier checked, once.
            let employee_to_check = done.user.account_type
                == ekdwar_domain::AccountType::Government
                && done.user.level == ekdwar_domain::AccountLevel::Simplified;
            let to = if linking {
                "/account/linked?notice=notice-external-linked"
            } else if employee_to_check {
                "/account/profile?notice=notice-employee-check"
            } else {
                "/account"
            };
            Ok((
                jar.add(c.cookie(SESSION_COOKIE, done.token, None)),
                Redirect::to(to),
            )
                .into_response())
        }
        Err(e) => match Errors::from_app(&c, &e, "provider") {
            Some(errors) if c.user.is_some() => {
                let s = c.user.as_ref().expect("checked");
                Ok((jar, linked_page(&app, &c, s.user_id(), errors).await?).into_response())
            }
            Some(errors) => Ok((
                jar,
                crate::identity::login_page_with(&app, &c, errors, String::new()),
            )
                .into_response()),
            None => Err(WebError(e)),
        },
    }
}

#[derive(Template)]
#[template(path = "linked.html")]
struct LinkedPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    links: Vec<(String, String, Option<String>)>,
    upstreams: Vec<(String, String)>,
}

async fn linked_page(
    app: &App,
    c: &Ctx,
    user_id: &ekdwar_domain::UserId,
    errors: Errors,
) -> Result<Response, WebError> {
    let links = app.identity.linked_logins(user_id).await?;
    let upstreams = app
        .identity
        .login_upstreams()
        .filter(|u| !links.iter().any(|l| l.0 == u.id))
        .map(|u| (u.id.clone(), u.name.clone()))
        .collect();
    Ok(render(&LinkedPage {
        c,
        errors,
        links,
        upstreams,
    }))
}

pub async fn linked(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    linked_page(&app, &c, me.user_id(), Errors::default()).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    provider: String,
}

pub async fn remove(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<RemoveForm>,
) -> Result<Response, WebError> {
    let s = &me;
    match app.identity.unlink_external(s, &f.provider, &c.actor).await {
        Ok(()) => {
            Ok(Redirect::to("/account/linked?notice=notice-external-unlinked").into_response())
        }
        Err(e) => match Errors::from_app(&c, &e, "provider") {
            Some(errors) => linked_page(&app, &c, s.user_id(), errors).await,
            None => Err(WebError(e)),
        },
    }
}

/// Logins through upstream providers, and the linked logins page.
pub fn routes() -> axum::Router<ekdwar_app::App> {
    axum::Router::new()
        .route("/login/external/{provider}", get(start))
        .route("/login/external/{provider}/callback", get(callback))
        .route("/account/linked", get(linked))
        .route("/account/linked/remove", post(remove))
}
