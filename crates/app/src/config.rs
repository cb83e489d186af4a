//! Typed, layered configuration: defaults → TOML file → `EKDWAR_SECTION__KEY` variables →
//! command-line flags. Unknown keys are errors, so a typo never silently falls back to a default.

use std::path::{Path, PathBuf};

use ekdwar_domain::password::PasswordPolicy;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A secret value (password, token, key). `Debug` and serialisation never show it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub locale: LocaleConfig,
    pub security: SecurityConfig,
    pub password: PasswordPolicy,
    pub argon2: Argon2Config,
    pub smtp: SmtpConfig,
    pub sms: SmsConfig,
    pub sso: SsoConfig,
    pub applications: ApplicationsConfig,
    pub payments: PaymentsConfig,
    pub appointments: AppointmentsConfig,
    /// Upstream identity providers people may log in with ("others" registration).
    pub upstream: Vec<UpstreamConfig>,
    /// The standard profile: which countries' profiles people fill in.
    pub profile: ProfileConfig,
    /// The state registries that check profiles (`docs/registries.md`).
    pub registries: Vec<RegistryConfig>,
    /// The document locker: where files are kept and how much each person may keep.
    pub locker: LockerConfig,
}

/// The document locker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LockerConfig {
    /// The megabytes of documents one person may keep (DigiLocker gives 1 GB).
    pub quota_mb: u64,
    /// Where the sealed files go: local files under the data folder (`locker/`), unless an
    /// S3-compatible bucket is configured.
    pub s3: Option<S3Config>,
    /// The agencies that issue documents into lockers (`docs/locker.md`).
    pub issuers: Vec<IssuerConfig>,
    /// How long an issuer has to answer a person's request for a document.
    pub pull_timeout_ms: u64,
}

impl Default for LockerConfig {
    fn default() -> Self {
        Self {
            quota_mb: 1024,
            s3: None,
            issuers: Vec::new(),
            pull_timeout_ms: 10_000,
        }
    }
}

/// An agency that issues documents: it pushes them with requests signed by its API key, and
/// signs each document with its own key, whose public half is kept here.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Its issuer id, the reversed domain its URIs begin with (`in.gov.cbse`).
    pub id: String,
    /// Its name as citizens read it.
    pub name: String,
    /// The `clientid` of its requests.
    pub client_id: String,
    /// The key of the HMAC over each request's body (`x-digilocker-hmac`).
    pub api_key: Secret,
    /// The public key its documents are signed with (P-256, PEM).
    pub public_key: String,
    /// The document types it issues (`HSCER`); empty: any (pushed only).
    #[serde(default)]
    pub doc_types: Vec<String>,
    /// Its Pull URI endpoint, where people fetch their documents of `doc_types` by a roll or
    /// registration number; none: it only pushes.
    #[serde(default)]
    pub pull_url: Option<String>,
}

/// An S3-compatible bucket (AWS, MinIO, Ceph): files are sealed before they leave the portal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// The region (any name for a store that has none).
    #[serde(default = "default_s3_region")]
    pub region: String,
    /// The endpoint, for a store other than AWS (`https://minio.example:9000`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The access key's id.
    pub access_key_id: String,
    /// The access key's secret.
    pub secret_access_key: Secret,
    /// Allow an `http://` endpoint (a store on the same host or network only).
    #[serde(default)]
    pub allow_http: bool,
}

fn default_s3_region() -> String {
    "us-east-1".into()
}

/// The standard profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ProfileConfig {
    /// The country profiles offered, the first for people who choose none: `in` and `ru` are
    /// built in; any other is the path of a TOML file of that shape (`docs/registries.md`).
    pub countries: Vec<String>,
    /// Days a check may stay unanswered (the registry down or pending) before a staff member
    /// reviews it.
    pub review_after_days: u64,
    /// Days an activation letter's code is valid after it is printed.
    pub letter_valid_days: u64,
    /// Wrong codes a letter takes before it is spent.
    pub letter_attempts: i64,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        Self {
            countries: vec!["in".into()],
            review_after_days: 7,
            letter_valid_days: 90,
            letter_attempts: 5,
        }
    }
}

