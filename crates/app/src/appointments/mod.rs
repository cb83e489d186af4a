//! Appointments at service centres. The citizen chooses a centre and a date; the portal holds
//! the earliest free place on or after that date for a few minutes (touts cannot pick slots);
//! the citizen confirms with a challenge and, unless the fee is already paid, pays online; the
//! payment books the held place and the appointment number goes out by SMS and e-mail. A
//! failed, cancelled or abandoned payment releases the hold, as does the jobs runner when it
//! runs out. Places are claimed with one conditional update each (never read-then-write), so
//! no number of concurrent bookers can take more places than a slot has.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ekdwar_domain::appointments::{
    AppointmentNo, BookingPolicy, Centre, CentreFile, History, Pincode, Refusal,
};
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::catalog::{Texts, answers};
use ekdwar_domain::payments::{OrderStatus, PayChannel};
use ekdwar_domain::{ApplicationId, ErrorCode, Timestamp, UserId};
use ekdwar_store::appointments::{self as store, Appointment, NewSlot};

use crate::audit::Actor;
use crate::captcha::ChallengeAnswer;
use crate::core::Work;
use crate::error::{AppError, AppResult, FieldError};
use crate::i18n::Lang;
use crate::payments::{NextStep, Started};
use crate::views::AccountView;

mod hall;

pub use hall::{DaySummary, TokenView};

/// How long the centres read from the database are kept before they are read again (an import
/// on another node shows within this).
const CENTRES_FRESH: Duration = Duration::from_secs(10);

crate::core::service!(
    /// Centres, slots and appointments.
    Appointments,
    applications: crate::applications::Applications,
    payments: crate::payments::Payments,
    catalog: crate::catalog::Catalog,
    centres: Arc<std::sync::RwLock<Option<CentresRead>>>
);

/// The centres as last read, and when.
type CentresRead = (std::time::Instant, Arc<Centres>);

/// The centres, by code.
pub type Centres = BTreeMap<String, Arc<Centre>>;

/// An appointment as pages and messages show it.
#[derive(Debug, Clone)]
pub struct AppointmentView {
    pub id: String,
    pub number: AppointmentNo,
    pub application: ApplicationId,
    pub service: String,
    pub centre: Arc<Centre>,
    pub starts_at: Timestamp,
    /// The date and time at the centre (`2026-12-07 09:30`), in its zone.
    pub local: String,
    pub day: jiff::civil::Date,
    pub state: String,
    pub held_until: Option<Timestamp>,
    pub reschedules: i64,
}

impl AppointmentView {
    pub fn is_held(&self) -> bool {
        self.state == "held"
    }
    pub fn is_booked(&self) -> bool {
        self.state == "booked"
    }
}

/// Where the citizen looks for a centre.
#[derive(Debug, Clone)]
pub enum Near {
    /// Around a PIN code.
    Pincode(Pincode),
    /// Around a point (the browser's location).
    Point(f64, f64),
    /// Within a region of the catalog (a state, a district), sorted by name.
    Region(String),
    /// Anywhere (sorted by name).
    Anywhere,
}

/// A centre that handles a service, with how far it is and its earliest free date.
#[derive(Debug, Clone)]
pub struct CentreChoice {
    pub centre: Arc<Centre>,
    pub distance_km: Option<f64>,
    pub earliest: Option<jiff::civil::Date>,
}

/// Where a PIN code is.
#[derive(Debug, Clone)]
pub struct PincodeRow {
    pub pincode: Pincode,
    pub latitude: f64,
    pub longitude: f64,
    pub region: Option<String>,
}

/// What confirming a hold leads to.
#[derive(Debug, Clone)]
pub enum Confirmed {
    /// Booked: the appointment.
    Booked(AppointmentView),
    /// To the gateway to pay; the payment books it.
    Pay(NextStep),
}

fn refused(field: &'static str, r: Refusal) -> AppError {
    AppError::Form(vec![FieldError::new(field, r.code())])
}

pub(crate) fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string().into())
}

impl Appointments {
    fn policy(&self) -> BookingPolicy {
        let c = &self.config.appointments;
        BookingPolicy {
            max_reschedules: c.max_reschedules,
            cancel_days_before: c.cancel_days_before,
            max_active_per_account: c.max_active_per_account,
            ..BookingPolicy::default()
        }
    }

