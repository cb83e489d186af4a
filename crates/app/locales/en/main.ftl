language-name = English
site-name = Ekdwar
skip-to-content = Skip to main content
nav-label = Account
nav-account = Your account
nav-login = Log in
nav-logout = Log out
nav-register = Create an account
language-switch = Language
footer-text = Ekdwar — one account for every public service.
home-title = One account for every public service
home-lead = Create an account once, then use it for every department's services.
home-register = Create an account
home-welcome-back = Welcome back, { $name }.
error-summary-title = There is a problem
save = Save
register-title = Create an account
register-lead = Use your mobile number or e-mail address. We will send you a code or a link to check it.
register-continue = Continue
register-have-account = Already have an account?
register-password-title = Choose your portal ID and password
register-password-lead = Nearly done, { $name }. You can log in with your portal ID, phone or e-mail.
register-create = Create account
field-contact = Mobile number or e-mail address
field-contact-hint = A mobile number, such as { $phones }, or an e-mail address, such as name@example.in
field-first-name = First name
field-last-name = Last name
field-consent = I give my consent to the processing of my personal data to provide public services.
field-code = Code
field-code-hint = The 6-digit code we sent you.
field-portal-id = Portal ID
field-portal-id-hint = 4 to 32 letters, digits, dots, dashes or underscores, starting with a letter.
field-identifier = Mobile number, e-mail or portal ID
field-identifier-hint = Any of the ones on your account.
field-password = Password
field-new-password = New password
field-password-hint = At least { $n ->
        [one] { $n } character
       *[other] { $n } characters
    }. A few unrelated words are easy to remember and hard to guess.
