//! The registry connector port, and its adapter for the registry connector protocol
//! (`docs/registries.md`): one signed `POST {url}/v1/checks` per ask. The same `request_id`
//! asked again answers the same check's current state, so a retry or a poll is the same call.
//! Requests and answers carry `Ekdwar-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
//! "<t>." + body)>`; an answer that is not signed by the registry's secret is refused. The
//! signature's time is the wall clock (it is about two machines agreeing on freshness).

use std::collections::HashMap;
use std::time::Duration;

use ekdwar_domain::payments::signing::{self, SIGNATURE_HEADER, unix_now};
use ekdwar_domain::profile::{CheckItem, ProfileFacts};
use ekdwar_store::identity::User;
use serde::{Deserialize, Serialize};

use crate::config::RegistryConfig;
use crate::core::PortFuture;

/// The person a check is about, as the registry compares them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Person {
    pub last_name: String,
    pub first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<String>,
}

/// One ask of a registry: is this item this person's?
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CheckRequest {
    pub request_id: String,
    /// `document` or the identifier's kind (`snils`, `aadhaar`…).
    pub item: String,
    /// The document type, or the identifier's own kind (`vid` for a Virtual ID in the
    /// Aadhaar item).
    pub kind: String,
    pub person: Person,
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<String>,
}

impl std::fmt::Debug for CheckRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckRequest")
            .field("request_id", &self.request_id)
            .field("item", &self.item)
            .finish_non_exhaustive()
    }
}

impl CheckRequest {
    /// The ask for `item` of `facts`, about `user`.
    pub fn of(user: &User, facts: &ProfileFacts, item: CheckItem, request_id: String) -> Self {
        let person = Person {
            last_name: user.last_name.as_str().to_string(),
            first_name: user.first_name.as_str().to_string(),
            middle_name: facts.middle_name.clone(),
            birth_date: facts.birth_date.map(|d| d.to_string()),
            gender: facts.gender.map(|g| g.as_str().to_string()),
        };
        let (kind, number, series, issued_on) = match item {
            CheckItem::Document => {
                let d = facts.document.as_ref();
                (
                    d.map(|d| d.kind.clone()).unwrap_or_default(),
                    d.map(|d| d.number.clone()).unwrap_or_default(),
                    d.and_then(|d| d.series.clone()),
                    d.and_then(|d| d.issued_on).map(|d| d.to_string()),
                )
            }
            CheckItem::Id(k) => {
                let id = facts.id(k);
                (
                    id.as_ref()
                        .map(|i| i.kind().as_str())
                        .unwrap_or(k.as_str())
                        .to_string(),
                    facts.ids.get(&k).cloned().unwrap_or_default(),
                    None,
                    None,
                )
            }
        };
        Self {
            request_id,
            item: item.as_str().to_string(),
            kind,
            person,
            number,
            series,
            issued_on,
        }
    }
}

/// A registry's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAnswer {
    /// The record matches.
    Confirmed,
    /// The record differs in these fields (the protocol's names: `number`, `birth_date`…).
    Mismatch(Vec<String>),
    /// Not decided yet: ask again after this long.
    Pending(Duration),
    /// A person at the registry must look; the reason.
    Review(String),
}

/// The registry could not be asked or did not answer properly; the check is retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RegistryError(pub String);

/// An ask that the registry send its one-time code to the mobile linked to a number
/// (Aadhaar's OTP): `POST {url}/v1/otp`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OtpRequest {
    pub request_id: String,
    /// `aadhaar` or `vid`.
    pub kind: String,
    pub number: String,
    /// The mobile the person says is linked to it (E.164).
    pub mobile: String,
}

