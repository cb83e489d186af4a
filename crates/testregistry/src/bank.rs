//! **A test double.** "Test Bank ID": an OpenID provider under `/bank`, standing in for an
//! online bank's identity service that a deployment trusts for the verified level. Its
//! customers are the demo people of the registries' file: its login page lists them, and
//! choosing one logs in as them (no password: nobody real is behind it). It speaks the
//! authorization-code flow with PKCE (discovery, `authorize`, `token` with HTTP Basic client
//! authentication, `userinfo`, `jwks`), signs ID tokens with ES256 under a key made at start,
//! and keeps codes and tokens in memory only.
//!
//! Its client is any `client_id` whose password (the Basic secret) is the registries' shared
//! secret; any redirect address is accepted at `authorize` and must come again, the same, at
//! `token` — a real provider registers them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use p256::ecdsa::signature::Signer;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{DemoPerson, Options};

const LIFETIME: Duration = Duration::from_secs(300);

/// What an issued code stands for.
struct Grant {
    person: usize,
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: Option<String>,
    issued: Instant,
}

#[derive(Clone)]
struct Bank {
    options: Arc<Options>,
    issuer: String,
    key: Arc<p256::ecdsa::SigningKey>,
    codes: Arc<Mutex<HashMap<String, Grant>>>,
    tokens: Arc<Mutex<HashMap<String, (usize, Instant)>>>,
}

fn random(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the system has randomness");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bank's routes, to be nested under `/bank` of the registries' address `base`.
pub(crate) fn router(options: Arc<Options>, base: &str) -> Router {
    let key = loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the system has randomness");
        if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&bytes) {
            break k;
        }
    };
    let bank = Bank {
        options,
        issuer: format!("{}/bank", base.trim_end_matches('/')),
        key: Arc::new(key),
        codes: Arc::default(),
        tokens: Arc::default(),
    };
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/authorize", get(login_page).post(choose))
        .route("/token", axum::routing::post(token))
        .route("/userinfo", get(userinfo))
        .route("/jwks", get(jwks))
        .with_state(bank)
}

async fn discovery(State(b): State<Bank>) -> Json<Value> {
    let i = &b.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": ["openid", "profile", "national_id"],
        "claims_supported": ["sub", "given_name", "family_name", "middle_name", "birthdate",
                             "gender", "snils", "aadhaar"],
    }))
}

async fn jwks(State(b): State<Bank>) -> Json<Value> {
    let point = b.key.verifying_key().to_sec1_point(false);
    let raw = point.as_bytes();
    Json(json!({ "keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "test-bank-1",
        "x": URL_SAFE_NO_PAD.encode(&raw[1..33]), "y": URL_SAFE_NO_PAD.encode(&raw[33..65]),
    }]}))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn full_name(p: &DemoPerson) -> String {
    [
        Some(p.first_name.as_str()),
        p.middle_name.as_deref(),
        Some(&p.last_name),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

/// The bank's login page: one button per demo customer.
async fn login_page(State(b): State<Bank>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.response_type != "code" || q.client_id.is_empty() || q.redirect_uri.is_empty() {
        return (StatusCode::BAD_REQUEST, "invalid_request").into_response();
    }
    let hidden: String = [
        ("client_id", Some(&q.client_id)),
        ("redirect_uri", Some(&q.redirect_uri)),
        ("state", Some(&q.state)),
        ("nonce", q.nonce.as_ref()),
        ("code_challenge", q.code_challenge.as_ref()),
        ("code_challenge_method", q.code_challenge_method.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .map(|(k, v)| format!(r#"<input type="hidden" name="{k}" value="{}">"#, escape(v)))
    .collect();
    let people: String = b
        .options
        .people
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                r#"<li><button name="person" value="{i}">{}</button></li>"#,
                escape(&full_name(p))
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Test Bank ID</title></head>
<body><main><h1>Test Bank ID</h1><p><strong>A test double.</strong> No real bank is asked. Choose the customer to log in as.</p>
<form method="post" action="{}/authorize">{hidden}<ul>{people}</ul></form></main></body></html>"#,
        b.issuer
    ))
    .into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ChooseForm {
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    person: usize,
}

async fn choose(State(b): State<Bank>, Form(f): Form<ChooseForm>) -> Response {
    if f.person >= b.options.people.people.len()
        || f.code_challenge_method
            .as_deref()
            .is_some_and(|m| m != "S256")
    {
        return (StatusCode::BAD_REQUEST, "invalid_request").into_response();
    }
    let Ok(mut back) = url::Url::parse(&f.redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "invalid_request").into_response();
    };
    let code = random(24);
    b.codes.lock().unwrap_or_else(|p| p.into_inner()).insert(
        code.clone(),
        Grant {
            person: f.person,
            client_id: f.client_id,
            redirect_uri: f.redirect_uri.clone(),
            nonce: f.nonce,
            challenge: f.code_challenge,
            issued: Instant::now(),
        },
    );
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &f.state);
    Redirect::to(back.as_str()).into_response()
}

/// The claims the bank holds of a customer (OpenID Connect's standard claims, and the
/// national identifiers of the `national_id` scope).
fn claims_of(i: usize, p: &DemoPerson) -> Value {
    let mut c = json!({
        "sub": format!("bank-customer-{i}"),
        "given_name": p.first_name,
        "family_name": p.last_name,
        "birthdate": p.birth_date,
        "gender": p.gender,
    });
    if let Some(m) = &p.middle_name {
        c["middle_name"] = json!(m);
    }
    for kind in ["snils", "aadhaar"] {
        if let Some(n) = p.ids.get(kind) {
            c[kind] = json!(n);
        }
    }
    c
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// The client's id, if HTTP Basic carries it with the shared secret.
fn client(headers: &HeaderMap, secret: &str) -> Option<String> {
    let basic = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let pair = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
    let (id, password) = pair.split_once(':')?;
    let id = urlencoding_decode(id);
    (urlencoding_decode(password) == secret).then_some(id)
}

/// Basic's parts are form-encoded by OAuth clients (RFC 6749 §2.3.1).
fn urlencoding_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

async fn token(State(b): State<Bank>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Response {
    let Some(client_id) = client(&headers, &b.options.secret) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if f.grant_type != "authorization_code" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let grant = b
        .codes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&f.code);
    let Some(g) = grant.filter(|g| {
        g.issued.elapsed() < LIFETIME
            && g.client_id == client_id
            && g.redirect_uri == f.redirect_uri
    }) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let pkce_ok = match (&g.challenge, &f.code_verifier) {
        (Some(c), Some(v)) => &URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == c,
        (None, None) => true,
        _ => false,
    };
    if !pkce_ok {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let person = &b.options.people.people[g.person];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut claims = claims_of(g.person, person);
    claims["iss"] = json!(b.issuer);
    claims["aud"] = json!(client_id);
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + LIFETIME.as_secs());
    if let Some(n) = g.nonce {
        claims["nonce"] = json!(n);
    }
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": "test-bank-1" });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature: p256::ecdsa::Signature = b.key.sign(input.as_bytes());
    let id_token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    let access = random(24);
    b.tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(access.clone(), (g.person, Instant::now()));
    Json(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": LIFETIME.as_secs(),
        "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(b): State<Bank>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let found = b
        .tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(bearer)
        .filter(|(_, at)| at.elapsed() < LIFETIME)
        .map(|(i, _)| *i);
    match found {
        Some(i) => Json(claims_of(i, &b.options.people.people[i])).into_response(),
        None => oauth_error(StatusCode::UNAUTHORIZED, "invalid_token"),
    }
}
