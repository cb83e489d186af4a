//! Applications at scale: an officer's queue and a citizen's "My applications" with 10,000
//! and with 1,000,000 applications in the database (p50 and p99 of each, and the ratio of
//! the large to the small, in the same run). The rows are written in bulk, not through the
//! HTTP API; one passport officer for Rajasthan reads the queue, and citizens with ten
//! applications each read theirs. A tenth as many again wait for a Moscow kindergarten (two
//! choices each): one child's places in the lists are read against the baseline of the same
//! places computed by reading every waiting application, as the portal did before the lists
//! were stored. `BENCH_QUICK=1` uses 1,000 and 10,000 (the CI's version).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ekdwar_app::App;
use ekdwar_app::applications::Assignment;
use ekdwar_app::audit::Actor;
use ekdwar_app::catalog::Bundle;
use ekdwar_domain::catalog::Arn;
use ekdwar_domain::{ApplicationId, PersonName, PortalId, Role, Timestamp, UserId};
use ekdwar_store::applications::Application;

/// What a citizen has: ten applications each.
const PER_CITIZEN: usize = 10;
const SAMPLES: usize = 200;
/// "My applications" is a fraction of a millisecond: more reads, so that its p99 is not two
/// samples of a shared machine's scheduler.
const MINE_SAMPLES: usize = 2_000;

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A service, its department and office, and the states its applications are found in (the
/// first ones are where officers act; most applications are decided long ago).
const MIX: &[(&str, &str, Option<&str>)] = &[
    ("passport-fresh", "mea", Some("rpo-jaipur")),
    ("passport-fresh", "mea", Some("rpo-kolkata")),
    ("police-clearance", "mea", Some("rpo-jaipur")),
    ("passport-fresh", "mea", Some("rpo-delhi")),
    ("rj-income-certificate", "rj-revenue", None),
];
const STATES: &[&str] = &[
    "submitted",
    "under-review",
    "police-verification",
    "approved",
    "approved",
    "approved",
    "approved",
    "approved",
    "approved",
    "rejected",
];

struct Seeded {
    app: App,
    officer: UserId,
    citizens: Vec<UserId>,
    /// A child in the middle of the waiting lists, and its parent.
    waiting: (UserId, ApplicationId),
}

/// How many children wait for a kindergarten, for `n` applications.
fn children(n: usize) -> usize {
    (n / 10).max(1)
}

async fn seed(n: usize, database_url: Option<&str>) -> Result<Seeded> {
    let dir = super::temp_dir("applications");
    let mut config = ekdwar_app::config::Config::default();
    config.server.data_dir = dir;
    config.server.database_url = database_url.map(str::to_string);
    let url = config.database_url();
    let app = App::build(config, ekdwar_app::Deps::default()).await?;
    let files = Bundle::read_dir(std::path::Path::new("services")).context("services/")?;
    let bundle = app
        .catalog
        .check(&files)
        .map_err(|p| anyhow::anyhow!("{}", p[0]))?;
    app.catalog
        .import(&bundle, &Actor::command_line())
        .await
        .context("importing the catalog")?;

    let now = Timestamp::from_millis(1_790_000_000_000);
    let user = |id: String, portal: String, role: Role| ekdwar_store::identity::User {
        role,
        ..ekdwar_store::identity::User::citizen(
            UserId::new(id),
            PortalId::parse(&portal).expect("a portal id"),
            PersonName::parse("Bench").expect("a name"),
            PersonName::parse("Citizen").expect("a name"),
            now,
        )
    };
    // The rows go in through the store's own bulk insert, on a connection of its own.
    let store = ekdwar_store::Store::connect(&url).await?;
    let officer = UserId::new("u-officer");
    let citizens: Vec<UserId> = (0..n.div_ceil(PER_CITIZEN))
        .map(|i| UserId::new(format!("u-{i}")))
        .collect();
    {
        let mut tx = store.begin().await?;
        ekdwar_store::identity::insert(
            &mut tx,
            &user("u-officer".into(), "bench.officer".into(), Role::Officer),
        )
        .await?;
        for (i, id) in citizens.iter().enumerate() {
            ekdwar_store::identity::insert(
                &mut tx,
                &user(id.as_str().into(), format!("bench.c{i}"), Role::Citizen),
            )
            .await?;
        }
        ekdwar_store::commit(tx).await?;
    }
    app.applications
        .assign(
            &officer,
            &Assignment {
                role: "passport-officer".into(),
                department: "mea".into(),
                region: Some("IN-RJ".into()),
                office: None,
            },
            &Actor::command_line(),
        )
        .await
        .context("assigning the officer")?;

    let mut batch = Vec::with_capacity(10_000);
    let mut tx = store.begin().await?;
    for i in 0..n {
        let (service, department, office) = MIX[i % MIX.len()];
        let state = STATES[(i / MIX.len()) % STATES.len()];
        let mut digits = format!("{i:011}").into_bytes().into_iter();
        let arn = Arn::generate(26, |_| u32::from(digits.next().unwrap_or(b'0') - b'0'));
        let at = Timestamp::from_millis(now.millis() + i as i64 * 1000);
        batch.push(Application {
            id: ApplicationId::new(format!("a-{i}")),
            arn: Some(arn.as_str().to_string()),
            user_id: citizens[i % citizens.len()].clone(),
            service: service.into(),
            version: 1,
            department: department.into(),
            office: office.map(str::to_string),
            state: state.into(),
            answers: r#"{"given_name":"Asha","surname":"Kumari"}"#.into(),
            birth_date: Some("1990-01-26".into()),
            created_at: at,
            updated_at: at,
            submitted_at: Some(at),
            reopened: "[]".into(),
            due_on: None,
            escalated_at: None,
            claimed_by: None,
        });
        if batch.len() == batch.capacity() {
            ekdwar_store::applications::insert_many(&mut tx, &batch).await?;
            batch.clear();
        }
    }
    ekdwar_store::applications::insert_many(&mut tx, &batch).await?;
    batch.clear();
    // Children on the kindergartens' lists, a minute apart, every fifth with a benefit.
    let kids = children(n);
    for i in 0..kids {
        let mut digits = format!("{:011}", n + i).into_bytes().into_iter();
        let arn = Arn::generate(26, |_| u32::from(digits.next().unwrap_or(b'0') - b'0'));
        let at = Timestamp::from_millis(now.millis() + i as i64 * 60_000);
        let benefit = if i % 5 == 0 {
            r#","benefit":"first-turn""#
        } else {
            ""
        };
        let (first, second) = if i % 2 == 0 {
            ("ds-101", "ds-205")
        } else {
            ("ds-205", "ds-101")
        };
        batch.push(Application {
            id: ApplicationId::new(format!("k-{i}")),
            arn: Some(arn.as_str().to_string()),
            user_id: citizens[i % citizens.len()].clone(),
            service: "mos-kindergarten".into(),
            version: 1,
            department: "mos-education".into(),
            office: None,
            state: "queued".into(),
            answers: format!(
                r#"{{"child_name":"Маша Иванова","child_birth_date":"2023-03-01","kindergartens":["{first}","{second}"],"start_date":"2026-09-01"{benefit}}}"#
            ),
            birth_date: Some("2023-03-01".into()),
            created_at: at,
            updated_at: at,
            submitted_at: Some(at),
            reopened: "[]".into(),
            due_on: None,
            escalated_at: None,
            claimed_by: None,
        });
        if batch.len() == batch.capacity() {
            ekdwar_store::applications::insert_many(&mut tx, &batch).await?;
            batch.clear();
        }
    }
    ekdwar_store::applications::insert_many(&mut tx, &batch).await?;
    ekdwar_store::commit(tx).await?;
    // What autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) does to a live database.
    store.maintain().await?;
    let mid = kids / 2;
    let waiting = (
        citizens[mid % citizens.len()].clone(),
        ApplicationId::new(format!("k-{mid}")),
    );
    // The lists are filled once, from the applications already waiting (as after an upgrade).
    let loaded = app.applications.get(&waiting.0, &waiting.1).await?;
    anyhow::ensure!(
        app.applications.places_of(&loaded).await?.len() == 2,
        "the child waits in two lists"
    );
    store.maintain().await?;
    Ok(Seeded {
        app,
        officer,
        citizens,
        waiting,
    })
}

/// p50 and p99 of one child's places from the stored lists, and of the same computed by
/// reading every waiting application (the baseline: how the portal did it before).
async fn measure_places(s: &Seeded) -> Result<((Duration, Duration), (Duration, Duration))> {
    let loaded = s.app.applications.get(&s.waiting.0, &s.waiting.1).await?;
    let mut stored = Vec::with_capacity(SAMPLES);
    let mut scanned = Vec::with_capacity(SAMPLES / 10);
    for i in 0..SAMPLES {
        let start = Instant::now();
        let places = s.app.applications.places_of(&loaded).await?;
        stored.push(start.elapsed());
        anyhow::ensure!(places.len() == 2, "two places");
        if i % 10 == 0 {
            let start = Instant::now();
            let rows = ekdwar_store::applications::in_states(
                &mut *s.app.store().read().await?,
                "mos-kindergarten",
                &["submitted", "queued"],
            )
            .await?;
            let mut ahead = 0usize;
            for row in &rows {
                let answers: serde_json::Value = serde_json::from_str(&row.answers)?;
                if answers["kindergartens"][0] == "ds-101" && row.submitted_at < loaded.submitted_at
                {
                    ahead += 1;
                }
            }
            std::hint::black_box(ahead);
            scanned.push(start.elapsed());
        }
    }
    stored.sort();
    scanned.sort();
    Ok((
        (percentile(&stored, 0.5), percentile(&stored, 0.99)),
        (percentile(&scanned, 0.5), percentile(&scanned, 0.99)),
    ))
}

/// p50 and p99 of the queue and of "My applications", and the queue's length.
async fn measure(s: &Seeded) -> Result<((Duration, Duration), (Duration, Duration), usize)> {
    // A few reads first (other citizens than the measured ones), so prepared statements and
    // the pools are ready, as in a running portal.
    for i in 0..20 {
        s.app.applications.queue(&s.officer).await?;
        let who = &s.citizens[(i * 104_729 + 1) % s.citizens.len()];
        s.app.applications.mine(who).await?;
    }
    let mut queue = Vec::with_capacity(SAMPLES);
    let mut shown = 0;
    for _ in 0..SAMPLES {
        let start = Instant::now();
        shown = s
            .app
            .applications
            .queue(&s.officer)
            .await
            .context("the queue")?
            .len();
        queue.push(start.elapsed());
    }
    let mut mine = Vec::with_capacity(MINE_SAMPLES);
    for i in 0..MINE_SAMPLES {
        let who = &s.citizens[(i * 7919) % s.citizens.len()];
        let start = Instant::now();
        let got = s
            .app
            .applications
            .mine(who)
            .await
            .context("my applications")?;
        mine.push(start.elapsed());
        anyhow::ensure!(!got.is_empty(), "a citizen without applications");
    }
    queue.sort();
    mine.sort();
    Ok((
        (percentile(&queue, 0.5), percentile(&queue, 0.99)),
        (percentile(&mine, 0.5), percentile(&mine, 0.99)),
        shown,
    ))
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Prints the figures on SQLite, and on PostgreSQL when `EKDWAR_TEST_DATABASE_URL` names a
/// server where the benchmark may create (and then drops) its databases.
pub async fn figures() -> Result<()> {
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
    let (small, large) = if quick {
        (1_000, 10_000)
    } else {
        (10_000, 1_000_000)
    };
    let mut backends: Vec<(&str, Option<String>)> = vec![("SQLite", None)];
    if let Some(url) = ekdwar_store::testing::server() {
        backends.push(("PostgreSQL", Some(url)));
    }
    for (name, url) in backends {
        println!(
            "Applications on {name}: {SAMPLES} reads of an officer's queue, {MINE_SAMPLES} of My \
             applications"
        );
        let mut rows = Vec::new();
        for n in [small, large] {
            // A new database for each size (PostgreSQL: on the server named; it is dropped at
            // the end).
            let fresh = match &url {
                Some(server) => Some(ekdwar_store::testing::create(server).await),
                None => None,
            };
            let _drop = fresh
                .as_deref()
                .and_then(ekdwar_store::testing::TestDatabase::adopt);
            let start = Instant::now();
            let seeded = seed(n, fresh.as_deref()).await?;
            let filled = start.elapsed();
            let figures = measure(&seeded).await?;
            let places = measure_places(&seeded).await?;
            println!(
                "  {n:>9} applications (written in {:.1} s): queue p50 {} p99 {} ({} shown), mine p50 {} p99 {}",
                filled.as_secs_f64(),
                ms(figures.0.0),
                ms(figures.0.1),
                figures.2,
                ms(figures.1.0),
                ms(figures.1.1)
            );
            let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64().max(1e-9);
            println!(
                "  {:>9} children waiting: places p50 {} p99 {}; reading every waiting application p50 {} p99 {} ({:.0}× the stored lists)",
                children(n),
                ms(places.0.0),
                ms(places.0.1),
                ms(places.1.0),
                ms(places.1.1),
                ratio(places.0.0, places.1.0)
            );
            rows.push((figures, places));
        }
        let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64().max(1e-9);
        println!(
            "  growth {small} → {large}: queue p99 {:.2}×, mine p99 {:.2}×, places p99 {:.2}× (target ≤ 1.5×)\n",
            ratio(rows[0].0.0.1, rows[1].0.0.1),
            ratio(rows[0].0.1.1, rows[1].0.1.1),
            ratio(rows[0].1.0.1, rows[1].1.0.1)
        );
    }
    Ok(())
}
