//! Growth: the latency of what people do most, with 1,000 and with 1,000,000 accounts in the
//! database (p50 and p99 of each, and the ratio of the large to the small, in the same run):
//! a password login, a token refresh, userinfo, the account page and an administrator's
//! account search, all through a real `ekdwar serve` for each database (both running, measured
//! in alternating rounds). Accounts come from `ekdwar dev seed`.
//! Then the upgrade: a million accounts written at the previous release's schema, and the time
//! `ekdwar migrate` takes to bring them to this one. `BENCH_QUICK=1` uses 1,000 and 5,000, and 40 requests a figure.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::applications::{ms, percentile};
use crate::{CB, PASSWORD, Proc, cli, ekdwar_code_as, free_port, keepalive, serve, temp_dir};

/// The last migration of the previous release (as in the upgrade tests).
const PREVIOUS_RELEASE: &str = "7";
/// Requests in flight at once while latencies are taken: a busy portal, not a saturated one.
const WORKERS: usize = 4;
/// Unmeasured requests per worker before each measurement.
const WARM_UP: usize = 5;
/// What an administrator types: names in four scripts, a phone, a portal ID.
const SEARCHES: &[&str] = &[
    "ravi",
    "अमित श",
    "anna i",
    "meera d",
    "+91 80000 00077",
    "grow.42",
    "sergey",
    "দীপা",
];

fn quick() -> bool {
    std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1")
}

fn samples() -> usize {
    if quick() { 40 } else { 1200 }
}

/// Operations, in the order they are measured and printed.
const OPERATIONS: &[&str] = &[
    "password login",
    "token refresh",
    "userinfo",
    "account page",
    "administrator's search",
];
/// Each operation is measured in this many rounds, alternating the two databases, so that a
/// burst of noise on a shared machine falls on both alike.
const ROUNDS: usize = 3;

/// An account spread over the whole range, so that reads do not stay in one corner of the
/// indexes.
fn spread(i: usize, n: usize) -> usize {
    (i * 104_729 + 17) % n
}

/// Logs `who` in through the login page on a new cookie-keeping client.
async fn logged_in(base: &str, who: &str) -> Result<reqwest::Client> {
    let b = ekdwar_testkit::browser();
    let page = b.get(format!("{base}/login")).send().await?.text().await?;
    let r = b
        .post(format!("{base}/login"))
        .form(&[
            ("identifier", who),
            ("password", PASSWORD),
            (
                "csrf",
                &ekdwar_testkit::field(&page, "csrf").context("csrf")?,
            ),
        ])
        .send()
        .await?;
    ekdwar_testkit::location(&r).context("login did not redirect")?;
    Ok(b)
}

/// An administrator's session: logs in and turns two-step login on, as administrators must.
async fn administrator(base: &str) -> Result<reqwest::Client> {
    let b = logged_in(base, "bench.admin").await?;
    let page = b
        .get(format!("{base}/account/two-step"))
        .send()
        .await?
        .text()
        .await?;
    let start = page.find("id=\"totp-key\"").context("no two-step key")?;
    let from = page[start..].find('>').context("key")? + start + 1;
    let to = page[from..].find('<').context("key")? + from;
    let key =
        ekdwar_domain::totp::TotpSecret::from_base32(&page[from..to]).context("base32 key")?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let code = key.code_at(i64::try_from(now.as_secs())?);
    b.post(format!("{base}/account/two-step/enable"))
        .form(&[
            ("code", code.as_str()),
            (
                "csrf",
                &ekdwar_testkit::field(&page, "csrf").context("csrf")?,
            ),
        ])
        .send()
        .await?;
    let probe = b
        .get(format!("{base}/admin/api/users?q=grow.1"))
        .send()
        .await?;
    let json = probe
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().is_ok_and(|v| v.contains("json")));
    if !probe.status().is_success() || !json {
        bail!("the administrator has no search: {}", probe.status());
    }
    Ok(b)
}

