//! What the payment commands print: the reconciliation of a bank statement, the treasury's
//! refund file, and the day's report.

use std::collections::BTreeMap;

use ekdwar_domain::payments::{EventKind, Money};
use ekdwar_store::payments::StoredEvent;
use serde::Serialize;

/// A statement line that confirmed nothing, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmatched {
    /// Its line number in the file.
    pub line: usize,
    /// Why, in words for the administrator.
    pub reason: String,
}

/// What importing a bank statement did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// Challans confirmed now.
    pub confirmed: usize,
    /// Lines confirmed by an earlier import.
    pub already: usize,
    /// Lines that match no challan.
    pub unmatched: Vec<Unmatched>,
}

/// One refund for the treasury to pay (challans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundLine {
    /// The refund's id.
    pub refund: String,
    /// The application's reference number.
    pub arn: String,
    /// The challan whose money goes back.
    pub challan: String,
    /// The bank's reference of that payment.
    pub bank_reference: String,
    /// How much.
    #[serde(serialize_with = "decimal")]
    pub amount: Money,
    /// To whom.
    pub payer: String,
    /// Why (`duplicate`, `cancelled`).
    pub reason: String,
}

fn decimal<S: serde::Serializer>(m: &Money, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&m.to_string())
}

/// Money moved by one channel in a day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// How many.
    pub count: usize,
    /// How much, per currency, in minor units.
    pub minor: BTreeMap<String, i64>,
}

impl Tally {
    fn add(&mut self, m: Money) {
        self.count += 1;
        *self
            .minor
            .entry(m.currency().as_str().to_string())
            .or_default() += m.minor();
    }

    fn text(&self) -> String {
        let sums: Vec<String> = self
            .minor
            .iter()
            .map(|(c, n)| format!("{}.{:02} {c}", n / 100, n % 100))
            .collect();
        if sums.is_empty() {
            format!("{:>5}", self.count)
        } else {
            format!("{:>5}  {}", self.count, sums.join(", "))
        }
    }
}

/// A day of the ledger, for the administrators' reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DailyReport {
    /// The day (`YYYY-MM-DD`, in the portal's time zone).
    pub date: String,
    /// Payments received, by channel.
    pub received: BTreeMap<String, Tally>,
    /// Payments started.
    pub started: Tally,
    /// Payments refused or abandoned.
    pub failed: Tally,
    /// Refunds decided.
    pub refunds_requested: Tally,
    /// Refunds paid out by a gateway.
    pub refunds_paid: Tally,
    /// Refunds handed to the treasury.
    pub refunds_exported: Tally,
    /// Refunds a gateway refused (to be handled by hand).
    pub refunds_failed: Tally,
    /// Balances paid at centres.
    pub at_centres: Tally,
}

impl DailyReport {
    /// Tallies the day's events.
    pub fn of(day: jiff::civil::Date, events: &[StoredEvent]) -> Self {
        let mut r = DailyReport {
            date: day.to_string(),
            ..Self::default()
        };
        for e in events {
            let ev = &e.event;
            match ev.kind {
                EventKind::AttemptStarted => r.started.add(ev.amount),
                EventKind::AttemptSucceeded => r
                    .received
                    .entry(ev.channel.map(|c| c.as_str()).unwrap_or("?").to_string())
                    .or_default()
                    .add(ev.amount),
                EventKind::AttemptFailed
                | EventKind::AttemptCancelled
                | EventKind::AttemptExpired => r.failed.add(ev.amount),
                EventKind::AttemptPending => {}
                EventKind::CentrePaid => r.at_centres.add(ev.amount),
                EventKind::RefundRequested => r.refunds_requested.add(ev.amount),
                EventKind::RefundSucceeded => r.refunds_paid.add(ev.amount),
                EventKind::RefundExported => r.refunds_exported.add(ev.amount),
                EventKind::RefundFailed => r.refunds_failed.add(ev.amount),
            }
        }
        r
    }

    /// The report as text, one figure per line.
    pub fn text(&self) -> String {
        let mut out = format!("Payments on {}\n", self.date);
        let mut line = |label: &str, t: &Tally| {
            out.push_str(&format!("{label:<28}{}\n", t.text()));
        };
        line("started", &self.started);
        let received = self.received.clone();
        for (channel, t) in &received {
            line(&format!("received ({channel})"), t);
        }
        line("failed or abandoned", &self.failed);
        line("paid at centres", &self.at_centres);
        line("refunds decided", &self.refunds_requested);
        line("refunds paid by gateway", &self.refunds_paid);
        line("refunds sent to treasury", &self.refunds_exported);
        line("refunds refused (act!)", &self.refunds_failed);
        out
    }
}
