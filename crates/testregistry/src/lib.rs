//! **A test double.** State registries (a pension fund, a migration service, UIDAI…) speaking
//! Ekdwar's registry connector protocol (`docs/registries.md`), so that profile checks can be
//! tried and tested end to end without any real registry. It answers from a file of demo
//! people (`registries/demo-people.toml`); nothing real is looked up and nothing is kept.
//!
//! The protocol, as the portal's adapter sees it: `POST /v1/checks` with a JSON body naming
//! the request, the item, the person and the number, signed `Ekdwar-Signature: t=<unix>,
//! v1=<hex HMAC-SHA256(secret, "<t>." + body)>`; the answer is signed the same way. The same
//! `request_id` asked again gets the same check's current answer.
//!
//! Switches (`POST /control/mode` with `mode=…`), for every registry at once:
//! `normal`; `slow` (answers after `slow_ms`, past the portal's timeout); `failing` (500);
//! `down` (503 for as long as it stays switched: "down for hours"); `pending` (every check
//! pending, to be asked again in a day: "pending for days"); `mismatch` (every check differs
//! in the date of birth); `forged` (answers signed with a wrong secret). A person in the file
//! with `review = true` is always sent to review.
//!
//! Aadhaar's OTP, as UIDAI would send it: `POST /v1/otp` (number and the mobile the person
//! says is linked) sends a code to a person's `mobile` of the file, `POST /v1/otp/verify`
//! judges it and answers with the person's record; `GET /control/otp?mobile=` shows the last
//! code a mobile received, standing in for the phone's screen.
//!
//! Under `/bank` the same process runs "Test Bank ID" (`bank`), an OpenID provider whose
//! customers are the same demo people, for becoming verified through a trusted provider.

mod bank;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use ekdwar_domain::payments::signing::{SIGNATURE_HEADER, sign, unix_now, verify};
use serde::Deserialize;
use serde_json::{Value, json};

/// A demo person as the registries know them.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoPerson {
    pub last_name: String,
    pub first_name: String,
    #[serde(default)]
    pub middle_name: Option<String>,
    pub birth_date: String,
    pub gender: String,
    /// Numbers by kind (`snils`, `aadhaar`, `vid`, `pan`, `jan_aadhaar`).
    #[serde(default)]
    pub ids: HashMap<String, String>,
    /// Documents by type (`ru_passport`…): series (if any) and number.
    #[serde(default)]
    pub documents: HashMap<String, DemoDocument>,
    /// Every check of this person goes to review.
    #[serde(default)]
    pub review: bool,
    /// The mobile linked to their Aadhaar (E.164), where UIDAI's one-time codes go.
    #[serde(default)]
    pub mobile: Option<String>,
}

/// A document of a demo person.
#[derive(Debug, Clone, Deserialize)]
pub struct DemoDocument {
    #[serde(default)]
    pub series: Option<String>,
    pub number: String,
}

/// The file of demo people.
#[derive(Debug, Clone, Deserialize)]
pub struct People {
    pub people: Vec<DemoPerson>,
}

impl People {
    /// Reads a file of demo people.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

/// How the test registry is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The shared secret requests and answers are signed with.
    pub secret: String,
    /// Who it knows.
    pub people: People,
    /// How long a `slow` answer takes.
    pub slow: Duration,
}

/// A one-time code sent to a linked mobile.
struct Otp {
    code: String,
    person: usize,
    sent: std::time::Instant,
    wrong: u32,
}

#[derive(Clone)]
struct Registry {
    options: Arc<Options>,
    mode: Arc<Mutex<String>>,
    /// Codes by transaction.
    otps: Arc<Mutex<HashMap<String, Otp>>>,
    /// The last code each mobile received: what its phone's screen shows.
    phones: Arc<Mutex<HashMap<String, String>>>,
}

/// How long a code is good for, and how many wrong ones end it.
const OTP_LIFETIME: Duration = Duration::from_secs(600);
const OTP_WRONG: u32 = 3;

/// The registry's routes, and the test bank's under `/bank`; `base` is the address they are
/// served at.
pub fn router(options: Options, base: &str) -> Router {
    let options = Arc::new(options);
    let r = Registry {
        options: options.clone(),
        mode: Arc::new(Mutex::new("normal".into())),
        otps: Arc::default(),
        phones: Arc::default(),
    };
    Router::new()
        .route("/v1/checks", post(check))
        .route("/v1/otp", post(send_otp))
        .route("/v1/otp/verify", post(verify_otp))
        .route("/control/mode", post(set_mode))
        .route("/control/otp", get(phone_screen))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(r)
        .nest("/bank", bank::router(options, base))
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, options: Options) -> std::io::Result<()> {
    let base = format!("http://{}", listener.local_addr()?);
    axum::serve(listener, router(options, &base)).await
}

