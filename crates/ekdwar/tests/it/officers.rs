//! Officers: scoped by department, region and office; an application outside their scope, or
//! someone else's, does not exist for them. The workflow's actions, a correction that reopens
//! only the named answers, and two officers acting at once.

use ekdwar_app::applications::Assignment;
use ekdwar_app::audit::Actor;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::NewUserInput;
use ekdwar_domain::Role;
use ekdwar_domain::catalog::answers::{Answer, Typed};
use ekdwar_domain::password::Password;

use crate::accounts::PASSWORD;
use crate::applications::submitted_pcc;
use crate::catalog::import_demo;
use crate::support::{TestApp, at_once, backends};

pub async fn officer(
    t: &TestApp,
    portal_id: &str,
    n: u32,
    role: &str,
    department: &str,
    region: Option<&str>,
    office: Option<&str>,
) -> ekdwar_domain::UserId {
    let u = t
        .app
        .identity
        .admin_add_user(NewUserInput {
            portal_id: portal_id.into(),
            first_name: "Officer".into(),
            last_name: "Sharma".into(),
            phone: Some(format!("97000000{n:02}")),
            email: None,
            password: Password::new(PASSWORD),
            role: Role::Officer,
            language: None,
        })
        .await
        .unwrap();
    t.app
        .applications
        .assign(
            &u.id,
            &Assignment {
                role: role.into(),
                department: department.into(),
                region: region.map(Into::into),
                office: office.map(Into::into),
            },
            &Actor::command_line(),
        )
        .await
        .unwrap();
    u.id
}

