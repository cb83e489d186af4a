//! `ekdwar keys rotate-data`: a new data key seals from now on, and every profile sealed
//! under an older key is opened and sealed again, in batches of short transactions, while the
//! portal runs. A profile its owner changes meanwhile is left to its owner's write (which seals
//! under the new key) and looked at again in the next pass.

use ekdwar_store::profiles as store;

use super::{Assurance, context};
use crate::audit::Actor;
use crate::error::AppResult;
use crate::vault::Sealed;
use ekdwar_domain::audit::{AuditAction, Outcome};

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotated {
    /// The new key's id.
    pub key_id: String,
    /// Profiles sealed again.
    pub resealed: u64,
    /// Profiles each key seals now (the old keys should seal none).
    pub by_key: Vec<(String, i64)>,
}

impl Assurance {
    /// Makes a new data key current and re-seals everything under the old ones, `batch`
    /// records a transaction; `progress` hears the running count.
    pub async fn rotate_data_keys(
        &self,
        batch: i64,
        actor: &Actor,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> AppResult<Rotated> {
        let now = self.clock.now();
        let key_id = {
            let mut work = self.work().await?;
            let id = self
                .vault
                .rotate(&mut work, self.random.as_ref(), now)
                .await?;
            self.audit(
                &mut work,
                actor,
                None,
                AuditAction::DataKeysRotated,
                Outcome::Success,
                Some(id.clone()),
            )
            .await?;
            work.commit().await?;
            id
        };
        let mut resealed = 0u64;
        loop {
            let mut work = self.work().await?;
            let rows = store::sealed_under_other(&mut work, &key_id, batch.max(1)).await?;
            if rows.is_empty() {
                break;
            }
            let mut moved = 0;
            for row in &rows {
                let ctx = context(&row.user_id);
                let sealed = self
                    .vault
                    .reseal(
                        &mut work,
                        self.random.as_ref(),
                        self.clock.now(),
                        &Sealed {
                            key_id: row.key_id.clone(),
                            text: row.sealed.clone(),
                        },
                        &ctx,
                    )
                    .await?;
                if store::reseal(
                    &mut work,
                    &row.user_id,
                    &row.key_id,
                    &row.sealed,
                    &sealed.key_id,
                    &sealed.text,
                )
                .await?
                {
                    moved += 1;
                }
            }
            work.commit().await?;
            resealed += moved;
            progress(resealed);
        }
        let by_key = store::count_by_key(&mut *self.store.conn().await?).await?;
        Ok(Rotated {
            key_id,
            resealed,
            by_key,
        })
    }
}
