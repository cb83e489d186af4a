//! Randomness, hashing and signing used by the use-cases.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ekdwar_domain::password::Password;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::config::Argon2Config;

/// Where random bytes come from. Injected so that tests could make it deterministic.
pub trait Random: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]);

    fn next_u32(&self) -> u32 {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        u32::from_le_bytes(b)
    }

    /// A token of `n` random bytes, URL-safe base64.
    fn token(&self, n: usize) -> String {
        let mut b = vec![0u8; n];
        self.fill(&mut b);
        URL_SAFE_NO_PAD.encode(b)
    }

    /// A 128-bit identifier in hex.
    fn id(&self) -> String {
        let mut b = [0u8; 16];
        self.fill(&mut b);
        hex::encode(b)
    }

    /// A number in `0..n`, unbiased.
    fn below(&self, n: u32) -> u32 {
        let limit = u32::MAX - (u32::MAX % n);
        loop {
            let v = self.next_u32();
            if v < limit {
                return v % n;
            }
        }
    }
}

/// The operating system's generator.
#[derive(Debug, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        // The OS generator failing means the machine cannot do cryptography at all.
        getrandom::fill(buf).expect("operating system random generator failed");
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Equality that takes the same time wherever the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The server key: signs CSRF tokens and challenges, and keys the hashes of one-time codes so
/// that a stolen database does not allow an offline search of six-digit codes.
#[derive(Clone)]
pub struct ServerKey(Arc<Vec<u8>>);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(***)")
    }
}

impl ServerKey {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Arc::new(bytes))
    }

    /// HMAC-SHA256 of the parts, each prefixed with its length so that parts cannot be shifted.
    pub fn sign(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("any key length");
        for p in parts {
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().to_vec()
    }

    pub fn sign_b64(&self, parts: &[&[u8]]) -> String {
        URL_SAFE_NO_PAD.encode(self.sign(parts))
    }

    pub fn verify_b64(&self, parts: &[&[u8]], signature: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(signature)
            .is_ok_and(|sig| constant_time_eq(&sig, &self.sign(parts)))
    }

    /// A keystream of `len` bytes for wrapping the secret `id` of kind `purpose` (HMAC blocks
    /// with a counter). `id` must be new for every secret, so no keystream is used twice.
    fn pad(&self, purpose: &[u8], id: &str, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 32);
        let mut block = 0u32;
        while out.len() < len {
            out.extend(self.sign(&[purpose, id.as_bytes(), &block.to_be_bytes()]));
            block += 1;
        }
        out.truncate(len);
        out
    }

    /// Wraps a secret kept in the database, so that a copy of the database alone does not
    /// give it away: hex of the secret XOR the keystream of (`purpose`, `id`).
    pub fn wrap(&self, purpose: &[u8], id: &str, secret: &[u8]) -> String {
        let pad = self.pad(purpose, id, secret.len());
        hex::encode(
            secret
                .iter()
                .zip(pad)
                .map(|(a, b)| a ^ b)
                .collect::<Vec<u8>>(),
        )
    }

    /// The secret [`ServerKey::wrap`] wrapped; `None` if `wrapped` is not hex.
    pub fn unwrap(&self, purpose: &[u8], id: &str, wrapped: &str) -> Option<Vec<u8>> {
        let wrapped = hex::decode(wrapped).ok()?;
        let pad = self.pad(purpose, id, wrapped.len());
        Some(wrapped.iter().zip(pad).map(|(a, b)| a ^ b).collect())
    }
}

/// argon2id on a bounded pool of blocking threads, so that a burst of logins queues instead of
/// starving the async runtime or exhausting memory (each hash holds `memory_kib`).
#[derive(Clone)]
pub struct PasswordHashing {
    params: Params,
    permits: Arc<Semaphore>,
    /// A real hash of a random password, checked when an account does not exist so that
    /// "no such user" takes as long as "wrong password".
    dummy: Arc<String>,
    /// Working memory of finished checks, one per permit at most: allocating and clearing
    /// `memory_kib` for every login cost a tenth of its time.
    scratch: Arc<std::sync::Mutex<Vec<Vec<argon2::Block>>>>,
}

impl std::fmt::Debug for PasswordHashing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHashing").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("hashing task failed")]
    Join,
}

impl PasswordHashing {
    pub fn new(cfg: &Argon2Config, random: &dyn Random) -> Result<Self, HashError> {
        let params = Params::new(cfg.memory_kib, cfg.iterations, cfg.parallelism, None)
            .map_err(|e| HashError::Argon2(e.to_string()))?;
        let concurrent = if cfg.max_concurrent == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            cfg.max_concurrent
        };
        let dummy = hash_blocking(&params, random.token(24).as_bytes())?;
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(concurrent)),
            dummy: Arc::new(dummy),
            scratch: Arc::default(),
        })
    }

    /// Hashes the password's NFKC form.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Join)?;
        let params = self.params.clone();
        let pw = password.normalized().expose().as_bytes().to_vec();
        tokio::task::spawn_blocking(move || hash_blocking(&params, &pw))
            .await
            .map_err(|_| HashError::Join)?
    }

    /// Checks a password against a stored PHC string, or against the dummy hash when there is
    /// none (and then always answers false).
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> bool {
        self.check(password, stored).await != Check::Wrong
    }

    /// `verify`, telling apart a hash of the NFKC form (today's) from one of the password as
    /// typed (made before passwords were normalised), which the caller should hash again.
    pub async fn check(&self, password: &Password, stored: Option<&str>) -> Check {
        let normalized = password.normalized();
        if self.verify_exact(&normalized, stored).await {
            return Check::Right;
        }
        if normalized.expose() != password.expose() && self.verify_exact(password, stored).await {
            return Check::RightButOldForm;
        }
        Check::Wrong
    }

    async fn verify_exact(&self, password: &Password, stored: Option<&str>) -> bool {
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let (phc, real) = match stored {
            Some(s) => (s.to_string(), true),
            None => (self.dummy.as_ref().clone(), false),
        };
        let pw = password.expose().as_bytes().to_vec();
        let scratch = self.scratch.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let mut memory = scratch
                .lock()
                .ok()
                .and_then(|mut spare| spare.pop())
                .unwrap_or_default();
            let ok = verify_in(&phc, &pw, &mut memory);
            if let Ok(mut spare) = scratch.lock() {
                spare.push(memory);
            }
            ok
        })
        .await
        .unwrap_or(false);
        ok && real
    }
}

