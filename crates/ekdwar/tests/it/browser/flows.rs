//! Citizen journeys in Chromium, with JavaScript on and off, the way a person goes through them.

use std::sync::{Arc, Mutex};

use ekdwar_app::sso::ClientInput;

use super::Browser;
use crate::accounts::PASSWORD;
use crate::support::TestApp;

/// A departmental app on another origin: it records what arrives at its redirect URI and shows
/// a page, as a real app would.
pub struct DeptApp {
    pub base: String,
    pub arrivals: Arc<Mutex<Vec<String>>>,
}

impl DeptApp {
    pub async fn start() -> Self {
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let seen = arrivals.clone();
        let router = axum::Router::new()
            .route(
                "/logo.png",
                axum::routing::get(|| async {
                    (
                        [(axum::http::header::CONTENT_TYPE, "image/png")],
                        &include_bytes!("../fixtures/logo.png")[..],
                    )
                }),
            )
            .fallback(move |uri: axum::http::Uri| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(uri.to_string());
                axum::response::Html(
                    "<!doctype html><html lang=en><title>Department</title><h1>Welcome to the department</h1></html>",
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, router).await });
        // `localhost`, not the portal's `127.0.0.1`: a different origin, as in production.
        Self {
            base: format!("http://localhost:{port}"),
            arrivals,
        }
    }

    pub fn redirect_uri(&self) -> String {
        format!("{}/callback", self.base)
    }

    /// The last request that reached the redirect URI.
    pub fn last(&self) -> Option<String> {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|u| u.starts_with("/callback"))
            .cloned()
    }

    /// Registers this app with the portal; returns its client ID.
    pub async fn register(&self, t: &TestApp, name: &str) -> String {
        t.app
            .sso
            .add_client(ClientInput {
                name: name.into(),
                redirect_uris: vec![self.redirect_uri()],
                post_logout_redirect_uris: vec![format!("{}/bye", self.base)],
                launch_url: Some(format!("{}/", self.base)),
                logo_url: Some(format!("{}/logo.png", self.base)),
                helpdesk_phone: Some("0141-2921336".into()),
                helpdesk_email: Some("helpdesk@dept.example".into()),
                officer: Some("R. Meena".into()),
                public: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .app
            .client_id
            .into_string()
    }

    pub fn authorize_path(&self, client_id: &str, extra: &str) -> String {
        let redirect: String =
            url::form_urlencoded::byte_serialize(self.redirect_uri().as_bytes()).collect();
        format!(
            "/authorize?response_type=code&client_id={client_id}&redirect_uri={redirect}&scope=openid%20profile%20phone&state=st-1&nonce=n-1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGXSI8fKjk&code_challenge_method=S256{extra}"
        )
    }
}

/// Registers by phone through the pages; returns the portal ID chosen.
pub async fn register_by_phone(t: &TestApp, b: &Browser, phone: &str, first: &str) -> String {
    b.open("/register").await;
    b.fill("contact", phone).await;
    b.fill("first_name", first).await;
    b.fill("last_name", "Kumari").await;
    b.click("#consent").await;
    b.answer_challenge().await;
    b.submit("form[action='/register'] button").await;
    assert_eq!(b.path().await, "/register/verify", "{}", b.text().await);
    let e164 =
        ekdwar_domain::identity::Phone::parse(phone, &ekdwar_domain::identity::Regions::india())
            .unwrap()
            .as_str()
            .to_string();
    let code = t.last_code(&e164).await;
    b.fill("code", &code).await;
    b.submit("form[action='/register/verify'] button").await;
    assert_eq!(b.path().await, "/register/password", "{}", b.text().await);
    let portal_id = b.value("portal_id").await;
    b.fill("password", PASSWORD).await;
    b.fill("confirm", PASSWORD).await;
    b.submit("form[action='/register/password'] button").await;
    assert_eq!(b.path().await, "/account", "{}", b.text().await);
    portal_id
}

pub async fn log_in(b: &Browser, identifier: &str) {
    b.fill("identifier", identifier).await;
    b.fill("password", PASSWORD).await;
    b.answer_challenge().await;
    b.submit("form[action='/login'] button").await;
}

/// Register → log out → log in through an app → consent → arrive at the app.
pub async fn main_journey(backend: &str, js: bool) {
    let t = TestApp::start(backend).await;
    let dept = DeptApp::start().await;
    let client_id = dept.register(&t, "e-Mitra").await;
    let b = Browser::start(&t.base, js).await;

    let portal_id = register_by_phone(&t, &b, "98123 45678", "Asha").await;
    b.press("Log out").await;
    assert!(
        b.path().await.starts_with("/login"),
        "logged out: {}",
        b.path().await
    );

    b.open(&dept.authorize_path(&client_id, "")).await;
    assert!(b.path().await.starts_with("/login"), "{}", b.path().await);
    // The language switch keeps the app's request.
    b.press("Русский").await;
    assert!(
        b.path_and_query().await.contains("next=%2Fauthorize"),
        "{}",
        b.path_and_query().await
    );
    b.press("English").await;
    assert!(b.path_and_query().await.contains("next=%2Fauthorize"));
    log_in(&b, &portal_id).await;
    assert!(
        b.text().await.contains("e-Mitra"),
        "the consent page names the app: {}",
        b.text().await
    );
    // The app's logo shows, served by the portal (the page may load nothing from elsewhere).
    let logo = b
        .eval(
            "(() => { const i = document.querySelector('img.app-logo'); \
             return i && i.complete ? [new URL(i.src).origin === location.origin, i.naturalWidth] : null; })()",
        )
        .await;
    assert_eq!(logo, serde_json::json!([true, 48]), "the logo: {logo}");
    b.press("Allow").await;
    let arrived = b.current_url().await;
    assert_eq!(
        arrived.origin().ascii_serialization(),
        dept.base,
        "the browser arrives at the app: {arrived}"
    );
    let last = dept.last().expect("the app saw the browser arrive");
    assert!(
        last.contains("code=") && last.contains("state=st-1"),
        "{last}"
    );
    assert!(b.text().await.contains("Welcome to the department"));

    // The app asks the portal to log the person out and to come back afterwards.
    let bye: String =
        url::form_urlencoded::byte_serialize(format!("{}/bye", dept.base).as_bytes()).collect();
    b.open(&format!(
        "/oauth/logout?client_id={client_id}&post_logout_redirect_uri={bye}&state=s-2"
    ))
    .await;
    b.submit("main form[action='/oauth/logout'] button").await;
    let back = b.current_url().await;
    assert_eq!(back.origin().ascii_serialization(), dept.base, "{back}");
    assert_eq!(back.path(), "/bye");
    b.open("/account").await;
    assert!(
        b.path().await.starts_with("/login"),
        "the portal session ended"
    );
}

/// The consent page may lead only to the app's redirect URI: a form pointed anywhere else is
/// stopped by the browser (CSP `form-action`).
#[tokio::test]
async fn forms_cannot_post_to_another_site() {
    // The browser's own rule, whatever the database: one backend is enough.
    let t = TestApp::start("sqlite").await;
    let dept = DeptApp::start().await;
    let client_id = dept.register(&t, "e-Mitra").await;
    let elsewhere = DeptApp::start().await;
    let b = Browser::start(&t.base, true).await;
    let portal_id = register_by_phone(&t, &b, "98123 45679", "Asha").await;
    let _ = portal_id;
    b.open(&dept.authorize_path(&client_id, "")).await;
    assert_eq!(b.path().await, "/authorize", "consent page");
    // The consent page names exactly the app's origin; every other page only itself.
    let csp = |path: String| {
        let c = t.client.clone();
        async move {
            let r = c.get(path).send().await.unwrap();
            r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_string()
        }
    };
    let form_action = |csp: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.starts_with("form-action"))
            .unwrap()
            .to_string()
    };
    let login_csp = csp(b.url(&format!(
        "/login?next={}",
        url::form_urlencoded::byte_serialize(dept.authorize_path(&client_id, "").as_bytes())
            .collect::<String>()
    )))
    .await;
    assert_eq!(
        form_action(&login_csp),
        format!("form-action 'self' {}", dept.base)
    );
    assert_eq!(
        form_action(&csp(t.url("/account")).await),
        "form-action 'self'"
    );

    b.eval(&format!(
        "(function(){{ var f = document.querySelector('main form'); f.action = '{}/steal'; f.submit(); return 1; }})()",
        elsewhere.base
    ))
    .await;
    // Give the browser the chance to (wrongly) navigate, then check it stayed.
    b.open("/healthz").await;
    assert!(
        elsewhere.arrivals.lock().unwrap().is_empty(),
        "the form reached another site"
    );
}

