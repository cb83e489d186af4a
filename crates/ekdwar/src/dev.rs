//! `ekdwar dev …`: tools for development and tests, never for production.

use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum DevCmd {
    /// Run the TEST payment gateway: a test double that speaks Ekdwar's gateway protocol and
    /// moves no money (see docs/payments.md). It prints its address on the first line.
    TestGateway {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// The merchant API key it accepts.
        #[arg(long, env = "EKDWAR_TEST_GATEWAY_KEY")]
        key: String,
        /// The secret it signs notifications with.
        #[arg(long, env = "EKDWAR_TEST_GATEWAY_SECRET")]
        secret: String,
        /// Seconds a delayed notification waits unless released.
        #[arg(long, default_value_t = 30)]
        delay: u64,
    },
    /// Run the TEST state registries: a test double that speaks Ekdwar's registry connector
    /// protocol and answers profile checks from a file of demo people (see
    /// docs/registries.md). It prints its address on the first line.
    TestRegistry {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// The secret requests and answers are signed with.
        #[arg(long, env = "EKDWAR_TEST_REGISTRY_SECRET")]
        secret: String,
        /// The demo people (the bundled file when not given).
        #[arg(long)]
        people: Option<std::path::PathBuf>,
        /// Milliseconds a `slow` answer takes.
        #[arg(long, default_value_t = 3000)]
        slow_ms: u64,
    },
    /// Run the TEST issuer: a test double of an education board that speaks the DigiLocker-style
    /// Pull URI protocol and answers from a file of demo marksheets (see docs/locker.md). It
    /// prints its address on the first line.
    TestIssuer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Its issuer id.
        #[arg(long, default_value = "in.gov.cbse")]
        issuer_id: String,
        /// The API key requests and answers are signed with.
        #[arg(long, env = "EKDWAR_TEST_ISSUER_API_KEY")]
        api_key: String,
        /// 64 hexadecimal digits from which its document-signing key is made.
        #[arg(long, env = "EKDWAR_TEST_ISSUER_SEED")]
        seed: String,
        /// The demo records (the bundled file when not given).
        #[arg(long)]
        records: Option<std::path::PathBuf>,
    },
    /// Fill the database with generated accounts and departmental apps, written in bulk (not
    /// through the pages): for load tests and capacity planning, never for production. Every
    /// account has the same password (from EKDWAR_NEW_PASSWORD, else `seeded password 1`).
    Seed {
        /// How many accounts (portal IDs PREFIX.0, PREFIX.1, …; phones +91 8000000000, …).
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        /// How many departmental apps (OpenID Connect clients); their IDs and secrets are
        /// printed as JSON lines.
        #[arg(long, default_value_t = 0)]
        apps: usize,
        /// Portal ID prefix of the accounts.
        #[arg(long, default_value = "seed")]
        prefix: String,
        /// Make the schema only up to this migration and write the accounts as the release
        /// that had it did (no apps): a database to time `ekdwar migrate` on.
        #[arg(long)]
        at_migration: Option<i64>,
        #[command(flatten)]
        common: crate::common::Common,
    },
}

/// The people the test registries know by default.
const DEMO_PEOPLE: &str = include_str!("../../../registries/demo-people.toml");

/// The records the test issuer knows by default.
const DEMO_RECORDS: &str = include_str!("../../../locker/demo-records.toml");

/// Set by `ekdwar serve` on a child whose standard input is a pipe from it: the child ends
/// when the pipe closes (the parent is gone, however it ended).
pub(crate) const EXIT_WITH_PARENT: &str = "EKDWAR_EXIT_WITH_PARENT";

/// Ends this process once its standard input reaches its end.
fn exit_with_parent() {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        std::process::exit(0);
    });
}

