//! Ekdwar's use-cases. Handlers call one method of [`App`] each; rules live in the domain
//! crate, SQL in the store crate.

pub mod applications;
pub mod appointments;
pub mod assurance;
pub mod audit;
pub mod captcha;
pub mod catalog;
pub mod config;
mod core;
pub mod error;
pub mod health;
pub mod i18n;
pub mod identity;
pub mod jobs;
mod limits;
pub mod locker;
pub mod metrics;
pub mod notify;
mod outbox;
pub mod payments;
pub mod security;
mod seed;
pub mod sso;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vault;
pub mod views;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use ekdwar_domain::time::SystemClock;
use ekdwar_domain::{Clock, Region, Regions};
use ekdwar_store::Store;

pub use crate::audit::Audit;
pub use crate::catalog::Catalog;
use crate::config::Config;
use crate::core::Core;
use crate::i18n::Lang;
pub use crate::identity::Identity;
pub use crate::jobs::Jobs;
use crate::metrics::Metrics;
use crate::notify::Gateways;
pub use crate::notify::Notify;
use crate::security::{OsRandom, PasswordHashing, Random, ServerKey};
pub use crate::seed::seed_accounts_at_migration;
pub use crate::sso::Sso;

/// The portal's use-cases, one service per capability. Handlers call one method of one
/// service each; the services share a private core (store, clock, randomness, keys,
/// configuration, metrics) that nothing outside this crate can reach. A clone is one
/// reference count: every request clones it, so it must cost nothing.
#[derive(Clone)]
pub struct App(Arc<Services>);

impl std::ops::Deref for App {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services of [`App`].
pub struct Services {
    core: Arc<Core>,
    /// Accounts: registration, login, sessions, recovery, profile, two-step login,
    /// external logins, administration of accounts.
    pub identity: Identity,
    /// The standard profile, its registry checks and the levels they give.
    pub assurance: assurance::Assurance,
    /// The OpenID Connect provider: apps, authorization, tokens, keys, logout.
    pub sso: Sso,
    /// The outbox and its delivery through the gateways.
    pub notify: Notify,
    /// Reading the security log.
    pub audit: Audit,
    /// The jobs runner.
    pub jobs: Jobs,
    /// The catalog of services.
    pub catalog: Catalog,
    /// Applications for services.
    pub applications: applications::Applications,
    /// Fees: orders, gateway payments, challans, refunds.
    pub payments: payments::Payments,
    /// Centres, slots and appointments.
    pub appointments: appointments::Appointments,
    /// The document locker.
    pub locker: locker::Locker,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("store", &self.core.store)
            .finish_non_exhaustive()
    }
}

/// Optional replacements for the real clock and randomness (tests).
#[derive(Default)]
pub struct Deps {
    pub clock: Option<Arc<dyn Clock>>,
    pub random: Option<Arc<dyn Random>>,
    /// In place of the configured SMS gateway.
    pub sms: Option<Arc<dyn notify::SmsGateway>>,
    /// In place of the configured mail server.
    pub mail: Option<Arc<dyn notify::MailGateway>>,
    /// In place of HTTPS to upstream identity providers.
    pub upstream: Option<Arc<dyn identity::UpstreamClient>>,
    /// In place of the configured payment gateway.
    pub payment_gateway: Option<Arc<dyn payments::PaymentGateway>>,
    /// In place of the configured state registries.
    pub registries: Option<Arc<dyn assurance::Registries>>,
}

