//! Changing a booking by Passport Seva's rules: rescheduling (a limited number of times) and
//! cancelling (up to a few days before).

use ekdwar_domain::ApplicationId;
use ekdwar_domain::appointments::{AppointmentNo, History, Refusal};
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_store::appointments::{self as store, Appointment};

use crate::audit::Actor;
use crate::error::{AppError, AppResult, internal};
use crate::i18n::Lang;
use crate::views::AccountView;

use super::{AppointmentView, Appointments, refused, release, tell_booked, view_in};

/// What the person may still change about an appointment, each with the reason when not,
/// so that a page offers only what will be accepted and says why the rest is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changes {
    /// Whether it may be cancelled now.
    pub cancel: Result<(), Refusal>,
    /// Whether it may be moved now (to another day within the rules).
    pub reschedule: Result<(), Refusal>,
    /// How many more times it may be moved.
    pub reschedules_left: u32,
    /// Booked on its day, it could be neither moved nor cancelled (the day is within the
    /// days before which changes stop): said before the person confirms a hold.
    pub fixed_once_booked: bool,
    /// The days before an appointment after which it cannot change.
    pub days_before: i32,
}

impl Appointments {
    /// What may be changed about an appointment now, by the booking rules.
    pub async fn changes(&self, view: &AppointmentView) -> AppResult<Changes> {
        let policy = self.policy();
        let today = view.centre.date_at(self.clock.now());
        // The count is this appointment's own (each reschedule makes a new one carrying it);
        // the first day and a missed visit are the application's.
        let reschedules = u32::try_from(view.reschedules).unwrap_or(u32::MAX);
        let history = match self.history(&view.application).await? {
            Some(h) => History { reschedules, ..h },
            None => History {
                first_date: view.day,
                reschedules,
                no_show: false,
            },
        };
        let close = policy.may_cancel(view.day, today);
        Ok(Changes {
            cancel: if view.is_booked() { close } else { Ok(()) },
            reschedule: if view.is_booked() {
                policy.may_reschedule(&history, view.day, view.day, today)
            } else {
                Err(Refusal::TooClose)
            },
            reschedules_left: policy.max_reschedules.saturating_sub(history.reschedules),
            fixed_once_booked: close.is_err(),
            days_before: policy.cancel_days_before,
        })
    }

    /// Cancels a booked appointment, up to `cancel_days_before` days before it (at the
    /// centre). The fee is refunded only where the service says so.
    pub async fn cancel(
        &self,
        account: &AccountView,
        id: &str,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        let a = store::get(&mut *self.store.read().await?, id)
            .await?
            .filter(|a| a.owner_id == account.id)
            .ok_or(AppError::NotFound)?;
        let view = self.view(&a).await?;
        if a.state == "held" {
            let mut work = self.work().await?;
            release(&mut work, &a, self.clock.now()).await?;
            return work.commit().await;
        }
        if a.state != "booked" {
            return Err(AppError::field("appointment", "booking-not-active"));
        }
        let today = view.centre.date_at(self.clock.now());
        self.policy()
            .may_cancel(view.day, today)
            .map_err(|r| refused("appointment", r))?;
        let now = self.clock.now();
        let mut work = self.work().await?;
        if !store::set_state(&mut work, &a.id, "booked", "cancelled", now).await? {
            return Err(AppError::field("appointment", "booking-not-active"));
        }
        store::give_back(&mut work, &a.slot_id).await?;
        self.audit(
            &mut work,
            actor,
            Some(&account.id),
            AuditAction::AppointmentCancelled,
            Outcome::Success,
            Some(format!("{} {}", a.number, a.centre)),
        )
        .await?;
        self.tell_with(
            &mut work,
            account,
            lang,
            "appointment-cancelled",
            vec![
                ("number", view.number.to_string()),
                ("when", view.when(lang)),
                (
                    "centre",
                    view.centre.def.name.get(&lang.tag(), "en").to_string(),
                ),
            ],
        )
        .await?;
        work.commit().await?;
        // Where the service says so, cancelling refunds the fee (the way it was paid).
        let refunds = self
            .catalog
            .snapshot()
            .service(&a.service)
            .and_then(|(_, s)| s.appointment.as_ref().map(|r| r.refund_on_cancel))
            .unwrap_or(false);
        if refunds {
            self.payments
                .refund_paid(&a.application_id, "cancelled", actor)
                .await?;
        }
        Ok(())
    }

