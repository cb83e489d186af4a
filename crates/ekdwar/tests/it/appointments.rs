//! Appointments at service centres, on both databases: finding a centre by PIN code, holding
//! the earliest place, confirming with the challenge and paying through the test gateway (the
//! payment books it; a failed one releases it), the confirmation and its SMS, the rules of
//! rescheduling and cancelling, challan payers booking after the bank, expired holds, the
//! day-before reminder, the per-address limit, and hundreds of bookers racing for places.

use std::time::Duration;

use ekdwar_app::appointments::PincodeRow;
use ekdwar_app::audit::Actor;
use ekdwar_domain::appointments::{CentreFile, Pincode};

use crate::accounts::PASSWORD;
use crate::catalog::import_demo;
use crate::payments::{TestGateway, logged_in, pay, portal_with};
use crate::support::{TestApp, backends};

const CENTRES: &str = include_str!("../../../../centres/demo.toml");

/// Imports the demo's centres and a few PIN codes.
pub async fn with_centres(t: &TestApp) {
    let file: CentreFile = toml::from_str(CENTRES).unwrap();
    let centres = t.app.appointments.check(&file).unwrap();
    t.app
        .appointments
        .import(centres, &Actor::command_line())
        .await
        .unwrap();
    let pin = |code: &str, latitude, longitude| PincodeRow {
        pincode: Pincode::parse(code).unwrap(),
        latitude,
        longitude,
        region: None,
    };
    t.app
        .appointments
        .import_pincodes(&[
            pin("302017", 26.8536, 75.8051),
            pin("342001", 26.2918, 73.0168),
        ])
        .await
        .unwrap();
}

fn today_plus(t: &TestApp, days: i64) -> String {
    t.app
        .applications
        .today()
        .checked_add(jiff::Span::new().days(days))
        .unwrap()
        .to_string()
}

/// Holds a place at `centre` on or after `date` from the booking page; the hold's page.
async fn hold(
    t: &TestApp,
    client: &reqwest::Client,
    id: &ekdwar_domain::ApplicationId,
    centre: &str,
    date: &str,
) -> ekdwar_testkit::Page {
    let path = format!("/applications/{id}/appointment");
    let page = t.get_as(client, &format!("{path}?pincode=302017")).await;
    assert_eq!(page.status, 200, "{}", page.text());
    t.post_with(client, &page, &path, &[("centre", centre), ("date", date)])
        .await
}

/// Books through the pages, paying by card: the appointment's page.
async fn book_paying(
    t: &TestApp,
    gw: &TestGateway,
    client: &reqwest::Client,
    id: &ekdwar_domain::ApplicationId,
    date: &str,
) -> ekdwar_testkit::Page {
    let held = hold(t, client, id, "psk-jaipur", date).await;
    assert_eq!(held.status, 303, "{}", held.text());
    let page = t.get_as(client, held.location().unwrap()).await;
    assert!(page.has("Confirm your appointment"), "{}", page.text());
    let aid = held
        .location()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let to_gateway = t
        .post_with(
            client,
            &page,
            &format!("/appointments/{aid}/confirm"),
            &[("channel", "card")],
        )
        .await;
    assert_eq!(to_gateway.status, 303, "{}", to_gateway.text());
    let back = gw
        .decide(to_gateway.location().unwrap(), "succeeded", "before_return")
        .await;
    let r = t.get_as(client, &back.replace(&t.base, "")).await;
    assert_eq!(r.status, 303);
    let page = t.get_as(client, r.location().unwrap()).await;
    assert!(page.has("Your appointment is booked"), "{}", page.text());
    page
}