#[tokio::test]
async fn register_log_in_consent_and_arrive_at_the_app_with_javascript() {
    for backend in super::journey_backends(true) {
        main_journey(backend, true).await;
    }
}

#[tokio::test]
async fn register_log_in_consent_and_arrive_at_the_app_without_javascript() {
    for backend in super::journey_backends(false) {
        main_journey(backend, false).await;
    }
}

fn link_in(message: &str) -> String {
    message
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap_or_else(|| panic!("no link in {message:?}"))
        .to_string()
}

async fn open_account(b: &Browser) {
    b.open("/account").await;
    assert_eq!(b.path().await, "/account", "logged in");
}

/// Everything a citizen can do today, in English, as one person's afternoon.
async fn citizen_flows(js: bool) {
    for backend in super::journey_backends(js) {
        citizen_flows_on(backend, js).await;
    }
}

async fn citizen_flows_on(backend: &str, js: bool) {
    let t = TestApp::start(backend).await;
    let dept = DeptApp::start().await;
    let client_id = dept.register(&t, "e-Mitra").await;
    let b = Browser::start(&t.base, js).await;

    // Switching language keeps what was typed (with JavaScript; without it the page reloads
    // empty, in the new language).
    if js {
        b.open("/register").await;
        b.fill("contact", "asha@example.in").await;
        b.fill("first_name", "Asha").await;
        b.press("Русский").await;
        assert_eq!(b.value("contact").await, "asha@example.in");
        assert_eq!(b.value("first_name").await, "Asha");
        b.press("English").await;
    }

    // Registration by e-mail: the check page is about a link, not a code.
    b.open("/register").await;
    b.fill("contact", "asha@example.in").await;
    b.fill("first_name", "Asha").await;
    b.fill("last_name", "Kumari").await;
    b.click("#consent").await;
    b.answer_challenge().await;
    b.submit("form[action='/register'] button").await;
    assert_eq!(b.path().await, "/register/verify");
    let text = b.text().await;
    assert!(text.contains("Check your e-mail"), "{text}");
    assert!(!b.has("#code").await, "no code to type for a link");
    assert!(text.contains("Send a new link") && text.contains("Change it"));
    let link = link_in(&t.last_message("asha@example.in").await);
    b.open(link.trim_start_matches(&t.base)).await;
    assert_eq!(b.path().await, "/register/password");
    let portal_id = b.value("portal_id").await;
    if js {
        // The meter knows the person's name, as the server does, and says why.
        b.fill("password", "Kumari lantern 4821").await;
        let meter = b.wait_for_text("#strength").await;
        assert!(
            meter.contains("must not contain your name"),
            "the meter: {meter}"
        );
        // The password can be shown, and hidden again.
        b.click("button.reveal").await;
        assert_eq!(b.attr("#password", "type").await.as_deref(), Some("text"));
        b.click("button.reveal").await;
        assert_eq!(
            b.attr("#password", "type").await.as_deref(),
            Some("password")
        );
    } else {
        assert!(!b.has("button.reveal").await, "no script, no button");
    }
    b.fill("password", PASSWORD).await;
    b.fill("confirm", PASSWORD).await;
    b.submit("form[action='/register/password'] button").await;
    assert_eq!(b.path().await, "/account");

    // Add a mobile number to the account.
    b.fill("contact", "98123 45678").await;
    b.submit("form[action='/account/contact'] button").await;
    assert_eq!(b.path().await, "/account/contact/verify");
    b.fill("code", &t.last_code("+919812345678").await).await;
    b.submit("form[action='/account/contact/verify'] button")
        .await;
    assert_eq!(b.path().await, "/account");
    // A new name.
    b.fill("first_name", "Asha Rani").await;
    b.submit("form[action='/account/name'] button").await;
    assert!(b.text().await.contains("Asha Rani Kumari"));

    // Log in by each identifier; a wrong password says what to do.
    for identifier in ["asha@example.in", "9812345678", portal_id.as_str()] {
        b.press("Log out").await;
        assert!(b.text().await.contains("You have logged out"));
        log_in(&b, identifier).await;
        assert_eq!(b.path().await, "/account", "logged in with {identifier}");
    }
    b.press("Log out").await;
    b.fill("identifier", &portal_id).await;
    b.fill("password", "not my password").await;
    b.submit("form[action='/login'] button").await;
    let text = b.text().await;
    assert!(text.contains("There is a problem"), "{text}");
    b.fill("password", PASSWORD).await;
    b.answer_challenge().await;
    b.submit("form[action='/login'] button").await;
    assert_eq!(b.path().await, "/account");

    // Another device: listed, then ended from here.
    let other = crate::support::browser();
    let login = crate::accounts::fetch(&other, &t, "/login").await;
    t.post_with(
        &other,
        &login,
        "/login",
        &[("identifier", &portal_id), ("password", PASSWORD)],
    )
    .await;
    b.open("/account/sessions").await;
    assert!(b.text().await.contains("this device"));
    b.submit("main table form button").await;
    b.open("/account/sessions").await;
    assert_eq!(
        b.client
            .find_all(fantoccini::Locator::Css("main table tbody tr"))
            .await
            .unwrap()
            .len(),
        1,
        "the other session is gone"
    );
    b.open("/account/security").await;
    assert!(b.text().await.contains("Logged in"));
    if js {
        // axe runs on the page's event loop, which is off without scripts; the tours audit
        // every page in every language.
        b.audit("security").await;
    }
    // The levels page, reached from the account page's link.
    b.open("/account").await;
    b.press("What the levels mean").await;
    assert_eq!(b.path().await, "/account/level");
    assert!(b.text().await.contains("your level"));
    if js {
        b.audit("levels").await;
    }
    // The profile for the standard level: a typo in the Aadhaar number is named and keeps
    // what was typed; "fill in later" keeps a partial profile.
    b.press("Your profile").await;
    assert_eq!(b.path().await, "/account/profile");
    b.click("#gender-female").await;
    b.fill_date("birth_date", "1992-08-20").await;
    b.fill("birth_place", "Jaipur").await;
    b.fill("id_aadhaar", "9999 4105 7057").await;
    b.submit("button[value='later']").await;
    assert!(
        b.text().await.contains("typing mistake"),
        "{}",
        b.text().await
    );
    assert_eq!(b.value("birth_place").await, "Jaipur");
    b.fill("id_aadhaar", "9999 4105 7058").await;
    b.submit("button[value='later']").await;
    assert!(b.text().await.contains("Saved"), "{}", b.text().await);
    assert_eq!(b.value("id_aadhaar").await, "999941057058");
    if js {
        b.audit("profile").await;
    }
    // Later, moving a contact asks for the password again, and says why.
    t.advance(std::time::Duration::from_secs(11 * 60));
    b.open("/account").await;
    b.fill("contact", "98123 45699").await;
    b.submit("form[action='/account/contact'] button").await;
    assert!(
        b.text().await.contains("Enter your password to continue"),
        "{}",
        b.text().await
    );
    if js {
        b.audit("account-reauth-error").await;
    }
    b.fill("contact", "98123 45699").await;
    b.fill("current", PASSWORD).await;
    b.submit("form[action='/account/contact'] button").await;
    assert_eq!(b.path().await, "/account/contact/verify");

    // Apps, helpdesk, consent; the language switch on the consent page keeps the request.
    b.open("/apps").await;
    assert!(b.text().await.contains("e-Mitra"));
    b.open("/helpdesk?q=mitra").await;
    assert!(b.text().await.contains("R. Meena"));
    b.open(&dept.authorize_path(&client_id, "")).await;
    b.press("हिन्दी").await;
    assert_eq!(b.path().await, "/authorize", "still the consent page");
    assert!(b.text().await.contains("e-Mitra"));
    b.press(
        &ekdwar_app::i18n::Lang::parse("hi")
            .unwrap()
            .t("consent-allow"),
    )
    .await;
    assert_eq!(
        b.current_url().await.origin().ascii_serialization(),
        dept.base
    );
    b.open("/").await;
    b.press("English").await;
    b.open("/account/apps").await;
    assert!(b.text().await.contains("e-Mitra"));
    b.submit("main table form button").await;
    assert!(b.text().await.contains("Disconnect this app?"));
    b.press("Disconnect").await;
    assert!(b.text().await.contains("The app has been disconnected"));
    b.open("/account/linked").await;
    assert!(b.text().await.contains("Linked logins"));

    // Log out everywhere, after saying yes.
    b.open("/account/sessions").await;
    b.press("Log out everywhere").await;
    assert!(b.text().await.contains("Log out everywhere?"));
    b.press("No, go back").await;
    open_account(&b).await;
    b.open("/account/sessions").await;
    b.press("Log out everywhere").await;
    b.submit("main form[action='/account/sessions/logout-all'] button")
        .await;
    assert!(b.text().await.contains("logged out on every device"));

    // Forgotten portal ID, then a forgotten password.
    b.open("/recover/portal-id").await;
    b.fill("contact", "98123 45678").await;
    b.answer_challenge().await;
    b.submit("main form button").await;
    assert!(t.last_message("+919812345678").await.contains(&portal_id));
    b.open("/recover").await;
    b.fill("identifier", &portal_id).await;
    b.fill("second", "98123 45678").await;
    b.answer_challenge().await;
    b.submit("main form button").await;
    assert_eq!(b.path().await, "/recover/verify");
    // The code goes to the mobile number typed with the portal ID.
    b.fill("code", &t.last_code("+919812345678").await).await;
    b.submit("main form[action='/recover/verify'] button").await;
    assert_eq!(b.path().await, "/recover/password");
    let new_password = "another quiet harbor 77";
    b.fill("password", new_password).await;
    b.fill("confirm", new_password).await;
    b.submit("main form button").await;
    assert!(b.path().await.starts_with("/login"));
    b.fill("identifier", &portal_id).await;
    b.fill("password", new_password).await;
    b.answer_challenge().await;
    b.submit("form[action='/login'] button").await;
    assert_eq!(b.path().await, "/account");
}

