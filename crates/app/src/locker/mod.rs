//! The document locker: every person's documents, uploaded by them or issued by agencies.
//!
//! A document's bytes are sealed with a key of its own before they reach the object store
//! (`blobs`); the key, the description, the folder and the file name are sealed by the vault
//! in the document's record. A file is told by its content, streams in and out a chunk at a
//! time, and counts toward its owner's quota. Every opening of a document is in the security
//! log. An upload names its object as an orphan before writing it and clears that in the
//! transaction that records the document, so a crash at any point leaves nothing the sweep does
//! not remove.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_domain::locker::{Description, FileKind, Folder, LockerError, MAX_UPLOAD_BYTES};
use ekdwar_domain::{Timestamp, UserId};
use ekdwar_store::locker::{self as store, StoredDocument};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::Actor;
use crate::error::{AppError, AppResult, FieldError};
use crate::vault::Sealed;

pub mod blobs;
pub use blobs::Blobs;
mod issued;
pub use issued::{PushRefusal, Pushed};
mod pull;
pub use pull::{PullRequest, Pullable, Pulled};
mod shares;
pub use shares::{MAX_SHARE, NewLink, ShareView, Shared, UseView};

use blobs::{DocKey, Part};

/// How long an upload may take before the sweep may treat its object as abandoned.
const UPLOAD_GRACE: Duration = Duration::from_secs(60 * 60);
/// The longest file name kept, in characters.
const MAX_FILE_NAME: usize = 100;

crate::core::service!(
    /// The document locker.
    Locker,
    blobs: Blobs,
    // Issued documents are announced to their owner.
    identity: crate::identity::Identity,
    // Documents are fetched from their issuers.
    http: reqwest::Client
);

/// What the vault seals in a document's record.
#[derive(Serialize, Deserialize)]
struct Secrets {
    /// The document's key, base64url.
    key: String,
    description: String,
    folder: String,
    file_name: String,
    /// An issued document's facts, as its issuer sent them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued: Option<IssuedFacts>,
}

/// What an issuer says of a document it issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedFacts {
    /// The issuer's name.
    pub issuer: String,
    /// The issue date, `YYYY-MM-DD`.
    pub issued_on: Option<String>,
    /// Valid from, `YYYY-MM-DD`.
    pub valid_from: Option<String>,
    /// Valid to, `YYYY-MM-DD`.
    pub valid_to: Option<String>,
}

/// Where a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Its owner uploaded it.
    Uploaded,
    /// An agency issued it.
    Issued,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Uploaded => "uploaded",
            Self::Issued => "issued",
        }
    }
}

/// A document as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentView {
    pub id: String,
    pub owner_id: UserId,
    pub source: Source,
    pub description: String,
    pub folder: String,
    pub file_name: String,
    pub kind: FileKind,
    pub size: u64,
    pub sha256: String,
    pub created_at: Timestamp,
    /// An issued document's URI.
    pub uri: Option<String>,
    /// An issued document's issuer and dates.
    pub issued: Option<IssuedFacts>,
}

/// A document's file, opened: its record and its bytes as they stream.
pub struct OpenedFile {
    pub document: DocumentView,
    pub bytes: std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>,
}

impl std::fmt::Debug for OpenedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedFile")
            .field("document", &self.document)
            .finish_non_exhaustive()
    }
}

/// What a person types about a file they upload.
#[derive(Debug, Clone)]
pub struct UploadDetails {
    pub description: Description,
    pub folder: Folder,
    /// The name the browser gave the file (kept for downloads, never trusted for its type).
    pub file_name: String,
}

/// A person's locker: their documents and the space they take.
#[derive(Debug, Clone)]
pub struct LockerView {
    pub documents: Vec<DocumentView>,
    pub used: u64,
    pub quota: u64,
}

fn context(id: &str) -> String {
    format!("locker/{id}")
}

fn file_error(e: LockerError) -> AppError {
    AppError::Form(vec![FieldError::from_code("file", &e)])
}

/// A file name safe to hand back in a download: no path, no control characters, at most
/// [`MAX_FILE_NAME`] characters, the extension the content says.
fn clean_file_name(name: &str, kind: FileKind) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = base.rsplit_once('.').map_or(base, |(s, _)| s);
    let stem: String = stem
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '|' | '?' | '*'))
        .take(MAX_FILE_NAME)
        .collect();
    let stem = stem.trim();
    let stem = if stem.is_empty() { "document" } else { stem };
    format!("{stem}.{}", kind.extension())
}

