//! Signing keys for ID tokens: ES256 (P-256) by default, RS256 (RSA 2048) for apps that need it.
//! Private keys are stored wrapped with a keystream derived from the server key, so a copy of the
//! database alone cannot forge tokens. Rotation publishes the new key at once and keeps the old
//! one in the JWKS for an overlap period. RSA signing uses ring (constant-time); the rsa crate
//! only generates keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ekdwar_store::sso::{self as store, SigningKey};
use rsa::pkcs8::EncodePrivateKey;
use rsa::traits::PublicKeyParts;

use super::Sso;
use crate::error::{AppResult, internal};

use ekdwar_domain::sso::SigningAlg;

/// The keystream purpose signing keys are wrapped under.
const SIGNING_KEY: &[u8] = b"signing-key";

/// How long a node signs with the key it loaded before looking again (another node may have
/// rotated meanwhile).
const RELOAD_AFTER: Duration = Duration::from_secs(60);

#[derive(Clone)]
enum Signer {
    /// ring signs P-256 several times faster than a portable implementation, and every token
    /// response carries an ID token.
    Es(Arc<ring::signature::EcdsaKeyPair>),
    Rs(Arc<ring::rsa::KeyPair>),
}

/// The unwrapped keys in use, kept in memory so that signing costs no database read.
#[derive(Default)]
pub(crate) struct SignerCache(std::sync::RwLock<HashMap<SigningAlg, (Instant, String, Signer)>>);

impl std::fmt::Debug for SignerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignerCache(***)")
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The injected randomness, as the `rsa` crate takes it.
struct Injected(Arc<dyn crate::security::Random>);

impl rsa::rand_core::RngCore for Injected {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for Injected {}

impl Sso {
    fn unwrap_key(&self, k: &SigningKey) -> AppResult<Vec<u8>> {
        self.key
            .unwrap(SIGNING_KEY, &k.kid, &k.private_wrapped)
            .ok_or_else(|| internal("a signing key is not hex"))
    }

    /// A new key for `alg`. RSA generation takes a second of CPU: it runs on the blocking
    /// pool, with the injected randomness, and callers hold no transaction meanwhile.
    async fn new_key(&self, alg: SigningAlg) -> AppResult<SigningKey> {
        let kid = self.random.token(12);
        let (secret, jwk) = match alg {
            SigningAlg::Rs256 => {
                let mut rng = Injected(self.random.clone());
                let key =
                    tokio::task::spawn_blocking(move || rsa::RsaPrivateKey::new(&mut rng, 2048))
                        .await
                        .map_err(internal)?
                        .map_err(internal)?;
                let der = key.to_pkcs8_der().map_err(internal)?;
                let jwk = serde_json::json!({
                    "kty": "RSA", "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()),
                    "kid": kid, "use": "sig", "alg": alg.as_str(),
                });
                (der.as_bytes().to_vec(), jwk)
            }
            SigningAlg::Es256 => {
                let key = loop {
                    let mut bytes = [0u8; 32];
                    self.random.fill(&mut bytes);
                    if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&bytes) {
                        break k;
                    }
                };
                let point = key.verifying_key().to_sec1_point(false);
                let raw = point.as_bytes();
                let jwk = serde_json::json!({
                    "kty": "EC", "crv": "P-256", "x": b64(&raw[1..33]), "y": b64(&raw[33..65]),
                    "kid": kid, "use": "sig", "alg": alg.as_str(),
                });
                (key.to_bytes().to_vec(), jwk)
            }
        };
        Ok(SigningKey {
            private_wrapped: self.key.wrap(SIGNING_KEY, &kid, &secret),
            kid,
            alg,
            public_jwk: jwk.to_string(),
            created_at: self.clock.now(),
            retired_at: None,
        })
    }

