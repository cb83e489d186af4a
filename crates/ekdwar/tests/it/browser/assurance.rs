//! Proving who you are, in Chromium with JavaScript on and off, as the assurance issue's "done
//! when" tells it: a citizen fills the standard profile in Russian, the checks run against the
//! test registries and she is told; a departmental app asking for the verified level sends her
//! to the page offering the centre, the letter and the trusted provider; an operator at the
//! Moscow centre confirms her in person and she arrives at the app with `acr` verified; she
//! logs in with her SNILS. Another person signs up with an Aadhaar number and UIDAI's code.

use base64::Engine;

use super::Browser;
use super::flows::{DeptApp, log_in};
use crate::accounts::PASSWORD;
use crate::assurance::TestRegistry;
use crate::support::TestApp;

/// RFC 7636's example pair.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize(dept: &DeptApp, client_id: &str) -> String {
    let redirect: String =
        url::form_urlencoded::byte_serialize(dept.redirect_uri().as_bytes()).collect();
    format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={redirect}\
         &scope=openid%20profile&state=st-9&nonce=n-9&code_challenge={CHALLENGE}\
         &code_challenge_method=S256&acr_values=urn:ekdwar:loa:verified"
    )
}

/// The `acr` of the ID token the app gets for the code that reached it.
async fn acr_of_arrival(t: &TestApp, dept: &DeptApp, client_id: &str) -> String {
    let last = dept.last().expect("the app saw the browser arrive");
    let code = url::Url::parse(&format!("{}{last}", dept.base))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let tokens: serde_json::Value = reqwest::Client::new()
        .post(t.url("/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &dept.redirect_uri()),
            ("client_id", client_id),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["acr"].as_str().unwrap_or_default().to_string()
}

async fn proving_who_you_are(js: bool) {
    let registry = TestRegistry::start().await;
    let backends = crate::support::backends();
    let backend = if js {
        backends.first()
    } else {
        backends.last()
    }
    .copied()
    .unwrap_or("sqlite");
    let (configs, bank) = (registry.configs(), registry.bank());
    let t = TestApp::builder(backend)
        .with_config(move |c| {
            c.profile.countries = vec!["ru".into(), "in".into()];
            c.registries = configs;
            c.server.run_worker = false;
            c.upstream = vec![bank];
        })
        .with_user("anna", PASSWORD)
        .start()
        .await;
    crate::catalog::import_demo(&t).await;
    crate::appointments::with_centres(&t).await;
    crate::appointments::operator_at(&t, "op.mfc", 63, "mfc-tverskoy").await;
    let dept = DeptApp::start().await;
    let client_id = dept.register(&t, "Госуслуги: запись к врачу").await;
    let ru = ekdwar_app::i18n::Lang::parse("ru").unwrap();

    // In Russian: her name, then the standard profile, sent for checking.
    let b = Browser::start(&t.base, js).await;
    b.open("/login").await;
    b.press("Русский").await;
    log_in(&b, "anna").await;
    b.open("/account").await;
    b.fill("first_name", "Анна").await;
    b.fill("last_name", "Смирнова").await;
    b.submit("form[action='/account/name'] button").await;
    b.open("/account/profile?country=ru").await;
    b.fill("middle_name", "Сергеевна").await;
    b.click("#gender-female").await;
    b.fill_date("birth_date", "1990-03-15").await;
    b.fill("birth_place", "г. Тула").await;
    b.fill("citizenship", "RU").await;
    b.choose("document_kind", "ru_passport").await;
    b.fill("document_series", "45 08").await;
    b.fill("document_number", "123456").await;
    b.fill_date("document_issued_on", "2010-04-01").await;
    b.fill("document_issued_by", "ОУФМС России по Тульской обл.")
        .await;
    b.fill("id_snils", "112-233-445 95").await;
    b.fill("address_line", "ул. Ленина, д. 1, кв. 2").await;
    b.fill("address_city", "Москва").await;
    b.fill("address_postcode", "101000").await;
    b.submit("button[value='check']").await;
    assert!(
        b.text().await.contains(&ru.t("notice-profile-sent")),
        "{}",
        b.text().await
    );
    while t.app.jobs.run_due_jobs().await.unwrap() > 0 {}
    b.open("/account/level").await;
    assert!(
        b.text().await.contains(&ru.t("profile-status-confirmed"))
            || t.account("anna").await.level == ekdwar_domain::AccountLevel::Standard,
        "{}",
        b.text().await
    );
    assert_eq!(
        t.account("anna").await.level,
        ekdwar_domain::AccountLevel::Standard,
        "js {js}"
    );
    let phone = t.account("anna").await.phone.unwrap().as_str().to_string();
    assert!(t.last_message(&phone).await.contains("anna"), "told by SMS");

    // The app asks for the verified level: the page names each way there.
    b.open(&authorize(&dept, &client_id)).await;
    b.press(&ru.t("level-low-next")).await;
    assert_eq!(b.path().await, "/account/level");
    let ways = b.text().await;
    for way in [
        ru.t("levels-way-centre"),
        ru.t("levels-way-letter"),
        ru.t_args(
            "levels-provider-go",
            &[("provider", "Test Bank ID".to_string())],
        ),
    ] {
        assert!(ways.contains(&way), "js {js}: {way} in {ways}");
    }

    // The operator at the Moscow centre finds her by SNILS and confirms her in person.
    let o = super::journey::officer_logged_in_at(&t, "op.mfc", js, "/centre/identity").await;
    o.fill("query", "112-233-445 95").await;
    o.submit("#find button").await;
    assert!(
        o.text().await.contains("Анна Смирнова"),
        "{}",
        o.text().await
    );
    o.click("#seen").await;
    o.submit("#confirm button").await;
    assert!(
        o.text().await.contains("Identity confirmed"),
        "{}",
        o.text().await
    );

    // Back to the app: it gets `acr` verified.
    b.open(&authorize(&dept, &client_id)).await;
    b.press(&ru.t("consent-allow")).await;
    assert_eq!(
        b.current_url().await.origin().ascii_serialization(),
        dept.base
    );
    assert_eq!(
        acr_of_arrival(&t, &dept, &client_id).await,
        "urn:ekdwar:loa:verified",
        "js {js}"
    );

    // Another day: she logs in with her SNILS.
    let again = Browser::start(&t.base, js).await;
    again.open("/login").await;
    log_in(&again, "112 233 445 95").await;
    again.open("/account").await;
    assert_eq!(again.path().await, "/account", "js {js}: SNILS login");

    // She lost her phone and has no e-mail: at the desk, after the in-person check, access
    // moves to a new phone, proven by a code.
    o.open("/centre/identity").await;
    o.fill("query", "112-233-445 95").await;
    o.submit("#find button").await;
    if js {
        o.audit("desk-restorable").await;
    }
    o.fill("phone", "+79120003344").await;
    o.submit("#restore button").await;
    assert!(
        o.text().await.contains("Tick the box to say you compared"),
        "js {js}: {}",
        o.text().await
    );
    if js {
        o.audit("desk-restore-error").await;
    }
    o.fill("phone", "+79120003344").await;
    o.click("#restore_seen").await;
    o.submit("#restore button").await;
    assert!(
        o.path().await.ends_with("/restore/code"),
        "{}",
        o.text().await
    );
    if js {
        o.audit("desk-restore-code").await;
    }
    o.fill("code", &t.last_code("+79120003344").await).await;
    o.submit("main form button").await;
    assert!(
        o.text().await.contains("Access restored"),
        "js {js}: {}",
        o.text().await
    );
    assert_eq!(
        t.account("anna").await.phone.unwrap().as_str(),
        "+79120003344"
    );

    // Someone else signs up with Aadhaar: UIDAI's code comes to the linked mobile.
    let p = Browser::start(&t.base, js).await;
    p.open("/register").await;
    p.press("Register with your Aadhaar number instead").await;
    p.fill("number", "9999 4105 7058").await;
    p.fill("mobile", "98123 99001").await;
    p.click("#consent").await;
    p.answer_challenge().await;
    p.submit("form[action='/register/aadhaar'] button").await;
    assert_eq!(
        p.path().await,
        "/register/aadhaar/verify",
        "{}",
        p.text().await
    );
    let code = reqwest::Client::new()
        .get(format!("{}/control/otp", registry.url))
        .query(&[("mobile", "+919812399001")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    p.fill("code", &code).await;
    p.submit("form[action='/register/aadhaar/verify'] button")
        .await;
    assert_eq!(p.path().await, "/register/aadhaar/password");
    assert!(p.text().await.contains("Priya Sharma"));
    p.fill("password", PASSWORD).await;
    p.fill("confirm", PASSWORD).await;
    p.submit("form[action='/register/aadhaar/password'] button")
        .await;
    assert_eq!(p.path().await, "/account", "{}", p.text().await);
    assert!(p.text().await.contains("Aadhaar is confirmed"));
}

#[tokio::test]
async fn proving_who_you_are_with_javascript() {
    proving_who_you_are(true).await;
}

#[tokio::test]
async fn proving_who_you_are_without_javascript() {
    proving_who_you_are(false).await;
}
