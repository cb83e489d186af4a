//! Notifications: every capability writes its messages to the outbox in the same transaction
//! as the change that causes them (`crate::outbox`, below all capabilities); this capability
//! delivers them by SMTP or an HTTP SMS gateway, with retries, and lists the outbox. Without a
//! gateway they stay in the local outbox.

use std::time::Duration;

use ekdwar_domain::{Channel, Contact};
use ekdwar_store::notify::{self as outbox, OutboxMessage, OutboxStatus};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{SmsConfig, SmtpConfig, SmtpSecurity};
pub use crate::core::PortFuture;
use crate::error::AppResult;
pub use crate::outbox::{Outgoing, Sending};

/// One SMS for a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// E.164, with `+`.
    pub to: String,
    pub text: String,
    /// The outbox message's id, for delivery reports.
    pub reference: String,
}

/// One e-mail for a mail server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The port to an SMS gateway (an HTTP gateway here; Kannel or a DLT-registered aggregator
/// plug in the same way). An error is worth retrying.
pub trait SmsGateway: Send + Sync {
    fn send<'a>(&'a self, sms: &'a Sms) -> PortFuture<'a, Result<(), String>>;
}

/// The port to a mail server (SMTP here).
pub trait MailGateway: Send + Sync {
    fn send<'a>(&'a self, mail: &'a Mail) -> PortFuture<'a, Result<(), String>>;
}

/// The configured gateways.
#[derive(Clone, Default)]
pub struct Gateways {
    mail: Option<std::sync::Arc<dyn MailGateway>>,
    sms: Option<std::sync::Arc<dyn SmsGateway>>,
}

impl std::fmt::Debug for Gateways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateways")
            .field("mail", &self.mail.is_some())
            .field("sms", &self.sms.is_some())
            .finish()
    }
}

/// The SMTP adapter (lettre).
struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl MailGateway for Smtp {
    fn send<'a>(&'a self, mail: &'a Mail) -> PortFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let to: lettre::message::Mailbox =
                mail.to.parse().map_err(|e| format!("recipient: {e}"))?;
            let message = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(mail.subject.clone())
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body.clone())
                .map_err(|e| e.to_string())?;
            self.transport
                .send(message)
                .await
                .map_err(|e| e.to_string())?;
            Ok(())
        })
    }
}

/// The HTTP SMS adapter: a JSON POST `{to, text, sender, reference}` with a bearer token.
struct HttpSms {
    client: reqwest::Client,
    url: String,
    token: Option<String>,
    sender: Option<String>,
}

impl SmsGateway for HttpSms {
    fn send<'a>(&'a self, sms: &'a Sms) -> PortFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut req = self.client.post(&self.url).json(&serde_json::json!({
                "to": sms.to,
                "text": sms.text,
                "sender": self.sender,
                "reference": sms.reference,
            }));
            if let Some(t) = &self.token {
                req = req.bearer_auth(t);
            }
            let resp = req.send().await.map_err(|e| e.to_string())?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(format!("gateway answered {}", resp.status()))
            }
        })
    }
}

