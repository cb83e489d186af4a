//! The document locker's pages: the list of a person's documents with the upload form, one
//! document's page, and its file, streamed as it is opened. An upload streams too: the form's
//! fields come before the file, and the file goes to the locker a chunk at a time.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ekdwar_app::App;
use ekdwar_app::error::{AppError, FieldError};
use ekdwar_app::locker::{DocumentView, Source, UploadDetails};
use ekdwar_domain::locker::{Description, Folder, MAX_UPLOAD_BYTES};
use serde::Deserialize;

use crate::ctx::{Ctx, Me, render};
use crate::error::{Errors, WebError};

/// The most a form's text field may hold (a description is 120 characters).
const MAX_TEXT_FIELD: usize = 4096;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/locker", get(locker))
        .route(
            "/locker/upload",
            // The handler refuses a file past 10 MiB itself, with its own message; the body's
            // limit sits well beyond, so that it is never what a too-large file meets first.
            post(upload).layer(DefaultBodyLimit::max(
                usize::try_from(MAX_UPLOAD_BYTES).unwrap_or(usize::MAX) + 4 * 1024 * 1024,
            )),
        )
        .route("/locker/pull", get(pull_page).post(pull))
        .route("/locker/{id}", get(document))
        .route("/locker/{id}/file", get(file))
        .route("/locker/{id}/delete", post(delete))
        .route("/locker/{id}/share", post(share))
        .route("/locker/{id}/shares/{share}/revoke", post(revoke))
        .route("/s/{token}", get(shared).post(shared_pin))
        .route("/s/{token}/file", get(shared_file).post(shared_file_pin))
}

/// The issuer API, for agencies' systems (no session, no CSRF: each request is authenticated
/// by its HMAC).
pub fn api_routes() -> Router<App> {
    Router::new().route(
        "/api/locker/v1/push",
        post(push).layer(DefaultBodyLimit::max(16 * 1024 * 1024)),
    )
}

/// An issuer's push: `200 {"status":"ok","action","uri"}`, or the refusal's status with
/// `{"status":"error","code"}`.
async fn push(
    State(app): State<App>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let hmac = headers
        .get("x-digilocker-hmac")
        .and_then(|v| v.to_str().ok());
    let answer = match app.locker.push(&body, hmac).await? {
        Ok(p) => (
            axum::http::StatusCode::OK,
            serde_json::json!({"status": "ok", "action": p.action, "uri": p.uri}),
        ),
        Err(r) => (
            axum::http::StatusCode::from_u16(r.status())
                .unwrap_or(axum::http::StatusCode::BAD_REQUEST),
            serde_json::json!({"status": "error", "code": r.code()}),
        ),
    };
    Ok((answer.0, axum::Json(answer.1)).into_response())
}

/// A size as people read it: `2.4 MB`, `310 KB`.
pub(crate) fn size(c: &Ctx, bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        let tenths = (bytes * 10 + 512 * 1024) / (1024 * 1024);
        c.ta("size-mb", "n", format!("{}.{}", tenths / 10, tenths % 10))
    } else {
        c.ta("size-kb", "n", bytes.div_ceil(1024).max(1))
    }
}

/// A document as a row of the list.
struct Row {
    id: String,
    description: String,
    folder: String,
    kind: &'static str,
    size: String,
    added: String,
}

fn row(c: &Ctx, d: &DocumentView) -> Row {
    Row {
        id: d.id.clone(),
        description: d.description.clone(),
        folder: d.folder.clone(),
        kind: d.kind.label(),
        size: size(c, d.size),
        added: c.when(d.created_at),
    }
}

#[derive(Template)]
#[template(path = "locker.html")]
struct LockerPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    issued: Vec<Row>,
    uploaded: Vec<Row>,
    used: String,
    quota: String,
    description: String,
    folder: String,
    /// Folders already used, for the folder field's suggestions.
    folders: Vec<String>,
    /// The id agencies know this locker by.
    locker_id: String,
}

