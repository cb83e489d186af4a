//! Contract tests: every store operation, against SQLite always and against PostgreSQL when
//! `EKDWAR_TEST_DATABASE_URL` points at a server (a fresh database per test).

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::sso::{SigningAlg, SubjectType, TokenKind};
use ekdwar_domain::throttle::Counter;
use ekdwar_domain::{
    AccountLevel, AccountStatus, AccountType, Channel, Contact, Email, LoginIdentifier, PersonName,
    Phone, PortalId, Regions, Role, Timestamp,
};
use ekdwar_domain::{ClientId, SessionId, UserId};

use crate::audit::{self, NewAuditEntry};
use crate::identity::{self, User};
use crate::notify::{self, NewMessage, OutboxStatus};
use crate::sessions::{self, Session};
use crate::verifications::{self, Verification};
use crate::{Store, StoreError, throttle};

fn hex_id() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}

/// The stores of one test; a PostgreSQL database made for it is dropped when they go.
struct Stores {
    stores: Vec<Store>,
    _pg: Option<crate::testing::TestDatabase>,
}

impl std::ops::Deref for Stores {
    type Target = [Store];
    fn deref(&self) -> &[Store] {
        &self.stores
    }
}

impl IntoIterator for Stores {
    type Item = Store;
    type IntoIter = std::iter::Chain<std::vec::IntoIter<Store>, DropAfter>;
    fn into_iter(mut self) -> Self::IntoIter {
        let stores = std::mem::take(&mut self.stores);
        stores.into_iter().chain(DropAfter(self))
    }
}