impl Gateways {
    /// The gateways the configuration names (none: messages stay in the local outbox).
    pub fn from_config(smtp: &SmtpConfig, sms: &SmsConfig) -> anyhow::Result<Self> {
        let mail = match &smtp.host {
            None => None,
            Some(host) => {
                let mut b = match smtp.security {
                    SmtpSecurity::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                    }
                    SmtpSecurity::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?
                    }
                    SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
                }
                .port(smtp.port)
                .timeout(Some(Duration::from_secs(20)));
                if let (Some(u), Some(p)) = (&smtp.username, &smtp.password) {
                    b = b.credentials(Credentials::new(u.clone(), p.expose().to_string()));
                }
                let from: lettre::message::Mailbox = smtp
                    .from
                    .parse()
                    .map_err(|e| anyhow::anyhow!("smtp.from is not an address: {e}"))?;
                Some(std::sync::Arc::new(Smtp {
                    transport: b.build(),
                    from,
                }) as std::sync::Arc<dyn MailGateway>)
            }
        };
        let sms = match &sms.http_url {
            None => None,
            Some(url) => Some(std::sync::Arc::new(HttpSms {
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(15))
                    .build()?,
                url: url.clone(),
                token: sms.http_token.as_ref().map(|t| t.expose().to_string()),
                sender: sms.sender.clone(),
            }) as std::sync::Arc<dyn SmsGateway>),
        };
        Ok(Self { mail, sms })
    }

    /// Replaces the configured gateways with the given ones (tests' doubles).
    pub fn replace(
        mut self,
        mail: Option<std::sync::Arc<dyn MailGateway>>,
        sms: Option<std::sync::Arc<dyn SmsGateway>>,
    ) -> Self {
        self.mail = mail.or(self.mail);
        self.sms = sms.or(self.sms);
        self
    }

    pub fn has(&self, channel: Channel) -> bool {
        self.sending().has(channel)
    }

    /// Which channels these gateways serve.
    pub fn sending(&self) -> Sending {
        Sending::new(self.sms.is_some(), self.mail.is_some())
    }

    async fn deliver(&self, m: &OutboxMessage) -> Result<(), String> {
        match m.channel {
            Channel::Email => {
                let gw = self.mail.as_ref().ok_or("no SMTP server configured")?;
                gw.send(&Mail {
                    to: m.recipient.clone(),
                    subject: m.subject.clone().unwrap_or_default(),
                    body: m.body.clone(),
                })
                .await
            }
            Channel::Sms => {
                let gw = self.sms.as_ref().ok_or("no SMS gateway configured")?;
                gw.send(&Sms {
                    to: m.recipient.clone(),
                    text: m.body.clone(),
                    reference: m.id.to_string(),
                })
                .await
            }
        }
    }
}

crate::core::service!(
    /// The outbox and its delivery through the gateways.
    Notify,
    gateways: Gateways
);

impl Notify {
    /// Writes messages to the outbox in one unit of work, as a use-case would.
    #[cfg(feature = "testing")]
    pub async fn enqueue_all(&self, messages: Vec<Outgoing<'_>>) -> AppResult<()> {
        let mut work = self.work().await?;
        for m in messages {
            self.enqueue(&mut work, m).await?;
        }
        work.commit().await
    }

    /// Messages in the outbox, newest first.
    pub async fn outbox(
        &self,
        to: Option<&str>,
        limit: i64,
    ) -> AppResult<Vec<crate::views::MessageView>> {
        let recipient = to.map(|t| match Contact::parse(t, &self.regions) {
            Ok(c) => c.as_str().to_string(),
            Err(_) => t.trim().to_string(),
        });
        let mut conn = self.store.conn().await?;
        Ok(outbox::list(&mut conn, recipient.as_deref(), limit)
            .await?
            .into_iter()
            .map(crate::views::MessageView::from)
            .collect())
    }

    /// Hands one message to its gateway (the `deliver-message` job); `last` says this is the
    /// last attempt, after which the message is given up. A message sent already, a decoy or
    /// one no longer waiting is done at once.
    pub(crate) async fn deliver_message(&self, id: i64, last: bool) -> Result<(), String> {
        let mut conn = self.store.conn().await.map_err(|e| e.to_string())?;
        let Some(m) = outbox::by_id(&mut conn, id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        if m.status != OutboxStatus::Pending {
            return Ok(());
        }
        drop(conn);
        let result = self.gateways.deliver(&m).await;
        let mut conn = self.store.conn().await.map_err(|e| e.to_string())?;
        let outcome = match &result {
            Ok(()) => {
                outbox::mark_sent(&mut conn, m.id, self.clock.now())
                    .await
                    .map_err(|e| e.to_string())?;
                "sent"
            }
            Err(e) => {
                tracing::warn!(id = m.id, channel = m.channel.as_str(), attempt = m.attempts + 1, error = %e, "message delivery failed");
                outbox::mark_attempt_failed(&mut conn, m.id, e, last)
                    .await
                    .map_err(|e| e.to_string())?;
                "failed"
            }
        };
        self.metrics
            .deliveries
            .get_or_create(&crate::metrics::OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
        result
    }
}
