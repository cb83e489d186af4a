//! Integration tests: the real server on an ephemeral port, a fresh database per test (SQLite
//! always, PostgreSQL too when `EKDWAR_TEST_DATABASE_URL` is set), driven over HTTP like a
//! browser without JavaScript: cookies, CSRF tokens, redirects, codes read from the outbox.

mod support;

mod accounts;
mod admin;
mod applications;
mod appointments;
mod assurance;
mod browser;
mod catalog;
mod cli;
mod deadlines;
mod delivery;
mod eforms;
mod external;
mod faults;
mod fuzz;
mod interop;
mod locker;
mod nodes;
mod officers;
mod passkeys;
mod payments;
mod ports;
mod races;
mod receipts;
mod security;
mod shell;
mod snapshots;
mod sso;
mod storage;
mod two_step;
mod upgrade;