/// Yields nothing; carries the stores' guard to the end of the loop over them.
struct DropAfter(#[allow(dead_code)] Stores);

impl Iterator for DropAfter {
    type Item = Store;
    fn next(&mut self) -> Option<Store> {
        None
    }
}

/// One fresh, migrated store per configured backend.
async fn stores() -> Stores {
    let dir = std::env::temp_dir().join(format!("ekdwar-store-{}", hex_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut urls = vec![Store::sqlite_url_in(&dir)];
    let mut pg = None;
    if let Some(server) = crate::testing::server() {
        let url = crate::testing::create(&server).await;
        pg = crate::testing::TestDatabase::adopt(&url);
        urls.push(url);
    }
    let mut stores = Vec::new();
    for url in urls {
        let s = Store::connect(&url).await.unwrap();
        s.migrate().await.unwrap();
        s.migrate().await.unwrap(); // idempotent
        stores.push(s);
    }
    Stores { stores, _pg: pg }
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_millis(s * 1000)
}

fn user(id: &str, pid: &str, phone: Option<&str>, email: Option<&str>) -> User {
    User {
        id: UserId::new(id),
        portal_id: PortalId::parse(pid).unwrap(),
        first_name: PersonName::parse("आशा").unwrap(),
        last_name: PersonName::parse("Kumari").unwrap(),
        phone: phone.map(|p| Phone::parse(p, &Regions::india()).unwrap()),
        email: email.map(|e| Email::parse(e).unwrap()),
        password_hash: Some("$argon2id$fake".into()),
        password_changed_at: at(1),
        level: AccountLevel::Simplified,
        account_type: AccountType::Citizen,
        role: Role::Citizen,
        status: AccountStatus::Active,
        language: Some("hi".into()),
        consent_at: at(1),
        created_at: at(1),
        updated_at: at(1),
    }
}

/// Both backends' migrations make the same tables, columns and named indexes.
#[tokio::test]
async fn both_backends_have_the_same_schema() {
    let stores = stores().await;
    let mut shapes = Vec::new();
    for s in stores.iter() {
        shapes.push((s.backend(), s.shape().await.unwrap()));
    }
    assert!(
        shapes[0].1.contains_key("users")
            && shapes[0].1["users"].contains(&"portal_id".to_string())
    );
    if let [(_, sqlite), (_, postgres)] = &shapes[..] {
        assert_eq!(sqlite, postgres);
    }
}

#[tokio::test]
async fn users() {
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        identity::insert(&mut c, &user("u1", "Asha.K", Some("9812345678"), None))
            .await
            .unwrap();
        identity::insert(
            &mut c,
            &user("u2", "ravi.k", None, Some("ravi@example.org")),
        )
        .await
        .unwrap();
        let conflict = identity::insert(&mut c, &user("u3", "ASHA.k", None, None)).await;
        assert!(
            matches!(conflict, Err(StoreError::Conflict("portal_id"))),
            "{:?} {:?}",
            s.backend(),
            conflict
        );
        let conflict =
            identity::insert(&mut c, &user("u4", "other", Some("+919812345678"), None)).await;
        assert!(
            matches!(conflict, Err(StoreError::Conflict("phone"))),
            "{conflict:?}"
        );
        let conflict =
            identity::insert(&mut c, &user("u5", "other", None, Some("RAVI@example.org"))).await;
        assert!(
            matches!(conflict, Err(StoreError::Conflict("email"))),
            "{conflict:?}"
        );

        let u = identity::by_id(&mut c, &UserId::new("u1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.portal_id.as_str(), "Asha.K");
        assert_eq!(u.first_name.as_str(), "आशा");
        assert_eq!(u.language.as_deref(), Some("hi"));
        let r = &Regions::india();
        for id in ["asha.k", "98123 45678"] {
            let found = identity::by_identifier(&mut c, &LoginIdentifier::parse(id, r).unwrap())
                .await
                .unwrap();
            assert_eq!(
                found.map(|u| u.id.into_string()),
                Some("u1".to_string()),
                "{id}"
            );
        }
        let by_mail = identity::by_contact(&mut c, &Contact::parse("Ravi@Example.org", r).unwrap())
            .await
            .unwrap();
        assert_eq!(by_mail.unwrap().id, "u2");
        assert!(
            identity::portal_id_taken(&mut c, &PortalId::parse("RAVI.K").unwrap())
                .await
                .unwrap()
        );
        assert!(
            identity::by_id(&mut c, &UserId::new("nobody"))
                .await
                .unwrap()
                .is_none()
        );

        assert!(
            identity::set_password(&mut c, &UserId::new("u1"), "$argon2id$new", at(5))
                .await
                .unwrap()
        );
        assert!(
            identity::set_name(
                &mut c,
                &UserId::new("u1"),
                &PersonName::parse("Asha").unwrap(),
                &PersonName::parse("Devi").unwrap(),
                at(6)
            )
            .await
            .unwrap()
        );
        assert!(
            identity::set_contact(
                &mut c,
                &UserId::new("u1"),
                &Contact::parse("asha@example.org", r).unwrap(),
                at(7)
            )
            .await
            .unwrap()
        );
        assert!(matches!(
            identity::set_contact(
                &mut c,
                &UserId::new("u1"),
                &Contact::parse("ravi@example.org", r).unwrap(),
                at(7)
            )
            .await,
            Err(StoreError::Conflict("email"))
        ));
        assert!(
            identity::set_language(&mut c, &UserId::new("u1"), Some("ru"), at(8))
                .await
                .unwrap()
        );
        assert!(
            identity::set_status(&mut c, &UserId::new("u1"), AccountStatus::Locked, at(9))
                .await
                .unwrap()
        );
        assert!(
            !identity::set_status(&mut c, &UserId::new("nobody"), AccountStatus::Locked, at(9))
                .await
                .unwrap()
        );
        let u = identity::by_id(&mut c, &UserId::new("u1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(u.password_hash.as_deref(), Some("$argon2id$new"));
        assert_eq!(u.password_changed_at, at(5));
        assert_eq!(u.full_name(), "Asha Devi");
        assert_eq!(u.email.unwrap().as_str(), "asha@example.org");
        assert_eq!(u.phone.unwrap().as_str(), "+919812345678");
        assert_eq!(u.language.as_deref(), Some("ru"));
        assert_eq!(u.status, AccountStatus::Locked);
        assert_eq!(u.updated_at, at(9));

        assert_eq!(identity::count(&mut c).await.unwrap(), 2);
        let page: Vec<String> = identity::list(&mut c, 1, 1)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id.into_string())
            .collect();
        assert_eq!(page, ["u2"]);
    }
}

fn session(hash: &str, user: &str, created: i64) -> Session {
    Session {
        id_hash: SessionId::new(hash),
        user_id: UserId::new(user),
        created_at: at(created),
        last_seen_at: at(created),
        expires_at: at(created + 3600),
        ip: Some("127.0.0.1".into()),
        user_agent: Some("Firefox".into()),
        amr: "pwd".into(),
        revoked_at: None,
    }
}

#[tokio::test]
async fn sessions() {
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        identity::insert(&mut c, &user("u1", "asha.k", None, None))
            .await
            .unwrap();
        identity::insert(&mut c, &user("u2", "ravi.k", None, None))
            .await
            .unwrap();
        for (h, u, t) in [
            ("a", "u1", 10),
            ("b", "u1", 20),
            ("c", "u1", 30),
            ("d", "u2", 10),
        ] {
            sessions::insert(&mut c, &session(h, u, t)).await.unwrap();
        }
        sessions::touch(&mut c, &SessionId::new("a"), at(50))
            .await
            .unwrap();
        let a = sessions::by_hash(&mut c, &SessionId::new("a"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.last_seen_at, a.ip.as_deref(), a.amr.as_str()),
            (at(50), Some("127.0.0.1"), "pwd")
        );
        let active: Vec<String> = sessions::active_for_user(&mut c, &UserId::new("u1"), at(60))
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id_hash.into_string())
            .collect();
        assert_eq!(active, ["a", "c", "b"]);
        assert!(
            !sessions::revoke(&mut c, &UserId::new("u2"), &SessionId::new("a"), at(61))
                .await
                .unwrap(),
            "not theirs"
        );
        assert!(
            sessions::revoke(&mut c, &UserId::new("u1"), &SessionId::new("a"), at(61))
                .await
                .unwrap()
        );
        assert!(
            !sessions::revoke(&mut c, &UserId::new("u1"), &SessionId::new("a"), at(62))
                .await
                .unwrap(),
            "already revoked"
        );
        assert_eq!(
            sessions::revoke_all_except(
                &mut c,
                &UserId::new("u1"),
                Some(&SessionId::new("c")),
                at(63)
            )
            .await
            .unwrap(),
            1
        );
        assert_eq!(
            sessions::active_for_user(&mut c, &UserId::new("u1"), at(64))
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            sessions::revoke_all_except(&mut c, &UserId::new("u1"), None, at(65))
                .await
                .unwrap(),
            1
        );
        assert!(
            sessions::by_hash(&mut c, &SessionId::new("a"))
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
        );
        assert_eq!(
            sessions::active_for_user(&mut c, &UserId::new("u2"), at(10 + 3600))
                .await
                .unwrap()
                .len(),
            0,
            "absolute expiry"
        );
        assert_eq!(sessions::purge(&mut c, at(10_000)).await.unwrap(), 4);
    }
}

fn verification(id: &str, purpose: ekdwar_domain::identity::Purpose) -> Verification {
    Verification {
        id: id.into(),
        purpose,
        user_id: None,
        channel: Channel::Sms,
        contact: "+919812345678".into(),
        secret_hash: "h1".into(),
        payload: "{\"decoy\":false}".into(),
        attempts: 0,
        max_attempts: 5,
        created_at: at(0),
        expires_at: at(600),
        resend_after: at(60),
        verified_at: None,
        consumed_at: None,
    }
}

#[tokio::test]
async fn verifications() {
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        verifications::insert(
            &mut c,
            &verification("v1", ekdwar_domain::identity::Purpose::Register),
        )
        .await
        .unwrap();
        assert_eq!(
            verifications::claim_attempt(&mut c, "v1").await.unwrap(),
            Some(1)
        );
        assert_eq!(
            verifications::claim_attempt(&mut c, "v1").await.unwrap(),
            Some(2)
        );
        for n in 3..=5 {
            assert_eq!(
                verifications::claim_attempt(&mut c, "v1").await.unwrap(),
                Some(n)
            );
        }
        assert_eq!(
            verifications::claim_attempt(&mut c, "v1").await.unwrap(),
            None,
            "no sixth attempt"
        );
        assert!(
            !verifications::replace_secret(&mut c, "v1", "h2", at(0), at(700), at(120))
                .await
                .unwrap(),
            "no resend before the cool-down"
        );
        assert!(
            verifications::replace_secret(&mut c, "v1", "h2", at(61), at(700), at(120))
                .await
                .unwrap()
        );
        let v = verifications::by_id(&mut c, "v1").await.unwrap().unwrap();
        assert_eq!(
            (
                v.secret_hash.as_str(),
                v.attempts,
                v.expires_at,
                v.resend_after
            ),
            ("h2", 0, at(700), at(120))
        );
        assert_eq!(v.channel, Channel::Sms);
        assert!(
            verifications::mark_verified(&mut c, "v1", at(30))
                .await
                .unwrap()
        );
        assert!(
            !verifications::mark_verified(&mut c, "v1", at(31))
                .await
                .unwrap(),
            "single use"
        );
        assert!(
            !verifications::replace_secret(&mut c, "v1", "h3", at(500), at(800), at(200))
                .await
                .unwrap(),
            "no resend after verification"
        );
        assert!(verifications::consume(&mut c, "v1", at(40)).await.unwrap());
        assert!(!verifications::consume(&mut c, "v1", at(41)).await.unwrap());
        let v = verifications::by_id(&mut c, "v1").await.unwrap().unwrap();
        assert_eq!((v.verified_at, v.consumed_at), (Some(at(30)), Some(at(40))));
        verifications::insert(
            &mut c,
            &verification("v2", ekdwar_domain::identity::Purpose::Recover),
        )
        .await
        .unwrap();
        assert_eq!(verifications::purge(&mut c, at(650)).await.unwrap(), 1);
        assert!(verifications::by_id(&mut c, "v2").await.unwrap().is_none());
        assert!(verifications::by_id(&mut c, "v1").await.unwrap().is_some());
    }
}

#[tokio::test]
async fn throttle_and_challenges() {
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        assert!(throttle::get(&mut c, "k").await.unwrap().is_none());
        let counter = Counter {
            failures: 3,
            window_start: at(1),
            last_failure_at: at(2),
            locked_until: at(3),
        };
        throttle::put(&mut c, "k", &counter).await.unwrap();
        let bumped = Counter {
            failures: 4,
            ..counter
        };
        throttle::put(&mut c, "k", &bumped).await.unwrap();
        assert_eq!(throttle::get(&mut c, "k").await.unwrap(), Some(bumped));
        throttle::clear(&mut c, "k").await.unwrap();
        assert!(throttle::get(&mut c, "k").await.unwrap().is_none());
        assert!(
            throttle::use_challenge(&mut c, "n1", at(100))
                .await
                .unwrap()
        );
        assert!(
            !throttle::use_challenge(&mut c, "n1", at(100))
                .await
                .unwrap(),
            "replay"
        );
        throttle::put(&mut c, "old", &counter).await.unwrap();
        assert_eq!(throttle::purge(&mut c, at(200)).await.unwrap(), 2);
    }
}

/// Concurrent changes to one counter, each on its own connection, all count: none overwrites
/// another (the lost update the security review found in login counting).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counters_change_atomically_under_concurrency() {
    for s in stores().await {
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = s.conn().await.unwrap();
                throttle::modify(&mut c, "race", |old| {
                    let mut n = old.unwrap_or(Counter {
                        failures: 0,
                        window_start: at(1),
                        last_failure_at: at(1),
                        locked_until: at(0),
                    });
                    n.failures += 1;
                    Some(n)
                })
                .await
                .unwrap()
            }));
        }
        let mut seen = Vec::new();
        for t in tasks {
            let (before, after) = t.await.unwrap();
            seen.push((before.map_or(0, |b| b.failures), after.unwrap().failures));
        }
        let mut c = s.conn().await.unwrap();
        assert_eq!(
            throttle::get(&mut c, "race")
                .await
                .unwrap()
                .unwrap()
                .failures,
            40
        );
        // Every change saw a different value: each took its own place in the count.
        seen.sort();
        assert_eq!(seen, (0..40).map(|i| (i, i + 1)).collect::<Vec<_>>());
        // A limit: `None` leaves the counter as it is.
        let (before, after) = throttle::modify(&mut c, "race", |_| None).await.unwrap();
        assert_eq!((before.unwrap().failures, after), (40, None));
    }
}

