//! Centres, PIN codes, slots, appointments and the queue tokens of a centre's hall. Places in a
//! slot are claimed and given back by conditional updates of one counter, so concurrent
//! bookers can never take more places than a slot has; an application has at most one active
//! appointment (a partial unique index).

use ekdwar_domain::{Timestamp, UserId};

use crate::{Conn, Result, StoreError, int, opt_int, opt_text, sql, text};

/// Writes (or replaces) a centre's definition.
pub async fn upsert_centre(
    conn: &mut Conn,
    code: &str,
    region: &str,
    body: &str,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO centres (code, region, body, imported_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (code) DO UPDATE SET region = $2, body = $3, imported_at = $4",
    )
    .bind(code)
    .bind(region)
    .bind(body)
    .bind(at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Every centre's definition (JSON), by code.
pub async fn centres(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    sqlx::query("SELECT code, body FROM centres ORDER BY code")
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((text(r, "code")?, text(r, "body")?)))
        .collect()
}

/// Writes (or replaces) PIN codes: (code, latitude and longitude in millionths, region).
pub async fn upsert_pincodes(
    conn: &mut Conn,
    rows: &[(String, i64, i64, Option<String>)],
) -> Result<()> {
    for (code, lat, lon, region) in rows {
        sqlx::query(
            "INSERT INTO pincodes (code, lat_e6, lon_e6, region) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (code) DO UPDATE SET lat_e6 = $2, lon_e6 = $3, region = $4",
        )
        .bind(code)
        .bind(lat)
        .bind(lon)
        .bind(region.clone())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Where a PIN code is (millionths of a degree).
pub async fn pincode(conn: &mut Conn, code: &str) -> Result<Option<(i64, i64)>> {
    sqlx::query("SELECT lat_e6, lon_e6 FROM pincodes WHERE code = $1")
        .bind(code)
        .fetch_optional(conn)
        .await?
        .map(|r| Ok((int(&r, "lat_e6")?, int(&r, "lon_e6")?)))
        .transpose()
}

/// A slot to create.
#[derive(Debug, Clone)]
pub struct NewSlot {
    /// `centre/day/HH:MM/quota`.
    pub id: String,
    /// The centre.
    pub centre: String,
    /// Its day at the centre (`YYYY-MM-DD`).
    pub day: String,
    /// When it starts.
    pub starts_at: Timestamp,
    /// Which quota.
    pub quota: String,
    /// Places.
    pub capacity: i64,
}

/// Creates slots that do not exist yet (existing ones, with their bookings, are kept).
pub async fn insert_slots(conn: &mut Conn, slots: &[NewSlot]) -> Result<u64> {
    let mut n = 0;
    for s in slots {
        n += sqlx::query(
            "INSERT INTO slots (id, centre, day, starts_at, quota, capacity, taken) \
             VALUES ($1, $2, $3, $4, $5, $6, 0) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&s.id)
        .bind(&s.centre)
        .bind(&s.day)
        .bind(s.starts_at.millis())
        .bind(&s.quota)
        .bind(s.capacity)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(n)
}

/// A slot.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Its id.
    pub id: String,
    /// Its centre.
    pub centre: String,
    /// Its day at the centre.
    pub day: String,
    /// When it starts.
    pub starts_at: Timestamp,
    /// Its quota.
    pub quota: String,
    /// Places.
    pub capacity: i64,
    /// Places taken (held or booked).
    pub taken: i64,
}

fn slot_row(r: &sqlx::any::AnyRow) -> Result<Slot> {
    Ok(Slot {
        id: text(r, "id")?,
        centre: text(r, "centre")?,
        day: text(r, "day")?,
        starts_at: Timestamp::from_millis(int(r, "starts_at")?),
        quota: text(r, "quota")?,
        capacity: int(r, "capacity")?,
        taken: int(r, "taken")?,
    })
}

const SLOT_COLUMNS: &str = "id, centre, day, starts_at, quota, capacity, taken";

/// Slots of a quota at a centre with a free place, starting in `[from, to)`, earliest first.
pub async fn free_slots(
    conn: &mut Conn,
    centre: &str,
    quota: &str,
    from: Timestamp,
    to: Timestamp,
    limit: i64,
) -> Result<Vec<Slot>> {
    sqlx::query(sql!(
        "SELECT {SLOT_COLUMNS} FROM slots WHERE centre = $1 AND quota = $2 \
         AND starts_at >= $3 AND starts_at < $4 AND taken < capacity \
         ORDER BY starts_at LIMIT $5"
    ))
    .bind(centre)
    .bind(quota)
    .bind(from.millis())
    .bind(to.millis())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(slot_row)
    .collect()
}

/// A slot by id.
pub async fn slot(conn: &mut Conn, id: &str) -> Result<Option<Slot>> {
    sqlx::query(sql!("SELECT {SLOT_COLUMNS} FROM slots WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(slot_row)
        .transpose()
}

/// Takes a place in a slot, if one is free: `false` when it is full.
pub async fn take_place(conn: &mut Conn, slot: &str) -> Result<bool> {
    let done = sqlx::query("UPDATE slots SET taken = taken + 1 WHERE id = $1 AND taken < capacity")
        .bind(slot)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a place back.
pub async fn give_back(conn: &mut Conn, slot: &str) -> Result<()> {
    sqlx::query("UPDATE slots SET taken = taken - 1 WHERE id = $1 AND taken > 0")
        .bind(slot)
        .execute(conn)
        .await?;
    Ok(())
}

/// An appointment.
#[derive(Debug, Clone)]
pub struct Appointment {
    /// Its id.
    pub id: String,
    /// Its number (the citizen's proof).
    pub number: String,
    /// The application.
    pub application_id: String,
    /// The applicant.
    pub owner_id: UserId,
    /// The service's code.
    pub service: String,
    /// The centre's code.
    pub centre: String,
    /// The slot.
    pub slot_id: String,
    /// When.
    pub starts_at: Timestamp,
    /// `held`, `booked`, `released`, `cancelled`, `rescheduled`, `checked_in`, `served`,
    /// `no_show`.
    pub state: String,
    /// A hold's end.
    pub held_until: Option<Timestamp>,
    /// The first appointment's day (`YYYY-MM-DD`), for the one-year rule.
    pub first_day: String,
    /// Reschedules so far.
    pub reschedules: i64,
    /// When the day-before reminder went.
    pub reminded_at: Option<Timestamp>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last changed.
    pub changed_at: Timestamp,
}

const COLUMNS: &str = "id, number, application_id, owner_id, service, centre, slot_id, \
    starts_at, state, held_until, first_day, reschedules, reminded_at, created_at, \
    changed_at";

fn row(r: &sqlx::any::AnyRow) -> Result<Appointment> {
    Ok(Appointment {
        id: text(r, "id")?,
        number: text(r, "number")?,
        application_id: text(r, "application_id")?,
        owner_id: UserId::new(text(r, "owner_id")?),
        service: text(r, "service")?,
        centre: text(r, "centre")?,
        slot_id: text(r, "slot_id")?,
        starts_at: Timestamp::from_millis(int(r, "starts_at")?),
        state: text(r, "state")?,
        held_until: opt_int(r, "held_until")?.map(Timestamp::from_millis),
        first_day: text(r, "first_day")?,
        reschedules: int(r, "reschedules")?,
        reminded_at: opt_int(r, "reminded_at")?.map(Timestamp::from_millis),
        created_at: Timestamp::from_millis(int(r, "created_at")?),
        changed_at: Timestamp::from_millis(int(r, "changed_at")?),
    })
}

/// Writes a new appointment; `Conflict("application")` when the application already has an
/// active one.
pub async fn insert(conn: &mut Conn, a: &Appointment) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO appointments ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    ))
    .bind(&a.id)
    .bind(&a.number)
    .bind(&a.application_id)
    .bind(a.owner_id.as_str())
    .bind(&a.service)
    .bind(&a.centre)
    .bind(&a.slot_id)
    .bind(a.starts_at.millis())
    .bind(&a.state)
    .bind(a.held_until.map(|t| t.millis()))
    .bind(&a.first_day)
    .bind(a.reschedules)
    .bind(a.reminded_at.map(|t| t.millis()))
    .bind(a.created_at.millis())
    .bind(a.changed_at.millis())
    .execute(conn)
    .await
    .map_err(|e| {
        let e = StoreError::from_insert(e, &["application", "number"]);
        // The partial index on active appointments is named for the application.
        match e {
            StoreError::Conflict("key") => StoreError::Conflict("application"),
            other => other,
        }
    })?;
    Ok(())
}

/// Moves an appointment from `from` to `to`; `false` when it was not in `from` (someone or
/// something else moved it first).
pub async fn set_state(
    conn: &mut Conn,
    id: &str,
    from: &str,
    to: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE appointments SET state = $1, changed_at = $2 WHERE id = $3 AND state = $4",
    )
    .bind(to)
    .bind(at.millis())
    .bind(id)
    .bind(from)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An appointment by id.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<Appointment>> {
    sqlx::query(sql!("SELECT {COLUMNS} FROM appointments WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

/// An appointment by its number.
pub async fn by_number(conn: &mut Conn, number: &str) -> Result<Option<Appointment>> {
    sqlx::query(sql!("SELECT {COLUMNS} FROM appointments WHERE number = $1"))
        .bind(number)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(row)
        .transpose()
}

/// An application's appointments, newest first.
pub async fn of_application(conn: &mut Conn, application: &str) -> Result<Vec<Appointment>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM appointments WHERE application_id = $1 \
         ORDER BY created_at DESC, id"
    ))
    .bind(application)
    .fetch_all(conn)
    .await?
    .iter()
    .map(row)
    .collect()
}

/// How many appointments a person holds or has booked.
pub async fn active_count(conn: &mut Conn, owner: &UserId) -> Result<i64> {
    let r = sqlx::query(
        "SELECT COUNT(*) AS n FROM appointments WHERE owner_id = $1 \
         AND state IN ('held', 'booked')",
    )
    .bind(owner.as_str())
    .fetch_one(conn)
    .await?;
    int(&r, "n")
}

/// Holds that ran out before `now`.
pub async fn expired_holds(
    conn: &mut Conn,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<Appointment>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM appointments WHERE state = 'held' AND held_until < $1 \
         ORDER BY held_until LIMIT $2"
    ))
    .bind(now.millis())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(row)
    .collect()
}

/// Booked appointments starting in `[from, to)` whose reminder has not gone.
pub async fn to_remind(
    conn: &mut Conn,
    from: Timestamp,
    to: Timestamp,
    limit: i64,
) -> Result<Vec<Appointment>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM appointments WHERE state = 'booked' AND reminded_at IS NULL \
         AND starts_at >= $1 AND starts_at < $2 ORDER BY starts_at LIMIT $3"
    ))
    .bind(from.millis())
    .bind(to.millis())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(row)
    .collect()
}

