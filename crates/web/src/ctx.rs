//! Per-request context: language, CSRF token, the logged-in person, the client's address. Built
//! by one middleware that also enforces CSRF, sets security headers and renders error pages.

use std::net::SocketAddr;

use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use ekdwar_app::App;
use ekdwar_app::audit::Actor;
use ekdwar_app::error::AppError;
use ekdwar_app::i18n::Lang;
use ekdwar_app::identity::CurrentSession;
use ekdwar_domain::ApplicationId;

use crate::error::{ErrorInfo, Errors, WebError};

pub const SESSION_COOKIE: &str = "ekdwar_session";
pub const CSRF_COOKIE: &str = "ekdwar_csrf";
pub const LANG_COOKIE: &str = "ekdwar_lang";
const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug)]
pub struct Ctx {
    pub lang: Lang,
    /// The token every form carries.
    pub csrf: String,
    pub user: Option<CurrentSession>,
    pub actor: Actor,
    /// Path and query of this page, for "come back here" links.
    pub path: String,
    /// A translated confirmation to show once (`?notice=notice-…`).
    pub notice: Option<String>,
    /// Cookies get `Secure`.
    pub secure: bool,
    /// The zone times are shown in.
    pub time_zone: jiff::tz::TimeZone,
    /// How phone numbers may be typed here, for hints and errors (`81234 56789, +91 …`).
    pub phone_examples: String,
}

/// A phone number or address that must not break across lines inside a sentence: its spaces
/// and hyphens become their non-breaking forms.
pub fn unbroken(s: &str) -> String {
    s.replace(' ', "\u{a0}").replace('-', "\u{2011}")
}

impl Ctx {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }
    /// A moment in this page's language and the deployment's zone: `23 Nov 2026, 13:05 IST`.
    pub fn when(&self, at: ekdwar_domain::Timestamp) -> String {
        self.lang.datetime(at, &self.time_zone)
    }
    /// A time in another zone than the portal's (a Moscow application's), named.
    pub fn when_in(&self, at: ekdwar_domain::Timestamp, zone: &jiff::tz::TimeZone) -> String {
        self.lang.datetime(at, zone)
    }
    /// An appointment's weekday, date and time at its centre.
    pub fn on_day(&self, a: &ekdwar_app::appointments::AppointmentView) -> String {
        a.when(&self.lang)
    }
    /// A calendar day with its weekday.
    pub fn day_with_weekday(&self, d: jiff::civil::Date) -> String {
        self.lang.day_with_weekday(d)
    }
    /// A calendar day, written the same way as `when` writes one.
    pub fn date(&self, d: jiff::civil::Date) -> String {
        self.lang.date(d)
    }
    /// The hint under a "mobile number or e-mail" field, with numbers written as people here
    /// write them.
    pub fn contact_hint(&self) -> String {
        self.ta("field-contact-hint", "phones", &self.phone_examples)
    }
    pub fn ta(&self, key: &str, name: &'static str, value: impl std::fmt::Display) -> String {
        self.lang.t_args(key, &[(name, value.to_string())])
    }
    pub fn ta2(
        &self,
        key: &str,
        n1: &'static str,
        v1: impl std::fmt::Display,
        n2: &'static str,
        v2: impl std::fmt::Display,
    ) -> String {
        self.lang
            .t_args(key, &[(n1, v1.to_string()), (n2, v2.to_string())])
    }
    /// The content-hashed address of a static file.
    pub fn asset(&self, name: &str) -> String {
        crate::assets::url(name)
    }

    pub fn languages(&self) -> Vec<Lang> {
        Lang::all()
    }

    /// A cookie with the portal's attributes: HttpOnly, SameSite=Lax, Secure behind TLS. Behind
    /// TLS its name also carries the `__Host-` prefix, so the browser accepts it only from this
    /// host, over HTTPS, for the whole site (no sibling subdomain can plant or shadow it).
    pub fn cookie(
        &self,
        name: &'static str,
        value: String,
        max_age_secs: Option<i64>,
    ) -> Cookie<'static> {
        let name = if self.secure {
            format!("{HOST_PREFIX}{name}")
        } else {
            name.to_string()
        };
        let mut c = Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .build();
        if let Some(s) = max_age_secs {
            c.set_max_age(time::Duration::seconds(s));
        }
        c
    }

    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut c = self.cookie(name, String::new(), Some(0));
        c.make_removal();
        c
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The logged-in person. Pages that need one take this; visitors are sent to the login page.
pub struct Me(pub CurrentSession);

impl<S: Send + Sync> FromRequestParts<S> for Me {
    type Rejection = Redirect;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .and_then(|c| c.user.clone())
            .map(Me)
            .ok_or_else(|| Redirect::to("/login"))
    }
}

