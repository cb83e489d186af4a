//! Payment orders, attempts, the ledger of events, handled notifications and refunds. The
//! ledger is append-only; a fact is recorded once per subject (`ON CONFLICT DO NOTHING`), so a
//! notification delivered twice or a reconciliation file imported twice adds nothing. The
//! only columns ever updated are claimed once by a conditional statement.

use ekdwar_domain::payments::{Currency, EventKind, LedgerEvent, Money, PayChannel};
use ekdwar_domain::{Timestamp, UserId};

use crate::{Conn, Result, corrupt, int, opt_int, opt_text, parsed, sql, text};

/// What an application owes.
#[derive(Debug, Clone)]
pub struct Order {
    /// Its id.
    pub id: String,
    /// The application it is for.
    pub application_id: String,
    /// Who owes it.
    pub owner_id: UserId,
    /// What it pays for (the service's code).
    pub purpose: String,
    /// What is paid online, before an appointment.
    pub online: Money,
    /// What is paid at the centre on the day (the tatkaal balance).
    pub centre: Money,
    /// When it was made.
    pub created_at: Timestamp,
    /// The attempt that paid it, once one has.
    pub paid_by: Option<String>,
    /// When.
    pub paid_at: Option<Timestamp>,
}

const ORDER_COLUMNS: &str = "id, application_id, owner_id, purpose, currency, online_amount, \
    centre_amount, created_at, paid_by, paid_at";

fn currency(row: &sqlx::any::AnyRow) -> Result<Currency> {
    let c = text(row, "currency")?;
    Currency::parse(&c).map_err(|_| corrupt("currency", &c))
}

fn money(row: &sqlx::any::AnyRow, col: &str, cur: Currency) -> Result<Money> {
    let n = int(row, col)?;
    Money::new(n, cur).map_err(|_| corrupt(col, &n.to_string()))
}

fn order_row(row: &sqlx::any::AnyRow) -> Result<Order> {
    let cur = currency(row)?;
    Ok(Order {
        id: text(row, "id")?,
        application_id: text(row, "application_id")?,
        owner_id: UserId::new(text(row, "owner_id")?),
        purpose: text(row, "purpose")?,
        online: money(row, "online_amount", cur)?,
        centre: money(row, "centre_amount", cur)?,
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        paid_by: opt_text(row, "paid_by")?,
        paid_at: opt_int(row, "paid_at")?.map(Timestamp::from_millis),
    })
}

/// Writes a new order; an application has at most one (`Conflict("application")`).
pub async fn insert_order(conn: &mut Conn, o: &Order) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO payment_orders ({ORDER_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL)"
    ))
    .bind(&o.id)
    .bind(&o.application_id)
    .bind(o.owner_id.as_str())
    .bind(&o.purpose)
    .bind(o.online.currency().as_str())
    .bind(o.online.minor())
    .bind(o.centre.minor())
    .bind(o.created_at.millis())
    .execute(conn)
    .await
    .map_err(|e| crate::StoreError::from_insert(e, &["application"]))?;
    Ok(())
}