async fn page(
    app: &App,
    c: &Ctx,
    me: &ekdwar_app::identity::CurrentSession,
    errors: Errors,
    typed: (String, String),
) -> Result<Response, WebError> {
    let view = app.locker.of(me.user_id()).await?;
    let mut folders: Vec<String> = view
        .documents
        .iter()
        .map(|d| d.folder.clone())
        .filter(|f| !f.is_empty())
        .collect();
    folders.sort();
    folders.dedup();
    let (issued, uploaded): (Vec<_>, Vec<_>) = view
        .documents
        .iter()
        .partition(|d| d.source == Source::Issued);
    let mut uploaded: Vec<Row> = uploaded.into_iter().map(|d| row(c, d)).collect();
    // Grouped by folder (the top level first), newest first within each.
    uploaded.sort_by(|a, b| a.folder.cmp(&b.folder));
    let page = LockerPage {
        c,
        errors: errors.clone(),
        issued: issued.into_iter().map(|d| row(c, d)).collect(),
        uploaded,
        used: size(c, view.used),
        quota: size(c, view.quota),
        description: typed.0,
        folder: typed.1,
        folders,
        locker_id: app.locker.locker_id(me.user_id()).await?,
    };
    Ok(crate::identity::with_errors(render(&page), &errors))
}

async fn locker(State(app): State<App>, c: Ctx, Me(me): Me) -> Result<Response, WebError> {
    page(&app, &c, &me, Errors::default(), Default::default()).await
}

/// A text field, read up to [`MAX_TEXT_FIELD`] bytes (the rest is ignored: no description is
/// that long, and the parse refuses it).
async fn small_text(mut field: Field<'_>) -> String {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = field.chunk().await {
        if bytes.len() < MAX_TEXT_FIELD {
            bytes.extend_from_slice(&chunk[..chunk.len().min(MAX_TEXT_FIELD - bytes.len())]);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn upload(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let mut description = String::new();
    let mut folder = String::new();
    let mut done: Option<Result<String, AppError>> = None;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("description") => description = small_text(field).await,
            Some("folder") => folder = small_text(field).await,
            Some("file") => {
                let details = parse_details(&description, &folder);
                done = Some(match details {
                    Ok(mut d) => {
                        d.file_name = field.file_name().unwrap_or_default().to_string();
                        app.locker
                            .upload(me.user_id(), &c.actor, d, Box::pin(field))
                            .await
                    }
                    Err(e) => Err(e),
                });
                break;
            }
            _ => {}
        }
    }
    let done = done.unwrap_or_else(|| {
        Err(AppError::Form(vec![FieldError::new(
            "file",
            "locker-empty",
        )]))
    });
    match done {
        Ok(id) => Ok(
            Redirect::to(&format!("/locker/{id}?notice=notice-locker-uploaded")).into_response(),
        ),
        Err(e) => match Errors::from_app(&c, &e, "file") {
            Some(errors) => page(&app, &c, &me, errors, (description, folder)).await,
            None => Err(WebError(e)),
        },
    }
}

fn parse_details(description: &str, folder: &str) -> Result<UploadDetails, AppError> {
    let d = Description::parse(description);
    let f = Folder::parse(folder);
    let mut errors = Vec::new();
    if let Err(e) = &d {
        errors.push(FieldError::from_code("description", e));
    }
    if let Err(e) = &f {
        errors.push(FieldError::from_code("folder", e));
    }
    match (d, f) {
        (Ok(description), Ok(folder)) => Ok(UploadDetails {
            description,
            folder,
            file_name: String::new(),
        }),
        _ => Err(AppError::Form(errors)),
    }
}

/// A document type people may fetch, as the form offers it.
struct Choice {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "locker_pull.html")]
struct PullPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    choices: Vec<Choice>,
    chosen: String,
    number: String,
    birth_date: String,
    full_name: String,
    /// The issuer is still looking.
    pending: bool,
}

