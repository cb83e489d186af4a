//! Paying fees through the test gateway (a separate process speaking Ekdwar's gateway
//! protocol) and by challan, on both databases: the order made at submission, the browser's
//! return never trusted, every fault switch of the notification, duplicate payments refunded,
//! challans confirmed from the bank's statement, and the day's report.

use std::time::Duration;

use ekdwar_app::config::{GatewayConfig, GatewayKind, Secret};
use ekdwar_domain::payments::{OrderStatus, PayChannel};
use ekdwar_testkit::Page;

use crate::accounts::PASSWORD;
use crate::catalog::import_demo;
use crate::support::{TestApp, backends};

/// The test gateway, run as its own process (`ekdwar dev test-gateway`).
pub struct TestGateway {
    _child: tokio::process::Child,
    pub url: String,
    key: String,
    secret: String,
    http: reqwest::Client,
}

impl TestGateway {
    pub async fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let key = crate::support::random_hex();
        let secret = crate::support::random_hex();
        let (child, url) = crate::support::dev_process(
            &["test-gateway", "--delay", "600"],
            &[
                ("EKDWAR_TEST_GATEWAY_KEY", &key),
                ("EKDWAR_TEST_GATEWAY_SECRET", &secret),
            ],
        )
        .await;
        Self {
            _child: child,
            url,
            key,
            secret,
            http: ekdwar_testkit::browser(),
        }
    }

    pub fn config(&self) -> GatewayConfig {
        GatewayConfig {
            kind: GatewayKind::Ekdwar,
            name: "test".into(),
            url: self.url.clone(),
            key: Secret::new(&self.key),
            secret: Secret::new(&self.secret),
            api_url: None,
        }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Chooses an outcome on the hosted page, with a fault switch; the address the browser is
    /// sent back to.
    pub async fn decide(&self, next_url: &str, outcome: &str, fault: &str) -> String {
        let page = self.http.get(next_url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("Test double"), "{html}");
        let r = self
            .http
            .post(next_url)
            .form(&[("outcome", outcome), ("fault", fault)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        ekdwar_testkit::location(&r).unwrap()
    }

    /// Releases a notification held by the `delay` fault.
    pub async fn deliver(&self, payment: &str) {
        let r = self
            .http
            .post(format!("{}/control/payments/{payment}/deliver", self.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }

    /// The bank decides a pending payment.
    pub async fn settle(&self, payment: &str, outcome: &str, fault: &str) {
        let r = self
            .http
            .post(format!("{}/control/payments/{payment}/settle", self.url))
            .form(&[("outcome", outcome), ("fault", fault)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
}

/// A browser logged in as `portal_id` that does not follow redirects, so that a test sees
/// where the portal sends it (to the gateway, back from it).
pub async fn logged_in(t: &TestApp, portal_id: &str) -> reqwest::Client {
    let client = ekdwar_testkit::browser();
    let form = t.get_as(&client, "/login").await;
    let page = t
        .post_with(
            &client,
            &form,
            "/login",
            &[("identifier", portal_id), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.text());
    client
}

/// A portal paying through `gw`, with Asha logged in and her fresh passport application
/// submitted: (portal, her browser, the application's id).
pub async fn portal_with(
    backend: &str,
    gw: &TestGateway,
) -> (TestApp, reqwest::Client, ekdwar_domain::ApplicationId) {
    let config = gw.config();
    let mut builder = TestApp::builder(backend).with_user("asha.k", PASSWORD);
    for n in 1..=6 {
        builder = builder.with_user(&format!("payer.{n}"), PASSWORD);
    }
    let t = builder
        .with_config(move |c| c.payments.gateway = Some(config))
        .start()
        .await;
    import_demo(&t).await;
    let (id, _) = crate::eforms::submitted_fresh(&t, "asha.k").await;
    let client = logged_in(&t, "asha.k").await;
    (t, client, id)
}

/// Another payer (`payer.1` … `payer.6`) with a fresh passport application submitted: their
/// browser and the application's id.
pub async fn another(t: &TestApp, n: usize) -> (reqwest::Client, ekdwar_domain::ApplicationId) {
    let who = format!("payer.{n}");
    let (id, _) = crate::eforms::submitted_fresh(t, &who).await;
    (logged_in(t, &who).await, id)
}

/// Starts paying by `channel` from the payment page; the response.
pub async fn pay(
    t: &TestApp,
    client: &reqwest::Client,
    id: &ekdwar_domain::ApplicationId,
    channel: &str,
) -> Page {
    let path = format!("/applications/{id}/payment");
    let page = t.get_as(client, &path).await;
    assert_eq!(page.status, 200, "{}", page.text());
    t.post_with(client, &page, &path, &[("channel", channel)])
        .await
}

/// The gateway's payment id in a return address.
fn payment_id(return_url: &str) -> String {
    return_url.split("payment=").nth(1).unwrap().to_string()
}

/// Follows the browser's return to the portal; the payment page it lands on.
async fn come_back(t: &TestApp, client: &reqwest::Client, return_url: &str) -> Page {
    let back = t.get_as(client, &return_url.replace(&t.base, "")).await;
    assert_eq!(back.status, 303, "{}", back.text());
    t.get_as(client, back.location().unwrap()).await
}

async fn status(t: &TestApp, id: &ekdwar_domain::ApplicationId) -> OrderStatus {
    t.app
        .payments
        .of_application_any(id)
        .await
        .unwrap()
        .unwrap()
        .status()
}

/// How many payment notifications the security log records as refused.
async fn refusals(t: &TestApp) -> usize {
    let mut c = t.app.store().read().await.unwrap();
    ekdwar_store::audit::recent(&mut c, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == ekdwar_domain::audit::AuditAction::PaymentNoticeRejected)
        .count()
}

/// Polls until the order reaches `want` (the gateway's notification comes on its own time);
/// never sleeps a fixed time.
async fn eventually(t: &TestApp, id: &ekdwar_domain::ApplicationId, want: OrderStatus) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if status(t, id).await == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "order never reached {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_order_is_made_at_submission_with_the_tatkaal_balance_due_at_the_centre() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        let payment = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(payment.order.online.to_string(), "1500.00 INR");
        assert!(payment.order.centre.is_zero());
        assert_eq!(payment.status(), OrderStatus::Due);
        let page = t.get_as(&client, &format!("/applications/{id}")).await;
        assert!(page.has("Not paid"), "{}", page.text());
        let page = t
            .get_as(&client, &format!("/applications/{id}/payment"))
            .await;
        assert!(page.has("₹1,500"));
        // Someone else's application has no payment page for them.
        let other = t.get(&format!("/applications/{id}/payment")).await;
        assert!(!other.has("₹1,500"), "{}", other.text());
    }
}

#[tokio::test]
async fn tatkaal_pays_the_normal_fee_online_and_the_balance_at_the_centre() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let (id, _) = crate::eforms::submitted_fresh_scheme(&t, "asha.k", "tatkaal").await;
        let p = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.order.online.to_string(), "1500.00 INR");
        assert_eq!(p.order.centre.to_string(), "2000.00 INR");
        let client = logged_in(&t, "asha.k").await;
        let page = t
            .get_as(&client, &format!("/applications/{id}/payment"))
            .await;
        assert!(
            page.has("To pay at the centre on the day"),
            "{}",
            page.text()
        );
        assert!(page.has("₹2,000"));
    }
}

#[tokio::test]
async fn card_payment_succeeds_through_the_gateway_and_the_return_is_verified() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        let started = pay(&t, &client, &id, "card").await;
        assert_eq!(started.status, 303, "{}", started.text());
        let next = started.location().unwrap().to_string();
        assert!(next.starts_with(&gw.url), "{next}");
        // The page that sends the browser to the gateway allows the gateway in form-action.
        let csp = started.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains(&gw.url), "{csp}");
        let back = gw.decide(&next, "succeeded", "none").await;
        let page = come_back(&t, &client, &back).await;
        assert!(page.has("Payment received"), "{}", page.text());
        assert_eq!(status(&t, &id).await, OrderStatus::Paid);
        // The notification arrives too and changes nothing.
        tokio::time::sleep(Duration::from_millis(0)).await;
        let sms = t
            .last_message(&t.account("asha.k").await.phone.unwrap())
            .await;
        assert!(sms.contains("Rs.1,500"), "{sms}");
        // A second payment is refused while the order is paid.
        let again = pay(&t, &client, &id, "card").await;
        assert_eq!(again.status, 422);
        assert!(again.has("already paid"));
        // The receipt, in the payer's language.
        let payment = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        let paid_by = payment.order.paid_by.clone().unwrap();
        let pdf = client
            .get(t.url(&format!("/payments/{paid_by}/receipt.pdf")))
            .send()
            .await
            .unwrap();
        assert_eq!(pdf.status(), 200);
        let text = crate::receipts::pdf_text(&pdf.bytes().await.unwrap());
        assert!(text.contains("1,500"), "{text}");
    }
}