    /// Moves a booked appointment to the earliest free place on or after `date` at `centre`:
    /// at most `max_reschedules` times, within a year of the first appointment's day, not after
    /// a missed appointment, and not within `cancel_days_before` days of the current one.
    pub async fn reschedule(
        &self,
        account: &AccountView,
        id: &str,
        centre_code: &str,
        date: jiff::civil::Date,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<AppointmentView> {
        let a = store::get(&mut *self.store.read().await?, id)
            .await?
            .filter(|a| a.owner_id == account.id)
            .ok_or(AppError::NotFound)?;
        let application = ApplicationId::new(a.application_id.clone());
        let history = self.history(&application).await?;
        if a.state == "no_show" || history.as_ref().is_some_and(|h| h.no_show) {
            return Err(refused("date", Refusal::AfterNoShow));
        }
        if a.state != "booked" {
            return Err(AppError::field("date", "booking-not-active"));
        }
        let view = self.view(&a).await?;
        let centres = self.centres().await?;
        let centre = centres
            .get(centre_code)
            .filter(|c| c.handles(&a.service))
            .ok_or_else(|| AppError::field("centre", "booking-centre-unknown"))?;
        let today = view.centre.date_at(self.clock.now());
        let h = History {
            first_date: a.first_day.parse().map_err(internal)?,
            reschedules: u32::try_from(a.reschedules).unwrap_or(u32::MAX),
            no_show: false,
        };
        self.policy()
            .may_reschedule(&h, view.day, date, today)
            .map_err(|r| refused("date", r))?;
        let loaded = self.applications.get(&account.id, &application).await?;
        let quota = self.quota_of(&loaded).await?;
        let (from, to) = self.window(centre, date);
        let payer = self.payments.payer(&a.application_id).await?;
        let now = self.clock.now();
        let mut work = self.work().await?;
        if !store::set_state(&mut work, &a.id, "booked", "rescheduled", now).await? {
            return Err(AppError::field("date", "booking-not-active"));
        }
        let Some(slot) = self.claim(&mut work, centre_code, &quota, from, to).await? else {
            // Dropped: the old appointment stands.
            return Err(refused("date", Refusal::NoPlace));
        };
        // The new place must still be within a year of the first day.
        let new_day: jiff::civil::Date = slot.day.parse().map_err(internal)?;
        self.policy()
            .may_reschedule(&h, view.day, new_day, today)
            .map_err(|r| refused("date", r))?;
        store::give_back(&mut work, &a.slot_id).await?;
        let moved = Appointment {
            id: self.random.id(),
            number: AppointmentNo::generate(self.today().year(), |n| self.random.below(n))
                .as_str()
                .to_string(),
            centre: centre_code.to_string(),
            slot_id: slot.id.clone(),
            starts_at: slot.starts_at,
            state: "booked".into(),
            held_until: None,
            reschedules: a.reschedules + 1,
            reminded_at: None,
            created_at: now,
            changed_at: now,
            ..a.clone()
        };
        store::insert(&mut work, &moved).await?;
        self.audit(
            &mut work,
            actor,
            Some(&account.id),
            AuditAction::AppointmentRescheduled,
            Outcome::Success,
            Some(format!("{} -> {} {}", a.number, moved.number, slot.id)),
        )
        .await?;
        let moved_view = view_in(&centres, &moved)?;
        tell_booked(self, &mut work, &moved_view, account, lang, payer.as_ref()).await?;
        work.commit().await?;
        Ok(moved_view)
    }
}