#[derive(Deserialize)]
struct ModeForm {
    mode: String,
}

const MODES: &[&str] = &[
    "normal", "slow", "failing", "down", "pending", "mismatch", "forged",
];

async fn set_mode(State(r): State<Registry>, Form(f): Form<ModeForm>) -> Response {
    if !MODES.contains(&f.mode.as_str()) {
        return (StatusCode::BAD_REQUEST, "unknown mode").into_response();
    }
    *r.mode.lock().unwrap_or_else(|p| p.into_inner()) = f.mode;
    "ok".into_response()
}

fn same(a: &str, b: Option<&str>) -> bool {
    let norm = |s: &str| s.trim().to_lowercase();
    b.is_some_and(|b| norm(a) == norm(b))
}

/// What the file says of a request: `(status, fields, reason)`.
fn judge(people: &People, req: &Value) -> (&'static str, Vec<&'static str>) {
    let item = req["item"].as_str().unwrap_or_default();
    let kind = req["kind"].as_str().unwrap_or_default();
    let number = req["number"].as_str().unwrap_or_default();
    let found = people.people.iter().find(|p| {
        if item == "document" {
            p.documents.get(kind).is_some_and(|d| {
                d.number == number && d.series.as_deref() == req["series"].as_str()
            })
        } else {
            p.ids.get(kind).is_some_and(|n| n == number)
        }
    });
    let Some(p) = found else {
        return ("mismatch", vec!["number"]);
    };
    if p.review {
        return ("review", vec![]);
    }
    let person = &req["person"];
    let mut fields = Vec::new();
    if !same(&p.last_name, person["last_name"].as_str()) {
        fields.push("last_name");
    }
    if !same(&p.first_name, person["first_name"].as_str()) {
        fields.push("first_name");
    }
    if let Some(m) = &p.middle_name
        && !same(m, person["middle_name"].as_str())
    {
        fields.push("middle_name");
    }
    if !same(&p.birth_date, person["birth_date"].as_str()) {
        fields.push("birth_date");
    }
    if !same(&p.gender, person["gender"].as_str()) {
        fields.push("gender");
    }
    if fields.is_empty() {
        ("confirmed", fields)
    } else {
        ("mismatch", fields)
    }
}

/// The request's JSON if it is signed by the shared secret, and the switch in force; or the
/// answer that refuses it (a bad signature, or a `failing`, `down` or `slow` switch).
async fn admit(
    r: &Registry,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Value, String), Response> {
    let signed = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|h| verify(r.options.secret.as_bytes(), h, body, unix_now()).is_ok());
    if !signed {
        return Err((StatusCode::UNAUTHORIZED, "bad signature").into_response());
    }
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return Err((StatusCode::BAD_REQUEST, "bad request").into_response());
    };
    let mode = r.mode.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match mode.as_str() {
        "failing" => return Err((StatusCode::INTERNAL_SERVER_ERROR, "failing").into_response()),
        "down" => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                [("Retry-After", "3600")],
                "down for maintenance",
            )
                .into_response());
        }
        "slow" => tokio::time::sleep(r.options.slow).await,
        _ => {}
    }
    Ok((req, mode))
}

/// `answer`, signed (with a wrong secret under the `forged` switch).
fn signed(r: &Registry, mode: &str, answer: &Value) -> Response {
    let out = answer.to_string();
    let key = if mode == "forged" {
        b"not the shared secret".as_slice()
    } else {
        r.options.secret.as_bytes()
    };
    let signature = sign(key, unix_now(), out.as_bytes());
    (
        [
            ("Content-Type", "application/json".to_string()),
            (SIGNATURE_HEADER, signature),
        ],
        out,
    )
        .into_response()
}

