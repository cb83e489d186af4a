//! The whole Passport Seva journey in Chromium, as the catalog issue's "done when" describes
//! it: a citizen picks Rajasthan, searches "पासपोर्ट", applies for a fresh passport in Hindi,
//! leaves in the middle and resumes, submits and gets an ARN and a Hindi PDF receipt whose QR
//! code verifies; anyone tracks it without logging in; the officer of her office asks for a
//! correction, she fixes it, the officer forwards it and the granting officer approves; she
//! was told at every step. Then the same application made through the offline XML e-form.

use super::Browser;
use crate::catalog::import_demo;
use crate::support::TestApp;

/// A staff member logged in, with two-step login set up as their first step.
pub async fn officer_logged_in(t: &TestApp, portal_id: &str, js: bool) -> Browser {
    officer_logged_in_at(t, portal_id, js, "/officer").await
}

/// As [`officer_logged_in`], arriving at `home` (the officers' queue, a centre's console).
pub async fn officer_logged_in_at(t: &TestApp, portal_id: &str, js: bool, home: &str) -> Browser {
    let o = Browser::start(&t.base, js).await;
    o.open("/login").await;
    super::flows::log_in(&o, portal_id).await;
    o.open(home).await;
    assert!(
        o.path().await.starts_with("/account/two-step"),
        "{}",
        o.path().await
    );
    let key = ekdwar_domain::totp::TotpSecret::from_base32(&o.text_of("#totp-key").await)
        .expect("a typed key");
    o.fill("code", &key.code_at(t.app.clock().now().millis() / 1000))
        .await;
    o.submit("form[action='/account/two-step/enable'] button")
        .await;
    o.open(home).await;
    assert_eq!(o.path().await, home);
    o
}

