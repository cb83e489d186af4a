//! The OpenID Connect provider, driven like a departmental app and a browser would.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ekdwar_app::sso::ClientInput;
use p256::ecdsa::signature::Verifier;
use serde_json::Value;

use crate::accounts::{PASSWORD, register_phone};
use crate::support::{TestApp, backends};

const CB_A: &str = "http://localhost:9/a/cb";
const CB_B: &str = "http://127.0.0.1:9/b/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A browser that does not follow redirects, so each hop can be checked.
pub use ekdwar_testkit::browser;

/// Follows redirects inside the portal; stops at the first one leaving it (to an app).
pub async fn follow(t: &TestApp, b: &reqwest::Client, mut url: String) -> (u16, String, String) {
    for _ in 0..10 {
        let r = b.get(&url).send().await.unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        match location {
            Some(l) if l.starts_with('/') => url = t.url(&l),
            Some(l) if l.starts_with(&t.base) => url = l,
            Some(l) => return (status, l, String::new()),
            None => return (status, url, r.text().await.unwrap()),
        }
    }
    panic!("redirect loop");
}

pub async fn post_form(
    t: &TestApp,
    b: &reqwest::Client,
    page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let csrf = field(page, "csrf").unwrap();
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", &csrf));
    let r = b.post(t.url(path)).form(&form).send().await.unwrap();
    let status = r.status().as_u16();
    match r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
    {
        Some(l) if l.starts_with('/') => follow(t, b, t.url(&l)).await,
        Some(l) => (status, l, String::new()),
        None => (status, String::new(), r.text().await.unwrap()),
    }
}

/// Logs in on the page an authorization request leads to and allows the app; returns the URL
/// the browser is sent back to.
pub async fn login_and_allow(
    t: &TestApp,
    br: &reqwest::Client,
    authorize: String,
    identifier: &str,
) -> String {
    let (_, _, login) = follow(t, br, authorize).await;
    let next = field(&login, "next").expect("login page");
    let (_, _, consent) = post_form(
        t,
        br,
        &login,
        "/login",
        &[
            ("identifier", identifier),
            ("password", PASSWORD),
            ("next", &next),
        ],
    )
    .await;
    let request = field(&consent, "request").expect("consent page");
    let (_, to_app, _) = post_form(
        t,
        br,
        &consent,
        "/authorize/consent",
        &[("request", &request), ("decision", "allow")],
    )
    .await;
    to_app
}

pub use ekdwar_testkit::field;

pub fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn authorize_url(t: &TestApp, client_id: &str, redirect: &str, extra: &str) -> String {
    let scope = if extra.contains("scope=") {
        ""
    } else {
        "&scope=openid%20profile%20email%20phone%20portal"
    };
    t.url(&format!("/authorize?response_type=code&client_id={client_id}&redirect_uri={}{scope}&state=st-1&nonce=n-1{extra}", url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()))
}

