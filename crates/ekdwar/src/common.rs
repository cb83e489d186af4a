//! What every command shares: where the data is, the configuration, and opening the portal.

use std::path::PathBuf;

use clap::Args;
use ekdwar_app::config::{Config, Overrides};
use ekdwar_app::{App, Deps};

/// Where the portal's data is; every subcommand takes these.
#[derive(Args, Clone, Default)]
pub(crate) struct Common {
    /// Data folder (SQLite database, keys, files).
    #[arg(long, global = true, env = "EKDWAR_DATA")]
    pub(crate) data: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…`; overrides the data folder's SQLite file.
    #[arg(long, global = true, env = "EKDWAR_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// TOML configuration file.
    #[arg(long, global = true, env = "EKDWAR_CONFIG")]
    pub(crate) config: Option<PathBuf>,
}

pub(crate) fn load(
    common: &Common,
    listen: Option<String>,
    dev: Option<bool>,
) -> anyhow::Result<Config> {
    Ok(Config::load(
        common.config.as_deref(),
        &Overrides {
            listen,
            data_dir: common.data.clone(),
            database_url: common.database_url.clone(),
            dev_mode: dev,
        },
    )?)
}

/// The portal for an administrative command: it creates the schema of an empty database but
/// never migrates one made by another release (only `serve` and `migrate` do). With a database
/// outside the data folder, the
/// server's key must already exist (in `--data` or as `server.secret_key`): a new key here would
/// wrap signing keys and hash codes that the server cannot read.
pub(crate) async fn app(common: &Common) -> anyhow::Result<App> {
    app_with(common, ekdwar_app::Migrations::OnlyIfEmpty).await
}

pub(crate) async fn app_with(
    common: &Common,
    migrations: ekdwar_app::Migrations,
) -> anyhow::Result<App> {
    let config = load(common, None, None)?;
    let key_file = ekdwar_app::key_file(&config.server.data_dir);
    anyhow::ensure!(
        config.server.database_url.is_none()
            || config.server.secret_key.is_some()
            || key_file.exists(),
        "the server's key is not at {}: with --database-url, give the server's data folder \
         with --data (it holds secret.key) or set server.secret_key in the configuration",
        key_file.display()
    );
    App::open(config, Deps::default(), migrations).await
}

pub(crate) fn explain(e: ekdwar_app::error::AppError) -> anyhow::Error {
    match e {
        ekdwar_app::error::AppError::NotFound => anyhow::anyhow!("no such account"),
        other => anyhow::anyhow!(other.in_english()),
    }
}

pub(crate) fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
