//! Paying fees: the payment page of an application (what is owed, how to pay, where it
//! stands), the start of a payment (to the gateway, or a challan), the browser's return from
//! the gateway, the challan and the receipts as PDFs, the payment history, and the gateways'
//! notifications (an API route: no session, no CSRF, a signature instead).

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ekdwar_app::App;
use ekdwar_app::applications::Loaded;
use ekdwar_app::error::AppError;
use ekdwar_app::payments::{NextStep, NoticeRefused, Payment, Started};
use ekdwar_domain::payments::challan::CONFIRMATION_DAYS;
use ekdwar_domain::payments::{AttemptStatus, Money, OrderStatus, PayChannel, RefundStatus};
use serde::Deserialize;

use crate::ctx::app_id;
use crate::ctx::render;
use crate::ctx::{Ctx, FormTargets, Me};
use crate::error::{Errors, WebError};

pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/payments", get(history))
        .route("/applications/{id}/payment", get(payment_page).post(start))
        .route("/payments/return/{attempt}", get(returned))
        .route("/payments/{attempt}/challan.pdf", get(challan_pdf))
        .route("/payments/{attempt}/receipt.pdf", get(receipt_pdf))
        .route(
            "/applications/{id}/payment/centre-receipt.pdf",
            get(centre_receipt_pdf),
        )
}

pub fn api_routes() -> axum::Router<App> {
    axum::Router::new().route("/api/payments/notify/{gateway}", post(notify))
}

impl Ctx {
    /// An amount as people read it in the page's language.
    pub fn amount(&self, m: &Money) -> String {
        m.display(&self.lang.tag())
    }

    /// The name of a way to pay.
    pub fn channel(&self, c: &PayChannel) -> String {
        self.t(&format!("payment-channel-{}", c.as_str()))
    }
}

/// An attempt as the page lists it.
pub struct AttemptRow {
    pub id: String,
    pub when: String,
    pub channel: String,
    pub amount: String,
    pub status: String,
    pub paid: bool,
}

/// A refund as the page lists it.
pub struct RefundRow {
    pub amount: String,
    pub status: String,
    pub when: String,
}

/// A payment as the pages show it.
pub struct Shown {
    pub status: OrderStatus,
    pub online: String,
    pub centre: Option<String>,
    pub centre_paid: bool,
    pub attempts: Vec<AttemptRow>,
    pub refunds: Vec<RefundRow>,
    /// The open challan: (attempt id, reference, payable from, valid until, amount).
    pub challan: Option<(String, String, String, String, String)>,
    pub paid_on: Option<String>,
}

fn attempt_status(c: &Ctx, s: AttemptStatus) -> String {
    c.t(&format!("payment-attempt-{}", s.as_str()))
}

pub fn shown(c: &Ctx, p: &Payment) -> Shown {
    let attempts = p
        .view
        .attempts
        .iter()
        .rev()
        .map(|a| AttemptRow {
            id: a.id.clone(),
            when: c.when(a.started_at),
            channel: c.channel(&a.channel),
            amount: c.amount(&a.amount),
            status: attempt_status(c, a.status),
            paid: a.status == AttemptStatus::Succeeded,
        })
        .collect();
    let refunds = p
        .view
        .refunds
        .iter()
        .map(|r| RefundRow {
            amount: c.amount(&r.amount),
            status: c.t(&format!(
                "payment-refund-{}",
                match r.status {
                    RefundStatus::Requested => "requested",
                    RefundStatus::Exported => "exported",
                    RefundStatus::Succeeded => "succeeded",
                    RefundStatus::Failed => "failed",
                }
            )),
            when: c.when(r.requested_at),
        })
        .collect();
    let challan = p.open_challan().map(|a| {
        let reference = a
            .reference
            .as_deref()
            .and_then(|r| ekdwar_domain::payments::ChallanRef::parse(r).ok())
            .map(|r| r.to_string())
            .unwrap_or_default();
        (
            a.id.clone(),
            reference,
            a.payable_from.map(|t| c.when(t)).unwrap_or_default(),
            a.valid_until.map(|t| c.when(t)).unwrap_or_default(),
            c.amount(&a.amount),
        )
    });
    Shown {
        status: p.status(),
        online: c.amount(&p.order.online),
        centre: (!p.order.centre.is_zero()).then(|| c.amount(&p.order.centre)),
        centre_paid: p.view.centre_paid.is_some(),
        attempts,
        refunds,
        challan,
        paid_on: p.order.paid_at.map(|t| c.when(t)),
    }
}

