//! State changes under real concurrency, on every configured database: each is one
//! conditional write (or a compare-and-swap), so of many racing requests exactly the allowed
//! number win. (Counters, codes, tokens and sends have theirs in `security` and `sso`.)

use std::time::Duration;

use ekdwar_app::audit::Actor;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::Purpose;
use ekdwar_domain::password::Password;

use crate::support::{TestApp, at_once, backends, registration, solved};

fn actor() -> Actor {
    Actor {
        ip: Some("10.9.0.1".into()),
        ..Actor::default()
    }
}

/// A registration by phone, started; returns its flow.
async fn started_registration(t: &TestApp, phone: &str) -> String {
    t.app
        .identity
        .start_registration(registration(t, phone), &actor())
        .await
        .unwrap()
}

/// Ten resends of one code at once, after the cool-down: one new code is sent, the others
/// are told to wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_resends_send_one_code() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let flow = started_registration(&t, "98123 00401").await;
        let before = t.messages_to("+919812300401").await;
        t.advance(Duration::from_secs(61));
        let results = at_once(10, |_| {
            let (app, flow) = (t.app.clone(), flow.clone());
            async move {
                app.identity
                    .resend(
                        &flow,
                        Purpose::Register,
                        &ekdwar_app::i18n::Lang::english(),
                        &actor(),
                    )
                    .await
            }
        })
        .await;
        let sent = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(sent, 1, "{backend}: {results:?}");
        assert!(
            results
                .iter()
                .all(|r| r.is_ok() || matches!(r, Err(AppError::ResendTooSoon { .. }))),
            "{backend}: the others wait for the cool-down: {results:?}"
        );
        assert_eq!(
            t.messages_to("+919812300401").await,
            before + 1,
            "{backend}: one new message"
        );
    }
}

/// Ten completions of one verified registration at once make one account; the others find
/// the step used up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_completions_make_one_account() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        let flow = started_registration(&t, "98123 00402").await;
        let code = t.last_code("+919812300402").await;
        t.app
            .identity
            .verify_code(&flow, Purpose::Register, &code)
            .await
            .unwrap();
        let accounts = t
            .app
            .identity
            .admin_list_users(1000, 0)
            .await
            .unwrap()
            .len();
        let results = at_once(10, |i| {
            let (app, flow) = (t.app.clone(), flow.clone());
            async move {
                let password = "lantern harbor 42 quietly";
                app.identity
                    .complete_registration(
                        &flow,
                        &format!("asha.race{i}"),
                        Password::new(password),
                        Password::new(password),
                        &actor(),
                    )
                    .await
            }
        })
        .await;
        let made = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(made, 1, "{backend}: {results:?}");
        assert_eq!(
            t.app
                .identity
                .admin_list_users(1000, 0)
                .await
                .unwrap()
                .len(),
            accounts + 1,
            "{backend}: one account"
        );
    }
}

/// Ending one session from ten requests at once ends it once: one audit entry, the others
/// find nothing to end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_session_ends_end_it_once() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("ravi.race", "lantern harbor 42 quietly")
            .start()
            .await;
        let login = |ip: &'static str| {
            let (app, challenge) = (t.app.clone(), solved(&t));
            async move {
                app.identity
                    .login(
                        ekdwar_app::identity::LoginInput {
                            identifier: "ravi.race".into(),
                            password: Password::new("lantern harbor 42 quietly"),
                            challenge: Some(challenge),
                        },
                        &Actor {
                            ip: Some(ip.into()),
                            ..Actor::default()
                        },
                    )
                    .await
                    .unwrap()
            }
        };
        let first = login("10.9.1.1").await;
        let second = login("10.9.1.2").await;
        let token = |a: &ekdwar_app::identity::Authenticated| match a {
            ekdwar_app::identity::Authenticated::Session(s) => s.token.clone(),
            ekdwar_app::identity::Authenticated::SecondStep(_) => panic!("no second step"),
        };
        let cur = t
            .app
            .identity
            .authenticate(&token(&first))
            .await
            .unwrap()
            .unwrap();
        let other = t
            .app
            .identity
            .authenticate(&token(&second))
            .await
            .unwrap()
            .unwrap();
        let target = other.session_id().to_string();
        let results = at_once(10, |_| {
            let (app, cur, target) = (t.app.clone(), cur.clone(), target.clone());
            async move {
                app.identity
                    .revoke_session(&cur, &target, &Actor::default())
                    .await
            }
        })
        .await;
        let ended = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ended, 1, "{backend}: {results:?}");
        assert!(
            t.app
                .identity
                .authenticate(&token(&second))
                .await
                .unwrap()
                .is_none(),
            "{backend}: the session ended"
        );
    }
}

