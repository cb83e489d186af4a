//! National identifiers, parsed once: an Aadhaar number, its 16-digit Virtual ID, a PAN and a
//! SNILS. Each is normalised (spaces and dashes dropped, letters upper-cased) and checked by
//! its own rule — the Verhoeff check digit (Aadhaar, VID), the PAN's pattern and holder type,
//! the SNILS control number — so a value of these types is always well-formed. Whether the
//! number belongs to the person is a registry's question, not this module's.

use std::fmt;

use crate::catalog::arn::verhoeff_valid;

/// Why a typed identifier was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not the right number of digits or characters.
    #[error("wrong length")]
    Length,
    /// A character that has no place there.
    #[error("unexpected character")]
    Character,
    /// The check digit (or control number) does not match: a typo.
    #[error("check digit does not match")]
    Check,
}

/// Digits only, without the spaces and dashes people type between groups.
fn digits(input: &str, n: usize) -> Result<String, IdError> {
    let kept: String = input
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect();
    if !kept.chars().all(|c| c.is_ascii_digit()) {
        return Err(IdError::Character);
    }
    if kept.len() != n {
        return Err(IdError::Length);
    }
    Ok(kept)
}

/// An Aadhaar number: 12 digits, not starting with 0 or 1, the last a Verhoeff check digit.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Aadhaar(String);

impl Aadhaar {
    /// Parses it as people type it (spaces or dashes between groups allowed).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let d = digits(input, 12)?;
        if d.starts_with(['0', '1']) {
            return Err(IdError::Character);
        }
        if !verhoeff_valid(&d) {
            return Err(IdError::Check);
        }
        Ok(Self(d))
    }

    /// As stored: its digits (and letters) only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As UIDAI's masked Aadhaar shows it: only the last four digits.
    pub fn masked(&self) -> String {
        format!("XXXX XXXX {}", &self.0[8..])
    }
}

/// An Aadhaar Virtual ID: 16 digits, the last a Verhoeff check digit; it stands for the
/// Aadhaar number wherever one is asked.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Vid(String);

impl Vid {
    /// Parses it as people type it (spaces or dashes between groups allowed).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let d = digits(input, 16)?;
        if !verhoeff_valid(&d) {
            return Err(IdError::Check);
        }
        Ok(Self(d))
    }

    /// As stored: its digits (and letters) only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PAN (India's permanent account number): five letters, four digits, a letter; the fourth
/// letter says who holds it (P a person, C a company, H a Hindu undivided family, F a firm,
/// A an association, T a trust, B a body of individuals, L a local authority, J an artificial
/// juridical person, G a government).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Pan(String);

/// The PAN's holder types (its fourth letter).
const PAN_HOLDERS: &[u8] = b"PCHFATBLJG";

impl Pan {
    /// Parses it as people type it (spaces or dashes between groups allowed).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if s.chars().count() != 10 {
            return Err(IdError::Length);
        }
        let b = s.as_bytes();
        let shape = b[..5].iter().all(u8::is_ascii_uppercase)
            && b[5..9].iter().all(u8::is_ascii_digit)
            && b[9].is_ascii_uppercase();
        if !shape || !PAN_HOLDERS.contains(&b[3]) {
            return Err(IdError::Character);
        }
        Ok(Self(s))
    }

    /// As stored: its digits (and letters) only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a person holds it (rather than a company, a trust…).
    pub fn is_personal(&self) -> bool {
        self.0.as_bytes()[3] == b'P'
    }
}

/// A SNILS (Russia's individual insurance account number): nine digits and a two-digit control
/// number, written `123-456-789 01`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Snils(String);

impl Snils {
    /// Parses it as people type it (spaces or dashes between groups allowed).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let d = digits(input, 11)?;
        let (number, control) = d.split_at(9);
        // Numbers up to 001-001-998 were issued before control numbers existed.
        if number > "001001998" && control != snils_control(number) {
            return Err(IdError::Check);
        }
        Ok(Self(d))
    }

    /// As stored: its digits (and letters) only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Jan Aadhaar number (Rajasthan's family identity): 10 digits for the family, 11 for each
