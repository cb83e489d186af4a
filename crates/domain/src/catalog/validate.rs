//! The checks that turn what a file says into a catalog and services the portal can use. Every
//! problem is reported at once, with the path inside the file and what is wrong in plain
//! words, so an editor fixes a file in one pass.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::definition::*;
use super::{CatalogFile, Texts, is_code, is_region_code};

/// One thing wrong with a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, as keys and list positions (`form.pages[1].fields[0].options`).
    pub path: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

struct Checker<'a> {
    langs: &'a [&'a str],
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn report(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn texts(&mut self, path: &str, t: &Texts) {
        for lang in self.langs {
            match t.0.get(*lang) {
                None => self.report(path, format!("the text in language \"{lang}\" is missing")),
                Some(s) if s.trim().is_empty() => {
                    self.report(path, format!("the text in language \"{lang}\" is empty"))
                }
                Some(_) => {}
            }
        }
        for lang in t.0.keys() {
            if !self.langs.contains(&lang.as_str()) {
                self.report(
                    path,
                    format!(
                        "\"{lang}\" is not a language of the portal (expected {})",
                        self.langs.join(", ")
                    ),
                );
            }
        }
    }

    fn code(&mut self, path: &str, code: &str) {
        if !is_code(code) {
            self.report(
                path,
                format!(
                    "\"{code}\" is not a valid code: use lower-case letters, digits and \
                     hyphens, starting with a letter"
                ),
            );
        }
    }

    fn unique<'s>(&mut self, path: &str, what: &str, ids: impl Iterator<Item = &'s str>) {
        let mut seen = HashSet::new();
        for id in ids {
            if !seen.insert(id) {
                self.report(path, format!("{what} \"{id}\" is declared twice"));
            }
        }
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(self.problems)
        }
    }
}

/// The catalog's shared entries, checked: every reference resolves, the regions form a tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    file: CatalogFile,
    parents: BTreeMap<String, Option<String>>,
}

impl Catalog {
    /// Checks a catalog file; `langs` are the languages every text must have.
    pub fn parse(file: CatalogFile, langs: &[&str]) -> Result<Self, Vec<Problem>> {
        let mut c = Checker {
            langs,
            problems: Vec::new(),
        };
        let regions: BTreeSet<&str> = file.regions.iter().map(|r| r.code.as_str()).collect();
        c.unique(
            "regions",
            "region",
            file.regions.iter().map(|r| r.code.as_str()),
        );
        for (i, r) in file.regions.iter().enumerate() {
            let path = format!("regions[{i}]");
            if !is_region_code(&r.code) {
                c.report(
                    &format!("{path}.code"),
                    format!(
                        "\"{}\" is not a region code: use capital letters and digits in \
                         parts joined by hyphens, like IN-RJ",
                        r.code
                    ),
                );
            }
            if let Some(p) = &r.parent
                && !regions.contains(p.as_str())
            {
                c.report(
                    &format!("{path}.parent"),
                    format!("no region \"{p}\" is declared"),
                );
            }
            c.texts(&format!("{path}.name"), &r.name);
            if let Some(z) = &r.time_zone
                && jiff::tz::TimeZone::get(z).is_err()
            {
                c.report(
                    &format!("{path}.time_zone"),
                    format!("\"{z}\" is not a time zone: use an IANA name like Asia/Kolkata"),
                );
            }
        }
        let parents: BTreeMap<String, Option<String>> = file
            .regions
            .iter()
            .map(|r| (r.code.clone(), r.parent.clone()))
            .collect();
        for r in &file.regions {
            let mut at = r.parent.as_deref();
            let mut steps = 0;
            while let Some(p) = at {
                steps += 1;
                if p == r.code || steps > parents.len() {
                    c.report(
                        "regions",
                        format!("region \"{}\" is its own ancestor", r.code),
                    );
                    break;
                }
                at = parents.get(p).and_then(|p| p.as_deref());
            }
        }
        c.unique(
            "departments",
            "department",
            file.departments.iter().map(|d| d.code.as_str()),
        );
        for (i, d) in file.departments.iter().enumerate() {
            c.code(&format!("departments[{i}].code"), &d.code);
            c.texts(&format!("departments[{i}].name"), &d.name);
        }
        c.unique(
            "categories",
            "category",
            file.categories.iter().map(|d| d.code.as_str()),
        );
        for (i, d) in file.categories.iter().enumerate() {
            c.code(&format!("categories[{i}].code"), &d.code);
            c.texts(&format!("categories[{i}].name"), &d.name);
        }
        let departments: BTreeSet<&str> =
            file.departments.iter().map(|d| d.code.as_str()).collect();
        c.unique(
            "offices",
            "office",
            file.offices.iter().map(|d| d.code.as_str()),
        );
        for (i, o) in file.offices.iter().enumerate() {
            let path = format!("offices[{i}]");
            c.code(&format!("{path}.code"), &o.code);
            if !departments.contains(o.department.as_str()) {
                c.report(
                    &format!("{path}.department"),
                    format!("no department \"{}\" is declared", o.department),
                );
            }
            if !regions.contains(o.region.as_str()) {
                c.report(
                    &format!("{path}.region"),
                    format!("no region \"{}\" is declared", o.region),
                );
            }
            c.texts(&format!("{path}.name"), &o.name);
            if let Some(a) = &o.address {
                c.texts(&format!("{path}.address"), a);
            }
        }
        for (i, h) in file.holidays.iter().enumerate() {
            let path = format!("holidays[{i}]");
            if !regions.contains(h.region.as_str()) {
                c.report(
                    &format!("{path}.region"),
                    format!("no region \"{}\" is declared", h.region),
                );
            }
            if h.date.parse::<jiff::civil::Date>().is_err() {
                c.report(
                    &format!("{path}.date"),
                    format!("\"{}\" is not a date written YYYY-MM-DD", h.date),
                );
            }
            c.texts(&format!("{path}.name"), &h.name);
        }
        c.finish(Self { file, parents })
    }

