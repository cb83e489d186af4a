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
    AppointmentNo, BookingPolicy, Centre, History, Pincode, Refusal,
};
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::catalog::{Texts, answers};
use ekdwar_domain::{ApplicationId, ErrorCode, Timestamp, UserId};
use ekdwar_store::appointments::{self as store, Appointment};

use crate::audit::Actor;
use crate::core::Work;
use crate::error::{AppError, AppResult, FieldError, internal};
use crate::i18n::Lang;
use crate::payments::NextStep;
use crate::views::AccountView;

mod booking;
mod centres;
mod changes;
mod desk;
pub use desk::DeskRegistration;
mod hall;
mod sweep;

pub use changes::Changes;
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
    // The identity desk confirms people in person.
    assurance: crate::assurance::Assurance,
    centres: Arc<std::sync::RwLock<CentresCache>>
);

/// The centres as last read, and when. An import bumps the generation, so that a read begun
/// before it cannot put the old rows back.
#[derive(Debug, Default)]
pub struct CentresCache {
    generation: u64,
    read: Option<(std::time::Instant, Arc<Centres>)>,
}

impl CentresCache {
    /// The centres if read less than `fresh` ago.
    fn fresh(&self, fresh: Duration) -> Option<Arc<Centres>> {
        self.read
            .as_ref()
            .filter(|(at, _)| at.elapsed() < fresh)
            .map(|(_, c)| c.clone())
    }

    /// Forgets the centres (after an import).
    fn invalidate(&mut self) {
        self.generation += 1;
        self.read = None;
    }

    /// Keeps centres read when the generation was `generation`, unless an import came since.
    fn keep(&mut self, generation: u64, centres: Arc<Centres>) {
        if self.generation == generation {
            self.read = Some((std::time::Instant::now(), centres));
        }
    }
}

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
    /// Its day at the centre.
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
    /// Its weekday, date and time at the centre, in the centre's zone, named.
    pub fn when(&self, lang: &Lang) -> String {
        lang.on_day(self.starts_at, self.centre.zone())
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
        let generation = {
            let cache = self.centres.read().map_err(internal)?;
            if let Some(c) = cache.fresh(CENTRES_FRESH) {
                return Ok(c);
            }
            cache.generation
        };
        let rows = store::centres(&mut *self.store.read().await?).await?;
        let mut out = Centres::new();
        for (code, body) in rows {
            let def = serde_json::from_str(&body).map_err(internal)?;
            let centre = Centre::parse(def).map_err(|p| internal(p.join("; ")))?;
            out.insert(code, Arc::new(centre));
        }
        let out = Arc::new(out);
        self.centres
            .write()
            .map_err(internal)?
            .keep(generation, out.clone());
        Ok(out)
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
        let today = self.today();
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
            .map(|acc| self.language_of(acc))
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
                ("when", view.when(lang)),
            ],
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_begun_before_an_import_does_not_put_the_old_centres_back() {
        let mut cache = CentresCache::default();
        let old = Arc::new(Centres::new());
        let before = cache.generation;
        cache.invalidate();
        cache.keep(before, old.clone());
        assert!(cache.fresh(CENTRES_FRESH).is_none());

        cache.keep(cache.generation, old.clone());
        assert!(Arc::ptr_eq(&cache.fresh(CENTRES_FRESH).unwrap(), &old));
        assert!(cache.fresh(Duration::ZERO).is_none());
    }
}