#[tokio::test]
async fn officers_see_only_their_scope_and_move_applications_through_the_workflow() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_user("ravi.m", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let actor = Actor::command_line();
        let (id, _arn) = submitted_pcc(&t, "asha.k").await;
        let rajasthan = officer(
            &t,
            "off.rj",
            1,
            "passport-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        let india = officer(&t, "off.in", 2, "passport-officer", "mea", None, None).await;
        let jaipur = officer(
            &t,
            "off.jp",
            3,
            "passport-officer",
            "mea",
            None,
            Some("rpo-jaipur"),
        )
        .await;
        let bengal = officer(
            &t,
            "off.wb",
            4,
            "passport-officer",
            "mea",
            Some("IN-WB"),
            None,
        )
        .await;
        let kolkata = officer(
            &t,
            "off.ko",
            5,
            "passport-officer",
            "mea",
            None,
            Some("rpo-kolkata"),
        )
        .await;
        let revenue = officer(&t, "off.rev", 6, "tehsildar", "rj-revenue", None, None).await;
        let granting = officer(
            &t,
            "off.grant",
            7,
            "passport-granting-officer",
            "mea",
            Some("IN"),
            None,
        )
        .await;
        let ravi = t.account("ravi.m").await;

        // The access matrix: in scope, it is there; out of scope, it does not exist.
        for (who, sees) in [
            (&rajasthan, true),
            (&india, true),
            (&jaipur, true),
            (&granting, true),
            (&bengal, false),
            (&kolkata, false),
            (&revenue, false),
            (&ravi.id, false),
        ] {
            let seen = t.app.applications.inspect(who, &id, &actor).await;
            assert_eq!(seen.is_ok(), sees, "{backend}: {who}");
            if !sees {
                assert!(matches!(seen, Err(AppError::NotFound)), "{who}");
                assert!(matches!(
                    t.app
                        .applications
                        .act(who, &id, "police", "", "", &[], &actor)
                        .await,
                    Err(AppError::NotFound)
                ));
            }
            let queued = t.app.applications.queue(who).await.unwrap();
            // In scope and with an action in its state (the granting officer may reject it).
            assert_eq!(
                queued.iter().any(|q| q.loaded.id == id),
                sees,
                "{backend}: queue of {who}"
            );
        }
        assert!(matches!(
            t.app.applications.get(&ravi.id, &id).await,
            Err(AppError::NotFound)
        ));

        // A correction needs a comment and the answers to reopen.
        let refused = t
            .app
            .applications
            .act(
                &rajasthan,
                &id,
                "request-correction",
                "",
                "",
                &["pincode".into()],
                &actor,
            )
            .await;
        assert!(matches!(refused, Err(AppError::Form(_))));
        t.app
            .applications
            .act(
                &rajasthan,
                &id,
                "request-correction",
                "The PIN code does not match the address",
                "",
                &["pincode".into()],
                &actor,
            )
            .await
            .unwrap();
        let asha = t.account("asha.k").await;
        let sms = t.last_message(asha.phone.as_deref().unwrap()).await;
        // The SMS names the answer to correct and where.
        assert!(
            sms.contains("needs a correction: PIN code") && sms.contains("My applications"),
            "{sms}"
        );
        // The applicant changes only what was reopened.
        let typed = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Typed::One(v.to_string())))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        t.app
            .applications
            .save_page(
                &asha.id,
                &id,
                "contact",
                &typed(&[
                    ("phone", "98123 45600"),
                    ("address", "Somewhere else entirely"),
                    ("pincode", "302018"),
                    ("office", "rpo-jaipur"),
                ]),
                &ekdwar_app::i18n::Lang::english(),
            )
            .await
            .unwrap();
        let loaded = t.app.applications.get(&asha.id, &id).await.unwrap();
        assert_eq!(loaded.answers["pincode"], Answer::One("302018".into()));
        assert_eq!(
            loaded.answers["address"],
            Answer::One("12 Malviya Nagar".into()),
            "an answer not reopened stays as it was"
        );
        // A page without reopened answers is not open.
        assert!(
            t.app
                .applications
                .save_page(
                    &asha.id,
                    &id,
                    "destination",
                    &typed(&[("country", "US"), ("purpose", "visa")]),
                    &ekdwar_app::i18n::Lang::english(),
                )
                .await
                .is_err()
        );
        t.app
            .applications
            .resubmit(&asha, &id, &ekdwar_app::i18n::Lang::english(), &actor)
            .await
            .unwrap();

        // Five officers' clicks at once: one moves it, the others are told it changed.
        let results = at_once(5, |_| {
            let app = t.app.clone();
            let who = rajasthan.clone();
            let id = id.clone();
            async move {
                app.applications
                    .act(&who, &id, "police", "", "", &[], &Actor::command_line())
                    .await
            }
        })
        .await;
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{backend}: {results:?}"
        );
        // Only the granting officer may issue; a rejection needs a listed reason.
        assert!(
            t.app
                .applications
                .act(&rajasthan, &id, "issue", "", "", &[], &actor)
                .await
                .is_err()
        );
        assert!(
            t.app
                .applications
                .act(&granting, &id, "reject", "", "no-such-reason", &[], &actor)
                .await
                .is_err()
        );
        t.app
            .applications
            .act(&granting, &id, "issue", "", "", &[], &actor)
            .await
            .unwrap();
        let loaded = t.app.applications.get(&asha.id, &id).await.unwrap();
        assert_eq!(loaded.state, "issued");
        assert!(loaded.is_final());
        let history = t.app.applications.history(&asha.id, &id).await.unwrap();
        let steps: Vec<&str> = history.iter().map(|s| s.action.as_str()).collect();
        assert_eq!(
            steps,
            [
                "submit",
                "request-correction",
                "resubmit",
                "police",
                "issue"
            ]
        );
        assert_eq!(
            history[1].comment.as_deref(),
            Some("The PIN code does not match the address")
        );
        // Every officer's look was recorded against the citizen.
        use sqlx::Row;
        let mut conn = t.app.store().read().await.unwrap();
        let views: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'application-viewed' \
             AND subject_id = $1",
        )
        .bind(asha.id.as_str())
        .fetch_one(&mut *conn)
        .await
        .unwrap()
        .get("n");
        assert_eq!(views, 4, "{backend}");
    }
}

#[tokio::test]
async fn an_officer_must_set_up_two_step_login_before_anything_else() {
    let t = TestApp::start("sqlite").await;
    import_demo(&t).await;
    officer(
        &t,
        "off.rj",
        1,
        "passport-officer",
        "mea",
        Some("IN-RJ"),
        None,
    )
    .await;
    let c = crate::support::browser();
    let form = t.get_as(&c, "/login").await;
    t.post_with(
        &c,
        &form,
        "/login",
        &[("identifier", "off.rj"), ("password", PASSWORD)],
    )
    .await;
    let r = c.get(t.url("/officer")).send().await.unwrap();
    assert!(
        r.url().path().starts_with("/account/two-step"),
        "{}",
        r.url()
    );
}

