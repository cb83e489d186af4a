//! The document locker over HTTP: a citizen uploads a file, which is sealed on disk and in the
//! database and streams back whole; another person cannot see, open or remove it; files are
//! told by content, size and quota, each refusal translated and leaving nothing behind; every
//! opening is in the security log; an upload cut short or abandoned by a crash is removed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::accounts::PASSWORD;
use crate::support::{Page, TestApp, backends};

/// A PDF-looking file of `len` bytes whose content is recognisable (to look for it on disk).
pub fn pdf(len: usize) -> Vec<u8> {
    let mut b = b"%PDF-1.4\n% rent agreement between the parties\n".to_vec();
    while b.len() < len {
        b.extend_from_slice(format!("line {} of the agreement\n", b.len()).as_bytes());
    }
    b.truncate(len);
    b
}

/// Uploads `bytes` as `name` from `client`'s locker page.
pub async fn upload(
    t: &TestApp,
    client: &reqwest::Client,
    description: &str,
    folder: &str,
    name: &str,
    bytes: Vec<u8>,
) -> Page {
    let page = t.get_as(client, "/locker").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", page.field("csrf").expect("the upload form"))
        .text("description", description.to_string())
        .text("folder", folder.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    Page::read(
        client
            .post(t.url("/locker/upload"))
            .header("origin", t.url(""))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
    .unwrap()
}

fn objects(t: &TestApp) -> Vec<PathBuf> {
    let dir = t.app.config().server.data_dir.join("locker/d");
    std::fs::read_dir(&dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test]
async fn a_document_is_sealed_streamed_back_and_only_its_owner_reaches_it() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_user("ravi.m", PASSWORD)
            .with_config(|c| c.locker.quota_mb = 1)
            .start()
            .await;
        let asha = t.logged_in("asha.k").await;
        let ravi = t.logged_in("ravi.m").await;
        let empty = t.get_as(&asha, "/locker").await;
        assert!(
            empty.has("You have not added a document yet"),
            "{}",
            empty.text()
        );

        let file = pdf(300 * 1024);
        let done = upload(
            &t,
            &asha,
            "Tenancy deed, flat 4",
            "Housing papers",
            "C:\\scans\\rent.PDF",
            file.clone(),
        )
        .await;
        assert_eq!(done.status, 200, "{backend}: {}", done.text());
        assert!(done.has("The document was added"), "{}", done.text());
        assert!(
            done.has("rent.pdf") && done.has("Housing papers"),
            "{}",
            done.text()
        );
        let id = done.path().rsplit('/').next().unwrap().to_string();

        // Back whole, as what its content is, sandboxed.
        let got = asha
            .get(t.url(&format!("/locker/{id}/file")))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200);
        let h = got.headers().clone();
        assert_eq!(h["content-type"], "application/pdf");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("sandbox")
        );
        assert!(
            h["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("inline")
        );
        assert_eq!(got.bytes().await.unwrap().as_ref(), &file[..], "{backend}");
        let dl = asha
            .get(t.url(&format!("/locker/{id}/file?download=1")))
            .send()
            .await
            .unwrap();
        assert!(
            dl.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=\"rent.pdf\"")
        );

        // Sealed: neither the object nor the database holds a readable byte of it.
        let stored = objects(&t);
        assert_eq!(stored.len(), 1, "{stored:?}");
        let raw = std::fs::read(&stored[0]).unwrap();
        assert!(!contains(&raw, b"rent agreement"), "the file is sealed");
        if backend == "sqlite" {
            let mut all = Vec::new();
            files_under(&t.app.config().server.data_dir, &mut all);
            for f in all
                .iter()
                .filter(|f| !f.starts_with(t.app.config().server.data_dir.join("locker")))
            {
                let bytes = std::fs::read(f).unwrap_or_default();
                assert!(
                    !contains(&bytes, b"Tenancy deed"),
                    "description sealed in {f:?}"
                );
                assert!(
                    !contains(&bytes, b"Housing papers"),
                    "folder sealed in {f:?}"
                );
            }
        }

        // The list shows it, under its folder.
        let list = t.get_as(&asha, "/locker").await;
        assert!(
            list.has("Tenancy deed, flat 4") && list.has("Housing papers"),
            "{}",
            list.text()
        );

        // Another person: not found, not opened, not removed.
        assert_eq!(t.get_as(&ravi, &format!("/locker/{id}")).await.status, 404);
        let other = ravi
            .get(t.url(&format!("/locker/{id}/file")))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 404);
        let rl = t.get_as(&ravi, "/locker").await;
        assert!(!rl.has("Tenancy deed"), "{}", rl.text());
        let _ = t
            .post_with(&ravi, &rl, &format!("/locker/{id}/delete"), &[])
            .await;
        assert_eq!(t.get_as(&asha, &format!("/locker/{id}")).await.status, 200);

        // Refusals: by content, size, emptiness, description, quota; nothing is kept.
        let exe = [b"MZ\x90\x00\x03".to_vec(), vec![0u8; 2000]].concat();
        for (desc, name, bytes, expected) in [
            ("Scan", "scan.pdf", exe, "is not a PDF, JPEG or PNG"),
            (
                "Scan",
                "big.pdf",
                pdf(11 * 1024 * 1024),
                "larger than 10 MB",
            ),
            ("Scan", "", Vec::new(), "Choose a file"),
            ("", "a.pdf", pdf(1000), "Say what the document is"),
            (
                "Scan",
                "b.pdf",
                pdf(800 * 1024),
                "more than the 1 MB you may keep",
            ),
        ] {
            let page = upload(&t, &asha, desc, "", name, bytes).await;
            assert_eq!(page.status, 422, "{expected}: {}", page.text());
            assert!(page.has(expected), "{expected}: {}", page.text());
        }
        assert_eq!(objects(&t).len(), 1, "refused uploads leave no object");
        // In Hindi.
        let home = t.get_as(&asha, "/").await;
        t.post_with(&asha, &home, "/language", &[("lang", "hi"), ("next", "/")])
            .await;
        let hi = upload(&t, &asha, "स्कैन", "", "x.pdf", b"MZ\x90\x00".to_vec()).await;
        assert!(hi.has("यह फ़ाइल PDF, JPEG या PNG नहीं है"), "{}", hi.text());
        let home = t.get_as(&asha, "/").await;
        t.post_with(&asha, &home, "/language", &[("lang", "en"), ("next", "/")])
            .await;

        // Without the form's token, nothing is taken.
        let forged = asha
            .post(t.url("/locker/upload"))
            .header("origin", t.url(""))
            .multipart(
                reqwest::multipart::Form::new()
                    .text("description", "x")
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(pdf(100)).file_name("x.pdf"),
                    ),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);

        // Every opening is in the owner's security log.
        let log = t.get_as(&asha, "/account/security").await;
        assert!(log.has("Document opened"), "{}", log.text());
        assert!(log.has("Document added to the locker"), "{}", log.text());

        // Removed: gone from the list and from the disk.
        let page = t.get_as(&asha, &format!("/locker/{id}")).await;
        let gone = t
            .post_with(&asha, &page, &format!("/locker/{id}/delete"), &[])
            .await;
        assert!(gone.has("The document was removed"), "{}", gone.text());
        assert_eq!(t.get_as(&asha, &format!("/locker/{id}")).await.status, 404);
        assert!(objects(&t).is_empty(), "{:?}", objects(&t));
    }
}

