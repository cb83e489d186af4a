//! The application's receipt: a PDF in the applicant's language with a QR code, and the
//! public page that QR code opens, which confirms the receipt without showing the application.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ekdwar_app::App;
use ekdwar_app::applications::Tracked;
use ekdwar_app::error::AppError;

use crate::applications::shown;
use crate::ctx::app_id;
use crate::ctx::render;
use crate::ctx::{Ctx, Me};
use crate::error::{Errors, WebError};

pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/applications/{id}/receipt.pdf", get(receipt))
        .route("/verify/{token}", get(verify))
}

async fn receipt(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = app_id(&id)?;
    let loaded = app.applications.get(me.user_id(), &id).await?;
    let applicant = app.applications.applicant_name(&loaded).await?;
    // A draft has no reference number yet, so no receipt.
    let arn = loaded.arn.clone().ok_or(AppError::NotFound)?;
    let token = app.applications.receipt_token(&arn);
    let url = format!(
        "{}/verify/{token}",
        app.config().public_url().trim_end_matches('/')
    );

    let service = &loaded.service;
    let mut sheet = ekdwar_pdf::Sheet::new(c.t("receipt-title"), c.lang.tag())
        .heading(c.text(&service.name))
        .row(c.t("track-arn"), arn.to_string())
        .row(c.t("track-name"), applicant.clone());
    if let Some(state) = loaded.state_label() {
        sheet = sheet.row(c.t("application-status"), c.text(state));
    }
    if let Some(at) = loaded.submitted_at {
        sheet = sheet.row(
            c.t("application-submitted-on"),
            c.when_in(at, &app.applications.zone(&loaded)),
        );
    }
    let standing = crate::applications::Standing::of(&app, &c, me.user_id(), &loaded).await?;
    if let Some(fee) = standing.fee {
        sheet = sheet.row(c.t("fee"), fee);
    }
    if let Some(visit) = standing.visit {
        sheet = sheet.row(c.t("visit"), visit);
    }
    for p in app.applications.places_of(&loaded).await? {
        sheet = sheet.row(c.t("queue-title"), crate::applications::place_line(&c, &p));
    }
    let answers = shown(&app, &c, &loaded);
    for field in service.receipt.iter().flat_map(|r| &r.fields) {
        if let Some(a) = answers.iter().find(|a| &a.id == field) {
            sheet = sheet.row(a.label.clone(), a.value.clone());
        }
    }
    let fees = app.applications.fees(&loaded);
    if !fees.is_empty() {
        sheet = sheet.heading(c.t("service-fees"));
        for fee in fees {
            let mut amount = c.money(&fee.amount, &fee.currency);
            if fee.due.as_str() == "at_centre" {
                amount = format!("{amount} ({})", c.t("service-fee-at-centre"));
            }
            sheet = sheet.row(c.text(&fee.label), amount);
        }
    }
    if !service.documents.is_empty() {
        sheet = sheet.heading(c.t("service-documents"));
        for d in &service.documents {
            sheet = sheet.text(format!("• {}", c.text(&d.name)));
        }
    }
    if let Some(note) = service.receipt.as_ref().and_then(|r| r.note.as_ref()) {
        sheet = sheet.text(c.text(note));
    }
    let pdf = sheet
        .qr(url, c.t("receipt-qr"))
        .render()
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"receipt-{arn}.pdf\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "receipt_check.html")]
struct CheckPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    found: Option<Tracked>,
    /// The receipt's check confirms it, nothing more.
    standing: Option<crate::applications::Standing>,
}

/// Anyone holding the receipt (a passport office, an employer) checks it here.
async fn verify(
    State(app): State<App>,
    c: Ctx,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let found = match app.applications.verify_receipt(&token).await {
        Ok(t) => Some(t),
        Err(AppError::NotFound) => None,
        Err(e) => return Err(WebError(e)),
    };
    let status = if found.is_some() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::NOT_FOUND
    };
    let mut resp = render(&CheckPage {
        c: &c,
        errors: Errors::default(),
        found,
        standing: None,
    });
    *resp.status_mut() = status;
    Ok(resp)
}
