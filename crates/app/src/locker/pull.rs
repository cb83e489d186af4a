//! A citizen fetches a document from its issuer ("get my class XII marksheet"): the locker
//! sends the issuer's Pull URI endpoint a `<PullURIRequest>` (DigiLocker's shape) naming the
//! document type, the search field (`UDF1`: a roll number), the person's name and date of
//! birth, signed with `x-digilocker-hmac`. The answer must carry the same signature, the same
//! transaction, a fresh `ts`, the same name and date of birth, a URI of this issuer and type,
//! and a PDF whose ES256 signature verifies; only then is the document kept. Untrusted XML is
//! read with `roxmltree` (no DTD, no external entities).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ekdwar_domain::UserId;
use ekdwar_domain::locker::{DocumentUri, FileKind};
use ekdwar_store::locker as store;

use super::issued::{hmac_b64, hmac_ok, signature_ok};
use super::{IssuedFacts, Locker};
use crate::audit::Actor;
use crate::config::IssuerConfig;
use crate::error::{AppError, AppResult};

/// How old an issuer's answer may be.
const ANSWER_AGE: Duration = Duration::from_secs(30 * 60);

/// What a pull found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pulled {
    /// The document is in the locker now (or was already): its id.
    Kept(String),
    /// The issuer is still looking; the person may ask again later.
    Pending,
    /// No document of the issuer matches what was typed.
    NotFound,
    /// The issuer did not answer, or answered what cannot be trusted.
    Unavailable,
}

/// A document type a person may fetch: its issuer's id and name, and the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pullable {
    pub issuer_id: String,
    pub issuer: String,
    pub doc_type: String,
}

/// What a person asks an issuer for.
#[derive(Debug, Clone)]
pub struct PullRequest {
    pub issuer_id: String,
    pub doc_type: String,
    /// The search field (a roll or registration number).
    pub number: String,
    pub full_name: String,
    pub birth_date: jiff::civil::Date,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    norm(a) == norm(b)
}

impl Locker {
    /// The document types people may fetch from their issuers.
    #[must_use]
    pub fn pullable(&self) -> Vec<Pullable> {
        self.config
            .locker
            .issuers
            .iter()
            .filter(|i| i.pull_url.is_some())
            .flat_map(|i| {
                i.doc_types.iter().map(|t| Pullable {
                    issuer_id: i.id.clone(),
                    issuer: i.name.clone(),
                    doc_type: t.clone(),
                })
            })
            .collect()
    }