    /// The centres (read again after a few seconds, so that imports elsewhere show).
    pub async fn centres(&self) -> AppResult<Arc<Centres>> {
        if let Some((at, c)) = self.centres.read().map_err(internal)?.as_ref()
            && at.elapsed() < CENTRES_FRESH
        {
            return Ok(c.clone());
        }
        let rows = store::centres(&mut *self.store.read().await?).await?;
        let mut out = Centres::new();
        for (code, body) in rows {
            let def = serde_json::from_str(&body).map_err(internal)?;
            let centre = Centre::parse(def).map_err(|p| internal(p.join("; ")))?;
            out.insert(code, Arc::new(centre));
        }
        let out = Arc::new(out);
        *self.centres.write().map_err(internal)? = Some((std::time::Instant::now(), out.clone()));
        Ok(out)
    }

    /// Checks a file of centres against the catalog (regions, services): every problem.
    pub fn check(&self, file: &CentreFile) -> Result<Vec<Centre>, Vec<String>> {
        let snapshot = self.catalog.snapshot();
        let mut problems = Vec::new();
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for def in &file.centres {
            if !seen.insert(def.code.clone()) {
                problems.push(format!("centre {}: the code is used twice", def.code));
            }
            if !snapshot.entries.has_region(&def.region) {
                problems.push(format!(
                    "centre {}: region {:?} is not in the catalog",
                    def.code, def.region
                ));
            }
            for s in &def.services {
                if snapshot.service(s).is_none() {
                    problems.push(format!(
                        "centre {}: service {s:?} is not in the catalog",
                        def.code
                    ));
                }
            }
            match Centre::parse(def.clone()) {
                Ok(c) => out.push(c),
                Err(p) => problems.extend(p),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// Imports centres (replacing those with the same code) and makes their slots.
    pub async fn import(&self, centres: Vec<Centre>, actor: &Actor) -> AppResult<usize> {
        let now = self.clock.now();
        let mut work = self.work().await?;
        for c in &centres {
            let body = serde_json::to_string(&c.def).map_err(internal)?;
            store::upsert_centre(&mut work, &c.def.code, &c.def.region, &body, now).await?;
        }
        self.audit(
            &mut work,
            actor,
            None,
            AuditAction::CentresImported,
            Outcome::Success,
            Some(
                centres
                    .iter()
                    .map(|c| c.def.code.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        )
        .await?;
        work.commit().await?;
        *self.centres.write().map_err(internal)? = None;
        self.make_slots().await?;
        Ok(centres.len())
    }

    /// Imports PIN codes.
    pub async fn import_pincodes(&self, rows: &[PincodeRow]) -> AppResult<usize> {
        let rows: Vec<(String, i64, i64, Option<String>)> = rows
            .iter()
            .map(|r| {
                (
                    r.pincode.as_str().to_string(),
                    (r.latitude * 1e6).round() as i64,
                    (r.longitude * 1e6).round() as i64,
                    r.region.clone(),
                )
            })
            .collect();
        for chunk in rows.chunks(500) {
            let mut work = self.work().await?;
            store::upsert_pincodes(&mut work, chunk).await?;
            work.commit().await?;
        }
        Ok(rows.len())
    }

    /// Makes the slots of every centre up to the day after its last released day (existing
    /// slots and their bookings are kept). Returns how many were made.
    pub async fn make_slots(&self) -> AppResult<u64> {
        let now = self.clock.now();
        let snapshot = self.catalog.snapshot();
        let mut made = 0;
        for centre in self.centres().await?.values() {
            let mut day = centre.date_at(now);
            let last = centre.last_released_day(now).tomorrow().map_err(internal)?;
            let mut batch = Vec::new();
            while day <= last {
                let holidays: Vec<jiff::civil::Date> = snapshot
                    .entries
                    .is_holiday(Some(&centre.def.region), day)
                    .then_some(day)
                    .into_iter()
                    .collect();
                for s in centre.slots_on(day, &holidays) {
                    batch.push(NewSlot {
                        id: format!("{}/{day}/{}/{}", centre.def.code, s.local, s.quota),
                        centre: centre.def.code.clone(),
                        day: day.to_string(),
                        starts_at: s.starts_at,
                        quota: s.quota,
                        capacity: i64::from(s.capacity),
                    });
                }
                day = day.tomorrow().map_err(internal)?;
            }
            for chunk in batch.chunks(200) {
                let mut work = self.work().await?;
                made += store::insert_slots(&mut work, chunk).await?;
                work.commit().await?;
            }
        }
        Ok(made)
    }

    /// The bookable window at a centre now: from the later of `from` and now, to the end of
    /// its last released day.
    fn window(&self, centre: &Centre, from: jiff::civil::Date) -> (Timestamp, Timestamp) {
        let now = self.clock.now();
        let start = centre.instant(from, jiff::civil::Time::midnight()).max(now);
        let end = centre
            .last_released_day(now)
            .tomorrow()
            .map(|d| centre.instant(d, jiff::civil::Time::midnight()))
            .unwrap_or(start);
        (start, end)
    }

    /// The quota a booking for this application takes.
    async fn quota_of(&self, loaded: &crate::applications::Loaded) -> AppResult<String> {
        let rule = loaded
            .service
            .appointment
            .as_ref()
            .ok_or_else(|| AppError::field("centre", "booking-not-needed"))?;
        let today = self.applications.today();
        Ok(rule
            .quotas
            .iter()
            .find(|q| answers::holds(&q.when, &loaded.answers, today))
            .map_or_else(|| rule.quota.clone(), |q| q.quota.clone()))
    }

    /// The centres that handle an application's service, nearest first (or by name), each with
    /// its earliest date with a free place.
    pub async fn choices(
        &self,
        owner: &UserId,
        application: &ApplicationId,
        near: &Near,
    ) -> AppResult<Vec<CentreChoice>> {
        let loaded = self.applications.get(owner, application).await?;
        let quota = self.quota_of(&loaded).await?;
        let origin = match near {
            Near::Pincode(p) => store::pincode(&mut *self.store.read().await?, p.as_str())
                .await?
                .map(|(lat, lon)| (lat as f64 / 1e6, lon as f64 / 1e6)),
            Near::Point(lat, lon) => Some((*lat, *lon)),
            Near::Region(_) | Near::Anywhere => None,
        };
        let snapshot = self.catalog.snapshot();
        let mut out = Vec::new();
        for centre in self.centres().await?.values() {
            if !centre.handles(&loaded.service.code) {
                continue;
            }
            if let Near::Region(r) = near
                && !snapshot.entries.within(&centre.def.region, r)
            {
                continue;
            }
            let today = centre.date_at(self.clock.now());
            let (from, to) = self.window(centre, today);
            let earliest = store::free_slots(
                &mut *self.store.read().await?,
                &centre.def.code,
                &quota,
                from,
                to,
                1,
            )
            .await?
            .first()
            .and_then(|s| s.day.parse().ok());
            out.push(CentreChoice {
                distance_km: origin.map(|o| {
                    ekdwar_domain::appointments::centre::distance_km(
                        o,
                        (centre.def.latitude, centre.def.longitude),
                    )
                }),
                centre: centre.clone(),
                earliest,
            });
        }
        out.sort_by(|a, b| match (a.distance_km, b.distance_km) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => a.centre.def.code.cmp(&b.centre.def.code),
        });
        Ok(out)
    }

    async fn view(&self, a: &Appointment) -> AppResult<AppointmentView> {
        view_in(&*self.centres().await?, a)
    }

    /// The regions of the catalog that have a centre handling `service`: (code, name).
    pub async fn regions_with_centres(&self, service: &str) -> AppResult<Vec<(String, Texts)>> {
        let snapshot = self.catalog.snapshot();
        let centres = self.centres().await?;
        Ok(snapshot
            .entries
            .file()
            .regions
            .iter()
            .filter(|r| {
                centres
                    .values()
                    .any(|c| c.handles(service) && snapshot.entries.within(&c.def.region, &r.code))
            })
            .map(|r| (r.code.clone(), r.name.clone()))
            .collect())
    }

    /// What a booking needs to tell its citizen, read before the write transaction (which must
    /// never wait for another connection: on PostgreSQL, transactions waiting for the pool
    /// they hold would starve it).
    async fn booking_notice(&self, a: &Appointment) -> AppResult<BookingNotice> {
        let booked = Appointment {
            state: "booked".into(),
            ..a.clone()
        };
        let account = self.applications.account(&a.owner_id).await?;
        let lang = account
            .as_ref()
            .map(|acc| self.applications.language_of(acc))
            .unwrap_or_else(|| self.default_lang.clone());
        Ok(BookingNotice {
            view: self.view(&booked).await?,
            account,
            lang,
            payer: self.payments.payer(&a.application_id).await?,
        })
    }
}

/// What telling a citizen of a booking needs (see [`Appointments::booking_notice`]).
struct BookingNotice {
    view: AppointmentView,
    account: Option<AccountView>,
    lang: Lang,
    payer: Option<crate::payments::Payer>,
}

/// An appointment as shown, at one of `centres`.
pub(crate) fn view_in(centres: &Centres, a: &Appointment) -> AppResult<AppointmentView> {
    {
        let centre = centres
            .get(&a.centre)
            .cloned()
            .ok_or_else(|| internal("an appointment at an unknown centre"))?;
        let zoned = jiff::Timestamp::from_millisecond(a.starts_at.millis())
            .map_err(internal)?
            .to_zoned(centre.zone().clone());
        Ok(AppointmentView {
            id: a.id.clone(),
            number: AppointmentNo::parse(&a.number).ok_or_else(|| internal("a bad number"))?,
            application: ApplicationId::new(a.application_id.clone()),
            service: a.service.clone(),
            local: zoned.strftime("%Y-%m-%d %H:%M").to_string(),
            day: zoned.date(),
            centre,
            starts_at: a.starts_at,
            state: a.state.clone(),
            held_until: a.held_until,
            reschedules: a.reschedules,
        })
    }
}

impl Appointments {
    /// An application's appointments, newest first.
    pub async fn of_application(
        &self,
        owner: &UserId,
        application: &ApplicationId,
    ) -> AppResult<Vec<AppointmentView>> {
        self.applications.get(owner, application).await?;
        let rows = store::of_application(&mut *self.store.read().await?, application).await?;
        let mut out = Vec::with_capacity(rows.len());
        for a in &rows {
            out.push(self.view(a).await?);
        }
        Ok(out)
    }

    /// One of `owner`'s appointments.
    pub async fn get(&self, owner: &UserId, id: &str) -> AppResult<AppointmentView> {
        let a = store::get(&mut *self.store.read().await?, id)
            .await?
            .filter(|a| &a.owner_id == owner)
            .ok_or(AppError::NotFound)?;
        self.view(&a).await
    }

    /// Claims the earliest free place of `quota` at `centre` in `[from, to)`: the slot taken.
    async fn claim(
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
            number: AppointmentNo::generate(self.applications.today().year(), |n| {
                self.random.below(n)
            })
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

    /// The first appointment's day and the reschedules and no-shows of an application, if it
    /// has had an appointment.
    async fn history(&self, application: &ApplicationId) -> AppResult<Option<History>> {
        let rows = store::of_application(&mut *self.store.read().await?, application).await?;
        let Some(latest) = rows
            .iter()
            .find(|a| !matches!(a.state.as_str(), "held" | "released"))
        else {
            return Ok(None);
        };
        Ok(Some(History {
            first_date: latest.first_day.parse().map_err(internal)?,
            reschedules: u32::try_from(latest.reschedules).unwrap_or(u32::MAX),
            no_show: rows.iter().any(|a| a.state == "no_show"),
        }))
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
        self.applications
            .tell_with(
                &mut work,
                account,
                lang,
                "appointment-cancelled",
                vec![
                    ("number", view.number.to_string()),
                    ("when", view.local.clone()),
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
            number: AppointmentNo::generate(self.applications.today().year(), |n| {
                self.random.below(n)
            })
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

    /// Releases holds that ran out (the jobs runner). Returns how many.
    pub async fn release_expired(&self) -> AppResult<usize> {
        let now = self.clock.now();
        let expired = store::expired_holds(&mut *self.store.read().await?, now, 200).await?;
        let mut n = 0;
        for a in expired {
            let mut work = self.work().await?;
            if release(&mut work, &a, now).await? {
                n += 1;
            }
            work.commit().await?;
        }
        Ok(n)
    }

    /// Reminds, in their language, everyone booked for tomorrow at their centre (the jobs
    /// runner, through the day). Returns how many were reminded.
    pub async fn remind(&self) -> AppResult<usize> {
        let now = self.clock.now();
        // Tomorrow somewhere on Earth: within the next 48 hours, then each centre's own day.
        let due = store::to_remind(
            &mut *self.store.read().await?,
            now,
            now.plus(Duration::from_secs(48 * 3600)),
            500,
        )
        .await?;
        let mut n = 0;
        for a in due {
            let view = self.view(&a).await?;
            let tomorrow = view.centre.date_at(now).tomorrow().map_err(internal)?;
            if view.day != tomorrow {
                continue;
            }
            let Some(account) = self.applications.account(&a.owner_id).await? else {
                continue;
            };
            let lang = self.applications.language_of(&account);
            let mut work = self.work().await?;
            if store::mark_reminded(&mut work, &a.id, now).await? {
                self.applications
                    .tell_with(
                        &mut work,
                        &account,
                        &lang,
                        "appointment-reminder",
                        vec![
                            ("number", view.number.to_string()),
                            ("when", view.local.clone()),
                            (
                                "centre",
                                view.centre.def.name.get(&lang.tag(), "en").to_string(),
                            ),
                            (
                                "address",
                                view.centre.def.address.get(&lang.tag(), "en").to_string(),
                            ),
                        ],
                    )
                    .await?;
                n += 1;
            }
            work.commit().await?;
        }
        Ok(n)
    }
}

/// Gives a hold's place back, once. `false` when it was no longer held.
async fn release(work: &mut Work<'_>, a: &Appointment, now: Timestamp) -> AppResult<bool> {
    if !store::set_state(work, &a.id, "held", "released", now).await? {
        return Ok(false);
    }
    store::give_back(work, &a.slot_id).await?;
    Ok(true)
}

/// Turns a hold into a booking (in the caller's unit of work) and tells the citizen: the
/// appointment booked, or `None` when it was no longer held.
async fn book_held(
    service: &Appointments,
    work: &mut Work<'_>,
    a: &Appointment,
    notice: &BookingNotice,
) -> AppResult<Option<Appointment>> {
    let now = service.clock.now();
    if !store::set_state(work, &a.id, "held", "booked", now).await? {
        return Ok(None);
    }
    let booked = Appointment {
        state: "booked".into(),
        changed_at: now,
        ..a.clone()
    };
    service
        .audit(
            work,
            &Actor::system(),
            Some(a.owner_id.as_str()),
            AuditAction::AppointmentBooked,
            Outcome::Success,
            Some(format!("{} {} {}", a.number, a.centre, a.slot_id)),
        )
        .await?;
    if let Some(account) = &notice.account {
        tell_booked(
            service,
            work,
            &notice.view,
            account,
            &notice.lang,
            notice.payer.as_ref(),
        )
        .await?;
    }
    Ok(Some(booked))
}

/// The booking's SMS and e-mail: the proof of the appointment.
async fn tell_booked(
    service: &Appointments,
    work: &mut Work<'_>,
    view: &AppointmentView,
    account: &AccountView,
    lang: &Lang,
    payer: Option<&crate::payments::Payer>,
) -> AppResult<()> {
    let tag = lang.tag();
    let service_name = service
        .catalog
        .snapshot()
        .service(&view.service)
        .map(|(_, s)| s.name.get(&tag, "en").to_string())
        .unwrap_or_else(|| view.service.clone());
    let (arn, amount) = payer.map_or_else(
        || (String::new(), String::new()),
        |p| (p.arn.clone(), p.paid_online().display(&tag)),
    );
    service
        .applications
        .tell_with(
            work,
            account,
            lang,
            "appointment-booked",
            vec![
                ("number", view.number.to_string()),
                ("arn", arn),
                ("name", account.full_name()),
                ("service", service_name),
                ("amount", amount),
                ("phone", account.phone_formatted().unwrap_or_default()),
                ("centre", view.centre.def.name.get(&tag, "en").to_string()),
                (
                    "address",
                    view.centre.def.address.get(&tag, "en").to_string(),
                ),
                ("when", view.local.clone()),
            ],
        )
        .await
}