impl Locker {
    fn quota(&self) -> u64 {
        self.config.locker.quota_mb.saturating_mul(1024 * 1024)
    }

    /// Stores a file `owner` uploads. `body` is the file as it arrives; it is refused, and
    /// nothing kept, when its content is not a PDF, JPEG or PNG, when it passes 10 MiB, or
    /// when it would take the owner past their quota. Returns the document's id.
    pub async fn upload<S, E>(
        &self,
        owner: &UserId,
        actor: &Actor,
        details: UploadDetails,
        mut body: S,
    ) -> AppResult<String>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let id = self.random.token(18);
        let object_key = format!("d/{id}");
        let now = self.clock.now();
        {
            let mut work = self.work().await?;
            store::orphan(&mut work, &object_key, now.plus(UPLOAD_GRACE)).await?;
            work.commit().await?;
        }
        let mut secret = [0u8; 32];
        self.random.fill(&mut secret);
        let mut writer = self
            .blobs
            .writer(
                &object_key,
                DocKey::new(&secret, &context(&id), Part::File)?,
            )
            .await?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(FileKind::SNIFF_BYTES);
        let mut kind = None;
        let outcome: AppResult<FileKind> = loop {
            let chunk = match body.next().await {
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    tracing::info!(error = %e, "an upload was cut short");
                    break Err(AppError::Form(vec![FieldError::new("file", "locker-cut")]));
                }
                None => {
                    break match kind {
                        Some(k) => Ok(k),
                        None => FileKind::sniff(&head).map_err(file_error),
                    };
                }
            };
            size += chunk.len() as u64;
            if size > MAX_UPLOAD_BYTES {
                break Err(file_error(LockerError::TooLarge));
            }
            if kind.is_none() {
                let want = FileKind::SNIFF_BYTES - head.len();
                head.extend_from_slice(&chunk[..want.min(chunk.len())]);
                if head.len() == FileKind::SNIFF_BYTES {
                    match FileKind::sniff(&head) {
                        Ok(k) => kind = Some(k),
                        Err(e) => break Err(file_error(e)),
                    }
                }
            }
            hasher.update(&chunk);
            if let Err(e) = writer.write(&chunk).await {
                break Err(e);
            }
        };
        let kind = match outcome {
            Ok(k) => k,
            Err(e) => {
                writer.abort().await;
                self.discard(&object_key).await;
                return Err(e);
            }
        };
        if let Err(e) = writer.finish().await {
            self.discard(&object_key).await;
            return Err(e);
        }
        match self
            .record(
                owner,
                actor,
                &id,
                &object_key,
                &secret,
                kind,
                size,
                hasher,
                details,
            )
            .await
        {
            Ok(()) => Ok(id),
            Err(e) => {
                self.discard(&object_key).await;
                Err(e)
            }
        }
    }

    /// Records an uploaded document, within its owner's quota.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        owner: &UserId,
        actor: &Actor,
        id: &str,
        object_key: &str,
        secret: &[u8; 32],
        kind: FileKind,
        size: u64,
        hasher: Sha256,
        details: UploadDetails,
    ) -> AppResult<()> {
        let now = self.clock.now();
        let mut work = self.work().await?;
        let used = u64::try_from(store::lock_and_measure(&mut work, owner).await?).unwrap_or(0);
        if used + size > self.quota() {
            return Err(AppError::Form(vec![
                FieldError::new("file", "locker-quota")
                    .arg("quota", self.config.locker.quota_mb)
                    .arg("left", self.quota().saturating_sub(used) / (1024 * 1024)),
            ]));
        }
        let secrets = Secrets {
            key: URL_SAFE_NO_PAD.encode(secret),
            description: details.description.as_str().to_string(),
            folder: details.folder.as_str().to_string(),
            file_name: clean_file_name(&details.file_name, kind),
            issued: None,
        };
        let sealed = self.seal_secrets(&mut work, id, &secrets).await?;
        let doc = StoredDocument {
            id: id.to_string(),
            owner_id: owner.clone(),
            source: Source::Uploaded.as_str().into(),
            uri: None,
            doc_type: None,
            issuer_id: None,
            mime: kind.mime().into(),
            size: i64::try_from(size).unwrap_or(i64::MAX),
            sha256: hex::encode(hasher.finalize()),
            object_key: object_key.to_string(),
            key_id: sealed.key_id,
            sealed: sealed.text,
            thumbnail_key: None,
            created_at: now,
        };
        if !store::insert(&mut work, &doc).await? {
            return Err(AppError::Internal("a document id was taken".into()));
        }
        self.audit(
            &mut work,
            actor,
            Some(owner.as_str()),
            AuditAction::DocumentUploaded,
            Outcome::Success,
            Some(id.to_string()),
        )
        .await?;
        work.commit().await?;
        Ok(())
    }

    /// Removes an object that will not be recorded; what fails here the sweep removes later.
    async fn discard(&self, object_key: &str) {
        if self.blobs.delete(object_key).await.is_ok()
            && let Ok(mut work) = self.work().await
            && store::kept(&mut work, object_key).await.is_ok()
        {
            let _ = work.commit().await;
        }
    }

    /// Seals a document's secrets under the current data key, bound to the document.
    async fn seal_secrets(
        &self,
        conn: &mut ekdwar_store::Conn,
        id: &str,
        secrets: &Secrets,
    ) -> AppResult<Sealed> {
        let plain = serde_json::to_vec(secrets).map_err(|e| AppError::Internal(e.into()))?;
        self.vault
            .seal(
                conn,
                self.random.as_ref(),
                self.clock.now(),
                &context(id),
                &plain,
            )
            .await
    }

    async fn view(
        &self,
        conn: &mut ekdwar_store::Conn,
        d: &StoredDocument,
    ) -> AppResult<(DocumentView, [u8; 32])> {
        let plain = self
            .vault
            .open(
                conn,
                &Sealed {
                    key_id: d.key_id.clone(),
                    text: d.sealed.clone(),
                },
                &context(&d.id),
            )
            .await?;
        let s: Secrets =
            serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.into()))?;
        let mut secret = [0u8; 32];
        let raw = URL_SAFE_NO_PAD
            .decode(&s.key)
            .map_err(|e| AppError::Internal(e.into()))?;
        if raw.len() != 32 {
            return Err(AppError::Internal("a document key is not 32 bytes".into()));
        }
        secret.copy_from_slice(&raw);
        let kind = FileKind::from_mime(&d.mime)
            .ok_or_else(|| AppError::Internal(format!("stored media type {}", d.mime).into()))?;
        Ok((
            DocumentView {
                id: d.id.clone(),
                owner_id: d.owner_id.clone(),
                source: if d.source == "issued" {
                    Source::Issued
                } else {
                    Source::Uploaded
                },
                description: s.description,
                folder: s.folder,
                file_name: s.file_name,
                kind,
                size: u64::try_from(d.size).unwrap_or(0),
                sha256: d.sha256.clone(),
                created_at: d.created_at,
                uri: d.uri.clone(),
                issued: s.issued,
            },
            secret,
        ))
    }

    /// A person's locker.
    pub async fn of(&self, owner: &UserId) -> AppResult<LockerView> {
        let mut conn = self.store.read().await?;
        let rows = store::of_owner(&mut conn, owner).await?;
        let mut documents = Vec::with_capacity(rows.len());
        for r in &rows {
            documents.push(self.view(&mut conn, r).await?.0);
        }
        Ok(LockerView {
            used: documents.iter().map(|d| d.size).sum(),
            quota: self.quota(),
            documents,
        })
    }

    /// One of `owner`'s documents; another person's is not found.
    pub async fn document(&self, owner: &UserId, id: &str) -> AppResult<DocumentView> {
        let mut conn = self.store.read().await?;
        match store::by_id(&mut conn, id).await? {
            Some(d) if &d.owner_id == owner => Ok(self.view(&mut conn, &d).await?.0),
            _ => Err(AppError::NotFound),
        }
    }

    /// Opens one of `owner`'s documents for `actor` to read, and records that they did.
    pub async fn open(&self, owner: &UserId, id: &str, actor: &Actor) -> AppResult<OpenedFile> {
        let (document, secret, object_key) = {
            let mut conn = self.store.read().await?;
            match store::by_id(&mut conn, id).await? {
                Some(d) if &d.owner_id == owner => {
                    let (v, s) = self.view(&mut conn, &d).await?;
                    (v, s, d.object_key)
                }
                _ => return Err(AppError::NotFound),
            }
        };
        let bytes = self
            .blobs
            .open(&object_key, DocKey::new(&secret, &context(id), Part::File)?)
            .await?;
        let mut work = self.work().await?;
        self.audit(
            &mut work,
            actor,
            Some(owner.as_str()),
            AuditAction::DocumentViewed,
            Outcome::Success,
            Some(id.to_string()),
        )
        .await?;
        work.commit().await?;
        Ok(OpenedFile {
            document,
            bytes: Box::pin(bytes),
        })
    }

    /// Removes one of `owner`'s documents.
    pub async fn delete(&self, owner: &UserId, id: &str, actor: &Actor) -> AppResult<()> {
        let now = self.clock.now();
        let object_key = {
            let mut work = self.work().await?;
            let Some(d) = store::by_id(&mut work, id)
                .await?
                .filter(|d| &d.owner_id == owner)
            else {
                return Err(AppError::NotFound);
            };
            if !store::delete(&mut work, id, owner, now).await? {
                return Err(AppError::NotFound);
            }
            self.audit(
                &mut work,
                actor,
                Some(owner.as_str()),
                AuditAction::DocumentDeleted,
                Outcome::Success,
                Some(id.to_string()),
            )
            .await?;
            work.commit().await?;
            d.object_key
        };
        self.discard(&object_key).await;
        Ok(())
    }

    /// Removes the objects whose removal is due (abandoned uploads, removed documents whose
    /// object could not be removed at once). Returns how many.
    pub async fn sweep(&self) -> AppResult<usize> {
        let now = self.clock.now();
        let due = store::due_orphans(&mut *self.store.conn().await?, now, 100).await?;
        for key in &due {
            self.blobs.delete(key).await?;
            let mut work = self.work().await?;
            store::kept(&mut work, key).await?;
            work.commit().await?;
        }
        Ok(due.len())
    }
}

