//! The standard profile and its checks, through the pages, against the test registries run as
//! their own process (`ekdwar dev test-registry`, a test double of the registry connector
//! protocol), on both databases.

use std::time::Duration;

use ekdwar_app::config::{RegistryConfig, Secret};
use ekdwar_domain::AccountLevel;

use crate::support::{TestApp, backends, browser};

/// The test registries, run as their own process.
pub struct TestRegistry {
    _child: tokio::process::Child,
    pub url: String,
    secret: String,
}

impl TestRegistry {
    pub async fn start() -> Self {
        let secret = crate::support::random_hex();
        let (child, url) = crate::support::dev_process(
            &["test-registry", "--slow-ms", "1500"],
            &[("EKDWAR_TEST_REGISTRY_SECRET", &secret)],
        )
        .await;
        Self {
            _child: child,
            url,
            secret,
        }
    }

    /// Every registry the built-in country profiles name, at this process.
    pub fn configs(&self) -> Vec<RegistryConfig> {
        [
            "mvd",
            "sfr",
            "uidai",
            "itd",
            "jan-aadhaar",
            "passport-seva",
            "eci",
        ]
        .into_iter()
        .map(|id| RegistryConfig {
            id: id.into(),
            url: self.url.clone(),
            client_id: "ekdwar-test".into(),
            secret: Secret::new(&self.secret),
            timeout_ms: 300,
            expected_minutes: 5,
        })
        .collect()
    }

    /// Its "Test Bank ID", trusted for the verified level and not for logging in, as the demo
    /// configures it.
    pub fn bank(&self) -> ekdwar_app::config::UpstreamConfig {
        let mut bank = ekdwar_app::config::UpstreamConfig::login_only(
            "test-bank",
            "Test Bank ID",
            &format!("{}/bank", self.url),
            "ekdwar-test",
            Secret::new(&self.secret),
        );
        bank.scopes = "openid profile national_id".into();
        bank.trusted_for = Some(AccountLevel::Verified);
        bank.identifier_claims = [("snils".into(), "snils".into())].into();
        bank.login = false;
        bank
    }

    /// Flips the switch every registry answers by.
    pub async fn mode(&self, mode: &str) {
        let r = reqwest::Client::new()
            .post(format!("{}/control/mode", self.url))
            .form(&[("mode", mode)])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "mode {mode}");
    }
}

/// A specialist who decides the checks sent to review.
pub async fn reviewer(t: &TestApp, portal_id: &str, n: u32) -> ekdwar_domain::UserId {
    t.app
        .identity
        .admin_add_user(ekdwar_app::identity::NewUserInput {
            portal_id: portal_id.into(),
            first_name: "Olga".into(),
            last_name: "Reviewer".into(),
            phone: Some(format!("97100000{n:02}")),
            email: None,
            password: ekdwar_domain::password::Password::new(crate::accounts::PASSWORD),
            role: ekdwar_domain::Role::Reviewer,
            language: None,
        })
        .await
        .unwrap()
        .id
}

/// Puts a check of `user_id`'s SNILS straight into the specialists' queue, as a registry that
/// asked for review would (for pages that show the queue without running a registry).
pub async fn waiting_for_review(t: &TestApp, user_id: &ekdwar_domain::UserId) {
    let now = t.app.clock().now();
    let mut conn = t.app.store().conn().await.unwrap();
    ekdwar_store::profiles::start_check(
        &mut conn,
        &ekdwar_store::profiles::Check {
            user_id: user_id.clone(),
            item: ekdwar_domain::profile::CheckItem::Id(ekdwar_domain::national_id::IdKind::Snils),
            registry: "sfr".into(),
            fingerprint: "tour".into(),
            status: ekdwar_domain::profile::CheckStatus::Review,
            request_id: "rq-tour".into(),
            attempts: 1,
            detail: Some("registry".into()),
            started_at: now,
            updated_at: now,
        },
    )
    .await
    .unwrap();
}

pub async fn app_with_registry(backend: &str, registry: &TestRegistry) -> TestApp {
    let configs = registry.configs();
    TestApp::builder(backend)
        .with_config(move |c| {
            c.profile.countries = vec!["ru".into(), "in".into()];
            c.registries = configs;
            c.server.run_worker = false;
        })
        .with_user("anna", crate::accounts::PASSWORD)
        .with_user("anna2", crate::accounts::PASSWORD)
        .with_user("ivan", crate::accounts::PASSWORD)
        .with_user("priya", crate::accounts::PASSWORD)
        .with_user("down", crate::accounts::PASSWORD)
        .with_user("mismatch", crate::accounts::PASSWORD)
        .start()
        .await
}

