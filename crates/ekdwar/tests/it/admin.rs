//! The administrators' account search: phone, e-mail and portal ID exactly, names by their
//! start in any case and script; for administrators only, and audited.

use ekdwar_app::identity::NewUserInput;
use ekdwar_domain::Role;
use ekdwar_domain::password::Password;
use serde_json::Value;

use crate::accounts::PASSWORD;
use crate::support::{TestApp, backends};

async fn add(t: &TestApp, portal_id: &str, first: &str, last: &str, contact: &str, role: Role) {
    let (phone, email) = if contact.contains('@') {
        (None, Some(contact.into()))
    } else {
        (Some(contact.into()), None)
    };
    t.app
        .identity
        .admin_add_user(NewUserInput {
            portal_id: portal_id.into(),
            first_name: first.into(),
            last_name: last.into(),
            phone,
            email,
            password: Password::new(PASSWORD),
            role,
            language: None,
        })
        .await
        .unwrap();
}

/// The portal IDs a search finds, in order.
async fn found(t: &TestApp, client: &reqwest::Client, q: &str) -> Vec<String> {
    let resp = client
        .get(t.url("/admin/api/users"))
        .query(&[("q", q)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{q}");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body = resp.text().await.unwrap();
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{q}: {e}: {body}"));
    assert_eq!(v["more"], false, "{q}");
    v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["portal_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn administrators_find_accounts_by_contact_portal_id_and_the_start_of_a_name() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        add(&t, "site.admin", "Site", "Admin", "9700000001", Role::Admin).await;
        add(&t, "amit.d", "अमित", "Das", "9700000002", Role::Citizen).await;
        add(
            &t,
            "amita.r",
            "Amita",
            "Roy",
            "amita@example.in",
            Role::Citizen,
        )
        .await;
        add(
            &t,
            "sergey",
            "Сергей",
            "Смирнов",
            "9700000004",
            Role::Citizen,
        )
        .await;
        // An administrator's session counts once two-step login is on.
        let login = t.get("/login").await;
        let page = t
            .post(
                &login,
                "/login",
                &[("identifier", "site.admin"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.path(), "/account/two-step", "{backend}");
        crate::two_step::turn_on(&t).await;
        let admin = t.client.clone();
        for (q, expected) in [
            ("amit", vec!["amit.d", "amita.r"]),
            ("AMIT  D", vec!["amit.d"]),
            ("अमित", vec!["amit.d", "amita.r"]),
            ("अमित दा", vec!["amit.d"]),
            ("das", vec!["amit.d"]),
            ("smirn", vec!["sergey"]),
            ("Sergey Smirnov", vec!["sergey"]),
            ("97000 00002", vec!["amit.d"]),
            ("+919700000004", vec!["sergey"]),
            ("Amita@Example.in", vec!["amita.r"]),
            ("AMITA.R", vec!["amita.r"]),
            ("", vec![]),
            ("zz", vec![]),
            ("'; DROP TABLE users; --", vec![]),
        ] {
            assert_eq!(found(&t, &admin, q).await, expected, "{backend}: {q:?}");
        }

        // A changed name is found by the new name, not the old.
        let amit = t.logged_in("amit.d").await;
        let form = t.get_as(&amit, "/account").await;
        let page = t
            .post_with(
                &amit,
                &form,
                "/account/name",
                &[("first_name", "Rohit"), ("last_name", "Das")],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert_eq!(found(&t, &admin, "rohit").await, vec!["amit.d"]);
        assert!(found(&t, &admin, "amit d").await.is_empty());

        // Citizens find no such page; nobody signed in is sent to log in.
        let citizen = t.logged_in("asha.k").await;
        let resp = citizen
            .get(t.url("/admin/api/users?q=amit"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
        let resp = crate::support::browser()
            .get(t.url("/admin/api/users?q=amit"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.url().path(), "/login");

        // Each search an administrator makes is in the security log, with the text.
        let recent = ekdwar_store::audit::recent(&mut t.app.store().conn().await.unwrap(), 50)
            .await
            .unwrap();
        let searches: Vec<_> = recent
            .iter()
            .filter(|e| e.action == ekdwar_domain::audit::AuditAction::UsersSearched)
            .collect();
        assert_eq!(searches.len(), 16, "{backend}");
        assert!(
            searches
                .iter()
                .any(|e| e.detail.as_deref() == Some("\"smirn\": 1")),
            "{searches:?}"
        );
    }
}
