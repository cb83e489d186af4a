//! Applications and their history. A draft changes freely (only its owner's); after
//! submission every change of state is one conditional update from the state the actor saw,
//! so two officers acting at once cannot both move it, and each step is appended to its
//! history in the same transaction.

use ekdwar_domain::{ApplicationId, Timestamp, UserId};

use crate::{Conn, Result, int, opt_int, opt_text, sql, text};

/// The state of an application not yet submitted.
pub const DRAFT: &str = "draft";

/// An application.
#[derive(Debug, Clone)]
pub struct Application {
    /// Its id (in addresses).
    pub id: ApplicationId,
    /// Its reference number, once submitted.
    pub arn: Option<String>,
    /// The applicant.
    pub user_id: UserId,
    /// The service's code.
    pub service: String,
    /// The version of the service's definition it follows.
    pub version: i64,
    /// The service's department.
    pub department: String,
    /// The office chosen, if the form asks for one.
    pub office: Option<String>,
    /// `draft`, or a state of the service's workflow.
    pub state: String,
    /// The answers, as JSON.
    pub answers: String,
    /// The applicant's date of birth as answered (for tracking without logging in).
    pub birth_date: Option<String>,
    /// When it was started.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was submitted.
    pub submitted_at: Option<Timestamp>,
    /// The question ids an officer reopened for correction, as JSON.
    pub reopened: String,
    /// The deadline of its state (`YYYY-MM-DD`), if the state has one.
    pub due_on: Option<String>,
    /// When it was escalated for missing that deadline.
    pub escalated_at: Option<Timestamp>,
    /// The officer who claimed it in its state.
    pub claimed_by: Option<String>,
}

/// One step in an application's history.
#[derive(Debug, Clone)]
pub struct Event {
    /// When.
    pub at: Timestamp,
    /// Who (a user id), if a person.
    pub actor_id: Option<String>,
    /// In what role: `applicant`, or a staff role.
    pub role: String,
    /// The workflow's action (`submit`, `approve`…).
    pub action: String,
    /// The state before.
    pub from_state: Option<String>,
    /// The state after.
    pub to_state: String,
    /// What the actor wrote.
    pub comment: Option<String>,
}

/// The columns a new draft sets.
const NEW_COLUMNS: &str = "id, arn, user_id, service, version, department, office, state, \
    answers, birth_date, created_at, updated_at, submitted_at, reopened";
const COLUMNS: &str = "id, arn, user_id, service, version, department, office, state, answers, \
    birth_date, created_at, updated_at, submitted_at, reopened, due_on, escalated_at, claimed_by";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Application> {
    Ok(Application {
        id: ApplicationId::new(text(row, "id")?),
        arn: opt_text(row, "arn")?,
        user_id: UserId::new(text(row, "user_id")?),
        service: text(row, "service")?,
        version: int(row, "version")?,
        department: text(row, "department")?,
        office: opt_text(row, "office")?,
        state: text(row, "state")?,
        answers: text(row, "answers")?,
        birth_date: opt_text(row, "birth_date")?,
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        updated_at: Timestamp::from_millis(int(row, "updated_at")?),
        submitted_at: opt_int(row, "submitted_at")?.map(Timestamp::from_millis),
        reopened: text(row, "reopened")?,
        due_on: opt_text(row, "due_on")?,
        escalated_at: opt_int(row, "escalated_at")?.map(Timestamp::from_millis),
        claimed_by: opt_text(row, "claimed_by")?,
    })
}

/// Writes a new draft.
pub async fn insert(conn: &mut Conn, a: &Application) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO applications ({NEW_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(a.id.as_str())
    .bind(a.arn.clone())
    .bind(a.user_id.as_str())
    .bind(&a.service)
    .bind(a.version)
    .bind(&a.department)
    .bind(a.office.clone())
    .bind(&a.state)
    .bind(&a.answers)
    .bind(a.birth_date.clone())
    .bind(a.created_at.millis())
    .bind(a.updated_at.millis())
    .bind(a.submitted_at.map(|t| t.millis()))
    .bind(&a.reopened)
    .execute(conn)
    .await?;
    Ok(())
}

/// The application with this id, if it belongs to `owner`.
pub async fn owned(
    conn: &mut Conn,
    id: &ApplicationId,
    owner: &UserId,
) -> Result<Option<Application>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM applications WHERE id = $1 AND user_id = $2"
    ))
    .bind(id.as_str())
    .bind(owner.as_str())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(from_row)
    .transpose()
}