impl Shown {
    pub fn is_paid(&self) -> bool {
        self.status == OrderStatus::Paid
    }
    pub fn is_processing(&self) -> bool {
        self.status == OrderStatus::Processing
    }
    pub fn status_code(&self) -> &'static str {
        self.status.code()
    }
}

#[derive(Template)]
#[template(path = "payment.html")]
struct PaymentPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    loaded: &'a Loaded,
    payment: Shown,
    channels: Vec<PayChannel>,
    confirmation_days: u32,
}

async fn page_for(
    app: &App,
    c: &Ctx,
    me: &ekdwar_app::identity::CurrentSession,
    id: &str,
    errors: Errors,
) -> Result<Response, WebError> {
    let id = app_id(id)?;
    let loaded = app.applications.get(me.user_id(), &id).await?;
    let payment = app
        .payments
        .of_application(me.user_id(), &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let bad = !errors.is_empty();
    let mut resp = render(&PaymentPage {
        c,
        errors,
        loaded: &loaded,
        payment: shown(c, &payment),
        channels: app.payments.channels(),
        confirmation_days: CONFIRMATION_DAYS,
    });
    if bad {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    // The form may lead to the gateway's page.
    Ok(FormTargets(app.payments.page_origins()).apply(resp))
}

async fn payment_page(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    page_for(&app, &c, &me, &id, Errors::default()).await
}

#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    channel: String,
    /// Ticked: the open challan was not paid at the bank, so paying online is meant.
    #[serde(default)]
    challan_unpaid: String,
}

#[derive(Template)]
#[template(path = "payment_redirect.html")]
struct PostToGateway<'a> {
    c: &'a Ctx,
    errors: Errors,
    url: String,
    fields: Vec<(String, String)>,
}

async fn start(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Form(f): Form<PayForm>,
) -> Result<Response, WebError> {
    let app_id_ = app_id(&id)?;
    let Some(channel) = PayChannel::parse(&f.channel).filter(|c| *c != PayChannel::Centre) else {
        let e = AppError::field("channel", "payment-channel-required");
        let errors = Errors::from_app(&c, &e, "channel").unwrap_or_default();
        return page_for(&app, &c, &me, &id, errors).await;
    };
    match app
        .payments
        .start(
            &me.account,
            &app_id_,
            channel,
            f.challan_unpaid == "yes",
            &c.lang,
            &c.actor,
        )
        .await
    {
        Ok(Started::Challan(_)) => Ok(Redirect::to(&format!(
            "/applications/{app_id_}/payment?notice=notice-challan-ready"
        ))
        .into_response()),
        Ok(Started::Gateway(next)) => {
            let targets = FormTargets(next.origin().into_iter().collect());
            Ok(match next {
                NextStep::Redirect(url) => targets.apply(Redirect::to(&url).into_response()),
                NextStep::PostForm { url, fields } => targets.apply(render(&PostToGateway {
                    c: &c,
                    errors: Errors::default(),
                    url,
                    fields,
                })),
            })
        }
        Err(e) => match Errors::from_app(&c, &e, "channel") {
            Some(errors) => page_for(&app, &c, &me, &id, errors).await,
            None => Err(WebError(e)),
        },
    }
}

