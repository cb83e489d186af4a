//! Writing messages: a capability tells a person something by writing the message, rendered in
//! their language, to the outbox in the unit of work of the change it reports, with the job that
//! delivers it. Every capability does; delivering is the notification service's
//! (`notify`, above this module), which it knows nothing of.

use ekdwar_domain::{Channel, Contact, Email, Phone};
use ekdwar_store::notify::{self as outbox, NewMessage, OutboxStatus};

use crate::core::{Core, Work};
use crate::error::AppResult;
use crate::i18n::Lang;
use crate::views::AccountView;

/// Hand a message of the outbox to its gateway: `{"id": …}`.
pub const DELIVER_MESSAGE: &str = "deliver-message";

/// Which channels have a gateway: what a use-case needs to know to queue a message, without
/// the means to send one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sending {
    sms: bool,
    email: bool,
}

impl Sending {
    pub(crate) fn new(sms: bool, email: bool) -> Self {
        Self { sms, email }
    }

    pub fn has(&self, channel: Channel) -> bool {
        match channel {
            Channel::Sms => self.sms,
            Channel::Email => self.email,
        }
    }
}

/// A message to send; rendered from `sms-{kind}` or `email-{kind}-subject`/`-body`.
pub struct Outgoing<'a> {
    pub kind: &'static str,
    pub to: &'a Contact,
    pub lang: &'a Lang,
    pub args: Vec<(&'static str, String)>,
}

impl Core {
    /// Renders a message and writes it to the outbox on `conn` (normally inside the
    /// transaction of the change it reports).
    pub(crate) async fn enqueue(&self, work: &mut Work<'_>, m: Outgoing<'_>) -> AppResult<()> {
        let channel = m.to.channel();
        let (subject, body) = match channel {
            Channel::Sms => (
                None,
                ekdwar_domain::sms::plain(&m.lang.t_args(&format!("sms-{}", m.kind), &m.args)),
            ),
            Channel::Email => (
                Some(m.lang.t_args(&format!("email-{}-subject", m.kind), &m.args)),
                m.lang.t_args(&format!("email-{}-body", m.kind), &m.args),
            ),
        };
        let status = if self.sending.has(channel) {
            OutboxStatus::Pending
        } else {
            OutboxStatus::Local
        };
        let id = outbox::enqueue(
            work,
            &NewMessage {
                channel,
                recipient: m.to.as_str().to_string(),
                subject,
                body,
                kind: m.kind.to_string(),
                status,
                created_at: self.clock.now(),
            },
        )
        .await?;
        if status == OutboxStatus::Pending {
            self.enqueue_job(work, DELIVER_MESSAGE, &serde_json::json!({ "id": id }))
                .await?;
        }
        Ok(())
    }

    /// Writes what `enqueue` would for a message to no one: the same row, marked as a decoy,
    /// so that answering an unknown account costs the same writes as a known one.
    pub(crate) async fn enqueue_decoy(
        &self,
        work: &mut Work<'_>,
        channel: Channel,
    ) -> AppResult<()> {
        let id = outbox::enqueue(
            work,
            &NewMessage {
                channel,
                recipient: "decoy".into(),
                subject: None,
                body: String::new(),
                kind: "decoy".into(),
                status: OutboxStatus::Decoy,
                created_at: self.clock.now(),
            },
        )
        .await?;
        // And the job a real message would have: its run finds a decoy and sends nothing.
        if self.sending.has(channel) {
            self.enqueue_job(work, DELIVER_MESSAGE, &serde_json::json!({ "id": id }))
                .await?;
        }
        Ok(())
    }

    /// The language a person reads: the one their account keeps, else the portal's default.
    pub(crate) fn language_of(&self, account: &AccountView) -> Lang {
        account
            .language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or_else(|| self.default_lang.clone())
    }

    /// Tells a person (applicant or officer) on each contact they have, in their language
    /// (else `lang`), the message `kind` with `args`.
    pub(crate) async fn tell_with(
        &self,
        work: &mut Work<'_>,
        account: &AccountView,
        lang: &Lang,
        kind: &'static str,
        args: Vec<(&'static str, String)>,
    ) -> AppResult<()> {
        let lang = account
            .language
            .as_deref()
            .and_then(Lang::parse)
            .unwrap_or_else(|| lang.clone());
        let contacts: Vec<Contact> = account
            .phone
            .iter()
            .map(|p| Contact::Phone(Phone::from_trusted(p.clone())))
            .chain(
                account
                    .email
                    .iter()
                    .map(|e| Contact::Email(Email::from_trusted(e.clone()))),
            )
            .collect();
        for to in &contacts {
            self.enqueue(
                work,
                Outgoing {
                    kind,
                    to,
                    lang: &lang,
                    args: args.clone(),
                },
            )
            .await?;
        }
        Ok(())
    }
}
