//! At the centre: its operators (staff with the second factor, each working at given centres)
//! check citizens in by appointment number or the confirmation's QR code, which issues a queue
//! token; hand out walk-in tokens where the centre takes them; call the next token to a counter;
//! record each as served or not come; take the balance due at the centre. Every action is
//! audited with the operator and the centre. The hall's display shows the tokens called.

use std::sync::Arc;

use ekdwar_domain::appointments::{AppointmentNo, Capability, Centre};
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::{Timestamp, UserId};
use ekdwar_store::appointments::{self as store, Token};

use super::{AppointmentView, Appointments, view_in};
use crate::audit::Actor;
use crate::error::{AppError, AppResult, internal};

/// A token as the hall and the operators see it.
#[derive(Debug, Clone)]
pub struct TokenView {
    pub id: String,
    /// `A-007` for appointments, `W-003` for walk-ins.
    pub label: String,
    pub state: String,
    pub counter: Option<String>,
    pub appointment: Option<AppointmentView>,
    pub service: Option<String>,
    pub issued_at: Timestamp,
    pub called_at: Option<Timestamp>,
    /// What is still to be paid at the centre for its application (tatkaal's balance), if
    /// anything: only then is the balance taken here.
    pub balance_due: Option<ekdwar_domain::payments::Money>,
}

/// A centre's day at a glance.
#[derive(Debug, Clone, Default)]
pub struct DaySummary {
    pub booked: usize,
    pub checked_in: usize,
    pub served: usize,
    pub no_show: usize,
    pub waiting: usize,
    pub walk_ins: usize,
    /// Today's booked appointments not yet checked in, by time, with the name of the person
    /// who booked each (to greet them and check their papers).
    pub expected: Vec<(AppointmentView, String)>,
    /// Today's tokens, by number.
    pub tokens: Vec<TokenView>,
    /// The counter this operator last called a token to today: offered again for the next.
    pub my_counter: Option<String>,
}

fn label(t: &Token) -> String {
    let prefix = if t.appointment_id.is_some() { 'A' } else { 'W' };
    format!("{prefix}-{:03}", t.number)
}

impl Appointments {
    /// The centre an operator works at (their first), or "not found" for anyone else.
    pub async fn my_centre(&self, operator: &UserId) -> AppResult<Arc<Centre>> {
        let codes = store::staff_centres(&mut *self.store.read().await?, operator).await?;
        let centres = self.centres().await?;
        codes
            .iter()
            .find_map(|c| centres.get(c).cloned())
            .ok_or(AppError::NotFound)
    }

    /// Lets a person (who must have the officer role) work at a centre.
    pub async fn assign_staff(&self, user: &UserId, centre: &str, actor: &Actor) -> AppResult<()> {
        if !self.centres().await?.contains_key(centre) {
            return Err(AppError::field("centre", "booking-centre-unknown"));
        }
        let mut work = self.work().await?;
        store::assign_staff(&mut work, user, centre, self.clock.now()).await?;
        self.audit(
            &mut work,
            actor,
            Some(user),
            AuditAction::OfficerAssigned,
            Outcome::Success,
            Some(format!("centre-operator {centre}")),
        )
        .await?;
        work.commit().await
    }

    async fn token_view(&self, centre_codes: &super::Centres, t: &Token) -> AppResult<TokenView> {
        let appointment = match &t.appointment_id {
            Some(id) => match store::get(&mut *self.store.read().await?, id).await? {
                Some(a) => Some(view_in(centre_codes, &a)?),
                None => None,
            },
            None => None,
        };
        let balance_due = match &appointment {
            Some(a) => self
                .payments
                .of_application_any(&a.application)
                .await?
                .filter(|p| !p.order.centre.is_zero() && p.view.centre_paid.is_none())
                .map(|p| p.order.centre),
            None => None,
        };
        Ok(TokenView {
            id: t.id.clone(),
            label: label(t),
            state: t.state.clone(),
            counter: t.counter.clone(),
            appointment,
            service: t.service.clone(),
            issued_at: t.issued_at,
            called_at: t.called_at,
            balance_due,
        })
    }