pub(crate) async fn dev(cmd: DevCmd) -> anyhow::Result<()> {
    match cmd {
        DevCmd::TestGateway {
            listen,
            key,
            secret,
            delay,
        } => {
            if std::env::var_os(EXIT_WITH_PARENT).is_some() {
                exit_with_parent();
            }
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            let url = format!("http://{}", listener.local_addr()?);
            println!("{url}");
            eprintln!("TEST payment gateway (a test double; no money moves) at {url}");
            ekdwar_testgateway::serve(
                listener,
                ekdwar_testgateway::Options {
                    api_key: key,
                    secret,
                    public_url: url,
                    delay: std::time::Duration::from_secs(delay),
                },
            )
            .await?;
            Ok(())
        }
        DevCmd::TestIssuer {
            listen,
            issuer_id,
            api_key,
            seed,
            records,
        } => {
            if std::env::var_os(EXIT_WITH_PARENT).is_some() {
                exit_with_parent();
            }
            let text = match records {
                Some(p) => std::fs::read_to_string(&p)?,
                None => DEMO_RECORDS.to_string(),
            };
            let records = ekdwar_testissuer::Records::parse(&text)
                .map_err(|e| anyhow::anyhow!("the demo records do not read: {e}"))?;
            let signing_seed: [u8; 32] = hex::decode(seed.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| anyhow::anyhow!("--seed must be 64 hexadecimal digits"))?;
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            let url = format!("http://{}", listener.local_addr()?);
            println!("{url}");
            eprintln!("TEST issuer {issuer_id} (a test double; no real agency is asked) at {url}");
            ekdwar_testissuer::serve(
                listener,
                ekdwar_testissuer::Options {
                    issuer_id,
                    api_key,
                    signing_seed,
                    records,
                },
            )
            .await?;
            Ok(())
        }
        DevCmd::TestRegistry {
            listen,
            secret,
            people,
            slow_ms,
        } => {
            if std::env::var_os(EXIT_WITH_PARENT).is_some() {
                exit_with_parent();
            }
            let text = match people {
                Some(p) => std::fs::read_to_string(&p)?,
                None => DEMO_PEOPLE.to_string(),
            };
            let people = ekdwar_testregistry::People::parse(&text)
                .map_err(|e| anyhow::anyhow!("the demo people do not read: {e}"))?;
            let listener = tokio::net::TcpListener::bind(&listen).await?;
            let url = format!("http://{}", listener.local_addr()?);
            println!("{url}");
            eprintln!("TEST registries (a test double; no real registry is asked) at {url}");
            ekdwar_testregistry::serve(
                listener,
                ekdwar_testregistry::Options {
                    secret,
                    people,
                    slow: std::time::Duration::from_millis(slow_ms),
                },
            )
            .await?;
            Ok(())
        }
        DevCmd::Seed {
            accounts,
            apps,
            prefix,
            at_migration: Some(version),
            common,
        } => {
            anyhow::ensure!(
                apps == 0,
                "--at-migration writes accounts only; leave out --apps"
            );
            seed_old(accounts, &prefix, version, &common).await
        }
        DevCmd::Seed {
            accounts,
            apps,
            prefix,
            at_migration: None,
            common,
        } => seed(accounts, apps, &prefix, &common).await,
    }
}

fn progress_bar(accounts: usize) -> indicatif::ProgressBar {
    indicatif::ProgressBar::new(accounts as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} accounts, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    )
}

fn seed_password() -> ekdwar_domain::password::Password {
    ekdwar_domain::password::Password::new(
        std::env::var("EKDWAR_NEW_PASSWORD").unwrap_or_else(|_| "seeded password 1".into()),
    )
}

/// Seeds a database left at an older migration, bypassing the application (which needs the
/// latest schema).
async fn seed_old(
    accounts: usize,
    prefix: &str,
    version: i64,
    common: &crate::common::Common,
) -> anyhow::Result<()> {
    let config = crate::common::load(common, None, None)?;
    let bar = progress_bar(accounts);
    let started = std::time::Instant::now();
    ekdwar_app::seed_accounts_at_migration(
        &config,
        version,
        prefix,
        accounts,
        &seed_password(),
        &|done| bar.set_position(done as u64),
    )
    .await?;
    bar.finish();
    eprintln!(
        "{accounts} accounts at migration {version} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn seed(
    accounts: usize,
    apps: usize,
    prefix: &str,
    common: &crate::common::Common,
) -> anyhow::Result<()> {
    let app = crate::common::app_with(common, ekdwar_app::Migrations::Apply).await?;
    let bar = progress_bar(accounts);
    let started = std::time::Instant::now();
    app.seed_accounts(prefix, accounts, &seed_password(), &|done| {
        bar.set_position(done as u64)
    })
    .await
    .map_err(crate::common::explain)?;
    bar.finish();
    eprintln!(
        "{accounts} accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for i in 0..apps {
        let made = app
            .sso
            .add_client(ekdwar_app::sso::ClientInput {
                name: format!("Seeded app {i}"),
                redirect_uris: vec![format!("https://app{i}.example.in/callback")],
                ..Default::default()
            })
            .await
            .map_err(crate::common::explain)?;
        println!(
            "{}",
            serde_json::json!({ "client_id": made.app.client_id, "client_secret": made.secret })
        );
    }
    Ok(())
}