field-confirm-password = Type the password again
password-show = Show password
password-hide = Hide password
field-current-password = Current password
reauth-hint = For your safety: you logged in more than 10 minutes ago.
field-new-contact = New mobile number or e-mail address
strength-0 = Strength: very weak
strength-1 = Strength: weak
strength-2 = Strength: fair
strength-3 = Strength: good
strength-4 = Strength: strong
captcha-legend = Check that you are a person
captcha-why = To keep automated programs out, we check that you are a person. If your browser runs scripts it does this for you; otherwise answer the sum.
captcha-done = Check done. You can continue.
captcha-question = What is { $a } plus { $b }?
captcha-working = Checking automatically…
verify-title = Check your code
verify-lead-sms = We sent a 6-digit code by SMS to { $contact }. It is valid for 10 minutes.
verify-lead-email = We sent a link to { $contact }. Open it to continue; it is valid for 24 hours.
verify-title-email = Check your e-mail
verify-link-hint = Open the e-mail from Ekdwar and follow the link in it. You can close this page. If nothing arrives within a few minutes, look in your spam folder or send a new link.
verify-resend-link = Send a new link
verify-continue = Continue
verify-resend = Send a new code
verify-start-again = Wrong number or address? Change it
login-title = Log in
login-button = Log in
login-forgot-password = Forgot your password?
login-forgot-portal-id = Forgot your portal ID?
recover-title = Reset your password
recover-lead = Enter the mobile number or e-mail of your account, or its portal ID together with one more thing the account holds. We will send a code or a link to its verified contact.
recover-send = Send
recover-verify-title = Check your phone or e-mail
recover-verify-lead = If an account matches, we have sent a 6-digit code by SMS or a link by e-mail to its contact. Enter the code below, or open the link.
recover-password-title = Choose a new password
portal-id-title = Find your portal ID
portal-id-lead = Enter the mobile number or e-mail address of your account, or a national ID confirmed on it. If an account has it, we will send its portal ID to the account's own phone or e-mail.
field-contact-or-id = Mobile number, e-mail or national ID
field-second = With a portal ID: the account's mobile number, e-mail or national ID
field-second-hint = Leave it empty if you typed a mobile number or e-mail above.
err-contact-or-id = Enter a mobile number, an e-mail address or a national ID number, such as your Aadhaar
err-recover-second-required = With a portal ID, also enter the account's mobile number, e-mail or national ID
contact-verify-title = Check your new contact
account-title = Your account
account-name = Name
account-phone = Mobile number
account-email = E-mail
account-none = not given
account-level = Account level
account-change-name = Change your name
account-change-contact = Add or change a mobile number or e-mail
account-send-code = Send code
account-change-password = Change your password
account-more = Security
level-simplified = Simplified
level-standard = Standard
level-verified = Verified
level-next-standard = To reach the standard level, add your identity document and national ID numbers; they are checked against state registries.
level-next-verified = To reach the verified level, confirm your identity in person at a service center, with an activation code sent by post, or with an e-signature.
account-level-more = What the levels mean
levels-title = Account levels
levels-lead = Some services need more certainty that you are who you say. Each level adds a check, and levels are reached in order.
levels-current = your level
levels-back = Back to your account
level-about-simplified = Your name and a checked mobile number or e-mail. Enough for information, the apps page and apps that ask for nothing more.
level-about-standard = Adds your identity document and national ID numbers, checked automatically against state registries (from minutes to a few days; you are told when it is done). Needed for appointments, fines and most applications.
level-about-verified = Your identity confirmed in person at a service centre, with an activation code sent by registered post, or with an electronic signature. Needed for services with legal effect.
sessions-title = Where you are logged in
sessions-caption = Active sessions
sessions-device = Device
sessions-ip = IP address
sessions-started = Started
sessions-last-seen = Last active
sessions-action = Action
sessions-this-device = this device
sessions-revoke = Log out
sessions-logout-all = Log out everywhere
security-title = Security events
security-caption = Recent security events on your account
security-when = When
security-what = What happened
security-lead = Everything that happened to your account's sign-ins, password and contacts, newest first.
security-none = Nothing has happened on your account yet.
security-pages = Pages of security events
security-newest = Newest events
security-older = Older events
security-not-you = Something here was not you? Change your password now, then tell the helpdesk.
security-change-password = Change password
security-helpdesk = Helpdesk
audit-login-failed-failure = Login refused: wrong password
audit-login-failed-denied = Login refused: too many attempts, paused for a while
audit-password-changed-failure = Password not changed: the current password was wrong
outbox-title = Outbox
outbox-lead = Development mode: these messages were not sent to a real gateway.
error-title = Something went wrong
error-not-found-title = Page not found
error-unavailable-title = The portal cannot save anything right now
err-no-space = Nothing you sent was lost, but it was not saved either: the portal's storage is full. Try again in a few minutes; the portal's operators have been alerted.
err-unavailable = The portal cannot reach its database right now. Nothing you sent was lost, but it was not saved either. Try again in a few minutes.
error-reference = Error code for the helpdesk: { $id }
error-home = Go to the home page
notice-welcome = Your account is ready.
notice-logged-out = You have logged out.
notice-logged-out-everywhere = You have been logged out on every device.
notice-code-resent = We have sent a new code.
notice-password-reset = Your password has been changed. Log in with the new one.
notice-password-changed = Your password has been changed. Other devices have been logged out.
notice-password-expired = Your password has expired. Choose a new one to continue.
notice-portal-id-sent = If an account has that contact, we have sent its portal ID there.
notice-saved = Saved.
notice-contact-changed = Your contact details have been updated.
notice-session-ended = That session has ended.
err-phone-invalid = Enter a mobile number the way it is written in your country, for example { $phones }
err-email-invalid = Enter a valid e-mail address, like name@example.in
err-portal-id-format = A portal ID has 4 to 32 letters, digits, dots, dashes or underscores and starts with a letter
err-portal-id-reserved = This portal ID is reserved. Choose another one
err-portal-id-taken = This portal ID is taken. Choose another one
err-name-missing = Enter a name
err-seed-not-empty = This database already holds { $count } accounts. Seeded accounts all share one password, so they are written only into an empty database: give a new data folder (--data) or database URL (--database-url).
err-last-name-missing = Enter your last name
err-first-name-missing = Enter your first name
err-contact-missing = Enter your mobile number or e-mail address
err-name-too-long = A name can have at most 100 characters
err-name-characters = A name can contain letters, spaces, dots, apostrophes and dashes
err-identifier-invalid = Enter your mobile number, e-mail address or portal ID
err-region-invalid = Unknown region
err-otp-format = Enter the 6 digits of the code
err-consent-required = To create an account, give your consent to the processing of your personal data
err-captcha-wrong = The answer is not right. Try again
err-captcha-expired = The check has expired. Answer the new one
err-captcha-required = Too many attempts from here. Answer the check below and try again
err-password-too-short = The password must have at least { $n ->
        [one] { $n } character
       *[other] { $n } characters
    }
