//! Paying online: starting an attempt at the gateway (after asking about open ones), the
//! browser's return (which only makes the portal ask), the gateway's signed notification, and
//! recording money only when its amount and currency are exactly the attempt's.

use std::sync::Arc;
use std::time::Duration;

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::payments::challan::{self};
use ekdwar_domain::payments::{ChallanRef, EventKind, OrderStatus, PayChannel};
use ekdwar_domain::{ApplicationId, Timestamp, UserId};
use ekdwar_store::payments::{self as store, Attempt, NewEvent};

use crate::audit::Actor;
use crate::core::Work;
use crate::error::{AppError, AppResult, internal};
use crate::i18n::Lang;
use crate::views::AccountView;

use super::{
    CHALLAN, GatewayStatus, NoticeRefused, Payer, Payments, SETTLE_HOLD, Started, event, gateway,
};

/// The application a payment is for.
struct PaidFor {
    service: Arc<ekdwar_domain::catalog::Service>,
    arn: Option<String>,
}

/// What a payment being started is for.
pub(super) enum For<'a> {
    /// The fee, from its page; `challan_unpaid` as the payer said.
    Fee { challan_unpaid: bool },
    /// The fee, whose success books the appointment hold.
    Hold(&'a str),
}

impl Payments {
    /// Starts paying an application's fee by `channel`: a gateway payment (the browser is sent
    /// to the gateway) or a challan (printed, paid at the bank). A payment still under way is
    /// asked about first, so that a payer who comes back does not pay twice; an open challan
    /// is shown again rather than a second one made. While a challan waits to be paid at the
    /// bank, paying online needs the payer to say they have not paid it (`challan_unpaid`):
    /// paying both is refunded, but it is money away for days.
    pub async fn start(
        &self,
        account: &AccountView,
        application: &ApplicationId,
        channel: PayChannel,
        challan_unpaid: bool,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<Started> {
        self.start_paying(
            account,
            application,
            channel,
            For::Fee { challan_unpaid },
            lang,
            actor,
        )
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
        self.start_paying(account, application, channel, For::Hold(hold), lang, actor)
            .await
    }

    pub(super) async fn start_paying(
        &self,
        account: &AccountView,
        application: &ApplicationId,
        channel: PayChannel,
        what: For<'_>,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<Started> {
        let (hold, challan_unpaid) = match what {
            For::Fee { challan_unpaid } => (None, challan_unpaid),
            // A booking's page offers only online payment: an open challan is the fee page's.
            For::Hold(hold) => (Some(hold), true),
        };
        let paid_for = self.paid_for(&account.id, application).await?;
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
        if channel.is_online() && !challan_unpaid && payment.open_challan().is_some() {
            return Err(AppError::field("challan_unpaid", "payment-challan-open"));
        }
        let now = self.clock.now();
        let amount = payment.order.online;
        let id = self.random.id();
        if channel == PayChannel::Challan {
            if let Some(open) = payment.open_challan() {
                return Ok(Started::Challan(open.id.clone()));
            }
            let reference = ChallanRef::generate(self.today().year(), |n| self.random.below(n));
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
                paid_for.service.name.get(&lang.tag(), "en"),
                paid_for.arn.as_deref().unwrap_or_default()
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

    pub(super) fn stuck_after(&self) -> Duration {
        Duration::from_secs(self.config.payments.stuck_after_minutes.max(1) * 60)
    }

    pub(super) async fn begin_attempt(
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
    pub(super) async fn query(&self, a: &Attempt) -> AppResult<bool> {
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

    pub(super) async fn refuse_money(
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
    pub(super) async fn record(
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
                SETTLE_HOLD,
                &serde_json::json!({ "attempt": a.id }),
            )
            .await?;
        }
        work.commit().await?;
        Ok(true)
    }

    /// An attempt succeeded: it pays the order, or it is a duplicate and its money goes back.
    pub(super) async fn paid(
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
                self.tell_with(
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
                self.tell_with(
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

    /// What `owner`'s application `id` is for, to describe the payment to the gateway; not
    /// found for anyone else's.
    async fn paid_for(&self, owner: &UserId, id: &ApplicationId) -> AppResult<PaidFor> {
        let a = ekdwar_store::applications::owned(&mut *self.store.read().await?, id, owner)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(PaidFor {
            service: self.catalog.definition(&a.service, a.version).await?,
            arn: a.arn,
        })
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

    pub(super) async fn audit_refusal(&self, detail: &str) -> AppResult<()> {
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
}
