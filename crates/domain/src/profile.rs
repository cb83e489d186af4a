//! The standard profile: what a person states about themselves to reach the standard level
//! (name with patronymic where the country has one, gender, date and place of birth,
//! citizenship, an identity document, national identifiers, an address), and how far each
//! checked item stands. What is asked, and how each answer is read, comes from a
//! [`CountryProfile`] that the deployment chooses; a new country is a new profile (data and
//! translations), not new code.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::national_id::{IdError, IdKind, NationalId};

crate::string_enum!(
    /// Gender as identity documents record it.
    pub enum Gender {
        /// Female.
        Female => "female",
        /// Male.
        Male => "male",
        /// Another gender (India's documents record a third).
        Other => "other",
    }
);

crate::string_enum!(
    /// Where the check of one item of the profile stands.
    pub enum CheckStatus {
        /// Asked of the registry; no final answer yet (minutes to days).
        Checking => "checking",
        /// The registry confirmed it.
        Confirmed => "confirmed",
        /// The registry's record differs: the fields named must be corrected.
        Mismatch => "mismatch",
        /// A staff member decides (the registry asked for it, or stayed silent too long).
        Review => "review",
    }
);

/// One checked item of a profile: the identity document, or one national identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckItem {
    /// The identity document (type, series, number, issue date).
    Document,
    /// A national identifier of this kind.
    Id(IdKind),
}

impl CheckItem {
    /// The text form, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Document => "document",
            Self::Id(k) => k.as_str(),
        }
    }

    /// The item of a text form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "document" => Some(Self::Document),
            other => IdKind::parse(other).map(Self::Id),
        }
    }
}

/// An identity document as the person stated it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityDocument {
    /// The country profile's document type (`ru_passport`, `in_passport`…).
    pub kind: String,
    /// The series, where the type has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// The number.
    pub number: String,
    /// When it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_on: Option<Date>,
    /// Who issued it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<String>,
}

/// A postal address (where letters reach the person).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// House, street, locality.
    pub line: String,
    /// Town or city.
    pub city: String,
    /// PIN code or postcode.
    pub postcode: String,
}

/// What a person stated in their profile, every part optional (it may be filled in later).
/// This is personal data: it is kept sealed at rest, and its debug form shows no value.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileFacts {
    /// The country profile the facts were stated under (`in`, `ru`).
    pub country: String,
    /// Patronymic (or middle name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Gender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<Date>,
    /// Place of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_place: Option<String>,
    /// Citizenship (ISO 3166 alpha-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citizenship: Option<String>,
    /// The identity document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<IdentityDocument>,
    /// National identifiers by kind, as stored (digits and capitals). An Aadhaar item may
    /// hold a Virtual ID instead (16 digits).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ids: BTreeMap<IdKind, String>,
    /// The postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl std::fmt::Debug for ProfileFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileFacts")
            .field("country", &self.country)
            .finish_non_exhaustive()
    }
}

impl ProfileFacts {
    /// The identifier of `kind`, parsed again (it was stored parsed; `None` if absent).
    pub fn id(&self, kind: IdKind) -> Option<NationalId> {
        let stored = self.ids.get(&kind)?;
        parse_id(kind, stored).ok()
    }

    /// The items this profile has something to check for.
    pub fn items(&self) -> Vec<CheckItem> {
        let mut out: Vec<CheckItem> = self.document.iter().map(|_| CheckItem::Document).collect();
        out.extend(self.ids.keys().map(|k| CheckItem::Id(*k)));
        out
    }
}

/// An identifier of `kind` as typed; an Aadhaar field also takes the 16-digit Virtual ID.
pub fn parse_id(kind: IdKind, input: &str) -> Result<NationalId, IdError> {
    match NationalId::parse(kind, input) {
        Err(IdError::Length) if kind == IdKind::Aadhaar => NationalId::parse(IdKind::Vid, input),
        other => other,
    }
}

/// A type of identity document a country profile accepts.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentType {
    /// Its id, also the key of its name in the translations (`profile-doc-<id>`).
    pub id: String,
    /// The series' pattern, where the type has a series.
    #[serde(default)]
    pub series: Option<String>,
    /// The number's pattern (after spaces are removed and letters upper-cased).
    pub number: String,
    /// The registry that checks it.
    pub registry: String,
}

/// A national identifier a country profile asks for.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierRule {
    /// The kind (each has its own checksum or format).
    #[schemars(with = "String")]
    pub kind: IdKind,
    /// Whether the standard level needs it.
    #[serde(default)]
    pub required: bool,
    /// The registry that checks it.
    pub registry: String,
}