err-password-too-long = The password can have at most { $n ->
        [one] { $n } character
       *[other] { $n } characters
    }
err-password-common = This password is too common. Choose a less obvious one
err-password-contains-identifier = The password must not contain your name, phone, e-mail or portal ID
err-password-composition = The password needs a lower-case letter, an upper-case letter and a digit
err-password-weak = This password is too easy to guess. Add more words or characters
err-password-mismatch = The two passwords are different
err-password-current-wrong = The current password is not right
err-reauth-required = Enter your password to continue
err-reauth-login-again = For your safety, log out and log in again to continue
err-password-same = The new password must be different from the current one
err-contact-unchanged = This is already your contact
err-already-registered = This is already registered
err-login-failed = The mobile number, e-mail, portal ID or password is not right. Check them, or reset your password
err-throttled = Too many attempts. Try again in { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }, or reset your password
err-code-wrong = The code is not right. You have { $left ->
        [one] { $left } attempt
       *[other] { $left } attempts
    } left
err-code-too-many = Too many wrong codes. Ask for a new code or start again
err-resend-too-soon = You can ask for a new code in { $seconds ->
        [one] { $seconds } second
       *[other] { $seconds } seconds
    }
err-flow-expired = This step has expired or was already completed. Please start again
err-account-locked = This account is locked. Contact the helpdesk or a service center
err-csrf = The form has expired. Go back, reload the page and try again
err-too-large = The form is too large
err-method-not-allowed = This address cannot be used that way. Go back and use the buttons and links on the page
err-bad-request = The request could not be read. Go back, reload the page and try again
err-not-found = There is no page at this address. Check it, or go to the home page
err-internal = We could not complete this. Please try again; if it happens again, contact the helpdesk with the reference below
err-form-invalid = The form has errors
audit-registered = Account created
audit-registration-on-existing-contact = Someone tried to register with your contact
audit-login-succeeded = Logged in
audit-login-failed = Failed login
audit-lockout = Logins paused after failed attempts
audit-logout = Logged out
audit-logout-everywhere = Logged out everywhere
audit-session-revoked = Session ended
audit-password-changed = Password change
audit-recovery-requested = Password reset requested
audit-password-reset = Password reset
audit-portal-id-reminded = Portal ID sent
audit-contact-change-requested = Contact change requested
audit-contact-changed = Contact changed
audit-name-changed = Name changed
audit-language-changed = Language changed
audit-admin-user-added = Account created by an administrator
audit-admin-user-locked = Account locked by an administrator
audit-admin-user-unlocked = Account unlocked by an administrator
sms-register = Ekdwar code { $code }. Valid { $minutes } min. Never share it.
email-register-subject = Confirm your e-mail for Ekdwar
email-register-body = Open this link to confirm your e-mail address and continue creating your account:
    { $link }
    The link is valid for { $hours } hours. If you did not ask for it, ignore this message.
sms-register-existing = Someone tried to create an Ekdwar account with this number. It already has account { $portal_id }. Forgot the password? { $link }
email-register-existing-subject = Someone tried to register with your e-mail
email-register-existing-body = Someone tried to create an Ekdwar account with this e-mail address. It already belongs to account { $portal_id }.
    If it was you, log in or reset your password: { $link }
    If not, you can ignore this message.
sms-recover = Ekdwar password reset code { $code }. Valid { $minutes } min. Never share it.
email-recover-subject = Reset your Ekdwar password
email-recover-body = Open this link to choose a new password:
    { $link }
    The link is valid for { $hours } hours. If you did not ask for it, ignore this message; your password stays the same.
sms-portal-id = Your Ekdwar portal ID is { $portal_id }. Log in: { $link }
email-portal-id-subject = Your Ekdwar portal ID
email-portal-id-body = Your portal ID is { $portal_id }.
    Log in: { $link }
