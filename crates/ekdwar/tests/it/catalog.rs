//! The catalog: definitions checked and imported in versions, search in four languages and
//! with typos, and the pages that follow the place a visitor chose.

use std::path::{Path, PathBuf};

use ekdwar_app::audit::Actor;
use ekdwar_app::catalog::{Bundle, SourceFile};

use crate::support::{TestApp, backends};

fn services_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../services")
}

pub fn demo_files() -> Vec<SourceFile> {
    Bundle::read_dir(&services_dir()).unwrap()
}

pub async fn import_demo(t: &TestApp) {
    let bundle = t.app.catalog.check(&demo_files()).unwrap();
    t.app
        .catalog
        .import(&bundle, &Actor::command_line())
        .await
        .unwrap();
}

fn langs() -> Vec<String> {
    ekdwar_app::Catalog::languages()
}

fn parse(files: &[SourceFile]) -> Result<Bundle, Vec<ekdwar_app::catalog::FileProblem>> {
    let langs = langs();
    Bundle::parse(files, &langs.iter().map(String::as_str).collect::<Vec<_>>())
}

#[tokio::test]
async fn definitions_import_as_versions_and_old_versions_stay() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        assert!(t.app.catalog.snapshot().is_empty());
        let files = demo_files();
        let bundle = t.app.catalog.check(&files).unwrap();
        let first = t
            .app
            .catalog
            .import(&bundle, &Actor::command_line())
            .await
            .unwrap();
        assert!(first.catalog_changed);
        assert_eq!(first.changed.len(), bundle.services.len(), "{backend}");
        assert!(first.changed.iter().all(|(_, v)| *v == 1));
        assert_eq!(t.app.catalog.snapshot().len(), bundle.services.len());

        // The same files again: nothing changes.
        let again = t
            .app
            .catalog
            .import(&bundle, &Actor::command_line())
            .await
            .unwrap();
        assert!(!again.catalog_changed && again.changed.is_empty());
        assert_eq!(again.unchanged.len(), bundle.services.len());

        // One definition edited: a new version of that one only, and it is what is served.
        let edited: Vec<SourceFile> = files
            .iter()
            .map(|f| SourceFile {
                name: f.name.clone(),
                text: if f.name == "passport/police-clearance.toml" {
                    f.text
                        .replace("max_working_days = 21", "max_working_days = 25")
                } else {
                    f.text.clone()
                },
            })
            .collect();
        let bundle = t.app.catalog.check(&edited).unwrap();
        let third = t
            .app
            .catalog
            .import(&bundle, &Actor::command_line())
            .await
            .unwrap();
        assert_eq!(third.changed, [("police-clearance".to_string(), 2)]);
        let snapshot = t.app.catalog.snapshot();
        let (version, pcc) = snapshot.service("police-clearance").unwrap();
        assert_eq!((version, pcc.processing.max_working_days), (2, 25));

        // Every import is in the security log.
        use sqlx::Row;
        let mut conn = t.app.store().read().await.unwrap();
        let imported: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'service-imported'")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get("n");
        assert_eq!(imported as usize, bundle.services.len() + 1, "{backend}");
    }
}

#[tokio::test]
async fn search_finds_services_in_every_script_and_despite_typos() {
    let t = TestApp::start("sqlite").await;
    import_demo(&t).await;
    let snapshot = t.app.catalog.snapshot();
    let first = |q: &str| {
        snapshot
            .search(q, None)
            .first()
            .map(|s| s.code.clone())
            .unwrap_or_default()
    };
    for (query, expected) in [
        ("passport", "passport-fresh"),
        ("पासपोर्ट", "passport-fresh"),
        ("পাসপোর্ট", "passport-fresh"),
        ("паспорт", "passport-fresh"),
        ("Passport", "passport-fresh"),
        ("pasport", "passport-fresh"),
        ("passprot", "passport-fresh"),
        ("new passport", "passport-fresh"),
        ("police clearance", "police-clearance"),
        ("pcc", "police-clearance"),
        ("income", "rj-income-certificate"),
        ("आय प्रमाण", "rj-income-certificate"),
        ("детский сад", "mos-kindergarten"),
        ("kindergarden", "mos-kindergarten"),
        ("detsky sad", "mos-kindergarten"),
        ("किंडरगार्टन", "mos-kindergarten"),
        ("recruitment", "rj-recruitment"),
        ("भर्ती", "rj-recruitment"),
    ] {
        assert_eq!(first(query), expected, "query {query:?}");
    }
    for nothing in ["", "   ", "zzzzqqq", "!!!", "passport kindergarten"] {
        assert!(
            snapshot.search(nothing, None).is_empty(),
            "query {nothing:?} should find nothing"
        );
    }
    // A place narrows the results: no Moscow kindergarten in Rajasthan.
    assert!(snapshot.search("kindergarten", Some("IN-RJ")).is_empty());
    assert_eq!(
        snapshot.search("passport", Some("IN-RJ-JP"))[0].code,
        "passport-fresh"
    );
}