/// Booking a place two days ahead landed inside the 3-day rule, and the appointment's page
/// then offered reschedule and cancel forms that were always refused. The hold now says so
/// before it is confirmed; the booked page offers neither and says why; the application's page
/// shows the appointment and what to bring, not "book".
#[tokio::test]
async fn a_booking_inside_the_three_days_is_warned_of_and_offers_no_change_it_would_refuse() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        with_centres(&t).await;
        let held = hold(&t, &client, &id, "psk-jaipur", &today_plus(&t, 2)).await;
        assert_eq!(held.status, 303, "{}", held.text());
        let page = t.get_as(&client, held.location().unwrap()).await;
        assert!(
            page.has("less than 3 days away: once you confirm, the appointment cannot be rescheduled or cancelled"),
            "{}",
            page.text()
        );
        assert!(page.has("Choose a later date instead"));
        let aid = held
            .location()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let to_gateway = t
            .post_with(
                &client,
                &page,
                &format!("/appointments/{aid}/confirm"),
                &[("channel", "card")],
            )
            .await;
        let back = gw
            .decide(to_gateway.location().unwrap(), "succeeded", "before_return")
            .await;
        let r = t.get_as(&client, &back.replace(&t.base, "")).await;
        let page = t.get_as(&client, r.location().unwrap()).await;
        assert!(page.has("Your appointment is booked"), "{}", page.text());
        assert!(
            !page.body.contains("/reschedule\""),
            "a reschedule form is offered"
        );
        assert!(
            !page.body.contains(&format!("/appointments/{aid}/cancel")),
            "a cancel form"
        );
        assert!(
            page.has("too close to cancel or move it"),
            "{}",
            page.text()
        );
        let application = t.get_as(&client, &format!("/applications/{id}")).await;
        let text = application.text();
        assert!(
            text.contains("Your appointment") && text.contains("Passport Seva Kendra, Jaipur"),
            "{text}"
        );
        assert!(text.contains("Bring the originals of"), "{text}");
        assert!(!text.contains("Book an appointment"), "{text}");
        // Add to the calendar: an .ics for its owner, not found for anyone else.
        let ics = client
            .get(t.url(&format!("/appointments/{aid}/calendar.ics")))
            .send()
            .await
            .unwrap();
        assert_eq!(ics.status(), 200);
        assert!(
            ics.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/calendar")
        );
        let ics = ics.text().await.unwrap();
        for expected in [
            "BEGIN:VEVENT",
            "DTSTART:",
            "LOCATION:Passport Seva Kendra\\, Jaipur",
            "GEO:",
            "END:VCALENDAR\r\n",
        ] {
            assert!(ics.contains(expected), "{expected} not in {ics}");
        }
        t.app
            .identity
            .admin_add_user(ekdwar_app::identity::NewUserInput {
                portal_id: "someone.else".into(),
                first_name: "Some".into(),
                last_name: "One".into(),
                phone: Some("9812300099".into()),
                email: None,
                password: ekdwar_domain::password::Password::new(PASSWORD.to_string()),
                role: ekdwar_domain::Role::Citizen,
                language: None,
            })
            .await
            .unwrap();
        let other = t.logged_in("someone.else").await;
        let theirs = t
            .get_as(&other, &format!("/appointments/{aid}/calendar.ics"))
            .await;
        assert_eq!(theirs.status, 404);
        // The appointment letter: a PDF with what to bring and how to get there, whose QR
        // code is the number the centre's desk checks in; the owner's only.
        let letter = client
            .get(t.url(&format!("/appointments/{aid}/letter.pdf")))
            .send()
            .await
            .unwrap();
        assert_eq!(letter.status(), 200);
        assert_eq!(letter.headers()["content-type"], "application/pdf");
        let (text, qr) = crate::receipts::read_receipt(&letter.bytes().await.unwrap());
        for expected in [
            "Appointment letter",
            "Passport Seva Kendra, Jaipur",
            "Bring the originals of",
            "openstreetmap.org",
            "Come 15 minutes before",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
        let number = ekdwar_domain::appointments::AppointmentNo::parse(&qr).expect("a number");
        assert!(text.contains(&number.to_string()), "{number} not in {text}");
        let theirs = t
            .get_as(&other, &format!("/appointments/{aid}/letter.pdf"))
            .await;
        assert_eq!(theirs.status, 404);
        assert!(
            page.body
                .contains(&format!("/appointments/{aid}/calendar.ics"))
        );
        assert!(page.body.contains("openstreetmap.org/?mlat="));
    }
}

