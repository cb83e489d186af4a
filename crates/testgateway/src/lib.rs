//! **A test double.** A payment gateway that speaks Ekdwar's gateway protocol
//! (`docs/payments.md`) so that the portal's payment flow can be tried and tested end to end
//! without a bank. No money moves; everything is kept in memory and lost when it stops.
//!
//! The protocol, as a real adapter would see it:
//! - `POST /v1/payments` with `Authorization: Bearer <key>` and an `Idempotency-Key` creates a
//!   payment (the same key returns the same payment) and answers `next_url`, the hosted page.
//! - The hosted page `/pay/{id}` lets a person succeed, fail, cancel or leave the payment
//!   pending, then sends the browser to the merchant's `return_url` with `?payment={id}`.
//! - The outcome is notified to `notify_url` by a signed server-to-server `POST`
//!   (`Ekdwar-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>`).
//! - `GET /v1/payments/{id}` answers the payment's status; `POST /v1/payments/{id}/refunds`
//!   refunds it.
//!
//! Fault switches, chosen per payment on the hosted page (or in the form a test posts):
//! the notification dropped, sent twice, delayed (held until `POST /control/payments/{id}/deliver`),
//! signed wrongly, claiming a different amount, or arriving before the browser returns. A
//! pending payment is decided later by `POST /control/payments/{id}/settle`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use ekdwar_domain::payments::signing::{SIGNATURE_HEADER, sign, unix_now};
use ekdwar_domain::payments::{Currency, Money};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// How the test gateway is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The merchant's API key (`Authorization: Bearer …`).
    pub api_key: String,
    /// The secret notifications are signed with.
    pub secret: String,
    /// Where browsers reach this gateway (`http://127.0.0.1:8090`).
    pub public_url: String,
    /// How long a delayed notification waits if nobody releases it.
    pub delay: Duration,
}

/// A payment's state, as the protocol spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Made, not yet paid.
    Created,
    /// The bank has not answered.
    Pending,
    /// Paid.
    Succeeded,
    /// Refused.
    Failed,
    /// Abandoned by the payer.
    Cancelled,
}

impl Status {
    fn finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What a merchant asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// The merchant's own reference.
    pub reference: String,
    /// What is paid for.
    pub description: String,
    /// `upi`, `card` or `netbanking`.
    pub channel: String,
    /// The payer's language.
    #[serde(default)]
    pub language: Option<String>,
    /// Where the browser goes back.
    pub return_url: String,
    /// Where notifications go.
    pub notify_url: String,
}

#[derive(Debug, Clone)]
struct Payment {
    id: String,
    req: CreatePayment,
    status: Status,
    refunds: Vec<(String, i64)>,
    /// A notification held back by the `delay` fault.
    held: Option<String>,
}

impl Payment {
    fn json(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "status": self.status,
            "amount": self.req.amount,
            "currency": self.req.currency,
            "reference": self.req.reference,
            "refunded": self.refunds.iter().map(|r| r.1).sum::<i64>(),
        })
    }
}

#[derive(Default)]
struct Books {
    payments: HashMap<String, Payment>,
    /// Idempotency keys of creations and refunds: key → the answer given.
    answered: HashMap<String, serde_json::Value>,
}

#[derive(Clone)]
struct Gateway {
    options: Arc<Options>,
    books: Arc<Mutex<Books>>,
    http: reqwest::Client,
}

fn new_id(prefix: &str) -> String {
    let mut b = [0u8; 8];
    // Without randomness the test double cannot work at all.
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("no randomness: {e}"));
    format!("{prefix}_{}", hex::encode(b))
}

/// The gateway's routes.
pub fn router(options: Options) -> Router {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let gw = Gateway {
        options: Arc::new(options),
        books: Arc::default(),
        http,
    };
    Router::new()
        .route("/v1/payments", post(create))
        .route("/v1/payments/{id}", get(status))
        .route("/v1/payments/{id}/refunds", post(refund))
        .route("/pay/{id}", get(page).post(decide))
        .route("/control/payments/{id}/settle", post(settle))
        .route("/control/payments/{id}/deliver", post(deliver))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(gw)
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, options: Options) -> std::io::Result<()> {
    axum::serve(listener, router(options)).await
}

fn authorised(gw: &Gateway, headers: &HeaderMap) -> bool {
    let want = format!("Bearer {}", gw.options.api_key);
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| ekdwar_domain::payments::signing::same(v, &want))
}

fn problem(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({ "error": code }))).into_response()
}

