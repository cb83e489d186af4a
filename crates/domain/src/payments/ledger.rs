//! The payment ledger: every fact about an order's money is an event appended once and never
//! changed (an attempt started, a gateway said it succeeded, a refund was paid out). What an
//! order stands at — due, being paid, awaiting the bank, paid — is derived from its events by
//! [`OrderView::fold`], never stored apart from them.

use super::money::Money;
use crate::Timestamp;

crate::string_enum!(
    /// What happened.
    pub enum EventKind {
        /// A payment attempt began (a gateway order created, a challan generated).
        AttemptStarted => "attempt-started",
        /// The gateway has not decided yet (the bank is slow to answer).
        AttemptPending => "attempt-pending",
        /// The money arrived.
        AttemptSucceeded => "attempt-succeeded",
        /// The payment was refused.
        AttemptFailed => "attempt-failed",
        /// The payer turned back.
        AttemptCancelled => "attempt-cancelled",
        /// Nothing came in time (an abandoned gateway page, a challan past its validity).
        AttemptExpired => "attempt-expired",
        /// The balance due at the centre was paid there.
        CentrePaid => "centre-paid",
        /// Money is to go back (a duplicate payment, a cancellation that refunds).
        RefundRequested => "refund-requested",
        /// A challan refund was handed to the treasury in an export.
        RefundExported => "refund-exported",
        /// The money went back.
        RefundSucceeded => "refund-succeeded",
        /// The gateway refused the refund; an administrator must act.
        RefundFailed => "refund-failed",
    }
);

crate::string_enum!(
    /// How money is paid.
    pub enum PayChannel {
        /// UPI through a gateway: the payer approves a collect request, or scans a QR code,
        /// in any UPI app (BHIM, a bank's app…). How most people in India pay.
        Upi => "upi",
        /// A debit or credit card through a gateway.
        Card => "card",
        /// Net banking through a gateway.
        NetBanking => "netbanking",
        /// A printed challan paid at a bank counter.
        Challan => "challan",
        /// Cash or card at the service centre (the tatkaal balance).
        Centre => "centre",
    }
);

impl PayChannel {
    /// Whether a gateway handles it (UPI, card, net banking).
    pub fn is_online(self) -> bool {
        matches!(self, Self::Upi | Self::Card | Self::NetBanking)
    }
}

/// One fact in an order's ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEvent {
    /// What happened.
    pub kind: EventKind,
    /// What it happened to: an attempt's id, a refund's id, or the order's own id.
    pub subject: String,
    /// For attempts: how it was paid.
    pub channel: Option<PayChannel>,
    /// The money concerned.
    pub amount: Money,
    /// The other side's reference (the gateway's payment id, the bank's transaction number).
    pub reference: Option<String>,
    /// When it was recorded.
    pub at: Timestamp,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Nothing paid, nothing under way.
    Due,
    /// A gateway payment is under way or undecided.
    Processing,
    /// A challan was generated and the bank has not confirmed it.
    AwaitingBank,
    /// The online part is paid.
    Paid,
}

impl OrderStatus {
    /// The message id that names it.
    pub fn code(self) -> &'static str {
        match self {
            Self::Due => "payment-status-due",
            Self::Processing => "payment-status-processing",
            Self::AwaitingBank => "payment-status-awaiting-bank",
            Self::Paid => "payment-status-paid",
        }
    }
}

crate::string_enum!(
    /// Where one attempt stands.
    pub enum AttemptStatus {
        /// Begun.
        Started => "started",
        /// Undecided at the gateway.
        Pending => "pending",
        /// Paid.
        Succeeded => "succeeded",
        /// Refused.
        Failed => "failed",
        /// Abandoned by the payer.
        Cancelled => "cancelled",
        /// Ran out of time.
        Expired => "expired",
    }
);

impl AttemptStatus {
    /// Whether it can still change on its own (a gateway or a bank may still answer).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Started | Self::Pending)
    }
}

crate::string_enum!(
    /// Where a refund stands.
    pub enum RefundStatus {
        /// Decided, not yet paid out.
        Requested => "requested",
        /// Handed to the treasury.
        Exported => "exported",
        /// Paid out.
        Succeeded => "succeeded",
        /// Refused by the gateway.
        Failed => "failed",
    }
);

