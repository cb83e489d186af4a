//! Applying for a service over HTTP, as a browser without scripts does: start from the service,
//! fill each page (errors keep what was typed), leave and resume, check, declare, submit, get
//! an ARN, be told, withdraw. Only the owner ever sees an application.

use ekdwar_domain::catalog::Arn;

use crate::accounts::PASSWORD;
use crate::catalog::import_demo;
use crate::support::{Page, TestApp, backends, browser};

async fn logged_in(t: &TestApp, client: &reqwest::Client, portal_id: &str) {
    let form = t.get_as(client, "/login").await;
    let page = t
        .post_with(
            client,
            &form,
            "/login",
            &[("identifier", portal_id), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
}

fn path_of(page: &Page) -> String {
    let url = url::Url::parse(&page.url).unwrap();
    url.path().to_string()
}

#[tokio::test]
async fn a_citizen_applies_for_a_passport_and_follows_it() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_user("ravi.m", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let asha = browser();
        logged_in(&t, &asha, "asha.k").await;
        let service = t.get_as(&asha, "/services/passport-fresh").await;
        assert!(service.text().contains("Start your application"));
        let first = t
            .post_with(&asha, &service, "/services/passport-fresh/apply", &[])
            .await;
        let path = path_of(&first);
        assert!(path.ends_with("/pages/applicant"), "{path}");
        let base = path.trim_end_matches("/pages/applicant").to_string();
        // What the profile knows is filled in already.
        assert_eq!(first.field("given_name").as_deref(), Some("Test"));

        // Errors: each named next to its question, and nothing typed is lost.
        let page = t
            .post_with(
                &asha,
                &first,
                &format!("{base}/pages/applicant"),
                &[
                    ("given_name", "Asha"),
                    ("surname", "Kumari"),
                    // Three boxes, as the page asks a date of birth.
                    ("date_of_birth[day]", "31"),
                    ("date_of_birth[month]", "2"),
                    ("date_of_birth[year]", "1990"),
                    ("place_of_birth", ""),
                ],
            )
            .await;
        assert_eq!(page.status, 400);
        let text = page.text();
        assert!(text.contains("Enter a real date"), "{text}");
        // An empty answer's message names the question.
        assert!(
            text.contains("Enter “Place of birth (village, town or city)”"),
            "{text}"
        );
        assert!(!text.contains("Answer this question"), "{text}");
        assert_eq!(page.field("surname").as_deref(), Some("Kumari"));
        // What was typed comes back in its boxes.
        for (part, typed) in [("day", "31"), ("month", "2"), ("year", "1990")] {
            let name = format!("date_of_birth[{part}]");
            assert_eq!(page.field(&name).as_deref(), Some(typed), "{part}");
        }

        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/applicant"),
                &[
                    ("given_name", "Asha"),
                    ("surname", "Kumari"),
                    ("date_of_birth", "14-08-1995"),
                    ("place_of_birth", "Jaipur"),
                ],
            )
            .await;
        assert!(
            path_of(&page).ends_with("/pages/passport-type"),
            "{}",
            page.url
        );
        // An adult is asked for the booklet; the minors' page is skipped later.
        assert!(page.asks_for("booklet"));
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/passport-type"),
                &[("scheme", "tatkaal"), ("booklet", "36")],
            )
            .await;
        assert!(path_of(&page).ends_with("/pages/family"), "{}", page.url);

        // She leaves; "My applications" has the draft, and resuming goes where she stopped.
        let mine = t.get_as(&asha, "/applications").await;
        assert!(mine.text().contains("Draft"), "{}", mine.text());
        let resumed = t.get_as(&asha, &format!("{base}/check")).await;
        assert!(path_of(&resumed).ends_with("/pages/family"));

        // A repeating group: one member, then another with "add another".
        let page = t
            .post_with(
                &asha,
                &resumed,
                &format!("{base}/pages/family"),
                &[
                    ("family.0.name", "Sunita Kumari"),
                    ("family.0.relation", "parent"),
                    ("family.0.phone", ""),
                    ("more", "family"),
                ],
            )
            .await;
        assert_eq!(
            page.field("family.0.name").as_deref(),
            Some("Sunita Kumari")
        );
        assert!(page.asks_for("family.1.name"));
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/family"),
                &[
                    ("family.0.name", "Sunita Kumari"),
                    ("family.0.relation", "parent"),
                    ("family.1.name", "Vikram"),
                    ("family.1.relation", "uncle"),
                ],
            )
            .await;
        assert_eq!(page.status, 400);
        assert!(page.text().contains("Choose one of the options"));
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/family"),
                &[
                    ("family.0.name", "Sunita Kumari"),
                    ("family.0.relation", "parent"),
                    ("family.1.name", "Vikram Kumar"),
                    ("family.1.relation", "sibling"),
                ],
            )
            .await;
        // Marriage, education and the criminal-proceedings declaration; married, the spouse.
        assert!(
            path_of(&page).ends_with("/pages/background"),
            "{}",
            page.url
        );
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/background"),
                &[
                    ("marital_status", "married"),
                    ("ecr", "non-ecr"),
                    ("criminal_proceedings", "no"),
                ],
            )
            .await;
        assert!(path_of(&page).ends_with("/pages/spouse"), "{}", page.url);
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/spouse"),
                &[("spouse_name", "Ravi Kumar")],
            )
            .await;
        assert!(path_of(&page).ends_with("/pages/contact"), "{}", page.url);
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/contact"),
                &[
                    ("phone", "98123 45678"),
                    ("email", ""),
                    ("address", "12 Malviya Nagar\nJaipur"),
                    ("pincode", "012345"),
                ],
            )
            .await;
        assert!(page.text().contains("6-digit PIN code"));
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/contact"),
                &[
                    ("phone", "98123 45678"),
                    ("email", ""),
                    ("address", "12 Malviya Nagar\nJaipur"),
                    ("pincode", "302017"),
                    ("lived_a_year", "no"),
                ],
            )
            .await;
        // Not a year at this address: where before, for the police to verify.
        assert!(
            path_of(&page).ends_with("/pages/previous-address"),
            "{}",
            page.url
        );
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/previous-address"),
                &[("previous_address", "4 Civil Lines\nAjmer")],
            )
            .await;
        // Two references near the present address.
        assert!(
            path_of(&page).ends_with("/pages/references"),
            "{}",
            page.url
        );
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/references"),
                &[
                    ("references.0.name", "Meena Sharma"),
                    ("references.0.address", "14 Malviya Nagar"),
                    ("references.0.phone", "98123 45602"),
                    ("references.1.name", "Rakesh Jain"),
                    ("references.1.address", "16 Malviya Nagar"),
                    ("references.1.phone", "98123 45603"),
                ],
            )
            .await;
        let page = t
            .post_with(
                &asha,
                &page,
                &format!("{base}/pages/office"),
                &[("office", "rpo-jaipur")],
            )
            .await;
        assert!(path_of(&page).ends_with("/check"), "{}", page.url);
        // "Change" goes to the question itself, not only to its page.
        assert!(
            page.body.contains("/pages/applicant#date_of_birth\""),
            "{}",
            page.body
        );
        let text = page.text();
        for expected in [
            "Asha",
            "14 Aug 1995",
            "Tatkaal",
            "Regional Passport Office, Jaipur",
            "Sunita Kumari, Parent",
            "₹1,500",
            "₹2,000",
        ] {
            assert!(text.contains(expected), "{expected} missing: {text}");
        }
        // The declaration is required.
        let refused = t
            .post_with(&asha, &page, &format!("{base}/submit"), &[])
            .await;
        assert_eq!(refused.status, 400);
        assert!(refused.text().contains("Tick the declaration"));
        let done = t
            .post_with(
                &asha,
                &refused,
                &format!("{base}/submit"),
                &[("declaration", "yes")],
            )
            .await;
        assert_eq!(done.status, 200);
        let text = done.text();
        assert!(text.contains("Your application is submitted"), "{text}");
        // In a confirmation panel with the reference number, as it is announced.
        assert!(
            done.body
                .contains("class=\"panel-confirm\" role=\"status\"")
        );
        // Opened again later, the page is the plain one.
        let later = t.get_as(&asha, &done.path()).await;
        assert!(!later.body.contains("panel-confirm"));
        let arn_text = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(4)
            .find(|w| w[0].starts_with("EK") && w[0].len() == 4)
            .map(|w| w.join(" "))
            .expect("an ARN on the page");
        let arn = Arn::parse(&arn_text).expect("a valid ARN");
        // Told by SMS, with the ARN.
        let account = t.account("asha.k").await;
        let sms = t.last_message(account.phone.as_deref().unwrap()).await;
        assert!(
            sms.contains(arn.as_str()) || sms.contains(&arn.to_string()),
            "{sms}"
        );
        // Submitted: no more editing online.
        let again = t.get_as(&asha, &format!("{base}/pages/applicant")).await;
        assert_eq!(path_of(&again), base);
        // One open application at a time: starting again leads to this one.
        let service = t.get_as(&asha, "/services/passport-fresh").await;
        let second = t
            .post_with(&asha, &service, "/services/passport-fresh/apply", &[])
            .await;
        assert_eq!(path_of(&second), base);
        assert!(second.text().contains("already have an open application"));

        // Nobody else sees it: another citizen and a visitor get nothing.
        let ravi = browser();
        logged_in(&t, &ravi, "ravi.m").await;
        for p in [
            base.clone(),
            format!("{base}/check"),
            format!("{base}/pages/applicant"),
        ] {
            let r = ravi.get(t.url(&p)).send().await.unwrap();
            assert_eq!(r.status(), 404, "{p}");
        }
        let mine = t.get_as(&ravi, "/applications").await;
        assert!(!mine.text().contains("Fresh passport"));
        let visitor = browser();
        let r = visitor.get(t.url(&base)).send().await.unwrap();
        assert!(r.url().path().starts_with("/login"), "{}", r.url());

        // She withdraws it; the history shows both steps.
        let page = t.get_as(&asha, &base).await;
        let page = t
            .post_with(&asha, &page, &format!("{base}/withdraw"), &[])
            .await;
        let text = page.text();
        assert!(text.contains("Withdrawn"), "{text}");
        assert!(text.contains("Submitted"), "{text}");
        assert!(!page.body.contains("/withdraw\""));
    }
}

