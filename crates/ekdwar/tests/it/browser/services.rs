//! Finding a service as a person does: choose where you live, search in your own script (or
//! with a typo), open the service, read what to bring and what it costs. (axe-core runs in
//! the page, so pages are audited in the run with JavaScript.)

use super::Browser;
use crate::catalog::import_demo;
use crate::support::TestApp;

async fn finding_a_service(js: bool) {
    for backend in super::journey_backends(js) {
        let t = TestApp::start(backend).await;
        import_demo(&t).await;
        let b = Browser::start(&t.base, js).await;
        b.open("/").await;
        b.press("हिन्दी").await;
        if js {
            b.audit("home-with-services").await;
        }
        b.submit("a[href='/services']").await;
        assert_eq!(b.path().await, "/services");
        // Where do you live? Jaipur, Rajasthan.
        b.choose("region", "IN-RJ-JP").await;
        b.submit("form[action='/services/region'] button").await;
        assert_eq!(b.path().await, "/services");
        let text = b.text().await;
        assert!(
            text.contains("जयपुर"),
            "{backend}: the chosen place is shown"
        );
        assert!(text.contains("आय प्रमाण पत्र (राजस्थान)"), "{text}");
        assert!(!text.contains("किंडरगार्टन में नामांकन"), "{text}");
        if js {
            b.audit("services-in-jaipur").await;
        }
        // Search in Hindi.
        b.fill("q", "पासपोर्ट").await;
        b.submit("form[role='search'] button").await;
        assert!(b.path_and_query().await.starts_with("/services?q="));
        let text = b.text().await;
        assert!(text.contains("नया पासपोर्ट"), "{text}");
        if js {
            b.audit("services-search").await;
        }
        // And with a typo, in Latin letters.
        b.fill("q", "passprot").await;
        b.submit("form[role='search'] button").await;
        assert!(b.text().await.contains("नया पासपोर्ट"));
        // Nothing found says what to do.
        b.fill("q", "zzqqxx").await;
        b.submit("form[role='search'] button").await;
        assert!(b.text().await.contains("वर्तनी जाँचें"));
        if js {
            b.audit("services-none").await;
        }
        // The service: documents, fees in rupees, processing time.
        b.open("/services?q=passport").await;
        b.submit("a[href='/services/passport-fresh']").await;
        let text = b.text().await;
        for expected in ["जन्म तिथि का प्रमाण", "₹1,500", "₹2,000", "3 से 30 कार्य दिवस"]
        {
            assert!(text.contains(expected), "{expected} missing: {text}");
        }
        if js {
            b.audit("service-passport").await;
        }
        // A service of another place says where it is offered.
        b.open("/services/mos-kindergarten").await;
        assert!(b.text().await.contains("मॉस्को"));
        if js {
            b.audit("service-elsewhere").await;
        }
        // A service in a department's app links to it.
        b.open("/services/rj-recruitment").await;
        assert_eq!(
            b.attr("a.button[rel='noopener']", "href").await.as_deref(),
            Some("https://recruitment.rajasthan.example/start")
        );
        // Everywhere again.
        b.open("/services").await;
        b.choose("region", "").await;
        b.submit("form[action='/services/region'] button").await;
        assert!(b.text().await.contains("किंडरगार्टन में नामांकन"));
    }
}

#[tokio::test]
async fn finding_a_service_with_javascript() {
    finding_a_service(true).await;
}

#[tokio::test]
async fn finding_a_service_without_javascript() {
    finding_a_service(false).await;
}

