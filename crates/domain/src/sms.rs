//! The size of an SMS: which coding carries it and how many parts it is billed as.
//!
//! GSM 03.38 (3GPP TS 23.038): a text made only of the 7-bit default alphabet and its extension
//! table travels as 160 septets per message (153 per part when concatenated; extension
//! characters take two). Anything else — Devanagari, Bengali, Cyrillic — travels as UCS-2:
//! 70 characters, 67 per part.

/// The default alphabet's printable characters (line feed and carriage return included).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters of the extension table, sent as an escape and the character: two septets.
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// How an SMS's text is encoded.
pub enum SmsCoding {
    /// The GSM 03.38 alphabet: 160 characters in one part, 153 per part when split.
    Gsm7,
    /// UCS-2, for every other script: 70 characters in one part, 67 per part when split.
    Ucs2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// What a text costs as SMS.
pub struct SmsSize {
    /// Its encoding.
    pub coding: SmsCoding,
    /// Septets for GSM 7-bit, UTF-16 code units for UCS-2.
    pub units: usize,
    /// Messages the network carries and bills.
    pub parts: usize,
}

/// How `text` travels and how many parts it takes.
pub fn size(text: &str) -> SmsSize {
    let septets: Option<usize> = text
        .chars()
        .map(|c| {
            if GSM_BASIC.contains(c) {
                Some(1)
            } else if GSM_EXTENDED.contains(c) {
                Some(2)
            } else {
                None
            }
        })
        .sum();
    let (coding, units, single, part) = match septets {
        Some(n) => (SmsCoding::Gsm7, n, 160, 153),
        None => (SmsCoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let parts = if units <= single {
        1
    } else {
        units.div_ceil(part)
    };
    SmsSize {
        coding,
        units,
        parts,
    }
}

/// `text` with the typographic characters pages use replaced by plain ones, so that an
/// English message stays in the 7-bit alphabet: a masking dot becomes `*`, non-breaking
/// spaces and hyphens ordinary ones, curly apostrophes straight ones.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '•' => out.push('*'),
            '\u{a0}' | '\u{202f}' => out.push(' '),
            '\u{2011}' | '\u{2010}' | '–' => out.push('-'),
            '’' | '‘' => out.push('\''),
            // The rupee sign is not in the 7-bit alphabet; "Rs." is how SMS write it.
            '₹' => out.push_str("Rs."),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gsm_texts_fit_160_septets() {
        let s = size(&"a".repeat(160));
        assert_eq!((s.coding, s.parts), (SmsCoding::Gsm7, 1));
        assert_eq!(size(&"a".repeat(161)).parts, 2);
        assert_eq!(size(&"a".repeat(306)).parts, 2);
        assert_eq!(size(&"a".repeat(307)).parts, 3);
        // Extension characters take two septets.
        assert_eq!(size(&"€".repeat(80)).units, 160);
        assert_eq!(size(&"€".repeat(81)).parts, 2);
    }

    #[test]
    fn other_scripts_travel_as_ucs2() {
        let s = size("एकद्वार कोड 123456");
        assert_eq!(s.coding, SmsCoding::Ucs2);
        assert_eq!(size(&"д".repeat(70)).parts, 1);
        assert_eq!(size(&"д".repeat(71)).parts, 2);
        assert_eq!(size(&"д".repeat(134)).parts, 2);
        assert_eq!(size(&"д".repeat(135)).parts, 3);
        // One bullet turns an English text into UCS-2; `plain` keeps it 7-bit.
        assert_eq!(size("+91 ••••• ••678").coding, SmsCoding::Ucs2);
        assert_eq!(size(&plain("+91 ••••• ••678")).coding, SmsCoding::Gsm7);
        assert_eq!(plain("paid ₹1,500"), "paid Rs.1,500");
        assert_eq!(size(&plain("paid ₹1,500")).coding, SmsCoding::Gsm7);
    }
}