#[test]
fn problems_name_the_file_the_place_and_what_is_wrong() {
    let catalog = std::fs::read_to_string(services_dir().join("catalog.toml")).unwrap();
    let fresh = std::fs::read_to_string(services_dir().join("passport/fresh.toml")).unwrap();
    let file = |name: &str, text: String| SourceFile {
        name: name.into(),
        text,
    };
    let problems = |text: String| {
        parse(&[
            file("catalog.toml", catalog.clone()),
            file("passport/fresh.toml", text),
        ])
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
    };
    let has = |ps: &[String], needle: &str| {
        assert!(
            ps.iter().any(|p| p.contains(needle)),
            "no problem says {needle:?}: {ps:#?}"
        );
    };

    // A missing translation.
    let ps = problems(fresh.replace(
        "name = { en = \"Fresh passport\", hi = \"नया पासपोर्ट\", ",
        "name = { en = \"Fresh passport\", ",
    ));
    has(
        &ps,
        "passport/fresh.toml: name: the text in language \"hi\" is missing",
    );
    // An unknown department.
    let ps = problems(fresh.replace("department = \"mea\"", "department = \"mae\""));
    has(
        &ps,
        "passport/fresh.toml: department: no department \"mae\" is declared",
    );
    // A condition on a question that comes later.
    let ps = problems(fresh.replace(
        "when = { field = \"date_of_birth\", age_below = 18 }\n\n[[form.pages.fields]]\nid = \"father_name\"",
        "when = { field = \"pincode\", equals = \"302017\" }\n\n[[form.pages.fields]]\nid = \"father_name\"",
    ));
    has(
        &ps,
        "form.pages[2].when.field: no question \"pincode\" comes before this",
    );
    // A choice that does not exist.
    let ps = problems(fresh.replace(
        "when = { field = \"scheme\", equals = \"tatkaal\" }",
        "when = { field = \"scheme\", equals = \"tatkal\" }",
    ));
    has(
        &ps,
        "fees[3].when: \"tatkal\" is not one of the choices of \"scheme\"",
    );
    // A workflow action that leads nowhere.
    let ps = problems(fresh.replace("to = \"approved\"", "to = \"aproved\""));
    has(&ps, "workflow.actions[7].to: no state \"aproved\"");
    // A deadline's action that does not exist, on a state that also escalates.
    let ps = problems(fresh.replacen(
        "escalate_to = ",
        "on_deadline = \"lapse\"\nescalate_to = ",
        1,
    ));
    has(&ps, ".on_deadline: no action \"lapse\"");
    has(
        &ps,
        ".on_deadline: either escalate or act on the deadline, not both",
    );
    // A misspelt key is an error, with its line.
    let ps = problems(fresh.replace("min_working_days = 3", "min_workingdays = 3"));
    has(&ps, "passport/fresh.toml: line ");
    has(&ps, "unknown field `min_workingdays`");
    // Broken syntax.
    let ps = problems(fresh.replace("code = \"passport-fresh\"", "code = \"passport-fresh"));
    has(&ps, "passport/fresh.toml: line 3, column");
    // No catalog at all.
    let ps = parse(&[file("passport/fresh.toml", fresh.clone())]).unwrap_err();
    assert!(ps[0].to_string().contains("no catalog.toml"));
}

#[test]
fn the_published_schemas_are_current() {
    for (catalog, file) in [
        (false, "schema/service.schema.json"),
        (true, "schema/catalog.schema.json"),
    ] {
        let published = std::fs::read_to_string(services_dir().join(file)).unwrap();
        assert_eq!(
            published.trim(),
            ekdwar_app::catalog::schema(catalog).trim(),
            "{file} is out of date: run `ekdwar service schema{} > services/{file}`",
            if catalog { " --catalog" } else { "" }
        );
    }
}

