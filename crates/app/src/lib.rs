//! Ekdwar's use-cases. Handlers call one method of [`App`] each; rules live in the domain
//! crate, SQL in the store crate.

pub mod audit;
pub mod captcha;
pub mod config;
pub mod error;
pub mod i18n;
pub mod identity;
pub mod jobs;
mod limits;
pub mod metrics;
pub mod notify;
pub mod security;
pub mod sso;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use ekdwar_domain::throttle::ThrottlePolicy;
use ekdwar_domain::time::SystemClock;
use ekdwar_domain::{Clock, Region, Regions};
use ekdwar_store::Store;
use tokio::sync::Notify;

use crate::config::Config;
use crate::i18n::Lang;
use crate::metrics::Metrics;
use crate::notify::Gateways;
use crate::security::{OsRandom, PasswordHashing, Random, ServerKey};

/// Everything a use-case needs, cheap to clone.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub hashing: PasswordHashing,
    pub key: ServerKey,
    pub metrics: Arc<Metrics>,
    /// The deployment's numbering plans for phone numbers typed without `+`.
    pub regions: Regions,
    pub default_lang: Lang,
    /// The zone of the times people see.
    pub time_zone: jiff::tz::TimeZone,
    pub gateways: Gateways,
    /// HTTP client for upstream identity providers.
    pub http: reqwest::Client,
    signer: Arc<sso::SignerCache>,
    client_cache: Arc<sso::ClientCache>,
    wake_jobs: Arc<Notify>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Optional replacements for the real clock and randomness (tests).
#[derive(Default)]
pub struct Deps {
    pub clock: Option<Arc<dyn Clock>>,
    pub random: Option<Arc<dyn Random>>,
}

/// What opening the portal may do to the database's schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Migrations {
    /// Apply what is missing (`serve`, `migrate`, tests).
    #[default]
    Apply,
    /// Create the schema of an empty database, but refuse one at another release's schema:
    /// an administrative command must not change a production database behind its operator.
    OnlyIfEmpty,
}

impl App {
    /// Connects to the database, applies migrations and prepares hashing and gateways.
    pub async fn build(config: Config, deps: Deps) -> anyhow::Result<Self> {
        Self::open(config, deps, Migrations::Apply).await
    }