async fn token(t: &TestApp, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(t.url("/oauth/token"))
        .form(form);
    if let Some((id, secret)) = basic {
        req = req.header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        );
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Verifies an ES256 ID token against the published JWKS, as any relying party would.
async fn verify_id_token(t: &TestApp, jwt: &str) -> Value {
    let jwks: Value = reqwest::get(t.url("/oauth/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut parts = jwt.split('.');
    let (h, p, s) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("kid published");
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
    key.verify(format!("{h}.{p}").as_bytes(), &sig)
        .expect("valid signature");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap()
}

async fn userinfo(t: &TestApp, access: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(t.url("/oauth/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn single_sign_on_across_two_apps_consent_withdrawal_and_logout() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300030", "Asha").await;
        let a = t
            .app
            .sso
            .add_client(ClientInput {
                name: "e-Mitra".into(),
                redirect_uris: vec![CB_A.into()],
                post_logout_redirect_uris: vec!["http://localhost:9/a/bye".into()],
                helpdesk_phone: Some("0141-2921336".into()),
                officer: Some("R. Meena".into()),
                launch_url: Some("http://localhost:9/a/".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let (a_id, a_secret) = (a.app.client_id.clone(), a.secret.clone().unwrap());
        let b_app = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Recruitment".into(),
                redirect_uris: vec![CB_B.into()],
                post_logout_redirect_uris: vec!["http://127.0.0.1:9/b/bye".into()],
                public: true,
                ..Default::default()
            })
            .await
            .unwrap();
        let b_id = b_app.app.client_id.clone();

        let disc: Value = reqwest::get(t.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(disc["issuer"], t.base);
        assert_eq!(disc["code_challenge_methods_supported"][0], "S256");

        // App A: not logged in → login page → back into the request → consent → code.
        let br = browser();
        let (_, _, login) = follow(&t, &br, authorize_url(&t, &a_id, CB_A, "")).await;
        assert!(
            login.contains("name=\"next\""),
            "{backend}: login page keeps the request"
        );
        let next = field(&login, "next").unwrap();
        let (_, _, consent) = post_form(
            &t,
            &br,
            &login,
            "/login",
            &[
                ("identifier", "+919812300030"),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
        assert!(
            consent.contains("e-Mitra") && consent.contains("see your e-mail address"),
            "{backend}: consent page: {consent}"
        );
        let request = field(&consent, "request").unwrap();
        let (_, to_app, _) = post_form(
            &t,
            &br,
            &consent,
            "/authorize/consent",
            &[("request", &request), ("decision", "allow")],
        )
        .await;
        assert!(to_app.starts_with(CB_A), "{backend}: {to_app}");
        assert_eq!(query_param(&to_app, "state").as_deref(), Some("st-1"));
        assert_eq!(
            query_param(&to_app, "iss").as_deref(),
            Some(t.base.as_str())
        );
        let code = query_param(&to_app, "code").unwrap();

        // Wrong secret, then the right one.
        let (status, err) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB_A),
            ],
            Some((&a_id, "wrong")),
        )
        .await;
        assert_eq!(
            (status, err["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, tokens) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB_A),
            ],
            Some((&a_id, &a_secret)),
        )
        .await;
        assert_eq!(status, 200, "{tokens}");
        let claims = verify_id_token(&t, tokens["id_token"].as_str().unwrap()).await;
        assert_eq!(
            (
                claims["aud"].as_str(),
                claims["nonce"].as_str(),
                claims["iss"].as_str()
            ),
            (Some(a_id.as_str()), Some("n-1"), Some(t.base.as_str()))
        );
        assert_eq!(claims["acr"], "urn:ekdwar:loa:simplified");
        assert_eq!(claims["amr"][0], "pwd");
        let user = t.account("+919812300030").await;
        assert_ne!(
            claims["sub"].as_str(),
            Some(user.id.as_str()),
            "pairwise subject by default"
        );
        // A replayed code fails, and revokes what it produced.
        let (status, err) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB_A),
            ],
            Some((&a_id, &a_secret)),
        )
        .await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert_eq!(
            userinfo(&t, tokens["access_token"].as_str().unwrap())
                .await
                .0,
            401,
            "{backend}: replay revoked the tokens"
        );

        // Again, now with consent remembered: straight back to the app.
        let (_, to_app, _) = follow(&t, &br, authorize_url(&t, &a_id, CB_A, "")).await;
        let code = query_param(&to_app, "code").expect("no consent page the second time");
        let (_, tokens) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB_A),
                ("client_id", &a_id),
                ("client_secret", &a_secret),
            ],
            None,
        )
        .await;
        let access_a = tokens["access_token"].as_str().unwrap().to_string();
        let (status, info) = userinfo(&t, &access_a).await;
        assert_eq!(status, 200);
        assert_eq!(
            (info["phone_number"].as_str(), info["portal_id"].as_str()),
            (Some("+919812300030"), Some(user.portal_id.as_str()))
        );
        assert_eq!(info["sub"], claims["sub"]);

        // App B (public, PKCE): no password again, only consent for the new app.
        let (_, _, consent) = follow(
            &t,
            &br,
            authorize_url(
                &t,
                &b_id,
                CB_B,
                &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
            ),
        )
        .await;
        assert!(
            consent.contains("Recruitment"),
            "{backend}: SSO goes to consent, not login: {consent}"
        );
        let request = field(&consent, "request").unwrap();
        let (_, to_b, _) = post_form(
            &t,
            &br,
            &consent,
            "/authorize/consent",
            &[("request", &request), ("decision", "allow")],
        )
        .await;
        let code_b = query_param(&to_b, "code").unwrap();
        let (status, err) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code_b),
                ("redirect_uri", CB_B),
                ("client_id", &b_id),
                ("code_verifier", &"x".repeat(43)),
            ],
            None,
        )
        .await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_grant")),
            "wrong verifier"
        );
        let (_, to_b, _) = follow(
            &t,
            &br,
            authorize_url(
                &t,
                &b_id,
                CB_B,
                &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
            ),
        )
        .await;
        let code_b = query_param(&to_b, "code").unwrap();
        let (status, tokens_b) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code_b),
                ("redirect_uri", CB_B),
                ("client_id", &b_id),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
        assert_eq!(status, 200, "{tokens_b}");
        let claims_b = verify_id_token(&t, tokens_b["id_token"].as_str().unwrap()).await;
        assert_ne!(
            claims_b["sub"], claims["sub"],
            "each app sees its own subject"
        );

        // Withdraw consent for A: its tokens stop working at once.
        let (_, _, apps_page) = follow(&t, &br, t.url("/account/apps")).await;
        assert!(apps_page.contains("e-Mitra") && apps_page.contains("Recruitment"));
        let (_, _, confirm) = post_form(
            &t,
            &br,
            &apps_page,
            "/account/apps/disconnect",
            &[("client_id", &a_id)],
        )
        .await;
        assert!(confirm.contains("Disconnect this app?"), "asked first");
        let (_, _, after) = post_form(
            &t,
            &br,
            &confirm,
            "/account/apps/disconnect",
            &[("client_id", &a_id), ("confirm", "yes")],
        )
        .await;
        assert!(
            !after.contains("e-Mitra"),
            "{backend}: A is gone from connected apps"
        );
        assert_eq!(
            userinfo(&t, &access_a).await.0,
            401,
            "{backend}: A's token revoked"
        );

        // Log out from B with its ID token: the portal session ends, so A needs a login again.
        let logout = format!(
            "/oauth/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
            tokens_b["id_token"].as_str().unwrap(),
            url::form_urlencoded::byte_serialize(b"http://127.0.0.1:9/b/bye").collect::<String>()
        );
        let (_, bye, _) = follow(&t, &br, t.url(&logout)).await;
        assert_eq!(bye, "http://127.0.0.1:9/b/bye?state=bye");
        let (_, to_app, _) = follow(&t, &br, authorize_url(&t, &a_id, CB_A, "&prompt=none")).await;
        assert_eq!(
            query_param(&to_app, "error").as_deref(),
            Some("login_required"),
            "{backend}: logged out of both"
        );
        assert_eq!(
            userinfo(&t, tokens_b["access_token"].as_str().unwrap())
                .await
                .0,
            401,
            "{backend}: B's tokens end with the session"
        );

        // The public pages list the apps and their helpdesks.
        let apps = reqwest::get(t.url("/apps"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(apps.contains("http://localhost:9/a/") && apps.contains("Recruitment"));
        let desk = reqwest::get(t.url("/helpdesk?q=meena"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            desk.contains("0141-2921336") && !desk.contains("Recruitment"),
            "{backend}: helpdesk search"
        );
    }
}

#[tokio::test]
async fn refresh_rotation_reuse_introspection_revocation_and_client_credentials() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300031", "Ravi").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Health scheme".into(),
                redirect_uris: vec![CB_A.into()],
                subject_type: Some("public".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let (id, secret) = (c.app.client_id.clone(), c.secret.clone().unwrap());
        let br = browser();
        let to_app = login_and_allow(
            &t,
            &br,
            authorize_url(&t, &id, CB_A, "&scope=openid%20offline_access"),
            "9812300031",
        )
        .await;
        let code = query_param(&to_app, "code").unwrap();
        let auth = Some((id.as_str(), secret.as_str()));
        let (_, first) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB_A),
            ],
            auth,
        )
        .await;
        let claims = verify_id_token(&t, first["id_token"].as_str().unwrap()).await;
        let user = t.account("9812300031").await;
        assert_eq!(
            claims["sub"].as_str(),
            Some(user.id.as_str()),
            "public subject when configured"
        );

        let r1 = first["refresh_token"].as_str().unwrap().to_string();
        let (status, second) = token(
            &t,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
            auth,
        )
        .await;
        assert_eq!(status, 200, "{second}");
        let r2 = second["refresh_token"].as_str().unwrap().to_string();
        assert_ne!(r1, r2, "rotated");
        let introspect = |tok: String| {
            let t = &t;
            let (id, secret) = (id.clone(), secret.clone());
            async move {
                let r = reqwest::Client::new()
                    .post(t.url("/oauth/introspect"))
                    .basic_auth(id, Some(secret))
                    .form(&[("token", tok)])
                    .send()
                    .await
                    .unwrap();
                r.json::<Value>().await.unwrap()
            }
        };
        let access2 = second["access_token"].as_str().unwrap().to_string();
        let info = introspect(access2.clone()).await;
        assert_eq!(
            (info["active"].as_bool(), info["sub"].as_str()),
            (Some(true), Some(user.id.as_str()))
        );
        // Finding 13: a locked account's token is not active, even while it is not revoked.
        let set = |status| {
            let (store, id, at) = (
                t.app.store().clone(),
                user.id.clone(),
                ekdwar_domain::Clock::now(&*t.clock),
            );
            async move {
                let mut c = store.conn().await.unwrap();
                ekdwar_store::identity::set_status(&mut c, &id, status, at)
                    .await
                    .unwrap();
            }
        };
        // Accounts are read again at most two seconds after they were last read.
        let bound = std::time::Duration::from_secs(4);
        set(ekdwar_domain::AccountStatus::Locked).await;
        crate::support::within(bound, "a locked account's token is inactive", || async {
            introspect(access2.clone()).await["active"] == false
        })
        .await;
        set(ekdwar_domain::AccountStatus::Active).await;
        crate::support::within(bound, "an unlocked account's token is active", || async {
            introspect(access2.clone()).await["active"] == true
        })
        .await;
        // Reusing the old refresh token revokes the whole family.
        let (status, err) = token(
            &t,
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
            auth,
        )
        .await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert_eq!(
            introspect(access2).await["active"],
            false,
            "{backend}: family revoked"
        );
        let (status, _) = token(
            &t,
            &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
            auth,
        )
        .await;
        assert_eq!(
            status, 400,
            "{backend}: the newest refresh token died with its family"
        );

        // Client credentials, introspection of its token, expiry, revocation.
        let (status, cc) = token(&t, &[("grant_type", "client_credentials")], auth).await;
        assert_eq!(status, 200, "{cc}");
        let cc_token = cc["access_token"].as_str().unwrap().to_string();
        assert_eq!(introspect(cc_token.clone()).await["active"], true);
        assert_eq!(
            userinfo(&t, &cc_token).await.0,
            403,
            "no person behind a client token"
        );
        t.advance(Duration::from_secs(601));
        assert_eq!(
            introspect(cc_token.clone()).await["active"],
            false,
            "expired"
        );
        let (_, cc2) = token(&t, &[("grant_type", "client_credentials")], auth).await;
        let cc2 = cc2["access_token"].as_str().unwrap().to_string();
        let r = reqwest::Client::new()
            .post(t.url("/oauth/revoke"))
            .basic_auth(&id, Some(&secret))
            .form(&[("token", cc2.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(introspect(cc2).await["active"], false, "revoked");
        let (status, err) = token(&t, &[("grant_type", "password")], auth).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("unsupported_grant_type"))
        );
    }
}