impl Locker {
    /// After `keys rotate-data` made `key_id` current: seals every document's secrets (its
    /// key, description, folder, file name) under it again, `batch` documents a transaction,
    /// while the portal runs; the files themselves stay as they are (their keys did not
    /// change). `progress` hears the running count. Returns how many, and the documents each
    /// key seals now.
    pub async fn reseal_under(
        &self,
        key_id: &str,
        batch: i64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> AppResult<(u64, Vec<(String, i64)>)> {
        let mut resealed = 0u64;
        let mut passes = 0;
        loop {
            let mut work = self.work().await?;
            let rows = store::sealed_under_other(&mut work, key_id, batch.max(1)).await?;
            if rows.is_empty() || passes > 10_000 {
                break;
            }
            passes += 1;
            for (id, old_key, old_sealed) in &rows {
                let sealed = self
                    .vault
                    .reseal(
                        &mut work,
                        self.random.as_ref(),
                        self.clock.now(),
                        &Sealed {
                            key_id: old_key.clone(),
                            text: old_sealed.clone(),
                        },
                        &context(id),
                    )
                    .await?;
                if store::reseal(&mut work, id, old_sealed, &sealed.key_id, &sealed.text).await? {
                    resealed += 1;
                }
            }
            work.commit().await?;
            progress(resealed);
        }
        let by_key = store::count_by_key(&mut *self.store.conn().await?).await?;
        Ok((resealed, by_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_no_path_and_take_the_content_extension() {
        assert_eq!(
            clean_file_name("C:\\docs\\rent.PDF", FileKind::Pdf),
            "rent.pdf"
        );
        assert_eq!(
            clean_file_name("../../etc/passwd", FileKind::Png),
            "passwd.png"
        );
        assert_eq!(clean_file_name("evil.exe", FileKind::Pdf), "evil.pdf");
        assert_eq!(clean_file_name("", FileKind::Jpeg), "document.jpg");
        assert_eq!(clean_file_name("a\"b\r\n.pdf", FileKind::Pdf), "ab.pdf");
        assert_eq!(clean_file_name("किराया.pdf", FileKind::Pdf), "किराया.pdf");
    }
}
