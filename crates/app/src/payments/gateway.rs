//! The port to payment gateways, and the adapter for Ekdwar's own gateway protocol. Every
//! gateway does the same five things: create a payment (server to server, idempotently), send
//! the payer's browser to its page, send the browser back (never trusted), notify the outcome
//! by a signed server-to-server call, and answer status queries; and it refunds.

use ekdwar_domain::payments::signing::{self, SIGNATURE_HEADER, SignatureError};
use ekdwar_domain::payments::{Currency, Money, PayChannel};
use serde::Deserialize;
use serde_json::json;

use crate::core::PortFuture;

/// What the portal asks a gateway to collect.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// Our attempt's id: the idempotency key and the merchant reference.
    pub attempt: String,
    /// How much.
    pub amount: Money,
    /// What for, in words.
    pub description: String,
    /// Card or net banking.
    pub channel: PayChannel,
    /// The payer's language.
    pub language: String,
    /// The payer's name and e-mail, for gateways that ask (PayU).
    pub payer_name: String,
    /// The payer's e-mail, if known.
    pub payer_email: Option<String>,
    /// Where the browser comes back.
    pub return_url: String,
    /// Where the gateway notifies.
    pub notify_url: String,
}

/// Where to send the payer's browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    /// A plain redirect.
    Redirect(String),
    /// A form posted to the gateway (PayU's hosted checkout).
    PostForm {
        url: String,
        fields: Vec<(String, String)>,
    },
}

impl NextStep {
    /// The origin the browser is sent to (for the page's `form-action`).
    pub fn origin(&self) -> Option<String> {
        let url = match self {
            Self::Redirect(u) => u,
            Self::PostForm { url, .. } => url,
        };
        url::Url::parse(url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
    }
}

/// A payment the gateway made.
#[derive(Debug, Clone)]
pub struct Created {
    /// The gateway's id for it.
    pub id: String,
    /// Where the payer goes.
    pub next: NextStep,
}

/// What a gateway says about a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayStatus {
    /// Made, nothing paid yet.
    Created,
    /// The bank has not decided.
    Pending,
    /// Paid.
    Succeeded,
    /// Refused.
    Failed,
    /// Abandoned by the payer.
    Cancelled,
}

/// A gateway's account of a payment.
#[derive(Debug, Clone)]
pub struct Reported {
    /// The gateway's id.
    pub id: String,
    /// Our attempt's id, as the gateway echoes it.
    pub attempt: String,
    /// Where it stands.
    pub status: GatewayStatus,
    /// The amount the gateway says it is for: checked against our attempt, never trusted.
    pub amount: i64,
    /// Its currency, as the gateway spells it.
    pub currency: String,
}

/// A notification that passed its signature check.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The gateway's id of this event (the same event redelivered has the same id).
    pub event_id: String,
    /// What it reports.
    pub payment: Reported,
}

/// Why a gateway call failed.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// It could not be reached or answered nonsense: worth retrying later.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
    /// It refused the request.
    #[error("gateway refused: {0}")]
    Refused(String),
}

/// Why a notification was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// Unsigned, badly signed, or stale.
    #[error("bad signature: {0}")]
    Signature(SignatureError),
    /// Not a notification this adapter understands.
    #[error("malformed notification")]
    Malformed,
}

/// What a refund call answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDone {
    /// The gateway's id of the refund.
    pub id: String,
    /// Paid out (`false`: accepted, to be confirmed).
    pub succeeded: bool,
}

/// A payment gateway, as the portal uses it.
pub trait PaymentGateway: Send + Sync {
    /// Its name, in the ledger and in the notification address.
    fn name(&self) -> &str;
    /// Creates a payment; the same `attempt` twice makes one payment.
    fn create<'a>(
        &'a self,
        req: &'a CreateRequest,
    ) -> PortFuture<'a, Result<Created, GatewayError>>;
    /// Asks where a payment stands.
    fn status<'a>(
        &'a self,
        gateway_id: &'a str,
        attempt: &'a str,
    ) -> PortFuture<'a, Result<Reported, GatewayError>>;
    /// Refunds (part of) a payment; the same `key` twice refunds once.
    fn refund<'a>(
        &'a self,
        gateway_id: &'a str,
        amount: Money,
        key: &'a str,
    ) -> PortFuture<'a, Result<RefundDone, GatewayError>>;
    /// Checks a notification's signature (in constant time) and reads it. `signature` is the
    /// header the protocol signs with, `now` the time in Unix seconds.
    fn read_notice(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<Notice, NoticeError>;
    /// The header that carries a notification's signature (none when the body carries it).
    fn signature_header(&self) -> Option<&'static str>;
    /// The origins the payer's browser is sent to (for the paying page's `form-action`).
    fn page_origins(&self) -> Vec<String>;
}

/// Ekdwar's own gateway protocol over HTTPS and JSON (`docs/payments.md`).
pub struct EkdwarGateway {
    pub name: String,
    pub url: String,
    pub api_key: String,
    pub secret: String,
    pub http: reqwest::Client,
}