/// Logs `portal_id` in and gives the account this name.
async fn person(t: &TestApp, portal_id: &str, first: &str, last: &str) -> reqwest::Client {
    let client = t.logged_in(portal_id).await;
    let page = t.get_as(&client, "/account").await;
    let done = t
        .post_with(
            &client,
            &page,
            "/account/name",
            &[("first_name", first), ("last_name", last)],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    client
}

const ANNA: &[(&str, &str)] = &[
    ("country", "ru"),
    ("middle_name", "Сергеевна"),
    ("gender", "female"),
    ("birth_date[day]", "15"),
    ("birth_date[month]", "3"),
    ("birth_date[year]", "1990"),
    ("birth_place", "г. Тула"),
    ("citizenship", "RU"),
    ("document_kind", "ru_passport"),
    ("document_series", "45 08"),
    ("document_number", "123456"),
    ("document_issued_on[day]", "1"),
    ("document_issued_on[month]", "4"),
    ("document_issued_on[year]", "2010"),
    ("document_issued_by", "ОУФМС России по Тульской обл."),
    ("id_snils", "112-233-445 95"),
    ("address_line", "ул. Ленина, д. 1, кв. 2"),
    ("address_city", "Москва"),
    ("address_postcode", "101000"),
    ("action", "check"),
];

/// What differs in Ivan's profile (a person the test registry sends to review).
const IVAN: &[(&str, &str)] = &[
    ("middle_name", "Олегович"),
    ("gender", "male"),
    ("birth_date[day]", "2"),
    ("birth_date[month]", "11"),
    ("birth_date[year]", "1985"),
    ("document_series", "4512"),
    ("document_number", "654321"),
    ("id_snils", "123-456-789 64"),
];

fn with(
    base: &[(&'static str, &'static str)],
    changes: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    base.iter()
        .map(|(k, v)| {
            changes
                .iter()
                .find(|(ck, _)| ck == k)
                .map_or((*k, *v), |c| *c)
        })
        .collect()
}

async fn send(
    t: &TestApp,
    client: &reqwest::Client,
    fields: &[(&str, &str)],
) -> ekdwar_testkit::Page {
    let form = t.get_as(client, "/account/profile?country=ru").await;
    t.post_with(client, &form, "/account/profile", fields).await
}

async fn run_jobs(t: &TestApp) {
    while t.app.jobs.run_due_jobs().await.unwrap() > 0 {}
}

/// The levels page of `portal_id`, logged in afresh (the clock may have moved past a session).
async fn levels_page(t: &TestApp, portal_id: &str) -> String {
    let client = t.logged_in(portal_id).await;
    t.get_as(&client, "/account/level").await.text()
}

async fn level(t: &TestApp, portal_id: &str) -> AccountLevel {
    t.account(portal_id).await.level
}

#[tokio::test]
async fn a_russian_profile_is_checked_against_the_registries_and_an_edit_of_it_lowers_the_level() {
    let registry = TestRegistry::start().await;
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;
        let anna = person(&t, "anna", "Анна", "Смирнова").await;
        let phone = t.account("anna").await.phone.unwrap();

        // A typo in the SNILS is caught by its control number; nothing is saved.
        let typo = with(ANNA, &[("id_snils", "112-233-445 96")]);
        let page = send(&t, &anna, &typo).await;
        assert_eq!(page.status, 422, "{backend}");
        assert!(page.text().contains("typing mistake"), "{}", page.text());
        assert!(page.body.contains("г. Тула"), "what was typed is kept");
        let again = t.get_as(&anna, "/account/profile").await;
        assert!(!again.body.contains("Тула"), "{backend}: nothing was saved");

        // Sending it without what the level needs names each missing field.
        let bare = [
            ("country", "ru"),
            ("birth_place", "г. Тула"),
            ("action", "check"),
        ];
        let page = send(&t, &anna, &bare).await;
        assert_eq!(page.status, 422);
        assert!(page.text().contains("Fill this in to send your profile"));

        // "Fill in later" keeps a partial profile.
        let later = [
            ("country", "ru"),
            ("birth_place", "г. Тула"),
            ("action", "later"),
        ];
        let page = send(&t, &anna, &later).await;
        assert_eq!(page.status, 200);
        assert!(
            t.get_as(&anna, "/account/profile")
                .await
                .body
                .contains("г. Тула")
        );
        let levels = t.get_as(&anna, "/account/level").await;
        assert!(
            levels.text().contains("saved but not sent"),
            "{}",
            levels.text()
        );

        // Sent whole, both items are checked and the level rises.
        let page = send(&t, &anna, ANNA).await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.text().contains("being checked"), "{}", page.text());
        assert_eq!(level(&t, "anna").await, AccountLevel::Simplified);
        run_jobs(&t).await;
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard, "{backend}");
        assert!(t.last_message(&phone).await.contains("standard level"));
        let profile = t.get_as(&anna, "/account/profile").await;
        assert_eq!(
            profile.body.matches("tag-ok\">confirmed").count(),
            2,
            "{}",
            profile.text()
        );

        // A database dump alone shows no identifier, document number, date or address.
        let dump = crate::security::database_contents(&t, backend).await;
        for (what, value) in [
            ("SNILS", "11223344595"),
            ("passport", "4508"),
            ("birth date", "1990-03-15"),
            ("address", "Ленина"),
            ("birth place", "Тула"),
        ] {
            assert!(
                !dump.windows(value.len()).any(|w| w == value.as_bytes()),
                "{backend}: the {what} is in the database as it is"
            );
        }

        // Editing a checked fact forgets its check and lowers the level, with a notice.
        let wrong = with(ANNA, &[("birth_date[day]", "16")]);
        let page = send(&t, &anna, &wrong).await;
        assert_eq!(page.status, 200);
        assert_eq!(
            level(&t, "anna").await,
            AccountLevel::Simplified,
            "{backend}"
        );
        assert!(t.last_message(&phone).await.contains("simplified level"));
        run_jobs(&t).await;
        let levels = t.get_as(&anna, "/account/level").await;
        assert!(levels.text().contains("does not match the registry"));
        assert!(levels.text().contains("your date of birth"));
        assert!(t.last_message(&phone).await.contains("need your attention"));

        // Put right, it is confirmed again.
        send(&t, &anna, ANNA).await;
        run_jobs(&t).await;
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard);

        // A new last name is checked again by itself: the level waits for the registries.
        let account = t.get_as(&anna, "/account").await;
        t.post_with(
            &anna,
            &account,
            "/account/name",
            &[("first_name", "Анна"), ("last_name", "Смирнова-Петрова")],
        )
        .await;
        run_jobs(&t).await;
        assert_eq!(
            level(&t, "anna").await,
            AccountLevel::Simplified,
            "{backend}"
        );
        let levels = t.get_as(&anna, "/account/level").await;
        assert!(
            levels.text().contains("your last name"),
            "{}",
            levels.text()
        );
        let account = t.get_as(&anna, "/account").await;
        t.post_with(
            &anna,
            &account,
            "/account/name",
            &[("first_name", "Анна"), ("last_name", "Смирнова")],
        )
        .await;
        run_jobs(&t).await;
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard, "{backend}");

        // Another account with the same SNILS is not given it: a specialist reviews it.
        let twin = person(&t, "anna2", "Анна", "Смирнова").await;
        send(&t, &twin, ANNA).await;
        run_jobs(&t).await;
        assert_eq!(level(&t, "anna2").await, AccountLevel::Simplified);
        let levels = t.get_as(&twin, "/account/level").await;
        assert!(
            levels
                .text()
                .contains("already confirmed for another account")
        );
        // Someone not logged in sees nothing of it.
        let stranger = browser();
        let page = t.get_as(&stranger, "/account/profile").await;
        assert!(!page.body.contains("Тула"));
    }
}

#[tokio::test]
async fn every_switch_of_the_test_registry_ends_in_a_state_nobody_is_stuck_in() {
    let registry = TestRegistry::start().await;
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;

        // Failing, then back: retried with back-off and confirmed.
        registry.mode("failing").await;
        let anna = person(&t, "anna", "Анна", "Смирнова").await;
        send(&t, &anna, ANNA).await;
        run_jobs(&t).await;
        assert!(levels_page(&t, "anna").await.contains("being checked"));
        drop(anna);
        // Slow (past the timeout) and forged answers are refused and retried the same way.
        for mode in ["slow", "forged"] {
            registry.mode(mode).await;
            t.advance(Duration::from_secs(600));
            run_jobs(&t).await;
            assert_eq!(level(&t, "anna").await, AccountLevel::Simplified, "{mode}");
        }
        registry.mode("normal").await;
        t.advance(Duration::from_secs(3600));
        run_jobs(&t).await;
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard, "{backend}");

        // Pending for days: asked again when the registry says, then confirmed.
        registry.mode("pending").await;
        let priya = person(&t, "priya", "Priya", "Sharma").await;
        let india = [
            ("country", "in"),
            ("gender", "female"),
            ("birth_date[day]", "20"),
            ("birth_date[month]", "8"),
            ("birth_date[year]", "1992"),
            ("birth_place", "Jaipur"),
            ("citizenship", "IN"),
            ("id_aadhaar", "9999 4105 7058"),
            ("id_pan", "abcps1234f"),
            ("action", "check"),
        ];
        let form = t.get_as(&priya, "/account/profile?country=in").await;
        assert!(form.text().contains("Aadhaar number or Virtual ID"));
        let page = t.post_with(&priya, &form, "/account/profile", &india).await;
        assert_eq!(page.status, 200, "{}", page.text());
        run_jobs(&t).await;
        t.advance(Duration::from_secs(86_400 * 2));
        run_jobs(&t).await;
        assert_eq!(
            level(&t, "priya").await,
            AccountLevel::Simplified,
            "still pending"
        );
        registry.mode("normal").await;
        t.advance(Duration::from_secs(86_400));
        run_jobs(&t).await;
        assert_eq!(
            level(&t, "priya").await,
            AccountLevel::Standard,
            "{backend}"
        );

        // Down for days: after `review_after_days` a specialist takes it over.
        registry.mode("down").await;
        let down = person(&t, "down", "Анна", "Смирнова").await;
        send(&t, &down, &with(ANNA, &[("id_snils", "123-456-789 64")])).await;
        for _ in 0..10 {
            t.advance(Duration::from_secs(86_400));
            run_jobs(&t).await;
        }
        let levels = levels_page(&t, "down").await;
        assert!(
            levels.contains("has not answered for several days"),
            "{levels}"
        );

        // Mismatching: every check differs in the date of birth.
        registry.mode("mismatch").await;
        let wrong = person(&t, "mismatch", "Анна", "Смирнова").await;
        send(&t, &wrong, ANNA).await;
        run_jobs(&t).await;
        let levels = levels_page(&t, "mismatch").await;
        assert!(levels.contains("your date of birth"), "{levels}");
        registry.mode("normal").await;

        // A person the registry sends to review: a specialist decides, and the level follows.
        let ivan = person(&t, "ivan", "Иван", "Петров").await;
        let ivans = with(ANNA, IVAN);
        send(&t, &ivan, &ivans).await;
        run_jobs(&t).await;
        let reviewer = reviewer(&t, "rev.one", 1).await;
        let queue = t.app.assurance.review_queue(&reviewer).await.unwrap();
        let ivan_id = t.account("ivan").await.id;
        let mine: Vec<_> = queue.iter().filter(|c| c.user_id == ivan_id).collect();
        assert_eq!(mine.len(), 2, "{backend}: both items wait for a specialist");
        for c in mine {
            t.app
                .assurance
                .decide_review(
                    &reviewer,
                    &c.user_id,
                    c.item,
                    true,
                    &[],
                    &ekdwar_app::audit::Actor::command_line(),
                )
                .await
                .unwrap();
        }
        assert_eq!(level(&t, "ivan").await, AccountLevel::Standard, "{backend}");
    }
}

