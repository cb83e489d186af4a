//! `ekdwar letters export`: the day's activation letters, as one PDF for the post office (a
//! page per letter, in the citizen's language) and a CSV manifest of what was printed (the
//! codes are only on paper: the manifest does not list them).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use ekdwar_app::assurance::LetterOut;
use ekdwar_app::audit::Actor;
use ekdwar_app::i18n::Lang;

use crate::common::{Common, app, explain};

#[derive(Subcommand)]
pub(crate) enum LettersCmd {
    /// Print the letters asked for since the last export into DIR: letters-<time>.pdf and
    /// letters-<time>.csv. Their codes are made now; nothing is recorded if the files cannot
    /// be written.
    Export {
        /// Where the files go.
        #[arg(long)]
        out: PathBuf,
        /// At most this many letters.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
        #[command(flatten)]
        common: Common,
    },
}

pub(crate) async fn letters(cmd: LettersCmd) -> anyhow::Result<()> {
    let LettersCmd::Export { out, limit, common } = cmd;
    std::fs::create_dir_all(&out).with_context(|| format!("cannot make {}", out.display()))?;
    let app = app(&common).await?;
    let stamp = jiff::Timestamp::from_millisecond(app.clock().now().millis())
        .map(|t| t.strftime("%Y%m%d-%H%M%S").to_string())
        .unwrap_or_default();
    let pdf = out.join(format!("letters-{stamp}.pdf"));
    let csv = out.join(format!("letters-{stamp}.csv"));
    let n = app
        .assurance
        .export_letters(limit, &Actor::command_line(), |batch| {
            write(batch, &pdf, &csv).map_err(|e| format!("{e:#}"))
        })
        .await
        .map_err(explain)?;
    if n == 0 {
        println!("no letters are waiting");
    } else {
        println!("{n} letters: {} and {}", pdf.display(), csv.display());
    }
    Ok(())
}

/// Writes both files beside their final names, then moves them there.
fn write(batch: &[LetterOut], pdf: &Path, csv: &Path) -> anyhow::Result<()> {
    let mut sheet = ekdwar_pdf::Sheet::new("Ekdwar", "en");
    let mut manifest = csv::Writer::from_writer(Vec::new());
    manifest.write_record([
        "letter",
        "language",
        "name",
        "address",
        "city",
        "postcode",
        "valid until",
    ])?;
    for (i, l) in batch.iter().enumerate() {
        let lang = Lang::parse(&l.lang).unwrap_or_else(Lang::english);
        let until = jiff::Timestamp::from_millisecond(l.expires_at.millis())
            .map(|t| t.strftime("%Y-%m-%d").to_string())
            .unwrap_or_default();
        if i > 0 {
            sheet = sheet.page_break();
        }
        sheet = sheet
            .heading(l.name.clone())
            .text(l.address.line.clone())
            .text(format!("{} {}", l.address.postcode, l.address.city))
            .heading(lang.t("letter-post-title"))
            .text(lang.t("letter-post-lead"))
            .row(lang.t("letter-post-code"), l.code.grouped())
            .row(lang.t("letter-post-valid"), until.clone())
            .row(lang.t("letter-post-number"), l.id.clone())
            .text(lang.t("letter-post-how"))
            .text(lang.t("letter-post-warning"));
        manifest.write_record([
            l.id.as_str(),
            l.lang.as_str(),
            l.name.as_str(),
            l.address.line.as_str(),
            l.address.city.as_str(),
            l.address.postcode.as_str(),
            until.as_str(),
        ])?;
    }
    let bytes = sheet.render()?;
    let manifest = manifest.into_inner()?;
    for (path, body) in [(pdf, bytes.as_slice()), (csv, manifest.as_slice())] {
        let part = path.with_extension("part");
        std::fs::write(&part, body).with_context(|| format!("cannot write {}", part.display()))?;
        std::fs::rename(&part, path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
