//! Whether the database server can be reached. While it cannot, asking for a connection
//! fails at once instead of waiting out the pool's timeout: one request in a short interval
//! tries a fresh connection, and the first that succeeds lets everyone through again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, ConnectOptions, Connection};

/// How often, while the server is unreachable, one request tries it again.
const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long a try may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// What a request may do now.
pub(crate) enum Admit {
    /// The server was reachable at last sight: use the pool.
    Pass,
    /// It was not, and this request is the one to try it.
    Probe,
    /// It was not, and another request is trying.
    Refuse,
}

pub(crate) struct Reach {
    origin: Instant,
    /// Milliseconds since `origin` when the server was last found unreachable; 0 while it is
    /// reachable.
    down_at: AtomicU64,
    /// When the last try began.
    probe_at: AtomicU64,
    options: AnyConnectOptions,
}

impl Reach {
    pub(crate) fn new(options: AnyConnectOptions) -> Self {
        Self {
            origin: Instant::now(),
            down_at: AtomicU64::new(0),
            probe_at: AtomicU64::new(0),
            options,
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    pub(crate) fn admit(&self) -> Admit {
        if self.down_at.load(Ordering::Acquire) == 0 {
            return Admit::Pass;
        }
        let now = self.now();
        let last = self.probe_at.load(Ordering::Acquire);
        let due = now.saturating_sub(last) >= PROBE_EVERY.as_millis() as u64;
        if due
            && self
                .probe_at
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            Admit::Probe
        } else {
            Admit::Refuse
        }
    }

    /// Tries a connection of its own (not the pool's, which would wait out its timeout).
    pub(crate) async fn probe(&self) -> bool {
        let tried = tokio::time::timeout(PROBE_TIMEOUT, self.options.connect()).await;
        let reached = match tried {
            Ok(Ok(conn)) => {
                let _ = AnyConnection::close(conn).await;
                true
            }
            _ => false,
        };
        if reached {
            self.reachable();
        }
        reached
    }

    pub(crate) fn reachable(&self) {
        if self.down_at.swap(0, Ordering::AcqRel) != 0 {
            tracing::info!("the database can be reached again");
        }
    }

    pub(crate) fn unreachable(&self) {
        let now = self.now();
        if self
            .down_at
            .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.probe_at.store(now, Ordering::Release);
            tracing::error!(
                alert = true,
                "the database cannot be reached: requests are refused at once until it can"
            );
        }
    }
}

/// Whether an error says the server cannot be reached (as opposed to a refused statement).
pub(crate) fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // Connection exceptions (08…) and a server shutting down or starting (57P01–57P03).
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P0")),
        _ => false,
    }
}

/// Whether an error met while opening a connection says the server (or a proxy in front of
/// it) hung up before speaking PostgreSQL: a connection closed during the TLS request reads
/// as garbage, not as an I/O error.
pub(crate) fn is_cut_while_connecting(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Protocol(_))
}

/// Whether an error says the disk is full: SQLite's `SQLITE_FULL` (13), PostgreSQL's
/// `disk_full` (53100).
pub(crate) fn is_no_space(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| c == "13" || c == "53100")
                || db.message().contains("database or disk is full")
        }
        sqlx::Error::Io(io) => io.raw_os_error() == Some(28),
        _ => false,
    }
}