async fn check(State(r): State<Registry>, headers: HeaderMap, body: Bytes) -> Response {
    let (req, mode) = match admit(&r, &headers, &body).await {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let request_id = req["request_id"].as_str().unwrap_or_default();
    let answer = match mode.as_str() {
        "pending" => {
            json!({ "request_id": request_id, "status": "pending", "retry_after": 86_400 })
        }
        "mismatch" => {
            json!({ "request_id": request_id, "status": "mismatch", "fields": ["birth_date"] })
        }
        _ => {
            let (status, fields) = judge(&r.options.people, &req);
            json!({ "request_id": request_id, "status": status, "fields": fields, "reason": "registry" })
        }
    };
    signed(&r, &mode, &answer)
}

fn random_digits(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the system has randomness");
    bytes.iter().map(|b| char::from(b'0' + b % 10)).collect()
}

/// UIDAI's OTP: sent to the mobile linked to the number, only if the mobile given is that one
/// (an unknown number gets the same `not-linked`).
async fn send_otp(State(r): State<Registry>, headers: HeaderMap, body: Bytes) -> Response {
    let (req, mode) = match admit(&r, &headers, &body).await {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let request_id = req["request_id"].as_str().unwrap_or_default();
    let kind = req["kind"].as_str().unwrap_or_default();
    let number = req["number"].as_str().unwrap_or_default();
    let mobile = req["mobile"].as_str().unwrap_or_default();
    let found = r.options.people.people.iter().position(|p| {
        p.ids.get(kind).is_some_and(|n| n == number) && p.mobile.as_deref() == Some(mobile)
    });
    let answer = match found {
        Some(person) => {
            let txn = format!("txn-{}", random_digits(16));
            let code = random_digits(6);
            r.otps.lock().unwrap_or_else(|p| p.into_inner()).insert(
                txn.clone(),
                Otp {
                    code: code.clone(),
                    person,
                    sent: std::time::Instant::now(),
                    wrong: 0,
                },
            );
            r.phones
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(mobile.to_string(), code);
            json!({ "request_id": request_id, "status": "sent", "txn": txn })
        }
        None => json!({ "request_id": request_id, "status": "not-linked" }),
    };
    signed(&r, &mode, &answer)
}

/// Judges a typed code; a right one answers with the person's record (e-KYC).
async fn verify_otp(State(r): State<Registry>, headers: HeaderMap, body: Bytes) -> Response {
    let (req, mode) = match admit(&r, &headers, &body).await {
        Ok(admitted) => admitted,
        Err(refused) => return refused,
    };
    let request_id = req["request_id"].as_str().unwrap_or_default();
    let txn = req["txn"].as_str().unwrap_or_default();
    let typed = req["otp"].as_str().unwrap_or_default();
    let mut otps = r.otps.lock().unwrap_or_else(|p| p.into_inner());
    let status = match otps.get_mut(txn) {
        Some(o) if o.sent.elapsed() > OTP_LIFETIME || o.wrong >= OTP_WRONG => "expired",
        Some(o) if o.code != typed => {
            o.wrong += 1;
            if o.wrong >= OTP_WRONG {
                "expired"
            } else {
                "wrong"
            }
        }
        Some(_) => "verified",
        None => "expired",
    };
    let answer = if status == "verified" {
        let o = otps.remove(txn).expect("just found");
        let p = &r.options.people.people[o.person];
        json!({
            "request_id": request_id, "status": "verified",
            "person": {
                "last_name": p.last_name, "first_name": p.first_name,
                "middle_name": p.middle_name, "birth_date": p.birth_date, "gender": p.gender,
            },
        })
    } else {
        json!({ "request_id": request_id, "status": status })
    };
    drop(otps);
    signed(&r, &mode, &answer)
}

#[derive(Deserialize)]
struct PhoneQuery {
    mobile: String,
}

/// What the linked mobile's screen shows: the last code it received (for tests and the demo;
/// a real registry has no such page).
async fn phone_screen(
    State(r): State<Registry>,
    axum::extract::Query(q): axum::extract::Query<PhoneQuery>,
) -> Response {
    match r
        .phones
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&q.mobile)
    {
        Some(code) => code.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "no code sent to this mobile").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_people_read_and_are_judged_field_by_field() {
        let people = People::parse(include_str!("../../../registries/demo-people.toml")).unwrap();
        let anna = json!({
            "item": "snils", "kind": "snils", "number": "11223344595",
            "person": {"last_name": "Смирнова", "first_name": "Анна", "middle_name": "Сергеевна",
                       "birth_date": "1990-03-15", "gender": "female"}
        });
        assert_eq!(judge(&people, &anna), ("confirmed", vec![]));
        let mut wrong = anna.clone();
        wrong["person"]["birth_date"] = json!("1990-03-16");
        assert_eq!(judge(&people, &wrong), ("mismatch", vec!["birth_date"]));
        wrong["number"] = json!("00000000000");
        assert_eq!(judge(&people, &wrong), ("mismatch", vec!["number"]));
    }
}