fn doc_type_name(c: &Ctx, doc_type: &str) -> String {
    let key = format!("doctype-{doc_type}");
    let t = c.t(&key);
    if t == key { doc_type.to_string() } else { t }
}

#[derive(Deserialize, Default)]
struct PullForm {
    #[serde(default)]
    document: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    birth_date: String,
}

async fn pull_form(
    app: &App,
    c: &Ctx,
    me: &ekdwar_app::identity::CurrentSession,
    errors: Errors,
    f: PullForm,
    pending: bool,
) -> Response {
    let choices = app
        .locker
        .pullable()
        .into_iter()
        .map(|p| Choice {
            label: format!("{} — {}", doc_type_name(c, &p.doc_type), p.issuer),
            value: format!("{}/{}", p.issuer_id, p.doc_type),
        })
        .collect();
    let page = PullPage {
        c,
        errors: errors.clone(),
        choices,
        chosen: f.document,
        number: f.number,
        birth_date: f.birth_date,
        full_name: me.account.full_name(),
        pending,
    };
    crate::identity::with_errors(render(&page), &errors)
}

async fn pull_page(State(app): State<App>, c: Ctx, Me(me): Me) -> Response {
    pull_form(&app, &c, &me, Errors::default(), PullForm::default(), false).await
}

async fn pull(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let fields = crate::dates::joined(fields);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let f = PullForm {
        document: get("document"),
        number: get("number"),
        birth_date: get("birth_date"),
    };
    let fail = |e: AppError, f: PullForm| async {
        match Errors::from_app(&c, &e, "document") {
            Some(errors) => Ok(pull_form(&app, &c, &me, errors, f, false).await),
            None => Err(WebError(e)),
        }
    };
    let Some(born) = ekdwar_domain::catalog::answers::parse_date(&f.birth_date) else {
        return fail(AppError::field("birth_date", "form-date"), f).await;
    };
    let Some((issuer_id, doc_type)) = f.document.split_once('/') else {
        return fail(AppError::field("document", "locker-pull-unknown"), f).await;
    };
    let request = ekdwar_app::locker::PullRequest {
        issuer_id: issuer_id.to_string(),
        doc_type: doc_type.to_string(),
        number: f.number.clone(),
        full_name: me.account.full_name(),
        birth_date: born,
    };
    use ekdwar_app::locker::Pulled;
    match app.locker.pull(me.user_id(), &c.actor, &request).await {
        Ok(Pulled::Kept(id)) => {
            Ok(Redirect::to(&format!("/locker/{id}?notice=notice-locker-pulled")).into_response())
        }
        Ok(Pulled::Pending) => Ok(pull_form(&app, &c, &me, Errors::default(), f, true).await),
        Ok(Pulled::NotFound) => fail(AppError::field("number", "locker-pull-none"), f).await,
        Ok(Pulled::Unavailable) => {
            fail(AppError::field("document", "locker-pull-unavailable"), f).await
        }
        Err(e) => fail(e, f).await,
    }
}

#[derive(Template)]
#[template(path = "locker_document.html")]
struct DocumentPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    facts: Option<ekdwar_app::locker::IssuedFacts>,
    d: Row,
    file_name: String,
    sha256: String,
    issued: bool,
    uri: Option<String>,
    shares: Vec<ShareRow>,
    uses: Vec<UseRow>,
    /// A link just made: its address, its QR code (SVG) and when it ends.
    new_link: Option<(String, String, String)>,
    valid: String,
    lifetimes: &'static [(&'static str, &'static str, u64)],
}

/// A link as its row on the document's page.
struct ShareRow {
    id: String,
    created: String,
    expires: String,
    pin: bool,
    /// `active`, `expired` or `revoked`.
    state: &'static str,
}

/// A use of a link as its row.
struct UseRow {
    at: String,
    what: String,
    ip: String,
}

