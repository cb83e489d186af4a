//! The bank challan: a printed slip with a reference that a citizen pays at a bank counter.
//! Passport Seva's rules: payable only 3 hours after it is generated (the bank's systems must
//! have it), valid 85 days, confirmed when the bank's statement arrives (up to 2 days).
//! Confirmation comes from the bank's statement file, whose lines are read here.

use std::fmt;
use std::time::Duration;

use super::money::{Currency, Money};
use crate::Timestamp;
use crate::catalog::arn::{generate_reference, grouped, parse_reference};

/// A challan cannot be paid until this long after it was generated.
pub const PAYABLE_AFTER: Duration = Duration::from_secs(3 * 3600);
/// After this long it can no longer be paid.
pub const VALID_FOR: Duration = Duration::from_secs(85 * 86_400);
/// How long the bank takes to confirm, as citizens are told.
pub const CONFIRMATION_DAYS: u32 = 2;

/// When a challan generated at `at` may be paid, and until when.
pub fn window(at: Timestamp) -> (Timestamp, Timestamp) {
    (at.plus(PAYABLE_AFTER), at.plus(VALID_FOR))
}

/// A challan's reference: `CH`, the two-digit year, ten random digits and a Verhoeff check
/// digit, so that a bank clerk's typing slip is caught at reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChallanRef(String);

/// A text is not a challan reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a challan reference")]
pub struct ChallanRefError;

impl ChallanRef {
    /// A new reference for `year` (`random` gives numbers below its argument).
    pub fn generate(year: i16, random: impl FnMut(u32) -> u32) -> Self {
        Self(generate_reference("CH", year, 10, random))
    }

    /// Reads a reference as written: any case, spaces and hyphens ignored.
    pub fn parse(input: &str) -> Result<Self, ChallanRefError> {
        parse_reference(input, "CH", 10)
            .map(Self)
            .ok_or(ChallanRefError)
    }

    /// The stored form (`CH2612345678901`, without spaces).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChallanRef {
    /// Grouped by four for copying onto a bank slip: `CH26 1234 5678 901`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&grouped(&self.0))
    }
}

/// The columns of Ekdwar's bank statement file, version 1, in order. This format is Ekdwar's
/// own design, documented in `docs/payments.md`; a real bank's format is converted by an
/// adapter into these lines.
pub const STATEMENT_COLUMNS: [&str; 5] = [
    "challan_reference",
    "amount",
    "currency",
    "paid_at",
    "bank_reference",
];

/// One payment the bank reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// The challan paid.
    pub challan: ChallanRef,
    /// How much was paid.
    pub amount: Money,
    /// When (the bank's time, with its offset).
    pub paid_at: Timestamp,
    /// The bank's own transaction number: the same line imported twice is recognised by it.
    pub bank_reference: String,
}

/// Why a statement line was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    /// Not five columns.
    #[error("expected 5 columns: challan_reference,amount,currency,paid_at,bank_reference")]
    Columns,
    /// The reference is not a challan reference (or its check digit is wrong).
    #[error("not a challan reference")]
    Reference,
    /// The amount or currency does not read.
    #[error("amount or currency does not read")]
    Amount,
    /// The time is not RFC 3339 (`2026-12-01T14:05:00+05:30`).
    #[error("paid_at is not a time like 2026-12-01T14:05:00+05:30")]
    Time,
    /// No bank reference, or an unreasonable one.
    #[error("bank_reference must be 1 to 64 letters, digits, '-' or '/'")]
    BankReference,
}

impl StatementLine {
    /// Reads one line's fields.
    pub fn parse(fields: &[&str]) -> Result<Self, StatementError> {
        let [challan, amount, currency, paid_at, bank_reference] = fields else {
            return Err(StatementError::Columns);
        };
        let challan = ChallanRef::parse(challan).map_err(|_| StatementError::Reference)?;
        let currency = Currency::parse(currency.trim()).map_err(|_| StatementError::Amount)?;
        let amount = Money::parse_decimal(amount, currency).map_err(|_| StatementError::Amount)?;
        let paid_at: jiff::Timestamp = paid_at.trim().parse().map_err(|_| StatementError::Time)?;
        let bank_reference = bank_reference.trim();
        if bank_reference.is_empty()
            || bank_reference.len() > 64
            || !bank_reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')
        {
            return Err(StatementError::BankReference);
        }
        Ok(Self {
            challan,
            amount,
            paid_at: Timestamp::from_millis(paid_at.as_millisecond()),
            bank_reference: bank_reference.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_check_themselves() {
        let mut n = 0;
        let r = ChallanRef::generate(2026, |m| {
            n += 7;
            n % m
        });
        assert!(r.as_str().starts_with("CH26"));
        assert_eq!(
            ChallanRef::parse(&r.to_string().to_lowercase()),
            Ok(r.clone())
        );
        // One digit changed is caught.
        let mut wrong = r.as_str().to_string();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        assert_eq!(ChallanRef::parse(&wrong), Err(ChallanRefError));
        assert_eq!(ChallanRef::parse("EK26482190345617"), Err(ChallanRefError));
    }

    #[test]
    fn payable_after_three_hours_for_85_days() {
        let (from, until) = window(Timestamp::from_millis(0));
        assert_eq!(from.millis(), 3 * 3_600_000);
        assert_eq!(until.millis(), 85 * 86_400_000);
    }

    #[test]
    fn statement_lines_read_or_say_why_not() {
        let r = ChallanRef::generate(2026, |_| 3);
        let line = StatementLine::parse(&[
            r.as_str(),
            "1500.00",
            "INR",
            "2026-12-01T14:05:00+05:30",
            "SBI/000123",
        ])
        .unwrap();
        assert_eq!(line.amount.minor(), 150000);
        assert_eq!(line.paid_at.millis(), 1_796_114_100_000);
        let bad = |f: [&str; 5]| StatementLine::parse(&f).unwrap_err();
        assert_eq!(
            bad(["CH1", "1", "INR", "2026-12-01T00:00:00Z", "x"]),
            StatementError::Reference
        );
        assert_eq!(
            bad([r.as_str(), "1,500", "INR", "2026-12-01T00:00:00Z", "x"]),
            StatementError::Amount
        );
        assert_eq!(
            bad([r.as_str(), "1500", "INR", "01/12/2026", "x"]),
            StatementError::Time
        );
        assert_eq!(
            bad([r.as_str(), "1500", "INR", "2026-12-01T00:00:00Z", "a b"]),
            StatementError::BankReference
        );
        assert_eq!(
            StatementLine::parse(&["a", "b"]).unwrap_err(),
            StatementError::Columns
        );
    }
}