    /// The entries as declared.
    pub fn file(&self) -> &CatalogFile {
        &self.file
    }

    /// The region with this code.
    pub fn region(&self, code: &str) -> Option<&super::RegionEntry> {
        self.file.regions.iter().find(|r| r.code == code)
    }

    /// The department with this code.
    pub fn department(&self, code: &str) -> Option<&super::DepartmentEntry> {
        self.file.departments.iter().find(|d| d.code == code)
    }

    /// The category with this code.
    pub fn category(&self, code: &str) -> Option<&super::CategoryEntry> {
        self.file.categories.iter().find(|d| d.code == code)
    }

    /// The office with this code.
    pub fn office(&self, code: &str) -> Option<&super::OfficeEntry> {
        self.file.offices.iter().find(|o| o.code == code)
    }

    /// Whether `region` is declared.
    pub fn has_region(&self, region: &str) -> bool {
        self.parents.contains_key(region)
    }

    /// `region` and the regions it is part of, nearest first.
    pub fn lineage<'a>(&'a self, region: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut at = self.parents.contains_key(region).then_some(region);
        while let Some(r) = at
            && out.len() <= self.parents.len()
        {
            out.push(r);
            at = self.parents.get(r).and_then(|p| p.as_deref());
        }
        out
    }

    /// Whether `region` is `ancestor` or lies within it.
    pub fn within(&self, region: &str, ancestor: &str) -> bool {
        self.lineage(region).contains(&ancestor)
    }

    /// The time zone of `region`: its own, or the nearest enclosing region's.
    pub fn time_zone(&self, region: &str) -> Option<jiff::tz::TimeZone> {
        self.lineage(region)
            .into_iter()
            .filter_map(|r| self.region(r)?.time_zone.as_deref())
            .find_map(|z| jiff::tz::TimeZone::get(z).ok())
    }

    /// Whether `day` is a working day in `region`: not a Saturday or Sunday, and not a holiday
    /// of the region or of any region it is part of.
    pub fn is_working_day(&self, region: Option<&str>, day: jiff::civil::Date) -> bool {
        use jiff::civil::Weekday;
        !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.is_holiday(region, day)
    }

    /// Whether `day` is a holiday of `region` or of any region it is part of.
    pub fn is_holiday(&self, region: Option<&str>, day: jiff::civil::Date) -> bool {
        let lineage = region.map(|r| self.lineage(r)).unwrap_or_default();
        self.file.holidays.iter().any(|h| {
            lineage.contains(&h.region.as_str())
                && h.date.parse::<jiff::civil::Date>().ok() == Some(day)
        })
    }

    /// The day `days` working days after `from` in `region` (the deadline of a state entered
    /// on `from` with that many working days to act: the day it is entered does not count).
    pub fn add_working_days(
        &self,
        region: Option<&str>,
        from: jiff::civil::Date,
        days: u32,
    ) -> jiff::civil::Date {
        let mut at = from;
        let mut left = days;
        // A year of holidays cannot hold more than 366 days: the bound only guards the loop.
        let mut guard = 0;
        while left > 0 && guard < 10 * 366 {
            at = at.tomorrow().unwrap_or(at);
            guard += 1;
            if self.is_working_day(region, at) {
                left -= 1;
            }
        }
        at
    }
}

