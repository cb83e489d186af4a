//! Accounts: registration, login, sessions, recovery, profile and administration.

mod admin;
mod external;
mod login;
mod profile;
mod recovery;
mod register;
mod sessions;
mod verification;

pub use admin::NewUserInput;
pub use external::{ExternalIntent, ExternalStart};
pub use login::{LoggedIn, LoginInput};
pub use profile::LevelInfo;
pub use register::{RegisterInput, RegistrationDetails};
pub use sessions::CurrentSession;
pub use verification::{FlowInfo, Purpose};

use ekdwar_domain::Contact;
use ekdwar_domain::password::Password;
use ekdwar_store::identity::User;

use crate::App;
use crate::error::{AppError, AppResult, FieldError};

impl App {
    /// Checks a new password against the policy for a person known by these identifiers, and
    /// that both copies match.
    fn check_new_password(
        &self,
        password: &Password,
        confirm: &Password,
        identifiers: &[&str],
    ) -> AppResult<()> {
        if let Err(p) = self.config.password.check(password, identifiers) {
            let mut e = FieldError::from_code("password", &p);
            match p {
                ekdwar_domain::password::PasswordProblem::TooShort(n)
                | ekdwar_domain::password::PasswordProblem::TooLong(n) => e = e.arg("n", n),
                _ => {}
            }
            return Err(AppError::Form(vec![e]));
        }
        if password.expose() != confirm.expose() {
            return Err(AppError::field("confirm", "password-mismatch"));
        }
        Ok(())
    }
}

/// The identifiers a password must not contain.
fn identifiers_of(user: &User) -> Vec<String> {
    let mut v = vec![
        user.first_name.as_str().to_string(),
        user.last_name.as_str().to_string(),
        user.portal_id.as_str().to_string(),
    ];
    v.extend(user.phone.as_ref().map(|p| p.as_str().to_string()));
    v.extend(user.email.as_ref().map(|e| e.as_str().to_string()));
    v
}

/// The contact that recovery messages go to: the phone if there is one, else the e-mail.
fn preferred_contact(user: &User) -> Option<Contact> {
    user.phone
        .clone()
        .map(Contact::Phone)
        .or_else(|| user.email.clone().map(Contact::Email))
}
