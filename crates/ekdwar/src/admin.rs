//! `ekdwar keys …`, `ekdwar config …` and `ekdwar outbox`: the server's keys, its configuration,
//! and the messages it sent or kept.

use clap::Subcommand;
use ekdwar_app::config::Config;

use crate::common::{Common, app, explain, load};

#[derive(Subcommand)]
pub(crate) enum KeysCmd {
    /// Start signing with a new key; the old one stays published for the overlap period.
    Rotate(Common),
    /// Print the published keys (JWKS).
    List(Common),
    /// Seal personal data under a new data key: every profile is re-sealed in batches while
    /// the portal runs; the old keys only open what is left (none, when it ends).
    RotateData {
        /// Records re-sealed per transaction.
        #[arg(long, default_value_t = 200)]
        batch: i64,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub(crate) enum ConfigCmd {
    /// Print the default configuration as TOML.
    PrintDefault,
    /// Load the configuration from every layer and report problems.
    Check(Common),
}

pub(crate) fn config(cmd: ConfigCmd) -> anyhow::Result<()> {
    match cmd {
        ConfigCmd::PrintDefault => {
            print!("{}", Config::default_toml());
            Ok(())
        }
        ConfigCmd::Check(common) => {
            let c = load(&common, None, None)?;
            println!(
                "configuration is valid (database: {})",
                if c.database_url().starts_with("postgres") {
                    "postgres"
                } else {
                    "sqlite"
                }
            );
            Ok(())
        }
    }
}

pub(crate) async fn keys(cmd: KeysCmd) -> anyhow::Result<()> {
    match cmd {
        KeysCmd::Rotate(common) => {
            let kid = app(&common)
                .await?
                .sso
                .rotate_signing_key()
                .await
                .map_err(explain)?;
            println!("now signing with key {kid}");
        }
        KeysCmd::List(common) => {
            let jwks = app(&common).await?.sso.jwks().await.map_err(explain)?;
            println!("{}", serde_json::to_string_pretty(&jwks)?);
        }
        KeysCmd::RotateData { batch, common } => {
            let app = app(&common).await?;
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message("profiles re-sealed");
            let tick = bar.clone();
            let done = app
                .assurance
                .rotate_data_keys(
                    batch,
                    &ekdwar_app::audit::Actor::command_line(),
                    &move |n| tick.set_position(n),
                )
                .await
                .map_err(explain)?;
            bar.set_message("locker documents re-sealed");
            let tick = bar.clone();
            let (documents, by_key) = app
                .locker
                .reseal_under(&done.key_id, batch, &move |n| tick.set_position(n))
                .await
                .map_err(explain)?;
            bar.finish_and_clear();
            println!(
                "now sealing with data key {}; {} profiles and {documents} locker documents re-sealed",
                done.key_id, done.resealed
            );
            for (key, n) in done.by_key {
                println!("  {key}: {n} profiles");
            }
            for (key, n) in by_key {
                println!("  {key}: {n} locker documents");
            }
        }
    }
    Ok(())
}

pub(crate) async fn outbox(
    to: Option<String>,
    json: bool,
    limit: i64,
    common: Common,
) -> anyhow::Result<()> {
    let app = app(&common).await?;
    let msgs = app
        .notify
        .outbox(to.as_deref(), limit)
        .await
        .map_err(explain)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&msgs)?);
    } else if msgs.is_empty() {
        println!("the outbox is empty");
    } else {
        for m in msgs.iter().rev() {
            println!(
                "#{} {} to {} [{}]",
                m.id,
                m.channel.as_str(),
                m.recipient,
                m.status.as_str()
            );
            if let Some(s) = &m.subject {
                println!("Subject: {s}");
            }
            if m.body.is_empty() {
                println!("(delivered; the text was removed)\n");
            } else {
                println!("{}\n", m.body);
            }
        }
    }
    Ok(())
}