/// A state registry, reached through the registry connector protocol.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// The name country profiles give it (`sfr`, `uidai`).
    pub id: String,
    /// Its base address.
    pub url: String,
    /// Who we are to it.
    pub client_id: String,
    /// The shared secret requests and answers are signed with.
    pub secret: Secret,
    /// How long one request may take.
    #[serde(default = "default_registry_timeout")]
    pub timeout_ms: u64,
    /// How long its checks usually take, as people are told (minutes).
    #[serde(default = "default_registry_expected")]
    pub expected_minutes: u64,
}

fn default_registry_timeout() -> u64 {
    10_000
}

fn default_registry_expected() -> u64 {
    5
}

/// How long applications wait.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApplicationsConfig {
    /// A draft untouched this many days is deleted.
    pub draft_days: u32,
    /// The applicant is reminded this many days before an untouched draft is deleted.
    pub draft_reminder_days: u32,
}

impl Default for ApplicationsConfig {
    fn default() -> Self {
        Self {
            draft_days: 30,
            draft_reminder_days: 7,
        }
    }
}

/// How fees are paid.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// The payment gateway for card and net banking; without one, fees are paid by challan.
    pub gateway: Option<GatewayConfig>,
    /// Offer the bank challan.
    pub challan: bool,
    /// The banks (and branches) that accept the portal's challans, as printed on it ("State
    /// Bank of India, any branch"); none: "any authorised bank".
    pub challan_banks: Vec<String>,
    /// A gateway payment the portal has heard nothing about for this long is asked about
    /// (status query), and one abandoned for this long again is closed as expired.
    pub stuck_after_minutes: u64,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            gateway: None,
            challan: true,
            challan_banks: Vec::new(),
            stuck_after_minutes: 15,
        }
    }
}

/// How appointments are booked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AppointmentsConfig {
    /// How long a slot is held while the citizen confirms and pays.
    pub hold_minutes: u64,
    /// Reschedules per application (within a year of the first date).
    pub max_reschedules: u32,
    /// Cancelling or moving an appointment is allowed up to this many days before it.
    pub cancel_days_before: i32,
    /// Appointments one account may hold or have booked at once.
    pub max_active_per_account: i64,
    /// Booking attempts (holds) from one network address per hour.
    pub holds_per_address_per_hour: i64,
}

impl Default for AppointmentsConfig {
    fn default() -> Self {
        let p = ekdwar_domain::appointments::BookingPolicy::default();
        Self {
            hold_minutes: 15,
            max_reschedules: p.max_reschedules,
            cancel_days_before: p.cancel_days_before,
            max_active_per_account: p.max_active_per_account,
            // A family books a few; a service centre's shared address books for many people,
            // through operators who are not limited by this.
            holds_per_address_per_hour: 10,
        }
    }
}

/// Which protocol a payment gateway speaks.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    /// Ekdwar's own gateway protocol (`docs/payments.md`), which the test gateway speaks.
    Ekdwar,
    /// PayU's hosted checkout.
    Payu,
}

/// A payment gateway.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub kind: GatewayKind,
    /// Its name in the ledger and in the notification address (`/api/payments/notify/{name}`).
    pub name: String,
    /// Its API's base address.
    pub url: String,
    /// The merchant's key (Ekdwar: the API key; PayU: the merchant key).
    pub key: Secret,
    /// The shared secret (Ekdwar: the notification signing secret; PayU: the salt).
    pub secret: Secret,
    /// PayU only: where its server-to-server API lives (`verify_payment`, refunds).
    #[serde(default)]
    pub api_url: Option<String>,
}

