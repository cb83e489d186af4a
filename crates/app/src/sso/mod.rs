//! The OpenID Connect provider: departmental apps log citizens in through the portal.

crate::core::service!(
    /// The OpenID Connect provider: apps, authorization, tokens, keys and logout.
    Sso,
    // Apps' logos and back-channel logout.
    http: reqwest::Client,
    signer: std::sync::Arc<keys::SignerCache>,
    client_cache: std::sync::Arc<clients::ClientCache>,
    sealer: std::sync::Arc<access::Sealer>,
    recent_users: std::sync::Arc<recent::RecentUsers>,
    // SQLite's group commit of refresh rotations (none on PostgreSQL).
    rotations: Option<rotation::Rotations>,
    // This node's view of revoked tokens (the unit of work also holds it, as `core::Revoked`).
    revocations: std::sync::Arc<revocations::Revocations>
);

mod access;
mod authorize;
mod clients;
mod keys;
mod logo;
mod recent;
mod revocations;
mod rotation;
mod session;
mod tokens;

pub(crate) use access::Sealer;
pub use authorize::{AuthorizeError, AuthorizeParams, AuthorizeRequest, Step};
pub use clients::{ClientInput, ClientPatch, NewClient};
pub use logo::{Logo, MAX_BYTES as LOGO_MAX_BYTES};
pub use revocations::Revocations;
pub(crate) use rotation::Rotations;
pub use session::{BACKCHANNEL_LOGOUT, ConnectedApp};
pub use tokens::{BasicAuth, OAuthError, TokenForm};