/// One attempt as the ledger tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptView {
    /// Its id.
    pub id: String,
    /// How.
    pub channel: PayChannel,
    /// Where it stands.
    pub status: AttemptStatus,
    /// The amount asked (or, once paid, the amount received).
    pub amount: Money,
    /// When it began.
    pub started_at: Timestamp,
    /// When it last changed.
    pub changed_at: Timestamp,
    /// The other side's reference, once known.
    pub reference: Option<String>,
}

/// One refund as the ledger tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundView {
    /// Its id.
    pub id: String,
    /// The attempt whose money goes back (its channel decides the route).
    pub attempt: String,
    /// How much.
    pub amount: Money,
    /// Where it stands.
    pub status: RefundStatus,
    /// When it was decided.
    pub requested_at: Timestamp,
}

/// An order as its ledger tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderView {
    /// Where it stands.
    pub status: OrderStatus,
    /// The attempt that paid it (the first to succeed).
    pub paid_by: Option<String>,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptView>,
    /// Every refund, oldest first.
    pub refunds: Vec<RefundView>,
    /// The balance paid at the centre, if it was.
    pub centre_paid: Option<(Money, Timestamp)>,
}

impl OrderView {
    /// Replays the events (in the order they were appended).
    pub fn fold(events: &[LedgerEvent]) -> Self {
        let mut attempts: Vec<AttemptView> = Vec::new();
        let mut refunds: Vec<RefundView> = Vec::new();
        let mut paid_by = None;
        let mut centre_paid = None;
        for e in events {
            match e.kind {
                EventKind::AttemptStarted => attempts.push(AttemptView {
                    id: e.subject.clone(),
                    channel: e.channel.unwrap_or(PayChannel::Card),
                    status: AttemptStatus::Started,
                    amount: e.amount,
                    started_at: e.at,
                    changed_at: e.at,
                    reference: e.reference.clone(),
                }),
                EventKind::AttemptPending
                | EventKind::AttemptSucceeded
                | EventKind::AttemptFailed
                | EventKind::AttemptCancelled
                | EventKind::AttemptExpired => {
                    let Some(a) = attempts.iter_mut().find(|a| a.id == e.subject) else {
                        continue;
                    };
                    let to = match e.kind {
                        EventKind::AttemptPending => AttemptStatus::Pending,
                        EventKind::AttemptSucceeded => AttemptStatus::Succeeded,
                        EventKind::AttemptFailed => AttemptStatus::Failed,
                        EventKind::AttemptCancelled => AttemptStatus::Cancelled,
                        _ => AttemptStatus::Expired,
                    };
                    // Money that arrived stays arrived: a late "failed" does not undo it, and
                    // a late success (a bank that answered after the page gave up) counts.
                    let changes = match to {
                        AttemptStatus::Succeeded => a.status != AttemptStatus::Succeeded,
                        AttemptStatus::Pending => a.status == AttemptStatus::Started,
                        _ => a.status.is_open(),
                    };
                    if changes {
                        a.status = to;
                        a.changed_at = e.at;
                        if to == AttemptStatus::Succeeded {
                            a.amount = e.amount;
                            if e.reference.is_some() {
                                a.reference = e.reference.clone();
                            }
                            if paid_by.is_none() {
                                paid_by = Some(a.id.clone());
                            }
                        }
                    }
                }
                EventKind::CentrePaid => centre_paid = Some((e.amount, e.at)),
                EventKind::RefundRequested => refunds.push(RefundView {
                    id: e.subject.clone(),
                    attempt: e.reference.clone().unwrap_or_default(),
                    amount: e.amount,
                    status: RefundStatus::Requested,
                    requested_at: e.at,
                }),
                EventKind::RefundExported
                | EventKind::RefundSucceeded
                | EventKind::RefundFailed => {
                    if let Some(r) = refunds.iter_mut().find(|r| r.id == e.subject) {
                        let to = match e.kind {
                            EventKind::RefundExported => RefundStatus::Exported,
                            EventKind::RefundSucceeded => RefundStatus::Succeeded,
                            _ => RefundStatus::Failed,
                        };
                        if matches!(r.status, RefundStatus::Requested | RefundStatus::Exported) {
                            r.status = to;
                        }
                    }
                }
            }
        }
        let status = if paid_by.is_some() {
            OrderStatus::Paid
        } else if attempts
            .iter()
            .any(|a| a.status.is_open() && a.channel.is_online())
        {
            OrderStatus::Processing
        } else if attempts
            .iter()
            .any(|a| a.status.is_open() && a.channel == PayChannel::Challan)
        {
            OrderStatus::AwaitingBank
        } else {
            OrderStatus::Due
        };
        Self {
            status,
            paid_by,
            attempts,
            refunds,
            centre_paid,
        }
    }

