//! OpenID Connect endpoints and the pages around them: consent, level too low, logout, the apps
//! page, the helpdesk directory and the person's connected apps.

use askama::Template;
use axum::Form;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ekdwar_app::App;
use ekdwar_app::i18n::Lang;
use ekdwar_app::sso::{AuthorizeError, AuthorizeParams, BasicAuth, OAuthError, Step, TokenForm};
use ekdwar_domain::sso::{KNOWN_SCOPES, RedirectUri};
use serde::Deserialize;
use serde_json::json;

use crate::ctx::render;
use crate::ctx::{Ctx, FormTargets, LANG_COOKIE, Me, error_page};
use crate::error::{Errors, WebError};
use crate::identity::{ConfirmPage, Confirmed};

pub async fn discovery(State(app): State<App>) -> Response {
    let iss = app.config().issuer();
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "userinfo_endpoint": format!("{iss}/oauth/userinfo"),
        "jwks_uri": format!("{iss}/oauth/jwks"),
        "end_session_endpoint": format!("{iss}/oauth/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "introspection_endpoint": format!("{iss}/oauth/introspect"),
        "scopes_supported": KNOWN_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ekdwar_domain::sso::SubjectType::ALL,
        "id_token_signing_alg_values_supported": ekdwar_domain::sso::SigningAlg::ALL,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid", "name", "given_name", "family_name", "locale", "email", "email_verified", "phone_number", "phone_number_verified", "preferred_username", "portal_id", "account_level", "account_type"],
        "acr_values_supported": ["urn:ekdwar:loa:simplified", "urn:ekdwar:loa:standard", "urn:ekdwar:loa:verified"],
        "ui_locales_supported": Lang::all().iter().map(Lang::tag).collect::<Vec<_>>(),
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

pub async fn jwks(State(app): State<App>) -> Result<Response, WebError> {
    let keys = app.sso.jwks().await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(keys)).into_response())
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    app_name: String,
    app_logo: Option<String>,
    scopes: Vec<String>,
    request: String,
}

#[derive(Template)]
#[template(path = "level.html")]
struct LevelPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    app_name: String,
    need_key: String,
    next_key: String,
    cancel: String,
}

/// The query without our own marker, and `login` taken out of `prompt` (a login is about to
/// happen, so the request must not ask for one again).
fn after_login_query(raw: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "_fresh" => {}
            "prompt" => {
                let rest: Vec<&str> = v.split_whitespace().filter(|p| *p != "login").collect();
                if !rest.is_empty() {
                    out.append_pair("prompt", &rest.join(" "));
                }
            }
            _ => {
                out.append_pair(&k, &v);
            }
        }
    }
    out.finish()
}

/// Whether `raw` (an authorization request) carries the mark of a login made for it in this
/// browser's session (the rule is the app's: [`App::freshly_logged_in`]).
fn freshly_logged_in(app: &App, c: &Ctx, raw: &str) -> bool {
    let mark = url::form_urlencoded::parse(raw.as_bytes())
        .find(|(k, _)| k == "_fresh")
        .map(|(_, v)| v.into_owned());
    match (&mark, &c.user) {
        (Some(m), Some(s)) => app.identity.freshly_logged_in(m, s),
        _ => false,
    }
}

