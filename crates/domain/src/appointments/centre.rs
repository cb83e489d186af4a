//! Service centres as data: Passport Seva Kendras, Post Office PSKs, Russia's MFCs, Rajasthan's
//! e-Mitra kiosks. A centre has its own time zone (Russia spans eleven): its opening hours,
//! its slots, "3 days before" and the day's reminders are counted in it.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::catalog::Texts;

/// A file of centres, as `ekdwar centre import` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CentreFile {
    /// The centres.
    pub centres: Vec<CentreDefinition>,
}

crate::string_enum!(
    /// What kind of centre.
    pub enum CentreKind {
        /// A Passport Seva Kendra.
        PassportSevaKendra => "passport_seva_kendra",
        /// A Post Office Passport Seva Kendra.
        PostOfficePsk => "post_office_psk",
        /// A Russian multifunctional centre (МФЦ).
        Mfc => "mfc",
        /// An e-Mitra kiosk (Rajasthan).
        Emitra => "emitra",
    }
);

crate::string_enum!(
    /// What an operator at a centre may do there.
    pub enum Capability {
        /// Check citizens in by appointment and run the queue.
        CheckIn => "check_in",
        /// Hand out tokens to people without an appointment.
        WalkIn => "walk_in",
        /// Take the balance due at the centre (tatkaal).
        CentrePayment => "centre_payment",
        /// Confirm a person's identity in person (raises an account's level).
        IdentityConfirmation => "identity_confirmation",
    }
);

/// Opening hours on some days of the week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, the centre's time.
    pub open: String,
    /// `HH:MM`: the last slot ends by then.
    pub close: String,
}

/// A centre as written in its file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CentreDefinition {
    /// Its code: lower-case letters, digits, hyphens.
    pub code: String,
    /// What kind it is.
    pub kind: CentreKind,
    /// Its name in every language.
    pub name: Texts,
    /// Its address in every language.
    pub address: Texts,
    /// Its PIN (postal) code.
    #[serde(default)]
    pub pincode: Option<String>,
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
    /// The region it is in (a code from `catalog.toml`).
    pub region: String,
    /// Its IANA time zone (`Asia/Kolkata`, `Asia/Vladivostok`).
    pub time_zone: String,
    /// The services it handles (codes from the catalog).
    pub services: Vec<String>,
    /// When it is open.
    pub hours: Vec<Hours>,
    /// Days it is closed besides its region's holidays (`YYYY-MM-DD`).
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Counters that serve citizens.
    pub counters: u32,
    /// The length of a slot, in minutes.
    pub slot_minutes: u32,
    /// Places per slot, per quota (`normal`, `tatkaal`, `pcc`…).
    pub quotas: BTreeMap<String, u32>,
    /// What its operators may do.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// When, each day in its zone, the next day's slots open for booking (`HH:MM`): touts
    /// cannot hoard slots released at random times.
    #[serde(default = "release_at")]
    pub release_at: String,
    /// How many days ahead slots are released.
    #[serde(default = "book_ahead_days")]
    pub book_ahead_days: u32,
    /// The languages its hall's display speaks, first the main one (`hi`, `en`); none: the
    /// language the display was opened in.
    #[serde(default)]
    pub languages: Vec<String>,
}

fn release_at() -> String {
    "09:00".into()
}

fn book_ahead_days() -> u32 {
    30
}

/// A centre whose definition checked: its zone, hours and holidays parsed.
#[derive(Debug, Clone)]
pub struct Centre {
    /// As written.
    pub def: CentreDefinition,
    zone: TimeZone,
    hours: Vec<(Vec<Weekday>, Time, Time)>,
    holidays: Vec<Date>,
    release_at: Time,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

fn hhmm(s: &str) -> Option<Time> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
}

/// One slot a centre offers on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSpec {
    /// When it starts.
    pub starts_at: Timestamp,
    /// Its start in the centre's time (`HH:MM`).
    pub local: String,
    /// Which quota.
    pub quota: String,
    /// Places.
    pub capacity: u32,
}

