//! Officers' assignments: a workflow role in a department, optionally narrowed to a region
//! (and the regions below it) or one office.

use ekdwar_domain::{Timestamp, UserId};

use crate::{Conn, Result, opt_text, text};

/// One assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The workflow role (`passport-officer`).
    pub role: String,
    /// The department.
    pub department: String,
    /// Only applications for offices in this region (or below), if set.
    pub region: Option<String>,
    /// Only applications for this office, if set.
    pub office: Option<String>,
}

/// Adds an assignment.
pub async fn assign(conn: &mut Conn, user: &UserId, a: &Assignment, at: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO staff_assignments (user_id, role, department, region, office, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user.as_str())
    .bind(&a.role)
    .bind(&a.department)
    .bind(a.region.clone())
    .bind(a.office.clone())
    .bind(at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// A person's assignments.
pub async fn of_user(conn: &mut Conn, user: &UserId) -> Result<Vec<Assignment>> {
    sqlx::query(
        "SELECT role, department, region, office FROM staff_assignments WHERE user_id = $1 \
         ORDER BY created_at",
    )
    .bind(user.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        Ok(Assignment {
            role: text(row, "role")?,
            department: text(row, "department")?,
            region: opt_text(row, "region")?,
            office: opt_text(row, "office")?,
        })
    })
    .collect()
}

/// Everyone holding `role` in `department`, with the assignment (its scope).
pub async fn holding(
    conn: &mut Conn,
    role: &str,
    department: &str,
) -> Result<Vec<(UserId, Assignment)>> {
    sqlx::query(
        "SELECT user_id, role, department, region, office FROM staff_assignments \
         WHERE role = $1 AND department = $2 ORDER BY created_at",
    )
    .bind(role)
    .bind(department)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| {
        Ok((
            UserId::new(text(row, "user_id")?),
            Assignment {
                role: text(row, "role")?,
                department: text(row, "department")?,
                region: opt_text(row, "region")?,
                office: opt_text(row, "office")?,
            },
        ))
    })
    .collect()
}