fn client_ip(app: &App, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<String> {
    if app.config().server.behind_tls_proxy
        && let Some(xff) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok())
        && let Some(last) = xff.rsplit(',').next()
    {
        let ip = last.trim();
        if ip.parse::<std::net::IpAddr>().is_ok() {
            return Some(ip.to_string());
        }
    }
    peer.map(|p| p.ip().to_string())
}

/// True when a form post comes from our own pages. Browsers send `Origin` on every POST (with
/// `Referrer-Policy: same-origin` a same-origin post names our origin; `null` and other sites are
/// refused). Without `Origin`, `Sec-Fetch-Site` decides; a client that sends neither is not a
/// current browser, and the CSRF token still has to match.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    match get(header::ORIGIN) {
        Some(origin) => {
            let host = get(header::HOST).unwrap_or_default();
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| !host.is_empty() && rest.trim_end_matches('/') == host)
        }
        None => get(header::HeaderName::from_static("sec-fetch-site"))
            .is_none_or(|site| site == "same-origin"),
    }
}

/// Sources besides `'self'` that the forms of a page may lead a browser to, through redirects:
/// the registered redirect URI of the departmental app a login, consent or logout page serves.
/// Set as a response extension; the CSP's `form-action` names them.
#[derive(Clone, Debug, Default)]
pub struct FormTargets(pub Vec<String>);

impl FormTargets {
    pub fn of(uri: Option<&ekdwar_domain::sso::RedirectUri>) -> Self {
        Self(uri.and_then(|u| u.csp_source()).into_iter().collect())
    }

    /// Adds these targets to a response.
    pub fn apply(self, mut resp: Response) -> Response {
        if !self.0.is_empty() {
            resp.extensions_mut().insert(self);
        }
        resp
    }
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'";

fn content_security_policy(targets: Option<&FormTargets>) -> HeaderValue {
    let mut csp = CSP.to_string();
    for t in targets.map(|t| t.0.as_slice()).unwrap_or_default() {
        // Only origins and schemes reach here (`RedirectUri::csp_source`); this keeps a stray
        // character from ever ending the directive.
        if !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'*')
        {
            csp.push(' ');
            csp.push_str(t);
        }
    }
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static(CSP))
}

/// The copy of the CSRF token a page carries: a fresh random mask, then the token XORed with
/// it. The bytes differ on every response, so a compressed page cannot reveal the token to
/// someone who measures response sizes (BREACH).
fn mask(app: &App, token: &str) -> String {
    let token = token.as_bytes();
    let mut m = vec![0u8; token.len()];
    app.random().fill(&mut m);
    let x: Vec<u8> = token.iter().zip(&m).map(|(t, m)| t ^ m).collect();
    format!("{}{}", hex::encode(m), hex::encode(x))
}

fn unmask(sent: &str) -> Option<Vec<u8>> {
    let half = sent.len() / 2;
    if !sent.len().is_multiple_of(2) || half > 256 || !sent.is_char_boundary(half) {
        return None;
    }
    let m = hex::decode(&sent[..half]).ok()?;
    let x = hex::decode(&sent[half..]).ok()?;
    Some(m.iter().zip(&x).map(|(m, x)| m ^ x).collect())
}

const HOST_PREFIX: &str = "__Host-";

/// Behind TLS, handlers read cookies by their plain names: the `__Host-` ones are renamed, and
/// any without the prefix (which a sibling subdomain or a plain-HTTP page could have set) are
/// dropped.
fn host_cookies_only(headers: &mut HeaderMap) {
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(HOST_PREFIX).map(str::to_string))
        .collect();
    headers.remove(header::COOKIE);
    if let Ok(v) = HeaderValue::from_str(&kept.join("; "))
        && !kept.is_empty()
    {
        headers.insert(header::COOKIE, v);
    }
}

/// The API router's layer: the security headers, and nothing of a browser's session.
pub async fn api(State(app): State<App>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    secure_headers(&app, resp.headers_mut(), None);
    resp
}

/// The CSRF token of a file upload: the form's `csrf` part, which comes before the file.
async fn multipart_csrf(content_type: HeaderValue, bytes: axum::body::Bytes) -> Option<String> {
    use axum::extract::FromRequest;
    let req = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .ok()?;
    let mut form = axum::extract::Multipart::from_request(req, &())
        .await
        .ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("csrf") {
            return field.text().await.ok();
        }
    }
    None
}

/// The `csrf` part of a multipart body, read from its head (at most [`MAX_FORM_BYTES`]), and
/// the whole body again, its head put back before the rest that was not read.
async fn multipart_head(content_type: HeaderValue, body: Body) -> (Option<String>, Body) {
    use futures_util::StreamExt;
    let mut rest = body.into_data_stream();
    let mut head = Vec::new();
    let mut sent = None;
    while head.len() <= MAX_FORM_BYTES {
        match rest.next().await {
            Some(Ok(b)) => head.extend_from_slice(&b),
            _ => break,
        }
        sent = multipart_csrf(content_type.clone(), axum::body::Bytes::from(head.clone())).await;
        if sent.is_some() {
            break;
        }
    }
    let first = futures_util::stream::once(std::future::ready(Ok::<_, axum::Error>(
        axum::body::Bytes::from(head),
    )));
    (sent, Body::from_stream(first.chain(rest)))
}

