//! The jobs runner: work that must happen after a request, written in the request's own
//! transaction (so it happens if and only if the change does), then run by a worker with a
//! lease and retried with back-off. It runs inside `ekdwar serve` and, on PostgreSQL, also as
//! `ekdwar worker` processes: a job is leased by one worker at a time.
//!
//! The runner sits above every capability: each capability adds the jobs it names (a message
//! to deliver, a back-channel logout, a payment's hold to settle) through `Core::enqueue_job`,
//! and the runner hands each kind to the capability that does it. A job is also how a
//! capability tells one above it that something happened: payments add `settle-hold` when an
//! attempt that paid for an appointment ends, and the runner gives it to appointments. Its own
//! kinds are the periodic purge of expired records and the sweeps; each run schedules the next.

use std::time::Duration;

use ekdwar_store::jobs::{self as store, Job};
use serde_json::Value;

pub use crate::assurance::REGISTRY_CHECK;
use crate::error::AppResult;
pub use crate::identity::NAME_CHANGED;
use crate::notify::Notify;
pub use crate::outbox::DELIVER_MESSAGE;
pub use crate::payments::{SETTLE_HOLD, SWEEP_PAYMENTS};
pub use crate::sso::BACKCHANNEL_LOGOUT;
use crate::sso::Sso;

/// Delete what has expired, then schedule the next purge.
pub const PURGE: &str = "purge";
/// How often expired records are purged.
const PURGE_EVERY: Duration = Duration::from_secs(600);
/// Escalate overdue applications and expire untouched drafts, then schedule the next sweep.
pub const SWEEP_APPLICATIONS: &str = "sweep-applications";
/// How often applications are swept (deadlines are days: a few minutes late is nothing).
const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// How often payments are swept.
const SWEEP_PAYMENTS_EVERY: Duration = Duration::from_secs(300);

/// Release expired holds and send the day-before reminders; then schedule the next.
pub const SWEEP_APPOINTMENTS: &str = "sweep-appointments";
const SWEEP_APPOINTMENTS_EVERY: Duration = Duration::from_secs(60);
/// Make the slots of the days being released; then schedule the next.
pub const MAKE_SLOTS: &str = "make-slots";
const MAKE_SLOTS_EVERY: Duration = Duration::from_secs(3600);

/// Attempts before a job is given up: with back-off from 15 s doubling, about an hour.
pub const MAX_ATTEMPTS: i64 = 8;
const BATCH: i64 = 20;
/// How long a worker owns a claimed job; after that another may take it.
const LEASE: Duration = Duration::from_secs(120);

/// When a job that failed `attempts` times is tried again.
pub fn back_off(attempts: i64) -> Duration {
    Duration::from_secs(15 * (1u64 << attempts.clamp(0, 10)))
}

crate::core::service!(
    /// The jobs runner.
    Jobs,
    notify: Notify,
    sso: Sso,
    assurance: crate::assurance::Assurance,
    applications: crate::applications::Applications,
    payments: crate::payments::Payments,
    appointments: crate::appointments::Appointments,
    locker: crate::locker::Locker
);

impl Jobs {
    /// Runs the jobs that are due; returns how many were attempted.
    pub async fn run_due_jobs(&self) -> AppResult<usize> {
        let now = self.clock.now();
        let batch = {
            let mut tx = self.work().await?;
            let b = store::claim_due(&mut tx, now, now.plus(LEASE), BATCH).await?;
            tx.commit().await?;
            b
        };
        for job in &batch {
            let last = job.attempts + 1 >= MAX_ATTEMPTS;
            let result = self.run_job(job, last).await;
            let now = self.clock.now();
            let mut conn = self.store.conn().await?;
            match result {
                Ok(()) => store::mark_done(&mut conn, job.id, now).await?,
                Err(e) => {
                    let attempt = job.attempts + 1;
                    let retry = (attempt < MAX_ATTEMPTS).then(|| now.plus(back_off(attempt)));
                    if retry.is_none() {
                        tracing::error!(job = job.id, kind = %job.kind, error = %e, "job failed for good");
                    } else {
                        tracing::warn!(job = job.id, kind = %job.kind, attempt, error = %e, "job failed; will retry");
                    }
                    store::mark_attempt_failed(&mut conn, job.id, &e, retry, now).await?;
                }
            }
        }
        Ok(batch.len())
    }