#[tokio::test]
async fn the_catalog_pages_follow_the_place_chosen() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        import_demo(&t).await;
        // No place chosen yet: the home page guesses from the language and says so, with a
        // way to choose. In Hindi, India's services, not Moscow's kindergarten.
        let visitor = |lang: &'static str| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert(
                reqwest::header::ACCEPT_LANGUAGE,
                reqwest::header::HeaderValue::from_static(lang),
            );
            reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap()
        };
        let home = t.get_as(&visitor("hi"), "/").await.text();
        assert!(home.contains("भारत में उपलब्ध सेवाएँ"), "{home}");
        assert!(home.contains("अपना राज्य या शहर चुनें"), "{home}");
        assert!(!home.contains("किंडरगार्टन में नामांकन"), "{home}");
        // In Russian, Russia's: the Moscow kindergarten among them.
        let home = t.get_as(&visitor("ru"), "/").await.text();
        assert!(home.contains("Россия"), "{home}");
        assert!(home.contains("Запись в детский сад"), "{home}");
        // Everything, before a place is chosen.
        let all = t.get("/services").await;
        assert_eq!(all.status, 200);
        for name in [
            "Fresh passport",
            "Income certificate (Rajasthan)",
            "Kindergarten enrolment (Moscow)",
        ] {
            assert!(all.text().contains(name), "{name} missing");
        }
        // Rajasthan: its own services and the country's, not Moscow's.
        let page = t
            .post(
                &all,
                "/services/region",
                &[("region", "IN-RJ-JP"), ("back", "/services")],
            )
            .await;
        assert_eq!(page.status, 200);
        let text = page.text();
        assert!(text.contains("Income certificate (Rajasthan)"));
        assert!(text.contains("Fresh passport"));
        assert!(!text.contains("Kindergarten enrolment"), "{text}");
        // The home page's popular services follow too.
        let home = t.get("/").await.text();
        assert!(home.contains("Income certificate (Rajasthan)"));
        assert!(!home.contains("Kindergarten enrolment"));
        assert!(
            !home.contains("Services offered in"),
            "a place chosen is not a guess"
        );
        // Search from the page, in Hindi.
        let found = t.get("/services?q=%E0%A4%AA%E0%A4%BE%E0%A4%B8%E0%A4%AA%E0%A5%8B%E0%A4%B0%E0%A5%8D%E0%A4%9F").await;
        assert!(found.text().contains("Fresh passport"));
        assert!(!found.text().contains("Income certificate"));
        // What was found comes right after the search box, before the filters: on a phone
        // the results are what shows first.
        let results = found.body.find("id=\"results\"").unwrap();
        let filters = found.body.find("action=\"/services/region\"").unwrap();
        assert!(results < filters, "the results come after the filters");
        // By department.
        let dept = t.get("/services?department=rj-revenue").await.text();
        assert!(dept.contains("Income certificate") && !dept.contains("Fresh passport"));
        // A service page: fees from the definition, documents, processing time.
        let svc = t.get("/services/passport-fresh").await;
        assert_eq!(svc.status, 200);
        let text = svc.text();
        for expected in [
            "₹1,500",
            "₹2,000",
            "₹1,000",
            "Proof of date of birth",
            "3 to 30 working days",
            "1800 258 1800",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        // A service of another place says so.
        let moscow = t.get("/services/mos-kindergarten").await.text();
        assert!(moscow.contains("not offered in Jaipur"), "{moscow}");
        // An unknown service, or an odd code, is a plain 404.
        assert_eq!(t.get("/services/no-such-service").await.status, 404);
        assert_eq!(t.get("/services/%00").await.status, 404);
        assert_eq!(t.get("/services/%ff").await.status, 400);
        // An unknown place is forgotten, not trusted.
        let page = t
            .post(
                &all,
                "/services/region",
                &[("region", "XX-<script>"), ("back", "/services")],
            )
            .await;
        assert!(page.text().contains("Kindergarten enrolment"));
    }
}

#[tokio::test]
async fn catalog_pages_speak_every_language() {
    let t = TestApp::start("sqlite").await;
    import_demo(&t).await;
    for (lang, title, service) in [
        ("hi", "सेवाएँ", "नया पासपोर्ट"),
        ("bn", "পরিষেবা", "নতুন পাসপোর্ট"),
        ("ru", "Услуги", "Новый паспорт (Индия)"),
    ] {
        let page = t
            .client
            .get(t.url("/services"))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains(title), "{lang}");
        assert!(page.contains(service), "{lang}");
        assert!(page.contains(&format!("lang=\"{lang}\"")));
    }
}

