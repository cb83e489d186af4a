//! An application's answers and the rules that read them: which pages and questions apply,
//! whether an answer is acceptable, which fees are due. Pure: "today" is given, never read.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::definition::{Condition, Fee, Field, FieldKind, Form, Page};
use crate::identity::{Email, Phone, Regions};

/// One answer, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// Text, a number, a date (`YYYY-MM-DD`), a choice, a phone (E.164), an e-mail.
    One(String),
    /// The choices ticked (checkbox).
    Many(Vec<String>),
    /// The items of a repeating group, each its questions' answers.
    Items(Vec<BTreeMap<String, String>>),
}

impl Answer {
    /// The single value, if this is one.
    pub fn one(&self) -> Option<&str> {
        match self {
            Self::One(s) => Some(s),
            _ => None,
        }
    }
}

/// Every answer of an application, by question id.
pub type Answers = BTreeMap<String, Answer>;

/// What a person typed for one question, before checking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Typed {
    /// Nothing was sent for it.
    #[default]
    Missing,
    /// One value.
    One(String),
    /// Several values (checkbox).
    Many(Vec<String>),
    /// The items of a group, each with its questions' typed values.
    Items(Vec<BTreeMap<String, String>>),
}

/// Why an answer is not accepted: a message id (translated by the edge) and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The question (for a group item, `group.index.question`).
    pub field: String,
    /// The message id.
    pub code: &'static str,
    /// The message's arguments.
    pub args: Vec<(&'static str, String)>,
}

/// What the checks need besides the answers.
pub struct Context<'a> {
    /// Today, in the portal's time zone.
    pub today: Date,
    /// How phone numbers may be typed.
    pub regions: &'a Regions,
    /// The offices an applicant may choose.
    pub offices: &'a [&'a str],
}

/// Whether `cond` holds for `answers` on `today`.
pub fn holds(cond: &Condition, answers: &Answers, today: Date) -> bool {
    if let Some(all) = &cond.all {
        return all.iter().all(|c| holds(c, answers, today));
    }
    if let Some(any) = &cond.any {
        return any.iter().any(|c| holds(c, answers, today));
    }
    let Some(field) = &cond.field else {
        return false;
    };
    let answer = answers.get(field);
    let values: Vec<&str> = match answer {
        Some(Answer::One(s)) => vec![s.as_str()],
        Some(Answer::Many(v)) => v.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    if let Some(v) = &cond.equals {
        return values.contains(&v.as_str());
    }
    if let Some(v) = &cond.not_equals {
        return !values.contains(&v.as_str());
    }
    if let Some(vs) = &cond.one_of {
        return values.iter().any(|a| vs.iter().any(|v| v == a));
    }
    let age = values
        .first()
        .and_then(|d| d.parse::<Date>().ok())
        .map(|born| age_on(born, today));
    match (cond.age_below, cond.age_at_least, age) {
        (Some(n), _, Some(a)) => a < i64::from(n),
        (_, Some(n), Some(a)) => a >= i64::from(n),
        _ => false,
    }
}

/// Whole years from `born` to `today`.
pub fn age_on(born: Date, today: Date) -> i64 {
    let mut years = i64::from(today.year()) - i64::from(born.year());
    if (today.month(), today.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years
}

/// The pages that apply, given the answers so far, in order.
pub fn pages<'a>(form: &'a Form, answers: &Answers, today: Date) -> Vec<&'a Page> {
    form.pages
        .iter()
        .filter(|p| p.when.as_ref().is_none_or(|w| holds(w, answers, today)))
        .collect()
}

/// The questions of `page` that apply.
pub fn fields<'a>(page: &'a Page, answers: &Answers, today: Date) -> Vec<&'a Field> {
    page.fields
        .iter()
        .filter(|f| f.when.as_ref().is_none_or(|w| holds(w, answers, today)))
        .collect()
}

/// The fees due for these answers.
pub fn fees<'a>(fees: &'a [Fee], answers: &Answers, today: Date) -> Vec<&'a Fee> {
    fees.iter()
        .filter(|f| f.when.as_ref().is_none_or(|w| holds(w, answers, today)))
        .collect()
}

fn refuse(field: &str, code: &'static str) -> Refusal {
    Refusal {
        field: field.to_string(),
        code,
        args: Vec::new(),
    }
}

fn refuse_with(field: &str, code: &'static str, name: &'static str, v: impl ToString) -> Refusal {
    Refusal {
        field: field.to_string(),
        code,
        args: vec![(name, v.to_string())],
    }
}

