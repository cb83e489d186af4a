//! The security review's findings, each reproduced: what an attacker tried, and that it no
//! longer works. Races run with real concurrency on every configured database.

use ekdwar_app::audit::Actor;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::LoginInput;
use ekdwar_domain::password::Password;

use crate::accounts::{PASSWORD, register_phone};
use crate::support::{TestApp, at_once, backends, registration, solved};

fn from(ip: String) -> Actor {
    Actor {
        ip: Some(ip),
        ..Actor::default()
    }
}

/// The session token of a login with the right password (the account has no second step).
async fn session_token(t: &TestApp, identifier: &str) -> String {
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
        .unwrap()
    {
        ekdwar_app::identity::Authenticated::Session(s) => s.token,
        other => panic!("{other:?}"),
    }
}

/// One login attempt from `ip`, without a challenge.
async fn guess(
    app: ekdwar_app::App,
    identifier: String,
    password: &str,
    ip: String,
) -> Result<(), AppError> {
    app.identity
        .login(
            LoginInput {
                identifier,
                password: Password::new(password),
                challenge: None,
            },
            &from(ip),
        )
        .await
        .map(|_| ())
}

/// Finding 1: 200 concurrent wrong passwords were counted as 5, and then the right password
/// logged in. Every attempt must take its own place in the count: only the first few are
/// checked at all, and after them a challenge is required, also for the right password.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_passwords_all_count() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let portal_id = register_phone(&t, "98123 00201", "Asha").await;
        let challenge_after = t.app.config().security.login_challenge_after;
        // Each from another address: the account's own counter is what must hold.
        let results = at_once(200, |i| {
            let ip = format!("10.1.{}.{}", i / 200, i % 200);
            guess(t.app.clone(), portal_id.clone(), "wrong guess 1234", ip)
        })
        .await;
        let checked = results
            .iter()
            .filter(|r| matches!(r, Err(AppError::InvalidCredentials)))
            .count() as i64;
        assert!(
            checked <= challenge_after,
            "{backend}: {checked} of 200 concurrent guesses were checked (limit {challenge_after})"
        );
        let right = guess(t.app.clone(), portal_id, PASSWORD, "10.2.0.1".into()).await;
        assert!(
            matches!(right, Err(AppError::CaptchaRequired)),
            "{backend}: after 200 guesses the right password needs a challenge: {right:?}"
        );
    }
}

/// Finding 1, per address: one address guessing 200 different accounts at once is held to the
/// address's limit too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_from_one_address_all_count() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let limit = t.app.identity.address_throttle().challenge_after;
        let results = at_once(200, |i| {
            let who = format!("nobody.{i}");
            guess(t.app.clone(), who, "wrong guess 1234", "10.3.0.1".into())
        })
        .await;
        let checked = results
            .iter()
            .filter(|r| matches!(r, Err(AppError::InvalidCredentials)))
            .count() as i64;
        assert!(
            checked <= limit,
            "{backend}: {checked} of 200 concurrent guesses from one address were checked (limit {limit})"
        );
    }
}

/// Finding 6: on PostgreSQL 30 concurrent registrations sent 30 SMS to one number whose limit
/// is 6. The per-number limit holds under any concurrency.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sends_to_one_number_stay_within_its_limit() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let limit = t.app.identity.send_throttle().free_failures + 1;
        let results = at_once(30, |i| {
            let (app, input) = (t.app.clone(), registration(&t, "98123 00301"));
            async move {
                app.identity
                    .start_registration(input, &from(format!("10.4.0.{i}")))
                    .await
            }
        })
        .await;
        let sent = results.iter().filter(|r| r.is_ok()).count() as i64;
        let messages = t.messages_to("+919812300301").await;
        assert!(
            sent <= limit && messages <= limit as usize,
            "{backend}: {sent} registrations and {messages} SMS to one number (limit {limit})"
        );
    }
}

