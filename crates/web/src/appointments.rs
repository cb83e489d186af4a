//! Booking an appointment at a service centre: find a centre (by PIN code, or the browser's
//! location), hold the earliest free place on or after a date, confirm it with the challenge
//! (and pay, unless paid), then the confirmation — the appointment number, the SMS's proof —
//! with cancel and reschedule.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ekdwar_app::App;
use ekdwar_app::applications::Loaded;
use ekdwar_app::appointments::{AppointmentView, CentreChoice, Confirmed, Near};
use ekdwar_app::captcha::Challenge;
use ekdwar_app::error::AppError;
use ekdwar_app::identity::CurrentSession;
use ekdwar_app::payments::NextStep;
use ekdwar_domain::appointments::Pincode;
use ekdwar_domain::payments::PayChannel;
use serde::Deserialize;

use crate::ctx::app_id;
use crate::ctx::render;
use crate::ctx::{Ctx, FormTargets, Me};
use crate::error::{Errors, WebError};
use crate::identity::ChallengeFields;

pub fn routes() -> axum::Router<App> {
    axum::Router::new()
        .route("/applications/{id}/appointment", get(find).post(hold))
        .route("/appointments/{id}", get(show))
        .route("/appointments/{id}/confirm", post(confirm))
        .route("/appointments/{id}/cancel", post(cancel))
        .route("/appointments/{id}/reschedule", post(reschedule))
        .route("/appointments/{id}/calendar.ics", get(calendar))
        .route("/appointments/{id}/letter.pdf", get(letter))
}

/// Text for an iCalendar property value: backslash, semicolon, comma and newline escaped
/// (RFC 5545, 3.3.11).
fn ics_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// A time as iCalendar writes it in UTC: `20261207T040000Z`.
fn ics_time(at: ekdwar_domain::Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.millis())
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

/// One of the person's booked appointments with its application; anything else (another
/// person's, a hold, a cancelled one) is not found.
async fn booked(
    app: &App,
    me: &CurrentSession,
    id: &str,
) -> Result<(AppointmentView, Loaded), WebError> {
    let a = app
        .appointments
        .get(me.user_id(), appointment_id(id)?)
        .await?;
    if !a.is_booked() {
        return Err(WebError(AppError::NotFound));
    }
    let loaded = app.applications.get(me.user_id(), &a.application).await?;
    Ok((a, loaded))
}

/// The appointment as an `.ics` file, to add to a phone's calendar: when, where (with its
/// coordinates), what to bring. Only its owner gets it.
async fn calendar(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (a, loaded) = booked(&app, &me, &id).await?;
    let end = a.starts_at.plus(std::time::Duration::from_secs(
        u64::from(a.centre.def.slot_minutes) * 60,
    ));
    let bring: Vec<String> = loaded
        .service
        .documents
        .iter()
        .map(|d| c.text(&d.name).to_string())
        .collect();
    let description = format!(
        "{} {}\n{} {}",
        c.t("booking-number"),
        a.number,
        c.t("application-bring"),
        bring.join("; ")
    );
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//Ekdwar//Appointments//EN".into(),
        "METHOD:PUBLISH".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{}@ekdwar", a.id),
        format!("DTSTAMP:{}", ics_time(app.clock().now())),
        format!("DTSTART:{}", ics_time(a.starts_at)),
        format!("DTEND:{}", ics_time(end)),
        format!(
            "SUMMARY:{}",
            ics_text(&format!("{} — {}", c.text(&loaded.service.name), a.number))
        ),
        format!(
            "LOCATION:{}",
            ics_text(&format!(
                "{}, {}",
                c.text(&a.centre.def.name),
                c.text(&a.centre.def.address)
            ))
        ),
        format!(
            "GEO:{:.6};{:.6}",
            a.centre.def.latitude, a.centre.def.longitude
        ),
        format!("DESCRIPTION:{}", ics_text(&description)),
        "END:VEVENT".into(),
        "END:VCALENDAR".into(),
    ];
    let body = lines.join("\r\n") + "\r\n";
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"appointment-{}.ics\"",
                    a.number.as_str()
                ),
            ),
        ],
        body,
    )
        .into_response())
}