    /// Asks the issuer for the document `r` describes and, if its answer holds, keeps it in
    /// `owner`'s locker.
    pub async fn pull(&self, owner: &UserId, actor: &Actor, r: &PullRequest) -> AppResult<Pulled> {
        let Some(issuer) = self
            .config
            .locker
            .issuers
            .iter()
            .find(|i| i.id == r.issuer_id && i.doc_types.contains(&r.doc_type))
            .cloned()
        else {
            return Err(AppError::field("document", "locker-pull-unknown"));
        };
        let Some(url) = issuer.pull_url.clone() else {
            return Err(AppError::field("document", "locker-pull-unknown"));
        };
        let number = r.number.trim();
        if number.is_empty() || number.len() > 40 || number.chars().any(char::is_control) {
            return Err(AppError::field("number", "locker-pull-number"));
        }
        let locker_id = self.locker_id(owner).await?;
        let txn = self.random.token(12);
        let dob = format!(
            "{:02}-{:02}-{:04}",
            r.birth_date.day(),
            r.birth_date.month(),
            r.birth_date.year()
        );
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PullURIRequest ver=\"1.0\" ts=\"{}\" \
             txn=\"{txn}\" orgId=\"{}\" format=\"pdf\"><DocDetails><DocType>{}</DocType>\
             <DigiLockerId>{locker_id}</DigiLockerId><FullName>{}</FullName><DOB>{dob}</DOB>\
             <UDF1>{}</UDF1></DocDetails></PullURIRequest>\n",
            self.clock.now().millis() / 1000,
            escape(&issuer.id),
            escape(&r.doc_type),
            escape(&r.full_name),
            escape(number),
        );
        let sent = self
            .http
            .post(&url)
            .timeout(Duration::from_millis(self.config.locker.pull_timeout_ms))
            .header("content-type", "application/xml")
            .header(
                "x-digilocker-hmac",
                hmac_b64(issuer.api_key.expose(), body.as_bytes()),
            )
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(resp) if resp.status().is_success() => {
                let mac = resp
                    .headers()
                    .get("x-digilocker-hmac")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                match resp.bytes().await {
                    Ok(b) if b.len() <= 16 * 1024 * 1024 => (b, mac),
                    _ => return Ok(Pulled::Unavailable),
                }
            }
            Ok(resp) => {
                tracing::warn!(issuer = %issuer.id, status = %resp.status(), "the issuer refused a pull");
                return Ok(Pulled::Unavailable);
            }
            Err(e) => {
                tracing::warn!(issuer = %issuer.id, error = %e, "the issuer did not answer a pull");
                return Ok(Pulled::Unavailable);
            }
        };
        let (bytes, mac) = answer;
        if !hmac_ok(issuer.api_key.expose(), &bytes, mac.as_deref()) {
            tracing::warn!(issuer = %issuer.id, "a pull's answer is not signed with the issuer's key");
            return Ok(Pulled::Unavailable);
        }
        match self.read_answer(&issuer, r, &txn, &bytes) {
            Ok(Answer::Found {
                uri,
                pdf,
                description,
            }) => {
                self.keep_pulled(owner, actor, &issuer, &uri, &pdf, description)
                    .await
            }
            Ok(Answer::Pending) => Ok(Pulled::Pending),
            Ok(Answer::None) => Ok(Pulled::NotFound),
            Err(why) => {
                tracing::warn!(issuer = %issuer.id, why, "a pull's answer was refused");
                Ok(Pulled::Unavailable)
            }
        }
    }

    /// Reads and checks an issuer's answer.
    fn read_answer(
        &self,
        issuer: &IssuerConfig,
        r: &PullRequest,
        txn: &str,
        bytes: &[u8],
    ) -> Result<Answer, &'static str> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8")?;
        let doc = roxmltree::Document::parse(text).map_err(|_| "not XML")?;
        let root = doc.root_element();
        if !root.has_tag_name("PullURIResponse") {
            return Err("not a PullURIResponse");
        }
        let status = root
            .descendants()
            .find(|n| n.has_tag_name("ResponseStatus"))
            .ok_or("no ResponseStatus")?;
        if status.attribute("txn") != Some(txn) {
            return Err("another transaction's answer");
        }
        let ts = status
            .attribute("ts")
            .and_then(|t| t.parse::<i64>().ok())
            .map(|t| ekdwar_domain::Timestamp::from_millis(t.saturating_mul(1000)))
            .ok_or("no ts")?;
        let now = self.clock.now();
        if ts < now.minus(ANSWER_AGE) || ts > now.plus(Duration::from_secs(300)) {
            return Err("a stale answer");
        }
        match status.attribute("Status") {
            Some("9") => return Ok(Answer::Pending),
            Some("0") => return Ok(Answer::None),
            Some("1") => {}
            _ => return Err("an unknown status"),
        }
        let field = |name: &str| {
            root.descendants()
                .find(|n| n.has_tag_name(name))
                .and_then(|n| n.text())
                .map(str::trim)
                .unwrap_or("")
        };
        if !same_name(field("FullName"), &r.full_name) {
            return Err("the answer is for another name");
        }
        let uri = DocumentUri::parse(field("URI")).map_err(|_| "a malformed URI")?;
        if uri.issuer().as_str() != issuer.id || uri.doc_type().as_str() != r.doc_type {
            return Err("a URI of another issuer or type");
        }
        let pdf = STANDARD
            .decode(field("DocContent"))
            .map_err(|_| "DocContent is not base64")?;
        if pdf.len() > 10 * 1024 * 1024 || FileKind::sniff(&pdf) != Ok(FileKind::Pdf) {
            return Err("DocContent is not a PDF of at most 10 MiB");
        }
        if !signature_ok(&issuer.public_key, &pdf, field("DocSignature")) {
            return Err("the document's signature does not verify");
        }
        let description = match field("Description") {
            "" => r.doc_type.clone(),
            d => d.chars().take(120).collect(),
        };
        Ok(Answer::Found {
            uri,
            pdf,
            description,
        })
    }

    async fn keep_pulled(
        &self,
        owner: &UserId,
        actor: &Actor,
        issuer: &IssuerConfig,
        uri: &DocumentUri,
        pdf: &[u8],
        description: String,
    ) -> AppResult<Pulled> {
        if let Some(d) = store::by_uri(&mut *self.store.read().await?, uri.as_str()).await? {
            // Fetched before: the same document, unless it is in another person's locker.
            return Ok(if &d.owner_id == owner {
                Pulled::Kept(d.id)
            } else {
                Pulled::NotFound
            });
        }
        let facts = IssuedFacts {
            issuer: issuer.name.clone(),
            issued_on: None,
            valid_from: None,
            valid_to: None,
        };
        if !self
            .store_issued(owner, uri, pdf, description, facts, None, actor)
            .await?
        {
            return Ok(Pulled::NotFound);
        }
        match store::by_uri(&mut *self.store.read().await?, uri.as_str()).await? {
            Some(d) => Ok(Pulled::Kept(d.id)),
            None => Ok(Pulled::NotFound),
        }
    }
}

enum Answer {
    Found {
        uri: DocumentUri,
        pdf: Vec<u8>,
        description: String,
    },
    Pending,
    None,
}
