//! Payments: what an application owes (an order, made when it is submitted), paying it online
//! through a gateway or by bank challan, the notifications and status queries that tell the
//! portal the outcome, refunds of duplicate payments, the bank's statement, and the daily
//! report. Every fact is appended to the order's ledger; what the order stands at is derived
//! from it ([`OrderView`]).
//!
//! The browser's return from a gateway is never trusted: it only makes the portal ask the
//! gateway (a status query). Money is recorded only from a signed notification or a status
//! query, and only when its amount and currency are exactly the attempt's.

use std::sync::Arc;
use std::time::Duration;

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::catalog::{Fee, FeeDue};
use ekdwar_domain::payments::challan::{self, StatementError, StatementLine};
use ekdwar_domain::payments::{
    ChallanRef, Currency, EventKind, LedgerEvent, Money, OrderStatus, OrderView, PayChannel,
};
use ekdwar_domain::{ApplicationId, Timestamp, UserId};
use ekdwar_store::payments::{self as store, Attempt, NewEvent, Order, Refund, RefundRoute};

use crate::audit::Actor;
use crate::core::Work;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::views::AccountView;

pub mod gateway;
pub mod payu;
mod report;

pub use gateway::{GatewayStatus, NextStep, PaymentGateway};
pub use report::{DailyReport, ReconcileReport, RefundLine, Unmatched};

/// The gateway name challans are recorded under.
pub const CHALLAN: &str = "challan";
/// The gateway name payments at a centre are recorded under.
pub const CENTRE: &str = "centre";
/// How many open attempts or refunds one sweep handles.
const SWEEP_BATCH: i64 = 100;

crate::core::service!(
    /// Payments: orders, gateway payments, challans, refunds, reconciliation.
    Payments,
    gateway: Option<Arc<dyn PaymentGateway>>,
    applications: crate::applications::Applications
);

/// An order with what its ledger says.
#[derive(Debug, Clone)]
pub struct Payment {
    /// The order.
    pub order: Order,
    /// Where it stands, derived from its ledger.
    pub view: OrderView,
    /// Its attempts as stored (for a challan's reference and window).
    pub attempts: Vec<Attempt>,
}

impl Payment {
    /// The open challan, with its reference and window.
    pub fn open_challan(&self) -> Option<&Attempt> {
        let open = self.view.open_challan()?;
        self.attempts.iter().find(|a| a.id == open.id)
    }

    /// Where it stands.
    pub fn status(&self) -> OrderStatus {
        self.view.status
    }

    /// The stored attempt of a ledger attempt.
    pub fn attempt(&self, id: &str) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.id == id)
    }
}

/// What starting a payment leads to.
#[derive(Debug, Clone)]
pub enum Started {
    /// Send the browser to the gateway.
    Gateway(NextStep),
    /// A challan to print and pay at the bank (its attempt id).
    Challan(String),
}

/// Makes the order of a submitted application from its service's fees: the online part (paid
/// before an appointment) and the part due at the centre (tatkaal's balance). Nothing when no
/// fee applies. Written in the submission's own unit of work.
pub(crate) async fn open_order(
    work: &mut Work<'_>,
    id: String,
    application: &ApplicationId,
    owner: &UserId,
    purpose: &str,
    fees: &[&Fee],
    at: Timestamp,
) -> AppResult<Option<Order>> {
    let Some(first) = fees.first() else {
        return Ok(None);
    };
    let currency = Currency::parse(&first.currency).map_err(internal)?;
    let mut online = Money::zero(currency);
    let mut centre = Money::zero(currency);
    for f in fees {
        let amount = Money::new(
            i64::try_from(f.amount).map_err(internal)?,
            Currency::parse(&f.currency).map_err(internal)?,
        )
        .map_err(internal)?;
        match f.due {
            FeeDue::Online => online = online.checked_add(amount).map_err(internal)?,
            FeeDue::AtCentre => centre = centre.checked_add(amount).map_err(internal)?,
        }
    }
    let order = Order {
        id,
        application_id: application.to_string(),
        owner_id: owner.clone(),
        purpose: purpose.to_string(),
        online,
        centre,
        created_at: at,
        paid_by: None,
        paid_at: None,
    };
    store::insert_order(work, &order).await?;
    Ok(Some(order))
}

/// The configured payment gateway, if any.
pub fn gateway_from_config(
    config: &crate::config::PaymentsConfig,
    http: &reqwest::Client,
) -> anyhow::Result<Option<Arc<dyn PaymentGateway>>> {
    use crate::config::GatewayKind;
    let Some(g) = &config.gateway else {
        return Ok(None);
    };
    anyhow::ensure!(
        !g.name.is_empty()
            && g.name.len() <= 32
            && g.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && g.name != CHALLAN
            && g.name != CENTRE,
        "payments.gateway.name must be lower-case letters, digits and '-' (not challan or centre)"
    );
    url::Url::parse(&g.url).map_err(|e| anyhow::anyhow!("payments.gateway.url: {e}"))?;
    Ok(Some(match g.kind {
        GatewayKind::Ekdwar => Arc::new(gateway::EkdwarGateway {
            name: g.name.clone(),
            url: g.url.trim_end_matches('/').to_string(),
            api_key: g.key.expose().to_string(),
            secret: g.secret.expose().to_string(),
            http: http.clone(),
        }),
        GatewayKind::Payu => Arc::new(payu::Payu {
            name: g.name.clone(),
            checkout_url: g.url.trim_end_matches('/').to_string(),
            api_url: g
                .api_url
                .clone()
                .ok_or_else(|| anyhow::anyhow!("payments.gateway.api_url is needed for PayU"))?,
            key: g.key.expose().to_string(),
            salt: g.secret.expose().to_string(),
            http: http.clone(),
        }),
    }))
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string().into())
}

