//! The `ekdwar` binary's administration commands, run as a process against a data folder.

use std::process::Command;

use crate::support::{TempDir, TestApp, backends};

fn ekdwar(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ekdwar"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env("EKDWAR_NEW_PASSWORD", "copper kettle morning 8")
        .env("EKDWAR_ARGON2__MEMORY_KIB", "256")
        .env("EKDWAR_ARGON2__ITERATIONS", "1")
        .env_remove("EKDWAR_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn users_are_managed_from_the_command_line() {
    let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-cli-{}", std::process::id())));
    let d = dir.0.as_path();
    let (ok, out, err) = ekdwar(
        d,
        &[
            "user",
            "add",
            "--portal-id",
            "meena.op",
            "--first-name",
            "Meena",
            "--last-name",
            "Operator",
            "--phone",
            "9812300020",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("\"portal_id\": \"meena.op\""), "{out}");
    let (ok, _, err) = ekdwar(
        d,
        &[
            "user",
            "add",
            "--portal-id",
            "meena.op",
            "--first-name",
            "M",
            "--last-name",
            "O",
            "--email",
            "m@example.org",
        ],
    );
    assert!(!ok && err.contains("already registered"), "{err}");
    let (ok, _, err) = ekdwar(
        d,
        &[
            "user",
            "add",
            "--portal-id",
            "x",
            "--first-name",
            "M",
            "--last-name",
            "O",
            "--email",
            "bad",
        ],
    );
    assert!(
        !ok && err.contains("portal ID") && err.contains("e-mail"),
        "all problems reported at once: {err}"
    );
    let (_, out, _) = ekdwar(d, &["user", "show", "+919812300020", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["level"].as_str(), v["status"].as_str()),
        (Some("simplified"), Some("active"))
    );
    let (ok, out, _) = ekdwar(d, &["user", "lock", "meena.op"]);
    assert!(ok && out.contains("locked"));
    let (_, out, _) = ekdwar(d, &["user", "list", "--json"]);
    assert!(out.contains("\"status\": \"locked\""), "{out}");
    assert!(ekdwar(d, &["user", "unlock", "MEENA.OP"]).0);
    assert!(!ekdwar(d, &["user", "show", "nobody.here"]).0);
    let (ok, out, _) = ekdwar(d, &["outbox", "--json"]);
    assert!(ok && out.trim() == "[]", "{out}");
    assert!(ekdwar(d, &["migrate"]).0);
}

#[test]
fn configuration_commands() {
    let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-cfg-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let (ok, out, _) = ekdwar(&dir.0, &["config", "print-default"]);
    assert!(ok && out.contains("[security]") && out.contains("otp_ttl_minutes = 10"));
    let file = dir.0.join("ekdwar.toml");
    std::fs::write(&file, out).unwrap();
    assert!(
        ekdwar(
            &dir.0,
            &["config", "check", "--config", file.to_str().unwrap()]
        )
        .0
    );
    std::fs::write(&file, "[server]\nlisen = \"x\"\n").unwrap();
    let (ok, _, err) = ekdwar(
        &dir.0,
        &["config", "check", "--config", file.to_str().unwrap()],
    );
    assert!(!ok && err.contains("lisen"), "{err}");
}

#[tokio::test]
async fn portal_id_reminder_language_memory_and_password_expiry() {
    for backend in backends() {
        let t = TestApp::start_with(backend, |c| c.password.expiry_days = 30).await;
        let form = t.get("/register").await;
        let page = t
            .post(&form, "/language", &[("lang", "bn"), ("back", "/register")])
            .await;
        let page = t
            .post(
                &page,
                "/register",
                &[
                    ("contact", "9812300021"),
                    ("first_name", "Bina"),
                    ("last_name", "Roy"),
                    ("consent", "yes"),
                ],
            )
            .await;
        let code = t.last_code("+919812300021").await;
        let page = t.post(&page, "/register/verify", &[("code", &code)]).await;
        let pid = page.field("portal_id").unwrap();
        let pw = "copper kettle morning 8";
        t.post(
            &page,
            "/register/password",
            &[("portal_id", &pid), ("password", pw), ("confirm", pw)],
        )
        .await;

        // Forgot the portal ID: it goes to the phone, in the language of the profile.
        let b = crate::support::browser();
        let form = crate::accounts::fetch(&b, &t, "/recover/portal-id").await;
        let page = t
            .post_with(
                &b,
                &form,
                "/recover/portal-id",
                &[("contact", "+91 98123 00021")],
            )
            .await;
        assert_eq!(page.path(), "/login");
        let sms = t.last_message("+919812300021").await;
        assert!(sms.contains(&pid) && sms.contains("পোর্টাল"), "{sms}");

        // A new browser in English: after login the profile's language wins.
        let page = t
            .post_with(
                &b,
                &page,
                "/login",
                &[("identifier", &pid), ("password", pw)],
            )
            .await;
        assert!(page.has("lang=\"bn\""), "profile language remembered");

        // The password expires after 30 days: the next login leads to choosing a new one.
        t.advance(std::time::Duration::from_secs(31 * 86_400));
        let c = crate::support::browser();
        let form = crate::accounts::fetch(&c, &t, "/login").await;
        let page = t
            .post_with(
                &c,
                &form,
                "/login",
                &[("identifier", &pid), ("password", pw)],
            )
            .await;
        assert_eq!(page.path(), "/account/password");
    }
}

#[tokio::test]
async fn development_pages_only_in_development_mode() {
    for backend in backends() {
        let t = TestApp::start_with(backend, |c| c.server.dev_mode = false).await;
        assert_eq!(t.get("/dev/outbox").await.status, 404);
    }
}

#[test]
fn apps_and_keys_are_managed_from_the_command_line() {
    let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-cli-apps-{}", std::process::id())));
    let d = dir.0.as_path();
    let (ok, out, err) = ekdwar(
        d,
        &[
            "client",
            "add",
            "--name",
            "e-Mitra",
            "--redirect-uri",
            "https://emitra.example.in/cb",
            "--helpdesk-phone",
            "0141-2921336",
            "--officer",
            "R. Meena",
        ],
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = v["client_id"].as_str().unwrap().to_string();
    assert!(
        v["client_secret"].as_str().unwrap().len() >= 43,
        "256-bit secret"
    );
    let (ok, out, _) = ekdwar(
        d,
        &[
            "client",
            "add",
            "--name",
            "Mobile",
            "--redirect-uri",
            "in.gov.app:/cb",
            "--public",
        ],
    );
    assert!(
        ok && !out.contains("client_secret"),
        "public apps have no secret: {out}"
    );
    let (ok, _, err) = ekdwar(
        d,
        &[
            "client",
            "add",
            "--name",
            "Bad",
            "--redirect-uri",
            "http://evil.example/cb",
        ],
    );
    assert!(!ok && err.contains("https"), "{err}");
    let (ok, out, _) = ekdwar(
        d,
        &[
            "client",
            "update",
            &id,
            "--name",
            "e-Mitra Plus",
            "--id-token-alg",
            "RS256",
            "--api-scope",
            "records.read",
        ],
    );
    assert!(
        ok && out.contains("e-Mitra Plus") && out.contains("RS256"),
        "{out}"
    );
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["api_scopes"], serde_json::json!(["records.read"]));
    let (ok, _, err) = ekdwar(d, &["client", "update", &id, "--api-scope", "email"]);
    assert!(
        !ok && err.contains("not a scope of a person's data"),
        "{err}"
    );
    let (ok, out, _) = ekdwar(d, &["client", "rotate-secret", &id]);
    assert!(ok && out.contains("client_secret"));
    let (ok, out, _) = ekdwar(d, &["client", "disable", &id]);
    assert!(ok && out.contains("\"enabled\": false"));
    let (_, out, _) = ekdwar(d, &["client", "list"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, out, _) = ekdwar(d, &["client", "show", &id]);
    assert!(out.contains("R. Meena"));
    let (_, before, _) = ekdwar(d, &["keys", "list"]);
    let (ok, out, _) = ekdwar(d, &["keys", "rotate"]);
    assert!(ok && out.contains("now signing with key"));
    let (_, after, _) = ekdwar(d, &["keys", "list"]);
    let count = |s: &str| {
        serde_json::from_str::<serde_json::Value>(s).unwrap()["keys"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(&after), count(&before) + 1, "old key still published");
}

/// A command given only `--database-url` made a new server key in the working directory: its
/// signing keys and codes would not match the server's. It now asks for the server's data
/// folder (or `server.secret_key`) and leaves the directory alone.
#[test]
fn a_command_with_only_a_database_url_does_not_make_a_key() {
    let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-cli-url-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = format!("sqlite://{}/elsewhere.db?mode=rwc", dir.0.display());
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ekdwar"))
            .args(args)
            .current_dir(&dir.0)
            .env_remove("EKDWAR_DATA")
            .env_remove("EKDWAR_DATABASE_URL")
            .env_remove("EKDWAR_SERVER__SECRET_KEY")
            .output()
            .unwrap()
    };
    let out = run(&["keys", "rotate", "--database-url", &db]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("--data") && err.contains("secret_key"),
        "{err}"
    );
    assert!(
        !dir.0.join("ekdwar-data").exists(),
        "a data folder appeared"
    );
    // Given a folder without the server's key, it says so; with the key, it works.
    let data = dir.0.join("server-data");
    let out = run(&[
        "keys",
        "rotate",
        "--database-url",
        &db,
        "--data",
        data.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("secret.key"),
        "no key there yet: {err}"
    );
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("secret.key"), "ab".repeat(32)).unwrap();
    let out = run(&[
        "keys",
        "rotate",
        "--database-url",
        &db,
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn service_definitions_are_checked_and_imported_from_the_command_line() {
    let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-svc-{}", std::process::id())));
    let d = dir.0.as_path();
    let services = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services");
    let services = services.to_str().unwrap();
    let (ok, out, err) = ekdwar(d, &["service", "validate", services]);
    assert!(ok, "{err}");
    assert!(out.contains("are valid"), "{out}");

    // A broken copy: the problems name the file and the place, and nothing is imported.
    let broken = d.join("broken");
    std::fs::create_dir_all(broken.join("passport")).unwrap();
    std::fs::copy(
        format!("{services}/catalog.toml"),
        broken.join("catalog.toml"),
    )
    .unwrap();
    let fresh = std::fs::read_to_string(format!("{services}/passport/fresh.toml")).unwrap();
    std::fs::write(
        broken.join("passport/fresh.toml"),
        fresh.replace("category = \"passports\"", "category = \"passport\""),
    )
    .unwrap();
    let (ok, _, err) = ekdwar(d, &["service", "import", broken.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("passport/fresh.toml: category: no category \"passport\" is declared"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");

    let (ok, out, err) = ekdwar(d, &["service", "import", services, "--json"]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["catalog_changed"], true);
    assert!(report["changed"].as_array().unwrap().len() >= 5, "{out}");
    let (ok, out, _) = ekdwar(d, &["service", "import", services]);
    assert!(ok);
    assert!(out.contains("unchanged"), "{out}");

    let (ok, out, _) = ekdwar(d, &["service", "schema"]);
    assert!(ok);
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(schema["title"], "ServiceDefinition");
}

#[test]
fn an_administrator_sets_a_level_and_it_is_audited() {
    let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-lvl-{}", std::process::id())));
    let d = dir.0.as_path();
    let (ok, _, err) = ekdwar(
        d,
        &[
            "user",
            "add",
            "--portal-id",
            "kiran.s",
            "--first-name",
            "Kiran",
            "--last-name",
            "Singh",
            "--phone",
            "9812300031",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = ekdwar(d, &["user", "set-level", "kiran.s", "gold"]);
    assert!(
        !ok && err.contains("use simplified, standard or verified"),
        "{err}"
    );
    let (ok, out, err) = ekdwar(d, &["user", "set-level", "kiran.s", "standard"]);
    assert!(ok, "{err}");
    assert!(out.contains("standard level"), "{out}");
    let (_, out, _) = ekdwar(d, &["user", "show", "kiran.s", "--json"]);
    assert!(out.contains("\"level\": \"standard\""), "{out}");
}

#[test]
fn the_demo_bundle_is_every_definition_in_the_folder() {
    // `serve --demo` imports the files bundled in the binary; none may be forgotten.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services");
    let on_disk = ekdwar_app::catalog::Bundle::read_dir(&root).unwrap().len();
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/service.rs"),
    )
    .unwrap();
    let bundled = source.matches(".toml\",").count();
    assert_eq!(
        bundled, on_disk,
        "add the new file to demo_files() in src/service.rs"
    );
}

#[tokio::test]
async fn seeded_accounts_and_apps_are_written_in_bulk_and_log_in() {
    use ekdwar_app::audit::Actor;
    use ekdwar_app::identity::LoginInput;
    use ekdwar_domain::password::Password;
    let dir =
        TempDir(std::env::temp_dir().join(format!("ekdwar-seed-{}", crate::support::random_hex())));
    let d = dir.0.as_path();
    // More than one statement's and one transaction's worth.
    let (ok, out, err) = ekdwar(
        d,
        &[
            "dev",
            "seed",
            "--accounts",
            "12345",
            "--apps",
            "2",
            "--prefix",
            "load",
        ],
    );
    assert!(ok, "{err}");
    assert!(err.contains("12345 accounts"), "{err}");
    let apps: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(apps.len(), 2);
    assert!(apps.iter().all(|a| a["client_secret"].as_str().is_some()));
    let (ok, out, _) = ekdwar(d, &["user", "show", "+918000012344", "--json"]);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["portal_id"], "load.12344");
    assert!(
        !ekdwar(d, &["user", "show", "load.12345"]).0,
        "no more than asked"
    );
    // Seeded accounts share a password: never into a database that holds accounts already.
    let (ok, _, err) = ekdwar(d, &["dev", "seed", "--accounts", "5", "--prefix", "more"]);
    assert!(!ok);
    assert!(
        err.contains("already holds 12345 accounts") && err.contains("--database-url"),
        "{err}"
    );
    assert!(!ekdwar(d, &["user", "show", "more.0"]).0, "nothing written");
    // The search: exact, then by the start of a name (seeded names come in four scripts).
    let (ok, out, err) = ekdwar(d, &["user", "search", "LOAD.77", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["accounts"][0]["portal_id"], "load.77", "{out}");
    let (ok, out, err) = ekdwar(d, &["user", "search", "anna", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["accounts"].as_array().unwrap().len(), 20, "{out}");
    assert_eq!(v["more"], true);
    assert!(
        v["accounts"][0]["first_name"] == "Анна",
        "Cyrillic found by Latin letters: {out}"
    );

    let mut config = ekdwar_app::config::Config::default();
    config.server.data_dir = d.to_path_buf();
    let app = ekdwar_app::App::build(config, ekdwar_app::Deps::default())
        .await
        .unwrap();
    for (identifier, password, ok) in [
        ("load.77", "copper kettle morning 8", true),
        ("load.12000@example.in", "copper kettle morning 8", true),
        ("load.78", "not the password", false),
    ] {
        let result = app
            .identity
            .login(
                LoginInput {
                    identifier: identifier.into(),
                    password: Password::new(password),
                    challenge: None,
                },
                &Actor::default(),
            )
            .await;
        assert_eq!(result.is_ok(), ok, "{identifier}: {result:?}");
    }
}

/// `serve --demo` pays through a test gateway in a child process. Stopping the portal with
/// SIGTERM (as `systemctl stop` does), or killing it with SIGKILL, used to leave that child
/// running and holding its port.
#[test]
fn the_demo_test_gateway_ends_with_the_portal_however_it_is_stopped() {
    use std::io::BufRead;
    for signal in ["-TERM", "-KILL"] {
        let dir = TempDir(
            std::env::temp_dir().join(format!("ekdwar-cli-stop{signal}-{}", std::process::id())),
        );
        let mut serve = Command::new(env!("CARGO_BIN_EXE_ekdwar"))
            .args(["serve", "--demo", "--listen"])
            .arg(format!("127.0.0.1:{}", crate::support::free_port()))
            .arg("--data")
            .arg(&dir.0)
            .env("EKDWAR_ARGON2__MEMORY_KIB", "256")
            .env("EKDWAR_ARGON2__ITERATIONS", "1")
            .env_remove("EKDWAR_DATABASE_URL")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut gateway = None;
        let mut lines = std::io::BufReader::new(serve.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("Payments go to the TEST gateway at ") {
                gateway = rest.split_whitespace().next().map(str::to_string);
            }
            if line.starts_with("Ekdwar is ready") {
                break;
            }
        }
        // Keep reading what it prints, as a terminal would.
        std::thread::spawn(move || lines.for_each(drop));
        let gateway = gateway.expect("the demo names its test gateway");
        let addr = gateway.trim_start_matches("http://").to_string();
        assert!(
            std::net::TcpStream::connect(&addr).is_ok(),
            "the test gateway answers at {addr}"
        );
        let killed = Command::new("kill")
            .arg(signal)
            .arg(serve.id().to_string())
            .status()
            .unwrap();
        assert!(killed.success());
        let status = serve.wait().unwrap();
        if signal == "-TERM" {
            assert!(status.success(), "SIGTERM is a clean shutdown: {status}");
        }
        // The child goes within a few seconds (it is told, or its pipe closes).
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(&addr).is_ok() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "the test gateway at {addr} outlived the portal ({signal})"
            );
            std::thread::yield_now();
        }
    }
}
