//! Payments: what an application owes (an order, made when it is submitted), paying it online
//! through a gateway or by bank challan, the notifications and status queries that tell the
//! portal the outcome, refunds of duplicate payments, the bank's statement, and the daily
//! report. Every fact is appended to the order's ledger; what the order stands at is derived
//! from it ([`OrderView`]).
//!
//! The browser's return from a gateway is never trusted: it only makes the portal ask the
//! gateway (a status query). Money is recorded only from a signed notification or a status
//! query, and only when its amount and currency are exactly the attempt's.

use std::sync::Arc;

use ekdwar_domain::catalog::{Fee, FeeDue};
use ekdwar_domain::payments::{
    Currency, EventKind, LedgerEvent, Money, OrderStatus, OrderView, PayChannel,
};
use ekdwar_domain::{ApplicationId, Timestamp, UserId};
use ekdwar_store::payments::{self as store, Attempt, Order};

use crate::core::Work;
use crate::error::{AppError, AppResult, internal};
use crate::i18n::Lang;
use crate::views::AccountView;

pub mod gateway;
mod offline;
mod paying;
pub mod payu;
mod refunds;
mod report;
mod sweep;

pub use gateway::{GatewayStatus, NextStep, PaymentGateway};
pub use report::{DailyReport, ReconcileReport, RefundLine, Unmatched};

/// The gateway name challans are recorded under.
pub const CHALLAN: &str = "challan";
/// The gateway name payments at a centre are recorded under.
pub const CENTRE: &str = "centre";
/// How many open attempts or refunds one sweep handles.
const SWEEP_BATCH: i64 = 100;

crate::core::service!(
    /// Payments: orders, gateway payments, challans, refunds, reconciliation.
    Payments,
    gateway: Option<Arc<dyn PaymentGateway>>,
    identity: crate::identity::Identity,
    catalog: crate::catalog::Catalog
);

/// Ask gateways about payments heard nothing of, close abandoned ones and expired challans,
/// pay out refunds; then schedule the next sweep.
pub const SWEEP_PAYMENTS: &str = "sweep-payments";
/// Book or release the appointment a payment attempt paid for: `{"attempt": …}`. Payments
/// add it when such an attempt ends; the runner hands it to appointments, above payments.
pub const SETTLE_HOLD: &str = "settle-hold";

/// An order with what its ledger says.
#[derive(Debug, Clone)]
pub struct Payment {
    /// The order.
    pub order: Order,
    /// Where it stands, derived from its ledger.
    pub view: OrderView,
    /// Its attempts as stored (for a challan's reference and window).
    pub attempts: Vec<Attempt>,
}

impl Payment {
    /// The open challan, with its reference and window.
    pub fn open_challan(&self) -> Option<&Attempt> {
        let open = self.view.open_challan()?;
        self.attempts.iter().find(|a| a.id == open.id)
    }

    /// Where it stands.
    pub fn status(&self) -> OrderStatus {
        self.view.status
    }

    /// The stored attempt of a ledger attempt.
    pub fn attempt(&self, id: &str) -> Option<&Attempt> {
        self.attempts.iter().find(|a| a.id == id)
    }
}

/// What starting a payment leads to.
#[derive(Debug, Clone)]
pub enum Started {
    /// Send the browser to the gateway.
    Gateway(NextStep),
    /// A challan to print and pay at the bank (its attempt id).
    Challan(String),
}

/// Makes the order of a submitted application from its service's fees: the online part (paid
/// before an appointment) and the part due at the centre (tatkaal's balance). Nothing when no
/// fee applies. Written in the submission's own unit of work.
pub(crate) async fn open_order(
    work: &mut Work<'_>,
    id: String,
    application: &ApplicationId,
    owner: &UserId,
    purpose: &str,
    fees: &[&Fee],
    at: Timestamp,
) -> AppResult<Option<Order>> {
    let Some(first) = fees.first() else {
        return Ok(None);
    };
    let currency = Currency::parse(&first.currency).map_err(internal)?;
    let mut online = Money::zero(currency);
    let mut centre = Money::zero(currency);
    for f in fees {
        let amount = Money::new(
            i64::try_from(f.amount).map_err(internal)?,
            Currency::parse(&f.currency).map_err(internal)?,
        )
        .map_err(internal)?;
        match f.due {
            FeeDue::Online => online = online.checked_add(amount).map_err(internal)?,
            FeeDue::AtCentre => centre = centre.checked_add(amount).map_err(internal)?,
        }
    }
    let order = Order {
        id,
        application_id: application.to_string(),
        owner_id: owner.clone(),
        purpose: purpose.to_string(),
        online,
        centre,
        created_at: at,
        paid_by: None,
        paid_at: None,
    };
    store::insert_order(work, &order).await?;
    Ok(Some(order))
}