async fn create(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    Json(req): Json<CreatePayment>,
) -> Response {
    if !authorised(&gw, &headers) {
        return problem(StatusCode::UNAUTHORIZED, "unauthorised");
    }
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return problem(StatusCode::BAD_REQUEST, "idempotency_key_required");
    };
    if req.amount <= 0
        || Currency::parse(&req.currency).is_err()
        || !matches!(req.channel.as_str(), "upi" | "card" | "netbanking")
    {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request");
    }
    let mut books = gw.books.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(answer) = books.answered.get(&format!("create:{key}")) {
        return (StatusCode::OK, Json(answer.clone())).into_response();
    }
    let id = new_id("pay");
    let payment = Payment {
        id: id.clone(),
        req,
        status: Status::Created,
        refunds: Vec::new(),
        held: None,
    };
    let mut answer = payment.json();
    answer["next_url"] = json!(format!("{}/pay/{id}", gw.options.public_url));
    books
        .answered
        .insert(format!("create:{key}"), answer.clone());
    books.payments.insert(id, payment);
    (StatusCode::CREATED, Json(answer)).into_response()
}

async fn status(State(gw): State<Gateway>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !authorised(&gw, &headers) {
        return problem(StatusCode::UNAUTHORIZED, "unauthorised");
    }
    let books = gw.books.lock().unwrap_or_else(|p| p.into_inner());
    match books.payments.get(&id) {
        Some(p) => Json(p.json()).into_response(),
        None => problem(StatusCode::NOT_FOUND, "no_such_payment"),
    }
}

#[derive(Deserialize)]
struct RefundRequest {
    amount: i64,
}

async fn refund(
    State(gw): State<Gateway>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(req): Json<RefundRequest>,
) -> Response {
    if !authorised(&gw, &headers) {
        return problem(StatusCode::UNAUTHORIZED, "unauthorised");
    }
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) else {
        return problem(StatusCode::BAD_REQUEST, "idempotency_key_required");
    };
    let mut books = gw.books.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(answer) = books.answered.get(&format!("refund:{key}")) {
        return (StatusCode::OK, Json(answer.clone())).into_response();
    }
    let Some(p) = books.payments.get_mut(&id) else {
        return problem(StatusCode::NOT_FOUND, "no_such_payment");
    };
    let refunded: i64 = p.refunds.iter().map(|r| r.1).sum();
    if p.status != Status::Succeeded || req.amount <= 0 || refunded + req.amount > p.req.amount {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "refund_not_possible");
    }
    let rid = new_id("ref");
    p.refunds.push((rid.clone(), req.amount));
    let answer =
        json!({ "id": rid, "payment_id": id, "amount": req.amount, "status": "succeeded" });
    books
        .answered
        .insert(format!("refund:{key}"), answer.clone());
    (StatusCode::CREATED, Json(answer)).into_response()
}

#[derive(Template)]
#[template(path = "pay.html")]
struct PayPage {
    id: String,
    reference: String,
    description: String,
    amount: String,
    channel: &'static str,
    /// For UPI: the `upi://pay` link a UPI app opens (also what the QR code would carry).
    upi: Option<String>,
    finished: bool,
    status: &'static str,
    back: String,
}

/// The UPI deep link of a payment (NPCI's `upi://pay`: payee address, name, amount in
/// rupees, the transaction reference), as a gateway shows it as a QR code and a button.
fn upi_link(p: &Payment) -> String {
    let rupees = format!("{}.{:02}", p.req.amount / 100, p.req.amount % 100);
    format!(
        "upi://pay?pa=ekdwar@testbank&pn=Ekdwar%20test&am={rupees}&cu={}&tr={}",
        p.req.currency, p.id
    )
}

fn return_url(p: &Payment) -> String {
    let sep = if p.req.return_url.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}payment={}", p.req.return_url, p.id)
}

