//! What the edges show. Pages render these, the command line prints them (as JSON with
//! `--json`), and the admin console and JSON API to come will return them; the store's records
//! stay inside this crate, so a column added for the portal's own use never leaks out.

use ekdwar_domain::sso::{SigningAlg, SubjectType};
use ekdwar_domain::{
    AccountLevel, AccountStatus, AccountType, Channel, ClientId, Role, Timestamp, UserId,
};
use ekdwar_store::identity::User;
use ekdwar_store::notify::{OutboxMessage, OutboxStatus};
use ekdwar_store::sso::Client;
use serde::Serialize;

/// An account, as an administrator sees it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountView {
    pub id: UserId,
    pub portal_id: String,
    pub first_name: String,
    pub last_name: String,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub level: AccountLevel,
    pub account_type: AccountType,
    pub role: Role,
    pub status: AccountStatus,
    /// The language of its messages, when the person chose one.
    pub language: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

impl AccountView {
    /// Given and family name.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The phone grouped as people write it (`+91 98123 45678`).
    pub fn phone_formatted(&self) -> Option<String> {
        self.phone
            .as_ref()
            .map(|p| ekdwar_domain::Phone::from_trusted(p.clone()).formatted())
    }

    /// The phone, or else the e-mail.
    pub fn contact(&self) -> Option<&str> {
        self.phone.as_deref().or(self.email.as_deref())
    }
}

impl From<&User> for AccountView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.clone(),
            portal_id: u.portal_id.as_str().to_string(),
            first_name: u.first_name.as_str().to_string(),
            last_name: u.last_name.as_str().to_string(),
            phone: u.phone.as_ref().map(|p| p.as_str().to_string()),
            email: u.email.as_ref().map(|e| e.as_str().to_string()),
            level: u.level,
            account_type: u.account_type,
            role: u.role,
            status: u.status,
            language: u.language.clone(),
            created_at: u.created_at.millis(),
        }
    }
}

/// A departmental app, as its administrator and the directory see it (never its secret's hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppView {
    pub client_id: ClientId,
    pub name: String,
    pub public: bool,
    pub enabled: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Where the logo was fetched from, once.
    pub logo: Option<String>,
    /// The portal's own copy of the logo, versioned for long caching.
    #[serde(skip)]
    pub logo_path: Option<String>,
    pub launch_url: Option<String>,
    pub helpdesk_phone: Option<String>,
    pub helpdesk_email: Option<String>,
    pub officer: Option<String>,
    pub subject_type: SubjectType,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: SigningAlg,
    pub api_scopes: Vec<String>,
}

impl From<&Client> for AppView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.clone(),
            name: c.name.clone(),
            public: c.is_public,
            enabled: c.enabled,
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            logo: c.logo_url.clone(),
            logo_path: c
                .logo_etag
                .as_ref()
                .map(|v| format!("/apps/{}/logo.png?v={v}", c.id)),
            launch_url: c.launch_url.clone(),
            helpdesk_phone: c.helpdesk_phone.clone(),
            helpdesk_email: c.helpdesk_email.clone(),
            officer: c.officer.clone(),
            subject_type: c.subject_type,
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            id_token_alg: c.id_token_alg,
            api_scopes: c.api_scopes.clone(),
        }
    }
}

/// A message of the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageView {
    pub id: i64,
    pub channel: Channel,
    pub recipient: String,
    pub subject: Option<String>,
    /// Empty once a gateway took it (or a day after it was given up).
    pub body: String,
    pub kind: String,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

impl From<OutboxMessage> for MessageView {
    fn from(m: OutboxMessage) -> Self {
        Self {
            id: m.id,
            channel: m.channel,
            recipient: m.recipient,
            subject: m.subject,
            body: m.body,
            kind: m.kind,
            status: m.status,
            attempts: m.attempts,
            created_at: m.created_at,
            sent_at: m.sent_at,
            last_error: m.last_error,
        }
    }
}