#[tokio::test]
async fn a_minor_gets_the_parents_page_and_the_minors_fee() {
    let t = TestApp::builder("sqlite")
        .with_user("meena.p", PASSWORD)
        .start()
        .await;
    import_demo(&t).await;
    let c = browser();
    logged_in(&t, &c, "meena.p").await;
    let service = t.get_as(&c, "/services/passport-fresh").await;
    let first = t
        .post_with(&c, &service, "/services/passport-fresh/apply", &[])
        .await;
    let base = path_of(&first)
        .trim_end_matches("/pages/applicant")
        .to_string();
    // Ten years old today (the test clock's date).
    let today = jiff::Timestamp::from_millisecond(t.app.clock().now().millis())
        .unwrap()
        .to_zoned(t.app.time_zone().clone())
        .date();
    let born = today.checked_sub(jiff::Span::new().years(10)).unwrap();
    let page = t
        .post_with(
            &c,
            &first,
            &format!("{base}/pages/applicant"),
            &[
                ("given_name", "Chotu"),
                ("surname", "Kumar"),
                ("date_of_birth", &born.to_string()),
                ("place_of_birth", "Kota"),
            ],
        )
        .await;
    // No booklet question for a minor.
    assert!(!page.asks_for("booklet"), "{}", page.text());
    let page = t
        .post_with(
            &c,
            &page,
            &format!("{base}/pages/passport-type"),
            &[("scheme", "normal")],
        )
        .await;
    assert!(path_of(&page).ends_with("/pages/parents"), "{}", page.url);
    let check = t.get_as(&c, &format!("{base}/check")).await;
    // Still incomplete: sent to the parents' page.
    assert!(path_of(&check).ends_with("/pages/parents"));
    let loaded = t
        .app
        .applications
        .get(
            &t.account("meena.p").await.id,
            &ekdwar_domain::ApplicationId::new(base.trim_start_matches("/applications/")),
        )
        .await
        .unwrap();
    let fees: Vec<u64> = t
        .app
        .applications
        .fees(&loaded)
        .iter()
        .map(|f| f.amount)
        .collect();
    assert_eq!(fees, [100_000], "the minors' fee only");
}

