//! The OpenID Connect provider: departmental apps log citizens in through the portal.

mod authorize;
mod clients;
mod keys;
mod session;
mod tokens;

pub use authorize::{AuthorizeError, AuthorizeParams, AuthorizeRequest, Step};
pub use clients::{ClientCache, ClientInput, ClientPatch, NewClient};
pub use keys::SignerCache;
pub use session::ConnectedApp;
pub use tokens::{BasicAuth, OAuthError, TokenForm};
