//! Dates typed into three boxes (day, month, year), as GOV.UK's date input asks them.

use std::collections::BTreeMap;

/// The three boxes of a date, from what was typed or stored.
pub struct Parts {
    pub day: String,
    pub month: String,
    pub year: String,
}

impl Parts {
    /// Splits a stored date (`YYYY-MM-DD`) or one put back together from the boxes
    /// (`D-M-YYYY`, parts possibly empty).
    pub fn of(value: &str) -> Self {
        if let Ok(d) = value.parse::<jiff::civil::Date>() {
            return Self {
                day: d.day().to_string(),
                month: d.month().to_string(),
                year: d.year().to_string(),
            };
        }
        let mut parts = value.splitn(3, '-').map(str::to_string);
        Self {
            day: parts.next().unwrap_or_default(),
            month: parts.next().unwrap_or_default(),
            year: parts.next().unwrap_or_default(),
        }
    }
}

/// The three boxes as one answer (`D-M-YYYY`), or nothing when all three are empty.
pub fn compose(day: &str, month: &str, year: &str) -> String {
    let [d, m, y] = [day, month, year].map(str::trim);
    if d.is_empty() && m.is_empty() && y.is_empty() {
        return String::new();
    }
    format!("{d}-{m}-{y}")
}

/// Puts the boxes of every date in a form back together: `born[day]`, `born[month]` and
/// `born[year]` become one `born` (`D-M-YYYY`, or empty when all three are), where the first
/// of them stood; every other field is kept as it came.
pub fn joined(fields: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut boxes: BTreeMap<String, [String; 3]> = BTreeMap::new();
    let mut out = Vec::with_capacity(fields.len());
    for (k, v) in fields {
        let part = [("[day]", 0), ("[month]", 1), ("[year]", 2)]
            .into_iter()
            .find_map(|(suffix, i)| k.strip_suffix(suffix).map(|base| (base.to_string(), i)));
        match part {
            Some((base, i)) => {
                if !boxes.contains_key(&base) {
                    out.push((base.clone(), String::new()));
                }
                boxes.entry(base).or_default()[i] = v;
            }
            None => out.push((k, v)),
        }
    }
    for (k, v) in &mut out {
        if let Some([d, m, y]) = boxes.get(k.as_str()) {
            *v = compose(d, m, y);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn boxes_become_one_answer_in_place() {
        let got = joined(f(&[
            ("csrf", "x"),
            ("born[day]", " 7"),
            ("born[month]", "3"),
            ("born[year]", "2019"),
            ("kids.0.dob[day]", ""),
            ("kids.0.dob[month]", ""),
            ("kids.0.dob[year]", ""),
            ("name", "Asha"),
        ]));
        assert_eq!(
            got,
            f(&[
                ("csrf", "x"),
                ("born", "7-3-2019"),
                ("kids.0.dob", ""),
                ("name", "Asha")
            ])
        );
        let d = ekdwar_domain::catalog::answers::parse_date(&got[1].1).unwrap();
        assert_eq!(d.to_string(), "2019-03-07");
    }

    #[test]
    fn a_date_splits_back_into_its_boxes() {
        let p = Parts::of("2019-03-07");
        assert_eq!(
            (p.day, p.month, p.year),
            ("7".into(), "3".into(), "2019".into())
        );
        let p = Parts::of("31--19");
        assert_eq!(
            (p.day, p.month, p.year),
            ("31".into(), "".into(), "19".into())
        );
        let p = Parts::of("");
        assert_eq!((p.day, p.month, p.year), ("".into(), "".into(), "".into()));
    }
}
