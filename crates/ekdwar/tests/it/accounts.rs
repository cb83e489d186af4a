use std::time::Duration;

use crate::support::{TestApp, backends, browser};

pub const PASSWORD: &str = "quiet harbor lantern 42";

/// Registers through the pages with a phone number; returns the portal ID.
pub async fn register_phone(t: &TestApp, phone: &str, first: &str) -> String {
    let form = t.get("/register").await;
    let page = t
        .post(
            &form,
            "/register",
            &[
                ("contact", phone),
                ("first_name", first),
                ("last_name", "Kumari"),
                ("consent", "yes"),
            ],
        )
        .await;
    assert_eq!(page.path(), "/register/verify", "{}", page.body);
    let code = t.last_code(phone).await;
    let page = t.post(&page, "/register/verify", &[("code", &code)]).await;
    assert_eq!(page.path(), "/register/password");
    let portal_id = page.field("portal_id").unwrap();
    let page = t
        .post(
            &page,
            "/register/password",
            &[
                ("portal_id", &portal_id),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.path(), "/account", "{}", page.body);
    portal_id
}

#[tokio::test]
async fn phone_registration_in_hindi_login_by_portal_id_and_recovery() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let home = t.get("/").await;
        let page = t
            .post(&home, "/language", &[("lang", "hi"), ("back", "/register")])
            .await;
        assert!(page.has("खाता बनाएँ"), "{backend}: register page in Hindi");
        let form = page;
        let page = t
            .post(
                &form,
                "/register",
                &[
                    ("contact", "98123 45678"),
                    ("first_name", "Asha"),
                    ("last_name", "Kumari"),
                    ("consent", "yes"),
                ],
            )
            .await;
        assert!(page.has("SMS"), "{backend}: verify page");
        let sms = t.last_message("+919812345678").await;
        assert!(
            sms.contains("एकद्वार कोड"),
            "{backend}: the SMS is in Hindi: {sms}"
        );
        let wrong = t
            .post(&page, "/register/verify", &[("code", "000000")])
            .await;
        assert_eq!(wrong.status, 422);
        assert!(
            wrong.has("4 प्रयास"),
            "{backend}: attempts left shown in Hindi"
        );
        let code = t.last_code("+919812345678").await;
        let page = t.post(&wrong, "/register/verify", &[("code", &code)]).await;
        let portal_id = page.field("portal_id").unwrap();
        assert_eq!(portal_id, "asha.kumari");
        let weak = t
            .post(
                &page,
                "/register/password",
                &[
                    ("portal_id", &portal_id),
                    ("password", "password123"),
                    ("confirm", "password123"),
                ],
            )
            .await;
        assert_eq!(weak.status, 422);
        assert!(
            weak.has("बहुत आम"),
            "{backend}: common password refused in Hindi"
        );
        let page = t
            .post(
                &weak,
                "/register/password",
                &[
                    ("portal_id", &portal_id),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.path(), "/account");
        assert!(
            page.has("+91 98123 45678") && page.has("सरल"),
            "{backend}: profile shows contact and level"
        );
        let user = t.account("asha.kumari").await;
        assert_eq!(user.level.as_str(), "simplified");
        assert_eq!(user.language.as_deref(), Some("hi"));

        // Log out, log in with the portal ID in another case.
        let page = t.post(&page, "/logout", &[]).await;
        assert_eq!(page.path(), "/login");
        let page = t
            .post(
                &page,
                "/login",
                &[("identifier", "Asha.Kumari"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.path(), "/account", "{backend}: {}", page.body);
        // And with the phone and a wrong password.
        let other = browser();
        let login = fetch(&other, &t, "/login").await;
        let bad = t
            .post_with(
                &other,
                &login,
                "/login",
                &[("identifier", "9812345678"), ("password", "nope nope nope")],
            )
            .await;
        assert_eq!(bad.status, 422);

        // Forgot password, from a fresh browser.
        let b = browser();
        let form = fetch(&b, &t, "/recover").await;
        // A portal ID alone is not enough (anyone can guess a name-based one): it needs one
        // more thing the account holds.
        let page = t
            .post_with(&b, &form, "/recover", &[("identifier", "asha.kumari")])
            .await;
        assert_eq!(page.status, 422, "{backend}");
        assert!(
            page.text().contains("With a portal ID, also enter"),
            "{backend}: {}",
            page.text()
        );
        let page = t
            .post_with(
                &b,
                &page,
                "/recover",
                &[("identifier", "asha.kumari"), ("second", "98123 45678")],
            )
            .await;
        assert_eq!(page.path(), "/recover/verify");
        let code = t.last_code("+919812345678").await;
        let page = t
            .post_with(&b, &page, "/recover/verify", &[("code", &code)])
            .await;
        assert_eq!(page.path(), "/recover/password");
        let new = "marble orchard compass 7";
        let page = t
            .post_with(
                &b,
                &page,
                "/recover/password",
                &[("password", new), ("confirm", new)],
            )
            .await;
        assert_eq!(page.path(), "/login");
        // The first browser's session ended with the reset.
        let acct = t.get("/account").await;
        assert_eq!(
            acct.path(),
            "/login",
            "{backend}: old sessions end after a reset"
        );
        let page = t
            .post_with(
                &b,
                &page,
                "/login",
                &[("identifier", "asha.kumari"), ("password", new)],
            )
            .await;
        assert_eq!(page.path(), "/account");
        let events = fetch(&b, &t, "/account/security").await;
        assert!(
            events.has("पासवर्ड रीसेट") || events.has("Password reset"),
            "{backend}: security events listed"
        );
    }
}

use crate::support::Page;

/// A page as `client` (a browser of its own) sees it.
pub async fn fetch(client: &reqwest::Client, t: &TestApp, path: &str) -> Page {
    let r = client.get(t.url(path)).send().await.unwrap();
    Page::read(r).await.unwrap()
}

/// Russians type `8 912 345-67-89`; Indians type numbers that begin with 91, the country code.
/// Both are read the way their writers mean them, and shown back grouped.
#[tokio::test]
async fn phone_numbers_are_read_the_way_people_type_them() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let home = t.get("/").await;
        let page = t
            .post(&home, "/language", &[("lang", "ru"), ("back", "/register")])
            .await;
        assert!(
            page.has("8\u{a0}(912)\u{a0}345‑67‑89") && page.has("+7\u{a0}912\u{a0}345‑67‑89"),
            "the hint shows the Russian ways to write a number, unbroken"
        );
        let bad = t
            .post(
                &page,
                "/register",
                &[
                    ("contact", "8 912 345"),
                    ("first_name", "Иван"),
                    ("last_name", "Петров"),
                    ("consent", "yes"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(
            bad.has("например 8\u{a0}(912)\u{a0}345‑67‑89"),
            "the error says how to write it: {}",
            bad.body
        );
        let page = t
            .post(
                &bad,
                "/register",
                &[
                    ("contact", "8 (912) 345-67-89"),
                    ("first_name", "Иван"),
                    ("last_name", "Петров"),
                    ("consent", "yes"),
                ],
            )
            .await;
        assert_eq!(page.path(), "/register/verify", "{}", page.body);
        assert!(
            page.has("+7\u{a0}•••\u{a0}•••‑•7‑89"),
            "the masked number is grouped and does not break: {}",
            page.body
        );
        let code = t.last_code("+79123456789").await;
        let page = t.post(&page, "/register/verify", &[("code", &code)]).await;
        assert_eq!(
            page.field("portal_id").as_deref(),
            Some("ivan.petrov"),
            "the Cyrillic name is transliterated"
        );

        // In English on an Indian deployment, a number starting with 91 is still Indian.
        let t = TestApp::start("sqlite").await;
        let portal_id = register_phone(&t, "91234 56789", "Asha").await;
        let user = t.account(&portal_id).await;
        assert_eq!(
            user.phone.map(|p| p.as_str().to_string()).as_deref(),
            Some("+919123456789")
        );
        let account = t.get("/account").await;
        assert!(account.has("+91 91234 56789"), "{}", account.body);
    }
}

/// Every account has a language for its messages from the start (registration, the command
/// line, the demo, an upstream login), and it follows the language the person last used.
#[tokio::test]
async fn messages_follow_the_language_last_used() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let portal_id = register_phone(&t, "98123 00101", "Asha").await;
        let user = t.account(&portal_id).await;
        assert_eq!(user.language.as_deref(), Some("en"), "{backend}");

        // Log out, switch to Russian, log in: the account now speaks Russian.
        let page = t.get("/account").await;
        let page = t.post(&page, "/logout", &[]).await;
        let page = t
            .post(&page, "/language", &[("lang", "ru"), ("back", "/login")])
            .await;
        let page = t
            .post(
                &page,
                "/login",
                &[("identifier", &portal_id), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.path(), "/account", "{backend}");
        let user = t.account(&portal_id).await;
        assert_eq!(user.language.as_deref(), Some("ru"), "{backend}");

        // A reset asked for from a Hindi page still reaches them in Russian.
        let b = browser();
        let form = fetch(&b, &t, "/recover").await;
        t.post_with(
            &b,
            &form,
            "/recover",
            &[("identifier", &portal_id), ("second", "+91 98123 00101")],
        )
        .await;
        let sms = t.last_message("+919812300101").await;
        assert!(sms.contains("Код сброса пароля"), "{backend}: {sms}");

        // The demo accounts and those made on the command line have a language too.
        t.app.identity.seed_demo().await.unwrap();
        let asha = t.account("asha.devi").await;
        assert_eq!(asha.language.as_deref(), Some("hi"), "{backend}");
        let admin = t.account("portal.admin").await;
        assert_eq!(admin.language.as_deref(), Some("en"), "{backend}");
    }
}

/// The security log says what happened in one phrase ("Login refused: wrong password", never
/// "Failed login — Failed") and comes in pages.
#[tokio::test]
async fn security_events_read_plainly_and_come_in_pages() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let portal_id = register_phone(&t, "98123 00102", "Asha").await;
        let other = browser();
        let login = fetch(&other, &t, "/login").await;
        t.post_with(
            &other,
            &login,
            "/login",
            &[("identifier", &portal_id), ("password", "not the password")],
        )
        .await;
        let mut page = t.get("/account").await;
        for i in 0..22 {
            let first = format!("Asha{}", "a".repeat(i % 3));
            page = t
                .post(
                    &page,
                    "/account/name",
                    &[("first_name", &first), ("last_name", "Kumari")],
                )
                .await;
        }
        let first = t.get("/account/security").await;
        assert!(first.has("Name changed"), "{}", first.body);
        assert_eq!(first.body.matches("<tr><th scope=\"row\">").count(), 20);
        assert!(!first.has("Newest events"));
        let older = first
            .body
            .split("href=\"/account/security?before=")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("a link to older events")
            .to_string();
        let second = t.get(&format!("/account/security?before={older}")).await;
        assert!(
            second.has("<strong>Login refused: wrong password</strong>"),
            "the failure stands out, in one phrase: {}",
            second.body
        );
        assert!(second.has("Account created") && second.has("Newest events"));
        assert!(
            !second.has("href=\"/account/security?before="),
            "the last page"
        );
        assert!(!second.has("Failed"), "{}", second.body);
        // Nonsense in the address is a first page, not an error.
        assert_eq!(t.get("/account/security?before=x").await.status, 200);
    }
}

