//! Passwords: a secret wrapper and the policy that decides which ones are acceptable.
//!
//! The default follows NIST SP 800-63B: length (8 to at least 64), a list of common and breached
//! passwords, nothing derived from the person's own identifiers, and a minimum estimated
//! strength (zxcvbn, the same estimator the page's strength meter shows). Composition rules and
//! expiry exist for deployments that must have them (Rajasthan SSO) and are off by default.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// A password as typed. `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password as typed.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The password itself, for hashing and checking only.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The password in Unicode NFKC form: what is hashed, so that the same Hindi or Bengali
    /// password typed on another keyboard (composed or decomposed characters) still matches.
    pub fn normalized(&self) -> Password {
        use unicode_normalization::UnicodeNormalization;
        Password(self.0.nfkc().collect())
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// What the deployment demands of passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    /// Fewer characters are refused (NIST: at least 8).
    pub min_length: usize,
    /// More characters are refused (hashing cost is bounded).
    pub max_length: usize,
    /// Refuse passwords from the bundled common/breached list.
    pub refuse_common: bool,
    /// Lowest zxcvbn score (0–4) accepted.
    pub min_strength: u8,
    /// Rajasthan SSO's rule: at least one lower-case letter, one upper-case letter and one digit.
    pub require_mixed_case_and_digit: bool,
    /// Days after which a citizen must choose a new password; 0 means never.
    pub expiry_days: u32,
    /// Days after which an administrator must choose a new password; 0 means never.
    pub admin_expiry_days: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            refuse_common: true,
            min_strength: 2,
            require_mixed_case_and_digit: false,
            expiry_days: 0,
            admin_expiry_days: 0,
        }
    }
}

/// Why a password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("password is shorter than {0} characters")]
    /// Shorter than the policy's minimum (which it carries).
    TooShort(usize),
    #[error("password is longer than {0} characters")]
    /// Longer than the policy's maximum (which it carries).
    TooLong(usize),
    #[error("password is on the list of common or breached passwords")]
    /// On the list of common and breached passwords.
    Common,
    #[error("password contains your name, phone, e-mail or portal ID")]
    /// Contains the person's own name, portal ID or contact.
    ContainsIdentifier,
    #[error("password needs a lower-case letter, an upper-case letter and a digit")]
    /// Lacks the character classes the deployment demands.
    Composition,
    #[error("password is too easy to guess")]
    /// Too easy to guess (zxcvbn's score below the policy's).
    TooWeak,
}

impl ErrorCode for PasswordProblem {
    fn code(&self) -> &'static str {
        match self {
            Self::TooShort(_) => "password-too-short",
            Self::TooLong(_) => "password-too-long",
            Self::Common => "password-common",
            Self::ContainsIdentifier => "password-contains-identifier",
            Self::Composition => "password-composition",
            Self::TooWeak => "password-weak",
        }
    }
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../data/common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

impl PasswordPolicy {
    /// The smallest upper bound any policy may set: NIST asks to allow at least 64 characters.
    pub const MIN_MAX_LENGTH: usize = 64;

