//! The JWT claims of the Connect protocol: what every token carries, the
//! `context` a signed page URL adds (who, which page, what access), and
//! the claims of the tokens the plugin signs for its calls to a wiki.

use crate::host::Access;
use serde::{Deserialize, Serialize};

/// The `context` claim of a signed page URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    /// Absent for anonymous readers.
    #[serde(default)]
    pub user: Option<ContextUser>,
    pub page: ContextPage,
    pub access: ContextAccess,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextUser {
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextPage {
    /// The wiki's own page id (the plugin namespaces it).
    pub id: String,
    pub title: String,
    /// Absolute http(s) URL, or a path on the wiki.
    pub url: String,
    /// An IANA zone name, e.g. `Europe/Paris`.
    pub time_zone: String,
}

/// [`Access`] on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextAccess {
    None,
    Read,
    Write,
    Admin,
}

impl From<ContextAccess> for Access {
    fn from(access: ContextAccess) -> Self {
        match access {
            ContextAccess::None => Access::None,
            ContextAccess::Read => Access::Read,
            ContextAccess::Write => Access::Write,
            ContextAccess::Admin => Access::Admin,
        }
    }
}

/// The claims every Connect token carries, plus `X`.
#[derive(Debug, Deserialize)]
pub(crate) struct Claims<X> {
    pub(crate) iss: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) qsh: String,
    #[serde(flatten)]
    pub(crate) extra: X,
}

/// What a signed page URL adds.
#[derive(Debug, Deserialize)]
pub(crate) struct PageClaims {
    pub(crate) sub: Option<String>,
    pub(crate) context: Context,
}

/// Lifecycle callbacks add nothing.
#[derive(Debug, Deserialize)]
pub(crate) struct NoClaims {}

/// The claims of a token the plugin signs for a call to a wiki.
#[derive(Debug, Serialize)]
pub(crate) struct OutgoingClaims<'a> {
    pub(crate) iss: &'a str,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) qsh: String,
}