/// What a country asks of a standard profile. India and Russia are built in; a deployment
/// adds another as a TOML file of this shape and the translations of its names.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountryProfile {
    /// Its code (`in`, `ru`), also the key of its name (`profile-country-<code>`).
    pub code: String,
    /// The citizenship most people here have (ISO 3166 alpha-2), offered first.
    pub citizenship: String,
    /// Whether names have a patronymic.
    #[serde(default)]
    pub patronymic: bool,
    /// The genders the country's documents record.
    #[schemars(with = "Vec<String>")]
    pub genders: Vec<Gender>,
    /// The postcode's pattern.
    pub postcode: String,
    /// Whether the standard level needs an identity document.
    #[serde(default)]
    pub document_required: bool,
    /// The identity documents accepted.
    pub documents: Vec<DocumentType>,
    /// The national identifiers asked for, in the order shown.
    pub identifiers: Vec<IdentifierRule>,
    /// The identifier people may log in with (SNILS in Russia), if any.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub login_identifier: Option<IdKind>,
}

/// The profile form as typed: every field as text, empty when left blank.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    /// Patronymic.
    pub middle_name: String,
    /// Gender's text form.
    pub gender: String,
    /// Date of birth (composed `YYYY-MM-DD`, or what was typed).
    pub birth_date: String,
    /// Place of birth.
    pub birth_place: String,
    /// Citizenship code.
    pub citizenship: String,
    /// Document type id.
    pub document_kind: String,
    /// Document series.
    pub document_series: String,
    /// Document number.
    pub document_number: String,
    /// Issue date (composed `YYYY-MM-DD`).
    pub document_issued_on: String,
    /// Issuing authority.
    pub document_issued_by: String,
    /// Identifiers as typed, by kind.
    pub ids: BTreeMap<IdKind, String>,
    /// Address line.
    pub address_line: String,
    /// Town or city.
    pub address_city: String,
    /// Postcode.
    pub address_postcode: String,
}