impl Centre {
    /// Checks a definition: its code, zone, hours, holidays, quotas and release time. Every
    /// problem is reported, with where it is.
    pub fn parse(def: CentreDefinition) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let at = |what: &str| format!("centre {}: {what}", def.code);
        if def.code.is_empty()
            || !def
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            problems.push(at("code must be lower-case letters, digits and '-'"));
        }
        let zone = TimeZone::get(&def.time_zone).unwrap_or_else(|_| {
            problems.push(at(&format!(
                "time_zone {:?} is not an IANA zone",
                def.time_zone
            )));
            TimeZone::UTC
        });
        if !(-90.0..=90.0).contains(&def.latitude) || !(-180.0..=180.0).contains(&def.longitude) {
            problems.push(at("latitude and longitude are out of range"));
        }
        let mut hours = Vec::new();
        for (i, h) in def.hours.iter().enumerate() {
            let days: Option<Vec<Weekday>> = h.days.iter().map(|d| weekday(d)).collect();
            match (days, hhmm(&h.open), hhmm(&h.close)) {
                (Some(days), Some(open), Some(close)) if open < close && !days.is_empty() => {
                    hours.push((days, open, close));
                }
                _ => problems.push(at(&format!(
                    "hours[{i}]: days are mon…sun, open and close HH:MM with open before close"
                ))),
            }
        }
        if def.hours.is_empty() {
            problems.push(at("hours: a centre is open some time"));
        }
        let mut holidays = Vec::new();
        for d in &def.holidays {
            match d.parse::<Date>() {
                Ok(d) => holidays.push(d),
                Err(_) => problems.push(at(&format!("holiday {d:?} is not YYYY-MM-DD"))),
            }
        }
        if def.slot_minutes < 5 || def.slot_minutes > 240 {
            problems.push(at("slot_minutes must be 5 to 240"));
        }
        if def.counters == 0 {
            problems.push(at("counters must be at least 1"));
        }
        if def.quotas.is_empty() || def.quotas.values().any(|n| *n == 0 || *n > 1000) {
            problems.push(at("quotas: each quota has 1 to 1000 places per slot"));
        }
        if def.services.is_empty() {
            problems.push(at("services: a centre handles some service"));
        }
        if def.book_ahead_days == 0 || def.book_ahead_days > 366 {
            problems.push(at("book_ahead_days must be 1 to 366"));
        }
        for (lang, t) in [("name", &def.name), ("address", &def.address)] {
            if t.0.get("en").is_none_or(|s| s.trim().is_empty()) {
                problems.push(at(&format!("{lang} needs at least English")));
            }
        }
        let release_at = hhmm(&def.release_at).unwrap_or_else(|| {
            problems.push(at("release_at must be HH:MM"));
            Time::midnight()
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            def,
            zone,
            hours,
            holidays,
            release_at,
        })
    }

    /// Its time zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The centre's calendar day at an instant.
    pub fn date_at(&self, at: Timestamp) -> Date {
        jiff::Timestamp::from_millisecond(at.millis())
            .map(|t| t.to_zoned(self.zone.clone()).date())
            .unwrap_or_default()
    }

    /// The instant of a time on a day at the centre.
    pub fn instant(&self, date: Date, time: Time) -> Timestamp {
        date.to_datetime(time)
            .to_zoned(self.zone.clone())
            .map(|z| Timestamp::from_millis(z.timestamp().as_millisecond()))
            .unwrap_or(Timestamp::from_millis(0))
    }

    /// Whether it is open on `date` (not a holiday of its own or of `region_holidays`).
    pub fn is_open_on(&self, date: Date, region_holidays: &[Date]) -> bool {
        !self.holidays.contains(&date)
            && !region_holidays.contains(&date)
            && self
                .hours
                .iter()
                .any(|(days, _, _)| days.contains(&date.weekday()))
    }

    /// The slots of `date`, quota by quota, from its hours (none on a closed day).
    pub fn slots_on(&self, date: Date, region_holidays: &[Date]) -> Vec<SlotSpec> {
        let mut out = Vec::new();
        if !self.is_open_on(date, region_holidays) {
            return out;
        }
        let step = i64::from(self.def.slot_minutes);
        for (days, open, close) in &self.hours {
            if !days.contains(&date.weekday()) {
                continue;
            }
            let mut start = *open;
            loop {
                let Ok(end) = start.checked_add(jiff::SignedDuration::from_mins(step)) else {
                    break;
                };
                if end > *close || end <= start {
                    break;
                }
                for (quota, capacity) in &self.def.quotas {
                    out.push(SlotSpec {
                        starts_at: self.instant(date, start),
                        local: start.strftime("%H:%M").to_string(),
                        quota: quota.clone(),
                        capacity: *capacity,
                    });
                }
                start = end;
            }
        }
        out.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then(a.quota.cmp(&b.quota)));
        out
    }

    /// The last day whose slots are released at `now`: `book_ahead_days` after today once the
    /// day's release time has passed at the centre, one day fewer before it.
    pub fn last_released_day(&self, now: Timestamp) -> Date {
        let zoned = jiff::Timestamp::from_millisecond(now.millis())
            .map(|t| t.to_zoned(self.zone.clone()))
            .unwrap_or_else(|_| jiff::Timestamp::UNIX_EPOCH.to_zoned(TimeZone::UTC));
        let ahead = i64::from(self.def.book_ahead_days) - i64::from(zoned.time() < self.release_at);
        zoned
            .date()
            .checked_add(jiff::Span::new().days(ahead))
            .unwrap_or(zoned.date())
    }

    /// Whether its operators may do this.
    pub fn can(&self, c: Capability) -> bool {
        self.def.capabilities.contains(&c)
    }

    /// Whether it handles a service.
    pub fn handles(&self, service: &str) -> bool {
        self.def.services.iter().any(|s| s == service)
    }
}

