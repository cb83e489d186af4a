//! The offline e-form: the XML template and its schema are downloaded, filled and uploaded;
//! the upload becomes a draft checked page by page as typed answers are. Anything but the
//! e-form's XML is refused with a message that says what to upload instead.

use std::process::Command;

use crate::accounts::PASSWORD;
use crate::catalog::import_demo;
use crate::support::{Page, TestApp, backends};

/// Uploads `bytes` as the e-form of `code`, as a browser sends a file.
pub async fn upload(
    t: &TestApp,
    client: &reqwest::Client,
    code: &str,
    name: &str,
    bytes: Vec<u8>,
) -> Page {
    let page = t.get_as(client, &format!("/services/{code}/eform")).await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", page.field("csrf").expect("the upload form"))
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    Page::read(
        client
            .post(t.url(&format!("/services/{code}/eform")))
            .header("origin", t.url(""))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
    .unwrap()
}

/// The police clearance e-form filled in: the template with each answer put in its element.
pub fn filled(template: &str, answers: &[(&str, &str)]) -> String {
    let mut xml = template.to_string();
    for (id, value) in answers {
        let empty = format!("<{id}></{id}>");
        assert!(xml.contains(&empty), "{id} not in the template");
        xml = xml.replacen(&empty, &format!("<{id}>{value}</{id}>"), 1);
    }
    xml
}

pub const PCC: &[(&str, &str)] = &[
    ("given_name", "Asha"),
    ("surname", "Kumari"),
    ("date_of_birth", "1990-01-26"),
    ("passport_number", "K1234567"),
    ("country", "AE"),
    ("purpose", "employment"),
    ("phone", "98123 45600"),
    ("address", "12 Malviya Nagar &amp; Sons"),
    ("pincode", "302017"),
    ("office", "rpo-jaipur"),
];

#[tokio::test]
async fn a_filled_e_form_becomes_a_draft_that_is_submitted_as_usual() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let client = t.logged_in("asha.k").await;
        let service = t.get_as(&client, "/services/police-clearance").await;
        assert!(service.has("Apply offline"), "{}", service.text());

        let resp = client
            .get(t.url("/services/police-clearance/eform.xml"))
            .send()
            .await
            .unwrap();
        assert!(
            resp.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        let template = resp.text().await.unwrap();
        assert!(template.contains("<!-- Passport number -->"), "{template}");
        let xml = filled(&template, PCC);

        // The schema accepts the filled e-form (xmllint, libxml2's validator).
        let xsd = t
            .get_as(&client, "/services/police-clearance/eform.xsd")
            .await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("eform.xsd"), xsd.body.as_bytes()).unwrap();
        std::fs::write(dir.path().join("eform.xml"), &xml).unwrap();
        let out = Command::new("xmllint")
            .current_dir(dir.path())
            .args(["--noout", "--schema", "eform.xsd", "eform.xml"])
            .output()
            .expect("xmllint (apt-get install libxml2-utils)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        // Every page was accepted: straight to "Check your answers".
        let page = upload(
            &t,
            &client,
            "police-clearance",
            "eform.xml",
            xml.into_bytes(),
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.url.ends_with("/check"), "{}", page.url);
        assert!(page.has("K1234567"));
        assert!(page.text().contains("12 Malviya Nagar & Sons"));
        let page = t
            .post_with(&client, &page, &path(&page), &[("declaration", "yes")])
            .await;
        assert!(
            page.has("Application submitted") || page.has("ARN"),
            "{}",
            page.text()
        );
    }
}

fn path(check: &Page) -> String {
    let url = url::Url::parse(&check.url).unwrap();
    url.path().replace("/check", "/submit")
}

