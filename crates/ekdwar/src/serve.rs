//! `ekdwar serve` and `ekdwar worker`: the portal, and the jobs runner on its own.

use crate::common::{Common, app, explain, load};
use anyhow::Context;
use clap::Args;
use ekdwar_app::{App, Deps};

#[derive(Args, Clone, Default)]
pub(crate) struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub(crate) listen: Option<String>,
    /// Create demo accounts and turn on development mode (outbox page).
    #[arg(long)]
    pub(crate) demo: bool,
    /// Development mode: the outbox is readable at /dev/outbox.
    #[arg(long)]
    pub(crate) dev: bool,
    #[command(flatten)]
    pub(crate) common: Common,
}

/// A process that only runs jobs. On SQLite the one writer is the server, so the worker runs
/// inside `serve` and this command says so.
pub(crate) async fn worker(common: &Common) -> anyhow::Result<()> {
    let config = load(common, None, None)?;
    anyhow::ensure!(
        config.database_url().starts_with("postgres"),
        "on SQLite the jobs run inside `ekdwar serve`; a separate worker needs PostgreSQL \
         (--database-url postgres://…)"
    );
    let app = app(common).await?;
    let stop = stopped();
    println!("Ekdwar worker is running jobs");
    tokio::select! {
        () = app.jobs.clone().run_jobs() => {}
        () = stop => {}
    }
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (what `systemctl stop`, `docker stop` and
/// `kill` send), so that both end the process through its normal shutdown. SIGTERM is caught
/// from the moment this is called, not from its first poll: a stop that comes just after
/// "ready" is not the default, abrupt one.
fn stopped() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut term) = term {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let dev = (args.demo || args.dev).then_some(true);
    let mut config = load(&args.common, args.listen.clone(), dev)?;
    // The demo pays through the test gateway, in a process of its own, unless a real one is
    // configured. It ends with this process, however this one ends: it is killed when this
    // one shuts down, and it exits by itself when its standard input (a pipe from this
    // process) closes, which the kernel does even after `kill -9`.
    let _test_gateway = if args.demo && config.payments.gateway.is_none() {
        let (child, gateway) = start_test_gateway().await?;
        println!(
            "Payments go to the TEST gateway at {} (a test double: no money moves)",
            gateway.url
        );
        config.payments.gateway = Some(gateway);
        Some(child)
    } else {
        None
    };
    // The demo's profiles are checked by the test registries (a test double), likewise.
    let _test_registry = if args.demo && config.registries.is_empty() {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let secret = hex::encode(bytes);
        let (child, url) = start_child(
            "test-registry",
            &[("EKDWAR_TEST_REGISTRY_SECRET", &secret)],
            "the test registries",
        )
        .await?;
        println!("Profiles are checked by the TEST registries at {url} (a test double)");
        println!(
            "Sign up with Aadhaar 9999 4105 7058 and mobile 98123 99001; its code shows at \
             {url}/control/otp?mobile=%2B919812399001"
        );
        if config.profile.countries == ekdwar_app::config::ProfileConfig::default().countries {
            config.profile.countries = vec!["in".into(), "ru".into()];
        }
        let names: Vec<String> = ekdwar_app::assurance::Countries::load(&config.profile.countries)?
            .all()
            .iter()
            .flat_map(|c| c.registries().into_iter().map(str::to_string))
            .collect();
        for id in names {
            config.registries.push(ekdwar_app::config::RegistryConfig {
                id,
                url: url.clone(),
                client_id: "ekdwar-demo".into(),
                secret: ekdwar_app::config::Secret::new(&secret),
                timeout_ms: 5000,
                expected_minutes: 1,
            });
        }
        // And its "Test Bank ID", a provider trusted for the verified level (a test double
        // too), unless a trusted provider is configured.
        if !config.upstream.iter().any(|u| u.trusted_for.is_some()) {
            let mut bank = ekdwar_app::config::UpstreamConfig::login_only(
                "test-bank",
                "Test Bank ID",
                &format!("{url}/bank"),
                "ekdwar-demo",
                ekdwar_app::config::Secret::new(&secret),
            );
            bank.scopes = "openid profile national_id".into();
            bank.trusted_for = Some(ekdwar_domain::AccountLevel::Verified);
            bank.identifier_claims = [("snils", "snils"), ("aadhaar", "aadhaar")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into();
            bank.login = false;
            config.upstream.push(bank);
            println!(
                "Identities may be proven through the TEST bank at {url}/bank (a test double)"
            );
        }
        Some(child)
    } else {
        None
    };
    // And its documents are issued by the test issuer (a test double of an education board),
    // unless an issuer is configured.
    let _test_issuer = if args.demo && config.locker.issuers.is_empty() {
        let mut key = [0u8; 32];
        let mut seed = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let api_key = hex::encode(key);
        let (child, url) = start_child(
            "test-issuer",
            &[
                ("EKDWAR_TEST_ISSUER_API_KEY", &api_key),
                ("EKDWAR_TEST_ISSUER_SEED", &hex::encode(seed)),
            ],
            "the test issuer",
        )
        .await?;
        config
            .locker
            .issuers
            .push(ekdwar_app::config::IssuerConfig {
                id: "in.gov.cbse".into(),
                name: "Central Board of Secondary Education (TEST)".into(),
                client_id: "cbse-demo".into(),
                api_key: ekdwar_app::config::Secret::new(&api_key),
                public_key: ekdwar_testissuer::public_key_pem(&seed),
                doc_types: vec!["HSCER".into()],
                pull_url: Some(format!("{url}/pull-uri")),
            });
        println!(
            "Documents come from the TEST issuer at {url} (a test double): as asha.devi, get the \
             Class XII marksheet with roll number 2614578, born 12-04-2008"
        );
        Some(child)
    } else {
        None
    };
    let listen = config.server.listen.clone();
    let url = config.public_url();
    let app = App::build(config, Deps::default()).await?;
    tracing::info!(backend = ?app.backend(), "database ready");
    for (channel, name) in [
        (ekdwar_domain::Channel::Sms, "SMS"),
        (ekdwar_domain::Channel::Email, "E-mail"),
    ] {
        if !app.can_send(channel) {
            tracing::warn!(
                "{name} gateway not configured: messages stay in the local outbox (read them with `ekdwar outbox`)"
            );
        }
    }
    if args.demo {
        for (pid, pw) in app.identity.seed_demo().await.map_err(explain)? {
            println!("demo account: portal ID {pid}, password {pw}");
        }
        let bundle = app
            .catalog
            .check(&crate::service::demo_files())
            .map_err(|p| anyhow::anyhow!("the bundled services do not check: {}", p[0]))?;
        app.catalog
            .import(&bundle, &ekdwar_app::audit::Actor::command_line())
            .await
            .map_err(explain)?;
        app.applications
            .seed_demo_officer()
            .await
            .map_err(explain)?;
        crate::centre::import_demo(&app).await?;
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let stop = stopped();
    println!("Ekdwar is ready: open {url}/");
    if app.config().server.dev_mode {
        println!("Development mode: sent messages are at {url}/dev/outbox");
    }
    ekdwar_web::serve(app, listener, stop).await?;
    Ok(())
}

/// Starts `ekdwar dev <command>` as a child that ends with this process, and reads the
/// address it prints.
async fn start_child(
    command: &str,
    env: &[(&str, &str)],
    what: &str,
) -> anyhow::Result<(tokio::process::Child, String)> {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["dev", command])
        .envs(env.iter().copied())
        .env(crate::dev::EXIT_WITH_PARENT, "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let stdout = child
        .stdout
        .take()
        .with_context(|| format!("{what}: no output"))?;
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await?;
    let url = line.trim().to_string();
    anyhow::ensure!(url.starts_with("http://"), "{what} did not start");
    Ok((child, url))
}

/// Starts `ekdwar dev test-gateway` as a child process with a fresh key and secret, and reads
/// the address it prints.
async fn start_test_gateway()
-> anyhow::Result<(tokio::process::Child, ekdwar_app::config::GatewayConfig)> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let key = hex::encode(&bytes[..16]);
    let secret = hex::encode(&bytes[16..]);
    let (child, url) = start_child(
        "test-gateway",
        &[
            ("EKDWAR_TEST_GATEWAY_KEY", &key),
            ("EKDWAR_TEST_GATEWAY_SECRET", &secret),
        ],
        "the test payment gateway",
    )
    .await?;
    Ok((
        child,
        ekdwar_app::config::GatewayConfig {
            kind: ekdwar_app::config::GatewayKind::Ekdwar,
            name: "test".into(),
            url,
            key: ekdwar_app::config::Secret::new(key),
            secret: ekdwar_app::config::Secret::new(secret),
            api_url: None,
        },
    ))
}