#[tokio::test]
async fn an_upload_cut_short_or_left_by_a_crash_is_removed() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        let asha = t.account("asha.k").await;
        let owner = asha.id.clone();
        // The connection drops half-way: nothing is kept.
        let parts: Vec<Result<bytes::Bytes, String>> = vec![
            Ok(bytes::Bytes::from(pdf(200 * 1024))),
            Err("connection reset".into()),
        ];
        let details = ekdwar_app::locker::UploadDetails {
            description: ekdwar_domain::locker::Description::parse("Half").unwrap(),
            folder: Default::default(),
            file_name: "half.pdf".into(),
        };
        let actor = ekdwar_app::audit::Actor::command_line();
        let cut = t
            .app
            .locker
            .upload(&owner, &actor, details, futures_util::stream::iter(parts))
            .await;
        assert!(cut.is_err(), "{backend}");
        assert!(objects(&t).is_empty(), "{:?}", objects(&t));
        assert!(t.app.locker.of(&owner).await.unwrap().documents.is_empty());

        // A crash between writing the object and recording it: the object was named as an
        // orphan first, and the sweep removes it once the upload's grace has passed.
        let dir = t.app.config().server.data_dir.join("locker/d");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("crashed"), b"EKL1 sealed bytes").unwrap();
        {
            let mut conn = t.app.store().conn().await.unwrap();
            let later = t.app.clock().now().plus(Duration::from_secs(3600));
            ekdwar_store::locker::orphan(&mut conn, "d/crashed", later)
                .await
                .unwrap();
        }
        assert_eq!(
            t.app.locker.sweep().await.unwrap(),
            0,
            "an upload may still be under way"
        );
        assert_eq!(objects(&t).len(), 1);
        t.advance(Duration::from_secs(3601));
        assert_eq!(t.app.locker.sweep().await.unwrap(), 1);
        assert!(objects(&t).is_empty());
        assert_eq!(t.app.locker.sweep().await.unwrap(), 0, "{backend}");
    }
}