/// Finding 6: on PostgreSQL 30 concurrent guesses at one code got 15–16 tries where 5 are
/// allowed. Each guess takes an attempt before it is compared.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_at_a_code_stay_within_its_attempts() {
    for backend in backends() {
        use ekdwar_app::identity::Purpose;
        let t = TestApp::start(backend).await;
        let max = t.app.config().security.otp_max_attempts;
        let flow = t
            .app
            .identity
            .start_registration(registration(&t, "98123 00302"), &from("10.5.0.1".into()))
            .await
            .unwrap();
        let code = t.last_code("+919812300302").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let results = at_once(30, |_| {
            let (app, flow) = (t.app.clone(), flow.clone());
            async move {
                app.identity
                    .verify_secret(&flow, Purpose::Register, wrong)
                    .await
            }
        })
        .await;
        let compared = results
            .iter()
            .filter(|r| matches!(r, Err(AppError::CodeWrong { .. })))
            .count() as i64;
        assert!(
            compared < max,
            "{backend}: {compared} concurrent guesses were compared (at most {max} tries)"
        );
        let right = t
            .app
            .identity
            .verify_secret(&flow, Purpose::Register, &code)
            .await;
        assert!(
            matches!(right, Err(AppError::TooManyAttempts)),
            "{backend}: the code is dead after its tries: {right:?}"
        );
    }
}

/// Finding 7: recovery by portal ID told existing accounts from unknown ones (an account whose
/// code goes by e-mail answered a typed code differently), and an account with no phone or
/// e-mail (from an upstream login) got a 500. Every portal ID now gets the same answers.
#[tokio::test]
async fn recovery_by_portal_id_answers_the_same_for_any_account() {
    for backend in backends() {
        use ekdwar_app::identity::{NewUserInput, Purpose};
        let t = TestApp::start(backend).await;
        let add = |pid: &str, email: Option<&str>| NewUserInput {
            portal_id: pid.into(),
            first_name: "Asha".into(),
            last_name: "Kumari".into(),
            phone: None,
            email: email.map(str::to_string),
            password: Password::new(PASSWORD),
            role: ekdwar_domain::Role::Citizen,
            language: None,
        };
        t.app
            .identity
            .admin_add_user(add("mail.only", Some("mail.only@example.in")))
            .await
            .unwrap();
        t.app
            .identity
            .admin_add_user(add("no.contact", None))
            .await
            .unwrap();
        let lang = ekdwar_app::i18n::Lang::english();
        let mut answers = Vec::new();
        for (pid, second) in [
            ("mail.only", "mail.only@example.in"),
            ("no.contact", "no.contact@example.in"),
            ("nobody.here", "98123 00000"),
        ] {
            let flow = t
                .app
                .identity
                .start_recovery(pid, second, &solved(&t), &lang, &from("10.6.0.1".into()))
                .await
                .unwrap_or_else(|e| panic!("{backend} {pid}: {e:?}"));
            let mut replies = Vec::new();
            for typed in ["abc", "12345", "000000"] {
                replies.push(format!(
                    "{:?}",
                    t.app
                        .identity
                        .verify_code(&flow, Purpose::Recover, typed)
                        .await
                        .err()
                ));
            }
            answers.push((pid, replies));
        }
        assert_eq!(answers[0].1, answers[2].1, "{backend}: {answers:?}");
        assert_eq!(answers[1].1, answers[2].1, "{backend}: {answers:?}");
    }
}

