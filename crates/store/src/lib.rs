//! Ekdwar's storage.
//!
//! One implementation over sqlx's `Any` driver, written in the SQL subset that SQLite and
//! PostgreSQL share (`$n` parameters, `BIGINT` milliseconds for time, `TEXT` ids, `RETURNING`,
//! `ON CONFLICT`). The few dialect differences live in [`Backend`]; schema differences live in
//! `migrations/sqlite` and `migrations/postgres`, which carry the same version numbers.
//!
//! Operations are free functions taking `&mut Conn`, so a use-case can run several of them in
//! one transaction (a state change and the message it causes commit together) or one alone on a
//! pooled connection.

#![warn(missing_docs)]

pub mod applications;
pub mod appointments;
pub mod audit;
pub mod catalog;
mod dialect;
pub mod employees;
pub mod identifiers;
pub mod identity;
pub mod jobs;
pub mod letters;
pub mod locker;
pub mod notify;
pub mod passkeys;
pub mod payments;
pub mod profiles;
mod reach;
pub mod second_factor;
pub mod sessions;
pub mod sso;
pub mod staff;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod throttle;
pub mod vault;
pub mod verifications;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, Connection, Executor, SqlSafeStr, Transaction};

pub use sqlx::AnyConnection as Conn;

/// A write transaction, begun with [`Store::begin`]; it dereferences to a [`Conn`].
pub type Tx = Transaction<'static, Any>;

/// Which database engine is behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: one file.
    Sqlite,
    /// For scale and several nodes.
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The backend of a connection.
    pub fn of(conn: &Conn) -> Self {
        if conn.backend_name().eq_ignore_ascii_case("postgresql") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }
}

#[derive(Debug, thiserror::Error)]
/// Why a storage operation failed.
pub enum StoreError {
    #[error("database URL must start with sqlite: or postgres:")]
    /// The URL names no supported database.
    UnsupportedUrl,
    #[error("a record with this {0} already exists")]
    /// A unique value is taken; it names the column.
    Conflict(&'static str),
    #[error("stored data is malformed: {0}")]
    /// A stored value does not parse (a bug or a hand edit).
    Corrupt(String),
    #[error(transparent)]
    /// The database failed.
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    /// A migration failed.
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("no space left for files: {0}")]
    /// The disk beneath the files beside the database (the locker's) is full.
    OutOfSpace(String),
    #[error("counter {0} kept changing under a compare-and-swap")]
    /// A compare-and-swap lost too many races in a row.
    Contention(String),
    #[error("the database cannot be reached")]
    /// The server was found unreachable a moment ago; the request is refused without waiting.
    Unreachable,
}

/// Why the database cannot do what was asked, when the reason is not the request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The server cannot be reached (down, restarting, the network).
    Unreachable,
    /// The disk is full: nothing can be written.
    NoSpace,
}

impl StoreError {
    /// Whether this is the database being unavailable rather than a fault of the request or
    /// of the code: the person is told to try again later.
    pub fn unavailable(&self) -> Option<Unavailable> {
        match self {
            Self::Unreachable => Some(Unavailable::Unreachable),
            Self::OutOfSpace(_) => Some(Unavailable::NoSpace),
            Self::Db(e) if reach::is_no_space(e) => Some(Unavailable::NoSpace),
            Self::Db(e) if reach::is_unreachable(e) => Some(Unavailable::Unreachable),
            _ => None,
        }
    }

    /// Maps unique-constraint violations to the column they guard.
    fn from_insert(e: sqlx::Error, columns: &[&'static str]) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            let text = format!("{} {}", db.message(), db.constraint().unwrap_or_default());
            let col = columns
                .iter()
                .find(|c| text.contains(*c))
                .copied()
                .unwrap_or("key");
            return Self::Conflict(col);
        }
        Self::Db(e)
    }
}

/// A storage result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// SQL assembled only from constants (column lists, dialect clauses), never from input.
macro_rules! sql {
    ($($t:tt)*) => { sqlx::AssertSqlSafe(format!($($t)*)) };
}
pub(crate) use sql;

