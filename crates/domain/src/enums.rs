//! String enums. One macro gives each its stored text form, parsing, `Display`, and serde as
//! that same text, so a value is spelled one way in the database, in logs and in JSON.

/// Declares an enum whose variants have fixed text forms,
/// `string_enum!(pub enum Colour { Red => "red", Green => "green" })`; the tests below show
/// what it gives.
#[macro_export]
macro_rules! string_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident {
        $($(#[$vm:meta])* $variant:ident => $s:literal),+ $(,)?
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text form, as stored: it never changes once released.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// The value of a text form.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)+ _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl $crate::__schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(
                _: &mut $crate::__schemars::SchemaGenerator,
            ) -> $crate::__schemars::Schema {
                $crate::__schemars::json_schema!({ "type": "string", "enum": [$($s),+] })
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::string::String as $crate::__serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| {
                    <D::Error as $crate::__serde::de::Error>::custom(format!(
                        "unknown {}: {s}",
                        stringify!($name)
                    ))
                })
            }
        }
    };
}

/// Where a message stands in the outbox.
pub mod outbox {
    crate::string_enum!(
        /// Delivery state of a message.
        pub enum OutboxStatus {
            /// Waiting for a gateway.
            Pending => "pending",
            /// Accepted by a gateway.
            Sent => "sent",
            /// No gateway is configured: the message stays in the local outbox for an operator.
            Local => "local",
            /// Retries exhausted.
            Failed => "failed",
            /// Written where an unknown account would have been messaged, so that a known and
            /// an unknown one cause the same writes; never delivered, never listed.
            Decoy => "decoy",
        }
    );
}

#[cfg(test)]
mod tests {
    crate::string_enum!(
        /// A colour.
        pub enum Colour { Red => "red", Green => "green" }
    );

    #[test]
    fn a_string_enum_is_spelled_one_way_everywhere() {
        assert_eq!(Colour::parse("red"), Some(Colour::Red));
        assert_eq!(Colour::parse("Red"), None);
        assert_eq!(Colour::Green.to_string(), "green");
        assert_eq!(Colour::ALL, &[Colour::Red, Colour::Green]);
        assert_eq!(serde_json::to_string(&Colour::Green).unwrap(), "\"green\"");
        assert_eq!(
            serde_json::from_str::<Colour>("\"red\"").unwrap(),
            Colour::Red
        );
        let err = serde_json::from_str::<Colour>("\"blue\"").unwrap_err();
        assert!(err.to_string().contains("unknown Colour: blue"), "{err}");
    }
}
