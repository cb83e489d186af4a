//! Identifiers of records. Each kind is its own type, so that a user's id cannot be passed
//! where an app's belongs: the compiler refuses it. They read as `&str` (for SQL parameters
//! and display) but are made only on purpose, with `new`.

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an id read from storage or received from a trusted part of the system.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

id!(
    /// An account (a citizen, business or official).
    UserId
);
id!(
    /// A departmental app registered for single sign-on (its OAuth `client_id`).
    ClientId
);
id!(
    /// A login session: the hash of its cookie token, never the token itself.
    SessionId
);
id!(
    /// An application for a service: random, used in addresses (the ARN is what people quote).
    ApplicationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_text_and_serialise_bare() {
        let u = UserId::new("u-1");
        assert_eq!(&*u, "u-1");
        assert_eq!(u, "u-1");
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"u-1\"");
        let c: ClientId = serde_json::from_str("\"app\"").unwrap();
        assert_eq!(c.as_str(), "app");
    }

    /// Each kind is its own type (not an alias of another or of `String`), so the compiler
    /// refuses a user's id where an app's belongs.
    #[test]
    fn each_kind_of_id_is_its_own_type() {
        use std::any::TypeId;
        let kinds = [
            TypeId::of::<UserId>(),
            TypeId::of::<ClientId>(),
            TypeId::of::<SessionId>(),
            TypeId::of::<ApplicationId>(),
            TypeId::of::<String>(),
        ];
        for (i, a) in kinds.iter().enumerate() {
            assert!(!kinds[i + 1..].contains(a), "kind {i} is another kind");
        }
    }
}
