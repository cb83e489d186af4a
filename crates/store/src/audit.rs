//! The append-only audit trail of security events.

use ekdwar_domain::Timestamp;
use ekdwar_domain::audit::{AuditAction, Outcome};
use serde::Serialize;

use crate::{Conn, Result, corrupt, int, opt_text, text};

#[derive(Debug, Clone, Serialize)]
/// A recorded security event.
pub struct AuditEntry {
    /// Its place in the trail (grows with time).
    pub id: i64,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it: an account's id, `cli`, or none (a visitor).
    pub actor_id: Option<String>,
    /// Whose account it concerns.
    pub subject_id: Option<String>,
    /// What happened.
    pub action: AuditAction,
    /// Whether it was allowed.
    pub outcome: Outcome,
    /// The address it came from.
    pub ip: Option<String>,
    /// More, in plain words; never a secret.
    pub detail: Option<String>,
}

/// What a use-case records; the store assigns the id.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    /// When it happened.
    pub at: Timestamp,
    /// Who did it: an account's id, `cli`, or none (a visitor).
    pub actor_id: Option<String>,
    /// Whose account it concerns.
    pub subject_id: Option<String>,
    /// What happened.
    pub action: AuditAction,
    /// Whether it was allowed.
    pub outcome: Outcome,
    /// The address it came from.
    pub ip: Option<String>,
    /// More, in plain words; never a secret.
    pub detail: Option<String>,
}

/// Appends an event to the trail (inside the transaction of the change it records).
pub async fn append(conn: &mut Conn, e: &NewAuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, subject_id, action, outcome, ip, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.at.millis())
    .bind(e.actor_id.clone())
    .bind(e.subject_id.clone())
    .bind(e.action.as_str())
    .bind(e.outcome.as_str())
    .bind(e.ip.clone())
    .bind(e.detail.clone())
    .execute(conn)
    .await?;
    Ok(())
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    let action = text(row, "action")?;
    let outcome = text(row, "outcome")?;
    Ok(AuditEntry {
        id: int(row, "id")?,
        at: Timestamp::from_millis(int(row, "at")?),
        actor_id: opt_text(row, "actor_id")?,
        subject_id: opt_text(row, "subject_id")?,
        action: AuditAction::parse(&action).ok_or_else(|| corrupt("action", &action))?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| corrupt("outcome", &outcome))?,
        ip: opt_text(row, "ip")?,
        detail: opt_text(row, "detail")?,
    })
}

/// Events about one account, newest first.
pub async fn for_subject(
    conn: &mut Conn,
    subject_id: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT id, at, actor_id, subject_id, action, outcome, ip, detail FROM audit_log \
         WHERE subject_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(subject_id)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The latest events of the whole portal, newest first.
pub async fn recent(conn: &mut Conn, limit: i64) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(
        "SELECT id, at, actor_id, subject_id, action, outcome, ip, detail FROM audit_log \
         ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}
