//! Security events recorded in the audit trail.

use serde::Serialize;

macro_rules! audit_actions {
    ($($variant:ident => $s:literal),+ $(,)?) => {
        /// A security-relevant event. The string forms are stored and must not change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum AuditAction { $($variant),+ }

        impl AuditAction {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

audit_actions! {
    Registered => "registered",
    RegistrationOnExistingContact => "registration-on-existing-contact",
    LoginSucceeded => "login-succeeded",
    LoginFailed => "login-failed",
    Lockout => "lockout",
    Logout => "logout",
    LogoutEverywhere => "logout-everywhere",
    SessionRevoked => "session-revoked",
    PasswordChanged => "password-changed",
    RecoveryRequested => "recovery-requested",
    PasswordReset => "password-reset",
    PortalIdReminded => "portal-id-reminded",
    ContactChangeRequested => "contact-change-requested",
    ContactChanged => "contact-changed",
    NameChanged => "name-changed",
    LanguageChanged => "language-changed",
    AdminUserAdded => "admin-user-added",
    AdminUserLocked => "admin-user-locked",
    AdminUserUnlocked => "admin-user-unlocked",
    ConsentGranted => "consent-granted",
    ConsentWithdrawn => "consent-withdrawn",
    ExternalLinked => "external-linked",
    ExternalUnlinked => "external-unlinked",
    TwoStepEnabled => "two-step-enabled",
    TwoStepDisabled => "two-step-disabled",
    TwoStepFailed => "two-step-failed",
    TwoStepReset => "two-step-reset",
    RecoveryCodesRenewed => "recovery-codes-renewed",
}

/// Whether the event was allowed to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "failure" => Some(Self::Failure),
            "denied" => Some(Self::Denied),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for a in [
            AuditAction::Registered,
            AuditAction::Lockout,
            AuditAction::AdminUserUnlocked,
        ] {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        assert_eq!(Outcome::parse("denied"), Some(Outcome::Denied));
    }
}
