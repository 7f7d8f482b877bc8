//! Sessions and API tokens: who a request comes from.
//!
//! A browser signs in and gets a random token in the `bc_session` cookie
//! (HttpOnly, SameSite=Lax, Path=/; behind an `https://` `--public-url`
//! it is `__Host-bc_session` and `Secure`). The same token works as
//! `Authorization: Bearer <token>`, which is how scripts authenticate. API
//! tokens are sessions of kind `api` that do not expire until revoked;
//! `backchannel user token NAME` mints them.
//! Each session has its own CSRF token that HTML forms echo back.
//! The store keeps only a hash of each token ([`crate::store`]).
//!
//! [`Sessions`] resolves tokens through an [`acl::EpochCache`]: a long-poll
//! client asks every few seconds and a busy wiki serves many pages a second,
//! and each uncached lookup is three database reads. Ending a session moves
//! the ACL epoch (the store does it), so a signed-out token stops working at
//! once on this node and within the epoch poll on the others.

use crate::acl;
use crate::store::{NewSession, Store};
use crate::users::{self, Member};
use axum::http::{header, HeaderMap};
use chrono::{DateTime, Duration, Utc};
use plugin::extract::cookie;
use std::sync::Arc;

/// Name of the session cookie over plain HTTP.
pub const COOKIE: &str = "bc_session";
/// Name of the session cookie when the wiki is served over HTTPS: the
/// `__Host-` prefix makes browsers refuse it unless it is `Secure`, has
/// `Path=/` and no `Domain`, so a sibling subdomain or a plain-HTTP page
/// cannot plant or shadow it.
pub const SECURE_COOKIE: &str = "__Host-bc_session";

/// The session cookie's name: [`SECURE_COOKIE`] over HTTPS, else [`COOKIE`].
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}

/// How long a browser session lasts after sign-in.
pub const SESSION_DAYS: i64 = 30;

/// A signed-in request: the member plus the session's CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub member: Member,
    /// The token that authenticated the request.
    pub token: String,
    /// Forms must echo this back; `None` when the caller used a bearer token
    /// (not sent automatically by browsers, so not exposed to CSRF).
    pub csrf_token: Option<String>,
    /// The chat bell's count, for the page header: filled in only by
    /// [`Wiki::page_session`](crate::state::Wiki::page_session) (one count
    /// query per page view), `None` elsewhere and when it could not be read.
    pub unread_notifications: Option<u64>,
}

/// What kind of credential a session row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Signed in through a form or `POST /api/session`; expires.
    Browser,
    /// A long-lived token for scripts; never expires, revoked by deletion.
    Api,
}

/// A fresh unguessable token: 32 random bytes, hex.
pub fn random_token() -> String {
    hex(&rand::random::<[u8; 32]>())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Starts a session for `user_id` and returns its token.
pub async fn create(
    store: &dyn Store,
    user_id: i64,
    kind: Kind,
    label: &str,
) -> anyhow::Result<String> {
    let token = random_token();
    let now = Utc::now();
    let (kind, expires_at) = match kind {
        Kind::Browser => ("browser", Some(stamp(now + Duration::days(SESSION_DAYS)))),
        Kind::Api => ("api", None),
    };
    store
        .insert_session(NewSession {
            token: token.clone(),
            user_id,
            csrf_token: random_token(),
            kind,
            label: label.to_owned(),
            created_at: stamp(now),
            expires_at,
        })
        .await?;
    Ok(token)
}

fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Looks a token up; `None` if unknown or expired. `from_cookie` decides
/// whether the CSRF token is handed out (see [`Session::csrf_token`]).
pub async fn lookup(
    store: &dyn Store,
    token: &str,
    from_cookie: bool,
) -> anyhow::Result<Option<Session>> {
    Ok(resolve(store, token)
        .await?
        .map(|resolved| resolved.session(token.to_owned(), from_cookie)))
}

/// What a token stands for, from the database; deletes it if it expired.
async fn resolve(store: &dyn Store, token: &str) -> anyhow::Result<Option<Resolved>> {
    let Some(stored) = store.session(token).await? else {
        return Ok(None);
    };
    let expires_at = match stored.expires_at {
        Some(at) => match DateTime::parse_from_rfc3339(&at) {
            Ok(at) if at > Utc::now() => Some(at.with_timezone(&Utc)),
            // Expired, or unreadable (treated as expired).
            _ => {
                store.delete_session(token).await?;
                return Ok(None);
            }
        },
        None => None,
    };
    let Some(member) = users::member(store, &stored.user_name).await? else {
        return Ok(None);
    };
    Ok(Some(Resolved {
        member,
        csrf_token: stored.csrf_token,
        expires_at,
    }))
}

/// Tokens resolved per ACL epoch. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<dyn Store>,
    resolved: acl::EpochCache<String, Resolved>,
    /// The session cookie's name ([`cookie_name`]).
    cookie: &'static str,
}