#[tokio::test]
async fn the_demo_has_an_officer_for_rajasthan() {
    let t = TestApp::builder("sqlite")
        .with_user("asha.k", PASSWORD)
        .start()
        .await;
    import_demo(&t).await;
    t.app.identity.seed_demo().await.unwrap();
    // Twice, as a restarted demo does: the assignments are made once.
    t.app.applications.seed_demo_officer().await.unwrap();
    t.app.applications.seed_demo_officer().await.unwrap();
    let officer = t.account("officer.jaipur").await;
    assert_eq!(officer.role, Role::Officer);
    let roles: Vec<String> = t
        .app
        .applications
        .assignments(&officer.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.role)
        .collect();
    assert_eq!(
        roles,
        [
            "passport-officer",
            "passport-granting-officer",
            "passport-supervisor",
            "passport-cse",
            "police-verifier",
            "tehsildar"
        ]
    );
    let (id, _) = submitted_pcc(&t, "asha.k").await;
    let queue = t.app.applications.queue(&officer.id).await.unwrap();
    assert!(queue.iter().any(|q| q.loaded.id == id));
}

#[tokio::test]
async fn nothing_is_decided_before_the_centre_visit_and_the_police_report() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let actor = Actor::command_line();
        let (id, _) = crate::eforms::submitted_fresh(&t, "asha.k").await;
        let verifier = officer(
            &t,
            "off.rj",
            1,
            "passport-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        let granting = officer(
            &t,
            "off.grant",
            2,
            "passport-granting-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        let act = |who: &ekdwar_domain::UserId, action: &'static str, note: &'static str| {
            let t = &t;
            let id = id.clone();
            let who = who.clone();
            let actor = actor.clone();
            async move {
                t.app
                    .applications
                    .act(&who, &id, action, note, "", &[], &actor)
                    .await
            }
        };
        let cse = officer(&t, "off.cse", 3, "passport-cse", "mea", Some("IN-RJ"), None).await;
        let police = officer(
            &t,
            "off.police",
            4,
            "police-verifier",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        // Before the centre has seen the originals, nobody reviews, and nobody approves.
        assert!(act(&verifier, "review", "").await.is_err());
        assert!(act(&granting, "approve", "").await.is_err());
        act(&cse, "verify-documents", "").await.unwrap();
        act(&verifier, "review", "").await.unwrap();
        // Under review the granting officer still cannot approve: the police come first.
        assert!(act(&granting, "approve", "").await.is_err());
        act(&verifier, "police", "").await.unwrap();
        let (seen, _) = t
            .app
            .applications
            .inspect(&police, &id, &actor)
            .await
            .unwrap();
        assert_eq!(seen.state, "police-verification");
        assert!(seen.due_on.is_some(), "the police have a deadline");
        assert!(act(&granting, "approve", "").await.is_err());
        assert!(
            act(&verifier, "police-report", "Clear").await.is_err(),
            "the police's own step"
        );
        // The police report goes with a note for the granting officer.
        let refused = act(&police, "police-report", "  ").await;
        assert!(
            matches!(&refused, Err(AppError::Form(f)) if f[0].code == "officer-note-required"),
            "{refused:?}"
        );
        act(
            &police,
            "police-report",
            "Address and identity confirmed; no record.",
        )
        .await
        .unwrap();
        let (seen, _) = t
            .app
            .applications
            .inspect(&granting, &id, &actor)
            .await
            .unwrap();
        assert_eq!(seen.state, "granting");
        assert!(seen.due_on.is_some(), "the granting stage has a deadline");
        assert!(act(&police, "police-report", "again").await.is_err());
        act(&granting, "approve", "").await.unwrap();
        let owner = t.account("asha.k").await;
        let history = t.app.applications.history(&owner.id, &id).await.unwrap();
        let steps: Vec<&str> = history.iter().map(|s| s.action.as_str()).collect();
        assert_eq!(
            steps,
            [
                "submit",
                "verify-documents",
                "review",
                "police",
                "police-report",
                "approve"
            ],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn after_submission_only_the_centres_staff_change_answers() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let actor = Actor::command_line();
        let lang = ekdwar_app::i18n::Lang::english();
        let (id, _) = crate::eforms::submitted_fresh(&t, "asha.k").await;
        let asha = t.account("asha.k").await;
        let cse = officer(&t, "cse.rj", 1, "passport-cse", "mea", Some("IN-RJ"), None).await;
        let verifier = officer(
            &t,
            "off.rj",
            2,
            "passport-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        let cse_wb = officer(&t, "cse.wb", 3, "passport-cse", "mea", Some("IN-WB"), None).await;
        let pincode = |v: &str| {
            [
                ("phone", "98123 45600"),
                ("address", "12 Malviya Nagar"),
                ("pincode", v),
                ("lived_a_year", "yes"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Typed::One(v.to_string())))
            .collect::<std::collections::BTreeMap<_, _>>()
        };
        // The applicant cannot change a submitted application.
        let own = t
            .app
            .applications
            .save_page(&asha.id, &id, "contact", &pincode("302018"), &lang)
            .await;
        assert!(matches!(own, Err(AppError::Form(_))), "{own:?}");
        // Nor can an officer without the centre's role, or the centre's staff elsewhere.
        for who in [&verifier, &cse_wb] {
            let r = t
                .app
                .applications
                .edit_page(who, &id, "contact", &pincode("302018"), &lang, &actor)
                .await;
            assert!(matches!(r, Err(AppError::NotFound)), "{who}: {r:?}");
        }
        // The centre's staff can, through the form's own checks.
        let bad = t
            .app
            .applications
            .edit_page(&cse, &id, "contact", &pincode("012345"), &lang, &actor)
            .await;
        assert!(
            matches!(bad, Err(AppError::Form(ref f)) if f[0].field == "pincode"),
            "{bad:?}"
        );
        t.app
            .applications
            .edit_page(&cse, &id, "contact", &pincode("302018"), &lang, &actor)
            .await
            .unwrap();
        let loaded = t.app.applications.get(&asha.id, &id).await.unwrap();
        assert_eq!(loaded.state, "submitted", "the state stays");
        assert_eq!(
            loaded.answers.get("pincode"),
            Some(&Answer::One("302018".into()))
        );
        let history = t.app.applications.history(&asha.id, &id).await.unwrap();
        let last = history.last().unwrap();
        assert_eq!(last.action, "correct-at-centre");
        assert_eq!(last.comment.as_deref(), Some("PIN code"));
        let sms = t.last_message(asha.phone.as_deref().unwrap()).await;
        assert!(sms.contains("corrected at the service centre"), "{sms}");
        // Once the originals are checked, the centre's correction is no longer offered.
        t.app
            .applications
            .act(&cse, &id, "verify-documents", "", "", &[], &actor)
            .await
            .unwrap();
        let late = t
            .app
            .applications
            .edit_page(&cse, &id, "contact", &pincode("302019"), &lang, &actor)
            .await;
        assert!(late.is_err());
        // And an edit is not an action to "take" without its form.
        let r = t
            .app
            .applications
            .act(&cse, &id, "correct-at-centre", "", "", &[], &actor)
            .await;
        assert!(r.is_err());
    }
}

#[tokio::test]
async fn an_officer_claims_an_application_and_the_next_step_releases_it() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let actor = Actor::command_line();
        let (id, _) = submitted_pcc(&t, "asha.k").await;
        let one = officer(
            &t,
            "off.one",
            1,
            "passport-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        let two = officer(
            &t,
            "off.two",
            2,
            "passport-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        let far = officer(
            &t,
            "off.wb",
            3,
            "passport-officer",
            "mea",
            Some("IN-WB"),
            None,
        )
        .await;
        // Out of scope: it does not exist.
        assert!(matches!(
            t.app.applications.claim(&far, &id, true, &actor).await,
            Err(AppError::NotFound)
        ));
        // Both claim at once: exactly one wins.
        let results = at_once(2, |i| {
            let app = t.app.clone();
            let who = if i == 0 { one.clone() } else { two.clone() };
            let id = id.clone();
            async move {
                app.applications
                    .claim(&who, &id, true, &Actor::command_line())
                    .await
            }
        })
        .await;
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{backend}: {results:?}"
        );
        // Whoever won, `one` holds the claim from here on.
        if results[1].is_ok() {
            t.app
                .applications
                .claim(&two, &id, false, &actor)
                .await
                .unwrap();
            t.app
                .applications
                .claim(&one, &id, true, &actor)
                .await
                .unwrap();
        }
        // Claiming what another holds says so.
        let taken = t.app.applications.claim(&two, &id, true, &actor).await;
        assert!(
            matches!(&taken, Err(AppError::Form(f)) if f[0].code == "officer-claimed-by-another"),
            "{taken:?}"
        );
        // Only the holder releases it.
        assert!(
            t.app
                .applications
                .claim(&two, &id, false, &actor)
                .await
                .is_err()
        );
        let queue = t.app.applications.queue(&two).await.unwrap();
        let item = queue.iter().find(|i| i.loaded.id == id).unwrap();
        assert_eq!(item.loaded.claimed_by.as_ref(), Some(&one));
        // The next step releases it; the officer's timeline shows every step with its role.
        t.app
            .applications
            .act(
                &one,
                &id,
                "police",
                "Sent to the SP office",
                "",
                &[],
                &actor,
            )
            .await
            .unwrap();
        let (loaded, _) = t.app.applications.inspect(&two, &id, &actor).await.unwrap();
        assert_eq!(loaded.claimed_by, None);
        let timeline = t.app.applications.timeline(&loaded).await.unwrap();
        let roles: Vec<(&str, &str)> = timeline
            .iter()
            .map(|s| (s.role.as_str(), s.action.as_str()))
            .collect();
        assert_eq!(
            roles,
            [("applicant", "submit"), ("passport-officer", "police")],
            "{backend}"
        );
    }
}

