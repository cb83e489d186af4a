//! The payments sweep: asking gateways about attempts heard nothing of, closing abandoned
//! attempts and expired challans, and paying out refunds through the gateway.

use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::payments::{EventKind, PayChannel};
use ekdwar_store::payments::{self as store, Attempt, NewEvent, RefundRoute};

use crate::audit::Actor;
use crate::error::AppResult;

use super::{Payments, SETTLE_HOLD, SWEEP_BATCH, SweptPayments, event, gateway};

impl Payments {
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
                PayChannel::Upi | PayChannel::Card | PayChannel::NetBanking => {
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

    pub(super) async fn expire(&self, a: &Attempt) -> AppResult<bool> {
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
                SETTLE_HOLD,
                &serde_json::json!({ "attempt": a.id }),
            )
            .await?;
        }
        work.commit().await?;
        Ok(new)
    }

    /// Pays out refunds through the gateway that took the money; a refusal is recorded and
    /// left to an administrator, an unreachable gateway is tried again at the next sweep.
    pub(super) async fn pay_out_refunds(&self) -> AppResult<usize> {
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
}