/// A service definition, checked against the catalog: its references resolve, every text has
/// every language, every condition names an earlier question, every workflow action leads
/// somewhere. Only [`Service::parse`] makes one.
#[derive(Debug, Clone, PartialEq)]
pub struct Service(ServiceDefinition);

impl std::ops::Deref for Service {
    type Target = ServiceDefinition;
    fn deref(&self) -> &ServiceDefinition {
        &self.0
    }
}

impl Service {
    /// Checks a definition against `catalog`; `langs` are the languages every text must have.
    pub fn parse(
        def: ServiceDefinition,
        catalog: &Catalog,
        langs: &[&str],
    ) -> Result<Self, Vec<Problem>> {
        let mut c = Checker {
            langs,
            problems: Vec::new(),
        };
        c.code("code", &def.code);
        if !catalog
            .file
            .departments
            .iter()
            .any(|d| d.code == def.department)
        {
            c.report(
                "department",
                format!(
                    "no department \"{}\" is declared in the catalog",
                    def.department
                ),
            );
        }
        if !catalog
            .file
            .categories
            .iter()
            .any(|d| d.code == def.category)
        {
            c.report(
                "category",
                format!(
                    "no category \"{}\" is declared in the catalog",
                    def.category
                ),
            );
        }
        for (i, r) in def.regions.iter().enumerate() {
            if !catalog.has_region(r) {
                c.report(
                    &format!("regions[{i}]"),
                    format!("no region \"{r}\" is declared in the catalog"),
                );
            }
        }
        if def.applicants.is_empty() {
            c.report("applicants", "name at least one kind of applicant");
        }
        c.texts("name", &def.name);
        c.texts("summary", &def.summary);
        if let Some(t) = &def.eligibility {
            c.texts("eligibility", t);
        }
        for lang in def.keywords.keys() {
            if !langs.contains(&lang.as_str()) {
                c.report(
                    "keywords",
                    format!("\"{lang}\" is not a language of the portal"),
                );
            }
        }
        if def.processing.min_working_days > def.processing.max_working_days {
            c.report(
                "processing",
                "min_working_days is more than max_working_days",
            );
        }
        if let Some(t) = &def.processing.note {
            c.texts("processing.note", t);
        }
        delivery(&mut c, &def);

        let form = def.form.as_ref();
        let fields = form_fields(form);
        for (i, d) in def.documents.iter().enumerate() {
            let path = format!("documents[{i}]");
            c.code(&format!("{path}.id"), &d.id);
            c.texts(&format!("{path}.name"), &d.name);
            for (j, a) in d.accepted.iter().enumerate() {
                c.texts(&format!("{path}.accepted[{j}]"), a);
            }
            if let Some(w) = &d.when {
                condition(&mut c, &format!("{path}.when"), w, &fields);
            }
        }
        c.unique(
            "documents",
            "document",
            def.documents.iter().map(|d| d.id.as_str()),
        );
        for (i, f) in def.fees.iter().enumerate() {
            let path = format!("fees[{i}]");
            c.code(&format!("{path}.id"), &f.id);
            c.texts(&format!("{path}.label"), &f.label);
            if f.amount == 0 {
                c.report(&format!("{path}.amount"), "a fee must be more than zero");
            }
            if f.currency.len() != 3 || !f.currency.bytes().all(|b| b.is_ascii_uppercase()) {
                c.report(
                    &format!("{path}.currency"),
                    format!(
                        "\"{}\" is not a currency code: use three capital letters (INR, RUB)",
                        f.currency
                    ),
                );
            }
            if let Some(w) = &f.when {
                condition(&mut c, &format!("{path}.when"), w, &fields);
            }
        }
        c.unique("fees", "fee", def.fees.iter().map(|d| d.id.as_str()));
        for (i, q) in def.faq.iter().enumerate() {
            c.texts(&format!("faq[{i}].question"), &q.question);
            c.texts(&format!("faq[{i}].answer"), &q.answer);
        }
        if let Some(form) = form {
            check_form(&mut c, form);
        }
        if let Some(w) = &def.workflow {
            check_workflow(&mut c, w);
        }
        if let Some(q) = &def.queue {
            match fields.get(q.choices.as_str()) {
                None => c.report(
                    "queue.choices",
                    format!("no question \"{}\" is in the form", q.choices),
                ),
                Some(f) if f.kind != FieldKind::Checkbox => c.report(
                    "queue.choices",
                    format!("question \"{}\" must be a checkbox question", q.choices),
                ),
                Some(_) => {}
            }
            if let Some(p) = &q.priority {
                match fields.get(p.as_str()) {
                    None => c.report(
                        "queue.priority",
                        format!("no question \"{p}\" is in the form"),
                    ),
                    Some(f) if !matches!(f.kind, FieldKind::Select | FieldKind::Radio) => c.report(
                        "queue.priority",
                        format!("question \"{p}\" must be a select or radio question"),
                    ),
                    Some(_) => {}
                }
            }
            let states: Vec<&str> = def
                .workflow
                .iter()
                .flat_map(|w| &w.states)
                .map(|s| s.id.as_str())
                .collect();
            for (i, w) in q.waiting.iter().enumerate() {
                if !states.contains(&w.as_str()) {
                    c.report(
                        &format!("queue.waiting[{i}]"),
                        format!("no state \"{w}\" is in the workflow"),
                    );
                }
            }
        }
        if let Some(subject) = &def.subject {
            c.texts("subject.label", &subject.label);
            for (key, id, kind) in [
                ("name", &subject.name, FieldKind::Text),
                ("birth_date", &subject.birth_date, FieldKind::Date),
            ] {
                match fields.get(id.as_str()) {
                    None => c.report(
                        &format!("subject.{key}"),
                        format!("no question \"{id}\" is in the form"),
                    ),
                    Some(f) if f.kind != kind => c.report(
                        &format!("subject.{key}"),
                        format!("question \"{id}\" must be a {} question", kind.as_str()),
                    ),
                    Some(f) if f.optional => c.report(
                        &format!("subject.{key}"),
                        format!("question \"{id}\" names the subject, so it cannot be optional"),
                    ),
                    Some(_) => {}
                }
            }
        }
        if let Some(r) = &def.receipt {
            for (i, f) in r.fields.iter().enumerate() {
                if !fields.contains_key(f.as_str()) {
                    c.report(
                        &format!("receipt.fields[{i}]"),
                        format!("no question \"{f}\" is in the form"),
                    );
                }
            }
            if let Some(t) = &r.note {
                c.texts("receipt.note", t);
            }
        }
        if let Some(a) = &def.appointment {
            c.code("appointment.quota", &a.quota);
            for (i, q) in a.quotas.iter().enumerate() {
                c.code(&format!("appointment.quotas[{i}].quota"), &q.quota);
                condition(
                    &mut c,
                    &format!("appointment.quotas[{i}].when"),
                    &q.when,
                    &fields,
                );
            }
        }
        c.finish(Self(def))
    }