async fn document_page(
    app: &App,
    c: &Ctx,
    me: &ekdwar_app::identity::CurrentSession,
    id: &str,
    errors: Errors,
    new_link: Option<(String, String, String)>,
) -> Result<Response, WebError> {
    let d = app.locker.document(me.user_id(), id).await?;
    let (shares, uses) = app.locker.shares(me.user_id(), id).await?;
    let page = DocumentPage {
        c,
        errors: errors.clone(),
        facts: d.issued.clone(),
        file_name: d.file_name.clone(),
        sha256: d.sha256.clone(),
        issued: d.source == Source::Issued,
        uri: d.uri.clone(),
        d: row(c, &d),
        shares: shares
            .into_iter()
            .map(|s| ShareRow {
                created: c.when(s.created_at),
                expires: c.when(s.expires_at),
                pin: s.has_pin,
                state: if s.revoked {
                    "revoked"
                } else if s.expired {
                    "expired"
                } else {
                    "active"
                },
                id: s.id,
            })
            .collect(),
        uses: uses
            .into_iter()
            .map(|u| UseRow {
                at: c.when(u.at),
                what: c.t(&format!("locker-use-{}", u.what)),
                ip: u.ip.unwrap_or_default(),
            })
            .collect(),
        new_link,
        valid: "7d".into(),
        lifetimes: &LIFETIMES,
    };
    Ok(crate::identity::with_errors(render(&page), &errors))
}

async fn document(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    document_page(&app, &c, &me, &id, Errors::default(), None).await
}

#[derive(Deserialize)]
struct ShareForm {
    #[serde(default)]
    valid: String,
    #[serde(default)]
    pin: String,
}

/// The lifetimes a link may be given: the form's value, its label, its hours.
const LIFETIMES: [(&str, &str, u64); 4] = [
    ("1h", "locker-share-1h", 1),
    ("1d", "locker-share-1d", 24),
    ("7d", "locker-share-7d", 7 * 24),
    ("30d", "locker-share-30d", 30 * 24),
];

fn lifetime(valid: &str) -> Option<std::time::Duration> {
    LIFETIMES
        .iter()
        .find(|(v, _, _)| *v == valid)
        .map(|(_, _, hours)| std::time::Duration::from_secs(hours * 3600))
}

async fn share(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<ShareForm>,
) -> Result<Response, WebError> {
    let Some(valid) = lifetime(&f.valid) else {
        let errors = Errors::from_app(&c, &AppError::field("valid", "locker-share-valid"), "valid")
            .unwrap_or_default();
        return document_page(&app, &c, &me, &id, errors, None).await;
    };
    let pin = Some(f.pin.as_str()).filter(|p| !p.trim().is_empty());
    match app
        .locker
        .share(me.user_id(), &id, valid, pin, &c.actor)
        .await
    {
        Ok(link) => {
            let url = format!("{}/s/{}", app.config().public_url(), link.token);
            let qr = crate::identity::qr_svg(&url);
            let shown = (url, qr, c.when(link.expires_at));
            document_page(&app, &c, &me, &id, Errors::default(), Some(shown)).await
        }
        Err(e) => match Errors::from_app(&c, &e, "pin") {
            Some(errors) => document_page(&app, &c, &me, &id, errors, None).await,
            None => Err(WebError(e)),
        },
    }
}

async fn revoke(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path((id, share)): Path<(String, String)>,
) -> Result<Response, WebError> {
    match app
        .locker
        .revoke_share(me.user_id(), &share, &c.actor)
        .await
    {
        Ok(()) | Err(AppError::NotFound) => Ok(Redirect::to(&format!(
            "/locker/{id}?notice=notice-locker-share-revoked"
        ))
        .into_response()),
        Err(e) => Err(WebError(e)),
    }
}

#[derive(Template)]
#[template(path = "locker_shared.html")]
struct SharedPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    token: String,
    /// The document, once the PIN (if any) was given.
    d: Option<Row>,
    issuer: Option<String>,
    /// The PIN typed, carried to the download form.
    pin: String,
    /// The PIN is asked.
    asks_pin: bool,
}