#[tokio::test]
async fn email_registration_by_link_and_login_by_email() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let form = t.get("/register").await;
        let page = t
            .post(
                &form,
                "/register",
                &[
                    ("contact", "Ivan.P@Example.org"),
                    ("first_name", "Ivan"),
                    ("last_name", "Petrov"),
                    ("consent", "yes"),
                ],
            )
            .await;
        assert_eq!(page.path(), "/register/verify");
        let mail = t.last_message("ivan.p@example.org").await;
        let link = mail
            .split_whitespace()
            .find(|w| w.starts_with("http"))
            .expect("link in mail")
            .to_string();
        let page = fetch(&t.client, &t, link.trim_start_matches(&t.base)).await;
        assert_eq!(page.path(), "/register/password", "{backend}");
        let page = t
            .post(
                &page,
                "/register/password",
                &[
                    ("portal_id", "ivan.p"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.path(), "/account");
        // The link is single use: a second registration cannot reuse it.
        let again = fetch(&browser(), &t, "/register/password").await;
        assert_ne!(again.status, 200);
        let b = browser();
        let login = fetch(&b, &t, "/login").await;
        let page = t
            .post_with(
                &b,
                &login,
                "/login",
                &[("identifier", "IVAN.P@example.org"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.path(), "/account", "{backend}");
    }
}

#[tokio::test]
async fn no_account_enumeration() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300001", "Asha").await;
        // Registering again with the same number looks the same, and the owner is told.
        let b = browser();
        let form = fetch(&b, &t, "/register").await;
        let page = t
            .post_with(
                &b,
                &form,
                "/register",
                &[
                    ("contact", "9812300001"),
                    ("first_name", "Eve"),
                    ("last_name", "Kumari"),
                    ("consent", "yes"),
                ],
            )
            .await;
        assert_eq!(page.path(), "/register/verify", "{backend}");
        let notice = t.last_message("+919812300001").await;
        assert!(
            notice.contains("already has account"),
            "{backend}: {notice}"
        );
        let page = t
            .post_with(&b, &page, "/register/verify", &[("code", "123456")])
            .await;
        assert_eq!(page.status, 422);

        // Unknown and known accounts fail login the same way.
        let login = fetch(&b, &t, "/login").await;
        let known = t
            .post_with(
                &b,
                &login,
                "/login",
                &[
                    ("identifier", "9812300001"),
                    ("password", "wrong wrong wrong"),
                ],
            )
            .await;
        let unknown = t
            .post_with(
                &b,
                &login,
                "/login",
                &[
                    ("identifier", "9812399999"),
                    ("password", "wrong wrong wrong"),
                ],
            )
            .await;
        assert_eq!(known.status, unknown.status);
        let msg = |p: &Page| {
            p.body
                .split("field-error\">")
                .nth(1)
                .map(|s| s.split('<').next().unwrap_or("").to_string())
        };
        assert_eq!(msg(&known), msg(&unknown), "{backend}");

        // Recovery answers the same for an unknown account, and sends nothing.
        let form = fetch(&b, &t, "/recover").await;
        let a = t
            .post_with(&b, &form, "/recover", &[("identifier", "9812300001")])
            .await;
        let form = fetch(&b, &t, "/recover").await;
        let before = t.messages_to("+919812399999").await;
        let u = t
            .post_with(&b, &form, "/recover", &[("identifier", "9812399999")])
            .await;
        assert_eq!(a.path(), u.path());
        assert_eq!(
            a.body.replace(&a.field("csrf").unwrap(), ""),
            u.body.replace(&u.field("csrf").unwrap(), "")
        );
        assert_eq!(t.messages_to("+919812399999").await, before);
    }
}

