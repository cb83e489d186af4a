//! Sealing personal data at rest. Records are sealed with AES-256-GCM under a data key; data
//! keys live in the database wrapped by the server's key, which never does (it is the data
//! folder's `secret.key` or `server.secret_key`), so a copy of the database alone opens
//! nothing. Each sealed record names its key; `ekdwar keys rotate-data` makes a new current
//! key and re-seals every record in batches while the portal runs. Lookups by an identifier
//! use a keyed blind index (HMAC-SHA256 under a key derived from the server's key), never the
//! number itself.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ekdwar_domain::Timestamp;
use ekdwar_store::Conn;
use ekdwar_store::vault::{self as store, DataKey};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::error::{AppError, AppResult};
use crate::security::{Random, ServerKey};

/// The purpose data keys are wrapped for.
const WRAP: &[u8] = b"data-key-v1";

/// The data keys this process has unwrapped, and the server's key to unwrap more.
pub struct Vault {
    server: ServerKey,
    keys: RwLock<HashMap<String, Arc<LessSafeKey>>>,
    index: Vec<u8>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(***)")
    }
}

/// A record sealed under a data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The key's id.
    pub key_id: String,
    /// URL-safe base64 of nonce, ciphertext and tag.
    pub text: String,
}

fn aead_key(bytes: &[u8]) -> AppResult<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, bytes)
        .map(LessSafeKey::new)
        .map_err(|_| AppError::Internal("a data key is not 32 bytes".into()))
}

impl Vault {
    pub fn new(server: &ServerKey) -> Self {
        Self {
            server: server.clone(),
            keys: RwLock::default(),
            index: server.sign(&[b"blind-index-v1"]),
        }
    }

    /// A new data key, wrapped, named by `random`.
    fn make_key(&self, random: &dyn Random, now: Timestamp) -> DataKey {
        let id = format!("dk-{}", random.token(9));
        let mut secret = [0u8; 32];
        random.fill(&mut secret);
        DataKey {
            wrapped: self.server.wrap(WRAP, &id, &secret),
            id,
            created_at: now,
            retired_at: None,
        }
    }

    fn unwrap(&self, k: &DataKey) -> AppResult<Arc<LessSafeKey>> {
        let secret = self
            .server
            .unwrap(WRAP, &k.id, &k.wrapped)
            .ok_or_else(|| AppError::Internal(format!("data key {} is damaged", k.id).into()))?;
        Ok(Arc::new(aead_key(&secret)?))
    }