/// The pages router's layer: session, CSRF check, language, HTML error pages.
pub async fn context(State(app): State<App>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let secure = app.config().server.behind_tls_proxy;
    if secure {
        host_cookies_only(&mut parts.headers);
    }
    let jar = CookieJar::from_headers(&parts.headers);

    let (csrf_seed, new_seed) = match jar.get(CSRF_COOKIE).map(|c| c.value().to_string()) {
        Some(v) if v.len() >= 16 && v.len() <= 64 => (v, false),
        _ => (app.random().token(24), true),
    };
    let csrf_token = app.key().sign_b64(&[b"csrf", csrf_seed.as_bytes()]);
    let csrf = mask(&app, &csrf_token);

    let user = match jar.get(SESSION_COOKIE) {
        Some(c) => app
            .identity
            .authenticate(c.value())
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e.chain(), "session look-up failed");
                None
            }),
        None => None,
    };
    let chosen_lang = jar.get(LANG_COOKIE).and_then(|c| Lang::parse(c.value()));
    let lang = user
        .as_ref()
        .and_then(|s| s.account.language.as_deref())
        .and_then(Lang::parse)
        .or_else(|| chosen_lang.clone())
        .unwrap_or_else(|| {
            let accept = parts
                .headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Lang::negotiate(accept, app.default_lang())
        });
    let notice = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "notice")
            .map(|(_, v)| v.into_owned())
            .filter(|v| {
                v.starts_with("notice-")
                    && v.len() < 40
                    && v.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            })
    });
    let ctx = Ctx {
        phone_examples: app
            .identity
            .regions_for(Some(&lang))
            .examples()
            .iter()
            .map(|e| unbroken(e))
            .collect::<Vec<_>>()
            .join(", "),
        time_zone: app.time_zone().clone(),
        lang: lang.clone(),
        csrf: csrf.clone(),
        actor: Actor {
            user_id: user.as_ref().map(|s| s.user_id().to_string()),
            ip: client_ip(&app, &parts.headers, peer),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            lang: Some(lang),
            chosen_lang,
        },
        user,
        // The whole request, so that switching language comes back to the same page: the
        // consent page and `/login?next=…` are nothing without their query.
        path: match parts.uri.query() {
            Some(q) if parts.method == Method::GET && q.len() <= 4000 => {
                format!("{}?{q}", parts.uri.path())
            }
            _ => parts.uri.path().to_string(),
        },
        notice,
        secure,
    };

    // CSRF: every POST must come from our origin and carry the token bound to the cookie.
    let body = if parts.method == Method::POST {
        let multipart = parts
            .headers
            .get(header::CONTENT_TYPE)
            .filter(|ct| ct.as_bytes().starts_with(b"multipart/form-data"))
            .cloned();
        let (sent, body) = match multipart {
            // A file upload streams on to its handler: only its head, up to the `csrf` part
            // that comes first, is read here.
            Some(ct) => multipart_head(ct, body).await,
            None => {
                let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
                    return finish(
                        &ctx,
                        &app,
                        error_page(
                            &ctx,
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "error-title",
                            "err-too-large",
                            None,
                        ),
                        new_seed.then_some(csrf_seed),
                    );
                };
                let sent = form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.into_owned());
                (sent, Body::from(bytes))
            }
        };
        let ok = !new_seed
            && same_origin(&parts.headers)
            && sent
                .and_then(|s| unmask(&s))
                .is_some_and(|s| ekdwar_app::security::constant_time_eq(&s, csrf_token.as_bytes()));
        if !ok {
            tracing::warn!(path = %ctx.path, "CSRF check failed");
            return finish(
                &ctx,
                &app,
                error_page(&ctx, StatusCode::FORBIDDEN, "error-title", "err-csrf", None),
                new_seed.then_some(csrf_seed),
            );
        }
        body
    } else {
        body
    };

    // An expired password (when the policy sets an expiry) is changed before anything else,
    // on every request, not only right after login.
    if let Some(s) = &ctx.user
        && app.identity.session_password_expired(s, app.clock().now())
        && !["/account/password", "/logout", "/language"].contains(&parts.uri.path())
        && !parts.uri.path().starts_with("/static/")
    {
        return finish(
            &ctx,
            &app,
            Redirect::to("/account/password?notice=notice-password-expired").into_response(),
            new_seed.then_some(csrf_seed),
        );
    }
    // Administrators set up two-step login before anything else (ASVS 2.2.1 level 2): a session
    // that has not passed a second step can do nothing but that.
    if let Some(s) = &ctx.user
        && app.identity.must_set_up_two_step(s)
        && !parts.uri.path().starts_with("/account/two-step")
        && !parts.uri.path().starts_with("/account/passkeys")
        && !["/logout", "/language", "/password/strength"].contains(&parts.uri.path())
        && !parts.uri.path().starts_with("/static/")
    {
        return finish(
            &ctx,
            &app,
            Redirect::to("/account/two-step?notice=notice-two-step-required").into_response(),
            new_seed.then_some(csrf_seed),
        );
    }
    parts.extensions.insert(ctx.clone());
    let resp = next.run(Request::from_parts(parts, body)).await;
    let resp = match resp.extensions().get::<ErrorInfo>().cloned() {
        Some(info) => {
            if let Some(why) = info.unavailable {
                app.note_unavailable(why);
            }
            let (title, msg) = match info.code {
                "not-found" => ("error-not-found-title", "err-not-found"),
                "internal" => ("error-title", "err-internal"),
                "no-space" | "unavailable" => ("error-unavailable-title", info.code),
                code => ("error-title", code),
            };
            let key = if msg.starts_with("err-") {
                msg.to_string()
            } else {
                format!("err-{msg}")
            };
            error_page(&ctx, resp.status(), title, &key, info.correlation)
        }
        // What the framework answers by itself — a wrong method, a form it cannot read — comes
        // as an empty or plain-text body: the person gets the translated page instead. JSON
        // (the OAuth endpoints' errors) and pages pass through.
        None if resp.status().is_client_error() && !has_own_body(&resp) => {
            let key = match resp.status() {
                StatusCode::METHOD_NOT_ALLOWED => "err-method-not-allowed",
                StatusCode::PAYLOAD_TOO_LARGE => "err-too-large",
                StatusCode::NOT_FOUND => "err-not-found",
                _ => "err-bad-request",
            };
            let title = if resp.status() == StatusCode::NOT_FOUND {
                "error-not-found-title"
            } else {
                "error-title"
            };
            error_page(&ctx, resp.status(), title, key, None)
        }
        None => resp,
    };
    finish(&ctx, &app, resp, new_seed.then_some(csrf_seed))
}