#[tokio::test]
async fn brute_force_back_off_then_recovery_gets_the_owner_in() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let pid = register_phone(&t, "9812300002", "Ravi").await;
        let b = browser();
        let mut page = fetch(&b, &t, "/login").await;
        let mut statuses = Vec::new();
        for _ in 0..7 {
            page = t
                .post_with(
                    &b,
                    &page,
                    "/login",
                    &[("identifier", &pid), ("password", "not the password")],
                )
                .await;
            statuses.push(page.status);
        }
        // A challenge appears after three failures; back-off starts after five.
        assert!(
            page.attr("data-pow-nonce").is_some(),
            "{backend}: challenge shown"
        );
        let locked = t
            .post_with(
                &b,
                &page,
                "/login",
                &[("identifier", &pid), ("password", PASSWORD)],
            )
            .await;
        assert!(
            locked.body.contains("Too many attempts"),
            "{backend}: even the right password waits: {}",
            locked.body
        );
        let metrics = fetch(&b, &t, "/metrics").await;
        assert!(
            metrics.has("ekdwar_lockouts_total 1"),
            "{backend}: {}",
            metrics.body
        );
        // The owner gets in through recovery, which also clears the back-off.
        let form = fetch(&b, &t, "/recover").await;
        let page = t
            .post_with(&b, &form, "/recover", &[("identifier", "9812300002")])
            .await;
        let code = t.last_code("+919812300002").await;
        let page = t
            .post_with(&b, &page, "/recover/verify", &[("code", &code)])
            .await;
        let new = "granite meadow lantern 9";
        let page = t
            .post_with(
                &b,
                &page,
                "/recover/password",
                &[("password", new), ("confirm", new)],
            )
            .await;
        let page = t
            .post_with(
                &b,
                &page,
                "/login",
                &[("identifier", &pid), ("password", new)],
            )
            .await;
        assert_eq!(page.path(), "/account", "{backend}: {}", page.body);
        // And back-off expires with time.
        t.advance(Duration::from_secs(3600));
    }
}

