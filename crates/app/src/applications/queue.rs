//! Waiting lists (Moscow's kindergartens): an application waits in one list per choice it
//! made, ordered by the definition's benefit categories and then by when it was submitted.
//! Each waiting application has a row per choice in `waiting_entries`, written with every change
//! of its state or answers, so one placed or withdrawn ahead moves everyone behind it up at once,
//! and a place is two counts over the list's index however long the list (the benchmark
//! `applications` measures it). A service's lists are filled once from the applications already
//! waiting, the first time they are needed (an upgrade from a release without them).

use std::collections::BTreeMap;

use ekdwar_domain::catalog::answers::{Answer, Answers};
use ekdwar_domain::catalog::{QueueRule, Service, Texts};
use ekdwar_domain::{ApplicationId, Timestamp};
use ekdwar_store::applications as store;

use super::{Applications, Loaded};
use crate::error::AppResult;

/// An application's place in one waiting list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// The choice (a kindergarten's code) and its name.
    pub choice: String,
    pub label: Texts,
    /// Which choice it was for the applicant (1: the most wanted).
    pub preference: usize,
    /// Its place (1: next).
    pub position: usize,
    /// How many wait in the list.
    pub waiting: usize,
}

/// What orders a list: benefit first (the priority question's options, highest first;
/// without one, after them all), then the time of submission, then the id.
fn benefit_of(rule: &QueueRule, service: &Service, answers: &Answers) -> i64 {
    rule.priority
        .as_ref()
        .and_then(|p| {
            let field = service.questions().find(|f| &f.id == p)?;
            let answer = answers.get(p).and_then(Answer::one)?;
            field.options.iter().position(|o| o.value == answer)
        })
        .and_then(|i| i64::try_from(i).ok())
        .unwrap_or(i64::MAX)
}

/// The rows an application waits in, in a state and with answers: one per choice, none when
/// the state is not a waiting one.
fn entries(
    service: &Service,
    state: &str,
    answers: &Answers,
    since: Timestamp,
) -> Vec<store::WaitingEntry> {
    let Some(rule) = &service.queue else {
        return Vec::new();
    };
    if !rule.waiting.iter().any(|w| w == state) {
        return Vec::new();
    }
    let benefit = benefit_of(rule, service, answers);
    choices(rule, answers)
        .into_iter()
        .enumerate()
        .map(|(i, choice)| store::WaitingEntry {
            choice,
            benefit,
            since,
            preference: i64::try_from(i + 1).unwrap_or(i64::MAX),
        })
        .collect()
}

fn choices(rule: &QueueRule, answers: &Answers) -> Vec<String> {
    match answers.get(&rule.choices) {
        Some(Answer::Many(v)) => v.clone(),
        Some(Answer::One(v)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

impl Applications {
    /// Fills a service's lists from the applications already waiting, once (a database from a
    /// release without them); nothing for a service without lists, or once done.
    pub(super) async fn ensure_waiting_lists(&self, service: &Service) -> AppResult<()> {
        let Some(rule) = &service.queue else {
            return Ok(());
        };
        if store::waiting_lists_built(&mut *self.store.read().await?, &service.code).await? {
            return Ok(());
        }
        // Emptied, then read, in one transaction: an application submitted before the read is
        // in it, one submitted after keeps the entry its own transaction wrote.
        let mut work = self.work().await?;
        store::clear_waiting_lists(&mut work, &service.code).await?;
        let rows = store::in_states(
            &mut work,
            &service.code,
            &rule.waiting.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await?;
        let mut all = Vec::new();
        for row in rows {
            let answers: Answers = serde_json::from_str(&row.answers).unwrap_or_default();
            let since = row.submitted_at.unwrap_or(row.created_at);
            for e in entries(service, &row.state, &answers, since) {
                all.push((row.id.clone(), e));
            }
        }
        store::build_waiting_lists(&mut work, &service.code, &all, self.clock.now()).await?;
        work.commit().await
    }

    /// Writes where an application now waits, in the same unit of work as the change of its
    /// state or answers.
    pub(super) async fn sync_waiting(
        &self,
        work: &mut ekdwar_store::Conn,
        service: &Service,
        id: &ApplicationId,
        state: &str,
        answers: &Answers,
        since: Timestamp,
    ) -> AppResult<()> {
        if service.queue.is_none() {
            return Ok(());
        }
        let rows = entries(service, state, answers, since);
        store::set_waiting(work, &service.code, id, &rows).await?;
        Ok(())
    }

    /// The places of each application that waits in a list, by id.
    pub async fn places(&self, apps: &[&Loaded]) -> AppResult<BTreeMap<ApplicationId, Vec<Place>>> {
        let mut out = BTreeMap::new();
        for loaded in apps {
            let Some(rule) = &loaded.service.queue else {
                continue;
            };
            if !rule.waiting.contains(&loaded.state) {
                continue;
            }
            self.ensure_waiting_lists(&loaded.service).await?;
            let field = loaded.service.questions().find(|f| f.id == rule.choices);
            let mut conn = self.store.read().await?;
            let mut places = Vec::new();
            for e in store::waiting_of(&mut conn, &loaded.id).await? {
                let (position, waiting) =
                    store::place_in(&mut conn, &loaded.service.code, &loaded.id, &e).await?;
                let label = field
                    .and_then(|f| f.options.iter().find(|o| o.value == e.choice))
                    .map(|o| o.label.clone())
                    .unwrap_or_else(|| Texts([(String::from("en"), e.choice.clone())].into()));
                places.push(Place {
                    label,
                    preference: usize::try_from(e.preference).unwrap_or(usize::MAX),
                    position: usize::try_from(position).unwrap_or(usize::MAX),
                    waiting: usize::try_from(waiting).unwrap_or(usize::MAX),
                    choice: e.choice,
                });
            }
            out.insert(loaded.id.clone(), places);
        }
        Ok(out)
    }

    /// One application's places (none unless it waits in a list).
    pub async fn places_of(&self, loaded: &Loaded) -> AppResult<Vec<Place>> {
        Ok(self
            .places(&[loaded])
            .await?
            .remove(&loaded.id)
            .unwrap_or_default())
    }
}
