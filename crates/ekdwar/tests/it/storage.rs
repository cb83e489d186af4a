//! The locker on an S3-compatible bucket: moto's S3 server (a test double of AWS S3, from
//! PyPI, which `./test` installs into `interop/.py`) on the loopback address. A file larger
//! than one multipart part goes up sealed, streams back whole, and is removed with its
//! document.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ekdwar_app::config::{S3Config, Secret};

use crate::accounts::PASSWORD;
use crate::locker::{pdf, upload};
use crate::support::{TestApp, backends, free_port};

/// moto's server on `port`, stopped when dropped.
struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn moto() -> (Moto, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let child = Command::new("python3")
        .args(["-W", "ignore", "-m", "moto.server", "-H", "127.0.0.1", "-p"])
        .arg(port.to_string())
        .env(
            "PYTHONPATH",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/.py"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs moto's S3 server");
    let server = Moto(child);
    let url = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let http = reqwest::Client::new();
    loop {
        if http.get(&url).send().await.is_ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "moto's S3 server did not start: run ./test, which installs interop/requirements.txt"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, url)
}

#[tokio::test]
async fn documents_go_sealed_to_an_s3_bucket_and_come_back() {
    let (_moto, endpoint) = moto().await;
    let http = reqwest::Client::new();
    for backend in backends() {
        let bucket = format!("locker-{backend}");
        // moto takes unsigned requests: the bucket is made, and read, as its operator would.
        let made = http
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap();
        assert!(made.status().is_success(), "{}", made.status());
        let s3 = S3Config {
            bucket: bucket.clone(),
            region: "us-east-1".into(),
            endpoint: Some(endpoint.clone()),
            access_key_id: "test".into(),
            secret_access_key: Secret::new("test"),
            allow_http: true,
        };
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_config(move |c| c.locker.s3 = Some(s3))
            .start()
            .await;
        let asha = t.logged_in("asha.k").await;
        // More than one 5 MiB part.
        let file = pdf(7 * 1024 * 1024 + 123);
        let done = upload(&t, &asha, "Survey map", "", "map.pdf", file.clone()).await;
        assert_eq!(done.status, 200, "{backend}: {}", done.text());
        let id = done.path().rsplit('/').next().unwrap().to_string();
        assert!(
            t.app
                .config()
                .server
                .data_dir
                .join("locker/d")
                .read_dir()
                .is_err(),
            "nothing on the local disk"
        );

        let raw = http
            .get(format!("{endpoint}/{bucket}/d/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), 200, "the object is in the bucket");
        let raw = raw.bytes().await.unwrap();
        assert!(raw.len() > file.len(), "sealed chunks carry their tags");
        assert!(
            !raw.windows(14).any(|w| w == b"rent agreement"),
            "sealed before it left the portal"
        );

        let back = asha
            .get(t.url(&format!("/locker/{id}/file")))
            .send()
            .await
            .unwrap();
        assert_eq!(back.status(), 200);
        assert_eq!(back.bytes().await.unwrap().as_ref(), &file[..], "{backend}");

        let page = t.get_as(&asha, &format!("/locker/{id}")).await;
        let gone = t
            .post_with(&asha, &page, &format!("/locker/{id}/delete"), &[])
            .await;
        assert!(gone.has("The document was removed"), "{}", gone.text());
        let after = http
            .get(format!("{endpoint}/{bucket}/d/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(after.status(), 404, "{backend}: removed from the bucket");
    }
}
