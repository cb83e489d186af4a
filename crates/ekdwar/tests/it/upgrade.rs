//! Schema changes: a database as the previous release left it, with its data, upgrades and
//! keeps working; administrative commands never migrate a database behind the operator.

use std::process::Command;

use ekdwar_app::audit::Actor;
use ekdwar_app::identity::LoginInput;
use ekdwar_domain::password::Password;
use ekdwar_domain::{
    AccountLevel, AccountStatus, AccountType, Email, PersonName, PortalId, Role, Timestamp,
};
use ekdwar_store::{Schema, Store};

use crate::accounts::PASSWORD;
use crate::support::{TempDir, TestApp, backends, fresh_postgres, random_hex};

/// The last migration of the previous release.
const PREVIOUS: i64 = 7;

/// A database at the previous release's schema holding one account and one app, as that
/// release wrote them.
async fn previous_release(url: &str) {
    use argon2::PasswordHasher;
    let store = Store::connect(url).await.unwrap();
    store.migrate_to(PREVIOUS).await.unwrap();
    assert_eq!(
        store.schema().await.unwrap(),
        Schema::Other {
            at: PREVIOUS,
            // This release adds the catalog, the deadlines, payments, appointments,
            // revocation rules, the name search, the waiting lists, the profiles, the
            // activation letters, employees, passkeys and the locker.
            latest: PREVIOUS + 14
        }
    );
    let now = Timestamp::from_millis(1_790_000_000_000);
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string();
    let mut conn = store.conn().await.unwrap();
    ekdwar_store::identity::insert_many_without_name_keys(
        &mut conn,
        &[ekdwar_store::identity::User {
            id: ekdwar_domain::UserId::new("u-old"),
            portal_id: PortalId::parse("old.timer").unwrap(),
            first_name: PersonName::parse("Old").unwrap(),
            last_name: PersonName::parse("Timer").unwrap(),
            phone: None,
            email: Some(Email::parse("old@example.in").unwrap()),
            password_hash: Some(hash),
            password_changed_at: now,
            level: AccountLevel::Simplified,
            account_type: AccountType::Citizen,
            role: Role::Citizen,
            status: AccountStatus::Active,
            language: Some("hi".into()),
            consent_at: now,
            created_at: now,
            updated_at: now,
        }],
    )
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO oidc_clients (id, name, secret_hash, redirect_uris, post_logout_redirect_uris, \
         is_public, logo_url, helpdesk_phone, helpdesk_email, officer, subject_type, \
         backchannel_logout_uri, launch_url, id_token_alg, enabled, created_at, updated_at, logo_etag) \
         VALUES ('c-old', 'Old app', NULL, 'http://localhost:9/cb', '', 1, NULL, NULL, NULL, NULL, \
         'pairwise', NULL, NULL, 'ES256', 1, $1, $1, NULL)",
    )
    .bind(now.millis())
    .execute(&mut *conn)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_database_of_the_previous_release_upgrades_and_keeps_working() {
    for backend in backends() {
        let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-up-{}", random_hex())));
        std::fs::create_dir_all(&dir.0).unwrap();
        let url = match backend {
            "postgres" => fresh_postgres().await,
            _ => format!("sqlite://{}/old.db?mode=rwc", dir.0.display()),
        };
        previous_release(&url).await;
        let t = TestApp::start_with(backend, |c| c.server.database_url = Some(url.clone())).await;
        assert_eq!(
            t.app.store().schema().await.unwrap(),
            Schema::Current,
            "{backend}"
        );
        let logged_in = t
            .app
            .identity
            .login(
                LoginInput {
                    identifier: "old@example.in".into(),
                    password: Password::new(PASSWORD),
                    challenge: None,
                },
                &Actor::default(),
            )
            .await;
        assert!(logged_in.is_ok(), "{backend}: {logged_in:?}");
        // Accounts made before the name search are found by name after the upgrade.
        let found = t.app.identity.admin_search_users("timer o").await.unwrap();
        assert_eq!(found.accounts.len(), 1, "{backend}: {found:?}");
        assert_eq!(found.accounts[0].portal_id, "old.timer");
        let app = t
            .app
            .sso
            .app("c-old")
            .await
            .unwrap()
            .expect("the app survived");
        assert!(app.public && app.api_scopes.is_empty(), "{backend}");
    }
}