#[tokio::test]
async fn audit_trail() {
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        for (i, action) in [
            AuditAction::Registered,
            AuditAction::LoginFailed,
            AuditAction::LoginSucceeded,
        ]
        .into_iter()
        .enumerate()
        {
            audit::append(
                &mut c,
                &NewAuditEntry {
                    at: at(i as i64),
                    actor_id: None,
                    subject_id: Some("u1".into()),
                    action,
                    outcome: Outcome::Success,
                    ip: Some("10.0.0.1".into()),
                    detail: None,
                },
            )
            .await
            .unwrap();
        }
        audit::append(
            &mut c,
            &NewAuditEntry {
                at: at(9),
                actor_id: Some("cli".into()),
                subject_id: Some("u2".into()),
                action: AuditAction::AdminUserLocked,
                outcome: Outcome::Success,
                ip: None,
                detail: Some("x".into()),
            },
        )
        .await
        .unwrap();
        let mine: Vec<AuditAction> = audit::for_subject(&mut c, "u1", None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            mine,
            [
                AuditAction::LoginSucceeded,
                AuditAction::LoginFailed,
                AuditAction::Registered
            ]
        );
        let recent = audit::recent(&mut c, 2).await.unwrap();
        assert_eq!(recent[0].action, AuditAction::AdminUserLocked);
        assert_eq!(recent[0].actor_id.as_deref(), Some("cli"));
        assert_eq!(recent.len(), 2);
    }
}

