//! Signing keys for ID tokens: ES256 (P-256). Private keys are stored wrapped with a pad derived
//! from the server key, so a copy of the database alone cannot forge tokens. Rotation publishes
//! the new key at once and keeps the old one in the JWKS for an overlap period.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ekdwar_store::sso::{self as store, SigningKey};
use p256::ecdsa::signature::Signer;

use crate::App;
use crate::error::{AppError, AppResult};

const ES256: &str = "ES256";

/// How long a node signs with the key it loaded before looking again (another node may have
/// rotated meanwhile).
const RELOAD_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// The unwrapped key in use, kept in memory so that signing costs no database read.
#[derive(Default)]
pub struct SignerCache(
    std::sync::RwLock<Option<(std::time::Instant, String, p256::ecdsa::SigningKey)>>,
);

impl std::fmt::Debug for SignerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignerCache(***)")
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl App {
    fn key_pad(&self, kid: &str) -> Vec<u8> {
        self.key.sign(&[b"signing-key", kid.as_bytes()])
    }

    fn new_key(&self) -> AppResult<SigningKey> {
        let secret = loop {
            let mut bytes = [0u8; 32];
            self.random.fill(&mut bytes);
            if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&bytes) {
                break k;
            }
        };
        let kid = self.random.token(12);
        let point = secret.verifying_key().to_sec1_point(false);
        let raw = point.as_bytes();
        let (x, y) = (&raw[1..33], &raw[33..65]);
        let jwk = serde_json::json!({ "kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y), "kid": kid, "use": "sig", "alg": ES256 });
        let wrapped: Vec<u8> = secret
            .to_bytes()
            .iter()
            .zip(self.key_pad(&kid))
            .map(|(a, b)| a ^ b)
            .collect();
        Ok(SigningKey {
            kid,
            alg: ES256.into(),
            private_wrapped: hex::encode(wrapped),
            public_jwk: jwk.to_string(),
            created_at: self.clock.now(),
            retired_at: None,
        })
    }

    /// Creates the first signing key if there is none in use.
    pub async fn ensure_signing_key(&self) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let keys = store::keys(&mut tx).await?;
        if !keys
            .iter()
            .any(|k| k.alg == ES256 && k.retired_at.is_none())
        {
            store::insert_key(&mut tx, &self.new_key()?).await?;
        }
        ekdwar_store::commit(tx).await?;
        Ok(())
    }

    /// Starts signing with a new key; the old ones stay published for the overlap period.
    pub async fn rotate_signing_key(&self) -> AppResult<String> {
        let key = self.new_key()?;
        let mut tx = self.store.begin().await?;
        store::insert_key(&mut tx, &key).await?;
        store::retire_keys_except(&mut tx, ES256, &key.kid, self.clock.now()).await?;
        ekdwar_store::commit(tx).await?;
        if let Ok(mut cached) = self.signer.0.write() {
            *cached = None;
        }
        Ok(key.kid)
    }

    /// The published keys: those in use, and those retired less than the overlap ago.
    pub async fn jwks(&self) -> AppResult<serde_json::Value> {
        let mut conn = self.store.conn().await?;
        let overlap = Duration::from_secs(self.config.sso.key_overlap_hours * 3600);
        let now = self.clock.now();
        let keys: Vec<serde_json::Value> = store::keys(&mut conn)
            .await?
            .into_iter()
            .filter(|k| k.retired_at.is_none_or(|r| r.plus(overlap) > now))
            .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// The newest key in use, from memory when loaded recently.
    async fn current_signer(&self) -> AppResult<(String, p256::ecdsa::SigningKey)> {
        if let Ok(cached) = self.signer.0.read()
            && let Some((at, kid, key)) = cached.as_ref()
            && at.elapsed() < RELOAD_AFTER
        {
            return Ok((kid.clone(), key.clone()));
        }
        let key = {
            let mut conn = self.store.conn().await?;
            store::keys(&mut conn)
                .await?
                .into_iter()
                .find(|k| k.alg == ES256 && k.retired_at.is_none())
                .ok_or_else(|| AppError::Internal("no signing key".into()))?
        };
        let wrapped =
            hex::decode(&key.private_wrapped).map_err(|e| AppError::Internal(e.to_string()))?;
        let raw: Vec<u8> = wrapped
            .iter()
            .zip(self.key_pad(&key.kid))
            .map(|(a, b)| a ^ b)
            .collect();
        let signer = p256::ecdsa::SigningKey::from_slice(&raw).map_err(|_| {
            AppError::Internal("signing key does not unwrap: was the server key changed?".into())
        })?;
        if let Ok(mut cached) = self.signer.0.write() {
            *cached = Some((std::time::Instant::now(), key.kid.clone(), signer.clone()));
        }
        Ok((key.kid, signer))
    }

    /// Signs claims as a compact JWS with the newest key in use.
    pub async fn sign_jwt(&self, claims: &serde_json::Value) -> AppResult<String> {
        let (kid, signer) = self.current_signer().await?;
        let header = serde_json::json!({ "alg": ES256, "typ": "JWT", "kid": kid });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig: p256::ecdsa::Signature = signer.sign(input.as_bytes());
        Ok(format!("{input}.{}", b64(&sig.to_bytes())))
    }

    /// The claims of a JWS signed by one of our published keys, or `None`. Expiry is not checked:
    /// logout accepts an expired `id_token_hint`, as the spec allows.
    pub async fn verify_jwt(&self, token: &str) -> Option<serde_json::Value> {
        let (input, sig) = token.rsplit_once('.')?;
        let (header, payload) = input.split_once('.')?;
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        let kid = header["kid"].as_str()?;
        let jwks = self.jwks().await.ok()?;
        let jwk = jwks["keys"]
            .as_array()?
            .iter()
            .find(|k| k["kid"] == kid)?
            .clone();
        let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str()?).ok()?;
        let y = URL_SAFE_NO_PAD.decode(jwk["y"].as_str()?).ok()?;
        let mut point = vec![4u8];
        point.extend(x);
        point.extend(y);
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).ok()?;
        let sig = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).ok()?).ok()?;
        use p256::ecdsa::signature::Verifier;
        key.verify(input.as_bytes(), &sig).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}