    /// Checks a citizen in by appointment number (typed, or read from the confirmation's QR
    /// code): the appointment must be today's, at this centre. It issues a queue token.
    pub async fn check_in(
        &self,
        operator: &UserId,
        number: &str,
        actor: &Actor,
    ) -> AppResult<TokenView> {
        let centre = self.my_centre(operator).await?;
        if !centre.can(Capability::CheckIn) {
            return Err(AppError::field("number", "centre-cannot"));
        }
        // A QR code carries the number alone, or inside an address.
        let typed = number.rsplit('/').next().unwrap_or(number);
        let number = AppointmentNo::parse(typed)
            .ok_or_else(|| AppError::field("number", "centre-number"))?;
        let a = store::by_number(&mut *self.store.read().await?, number.as_str())
            .await?
            .filter(|a| a.centre == centre.def.code)
            .ok_or_else(|| AppError::field("number", "centre-no-such-appointment"))?;
        let now = self.clock.now();
        let today = centre.date_at(now);
        if centre.date_at(a.starts_at) != today {
            // What the citizen can still do: come on their day, move it online while the
            // rules allow, or book again once the day has passed.
            let view = view_in(&*self.centres().await?, &a)?;
            let code = if view.day < today {
                "centre-day-passed"
            } else if a.state == "booked" && self.changes(&view).await?.reschedule.is_ok() {
                "centre-not-today"
            } else {
                "centre-not-today-fixed"
            };
            return Err(AppError::field("number", code));
        }
        let day = today.to_string();
        let mut work = self.work().await?;
        if !store::set_state(&mut work, &a.id, "booked", "checked_in", now).await? {
            return Err(AppError::field("number", "centre-not-booked"));
        }
        let n = store::next_token_number(&mut work, &centre.def.code, &day).await?;
        let token = Token {
            id: self.random.id(),
            centre: centre.def.code.clone(),
            day,
            number: n,
            appointment_id: Some(a.id.clone()),
            service: Some(a.service.clone()),
            state: "waiting".into(),
            counter: None,
            issued_at: now,
            called_at: None,
            done_at: None,
            operator_id: Some(operator.to_string()),
        };
        store::insert_token(&mut work, &token).await?;
        self.audit(
            &mut work,
            actor,
            Some(a.owner_id.as_str()),
            AuditAction::AppointmentCheckedIn,
            Outcome::Success,
            Some(format!(
                "{} token {} centre {}",
                a.number,
                label(&token),
                centre.def.code
            )),
        )
        .await?;
        work.commit().await?;
        self.token_view(&*self.centres().await?, &token).await
    }

    /// A token for someone without an appointment, where the centre takes walk-ins.
    pub async fn walk_in(
        &self,
        operator: &UserId,
        service: &str,
        actor: &Actor,
    ) -> AppResult<TokenView> {
        let centre = self.my_centre(operator).await?;
        if !centre.can(Capability::WalkIn) {
            return Err(AppError::field("service", "centre-cannot"));
        }
        if !centre.handles(service) {
            return Err(AppError::field("service", "centre-not-handled"));
        }
        let now = self.clock.now();
        let day = centre.date_at(now).to_string();
        let mut work = self.work().await?;
        let n = store::next_token_number(&mut work, &centre.def.code, &day).await?;
        let token = Token {
            id: self.random.id(),
            centre: centre.def.code.clone(),
            day,
            number: n,
            appointment_id: None,
            service: Some(service.to_string()),
            state: "waiting".into(),
            counter: None,
            issued_at: now,
            called_at: None,
            done_at: None,
            operator_id: Some(operator.to_string()),
        };
        store::insert_token(&mut work, &token).await?;
        self.audit(
            &mut work,
            actor,
            None,
            AuditAction::TokenIssued,
            Outcome::Success,
            Some(format!(
                "walk-in {} token {} centre {}",
                service,
                label(&token),
                centre.def.code
            )),
        )
        .await?;
        work.commit().await?;
        self.token_view(&*self.centres().await?, &token).await
    }