    /// The workflow's state with this id.
    pub fn state(&self, id: &str) -> Option<&State> {
        self.0
            .workflow
            .as_ref()
            .and_then(|w| w.states.iter().find(|s| s.id == id))
    }

    /// The definition as written.
    pub fn definition(&self) -> &ServiceDefinition {
        &self.0
    }

    /// Whether it is offered in `region` (a service offered in a state is offered in its
    /// districts), or, with no region chosen, anywhere.
    pub fn offered_in(&self, catalog: &Catalog, region: Option<&str>) -> bool {
        match region {
            None => true,
            Some(r) => {
                self.0.regions.is_empty() || self.0.regions.iter().any(|s| catalog.within(r, s))
            }
        }
    }
}

fn delivery(c: &mut Checker<'_>, def: &ServiceDefinition) {
    let d = &def.delivery;
    match d.kind {
        DeliveryKind::Online => {
            if def.form.is_none() {
                c.report("form", "a service delivered online needs a form");
            }
            if def.workflow.is_none() {
                c.report("workflow", "a service delivered online needs a workflow");
            }
        }
        DeliveryKind::App => {
            if d.app.is_none() {
                c.report("delivery.app", "name the app's client id");
            }
            match d.url.as_deref().map(url::Url::parse) {
                Some(Ok(u)) if u.scheme() == "https" || u.host_str() == Some("localhost") => {}
                Some(_) => c.report("delivery.url", "the app's address must be an https address"),
                None => c.report("delivery.url", "give the address where the service starts"),
            }
        }
        DeliveryKind::InPerson => {
            if d.instructions.is_none() {
                c.report("delivery.instructions", "say where to go and what to do");
            }
        }
    }
    if let Some(t) = &d.instructions {
        c.texts("delivery.instructions", t);
    }
}