#[tokio::test]
async fn pay_book_the_earliest_place_get_the_sms_and_reschedule_twice() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        with_centres(&t).await;
        // Before anything is typed: near the PIN code the application gave, already filled in.
        let page = t
            .get_as(&client, &format!("/applications/{id}/appointment"))
            .await;
        assert_eq!(page.field("pincode").as_deref(), Some("302017"));
        let text = page.text();
        let jaipur = text.find("Passport Seva Kendra, Jaipur").unwrap();
        let jodhpur = text
            .find("Post Office Passport Seva Kendra, Jodhpur")
            .unwrap();
        assert!(jaipur < jodhpur, "{text}");
        // Nearest first, with the earliest free date; the e-Mitra kiosk (no passports) absent.
        let page = t
            .get_as(
                &client,
                &format!("/applications/{id}/appointment?pincode=302017"),
            )
            .await;
        let text = page.text();
        let jaipur = text.find("Passport Seva Kendra, Jaipur").unwrap();
        let jodhpur = text
            .find("Post Office Passport Seva Kendra, Jodhpur")
            .unwrap();
        assert!(jaipur < jodhpur, "{text}");
        assert!(text.contains("earliest free date"), "{text}");
        assert!(!text.contains("e-Mitra"));

        let page = book_paying(&t, &gw, &client, &id, &today_plus(&t, 5)).await;
        let number = page.text();
        let account = t.account("asha.k").await;
        let sms = t.last_message(account.phone.as_ref().unwrap()).await;
        let arn = t
            .app
            .applications
            .get(&account.id, &id)
            .await
            .unwrap()
            .arn
            .unwrap();
        for expected in [
            "Passport Seva Kendra, Jaipur",
            // An SMS stays in the 7-bit alphabet: the rupee sign is written "Rs.".
            "Rs.1,500",
            &arn.to_string(),
            "Test Citizen",
            "Fresh passport",
            "proof",
        ] {
            assert!(sms.contains(expected), "{expected} not in {sms}");
        }
        assert!(number.contains("Appointment number"));
        // The slot's place is taken; the order is paid.
        let booked = t
            .app
            .appointments
            .of_application(&account.id, &id)
            .await
            .unwrap();
        assert_eq!(booked.len(), 1);
        assert!(booked[0].is_booked());
        assert!(sms.contains(&booked[0].number.to_string()), "{sms}");

        // Rescheduled twice; the third time is refused with the reason.
        let mut current = booked[0].id.clone();
        for days in [10, 15] {
            let page = t.get_as(&client, &format!("/appointments/{current}")).await;
            let r = t
                .post_with(
                    &client,
                    &page,
                    &format!("/appointments/{current}/reschedule"),
                    &[("centre", "psk-jaipur"), ("date", &today_plus(&t, days))],
                )
                .await;
            assert_eq!(r.status, 303, "{}", r.text());
            // The new number replaces the old one, and the page says so.
            let moved_page = t.get_as(&client, r.location().unwrap()).await;
            assert!(
                moved_page.has("the old number no longer works"),
                "{}",
                moved_page.text()
            );
            let next = r
                .location()
                .unwrap()
                .split('?')
                .next()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            assert_ne!(next, current);
            current = next;
            let moved = t.last_message(account.phone.as_ref().unwrap()).await;
            assert!(moved.contains("proof"), "{moved}");
        }
        let page = t.get_as(&client, &format!("/appointments/{current}")).await;
        let refused = t
            .post_with(
                &client,
                &page,
                &format!("/appointments/{current}/reschedule"),
                &[("centre", "psk-jaipur"), ("date", &today_plus(&t, 20))],
            )
            .await;
        assert_eq!(refused.status, 422);
        assert!(
            refused.has("You have rescheduled twice"),
            "{}",
            refused.text()
        );
        // Still one active appointment, with the count carried.
        let all = t
            .app
            .appointments
            .of_application(&account.id, &id)
            .await
            .unwrap();
        let active: Vec<_> = all.iter().filter(|a| a.is_booked()).collect();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].reschedules, 2);
    }
}

#[tokio::test]
async fn a_failed_payment_releases_the_hold_and_an_abandoned_hold_expires() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        with_centres(&t).await;
        let account = t.account("asha.k").await;
        let held = hold(&t, &client, &id, "psk-jaipur", &today_plus(&t, 5)).await;
        let aid = held
            .location()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let page = t.get_as(&client, &format!("/appointments/{aid}")).await;
        let r = t
            .post_with(
                &client,
                &page,
                &format!("/appointments/{aid}/confirm"),
                &[("channel", "card")],
            )
            .await;
        let back = gw
            .decide(r.location().unwrap(), "failed", "before_return")
            .await;
        t.get_as(&client, &back.replace(&t.base, "")).await;
        let a = t.app.appointments.get(&account.id, &aid).await.unwrap();
        assert_eq!(a.state, "released");

        // Held, then left: the jobs runner releases it after 15 minutes, and confirming late
        // says what happened.
        let held = hold(&t, &client, &id, "psk-jaipur", &today_plus(&t, 5)).await;
        let aid = held
            .location()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let page = t.get_as(&client, &format!("/appointments/{aid}")).await;
        t.advance(Duration::from_secs(16 * 60));
        t.app.appointments.release_expired().await.unwrap();
        assert_eq!(
            t.app
                .appointments
                .get(&account.id, &aid)
                .await
                .unwrap()
                .state,
            "released"
        );
        let late = t
            .post_with(
                &client,
                &page,
                &format!("/appointments/{aid}/confirm"),
                &[("channel", "card")],
            )
            .await;
        assert!(late.has("15 minutes"), "{}", late.text());
    }
}

