//! The outbox: every SMS and e-mail is written here in the same transaction as the change that
//! causes it, with the job that delivers it (see `jobs`); the row keeps its delivery state.

use ekdwar_domain::{Channel, Timestamp};
use serde::Serialize;

use crate::{Conn, Result, corrupt, int, opt_int, opt_text, sql, text};

pub use ekdwar_domain::enums::outbox::OutboxStatus;

#[derive(Debug, Clone, Serialize)]
/// A message in the outbox.
pub struct OutboxMessage {
    /// Its id (the gateway's reference).
    pub id: i64,
    /// SMS or e-mail.
    pub channel: Channel,
    /// E.164 number or e-mail address.
    pub recipient: String,
    /// The e-mail's subject.
    pub subject: Option<String>,
    /// The text (emptied once sent, or after a day when never sent).
    pub body: String,
    /// The template that produced it (`register-code`, ...).
    pub kind: String,
    /// Where it stands.
    pub status: OutboxStatus,
    /// How many deliveries were tried.
    pub attempts: i64,
    /// When it was written.
    pub created_at: Timestamp,
    /// When a gateway accepted it.
    pub sent_at: Option<Timestamp>,
    /// Why the last delivery failed.
    pub last_error: Option<String>,
}

#[derive(Debug, Clone)]
/// A message a use-case writes.
pub struct NewMessage {
    /// SMS or e-mail.
    pub channel: Channel,
    /// E.164 number or e-mail address.
    pub recipient: String,
    /// The e-mail's subject.
    pub subject: Option<String>,
    /// The text.
    pub body: String,
    /// Which message it is (`register-code`, ...), for counting and reading.
    pub kind: String,
    /// Pending (a gateway will send it), local, or a decoy.
    pub status: OutboxStatus,
    /// When it was written.
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, channel, recipient, subject, body, kind, status, attempts, created_at, sent_at, last_error";

fn from_row(row: &sqlx::any::AnyRow) -> Result<OutboxMessage> {
    let channel = text(row, "channel")?;
    let status = text(row, "status")?;
    Ok(OutboxMessage {
        id: int(row, "id")?,
        channel: Channel::parse(&channel).ok_or_else(|| corrupt("channel", &channel))?,
        recipient: text(row, "recipient")?,
        subject: opt_text(row, "subject")?,
        body: text(row, "body")?,
        kind: text(row, "kind")?,
        status: OutboxStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        attempts: int(row, "attempts")?,
        created_at: Timestamp::from_millis(int(row, "created_at")?),
        sent_at: opt_int(row, "sent_at")?.map(Timestamp::from_millis),
        last_error: opt_text(row, "last_error")?,
    })
}

/// Writes a message; returns its id.
pub async fn enqueue(conn: &mut Conn, m: &NewMessage) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO outbox (channel, recipient, subject, body, kind, status, attempts, created_at, \
         next_attempt_at, locked_until) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7, 0) RETURNING id",
    )
    .bind(m.channel.as_str())
    .bind(&m.recipient)
    .bind(m.subject.clone())
    .bind(&m.body)
    .bind(&m.kind)
    .bind(m.status.as_str())
    .bind(m.created_at.millis())
    .fetch_one(conn)
    .await?;
    int(&row, "id")
}

/// The message with this id.
pub async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<OutboxMessage>> {
    sqlx::query(sql!("SELECT {COLUMNS} FROM outbox WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Records a delivery. The body is removed: it may hold a one-time code or personal data, and
/// the gateway has it now. False if the message was not waiting (sent already).
pub async fn mark_sent(conn: &mut Conn, id: i64, at: Timestamp) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, \
         last_error = NULL, body = '' WHERE id = $2 AND status = 'pending'",
    )
    .bind(at.millis())
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed attempt; with `last`, the message is given up.
pub async fn mark_attempt_failed(conn: &mut Conn, id: i64, error: &str, last: bool) -> Result<()> {
    let status = if last {
        OutboxStatus::Failed
    } else {
        OutboxStatus::Pending
    };
    sqlx::query(
        "UPDATE outbox SET status = $1, attempts = attempts + 1, last_error = $2 \
         WHERE id = $3 AND status = 'pending'",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Messages, newest first, optionally only those to one recipient.
pub async fn list(
    conn: &mut Conn,
    recipient: Option<&str>,
    limit: i64,
) -> Result<Vec<OutboxMessage>> {
    let rows = match recipient {
        Some(r) => {
            sqlx::query(sql!(
                "SELECT {COLUMNS} FROM outbox WHERE recipient = $1 AND status <> 'decoy' ORDER BY id DESC LIMIT $2"
            ))
            .bind(r)
            .bind(limit)
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query(sql!(
                "SELECT {COLUMNS} FROM outbox WHERE status <> 'decoy' ORDER BY id DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(conn)
            .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Empties the text of messages created before `before` (sent ones are emptied on sending):
/// codes and links must not stay readable in the outbox.
pub async fn forget_bodies(conn: &mut Conn, before: Timestamp) -> Result<u64> {
    let done = sqlx::query("UPDATE outbox SET body = '' WHERE created_at < $1 AND body <> ''")
        .bind(before.millis())
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
