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
}

impl Tracked {
    fn of(loaded: &Loaded, arn: Arn) -> Self {
        Tracked {
            masked_name: mask(&loaded.applicant_name()),
            state: loaded.state_label().cloned(),
            service: loaded.service.name.clone(),
            submitted_at: loaded.submitted_at,
            arn,
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

impl Applications {
    /// Tracks an application without logging in (Passport Seva): the service, the file number
    /// (ARN) and the applicant's date of birth must all match. Each try spends a challenge;
    /// a wrong combination says only that nothing matches, whichever part was wrong.
    pub async fn track(
        &self,
        service: &str,
        arn: &str,
        birth_date: &str,
        challenge: &crate::captcha::ChallengeAnswer,
    ) -> AppResult<Tracked> {
        self.check_challenge(challenge).await?;
        let arn = Arn::parse(arn).map_err(|_| AppError::field("arn", "arn-invalid"))?;
        let born = answers::parse_date(birth_date)
            .ok_or_else(|| AppError::field("birth_date", "form-date"))?;
        let nothing = || AppError::field("arn", "track-no-match");
        let found = store::by_arn(&mut *self.store.read().await?, arn.as_str())
            .await?
            .filter(|a| a.service == service)
            .filter(|a| {
                a.birth_date
                    .as_deref()
                    .and_then(|d| d.parse::<jiff::civil::Date>().ok())
                    == Some(born)
            })
            .ok_or_else(nothing)?;
        let loaded = self.load(found).await?;
        Ok(Tracked::of(&loaded, arn))
    }

    /// The token a receipt's QR code carries: the ARN and a MAC of it under the server key,
    /// so that the public verification page answers only for receipts this portal issued
    /// (an ARN alone, which is printed and told on the phone, shows nothing there).
    pub fn receipt_token(&self, arn: &Arn) -> String {
        let mac = self.key.sign(&[b"receipt", arn.as_str().as_bytes()]);
        format!(
            "{arn}.{}",
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
            format!("{arn}.{mac}").as_bytes(),
        ) {
            return Err(AppError::NotFound);
        }
        let found = store::by_arn(&mut *self.store.read().await?, arn.as_str())
            .await?
            .ok_or(AppError::NotFound)?;
        let loaded = self.load(found).await?;
        Ok(Tracked::of(&loaded, arn))
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