#[tokio::test]
async fn challan_payers_book_once_the_bank_has_confirmed() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        with_centres(&t).await;
        let (id, _) = crate::eforms::submitted_fresh(&t, "asha.k").await;
        let client = logged_in(&t, "asha.k").await;
        let refused = hold(&t, &client, &id, "psk-jaipur", &today_plus(&t, 5)).await;
        assert_eq!(refused.status, 422);
        assert!(refused.has("Pay the fee first"), "{}", refused.text());
        pay(&t, &client, &id, "challan").await;
        let p = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        let challan = p.attempts[0].clone();
        let paid_at = jiff::Timestamp::from_millisecond(
            challan
                .created_at
                .plus(Duration::from_secs(4 * 3600))
                .millis(),
        )
        .unwrap();
        let line = ekdwar_domain::payments::StatementLine::parse(&[
            challan.reference.as_deref().unwrap(),
            "1500.00",
            "INR",
            &paid_at.to_string(),
            "SBI/1",
        ]);
        t.app
            .payments
            .reconcile(vec![(1, line)], &Actor::command_line(), |_| {})
            .await
            .unwrap();
        // Paid: the hold is confirmed with the challenge alone.
        let held = hold(&t, &client, &id, "psk-jaipur", &today_plus(&t, 5)).await;
        assert_eq!(held.status, 303, "{}", held.text());
        let page = t.get_as(&client, held.location().unwrap()).await;
        assert!(!page.has("Pay the fee of"));
        let aid = held
            .location()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        // A wrong answer to the challenge is refused.
        let mut form = vec![("csrf", page.field("csrf").unwrap())];
        form.push(("challenge", page.field("challenge").unwrap()));
        form.push(("captcha_text", "999".into()));
        let wrong = client
            .post(t.url(&format!("/appointments/{aid}/confirm")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 422);
        let page = t.get_as(&client, &format!("/appointments/{aid}")).await;
        let booked = t
            .post_with(&client, &page, &format!("/appointments/{aid}/confirm"), &[])
            .await;
        assert_eq!(booked.status, 303, "{}", booked.text());
        let page = t.get_as(&client, booked.location().unwrap()).await;
        assert!(page.has("Appointment number"), "{}", page.text());
    }
}

#[tokio::test]
async fn cancel_up_to_three_days_before_and_remind_the_day_before() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        with_centres(&t).await;
        let applicants = t
            .app
            .seed_applicants("booker", 2, "passport-fresh", r#"{"scheme":"normal"}"#)
            .await
            .unwrap();
        let actor = Actor::command_line();
        let lang = ekdwar_app::i18n::Lang::english();
        let (a1, id1) = &applicants[0];
        let day = t
            .app
            .applications
            .today()
            .checked_add(jiff::Span::new().days(5))
            .unwrap();
        let held = t
            .app
            .appointments
            .hold(a1, id1, "psk-jaipur", day, &actor)
            .await
            .unwrap();
        let answer = crate::support::solved(&t);
        t.app
            .appointments
            .confirm(a1, &held.id, &answer, None, &lang, &actor)
            .await
            .unwrap();
        let booked = t.app.appointments.get(&a1.id, &held.id).await.unwrap();
        assert!(booked.is_booked());
        // Three days before at the centre: too late to cancel.
        let before = booked.day.checked_sub(jiff::Span::new().days(2)).unwrap();
        let now = t.app.applications.today();
        t.advance(Duration::from_secs(
            ((before - now).get_days().max(0) as u64) * 86_400,
        ));
        let e = t
            .app
            .appointments
            .cancel(a1, &held.id, &lang, &actor)
            .await
            .unwrap_err();
        assert!(format!("{e:?}").contains("booking-too-close"), "{e:?}");
        // The day before, the reminder goes once (seeded accounts have no contact: the
        // reminder is still marked as sent).
        let mut reminded = 0;
        for _ in 0..8 {
            t.advance(Duration::from_secs(6 * 3600));
            reminded += t.app.appointments.remind().await.unwrap();
        }
        assert_eq!(reminded, 1);

        // The other cancels in time: the place goes back.
        let (a2, id2) = &applicants[1];
        let later = t
            .app
            .applications
            .today()
            .checked_add(jiff::Span::new().days(10))
            .unwrap();
        let held = t
            .app
            .appointments
            .hold(a2, id2, "psk-jaipur", later, &actor)
            .await
            .unwrap();
        let answer = crate::support::solved(&t);
        t.app
            .appointments
            .confirm(a2, &held.id, &answer, None, &lang, &actor)
            .await
            .unwrap();
        t.app
            .appointments
            .cancel(a2, &held.id, &lang, &actor)
            .await
            .unwrap();
        assert_eq!(
            t.app
                .appointments
                .get(&a2.id, &held.id)
                .await
                .unwrap()
                .state,
            "cancelled"
        );
    }
}