/// The officer's side, in the browser: an officer sets up two-step login, finds the
/// application in the queue, asks for a correction of one answer; the citizen fixes it and
/// sends it back; the officer moves it on and issues it. The citizen was told at every step.
async fn correction_journey(js: bool) {
    for backend in super::journey_backends(js) {
        let t = TestApp::builder(backend)
            .with_user("asha.k", crate::accounts::PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let (id, arn) = crate::applications::submitted_pcc(&t, "asha.k").await;
        let off = crate::officers::officer(
            &t,
            "off.rj",
            1,
            "passport-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        t.app
            .applications
            .assign(
                &off,
                &ekdwar_app::applications::Assignment {
                    role: "passport-granting-officer".into(),
                    department: "mea".into(),
                    region: Some("IN-RJ".into()),
                    office: None,
                },
                &ekdwar_app::audit::Actor::command_line(),
            )
            .await
            .unwrap();

        // The officer: first login sets up two-step login.
        let o = super::journey::officer_logged_in(&t, "off.rj", js).await;
        if js {
            o.audit("officer-queue").await;
        }
        o.submit(&format!("a[href='/officer/applications/{id}']"))
            .await;
        let text = o.text().await;
        assert!(text.contains("12 Malviya Nagar"));
        // The officer's words, not the citizen's.
        assert!(
            text.contains("The applicant's answers") && !text.contains("Your answers"),
            "{text}"
        );
        if js {
            o.audit("officer-application").await;
        }
        // A correction without a comment is refused, and says why.
        o.click("#reopen-request-correction-pincode").await;
        o.submit("form:has(input[value='request-correction']) button")
            .await;
        assert!(
            o.text()
                .await
                .contains("Write what the applicant must correct")
        );
        if js {
            o.audit("officer-action-error").await;
        }
        o.click("#reopen-request-correction-pincode").await;
        // The comment box of the correction's form (each action has its own).
        o.eval(
            "document.getElementById('comment-request-correction').value = \
             'The PIN code does not match the address'",
        )
        .await;
        o.submit("form:has(input[value='request-correction']) button")
            .await;
        let text = o.text().await;
        assert!(text.contains("The applicant has been told"), "{text}");

        // The citizen: told by SMS, corrects the one answer, sends it back.
        let asha = t.account("asha.k").await;
        let sms = t.last_message(asha.phone.as_deref().unwrap()).await;
        assert!(
            sms.contains("needs a correction: PIN code") && sms.contains(&arn.to_string()),
            "{sms}"
        );
        let a = Browser::start(&t.base, js).await;
        a.open("/login").await;
        super::flows::log_in(&a, "asha.k").await;
        // The portal's own notifications say it too, with the officer's words.
        a.open("/notifications").await;
        let text = a.text().await;
        assert!(
            text.contains("Correction needed") && text.contains("does not match the address"),
            "{text}"
        );
        if js {
            a.audit("notifications").await;
        }
        a.submit(&format!("a[href='/applications/{id}']")).await;
        let text = a.text().await;
        assert!(
            text.contains("The PIN code does not match the address"),
            "{text}"
        );
        if js {
            a.audit("application-correction").await;
        }
        a.submit(".panel a[href*='/pages/contact#']").await;
        assert!(
            a.path().await.ends_with("/pages/contact"),
            "{}: {}",
            a.path().await,
            a.text().await
        );
        assert!(!a.has("[name='address']").await, "only the reopened answer");
        a.fill("pincode", "302018").await;
        a.submit("form[action$='/pages/contact'] button").await;
        a.submit("form[action$='/resubmit'] button").await;
        assert!(a.text().await.contains("sent to the officer"));

        // The officer moves it on and issues it.
        o.open(&format!("/officer/applications/{id}")).await;
        assert!(o.text().await.contains("302018"));
        o.submit("form:has(input[value='police']) button").await;
        o.open(&format!("/officer/applications/{id}")).await;
        // The officer sees whose it is and where its fee stands before deciding.
        let text = o.text().await;
        assert!(
            text.contains("Applicant") && text.contains("Asha"),
            "{text}"
        );
        o.submit("form:has(input[value='issue']) button").await;
        // A final decision asks once more, with a summary; until then nothing changed.
        let text = o.text().await;
        assert!(
            text.contains("Check before you decide")
                && text.contains("This is final")
                && text.contains(&arn.to_string()),
            "{text}"
        );
        if js {
            o.audit("officer-confirm").await;
        }
        a.open(&format!("/applications/{id}")).await;
        assert!(!a.text().await.contains("Certificate issued"));
        o.submit("form:has(input[name='confirm']) button").await;
        assert!(o.text().await.contains("Done"), "{}", o.text().await);
        a.open(&format!("/applications/{id}")).await;
        assert!(a.text().await.contains("Certificate issued"));
        let sms = t.last_message(asha.phone.as_deref().unwrap()).await;
        assert!(sms.contains("Certificate issued"), "{sms}");
    }
}

#[tokio::test]
async fn an_officer_asks_for_a_correction_and_issues_with_javascript() {
    correction_journey(true).await;
}

#[tokio::test]
async fn an_officer_asks_for_a_correction_and_issues_without_javascript() {
    correction_journey(false).await;
}

/// Fills and submits the Moscow kindergarten's form for one child, choices in order.
async fn enrol(
    b: &Browser,
    t: &TestApp,
    name: &str,
    born: &str,
    choices: &[&str],
    audit: bool,
) -> String {
    // A minute after the one before (the portal's clock here stands still): lists order by
    // the time of submission.
    t.advance(std::time::Duration::from_secs(60));
    b.open("/services/mos-kindergarten").await;
    b.submit("form[action='/services/mos-kindergarten/apply'] button")
        .await;
    b.fill("child_name", name).await;
    b.fill_date("child_birth_date", born).await;
    b.submit("form[action$='/pages/child'] button").await;
    for (i, choice) in choices.iter().enumerate() {
        let id = match i {
            0 => "kindergartens".to_string(),
            n => format!("kindergartens-{}", n + 1),
        };
        b.eval(&format!(
            "document.getElementById('{id}').value = '{choice}'"
        ))
        .await;
    }
    let today = t.app.applications.today();
    b.fill_date("start_date", &today.to_string()).await;
    if audit {
        b.audit("kindergarten-choices").await;
    }
    b.submit("form[action$='/pages/choices'] button").await;
    b.click("#declaration").await;
    b.submit("form[action$='/submit'] button").await;
    b.text().await
}

/// A Moscow parent, in Russian: enrols two children, the kindergartens in order of
/// preference; sees each child's place in each waiting list on the application and in "My
/// applications"; enrolling the same child twice is refused with the open application's
/// number.
async fn two_children_in_kindergartens(js: bool) {
    for backend in super::journey_backends(js) {
        let t = TestApp::builder(backend)
            .with_user("anna.i", crate::accounts::PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let b = Browser::start(&t.base, js).await;
        b.open("/login").await;
        super::flows::log_in(&b, "anna.i").await;
        b.press("Русский").await;
        let text = enrol(&b, &t, "Маша Иванова", "2023-03-01", &["ds-101"], js).await;
        assert!(text.contains("Заявление подано"), "{text}");
        // A Moscow service's times are Moscow's, named.
        assert!(text.contains("MSK") && !text.contains("IST"), "{text}");
        assert!(
            text.contains("Место в очереди")
                && text.contains("Детский сад № 101, Тверской (выбор 1): место 1 из 1"),
            "{text}"
        );
        if js {
            b.audit("kindergarten-application").await;
        }
        let text = enrol(
            &b,
            &t,
            "Петя Иванов",
            "2024-07-15",
            &["ds-205", "ds-101"],
            false,
        )
        .await;
        assert!(
            text.contains("Детский сад № 205, Арбат (выбор 1): место 1 из 1")
                && text.contains("Детский сад № 101, Тверской (выбор 2): место 2 из 2"),
            "{text}"
        );
        b.open("/applications").await;
        let text = b.text().await;
        assert!(
            text.contains("Ребёнок: Маша Иванова") && text.contains("Ребёнок: Петя Иванов"),
            "{text}"
        );
        if js {
            b.audit("kindergarten-mine").await;
        }
        // The same child again.
        let text = enrol(&b, &t, "маша иванова", "2023-03-01", &["ds-318"], false).await;
        assert!(
            text.contains("У вас уже есть открытое заявление для маша иванова"),
            "{text}"
        );
        if js {
            b.audit("kindergarten-same-child").await;
        }
    }
}

#[tokio::test]
async fn two_children_in_kindergartens_with_javascript() {
    two_children_in_kindergartens(true).await;
}

#[tokio::test]
async fn two_children_in_kindergartens_without_javascript() {
    two_children_in_kindergartens(false).await;
}