/// Every top-level question of the form by id, with its kind and choices, in form order.
fn form_fields(form: Option<&Form>) -> BTreeMap<&str, &Field> {
    form.into_iter()
        .flat_map(|f| &f.pages)
        .flat_map(|p| &p.fields)
        .map(|f| (f.id.as_str(), f))
        .collect()
}

fn check_form(c: &mut Checker<'_>, form: &Form) {
    if form.pages.is_empty() {
        c.report("form.pages", "a form needs at least one page");
    }
    c.texts("form.declaration", &form.declaration);
    c.unique(
        "form.pages",
        "page",
        form.pages.iter().map(|p| p.id.as_str()),
    );
    c.unique(
        "form",
        "question",
        form.pages
            .iter()
            .flat_map(|p| &p.fields)
            .map(|f| f.id.as_str()),
    );
    // Conditions may name only questions on earlier pages: a page without scripts cannot
    // change what it shows while it is being filled in.
    let mut earlier: BTreeMap<&str, &Field> = BTreeMap::new();
    for (i, page) in form.pages.iter().enumerate() {
        let path = format!("form.pages[{i}]");
        c.code(&format!("{path}.id"), &page.id);
        c.texts(&format!("{path}.title"), &page.title);
        if page.fields.is_empty() {
            c.report(
                &format!("{path}.fields"),
                "a page needs at least one question",
            );
        }
        if let Some(w) = &page.when {
            condition(c, &format!("{path}.when"), w, &earlier);
        }
        for (j, f) in page.fields.iter().enumerate() {
            check_field(c, &format!("{path}.fields[{j}]"), f, &earlier, false);
        }
        earlier.extend(page.fields.iter().map(|f| (f.id.as_str(), f)));
    }
}

