-- Government employees: the ID in their department's records, and the directory their account
-- came from (NULL when they registered on the portal). One account per employee ID.
CREATE TABLE employees (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    employee_id TEXT NOT NULL UNIQUE,
    directory TEXT,
    created_at INTEGER NOT NULL
);