async fn run_authorize(
    app: &App,
    c: &Ctx,
    raw: &str,
    params: AuthorizeParams,
    fresh: bool,
    consent_answer: Option<bool>,
) -> Result<Response, WebError> {
    let req = match app.sso.parse_authorize(&params).await {
        Ok(r) => r,
        Err(AuthorizeError::ToUser(code)) => {
            return Ok(error_page(
                c,
                StatusCode::BAD_REQUEST,
                "sso-error-title",
                &format!("err-{code}"),
                None,
            ));
        }
        Err(AuthorizeError::ToClient(url)) => return Ok(Redirect::to(&url).into_response()),
    };
    let session = c.user.as_ref();
    let step = match (consent_answer, session) {
        (Some(allow), Some(s)) => {
            app.sso
                .answer_consent(&req, s, allow, fresh, &c.actor)
                .await?
        }
        _ => app.sso.authorize_step(&req, session, fresh).await?,
    };
    Ok(match step {
        Step::Redirect(url) => Redirect::to(&url).into_response(),
        Step::Login => {
            let next = format!("/authorize?{}", after_login_query(raw));
            let login = {
                let mut q =
                    url::form_urlencoded::Serializer::for_suffix(String::from("/login?"), 7);
                q.append_pair("next", &next);
                if let Some(h) = &req.login_hint {
                    q.append_pair("login_hint", h);
                }
                q.finish()
            };
            // The current session stays until a new login replaces it: a request from another
            // site (`prompt=login` with any public app) must not be able to log a person out
            // (security finding 9).
            Redirect::to(&login).into_response()
        }
        Step::Consent { scopes } => {
            let target = RedirectUri::from_trusted(req.redirect_uri.clone());
            FormTargets::of(Some(&target)).apply(render(&ConsentPage {
                c,
                errors: Errors::default(),
                app_name: req.app().name,
                app_logo: req.app().logo_path,
                scopes: scopes.iter().map(|s| format!("scope-{s}")).collect(),
                request: raw.to_string(),
            }))
        }
        Step::LevelTooLow { need, cancel } => render(&LevelPage {
            c,
            errors: Errors::default(),
            app_name: req.app().name,
            need_key: format!("level-{}", need.as_str()),
            next_key: format!("level-next-{}", need.as_str()),
            cancel,
        }),
    })
}

/// The authorization endpoint.
pub async fn authorize(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    RawQuery(raw): RawQuery,
) -> Result<Response, WebError> {
    let raw = raw.unwrap_or_default();
    let params: AuthorizeParams = serde_urlencoded::from_str(&raw).unwrap_or_default();
    let fresh = freshly_logged_in(&app, &c, &raw);
    // ui_locales picks the language for a visitor who has not chosen one.
    let jar = match params
        .ui_locales
        .as_deref()
        .and_then(|l| l.split_whitespace().find_map(Lang::parse))
    {
        Some(lang) if jar.get(LANG_COOKIE).is_none() && c.user.is_none() => {
            jar.add(c.cookie(LANG_COOKIE, lang.tag(), Some(365 * 86_400)))
        }
        _ => jar,
    };
    let resp = run_authorize(&app, &c, &raw, params, fresh, None).await?;
    Ok((jar, resp).into_response())
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

pub async fn consent(
    State(app): State<App>,
    c: Ctx,
    Form(f): Form<ConsentForm>,
) -> Result<Response, WebError> {
    let params: AuthorizeParams = serde_urlencoded::from_str(&f.request).unwrap_or_default();
    if c.user.is_none() {
        return run_authorize(&app, &c, &f.request, params, false, None).await;
    }
    let fresh = freshly_logged_in(&app, &c, &f.request);
    run_authorize(
        &app,
        &c,
        &f.request,
        params,
        fresh,
        Some(f.decision == "allow"),
    )
    .await
}

fn oauth_error(e: OAuthError) -> Response {
    let status = crate::error::status(e.kind());
    let mut resp = (
        status,
        Json(json!({ "error": e.error, "error_description": e.description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        let value = if e.error == "invalid_token" {
            "Bearer error=\"invalid_token\""
        } else {
            "Basic realm=\"ekdwar\""
        };
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static(value),
        );
    }
    resp
}

/// `Authorization: Basic` credentials; both parts are form-encoded (RFC 6749 §2.3.1).
fn basic_auth(headers: &HeaderMap) -> BasicAuth {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

fn token_form(body: &Bytes) -> Result<TokenForm, OAuthError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::new("invalid_request", "the body must be a form"))
}

pub async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match token_form(&body) {
        Ok(f) => f,
        Err(e) => return oauth_error(e),
    };
    match app.sso.token(form, basic_auth(&headers)).await {
        Ok(v) => ([(header::PRAGMA, "no-cache")], Json(v)).into_response(),
        Err(e) => oauth_error(e),
    }
}

pub async fn userinfo(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    let from_body = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned());
    let Some(token) = from_header.or(from_body) else {
        return oauth_error(OAuthError::new("invalid_token", "no access token"));
    };
    match app.sso.userinfo(&token).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => oauth_error(e),
    }
}

pub async fn introspect(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match token_form(&body) {
        Ok(f) => f,
        Err(e) => return oauth_error(e),
    };
    match app.sso.introspect(form, basic_auth(&headers)).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => oauth_error(e),
    }
}

