//! Every page and error state, once per language: axe-core, reflow at 320 px, the error pattern,
//! `lang`, no request to another host, bytes on the wire. `EKDWAR_SCREENSHOTS=DIR` also saves a
//! phone-sized screenshot of each page into DIR (see `e2e/screenshots`).

use super::Browser;
use super::flows::DeptApp;
use crate::support::{TestApp, backends};

/// The person's visible names of things, per language: the switch's button and words that must
/// appear on the login page.
const LANGS: &[(&str, &str, &str)] = &[
    ("en", "English", "Log in"),
    ("hi", "हिन्दी", "लॉग इन"),
    ("bn", "বাংলা", "লগ ইন"),
    ("ru", "Русский", "Вход"),
];

struct Tour<'a> {
    b: &'a Browser,
    problems: std::cell::RefCell<Vec<String>>,
    lang: &'static str,
    shots: Option<std::path::PathBuf>,
}

impl Tour<'_> {
    /// Audits the page the browser is on.
    async fn check(&self, name: &str) {
        let lang = self.b.attr("html", "lang").await.unwrap_or_default();
        assert_eq!(lang, self.lang, "{name}: <html lang>");
        let (problems, _) = self.b.audit_report(&format!("{}/{name}", self.lang)).await;
        self.problems.borrow_mut().extend(problems);
        if let Some(dir) = &self.shots {
            self.b
                .screenshot(&dir.join(format!("{}-{name}.png", self.lang)))
                .await;
        }
    }

    async fn visit(&self, path: &str, name: &str) {
        self.b.open(path).await;
        self.check(name).await;
    }
}