fn message(to: &str, status: OutboxStatus) -> NewMessage {
    NewMessage {
        channel: Channel::Sms,
        recipient: to.into(),
        subject: None,
        body: "code 123456".into(),
        kind: "register".into(),
        status,
        created_at: at(0),
    }
}

#[tokio::test]
async fn outbox() {
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        let a = notify::enqueue(&mut c, &message("+911", OutboxStatus::Pending))
            .await
            .unwrap();
        let b = notify::enqueue(&mut c, &message("+912", OutboxStatus::Pending))
            .await
            .unwrap();
        notify::enqueue(&mut c, &message("+911", OutboxStatus::Local))
            .await
            .unwrap();
        assert!(notify::mark_sent(&mut c, a, at(2)).await.unwrap());
        assert!(
            !notify::mark_sent(&mut c, a, at(3)).await.unwrap(),
            "a message is sent once"
        );
        notify::mark_attempt_failed(&mut c, b, "gateway down", false)
            .await
            .unwrap();
        let retried = notify::by_id(&mut c, b).await.unwrap().unwrap();
        assert_eq!(
            (
                retried.status,
                retried.attempts,
                retried.last_error.as_deref()
            ),
            (OutboxStatus::Pending, 1, Some("gateway down"))
        );
        notify::mark_attempt_failed(&mut c, b, "gave up", true)
            .await
            .unwrap();
        let to1 = notify::list(&mut c, Some("+911"), 10).await.unwrap();
        assert_eq!(to1.len(), 2);
        assert_eq!(to1[1].status, OutboxStatus::Sent);
        assert_eq!(to1[1].body, "", "delivered bodies are removed");
        assert_eq!(to1[0].status, OutboxStatus::Local);
        let all = notify::list(&mut c, None, 10).await.unwrap();
        assert_eq!(
            all.iter().find(|m| m.id == b).unwrap().status,
            OutboxStatus::Failed
        );
    }
}

#[tokio::test]
async fn transactions_roll_back_as_a_whole() {
    for s in stores().await {
        {
            let mut tx = s.begin().await.unwrap();
            identity::insert(&mut tx, &user("u1", "asha.k", None, None))
                .await
                .unwrap();
            notify::enqueue(&mut tx, &message("+911", OutboxStatus::Local))
                .await
                .unwrap();
            // Dropped without commit: a crash between the two writes.
        }
        let mut c = s.conn().await.unwrap();
        assert_eq!(identity::count(&mut c).await.unwrap(), 0);
        assert!(notify::list(&mut c, None, 10).await.unwrap().is_empty());
        s.ping().await.unwrap();
    }
}

fn client(id: &str, enabled: bool) -> crate::sso::Client {
    crate::sso::Client {
        id: ClientId::new(id),
        name: format!("App {id}"),
        secret_hash: Some("abc".into()),
        redirect_uris: vec!["https://a.gov.in/cb".into(), "http://localhost/cb".into()],
        post_logout_redirect_uris: vec![],
        is_public: false,
        logo_url: None,
        logo_etag: None,
        helpdesk_phone: Some("1800-180-6127".into()),
        helpdesk_email: None,
        officer: Some("R. Meena".into()),
        subject_type: SubjectType::Pairwise,
        backchannel_logout_uri: None,
        launch_url: Some("https://a.gov.in/".into()),
        id_token_alg: SigningAlg::Rs256,
        api_scopes: vec!["records.read".into()],
        enabled,
        created_at: at(1),
        updated_at: at(1),
    }
}

