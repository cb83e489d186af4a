//! Ekdwar's domain: pure types and rules, no I/O.
//!
//! Every value that crosses the edge of the system (a phone number, an e-mail address, a portal
//! ID, a password, a one-time code) is parsed here into a type that cannot hold an invalid value.
//! Errors carry stable codes (`code()`) that the web layer translates.

#![warn(missing_docs)]

pub mod appointments;
pub mod audit;
pub mod catalog;
pub mod enums;
pub mod identity;
pub mod ids;
pub mod locker;
pub mod national_id;
pub mod otp;
pub mod password;
pub mod payments;
pub mod profile;
pub mod revocation;
pub mod sms;
pub mod sso;
pub mod throttle;
pub mod time;
pub mod totp;

pub use identity::{
    AccountLevel, AccountStatus, AccountType, Channel, Contact, Email, EmployeeId, LoginIdentifier,
    PersonName, Phone, PortalId, Recipient, Region, Regions, Role, name_search_key,
    name_search_keys,
};
pub use ids::{ApplicationId, ClientId, SessionId, UserId};
pub use time::{Clock, Timestamp};

/// A value parsed from user input was not acceptable. `code()` is stable and maps to a message
/// in every language.
pub trait ErrorCode {
    /// The message id of this error, the same in every language.
    fn code(&self) -> &'static str;
}

#[doc(hidden)]
pub use schemars as __schemars;
#[doc(hidden)]
pub use serde as __serde;