/// UPI, offered first: the gateway's page asks the payer to approve in their UPI app (a QR
/// code or the `upi://pay` link for this amount); the outcome arrives as for a card.
#[tokio::test]
async fn upi_is_offered_first_and_pays_through_the_gateway() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        let page = t
            .get_as(&client, &format!("/applications/{id}/payment"))
            .await;
        let text = page.text();
        let upi = text.find("UPI (BHIM").expect("UPI offered");
        assert!(upi < text.find("Debit or credit card").unwrap(), "{text}");
        let next = pay(&t, &client, &id, "upi")
            .await
            .location()
            .unwrap()
            .to_string();
        let at_gateway = reqwest::get(&next).await.unwrap().text().await.unwrap();
        assert!(
            at_gateway.contains("upi://pay?pa=") && at_gateway.contains("am=1500.00"),
            "{at_gateway}"
        );
        let back = gw.decide(&next, "succeeded", "none").await;
        let page = come_back(&t, &client, &back).await;
        assert!(page.has("Payment received"), "{}", page.text());
        assert!(page.has("UPI"), "{}", page.text());
        assert_eq!(status(&t, &id).await, OrderStatus::Paid);
    }
}

#[tokio::test]
async fn a_forged_return_pays_nothing() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        let started = pay(&t, &client, &id, "card").await;
        let next = started.location().unwrap().to_string();
        let attempt = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap()
            .attempts[0]
            .id
            .clone();
        // The browser claims success without paying.
        let forged = format!(
            "/payments/return/{attempt}?payment={}&status=succeeded",
            next.rsplit('/').next().unwrap()
        );
        let back = t.get_as(&client, &forged).await;
        assert_eq!(back.status, 303);
        assert_ne!(status(&t, &id).await, OrderStatus::Paid);
    }
}

