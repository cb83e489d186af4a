use std::sync::Arc;
use std::time::Duration;

use ekdwar_app::config::{Argon2Config, Config, Secret, UpstreamConfig};
use ekdwar_app::identity::NewUserInput;
use ekdwar_app::sso::{ClientInput, NewClient};
use ekdwar_app::testing::{FakeGateway, FakeProvider};
use ekdwar_app::{App, Deps};
use ekdwar_domain::time::ManualClock;
pub use ekdwar_testkit::Page;

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
    ekdwar_store::testing::create(&postgres_server()).await
}

/// A fresh PostgreSQL database with every migration applied (a copy of a migrated template).
pub async fn migrated_postgres() -> String {
    ekdwar_store::testing::create_migrated(&postgres_server()).await
}

fn postgres_server() -> String {
    ekdwar_store::testing::server().expect("EKDWAR_TEST_DATABASE_URL is set")
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
    /// The in-process SMS gateway and mail server, when the builder asked for them.
    pub gateway: Option<Arc<FakeGateway>>,
    /// The apps the builder added.
    pub clients: Vec<NewClient>,
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

/// A change to the configuration.
type Tweak<'a> = Box<dyn FnOnce(&mut Config) + 'a>;

/// How a test's portal is made: configuration, in-process doubles for the parties outside
/// (gateways, an upstream provider), and the accounts and apps it starts with.
pub struct TestAppBuilder<'a> {
    backend: &'a str,
    tweaks: Vec<Tweak<'a>>,
    gateway: Option<Arc<FakeGateway>>,
    upstream: Option<Arc<FakeProvider>>,
    users: Vec<(String, String)>,
    clients: Vec<ClientInput>,
}

impl<'a> TestAppBuilder<'a> {
    /// Changes the configuration (after the tests' defaults).
    pub fn with_config(mut self, tweak: impl FnOnce(&mut Config) + 'a) -> Self {
        self.tweaks.push(Box::new(tweak));
        self
    }

    /// SMS and e-mail go to an in-process gateway (`TestApp::gateway`) instead of staying in
    /// the local outbox.
    pub fn with_fake_gateways(mut self) -> Self {
        self.gateway = Some(Arc::default());
        self
    }

    /// An upstream identity provider "upstream" served in the process by `provider`.
    pub fn with_upstream(mut self, provider: Arc<FakeProvider>) -> Self {
        self.upstream = Some(provider);
        self
    }

    /// A citizen with this portal ID and password (and a phone number made from the ID).
    pub fn with_user(mut self, portal_id: &str, password: &str) -> Self {
        self.users.push((portal_id.into(), password.into()));
        self
    }

    /// An app; its id and secret are in `TestApp::clients`, in the order given.
    pub fn with_client(mut self, input: ClientInput) -> Self {
        self.clients.push(input);
        self
    }