#[tokio::test]
async fn bad_requests_are_refused_the_right_way() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Exams".into(),
                redirect_uris: vec![CB_A.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let public = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Mobile".into(),
                redirect_uris: vec![CB_B.into()],
                public: true,
                ..Default::default()
            })
            .await
            .unwrap();
        let br = browser();
        // An unregistered redirect URI is never redirected to: the person sees an error page.
        let (status, _, page) = follow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, "https://evil.example/cb", ""),
        )
        .await;
        assert_eq!(status, 400);
        assert!(page.contains("does not trust"), "{page}");
        let (status, _, _) = follow(&t, &br, authorize_url(&t, "nope", CB_A, "")).await;
        assert_eq!(status, 400);
        // Other errors go back to the app.
        let (_, to_app, _) = follow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, "&prompt=none"),
        )
        .await;
        assert_eq!(
            query_param(&to_app, "error").as_deref(),
            Some("login_required")
        );
        assert_eq!(query_param(&to_app, "state").as_deref(), Some("st-1"));
        let (_, to_app, _) =
            follow(&t, &br, authorize_url(&t, &public.app.client_id, CB_B, "")).await;
        assert_eq!(
            query_param(&to_app, "error").as_deref(),
            Some("invalid_request"),
            "public clients need PKCE"
        );
        let (_, to_app, _) = follow(
            &t,
            &br,
            t.url(&format!(
                "/authorize?response_type=token&client_id={}&redirect_uri={CB_A}&scope=openid",
                c.app.client_id
            )),
        )
        .await;
        assert_eq!(
            query_param(&to_app, "error").as_deref(),
            Some("unsupported_response_type")
        );
        let (_, to_app, _) = follow(
            &t,
            &br,
            t.url(&format!(
                "/authorize?response_type=code&client_id={}&redirect_uri={CB_A}&scope=profile",
                c.app.client_id
            )),
        )
        .await;
        assert_eq!(
            query_param(&to_app, "error").as_deref(),
            Some("invalid_scope")
        );
        // Token endpoint: malformed and unknown.
        let r = reqwest::Client::new()
            .post(t.url("/oauth/token"))
            .body("{not a form")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error());
        let (status, err) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", "nope"),
                ("redirect_uri", CB_A),
            ],
            Some((&c.app.client_id, c.secret.as_deref().unwrap())),
        )
        .await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let (status, _) = token(
            &t,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &public.app.client_id),
            ],
            None,
        )
        .await;
        assert_eq!(status, 400, "public clients cannot use client_credentials");
        assert_eq!(userinfo(&t, "garbage").await.0, 401);
        // Keys rotate with overlap: the old key stays published.
        let before: Value = reqwest::get(t.url("/oauth/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        t.app.sso.rotate_signing_key().await.unwrap();
        let after: Value = reqwest::get(t.url("/oauth/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            after["keys"].as_array().unwrap().len(),
            before["keys"].as_array().unwrap().len() + 1
        );
        t.advance(Duration::from_secs(49 * 3600));
        let later: Value = reqwest::get(t.url("/oauth/jwks"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            later["keys"].as_array().unwrap().len(),
            1,
            "old key dropped after the overlap"
        );
    }
}

#[tokio::test]
async fn a_level_too_low_is_explained_and_can_go_back() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300032", "Mina").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Pension".into(),
                redirect_uris: vec![CB_A.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let br = browser();
        let (_, _, login) = follow(
            &t,
            &br,
            authorize_url(
                &t,
                &c.app.client_id,
                CB_A,
                "&acr_values=urn:ekdwar:loa:verified",
            ),
        )
        .await;
        let next = field(&login, "next").unwrap();
        let (_, _, page) = post_form(
            &t,
            &br,
            &login,
            "/login",
            &[
                ("identifier", "9812300032"),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
        assert!(
            page.contains("too low") && page.contains("service center"),
            "{page}"
        );
        assert!(page.contains("error=access_denied"));
        // No dead end: the page leads to the step that is missing, and the levels page to
        // the profile that starts it.
        assert!(page.contains("href=\"/account/level\""), "{page}");
        let (_, _, levels) = follow(&t, &br, t.url("/account/level")).await;
        assert!(
            levels.contains("aria-current=\"step\"")
                && levels.contains("your level")
                && levels.contains("Your next step: the standard level")
                && levels.contains("href=\"/account/profile\""),
            "{levels}"
        );
    }
}

#[tokio::test]
async fn back_channel_logout_tells_the_apps_of_the_session() {
    for backend in backends() {
        use std::sync::{Arc, Mutex};
        let received: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = received.clone();
        let app = axum::Router::new().route(
            "/bc",
            axum::routing::post(
                move |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| {
                    let sink = sink.clone();
                    async move {
                        sink.lock()
                            .unwrap()
                            .push(f.get("logout_token").cloned().unwrap_or_default());
                        "ok"
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bc = format!("http://{}/bc", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300033", "Tara").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Exams".into(),
                redirect_uris: vec![CB_A.into()],
                backchannel_logout_uri: Some(bc),
                ..Default::default()
            })
            .await
            .unwrap();
        let br = browser();
        let to_app = login_and_allow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, ""),
            "9812300033",
        )
        .await;
        let code = query_param(&to_app, "code").unwrap();
        let (_, tokens) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB_A),
            ],
            Some((&c.app.client_id, c.secret.as_deref().unwrap())),
        )
        .await;
        let id_claims = verify_id_token(&t, tokens["id_token"].as_str().unwrap()).await;

        // The person logs out at the portal.
        let (_, _, account) = follow(&t, &br, t.url("/account")).await;
        post_form(&t, &br, &account, "/logout", &[]).await;
        for _ in 0..100 {
            if !received.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let logout_token = received
            .lock()
            .unwrap()
            .first()
            .cloned()
            .expect("the app was told");
        let claims = verify_id_token(&t, &logout_token).await;
        assert_eq!(claims["sid"], id_claims["sid"]);
        assert_eq!(claims["sub"], id_claims["sub"]);
        assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
        assert!(claims.get("nonce").is_none());
        assert_eq!(
            userinfo(&t, tokens["access_token"].as_str().unwrap())
                .await
                .0,
            401,
            "the app's tokens ended with the session"
        );
    }
}

#[tokio::test]
async fn prompt_max_age_login_hint_and_ui_locales() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300034", "Gita").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Scholarship".into(),
                redirect_uris: vec![CB_A.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let br = browser();
        // ui_locales picks the page language for a new visitor; login_hint fills the identifier.
        let (_, _, login) = follow(
            &t,
            &br,
            authorize_url(
                &t,
                &c.app.client_id,
                CB_A,
                "&ui_locales=hi&login_hint=9812300034",
            ),
        )
        .await;
        assert!(login.contains("lang=\"hi\""), "login page in Hindi");
        assert!(
            login.contains("value=\"9812300034\""),
            "identifier prefilled"
        );
        let to_app = login_and_allow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, ""),
            "9812300034",
        )
        .await;
        assert!(query_param(&to_app, "code").is_some());
        // Consent remembered, but prompt=consent asks again.
        let (_, _, page) = follow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, "&prompt=consent"),
        )
        .await;
        assert!(page.contains("name=\"request\""), "consent page again");
        // prompt=login and an exceeded max_age both send the person to log in again.
        let (_, _, page) = follow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, "&prompt=login"),
        )
        .await;
        assert!(
            page.contains("name=\"password\""),
            "login page for prompt=login"
        );
        let to_app = login_and_allow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, "&prompt=login%20consent"),
            "9812300034",
        )
        .await;
        let code = query_param(&to_app, "code").expect("a fresh login satisfies prompt=login");
        // The code from the fresh login works, and carries its auth_time.
        let (_, tokens) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB_A),
            ],
            Some((&c.app.client_id, c.secret.as_deref().unwrap())),
        )
        .await;
        let claims = verify_id_token(&t, tokens["id_token"].as_str().unwrap_or_default()).await;
        assert!(claims["auth_time"].as_i64().is_some());
        t.advance(Duration::from_secs(120));
        let (_, at, _) = follow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, "&max_age=600"),
        )
        .await;
        assert!(query_param(&at, "code").is_some(), "login within max_age");
        let (_, _, page) = follow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, "&max_age=60"),
        )
        .await;
        assert!(
            page.contains("name=\"password\""),
            "login older than max_age"
        );
        let (_, at, _) = follow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, "&max_age=60&prompt=none"),
        )
        .await;
        assert_eq!(query_param(&at, "error").as_deref(), Some("login_required"));
    }
}