/// A response that carries its own page or JSON, not a bare status or framework text.
fn has_own_body(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| !t.starts_with("text/plain"))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    title: &'a str,
    message: String,
    correlation: Option<String>,
}

pub fn error_page(
    c: &Ctx,
    status: StatusCode,
    title: &str,
    key: &str,
    correlation: Option<String>,
) -> Response {
    let page = ErrorPage {
        c,
        errors: Errors::default(),
        title,
        message: c.t(key),
        correlation,
    };
    (status, render(&page)).into_response()
}

fn finish(ctx: &Ctx, app: &App, mut resp: Response, new_csrf_seed: Option<String>) -> Response {
    let targets = resp.extensions().get::<FormTargets>().cloned();
    let h = resp.headers_mut();
    secure_headers(app, h, targets.as_ref());
    if let Some(seed) = new_csrf_seed
        && let Ok(v) = HeaderValue::from_str(&ctx.cookie(CSRF_COOKIE, seed, None).to_string())
    {
        h.append(header::SET_COOKIE, v);
    }
    resp
}

fn secure_headers(app: &App, h: &mut HeaderMap, targets: Option<&FormTargets>) {
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    // A handler's own policy stands (a person's file is served sandboxed).
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert("content-security-policy", content_security_policy(targets));
    }
    set(h, "x-content-type-options", "nosniff");
    set(h, "x-frame-options", "DENY");
    // Links in e-mails carry tokens: never send a URL to another site. Same-origin requests
    // keep their `Origin`, which the CSRF check needs (under `no-referrer` it is `null`).
    set(h, "referrer-policy", "same-origin");
    set(
        h,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    set(h, "cross-origin-opener-policy", "same-origin");
    if app.config().server.behind_tls_proxy {
        set(
            h,
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
}

/// Renders a template; a template failure is an internal error.
pub fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// `path` if it is a path on this site that a browser will read as one: it starts with a single
/// `/`, and has no backslash and no control character (browsers drop tabs and line breaks from
/// addresses, so `/\t/evil.example` would become `//evil.example`, another site; a line break
/// cannot go into a `Location` header at all).
pub fn local_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 4000
        && !path.chars().any(|c| c == '\\' || c.is_control());
    ok.then_some(path)
}

/// An application's id from an address; anything that cannot be one is "not found".
pub(crate) fn app_id(id: &str) -> Result<ApplicationId, WebError> {
    let ok = id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| ApplicationId::new(id))
        .ok_or(WebError(AppError::NotFound))
}
