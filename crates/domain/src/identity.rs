//! Who a person is to the portal: contacts, portal ID, names, account level and type.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::ErrorCode;

/// Why a piece of identity input was refused. Codes are stable: templates translate them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("no mobile number or e-mail given")]
    /// Neither a phone number nor an e-mail address was given.
    ContactMissing,
    #[error("not a valid mobile number")]
    /// Not a mobile number of any of the deployment's regions.
    Phone,
    #[error("not a valid e-mail address")]
    /// Not an e-mail address.
    Email,
    #[error(
        "portal ID must be 4–32 letters, digits, dots, dashes or underscores, starting with a letter"
    )]
    /// A portal ID is 3–32 letters, digits, dots or underscores, starting with a letter.
    PortalIdFormat,
    #[error("this portal ID is reserved")]
    /// A portal ID reserved for the portal itself (admin, support, ...).
    PortalIdReserved,
    #[error("name is missing")]
    /// A name was left empty.
    NameMissing,
    #[error("name is too long")]
    /// A name longer than the limit.
    NameTooLong,
    #[error("name contains characters that are not allowed")]
    /// A name with characters no name has (digits, symbols, controls).
    NameCharacters,
    #[error("enter a mobile number, e-mail address or portal ID")]
    /// Not a phone number, e-mail address or portal ID.
    Identifier,
    #[error("unknown region")]
    /// Not a two-letter region code the phone library knows.
    Region,
    #[error("an employee ID is 3–20 letters, digits, dashes or slashes")]
    /// Not an employee ID.
    EmployeeId,
    #[error("a portal ID names the person, not their post")]
    /// A government employee's portal ID made of a designation (Rajasthan: name-based only).
    PortalIdDesignation,
}

impl ErrorCode for IdentityError {
    fn code(&self) -> &'static str {
        match self {
            Self::ContactMissing => "contact-missing",
            Self::Phone => "phone-invalid",
            Self::Email => "email-invalid",
            Self::PortalIdFormat => "portal-id-format",
            Self::PortalIdReserved => "portal-id-reserved",
            Self::NameMissing => "name-missing",
            Self::NameTooLong => "name-too-long",
            Self::NameCharacters => "name-characters",
            Self::Identifier => "identifier-invalid",
            Self::Region => "region-invalid",
            Self::EmployeeId => "employee-id-invalid",
            Self::PortalIdDesignation => "portal-id-designation",
        }
    }
}

/// A country whose numbering plan is assumed for phone numbers typed without `+`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(phonenumber::country::Id);

impl Region {
    /// Parses a two-letter region code (`IN`, `RU`).
    pub fn parse(code: &str) -> Result<Self, IdentityError> {
        phonenumber::country::Id::from_str(&code.trim().to_ascii_uppercase())
            .map(Self)
            .map_err(|_| IdentityError::Region)
    }
    /// India, the default region.
    pub fn india() -> Self {
        Self(phonenumber::country::Id::IN)
    }
    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    fn metadata(&self) -> Option<&'static phonenumber::metadata::Metadata> {
        phonenumber::metadata::DATABASE.by_id(self.0.as_ref())
    }

    /// A mobile number of this country written the two ways people type it: nationally
    /// (`8 (912) 345-67-89`, or `81234 56789` where the trunk prefix is an optional `0`) and
    /// internationally (`+7 912 345-67-89`).
    pub fn example_mobile(&self) -> Option<(String, String)> {
        let example = self.metadata()?.descriptors().mobile()?.example()?;
        let n = phonenumber::parse(Some(self.0), example).ok()?;
        let national = n.format().mode(phonenumber::Mode::National).to_string();
        let national = match national.strip_prefix('0') {
            Some(rest) if self.metadata()?.national_prefix() == Some("0") => rest.to_string(),
            _ => national,
        };
        Some((
            national,
            n.format()
                .mode(phonenumber::Mode::International)
                .to_string(),
        ))
    }
}

/// The numbering plans tried, in order, for a number typed without `+`: the person's own
/// region first (from their language), then the deployment's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regions(Vec<Region>);

