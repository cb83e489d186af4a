//! **A test double.** An issuing agency (an education board) speaking the DigiLocker-style
//! Pull URI protocol the locker uses (`docs/locker.md`), so that "get my class XII marksheet"
//! can be tried and tested end to end without any real issuer. It answers from a file of demo
//! records (`locker/demo-records.toml`); nothing real is looked up and nothing is kept.
//!
//! `POST /pull-uri` takes a `<PullURIRequest>` whose raw body carries `x-digilocker-hmac`
//! (Base64 HMAC-SHA256 under the shared API key); a record matches by document type, roll
//! number (`UDF1`), name and date of birth. The answer is a `<PullURIResponse>` (status 1 with
//! the URI, the PDF and its ES256 signature; 0 when nothing matches; 9 pending), its body
//! signed the same way.
//!
//! Switches (`POST /control/mode`, body `mode=…`): `normal`; `pending` (status 9);
//! `unresponsive` (answers after a minute, past the locker's timeout); `bad-hmac` (answers
//! signed with a wrong key); `stale-ts` (answers dated two hours ago); `name-mismatch` (the
//! record is answered under another name). `GET /public-key` gives the PEM of the key its
//! documents are signed with, for the portal's configuration.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use sha2::Sha256;

/// A demo document.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub doc_type: String,
    pub roll_number: String,
    pub name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub doc_id: String,
    pub title: String,
    /// The lines printed on it.
    pub lines: Vec<String>,
}

/// The file of demo records.
#[derive(Debug, Clone, Deserialize)]
pub struct Records {
    pub records: Vec<Record>,
}

impl Records {
    /// Reads a file of demo records.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// How the test issuer is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Its issuer id (`in.gov.cbse`).
    pub issuer_id: String,
    /// The API key requests and answers are signed with.
    pub api_key: String,
    /// 32 bytes from which its document-signing key is made.
    pub signing_seed: [u8; 32],
    pub records: Records,
}

#[derive(Clone)]
struct Issuer {
    options: Arc<Options>,
    key: p256::ecdsa::SigningKey,
    mode: Arc<Mutex<String>>,
}

const MODES: &[&str] = &[
    "normal",
    "pending",
    "unresponsive",
    "bad-hmac",
    "stale-ts",
    "name-mismatch",
];

/// The signing key made from `seed`.
#[must_use]
pub fn signing_key(seed: &[u8; 32]) -> p256::ecdsa::SigningKey {
    let mut s = *seed;
    loop {
        if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&s) {
            return k;
        }
        s[0] = s[0].wrapping_add(1);
    }
}

/// The PEM of the public key documents made with `seed` verify under.
#[must_use]
pub fn public_key_pem(seed: &[u8; 32]) -> String {
    use p256::pkcs8::EncodePublicKey;
    signing_key(seed)
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap_or_default()
}

pub fn router(options: Options) -> Router {
    let key = signing_key(&options.signing_seed);
    let i = Issuer {
        options: Arc::new(options),
        key,
        mode: Arc::new(Mutex::new("normal".into())),
    };
    Router::new()
        .route("/pull-uri", post(pull_uri))
        .route("/control/mode", post(set_mode))
        .route("/public-key", get(public_key))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(i)
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, options: Options) -> std::io::Result<()> {
    axum::serve(listener, router(options)).await
}

async fn public_key(State(i): State<Issuer>) -> String {
    use p256::pkcs8::EncodePublicKey;
    i.key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap_or_default()
}

async fn set_mode(State(i): State<Issuer>, body: String) -> Response {
    let mode = body
        .strip_prefix("mode=")
        .unwrap_or(&body)
        .trim()
        .to_string();
    if !MODES.contains(&mode.as_str()) {
        return (StatusCode::BAD_REQUEST, "unknown mode").into_response();
    }
    *i.mode.lock().unwrap_or_else(|p| p.into_inner()) = mode;
    "ok".into_response()
}