/// The distance in kilometres between two points (haversine, on a sphere of Earth's mean
/// radius: ample to rank centres by).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn centre(zone: &str) -> Centre {
        Centre::parse(CentreDefinition {
            code: "psk-jaipur".into(),
            kind: CentreKind::PassportSevaKendra,
            name: Texts([("en".to_string(), "PSK Jaipur".to_string())].into()),
            address: Texts([("en".to_string(), "Jaipur".to_string())].into()),
            pincode: Some("302017".into()),
            latitude: 26.85,
            longitude: 75.8,
            region: "IN-RJ".into(),
            time_zone: zone.into(),
            services: vec!["passport-fresh".into()],
            hours: vec![Hours {
                days: vec![
                    "mon".into(),
                    "tue".into(),
                    "wed".into(),
                    "thu".into(),
                    "fri".into(),
                ],
                open: "09:00".into(),
                close: "10:00".into(),
            }],
            holidays: vec!["2026-12-25".into()],
            counters: 2,
            slot_minutes: 30,
            quotas: [("normal".to_string(), 4), ("tatkaal".to_string(), 1)].into(),
            capabilities: vec![Capability::CheckIn],
            release_at: "14:00".into(),
            book_ahead_days: 7,
            languages: vec![],
        })
        .unwrap()
    }

    #[test]
    fn slots_follow_the_hours_in_the_centres_zone() {
        let c = centre("Asia/Kolkata");
        // Monday 7 December 2026: 09:00 and 09:30, each with both quotas.
        let slots = c.slots_on(date(2026, 12, 7), &[]);
        assert_eq!(slots.len(), 4);
        assert_eq!(slots[0].local, "09:00");
        // 09:00 IST is 03:30 UTC.
        let utc = jiff::Timestamp::from_millisecond(slots[0].starts_at.millis()).unwrap();
        assert_eq!(utc.to_string(), "2026-12-07T03:30:00Z");
        // Closed on Sunday, on its own holiday and on its region's.
        assert!(c.slots_on(date(2026, 12, 6), &[]).is_empty());
        assert!(c.slots_on(date(2026, 12, 25), &[]).is_empty());
        assert!(
            c.slots_on(date(2026, 12, 8), &[date(2026, 12, 8)])
                .is_empty()
        );
        // The same hours in Vladivostok are other instants.
        let far = centre("Asia/Vladivostok").slots_on(date(2026, 12, 7), &[]);
        let utc = jiff::Timestamp::from_millisecond(far[0].starts_at.millis()).unwrap();
        assert_eq!(utc.to_string(), "2026-12-06T23:00:00Z");
    }

    #[test]
    fn slots_are_released_at_a_fixed_time_each_day() {
        let c = centre("Asia/Kolkata");
        let at = |s: &str| {
            let t: jiff::Timestamp = s.parse().unwrap();
            Timestamp::from_millis(t.as_millisecond())
        };
        // 13:59 IST on 1 December: up to 7 December; at 14:00, 8 December too.
        assert_eq!(
            c.last_released_day(at("2026-12-01T08:29:00Z")),
            date(2026, 12, 7)
        );
        assert_eq!(
            c.last_released_day(at("2026-12-01T08:30:00Z")),
            date(2026, 12, 8)
        );
    }

    #[test]
    fn bad_definitions_say_what_is_wrong() {
        let mut def = centre("Asia/Kolkata").def;
        def.time_zone = "Mars/Olympus".into();
        def.hours[0].open = "9".into();
        def.quotas.insert("pcc".into(), 0);
        let problems = Centre::parse(def).unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("time_zone"));
    }

    #[test]
    fn distances_rank_centres() {
        // Jaipur to Delhi, about 240 km.
        let d = distance_km((26.91, 75.79), (28.61, 77.21));
        assert!((230.0..250.0).contains(&d), "{d}");
    }
}