/// Finding 16: bad input got a 500 (a line break in `back` or `next`), a redirect to another
/// site (`back=/%09/evil.example`, which browsers read as `//evil.example`), raw framework text
/// (a form without `lang`) or an empty body (a wrong method). Each now gets a translated page
/// or a redirect to a page of the portal.
#[tokio::test]
async fn bad_input_gets_a_translated_answer() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let no_redirects = crate::sso::browser();
        let home = crate::accounts::fetch(&no_redirects, &t, "/").await;
        let csrf = home.field("csrf").unwrap();
        let post = |fields: Vec<(&'static str, String)>| {
            let mut form = fields;
            form.push(("csrf", csrf.clone()));
            no_redirects
                .post(t.url("/language"))
                .header("origin", &t.base)
                .form(&form)
                .send()
        };
        for back in [
            "/\r\nSet-Cookie: x=1",
            "/\t/evil.example",
            "/%09/evil.example",
            "//evil.example",
            "/\\evil.example",
        ] {
            let r = post(vec![("lang", "hi".into()), ("back", back.into())])
                .await
                .unwrap();
            assert_eq!(r.status(), 303, "{back:?}");
            let to = r.headers()["location"].to_str().unwrap().to_string();
            let resolved = url::Url::parse(&t.base).unwrap().join(&to).unwrap();
            assert_eq!(
                resolved.origin(),
                url::Url::parse(&t.base).unwrap().origin(),
                "{back:?} sent the browser to {to}"
            );
        }
        // No `lang`: the page is translated, not framework text.
        let r = post(vec![("back", "/".into())]).await.unwrap();
        assert!(
            r.status().is_redirection() || r.status() == 400,
            "{}",
            r.status()
        );
        if r.status() == 400 {
            let body = r.text().await.unwrap();
            assert!(!body.contains("deserialize"), "{body}");
        }
        let r = crate::support::browser()
            .get(t.url("/login?next=/authorize?x%0d%0aSet-Cookie:%20y"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // A wrong method: a page that says what to do, in the person's language.
        let r = reqwest::Client::new()
            .put(t.url("/login"))
            .header("accept-language", "ru")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        let body = r.text().await.unwrap();
        assert!(body.contains("Этот адрес нельзя использовать"), "{body}");
        // A form the server cannot read.
        let login = crate::accounts::fetch(&no_redirects, &t, "/recover").await;
        let r = no_redirects
            .post(t.url("/recover/verify"))
            .header("origin", &t.base)
            .header("accept-language", "hi")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={}&code=%ZZ", login.field("csrf").unwrap()))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_client_error() || r.status().is_redirection(),
            "{}",
            r.status()
        );
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("deserialize") && !body.contains("Failed to"),
            "{body}"
        );
    }
}

/// Finding 12: the current-password check on "change password" could be guessed without limit.
/// Guesses now count like failed logins: after a few, the check waits.
#[tokio::test]
async fn guesses_at_the_current_password_are_limited() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "98123 00601", "Asha").await;
        let mut statuses = Vec::new();
        for i in 0..12 {
            let page = t.get("/account/password").await;
            let wrong = format!("not my password {i}");
            let new = "copper kettle morning 9";
            let r = t
                .post(
                    &page,
                    "/account/password",
                    &[("current", &wrong), ("password", new), ("confirm", new)],
                )
                .await;
            statuses.push(r.has("Too many attempts"));
        }
        assert!(
            statuses.contains(&true),
            "{backend}: twelve wrong guesses in a row are never slowed: {statuses:?}"
        );
        // The right password also waits now: the limit is not a hint.
        let page = t.get("/account/password").await;
        let r = t
            .post(
                &page,
                "/account/password",
                &[
                    ("current", PASSWORD),
                    ("password", "copper kettle morning 9"),
                    ("confirm", "copper kettle morning 9"),
                ],
            )
            .await;
        assert!(r.has("Too many attempts"), "{backend}: {}", r.body);
    }
}

/// Finding 17: a one-byte `server.secret_key` passed, configuration errors echoed secret values,
/// the data folder and database were readable by every user of the machine, and codes and
/// links stayed readable in the outbox for ever.
#[tokio::test]
async fn secrets_are_strong_private_and_short_lived() {
    for backend in backends() {
        use ekdwar_app::config::{Config, Overrides};
        let mut config = Config::default();
        config.server.secret_key = Some(ekdwar_app::config::Secret::new("x"));
        let e = config.validate().unwrap_err().to_string();
        assert!(e.contains("server.secret_key"), "{e}");

        let dir = std::env::temp_dir().join(format!("ekdwar-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("bad.toml");
        std::fs::write(&file, "[server]\nsecret_key = 9876543210123\n").unwrap();
        let e = Config::load(Some(&file), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("secret_key") && !e.contains("9876543210123"),
            "{e}"
        );

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mut config = Config::default();
            let data = dir.join("fresh").join("data");
            config.server.data_dir = data.clone();
            ekdwar_app::App::build(config, ekdwar_app::Deps::default())
                .await
                .unwrap();
            let mode =
                |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&data), 0o700, "the data folder");
            assert_eq!(mode(&data.join("ekdwar.db")), 0o600, "the database");
            assert_eq!(mode(&data.join("secret.key")), 0o600, "the key");
        }
        let _ = std::fs::remove_dir_all(&dir);

        // A code in the local outbox (no gateway) is gone a day later.
        let t = TestApp::start(backend).await;
        register_phone(&t, "98123 00701", "Asha").await;
        assert!(!t.last_message("+919812300701").await.is_empty());
        t.advance(std::time::Duration::from_secs(2 * 86_400));
        t.app.jobs.purge_expired().await.unwrap();
        assert_eq!(t.last_message("+919812300701").await, "");
    }
}