fn check_field(
    c: &mut Checker<'_>,
    path: &str,
    f: &Field,
    earlier: &BTreeMap<&str, &Field>,
    in_group: bool,
) {
    use FieldKind as K;
    c.code(&format!("{path}.id"), &f.id);
    c.texts(&format!("{path}.label"), &f.label);
    if let Some(h) = &f.hint {
        c.texts(&format!("{path}.hint"), h);
    }
    let chooses = matches!(f.kind, K::Select | K::Radio | K::Checkbox);
    if chooses && f.options.is_empty() {
        c.report(&format!("{path}.options"), "list the choices");
    }
    if !chooses && !f.options.is_empty() {
        c.report(
            &format!("{path}.options"),
            format!("a {} question has no choices", f.kind),
        );
    }
    c.unique(
        &format!("{path}.options"),
        "choice",
        f.options.iter().map(|o| o.value.as_str()),
    );
    for (k, o) in f.options.iter().enumerate() {
        if o.value.is_empty() || o.value.len() > 64 {
            c.report(
                &format!("{path}.options[{k}].value"),
                "a choice's value is 1 to 64 characters",
            );
        }
        c.texts(&format!("{path}.options[{k}].label"), &o.label);
    }
    let is = |kinds: &[K]| kinds.contains(&f.kind);
    let only = |c: &mut Checker<'_>, set: bool, key: &str, kinds: &[K]| {
        if set && !is(kinds) {
            c.report(
                &format!("{path}.{key}"),
                format!("{key} does not apply to a {} question", f.kind),
            );
        }
    };
    only(
        c,
        f.min_length.is_some() || f.max_length.is_some(),
        "min_length",
        &[K::Text, K::Address],
    );
    only(c, f.pattern.is_some(), "pattern", &[K::Text]);
    only(c, f.min.is_some() || f.max.is_some(), "min", &[K::Number]);
    only(
        c,
        f.past || f.future || f.min_age.is_some() || f.max_age.is_some(),
        "past",
        &[K::Date],
    );
    only(c, !f.fields.is_empty(), "fields", &[K::Group]);
    only(
        c,
        f.min_items.is_some() || f.max_items.is_some(),
        "min_items",
        &[K::Group, K::Checkbox],
    );
    only(c, f.ranked, "ranked", &[K::Checkbox]);
    for (code, text) in &f.messages {
        if FORM_ERRORS.contains(&code.as_str()) {
            c.texts(&format!("{path}.messages.{code}"), text);
        } else {
            c.report(
                &format!("{path}.messages.{code}"),
                format!(
                    "\"{code}\" is not something that can be wrong with an answer (expected one of {})",
                    FORM_ERRORS.join(", ")
                ),
            );
        }
    }
    if f.ranked && f.max_items.is_none() {
        c.report(
            &format!("{path}.ranked"),
            "a ranked question needs max_items: how many choices to ask for",
        );
    }
    if let (Some(a), Some(b)) = (f.min_length, f.max_length)
        && a > b
    {
        c.report(
            &format!("{path}.min_length"),
            "min_length is more than max_length",
        );
    }
    if let (Some(a), Some(b)) = (f.min, f.max)
        && a > b
    {
        c.report(&format!("{path}.min"), "min is more than max");
    }
    if let (Some(a), Some(b)) = (f.min_age, f.max_age)
        && a >= b
    {
        c.report(
            &format!("{path}.min_age"),
            "min_age must be less than max_age",
        );
    }
    if let (Some(a), Some(b)) = (f.min_items, f.max_items)
        && a > b
    {
        c.report(
            &format!("{path}.min_items"),
            "min_items is more than max_items",
        );
    }
    if f.past && f.future {
        c.report(
            &format!("{path}.past"),
            "a date cannot be both past and future",
        );
    }
    if let Some(p) = &f.pattern
        && regex::Regex::new(p).is_err()
    {
        c.report(
            &format!("{path}.pattern"),
            format!("\"{p}\" is not a valid regular expression"),
        );
    }
    if f.pattern.is_some() && f.pattern_message.is_none() {
        c.report(
            &format!("{path}.pattern_message"),
            "say in words what the pattern expects",
        );
    }
    if let Some(t) = &f.pattern_message {
        c.texts(&format!("{path}.pattern_message"), t);
    }
    if let Some(p) = f.prefill {
        let fits = match p {
            Prefill::Phone => f.kind == K::Phone,
            Prefill::Email => f.kind == K::Email,
            Prefill::BirthDate => f.kind == K::Date,
            _ => f.kind == K::Text,
        };
        if !fits {
            c.report(
                &format!("{path}.prefill"),
                format!("{p} cannot fill a {} question", f.kind),
            );
        }
    }
    if let Some(w) = &f.when {
        condition(c, &format!("{path}.when"), w, earlier);
    }
    if f.kind == K::Group {
        if in_group {
            c.report(path, "a group cannot hold another group");
        }
        if f.fields.is_empty() {
            c.report(
                &format!("{path}.fields"),
                "a group needs at least one question",
            );
        }
        c.unique(
            &format!("{path}.fields"),
            "question",
            f.fields.iter().map(|g| g.id.as_str()),
        );
        for (k, g) in f.fields.iter().enumerate() {
            check_field(c, &format!("{path}.fields[{k}]"), g, earlier, true);
        }
    }
}

