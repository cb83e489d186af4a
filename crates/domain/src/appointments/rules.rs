//! The rules of booking, as Passport Seva sets them against touts and no-shows. Each refusal
//! has a stable code whose message says why and what the citizen can do.

use jiff::civil::Date;

/// Limits on booking (configurable; defaults in [`BookingPolicy::default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingPolicy {
    /// Reschedules allowed per application.
    pub max_reschedules: u32,
    /// A new date must be within this many days of the first appointment's date.
    pub reschedule_within_days: i32,
    /// A booking can be cancelled (or moved) up to this many days before it.
    pub cancel_days_before: i32,
    /// Appointments an account may hold at once (held or booked).
    pub max_active_per_account: i64,
}

impl Default for BookingPolicy {
    /// Passport Seva's rules: two reschedules within a year of the first date, cancelling up
    /// to three days before. Three active appointments per account: a family member's
    /// applications may be booked from one account, more than that is a tout's pattern.
    fn default() -> Self {
        Self {
            max_reschedules: 2,
            reschedule_within_days: 365,
            cancel_days_before: 3,
            max_active_per_account: 3,
        }
    }
}

/// Why a booking step is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The fee is not paid yet.
    #[error("the fee is not paid")]
    NotPaid,
    /// The application has an appointment already.
    #[error("one appointment per application")]
    AlreadyBooked,
    /// Too many appointments on this account.
    #[error("too many appointments on the account")]
    AccountLimit,
    /// Rescheduled as often as allowed.
    #[error("rescheduled too often")]
    RescheduleLimit,
    /// The new date is more than a year after the first.
    #[error("the new date is too late")]
    RescheduleTooLate,
    /// The citizen did not come: a missed appointment cannot be moved.
    #[error("no reschedule after a missed appointment")]
    AfterNoShow,
    /// Too close to the appointment to cancel or move it.
    #[error("too close to the appointment")]
    TooClose,
    /// No place left on or after the chosen date.
    #[error("no place left")]
    NoPlace,
    /// The hold ran out before it was confirmed.
    #[error("the hold expired")]
    HoldExpired,
}

impl crate::ErrorCode for Refusal {
    fn code(&self) -> &'static str {
        match self {
            Self::NotPaid => "booking-not-paid",
            Self::AlreadyBooked => "booking-already",
            Self::AccountLimit => "booking-account-limit",
            Self::RescheduleLimit => "booking-reschedule-limit",
            Self::RescheduleTooLate => "booking-reschedule-too-late",
            Self::AfterNoShow => "booking-after-no-show",
            Self::TooClose => "booking-too-close",
            Self::NoPlace => "booking-no-place",
            Self::HoldExpired => "booking-hold-expired",
        }
    }
}

/// What the rules need to know of an application's appointments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// The date of its first appointment.
    pub first_date: Date,
    /// How many times it was rescheduled.
    pub reschedules: u32,
    /// Whether the citizen missed an appointment.
    pub no_show: bool,
}

impl BookingPolicy {
    /// Whether an appointment on `date` may be cancelled on `today` (both at the centre).
    pub fn may_cancel(&self, date: Date, today: Date) -> Result<(), Refusal> {
        if (date - today).get_days() < self.cancel_days_before {
            return Err(Refusal::TooClose);
        }
        Ok(())
    }

    /// Whether an appointment on `date` may be moved to `new_date`, on `today`.
    pub fn may_reschedule(
        &self,
        history: &History,
        date: Date,
        new_date: Date,
        today: Date,
    ) -> Result<(), Refusal> {
        if history.no_show {
            return Err(Refusal::AfterNoShow);
        }
        if history.reschedules >= self.max_reschedules {
            return Err(Refusal::RescheduleLimit);
        }
        self.may_cancel(date, today)?;
        let limit = history
            .first_date
            .checked_add(jiff::Span::new().days(self.reschedule_within_days))
            .unwrap_or(history.first_date);
        if new_date > limit {
            return Err(Refusal::RescheduleTooLate);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn cancelling_up_to_three_days_before() {
        let p = BookingPolicy::default();
        assert_eq!(p.may_cancel(date(2026, 12, 10), date(2026, 12, 7)), Ok(()));
        assert_eq!(
            p.may_cancel(date(2026, 12, 10), date(2026, 12, 8)),
            Err(Refusal::TooClose)
        );
    }

    #[test]
    fn two_reschedules_within_a_year_and_none_after_a_no_show() {
        let p = BookingPolicy::default();
        let h = |reschedules, no_show| History {
            first_date: date(2026, 12, 10),
            reschedules,
            no_show,
        };
        let (on, today) = (date(2026, 12, 20), date(2026, 12, 1));
        assert_eq!(
            p.may_reschedule(&h(0, false), on, date(2027, 1, 5), today),
            Ok(())
        );
        assert_eq!(
            p.may_reschedule(&h(1, false), on, date(2027, 1, 5), today),
            Ok(())
        );
        assert_eq!(
            p.may_reschedule(&h(2, false), on, date(2027, 1, 5), today),
            Err(Refusal::RescheduleLimit)
        );
        assert_eq!(
            p.may_reschedule(&h(0, true), on, date(2027, 1, 5), today),
            Err(Refusal::AfterNoShow)
        );
        assert_eq!(
            p.may_reschedule(&h(0, false), on, date(2027, 12, 11), today),
            Err(Refusal::RescheduleTooLate)
        );
        assert_eq!(
            p.may_reschedule(&h(0, false), on, date(2027, 1, 5), date(2026, 12, 18)),
            Err(Refusal::TooClose)
        );
    }
}