#[tokio::test]
async fn data_keys_rotate_while_people_save_their_profiles() {
    let registry = TestRegistry::start().await;
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;
        let people = ["anna", "anna2", "ivan", "priya", "down", "mismatch"];
        let mut clients = Vec::new();
        for p in people {
            let c = t.logged_in(p).await;
            let saved = send(
                &t,
                &c,
                &[
                    ("country", "ru"),
                    ("birth_place", "Тула 0"),
                    ("action", "later"),
                ],
            )
            .await;
            assert_eq!(saved.status, 200);
            clients.push(c);
        }
        let before = t
            .app
            .assurance
            .rotate_data_keys(100, &ekdwar_app::audit::Actor::command_line(), &|_| {})
            .await
            .unwrap();
        assert_eq!(
            before.resealed,
            people.len() as u64,
            "{backend}: every profile moved to the new key"
        );
        // Traffic: each person saves three times while the keys rotate in batches of two.
        let places: Vec<String> = (1..=3).map(|i| format!("Тула {i}")).collect();
        let traffic = async {
            for place in &places {
                for c in &clients {
                    let fields = [
                        ("country", "ru"),
                        ("birth_place", place.as_str()),
                        ("action", "later"),
                    ];
                    assert_eq!(send(&t, c, &fields).await.status, 200);
                }
            }
        };
        let cli = ekdwar_app::audit::Actor::command_line();
        let rotation = t.app.assurance.rotate_data_keys(2, &cli, &|_| {});
        let ((), rotated) = tokio::join!(traffic, rotation);
        let rotated = rotated.unwrap();
        // Whatever the rotation missed (a profile saved under the old key meanwhile) a second
        // run takes up; after it the old keys seal nothing and every profile opens.
        let last = t
            .app
            .assurance
            .rotate_data_keys(2, &ekdwar_app::audit::Actor::command_line(), &|_| {})
            .await
            .unwrap();
        assert_ne!(rotated.key_id, last.key_id);
        assert_eq!(
            last.by_key,
            vec![(last.key_id.clone(), people.len() as i64)],
            "{backend}"
        );
        for c in &clients {
            let page = t.get_as(c, "/account/profile").await;
            assert!(
                page.body.contains("Тула 3"),
                "{backend}: the last save is kept"
            );
        }
    }
}

