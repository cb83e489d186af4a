//! The private core every capability service is built on, below all of them: the unit of work,
//! the job queue every capability adds to, today's date in the portal's zone, and the shape of
//! a port. Capabilities are ordered (see `tests/boundaries.rs`); what several of them need
//! lives here or in the other shared modules (`outbox`, `audit`, `i18n`, `views`, …), and a
//! capability that must reach one above it does so through a port it declares.

use std::sync::Arc;

use ekdwar_domain::throttle::ThrottlePolicy;
use ekdwar_domain::{Clock, Regions};
use ekdwar_store::{Conn, Store, Tx};

use crate::config::Config;
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::metrics::Metrics;
use crate::outbox::Sending;
use crate::security::{Random, ServerKey};

/// A future a port returns (the ports are used as trait objects).
pub type PortFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What a node re-reads after a commit that recorded a revocation, so that its next request
/// already knows (single sign-on's view of revoked tokens). A port: the unit of work knows
/// nothing of tokens.
pub(crate) trait Revoked: Send + Sync {
    fn catch_up<'a>(
        &'a self,
        store: &'a Store,
        now: ekdwar_domain::Timestamp,
        window: std::time::Duration,
    ) -> PortFuture<'a, AppResult<()>>;
}

/// What every service shares: the store and the process's common means (configuration, clock,
/// randomness, server key, metrics, locale). Its fields are the crate's own; outside it, only
/// the services' use-cases reach them. What only one capability uses (password hashing, the
/// gateways, the signing keys, the HTTP client) is held by that capability's service, not here.
pub struct Core {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) random: Arc<dyn Random>,
    pub(crate) key: ServerKey,
    pub(crate) metrics: Arc<Metrics>,
    /// The deployment's numbering plans for phone numbers typed without `+`.
    pub(crate) regions: Regions,
    pub(crate) default_lang: Lang,
    /// The zone of the times people see.
    pub(crate) time_zone: jiff::tz::TimeZone,
    /// The channels with a gateway (messages on the others stay in the local outbox). The
    /// gateways themselves belong to the notification service, which alone sends.
    pub(crate) sending: Sending,
    pub(crate) wake_jobs: Arc<tokio::sync::Notify>,
    /// The revocation rules of the last access-token lifetime, as this node knows them.
    pub(crate) revocations: Arc<dyn Revoked>,
    /// Whether writes fail for lack of space, and how much is left.
    pub(crate) health: Arc<crate::health::Health>,
    /// Seals personal data at rest.
    pub(crate) vault: Arc<crate::vault::Vault>,
}

impl Core {
    /// The numbering plans for a number typed by someone reading `lang`: its country first.
    pub fn regions_for(&self, lang: Option<&Lang>) -> Regions {
        self.regions.preferring(lang.and_then(Lang::home_region))
    }

    /// Today in the portal's time zone.
    pub fn today(&self) -> jiff::civil::Date {
        jiff::Timestamp::from_millisecond(self.clock.now().millis())
            .map(|t| t.to_zoned(self.time_zone.clone()).date())
            .unwrap_or_default()
    }

    /// The brute-force policy for one account (or one unknown identifier).
    pub fn account_throttle(&self) -> ThrottlePolicy {
        let s = &self.config.security;
        ThrottlePolicy {
            challenge_after: s.login_challenge_after,
            free_failures: s.login_free_failures,
            max_failures_per_hour: s.login_max_failures_per_hour,
            ..ThrottlePolicy::default()
        }
    }

