//! Health, readiness, metrics, static assets, the language switch and the development outbox.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use ekdwar_app::App;
use ekdwar_app::i18n::Lang;
use ekdwar_app::views::MessageView;
use serde::Deserialize;

use crate::ctx::{Ctx, LANG_COOKIE};
use crate::ctx::{local_path, render};
use crate::error::{Errors, WebError};

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    c: &'a Ctx,
    errors: Errors,
    popular: Vec<&'a ekdwar_domain::catalog::Service>,
    /// The place the popular services are for, when the visitor chose none (a guess, said
    /// with a link to choose).
    guessed: Option<String>,
}

pub async fn home(State(app): State<App>, c: Ctx, jar: CookieJar) -> Result<Response, WebError> {
    app.catalog.refresh().await?;
    let snapshot = app.catalog.snapshot();
    let chosen = crate::catalog::chosen_region(&jar, &snapshot);
    let guessed = match chosen {
        Some(_) => None,
        None => crate::catalog::likely_region(&c, &snapshot, &app.config().locale.default_region),
    };
    let popular = match &guessed {
        Some(r) => crate::catalog::popular_within(&snapshot, r),
        None => crate::catalog::popular(&snapshot, chosen.as_deref()),
    };
    let guessed = guessed
        .as_deref()
        .and_then(|r| snapshot.entries.region(r))
        .map(|e| c.text(&e.name).to_string());
    Ok(render(&Home {
        c: &c,
        errors: Errors::default(),
        popular,
        guessed,
    }))
}

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
pub async fn readyz(State(app): State<App>) -> Response {
    match app.ready().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus metrics, for the operator only: with the configured bearer token, or (without
/// one) from this machine directly.
pub async fn metrics(
    State(app): State<App>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let allowed = match &app.config().server.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| {
                ekdwar_app::security::constant_time_eq(t.as_bytes(), token.expose().as_bytes())
            }),
        None => {
            peer.ip().is_loopback()
                && !headers.contains_key("x-forwarded-for")
                && !headers.contains_key("forwarded")
        }
    };
    if !allowed {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics().encode(),
    )
        .into_response()
}

pub async fn not_found() -> WebError {
    WebError(ekdwar_app::error::AppError::NotFound)
}

#[derive(Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    back: String,
}

/// Switches the language: remembered in a cookie, and in the profile when logged in.
pub async fn switch_language(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(f): Form<LanguageForm>,
) -> Result<Response, WebError> {
    let lang = Lang::parse(&f.lang).unwrap_or_else(|| c.lang.clone());
    if let Some(s) = &c.user {
        app.identity
            .set_language(s.user_id(), &lang, &c.actor)
            .await?;
    }
    // Only local paths, so the switch cannot be used to send people elsewhere.
    let next = local_path(&f.back).unwrap_or("/").to_string();
    let jar = jar.add(c.cookie(LANG_COOKIE, lang.tag(), Some(365 * 86_400)));
    Ok((jar, Redirect::to(&next)).into_response())
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    messages: Vec<MessageView>,
}

/// Development mode only: the messages the portal would have sent.
pub async fn dev_outbox(State(app): State<App>, c: Ctx) -> Result<Response, WebError> {
    let messages = app.notify.outbox(None, 50).await?;
    Ok(render(&OutboxPage {
        c: &c,
        errors: Errors::default(),
        messages,
    }))
}

/// Probes and metrics, for the operator's tools.
pub fn api_routes() -> axum::Router<ekdwar_app::App> {
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The home page, static files and the language switch; the outbox page in development mode.
pub fn routes(dev_mode: bool) -> axum::Router<ekdwar_app::App> {
    let r = axum::Router::new()
        .route("/", get(home))
        .route("/static/{file}", get(crate::assets::serve))
        .route("/favicon.ico", get(crate::assets::favicon))
        .route("/language", post(switch_language));
    if dev_mode {
        r.route("/dev/outbox", get(dev_outbox))
    } else {
        r
    }
}
