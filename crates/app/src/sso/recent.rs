//! Accounts as recently read, for the endpoints apps call on every request (userinfo,
//! introspection).

use std::sync::Arc;

use ekdwar_store::identity::User;

use super::Sso;
use crate::error::AppResult;

/// How long an account read for userinfo or introspection is used before it is read again.
/// Locks, logouts and password changes do not wait for it: they are revocation rules, seen at
/// once. A changed name or e-mail reaches apps within this time.
pub const RECENT_USER: std::time::Duration = std::time::Duration::from_secs(2);

/// Accounts read in the last [`RECENT_USER`], by id.
#[derive(Default)]
pub struct RecentUsers(
    std::sync::RwLock<
        std::collections::HashMap<ekdwar_domain::UserId, (std::time::Instant, Arc<User>)>,
    >,
);

impl RecentUsers {
    /// Past this many, the whole map is dropped and refills with who is active now.
    const MAX: usize = 100_000;
}

impl Sso {
    /// The account, as read at most [`RECENT_USER`] ago.
    pub(crate) async fn recent_user(
        &self,
        id: &ekdwar_domain::UserId,
    ) -> AppResult<Option<Arc<User>>> {
        let cache = &self.recent_users.0;
        if let Ok(map) = cache.read()
            && let Some((at, user)) = map.get(id)
            && at.elapsed() < RECENT_USER
        {
            return Ok(Some(user.clone()));
        }
        let read_at = std::time::Instant::now();
        let Some(user) = ekdwar_store::identity::by_id(&mut *self.store.read().await?, id).await?
        else {
            return Ok(None);
        };
        let user = Arc::new(user);
        if let Ok(mut map) = cache.write() {
            if map.len() >= RecentUsers::MAX {
                map.clear();
            }
            map.insert(id.clone(), (read_at, user.clone()));
        }
        Ok(Some(user))
    }
}