impl Regions {
    /// Never empty: `first` is always tried.
    pub fn new(first: Region, rest: impl IntoIterator<Item = Region>) -> Self {
        let mut list = vec![first];
        for r in rest {
            if !list.contains(&r) {
                list.push(r);
            }
        }
        Self(list)
    }
    /// India alone.
    pub fn india() -> Self {
        Self(vec![Region::india()])
    }
    /// The same plans with `first` tried before them.
    pub fn preferring(&self, first: Option<Region>) -> Self {
        match first {
            Some(r) => Self::new(r, self.0.iter().copied()),
            None => self.clone(),
        }
    }
    /// The region tried first.
    pub fn first(&self) -> Region {
        self.0[0]
    }
    /// Numbers to show in a hint: the first region's written both ways, the second's
    /// national form.
    pub fn examples(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((national, international)) = self.first().example_mobile() {
            out.push(national);
            out.push(international);
        }
        if let Some((national, _)) = self.0.get(1).and_then(Region::example_mobile) {
            out.push(national);
        }
        out
    }
    /// The regions in the order they are tried.
    pub fn iter(&self) -> impl Iterator<Item = Region> + '_ {
        self.0.iter().copied()
    }
}

/// A mobile number, normalised to E.164 (`+919812345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Phone(String);

impl Phone {
    /// Accepts international numbers (`+7 912 …`) and national ones in any of `regions`,
    /// with or without the trunk prefix (`8 912 …`, `098123 …`, `98123 45678`).
    pub fn parse(input: &str, regions: &Regions) -> Result<Self, IdentityError> {
        let input = input.trim();
        if input.is_empty()
            || input.len() > 32
            || !input
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            return Err(IdentityError::Phone);
        }
        let valid = |region: Region, text: &str| {
            phonenumber::parse(Some(region.0), text)
                .ok()
                .filter(phonenumber::is_valid)
        };
        let found = regions.iter().find_map(|region| {
            valid(region, input).or_else(|| {
                // A national number that starts like the country code (Indian 91234 56789)
                // is read as international unless its trunk prefix is written out.
                let prefix = region.metadata()?.national_prefix()?;
                (!input.starts_with('+'))
                    .then(|| valid(region, &format!("{prefix}{input}")))
                    .flatten()
            })
        });
        let number = found.ok_or(IdentityError::Phone)?;
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// Re-creates a phone read back from storage, where only E.164 values are written.
    pub fn from_trusted(e164: String) -> Self {
        Self(e164)
    }

    /// The number in E.164 form, with `+`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number grouped the way its country writes it: `+91 98123 45678`.
    pub fn formatted(&self) -> String {
        phonenumber::parse(None, &self.0)
            .map(|n| {
                n.format()
                    .mode(phonenumber::Mode::International)
                    .to_string()
            })
            .unwrap_or_else(|_| self.0.clone())
    }

    /// The formatted number with all but the country code and the last three digits hidden:
    /// `+91 ••••• ••678`.
    pub fn masked(&self) -> String {
        let shown = self.formatted();
        let (code, rest) = match shown.split_once(' ') {
            Some((code, rest)) if code.starts_with('+') => (format!("{code} "), rest),
            _ => (String::new(), shown.as_str()),
        };
        let digits = rest.chars().filter(char::is_ascii_digit).count();
        let mut seen = 0;
        let masked: String = rest
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    seen += 1;
                    if seen + 3 <= digits { '•' } else { c }
                } else {
                    c
                }
            })
            .collect();
        format!("{code}{masked}")
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, lower-cased so that look-ups are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Email(String);

impl Email {
    /// Parses an e-mail address (lower-cased; one `@`, a domain with a dot).
    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let s = input.trim();
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(IdentityError::Email);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(IdentityError::Email)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && !local.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '\\', '"']);
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| {
                tld.chars().all(char::is_alphabetic) && tld.chars().count() >= 2
            });
        if local_ok && domain_ok {
            Ok(Self(s.to_lowercase()))
        } else {
            Err(IdentityError::Email)
        }
    }

    /// Re-creates an address read back from storage, where only parsed values are written.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    /// The address as stored (lower case).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `a•••@example.org`
    pub fn masked(&self) -> String {
        match self.0.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}•••@{domain}")
            }
            None => "•••".into(),
        }
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A way to reach a person, verified before it is attached to an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contact {
    /// A mobile phone number.
    Phone(Phone),
    /// An e-mail address.
    Email(Email),
}