#[tokio::test]
async fn a_citizen_afternoon_with_javascript() {
    citizen_flows(true).await;
}

#[tokio::test]
async fn a_citizen_afternoon_without_javascript() {
    citizen_flows(false).await;
}

/// Two-step login as a person meets it: set up from the account page by typing the key into
/// an app, recovery codes saved, then a login that asks for the app's code, and one with a
/// recovery code.
async fn two_step(js: bool) {
    for backend in super::journey_backends(js) {
        two_step_on(backend, js).await;
    }
}

async fn two_step_on(backend: &str, js: bool) {
    let t = TestApp::start(backend).await;
    let b = Browser::start(&t.base, js).await;
    let portal_id = register_by_phone(&t, &b, "98123 45671", "Asha").await;
    b.press("Two-step login").await;
    assert_eq!(b.path().await, "/account/two-step");
    assert!(b.has(".qr svg").await, "a QR code");
    let key = ekdwar_domain::totp::TotpSecret::from_base32(&b.text_of("#totp-key").await)
        .expect("a typed key");
    let code_now = |steps: i64| key.code_at(t.app.clock().now().millis() / 1000 + steps * 30);
    if js {
        b.audit("two-step-setup").await;
    }
    b.fill("code", "000000").await;
    b.submit("form[action='/account/two-step/enable'] button")
        .await;
    assert!(
        b.text().await.contains("The code is not right"),
        "{}",
        b.text().await
    );
    if js {
        b.audit("two-step-setup-error").await;
    }
    b.fill("code", &code_now(0)).await;
    b.submit("form[action='/account/two-step/enable'] button")
        .await;
    assert!(b.text().await.contains("Save your recovery codes"));
    let recovery = b.text_of("ol.codes li").await;
    if js {
        b.audit("recovery-codes").await;
    }
    b.press("I have saved them").await;
    assert!(
        b.text().await.contains("Two-step login: on"),
        "{}",
        b.text().await
    );

    b.press("Log out").await;
    b.fill("identifier", &portal_id).await;
    b.fill("password", PASSWORD).await;
    b.submit("form[action='/login'] button").await;
    assert_eq!(b.path().await, "/login/code");
    if js {
        b.audit("login-code").await;
    }
    b.fill("code", &code_now(1)).await;
    b.submit("form[action='/login/code'] button").await;
    assert_eq!(b.path().await, "/account");

    b.press("Log out").await;
    b.fill("identifier", &portal_id).await;
    b.fill("password", PASSWORD).await;
    b.submit("form[action='/login'] button").await;
    b.fill("code", "abc").await;
    b.submit("form[action='/login/code'] button").await;
    assert!(b.text().await.contains("Type the 6 digits from the app"));
    if js {
        b.audit("login-code-error").await;
    }
    b.fill("code", &recovery).await;
    b.submit("form[action='/login/code'] button").await;
    assert_eq!(b.path().await, "/account");
    b.open("/account/two-step").await;
    assert!(b.text().await.contains("Recovery codes left: 9"));
    if js {
        b.audit("two-step-on").await;
    }
}