/// Only `serve` and `migrate` change a schema: another command refuses a database of another
/// release and says what to do; `migrate` then upgrades it, and the command works.
#[tokio::test]
async fn commands_do_not_migrate_behind_the_operator() {
    let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-up-cli-{}", random_hex())));
    std::fs::create_dir_all(&dir.0).unwrap();
    previous_release(&format!("sqlite://{}/ekdwar.db?mode=rwc", dir.0.display())).await;
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ekdwar"))
            .args(args)
            .arg("--data")
            .arg(&dir.0)
            .env_remove("EKDWAR_DATABASE_URL")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, _, err) = run(&["user", "list"]);
    assert!(!ok && err.contains("ekdwar migrate"), "{err}");
    let (ok, _, err) = run(&["migrate"]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["user", "list"]);
    assert!(ok && out.contains("old.timer"), "{out} {err}");
}

/// `ekdwar migrate` killed while it fills the name keys (after migration 13 is recorded, a
/// batch at a time) left the rest of the accounts unfindable by name for good: the fill ran
/// only below 13. Each point a kill can leave — no batch committed, some, all but the index —
/// is made exactly, then the upgrade runs again; search must find every account.
#[tokio::test]
async fn an_upgrade_killed_while_it_fills_the_name_keys_finishes_when_run_again() {
    const ACCOUNTS: usize = 300;
    for backend in backends() {
        for committed in [0, ACCOUNTS / 2, ACCOUNTS] {
            let dir = TempDir(std::env::temp_dir().join(format!("ekdwar-kill-{}", random_hex())));
            std::fs::create_dir_all(&dir.0).unwrap();
            let url = match backend {
                "postgres" => fresh_postgres().await,
                _ => format!("sqlite://{}/old.db?mode=rwc", dir.0.display()),
            };
            let _drop =
                (backend == "postgres").then(|| ekdwar_store::testing::TestDatabase::adopt(&url));
            let store = Store::connect(&url).await.unwrap();
            store.migrate_to(PREVIOUS).await.unwrap();
            let now = Timestamp::from_millis(1_790_000_000_000);
            let users: Vec<_> = (0..ACCOUNTS)
                .map(|i| ekdwar_store::identity::User {
                    id: ekdwar_domain::UserId::new(format!("u-{i:04}")),
                    portal_id: PortalId::parse(&format!("arjun.n{i}")).unwrap(),
                    first_name: PersonName::parse("Arjun").unwrap(),
                    last_name: PersonName::parse(&format!("Nair{}", "a".repeat(i % 7))).unwrap(),
                    phone: None,
                    email: None,
                    password_hash: None,
                    password_changed_at: now,
                    level: AccountLevel::Simplified,
                    account_type: AccountType::Citizen,
                    role: Role::Citizen,
                    status: AccountStatus::Active,
                    language: None,
                    consent_at: now,
                    created_at: now,
                    updated_at: now,
                })
                .collect();
            let mut conn = store.conn().await.unwrap();
            ekdwar_store::identity::insert_many_without_name_keys(&mut conn, &users)
                .await
                .unwrap();
            drop(conn);
            // Where the kill came: 13 recorded, the first `committed` accounts filled.
            store
                .migrate_to(ekdwar_store::identity::NAME_KEYS_SINCE)
                .await
                .unwrap();
            sqlx::query("UPDATE users SET name_key = NULL, family_key = NULL WHERE id >= $1")
                .bind(format!("u-{committed:04}"))
                .execute(&mut *store.conn().await.unwrap())
                .await
                .unwrap();
            // Run again.
            store.migrate().await.unwrap();
            assert_eq!(store.schema().await.unwrap(), Schema::Current);
            let mut conn = store.conn().await.unwrap();
            let found = ekdwar_store::identity::by_name_prefix(&mut conn, "arjun", 1000)
                .await
                .unwrap();
            assert_eq!(
                found.len(),
                ACCOUNTS,
                "{backend}, killed after {committed} filled"
            );
            drop(conn);
            store.close().await;
        }
    }
}