/// An upstream OpenID provider (a Google- or Facebook-style login).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Short name used in addresses (`/login/external/{id}`).
    pub id: String,
    /// Shown on the button: "Log in with {name}".
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(default = "default_upstream_scopes")]
    pub scopes: String,
    /// A provider the deployment trusts to have identified its people (an online bank, an
    /// e-KYC service): `"verified"` lets a standard account become verified through it, once
    /// the provider's claims match the account's checked profile. Unset: a login only.
    #[serde(default)]
    pub trusted_for: Option<ekdwar_domain::AccountLevel>,
    /// The claims that carry national identifiers, by kind (`snils = "snils"`): each one the
    /// provider sends must match the checked number, and at least one must come.
    #[serde(default)]
    pub identifier_claims: std::collections::BTreeMap<String, String>,
    /// Whether people may log in (and link) with it; `false` keeps a trusted provider to
    /// proving identities only.
    #[serde(default = "yes")]
    pub login: bool,
    /// A government employee directory (Rajasthan's SIPF login): the claim carrying the
    /// employee ID. Accounts it creates are government employees with that ID, and are asked
    /// once to have a national identifier checked.
    #[serde(default)]
    pub employee_id_claim: Option<String>,
}

impl UpstreamConfig {
    /// A provider for logging in only, trusted for nothing.
    pub fn login_only(
        id: &str,
        name: &str,
        issuer: &str,
        client_id: &str,
        client_secret: Secret,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret,
            scopes: default_upstream_scopes(),
            trusted_for: None,
            identifier_claims: Default::default(),
            login: true,
            employee_id_claim: None,
        }
    }
}

fn yes() -> bool {
    true
}

fn default_upstream_scopes() -> String {
    "openid profile email".into()
}

/// Lifetimes of what the OpenID Connect provider issues.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SsoConfig {
    /// The `iss` of tokens; defaults to the public URL.
    pub issuer: Option<String>,
    pub code_ttl_seconds: u64,
    pub access_token_ttl_seconds: u64,
    pub id_token_ttl_seconds: u64,
    pub refresh_token_ttl_days: u64,
    /// However often it is rotated, a refresh token family ends this long after the login that
    /// started it; the person logs in again.
    pub refresh_family_max_days: u64,
    /// How long a replaced signing key stays in the JWKS, so tokens it signed still verify.
    pub key_overlap_hours: u64,
}

impl Default for SsoConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            code_ttl_seconds: 60,
            access_token_ttl_seconds: 600,
            id_token_ttl_seconds: 600,
            refresh_token_ttl_days: 30,
            refresh_family_max_days: 30,
            key_overlap_hours: 48,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// The address citizens use, for links in e-mails. Defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// Set when a TLS-terminating proxy is in front: cookies become `Secure` and the proxy's
    /// `X-Forwarded-For` is trusted for client addresses.
    pub behind_tls_proxy: bool,
    /// Development conveniences: the outbox is readable at `/dev/outbox`. Never in production.
    pub dev_mode: bool,
    /// Folder for the SQLite database and files; created on first start.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to a SQLite file in the data folder.
    pub database_url: Option<String>,
    /// SQLite only: sync to disk on every commit, so that even a power loss loses nothing.
    /// Off, a process crash still loses nothing; writes are several times faster.
    pub sqlite_full_sync: bool,
    /// PostgreSQL only: how long a request waits for a free database connection before it is
    /// answered "unavailable, try again" (503). While the server cannot be reached at all,
    /// requests are answered at once.
    pub database_wait_ms: u64,
    /// The log warns (`alert=true`, once) when the filesystem of the data folder has less
    /// than this many megabytes free; when it runs out, writes are answered 503.
    pub warn_free_mb: u64,
    /// Key for signing CSRF tokens, challenges and code hashes. Generated into the data folder
    /// when not set; several nodes behind one address must share it.
    pub secret_key: Option<Secret>,
    /// `/metrics` answers requests carrying `Authorization: Bearer <this>`; without it, only
    /// requests made on this machine directly (not through a proxy).
    pub metrics_token: Option<Secret>,
    /// Run the jobs runner (message delivery, back-channel logout, purging) inside `serve`.
    /// On PostgreSQL a deployment may turn it off on web nodes and run `ekdwar worker`
    /// processes instead; on SQLite it must stay on.
    pub run_worker: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            behind_tls_proxy: false,
            dev_mode: false,
            data_dir: PathBuf::from("./ekdwar-data"),
            database_url: None,
            sqlite_full_sync: false,
            database_wait_ms: 2000,
            warn_free_mb: 500,
            secret_key: None,
            metrics_token: None,
            run_worker: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LocaleConfig {
    /// Language for visitors whose browser asks for none we have.
    pub default_language: String,
    /// Country assumed for phone numbers typed without `+` (ISO 3166 code).
    pub default_region: String,
    /// Further countries whose national numbers are accepted, tried after the person's own
    /// language's country and `default_region` (for example `["BD", "NP"]`).
    pub other_regions: Vec<String>,
    /// Time zone of the times shown on pages and in messages (an IANA name).
    pub time_zone: String,
}

