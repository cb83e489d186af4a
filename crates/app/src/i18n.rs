//! Languages. Every text a person reads (pages, errors, SMS, e-mail) comes from the Fluent files
//! in `crates/app/locales/<tag>/`; adding a language is adding a folder.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Bidi isolation marks would end up inside SMS codes and links.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// A language Ekdwar has texts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lang(LanguageIdentifier);

impl Lang {
    /// The language for `tag` if it is one we have (`hi`, `hi-IN` → `hi`).
    pub fn parse(tag: &str) -> Option<Self> {
        let wanted: LanguageIdentifier = tag.trim().parse().ok()?;
        LOCALES
            .locales()
            .find(|l| l.language == wanted.language)
            .map(|l| Self(l.clone()))
    }

    /// Picks from an `Accept-Language` header, honouring q-values.
    pub fn negotiate(accept_language: &str, default: &Lang) -> Self {
        let mut choices: Vec<(f32, usize, &str)> = accept_language
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0 && !tag.is_empty() && tag.len() < 36).then_some((q, i, tag))
            })
            .take(16)
            .collect();
        choices.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        choices
            .iter()
            .find_map(|(_, _, tag)| Self::parse(tag))
            .unwrap_or_else(|| default.clone())
    }

    pub fn english() -> Self {
        Self("en".parse().expect("valid tag"))
    }

    /// All languages, English first, then by tag.
    pub fn all() -> Vec<Lang> {
        let mut v: Vec<Lang> = LOCALES.locales().map(|l| Lang(l.clone())).collect();
        v.sort_by_key(|l| (l.tag() != "en", l.tag()));
        v
    }

    pub fn tag(&self) -> String {
        self.0.to_string()
    }

    /// The language's own name for itself (`हिन्दी`).
    pub fn native_name(&self) -> String {
        self.t("language-name")
    }

    /// The country whose phone numbers speakers of this language most likely type without
    /// a `+`; English says nothing, so the deployment's regions decide.
    pub fn home_region(&self) -> Option<ekdwar_domain::Region> {
        match self.0.language.as_str() {
            "hi" | "bn" => Some(ekdwar_domain::Region::india()),
            "ru" => ekdwar_domain::Region::parse("RU").ok(),
            _ => None,
        }
    }

    /// A moment as people here read it, with the zone named: `23 Nov 2026, 13:05 IST`.
    pub fn datetime(&self, at: ekdwar_domain::Timestamp, zone: &jiff::tz::TimeZone) -> String {
        self.moment("datetime", at, zone)
    }

    /// A time with its weekday, in `zone`, named (`Mon, 7 Dec 2026, 10:30 IST`): how an
    /// appointment is written everywhere, pages and messages alike.
    pub fn on_day(&self, at: ekdwar_domain::Timestamp, zone: &jiff::tz::TimeZone) -> String {
        self.moment("datetime-weekday", at, zone)
    }

    /// A calendar day with its weekday (`Mon, 7 Dec 2026`).
    pub fn day_with_weekday(&self, d: jiff::civil::Date) -> String {
        self.t_args("date-weekday", &self.day_args(d))
    }

    /// A calendar day as people here write it (`7 December 2026`).
    pub fn date(&self, d: jiff::civil::Date) -> String {
        self.t_args("date", &self.day_args(d))
    }

    /// `key` (a date and time pattern) for `at` in `zone`.
    fn moment(&self, key: &str, at: ekdwar_domain::Timestamp, zone: &jiff::tz::TimeZone) -> String {
        let Ok(t) = jiff::Timestamp::from_millisecond(at.millis()) else {
            return String::new();
        };
        let local = t.to_zoned(zone.clone());
        let mut args = self.day_args(local.date());
        args.push(("time", local.strftime("%H:%M").to_string()));
        args.push(("zone", local.strftime("%Z").to_string()));
        self.t_args(key, &args)
    }

    /// A day's parts, for every date pattern (each uses those it names).
    fn day_args(&self, d: jiff::civil::Date) -> Vec<(&'static str, String)> {
        vec![
            (
                "weekday",
                self.t(&format!("weekday-{}", d.weekday().to_monday_one_offset())),
            ),
            ("day", d.day().to_string()),
            ("month", self.t(&format!("month-{}", d.month()))),
            ("year", d.year().to_string()),
        ]
    }

    /// Writing direction for `dir=`.
    pub fn dir(&self) -> &'static str {
        match self.0.language.as_str() {
            "ar" | "ur" | "fa" | "he" => "rtl",
            _ => "ltr",
        }
    }

    /// The text for `key`, in English if this language lacks it, or the key itself.
    pub fn t(&self, key: &str) -> String {
        LOCALES
            .try_lookup(&self.0, key)
            .unwrap_or_else(|| key.to_string())
    }

    /// The text for `key` if this language (or English) has it.
    pub fn try_t(&self, key: &str) -> Option<String> {
        LOCALES.try_lookup(&self.0, key)
    }

    /// The text for `key` with named arguments.
    pub fn t_args(&self, key: &str, args: &[(&str, String)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Owned((*k).to_string()), value(v)))
            .collect();
        LOCALES
            .try_lookup_with_args(&self.0, key, &map)
            .unwrap_or_else(|| key.to_string())
    }
}