/// The ports to parties outside the portal, and the country profiles the checks follow.
struct Outside {
    upstream: Arc<dyn identity::UpstreamClient>,
    blobs: locker::Blobs,
    payment_gateway: Option<Arc<dyn payments::PaymentGateway>>,
    countries: Arc<assurance::Countries>,
    registries: Arc<dyn assurance::Registries>,
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
        let store = Store::connect_with(
            &config.database_url(),
            ekdwar_store::StoreOptions {
                full_sync: config.server.sqlite_full_sync,
                acquire_timeout: std::time::Duration::from_millis(config.server.database_wait_ms),
            },
        )
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
        let gateways =
            Gateways::from_config(&config.smtp, &config.sms)?.replace(deps.mail, deps.sms);
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()?;
        let upstream = deps
            .upstream
            .unwrap_or_else(|| Arc::new(identity::HttpUpstream(http.clone())));
        let payment_gateway = match deps.payment_gateway {
            Some(g) => Some(g),
            None => payments::gateway_from_config(&config.payments, &http)?,
        };
        let countries = Arc::new(assurance::Countries::load(&config.profile.countries)?);
        for c in countries.all() {
            for r in c.registries() {
                if deps.registries.is_none() && !config.registries.iter().any(|x| x.id == r) {
                    tracing::info!(
                        country = %c.code,
                        registry = r,
                        "registry not configured: checks of its items wait until it is (see docs/registries.md)"
                    );
                }
            }
        }
        let registries = deps.registries.unwrap_or_else(|| {
            Arc::new(assurance::HttpRegistries::new(
                http.clone(),
                &config.registries,
            ))
        });
        let blobs = match &config.locker.s3 {
            Some(s3) => locker::Blobs::s3(s3).context("locker.s3")?,
            None => locker::Blobs::local(&data.join("locker"))
                .with_context(|| format!("cannot create {}", data.join("locker").display()))?,
        };
        let revocations = Arc::new(sso::Revocations::default());
        let vault = Arc::new(vault::Vault::new(&key));
        let core = Arc::new(Core {
            config: Arc::new(config),
            store,
            clock: deps.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            random,
            key,
            metrics: Arc::new(Metrics::default()),
            regions,
            default_lang,
            time_zone,
            sending: gateways.sending(),
            wake_jobs: Arc::new(tokio::sync::Notify::new()),
            revocations: revocations.clone(),
            health: Arc::default(),
            vault,
        });
        let app = Self::assemble(
            core,
            revocations,
            hashing,
            gateways,
            http,
            Outside {
                upstream,
                blobs,
                payment_gateway,
                countries,
                registries,
            },
        );
        app.catalog
            .reload()
            .await
            .map_err(|e| anyhow::anyhow!("cannot load the catalog: {e}"))?;
        app.sso
            .ensure_signing_key()
            .await
            .map_err(|e| anyhow::anyhow!("cannot prepare the token signing key: {e}"))?;
        Ok(app)
    }

    /// Builds each service with what it alone needs besides the core.
    fn assemble(
        core: Arc<Core>,
        revocations: Arc<sso::Revocations>,
        hashing: PasswordHashing,
        gateways: Gateways,
        http: reqwest::Client,
        outside: Outside,
    ) -> Self {
        let Outside {
            upstream,
            blobs,
            payment_gateway,
            countries,
            registries,
        } = outside;
        // Each capability receives those below it in the order (tests/boundaries.rs); one
        // above it reaches it only through a port it declares (accounts tell single sign-on
        // that sessions ended through `identity::SessionsEnded`).
        let notify = Notify::new(core.clone(), gateways);
        let locker_http = http.clone();
        let sealer = Arc::new(sso::Sealer::new(&core.key));
        let sso = Sso::new(
            core.clone(),
            http,
            Arc::default(),
            Arc::default(),
            sealer,
            Arc::default(),
            (core.store.backend() == ekdwar_store::Backend::Sqlite)
                .then(|| sso::Rotations::start(core.store.clone(), core.clock.clone())),
            revocations,
        );
        let login_kinds = countries
            .all()
            .iter()
            .filter_map(|c| c.login_identifier)
            .collect();
        let mut id_kinds: Vec<_> = countries
            .all()
            .iter()
            .flat_map(|c| c.identifiers.iter().map(|r| r.kind))
            .collect();
        id_kinds.sort_by_key(|k| k.as_str());
        id_kinds.dedup();
        let identity = Identity::new(
            core.clone(),
            Arc::new(sso.clone()),
            hashing,
            upstream,
            login_kinds,
            id_kinds.into(),
            identity::relying_party(&core.config.public_url()),
        );
        let assurance =
            assurance::Assurance::new(core.clone(), identity.clone(), countries, registries);
        let locker = locker::Locker::new(core.clone(), blobs, identity.clone(), locker_http);
        let catalog = Catalog::new(core.clone(), Arc::default());
        let payments = payments::Payments::new(
            core.clone(),
            payment_gateway,
            identity.clone(),
            catalog.clone(),
        );
        let applications = applications::Applications::new(
            core.clone(),
            catalog.clone(),
            identity.clone(),
            assurance.clone(),
        );
        let appointments = appointments::Appointments::new(
            core.clone(),
            applications.clone(),
            payments.clone(),
            catalog.clone(),
            assurance.clone(),
            Arc::default(),
        );
        Self(Arc::new(Services {
            audit: Audit::new(core.clone()),
            jobs: Jobs::new(
                core.clone(),
                notify.clone(),
                sso.clone(),
                assurance.clone(),
                applications.clone(),
                payments.clone(),
                appointments.clone(),
                locker.clone(),
            ),
            locker,
            assurance,
            appointments,
            payments,
            applications,
            catalog,
            identity,
            sso,
            notify,
            core,
        }))
    }

    /// The configuration the portal runs with.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.core.metrics
    }

    pub fn clock(&self) -> &dyn Clock {
        self.core.clock.as_ref()
    }

    pub fn random(&self) -> &dyn Random {
        self.core.random.as_ref()
    }

    /// The server's key, for the edge's own MACs (CSRF tokens).
    pub fn key(&self) -> &ServerKey {
        &self.core.key
    }

    pub fn default_lang(&self) -> &Lang {
        &self.core.default_lang
    }

    /// The zone of the times people see.
    pub fn time_zone(&self) -> &jiff::tz::TimeZone {
        &self.core.time_zone
    }

    pub fn backend(&self) -> ekdwar_store::Backend {
        self.core.store.backend()
    }

    /// Whether messages on `channel` leave the portal (a gateway is configured).
    pub fn can_send(&self, channel: ekdwar_domain::Channel) -> bool {
        self.core.sending.has(channel)
    }

    /// The store beneath the services, for tests that check what was written.
    #[cfg(feature = "testing")]
    pub fn store(&self) -> &Store {
        &self.core.store
    }

    /// The password hashing, for tests of stored hashes.
    #[cfg(feature = "testing")]
    pub fn hashing(&self) -> &PasswordHashing {
        self.identity.hashing()
    }

    /// Checks that the database answers (readiness).
    /// After a write failed for lack of space, a small write must succeed too.
    pub async fn ready(&self) -> ekdwar_store::Result<()> {
        self.core.store.ping().await?;
        if self.core.health.out_of_space() {
            self.core.store.write_probe(self.core.clock.now()).await?;
            self.core.health.wrote();
        }
        Ok(())
    }

    /// Notes a request refused because the database is unavailable (counted; a full disk is
    /// logged once as an alert and turns readiness off until a write succeeds).
    pub fn note_unavailable(&self, why: ekdwar_store::Unavailable) {
        self.core.health.note(why, &self.core.metrics);
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