#[tokio::test]
async fn two_step_login_with_javascript() {
    two_step(true).await;
}

#[tokio::test]
async fn two_step_login_without_javascript() {
    two_step(false).await;
}

/// After failures from one address the login page carries the check from the start, says why,
/// and a person gets through with or without JavaScript.
async fn challenge(js: bool) {
    for backend in super::journey_backends(js) {
        challenge_on(backend, js).await;
    }
}

async fn challenge_on(backend: &str, js: bool) {
    let t = TestApp::start(backend).await;
    let b = Browser::start(&t.base, js).await;
    let portal_id = register_by_phone(&t, &b, "98123 45678", "Asha").await;
    b.press("Log out").await;
    for _ in 0..3 {
        b.open("/login").await;
        b.fill("identifier", &portal_id).await;
        b.fill("password", "wrong password").await;
        b.answer_challenge().await;
        b.submit("form[action='/login'] button").await;
    }
    b.open("/login").await;
    assert!(
        b.has("#captcha").await,
        "a fresh login page carries the check"
    );
    let text = b.text().await;
    assert!(text.contains("check that you are a person"), "{text}");
    if js {
        b.challenge_solved().await;
        let status = b.attr(".pow-status", "data-done").await.unwrap();
        let start = std::time::Instant::now();
        while !b.text().await.contains(&status) {
            assert!(start.elapsed() < std::time::Duration::from_secs(10));
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(!text.contains('✓'));
    }
    log_in(&b, &portal_id).await;
    assert_eq!(b.path().await, "/account");
}

#[tokio::test]
async fn the_challenge_with_javascript() {
    challenge(true).await;
}

#[tokio::test]
async fn the_challenge_without_javascript() {
    challenge(false).await;
}
