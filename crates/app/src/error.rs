//! Errors of the use-cases. Each has a stable code; the web layer maps them to a status and a
//! translated message in one place.

use ekdwar_domain::ErrorCode;
use ekdwar_store::StoreError;
pub use ekdwar_store::Unavailable;

use crate::security::HashError;

/// One problem with one form field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name in the form (a definition's question id, for service forms).
    pub field: std::borrow::Cow<'static, str>,
    pub code: &'static str,
    /// Arguments for the message (`min` for a length...).
    pub args: Vec<(&'static str, String)>,
}

impl FieldError {
    pub fn new(field: impl Into<std::borrow::Cow<'static, str>>, code: &'static str) -> Self {
        Self {
            field: field.into(),
            code,
            args: Vec::new(),
        }
    }
    /// The error of a parsed field; a missing name says which name is missing.
    pub fn from_code(field: &'static str, e: &dyn ErrorCode) -> Self {
        let code = match (field, e.code()) {
            ("first_name", "name-missing") => "first-name-missing",
            ("last_name", "name-missing") => "last-name-missing",
            (_, code) => code,
        };
        Self::new(field, code)
    }
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the form has errors")]
    Form(Vec<FieldError>),
    #[error("wrong identifier or password")]
    InvalidCredentials,
    #[error("a challenge must be solved first")]
    CaptchaRequired,
    #[error("too many attempts; retry after {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error("this step has expired or was already used")]
    FlowExpired,
    #[error("wrong code")]
    CodeWrong { attempts_left: i64 },
    #[error("too many wrong codes")]
    TooManyAttempts,
    #[error("wait {seconds} s before asking for another code")]
    ResendTooSoon { seconds: u64 },
    #[error("account is locked")]
    AccountLocked,
    #[error("not found")]
    NotFound,
    /// A fault of the portal. Its source chain is kept for the log.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database cannot do it now (unreachable, or the disk is full); nothing was changed.
    #[error("the database is unavailable")]
    Unavailable(ekdwar_store::Unavailable, #[source] StoreError),
}

/// What kind of failure an error is, whichever capability reports it. The web edge turns each
/// kind into an HTTP status in exactly one place (`ekdwar_web::error::status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong; the person or app can correct it.
    Invalid,
    /// Who is asking could not be established (an app's credentials, a token).
    Unauthenticated,
    /// Established, but not allowed.
    Forbidden,
    NotFound,
    /// The request contradicts the current state (taken, already done).
    Conflict,
    /// It existed but is over (an expired step or link).
    Gone,
    /// Too many attempts; wait.
    Throttled,
    /// A dependency is down; try again later.
    Unavailable,
    /// A fault of the portal; details in the log, never in the answer.
    Internal,
}

impl AppError {
    /// The kind of failure, for the edge to answer with.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::FlowExpired => ErrorKind::Gone,
            Self::Throttled { .. } | Self::ResendTooSoon { .. } => ErrorKind::Throttled,
            Self::Internal(_) => ErrorKind::Internal,
            Self::Unavailable(..) => ErrorKind::Unavailable,
            Self::Form(_)
            | Self::InvalidCredentials
            | Self::CaptchaRequired
            | Self::CodeWrong { .. }
            | Self::TooManyAttempts
            | Self::AccountLocked => ErrorKind::Invalid,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Form(_) => "form-invalid",
            Self::InvalidCredentials => "login-failed",
            Self::CaptchaRequired => "captcha-required",
            Self::Throttled { .. } => "throttled",
            Self::FlowExpired => "flow-expired",
            Self::CodeWrong { .. } => "code-wrong",
            Self::TooManyAttempts => "code-too-many",
            Self::ResendTooSoon { .. } => "resend-too-soon",
            Self::AccountLocked => "account-locked",
            Self::NotFound => "not-found",
            Self::Internal(_) => "internal",
            Self::Unavailable(ekdwar_store::Unavailable::NoSpace, _) => "no-space",
            Self::Unavailable(ekdwar_store::Unavailable::Unreachable, _) => "unavailable",
        }
    }

    pub fn field(field: &'static str, code: &'static str) -> Self {
        Self::Form(vec![FieldError::new(field, code)])
    }

    /// A form's errors as English lines (`field: message`), for the command line; any other
    /// error as its chain of causes.
    pub fn in_english(&self) -> String {
        match self {
            Self::Form(list) => {
                let en = crate::i18n::Lang::english();
                list.iter()
                    .map(|f| {
                        format!(
                            "{}: {}",
                            f.field,
                            en.t_args(&format!("err-{}", f.code), &f.args)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            other => other.chain(),
        }
    }
}

/// An error that is the portal's fault, described by what went wrong.
pub(crate) fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string().into())
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e.unavailable() {
            Some(why) => Self::Unavailable(why, e),
            None => Self::Internal(e.into()),
        }
    }
}

impl From<HashError> for AppError {
    fn from(e: HashError) -> Self {
        Self::Internal(e.into())
    }
}

impl AppError {
    /// The error and each of its sources, for the log: "a: b: c".
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            out.push_str(": ");
            out.push_str(&e.to_string());
            next = e.source();
        }
        out
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Collects field errors while parsing a form, so that all problems are reported at once.
#[derive(Debug, Default)]
pub struct FormCheck(Vec<FieldError>);

impl FormCheck {
    /// Keeps the parsed value, or records the error against `field`.
    pub fn take<T, E: ErrorCode>(&mut self, field: &'static str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldError::from_code(field, &e));
                None
            }
        }
    }
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Form(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot write the outbox")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn internal_errors_keep_their_sources() {
        let e = AppError::Internal(Box::new(Outer(std::io::Error::other("disk full"))));
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(
            e.chain(),
            "internal error: cannot write the outbox: disk full"
        );
    }
}