/// A police clearance application submitted through the use-cases; its ARN.
pub async fn submitted_pcc(t: &TestApp, portal_id: &str) -> (ekdwar_domain::ApplicationId, Arn) {
    submitted_pcc_of(t, portal_id, "police-clearance").await
}

/// As [`submitted_pcc`], for a service defined with police clearance's form (`code`).
pub async fn submitted_pcc_of(
    t: &TestApp,
    portal_id: &str,
    code: &str,
) -> (ekdwar_domain::ApplicationId, Arn) {
    submitted_pcc_answering(
        t,
        portal_id,
        code,
        &[
            ("given_name", "Asha"),
            ("surname", "Kumari"),
            ("date_of_birth", "26-01-1990"),
        ],
    )
    .await
}

/// As [`submitted_pcc_of`], with `applicant`'s answers on the applicant page (the passport
/// number is added).
pub async fn submitted_pcc_answering(
    t: &TestApp,
    portal_id: &str,
    code: &str,
    applicant: &[(&str, &str)],
) -> (ekdwar_domain::ApplicationId, Arn) {
    use ekdwar_domain::catalog::answers::Typed;
    let account = t.account(portal_id).await;
    let actor = ekdwar_app::audit::Actor::command_line();
    let lang = ekdwar_app::i18n::Lang::english();
    let id = t
        .app
        .applications
        .start(&account, code, &actor)
        .await
        .unwrap()
        .unwrap();
    let typed = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Typed::One(v.to_string())))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let mut first = applicant.to_vec();
    first.push(("passport_number", "K1234567"));
    for (page, answers) in [
        ("applicant", typed(&first)),
        (
            "destination",
            typed(&[("country", "AE"), ("purpose", "employment")]),
        ),
        (
            "contact",
            typed(&[
                ("phone", "98123 45600"),
                ("address", "12 Malviya Nagar"),
                ("pincode", "302017"),
                ("office", "rpo-jaipur"),
            ]),
        ),
    ] {
        t.app
            .applications
            .save_page(&account.id, &id, page, &answers, &lang)
            .await
            .unwrap();
    }
    let arn = t
        .app
        .applications
        .submit(&account, &id, true, &lang, &actor)
        .await
        .unwrap();
    (id, arn)
}