/// The specialists' queue and the identity desk, through the pages, each refused to everyone
/// but its own staff: a reviewer decides the checks a registry sent to review (naming what does
/// not match, or confirming), and an operator at a centre that confirms identities finds a
/// standard citizen by their SNILS, compares the document and raises them to verified, which
/// the citizen is told and sees in their security log with the centre and the operator.
#[tokio::test]
async fn specialists_decide_reviews_and_operators_confirm_identities_in_person() {
    let registry = TestRegistry::start().await;
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;
        crate::catalog::import_demo(&t).await;
        crate::appointments::with_centres(&t).await;
        let anna = person(&t, "anna", "Анна", "Смирнова").await;
        assert!(send(&t, &anna, ANNA).await.status == 200);
        let ivan = person(&t, "ivan", "Иван", "Петров").await;
        let ivans = with(ANNA, IVAN);
        send(&t, &ivan, &ivans).await;
        run_jobs(&t).await;
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard, "{backend}");
        let ivan_id = t.account("ivan").await.id;

        // The queue exists only for reviewers.
        reviewer(&t, "rev.one", 1).await;
        let rev = t.staff_logged_in("rev.one").await;
        let queue = t.get_as(&rev, "/staff/reviews").await;
        assert_eq!(queue.status, 200, "{}", queue.text());
        assert!(queue.text().contains("Иван Петров"), "{}", queue.text());
        let case = format!("/staff/reviews/{ivan_id}/snils");
        for (who, client) in [("a citizen", &anna), ("the person", &ivan)] {
            for path in ["/staff/reviews", case.as_str()] {
                let page = t.get_as(client, path).await;
                assert_eq!(page.status, 404, "{backend}: {who} sees no {path}");
            }
        }
        let opened = t.get_as(&rev, &case).await;
        assert!(opened.text().contains("12345678964"), "{}", opened.text());
        let (log, _) = t.app.audit.security_events(&ivan_id, None).await.unwrap();
        assert!(
            log.iter()
                .any(|e| e.action == ekdwar_domain::audit::AuditAction::ProfileViewed),
            "{backend}: the reviewer's view is audited"
        );
        // A mismatch must say what does not match; then a confirmation of each item.
        let refused = t
            .post_with(&rev, &opened, &case, &[("decision", "mismatch")])
            .await;
        assert_eq!(refused.status, 422);
        assert!(refused.text().contains("Choose what does not match"));
        for item in ["snils", "document"] {
            let path = format!("/staff/reviews/{ivan_id}/{item}");
            let page = t.get_as(&rev, &path).await;
            let done = t
                .post_with(&rev, &page, &path, &[("decision", "confirm")])
                .await;
            assert_eq!(done.status, 200, "{}", done.text());
            assert!(done.text().contains("The decision is recorded"));
        }
        assert_eq!(level(&t, "ivan").await, AccountLevel::Standard, "{backend}");

        // The desk: not at a centre that does not confirm identities.
        crate::appointments::operator_at(&t, "op.psk", 62, "psk-jaipur").await;
        let psk = t.staff_logged_in("op.psk").await;
        assert_eq!(t.get_as(&psk, "/centre/identity").await.status, 404);
        assert_eq!(t.get_as(&anna, "/centre/identity").await.status, 404);
        let op = crate::appointments::operator_at(&t, "op.mfc", 63, "mfc-tverskoy").await;
        let mfc = t.staff_logged_in("op.mfc").await;
        let desk = t.get_as(&mfc, "/centre/identity").await;
        assert_eq!(desk.status, 200, "{}", desk.text());
        let missing = t
            .post_with(
                &mfc,
                &desk,
                "/centre/identity",
                &[("query", "999-999-999 99")],
            )
            .await;
        assert_eq!(missing.status, 422);
        assert!(missing.text().contains("No account was found"));
        let found = t
            .post_with(
                &mfc,
                &desk,
                "/centre/identity",
                &[("query", "112-233-445 95")],
            )
            .await;
        assert_eq!(found.status, 200, "{}", found.text());
        assert!(found.text().contains("Анна Смирнова"), "{}", found.text());
        assert!(found.text().contains("123456"), "the document to compare");
        let anna_id = t.account("anna").await.id;
        let confirm = format!("/centre/identity/{anna_id}/confirm");
        let unticked = t.post_with(&mfc, &found, &confirm, &[]).await;
        assert_eq!(unticked.status, 422);
        assert!(unticked.text().contains("compared the original"));
        // Nobody confirms their own account.
        let own = t
            .post_with(
                &mfc,
                &found,
                &format!("/centre/identity/{op}/confirm"),
                &[("seen", "yes")],
            )
            .await;
        assert_eq!(own.status, 422);
        assert!(own.text().contains("cannot confirm your own account"));
        let done = t
            .post_with(&mfc, &found, &confirm, &[("seen", "yes")])
            .await;
        assert_eq!(done.status, 200, "{}", done.text());
        assert!(done.text().contains("Identity confirmed"));
        assert_eq!(level(&t, "anna").await, AccountLevel::Verified, "{backend}");
        let phone = t.account("anna").await.phone.unwrap();
        assert!(t.last_message(&phone).await.contains("verified"));
        let log = t.get_as(&anna, "/account/security").await.text();
        assert!(
            log.contains("Identity confirmed in person at My Documents centre")
                && log.contains("Officer Sharma"),
            "{log}"
        );
        let again = t
            .post_with(&mfc, &found, &confirm, &[("seen", "yes")])
            .await;
        assert_eq!(again.status, 422);
        assert!(again.text().contains("already verified"));
        // Another operator's desk cannot raise a simplified account either.
        let priya_id = t.account("priya").await.id;
        let simplified = t
            .post_with(
                &mfc,
                &found,
                &format!("/centre/identity/{priya_id}/confirm"),
                &[("seen", "yes")],
            )
            .await;
        assert_eq!(simplified.status, 422);
        assert!(simplified.text().contains("not fully confirmed"));

        // Anna logs in with her SNILS, however it is typed.
        for typed in ["112-233-445 95", "11223344595"] {
            let b = browser();
            let form = t.get_as(&b, "/login").await;
            assert!(form.text().contains("SNILS"), "the login page says so");
            let page = t
                .post_with(
                    &b,
                    &form,
                    "/login",
                    &[
                        ("identifier", typed),
                        ("password", crate::accounts::PASSWORD),
                    ],
                )
                .await;
            assert_eq!(page.status, 200, "{backend}: {}", page.text());
            assert!(page.text().contains("anna"), "{}", page.text());
        }
        // A number nobody confirmed gets the answer a wrong password gets; both are counted
        // per identifier, so the fourth try needs the challenge.
        let login = |identifier: &'static str, password: &'static str| {
            let app = t.app.clone();
            async move {
                app.identity
                    .login(
                        ekdwar_app::identity::LoginInput {
                            identifier: identifier.into(),
                            password: ekdwar_domain::password::Password::new(password),
                            challenge: None,
                        },
                        &ekdwar_app::audit::Actor::command_line(),
                    )
                    .await
                    .err()
                    .map(|e| format!("{e:?}"))
            }
        };
        let unknown = login("987-654-321 83", crate::accounts::PASSWORD).await;
        let wrong = login("112-233-445 95", "not-her-password").await;
        assert_eq!(unknown, wrong, "{backend}: no account enumeration");
        login("112-233-445 95", "not-her-password").await;
        login("112-233-445 95", "not-her-password").await;
        let fourth = login("112-233-445 95", crate::accounts::PASSWORD).await;
        assert_eq!(fourth.as_deref(), Some("CaptchaRequired"), "{backend}");
        // A forgotten portal ID is found by the confirmed SNILS and sent to Anna's own phone;
        // a number nobody confirmed is answered the same, and nothing is sent.
        let anna_phone = t.account("anna").await.phone.unwrap().as_str().to_string();
        let sent = t.messages_to(&anna_phone).await;
        let mut writes = Vec::new();
        for number in ["112 233 445 95", "987-654-321 83"] {
            let b = browser();
            let form = t.get_as(&b, "/recover/portal-id").await;
            assert!(form.text().contains("SNILS"), "the page names it");
            let before = crate::security::row_counts(&t).await;
            let page = t
                .post_with(&b, &form, "/recover/portal-id", &[("contact", number)])
                .await;
            assert_eq!(page.path(), "/login", "{backend}: {}", page.text());
            let after = crate::security::row_counts(&t).await;
            writes.push(
                after
                    .iter()
                    .zip(&before)
                    .map(|(a, b)| a - b)
                    .collect::<Vec<_>>(),
            );
        }
        assert_eq!(writes[0], writes[1], "{backend}: the same writes for both");
        assert_eq!(t.messages_to(&anna_phone).await, sent + 1, "{backend}");
        assert!(t.last_message(&anna_phone).await.contains("anna"));
        // A reset by portal ID needs one more thing the account holds: her SNILS does it; the
        // same SNILS with another's portal ID sends nothing to anyone.
        let reset = |pid: &'static str, second: &'static str| {
            let t = &t;
            async move {
                let b = browser();
                let form = t.get_as(&b, "/recover").await;
                let page = t
                    .post_with(
                        &b,
                        &form,
                        "/recover",
                        &[("identifier", pid), ("second", second)],
                    )
                    .await;
                assert_eq!(page.path(), "/recover/verify", "{}", page.text());
                (b, page)
            }
        };
        let ivan_phone = t.account("ivan").await.phone.unwrap().as_str().to_string();
        let ivans = t.messages_to(&ivan_phone).await;
        reset("ivan", "112-233-445 95").await;
        assert_eq!(t.messages_to(&ivan_phone).await, ivans, "{backend}");
        let (b, page) = reset("anna", "112-233-445 95").await;
        let code = t.last_code(&anna_phone).await;
        let page = t
            .post_with(&b, &page, "/recover/verify", &[("code", &code)])
            .await;
        assert_eq!(page.path(), "/recover/password", "{backend}");
        let dump = crate::security::database_contents(&t, backend).await;
        for number in ["11223344595", "98765432183", "12345678964"] {
            assert!(
                !dump.windows(number.len()).any(|w| w == number.as_bytes()),
                "{backend}: {number} is in the database"
            );
        }
    }
}

/// Runs `ekdwar letters export` against the test app's data; the PDF and the manifest.
fn export_letters(t: &TestApp, backend: &str) -> (Vec<u8>, String) {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ekdwar"));
    cmd.args(["letters", "export", "--out"])
        .arg(out.path())
        .arg("--data")
        .arg(&t.app.config().server.data_dir)
        .env_remove("EKDWAR_DATABASE_URL");
    if backend == "postgres" {
        cmd.env(
            "EKDWAR_DATABASE_URL",
            t.app.config().server.database_url.clone().unwrap(),
        );
    }
    let run = cmd.output().unwrap();
    let said = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(said.contains("1 letters"), "{said}");
    let mut pdf = Vec::new();
    let mut csv = String::new();
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("pdf") => pdf = std::fs::read(&path).unwrap(),
            Some("csv") => csv = std::fs::read_to_string(&path).unwrap(),
            _ => panic!("an unexpected file {}", path.display()),
        }
    }
    (pdf, csv)
}