/// A test agency: its key pair and API key, as the portal's configuration names them.
pub struct Agency {
    key: p256::ecdsa::SigningKey,
    api_key: String,
}

impl Agency {
    pub fn new() -> Self {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).unwrap();
        b[0] = 1;
        Self {
            key: p256::ecdsa::SigningKey::from_slice(&b).unwrap(),
            api_key: "cbse-api-key-for-tests".into(),
        }
    }

    pub fn config(&self) -> ekdwar_app::config::IssuerConfig {
        use p256::pkcs8::EncodePublicKey;
        ekdwar_app::config::IssuerConfig {
            id: "in.gov.cbse".into(),
            name: "Central Board of Secondary Education".into(),
            client_id: "cbse".into(),
            api_key: ekdwar_app::config::Secret::new(self.api_key.clone()),
            public_key: self
                .key
                .verifying_key()
                .to_public_key_pem(p256::pkcs8::LineEnding::LF)
                .unwrap(),
            doc_types: vec!["HSCER".into()],
            pull_url: None,
        }
    }

    pub fn sign(&self, bytes: &[u8]) -> String {
        use base64::Engine;
        use p256::ecdsa::signature::Signer;
        let sig: p256::ecdsa::Signature = self.key.sign(bytes);
        base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes())
    }

    /// Pushes `fields` (with `clientid` and a fresh `ts` added unless given) signed with
    /// `api_key`; the status and the answer.
    pub async fn push(
        &self,
        t: &TestApp,
        fields: &[(&str, &str)],
        api_key: &str,
    ) -> (u16, serde_json::Value) {
        use base64::Engine;
        use hmac::{Hmac, KeyInit, Mac};
        let ts = (t.app.clock().now().millis() / 1000).to_string();
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        if !fields.iter().any(|(k, _)| *k == "clientid") {
            form.append_pair("clientid", "cbse");
        }
        if !fields.iter().any(|(k, _)| *k == "ts") {
            form.append_pair("ts", &ts);
        }
        for (k, v) in fields {
            form.append_pair(k, v);
        }
        let body = form.finish();
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(api_key.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let hmac = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let r = reqwest::Client::new()
            .post(t.url("/api/locker/v1/push"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-digilocker-hmac", hmac)
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

#[tokio::test]
async fn an_agency_pushes_signed_documents_into_a_locker() {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    for backend in backends() {
        let agency = Agency::new();
        let issuer = agency.config();
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_user("ravi.m", PASSWORD)
            .with_config(move |c| c.locker.issuers = vec![issuer])
            .start()
            .await;
        let asha = t.logged_in("asha.k").await;
        let page = t.get_as(&asha, "/locker").await;
        let asha_id = t
            .app
            .locker
            .locker_id(&t.account("asha.k").await.id)
            .await
            .unwrap();
        assert!(
            page.has(&asha_id),
            "the locker page shows its id: {}",
            page.text()
        );
        let ravi_id = t
            .app
            .locker
            .locker_id(&t.account("ravi.m").await.id)
            .await
            .unwrap();
        assert_ne!(asha_id, ravi_id);

        let uri = "in.gov.cbse-HSCER-2026AB39XK81QZ";
        let sheet = pdf(40 * 1024);
        let sig = agency.sign(&sheet);
        let content = b64(&sheet);
        let add = [
            ("action", "A"),
            ("uri", uri),
            ("doctype", "HSCER"),
            ("digilockerid", asha_id.as_str()),
            ("description", "Class XII marksheet 2026"),
            ("issuedate", "15052026"),
            ("validfrom", "15052026"),
            ("validto", "15052036"),
            ("doccontent", content.as_str()),
            ("docsignature", sig.as_str()),
        ];
        let with = |changes: &[(&'static str, &str)]| -> Vec<(String, String)> {
            add.iter()
                .map(|(k, v)| {
                    let v = changes.iter().find(|(c, _)| c == k).map_or(*v, |(_, v)| v);
                    (k.to_string(), v.to_string())
                })
                .collect()
        };
        let send = |fields: Vec<(String, String)>, key: String| {
            let t = &t;
            let agency = &agency;
            async move {
                let refs: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                agency.push(t, &refs, &key).await
            }
        };
        let key = agency.api_key.clone();

        // Refused, and nothing kept: a forged HMAC, a stale ts, another issuer's URI, a type
        // it does not issue, an unknown locker, a document that is not a PDF, a signature
        // over other bytes.
        let stale = (t.app.clock().now().millis() / 1000 - 31 * 60).to_string();
        let tampered = b64(&pdf(40 * 1024 + 1));
        let exe = b64(b"MZ\x90\x00 a program");
        for (fields, api_key, status, code) in [
            (with(&[]), "wrong-key".to_string(), 401, "invalid_hmac"),
            (
                [with(&[]), vec![("ts".into(), stale.clone())]].concat(),
                key.clone(),
                401,
                "stale_ts",
            ),
            (
                with(&[("uri", "in.gov.other-HSCER-2026AB39XK81QZ")]),
                key.clone(),
                400,
                "invalid_uri",
            ),
            (
                with(&[
                    ("uri", "in.gov.cbse-INCER-2026AB39XK81QZ"),
                    ("doctype", "INCER"),
                ]),
                key.clone(),
                400,
                "invalid_uri",
            ),
            (
                with(&[("digilockerid", "00000000-0000-4000-8000-000000000000")]),
                key.clone(),
                404,
                "invalid_digilocker_id",
            ),
            (
                with(&[("doccontent", exe.as_str())]),
                key.clone(),
                400,
                "invalid_document",
            ),
            (
                with(&[("doccontent", tampered.as_str())]),
                key.clone(),
                400,
                "invalid_signature",
            ),
            (
                with(&[("action", "U")]),
                key.clone(),
                404,
                "record_not_found",
            ),
        ] {
            let (s, answer) = send(fields, api_key).await;
            assert_eq!(
                (s, answer["code"].as_str()),
                (status, Some(code)),
                "{backend}: {answer}"
            );
        }
        assert!(objects(&t).is_empty(), "refused pushes keep nothing");

        // Added: in her locker, told by SMS, in the security log.
        let (s, answer) = send(with(&[]), key.clone()).await;
        assert_eq!(
            (s, answer["action"].as_str()),
            (200, Some("added")),
            "{answer}"
        );
        let (s, answer) = send(with(&[]), key.clone()).await;
        assert_eq!((s, answer["code"].as_str()), (409, Some("uri_exists")));
        let list = t.get_as(&asha, "/locker").await;
        assert!(list.has("Class XII marksheet 2026"), "{}", list.text());
        let phone = t
            .account("asha.k")
            .await
            .phone
            .unwrap()
            .as_str()
            .to_string();
        assert!(
            t.last_message(&phone)
                .await
                .contains("Class XII marksheet 2026")
        );
        let docs = t
            .app
            .locker
            .of(&t.account("asha.k").await.id)
            .await
            .unwrap();
        let doc = docs
            .documents
            .iter()
            .find(|d| d.uri.as_deref() == Some(uri))
            .unwrap();
        let shown = t.get_as(&asha, &format!("/locker/{}", doc.id)).await;
        assert!(
            shown.has("Central Board of Secondary Education")
                && shown.has(uri)
                && shown.has("2036-05-15"),
            "{}",
            shown.text()
        );
        assert!(
            !shown.has("Remove the document"),
            "an issued document is the issuer's to withdraw"
        );
        let file = asha
            .get(t.url(&format!("/locker/{}/file", doc.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(file.bytes().await.unwrap().as_ref(), &sheet[..]);
        let log = t.get_as(&asha, "/account/security").await;
        assert!(log.has("Document issued into the locker"), "{}", log.text());
        // Ravi's locker knows nothing of it, and an update naming his locker finds nothing.
        let ravi = t.logged_in("ravi.m").await;
        assert!(!t.get_as(&ravi, "/locker").await.has("Class XII"));
        let (s, _) = send(
            with(&[("action", "U"), ("digilockerid", ravi_id.as_str())]),
            key.clone(),
        )
        .await;
        assert_eq!(s, 404);

        // Updated: the new version replaces the old one.
        let v2 = pdf(50 * 1024);
        let (v2c, v2s) = (b64(&v2), agency.sign(&v2));
        let (s, answer) = send(
            with(&[
                ("action", "U"),
                ("doccontent", v2c.as_str()),
                ("docsignature", v2s.as_str()),
            ]),
            key.clone(),
        )
        .await;
        assert_eq!(
            (s, answer["action"].as_str()),
            (200, Some("updated")),
            "{answer}"
        );
        let file = asha
            .get(t.url(&format!("/locker/{}/file", doc.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(file.bytes().await.unwrap().as_ref(), &v2[..], "{backend}");
        assert_eq!(objects(&t).len(), 1, "the old version's object is gone");

        // Withdrawn.
        let (s, answer) = send(with(&[("action", "D")]), key.clone()).await;
        assert_eq!(
            (s, answer["action"].as_str()),
            (200, Some("deleted")),
            "{answer}"
        );
        assert_eq!(
            t.get_as(&asha, &format!("/locker/{}", doc.id)).await.status,
            404
        );
        assert!(objects(&t).is_empty());
    }
}

/// The test issuer (`ekdwar dev test-issuer`), a test double of an education board.
pub struct TestIssuer {
    _child: tokio::process::Child,
    pub url: String,
    api_key: String,
    seed: [u8; 32],
    _dir: tempfile::TempDir,
}

impl TestIssuer {
    /// Starts it with one marksheet of "Test Citizen" (the tests' accounts' name), roll number
    /// 2614578, born 12 April 2008.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records.toml");
        std::fs::write(
            &records,
            r#"
[[records]]
doc_type = "HSCER"
roll_number = "2614578"
name = "Test Citizen"
birth_date = "2008-04-12"
doc_id = "HSC2026T3ST0001"
title = "Class XII marksheet 2026"
lines = ["Central Board of Secondary Education", "Class XII 2026", "Test Citizen", "Result: PASS"]
"#,
        )
        .unwrap();
        let api_key = crate::support::random_hex();
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        let (child, url) = crate::support::dev_process(
            &["test-issuer", "--records", records.to_str().unwrap()],
            &[
                ("EKDWAR_TEST_ISSUER_API_KEY", &api_key),
                ("EKDWAR_TEST_ISSUER_SEED", &hex::encode(seed)),
            ],
        )
        .await;
        Self {
            _child: child,
            url,
            api_key,
            seed,
            _dir: dir,
        }
    }

    pub fn config(&self) -> ekdwar_app::config::IssuerConfig {
        ekdwar_app::config::IssuerConfig {
            id: "in.gov.cbse".into(),
            name: "Central Board of Secondary Education".into(),
            client_id: "cbse".into(),
            api_key: ekdwar_app::config::Secret::new(self.api_key.clone()),
            public_key: ekdwar_testissuer::public_key_pem(&self.seed),
            doc_types: vec!["HSCER".into()],
            pull_url: Some(format!("{}/pull-uri", self.url)),
        }
    }

    pub async fn mode(&self, mode: &str) {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let r = reqwest::Client::new()
            .post(format!("{}/control/mode", self.url))
            .body(format!("mode={mode}"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "mode {mode}");
    }
}

async fn ask(
    t: &TestApp,
    client: &reqwest::Client,
    number: &str,
    born: (&str, &str, &str),
) -> Page {
    let form = t.get_as(client, "/locker/pull").await;
    t.post_with(
        client,
        &form,
        "/locker/pull",
        &[
            ("document", "in.gov.cbse/HSCER"),
            ("number", number),
            ("birth_date[day]", born.0),
            ("birth_date[month]", born.1),
            ("birth_date[year]", born.2),
        ],
    )
    .await
}

#[tokio::test]
async fn a_citizen_fetches_a_marksheet_from_its_issuer() {
    let issuer = TestIssuer::start().await;
    for backend in backends() {
        issuer.mode("normal").await;
        let config = issuer.config();
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_user("ravi.m", PASSWORD)
            .with_config(move |c| {
                c.locker.issuers = vec![config];
                c.locker.pull_timeout_ms = 700;
            })
            .start()
            .await;
        let asha = t.logged_in("asha.k").await;
        let form = t.get_as(&asha, "/locker/pull").await;
        assert!(
            form.has("Class XII marksheet — Central Board of Secondary Education")
                && form.has("the document of Test Citizen"),
            "{}",
            form.text()
        );
        let born = ("12", "4", "2008");

        // Wrong number, wrong date: the issuer has nothing; a date that is none.
        for (number, date, expected) in [
            ("2614599", born, "no such document"),
            ("2614578", ("13", "4", "2008"), "no such document"),
            ("2614578", ("31", "2", "2008"), "date"),
            ("", born, "Type the roll or registration number"),
        ] {
            let page = ask(&t, &asha, number, date).await;
            assert_eq!(page.status, 422, "{number}: {}", page.text());
            assert!(page.has(expected), "{expected}: {}", page.text());
        }

        // The issuer's faults: nothing is kept, and the person is told what to do.
        for mode in [
            "pending",
            "name-mismatch",
            "bad-hmac",
            "stale-ts",
            "unresponsive",
        ] {
            issuer.mode(mode).await;
            let page = ask(&t, &asha, "2614578", born).await;
            let expected = if mode == "pending" {
                "still looking for this document"
            } else {
                "did not answer, or answered what could not be checked"
            };
            assert!(page.has(expected), "{backend} {mode}: {}", page.text());
        }
        assert!(objects(&t).is_empty(), "nothing kept from a fault");
        issuer.mode("normal").await;

        // Found: in her locker, signed by the board, told.
        let got = ask(&t, &asha, "2614578", born).await;
        assert!(got.has("The document is in your locker"), "{}", got.text());
        assert!(
            got.has("in.gov.cbse-HSCER-HSC2026T3ST0001") && got.has("Class XII marksheet 2026"),
            "{}",
            got.text()
        );
        let id = got.path().rsplit('/').next().unwrap().to_string();
        let file = asha
            .get(t.url(&format!("/locker/{id}/file")))
            .send()
            .await
            .unwrap();
        assert!(file.bytes().await.unwrap().starts_with(b"%PDF-1.4"));
        // Asked again: the same document, not a second copy.
        let again = ask(&t, &asha, "2614578", born).await;
        assert_eq!(again.path(), got.path());
        assert_eq!(objects(&t).len(), 1);

        // Another person with the same name and date of birth does not get her document.
        let ravi = t.logged_in("ravi.m").await;
        let theirs = ask(&t, &ravi, "2614578", born).await;
        assert!(theirs.has("no such document"), "{}", theirs.text());
        assert!(
            !t.get_as(&ravi, "/locker")
                .await
                .has("Class XII marksheet 2026")
        );
    }
}

/// The shared link a document's page shows after one was made.
fn link_in(page: &Page) -> String {
    let at = page
        .body
        .find("id=\"share-link\"")
        .expect("a new link on the page");
    let before = &page.body[..at];
    let href = before.rfind("href=\"").expect("its address") + 6;
    let end = page.body[href..].find('"').unwrap();
    page.body[href..href + end].to_string()
}

#[tokio::test]
async fn a_document_is_shared_by_a_link_that_ends() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_user("ravi.m", PASSWORD)
            .start()
            .await;
        let asha = t.logged_in("asha.k").await;
        let file = pdf(30 * 1024);
        let done = upload(&t, &asha, "Tenancy deed", "", "deed.pdf", file.clone()).await;
        let id = done.path().rsplit('/').next().unwrap().to_string();
        let page = t.get_as(&asha, &format!("/locker/{id}")).await;
        let made = t
            .post_with(
                &asha,
                &page,
                &format!("/locker/{id}/share"),
                &[("valid", "1d"), ("pin", "")],
            )
            .await;
        assert!(made.has("The link is ready"), "{}", made.text());
        assert!(made.body.contains("<svg"), "with its QR code");
        let open_link = link_in(&made);
        assert!(open_link.starts_with(&t.url("/s/")), "{open_link}");

        // Anyone with the link, without an account.
        let stranger = crate::support::browser();
        let shown = Page::read(stranger.get(&open_link).send().await.unwrap())
            .await
            .unwrap();
        assert_eq!(shown.status, 200);
        assert!(
            shown.has("Tenancy deed") && shown.has("Download"),
            "{}",
            shown.text()
        );
        let got = stranger
            .get(format!("{open_link}/file"))
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap().as_ref(), &file[..], "{backend}");

        // With a PIN: asked, a wrong one counted, the right one opens. (A second later, so
        // that it is listed first.)
        t.advance(Duration::from_secs(1));
        let bad = t
            .post_with(
                &asha,
                &page,
                &format!("/locker/{id}/share"),
                &[("valid", "7d"), ("pin", "12")],
            )
            .await;
        assert!(bad.has("A PIN has 4 to 8 digits"), "{}", bad.text());
        let with_pin = t
            .post_with(
                &asha,
                &page,
                &format!("/locker/{id}/share"),
                &[("valid", "7d"), ("pin", "2468")],
            )
            .await;
        let pin_link = link_in(&with_pin);
        let asks = t
            .get_as(&stranger, pin_link.trim_start_matches(&t.url("")))
            .await;
        assert!(
            asks.asks_for("pin") && !asks.has("Download"),
            "{}",
            asks.text()
        );
        let path = pin_link.trim_start_matches(&t.url("")).to_string();
        let wrong = t
            .post_with(&stranger, &asks, &path, &[("pin", "1111")])
            .await;
        assert_eq!(wrong.status, 422);
        assert!(wrong.has("4 tries are left"), "{}", wrong.text());
        let right = t
            .post_with(&stranger, &asks, &path, &[("pin", "2468")])
            .await;
        assert!(right.has("Tenancy deed"), "{}", right.text());
        let csrf = right.field("csrf").unwrap();
        let got = stranger
            .post(format!("{pin_link}/file"))
            .header("origin", t.url(""))
            .form(&[("pin", "2468"), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(got.bytes().await.unwrap().as_ref(), &file[..]);
        let no_pin = stranger
            .get(format!("{pin_link}/file"))
            .send()
            .await
            .unwrap();
        let no_pin = Page::read(no_pin).await.unwrap();
        assert!(no_pin.asks_for("pin"), "the file needs the PIN too");

        // The owner sees every use, and her security log the openings.
        let mine = t.get_as(&asha, &format!("/locker/{id}")).await;
        for seen in [
            "Downloaded the file",
            "Typed a wrong PIN",
            "Opened the page",
            "Working",
        ] {
            assert!(mine.has(seen), "{seen}: {}", mine.text());
        }
        let log = t.get_as(&asha, "/account/security").await;
        assert!(
            log.has("Link to a document made") && log.has("Document opened"),
            "{}",
            log.text()
        );

        // Another person can neither share her document nor revoke her links.
        let ravi = t.logged_in("ravi.m").await;
        let rp = t.get_as(&ravi, "/locker").await;
        let theirs = t
            .post_with(
                &ravi,
                &rp,
                &format!("/locker/{id}/share"),
                &[("valid", "1d")],
            )
            .await;
        assert_eq!(theirs.status, 404, "{}", theirs.text());

        // Revoked: the link no longer works.
        let share_id = {
            let body = &mine.body;
            let at = body.find("/shares/").unwrap() + 8;
            body[at..at + body[at..].find('/').unwrap()].to_string()
        };
        let _ = t
            .post_with(
                &ravi,
                &rp,
                &format!("/locker/{id}/shares/{share_id}/revoke"),
                &[],
            )
            .await;
        let still = stranger.get(&pin_link).send().await.unwrap();
        let still_page = Page::read(still).await.unwrap();
        assert_eq!(still_page.status, 200, "ravi could not revoke it");
        let revoked = t
            .post_with(
                &asha,
                &mine,
                &format!("/locker/{id}/shares/{share_id}/revoke"),
                &[],
            )
            .await;
        assert!(
            revoked.has("The link no longer works"),
            "{}",
            revoked.text()
        );
        let gone = Page::read(stranger.get(&pin_link).send().await.unwrap())
            .await
            .unwrap();
        assert_eq!(gone.status, 404);
        assert!(gone.has("This link does not work"), "{}", gone.text());

        // Five wrong PINs end a link, even for the right PIN after.
        let five = t
            .post_with(
                &asha,
                &page,
                &format!("/locker/{id}/share"),
                &[("valid", "1h"), ("pin", "8642")],
            )
            .await;
        let five_path = link_in(&five).trim_start_matches(&t.url("")).to_string();
        let asks = t.get_as(&stranger, &five_path).await;
        for _ in 0..5 {
            t.post_with(&stranger, &asks, &five_path, &[("pin", "0000")])
                .await;
        }
        let after = t
            .post_with(&stranger, &asks, &five_path, &[("pin", "8642")])
            .await;
        assert_eq!(after.status, 404, "{}", after.text());

        // A day on, the first link has ended.
        t.advance(Duration::from_secs(86_401));
        let ended = Page::read(stranger.get(&open_link).send().await.unwrap())
            .await
            .unwrap();
        assert_eq!(ended.status, 404, "{backend}");
    }
}

#[tokio::test]
async fn documents_are_sealed_again_under_a_new_data_key_and_still_open() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        let asha = t.logged_in("asha.k").await;
        let files: Vec<Vec<u8>> = (1..=3).map(|i| pdf(i * 10_000)).collect();
        for (i, f) in files.iter().enumerate() {
            let done = upload(&t, &asha, &format!("Paper {i}"), "", "p.pdf", f.clone()).await;
            assert_eq!(done.status, 200, "{}", done.text());
        }
        let cli = ekdwar_app::audit::Actor::command_line();
        let rotated = t
            .app
            .assurance
            .rotate_data_keys(2, &cli, &|_| {})
            .await
            .unwrap();
        let (n, by_key) = t
            .app
            .locker
            .reseal_under(&rotated.key_id, 2, &|_| {})
            .await
            .unwrap();
        assert_eq!(n, 3, "{backend}");
        assert_eq!(by_key, vec![(rotated.key_id.clone(), 3)]);
        let owner = t.account("asha.k").await.id;
        for d in t.app.locker.of(&owner).await.unwrap().documents {
            let got = asha
                .get(t.url(&format!("/locker/{}/file", d.id)))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert!(
                files.iter().any(|f| f[..] == got[..]),
                "{backend}: {}",
                d.description
            );
        }
    }
}

/// Six uploads of 300 KB at once against a quota of 1 MB: three fit, the others are refused,
/// and the locker never holds more than the quota. Ten wrong PINs at once end a link once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_uploads_stay_within_the_quota_and_racing_pins_end_a_link() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_config(|c| c.locker.quota_mb = 1)
            .start()
            .await;
        let owner = t.account("asha.k").await.id;
        let results = crate::support::at_once(6, |i| {
            let (app, owner) = (t.app.clone(), owner.clone());
            async move {
                let details = ekdwar_app::locker::UploadDetails {
                    description: ekdwar_domain::locker::Description::parse(&format!("Scan {i}"))
                        .unwrap(),
                    folder: Default::default(),
                    file_name: "s.pdf".into(),
                };
                let body: Vec<Result<bytes::Bytes, String>> =
                    vec![Ok(bytes::Bytes::from(pdf(300 * 1024)))];
                app.locker
                    .upload(
                        &owner,
                        &ekdwar_app::audit::Actor::command_line(),
                        details,
                        futures_util::stream::iter(body),
                    )
                    .await
            }
        })
        .await;
        let kept = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(kept, 3, "{backend}: {results:?}");
        let view = t.app.locker.of(&owner).await.unwrap();
        assert!(view.used <= view.quota, "{backend}");
        assert_eq!(objects(&t).len(), 3, "the refused left no object");

        let id = view.documents[0].id.clone();
        let cli = ekdwar_app::audit::Actor::command_line();
        let link = t
            .app
            .locker
            .share(&owner, &id, Duration::from_secs(3600), Some("2468"), &cli)
            .await
            .unwrap();
        let tries = crate::support::at_once(10, |_| {
            let (app, token) = (t.app.clone(), link.token.clone());
            async move {
                let actor = ekdwar_app::audit::Actor::command_line();
                matches!(
                    app.locker
                        .open_shared(&token, Some("0000"), false, &actor)
                        .await
                        .unwrap(),
                    ekdwar_app::locker::Shared::NeedsPin { .. }
                )
            }
        })
        .await;
        assert!(
            tries.iter().filter(|asked| **asked).count() <= 4,
            "{backend}: {tries:?}"
        );
        let right = t
            .app
            .locker
            .open_shared(&link.token, Some("2468"), false, &cli)
            .await
            .unwrap();
        assert!(
            matches!(right, ekdwar_app::locker::Shared::Gone),
            "{backend}: {right:?}"
        );
    }
}