    /// Calls the longest-waiting token to `counter`; none when nobody waits.
    pub async fn call_next(
        &self,
        operator: &UserId,
        counter: &str,
        actor: &Actor,
    ) -> AppResult<Option<TokenView>> {
        let centre = self.my_centre(operator).await?;
        let counter = counter.trim();
        if counter.is_empty()
            || counter.len() > 8
            || !counter.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(AppError::field("counter", "centre-counter"));
        }
        let now = self.clock.now();
        let day = centre.date_at(now).to_string();
        let mut work = self.work().await?;
        let Some(token) = store::call_next(
            &mut work,
            &centre.def.code,
            &day,
            counter,
            operator.as_str(),
            now,
        )
        .await?
        else {
            return Ok(None);
        };
        self.audit(
            &mut work,
            actor,
            None,
            AuditAction::TokenCalled,
            Outcome::Success,
            Some(format!(
                "token {} counter {counter} centre {}",
                label(&token),
                centre.def.code
            )),
        )
        .await?;
        work.commit().await?;
        Ok(Some(
            self.token_view(&*self.centres().await?, &token).await?,
        ))
    }

    /// Records a called token as served, or as not come (its appointment is then a no-show,
    /// which cannot be rescheduled).
    pub async fn finish(
        &self,
        operator: &UserId,
        token: &str,
        served: bool,
        actor: &Actor,
    ) -> AppResult<()> {
        let centre = self.my_centre(operator).await?;
        let t = store::token(&mut *self.store.read().await?, token)
            .await?
            .filter(|t| t.centre == centre.def.code)
            .ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        let to = if served { "served" } else { "no_show" };
        let mut work = self.work().await?;
        if !store::finish_token(
            &mut work,
            &t.id,
            &centre.def.code,
            to,
            operator.as_str(),
            now,
        )
        .await?
        {
            return Err(AppError::field("token", "centre-not-called"));
        }
        if let Some(a) = &t.appointment_id {
            store::set_state(&mut work, a, "checked_in", to, now).await?;
        }
        self.audit(
            &mut work,
            actor,
            None,
            AuditAction::TokenFinished,
            Outcome::Success,
            Some(format!(
                "token {} {to} centre {}",
                label(&t),
                centre.def.code
            )),
        )
        .await?;
        work.commit().await
    }

    /// Records that a booked citizen did not come (their time has passed).
    pub async fn mark_no_show(
        &self,
        operator: &UserId,
        appointment: &str,
        actor: &Actor,
    ) -> AppResult<()> {
        let centre = self.my_centre(operator).await?;
        let a = store::get(&mut *self.store.read().await?, appointment)
            .await?
            .filter(|a| a.centre == centre.def.code)
            .ok_or(AppError::NotFound)?;
        let now = self.clock.now();
        if a.starts_at > now {
            return Err(AppError::field("appointment", "centre-not-yet"));
        }
        let mut work = self.work().await?;
        if !store::set_state(&mut work, &a.id, "booked", "no_show", now).await? {
            return Err(AppError::field("appointment", "centre-not-booked"));
        }
        self.audit(
            &mut work,
            actor,
            Some(a.owner_id.as_str()),
            AuditAction::AppointmentNoShow,
            Outcome::Success,
            Some(format!("{} centre {}", a.number, centre.def.code)),
        )
        .await?;
        work.commit().await
    }

    /// The operator's centre's day: what was booked and what happened.
    /// Showing the names of the people expected is recorded.
    pub async fn day(
        &self,
        operator: &UserId,
        actor: &Actor,
    ) -> AppResult<(Arc<Centre>, DaySummary)> {
        let centre = self.my_centre(operator).await?;
        let summary = self.day_of(&centre, operator).await?;
        if !summary.expected.is_empty() {
            let mut work = self.work().await?;
            self.audit(
                &mut work,
                actor,
                None,
                AuditAction::CentreListViewed,
                Outcome::Success,
                Some(format!(
                    "centre {}: {} names",
                    centre.def.code,
                    summary.expected.len()
                )),
            )
            .await?;
            work.commit().await?;
        }
        Ok((centre, summary))
    }

    async fn day_of(&self, centre: &Centre, operator: &UserId) -> AppResult<DaySummary> {
        let now = self.clock.now();
        let today = centre.date_at(now);
        let from = centre.instant(today, jiff::civil::Time::midnight());
        let to = centre.instant(
            today.tomorrow().map_err(internal)?,
            jiff::civil::Time::midnight(),
        );
        let centres = self.centres().await?;
        let mut conn = self.store.read().await?;
        let appointments = store::at_centre(&mut conn, &centre.def.code, from, to).await?;
        let tokens = store::tokens_of_day(&mut conn, &centre.def.code, &today.to_string()).await?;
        drop(conn);
        let mut s = DaySummary::default();
        for a in &appointments {
            match a.state.as_str() {
                "booked" => {
                    s.booked += 1;
                    let name = match self.applications.account(&a.owner_id).await? {
                        Some(account) => account.full_name().trim().to_string(),
                        None => String::new(),
                    };
                    s.expected.push((view_in(&centres, a)?, name));
                }
                "checked_in" => {
                    s.booked += 1;
                    s.checked_in += 1;
                }
                "served" => {
                    s.booked += 1;
                    s.checked_in += 1;
                    s.served += 1;
                }
                "no_show" => {
                    s.booked += 1;
                    s.no_show += 1;
                }
                _ => {}
            }
        }
        s.my_counter = tokens
            .iter()
            .filter(|t| t.operator_id.as_deref() == Some(operator.as_str()))
            .filter(|t| t.called_at.is_some())
            .max_by_key(|t| (t.called_at, t.number))
            .and_then(|t| t.counter.clone());
        for t in &tokens {
            if t.appointment_id.is_none() {
                s.walk_ins += 1;
                if t.state == "served" {
                    s.served += 1;
                }
            }
            if t.state == "waiting" {
                s.waiting += 1;
            }
            s.tokens.push(self.token_view(&centres, t).await?);
        }
        Ok(s)
    }

    /// What the hall's display shows: the tokens called today, the latest first, with their
    /// counters. Public: it shows token labels only.
    pub async fn display(&self, centre: &str) -> AppResult<(Arc<Centre>, Vec<TokenView>)> {
        let centre = self
            .centres()
            .await?
            .get(centre)
            .cloned()
            .ok_or(AppError::NotFound)?;
        let day = centre.date_at(self.clock.now()).to_string();
        let mut tokens =
            store::tokens_of_day(&mut *self.store.read().await?, &centre.def.code, &day).await?;
        tokens.retain(|t| t.state == "called");
        tokens.sort_by_key(|t| std::cmp::Reverse(t.called_at));
        tokens.truncate(8);
        let out = tokens
            .iter()
            .map(|t| TokenView {
                id: String::new(),
                label: label(t),
                state: t.state.clone(),
                counter: t.counter.clone(),
                appointment: None,
                service: None,
                issued_at: t.issued_at,
                called_at: t.called_at,
                balance_due: None,
            })
            .collect();
        Ok((centre, out))
    }

    /// Takes the balance due at the centre (tatkaal's extra fee) from a checked-in citizen and
    /// records it, where the centre takes payments. The amount recorded.
    pub async fn collect_balance(
        &self,
        operator: &UserId,
        appointment: &str,
        actor: &Actor,
    ) -> AppResult<ekdwar_domain::payments::Money> {
        let centre = self.my_centre(operator).await?;
        if !centre.can(Capability::CentrePayment) {
            return Err(AppError::field("appointment", "centre-cannot"));
        }
        let a = store::get(&mut *self.store.read().await?, appointment)
            .await?
            .filter(|a| a.centre == centre.def.code)
            .ok_or(AppError::NotFound)?;
        if !matches!(a.state.as_str(), "checked_in" | "served") {
            return Err(AppError::field("appointment", "centre-not-checked-in"));
        }
        self.payments
            .record_at_centre(&a.application_id, operator, &centre.def.code, actor)
            .await
    }
}