/// An app's logo is fetched once, when it is set, re-encoded, and served by the portal: pages
/// never load it from the app's site, and nothing but a small PNG, JPEG or WebP is accepted.
#[tokio::test]
async fn app_logos_are_fetched_once_and_served_by_the_portal() {
    for backend in backends() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let png = &include_bytes!("fixtures/logo.png")[..];
        let site = axum::Router::new()
            .route(
                "/logo.png",
                axum::routing::get(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    async move { ([("content-type", "image/png")], png) }
                }),
            )
            .route(
                "/big.png",
                axum::routing::get(|| async { vec![0u8; 200 * 1024] }),
            )
            .route(
                "/logo.svg",
                axum::routing::get(|| async { "<svg xmlns='http://www.w3.org/2000/svg'/>" }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let site_base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, site).await });

        let t = TestApp::start(backend).await;
        let add = |logo: String| ClientInput {
            name: "Land Records".into(),
            redirect_uris: vec![CB_A.into()],
            logo_url: Some(logo),
            public: true,
            ..Default::default()
        };
        for (path, code) in [
            ("/big.png", "logo-too-large"),
            ("/logo.svg", "logo-format"),
            ("/missing.png", "logo-unreachable"),
        ] {
            match t
                .app
                .sso
                .add_client(add(format!("{site_base}{path}")))
                .await
            {
                Err(ekdwar_app::error::AppError::Form(list)) => {
                    assert_eq!(
                        (list[0].field.as_ref(), list[0].code),
                        ("logo", code),
                        "{path}"
                    )
                }
                other => panic!("{backend} {path}: {other:?}"),
            }
        }
        let before = hits.load(Ordering::SeqCst);
        let c = t
            .app
            .sso
            .add_client(add(format!("{site_base}/logo.png")))
            .await
            .unwrap()
            .app;
        assert_eq!(hits.load(Ordering::SeqCst), before + 1);
        let src = c.logo_path.clone().expect("a stored logo");
        assert!(
            src.starts_with(&format!("/apps/{}/logo.png?v=", c.client_id)),
            "{src}"
        );

        let apps = t.get("/apps").await;
        assert!(
            apps.has(&src),
            "{backend}: the apps page uses the portal's copy"
        );
        assert!(!apps.has(&site_base), "{backend}: and never the app's site");
        let client = reqwest::Client::new();
        let r = client.get(t.url(&src)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let etag = r.headers()["etag"].clone();
        let served = r.bytes().await.unwrap();
        assert!(served.starts_with(b"\x89PNG"), "{backend}");
        assert!(
            !served
                .windows(b"department".len())
                .any(|w| w == b"department"),
            "{backend}: the original's metadata is gone"
        );
        let again = client
            .get(t.url(&src))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
        assert_eq!(
            hits.load(Ordering::SeqCst),
            before + 1,
            "{backend}: page views never fetch the logo"
        );

        // Removing the logo removes the copy.
        t.app
            .sso
            .update_client(
                &c.client_id,
                ekdwar_app::sso::ClientPatch {
                    logo_url: Some(String::new()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(t.get(&src).await.status, 404, "{backend}");
    }
}

/// Security findings 2 and 8: an app's tokens outlived the portal session ("log out
/// everywhere", a password change or reset, ending a session), and an app's own logout request
/// or disconnecting the app told no other app. Now each ends the apps' tokens and queues a
/// back-channel logout, which is delivered even when the app fails the first time.
#[tokio::test]
async fn app_tokens_end_with_the_portal_session_in_every_case() {
    for backend in backends() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let received: Arc<Mutex<Vec<String>>> = Arc::default();
        let fail_next = Arc::new(AtomicBool::new(true));
        let (sink, fail) = (received.clone(), fail_next.clone());
        let receiver = axum::Router::new().route(
            "/bc",
            axum::routing::post(
                move |axum::Form(f): axum::Form<std::collections::HashMap<String, String>>| {
                    let (sink, fail) = (sink.clone(), fail.clone());
                    async move {
                        if fail.swap(false, Ordering::SeqCst) {
                            return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy");
                        }
                        sink.lock()
                            .unwrap()
                            .push(f.get("logout_token").cloned().unwrap_or_default());
                        (axum::http::StatusCode::OK, "ok")
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let bc = format!("http://{}/bc", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, receiver).await });

        let t = TestApp::start(backend).await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Exams".into(),
                redirect_uris: vec![CB_A.into()],
                post_logout_redirect_uris: vec!["http://localhost:9/a/bye".into()],
                backchannel_logout_uri: Some(bc.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        let secret = c.secret.clone().unwrap();
        let cases = [
            "log out everywhere",
            "password change",
            "password reset",
            "end a session",
            "app logout",
            "disconnect",
        ];
        for (i, case) in cases.into_iter().enumerate() {
            // A person of their own for each case, logged in at the portal (t.client) and
            // through the app in another browser.
            let phone = format!("98123004{i:02}");
            register_phone(&t, &phone, "Tara").await;
            let br = browser();
            let to_app = login_and_allow(
                &t,
                &br,
                authorize_url(&t, &c.app.client_id, CB_A, ""),
                &phone,
            )
            .await;
            let code = query_param(&to_app, "code").unwrap();
            let (_, tokens) = token(
                &t,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", CB_A),
                ],
                Some((&c.app.client_id, &secret)),
            )
            .await;
            let access = tokens["access_token"].as_str().unwrap().to_string();
            let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
            assert_eq!(userinfo(&t, &access).await.0, 200, "{backend} {case}");
            let told_before = received.lock().unwrap().len();
            fail_next.store(true, Ordering::SeqCst);

            match case {
                "log out everywhere" => {
                    let page = t.get("/account/sessions").await;
                    t.post(&page, "/account/sessions/logout-all", &[("confirm", "yes")])
                        .await;
                }
                "password change" => {
                    let page = t.get("/account/password").await;
                    let new = "granite meadow lantern 5";
                    t.post(
                        &page,
                        "/account/password",
                        &[("current", PASSWORD), ("password", new), ("confirm", new)],
                    )
                    .await;
                }
                "password reset" => {
                    let b = crate::support::browser();
                    let form = crate::accounts::fetch(&b, &t, "/recover").await;
                    let page = t
                        .post_with(&b, &form, "/recover", &[("identifier", &phone)])
                        .await;
                    let code = t.last_code(&format!("+91{phone}")).await;
                    let page = t
                        .post_with(&b, &page, "/recover/verify", &[("code", &code)])
                        .await;
                    let new = "granite meadow lantern 6";
                    t.post_with(
                        &b,
                        &page,
                        "/recover/password",
                        &[("password", new), ("confirm", new)],
                    )
                    .await;
                }
                "end a session" => {
                    let list = t.get("/account/sessions").await;
                    let id = list.field("id").expect("the other session is listed");
                    t.post(&list, "/account/sessions/revoke", &[("id", &id)])
                        .await;
                }
                "app logout" => {
                    let hint = tokens["id_token"].as_str().unwrap();
                    follow(
                        &t,
                        &br,
                        t.url(&format!("/oauth/logout?id_token_hint={hint}")),
                    )
                    .await;
                }
                _ => {
                    let (_, _, apps) = follow(&t, &br, t.url("/account/apps")).await;
                    post_form(
                        &t,
                        &br,
                        &apps,
                        "/account/apps/disconnect",
                        &[("client_id", &c.app.client_id), ("confirm", "yes")],
                    )
                    .await;
                }
            }

            assert_eq!(
                userinfo(&t, &access).await.0,
                401,
                "{backend} {case}: the app's access token ended"
            );
            let (status, body) = token(
                &t,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
                Some((&c.app.client_id, &secret)),
            )
            .await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_grant")),
                "{backend} {case}: the refresh token ended"
            );
            // The app is told, although it refused the first delivery: the job is retried.
            // The portal's own worker may hold the job, delivering it, while this loop looks:
            // after the retries are due it waits (in real time, a bounded while) for that.
            let waiting = std::time::Instant::now();
            for round in 0.. {
                if received.lock().unwrap().len() > told_before
                    || waiting.elapsed() > Duration::from_secs(30)
                {
                    break;
                }
                if round < 20 {
                    t.advance(Duration::from_secs(120));
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                t.app.jobs.run_due_jobs().await.unwrap();
            }
            let told = received.lock().unwrap().last().cloned();
            assert!(
                received.lock().unwrap().len() > told_before,
                "{backend} {case}: no back-channel logout"
            );
            let claims = verify_id_token(&t, &told.unwrap()).await;
            assert!(
                claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object(),
                "{backend} {case}"
            );
            // The next person starts from a logged-out portal browser.
            let page = t.get("/account").await;
            if page.path() == "/account" {
                t.post(&page, "/logout", &[]).await;
            }
        }
    }
}

/// Security finding 14: adding `_fresh=1` to an authorization request skipped `prompt=login`
/// for anyone who had logged in in the last five minutes.
#[tokio::test]
async fn a_forged_fresh_mark_does_not_skip_prompt_login() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300501", "Mira").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Exams".into(),
                redirect_uris: vec![CB_A.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let br = browser();
        let to_app = login_and_allow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, ""),
            "9812300501",
        )
        .await;
        assert!(to_app.starts_with(CB_A), "logged in and allowed: {to_app}");
        // Some time later (the test clock stands still otherwise: max_age=0 would be met).
        t.advance(Duration::from_secs(60));
        for forged in [
            "&prompt=login&_fresh=1",
            "&max_age=0&_fresh=1",
            "&prompt=login&_fresh=AAAA",
        ] {
            let (_, location, page) =
                follow(&t, &br, authorize_url(&t, &c.app.client_id, CB_A, forged)).await;
            assert!(
                !location.starts_with(CB_A) && page.contains("name=\"password\""),
                "{forged}: asked to log in again, not sent to {location}"
            );
        }
        // A real login for the request still goes through.
        let (_, _, login) = follow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, "&prompt=login"),
        )
        .await;
        let next = field(&login, "next").unwrap();
        let (_, to_app, _) = post_form(
            &t,
            &br,
            &login,
            "/login",
            &[
                ("identifier", "9812300501"),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
        assert!(to_app.starts_with(CB_A), "{to_app}");
    }
}