/// The code printed in a letter.
fn printed_code(pdf: &str) -> String {
    let digits: Vec<&str> = pdf
        .split_whitespace()
        .filter(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    digits
        .windows(4)
        .map(|w| w.concat())
        .find(|c| ekdwar_domain::national_id::ActivationCode::parse(c).is_ok())
        .expect("a code in the letter")
}

/// The verified level by post: a standard account asks for a letter; the export prints it (the
/// code only on paper, a manifest without it); the citizen types the code with their SNILS. A
/// mistyped code is caught without counting; wrong ones count until the letter is spent and a
/// new one is asked for; the right one makes the account verified.
#[tokio::test]
async fn an_activation_letter_by_post_makes_a_standard_account_verified() {
    let registry = TestRegistry::start().await;
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;
        let priya = person(&t, "priya", "Priya", "Sharma").await;
        let page = t.get_as(&priya, "/account/level").await;
        let refused = t
            .post_with(&priya, &page, "/account/level/letter", &[])
            .await;
        assert_eq!(refused.status, 422);
        assert!(
            refused
                .text()
                .contains("Only an account at the standard level")
        );

        let anna = person(&t, "anna", "Анна", "Смирнова").await;
        send(&t, &anna, ANNA).await;
        run_jobs(&t).await;
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard, "{backend}");
        let ask = |client: reqwest::Client| {
            let t = &t;
            async move {
                let page = t.get_as(&client, "/account/level").await;
                t.post_with(&client, &page, "/account/level/letter", &[])
                    .await
            }
        };
        let asked = ask(anna.clone()).await;
        assert!(
            asked.text().contains("We will send your letter"),
            "{}",
            asked.text()
        );
        let twice = ask(anna.clone()).await;
        assert_eq!(twice.status, 422);
        assert!(twice.text().contains("already asked"));

        // The export: one letter; the code is on paper only.
        let (pdf, csv) = export_letters(&t, backend);
        let pdf = crate::receipts::pdf_text(&pdf);
        assert!(
            pdf.contains("Your activation code") && pdf.contains("Москва"),
            "{pdf}"
        );
        let code = printed_code(&pdf);
        assert!(csv.contains("101000") && !csv.contains(&code[..8]), "{csv}");
        let dump = crate::security::database_contents(&t, backend).await;
        assert!(!dump.windows(16).any(|w| w == code.as_bytes()), "{backend}");

        let enter = |code: String, id: &'static str| {
            let t = &t;
            let anna = anna.clone();
            async move {
                let page = t.get_as(&anna, "/account/level").await;
                t.post_with(
                    &anna,
                    &page,
                    "/account/level/letter/code",
                    &[("code", &code), ("identifier", id)],
                )
                .await
            }
        };
        // A typo is caught by the check digit and does not count.
        let mut typo = code.clone().into_bytes();
        typo[0] = if typo[0] == b'9' { b'1' } else { typo[0] + 1 };
        let typo = String::from_utf8(typo).unwrap();
        let caught = enter(typo, "112-233-445 95").await;
        assert_eq!(caught.status, 422);
        assert!(
            caught.text().contains("typing mistake"),
            "{}",
            caught.text()
        );
        assert!(caught.text().contains("try 5 more"), "{}", caught.text());
        // Five wrong codes spend the letter.
        let other = ekdwar_domain::national_id::ActivationCode::with_check_digit(
            if code.starts_with("000") {
                "111111111111111"
            } else {
                "000000000000000"
            },
        )
        .unwrap();
        for left in (0..5).rev() {
            let wrong = enter(other.as_str().into(), "112-233-445 95").await;
            assert_eq!(wrong.status, 422, "{backend}");
            if left > 0 {
                assert!(
                    wrong.text().contains(&format!("try {left} more")),
                    "{}",
                    wrong.text()
                );
            } else {
                assert!(
                    wrong.text().contains("can no longer be used"),
                    "{}",
                    wrong.text()
                );
            }
        }
        let spent = enter(code.clone(), "112-233-445 95").await;
        assert_eq!(spent.status, 422);
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard, "{backend}");

        // A new letter; the right code with a number not hers counts; with her SNILS it works.
        assert_eq!(ask(anna.clone()).await.status, 200);
        let (pdf, _) = export_letters(&t, backend);
        let code = printed_code(&crate::receipts::pdf_text(&pdf));
        let not_hers = enter(code.clone(), "123-456-789 64").await;
        assert!(
            not_hers.text().contains("does not match"),
            "{}",
            not_hers.text()
        );
        let done = enter(code, "11223344595").await;
        assert_eq!(done.status, 200, "{}", done.text());
        assert!(done.text().contains("Code accepted"), "{}", done.text());
        assert_eq!(level(&t, "anna").await, AccountLevel::Verified, "{backend}");
        let phone = t.account("anna").await.phone.unwrap();
        assert!(t.last_message(&phone).await.contains("verified"));
    }
}

/// A bank's identity service (oidc-provider, an independent implementation) trusted for the
/// verified level: its claims must match the checked profile, never by e-mail alone.
#[tokio::test]
async fn a_trusted_provider_verifies_only_when_its_claims_match_the_checked_profile() {
    tokio::task::spawn_blocking(crate::interop::ensure_interop)
        .await
        .unwrap();
    let registry = TestRegistry::start().await;
    let people = serde_json::json!({
        "anna": {
            "given_name": "АННА", "family_name": "Смирнова", "middle_name": "Сергеевна",
            "birthdate": "1990-03-15", "snils": "112 233 445 95",
        },
        "anna-elsewhere": {
            "given_name": "Анна", "family_name": "Смирнова", "middle_name": "Сергеевна",
            "birthdate": "1990-03-16", "snils": "11223344595",
        },
        "anna-by-mail": {
            "given_name": "Анна", "family_name": "Смирнова", "middle_name": "Сергеевна",
            "birthdate": "1990-03-15", "email": "anna@example.ru", "email_verified": true,
        },
    });
    for backend in backends() {
        let port = crate::support::free_port();
        let mut upstream = None;
        let configs = registry.configs();
        let t = TestApp::builder(backend)
            .with_config(|c| {
                c.profile.countries = vec!["ru".into(), "in".into()];
                c.registries = configs;
                c.server.run_worker = false;
                let callback = format!("http://{}/login/external/bank/callback", c.server.listen);
                upstream = Some(crate::external::start_upstream_with(
                    port, &callback, &people,
                ));
                let mut bank = ekdwar_app::config::UpstreamConfig::login_only(
                    "bank",
                    "Bank ID",
                    &format!("http://127.0.0.1:{port}"),
                    "ekdwar",
                    Secret::new(crate::external::UPSTREAM_SECRET),
                );
                bank.scopes = "openid profile national_id".into();
                bank.trusted_for = Some(AccountLevel::Verified);
                bank.identifier_claims = [("snils".into(), "snils".into())].into();
                c.upstream = vec![bank];
            })
            .with_user("anna", crate::accounts::PASSWORD)
            .with_user("priya", crate::accounts::PASSWORD)
            .start()
            .await;
        let anna = person(&t, "anna", "Анна", "Смирнова").await;
        assert_eq!(send(&t, &anna, ANNA).await.status, 200);
        run_jobs(&t).await;
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard, "{backend}");
        // The levels page offers the provider beside the centre and the letter.
        let page = levels_page(&t, "anna").await;
        assert!(page.contains("Confirm with Bank ID"), "{backend}: {page}");

        let logged_in = |who: &'static str| {
            let t = &t;
            async move {
                let b = crate::sso::browser();
                let (_, _, login) = crate::sso::follow(t, &b, t.url("/login")).await;
                crate::sso::post_form(
                    t,
                    &b,
                    &login,
                    "/login",
                    &[("identifier", who), ("password", crate::accounts::PASSWORD)],
                )
                .await;
                b
            }
        };
        let b = logged_in("anna").await;
        let verify = "/login/external/bank?verify=1";
        // Another birthday at the bank, or only a matching name and e-mail: refused, and
        // nothing changes.
        for at_bank in ["anna-elsewhere", "anna-by-mail"] {
            let (status, _, page) = crate::external::upstream_login(&t, &b, verify, at_bank).await;
            assert_eq!(status, 422, "{backend} {at_bank}: {page}");
            assert!(page.contains("do not match"), "{backend}: {page}");
            assert_eq!(level(&t, "anna").await, AccountLevel::Standard);
        }
        // A simplified account cannot use it.
        let p = logged_in("priya").await;
        let (status, _, page) = crate::external::upstream_login(&t, &p, verify, "anna").await;
        assert_eq!(status, 422, "{backend}: {page}");
        assert!(page.contains("fully confirmed first"), "{backend}: {page}");
        assert_eq!(level(&t, "priya").await, AccountLevel::Simplified);

        // The bank's Anna is this Anna: verified, told, and the security log says how.
        let anna_phone = t.account("anna").await.phone.unwrap().as_str().to_string();
        let (_, at, page) = crate::external::upstream_login(&t, &b, verify, "anna").await;
        assert!(at.contains("/account/level"), "{backend}: {at} {page}");
        assert!(page.contains("now verified"), "{backend}: {page}");
        assert_eq!(level(&t, "anna").await, AccountLevel::Verified, "{backend}");
        assert!(
            t.last_message(&anna_phone)
                .await
                .contains("trusted provider"),
            "{backend}"
        );
        let (_, _, log) = crate::sso::follow(&t, &b, t.url("/account/security")).await;
        assert!(
            log.contains("Identity confirmed through Bank ID"),
            "{backend}: {log}"
        );
        assert!(log.contains("did not match"), "{backend}: {log}");
        // Proving one's identity links nothing: the bank is no way into the account.
        assert!(
            t.app
                .identity
                .linked_logins(&t.account("anna").await.id)
                .await
                .unwrap()
                .is_empty()
        );
        // Once verified, there is nothing more to prove.
        let (status, _, page) = crate::external::upstream_login(&t, &b, verify, "anna").await;
        assert_eq!(status, 422, "{backend}: {page}");
        drop(upstream);
    }
}

