//! A challenge that needs no third party: a proof of work the browser solves in the background
//! (SHA-256 with leading zero bits, as in Hashcash), with an accessible fallback for people
//! without JavaScript or using a screen reader: a small sum to type. Either answer is accepted.
//! Challenges are signed, expire, and can be used once.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ekdwar_domain::Timestamp;
use sha2::{Digest, Sha256};

use crate::core::Core;
use crate::error::{AppError, AppResult, FieldError};

const LIFETIME: Duration = Duration::from_secs(15 * 60);

/// A challenge to put into a form.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub token: String,
    pub nonce: String,
    pub difficulty: u8,
    pub a: u32,
    pub b: u32,
}

/// What came back with the form.
#[derive(Debug, Clone, Default)]
pub struct ChallengeAnswer {
    pub token: String,
    /// The proof-of-work counter found by the script.
    pub pow: String,
    /// The typed answer to the sum.
    pub text: String,
}

/// Number of leading zero bits of a digest.
fn leading_zero_bits(d: &[u8]) -> u32 {
    let mut n = 0;
    for b in d {
        if *b == 0 {
            n += 8;
        } else {
            n += b.leading_zeros();
            break;
        }
    }
    n
}

pub fn pow_ok(nonce: &str, counter: &str, difficulty: u8) -> bool {
    !counter.is_empty()
        && counter.len() <= 20
        && leading_zero_bits(&Sha256::digest(format!("{nonce}:{counter}").as_bytes()))
            >= u32::from(difficulty)
}

/// Finds a proof-of-work counter (what the page's script does).
pub fn solve_pow(nonce: &str, difficulty: u8) -> String {
    (0u64..)
        .map(|c| c.to_string())
        .find(|c| pow_ok(nonce, c, difficulty))
        .unwrap_or_default()
}

impl Core {
    pub fn new_challenge(&self) -> Challenge {
        let nonce = self.random.token(16);
        let difficulty = self.config.security.pow_difficulty;
        let a = 1 + self.random.below(9);
        let b = 1 + self.random.below(9);
        let expires = self.clock.now().plus(LIFETIME).millis();
        // The token carries a keyed hash of the sum, never the numbers: it cannot be read to
        // answer the question (security finding 5).
        let answer = self.answer_mac(&nonce, a + b);
        let payload = format!("{nonce}|{expires}|{difficulty}|{answer}");
        let sig = self.key.sign_b64(&[b"challenge", payload.as_bytes()]);
        Challenge {
            token: format!("{}.{sig}", URL_SAFE_NO_PAD.encode(payload)),
            nonce,
            difficulty,
            a,
            b,
        }
    }

    fn answer_mac(&self, nonce: &str, sum: u32) -> String {
        self.key.sign_b64(&[
            b"challenge-answer",
            nonce.as_bytes(),
            sum.to_string().as_bytes(),
        ])
    }

    /// Accepts a correct, fresh, unused answer; anything else is a field error on `captcha`.
    /// A challenge is spent by any answer, right or wrong, so its question cannot be tried
    /// twice.
    pub async fn check_challenge(&self, answer: &ChallengeAnswer) -> AppResult<()> {
        let wrong = || AppError::Form(vec![FieldError::new("captcha", "captcha-wrong")]);
        let (payload_b64, sig) = answer.token.split_once('.').ok_or_else(wrong)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .ok()
            .and_then(|p| String::from_utf8(p).ok())
            .ok_or_else(wrong)?;
        if !self
            .key
            .verify_b64(&[b"challenge", payload.as_bytes()], sig)
        {
            return Err(wrong());
        }
        let parts: Vec<&str> = payload.split('|').collect();
        let [nonce, expires, difficulty, answer_mac] = parts[..] else {
            return Err(wrong());
        };
        let expires = Timestamp::from_millis(expires.parse().map_err(|_| wrong())?);
        if expires <= self.clock.now() {
            return Err(AppError::Form(vec![FieldError::new(
                "captcha",
                "captcha-expired",
            )]));
        }
        let difficulty: u8 = difficulty.parse().map_err(|_| wrong())?;
        let mut conn = self.store.conn().await?;
        if !ekdwar_store::throttle::use_challenge(&mut conn, nonce, expires).await? {
            return Err(wrong());
        }
        let typed_ok = answer.text.trim().parse::<u32>().ok().is_some_and(|sum| {
            crate::security::constant_time_eq(
                self.answer_mac(nonce, sum).as_bytes(),
                answer_mac.as_bytes(),
            )
        });
        if !(typed_ok || pow_ok(nonce, answer.pow.trim(), difficulty)) {
            return Err(wrong());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow_round_trip() {
        let c = solve_pow("abc", 10);
        assert!(pow_ok("abc", &c, 10));
        assert!(!pow_ok("abd", "", 10));
        assert_eq!(leading_zero_bits(&[0, 0x10]), 11);
    }
}
