//! Snapshots of what apps and people rely on not changing by accident: the discovery document,
//! a token response, the JWKS and the error pages (`cargo insta review` to accept a change).

use insta::assert_json_snapshot;
use serde_json::Value;

use crate::accounts::register_phone;
use crate::sso::{browser, login_and_allow};
use crate::support::{TestApp, backends};

const CB: &str = "http://localhost:9/a/cb";

async fn json(t: &TestApp, path: &str) -> Value {
    reqwest::get(t.url(path))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The base URL (its port changes from run to run) written as `[issuer]`.
fn without_base(t: &TestApp, v: &Value) -> Value {
    serde_json::from_str(&v.to_string().replace(&t.base, "[issuer]")).unwrap()
}

#[tokio::test]
async fn discovery_jwks_and_token_responses_keep_their_shape() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        assert_json_snapshot!(
            "discovery",
            without_base(&t, &json(&t, "/.well-known/openid-configuration").await)
        );
        assert_json_snapshot!("jwks", json(&t, "/oauth/jwks").await, {
            ".keys[].kid" => "[kid]",
            ".keys[].x" => "[x]",
            ".keys[].y" => "[y]",
        });
        register_phone(&t, "98123 01201", "Asha").await;
        let c = t
            .app
            .sso
            .add_client(ekdwar_app::sso::ClientInput {
                name: "e-Mitra".into(),
                redirect_uris: vec![CB.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let authorize = t.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fa%2Fcb&scope=openid%20profile%20offline_access&state=s&nonce=n",
            c.app.client_id
        ));
        let to_app = login_and_allow(&t, &browser(), authorize, "9812301201").await;
        let code = url::Url::parse(&to_app)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let tokens: Value = reqwest::Client::new()
            .post(t.url("/oauth/token"))
            .basic_auth(&c.app.client_id, c.secret.as_deref())
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
            .unwrap();
        assert_json_snapshot!("token-response", tokens, {
            ".access_token" => "[access token]",
            ".refresh_token" => "[refresh token]",
            ".id_token" => "[id token]",
        });
        let error: Value = reqwest::Client::new()
            .post(t.url("/oauth/token"))
            .form(&[("grant_type", "authorization_code"), ("code", "nope")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_json_snapshot!("token-error", error);
    }
}

/// The main part of an error page, in two languages, with what changes per request masked.
#[tokio::test]
async fn error_pages_keep_their_shape() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        for lang in ["en", "hi"] {
            let page = reqwest::Client::new()
                .get(t.url("/no/such/page"))
                .header("accept-language", lang)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let start = page.find("<main").expect("a main element");
            let end = page.find("</main>").expect("its end") + "</main>".len();
            let main = &page[start..end];
            let masked: String = main
                .split('"')
                .enumerate()
                .map(|(i, part)| {
                    // Attribute values holding tokens change per request.
                    if i % 2 == 1 && part.len() > 30 && !part.contains(' ') {
                        "[token]".to_string()
                    } else {
                        part.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\"");
            insta::assert_snapshot!(format!("not-found-{lang}"), masked);
        }
    }
}
