//! The shape of a service definition, as written in its file. Unknown keys are errors, so a
//! misspelt key is reported instead of silently ignored.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Texts;
use crate::identity::{AccountLevel, AccountType};

/// One service: its catalog entry, the form, the documents, the fees, the workflow and the
/// receipt. Importing a changed definition makes a new version; applications keep the version
/// they started on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDefinition {
    /// The service's code, the same across versions: lower-case letters, digits, hyphens.
    pub code: String,
    /// The department that offers it (a code from `catalog.toml`).
    pub department: String,
    /// Its category (a code from `catalog.toml`).
    pub category: String,
    /// The regions where it is offered (and every region below each); empty: everywhere.
    #[serde(default)]
    pub regions: Vec<String>,
    /// The account level an applicant needs.
    #[serde(default = "simplified")]
    pub min_level: AccountLevel,
    /// Who may apply.
    #[serde(default = "citizens")]
    pub applicants: Vec<AccountType>,
    /// Shown on the home page.
    #[serde(default)]
    pub popular: bool,
    /// Its name in every language.
    pub name: Texts,
    /// One or two sentences: what it is for.
    pub summary: Texts,
    /// Who may apply, in words.
    #[serde(default)]
    pub eligibility: Option<Texts>,
    /// More words people search with, per language (for example transliterations).
    #[serde(default)]
    pub keywords: BTreeMap<String, Vec<String>>,
    /// How long it takes.
    pub processing: Processing,
    /// How it is delivered: online here, in a department's app, or in person.
    pub delivery: Delivery,
    /// Refuse a second application while one is open: one per applicant, or one per person
    /// the application is for when `subject` names them.
    #[serde(default)]
    pub one_open_application: bool,
    /// Waiting lists, one per choice of a question (kindergartens): each application's place
    /// in each list it is on is shown to the applicant.
    #[serde(default)]
    pub queue: Option<QueueRule>,
    /// Whom an application is for when it is not the applicant (a parent enrols a child): the
    /// questions that name them. Receipts and lists show them; tracking asks their date of
    /// birth.
    #[serde(default)]
    pub subject: Option<Subject>,
    /// The documents to bring or attach.
    #[serde(default)]
    pub documents: Vec<Document>,
    /// The fees, each with the condition under which it applies.
    #[serde(default)]
    pub fees: Vec<Fee>,
    /// Questions people ask, with answers.
    #[serde(default)]
    pub faq: Vec<Faq>,
    /// The application form (services delivered online).
    #[serde(default)]
    pub form: Option<Form>,
    /// What happens to a submitted application (services delivered online).
    #[serde(default)]
    pub workflow: Option<Workflow>,
    /// What the receipt shows.
    #[serde(default)]
    pub receipt: Option<Receipt>,
    /// Appointments at service centres, for services that need a visit.
    #[serde(default)]
    pub appointment: Option<AppointmentRule>,
}

impl ServiceDefinition {
    /// Every question of its form, page after page (a group counts as one; conditions are not
    /// applied). None without a form.
    pub fn questions(&self) -> impl Iterator<Item = &Field> {
        self.form
            .iter()
            .flat_map(|f| &f.pages)
            .flat_map(|p| &p.fields)
    }
}

/// Waiting lists: each choice of `choices` is a list of the applications that chose it,
/// ordered by benefit (the options of `priority`, the first the highest; none comes after
/// them all), then by the time of submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueRule {
    /// The `checkbox` question whose choices are the lists.
    pub choices: String,
    /// The workflow states in which an application waits.
    pub waiting: Vec<String>,
    /// A `select` or `radio` question of benefit categories, highest first.
    #[serde(default)]
    pub priority: Option<String>,
}

/// The person an application is for, named by two questions of its form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// What they are to the applicant, as a heading ("Child").
    pub label: Texts,
    /// The question with their full name (a `text` question).
    pub name: String,
    /// The question with their date of birth (a `date` question).
    pub birth_date: String,
}

/// How a service's applicants book appointments at centres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentRule {
    /// The quota of slots a booking takes (`normal`, `pcc`…), unless one of `quotas` applies.
    pub quota: String,
    /// Other quotas for some answers (tatkaal's slots).
    #[serde(default)]
    pub quotas: Vec<QuotaWhen>,
    /// Whether cancelling an appointment refunds the fee (Passport Seva: no, the fee stays
    /// valid for booking again within a year).
    #[serde(default)]
    pub refund_on_cancel: bool,
}