/// Where a centre is, on a map (OpenStreetMap), for directions.
fn map_url(centre: &ekdwar_domain::appointments::Centre) -> String {
    let (lat, lon) = (centre.def.latitude, centre.def.longitude);
    format!("https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=17/{lat:.6}/{lon:.6}")
}

/// The appointment letter, in the person's language: whom, where, when, what to bring, how to
/// get there, and the number as a QR code for the centre's desk to scan.
async fn letter(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let (a, loaded) = booked(&app, &me, &id).await?;
    let mut sheet = ekdwar_pdf::Sheet::new(c.t("letter-title"), c.lang.tag())
        .heading(c.text(&loaded.service.name))
        .row(c.t("booking-number"), a.number.to_string())
        .row(
            c.t("track-name"),
            app.applications.applicant_name(&loaded).await?,
        );
    if let Some(arn) = &loaded.arn {
        sheet = sheet.row(c.t("track-arn"), arn.to_string());
    }
    sheet = sheet
        .row(c.t("booking-when"), c.on_day(&a))
        .row(
            c.t("booking-centre"),
            format!(
                "{}, {}",
                c.text(&a.centre.def.name),
                c.text(&a.centre.def.address)
            ),
        )
        .row(c.t("booking-directions"), map_url(&a.centre));
    if !loaded.service.documents.is_empty() {
        sheet = sheet.heading(c.t("application-bring"));
        for d in &loaded.service.documents {
            sheet = sheet.text(format!("• {}", c.text(&d.name)));
        }
    }
    let bytes = sheet
        .text(c.t("letter-arrive"))
        .qr(a.number.as_str().to_string(), c.t("letter-qr"))
        .render()
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(crate::payments::pdf(
        &format!("appointment-{}", a.number.as_str()),
        bytes,
    ))
}

fn appointment_id(s: &str) -> Result<&str, WebError> {
    if s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(s)
    } else {
        Err(WebError(AppError::NotFound))
    }
}

#[derive(Deserialize, Default)]
struct Search {
    #[serde(default)]
    pincode: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    region: String,
}

#[derive(Template)]
#[template(path = "appointment_find.html")]
struct FindPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    loaded: &'a Loaded,
    choices: Vec<CentreChoice>,
    pincode: String,
    today: String,
    paid: bool,
    /// Regions with a centre for this service: (code, name).
    regions: Vec<(String, String)>,
    region: String,
}

impl FindPage<'_> {
    fn centre_name(&self, ch: &CentreChoice) -> String {
        self.c.text(&ch.centre.def.name).to_string()
    }
    fn centre_address(&self, ch: &CentreChoice) -> String {
        self.c.text(&ch.centre.def.address).to_string()
    }
    fn distance(&self, ch: &CentreChoice) -> Option<String> {
        ch.distance_km.map(|d| format!("{d:.0}"))
    }
}

