//! Becoming verified through a trusted identity provider (an online bank, an e-KYC service):
//! the provider's claims about the person are matched against the account's checked profile,
//! fact by fact, before the level is granted. A match on e-mail, or on a name alone, is never
//! enough: the names, the date of birth and at least one national identifier must all agree.

use ekdwar_domain::AccountLevel;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::national_id::{IdKind, NationalId};
use ekdwar_domain::profile::ProfileFacts;
use ekdwar_store::identity::{self as users, User};
use ekdwar_store::profiles as store;
use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

use super::Assurance;
use crate::audit::Actor;
use crate::config::UpstreamConfig;
use crate::error::{AppError, AppResult};
use crate::identity::{CurrentSession, ExternalIntent, UpstreamAnswer};

impl Assurance {
    /// The providers a standard account may become verified through: (id, name).
    pub fn trusted_providers(&self) -> Vec<(String, String)> {
        self.identity
            .upstreams()
            .iter()
            .filter(|u| u.trusted_for == Some(AccountLevel::Verified))
            .map(|u| (u.id.clone(), u.name.clone()))
            .collect()
    }

    /// Raises the person's standard account to verified if what the trusted provider said
    /// about them matches their checked profile. A mismatch is audited (which facts, never
    /// their values) and refused; nothing else changes.
    pub async fn verify_by_upstream(
        &self,
        cur: &CurrentSession,
        answer: &UpstreamAnswer,
        actor: &Actor,
    ) -> AppResult<()> {
        let u = self.identity.upstream(&answer.provider)?;
        if answer.intent != ExternalIntent::Verify || u.trusted_for != Some(AccountLevel::Verified)
        {
            return Err(AppError::NotFound);
        }
        let mut work = self.work().await?;
        store::lock(&mut work, &cur.user.id).await?;
        let user = users::by_id(&mut work, &cur.user.id)
            .await?
            .ok_or(AppError::NotFound)?;
        match user.level {
            AccountLevel::Verified => {
                return Err(AppError::field("provider", "upstream-already-verified"));
            }
            _ if !self.verifiable(&mut work, &user).await? => {
                return Err(AppError::field("provider", "upstream-not-standard"));
            }
            _ => {}
        }
        let (_, facts) = self.facts(&mut work, &user.id).await?;
        let unmatched = unmatched(u, &user, &facts, &answer.claims);
        if !unmatched.is_empty() {
            self.audit(
                &mut work,
                actor,
                Some(user.id.as_str()),
                AuditAction::IdentityMatched,
                Outcome::Failure,
                Some(format!("{}\t{}", u.name, unmatched.join(","))),
            )
            .await?;
            work.commit().await?;
            return Err(AppError::field("provider", "upstream-mismatch"));
        }
        self.audit(
            &mut work,
            actor,
            Some(user.id.as_str()),
            AuditAction::IdentityMatched,
            Outcome::Success,
            Some(u.name.clone()),
        )
        .await?;
        self.raise_to_verified(&mut work, &user, actor, "identity-matched")
            .await?;
        work.commit().await?;
        Ok(())
    }
}