fn condition(c: &mut Checker<'_>, path: &str, w: &Condition, fields: &BTreeMap<&str, &Field>) {
    let tests = [
        w.equals.is_some(),
        w.not_equals.is_some(),
        w.one_of.is_some(),
        w.age_below.is_some(),
        w.age_at_least.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let combos = usize::from(w.all.is_some()) + usize::from(w.any.is_some());
    match (&w.field, tests, combos) {
        (Some(name), 1, 0) => match fields.get(name.as_str()) {
            None => c.report(
                &format!("{path}.field"),
                format!("no question \"{name}\" comes before this"),
            ),
            Some(f) => {
                if (w.age_below.is_some() || w.age_at_least.is_some()) && f.kind != FieldKind::Date
                {
                    c.report(path, format!("\"{name}\" is not a date question"));
                }
                if !f.options.is_empty() {
                    let values = w
                        .equals
                        .iter()
                        .chain(w.not_equals.iter())
                        .chain(w.one_of.iter().flatten());
                    for v in values {
                        if !f.options.iter().any(|o| &o.value == v) {
                            c.report(
                                path,
                                format!("\"{v}\" is not one of the choices of \"{name}\""),
                            );
                        }
                    }
                }
            }
        },
        (None, 0, 1) => {
            for (i, inner) in w.all.iter().chain(w.any.iter()).flatten().enumerate() {
                condition(c, &format!("{path}[{i}]"), inner, fields);
            }
        }
        _ => c.report(
            path,
            "write either `field` with one test (equals, not_equals, one_of, age_below, \
             age_at_least), or one of `all` and `any`",
        ),
    }
}

fn check_workflow(c: &mut Checker<'_>, w: &Workflow) {
    if w.states.is_empty() {
        c.report("workflow.states", "a workflow needs at least one state");
    }
    c.unique(
        "workflow.states",
        "state",
        w.states.iter().map(|s| s.id.as_str()),
    );
    c.unique(
        "workflow.actions",
        "action",
        w.actions.iter().map(|s| s.id.as_str()),
    );
    let states: BTreeMap<&str, &State> = w.states.iter().map(|s| (s.id.as_str(), s)).collect();
    for (i, s) in w.states.iter().enumerate() {
        let path = format!("workflow.states[{i}]");
        c.code(&format!("{path}.id"), &s.id);
        c.texts(&format!("{path}.label"), &s.label);
        if let Some(t) = &s.next_step {
            c.texts(&format!("{path}.next_step"), t);
        }
        if s.terminal && (s.sla_working_days.is_some() || s.escalate_to.is_some()) {
            c.report(&path, "a final state has no time limit");
        }
        if let Some(action) = &s.on_deadline {
            let path = format!("{path}.on_deadline");
            if s.sla_working_days.is_none() {
                c.report(
                    &path,
                    "a state without a deadline (sla_working_days) has none to pass",
                );
            }
            if s.escalate_to.is_some() {
                c.report(&path, "either escalate or act on the deadline, not both");
            }
            match w.actions.iter().find(|a| &a.id == action) {
                None => c.report(&path, format!("no action \"{action}\"")),
                Some(a) if !a.from.contains(&s.id) || a.kind != ActionKind::Advance => c.report(
                    &path,
                    format!("\"{action}\" is not a plain action taken in this state"),
                ),
                Some(_) => {}
            }
        }
        if !s.terminal && !w.actions.iter().any(|a| a.from.contains(&s.id)) {
            c.report(
                &path,
                "no action leaves this state: mark it terminal or add one",
            );
        }
    }
    for (i, a) in w.actions.iter().enumerate() {
        let path = format!("workflow.actions[{i}]");
        c.code(&format!("{path}.id"), &a.id);
        c.texts(&format!("{path}.label"), &a.label);
        for (j, f) in a.from.iter().enumerate() {
            match states.get(f.as_str()) {
                None => c.report(&format!("{path}.from[{j}]"), format!("no state \"{f}\"")),
                Some(s) if s.terminal => c.report(
                    &format!("{path}.from[{j}]"),
                    format!("\"{f}\" is a final state"),
                ),
                Some(_) => {}
            }
        }
        if a.from.is_empty() {
            c.report(
                &format!("{path}.from"),
                "name the states it may be taken in",
            );
        }
        if !states.contains_key(a.to.as_str()) {
            c.report(&format!("{path}.to"), format!("no state \"{}\"", a.to));
        }
        if a.kind == ActionKind::Edit && a.from.iter().any(|f| *f != a.to) {
            c.report(
                &format!("{path}.from"),
                "an edit keeps the application where it is: its only state is its \"to\"",
            );
        }
        if a.roles.is_empty() {
            c.report(&format!("{path}.roles"), "name who may take it");
        }
        for (j, r) in a.roles.iter().enumerate() {
            c.code(&format!("{path}.roles[{j}]"), r);
        }
        let by_applicant = a.roles.iter().all(|r| r == "applicant");
        let applicants_action = matches!(a.kind, ActionKind::Resubmit | ActionKind::Withdraw);
        // Besides those, the applicant may take a plain step (accepting an offered place);
        // no action is both the applicant's and an officer's.
        let plain_step = a.kind == ActionKind::Advance && by_applicant && !a.roles.is_empty();
        if applicants_action != by_applicant && !plain_step {
            c.report(
                &format!("{path}.roles"),
                if applicants_action {
                    format!("only the applicant may {}", a.kind)
                } else {
                    format!("the applicant cannot take a {} action", a.kind)
                },
            );
        }
    }
    if w.actions.iter().any(|a| a.kind == ActionKind::Reject) && w.rejection_reasons.is_empty() {
        c.report(
            "workflow.rejection_reasons",
            "list the reasons an officer may give when rejecting",
        );
    }
    c.unique(
        "workflow.rejection_reasons",
        "reason",
        w.rejection_reasons.iter().map(|r| r.value.as_str()),
    );
    for (i, r) in w.rejection_reasons.iter().enumerate() {
        c.code(&format!("workflow.rejection_reasons[{i}].value"), &r.value);
        c.texts(&format!("workflow.rejection_reasons[{i}].label"), &r.label);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn calendar() -> Catalog {
        let name = serde_json::json!({"en": "x"});
        let file: CatalogFile = serde_json::from_value(serde_json::json!({
            "regions": [
                {"code": "IN", "name": name},
                {"code": "IN-RJ", "parent": "IN", "name": name},
                {"code": "IN-WB", "parent": "IN", "name": name},
            ],
            "holidays": [
                {"region": "IN", "date": "2026-10-02", "name": name},
                {"region": "IN-WB", "date": "2026-10-20", "name": name},
            ],
        }))
        .unwrap();
        Catalog::parse(file, &["en"]).unwrap()
    }

    #[test]
    fn working_days_skip_weekends_and_the_regions_holidays() {
        let c = calendar();
        // Thursday 1 October 2026: Friday 2nd is Gandhi Jayanti everywhere in India, then a
        // weekend; three working days on is Wednesday the 7th.
        let thu = date(2026, 10, 1);
        assert_eq!(c.add_working_days(Some("IN-RJ"), thu, 3), date(2026, 10, 7));
        // Durga Puja (Tuesday 20th) is a holiday in West Bengal only.
        let mon = date(2026, 10, 19);
        assert_eq!(
            c.add_working_days(Some("IN-RJ"), mon, 1),
            date(2026, 10, 20)
        );
        assert_eq!(
            c.add_working_days(Some("IN-WB"), mon, 1),
            date(2026, 10, 21)
        );
        // A Friday plus one working day is the Monday; no region knows weekends only.
        assert_eq!(
            c.add_working_days(None, date(2026, 10, 9), 1),
            date(2026, 10, 12)
        );
        assert_eq!(c.add_working_days(None, thu, 0), thu);
        assert!(!c.is_working_day(Some("IN-WB"), date(2026, 10, 20)));
        assert!(c.is_working_day(Some("IN"), date(2026, 10, 20)));
    }
}
