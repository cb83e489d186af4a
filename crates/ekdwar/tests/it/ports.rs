//! The ports to parties outside the process, driven through their in-process doubles: the
//! same use-cases as in production, with an SMS gateway, a mail server and an upstream
//! identity provider that live in the test. (The interop and delivery tests run the real
//! protocols against real processes.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use ekdwar_app::sso::ClientInput;
use ekdwar_app::testing::{Delivered, FakeGateway, FakeProvider};
use serde_json::json;

use crate::sso::{browser, follow};
use crate::support::{TestApp, backends};

/// Waits (polling, with a deadline) until the gateway holds a message satisfying `found`.
async fn delivered(gateway: &FakeGateway, found: impl Fn(&Delivered) -> bool) -> Delivered {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(d) = gateway.delivered().into_iter().find(&found) {
            return d;
        }
        assert!(Instant::now() < deadline, "nothing delivered in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn codes_leave_through_the_sms_port_and_a_refusal_is_retried() {
    for backend in backends() {
        let t = TestApp::builder(backend).with_fake_gateways().start().await;
        let gateway = t.gateway.clone().unwrap();
        gateway.refuse_next(1);
        let form = t.get("/register").await;
        let page = t
            .post(
                &form,
                "/register",
                &[
                    ("contact", "98123 40777"),
                    ("first_name", "Ravi"),
                    ("last_name", "Das"),
                    ("consent", "yes"),
                ],
            )
            .await;
        assert_eq!(page.path(), "/register/verify", "{backend}");
        // The first attempt is refused; the job is retried after its back-off.
        // Until the refusal is recorded (the gateway sees it a moment before the job does):
        // the retry is due a back-off after that record.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let jobs = t.app.jobs.jobs_of_kind("deliver-message").await.unwrap();
            if gateway.refused() > 0 && jobs.iter().any(|j| j.attempts == 1) {
                break;
            }
            assert!(Instant::now() < deadline, "{backend}: no attempt");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gateway.delivered().is_empty(), "{backend}");
        t.advance(Duration::from_secs(120));
        t.app.jobs.run_due_jobs().await.unwrap();
        let sms = delivered(&gateway, |d| d.to() == "+919812340777").await;
        assert!(matches!(sms, Delivered::Sms(_)), "{backend}");
        let code = sms
            .text()
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .expect("a code")
            .to_string();
        let page = t.post(&page, "/register/verify", &[("code", &code)]).await;
        assert_eq!(page.path(), "/register/password", "{backend}");
        assert_eq!(gateway.delivered().len(), 1, "{backend}: sent once");
    }
}

#[tokio::test]
async fn mail_leaves_through_the_mail_port() {
    for backend in backends() {
        let t = TestApp::builder(backend).with_fake_gateways().start().await;
        let gateway = t.gateway.clone().unwrap();
        let form = t.get("/register").await;
        t.post(
            &form,
            "/register",
            &[
                ("contact", "mira@example.in"),
                ("first_name", "Mira"),
                ("last_name", "Sen"),
                ("consent", "yes"),
            ],
        )
        .await;
        let mail = delivered(&gateway, |d| d.to() == "mira@example.in").await;
        let Delivered::Mail(mail) = mail else {
            panic!("{backend}: an e-mail");
        };
        assert!(!mail.subject.is_empty(), "{backend}");
        assert!(mail.body.contains("/register/"), "{backend}: {}", mail.body);
    }
}

#[tokio::test]
async fn an_upstream_login_through_the_in_process_provider() {
    for backend in backends() {
        let provider = Arc::new(FakeProvider::new(
            "https://id.example.test",
            "ekdwar",
            "upstream-secret-upstream-secret-upstream",
        ));
        let t = TestApp::builder(backend)
            .with_upstream(provider.clone())
            .with_user("existing.person", "lantern harbor 42 quietly")
            .with_client(ClientInput {
                name: "Land Records".into(),
                redirect_uris: vec!["https://land.example.test/cb".into()],
                ..ClientInput::default()
            })
            .start()
            .await;
        assert_eq!(t.clients.len(), 1, "{backend}");
        let b = browser();
        let r = b
            .get(t.url("/login/external/upstream"))
            .send()
            .await
            .unwrap();
        let authorize = r.headers()["location"].to_str().unwrap().to_string();
        let back = provider
            .log_in(
                &authorize,
                json!({ "sub": "u-17", "given_name": "Alice", "family_name": "Rao" }),
            )
            .unwrap();
        assert!(back.starts_with(&t.base), "{backend}: {back}");
        let (_, at, page) = follow(&t, &b, back.clone()).await;
        assert!(at.ends_with("/account"), "{backend}: {at} {page}");
        assert!(page.contains("Alice"), "{backend}");
        // A code is good once: the provider refuses it again, and the person is told.
        let (status, _, _) = follow(&t, &browser(), back).await;
        assert!((400..500).contains(&status), "{backend}: {status}");
        // The builder's own account is there too.
        assert!(
            t.app
                .identity
                .admin_find_user("existing.person")
                .await
                .unwrap()
                .is_some(),
            "{backend}"
        );
    }
}