    /// The key with id `id`, unwrapped once per process.
    async fn key(&self, conn: &mut Conn, id: &str) -> AppResult<Arc<LessSafeKey>> {
        if let Some(k) = self.keys.read().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Ok(k.clone());
        }
        let all = store::all(conn).await?;
        let found = all
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| AppError::Internal(format!("data key {id} is missing").into()))?;
        let key = self.unwrap(found)?;
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), key.clone());
        Ok(key)
    }

    /// The key that seals new records (read from the database each time, so that every node
    /// seals under the new key as soon as a rotation made it); the first is made on first use.
    async fn current(
        &self,
        conn: &mut Conn,
        random: &dyn Random,
        now: Timestamp,
    ) -> AppResult<String> {
        if let Some(k) = store::current(conn).await? {
            return Ok(k.id);
        }
        store::add_first(conn, &self.make_key(random, now)).await?;
        store::current(conn)
            .await?
            .map(|k| k.id)
            .ok_or_else(|| AppError::Internal("no data key after making one".into()))
    }

    /// Seals `plain` under the current key, bound to `context` (the record's owner and kind,
    /// so a sealed value moved to another row does not open).
    pub async fn seal(
        &self,
        conn: &mut Conn,
        random: &dyn Random,
        now: Timestamp,
        context: &str,
        plain: &[u8],
    ) -> AppResult<Sealed> {
        let key_id = self.current(conn, random, now).await?;
        let key = self.key(conn, &key_id).await?;
        Ok(Sealed {
            text: seal_with(&key, random, context, plain)?,
            key_id,
        })
    }

    /// Opens what [`Vault::seal`] sealed with the same `context`.
    pub async fn open(
        &self,
        conn: &mut Conn,
        sealed: &Sealed,
        context: &str,
    ) -> AppResult<Vec<u8>> {
        let key = self.key(conn, &sealed.key_id).await?;
        open_with(&key, context, &sealed.text)
            .ok_or_else(|| AppError::Internal("a sealed record does not open".into()))
    }

    /// Opens `sealed` and seals it again under the current key (a rotation's step).
    pub async fn reseal(
        &self,
        conn: &mut Conn,
        random: &dyn Random,
        now: Timestamp,
        sealed: &Sealed,
        context: &str,
    ) -> AppResult<Sealed> {
        let plain = self.open(conn, sealed, context).await?;
        self.seal(conn, random, now, context, &plain).await
    }

    /// Makes a new current key; the others only open from now on. Returns its id.
    pub async fn rotate(
        &self,
        conn: &mut Conn,
        random: &dyn Random,
        now: Timestamp,
    ) -> AppResult<String> {
        let key = self.make_key(random, now);
        store::add_current(conn, &key).await?;
        Ok(key.id)
    }

    /// The blind index of an identifier: a keyed hash of its kind and its stored form.
    pub fn blind(&self, kind: &str, value: &str) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.index)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A keyed hash of facts (which an edit changes), for telling whether checked facts changed.
    pub fn fingerprint(&self, parts: &[&[u8]]) -> String {
        let mut all: Vec<&[u8]> = vec![b"fingerprint-v1"];
        all.extend_from_slice(parts);
        hex::encode(&self.server.sign(&all)[..16])
    }
}

fn seal_with(
    key: &LessSafeKey,
    random: &dyn Random,
    context: &str,
    plain: &[u8],
) -> AppResult<String> {
    let mut nonce = [0u8; NONCE_LEN];
    random.fill(&mut nonce);
    let mut buf = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(context.as_bytes()),
        &mut buf,
    )
    .map_err(|_| AppError::Internal("sealing failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

fn open_with(key: &LessSafeKey, context: &str, text: &str) -> Option<Vec<u8>> {
    let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
    if raw.len() < NONCE_LEN {
        return None;
    }
    let (nonce, sealed) = raw.split_at(NONCE_LEN);
    let mut buf = sealed.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = key
        .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
        .ok()?;
    Some(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::OsRandom;

    #[test]
    fn sealed_records_open_only_with_their_key_and_context() {
        let key = aead_key(&[7u8; 32]).unwrap();
        let other = aead_key(&[8u8; 32]).unwrap();
        let text = seal_with(&key, &OsRandom, "user-1/profile", b"SNILS 11223344595").unwrap();
        assert!(!text.contains("1122"));
        assert_eq!(
            open_with(&key, "user-1/profile", &text).as_deref(),
            Some(&b"SNILS 11223344595"[..])
        );
        assert_eq!(open_with(&key, "user-2/profile", &text), None);
        assert_eq!(open_with(&other, "user-1/profile", &text), None);
        assert_eq!(open_with(&key, "user-1/profile", "AAAA"), None);
        assert_ne!(
            seal_with(&key, &OsRandom, "c", b"same").unwrap(),
            seal_with(&key, &OsRandom, "c", b"same").unwrap(),
            "a new nonce every time"
        );
    }

    #[test]
    fn blind_indexes_are_keyed_and_kind_bound() {
        let a = Vault::new(&ServerKey::new(vec![1; 32]));
        let b = Vault::new(&ServerKey::new(vec![2; 32]));
        assert_eq!(
            a.blind("snils", "11223344595"),
            a.blind("snils", "11223344595")
        );
        assert_ne!(
            a.blind("snils", "11223344595"),
            b.blind("snils", "11223344595")
        );
        assert_ne!(
            a.blind("snils", "11223344595"),
            a.blind("aadhaar", "11223344595")
        );
    }
}