#[tokio::test]
async fn failed_and_cancelled_payments_can_be_tried_again() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        for outcome in ["failed", "cancelled"] {
            let next = pay(&t, &client, &id, "netbanking")
                .await
                .location()
                .unwrap()
                .to_string();
            let back = gw.decide(&next, outcome, "before_return").await;
            let page = come_back(&t, &client, &back).await;
            assert!(page.has("did not go through"), "{}", page.text());
            assert_eq!(status(&t, &id).await, OrderStatus::Due);
        }
        let next = pay(&t, &client, &id, "card")
            .await
            .location()
            .unwrap()
            .to_string();
        gw.decide(&next, "succeeded", "before_return").await;
        assert_eq!(status(&t, &id).await, OrderStatus::Paid);
    }
}

#[tokio::test]
async fn every_notification_fault_ends_in_the_truth() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        let rejected = || refusals(&t);
        // Arrives before the browser returns: the return already shows it paid.
        {
            let next = pay(&t, &client, &id, "card")
                .await
                .location()
                .unwrap()
                .to_string();
            let back = gw.decide(&next, "succeeded", "before_return").await;
            assert_eq!(status(&t, &id).await, OrderStatus::Paid);
            let page = come_back(&t, &client, &back).await;
            assert!(page.has("Payment received"));
        }
        // Each other fault on a fresh application of its own.
        for (n, fault) in ["drop", "twice", "delay", "bad_signature", "wrong_amount"]
            .into_iter()
            .enumerate()
        {
            let (client, id) = another(&t, n + 1).await;
            let next = pay(&t, &client, &id, "card")
                .await
                .location()
                .unwrap()
                .to_string();
            let before = rejected().await;
            let back = gw.decide(&next, "succeeded", fault).await;
            match fault {
                // Nothing arrives, or nothing believable: the return's status query settles it.
                "drop" | "bad_signature" | "wrong_amount" => {
                    if fault != "drop" {
                        // The refused notification is in the security log.
                        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
                        while rejected().await == before {
                            assert!(tokio::time::Instant::now() < deadline, "{fault}");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        assert_ne!(status(&t, &id).await, OrderStatus::Paid, "{fault}");
                    }
                    let page = come_back(&t, &client, &back).await;
                    assert!(page.has("Payment received"), "{fault}: {}", page.text());
                }
                // Sent twice: recorded once, one message, no refund.
                "twice" => {
                    eventually(&t, &id, OrderStatus::Paid).await;
                    come_back(&t, &client, &back).await;
                    let p = t
                        .app
                        .payments
                        .of_application_any(&id)
                        .await
                        .unwrap()
                        .unwrap();
                    assert!(p.view.refunds.is_empty());
                }
                // Held back: the browser returns first and the return's query settles it;
                // the late notification then changes nothing.
                "delay" => {
                    come_back(&t, &client, &back).await;
                    assert_eq!(status(&t, &id).await, OrderStatus::Paid);
                    gw.deliver(&payment_id(&back)).await;
                    let p = t
                        .app
                        .payments
                        .of_application_any(&id)
                        .await
                        .unwrap()
                        .unwrap();
                    assert!(p.view.refunds.is_empty());
                    assert_eq!(p.view.attempts.len(), 1);
                }
                _ => unreachable!(),
            }
            assert_eq!(status(&t, &id).await, OrderStatus::Paid, "{fault}");
        }
    }
}