/// The Rajasthan income certificate has no offices: it never reached `officer.jaipur`'s
/// queue and opening it gave 404. A region-scoped officer now covers an application by its
/// office's region, or, without an office, by the regions its service is offered in. Tried on
/// every demo service of the officer's departments; an officer of another region sees none.
#[tokio::test]
async fn a_region_scoped_officer_covers_every_demo_service_of_their_region() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        t.app.identity.seed_demo().await.unwrap();
        t.app.applications.seed_demo_officer().await.unwrap();
        let jaipur = t.account("officer.jaipur").await.id;
        let bengal = officer(
            &t,
            "officer.kolkata",
            41,
            "tehsildar",
            "rj-revenue",
            Some("IN-WB"),
            None,
        )
        .await;
        let actor = Actor::command_line();
        let departments = ["mea", "rj-revenue"];
        let snapshot = t.app.catalog.snapshot();
        let services: Vec<_> = snapshot
            .offered(None)
            .filter(|s| departments.contains(&s.department.as_str()) && s.workflow.is_some())
            .filter(|s| s.delivery.kind == ekdwar_domain::catalog::DeliveryKind::Online)
            .map(|s| {
                let has_offices = s.form.as_ref().is_some_and(|f| {
                    f.pages
                        .iter()
                        .flat_map(|p| &p.fields)
                        .any(|q| q.kind == ekdwar_domain::catalog::FieldKind::Office)
                });
                let rajasthans = !s.regions.is_empty()
                    && s.regions
                        .iter()
                        .all(|r| snapshot.entries.within(r, "IN-RJ"));
                (s.code.clone(), has_offices, rajasthans)
            })
            .collect();
        assert!(
            services
                .iter()
                .any(|(c, _, r)| c == "rj-income-certificate" && *r),
            "{services:?}"
        );
        for (i, (code, has_offices, rajasthans)) in services.iter().enumerate() {
            let seeded = t
                .app
                .seed_applicants(&format!("scope.{i}"), 1, code, "{}")
                .await
                .unwrap();
            let id = seeded[0].1.clone();
            if *has_offices {
                // Made at the Jaipur passport office, as its form lets the applicant choose.
                sqlx::query("UPDATE applications SET office = 'rpo-jaipur' WHERE id = $1")
                    .bind(id.as_str())
                    .execute(&mut *t.app.store().conn().await.unwrap())
                    .await
                    .unwrap();
            }
            // Made at the Jaipur office, or a service of Rajasthan's: the Jaipur officer's. A
            // national service without an office is no region's.
            let theirs = *has_offices || *rajasthans;
            let queue = t.app.applications.queue(&jaipur).await.unwrap();
            assert_eq!(
                queue.iter().any(|q| q.loaded.id == id),
                theirs,
                "{backend}: {code} in the Jaipur officer's queue"
            );
            let opened = t.app.applications.inspect(&jaipur, &id, &actor).await;
            assert_eq!(
                opened.is_ok(),
                theirs,
                "{backend}: {code} opens for the Jaipur officer"
            );
            assert!(
                matches!(
                    t.app.applications.inspect(&bengal, &id, &actor).await,
                    Err(AppError::NotFound)
                ),
                "{backend}: {code} is not Bengal's"
            );
        }
        assert!(t.app.applications.queue(&bengal).await.unwrap().is_empty());
    }
}
