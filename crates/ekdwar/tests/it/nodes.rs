//! Several nodes on one PostgreSQL: whichever node answers, a login session holds and a
//! revocation made on another node takes effect within the stated bound (a second; with
//! LISTEN/NOTIFY, milliseconds), checked by polling with a deadline.

use std::time::Duration;

use ekdwar_app::config::Secret;
use ekdwar_app::sso::ClientInput;
use serde_json::Value;

use crate::accounts::PASSWORD;
use crate::sso::{login_and_allow, query_param};
use crate::support::{TestApp, random_hex, within};
use ekdwar_testkit::browser;

const CB: &str = "http://localhost:9/cb";

/// Two nodes of one deployment: one database, one server key; the second runs no jobs.
async fn two_nodes() -> Option<(TestApp, TestApp)> {
    ekdwar_store::testing::server()?;
    let key = random_hex();
    let k = key.clone();
    let a = TestApp::builder("postgres")
        .with_config(move |c| c.server.secret_key = Some(Secret::new(k)))
        .with_user("nodes.user", PASSWORD)
        .start()
        .await;
    let url = a.app.config().server.database_url.clone();
    let b = TestApp::builder("postgres")
        .with_config(move |c| {
            c.server.database_url = url;
            c.server.secret_key = Some(Secret::new(key));
            c.server.run_worker = false;
        })
        .start()
        .await;
    Some((a, b))
}

