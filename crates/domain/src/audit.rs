//! Security events recorded in the audit trail.

crate::string_enum!(
    /// A security-relevant event. The string forms are stored and must not change.
    pub enum AuditAction {
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
);

crate::string_enum!(
    /// Whether the event was allowed to happen.
    pub enum Outcome {
        Success => "success",
        Failure => "failure",
        Denied => "denied",
    }
);

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
