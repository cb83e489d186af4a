//! Documents agencies issue into lockers, pushed through the issuer API (DigiLocker's push,
//! `docs/locker.md`): a form whose raw body is authenticated by `x-digilocker-hmac`
//! (Base64 HMAC-SHA256 under the issuer's API key), fresh by its `ts`, naming the person by
//! locker id or Aadhaar, and carrying the PDF with the issuer's ES256 signature over it. The
//! signature is checked on arrival with the issuer's configured public key; a document that
//! does not verify is refused and nothing is kept.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ekdwar_domain::UserId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::locker::{DocumentUri, FileKind, LockerId, PushAction, parse_push_date};
use ekdwar_domain::national_id::{Aadhaar, IdKind};
use ekdwar_store::identifiers;
use ekdwar_store::locker::{self as store, StoredDocument};
use sha2::{Digest, Sha256};

use super::blobs::{DocKey, Part};
use super::{IssuedFacts, Locker, Secrets, Source, context};
use crate::audit::Actor;
use crate::config::IssuerConfig;
use crate::error::AppResult;

/// How old a push's `ts` may be (DigiLocker: 30 minutes), and how far ahead a clock may run.
const TS_PAST: Duration = Duration::from_secs(30 * 60);
const TS_FUTURE: Duration = Duration::from_secs(5 * 60);
/// The largest pushed document.
const MAX_PUSHED: usize = 10 * 1024 * 1024;

/// Why a push was refused: a stable code an issuer's system can act on, and its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRefusal {
    /// No issuer with this `clientid`.
    UnknownClient,
    /// The HMAC is missing or does not match the body.
    InvalidHmac,
    /// `ts` is missing, malformed, too old or in the future.
    StaleTs,
    /// A field is missing or malformed.
    InvalidRequest,
    /// The URI is malformed, or not this issuer's, or of a type it does not issue.
    InvalidUri,
    /// No locker with this id (or no account holds this Aadhaar number).
    InvalidLockerId,
    /// A document with this URI exists already.
    UriExists,
    /// No document with this URI (update, delete).
    RecordNotFound,
    /// The document is not a PDF, or larger than 10 MiB.
    InvalidDocument,
    /// The issuer's signature over the document does not verify.
    InvalidSignature,
}

impl PushRefusal {
    /// The code in the answer (DigiLocker's where it has one).
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownClient => "unknown_client",
            Self::InvalidHmac => "invalid_hmac",
            Self::StaleTs => "stale_ts",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidUri => "invalid_uri",
            Self::InvalidLockerId => "invalid_digilocker_id",
            Self::UriExists => "uri_exists",
            Self::RecordNotFound => "record_not_found",
            Self::InvalidDocument => "invalid_document",
            Self::InvalidSignature => "invalid_signature",
        }
    }

    /// Its HTTP status.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Self::UnknownClient | Self::InvalidHmac | Self::StaleTs => 401,
            Self::RecordNotFound | Self::InvalidLockerId => 404,
            Self::UriExists => 409,
            _ => 400,
        }
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub uri: String,
    pub action: &'static str,
}

/// The form fields of a push.
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }
}

/// Checks an ES256 signature (DER or the 64-byte `r‖s` form, Base64) over `bytes`.
pub(super) fn signature_ok(public_pem: &str, bytes: &[u8], signature: &str) -> bool {
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePublicKey;
    let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_pem(public_pem) else {
        return false;
    };
    let Ok(raw) = STANDARD
        .decode(signature.trim())
        .or_else(|_| URL_SAFE_NO_PAD.decode(signature.trim()))
    else {
        return false;
    };
    let sig = p256::ecdsa::Signature::from_der(&raw)
        .or_else(|_| p256::ecdsa::Signature::from_slice(&raw));
    sig.is_ok_and(|s| key.verify(bytes, &s).is_ok())
}