/// What a token stood for when it was looked up.
#[derive(Clone)]
struct Resolved {
    member: Member,
    csrf_token: String,
    expires_at: Option<DateTime<Utc>>,
}

/// Sessions remembered per epoch before the cache starts over.
const MAX_CACHED: usize = 100_000;

impl Sessions {
    pub fn new(store: Arc<dyn Store>, epoch: acl::Epoch) -> Self {
        Self {
            store,
            resolved: acl::EpochCache::new(epoch, MAX_CACHED),
            cookie: COOKIE,
        }
    }

    /// The same sessions read from the HTTPS cookie name when `https`.
    pub fn over_https(mut self, https: bool) -> Self {
        self.cookie = cookie_name(https);
        self
    }

    /// The session cookie's name.
    pub fn cookie_name(&self) -> &'static str {
        self.cookie
    }

    /// Where a request's credential is ([`credential`] with this cookie name).
    pub fn credential(&self, headers: &HeaderMap) -> Option<Credential> {
        credential(headers, self.cookie)
    }

    /// The session a request carries (cookie or bearer), if any. Database
    /// failures are logged and treated as "not signed in".
    pub async fn authenticate(&self, headers: &HeaderMap) -> Option<Session> {
        let (token, from_cookie) = match self.credential(headers)? {
            Credential::Cookie(token) => (token, true),
            Credential::Bearer(token) => (token, false),
        };
        let store = self.store.as_ref();
        let uncached = |token: String| async move {
            resolve(store, &token).await.unwrap_or_else(|err| {
                tracing::error!(error = ?err, "looking up a session");
                None
            })
        };
        let mut resolved = self
            .resolved
            .get_or_look_up(token.clone(), uncached(token.clone()))
            .await?;
        if resolved.expires_at.is_some_and(|at| at <= Utc::now()) {
            // Expired while cached: the uncached path deletes it.
            self.resolved.forget(&token);
            resolved = uncached(token.clone()).await?;
        }
        Some(resolved.session(token, from_cookie))
    }

    /// Forgets `token` on this node at once (signing out also moves the
    /// epoch, which reaches the other nodes).
    pub fn forget(&self, token: &str) {
        self.resolved.forget(&token.to_owned());
    }
}

impl Resolved {
    fn session(self, token: String, from_cookie: bool) -> Session {
        Session {
            member: self.member,
            token,
            csrf_token: from_cookie.then_some(self.csrf_token),
            unread_notifications: None,
        }
    }
}

/// Where a request's credential is, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Cookie(String),
    Bearer(String),
}

/// Finds the credential in a request: `Authorization: Bearer` wins over the
/// session cookie `cookie_name`.
pub fn credential(headers: &HeaderMap, cookie_name: &str) -> Option<Credential> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            return Some(Credential::Bearer(token.trim().to_owned()));
        }
        return None;
    }
    cookie(headers, cookie_name).map(Credential::Cookie)
}

/// A `Set-Cookie` value for an HttpOnly, SameSite=Lax cookie on `/`;
/// `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}")
}

/// Whether a form's `csrf` field matches the session's token. Bearer-token
/// callers have none and are not exposed to CSRF (browsers never attach
/// their token by themselves), so they pass.
pub fn csrf_ok(session: &Session, given: &str) -> bool {
    match &session.csrf_token {
        Some(expected) => same_secret(expected, given),
        None => true,
    }
}

/// Compares two secrets in time independent of where they first differ
/// (`subtle`, whose comparison the optimiser cannot turn into an early
/// exit). Only the length may show, and every token has the same length.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let value = set_cookie(COOKIE, "t", 60, false);
        assert!(value.contains("HttpOnly"));
        assert!(value.contains("SameSite=Lax"));
        assert!(value.contains("Path=/"));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