    /// The policy for one client address: looser, since many citizens may share one address
    /// (a service centre, a mobile carrier's NAT), but still capped.
    pub fn address_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            challenge_after: 10,
            free_failures: 30,
            max_failures_per_hour: 1000,
            ..ThrottlePolicy::default()
        }
    }

    /// Tracking without logging in, per file number: the date of birth is the secret, so a
    /// few free tries, then a back-off that starts at five minutes and doubles to an hour, and
    /// never more than ten failures an hour (about a day to try 24 dates).
    pub fn track_number_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            challenge_after: 0,
            free_failures: 3,
            base_delay: std::time::Duration::from_secs(5 * 60),
            max_delay: std::time::Duration::from_secs(60 * 60),
            max_failures_per_hour: 10,
        }
    }

    /// Tracking per client address: room for a service centre's counter, not for a loop.
    pub fn track_address_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            challenge_after: 0,
            free_failures: 20,
            base_delay: std::time::Duration::from_secs(60),
            max_failures_per_hour: 100,
            ..ThrottlePolicy::default()
        }
    }

    /// Limits messages sent to one phone or e-mail (against SMS bombing).
    pub fn send_throttle(&self) -> ThrottlePolicy {
        ThrottlePolicy {
            challenge_after: i64::MAX,
            free_failures: 5,
            base_delay: std::time::Duration::from_secs(60),
            max_failures_per_hour: 20,
            ..ThrottlePolicy::default()
        }
    }

    /// How long revocation rules are kept: as long as an access token lives, and a minute
    /// for clocks that differ between nodes.
    pub(crate) fn revocation_window(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config.sso.access_token_ttl_seconds + 60)
    }

    /// Adds a job in `work`, the unit of work of the change that causes it.
    pub(crate) async fn enqueue_job(
        &self,
        work: &mut Work<'_>,
        kind: &str,
        payload: &serde_json::Value,
    ) -> AppResult<()> {
        self.enqueue_job_at(work, kind, payload, self.clock.now())
            .await
    }

    /// Adds a job due at `at` (a later ask of a registry that said "pending").
    pub(crate) async fn enqueue_job_at(
        &self,
        work: &mut Work<'_>,
        kind: &str,
        payload: &serde_json::Value,
        at: ekdwar_domain::Timestamp,
    ) -> AppResult<()> {
        let now = self.clock.now();
        ekdwar_store::jobs::enqueue(work, kind, &payload.to_string(), at, now).await?;
        work.added_job();
        Ok(())
    }

    /// Begins a unit of work: one write transaction in which the change, its audit entry,
    /// its messages and its jobs are written, all or nothing.
    pub(crate) async fn work(&self) -> AppResult<Work<'_>> {
        Ok(Work {
            tx: self.store.begin().await?,
            core: self,
            jobs: false,
            revoked: false,
        })
    }
}

/// One use-case's writes, committed together: the change, the audit entry that records it,
/// the messages it sends and the jobs it leaves. Audit entries, messages and jobs can only be
/// written into one (`Core::audit`, `Core::enqueue`, `Core::enqueue_job` take it), so none is
/// ever written apart from the change it belongs to. Dropped without [`Work::commit`],
/// nothing is written. It dereferences to the transaction's connection for the store's
/// operations.
pub(crate) struct Work<'a> {
    tx: Tx,
    core: &'a Core,
    /// Whether a job was added: the runner is woken after the commit, when it can see it.
    jobs: bool,
    /// Whether a revocation was recorded: this node reads it right after the commit.
    revoked: bool,
}

impl Work<'_> {
    /// Commits everything, then wakes the jobs runner if there is work for it.
    pub(crate) async fn commit(self) -> AppResult<()> {
        ekdwar_store::commit(self.tx).await?;
        if self.jobs {
            self.core.wake_jobs.notify_one();
        }
        if self.revoked {
            let core = self.core;
            core.revocations
                .catch_up(&core.store, core.clock.now(), core.revocation_window())
                .await?;
        }
        Ok(())
    }

    /// Notes that a revocation was recorded, so that this node reads it after the commit.
    pub(crate) fn revoked(&mut self) {
        self.revoked = true;
    }

    /// Notes that a job was added, so that the runner is woken after the commit.
    pub(crate) fn added_job(&mut self) {
        self.jobs = true;
    }
}

impl std::ops::Deref for Work<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.tx
    }
}

impl std::ops::DerefMut for Work<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.tx
    }
}

/// Declares a capability service: a cheap handle on the core, through which its use-cases
/// reach the store and the process's means.
macro_rules! service {
    ($(#[$doc:meta])* $name:ident $(, $field:ident: $ty:ty)*) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            core: std::sync::Arc<$crate::core::Core>,
            $($field: $ty,)*
        }

        impl $name {
            // One argument per field, in the order the service declares them.
            #[allow(clippy::too_many_arguments)]
            pub(crate) fn new(core: std::sync::Arc<$crate::core::Core> $(, $field: $ty)*) -> Self {
                Self { core $(, $field)* }
            }
        }

        impl std::ops::Deref for $name {
            type Target = $crate::core::Core;
            fn deref(&self) -> &Self::Target {
                &self.core
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use service;