/// A name as compared: compatibility-normalised, case-folded, `ё` read as `е`, spaces and
/// hyphens collapsed.
fn name_key(s: &str) -> String {
    s.nfkc()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect::<String>()
        .split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The checked facts the provider's claims contradict or leave out (`given_name`,
/// `family_name`, `middle_name`, `birthdate`, an identifier's kind, or `identifier` when no
/// identifier came at all); empty when everything agrees.
fn unmatched(
    u: &UpstreamConfig,
    user: &User,
    facts: &ProfileFacts,
    claims: &Value,
) -> Vec<&'static str> {
    let claim = |name: &str| claims[name].as_str().unwrap_or_default();
    let same = |a: &str, b: &str| !a.trim().is_empty() && name_key(a) == name_key(b);
    let mut out = Vec::new();
    if !same(claim("given_name"), user.first_name.as_str()) {
        out.push("given_name");
    }
    if !same(claim("family_name"), user.last_name.as_str()) {
        out.push("family_name");
    }
    if let Some(middle) = facts
        .middle_name
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        && !same(claim("middle_name"), middle)
    {
        out.push("middle_name");
    }
    // OpenID Connect's `birthdate` is YYYY-MM-DD (a withheld year, 0000, does not match).
    if facts.birth_date.map(|d| d.to_string()).as_deref() != Some(claim("birthdate")) {
        out.push("birthdate");
    }
    let mut identifiers = 0;
    for (kind, name) in &u.identifier_claims {
        let Some(kind) = IdKind::parse(kind) else {
            continue;
        };
        let Some(sent) = claims[name.as_str()].as_str() else {
            continue;
        };
        identifiers += 1;
        let agrees = NationalId::parse(kind, sent)
            .ok()
            .is_some_and(|id| facts.ids.get(&kind).map(String::as_str) == Some(id.as_str()));
        if !agrees {
            out.push(kind.as_str());
        }
    }
    if identifiers == 0 {
        out.push("identifier");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ekdwar_domain::{AccountStatus, AccountType, PersonName, PortalId, Role, Timestamp};
    use serde_json::json;

    fn provider() -> UpstreamConfig {
        let mut u = UpstreamConfig::login_only(
            "bank",
            "Bank ID",
            "https://id.bank.example",
            "ekdwar",
            crate::config::Secret::new("s"),
        );
        u.trusted_for = Some(AccountLevel::Verified);
        u.identifier_claims = [("snils".to_string(), "snils".to_string())].into();
        u
    }

    fn anna() -> (User, ProfileFacts) {
        let now = Timestamp::from_millis(0);
        let user = User {
            id: ekdwar_domain::UserId::new("u1"),
            portal_id: PortalId::parse("anna").unwrap(),
            first_name: PersonName::parse("Анна").unwrap(),
            last_name: PersonName::parse("Смирнова").unwrap(),
            phone: None,
            email: None,
            password_hash: None,
            password_changed_at: now,
            level: AccountLevel::Standard,
            account_type: AccountType::Citizen,
            role: Role::Citizen,
            status: AccountStatus::Active,
            language: None,
            consent_at: now,
            created_at: now,
            updated_at: now,
        };
        let facts = ProfileFacts {
            country: "ru".into(),
            middle_name: Some("Сергеевна".into()),
            birth_date: Some(jiff::civil::date(1990, 3, 15)),
            ids: [(IdKind::Snils, "11223344595".to_string())].into(),
            ..ProfileFacts::default()
        };
        (user, facts)
    }

    fn claims(extra: Value) -> Value {
        let mut c = json!({
            "sub": "bank-1",
            "given_name": "АННА",
            "family_name": "Смирнова",
            "middle_name": "Сергеевна",
            "birthdate": "1990-03-15",
            "snils": "112-233-445 95",
            "email": "anna@bank.example",
        });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    }

    #[test]
    fn every_checked_fact_must_agree_and_an_identifier_must_come() {
        let (user, facts) = anna();
        let u = provider();
        assert!(unmatched(&u, &user, &facts, &claims(json!({}))).is_empty());
        // Case, ё and spacing do not matter; a different name does.
        assert!(
            unmatched(
                &u,
                &user,
                &facts,
                &claims(json!({"family_name": " смирнова "}))
            )
            .is_empty()
        );
        assert_eq!(
            unmatched(
                &u,
                &user,
                &facts,
                &claims(json!({"family_name": "Смирнов"}))
            ),
            ["family_name"]
        );
        assert_eq!(
            unmatched(
                &u,
                &user,
                &facts,
                &claims(json!({"birthdate": "0000-03-15"}))
            ),
            ["birthdate"]
        );
        assert_eq!(
            unmatched(
                &u,
                &user,
                &facts,
                &claims(json!({"snils": "123-456-789 64"}))
            ),
            ["snils"]
        );
        // No identifier at all: names and a birthday (or an e-mail) are not enough.
        assert_eq!(
            unmatched(&u, &user, &facts, &claims(json!({"snils": null}))),
            ["identifier"]
        );
        let none = json!({"sub": "x", "email": "anna@bank.example"});
        assert_eq!(
            unmatched(&u, &user, &facts, &none),
            [
                "given_name",
                "family_name",
                "middle_name",
                "birthdate",
                "identifier"
            ]
        );
        assert_eq!(name_key("Фёдор  Ан-на"), "федор ан на");
    }
}