impl Default for LocaleConfig {
    fn default() -> Self {
        Self {
            default_language: "en".into(),
            default_region: "IN".into(),
            other_regions: Vec::new(),
            time_zone: "Asia/Kolkata".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    pub session_idle_minutes: u64,
    pub session_absolute_hours: u64,
    /// Lifetime of an SMS code (at most 10).
    pub otp_ttl_minutes: u64,
    /// Wrong codes allowed before the code is dead (at most 10).
    pub otp_max_attempts: i64,
    /// Wait before another code can be sent to the same person.
    pub resend_cooldown_seconds: u64,
    /// Lifetime of an e-mail confirmation link.
    pub email_link_ttl_hours: u64,
    /// Failed logins for one account before a challenge is required.
    pub login_challenge_after: i64,
    /// Failed logins for one account before back-off delays start.
    pub login_free_failures: i64,
    /// Hard cap of failed logins per account per hour (at most 100).
    pub login_max_failures_per_hour: i64,
    /// Leading zero bits the proof-of-work challenge asks for (about 2^n hashes in the browser).
    pub pow_difficulty: u8,
    /// After this many minutes since login, changing a contact asks for the password again.
    pub reauth_minutes: u64,
    /// SMS and e-mail sent for one address in an hour (registration, recovery, resends).
    pub messages_per_address_per_hour: i64,
    /// SMS sent to one number range (the country code and next four digits) in an hour.
    pub sms_per_number_range_per_hour: i64,
    /// SMS sent by the whole portal in an hour: a ceiling against SMS pumping. When it is
    /// reached, SMS waits and an alert is logged; e-mail keeps working.
    pub sms_per_hour: i64,
    /// Failed tries to track an application without logging in, over the whole portal in an
    /// hour (many addresses, one file number each): when reached, tracking waits for the hour
    /// and an alert is logged.
    pub track_failures_per_hour: i64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            otp_ttl_minutes: 10,
            otp_max_attempts: 5,
            resend_cooldown_seconds: 60,
            email_link_ttl_hours: 24,
            login_challenge_after: 3,
            login_free_failures: 5,
            reauth_minutes: 10,
            messages_per_address_per_hour: 10,
            sms_per_number_range_per_hour: 60,
            sms_per_hour: 2000,
            track_failures_per_hour: 10_000,
            login_max_failures_per_hour: 100,
            pow_difficulty: 16,
        }
    }
}

/// argon2id cost. The defaults are OWASP's recommendation (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; more wait. 0 means one per CPU core.
    pub max_concurrent: usize,
}

impl Default for Argon2Config {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection (only for a relay on the same host or network).
    None,
    /// Upgrade with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// SMTP server; e-mail stays in the local outbox when unset.
    pub host: Option<String>,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: None,
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            from: "Ekdwar <no-reply@ekdwar.local>".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// HTTP SMS gateway endpoint; SMS stays in the local outbox when unset. The gateway receives
    /// `POST {"to", "text", "sender"}` as JSON with `Authorization: Bearer {token}`.
    pub http_url: Option<String>,
    pub http_token: Option<Secret>,
    pub sender: Option<String>,
}

