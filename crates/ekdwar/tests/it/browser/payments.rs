//! Paying a fee in Chromium, with JavaScript on and off: the payment page sends the browser to
//! the test gateway (another origin, which the page's `form-action` must allow), the payer pays
//! on the gateway's page and comes back to the portal, which asks the gateway before it says
//! "paid". Then a challan, shown and downloaded in Hindi.

use super::Browser;
use crate::payments::{TestGateway, portal_with};

async fn pay_online(js: bool) {
    for backend in super::journey_backends(js) {
        let gw = TestGateway::start().await;
        let (t, _, id) = portal_with(backend, &gw).await;
        let b = Browser::start(&t.base, js).await;
        b.open("/login").await;
        super::flows::log_in(&b, "asha.k").await;
        b.open(&format!("/applications/{id}")).await;
        assert!(b.text().await.contains("Not paid"));
        b.submit(&format!("a[href='/applications/{id}/payment']"))
            .await;
        if js {
            b.audit("payment").await;
        }
        // Nothing chosen: the error says what to do.
        b.submit(&format!("form[action='/applications/{id}/payment'] button"))
            .await;
        assert!(b.text().await.contains("Choose how you want to pay"));
        if js {
            b.audit("payment-error").await;
        }
        // By card with the script, by UPI without (approved in the payer's UPI app).
        let channel = if js { "card" } else { "upi" };
        b.click(&format!("input[name='channel'][value='{channel}']"))
            .await;
        b.submit(&format!("form[action='/applications/{id}/payment'] button"))
            .await;
        // On the gateway's page, at its own origin.
        let at = b.current_url().await;
        assert!(gw.url.ends_with(&at.port().unwrap().to_string()), "{at}");
        assert!(b.text().await.contains("Test double"));
        if !js {
            assert!(b.text().await.contains("approve the payment there"));
        }
        b.submit("button[value='succeeded']").await;
        // Back at the portal, which asked the gateway.
        assert_eq!(b.path().await, format!("/applications/{id}/payment"));
        let text = b.text().await;
        assert!(text.contains("Payment received"), "{text}");
        assert!(text.contains("Paid"), "{text}");
        if js {
            b.audit("payment-paid").await;
        }
        let link = b
            .attr("a[href$='/receipt.pdf']", "href")
            .await
            .expect("a receipt link");
        let (status, pdf) = b.download(&link).await;
        assert_eq!(status, 200);
        assert!(crate::receipts::pdf_text(&pdf).contains("₹1,500"));
        b.open("/payments").await;
        assert!(b.text().await.contains("Paid"));
        if js {
            b.audit("payments").await;
        }
    }
}

#[tokio::test]
async fn paying_online_by_card_with_javascript() {
    pay_online(true).await;
}

#[tokio::test]
async fn paying_online_by_upi_without_javascript() {
    pay_online(false).await;
}

#[tokio::test]
async fn a_challan_in_hindi() {
    let gw = TestGateway::start().await;
    let (t, _, id) = portal_with("sqlite", &gw).await;
    let b = Browser::start(&t.base, true).await;
    b.open("/login").await;
    super::flows::log_in(&b, "asha.k").await;
    b.open(&format!("/applications/{id}/payment")).await;
    b.press("हिन्दी").await;
    b.click("input[name='channel'][value='challan']").await;
    b.submit(&format!("form[action='/applications/{id}/payment'] button"))
        .await;
    let text = b.text().await;
    assert!(
        text.contains("बैंक की पुष्टि की प्रतीक्षा (अधिकतम 2 दिन)"),
        "{text}"
    );
    b.audit("payment-challan-hi").await;
    let link = b
        .attr("a[href$='/challan.pdf']", "href")
        .await
        .expect("a challan link");
    let (status, pdf) = b.download(&link).await;
    assert_eq!(status, 200);
    let text = crate::receipts::pdf_text(&pdf);
    assert!(
        text.contains("बैंक चालान") && text.contains("₹1,500"),
        "{text}"
    );
}

