//! `ekdwar centre …` and `ekdwar pincode import`: service centres and where PIN codes are.

use std::path::PathBuf;

use clap::Subcommand;
use ekdwar_app::App;
use ekdwar_app::appointments::PincodeRow;
use ekdwar_app::audit::Actor;
use ekdwar_domain::appointments::{CentreFile, Pincode};

use crate::common::{Common, app, explain, print_json};

#[derive(Subcommand)]
pub(crate) enum CentreCmd {
    /// Import service centres from a TOML file (`[[centres]]`, see centres/demo.toml): each
    /// replaces the centre with its code; slots are made for the days being released.
    Import {
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Let a staff member (an account with the officer role) work at a centre: check
    /// citizens in, run the queue, record outcomes and payments there.
    Assign {
        /// Portal ID, phone or e-mail of the staff member.
        who: String,
        #[arg(long)]
        centre: String,
        #[command(flatten)]
        common: Common,
    },
    /// List the centres.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub(crate) enum PincodeCmd {
    /// Load PIN codes from a CSV file: `pincode,latitude,longitude,region` (see
    /// centres/pincodes.csv); `#` lines are comments.
    Import {
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}

/// The bundled demo centres and PIN codes (`serve --demo`).
pub(crate) const DEMO_CENTRES: &str = include_str!("../../../centres/demo.toml");
pub(crate) const DEMO_PINCODES: &str = include_str!("../../../centres/pincodes.csv");

pub(crate) async fn centre(cmd: CentreCmd) -> anyhow::Result<()> {
    match cmd {
        CentreCmd::Import { file, common } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let app = app(&common).await?;
            let n = import_centres(&app, &text, &file.display().to_string()).await?;
            println!("{n} centres imported");
            Ok(())
        }
        CentreCmd::Assign {
            who,
            centre,
            common,
        } => {
            let app = app(&common).await?;
            assign(&app, &who, &centre).await?;
            println!("{who} works at {centre}");
            Ok(())
        }
        CentreCmd::List { json, common } => {
            let app = app(&common).await?;
            let centres = app.appointments.centres().await.map_err(explain)?;
            if json {
                let list: Vec<_> = centres.values().map(|c| &c.def).collect();
                return print_json(&serde_json::to_value(list)?);
            }
            for c in centres.values() {
                println!(
                    "{:<24} {:<10} {:<16} {}",
                    c.def.code,
                    c.def.region,
                    c.def.time_zone,
                    c.def.name.get("en", "en")
                );
            }
            Ok(())
        }
    }
}

/// Checks and imports a centres file's text; `origin` names it in problems.
pub(crate) async fn import_centres(app: &App, text: &str, origin: &str) -> anyhow::Result<usize> {
    let file: CentreFile = toml::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
    let centres = app
        .appointments
        .check(&file)
        .map_err(|p| anyhow::anyhow!("{origin}:\n  {}", p.join("\n  ")))?;
    app.appointments
        .import(centres, &Actor::command_line())
        .await
        .map_err(explain)
}

/// Reads PIN codes from CSV text, saying which line is wrong.
pub(crate) fn read_pincodes(text: &str, origin: &str) -> anyhow::Result<Vec<PincodeRow>> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers()?.iter().map(str::to_string).collect();
    anyhow::ensure!(
        header == ["pincode", "latitude", "longitude", "region"],
        "{origin}: the first line must be `pincode,latitude,longitude,region`"
    );
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        let line = record.position().map_or(0, |p| p.line());
        let bad = |what: &str| anyhow::anyhow!("{origin} line {line}: {what}");
        let pin = Pincode::parse(record.get(0).unwrap_or_default())
            .ok_or_else(|| bad("not a six-digit PIN code"))?;
        let lat: f64 = record
            .get(1)
            .unwrap_or_default()
            .parse()
            .map_err(|_| bad("latitude is not a number"))?;
        let lon: f64 = record
            .get(2)
            .unwrap_or_default()
            .parse()
            .map_err(|_| bad("longitude is not a number"))?;
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(bad("latitude or longitude out of range"));
        }
        let region = record.get(3).filter(|r| !r.is_empty()).map(str::to_string);
        out.push(PincodeRow {
            pincode: pin,
            latitude: lat,
            longitude: lon,
            region,
        });
    }
    Ok(out)
}

pub(crate) async fn pincode(cmd: PincodeCmd) -> anyhow::Result<()> {
    match cmd {
        PincodeCmd::Import { file, common } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let rows = read_pincodes(&text, &file.display().to_string())?;
            let app = app(&common).await?;
            let bar = indicatif::ProgressBar::new(rows.len() as u64);
            let mut n = 0;
            for chunk in rows.chunks(1000) {
                n += app
                    .appointments
                    .import_pincodes(chunk)
                    .await
                    .map_err(explain)?;
                bar.set_position(n as u64);
            }
            bar.finish_and_clear();
            println!("{n} PIN codes imported");
            Ok(())
        }
    }
}

/// Lets the staff member `who` work at `centre`.
async fn assign(app: &App, who: &str, centre: &str) -> anyhow::Result<()> {
    let user = app
        .identity
        .admin_find_user(who)
        .await
        .map_err(explain)?
        .ok_or_else(|| anyhow::anyhow!("no account {who}"))?;
    anyhow::ensure!(
        user.role == ekdwar_domain::Role::Officer,
        "{who} is not staff: centre work needs the officer role (and its second factor); add them with `ekdwar officer add`"
    );
    app.appointments
        .assign_staff(&user.id, centre, &Actor::command_line())
        .await
        .map_err(explain)
}

/// Imports the demo's centres and PIN codes; the demo officer works at the Jaipur PSK, the
/// demo operator at the Moscow centre that confirms identities.
pub(crate) async fn import_demo(app: &App) -> anyhow::Result<()> {
    import_centres(app, DEMO_CENTRES, "centres/demo.toml").await?;
    assign(app, "officer.jaipur", "psk-jaipur").await?;
    assign(app, "operator.moscow", "mfc-tverskoy").await?;
    let rows = read_pincodes(DEMO_PINCODES, "centres/pincodes.csv")?;
    app.appointments
        .import_pincodes(&rows)
        .await
        .map_err(explain)?;
    Ok(())
}
