//! Ekdwar's web face: axum routes, server-rendered pages that work without JavaScript, the
//! security middleware (headers, CSRF, language, session), and the single error boundary.

mod aadhaar;
mod admin;
mod applications;
mod appointments;
mod assets;
mod assurance;
mod catalog;
mod ctx;
mod dates;
mod desk;
mod eform;
mod error;
mod external;
mod hall;
mod identity;
mod locker;
mod officer;
pub(crate) mod payments;
mod receipt;
mod sso;
mod system;

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use ekdwar_app::App;
use ekdwar_app::metrics::{HttpLabels, RouteLabels};
use tokio::net::TcpListener;
use tower_http::compression::Predicate as _;

pub use ctx::Ctx;

/// All routes of the portal, in two routers with their own layers. Pages (for browsers) get
/// the session, CSRF check, language and HTML error pages; the API (for apps and tools: client
/// or bearer authentication, JSON errors) gets none of that, by construction — a new API route
/// cannot be left exposed to cookies or need a CSRF token.
pub fn router(app: App) -> Router {
    let pages = Router::new()
        .merge(system::routes(app.config().server.dev_mode))
        .merge(identity::routes())
        .merge(assurance::routes())
        .merge(aadhaar::routes())
        .merge(locker::routes())
        .merge(external::routes())
        .merge(sso::routes())
        .merge(catalog::routes())
        .merge(applications::routes())
        .merge(applications::track_routes())
        .merge(applications::fee_routes())
        .merge(applications::notice_routes())
        .merge(receipt::routes())
        .merge(eform::routes())
        .merge(officer::routes())
        .merge(admin::routes())
        .merge(payments::routes())
        .merge(appointments::routes())
        .merge(hall::routes())
        .merge(desk::routes())
        .route_layer(middleware::from_fn_with_state(app.clone(), record_metrics))
        .fallback(system::not_found)
        .layer(middleware::from_fn_with_state(app.clone(), ctx::context));
    let api = Router::new()
        .merge(system::api_routes())
        .merge(sso::api_routes())
        .merge(payments::api_routes())
        .merge(locker::api_routes())
        .route_layer(middleware::from_fn_with_state(app.clone(), record_metrics))
        .layer(middleware::from_fn_with_state(app.clone(), ctx::api));
    pages
        .merge(api)
        // Text only (the default predicate leaves images and tiny bodies alone). Pages carry a
        // CSRF token, masked afresh on every response so compression cannot leak it (BREACH).
        .layer(
            tower_http::compression::CompressionLayer::new().compress_when(
                // A document's file is a PDF or an image: compressed already.
                tower_http::compression::predicate::DefaultPredicate::new().and(
                    tower_http::compression::predicate::NotForContentType::const_new(
                        "application/pdf",
                    ),
                ),
            ),
        )
        .layer(middleware::from_fn_with_state(app.clone(), request_id))
        .with_state(app)
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
        .map_or_else(|| app.random().token(12), str::to_string);
    let span = tracing::info_span!("request", id = %id);
    let mut resp = error::REQUEST_ID
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
    app.metrics()
        .http_requests
        .get_or_create(&HttpLabels {
            method,
            route: route.clone(),
            status,
        })
        .inc();
    app.metrics()
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
        .config()
        .server
        .run_worker
        .then(|| tokio::spawn(app.jobs.clone().run_jobs()));
    let follow = tokio::spawn(app.sso.clone().follow_revocations());
    let result = axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    if let Some(jobs) = jobs {
        jobs.abort();
    }
    follow.abort();
    result
}