async fn tour(lang: &'static str) {
    let (_, button, login_word) = *LANGS.iter().find(|l| l.0 == lang).unwrap();
    // The tours read pages, not data: each runs on one backend, and together they cover both
    // (Hindi and Russian on PostgreSQL when it is configured).
    let backends = backends();
    let backend = if matches!(lang, "hi" | "ru") {
        backends.last()
    } else {
        backends.first()
    };
    // The registries' process for its "Test Bank ID", offered at the standard level.
    let registry = crate::assurance::TestRegistry::start().await;
    let bank = registry.bank();
    let t = TestApp::start_with(backend.copied().unwrap_or("sqlite"), |c| {
        c.upstream = vec![bank];
    })
    .await;
    crate::catalog::import_demo(&t).await;
    crate::appointments::with_centres(&t).await;
    let dept = DeptApp::start().await;
    let client_id = dept.register(&t, "e-Mitra").await;
    let b = Browser::start(&t.base, true).await;
    let tour = Tour {
        b: &b,
        lang,
        problems: Default::default(),
        shots: std::env::var_os("EKDWAR_SCREENSHOTS").map(std::path::PathBuf::from),
    };

    b.open("/").await;
    if lang != "en" {
        b.press(button).await;
    }
    tour.check("home").await;
    tour.visit("/login", "login").await;
    assert!(
        b.text().await.contains(login_word),
        "{lang}: the login page"
    );
    // Wrong password: the error state.
    b.fill("identifier", "nobody.here").await;
    b.fill("password", "not the password").await;
    b.submit("form[action='/login'] button").await;
    tour.check("login-error").await;
    let text = b.text().await.to_lowercase();
    for word in ["identifier", "पहचानकर्ता", "идентификатор", "পরিচয়"]
    {
        assert!(
            !text.contains(word),
            "{lang}: the page never shows the word {word}"
        );
    }
    tour.visit("/register", "register").await;
    b.submit("form[action='/register'] button").await;
    tour.check("register-errors").await;
    // Each field says what it needs.
    let text = b.text().await;
    let l = ekdwar_app::i18n::Lang::parse(lang).unwrap();
    for key in [
        "err-contact-missing",
        "err-first-name-missing",
        "err-last-name-missing",
        "err-consent-required",
    ] {
        assert!(
            text.contains(&l.t(key)),
            "{lang}: {key} on the form: {text}"
        );
    }
    tour.visit("/register/aadhaar", "aadhaar").await;
    b.submit("form[action='/register/aadhaar'] button").await;
    tour.check("aadhaar-errors").await;
    tour.visit("/register/aadhaar/verify", "aadhaar-code").await;
    tour.visit("/recover", "recover").await;
    tour.visit("/recover/portal-id", "portal-id").await;
    tour.visit("/apps", "apps").await;
    tour.visit("/helpdesk", "helpdesk").await;
    tour.visit("/services", "services").await;
    tour.visit("/services?q=passport", "services-search").await;
    tour.visit("/services?q=zzqqxx", "services-none").await;
    tour.visit("/services/passport-fresh", "service").await;
    tour.visit("/services/rj-recruitment", "service-in-app")
        .await;
    tour.visit("/no/such/page", "not-found").await;
    tour.visit("/authorize?client_id=nope", "sso-error").await;

    // Registration, step by step, with its error states.
    // Each language's speakers type their own country's numbers.
    let (typed, e164) = match lang {
        "ru" => ("8 (912) 345-67-89", "+79123456789"),
        _ => ("98123 45678", "+919812345678"),
    };
    b.open("/register").await;
    b.fill("contact", typed).await;
    b.fill("first_name", "Asha").await;
    b.fill("last_name", "Kumari").await;
    b.click("#consent").await;
    b.answer_challenge().await;
    b.submit("form[action='/register'] button").await;
    tour.check("register-verify").await;
    b.fill("code", "000000").await;
    b.submit("form[action='/register/verify'] button").await;
    tour.check("register-verify-error").await;
    let code = t.last_code(e164).await;
    b.fill("code", &code).await;
    b.submit("form[action='/register/verify'] button").await;
    tour.check("register-password").await;
    b.fill("password", "short").await;
    b.fill("confirm", "other").await;
    b.submit("form[action='/register/password'] button").await;
    tour.check("register-password-errors").await;
    b.fill("password", crate::accounts::PASSWORD).await;
    b.fill("confirm", crate::accounts::PASSWORD).await;
    b.submit("form[action='/register/password'] button").await;
    assert_eq!(b.path().await, "/account");
    tour.check("account").await;
    b.fill("first_name", "").await;
    b.submit("form[action='/account/name'] button").await;
    tour.check("account-name-error").await;
    tour.visit("/account/password", "password").await;
    tour.visit("/account/sessions", "sessions").await;
    tour.visit("/account/security", "security").await;
    tour.visit("/account/level", "levels").await;
    tour.visit("/account/profile", "profile").await;
    b.fill("birth_place", "Jaipur").await;
    b.submit("button[value='check']").await;
    tour.check("profile-errors").await;
    // At the standard level, the page offers the ways to verified.
    let standard = ekdwar_domain::AccountLevel::Standard;
    t.app
        .identity
        .admin_set_level(e164, standard)
        .await
        .unwrap();
    tour.visit("/account/level", "levels-standard").await;
    // The bank's page is the bank's, not audited here; Anna there is not this person, whose
    // profile was never checked anyway: the page says what is missing.
    b.submit("ul.providers a").await;
    assert!(b.text().await.contains("A test double"), "{lang}: the bank");
    b.press("Анна Сергеевна Смирнова").await;
    assert_eq!(
        b.path().await,
        "/login/external/test-bank/callback",
        "{lang}"
    );
    tour.check("levels-provider-error").await;
    // A letter needs an address in the profile.
    b.submit("#letter button").await;
    tour.check("levels-letter-error").await;
    b.open("/account/profile").await;
    b.fill("address_line", "12 Malviya Nagar").await;
    b.fill("address_city", "Jaipur").await;
    b.fill("address_postcode", "302017").await;
    b.submit("button[value='later']").await;
    b.open("/account/level").await;
    b.submit("#letter button").await;
    tour.check("levels-letter-asked").await;
    let printed = t
        .app
        .assurance
        .export_letters(10, &ekdwar_app::audit::Actor::command_line(), |_| Ok(()))
        .await
        .unwrap();
    assert_eq!(printed, 1, "{lang}");
    tour.visit("/account/level", "levels-letter-code").await;
    b.submit("#letter-code button").await;
    tour.check("levels-letter-code-error").await;
    let simplified = ekdwar_domain::AccountLevel::Simplified;
    t.app
        .identity
        .admin_set_level(e164, simplified)
        .await
        .unwrap();
    tour.visit("/account/linked", "linked").await;
    // An application: a form page, its error state, a group, the check page, the receipt.
    tour.visit("/applications", "applications-none").await;
    tour.visit("/notifications", "notifications-none").await;
    b.open("/services/police-clearance").await;
    b.submit("form[action='/services/police-clearance/apply'] button")
        .await;
    tour.check("application-page").await;
    b.fill("passport_number", "k12").await;
    b.submit("form[action$='/pages/applicant'] button").await;
    tour.check("application-page-errors").await;
    b.fill_date("date_of_birth", "1990-01-26").await;
    b.fill("passport_number", "K1234567").await;
    b.submit("form[action$='/pages/applicant'] button").await;
    b.choose("country", "AE").await;
    b.click("#purpose").await;
    b.submit("form[action$='/pages/destination'] button").await;
    b.fill("address", "12 Malviya Nagar").await;
    b.fill("pincode", "302017").await;
    b.choose("office", "rpo-jaipur").await;
    b.submit("form[action$='/pages/contact'] button").await;
    tour.check("application-check").await;
    b.submit("form[action$='/submit'] button").await;
    tour.check("application-declaration-error").await;
    b.click("#declaration").await;
    b.submit("form[action$='/submit'] button").await;
    tour.check("application-submitted").await;
    let application = b.path().await;
    let arn = ekdwar_domain::catalog::Arn::parse(&b.text_of(".arn strong").await).expect("an ARN");
    let token = t.app.applications.receipt_token(&arn);
    tour.visit(&format!("/verify/{token}"), "receipt-genuine")
        .await;
    // Tracking it: the form, a mistyped number, and what is found.
    tour.visit("/track", "track").await;
    b.fill("arn", "EK26").await;
    b.submit("form[action='/track'] button").await;
    tour.check("track-error").await;
    b.fill("arn", arn.as_str()).await;
    b.fill_date("birth_date", "1990-01-26").await;
    b.answer_challenge().await;
    b.submit("form[action='/track'] button").await;
    tour.check("track-found").await;
    // The kindergarten's form: a child, and up to three kindergartens in order.
    b.open("/services/mos-kindergarten").await;
    tour.check("kindergarten-service").await;
    b.submit("form[action='/services/mos-kindergarten/apply'] button")
        .await;
    tour.check("kindergarten-child").await;
    b.fill("child_name", "Маша Иванова").await;
    b.fill_date("child_birth_date", "2022-03-15").await;
    b.submit("form[action$='/pages/child'] button").await;
    tour.check("kindergarten-choices").await;
    b.submit("form[action$='/pages/choices'] button").await;
    tour.check("kindergarten-choices-errors").await;
    tour.visit("/verify/EK2600000000000.x", "receipt-unknown")
        .await;
    // Paying: the payment page, its error state, a challan, the history.
    tour.visit(&format!("{application}/payment"), "payment")
        .await;
    b.submit(&format!("form[action='{application}/payment'] button"))
        .await;
    tour.check("payment-error").await;
    b.click("input[name='channel'][value='challan']").await;
    b.submit(&format!("form[action='{application}/payment'] button"))
        .await;
    tour.check("payment-challan").await;
    tour.visit("/payments", "payments").await;
    // Booking: the centres near a PIN code; refused while the challan is unconfirmed; then,
    // the bank having confirmed it, a hold to confirm and the booking.
    tour.visit(
        &format!("{application}/appointment?pincode=302017"),
        "booking-find",
    )
    .await;
    b.submit("#hold button").await;
    tour.check("booking-not-paid").await;
    let id = ekdwar_domain::ApplicationId::new(application.trim_start_matches("/applications/"));
    crate::payments::bank_confirms(&t, &id).await;
    b.open(&format!("{application}/appointment?pincode=302017"))
        .await;
    let day = t
        .app
        .applications
        .today()
        .checked_add(jiff::Span::new().days(5))
        .unwrap();
    b.eval(&format!("document.getElementById('date').value = '{day}'"))
        .await;
    b.submit("#hold button").await;
    tour.check("booking-confirm").await;
    b.answer_challenge().await;
    b.submit("form[action$='/confirm'] button").await;
    tour.check("booking-booked").await;
    tour.visit("/centres/psk-jaipur/display", "centre-display")
        .await;
    // The centre's console, as its operator sees it (after setting up the second factor), and
    // a number it cannot read.
    // The operator works at the e-Mitra kiosk, which also confirms identities.
    crate::appointments::operator_at(&t, "meena.op", 64, "emitra-malviya-nagar").await;
    let o = super::journey::officer_logged_in_at(&t, "meena.op", true, "/centre").await;
    if lang != "en" {
        o.press(button).await;
    }
    let desk = Tour {
        b: &o,
        lang,
        problems: Default::default(),
        shots: tour.shots.clone(),
    };
    desk.check("centre").await;
    o.fill("number", "AP26").await;
    o.submit("#check-in button").await;
    desk.check("centre-error").await;
    // The identity desk: a search with nothing typed, then the citizen found by their phone
    // (simplified: not yet to be confirmed).
    desk.b.open("/centre/identity").await;
    desk.check("desk").await;
    // Registering a citizen who has no account: its errors, then the code step and its error.
    o.submit("#register button").await;
    desk.check("desk-register-errors").await;
    o.fill("phone", "+91 98123 77001").await;
    o.fill("first_name", "Ravi").await;
    o.fill("last_name", "Meena").await;
    o.click("#consent").await;
    o.submit("#register button").await;
    assert_eq!(o.path().await, "/centre/identity/register/code", "{lang}");
    desk.check("desk-register-code").await;
    o.fill("code", "12").await;
    o.submit("main form button").await;
    desk.check("desk-register-code-error").await;
    desk.b.open("/centre/identity").await;
    o.submit("#find button").await;
    desk.check("desk-error").await;
    o.fill("query", e164).await;
    o.submit("#find button").await;
    assert!(
        o.text().await.contains("Asha"),
        "{lang}: the citizen is found"
    );
    desk.check("desk-person").await;
    // The specialists' queue and one case, with its error state.
    let asha = t.account(e164).await.id;
    crate::assurance::waiting_for_review(&t, &asha).await;
    crate::assurance::reviewer(&t, "rev.tour", 9).await;
    let r = super::journey::officer_logged_in_at(&t, "rev.tour", true, "/staff/reviews").await;
    if lang != "en" {
        r.press(button).await;
    }
    let reviews = Tour {
        b: &r,
        lang,
        problems: Default::default(),
        shots: tour.shots.clone(),
    };
    reviews.check("reviews").await;
    r.open(&format!("/staff/reviews/{asha}/snils")).await;
    reviews.check("review").await;
    r.submit("form[action$='/snils'] button").await;
    reviews.check("review-error").await;
    tour.problems
        .borrow_mut()
        .extend(reviews.problems.into_inner());
    tour.problems
        .borrow_mut()
        .extend(desk.problems.into_inner());
    // The offline e-form: its page, a refused upload, and an e-form read with one answer to fix.
    tour.visit("/services/police-clearance/eform", "eform")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("printout.pdf");
    std::fs::write(&pdf, b"%PDF-1.7\n").unwrap();
    b.attach("file", &pdf).await;
    b.submit("form[action='/services/police-clearance/eform'] button")
        .await;
    tour.check("eform-refused").await;
    let template = t
        .app
        .applications
        .eform_template("police-clearance", &l)
        .unwrap();
    let mut answers = crate::eforms::PCC.to_vec();
    answers[8] = ("pincode", "012345");
    let xml = dir.path().join("eform.xml");
    std::fs::write(&xml, crate::eforms::filled(&template, &answers)).unwrap();
    b.attach("file", &xml).await;
    b.submit("form[action='/services/police-clearance/eform'] button")
        .await;
    assert!(
        b.text().await.contains("012345"),
        "{lang}: the e-form was read"
    );
    tour.check("eform-read").await;
    // The locker: empty, a refused file, a document added, the list with it.
    tour.visit("/locker", "locker-empty").await;
    let exe = dir.path().join("scan.pdf");
    std::fs::write(&exe, b"MZ\x90\x00 a program").unwrap();
    b.fill("description", "Scan").await;
    b.attach("file", &exe).await;
    b.submit("form[action='/locker/upload'] button").await;
    tour.check("locker-refused").await;
    b.fill("description", "Rent agreement").await;
    b.fill("folder", "Property").await;
    b.attach("file", &pdf).await;
    b.submit("form[action='/locker/upload'] button").await;
    assert!(
        b.path().await.starts_with("/locker/"),
        "{lang}: {}",
        b.text().await
    );
    tour.check("locker-document").await;
    tour.visit("/locker", "locker").await;
    tour.visit("/locker/pull", "locker-pull-none-offered").await;
    tour.visit("/applications", "applications").await;
    tour.visit("/notifications", "notifications").await;
    tour.visit("/account/two-step", "two-step-setup").await;
    let key = ekdwar_domain::totp::TotpSecret::from_base32(&b.text_of("#totp-key").await)
        .expect("a typed key");
    let code_at = |steps: i64| key.code_at(t.app.clock().now().millis() / 1000 + steps * 30);
    b.fill("code", "000000").await;
    b.submit("form[action='/account/two-step/enable'] button")
        .await;
    tour.check("two-step-setup-error").await;
    b.fill("code", &code_at(0)).await;
    b.submit("form[action='/account/two-step/enable'] button")
        .await;
    tour.check("recovery-codes").await;
    tour.visit("/account/two-step", "two-step-on").await;
    tour.visit("/account/passkeys", "passkeys").await;
    // Eleven minutes on, the contact form asks for the password; empty, it says why.
    t.advance(std::time::Duration::from_secs(11 * 60));
    b.open("/account").await;
    b.fill("contact", "98123 45698").await;
    b.submit("form[action='/account/contact'] button").await;
    tour.check("account-reauth-error").await;
    b.open(&dept.authorize_path(&client_id, "")).await;
    tour.check("consent").await;
    b.open(&dept.authorize_path(&client_id, "&acr_values=urn:ekdwar:loa:verified"))
        .await;
    tour.check("level-too-low").await;
    b.open(&dept.authorize_path(&client_id, "")).await;
    b.press(
        &ekdwar_app::i18n::Lang::parse(lang)
            .unwrap()
            .t("consent-allow"),
    )
    .await;
    tour.visit("/account/apps", "connected-apps").await;
    let bye: String =
        url::form_urlencoded::byte_serialize(format!("{}/bye", dept.base).as_bytes()).collect();
    tour.visit(
        &format!("/oauth/logout?client_id={client_id}&post_logout_redirect_uri={bye}"),
        "logout",
    )
    .await;
    // A login that asks for the app's code, and its error state.
    b.open("/account").await;
    b.submit("form[action='/logout'] button").await;
    b.open("/login").await;
    b.fill("identifier", typed).await;
    b.fill("password", crate::accounts::PASSWORD).await;
    b.submit("form[action='/login'] button").await;
    assert_eq!(b.path().await, "/login/code", "{lang}");
    tour.check("login-code").await;
    b.fill("code", "abc").await;
    b.submit("form[action='/login/code'] button").await;
    tour.check("login-code-error").await;
    b.fill("code", &code_at(0)).await;
    b.submit("form[action='/login/code'] button").await;
    assert_eq!(b.path().await, "/account", "{lang}");
    let problems = tour.problems.into_inner();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn every_page_in_english() {
    tour("en").await;
}

#[tokio::test]
async fn every_page_in_hindi() {
    tour("hi").await;
}

#[tokio::test]
async fn every_page_in_bengali() {
    tour("bn").await;
}

#[tokio::test]
async fn every_page_in_russian() {
    tour("ru").await;
}

/// The audit is only worth something if it fails: spoil a page in each way it checks.
#[tokio::test]
async fn the_audit_finds_what_it_looks_for() {
    let t = TestApp::start("sqlite").await;
    let b = Browser::start(&t.base, true).await;
    b.open("/login").await;
    b.fill("identifier", "nobody.here").await;
    b.fill("password", "wrong").await;
    b.submit("form[action='/login'] button").await;
    b.audit("login-error").await;
    b.eval(
        r#"(function(){
  var i = document.getElementById('identifier');
  i.removeAttribute('aria-describedby'); i.removeAttribute('aria-invalid');
  document.querySelector('.field-error .visually-hidden').remove();
  document.title = 'Log in';
  document.activeElement.blur();
  var img = document.createElement('img'); img.src = '/static/app.css'; document.body.appendChild(img);
  var wide = document.createElement('div'); wide.style.width = '500px'; wide.textContent = 'x'; document.body.appendChild(wide);
  // Through the CSSOM: the page's CSP refuses an injected style sheet.
  document.querySelectorAll('main button').forEach(function(b){
    b.style.setProperty('outline', 'none', 'important');
    b.style.setProperty('box-shadow', 'none', 'important');
  });
  return 1;
})()"#,
    )
    .await;
    let (problems, _) = b.audit_report("spoiled").await;
    let report = problems.join("\n");
    for expected in [
        "image-alt",
        "is not described by its hint",
        "is not described by its field-error",
        "without aria-invalid",
        "error without a hidden prefix",
        "focus is not on the error summary",
        "the title does not start",
        "at 320 px",
        "no visible focus on button",
    ] {
        assert!(
            report.contains(expected),
            "{expected} missing from:\n{report}"
        );
    }
}