#[tokio::test]
async fn sso_records() {
    use crate::sso;
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        identity::insert(&mut c, &user("u1", "asha.k", None, None))
            .await
            .unwrap();
        sso::save_client(&mut c, &client("c1", true)).await.unwrap();
        sso::save_client(&mut c, &client("c2", false))
            .await
            .unwrap();
        let mut changed = client("c1", true);
        changed.name = "e-Mitra".into();
        sso::save_client(&mut c, &changed).await.unwrap();
        assert_eq!(
            sso::client(&mut c, &ClientId::new("c1")).await.unwrap(),
            Some(changed)
        );
        assert_eq!(sso::clients(&mut c, true).await.unwrap().len(), 1);
        assert_eq!(sso::clients(&mut c, false).await.unwrap().len(), 2);

        let key = sso::SigningKey {
            kid: "k1".into(),
            alg: SigningAlg::Es256,
            private_wrapped: "w".into(),
            public_jwk: "{}".into(),
            created_at: at(1),
            retired_at: None,
        };
        sso::insert_key(&mut c, &key).await.unwrap();
        sso::insert_key(
            &mut c,
            &sso::SigningKey {
                kid: "k2".into(),
                created_at: at(2),
                ..key.clone()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            sso::retire_keys_except(&mut c, SigningAlg::Es256, "k2", at(3))
                .await
                .unwrap(),
            1
        );
        let keys = sso::keys(&mut c).await.unwrap();
        assert_eq!(
            (keys[0].kid.as_str(), keys[1].retired_at),
            ("k2", Some(at(3)))
        );

        assert_eq!(
            sso::consent(&mut c, &UserId::new("u1"), &ClientId::new("c1"))
                .await
                .unwrap(),
            None
        );
        sso::save_consent(
            &mut c,
            &UserId::new("u1"),
            &ClientId::new("c1"),
            "openid",
            at(4),
        )
        .await
        .unwrap();
        sso::save_consent(
            &mut c,
            &UserId::new("u1"),
            &ClientId::new("c1"),
            "email openid",
            at(5),
        )
        .await
        .unwrap();
        assert_eq!(
            sso::consent(&mut c, &UserId::new("u1"), &ClientId::new("c1"))
                .await
                .unwrap()
                .as_deref(),
            Some("email openid")
        );
        assert_eq!(
            sso::consents_of(&mut c, &UserId::new("u1"))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            sso::delete_consent(&mut c, &UserId::new("u1"), &ClientId::new("c1"))
                .await
                .unwrap()
        );

        let code = sso::AuthCode {
            code_hash: "h".into(),
            client_id: ClientId::new("c1"),
            user_id: UserId::new("u1"),
            session_hash: SessionId::new("s"),
            redirect_uri: "https://a.gov.in/cb".into(),
            scopes: "openid".into(),
            nonce: Some("n".into()),
            code_challenge: None,
            auth_time: at(1),
            amr: "pwd".into(),
            created_at: at(1),
            expires_at: at(61),
            used_at: None,
            family: "f1".into(),
        };
        sso::insert_code(&mut c, &code).await.unwrap();
        assert_eq!(
            sso::take_code(&mut c, "h", at(2))
                .await
                .unwrap()
                .unwrap()
                .used_at,
            None
        );
        assert_eq!(
            sso::take_code(&mut c, "h", at(3))
                .await
                .unwrap()
                .unwrap()
                .used_at,
            Some(at(2)),
            "replay visible"
        );
        assert!(
            sso::take_code(&mut c, "nope", at(3))
                .await
                .unwrap()
                .is_none()
        );

        let t = sso::Token {
            token_hash: "t1".into(),
            kind: TokenKind::Refresh,
            client_id: ClientId::new("c1"),
            user_id: Some(UserId::new("u1")),
            session_hash: Some(SessionId::new("s")),
            scopes: "openid".into(),
            family: "f1".into(),
            auth_time: Some(at(1)),
            amr: Some("pwd".into()),
            created_at: at(1),
            expires_at: at(100),
            used_at: None,
            revoked_at: None,
        };
        sso::insert_token(&mut c, &t).await.unwrap();
        sso::insert_token(
            &mut c,
            &sso::Token {
                token_hash: "t2".into(),
                kind: TokenKind::Access,
                ..t.clone()
            },
        )
        .await
        .unwrap();
        assert!(sso::use_token(&mut c, "t1", at(5)).await.unwrap());
        assert!(
            !sso::use_token(&mut c, "t1", at(6)).await.unwrap(),
            "rotation is single use"
        );
        assert_eq!(
            sso::clients_of_session(&mut c, &SessionId::new("s"))
                .await
                .unwrap(),
            ["c1"]
        );
        assert_eq!(sso::revoke_family(&mut c, "f1", at(7)).await.unwrap(), 2);
        assert_eq!(
            sso::token(&mut c, "t2").await.unwrap().unwrap().revoked_at,
            Some(at(7))
        );
        assert_eq!(
            sso::revoke_user_client(&mut c, &UserId::new("u1"), &ClientId::new("c1"), at(9))
                .await
                .unwrap(),
            0
        );
    }
}

