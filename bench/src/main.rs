//! The benchmark: one run, one machine, every figure next to its baseline.
//!
//! 1. argon2id hashes per second per core (the configured cost) against password logins per
//!    second per core through the real HTTP login, and their ratio;
//! 2. token endpoint (refresh_token, client_credentials), userinfo and introspection requests
//!    per second over keep-alive connections, for Ekdwar on SQLite and on PostgreSQL (when
//!    `EKDWAR_TEST_DATABASE_URL` names a server) and for oidc-provider (npm) side by side;
//! 3. idle resident memory of `ekdwar serve` and its start-to-ready time on an empty database;
//! 4. the catalog, applications at scale, the booking race and growth from a thousand to a
//!    million accounts with the upgrade of a million, one node against two behind HAProxy, and
//!    the locker's uploads and downloads against a raw file copy (`catalog`, `applications`,
//!    `booking`, `growth`, `nodes`, `locker`).
//!
//! Run with `bench/run`; `BENCH_ONLY=oidc,growth` (any of oidc, catalog, applications,
//! booking, growth, nodes, locker) runs those parts,
//! `BENCH_QUICK=1` the small version CI runs so that the benchmark keeps working. Timings
//! are measured, never asserted.

mod applications;
mod booking;
mod catalog;
mod growth;
mod locker;
mod nodes;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use serde_json::Value;

const PASSWORD: &str = "bench lantern harbor 42";
const CB: &str = "http://localhost:9/cb";
/// The server key of the PostgreSQL runs (a throwaway database).
const BENCH_SERVER_KEY: &str = "bench-server-key-bench-server-key-bench-server-key";

/// Seconds per figure: `BENCH_SECONDS`, else 1 in the quick mode (`BENCH_QUICK=1`), else 5.
fn secs() -> Duration {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    Duration::from_secs(
        std::env::var("BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(if quick { 1 } else { 5 }),
    )
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18_080)
}

pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let mut b = [0u8; 6];
    let _ = getrandom::fill(&mut b);
    let d = std::env::temp_dir().join(format!("ekdwar-bench-{tag}-{}", hex::encode(b)));
    let _ = std::fs::create_dir_all(&d);
    d
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ekdwar_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("ekdwar")))
        .unwrap_or_else(|| PathBuf::from("ekdwar"))
}

/// The portal's process environment: its data directory and, for PostgreSQL, its database.
fn portal(command: &mut Command, data: &Path, database: Option<&str>) {
    command.arg("--data").arg(data);
    if let Some(url) = database {
        // Nodes of one PostgreSQL share a server key from their configuration.
        command
            .env("EKDWAR_SERVER__DATABASE_URL", url)
            .env("EKDWAR_SERVER__SECRET_KEY", BENCH_SERVER_KEY);
    }
}