#[tokio::test]
async fn one_address_holds_at_most_ten_times_an_hour() {
    let gw = TestGateway::start().await;
    let (t, client, id) = portal_with("sqlite", &gw).await;
    with_centres(&t).await;
    for _ in 0..10 {
        let held = hold(&t, &client, &id, "psk-jaipur", &today_plus(&t, 5)).await;
        assert_eq!(held.status, 303, "{}", held.text());
        let aid = held
            .location()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string();
        let page = t.get_as(&client, &format!("/appointments/{aid}")).await;
        let r = t
            .post_with(&client, &page, &format!("/appointments/{aid}/cancel"), &[])
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
    }
    let refused = hold(&t, &client, &id, "psk-jaipur", &today_plus(&t, 5)).await;
    assert_eq!(refused.status, 429, "{}", refused.text());
}

/// Hundreds of bookers at once for fewer places: exactly as many holds as places, no slot past
/// its capacity.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_bookers_never_overbook() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        import_demo(&t).await;
        let race = r#"
[[centres]]
code = "race"
kind = "passport_seva_kendra"
name = { en = "Race centre" }
address = { en = "Nowhere" }
latitude = 26.9
longitude = 75.8
region = "IN-RJ"
time_zone = "Asia/Kolkata"
services = ["passport-fresh"]
hours = [{ days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], open = "23:00", close = "23:30" }]
counters = 1
slot_minutes = 30
quotas = { normal = 40 }
book_ahead_days = 2
release_at = "00:00"
"#;
        let file: CentreFile = toml::from_str(race).unwrap();
        let centres = t.app.appointments.check(&file).unwrap();
        t.app
            .appointments
            .import(centres, &Actor::command_line())
            .await
            .unwrap();
        let bookers = t
            .app
            .seed_applicants("racer", 300, "passport-fresh", r#"{"scheme":"normal"}"#)
            .await
            .unwrap();
        let today = t.app.applications.today();
        // The places on offer now: the slots released and still ahead.
        let (from, to) = (
            t.app.clock().now(),
            t.app.clock().now().plus(Duration::from_secs(5 * 86_400)),
        );
        // Released: up to two days ahead (the day after is made but not yet released).
        let last = today
            .checked_add(jiff::Span::new().days(2))
            .unwrap()
            .to_string();
        let offered: i64 = {
            let mut c = t.app.store().read().await.unwrap();
            ekdwar_store::appointments::free_slots(&mut c, "race", "normal", from, to, 100)
                .await
                .unwrap()
                .iter()
                .filter(|s| s.day <= last)
                .map(|s| s.capacity - s.taken)
                .sum()
        };
        assert!(offered >= 80, "{offered}");
        let bookers = std::sync::Arc::new(bookers);
        let results = crate::support::at_once(bookers.len(), |i| {
            let app = t.app.clone();
            let bookers = bookers.clone();
            async move {
                let (account, id) = &bookers[i];
                app.appointments
                    .hold(account, id, "race", today, &Actor::command_line())
                    .await
                    .is_ok()
            }
        })
        .await;
        let held = results.iter().filter(|ok| **ok).count() as i64;
        assert_eq!(held, offered, "{backend}");
        let mut c = t.app.store().read().await.unwrap();
        for s in ekdwar_store::appointments::free_slots(&mut c, "race", "normal", from, to, 100)
            .await
            .unwrap()
        {
            assert!(s.taken <= s.capacity);
        }
    }
}

/// A staff member working at the Jaipur PSK.
pub async fn operator(t: &TestApp, portal_id: &str) -> ekdwar_app::views::AccountView {
    let op = t
        .app
        .identity
        .admin_add_user(ekdwar_app::identity::NewUserInput {
            portal_id: portal_id.into(),
            first_name: "Meena".into(),
            last_name: "Operator".into(),
            phone: Some("9812300077".into()),
            email: None,
            password: ekdwar_domain::password::Password::new(PASSWORD.to_string()),
            role: ekdwar_domain::Role::Officer,
            language: None,
        })
        .await
        .unwrap();
    t.app
        .appointments
        .assign_staff(&op.id, "psk-jaipur", &Actor::command_line())
        .await
        .unwrap();
    op
}

/// Books tomorrow's first place at the Jaipur PSK for each applicant (their fee is paid or
/// none is due); the appointments.
pub async fn booked_tomorrow(
    t: &TestApp,
    who: &[(ekdwar_app::views::AccountView, ekdwar_domain::ApplicationId)],
) -> Vec<ekdwar_app::appointments::AppointmentView> {
    let lang = ekdwar_app::i18n::Lang::english();
    let actor = Actor::command_line();
    let tomorrow = t.app.applications.today().tomorrow().unwrap();
    let mut out = Vec::new();
    for (account, id) in who {
        let held = t
            .app
            .appointments
            .hold(account, id, "psk-jaipur", tomorrow, &actor)
            .await
            .unwrap();
        t.app
            .appointments
            .confirm(
                account,
                &held.id,
                &crate::support::solved(t),
                None,
                &lang,
                &actor,
            )
            .await
            .unwrap();
        out.push(t.app.appointments.get(&account.id, &held.id).await.unwrap());
    }
    out
}