fn event(
    kind: EventKind,
    subject: &str,
    channel: Option<PayChannel>,
    amount: Money,
    reference: Option<String>,
    at: Timestamp,
) -> LedgerEvent {
    LedgerEvent {
        kind,
        subject: subject.to_string(),
        channel,
        amount,
        reference,
        at,
    }
}

/// Who pays an order: what the messages about it need.
#[derive(Debug, Clone)]
pub struct Payer {
    pub order: Order,
    pub account: Option<AccountView>,
    pub lang: Lang,
    pub arn: String,
}

impl Payer {
    /// What is paid online.
    pub fn paid_online(&self) -> Money {
        self.order.online
    }
}

/// Why a notification was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoticeRefused {
    /// No gateway of that name.
    #[error("no such gateway")]
    UnknownGateway,
    /// Unsigned, badly signed or stale.
    #[error("bad signature")]
    Signature,
    /// Not readable.
    #[error("malformed")]
    Malformed,
    /// For no payment of ours.
    #[error("unknown payment")]
    UnknownPayment,
    /// Another amount or currency than the payment's.
    #[error("amount or currency differs from the order")]
    AmountMismatch,
    /// The portal could not record it (the gateway will retry).
    #[error("could not record")]
    Internal,
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweptPayments {
    /// Gateway payments asked about.
    pub queried: usize,
    /// Of those, now decided.
    pub settled: usize,
    /// Attempts closed as expired (abandoned pages, challans past their validity).
    pub expired: usize,
    /// Refunds paid out or refused by the gateway.
    pub refunds: usize,
}

impl Payments {
    /// Whether card and net banking can be offered.
    pub fn online(&self) -> bool {
        self.gateway.is_some()
    }

    /// The origins a paying page may send the browser to (the gateway's pages).
    pub fn page_origins(&self) -> Vec<String> {
        self.gateway
            .as_ref()
            .map(|g| g.page_origins())
            .unwrap_or_default()
    }

