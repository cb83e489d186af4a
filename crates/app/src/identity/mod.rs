//! Accounts: registration, login, sessions, recovery, profile and administration.

mod admin;
mod external;
mod login;
mod passkeys;
mod profile;
mod recovery;
mod register;
mod sessions;
mod two_step;
mod verification;

pub use admin::{Found, NewUserInput};
pub(crate) use external::HttpUpstream;
pub use external::{ExternalIntent, ExternalStart, UpstreamAnswer, UpstreamClient};
pub use login::{LoggedIn, LoginInput};
pub(crate) use passkeys::relying_party;
pub use passkeys::{MAX_PASSKEYS, PasskeyChallenge, PasskeyView, SecondStepWays};

pub use profile::{LevelInfo, NAME_CHANGED};
pub(crate) use register::NewAccount;
pub use register::{RegisterInput, RegistrationDetails};
pub use sessions::{CurrentSession, Ending};
pub(crate) use sessions::{SessionsEnded, end_sessions};
pub use two_step::{Authenticated, SecondStep, TwoStepSetup, TwoStepStatus};
pub(crate) use verification::NewVerification;
pub use verification::{FlowInfo, Purpose};

use ekdwar_domain::Contact;
use ekdwar_domain::password::Password;
use ekdwar_store::identity::User;

crate::core::service!(
    /// Accounts: registration, login, sessions, recovery, profile, two-step login, external
    /// logins and the administration of accounts.
    Identity,
    // What ends with a session, above accounts (single sign-on's tokens).
    sessions_ended: std::sync::Arc<dyn sessions::SessionsEnded>,
    hashing: crate::security::PasswordHashing,
    // The port to upstream identity providers.
    upstream: std::sync::Arc<dyn UpstreamClient>,
    // The national identifiers people may log in with (the country profiles name them).
    login_kinds: std::sync::Arc<[ekdwar_domain::national_id::IdKind]>,
    // Every national identifier the country profiles ask for: a confirmed one finds its
    // account when someone forgot their portal ID or resets a password.
    id_kinds: std::sync::Arc<[ekdwar_domain::national_id::IdKind]>,
    // The relying party of passkeys; none when the public address has no usable host.
    webauthn: Option<std::sync::Arc<webauthn_rs::Webauthn>>
);

use crate::error::{AppError, AppResult, FieldError};

/// Whose new password the strength meter is judging, so that it knows their own words.
pub enum PasswordFor<'a> {
    Account(&'a CurrentSession),
    /// The last step of registration, with the portal ID typed so far.
    Registration {
        flow: &'a str,
        portal_id: &'a str,
    },
    Recovery {
        flow: &'a str,
    },
    Nobody,
}

/// What the strength meter shows while a new password is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordFeedback {
    /// zxcvbn's 0–4, counting the person's names and contacts as guessable.
    pub score: u8,
    /// Why the form would refuse it, exactly as the form would say.
    pub problem: Option<FieldError>,
}

impl Identity {
    /// The password hashing, for tests of stored hashes.
    #[cfg(feature = "testing")]
    pub(crate) fn hashing(&self) -> &crate::security::PasswordHashing {
        &self.hashing
    }

    /// The meter's verdict: the same estimator and policy that judge the submitted form, with
    /// the same words of the person (a flow that has expired simply knows none).
    pub async fn password_feedback(
        &self,
        password: &Password,
        whose: PasswordFor<'_>,
    ) -> AppResult<PasswordFeedback> {
        let words: Vec<String> = match whose {
            PasswordFor::Account(cur) => identifiers_of(&cur.user),
            PasswordFor::Registration { flow, portal_id } => {
                match self.registration_details(flow).await {
                    Ok(d) => vec![d.first_name, d.last_name, d.contact, portal_id.to_string()],
                    Err(_) => vec![portal_id.to_string()],
                }
            }
            PasswordFor::Recovery { flow } => self
                .recovery_user(flow)
                .await
                .map(|u| identifiers_of(&u))
                .unwrap_or_default(),
            PasswordFor::Nobody => Vec::new(),
        };
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let problem = match self.check_new_password(password, password, &words) {
            Err(AppError::Form(mut list)) if !list.is_empty() => Some(list.remove(0)),
            _ => None,
        };
        let score = if problem.is_some() {
            0
        } else {
            ekdwar_domain::password::strength(password.expose(), &words)
        };
        Ok(PasswordFeedback { score, problem })
    }

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
