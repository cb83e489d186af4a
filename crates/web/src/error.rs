//! The one place where errors become responses. Handlers return [`WebError`]; it carries a
//! status and a code, and the context middleware (which knows the language) renders the page.
//! Internal details go to the log with a correlation id, never to the person.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ekdwar_app::error::{AppError, ErrorKind};

use crate::ctx::Ctx;

tokio::task_local! {
    /// The id of the request being served, for error pages and logs.
    pub static REQUEST_ID: String;
}

#[derive(Debug)]
pub struct WebError(pub AppError);

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

/// Left on an error response for the context middleware to render.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub correlation: Option<String>,
    /// Why the database could not do it, when that was the reason.
    pub unavailable: Option<ekdwar_app::error::Unavailable>,
}

/// The HTTP status of each kind of failure: the one place they are decided, for pages and
/// the API alike.
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Gone => StatusCode::GONE,
        ErrorKind::Throttled => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = status(self.0.kind());
        let correlation = match &self.0 {
            AppError::Internal(_) => {
                // The request's id is the reference the person is shown; the log line of the
                // detail, with its whole source chain, carries it (the request's span).
                tracing::error!(error = %self.0.chain(), "internal error");
                REQUEST_ID.try_with(String::clone).ok()
            }
            AppError::Unavailable(_, e) => {
                tracing::warn!(error = %e, "database unavailable");
                None
            }
            _ => None,
        };
        let unavailable = match &self.0 {
            AppError::Unavailable(why, _) => Some(*why),
            _ => None,
        };
        let mut resp = status.into_response();
        if unavailable.is_some() {
            // Nothing was saved, and trying again in a minute is the right thing to do.
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("60"),
            );
        }
        resp.extensions_mut().insert(ErrorInfo {
            code: self.0.code(),
            correlation,
            unavailable,
        });
        resp
    }
}

/// The translated message for a field error, in the page's language; number examples are
/// offered to every message that wants them.
pub fn field_message(c: &Ctx, f: &ekdwar_app::error::FieldError) -> String {
    c.lang.t_args(
        &format!("err-{}", f.code),
        &[&f.args[..], &[("phones", c.phone_examples.clone())]].concat(),
    )
}

/// A translated message for one field.
#[derive(Debug, Clone)]
pub struct FieldMessage {
    pub field: String,
    pub message: String,
}

/// The errors shown on a form: a summary at the top, and each message next to its field.
#[derive(Debug, Clone, Default)]
pub struct Errors {
    pub list: Vec<FieldMessage>,
}

impl Errors {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The attributes that tie an input to its hint and its error (the GOV.UK pattern):
    /// `aria-describedby`, and `aria-invalid` while it is in error. Field names are
    /// identifiers written in templates and handlers, never input.
    pub fn aria(&self, field: &str, hint: bool) -> String {
        debug_assert!(
            field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        );
        let error = self.get(field).is_some();
        let ids: Vec<String> = [
            hint.then(|| format!("{field}-hint")),
            error.then(|| format!("{field}-error")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut out = String::new();
        if !ids.is_empty() {
            out = format!(" aria-describedby=\"{}\"", ids.join(" "));
        }
        if error {
            out.push_str(" aria-invalid=\"true\"");
        }
        out
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// One field's error, by its code.
    pub fn one(c: &Ctx, field: &'static str, code: &'static str) -> Self {
        Self::from_app(c, &AppError::field(field, code), field).unwrap_or_default()
    }

    /// Translates an expected failure of a use-case; `None` for failures that belong to the
    /// error boundary (internal errors, not found). `field` receives messages that concern the
    /// whole form.
    pub fn from_app(c: &Ctx, e: &AppError, field: &str) -> Option<Self> {
        let one = |message: String| {
            Some(Self {
                list: vec![FieldMessage {
                    field: field.to_string(),
                    message,
                }],
            })
        };
        match e {
            AppError::Form(list) => Some(Self {
                list: list
                    .iter()
                    .map(|f| FieldMessage {
                        field: f.field.to_string(),
                        message: field_message(c, f),
                    })
                    .collect(),
            }),
            AppError::InvalidCredentials => one(c.t("err-login-failed")),
            AppError::CaptchaRequired => Some(Self {
                list: vec![FieldMessage {
                    field: "captcha".into(),
                    message: c.t("err-captcha-required"),
                }],
            }),
            AppError::Throttled { retry_after_secs } => {
                one(c.ta("err-throttled", "minutes", retry_after_secs.div_ceil(60)))
            }
            AppError::CodeWrong { attempts_left } => {
                one(c.ta("err-code-wrong", "left", attempts_left))
            }
            AppError::TooManyAttempts => one(c.t("err-code-too-many")),
            AppError::ResendTooSoon { seconds } => {
                one(c.ta("err-resend-too-soon", "seconds", seconds))
            }
            AppError::FlowExpired => one(c.t("err-flow-expired")),
            AppError::AccountLocked => one(c.t("err-account-locked")),
            AppError::NotFound | AppError::Internal(_) | AppError::Unavailable(..) => None,
        }
    }
}