    /// Connects to the database, treating its schema as `migrations` says, and prepares
    /// hashing and gateways.
    pub async fn open(config: Config, deps: Deps, migrations: Migrations) -> anyhow::Result<Self> {
        // Every TLS client in the process (SMTP, SMS gateway, PostgreSQL) uses ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data = &config.server.data_dir;
        create_private_dir(data)
            .with_context(|| format!("cannot create data folder {}", data.display()))?;
        let random = deps.random.unwrap_or_else(|| Arc::new(OsRandom));
        let key = match &config.server.secret_key {
            Some(k) => ServerKey::new(k.expose().as_bytes().to_vec()),
            None => load_or_create_key(data, random.as_ref())?,
        };
        // The SQLite file (and the journal files SQLite gives the same mode) readable by the
        // portal's user only.
        if let Some(path) = config.database_url().strip_prefix("sqlite://")
            && !path.contains('?')
            && !Path::new(path).exists()
        {
            write_private(Path::new(path), "")?;
        }
        let store = Store::connect_with(&config.database_url(), config.server.sqlite_full_sync)
            .await
            .context("cannot open the database")?;
        if migrations == Migrations::OnlyIfEmpty
            && let ekdwar_store::Schema::Other { at, latest } = store.schema().await?
        {
            anyhow::bail!(
                "the database is at schema version {at} and this ekdwar needs {latest}: \
                 back it up and run `ekdwar migrate` (or start `ekdwar serve`) first"
            );
        }
        store.migrate().await.context("database migration failed")?;
        let hashing = PasswordHashing::new(&config.argon2, random.as_ref())?;
        let region = Region::parse(&config.locale.default_region)
            .map_err(|_| anyhow::anyhow!("locale.default_region is invalid"))?;
        let other_regions = config
            .locale
            .other_regions
            .iter()
            .map(|r| Region::parse(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| anyhow::anyhow!("locale.other_regions has an invalid code"))?;
        let regions = Regions::new(region, other_regions);
        let default_lang =
            Lang::parse(&config.locale.default_language).unwrap_or_else(Lang::english);
        let time_zone = jiff::tz::TimeZone::get(&config.locale.time_zone)
            .map_err(|e| anyhow::anyhow!("locale.time_zone: {e}"))?;
        let gateways = Gateways::from_config(&config.smtp, &config.sms)?;
        let app = Self {
            config: Arc::new(config),
            store,
            clock: deps.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            random,
            hashing,
            key,
            metrics: Arc::new(Metrics::default()),
            regions,
            default_lang,
            time_zone,
            gateways,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .build()?,
            wake_jobs: Arc::new(Notify::new()),
            signer: Arc::default(),
            client_cache: Arc::default(),
        };
        app.ensure_signing_key()
            .await
            .map_err(|e| anyhow::anyhow!("cannot prepare the token signing key: {e}"))?;
        Ok(app)
    }

    /// The numbering plans for a number typed by someone reading `lang`: its country first.
    pub fn regions_for(&self, lang: Option<&Lang>) -> Regions {
        self.regions.preferring(lang.and_then(Lang::home_region))
    }

    /// The brute-force policy for one account (or one unknown identifier).
    pub fn account_throttle(&self) -> ThrottlePolicy {
        let s = &self.config.security;
        ThrottlePolicy {
            challenge_after: s.login_challenge_after,
            free_failures: s.login_free_failures,
            max_failures_per_hour: s.login_max_failures_per_hour,
            ..ThrottlePolicy::default()
        }
    }

    /// The policy for one client address: looser, since many citizens may share one address
    /// (a service centre, a mobile carrier's NAT), but still capped.
    pub fn address_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            challenge_after: 10,
            free_failures: 30,
            max_failures_per_hour: 1000,
            ..ThrottlePolicy::default()
        }
    }

    /// Limits messages sent to one phone or e-mail (against SMS bombing).
    pub fn send_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            challenge_after: i64::MAX,
            free_failures: 5,
            base_delay: std::time::Duration::from_secs(60),
            max_failures_per_hour: 20,
            ..ThrottlePolicy::default()
        }
    }
}

impl App {
    /// Deletes what has expired: ended sessions, verifications, idle throttle counters and used
    /// challenges. Returns how many rows went.
    pub async fn purge_expired(&self) -> anyhow::Result<u64> {
        let now = self.clock.now();
        // Keep a day of history so that recent failures and sessions can still be looked at.
        let before = now.minus(std::time::Duration::from_secs(86_400));
        let mut conn = self.store.conn().await?;
        let mut n = ekdwar_store::sessions::purge(&mut conn, before).await?;
        n += ekdwar_store::verifications::purge(&mut conn, before).await?;
        n += ekdwar_store::throttle::purge(&mut conn, before).await?;
        n += ekdwar_store::jobs::purge(&mut conn, before).await?;
        // Codes and links in messages that were never sent (no gateway, or given up) are dead
        // after a day; their text goes.
        n += ekdwar_store::notify::forget_bodies(&mut conn, before).await?;
        Ok(n)
    }
}

/// Where the server keeps its key when the configuration gives none.
pub fn key_file(data: &Path) -> std::path::PathBuf {
    data.join("secret.key")
}

fn load_or_create_key(data: &Path, random: &dyn Random) -> anyhow::Result<ServerKey> {
    let path = key_file(data);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let bytes = hex::decode(text.trim()).context("secret.key is not hex")?;
        anyhow::ensure!(bytes.len() >= 32, "secret.key is too short");
        return Ok(ServerKey::new(bytes));
    }
    let mut bytes = vec![0u8; 32];
    random.fill(&mut bytes);
    write_private(&path, &hex::encode(&bytes))?;
    Ok(ServerKey::new(bytes))
}

/// Creates the data folder (and its parents) readable by the portal's user only.
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path)
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    Ok(())
}