#[tokio::test]
async fn a_delayed_notification_alone_pays_the_order() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        let next = pay(&t, &client, &id, "card")
            .await
            .location()
            .unwrap()
            .to_string();
        // The payer never comes back; the notification is late.
        let back = gw.decide(&next, "succeeded", "delay").await;
        assert_eq!(status(&t, &id).await, OrderStatus::Processing);
        gw.deliver(&payment_id(&back)).await;
        assert_eq!(status(&t, &id).await, OrderStatus::Paid);
    }
}

#[tokio::test]
async fn a_pending_payment_is_settled_by_the_bank_later_or_by_the_sweep() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        // Pending, then the bank's notification pays it.
        let next = pay(&t, &client, &id, "card")
            .await
            .location()
            .unwrap()
            .to_string();
        let back = gw.decide(&next, "pending", "before_return").await;
        let page = come_back(&t, &client, &back).await;
        assert!(page.has("confirming your payment"), "{}", page.text());
        assert_eq!(status(&t, &id).await, OrderStatus::Processing);
        gw.settle(&payment_id(&back), "succeeded", "none").await;
        assert_eq!(status(&t, &id).await, OrderStatus::Paid);

        // Pending, and the bank's word is dropped: the sweep asks after the wait.
        let (client, id) = another(&t, 1).await;
        let next = pay(&t, &client, &id, "card")
            .await
            .location()
            .unwrap()
            .to_string();
        let back = gw.decide(&next, "pending", "drop").await;
        gw.settle(&payment_id(&back), "succeeded", "drop").await;
        assert_eq!(status(&t, &id).await, OrderStatus::Processing);
        let swept = t.app.payments.sweep().await.unwrap();
        assert_eq!(swept.queried, 0, "too early to ask");
        t.advance(Duration::from_secs(16 * 60));
        // (The portal's own jobs runner may sweep at the same moment: the outcome is what
        // counts, not which sweep saw it.)
        t.app.payments.sweep().await.unwrap();
        assert_eq!(status(&t, &id).await, OrderStatus::Paid);

        // Abandoned on the gateway's page: closed after twice the wait.
        let (client, id) = another(&t, 2).await;
        pay(&t, &client, &id, "card").await;
        t.advance(Duration::from_secs(31 * 60));
        t.app.payments.sweep().await.unwrap();
        assert_eq!(status(&t, &id).await, OrderStatus::Due);
        let p = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            p.view.attempts[0].status,
            ekdwar_domain::payments::AttemptStatus::Expired
        );
    }
}