async fn page(State(gw): State<Gateway>, Path(id): Path<String>) -> Response {
    let books = gw.books.lock().unwrap_or_else(|p| p.into_inner());
    let Some(p) = books.payments.get(&id) else {
        return (StatusCode::NOT_FOUND, "no such payment").into_response();
    };
    let amount = Currency::parse(&p.req.currency)
        .ok()
        .and_then(|c| Money::new(p.req.amount, c).ok())
        .map(|m| m.display("en"))
        .unwrap_or_default();
    let page = PayPage {
        id: p.id.clone(),
        reference: p.req.reference.clone(),
        description: p.req.description.clone(),
        amount,
        channel: match p.req.channel.as_str() {
            "card" => "Debit or credit card",
            "upi" => "UPI",
            _ => "Net banking",
        },
        upi: (p.req.channel == "upi").then(|| upi_link(p)),
        finished: p.status.finished(),
        status: p.status.as_str(),
        back: return_url(p),
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// How the notification of one outcome misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Sent once, after the browser is sent back.
    #[default]
    None,
    /// Sent, and answered, before the browser is sent back.
    BeforeReturn,
    /// Never sent.
    Drop,
    /// Sent twice (the same event).
    Twice,
    /// Held until released (or until the delay passes).
    Delay,
    /// Signed with the wrong secret.
    BadSignature,
    /// Claims another amount than the payment's.
    WrongAmount,
}

#[derive(Deserialize)]
struct Decision {
    outcome: Status,
    #[serde(default)]
    fault: Fault,
}

/// The signed notification of `p`'s present state: (body, signature header).
fn notification(gw: &Gateway, p: &Payment, fault: Fault) -> (String, String) {
    let mut payment = p.json();
    if fault == Fault::WrongAmount {
        payment["amount"] = json!(p.req.amount + 100);
    }
    let body = json!({
        "event_id": new_id("evt"),
        "type": "payment.updated",
        "created": unix_now(),
        "payment": payment,
    })
    .to_string();
    let secret = if fault == Fault::BadSignature {
        format!("{}-wrong", gw.options.secret)
    } else {
        gw.options.secret.clone()
    };
    let header = sign(secret.as_bytes(), unix_now(), body.as_bytes());
    (body, header)
}

/// Posts a notification; a real gateway retries until it is acknowledged, a few times.
async fn send(gw: &Gateway, url: &str, body: &str, header: &str) {
    for wait in [0u64, 200, 1000] {
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let sent = gw
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, header)
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => return,
            // The merchant refused it (a bad signature, a wrong amount): retrying the same
            // body cannot help.
            Ok(r) if r.status().is_client_error() => return,
            _ => {}
        }
    }
}

async fn decide(
    State(gw): State<Gateway>,
    Path(id): Path<String>,
    Form(d): Form<Decision>,
) -> Response {
    let (url, body, header, back) = {
        let mut books = gw.books.lock().unwrap_or_else(|p| p.into_inner());
        let Some(p) = books.payments.get_mut(&id) else {
            return (StatusCode::NOT_FOUND, "no such payment").into_response();
        };
        if p.status.finished() || d.outcome == Status::Created {
            return Redirect::to(&return_url(p)).into_response();
        }
        p.status = d.outcome;
        let (body, header) = notification(&gw, p, d.fault);
        if d.fault == Fault::Delay {
            p.held = Some(body.clone());
        }
        (p.req.notify_url.clone(), body, header, return_url(p))
    };
    match d.fault {
        Fault::Drop => {}
        Fault::BeforeReturn => send(&gw, &url, &body, &header).await,
        Fault::Delay => {
            let gw = gw.clone();
            tokio::spawn(async move {
                tokio::time::sleep(gw.options.delay).await;
                release(&gw, &id).await;
            });
        }
        Fault::Twice => {
            let gw = gw.clone();
            tokio::spawn(async move {
                send(&gw, &url, &body, &header).await;
                send(&gw, &url, &body, &header).await;
            });
        }
        Fault::None | Fault::BadSignature | Fault::WrongAmount => {
            let gw = gw.clone();
            tokio::spawn(async move { send(&gw, &url, &body, &header).await });
        }
    }
    Redirect::to(&back).into_response()
}

/// Sends a held notification, if one is held.
async fn release(gw: &Gateway, id: &str) -> bool {
    let held = {
        let mut books = gw.books.lock().unwrap_or_else(|p| p.into_inner());
        books
            .payments
            .get_mut(id)
            .and_then(|p| p.held.take().map(|b| (p.req.notify_url.clone(), b)))
    };
    let Some((url, body)) = held else {
        return false;
    };
    // Signed now: a held notification is sent as a fresh delivery of the same event.
    let header = sign(gw.options.secret.as_bytes(), unix_now(), body.as_bytes());
    send(gw, &url, &body, &header).await;
    true
}

async fn deliver(State(gw): State<Gateway>, Path(id): Path<String>) -> Response {
    if release(&gw, &id).await {
        StatusCode::NO_CONTENT.into_response()
    } else {
        problem(StatusCode::NOT_FOUND, "nothing_held")
    }
}

/// The bank decides a pending payment.
async fn settle(
    State(gw): State<Gateway>,
    Path(id): Path<String>,
    Form(d): Form<Decision>,
) -> Response {
    let (url, body, header) = {
        let mut books = gw.books.lock().unwrap_or_else(|p| p.into_inner());
        let Some(p) = books.payments.get_mut(&id) else {
            return problem(StatusCode::NOT_FOUND, "no_such_payment");
        };
        if p.status.finished() {
            return problem(StatusCode::CONFLICT, "already_finished");
        }
        p.status = d.outcome;
        let (body, header) = notification(&gw, p, d.fault);
        (p.req.notify_url.clone(), body, header)
    };
    if d.fault != Fault::Drop {
        send(&gw, &url, &body, &header).await;
    }
    StatusCode::NO_CONTENT.into_response()
}