async fn find_page(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    id: &str,
    search: &Search,
    errors: Errors,
) -> Result<Response, WebError> {
    let id = app_id(id)?;
    let loaded = app.applications.get(me.user_id(), &id).await?;
    let current = app
        .appointments
        .of_application(me.user_id(), &id)
        .await?
        .into_iter()
        .find(|a| a.is_booked() || a.is_held());
    if let Some(a) = &current
        && errors.is_empty()
    {
        return Ok(Redirect::to(&format!("/appointments/{}", a.id)).into_response());
    }
    let mut errors = errors;
    // Nothing asked yet: near the PIN code the application gave.
    let untouched = [&search.pincode, &search.lat, &search.lon, &search.region]
        .iter()
        .all(|v| v.trim().is_empty());
    let given = loaded.pincode().filter(|_| untouched);
    let pincode = match &given {
        Some(p) => p.as_str().to_string(),
        None => search.pincode.clone(),
    };
    let near = if let Some(p) = given {
        Near::Pincode(p)
    } else if let Some(p) = Pincode::parse(&search.pincode) {
        Near::Pincode(p)
    } else if let (Ok(lat), Ok(lon)) = (search.lat.parse::<f64>(), search.lon.parse::<f64>()) {
        Near::Point(lat, lon)
    } else if !search.region.is_empty() && search.pincode.trim().is_empty() {
        Near::Region(search.region.clone())
    } else {
        if !search.pincode.trim().is_empty() {
            errors.list.push(crate::error::FieldMessage {
                field: "pincode".into(),
                message: c.t("err-booking-pincode"),
            });
        }
        Near::Anywhere
    };
    let choices = app.appointments.choices(me.user_id(), &id, &near).await?;
    let paid = app
        .payments
        .of_application(me.user_id(), &id)
        .await?
        .is_none_or(|p| p.status() == ekdwar_domain::payments::OrderStatus::Paid);
    let regions = app
        .appointments
        .regions_with_centres(&loaded.service.code)
        .await?
        .into_iter()
        .map(|(code, name)| (code, c.text(&name).to_string()))
        .collect();
    let bad = !errors.is_empty();
    let mut resp = render(&FindPage {
        regions,
        region: search.region.clone(),
        c,
        errors,
        loaded: &loaded,
        choices,
        pincode,
        today: app.applications.today().to_string(),
        paid,
    });
    if bad {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(resp)
}

async fn find(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Query(search): Query<Search>,
) -> Result<Response, WebError> {
    find_page(&app, &c, &me, &id, &search, Errors::default()).await
}

#[derive(Deserialize)]
struct HoldForm {
    #[serde(default)]
    centre: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    pincode: String,
}

async fn hold(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Form(f): Form<HoldForm>,
) -> Result<Response, WebError> {
    let application = app_id(&id)?;
    let search = Search {
        pincode: f.pincode.clone(),
        ..Search::default()
    };
    let date = ekdwar_domain::catalog::answers::parse_date(&f.date);
    let result = match date {
        None => Err(AppError::field("date", "booking-date")),
        Some(_) if f.centre.is_empty() => Err(AppError::field("centre", "booking-centre-unknown")),
        Some(d) => {
            app.appointments
                .hold(&me.account, &application, &f.centre, d, &c.actor)
                .await
        }
    };
    match result {
        Ok(a) => Ok(Redirect::to(&format!("/appointments/{}", a.id)).into_response()),
        // Too many holds from this address: said in booking's own words, with when to retry.
        Err(AppError::Throttled { retry_after_secs }) => {
            let errors = Errors {
                list: vec![crate::error::FieldMessage {
                    field: "centre".into(),
                    message: c.ta(
                        "err-booking-throttled",
                        "minutes",
                        retry_after_secs.div_ceil(60),
                    ),
                }],
            };
            let mut resp = find_page(&app, &c, &me, &id, &search, errors).await?;
            *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            Ok(resp)
        }
        Err(e) => match Errors::from_app(&c, &e, "centre") {
            Some(errors) => find_page(&app, &c, &me, &id, &search, errors).await,
            None => Err(WebError(e)),
        },
    }
}

#[derive(Template)]
#[template(path = "appointment.html")]
struct ShowPage<'a> {
    c: &'a Ctx,
    errors: Errors,
    a: &'a AppointmentView,
    loaded: &'a Loaded,
    challenge: Option<Challenge>,
    paid: bool,
    amount: Option<String>,
    channels: Vec<PayChannel>,
    held_until: Option<String>,
    name: String,
    phone: Option<String>,
    centres: Vec<(String, String)>,
    /// The number as a QR code, for the centre's desk to scan.
    qr: String,
    /// What may still be changed, and why not.
    changes: ekdwar_app::appointments::Changes,
}

impl ShowPage<'_> {
    fn map_url(&self) -> String {
        map_url(&self.a.centre)
    }

    /// Why it cannot be cancelled or moved now, in words (empty when it can).
    fn refusal(&self, r: &Result<(), ekdwar_domain::appointments::Refusal>) -> String {
        match r {
            Ok(()) => String::new(),
            Err(r) => self
                .c
                .t(&format!("err-{}", ekdwar_domain::ErrorCode::code(r))),
        }
    }

    fn centre_name(&self) -> String {
        self.c.text(&self.a.centre.def.name).to_string()
    }
    fn centre_address(&self) -> String {
        self.c.text(&self.a.centre.def.address).to_string()
    }
}

