//! Logging in through an upstream OpenID provider: oidc-provider (npm), a real, independent
//! implementation, started by the test on a local port.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ekdwar_app::config::{Secret, UpstreamConfig};

use crate::accounts::register_phone;
use crate::sso::{browser, follow, post_form};
use crate::support::{TestApp, backends, free_port};

pub(crate) const UPSTREAM_SECRET: &str = "ekdwar-upstream-secret-ekdwar-upstream-secret";

pub(crate) struct Upstream(Child);

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts oidc-provider with one client: this portal.
fn start_upstream(port: u16, callback: &str) -> Upstream {
    start_upstream_with(port, callback, &serde_json::json!({}))
}

/// Starts oidc-provider with one client, this portal, and `people` (user name → claims).
pub(crate) fn start_upstream_with(
    port: u16,
    callback: &str,
    people: &serde_json::Value,
) -> Upstream {
    let clients = serde_json::json!([{
        "client_id": "ekdwar",
        "client_secret": UPSTREAM_SECRET,
        "redirect_uris": [callback],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    }]);
    let child = Upstream(
        Command::new("node")
            .arg("provider.mjs")
            .current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop"))
            .env("PORT", port.to_string())
            .env("CLIENTS", clients.to_string())
            .env("PEOPLE", people.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("node starts oidc-provider"),
    );
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("oidc-provider did not start");
}

/// Goes through the upstream's own login form as `login`; returns the portal page reached.
pub(crate) async fn upstream_login(
    t: &TestApp,
    b: &reqwest::Client,
    start: &str,
    login: &str,
) -> (u16, String, String) {
    let r = b.get(t.url(start)).send().await.unwrap();
    let mut url = r.headers()["location"].to_str().unwrap().to_string();
    let upstream = url.split("/auth").next().unwrap().to_string();
    for _ in 0..10 {
        if url.starts_with(&t.base) {
            return follow(t, b, url).await;
        }
        let r = b.get(&url).send().await.unwrap();
        if let Some(l) = r.headers().get("location") {
            let l = l.to_str().unwrap();
            url = if l.starts_with('/') {
                format!("{upstream}{l}")
            } else {
                l.to_string()
            };
            continue;
        }
        let page = ekdwar_testkit::Form::first(&r.text().await.unwrap()).expect("a form");
        let action = page.action.clone();
        // Every hidden field (prompt, xsrf token...) plus the login fields when asked.
        let mut form = page.hidden.clone();
        if page.asks_for("login") {
            form.push(("login".into(), login.into()));
            form.push(("password".into(), "any".into()));
        }
        let target = if action.starts_with("http") {
            action
        } else {
            format!("{upstream}{action}")
        };
        let r = b.post(target).form(&form).send().await.unwrap();
        let Some(l) = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
        else {
            panic!(
                "upstream form answered {}: {}",
                r.status(),
                r.text().await.unwrap()
            );
        };
        url = if l.starts_with('/') {
            format!("{upstream}{l}")
        } else {
            l.to_string()
        };
    }
    panic!("upstream login did not come back");
}

#[tokio::test]
async fn upstream_logins_create_link_and_never_match_by_email() {
    tokio::task::spawn_blocking(crate::interop::ensure_interop)
        .await
        .unwrap();
    for backend in backends() {
        let port = free_port();
        let mut upstream = None;
        let t = TestApp::start_with(backend, |c| {
            let callback = format!(
                "http://{}/login/external/upstream/callback",
                c.server.listen
            );
            upstream = Some(start_upstream(port, &callback));
            c.upstream = vec![UpstreamConfig::login_only(
                "upstream",
                "Upstream ID",
                &format!("http://127.0.0.1:{port}"),
                "ekdwar",
                Secret::new(UPSTREAM_SECRET),
            )];
        })
        .await;

        // First login creates a simplified account of type "other".
        let b = browser();
        let (_, _, login) = follow(&t, &b, t.url("/login")).await;
        assert!(login.contains("Log in with Upstream ID"), "{backend}");
        let (_, at, page) = upstream_login(&t, &b, "/login/external/upstream", "alice").await;
        assert!(at.ends_with("/account"), "{backend}: {at} {page}");
        let alice = t.account("alice.upstream").await;
        assert_eq!(
            (alice.account_type.as_str(), alice.level.as_str()),
            ("other", "simplified")
        );
        assert!(
            alice.email.is_none(),
            "an upstream e-mail is not a verified contact here"
        );
        let users = t.app.identity.admin_list_users(100, 0).await.unwrap().len();
        let (_, at, _) = upstream_login(&t, &browser(), "/login/external/upstream", "alice").await;
        assert!(at.ends_with("/account"));
        assert_eq!(
            t.app.identity.admin_list_users(100, 0).await.unwrap().len(),
            users,
            "{backend}: the same account the second time"
        );
        // Alice has no password: her only login cannot be removed.
        let (_, _, linked) = follow(&t, &b, t.url("/account/linked")).await;
        let (status, _, page) = post_form(
            &t,
            &b,
            &linked,
            "/account/linked/remove",
            &[("provider", "upstream")],
        )
        .await;
        assert!(
            status == 422 || page.contains("only way"),
            "{backend}: {page}"
        );

        // A portal account links an upstream one only from its own profile.
        register_phone(&t, "9812300050", "Bob").await;
        let bob_browser = browser();
        let (_, _, login) = follow(&t, &bob_browser, t.url("/login")).await;
        let (_, _, _) = post_form(
            &t,
            &bob_browser,
            &login,
            "/login",
            &[
                ("identifier", "9812300050"),
                ("password", crate::accounts::PASSWORD),
            ],
        )
        .await;
        let (_, at, page) =
            upstream_login(&t, &bob_browser, "/login/external/upstream?link=1", "bob").await;
        assert!(at.contains("/account/linked"), "{backend}: {at}");
        assert!(
            page.contains("Upstream ID"),
            "{backend}: linked login listed"
        );
        // Linking alice's upstream account to bob is refused.
        let (_, _, page) =
            upstream_login(&t, &bob_browser, "/login/external/upstream?link=1", "alice").await;
        assert!(page.contains("already linked"), "{backend}: {page}");
        // Bob can now log in upstream and lands in his own account.
        let fresh = browser();
        upstream_login(&t, &fresh, "/login/external/upstream", "bob").await;
        let (_, _, account) = follow(&t, &fresh, t.url("/account")).await;
        assert!(
            account.contains("+91 98123 00050"),
            "{backend}: bob's own account"
        );

        // No matching by e-mail: the upstream reports carol@upstream.example, which a portal
        // account already has; the upstream login still gets an account of its own.
        let form = t.get("/register").await;
        let page = t
            .post(
                &form,
                "/register",
                &[
                    ("contact", "carol@upstream.example"),
                    ("first_name", "Carol"),
                    ("last_name", "Portal"),
                    ("consent", "yes"),
                ],
            )
            .await;
        assert_eq!(page.path(), "/register/verify");
        let mail = t.last_message("carol@upstream.example").await;
        let link = mail
            .split_whitespace()
            .find(|w| w.starts_with("http"))
            .unwrap()
            .to_string();
        let page = crate::accounts::fetch(&t.client, &t, link.trim_start_matches(&t.base)).await;
        t.post(
            &page,
            "/register/password",
            &[
                ("portal_id", "carol.portal"),
                ("password", crate::accounts::PASSWORD),
                ("confirm", crate::accounts::PASSWORD),
            ],
        )
        .await;
        upstream_login(&t, &browser(), "/login/external/upstream", "carol").await;
        let portal_carol = t.account("carol.portal").await;
        let upstream_carol = t.account("carol.upstream").await;
        assert_ne!(portal_carol.id, upstream_carol.id);
        drop(upstream);
    }
}

/// Government employees: registering with their employee ID (a portal ID made of their name,
/// never their post), or through their department's directory configured as an upstream
/// provider (oidc-provider here), after which they are asked to have a national ID checked.
#[tokio::test]
async fn government_employees_register_with_their_id_or_through_their_directory() {
    tokio::task::spawn_blocking(crate::interop::ensure_interop)
        .await
        .unwrap();
    let people = serde_json::json!({
        "meena": { "given_name": "Meena", "family_name": "Verma", "employee_id": "rj-2077" },
        "twin": { "given_name": "Ravi", "family_name": "Jain", "employee_id": "RJ-1042" },
    });
    for backend in backends() {
        let port = free_port();
        let mut upstream = None;
        let t = TestApp::start_with(backend, |c| {
            let callback = format!("http://{}/login/external/sipf/callback", c.server.listen);
            upstream = Some(start_upstream_with(port, &callback, &people));
            let mut sipf = UpstreamConfig::login_only(
                "sipf",
                "SIPF employee login",
                &format!("http://127.0.0.1:{port}"),
                "ekdwar",
                Secret::new(UPSTREAM_SECRET),
            );
            sipf.scopes = "openid profile employee".into();
            sipf.employee_id_claim = Some("employee_id".into());
            c.upstream = vec![sipf];
        })
        .await;

        // On the portal: a bad ID is refused; a post as the portal ID is refused.
        let b = crate::support::browser();
        let form = t.get_as(&b, "/register").await;
        let fields = |id: &'static str| {
            vec![
                ("contact", "98123 00077"),
                ("first_name", "Asha"),
                ("last_name", "Kumari"),
                ("employee_id", id),
                ("consent", "yes"),
            ]
        };
        let bad = t.post_with(&b, &form, "/register", &fields("RJ_10!")).await;
        assert_eq!(bad.status, 422, "{backend}");
        assert!(
            bad.text().contains("Enter the employee ID"),
            "{}",
            bad.text()
        );
        let page = t.post_with(&b, &bad, "/register", &fields("rj-1042")).await;
        assert_eq!(page.path(), "/register/verify", "{backend}");
        let code = t.last_code("+919812300077").await;
        let page = t
            .post_with(&b, &page, "/register/verify", &[("code", &code)])
            .await;
        let pw = |pid: &'static str| {
            vec![
                ("portal_id", pid),
                ("password", crate::accounts::PASSWORD),
                ("confirm", crate::accounts::PASSWORD),
            ]
        };
        let post = t
            .post_with(&b, &page, "/register/password", &pw("collector.jaipur"))
            .await;
        assert_eq!(post.status, 422, "{backend}");
        assert!(post.text().contains("not your post"), "{}", post.text());
        let done = t
            .post_with(&b, &post, "/register/password", &pw("asha.kumari"))
            .await;
        assert_eq!(done.path(), "/account", "{backend}: {}", done.text());
        assert!(done.text().contains("Government employee ID") && done.text().contains("RJ-1042"));
        assert_eq!(
            t.account("asha.kumari").await.account_type.as_str(),
            "government"
        );

        // Through the directory: a government account with the directory's ID, name-based,
        // sent to have a national ID checked once.
        let d = browser();
        let (_, at, page) = upstream_login(&t, &d, "/login/external/sipf", "meena").await;
        assert!(
            at.contains("/account/profile") && page.contains("have one national ID number"),
            "{backend}: {at} {page}"
        );
        let meena = t.account("meena.verma").await;
        assert_eq!(meena.account_type.as_str(), "government", "{backend}");
        assert_eq!(
            t.app
                .identity
                .employee_of(&meena.id)
                .await
                .unwrap()
                .as_deref(),
            Some("RJ-2077")
        );
        // An employee ID that already has an account is not given a second one.
        let (status, _, page) =
            upstream_login(&t, &browser(), "/login/external/sipf", "twin").await;
        assert_eq!(status, 422, "{backend}: {page}");
        assert!(page.contains("already has an account"), "{backend}: {page}");
        drop(upstream);
    }
}