impl Contact {
    /// An e-mail address if the input contains `@`, a mobile number otherwise.
    pub fn parse(input: &str, regions: &Regions) -> Result<Self, IdentityError> {
        if input.trim().is_empty() {
            return Err(IdentityError::ContactMissing);
        }
        if input.contains('@') {
            Email::parse(input).map(Self::Email)
        } else {
            Phone::parse(input, regions).map(Self::Phone)
        }
    }
    /// How a message reaches this contact.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Phone(_) => Channel::Sms,
            Self::Email(_) => Channel::Email,
        }
    }
    /// The contact as stored: E.164 or a lower-cased address.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Phone(p) => p.as_str(),
            Self::Email(e) => e.as_str(),
        }
    }
    /// The contact shown partly hidden, for pages that must not reveal it whole.
    pub fn masked(&self) -> String {
        match self {
            Self::Phone(p) => p.masked(),
            Self::Email(e) => e.masked(),
        }
    }
    /// Rebuilds a contact stored with its channel.
    pub fn from_trusted(channel: Channel, value: String) -> Self {
        match channel {
            Channel::Sms => Self::Phone(Phone::from_trusted(value)),
            Channel::Email => Self::Email(Email::from_trusted(value)),
        }
    }
}

/// Where a one-time secret goes: a person's contact, or nobody — a decoy, written where an
/// unknown account must cost the same writes as a known one, and never delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A real person's contact.
    Contact(Contact),
    /// Pretends to be a contact on `channel`; `key` tells decoys apart (a portal ID's key).
    Decoy {
        /// The channel a real message would have taken.
        channel: Channel,
        /// What the decoy is counted under (limits treat it as a real contact).
        key: String,
    },
}

impl Recipient {
    const DECOY: &'static str = "decoy:";

    /// How the message would have travelled.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Contact(c) => c.channel(),
            Self::Decoy { channel, .. } => *channel,
        }
    }

    /// The text stored with a verification; a decoy's can never be read back as a contact.
    pub fn stored(&self) -> String {
        match self {
            Self::Contact(c) => c.as_str().to_string(),
            Self::Decoy { key, .. } => format!("{}{key}", Self::DECOY),
        }
    }

    /// Reads back what [`Recipient::stored`] wrote.
    pub fn from_stored(channel: Channel, value: String) -> Self {
        match value.strip_prefix(Self::DECOY) {
            Some(key) => Self::Decoy {
                channel,
                key: key.to_string(),
            },
            None => Self::Contact(Contact::from_trusted(channel, value)),
        }
    }

    /// The contact, unless this is a decoy.
    pub fn contact(&self) -> Option<&Contact> {
        match self {
            Self::Contact(c) => Some(c),
            Self::Decoy { .. } => None,
        }
    }
}

crate::string_enum!(
    /// How a message reaches a person.
    pub enum Channel {
        /// By SMS.
        Sms => "sms",
        /// By e-mail.
        Email => "email",
    }
);

const RESERVED_PORTAL_IDS: &[&str] = &[
    "admin",
    "administrator",
    "root",
    "system",
    "support",
    "helpdesk",
    "ekdwar",
    "official",
    "operator",
    "security",
    "postmaster",
    "webmaster",
    "null",
    "anonymous",
];

/// Posts that a government employee's portal ID may not be made of.
const DESIGNATIONS: &[&str] = &[
    "collector",
    "commissioner",
    "secretary",
    "director",
    "officer",
    "sdm",
    "sdo",
    "bdo",
    "tehsildar",
    "patwari",
    "clerk",
    "inspector",
    "superintendent",
    "registrar",
    "dm",
    "adm",
    "ceo",
    "head",
    "chief",
    "deputy",
    "joint",
    "principal",
];

/// A government employee's ID in their department's records (Rajasthan's SIPF/HRMS number),
/// kept in capitals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct EmployeeId(String);

impl EmployeeId {
    /// Parses an employee ID: 3–20 letters, digits, dashes or slashes, spaces dropped.
    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let ok = (3..=20).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/'))
            && s.chars().any(|c| c.is_ascii_alphanumeric());
        if ok {
            Ok(Self(s))
        } else {
            Err(IdentityError::EmployeeId)
        }
    }

    /// The ID as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The username a person logs in with (Rajasthan's "SSO ID"). Shown as typed, compared
/// case-insensitively through [`PortalId::key`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct PortalId(String);

