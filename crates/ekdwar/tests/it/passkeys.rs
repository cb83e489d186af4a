//! Passkeys over HTTP, with a software authenticator (`webauthn-authenticator-rs`) in the
//! browser's place: a citizen adds one and logs in with it alone; answers are single-use and
//! a forged one is refused; another person cannot touch it; staff use one in place of an
//! authenticator app; the helpdesk's `two-step-off` removes them.

use ekdwar_app::config::Config;
use ekdwar_domain::Role;
use serde_json::Value;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, RequestChallengeResponse, ResidentKeyRequirement,
};

use crate::accounts::PASSWORD;
use crate::support::{Page, TestApp, backends, browser};

/// Serves the portal as `http://localhost:PORT`: browsers and authenticators accept no IP
/// address as a passkey's scope.
pub fn on_localhost(c: &mut Config) {
    let port = c
        .server
        .listen
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    c.server.public_url = Some(format!("http://localhost:{port}"));
}

/// A device holding passkeys, and the user handle each was made for (a software authenticator
/// keeps no handle; a phone's would return it).
pub struct Device {
    key: SoftPasskey,
    handles: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Device {
    pub fn new() -> Self {
        Self {
            key: SoftPasskey::new(true),
            handles: Vec::new(),
        }
    }

    fn origin(t: &TestApp) -> url::Url {
        url::Url::parse(&t.app.config().public_url()).unwrap()
    }

    /// The answer to the options of a new passkey.
    pub fn create(&mut self, t: &TestApp, options: &Value) -> String {
        let mut o: CreationChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        let sel = o.public_key.authenticator_selection.as_mut().unwrap();
        assert!(
            sel.require_resident_key,
            "the portal asks for a discoverable credential"
        );
        // The software authenticator keeps no credentials itself; the handle is kept here.
        sel.require_resident_key = false;
        sel.resident_key = Some(ResidentKeyRequirement::Discouraged);
        let handle = o.public_key.user.id.clone();
        let answer = self.key.do_registration(Self::origin(t), o).unwrap();
        self.handles.push((answer.raw_id.clone(), handle));
        serde_json::to_string(&answer).unwrap()
    }

    /// The id of the passkey the device logs in with (base64url).
    pub fn first_id(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&self.handles[0].0)
    }

    /// The answer to a login's options, with the device's first passkey when the options name
    /// none (a discoverable login).
    pub fn sign(&mut self, t: &TestApp, options: &Value) -> String {
        let mut o: RequestChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        let discoverable = o.public_key.allow_credentials.is_empty();
        if discoverable {
            o.public_key.allow_credentials.push(AllowCredentials {
                type_: "public-key".into(),
                id: self.handles[0].0.clone(),
                transports: None,
            });
        }
        let mut answer = self.key.do_authentication(Self::origin(t), o).unwrap();
        let id: Vec<u8> = answer.raw_id.clone();
        answer.response.user_handle = self
            .handles
            .iter()
            .find(|(c, _)| *c == id)
            .map(|(_, h)| h.clone());
        serde_json::to_string(&answer).unwrap()
    }
}

