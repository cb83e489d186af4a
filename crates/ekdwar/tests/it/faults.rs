//! Faults beneath the portal: the disk filling up under SQLite, and PostgreSQL becoming
//! unreachable. Each time the person is told, in their language, that nothing was lost and
//! to try again; readiness turns off while it lasts; and the portal recovers by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::accounts::PASSWORD;
use crate::support::{Page, TempDir, TestApp, backends, migrated_postgres, random_hex, within};

/// A client that reads the pages in Hindi.
fn hindi() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static("hi"),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn login(t: &TestApp, client: &reqwest::Client, form: &Page) -> Page {
    t.post_with(
        client,
        form,
        "/login",
        &[("identifier", "asha.k"), ("password", PASSWORD)],
    )
    .await
}

/// A 12 MB filesystem of its own (tmpfs), unmounted when dropped.
struct SmallDisk {
    dir: TempDir,
}

impl SmallDisk {
    fn mount() -> Self {
        let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-disk-{}", random_hex())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=12m,mode=0700", "tmpfs"])
            .arg(&dir.0)
            .status()
            .expect("mount runs (this test needs root)");
        assert!(ok.success(), "a small filesystem is mounted (needs root)");
        Self { dir }
    }

    /// Writes a file until the filesystem is full.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir.0)
            .status();
    }
}

/// With the SQLite folder on a full filesystem every writer got a generic 500 and `/readyz`
/// stayed 200. Now: 503 with the translated "nothing was lost, try again", readiness off
/// until a write succeeds, a metric; and once there is room, logins work again and the
/// database is intact.
#[tokio::test]
async fn disk_full_answers_503_and_readiness_turns_off_until_there_is_room() {
    let disk = SmallDisk::mount();
    let data = disk.dir.0.clone();
    let t = TestApp::builder("sqlite")
        .with_user("asha.k", PASSWORD)
        .with_config(move |c| c.server.data_dir = data)
        .start()
        .await;
    let client = hindi();
    let form = t.get_as(&client, "/login").await;
    assert_eq!(login(&t, &client, &form).await.status, 200);
    let filler = disk.fill();

    // Some writes may still fit in space SQLite already holds; soon one does not.
    let mut refused = None;
    for _ in 0..200 {
        let someone = hindi();
        let their_form = t.get_as(&someone, "/login").await;
        let page = login(&t, &someone, &their_form).await;
        match page.status {
            200 => continue,
            503 => {
                refused = Some(page);
                break;
            }
            status => panic!("{status} on a full disk: {}", page.text()),
        }
    }
    let page = refused.expect("a login on a full disk is refused");
    let text = page.text();
    assert!(
        text.contains("सहेजा भी नहीं गया") && text.contains("भंडारण भर गया"),
        "{text}"
    );
    assert!(!text.contains("Something went wrong"), "{text}");
    assert_eq!(t.get("/readyz").await.status, 503, "not ready while full");
    let metrics = t.get("/metrics").await.text();
    assert!(
        metrics.contains("ekdwar_database_unavailable_total{outcome=\"no-space\"}"),
        "{metrics}"
    );

    std::fs::remove_file(&filler).unwrap();
    within(
        Duration::from_secs(10),
        "ready once there is room",
        || async { t.get("/readyz").await.status == 200 },
    )
    .await;
    let form = t.get_as(&client, "/login").await;
    assert_eq!(login(&t, &client, &form).await.status, 200);
    let row = sqlx::query("PRAGMA integrity_check")
        .fetch_one(&mut *t.app.store().conn().await.unwrap())
        .await
        .unwrap();
    assert_eq!(sqlx::Row::get::<String, _>(&row, 0), "ok");
}

/// A TCP relay to PostgreSQL that can be cut: cut, it closes every relayed connection and
/// every new one, as a stopped server or a broken network does to the portal.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(tokio::sync::Notify::new());
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::Acquire) {
                    continue; // dropped: closed at once
                }
                let target = target.clone();
                let cut = cut2.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        () = cut.notified() => {}
                    }
                });
            }
        });
        Self { port, up, cut }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::Release);
        self.cut.notify_waiters();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::Release);
    }
}

/// With PostgreSQL down, requests waited 5–10 s for a connection. Now they are answered at
/// once with the translated 503 page, `/readyz` is not ready, and everything works again by
/// itself when the server is back. The wait is set to 30 s, so a request that waited for it
/// would be plain.
#[tokio::test]
async fn with_postgres_unreachable_requests_are_answered_at_once_and_recover() {
    if !backends().contains(&"postgres") {
        return;
    }
    let real = migrated_postgres().await;
    let mut url = reqwest::Url::parse(&real).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let relay = Relay::start(target).await;
    url.set_port(Some(relay.port)).unwrap();
    let _drop = ekdwar_store::testing::TestDatabase::adopt(&real);
    let t = TestApp::builder("sqlite")
        .with_config(move |c| {
            c.server.database_url = Some(url.to_string());
            c.server.database_wait_ms = 30_000;
        })
        .with_user("asha.k", PASSWORD)
        .start()
        .await;
    let client = hindi();
    let form = t.get_as(&client, "/login").await;
    assert_eq!(t.get("/readyz").await.status, 200);

    relay.cut();
    let start = Instant::now();
    for _ in 0..5 {
        let page = login(&t, &client, &form).await;
        assert_eq!(page.status, 503, "{}", page.text());
        assert!(page.text().contains("डेटाबेस तक नहीं पहुँच"), "{}", page.text());
        assert_eq!(t.get("/readyz").await.status, 503);
    }
    // Ten requests in far less than one wait for a connection.
    let took = start.elapsed();
    assert!(took < Duration::from_secs(15), "{took:?}: requests waited");

    relay.restore();
    within(
        Duration::from_secs(10),
        "ready once the server is back",
        || async { t.get("/readyz").await.status == 200 },
    )
    .await;
    assert_eq!(login(&t, &client, &form).await.status, 200);
}
