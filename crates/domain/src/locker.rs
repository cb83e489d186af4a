//! The document locker's vocabulary: the URI an issued document is known by (DigiLocker's
//! `IssuerId-DocType-DocId`), the kinds of file a citizen may keep, told by their content and
//! never by their name, and the folders and descriptions they are filed under.

use crate::ErrorCode;

/// The largest file a citizen may upload: 10 MiB, as DigiLocker allows.
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// The longest description, in characters.
const MAX_DESCRIPTION: usize = 120;
/// The longest folder name, in characters.
const MAX_FOLDER: usize = 40;

/// Why a locker value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LockerError {
    /// Not `IssuerId-DocType-DocId`.
    #[error("not a document URI")]
    Uri,
    /// The file is not a PDF, JPEG or PNG, whatever its name says.
    #[error("not a PDF, JPEG or PNG file")]
    FileType,
    /// The file is larger than [`MAX_UPLOAD_BYTES`].
    #[error("file too large")]
    TooLarge,
    /// The file is empty.
    #[error("empty file")]
    Empty,
    /// No description, or one too long or with control characters.
    #[error("description missing or too long")]
    Description,
    /// A folder name too long or with characters a name cannot have.
    #[error("folder name invalid")]
    Folder,
}

impl ErrorCode for LockerError {
    fn code(&self) -> &'static str {
        match self {
            Self::Uri => "locker-uri",
            Self::FileType => "locker-file-type",
            Self::TooLarge => "locker-too-large",
            Self::Empty => "locker-empty",
            Self::Description => "locker-description",
            Self::Folder => "locker-folder",
        }
    }
}

/// An issued document's URI, `IssuerId-DocType-DocId`: the issuer's reversed domain
/// (`in.gov.cbse`), a five-letter document type (`HSCER`) and the issuer's id of the document
/// (letters and digits, 6 to 64).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocumentUri {
    text: String,
    issuer_len: usize,
}

impl DocumentUri {
    /// Parses a URI as an issuer sent it.
    pub fn parse(input: &str) -> Result<Self, LockerError> {
        let text = input.trim();
        let mut parts = text.rsplitn(3, '-');
        let (Some(doc_id), Some(doc_type), Some(issuer)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(LockerError::Uri);
        };
        let issuer_ok = IssuerId::parse(issuer).is_ok();
        let type_ok = DocType::parse(doc_type).is_ok();
        let id_ok =
            (6..=64).contains(&doc_id.len()) && doc_id.bytes().all(|b| b.is_ascii_alphanumeric());
        if issuer_ok && type_ok && id_ok {
            Ok(Self {
                text: text.to_string(),
                issuer_len: issuer.len(),
            })
        } else {
            Err(LockerError::Uri)
        }
    }

    /// Makes the URI of a new document.
    #[must_use]
    pub fn new(issuer: &IssuerId, doc_type: &DocType, doc_id: &str) -> Option<Self> {
        Self::parse(&format!(
            "{}-{}-{doc_id}",
            issuer.as_str(),
            doc_type.as_str()
        ))
        .ok()
    }

    /// The URI as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The issuer's id.
    #[must_use]
    pub fn issuer(&self) -> IssuerId {
        IssuerId(self.text[..self.issuer_len].to_string())
    }

    /// The document type.
    #[must_use]
    pub fn doc_type(&self) -> DocType {
        DocType(self.text[self.issuer_len + 1..self.issuer_len + 6].to_string())
    }

    /// The issuer's id of the document.
    #[must_use]
    pub fn doc_id(&self) -> &str {
        &self.text[self.issuer_len + 7..]
    }
}

impl TryFrom<String> for DocumentUri {
    type Error = LockerError;
    fn try_from(s: String) -> Result<Self, LockerError> {
        Self::parse(&s)
    }
}

impl From<DocumentUri> for String {
    fn from(u: DocumentUri) -> String {
        u.text
    }
}

impl std::fmt::Display for DocumentUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// An issuer's id: its reversed domain name, lower case, at least two labels (`in.gov.cbse`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssuerId(String);