/// Notes that a reminder went, once.
pub async fn mark_reminded(conn: &mut Conn, id: &str, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE appointments SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL",
    )
    .bind(at.millis())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A centre's appointments starting in `[from, to)`.
pub async fn at_centre(
    conn: &mut Conn,
    centre: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Appointment>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM appointments WHERE centre = $1 AND starts_at >= $2 \
         AND starts_at < $3 ORDER BY starts_at, id"
    ))
    .bind(centre)
    .bind(from.millis())
    .bind(to.millis())
    .fetch_all(conn)
    .await?
    .iter()
    .map(row)
    .collect()
}

/// Lets a person work at a centre.
pub async fn assign_staff(
    conn: &mut Conn,
    user: &UserId,
    centre: &str,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO centre_staff (user_id, centre, assigned_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, centre) DO NOTHING",
    )
    .bind(user.as_str())
    .bind(centre)
    .bind(at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// The centres a person works at.
pub async fn staff_centres(conn: &mut Conn, user: &UserId) -> Result<Vec<String>> {
    sqlx::query("SELECT centre FROM centre_staff WHERE user_id = $1 ORDER BY centre")
        .bind(user.as_str())
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| text(r, "centre"))
        .collect()
}

/// The next token number of a centre's day (1, 2, …): one statement, so two desks issuing at
/// once never get the same number.
pub async fn next_token_number(conn: &mut Conn, centre: &str, day: &str) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO centre_days (centre, day, last_token) VALUES ($1, $2, 1) \
         ON CONFLICT (centre, day) DO UPDATE SET last_token = centre_days.last_token + 1 \
         RETURNING last_token",
    )
    .bind(centre)
    .bind(day)
    .fetch_one(conn)
    .await?;
    int(&r, "last_token")
}