impl PortalId {
    /// Parses a portal ID typed by a person (case-insensitive; kept as typed).
    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let s = input.trim();
        let len = s.chars().count();
        let mut chars = s.chars();
        let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        let rest_ok = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        let ends_ok = s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
        if !(4..=32).contains(&len)
            || !starts_with_letter
            || !rest_ok
            || !ends_ok
            || s.contains("..")
        {
            return Err(IdentityError::PortalIdFormat);
        }
        if RESERVED_PORTAL_IDS.contains(&s.to_ascii_lowercase().as_str()) {
            return Err(IdentityError::PortalIdReserved);
        }
        Ok(Self(s.to_string()))
    }

    /// Re-creates a portal ID read back from storage.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    /// The portal ID as chosen.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form used for uniqueness and look-up.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// Refuses a portal ID made of a post rather than a name (`collector.jaipur`): a
    /// government employee's ID stays theirs when the post passes to someone else.
    pub fn name_based(self) -> Result<Self, IdentityError> {
        let key = self.key();
        let designation = key.split(['.', '_', '-']).any(|part| {
            DESIGNATIONS.contains(&part.trim_end_matches(|c: char| c.is_ascii_digit()))
        });
        if designation {
            Err(IdentityError::PortalIdDesignation)
        } else {
            Ok(self)
        }
    }

    /// A suggestion built from a person's name: the names transliterated to Latin letters
    /// (Devanagari, Bengali and Cyrillic names too) and joined by a dot, or `citizen` when
    /// nothing readable remains. The caller appends digits until free.
    pub fn suggestion_base(first: &PersonName, last: &PersonName) -> String {
        let clean = |n: &PersonName| -> String {
            any_ascii::any_ascii(&with_inherent_vowels(n.as_str()))
                .chars()
                .filter(|c| c.is_ascii_alphabetic())
                .take(14)
                .collect::<String>()
                .to_ascii_lowercase()
        };
        let (f, l) = (clean(first), clean(last));
        let base = match (f.is_empty(), l.is_empty()) {
            (false, false) => format!("{f}.{l}"),
            (false, true) => f,
            (true, false) => l,
            (true, true) => "citizen".to_string(),
        };
        if base.len() < 4 {
            format!("{base}.user")
        } else {
            base
        }
    }
}

/// Devanagari and Bengali write a consonant's vowel "a" by not writing one: शर्मा is
/// sha-r-maa. A letter-by-letter transliteration drops it ("srma"), so this writes the "a"
/// of each consonant not followed by a vowel sign or a virama, except at the end of a word
/// (where Hindi and Bengali do not say it: राजेश is "rajesh"), and the sibilants श/ष/শ/ষ as
/// "sh". Other scripts pass through for `any_ascii`.
fn with_inherent_vowels(name: &str) -> String {
    fn consonant(c: char) -> bool {
        matches!(c, '\u{0915}'..='\u{0939}' | '\u{0958}'..='\u{095F}' | '\u{0995}'..='\u{09B9}' | '\u{09DC}'..='\u{09DF}')
    }
    // Vowel signs, virama, nukta and other marks that sit on a consonant.
    fn mark(c: char) -> bool {
        matches!(c, '\u{093C}'..='\u{094D}' | '\u{0962}' | '\u{0963}' | '\u{09BC}'..='\u{09CD}' | '\u{09E2}' | '\u{09E3}' | '\u{0901}'..='\u{0903}' | '\u{0981}'..='\u{0983}')
    }
    fn virama_or_sign(c: char) -> bool {
        mark(c)
            && !matches!(c, '\u{093C}' | '\u{09BC}' | '\u{0901}'..='\u{0903}' | '\u{0981}'..='\u{0983}')
    }
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() * 2);
    for (i, &c) in chars.iter().enumerate() {
        if !consonant(c) {
            out.push(c);
            continue;
        }
        match c {
            '\u{0936}' | '\u{0937}' | '\u{09B6}' | '\u{09B7}' => out.push_str("sh"),
            _ => out.push(c),
        }
        // The marks on this consonant (a nukta first, perhaps), then what follows them.
        let mut j = i + 1;
        while j < chars.len() && matches!(chars[j], '\u{093C}' | '\u{09BC}') {
            j += 1;
        }
        let next = chars.get(j).copied();
        let silenced = next.is_some_and(virama_or_sign);
        let word_end = next.is_none_or(|n| !(consonant(n) || mark(n)));
        if !silenced && !word_end {
            out.push('a');
        }
    }
    out
}