/// A date as people type it: `YYYY-MM-DD` (what a date input sends), or day first with `-`,
/// `/` or `.` between (`26/01/1990`).
pub fn parse_date(s: &str) -> Option<Date> {
    // Digits as a Hindi or Bengali keyboard types them count as the same digits.
    let ascii: String = s.trim().chars().map(ascii_digit).collect();
    let s = ascii.as_str();
    if let Ok(d) = s.parse::<Date>() {
        return Some(d);
    }
    let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
    if let [d, m, y] = parts[..]
        && y.len() == 4
    {
        return Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok();
    }
    None
}

/// A Devanagari (०–९) or Bengali (০–৯) digit as its ASCII digit; any other character as it is.
fn ascii_digit(c: char) -> char {
    let zero = match c {
        '\u{0966}'..='\u{096F}' => 0x0966,
        '\u{09E6}'..='\u{09EF}' => 0x09E6,
        _ => return c,
    };
    char::from(b'0' + (u32::from(c) - zero) as u8)
}

/// Checks one typed value of a single-valued question; `None` when it was left empty.
fn check_one(
    f: &Field,
    name: &str,
    raw: &str,
    ctx: &Context<'_>,
) -> Result<Option<String>, Refusal> {
    let v = raw.trim();
    if v.is_empty() {
        return if f.optional {
            Ok(None)
        } else {
            Err(refuse(name, "form-required"))
        };
    }
    let len = v.chars().count();
    let value = match f.kind {
        FieldKind::Text | FieldKind::Address => {
            let max = f
                .max_length
                .unwrap_or(if f.kind == FieldKind::Text { 200 } else { 500 });
            if len > max as usize {
                return Err(refuse_with(name, "form-too-long", "max", max));
            }
            if let Some(min) = f.min_length
                && len < min as usize
            {
                return Err(refuse_with(name, "form-too-short", "min", min));
            }
            if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
                return Err(refuse(name, "form-invalid-characters"));
            }
            if let Some(p) = &f.pattern {
                // Checked when the definition was imported; anchored to the whole answer.
                let whole = format!("^(?:{p})$");
                if !regex::Regex::new(&whole).is_ok_and(|r| r.is_match(v)) {
                    return Err(refuse(name, "form-pattern"));
                }
            }
            v.replace("\r\n", "\n")
        }
        FieldKind::Number => {
            let n: i64 = v
                .replace([',', ' ', '\u{a0}'], "")
                .parse()
                .map_err(|_| refuse(name, "form-number"))?;
            if let Some(min) = f.min
                && n < min
            {
                return Err(refuse_with(name, "form-number-min", "min", min));
            }
            if let Some(max) = f.max
                && n > max
            {
                return Err(refuse_with(name, "form-number-max", "max", max));
            }
            n.to_string()
        }
        FieldKind::Date => {
            let d = parse_date(v).ok_or_else(|| refuse(name, "form-date"))?;
            if f.past && d > ctx.today {
                return Err(refuse(name, "form-date-past"));
            }
            if f.future && d < ctx.today {
                return Err(refuse(name, "form-date-future"));
            }
            let age = age_on(d, ctx.today);
            if let Some(min) = f.min_age
                && age < i64::from(min)
            {
                return Err(refuse_with(name, "form-age-min", "years", min));
            }
            if let Some(max) = f.max_age
                && age >= i64::from(max)
            {
                return Err(refuse_with(name, "form-age-max", "years", max));
            }
            d.to_string()
        }
        FieldKind::Select | FieldKind::Radio => {
            if !f.options.iter().any(|o| o.value == v) {
                return Err(refuse(name, "form-choice"));
            }
            v.to_string()
        }
        FieldKind::Phone => Phone::parse(v, ctx.regions)
            .map_err(|_| refuse(name, "form-phone"))?
            .as_str()
            .to_string(),
        FieldKind::Email => Email::parse(v)
            .map_err(|_| refuse(name, "form-email"))?
            .as_str()
            .to_string(),
        FieldKind::Pincode => {
            let digits: String = v.chars().filter(|c| !c.is_whitespace()).collect();
            let ok = digits.len() == 6
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0');
            if !ok {
                return Err(refuse(name, "form-pincode"));
            }
            digits
        }
        FieldKind::Office => {
            if !ctx.offices.contains(&v) {
                return Err(refuse(name, "form-choice"));
            }
            v.to_string()
        }
        FieldKind::Checkbox | FieldKind::Group => return Err(refuse(name, "form-choice")),
    };
    Ok(Some(value))
}