/// A token in a centre's hall queue.
#[derive(Debug, Clone)]
pub struct Token {
    /// Its id.
    pub id: String,
    /// The centre.
    pub centre: String,
    /// Its day at the centre.
    pub day: String,
    /// Its number that day.
    pub number: i64,
    /// The appointment it was issued for (none: a walk-in).
    pub appointment_id: Option<String>,
    /// The service (walk-ins).
    pub service: Option<String>,
    /// `waiting`, `called`, `served`, `no_show`.
    pub state: String,
    /// The counter it was called to.
    pub counter: Option<String>,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it was called.
    pub called_at: Option<Timestamp>,
    /// When it was finished.
    pub done_at: Option<Timestamp>,
    /// Who issued, called or finished it last.
    pub operator_id: Option<String>,
}

const TOKEN_COLUMNS: &str = "id, centre, day, number, appointment_id, service, state, counter, \
    issued_at, called_at, done_at, operator_id";

fn token_row(r: &sqlx::any::AnyRow) -> Result<Token> {
    Ok(Token {
        id: text(r, "id")?,
        centre: text(r, "centre")?,
        day: text(r, "day")?,
        number: int(r, "number")?,
        appointment_id: opt_text(r, "appointment_id")?,
        service: opt_text(r, "service")?,
        state: text(r, "state")?,
        counter: opt_text(r, "counter")?,
        issued_at: Timestamp::from_millis(int(r, "issued_at")?),
        called_at: opt_int(r, "called_at")?.map(Timestamp::from_millis),
        done_at: opt_int(r, "done_at")?.map(Timestamp::from_millis),
        operator_id: opt_text(r, "operator_id")?,
    })
}

