//! The application reference number (ARN): what a citizen quotes and types to track an
//! application. Random, so that one number says nothing about the next; with a Verhoeff check
//! digit, so that a mistyped digit or two swapped digits are caught before any look-up.

use std::fmt;

/// An ARN: `EK`, the two-digit year, eleven random digits and a check digit, written in groups
/// of four (`EK26 4821 9034 5617`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn(String);

/// A typed ARN is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an application reference number")]
pub struct ArnError;

impl crate::ErrorCode for ArnError {
    fn code(&self) -> &'static str {
        "arn-invalid"
    }
}

const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];
const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

/// The Verhoeff check digit of `digits` (ASCII digits only).
pub fn verhoeff_digit(digits: &str) -> u8 {
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        c = D[c as usize][P[(i + 1) % 8][(b - b'0') as usize] as usize];
    }
    INV[c as usize]
}

/// Whether `digits` ends in its Verhoeff check digit.
pub fn verhoeff_valid(digits: &str) -> bool {
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        c = D[c as usize][P[i % 8][(b - b'0') as usize] as usize];
    }
    c == 0
}

/// A reference people copy by hand: `prefix`, the two-digit year, `n` random digits and a
/// Verhoeff check digit (challans, appointment numbers follow the ARN's pattern).
pub(crate) fn generate_reference(
    prefix: &str,
    year: i16,
    n: usize,
    mut random: impl FnMut(u32) -> u32,
) -> String {
    let mut digits = format!("{:02}", year.rem_euclid(100));
    for _ in 0..n {
        digits.push(char::from(b'0' + random(10) as u8));
    }
    digits.push(char::from(b'0' + verhoeff_digit(&digits)));
    format!("{prefix}{digits}")
}

/// Reads a reference made by [`generate_reference`] as people type it (any case, spaces and
/// hyphens ignored): its stored form, if the prefix, length and check digit are right.
pub(crate) fn parse_reference(input: &str, prefix: &str, n: usize) -> Option<String> {
    let s: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    let digits = s.strip_prefix(prefix)?;
    (digits.len() == n + 3 && digits.bytes().all(|b| b.is_ascii_digit()) && verhoeff_valid(digits))
        .then_some(s)
}

/// Groups a stored reference by four for reading aloud and copying.
pub(crate) fn grouped(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Arn {
    /// A new ARN for `year` from eleven random digits (`random` gives numbers below its
    /// argument).
    pub fn generate(year: i16, mut random: impl FnMut(u32) -> u32) -> Self {
        let mut digits = format!("{:02}", year.rem_euclid(100));
        for _ in 0..11 {
            digits.push(char::from(b'0' + random(10) as u8));
        }
        let check = verhoeff_digit(&digits);
        digits.push(char::from(b'0' + check));
        Self(format!("EK{digits}"))
    }

    /// Reads an ARN as people type it: any case, with or without spaces and hyphens.
    pub fn parse(input: &str) -> Result<Self, ArnError> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        let digits = s.strip_prefix("EK").ok_or(ArnError)?;
        if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ArnError);
        }
        if !verhoeff_valid(digits) {
            return Err(ArnError);
        }
        Ok(Self(s))
    }

    /// The stored form (`EK26482190345617`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Arn {
    /// Grouped by four for reading aloud and copying: `EK26 4821 9034 5617`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let groups: Vec<String> = self
            .0
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        f.write_str(&groups.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verhoeff_matches_the_published_example() {
        // The classic example: 236 → check digit 3.
        assert_eq!(verhoeff_digit("236"), 3);
        assert!(verhoeff_valid("2363"));
        assert!(!verhoeff_valid("2364"));
    }

    #[test]
    fn arns_check_themselves() {
        let mut n = 0;
        let arn = Arn::generate(2026, |m| {
            n += 7;
            n % m
        });
        assert!(arn.as_str().starts_with("EK26"));
        assert_eq!(arn.as_str().len(), 16);
        assert_eq!(Arn::parse(&arn.to_string()).unwrap(), arn);
        assert_eq!(Arn::parse(&arn.as_str().to_lowercase()).unwrap(), arn);
        // Every single-digit slip and every swap of neighbours is caught.
        let s = arn.as_str().to_string();
        for i in 2..16 {
            for d in b'0'..=b'9' {
                let mut b = s.clone().into_bytes();
                if b[i] == d {
                    continue;
                }
                b[i] = d;
                assert!(Arn::parse(std::str::from_utf8(&b).unwrap()).is_err());
            }
            if i < 15 && s.as_bytes()[i] != s.as_bytes()[i + 1] {
                let mut b = s.clone().into_bytes();
                b.swap(i, i + 1);
                assert!(Arn::parse(std::str::from_utf8(&b).unwrap()).is_err());
            }
        }
        assert!(Arn::parse("").is_err());
        assert!(Arn::parse("EK12").is_err());
        assert!(Arn::parse("XX26482190345617").is_err());
    }
}
