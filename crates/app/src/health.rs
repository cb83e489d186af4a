//! What the portal knows of its own health beyond "the database answers": whether writes fail
//! for lack of space, and how much space is left where it writes.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use ekdwar_store::Unavailable;

use crate::metrics::{Metrics, OutcomeLabels};

/// The flags behind readiness and the once-only alerts.
#[derive(Debug, Default)]
pub struct Health {
    /// A write failed because the disk is full, and none has succeeded since.
    no_space: AtomicBool,
    /// Free space was last seen below the configured warning level.
    low_space: AtomicBool,
}

impl Health {
    /// Notes a request refused because the database is unavailable: counted every time, the
    /// full disk logged once (as an alert) until writing works again.
    pub fn note(&self, why: Unavailable, metrics: &Metrics) {
        let reason = match why {
            Unavailable::NoSpace => "no-space",
            Unavailable::Unreachable => "unreachable",
        };
        metrics
            .unavailable
            .get_or_create(&OutcomeLabels {
                outcome: reason.into(),
            })
            .inc();
        if why == Unavailable::NoSpace && !self.no_space.swap(true, Ordering::AcqRel) {
            tracing::error!(
                alert = true,
                "the disk is full: nothing can be saved; requests that write are answered 503 \
                 and readiness is off until a write succeeds"
            );
        }
    }

    /// Whether writes were last seen failing for lack of space.
    pub fn out_of_space(&self) -> bool {
        self.no_space.load(Ordering::Acquire)
    }

    /// A write succeeded: the disk has room again.
    pub fn wrote(&self) {
        if self.no_space.swap(false, Ordering::AcqRel) {
            tracing::info!("writes succeed again: the disk has room");
        }
    }

    /// Warns (once, until it recovers) when the filesystem holding `dir` has less than
    /// `min_free_mb` free for the portal.
    pub fn check_free_space(&self, dir: &Path, min_free_mb: u64) {
        let Some(free) = free_bytes(dir) else {
            return;
        };
        let low = free < min_free_mb.saturating_mul(1024 * 1024);
        if low && !self.low_space.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                alert = true,
                free_mb = free / (1024 * 1024),
                min_free_mb,
                dir = %dir.display(),
                "free space is low where the portal writes; when it runs out nothing can be saved"
            );
        } else if !low && self.low_space.swap(false, Ordering::AcqRel) {
            tracing::info!(
                free_mb = free / (1024 * 1024),
                "free space is back above the warning level"
            );
        }
    }
}

/// Bytes free for an unprivileged writer on the filesystem holding `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}