#[tokio::test]
async fn refresh_rotation_is_single_use_and_revocations_are_read_in_order() {
    use crate::sso;
    use ekdwar_domain::revocation::Revocation;
    for store in stores().await {
        let mut c = store.conn().await.unwrap();
        let first = sso::Token {
            token_hash: "r1".into(),
            kind: TokenKind::Refresh,
            client_id: ClientId::new("c1"),
            user_id: Some(UserId::new("u1")),
            session_hash: Some(SessionId::new("s")),
            scopes: "openid".into(),
            family: "f1".into(),
            auth_time: Some(at(1)),
            amr: Some("pwd".into()),
            created_at: at(1),
            expires_at: at(100),
            used_at: None,
            revoked_at: None,
        };
        sso::insert_token(&mut c, &first).await.unwrap();
        drop(c);
        let next = |h: &str| sso::Token {
            token_hash: h.into(),
            created_at: at(2),
            ..first.clone()
        };
        let rotate = async |used: &str, to: &str| {
            let mut tx = store.begin().await.unwrap();
            let done = sso::rotate_refresh(&mut tx, used, &next(to), at(2))
                .await
                .unwrap();
            crate::commit(tx).await.unwrap();
            done
        };
        assert!(rotate("r1", "r2").await);
        assert!(
            !rotate("r1", "r3").await,
            "a used token does not rotate again"
        );
        assert!(!rotate("nope", "r4").await);
        let mut c = store.conn().await.unwrap();
        let used = sso::token(&mut c, "r1").await.unwrap().unwrap();
        assert_eq!(used.used_at, Some(at(2)));
        assert!(sso::token(&mut c, "r2").await.unwrap().is_some());
        for lost in ["r3", "r4"] {
            assert!(sso::token(&mut c, lost).await.unwrap().is_none(), "{lost}");
        }
        drop(c);
        // Many at once: each answers for itself, in order.
        let (a, b, z) = (next("ra"), next("rb"), next("rz"));
        let mut tx = store.begin().await.unwrap();
        let many = [("r2", &a), ("r1", &b), ("unknown", &z)];
        assert_eq!(
            sso::rotate_refresh_many(&mut tx, &many, at(3))
                .await
                .unwrap(),
            [true, false, false]
        );
        crate::commit(tx).await.unwrap();
        let mut c = store.conn().await.unwrap();
        assert!(sso::token(&mut c, "ra").await.unwrap().is_some());
        assert!(sso::token(&mut c, "rb").await.unwrap().is_none());
        sso::revoke_family(&mut c, "f1", at(3)).await.unwrap();
        drop(c);
        assert!(!rotate("ra", "r5").await, "a revoked token does not rotate");

        // Rules come back in order, filtered by age and by what was read already.
        let mut c = store.conn().await.unwrap();
        sso::record_revocation(&mut c, &Revocation::Token("j1".into()), at(4))
            .await
            .unwrap();
        let all = sso::revocations_after(&mut c, 0, at(1000), at(0))
            .await
            .unwrap();
        assert_eq!(
            all.iter()
                .map(|r| (r.rule.clone(), r.at))
                .collect::<Vec<_>>(),
            [
                (Revocation::Family("f1".into()), at(3)),
                (Revocation::Token("j1".into()), at(4))
            ]
        );
        let after_first = sso::revocations_after(&mut c, all[0].seq, at(1000), at(0))
            .await
            .unwrap();
        assert_eq!(after_first.len(), 1);
        let recent = sso::revocations_after(&mut c, all[1].seq, at(3), at(0))
            .await
            .unwrap();
        assert_eq!(
            recent.len(),
            2,
            "recent rules are read again whatever their seq"
        );
        let young = sso::revocations_after(&mut c, 0, at(1000), at(4))
            .await
            .unwrap();
        assert_eq!(young.len(), 1);
        assert_eq!(sso::purge_revocations(&mut c, at(4)).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn external_identities() {
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        identity::insert(&mut c, &user("u1", "asha.k", None, None))
            .await
            .unwrap();
        identity::insert(&mut c, &user("u2", "ravi.k", None, None))
            .await
            .unwrap();
        let e = identity::ExternalIdentity {
            provider: "google".into(),
            subject: "g-1".into(),
            user_id: UserId::new("u1"),
            email: Some("a@gmail.example".into()),
            created_at: at(1),
        };
        identity::link_external(&mut c, &e).await.unwrap();
        let again = identity::link_external(
            &mut c,
            &identity::ExternalIdentity {
                user_id: UserId::new("u2"),
                ..e.clone()
            },
        )
        .await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "one subject, one account"
        );
        assert_eq!(
            identity::external(&mut c, "google", "g-1").await.unwrap(),
            Some(e.clone())
        );
        assert_eq!(
            identity::externals_of(&mut c, &UserId::new("u1"))
                .await
                .unwrap(),
            vec![e]
        );
        assert_eq!(
            identity::unlink_external(&mut c, &UserId::new("u1"), "google")
                .await
                .unwrap(),
            1
        );
        assert!(
            identity::external(&mut c, "google", "g-1")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn dialect_clauses_mean_the_same_on_both() {
    use crate::{Backend, jobs};
    use sqlx::Row;
    for s in stores().await {
        let b = s.backend();
        let mut c = s.conn().await.unwrap();
        // A day in India (UTC+5:30): 2026-12-01 00:10 IST is 2026-11-30 18:40 UTC.
        let ist_midnight = 1_764_527_400_000_i64;
        for (i, detail) in ["password changed from Jaipur", "login failed", ""]
            .into_iter()
            .enumerate()
        {
            audit::append(
                &mut c,
                &NewAuditEntry {
                    at: Timestamp::from_millis(ist_midnight + 600_000 + i as i64),
                    actor_id: None,
                    subject_id: Some("u-dialect".into()),
                    action: AuditAction::PasswordChanged,
                    outcome: Outcome::Success,
                    ip: None,
                    detail: (!detail.is_empty()).then(|| detail.to_string()),
                },
            )
            .await
            .unwrap();
        }
        let matching = |q: &'static str| {
            let clause = b.text_match("detail", 1);
            let s = s.clone();
            async move {
                let row = sqlx::query(sql!(
                    "SELECT COUNT(*) AS n FROM audit_log WHERE subject_id = 'u-dialect' AND {clause}"
                ))
                .bind(q)
                .fetch_one(&mut *s.read().await.unwrap())
                .await
                .unwrap();
                row.try_get::<i64, _>("n").unwrap()
            }
        };
        assert_eq!(matching("Jaipur").await, 1, "{b:?}");
        assert_eq!(matching("password").await, 1, "{b:?}");
        assert_eq!(matching("failed").await, 1, "{b:?}");
        assert_eq!(matching("aadhaar").await, 0, "{b:?}");

        let bucket = b.day_bucket("at", 330);
        let rows = sqlx::query(sql!(
            "SELECT DISTINCT {bucket} AS d FROM audit_log WHERE subject_id = 'u-dialect'"
        ))
        .fetch_all(&mut *c)
        .await
        .unwrap();
        let days: Vec<i64> = rows.iter().map(|r| r.try_get("d").unwrap()).collect();
        assert_eq!(days, [ist_midnight], "{b:?}: one Indian day");

        jobs::enqueue(&mut c, "dialect", r#"{"id": 42, "to": "x"}"#, at(1), at(1))
            .await
            .unwrap();
        let field = b.json_text("payload", "id");
        let row = sqlx::query(sql!("SELECT {field} AS v FROM jobs WHERE kind = 'dialect'"))
            .fetch_one(&mut *c)
            .await
            .unwrap();
        let v: Option<String> = row.try_get("v").unwrap_or_else(|_| {
            row.try_get::<Option<i64>, _>("v")
                .unwrap()
                .map(|n| n.to_string())
        });
        assert_eq!(v.as_deref(), Some("42"), "{b:?}");
        assert_eq!(Backend::of(&c), b, "a connection knows its backend");
    }
}

/// The payment ledger: facts recorded once, an order claimed by one payment only (the others
/// are duplicates), attempts and refunds closed once, open ones found by the sweeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payment_ledger() {
    use crate::payments::{self, Attempt, NewEvent, Order, Refund, RefundRoute};
    use ekdwar_domain::payments::{Currency, EventKind, LedgerEvent, Money, PayChannel};
    let inr = |n| Money::new(n, Currency::INR).unwrap();
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        let order = Order {
            id: "o1".into(),
            application_id: "app1".into(),
            owner_id: UserId::new("u1"),
            purpose: "passport-fresh".into(),
            online: inr(150000),
            centre: inr(200000),
            created_at: at(1),
            paid_by: None,
            paid_at: None,
        };
        payments::insert_order(&mut c, &order).await.unwrap();
        let again = Order {
            id: "o2".into(),
            ..order.clone()
        };
        assert!(matches!(
            payments::insert_order(&mut c, &again).await,
            Err(StoreError::Conflict("application"))
        ));
        for i in 0..20 {
            payments::insert_attempt(
                &mut c,
                &Attempt {
                    id: format!("a{i}"),
                    order_id: "o1".into(),
                    channel: PayChannel::Card,
                    gateway: "test".into(),
                    reference: None,
                    amount: inr(150000),
                    created_at: at(2 + i),
                    payable_from: None,
                    valid_until: None,
                    closed_at: None,
                    hold_id: None,
                },
            )
            .await
            .unwrap();
        }
        assert!(payments::set_reference(&mut c, "a0", "gw-0").await.unwrap());
        assert!(!payments::set_reference(&mut c, "a0", "gw-x").await.unwrap());
        let found = payments::attempt_by_reference(&mut c, "test", "gw-0")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, "a0");
        drop(c);
        // Twenty payments of one order arrive at once: exactly one claims it.
        let mut tasks = Vec::new();
        for i in 0..20 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = s.begin().await.unwrap();
                let won = payments::claim_paid(&mut tx, "o1", &format!("a{i}"), at(50))
                    .await
                    .unwrap();
                let event = LedgerEvent {
                    kind: EventKind::AttemptSucceeded,
                    subject: format!("a{i}"),
                    channel: Some(PayChannel::Card),
                    amount: inr(150000),
                    reference: None,
                    at: at(50),
                };
                payments::append(
                    &mut tx,
                    &NewEvent {
                        order_id: "o1",
                        event: &event,
                        actor_id: None,
                        note: None,
                    },
                )
                .await
                .unwrap();
                crate::commit(tx).await.unwrap();
                won
            }));
        }
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.unwrap());
        }
        assert_eq!(winners, 1);
        let mut c = s.conn().await.unwrap();
        let o = payments::order(&mut c, "o1").await.unwrap().unwrap();
        let paid_by = o.paid_by.clone().unwrap();
        // The ledger agrees with the claim: the first success recorded is the one that paid.
        let events = payments::events(&mut c, "o1").await.unwrap();
        assert_eq!(events.len(), 20);
        let first = events
            .iter()
            .find(|e| e.event.kind == EventKind::AttemptSucceeded)
            .unwrap();
        assert_eq!(first.event.subject, paid_by);
        // The same fact again adds nothing.
        assert!(
            !payments::append(
                &mut c,
                &NewEvent {
                    order_id: "o1",
                    event: &first.event,
                    actor_id: None,
                    note: None
                }
            )
            .await
            .unwrap()
        );
        assert!(
            payments::note_notice(&mut c, "test", "ev1", at(3))
                .await
                .unwrap()
        );
        assert!(
            !payments::note_notice(&mut c, "test", "ev1", at(4))
                .await
                .unwrap()
        );
        // Open attempts, until closed.
        assert_eq!(
            payments::open_attempts(&mut c, at(5), 10)
                .await
                .unwrap()
                .len(),
            3
        );
        assert!(payments::close_attempt(&mut c, "a0", at(6)).await.unwrap());
        assert!(!payments::close_attempt(&mut c, "a0", at(7)).await.unwrap());
        let open = payments::open_attempts(&mut c, at(5), 10).await.unwrap();
        assert_eq!(
            open.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
            ["a1", "a2"]
        );
        // A refund per attempt at most.
        let refund = Refund {
            id: "r1".into(),
            order_id: "o1".into(),
            attempt_id: "a3".into(),
            route: RefundRoute::Gateway,
            amount: inr(150000),
            reason: "duplicate".into(),
            created_at: at(60),
            closed_at: None,
        };
        assert!(payments::insert_refund(&mut c, &refund).await.unwrap());
        let twice = Refund {
            id: "r2".into(),
            ..refund.clone()
        };
        assert!(!payments::insert_refund(&mut c, &twice).await.unwrap());
        assert_eq!(
            payments::open_refunds(&mut c, RefundRoute::Gateway, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(payments::close_refund(&mut c, "r1", at(61)).await.unwrap());
        assert!(
            payments::open_refunds(&mut c, RefundRoute::Gateway, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let mine = payments::orders_of(&mut c, &UserId::new("u1"), 10)
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].centre, inr(200000));
        let day = payments::events_between(&mut c, at(50), at(51))
            .await
            .unwrap();
        assert_eq!(day.len(), 20);
    }
}