/// member. The Rajasthan Jan Aadhaar Authority publishes no check digit, so only the form is
/// checked here; whether it is the person's is the registry's answer.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct JanAadhaar(String);

impl JanAadhaar {
    /// Parses a family (10 digits) or member (11 digits) number as people type it.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        match digits(input, 11) {
            Ok(d) => Ok(Self(d)),
            Err(IdError::Length) => digits(input, 10).map(Self),
            Err(e) => Err(e),
        }
    }

    /// As stored: its digits only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it names one member of the family (11 digits) rather than the family.
    pub fn is_member(&self) -> bool {
        self.0.len() == 11
    }
}

crate::string_enum!(
    /// The kinds of national identifier a country profile may ask for.
    pub enum IdKind {
        /// India's Aadhaar number.
        Aadhaar => "aadhaar",
        /// Aadhaar's 16-digit Virtual ID.
        Vid => "vid",
        /// India's permanent account number (income tax).
        Pan => "pan",
        /// Rajasthan's Jan Aadhaar.
        JanAadhaar => "jan_aadhaar",
        /// Russia's individual insurance account number.
        Snils => "snils",
    }
);

/// A national identifier of any kind, parsed by its kind's rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NationalId {
    /// An Aadhaar number.
    Aadhaar(Aadhaar),
    /// An Aadhaar Virtual ID.
    Vid(Vid),
    /// A PAN.
    Pan(Pan),
    /// A Jan Aadhaar number.
    JanAadhaar(JanAadhaar),
    /// A SNILS.
    Snils(Snils),
}

impl NationalId {
    /// Parses `input` as an identifier of `kind`.
    pub fn parse(kind: IdKind, input: &str) -> Result<Self, IdError> {
        Ok(match kind {
            IdKind::Aadhaar => Self::Aadhaar(Aadhaar::parse(input)?),
            IdKind::Vid => Self::Vid(Vid::parse(input)?),
            IdKind::Pan => Self::Pan(Pan::parse(input)?),
            IdKind::JanAadhaar => Self::JanAadhaar(JanAadhaar::parse(input)?),
            IdKind::Snils => Self::Snils(Snils::parse(input)?),
        })
    }

    /// Its kind.
    pub fn kind(&self) -> IdKind {
        match self {
            Self::Aadhaar(_) => IdKind::Aadhaar,
            Self::Vid(_) => IdKind::Vid,
            Self::Pan(_) => IdKind::Pan,
            Self::JanAadhaar(_) => IdKind::JanAadhaar,
            Self::Snils(_) => IdKind::Snils,
        }
    }

    /// As stored: digits and capital letters only.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Aadhaar(v) => v.as_str(),
            Self::Vid(v) => v.as_str(),
            Self::Pan(v) => v.as_str(),
            Self::JanAadhaar(v) => v.as_str(),
            Self::Snils(v) => v.as_str(),
        }
    }

    /// As a person may be shown it on a page where others may look: all but the last four
    /// characters hidden.
    pub fn masked(&self) -> String {
        let s = self.as_str();
        let keep = s.len().saturating_sub(4);
        format!("{}{}", "•".repeat(keep), &s[keep..])
    }
}

impl crate::ErrorCode for IdError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length => "id-length",
            Self::Character => "id-character",
            Self::Check => "id-check",
        }
    }
}

/// The control number of a SNILS's nine digits: each digit times its position counted from
/// the right, summed; below 100 that sum, 100 and 101 give 00, above that the sum modulo 101
/// (where 100 again gives 00).
fn snils_control(number: &str) -> String {
    let sum: u32 = number
        .bytes()
        .zip((1..=9).rev())
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let control = match sum {
        0..=99 => sum,
        100 | 101 => 0,
        _ => match sum % 101 {
            100 => 0,
            r => r,
        },
    };
    format!("{control:02}")
}

impl fmt::Display for Snils {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(f, "{}-{}-{} {}", &d[..3], &d[3..6], &d[6..9], &d[9..])
    }
}

impl fmt::Display for Aadhaar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", &self.0[..4], &self.0[4..8], &self.0[8..])
    }
}

