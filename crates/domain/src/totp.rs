//! Time-based one-time passwords (RFC 6238 over RFC 4226): six digits from HMAC-SHA-1 of the
//! 30-second step, the parameters every authenticator app understands. Recovery codes for when
//! the phone with the app is lost.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::otp::OtpCode;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// Steps on either side of now that are still accepted, for clocks a little apart.
pub const SKEW_STEPS: i64 = 1;

/// A shared secret, never shown except at enrolment.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl TotpSecret {
    /// A secret from its raw bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret's raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 without padding, the form authenticator apps take.
    pub fn base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }

    /// A key as typed into an app: base32, spaces and case ignored.
    pub fn from_base32(s: &str) -> Option<Self> {
        let clean: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        data_encoding::BASE32_NOPAD
            .decode(clean.as_bytes())
            .ok()
            .map(Self)
    }

    /// The base32 form in groups of four, easier to type from the screen.
    pub fn grouped(&self) -> String {
        let b = self.base32();
        b.as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The code for one step (RFC 4226's HOTP with the step as counter).
    pub fn code_at_step(&self, step: i64) -> String {
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&self.0).expect("any key length");
        mac.update(&step.to_be_bytes());
        let h = mac.finalize().into_bytes();
        let offset = usize::from(h[h.len() - 1] & 0x0f);
        let bin = u32::from_be_bytes([
            h[offset] & 0x7f,
            h[offset + 1],
            h[offset + 2],
            h[offset + 3],
        ]);
        format!("{:0width$}", bin % 10u32.pow(DIGITS as u32), width = DIGITS)
    }

    /// The code shown by an app at `unix_seconds`.
    pub fn code_at(&self, unix_seconds: i64) -> String {
        self.code_at_step(step_of(unix_seconds))
    }

    /// The step `code` belongs to, if it is the code of a step within the allowed skew of
    /// `unix_seconds`. The comparison does not stop at the first differing digit.
    pub fn matching_step(&self, code: &OtpCode, unix_seconds: i64) -> Option<i64> {
        let now = step_of(unix_seconds);
        let mut found = None;
        for step in now - SKEW_STEPS..=now + SKEW_STEPS {
            let expected = self.code_at_step(step);
            let same = expected
                .bytes()
                .zip(code.as_str().bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
            if same && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://` address an app reads from the QR code.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            enc(issuer).replace('+', "%20"),
            enc(account).replace('+', "%20"),
            self.base32(),
            enc(issuer).replace('+', "%20"),
        )
    }
}

/// The 30-second step a moment falls in.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// How many recovery codes an account gets at a time.
pub const RECOVERY_CODES: usize = 10;

/// Letters of recovery codes: no 0/o, 1/l/i, to be read off paper without doubt.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A recovery code: ten letters and digits shown as `xxxxx-xxxxx`, about 49 bits.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(***)")
    }
}

impl RecoveryCode {
    /// A code of ten letters, each chosen by `below(n)`, an unbiased random number in `0..n`.
    pub fn from_random(mut below: impl FnMut(u32) -> u32) -> Self {
        let n = RECOVERY_ALPHABET.len() as u32;
        Self(
            (0..10)
                .map(|_| char::from(RECOVERY_ALPHABET[below(n) as usize]))
                .collect(),
        )
    }

    /// A code as typed: case, spaces and dashes do not matter.
    pub fn parse(s: &str) -> Option<Self> {
        let c: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        (c.len() == 10 && c.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(Self(c))
    }

    /// The form stored (hashed) and compared.
    pub fn canonical(&self) -> &str {
        &self.0
    }

    /// The form shown: two groups of five.
    pub fn shown(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (eight digits there; the last six are ours).
    #[test]
    fn rfc_6238_vectors() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        for (t, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(s.code_at(t), eight[2..], "t={t}");
        }
    }

    #[test]
    fn neighbouring_steps_match_others_do_not() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        let now = 1_234_567_890;
        for (offset, expect) in [
            (-30, true),
            (0, true),
            (30, true),
            (-60, false),
            (60, false),
        ] {
            let code = OtpCode::parse(&s.code_at(now + offset)).unwrap();
            assert_eq!(
                s.matching_step(&code, now).is_some(),
                expect,
                "offset {offset}"
            );
        }
        assert_eq!(
            s.matching_step(&OtpCode::parse(&s.code_at(now)).unwrap(), now),
            Some(step_of(now))
        );
    }

    #[test]
    fn typed_codes() {
        let mut i = 0;
        let r = RecoveryCode::from_random(|n| {
            i += 7;
            i % n
        });
        assert_eq!(
            RecoveryCode::parse(&r.shown().to_uppercase()),
            Some(r.clone())
        );
        assert_eq!(r.shown().len(), 11);
        assert!(RecoveryCode::parse("abcde-fghi0").is_none());
    }

    #[test]
    fn uri_and_key_forms() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        assert_eq!(s.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(s.grouped().starts_with("GEZD GNBV "));
        assert_eq!(
            TotpSecret::from_base32(&s.grouped().to_lowercase()),
            Some(s.clone())
        );
        assert_eq!(
            s.uri("Ekdwar Portal", "asha.kumari"),
            "otpauth://totp/Ekdwar%20Portal:asha.kumari?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Ekdwar%20Portal&algorithm=SHA1&digits=6&period=30"
        );
    }
}
