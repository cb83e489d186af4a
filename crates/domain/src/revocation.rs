//! What a revocation ends, as rules over access tokens.
//!
//! Access tokens are self-contained (nothing is stored when one is issued), so ending them
//! cannot mean changing their rows. Each revocation is instead a rule with a time: every access
//! token it matches that was issued at or before that time is dead. Every node holds the rules
//! of the last access-token lifetime in memory and checks a presented token against them; older
//! rules can go, since every token they could match has expired.

use crate::{ClientId, SessionId, Timestamp, UserId};

/// What one revocation ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// One access token (RFC 7009 revocation), by its identifier.
    Token(String),
    /// Every token descended from one authorization (refresh reuse, a replayed code, a
    /// revoked refresh token).
    Family(String),
    /// Every token a person gave one app (consent withdrawn).
    Grant {
        /// The person.
        user: UserId,
        /// The app.
        client: ClientId,
    },
    /// The tokens given out in one login session (log out); `keep_offline` spares those
    /// that carry `offline_access`.
    Session {
        /// The session, by its hash.
        session: SessionId,
        /// Whether `offline_access` grants survive.
        keep_offline: bool,
    },
    /// Every token a person holds (log out everywhere, a password change or reset, a lock),
    /// but those of `keep` that do not carry `offline_access`.
    User {
        /// The person.
        user: UserId,
        /// The session that made the change, whose own tokens stay.
        keep: Option<SessionId>,
    },
}

/// What an access token says about itself, as far as revocation goes.
#[derive(Debug, Clone, Copy)]
pub struct TokenFacts<'a> {
    /// Its own identifier.
    pub id: &'a str,
    /// The authorization it descends from.
    pub family: &'a str,
    /// The app it was issued to.
    pub client: &'a str,
    /// Whose it is (none for `client_credentials`).
    pub user: Option<&'a str>,
    /// The login session it hangs on, by its hash.
    pub session: Option<&'a str>,
    /// Whether it carries `offline_access`.
    pub offline: bool,
    /// When it was issued.
    pub issued_at: Timestamp,
}

impl TokenFacts<'_> {
    /// The keys under which rules that could match this token are filed.
    pub fn keys(&self) -> Vec<String> {
        let mut keys = vec![format!("t:{}", self.id), format!("f:{}", self.family)];
        if let Some(u) = self.user {
            keys.push(format!("g:{u} {}", self.client));
            keys.push(format!("u:{u}"));
        }
        if let Some(s) = self.session {
            keys.push(format!("s:{s}"));
        }
        keys
    }
}

impl Revocation {
    /// The stored form: a kind, a subject and an optional detail.
    pub fn parts(&self) -> (&'static str, String, Option<String>) {
        match self {
            Self::Token(id) => ("token", id.clone(), None),
            Self::Family(f) => ("family", f.clone(), None),
            Self::Grant { user, client } => ("grant", user.to_string(), Some(client.to_string())),
            Self::Session {
                session,
                keep_offline,
            } => (
                "session",
                session.to_string(),
                keep_offline.then(|| "keep_offline".to_string()),
            ),
            Self::User { user, keep } => (
                "user",
                user.to_string(),
                keep.as_ref().map(|k| k.to_string()),
            ),
        }
    }

    /// Reads the stored form back; `None` for a kind this version does not know.
    pub fn from_parts(kind: &str, subject: &str, detail: Option<&str>) -> Option<Self> {
        Some(match kind {
            "token" => Self::Token(subject.into()),
            "family" => Self::Family(subject.into()),
            "grant" => Self::Grant {
                user: UserId::new(subject),
                client: ClientId::new(detail?),
            },
            "session" => Self::Session {
                session: SessionId::new(subject),
                keep_offline: detail == Some("keep_offline"),
            },
            "user" => Self::User {
                user: UserId::new(subject),
                keep: detail.map(SessionId::new),
            },
            _ => return None,
        })
    }

    /// The key it is filed under (one of [`TokenFacts::keys`] of every token it matches).
    pub fn key(&self) -> String {
        match self {
            Self::Token(id) => format!("t:{id}"),
            Self::Family(f) => format!("f:{f}"),
            Self::Grant { user, client } => format!("g:{user} {client}"),
            Self::Session { session, .. } => format!("s:{session}"),
            Self::User { user, .. } => format!("u:{user}"),
        }
    }

    /// Whether this rule, made at `at`, ends the token.
    pub fn ends(&self, at: Timestamp, t: &TokenFacts<'_>) -> bool {
        if t.issued_at > at {
            return false;
        }
        match self {
            Self::Token(id) => id == t.id,
            Self::Family(f) => f == t.family,
            Self::Grant { user, client } => {
                t.user == Some(user.as_str()) && t.client == client.as_str()
            }
            Self::Session {
                session,
                keep_offline,
            } => t.session == Some(session.as_str()) && !(*keep_offline && t.offline),
            Self::User { user, keep } => {
                t.user == Some(user.as_str())
                    && !(keep.is_some() && t.session == keep.as_deref() && !t.offline)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(issued: i64) -> TokenFacts<'static> {
        TokenFacts {
            id: "jti",
            family: "fam",
            client: "app",
            user: Some("u1"),
            session: Some("s1"),
            offline: false,
            issued_at: Timestamp::from_millis(issued),
        }
    }

    #[test]
    fn a_rule_ends_only_tokens_issued_before_it() {
        let r = Revocation::Family("fam".into());
        assert!(r.ends(Timestamp::from_millis(10), &facts(10)));
        assert!(r.ends(Timestamp::from_millis(10), &facts(5)));
        assert!(!r.ends(Timestamp::from_millis(10), &facts(11)));
    }

    #[test]
    fn each_kind_matches_what_it_names() {
        let at = Timestamp::from_millis(100);
        let t = facts(50);
        let offline = TokenFacts { offline: true, ..t };
        let cases = [
            (Revocation::Token("jti".into()), true, true),
            (Revocation::Token("other".into()), false, false),
            (Revocation::Family("other".into()), false, false),
            (
                Revocation::Grant {
                    user: UserId::new("u1"),
                    client: ClientId::new("app"),
                },
                true,
                true,
            ),
            (
                Revocation::Grant {
                    user: UserId::new("u1"),
                    client: ClientId::new("other"),
                },
                false,
                false,
            ),
            (
                Revocation::Session {
                    session: SessionId::new("s1"),
                    keep_offline: true,
                },
                true,
                false,
            ),
            (
                Revocation::Session {
                    session: SessionId::new("s1"),
                    keep_offline: false,
                },
                true,
                true,
            ),
            (
                Revocation::User {
                    user: UserId::new("u1"),
                    keep: None,
                },
                true,
                true,
            ),
            (
                Revocation::User {
                    user: UserId::new("u1"),
                    keep: Some(SessionId::new("s1")),
                },
                false,
                true,
            ),
            (
                Revocation::User {
                    user: UserId::new("u1"),
                    keep: Some(SessionId::new("s2")),
                },
                true,
                true,
            ),
        ];
        for (rule, ends_online, ends_offline) in cases {
            assert_eq!(rule.ends(at, &t), ends_online, "{rule:?}");
            assert_eq!(rule.ends(at, &offline), ends_offline, "{rule:?} offline");
            let matched = t.keys().contains(&rule.key());
            assert!(
                matched || !ends_online,
                "{rule:?} filed where the token looks"
            );
            let (kind, subject, detail) = rule.parts();
            assert_eq!(
                Revocation::from_parts(kind, &subject, detail.as_deref()),
                Some(rule)
            );
        }
    }
}