/// A quota that applies when the answers say so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaWhen {
    /// The quota.
    pub quota: String,
    /// When.
    pub when: Condition,
}

fn simplified() -> AccountLevel {
    AccountLevel::Simplified
}

fn citizens() -> Vec<AccountType> {
    vec![AccountType::Citizen]
}

/// Processing time in working days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Processing {
    /// At least this many working days.
    pub min_working_days: u32,
    /// At most this many, in the normal case.
    pub max_working_days: u32,
    /// What may make it longer, in words.
    #[serde(default)]
    pub note: Option<Texts>,
}

/// How a service is delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Online here, in a department's app, or in person only.
    pub kind: DeliveryKind,
    /// For `app`: the app's client id (it must be registered for single sign-on).
    #[serde(default)]
    pub app: Option<String>,
    /// For `app`: where the service starts in the app (an `https` address).
    #[serde(default)]
    pub url: Option<String>,
    /// For `in_person`: where to go and what to do, in words.
    #[serde(default)]
    pub instructions: Option<Texts>,
}

crate::string_enum!(
    /// How a service is delivered.
    pub enum DeliveryKind {
        /// Through this portal's application engine.
        Online => "online",
        /// In a department's own app, entered through single sign-on.
        App => "app",
        /// At an office only.
        InPerson => "in_person",
    }
);

/// A document the applicant brings or attaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Its id within the service.
    pub id: String,
    /// What it proves (for example "Proof of date of birth").
    pub name: Texts,
    /// The documents accepted as proof.
    #[serde(default)]
    pub accepted: Vec<Texts>,
    /// Not needed in every case.
    #[serde(default)]
    pub optional: bool,
    /// Needed only when the answers say so.
    #[serde(default)]
    pub when: Option<Condition>,
}

/// A fee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// Its id within the service.
    pub id: String,
    /// What it is for.
    pub label: Texts,
    /// In minor units (paise, kopecks): 150000 is ₹1,500.
    pub amount: u64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Paid online before an appointment, or at the centre.
    #[serde(default = "online")]
    pub due: FeeDue,
    /// Applies only when the answers say so.
    #[serde(default)]
    pub when: Option<Condition>,
    /// The government account head it is credited to (printed on a challan for the bank's
    /// teller, `1055-00-800-01`).
    #[serde(default)]
    pub head_of_account: Option<String>,
}

fn online() -> FeeDue {
    FeeDue::Online
}

crate::string_enum!(
    /// When a fee is paid.
    pub enum FeeDue {
        /// Online, before an appointment can be booked.
        Online => "online",
        /// At the centre, on the day.
        AtCentre => "at_centre",
    }
);

/// A question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    /// The question.
    pub question: Texts,
    /// The answer.
    pub answer: Texts,
}

/// The application form: pages of questions, then a declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// One question or a small group of questions per page.
    pub pages: Vec<Page>,
    /// What the applicant declares before submitting.
    pub declaration: Texts,
}

/// A page of the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Its id within the form (used in addresses).
    pub id: String,
    /// The page's heading.
    pub title: Texts,
    /// Shown only when the answers so far say so.
    #[serde(default)]
    pub when: Option<Condition>,
    /// Its questions.
    pub fields: Vec<Field>,
}