/// Moves the clock to half an hour before `at`.
pub fn just_before(t: &TestApp, at: ekdwar_domain::Timestamp) {
    let now = t.app.clock().now();
    t.advance(at.minus(Duration::from_secs(1800)).since(now));
}

/// Where the centre takes walk-ins (the e-Mitra kiosk), its operator gives a person without
/// an appointment a token for a service it handles; the token waits and is called like any
/// other, and the day counts it. A service the centre does not handle is refused.
#[tokio::test]
async fn a_walk_in_gets_a_token_where_the_centre_takes_them() {
    for backend in backends() {
        let t = TestApp::start(backend).await;
        import_demo(&t).await;
        with_centres(&t).await;
        let actor = Actor::command_line();
        let kiosk = operator_at(&t, "kiosk.op", 61, "emitra-malviya-nagar").await;
        let refused = t
            .app
            .appointments
            .walk_in(&kiosk, "passport-fresh", &actor)
            .await
            .unwrap_err();
        assert!(
            format!("{refused:?}").contains("centre-not-handled"),
            "{refused:?}"
        );
        let token = t
            .app
            .appointments
            .walk_in(&kiosk, "rj-income-certificate", &actor)
            .await
            .unwrap();
        assert_eq!(
            (token.label.as_str(), token.state.as_str()),
            ("W-001", "waiting")
        );
        let (_, day) = t.app.appointments.day(&kiosk, &actor).await.unwrap();
        assert_eq!((day.walk_ins, day.waiting), (1, 1), "{backend}");
        let called = t
            .app
            .appointments
            .call_next(&kiosk, "2", &actor)
            .await
            .unwrap()
            .expect("the walk-in is called");
        assert_eq!(called.label, "W-001");
        let (_, day) = t.app.appointments.day(&kiosk, &actor).await.unwrap();
        assert_eq!((day.waiting, day.my_counter.as_deref()), (0, Some("2")));
    }
}

/// An operator who works at `centre` only.
pub async fn operator_at(
    t: &TestApp,
    portal_id: &str,
    n: u32,
    centre: &str,
) -> ekdwar_domain::UserId {
    let op = crate::officers::officer(t, portal_id, n, "centre-operator", "mea", None, None).await;
    t.app
        .appointments
        .assign_staff(&op, centre, &Actor::command_line())
        .await
        .unwrap();
    op
}