/// A parent submits two drafts for the same child at the same moment (two tabs, a double
/// tap): one is enrolled, the other is refused as the same child's, on both databases.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_submissions_for_one_child_enrol_it_once() {
    use ekdwar_domain::catalog::answers::Typed;
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("anna.i", crate::accounts::PASSWORD)
            .start()
            .await;
        crate::catalog::import_demo(&t).await;
        let anna = t.account("anna.i").await;
        let lang = ekdwar_app::i18n::Lang::parse("ru").unwrap();
        let today = t.app.applications.today();
        let mut drafts = Vec::new();
        for _ in 0..4 {
            let id = t
                .app
                .applications
                .start(&anna, "mos-kindergarten", &actor())
                .await
                .unwrap()
                .expect("a new draft");
            for (page, answers) in [
                (
                    "child",
                    vec![
                        ("child_name", Typed::One("Маша Иванова".into())),
                        ("child_birth_date", Typed::One("2023-03-01".into())),
                    ],
                ),
                (
                    "choices",
                    vec![
                        ("kindergartens", Typed::Many(vec!["ds-101".into()])),
                        ("start_date", Typed::One(today.to_string())),
                    ],
                ),
            ] {
                let answers = answers
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                t.app
                    .applications
                    .save_page(&anna.id, &id, page, &answers, &lang)
                    .await
                    .unwrap();
            }
            drafts.push(id);
        }
        let app = t.app.clone();
        let results = at_once(drafts.len(), |i| {
            let (app, anna, lang, id) =
                (app.clone(), anna.clone(), lang.clone(), drafts[i].clone());
            async move {
                app.applications
                    .submit(&anna, &id, true, &lang, &actor())
                    .await
            }
        })
        .await;
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{backend}: {results:?}"
        );
        for r in results.iter().filter(|r| r.is_err()) {
            assert!(
                matches!(r, Err(AppError::Form(f)) if f[0].code == "application-subject-open"),
                "{backend}: {r:?}"
            );
        }
    }
}

/// Guesses at one file number's date of birth sent all at once are each counted: four wrong
/// ones at the same moment lock the number exactly as four in a row do, so that even the
/// right date is refused next (a lost count would let it through).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_tracking_guesses_are_each_counted() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", crate::accounts::PASSWORD)
            .start()
            .await;
        crate::catalog::import_demo(&t).await;
        let (_, arn) = crate::applications::submitted_pcc(&t, "asha.k").await;
        let app = t.app.clone();
        let tries: Vec<_> = (0..4).map(|_| solved(&t)).collect();
        let results = at_once(4, |i| {
            let (app, arn, challenge) = (app.clone(), arn.to_string(), tries[i].clone());
            async move {
                let who = Actor {
                    ip: Some(format!("10.9.1.{i}")),
                    ..Actor::default()
                };
                app.applications
                    .track("", &arn, &format!("1990-02-0{}", i + 1), &challenge, &who)
                    .await
            }
        })
        .await;
        assert!(results.iter().all(|r| r.is_err()), "{backend}: {results:?}");
        let right = t
            .app
            .applications
            .track("", arn.as_str(), "1990-01-26", &solved(&t), &actor())
            .await;
        assert!(
            matches!(right, Err(AppError::Throttled { .. })),
            "{backend}: {right:?}"
        );
    }
}
