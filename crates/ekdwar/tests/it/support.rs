use std::sync::Arc;
use std::time::Duration;

use ekdwar_app::config::{Argon2Config, Config};
use ekdwar_app::{App, Deps};
use ekdwar_domain::time::ManualClock;

/// Database URLs to run each test against: SQLite always, PostgreSQL when configured.
pub fn backends() -> Vec<&'static str> {
    let mut v = vec!["sqlite"];
    if std::env::var("EKDWAR_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        v.push("postgres");
    }
    v
}

pub fn random_hex() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}

/// A fresh, empty PostgreSQL database on the configured server.
pub async fn fresh_postgres() -> String {
    let server = ekdwar_store::testing::server().expect("EKDWAR_TEST_DATABASE_URL is set");
    ekdwar_store::testing::create(&server).await
}

/// A port nothing listens on now, for a peer process that must be told its port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct TestApp {
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub base: String,
    pub client: reqwest::Client,
    _dir: TempDir,
    _dbs: Vec<ekdwar_store::testing::TestDatabase>,
}

pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
}

impl TestApp {
    pub async fn start(backend: &str) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = std::env::temp_dir().join(format!("ekdwar-it-{}", random_hex()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.clone();
        config.server.database_url = match backend {
            "postgres" => Some(fresh_postgres().await),
            _ => None,
        };
        let created = config.server.database_url.clone();
        config.server.dev_mode = true;
        // Cheap hashing and challenges keep the tests fast; production uses the defaults.
        config.argon2 = Argon2Config {
            memory_kib: 256,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 2,
        };
        config.security.pow_difficulty = 8;
        // Every test's browser is one address: its sending limit is tested on its own
        // (`security::messages_per_address_and_in_all_are_limited`).
        config.security.messages_per_address_per_hour = 10_000;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.server.listen = addr.to_string();
        tweak(&mut config);
        // Starts at the real time: independent clients check `iat` against their own clock.
        let clock = Arc::new(ManualClock::new(ekdwar_domain::Clock::now(
            &ekdwar_domain::time::SystemClock,
        )));
        let app = App::build(
            config,
            Deps {
                clock: Some(clock.clone()),
                random: None,
            },
        )
        .await
        .unwrap();
        tokio::spawn(ekdwar_web::serve(
            app.clone(),
            listener,
            std::future::pending(),
        ));
        Self {
            // The database made here, and the one a test gave instead (if it is a test's).
            _dbs: [created, app.config().server.database_url.clone()]
                .into_iter()
                .flatten()
                .filter_map(|u| ekdwar_store::testing::TestDatabase::adopt(&u))
                .collect(),
            app,
            clock,
            base: format!("http://{addr}"),
            client: browser(),
            _dir: TempDir(dir),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Page {
        Page::from(self.client.get(self.url(path)).send().await.unwrap()).await
    }

    /// Submits a form the way a browser does: the CSRF token of the page is added.
    pub async fn post(&self, page: &Page, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(&self.client, page, path, fields).await
    }

    pub async fn post_with(
        &self,
        client: &reqwest::Client,
        page: &Page,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        form.push((
            "csrf".into(),
            page.field("csrf").expect("page has a CSRF token"),
        ));
        if let (Some(token), Some(nonce), Some(bits)) = (
            page.field("challenge"),
            page.attr("data-pow-nonce"),
            page.attr("data-pow-difficulty"),
        ) {
            form.push(("challenge".into(), token));
            form.push((
                "pow".into(),
                ekdwar_app::captcha::solve_pow(&nonce, bits.parse().unwrap()),
            ));
        }
        Page::from(
            client
                .post(self.url(path))
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// The latest message to a recipient.
    pub async fn last_message(&self, to: &str) -> String {
        self.app
            .notify
            .outbox(Some(to), 1)
            .await
            .unwrap()
            .first()
            .map(|m| m.body.clone())
            .unwrap_or_default()
    }

    pub async fn messages_to(&self, to: &str) -> usize {
        self.app.notify.outbox(Some(to), 100).await.unwrap().len()
    }

    pub async fn last_code(&self, to: &str) -> String {
        let body = self.last_message(to).await;
        body.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap_or_else(|| panic!("no code in {body:?}"))
            .to_string()
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }
}

pub struct Page {
    pub status: u16,
    pub url: String,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    async fn from(r: reqwest::Response) -> Self {
        Self {
            status: r.status().as_u16(),
            url: r.url().to_string(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }

    /// The value of the form field `name`.
    pub fn field(&self, name: &str) -> Option<String> {
        let key = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&key)? + key.len();
        let end = self.body[start..].find('"')? + start;
        Some(
            self.body[start..end]
                .replace("&amp;", "&")
                .replace("&#x2b;", "+"),
        )
    }

    pub fn attr(&self, name: &str) -> Option<String> {
        let key = format!("{name}=\"");
        let start = self.body.find(&key)? + key.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }

    pub fn path(&self) -> String {
        let after = self.url.split_once("://").map_or("", |(_, r)| r);
        let path = after.find('/').map_or("/", |i| &after[i..]);
        path.split('?').next().unwrap_or("/").to_string()
    }

    pub fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }
}