#[tokio::test]
async fn at_the_centre_check_in_call_to_a_counter_and_show_it_on_the_display() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        with_centres(&t).await;
        let people = t
            .app
            .seed_applicants("visitor", 2, "passport-fresh", r#"{"scheme":"normal"}"#)
            .await
            .unwrap();
        let booked = booked_tomorrow(&t, &people).await;
        let op = operator(&t, "meena.op").await;
        let actor = Actor::command_line();
        // Not on the day yet.
        let e = t
            .app
            .appointments
            .check_in(&op.id, booked[0].number.as_str(), &actor)
            .await
            .unwrap_err();
        // Tomorrow is inside the days before which nothing moves: the advice is to come on
        // the day, not to reschedule.
        assert!(format!("{e:?}").contains("centre-not-today-fixed"), "{e:?}");
        just_before(&t, booked[0].starts_at);
        // The day's list names the people expected (and that view is recorded).
        let (_, day) = t.app.appointments.day(&op.id, &actor).await.unwrap();
        let mut names: Vec<String> = day.expected.iter().map(|(_, n)| n.clone()).collect();
        names.sort();
        let mut booked_by: Vec<String> = people.iter().map(|(a, _)| a.full_name()).collect();
        booked_by.sort();
        assert_eq!(names, booked_by);
        assert_eq!(day.my_counter, None);
        {
            use sqlx::Row;
            let mut conn = t.app.store().read().await.unwrap();
            let views: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'centre-list-viewed'",
            )
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get("n");
            assert_eq!(views, 1, "{backend}");
        }
        // By the number as typed, and by the QR code's text.
        let first = t
            .app
            .appointments
            .check_in(&op.id, &booked[0].number.to_string().to_lowercase(), &actor)
            .await
            .unwrap();
        assert_eq!(first.label, "A-001");
        let again = t
            .app
            .appointments
            .check_in(&op.id, booked[0].number.as_str(), &actor)
            .await
            .unwrap_err();
        assert!(format!("{again:?}").contains("centre-not-booked"));
        let second = t
            .app
            .appointments
            .check_in(
                &op.id,
                &format!("https://portal/appointments/{}", booked[1].number.as_str()),
                &actor,
            )
            .await
            .unwrap();
        assert_eq!(second.label, "A-002");
        for bad in ["AP2600000000", "hello"] {
            let e = t
                .app
                .appointments
                .check_in(&op.id, bad, &actor)
                .await
                .unwrap_err();
            assert!(format!("{e:?}").contains("centre-number"), "{bad}: {e:?}");
        }
        // The Jaipur PSK takes no walk-ins.
        let e = t
            .app
            .appointments
            .walk_in(&op.id, "passport-fresh", &actor)
            .await
            .unwrap_err();
        assert!(format!("{e:?}").contains("centre-cannot"));
        // Two counters call at once: each gets its own token, then nobody waits.
        let (a, b) = tokio::join!(
            t.app.appointments.call_next(&op.id, "3", &actor),
            t.app.appointments.call_next(&op.id, "4", &actor)
        );
        let (a, b) = (a.unwrap().unwrap(), b.unwrap().unwrap());
        assert_ne!(a.label, b.label);
        assert!(
            t.app
                .appointments
                .call_next(&op.id, "3", &actor)
                .await
                .unwrap()
                .is_none()
        );
        // The hall's display, public, with and without its script.
        let page = t.get("/centres/psk-jaipur/display").await;
        assert_eq!(page.status, 200);
        assert!(page.has("A-001") && page.has("A-002"), "{}", page.text());
        assert!(page.has("Refresh"));
        assert!(!page.body.contains("http-equiv"), "no meta refresh");
        // A public screen: in the centre's languages (Hindi and English in Jaipur), with no
        // header, navigation or account, even opened in a staff member's logged-in browser.
        assert!(
            page.has("अब सेवा दी जा रही है") && page.has("Now serving"),
            "{}",
            page.text()
        );
        let someone = t.logged_in("asha.k").await;
        let page = t.get_as(&someone, "/centres/psk-jaipur/display").await;
        for absent in ["/logout", "asha.k", "<nav", "/account"] {
            assert!(
                !page.body.contains(absent),
                "{absent} on the hall's display"
            );
        }
        let json: serde_json::Value = reqwest::get(t.url("/centres/psk-jaipur/display.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(json["called"].as_array().unwrap().len(), 2);
        assert_eq!(t.get("/centres/nowhere/display").await.status, 404);
        // Served, and not come: a missed appointment cannot be rescheduled.
        let first_token = if a.label == "A-001" { &a } else { &b };
        let second_token = if a.label == "A-001" { &b } else { &a };
        t.app
            .appointments
            .finish(&op.id, &first_token.id, true, &actor)
            .await
            .unwrap();
        t.app
            .appointments
            .finish(&op.id, &second_token.id, false, &actor)
            .await
            .unwrap();
        let (_, day) = t.app.appointments.day(&op.id, &actor).await.unwrap();
        // The next call offers the counter this operator called to last.
        let last = [&a, &b]
            .into_iter()
            .max_by_key(|t| (t.called_at, t.label.clone()))
            .unwrap();
        assert_eq!(day.my_counter, last.counter);
        assert_eq!(
            (
                day.booked,
                day.checked_in,
                day.served,
                day.no_show,
                day.waiting
            ),
            (2, 1, 1, 1, 0)
        );
        let (account, _) = &people[1];
        let e = t
            .app
            .appointments
            .reschedule(
                account,
                &booked[1].id,
                "psk-jaipur",
                t.app
                    .applications
                    .today()
                    .checked_add(jiff::Span::new().days(10))
                    .unwrap(),
                &ekdwar_app::i18n::Lang::english(),
                &actor,
            )
            .await
            .unwrap_err();
        assert!(format!("{e:?}").contains("booking-after-no-show"), "{e:?}");
        // Someone without a centre has no console.
        let citizen = &people[0].0;
        assert!(t.app.appointments.day(&citizen.id, &actor).await.is_err());
    }
}