    /// The header in which the gateway `name` signs its notifications.
    pub fn signature_header(&self, name: &str) -> Option<&'static str> {
        self.gateway
            .as_ref()
            .filter(|g| g.name() == name)
            .and_then(|g| g.signature_header())
    }

    /// The channels a payer may choose.
    pub fn channels(&self) -> Vec<PayChannel> {
        let mut out = Vec::new();
        if self.gateway.is_some() {
            out.extend([PayChannel::Card, PayChannel::NetBanking]);
        }
        if self.config.payments.challan {
            out.push(PayChannel::Challan);
        }
        out
    }

    async fn load(&self, order: Order) -> AppResult<Payment> {
        let mut conn = self.store.read().await?;
        let events = store::events(&mut conn, &order.id).await?;
        let attempts = store::attempts_of(&mut conn, &order.id).await?;
        let view = OrderView::fold(&events.into_iter().map(|e| e.event).collect::<Vec<_>>());
        Ok(Payment {
            order,
            view,
            attempts,
        })
    }

    /// The payment of one of `owner`'s applications (none when nothing is owed).
    pub async fn of_application(
        &self,
        owner: &UserId,
        application: &ApplicationId,
    ) -> AppResult<Option<Payment>> {
        let order =
            store::order_of_application(&mut *self.store.read().await?, application).await?;
        match order {
            Some(o) if &o.owner_id == owner => Ok(Some(self.load(o).await?)),
            Some(_) => Err(AppError::NotFound),
            None => Ok(None),
        }
    }

    /// The payment of an application whoever owns it (staff at a centre, the CLI).
    pub async fn of_application_any(
        &self,
        application: &ApplicationId,
    ) -> AppResult<Option<Payment>> {
        let order =
            store::order_of_application(&mut *self.store.read().await?, application).await?;
        match order {
            Some(o) => Ok(Some(self.load(o).await?)),
            None => Ok(None),
        }
    }

    /// `owner`'s payments, newest first.
    pub async fn history(&self, owner: &UserId) -> AppResult<Vec<Payment>> {
        let orders = store::orders_of(&mut *self.store.read().await?, owner, 100).await?;
        let mut out = Vec::with_capacity(orders.len());
        for o in orders {
            out.push(self.load(o).await?);
        }
        Ok(out)
    }

    /// One attempt of one of `owner`'s orders, with its order (for receipts and challans).
    pub async fn attempt_of(&self, owner: &UserId, attempt: &str) -> AppResult<(Payment, Attempt)> {
        let mut conn = self.store.read().await?;
        let a = store::attempt(&mut conn, attempt)
            .await?
            .ok_or(AppError::NotFound)?;
        let order = store::order(&mut conn, &a.order_id)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(conn);
        if &order.owner_id != owner {
            return Err(AppError::NotFound);
        }
        Ok((self.load(order).await?, a))
    }

    /// Starts paying an application's fee by `channel`: a gateway payment (the browser is sent
    /// to the gateway) or a challan (printed, paid at the bank). A payment still under way is
    /// asked about first, so that a payer who comes back does not pay twice; an open challan
    /// is shown again rather than a second one made.
    pub async fn start(
        &self,
        account: &AccountView,
        application: &ApplicationId,
        channel: PayChannel,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<Started> {
        self.start_paying(account, application, channel, None, lang, actor)
            .await
    }

    /// As [`Payments::start`], for a card or net-banking payment whose success books the
    /// appointment `hold` (its failure releases it).
    pub async fn start_for_hold(
        &self,
        account: &AccountView,
        application: &ApplicationId,
        channel: PayChannel,
        hold: &str,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<Started> {
        if !channel.is_online() {
            return Err(AppError::field("channel", "payment-channel-required"));
        }
        self.start_paying(account, application, channel, Some(hold), lang, actor)
            .await
    }

    async fn start_paying(
        &self,
        account: &AccountView,
        application: &ApplicationId,
        channel: PayChannel,
        hold: Option<&str>,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<Started> {
        let loaded = self.applications.get(&account.id, application).await?;
        let Some(mut payment) = self.of_application(&account.id, application).await? else {
            return Err(AppError::field("channel", "payment-nothing-due"));
        };
        if !self.channels().contains(&channel) {
            return Err(AppError::field("channel", "payment-channel-unavailable"));
        }
        // Double verification: ask about open gateway payments before making another.
        let open: Vec<Attempt> = payment
            .attempts
            .iter()
            .filter(|a| a.closed_at.is_none() && a.channel.is_online())
            .cloned()
            .collect();
        if !open.is_empty() {
            for a in &open {
                let _ = self.query(a).await;
            }
            payment = self.load(payment.order.clone()).await?;
        }
        if payment.status() == OrderStatus::Paid {
            return Err(AppError::field("channel", "payment-already-paid"));
        }
        let now = self.clock.now();
        let amount = payment.order.online;
        let id = self.random.id();
        if channel == PayChannel::Challan {
            if let Some(open) = payment.open_challan() {
                return Ok(Started::Challan(open.id.clone()));
            }
            let reference =
                ChallanRef::generate(self.applications.today().year(), |n| self.random.below(n));
            let (from, until) = challan::window(now);
            let attempt = Attempt {
                id: id.clone(),
                order_id: payment.order.id.clone(),
                channel,
                gateway: CHALLAN.into(),
                reference: Some(reference.as_str().to_string()),
                amount,
                created_at: now,
                payable_from: Some(from),
                valid_until: Some(until),
                closed_at: None,
                hold_id: None,
            };
            self.begin_attempt(&attempt, account, actor).await?;
            return Ok(Started::Challan(id));
        }
        let gateway = self
            .gateway
            .clone()
            .ok_or_else(|| AppError::field("channel", "payment-channel-unavailable"))?;
        let attempt = Attempt {
            id: id.clone(),
            order_id: payment.order.id.clone(),
            channel,
            gateway: gateway.name().to_string(),
            reference: None,
            amount,
            created_at: now,
            payable_from: None,
            valid_until: Some(now.plus(self.stuck_after())),
            closed_at: None,
            hold_id: hold.map(str::to_string),
        };
        self.begin_attempt(&attempt, account, actor).await?;
        let base = self.config.public_url();
        let request = gateway::CreateRequest {
            attempt: id.clone(),
            amount,
            description: format!(
                "{} {}",
                loaded.service.name.get(&lang.tag(), "en"),
                loaded
                    .arn
                    .as_ref()
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            ),
            channel,
            language: lang.tag(),
            payer_name: account.full_name(),
            payer_email: account.email.clone(),
            return_url: format!("{base}/payments/return/{id}"),
            notify_url: format!("{base}/api/payments/notify/{}", gateway.name()),
        };
        match gateway.create(&request).await {
            Ok(created) => {
                store::set_reference(&mut *self.store.conn().await?, &id, &created.id).await?;
                Ok(Started::Gateway(created.next))
            }
            Err(e) => {
                tracing::warn!(attempt = %id, error = %e, "gateway refused to create a payment");
                let mut work = self.work().await?;
                store::append(
                    &mut work,
                    &NewEvent {
                        order_id: &payment.order.id,
                        event: &event(
                            EventKind::AttemptFailed,
                            &id,
                            Some(channel),
                            amount,
                            None,
                            self.clock.now(),
                        ),
                        actor_id: None,
                        note: Some("the gateway could not create the payment"),
                    },
                )
                .await?;
                store::close_attempt(&mut work, &id, self.clock.now()).await?;
                work.commit().await?;
                Err(AppError::field("channel", "payment-gateway-unavailable"))
            }
        }
    }

    fn stuck_after(&self) -> Duration {
        Duration::from_secs(self.config.payments.stuck_after_minutes.max(1) * 60)
    }

    async fn begin_attempt(
        &self,
        attempt: &Attempt,
        account: &AccountView,
        actor: &Actor,
    ) -> AppResult<()> {
        let mut work = self.work().await?;
        store::insert_attempt(&mut work, attempt).await?;
        store::append(
            &mut work,
            &NewEvent {
                order_id: &attempt.order_id,
                event: &event(
                    EventKind::AttemptStarted,
                    &attempt.id,
                    Some(attempt.channel),
                    attempt.amount,
                    attempt.reference.clone(),
                    attempt.created_at,
                ),
                actor_id: Some(account.id.as_str()),
                note: None,
            },
        )
        .await?;
        self.audit(
            &mut work,
            actor,
            Some(&account.id),
            AuditAction::PaymentStarted,
            Outcome::Success,
            Some(format!(
                "{} {} {}",
                attempt.channel, attempt.amount, attempt.order_id
            )),
        )
        .await?;
        work.commit().await
    }

    /// The browser came back from the gateway. What it says is not believed: the portal asks
    /// the gateway where the payment stands, records what it answers, and returns the
    /// application the payment is for (to show the payer where it stands).
    pub async fn returned(
        &self,
        owner: &UserId,
        attempt: &str,
    ) -> AppResult<(ApplicationId, OrderStatus)> {
        let (payment, a) = self.attempt_of(owner, attempt).await?;
        if a.closed_at.is_none()
            && a.channel.is_online()
            && let Err(e) = self.query(&a).await
        {
            tracing::warn!(attempt, error = %e.chain(), "status query after return failed");
        }
        let payment = self.load(payment.order).await?;
        Ok((
            ApplicationId::new(payment.order.application_id.clone()),
            payment.status(),
        ))
    }

    /// Asks the gateway about an attempt and records its answer. Returns whether the attempt
    /// is now decided.
    async fn query(&self, a: &Attempt) -> AppResult<bool> {
        let (Some(gateway), Some(reference)) = (&self.gateway, &a.reference) else {
            return Ok(false);
        };
        if gateway.name() != a.gateway {
            return Ok(false);
        }
        let reported = match gateway.status(reference, &a.id).await {
            Ok(r) => r,
            Err(e) => {
                return Err(AppError::Internal(e.to_string().into()));
            }
        };
        if reported.attempt != a.id || reported.id != *reference {
            return Err(internal("the gateway answered about another payment"));
        }
        if !gateway::same_money(&reported, a.amount) {
            self.refuse_money(a, &reported, "status query").await?;
            return Ok(false);
        }
        self.record(a, reported.status, Some(reported.id)).await
    }

    async fn refuse_money(
        &self,
        a: &Attempt,
        reported: &gateway::Reported,
        source: &str,
    ) -> AppResult<()> {
        tracing::warn!(
            attempt = %a.id,
            expected = %a.amount,
            reported_amount = reported.amount,
            reported_currency = %reported.currency,
            source,
            "a gateway reported another amount than the payment's; not recorded"
        );
        let mut work = self.work().await?;
        self.audit(
            &mut work,
            &Actor::system(),
            None,
            AuditAction::PaymentNoticeRejected,
            Outcome::Denied,
            Some(format!(
                "{source}: attempt {} expected {} got {} {}",
                a.id, a.amount, reported.amount, reported.currency
            )),
        )
        .await?;
        work.commit().await
    }

    /// Records what a gateway (or the bank) says of an attempt; the same fact twice is
    /// recorded once. A success pays the order, or, when another payment paid it first, is a
    /// duplicate to refund. Returns whether the attempt is now decided.
    async fn record(
        &self,
        a: &Attempt,
        status: GatewayStatus,
        reference: Option<String>,
    ) -> AppResult<bool> {
        let kind = match status {
            GatewayStatus::Created => return Ok(false),
            GatewayStatus::Pending => EventKind::AttemptPending,
            GatewayStatus::Succeeded => EventKind::AttemptSucceeded,
            GatewayStatus::Failed => EventKind::AttemptFailed,
            GatewayStatus::Cancelled => EventKind::AttemptCancelled,
        };
        // Whom to tell, read before the write transaction (which must not wait for reads).
        let payer = match kind {
            EventKind::AttemptSucceeded => Some(self.payer_of(&a.order_id).await?),
            _ => None,
        };
        let now = self.clock.now();
        let mut work = self.work().await?;
        store::lock_order(&mut work, &a.order_id).await?;
        let fact = event(kind, &a.id, Some(a.channel), a.amount, reference, now);
        let new = store::append(
            &mut work,
            &NewEvent {
                order_id: &a.order_id,
                event: &fact,
                actor_id: None,
                note: None,
            },
        )
        .await?;
        if !new {
            return Ok(kind != EventKind::AttemptPending);
        }
        if kind == EventKind::AttemptPending {
            work.commit().await?;
            return Ok(false);
        }
        store::close_attempt(&mut work, &a.id, now).await?;
        if let Some(payer) = payer {
            self.paid(&mut work, a, &payer, now).await?;
        }
        if a.hold_id.is_some() {
            // The appointment it was paying for is booked or released by the jobs runner.
            self.enqueue_job(
                &mut work,
                crate::jobs::SETTLE_HOLD,
                &serde_json::json!({ "attempt": a.id }),
            )
            .await?;
        }
        work.commit().await?;
        Ok(true)
    }

    /// Who pays an application's order (none when nothing is owed).
    pub async fn payer(&self, application: &str) -> AppResult<Option<Payer>> {
        let order =
            store::order_of_application(&mut *self.store.read().await?, application).await?;
        match order {
            Some(o) => Ok(Some(self.payer_of(&o.id).await?)),
            None => Ok(None),
        }
    }

    /// An attempt and what its ledger says of it (for the appointment it pays for).
    pub async fn attempt_status(
        &self,
        attempt: &str,
    ) -> AppResult<Option<(Attempt, ekdwar_domain::payments::AttemptStatus)>> {
        let mut conn = self.store.read().await?;
        let Some(a) = store::attempt(&mut conn, attempt).await? else {
            return Ok(None);
        };
        let events = store::events(&mut conn, &a.order_id).await?;
        drop(conn);
        let view = OrderView::fold(&events.into_iter().map(|e| e.event).collect::<Vec<_>>());
        let status = view
            .attempt(&a.id)
            .map(|v| v.status)
            .ok_or_else(|| internal("an attempt missing from its ledger"))?;
        Ok(Some((a, status)))
    }

    /// Who pays an order, in what language, for which ARN.
    async fn payer_of(&self, order: &str) -> AppResult<Payer> {
        let order = store::order(&mut *self.store.read().await?, order)
            .await?
            .ok_or_else(|| internal("an attempt without its order"))?;
        let account = self.identity_of(&order.owner_id).await?;
        let lang = account
            .as_ref()
            .map(|o| self.applications.language_of(o))
            .unwrap_or_else(|| self.default_lang.clone());
        let arn = self.arn_of(&order.application_id).await?;
        Ok(Payer {
            order,
            account,
            lang,
            arn,
        })
    }

    /// An attempt succeeded: it pays the order, or it is a duplicate and its money goes back.
    async fn paid(
        &self,
        work: &mut Work<'_>,
        a: &Attempt,
        payer: &Payer,
        now: Timestamp,
    ) -> AppResult<()> {
        let Payer {
            order,
            account: owner,
            lang,
            arn,
        } = payer;
        let arn = arn.clone();
        if store::claim_paid(work, &order.id, &a.id, now).await? {
            self.audit(
                work,
                &Actor::system(),
                Some(order.owner_id.as_str()),
                AuditAction::PaymentReceived,
                Outcome::Success,
                Some(format!("{} {} {}", a.channel, a.amount, order.id)),
            )
            .await?;
            if let Some(owner) = &owner {
                self.applications
                    .tell_with(
                        work,
                        owner,
                        lang,
                        "payment-received",
                        vec![
                            ("arn", arn.clone()),
                            ("amount", a.amount.display(&lang.tag())),
                        ],
                    )
                    .await?;
            }
            return Ok(());
        }
        // Paid twice: the second payment goes back the way it came.
        if let Some(refund) = self
            .request_refund(work, &order.id, a, "duplicate", None, now)
            .await?
        {
            self.audit(
                work,
                &Actor::system(),
                Some(order.owner_id.as_str()),
                AuditAction::PaymentDuplicate,
                Outcome::Success,
                Some(format!("{} {} refund {}", a.id, a.amount, refund.id)),
            )
            .await?;
            if let Some(owner) = &owner {
                self.applications
                    .tell_with(
                        work,
                        owner,
                        lang,
                        "payment-duplicate",
                        vec![("arn", arn), ("amount", a.amount.display(&lang.tag()))],
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Decides that an attempt's money goes back the way it came — through the gateway (paid
    /// out by the sweep, which is woken), or to the treasury for a challan — and records it in
    /// the ledger. `None` when that attempt is already being refunded.
    async fn request_refund(
        &self,
        work: &mut Work<'_>,
        order: &str,
        a: &Attempt,
        reason: &str,
        actor_id: Option<&str>,
        now: Timestamp,
    ) -> AppResult<Option<Refund>> {
        let route = if a.channel == PayChannel::Challan {
            RefundRoute::Treasury
        } else {
            RefundRoute::Gateway
        };
        let refund = Refund {
            id: self.random.id(),
            order_id: order.to_string(),
            attempt_id: a.id.clone(),
            route,
            amount: a.amount,
            reason: reason.to_string(),
            created_at: now,
            closed_at: None,
        };
        if !store::insert_refund(work, &refund).await? {
            return Ok(None);
        }
        store::append(
            work,
            &NewEvent {
                order_id: order,
                event: &event(
                    EventKind::RefundRequested,
                    &refund.id,
                    Some(a.channel),
                    a.amount,
                    Some(a.id.clone()),
                    now,
                ),
                actor_id,
                note: Some(reason),
            },
        )
        .await?;
        if route == RefundRoute::Gateway {
            self.enqueue_job(work, crate::jobs::SWEEP_PAYMENTS, &serde_json::json!({}))
                .await?;
        }
        Ok(Some(refund))
    }

    async fn identity_of(&self, owner: &UserId) -> AppResult<Option<AccountView>> {
        self.applications.account(owner).await
    }

    async fn arn_of(&self, application: &str) -> AppResult<String> {
        let a = ekdwar_store::applications::by_id(
            &mut *self.store.read().await?,
            &ApplicationId::new(application),
        )
        .await?;
        Ok(a.and_then(|a| a.arn)
            .and_then(|a| ekdwar_domain::catalog::Arn::parse(&a).ok())
            .map(|a| a.to_string())
            .unwrap_or_default())
    }

    /// A gateway's server-to-server notification: checked (signature in constant time, its
    /// age, the payment it names, the amount and currency), de-duplicated by event id, and
    /// recorded.
    pub async fn notified(
        &self,
        gateway_name: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), NoticeRefused> {
        let gateway = self
            .gateway
            .clone()
            .filter(|g| g.name() == gateway_name)
            .ok_or(NoticeRefused::UnknownGateway)?;
        let now_secs = self.clock.now().millis() / 1000;
        let notice = match gateway.read_notice(signature, body, now_secs) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(gateway = gateway_name, error = %e, "payment notification refused");
                let _ = self.audit_refusal(&format!("{gateway_name}: {e}")).await;
                return Err(match e {
                    gateway::NoticeError::Signature(_) => NoticeRefused::Signature,
                    gateway::NoticeError::Malformed => NoticeRefused::Malformed,
                });
            }
        };
        let attempt = async {
            let mut conn = self.store.read().await?;
            store::attempt(&mut conn, &notice.payment.attempt).await
        }
        .await
        .map_err(|_| NoticeRefused::Internal)?;
        let Some(a) = attempt.filter(|a| {
            a.gateway == gateway_name
                && a.reference
                    .as_deref()
                    .is_none_or(|r| r == notice.payment.id)
        }) else {
            return Err(NoticeRefused::UnknownPayment);
        };
        if !gateway::same_money(&notice.payment, a.amount) {
            let _ = self.refuse_money(&a, &notice.payment, "notification").await;
            return Err(NoticeRefused::AmountMismatch);
        }
        let fresh = async {
            let mut conn = self.store.conn().await?;
            store::note_notice(&mut conn, gateway_name, &notice.event_id, self.clock.now()).await
        }
        .await
        .map_err(|_| NoticeRefused::Internal)?;
        if !fresh {
            return Ok(());
        }
        if a.reference.is_none() {
            let mut conn = self
                .store
                .conn()
                .await
                .map_err(|_| NoticeRefused::Internal)?;
            let _ = store::set_reference(&mut conn, &a.id, &notice.payment.id).await;
        }
        self.record(&a, notice.payment.status, Some(notice.payment.id))
            .await
            .map_err(|e| {
                tracing::error!(error = %e.chain(), "cannot record a payment notification");
                NoticeRefused::Internal
            })?;
        Ok(())
    }

    async fn audit_refusal(&self, detail: &str) -> AppResult<()> {
        let mut work = self.work().await?;
        self.audit(
            &mut work,
            &Actor::system(),
            None,
            AuditAction::PaymentNoticeRejected,
            Outcome::Denied,
            Some(detail.to_string()),
        )
        .await?;
        work.commit().await
    }

    /// The jobs runner's sweep: asks gateways about payments heard nothing of, closes abandoned
    /// ones and challans past their validity, and pays out refunds through the gateway.
    pub async fn sweep(&self) -> AppResult<SweptPayments> {
        let now = self.clock.now();
        let mut swept = SweptPayments::default();
        let open = store::open_attempts(
            &mut *self.store.read().await?,
            now.minus(self.stuck_after()),
            SWEEP_BATCH,
        )
        .await?;
        for a in open {
            match a.channel {
                PayChannel::Card | PayChannel::NetBanking => {
                    swept.queried += 1;
                    match self.query(&a).await {
                        Ok(true) => swept.settled += 1,
                        Ok(false) => {
                            // Nothing decided after twice the wait (a page abandoned, a bank
                            // that never answers): closed. A late success still counts.
                            if a.created_at < now.minus(self.stuck_after() * 2)
                                && self.expire(&a).await?
                            {
                                swept.expired += 1;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(attempt = %a.id, error = %e.chain(), "status query failed");
                        }
                    }
                }
                PayChannel::Challan => {
                    if a.valid_until.is_some_and(|v| v < now) && self.expire(&a).await? {
                        swept.expired += 1;
                    }
                }
                PayChannel::Centre => {}
            }
        }
        swept.refunds = self.pay_out_refunds().await?;
        Ok(swept)
    }

    async fn expire(&self, a: &Attempt) -> AppResult<bool> {
        let now = self.clock.now();
        let mut work = self.work().await?;
        store::lock_order(&mut work, &a.order_id).await?;
        let new = store::append(
            &mut work,
            &NewEvent {
                order_id: &a.order_id,
                event: &event(
                    EventKind::AttemptExpired,
                    &a.id,
                    Some(a.channel),
                    a.amount,
                    None,
                    now,
                ),
                actor_id: None,
                note: None,
            },
        )
        .await?;
        store::close_attempt(&mut work, &a.id, now).await?;
        if new && a.hold_id.is_some() {
            self.enqueue_job(
                &mut work,
                crate::jobs::SETTLE_HOLD,
                &serde_json::json!({ "attempt": a.id }),
            )
            .await?;
        }
        work.commit().await?;
        Ok(new)
    }

    /// Pays out refunds through the gateway that took the money; a refusal is recorded and
    /// left to an administrator, an unreachable gateway is tried again at the next sweep.
    async fn pay_out_refunds(&self) -> AppResult<usize> {
        let Some(gateway) = self.gateway.clone() else {
            return Ok(0);
        };
        let open = store::open_refunds(
            &mut *self.store.read().await?,
            RefundRoute::Gateway,
            SWEEP_BATCH,
        )
        .await?;
        let mut done = 0;
        for r in open {
            let a = store::attempt(&mut *self.store.read().await?, &r.attempt_id).await?;
            let Some(reference) = a.and_then(|a| a.reference) else {
                continue;
            };
            let (kind, note) = match gateway.refund(&reference, r.amount, &r.id).await {
                Ok(d) if d.succeeded => (EventKind::RefundSucceeded, Some(d.id)),
                Ok(_) => continue,
                Err(gateway::GatewayError::Refused(why)) => (EventKind::RefundFailed, Some(why)),
                Err(gateway::GatewayError::Unavailable(why)) => {
                    tracing::warn!(refund = %r.id, error = %why, "refund call failed; will retry");
                    continue;
                }
            };
            let now = self.clock.now();
            let mut work = self.work().await?;
            store::append(
                &mut work,
                &NewEvent {
                    order_id: &r.order_id,
                    event: &event(kind, &r.id, None, r.amount, note.clone(), now),
                    actor_id: None,
                    note: note.as_deref(),
                },
            )
            .await?;
            store::close_refund(&mut work, &r.id, now).await?;
            self.audit(
                &mut work,
                &Actor::system(),
                None,
                AuditAction::PaymentRefunded,
                if kind == EventKind::RefundSucceeded {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                Some(format!("{} {} {}", r.id, r.amount, r.reason)),
            )
            .await?;
            work.commit().await?;
            done += 1;
        }
        Ok(done)
    }

    /// Imports the bank's statement: each line that names a challan of ours, for its exact
    /// amount, paid within its window, confirms it. Importing the same file again changes
    /// nothing. `progress` is told after each line.
    pub async fn reconcile(
        &self,
        lines: Vec<(usize, Result<StatementLine, StatementError>)>,
        actor: &Actor,
        mut progress: impl FnMut(usize),
    ) -> AppResult<ReconcileReport> {
        let mut report = ReconcileReport::default();
        for (n, (line_no, line)) in lines.into_iter().enumerate() {
            progress(n + 1);
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    report.unmatched.push(Unmatched {
                        line: line_no,
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let a = store::attempt_by_reference(
                &mut *self.store.read().await?,
                CHALLAN,
                line.challan.as_str(),
            )
            .await?;
            let Some(a) = a else {
                report.unmatched.push(Unmatched {
                    line: line_no,
                    reason: format!("no challan {} was issued here", line.challan),
                });
                continue;
            };
            if line.amount != a.amount {
                report.unmatched.push(Unmatched {
                    line: line_no,
                    reason: format!(
                        "challan {} is for {}, the bank reports {}",
                        line.challan, a.amount, line.amount
                    ),
                });
                continue;
            }
            if a.payable_from.is_some_and(|f| line.paid_at < f)
                || a.valid_until.is_some_and(|u| line.paid_at > u)
            {
                report.unmatched.push(Unmatched {
                    line: line_no,
                    reason: format!(
                        "challan {} was paid outside its window (3 hours after issue, for 85 days)",
                        line.challan
                    ),
                });
                continue;
            }
            let already = store::events(&mut *self.store.read().await?, &a.order_id)
                .await?
                .iter()
                .any(|e| e.event.subject == a.id && e.event.kind == EventKind::AttemptSucceeded);
            if already {
                report.already += 1;
                continue;
            }
            self.record(
                &a,
                GatewayStatus::Succeeded,
                Some(line.bank_reference.clone()),
            )
            .await?;
            report.confirmed += 1;
        }
        let mut work = self.work().await?;
        self.audit(
            &mut work,
            actor,
            None,
            AuditAction::PaymentsReconciled,
            Outcome::Success,
            Some(format!(
                "confirmed {} already {} unmatched {}",
                report.confirmed,
                report.already,
                report.unmatched.len()
            )),
        )
        .await?;
        work.commit().await?;
        Ok(report)
    }

    /// Hands the challan refunds not yet exported to the treasury: each is marked exported, so
    /// that the next export holds only new ones.
    pub async fn export_refunds(&self, actor: &Actor) -> AppResult<Vec<RefundLine>> {
        let open = store::open_refunds(
            &mut *self.store.read().await?,
            RefundRoute::Treasury,
            10_000,
        )
        .await?;
        let mut out = Vec::with_capacity(open.len());
        for r in open {
            let mut conn = self.store.read().await?;
            let a = store::attempt(&mut conn, &r.attempt_id).await?;
            let order = store::order(&mut conn, &r.order_id).await?;
            drop(conn);
            let (Some(a), Some(order)) = (a, order) else {
                continue;
            };
            let payer = self.identity_of(&order.owner_id).await?;
            let now = self.clock.now();
            let mut work = self.work().await?;
            store::append(
                &mut work,
                &NewEvent {
                    order_id: &r.order_id,
                    event: &event(EventKind::RefundExported, &r.id, None, r.amount, None, now),
                    actor_id: actor.user_id.as_deref(),
                    note: None,
                },
            )
            .await?;
            store::close_refund(&mut work, &r.id, now).await?;
            self.audit(
                &mut work,
                actor,
                Some(order.owner_id.as_str()),
                AuditAction::PaymentRefunded,
                Outcome::Success,
                Some(format!("{} {} exported to the treasury", r.id, r.amount)),
            )
            .await?;
            work.commit().await?;
            let bank_reference = store::events(&mut *self.store.read().await?, &r.order_id)
                .await?
                .into_iter()
                .find(|e| e.event.subject == a.id && e.event.kind == EventKind::AttemptSucceeded)
                .and_then(|e| e.event.reference);
            out.push(RefundLine {
                refund: r.id,
                arn: self.arn_of(&order.application_id).await?,
                challan: a.reference.unwrap_or_default(),
                bank_reference: bank_reference.unwrap_or_default(),
                amount: r.amount,
                payer: payer.map(|p| p.full_name()).unwrap_or_default(),
                reason: r.reason,
            });
        }
        Ok(out)
    }

    /// Refunds the payment that paid an application's order (a cancellation the service
    /// refunds), the way it came: through the gateway, or to the treasury for a challan. Once:
    /// an attempt is refunded at most once.
    pub async fn refund_paid(
        &self,
        application: &str,
        reason: &str,
        actor: &Actor,
    ) -> AppResult<()> {
        let Some(order) =
            store::order_of_application(&mut *self.store.read().await?, application).await?
        else {
            return Ok(());
        };
        let Some(paid_by) = order.paid_by.clone() else {
            return Ok(());
        };
        let a = store::attempt(&mut *self.store.read().await?, &paid_by)
            .await?
            .ok_or_else(|| internal("the paying attempt is missing"))?;
        let now = self.clock.now();
        let mut work = self.work().await?;
        store::lock_order(&mut work, &order.id).await?;
        let Some(refund) = self
            .request_refund(
                &mut work,
                &order.id,
                &a,
                reason,
                actor.user_id.as_deref(),
                now,
            )
            .await?
        else {
            return Ok(());
        };
        self.audit(
            &mut work,
            actor,
            Some(order.owner_id.as_str()),
            AuditAction::PaymentRefunded,
            Outcome::Success,
            Some(format!("{} {} {reason} requested", refund.id, a.amount)),
        )
        .await?;
        work.commit().await
    }

    /// Records the balance due at the centre as paid there, taken by `operator` at `centre`;
    /// once per order. The amount.
    pub async fn record_at_centre(
        &self,
        application: &str,
        operator: &UserId,
        centre: &str,
        actor: &Actor,
    ) -> AppResult<Money> {
        let order = store::order_of_application(&mut *self.store.read().await?, application)
            .await?
            .filter(|o| !o.centre.is_zero())
            .ok_or_else(|| AppError::field("appointment", "centre-nothing-due"))?;
        let now = self.clock.now();
        let mut work = self.work().await?;
        store::lock_order(&mut work, &order.id).await?;
        let new = store::append(
            &mut work,
            &NewEvent {
                order_id: &order.id,
                event: &event(
                    EventKind::CentrePaid,
                    &order.id,
                    Some(PayChannel::Centre),
                    order.centre,
                    Some(centre.to_string()),
                    now,
                ),
                actor_id: Some(operator.as_str()),
                note: None,
            },
        )
        .await?;
        if !new {
            return Err(AppError::field("appointment", "centre-already-paid"));
        }
        self.audit(
            &mut work,
            actor,
            Some(order.owner_id.as_str()),
            AuditAction::PaymentAtCentre,
            Outcome::Success,
            Some(format!("{} {} centre {centre}", order.id, order.centre)),
        )
        .await?;
        work.commit().await?;
        Ok(order.centre)
    }

    /// The day's ledger (a calendar day in the portal's time zone), for reconciliation.
    pub async fn report(&self, day: jiff::civil::Date) -> AppResult<DailyReport> {
        let start = day
            .to_zoned(self.time_zone.clone())
            .map_err(internal)?
            .timestamp()
            .as_millisecond();
        let end = day
            .tomorrow()
            .map_err(internal)?
            .to_zoned(self.time_zone.clone())
            .map_err(internal)?
            .timestamp()
            .as_millisecond();
        let events = store::events_between(
            &mut *self.store.read().await?,
            Timestamp::from_millis(start),
            Timestamp::from_millis(end),
        )
        .await?;
        Ok(DailyReport::of(day, &events))
    }
}
