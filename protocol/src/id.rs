//! Typed identifiers. Each is a newtype so a room id can never be passed where
//! a message id is expected; all serialise as plain JSON strings.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps an existing identifier.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

string_id!(
    /// A chat room. Opaque and URL-safe; unique per (host page, room name).
    RoomId
);
string_id!(
    /// A message: a UUIDv7, so ids sort by creation time.
    MessageId
);
string_id!(
    /// A user as the host wiki knows them (for the built-in wiki, the username).
    UserId
);
string_id!(
    /// A host page. Stable across renames (for the built-in wiki, the page's row id).
    PageId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_as_plain_strings() {
        let id = RoomId::new("r1");
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"r1\"");
        let back: RoomId = serde_json::from_str("\"r1\"").unwrap();
        assert_eq!(back, id);
    }
}