/// A question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Its id, unique in the form (or, inside a group, in the group).
    pub id: String,
    /// What kind of answer it takes.
    pub kind: FieldKind,
    /// The question.
    pub label: Texts,
    /// Help below the question.
    #[serde(default)]
    pub hint: Option<Texts>,
    /// May be left empty (questions are required unless they say so).
    #[serde(default)]
    pub optional: bool,
    /// Shortest answer, in characters (text).
    #[serde(default)]
    pub min_length: Option<u32>,
    /// Longest answer, in characters (text, address).
    #[serde(default)]
    pub max_length: Option<u32>,
    /// A regular expression the whole answer must match (text).
    #[serde(default)]
    pub pattern: Option<String>,
    /// What to say when the pattern does not match.
    #[serde(default)]
    pub pattern_message: Option<Texts>,
    /// Smallest number (number).
    #[serde(default)]
    pub min: Option<i64>,
    /// Largest number (number).
    #[serde(default)]
    pub max: Option<i64>,
    /// The date may not be in the future (date).
    #[serde(default)]
    pub past: bool,
    /// The date may not be in the past (date).
    #[serde(default)]
    pub future: bool,
    /// The person born on this date must be at least this old today (date of birth).
    #[serde(default)]
    pub min_age: Option<u32>,
    /// The person born on this date must be younger than this today (date of birth).
    #[serde(default)]
    pub max_age: Option<u32>,
    /// The choices (select, radio, checkbox).
    #[serde(default)]
    pub options: Vec<Choice>,
    /// Filled in from the applicant's profile, so that nothing known is asked twice.
    #[serde(default)]
    pub prefill: Option<Prefill>,
    /// Asked only when earlier answers say so.
    #[serde(default)]
    pub when: Option<Condition>,
    /// The questions repeated for each item (group).
    #[serde(default)]
    pub fields: Vec<Field>,
    /// Fewest items (group) or choices ticked (checkbox).
    #[serde(default)]
    pub min_items: Option<u32>,
    /// Most items (group) or choices ticked (checkbox).
    #[serde(default)]
    pub max_items: Option<u32>,
    /// For `checkbox`: the order of the choices matters, the first the most wanted. Asked as
    /// a first, second, third… choice, up to `max_items`.
    #[serde(default)]
    pub ranked: bool,
    /// This question's own error messages, by what is wrong (`required`, `date-past`,
    /// `choices-max`…: a code of `FORM_ERRORS`), in every language ("Enter the child's date
    /// of birth"). Without one, the message names the question.
    #[serde(default)]
    pub messages: BTreeMap<String, Texts>,
}

/// What can be wrong with an answer: the codes a question's `messages` may give its own
/// words for.
pub const FORM_ERRORS: &[&str] = &[
    "required",
    "required-choice",
    "too-long",
    "too-short",
    "invalid-characters",
    "pattern",
    "number",
    "number-min",
    "number-max",
    "date",
    "date-past",
    "date-future",
    "age-min",
    "age-max",
    "choice",
    "choices-max",
    "choices-min",
    "choices-twice",
    "phone",
    "email",
    "pincode",
    "items-min",
    "items-max",
];

crate::string_enum!(
    /// What kind of answer a question takes.
    pub enum FieldKind {
        /// A line of text.
        Text => "text",
        /// A whole number.
        Number => "number",
        /// A date.
        Date => "date",
        /// One of many, in a list.
        Select => "select",
        /// One of a few, as radio buttons.
        Radio => "radio",
        /// Any of a few.
        Checkbox => "checkbox",
        /// A phone number.
        Phone => "phone",
        /// An e-mail address.
        Email => "email",
        /// A postal address (several lines).
        Address => "address",
        /// An Indian PIN code (six digits, not starting with 0).
        Pincode => "pincode",
        /// One of the department's offices serving the applicant's region.
        Office => "office",
        /// Questions repeated for each item (for example family members).
        Group => "group",
    }
);

/// A choice of a select, radio or checkbox question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// The stored value.
    pub value: String,
    /// What the applicant reads.
    pub label: Texts,
}

crate::string_enum!(
    /// What the profile can fill in.
    pub enum Prefill {
        /// First (given) name.
        GivenName => "given_name",
        /// Last name (surname).
        Surname => "surname",
        /// The verified mobile number.
        Phone => "phone",
        /// The verified e-mail address.
        Email => "email",
        /// The patronymic (or middle name) of the standard profile.
        MiddleName => "middle_name",
        /// The date of birth of the standard profile.
        BirthDate => "birth_date",
        /// The place of birth of the standard profile.
        BirthPlace => "birth_place",
        /// The Aadhaar number (or its Virtual ID) of the standard profile.
        Aadhaar => "aadhaar",
        /// The PAN of the standard profile.
        Pan => "pan",
        /// The Jan Aadhaar number of the standard profile.
        JanAadhaar => "jan_aadhaar",
        /// The SNILS of the standard profile.
        Snils => "snils",
    }
);