/// Posts a form's fields with the page's CSRF token; the JSON answer.
async fn options(
    t: &TestApp,
    client: &reqwest::Client,
    page: &Page,
    path: &str,
    fields: &[(&str, &str)],
) -> Value {
    let mut form: Vec<(&str, String)> = fields.iter().map(|(k, v)| (*k, v.to_string())).collect();
    form.push(("csrf", page.field("csrf").expect("a CSRF token")));
    let r = client.post(t.url(path)).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

/// Adds a passkey called `name` to the account `client` is logged in to.
pub async fn add_passkey(
    t: &TestApp,
    client: &reqwest::Client,
    device: &mut Device,
    name: &str,
) -> Page {
    let page = t.get_as(client, "/account/passkeys").await;
    assert!(page.has("data-passkey-add"), "{}", page.body);
    let o = options(
        t,
        client,
        &page,
        "/account/passkeys/options",
        &[("name", name)],
    )
    .await;
    assert!(o["error"].is_null(), "{o}");
    let answer = device.create(t, &o["options"]);
    t.post_with(
        client,
        &page,
        "/account/passkeys/add",
        &[
            ("name", name),
            ("ceremony", o["ceremony"].as_str().unwrap()),
            ("credential", &answer),
        ],
    )
    .await
}

/// Logs a new browser in with the device's passkey; the browser and the page it ends on.
pub async fn passkey_login(t: &TestApp, device: &mut Device) -> (reqwest::Client, Page) {
    let client = browser();
    let page = t.get_as(&client, "/login").await;
    assert!(page.has("data-passkey-login"), "{}", page.body);
    let o = options(t, &client, &page, "/login/passkey/options", &[]).await;
    let answer = device.sign(t, &o["options"]);
    let done = t
        .post_with(
            &client,
            &page,
            "/login/passkey",
            &[
                ("ceremony", o["ceremony"].as_str().unwrap()),
                ("credential", &answer),
            ],
        )
        .await;
    (client, done)
}

#[tokio::test]
async fn a_citizen_adds_a_passkey_and_logs_in_with_it_alone() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_config(on_localhost)
            .with_user("anna", PASSWORD)
            .with_user("ivan", PASSWORD)
            .start()
            .await;
        let anna = t.logged_in("anna").await;
        let mut phone = Device::new();

        // The name is checked before the device is asked.
        let page = t.get_as(&anna, "/account/passkeys").await;
        assert!(page.has("You have no passkeys yet"), "{}", page.body);
        let o = options(
            &t,
            &anna,
            &page,
            "/account/passkeys/options",
            &[("name", " ")],
        )
        .await;
        assert!(
            o["error"].as_str().unwrap().contains("60 characters"),
            "{o}"
        );
        assert_eq!(o["field"], "name");

        let added = add_passkey(&t, &anna, &mut phone, "My phone").await;
        assert!(
            added.url.ends_with("notice=notice-passkey-added"),
            "{backend}: {}",
            added.url
        );
        assert!(
            added.has("My phone") && added.has("Not used yet"),
            "{}",
            added.body
        );
        let phone_no = t.account("anna").await.phone.unwrap().as_str().to_string();
        assert!(
            t.last_message(&phone_no)
                .await
                .contains("passkey was added"),
            "told"
        );

        // The same answer again: the ceremony is gone.
        let page = t.get_as(&anna, "/account/passkeys").await;
        let o = options(
            &t,
            &anna,
            &page,
            "/account/passkeys/options",
            &[("name", "Again")],
        )
        .await;
        let answer = phone.create(&t, &o["options"]);
        let fields = [
            ("name", "Again"),
            ("ceremony", o["ceremony"].as_str().unwrap()),
            ("credential", answer.as_str()),
        ];
        assert!(
            t.post_with(&anna, &page, "/account/passkeys/add", &fields)
                .await
                .url
                .contains("notice-passkey-added")
        );
        let replay = t
            .post_with(&anna, &page, "/account/passkeys/add", &fields)
            .await;
        assert_eq!(replay.status, 422, "{backend}: {}", replay.body);
        // Ivan cannot end Anna's ceremony with his own session.
        let ivan = t.logged_in("ivan").await;
        let o = options(
            &t,
            &anna,
            &page,
            "/account/passkeys/options",
            &[("name", "Tablet")],
        )
        .await;
        let answer = Device::new().create(&t, &o["options"]);
        let ivans_page = t.get_as(&ivan, "/account/passkeys").await;
        let stolen = t
            .post_with(
                &ivan,
                &ivans_page,
                "/account/passkeys/add",
                &[
                    ("ceremony", o["ceremony"].as_str().unwrap()),
                    ("credential", &answer),
                ],
            )
            .await;
        assert_eq!(stolen.status, 422);
        assert!(
            t.get_as(&ivan, "/account/passkeys")
                .await
                .has("You have no passkeys yet")
        );

        // A new browser: no identifier, no password, the passkey alone.
        let (fresh, done) = passkey_login(&t, &mut phone).await;
        assert_eq!(
            url::Url::parse(&done.url).unwrap().path(),
            "/account",
            "{backend}: {}",
            done.body
        );
        assert!(done.has("2 passkeys"), "{}", done.body);
        // Her password still logs in on its own: for a citizen a passkey is another way in,
        // not a second step.
        let by_password = t.logged_in("anna").await;
        let account = t.get_as(&by_password, "/account").await;
        assert_eq!(url::Url::parse(&account.url).unwrap().path(), "/account");
        assert!(
            t.get_as(&fresh, "/account/passkeys")
                .await
                .body
                .matches("Not used yet")
                .count()
                == 1
        );

        // A forged signature and a replayed answer are refused, and log no one in.
        let client = browser();
        let page = t.get_as(&client, "/login").await;
        let o = options(&t, &client, &page, "/login/passkey/options", &[]).await;
        let answer = phone.sign(&t, &o["options"]);
        let mut forged: Value = serde_json::from_str(&answer).unwrap();
        let sig = forged["response"]["signature"]
            .as_str()
            .unwrap()
            .to_string();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        forged["response"]["signature"] = Value::String(format!("{flipped}{}", &sig[1..]));
        let refused = t
            .post_with(
                &client,
                &page,
                "/login/passkey",
                &[
                    ("ceremony", o["ceremony"].as_str().unwrap()),
                    ("credential", &forged.to_string()),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{backend}: {}", refused.body);
        assert!(
            refused.has("This passkey was not accepted"),
            "{}",
            refused.body
        );
        let again = t
            .post_with(
                &client,
                &page,
                "/login/passkey",
                &[
                    ("ceremony", o["ceremony"].as_str().unwrap()),
                    ("credential", &answer),
                ],
            )
            .await;
        assert_eq!(
            again.status, 422,
            "the ceremony was used by the forged answer"
        );
        assert!(t.get_as(&client, "/account").await.url.contains("/login"));
        // An answer without JavaScript's part says what is needed.
        let bare = t.post_with(&client, &page, "/login/passkey", &[]).await;
        assert!(bare.has("JavaScript"), "{}", bare.body);

        // Ivan cannot remove Anna's passkey; Anna can.
        let anna_page = t.get_as(&anna, "/account/passkeys").await;
        let id = phone.first_id();
        assert!(anna_page.has(&id), "{}", anna_page.body);
        let ivans_page = t.get_as(&ivan, "/account/passkeys").await;
        t.post_with(
            &ivan,
            &ivans_page,
            "/account/passkeys/remove",
            &[("id", &id)],
        )
        .await;
        assert!(t.get_as(&anna, "/account/passkeys").await.has(&id));
        let removed = t
            .post_with(
                &anna,
                &anna_page,
                "/account/passkeys/remove",
                &[("id", &id)],
            )
            .await;
        assert!(
            removed.url.ends_with("notice=notice-passkey-removed"),
            "{}",
            removed.url
        );
        assert!(!removed.has(&id));
        // Its login no longer works.
        let (_, gone) = passkey_login(&t, &mut phone).await;
        assert_eq!(gone.status, 422, "{backend}: {}", gone.body);
        let events = t.get_as(&anna, "/account/security").await;
        assert!(
            events.has("Passkey added") && events.has("Passkey removed"),
            "{}",
            events.body
        );
    }
}

#[tokio::test]
async fn staff_use_a_passkey_in_place_of_an_authenticator_app() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_config(on_localhost)
            .start()
            .await;
        crate::catalog::import_demo(&t).await;
        crate::officers::officer(
            &t,
            "off.rj",
            1,
            "passport-officer",
            "mea",
            Some("IN-RJ"),
            None,
        )
        .await;
        let officer = t.logged_in("off.rj").await;
        // Sent to set up a second step; the passkey page is allowed and offered.
        let setup = t.get_as(&officer, "/officer").await;
        assert!(setup.url.contains("/account/two-step"), "{}", setup.url);
        assert!(setup.has("Use a passkey instead"), "{}", setup.body);
        let mut key = Device::new();
        let added = add_passkey(&t, &officer, &mut key, "Office key").await;
        assert!(added.has("in place of the code"), "{}", added.body);
        // The session has shown two factors: the officer's pages open.
        let queue = t.get_as(&officer, "/officer").await;
        assert_eq!(
            url::Url::parse(&queue.url).unwrap().path(),
            "/officer",
            "{backend}"
        );
        // The last second factor stays.
        let page = t.get_as(&officer, "/account/passkeys").await;
        let id = page.field("id").unwrap();
        let kept = t
            .post_with(&officer, &page, "/account/passkeys/remove", &[("id", &id)])
            .await;
        assert_eq!(kept.status, 422);
        assert!(kept.has("Staff need a second step"), "{}", kept.body);

        // Next day: password, then the passkey as the second step (no code is asked).
        let client = browser();
        let form = t.get_as(&client, "/login").await;
        let step = t
            .post_with(
                &client,
                &form,
                "/login",
                &[("identifier", "off.rj"), ("password", PASSWORD)],
            )
            .await;
        assert!(step.url.contains("/login/code"), "{}", step.url);
        assert!(
            step.has("Use your passkey") && !step.has("name=\"code\""),
            "{}",
            step.body
        );
        let o = options(
            &t,
            &client,
            &step,
            "/login/passkey/options",
            &[("second", "1")],
        )
        .await;
        assert_eq!(
            o["options"]["publicKey"]["allowCredentials"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "the account's own passkey: {o}"
        );
        let answer = key.sign(&t, &o["options"]);
        let done = t
            .post_with(
                &client,
                &step,
                "/login/passkey",
                &[
                    ("second", "1"),
                    ("ceremony", o["ceremony"].as_str().unwrap()),
                    ("credential", &answer),
                ],
            )
            .await;
        assert_eq!(
            url::Url::parse(&done.url).unwrap().path(),
            "/account",
            "{}",
            done.body
        );
        let queue = t.get_as(&client, "/officer").await;
        assert_eq!(url::Url::parse(&queue.url).unwrap().path(), "/officer");
        // Without the ticket of a right password there is no second step to start.
        let other = browser();
        let page = t.get_as(&other, "/login").await;
        let none = options(
            &t,
            &other,
            &page,
            "/login/passkey/options",
            &[("second", "1")],
        )
        .await;
        assert!(none["error"].is_string(), "{none}");

        // The helpdesk turns two-step login off for a lost device: the passkey goes too.
        t.app.identity.admin_two_step_off("off.rj").await.unwrap();
        let account = t.account("off.rj").await;
        assert_eq!(account.role, Role::Officer);
        let again = t.logged_in("off.rj").await;
        let page = t.get_as(&again, "/account/passkeys").await;
        assert!(page.has("You have no passkeys yet"), "{}", page.body);
    }
}
