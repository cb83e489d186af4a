//! Independent OpenID Connect client libraries, used unmodified against Ekdwar: openid-client
//! (npm, OpenID-certified) and Authlib (PyPI). Each runs as a separate process that speaks to
//! the portal over HTTP; the test plays the browser between them.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use ekdwar_app::sso::ClientInput;
use serde_json::Value;

use crate::accounts::register_phone;
use crate::support::{TestApp, backends};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

/// Installs the libraries once (npm ci, pip --target), whichever test gets here first.
pub fn ensure_interop() {
    let dir = interop_dir();
    let lock = dir.join(".lock");
    let ready =
        || dir.join("node_modules/openid-client").exists() && dir.join(".py/authlib").exists();
    for _ in 0..600 {
        if ready() {
            return;
        }
        if std::fs::create_dir(&lock).is_ok() {
            if !ready() {
                let npm = Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund"])
                    .current_dir(&dir)
                    .status()
                    .expect("npm runs");
                assert!(npm.success(), "npm ci failed in interop/");
                let pip = Command::new("python3")
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--target",
                        ".py",
                        "-r",
                        "requirements.txt",
                    ])
                    .current_dir(&dir)
                    .status()
                    .expect("pip runs");
                assert!(pip.success(), "pip install failed in interop/");
            }
            let _ = std::fs::remove_dir(&lock);
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("timed out waiting for interop/ to be installed");
}

/// Runs one relying party: it prints the authorization URL; the browser logs in and consents;
/// the callback URL goes back to the process, which prints what it verified.
async fn run_rp(
    t: &TestApp,
    program: &str,
    script: &str,
    env: &[(&str, String)],
    phone: &str,
) -> Value {
    let mut child = tokio::process::Command::new(program)
        .arg(script)
        .current_dir(interop_dir())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("PYTHONPATH", interop_dir().join(".py"))
        .env("PYTHONWARNINGS", "ignore")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).await.unwrap();
    let first: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{script}: {line}"));
    let authorize = first["authorize"]
        .as_str()
        .unwrap_or_else(|| panic!("{script}: {first}"))
        .to_string();

    let br = crate::sso::browser();
    let callback = crate::sso::login_and_allow(t, &br, authorize, phone).await;

    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{callback}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let mut line = String::new();
    out.read_line(&mut line).await.unwrap();
    let _ = child.wait().await;
    let result: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{script}: {line}"));
    assert!(result.get("error").is_none(), "{script}: {result}");
    result
}

#[tokio::test]
async fn openid_client_and_authlib_complete_the_full_flow() {
    tokio::task::spawn_blocking(ensure_interop).await.unwrap();
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300040", "Asha").await;
        let user = t.account("9812300040").await;
        for (program, script, method, alg) in [
            ("node", "openid-client-rp.mjs", "basic", "ES256"),
            ("node", "openid-client-rp.mjs", "post", "RS256"),
            ("python3", "authlib_rp.py", "basic", "ES256"),
        ] {
            let cb = format!("http://localhost:9/{method}/cb");
            let c = t
                .app
                .sso
                .add_client(ClientInput {
                    name: format!("{script} {method}"),
                    redirect_uris: vec![cb.clone()],
                    post_logout_redirect_uris: vec!["http://localhost:9/bye".into()],
                    id_token_alg: Some(alg.into()),
                    ..Default::default()
                })
                .await
                .unwrap();
            let env = [
                ("ISSUER", t.base.clone()),
                ("CLIENT_ID", c.app.client_id.to_string()),
                ("CLIENT_SECRET", c.secret.clone().unwrap()),
                ("REDIRECT_URI", cb),
                ("POST_LOGOUT_URI", "http://localhost:9/bye".to_string()),
                ("AUTH_METHOD", method.to_string()),
                ("ALG", alg.to_string()),
            ];
            let r = run_rp(&t, program, script, &env, "9812300040").await;
            let what = format!("{backend} {script} {method} {alg}");
            assert_eq!(r["claims"]["iss"], t.base, "{what}");
            assert_eq!(r["claims"]["acr"], "urn:ekdwar:loa:simplified", "{what}");
            assert_eq!(r["userinfo"]["phone_number"], "+919812300040", "{what}");
            assert_eq!(
                r["userinfo"]["portal_id"].as_str(),
                Some(user.portal_id.as_str()),
                "{what}"
            );
            assert_eq!(r["refreshed"], true, "{what}: refresh rotates");
            assert_eq!(
                r["reuse"], "invalid_grant",
                "{what}: reuse of a rotated refresh token is refused"
            );
            assert_eq!(
                r["introspection"]["active"], false,
                "{what}: the reuse revoked the family"
            );
            if let Some(end) = r["endSession"].as_str() {
                let br = crate::sso::browser();
                let (_, bye, _) = crate::sso::follow(&t, &br, end.to_string()).await;
                assert_eq!(bye, "http://localhost:9/bye?state=bye", "{what}");
            }
        }
    }
}