/// Checks what was typed for one question. `Ok(None)`: an optional question left empty.
pub fn check(f: &Field, typed: &Typed, ctx: &Context<'_>) -> Result<Option<Answer>, Vec<Refusal>> {
    match f.kind {
        FieldKind::Checkbox => {
            let ticked: Vec<String> = match typed {
                Typed::Many(v) => v.clone(),
                Typed::One(v) if !v.is_empty() => vec![v.clone()],
                _ => Vec::new(),
            };
            let mut unique: Vec<String> = Vec::new();
            // A ranked question's choices left empty ("—") are skipped; the rest keep their order.
            for t in ticked.into_iter().filter(|t| !t.is_empty()) {
                if !f.options.iter().any(|o| o.value == t) {
                    return Err(vec![refuse(&f.id, "form-choice")]);
                }
                if unique.contains(&t) {
                    if f.ranked {
                        return Err(vec![refuse(&f.id, "form-choices-twice")]);
                    }
                } else {
                    unique.push(t);
                }
            }
            if unique.is_empty() {
                return if f.optional {
                    Ok(None)
                } else {
                    Err(vec![refuse(&f.id, "form-required-choice")])
                };
            }
            if let Some(max) = f.max_items
                && unique.len() > max as usize
            {
                return Err(vec![refuse_with(&f.id, "form-choices-max", "max", max)]);
            }
            if let Some(min) = f.min_items
                && unique.len() < min as usize
            {
                return Err(vec![refuse_with(&f.id, "form-choices-min", "min", min)]);
            }
            Ok(Some(Answer::Many(unique)))
        }
        FieldKind::Group => {
            let items: &[BTreeMap<String, String>] = match typed {
                Typed::Items(v) => v,
                _ => &[],
            };
            let mut out = Vec::new();
            let mut problems = Vec::new();
            for (i, item) in items.iter().enumerate() {
                // An item left wholly empty is no item (the blank row of a form).
                if item.values().all(|v| v.trim().is_empty()) {
                    continue;
                }
                let mut kept = BTreeMap::new();
                for sub in &f.fields {
                    let name = format!("{}.{}.{}", f.id, i, sub.id);
                    let raw = item.get(&sub.id).map_or("", String::as_str);
                    match check_one(sub, &name, raw, ctx) {
                        Ok(Some(v)) => {
                            kept.insert(sub.id.clone(), v);
                        }
                        Ok(None) => {}
                        Err(r) => problems.push(r),
                    }
                }
                out.push(kept);
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            let min = f.min_items.unwrap_or(if f.optional { 0 } else { 1 });
            if out.len() < min as usize {
                return Err(vec![refuse_with(&f.id, "form-items-min", "min", min)]);
            }
            if let Some(max) = f.max_items
                && out.len() > max as usize
            {
                return Err(vec![refuse_with(&f.id, "form-items-max", "max", max)]);
            }
            Ok((!out.is_empty()).then_some(Answer::Items(out)))
        }
        _ => {
            let raw = match typed {
                Typed::One(v) => v.as_str(),
                _ => "",
            };
            check_one(f, &f.id, raw, ctx)
                .map(|v| v.map(Answer::One))
                .map_err(|r| vec![r])
        }
    }
}

/// Checks every question of `page` that applies; the accepted answers, or every refusal.
pub fn check_page(
    page: &Page,
    typed: &BTreeMap<String, Typed>,
    earlier: &Answers,
    ctx: &Context<'_>,
) -> Result<Answers, Vec<Refusal>> {
    let mut out = Answers::new();
    let mut problems = Vec::new();
    for f in fields(page, earlier, ctx.today) {
        match check(f, typed.get(&f.id).unwrap_or(&Typed::Missing), ctx) {
            Ok(Some(a)) => {
                out.insert(f.id.clone(), a);
            }
            Ok(None) => {}
            Err(r) => problems.extend(r),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The answers that still apply (a changed answer can hide a later page): what is submitted.
pub fn applicable(form: &Form, answers: &Answers, today: Date) -> Answers {
    let mut kept = Answers::new();
    for page in pages(form, answers, today) {
        for f in fields(page, answers, today) {
            if let Some(a) = answers.get(&f.id) {
                kept.insert(f.id.clone(), a.clone());
            }
        }
    }
    kept
}

/// The first page that applies and has a required question unanswered: where to send a person
/// before they may check and submit.
pub fn first_incomplete<'a>(form: &'a Form, answers: &Answers, today: Date) -> Option<&'a Page> {
    pages(form, answers, today).into_iter().find(|p| {
        fields(p, answers, today)
            .iter()
            .any(|f| !f.optional && !answers.contains_key(&f.id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_people_type_them() {
        let d = Date::new(1990, 1, 26).unwrap();
        for typed in [
            "1990-01-26",
            "26-1-1990",
            " 26/01/1990 ",
            "26.01.1990",
            "२६-१-१९९०",
            "২৬-০১-১৯৯০",
        ] {
            assert_eq!(parse_date(typed), Some(d), "{typed}");
        }
        for typed in [
            "",
            "26-1-90",
            "31-2-1990",
            "26--1990",
            "x-1-1990",
            "٢٦-١-١٩٩٠",
        ] {
            assert_eq!(parse_date(typed), None, "{typed}");
        }
    }
}
