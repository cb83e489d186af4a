//! `ekdwar`: the portal and its administration commands in one binary.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use ekdwar_app::config::{Config, Overrides};
use ekdwar_app::i18n::Lang;
use ekdwar_app::identity::NewUserInput;
use ekdwar_app::{App, Deps};
use ekdwar_domain::password::Password;
use ekdwar_domain::{AccountStatus, Role};

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

/// Where the portal's data is; every subcommand takes these.
#[derive(Args, Clone, Default)]
struct Common {
    /// Data folder (SQLite database, keys, files).
    #[arg(long, global = true, env = "EKDWAR_DATA")]
    data: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…`; overrides the data folder's SQLite file.
    #[arg(long, global = true, env = "EKDWAR_DATABASE_URL")]
    database_url: Option<String>,
    /// TOML configuration file.
    #[arg(long, global = true, env = "EKDWAR_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// Create demo accounts and turn on development mode (outbox page).
    #[arg(long)]
    demo: bool,
    /// Development mode: the outbox is readable at /dev/outbox.
    #[arg(long)]
    dev: bool,
    #[command(flatten)]
    common: Common,
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
    /// Manage the keys that sign ID tokens.
    #[command(subcommand)]
    Keys(KeysCmd),
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

#[derive(Args, Clone, Default)]
struct ClientFields {
    /// Where the app receives sign-in answers; repeat for several.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Where the app may send people after logging out; repeat for several.
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// The app's logo: an http(s) address or a file, PNG, JPEG or WebP up to 100 KB. It is read
    /// now, re-encoded and served by the portal; give it again to pick up a new image, or give
    /// "" to remove it.
    #[arg(long)]
    logo: Option<String>,
    /// The page the apps directory links to.
    #[arg(long)]
    launch_url: Option<String>,
    #[arg(long)]
    helpdesk_phone: Option<String>,
    #[arg(long)]
    helpdesk_email: Option<String>,
    /// Officer in charge of the app.
    #[arg(long)]
    officer: Option<String>,
    /// `pairwise` (default: each app sees a different subject) or `public`.
    #[arg(long)]
    subject_type: Option<String>,
    #[arg(long)]
    backchannel_logout_uri: Option<String>,
    /// Signature of ID tokens: ES256 (default) or RS256 for apps that cannot verify ES256.
    #[arg(long)]
    id_token_alg: Option<String>,
    /// An API scope of the app's own, which it may ask for with `client_credentials`
    /// (machine-to-machine calls); repeat for several. No person's data scopes. On update the
    /// list replaces the old one, and `--api-scope ""` removes them all.
    #[arg(long = "api-scope")]
    api_scopes: Vec<String>,
}

#[derive(Subcommand)]
enum ClientCmd {
    /// Register an app; prints its client_id and, for confidential apps, the secret (once).
    Add {
        #[arg(long)]
        name: String,
        /// A public app (mobile or single-page) has no secret and must use PKCE.
        #[arg(long)]
        public: bool,
        #[command(flatten)]
        fields: ClientFields,
        #[command(flatten)]
        common: Common,
    },
    List {
        #[command(flatten)]
        common: Common,
    },
    Show {
        client_id: String,
        #[command(flatten)]
        common: Common,
    },
    /// Change an app; the given lists replace the old ones.
    Update {
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: ClientFields,
        #[command(flatten)]
        common: Common,
    },
    /// Switch an app off: its logins and tokens stop working.
    Disable {
        client_id: String,
        #[command(flatten)]
        common: Common,
    },
    Enable {
        client_id: String,
        #[command(flatten)]
        common: Common,
    },
    /// Issue a new secret; the old one stops working at once.
    RotateSecret {
        client_id: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Start signing with a new key; the old one stays published for the overlap period.
    Rotate(Common),
    /// Print the published keys (JWKS).
    List(Common),
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Print the default configuration as TOML.
    PrintDefault,
    /// Load the configuration from every layer and report problems.
    Check(Common),
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create an account (the password is read from EKDWAR_NEW_PASSWORD or asked on stdin).
    Add {
        #[arg(long)]
        portal_id: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        admin: bool,
        /// Language of the person's messages (en, hi, bn, ru); the portal's default if not given.
        #[arg(long)]
        language: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Show one account by id, portal ID, phone or e-mail.
    Show {
        who: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// List accounts.
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long, default_value_t = 0)]
        offset: i64,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Lock an account and end its sessions.
    Lock {
        who: String,
        #[command(flatten)]
        common: Common,
    },
    /// Unlock an account and clear its failed-login counter.
    Unlock {
        who: String,
        #[command(flatten)]
        common: Common,
    },
    /// Turn two-step login off for a person who lost both the app and the recovery codes
    /// (after checking who they are); their sessions end. An administrator sets it up again
    /// at the next login.
    TwoStepOff {
        who: String,
        #[command(flatten)]
        common: Common,
    },
}

fn load(common: &Common, listen: Option<String>, dev: Option<bool>) -> anyhow::Result<Config> {
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
async fn app(common: &Common) -> anyhow::Result<App> {
    app_with(common, ekdwar_app::Migrations::OnlyIfEmpty).await
}

async fn app_with(common: &Common, migrations: ekdwar_app::Migrations) -> anyhow::Result<App> {
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

fn user_json(u: &ekdwar_store::identity::User) -> serde_json::Value {
    serde_json::json!({
        "id": u.id,
        "portal_id": u.portal_id.as_str(),
        "first_name": u.first_name.as_str(),
        "last_name": u.last_name.as_str(),
        "phone": u.phone.as_ref().map(|p| p.as_str()),
        "email": u.email.as_ref().map(|e| e.as_str()),
        "level": u.level.as_str(),
        "account_type": u.account_type.as_str(),
        "role": u.role.as_str(),
        "status": u.status.as_str(),
        "language": u.language,
        "created_at": u.created_at.millis(),
    })
}

fn print_user(u: &ekdwar_store::identity::User, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&user_json(u)).unwrap_or_default()
        );
    } else {
        println!(
            "{}  {:<20} {:<24} {:<10} {:<8} {}",
            u.id,
            u.portal_id.as_str(),
            u.full_name(),
            u.level.as_str(),
            u.status.as_str(),
            u.phone
                .as_ref()
                .map(|p| p.as_str().to_string())
                .or(u.email.as_ref().map(|e| e.as_str().to_string()))
                .unwrap_or_default()
        );
    }
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("EKDWAR_NEW_PASSWORD") {
        return Ok(p);
    }
    eprint!("Password: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn explain(e: ekdwar_app::error::AppError) -> anyhow::Error {
    match e {
        ekdwar_app::error::AppError::Form(list) => {
            let en = ekdwar_app::i18n::Lang::english();
            let msgs: Vec<String> = list
                .iter()
                .map(|f| {
                    format!(
                        "{}: {}",
                        f.field,
                        en.t_args(&format!("err-{}", f.code), &f.args)
                    )
                })
                .collect();
            anyhow::anyhow!(msgs.join("\n"))
        }
        ekdwar_app::error::AppError::NotFound => anyhow::anyhow!("no such account"),
        other => anyhow::anyhow!(other.to_string()),
    }
}

/// A process that only runs jobs. On SQLite the one writer is the server, so the worker runs
/// inside `serve` and this command says so.
async fn worker(common: &Common) -> anyhow::Result<()> {
    let config = load(common, None, None)?;
    anyhow::ensure!(
        config.database_url().starts_with("postgres"),
        "on SQLite the jobs run inside `ekdwar serve`; a separate worker needs PostgreSQL \
         (--database-url postgres://…)"
    );
    let app = app(common).await?;
    println!("Ekdwar worker is running jobs");
    tokio::select! {
        () = app.run_jobs() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let dev = (args.demo || args.dev).then_some(true);
    let config = load(&args.common, args.listen.clone(), dev)?;
    let listen = config.server.listen.clone();
    let url = config.public_url();
    let app = App::build(config, Deps::default()).await?;
    tracing::info!(backend = ?app.store.backend(), "database ready");
    for (channel, name) in [
        (ekdwar_domain::Channel::Sms, "SMS"),
        (ekdwar_domain::Channel::Email, "E-mail"),
    ] {
        if !app.gateways.has(channel) {
            tracing::warn!(
                "{name} gateway not configured: messages stay in the local outbox (read them with `ekdwar outbox`)"
            );
        }
    }
    if args.demo {
        for (pid, pw) in app.seed_demo().await.map_err(explain)? {
            println!("demo account: portal ID {pid}, password {pw}");
        }
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("Ekdwar is ready: open {url}/");
    if app.config.server.dev_mode {
        println!("Development mode: sent messages are at {url}/dev/outbox");
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    ekdwar_web::serve(app, listener, shutdown).await?;
    Ok(())
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
        Some(Command::Config(ConfigCmd::PrintDefault)) => {
            print!("{}", Config::default_toml());
            Ok(())
        }
        Some(Command::Config(ConfigCmd::Check(common))) => {
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
        Some(Command::User(cmd)) => user(cmd).await,
        Some(Command::Client(cmd)) => client(cmd).await,
        Some(Command::Keys(KeysCmd::Rotate(common))) => {
            let kid = app(&common)
                .await?
                .rotate_signing_key()
                .await
                .map_err(explain)?;
            println!("now signing with key {kid}");
            Ok(())
        }
        Some(Command::Keys(KeysCmd::List(common))) => {
            let jwks = app(&common).await?.jwks().await.map_err(explain)?;
            println!("{}", serde_json::to_string_pretty(&jwks)?);
            Ok(())
        }
        Some(Command::Outbox {
            to,
            json,
            limit,
            common,
        }) => {
            let app = app(&common).await?;
            let msgs = app.outbox(to.as_deref(), limit).await.map_err(explain)?;
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
    }
}

async fn user(cmd: UserCmd) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Add {
            portal_id,
            first_name,
            last_name,
            phone,
            email,
            admin,
            language,
            common,
        } => {
            if phone.is_none() && email.is_none() {
                bail!("give --phone or --email so that the person can recover the account");
            }
            let language = match language.as_deref().map(|l| (l, Lang::parse(l))) {
                None => None,
                Some((_, Some(lang))) => Some(lang),
                Some((l, None)) => bail!("--language {l}: use one of en, hi, bn, ru"),
            };
            let app = app(&common).await?;
            let password = Password::new(read_password()?);
            let u = app
                .admin_add_user(NewUserInput {
                    portal_id,
                    first_name,
                    last_name,
                    phone,
                    email,
                    password,
                    role: if admin { Role::Admin } else { Role::Citizen },
                    language,
                })
                .await
                .map_err(explain)?;
            print_user(&u, true);
        }
        UserCmd::Show { who, json, common } => {
            let app = app(&common).await?;
            let u = app
                .admin_find_user(&who)
                .await
                .map_err(explain)?
                .context("no such account")?;
            print_user(&u, json);
        }
        UserCmd::List {
            limit,
            offset,
            json,
            common,
        } => {
            let app = app(&common).await?;
            let users = app.admin_list_users(limit, offset).await.map_err(explain)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&users.iter().map(user_json).collect::<Vec<_>>())?
                );
            } else {
                for u in &users {
                    print_user(u, false);
                }
            }
        }
        UserCmd::Lock { who, common } => {
            let app = app(&common).await?;
            let u = app
                .admin_set_status(&who, AccountStatus::Locked)
                .await
                .map_err(explain)?;
            println!("{} is locked", u.portal_id);
        }
        UserCmd::TwoStepOff { who, common } => {
            let app = app(&common).await?;
            let u = app.admin_two_step_off(&who).await.map_err(explain)?;
            println!(
                "two-step login is off for {}; their sessions have ended",
                u.portal_id
            );
        }
        UserCmd::Unlock { who, common } => {
            let app = app(&common).await?;
            let u = app
                .admin_set_status(&who, AccountStatus::Active)
                .await
                .map_err(explain)?;
            println!("{} is unlocked", u.portal_id);
        }
    }
    Ok(())
}

fn client_json(c: &ekdwar_store::sso::Client, secret: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "client_id": c.id,
        "name": c.name,
        "public": c.is_public,
        "enabled": c.enabled,
        "redirect_uris": c.redirect_uris,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "logo": c.logo_url,
        "launch_url": c.launch_url,
        "helpdesk_phone": c.helpdesk_phone,
        "helpdesk_email": c.helpdesk_email,
        "officer": c.officer,
        "subject_type": c.subject_type,
        "backchannel_logout_uri": c.backchannel_logout_uri,
        "id_token_alg": c.id_token_alg,
        "api_scopes": c.api_scopes,
    });
    if let Some(s) = secret {
        v["client_secret"] = serde_json::json!(s);
    }
    v
}

fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn client(cmd: ClientCmd) -> anyhow::Result<()> {
    use ekdwar_app::sso::{ClientInput, ClientPatch};
    let enable = matches!(cmd, ClientCmd::Enable { .. });
    match cmd {
        ClientCmd::Add {
            name,
            public,
            fields,
            common,
        } => {
            let app = app(&common).await?;
            let f = fields;
            let created = app
                .add_client(ClientInput {
                    name,
                    redirect_uris: f.redirect_uris,
                    post_logout_redirect_uris: f.post_logout_redirect_uris,
                    public,
                    logo_url: f.logo,
                    api_scopes: f.api_scopes,
                    launch_url: f.launch_url,
                    helpdesk_phone: f.helpdesk_phone,
                    helpdesk_email: f.helpdesk_email,
                    officer: f.officer,
                    subject_type: f.subject_type,
                    backchannel_logout_uri: f.backchannel_logout_uri,
                    id_token_alg: f.id_token_alg,
                })
                .await
                .map_err(explain)?;
            print_json(&client_json(&created.client, created.secret.as_deref()))
        }
        ClientCmd::List { common } => {
            let list = app(&common).await?.clients(false).await.map_err(explain)?;
            print_json(&serde_json::Value::Array(
                list.iter().map(|c| client_json(c, None)).collect(),
            ))
        }
        ClientCmd::Show { client_id, common } => {
            let c = app(&common)
                .await?
                .client(&client_id)
                .await
                .map_err(explain)?
                .context("no such app")?;
            print_json(&client_json(&c, None))
        }
        ClientCmd::Update {
            client_id,
            name,
            fields,
            common,
        } => {
            let f = fields;
            let list = |v: Vec<String>| (!v.is_empty()).then_some(v);
            let c = app(&common)
                .await?
                .update_client(
                    &client_id,
                    ClientPatch {
                        name,
                        redirect_uris: list(f.redirect_uris),
                        post_logout_redirect_uris: list(f.post_logout_redirect_uris),
                        logo_url: f.logo,
                        launch_url: f.launch_url,
                        helpdesk_phone: f.helpdesk_phone,
                        helpdesk_email: f.helpdesk_email,
                        officer: f.officer,
                        subject_type: f.subject_type,
                        backchannel_logout_uri: f.backchannel_logout_uri,
                        id_token_alg: f.id_token_alg,
                        // Given, the list replaces the old one; `--api-scope ""` empties it.
                        api_scopes: list(f.api_scopes)
                            .map(|v| v.into_iter().filter(|s| !s.is_empty()).collect()),
                    },
                )
                .await
                .map_err(explain)?;
            print_json(&client_json(&c, None))
        }
        ClientCmd::Disable { client_id, common } | ClientCmd::Enable { client_id, common } => {
            let c = app(&common)
                .await?
                .set_client_enabled(&client_id, enable)
                .await
                .map_err(explain)?;
            print_json(&client_json(&c, None))
        }
        ClientCmd::RotateSecret { client_id, common } => {
            let secret = app(&common)
                .await?
                .rotate_client_secret(&client_id)
                .await
                .map_err(explain)?;
            print_json(&serde_json::json!({ "client_id": client_id, "client_secret": secret }))
        }
    }
}