/// Places in a slot: two hundred concurrent claims on a slot of a hundred places take exactly a
/// hundred; an application has one active appointment at most.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slots_never_overbook() {
    use crate::appointments::{self, Appointment, NewSlot};
    for s in stores().await {
        let mut c = s.conn().await.unwrap();
        let slot = NewSlot {
            id: "psk/2026-12-07/09:00/normal".into(),
            centre: "psk".into(),
            day: "2026-12-07".into(),
            starts_at: at(100),
            quota: "normal".into(),
            capacity: 100,
        };
        assert_eq!(
            appointments::insert_slots(&mut c, std::slice::from_ref(&slot))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            appointments::insert_slots(&mut c, &[slot]).await.unwrap(),
            0
        );
        drop(c);
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = s.begin().await.unwrap();
                let won = appointments::take_place(&mut tx, "psk/2026-12-07/09:00/normal")
                    .await
                    .unwrap();
                crate::commit(tx).await.unwrap();
                won
            }));
        }
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 100);
        let mut c = s.conn().await.unwrap();
        let slot = appointments::slot(&mut c, "psk/2026-12-07/09:00/normal")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((slot.taken, slot.capacity), (100, 100));
        assert!(
            appointments::free_slots(&mut c, "psk", "normal", at(0), at(1000), 10)
                .await
                .unwrap()
                .is_empty()
        );
        appointments::give_back(&mut c, &slot.id).await.unwrap();
        assert_eq!(
            appointments::free_slots(&mut c, "psk", "normal", at(0), at(1000), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        let a = Appointment {
            id: "ap1".into(),
            number: "AP1".into(),
            application_id: "app1".into(),
            owner_id: UserId::new("u1"),
            service: "passport-fresh".into(),
            centre: "psk".into(),
            slot_id: slot.id.clone(),
            starts_at: at(100),
            state: "held".into(),
            held_until: Some(at(200)),
            first_day: "2026-12-07".into(),
            reschedules: 0,
            reminded_at: None,
            created_at: at(1),
            changed_at: at(1),
        };
        appointments::insert(&mut c, &a).await.unwrap();
        let second = Appointment {
            id: "ap2".into(),
            number: "AP2".into(),
            ..a.clone()
        };
        assert!(matches!(
            appointments::insert(&mut c, &second).await,
            Err(StoreError::Conflict("application"))
        ));
        assert_eq!(
            appointments::active_count(&mut c, &UserId::new("u1"))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            appointments::expired_holds(&mut c, at(300), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        // Released, the application may hold another.
        assert!(
            appointments::set_state(&mut c, "ap1", "held", "released", at(301))
                .await
                .unwrap()
        );
        assert!(
            !appointments::set_state(&mut c, "ap1", "held", "booked", at(302))
                .await
                .unwrap()
        );
        appointments::insert(&mut c, &second).await.unwrap();
        assert_eq!(
            appointments::by_number(&mut c, "AP2")
                .await
                .unwrap()
                .unwrap()
                .id,
            "ap2"
        );
    }
}