/// The tokens for the code in the URL an app was sent back to, from `node`'s token endpoint.
async fn exchange(node: &TestApp, id: &str, secret: &str, to_app: &str) -> Value {
    let code = query_param(to_app, "code").unwrap();
    reqwest::Client::new()
        .post(node.url("/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", CB),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_session_and_a_revocation_hold_on_every_node() {
    let Some((a, b)) = two_nodes().await else {
        return;
    };
    // A session made on A is good on B.
    let br = a.logged_in("nodes.user").await;
    let account = b.get_as(&br, "/account").await;
    assert_eq!(account.status, 200);
    assert!(account.text().contains("nodes.user"), "{}", account.text());

    // Tokens issued on A are good on B, and revoked on A they are refused on B.
    let app = a
        .app
        .sso
        .add_client(ClientInput {
            name: "Nodes".into(),
            redirect_uris: vec![CB.into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let (id, secret) = (app.app.client_id.clone(), app.secret.clone().unwrap());
    let fresh = browser();
    let to_app = login_and_allow(
        &a,
        &fresh,
        a.url(&format!(
            "/authorize?response_type=code&client_id={id}&redirect_uri={CB}&scope=openid%20profile&state=s"
        )),
        "nodes.user",
    )
    .await;
    let http = reqwest::Client::new();
    let tokens = exchange(&a, &id, &secret, &to_app).await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let userinfo = |node: &TestApp| {
        let (http, url, access) = (http.clone(), node.url("/oauth/userinfo"), access.clone());
        async move {
            http.get(url)
                .bearer_auth(access)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(userinfo(&b).await, 200);
    let revoked = http
        .post(a.url("/oauth/revoke"))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(userinfo(&a).await, 401, "at once on the node that revoked");
    within(
        Duration::from_millis(1500),
        "revoked on A, refused on B",
        || async { userinfo(&b).await == 401 },
    )
    .await;

    // Logging out everywhere on B ends A's session and B's apps' tokens on A.
    let to_app = login_and_allow(
        &a,
        &browser(),
        a.url(&format!(
            "/authorize?response_type=code&client_id={id}&redirect_uri={CB}&scope=openid&state=t&prompt=consent"
        )),
        "nodes.user",
    )
    .await;
    let tokens = exchange(&b, &id, &secret, &to_app).await;
    let second = tokens["access_token"].as_str().unwrap().to_string();
    let introspect = |node: &TestApp| {
        let (http, url, token, id, secret) = (
            http.clone(),
            node.url("/oauth/introspect"),
            second.clone(),
            id.clone(),
            secret.clone(),
        );
        async move {
            let v: Value = http
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["active"] == true
        }
    };
    assert!(introspect(&a).await);
    let sessions = b.get_as(&br, "/account/sessions").await;
    let ended = b
        .post_with(
            &br,
            &sessions,
            "/account/sessions/logout-all",
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(ended.status, 200);
    let after = a.get_as(&br, "/account").await;
    assert!(
        after.text().contains("Forgot your password?"),
        "the session ended on B is gone on A: {}",
        after.text()
    );
    within(
        Duration::from_millis(1500),
        "logged out on B, refused on A",
        || async { !introspect(&a).await },
    )
    .await;

    // The rules are kept while a token they end could still be shown, and purged later.
    let rules = || async {
        let mut conn = a.app.store().conn().await.unwrap();
        let row = sqlx::query("SELECT COUNT(*) AS n FROM token_revocations")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        sqlx::Row::get::<i64, _>(&row, "n")
    };
    assert!(rules().await >= 2);
    a.app.jobs.purge_expired().await.unwrap();
    assert!(rules().await >= 2, "nothing purged that is still needed");
    a.advance(Duration::from_secs(2 * 86_400));
    a.app.jobs.purge_expired().await.unwrap();
    assert_eq!(rules().await, 0);
}

/// A process that is stopped when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An SMS gateway on loopback that keeps every message it is sent (the portal's HTTP SMS
/// protocol: `POST {"to", "text", "sender"}`).
async fn sms_gateway() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |body: axum::Json<Value>| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push(body.0);
                axum::Json(serde_json::json!({ "accepted": true }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// The page at `url`, as `client` gets it.
async fn page_text(client: &reqwest::Client, url: String) -> String {
    client.get(url).send().await.unwrap().text().await.unwrap()
}

/// Fills in and sends the login form of the portal at `base` as `who`: where the portal sent
/// the browser (none when it shows the form again), and the page it answered.
async fn log_in_at(
    client: &reqwest::Client,
    base: &str,
    who: &str,
    password: &str,
) -> (Option<String>, String) {
    let page = page_text(client, format!("{base}/login")).await;
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("identifier", who),
            ("password", password),
            ("csrf", &ekdwar_testkit::field(&page, "csrf").unwrap()),
        ])
        .send()
        .await
        .unwrap();
    (ekdwar_testkit::location(&r), r.text().await.unwrap())
}

/// Two `ekdwar serve` processes and an `ekdwar worker` on one PostgreSQL, behind HAProxy
/// (round robin, no stickiness) on loopback: a login made through one node is good on the
/// other, failed logins count on both, a token revoked on one is refused by the other within
/// the bound, and every job runs once although three job runners (both web nodes and the
/// worker) compete for them.
#[tokio::test]
async fn processes_behind_haproxy_share_sessions_revocations_and_jobs() {
    let Some(server) = ekdwar_store::testing::server() else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let haproxy = std::process::Command::new("haproxy").arg("-v").output();
    assert!(
        haproxy.is_ok_and(|o| o.status.success()),
        "HAProxy is needed for the load-balancer test (Debian: apt-get install haproxy; .ci/run installs it)"
    );
    let url = ekdwar_store::testing::create(&server).await;
    let _drop = ekdwar_store::testing::TestDatabase::adopt(&url);
    let (sms_url, sms) = sms_gateway().await;
    let dir =
        crate::support::TempDir(std::env::temp_dir().join(format!("ekdwar-lb-{}", random_hex())));
    let key = format!("{}{}", random_hex(), random_hex());
    let ekdwar = |name: &str, args: &[&str]| {
        let data = dir.0.join(name);
        std::fs::create_dir_all(&data).unwrap();
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ekdwar"));
        c.args(args)
            .arg("--data")
            .arg(&data)
            .env("EKDWAR_SERVER__DATABASE_URL", &url)
            .env("EKDWAR_SERVER__SECRET_KEY", &key)
            .env("EKDWAR_SMS__HTTP_URL", &sms_url)
            .env("EKDWAR_SMS__HTTP_TOKEN", "lb-test-token")
            .env("EKDWAR_NEW_PASSWORD", PASSWORD)
            .env("EKDWAR_LOG", "warn");
        c
    };
    let done = ekdwar("admin", &["migrate"]).output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let done = ekdwar(
        "admin",
        &["dev", "seed", "--accounts", "12", "--prefix", "lb.user"],
    )
    .output()
    .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let client = ekdwar(
        "admin",
        &["client", "add", "--name", "LB", "--redirect-uri", CB],
    )
    .output()
    .unwrap();
    let client: Value = serde_json::from_slice(&client.stdout).unwrap();
    let (id, secret) = (
        client["client_id"].as_str().unwrap().to_string(),
        client["client_secret"].as_str().unwrap().to_string(),
    );

    let ports: Vec<u16> = (0..3).map(|_| crate::support::free_port()).collect();
    let node = |i: usize| format!("http://127.0.0.1:{}", ports[i]);
    let _nodes: Vec<Running> = (0..2)
        .map(|i| {
            Running(
                ekdwar(
                    &format!("node{i}"),
                    &["serve", "--listen", &format!("127.0.0.1:{}", ports[i])],
                )
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
            )
        })
        .collect();
    let _worker = Running(
        ekdwar("worker", &["worker"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let config = dir.0.join("haproxy.cfg");
    std::fs::write(
        &config,
        format!(
            "global\n  maxconn 256\ndefaults\n  mode http\n  timeout connect 5s\n  \
             timeout client 30s\n  timeout server 30s\nfrontend portal\n  bind 127.0.0.1:{}\n  \
             default_backend nodes\nbackend nodes\n  balance roundrobin\n  \
             server a 127.0.0.1:{}\n  server b 127.0.0.1:{}\n",
            ports[2], ports[0], ports[1]
        ),
    )
    .unwrap();
    let _balancer = Running(
        std::process::Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    for base in [node(0), node(1), node(2)] {
        within(Duration::from_secs(30), "a node answers", || async {
            http.get(format!("{base}/healthz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }

    // Log in on A; the session is good on B, and through the balancer whichever node answers.
    let person = browser();
    let (went, _) = log_in_at(&person, &node(0), "lb.user.3", PASSWORD).await;
    assert_eq!(went.as_deref(), Some("/account"));
    for base in [node(1), node(2), node(2), node(2)] {
        let r = person.get(format!("{base}/account")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{base}");
        assert!(r.text().await.unwrap().contains("lb.user.3"));
    }

    // Failed logins are counted whichever node answers: three wrong passwords through the
    // balancer (neither node alone sees three) and the right one then needs the challenge.
    let visitor = browser();
    let balancer = node(2);
    let attempt = |password| log_in_at(&visitor, &balancer, "lb.user.5", password);
    for _ in 0..3 {
        assert_eq!(attempt("not the password").await.0, None);
    }
    let (went, page) = attempt(PASSWORD).await;
    assert_eq!(went, None, "the right password alone is not enough now");
    assert!(
        ekdwar_testkit::attr(&page, "data-pow-nonce").is_some(),
        "the challenge is asked"
    );

    // A token issued on A, revoked through the balancer, is refused by both nodes within the
    // bound.
    let token: Value = http
        .post(format!("{}/oauth/token", node(0)))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = token["access_token"].as_str().unwrap().to_string();
    let active = |base: String| {
        let (http, id, secret, access) = (http.clone(), id.clone(), secret.clone(), access.clone());
        async move {
            let v: Value = http
                .post(format!("{base}/oauth/introspect"))
                .basic_auth(id, Some(secret))
                .form(&[("token", access.as_str())])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["active"] == true
        }
    };
    assert!(active(node(1)).await, "issued on A, good on B");
    let revoked = http
        .post(format!("{}/oauth/revoke", node(2)))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    within(
        Duration::from_millis(1500),
        "revoked through the balancer, refused by both nodes",
        || async { !active(node(0)).await && !active(node(1)).await },
    )
    .await;

    // Ten people ask for a recovery code through the balancer: ten SMS, each sent once,
    // though three job runners compete for the jobs.
    for i in 0..10 {
        let b = browser();
        let page = page_text(&b, format!("{}/recover", node(2))).await;
        let mut form = vec![
            (
                "identifier".to_string(),
                format!("+91{}", 8_000_000_000_u64 + i),
            ),
            (
                "csrf".to_string(),
                ekdwar_testkit::field(&page, "csrf").unwrap(),
            ),
        ];
        if let Some(nonce) = ekdwar_testkit::attr(&page, "data-pow-nonce") {
            let difficulty: u8 = ekdwar_testkit::attr(&page, "data-pow-difficulty")
                .unwrap()
                .parse()
                .unwrap();
            form.push((
                "challenge".into(),
                ekdwar_testkit::field(&page, "challenge").unwrap(),
            ));
            form.push((
                "pow".into(),
                ekdwar_app::captcha::solve_pow(&nonce, difficulty),
            ));
        }
        let r = b
            .post(format!("{}/recover", node(2)))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            ekdwar_testkit::location(&r).as_deref(),
            Some("/recover/verify"),
            "{i}"
        );
    }
    let store = ekdwar_store::Store::connect(&url).await.unwrap();
    within(Duration::from_secs(20), "every job run", || async {
        let mut conn = store.conn().await.unwrap();
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE status <> 'sent'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        sqlx::Row::get::<i64, _>(&row, "n") == 0 && sms.lock().unwrap().len() >= 10
    })
    .await;
    let sent = sms.lock().unwrap().clone();
    let mut to: Vec<&str> = sent.iter().map(|m| m["to"].as_str().unwrap()).collect();
    to.sort_unstable();
    to.dedup();
    assert_eq!(sent.len(), 10, "each message once: {sent:?}");
    assert_eq!(to.len(), 10, "{sent:?}");
}