/// Values given on the command line; they override every other layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub dev_mode: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Where and what is wrong, never the value itself: it may be a secret.
    #[error("{0}")]
    Parse(String),
    #[error("configuration value {key} is invalid: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// A configuration error without the offending value (which may be a password or key).
fn describe(e: &figment::Error) -> String {
    use figment::error::Kind;
    e.clone()
        .into_iter()
        .map(|e| {
            let what = match &e.kind {
                Kind::InvalidType(_, expected) => {
                    format!("has the wrong type; expected {expected}")
                }
                Kind::InvalidValue(_, expected) => {
                    format!("has a wrong value; expected {expected}")
                }
                Kind::InvalidLength(_, expected) => {
                    format!("has the wrong length; expected {expected}")
                }
                Kind::UnknownVariant(_, known) => format!("is not one of {known:?}"),
                Kind::UnknownField(field, _) => format!("has an unknown key {field}"),
                Kind::MissingField(field) => format!("is missing {field}"),
                Kind::DuplicateField(field) => format!("repeats {field}"),
                Kind::Message(_) => "cannot be read".to_string(),
                _ => "is not valid".to_string(),
            };
            let key = if e.path.is_empty() {
                "the configuration".to_string()
            } else {
                e.path.join(".")
            };
            let source = e
                .metadata
                .as_ref()
                .map(|m| format!(" (from {})", m.name))
                .unwrap_or_default();
            format!("{key} {what}{source}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Config {
    /// Loads the layers. `file` is read if given; it must exist.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(ConfigError::Invalid {
                    key: "--config",
                    reason: format!("{} does not exist", f.display()),
                });
            }
            fig = fig.merge(Toml::file_exact(f));
        }
        fig = fig.merge(
            Env::prefixed("EKDWAR_")
                .filter(|k| k.as_str().contains("__"))
                .split("__"),
        );
        let mut flags = figment::value::Dict::new();
        let mut server = figment::value::Dict::new();
        if let Some(l) = &overrides.listen {
            server.insert("listen".into(), l.clone().into());
        }
        if let Some(d) = &overrides.data_dir {
            server.insert("data_dir".into(), d.display().to_string().into());
        }
        if let Some(u) = &overrides.database_url {
            server.insert("database_url".into(), u.clone().into());
        }
        if let Some(dev) = overrides.dev_mode {
            server.insert("dev_mode".into(), dev.into());
        }
        if !server.is_empty() {
            flags.insert("server".into(), server.into());
            fig = fig.merge(Serialized::globals(flags));
        }
        let config: Config = fig
            .extract()
            .map_err(|e| ConfigError::Parse(describe(&e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Rules the types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        let s = &self.security;
        if !(1..=10).contains(&s.otp_ttl_minutes) {
            return bad("security.otp_ttl_minutes", "must be between 1 and 10");
        }
        if !(1..=10).contains(&s.otp_max_attempts) {
            return bad("security.otp_max_attempts", "must be between 1 and 10");
        }
        if !(1..=100).contains(&s.login_max_failures_per_hour) {
            return bad(
                "security.login_max_failures_per_hour",
                "must be between 1 and 100",
            );
        }
        if s.pow_difficulty > 28 {
            return bad("security.pow_difficulty", "must be at most 28");
        }
        if self.password.min_length < 8 {
            return bad("password.min_length", "must be at least 8");
        }
        if self.password.max_length < PasswordPolicy::MIN_MAX_LENGTH {
            return bad("password.max_length", "must be at least 64");
        }
        if self
            .server
            .secret_key
            .as_ref()
            .is_some_and(|k| k.expose().len() < 32)
        {
            return bad(
                "server.secret_key",
                "must be at least 32 bytes (for example 64 random hex digits)",
            );
        }
        if ekdwar_domain::Region::parse(&self.locale.default_region).is_err() {
            return bad("locale.default_region", "is not an ISO 3166 country code");
        }
        if jiff::tz::TimeZone::get(&self.locale.time_zone).is_err() {
            return bad(
                "locale.time_zone",
                "is not a time zone name such as Asia/Kolkata or Europe/Moscow",
            );
        }
        if let Some(r) = self
            .locale
            .other_regions
            .iter()
            .find(|r| ekdwar_domain::Region::parse(r).is_err())
        {
            return bad(
                "locale.other_regions",
                &format!("{r} is not an ISO 3166 country code"),
            );
        }
        if self.argon2.memory_kib < 8 * self.argon2.parallelism.max(1)
            || self.argon2.iterations == 0
        {
            return bad(
                "argon2",
                "memory_kib must be at least 8 × parallelism and iterations at least 1",
            );
        }
        for u in &self.upstream {
            if !self.server.dev_mode && !u.issuer.starts_with("https://") {
                return bad(
                    "upstream.issuer",
                    "must be an https address outside development mode",
                );
            }
            if u.id.is_empty()
                || !u
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return bad(
                    "upstream.id",
                    "must be lower-case letters, digits and dashes",
                );
            }
            if url::Url::parse(&u.issuer).is_err() {
                return bad("upstream.issuer", "must be a URL");
            }
            if u.trusted_for
                .is_some_and(|l| l != ekdwar_domain::AccountLevel::Verified)
            {
                return bad(
                    "upstream.trusted_for",
                    "can only be \"verified\" (the standard level comes from the registries)",
                );
            }
            if u.identifier_claims
                .keys()
                .any(|k| ekdwar_domain::national_id::IdKind::parse(k).is_none())
            {
                return bad(
                    "upstream.identifier_claims",
                    "names a kind of identifier that does not exist",
                );
            }
        }
        if self.profile.countries.is_empty() {
            return bad(
                "profile.countries",
                "must name at least one country profile",
            );
        }
        for r in &self.registries {
            if url::Url::parse(&r.url).is_err() {
                return bad("registries.url", "must be a URL");
            }
            let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
                .iter()
                .any(|p| r.url.starts_with(p));
            if !self.server.dev_mode && !loopback && !r.url.starts_with("https://") {
                return bad(
                    "registries.url",
                    "must be an https address (or on this machine) outside development mode",
                );
            }
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(
                "server.listen",
                "must be an address and port such as 127.0.0.1:8080",
            );
        }
        Ok(())
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.server
            .database_url
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| ekdwar_store::Store::sqlite_url_in(&self.server.data_dir))
    }

    /// The base URL for links in messages, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.server.listen))
            .trim_end_matches('/')
            .to_string()
    }

    /// The issuer identifier of the OpenID provider.
    pub fn issuer(&self) -> String {
        self.sso
            .issuer
            .clone()
            .unwrap_or_else(|| self.public_url())
            .trim_end_matches('/')
            .to_string()
    }

    pub fn default_toml() -> String {
        toml::to_string_pretty(&Config::default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_round_trip() {
        Config::default().validate().unwrap();
        let text = Config::default_toml();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, Config::default());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("ekdwar-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("bad.toml");
        std::fs::write(&f, "[server]\nlisten = \"127.0.0.1:9\"\nlistne = 1\n").unwrap();
        let err = Config::load(Some(&f), &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
        std::fs::write(&f, "[security]\nlogin_max_failures_per_hour = 500\n").unwrap();
        assert!(Config::load(Some(&f), &Overrides::default()).is_err());
    }

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("ekdwar-cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("ok.toml");
        std::fs::write(
            &f,
            "[server]\nlisten = \"127.0.0.1:9000\"\n[smtp]\npassword = \"hunter2\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&f), &Overrides::default()).unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:9000");
        assert!(!format!("{c:?}").contains("hunter2"));
        let c = Config::load(
            Some(&f),
            &Overrides {
                listen: Some("127.0.0.1:9001".into()),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:9001");
    }
}