#[tokio::test]
async fn answers_the_rules_refuse_are_listed_with_what_the_file_said() {
    let t = TestApp::builder("sqlite")
        .with_user("asha.k", PASSWORD)
        .start()
        .await;
    import_demo(&t).await;
    let client = t.logged_in("asha.k").await;
    let template = t
        .get_as(&client, "/services/police-clearance/eform.xml")
        .await
        .body;
    let mut answers = PCC.to_vec();
    answers[3] = ("passport_number", "k12");
    answers[8] = ("pincode", "012345");
    let page = upload(
        &t,
        &client,
        "police-clearance",
        "eform.xml",
        filled(&template, &answers).into_bytes(),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.text());
    let text = page.text();
    assert!(text.contains("Your e-form was read"), "{text}");
    assert!(text.contains("1 pages were filled"), "{text}");
    assert!(
        text.contains("the file said “k12”") || text.contains("k12"),
        "{text}"
    );
    assert!(text.contains("012345"), "{text}");
    // The page that was right is kept; the ones to fix are linked.
    let start = page
        .body
        .find("href=\"/applications/")
        .expect("a link to a page to fix")
        + 6;
    let end = start + page.body[start..].find('"').unwrap();
    let fix = page.body[start..end].to_string();
    assert!(fix.ends_with("/pages/applicant"), "{fix}");
    let applicant = t.get_as(&client, &fix).await;
    assert_eq!(applicant.status, 200);
    let destination = t
        .get_as(&client, &fix.replace("/applicant", "/destination"))
        .await;
    assert!(
        destination.body.contains("value=\"AE\" selected"),
        "{}",
        destination.body
    );
    // On the page with the refused PIN code, the other answers are kept.
    let contact = t
        .get_as(&client, &fix.replace("/applicant", "/contact"))
        .await;
    assert!(
        contact.text().contains("12 Malviya Nagar"),
        "{}",
        contact.text()
    );
    assert_eq!(contact.field("pincode").unwrap_or_default(), "");
}

#[tokio::test]
async fn anything_but_the_e_forms_xml_is_refused_with_what_to_do() {
    let t = TestApp::builder("sqlite")
        .with_user("asha.k", PASSWORD)
        .start()
        .await;
    import_demo(&t).await;
    let client = t.logged_in("asha.k").await;
    let template = t
        .get_as(&client, "/services/police-clearance/eform.xml")
        .await
        .body;
    let laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\n<eform xmlns=\"urn:ekdwar:eform:1\" service=\"police-clearance\"><given_name>&lol2;</given_name></eform>";
    let external = "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<eform xmlns=\"urn:ekdwar:eform:1\" service=\"police-clearance\"><given_name>&xxe;</given_name></eform>";
    let deep = format!(
        "<eform xmlns=\"urn:ekdwar:eform:1\" service=\"police-clearance\"><given_name>{}x{}</given_name></eform>",
        "<a>".repeat(5000),
        "</a>".repeat(5000)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "printout.pdf",
            b"%PDF-1.7\n%binary".to_vec(),
            "This is a PDF",
        ),
        (
            "photo.jpg",
            vec![0xff, 0xd8, 0xff, 0xe0, 0, 1],
            "This is not an XML file",
        ),
        (
            "eform.xml",
            laughs.as_bytes().to_vec(),
            "document type declaration",
        ),
        (
            "eform.xml",
            external.as_bytes().to_vec(),
            "document type declaration",
        ),
        (
            "eform.xml",
            b"<eform><given_name>Asha</eform>".to_vec(),
            "damaged near line 1",
        ),
        (
            "eform.xml",
            b"<html><body>hi</body></html>".to_vec(),
            "not an Ekdwar e-form",
        ),
        (
            "eform.xml",
            template
                .replace("police-clearance", "passport-fresh")
                .into_bytes(),
            "for another service (passport-fresh)",
        ),
        (
            "eform.xml",
            template
                .replace("<surname></surname>", "<nickname>A</nickname>")
                .into_bytes(),
            "does not ask (nickname)",
        ),
        (
            "eform.xml",
            deep.into_bytes(),
            "does not ask (given_name/a)",
        ),
        ("eform.xml", vec![b' '; 60 * 1024], "too large"),
        ("eform.xml", Vec::new(), "Choose the e-form"),
    ];
    for (name, bytes, expected) in cases {
        let page = upload(&t, &client, "police-clearance", name, bytes).await;
        assert!(
            page.status == 400 || page.status == 413,
            "{name}: {}",
            page.status
        );
        assert!(
            page.text().contains(expected),
            "{expected}: {}",
            page.text()
        );
    }
    // Nothing was started by any of them.
    let mine = t.get_as(&client, "/applications").await;
    assert!(!mine.has("Police clearance certificate"), "{}", mine.text());
    // The same refusal in Hindi.
    let home = t.get_as(&client, "/").await;
    t.post_with(
        &client,
        &home,
        "/language",
        &[("lang", "hi"), ("back", "/")],
    )
    .await;
    let page = upload(
        &t,
        &client,
        "police-clearance",
        "a.pdf",
        b"%PDF-1.4".to_vec(),
    )
    .await;
    assert!(page.text().contains("यह PDF है"), "{}", page.text());
}