/// Migrations, embedded in the binary: (version, description, SQLite, PostgreSQL).
const MIGRATIONS: &[(i64, &str, &str, &str)] = &[
    (
        1,
        "accounts",
        include_str!("../migrations/sqlite/0001_accounts.sql"),
        include_str!("../migrations/postgres/0001_accounts.sql"),
    ),
    (
        2,
        "sso",
        include_str!("../migrations/sqlite/0002_sso.sql"),
        include_str!("../migrations/postgres/0002_sso.sql"),
    ),
    (
        3,
        "external",
        include_str!("../migrations/sqlite/0003_external.sql"),
        include_str!("../migrations/postgres/0003_external.sql"),
    ),
    (
        4,
        "id_token_alg",
        include_str!("../migrations/sqlite/0004_id_token_alg.sql"),
        include_str!("../migrations/postgres/0004_id_token_alg.sql"),
    ),
    (
        5,
        "client_logos",
        include_str!("../migrations/sqlite/0005_client_logos.sql"),
        include_str!("../migrations/postgres/0005_client_logos.sql"),
    ),
    (
        6,
        "jobs",
        include_str!("../migrations/sqlite/0006_jobs.sql"),
        include_str!("../migrations/postgres/0006_jobs.sql"),
    ),
    (
        7,
        "second_factor",
        include_str!("../migrations/sqlite/0007_second_factor.sql"),
        include_str!("../migrations/postgres/0007_second_factor.sql"),
    ),
    (
        8,
        "catalog",
        include_str!("../migrations/sqlite/0008_catalog.sql"),
        include_str!("../migrations/postgres/0008_catalog.sql"),
    ),
    (
        9,
        "deadlines",
        include_str!("../migrations/sqlite/0009_deadlines.sql"),
        include_str!("../migrations/postgres/0009_deadlines.sql"),
    ),
    (
        10,
        "payments",
        include_str!("../migrations/sqlite/0010_payments.sql"),
        include_str!("../migrations/postgres/0010_payments.sql"),
    ),
    (
        11,
        "appointments",
        include_str!("../migrations/sqlite/0011_appointments.sql"),
        include_str!("../migrations/postgres/0011_appointments.sql"),
    ),
    (
        12,
        "revocations",
        include_str!("../migrations/sqlite/0012_revocations.sql"),
        include_str!("../migrations/postgres/0012_revocations.sql"),
    ),
    (
        13,
        "name search",
        include_str!("../migrations/sqlite/0013_name_search.sql"),
        include_str!("../migrations/postgres/0013_name_search.sql"),
    ),
    (
        14,
        "name search index",
        include_str!("../migrations/sqlite/0014_name_search_index.sql"),
        include_str!("../migrations/postgres/0014_name_search_index.sql"),
    ),
    (
        15,
        "waiting lists",
        include_str!("../migrations/sqlite/0015_waiting_lists.sql"),
        include_str!("../migrations/postgres/0015_waiting_lists.sql"),
    ),
    (
        16,
        "profiles",
        include_str!("../migrations/sqlite/0016_profiles.sql"),
        include_str!("../migrations/postgres/0016_profiles.sql"),
    ),
    (
        17,
        "activation letters",
        include_str!("../migrations/sqlite/0017_activation_letters.sql"),
        include_str!("../migrations/postgres/0017_activation_letters.sql"),
    ),
    (
        18,
        "checked facts",
        include_str!("../migrations/sqlite/0018_checked_facts.sql"),
        include_str!("../migrations/postgres/0018_checked_facts.sql"),
    ),
    (
        19,
        "employees",
        include_str!("../migrations/sqlite/0019_employees.sql"),
        include_str!("../migrations/postgres/0019_employees.sql"),
    ),
    (
        20,
        "passkeys",
        include_str!("../migrations/sqlite/0020_passkeys.sql"),
        include_str!("../migrations/postgres/0020_passkeys.sql"),
    ),
    (
        21,
        "locker",
        include_str!("../migrations/sqlite/0021_locker.sql"),
        include_str!("../migrations/postgres/0021_locker.sql"),
    ),
];