#[tokio::test]
async fn codes_expire_and_allow_five_attempts() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let form = t.get("/register").await;
        let page = t
            .post(
                &form,
                "/register",
                &[
                    ("contact", "9812300003"),
                    ("first_name", "Mina"),
                    ("last_name", "Das"),
                    ("consent", "yes"),
                ],
            )
            .await;
        let code = t.last_code("+919812300003").await;
        let resend = t.post(&page, "/register/resend", &[]).await;
        assert!(
            resend.has("60") || resend.has("seconds"),
            "{backend}: resend waits for the cool-down"
        );
        t.advance(Duration::from_secs(11 * 60));
        let late = t.post(&page, "/register/verify", &[("code", &code)]).await;
        assert_eq!(late.status, 410, "{backend}: expired code");
        // A new registration: five wrong codes kill the code.
        let form = t.get("/register").await;
        let page = t
            .post(
                &form,
                "/register",
                &[
                    ("contact", "9812300003"),
                    ("first_name", "Mina"),
                    ("last_name", "Das"),
                    ("consent", "yes"),
                ],
            )
            .await;
        let code = t.last_code("+919812300003").await;
        let mut last = page;
        for _ in 0..5 {
            last = t
                .post(&last, "/register/verify", &[("code", "999999")])
                .await;
        }
        let page = t.post(&last, "/register/verify", &[("code", &code)]).await;
        assert!(page.has("Too many wrong codes"), "{backend}: {}", page.body);
    }
}

