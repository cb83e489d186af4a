//! The workflow an application follows after submission: each step (the applicant's
//! withdrawal or resubmission, an officer's action) checked against the definition, recorded
//! in the history, and told to the applicant.

use ekdwar_domain::ApplicationId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::catalog::{ActionKind, Arn, Service};
use ekdwar_store::applications::{self as store, Event};

use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::views::AccountView;

use super::{Applications, Step_, internal};

impl Applications {
    /// Tells the applicant, on each contact they have, in their language.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn tell(
        &self,
        work: &mut crate::core::Work<'_>,
        account: &AccountView,
        lang: &Lang,
        kind: &'static str,
        arn: &Arn,
        service: &str,
        state: &str,
    ) -> AppResult<()> {
        self.tell_with(
            work,
            account,
            lang,
            kind,
            vec![
                ("arn", arn.to_string()),
                ("service", service.to_string()),
                ("state", state.to_string()),
            ],
        )
        .await
    }

    /// The applicant withdraws an application before a decision.
    pub async fn withdraw(
        &self,
        account: &AccountView,
        id: &ApplicationId,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        self.applicant_act(account, id, Ok(ActionKind::Withdraw), lang, actor)
            .await
    }

    /// The applicant sends a corrected application back to the officers.
    pub async fn resubmit(
        &self,
        account: &AccountView,
        id: &ApplicationId,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        self.applicant_act(account, id, Ok(ActionKind::Resubmit), lang, actor)
            .await
    }

    /// The applicant takes one of the definition's plain actions open to them in this state
    /// (accepting or declining an offered place), by its id.
    pub async fn applicant_step(
        &self,
        account: &AccountView,
        id: &ApplicationId,
        action: &str,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        self.applicant_act(account, id, Err(action), lang, actor)
            .await
    }

    /// An applicant's action, by its kind (`Ok`) or, for a plain one, its id (`Err`).
    pub(super) async fn applicant_act(
        &self,
        account: &AccountView,
        id: &ApplicationId,
        which: Result<ActionKind, &str>,
        lang: &Lang,
        actor: &Actor,
    ) -> AppResult<()> {
        let loaded = self.get(&account.id, id).await?;
        let action = loaded
            .applicant_actions()
            .into_iter()
            .find(|a| match which {
                Ok(kind) => a.kind == kind,
                Err(action) => a.id == action && a.kind == ActionKind::Advance,
            })
            .cloned()
            .ok_or_else(|| {
                AppError::field(
                    "form",
                    if which.is_ok() {
                        "application-cannot-withdraw"
                    } else {
                        "application-cannot-act"
                    },
                )
            })?;
        self.step(Step_ {
            loaded: &loaded,
            action: &action,
            by: Some(&account.id),
            role: "applicant",
            comment: None,
            reopened: Vec::new(),
            applicant: account,
            lang,
            actor,
        })
        .await
    }

    /// Takes a workflow action: one conditional change of state from the state the actor saw,
    /// its step in the history, the audit entry and the applicant told, all together.
    pub(crate) async fn step(&self, s: Step_<'_>) -> AppResult<()> {
        let now = self.clock.now();
        let reopened = serde_json::to_string(&s.reopened).map_err(internal)?;
        self.ensure_waiting_lists(&s.loaded.service).await?;
        let mut work = self.work().await?;
        let id = &s.loaded.id;
        let due_on = self.due_on(&s.loaded.service, &s.action.to, s.loaded.office.as_deref());
        let moved = store::transition(
            &mut work,
            id,
            &store::Transition {
                from: &s.loaded.state,
                to: &s.action.to,
                reopened: &reopened,
                due_on: due_on.as_deref(),
                at: now,
            },
        )
        .await?;
        if !moved {
            return Err(AppError::field("form", "application-changed"));
        }
        let since = s.loaded.submitted_at.unwrap_or(now);
        self.sync_waiting(
            &mut work,
            &s.loaded.service,
            id,
            &s.action.to,
            &s.loaded.answers,
            since,
        )
        .await?;
        store::append_event(
            &mut work,
            id,
            &Event {
                at: now,
                actor_id: s.by.map(ToString::to_string),
                role: s.role.to_string(),
                action: s.action.id.clone(),
                from_state: Some(s.loaded.state.clone()),
                to_state: s.action.to.clone(),
                comment: s.comment.clone(),
            },
        )
        .await?;
        self.audit(
            &mut work,
            s.actor,
            Some(&s.loaded.owner),
            AuditAction::ApplicationActed,
            Outcome::Success,
            Some(format!(
                "{} {} {}",
                s.loaded.arn.as_ref().map_or("", |a| a.as_str()),
                s.role,
                s.action.id
            )),
        )
        .await?;
        if let Some(arn) = &s.loaded.arn {
            let lang = s
                .applicant
                .language
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or_else(|| s.lang.clone());
            let to_label = s
                .loaded
                .service
                .state(&s.action.to)
                .map(|st| st.label.get(&lang.tag(), "en").to_string())
                .unwrap_or_default();
            let name = s.loaded.service.name.get(&lang.tag(), "en").to_string();
            if s.action.kind == ActionKind::Correction {
                // Which answers, and where to correct them.
                let tag = lang.tag();
                let answers: Vec<String> = s
                    .loaded
                    .service
                    .questions()
                    .filter(|f| s.reopened.contains(&f.id))
                    .map(|f| f.label.get(&tag, "en").to_string())
                    .collect();
                self.tell_with(
                    &mut work,
                    s.applicant,
                    &lang,
                    "application-correction",
                    vec![
                        ("arn", arn.to_string()),
                        ("service", name),
                        ("answers", answers.join(", ")),
                        ("comment", s.comment.clone().unwrap_or_default()),
                    ],
                )
                .await?;
            } else {
                self.tell(
                    &mut work,
                    s.applicant,
                    &lang,
                    "application-changed",
                    arn,
                    &name,
                    &to_label,
                )
                .await?;
            }
        }
        work.commit().await
    }

    /// The deadline of `state` entered today: its working days counted in the calendar of the
    /// office's region (weekends only, without an office); none for a state without one.
    pub fn due_on(&self, service: &Service, state: &str, office: Option<&str>) -> Option<String> {
        let days = service.state(state)?.sla_working_days?;
        let snapshot = self.catalog.snapshot();
        let region = office
            .and_then(|o| snapshot.entries.office(o))
            .map(|o| o.region.clone());
        Some(
            snapshot
                .entries
                .add_working_days(region.as_deref(), self.today(), days)
                .to_string(),
        )
    }
}