impl std::fmt::Debug for OtpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpRequest")
            .field("request_id", &self.request_id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What the registry did with an [`OtpRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpSent {
    /// The code went to the linked mobile; `txn` names the exchange.
    Sent { txn: String },
    /// The mobile is not the one linked to the number (or the number is unknown: the
    /// registry does not say which).
    NotLinked,
}

/// The code the person typed, for the registry to judge: `POST {url}/v1/otp/verify`.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OtpCheck {
    pub request_id: String,
    pub txn: String,
    pub otp: String,
}

impl std::fmt::Debug for OtpCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpCheck")
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

/// The registry's verdict on a typed code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtpVerdict {
    /// Right: the registry's record of the person (e-KYC: names, birth date, gender).
    Verified(Person),
    Wrong,
    /// Too late, or too many wrong codes: start again.
    Expired,
}

/// The state registries, as the checks see them.
pub trait Registries: Send + Sync {
    /// Asks `registry` about `req`.
    fn check<'a>(
        &'a self,
        registry: &'a str,
        req: &'a CheckRequest,
    ) -> PortFuture<'a, Result<RegistryAnswer, RegistryError>>;
    /// Asks `registry` to send its code to the mobile linked to a number.
    fn send_otp<'a>(
        &'a self,
        registry: &'a str,
        req: &'a OtpRequest,
    ) -> PortFuture<'a, Result<OtpSent, RegistryError>>;
    /// Asks `registry` whether the typed code is the one it sent.
    fn verify_otp<'a>(
        &'a self,
        registry: &'a str,
        req: &'a OtpCheck,
    ) -> PortFuture<'a, Result<OtpVerdict, RegistryError>>;
    /// How long `registry`'s checks usually take (minutes), as people are told.
    fn expected_minutes(&self, registry: &str) -> u64;
}

/// The registry connector protocol over HTTPS.
pub struct HttpRegistries {
    http: reqwest::Client,
    registries: HashMap<String, RegistryConfig>,
}

impl HttpRegistries {
    pub fn new(http: reqwest::Client, registries: &[RegistryConfig]) -> Self {
        Self {
            http,
            registries: registries
                .iter()
                .map(|r| (r.id.clone(), r.clone()))
                .collect(),
        }
    }
}

/// The protocol's answer body.
#[derive(Debug, Serialize, Deserialize)]
pub struct AnswerJson {
    pub request_id: String,
    /// `confirmed`, `mismatch`, `pending` or `review`.
    pub status: String,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Reads an answer to `request_id` (its signature already checked).
fn read_answer(body: &[u8], request_id: &str) -> Result<RegistryAnswer, RegistryError> {
    let a: AnswerJson = serde_json::from_slice(body)
        .map_err(|e| RegistryError(format!("the answer does not read: {e}")))?;
    if a.request_id != request_id {
        return Err(RegistryError("the answer is to another request".into()));
    }
    let known = |f: &String| {
        matches!(
            f.as_str(),
            "number"
                | "series"
                | "issued_on"
                | "last_name"
                | "first_name"
                | "middle_name"
                | "birth_date"
                | "gender"
        )
    };
    match a.status.as_str() {
        "confirmed" => Ok(RegistryAnswer::Confirmed),
        "mismatch" => Ok(RegistryAnswer::Mismatch(
            a.fields.into_iter().filter(known).collect(),
        )),
        "pending" => Ok(RegistryAnswer::Pending(Duration::from_secs(
            a.retry_after.unwrap_or(3600),
        ))),
        "review" => Ok(RegistryAnswer::Review(
            a.reason
                .filter(|r| r.len() <= 64 && r.bytes().all(|b| b.is_ascii_graphic()))
                .unwrap_or_else(|| "registry".into()),
        )),
        other => Err(RegistryError(format!("unknown status {other:?}"))),
    }
}

impl HttpRegistries {
    /// POSTs `body` to `registry`'s `path`, signed, and returns the answer's body once its
    /// signature is the registry's.
    async fn signed_post(
        &self,
        registry: &str,
        path: &str,
        body: Vec<u8>,
        request_id: &str,
    ) -> Result<Vec<u8>, RegistryError> {
        let r = self
            .registries
            .get(registry)
            .ok_or_else(|| RegistryError(format!("registry {registry} is not configured")))?;
        let signature = signing::sign(r.secret.expose().as_bytes(), unix_now(), &body);
        let resp = self
            .http
            .post(format!("{}{path}", r.url.trim_end_matches('/')))
            .timeout(Duration::from_millis(r.timeout_ms))
            .header("Content-Type", "application/json")
            .header("Ekdwar-Client", &r.client_id)
            .header("Ekdwar-Request-Id", request_id)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| RegistryError(format!("{registry} is unreachable: {e}")))?;
        let status = resp.status();
        let signature = resp
            .headers()
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = resp
            .bytes()
            .await
            .map_err(|e| RegistryError(format!("{registry}: {e}")))?;
        if !status.is_success() {
            return Err(RegistryError(format!("{registry} answered {status}")));
        }
        signed_by(r.secret.expose().as_bytes(), signature.as_deref(), &body)?;
        Ok(body.to_vec())
    }
}

/// Whether `body` carries a fresh signature by `secret`.
fn signed_by(secret: &[u8], signature: Option<&str>, body: &[u8]) -> Result<(), RegistryError> {
    let signature = signature.ok_or_else(|| RegistryError("the answer is not signed".into()))?;
    signing::verify(secret, signature, body, unix_now())
        .map_err(|e| RegistryError(format!("the answer's signature: {e}")))
}

/// The body of an answer about one-time codes.
#[derive(Debug, Deserialize)]
struct OtpJson {
    request_id: String,
    /// `sent`, `not-linked`; `verified`, `wrong`, `expired`.
    status: String,
    #[serde(default)]
    txn: Option<String>,
    #[serde(default)]
    person: Option<Person>,
}

fn read_otp(body: &[u8], request_id: &str) -> Result<OtpJson, RegistryError> {
    let a: OtpJson = serde_json::from_slice(body)
        .map_err(|e| RegistryError(format!("the answer does not read: {e}")))?;
    if a.request_id != request_id {
        return Err(RegistryError("the answer is to another request".into()));
    }
    Ok(a)
}

impl Registries for HttpRegistries {
    fn check<'a>(
        &'a self,
        registry: &'a str,
        req: &'a CheckRequest,
    ) -> PortFuture<'a, Result<RegistryAnswer, RegistryError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(req).map_err(|e| RegistryError(e.to_string()))?;
            let body = self
                .signed_post(registry, "/v1/checks", body, &req.request_id)
                .await?;
            read_answer(&body, &req.request_id)
        })
    }

    fn send_otp<'a>(
        &'a self,
        registry: &'a str,
        req: &'a OtpRequest,
    ) -> PortFuture<'a, Result<OtpSent, RegistryError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(req).map_err(|e| RegistryError(e.to_string()))?;
            let body = self
                .signed_post(registry, "/v1/otp", body, &req.request_id)
                .await?;
            let a = read_otp(&body, &req.request_id)?;
            match (a.status.as_str(), a.txn) {
                ("sent", Some(txn)) if !txn.is_empty() && txn.len() <= 128 => {
                    Ok(OtpSent::Sent { txn })
                }
                ("not-linked", _) => Ok(OtpSent::NotLinked),
                (other, _) => Err(RegistryError(format!("unknown status {other:?}"))),
            }
        })
    }

    fn verify_otp<'a>(
        &'a self,
        registry: &'a str,
        req: &'a OtpCheck,
    ) -> PortFuture<'a, Result<OtpVerdict, RegistryError>> {
        Box::pin(async move {
            let body = serde_json::to_vec(req).map_err(|e| RegistryError(e.to_string()))?;
            let body = self
                .signed_post(registry, "/v1/otp/verify", body, &req.request_id)
                .await?;
            let a = read_otp(&body, &req.request_id)?;
            match (a.status.as_str(), a.person) {
                ("verified", Some(p)) => Ok(OtpVerdict::Verified(p)),
                ("wrong", _) => Ok(OtpVerdict::Wrong),
                ("expired", _) => Ok(OtpVerdict::Expired),
                (other, _) => Err(RegistryError(format!("unknown status {other:?}"))),
            }
        })
    }

    fn expected_minutes(&self, registry: &str) -> u64 {
        self.registries
            .get(registry)
            .map_or(60, |r| r.expected_minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_signed_answer_to_this_request_is_read() {
        let body =
            br#"{"request_id":"rq-1","status":"mismatch","fields":["birth_date","<script>"]}"#;
        let good = signing::sign(b"s", unix_now(), body);
        assert!(signed_by(b"s", Some(&good), body).is_ok());
        assert_eq!(
            read_answer(body, "rq-1"),
            Ok(RegistryAnswer::Mismatch(vec!["birth_date".into()]))
        );
        assert!(read_answer(body, "rq-2").is_err());
        assert!(signed_by(b"other", Some(&good), body).is_err());
        assert!(signed_by(b"s", None, body).is_err());
        let stale = signing::sign(b"s", unix_now() - 3600, body);
        assert!(signed_by(b"s", Some(&stale), body).is_err());
        let pending = br#"{"request_id":"rq-1","status":"pending","retry_after":86400}"#;
        assert_eq!(
            read_answer(pending, "rq-1"),
            Ok(RegistryAnswer::Pending(Duration::from_secs(86400)))
        );
        let sent = br#"{"request_id":"rq-1","status":"sent","txn":"t-1"}"#;
        assert_eq!(read_otp(sent, "rq-1").unwrap().txn.as_deref(), Some("t-1"));
        assert!(read_otp(sent, "rq-9").is_err());
    }
}
