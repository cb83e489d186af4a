//! The receipt: a PDF in the applicant's language whose text extracts (so Indic scripts are
//! shaped and mapped back to Unicode), whose QR code decodes from a rendering of the page and
//! opens the public verification page, which shows only what tracking shows.

use std::process::Command;

use crate::accounts::PASSWORD;
use crate::applications::submitted_pcc;
use crate::catalog::import_demo;
use crate::support::{TestApp, backends, browser};

/// Runs a PDF tool (poppler-utils, zbar-tools: `.ci/run` installs them).
fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} is needed (apt-get install poppler-utils zbar-tools): {e}")
        });
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The text of a PDF, as a person (or a screen reader) reads it.
pub fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("document.pdf");
    std::fs::write(&file, pdf).unwrap();
    tool("pdftotext", &[file.to_str().unwrap(), "-"])
}

/// Reads a receipt as a person and a phone do: its text, and the QR code of a rendering of
/// its first page.
pub fn read_receipt(pdf: &[u8]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipt.pdf");
    std::fs::write(&file, pdf).unwrap();
    let file = file.to_str().unwrap();
    let text = tool("pdftotext", &[file, "-"]);
    let png = dir.path().join("page");
    let png = png.to_str().unwrap();
    tool(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            file,
            png,
        ],
    );
    let qr = tool("zbarimg", &["-q", "--raw", &format!("{png}.png")]);
    (text, qr.trim().to_string())
}

#[tokio::test]
async fn the_receipt_is_a_hindi_pdf_whose_qr_code_verifies() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_user("other.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let (id, arn) = submitted_pcc(&t, "asha.k").await;
        let owner = t.logged_in("asha.k").await;
        let home = t.get_as(&owner, "/").await;
        t.post_with(&owner, &home, "/language", &[("lang", "hi"), ("back", "/")])
            .await;
        let page = t.get_as(&owner, &format!("/applications/{id}")).await;
        assert!(page.has("रसीद डाउनलोड करें"), "{}", page.text());

        let resp = owner
            .get(t.url(&format!("/applications/{id}/receipt.pdf")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/pdf");
        assert!(
            resp.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("no-store")
        );
        let pdf = resp.bytes().await.unwrap();
        // The text comes back as it was written: shaped Hindi maps back to its characters;
        // rendered, the QR code reads back as the verification address.
        let (text, url) = read_receipt(&pdf);
        let url = url.as_str();
        let spaced = arn.to_string();
        for expected in [
            "आवेदन की रसीद",
            "पुलिस क्लीयरेंस प्रमाणपत्र",
            "फ़ाइल संख्या (ARN)",
            spaced.as_str(),
            "Asha Kumari",
            "आपका वर्तमान पासपोर्ट",
            // Where it stands: the fee and the visit to the centre.
            "शुल्क",
            "अपॉइंटमेंट",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
        assert!(url.starts_with(&t.url("/verify/")), "{url}");
        // A scanner that stops at a space must still get the whole address.
        assert!(
            !url.contains(' ') && !url.contains("%20"),
            "a space in the QR code's address: {url}"
        );

        // Anyone may open it: only the ARN, service, status, date and a masked name.
        let visitor = browser();
        let page = t
            .get_as(&visitor, url.strip_prefix(&t.url("")).unwrap())
            .await;
        assert_eq!(page.status, 200, "{}", page.text());
        let shown = page.text();
        assert!(shown.contains("This receipt is genuine"), "{shown}");
        assert!(shown.contains(&spaced), "{shown}");
        assert!(shown.contains("Police clearance certificate"));
        assert!(shown.contains("A••• K•••"));
        for secret in ["Asha", "Kumari", "K1234567", "Malviya", "302017"] {
            assert!(
                !shown.contains(secret),
                "{secret} shown on the verification page"
            );
        }

        // A token changed by one character, or an ARN alone, confirms nothing.
        let token = url.rsplit('/').next().unwrap();
        let mut forged = token.to_string();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        for path in [
            format!("/verify/{forged}"),
            format!("/verify/{arn}"),
            format!("/verify/{arn}."),
            "/verify/nonsense".to_string(),
        ] {
            let page = t.get_as(&visitor, &path).await;
            assert_eq!(page.status, 404, "{path}");
            assert!(page.text().contains("could not be confirmed"), "{path}");
            assert!(!page.text().contains("A••• K•••"));
        }

        // The receipt is the owner's alone; a visitor is sent to log in, another citizen gets 404.
        let other = t.logged_in("other.k").await;
        let page = t
            .get_as(&other, &format!("/applications/{id}/receipt.pdf"))
            .await;
        assert_eq!(page.status, 404);
        let page = t
            .get_as(&visitor, &format!("/applications/{id}/receipt.pdf"))
            .await;
        assert!(!page.text().starts_with("%PDF"));
    }
}

#[tokio::test]
async fn a_draft_has_no_receipt() {
    let t = TestApp::builder("sqlite")
        .with_user("asha.k", PASSWORD)
        .start()
        .await;
    import_demo(&t).await;
    let account = t.account("asha.k").await;
    let id = t
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
    let owner = t.logged_in("asha.k").await;
    let page = t
        .get_as(&owner, &format!("/applications/{id}/receipt.pdf"))
        .await;
    assert_eq!(page.status, 404);
}

/// A test elsewhere that reads a PDF needs poppler-utils (and zbar-tools for a QR code): where
/// `./test` cannot install them it leaves such tests out by name, so each must be named in
/// its filters, or a machine without the tools fails it instead of naming it as skipped.
#[test]
fn every_test_reading_a_pdf_is_named_where_the_pdf_tools_are_missing() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = std::fs::read_to_string(root.join("test")).unwrap();
    let filter = |package: &str| {
        script
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("[{package}]=")) && l.contains("test("))
            .unwrap_or_else(|| panic!("./test has a filter for {package}"))
            .to_string()
    };
    let (poppler, zbar) = (filter("poppler-utils"), filter("zbar-tools"));
    let dir = root.join("crates/ekdwar/tests/it");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_str().unwrap().to_string();
        if path.extension().is_none_or(|e| e != "rs") || module == "receipts" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut test = None;
        for line in text.lines() {
            if let Some(rest) = line
                .strip_prefix("async fn ")
                .or_else(|| line.strip_prefix("fn "))
            {
                test = rest.split('(').next().map(str::to_string);
            }
            let reads_text =
                line.contains("receipts::pdf_text") || line.contains("receipts::read_receipt");
            let reads_qr = line.contains("receipts::read_receipt");
            if let Some(name) = test.as_deref().filter(|_| reads_text) {
                let named = format!("test(={name})");
                assert!(
                    poppler.contains(&named),
                    "{module}::{name} reads a PDF: add {named} to poppler-utils in ./test"
                );
                if reads_qr {
                    assert!(
                        zbar.contains(&named),
                        "{module}::{name} reads a QR code: add {named} to zbar-tools in ./test"
                    );
                }
            }
        }
    }
}