#[tokio::test]
async fn sessions_listed_revoked_and_ended_everywhere() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let pid = register_phone(&t, "9812300004", "Kiran").await;
        let other = browser();
        let login = fetch(&other, &t, "/login").await;
        t.post_with(
            &other,
            &login,
            "/login",
            &[("identifier", &pid), ("password", PASSWORD)],
        )
        .await;
        let list = t.get("/account/sessions").await;
        assert!(
            list.has(" IST") && !list.has("UTC"),
            "{backend}: times are local, the zone named: {}",
            list.body
        );
        assert_eq!(
            list.body.matches("name=\"id\"").count(),
            1,
            "{backend}: one other session can be revoked"
        );
        let id = list.field("id").unwrap();
        let page = t
            .post(&list, "/account/sessions/revoke", &[("id", &id)])
            .await;
        assert!(page.path().starts_with("/account/sessions"));
        assert_eq!(
            fetch(&other, &t, "/account").await.path(),
            "/login",
            "{backend}: revoked session is gone"
        );
        let page = t.post(&page, "/account/sessions/logout-all", &[]).await;
        assert!(page.has("Log out everywhere?"), "{backend}: asked first");
        assert_eq!(t.get("/account").await.path(), "/account", "not yet");
        let page = t
            .post(&page, "/account/sessions/logout-all", &[("confirm", "yes")])
            .await;
        assert_eq!(page.path(), "/login");
        assert_eq!(t.get("/account").await.path(), "/login");
        // Idle timeout.
        let page = t
            .post(
                &page,
                "/login",
                &[("identifier", &pid), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.path(), "/account");
        t.advance(Duration::from_secs(31 * 60));
        assert_eq!(
            t.get("/account").await.path(),
            "/login",
            "{backend}: idle session ends"
        );
    }
}

#[tokio::test]
async fn profile_changes_contact_after_verification_and_tells_the_old_one() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "9812300005", "Leela").await;
        let acct = t.get("/account").await;
        let page = t
            .post(&acct, "/account/contact", &[("contact", "9812300006")])
            .await;
        assert_eq!(page.path(), "/account/contact/verify");
        let code = t.last_code("+919812300006").await;
        let page = t
            .post(&page, "/account/contact/verify", &[("code", &code)])
            .await;
        assert!(
            page.has("+91 98123 00006"),
            "{backend}: new phone on profile"
        );
        assert!(
            t.last_message("+919812300005").await.contains("+91 *"),
            "{backend}: old phone told"
        );
        let page = t
            .post(
                &page,
                "/account/name",
                &[("first_name", "लीला"), ("last_name", "दास")],
            )
            .await;
        assert!(page.has("लीला दास"));
        let bad = t
            .post(
                &page,
                "/account/name",
                &[("first_name", "<b>"), ("last_name", "")],
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.has("error-summary") && !bad.has("<b>"));
        let pw = t.get("/account/password").await;
        let new = "silver canyon window 5";
        let page = t
            .post(
                &pw,
                "/account/password",
                &[("current", PASSWORD), ("password", new), ("confirm", new)],
            )
            .await;
        assert!(
            page.path().starts_with("/account"),
            "{backend}: {}",
            page.body
        );
    }
}