/// Finding 5: the typed sum could be read from the challenge's own token. The token now holds a
/// keyed hash of the answer, and any answer spends the challenge.
#[tokio::test]
async fn the_challenge_cannot_be_read_or_tried_twice() {
    for backend in backends() {
        use base64::Engine;
        let t = TestApp::start(backend).await;
        let c = t.app.identity.new_challenge();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c.token.split('.').next().unwrap())
            .unwrap();
        let payload = String::from_utf8(payload).unwrap();
        // nonce | expiry | difficulty | keyed hash of the answer: no numbers of the question.
        let fields: Vec<&str> = payload.split('|').collect();
        assert_eq!(fields.len(), 4, "{payload}");
        assert_eq!(fields[2], c.difficulty.to_string());
        for number in [c.a, c.b, c.a + c.b] {
            assert_ne!(fields[3], number.to_string(), "{payload}");
        }
        assert!(fields[3].len() >= 32, "a MAC, not a number: {payload}");
        let answer = |text: String| ekdwar_app::captcha::ChallengeAnswer {
            token: c.token.clone(),
            pow: String::new(),
            text,
        };
        let wrong = (c.a + c.b + 1).to_string();
        assert!(
            t.app
                .identity
                .check_challenge(&answer(wrong))
                .await
                .is_err()
        );
        assert!(
            t.app
                .identity
                .check_challenge(&answer((c.a + c.b).to_string()))
                .await
                .is_err(),
            "a second try at the same question"
        );
        let fresh = t.app.identity.new_challenge();
        let right = ekdwar_app::captcha::ChallengeAnswer {
            text: (fresh.a + fresh.b).to_string(),
            token: fresh.token,
            pow: String::new(),
        };
        assert!(t.app.identity.check_challenge(&right).await.is_ok());
    }
}

/// Finding 5: one address queued 30 SMS to 30 numbers in 0.1 s. Messages per address, per
/// number range and in all are limited (the defaults, with real concurrency); the portal-wide
/// SMS ceiling stops SMS only, and e-mail keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_per_address_and_in_all_are_limited() {
    for backend in backends() {
        let t = TestApp::start_with(backend, |c| {
            c.security.messages_per_address_per_hour = 10;
        })
        .await;
        let results = at_once(30, |i| {
            let (app, input) = (t.app.clone(), registration(&t, &format!("98123 1{i:04}")));
            async move {
                app.identity
                    .start_registration(input, &from("10.7.0.1".into()))
                    .await
            }
        })
        .await;
        let sent = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(sent, 10, "{backend}: one address, 30 numbers");

        // The portal-wide ceiling: SMS waits, e-mail goes on.
        let t = TestApp::start_with(backend, |c| c.security.sms_per_hour = 3).await;
        let mut results = Vec::new();
        for i in 0..5 {
            let r = t
                .app
                .identity
                .start_registration(
                    registration(&t, &format!("98123 2{i:04}")),
                    &from(format!("10.8.0.{i}")),
                )
                .await;
            results.push(r.is_ok());
        }
        assert_eq!(results, [true, true, true, false, false], "{backend}");
        let email = t
            .app
            .identity
            .start_registration(
                registration(&t, "someone@example.in"),
                &from("10.8.1.1".into()),
            )
            .await;
        assert!(email.is_ok(), "{backend}: e-mail still works: {email:?}");
    }
}

