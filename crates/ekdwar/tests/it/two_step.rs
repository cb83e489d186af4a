//! Two-step login (TOTP, RFC 6238): setting it up, logging in with a code or a recovery code,
//! single use under concurrency, attempt limits, and administrators who must use it.

use std::time::Duration;

use ekdwar_app::audit::Actor;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::{Authenticated, LoginInput, NewUserInput};
use ekdwar_domain::password::Password;
use ekdwar_domain::totp::TotpSecret;

use crate::accounts::{PASSWORD, register_phone};
use crate::support::{Page, TestApp, backends, browser};

/// The key the setup page shows, as an authenticator app would read it.
pub fn shown_key(page: &Page) -> TotpSecret {
    let start = page
        .body
        .find("id=\"totp-key\"")
        .expect("a key on the page");
    let from = page.body[start..].find('>').unwrap() + start + 1;
    let to = page.body[from..].find('<').unwrap() + from;
    TotpSecret::from_base32(&page.body[from..to]).expect("a base32 key")
}

/// The code an app shows at the portal's current time, `steps` periods later.
pub fn code(t: &TestApp, key: &TotpSecret, steps: i64) -> String {
    key.code_at(t.app.clock().now().millis() / 1000 + steps * 30)
}

/// The recovery codes a page shows.
fn recovery_codes(page: &Page) -> Vec<String> {
    page.body
        .split("<li><code>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_string())
        .collect()
}

/// Turns two-step login on for the logged-in account; the key and the recovery codes.
pub async fn turn_on(t: &TestApp) -> (TotpSecret, Vec<String>) {
    let page = t.get("/account/two-step").await;
    assert!(page.has("<svg"), "a QR code: {}", page.body);
    let key = shown_key(&page);
    let wrong = format!(
        "{:06}",
        (code(t, &key, 0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    let refused = t
        .post(&page, "/account/two-step/enable", &[("code", &wrong)])
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.has("The code is not right"), "{}", refused.body);
    // The page shows the same key again, so a scan made before still works.
    assert_eq!(shown_key(&refused), key);
    let done = t
        .post(
            &refused,
            "/account/two-step/enable",
            &[("code", &code(t, &key, 0))],
        )
        .await;
    assert!(done.has("Save your recovery codes"), "{}", done.body);
    let codes = recovery_codes(&done);
    assert_eq!(codes.len(), 10);
    (key, codes)
}

async fn log_in(t: &TestApp, identifier: &str) -> Page {
    let _ = t.get("/logout").await;
    let page = t.get("/login").await;
    t.post(
        &page,
        "/login",
        &[("identifier", identifier), ("password", PASSWORD)],
    )
    .await
}

#[tokio::test]
async fn a_citizen_turns_on_two_step_login_and_uses_it() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let portal_id = register_phone(&t, "98123 00801", "Asha").await;
        let account = t.get("/account").await;
        assert!(account.has("Two-step login</a>: off"), "{}", account.body);
        let (key, codes) = turn_on(&t).await;
        assert!(t.get("/account").await.has("Two-step login</a>: on"));
        // The owner is told on their phone, in case it was not them.
        assert!(
            t.last_message("+919812300801")
                .await
                .contains("two-step login of account asha.kumari was turned on"),
            "{backend}"
        );

        // The password alone no longer logs in: the code is asked on its own page.
        let logout = t.get("/account").await;
        t.post(&logout, "/logout", &[]).await;
        let page = log_in(&t, &portal_id).await;
        assert_eq!(page.path(), "/login/code", "{backend}: {}", page.body);
        assert!(
            t.get("/account").await.path() == "/login",
            "{backend}: no session yet"
        );
        let page = t.get("/login/code").await;
        let bad = t.post(&page, "/login/code", &[("code", "12ab")]).await;
        assert!(bad.has("Type the 6 digits from the app"), "{}", bad.body);
        t.advance(Duration::from_secs(30));
        let now = code(&t, &key, 0);
        let page = t.post(&bad, "/login/code", &[("code", &now)]).await;
        assert_eq!(page.path(), "/account", "{backend}: {}", page.body);

        // The same code does not work twice, even within its 30 seconds.
        let out = t.post(&page, "/logout", &[]).await;
        assert_eq!(out.path(), "/login");
        let page = log_in(&t, &portal_id).await;
        let again = t.post(&page, "/login/code", &[("code", &now)]).await;
        assert!(
            again.has("The code is not right"),
            "{backend}: {}",
            again.body
        );

        // A recovery code works once, typed in any case and with or without its dash.
        let typed = codes[0].replace('-', "").to_uppercase();
        let page = t.post(&again, "/login/code", &[("code", &typed)]).await;
        assert_eq!(page.path(), "/account", "{backend}: {}", page.body);
        let page = log_in(&t, &portal_id).await;
        let reused = t.post(&page, "/login/code", &[("code", &codes[0])]).await;
        assert!(reused.has("The code is not right"), "{backend}");
        let page = t.post(&reused, "/login/code", &[("code", &codes[1])]).await;
        assert_eq!(page.path(), "/account");
        let status = t.get("/account/two-step").await;
        assert!(status.has("Recovery codes left: 8"), "{}", status.body);

        // New recovery codes replace the old ones; they need the password.
        let wrong = t
            .post(
                &status,
                "/account/two-step/manage",
                &[("current", "nope"), ("action", "codes")],
            )
            .await;
        assert!(
            wrong.has("current password is wrong") || wrong.has("password"),
            "{}",
            wrong.body
        );
        let fresh = t
            .post(
                &wrong,
                "/account/two-step/manage",
                &[("current", PASSWORD), ("action", "codes")],
            )
            .await;
        let new_codes = recovery_codes(&fresh);
        assert_eq!(new_codes.len(), 10, "{}", fresh.body);
        let page = log_in(&t, &portal_id).await;
        let old = t.post(&page, "/login/code", &[("code", &codes[2])]).await;
        assert!(
            old.has("The code is not right"),
            "{backend}: old codes are dead"
        );
        let page = t
            .post(&old, "/login/code", &[("code", &new_codes[0])])
            .await;
        assert_eq!(page.path(), "/account");

        // The security log tells each of these apart.
        let log = t.get("/account/security").await;
        for phrase in [
            "Two-step login turned on",
            "Login refused: wrong code from the app",
            "New recovery codes made",
        ] {
            assert!(log.has(phrase), "{backend}: {phrase}");
        }

        // Turned off with the password, the password alone logs in again.
        let status = t.get("/account/two-step").await;
        let off = t
            .post(
                &status,
                "/account/two-step/manage",
                &[("current", PASSWORD), ("action", "off")],
            )
            .await;
        assert!(off.has("Two-step login is off."), "{}", off.body);
        assert!(
            t.last_message("+919812300801")
                .await
                .contains("was turned off")
        );
        let page = log_in(&t, &portal_id).await;
        assert_eq!(page.path(), "/account");
    }
}

/// One login waiting for its second step.
async fn ticket(t: &TestApp, identifier: &str) -> String {
    match t
        .app
        .identity
        .login(
            LoginInput {
                identifier: identifier.into(),
                password: Password::new(PASSWORD),
                challenge: None,
            },
            &Actor::default(),
        )
        .await
    {
        Ok(Authenticated::SecondStep(s)) => s.ticket,
        other => panic!("expected a second step: {other:?}"),
    }
}

/// A code, or a recovery code, sent by twenty requests at once logs in exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_code_logs_in_once_however_many_requests_race() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let portal_id = register_phone(&t, "98123 00802", "Asha").await;
        let (key, codes) = turn_on(&t).await;
        for round in 0..2 {
            // An hour on: the next period's code, and the tries of the last round forgotten
            // (twenty at once count as guesses, and the losers may count after the winner).
            t.advance(Duration::from_secs(3600));
            let typed = match round {
                0 => code(&t, &key, 0),
                _ => codes[3].clone(),
            };
            let ticket = ticket(&t, &portal_id).await;
            let tasks: Vec<_> = (0..20)
                .map(|_| {
                    let (app, ticket, typed) = (t.app.clone(), ticket.clone(), typed.clone());
                    tokio::spawn(async move {
                        app.identity
                            .login_second_step(&ticket, &typed, &Actor::default())
                            .await
                    })
                })
                .collect();
            let mut ok = 0;
            for task in tasks {
                ok += usize::from(task.await.unwrap().is_ok());
            }
            assert_eq!(ok, 1, "{backend}: {ok} of 20 logins with one code");
        }
    }
}

