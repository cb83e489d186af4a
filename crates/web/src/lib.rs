//! Ekdwar's web face: axum routes, server-rendered pages that work without JavaScript, the
//! security middleware (headers, CSRF, language, session), and the single error boundary.

mod assets;
mod ctx;
mod error;
mod external;
mod identity;
mod sso;
mod system;

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use ekdwar_app::App;
use ekdwar_app::metrics::{HttpLabels, RouteLabels};
use tokio::net::TcpListener;

pub use ctx::Ctx;

/// All routes of the portal.
pub fn router(app: App) -> Router {
    let mut r = Router::new()
        .route("/", get(system::home))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/static/{file}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/language", post(system::switch_language))
        .route("/password/strength", post(identity::password_strength))
        .route(
            "/register",
            get(identity::register_form).post(identity::register_submit),
        )
        .route(
            "/register/verify",
            get(identity::register_verify_form).post(identity::register_verify_submit),
        )
        .route("/register/resend", post(identity::register_resend))
        .route("/register/confirm", get(identity::register_confirm_link))
        .route(
            "/register/password",
            get(identity::register_password_form).post(identity::register_password_submit),
        )
        .route(
            "/login",
            get(identity::login_form).post(identity::login_submit),
        )
        .route("/logout", post(identity::logout))
        .route(
            "/recover",
            get(identity::recover_form).post(identity::recover_submit),
        )
        .route(
            "/recover/verify",
            get(identity::recover_verify_form).post(identity::recover_verify_submit),
        )
        .route("/recover/resend", post(identity::recover_resend))
        .route("/recover/confirm", get(identity::recover_confirm_link))
        .route(
            "/recover/password",
            get(identity::recover_password_form).post(identity::recover_password_submit),
        )
        .route(
            "/recover/portal-id",
            get(identity::portal_id_form).post(identity::portal_id_submit),
        )
        .route("/account", get(identity::account))
        .route("/account/name", post(identity::account_name))
        .route("/account/contact", post(identity::account_contact))
        .route(
            "/account/contact/verify",
            get(identity::contact_verify_form).post(identity::contact_verify_submit),
        )
        .route("/account/contact/resend", post(identity::contact_resend))
        .route(
            "/account/contact/confirm",
            get(identity::contact_confirm_link),
        )
        .route(
            "/account/password",
            get(identity::password_form).post(identity::password_submit),
        )
        .route("/account/sessions", get(identity::sessions))
        .route("/account/sessions/revoke", post(identity::session_revoke))
        .route("/account/sessions/logout-all", post(identity::logout_all))
        .route("/account/security", get(identity::security_events))
        .route("/account/level", get(identity::levels))
        .route(
            "/login/code",
            get(identity::login_code_form).post(identity::login_code_submit),
        )
        .route("/account/two-step", get(identity::two_step))
        .route("/account/two-step/enable", post(identity::two_step_enable))
        .route("/account/two-step/manage", post(identity::two_step_manage))
        .route("/apps/{id}/logo.png", get(sso::logo))
        .route("/account/apps", get(sso::connected))
        .route("/account/apps/disconnect", post(sso::disconnect))
        .route("/apps", get(sso::apps))
        .route("/login/external/{provider}", get(external::start))
        .route(
            "/login/external/{provider}/callback",
            get(external::callback),
        )
        .route("/account/linked", get(external::linked))
        .route("/account/linked/remove", post(external::remove))
        .route("/helpdesk", get(sso::helpdesk))
        .route("/.well-known/openid-configuration", get(sso::discovery))
        .route("/oauth/jwks", get(sso::jwks))
        .route("/authorize", get(sso::authorize))
        .route("/authorize/consent", post(sso::consent))
        .route("/oauth/token", post(sso::token))
        .route("/oauth/userinfo", get(sso::userinfo).post(sso::userinfo))
        .route("/oauth/introspect", post(sso::introspect))
        .route("/oauth/revoke", post(sso::revoke))
        .route("/oauth/logout", get(sso::logout_get).post(sso::logout_post));
    if app.config.server.dev_mode {
        r = r.route("/dev/outbox", get(system::dev_outbox));
    }
    r.route_layer(middleware::from_fn_with_state(app.clone(), record_metrics))
        .fallback(system::not_found)
        .layer(middleware::from_fn_with_state(app.clone(), ctx::context))
        // Text only (the default predicate leaves images and tiny bodies alone). Pages carry a
        // CSRF token, masked afresh on every response so compression cannot leak it (BREACH).
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(middleware::from_fn_with_state(app.clone(), request_id))
        .with_state(app)
}

tokio::task_local! {
    /// The id of the request being served, for error pages and logs.
    pub static REQUEST_ID: String;
}

/// The request's id: the one a proxy sent in `X-Request-Id` (if it looks like an id), else a
/// new one. Every log line of the request carries it, error pages show it, and the response
/// returns it, so a citizen's "reference" leads an operator to the right log lines.
async fn request_id(
    axum::extract::State(app): axum::extract::State<App>,
    req: Request,
    next: Next,
) -> Response {
    use tracing::Instrument;
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| app.random.token(12), str::to_string);
    let span = tracing::info_span!("request", id = %id);
    let mut resp = REQUEST_ID
        .scope(id.clone(), next.run(req))
        .instrument(span)
        .await;
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

async fn record_metrics(
    axum::extract::State(app): axum::extract::State<App>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    tracing::info!(%method, %route, status, ms = start.elapsed().as_millis() as u64, "request");
    app.metrics
        .http_requests
        .get_or_create(&HttpLabels {
            method,
            route: route.clone(),
            status,
        })
        .inc();
    app.metrics
        .http_duration
        .get_or_create(&RouteLabels { route })
        .observe(start.elapsed().as_secs_f64());
    resp
}

/// Serves until `shutdown` resolves; the jobs runner (message delivery, back-channel logout,
/// purging) runs alongside unless `server.run_worker` is off.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let jobs = app
        .config
        .server
        .run_worker
        .then(|| tokio::spawn(app.clone().run_jobs()));
    let result = axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    if let Some(jobs) = jobs {
        jobs.abort();
    }
    result
}