/// One database of `n` seeded accounts served by one `ekdwar serve`, with what each operation
/// needs: the login form's CSRF pair, a rotating refresh chain per worker, an access token, a
/// citizen's session and an administrator's.
struct Site {
    n: usize,
    base: String,
    seeded: Duration,
    http: reqwest::Client,
    /// The token endpoint and the app's credentials.
    tokens: crate::Peer,
    login_form: (String, String),
    chains: Vec<tokio::sync::Mutex<String>>,
    access: String,
    citizen: reqwest::Client,
    admin: reqwest::Client,
    _server: Proc,
    data: PathBuf,
    _database: Option<ekdwar_store::testing::TestDatabase>,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// Seeds `n` accounts (on a fresh PostgreSQL database of `server`, else SQLite in a fresh
/// folder) and serves them.
async fn prepare(n: usize, server: Option<&str>) -> Result<Site> {
    let url = match server {
        Some(s) => Some(ekdwar_store::testing::create(s).await),
        None => None,
    };
    let database = url
        .as_deref()
        .and_then(ekdwar_store::testing::TestDatabase::adopt);
    let db = url.as_deref();
    let data = temp_dir("growth");
    let start = Instant::now();
    cli(
        &data,
        db,
        &[
            "dev",
            "seed",
            "--accounts",
            &n.to_string(),
            "--prefix",
            "grow",
        ],
    )?;
    let seeded = start.elapsed();
    let app: Value = serde_json::from_str(&cli(
        &data,
        db,
        &["client", "add", "--name", "Bench", "--redirect-uri", CB],
    )?)?;
    let client_id = app["client_id"].as_str().context("client_id")?.to_string();
    let secret = app["client_secret"].as_str().context("secret")?.to_string();
    cli(
        &data,
        db,
        &[
            "user",
            "add",
            "--portal-id",
            "bench.admin",
            "--first-name",
            "Lata",
            "--last-name",
            "Mehra",
            "--phone",
            "9812300001",
            "--admin",
        ],
    )?;
    let port = free_port();
    let (server, _) = serve(&data, db, port).await?;
    let base = format!("http://127.0.0.1:{port}");
    let http = keepalive();
    let login_form = crate::login_form(&base).await?;
    let tokens = crate::Peer {
        token: format!("{base}/oauth/token"),
        userinfo: String::new(),
        introspect: String::new(),
        client_id,
        secret,
    };
    let mut chains = Vec::new();
    let mut access = String::new();
    for w in 0..WORKERS {
        let who = format!("grow.{}", spread(w + 1, n));
        let code = ekdwar_code_as(&base, &tokens.client_id, &who).await?;
        let v = crate::exchange(&tokens, &code).await?;
        chains.push(tokio::sync::Mutex::new(
            v["refresh_token"]
                .as_str()
                .with_context(|| format!("no refresh token: {v}"))?
                .to_string(),
        ));
        access = v["access_token"].as_str().context("access token")?.into();
    }
    let citizen = logged_in(&base, &format!("grow.{}", spread(7, n))).await?;
    let admin = administrator(&base).await?;
    Ok(Site {
        tokens,
        n,
        base,
        seeded,
        http,
        login_form,
        chains,
        access,
        citizen,
        admin,
        _server: server,
        data,
        _database: database,
    })
}

/// Does operation `op` once as worker `w`, the `i`-th time; whether it succeeded.
async fn once(site: &Site, op: usize, w: usize, i: usize) -> bool {
    let base = &site.base;
    match op {
        0 => {
            let who = format!("grow.{}", spread(i, site.n));
            crate::log_in_once(&site.http, base, &site.login_form, &who).await
        }
        1 => crate::refresh_once(&site.http, &site.tokens, &mut *site.chains[w].lock().await).await,
        2 => site
            .http
            .get(format!("{base}/oauth/userinfo"))
            .bearer_auth(&site.access)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success()),
        3 => site
            .citizen
            .get(format!("{base}/account"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success()),
        _ => {
            let Ok(r) = site
                .admin
                .get(format!("{base}/admin/api/users"))
                .query(&[("q", SEARCHES[i % SEARCHES.len()])])
                .send()
                .await
            else {
                return false;
            };
            r.json::<Value>()
                .await
                .is_ok_and(|v| v["accounts"].as_array().is_some_and(|a| !a.is_empty()))
        }
    }
}

/// The times of `count` runs of operation `op` on `site`, `WORKERS` at a time, numbered from
/// `from`; `warm` unmeasured runs per worker first.
async fn timed(
    site: &Arc<Site>,
    op: usize,
    count: usize,
    from: usize,
    warm: usize,
) -> Result<Vec<Duration>> {
    let per = count / WORKERS;
    let tasks: Vec<_> = (0..WORKERS)
        .map(|w| {
            let site = site.clone();
            tokio::spawn(async move {
                let first = from + w * (per + warm);
                for i in 0..warm {
                    once(&site, op, w, first + per + i).await;
                }
                let mut times = Vec::with_capacity(per);
                let mut failed = 0;
                for i in 0..per {
                    let start = Instant::now();
                    if once(&site, op, w, first + i).await {
                        times.push(start.elapsed());
                    } else {
                        failed += 1;
                    }
                }
                (times, failed)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (times, f) = t.await?;
        all.extend(times);
        failed += f;
    }
    if failed > 0 {
        bail!("{}: {failed} requests failed", OPERATIONS[op]);
    }
    Ok(all)
}

fn p50_p99(mut all: Vec<Duration>) -> (Duration, Duration) {
    all.sort();
    (percentile(&all, 0.5), percentile(&all, 0.99))
}

/// Seeds `n` accounts at the previous release's schema and times `ekdwar migrate` (on
/// PostgreSQL, after the server has written the seeded rows out, as it has on a live site).
async fn upgrade(
    n: usize,
    data: &Path,
    database: Option<&str>,
    server: Option<&str>,
) -> Result<(Duration, Duration)> {
    let start = Instant::now();
    cli(
        data,
        database,
        &[
            "dev",
            "seed",
            "--accounts",
            &n.to_string(),
            "--at-migration",
            PREVIOUS_RELEASE,
            "--prefix",
            "old",
        ],
    )?;
    let seeded = start.elapsed();
    if let Some(s) = server {
        ekdwar_store::testing::checkpoint(s).await?;
    }
    let start = Instant::now();
    cli(data, database, &["migrate"])?;
    Ok((seeded, start.elapsed()))
}

/// Prints the figures on SQLite, and on PostgreSQL when `EKDWAR_TEST_DATABASE_URL` names a
/// server where the benchmark may create (and then drops) its databases.
pub async fn figures() -> Result<()> {
    let (small, large) = if quick() {
        (1_000, 5_000)
    } else {
        (1_000, 1_000_000)
    };
    let mut backends: Vec<(&str, Option<String>)> = vec![("SQLite", None)];
    if let Some(url) = ekdwar_store::testing::server() {
        backends.push(("PostgreSQL", Some(url)));
    }
    for (name, server) in backends {
        println!(
            "Growth on {name}: p50 / p99 of {} requests each, {WORKERS} at a time, in {ROUNDS} \
             rounds alternating the two databases",
            samples()
        );
        let sites = [
            Arc::new(prepare(small, server.as_deref()).await?),
            Arc::new(prepare(large, server.as_deref()).await?),
        ];
        if let Some(s) = &server {
            // The million rows just written are still being written back; without this the
            // first rounds on PostgreSQL measure the disk's queue, not the portal.
            ekdwar_store::testing::checkpoint(s).await?;
        }
        for s in &sites {
            println!(
                "  {} accounts written by `ekdwar dev seed` in {:.1} s",
                s.n,
                s.seeded.as_secs_f64()
            );
        }
        println!(
            "  {:<24} {:>21} {:>21}  p99 ratio (target ≤ 1.5×)",
            "",
            format!("{small} accounts"),
            format!("{large} accounts")
        );
        let per_round = samples() / ROUNDS;
        for (op, label) in OPERATIONS.iter().enumerate() {
            let mut times = [Vec::new(), Vec::new()];
            for round in 0..ROUNDS {
                for (k, site) in sites.iter().enumerate() {
                    let warm = if round == 0 { WARM_UP } else { 0 };
                    let from = round * (per_round + WARM_UP * WORKERS) * 2;
                    times[k].extend(timed(site, op, per_round, from, warm).await?);
                }
            }
            let [a, b] = times.map(p50_p99);
            println!(
                "  {label:<24} {:>10} {:>10} {:>10} {:>10}  {:.2}×",
                ms(a.0),
                ms(a.1),
                ms(b.0),
                ms(b.1),
                b.1.as_secs_f64() / a.1.as_secs_f64().max(1e-9)
            );
        }
        drop(sites);
        let fresh = match &server {
            Some(s) => Some(ekdwar_store::testing::create(s).await),
            None => None,
        };
        let _drop = fresh
            .as_deref()
            .and_then(ekdwar_store::testing::TestDatabase::adopt);
        let data = temp_dir("upgrade");
        let (seeded, migrated) = upgrade(large, &data, fresh.as_deref(), server.as_deref()).await?;
        let _ = std::fs::remove_dir_all(&data);
        println!(
            "  upgrade: {large} accounts at the previous release's schema (written in {:.1} s), \
             `ekdwar migrate` to this one in {:.1} s (target < 60 s)\n",
            seeded.as_secs_f64(),
            migrated.as_secs_f64()
        );
    }
    Ok(())
}