/// An order by its id.
pub async fn order(conn: &mut Conn, id: &str) -> Result<Option<Order>> {
    sqlx::query(sql!(
        "SELECT {ORDER_COLUMNS} FROM payment_orders WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(order_row)
    .transpose()
}

/// The order of an application.
pub async fn order_of_application(conn: &mut Conn, application: &str) -> Result<Option<Order>> {
    sqlx::query(sql!(
        "SELECT {ORDER_COLUMNS} FROM payment_orders WHERE application_id = $1"
    ))
    .bind(application)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(order_row)
    .transpose()
}

/// A person's orders, newest first.
pub async fn orders_of(conn: &mut Conn, owner: &UserId, limit: i64) -> Result<Vec<Order>> {
    sqlx::query(sql!(
        "SELECT {ORDER_COLUMNS} FROM payment_orders WHERE owner_id = $1 \
         ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(owner.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(order_row)
    .collect()
}

/// Locks an order's row until the transaction ends, so that the facts about one order are
/// recorded one transaction at a time (SQLite's single writer already does this).
pub async fn lock_order(conn: &mut Conn, id: &str) -> Result<()> {
    let lock = crate::Backend::of(conn).for_update();
    sqlx::query(sql!("SELECT id FROM payment_orders WHERE id = $1{lock}"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(())
}

/// Marks the order paid by `attempt`, if nothing paid it before: `false` means another payment
/// got there first and this one is a duplicate.
pub async fn claim_paid(
    conn: &mut Conn,
    order: &str,
    attempt: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE payment_orders SET paid_by = $1, paid_at = $2 WHERE id = $3 AND paid_by IS NULL",
    )
    .bind(attempt)
    .bind(at.millis())
    .bind(order)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One try at paying an order.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Its id (also the idempotency key of the gateway call that creates it).
    pub id: String,
    /// The order.
    pub order_id: String,
    /// How.
    pub channel: PayChannel,
    /// The gateway's name (`challan`, `centre` for those).
    pub gateway: String,
    /// The gateway's payment id or the challan's reference, once known.
    pub reference: Option<String>,
    /// How much it asks.
    pub amount: Money,
    /// When it began.
    pub created_at: Timestamp,
    /// A challan: payable from.
    pub payable_from: Option<Timestamp>,
    /// A challan: payable until; a gateway payment: abandoned after.
    pub valid_until: Option<Timestamp>,
    /// When it reached a final state.
    pub closed_at: Option<Timestamp>,
    /// The appointment hold this payment books when it succeeds.
    pub hold_id: Option<String>,
}

const ATTEMPT_COLUMNS: &str = "id, order_id, channel, gateway, reference, amount, currency, \
    created_at, payable_from, valid_until, closed_at, hold_id";

fn attempt_row(row: &sqlx::any::AnyRow) -> Result<Attempt> {
    let cur = currency(row)?;
    Ok(Attempt {
        id: text(row, "id")?,
        order_id: text(row, "order_id")?,
        channel: parsed(row, "channel", PayChannel::parse)?,
        gateway: text(row, "gateway")?,
        reference: opt_text(row, "reference")?,
        amount: money(row, "amount", cur)?,
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        payable_from: opt_int(row, "payable_from")?.map(Timestamp::from_millis),
        valid_until: opt_int(row, "valid_until")?.map(Timestamp::from_millis),
        closed_at: opt_int(row, "closed_at")?.map(Timestamp::from_millis),
        hold_id: opt_text(row, "hold_id")?,
    })
}

/// Writes a new attempt.
pub async fn insert_attempt(conn: &mut Conn, a: &Attempt) -> Result<()> {
    sqlx::query(sql!(
        "INSERT INTO payment_attempts ({ATTEMPT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11)"
    ))
    .bind(&a.id)
    .bind(&a.order_id)
    .bind(a.channel.as_str())
    .bind(&a.gateway)
    .bind(a.reference.clone())
    .bind(a.amount.minor())
    .bind(a.amount.currency().as_str())
    .bind(a.created_at.millis())
    .bind(a.payable_from.map(|t| t.millis()))
    .bind(a.valid_until.map(|t| t.millis()))
    .bind(a.hold_id.clone())
    .execute(conn)
    .await
    .map_err(|e| crate::StoreError::from_insert(e, &["reference"]))?;
    Ok(())
}

/// Records the gateway's payment id for an attempt, once.
pub async fn set_reference(conn: &mut Conn, attempt: &str, reference: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE payment_attempts SET reference = $1 WHERE id = $2 AND reference IS NULL",
    )
    .bind(reference)
    .bind(attempt)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An attempt by its id.
pub async fn attempt(conn: &mut Conn, id: &str) -> Result<Option<Attempt>> {
    sqlx::query(sql!(
        "SELECT {ATTEMPT_COLUMNS} FROM payment_attempts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(attempt_row)
    .transpose()
}

/// An attempt by the gateway's reference (a challan's reference, a gateway's payment id).
pub async fn attempt_by_reference(
    conn: &mut Conn,
    gateway: &str,
    reference: &str,
) -> Result<Option<Attempt>> {
    sqlx::query(sql!(
        "SELECT {ATTEMPT_COLUMNS} FROM payment_attempts WHERE gateway = $1 AND reference = $2"
    ))
    .bind(gateway)
    .bind(reference)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(attempt_row)
    .transpose()
}

/// An order's attempts, oldest first.
pub async fn attempts_of(conn: &mut Conn, order: &str) -> Result<Vec<Attempt>> {
    sqlx::query(sql!(
        "SELECT {ATTEMPT_COLUMNS} FROM payment_attempts WHERE order_id = $1 ORDER BY created_at, id"
    ))
    .bind(order)
    .fetch_all(conn)
    .await?
    .iter()
    .map(attempt_row)
    .collect()
}

/// Marks an attempt final, once (`false`: it already was).
pub async fn close_attempt(conn: &mut Conn, attempt: &str, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE payment_attempts SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL",
    )
    .bind(at.millis())
    .bind(attempt)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Attempts not yet final that began before `before`, oldest first: the sweep asks their
/// gateways where they stand.
pub async fn open_attempts(conn: &mut Conn, before: Timestamp, limit: i64) -> Result<Vec<Attempt>> {
    sqlx::query(sql!(
        "SELECT {ATTEMPT_COLUMNS} FROM payment_attempts \
         WHERE closed_at IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2"
    ))
    .bind(before.millis())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(attempt_row)
    .collect()
}

/// A fact to append to an order's ledger.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The order.
    pub order_id: &'a str,
    /// The fact.
    pub event: &'a LedgerEvent,
    /// Who recorded it (an operator), if a person did.
    pub actor_id: Option<&'a str>,
    /// A reason or remark.
    pub note: Option<&'a str>,
}

/// Appends a fact; `false` when this subject already has a fact of this kind (nothing is
/// written: the same notification twice is one fact).
pub async fn append(conn: &mut Conn, e: &NewEvent<'_>) -> Result<bool> {
    let ev = e.event;
    let done = sqlx::query(
        "INSERT INTO payment_events \
         (order_id, subject, kind, channel, amount, currency, reference, at, actor_id, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (subject, kind) DO NOTHING",
    )
    .bind(e.order_id)
    .bind(&ev.subject)
    .bind(ev.kind.as_str())
    .bind(ev.channel.map(|c| c.as_str()))
    .bind(ev.amount.minor())
    .bind(ev.amount.currency().as_str())
    .bind(ev.reference.clone())
    .bind(ev.at.millis())
    .bind(e.actor_id)
    .bind(e.note)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A ledger entry as stored, with the order it belongs to.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The order.
    pub order_id: String,
    /// The fact.
    pub event: LedgerEvent,
    /// Who recorded it.
    pub actor_id: Option<String>,
    /// A reason or remark.
    pub note: Option<String>,
}

fn event_row(row: &sqlx::any::AnyRow) -> Result<StoredEvent> {
    let cur = currency(row)?;
    let channel = match opt_text(row, "channel")? {
        Some(c) => Some(PayChannel::parse(&c).ok_or_else(|| corrupt("channel", &c))?),
        None => None,
    };
    Ok(StoredEvent {
        order_id: text(row, "order_id")?,
        event: LedgerEvent {
            kind: parsed(row, "kind", EventKind::parse)?,
            subject: text(row, "subject")?,
            channel,
            amount: money(row, "amount", cur)?,
            reference: opt_text(row, "reference")?,
            at: Timestamp::from_millis(int(row, "at")?),
        },
        actor_id: opt_text(row, "actor_id")?,
        note: opt_text(row, "note")?,
    })
}

const EVENT_COLUMNS: &str =
    "order_id, subject, kind, channel, amount, currency, reference, at, actor_id, note";

/// An order's ledger, in the order it was written.
pub async fn events(conn: &mut Conn, order: &str) -> Result<Vec<StoredEvent>> {
    sqlx::query(sql!(
        "SELECT {EVENT_COLUMNS} FROM payment_events WHERE order_id = $1 ORDER BY seq"
    ))
    .bind(order)
    .fetch_all(conn)
    .await?
    .iter()
    .map(event_row)
    .collect()
}

/// Every ledger entry recorded in `[from, to)`, in order (the daily report).
pub async fn events_between(
    conn: &mut Conn,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<StoredEvent>> {
    sqlx::query(sql!(
        "SELECT {EVENT_COLUMNS} FROM payment_events WHERE at >= $1 AND at < $2 ORDER BY seq"
    ))
    .bind(from.millis())
    .bind(to.millis())
    .fetch_all(conn)
    .await?
    .iter()
    .map(event_row)
    .collect()
}

/// Records that a gateway's notification was handled; `false` when it already was.
pub async fn note_notice(
    conn: &mut Conn,
    gateway: &str,
    event_id: &str,
    at: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO payment_notices (gateway, event_id, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (gateway, event_id) DO NOTHING",
    )
    .bind(gateway)
    .bind(event_id)
    .bind(at.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

ekdwar_domain::string_enum!(
    /// How a refund reaches the payer.
    pub enum RefundRoute {
        /// Through the gateway's refund call.
        Gateway => "gateway",
        /// In the file handed to the treasury (challans).
        Treasury => "treasury",
    }
);

/// Money going back.
#[derive(Debug, Clone)]
pub struct Refund {
    /// Its id.
    pub id: String,
    /// The order.
    pub order_id: String,
    /// The attempt whose money goes back.
    pub attempt_id: String,
    /// How.
    pub route: RefundRoute,
    /// How much.
    pub amount: Money,
    /// Why (`duplicate`, `cancelled`).
    pub reason: String,
    /// When it was decided.
    pub created_at: Timestamp,
    /// When it reached a final state (paid out, refused, or exported to the treasury).
    pub closed_at: Option<Timestamp>,
}

const REFUND_COLUMNS: &str =
    "id, order_id, attempt_id, route, amount, currency, reason, created_at, closed_at";

fn refund_row(row: &sqlx::any::AnyRow) -> Result<Refund> {
    let cur = currency(row)?;
    Ok(Refund {
        id: text(row, "id")?,
        order_id: text(row, "order_id")?,
        attempt_id: text(row, "attempt_id")?,
        route: parsed(row, "route", RefundRoute::parse)?,
        amount: money(row, "amount", cur)?,
        reason: text(row, "reason")?,
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        closed_at: opt_int(row, "closed_at")?.map(Timestamp::from_millis),
    })
}

/// Writes a refund; an attempt is refunded at most once (`false`: it already was).
pub async fn insert_refund(conn: &mut Conn, r: &Refund) -> Result<bool> {
    let done = sqlx::query(sql!(
        "INSERT INTO payment_refunds ({REFUND_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL) ON CONFLICT (attempt_id) DO NOTHING"
    ))
    .bind(&r.id)
    .bind(&r.order_id)
    .bind(&r.attempt_id)
    .bind(r.route.as_str())
    .bind(r.amount.minor())
    .bind(r.amount.currency().as_str())
    .bind(&r.reason)
    .bind(r.created_at.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a refund final, once (`false`: it already was).
pub async fn close_refund(conn: &mut Conn, id: &str, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE payment_refunds SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL",
    )
    .bind(at.millis())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Refunds on `route` not yet final, oldest first.
pub async fn open_refunds(conn: &mut Conn, route: RefundRoute, limit: i64) -> Result<Vec<Refund>> {
    sqlx::query(sql!(
        "SELECT {REFUND_COLUMNS} FROM payment_refunds WHERE route = $1 AND closed_at IS NULL \
         ORDER BY created_at, id LIMIT $2"
    ))
    .bind(route.as_str())
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(refund_row)
    .collect()
}