#[test]
fn the_passport_fees_are_the_published_table() {
    use ekdwar_domain::catalog::answers::{Answer, Answers, fees};
    let bundle = parse(&demo_files()).unwrap();
    let service = |code: &str| {
        bundle
            .services
            .iter()
            .find(|s| s.code == code)
            .unwrap()
            .clone()
    };
    let today: jiff::civil::Date = "2026-12-01".parse().unwrap();
    let answers = |pairs: &[(&str, &str)]| -> Answers {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Answer::One(v.to_string())))
            .collect()
    };
    let adult = "1990-01-26";
    let minor = "2016-05-01";
    // (service, answers, fees online in rupees, fees at the centre in rupees)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [u64], &'a [u64]);
    let table: &[Case] = &[
        (
            "passport-fresh",
            &[
                ("date_of_birth", adult),
                ("scheme", "normal"),
                ("booklet", "36"),
            ],
            &[1500],
            &[],
        ),
        (
            "passport-fresh",
            &[
                ("date_of_birth", adult),
                ("scheme", "normal"),
                ("booklet", "60"),
            ],
            &[2000],
            &[],
        ),
        (
            "passport-fresh",
            &[("date_of_birth", minor), ("scheme", "normal")],
            &[1000],
            &[],
        ),
        (
            "passport-fresh",
            &[
                ("date_of_birth", adult),
                ("scheme", "tatkaal"),
                ("booklet", "36"),
            ],
            &[1500],
            &[2000],
        ),
        (
            "passport-fresh",
            &[("date_of_birth", minor), ("scheme", "tatkaal")],
            &[1000],
            &[2000],
        ),
        (
            "passport-reissue",
            &[
                ("date_of_birth", adult),
                ("reason", "expiry"),
                ("scheme", "normal"),
                ("booklet", "36"),
            ],
            &[1500],
            &[],
        ),
        (
            "passport-reissue",
            &[
                ("date_of_birth", adult),
                ("reason", "expiry"),
                ("scheme", "normal"),
                ("booklet", "60"),
            ],
            &[2000],
            &[],
        ),
        (
            "passport-reissue",
            &[
                ("date_of_birth", adult),
                ("reason", "damaged-or-stolen"),
                ("scheme", "normal"),
                ("booklet", "36"),
            ],
            &[3000],
            &[],
        ),
        (
            "passport-reissue",
            &[
                ("date_of_birth", adult),
                ("reason", "damaged-or-stolen"),
                ("scheme", "tatkaal"),
                ("booklet", "60"),
            ],
            &[3500],
            &[2000],
        ),
        (
            "passport-reissue",
            &[
                ("date_of_birth", adult),
                ("reason", "change"),
                ("scheme", "normal"),
                ("booklet", "36"),
            ],
            &[1500],
            &[],
        ),
        (
            "passport-reissue",
            &[
                ("date_of_birth", adult),
                ("reason", "change"),
                ("scheme", "normal"),
                ("booklet", "60"),
            ],
            &[2000],
            &[],
        ),
        (
            "passport-reissue",
            &[
                ("date_of_birth", minor),
                ("reason", "change"),
                ("scheme", "normal"),
            ],
            &[1000],
            &[],
        ),
        ("police-clearance", &[("date_of_birth", adult)], &[500], &[]),
    ];
    for (code, given, online, at_centre) in table {
        let s = service(code);
        let due = fees(&s.fees, &answers(given), today);
        let sum = |centre: bool| -> Vec<u64> {
            due.iter()
                .filter(|f| (f.due.as_str() == "at_centre") == centre)
                .map(|f| f.amount / 100)
                .collect()
        };
        assert_eq!(
            (sum(false), sum(true)),
            (online.to_vec(), at_centre.to_vec()),
            "{code} {given:?}"
        );
    }
}

#[tokio::test]
async fn the_fee_calculator_asks_only_what_the_fees_depend_on() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        import_demo(&t).await;
        let page = t.get("/services/passport-fresh/fees").await;
        assert_eq!(page.status, 200);
        for asked in ["date_of_birth", "scheme", "booklet"] {
            assert!(page.asks_for(asked), "{asked}");
        }
        assert!(!page.asks_for("given_name"));
        let page = t
            .get("/services/passport-fresh/fees?date_of_birth=1990-01-26&scheme=tatkaal&booklet=60")
            .await;
        let text = page.text();
        assert!(text.contains("To pay online: ₹2,000"), "{text}");
        assert!(text.contains("To pay at the centre: ₹2,000"), "{text}");
        // A minor: no booklet question applies, the minors' fee.
        let page = t
            .get("/services/passport-fresh/fees?date_of_birth=2016-05-01&scheme=normal")
            .await;
        assert!(
            page.text().contains("To pay online: ₹1,000"),
            "{}",
            page.text()
        );
        let page = t
            .get("/services/passport-reissue/fees?date_of_birth=1990-01-26&reason=damaged-or-stolen&scheme=normal&booklet=60")
            .await;
        assert!(
            page.text().contains("To pay online: ₹3,500"),
            "{}",
            page.text()
        );
        // A wrong answer is named, nothing is computed.
        let page = t
            .get("/services/passport-fresh/fees?date_of_birth=31-02-1990&scheme=normal")
            .await;
        assert_eq!(page.status, 400);
        assert!(page.text().contains("Enter a real date"));
        assert!(!page.text().contains("To pay online"));
        assert_eq!(t.get("/services/nothing/fees").await.status, 404);
    }
}
