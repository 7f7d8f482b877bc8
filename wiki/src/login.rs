//! Signing in and out: `GET /login`, `POST /login`, `POST /logout`, and for
//! scripts `POST /api/session` (JSON in, a bearer token out) and
//! `DELETE /api/session`.
//!
//! The sign-in form is protected against login CSRF with a double-submit
//! token: `GET /login` sets a random `bc_login` cookie and puts the same
//! value in the form's hidden `csrf` field; `POST /login` requires both to
//! match. Sign-out checks the session's own CSRF token.
//!
//! Every sign-in goes the same way ([`attempt`]), cheapest refusal first:
//! 1. bodies over [`MAX_BODY_BYTES`] are refused (413) before parsing;
//! 2. a username no account can have ([`users::valid_name`]: 1-64 letters,
//!    digits, `-`, `_`, `.`) is refused without a password check (it counts
//!    against the address only, and is never logged or kept);
//! 3. the attempt reserves its slot in [`crate::throttle`] (per address and
//!    username, and per address), or gets 429 with `Retry-After`;
//! 4. the argon2 check runs on the dedicated worker ([`crate::hasher`]), or
//!    gets 429 at once when its queue is full;
//! 5. a success gives the slot back.

use crate::error::PageError;
use crate::layout::layout;
use crate::sessions::{self, same_secret, Kind};
use crate::state::Wiki;
use crate::throttle::Reservation;
use crate::users;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::html;
use plugin::extract::cookie;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;

/// The cookie holding the sign-in form's CSRF token (over plain HTTP).
pub const LOGIN_COOKIE: &str = "bc_login";
/// The same over HTTPS (see [`sessions::SECURE_COOKIE`] for the prefix).
pub const SECURE_LOGIN_COOKIE: &str = "__Host-bc_login";
/// How long a sign-in form stays valid.
const LOGIN_COOKIE_SECS: i64 = 60 * 60;
/// The largest sign-in request body: a name, a password and a CSRF token
/// fit many times over; anything bigger is refused (413) unread.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The sign-in form cookie's name: [`SECURE_LOGIN_COOKIE`] over HTTPS.
pub fn login_cookie_name(https: bool) -> &'static str {
    if https {
        SECURE_LOGIN_COOKIE
    } else {
        LOGIN_COOKIE
    }
}

pub fn routes() -> Router<Wiki> {
    Router::new()
        .route("/login", get(form).post(sign_in))
        .route("/logout", post(sign_out))
        .route("/api/session", post(api_sign_in).delete(api_sign_out))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// How a sign-in attempt ended.
enum Outcome {
    /// A new session's token.
    SignedIn(String),
    /// Unknown user, wrong password, or a name no account can have.
    Wrong,
    /// Too many failures: wait this many seconds.
    Throttled(u64),
    /// Too many password checks waiting: try again in a second.
    Busy,
}

/// One sign-in attempt, in the order the module docs give.
async fn attempt(
    wiki: &Wiki,
    ip: IpAddr,
    username: &str,
    password: &str,
    label: &str,
) -> anyhow::Result<Outcome> {
    if !users::valid_name(username) {
        return Ok(match wiki.throttle.reserve(ip, None) {
            Ok(reservation) => {
                wiki.throttle.failed(reservation);
                tracing::info!(%ip, bytes = username.len(), "failed sign-in: impossible username");
                Outcome::Wrong
            }
            Err(wait) => Outcome::Throttled(wait),
        });
    }
    let reservation = match wiki.throttle.reserve(ip, Some(username)) {
        Ok(reservation) => reservation,
        Err(wait) => {
            tracing::info!(%ip, user = ?username, "sign-in throttled");
            return Ok(Outcome::Throttled(wait));
        }
    };
    let checked = check(wiki, username, password, label).await;
    Ok(match checked {
        Ok(Some(token)) => {
            wiki.throttle.succeeded(reservation);
            Outcome::SignedIn(token)
        }
        Ok(None) => {
            wiki.throttle.failed(reservation);
            tracing::info!(%ip, user = ?username, "failed sign-in");
            Outcome::Wrong
        }
        Err(err) => return settle_error(wiki, reservation, err),
    })
}

/// The password check and, if it passes, the new session.
async fn check(
    wiki: &Wiki,
    username: &str,
    password: &str,
    label: &str,
) -> anyhow::Result<Option<String>> {
    let store = wiki.store.as_ref();
    let user = users::verify(store, username, password).await?;
    wiki.verifications.fetch_add(1, Ordering::Relaxed);
    match user {
        Some(user) => Ok(Some(
            sessions::create(store, user.id, Kind::Browser, label).await?,
        )),
        None => Ok(None),
    }
}

/// A check that did not happen gives its slot back: [`Outcome::Busy`] for
/// a full argon2 queue, the error otherwise.
fn settle_error(
    wiki: &Wiki,
    reservation: Reservation,
    err: anyhow::Error,
) -> anyhow::Result<Outcome> {
    wiki.throttle.release(reservation);
    if err.downcast_ref::<crate::hasher::Busy>().is_some() {
        tracing::warn!("sign-in refused: the password check queue is full");
        return Ok(Outcome::Busy);
    }
    Err(err)
}

/// The peer address from axum's connect info, if served with it.
fn peer(connect: Option<Extension<ConnectInfo<SocketAddr>>>) -> Option<SocketAddr> {
    connect.map(|Extension(ConnectInfo(addr))| addr)
}

/// `POST /api/session` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    username: String,
    password: String,
}