/// Writes a new token.
pub async fn insert_token(conn: &mut Conn, t: &Token) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO queue_tokens ({TOKEN_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&t.id)
    .bind(&t.centre)
    .bind(&t.day)
    .bind(t.number)
    .bind(t.appointment_id.clone())
    .bind(t.service.clone())
    .bind(&t.state)
    .bind(t.counter.clone())
    .bind(t.issued_at.millis())
    .bind(t.called_at.map(|x| x.millis()))
    .bind(t.done_at.map(|x| x.millis()))
    .bind(t.operator_id.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// Calls the longest-waiting token of a centre's day to `counter`: one statement, so two
/// counters calling at once never get the same token.
pub async fn call_next(
    conn: &mut Conn,
    centre: &str,
    day: &str,
    counter: &str,
    operator: &str,
    at: Timestamp,
) -> Result<Option<Token>> {
    let skip = crate::Backend::of(conn).skip_locked();
    sqlx::query(sql!(
        "UPDATE queue_tokens SET state = 'called', counter = $1, called_at = $2, operator_id = $3 \
         WHERE id = (SELECT id FROM queue_tokens WHERE centre = $4 AND day = $5 \
         AND state = 'waiting' ORDER BY number LIMIT 1{skip}) AND state = 'waiting' \
         RETURNING {TOKEN_COLUMNS}"
    ))
    .bind(counter)
    .bind(at.millis())
    .bind(operator)
    .bind(centre)
    .bind(day)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(token_row)
    .transpose()
}

/// Finishes a called token as `to` (`served`, `no_show`); `false` when it was not called.
pub async fn finish_token(
    conn: &mut Conn,
    id: &str,
    centre: &str,
    to: &str,
    operator: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE queue_tokens SET state = $1, done_at = $2, operator_id = $3 \
         WHERE id = $4 AND centre = $5 AND state = 'called'",
    )
    .bind(to)
    .bind(at.millis())
    .bind(operator)
    .bind(id)
    .bind(centre)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A token by id.
pub async fn token(conn: &mut Conn, id: &str) -> Result<Option<Token>> {
    sqlx::query(sql!(
        "SELECT {TOKEN_COLUMNS} FROM queue_tokens WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(token_row)
    .transpose()
}

/// A centre's tokens of a day, by number.
pub async fn tokens_of_day(conn: &mut Conn, centre: &str, day: &str) -> Result<Vec<Token>> {
    sqlx::query(sql!(
        "SELECT {TOKEN_COLUMNS} FROM queue_tokens WHERE centre = $1 AND day = $2 ORDER BY number"
    ))
    .bind(centre)
    .bind(day)
    .fetch_all(conn)
    .await?
    .iter()
    .map(token_row)
    .collect()
}
