//! What the checked profile can tell a form, once only: the facts a person stated in their
//! standard profile, each marked whether a registry confirmed it. Names, the date of birth
//! and the patronymic are part of every check, so any confirmed item confirms them; a national
//! identifier is confirmed by its own check; the place of birth is never sent to a registry.

use ekdwar_domain::UserId;
use ekdwar_domain::catalog::Prefill;
use ekdwar_domain::profile::CheckStatus;
use ekdwar_store::identity as users;
use ekdwar_store::profiles as store;

use super::Assurance;
use crate::error::AppResult;

/// A fact of the profile a form may be filled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFact {
    pub fact: Prefill,
    pub value: String,
    /// Whether a registry confirmed it.
    pub checked: bool,
}

impl Assurance {
    /// The profile's facts for filling in forms (empty without a profile).
    pub async fn known_facts(&self, user_id: &UserId) -> AppResult<Vec<KnownFact>> {
        let mut conn = self.store.conn().await?;
        let Some(user) = users::by_id(&mut conn, user_id).await? else {
            return Ok(Vec::new());
        };
        let (row, facts) = self.facts(&mut conn, user_id).await?;
        if row.is_none() {
            return Ok(Vec::new());
        }
        let checks = store::checks(&mut conn, user_id).await?;
        let Some(country) = self.countries.get(&facts.country) else {
            return Ok(Vec::new());
        };
        let view = self.view(&user, country, facts.clone(), row.as_ref(), &checks);
        let confirmed = |item| {
            view.items
                .iter()
                .any(|i| i.item == item && i.status == Some(CheckStatus::Confirmed))
        };
        let person = view
            .items
            .iter()
            .any(|i| i.status == Some(CheckStatus::Confirmed));
        let mut out = vec![
            KnownFact {
                fact: Prefill::GivenName,
                value: user.first_name.as_str().to_string(),
                checked: person,
            },
            KnownFact {
                fact: Prefill::Surname,
                value: user.last_name.as_str().to_string(),
                checked: person,
            },
        ];
        let mut push = |fact, value: Option<String>, checked| {
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                out.push(KnownFact {
                    fact,
                    value,
                    checked,
                });
            }
        };
        push(Prefill::MiddleName, facts.middle_name.clone(), person);
        push(
            Prefill::BirthDate,
            facts.birth_date.map(|d| d.to_string()),
            person,
        );
        push(Prefill::BirthPlace, facts.birth_place.clone(), false);
        for fact in [
            Prefill::Aadhaar,
            Prefill::Pan,
            Prefill::JanAadhaar,
            Prefill::Snils,
        ] {
            if let Some(kind) = fact.national_id() {
                push(
                    fact,
                    facts.ids.get(&kind).cloned(),
                    confirmed(ekdwar_domain::profile::CheckItem::Id(kind)),
                );
            }
        }
        Ok(out)
    }
}