/// The configured payment gateway, if any.
pub fn gateway_from_config(
    config: &crate::config::PaymentsConfig,
    http: &reqwest::Client,
) -> anyhow::Result<Option<Arc<dyn PaymentGateway>>> {
    use crate::config::GatewayKind;
    let Some(g) = &config.gateway else {
        return Ok(None);
    };
    anyhow::ensure!(
        !g.name.is_empty()
            && g.name.len() <= 32
            && g.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && g.name != CHALLAN
            && g.name != CENTRE,
        "payments.gateway.name must be lower-case letters, digits and '-' (not challan or centre)"
    );
    url::Url::parse(&g.url).map_err(|e| anyhow::anyhow!("payments.gateway.url: {e}"))?;
    Ok(Some(match g.kind {
        GatewayKind::Ekdwar => Arc::new(gateway::EkdwarGateway {
            name: g.name.clone(),
            url: g.url.trim_end_matches('/').to_string(),
            api_key: g.key.expose().to_string(),
            secret: g.secret.expose().to_string(),
            http: http.clone(),
        }),
        GatewayKind::Payu => Arc::new(payu::Payu {
            name: g.name.clone(),
            checkout_url: g.url.trim_end_matches('/').to_string(),
            api_url: g
                .api_url
                .clone()
                .ok_or_else(|| anyhow::anyhow!("payments.gateway.api_url is needed for PayU"))?,
            key: g.key.expose().to_string(),
            salt: g.secret.expose().to_string(),
            http: http.clone(),
        }),
    }))
}

fn event(
    kind: EventKind,
    subject: &str,
    channel: Option<PayChannel>,
    amount: Money,
    reference: Option<String>,
    at: Timestamp,
) -> LedgerEvent {
    LedgerEvent {
        kind,
        subject: subject.to_string(),
        channel,
        amount,
        reference,
        at,
    }
}

/// Who pays an order: what the messages about it need.
#[derive(Debug, Clone)]
pub struct Payer {
    pub order: Order,
    pub account: Option<AccountView>,
    pub lang: Lang,
    pub arn: String,
}

impl Payer {
    /// What is paid online.
    pub fn paid_online(&self) -> Money {
        self.order.online
    }
}

/// Why a notification was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoticeRefused {
    /// No gateway of that name.
    #[error("no such gateway")]
    UnknownGateway,
    /// Unsigned, badly signed or stale.
    #[error("bad signature")]
    Signature,
    /// Not readable.
    #[error("malformed")]
    Malformed,
    /// For no payment of ours.
    #[error("unknown payment")]
    UnknownPayment,
    /// Another amount or currency than the payment's.
    #[error("amount or currency differs from the order")]
    AmountMismatch,
    /// The portal could not record it (the gateway will retry).
    #[error("could not record")]
    Internal,
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweptPayments {
    /// Gateway payments asked about.
    pub queried: usize,
    /// Of those, now decided.
    pub settled: usize,
    /// Attempts closed as expired (abandoned pages, challans past their validity).
    pub expired: usize,
    /// Refunds paid out or refused by the gateway.
    pub refunds: usize,
}

impl Payments {
    /// Whether card and net banking can be offered.
    pub fn online(&self) -> bool {
        self.gateway.is_some()
    }

    /// The origins a paying page may send the browser to (the gateway's pages).
    pub fn page_origins(&self) -> Vec<String> {
        self.gateway
            .as_ref()
            .map(|g| g.page_origins())
            .unwrap_or_default()
    }