async fn show_page(
    app: &App,
    c: &Ctx,
    me: &CurrentSession,
    id: &str,
    errors: Errors,
) -> Result<Response, WebError> {
    let a = app
        .appointments
        .get(me.user_id(), appointment_id(id)?)
        .await?;
    let loaded = app.applications.get(me.user_id(), &a.application).await?;
    let payment = app
        .payments
        .of_application(me.user_id(), &a.application)
        .await?;
    let paid = payment
        .as_ref()
        .is_none_or(|p| p.status() == ekdwar_domain::payments::OrderStatus::Paid);
    let centres = app
        .appointments
        .centres()
        .await?
        .values()
        .filter(|ce| ce.handles(&a.service))
        .map(|ce| (ce.def.code.clone(), c.text(&ce.def.name).to_string()))
        .collect();
    let changes = app.appointments.changes(&a).await?;
    let bad = !errors.is_empty();
    let mut resp = render(&ShowPage {
        c,
        errors,
        changes,
        challenge: a.is_held().then(|| app.appointments.new_challenge()),
        paid,
        amount: payment.as_ref().map(|p| c.amount(&p.order.online)),
        channels: app
            .payments
            .channels()
            .into_iter()
            .filter(|ch| ch.is_online())
            .collect(),
        held_until: a.held_until.map(|t| c.when(t)),
        name: me.account.full_name(),
        phone: me.account.phone_formatted(),
        centres,
        qr: crate::identity::qr_svg(a.number.as_str()),
        loaded: &loaded,
        a: &a,
    });
    if bad {
        *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(FormTargets(app.payments.page_origins()).apply(resp))
}

async fn show(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    show_page(&app, &c, &me, &id, Errors::default()).await
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(flatten)]
    challenge: ChallengeFields,
    #[serde(default)]
    channel: String,
}

async fn confirm(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> Result<Response, WebError> {
    let aid = appointment_id(&id)?;
    match app
        .appointments
        .confirm(
            &me.account,
            aid,
            &f.challenge.answer(),
            PayChannel::parse(&f.channel),
            &c.lang,
            &c.actor,
        )
        .await
    {
        Ok(Confirmed::Booked(a)) => Ok(Redirect::to(&format!(
            "/appointments/{}?notice=notice-appointment-booked",
            a.id
        ))
        .into_response()),
        Ok(Confirmed::Pay(next)) => {
            let targets = FormTargets(next.origin().into_iter().collect());
            Ok(match next {
                NextStep::Redirect(url) => targets.apply(Redirect::to(&url).into_response()),
                NextStep::PostForm { .. } => {
                    // The payment page renders PayU's form.
                    let a = app.appointments.get(me.user_id(), aid).await?;
                    Redirect::to(&format!("/applications/{}/payment", a.application))
                        .into_response()
                }
            })
        }
        Err(e) => match Errors::from_app(&c, &e, "captcha") {
            Some(errors) => show_page(&app, &c, &me, &id, errors).await,
            None => Err(WebError(e)),
        },
    }
}

async fn cancel(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let aid = appointment_id(&id)?;
    let a = app.appointments.get(me.user_id(), aid).await?;
    match app
        .appointments
        .cancel(&me.account, aid, &c.lang, &c.actor)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!(
            "/applications/{}/appointment?notice={}",
            a.application,
            if a.is_held() {
                "notice-appointment-released"
            } else {
                "notice-appointment-cancelled"
            }
        ))
        .into_response()),
        Err(e) => match Errors::from_app(&c, &e, "appointment") {
            Some(errors) => show_page(&app, &c, &me, &id, errors).await,
            None => Err(WebError(e)),
        },
    }
}

#[derive(Deserialize)]
struct RescheduleForm {
    #[serde(default)]
    centre: String,
    #[serde(default)]
    date: String,
}

async fn reschedule(
    State(app): State<App>,
    c: Ctx,
    Me(me): Me,
    Path(id): Path<String>,
    Form(f): Form<RescheduleForm>,
) -> Result<Response, WebError> {
    let aid = appointment_id(&id)?;
    let result = match ekdwar_domain::catalog::answers::parse_date(&f.date) {
        None => Err(AppError::field("date", "booking-date")),
        Some(d) => {
            app.appointments
                .reschedule(&me.account, aid, &f.centre, d, &c.lang, &c.actor)
                .await
        }
    };
    match result {
        Ok(a) => Ok(Redirect::to(&format!(
            "/appointments/{}?notice=notice-appointment-rescheduled",
            a.id
        ))
        .into_response()),
        Err(e) => match Errors::from_app(&c, &e, "date") {
            Some(errors) => show_page(&app, &c, &me, &id, errors).await,
            None => Err(WebError(e)),
        },
    }
}