#[tokio::test]
async fn a_second_payment_is_refunded_through_the_gateway() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        // Two tabs: both reach the gateway before either pays.
        let first = pay(&t, &client, &id, "card")
            .await
            .location()
            .unwrap()
            .to_string();
        let second = pay(&t, &client, &id, "netbanking")
            .await
            .location()
            .unwrap()
            .to_string();
        assert_ne!(first, second);
        gw.decide(&first, "succeeded", "before_return").await;
        gw.decide(&second, "succeeded", "before_return").await;
        let p = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.status(), OrderStatus::Paid);
        assert_eq!(p.view.refunds.len(), 1);
        let phone = t.account("asha.k").await.phone.unwrap();
        assert!(t.last_message(&phone).await.contains("refunded"));
        // The jobs runner, woken by the duplicate, pays it out through the gateway's refund
        // call.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let p = t
                .app
                .payments
                .of_application_any(&id)
                .await
                .unwrap()
                .unwrap();
            if p.view.refunds[0].status == ekdwar_domain::payments::RefundStatus::Succeeded {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "never refunded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let page = t
            .get_as(&client, &format!("/applications/{id}/payment"))
            .await;
        assert!(page.has("Refunded"), "{}", page.text());
        assert_eq!(t.app.payments.sweep().await.unwrap().refunds, 0);
    }
}

#[tokio::test]
async fn notifications_are_checked_before_anything_is_recorded() {
    use ekdwar_domain::payments::signing::sign;
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        let next = pay(&t, &client, &id, "card")
            .await
            .location()
            .unwrap()
            .to_string();
        let p = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        let attempt = &p.attempts[0];
        let gw_id = attempt.reference.clone().unwrap();
        assert!(next.ends_with(&gw_id));
        let body = |amount: i64, currency: &str| {
            serde_json::json!({
                "event_id": crate::support::random_hex(),
                "type": "payment.updated",
                "payment": {"id": gw_id, "status": "succeeded", "amount": amount,
                            "currency": currency, "reference": attempt.id},
            })
            .to_string()
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let post = |body: String, signature: Option<String>| {
            let mut r = reqwest::Client::new()
                .post(t.url("/api/payments/notify/test"))
                .body(body);
            if let Some(s) = signature {
                r = r.header("Ekdwar-Signature", s);
            }
            async move { r.send().await.unwrap().status().as_u16() }
        };
        let secret = gw.secret().as_bytes();
        let good = body(150000, "INR");
        assert_eq!(post(good.clone(), None).await, 401, "unsigned");
        assert_eq!(
            post(good.clone(), Some(sign(b"wrong", now, good.as_bytes()))).await,
            401,
            "signed wrongly"
        );
        assert_eq!(
            post(good.clone(), Some(sign(secret, now - 600, good.as_bytes()))).await,
            401,
            "stale"
        );
        let more = body(150100, "INR");
        assert_eq!(
            post(more.clone(), Some(sign(secret, now, more.as_bytes()))).await,
            400,
            "another amount"
        );
        let rub = body(150000, "RUB");
        assert_eq!(
            post(rub.clone(), Some(sign(secret, now, rub.as_bytes()))).await,
            400,
            "another currency"
        );
        assert_eq!(
            post("{".into(), Some(sign(secret, now, b"{"))).await,
            400,
            "malformed"
        );
        let unknown = t.url("/api/payments/notify/nobody");
        let r = reqwest::Client::new()
            .post(unknown)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        assert_eq!(status(&t, &id).await, OrderStatus::Processing);
        // The genuine one, twice: recorded once.
        for _ in 0..2 {
            assert_eq!(
                post(good.clone(), Some(sign(secret, now, good.as_bytes()))).await,
                204
            );
        }
        assert_eq!(status(&t, &id).await, OrderStatus::Paid);
        let phone = t.account("asha.k").await.phone.unwrap();
        let received = t
            .app
            .notify
            .outbox(Some(&phone), 100)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.body.contains("received"))
            .count();
        assert_eq!(received, 1);
    }
}

