//! The booking race: 2,000 bookers at once for the 100 places of one released slot, on SQLite
//! and on PostgreSQL, 200 in flight at a time. Each booker holds the earliest place on or after tomorrow (one
//! conditional update claims it) and confirms it with the challenge. Printed: bookings made,
//! overbookings (places taken beyond capacity, and bookings beyond it: both must be 0) and
//! bookings per second over the race. The bookers and their applications are written in bulk.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use ekdwar_app::App;
use ekdwar_app::audit::Actor;
use ekdwar_app::catalog::Bundle;
use ekdwar_domain::appointments::CentreFile;

const BOOKERS: usize = 2000;
const PLACES: i64 = 100;
/// Bookers inside the portal at once (more than the places: they race for them).
const IN_FLIGHT: usize = 200;

const CENTRE: &str = r#"
[[centres]]
code = "race"
kind = "passport_seva_kendra"
name = { en = "Race centre" }
address = { en = "Bench" }
latitude = 26.9
longitude = 75.8
region = "IN-RJ"
time_zone = "Asia/Kolkata"
services = ["passport-fresh"]
hours = [{ days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], open = "10:00", close = "10:30" }]
counters = 10
slot_minutes = 30
quotas = { normal = 100 }
book_ahead_days = 1
release_at = "00:00"
"#;

async fn race(database_url: Option<&str>) -> Result<(i64, i64, i64, f64)> {
    let dir = super::temp_dir("booking");
    let mut config = ekdwar_app::config::Config::default();
    config.server.data_dir = dir;
    config.server.database_url = database_url.map(str::to_string);
    // The challenge is solved by each booker as a browser's script would; a low cost keeps the
    // race about the database.
    config.security.pow_difficulty = 4;
    config.server.run_worker = false;
    let app = App::build(config, ekdwar_app::Deps::default()).await?;
    let files = Bundle::read_dir(std::path::Path::new("services")).context("services/")?;
    let bundle = app
        .catalog
        .check(&files)
        .map_err(|p| anyhow::anyhow!("{}", p[0]))?;
    app.catalog.import(&bundle, &Actor::command_line()).await?;
    let file: CentreFile = toml::from_str(CENTRE)?;
    let centres = app
        .appointments
        .check(&file)
        .map_err(|p| anyhow::anyhow!("{}", p.join("; ")))?;
    app.appointments
        .import(centres, &Actor::command_line())
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let bookers = app
        .seed_applicants("racer", BOOKERS, "passport-fresh", r#"{"scheme":"normal"}"#)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let tomorrow = app.applications.today().tomorrow()?;
    let bookers = Arc::new(bookers);
    // All 2,000 start at once; as many are inside the portal at a time as a server has
    // requests in flight (a web server bounds them; unbounded, they would only queue for the
    // database's connections).
    let gate = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let start = Instant::now();
    let tasks: Vec<_> = (0..BOOKERS)
        .map(|i| {
            let app = app.clone();
            let bookers = bookers.clone();
            let gate = gate.clone();
            tokio::spawn(async move {
                let permit = gate.acquire_owned().await;
                let (account, id) = &bookers[i];
                let actor = Actor::command_line();
                let held = match app
                    .appointments
                    .hold(account, id, "race", tomorrow, &actor)
                    .await
                {
                    Ok(h) => h,
                    Err(e) => {
                        // "No place left" is the race lost; anything else is a fault to see.
                        if !matches!(&e, ekdwar_app::error::AppError::Form(_)) {
                            eprintln!("hold {i}: {}", e.chain());
                        }
                        return false;
                    }
                };
                let c = app.appointments.new_challenge();
                let answer = ekdwar_app::captcha::ChallengeAnswer {
                    pow: ekdwar_app::captcha::solve_pow(&c.nonce, c.difficulty),
                    token: c.token,
                    text: String::new(),
                };
                let r = app
                    .appointments
                    .confirm(
                        account,
                        &held.id,
                        &answer,
                        None,
                        &ekdwar_app::i18n::Lang::english(),
                        &actor,
                    )
                    .await;
                if let Err(e) = &r {
                    eprintln!("confirm {i}: {}", e.chain());
                }
                drop(permit);
                matches!(r, Ok(ekdwar_app::appointments::Confirmed::Booked(_)))
            })
        })
        .collect();
    let mut booked = 0;
    for t in tasks {
        booked += i64::from(t.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    // What the database holds afterwards.
    let mut taken = 0;
    let mut capacity = 0;
    let day = tomorrow.to_string();
    for b in bookers.iter() {
        for a in app
            .appointments
            .of_application(&b.0.id, &b.1)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
        {
            if a.is_booked() && a.day.to_string() == day {
                taken += 1;
            }
        }
    }
    capacity += PLACES;
    let overbooked = (taken - capacity).max(0) + (booked - capacity).max(0);
    Ok((booked, overbooked, capacity, booked as f64 / elapsed))
}

pub async fn figures() -> Result<()> {
    let mut backends: Vec<(&str, Option<String>)> = vec![("SQLite", None)];
    if let Some(url) = ekdwar_store::testing::server() {
        backends.push(("PostgreSQL", Some(url)));
    }
    println!("Booking race: {BOOKERS} bookers at once for {PLACES} places");
    for (name, url) in backends {
        let fresh = match &url {
            Some(server) => Some(ekdwar_store::testing::create(server).await),
            None => None,
        };
        let _drop = fresh
            .as_deref()
            .and_then(ekdwar_store::testing::TestDatabase::adopt);
        let (booked, overbooked, places, per_second) = race(fresh.as_deref()).await?;
        println!(
            "  {name:<10} bookings made {booked} of {places} places, overbookings {overbooked} (must be 0), {per_second:.0} bookings/s"
        );
    }
    println!();
    Ok(())
}