/// The browser is back from the gateway: the portal asks the gateway, then shows the result.
async fn returned(
    State(app): State<App>,
    Me(me): Me,
    Path(attempt): Path<String>,
) -> Result<Response, WebError> {
    if attempt.len() > 64 || !attempt.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(WebError(AppError::NotFound));
    }
    let (application, status, booked) = app.appointments.returned(me.user_id(), &attempt).await?;
    if let Some(a) = booked {
        return Ok(Redirect::to(&format!(
            "/appointments/{}?notice=notice-appointment-booked",
            a.id
        ))
        .into_response());
    }
    let notice = match status {
        OrderStatus::Paid => "notice-payment-paid",
        OrderStatus::Processing => "notice-payment-processing",
        OrderStatus::AwaitingBank | OrderStatus::Due => "notice-payment-not-paid",
    };
    Ok(Redirect::to(&format!(
        "/applications/{application}/payment?notice={notice}"
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "payments.html")]
struct HistoryPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    rows: Vec<(String, String, Shown)>,
}

async fn history(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    let payments = app.payments.history(me.user_id()).await?;
    let mut rows = Vec::with_capacity(payments.len());
    for p in payments {
        let id = ekdwar_domain::ApplicationId::new(p.order.application_id.clone());
        let name = match app.applications.get(me.user_id(), &id).await {
            Ok(l) => format!(
                "{} {}",
                c.text(&l.service.name),
                l.arn.map(|a| a.to_string()).unwrap_or_default()
            ),
            Err(_) => p.order.purpose.clone(),
        };
        rows.push((id.to_string(), name, shown(&c, &p)));
    }
    Ok(render(&HistoryPage {
        c: &c,
        errors: Errors::default(),
        rows,
    }))
}

/// A PDF for its owner's eyes only: shown in the browser, never cached.
pub(crate) fn pdf(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}.pdf\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

fn attempt_id(s: &str) -> Result<&str, WebError> {
    if s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(WebError(AppError::NotFound))
    }
}

/// The challan to take to the bank, in the payer's language.
async fn challan_pdf(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(attempt): Path<String>,
) -> Result<Response, WebError> {
    let (payment, a) = app
        .payments
        .attempt_of(me.user_id(), attempt_id(&attempt)?)
        .await?;
    if a.channel != PayChannel::Challan {
        return Err(WebError(AppError::NotFound));
    }
    let id = ekdwar_domain::ApplicationId::new(payment.order.application_id.clone());
    let loaded = app.applications.get(me.user_id(), &id).await?;
    let applicant = app.applications.applicant_name(&loaded).await?;
    let reference = a
        .reference
        .as_deref()
        .and_then(|r| ekdwar_domain::payments::ChallanRef::parse(r).ok())
        .map(|r| r.to_string())
        .unwrap_or_default();
    let banks = &app.config().payments.challan_banks;
    let banks = if banks.is_empty() {
        c.t("challan-any-bank")
    } else {
        banks.join("; ")
    };
    let mut heads: Vec<String> = app
        .applications
        .fees(&loaded)
        .iter()
        .filter(|f| f.due.as_str() == "online")
        .filter_map(|f| f.head_of_account.clone())
        .collect();
    heads.dedup();
    let arn = loaded
        .arn
        .as_ref()
        .map(|a| a.to_string())
        .unwrap_or_default();
    // Three copies, as a teller expects: the bank keeps one, the payer and the department
    // each get theirs back stamped.
    let mut sheet = ekdwar_pdf::Sheet::new(c.t("challan-title"), c.lang.tag())
        .heading(c.text(&loaded.service.name))
        .text(c.ta("challan-instructions", "days", CONFIRMATION_DAYS));
    for copy in [
        "challan-copy-bank",
        "challan-copy-applicant",
        "challan-copy-department",
    ] {
        sheet = sheet
            .heading(c.t(copy))
            .row(c.t("challan-reference"), reference.clone())
            .row(c.t("track-arn"), arn.clone())
            .row(c.t("track-name"), applicant.clone())
            .row(c.t("payment-amount"), c.amount(&a.amount))
            .row(c.t("challan-banks"), banks.clone());
        if !heads.is_empty() {
            sheet = sheet.row(c.t("challan-head-of-account"), heads.join(", "));
        }
        sheet = sheet
            .row(
                c.t("challan-payable-from"),
                a.payable_from.map(|t| c.when(t)).unwrap_or_default(),
            )
            .row(
                c.t("challan-valid-until"),
                a.valid_until.map(|t| c.when(t)).unwrap_or_default(),
            )
            .row(c.t("challan-teller"), "______________________".to_string());
    }
    let bytes = sheet.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(pdf(
        &format!("challan-{}", reference.replace(' ', "")),
        bytes,
    ))
}

