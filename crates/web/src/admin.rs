//! Administrators' API on their browser session: the account search. Anyone who is not an
//! administrator is told there is no such page.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ekdwar_app::App;

use crate::ctx::{Ctx, Me};
use crate::error::WebError;

/// The administrators' routes.
pub fn routes() -> axum::Router<App> {
    axum::Router::new().route("/admin/api/users", get(search))
}

#[derive(serde::Deserialize)]
struct Search {
    /// A phone, e-mail or portal ID (exact), or the start of a name.
    #[serde(default)]
    q: String,
}

/// `GET /admin/api/users?q=…`: the accounts found, as JSON (`accounts`, `more`).
async fn search(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Query(search): Query<Search>,
) -> Result<Response, WebError> {
    let found = app.identity.search_users(&me, &c.actor, &search.q).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(found)).into_response())
}