/// Finding 11: the last step of registration answered "taken" or not for any number of portal
/// IDs, an oracle for which IDs exist. One registration gets 20 tries.
#[tokio::test]
async fn one_registration_cannot_probe_portal_ids_without_limit() {
    for backend in backends() {
        use ekdwar_app::identity::Purpose;
        let t = TestApp::start(backend).await;
        let flow = t
            .app
            .identity
            .start_registration(registration(&t, "98123 00801"), &from("10.9.0.1".into()))
            .await
            .unwrap();
        let code = t.last_code("+919812300801").await;
        t.app
            .identity
            .verify_code(&flow, Purpose::Register, &code)
            .await
            .unwrap();
        let mut answers = Vec::new();
        for i in 0..25 {
            let r = t
                .app
                .identity
                .complete_registration(
                    &flow,
                    &format!("probe.{i}"),
                    Password::new("short"),
                    Password::new("short"),
                    &from("10.9.0.1".into()),
                )
                .await;
            answers.push(matches!(r, Err(AppError::Throttled { .. })));
        }
        assert_eq!(
            answers.iter().filter(|t| **t).count(),
            5,
            "{backend}: tries after the 20th wait: {answers:?}"
        );
    }
}

/// Finding 3: an open session was enough to move an account's phone or e-mail. After the first
/// ten minutes the password is asked for again.
#[tokio::test]
async fn moving_a_contact_later_needs_the_password_again() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        register_phone(&t, "98123 01101", "Asha").await;
        t.advance(std::time::Duration::from_secs(11 * 60));
        let page = t.get("/account").await;
        assert!(
            page.has("name=\"current\""),
            "{backend}: the form asks for the password"
        );
        let r = t
            .post(&page, "/account/contact", &[("contact", "98123 01102")])
            .await;
        assert!(
            r.has("Enter your password to continue"),
            "{backend}: {}",
            r.body
        );
        let r = t
            .post(
                &r,
                "/account/contact",
                &[("contact", "98123 01102"), ("current", "not the password")],
            )
            .await;
        assert!(
            r.has("not right") || r.has("wrong") || r.status == 422,
            "{backend}"
        );
        assert_eq!(
            t.messages_to("+919812301102").await,
            0,
            "{backend}: nothing sent yet"
        );
        let r = t
            .post(
                &r,
                "/account/contact",
                &[("contact", "98123 01102"), ("current", PASSWORD)],
            )
            .await;
        assert_eq!(r.path(), "/account/contact/verify", "{backend}: {}", r.body);
    }
}

/// Rows in the tables a request can write, to compare what two requests wrote. Counters
/// (`throttle`) are left out: they are keyed by what was typed, so two different inputs find
/// different histories whether or not an account exists. So are the periodic jobs, which the
/// worker reschedules on its own time.
pub(crate) async fn row_counts(t: &TestApp) -> Vec<i64> {
    use sqlx::Row;
    let mut conn = t.app.store().conn().await.unwrap();
    let mut out = Vec::new();
    for table in [
        "outbox",
        "audit_log",
        "verifications",
        "used_challenges",
        "jobs WHERE kind NOT IN ('purge', 'sweep-applications', 'sweep-payments', \
         'sweep-appointments', 'make-slots')",
    ] {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM {table}"
        )))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        out.push(row.try_get::<i64, _>("n").unwrap());
    }
    out
}

/// Finding 15: recovery and "forgot portal ID" wrote more for an existing account than for an
/// unknown one, and so answered measurably slower. Both now cause the same writes, table by
/// table (a decoy message for the unknown one) — compared by rows, never by time.
#[tokio::test]
async fn known_and_unknown_accounts_cause_the_same_writes() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let known_pid = register_phone(&t, "98123 01201", "Asha").await;
        let lang = ekdwar_app::i18n::Lang::english();
        // A portal ID with something its account does not hold is answered as an unknown one.
        let cases: [(&str, &str, &str, &str); 4] = [
            ("recovery by phone", "98123 01201", "98123 01299", ""),
            (
                "recovery by portal ID",
                &known_pid,
                "nobody.at.all",
                "98123 01201",
            ),
            (
                "recovery by portal ID and another's phone",
                &known_pid,
                "nobody.at.all",
                "98123 01297",
            ),
            ("forgot portal ID", "98123 01201", "98123 01298", ""),
        ];
        for (i, (case, known, unknown, second)) in cases.into_iter().enumerate() {
            let mut deltas = Vec::new();
            for (j, who) in [known, unknown].into_iter().enumerate() {
                let before = row_counts(&t).await;
                let actor = from(format!("10.12.{i}.{j}"));
                if case == "forgot portal ID" {
                    t.app
                        .identity
                        .remind_portal_id(who, &solved(&t), &lang, &actor)
                        .await
                        .unwrap();
                } else {
                    t.app
                        .identity
                        .start_recovery(who, second, &solved(&t), &lang, &actor)
                        .await
                        .unwrap();
                }
                let after = row_counts(&t).await;
                deltas.push(
                    after
                        .iter()
                        .zip(&before)
                        .map(|(a, b)| a - b)
                        .collect::<Vec<_>>(),
                );
            }
            assert_eq!(deltas[0], deltas[1], "{backend} {case}: known vs unknown");
        }
    }
}