#[derive(Deserialize, Default)]
struct PinForm {
    #[serde(default)]
    pin: String,
}

async fn shared_answer(
    app: &App,
    c: &Ctx,
    token: &str,
    pin: Option<&str>,
    file: bool,
) -> Result<Response, WebError> {
    use ekdwar_app::locker::Shared;
    let page = |errors: Errors, d: Option<&DocumentView>, asks_pin: bool| {
        let resp = render(&SharedPage {
            c,
            errors: errors.clone(),
            token: token.to_string(),
            issuer: d.and_then(|d| d.issued.as_ref().map(|f| f.issuer.clone())),
            d: d.map(|d| row(c, d)),
            pin: pin.unwrap_or_default().to_string(),
            asks_pin,
        });
        crate::identity::with_errors(resp, &errors)
    };
    match app.locker.open_shared(token, pin, file, &c.actor).await? {
        Shared::Gone => Ok(crate::ctx::error_page(
            c,
            axum::http::StatusCode::NOT_FOUND,
            "locker-shared-gone-title",
            "locker-shared-gone",
            None,
        )),
        Shared::NeedsPin { wrong, left } => {
            let errors = if wrong {
                Errors::from_app(
                    c,
                    &AppError::Form(vec![
                        FieldError::new("pin", "locker-share-pin-wrong").arg("left", left),
                    ]),
                    "pin",
                )
                .unwrap_or_default()
            } else {
                Errors::default()
            };
            Ok(page(errors, None, true))
        }
        Shared::Page(d) => Ok(page(Errors::default(), Some(&d), false)),
        Shared::File(opened) => Ok(file_response(opened, true)),
    }
}

async fn shared(
    State(app): State<App>,
    c: Ctx,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    shared_answer(&app, &c, &token, None, false).await
}

async fn shared_pin(
    State(app): State<App>,
    c: Ctx,
    Path(token): Path<String>,
    axum::Form(f): axum::Form<PinForm>,
) -> Result<Response, WebError> {
    shared_answer(&app, &c, &token, Some(&f.pin), false).await
}

async fn shared_file(
    State(app): State<App>,
    c: Ctx,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    shared_answer(&app, &c, &token, None, true).await
}

async fn shared_file_pin(
    State(app): State<App>,
    c: Ctx,
    Path(token): Path<String>,
    axum::Form(f): axum::Form<PinForm>,
) -> Result<Response, WebError> {
    shared_answer(&app, &c, &token, Some(&f.pin), true).await
}

#[derive(Deserialize)]
struct FileQuery {
    #[serde(default)]
    download: Option<String>,
}

/// `Content-Disposition` for a file name: an ASCII fallback and the name itself (RFC 6266).
fn disposition(kind: &str, name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || "._- ".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

async fn file(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Query(q): Query<FileQuery>,
) -> Result<Response, WebError> {
    let opened = app.locker.open(me.user_id(), &id, &c.actor).await?;
    Ok(file_response(opened, q.download.is_some()))
}

/// A document's file as it streams: its own media type, sandboxed, never cached.
fn file_response(opened: ekdwar_app::locker::OpenedFile, attachment: bool) -> Response {
    let d = &opened.document;
    let kind = if attachment { "attachment" } else { "inline" };
    let (size, mime, name) = (d.size, d.kind.mime(), d.file_name.clone());
    let mut resp = Body::from_stream(opened.bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(header::CONTENT_DISPOSITION, disposition(kind, &name));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    // A person's file is shown as what its content is, and can run nothing on the portal.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
        ),
    );
    resp
}

async fn delete(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    match app.locker.delete(me.user_id(), &id, &c.actor).await {
        Ok(()) | Err(AppError::NotFound) => {
            Ok(Redirect::to("/locker?notice=notice-locker-deleted").into_response())
        }
        Err(e) => Err(WebError(e)),
    }
}
