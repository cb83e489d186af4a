//! Delivery through real gateways: an SMTP server process and an HTTP SMS gateway.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use axum::{Json, Router};

use crate::support::{TestApp, backends};

async fn wait_for(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn sms_goes_through_the_http_gateway() {
    for backend in backends() {
        let received: Arc<Mutex<Vec<(String, serde_json::Value)>>> = Arc::default();
        let sink = received.clone();
        let gateway = Router::new().route(
            "/send",
            post(
                move |headers: axum::http::HeaderMap, Json(body): Json<serde_json::Value>| {
                    let sink = sink.clone();
                    async move {
                        let auth = headers
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        sink.lock().unwrap().push((auth, body));
                        "accepted"
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/send", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, gateway).await });
        let t = TestApp::start_with(backend, |c| {
            c.sms.http_url = Some(url);
            c.sms.http_token = Some(ekdwar_app::config::Secret::new("gw-token"));
        })
        .await;
        let form = t.get("/register").await;
        t.post(
            &form,
            "/register",
            &[
                ("contact", "9812300010"),
                ("first_name", "Uma"),
                ("last_name", "Sen"),
                ("consent", "yes"),
            ],
        )
        .await;
        assert!(
            wait_for(|| !received.lock().unwrap().is_empty()).await,
            "gateway received nothing"
        );
        let (auth, body) = received.lock().unwrap()[0].clone();
        assert_eq!(auth, "Bearer gw-token");
        assert_eq!(body["to"], "+919812300010");
        assert!(body["text"].as_str().unwrap().contains("code"));
        let mut status = String::new();
        for _ in 0..50 {
            status = t.app.notify.outbox(Some("+919812300010"), 1).await.unwrap()[0]
                .status
                .as_str()
                .to_string();
            if status == "sent" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, "sent", "{backend}: the message is marked sent");
    }
}

/// Starts Python's SMTP server (aiosmtpd, which `./test` installs into `interop/.py`, else the
/// standard library's smtpd), which prints every message it receives.
fn smtp_server(port: u16) -> std::process::Child {
    let script = format!(
        r#"
import sys
try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Debugging
    import time
    c = Controller(Debugging(sys.stdout), hostname="127.0.0.1", port={port})
    c.start()
    print("ready", flush=True)
    while True:
        time.sleep(1)
except ImportError:
    import smtpd, asyncore
    class S(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kw):
            print("MAIL", rcpttos, data.decode() if isinstance(data, bytes) else data, flush=True)
    S(("127.0.0.1", {port}), None)
    print("ready", flush=True)
    asyncore.loop()
"#
    );
    std::process::Command::new("python3")
        .args(["-u", "-W", "ignore", "-c", &script])
        .env(
            "PYTHONPATH",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/.py"),
        )
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs the test SMTP server")
}

#[tokio::test]
async fn email_goes_through_a_real_smtp_server() {
    for backend in backends() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = smtp_server(port);
        let stdout = child.stdout.take().unwrap();
        let lines: Arc<Mutex<String>> = Arc::default();
        let sink = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push_str(&line);
                sink.lock().unwrap().push('\n');
            }
        });
        assert!(
            wait_for(|| lines.lock().unwrap().contains("ready")).await,
            "SMTP server did not start"
        );
        let t = TestApp::start_with(backend, |c| {
            c.smtp.host = Some("127.0.0.1".into());
            c.smtp.port = port;
            c.smtp.security = ekdwar_app::config::SmtpSecurity::None;
        })
        .await;
        let form = t.get("/register").await;
        t.post(
            &form,
            "/register",
            &[
                ("contact", "meera@example.org"),
                ("first_name", "Meera"),
                ("last_name", "Bai"),
                ("consent", "yes"),
            ],
        )
        .await;
        let ok = wait_for(|| lines.lock().unwrap().contains("/register/confirm?flow=")).await;
        let _ = child.kill();
        let _ = child.wait();
        assert!(ok, "no mail arrived: {}", lines.lock().unwrap());
        assert!(lines.lock().unwrap().contains("meera@example.org"));
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_back_off() {
    for backend in backends() {
        let calls: Arc<Mutex<u32>> = Arc::default();
        let counter = calls.clone();
        let gateway = Router::new().route(
            "/send",
            post(move || {
                let counter = counter.clone();
                async move {
                    let mut n = counter.lock().unwrap();
                    *n += 1;
                    if *n == 1 {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/send", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, gateway).await });
        let t = TestApp::start_with(backend, |c| c.sms.http_url = Some(url)).await;
        let form = t.get("/register").await;
        t.post(
            &form,
            "/register",
            &[
                ("contact", "9812300011"),
                ("first_name", "Uma"),
                ("last_name", "Sen"),
                ("consent", "yes"),
            ],
        )
        .await;
        let status =
            || async { t.app.notify.outbox(Some("+919812300011"), 1).await.unwrap()[0].clone() };
        assert!(wait_for(|| *calls.lock().unwrap() == 1).await);
        for _ in 0..50 {
            if status().await.attempts == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let m = status().await;
        assert_eq!(
            (m.status.as_str(), m.last_error.is_some()),
            ("pending", true),
            "{m:?}"
        );
        // Not retried before its time, retried after.
        t.app.jobs.run_due_jobs().await.unwrap();
        assert_eq!(*calls.lock().unwrap(), 1);
        t.advance(Duration::from_secs(61));
        // This pass or the server's own runner (whichever leases the job first) retries it.
        t.app.jobs.run_due_jobs().await.unwrap();
        assert!(
            wait_for(|| *calls.lock().unwrap() == 2).await,
            "{backend}: retried"
        );
        for _ in 0..50 {
            if status().await.status.as_str() == "sent" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(status().await.status.as_str(), "sent");
    }
}

/// Three workers on one database — what `ekdwar serve` and `ekdwar worker` processes are on
/// PostgreSQL — never run the same job twice: thirty messages reach the gateway thirty times.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_workers_never_run_a_job_twice() {
    use ekdwar_app::notify::Outgoing;
    for backend in crate::support::backends() {
        let calls: Arc<Mutex<u32>> = Arc::default();
        let counter = calls.clone();
        let gateway = Router::new().route(
            "/send",
            post(move || {
                let counter = counter.clone();
                async move {
                    // A slow gateway widens the window in which a second worker could take
                    // the same job.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    *counter.lock().unwrap() += 1;
                    "accepted"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/send", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, gateway).await });
        let t = TestApp::start_with(backend, |c| {
            c.sms.http_url = Some(url);
            c.server.run_worker = false;
        })
        .await;
        let to =
            ekdwar_domain::Contact::parse("98123 40001", &ekdwar_domain::Regions::india()).unwrap();
        let lang = ekdwar_app::i18n::Lang::english();
        t.app
            .notify
            .enqueue_all(
                (0..30)
                    .map(|i| Outgoing {
                        kind: "password-changed",
                        to: &to,
                        lang: &lang,
                        args: vec![("portal_id", format!("worker.{i}"))],
                    })
                    .collect(),
            )
            .await
            .unwrap();
        let mut workers = Vec::new();
        for _ in 0..3 {
            let app = ekdwar_app::App::build((*t.app.config()).clone(), Default::default())
                .await
                .unwrap();
            workers.push(tokio::spawn(app.jobs.clone().run_jobs()));
        }
        let mut sent = 0;
        for _ in 0..200 {
            let all = t
                .app
                .notify
                .outbox(Some("+919812340001"), 100)
                .await
                .unwrap();
            sent = all.iter().filter(|m| m.status.as_str() == "sent").count();
            if sent == 30 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for w in workers {
            w.abort();
        }
        assert_eq!(sent, 30, "{backend}: all delivered");
        assert_eq!(*calls.lock().unwrap(), 30, "{backend}: each exactly once");
    }
}
