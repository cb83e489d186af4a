//! Money: whole minor units (paise, kopecks) of one currency. No floats anywhere: an amount is
//! read from text digit by digit, added and compared as integers, and written back as text.

use std::fmt;

/// An ISO 4217 currency code: three capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// Why an amount or currency was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not three capital letters.
    #[error("not a currency code")]
    Currency,
    /// Not a non-negative amount with at most two decimals.
    #[error("not an amount")]
    Amount,
    /// Two amounts in different currencies were combined.
    #[error("amounts in different currencies")]
    Mixed,
    /// The sum does not fit.
    #[error("amount too large")]
    Overflow,
}

impl crate::ErrorCode for MoneyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Currency => "err-money-currency",
            Self::Amount | Self::Overflow => "err-money-amount",
            Self::Mixed => "err-money-mixed",
        }
    }
}

impl Currency {
    /// Indian rupees.
    pub const INR: Currency = Currency(*b"INR");
    /// Russian roubles.
    pub const RUB: Currency = Currency(*b"RUB");

    /// Reads a code (`INR`).
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let b = code.as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(MoneyError::Currency);
        }
        Ok(Self([b[0], b[1], b[2]]))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        // Three ASCII capitals, checked at parse.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    fn symbol(&self) -> &str {
        match &self.0 {
            b"INR" => "₹",
            b"RUB" => "₽",
            _ => self.as_str(),
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount of money: minor units (1/100) of a currency, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// `minor` hundredths of `currency` (150000 INR is ₹1,500).
    pub fn new(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Amount);
        }
        Ok(Self { minor, currency })
    }

    /// Nothing, in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// Reads a decimal amount as gateways and banks write it (`1500`, `1500.5`, `1500.00`):
    /// digits, then at most two decimals; no sign, no exponent, no grouping.
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let text = text.trim();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || whole.len() > 15 || !digits(whole) || frac.len() > 2 || !digits(frac)
        {
            return Err(MoneyError::Amount);
        }
        if text.ends_with('.') {
            return Err(MoneyError::Amount);
        }
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Amount)?;
        let frac: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| MoneyError::Amount)? * 10,
            _ => frac.parse().map_err(|_| MoneyError::Amount)?,
        };
        Self::new(whole * 100 + frac, currency)
    }

    /// The amount in minor units.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// Its currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether it is nothing.
    pub fn is_zero(&self) -> bool {
        self.minor == 0
    }

    /// The sum; amounts in different currencies do not add.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::Mixed);
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// What is left after taking `other`, or `None` when `other` is more (or another currency).
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        if self.currency != other.currency || other.minor > self.minor {
            return None;
        }
        Some(Money {
            minor: self.minor - other.minor,
            ..self
        })
    }

    /// The decimal form gateways and banks use: `1500.00`.
    pub fn to_decimal(&self) -> String {
        format!("{}.{:02}", self.minor / 100, self.minor % 100)
    }

    /// The amount as a person reads it in `lang` (a BCP 47 tag): rupees grouped the Indian
    /// way (`₹1,50,000`), roubles with spaces and a comma (`1 500,50 ₽`); whole amounts
    /// without decimals.
    pub fn display(&self, lang: &str) -> String {
        let whole = (self.minor / 100).to_string();
        let cents = self.minor % 100;
        if self.currency == Currency::RUB || lang.starts_with("ru") {
            let grouped = group(&whole, 3, 3, '\u{a0}');
            let amount = if cents == 0 {
                grouped
            } else {
                format!("{grouped},{cents:02}")
            };
            return format!("{amount}\u{a0}{}", self.currency.symbol());
        }
        let grouped = if self.currency == Currency::INR {
            group(&whole, 3, 2, ',')
        } else {
            group(&whole, 3, 3, ',')
        };
        let amount = if cents == 0 {
            grouped
        } else {
            format!("{grouped}.{cents:02}")
        };
        format!("{}{amount}", self.currency.symbol())
    }
}

/// Groups `digits`: the last `first` together, then groups of `rest` (Indian: 3 then 2).
fn group(digits: &str, first: usize, rest: usize, sep: char) -> String {
    if digits.len() <= first {
        return digits.to_string();
    }
    let (head, last) = digits.split_at(digits.len() - first);
    let mut parts = vec![last.to_string()];
    let mut head = head;
    while head.len() > rest {
        let (h, t) = head.split_at(head.len() - rest);
        parts.push(t.to_string());
        head = h;
    }
    parts.push(head.to_string());
    parts.reverse();
    parts.join(&sep.to_string())
}

impl fmt::Display for Money {
    /// `1500.00 INR`: unambiguous, for logs and files.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn inr(minor: i64) -> Money {
        Money::new(minor, Currency::INR).unwrap()
    }

    #[test]
    fn decimals_read_exactly() {
        assert_eq!(Money::parse_decimal("1500", Currency::INR), Ok(inr(150000)));
        assert_eq!(
            Money::parse_decimal("1500.5", Currency::INR),
            Ok(inr(150050))
        );
        assert_eq!(Money::parse_decimal(" 0.07 ", Currency::INR), Ok(inr(7)));
        for bad in ["", "-1", "1.234", "1e3", "1,500", ".5", "5.", "१५००", "+5"] {
            assert_eq!(
                Money::parse_decimal(bad, Currency::INR),
                Err(MoneyError::Amount),
                "{bad}"
            );
        }
        assert_eq!(Currency::parse("inr"), Err(MoneyError::Currency));
        assert_eq!(Money::new(-1, Currency::INR), Err(MoneyError::Amount));
    }

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(inr(150000).display("en"), "₹1,500");
        assert_eq!(inr(15000000).display("hi"), "₹1,50,000");
        assert_eq!(inr(12345678950).display("bn"), "₹12,34,56,789.50");
        assert_eq!(inr(99).display("en"), "₹0.99");
        let rub = Money::new(150050, Currency::RUB).unwrap();
        assert_eq!(rub.display("ru"), "1\u{a0}500,50\u{a0}₽");
        assert_eq!(inr(150000).to_decimal(), "1500.00");
        assert_eq!(inr(150000).to_string(), "1500.00 INR");
    }

    #[test]
    fn currencies_do_not_mix() {
        let rub = Money::new(1, Currency::RUB).unwrap();
        assert_eq!(inr(1).checked_add(rub), Err(MoneyError::Mixed));
        assert_eq!(inr(5).checked_sub(inr(6)), None);
        assert_eq!(inr(5).checked_sub(inr(2)), Some(inr(3)));
        assert_eq!(inr(i64::MAX).checked_add(inr(1)), Err(MoneyError::Overflow));
    }

    proptest! {
        #[test]
        fn decimal_form_round_trips(minor in 0i64..1_000_000_000_000) {
            let m = inr(minor);
            prop_assert_eq!(Money::parse_decimal(&m.to_decimal(), Currency::INR), Ok(m));
        }
    }
}
