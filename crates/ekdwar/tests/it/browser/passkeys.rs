//! Passkeys in Chromium: with JavaScript on and the browser's platform authenticator (the
//! DevTools virtual one), a citizen adds a passkey on her account and later logs in with it
//! alone; with JavaScript off, the pages say what passkeys need and offer nothing that
//! cannot work.

use super::Browser;
use super::flows::log_in;
use crate::accounts::PASSWORD;
use crate::passkeys::on_localhost;
use crate::support::TestApp;

#[tokio::test]
async fn a_passkey_is_added_and_logs_in_with_javascript_and_is_explained_without() {
    let backend = crate::support::backends()
        .last()
        .copied()
        .unwrap_or("sqlite");
    let t = TestApp::builder(backend)
        .with_config(on_localhost)
        .with_user("anna", PASSWORD)
        .start()
        .await;
    let base = t.app.config().public_url();

    let b = Browser::start(&base, true).await;
    b.add_authenticator().await;
    b.open("/login").await;
    log_in(&b, "anna").await;
    b.open("/account/passkeys").await;
    assert!(
        !b.text().await.contains("need a browser"),
        "{}",
        b.text().await
    );
    b.fill("name", "My phone").await;
    b.submit("form[action='/account/passkeys/add'] button")
        .await;
    let added = b.text().await;
    assert!(added.contains("The passkey was added"), "{added}");
    assert!(added.contains("My phone"), "{added}");
    b.press("Log out").await;

    // No identifier, no password: the button, and the device.
    b.open("/login").await;
    b.audit("login-passkey").await;
    b.submit("form[action='/login/passkey'] button").await;
    assert_eq!(b.path().await, "/account", "{}", b.text().await);
    b.open("/account/passkeys").await;
    assert!(
        !b.text().await.contains("Not used yet"),
        "{}",
        b.text().await
    );

    // Without JavaScript the login page shows no passkey button, and the account page says
    // what adding one needs.
    let off = Browser::start(&base, false).await;
    off.open("/login").await;
    assert!(
        !off.text().await.contains("Log in with a passkey"),
        "{}",
        off.text().await
    );
    log_in(&off, "anna").await;
    off.open("/account/passkeys").await;
    let page = off.text().await;
    assert!(page.contains("My phone"), "{page}");
    assert!(page.contains("need a browser that supports them"), "{page}");
    assert!(!page.contains("Name of the passkey"), "{page}");
}