sms-contact-verify = Ekdwar code { $code } to add this number to your account. Valid { $minutes } min.
email-contact-verify-subject = Confirm your new e-mail for Ekdwar
email-contact-verify-body = Open this link to add this e-mail address to your Ekdwar account:
    { $link }
    The link is valid for { $hours } hours.
sms-contact-changed = Ekdwar: the contact of account { $portal_id } was changed to { $new }. Not you? Contact the helpdesk.
email-contact-changed-subject = Your Ekdwar contact details were changed
email-contact-changed-body = The contact of account { $portal_id } was changed to { $new }.
    If this was not you, contact the helpdesk at once.
sms-password-changed = Ekdwar: the password of account { $portal_id } was changed. Not you? Reset it now.
email-password-changed-subject = Your Ekdwar password was changed
email-password-changed-body = The password of account { $portal_id } was changed.
    If this was not you, reset your password at once and contact the helpdesk.
# Read by screen readers before each error, and put before the page title.
error-prefix = Error:

## Dates: "23 Nov 2026, 13:05 IST" (the zone is the deployment's).
datetime = { $day } { $month } { $year }, { $time } { $zone }
date = { $day } { $month } { $year }
datetime-weekday = { $weekday }, { $day } { $month } { $year }, { $time } { $zone }
date-weekday = { $weekday }, { $day } { $month } { $year }
weekday-1 = Mon
weekday-2 = Tue
weekday-3 = Wed
weekday-4 = Thu
weekday-5 = Fri
weekday-6 = Sat
weekday-7 = Sun
month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec

## Two-step login
login-code-title = Enter the code from your app
login-code-lead = Your account uses two-step login. Open your authenticator app and type the code it shows for Ekdwar.
field-app-code = Code from the app
field-app-code-hint = 6 digits, or one of your recovery codes (like abcde-fghjk).
login-code-lost = Lost the phone with the app and your recovery codes too? Call the helpdesk: once they have checked who you are, they can turn two-step login off for you.
two-step-title = Two-step login
two-step-lead = After your password, the portal also asks for a code from an authenticator app on your phone. Someone who learns your password still cannot log in.
two-step-is-off = Two-step login is off.
two-step-is-on = Two-step login is on.
two-step-on-short = on
two-step-off-short = off
two-step-step-app = Install an authenticator app
two-step-step-app-hint = Any app for time-based codes works, for example Google Authenticator, Microsoft Authenticator, FreeOTP or Aegis.
two-step-step-scan = Add this account to the app
two-step-step-type = Scan the QR code with the app, or type this key in it:
two-step-key-details = Type of key: time-based; 6 digits; a new code every 30 seconds.
two-step-step-code = Type the code the app shows
two-step-code-hint = 6 digits. The app shows a new one every 30 seconds.
two-step-turn-on = Turn on two-step login
two-step-codes-left = Recovery codes left: { $n }
two-step-manage = Change two-step login
two-step-new-codes-hint = New recovery codes replace the old ones, which then stop working.
two-step-new-codes = Get new recovery codes
two-step-required-admin = Administrators must use two-step login, so it cannot be turned off.
two-step-turn-off-hint = Without two-step login, your password alone lets anyone into your account.
two-step-turn-off = Turn off two-step login
two-step-back = Back to your account
recovery-codes-title = Save your recovery codes
recovery-codes-lead = If you cannot use your app (a lost or new phone), log in with one of these codes instead of the app's code. Each code works once.
recovery-codes-once = They are shown only now. Print them or write them down, and keep them somewhere safe.
recovery-codes-saved = I have saved them
notice-two-step-on = Two-step login is on.
notice-two-step-off = Two-step login is off.
notice-two-step-required = Administrators must use two-step login. Set it up to continue.
notice-two-step-expired = The login took too long. Log in again.
err-two-step-code-wrong = The code is not right. Type the code the app shows now, or a recovery code
err-two-step-code-format = Type the 6 digits from the app, or a recovery code like abcde-fghjk
err-two-step-required = Administrators cannot turn off two-step login
audit-two-step-enabled = Two-step login turned on
audit-two-step-disabled = Two-step login turned off
audit-two-step-failed = Login refused: wrong code from the app
audit-two-step-reset = Two-step login turned off by an administrator
audit-recovery-codes-renewed = New recovery codes made
sms-two-step-on = Ekdwar: two-step login of account { $portal_id } was turned on. Not you? Call the helpdesk.
email-two-step-on-subject = Two-step login is on for your Ekdwar account
email-two-step-on-body = Two-step login was turned on for account { $portal_id }: logins now also ask for a code from an authenticator app.
    If this was not you, contact the helpdesk at once.
