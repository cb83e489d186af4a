//! `ekdwar service …`: service definitions.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use ekdwar_app::Catalog;
use ekdwar_app::audit::Actor;
use ekdwar_app::catalog::{Bundle, FileProblem, SourceFile};

use crate::common::{Common, app, explain};

#[derive(Subcommand)]
pub(crate) enum ServiceCmd {
    /// Check a folder of definitions (catalog.toml and one file per service) without importing.
    Validate { dir: PathBuf },
    /// Import a folder of definitions: each changed definition becomes a new version.
    Import {
        dir: PathBuf,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Print the JSON Schema of service definitions (or, with --catalog, of catalog.toml).
    Schema {
        #[arg(long)]
        catalog: bool,
    },
}

/// The definitions bundled with the binary, imported by `serve --demo`.
pub(crate) fn demo_files() -> Vec<SourceFile> {
    macro_rules! bundled {
        ($($name:literal),+ $(,)?) => {
            vec![$(SourceFile {
                name: $name.to_string(),
                text: include_str!(concat!("../../../services/", $name)).to_string(),
            }),+]
        };
    }
    bundled!(
        "catalog.toml",
        "passport/fresh.toml",
        "passport/police-clearance.toml",
        "passport/reissue.toml",
        "passport/identity-certificate.toml",
        "passport/diplomatic.toml",
        "rajasthan/income-certificate.toml",
        "rajasthan/recruitment.toml",
        "moscow/kindergarten.toml",
    )
}

fn read(dir: &std::path::Path) -> anyhow::Result<Result<Bundle, Vec<FileProblem>>> {
    let files = Bundle::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let langs = Catalog::languages();
    Ok(Bundle::parse(
        &files,
        &langs.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
}

fn report(problems: &[FileProblem]) -> anyhow::Error {
    for p in problems {
        eprintln!("{p}");
    }
    anyhow::anyhow!(
        "{} problem{} found; nothing was imported",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    )
}

pub(crate) async fn service(cmd: ServiceCmd) -> anyhow::Result<()> {
    match cmd {
        ServiceCmd::Validate { dir } => {
            let bundle = read(&dir)?.map_err(|p| report(&p))?;
            println!(
                "{}: the catalog and {} service definitions are valid",
                dir.display(),
                bundle.services.len()
            );
            Ok(())
        }
        ServiceCmd::Import { dir, json, common } => {
            let bundle = read(&dir)?.map_err(|p| report(&p))?;
            let app = app(&common).await?;
            let r = app
                .catalog
                .import(&bundle, &Actor::command_line())
                .await
                .map_err(explain)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                if r.catalog_changed {
                    println!("catalog.toml: new version");
                }
                for (code, version) in &r.changed {
                    println!("{code}: version {version}");
                }
                println!("{} unchanged", r.unchanged.len());
            }
            Ok(())
        }
        ServiceCmd::Schema { catalog } => {
            println!("{}", ekdwar_app::catalog::schema(catalog));
            Ok(())
        }
    }
}