fn cli(data: &Path, database: Option<&str>, args: &[&str]) -> Result<String> {
    let mut command = Command::new(ekdwar_bin());
    command.args(args);
    portal(&mut command, data, database);
    let out = command
        .env("EKDWAR_NEW_PASSWORD", PASSWORD)
        .env("EKDWAR_LOG", "warn")
        .output()?;
    if !out.status.success() {
        bail!("ekdwar {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn wait_ready(url: &str, limit: Duration) -> Result<Duration> {
    let start = Instant::now();
    let client = reqwest::Client::new();
    while start.elapsed() < limit {
        if client
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("{url} did not become ready")
}

async fn serve(data: &Path, database: Option<&str>, port: u16) -> Result<(Proc, Duration)> {
    let start = Instant::now();
    let mut command = Command::new(ekdwar_bin());
    command.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    portal(&mut command, data, database);
    let child = command
        .env("EKDWAR_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let proc = Proc(child);
    wait_ready(
        &format!("http://127.0.0.1:{port}/healthz"),
        Duration::from_secs(30),
    )
    .await?;
    Ok((proc, start.elapsed()))
}

/// Runs `workers` loops of `op` for the bench duration; returns completed operations per second.
async fn rate<F, Fut>(workers: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let op = Arc::new(op);
    let deadline = Instant::now() + secs();
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (done, failed, op) = (done.clone(), failed.clone(), op.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    if op(w).await {
                        done.fetch_add(1, Ordering::Relaxed)
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed)
                    };
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let f = failed.load(Ordering::Relaxed);
    if f > 0 {
        eprintln!("  ({f} requests failed)");
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn keepalive() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

use ekdwar_testkit::{Form, browser, field, location};

fn absolute(base: &str, l: &str) -> String {
    if l.starts_with('/') {
        format!("{base}{l}")
    } else {
        l.to_string()
    }
}

fn code_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
}

/// Logs in through the portal's pages and returns an authorization code for the client.
async fn ekdwar_code(base: &str, client_id: &str) -> Result<String> {
    ekdwar_code_as(base, client_id, "bench.user").await
}

/// [`ekdwar_code`] for the account `identifier` (whose password is [`PASSWORD`]).
pub(crate) async fn ekdwar_code_as(
    base: &str,
    client_id: &str,
    identifier: &str,
) -> Result<String> {
    let b = browser();
    let auth = format!(
        "{base}/authorize?response_type=code&client_id={client_id}&redirect_uri={CB}&scope=openid%20profile%20offline_access&state=s"
    );
    let r = b.get(&auth).send().await?;
    let login_url = absolute(base, &location(&r).context("no redirect to login")?);
    let page = b.get(&login_url).send().await?.text().await?;
    let form = [
        ("identifier", identifier.to_string()),
        ("password", PASSWORD.into()),
        ("csrf", field(&page, "csrf").context("csrf")?),
        ("next", field(&page, "next").context("next")?),
    ];
    let r = b.post(format!("{base}/login")).form(&form).send().await?;
    let back = absolute(base, &location(&r).context("login did not redirect")?);
    let r = b.get(&back).send().await?;
    if let Some(l) = location(&r) {
        return code_of(&l).context("no code");
    }
    let page = r.text().await?;
    let form = [
        ("csrf", field(&page, "csrf").context("csrf")?),
        ("request", field(&page, "request").context("consent")?),
        ("decision", "allow".into()),
    ];
    let r = b
        .post(format!("{base}/authorize/consent"))
        .form(&form)
        .send()
        .await?;
    code_of(&location(&r).context("consent did not redirect")?).context("no code")
}

/// Logs in through oidc-provider's development login form and returns a code.
async fn provider_code(base: &str, client_id: &str) -> Result<String> {
    let b = browser();
    let mut url = format!(
        "{base}/auth?response_type=code&client_id={client_id}&redirect_uri={CB}&scope=openid%20profile%20offline_access&prompt=consent&state=s"
    );
    for _ in 0..10 {
        let r = b.get(&url).send().await?;
        if let Some(l) = location(&r) {
            if l.starts_with(CB) {
                return code_of(&l).context("no code");
            }
            url = absolute(base, &l);
            continue;
        }
        let page = Form::first(&r.text().await?).context("no form")?;
        let action = page.action.clone();
        let mut form = page.hidden.clone();
        if page.asks_for("login") {
            form.push(("login".into(), "bench-user".into()));
            form.push(("password".into(), "x".into()));
        }
        let r = b.post(absolute(base, &action)).form(&form).send().await?;
        url = absolute(base, &location(&r).context("form did not redirect")?);
    }
    bail!("oidc-provider login did not finish")
}

/// The login form's CSRF cookie (`name=value`) and token, fetched once: logins sent by hand
/// then come from visitors without a session (the usual case), keeping no cookie.
pub(crate) async fn login_form(base: &str) -> Result<(String, String)> {
    let r = keepalive().get(format!("{base}/login")).send().await?;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ekdwar_csrf="))
        .and_then(|c| c.split(';').next())
        .context("csrf cookie")?
        .to_string();
    Ok((cookie, field(&r.text().await?, "csrf").context("csrf")?))
}

/// One password login as `who` through the login page; whether it reached the account.
pub(crate) async fn log_in_once(
    h: &reqwest::Client,
    base: &str,
    (cookie, csrf): &(String, String),
    who: &str,
) -> bool {
    h.post(format!("{base}/login"))
        .header("cookie", cookie)
        .form(&[
            ("identifier", who),
            ("password", PASSWORD),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .is_ok_and(|r| location(&r).is_some_and(|l| l == "/account"))
}

/// Rotates the refresh token in `slot` at `p`'s token endpoint, keeping the new one there;
/// whether it worked.
pub(crate) async fn refresh_once(h: &reqwest::Client, p: &Peer, slot: &mut String) -> bool {
    let Ok(r) = h
        .post(&p.token)
        .basic_auth(&p.client_id, Some(&p.secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", slot.as_str()),
        ])
        .send()
        .await
    else {
        return false;
    };
    match r
        .json::<Value>()
        .await
        .ok()
        .and_then(|v| v["refresh_token"].as_str().map(str::to_string))
    {
        Some(next) => {
            *slot = next;
            true
        }
        None => false,
    }
}

struct Peer {
    token: String,
    userinfo: String,
    introspect: String,
    client_id: String,
    secret: String,
}

async fn exchange(p: &Peer, code: &str) -> Result<Value> {
    let r = keepalive()
        .post(&p.token)
        .basic_auth(&p.client_id, Some(&p.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
        ])
        .send()
        .await?;
    Ok(r.json().await?)
}

#[derive(Default, Clone, Copy)]
struct Figures {
    refresh: f64,
    client_credentials: f64,
    userinfo: f64,
    introspection: f64,
}

type Minter = Box<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String>> + Send>>
        + Send
        + Sync,
>;

/// `code` logs in and returns an authorization code; the access token for userinfo and
/// introspection comes from a fresh login made after the refresh run.
async fn token_figures(
    p: Arc<Peer>,
    refresh_tokens: Vec<String>,
    code: Minter,
    workers: usize,
) -> Result<Figures> {
    let http = keepalive();
    let chains: Arc<Vec<tokio::sync::Mutex<String>>> = Arc::new(
        refresh_tokens
            .into_iter()
            .map(tokio::sync::Mutex::new)
            .collect(),
    );
    let (h, pp, ch) = (http.clone(), p.clone(), chains.clone());
    let refresh = rate(workers, move |w| {
        let (h, p, ch) = (h.clone(), pp.clone(), ch.clone());
        async move { refresh_once(&h, &p, &mut *ch[w].lock().await).await }
    })
    .await;
    let (h, pp) = (http.clone(), p.clone());
    let client_credentials = rate(workers, move |_| {
        let (h, p) = (h.clone(), pp.clone());
        async move {
            h.post(&p.token)
                .basic_auth(&p.client_id, Some(&p.secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let fresh = exchange(&p, &code().await?).await?;
    let access = fresh["access_token"]
        .as_str()
        .context("no access token")?
        .to_string();
    let (h, pp, a) = (http.clone(), p.clone(), access.clone());
    let userinfo = rate(workers, move |_| {
        let (h, p, a) = (h.clone(), pp.clone(), a.clone());
        async move {
            h.get(&p.userinfo)
                .bearer_auth(a)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let (h, pp, a) = (http.clone(), p.clone(), access);
    let introspection = rate(workers, move |_| {
        let (h, p, a) = (h.clone(), pp.clone(), a.clone());
        async move {
            h.post(&p.introspect)
                .basic_auth(&p.client_id, Some(&p.secret))
                .form(&[("token", a.as_str())])
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    Ok(Figures {
        refresh,
        client_credentials,
        userinfo,
        introspection,
    })
}

async fn refresh_tokens(p: &Peer, n: usize, code: &Minter) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for _ in 0..n {
        let v = exchange(p, &code().await?).await?;
        out.push(
            v["refresh_token"]
                .as_str()
                .with_context(|| format!("no refresh token: {v}"))?
                .to_string(),
        );
    }
    Ok(out)
}

/// Hashes per second per core with one hashing thread per core, as the server runs them: argon2
/// is memory-hard, so parallel hashes share memory bandwidth and a single-thread figure would
/// flatter the baseline.
fn argon2_rate(cfg: &ekdwar_app::config::Argon2Config, threads: usize) -> f64 {
    let params =
        Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None).expect("argon2 params");
    let start = Instant::now();
    let total: u32 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let params = params.clone();
                s.spawn(move || {
                    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
                    let mut n = 0u32;
                    while start.elapsed() < secs() {
                        let _ = argon.hash_password(PASSWORD.as_bytes()).expect("hash");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    f64::from(total) / start.elapsed().as_secs_f64() / threads as f64
}

#[tokio::main]
async fn main() -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cores = cores();
    let workers = 16;
    println!(
        "Ekdwar benchmark: {cores} cores, {} s per figure, {workers} keep-alive connections for the token figures\n",
        secs().as_secs()
    );

    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let wants = |part: &str| only.is_empty() || only.split(',').any(|p| p.trim() == part);
    if wants("catalog") {
        catalog::figures()?;
    }
    if wants("applications") {
        applications::figures().await?;
    }
    if wants("booking") {
        booking::figures().await?;
    }
    if wants("growth") {
        growth::figures().await?;
    }
    if wants("nodes") {
        nodes::figures(cores).await?;
    }
    if wants("locker") {
        locker::figures().await?;
    }
    if !wants("oidc") {
        return Ok(());
    }

    // Start-to-ready and idle memory on an empty embedded database.
    let empty = temp_dir("empty");
    let (proc, ready) = serve(&empty, None, free_port()).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib(proc.0.id());
    drop(proc);
    let _ = std::fs::remove_dir_all(&empty);

    // 1. Password hashing, the baseline of logins.
    let cfg = ekdwar_app::config::Config::default().argon2;
    let hashes = argon2_rate(&cfg, cores);

    // 2. Logins and token figures on each database.
    let sqlite = portal_figures(None, cores, workers).await?;
    let postgres = match ekdwar_store::testing::server() {
        Some(server) => {
            let url = ekdwar_store::testing::create(&server).await;
            let _drop = ekdwar_store::testing::TestDatabase::adopt(&url);
            Some(portal_figures(Some(&url), cores, workers).await?)
        }
        None => None,
    };

    // 3. The same figures for oidc-provider.
    let nport = free_port();
    let interop = std::env::current_dir()?.join("interop");
    let clients = serde_json::json!([{ "client_id": "bench", "client_secret": "bench-secret-bench-secret-bench-secret", "redirect_uris": [CB], "grant_types": ["authorization_code", "refresh_token", "client_credentials"], "response_types": ["code"], "scope": "openid offline_access profile email api" }]);
    let node = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&interop)
        .env("PORT", nport.to_string())
        .env("CLIENTS", clients.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let peer = match node {
        Ok(child) => {
            let proc = Proc(child);
            let nbase = format!("http://127.0.0.1:{nport}");
            wait_ready(
                &format!("{nbase}/.well-known/openid-configuration"),
                Duration::from_secs(20),
            )
            .await?;
            let theirs = Arc::new(Peer {
                token: format!("{nbase}/token"),
                userinfo: format!("{nbase}/me"),
                introspect: format!("{nbase}/token/introspection"),
                client_id: "bench".into(),
                secret: "bench-secret-bench-secret-bench-secret".into(),
            });
            let nb = nbase.clone();
            let mint: Minter = Box::new(move || {
                let b = nb.clone();
                Box::pin(async move { provider_code(&b, "bench").await })
            });
            let chains = refresh_tokens(&theirs, workers, &mint).await?;
            let f = token_figures(theirs, chains, mint, workers).await?;
            drop(proc);
            Some(f)
        }
        Err(e) => {
            eprintln!("oidc-provider not started ({e}); run `npm ci` in interop/");
            None
        }
    };

    println!(
        "Passwords (argon2id, {} KiB, {} passes)",
        cfg.memory_kib, cfg.iterations
    );
    println!("  raw argon2id hashes/s per core      {hashes:>10.1}");
    let logins = |name: &str, f: &PortalFigures| {
        println!(
            "  HTTP password logins/s per core, {name:<10} {:>6.1}   ratio {:.2} (target ≥ 0.90)",
            f.logins_per_core,
            f.logins_per_core / hashes
        );
    };
    logins("SQLite", &sqlite);
    if let Some(pg) = &postgres {
        logins("PostgreSQL", pg);
    }
    println!();
    println!(
        "OpenID Connect, requests/s   {:>10} {:>10} {:>14} {:>8}  target (SQLite)",
        "SQLite", "PostgreSQL", "oidc-provider", "ratio"
    );
    let row = |name: &str, pick: fn(&Figures) -> f64, target: &str| {
        let ours = pick(&sqlite.tokens);
        let pg = postgres
            .as_ref()
            .map_or("—".to_string(), |p| format!("{:.0}", pick(&p.tokens)));
        match peer.as_ref().map(pick) {
            Some(t) => println!(
                "  {name:<27} {ours:>10.0} {pg:>10} {t:>14.0} {:>7.1}×  {target}",
                ours / t
            ),
            None => println!("  {name:<27} {ours:>10.0} {pg:>10} {:>14}", "—"),
        }
    };
    row("token: refresh (rotating)", |f| f.refresh, "≥ 2× (aim 5×)");
    row(
        "token: client_credentials",
        |f| f.client_credentials,
        "≥ 3× (aim 5×)",
    );
    row("userinfo", |f| f.userinfo, "≥ 5×");
    row("introspection", |f| f.introspection, "≥ 5×");
    println!(
        "  ceiling: GET /healthz      {:>10.0} {:>10}",
        sqlite.ceiling,
        postgres
            .as_ref()
            .map_or("—".to_string(), |p| format!("{:.0}", p.ceiling))
    );
    println!("  (Keycloak's published sizing, for reference: 15 password logins/s and 120 token");
    println!("  requests/s per vCPU)");
    println!();
    println!("Process");
    println!(
        "  idle resident memory                {:>10.1} MB (target ≤ 40)",
        idle as f64 / 1024.0
    );
    println!(
        "  start to ready, empty database      {:>10.0} ms (target < 1000)",
        ready.as_secs_f64() * 1000.0
    );
    Ok(())
}

/// What one portal process answers on one database.
struct PortalFigures {
    logins_per_core: f64,
    ceiling: f64,
    tokens: Figures,
}

/// Seeds people and an app on `database` (SQLite in a fresh directory when `None`), serves
/// them, and measures logins, the `/healthz` ceiling and the token figures.
async fn portal_figures(
    database: Option<&str>,
    cores: usize,
    workers: usize,
) -> Result<PortalFigures> {
    // Seed a user and an app, then serve them.
    let data = temp_dir("data");
    cli(
        &data,
        database,
        &[
            "user",
            "add",
            "--portal-id",
            "bench.user",
            "--first-name",
            "Lata",
            "--last-name",
            "Mehra",
            "--phone",
            "9812399999",
        ],
    )?;
    // Each login worker logs in as its own person, as a crowd does: one account hammered by
    // several at once would meet its own brute-force limit.
    let login_workers = cores * 2;
    for w in 0..login_workers {
        cli(
            &data,
            database,
            &[
                "user",
                "add",
                "--portal-id",
                &format!("bench.login{w}"),
                "--first-name",
                "Lata",
                "--last-name",
                "Mehra",
                "--phone",
                &format!("98124000{w:02}"),
            ],
        )?;
    }
    let client: Value = serde_json::from_str(&cli(
        &data,
        database,
        &["client", "add", "--name", "Bench", "--redirect-uri", CB],
    )?)?;
    let port = free_port();
    let (_server, _) = serve(&data, database, port).await?;
    let base = format!("http://127.0.0.1:{port}");

    // Logins through the real page.
    // Each login comes from a visitor without a session (the usual case): the CSRF cookie and
    // token are fetched once and sent by hand, and the session cookie is not kept.
    let form = Arc::new(login_form(&base).await?);
    let (h, b2) = (keepalive(), base.clone());
    let logins = rate(login_workers, move |w| {
        let (h, base, form) = (h.clone(), b2.clone(), form.clone());
        async move { log_in_once(&h, &base, &form, &format!("bench.login{w}")).await }
    })
    .await;
    let logins_per_core = logins / cores as f64;

    // The ceiling: the cheapest request the server answers, over the same connections.
    let (h, hb) = (keepalive(), base.clone());
    let ceiling = rate(workers, move |_| {
        let (h, b) = (h.clone(), hb.clone());
        async move {
            h.get(format!("{b}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;

    // Token figures.
    let ours = Arc::new(Peer {
        token: format!("{base}/oauth/token"),
        userinfo: format!("{base}/oauth/userinfo"),
        introspect: format!("{base}/oauth/introspect"),
        client_id: client["client_id"].as_str().context("client_id")?.into(),
        secret: client["client_secret"].as_str().context("secret")?.into(),
    });
    let (b3, id3) = (base.clone(), ours.client_id.clone());
    let mint: Minter = Box::new(move || {
        let (b, id) = (b3.clone(), id3.clone());
        Box::pin(async move { ekdwar_code(&b, &id).await })
    });
    let chains = refresh_tokens(&ours, workers, &mint).await?;
    let tokens = token_figures(ours, chains, mint, workers).await?;
    let _ = std::fs::remove_dir_all(&data);
    Ok(PortalFigures {
        logins_per_core,
        ceiling,
        tokens,
    })
}