impl IssuerId {
    /// Parses an issuer's id.
    pub fn parse(input: &str) -> Result<Self, LockerError> {
        let labels: Vec<&str> = input.split('.').collect();
        let ok = labels.len() >= 2
            && input.len() <= 100
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if ok {
            Ok(Self(input.to_string()))
        } else {
            Err(LockerError::Uri)
        }
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A document type: five capital letters (`HSCER` a class 12 marksheet, `INCER` an income
/// certificate).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocType(String);

impl DocType {
    /// Parses a document type.
    pub fn parse(input: &str) -> Result<Self, LockerError> {
        if input.len() == 5 && input.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(input.to_string()))
        } else {
            Err(LockerError::Uri)
        }
    }

    /// The type as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The kinds of file a locker keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A PDF document.
    Pdf,
    /// A JPEG photograph or scan.
    Jpeg,
    /// A PNG image.
    Png,
}

impl FileKind {
    /// What the file's first bytes say it is: its name and the browser's claim count for
    /// nothing. A renamed program, a ZIP or an HTML page is refused.
    pub fn sniff(head: &[u8]) -> Result<Self, LockerError> {
        if head.is_empty() {
            Err(LockerError::Empty)
        } else if head.starts_with(b"%PDF-") {
            Ok(Self::Pdf)
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Ok(Self::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Ok(Self::Png)
        } else {
            Err(LockerError::FileType)
        }
    }

    /// How many first bytes [`FileKind::sniff`] needs.
    pub const SNIFF_BYTES: usize = 8;

    /// Its media type.
    #[must_use]
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// Its name as people read it (`PDF`).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
        }
    }

    /// Its usual file name extension.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }

    /// The kind a stored media type names.
    #[must_use]
    pub fn from_mime(mime: &str) -> Option<Self> {
        [Self::Pdf, Self::Jpeg, Self::Png]
            .into_iter()
            .find(|k| k.mime() == mime)
    }

    /// An image (it gets a thumbnail).
    #[must_use]
    pub fn is_image(self) -> bool {
        matches!(self, Self::Jpeg | Self::Png)
    }
}

fn clean_line(input: &str, max: usize) -> Option<String> {
    let text = input.split_whitespace().collect::<Vec<_>>().join(" ");
    let ok = text.chars().count() <= max && !text.chars().any(char::is_control);
    ok.then_some(text)
}

/// What a citizen calls an uploaded document ("Rent agreement, 2026"): one line of up to 120
/// characters, spaces collapsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    /// Parses a description as typed.
    pub fn parse(input: &str) -> Result<Self, LockerError> {
        match clean_line(input, MAX_DESCRIPTION) {
            Some(t) if !t.is_empty() => Ok(Self(t)),
            _ => Err(LockerError::Description),
        }
    }

    /// The description as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A folder a citizen files documents under ("Property"); empty is the locker's top level.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Folder(String);

impl Folder {
    /// Parses a folder name as typed; blank is the top level.
    pub fn parse(input: &str) -> Result<Self, LockerError> {
        match clean_line(input, MAX_FOLDER) {
            Some(t) if !t.contains('/') => Ok(Self(t)),
            _ => Err(LockerError::Folder),
        }
    }

    /// The folder's name; empty for the top level.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an issuer asks of a pushed document (DigiLocker's `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushAction {
    /// `A`: a new document.
    Add,
    /// `U`: a new version of one already issued.
    Update,
    /// `D`: withdrawn.
    Delete,
}

impl PushAction {
    /// Parses `A`, `U` or `D`.
    #[must_use]
    pub fn parse(input: &str) -> Option<Self> {
        match input.trim() {
            "A" | "a" => Some(Self::Add),
            "U" | "u" => Some(Self::Update),
            "D" | "d" => Some(Self::Delete),
            _ => None,
        }
    }
}

/// A locker's id as agencies know it: a UUID (`8-4-4-4-12` hexadecimal digits), lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockerId(String);

impl LockerId {
    /// Parses a locker id as sent.
    #[must_use]
    pub fn parse(input: &str) -> Option<Self> {
        let t = input.trim().to_ascii_lowercase();
        let groups: Vec<&str> = t.split('-').collect();
        let ok = groups.len() == 5
            && groups
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
        ok.then_some(Self(t))
    }