/// Security finding 9: another site could log a person out — by sending them to an
/// authorization request with `prompt=login` of any public app, or to the logout endpoint with
/// any ID token the portal signed, even another person's.
#[tokio::test]
async fn another_site_cannot_log_a_person_out() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300901", "Mira").await;
        register_phone(&t, "9812300902", "Other").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Public".into(),
                redirect_uris: vec![CB_A.into()],
                public: true,
                ..Default::default()
            })
            .await
            .unwrap();
        // The other person's ID token, from their own browser.
        let other = browser();
        let to_app = login_and_allow(
            &t,
            &other,
            format!(
                "{}&code_challenge={CHALLENGE}&code_challenge_method=S256",
                authorize_url(&t, &c.app.client_id, CB_A, "")
            ),
            "9812300902",
        )
        .await;
        let code = query_param(&to_app, "code").unwrap();
        let (_, tokens) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB_A),
                ("client_id", &c.app.client_id),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
        let foreign_hint = tokens["id_token"]
            .as_str()
            .expect("an ID token")
            .to_string();

        // Mira is logged in in her browser.
        let br = browser();
        let (_, _, login) = follow(&t, &br, t.url("/login")).await;
        post_form(
            &t,
            &br,
            &login,
            "/login",
            &[("identifier", "9812300901"), ("password", PASSWORD)],
        )
        .await;
        let still_in = |br: reqwest::Client| {
            let url = t.url("/account");
            async move { br.get(url).send().await.unwrap().status() == 200 }
        };
        assert!(still_in(br.clone()).await);
        follow(
            &t,
            &br,
            authorize_url(&t, &c.app.client_id, CB_A, "&prompt=login"),
        )
        .await;
        assert!(still_in(br.clone()).await, "prompt=login from another site");
        let (_, _, page) = follow(
            &t,
            &br,
            t.url(&format!("/oauth/logout?id_token_hint={foreign_hint}")),
        )
        .await;
        assert!(page.contains("Log out of Ekdwar?"), "asked first: {page}");
        assert!(still_in(br.clone()).await, "another person's ID token");
    }
}