/// A person's applications, the most recently changed first.
pub async fn of_user(conn: &mut Conn, owner: &UserId, limit: i64) -> Result<Vec<Application>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM applications WHERE user_id = $1 \
         ORDER BY updated_at DESC, id LIMIT $2"
    ))
    .bind(owner.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// The open (submitted, not final) and draft applications of `owner` for `service`, the
/// most recently changed first: for services that allow one at a time.
pub async fn open_for(
    conn: &mut Conn,
    owner: &UserId,
    service: &str,
    finals: &[&str],
) -> Result<Vec<Application>> {
    let mut found = sqlx::query(sql!(
        "SELECT {COLUMNS} FROM applications WHERE user_id = $1 AND service = $2 \
         ORDER BY updated_at DESC"
    ))
    .bind(owner.as_str())
    .bind(service)
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect::<Result<Vec<_>>>()?;
    found.retain(|a| !finals.contains(&a.state.as_str()));
    Ok(found)
}

/// Locks the applicant's account row until the transaction ends, so that two submissions of
/// one person's applications are checked against each other one at a time (SQLite's single
/// writer already does this).
pub async fn lock_applicant(conn: &mut Conn, owner: &UserId) -> Result<()> {
    let lock = crate::Backend::of(conn).for_update();
    sqlx::query(sql!("SELECT id FROM users WHERE id = $1{lock}"))
        .bind(owner.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(())
}

/// Saves a draft's answers; false if it is no longer a draft of `owner`.
pub async fn save_draft(
    conn: &mut Conn,
    id: &ApplicationId,
    owner: &UserId,
    answers: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE applications SET answers = $1, updated_at = $2, reminded_at = NULL \
         WHERE id = $3 AND user_id = $4 AND state = 'draft'",
    )
    .bind(answers)
    .bind(at.millis())
    .bind(id.as_str())
    .bind(owner.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What submission writes.
#[derive(Debug, Clone)]
pub struct Submission<'a> {
    /// The reference number.
    pub arn: &'a str,
    /// The workflow's first state.
    pub state: &'a str,
    /// The answers that apply, as JSON.
    pub answers: &'a str,
    /// The office chosen.
    pub office: Option<&'a str>,
    /// The date of birth answered.
    pub birth_date: Option<&'a str>,
    /// The first state's deadline.
    pub due_on: Option<&'a str>,
    /// When.
    pub at: Timestamp,
}

/// Submits a draft of `owner`; false if it is not (or no longer) one.
pub async fn submit(
    conn: &mut Conn,
    id: &ApplicationId,
    owner: &UserId,
    s: &Submission<'_>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE applications SET arn = $1, state = $2, answers = $3, office = $4, \
         birth_date = $5, submitted_at = $6, updated_at = $6, due_on = $9 \
         WHERE id = $7 AND user_id = $8 AND state = 'draft'",
    )
    .bind(s.arn)
    .bind(s.state)
    .bind(s.answers)
    .bind(s.office)
    .bind(s.birth_date)
    .bind(s.at.millis())
    .bind(id.as_str())
    .bind(owner.as_str())
    .bind(s.due_on)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records which answers were checked profile facts at submission (JSON).
pub async fn set_checked_facts(conn: &mut Conn, id: &ApplicationId, facts: &str) -> Result<()> {
    sqlx::query("UPDATE applications SET checked_facts = $1 WHERE id = $2")
        .bind(facts)
        .bind(id.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Which answers were checked profile facts at submission (JSON), if recorded.
pub async fn checked_facts(conn: &mut Conn, id: &ApplicationId) -> Result<Option<String>> {
    let row = sqlx::query("SELECT checked_facts FROM applications WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    Ok(row.and_then(|r| crate::opt_text(&r, "checked_facts").ok().flatten()))
}

/// An officer claims an application in `state` that no one has claimed (or releases their own
/// claim, with `claim` false); false if it moved or someone else holds it.
pub async fn claim(
    conn: &mut Conn,
    id: &ApplicationId,
    state: &str,
    officer: &str,
    claim: bool,
) -> Result<bool> {
    let q = if claim {
        sqlx::query(
            "UPDATE applications SET claimed_by = $3 \
             WHERE id = $1 AND state = $2 AND claimed_by IS NULL",
        )
    } else {
        sqlx::query(
            "UPDATE applications SET claimed_by = NULL \
             WHERE id = $1 AND state = $2 AND claimed_by = $3",
        )
    };
    let done = q
        .bind(id.as_str())
        .bind(state)
        .bind(officer)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// A move of an application from one state to another.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    /// The state the actor saw.
    pub from: &'a str,
    /// The state it goes to.
    pub to: &'a str,
    /// The questions reopened for correction, as JSON (`[]` for none).
    pub reopened: &'a str,
    /// The new state's deadline.
    pub due_on: Option<&'a str>,
    /// When.
    pub at: Timestamp,
}

/// Moves an application; false if it was not in `t.from` (someone acted first). The new state
/// starts with its own deadline and no escalation.
pub async fn transition(conn: &mut Conn, id: &ApplicationId, t: &Transition<'_>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE applications SET state = $1, reopened = $2, updated_at = $3, due_on = $6, \
         escalated_at = NULL, claimed_by = NULL WHERE id = $4 AND state = $5",
    )
    .bind(t.to)
    .bind(t.reopened)
    .bind(t.at.millis())
    .bind(id.as_str())
    .bind(t.from)
    .bind(t.due_on)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Applications whose deadline passed before `today` and that were not escalated in their
/// state yet, earliest deadline first.
pub async fn overdue(conn: &mut Conn, today: &str, limit: i64) -> Result<Vec<Application>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM applications WHERE due_on < $1 AND escalated_at IS NULL \
         ORDER BY due_on, id LIMIT $2"
    ))
    .bind(today)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Records that an application in `state` was escalated; false if it moved or was already.
pub async fn mark_escalated(
    conn: &mut Conn,
    id: &ApplicationId,
    state: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE applications SET escalated_at = $1 \
         WHERE id = $2 AND state = $3 AND escalated_at IS NULL",
    )
    .bind(at.millis())
    .bind(id.as_str())
    .bind(state)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Drafts untouched since before `before` whose owner was not reminded yet.
pub async fn drafts_to_remind(
    conn: &mut Conn,
    before: Timestamp,
    limit: i64,
) -> Result<Vec<Application>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM applications WHERE state = 'draft' AND updated_at < $1 \
         AND reminded_at IS NULL ORDER BY updated_at, id LIMIT $2"
    ))
    .bind(before.millis())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Records the reminder of a draft still untouched since `seen`; false if it changed.
pub async fn mark_reminded(
    conn: &mut Conn,
    id: &ApplicationId,
    seen: Timestamp,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE applications SET reminded_at = $1 WHERE id = $2 AND state = 'draft' \
         AND updated_at = $3 AND reminded_at IS NULL",
    )
    .bind(at.millis())
    .bind(id.as_str())
    .bind(seen.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Drafts untouched since before `before` whose owner was reminded before `reminded_before`.
pub async fn drafts_to_expire(
    conn: &mut Conn,
    before: Timestamp,
    reminded_before: Timestamp,
    limit: i64,
) -> Result<Vec<Application>> {
    sqlx::query(sql!(
        "SELECT {COLUMNS} FROM applications WHERE state = 'draft' AND updated_at < $1 \
         AND reminded_at < $3 ORDER BY updated_at, id LIMIT $2"
    ))
    .bind(before.millis())
    .bind(limit)
    .bind(reminded_before.millis())
    .fetch_all(conn)
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Deletes an expired draft still untouched since `seen`; false if it changed meanwhile.
pub async fn expire_draft(conn: &mut Conn, id: &ApplicationId, seen: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "DELETE FROM applications WHERE id = $1 AND state = 'draft' AND updated_at = $2 \
         AND reminded_at IS NOT NULL",
    )
    .bind(id.as_str())
    .bind(seen.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Saves corrected answers of an application in `state`, owned by `owner`; false if it moved.
pub async fn save_correction(
    conn: &mut Conn,
    id: &ApplicationId,
    owner: &UserId,
    state: &str,
    answers: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE applications SET answers = $1, updated_at = $2 \
         WHERE id = $3 AND user_id = $4 AND state = $5",
    )
    .bind(answers)
    .bind(at.millis())
    .bind(id.as_str())
    .bind(owner.as_str())
    .bind(state)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Saves answers changed by staff on an application still in `state`; false if it moved.
pub async fn save_by_staff(
    conn: &mut Conn,
    id: &ApplicationId,
    state: &str,
    answers: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE applications SET answers = $1, updated_at = $2 WHERE id = $3 AND state = $4",
    )
    .bind(answers)
    .bind(at.millis())
    .bind(id.as_str())
    .bind(state)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Any application by id (officers: the caller checks their scope).
pub async fn by_id(conn: &mut Conn, id: &ApplicationId) -> Result<Option<Application>> {
    sqlx::query(sql!("SELECT {COLUMNS} FROM applications WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Submitted applications of a department in `state` (and at `office`, if given), oldest
/// submission first. One state and one office per query, so each reads one range of an index
/// in order and stops at `limit`, however many applications the table holds.
pub async fn queue(
    conn: &mut Conn,
    department: &str,
    state: &str,
    office: Office<'_>,
    limit: i64,
) -> Result<Vec<Application>> {
    let q = match office {
        Office::One(o) => sqlx::query(sql!(
            "SELECT {COLUMNS} FROM applications WHERE department = $1 AND state = $2 \
             AND office = $4 ORDER BY submitted_at, id LIMIT $3"
        ))
        .bind(department)
        .bind(state)
        .bind(limit)
        .bind(o.to_string()),
        Office::Without => sqlx::query(sql!(
            "SELECT {COLUMNS} FROM applications WHERE department = $1 AND state = $2 \
             AND office IS NULL ORDER BY submitted_at, id LIMIT $3"
        ))
        .bind(department)
        .bind(state)
        .bind(limit),
        Office::Any => sqlx::query(sql!(
            "SELECT {COLUMNS} FROM applications WHERE department = $1 AND state = $2 \
             ORDER BY submitted_at, id LIMIT $3"
        ))
        .bind(department)
        .bind(state)
        .bind(limit),
    };
    q.fetch_all(conn).await?.iter().map(from_row).collect()
}

/// Which applications of a queue, by office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Office<'a> {
    /// Whatever their office.
    Any,
    /// Those made at this office.
    One(&'a str),
    /// Those made without one (services that have no offices).
    Without,
}

/// Every application of `service` in one of `states` (a waiting list's members).
pub async fn in_states(
    conn: &mut Conn,
    service: &str,
    states: &[&str],
) -> Result<Vec<Application>> {
    let mut out = Vec::new();
    for state in states {
        out.extend(
            sqlx::query(sql!(
                "SELECT {COLUMNS} FROM applications WHERE service = $1 AND state = $2"
            ))
            .bind(service)
            .bind(*state)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(from_row)
            .collect::<Result<Vec<_>>>()?,
        );
    }
    Ok(out)
}

/// Writes many applications at once (seeding a database for measurement).
pub async fn insert_many(conn: &mut Conn, all: &[Application]) -> Result<()> {
    // 14 columns a row: 500 rows stay under every backend's limit of bind parameters.
    for chunk in all.chunks(500) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| {
                let marks: Vec<String> = (1..=14).map(|c| format!("${}", r * 14 + c)).collect();
                format!("({})", marks.join(", "))
            })
            .collect();
        let mut q = sqlx::query(sql!(
            "INSERT INTO applications ({NEW_COLUMNS}) VALUES {}",
            rows.join(", ")
        ));
        for a in chunk {
            q = q
                .bind(a.id.as_str().to_string())
                .bind(a.arn.clone())
                .bind(a.user_id.as_str().to_string())
                .bind(a.service.clone())
                .bind(a.version)
                .bind(a.department.clone())
                .bind(a.office.clone())
                .bind(a.state.clone())
                .bind(a.answers.clone())
                .bind(a.birth_date.clone())
                .bind(a.created_at.millis())
                .bind(a.updated_at.millis())
                .bind(a.submitted_at.map(|t| t.millis()))
                .bind(a.reopened.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Deletes a draft of `owner`; false if it is not one.
pub async fn delete_draft(conn: &mut Conn, id: &ApplicationId, owner: &UserId) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM applications WHERE id = $1 AND user_id = $2 AND state = 'draft'")
            .bind(id.as_str())
            .bind(owner.as_str())
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Appends a step to an application's history.
pub async fn append_event(conn: &mut Conn, id: &ApplicationId, e: &Event) -> Result<()> {
    sqlx::query(
        "INSERT INTO application_events \
         (application_id, at, actor_id, role, action, from_state, to_state, comment) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.as_str())
    .bind(e.at.millis())
    .bind(e.actor_id.clone())
    .bind(&e.role)
    .bind(&e.action)
    .bind(e.from_state.clone())
    .bind(&e.to_state)
    .bind(e.comment.clone())
    .execute(conn)
    .await?;
    Ok(())
}

/// An application's history, oldest first.
pub async fn events(conn: &mut Conn, id: &ApplicationId) -> Result<Vec<Event>> {
    sqlx::query(
        "SELECT at, actor_id, role, action, from_state, to_state, comment \
         FROM application_events WHERE application_id = $1 ORDER BY id",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        Ok(Event {
            at: Timestamp::from_millis(int(row, "at")?),
            actor_id: opt_text(row, "actor_id")?,
            role: text(row, "role")?,
            action: text(row, "action")?,
            from_state: opt_text(row, "from_state")?,
            to_state: text(row, "to_state")?,
            comment: opt_text(row, "comment")?,
        })
    })
    .collect()
}

/// The submitted application with this reference number.
pub async fn by_arn(conn: &mut Conn, arn: &str) -> Result<Option<Application>> {
    sqlx::query(sql!("SELECT {COLUMNS} FROM applications WHERE arn = $1"))
        .bind(arn)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// One step of one of a person's applications, for their list of notifications.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The application.
    pub application: ApplicationId,
    /// Its reference number.
    pub arn: Option<String>,
    /// Its service and the version it follows.
    pub service: String,
    /// The version.
    pub version: i64,
    /// The step.
    pub event: Event,
}

/// The latest steps of all of `owner`'s applications, newest first.
pub async fn notices(conn: &mut Conn, owner: &UserId, limit: i64) -> Result<Vec<Notice>> {
    sqlx::query(
        "SELECT e.application_id, a.arn, a.service, a.version, e.at, e.actor_id, e.role, \
         e.action, e.from_state, e.to_state, e.comment \
         FROM application_events e JOIN applications a ON a.id = e.application_id \
         WHERE a.user_id = $1 ORDER BY e.at DESC, e.id DESC LIMIT $2",
    )
    .bind(owner.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        Ok(Notice {
            application: ApplicationId::new(text(row, "application_id")?),
            arn: opt_text(row, "arn")?,
            service: text(row, "service")?,
            version: int(row, "version")?,
            event: Event {
                at: Timestamp::from_millis(int(row, "at")?),
                actor_id: opt_text(row, "actor_id")?,
                role: text(row, "role")?,
                action: text(row, "action")?,
                from_state: opt_text(row, "from_state")?,
                to_state: text(row, "to_state")?,
                comment: opt_text(row, "comment")?,
            },
        })
    })
    .collect()
}

/// An application's place in one waiting list, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingEntry {
    /// The choice (a kindergarten's code).
    pub choice: String,
    /// The benefit's rank (0 first; no benefit after every rank).
    pub benefit: i64,
    /// When it started waiting (its submission).
    pub since: Timestamp,
    /// Which choice it was for the applicant (1: the most wanted).
    pub preference: i64,
}

/// Whether the service's lists were filled from the applications already waiting.
pub async fn waiting_lists_built(conn: &mut Conn, service: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT service FROM waiting_lists_built WHERE service = $1")
            .bind(service)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// Empties a service's lists, to fill them afresh in the same transaction.
pub async fn clear_waiting_lists(conn: &mut Conn, service: &str) -> Result<()> {
    sqlx::query("DELETE FROM waiting_entries WHERE service = $1")
        .bind(service)
        .execute(conn)
        .await?;
    Ok(())
}

/// Fills a service's emptied lists from `entries` (application id, entry) and records them
/// built, in the transaction that emptied them: a list is either whole or not yet made, and an
/// entry a submission wrote meanwhile is kept (`ON CONFLICT DO NOTHING`).
pub async fn build_waiting_lists(
    conn: &mut Conn,
    service: &str,
    entries: &[(ApplicationId, WaitingEntry)],
    at: Timestamp,
) -> Result<()> {
    for (id, e) in entries {
        insert_waiting(conn, service, id, e).await?;
    }
    sqlx::query(
        "INSERT INTO waiting_lists_built (service, built_at) VALUES ($1, $2) \
         ON CONFLICT (service) DO NOTHING",
    )
    .bind(service)
    .bind(at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_waiting(
    conn: &mut Conn,
    service: &str,
    id: &ApplicationId,
    e: &WaitingEntry,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO waiting_entries (service, choice, application_id, benefit, since, preference) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (application_id, choice) DO NOTHING",
    )
    .bind(service)
    .bind(&e.choice)
    .bind(id.as_str())
    .bind(e.benefit)
    .bind(e.since.millis())
    .bind(e.preference)
    .execute(conn)
    .await?;
    Ok(())
}

/// Puts an application in the lists `entries` name, and takes it out of every other (none:
/// it no longer waits).
pub async fn set_waiting(
    conn: &mut Conn,
    service: &str,
    id: &ApplicationId,
    entries: &[WaitingEntry],
) -> Result<()> {
    sqlx::query("DELETE FROM waiting_entries WHERE application_id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    for e in entries {
        insert_waiting(conn, service, id, e).await?;
    }
    Ok(())
}

/// An application's entries, most wanted first.
pub async fn waiting_of(conn: &mut Conn, id: &ApplicationId) -> Result<Vec<WaitingEntry>> {
    sqlx::query(
        "SELECT choice, benefit, since, preference FROM waiting_entries \
         WHERE application_id = $1 ORDER BY preference",
    )
    .bind(id.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(WaitingEntry {
            choice: text(r, "choice")?,
            benefit: int(r, "benefit")?,
            since: Timestamp::from_millis(int(r, "since")?),
            preference: int(r, "preference")?,
        })
    })
    .collect()
}

/// An entry's place in its list (1: next) and how many wait in it: two counts over the
/// list's index.
pub async fn place_in(
    conn: &mut Conn,
    service: &str,
    id: &ApplicationId,
    e: &WaitingEntry,
) -> Result<(i64, i64)> {
    let ahead = sqlx::query(
        "SELECT COUNT(*) AS n FROM waiting_entries WHERE service = $1 AND choice = $2 \
         AND (benefit < $3 OR (benefit = $3 AND (since < $4 OR (since = $4 AND application_id < $5))))",
    )
    .bind(service)
    .bind(&e.choice)
    .bind(e.benefit)
    .bind(e.since.millis())
    .bind(id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    let all =
        sqlx::query("SELECT COUNT(*) AS n FROM waiting_entries WHERE service = $1 AND choice = $2")
            .bind(service)
            .bind(&e.choice)
            .fetch_one(conn)
            .await?;
    Ok((int(&ahead, "n")? + 1, int(&all, "n")?))
}
