//! Sharing a document by a link (and its QR code): anyone with the link, and the PIN when the
//! owner set one, may see the document until the link expires or its owner revokes it. The
//! token is 128 random bits kept only as its SHA-256; a PIN is kept as a keyed hash and five
//! wrong ones end the link. Every use is recorded for the owner to see, and every opening of
//! the file is in the owner's security log.

use std::time::Duration;

use ekdwar_domain::Timestamp;
use ekdwar_domain::UserId;
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_store::locker::{self as store, Share, ShareUse};

use super::{DocumentView, Locker, OpenedFile};
use crate::audit::Actor;
use crate::error::{AppError, AppResult};
use crate::security::{constant_time_eq, sha256_hex};

/// The longest a link may live.
pub const MAX_SHARE: Duration = Duration::from_secs(30 * 86_400);
/// Wrong PINs that end a link.
const WRONG_PINS: i64 = 5;
/// Uses shown to the owner.
const USES_SHOWN: i64 = 50;

/// A link just made: its token is shown once, then only its hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLink {
    pub token: String,
    pub expires_at: Timestamp,
}

/// A link as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareView {
    pub id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub has_pin: bool,
    /// Revoked (by its owner, or by wrong PINs).
    pub revoked: bool,
    /// Past its expiry.
    pub expired: bool,
}

/// A use of a link as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseView {
    pub at: Timestamp,
    pub what: String,
    pub ip: Option<String>,
}

/// What a shared link gives.
#[derive(Debug)]
pub enum Shared {
    /// No such link, or it has ended.
    Gone,
    /// The PIN is asked (again, after a wrong one: how many tries are left).
    NeedsPin { wrong: bool, left: i64 },
    /// The document's page.
    Page(DocumentView),
    /// The file.
    File(OpenedFile),
}

fn pin_ok(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

impl Locker {
    fn pin_hash(&self, share_id: &str, pin: &str) -> String {
        hex::encode(
            self.key
                .sign(&[b"share-pin-v1", share_id.as_bytes(), pin.as_bytes()]),
        )
    }

    /// Makes a link to one of `owner`'s documents, valid for `valid` (at most 30 days), with
    /// an optional PIN of 4 to 8 digits.
    pub async fn share(
        &self,
        owner: &UserId,
        document_id: &str,
        valid: Duration,
        pin: Option<&str>,
        actor: &Actor,
    ) -> AppResult<NewLink> {
        self.document(owner, document_id).await?;
        let pin = pin.map(str::trim).filter(|p| !p.is_empty());
        if pin.is_some_and(|p| !pin_ok(p)) {
            return Err(AppError::field("pin", "locker-share-pin"));
        }
        let now = self.clock.now();
        let id = self.random.token(12);
        let token = self.random.token(22);
        let expires_at = now.plus(valid.min(MAX_SHARE));
        let share = Share {
            token_hash: sha256_hex(token.as_bytes()),
            document_id: document_id.to_string(),
            owner_id: owner.clone(),
            pin_hash: pin.map(|p| self.pin_hash(&id, p)),
            wrong_pins: 0,
            created_at: now,
            expires_at,
            revoked_at: None,
            id,
        };
        let mut work = self.work().await?;
        store::add_share(&mut work, &share).await?;
        self.audit(
            &mut work,
            actor,
            Some(owner.as_str()),
            AuditAction::DocumentShared,
            Outcome::Success,
            Some(document_id.to_string()),
        )
        .await?;
        work.commit().await?;
        Ok(NewLink { token, expires_at })
    }

    /// The links to one of `owner`'s documents and their latest uses.
    pub async fn shares(
        &self,
        owner: &UserId,
        document_id: &str,
    ) -> AppResult<(Vec<ShareView>, Vec<UseView>)> {
        self.document(owner, document_id).await?;
        let now = self.clock.now();
        let mut conn = self.store.read().await?;
        let shares = store::shares_of(&mut conn, document_id)
            .await?
            .into_iter()
            .map(|s| ShareView {
                has_pin: s.pin_hash.is_some(),
                revoked: s.revoked_at.is_some(),
                expired: s.expires_at <= now,
                id: s.id,
                created_at: s.created_at,
                expires_at: s.expires_at,
            })
            .collect();
        let uses = store::share_uses_of(&mut conn, document_id, USES_SHOWN)
            .await?
            .into_iter()
            .map(|u| UseView {
                at: u.at,
                what: u.what,
                ip: u.ip,
            })
            .collect();
        Ok((shares, uses))
    }

    /// Ends one of `owner`'s links.
    pub async fn revoke_share(
        &self,
        owner: &UserId,
        share_id: &str,
        actor: &Actor,
    ) -> AppResult<()> {
        let mut work = self.work().await?;
        if !store::revoke_share(&mut work, share_id, owner, self.clock.now()).await? {
            return Err(AppError::NotFound);
        }
        self.audit(
            &mut work,
            actor,
            Some(owner.as_str()),
            AuditAction::DocumentShareRevoked,
            Outcome::Success,
            Some(share_id.to_string()),
        )
        .await?;
        work.commit().await?;
        Ok(())
    }

    async fn used(&self, share: &Share, what: &str, actor: &Actor) -> AppResult<()> {
        let mut work = self.work().await?;
        store::add_share_use(
            &mut work,
            &ShareUse {
                share_id: share.id.clone(),
                at: self.clock.now(),
                what: what.to_string(),
                ip: actor.ip.clone(),
                user_agent: actor.user_agent.clone(),
            },
        )
        .await?;
        work.commit().await?;
        Ok(())
    }

    /// What the link `token` gives `actor` (with `pin` when they typed one): its page, or
    /// with `file` the document itself.
    pub async fn open_shared(
        &self,
        token: &str,
        pin: Option<&str>,
        file: bool,
        actor: &Actor,
    ) -> AppResult<Shared> {
        let now = self.clock.now();
        let share = store::share_by_token(
            &mut *self.store.read().await?,
            &sha256_hex(token.as_bytes()),
        )
        .await?;
        let Some(share) = share else {
            return Ok(Shared::Gone);
        };
        if share.revoked_at.is_some() || share.expires_at <= now {
            self.used(&share, "refused", actor).await?;
            return Ok(Shared::Gone);
        }
        if let Some(hash) = &share.pin_hash {
            let Some(pin) = pin.map(str::trim).filter(|p| !p.is_empty()) else {
                return Ok(Shared::NeedsPin {
                    wrong: false,
                    left: WRONG_PINS - share.wrong_pins,
                });
            };
            if !constant_time_eq(self.pin_hash(&share.id, pin).as_bytes(), hash.as_bytes()) {
                let wrong = {
                    let mut work = self.work().await?;
                    let n = store::wrong_pin(&mut work, &share.id, WRONG_PINS, now).await?;
                    work.commit().await?;
                    n
                };
                self.used(&share, "wrong-pin", actor).await?;
                if wrong >= WRONG_PINS {
                    return Ok(Shared::Gone);
                }
                return Ok(Shared::NeedsPin {
                    wrong: true,
                    left: WRONG_PINS - wrong,
                });
            }
        }
        if file {
            let shown = Actor {
                user_id: actor
                    .user_id
                    .clone()
                    .or_else(|| Some(format!("share:{}", share.id))),
                ..actor.clone()
            };
            let opened = self
                .open(&share.owner_id, &share.document_id, &shown)
                .await?;
            self.used(&share, "downloaded", actor).await?;
            Ok(Shared::File(opened))
        } else {
            let d = self.document(&share.owner_id, &share.document_id).await?;
            self.used(&share, "opened", actor).await?;
            Ok(Shared::Page(d))
        }
    }
}