#[tokio::test]
async fn anyone_tracks_with_the_file_number_and_date_of_birth_and_learns_nothing_more() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let (_, arn) = submitted_pcc(&t, "asha.k").await;
        let visitor = browser();
        let track = |service: &'static str, number: String, born: &'static str| {
            let visitor = visitor.clone();
            let t = &t;
            async move {
                let form = t.get_as(&visitor, "/track").await;
                t.post_with(
                    &visitor,
                    &form,
                    "/track",
                    &[("service", service), ("arn", &number), ("birth_date", born)],
                )
                .await
            }
        };
        // The right three: status, service, date, a masked name, and nothing else.
        let spaced = arn.to_string().to_lowercase();
        let page = track("police-clearance", spaced, "1990-01-26").await;
        assert_eq!(page.status, 200, "{}", page.text());
        let text = page.text();
        assert!(text.contains("Application found"), "{text}");
        assert!(text.contains("Police clearance certificate"));
        assert!(text.contains("A••• K•••"), "{text}");
        // Where it stands besides its state: the fee and the visit to the centre.
        assert!(
            text.contains("Fee") && text.contains("Visit to the centre"),
            "{text}"
        );
        assert!(text.contains("No appointment booked yet"), "{text}");
        for secret in [
            "Asha",
            "Kumari",
            "K1234567",
            "Malviya",
            "302017",
            "United Arab",
        ] {
            assert!(!text.contains(secret), "{secret} shown to a visitor");
        }
        // Any part wrong: the same answer, whichever it was.
        let wrong_birth = track("police-clearance", arn.to_string(), "1990-01-27").await;
        let wrong_service = track("passport-fresh", arn.to_string(), "1990-01-26").await;
        let other = ekdwar_domain::catalog::Arn::generate(2026, |n| n - 1);
        let unknown = track("police-clearance", other.to_string(), "1990-01-26").await;
        for page in [&wrong_birth, &wrong_service, &unknown] {
            assert_eq!(page.status, 400);
            assert!(page.text().contains("No application matches these details"));
            assert!(!page.text().contains("Application found"));
        }
        // A mistyped digit is caught before any look-up.
        let mut typo = arn.as_str().to_string().into_bytes();
        typo[5] = if typo[5] == b'9' { b'8' } else { typo[5] + 1 };
        let typo = String::from_utf8(typo).unwrap();
        let form = t.get_as(&visitor, "/track").await;
        let page = t
            .post_with(
                &visitor,
                &form,
                "/track",
                &[("arn", &typo), ("birth_date", "1990-01-26")],
            )
            .await;
        assert!(page.text().contains("This is not a file number"));
        // … and costs no challenge: the one solved for that try still works once.
        let fixed = [("arn", arn.as_str()), ("birth_date", "1990-01-26")];
        let page = t.post_with(&visitor, &form, "/track", &fixed).await;
        assert!(page.text().contains("Application found"), "{}", page.text());
        let page = t.post_with(&visitor, &form, "/track", &fixed).await;
        assert!(!page.text().contains("Application found"), "used twice");
        // Without the challenge, nothing is looked up.
        let form = t.get_as(&visitor, "/track").await;
        let page = Page::read(
            visitor
                .post(t.url("/track"))
                .form(&[
                    ("csrf", form.field("csrf").unwrap()),
                    ("service", "police-clearance".into()),
                    ("arn", arn.to_string()),
                    ("birth_date", "1990-01-26".into()),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(page.status, 400);
        assert!(!page.text().contains("Application found"));

        // Guessing the date of birth: the file number has had two wrong tries. Two more are
        // answered as usual; then even the right date is refused until the back-off ends,
        // and an unknown number goes through exactly the same steps (nothing tells them apart).
        let guesses = |number: String| {
            let track = &track;
            async move {
                let mut seen = Vec::new();
                for born in ["1990-01-28", "1990-01-29", "1990-01-26"] {
                    let page = track("", number.clone(), born).await;
                    let text = page.text();
                    let said = if text.contains("Application found") {
                        "found"
                    } else if text.contains("Too many tries to track this file number") {
                        "too many"
                    } else if text.contains("No application matches these details") {
                        "no match"
                    } else {
                        panic!("{text}")
                    };
                    seen.push((page.status, said));
                }
                seen
            }
        };
        let expected = vec![(400, "no match"), (400, "no match"), (429, "too many")];
        assert_eq!(guesses(arn.to_string()).await, expected);
        // The unknown number had one try above; one more makes two, as for the real one.
        track("police-clearance", other.to_string(), "1990-01-27").await;
        assert_eq!(guesses(other.to_string()).await, expected);
        // After the back-off the right answer works again, with no service chosen.
        t.advance(std::time::Duration::from_secs(5 * 60 + 1));
        let page = track("", arn.to_string(), "1990-01-26").await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.text().contains("Application found"));
    }
}

