//! Money that does not pass through a gateway: challans confirmed from the bank's statement,
//! and fees taken at a service centre.

use ekdwar_domain::UserId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::payments::challan::{StatementError, StatementLine};
use ekdwar_domain::payments::{EventKind, Money, PayChannel};
use ekdwar_store::payments::{self as store, NewEvent};

use crate::audit::Actor;
use crate::error::{AppError, AppResult};

use super::{CHALLAN, GatewayStatus, Payments, ReconcileReport, Unmatched, event};

impl Payments {
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
}