/// `POST /api/session`: checks a username and password and answers
/// `{"token": ..., "user": ...}`. The token works as `Authorization: Bearer`
/// (and is also set as the session cookie). Failures are throttled exactly
/// like the sign-in form.
async fn api_sign_in(
    State(wiki): State<Wiki>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    plugin::extract::Json(input): plugin::extract::Json<Credentials>,
) -> Result<Response, plugin::AppError> {
    use protocol::ErrorCode;
    let username = input.username.trim();
    let ip = wiki.client_ip(peer(connect), &headers);
    let outcome = attempt(&wiki, ip, username, &input.password, "api")
        .await
        .map_err(|err| {
            tracing::error!(error = ?err, "API sign-in failed");
            plugin::AppError::new(ErrorCode::Internal, "could not sign in")
        })?;
    let token = match outcome {
        Outcome::SignedIn(token) => token,
        Outcome::Wrong => {
            return Err(plugin::AppError::new(
                ErrorCode::Unauthenticated,
                "wrong username or password",
            ))
        }
        Outcome::Throttled(wait) => {
            return Err(plugin::AppError {
                message: "too many failed sign-ins; wait before trying again".into(),
                ..plugin::AppError::rate_limited(wait)
            })
        }
        Outcome::Busy => {
            return Err(plugin::AppError {
                message: "too many sign-ins at once; try again in a second".into(),
                ..plugin::AppError::rate_limited(1)
            })
        }
    };
    tracing::info!(user = ?username, "signed in through the API");
    let max_age = sessions::SESSION_DAYS * 24 * 60 * 60;
    let cookie = sessions::set_cookie(
        wiki.sessions.cookie_name(),
        &token,
        max_age,
        wiki.secure_cookies,
    );
    let mut response =
        axum::Json(serde_json::json!({ "token": token, "user": username })).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `DELETE /api/session`: ends the bearer token's session. 204 either way.
async fn api_sign_out(State(wiki): State<Wiki>, headers: HeaderMap) -> StatusCode {
    if let Some(sessions::Credential::Bearer(token)) = wiki.sessions.credential(&headers) {
        if let Err(err) = wiki.end_session(&token).await {
            tracing::error!(error = ?err, "ending an API session");
        }
    }
    StatusCode::NO_CONTENT
}

/// Where to go after signing in: `return_to` if it is a path on this site,
/// else `/`. Rejects `//host` and `/\host` (browsers read both as another
/// host) and anything with control characters.
pub fn safe_return_to(return_to: Option<&str>) -> &str {
    match return_to {
        Some(to)
            if to.starts_with('/')
                && !to.starts_with("//")
                && !to.contains('\\')
                && !to.chars().any(char::is_control) =>
        {
            to
        }
        _ => "/",
    }
}

#[derive(Debug, Deserialize)]
struct FormQuery {
    return_to: Option<String>,
}

async fn form(
    State(wiki): State<Wiki>,
    headers: HeaderMap,
    Query(query): Query<FormQuery>,
) -> Response {
    let secure = wiki.secure_cookies;
    let token = cookie(&headers, login_cookie_name(secure)).unwrap_or_else(sessions::random_token);
    let return_to = safe_return_to(query.return_to.as_deref()).to_owned();
    render_form(StatusCode::OK, &token, "", &return_to, None, secure)
}

/// The sign-in page with `status`, (re)setting the form's CSRF cookie.
fn render_form(
    status: StatusCode,
    token: &str,
    username: &str,
    return_to: &str,
    error: Option<&str>,
    secure: bool,
) -> Response {
    let body = html! {
        h1 { "Sign in" }
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
        form.login method="post" action="/login" {
            input type="hidden" name="csrf" value=(token);
            input type="hidden" name="return_to" value=(return_to);
            p {
                label for="username" { "Username" }
                br;
                input #username type="text" name="username" value=(username)
                    autocomplete="username" required autofocus;
            }
            p {
                label for="password" { "Password" }
                br;
                input #password type="password" name="password"
                    autocomplete="current-password" required;
            }
            p { button type="submit" { "Sign in" } }
        }
    };
    let cookie = sessions::set_cookie(login_cookie_name(secure), token, LOGIN_COOKIE_SECS, secure);
    let mut response = (status, layout("Sign in", None, return_to, body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Debug, Deserialize)]
struct SignIn {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    return_to: String,
}

async fn sign_in(
    State(wiki): State<Wiki>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(input): Form<SignIn>,
) -> Result<Response, PageError> {
    let return_to = safe_return_to(Some(&input.return_to)).to_owned();
    let username = input.username.trim();
    // Only a name an account could have is shown back in the form.
    let shown = if users::valid_name(username) {
        username
    } else {
        ""
    };
    let secure = wiki.secure_cookies;
    let expected = cookie(&headers, login_cookie_name(secure));
    let Some(token) = expected.filter(|t| same_secret(t, &input.csrf)) else {
        let fresh = sessions::random_token();
        let message = "This sign-in form expired. Please try again.";
        return Ok(render_form(
            StatusCode::FORBIDDEN,
            &fresh,
            shown,
            &return_to,
            Some(message),
            secure,
        ));
    };

    let ip = wiki.client_ip(peer(connect), &headers);
    let outcome = attempt(&wiki, ip, username, &input.password, "").await?;
    let (status, message, wait) = match outcome {
        Outcome::SignedIn(session) => {
            tracing::info!(user = ?username, "signed in");
            let max_age = sessions::SESSION_DAYS * 24 * 60 * 60;
            let mut response = Redirect::to(&return_to).into_response();
            for cookie in [
                sessions::set_cookie(wiki.sessions.cookie_name(), &session, max_age, secure),
                sessions::set_cookie(login_cookie_name(secure), "", 0, secure),
            ] {
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            return Ok(response);
        }
        Outcome::Wrong => (
            StatusCode::UNAUTHORIZED,
            "Wrong username or password.".to_owned(),
            None,
        ),
        Outcome::Throttled(wait) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed sign-ins. Try again in {} minute(s).",
                wait.div_ceil(60)
            ),
            Some(wait),
        ),
        Outcome::Busy => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many sign-ins at once. Try again in a moment.".to_owned(),
            Some(1),
        ),
    };
    let mut response = render_form(status, &token, shown, &return_to, Some(&message), secure);
    if let Some(wait) = wait {
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct SignOut {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    State(wiki): State<Wiki>,
    headers: HeaderMap,
    Form(input): Form<SignOut>,
) -> Result<Response, PageError> {
    let Some(token) = cookie(&headers, wiki.sessions.cookie_name()) else {
        return Ok(Redirect::to("/").into_response());
    };
    let Some(session) = sessions::lookup(wiki.store.as_ref(), &token, true).await? else {
        return Ok(Redirect::to("/").into_response());
    };
    let csrf_ok = session
        .csrf_token
        .as_deref()
        .is_some_and(|expected| same_secret(expected, &input.csrf));
    if !csrf_ok {
        return Ok((
            StatusCode::FORBIDDEN,
            "The sign-out form was not sent by this site (CSRF token mismatch).",
        )
            .into_response());
    }
    let token = session.token.clone();
    wiki.end_session(&token).await?;
    let mut response = Redirect::to("/").into_response();
    let cookie = sessions::set_cookie(wiki.sessions.cookie_name(), "", 0, wiki.secure_cookies);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return_to(Some("/rooms/x?a=b")), "/rooms/x?a=b");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "",
            "x",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_return_to(None), "/");
    }
}