/// Base64 HMAC-SHA256 of `body` under `key`.
#[must_use]
pub fn hmac(key: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// A one-page PDF printing `lines` (ASCII).
#[must_use]
pub fn pdf(lines: &[String]) -> Vec<u8> {
    let mut text = String::from("BT /F1 14 Tf 72 770 Td");
    for (n, l) in lines.iter().enumerate() {
        let l: String = l
            .chars()
            .filter(char::is_ascii)
            .collect::<String>()
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        if n > 0 {
            text.push_str(" 0 -24 Td");
        }
        text.push_str(&format!(" ({l}) Tj"));
    }
    text.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (n, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", n + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// `DD-MM-YYYY` as `YYYY-MM-DD`.
fn iso_date(dob: &str) -> Option<String> {
    let p: Vec<&str> = dob.split('-').collect();
    (p.len() == 3 && p[2].len() == 4).then(|| format!("{}-{}-{}", p[2], p[1], p[0]))
}

fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

async fn pull_uri(State(i): State<Issuer>, headers: HeaderMap, body: Bytes) -> Response {
    let sent = headers
        .get("x-digilocker-hmac")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if sent != hmac(&i.options.api_key, &body) {
        return (StatusCode::UNAUTHORIZED, "invalid hmac").into_response();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "not UTF-8").into_response();
    };
    let Ok(doc) = roxmltree::Document::parse(text) else {
        return (StatusCode::BAD_REQUEST, "not XML").into_response();
    };
    let root = doc.root_element();
    let txn = root.attribute("txn").unwrap_or("").to_string();
    let field = |name: &str| {
        root.descendants()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let (doc_type, locker_id, name, dob, roll) = (
        field("DocType"),
        field("DigiLockerId"),
        field("FullName"),
        field("DOB"),
        field("UDF1"),
    );
    let mode = i.mode.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if mode == "unresponsive" {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let found = i.options.records.records.iter().find(|r| {
        r.doc_type == doc_type
            && r.roll_number == roll
            && same_name(&r.name, &name)
            && iso_date(&dob).as_deref() == Some(r.birth_date.as_str())
    });
    let ts = if mode == "stale-ts" {
        unix_now() - 7200
    } else {
        unix_now()
    };
    let status = match (found, mode.as_str()) {
        (_, "pending") => 9,
        (Some(_), _) => 1,
        (None, _) => 0,
    };
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PullURIResponse>\
         <ResponseStatus Status=\"{status}\" ts=\"{ts}\" txn=\"{}\"/><DocDetails>\
         <DocType>{}</DocType><DigiLockerId>{}</DigiLockerId>",
        escape(&txn),
        escape(&doc_type),
        escape(&locker_id)
    );
    if let (Some(r), 1) = (found, status) {
        use p256::ecdsa::signature::Signer;
        let bytes = pdf(&r.lines);
        let sig: p256::ecdsa::Signature = i.key.sign(&bytes);
        let shown_name = if mode == "name-mismatch" {
            "Someone Else"
        } else {
            r.name.as_str()
        };
        xml.push_str(&format!(
            "<FullName>{}</FullName><DOB>{}</DOB><UDF1>{}</UDF1>\
             <URI>{}-{}-{}</URI><Description>{}</Description>\
             <DocContent>{}</DocContent><DocSignature>{}</DocSignature>",
            escape(shown_name),
            escape(&dob),
            escape(&roll),
            escape(&i.options.issuer_id),
            escape(&r.doc_type),
            escape(&r.doc_id),
            escape(&r.title),
            STANDARD.encode(&bytes),
            STANDARD.encode(sig.to_der().as_bytes()),
        ));
    }
    xml.push_str("</DocDetails></PullURIResponse>\n");
    let key = if mode == "bad-hmac" {
        "not-the-key"
    } else {
        i.options.api_key.as_str()
    };
    (
        [
            (header::CONTENT_TYPE, "application/xml".to_string()),
            (
                header::HeaderName::from_static("x-digilocker-hmac"),
                hmac(key, xml.as_bytes()),
            ),
        ],
        xml,
    )
        .into_response()
}