impl fmt::Display for PortalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A given or family name in any script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonName(String);

impl PersonName {
    /// The longest name accepted, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a name: trimmed, NFC, 1–100 characters of letters, marks, spaces and `.'-`.
    pub fn parse(input: &str) -> Result<Self, IdentityError> {
        let s = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.is_empty() {
            return Err(IdentityError::NameMissing);
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(IdentityError::NameTooLong);
        }
        // Letters and marks of any script (Devanagari and Bengali need combining marks),
        // spaces, and the punctuation real names use.
        let ok = s.chars().all(|c| {
            c.is_alphabetic()
                || c == ' '
                || matches!(c, '.' | '\'' | '-' | '’')
                || is_combining_mark(c)
        });
        if !ok || !s.chars().any(char::is_alphabetic) {
            return Err(IdentityError::NameCharacters);
        }
        Ok(Self(s))
    }

    /// Re-creates a name read back from storage.
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    /// The name as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name folded for searching: compatibility-normalised (NFKC), lower-cased, written in Latin
/// letters (Devanagari, Bengali and Cyrillic too: `अमित` and `Амит` both become `amit`), with
/// apostrophes and dots dropped and every other separator one space. Stored keys and typed
/// searches go through the same fold, so a prefix of the one matches the other.
pub fn name_search_key(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let latin = any_ascii::any_ascii(&text.nfkc().collect::<String>().to_lowercase());
    let mut key = String::with_capacity(latin.len());
    for c in latin.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !matches!(c, '\'' | '.' | '`') && !key.is_empty() && !key.ends_with(' ') {
            key.push(' ');
        }
    }
    key.truncate(key.trim_end().len());
    key
}

/// The two search keys of a person: given name first, and family name first.
pub fn name_search_keys(first: &PersonName, last: &PersonName) -> (String, String) {
    (
        name_search_key(&format!("{} {}", first.as_str(), last.as_str())),
        name_search_key(&format!("{} {}", last.as_str(), first.as_str())),
    )
}

/// Unicode combining marks used by Indic scripts (matras, virama, nukta, anusvara...).
fn is_combining_mark(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F // combining diacritics
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0951..=0x0957 | 0x0962..=0x0963 // Devanagari
        | 0x0981..=0x0983 | 0x09BC | 0x09BE..=0x09CD | 0x09D7 | 0x09E2..=0x09E3 // Bengali
        | 0x200C | 0x200D) // zero-width (non-)joiner
}

/// What a person typed in the login box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginIdentifier {
    /// A phone number.
    Phone(Phone),
    /// An e-mail address.
    Email(Email),
    /// A portal ID.
    PortalId(PortalId),
}

impl LoginIdentifier {
    /// `@` means e-mail; only digits and phone punctuation mean a phone; anything else must be
    /// a portal ID (which always starts with a letter, so the three never overlap).
    pub fn parse(input: &str, regions: &Regions) -> Result<Self, IdentityError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(IdentityError::Identifier);
        }
        if s.contains('@') {
            return Email::parse(s).map(Self::Email);
        }
        if s.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        {
            return Phone::parse(s, regions).map(Self::Phone);
        }
        PortalId::parse(s)
            .map(Self::PortalId)
            .map_err(|_| IdentityError::Identifier)
    }

    /// A stable text form, used as a throttling key when no account matches.
    pub fn key(&self) -> String {
        match self {
            Self::Phone(p) => format!("phone:{}", p.as_str()),
            Self::Email(e) => format!("email:{}", e.as_str()),
            Self::PortalId(p) => format!("pid:{}", p.key()),
        }
    }
}

crate::string_enum!(
    /// How much the portal knows about a person (Gosuslugi's levels). Ordered: a service that
    /// needs `Standard` accepts `Verified`.
    pub enum AccountLevel {
        /// A contact verified by a code.
        Simplified => "simplified",
        /// Identity details checked against a registry.
        Standard => "standard",
        /// Identity confirmed in person or by a qualified signature.
        Verified => "verified",
    }
);

impl AccountLevel {
    /// The level after this one, if any.
    pub fn next(self) -> Option<Self> {
        match self {
            Self::Simplified => Some(Self::Standard),
            Self::Standard => Some(Self::Verified),
            Self::Verified => None,
        }
    }
}

