//! The appointments sweep: holds that ran out are released, and the day-before reminders go.

use std::time::Duration;

use ekdwar_store::appointments::{self as store};

use crate::error::{AppResult, internal};

use super::{Appointments, release};

impl Appointments {
    /// Releases holds that ran out (the jobs runner). Returns how many.
    pub async fn release_expired(&self) -> AppResult<usize> {
        let now = self.clock.now();
        let expired = store::expired_holds(&mut *self.store.read().await?, now, 200).await?;
        let mut n = 0;
        for a in expired {
            let mut work = self.work().await?;
            if release(&mut work, &a, now).await? {
                n += 1;
            }
            work.commit().await?;
        }
        Ok(n)
    }

    /// Reminds, in their language, everyone booked for tomorrow at their centre (the jobs
    /// runner, through the day). Returns how many were reminded.
    pub async fn remind(&self) -> AppResult<usize> {
        let now = self.clock.now();
        // Tomorrow somewhere on Earth: within the next 48 hours, then each centre's own day.
        let due = store::to_remind(
            &mut *self.store.read().await?,
            now,
            now.plus(Duration::from_secs(48 * 3600)),
            500,
        )
        .await?;
        let mut n = 0;
        for a in due {
            let view = self.view(&a).await?;
            let tomorrow = view.centre.date_at(now).tomorrow().map_err(internal)?;
            if view.day != tomorrow {
                continue;
            }
            let Some(account) = self.applications.account(&a.owner_id).await? else {
                continue;
            };
            let lang = self.language_of(&account);
            let mut work = self.work().await?;
            if store::mark_reminded(&mut work, &a.id, now).await? {
                self.tell_with(
                    &mut work,
                    &account,
                    &lang,
                    "appointment-reminder",
                    vec![
                        ("number", view.number.to_string()),
                        ("when", view.when(&lang)),
                        (
                            "centre",
                            view.centre.def.name.get(&lang.tag(), "en").to_string(),
                        ),
                        (
                            "address",
                            view.centre.def.address.get(&lang.tag(), "en").to_string(),
                        ),
                    ],
                )
                .await?;
                n += 1;
            }
            work.commit().await?;
        }
        Ok(n)
    }
}