/// The demo's "Test Bank ID" (a test double in the registries' process) speaks the flow the
/// portal's upstream client expects, and its customer Anna becomes verified through it. It is
/// for proving identities only: no login button, no login.
#[tokio::test]
async fn the_test_bank_verifies_its_customers_and_is_no_way_in() {
    let registry = TestRegistry::start().await;
    let backend = "sqlite";
    let configs = registry.configs();
    let bank = registry.bank();
    let t = TestApp::builder(backend)
        .with_config(move |c| {
            c.profile.countries = vec!["ru".into(), "in".into()];
            c.registries = configs;
            c.server.run_worker = false;
            c.upstream = vec![bank];
        })
        .with_user("anna", crate::accounts::PASSWORD)
        .start()
        .await;
    let anna = person(&t, "anna", "Анна", "Смирнова").await;
    send(&t, &anna, ANNA).await;
    run_jobs(&t).await;
    let login = t.get("/login").await;
    assert!(!login.text().contains("Test Bank ID"), "no login button");
    let b = crate::sso::browser();
    let r = b
        .get(t.url("/login/external/test-bank"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "no login through it");

    let (_, _, form) = crate::sso::follow(&t, &b, t.url("/login")).await;
    crate::sso::post_form(
        &t,
        &b,
        &form,
        "/login",
        &[
            ("identifier", "anna"),
            ("password", crate::accounts::PASSWORD),
        ],
    )
    .await;
    let r = b
        .get(t.url("/login/external/test-bank?verify=1"))
        .send()
        .await
        .unwrap();
    let to_bank = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to_bank.contains("prompt=login"), "{to_bank}");
    let page = b.get(&to_bank).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("A test double") && page.contains("Анна Сергеевна Смирнова"));
    let form = ekdwar_testkit::Form::first(&page).expect("the bank's form");
    let mut fields = form.hidden.clone();
    fields.push(("person".into(), "0".into()));
    let r = b.post(&form.action).form(&fields).send().await.unwrap();
    let back = r.headers()["location"].to_str().unwrap().to_string();
    assert!(back.starts_with(&t.base), "{back}");
    let (_, at, page) = crate::sso::follow(&t, &b, back).await;
    assert!(at.contains("/account/level"), "{at}: {page}");
    assert_eq!(level(&t, "anna").await, AccountLevel::Verified, "{page}");
}

