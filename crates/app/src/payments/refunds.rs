//! Refunds: of a duplicate payment (automatic), of a paid fee (an officer's decision), and the
//! export of challan refunds for the treasury, each once.

use ekdwar_domain::Timestamp;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::payments::{EventKind, PayChannel};
use ekdwar_store::payments::{self as store, Attempt, NewEvent, Refund, RefundRoute};

use crate::audit::Actor;
use crate::core::Work;
use crate::error::{AppResult, internal};

use super::{Payments, RefundLine, SWEEP_PAYMENTS, event};

impl Payments {
    /// Decides that an attempt's money goes back the way it came — through the gateway (paid
    /// out by the sweep, which is woken), or to the treasury for a challan — and records it in
    /// the ledger. `None` when that attempt is already being refunded.
    pub(super) async fn request_refund(
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
            self.enqueue_job(work, SWEEP_PAYMENTS, &serde_json::json!({}))
                .await?;
        }
        Ok(Some(refund))
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
}
