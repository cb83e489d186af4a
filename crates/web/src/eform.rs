//! The offline e-form (Passport Seva): download the form as XML (with its schema) or as a
//! self-contained page that fills it offline and saves the XML; upload the XML to make a draft
//! that is reviewed and submitted as usual. Only the XML is accepted.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use ekdwar_app::App;
use ekdwar_app::applications::Imported;
use ekdwar_app::error::{AppError, FieldError};
use ekdwar_domain::catalog::{Field, FieldKind, Service, Texts, eform};

use crate::applications::go;
use crate::ctx::render;
use crate::ctx::{Ctx, Me};
use crate::error::{Errors, WebError, field_message};

pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/services/{code}/eform", get(show).post(upload))
        .route("/services/{code}/eform.xml", get(template))
        .route("/services/{code}/eform.xsd", get(schema))
        .route("/services/{code}/eform.html", get(offline))
}

fn attachment(content_type: &str, name: String, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

async fn template(
    State(app): State<App>,
    c: Ctx,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let xml = app.applications.eform_template(&code, &c.lang)?;
    Ok(attachment(
        "application/xml; charset=utf-8",
        format!("eform-{code}.xml"),
        xml,
    ))
}

async fn schema(State(app): State<App>, Path(code): Path<String>) -> Result<Response, WebError> {
    let xsd = app.applications.eform_schema(&code)?;
    Ok(attachment(
        "application/xml; charset=utf-8",
        format!("eform-{code}.xsd"),
        xsd,
    ))
}

#[derive(Template)]
#[template(path = "eform.html")]
struct EformPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    service: &'a Service,
}

async fn show(
    State(app): State<App>,
    c: Ctx,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let (_, service) = app.applications.eform_service(&code)?;
    Ok(render(&EformPage {
        c: &c,
        errors: Errors::default(),
        service: &service,
    }))
}

/// One refused answer of an uploaded e-form, as the result page shows it.
struct Shown {
    label: String,
    value: String,
    message: String,
    page: String,
}

#[derive(Template)]
#[template(path = "eform_result.html")]
struct ResultPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    service: &'a Service,
    imported: &'a Imported,
    problems: Vec<Shown>,
    next: String,
}

fn label_of<'a>(service: &'a Service, id: &str) -> Option<&'a Texts> {
    service
        .form
        .iter()
        .flat_map(|f| &f.pages)
        .flat_map(|p| &p.fields)
        .find(|f| f.id == id)
        .map(|f| &f.label)
}

async fn upload(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(code): Path<String>,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let (_, service) = app.applications.eform_service(&code)?;
    let mut file: Option<Vec<u8>> = None;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            file = field.bytes().await.ok().map(|b| b.to_vec());
        }
    }
    let refused = |errors: Errors| {
        let mut resp = render(&EformPage {
            c: &c,
            errors,
            service: &service,
        });
        *resp.status_mut() = axum::http::StatusCode::BAD_REQUEST;
        resp
    };
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        let e = AppError::Form(vec![FieldError::new("file", "eform-no-file")]);
        return Ok(refused(
            Errors::from_app(&c, &e, "file").unwrap_or_default(),
        ));
    };
    let imported = match app
        .applications
        .import_eform(&me.account, &code, &bytes, &c.lang, &c.actor)
        .await
    {
        Ok(Ok(imported)) => imported,
        Ok(Err(open)) => {
            return Ok(Redirect::to(&format!(
                "/applications/{open}?notice=notice-application-open"
            ))
            .into_response());
        }
        Err(e) => match Errors::from_app(&c, &e, "file") {
            Some(errors) => return Ok(refused(errors)),
            None => return Err(WebError(e)),
        },
    };
    if imported.problems.is_empty() {
        return Ok(go(&imported.next, &imported.id).into_response());
    }
    let problems = imported
        .problems
        .iter()
        .map(|p| Shown {
            label: label_of(&service, &p.error.field)
                .map(|t| c.text(t).to_string())
                .unwrap_or_else(|| p.error.field.to_string()),
            value: p.value.clone(),
            message: field_message(&c, &p.error),
            page: p.page.clone(),
        })
        .collect();
    let next = go_path(&imported);
    Ok(render(&ResultPage {
        c: &c,
        errors: Errors::default(),
        service: &service,
        imported: &imported,
        problems,
        next,
    }))
}

fn go_path(imported: &Imported) -> String {
    match &imported.next {
        ekdwar_app::applications::Next::Page(p) => {
            format!("/applications/{}/pages/{p}", imported.id)
        }
        ekdwar_app::applications::Next::Check => format!("/applications/{}/check", imported.id),
    }
}

/// A question of the offline page.
struct OfflineField<'a> {
    field: &'a Field,
    /// The choices (the service's options, or the offices for an office question).
    choices: Vec<(String, String)>,
    /// A group's questions.
    inner: Vec<OfflineField<'a>>,
}

#[derive(Template)]
#[template(path = "eform_offline.html")]
struct OfflinePage<'a> {
    c: &'a Ctx,
    service: &'a Service,
    version: i64,
    namespace: &'static str,
    fields: Vec<OfflineField<'a>>,
}

impl OfflinePage<'_> {
    fn kind(&self, f: &Field) -> &'static str {
        match f.kind {
            FieldKind::Date => "date",
            FieldKind::Select | FieldKind::Office => "select",
            FieldKind::Radio => "radio",
            FieldKind::Checkbox => "checkbox",
            FieldKind::Address => "textarea",
            FieldKind::Group => "group",
            _ => "text",
        }
    }
}

fn offline_field<'a>(c: &Ctx, f: &'a Field, offices: &[(String, Texts)]) -> OfflineField<'a> {
    let choices = if f.kind == FieldKind::Office {
        offices
            .iter()
            .map(|(code, name)| (code.clone(), c.text(name).to_string()))
            .collect()
    } else {
        f.options
            .iter()
            .map(|o| (o.value.clone(), c.text(&o.label).to_string()))
            .collect()
    };
    OfflineField {
        field: f,
        choices,
        inner: f
            .fields
            .iter()
            .map(|g| offline_field(c, g, offices))
            .collect(),
    }
}

/// The offline page: every question of the form (conditions are applied on upload), and a
/// script that writes the answers as the e-form's XML. It is one file with nothing to fetch.
async fn offline(
    State(app): State<App>,
    c: Ctx,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let (version, service) = app.applications.eform_service(&code)?;
    let offices = app.applications.offices(&service);
    let fields = service
        .form
        .iter()
        .flat_map(|f| &f.pages)
        .flat_map(|p| &p.fields)
        .map(|f| offline_field(&c, f, &offices))
        .collect();
    let html = OfflinePage {
        c: &c,
        service: &service,
        version,
        namespace: eform::NAMESPACE,
        fields,
    }
    .render()
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(attachment(
        "text/html; charset=utf-8",
        format!("eform-{code}.html"),
        html,
    ))
}