/// The receipt of one payment that succeeded.
async fn receipt_pdf(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(attempt): Path<String>,
) -> Result<Response, WebError> {
    let (payment, a) = app
        .payments
        .attempt_of(me.user_id(), attempt_id(&attempt)?)
        .await?;
    let view = payment.view.attempt(&a.id).ok_or(AppError::NotFound)?;
    if view.status != AttemptStatus::Succeeded {
        return Err(WebError(AppError::NotFound));
    }
    let id = ekdwar_domain::ApplicationId::new(payment.order.application_id.clone());
    let loaded = app.applications.get(me.user_id(), &id).await?;
    let applicant = app.applications.applicant_name(&loaded).await?;
    let mut sheet = ekdwar_pdf::Sheet::new(c.t("payment-receipt-title"), c.lang.tag())
        .heading(c.text(&loaded.service.name))
        .row(
            c.t("track-arn"),
            loaded
                .arn
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default(),
        )
        .row(c.t("track-name"), applicant.clone())
        .row(c.t("payment-amount"), c.amount(&view.amount))
        .row(c.t("payment-channel"), c.channel(&view.channel))
        .row(c.t("payment-paid-on"), c.when(view.changed_at))
        .row(c.t("payment-receipt-number"), a.id.clone());
    if let Some(r) = &view.reference {
        sheet = sheet.row(c.t("payment-reference"), r.clone());
    }
    if payment.view.paid_by.as_deref() != Some(a.id.as_str()) {
        sheet = sheet.text(c.t("payment-receipt-duplicate"));
    }
    let bytes = sheet.render().map_err(|e| AppError::Internal(e.into()))?;
    Ok(pdf(&format!("payment-{}", a.id), bytes))
}

/// A gateway's signed notification. Refusals answer 4xx (so the gateway stops or a person
/// looks); a failure to record answers 503, so that the gateway retries.
async fn notify(
    State(app): State<App>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = app
        .payments
        .signature_header(&gateway)
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok());
    match app.payments.notified(&gateway, signature, &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => {
            let status = match e {
                NoticeRefused::UnknownGateway | NoticeRefused::UnknownPayment => {
                    StatusCode::NOT_FOUND
                }
                NoticeRefused::Signature => StatusCode::UNAUTHORIZED,
                NoticeRefused::Malformed | NoticeRefused::AmountMismatch => StatusCode::BAD_REQUEST,
                NoticeRefused::Internal => StatusCode::SERVICE_UNAVAILABLE,
            };
            (
                status,
                axum::Json(serde_json::json!({ "error": e.to_string() })),
            )
                .into_response()
        }
    }
}

/// The receipt of the balance paid at the centre.
async fn centre_receipt_pdf(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let payment = app
        .payments
        .of_application(me.user_id(), &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (amount, at) = payment.view.centre_paid.ok_or(AppError::NotFound)?;
    let loaded = app.applications.get(me.user_id(), &id).await?;
    let applicant = app.applications.applicant_name(&loaded).await?;
    let bytes = ekdwar_pdf::Sheet::new(c.t("payment-receipt-title"), c.lang.tag())
        .heading(c.text(&loaded.service.name))
        .row(
            c.t("track-arn"),
            loaded
                .arn
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default(),
        )
        .row(c.t("track-name"), applicant.clone())
        .row(c.t("payment-amount"), c.amount(&amount))
        .row(c.t("payment-channel"), c.channel(&PayChannel::Centre))
        .row(c.t("payment-paid-on"), c.when(at))
        .row(c.t("payment-receipt-number"), payment.order.id.clone())
        .render()
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(pdf(&format!("centre-payment-{}", payment.order.id), bytes))
}