/// `/metrics` is for the operator: without a token only from this machine directly, with one
/// only for its bearer.
#[tokio::test]
async fn metrics_are_for_the_operator_only() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let client = reqwest::Client::new();
        assert_eq!(
            client.get(t.url("/metrics")).send().await.unwrap().status(),
            200
        );
        let proxied = client
            .get(t.url("/metrics"))
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(proxied.status(), 404, "through a proxy, from anywhere");
        let t = TestApp::start_with("sqlite", |c| {
            c.server.metrics_token = Some(ekdwar_app::config::Secret::new("scrape-token-123"));
        })
        .await;
        assert_eq!(
            client.get(t.url("/metrics")).send().await.unwrap().status(),
            404
        );
        let r = client
            .get(t.url("/metrics"))
            .bearer_auth("scrape-token-123")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("# EOF"));
    }
}

/// The CSRF secret changes with the login: a form token seen before logging in (for example
/// planted by someone who used the browser first) no longer works after.
#[tokio::test]
async fn logging_in_changes_the_csrf_secret() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let portal_id = register_phone(&t, "98123 01301", "Asha").await;
        let page = t.get("/account").await;
        t.post(&page, "/logout", &[]).await;
        let before = t.get("/login").await;
        let old = before.field("csrf").unwrap();
        let after = t
            .post(
                &before,
                "/login",
                &[("identifier", &portal_id), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(after.path(), "/account");
        let r = t
            .client
            .post(t.url("/logout"))
            .header("origin", &t.base)
            .form(&[("csrf", old.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "the token from before the login");
        assert_eq!(
            t.get("/account").await.path(),
            "/account",
            "still logged in"
        );
    }
}

/// A password that expires while its owner is logged in is changed before anything else, on
/// every request — not only at the next login.
#[tokio::test]
async fn an_expired_password_is_changed_first_on_every_page() {
    for backend in backends() {
        let t = TestApp::start_with(backend, |c| {
            c.password.expiry_days = 30;
            c.security.session_idle_minutes = 60 * 24 * 60;
            c.security.session_absolute_hours = 24 * 60;
        })
        .await;
        register_phone(&t, "98123 01401", "Asha").await;
        assert_eq!(t.get("/account/sessions").await.path(), "/account/sessions");
        t.advance(std::time::Duration::from_secs(31 * 86_400));
        for page in ["/account", "/account/sessions", "/apps"] {
            assert_eq!(t.get(page).await.path(), "/account/password", "{page}");
        }
        let page = t.get("/account/password").await;
        let new = "copper kettle morning 10";
        let done = t
            .post(
                &page,
                "/account/password",
                &[("current", PASSWORD), ("password", new), ("confirm", new)],
            )
            .await;
        assert_eq!(done.path(), "/account", "{}", done.body);
    }
}

/// Finding 10: one account's identifiers shared a lock-out. After a few wrong passwords typed
/// with a phone number, the login form asked for a challenge when given the account's portal ID
/// too, which told an attacker whose phone that was. Each identifier now has its own count, so
/// the portal ID answers exactly like one nobody has ever tried.
#[tokio::test]
async fn a_lockout_does_not_show_which_identifiers_are_one_account() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let portal_id = register_phone(&t, "98123 00701", "Asha").await;
        let challenge_after = t.app.config().security.login_challenge_after;
        for i in 0..challenge_after + 2 {
            let _ = guess(
                t.app.clone(),
                "98123 00701".into(),
                "wrong guess 1234",
                format!("10.7.0.{i}"),
            )
            .await;
        }
        let phone_now = guess(t.app.clone(), "98123 00701".into(), "x", "10.7.1.1".into()).await;
        assert!(
            matches!(phone_now, Err(AppError::CaptchaRequired)),
            "{backend}: the phone itself is challenged now: {phone_now:?}"
        );
        let actor = from("10.7.2.1".into());
        for (label, id) in [
            ("the account's portal ID", portal_id.as_str()),
            ("an unknown one", "nobody.here77"),
        ] {
            assert!(
                !t.app
                    .identity
                    .login_challenge_needed(Some(id), &actor)
                    .await
                    .unwrap(),
                "{backend}: the login form asks {label} for a challenge"
            );
            let r = guess(
                t.app.clone(),
                id.into(),
                "wrong guess 1234",
                "10.7.2.1".into(),
            )
            .await;
            assert!(
                matches!(r, Err(AppError::InvalidCredentials)),
                "{backend}: {label} answers {r:?}"
            );
        }
        // The owner, using another of their identifiers, is not locked out by the attack.
        let owner = guess(
            t.app.clone(),
            portal_id.clone(),
            PASSWORD,
            "10.7.3.1".into(),
        )
        .await;
        assert!(owner.is_ok(), "{backend}: {owner:?}");
        // And a success forgives the failures on all of the account's identifiers.
        let phone_after = guess(
            t.app.clone(),
            "98123 00701".into(),
            PASSWORD,
            "10.7.3.2".into(),
        )
        .await;
        assert!(phone_after.is_ok(), "{backend}: {phone_after:?}");
    }
}

