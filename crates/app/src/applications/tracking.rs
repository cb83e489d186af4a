//! Tracking an application without logging in (Passport Seva: service, ARN and date of
//! birth), and receipts anyone can verify by their QR code.

use ekdwar_domain::catalog::answers::{self};
use ekdwar_domain::catalog::{Arn, DeliveryKind, Texts};
use ekdwar_store::applications::{self as store};

use crate::error::{AppError, AppResult};

use super::{Applications, Loaded};

/// What tracking without logging in shows: never the application's contents.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// The reference number.
    pub arn: Arn,
    /// The service's name.
    pub service: Texts,
    /// The state's label.
    pub state: Option<Texts>,
    /// When it was submitted.
    pub submitted_at: Option<ekdwar_domain::Timestamp>,
    /// The applicant's name, masked (`A••• K•••`).
    pub masked_name: String,
    /// Its places in waiting lists, if it waits.
    pub places: Vec<super::Place>,
    /// The zone its times are shown in.
    pub zone: jiff::tz::TimeZone,
    /// What the applicant does next, when it waits for them (a correction, an offer).
    pub next_step: Option<Texts>,
    /// The application and whose it is: for the pages to add its fee and visit, never shown.
    pub id: ekdwar_domain::ApplicationId,
    pub owner: ekdwar_domain::UserId,
}

impl Tracked {
    fn of(
        loaded: &Loaded,
        name: &str,
        places: Vec<super::Place>,
        zone: jiff::tz::TimeZone,
        arn: Arn,
    ) -> Self {
        Tracked {
            masked_name: mask(name),
            places,
            zone,
            state: loaded.state_label().cloned(),
            service: loaded.service.name.clone(),
            submitted_at: loaded.submitted_at,
            arn,
            next_step: loaded.next_step().cloned(),
            id: loaded.id.clone(),
            owner: loaded.owner.clone(),
        }
    }
}

/// Each word's first letter, the rest hidden.
pub fn mask(name: &str) -> String {
    name.split_whitespace()
        .map(|w| {
            let first: String = w.chars().take(1).collect();
            format!("{first}•••")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The count of failed tracking over the whole portal.
const TRACK_PORTAL_KEY: &str = "track:all";

impl Applications {
    /// Tracks an application without logging in (Passport Seva): the file number (ARN) and
    /// the applicant's date of birth must match, and the service too when one is chosen. Each
    /// try spends a challenge; a wrong combination says only that nothing matches, whichever
    /// part was wrong. The date of birth is the secret, so every try counts as a failure on
    /// the file number and on the address before anything is looked up (whether the number
    /// exists or not), with back-off and an hourly cap: once either is locked even the right
    /// answer is refused until it frees. A match gives the counts back.
    pub async fn track(
        &self,
        service: &str,
        arn: &str,
        birth_date: &str,
        challenge: &crate::captcha::ChallengeAnswer,
        actor: &crate::audit::Actor,
    ) -> AppResult<Tracked> {
        // A mistyped number or date is caught before the challenge is used: a typo costs no
        // new challenge.
        let arn = Arn::parse(arn).map_err(|_| AppError::field("arn", "arn-invalid"))?;
        let born = answers::parse_date(birth_date)
            .ok_or_else(|| AppError::field("birth_date", "form-date"))?;
        self.check_challenge(challenge).await?;
        let now = self.clock.now();
        let mut keys = vec![(format!("track:arn:{arn}"), self.track_number_throttle())];
        if let Some(ip) = &actor.ip {
            keys.push((
                format!("track:ip:{}", crate::security::address_key(ip)),
                self.track_address_throttle(),
            ));
        }
        let per_hour = self.config.security.track_failures_per_hour;
        let mut conn = self.store.conn().await?;
        if let Some(until) = self
            .quota_used_up(&mut conn, TRACK_PORTAL_KEY, per_hour, now)
            .await?
        {
            return Err(crate::limits::throttled(until, now));
        }
        let started = self
            .count_failures(&mut conn, &keys, now)
            .await?
            .map_err(|until| crate::limits::throttled(until, now))?;
        let found = store::by_arn(&mut conn, arn.as_str())
            .await?
            .filter(|a| service.is_empty() || a.service == service)
            .filter(|a| {
                a.birth_date
                    .as_deref()
                    .and_then(|d| d.parse::<jiff::civil::Date>().ok())
                    == Some(born)
            });
        let Some(found) = found else {
            if let Err(until) = self
                .take_quota(&mut conn, TRACK_PORTAL_KEY, per_hour, now)
                .await?
            {
                tracing::error!(
                    alert = true,
                    until = until.millis(),
                    "the portal-wide ceiling on failed tracking is reached: tracking waits"
                );
            }
            drop(conn);
            if started.contains(&true) {
                self.metrics.lockouts.inc();
                let mut work = self.work().await?;
                self.audit(
                    &mut work,
                    actor,
                    None,
                    ekdwar_domain::audit::AuditAction::Lockout,
                    ekdwar_domain::audit::Outcome::Denied,
                    Some(format!("track {arn}")),
                )
                .await?;
                work.commit().await?;
            }
            return Err(AppError::field("arn", "track-no-match"));
        };
        for (key, _) in &keys {
            self.give_back(&mut conn, key).await?;
        }
        drop(conn);
        let loaded = self.load(found).await?;
        let name = self.applicant_name(&loaded).await?;
        let places = self.places_of(&loaded).await?;
        Ok(Tracked::of(&loaded, &name, places, self.zone(&loaded), arn))
    }

    /// The token a receipt's QR code carries: the ARN and a MAC of it under the server key,
    /// so that the public verification page answers only for receipts this portal issued
    /// (an ARN alone, which is printed and told on the phone, shows nothing there).
    pub fn receipt_token(&self, arn: &Arn) -> String {
        let mac = self.key.sign(&[b"receipt", arn.as_str().as_bytes()]);
        // The compact form: a URL with spaces breaks in scanners that stop at a space.
        format!(
            "{}.{}",
            arn.as_str(),
            base64::Engine::encode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                &mac[..16]
            )
        )
    }

    /// What a receipt's token verifies: only the ARN, service, status, date and masked name.
    /// A token this portal did not issue, or for no application, is not found.
    pub async fn verify_receipt(&self, token: &str) -> AppResult<Tracked> {
        let (arn, mac) = token.split_once('.').ok_or(AppError::NotFound)?;
        let arn = Arn::parse(arn).map_err(|_| AppError::NotFound)?;
        let expected = self.receipt_token(&arn);
        if !crate::security::constant_time_eq(
            expected.as_bytes(),
            format!("{}.{mac}", arn.as_str()).as_bytes(),
        ) {
            return Err(AppError::NotFound);
        }
        let found = store::by_arn(&mut *self.store.read().await?, arn.as_str())
            .await?
            .ok_or(AppError::NotFound)?;
        let loaded = self.load(found).await?;
        let name = self.applicant_name(&loaded).await?;
        let places = self.places_of(&loaded).await?;
        Ok(Tracked::of(&loaded, &name, places, self.zone(&loaded), arn))
    }

    /// The services an application can be tracked for (those applied for here).
    pub fn trackable(&self) -> Vec<(String, Texts)> {
        self.catalog
            .snapshot()
            .offered(None)
            .filter(|s| s.delivery.kind == DeliveryKind::Online)
            .map(|s| (s.code.clone(), s.name.clone()))
            .collect()
    }
}