fn migrator(backend: Backend) -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sqlite, postgres)| {
                let sql = match backend {
                    Backend::Sqlite => *sqlite,
                    Backend::Postgres => *postgres,
                };
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// A database's schema against the migrations this binary carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Nothing there yet.
    Empty {
        /// The last migration this binary has.
        latest: i64,
    },
    /// At this binary's last migration.
    Current,
    /// Made by an older (or newer) release: `at` is its last migration.
    Other {
        /// The database's last migration.
        at: i64,
        /// This binary's last migration.
        latest: i64,
    },
}

/// A pool of connections to one database.
///
/// On SQLite, writes go through one writer connection: they queue in the process instead of
/// busy-waiting on the file lock, and reads use a pool of read-only connections that never wait
/// for a writer (WAL). On PostgreSQL both are the same pool.
#[derive(Clone)]
pub struct Store {
    readers: AnyPool,
    writer: AnyPool,
    backend: Backend,
    /// The server's URL, for a listening connection (PostgreSQL only).
    listen_url: Option<String>,
    /// Whether the server can be reached (PostgreSQL only: a file is always there).
    reach: Option<std::sync::Arc<reach::Reach>>,
}

/// How a [`Store`] connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// SQLite: sync the WAL on every commit.
    pub full_sync: bool,
    /// PostgreSQL: how long a request waits for a connection before it is refused.
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            full_sync: false,
            acquire_timeout: Duration::from_secs(2),
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url`.
    ///
    /// SQLite runs in WAL mode with `synchronous=NORMAL`: a write acknowledged to a user
    /// survives a crash of the process (the WAL is written before the commit returns), and the
    /// WAL is synced at checkpoints rather than on every commit. Only a power loss or kernel crash
    /// can lose the last commits; [`Store::connect_with`] with `full_sync` syncs every commit
    /// where that matters more than write throughput. Foreign keys are enforced and writers wait for each other for up to
    /// five seconds instead of failing.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, StoreOptions::default()).await
    }

    /// As [`Store::connect`], with options.
    pub async fn connect_with(url: &str, opts: StoreOptions) -> Result<Self> {
        let full_sync = opts.full_sync;
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let synchronous = if full_sync { "FULL" } else { "NORMAL" };
        Ok(match backend {
            Backend::Sqlite => {
                // The writer first: it sets WAL mode, which the readers then find.
                let writer = sqlite_pool(&options, 1, synchronous, false).await?;
                let readers = sqlite_pool(&options, 8, synchronous, true).await?;
                Self {
                    readers,
                    writer,
                    backend,
                    listen_url: None,
                    reach: None,
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(opts.acquire_timeout)
                    .connect_with(options.clone())
                    .await?;
                Self {
                    readers: pool.clone(),
                    writer: pool,
                    backend,
                    listen_url: Some(url),
                    reach: Some(std::sync::Arc::new(reach::Reach::new(options))),
                }
            }
        })
    }

    /// The SQLite URL for a database file inside the data folder.
    pub fn sqlite_url_in(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("ekdwar.db").display())
    }

    /// Which database engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection, waiting for those in use to come back.
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> Result<()> {
        self.migrate_to(i64::MAX).await
    }

    /// Applies the migrations up to `version` only: a database as an older release left it,
    /// for upgrade tests.
    pub async fn migrate_to(&self, version: i64) -> Result<()> {
        // Data the SQL cannot compute is filled in between two migrations: the folded name
        // keys, after the migration that adds their columns and before the one that indexes
        // them. The fill commits a batch at a time, so a kill in the middle leaves the columns'
        // migration recorded and part of the keys empty: it runs whenever the schema has the
        // columns, and fills whatever is still empty (nothing, quickly, once done).
        let keys = identity::NAME_KEYS_SINCE;
        if version >= keys {
            if self.version().await? < keys {
                self.run_migrations(keys).await?;
            }
            identity::fill_name_keys(&mut *self.conn().await?).await?;
        }
        self.run_migrations(version).await
    }

    async fn run_migrations(&self, version: i64) -> Result<()> {
        let mut m = migrator(self.backend);
        m.migrations = std::borrow::Cow::Owned(
            m.migrations
                .iter()
                .filter(|x| x.version <= version)
                .cloned()
                .collect(),
        );
        m.run(&self.writer).await?;
        Ok(())
    }

    /// The last migration applied (0 for none).
    pub async fn version(&self) -> Result<i64> {
        Ok(match self.schema().await? {
            Schema::Empty { .. } => 0,
            Schema::Current => MIGRATIONS.last().map_or(0, |m| m.0),
            Schema::Other { at, .. } => at,
        })
    }

    /// The tables, their columns and the named indexes, backend-neutral (lower case, without
    /// the indexes each backend makes on its own for keys), to compare the two backends.
    pub async fn shape(&self) -> Result<std::collections::BTreeMap<String, Vec<String>>> {
        let mut conn = self.conn().await?;
        let (columns, indexes) = match self.backend {
            Backend::Sqlite => (
                "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'",
                "SELECT tbl_name AS t, name AS c FROM sqlite_master \
                 WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'",
            ),
            Backend::Postgres => (
                "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
                "SELECT i.tablename::text AS t, i.indexname::text AS c FROM pg_indexes i \
                 WHERE i.schemaname = current_schema() AND i.indexname NOT IN \
                 (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))",
            ),
        };
        let mut shape = std::collections::BTreeMap::<String, Vec<String>>::new();
        for (sql, prefix) in [(columns, ""), (indexes, "index ")] {
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *conn)
                .await?
            {
                shape
                    .entry(text(&row, "t")?.to_lowercase())
                    .or_default()
                    .push(format!("{prefix}{}", text(&row, "c")?.to_lowercase()));
            }
        }
        for list in shape.values_mut() {
            list.sort();
        }
        Ok(shape)
    }

    /// Where the database's schema stands against this binary's migrations.
    pub async fn schema(&self) -> Result<Schema> {
        let mut conn = self.conn().await?;
        let exists = match self.backend {
            Backend::Sqlite => sqlx::query(
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            ),
            Backend::Postgres => sqlx::query(
                "SELECT COUNT(*) AS n FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
            ),
        }
        .fetch_one(&mut *conn)
        .await?;
        let latest = MIGRATIONS.last().map_or(0, |m| m.0);
        if int(&exists, "n")? == 0 {
            return Ok(Schema::Empty { latest });
        }
        let at = sqlx::query("SELECT MAX(version) AS v FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut *conn)
            .await?;
        Ok(match opt_int(&at, "v")?.unwrap_or(0) {
            0 => Schema::Empty { latest },
            v if v == latest => Schema::Current,
            v => Schema::Other { at: v, latest },
        })
    }

    /// A connection that may write, for one or more statements outside a transaction. On
    /// SQLite this is the one writer: hold it briefly, and never ask for another connection
    /// that may write while holding it.
    pub async fn conn(&self) -> Result<PoolConnection<Any>> {
        self.reached(self.writer.acquire()).await
    }

    /// A connection that only reads (on SQLite it refuses writes): reads never queue behind
    /// writes.
    pub async fn read(&self) -> Result<PoolConnection<Any>> {
        self.reached(self.readers.acquire()).await
    }

    /// A write transaction. On SQLite it takes the write lock at once, so that another
    /// process writing the same file (a CLI command) and this one wait for each other instead
    /// of failing with "database is locked".
    pub async fn begin(&self) -> Result<Transaction<'static, Any>> {
        match self.backend {
            Backend::Sqlite => Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?),
            Backend::Postgres => self.reached(self.writer.begin()).await,
        }
    }

    /// Runs `acquire` unless the server was just found unreachable (then refuses at once, or
    /// tries it if it is this request's turn), and notes what it finds.
    async fn reached<T>(
        &self,
        acquire: impl std::future::Future<Output = std::result::Result<T, sqlx::Error>>,
    ) -> Result<T> {
        let Some(reach) = &self.reach else {
            return Ok(acquire.await?);
        };
        match reach.admit() {
            reach::Admit::Pass => {}
            reach::Admit::Probe => {
                if !reach.probe().await {
                    return Err(StoreError::Unreachable);
                }
            }
            reach::Admit::Refuse => return Err(StoreError::Unreachable),
        }
        match acquire.await {
            Ok(c) => {
                reach.reachable();
                Ok(c)
            }
            Err(e) if reach::is_unreachable(&e) => {
                reach.unreachable();
                Err(e.into())
            }
            Err(e) if reach::is_cut_while_connecting(&e) => {
                tracing::warn!(error = %e, "the database closed the connection while connecting");
                reach.unreachable();
                Err(StoreError::Unreachable)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Refreshes the planner's statistics (and, on PostgreSQL, the visibility map), as the
    /// database's own maintenance does after a bulk load.
    pub async fn maintain(&self) -> Result<()> {
        let mut conn = self.writer.acquire().await?;
        let statement = match self.backend {
            Backend::Sqlite => "ANALYZE",
            Backend::Postgres => "VACUUM ANALYZE",
        };
        sqlx::query(statement).execute(&mut *conn).await?;
        Ok(())
    }

    /// Calls `heard` for every notification on `channel`, and once more whenever the listening
    /// connection was lost and is back (notifications may have been missed meanwhile). Returns
    /// at once on SQLite, which has no notifications; on PostgreSQL it runs until its task is
    /// dropped, reconnecting as needed.
    pub async fn listen(&self, channel: &str, heard: impl Fn() + Send) -> Result<()> {
        let Some(url) = &self.listen_url else {
            return Ok(());
        };
        loop {
            match sqlx::postgres::PgListener::connect(url).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(channel).await {
                        tracing::warn!(error = %e, channel, "cannot listen");
                    } else {
                        heard();
                        // `try_recv` answers `None` when the connection dropped: heard again
                        // after the reconnection it makes.
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(_)) => heard(),
                                Ok(None) => {
                                    heard();
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, channel, "listening failed");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, channel, "cannot connect to listen"),
            }
            heard();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Writes (and commits) one small row, to learn whether writes work again after the
    /// disk filled up.
    pub async fn write_probe(&self, now: ekdwar_domain::Timestamp) -> Result<()> {
        let mut conn = self.conn().await?;
        throttle::modify(&mut conn, "ready:write", |_| {
            Some(ekdwar_domain::throttle::Counter {
                failures: 0,
                window_start: now,
                last_failure_at: now,
                locked_until: now,
            })
        })
        .await?;
        Ok(())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.read().await?;
        if let Err(e) = conn.ping().await {
            if let Some(reach) = &self.reach
                && reach::is_unreachable(&e)
            {
                reach.unreachable();
            }
            return Err(e.into());
        }
        Ok(())
    }
}

/// A pool of connections to one SQLite file, all with the same settings; `read_only` ones
/// refuse writes, so a write sent to the wrong pool fails loudly in tests.
async fn sqlite_pool(
    options: &AnyConnectOptions,
    size: u32,
    synchronous: &'static str,
    read_only: bool,
) -> Result<AnyPool> {
    let query_only = if read_only { "ON" } else { "OFF" };
    Ok(AnyPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute(sql!(
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; \
                     PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000; \
                     PRAGMA query_only={query_only};"
                ))
                .await?;
                Ok(())
            })
        })
        .connect_with(options.clone())
        .await?)
}

/// Commits a transaction begun with [`Store::begin`].
pub async fn commit(tx: Transaction<'static, Any>) -> Result<()> {
    Ok(tx.commit().await?)
}

/// Reads a required text column.
fn text(row: &sqlx::any::AnyRow, col: &str) -> Result<String> {
    use sqlx::Row;
    Ok(row.try_get::<String, _>(col)?)
}

fn opt_text(row: &sqlx::any::AnyRow, col: &str) -> Result<Option<String>> {
    use sqlx::Row;
    Ok(row.try_get::<Option<String>, _>(col)?)
}

fn int(row: &sqlx::any::AnyRow, col: &str) -> Result<i64> {
    use sqlx::Row;
    Ok(row.try_get::<i64, _>(col)?)
}

fn opt_int(row: &sqlx::any::AnyRow, col: &str) -> Result<Option<i64>> {
    use sqlx::Row;
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

/// A text column holding one of a string enum's forms.
fn parsed<T>(row: &sqlx::any::AnyRow, col: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let v = text(row, col)?;
    parse(&v).ok_or_else(|| corrupt(col, &v))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what}: {value:?}"))
}

#[cfg(test)]
mod contract_tests;