/// Security finding 4: posting the consent form directly skipped `acr_values`, `prompt=login`
/// and `max_age`. The whole request is checked again on every step.
#[tokio::test]
async fn a_consent_posted_directly_meets_the_whole_request() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812301001", "Mira").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Exams".into(),
                redirect_uris: vec![CB_A.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let br = browser();
        let (_, _, login) = follow(&t, &br, t.url("/login")).await;
        post_form(
            &t,
            &br,
            &login,
            "/login",
            &[("identifier", "9812301001"), ("password", PASSWORD)],
        )
        .await;
        t.advance(Duration::from_secs(600));
        let (_, _, account) = follow(&t, &br, t.url("/account")).await;
        for extra in [
            "&prompt=login",
            "&max_age=60",
            "&acr_values=urn:ekdwar:loa:verified",
        ] {
            let url = authorize_url(&t, &c.app.client_id, CB_A, extra);
            let request = url.split_once('?').unwrap().1.to_string();
            let (_, location, _) = post_form(
                &t,
                &br,
                &account,
                "/authorize/consent",
                &[("request", &request), ("decision", "allow")],
            )
            .await;
            assert!(
                !location.contains("code="),
                "{extra}: a code was given without meeting the request: {location}"
            );
        }
    }
}

/// An app learns how the person logged in: `amr` lists `pwd`, `otp` and `mfa` after a
/// two-step login, and only `pwd` without one.
#[tokio::test]
async fn apps_see_otp_in_amr_after_a_two_step_login() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300041", "Asha").await;
        let a = t
            .app
            .sso
            .add_client(ClientInput {
                name: "e-Mitra".into(),
                redirect_uris: vec![CB_A.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let (id, secret) = (a.app.client_id.clone(), a.secret.clone().unwrap());
        let amr_of_login = |with_code: Option<String>| {
            let (t, id, secret) = (&t, id.clone(), secret.clone());
            async move {
                let br = browser();
                let (_, _, login) = follow(t, &br, authorize_url(t, &id, CB_A, "")).await;
                let next = field(&login, "next").unwrap();
                let (_, mut to_app, mut page) = post_form(
                    t,
                    &br,
                    &login,
                    "/login",
                    &[
                        ("identifier", "+919812300041"),
                        ("password", PASSWORD),
                        ("next", &next),
                    ],
                )
                .await;
                if let Some(code) = with_code {
                    assert!(page.contains("action=\"/login/code\""), "{page}");
                    let next = field(&page, "next").unwrap();
                    (_, to_app, page) = post_form(
                        t,
                        &br,
                        &page,
                        "/login/code",
                        &[("code", &code), ("next", &next)],
                    )
                    .await;
                }
                // The consent is asked the first time only.
                if let Some(request) = field(&page, "request") {
                    (_, to_app, _) = post_form(
                        t,
                        &br,
                        &page,
                        "/authorize/consent",
                        &[("request", &request), ("decision", "allow")],
                    )
                    .await;
                }
                let code = query_param(&to_app, "code").unwrap();
                let (_, tokens) = token(
                    t,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("redirect_uri", CB_A),
                    ],
                    Some((&id, &secret)),
                )
                .await;
                verify_id_token(t, tokens["id_token"].as_str().unwrap()).await["amr"].clone()
            }
        };
        assert_eq!(
            amr_of_login(None).await,
            serde_json::json!(["pwd"]),
            "{backend}"
        );
        let (key, _) = crate::two_step::turn_on(&t).await;
        t.advance(Duration::from_secs(30));
        let code = crate::two_step::code(&t, &key, 0);
        assert_eq!(
            amr_of_login(Some(code)).await,
            serde_json::json!(["pwd", "otp", "mfa"]),
            "{backend}"
        );
    }
}