    pub async fn start(self) -> TestApp {
        let dir = std::env::temp_dir().join(format!("ekdwar-it-{}", random_hex()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.clone();
        config.server.database_url = match self.backend {
            "postgres" => Some(migrated_postgres().await),
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
        if let Some(p) = &self.upstream {
            config.upstream = vec![UpstreamConfig::login_only(
                "upstream",
                "Upstream ID",
                &p.issuer,
                &p.client_id,
                Secret::new(&p.client_secret),
            )];
        }
        for tweak in self.tweaks {
            tweak(&mut config);
        }
        // Starts at the real time: independent clients check `iat` against their own clock.
        let clock = Arc::new(ManualClock::new(ekdwar_domain::Clock::now(
            &ekdwar_domain::time::SystemClock,
        )));
        let app = App::build(
            config,
            Deps {
                clock: Some(clock.clone()),
                sms: self.gateway.clone().map(|g| g as _),
                mail: self.gateway.clone().map(|g| g as _),
                upstream: self.upstream.map(|p| p as _),
                ..Deps::default()
            },
        )
        .await
        .unwrap();
        for (portal_id, password) in &self.users {
            let n: u32 = portal_id.bytes().map(u32::from).sum();
            app.identity
                .admin_add_user(NewUserInput {
                    portal_id: portal_id.clone(),
                    first_name: "Test".into(),
                    last_name: "Citizen".into(),
                    phone: Some(format!("98{:08}", n % 100_000_000)),
                    email: None,
                    password: ekdwar_domain::password::Password::new(password.clone()),
                    role: ekdwar_domain::Role::Citizen,
                    language: None,
                })
                .await
                .unwrap();
        }
        let mut clients = Vec::new();
        for input in self.clients {
            clients.push(app.sso.add_client(input).await.unwrap());
        }
        tokio::spawn(ekdwar_web::serve(
            app.clone(),
            listener,
            std::future::pending(),
        ));
        TestApp {
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
            gateway: self.gateway,
            clients,
            _dir: TempDir(dir),
        }
    }
}

impl TestApp {
    pub fn builder(backend: &str) -> TestAppBuilder<'_> {
        TestAppBuilder {
            backend,
            tweaks: Vec::new(),
            gateway: None,
            upstream: None,
            users: Vec::new(),
            clients: Vec::new(),
        }
    }

    pub async fn start(backend: &str) -> Self {
        Self::builder(backend).start().await
    }

    pub async fn start_with(backend: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::builder(backend).with_config(tweak).start().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Page {
        Page::read(self.client.get(self.url(path)).send().await.unwrap())
            .await
            .unwrap()
    }

    /// A page as `client` (another person's browser) sees it.
    pub async fn get_as(&self, client: &reqwest::Client, path: &str) -> Page {
        Page::read(client.get(self.url(path)).send().await.unwrap())
            .await
            .unwrap()
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
        Page::read(
            client
                .post(self.url(path))
                .form(&form)
                .send()
                .await
                .unwrap(),
        )
        .await
        .unwrap()
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

    /// A new browser-like client logged in as `portal_id` (whose password is the tests' own).
    pub async fn logged_in(&self, portal_id: &str) -> reqwest::Client {
        let client = browser();
        let form = self.get_as(&client, "/login").await;
        let page = self
            .post_with(
                &client,
                &form,
                "/login",
                &[
                    ("identifier", portal_id),
                    ("password", crate::accounts::PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.text());
        client
    }

    /// A staff member logged in, who sets up the second factor as the portal requires first.
    pub async fn staff_logged_in(&self, portal_id: &str) -> reqwest::Client {
        let client = self.logged_in(portal_id).await;
        let setup = self.get_as(&client, "/account/two-step").await;
        let key = crate::two_step::shown_key(&setup);
        let done = self
            .post_with(
                &client,
                &setup,
                "/account/two-step/enable",
                &[("code", &crate::two_step::code(self, &key, 0))],
            )
            .await;
        assert_eq!(done.status, 200, "{}", done.text());
        client
    }

    /// The account a portal ID, phone or e-mail names (it must exist).
    pub async fn account(&self, query: &str) -> ekdwar_app::views::AccountView {
        self.app
            .identity
            .admin_find_user(query)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no account {query}"))
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }
}

/// Runs `n` calls at once, each on its own task; their results, in order.
pub async fn at_once<T: Send + 'static, F: std::future::Future<Output = T> + Send + 'static>(
    n: usize,
    make: impl Fn(usize) -> F,
) -> Vec<T> {
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(make(i))).collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// A challenge answered, as a browser's script would.
pub fn solved(t: &TestApp) -> ekdwar_app::captcha::ChallengeAnswer {
    let c = t.app.identity.new_challenge();
    ekdwar_app::captcha::ChallengeAnswer {
        pow: ekdwar_app::captcha::solve_pow(&c.nonce, c.difficulty),
        token: c.token,
        text: String::new(),
    }
}

/// A registration by `contact` with the challenge answered.
pub fn registration(t: &TestApp, contact: &str) -> ekdwar_app::identity::RegisterInput {
    ekdwar_app::identity::RegisterInput {
        contact: contact.into(),
        first_name: "Asha".into(),
        last_name: "Kumari".into(),
        employee_id: String::new(),
        consent: true,
        challenge: solved(t),
        lang: ekdwar_app::i18n::Lang::english(),
    }
}

/// Polls `check` until it holds, failing the test if it does not within `limit`: for what
/// the portal promises within a stated bound (never a fixed sleep).
pub async fn within<F, Fut>(limit: std::time::Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not within {limit:?}: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Starts `ekdwar dev ARGS…` as its own process with `env` (a test double: the payment
/// gateway, the registries), and reads the address it prints on its first line.
pub async fn dev_process(args: &[&str], env: &[(&str, &str)]) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ekdwar"))
        .arg("dev")
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .await
        .unwrap();
    (child, line.trim().to_string())
}