/// Guessing six digits: after a few wrong codes the account waits, and then even the right
/// code is refused until the wait is over.
#[tokio::test]
async fn guesses_at_the_code_are_limited() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let portal_id = register_phone(&t, "98123 00803", "Asha").await;
        let (key, _) = turn_on(&t).await;
        let ticket = ticket(&t, &portal_id).await;
        let mut throttled = false;
        for i in 0..25 {
            let guess = format!("{:06}", 100_000 + i);
            if (-1..=1).any(|s| guess == code(&t, &key, s)) {
                continue;
            }
            match t
                .app
                .identity
                .login_second_step(&ticket, &guess, &Actor::default())
                .await
            {
                Err(AppError::Throttled { .. }) => throttled = true,
                Err(_) => {}
                Ok(_) => panic!("{backend}: a wrong code logged in"),
            }
        }
        assert!(throttled, "{backend}: 25 wrong codes are never slowed");
        // The next period's code (the one used to turn it on is spent), still within the wait.
        let right = t
            .app
            .identity
            .login_second_step(&ticket, &code(&t, &key, 1), &Actor::default())
            .await;
        assert!(
            matches!(right, Err(AppError::Throttled { .. })),
            "{backend}: {right:?}"
        );
        // A ticket is good for ten minutes only.
        t.advance(Duration::from_secs(11 * 60 + 3600));
        let late = t
            .app
            .identity
            .login_second_step(&ticket, &code(&t, &key, 0), &Actor::default())
            .await;
        assert!(
            matches!(late, Err(AppError::FlowExpired)),
            "{backend}: {late:?}"
        );
    }
}

