//! Where SQLite and PostgreSQL differ, in one place. Operations are written in the SQL both
//! share; when one needs what the two spell differently (row locks for work queues, a field of
//! a JSON document, a text search, bucketing times by day), it asks its backend here for the
//! clause. Every argument that names a column or a key is `&'static str`: SQL identifiers come
//! from the code, never from input. A capability that needs more than a clause (a full-text
//! index, a JSON index, a range exclusion constraint) carries it in its own migrations, which
//! exist per backend.

use crate::Backend;

impl Backend {
    /// Row locking for work queues: PostgreSQL lets concurrent workers skip each other's rows;
    /// SQLite serialises writers, so nothing is needed.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
            Self::Sqlite => "",
        }
    }

    /// A row lock held to the end of the transaction: PostgreSQL locks the row; SQLite's
    /// writer already holds the whole database.
    pub fn for_update(self) -> &'static str {
        match self {
            Self::Postgres => " FOR UPDATE",
            Self::Sqlite => "",
        }
    }

    /// The value at `key` of a JSON object held in the text column `column`, as text (NULL when
    /// absent).
    pub fn json_text(self, column: &'static str, key: &'static str) -> String {
        debug_assert!(key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        match self {
            Self::Postgres => format!("(({column})::jsonb ->> '{key}')"),
            Self::Sqlite => format!("CAST(json_extract({column}, '$.{key}') AS TEXT)"),
        }
    }

    /// A condition: the text column `column` contains the words of the parameter `$n` (in
    /// any order on PostgreSQL's full-text search; as typed, case-insensitively, on SQLite).
    pub fn text_match(self, column: &'static str, n: usize) -> String {
        match self {
            Self::Postgres => format!(
                "to_tsvector('simple', coalesce({column}, '')) @@ plainto_tsquery('simple', ${n})"
            ),
            Self::Sqlite => format!("instr(lower(coalesce({column}, '')), lower(${n})) > 0"),
        }
    }

    /// The start of the day, in the time zone `offset_minutes` east of UTC, of the time in
    /// the millisecond column `column`, as milliseconds (for daily reports).
    pub fn day_bucket(self, column: &'static str, offset_minutes: i32) -> String {
        // The same arithmetic in both (integer division truncates toward zero, and times are
        // after 1970); it lives here so that a report asks for a day one way.
        let offset = i64::from(offset_minutes) * 60_000;
        let day = 86_400_000_i64;
        format!("((({column} + {offset}) / {day}) * {day} - {offset})")
    }
}
