//! Waiting lists (Moscow's kindergartens): an application waits in one list per choice it
//! made, ordered by the definition's benefit categories and then by when it was submitted.
//! Places are computed from the applications themselves, so one placed or withdrawn ahead moves
//! everyone behind it up at once.

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
type Key = (usize, Timestamp, String);

fn key_of(rule: &QueueRule, service: &Service, id: &str, answers: &Answers, at: Timestamp) -> Key {
    let benefit = rule
        .priority
        .as_ref()
        .and_then(|p| {
            let field = service
                .form
                .iter()
                .flat_map(|f| &f.pages)
                .flat_map(|p| &p.fields)
                .find(|f| &f.id == p)?;
            let answer = answers.get(p).and_then(Answer::one)?;
            field.options.iter().position(|o| o.value == answer)
        })
        .unwrap_or(usize::MAX);
    (benefit, at, id.to_string())
}

fn choices(rule: &QueueRule, answers: &Answers) -> Vec<String> {
    match answers.get(&rule.choices) {
        Some(Answer::Many(v)) => v.clone(),
        Some(Answer::One(v)) => vec![v.clone()],
        _ => Vec::new(),
    }
}

impl Applications {
    /// The places of each of `apps` that waits in a list, by application.
    pub async fn places(&self, apps: &[&Loaded]) -> AppResult<BTreeMap<ApplicationId, Vec<Place>>> {
        let mut out = BTreeMap::new();
        let mut lists: BTreeMap<String, BTreeMap<String, Vec<(Key, ApplicationId)>>> =
            BTreeMap::new();
        for loaded in apps {
            let Some(rule) = &loaded.service.queue else {
                continue;
            };
            if !rule.waiting.contains(&loaded.state) {
                continue;
            }
            let code = &loaded.service.code;
            if !lists.contains_key(code) {
                // Every application of the service that waits, once per service.
                let rows = store::in_states(
                    &mut *self.store.read().await?,
                    code,
                    &rule.waiting.iter().map(String::as_str).collect::<Vec<_>>(),
                )
                .await?;
                let mut by_choice: BTreeMap<String, Vec<(Key, ApplicationId)>> = BTreeMap::new();
                for row in rows {
                    let answers: Answers = serde_json::from_str(&row.answers).unwrap_or_default();
                    let at = row.submitted_at.unwrap_or(row.created_at);
                    let key = key_of(rule, &loaded.service, row.id.as_str(), &answers, at);
                    for choice in choices(rule, &answers) {
                        by_choice
                            .entry(choice)
                            .or_default()
                            .push((key.clone(), row.id.clone()));
                    }
                }
                for list in by_choice.values_mut() {
                    list.sort();
                }
                lists.insert(code.clone(), by_choice);
            }
            let by_choice = &lists[code];
            let field = loaded
                .service
                .form
                .iter()
                .flat_map(|f| &f.pages)
                .flat_map(|p| &p.fields)
                .find(|f| f.id == rule.choices);
            let mut places = Vec::new();
            for (i, choice) in choices(rule, &loaded.answers).into_iter().enumerate() {
                let Some(list) = by_choice.get(&choice) else {
                    continue;
                };
                let Some(position) = list.iter().position(|(_, id)| *id == loaded.id) else {
                    continue;
                };
                let label = field
                    .and_then(|f| f.options.iter().find(|o| o.value == choice))
                    .map(|o| o.label.clone())
                    .unwrap_or_else(|| Texts([(String::from("en"), choice.clone())].into()));
                places.push(Place {
                    choice,
                    label,
                    preference: i + 1,
                    position: position + 1,
                    waiting: list.len(),
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
