//! One-time codes typed by people (sent by SMS).

use crate::ErrorCode;

/// Number of digits in every one-time code (NIST SP 800-63B asks for at least six).
pub const OTP_DIGITS: usize = 6;

/// A code as typed by the user: exactly [`OTP_DIGITS`] ASCII digits once spaces are removed.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a one-time code has {OTP_DIGITS} digits")]
/// What was typed is not a one-time code.
pub struct OtpFormatError;

impl ErrorCode for OtpFormatError {
    fn code(&self) -> &'static str {
        "otp-format"
    }
}

impl OtpCode {
    /// Parses a code as typed: spaces and dashes are ignored, digits of any script are read.
    pub fn parse(input: &str) -> Result<Self, OtpFormatError> {
        let digits: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if digits.len() == OTP_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(OtpFormatError)
        }
    }

    /// Builds a code from uniformly random bytes (rejection sampling keeps it unbiased).
    pub fn from_random(mut next_u32: impl FnMut() -> u32) -> Self {
        let modulus = 10u32.pow(OTP_DIGITS as u32);
        let limit = u32::MAX - (u32::MAX % modulus);
        loop {
            let v = next_u32();
            if v < limit {
                return Self(format!("{:0width$}", v % modulus, width = OTP_DIGITS));
            }
        }
    }

    /// The code's digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpCode(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_spaces() {
        assert_eq!(OtpCode::parse(" 123 456 ").unwrap().as_str(), "123456");
        assert_eq!(OtpCode::parse("123-456").unwrap().as_str(), "123456");
    }

    #[test]
    fn rejects_wrong_shapes() {
        for bad in ["", "12345", "1234567", "12a456", "१२३४५६"] {
            assert_eq!(OtpCode::parse(bad), Err(OtpFormatError), "{bad}");
        }
    }

    #[test]
    fn random_codes_keep_leading_zeros() {
        let code = OtpCode::from_random(|| 42);
        assert_eq!(code.as_str(), "000042");
        assert!(!format!("{code:?}").contains("42"));
    }
}