    /// Creates a key for `alg` if there is none in use. The key is made before the write
    /// transaction; if another node made one meanwhile, this one is dropped.
    async fn ensure_key(&self, alg: SigningAlg) -> AppResult<()> {
        let in_use =
            |keys: &[SigningKey]| keys.iter().any(|k| k.alg == alg && k.retired_at.is_none());
        if in_use(&store::keys(&mut *self.store.read().await?).await?) {
            return Ok(());
        }
        let key = self.new_key(alg).await?;
        let mut tx = self.work().await?;
        if !in_use(&store::keys(&mut tx).await?) {
            store::insert_key(&mut tx, &key).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates the first ES256 key if there is none in use (RS256 is created on first need).
    pub async fn ensure_signing_key(&self) -> AppResult<()> {
        self.ensure_key(SigningAlg::Es256).await
    }

    /// Starts signing with new keys; the old ones stay published for the overlap period.
    /// Returns the new ES256 key id.
    pub async fn rotate_signing_key(&self) -> AppResult<String> {
        let has_rsa = store::keys(&mut *self.store.read().await?)
            .await?
            .iter()
            .any(|k| k.alg == SigningAlg::Rs256 && k.retired_at.is_none());
        let mut fresh = vec![self.new_key(SigningAlg::Es256).await?];
        if has_rsa {
            fresh.push(self.new_key(SigningAlg::Rs256).await?);
        }
        let mut tx = self.work().await?;
        let mut new_es = String::new();
        for key in fresh {
            store::insert_key(&mut tx, &key).await?;
            store::retire_keys_except(&mut tx, key.alg, &key.kid, self.clock.now()).await?;
            if key.alg == SigningAlg::Es256 {
                new_es = key.kid;
            }
        }
        tx.commit().await?;
        if let Ok(mut cached) = self.signer.0.write() {
            cached.clear();
        }
        Ok(new_es)
    }

    /// The published keys: those in use, and those retired less than the overlap ago.
    pub async fn jwks(&self) -> AppResult<serde_json::Value> {
        let mut conn = self.store.read().await?;
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

    /// The newest key in use for `alg`, from memory when loaded recently.
    async fn current_signer(&self, alg: SigningAlg) -> AppResult<(String, Signer)> {
        if let Ok(cached) = self.signer.0.read()
            && let Some((at, kid, signer)) = cached.get(&alg)
            && at.elapsed() < RELOAD_AFTER
        {
            return Ok((kid.clone(), signer.clone()));
        }
        let find = |keys: Vec<SigningKey>| {
            keys.into_iter()
                .find(|k| k.alg == alg && k.retired_at.is_none())
        };
        let key = match find(store::keys(&mut *self.store.read().await?).await?) {
            Some(k) => k,
            None => {
                self.ensure_key(alg).await?;
                find(store::keys(&mut *self.store.read().await?).await?)
                    .ok_or_else(|| internal("no signing key"))?
            }
        };
        let raw = self.unwrap_key(&key)?;
        let unwrap_failed = || internal("signing key does not unwrap: was the server key changed?");
        let signer = match alg {
            SigningAlg::Rs256 => Signer::Rs(Arc::new(
                ring::rsa::KeyPair::from_pkcs8(&raw).map_err(|_| unwrap_failed())?,
            )),
            SigningAlg::Es256 => {
                let secret =
                    p256::ecdsa::SigningKey::from_slice(&raw).map_err(|_| unwrap_failed())?;
                let public = secret.verifying_key().to_sec1_point(false);
                Signer::Es(Arc::new(
                    ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        &raw,
                        public.as_bytes(),
                        &ring::rand::SystemRandom::new(),
                    )
                    .map_err(|_| unwrap_failed())?,
                ))
            }
        };
        if let Ok(mut cached) = self.signer.0.write() {
            cached.insert(alg, (Instant::now(), key.kid.clone(), signer.clone()));
        }
        Ok((key.kid, signer))
    }

    /// Makes sure a key for `alg` exists and is loaded. Call before opening a write transaction:
    /// creating the first RS256 key needs a transaction of its own.
    pub(crate) async fn ready_signer(&self, alg: SigningAlg) -> AppResult<()> {
        self.current_signer(alg).await.map(|_| ())
    }

    /// Signs claims as a compact JWS with the newest key for `alg`.
    pub async fn sign_jwt(&self, claims: &serde_json::Value, alg: SigningAlg) -> AppResult<String> {
        self.sign_jwt_typed(claims, alg, "JWT").await
    }

    /// `sign_jwt` with an explicit `typ` header (`logout+jwt` for logout tokens).
    pub async fn sign_jwt_typed(
        &self,
        claims: &serde_json::Value,
        alg: SigningAlg,
        typ: &str,
    ) -> AppResult<String> {
        let (kid, signer) = self.current_signer(alg).await?;
        let header = serde_json::json!({ "alg": alg.as_str(), "typ": typ, "kid": kid });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = match signer {
            Signer::Es(k) => k
                .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
                .map_err(|_| internal("ECDSA signing failed"))?
                .as_ref()
                .to_vec(),
            Signer::Rs(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &ring::rand::SystemRandom::new(),
                    input.as_bytes(),
                    &mut sig,
                )
                .map_err(|_| internal("RSA signing failed"))?;
                sig
            }
        };
        Ok(format!("{input}.{}", b64(&sig)))
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
        let field = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str()?).ok();
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let alg = |v: &serde_json::Value| v.as_str().and_then(SigningAlg::parse);
        match (alg(&header["alg"])?, alg(&jwk["alg"])?) {
            (SigningAlg::Es256, SigningAlg::Es256) => {
                let mut point = vec![4u8];
                point.extend(field("x")?);
                point.extend(field("y")?);
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).ok()?;
                let sig = p256::ecdsa::Signature::from_slice(&sig).ok()?;
                use p256::ecdsa::signature::Verifier;
                key.verify(input.as_bytes(), &sig).ok()?;
            }
            (SigningAlg::Rs256, SigningAlg::Rs256) => {
                let key = ring::signature::RsaPublicKeyComponents {
                    n: field("n")?,
                    e: field("e")?,
                };
                key.verify(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    input.as_bytes(),
                    &sig,
                )
                .ok()?;
            }
            _ => return None,
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}
