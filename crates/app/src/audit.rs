//! Recording security events.

use ekdwar_domain::UserId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_store::audit::{self as store, AuditEntry, NewAuditEntry};

use crate::core::{Core, Work};
use crate::error::AppResult;
use crate::i18n::Lang;

/// Who did something, from where, in which language.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The language of the pages they are using; none from the command line.
    pub lang: Option<Lang>,
    /// The language they picked with the language switch, if they did: an account remembers
    /// it at the next login (a browser's default language does not count as a choice).
    pub chosen_lang: Option<Lang>,
}

impl Actor {
    /// An administrator at the command line.
    pub fn command_line() -> Self {
        Self {
            user_id: Some("cli".into()),
            ip: None,
            user_agent: None,
            lang: None,
            chosen_lang: None,
        }
    }

    /// The portal itself (the jobs runner, a gateway's notification).
    pub fn system() -> Self {
        Self {
            user_id: Some("system".into()),
            ..Self::command_line()
        }
    }
}

crate::core::service!(
    /// Reading the security log.
    Audit
);

impl Core {
    /// Records a security event on `conn` (normally the transaction of the change).
    pub(crate) async fn audit(
        &self,
        work: &mut Work<'_>,
        actor: &Actor,
        subject: Option<&str>,
        action: AuditAction,
        outcome: Outcome,
        detail: Option<String>,
    ) -> AppResult<()> {
        store::append(
            work,
            &NewAuditEntry {
                at: self.clock.now(),
                actor_id: actor.user_id.clone(),
                subject_id: subject.map(str::to_string),
                action,
                outcome,
                ip: actor.ip.clone(),
                detail,
            },
        )
        .await?;
        Ok(())
    }
}

impl Audit {
    /// One page of a person's security events, newest first, older than the event `before`;
    /// and the id to continue from when there are older ones.
    pub async fn security_events(
        &self,
        user_id: &UserId,
        before: Option<i64>,
    ) -> AppResult<(Vec<AuditEntry>, Option<i64>)> {
        const PAGE: usize = 20;
        let mut conn = self.store.read().await?;
        let mut events = store::for_subject(&mut conn, user_id, before, PAGE as i64 + 1).await?;
        let more = events.len() > PAGE;
        events.truncate(PAGE);
        let next = more.then(|| events.last().map(|e| e.id)).flatten();
        Ok((events, next))
    }
}