#[tokio::test]
async fn a_service_above_the_account_level_is_refused_until_the_level_is_raised() {
    let t = TestApp::builder("sqlite")
        .with_user("asha.k", PASSWORD)
        .start()
        .await;
    let files: Vec<ekdwar_app::catalog::SourceFile> = ekdwar_app::catalog::Bundle::read_dir(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services"),
    )
    .unwrap()
    .into_iter()
    .map(|mut f| {
        if f.name == "passport/police-clearance.toml" {
            f.text = f.text.replace(
                "code = \"police-clearance\"\n",
                "code = \"police-clearance\"\nmin_level = \"standard\"\n",
            );
        }
        f
    })
    .collect();
    let bundle = t.app.catalog.check(&files).unwrap();
    let actor = ekdwar_app::audit::Actor::command_line();
    t.app.catalog.import(&bundle, &actor).await.unwrap();
    let account = t.account("asha.k").await;
    let refused = t
        .app
        .applications
        .start(&account, "police-clearance", &actor)
        .await;
    assert!(
        matches!(&refused, Err(ekdwar_app::error::AppError::Form(e)) if e[0].code == "application-level-too-low"),
        "{refused:?}"
    );
    // In the browser's terms: the service page says why, and nothing is started.
    let c = browser();
    logged_in(&t, &c, "asha.k").await;
    let service = t.get_as(&c, "/services/police-clearance").await;
    let page = t
        .post_with(&c, &service, "/services/police-clearance/apply", &[])
        .await;
    assert!(path_of(&page).ends_with("/services/police-clearance"));
    assert!(
        page.text().contains("needs a higher account level"),
        "{}",
        page.text()
    );
    assert!(
        t.app
            .applications
            .mine(&account.id)
            .await
            .unwrap()
            .is_empty()
    );
    t.app
        .identity
        .admin_set_level("asha.k", ekdwar_domain::AccountLevel::Standard)
        .await
        .unwrap();
    let account = t.account("asha.k").await;
    assert!(
        t.app
            .applications
            .start(&account, "police-clearance", &actor)
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn five_submissions_at_once_make_one_arn() {
    use ekdwar_domain::catalog::answers::Typed;
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let account = t.account("asha.k").await;
        let actor = ekdwar_app::audit::Actor::command_line();
        let lang = ekdwar_app::i18n::Lang::english();
        let id = t
            .app
            .applications
            .start(&account, "mos-kindergarten", &actor)
            .await
            .unwrap()
            .unwrap();
        let typed = |pairs: &[(&str, Typed)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<std::collections::BTreeMap<_, _>>()
        };
        let today = t.app.applications.today();
        for (page, answers) in [
            (
                "child",
                typed(&[
                    ("child_name", Typed::One("Masha Ivanova".into())),
                    ("child_birth_date", Typed::One("2024-03-01".into())),
                ]),
            ),
            (
                "choices",
                typed(&[
                    ("kindergartens", Typed::Many(vec!["ds-101".into()])),
                    ("start_date", Typed::One(today.to_string())),
                ]),
            ),
        ] {
            t.app
                .applications
                .save_page(&account.id, &id, page, &answers, &lang)
                .await
                .unwrap();
        }
        let results = crate::support::at_once(5, |_| {
            let (app, account, id) = (t.app.clone(), account.clone(), id.clone());
            async move {
                app.applications
                    .submit(
                        &account,
                        &id,
                        true,
                        &ekdwar_app::i18n::Lang::english(),
                        &ekdwar_app::audit::Actor::command_line(),
                    )
                    .await
            }
        })
        .await;
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "{backend}: {results:?}"
        );
        let history = t.app.applications.history(&account.id, &id).await.unwrap();
        assert_eq!(history.len(), 1, "{backend}: one submission in the history");
    }
}

