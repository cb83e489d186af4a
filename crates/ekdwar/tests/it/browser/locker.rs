//! The locker in Chromium, with JavaScript on and off: a citizen fetches her Class XII
//! marksheet from the test issuer by roll number, adds a rent agreement of her own under a
//! folder, opens it, and removes it; each page passes the audit.

use super::Browser;
use super::flows::log_in;
use crate::accounts::PASSWORD;
use crate::locker::TestIssuer;
use crate::support::TestApp;

async fn the_locker(js: bool) {
    let issuer = TestIssuer::start().await;
    for backend in super::journey_backends(js) {
        let config = issuer.config();
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_config(move |c| c.locker.issuers = vec![config])
            .start()
            .await;
        let b = Browser::start(&t.base, js).await;
        b.open("/login").await;
        log_in(&b, "asha.k").await;
        b.press("My documents").await;
        assert_eq!(b.path().await, "/locker", "js {js}");
        if js {
            b.audit("locker-empty").await;
        }

        // The marksheet, from the board.
        b.press("Get a document from its issuer").await;
        assert_eq!(b.path().await, "/locker/pull");
        if js {
            b.audit("locker-pull").await;
        }
        b.fill("number", "2614578").await;
        b.fill_date("birth_date", "2008-04-13").await;
        b.submit("form[action='/locker/pull'] button").await;
        assert!(
            b.text().await.contains("no such document"),
            "js {js}: {}",
            b.text().await
        );
        if js {
            b.audit("locker-pull-none").await;
        }
        b.fill_date("birth_date", "2008-04-12").await;
        b.submit("form[action='/locker/pull'] button").await;
        let sheet = b.text().await;
        assert!(
            sheet.contains("The document is in your locker")
                && sheet.contains("Central Board of Secondary Education")
                && sheet.contains("in.gov.cbse-HSCER-HSC2026T3ST0001"),
            "js {js}: {sheet}"
        );
        if js {
            b.audit("locker-issued").await;
        }

        // A rent agreement of her own.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rent agreement.pdf");
        std::fs::write(&file, crate::locker::pdf(20 * 1024)).unwrap();
        b.open("/locker").await;
        b.fill("description", "Rent agreement, flat 12").await;
        b.fill("folder", "Housing").await;
        b.attach("file", &file).await;
        b.submit("form[action='/locker/upload'] button").await;
        let added = b.text().await;
        assert!(
            added.contains("The document was added") && added.contains("rent agreement.pdf"),
            "js {js}: {added}"
        );
        let (status, bytes) = b.download(&format!("{}/file", b.path().await)).await;
        assert_eq!(status, 200);
        assert_eq!(bytes, crate::locker::pdf(20 * 1024), "js {js}");
        b.open("/locker").await;
        let list = b.text().await;
        assert!(
            list.contains("Class XII marksheet 2026") && list.contains("Housing"),
            "js {js}: {list}"
        );
        if js {
            b.audit("locker-two").await;
        }

        // Shared with a PIN: a stranger's browser opens it with the PIN; the owner sees it.
        b.press("Rent agreement, flat 12").await;
        let doc_path = b.path().await;
        b.click("#valid-1d").await;
        b.fill("pin", "2468").await;
        b.submit("form[action$='/share'] button").await;
        let link = b.attr("#share-link", "href").await.expect("the new link");
        if js {
            b.audit("locker-shared-link").await;
        }
        let stranger = Browser::start(&t.base, js).await;
        stranger.open_url(&link).await;
        stranger.fill("pin", "2468").await;
        stranger.submit("main form button").await;
        assert!(
            stranger.text().await.contains("Rent agreement, flat 12"),
            "js {js}: {}",
            stranger.text().await
        );
        if js {
            stranger.audit("locker-shared-open").await;
        }
        b.open(&doc_path).await;
        assert!(
            b.text().await.contains("Opened the page"),
            "js {js}: {}",
            b.text().await
        );

        // Removed.
        b.submit("form[action$='/delete'] button").await;
        let after = b.text().await;
        assert!(
            after.contains("The document was removed")
                && !after.contains("Rent agreement, flat 12"),
            "js {js}: {after}"
        );
    }
}

#[tokio::test]
async fn the_locker_with_javascript() {
    the_locker(true).await;
}

#[tokio::test]
async fn the_locker_without_javascript() {
    the_locker(false).await;
}
