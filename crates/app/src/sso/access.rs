//! Self-contained access tokens: issuing one writes nothing, and checking one is a decryption
//! plus a look at the revocation rules every node keeps in memory.
//!
//! A token is `base64url(salt ‖ AES-256-GCM(claims))`. Each token has its own key, derived
//! from the server key and the token's random salt by HMAC-SHA256, so no key ever seals two
//! tokens and the nonce can be fixed. Apps cannot read what is inside (it names the person by
//! the portal's own identifier, which pairwise subjects keep from them) nor change it; they
//! ask userinfo or introspection, as they always did with opaque tokens. The salt is the
//! token's identifier (`jti`), by which one token is revoked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ekdwar_domain::Timestamp;
use ekdwar_domain::revocation::TokenFacts;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use serde::{Deserialize, Serialize};

use crate::security::ServerKey;

const SALT: usize = 16;
const AAD: &[u8] = b"ekdwar access token v1";

/// What an access token carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessToken {
    /// Its identifier: the salt, in base64url (not sealed; read from the token).
    #[serde(skip)]
    pub id: String,
    #[serde(rename = "c")]
    pub client: String,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The login session it hangs on, by its hash.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(rename = "f")]
    pub family: String,
    #[serde(rename = "sc")]
    pub scopes: String,
    /// Issued, in milliseconds.
    #[serde(rename = "i")]
    pub issued_at: i64,
    /// Expires, in milliseconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
}

impl AccessToken {
    /// What revocation rules look at.
    pub fn facts(&self) -> TokenFacts<'_> {
        TokenFacts {
            id: &self.id,
            family: &self.family,
            client: &self.client,
            user: self.user.as_deref(),
            session: self.session.as_deref(),
            offline: self.scopes.split(' ').any(|s| s == "offline_access"),
            issued_at: Timestamp::from_millis(self.issued_at),
        }
    }
}

/// Seals and opens access tokens.
pub(crate) struct Sealer(hmac::Key);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    pub fn new(server: &ServerKey) -> Self {
        Self(hmac::Key::new(
            hmac::HMAC_SHA256,
            &server.sign(&[b"access-token-v1"]),
        ))
    }

    fn key(&self, salt: &[u8]) -> LessSafeKey {
        let derived = hmac::sign(&self.0, salt);
        LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, derived.as_ref()).expect("32-byte key for AES-256"),
        )
    }

    /// The token for `claims`, with `salt` (16 random bytes) as its identifier.
    pub fn seal(&self, claims: &AccessToken, salt: [u8; SALT]) -> String {
        let mut buf = serde_json::to_vec(claims).expect("claims serialise");
        self.key(&salt)
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::from(AAD),
                &mut buf,
            )
            .expect("sealing cannot fail for this size");
        let mut out = Vec::with_capacity(SALT + buf.len());
        out.extend_from_slice(&salt);
        out.extend_from_slice(&buf);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The claims of a token this server sealed; `None` for anything else.
    pub fn open(&self, token: &str) -> Option<AccessToken> {
        if token.len() > 4096 {
            return None;
        }
        let mut raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        if raw.len() <= SALT {
            return None;
        }
        let mut body = raw.split_off(SALT);
        let plain = self
            .key(&raw)
            .open_in_place(
                Nonce::assume_unique_for_key([0; 12]),
                Aad::from(AAD),
                &mut body,
            )
            .ok()?;
        let mut claims: AccessToken = serde_json::from_slice(plain).ok()?;
        claims.id = URL_SAFE_NO_PAD.encode(&raw);
        Some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessToken {
        AccessToken {
            id: String::new(),
            client: "app".into(),
            user: Some("u1".into()),
            session: Some("s1".into()),
            family: "fam".into(),
            scopes: "openid profile".into(),
            issued_at: 1_000,
            expires_at: 601_000,
        }
    }

    #[test]
    fn a_sealed_token_opens_to_its_claims_and_nothing_else_opens() {
        let sealer = Sealer::new(&ServerKey::new(b"k".to_vec()));
        let token = sealer.seal(&claims(), [7; 16]);
        let opened = sealer.open(&token).expect("opens");
        assert_eq!(opened.id, URL_SAFE_NO_PAD.encode([7; 16]));
        assert_eq!(
            AccessToken {
                id: String::new(),
                ..opened
            },
            claims()
        );

        // Another server's key, a changed byte, a cut token, garbage: none opens.
        let other = Sealer::new(&ServerKey::new(b"other".to_vec()));
        assert!(other.open(&token).is_none());
        let mut raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in [0, 16, raw.len() - 1] {
            raw[i] ^= 1;
            assert!(
                sealer.open(&URL_SAFE_NO_PAD.encode(&raw)).is_none(),
                "byte {i}"
            );
            raw[i] ^= 1;
        }
        assert!(sealer.open(&token[..token.len() - 4]).is_none());
        for junk in ["", "x", "not base64 !", &"A".repeat(5000)] {
            assert!(sealer.open(junk).is_none());
        }
        // The claims are not readable in the token.
        assert!(!String::from_utf8_lossy(&raw).contains("u1"));
    }
}