/// A parent could not enrol a second child: "one open application" was counted per account,
/// so starting again led back to the first child's application. It is now one per child (the
/// definition's `subject`): a second child is enrolled, the same child twice is refused with
/// the open application's number. Each child waits in the list of each kindergarten chosen, in
/// the order chosen, placed by benefit and then by time; a place offered is accepted by the
/// parent, and everyone behind moves up.
#[tokio::test]
async fn a_parent_enrols_two_children_who_wait_in_order_and_accept_an_offered_place() {
    use ekdwar_domain::catalog::answers::Typed;
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("anna.i", PASSWORD)
            .with_user("olga.p", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let anna = t.account("anna.i").await;
        let olga = t.account("olga.p").await;
        let actor = ekdwar_app::audit::Actor::command_line();
        let lang = ekdwar_app::i18n::Lang::parse("ru").unwrap();
        let today = t.app.applications.today();
        let fill = |account: ekdwar_app::views::AccountView,
                    name: &'static str,
                    born: &'static str,
                    choices: &'static [&'static str],
                    benefit: Option<&'static str>| {
            let (t, actor, lang) = (&t, &actor, &lang);
            async move {
                // Each a minute after the one before: the lists order by time.
                t.advance(std::time::Duration::from_secs(60));
                let id = t
                    .app
                    .applications
                    .start(&account, "mos-kindergarten", actor)
                    .await
                    .unwrap()
                    .expect("a new application, not the open one");
                let mut second = vec![
                    (
                        "kindergartens",
                        Typed::Many(choices.iter().map(|c| c.to_string()).collect()),
                    ),
                    ("start_date", Typed::One(today.to_string())),
                ];
                if let Some(b) = benefit {
                    second.push(("benefit", Typed::One(b.into())));
                }
                for (page, answers) in [
                    (
                        "child",
                        vec![
                            ("child_name", Typed::One(name.into())),
                            ("child_birth_date", Typed::One(born.into())),
                        ],
                    ),
                    ("choices", second),
                ] {
                    let answers = answers
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect();
                    t.app
                        .applications
                        .save_page(&account.id, &id, page, &answers, lang)
                        .await
                        .unwrap();
                }
                let submitted = t
                    .app
                    .applications
                    .submit(&account, &id, true, lang, actor)
                    .await;
                (id, submitted)
            }
        };
        let (masha_id, masha) = fill(
            anna.clone(),
            "Маша Иванова",
            "2023-03-01",
            &["ds-101"],
            None,
        )
        .await;
        let masha = masha.expect("the first child is enrolled");
        let (petya_id, petya) = fill(
            anna.clone(),
            "Петя Иванов",
            "2024-07-15",
            &["ds-205", "ds-101"],
            None,
        )
        .await;
        assert!(petya.is_ok(), "{backend}: the second child: {petya:?}");
        // The same child again (however the name is spaced or capitalised): refused, naming
        // the open application; the draft stays to be corrected.
        let (again, refused) = fill(
            anna.clone(),
            "  маша   ИВАНОВА ",
            "2023-03-01",
            &["ds-101"],
            None,
        )
        .await;
        match refused {
            Err(ekdwar_app::error::AppError::Form(list)) => {
                assert_eq!(list[0].code, "application-subject-open");
                assert!(
                    list[0]
                        .args
                        .iter()
                        .any(|(k, v)| *k == "arn" && *v == masha.to_string()),
                    "{list:?}"
                );
            }
            other => panic!("{backend}: {other:?}"),
        }
        assert!(
            t.app
                .applications
                .get(&anna.id, &again)
                .await
                .unwrap()
                .is_draft()
        );
        // A choice named twice in a ranked question is refused.
        let draft = t.app.applications.get(&anna.id, &again).await.unwrap();
        let twice = t
            .app
            .applications
            .save_page(
                &anna.id,
                &draft.id,
                "choices",
                &[
                    (
                        "kindergartens".to_string(),
                        Typed::Many(vec!["ds-101".into(), "".into(), "ds-101".into()]),
                    ),
                    ("start_date".to_string(), Typed::One(today.to_string())),
                ]
                .into_iter()
                .collect(),
                &lang,
            )
            .await;
        assert!(
            matches!(&twice, Err(ekdwar_app::error::AppError::Form(l)) if l[0].code == "form-choices-twice"),
            "{twice:?}"
        );

        let places = |id: ekdwar_domain::ApplicationId| {
            let (t, anna, olga) = (&t, &anna, &olga);
            async move {
                let owner = [anna, olga];
                let mut loaded = None;
                for o in owner {
                    if let Ok(l) = t.app.applications.get(&o.id, &id).await {
                        loaded = Some(l);
                    }
                }
                t.app
                    .applications
                    .places_of(&loaded.unwrap())
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|p| (p.choice, p.preference, p.position, p.waiting))
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(places(masha_id.clone()).await, [("ds-101".into(), 1, 1, 2)]);
        assert_eq!(
            places(petya_id.clone()).await,
            [("ds-205".into(), 1, 1, 1), ("ds-101".into(), 2, 2, 2)]
        );
        // A family with a first-turn benefit goes ahead of both, whenever it applied.
        let (first_id, first) = fill(
            olga.clone(),
            "Ира Петрова",
            "2023-05-05",
            &["ds-101"],
            Some("first-turn"),
        )
        .await;
        first.unwrap();
        assert_eq!(places(first_id.clone()).await, [("ds-101".into(), 1, 1, 3)]);
        assert_eq!(places(masha_id.clone()).await, [("ds-101".into(), 1, 2, 3)]);

        // The department offers Ira a place; her mother accepts; Masha and Petya move up.
        let officer = crate::officers::officer(
            &t,
            "officer.moscow",
            51,
            "kindergarten-officer",
            "mos-education",
            None,
            None,
        )
        .await;
        for action in ["queue", "offer"] {
            t.app
                .applications
                .act(&officer, &first_id, action, "", "", &[], &actor)
                .await
                .unwrap();
        }
        let offered = t.app.applications.get(&olga.id, &first_id).await.unwrap();
        assert_eq!(offered.state, "offered");
        assert!(offered.due_on.is_some(), "the offer has a deadline");
        t.app
            .applications
            .applicant_step(&olga, &first_id, "accept", &lang, &actor)
            .await
            .unwrap();
        let enrolled = t.app.applications.get(&olga.id, &first_id).await.unwrap();
        assert_eq!(enrolled.state, "enrolled");
        assert!(places(first_id).await.is_empty(), "out of the lists");
        assert_eq!(places(masha_id.clone()).await, [("ds-101".into(), 1, 1, 2)]);
        // An offer nobody answers lapses at its deadline, by the portal: the child is back on
        // the lists where it stood, and the parent is told.
        for action in ["queue", "offer"] {
            t.app
                .applications
                .act(&officer, &masha_id, action, "", "", &[], &actor)
                .await
                .unwrap();
        }
        let told_before = t.messages_to(anna.phone.as_deref().unwrap()).await;
        t.advance(std::time::Duration::from_secs(14 * 86_400));
        let swept = t.app.applications.sweep().await.unwrap();
        assert_eq!(swept.lapsed, 1, "{swept:?}");
        let lapsed = t.app.applications.get(&anna.id, &masha_id).await.unwrap();
        assert_eq!(lapsed.state, "queued");
        assert_eq!(places(masha_id.clone()).await, [("ds-101".into(), 1, 1, 2)]);
        let history = t
            .app
            .applications
            .history(&anna.id, &masha_id)
            .await
            .unwrap();
        let last = history.last().unwrap();
        assert_eq!(
            (last.action.as_str(), last.role.as_str()),
            ("decline", "portal")
        );
        assert!(t.messages_to(anna.phone.as_deref().unwrap()).await > told_before);
        assert_eq!(t.app.applications.sweep().await.unwrap().lapsed, 0, "once");
        // An action that is not the applicant's, or not open now, is refused.
        assert!(
            t.app
                .applications
                .applicant_step(&anna, &masha_id, "accept", &lang, &actor)
                .await
                .is_err()
        );
        assert!(
            t.app
                .applications
                .applicant_step(&anna, &masha_id, "enrol", &lang, &actor)
                .await
                .is_err()
        );

        // A database from a release without stored lists: they are filled once from the
        // applications already waiting, and read the same.
        let before = places(masha_id.clone()).await;
        {
            let mut conn = t.app.store().conn().await.unwrap();
            for table in ["waiting_entries", "waiting_lists_built"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
        }
        assert_eq!(places(masha_id.clone()).await, before, "{backend}");

        // The applicant is the parent, named from the account; the child is the subject.
        let loaded = t.app.applications.get(&anna.id, &masha_id).await.unwrap();
        assert_eq!(loaded.subject_name(), Some("Маша Иванова"));
        assert_eq!(
            t.app.applications.applicant_name(&loaded).await.unwrap(),
            "Test Citizen"
        );
    }
}