/// `client_credentials` granted any scope string an app asked for. An app now gets only the
/// API scopes its registration lists, and never a person's data scopes.
#[tokio::test]
async fn client_credentials_grant_only_the_apps_own_api_scopes() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let with = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Records".into(),
                redirect_uris: vec![CB_A.into()],
                api_scopes: vec!["records.read".into(), "records.write".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let without = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Plain".into(),
                redirect_uris: vec![CB_A.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let auth =
            |c: &ekdwar_app::sso::NewClient| (c.app.client_id.clone(), c.secret.clone().unwrap());
        let (id, secret) = auth(&with);
        for (asked, expect) in [
            (Some("records.read"), Ok("records.read")),
            (None, Ok("records.read records.write")),
            (
                Some("records.read records.write"),
                Ok("records.read records.write"),
            ),
            (Some("records.delete"), Err("invalid_scope")),
            (Some("records.read openid"), Err("invalid_scope")),
            (Some("email"), Err("invalid_scope")),
        ] {
            let mut form = vec![("grant_type", "client_credentials")];
            if let Some(s) = asked {
                form.push(("scope", s));
            }
            let (status, body) = token(&t, &form, Some((&id, &secret))).await;
            match expect {
                Ok(scope) => {
                    assert_eq!(status, 200, "{asked:?}: {body}");
                    let granted: std::collections::BTreeSet<&str> =
                        body["scope"].as_str().unwrap().split(' ').collect();
                    assert_eq!(granted, scope.split(' ').collect(), "{asked:?}");
                }
                Err(code) => assert_eq!(
                    (status, body["error"].as_str()),
                    (400, Some(code)),
                    "{asked:?}"
                ),
            }
        }
        let (id, secret) = auth(&without);
        let (status, body) = token(
            &t,
            &[
                ("grant_type", "client_credentials"),
                ("scope", "records.read"),
            ],
            Some((&id, &secret)),
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope"))
        );
    }
}

/// Discovery says introspection needs a client secret and revocation does not: a public app
/// (no secret) may revoke its own tokens but may not introspect.
#[tokio::test]
async fn introspection_and_revocation_for_public_apps_match_discovery() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let disc: Value = reqwest::get(t.url("/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let methods = |k: &str| -> Vec<String> {
            disc[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect()
        };
        let public = t
            .app
            .sso
            .add_client(ClientInput {
                name: "Mobile".into(),
                redirect_uris: vec![CB_A.into()],
                public: true,
                ..Default::default()
            })
            .await
            .unwrap();
        let id = public.app.client_id.clone();
        let post = |path: &'static str| {
            let (t, id) = (&t, id.clone());
            async move {
                let r = reqwest::Client::new()
                    .post(t.url(path))
                    .form(&[("client_id", id.as_str()), ("token", "not-a-token")])
                    .send()
                    .await
                    .unwrap();
                r.status().as_u16()
            }
        };
        let introspect = post("/oauth/introspect").await;
        let revoke = post("/oauth/revoke").await;
        assert_eq!(
            introspect == 200,
            methods("introspection_endpoint_auth_methods_supported").contains(&"none".to_string()),
            "introspection answered {introspect}"
        );
        assert_eq!(
            revoke == 200,
            methods("revocation_endpoint_auth_methods_supported").contains(&"none".to_string()),
            "revocation answered {revoke}"
        );
    }
}