#[tokio::test]
async fn the_offline_page_is_one_file_with_every_question() {
    let t = TestApp::start("sqlite").await;
    import_demo(&t).await;
    let resp = t
        .client
        .get(t.url("/services/passport-fresh/eform.html"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let html = resp.text().await.unwrap();
    // Nothing to fetch: no external script, style or image.
    for outside in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(outside), "{outside} in the offline page");
    }
    for id in ["given_name", "date_of_birth", "office", "scheme"] {
        assert!(html.contains(&format!("data-id=\"{id}\"")), "{id}");
    }
    // An in-person or app service has no e-form.
    assert_eq!(t.get("/services/rj-recruitment/eform").await.status, 404);
}

/// A fresh passport application, filled through the e-form and submitted; its id and ARN.
pub async fn submitted_fresh(
    t: &TestApp,
    portal_id: &str,
) -> (ekdwar_domain::ApplicationId, ekdwar_domain::catalog::Arn) {
    submitted_fresh_scheme(t, portal_id, "normal").await
}

/// As [`submitted_fresh`], under `scheme` (`normal` or `tatkaal`).
pub async fn submitted_fresh_scheme(
    t: &TestApp,
    portal_id: &str,
    scheme: &str,
) -> (ekdwar_domain::ApplicationId, ekdwar_domain::catalog::Arn) {
    let lang = ekdwar_app::i18n::Lang::english();
    let actor = ekdwar_app::audit::Actor::command_line();
    let account = t.account(portal_id).await;
    let template = t
        .app
        .applications
        .eform_template("passport-fresh", &lang)
        .unwrap();
    // Filled in the template's order; the group's phone comes before the contact's.
    let xml = filled(
        &template,
        &[
            ("given_name", "Asha"),
            ("surname", "Kumari"),
            ("date_of_birth", "1990-01-26"),
            ("place_of_birth", "Jaipur"),
            ("scheme", scheme),
            ("booklet", "36"),
            ("name", "Ravi Kumar"),
            ("relation", "spouse"),
            ("phone", "98123 45601"),
            ("marital_status", "married"),
            ("ecr", "non-ecr"),
            ("criminal_proceedings", "no"),
            ("spouse_name", "Ravi Kumar"),
            ("phone", "98123 45600"),
            ("address", "12 Malviya Nagar"),
            ("pincode", "302017"),
            ("lived_a_year", "yes"),
            ("name", "Meena Sharma"),
            ("address", "14 Malviya Nagar"),
            ("phone", "98123 45602"),
            ("name", "Rakesh Jain"),
            ("address", "16 Malviya Nagar"),
            ("phone", "98123 45603"),
            ("office", "rpo-jaipur"),
        ],
    );
    let imported = t
        .app
        .applications
        .import_eform(&account, "passport-fresh", xml.as_bytes(), &lang, &actor)
        .await
        .unwrap()
        .unwrap();
    assert!(imported.problems.is_empty(), "{:?}", imported.problems);
    let arn = t
        .app
        .applications
        .submit(&account, &imported.id, true, &lang, &actor)
        .await
        .unwrap();
    (imported.id, arn)
}
