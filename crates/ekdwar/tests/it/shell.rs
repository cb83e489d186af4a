use crate::support::{TestApp, backends, browser};

#[tokio::test]
async fn health_metrics_headers_and_csrf() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        assert_eq!(t.get("/healthz").await.status, 200);
        assert_eq!(t.get("/readyz").await.status, 200);
        let home = crate::accounts::fetch(&t.client, &t, "/").await;
        let fresh = crate::accounts::fetch(&browser(), &t, "/").await;
        let h = &fresh.headers;
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        let cookie = h
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join(";");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        // A form posted without the token, or from another origin, is refused.
        let r = t
            .client
            .post(t.url("/login"))
            .form(&[("identifier", "x"), ("password", "y")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let r = t
            .client
            .post(t.url("/login"))
            .header("origin", "https://evil.example")
            .form(&[("csrf", home.field("csrf").unwrap().as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let metrics = t.get("/metrics").await;
        assert!(
            metrics.has("ekdwar_http_requests_total") && metrics.has("ekdwar_logins_total")
                || metrics.has("ekdwar_http_requests"),
            "{}",
            metrics.body
        );
        let missing = t.get("/no/such/page").await;
        assert_eq!(missing.status, 404);
        assert!(missing.has("Page not found"));
        // Malformed form bodies get a page, not a crash.
        let login = t.get("/login").await;
        let page = t.post(&login, "/login", &[]).await;
        assert_eq!(page.status, 422);
    }
}

/// What browsers send on form posts: `Origin` naming the portal under the referrer policy it
/// sets; `null` or another site is refused; without `Origin`, `Sec-Fetch-Site` decides. The
/// token is required whatever the headers say.
#[tokio::test]
async fn origin_and_fetch_metadata_decide_with_the_token() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let login = t.get("/login").await;
        assert_eq!(login.headers["referrer-policy"], "same-origin");
        let csrf = login.field("csrf").unwrap();
        let post = |headers: Vec<(&'static str, String)>, with_token: bool| {
            let mut r = t.client.post(t.url("/login"));
            for (k, v) in headers {
                r = r.header(k, v);
            }
            let mut form = vec![("identifier", "nobody"), ("password", "wrong")];
            if with_token {
                form.push(("csrf", csrf.as_str()));
            }
            async move { r.form(&form).send().await.unwrap().status().as_u16() }
        };
        let ours = t.base.clone();
        // 422: the form was accepted and the login refused; 403: the post itself was refused.
        assert_eq!(post(vec![("origin", ours.clone())], true).await, 422);
        assert_eq!(post(vec![("origin", ours.clone())], false).await, 403);
        assert_eq!(post(vec![("origin", "null".into())], true).await, 403);
        assert_eq!(
            post(vec![("origin", "http://evil.example".into())], true).await,
            403
        );
        assert_eq!(
            post(vec![("sec-fetch-site", "same-origin".into())], true).await,
            422
        );
        for site in ["cross-site", "same-site", "none"] {
            assert_eq!(
                post(vec![("sec-fetch-site", site.into())], true).await,
                403,
                "{site}"
            );
        }
    }
}

/// Text is compressed, static files are fingerprinted and cached for a year with validators,
/// there is a favicon, and the form token is masked afresh on every page.
#[tokio::test]
async fn compression_caching_favicon_and_masked_tokens() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let raw = reqwest::Client::builder()
            .no_gzip()
            .no_brotli()
            .build()
            .unwrap();
        let page = raw
            .get(t.url("/login"))
            .header("accept-encoding", "br, gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(page.headers()["content-encoding"], "br");
        let html = t.get("/login").await;
        let css = html.attr("href").unwrap();
        assert!(
            css.starts_with("/static/app.") && css.ends_with(".css"),
            "{css}"
        );
        let r = raw
            .get(t.url(&css))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-encoding"], "gzip");
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let again = raw
            .get(t.url(&css))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
        let icon = t.client.get(t.url("/favicon.ico")).send().await.unwrap();
        assert_eq!(icon.status(), 200);
        assert_eq!(icon.headers()["content-type"], "image/svg+xml");
        // Two pages, two different copies of the token; both are accepted.
        let a = t.get("/login").await;
        let b = t.get("/login").await;
        assert_ne!(a.field("csrf"), b.field("csrf"));
        for p in [&a, &b] {
            let r = t
                .post(p, "/login", &[("identifier", "x"), ("password", "y")])
                .await;
            assert_eq!(r.status, 422, "the form was accepted and the login refused");
        }
    }
}

#[tokio::test]
async fn language_from_header_cookie_and_switch() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        for (accept, text) in [
            ("ru", "Вход"),
            ("bn-IN,en;q=0.5", "লগ ইন"),
            ("hi", "लॉग इन"),
            ("fr", "Log in"),
        ] {
            let b = browser();
            let r = b
                .get(t.url("/login"))
                .header("accept-language", accept)
                .send()
                .await
                .unwrap();
            assert!(r.text().await.unwrap().contains(text), "{accept}");
        }
        let home = t.get("/").await;
        let page = t
            .post(&home, "/language", &[("lang", "ru"), ("back", "/login")])
            .await;
        assert!(page.has("Вход"));
        assert!(t.get("/").await.has("lang=\"ru\""), "remembered by cookie");
        let page = t
            .post(
                &page,
                "/language",
                &[("lang", "en"), ("back", "https://evil.example/")],
            )
            .await;
        assert_eq!(page.path(), "/", "no open redirect");
    }
}

#[tokio::test]
async fn dev_outbox_page_and_cli_view_agree() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let form = t.get("/register").await;
        t.post(
            &form,
            "/register",
            &[
                ("contact", "9812300009"),
                ("first_name", "Om"),
                ("last_name", "Roy"),
                ("consent", "yes"),
            ],
        )
        .await;
        let code = t.last_code("+919812300009").await;
        assert!(t.get("/dev/outbox").await.has(&code));
    }
}

/// Every response names its request: a proxy's `X-Request-Id` is kept when it looks like an
/// id, anything else is replaced by a new one; pages and API answers alike.
#[tokio::test]
async fn every_response_carries_a_request_id() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let client = reqwest::Client::new();
        let id_of = |r: &reqwest::Response| {
            r.headers()
                .get("x-request-id")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let mut seen = std::collections::HashSet::new();
        for path in [
            "/",
            "/login",
            "/no/such/page",
            "/.well-known/openid-configuration",
        ] {
            let r = client.get(t.url(path)).send().await.unwrap();
            let id = id_of(&r);
            assert!(id.len() >= 8, "{path}: {id:?}");
            assert!(seen.insert(id), "{path}: ids differ per request");
        }
        let kept = client
            .get(t.url("/"))
            .header("x-request-id", "proxy-7f3a9c21")
            .send()
            .await
            .unwrap();
        assert_eq!(id_of(&kept), "proxy-7f3a9c21");
        let replaced = client
            .get(t.url("/"))
            .header("x-request-id", "<script>")
            .send()
            .await
            .unwrap();
        assert_ne!(id_of(&replaced), "<script>");
    }
}
