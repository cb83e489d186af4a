//! Growth: the latency of what people do most, with 1,000 and with 1,000,000 accounts in the
//! database (p50 and p99 of each, and the ratio of the large to the small, in the same run):
//! a password login, a token refresh, userinfo, the account page and an administrator's
//! account search, all through a real `ekdwar serve`. Accounts come from `ekdwar dev seed`.
//! Then the upgrade: a million accounts written at the previous release's schema, and the time
//! `ekdwar migrate` takes to bring them to this one. `BENCH_QUICK=1` uses 1,000 and 20,000.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::applications::{ms, percentile};
use crate::{CB, PASSWORD, cli, ekdwar_code_as, free_port, keepalive, serve, temp_dir};

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
    if quick() { 100 } else { 600 }
}

/// p50 and p99 of `samples()` calls of `op(worker, i)`, `WORKERS` at a time.
async fn latencies<F, Fut>(op: F) -> Result<(Duration, Duration)>
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let per = samples() / WORKERS;
    let tasks: Vec<_> = (0..WORKERS)
        .map(|w| {
            let op = op.clone();
            tokio::spawn(async move {
                // A few first, unmeasured: connections and prepared statements get ready, as in
                // a running portal.
                for i in 0..WARM_UP {
                    op(w, samples() + w * WARM_UP + i).await;
                }
                let mut times = Vec::with_capacity(per);
                let mut failed = 0;
                for i in 0..per {
                    let start = Instant::now();
                    if op(w, w * per + i).await {
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
    if failed > 0 || all.is_empty() {
        bail!("{failed} requests failed");
    }
    all.sort();
    Ok((percentile(&all, 0.5), percentile(&all, 0.99)))
}

/// The figures at one size, in the order of [`OPERATIONS`].
type Row = Vec<(Duration, Duration)>;
const OPERATIONS: &[&str] = &[
    "password login",
    "token refresh",
    "userinfo",
    "account page",
    "administrator's search",
];

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
    let r = b
        .post(format!("{base}/account/two-step/enable"))
        .form(&[
            ("code", code.as_str()),
            (
                "csrf",
                &ekdwar_testkit::field(&page, "csrf").context("csrf")?,
            ),
        ])
        .send()
        .await?;
    let done = b
        .get(
            ekdwar_testkit::location(&r).map_or(format!("{base}/account"), |l| {
                if l.starts_with('/') {
                    format!("{base}{l}")
                } else {
                    l
                }
            }),
        )
        .send()
        .await?;
    let probe = b
        .get(format!("{base}/admin/api/users?q=grow.1"))
        .send()
        .await?;
    if !probe.status().is_success()
        || !probe
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().is_ok_and(|v| v.contains("json")))
    {
        bail!(
            "the administrator has no search ({}): {}",
            done.status(),
            probe.status()
        );
    }
    Ok(b)
}

/// Seeds `n` accounts on `database` (SQLite in a fresh folder when `None`), serves them and
/// measures every operation.
async fn at_size(n: usize, database: Option<&str>) -> Result<(Row, Duration)> {
    let data = temp_dir("growth");
    let start = Instant::now();
    cli(
        &data,
        database,
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
        database,
        &["client", "add", "--name", "Bench", "--redirect-uri", CB],
    )?)?;
    let (client_id, secret) = (
        app["client_id"].as_str().context("client_id")?.to_string(),
        app["client_secret"].as_str().context("secret")?.to_string(),
    );
    cli(
        &data,
        database,
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
    let (_server, _) = serve(&data, database, port).await?;
    let base = format!("http://127.0.0.1:{port}");
    let mut row = Row::new();

    // Password logins, each as a different person, from visitors without a session.
    let (csrf_cookie, csrf) = {
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
        (
            cookie,
            ekdwar_testkit::field(&r.text().await?, "csrf").context("csrf")?,
        )
    };
    let (h, b) = (keepalive(), base.clone());
    row.push(
        latencies(move |_, i| {
            let (h, base, cookie, csrf) = (h.clone(), b.clone(), csrf_cookie.clone(), csrf.clone());
            async move {
                let who = format!("grow.{}", spread(i, n));
                h.post(format!("{base}/login"))
                    .header("cookie", cookie)
                    .form(&[
                        ("identifier", who.as_str()),
                        ("password", PASSWORD),
                        ("csrf", csrf.as_str()),
                    ])
                    .send()
                    .await
                    .is_ok_and(|r| ekdwar_testkit::location(&r).is_some_and(|l| l == "/account"))
            }
        })
        .await
        .context("logins")?,
    );

    // Token refresh: one rotating chain per worker, each another person's.
    let token_url = format!("{base}/oauth/token");
    let mut chains = Vec::new();
    let mut access = String::new();
    for w in 0..WORKERS {
        let code = ekdwar_code_as(&base, &client_id, &format!("grow.{}", spread(w + 1, n))).await?;
        let v: Value = keepalive()
            .post(&token_url)
            .basic_auth(&client_id, Some(&secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CB),
            ])
            .send()
            .await?
            .json()
            .await?;
        chains.push(tokio::sync::Mutex::new(
            v["refresh_token"]
                .as_str()
                .with_context(|| format!("no refresh token: {v}"))?
                .to_string(),
        ));
        access = v["access_token"].as_str().context("access token")?.into();
    }
    let chains = Arc::new(chains);
    let (h, url, id, sec) = (keepalive(), token_url.clone(), client_id.clone(), secret);
    row.push(
        latencies(move |w, _| {
            let (h, url, id, sec, chains) = (
                h.clone(),
                url.clone(),
                id.clone(),
                sec.clone(),
                chains.clone(),
            );
            async move {
                let mut slot = chains[w].lock().await;
                let Ok(r) = h
                    .post(&url)
                    .basic_auth(&id, Some(&sec))
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
        })
        .await
        .context("refresh")?,
    );

    let (h, url) = (keepalive(), format!("{base}/oauth/userinfo"));
    row.push(
        latencies(move |_, _| {
            let (h, url, a) = (h.clone(), url.clone(), access.clone());
            async move {
                h.get(&url)
                    .bearer_auth(a)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await
        .context("userinfo")?,
    );

    let citizen = logged_in(&base, &format!("grow.{}", spread(7, n))).await?;
    let url = format!("{base}/account");
    row.push(
        latencies(move |_, _| {
            let (h, url) = (citizen.clone(), url.clone());
            async move {
                h.get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await
        .context("account page")?,
    );

    let admin = administrator(&base).await?;
    let url = format!("{base}/admin/api/users");
    row.push(
        latencies(move |_, i| {
            let (h, url) = (admin.clone(), url.clone());
            async move {
                let Ok(r) = h
                    .get(&url)
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
        })
        .await
        .context("administrator's search")?,
    );
    let _ = std::fs::remove_dir_all(&data);
    Ok((row, seeded))
}

/// Seeds `n` accounts at the previous release's schema and times `ekdwar migrate`.
fn upgrade(n: usize, data: &Path, database: Option<&str>) -> Result<(Duration, Duration)> {
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
    let start = Instant::now();
    cli(data, database, &["migrate"])?;
    Ok((seeded, start.elapsed()))
}

/// Prints the figures on SQLite, and on PostgreSQL when `EKDWAR_TEST_DATABASE_URL` names a
/// server where the benchmark may create (and then drops) its databases.
pub async fn figures() -> Result<()> {
    let (small, large) = if quick() {
        (1_000, 20_000)
    } else {
        (1_000, 1_000_000)
    };
    let mut backends: Vec<(&str, Option<String>)> = vec![("SQLite", None)];
    if let Some(url) = ekdwar_store::testing::server() {
        backends.push(("PostgreSQL", Some(url)));
    }
    for (name, server) in backends {
        println!(
            "Growth on {name}: p50 / p99 of {} requests each, {WORKERS} at a time",
            samples()
        );
        let mut rows = Vec::new();
        for n in [small, large] {
            let fresh = match &server {
                Some(s) => Some(ekdwar_store::testing::create(s).await),
                None => None,
            };
            let _drop = fresh
                .as_deref()
                .and_then(ekdwar_store::testing::TestDatabase::adopt);
            let (row, seeded) = at_size(n, fresh.as_deref()).await?;
            println!(
                "  {n} accounts written by `ekdwar dev seed` in {:.1} s",
                seeded.as_secs_f64()
            );
            rows.push(row);
        }
        println!(
            "  {:<24} {:>21} {:>21}  p99 ratio (target ≤ 1.5×)",
            "",
            format!("{small} accounts"),
            format!("{large} accounts")
        );
        for (i, op) in OPERATIONS.iter().enumerate() {
            let (a, b) = (rows[0][i], rows[1][i]);
            println!(
                "  {op:<24} {:>10} {:>10} {:>10} {:>10}  {:.2}×",
                ms(a.0),
                ms(a.1),
                ms(b.0),
                ms(b.1),
                b.1.as_secs_f64() / a.1.as_secs_f64().max(1e-9)
            );
        }
        let fresh = match &server {
            Some(s) => Some(ekdwar_store::testing::create(s).await),
            None => None,
        };
        let _drop = fresh
            .as_deref()
            .and_then(ekdwar_store::testing::TestDatabase::adopt);
        let data = temp_dir("upgrade");
        let (seeded, migrated) = upgrade(large, &data, fresh.as_deref())?;
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
