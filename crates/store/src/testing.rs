//! Test databases on the PostgreSQL server that `EKDWAR_TEST_DATABASE_URL` names: a fresh one
//! per test, empty or copied from a migrated template, dropped when the test is done with it.
//! For this crate's and the portal's tests.

use sqlx::Connection;

/// The variable naming the PostgreSQL server tests may use.
pub const SERVER_VAR: &str = "EKDWAR_TEST_DATABASE_URL";
/// Every test database's name starts so; nothing else is ever dropped.
const PREFIX: &str = "ekdwar_test_";

/// The server to make test databases on, when one is configured.
pub fn server() -> Option<String> {
    std::env::var(SERVER_VAR).ok().filter(|s| !s.is_empty())
}

/// Creates an empty database on `server`; its URL.
pub async fn create(server: &str) -> String {
    create_from(server, None).await
}

/// Creates a database on `server` with every migration applied; its URL. It is a copy of a
/// template migrated once per schema (`CREATE DATABASE … TEMPLATE`), which is several times
/// quicker than migrating each test's database.
pub async fn create_migrated(server: &str) -> String {
    let template = migrated_template(server).await;
    create_from(server, Some(&template)).await
}

async fn create_from(server: &str, template: Option<&str>) -> String {
    let name = fresh_name();
    let mut conn = admin(server).await;
    let sql = match template {
        Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
        None => format!("CREATE DATABASE {name}"),
    };
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
    url_of(server, &name)
}

/// The template of migrated databases, made on first use. Its name carries a hash of the
/// migrations, so a changed schema gets a new one; it starts with the test prefix, so the
/// test command's clean-up of a killed run's databases drops it too. It is migrated under
/// another name and renamed when complete: a run killed half-way leaves no half-migrated
/// template behind.
async fn migrated_template(server: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    crate::MIGRATIONS.hash(&mut h);
    let template = format!("{PREFIX}template_{:016x}", h.finish());
    let mut conn = admin(server).await;
    // One process makes it; the others wait for it here.
    sqlx::query("SELECT pg_advisory_lock(7203551)")
        .execute(&mut conn)
        .await
        .expect("advisory lock");
    let exists: Option<i32> =
        sqlx::query_scalar("SELECT CAST(1 AS INTEGER) FROM pg_database WHERE datname = $1")
            .bind(&template)
            .fetch_optional(&mut conn)
            .await
            .expect("pg_database");
    if exists.is_none() {
        let building = fresh_name();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {building}")))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let store = crate::Store::connect(&url_of(server, &building))
            .await
            .expect("the template database");
        store.migrate().await.expect("migrating the template");
        store.close().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {building} RENAME TO {template}"
        )))
        .execute(&mut conn)
        .await
        .expect("ALTER DATABASE … RENAME");
    }
    sqlx::query("SELECT pg_advisory_unlock(7203551)")
        .execute(&mut conn)
        .await
        .expect("advisory unlock");
    template
}

async fn admin(server: &str) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(server)
        .await
        .expect("PostgreSQL must be reachable at EKDWAR_TEST_DATABASE_URL")
}

fn fresh_name() -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// `server`'s URL with the database `name` in place of its own.
fn url_of(server: &str, name: &str) -> String {
    let (prefix, query) = server
        .split_once('?')
        .map_or((server, String::new()), |(p, q)| (p, format!("?{q}")));
    let root = prefix.rsplit_once('/').map_or(prefix, |(r, _)| r);
    format!("{root}/{name}{query}")
}

/// Has `server` write out every page it holds dirty (`CHECKPOINT`, which needs a superuser),
/// so that what is measured after a bulk load does not share the disk with the load's
/// write-back.
pub async fn checkpoint(server: &str) -> Result<(), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(server).await?;
    sqlx::query("CHECKPOINT").execute(&mut conn).await?;
    Ok(())
}

/// Drops a test database when it goes out of scope (its connections are closed first).
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
}

impl TestDatabase {
    /// A guard for `url` if it names a test database on the configured server.
    pub fn adopt(url: &str) -> Option<Self> {
        let name = url.rsplit('/').next()?.split('?').next()?;
        (url.starts_with("postgres") && name.starts_with(PREFIX)).then(|| Self {
            server: server().unwrap_or_default(),
            name: name.to_string(),
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs inside a test's runtime: a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = sqlx::AnyConnection::connect(&server).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .ok()
            })
        })
        .join();
    }
}
