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
}
