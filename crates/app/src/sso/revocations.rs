//! Every node's in-memory view of the revocation rules of the last access-token lifetime.
//!
//! How current it is, on each node:
//! - the node that revokes reads the new rule right after its transaction commits, so its own
//!   next request already sees it;
//! - on PostgreSQL every node listens on `ekdwar_revocations`; a notification marks the view
//!   stale and the next token check reads the new rules first (milliseconds);
//! - whatever happens to notifications (a lost connection, SQLite shared with a command-line
//!   process), a token check never trusts a view older than [`STALE_AFTER`]: it reads the new
//!   rules first. That is the stated bound: a revocation takes effect on every node within
//!   one second.
//!
//! Rules are read by `seq`, and again for the last [`RECENT`] whatever their `seq`: on
//! PostgreSQL a transaction that took its `seq` earlier may commit after a later one.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ekdwar_domain::Timestamp;
use ekdwar_domain::revocation::{Revocation, TokenFacts};
use ekdwar_store::Store;
use ekdwar_store::sso as store;

/// The longest a token check trusts the view without reading new rules.
pub const STALE_AFTER: Duration = Duration::from_secs(1);
/// Rules made this recently are read again at every catch-up.
const RECENT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct View {
    last_seq: i64,
    read_at: Option<Instant>,
    seen: HashSet<i64>,
    rules: HashMap<String, Vec<(i64, Revocation, Timestamp)>>,
}

/// The view, shared by the node's requests.
#[derive(Default)]
pub struct Revocations {
    view: RwLock<View>,
    stale: AtomicBool,
    reading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Revocations")
    }
}

impl Revocations {
    /// Marks the view stale (a notification came): the next check reads new rules first.
    pub fn mark_stale(&self) {
        self.stale.store(true, Ordering::Release);
    }

    fn fresh(&self) -> bool {
        !self.stale.load(Ordering::Acquire)
            && self
                .view
                .read()
                .ok()
                .and_then(|v| v.read_at)
                .is_some_and(|at| at.elapsed() < STALE_AFTER)
    }

    /// Whether a rule ends the token, after bringing the view up to date if it may be stale.
    pub async fn ends(
        &self,
        store: &Store,
        now: Timestamp,
        keep_for: Duration,
        t: &TokenFacts<'_>,
    ) -> ekdwar_store::Result<bool> {
        if !self.fresh() {
            self.catch_up(store, now, keep_for).await?;
        }
        let view = self.view.read().unwrap_or_else(|e| e.into_inner());
        Ok(t.keys().iter().any(|k| {
            view.rules
                .get(k)
                .is_some_and(|rules| rules.iter().any(|(_, r, at)| r.ends(*at, t)))
        }))
    }

    /// Reads the rules recorded since the last read; forgets those older than `keep_for`
    /// (every token they could end has expired).
    pub async fn catch_up(
        &self,
        store: &Store,
        now: Timestamp,
        keep_for: Duration,
    ) -> ekdwar_store::Result<()> {
        let started = Instant::now();
        let _one = self.reading.lock().await;
        if self
            .view
            .read()
            .ok()
            .and_then(|v| v.read_at)
            .is_some_and(|at| at > started)
        {
            // Another request read while this one waited.
            return Ok(());
        }
        self.stale.store(false, Ordering::Release);
        let oldest = now.minus(keep_for);
        let last_seq = self.view.read().map_or(0, |v| v.last_seq);
        let fresh = {
            let mut conn = store.read().await?;
            store::revocations_after(&mut conn, last_seq, now.minus(RECENT).max(oldest), oldest)
                .await?
        };
        let mut view = self.view.write().unwrap_or_else(|e| e.into_inner());
        for r in fresh {
            view.last_seq = view.last_seq.max(r.seq);
            if view.seen.insert(r.seq) {
                view.rules
                    .entry(r.rule.key())
                    .or_default()
                    .push((r.seq, r.rule, r.at));
            }
        }
        let View { rules, seen, .. } = &mut *view;
        rules.retain(|_, list| {
            list.retain(|(seq, _, at)| {
                let keep = *at >= oldest;
                if !keep {
                    seen.remove(seq);
                }
                keep
            });
            !list.is_empty()
        });
        view.read_at = Some(started);
        Ok(())
    }
}

impl super::Sso {
    /// Keeps this node's view of revocations current as other nodes record them: on
    /// PostgreSQL each notification marks the view stale, so the next token check reads the
    /// new rules (milliseconds). Returns at once on SQLite. Without it the view is still never
    /// older than a second when a token is checked.
    pub async fn follow_revocations(self) {
        let revocations = self.revocations.clone();
        let heard = move || revocations.mark_stale();
        if let Err(e) = self.store.listen(store::REVOCATIONS_CHANNEL, heard).await {
            tracing::warn!(error = %e, "not following revocations; checks read them every second");
        }
    }
}

impl crate::core::Revoked for Revocations {
    fn catch_up<'a>(
        &'a self,
        store: &'a Store,
        now: Timestamp,
        window: Duration,
    ) -> crate::core::PortFuture<'a, crate::error::AppResult<()>> {
        Box::pin(async move { Ok(Revocations::catch_up(self, store, now, window).await?) })
    }
}