/// Behind TLS every cookie is a `__Host-` cookie (Secure, Path=/, no Domain), and a cookie
/// without the prefix — which a sibling subdomain or a plain-HTTP page could plant — is not
/// read at all.
#[tokio::test]
async fn cookies_behind_tls_are_host_cookies() {
    for backend in backends() {
        let t = TestApp::start_with(backend, |c| c.server.behind_tls_proxy = true).await;
        register_phone_direct(&t).await;
        let r = reqwest::Client::new()
            .get(t.url("/login"))
            .send()
            .await
            .unwrap();
        let set: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        assert!(!set.is_empty());
        for c in &set {
            assert!(c.starts_with("__Host-"), "{c}");
            assert!(
                c.contains("Secure") && c.contains("Path=/") && !c.contains("Domain"),
                "{c}"
            );
        }
        let token = session_token(&t, "asha.tls").await;
        let account_with = |cookie: String| {
            let t = &t;
            async move {
                let r = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap()
                    .get(t.url("/account"))
                    .header("cookie", cookie)
                    .send()
                    .await
                    .unwrap();
                r.status().as_u16()
            }
        };
        assert_eq!(
            account_with(format!("__Host-ekdwar_session={token}")).await,
            200
        );
        assert_eq!(account_with(format!("ekdwar_session={token}")).await, 303);
    }
}

/// An account made directly (the registration pages need secure cookies behind TLS).
async fn register_phone_direct(t: &TestApp) {
    t.app
        .identity
        .admin_add_user(ekdwar_app::identity::NewUserInput {
            portal_id: "asha.tls".into(),
            first_name: "Asha".into(),
            last_name: "Kumari".into(),
            phone: Some("98123 00901".into()),
            email: None,
            password: Password::new(PASSWORD),
            role: ekdwar_domain::Role::Citizen,
            language: None,
        })
        .await
        .unwrap();
}

/// Passwords are hashed in NFKC form now. An account whose hash was made from the password as
/// typed (before normalisation) still logs in with it, and that login replaces the hash with
/// one of the NFKC form, so from then on every way of typing the password works.
#[tokio::test]
async fn a_login_replaces_a_hash_of_the_password_as_typed() {
    for backend in backends() {
        use argon2::PasswordHasher;
        let t = TestApp::start(backend).await;
        let portal_id = register_phone(&t, "98123 01001", "Asha").await;
        // "café" with a combining accent, which NFKC composes into one letter.
        let typed = "cafe\u{301} lantern harbour 7";
        let composed = "caf\u{e9} lantern harbour 7";
        let old = argon2::Argon2::default()
            .hash_password(typed.as_bytes())
            .unwrap()
            .to_string();
        let user = t.account(&portal_id).await;
        let mut conn = t.app.store().conn().await.unwrap();
        ekdwar_store::identity::set_password_hash(&mut conn, &user.id, &old)
            .await
            .unwrap();
        drop(conn);
        let login =
            |pw: &'static str| guess(t.app.clone(), portal_id.clone(), pw, "10.9.0.1".into());
        // Only the form as typed matches the old hash.
        assert!(
            login(composed).await.is_err(),
            "{backend}: the old hash knows one form"
        );
        assert!(
            login(typed).await.is_ok(),
            "{backend}: the old password still works"
        );
        let now = ekdwar_store::identity::by_id(&mut t.app.store().read().await.unwrap(), &user.id)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(
            now.password_hash.as_deref(),
            Some(old.as_str()),
            "{backend}: rehashed"
        );
        assert_eq!(
            t.app
                .hashing()
                .check(&Password::new(composed), now.password_hash.as_deref())
                .await,
            ekdwar_app::security::Check::Right,
            "{backend}: the new hash is of the NFKC form"
        );
        assert!(
            login(composed).await.is_ok(),
            "{backend}: every form works now"
        );
        assert!(login(typed).await.is_ok(), "{backend}");
    }
}