#[tokio::test]
async fn the_tatkaal_balance_is_taken_at_the_centre_with_a_receipt() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let config = gw.config();
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_config(move |c| c.payments.gateway = Some(config))
            .start()
            .await;
        import_demo(&t).await;
        with_centres(&t).await;
        let (id, _) = crate::eforms::submitted_fresh_scheme(&t, "asha.k", "tatkaal").await;
        let client = logged_in(&t, "asha.k").await;
        let next = pay(&t, &client, &id, "card")
            .await
            .location()
            .unwrap()
            .to_string();
        gw.decide(&next, "succeeded", "before_return").await;
        let account = t.account("asha.k").await;
        let booked = booked_tomorrow(&t, &[(account.clone(), id.clone())]).await;
        let op = operator(&t, "meena.op").await;
        let actor = Actor::command_line();
        just_before(&t, booked[0].starts_at);
        let e = t
            .app
            .appointments
            .collect_balance(&op.id, &booked[0].id, &actor)
            .await
            .unwrap_err();
        assert!(format!("{e:?}").contains("centre-not-checked-in"));
        t.app
            .appointments
            .check_in(&op.id, booked[0].number.as_str(), &actor)
            .await
            .unwrap();
        let paid = t
            .app
            .appointments
            .collect_balance(&op.id, &booked[0].id, &actor)
            .await
            .unwrap();
        assert_eq!(paid.to_string(), "2000.00 INR");
        let e = t
            .app
            .appointments
            .collect_balance(&op.id, &booked[0].id, &actor)
            .await
            .unwrap_err();
        assert!(format!("{e:?}").contains("centre-already-paid"));
        let p = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        assert!(p.view.centre_paid.is_some());
        // A day later, the citizen logs in again and sees the balance paid.
        let client = logged_in(&t, "asha.k").await;
        let page = t
            .get_as(&client, &format!("/applications/{id}/payment"))
            .await;
        assert!(page.has("₹2,000 — paid"), "{}", page.text());
        let pdf = client
            .get(t.url(&format!("/applications/{id}/payment/centre-receipt.pdf")))
            .send()
            .await
            .unwrap();
        assert_eq!(pdf.status(), 200);
        let text = crate::receipts::pdf_text(&pdf.bytes().await.unwrap());
        assert!(
            text.contains("₹2,000") && text.contains("At the centre"),
            "{text}"
        );
    }
}

/// A service that refunds its fee on cancelling (passport's does not): the cancellation sends the
/// money back the way it came. And the centres of one region only.
#[tokio::test]
async fn a_service_that_refunds_on_cancelling_refunds_and_centres_filter_by_region() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let config = gw.config();
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .with_config(move |c| c.payments.gateway = Some(config))
            .start()
            .await;
        let mut files = crate::catalog::demo_files();
        let pcc = files
            .iter()
            .find(|f| f.name.ends_with("police-clearance.toml"))
            .unwrap()
            .text
            .replace("code = \"police-clearance\"", "code = \"pcc-refunded\"")
            .replace(
                "quota = \"pcc\"",
                "quota = \"pcc\"\nrefund_on_cancel = true",
            );
        files.push(ekdwar_app::catalog::SourceFile {
            name: "passport/pcc-refunded.toml".into(),
            text: pcc,
        });
        let bundle = t.app.catalog.check(&files).unwrap();
        t.app
            .catalog
            .import(&bundle, &Actor::command_line())
            .await
            .unwrap();
        let text = CENTRES.replace(
            "services = [\"passport-fresh\", \"passport-reissue\", \"police-clearance\"]",
            "services = [\"passport-fresh\", \"passport-reissue\", \"police-clearance\", \"pcc-refunded\"]",
        );
        let file: CentreFile = toml::from_str(&text).unwrap();
        let centres = t.app.appointments.check(&file).unwrap();
        t.app
            .appointments
            .import(centres, &Actor::command_line())
            .await
            .unwrap();
        let (id, _) = crate::applications::submitted_pcc_of(&t, "asha.k", "pcc-refunded").await;
        let client = logged_in(&t, "asha.k").await;
        // Only West Bengal's centres, when that region is chosen.
        let page = t
            .get_as(
                &client,
                &format!("/applications/{id}/appointment?region=IN-WB"),
            )
            .await;
        assert!(page.has("Passport Seva Kendra, Kolkata"), "{}", page.text());
        assert!(!page.has("Passport Seva Kendra, Jaipur"));
        let next = pay(&t, &client, &id, "card")
            .await
            .location()
            .unwrap()
            .to_string();
        gw.decide(&next, "succeeded", "before_return").await;
        let account = t.account("asha.k").await;
        let day = t
            .app
            .applications
            .today()
            .checked_add(jiff::Span::new().days(7))
            .unwrap();
        let actor = Actor::command_line();
        let lang = ekdwar_app::i18n::Lang::english();
        let held = t
            .app
            .appointments
            .hold(&account, &id, "psk-jaipur", day, &actor)
            .await
            .unwrap();
        t.app
            .appointments
            .confirm(
                &account,
                &held.id,
                &crate::support::solved(&t),
                None,
                &lang,
                &actor,
            )
            .await
            .unwrap();
        t.app
            .appointments
            .cancel(&account, &held.id, &lang, &actor)
            .await
            .unwrap();
        let p = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.view.refunds.len(), 1);
        assert_eq!(p.view.refunds[0].amount.to_string(), "500.00 INR");
    }
}