/// The last code the test registry "sent" to `mobile` (its stand-in for the phone's screen).
async fn registry_code(registry: &TestRegistry, mobile: &str) -> String {
    reqwest::Client::new()
        .get(format!("{}/control/otp", registry.url))
        .query(&[("mobile", mobile)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// A valid Aadhaar number nobody in the registry's file has.
fn unknown_aadhaar() -> String {
    (0..10)
        .map(|d| format!("23456789012{d}"))
        .find(|n| ekdwar_domain::national_id::Aadhaar::parse(n).is_ok())
        .unwrap()
}

/// DigiLocker-style sign-up: the Aadhaar number and its linked mobile, UIDAI's code (the test
/// registry's), then a portal ID and password; the account opens with UIDAI's record and the
/// number confirmed. A mobile not linked, an unknown number, a wrong code, UIDAI down and a
/// second sign-up with the same number are each answered plainly, on both databases.
#[tokio::test]
async fn an_aadhaar_sign_up_opens_an_account_with_the_number_confirmed() {
    let registry = TestRegistry::start().await;
    let linked = "+919812399001";
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;
        let b = browser();
        let reg = t.get_as(&b, "/register").await;
        assert!(reg.text().contains("Register with your Aadhaar number"));
        let start = |number: &'static str, mobile: &'static str, consent: bool| {
            let t = &t;
            async move {
                let b = browser();
                let form = t.get_as(&b, "/register/aadhaar").await;
                let mut fields = vec![("number", number), ("mobile", mobile)];
                if consent {
                    fields.push(("consent", "yes"));
                }
                let page = t.post_with(&b, &form, "/register/aadhaar", &fields).await;
                (b, page)
            }
        };
        // Without consent, or with a typo in the number: nothing is asked of UIDAI.
        let (_, page) = start("9999 4105 7058", "98123 99001", false).await;
        assert_eq!(page.status, 422);
        assert!(
            page.text().contains("Agree to UIDAI sharing"),
            "{}",
            page.text()
        );
        let (_, page) = start("9999 4105 7059", "98123 99001", true).await;
        assert_eq!(page.status, 422, "{backend}: a Verhoeff typo");
        // Another mobile, or a number UIDAI does not know: one and the same refusal.
        let unknown: &'static str = Box::leak(unknown_aadhaar().into_boxed_str());
        let mut refusals = Vec::new();
        for (number, mobile) in [("9999 4105 7058", "98123 99002"), (unknown, "98123 99001")] {
            let (_, page) = start(number, mobile, true).await;
            assert_eq!(page.status, 422, "{backend}");
            // What the page says of it (the rest differs only by its fresh challenge).
            let text = page.text();
            let said = text
                .split("There is a problem")
                .nth(1)
                .and_then(|t| t.split("Register with Aadhaar").next())
                .unwrap_or_default()
                .to_string();
            refusals.push(said);
        }
        assert!(
            refusals[0].contains("not the one linked"),
            "{}",
            refusals[0]
        );
        assert_eq!(refusals[0], refusals[1], "{backend}: no telling which");
        // UIDAI down, or answering with a forged signature: said so, nothing kept.
        for mode in ["down", "forged"] {
            registry.mode(mode).await;
            let (_, page) = start("9999 4105 7058", "98123 99001", true).await;
            assert!(
                page.text().contains("cannot be reached"),
                "{mode}: {}",
                page.text()
            );
        }
        registry.mode("normal").await;

        let (b, page) = start("9999-4105-7058", "98123 99001", true).await;
        assert_eq!(
            page.path(),
            "/register/aadhaar/verify",
            "{backend}: {}",
            page.text()
        );
        let code = registry_code(&registry, linked).await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let bad = t
            .post_with(&b, &page, "/register/aadhaar/verify", &[("code", wrong)])
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.text().contains("not right"), "{}", bad.text());
        let page = t
            .post_with(&b, &bad, "/register/aadhaar/verify", &[("code", &code)])
            .await;
        assert_eq!(page.path(), "/register/aadhaar/password", "{backend}");
        assert!(
            page.text().contains("Priya Sharma"),
            "UIDAI's names: {}",
            page.text()
        );
        let page = t
            .post_with(
                &b,
                &page,
                "/register/aadhaar/password",
                &[
                    ("portal_id", "priya.aadhaar"),
                    ("password", crate::accounts::PASSWORD),
                    ("confirm", crate::accounts::PASSWORD),
                ],
            )
            .await;
        assert_eq!(page.path(), "/account", "{backend}: {}", page.text());
        let priya = t.account("priya.aadhaar").await;
        assert_eq!(priya.phone.as_deref(), Some(linked));
        assert_eq!(priya.last_name.as_str(), "Sharma");
        let levels = t.get_as(&b, "/account/level").await.text();
        assert!(
            levels.contains("Aadhaar : confirmed"),
            "{backend}: {levels}"
        );
        // Her profile has UIDAI's date of birth; the rest is hers to fill in.
        let profile = t.get_as(&b, "/account/profile").await;
        assert_eq!(
            profile.field("birth_date[year]").as_deref(),
            Some("1992"),
            "{backend}"
        );
        // Filling in the rest sends nothing more to UIDAI: the standard level follows.
        let sent = t
            .post_with(
                &b,
                &profile,
                "/account/profile",
                &[
                    ("country", "in"),
                    ("gender", "female"),
                    ("birth_date[day]", "20"),
                    ("birth_date[month]", "8"),
                    ("birth_date[year]", "1992"),
                    ("birth_place", "Jaipur"),
                    ("citizenship", "IN"),
                    ("id_aadhaar", "9999 4105 7058"),
                    ("action", "check"),
                ],
            )
            .await;
        assert_eq!(sent.status, 200, "{backend}: {}", sent.text());
        assert_eq!(
            level(&t, "priya.aadhaar").await,
            AccountLevel::Standard,
            "{backend}"
        );

        // The same number again: once the code proves the mobile, its portal ID goes there.
        let (b2, page) = start("999941057058", "98123 99001", true).await;
        let code = registry_code(&registry, linked).await;
        let page = t
            .post_with(&b2, &page, "/register/aadhaar/verify", &[("code", &code)])
            .await;
        assert_eq!(page.path(), "/login", "{backend}");
        assert!(page.text().contains("already has an account"));
        assert!(t.last_message(linked).await.contains("priya.aadhaar"));
        let dump = crate::security::database_contents(&t, backend).await;
        assert!(
            !dump.windows(12).any(|w| w == b"999941057058"),
            "{backend}: the Aadhaar number is in the database"
        );
    }
}

/// The identity desk also opens accounts for citizens who have none (only with the code sent
/// to their own phone) and restores access for a checked citizen who lost phone and e-mail:
/// the new phone, every session ended, the old contacts told; nothing for anyone unchecked,
/// nothing at a centre without the desk.
#[tokio::test]
async fn at_the_desk_an_operator_registers_citizens_and_restores_access() {
    let registry = TestRegistry::start().await;
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;
        crate::catalog::import_demo(&t).await;
        crate::appointments::with_centres(&t).await;
        let anna = person(&t, "anna", "Анна", "Смирнова").await;
        send(&t, &anna, ANNA).await;
        run_jobs(&t).await;
        let anna_phone = t.account("anna").await.phone.unwrap().as_str().to_string();
        crate::appointments::operator_at(&t, "op.psk", 62, "psk-jaipur").await;
        let psk = t.staff_logged_in("op.psk").await;
        let elsewhere = t.get_as(&psk, "/centre").await;
        let refused = t
            .post_with(
                &psk,
                &elsewhere,
                "/centre/identity/register",
                &[("phone", "+79120001122")],
            )
            .await;
        assert_eq!(refused.status, 404, "{backend}: no desk, no registering");
        crate::appointments::operator_at(&t, "op.mfc", 63, "mfc-tverskoy").await;
        let mfc = t.staff_logged_in("op.mfc").await;
        let desk = t.get_as(&mfc, "/centre/identity").await;
        assert!(
            desk.text()
                .contains("Register a citizen who has no account")
        );

        // Registering: consent first; a phone that has an account is found, not registered.
        let new_citizen = |phone: &'static str, consent: bool| {
            let mut f = vec![
                ("phone", phone),
                ("first_name", "Ольга"),
                ("last_name", "Иванова"),
            ];
            if consent {
                f.push(("consent", "yes"));
            }
            f
        };
        let page = t
            .post_with(
                &mfc,
                &desk,
                "/centre/identity/register",
                &new_citizen("+79120001122", false),
            )
            .await;
        assert_eq!(page.status, 422);
        assert!(
            page.text().contains("agree to the terms"),
            "{}",
            page.text()
        );
        let taken: &'static str = Box::leak(anna_phone.clone().into_boxed_str());
        let page = t
            .post_with(
                &mfc,
                &desk,
                "/centre/identity/register",
                &new_citizen(taken, true),
            )
            .await;
        assert!(
            page.text().contains("already has an account"),
            "{}",
            page.text()
        );
        let page = t
            .post_with(
                &mfc,
                &desk,
                "/centre/identity/register",
                &new_citizen("+79120001122", true),
            )
            .await;
        assert_eq!(
            page.path(),
            "/centre/identity/register/code",
            "{backend}: {}",
            page.text()
        );
        let code = t.last_code("+79120001122").await;
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let bad = t
            .post_with(
                &mfc,
                &page,
                "/centre/identity/register/code",
                &[("code", wrong)],
            )
            .await;
        assert_eq!(bad.status, 422);
        let done = t
            .post_with(
                &mfc,
                &bad,
                "/centre/identity/register/code",
                &[("code", &code)],
            )
            .await;
        assert!(
            done.text().contains("The account is open"),
            "{backend}: {}",
            done.text()
        );
        let olga = t
            .app
            .identity
            .admin_find_user("+79120001122")
            .await
            .unwrap()
            .unwrap();
        let sms = t.last_message("+79120001122").await;
        assert!(
            sms.contains(olga.portal_id.as_str()) && sms.contains("/recover"),
            "{sms}"
        );
        // No password passed through the operator's hands: she sets one herself.
        let b = browser();
        let form = t.get_as(&b, "/recover").await;
        let page = t
            .post_with(&b, &form, "/recover", &[("identifier", "+79120001122")])
            .await;
        assert_eq!(page.path(), "/recover/verify", "{backend}");

        // Restoring: for a checked citizen, after the in-person check, to a new phone.
        let found = t
            .post_with(
                &mfc,
                &desk,
                "/centre/identity",
                &[("query", "112-233-445 95")],
            )
            .await;
        assert!(found.text().contains("Restore access"), "{}", found.text());
        let anna_id = t.account("anna").await.id;
        let restore = format!("/centre/identity/{anna_id}/restore");
        // Not from a centre without the identity desk, nor by a citizen.
        let fields = [("phone", "+79120003344"), ("restore_seen", "yes")];
        let other_desk = t.post_with(&psk, &elsewhere, &restore, &fields).await;
        assert_eq!(other_desk.status, 404, "{backend}: {}", other_desk.text());
        let citizen = t.get_as(&anna, "/account").await;
        let by_citizen = t.post_with(&anna, &citizen, &restore, &fields).await;
        assert_ne!(by_citizen.status, 200, "{backend}");
        assert_eq!(t.messages_to("+79120003344").await, 0, "{backend}");
        // A passkey she may have lost with the phone goes with the other factors.
        ekdwar_store::passkeys::insert(
            &mut t.app.store().conn().await.unwrap(),
            &ekdwar_store::passkeys::StoredPasskey {
                credential_id: "lost-phone".into(),
                user_id: anna_id.clone(),
                user_handle: "00000000-0000-4000-8000-000000000000".into(),
                name: "Lost phone".into(),
                credential: "{}".into(),
                created_at: t.app.clock().now(),
                last_used_at: None,
            },
        )
        .await
        .unwrap();
        let unticked = t
            .post_with(&mfc, &found, &restore, &[("phone", "+79120003344")])
            .await;
        assert_eq!(unticked.status, 422);
        let page = t
            .post_with(
                &mfc,
                &found,
                &restore,
                &[("phone", "+79120003344"), ("restore_seen", "yes")],
            )
            .await;
        assert_eq!(
            page.path(),
            format!("{restore}/code"),
            "{backend}: {}",
            page.text()
        );
        let code = t.last_code("+79120003344").await;
        let done = t
            .post_with(&mfc, &page, &format!("{restore}/code"), &[("code", &code)])
            .await;
        assert!(
            done.text().contains("Access restored"),
            "{backend}: {}",
            done.text()
        );
        assert_eq!(
            t.account("anna").await.phone.unwrap().as_str(),
            "+79120003344",
            "{backend}"
        );
        assert!(
            t.last_message(&anna_phone).await.contains("anna"),
            "the old phone is told"
        );
        let passkeys =
            ekdwar_store::passkeys::of_user(&mut t.app.store().read().await.unwrap(), &anna_id)
                .await
                .unwrap();
        assert!(passkeys.is_empty(), "{backend}: the lost passkey is gone");
        let ended = t.get_as(&anna, "/account").await;
        assert_eq!(ended.path(), "/login", "{backend}: her sessions ended");
        let anna = t.logged_in("anna").await;
        let log = t.get_as(&anna, "/account/security").await.text();
        assert!(
            log.contains("Access restored at My Documents centre")
                && log.contains("Officer Sharma"),
            "{log}"
        );

        // Nothing for an unchecked account, even posted directly.
        let priya_id = t.account("priya").await.id;
        let page = t
            .post_with(
                &mfc,
                &found,
                &format!("/centre/identity/{priya_id}/restore"),
                &[("phone", "+79120005566"), ("restore_seen", "yes")],
            )
            .await;
        assert_eq!(page.status, 422, "{backend}");
        assert!(
            page.text().contains("whose identity is checked"),
            "{}",
            page.text()
        );
        assert_eq!(t.messages_to("+79120005566").await, 0);
    }
}