/// The Passport Seva journey from a submitted application to the appointment, in Chromium: find
/// a centre by PIN code, hold the earliest place, confirm with the challenge and pay by card on
/// the test gateway, see the confirmation, reschedule twice and be refused the third time.
async fn book_an_appointment(js: bool) {
    for backend in super::journey_backends(js) {
        let gw = TestGateway::start().await;
        let (t, _, id) = portal_with(backend, &gw).await;
        crate::appointments::with_centres(&t).await;
        let b = Browser::start(&t.base, js).await;
        b.open("/login").await;
        super::flows::log_in(&b, "asha.k").await;
        b.open(&format!("/applications/{id}")).await;
        b.submit(&format!("a[href='/applications/{id}/appointment']"))
            .await;
        b.fill("pincode", "302017").await;
        b.submit("#centre-search button:not([type=button])").await;
        let text = b.text().await;
        assert!(text.contains("Passport Seva Kendra, Jaipur"), "{text}");
        if js {
            b.audit("booking-find").await;
        }
        let in_days = |n: i64| {
            t.app
                .applications
                .today()
                .checked_add(jiff::Span::new().days(n))
                .unwrap()
        };
        // Two days ahead is inside the 3-day rule: said before confirming, and the place can
        // be let go for a later one.
        b.eval(&format!(
            "document.getElementById('date').value = '{}'",
            in_days(2)
        ))
        .await;
        b.submit("#hold button").await;
        let text = b.text().await;
        assert!(text.contains("less than 3 days away"), "{text}");
        if js {
            b.audit("booking-fixed-warning").await;
        }
        b.press("Release this place").await;
        assert!(b.text().await.contains("The place is released"));
        b.fill("pincode", "302017").await;
        b.submit("#centre-search button:not([type=button])").await;
        b.eval(&format!(
            "document.getElementById('date').value = '{}'",
            in_days(5)
        ))
        .await;
        b.submit("#hold button").await;
        let text = b.text().await;
        assert!(text.contains("Confirm your appointment"), "{text}");
        assert!(!text.contains("less than 3 days away"), "{text}");
        if js {
            b.audit("booking-confirm").await;
        }
        b.answer_challenge().await;
        b.submit("form[action$='/confirm'] button").await;
        // Paying on the gateway's page books the held place.
        assert!(b.text().await.contains("Test double"));
        b.submit("button[value='succeeded']").await;
        let text = b.text().await;
        assert!(text.contains("Your appointment is booked"), "{text}");
        assert!(text.contains("₹1,500") && text.contains("Passport Seva Kendra, Jaipur"));
        if js {
            b.audit("booking-booked").await;
        }
        let number = b.text_of("#appointment-number").await;
        let phone = t.account("asha.k").await.phone.unwrap();
        assert!(t.last_message(&phone).await.contains(&number));
        for days in [10, 15] {
            b.eval(&format!(
                "document.getElementById('date').value = '{}'",
                in_days(days)
            ))
            .await;
            b.submit("form[action$='/reschedule'] button").await;
        }
        // Twice is the limit: no third form, and the reason instead.
        let text = b.text().await;
        assert!(text.contains("You have rescheduled twice"), "{text}");
        assert!(
            b.attr("form[action$='/reschedule']", "action")
                .await
                .is_none()
        );
        if js {
            b.audit("booking-reschedule-refused").await;
        }
        // The application's page shows the appointment, not "book".
        b.open(&format!("/applications/{id}")).await;
        let text = b.text().await;
        assert!(
            text.contains("Your appointment") && text.contains("Bring the originals of"),
            "{text}"
        );
        if js {
            b.audit("application-with-appointment").await;
        }
        if js {
            b.audit("booking-reschedule-refused").await;
        }
    }
}

#[tokio::test]
async fn booking_an_appointment_with_javascript() {
    book_an_appointment(true).await;
}

#[tokio::test]
async fn booking_an_appointment_without_javascript() {
    book_an_appointment(false).await;
}

/// At the centre, in Chromium: an operator (with the second factor) checks a citizen in by the
/// appointment number, calls the token to a counter, and the hall's display shows it.
async fn at_the_centre(js: bool) {
    use crate::appointments::{booked_tomorrow, just_before, operator, with_centres};
    for backend in super::journey_backends(js) {
        let t = crate::support::TestApp::start(backend).await;
        crate::catalog::import_demo(&t).await;
        with_centres(&t).await;
        let people = t
            .app
            .seed_applicants("visitor", 1, "passport-fresh", r#"{"scheme":"normal"}"#)
            .await
            .unwrap();
        let booked = booked_tomorrow(&t, &people).await;
        just_before(&t, booked[0].starts_at);
        operator(&t, "meena.op").await;
        let o = super::journey::officer_logged_in_at(&t, "meena.op", js, "/centre").await;
        assert!(o.text().await.contains("Passport Seva Kendra, Jaipur"));
        if js {
            o.audit("centre").await;
        }
        o.fill("number", "AP26").await;
        o.submit("#check-in button").await;
        assert!(o.text().await.contains("not an appointment number"));
        if js {
            o.audit("centre-error").await;
        }
        o.fill("number", &booked[0].number.to_string()).await;
        o.submit("#check-in button").await;
        assert!(o.text().await.contains("A-001"), "{}", o.text().await);
        o.fill("counter", "2").await;
        o.submit("#call button").await;
        let d = Browser::start(&t.base, js).await;
        d.open("/centres/psk-jaipur/display").await;
        let text = d.text().await;
        assert!(
            text.contains("A-001") && text.contains("Counter 2"),
            "{text}"
        );
        if js {
            d.audit("display").await;
        }
        o.submit("button[value='served']").await;
        let text = o.text().await;
        assert!(text.contains("Recorded"), "{text}");
        if js {
            o.audit("centre-served").await;
        }
    }
}

#[tokio::test]
async fn at_the_centre_with_javascript() {
    at_the_centre(true).await;
}

#[tokio::test]
async fn at_the_centre_without_javascript() {
    at_the_centre(false).await;
}