    /// A new id from 16 random bytes (a version 4 UUID).
    #[must_use]
    pub fn from_random(mut b: [u8; 16]) -> Self {
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        Self(format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        ))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A date as DigiLocker's push writes it, `DDMMYYYY` (dashes and slashes allowed).
#[must_use]
pub fn parse_push_date(input: &str) -> Option<jiff::civil::Date> {
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 8 {
        return None;
    }
    let d: i8 = digits[..2].parse().ok()?;
    let m: i8 = digits[2..4].parse().ok()?;
    let y: i16 = digits[4..].parse().ok()?;
    jiff::civil::Date::new(y, m, d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uris_as_digilocker_writes_them() {
        let u = DocumentUri::parse("in.gov.cbse-HSCER-201412345678").unwrap();
        assert_eq!(u.issuer().as_str(), "in.gov.cbse");
        assert_eq!(u.doc_type().as_str(), "HSCER");
        assert_eq!(u.doc_id(), "201412345678");
        for bad in [
            "",
            "in.gov.cbse-HSCER",
            "cbse-HSCER-201412345678",
            "in.gov.cbse-HSCE-201412345678",
            "in.gov.cbse-hscer-201412345678",
            "in.gov.cbse-HSCER-12345",
            "in.gov.cbse-HSCER-2014/1234",
            "In.Gov.cbse-HSCER-201412345678",
            "in..cbse-HSCER-201412345678",
        ] {
            assert_eq!(DocumentUri::parse(bad), Err(LockerError::Uri), "{bad}");
        }
    }

    #[test]
    fn files_are_told_by_their_content() {
        assert_eq!(FileKind::sniff(b"%PDF-1.7\n"), Ok(FileKind::Pdf));
        assert_eq!(
            FileKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Ok(FileKind::Jpeg)
        );
        assert_eq!(FileKind::sniff(b"\x89PNG\r\n\x1a\n"), Ok(FileKind::Png));
        // A program renamed `scan.pdf`, a ZIP, a page.
        assert_eq!(FileKind::sniff(b"MZ\x90\0"), Err(LockerError::FileType));
        assert_eq!(FileKind::sniff(b"PK\x03\x04"), Err(LockerError::FileType));
        assert_eq!(FileKind::sniff(b"<html>"), Err(LockerError::FileType));
        assert_eq!(FileKind::sniff(b""), Err(LockerError::Empty));
        for k in [FileKind::Pdf, FileKind::Jpeg, FileKind::Png] {
            assert_eq!(FileKind::from_mime(k.mime()), Some(k));
        }
    }

    #[test]
    fn descriptions_and_folders() {
        assert_eq!(
            Description::parse("  Rent   agreement ").unwrap().as_str(),
            "Rent agreement"
        );
        assert!(Description::parse(" ").is_err());
        assert!(Description::parse(&"a".repeat(121)).is_err());
        assert!(Description::parse("किराया अनुबंध").is_ok());
        assert_eq!(Folder::parse("").unwrap().as_str(), "");
        assert!(Folder::parse("a/b").is_err());
        assert!(Folder::parse("bad\u{7}").is_err());
    }

    #[test]
    fn push_fields() {
        assert_eq!(PushAction::parse("A"), Some(PushAction::Add));
        assert_eq!(PushAction::parse("X"), None);
        let id = LockerId::from_random([0xab; 16]);
        assert_eq!(
            LockerId::parse(&id.as_str().to_uppercase()),
            Some(id.clone())
        );
        assert_eq!(id.as_str().len(), 36);
        assert!(LockerId::parse("not-a-uuid").is_none());
        assert_eq!(
            parse_push_date("15032026"),
            jiff::civil::Date::new(2026, 3, 15).ok()
        );
        assert!(parse_push_date("31022026").is_none());
        assert!(parse_push_date("2026").is_none());
    }

    proptest! {
        #[test]
        fn a_made_uri_parses_back(
            issuer in "[a-z0-9]{1,10}(\\.[a-z0-9]{1,10}){1,3}",
            kind in "[A-Z]{5}",
            id in "[A-Za-z0-9]{6,64}",
        ) {
            let i = IssuerId::parse(&issuer).unwrap();
            let k = DocType::parse(&kind).unwrap();
            let u = DocumentUri::new(&i, &k, &id).unwrap();
            let back = DocumentUri::parse(u.as_str()).unwrap();
            prop_assert_eq!(back.issuer(), i);
            prop_assert_eq!(back.doc_type(), k);
            prop_assert_eq!(back.doc_id(), id.as_str());
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,80}") {
            let _ = DocumentUri::parse(&s);
            let _ = Description::parse(&s);
            let _ = Folder::parse(&s);
        }
    }
}
