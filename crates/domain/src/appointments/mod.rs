//! Appointments at service centres: centres and their slots, the booking rules, appointment
//! numbers and PIN codes.

pub mod centre;
pub mod rules;

use std::fmt;

use crate::catalog::arn::{generate_reference, grouped, parse_reference};

pub use centre::{Capability, Centre, CentreDefinition, CentreFile, CentreKind, SlotSpec};
pub use rules::{BookingPolicy, History, Refusal};

/// An appointment's number: `AP`, the year, eight random digits and a check digit. With the
/// SMS that carries it, it is the citizen's proof of the booking.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppointmentNo(String);

impl AppointmentNo {
    /// A new number for `year`.
    pub fn generate(year: i16, random: impl FnMut(u32) -> u32) -> Self {
        Self(generate_reference("AP", year, 8, random))
    }

    /// Reads a number as typed (any case, spaces and hyphens ignored).
    pub fn parse(input: &str) -> Option<Self> {
        parse_reference(input, "AP", 8).map(Self)
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppointmentNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&grouped(&self.0))
    }
}

/// A postal (PIN) code: six digits, the first not zero (India's PIN codes, Russia's indexes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pincode(String);

impl Pincode {
    /// Reads a code as typed (spaces ignored).
    pub fn parse(input: &str) -> Option<Self> {
        let s: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        (s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0'))
            .then_some(Self(s))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_pincodes_read_as_typed() {
        let n = AppointmentNo::generate(2026, |_| 4);
        assert_eq!(
            AppointmentNo::parse(&n.to_string().to_lowercase()),
            Some(n.clone())
        );
        assert!(n.as_str().starts_with("AP26"));
        assert_eq!(AppointmentNo::parse("AP2644444444"), None);
        assert_eq!(Pincode::parse("302 017").unwrap().as_str(), "302017");
        assert_eq!(Pincode::parse("012345"), None);
        assert_eq!(Pincode::parse("30201"), None);
    }
}
