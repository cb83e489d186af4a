//! One check of one item, run by the jobs runner: ask the registry, record its answer, and
//! when the registry is down, slow or still deciding, ask again later — never giving up into
//! a stuck state: past `profile.review_after_days` a staff member reviews it.

use std::time::Duration;

use ekdwar_domain::UserId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::profile::{CheckItem, CheckStatus};
use ekdwar_store::identity as users;
use ekdwar_store::profiles::{self as store, Check};
use serde_json::{Value, json};

use super::{Assurance, CheckRequest, RegistryAnswer};
use crate::audit::Actor;
use crate::core::Work;
use crate::error::AppResult;

/// Ask a registry about one item of a profile.
pub const REGISTRY_CHECK: &str = "registry-check";

/// The longest wait between two asks of a registry that is down.
const MAX_BACK_OFF: Duration = Duration::from_secs(3600);

/// When the `attempts`-th failed ask is followed by the next: 30 s doubling, at most an hour.
fn back_off(attempts: i64) -> Duration {
    Duration::from_secs(30 * (1u64 << attempts.clamp(0, 12))).min(MAX_BACK_OFF)
}

impl Assurance {
    /// Adds the job that asks the registry about `check`, at `at`.
    pub(super) async fn enqueue_check(
        &self,
        work: &mut Work<'_>,
        check: &Check,
        at: ekdwar_domain::Timestamp,
    ) -> AppResult<()> {
        self.enqueue_job_at(
            work,
            REGISTRY_CHECK,
            &json!({
                "user": check.user_id.as_str(),
                "item": check.item.as_str(),
                "request": check.request_id,
            }),
            at,
        )
        .await
    }

    /// Runs one check job. Only a fault of the portal itself (its database) fails the job;
    /// the registry's faults are the check's own retries.
    pub async fn run_check(&self, payload: &Value) -> Result<(), String> {
        let user_id = payload["user"]
            .as_str()
            .ok_or("a check job without a user")?;
        let item = payload["item"]
            .as_str()
            .and_then(CheckItem::parse)
            .ok_or("a check job without an item")?;
        let request_id = payload["request"]
            .as_str()
            .ok_or("a check job without a request")?;
        self.check_once(&UserId::new(user_id.to_string()), item, request_id)
            .await
            .map_err(|e| e.to_string())
    }

    async fn check_once(
        &self,
        user_id: &UserId,
        item: CheckItem,
        request_id: &str,
    ) -> AppResult<()> {
        let (check, request) = {
            let mut conn = self.store.conn().await?;
            let Some(check) = store::check(&mut conn, user_id, item)
                .await?
                .filter(|c| c.request_id == request_id && c.status == CheckStatus::Checking)
            else {
                // Edited, decided or answered since: this job has nothing left to do.
                return Ok(());
            };
            let Some(user) = users::by_id(&mut conn, user_id).await? else {
                return Ok(());
            };
            let (_, facts) = self.facts(&mut conn, user_id).await?;
            let request = CheckRequest::of(&user, &facts, item, request_id.to_string());
            (check, request)
        };
        // The registry is asked outside any transaction: it may take seconds.
        let answer = self.registries.check(&check.registry, &request).await;
        let now = self.clock.now();
        let attempts = check.attempts + 1;
        let mut next = Check {
            attempts,
            updated_at: now,
            ..check.clone()
        };
        let mut again = None;
        match answer {
            Ok(RegistryAnswer::Confirmed) => next.status = CheckStatus::Confirmed,
            Ok(RegistryAnswer::Mismatch(fields)) => {
                next.status = CheckStatus::Mismatch;
                next.detail = Some(fields.join(","));
            }
            Ok(RegistryAnswer::Review(reason)) => {
                next.status = CheckStatus::Review;
                next.detail = Some(reason);
            }
            Ok(RegistryAnswer::Pending(after)) => {
                again = Some(after.clamp(Duration::from_secs(30), Duration::from_secs(86_400)));
            }
            Err(e) => {
                tracing::warn!(registry = %check.registry, attempts, error = %e, "a registry check will be retried");
                again = Some(back_off(attempts));
            }
        }
        let give_up = Duration::from_secs(self.config.profile.review_after_days * 86_400);
        if again.is_some() && now.since(check.started_at) >= give_up {
            again = None;
            next.status = CheckStatus::Review;
            next.detail = Some("no-answer".into());
        }
        let mut work = self.work().await?;
        store::lock(&mut work, user_id).await?;
        let Some(user) = users::by_id(&mut work, user_id).await? else {
            return Ok(());
        };
        if next.status == CheckStatus::Confirmed {
            next = self.index_confirmed(&mut work, &user, next).await?;
        }
        if !store::answer(&mut work, &next).await? {
            return Ok(());
        }
        match again {
            Some(after) => {
                self.enqueue_check(&mut work, &next, now.plus(after))
                    .await?
            }
            None => {
                self.audit(
                    &mut work,
                    &Actor::system(),
                    Some(user_id.as_str()),
                    AuditAction::ProfileChecked,
                    Outcome::Success,
                    Some(format!("{}:{}", item.as_str(), next.status)),
                )
                .await?;
                self.settle(&mut work, &user, &Actor::system()).await?;
            }
        }
        work.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_that_is_down_is_asked_less_and_less_often_up_to_an_hour() {
        assert_eq!(back_off(1), Duration::from_secs(60));
        assert_eq!(back_off(2), Duration::from_secs(120));
        assert_eq!(back_off(7), MAX_BACK_OFF);
        assert_eq!(back_off(500), MAX_BACK_OFF);
    }
}
