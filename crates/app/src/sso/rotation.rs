//! Group commit of refresh-token rotations on SQLite.
//!
//! SQLite has one writer. A rotation alone holds it for a transaction of four statements, each
//! a round trip to the database thread and back through the scheduler, so at a peak the
//! writer, not the CPU, sets the pace. One task instead takes every rotation waiting, marks
//! their tokens used in one statement and stores their successors in another, and commits them
//! together: as many rotations per transaction as there were requests waiting. Each caller
//! learns whether its own token rotated; reuse detection is unchanged (a token marked used
//! in an earlier batch, or earlier in the same batch, does not rotate again).
//!
//! PostgreSQL needs none of this: a rotation there is one statement on its own connection,
//! and the server groups concurrent commits itself.

use std::collections::HashSet;

use ekdwar_domain::Clock;
use ekdwar_store::Store;
use ekdwar_store::sso::{self as store, Token};
use tokio::sync::{mpsc, oneshot};

/// At most this many rotations share a transaction.
const BATCH: usize = 64;

struct Rotation {
    used: String,
    next: Token,
    answer: oneshot::Sender<Result<bool, String>>,
}

/// The queue to the task that writes rotations.
#[derive(Clone)]
pub(crate) struct Rotations(mpsc::Sender<Rotation>);

impl std::fmt::Debug for Rotations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rotations")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the rotation writer has stopped")]
struct Stopped;

impl Rotations {
    /// Starts the writing task (on the current runtime).
    pub fn start(store: Store, clock: std::sync::Arc<dyn Clock>) -> Self {
        let (tx, rx) = mpsc::channel(4 * BATCH);
        tokio::spawn(write_batches(store, clock, rx));
        Self(tx)
    }

    /// Marks `used` used and stores `next`, or neither (false) if `used` was used or revoked.
    pub async fn rotate(&self, used: &str, next: Token) -> anyhow::Result<bool> {
        let (answer, answered) = oneshot::channel();
        self.0
            .send(Rotation {
                used: used.to_string(),
                next,
                answer,
            })
            .await
            .map_err(|_| Stopped)?;
        answered
            .await
            .map_err(|_| Stopped)?
            .map_err(anyhow::Error::msg)
    }
}

async fn write_batches(
    store: Store,
    clock: std::sync::Arc<dyn Clock>,
    mut rx: mpsc::Receiver<Rotation>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        // A token presented twice in one batch rotates once; the second use is a reuse.
        let mut seen = HashSet::new();
        let (once, again): (Vec<Rotation>, Vec<Rotation>) =
            batch.drain(..).partition(|r| seen.insert(r.used.clone()));
        for r in again {
            let _ = r.answer.send(Ok(false));
        }
        let result = write(&store, clock.now(), &once).await;
        match result {
            Ok(rotated) => {
                for (r, ok) in once.into_iter().zip(rotated) {
                    let _ = r.answer.send(Ok(ok));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "refresh rotations not written");
                for r in once {
                    let _ = r.answer.send(Err(e.to_string()));
                }
            }
        }
    }
}

async fn write(
    store: &Store,
    at: ekdwar_domain::Timestamp,
    batch: &[Rotation],
) -> ekdwar_store::Result<Vec<bool>> {
    let pairs: Vec<(&str, &Token)> = batch.iter().map(|r| (r.used.as_str(), &r.next)).collect();
    let mut tx = store.begin().await?;
    let rotated = store::rotate_refresh_many(&mut tx, &pairs, at).await?;
    ekdwar_store::commit(tx).await?;
    Ok(rotated)
}
