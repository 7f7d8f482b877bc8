//! What the plugin's server-rendered pages (the popup, `/chats`) share:
//! the headers every HTML answer carries ([`CSP`] and friends), the gate a
//! form post passes before it changes anything (the same origin, a
//! signed-in caller, the session's CSRF token compared in constant time),
//! and turning a person typed into a field into a user.
//!
//! Bearer-token callers carry no CSRF token and need none: a browser never
//! adds the header cross-site.

use crate::error::AppError;
use crate::host::Caller;
use crate::origin::check_same_origin;
use crate::state::AppState;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::Markup;
use protocol::{ErrorCode, Profile, UserId};
use subtle::ConstantTimeEq;

/// The pages' Content-Security-Policy: our own scripts and the wasm bundle
/// only, no inline script, no plugins, no framing by other sites.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'self'";

/// An HTML page with `status` and the headers every page carries: the
/// [`CSP`], no sniffing, no referrer to other sites, never cached (they
/// show what one person may see).
pub fn page(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Most people a person field lists when the name typed is not one person.
pub const MAX_MATCHES: usize = 20;

/// Whether `sent` is the caller's CSRF token (always, for bearer callers).
/// Constant-time, so timing does not reveal how much of a guess was right.
pub fn token_ok(caller: &Caller, sent: &str) -> bool {
    match &caller.csrf_token {
        Some(expected) => bool::from(expected.as_bytes().ct_eq(sent.as_bytes())),
        None => true,
    }
}

/// The checks a form post passes before it acts: the same origin, a
/// signed-in caller, and their CSRF token in the `csrf` field.
pub fn gate<'a>(
    headers: &HeaderMap,
    caller: Option<&'a Caller>,
    csrf: &str,
) -> Result<&'a Caller, AppError> {
    check_same_origin(headers)?;
    let caller = caller.ok_or_else(AppError::unauthenticated)?;
    if !token_ok(caller, csrf) {
        return Err(AppError::new(
            ErrorCode::CsrfRejected,
            "this form has expired; reload the page and try again",
        ));
    }
    Ok(caller)
}

/// The user a person field names: their id, or a name that only one
/// person's id or name starts with (an exact name wins over prefixes).
pub async fn person(state: &AppState, typed: &str) -> Result<Profile, AppError> {
    let typed: String = typed
        .trim()
        .trim_start_matches('@')
        .chars()
        .take(64)
        .collect();
    if typed.is_empty() {
        return Err(AppError::new(ErrorCode::InvalidInput, "name a person"));
    }
    if let Some(profile) = state.host.user(&UserId::new(typed.as_str())).await? {
        return Ok(profile);
    }
    let mut found = state.host.find_users(&typed, MAX_MATCHES).await?;
    if let Some(exact) = found
        .iter()
        .position(|p| p.name.eq_ignore_ascii_case(&typed))
    {
        return Ok(found.swap_remove(exact));
    }
    match found.len() {
        0 => Err(AppError::new(
            ErrorCode::NotFound,
            format!("nobody is called {typed}"),
        )),
        1 => Ok(found.swap_remove(0)),
        _ => {
            let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
            Err(AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "several people match {typed}: {}; pick one",
                    names.join(", ")
                ),
            ))
        }
    }
}