sms-two-step-off = Ekdwar: two-step login of account { $portal_id } was turned off. Not you? Call the helpdesk.
email-two-step-off-subject = Two-step login is off for your Ekdwar account
email-two-step-off-body = Two-step login was turned off for account { $portal_id }: the password alone now logs in.
    If this was not you, reset your password at once and contact the helpdesk.
register-as-employee = I am a government employee
field-employee-id = Employee ID
field-employee-id-hint = As in your department's records (for example your SIPF or HRMS number). Your portal ID will be made of your name, never your post.
err-employee-id-invalid = Enter the employee ID as in your department's records: 3 to 20 letters, digits, dashes or slashes
err-portal-id-designation = A government employee's portal ID names you, not your post. Choose one made of your name
err-employee-id-taken = This employee ID already has an account. Log in to it, or ask your department's helpdesk
account-employee-id = Government employee ID
notice-employee-check = Welcome. As a government employee, have one national ID number (such as your Jan Aadhaar) checked once: fill in your profile below.

## Passkeys
passkeys-title = Passkeys
passkeys-lead = A passkey lets you log in with your phone's screen lock, your fingerprint or a security key, without typing a password. It works only on this portal, so a fake site cannot trick you into giving it away.
passkeys-staff = For staff, a passkey is also the second step of a password login, in place of the code from an authenticator app.
passkeys-none = You have no passkeys yet.
passkeys-caption = Your passkeys
passkeys-name = Name
passkeys-added = Added
passkeys-used = Last used
passkeys-never-used = Not used yet
passkeys-remove = Remove
passkeys-unavailable = Passkeys are not available on this portal.
passkeys-full = You have 10 passkeys, the most an account can keep. Remove one to add another.
passkeys-add-title = Add a passkey
passkeys-field-name = Name of the passkey
passkeys-field-name-hint = So that you can tell your passkeys apart, for example "My phone" or "Office security key". Up to 60 characters.
passkeys-add = Add a passkey
passkeys-count = { $n ->
    [0] none
    [one] 1 passkey
   *[other] { $n } passkeys
}
two-step-passkey-instead = Use a passkey instead of an authenticator app
login-passkey = Log in with a passkey
login-code-or-passkey = Or use your passkey
login-code-passkey-lead = Your account uses a passkey for the second step. Use it on this device to finish logging in.
login-passkey-use = Use your passkey
notice-passkey-added = The passkey was added. Next time, you can log in with it.
notice-passkey-removed = The passkey was removed.
err-passkey-refused = This passkey was not accepted. Try again, or log in with your password
err-passkey-needs-script = Passkeys need a browser that supports them, with JavaScript turned on. You can still log in with your password.
err-passkey-cancelled = The device did not give a passkey. Try again when you are ready, or log in another way
err-passkey-name-format = Give the passkey a name of up to 60 characters
err-passkey-too-many = You have 10 passkeys, the most an account can keep. Remove one first
err-passkey-exists = This passkey is already on your account
err-passkeys-unavailable = Passkeys are not available on this portal
err-passkey-last-factor = Staff need a second step to log in. Add another passkey or an authenticator app before you remove this one
audit-passkey-added = Passkey added
audit-passkey-removed = Passkey removed
sms-passkey-added = Ekdwar: a passkey was added to account { $portal_id }. Not you? Call the helpdesk.
email-passkey-added-subject = A passkey was added to your Ekdwar account
email-passkey-added-body = A passkey was added to account { $portal_id }: it can now log in without a password. If this was not you, remove it on the Passkeys page of your account and call the helpdesk.
sms-passkey-removed = Ekdwar: a passkey was removed from account { $portal_id }. Not you? Call the helpdesk.
email-passkey-removed-subject = A passkey was removed from your Ekdwar account
email-passkey-removed-body = A passkey was removed from account { $portal_id }: it no longer logs in.