/// Administrators cannot use the portal before setting up two-step login, cannot turn it
/// off, and the helpdesk's `user two-step-off` ends their sessions.
#[tokio::test]
async fn administrators_must_use_two_step_login() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        t.app
            .identity
            .admin_add_user(NewUserInput {
                portal_id: "ravi.admin".into(),
                first_name: "Ravi".into(),
                last_name: "Verma".into(),
                phone: None,
                email: Some("ravi@example.in".into()),
                password: Password::new(PASSWORD),
                role: ekdwar_domain::Role::Admin,
                language: None,
            })
            .await
            .unwrap();
        let page = log_in(&t, "ravi.admin").await;
        assert_eq!(page.path(), "/account/two-step", "{backend}: {}", page.body);
        assert!(page.has("Administrators must use two-step login"));
        for path in ["/account", "/apps", "/account/sessions"] {
            assert_eq!(
                t.get(path).await.path(),
                "/account/two-step",
                "{backend}: {path}"
            );
        }
        let (key, _) = turn_on(&t).await;
        assert_eq!(t.get("/account").await.path(), "/account");
        let status = t.get("/account/two-step").await;
        assert!(
            !status.has("value=\"off\""),
            "{backend}: no way to turn it off"
        );
        let off = t
            .post(
                &status,
                "/account/two-step/manage",
                &[("current", PASSWORD), ("action", "off")],
            )
            .await;
        assert!(
            off.has("Administrators cannot turn off two-step login"),
            "{}",
            off.body
        );

        // The next login asks for the code.
        let page = log_in(&t, "ravi.admin").await;
        assert_eq!(page.path(), "/login/code");
        t.advance(Duration::from_secs(30));
        let page = t
            .post(&page, "/login/code", &[("code", &code(&t, &key, 0))])
            .await;
        assert_eq!(page.path(), "/account");

        // Lost phone: the helpdesk turns it off; the open session ends; the next login
        // sets it up again.
        t.app
            .identity
            .admin_two_step_off("ravi.admin")
            .await
            .unwrap();
        assert_eq!(t.get("/account").await.path(), "/login");
        let page = log_in(&t, "ravi.admin").await;
        assert_eq!(page.path(), "/account/two-step");
        let other = browser();
        let r = other.get(t.url("/login/code")).send().await.unwrap();
        assert!(
            r.url().path() == "/login",
            "no second step without a password first"
        );
    }
}
