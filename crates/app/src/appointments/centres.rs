//! Service centres as data: importing centres and PIN codes, and making the slots of the days
//! being released.

use ekdwar_domain::appointments::{Centre, CentreFile};
use ekdwar_domain::audit::{AuditAction, Outcome};
use ekdwar_store::appointments::{self as store, NewSlot};

use crate::audit::Actor;
use crate::error::{AppResult, internal};

use super::{Appointments, PincodeRow};

impl Appointments {
    /// Checks a file of centres against the catalog (regions, services): every problem.
    pub fn check(&self, file: &CentreFile) -> Result<Vec<Centre>, Vec<String>> {
        let snapshot = self.catalog.snapshot();
        let mut problems = Vec::new();
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for def in &file.centres {
            if !seen.insert(def.code.clone()) {
                problems.push(format!("centre {}: the code is used twice", def.code));
            }
            if !snapshot.entries.has_region(&def.region) {
                problems.push(format!(
                    "centre {}: region {:?} is not in the catalog",
                    def.code, def.region
                ));
            }
            for s in &def.services {
                if snapshot.service(s).is_none() {
                    problems.push(format!(
                        "centre {}: service {s:?} is not in the catalog",
                        def.code
                    ));
                }
            }
            match Centre::parse(def.clone()) {
                Ok(c) => out.push(c),
                Err(p) => problems.extend(p),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// Imports centres (replacing those with the same code) and makes their slots.
    pub async fn import(&self, centres: Vec<Centre>, actor: &Actor) -> AppResult<usize> {
        let now = self.clock.now();
        let mut work = self.work().await?;
        for c in &centres {
            let body = serde_json::to_string(&c.def).map_err(internal)?;
            store::upsert_centre(&mut work, &c.def.code, &c.def.region, &body, now).await?;
        }
        self.audit(
            &mut work,
            actor,
            None,
            AuditAction::CentresImported,
            Outcome::Success,
            Some(
                centres
                    .iter()
                    .map(|c| c.def.code.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        )
        .await?;
        work.commit().await?;
        self.centres.write().map_err(internal)?.invalidate();
        self.make_slots().await?;
        Ok(centres.len())
    }

    /// Imports PIN codes.
    pub async fn import_pincodes(&self, rows: &[PincodeRow]) -> AppResult<usize> {
        let rows: Vec<(String, i64, i64, Option<String>)> = rows
            .iter()
            .map(|r| {
                (
                    r.pincode.as_str().to_string(),
                    (r.latitude * 1e6).round() as i64,
                    (r.longitude * 1e6).round() as i64,
                    r.region.clone(),
                )
            })
            .collect();
        for chunk in rows.chunks(500) {
            let mut work = self.work().await?;
            store::upsert_pincodes(&mut work, chunk).await?;
            work.commit().await?;
        }
        Ok(rows.len())
    }

    /// Makes the slots of every centre up to the day after its last released day (existing
    /// slots and their bookings are kept). Returns how many were made.
    pub async fn make_slots(&self) -> AppResult<u64> {
        let now = self.clock.now();
        let snapshot = self.catalog.snapshot();
        let mut made = 0;
        for centre in self.centres().await?.values() {
            let mut day = centre.date_at(now);
            let last = centre.last_released_day(now).tomorrow().map_err(internal)?;
            let mut batch = Vec::new();
            while day <= last {
                let holidays: Vec<jiff::civil::Date> = snapshot
                    .entries
                    .is_holiday(Some(&centre.def.region), day)
                    .then_some(day)
                    .into_iter()
                    .collect();
                for s in centre.slots_on(day, &holidays) {
                    batch.push(NewSlot {
                        id: format!("{}/{day}/{}/{}", centre.def.code, s.local, s.quota),
                        centre: centre.def.code.clone(),
                        day: day.to_string(),
                        starts_at: s.starts_at,
                        quota: s.quota,
                        capacity: i64::from(s.capacity),
                    });
                }
                day = day.tomorrow().map_err(internal)?;
            }
            for chunk in batch.chunks(200) {
                let mut work = self.work().await?;
                made += store::insert_slots(&mut work, chunk).await?;
                work.commit().await?;
            }
        }
        Ok(made)
    }
}