    /// Checks `password` for a person known by `identifiers` (names, phone, e-mail, portal ID).
    pub fn check(&self, password: &Password, identifiers: &[&str]) -> Result<(), PasswordProblem> {
        let pw = password.expose();
        let len = pw.chars().count();
        if len < self.min_length {
            return Err(PasswordProblem::TooShort(self.min_length));
        }
        if len > self.max_length.max(Self::MIN_MAX_LENGTH) {
            return Err(PasswordProblem::TooLong(
                self.max_length.max(Self::MIN_MAX_LENGTH),
            ));
        }
        let lower = pw.to_lowercase();
        if self.refuse_common && common_passwords().contains(lower.as_str()) {
            return Err(PasswordProblem::Common);
        }
        let contains_identifier = identifiers.iter().any(|id| {
            let id = id.trim().trim_start_matches('+').to_lowercase();
            // Short fragments ("Al") would refuse too much; phones are checked by their last
            // ten digits, which is what people type.
            let id = if id.chars().all(|c| c.is_ascii_digit()) && id.len() > 10 {
                id[id.len() - 10..].to_string()
            } else {
                id
            };
            let local = id.split('@').next().unwrap_or_default().to_string();
            [id, local]
                .iter()
                .any(|frag| frag.chars().count() >= 4 && lower.contains(frag.as_str()))
        });
        if contains_identifier {
            return Err(PasswordProblem::ContainsIdentifier);
        }
        if self.require_mixed_case_and_digit
            && !(pw.chars().any(char::is_lowercase)
                && pw.chars().any(char::is_uppercase)
                && pw.chars().any(|c| c.is_ascii_digit()))
        {
            return Err(PasswordProblem::Composition);
        }
        if strength(pw, identifiers) < self.min_strength {
            return Err(PasswordProblem::TooWeak);
        }
        Ok(())
    }

    /// Days until a password of this kind expires, if it does.
    pub fn expiry_days_for(&self, admin: bool) -> Option<u32> {
        let days = if admin {
            self.admin_expiry_days
        } else {
            self.expiry_days
        };
        (days > 0).then_some(days)
    }
}

/// zxcvbn's 0–4 estimate, the same figure the strength meter shows.
pub fn strength(password: &str, identifiers: &[&str]) -> u8 {
    // zxcvbn's cost grows quickly with length; its estimate does not change past this point.
    let prefix: String = password.chars().take(100).collect();
    u8::from(zxcvbn::zxcvbn(&prefix, identifiers).score())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(pw: &str) -> Result<(), PasswordProblem> {
        PasswordPolicy::default().check(
            &Password::new(pw),
            &["Asha", "Kumari", "+919812345678", "asha.k@example.org"],
        )
    }

    #[test]
    fn default_policy() {
        assert_eq!(check("short"), Err(PasswordProblem::TooShort(8)));
        assert_eq!(check("password123"), Err(PasswordProblem::Common));
        assert!(check("P@ssword1").is_err());
        assert_eq!(
            check("kumari-rocks-hard"),
            Err(PasswordProblem::ContainsIdentifier)
        );
        assert_eq!(
            check("xx9812345678yy"),
            Err(PasswordProblem::ContainsIdentifier)
        );
        assert_eq!(check("aaaaaaaaaa"), Err(PasswordProblem::TooWeak));
        assert_eq!(check("quiet harbor lantern"), Ok(()));
        assert_eq!(check(&"long enough ".repeat(5)[..60]), Ok(()));
        assert_eq!(check(&"x".repeat(129)), Err(PasswordProblem::TooLong(128)));
    }

    #[test]
    fn rajasthan_rules_are_optional() {
        let policy = PasswordPolicy {
            require_mixed_case_and_digit: true,
            ..PasswordPolicy::default()
        };
        let p = |s: &str| policy.check(&Password::new(s), &[]);
        assert_eq!(p("quiet harbor lantern"), Err(PasswordProblem::Composition));
        assert_eq!(p("Quiet harbor lantern 7"), Ok(()));
        assert_eq!(policy.expiry_days_for(false), None);
    }

    #[test]
    fn max_length_never_below_64() {
        let policy = PasswordPolicy {
            max_length: 20,
            min_strength: 0,
            ..PasswordPolicy::default()
        };
        assert!(
            policy
                .check(
                    &Password::new(
                        "a reasonably long passphrase of sixty-four chars ok!!!!!!!!!!!!"
                    ),
                    &[]
                )
                .is_ok()
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        assert_eq!(format!("{:?}", Password::new("hunter22")), "Password(***)");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = check(&s);
        }

        #[test]
        fn anything_shorter_than_min_is_refused(s in "\\PC{0,7}") {
            prop_assert_eq!(check(&s), Err(PasswordProblem::TooShort(8)));
        }
    }
}