crate::string_enum!(
    /// The registration type (Rajasthan SSO). Only `Citizen` is created for now.
    pub enum AccountType {
        /// A person.
        Citizen => "citizen",
        /// A business or organisation.
        Business => "business",
        /// An official of a department.
        Government => "government",
        /// Came in through an upstream provider, type not yet known.
        Other => "other",
    }
);

crate::string_enum!(
    /// Whether an account may log in.
    pub enum AccountStatus {
        /// May log in.
        Active => "active",
        /// May not log in until an administrator unlocks it.
        Locked => "locked",
    }
);

crate::string_enum!(
    /// What an account may do beyond using services.
    pub enum Role {
        /// A citizen (the everyday role).
        Citizen => "citizen",
        /// An administrator of the portal.
        Admin => "admin",
        /// Staff of a department: processes applications within their assignments.
        Officer => "officer",
        /// Staff who decide the registry checks sent to a specialist's review.
        Reviewer => "reviewer",
    }
);

impl Role {
    /// Staff accounts must log in with a second factor.
    pub fn requires_two_step(self) -> bool {
        matches!(self, Self::Admin | Self::Officer | Self::Reviewer)
    }
}

crate::string_enum!(
    /// What a code or link proves a contact for.
    pub enum Purpose {
        /// A new account.
        Register => "register",
        /// Getting back into an account.
        Recover => "recover",
        /// A new phone or e-mail for an account.
        Contact => "contact",
        /// A new account through Aadhaar: the registry's own code to the mobile linked to the
        /// number (never one the portal sends).
        Aadhaar => "aadhaar",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn employee_ids_and_name_based_portal_ids() {
        assert_eq!(
            EmployeeId::parse(" rj 1042/7 ").unwrap().as_str(),
            "RJ1042/7"
        );
        assert!(EmployeeId::parse("ab").is_err());
        assert!(EmployeeId::parse("RJ_1042").is_err());
        assert!(EmployeeId::parse("---").is_err());
        let ok = |p: &str| PortalId::parse(p).unwrap().name_based().is_ok();
        assert!(ok("meena.sharma"));
        assert!(ok("meena.sharma2"));
        assert!(!ok("collector.jaipur"));
        assert!(!ok("sdm-bassi"));
        assert!(!ok("tehsildar2.sanganer"));
    }
    use proptest::prelude::*;

    #[test]
    fn names_fold_to_one_search_key_across_case_and_script() {
        assert_eq!(name_search_key("Ravi  SHARMA"), "ravi sharma");
        assert_eq!(name_search_key("अमित"), "amit");
        assert_eq!(name_search_key("অমিত"), "amit");
        assert_eq!(name_search_key("Амит"), "amit");
        assert_eq!(name_search_key("O’Brien-Smith."), "obrien smith");
        assert_eq!(name_search_key("ＲＡＶＩ"), "ravi", "full-width letters");
        assert_eq!(name_search_key(" - "), "");
        let first = PersonName::parse("सुनीता").unwrap();
        let last = PersonName::parse("Devi").unwrap();
        let (given, family) = name_search_keys(&first, &last);
        assert!(given.starts_with(&name_search_key("Sunit")));
        assert!(family.starts_with(&name_search_key("devi s")));
    }

    proptest! {
        #[test]
        fn a_search_key_is_plain_ascii_and_folding_is_stable(s in "\\PC{0,40}") {
            let key = name_search_key(&s);
            prop_assert!(key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '));
            prop_assert!(!key.starts_with(' ') && !key.ends_with(' ') && !key.contains("  "));
            prop_assert_eq!(name_search_key(&key), key);
        }
    }

    #[test]
    fn decoys_are_never_read_back_as_contacts() {
        let decoy = Recipient::Decoy {
            channel: Channel::Sms,
            key: "asha.kumari".into(),
        };
        let back = Recipient::from_stored(Channel::Sms, decoy.stored());
        assert_eq!(back, decoy);
        assert!(back.contact().is_none());
        let real = Recipient::Contact(Contact::Phone(
            Phone::parse("98123 45678", &Regions::india()).unwrap(),
        ));
        assert_eq!(Recipient::from_stored(Channel::Sms, real.stored()), real);
    }

    #[test]
    fn indian_numbers_normalise_to_e164() {
        let r = &Regions::india();
        for input in [
            "9812345678",
            "+91 98123 45678",
            "098123-45678",
            "+919812345678",
        ] {
            assert_eq!(
                Phone::parse(input, r).unwrap().as_str(),
                "+919812345678",
                "{input}"
            );
        }
    }

    #[test]
    fn foreign_numbers_keep_their_country() {
        let p = Phone::parse("+7 912 345-67-89", &Regions::india()).unwrap();
        assert_eq!(p.as_str(), "+79123456789");
        let ru = Regions::new(Region::parse("ru").unwrap(), []);
        for input in ["8 912 345 67 89", "8 (912) 345-67-89", "912 345-67-89"] {
            assert_eq!(
                Phone::parse(input, &ru).unwrap().as_str(),
                "+79123456789",
                "{input}"
            );
        }
    }

    #[test]
    fn numbers_are_read_by_each_region_in_turn() {
        // An Indian deployment used in Russian: Russian numbers first, Indian ones still work.
        let both = Regions::india().preferring(Region::parse("RU").ok());
        assert_eq!(
            Phone::parse("8 912 345-67-89", &both).unwrap().as_str(),
            "+79123456789"
        );
        assert_eq!(
            Phone::parse("098123 45678", &both).unwrap().as_str(),
            "+919812345678"
        );
        assert_eq!(Regions::india().preferring(None), Regions::india());
    }

    #[test]
    fn indian_mobiles_that_start_like_the_country_code() {
        // 91234 56789 begins with 91, India's country code; it is still a national number.
        assert_eq!(
            Phone::parse("91234 56789", &Regions::india())
                .unwrap()
                .as_str(),
            "+919123456789"
        );
        assert_eq!(
            Phone::parse("+91 91234 56789", &Regions::india())
                .unwrap()
                .as_str(),
            "+919123456789"
        );
    }

    #[test]
    fn examples_show_how_to_type_a_number() {
        let (national, international) = Region::parse("RU").unwrap().example_mobile().unwrap();
        assert_eq!(national, "8 (912) 345-67-89");
        assert_eq!(international, "+7 912 345-67-89");
        let ru = Regions::new(Region::parse("RU").unwrap(), []);
        assert!(Phone::parse(&national, &ru).is_ok());
        assert!(Phone::parse(&international, &Regions::india()).is_ok());
        assert_eq!(
            Regions::india().examples(),
            ["81234 56789", "+91 81234 56789"]
        );
        assert_eq!(
            Regions::india()
                .preferring(Region::parse("RU").ok())
                .examples(),
            ["8 (912) 345-67-89", "+7 912 345-67-89", "81234 56789"]
        );
        for example in Regions::india().examples() {
            assert!(
                Phone::parse(&example, &Regions::india()).is_ok(),
                "{example}"
            );
        }
    }

    #[test]
    fn bad_phones_are_refused() {
        for bad in [
            "",
            "12",
            "abc",
            "98123456789012345",
            "+91 00000",
            "9812345678; drop",
        ] {
            assert_eq!(
                Phone::parse(bad, &Regions::india()),
                Err(IdentityError::Phone),
                "{bad}"
            );
        }
    }

    #[test]
    fn phone_masking_hides_the_middle() {
        let p = Phone::parse("9812345678", &Regions::india()).unwrap();
        assert_eq!(p.formatted(), "+91 98123 45678");
        assert_eq!(p.masked(), "+91 ••••• ••678");
        let ru = Phone::parse("+79123456789", &Regions::india()).unwrap();
        assert_eq!(ru.masked(), "+7 ••• •••-•7-89");
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" Asha.K@Example.ORG ").unwrap().as_str(),
            "asha.k@example.org"
        );
        for bad in [
            "", "a", "a@", "@b.in", "a@b", "a b@c.in", "a@@b.in", "a@b..in", "a@-b.in", "a@b.1",
        ] {
            assert_eq!(Email::parse(bad), Err(IdentityError::Email), "{bad}");
        }
    }

    #[test]
    fn portal_ids() {
        assert_eq!(
            PortalId::parse("Asha.Kumari7").unwrap().key(),
            "asha.kumari7"
        );
        assert_eq!(
            PortalId::parse("admin"),
            Err(IdentityError::PortalIdReserved)
        );
        for bad in [
            "abc",
            "1abc",
            "asha..k",
            "asha.",
            "आशा.k",
            "a b c d",
            &"a".repeat(33),
        ] {
            assert_eq!(
                PortalId::parse(bad),
                Err(IdentityError::PortalIdFormat),
                "{bad}"
            );
        }
    }

    #[test]
    fn names_in_every_script() {
        for ok in [
            "Asha",
            "आशा कुमारी",
            "অমিত",
            "Анна-Мария",
            "O'Brien",
            "D. Souza",
        ] {
            assert!(PersonName::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(PersonName::parse("  "), Err(IdentityError::NameMissing));
        assert_eq!(
            PersonName::parse("<script>"),
            Err(IdentityError::NameCharacters)
        );
        assert_eq!(
            PersonName::parse("  Asha   Rani ").unwrap().as_str(),
            "Asha Rani"
        );
    }

    #[test]
    fn suggestions_from_names() {
        let n = |s| PersonName::parse(s).unwrap();
        assert_eq!(
            PortalId::suggestion_base(&n("Asha"), &n("Kumari")),
            "asha.kumari"
        );
        assert_eq!(
            PortalId::suggestion_base(&n("राजेश"), &n("कुमारी")),
            "rajesh.kumari"
        );
        // The inherent vowels stay: not "sunita.srma".
        assert_eq!(
            PortalId::suggestion_base(&n("सुनीता"), &n("शर्मा")),
            "sunita.sharma"
        );
        assert_eq!(
            PortalId::suggestion_base(&n("মনোজ"), &n("বসু")),
            "manoj.basu"
        );
        assert_eq!(PortalId::suggestion_base(&n("অমিত"), &n("দাস")), "amit.das");
        assert_eq!(
            PortalId::suggestion_base(&n("Иван"), &n("Петров")),
            "ivan.petrov"
        );
        assert_eq!(PortalId::suggestion_base(&n("Al"), &n("Ó")), "al.o");
    }

    #[test]
    fn identifiers_never_overlap() {
        let r = &Regions::india();
        assert!(matches!(
            LoginIdentifier::parse("asha@x.in", r),
            Ok(LoginIdentifier::Email(_))
        ));
        assert!(matches!(
            LoginIdentifier::parse("98123 45678", r),
            Ok(LoginIdentifier::Phone(_))
        ));
        assert!(matches!(
            LoginIdentifier::parse("asha.k", r),
            Ok(LoginIdentifier::PortalId(_))
        ));
        assert_eq!(
            LoginIdentifier::parse("", r),
            Err(IdentityError::Identifier)
        );
    }

    #[test]
    fn levels_are_ordered() {
        assert!(AccountLevel::Verified > AccountLevel::Standard);
        assert_eq!(
            AccountLevel::Simplified.next(),
            Some(AccountLevel::Standard)
        );
        assert_eq!(
            AccountLevel::parse("verified"),
            Some(AccountLevel::Verified)
        );
    }

    proptest! {
        #[test]
        fn phone_parse_never_panics(s in "\\PC{0,40}") {
            let _ = Phone::parse(&s, &Regions::india());
        }

        #[test]
        fn parsed_phones_are_e164_and_stable(n in 6_000_000_000u64..9_999_999_999u64) {
            if let Ok(p) = Phone::parse(&n.to_string(), &Regions::india()) {
                prop_assert!(p.as_str().starts_with("+91"));
                prop_assert_eq!(Phone::parse(p.as_str(), &Regions::india()).unwrap(), p);
            }
        }

        #[test]
        fn parsed_emails_reparse_to_themselves(local in "[a-z0-9._%+-]{1,20}", domain in "[a-z]{1,10}\\.(in|org|com)") {
            if let Ok(e) = Email::parse(&format!("{local}@{domain}")) {
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e);
            }
        }

        #[test]
        fn portal_id_keys_are_case_insensitive(s in "[a-zA-Z][a-zA-Z0-9_]{3,31}") {
            if let Ok(p) = PortalId::parse(&s) {
                let upper = PortalId::parse(&s.to_ascii_uppercase()).unwrap();
                prop_assert_eq!(p.key(), upper.key());
            }
        }

        #[test]
        fn names_never_panic(s in "\\PC{0,120}") {
            let _ = PersonName::parse(&s);
        }
    }
}
