//! The catalog: regions, departments, categories, offices, holidays, and the definitions of
//! services. Definitions are data, written by a department in files and imported; this module
//! holds their shape (with a JSON Schema for editors) and the checks that make a definition
//! usable, so that nothing downstream meets a dangling reference or a missing translation.

pub mod answers;
pub(crate) mod arn;
mod definition;
pub mod eform;
mod validate;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use arn::{Arn, ArnError};
pub use definition::{
    ActionKind, AppointmentRule, Choice, Condition, Delivery, DeliveryKind, Document, FORM_ERRORS,
    Faq, Fee, FeeDue, Field, FieldKind, Form, Page, Prefill, Processing, QueueRule, QuotaWhen,
    Receipt, ServiceDefinition, State, Subject, Workflow, WorkflowAction,
};
pub use validate::{Catalog, Problem, Service};

/// A text in every language of the portal, keyed by language code (`en`, `hi`, `bn`, `ru`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Texts(pub BTreeMap<String, String>);

impl Texts {
    /// The text in `lang`, else in `fallback`, else any.
    pub fn get<'a>(&'a self, lang: &str, fallback: &str) -> &'a str {
        self.0
            .get(lang)
            .or_else(|| self.0.get(fallback))
            .or_else(|| self.0.values().next())
            .map_or("", String::as_str)
    }

    /// Every translation.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.0.values().map(String::as_str)
    }
}

/// The catalog's shared entries, from one `catalog.toml`: where services are offered, who
/// offers them, how they are grouped, the offices applicants choose, and the days that are not
/// working days.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// A tree: a country, its states or oblasts, their districts.
    #[serde(default)]
    pub regions: Vec<RegionEntry>,
    /// Departments (ministries, agencies) that offer services.
    #[serde(default)]
    pub departments: Vec<DepartmentEntry>,
    /// Groups of services across departments, for browsing.
    #[serde(default)]
    pub categories: Vec<CategoryEntry>,
    /// Offices that process applications (a passport office); an applicant may choose one.
    #[serde(default)]
    pub offices: Vec<OfficeEntry>,
    /// Public holidays: not working days in the region and every region below it.
    #[serde(default)]
    pub holidays: Vec<HolidayEntry>,
}

/// A region of the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionEntry {
    /// `IN`, `IN-RJ`, `IN-RJ-JP`: capital letters, digits and hyphens.
    pub code: String,
    /// The region this one is part of; none for a country.
    #[serde(default)]
    pub parent: Option<String>,
    /// Its name in every language.
    pub name: Texts,
    /// Its IANA time zone (`Asia/Kolkata`, `Europe/Moscow`), when it has one zone; a region
    /// without one takes its parent's. Times of its applications are shown in it.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// A department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentEntry {
    /// Lower-case letters, digits and hyphens.
    pub code: String,
    /// Its name in every language.
    pub name: Texts,
    /// The helpdesk's phone number, as people dial it.
    #[serde(default)]
    pub helpdesk_phone: Option<String>,
    /// The helpdesk's e-mail address.
    #[serde(default)]
    pub helpdesk_email: Option<String>,
}

/// A category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    /// Lower-case letters, digits and hyphens.
    pub code: String,
    /// Its name in every language.
    pub name: Texts,
}

/// An office of a department in a region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeEntry {
    /// Lower-case letters, digits and hyphens.
    pub code: String,
    /// The department it belongs to.
    pub department: String,
    /// The region it serves (and every region below it).
    pub region: String,
    /// Its name in every language.
    pub name: Texts,
    /// Its address in every language.
    #[serde(default)]
    pub address: Option<Texts>,
}

/// A public holiday.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayEntry {
    /// Where it is a holiday (and every region below).
    pub region: String,
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// Its name in every language.
    pub name: Texts,
}

/// A code is lower-case ASCII letters, digits and single hyphens, 1–64 long, starting with a
/// letter: safe in addresses, file names and logs.
pub fn is_code(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// A region code is upper-case ASCII letters and digits in hyphen-separated parts (`IN-RJ`).
pub fn is_region_code(s: &str) -> bool {
    (2..=32).contains(&s.len())
        && s.split('-').all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
}