/// Everything the database holds: SQLite's files as they are on disk; on PostgreSQL, every
/// row of every table as JSON.
pub async fn database_contents(t: &TestApp, backend: &str) -> Vec<u8> {
    let mut files = Vec::new();
    if backend == "postgres" {
        let mut conn = t.app.store().conn().await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema()",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for table in tables {
            let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT CAST(row_to_json(t) AS TEXT) FROM {table} t"
            )))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
            for r in rows {
                files.extend(r.into_bytes());
            }
        }
    } else {
        for entry in std::fs::read_dir(&t.app.config().server.data_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.to_string_lossy().contains(".db") {
                files.extend(std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// Held in the review, now under test: the database keeps no secret in a usable form. After a
/// registration, a login and an app's sign-in, none of the password, the session token, the
/// one-time code, the app's secret or its tokens appear anywhere in the database's files.
#[tokio::test]
async fn the_database_holds_no_usable_secret() {
    for backend in backends() {
        use crate::sso::{browser as sso_browser, follow, login_and_allow};
        let t = TestApp::start(backend).await;
        register_phone(&t, "98123 01101", "Asha").await;
        let code = t.last_code("+919812301101").await;
        let c = t
            .app
            .sso
            .add_client(ekdwar_app::sso::ClientInput {
                name: "e-Mitra".into(),
                redirect_uris: vec!["http://localhost:9/a/cb".into()],
                ..Default::default()
            })
            .await
            .unwrap();
        let secret = c.secret.clone().unwrap();
        let br = sso_browser();
        let authorize = t.url(&format!(
            "/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A9%2Fa%2Fcb&scope=openid%20offline_access&state=s&nonce=n",
            c.app.client_id
        ));
        let to_app = login_and_allow(&t, &br, authorize, "9812301101").await;
        let auth_code = url::Url::parse(&to_app)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let tokens: serde_json::Value = reqwest::Client::new()
            .post(t.url("/oauth/token"))
            .basic_auth(&c.app.client_id, Some(&secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", auth_code.as_str()),
                ("redirect_uri", "http://localhost:9/a/cb"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = session_token(&t, "9812301101").await;
        let _ = follow(&t, &br, t.url("/account")).await;
        let files = database_contents(&t, backend).await;
        assert!(
            !files.is_empty(),
            "{backend}: the database's contents were read"
        );
        let mut secrets = vec![
            ("password", PASSWORD.to_string()),
            ("client secret", secret),
            ("authorization code", auth_code),
            (
                "access token",
                tokens["access_token"].as_str().unwrap().to_string(),
            ),
            (
                "refresh token",
                tokens["refresh_token"].as_str().unwrap().to_string(),
            ),
        ];
        secrets.push(("session token", session));
        for (what, value) in secrets {
            assert!(
                !files.windows(value.len()).any(|w| w == value.as_bytes()),
                "the {what} is stored as it is"
            );
        }
        // The one-time code is only in the outbox (the message itself), never in verifications.
        let mut conn = t.app.store().conn().await.unwrap();
        let stored: Vec<String> = sqlx::query_scalar("SELECT secret_hash FROM verifications")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert!(
            stored.iter().all(|h| h != &code && h.len() >= 43),
            "{stored:?}"
        );
    }
}