#[derive(Deserialize)]
struct PaymentJson {
    id: String,
    status: String,
    amount: i64,
    currency: String,
    reference: String,
    #[serde(default)]
    next_url: Option<String>,
}

impl PaymentJson {
    fn reported(self) -> Result<Reported, String> {
        let status = match self.status.as_str() {
            "created" => GatewayStatus::Created,
            "pending" => GatewayStatus::Pending,
            "succeeded" => GatewayStatus::Succeeded,
            "failed" => GatewayStatus::Failed,
            "cancelled" => GatewayStatus::Cancelled,
            other => return Err(format!("unknown status {other:?}")),
        };
        Ok(Reported {
            id: self.id,
            attempt: self.reference,
            status,
            amount: self.amount,
            currency: self.currency,
        })
    }
}

#[derive(Deserialize)]
struct NoticeJson {
    event_id: String,
    payment: PaymentJson,
}

impl EkdwarGateway {
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, GatewayError> {
        let resp = req
            .bearer_auth(&self.api_key)
            .send()
            .await
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let status = resp.status();
        if status.is_server_error() {
            return Err(GatewayError::Unavailable(format!("HTTP {status}")));
        }
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            return Err(GatewayError::Refused(format!(
                "HTTP {status}: {}",
                body.chars().take(200).collect::<String>()
            )));
        }
        resp.json::<T>()
            .await
            .map_err(|e| GatewayError::Unavailable(format!("unreadable answer: {e}")))
    }
}

impl PaymentGateway for EkdwarGateway {
    fn name(&self) -> &str {
        &self.name
    }

    fn create<'a>(
        &'a self,
        req: &'a CreateRequest,
    ) -> PortFuture<'a, Result<Created, GatewayError>> {
        Box::pin(async move {
            let body = json!({
                "amount": req.amount.minor(),
                "currency": req.amount.currency().as_str(),
                "reference": req.attempt,
                "description": req.description,
                "channel": req.channel.as_str(),
                "language": req.language,
                "return_url": req.return_url,
                "notify_url": req.notify_url,
            });
            let p: PaymentJson = self
                .call(
                    self.http
                        .post(format!("{}/v1/payments", self.url))
                        .header("Idempotency-Key", &req.attempt)
                        .json(&body),
                )
                .await?;
            if p.reference != req.attempt
                || p.amount != req.amount.minor()
                || p.currency != req.amount.currency().as_str()
            {
                return Err(GatewayError::Refused(
                    "the gateway created a payment other than the one asked".into(),
                ));
            }
            let next = p
                .next_url
                .clone()
                .ok_or_else(|| GatewayError::Unavailable("no next_url".into()))?;
            Ok(Created {
                id: p.id,
                next: NextStep::Redirect(next),
            })
        })
    }

    fn status<'a>(
        &'a self,
        gateway_id: &'a str,
        _attempt: &'a str,
    ) -> PortFuture<'a, Result<Reported, GatewayError>> {
        Box::pin(async move {
            let id: String = url::form_urlencoded::byte_serialize(gateway_id.as_bytes()).collect();
            let p: PaymentJson = self
                .call(self.http.get(format!("{}/v1/payments/{id}", self.url)))
                .await?;
            p.reported().map_err(GatewayError::Unavailable)
        })
    }

    fn refund<'a>(
        &'a self,
        gateway_id: &'a str,
        amount: Money,
        key: &'a str,
    ) -> PortFuture<'a, Result<RefundDone, GatewayError>> {
        Box::pin(async move {
            #[derive(Deserialize)]
            struct RefundJson {
                id: String,
                status: String,
            }
            let id: String = url::form_urlencoded::byte_serialize(gateway_id.as_bytes()).collect();
            let r: RefundJson = self
                .call(
                    self.http
                        .post(format!("{}/v1/payments/{id}/refunds", self.url))
                        .header("Idempotency-Key", key)
                        .json(&json!({ "amount": amount.minor() })),
                )
                .await?;
            Ok(RefundDone {
                id: r.id,
                succeeded: r.status == "succeeded",
            })
        })
    }

    fn read_notice(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<Notice, NoticeError> {
        let header = signature.ok_or(NoticeError::Signature(SignatureError::Malformed))?;
        signing::verify(self.secret.as_bytes(), header, body, now)
            .map_err(NoticeError::Signature)?;
        let n: NoticeJson = serde_json::from_slice(body).map_err(|_| NoticeError::Malformed)?;
        Ok(Notice {
            event_id: n.event_id,
            payment: n.payment.reported().map_err(|_| NoticeError::Malformed)?,
        })
    }

    fn signature_header(&self) -> Option<&'static str> {
        Some(SIGNATURE_HEADER)
    }

    fn page_origins(&self) -> Vec<String> {
        url::Url::parse(&self.url)
            .map(|u| vec![u.origin().ascii_serialization()])
            .unwrap_or_default()
    }
}

/// Whether a gateway's reported amount and currency are exactly the attempt's.
pub fn same_money(reported: &Reported, expected: Money) -> bool {
    Currency::parse(&reported.currency).is_ok_and(|c| c == expected.currency())
        && reported.amount == expected.minor()
}