    /// The registry of job kinds. `last` says no attempt follows this one.
    async fn run_job(&self, job: &Job, last: bool) -> Result<(), String> {
        let payload: Value = serde_json::from_str(&job.payload).map_err(|e| e.to_string())?;
        match job.kind.as_str() {
            BACKCHANNEL_LOGOUT => self.sso.send_backchannel_logout(&payload).await,
            REGISTRY_CHECK => self.assurance.run_check(&payload).await,
            NAME_CHANGED => {
                let user = payload["user"]
                    .as_str()
                    .ok_or("a name job without a user")?;
                self.assurance
                    .recheck(&ekdwar_domain::UserId::new(user.to_string()))
                    .await
                    .map_err(|e| e.to_string())
            }
            DELIVER_MESSAGE => {
                let id = payload["id"]
                    .as_i64()
                    .ok_or("a message job without an id")?;
                self.notify.deliver_message(id, last).await
            }
            PURGE => {
                match self.purge_expired().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "expired records deleted"),
                    Err(e) => return Err(e.to_string()),
                }
                match self.locker.sweep().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(objects = n, "abandoned locker objects removed"),
                    Err(e) => return Err(e.to_string()),
                }
                self.schedule(PURGE, self.clock.now().plus(PURGE_EVERY))
                    .await
                    .map_err(|e| e.to_string())
            }
            SWEEP_APPLICATIONS => {
                match self.applications.sweep().await {
                    Ok(s) if s == crate::applications::Swept::default() => {}
                    Ok(s) => tracing::info!(
                        escalated = s.escalated,
                        officers_told = s.officers_told,
                        reminded = s.reminded,
                        expired = s.expired,
                        "applications swept"
                    ),
                    Err(e) => return Err(e.to_string()),
                }
                self.schedule(SWEEP_APPLICATIONS, self.clock.now().plus(SWEEP_EVERY))
                    .await
                    .map_err(|e| e.to_string())
            }
            SWEEP_PAYMENTS => {
                match self.payments.sweep().await {
                    Ok(s) if s == crate::payments::SweptPayments::default() => {}
                    Ok(s) => tracing::info!(
                        queried = s.queried,
                        settled = s.settled,
                        expired = s.expired,
                        refunds = s.refunds,
                        "payments swept"
                    ),
                    Err(e) => return Err(e.to_string()),
                }
                self.schedule(SWEEP_PAYMENTS, self.clock.now().plus(SWEEP_PAYMENTS_EVERY))
                    .await
                    .map_err(|e| e.to_string())
            }
            SETTLE_HOLD => {
                let attempt = payload["attempt"]
                    .as_str()
                    .ok_or("a settle job without an attempt")?;
                self.appointments
                    .settle_hold(attempt)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            SWEEP_APPOINTMENTS => {
                let released = self
                    .appointments
                    .release_expired()
                    .await
                    .map_err(|e| e.to_string())?;
                let reminded = self
                    .appointments
                    .remind()
                    .await
                    .map_err(|e| e.to_string())?;
                if released + reminded > 0 {
                    tracing::info!(released, reminded, "appointments swept");
                }
                self.schedule(
                    SWEEP_APPOINTMENTS,
                    self.clock.now().plus(SWEEP_APPOINTMENTS_EVERY),
                )
                .await
                .map_err(|e| e.to_string())
            }
            MAKE_SLOTS => {
                let made = self
                    .appointments
                    .make_slots()
                    .await
                    .map_err(|e| e.to_string())?;
                if made > 0 {
                    tracing::info!(made, "slots made");
                }
                self.schedule(MAKE_SLOTS, self.clock.now().plus(MAKE_SLOTS_EVERY))
                    .await
                    .map_err(|e| e.to_string())
            }
            other => Err(format!("unknown job kind {other}")),
        }
    }

    /// Makes sure a periodic job (purge, sweep) is scheduled: one is enough, a second would
    /// only find less to do.
    async fn schedule(&self, kind: &str, at: ekdwar_domain::Timestamp) -> AppResult<()> {
        let mut conn = self.store.conn().await?;
        store::enqueue_unless_pending(&mut conn, kind, "{}", at, self.clock.now()).await?;
        Ok(())
    }

    /// Runs jobs until the process ends: at once after each enqueue in this process, and every
    /// few seconds for retries and for jobs other processes enqueued.
    pub async fn run_jobs(self) {
        for kind in [
            PURGE,
            SWEEP_APPLICATIONS,
            SWEEP_PAYMENTS,
            SWEEP_APPOINTMENTS,
            MAKE_SLOTS,
        ] {
            if let Err(e) = self.schedule(kind, self.clock.now()).await {
                tracing::error!(error = %e.chain(), kind, "cannot schedule a periodic job");
            }
        }
        loop {
            self.health.check_free_space(
                &self.config.server.data_dir,
                self.config.server.warn_free_mb,
            );
            match self.run_due_jobs().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e.chain(), "jobs pass failed"),
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), self.wake_jobs.notified()).await;
        }
    }

    /// Jobs of one kind, newest first.
    pub async fn jobs_of_kind(&self, kind: &str) -> AppResult<Vec<Job>> {
        Ok(store::of_kind(&mut *self.store.conn().await?, kind, 100).await?)
    }
}

impl Jobs {
    /// Deletes what has expired: ended sessions, verifications, idle throttle counters, used
    /// challenges and old revocation rules. Returns how many rows went.
    pub async fn purge_expired(&self) -> anyhow::Result<u64> {
        let now = self.clock.now();
        // Keep a day of history so that recent failures and sessions can still be looked at.
        let before = now.minus(std::time::Duration::from_secs(86_400));
        let mut conn = self.store.conn().await?;
        let mut n = ekdwar_store::sessions::purge(&mut conn, before).await?;
        n += ekdwar_store::verifications::purge(&mut conn, before).await?;
        n += ekdwar_store::throttle::purge(&mut conn, before).await?;
        n += ekdwar_store::jobs::purge(&mut conn, before).await?;
        // A revocation rule outlives every token it can end by far (`Core::revocation_window`).
        n += ekdwar_store::sso::purge_revocations(&mut conn, before).await?;
        // Codes and links in messages that were never sent (no gateway, or given up) are dead
        // after a day; their text goes.
        n += ekdwar_store::notify::forget_bodies(&mut conn, before).await?;
        Ok(n)
    }
}