/// A checked profile fills forms in once only, and an application records which answers were
/// still the checked facts when it was submitted; officers see them marked.
#[tokio::test]
async fn applications_are_filled_from_the_checked_profile_and_say_what_was_checked() {
    let registry = TestRegistry::start().await;
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;
        crate::catalog::import_demo(&t).await;
        let anna = person(&t, "anna", "Анна", "Смирнова").await;
        send(&t, &anna, ANNA).await;
        run_jobs(&t).await;
        let account = t.account("anna").await;
        let draft = t
            .app
            .applications
            .start(
                &account,
                "police-clearance",
                &ekdwar_app::audit::Actor::command_line(),
            )
            .await
            .unwrap()
            .unwrap();
        let loaded = t.app.applications.get(&account.id, &draft).await.unwrap();
        let answer = |id: &str| {
            loaded
                .answers
                .get(id)
                .and_then(|a| a.one())
                .map(str::to_string)
        };
        assert_eq!(answer("given_name").as_deref(), Some("Анна"), "{backend}");
        assert_eq!(
            answer("date_of_birth").as_deref(),
            Some("1990-03-15"),
            "{backend}"
        );
        t.app
            .applications
            .discard(&account.id, &draft)
            .await
            .unwrap();

        // Submitted as prefilled (the date typed another way), but for a changed surname:
        // the rest is marked checked.
        let (id, _) = crate::applications::submitted_pcc_answering(
            &t,
            "anna",
            "police-clearance",
            &[
                ("given_name", "Анна"),
                ("surname", "Смирнова-Петрова"),
                ("date_of_birth", "15-03-1990"),
            ],
        )
        .await;
        let checked = t.app.applications.checked_answers(&id).await.unwrap();
        assert_eq!(checked, ["date_of_birth", "given_name"], "{backend}");
        // Someone with no checked profile has nothing marked.
        let (id, _) = crate::applications::submitted_pcc(&t, "priya").await;
        assert!(
            t.app
                .applications
                .checked_answers(&id)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

/// Eight wrong letter codes at once are counted one by one: exactly the allowed five count,
/// the fifth spends the letter, and the rest find no letter. A letter's code no longer works
/// once its validity has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn letter_codes_are_counted_one_by_one_and_expire() {
    let registry = TestRegistry::start().await;
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;
        let anna = person(&t, "anna", "Анна", "Смирнова").await;
        send(&t, &anna, ANNA).await;
        run_jobs(&t).await;
        let ask = || async {
            let page = t.get_as(&anna, "/account/level").await;
            let asked = t
                .post_with(&anna, &page, "/account/level/letter", &[])
                .await;
            assert_eq!(asked.status, 200, "{backend}: {}", asked.text());
        };
        ask().await;
        let (pdf, _) = export_letters(&t, backend);
        let code = printed_code(&crate::receipts::pdf_text(&pdf));
        let wrong = ekdwar_domain::national_id::ActivationCode::with_check_digit(
            if code.starts_with("000") {
                "111111111111111"
            } else {
                "000000000000000"
            },
        )
        .unwrap();
        let login = t
            .app
            .identity
            .login(
                ekdwar_app::identity::LoginInput {
                    identifier: "anna".into(),
                    password: ekdwar_domain::password::Password::new(crate::accounts::PASSWORD),
                    challenge: None,
                },
                &ekdwar_app::audit::Actor::command_line(),
            )
            .await
            .unwrap();
        let ekdwar_app::identity::Authenticated::Session(s) = login else {
            panic!("no second step for Anna");
        };
        let cur = t
            .app
            .identity
            .authenticate(&s.token)
            .await
            .unwrap()
            .unwrap();
        let results = crate::support::at_once(8, |_| {
            let (app, cur, wrong, answer) = (
                t.app.clone(),
                cur.clone(),
                wrong.as_str().to_string(),
                crate::support::solved(&t),
            );
            async move {
                app.assurance
                    .enter_letter_code(
                        &cur,
                        &wrong,
                        "112-233-445 95",
                        &answer,
                        &ekdwar_app::audit::Actor::command_line(),
                    )
                    .await
            }
        })
        .await;
        let codes: Vec<String> = results
            .iter()
            .map(|r| match r {
                Err(ekdwar_app::error::AppError::Form(list)) => {
                    let left = list[0]
                        .args
                        .iter()
                        .find(|(k, _)| *k == "left")
                        .map(|(_, v)| v.to_string());
                    format!(
                        "{}{}",
                        list[0].code,
                        left.map(|l| format!(":{l}")).unwrap_or_default()
                    )
                }
                other => format!("{other:?}"),
            })
            .collect();
        let mut counted: Vec<&str> = codes
            .iter()
            .filter(|c| c.starts_with("letter-code-wrong"))
            .map(String::as_str)
            .collect();
        counted.sort_unstable();
        assert_eq!(
            counted,
            [
                "letter-code-wrong:1",
                "letter-code-wrong:2",
                "letter-code-wrong:3",
                "letter-code-wrong:4"
            ],
            "{backend}: {codes:?}"
        );
        assert_eq!(
            codes.iter().filter(|c| *c == "letter-spent").count(),
            1,
            "{backend}: {codes:?}"
        );
        assert_eq!(
            codes.iter().filter(|c| *c == "letter-none").count(),
            3,
            "{backend}: {codes:?}"
        );

        // A new letter, past its validity: refused as expired, and a new one may be asked.
        ask().await;
        let (pdf, _) = export_letters(&t, backend);
        let code = printed_code(&crate::receipts::pdf_text(&pdf));
        t.advance(Duration::from_secs(91 * 86_400));
        let anna_now = t.logged_in("anna").await;
        let page = t.get_as(&anna_now, "/account/level").await;
        let late = t
            .post_with(
                &anna_now,
                &page,
                "/account/level/letter/code",
                &[("code", &code), ("identifier", "112-233-445 95")],
            )
            .await;
        assert_eq!(late.status, 422, "{backend}");
        assert!(late.text().contains("has expired"), "{}", late.text());
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard, "{backend}");
    }
}

/// The two checks of a profile ending at once, on two job runners: the level is raised once
/// and the person is told once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_checks_ending_at_once_raise_the_level_and_tell_once() {
    let registry = TestRegistry::start().await;
    for backend in backends() {
        let t = app_with_registry(backend, &registry).await;
        let anna = person(&t, "anna", "Анна", "Смирнова").await;
        send(&t, &anna, ANNA).await;
        let phone = t.account("anna").await.phone.unwrap().as_str().to_string();
        let before = t.messages_to(&phone).await;
        let ran = crate::support::at_once(2, |_| {
            let app = t.app.clone();
            async move { app.jobs.run_due_jobs().await.unwrap() }
        })
        .await;
        run_jobs(&t).await;
        assert!(ran.iter().sum::<usize>() >= 2, "{backend}: {ran:?}");
        assert_eq!(level(&t, "anna").await, AccountLevel::Standard, "{backend}");
        let told = t.app.notify.outbox(Some(&phone), 100).await.unwrap();
        let confirmed = told
            .iter()
            .filter(|m| m.body.contains("your profile is confirmed"))
            .count();
        assert_eq!(confirmed, 1, "{backend}: told once");
        assert_eq!(t.messages_to(&phone).await, before + 1, "{backend}");
    }
}