/// A field of the profile form and why its answer was refused (the code of a message).
pub type FieldProblem = (String, &'static str);

fn kept(s: &str) -> Option<String> {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

fn compact(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

fn matches(pattern: &str, s: &str) -> bool {
    regex::Regex::new(pattern).is_ok_and(|r| r.is_match(s))
}

/// The longest free text a profile field keeps.
const MAX_TEXT: usize = 200;

impl CountryProfile {
    /// The profile's own problems (a pattern that is not a regular expression, an empty
    /// list), for the deployment's configuration check.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut pattern = |what: String, p: &str| {
            if regex::Regex::new(p).is_err() {
                out.push(format!("{what}: {p:?} is not a regular expression"));
            }
        };
        pattern(format!("{}: postcode", self.code), &self.postcode);
        for d in &self.documents {
            pattern(
                format!("{}: document {} number", self.code, d.id),
                &d.number,
            );
            if let Some(s) = &d.series {
                pattern(format!("{}: document {} series", self.code, d.id), s);
            }
        }
        if self.genders.is_empty() {
            out.push(format!("{}: no genders", self.code));
        }
        if self.document_required && self.documents.is_empty() {
            out.push(format!(
                "{}: a document is required but none is accepted",
                self.code
            ));
        }
        out
    }

    /// The registries this profile names, each once.
    pub fn registries(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .documents
            .iter()
            .map(|d| d.registry.as_str())
            .chain(self.identifiers.iter().map(|i| i.registry.as_str()))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The registry that checks `item` of `facts`.
    pub fn registry_of(&self, item: CheckItem, facts: &ProfileFacts) -> Option<&str> {
        match item {
            CheckItem::Document => {
                let kind = &facts.document.as_ref()?.kind;
                self.documents
                    .iter()
                    .find(|d| &d.id == kind)
                    .map(|d| d.registry.as_str())
            }
            CheckItem::Id(k) => self
                .identifiers
                .iter()
                .find(|i| i.kind == k)
                .map(|i| i.registry.as_str()),
        }
    }

    /// Reads the form: every answer given is checked by its rule, every blank one is left
    /// out. The facts keep the valid answers even when others are refused, so nothing typed
    /// right is lost.
    pub fn read(&self, input: &ProfileInput, today: Date) -> (ProfileFacts, Vec<FieldProblem>) {
        let mut problems: Vec<FieldProblem> = Vec::new();
        let mut facts = ProfileFacts {
            country: self.code.clone(),
            ..ProfileFacts::default()
        };
        let text = |field: &str, value: &str, problems: &mut Vec<FieldProblem>| {
            let v = kept(value)?;
            if v.chars().count() > MAX_TEXT || v.chars().any(char::is_control) {
                problems.push((field.into(), "profile-text-invalid"));
                return None;
            }
            Some(v)
        };
        if self.patronymic {
            facts.middle_name = text("middle_name", &input.middle_name, &mut problems);
        }
        if let Some(g) = kept(&input.gender) {
            match Gender::parse(&g).filter(|g| self.genders.contains(g)) {
                Some(g) => facts.gender = Some(g),
                None => problems.push(("gender".into(), "profile-gender-invalid")),
            }
        }
        if let Some(d) = kept(&input.birth_date) {
            match d.parse::<Date>() {
                Ok(d) if d <= today && d.year() >= 1900 => facts.birth_date = Some(d),
                Ok(_) => problems.push(("birth_date".into(), "profile-birth-date-range")),
                Err(_) => problems.push(("birth_date".into(), "profile-date-invalid")),
            }
        }
        facts.birth_place = text("birth_place", &input.birth_place, &mut problems);
        if let Some(c) = kept(&input.citizenship) {
            let c = c.to_ascii_uppercase();
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                facts.citizenship = Some(c);
            } else {
                problems.push(("citizenship".into(), "profile-citizenship-invalid"));
            }
        }
        facts.document = self.read_document(input, today, &mut problems);
        for rule in &self.identifiers {
            let Some(typed) = input.ids.get(&rule.kind).and_then(|v| kept(v)) else {
                continue;
            };
            match parse_id(rule.kind, &typed) {
                Ok(id) => {
                    facts.ids.insert(rule.kind, id.as_str().to_string());
                }
                Err(e) => problems.push((format!("id_{}", rule.kind), crate::ErrorCode::code(&e))),
            }
        }
        let line = text("address_line", &input.address_line, &mut problems);
        let city = text("address_city", &input.address_city, &mut problems);
        let postcode = kept(&input.address_postcode).map(|p| compact(&p));
        if let Some(p) = &postcode
            && !matches(&self.postcode, p)
        {
            problems.push(("address_postcode".into(), "profile-postcode-invalid"));
        }
        match (line, city, postcode) {
            (Some(line), Some(city), Some(postcode)) if matches(&self.postcode, &postcode) => {
                facts.address = Some(Address {
                    line,
                    city,
                    postcode,
                });
            }
            (None, None, None) => {}
            (line, city, _) => {
                if line.is_none() {
                    problems.push(("address_line".into(), "profile-address-incomplete"));
                }
                if city.is_none() {
                    problems.push(("address_city".into(), "profile-address-incomplete"));
                }
            }
        }
        (facts, problems)
    }

    fn read_document(
        &self,
        input: &ProfileInput,
        today: Date,
        problems: &mut Vec<FieldProblem>,
    ) -> Option<IdentityDocument> {
        let number = kept(&input.document_number).map(|n| compact(&n));
        let kind = kept(&input.document_kind);
        let Some(kind) = kind else {
            if number.is_some() {
                problems.push(("document_kind".into(), "profile-document-kind-missing"));
            }
            return None;
        };
        let Some(doc) = self.documents.iter().find(|d| d.id == kind) else {
            problems.push(("document_kind".into(), "profile-document-kind-missing"));
            return None;
        };
        let mut ok = true;
        let series = match &doc.series {
            Some(pattern) => {
                let s = kept(&input.document_series).map(|s| compact(&s));
                if !s.as_deref().is_some_and(|s| matches(pattern, s)) {
                    problems.push(("document_series".into(), "profile-document-series-invalid"));
                    ok = false;
                }
                s
            }
            None => None,
        };
        match &number {
            Some(n) if matches(&doc.number, n) => {}
            _ => {
                problems.push(("document_number".into(), "profile-document-number-invalid"));
                ok = false;
            }
        }
        let issued_on = match kept(&input.document_issued_on) {
            None => None,
            Some(d) => match d.parse::<Date>() {
                Ok(d) if d <= today => Some(d),
                Ok(_) => {
                    problems.push(("document_issued_on".into(), "profile-issued-future"));
                    None
                }
                Err(_) => {
                    problems.push(("document_issued_on".into(), "profile-date-invalid"));
                    None
                }
            },
        };
        let issued_by = kept(&input.document_issued_by).filter(|s| s.chars().count() <= MAX_TEXT);
        (ok && number.is_some()).then(|| IdentityDocument {
            kind,
            series,
            number: number.unwrap_or_default(),
            issued_on,
            issued_by,
        })
    }

    /// What is still missing before the profile can be sent for checking (field names).
    pub fn missing(&self, facts: &ProfileFacts) -> Vec<&'static str> {
        // A patronymic is asked where the country has one, never required: not everyone has one.
        let mut out = Vec::new();
        if facts.gender.is_none() {
            out.push("gender");
        }
        if facts.birth_date.is_none() {
            out.push("birth_date");
        }
        if facts.birth_place.is_none() {
            out.push("birth_place");
        }
        if facts.citizenship.is_none() {
            out.push("citizenship");
        }
        if self.document_required && facts.document.is_none() {
            out.push("document_number");
        }
        for rule in self.identifiers.iter().filter(|r| r.required) {
            if !facts.ids.contains_key(&rule.kind) {
                out.push(match rule.kind {
                    IdKind::Aadhaar => "id_aadhaar",
                    IdKind::Vid => "id_vid",
                    IdKind::Pan => "id_pan",
                    IdKind::JanAadhaar => "id_jan_aadhaar",
                    IdKind::Snils => "id_snils",
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn russia() -> CountryProfile {
        CountryProfile {
            code: "ru".into(),
            citizenship: "RU".into(),
            patronymic: true,
            genders: vec![Gender::Female, Gender::Male],
            postcode: "^[0-9]{6}$".into(),
            document_required: true,
            documents: vec![DocumentType {
                id: "ru_passport".into(),
                series: Some("^[0-9]{4}$".into()),
                number: "^[0-9]{6}$".into(),
                registry: "mvd".into(),
            }],
            identifiers: vec![IdentifierRule {
                kind: IdKind::Snils,
                required: true,
                registry: "sfr".into(),
            }],
            login_identifier: Some(IdKind::Snils),
        }
    }

    fn today() -> Date {
        jiff::civil::date(2026, 12, 7)
    }

    #[test]
    fn a_whole_profile_reads_into_facts_and_lacks_nothing() {
        let mut input = ProfileInput {
            middle_name: "Ивановна".into(),
            gender: "female".into(),
            birth_date: "1990-03-15".into(),
            birth_place: "  г.  Тула ".into(),
            citizenship: "ru".into(),
            document_kind: "ru_passport".into(),
            document_series: "45 08".into(),
            document_number: "123456".into(),
            document_issued_on: "2010-04-01".into(),
            document_issued_by: "ОУФМС".into(),
            address_line: "ул. Ленина, 1".into(),
            address_city: "Москва".into(),
            address_postcode: "101000".into(),
            ..ProfileInput::default()
        };
        input.ids.insert(IdKind::Snils, "112-233-445 95".into());
        let (facts, problems) = russia().read(&input, today());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(facts.birth_place.as_deref(), Some("г. Тула"));
        assert_eq!(facts.citizenship.as_deref(), Some("RU"));
        assert_eq!(
            facts.document.as_ref().unwrap().series.as_deref(),
            Some("4508")
        );
        assert_eq!(facts.ids[&IdKind::Snils], "11223344595");
        assert!(russia().missing(&facts).is_empty());
        assert_eq!(
            facts.items(),
            vec![CheckItem::Document, CheckItem::Id(IdKind::Snils)]
        );
        assert_eq!(format!("{facts:?}"), "ProfileFacts { country: \"ru\", .. }");
        let back: ProfileFacts =
            serde_json::from_str(&serde_json::to_string(&facts).unwrap()).unwrap();
        assert_eq!(back, facts);
    }

    #[test]
    fn wrong_answers_are_named_and_the_right_ones_kept() {
        let mut input = ProfileInput {
            gender: "other".into(),
            birth_date: "2030-01-01".into(),
            birth_place: "Тула".into(),
            document_kind: "ru_passport".into(),
            document_series: "45".into(),
            document_number: "12345".into(),
            address_postcode: "1010".into(),
            ..ProfileInput::default()
        };
        input.ids.insert(IdKind::Snils, "112-233-445 96".into());
        let (facts, problems) = russia().read(&input, today());
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "gender",
                "birth_date",
                "document_series",
                "document_number",
                "id_snils",
                "address_postcode",
                "address_line",
                "address_city"
            ]
        );
        assert!(problems.contains(&("id_snils".into(), "id-check")));
        assert_eq!(facts.birth_place.as_deref(), Some("Тула"));
        assert!(facts.document.is_none());
        assert_eq!(
            russia().missing(&facts),
            [
                "gender",
                "birth_date",
                "citizenship",
                "document_number",
                "id_snils"
            ]
        );
    }

    #[test]
    fn an_aadhaar_field_takes_a_virtual_id_too() {
        let vid = format!(
            "912345678901234{}",
            crate::catalog::arn::verhoeff_digit("912345678901234")
        );
        assert_eq!(parse_id(IdKind::Aadhaar, &vid).unwrap().kind(), IdKind::Vid);
        assert_eq!(
            parse_id(IdKind::Aadhaar, "999941057058").unwrap().kind(),
            IdKind::Aadhaar
        );
        assert_eq!(
            parse_id(IdKind::Aadhaar, "99994105705"),
            Err(IdError::Length)
        );
        assert_eq!(CheckItem::parse("document"), Some(CheckItem::Document));
        assert_eq!(
            CheckItem::parse("snils"),
            Some(CheckItem::Id(IdKind::Snils))
        );
        assert_eq!(CheckItem::parse("x"), None);
    }
}