/// What a password check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Wrong,
    Right,
    /// Right, against a hash of the password as typed rather than its NFKC form.
    RightButOldForm,
}

/// Checks `pw` against the PHC string `phc`, computing in `memory` (grown as the hash's
/// parameters need; argon2 overwrites every block, so what it held does not matter).
fn verify_in(phc: &str, pw: &[u8], memory: &mut Vec<argon2::Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&hash),
        Algorithm::try_from(hash.algorithm.as_str()),
    ) else {
        return false;
    };
    let Ok(version) = hash.version.map(Version::try_from).transpose() else {
        return false;
    };
    memory.resize(params.block_count(), argon2::Block::default());
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version.unwrap_or_default(), params)
        .hash_password_into_with_memory(pw, salt.as_ref(), &mut out, &mut memory[..])
        .is_ok()
        && constant_time_eq(&out, expected.as_ref())
}

fn hash_blocking(params: &Params, pw: &[u8]) -> Result<String, HashError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon
        .hash_password(pw)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Argon2(e.to_string()))
}

/// The address a limit counts: IPv4 as it is, IPv6 by its /64 — one customer's network, where
/// every device can take a new address at will.
pub fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => ip.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checking_in_reused_memory_agrees_with_the_library() {
        use argon2::PasswordVerifier;
        let mut memory = Vec::new();
        // Two costs in turn, so that the memory is reused at another size, holding the
        // blocks of another hash.
        for (m, t, p) in [(64, 1, 1), (256, 2, 1), (64, 3, 2), (64, 1, 1)] {
            let params = Params::new(m, t, p, None).unwrap();
            let phc = hash_blocking(&params, b"correct horse").unwrap();
            assert!(
                verify_in(&phc, b"correct horse", &mut memory),
                "{m} {t} {p}"
            );
            assert!(!verify_in(&phc, b"correct hors", &mut memory));
            let parsed = PasswordHash::new(&phc).unwrap();
            assert!(
                Argon2::default()
                    .verify_password(b"correct horse", &parsed)
                    .is_ok()
            );
        }
        // An argon2i hash made elsewhere, and strings that are not hashes.
        let other = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x10,
            Params::new(64, 2, 1, None).unwrap(),
        )
        .hash_password(b"pw")
        .unwrap()
        .to_string();
        assert!(verify_in(&other, b"pw", &mut memory));
        for junk in ["", "$argon2id$", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ"] {
            assert!(!verify_in(junk, b"pw", &mut memory));
        }
    }

    /// Hashing cheap enough for tests.
    fn cheap_hashing() -> PasswordHashing {
        let cfg = Argon2Config {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 1,
        };
        PasswordHashing::new(&cfg, &OsRandom).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_do() {
        let h = cheap_hashing();
        let pw = Password::new("quiet harbor lantern");
        let phc = h.hash(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify(&pw, Some(&phc)).await);
        assert!(!h.verify(&Password::new("wrong"), Some(&phc)).await);
        assert!(!h.verify(&pw, None).await);
        assert!(!h.verify(&pw, Some("garbage")).await);
    }

    #[tokio::test]
    async fn passwords_match_however_they_are_composed() {
        let h = cheap_hashing();
        // "क़िला" typed with a precomposed क़ (U+0958) and as क + nukta (U+0915 U+093C).
        let composed = Password::new("\u{958}िला नदी पहाड़ 7");
        let decomposed = Password::new("\u{915}\u{93c}िला नदी पहाड़ 7");
        assert_ne!(composed.expose(), decomposed.expose());
        let phc = h.hash(&composed).await.unwrap();
        assert_eq!(h.check(&composed, Some(&phc)).await, Check::Right);
        assert_eq!(h.check(&decomposed, Some(&phc)).await, Check::Right);

        // A hash made before normalisation, of the form as typed ("café" with a combining
        // accent, which NFKC composes), still works, and says so.
        let typed = Password::new("cafe\u{301} lantern harbour 7");
        let old = hash_blocking(&h.params, typed.expose().as_bytes()).unwrap();
        assert_eq!(h.check(&typed, Some(&old)).await, Check::RightButOldForm);
        assert_eq!(
            h.check(&Password::new("other"), Some(&old)).await,
            Check::Wrong
        );
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(
            address_key("2001:db8:1:2:aaaa::1"),
            address_key("2001:db8:1:2:bbbb::9")
        );
        assert_ne!(
            address_key("2001:db8:1:2::1"),
            address_key("2001:db8:1:3::1")
        );
        assert_eq!(address_key("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn signatures() {
        let k = ServerKey::new(b"k".to_vec());
        let s = k.sign_b64(&[b"a", b"bc"]);
        assert!(k.verify_b64(&[b"a", b"bc"], &s));
        assert!(!k.verify_b64(&[b"ab", b"c"], &s));
        assert!(!k.verify_b64(&[b"a", b"bc"], "nope"));
    }
}