/// Base64 HMAC-SHA256 of `body` under `key` (`x-digilocker-hmac`).
pub(super) fn hmac_b64(key: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `sent` is the Base64 HMAC-SHA256 of `body` under `key` (compared in constant time).
pub(super) fn hmac_ok(key: &str, body: &[u8], sent: Option<&str>) -> bool {
    use hmac::{Hmac, KeyInit, Mac};
    let Some(sent) = sent.and_then(|s| STANDARD.decode(s.trim()).ok()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sent).is_ok()
}

fn iso(d: Option<jiff::civil::Date>) -> Option<String> {
    d.map(|d| d.to_string())
}

impl Locker {
    fn issuer(&self, client_id: &str) -> Option<&IssuerConfig> {
        self.config
            .locker
            .issuers
            .iter()
            .find(|i| i.client_id == client_id)
    }

    /// The locker id of `owner`, made on first use (shown on their locker page, for agencies).
    pub async fn locker_id(&self, owner: &UserId) -> AppResult<String> {
        if let Some(id) = store::locker_id(&mut *self.store.read().await?, owner).await? {
            return Ok(id);
        }
        let mut b = [0u8; 16];
        self.random.fill(&mut b);
        let mut work = self.work().await?;
        let id =
            store::ensure_locker_id(&mut work, owner, LockerId::from_random(b).as_str()).await?;
        work.commit().await?;
        Ok(id)
    }

    /// The person a push names: by locker id, else by a checked Aadhaar number.
    async fn addressee(&self, f: &Fields) -> AppResult<Option<UserId>> {
        let mut conn = self.store.read().await?;
        if let Some(id) = f.get("digilockerid").and_then(LockerId::parse) {
            return Ok(store::owner_of_locker(&mut conn, id.as_str()).await?);
        }
        if let Some(a) = f.get("uid").and_then(|u| Aadhaar::parse(u).ok()) {
            let blind = self.vault.blind(IdKind::Aadhaar.as_str(), a.as_str());
            return Ok(identifiers::holder(&mut conn, &blind).await?);
        }
        Ok(None)
    }

    /// Handles one push from an issuer: `body` is the raw request body, `hmac` its
    /// `x-digilocker-hmac` header.
    pub async fn push(
        &self,
        body: &[u8],
        hmac: Option<&str>,
    ) -> AppResult<Result<Pushed, PushRefusal>> {
        let f = Fields(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        );
        let Some(issuer) = f.get("clientid").and_then(|c| self.issuer(c)).cloned() else {
            return Ok(Err(PushRefusal::UnknownClient));
        };
        if !hmac_ok(issuer.api_key.expose(), body, hmac) {
            return Ok(Err(PushRefusal::InvalidHmac));
        }
        let now = self.clock.now();
        let fresh = f
            .get("ts")
            .and_then(|t| t.trim().parse::<i64>().ok())
            .map(|t| ekdwar_domain::Timestamp::from_millis(t.saturating_mul(1000)))
            .is_some_and(|t| t >= now.minus(TS_PAST) && t <= now.plus(TS_FUTURE));
        if !fresh {
            return Ok(Err(PushRefusal::StaleTs));
        }
        let Some(action) = f.get("action").and_then(PushAction::parse) else {
            return Ok(Err(PushRefusal::InvalidRequest));
        };
        let Some(uri) = f.get("uri").and_then(|u| DocumentUri::parse(u).ok()) else {
            return Ok(Err(PushRefusal::InvalidUri));
        };
        let type_ok = f
            .get("doctype")
            .is_none_or(|t| t == uri.doc_type().as_str())
            && (issuer.doc_types.is_empty()
                || issuer
                    .doc_types
                    .iter()
                    .any(|t| t == uri.doc_type().as_str()));
        if uri.issuer().as_str() != issuer.id || !type_ok {
            return Ok(Err(PushRefusal::InvalidUri));
        }
        let Some(owner) = self.addressee(&f).await? else {
            return Ok(Err(PushRefusal::InvalidLockerId));
        };
        let actor = Actor {
            user_id: Some(format!("issuer:{}", issuer.id)),
            ..Actor::command_line()
        };
        let existing = store::by_uri(&mut *self.store.read().await?, uri.as_str()).await?;
        match (action, &existing) {
            (PushAction::Add, Some(_)) => return Ok(Err(PushRefusal::UriExists)),
            (PushAction::Update | PushAction::Delete, None) => {
                return Ok(Err(PushRefusal::RecordNotFound));
            }
            (PushAction::Update | PushAction::Delete, Some(d)) if d.owner_id != owner => {
                return Ok(Err(PushRefusal::RecordNotFound));
            }
            (PushAction::Delete, Some(d)) => {
                self.delete(&owner, &d.id, &actor).await?;
                return Ok(Ok(Pushed {
                    uri: uri.to_string(),
                    action: "deleted",
                }));
            }
            _ => {}
        }
        // The document itself, and the issuer's signature over it.
        let Some(pdf) = f
            .get("doccontent")
            .and_then(|c| STANDARD.decode(c.trim()).ok())
            .filter(|b| b.len() <= MAX_PUSHED && FileKind::sniff(b) == Ok(FileKind::Pdf))
        else {
            return Ok(Err(PushRefusal::InvalidDocument));
        };
        if !f
            .get("docsignature")
            .is_some_and(|s| signature_ok(&issuer.public_key, &pdf, s))
        {
            return Ok(Err(PushRefusal::InvalidSignature));
        }
        let facts = IssuedFacts {
            issuer: issuer.name.clone(),
            issued_on: iso(f.get("issuedate").and_then(parse_push_date)),
            valid_from: iso(f.get("validfrom").and_then(parse_push_date)),
            valid_to: iso(f.get("validto").and_then(parse_push_date)),
        };
        let description = f
            .get("description")
            .map(|d| d.chars().take(120).collect::<String>())
            .unwrap_or_else(|| uri.doc_type().as_str().to_string());
        let stored = self
            .store_issued(
                &owner,
                &uri,
                &pdf,
                description,
                facts,
                existing.as_ref(),
                &actor,
            )
            .await?;
        if !stored {
            return Ok(Err(PushRefusal::UriExists));
        }
        Ok(Ok(Pushed {
            uri: uri.to_string(),
            action: if existing.is_some() {
                "updated"
            } else {
                "added"
            },
        }))
    }

    /// Seals and records an issued document (a new one, or a new version of `existing`), and
    /// tells its owner. False when another push of the URI won the race.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn store_issued(
        &self,
        owner: &UserId,
        uri: &DocumentUri,
        pdf: &[u8],
        description: String,
        facts: IssuedFacts,
        existing: Option<&StoredDocument>,
        actor: &Actor,
    ) -> AppResult<bool> {
        let now = self.clock.now();
        let id = existing.map_or_else(|| self.random.token(18), |d| d.id.clone());
        let object_key = format!("d/{}", self.random.token(18));
        {
            let mut work = self.work().await?;
            store::orphan(&mut work, &object_key, now.plus(super::UPLOAD_GRACE)).await?;
            work.commit().await?;
        }
        let mut secret = [0u8; 32];
        self.random.fill(&mut secret);
        let key = DocKey::new(&secret, &context(&id), Part::File)?;
        if let Err(e) = self.blobs.put(&object_key, key, pdf).await {
            self.discard(&object_key).await;
            return Err(e);
        }
        let file_name = format!("{}.pdf", uri.doc_id());
        let secrets = Secrets {
            key: URL_SAFE_NO_PAD.encode(secret),
            description: description.clone(),
            folder: String::new(),
            file_name,
            issued: Some(facts),
        };
        let mut work = self.work().await?;
        let sealed = self.seal_secrets(&mut work, &id, &secrets).await?;
        let doc = StoredDocument {
            id: id.clone(),
            owner_id: owner.clone(),
            source: Source::Issued.as_str().into(),
            uri: Some(uri.to_string()),
            doc_type: Some(uri.doc_type().as_str().to_string()),
            issuer_id: Some(uri.issuer().as_str().to_string()),
            mime: FileKind::Pdf.mime().into(),
            size: i64::try_from(pdf.len()).unwrap_or(i64::MAX),
            sha256: hex::encode(Sha256::digest(pdf)),
            object_key: object_key.clone(),
            key_id: sealed.key_id,
            sealed: sealed.text,
            thumbnail_key: None,
            created_at: now,
        };
        match existing {
            Some(old) => store::replace(&mut work, &doc, &old.object_key, now).await?,
            None => {
                if !store::insert(&mut work, &doc).await? {
                    drop(work);
                    self.discard(&object_key).await;
                    return Ok(false);
                }
            }
        }
        self.audit(
            &mut work,
            actor,
            Some(owner.as_str()),
            AuditAction::DocumentIssued,
            Outcome::Success,
            Some(uri.to_string()),
        )
        .await?;
        if let Some(account) = self.identity.admin_find_user(owner.as_str()).await? {
            self.tell_with(
                &mut work,
                &account,
                &self.default_lang.clone(),
                "document-issued",
                vec![("document", description)],
            )
            .await?;
        }
        work.commit().await?;
        if let Some(old) = existing {
            self.discard(&old.object_key).await;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;

    #[test]
    fn signatures_and_hmacs() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let pem = sk
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let sig: p256::ecdsa::Signature = sk.sign(b"%PDF-1.7 a marksheet");
        let der = STANDARD.encode(sig.to_der().as_bytes());
        let raw = STANDARD.encode(sig.to_bytes());
        assert!(signature_ok(&pem, b"%PDF-1.7 a marksheet", &der));
        assert!(signature_ok(&pem, b"%PDF-1.7 a marksheet", &raw));
        assert!(!signature_ok(&pem, b"%PDF-1.7 a marksheet!", &der));
        assert!(!signature_ok(&pem, b"x", "not base64"));
        assert!(!signature_ok("not a key", b"x", &der));

        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"api-key").unwrap();
        mac.update(b"a=1&b=2");
        let good = STANDARD.encode(mac.finalize().into_bytes());
        assert!(hmac_ok("api-key", b"a=1&b=2", Some(&good)));
        assert!(!hmac_ok("api-key", b"a=1&b=3", Some(&good)));
        assert!(!hmac_ok("other", b"a=1&b=2", Some(&good)));
        assert!(!hmac_ok("api-key", b"a=1&b=2", None));
    }
}
