//! More than one node: throughput through HAProxy with one `ekdwar serve` behind it and with
//! two, on one PostgreSQL, and the ratio. On a 2-core machine the two nodes, the database,
//! HAProxy and the load generator share the same cores, so the ratio shows that a second node
//! costs nothing and breaks nothing rather than that it doubles anything; the README's capacity
//! model says what it means on real hardware.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::{Proc, cli, free_port, keepalive, rate, serve, temp_dir, wait_ready};

/// Requests per second through one balancer: password logins (each worker its own person)
/// and `userinfo` and `client_credentials` token requests.
struct Throughput {
    logins: f64,
    userinfo: f64,
    client_credentials: f64,
}

async fn through(base: &str, client: &Value, access: &str, logins: usize) -> Result<Throughput> {
    let form = Arc::new(crate::login_form(base).await?);
    let (h, b) = (keepalive(), base.to_string());
    let login_rate = rate(logins, move |w| {
        let (h, base, form) = (h.clone(), b.clone(), form.clone());
        async move { crate::log_in_once(&h, &base, &form, &format!("nodes.{w}")).await }
    })
    .await;
    let (h, url, a) = (
        keepalive(),
        format!("{base}/oauth/userinfo"),
        access.to_string(),
    );
    let userinfo = rate(16, move |_| {
        let (h, url, a) = (h.clone(), url.clone(), a.clone());
        async move {
            h.get(&url)
                .bearer_auth(a)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let id = client["client_id"]
        .as_str()
        .context("client_id")?
        .to_string();
    let secret = client["client_secret"]
        .as_str()
        .context("secret")?
        .to_string();
    let (h, url) = (keepalive(), format!("{base}/oauth/token"));
    let client_credentials = rate(16, move |_| {
        let (h, url, id, secret) = (h.clone(), url.clone(), id.clone(), secret.clone());
        async move {
            h.post(&url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    Ok(Throughput {
        logins: login_rate,
        userinfo,
        client_credentials,
    })
}

/// Prints the one-node and two-node figures when `EKDWAR_TEST_DATABASE_URL` names a
/// PostgreSQL server and HAProxy is installed.
pub async fn figures(cores: usize) -> Result<()> {
    let Some(server) = ekdwar_store::testing::server() else {
        println!("Nodes: skipped (needs EKDWAR_TEST_DATABASE_URL, a PostgreSQL server)\n");
        return Ok(());
    };
    if !Command::new("haproxy")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("Nodes: skipped (needs HAProxy: apt-get install haproxy)\n");
        return Ok(());
    }
    let url = ekdwar_store::testing::create(&server).await;
    let _drop = ekdwar_store::testing::TestDatabase::adopt(&url);
    let db = Some(url.as_str());
    let logins = cores * 2;
    let admin = temp_dir("nodes");
    cli(
        &admin,
        db,
        &[
            "dev",
            "seed",
            "--accounts",
            &logins.to_string(),
            "--prefix",
            "nodes",
        ],
    )?;
    let client: Value = serde_json::from_str(&cli(
        &admin,
        db,
        &[
            "client",
            "add",
            "--name",
            "Nodes",
            "--redirect-uri",
            crate::CB,
        ],
    )?)?;
    let (pa, pb, one, two) = (free_port(), free_port(), free_port(), free_port());
    let (data_a, data_b) = (temp_dir("node-a"), temp_dir("node-b"));
    let (_a, _) = serve(&data_a, db, pa).await?;
    let (_b, _) = serve(&data_b, db, pb).await?;
    let config = admin.join("haproxy.cfg");
    std::fs::write(
        &config,
        format!(
            "global\n  maxconn 2048\ndefaults\n  mode http\n  timeout connect 5s\n  \
             timeout client 60s\n  timeout server 60s\n  option http-keep-alive\n\
             frontend one\n  bind 127.0.0.1:{one}\n  default_backend one\n\
             frontend two\n  bind 127.0.0.1:{two}\n  default_backend two\n\
             backend one\n  server a 127.0.0.1:{pa}\n\
             backend two\n  balance roundrobin\n  server a 127.0.0.1:{pa}\n  server b 127.0.0.1:{pb}\n"
        ),
    )?;
    let _balancer = Proc(
        Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let (one, two) = (
        format!("http://127.0.0.1:{one}"),
        format!("http://127.0.0.1:{two}"),
    );
    for base in [&one, &two] {
        wait_ready(&format!("{base}/healthz"), Duration::from_secs(30)).await?;
    }
    // An access token for userinfo, through the portal's own login and consent.
    let code = crate::ekdwar_code_as(
        &format!("http://127.0.0.1:{pa}"),
        client["client_id"].as_str().context("client_id")?,
        "nodes.0",
    )
    .await;
    let peer = crate::Peer {
        token: format!("{one}/oauth/token"),
        userinfo: String::new(),
        introspect: String::new(),
        client_id: client["client_id"].as_str().unwrap_or_default().into(),
        secret: client["client_secret"].as_str().unwrap_or_default().into(),
    };
    let access = crate::exchange(&peer, &code?).await?["access_token"]
        .as_str()
        .context("access token")?
        .to_string();
    let access = Arc::new(access);
    let a1 = through(&one, &client, &access, logins).await?;
    let a2 = through(&two, &client, &access, logins).await?;
    println!("Nodes on PostgreSQL, through HAProxy (round robin), requests/s");
    println!(
        "  {:<28} {:>10} {:>10} {:>7}",
        "", "one node", "two nodes", "ratio"
    );
    for (name, x, y) in [
        ("password logins", a1.logins, a2.logins),
        ("userinfo", a1.userinfo, a2.userinfo),
        (
            "token: client_credentials",
            a1.client_credentials,
            a2.client_credentials,
        ),
    ] {
        println!("  {name:<28} {x:>10.0} {y:>10.0} {:>6.2}×", y / x.max(1e-9));
    }
    println!(
        "  (the nodes, PostgreSQL, HAProxy and the load generator share {cores} cores: the machine is\n  \
         the bound, not the nodes; see the README's capacity model)\n"
    );
    for d in [admin, data_a, data_b] {
        let _ = std::fs::remove_dir_all(d);
    }
    Ok(())
}