    /// Attempts that paid an order someone had already paid, with no refund decided yet.
    pub fn unrefunded_duplicates(&self) -> Vec<&AttemptView> {
        self.attempts
            .iter()
            .filter(|a| a.status == AttemptStatus::Succeeded)
            .filter(|a| self.paid_by.as_deref() != Some(a.id.as_str()))
            .filter(|a| !self.refunds.iter().any(|r| r.attempt == a.id))
            .collect()
    }

    /// The attempt with this id.
    pub fn attempt(&self, id: &str) -> Option<&AttemptView> {
        self.attempts.iter().find(|a| a.id == id)
    }

    /// The challan still waiting for the bank, if one is.
    pub fn open_challan(&self) -> Option<&AttemptView> {
        self.attempts
            .iter()
            .find(|a| a.channel == PayChannel::Challan && a.status.is_open())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::money::Currency;

    fn ev(kind: EventKind, subject: &str, at: i64) -> LedgerEvent {
        LedgerEvent {
            kind,
            subject: subject.into(),
            channel: Some(if subject.starts_with("ch") {
                PayChannel::Challan
            } else {
                PayChannel::Card
            }),
            amount: Money::new(150000, Currency::INR).unwrap(),
            reference: if kind == EventKind::RefundRequested {
                Some("a2".into())
            } else {
                None
            },
            at: Timestamp::from_millis(at),
        }
    }

    #[test]
    fn status_follows_the_events() {
        use EventKind::*;
        assert_eq!(OrderView::fold(&[]).status, OrderStatus::Due);
        let started = [ev(AttemptStarted, "a1", 1)];
        assert_eq!(OrderView::fold(&started).status, OrderStatus::Processing);
        let failed = [ev(AttemptStarted, "a1", 1), ev(AttemptFailed, "a1", 2)];
        assert_eq!(OrderView::fold(&failed).status, OrderStatus::Due);
        let challan = [ev(AttemptStarted, "ch1", 1)];
        assert_eq!(OrderView::fold(&challan).status, OrderStatus::AwaitingBank);
        let expired = [ev(AttemptStarted, "ch1", 1), ev(AttemptExpired, "ch1", 2)];
        assert_eq!(OrderView::fold(&expired).status, OrderStatus::Due);
        let paid = [ev(AttemptStarted, "a1", 1), ev(AttemptSucceeded, "a1", 2)];
        let v = OrderView::fold(&paid);
        assert_eq!(v.status, OrderStatus::Paid);
        assert_eq!(v.paid_by.as_deref(), Some("a1"));
    }

    #[test]
    fn money_that_arrived_is_not_undone() {
        use EventKind::*;
        let late_fail = [
            ev(AttemptStarted, "a1", 1),
            ev(AttemptSucceeded, "a1", 2),
            ev(AttemptFailed, "a1", 3),
        ];
        assert_eq!(OrderView::fold(&late_fail).status, OrderStatus::Paid);
        let late_success = [
            ev(AttemptStarted, "a1", 1),
            ev(AttemptExpired, "a1", 2),
            ev(AttemptSucceeded, "a1", 3),
        ];
        assert_eq!(OrderView::fold(&late_success).status, OrderStatus::Paid);
    }

    #[test]
    fn a_second_payment_is_a_duplicate_until_refunded() {
        use EventKind::*;
        let mut events = vec![
            ev(AttemptStarted, "a1", 1),
            ev(AttemptStarted, "a2", 2),
            ev(AttemptSucceeded, "a1", 3),
            ev(AttemptSucceeded, "a2", 4),
        ];
        let v = OrderView::fold(&events);
        assert_eq!(v.paid_by.as_deref(), Some("a1"));
        let dups: Vec<_> = v
            .unrefunded_duplicates()
            .iter()
            .map(|a| a.id.clone())
            .collect();
        assert_eq!(dups, ["a2"]);
        events.push(ev(RefundRequested, "r1", 5));
        let v = OrderView::fold(&events);
        assert!(v.unrefunded_duplicates().is_empty());
        assert_eq!(v.refunds[0].status, RefundStatus::Requested);
        events.push(ev(RefundSucceeded, "r1", 6));
        events.push(ev(RefundFailed, "r1", 7));
        let v = OrderView::fold(&events);
        assert_eq!(v.refunds[0].status, RefundStatus::Succeeded);
        assert_eq!(v.status, OrderStatus::Paid);
    }
}
