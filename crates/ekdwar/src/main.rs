//! `ekdwar`: the portal and its administration commands in one binary.

use clap::{Parser, Subcommand};

mod admin;
mod centre;
mod client;
mod common;
mod dev;
mod letters;
mod officer;
mod payments;
mod serve;
mod service;
mod user;

use crate::admin::{ConfigCmd, KeysCmd};
use crate::client::{ClientCmd, client};
use crate::common::{Common, app_with};
use crate::officer::{OfficerCmd, officer};
use crate::payments::{PaymentsCmd, payments};
use crate::serve::{ServeArgs, serve, worker};
use crate::service::{ServiceCmd, service};
use crate::user::{UserCmd, user};

#[derive(Parser)]
#[command(
    name = "ekdwar",
    version,
    about = "Ekdwar, one gate: a citizen e-services portal"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(Common),
    /// Run only the jobs runner (message delivery, back-channel logout, purging), on
    /// PostgreSQL, beside web nodes that set `server.run_worker = false`.
    Worker(Common),
    /// Show or check the configuration.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage departmental apps (OpenID Connect clients).
    #[command(subcommand)]
    Client(ClientCmd),
    /// Manage officers: department staff who process applications.
    #[command(subcommand)]
    Officer(OfficerCmd),
    /// Check and import service definitions.
    #[command(subcommand)]
    Service(ServiceCmd),
    /// Import and list service centres.
    #[command(subcommand)]
    Centre(centre::CentreCmd),
    /// Load where PIN codes are (to find the nearest centres).
    #[command(subcommand)]
    Pincode(centre::PincodeCmd),
    /// Reconcile challans with the bank, export refunds, report the day's payments.
    #[command(subcommand)]
    Payments(PaymentsCmd),
    /// Development tools (the test payment gateway).
    #[command(subcommand)]
    Dev(dev::DevCmd),
    /// Manage the keys that sign ID tokens.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Print the activation letters asked for, for the post office.
    #[command(subcommand)]
    Letters(letters::LettersCmd),
    /// Show the SMS and e-mails the portal has sent or kept locally.
    Outbox {
        /// Only messages to this phone number or e-mail address.
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        #[command(flatten)]
        common: Common,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `EKDWAR_LOG_FORMAT=json` gives one JSON object per line (with the request's id) for a
    // log collector; the default is text for people.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EKDWAR_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr);
    if std::env::var("EKDWAR_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Worker(common)) => worker(&common).await,
        Some(Command::Migrate(common)) => {
            app_with(&common, ekdwar_app::Migrations::Apply).await?;
            println!("migrations applied");
            Ok(())
        }
        Some(Command::Config(cmd)) => admin::config(cmd),
        Some(Command::User(cmd)) => user(cmd).await,
        Some(Command::Client(cmd)) => client(cmd).await,
        Some(Command::Keys(cmd)) => admin::keys(cmd).await,
        Some(Command::Letters(cmd)) => letters::letters(cmd).await,
        Some(Command::Service(cmd)) => service(cmd).await,
        Some(Command::Officer(cmd)) => officer(cmd).await,
        Some(Command::Payments(cmd)) => payments(cmd).await,
        Some(Command::Centre(cmd)) => centre::centre(cmd).await,
        Some(Command::Pincode(cmd)) => centre::pincode(cmd).await,
        Some(Command::Dev(cmd)) => dev::dev(cmd).await,
        Some(Command::Outbox {
            to,
            json,
            limit,
            common,
        }) => admin::outbox(to, json, limit, common).await,
    }
}