/// Counts (attempts left, minutes, characters) become numbers, so that plural selectors pick
/// the right form; codes, phone numbers and everything else stay text (a code keeps its
/// leading zero).
fn value(v: &str) -> FluentValue<'static> {
    match v.parse::<u32>() {
        Ok(n) if v.len() <= 4 && n.to_string() == v => FluentValue::from(n),
        _ => FluentValue::from(v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys_of(dir: &std::path::Path) -> BTreeSet<String> {
        let mut keys = BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for line in text.lines() {
                if let Some((k, _)) = line.split_once('=')
                    && !line.starts_with([' ', '#', '\t'])
                    && !k.trim().is_empty()
                {
                    keys.insert(k.trim().to_string());
                }
            }
        }
        keys
    }

    #[test]
    fn every_language_has_every_message() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        let en = keys_of(&root.join("en"));
        assert!(en.len() > 50);
        for lang in Lang::all() {
            let keys = keys_of(&root.join(lang.tag()));
            let missing: Vec<_> = en.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&en).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, extra {extra:?}",
                lang.tag()
            );
        }
    }

    #[test]
    fn the_four_languages_are_there() {
        let tags: Vec<String> = Lang::all().iter().map(Lang::tag).collect();
        assert_eq!(tags, ["en", "bn", "hi", "ru"]);
        assert_eq!(Lang::parse("hi-IN").unwrap().native_name(), "हिन्दी");
    }

    #[test]
    fn negotiation_honours_quality() {
        let en = Lang::english();
        assert_eq!(Lang::negotiate("fr, ru;q=0.5, hi;q=0.8", &en).tag(), "hi");
        assert_eq!(Lang::negotiate("bn-IN", &en).tag(), "bn");
        assert_eq!(Lang::negotiate("", &en).tag(), "en");
        assert_eq!(Lang::negotiate("de;q=1, *;q=0.1", &en).tag(), "en");
    }

    #[test]
    fn counts_take_the_plural_form_of_each_language() {
        let t = |lang: &str, key: &str, name: &'static str, n: u32| {
            Lang::parse(lang)
                .unwrap()
                .t_args(key, &[(name, n.to_string())])
        };
        assert!(t("en", "err-code-wrong", "left", 1).contains("1 attempt left"));
        assert!(t("en", "err-code-wrong", "left", 4).contains("4 attempts left"));
        assert!(t("en", "err-throttled", "minutes", 1).contains("in 1 minute,"));
        assert!(t("ru", "err-code-wrong", "left", 1).contains("Осталась 1 попытка"));
        assert!(t("ru", "err-code-wrong", "left", 3).contains("Осталось 3 попытки"));
        assert!(t("ru", "err-code-wrong", "left", 5).contains("Осталось 5 попыток"));
        assert!(t("ru", "err-throttled", "minutes", 21).contains("21 минуту"));
        assert!(t("hi", "err-code-wrong", "left", 1).contains("1 प्रयास बचा है"));
        assert!(t("hi", "err-code-wrong", "left", 4).contains("4 प्रयास बचे हैं"));
        let code = Lang::english().t_args(
            "sms-register",
            &[("code", "012345".into()), ("minutes", "10".into())],
        );
        assert!(code.contains("012345"), "{code}");
    }

    /// `locales/glossary.toml`: each language uses its words for the portal's terms, and none of
    /// the words the glossary says to avoid.
    #[test]
    fn every_language_follows_the_glossary() {
        #[derive(serde::Deserialize)]
        struct Glossary {
            term: Vec<std::collections::BTreeMap<String, toml::Value>>,
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
        let glossary: Glossary =
            toml::from_str(&std::fs::read_to_string(root.join("glossary.toml")).unwrap()).unwrap();
        // The messages only: not their ids, not comments.
        let text_of = |lang: &str| -> String {
            let mut out = String::new();
            for entry in std::fs::read_dir(root.join(lang)).unwrap() {
                for line in std::fs::read_to_string(entry.unwrap().path())
                    .unwrap()
                    .lines()
                {
                    if line.starts_with('#') {
                        continue;
                    }
                    let message = match line.split_once(" = ") {
                        Some((id, m)) if !id.starts_with(' ') => m,
                        _ => line,
                    };
                    out.push_str(&message.to_lowercase());
                    out.push('\n');
                }
            }
            out
        };
        let mut problems = Vec::new();
        for lang in Lang::all() {
            let tag = lang.tag();
            let text = text_of(&tag);
            for term in &glossary.term {
                // `check` gives the form to look for where the files inflect the word.
                let word = term
                    .get("check")
                    .and_then(|c| c.get(&tag))
                    .unwrap_or(&term[&tag])
                    .as_str()
                    .unwrap()
                    .to_lowercase();
                // A plain word or phrase must be the one the files use.
                if !word.contains(['/', ':', '(']) && !text.contains(&word) {
                    problems.push(format!("{tag}: the glossary's \"{word}\" is never used"));
                }
                let avoid = term
                    .get("avoid")
                    .and_then(|a| a.get(&tag))
                    .and_then(toml::Value::as_array);
                for bad in avoid.into_iter().flatten() {
                    let bad = bad.as_str().unwrap().to_lowercase();
                    if text.contains(&bad) {
                        problems.push(format!("{tag}: \"{bad}\" is to be avoided"));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn bengali_texts_use_one_numeral_system() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales/bn");
        for entry in std::fs::read_dir(root).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert!(!text.chars().any(|c| ('\u{09e6}'..='\u{09ef}').contains(&c)));
        }
    }

    #[test]
    fn times_are_local_with_the_zone_named() {
        // 2026-11-23 07:35 UTC.
        let at = ekdwar_domain::Timestamp::from_millis(1_795_419_300_000);
        let kolkata = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
        let moscow = jiff::tz::TimeZone::get("Europe/Moscow").unwrap();
        let lang = |t: &str| Lang::parse(t).unwrap();
        assert_eq!(lang("en").datetime(at, &kolkata), "23 Nov 2026, 13:05 IST");
        assert_eq!(lang("hi").datetime(at, &kolkata), "23 नवंबर 2026, 13:05 IST");
        assert_eq!(
            lang("bn").datetime(at, &kolkata),
            "23 নভেম্বর 2026, 13:05 IST"
        );
        assert_eq!(
            lang("ru").datetime(at, &moscow),
            "23 ноября 2026 г., 10:35 MSK"
        );
    }

    /// Every SMS, in every language, with a typical portal ID and address: one message
    /// (70 characters in Hindi, Bengali and Russian) where it can be; security notices that
    /// must name an account, a contact and a link at most two. English stays in the 7-bit
    /// alphabet (160 characters).
    #[test]
    fn every_sms_fits_its_parts() {
        use ekdwar_domain::sms::{SmsCoding, plain, size};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales/en");
        let kinds: Vec<String> = keys_of(&root)
            .into_iter()
            .filter(|k| k.starts_with("sms-"))
            .collect();
        assert!(kinds.len() >= 7, "{kinds:?}");
        let mut too_long = Vec::new();
        let at = ekdwar_domain::Timestamp::from_millis(1_797_000_000_000);
        let zone = jiff::tz::TimeZone::get("Asia/Kolkata").unwrap();
        for lang in Lang::all() {
            let args: Vec<(&str, String)> = vec![
                ("code", "123456".into()),
                ("minutes", "10".into()),
                ("portal_id", "asha.kumari".into()),
                ("link", "https://sso.example.in/login".into()),
                ("new", "+91 ••••• ••678".into()),
                ("number", "AP26 1234 5678 9".into()),
                ("arn", "26RJ 0000 1234 5".into()),
                ("name", "Asha Kumari".into()),
                ("service", "Fresh passport".into()),
                ("state", "Under review".into()),
                ("amount", "₹1,500".into()),
                ("phone", "+91 98123 45678".into()),
                ("centre", "Passport Seva Kendra, Jaipur".into()),
                ("address", "Plot 1, Sector 5, Jaipur".into()),
                ("when", lang.on_day(at, &zone)),
                ("date", lang.date(jiff::civil::date(2026, 12, 7))),
                ("due", "2026-12-07".into()),
                ("answers", "PIN code".into()),
            ];
            for kind in &kinds {
                let text = plain(&lang.t_args(kind, &args));
                let s = size(&text);
                // Codes in one message; what must name an account, a contact and a link, or
                // an application's or appointment's particulars, in two at most.
                let allowed =
                    if kind.contains("code") || kind == "sms-register" || kind == "sms-recover" {
                        1
                    } else {
                        2
                    };
                if s.parts > allowed {
                    too_long.push(format!(
                        "{} {kind}: {} parts ({} units): {text}",
                        lang.tag(),
                        s.parts,
                        s.units
                    ));
                }
                if lang.tag() == "en" && s.coding != SmsCoding::Gsm7 {
                    too_long.push(format!("{kind} is not 7-bit: {text}"));
                }
            }
        }
        assert!(too_long.is_empty(), "{too_long:#?}");
    }

    #[test]
    fn arguments_have_no_isolation_marks() {
        let s = Lang::english().t_args(
            "sms-register",
            &[("code", "123456".into()), ("minutes", "10".into())],
        );
        assert!(s.contains("123456") && !s.contains('\u{2068}'), "{s}");
    }
}
