//! The locker: uploads and downloads through the real pages of `ekdwar serve` (SQLite, local
//! files), against copying the same files on the same disk, and the server's memory while a
//! 10 MiB file streams in and out. Printed: files and bytes per second each way, their ratio
//! to the raw copy, and the peak growth of the server's resident memory during one 10 MiB
//! upload and one download (a server that buffered the file would grow by its size or more).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use ekdwar_testkit::field;

use crate::{
    PASSWORD, Proc, cli, ekdwar_bin, free_port, portal, rss_kib, secs, temp_dir, wait_ready,
};

const MIB: usize = 1024 * 1024;

fn file(len: usize, seed: u8) -> Vec<u8> {
    let mut b = b"%PDF-1.7\n".to_vec();
    let mut x = u32::from(seed) | 1;
    while b.len() < len {
        // Incompressible, as scans are.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b.extend_from_slice(&x.to_le_bytes());
    }
    b.truncate(len);
    b
}

async fn serve(data: &Path) -> Result<(Proc, String)> {
    let port = free_port();
    let mut command = Command::new(ekdwar_bin());
    command.args(["serve", "--listen", &format!("127.0.0.1:{port}")]);
    portal(&mut command, data, None);
    let child = command
        .env("EKDWAR_LOG", "error")
        .env("EKDWAR_LOCKER__QUOTA_MB", "1000000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let proc = Proc(child);
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/healthz"), Duration::from_secs(30)).await?;
    Ok((proc, base))
}

/// A logged-in browser and the CSRF token of its locker page.
async fn logged_in(base: &str) -> Result<(reqwest::Client, String)> {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = c.get(format!("{base}/login")).send().await?.text().await?;
    let r = c
        .post(format!("{base}/login"))
        .form(&[
            ("identifier", "bench.locker"),
            ("password", PASSWORD),
            ("csrf", &field(&login, "csrf").context("login csrf")?),
        ])
        .send()
        .await?;
    if !r.status().is_redirection() {
        bail!("login failed: {}", r.status());
    }
    let page = c.get(format!("{base}/locker")).send().await?.text().await?;
    Ok((c, field(&page, "csrf").context("locker csrf")?))
}

/// Uploads `bytes`; the new document's id.
async fn upload(c: &reqwest::Client, base: &str, csrf: &str, bytes: Vec<u8>) -> Option<String> {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_string())
        .text("description", "Bench scan")
        .text("folder", "")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("scan.pdf"),
        );
    let r = c
        .post(format!("{base}/locker/upload"))
        .header("origin", base)
        .multipart(form)
        .send()
        .await
        .ok()?;
    let to = r.headers().get("location")?.to_str().ok()?;
    let id = to.strip_prefix("/locker/")?.split('?').next()?;
    Some(id.to_string())
}

async fn download(c: &reqwest::Client, base: &str, id: &str) -> Option<usize> {
    let r = c
        .get(format!("{base}/locker/{id}/file"))
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    Some(r.bytes().await.ok()?.len())
}

/// Files per second and bytes per second of `op` over the bench duration, `workers` at once.
async fn rate<F, Fut>(workers: usize, size: usize, op: F) -> (f64, f64)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let op = Arc::new(op);
    let deadline = Instant::now() + secs();
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (done, op) = (done.clone(), op.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while Instant::now() < deadline {
                    if op(w * 1_000_000 + i).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let n = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    (n, n * size as f64)
}

/// Files per second and bytes per second of copying `src` on the same disk, the baseline.
fn raw_copy(dir: &Path, bytes: &[u8]) -> Result<(f64, f64)> {
    let src = dir.join("raw-src");
    std::fs::write(&src, bytes)?;
    let deadline = Instant::now() + secs();
    let start = Instant::now();
    let mut n = 0u64;
    while Instant::now() < deadline {
        let dst = dir.join(format!("raw-{}", n % 64));
        // Into the page cache, as the portal's object store writes.
        std::fs::copy(&src, &dst)?;
        n += 1;
    }
    let per = n as f64 / start.elapsed().as_secs_f64();
    Ok((per, per * bytes.len() as f64))
}

/// The peak growth of `pid`'s resident memory, in KiB, while `work` runs.
async fn peak_growth<Fut: std::future::Future<Output = ()>>(pid: u32, work: Fut) -> u64 {
    let before = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    work.await;
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    peak.load(Ordering::Relaxed).saturating_sub(before)
}

pub async fn figures() -> Result<()> {
    let data = temp_dir("locker");
    cli(
        &data,
        None,
        &[
            "user",
            "add",
            "--portal-id",
            "bench.locker",
            "--first-name",
            "Lata",
            "--last-name",
            "Mehra",
            "--phone",
            "9812377777",
        ],
    )?;
    let (server, base) = serve(&data).await?;
    let pid = server.0.id();
    let (c, csrf) = logged_in(&base).await?;
    // Memory while one 10 MiB file streams each way, on a server that has not yet seen a
    // file (a warm allocator would hide a buffer).
    let big = file(10 * MIB, 9);
    let mut id = None;
    let up = peak_growth(pid, async {
        id = upload(&c, &base, &csrf, big.clone()).await;
    })
    .await;
    let id = id.context("the 10 MiB upload")?;
    let down = peak_growth(pid, async {
        let _ = download(&c, &base, &id).await;
    })
    .await;
    let memory = format!(
        "  server memory while a 10 MiB file streams: +{:.1} MiB in, +{:.1} MiB out (a buffered file would be +10 MiB or more)",
        up as f64 / 1024.0,
        down as f64 / 1024.0
    );
    let base = Arc::new(base);
    let csrf = Arc::new(csrf);
    let workers = 2;
    println!(
        "Locker: through the pages of `ekdwar serve` (SQLite, local files), {workers} at once"
    );
    println!(
        "  {:<26} {:>10} {:>10} {:>14}",
        "", "files/s", "MiB/s", "vs raw copy"
    );
    for size in [MIB, 10 * MIB] {
        let body = Arc::new(file(size, 7));
        let (raw_n, raw_b) = raw_copy(&data, &body)?;
        let (up_n, up_b) = {
            let (c, base, csrf, body) = (c.clone(), base.clone(), csrf.clone(), body.clone());
            rate(workers, size, move |_| {
                let (c, base, csrf, body) = (c.clone(), base.clone(), csrf.clone(), body.clone());
                async move { upload(&c, &base, &csrf, body.to_vec()).await.is_some() }
            })
            .await
        };
        let id = Arc::new(
            upload(&c, &base, &csrf, body.to_vec())
                .await
                .context("an upload for the downloads")?,
        );
        let (down_n, down_b) = {
            let (c, base, id) = (c.clone(), base.clone(), id.clone());
            rate(workers, size, move |_| {
                let (c, base, id) = (c.clone(), base.clone(), id.clone());
                async move { download(&c, &base, &id).await == Some(size) }
            })
            .await
        };
        let mb = |b: f64| b / MIB as f64;
        let label = format!("{} MiB", size / MIB);
        println!(
            "  {:<26} {raw_n:>10.1} {:>10.1} {:>14}",
            format!("raw copy, {label}"),
            mb(raw_b),
            "1.00×"
        );
        println!(
            "  {:<26} {up_n:>10.1} {:>10.1} {:>13.2}×",
            format!("upload, {label}"),
            mb(up_b),
            up_b / raw_b
        );
        println!(
            "  {:<26} {down_n:>10.1} {:>10.1} {:>13.2}×",
            format!("download, {label}"),
            mb(down_b),
            down_b / raw_b
        );
    }
    println!("{memory}");
    println!();
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