impl Prefill {
    /// The national identifier it fills in, if it is one.
    pub fn national_id(self) -> Option<crate::national_id::IdKind> {
        use crate::national_id::IdKind;
        match self {
            Self::Aadhaar => Some(IdKind::Aadhaar),
            Self::Pan => Some(IdKind::Pan),
            Self::JanAadhaar => Some(IdKind::JanAadhaar),
            Self::Snils => Some(IdKind::Snils),
            _ => None,
        }
    }
}

/// When a page, question, document or fee applies. Exactly one of: a test on one earlier
/// answer (`field` with `equals`, `not_equals`, `one_of`, `age_below` or `age_at_least`), or a
/// combination (`all`, `any`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The question whose answer is tested.
    #[serde(default)]
    pub field: Option<String>,
    /// The answer is this value.
    #[serde(default)]
    pub equals: Option<String>,
    /// The answer is anything but this value.
    #[serde(default)]
    pub not_equals: Option<String>,
    /// The answer is one of these values.
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    /// The date answered is a birth date less than this many years ago.
    #[serde(default)]
    pub age_below: Option<u32>,
    /// The date answered is a birth date at least this many years ago.
    #[serde(default)]
    pub age_at_least: Option<u32>,
    /// Every one of these holds.
    #[serde(default)]
    pub all: Option<Vec<Condition>>,
    /// At least one of these holds.
    #[serde(default)]
    pub any: Option<Vec<Condition>>,
}

/// The states a submitted application passes through and the actions that move it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// The first state is where a submitted application starts.
    pub states: Vec<State>,
    /// What officers (and the applicant) may do in each state.
    pub actions: Vec<WorkflowAction>,
    /// The reasons an officer may give when rejecting.
    #[serde(default)]
    pub rejection_reasons: Vec<Choice>,
}

/// A state of the workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Its id within the workflow.
    pub id: String,
    /// What the applicant reads as the application's status.
    pub label: Texts,
    /// What the applicant must do next, if anything.
    #[serde(default)]
    pub next_step: Option<Texts>,
    /// Working days an application may stay here before it is overdue.
    #[serde(default)]
    pub sla_working_days: Option<u32>,
    /// The role told when an application is overdue here.
    #[serde(default)]
    pub escalate_to: Option<String>,
    /// The action the portal takes by itself when the deadline passes, instead of telling
    /// anyone: a place offer not answered in time lapses (`decline`). One of this state's
    /// plain actions.
    #[serde(default)]
    pub on_deadline: Option<String>,
    /// A final state: no action leaves it.
    #[serde(default)]
    pub terminal: bool,
}

/// An action of the workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowAction {
    /// Its id within the workflow.
    pub id: String,
    /// The button's words.
    pub label: Texts,
    /// The states it may be taken in.
    pub from: Vec<String>,
    /// The state it leads to.
    pub to: String,
    /// Who may take it: staff roles, or `applicant`.
    pub roles: Vec<String>,
    /// What else it does.
    #[serde(default = "advance")]
    pub kind: ActionKind,
}

fn advance() -> ActionKind {
    ActionKind::Advance
}

crate::string_enum!(
    /// What an action does besides changing the state.
    pub enum ActionKind {
        /// Only moves the application on (with an optional comment).
        Advance => "advance",
        /// Sends it back to the applicant to correct the named answers (a comment is required).
        Correction => "correction",
        /// The applicant's corrected answers return it to the officers.
        Resubmit => "resubmit",
        /// A decision against it, with one of the workflow's reasons.
        Reject => "reject",
        /// The applicant withdraws it before a decision.
        Withdraw => "withdraw",
        /// Passes it to another officer's stage with a note for them (the note is required).
        Forward => "forward",
        /// Staff change answers on the applicant's behalf, page by page, through the form's
        /// own checks (Passport Seva: only the Citizen Service Executive at the centre may
        /// change a submitted application); the state stays.
        Edit => "edit",
    }
);

/// What the receipt shows besides the reference number, service, date and status.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The answers printed on it, by question id.
    #[serde(default)]
    pub fields: Vec<String>,
    /// A closing note (what to bring, what happens next).
    #[serde(default)]
    pub note: Option<Texts>,
}