impl fmt::Display for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Identifiers are personal data: a debug print shows the kind, never the number.
macro_rules! redacted_debug {
    ($($t:ident),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), "(…)"))
            }
        }
    )*};
}
redacted_debug!(Aadhaar, Vid, Pan, Snils, JanAadhaar);

/// The code of an activation letter sent by post: 16 digits, the last a Verhoeff check digit
/// (a mistyped or swapped digit is caught before it counts as an attempt). Printed in groups of
/// four.
#[derive(Clone, PartialEq, Eq)]
pub struct ActivationCode(String);

impl ActivationCode {
    /// The code whose first fifteen digits are `body` (digits only).
    pub fn with_check_digit(body: &str) -> Result<Self, IdError> {
        let body = digits(body, 15)?;
        let check = crate::catalog::arn::verhoeff_digit(&body);
        Ok(Self(format!("{body}{check}")))
    }

    /// A code as typed (spaces and dashes allowed between groups).
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let d = digits(input, 16)?;
        if !verhoeff_valid(&d) {
            return Err(IdError::Check);
        }
        Ok(Self(d))
    }

    /// The sixteen digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `1234 5678 9012 3456`, as printed.
    pub fn grouped(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Debug for ActivationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ActivationCode(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::arn::verhoeff_digit;
    use proptest::prelude::*;

    fn with_check(body: &str) -> String {
        format!("{body}{}", verhoeff_digit(body))
    }

    #[test]
    fn known_numbers() {
        // UIDAI's published test Aadhaar numbers carry valid check digits.
        let a = Aadhaar::parse("9999 4105 7058").unwrap();
        assert_eq!(a.masked(), "XXXX XXXX 7058");
        assert_eq!(a.to_string(), "9999 4105 7058");
        assert_eq!(Aadhaar::parse("9999 4105 7057"), Err(IdError::Check));
        assert_eq!(Aadhaar::parse("1234 5678 9012"), Err(IdError::Character));
        assert_eq!(Aadhaar::parse("9999 4105 705"), Err(IdError::Length));
        assert_eq!(Aadhaar::parse("9999 4105 705a"), Err(IdError::Character));
        assert!(Pan::parse("abcpe1234f").unwrap().is_personal());
        assert_eq!(Pan::parse("AAACR5055K").unwrap().to_string(), "AAACR5055K");
        assert!(!Pan::parse("AAACR5055K").unwrap().is_personal());
        assert_eq!(
            Pan::parse("ABCDE1234F"),
            Err(IdError::Character),
            "D is no holder"
        );
        assert_eq!(Pan::parse("ABCP1234FE"), Err(IdError::Character));
        assert_eq!(Pan::parse("ABCPE1234"), Err(IdError::Length));
        let s = Snils::parse("112-233-445 95").unwrap();
        assert_eq!(s.to_string(), "112-233-445 95");
        assert_eq!(Snils::parse("112-233-445 96"), Err(IdError::Check));
        // Before control numbers, anything went.
        assert!(Snils::parse("001-001-998 00").is_ok());
        assert_eq!(format!("{a:?} {s:?}"), "Aadhaar(…) Snils(…)");
    }

    #[test]
    fn jan_aadhaar_is_ten_digits_for_a_family_and_eleven_for_a_member() {
        assert!(!JanAadhaar::parse("1234 5678 90").unwrap().is_member());
        assert!(JanAadhaar::parse("1234-5678-901").unwrap().is_member());
        assert_eq!(JanAadhaar::parse("123456789"), Err(IdError::Length));
        assert_eq!(JanAadhaar::parse("123456789012"), Err(IdError::Length));
        assert_eq!(JanAadhaar::parse("12345678a0"), Err(IdError::Character));
    }

    #[test]
    fn any_kind_parses_by_its_own_rule_and_masks_all_but_four() {
        let id = NationalId::parse(IdKind::Snils, "112-233-445 95").unwrap();
        assert_eq!(id.kind(), IdKind::Snils);
        assert_eq!(id.as_str(), "11223344595");
        assert_eq!(id.masked(), "•••••••4595");
        assert_eq!(
            NationalId::parse(IdKind::Aadhaar, "9999 4105 7057"),
            Err(IdError::Check)
        );
        assert_eq!(
            NationalId::parse(IdKind::Pan, "abcpe1234f")
                .unwrap()
                .as_str(),
            "ABCPE1234F"
        );
        assert!(NationalId::parse(IdKind::JanAadhaar, "1234567890").is_ok());
        assert_eq!(
            format!(
                "{:?}",
                NationalId::parse(IdKind::Vid, &with_check("912345678901234")).unwrap()
            ),
            "Vid(Vid(…))"
        );
    }

    #[test]
    fn snils_control_numbers_at_the_edges() {
        // (nine digits, their weighted sum, the control number)
        for (number, sum, control) in [
            ("112233445", 95, "95"),
            ("911000004", 100, "00"),
            ("911000005", 101, "00"),
            ("911000006", 102, "01"),
            ("820981233", 201, "00"),
            ("999999999", 405, "01"),
        ] {
            assert_eq!(snils_control(number), control, "{number} (sum {sum})");
        }
    }

    proptest! {
        #[test]
        fn every_aadhaar_with_its_check_digit_parses_and_any_one_digit_changed_fails(
            first in 2u8..=9, rest in "[0-9]{10}", at in 0usize..12, by in 1u8..=9,
        ) {
            let n = with_check(&format!("{first}{rest}"));
            let parsed = Aadhaar::parse(&n).unwrap();
            prop_assert_eq!(parsed.as_str(), n.as_str());
            let mut typo = n.clone().into_bytes();
            typo[at] = b'0' + (typo[at] - b'0' + by) % 10;
            let typo = String::from_utf8(typo).unwrap();
            prop_assert!(Aadhaar::parse(&typo).is_err(), "{typo}");
        }

        #[test]
        fn every_vid_with_its_check_digit_parses(body in "[0-9]{15}") {
            let n = with_check(&body);
            prop_assert!(Vid::parse(&n).is_ok());
        }

        #[test]
        fn snils_written_either_way_is_the_same(number in "[0-9]{9}") {
            prop_assume!(number.as_str() > "001001998");
            let d = format!("{number}{}", snils_control(&number));
            let dashed = format!("{}-{}-{} {}", &d[..3], &d[3..6], &d[6..9], &d[9..]);
            prop_assert_eq!(Snils::parse(&d).unwrap(), Snils::parse(&dashed).unwrap());
        }

        #[test]
        fn parsing_anything_never_panics(s in "\\PC{0,24}") {
            let _ = (Aadhaar::parse(&s), Vid::parse(&s), Pan::parse(&s), Snils::parse(&s));
        }
    }

    #[test]
    fn an_activation_code_catches_a_typo_and_a_swap() {
        let code = ActivationCode::with_check_digit("123456789012345").unwrap();
        assert_eq!(code.as_str().len(), 16);
        assert_eq!(ActivationCode::parse(&code.grouped()), Ok(code.clone()));
        let mut typo: Vec<u8> = code.as_str().bytes().collect();
        typo[3] = if typo[3] == b'9' { b'0' } else { typo[3] + 1 };
        let typo = String::from_utf8(typo).unwrap();
        assert_eq!(ActivationCode::parse(&typo), Err(IdError::Check));
        let mut swap: Vec<u8> = code.as_str().bytes().collect();
        swap.swap(5, 6);
        if swap[5] != swap[6] {
            let swap = String::from_utf8(swap).unwrap();
            assert_eq!(ActivationCode::parse(&swap), Err(IdError::Check));
        }
        assert_eq!(ActivationCode::parse("1234"), Err(IdError::Length));
        assert_eq!(
            ActivationCode::parse("1234 5678 9012 345x"),
            Err(IdError::Character)
        );
        assert_eq!(format!("{code:?}"), "ActivationCode(****)");
    }

    proptest! {
        #[test]
        fn every_generated_activation_code_reads_back(body in "[0-9]{15}") {
            let code = ActivationCode::with_check_digit(&body).unwrap();
            prop_assert_eq!(ActivationCode::parse(&code.grouped()), Ok(code));
        }
    }
}