/// Held in the review, now under test: a redirect URI must equal a registered one exactly —
/// no extra slash, query, fragment, case change, dot segment or suffix — at the authorization
/// request and again at the code exchange.
#[tokio::test]
async fn redirect_uris_match_exactly() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300051", "Asha").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "e-Mitra".into(),
                redirect_uris: vec![CB_A.into(), "http://localhost:9/a/other".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let (id, secret) = (c.app.client_id.clone(), c.secret.clone().unwrap());
        let br = browser();
        for near in [
            "http://localhost:9/a/cb/",
            "http://localhost:9/a/cb?x=1",
            "http://localhost:9/a/cb#f",
            "http://LOCALHOST:9/a/cb",
            "http://localhost:9/a/x/../cb",
            "http://localhost:9/a/cbx",
            "http://localhost:9/a/CB",
            "http://localhost:90/a/cb",
            "https://localhost:9/a/cb",
        ] {
            let (status, _, page) = follow(&t, &br, authorize_url(&t, &id, near, "")).await;
            assert_eq!(status, 400, "{near}");
            assert!(page.contains("does not trust"), "{near}: {page}");
        }
        // A code issued for one registered address cannot be exchanged naming another.
        let to_app = login_and_allow(&t, &br, authorize_url(&t, &id, CB_A, ""), "9812300051").await;
        let code = query_param(&to_app, "code").unwrap();
        let (status, err) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://localhost:9/a/other"),
            ],
            Some((&id, &secret)),
        )
        .await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
}

/// Held in the review, now under test: what administrators and people type is shown as text,
/// never as markup — an app's name on the apps page and the consent page, a person's name on
/// the account page.
#[tokio::test]
async fn typed_text_is_escaped_everywhere_it_is_shown() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300052", "Asha").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "<script>alert(1)</script> & \"Mitra\"".into(),
                redirect_uris: vec![CB_A.into()],
                launch_url: Some("http://localhost:9/a/".into()),
                officer: Some("<img src=x onerror=alert(2)>".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let pages = [
            t.get("/apps").await.body,
            t.get("/helpdesk").await.body,
            follow(&t, &t.client, authorize_url(&t, &c.app.client_id, CB_A, ""))
                .await
                .2,
        ];
        for page in &pages {
            assert!(
                page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"),
                "{page}"
            );
            assert!(
                !page.contains("<script>alert") && !page.contains("<img src=x"),
                "{page}"
            );
        }
    }
}

/// A code and a refresh token are each good for one exchange, however many requests race with
/// them: one conditional `UPDATE` decides, on both databases. (A refresh token presented twice
/// is reuse, which ends its family — so the racers lose, and no second set of tokens exists.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_and_refresh_tokens_are_exchanged_once_under_concurrency() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300061", "Asha").await;
        let c = t
            .app
            .sso
            .add_client(ClientInput {
                name: "e-Mitra".into(),
                redirect_uris: vec![CB_A.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let (id, secret) = (c.app.client_id.clone(), c.secret.clone().unwrap());
        let to_app = login_and_allow(
            &t,
            &browser(),
            authorize_url(&t, &id, CB_A, "&scope=openid%20offline_access"),
            "9812300061",
        )
        .await;
        let code = query_param(&to_app, "code").unwrap();
        let race = |form: Vec<(&'static str, String)>| {
            let (url, id, secret) = (t.url("/oauth/token"), id.clone(), secret.clone());
            async move {
                let tasks: Vec<_> = (0..10)
                    .map(|_| {
                        let (url, id, secret, form) =
                            (url.clone(), id.clone(), secret.clone(), form.clone());
                        tokio::spawn(async move {
                            let r = reqwest::Client::new()
                                .post(url)
                                .basic_auth(id, Some(secret))
                                .form(&form)
                                .send()
                                .await
                                .unwrap();
                            (r.status().as_u16(), r.json::<Value>().await.unwrap())
                        })
                    })
                    .collect();
                let mut out = Vec::new();
                for task in tasks {
                    out.push(task.await.unwrap());
                }
                out
            }
        };
        let exchanges = race(vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", CB_A.into()),
        ])
        .await;
        let won: Vec<&Value> = exchanges
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert!(
            won.len() <= 1,
            "{backend}: {} exchanges of one code",
            won.len()
        );
        assert!(
            exchanges
                .iter()
                .all(|(s, b)| *s == 200 || b["error"] == "invalid_grant"),
            "{backend}: {exchanges:?}"
        );
        // Sequentially, a fresh login's refresh token, then ten racers with it.
        let to_app = login_and_allow(
            &t,
            &browser(),
            authorize_url(
                &t,
                &id,
                CB_A,
                "&scope=openid%20offline_access&prompt=consent",
            ),
            "9812300061",
        )
        .await;
        let (status, tokens) = token(
            &t,
            &[
                ("grant_type", "authorization_code"),
                ("code", &query_param(&to_app, "code").unwrap()),
                ("redirect_uri", CB_A),
            ],
            Some((&id, &secret)),
        )
        .await;
        assert_eq!(status, 200, "{tokens}");
        let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
        let refreshes = race(vec![
            ("grant_type", "refresh_token".into()),
            ("refresh_token", refresh),
        ])
        .await;
        let winners: Vec<String> = refreshes
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b["refresh_token"].as_str().unwrap().to_string())
            .collect();
        assert!(
            winners.len() <= 1,
            "{backend}: {} rotations of one token",
            winners.len()
        );
        // Any racer beyond the first was reuse: the family, the winner's new token too, is over.
        if let Some(new) = winners.first() {
            let (status, body) = token(
                &t,
                &[("grant_type", "refresh_token"), ("refresh_token", new)],
                Some((&id, &secret)),
            )
            .await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_grant")),
                "{backend}"
            );
        }
    }
}
