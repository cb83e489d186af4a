//! Booking: holding the earliest free place on or after the chosen date (one conditional
//! update per claim, so no number of bookers can overbook), confirming with a challenge, and
//! the payment that books the held place or releases it.

use std::time::Duration;

use ekdwar_domain::appointments::{AppointmentNo, Refusal};
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::payments::{OrderStatus, PayChannel};
use ekdwar_domain::{ApplicationId, Timestamp, UserId};
use ekdwar_store::appointments::{self as store, Appointment};

use crate::audit::Actor;
use crate::captcha::ChallengeAnswer;
use crate::core::Work;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::payments::Started;
use crate::views::AccountView;

use super::{AppointmentView, Appointments, Confirmed, book_held, refused, release};

impl Appointments {
    /// Claims the earliest free place of `quota` at `centre` in `[from, to)`: the slot taken.
    pub(super) async fn claim(
        &self,
        work: &mut Work<'_>,
        centre: &str,
        quota: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> AppResult<Option<store::Slot>> {
        // Candidates are read, then each is claimed by one conditional update; one that filled
        // meanwhile is skipped. A bounded number of rounds keeps a stampede from looping.
        for _ in 0..20 {
            let candidates = store::free_slots(work, centre, quota, from, to, 20).await?;
            if candidates.is_empty() {
                return Ok(None);
            }
            for s in candidates {
                if store::take_place(work, &s.id).await? {
                    return Ok(Some(s));
                }
            }
        }
        Ok(None)
    }

    /// Holds the earliest free place on or after `date` at `centre` for an application, for
    /// `appointments.hold_minutes`.
    pub async fn hold(
        &self,
        account: &AccountView,
        application: &ApplicationId,
        centre_code: &str,
        date: jiff::civil::Date,
        actor: &Actor,
    ) -> AppResult<AppointmentView> {
        let loaded = self.applications.get(&account.id, application).await?;
        if loaded.is_draft() || loaded.is_final() {
            return Err(AppError::field("centre", "booking-not-open"));
        }
        let quota = self.quota_of(&loaded).await?;
        let centres = self.centres().await?;
        let centre = centres
            .get(centre_code)
            .filter(|c| c.handles(&loaded.service.code))
            .ok_or_else(|| AppError::field("centre", "booking-centre-unknown"))?;
        // Challan payers book once the bank has confirmed: without a gateway, only paid
        // orders can hold.
        let payment = self
            .payments
            .of_application(&account.id, application)
            .await?;
        let paid = payment
            .as_ref()
            .is_none_or(|p| p.status() == OrderStatus::Paid);
        if !paid && !self.payments.online() {
            return Err(refused("centre", Refusal::NotPaid));
        }
        let now = self.clock.now();
        let mut conn = self.store.conn().await?;
        if let Some(ip) = &actor.ip
            && let Err(until) = self
                .take_quota(
                    &mut conn,
                    &format!("hold:{}", crate::security::address_key(ip)),
                    self.config.appointments.holds_per_address_per_hour,
                    now,
                )
                .await?
        {
            return Err(crate::limits::throttled(until, now));
        }
        drop(conn);
        if store::active_count(&mut *self.store.read().await?, &account.id).await?
            >= self.policy().max_active_per_account
        {
            return Err(refused("centre", Refusal::AccountLimit));
        }
        let history = self.history(application).await?;
        let (from, to) = self.window(centre, date);
        let mut work = self.work().await?;
        let Some(slot) = self.claim(&mut work, centre_code, &quota, from, to).await? else {
            return Err(refused("date", Refusal::NoPlace));
        };
        let appointment = Appointment {
            id: self.random.id(),
            number: AppointmentNo::generate(self.today().year(), |n| self.random.below(n))
                .as_str()
                .to_string(),
            application_id: application.to_string(),
            owner_id: account.id.clone(),
            service: loaded.service.code.clone(),
            centre: centre_code.to_string(),
            slot_id: slot.id.clone(),
            starts_at: slot.starts_at,
            state: "held".into(),
            held_until: Some(now.plus(Duration::from_secs(
                self.config.appointments.hold_minutes.max(1) * 60,
            ))),
            first_day: history
                .map(|h| h.first_date.to_string())
                .unwrap_or_else(|| slot.day.clone()),
            reschedules: 0,
            reminded_at: None,
            created_at: now,
            changed_at: now,
        };
        match store::insert(&mut work, &appointment).await {
            Ok(()) => {}
            Err(ekdwar_store::StoreError::Conflict(_)) => {
                return Err(refused("centre", Refusal::AlreadyBooked));
            }
            Err(e) => return Err(e.into()),
        }
        self.audit(
            &mut work,
            actor,
            Some(&account.id),
            AuditAction::AppointmentHeld,
            Outcome::Success,
            Some(format!(
                "{} {} {}",
                appointment.number, centre_code, slot.id
            )),
        )
        .await?;
        work.commit().await?;
        self.view(&appointment).await
    }

    /// Confirms a hold with the challenge. Paid already: booked at once. Otherwise the payment
    /// by `channel` (card or net banking) starts, and its success books the place.
    pub async fn confirm(
        &self,
        account: &AccountView,
        id: &str,
        answer: &ChallengeAnswer,
        channel: Option<PayChannel>,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<Confirmed> {
        let a = store::get(&mut *self.store.read().await?, id)
            .await?
            .filter(|a| a.owner_id == account.id)
            .ok_or(AppError::NotFound)?;
        if a.state != "held" || a.held_until.is_none_or(|t| t < self.clock.now()) {
            return Err(refused("captcha", Refusal::HoldExpired));
        }
        self.check_challenge(answer).await?;
        let application = ApplicationId::new(a.application_id.clone());
        let payment = self
            .payments
            .of_application(&account.id, &application)
            .await?;
        let paid = payment
            .as_ref()
            .is_none_or(|p| p.status() == OrderStatus::Paid);
        if paid {
            let notice = self.booking_notice(&a).await?;
            let mut work = self.work().await?;
            let booked = book_held(self, &mut work, &a, &notice).await?;
            work.commit().await?;
            let Some(b) = booked else {
                return Err(refused("captcha", Refusal::HoldExpired));
            };
            return Ok(Confirmed::Booked(self.view(&b).await?));
        }
        let channel = channel
            .filter(|c| c.is_online())
            .ok_or_else(|| AppError::field("channel", "payment-channel-required"))?;
        match self
            .payments
            .start_for_hold(account, &application, channel, &a.id, lang, actor)
            .await?
        {
            Started::Gateway(next) => Ok(Confirmed::Pay(next)),
            Started::Challan(_) => Err(AppError::field("channel", "payment-channel-required")),
        }
    }

    /// Books or releases the hold a payment attempt was paying for, once the attempt is
    /// decided (the jobs runner, and the browser's return). Returns the appointment when it is
    /// booked.
    pub async fn settle_hold(&self, attempt: &str) -> AppResult<Option<AppointmentView>> {
        use ekdwar_domain::payments::AttemptStatus;
        let Some((a, status)) = self.payments.attempt_status(attempt).await? else {
            return Ok(None);
        };
        let Some(hold) = a.hold_id else {
            return Ok(None);
        };
        let Some(appt) = store::get(&mut *self.store.read().await?, &hold).await? else {
            return Ok(None);
        };
        match status {
            AttemptStatus::Succeeded => {
                if appt.state == "booked" {
                    return Ok(Some(self.view(&appt).await?));
                }
                let notice = self.booking_notice(&appt).await?;
                let mut work = self.work().await?;
                book_held(self, &mut work, &appt, &notice).await?;
                work.commit().await?;
                // Booked here or, a moment before, by the jobs runner settling the same hold.
                let now = store::get(&mut *self.store.read().await?, &hold).await?;
                match now.filter(|a| a.state == "booked") {
                    Some(b) => Ok(Some(self.view(&b).await?)),
                    None => Ok(None),
                }
            }
            AttemptStatus::Failed | AttemptStatus::Cancelled | AttemptStatus::Expired => {
                let mut work = self.work().await?;
                release(&mut work, &appt, self.clock.now()).await?;
                work.commit().await?;
                Ok(None)
            }
            AttemptStatus::Started | AttemptStatus::Pending => Ok(None),
        }
    }

    /// The browser is back from the gateway: the payment is asked about, and the hold it paid
    /// for settled. The application, the payment's status, and the appointment if booked.
    pub async fn returned(
        &self,
        owner: &UserId,
        attempt: &str,
    ) -> AppResult<(ApplicationId, OrderStatus, Option<AppointmentView>)> {
        let (application, status) = self.payments.returned(owner, attempt).await?;
        let booked = self.settle_hold(attempt).await?;
        Ok((application, status, booked))
    }
}