pub async fn revoke(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match token_form(&body) {
        Ok(f) => f,
        Err(e) => return oauth_error(e),
    };
    match app.sso.revoke(form, basic_auth(&headers)).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => oauth_error(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LogoutParams {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    client_id: String,
    post_logout_redirect_uri: String,
    state: String,
}

async fn finish_logout(
    app: &App,
    c: &Ctx,
    jar: CookieJar,
    p: LogoutParams,
) -> Result<Response, WebError> {
    let to = app
        .sso
        .end_session(
            c.user.as_ref(),
            p.id_token_hint.as_deref(),
            p.client_id.as_deref(),
            p.post_logout_redirect_uri.as_deref(),
            p.state.as_deref(),
            &c.actor,
        )
        .await?;
    let jar = jar.add(c.removal(crate::ctx::SESSION_COOKIE));
    Ok((
        jar,
        Redirect::to(to.as_deref().unwrap_or("/login?notice=notice-logged-out")),
    )
        .into_response())
}

/// RP-initiated logout. With a valid `id_token_hint` the app proves the request is its own;
/// without one the person confirms, so another site cannot log them out.
pub async fn logout_get(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Query(p): Query<LogoutParams>,
) -> Result<Response, WebError> {
    // The hint proves the request only if it was issued in this browser's own session: any
    // token the portal signed, even another person's, is not enough (security finding 9).
    let proven = match (p.id_token_hint.as_deref(), &c.user) {
        (Some(t), Some(s)) => app
            .sso
            .verify_jwt(t)
            .await
            .is_some_and(|claims| claims["sid"].as_str() == Some(s.sid())),
        _ => false,
    };
    if proven || c.user.is_none() {
        return finish_logout(&app, &c, jar, p).await;
    }
    let target = match (&p.client_id, &p.post_logout_redirect_uri) {
        (Some(id), Some(uri)) => app.sso.post_logout_target(id, uri).await?,
        _ => None,
    };
    Ok(FormTargets::of(target.as_ref()).apply(render(&LogoutPage {
        c: &c,
        errors: Errors::default(),
        client_id: p.client_id.unwrap_or_default(),
        post_logout_redirect_uri: p.post_logout_redirect_uri.unwrap_or_default(),
        state: p.state.unwrap_or_default(),
    })))
}

pub async fn logout_post(
    State(app): State<App>,
    c: Ctx,
    jar: CookieJar,
    Form(p): Form<LogoutParams>,
) -> Result<Response, WebError> {
    let p = LogoutParams {
        client_id: p.client_id.filter(|s| !s.is_empty()),
        post_logout_redirect_uri: p.post_logout_redirect_uri.filter(|s| !s.is_empty()),
        state: p.state.filter(|s| !s.is_empty()),
        ..p
    };
    finish_logout(&app, &c, jar, p).await
}

/// An app's logo, as stored when it was set.
pub async fn logo(
    State(app): State<App>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((png, etag)) = app.sso.client_logo(&id).await? else {
        return Err(WebError(ekdwar_app::error::AppError::NotFound));
    };
    let etag = format!("\"{etag}\"");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let cache = [
        (
            header::CACHE_CONTROL,
            "public, max-age=31536000, immutable".to_string(),
        ),
        (header::ETAG, etag),
    ];
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok((cache, [(header::CONTENT_TYPE, "image/png")], png).into_response())
}

struct AppRow {
    name: String,
    logo_url: Option<String>,
    launch_url: Option<String>,
    officer: Option<String>,
    helpdesk_phone: Option<String>,
    helpdesk_email: Option<String>,
}

impl From<ekdwar_app::views::AppView> for AppRow {
    fn from(c: ekdwar_app::views::AppView) -> Self {
        Self {
            logo_url: c.logo_path,
            name: c.name,
            launch_url: c.launch_url,
            officer: c.officer,
            helpdesk_phone: c.helpdesk_phone,
            helpdesk_email: c.helpdesk_email,
        }
    }
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    apps: Vec<AppRow>,
}

pub async fn apps(State(app): State<App>, c: Ctx) -> Result<Response, WebError> {
    let apps = app
        .sso
        .clients(true)
        .await?
        .into_iter()
        .map(AppRow::from)
        .collect();
    Ok(render(&AppsPage {
        c: &c,
        errors: Errors::default(),
        apps,
    }))
}

#[derive(Template)]
#[template(path = "helpdesk.html")]
struct HelpdeskPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    q: String,
    apps: Vec<AppRow>,
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// Rajasthan SSO's directory: for every app, who is in charge and how to reach its helpdesk.
pub async fn helpdesk(
    State(app): State<App>,
    c: Ctx,
    Query(s): Query<SearchQuery>,
) -> Result<Response, WebError> {
    let apps = app
        .sso
        .helpdesk(&s.q)
        .await?
        .into_iter()
        .map(AppRow::from)
        .collect();
    Ok(render(&HelpdeskPage {
        c: &c,
        errors: Errors::default(),
        q: s.q,
        apps,
    }))
}

struct ConnectedRow {
    id: String,
    name: String,
    scopes: String,
    since: String,
}

#[derive(Template)]
#[template(path = "connected.html")]
struct ConnectedPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    apps: Vec<ConnectedRow>,
}

pub async fn connected(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    let s = &me;
    let apps = app
        .sso
        .connected_apps(s.user_id())
        .await?
        .into_iter()
        .map(|a| ConnectedRow {
            id: a.app.client_id.into_string(),
            name: a.app.name,
            scopes: a
                .scopes
                .split_whitespace()
                .map(|s| c.t(&format!("scope-{s}")))
                .collect::<Vec<_>>()
                .join("; "),
            since: c.when(a.granted_at),
        })
        .collect();
    Ok(render(&ConnectedPage {
        c: &c,
        errors: Errors::default(),
        apps,
    }))
}

#[derive(Deserialize)]
pub struct DisconnectForm {
    #[serde(default)]
    client_id: String,
    #[serde(flatten)]
    confirmed: Confirmed,
}

pub async fn disconnect(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Form(f): Form<DisconnectForm>,
) -> Result<Response, WebError> {
    let s = &me;
    if !f.confirmed.yes() {
        let Some(name) = app
            .sso
            .connected_apps(s.user_id())
            .await?
            .into_iter()
            .find(|a| a.app.client_id == *f.client_id)
            .map(|a| a.app.name)
        else {
            return Ok(Redirect::to("/account/apps").into_response());
        };
        return Ok(render(&ConfirmPage {
            c: &c,
            errors: Errors::default(),
            title: "confirm-disconnect-title",
            lead: c.ta("confirm-disconnect-lead", "app", &name),
            action: "/account/apps/disconnect",
            fields: vec![("client_id", f.client_id.clone())],
            button: "connected-disconnect",
            cancel: "/account/apps",
        }));
    }
    app.sso.disconnect_app(s, &f.client_id, &c.actor).await?;
    Ok(Redirect::to("/account/apps?notice=notice-app-disconnected").into_response())
}

/// The pages of single sign-on: sign-in requests, consent, logout, the apps directories.
pub fn routes() -> axum::Router<ekdwar_app::App> {
    axum::Router::new()
        .route("/apps/{id}/logo.png", get(logo))
        .route("/account/apps", get(connected))
        .route("/account/apps/disconnect", post(disconnect))
        .route("/apps", get(apps))
        .route("/helpdesk", get(helpdesk))
        .route("/authorize", get(authorize))
        .route("/authorize/consent", post(consent))
        .route("/oauth/logout", get(logout_get).post(logout_post))
}

/// What apps call with client credentials or bearer tokens: tokens, userinfo, introspection,
/// revocation, keys and discovery.
pub fn api_routes() -> axum::Router<ekdwar_app::App> {
    axum::Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oauth/jwks", get(jwks))
        .route("/oauth/token", post(token))
        .route("/oauth/userinfo", get(userinfo).post(userinfo))
        .route("/oauth/introspect", post(introspect))
        .route("/oauth/revoke", post(revoke))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_survives_the_login_round_trip() {
        let raw = "response_type=code&client_id=abc&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fa%2Fcb&scope=openid%20profile&state=st-1&prompt=login%20consent";
        let back = after_login_query(raw);
        let p: Result<AuthorizeParams, _> = serde_urlencoded::from_str(&back);
        let p = p.unwrap();
        assert_eq!(p.client_id, "abc");
        assert_eq!(p.redirect_uri, "http://localhost:9/a/cb");
        assert_eq!(p.prompt.as_deref(), Some("consent"));
        assert!(!back.contains("_fresh"));
        let again = after_login_query(&format!("{raw}&_fresh=forged"));
        assert!(!again.contains("forged"), "an incoming mark is dropped");
    }
}
