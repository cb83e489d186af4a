//! Government employees: who holds which employee ID, and which directory vouched for it.

use ekdwar_domain::{Timestamp, UserId};

use crate::{Conn, Result, opt_text, text};

/// Records that `user_id` is the employee `employee_id`; false if another account has it.
pub async fn insert(
    conn: &mut Conn,
    user_id: &UserId,
    employee_id: &str,
    directory: Option<&str>,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO employees (user_id, employee_id, directory, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(user_id.as_str())
    .bind(employee_id)
    .bind(directory)
    .bind(now.millis())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The employee ID of `user_id` and the directory it came from, if an employee.
pub async fn of(conn: &mut Conn, user_id: &UserId) -> Result<Option<(String, Option<String>)>> {
    let row = sqlx::query("SELECT employee_id, directory FROM employees WHERE user_id = $1")
        .bind(user_id.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((text(&r, "employee_id")?, opt_text(&r, "directory")?)))
        .transpose()
}
