//! `ekdwar payments …`: importing the bank's statement (challans), the treasury's refund file,
//! and the day's report.

use std::path::PathBuf;

use clap::Subcommand;
use ekdwar_app::audit::Actor;
use ekdwar_domain::payments::StatementLine;
use ekdwar_domain::payments::challan::STATEMENT_COLUMNS;

use crate::common::{Common, app, explain, print_json};

#[derive(Subcommand)]
pub(crate) enum PaymentsCmd {
    /// Confirm challans from the bank's statement file (Ekdwar's statement CSV, version 1:
    /// `challan_reference,amount,currency,paid_at,bank_reference`; see docs/payments.md).
    /// Importing the same file again changes nothing; lines that match no challan are listed.
    Reconcile {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Refunds for the treasury.
    #[command(subcommand)]
    Refunds(RefundsCmd),
    /// The day's payments, refunds and failures, for reconciliation.
    Report {
        /// The day (YYYY-MM-DD) in the portal's time zone; today when left out.
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub(crate) enum RefundsCmd {
    /// Write the challan refunds not yet exported as CSV (to standard output, or `--out`), and
    /// mark them exported: each refund is exported once.
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
}

pub(crate) async fn payments(cmd: PaymentsCmd) -> anyhow::Result<()> {
    match cmd {
        PaymentsCmd::Reconcile { file, json, common } => reconcile(&file, json, &common).await,
        PaymentsCmd::Refunds(RefundsCmd::Export { out, common }) => export(out, &common).await,
        PaymentsCmd::Report { date, json, common } => report(date, json, &common).await,
    }
}

/// Reads a statement file: `#` lines are comments, the first other line is the header.
fn read_statement(
    file: &std::path::Path,
) -> anyhow::Result<
    Vec<(
        usize,
        Result<StatementLine, ekdwar_domain::payments::challan::StatementError>,
    )>,
> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    anyhow::ensure!(
        header == STATEMENT_COLUMNS,
        "{}: the first line must be the header `{}` (found `{}`)",
        file.display(),
        STATEMENT_COLUMNS.join(","),
        header.join(",")
    );
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let line_no = record.position().map_or(0, |p| p.line() as usize);
        let fields: Vec<&str> = record.iter().collect();
        lines.push((line_no, StatementLine::parse(&fields)));
    }
    Ok(lines)
}

async fn reconcile(file: &std::path::Path, json: bool, common: &Common) -> anyhow::Result<()> {
    let lines = read_statement(file)?;
    let app = app(common).await?;
    let bar = indicatif::ProgressBar::new(lines.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} lines")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = app
        .payments
        .reconcile(lines, &Actor::command_line(), |n| {
            bar.set_position(n as u64)
        })
        .await
        .map_err(explain)?;
    bar.finish_and_clear();
    if json {
        return print_json(&serde_json::to_value(&report)?);
    }
    println!(
        "confirmed {}, already confirmed {}, unmatched {}",
        report.confirmed,
        report.already,
        report.unmatched.len()
    );
    for u in &report.unmatched {
        println!("line {}: {}", u.line, u.reason);
    }
    Ok(())
}

async fn export(out: Option<PathBuf>, common: &Common) -> anyhow::Result<()> {
    let app = app(common).await?;
    let lines = app
        .payments
        .export_refunds(&Actor::command_line())
        .await
        .map_err(explain)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "refund",
        "arn",
        "challan_reference",
        "bank_reference",
        "amount",
        "currency",
        "payer",
        "reason",
    ])?;
    for l in &lines {
        w.write_record([
            l.refund.as_str(),
            l.arn.as_str(),
            l.challan.as_str(),
            l.bank_reference.as_str(),
            &l.amount.to_decimal(),
            l.amount.currency().as_str(),
            l.payer.as_str(),
            l.reason.as_str(),
        ])?;
    }
    let bytes = w.into_inner()?;
    match out {
        Some(path) => {
            std::fs::write(&path, &bytes)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!("{} refunds written to {}", lines.len(), path.display());
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(())
}

async fn report(date: Option<String>, json: bool, common: &Common) -> anyhow::Result<()> {
    let app = app(common).await?;
    let day = match date {
        Some(d) => d
            .parse::<jiff::civil::Date>()
            .map_err(|_| anyhow::anyhow!("--date must be a day like 2026-12-01"))?,
        None => app.applications.today(),
    };
    let report = app.payments.report(day).await.map_err(explain)?;
    if json {
        return print_json(&serde_json::to_value(&report)?);
    }
    print!("{}", report.text());
    Ok(())
}