/// A statement file of Ekdwar's format, with `lines`.
pub fn statement(lines: &[String]) -> String {
    format!(
        "# Ekdwar bank statement v1\nchallan_reference,amount,currency,paid_at,bank_reference\n{}\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn a_challan_is_confirmed_by_the_banks_statement() {
    for backend in backends() {
        let t = TestApp::builder(backend)
            .with_user("asha.k", PASSWORD)
            .start()
            .await;
        import_demo(&t).await;
        let (id, _) = crate::eforms::submitted_fresh(&t, "asha.k").await;
        let client = logged_in(&t, "asha.k").await;
        // Without a gateway only the challan is offered.
        let page = t
            .get_as(&client, &format!("/applications/{id}/payment"))
            .await;
        assert!(!page.has("Net banking"));
        let r = pay(&t, &client, &id, "card").await;
        assert_eq!(r.status, 422);
        let r = pay(&t, &client, &id, "challan").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let page = t.get_as(&client, r.location().unwrap()).await;
        assert!(
            page.has("Awaiting bank confirmation (up to 2 days)"),
            "{}",
            page.text()
        );
        // Asking again shows the same challan.
        pay(&t, &client, &id, "challan").await;
        let p = t
            .app
            .payments
            .of_application_any(&id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.attempts.len(), 1);
        let challan = p.attempts[0].clone();
        let reference = challan.reference.clone().unwrap();
        assert_eq!(p.status(), OrderStatus::AwaitingBank);
        // The challan PDF, in the payer's language.
        let pdf = client
            .get(t.url(&format!("/payments/{}/challan.pdf", challan.id)))
            .send()
            .await
            .unwrap();
        assert_eq!(pdf.status(), 200);
        let text = crate::receipts::pdf_text(&pdf.bytes().await.unwrap());
        assert!(text.contains(&reference[..4]), "{text}");
        // The copies a teller expects, where to pay, the head of account, room for the stamp.
        for expected in [
            "Bank's copy",
            "Applicant's copy",
            "Department's copy",
            "Any authorised bank",
            "1055-00-800-01",
            "Teller's signature and stamp",
        ] {
            assert!(
                text.contains(expected),
                "{expected} not on the challan:\n{text}"
            );
        }
        let at = |after: Duration| {
            let ts = challan.created_at.plus(after).millis();
            jiff::Timestamp::from_millisecond(ts).unwrap().to_string()
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("statement.csv");
        std::fs::write(
            &file,
            statement(&[
                // Paid within the first three hours: the bank should not have taken it.
                format!(
                    "{reference},1500.00,INR,{},SBI001",
                    at(Duration::from_secs(3600))
                ),
                format!(
                    "CH26{:011},1500.00,INR,{},SBI002",
                    0,
                    at(Duration::from_secs(4 * 3600))
                ),
                format!(
                    "{reference},1499.00,INR,{},SBI003",
                    at(Duration::from_secs(4 * 3600))
                ),
                "not,a,line".to_string(),
                format!(
                    "{reference},1500.00,INR,{},SBI004",
                    at(Duration::from_secs(4 * 3600))
                ),
            ]),
        )
        .unwrap();
        let report = t
            .app
            .payments
            .reconcile(
                read(&file),
                &ekdwar_app::audit::Actor::command_line(),
                |_| {},
            )
            .await
            .unwrap();
        assert_eq!(report.confirmed, 1);
        assert_eq!(report.unmatched.len(), 4, "{:?}", report.unmatched);
        assert_eq!(status(&t, &id).await, OrderStatus::Paid);
        // Again: nothing changes.
        let again = t
            .app
            .payments
            .reconcile(
                read(&file),
                &ekdwar_app::audit::Actor::command_line(),
                |_| {},
            )
            .await
            .unwrap();
        assert_eq!((again.confirmed, again.already), (0, 1));
        let phone = t.account("asha.k").await.phone.unwrap();
        assert!(t.last_message(&phone).await.contains("received"));
    }
}

fn read(
    file: &std::path::Path,
) -> Vec<(
    usize,
    Result<
        ekdwar_domain::payments::StatementLine,
        ekdwar_domain::payments::challan::StatementError,
    >,
)> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.starts_with("challan_reference"))
        .map(|(n, l)| {
            let fields: Vec<&str> = l.split(',').collect();
            (
                n + 1,
                ekdwar_domain::payments::StatementLine::parse(&fields),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_challan_past_its_validity_expires() {
    let t = TestApp::builder("sqlite")
        .with_user("asha.k", PASSWORD)
        .start()
        .await;
    import_demo(&t).await;
    let (id, _) = crate::eforms::submitted_fresh(&t, "asha.k").await;
    let client = logged_in(&t, "asha.k").await;
    pay(&t, &client, &id, "challan").await;
    t.advance(Duration::from_secs(84 * 86_400));
    t.app.payments.sweep().await.unwrap();
    assert_eq!(status(&t, &id).await, OrderStatus::AwaitingBank);
    t.advance(Duration::from_secs(2 * 86_400));
    t.app.payments.sweep().await.unwrap();
    assert_eq!(status(&t, &id).await, OrderStatus::Due);
    let p = t
        .app
        .payments
        .of_application_any(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.view.attempts[0].channel, PayChannel::Challan);
    assert_eq!(
        p.view.attempts[0].status,
        ekdwar_domain::payments::AttemptStatus::Expired
    );
}

fn ekdwar(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ekdwar"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("EKDWAR_DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The administrators' commands, run as processes on the portal's data: a challan paid at the
/// bank after the fee was paid by card is a duplicate, refunded through the treasury's file.
#[tokio::test]
async fn reconcile_export_refunds_and_report_from_the_command_line() {
    let gw = TestGateway::start().await;
    let (t, client, id) = portal_with("sqlite", &gw).await;
    let data = t.app.config().server.data_dir.clone();
    pay(&t, &client, &id, "challan").await;
    let p = t
        .app
        .payments
        .of_application_any(&id)
        .await
        .unwrap()
        .unwrap();
    let challan = p.attempts[0].clone();
    // Then pays by card as well, before the bank confirms the challan (saying, wrongly, that
    // the challan was not paid).
    let path = format!("/applications/{id}/payment");
    let page = t.get_as(&client, &path).await;
    let next = t
        .post_with(
            &client,
            &page,
            &path,
            &[("channel", "card"), ("challan_unpaid", "yes")],
        )
        .await
        .location()
        .unwrap()
        .to_string();
    gw.decide(&next, "succeeded", "before_return").await;
    assert_eq!(status(&t, &id).await, OrderStatus::Paid);

    let paid_at = jiff::Timestamp::from_millisecond(
        challan
            .created_at
            .plus(Duration::from_secs(5 * 3600))
            .millis(),
    )
    .unwrap();
    let file = data.join("statement.csv");
    std::fs::write(
        &file,
        statement(&[
            format!(
                "{},1500.00,INR,{paid_at},SBI/7781",
                challan.reference.clone().unwrap()
            ),
            "CH2600000000000,1.00,INR,2026-12-01T10:00:00Z,SBI/0001".into(),
        ]),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (ok, out, err) = ekdwar(&data, &["payments", "reconcile", f, "--json"]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["confirmed"], 1, "{out}");
    assert_eq!(report["unmatched"].as_array().unwrap().len(), 1, "{out}");
    let (ok, out, err) = ekdwar(&data, &["payments", "reconcile", f]);
    assert!(ok, "{err}");
    assert!(
        out.contains("confirmed 0, already confirmed 1, unmatched 1"),
        "{out}"
    );
    assert!(out.contains("line 4: "), "{out}");
    // A file that is not a statement is refused with the reason.
    std::fs::write(data.join("bad.csv"), "reference,amount\nx,1\n").unwrap();
    let (ok, _, err) = ekdwar(
        &data,
        &[
            "payments",
            "reconcile",
            data.join("bad.csv").to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(
        err.contains("challan_reference,amount,currency,paid_at,bank_reference"),
        "{err}"
    );

    // The challan's money is a duplicate: refunded through the treasury.
    let p = t
        .app
        .payments
        .of_application_any(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.view.refunds.len(), 1);
    let (ok, out, err) = ekdwar(&data, &["payments", "refunds", "export"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[1].contains("SBI/7781") && lines[1].contains("1500.00,INR"),
        "{out}"
    );
    assert!(lines[1].contains("Test Citizen"), "{out}");
    // Exported once.
    let (_, out, _) = ekdwar(&data, &["payments", "refunds", "export"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let page = t
        .get_as(&client, &format!("/applications/{id}/payment"))
        .await;
    assert!(page.has("Sent to the treasury"), "{}", page.text());

    let today = t.app.applications.today().to_string();
    let (ok, out, err) = ekdwar(&data, &["payments", "report", "--date", &today, "--json"]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["received"]["card"]["count"], 1, "{out}");
    assert_eq!(report["received"]["challan"]["count"], 1, "{out}");
    assert_eq!(report["refunds_exported"]["count"], 1, "{out}");
    let (ok, out, _) = ekdwar(&data, &["payments", "report", "--date", &today]);
    assert!(ok);
    assert!(out.contains("received (card)"), "{out}");
    let (ok, _, err) = ekdwar(&data, &["payments", "report", "--date", "yesterday"]);
    assert!(!ok);
    assert!(err.contains("2026-12-01"), "{err}");
}

/// With PayU configured, paying by card hands the browser to PayU's checkout by a signed form
/// (sent by script, or by its button without), which the page's `form-action` allows.
#[tokio::test]
async fn payu_is_handed_a_signed_form() {
    let t = TestApp::builder("sqlite")
        .with_user("asha.k", PASSWORD)
        .with_config(|c| {
            c.payments.gateway = Some(GatewayConfig {
                kind: GatewayKind::Payu,
                name: "payu".into(),
                url: "https://test.payu.in".into(),
                key: Secret::new("gtKFFx"),
                secret: Secret::new("eCwWELxi"),
                api_url: Some("https://test.payu.in/merchant/postservice.php?form=2".into()),
            })
        })
        .start()
        .await;
    import_demo(&t).await;
    let (id, _) = crate::eforms::submitted_fresh(&t, "asha.k").await;
    let client = logged_in(&t, "asha.k").await;
    let page = pay(&t, &client, &id, "card").await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(
        page.body
            .contains("action=\"https://test.payu.in/_payment\""),
        "{}",
        page.body
    );
    assert_eq!(page.field("amount").as_deref(), Some("1500.00"));
    let hash = page.field("hash").unwrap();
    assert_eq!(hash.len(), 128);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("https://test.payu.in"), "{csp}");
    // A webhook with a hash that does not match is refused.
    let r = reqwest::Client::new()
        .post(t.url("/api/payments/notify/payu"))
        .form(&[
            ("key", "gtKFFx"),
            ("txnid", "x"),
            ("status", "success"),
            ("amount", "1500.00"),
            ("hash", "00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// The bank's statement confirms the open challan of an application (paid four hours after it
/// was generated).
pub async fn bank_confirms(t: &TestApp, id: &ekdwar_domain::ApplicationId) {
    let p = t
        .app
        .payments
        .of_application_any(id)
        .await
        .unwrap()
        .unwrap();
    let challan = p.open_challan().expect("an open challan").clone();
    let paid_at = jiff::Timestamp::from_millisecond(
        challan
            .created_at
            .plus(Duration::from_secs(4 * 3600))
            .millis(),
    )
    .unwrap();
    let line = ekdwar_domain::payments::StatementLine::parse(&[
        challan.reference.as_deref().unwrap(),
        &challan.amount.to_decimal(),
        challan.amount.currency().as_str(),
        &paid_at.to_string(),
        "SBI/1",
    ]);
    let report = t
        .app
        .payments
        .reconcile(
            vec![(1, line)],
            &ekdwar_app::audit::Actor::command_line(),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(report.confirmed, 1, "{report:?}");
}

/// A card payment was offered while a challan waited at the bank, with nothing said: paying
/// both is refunded, but the money is away for days. Now the page says so, and paying online
/// needs the payer to say they have not paid the challan.
#[tokio::test]
async fn paying_online_while_a_challan_waits_asks_first() {
    for backend in backends() {
        let gw = TestGateway::start().await;
        let (t, client, id) = portal_with(backend, &gw).await;
        let r = pay(&t, &client, &id, "challan").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let path = format!("/applications/{id}/payment");
        let page = t.get_as(&client, &path).await;
        assert!(
            page.has("You already have a challan waiting to be paid at the bank"),
            "{}",
            page.text()
        );
        let refused = t
            .post_with(&client, &page, &path, &[("channel", "card")])
            .await;
        assert_eq!(refused.status, 422, "{}", refused.text());
        assert!(
            refused.has("tick “I have not paid the challan”"),
            "{}",
            refused.text()
        );
        let page = t.get_as(&client, &path).await;
        let to_gateway = t
            .post_with(
                &client,
                &page,
                &path,
                &[("channel", "card"), ("challan_unpaid", "yes")],
            )
            .await;
        assert_eq!(to_gateway.status, 303, "{}", to_gateway.text());
        assert!(
            to_gateway.location().unwrap().starts_with(&gw.url),
            "to the gateway"
        );
    }
}
