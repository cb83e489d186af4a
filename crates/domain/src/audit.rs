//! Security events recorded in the audit trail.

crate::string_enum!(
    /// A security-relevant event. The string forms are stored and must not change.
    pub enum AuditAction {
        /// An account was registered.
        Registered => "registered",
        /// Someone tried to register a contact that already has an account (its owner is told).
        RegistrationOnExistingContact => "registration-on-existing-contact",
        /// A login succeeded.
        LoginSucceeded => "login-succeeded",
        /// A login failed.
        LoginFailed => "login-failed",
        /// An identifier was locked after too many failures.
        Lockout => "lockout",
        /// A session was logged out.
        Logout => "logout",
        /// Every session of an account was ended.
        LogoutEverywhere => "logout-everywhere",
        /// One listed session was ended by its owner.
        SessionRevoked => "session-revoked",
        /// The password was changed.
        PasswordChanged => "password-changed",
        /// Recovery of an account was asked for.
        RecoveryRequested => "recovery-requested",
        /// The password was reset through recovery.
        PasswordReset => "password-reset",
        /// A portal ID reminder was sent.
        PortalIdReminded => "portal-id-reminded",
        /// A new phone or e-mail was asked for.
        ContactChangeRequested => "contact-change-requested",
        /// The phone or e-mail was changed.
        ContactChanged => "contact-changed",
        /// The name was changed.
        NameChanged => "name-changed",
        /// The language of messages was changed.
        LanguageChanged => "language-changed",
        /// An administrator added an account.
        AdminUserAdded => "admin-user-added",
        /// An administrator locked an account.
        AdminUserLocked => "admin-user-locked",
        /// An administrator unlocked an account.
        AdminUserUnlocked => "admin-user-unlocked",
        /// The person allowed an app to receive their data.
        ConsentGranted => "consent-granted",
        /// The person withdrew an app's consent.
        ConsentWithdrawn => "consent-withdrawn",
        /// An upstream login was linked to the account.
        ExternalLinked => "external-linked",
        /// An upstream login was removed from the account.
        ExternalUnlinked => "external-unlinked",
        /// Two-step login was turned on.
        TwoStepEnabled => "two-step-enabled",
        /// Two-step login was turned off.
        TwoStepDisabled => "two-step-disabled",
        /// A second-step code was wrong.
        TwoStepFailed => "two-step-failed",
        /// An administrator turned two-step login off for a person who lost their device.
        TwoStepReset => "two-step-reset",
        /// A passkey was added to the account.
        PasskeyAdded => "passkey-added",
        /// A passkey was removed from the account.
        PasskeyRemoved => "passkey-removed",
        /// New recovery codes replaced the old ones.
        RecoveryCodesRenewed => "recovery-codes-renewed",
        /// The catalog's shared entries (regions, departments…) changed on import.
        CatalogImported => "catalog-imported",
        /// A service's definition changed on import: a new version.
        ServiceImported => "service-imported",
        /// An application was started (a draft).
        ApplicationStarted => "application-started",
        /// An application was submitted.
        ApplicationSubmitted => "application-submitted",
        /// The applicant withdrew an application.
        ApplicationWithdrawn => "application-withdrawn",
        /// A workflow action was taken on an application (by its applicant or an officer).
        ApplicationActed => "application-acted",
        /// An officer opened an application (recorded against the citizen).
        ApplicationViewed => "application-viewed",
        /// Centre staff opened the day's list of people expected, with their names.
        CentreListViewed => "centre-list-viewed",
        /// An officer claimed an application from the queue, or released it.
        ApplicationClaimed => "application-claimed",
        /// An application passed its state's deadline; the escalation role was told.
        ApplicationEscalated => "application-escalated",
        /// An untouched draft was deleted after its reminder.
        ApplicationExpired => "application-expired",
        /// An administrator set an account's level.
        AdminLevelSet => "admin-level-set",
        /// An administrator searched the accounts (the detail holds the text).
        UsersSearched => "users-searched",
        /// An officer was given a role in a department.
        OfficerAssigned => "officer-assigned",
        /// A payment began (a gateway payment created, a challan generated).
        PaymentStarted => "payment-started",
        /// An order was paid.
        PaymentReceived => "payment-received",
        /// An order was paid twice; the second payment is being refunded.
        PaymentDuplicate => "payment-duplicate",
        /// A payment notification was refused: a bad or stale signature, or an amount or
        /// currency other than the order's.
        PaymentNoticeRejected => "payment-notice-rejected",
        /// A refund was paid out, refused, or handed to the treasury.
        PaymentRefunded => "payment-refunded",
        /// A bank statement was imported.
        PaymentsReconciled => "payments-reconciled",
        /// The balance due at a centre was recorded as paid there.
        PaymentAtCentre => "payment-at-centre",
        /// Service centres were imported.
        CentresImported => "centres-imported",
        /// A place at a centre was held for an application.
        AppointmentHeld => "appointment-held",
        /// A held place was booked.
        AppointmentBooked => "appointment-booked",
        /// An appointment was cancelled.
        AppointmentCancelled => "appointment-cancelled",
        /// An appointment was moved.
        AppointmentRescheduled => "appointment-rescheduled",
        /// A citizen was checked in at a centre (a queue token issued).
        AppointmentCheckedIn => "appointment-checked-in",
        /// A booked citizen did not come.
        AppointmentNoShow => "appointment-no-show",
        /// A walk-in token was issued at a centre.
        TokenIssued => "token-issued",
        /// A token was called to a counter.
        TokenCalled => "token-called",
        /// A called token was served, or did not come.
        TokenFinished => "token-finished",
        /// A profile was saved to be filled in later.
        ProfileSaved => "profile-saved",
        /// A profile was sent for checking.
        ProfileSubmitted => "profile-submitted",
        /// A registry's check of a profile item ended.
        ProfileChecked => "profile-checked",
        /// A staff member decided a check under review.
        ProfileReviewed => "profile-reviewed",
        /// A staff member opened a person's profile (to review a check, or at a centre).
        ProfileViewed => "profile-viewed",
        /// An operator at a centre confirmed the person's identity in person.
        IdentityConfirmed => "identity-confirmed",
        /// An operator at a centre gave a person who lost their contacts a new phone.
        AccessRestored => "access-restored",
        /// A trusted identity provider's claims were matched against the checked profile.
        IdentityMatched => "identity-matched",
        /// The person asked for an activation letter by post.
        LetterRequested => "letter-requested",
        /// A batch of activation letters was printed.
        LettersExported => "letters-exported",
        /// The person typed the code of their activation letter.
        LetterCodeEntered => "letter-code-entered",
        /// The account's level was raised by its checks.
        LevelRaised => "level-raised",
        /// The account's level was lowered (a checked fact was changed).
        LevelLowered => "level-lowered",
        /// A new data key was made and personal data re-sealed.
        DataKeysRotated => "data-keys-rotated",
        /// A document was uploaded to the person's locker.
        DocumentUploaded => "document-uploaded",
        /// A document in a locker was opened or downloaded (by its owner, or by staff).
        DocumentViewed => "document-viewed",
        /// A document was removed from the person's locker.
        DocumentDeleted => "document-deleted",
        /// An agency issued a document into the person's locker (or a new version of one).
        DocumentIssued => "document-issued",
        /// The person made a link to one of their documents.
        DocumentShared => "document-shared",
        /// The person ended a link to one of their documents.
        DocumentShareRevoked => "document-share-revoked",
    }
);

crate::string_enum!(
    /// Whether the event was allowed to happen.
    pub enum Outcome {
        /// It happened.
        Success => "success",
        /// It was tried and failed (a wrong password, a wrong code).
        Failure => "failure",
        /// It was refused by a rule (a limit, a lock).
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
