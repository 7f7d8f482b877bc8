//! Sessions and API tokens: who a request comes from.
//!
//! A browser signs in and gets a random token in the `bc_session` cookie
//! (HttpOnly, SameSite=Lax, Path=/). The same token works as
//! `Authorization: Bearer <token>`, which is how scripts authenticate. API
//! tokens are sessions of kind `api` that do not expire until revoked;
//! `backchannel user token NAME` mints them.
//! Each session has its own CSRF token that HTML forms echo back.

use crate::users::{self, Member};
use axum::http::{header, HeaderMap};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension as _};

/// Name of the session cookie.
pub const COOKIE: &str = "bc_session";

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
pub fn create(conn: &Connection, user_id: i64, kind: Kind, label: &str) -> anyhow::Result<String> {
    let token = random_token();
    let now = Utc::now();
    let (kind, expires) = match kind {
        Kind::Browser => ("browser", Some(stamp(now + Duration::days(SESSION_DAYS)))),
        Kind::Api => ("api", None),
    };
    conn.execute(
        "INSERT INTO sessions(token, user_id, csrf_token, kind, label, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            token,
            user_id,
            random_token(),
            kind,
            label,
            stamp(now),
            expires
        ],
    )?;
    Ok(token)
}

fn stamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Ends the session with `token` (no error if it does not exist).
pub fn delete(conn: &Connection, token: &str) -> anyhow::Result<()> {
    conn.execute("DELETE FROM sessions WHERE token = ?1", [token])?;
    Ok(())
}

/// Looks a token up; `None` if unknown or expired. `from_cookie` decides
/// whether the CSRF token is handed out (see [`Session::csrf_token`]).
pub fn lookup(
    conn: &Connection,
    token: &str,
    from_cookie: bool,
) -> anyhow::Result<Option<Session>> {
    let row: Option<(String, String, Option<String>)> = conn
        .query_row(
            "SELECT u.name, s.csrf_token, s.expires_at FROM sessions s
             JOIN users u ON u.id = s.user_id WHERE s.token = ?1",
            [token],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((name, csrf, expires_at)) = row else {
        return Ok(None);
    };
    if let Some(expires_at) = expires_at {
        let expired = DateTime::parse_from_rfc3339(&expires_at)
            .map(|t| t <= Utc::now())
            .unwrap_or(true);
        if expired {
            delete(conn, token)?;
            return Ok(None);
        }
    }
    let Some(member) = users::member(conn, &name)? else {
        return Ok(None);
    };
    Ok(Some(Session {
        member,
        token: token.to_owned(),
        csrf_token: from_cookie.then_some(csrf),
    }))
}

/// Where a request's credential is, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Cookie(String),
    Bearer(String),
}

/// Finds the credential in a request: `Authorization: Bearer` wins over the
/// session cookie.
pub fn credential(headers: &HeaderMap) -> Option<Credential> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            return Some(Credential::Bearer(token.trim().to_owned()));
        }
        return None;
    }
    cookie(headers, COOKIE).map(Credential::Cookie)
}

/// Resolves a request's credential to a session.
pub fn authenticate(conn: &Connection, headers: &HeaderMap) -> anyhow::Result<Option<Session>> {
    match credential(headers) {
        Some(Credential::Cookie(token)) => lookup(conn, &token, true),
        Some(Credential::Bearer(token)) => lookup(conn, &token, false),
        None => Ok(None),
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// A `Set-Cookie` value for an HttpOnly, SameSite=Lax cookie on `/`;
/// `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}")
}

/// Compares two secrets in time independent of where they first differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use axum::http::HeaderValue;

    #[test]
    fn cookie_and_bearer_resolve_to_the_same_user() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("wiki.db")).unwrap();
        db.call_blocking(|c| {
            let user = users::create(c, "alice", "correct horse", false)?;
            let token = create(c, user.id, Kind::Browser, "")?;
            let mut headers = HeaderMap::new();
            headers.insert(
                header::COOKIE,
                HeaderValue::from_str(&format!("x=1; {COOKIE}={token}"))?,
            );
            let session = authenticate(c, &headers)?.unwrap();
            assert_eq!(session.member.user.name, "alice");
            assert!(session.csrf_token.is_some());

            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}"))?,
            );
            let session = authenticate(c, &headers)?.unwrap();
            assert_eq!(session.member.user.name, "alice");
            assert_eq!(session.csrf_token, None);

            delete(c, &token)?;
            assert!(authenticate(c, &headers)?.is_none());
            Ok(())
        })
        .unwrap();
    }

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