async fn passport_journey(js: bool) {
    for backend in super::journey_backends(js) {
        let t = TestApp::builder(backend)
            .with_user("asha.k", crate::accounts::PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let verifier = crate::officers::officer(
            &t,
            "off.rj",
            1,
            "passport-officer",
            "mea",
            None,
            Some("rpo-jaipur"),
        )
        .await;
        // The same officer works the centre's counter too.
        t.app
            .applications
            .assign(
                &verifier,
                &ekdwar_app::applications::Assignment {
                    role: "passport-cse".into(),
                    department: "mea".into(),
                    region: None,
                    office: Some("rpo-jaipur".into()),
                },
                &ekdwar_app::audit::Actor::command_line(),
            )
            .await
            .unwrap();
        crate::officers::officer(
            &t,
            "grant.rj",
            2,
            "passport-granting-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        let asha = t.account("asha.k").await;
        let phone = asha.phone.clone().unwrap();

        // Hindi, Rajasthan, and a search in Hindi.
        let b = Browser::start(&t.base, js).await;
        b.open("/login").await;
        b.press("हिन्दी").await;
        super::flows::log_in(&b, "asha.k").await;
        b.open("/services").await;
        b.choose("region", "IN-RJ").await;
        b.submit("form[action='/services/region'] button").await;
        b.fill("q", "पासपोर्ट").await;
        b.submit("form[role='search'] button").await;
        b.submit("a[href='/services/passport-fresh']").await;
        assert!(b.text().await.contains("जन्म तिथि का प्रमाण"));
        b.submit("form[action='/services/passport-fresh/apply'] button")
            .await;
        assert!(b.path().await.ends_with("/pages/applicant"));
        if js {
            b.audit("application-page").await;
        }
        // A birth date in the future: the error, in Hindi, next to the question.
        b.fill("given_name", "आशा").await;
        b.fill("surname", "कुमारी").await;
        b.fill_date("date_of_birth", "2090-01-01").await;
        b.fill("place_of_birth", "जयपुर").await;
        b.submit("form[action$='/pages/applicant'] button").await;
        let text = b.text().await;
        // The question's own message, from the definition.
        assert!(text.contains("जन्म तिथि बीती हुई होनी चाहिए"), "{text}");
        assert_eq!(b.value("place_of_birth").await, "जयपुर");
        if js {
            b.audit("application-page-error").await;
        }
        b.fill_date("date_of_birth", "1995-08-14").await;
        b.submit("form[action$='/pages/applicant'] button").await;
        b.click("#scheme").await;
        b.click("#booklet-2").await;
        b.submit("form[action$='/pages/passport-type'] button")
            .await;
        // She leaves, and comes back through "My applications".
        b.open("/").await;
        b.submit("a[href='/applications']").await;
        assert!(b.text().await.contains("मसौदा"));
        if js {
            b.audit("my-applications").await;
        }
        b.submit("ul.cards a").await;
        b.submit("a.button").await;
        assert!(
            b.path().await.ends_with("/pages/family"),
            "{}",
            b.path().await
        );
        b.fill("family.0.name", "सुनीता कुमारी").await;
        b.choose("family.0.relation", "parent").await;
        b.submit("form[action$='/pages/family'] button:not([name])")
            .await;
        // Single, class 10 passed, no criminal proceedings; a year at this address.
        b.click("#marital_status").await;
        b.click("#ecr").await;
        b.click("#criminal_proceedings").await;
        b.submit("form[action$='/pages/background'] button").await;
        b.fill("address", "12 मालवीय नगर, जयपुर").await;
        b.fill("pincode", "302017").await;
        b.click("#lived_a_year").await;
        b.submit("form[action$='/pages/contact'] button").await;
        for (i, (name, address, phone)) in [
            ("मीना शर्मा", "14 मालवीय नगर, जयपुर", "98123 45602"),
            ("राकेश जैन", "16 मालवीय नगर, जयपुर", "98123 45603"),
        ]
        .into_iter()
        .enumerate()
        {
            b.fill(&format!("references.{i}.name"), name).await;
            b.fill(&format!("references.{i}.address"), address).await;
            b.fill(&format!("references.{i}.phone"), phone).await;
        }
        b.submit("form[action$='/pages/references'] button:not([name])")
            .await;
        b.choose("office", "rpo-jaipur").await;
        b.submit("form[action$='/pages/office'] button").await;
        assert!(b.path().await.ends_with("/check"));
        let text = b.text().await;
        assert!(
            text.contains("14 अगस्त 1995") && text.contains("₹2,000"),
            "{text}"
        );
        if js {
            b.audit("application-check").await;
        }
        b.click("#declaration").await;
        b.submit("form[action$='/submit'] button").await;
        let text = b.text().await;
        assert!(text.contains("आपका आवेदन जमा हो गया है"), "{text}");
        let arn = ekdwar_domain::catalog::Arn::parse(&b.text_of(".arn").await).expect("an ARN");
        let id = b.path().await.rsplit('/').next().unwrap().to_string();
        if js {
            b.audit("application-submitted").await;
        }
        assert!(t.last_message(&phone).await.contains(&arn.to_string()));

        // The receipt: Hindi text that extracts, and a QR code that opens the check.
        let link = b
            .attr("a[href$='/receipt.pdf']", "href")
            .await
            .expect("a receipt link");
        let path = url::Url::parse(&b.url("/")).unwrap().join(&link).unwrap();
        let (status, pdf) = b.download(path.path()).await;
        assert_eq!(status, 200);
        let (text, qr) = crate::receipts::read_receipt(&pdf);
        for expected in ["आवेदन की रसीद", "नया पासपोर्ट", &arn.to_string(), "आशा कुमारी"]
        {
            assert!(
                text.contains(expected),
                "{expected} not in the receipt:\n{text}"
            );
        }
        let visitor = Browser::start(&t.base, js).await;
        visitor.open_url(&qr).await;
        let shown = visitor.text().await;
        assert!(shown.contains("This receipt is genuine"), "{shown}");
        assert!(shown.contains(&arn.to_string()) && !shown.contains("मालवीय"));
        if js {
            visitor.audit("receipt-check").await;
        }

        // Anyone tracks it with the file number and the date of birth, without logging in.
        visitor.open("/track").await;
        visitor.choose("service", "passport-fresh").await;
        visitor.fill("arn", &arn.to_string()).await;
        visitor.fill_date("birth_date", "1995-08-14").await;
        visitor.answer_challenge().await;
        visitor.submit("form[action='/track'] button").await;
        let shown = visitor.text().await;
        assert!(shown.contains("Application found"), "{shown}");
        assert!(shown.contains("Submitted"), "{shown}");

        // At the centre she asks to correct her address: only the centre's staff may change a
        // submitted application, through the same form and checks.
        let o = officer_logged_in(&t, "off.rj", js).await;
        o.submit(&format!("a[href='/officer/applications/{id}']"))
            .await;
        o.submit(&format!(
            "a[href='/officer/applications/{id}/edit/contact']"
        ))
        .await;
        if js {
            o.audit("officer-edit").await;
        }
        o.fill("pincode", "30201").await;
        o.submit(&format!(
            "form[action='/officer/applications/{id}/edit/contact'] button"
        ))
        .await;
        assert!(
            o.text().await.contains("6 digits") || o.text().await.contains("PIN"),
            "{}",
            o.text().await
        );
        if js {
            o.audit("officer-edit-error").await;
        }
        o.fill("address", "14 Malviya Nagar, Jaipur").await;
        o.fill("pincode", "302017").await;
        o.submit(&format!(
            "form[action='/officer/applications/{id}/edit/contact'] button"
        ))
        .await;
        assert!(
            o.text().await.contains("The change is in the history"),
            "{}",
            o.text().await
        );
        let sms = t.last_message(&phone).await;
        assert!(sms.contains("केंद्र पर सुधारे गए"), "{sms}");

        // The officer of the Jaipur office claims it, starts the review and asks for a
        // correction.
        o.submit(&format!(
            "form[action='/officer/applications/{id}/claim'] button"
        ))
        .await;
        assert!(
            o.text()
                .await
                .contains("You are working on this application")
        );
        if js {
            o.audit("officer-claimed").await;
        }
        // The originals checked at the counter, then the review.
        o.submit("form:has(input[value='verify-documents']) button")
            .await;
        o.open(&format!("/officer/applications/{id}")).await;
        o.submit("form:has(input[value='review']) button").await;
        o.open(&format!("/officer/applications/{id}")).await;
        o.click("#reopen-request-correction-pincode").await;
        o.eval(
            "document.getElementById('comment-request-correction').value = \
             'The PIN code does not match the address'",
        )
        .await;
        o.submit("form:has(input[value='request-correction']) button")
            .await;
        assert!(o.text().await.contains("The applicant has been told"));
        let sms = t.last_message(&phone).await;
        assert!(sms.contains("सुधार आवश्यक"), "told in Hindi: {sms}");

        // She fixes the one answer and sends it back.
        b.open(&format!("/applications/{id}")).await;
        b.submit(".panel a[href*='/pages/contact#']").await;
        b.fill("pincode", "302018").await;
        b.submit("form[action$='/pages/contact'] button").await;
        b.submit("form[action$='/resubmit'] button").await;

        // The officer sends it to the police; their report goes to the granting officer, who
        // approves.
        o.open(&format!("/officer/applications/{id}")).await;
        assert!(o.text().await.contains("302018"));
        o.submit("form:has(input[value='police']) button").await;
        let police = crate::officers::officer(
            &t,
            "police.rj",
            3,
            "police-verifier",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        t.app
            .applications
            .act(
                &police,
                &ekdwar_domain::ApplicationId::new(id.clone()),
                "police-report",
                "Address and identity confirmed",
                "",
                &[],
                &ekdwar_app::audit::Actor::command_line(),
            )
            .await
            .unwrap();
        let g = officer_logged_in(&t, "grant.rj", js).await;
        g.submit(&format!("a[href='/officer/applications/{id}']"))
            .await;
        g.submit("form:has(input[value='approve']) button").await;
        // A final decision: confirmed on a page that sums it up.
        assert!(g.has("input[name='confirm']").await, "{}", g.text().await);
        g.submit("form:has(input[name='confirm']) button").await;

        // Told at every step: submitted, correction, back under review, forwarded, approved.
        let sms = t.last_message(&phone).await;
        assert!(sms.contains("स्वीकृत"), "{sms}");
        assert!(t.messages_to(&phone).await >= 5, "a message for each step");
        b.open("/notifications").await;
        let text = b.text().await;
        for step in ["जमा किया गया", "सुधार आवश्यक", "स्वीकृत"]
        {
            assert!(
                text.contains(step),
                "{step} not among the notifications: {text}"
            );
        }
        b.open(&format!("/applications/{id}")).await;
        assert!(b.text().await.contains("स्वीकृत: पासपोर्ट छप रहा है"));
    }
}

#[tokio::test]
async fn the_passport_journey_with_javascript() {
    passport_journey(true).await;
}

#[tokio::test]
async fn the_passport_journey_without_javascript() {
    passport_journey(false).await;
}

/// The same application through the offline e-form: with JavaScript, the offline page is
/// filled in Chromium from the saved file and writes the XML; without, the XML template is
/// filled by hand. Either way the XML is uploaded, reviewed and submitted in Hindi.
async fn eform_journey(js: bool) {
    let t = TestApp::builder("sqlite")
        .with_user("asha.k", crate::accounts::PASSWORD)
        .start()
        .await;
    import_demo(&t).await;
    let b = Browser::start(&t.base, js).await;
    b.open("/login").await;
    b.press("हिन्दी").await;
    super::flows::log_in(&b, "asha.k").await;
    b.open("/services/passport-fresh").await;
    b.submit("a[href='/services/passport-fresh/eform']").await;
    if js {
        b.audit("eform").await;
    }
    let dir = tempfile::tempdir().unwrap();
    let xml = if js {
        let (_, page) = b.download("/services/passport-fresh/eform.html").await;
        let offline = dir.path().join("eform.html");
        std::fs::write(&offline, &page).unwrap();
        let o = Browser::start(&t.base, true).await;
        o.open_url(&format!("file://{}", offline.display())).await;
        assert!(o.text().await.contains("ई-फ़ॉर्म सहेजें"));
        for (id, value) in [
            ("given_name", "आशा"),
            ("surname", "कुमारी"),
            ("place_of_birth", "जयपुर"),
            ("family-1-name", "सुनीता कुमारी"),
            ("phone", "98123 45600"),
            ("address", "12 मालवीय नगर, जयपुर"),
            ("pincode", "302017"),
        ] {
            o.eval(&format!(
                "document.getElementById('{id}').value = {}",
                serde_json::to_string(value).unwrap()
            ))
            .await;
        }
        o.eval("document.getElementById('date_of_birth').value = '1995-08-14'")
            .await;
        o.eval("document.getElementById('family-1-relation').value = 'parent'")
            .await;
        o.eval("document.getElementById('office').value = 'rpo-jaipur'")
            .await;
        o.click("#scheme-1").await;
        o.click("#booklet-2").await;
        for first in [
            "marital_status-1",
            "ecr-1",
            "criminal_proceedings-1",
            "lived_a_year-1",
        ] {
            o.click(&format!("#{first}")).await;
        }
        // Two references: the second item added with the form's own button.
        o.click("fieldset[data-id='references'] button.add").await;
        for (id, value) in [
            ("references-1-name", "मीना शर्मा"),
            ("references-1-address", "14 मालवीय नगर, जयपुर"),
            ("references-1-phone", "98123 45602"),
            ("references-2-name", "राकेश जैन"),
            ("references-2-address", "16 मालवीय नगर, जयपुर"),
            ("references-2-phone", "98123 45603"),
        ] {
            o.eval(&format!(
                "document.getElementById('{id}').value = {}",
                serde_json::to_string(value).unwrap()
            ))
            .await;
        }
        o.click("#save").await;
        assert!(o.text().await.contains("सहेज लिया"));
        o.eval("eformXml()")
            .await
            .as_str()
            .expect("the e-form's XML")
            .to_string()
    } else {
        let (_, template) = b.download("/services/passport-fresh/eform.xml").await;
        crate::eforms::filled(
            &String::from_utf8(template).unwrap(),
            &[
                ("given_name", "आशा"),
                ("surname", "कुमारी"),
                ("date_of_birth", "1995-08-14"),
                ("place_of_birth", "जयपुर"),
                ("scheme", "normal"),
                ("booklet", "60"),
                ("name", "सुनीता कुमारी"),
                ("relation", "parent"),
                ("phone", "98123 45601"),
                ("marital_status", "single"),
                ("ecr", "non-ecr"),
                ("criminal_proceedings", "no"),
                ("phone", "98123 45600"),
                ("address", "12 मालवीय नगर, जयपुर"),
                ("pincode", "302017"),
                ("lived_a_year", "yes"),
                ("name", "मीना शर्मा"),
                ("address", "14 मालवीय नगर, जयपुर"),
                ("phone", "98123 45602"),
                ("name", "राकेश जैन"),
                ("address", "16 मालवीय नगर, जयपुर"),
                ("phone", "98123 45603"),
                ("office", "rpo-jaipur"),
            ],
        )
    };
    // A PDF is refused, in Hindi, and nothing is lost: the form is still there.
    let pdf = dir.path().join("printout.pdf");
    std::fs::write(&pdf, b"%PDF-1.7\n").unwrap();
    b.attach("file", &pdf).await;
    b.submit("form[action='/services/passport-fresh/eform'] button")
        .await;
    assert!(b.text().await.contains("यह PDF है"), "{}", b.text().await);
    if js {
        b.audit("eform-refused").await;
    }
    // A PIN code starting with 0: the rest is taken, that answer is listed beside what the
    // file said, with a link to fix it.
    let file = dir.path().join("eform-passport-fresh.xml");
    std::fs::write(&file, xml.replace(">302017<", ">012345<")).unwrap();
    b.attach("file", &file).await;
    b.submit("form[action='/services/passport-fresh/eform'] button")
        .await;
    let text = b.text().await;
    assert!(
        text.contains("012345") && text.contains("ई-फ़ॉर्म पढ़ लिया गया"),
        "{text}"
    );
    if js {
        b.audit("eform-read").await;
    }
    b.submit("ul.problems a").await;
    assert!(
        b.path().await.ends_with("/pages/contact"),
        "{}",
        b.path().await
    );
    b.fill("pincode", "302017").await;
    b.submit("form[action$='/pages/contact'] button").await;
    // The pages after it, as the e-form filled them.
    for page in ["references", "office"] {
        if b.path().await.ends_with(&format!("/pages/{page}")) {
            b.submit(&format!("form[action$='/pages/{page}'] button:not([name])"))
                .await;
        }
    }
    assert!(
        b.path().await.ends_with("/check"),
        "{}: {}",
        b.path().await,
        b.text().await
    );
    let text = b.text().await;
    assert!(
        text.contains("14 अगस्त 1995") && text.contains("₹2,000"),
        "{text}"
    );
    b.click("#declaration").await;
    b.submit("form[action$='/submit'] button").await;
    let arn = ekdwar_domain::catalog::Arn::parse(&b.text_of(".arn").await).expect("an ARN");
    let asha = t.account("asha.k").await;
    assert!(
        t.last_message(asha.phone.as_deref().unwrap())
            .await
            .contains(&arn.to_string())
    );
}

#[tokio::test]
async fn the_offline_e_form_journey_with_javascript() {
    eform_journey(true).await;
}

#[tokio::test]
async fn the_offline_e_form_journey_without_javascript() {
    eform_journey(false).await;
}