    /// The header in which the gateway `name` signs its notifications.
    pub fn signature_header(&self, name: &str) -> Option<&'static str> {
        self.gateway
            .as_ref()
            .filter(|g| g.name() == name)
            .and_then(|g| g.signature_header())
    }

    /// The channels a payer may choose.
    pub fn channels(&self) -> Vec<PayChannel> {
        let mut out = Vec::new();
        if self.gateway.is_some() {
            out.extend([PayChannel::Upi, PayChannel::Card, PayChannel::NetBanking]);
        }
        if self.config.payments.challan {
            out.push(PayChannel::Challan);
        }
        out
    }

    async fn load(&self, order: Order) -> AppResult<Payment> {
        let mut conn = self.store.read().await?;
        let events = store::events(&mut conn, &order.id).await?;
        let attempts = store::attempts_of(&mut conn, &order.id).await?;
        let view = OrderView::fold(&events.into_iter().map(|e| e.event).collect::<Vec<_>>());
        Ok(Payment {
            order,
            view,
            attempts,
        })
    }

    /// The payment of one of `owner`'s applications (none when nothing is owed).
    pub async fn of_application(
        &self,
        owner: &UserId,
        application: &ApplicationId,
    ) -> AppResult<Option<Payment>> {
        let order =
            store::order_of_application(&mut *self.store.read().await?, application).await?;
        match order {
            Some(o) if &o.owner_id == owner => Ok(Some(self.load(o).await?)),
            Some(_) => Err(AppError::NotFound),
            None => Ok(None),
        }
    }

    /// The payment of an application whoever owns it (staff at a centre, the CLI).
    pub async fn of_application_any(
        &self,
        application: &ApplicationId,
    ) -> AppResult<Option<Payment>> {
        let order =
            store::order_of_application(&mut *self.store.read().await?, application).await?;
        match order {
            Some(o) => Ok(Some(self.load(o).await?)),
            None => Ok(None),
        }
    }

    /// `owner`'s payments, newest first.
    pub async fn history(&self, owner: &UserId) -> AppResult<Vec<Payment>> {
        let orders = store::orders_of(&mut *self.store.read().await?, owner, 100).await?;
        let mut out = Vec::with_capacity(orders.len());
        for o in orders {
            out.push(self.load(o).await?);
        }
        Ok(out)
    }

    /// One attempt of one of `owner`'s orders, with its order (for receipts and challans).
    pub async fn attempt_of(&self, owner: &UserId, attempt: &str) -> AppResult<(Payment, Attempt)> {
        let mut conn = self.store.read().await?;
        let a = store::attempt(&mut conn, attempt)
            .await?
            .ok_or(AppError::NotFound)?;
        let order = store::order(&mut conn, &a.order_id)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(conn);
        if &order.owner_id != owner {
            return Err(AppError::NotFound);
        }
        Ok((self.load(order).await?, a))
    }

    /// Who pays an application's order (none when nothing is owed).
    pub async fn payer(&self, application: &str) -> AppResult<Option<Payer>> {
        let order =
            store::order_of_application(&mut *self.store.read().await?, application).await?;
        match order {
            Some(o) => Ok(Some(self.payer_of(&o.id).await?)),
            None => Ok(None),
        }
    }

    /// An attempt and what its ledger says of it (for the appointment it pays for).
    pub async fn attempt_status(
        &self,
        attempt: &str,
    ) -> AppResult<Option<(Attempt, ekdwar_domain::payments::AttemptStatus)>> {
        let mut conn = self.store.read().await?;
        let Some(a) = store::attempt(&mut conn, attempt).await? else {
            return Ok(None);
        };
        let events = store::events(&mut conn, &a.order_id).await?;
        drop(conn);
        let view = OrderView::fold(&events.into_iter().map(|e| e.event).collect::<Vec<_>>());
        let status = view
            .attempt(&a.id)
            .map(|v| v.status)
            .ok_or_else(|| internal("an attempt missing from its ledger"))?;
        Ok(Some((a, status)))
    }

    /// Who pays an order, in what language, for which ARN.
    async fn payer_of(&self, order: &str) -> AppResult<Payer> {
        let order = store::order(&mut *self.store.read().await?, order)
            .await?
            .ok_or_else(|| internal("an attempt without its order"))?;
        let account = self.identity_of(&order.owner_id).await?;
        let lang = account
            .as_ref()
            .map(|o| self.language_of(o))
            .unwrap_or_else(|| self.default_lang.clone());
        let arn = self.arn_of(&order.application_id).await?;
        Ok(Payer {
            order,
            account,
            lang,
            arn,
        })
    }

    async fn identity_of(&self, owner: &UserId) -> AppResult<Option<AccountView>> {
        self.identity.admin_find_user(owner.as_str()).await
    }

    async fn arn_of(&self, application: &str) -> AppResult<String> {
        let a = ekdwar_store::applications::by_id(
            &mut *self.store.read().await?,
            &ApplicationId::new(application),
        )
        .await?;
        Ok(a.and_then(|a| a.arn)
            .and_then(|a| ekdwar_domain::catalog::Arn::parse(&a).ok())
            .map(|a| a.to_string())
            .unwrap_or_default())
    }

    /// The day's ledger (a calendar day in the portal's time zone), for reconciliation.
    pub async fn report(&self, day: jiff::civil::Date) -> AppResult<DailyReport> {
        let start = day
            .to_zoned(self.time_zone.clone())
            .map_err(internal)?
            .timestamp()
            .as_millisecond();
        let end = day
            .tomorrow()
            .map_err(internal)?
            .to_zoned(self.time_zone.clone())
            .map_err(internal)?
            .timestamp()
            .as_millisecond();
        let events = store::events_between(
            &mut *self.store.read().await?,
            Timestamp::from_millis(start),
            Timestamp::from_millis(end),
        )
        .await?;
        Ok(DailyReport::of(day, &events))
    }
}
