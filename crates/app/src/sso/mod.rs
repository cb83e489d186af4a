//! The OpenID Connect provider: departmental apps log citizens in through the portal.

mod clients;
mod keys;

pub use clients::{ClientInput, ClientPatch, NewClient};
