//! Test databases on the PostgreSQL server that `EKDWAR_TEST_DATABASE_URL` names: a fresh one
//! per test, dropped when the test is done with it. For this crate's and the portal's tests.

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
    sqlx::any::install_default_drivers();
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random bytes");
    let name = format!("{PREFIX}{}", hex::encode(bytes));
    let mut conn = sqlx::AnyConnection::connect(server)
        .await
        .expect("PostgreSQL must be reachable at EKDWAR_TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("CREATE DATABASE");
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
