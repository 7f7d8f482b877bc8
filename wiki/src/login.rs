//! Signing in and out: `GET /login`, `POST /login`, `POST /logout`, and for
//! scripts `POST /api/session` (JSON in, a bearer token out) and
//! `DELETE /api/session`.
//!
//! The sign-in form is protected against login CSRF with a double-submit
//! token: `GET /login` sets a random `bc_login` cookie and puts the same
//! value in the form's hidden `csrf` field; `POST /login` requires both to
//! match. Failed attempts count against the username and the client IP
//! ([`crate::throttle`]). Sign-out checks the session's own CSRF token.

use crate::error::PageError;
use crate::layout::layout;
use crate::sessions::{self, same_secret, Kind};
use crate::state::Wiki;
use crate::throttle;
use crate::users;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::html;
use plugin::extract::cookie;
use serde::Deserialize;
use std::net::SocketAddr;

/// The cookie holding the sign-in form's CSRF token.
pub const LOGIN_COOKIE: &str = "bc_login";
/// How long a sign-in form stays valid.
const LOGIN_COOKIE_SECS: i64 = 60 * 60;

pub fn routes() -> Router<Wiki> {
    Router::new()
        .route("/login", get(form).post(sign_in))
        .route("/logout", post(sign_out))
        .route("/api/session", post(api_sign_in).delete(api_sign_out))
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
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    plugin::extract::Json(input): plugin::extract::Json<Credentials>,
) -> Result<Response, plugin::AppError> {
    use protocol::ErrorCode;
    let username = input.username.trim().to_owned();
    let keys = throttle::keys(
        &username,
        peer.map(|Extension(ConnectInfo(addr))| addr.ip()),
    );
    if let Err(wait) = wiki.throttle.check(&keys) {
        return Err(plugin::AppError {
            message: "too many failed sign-ins; wait before trying again".into(),
            ..plugin::AppError::rate_limited(wait)
        });
    }
    let name = username.clone();
    let password = input.password;
    let store = wiki.store.as_ref();
    let session = async {
        let Some(user) = users::verify(store, &name, &password).await? else {
            return Ok(None);
        };
        anyhow::Ok(Some(
            sessions::create(store, user.id, Kind::Browser, "api").await?,
        ))
    }
    .await
    .map_err(|err| {
        tracing::error!(error = ?err, "API sign-in failed");
        plugin::AppError::new(ErrorCode::Internal, "could not sign in")
    })?;
    let Some(token) = session else {
        wiki.throttle.fail(&keys);
        tracing::info!(user = %username, "failed API sign-in");
        return Err(plugin::AppError::new(
            ErrorCode::Unauthenticated,
            "wrong username or password",
        ));
    };
    if let Some(user_key) = keys.first() {
        wiki.throttle.clear(user_key);
    }
    tracing::info!(user = %username, "signed in through the API");
    let max_age = sessions::SESSION_DAYS * 24 * 60 * 60;
    let cookie = sessions::set_cookie(sessions::COOKIE, &token, max_age, wiki.secure_cookies);
    let mut response =
        axum::Json(serde_json::json!({ "token": token, "user": username })).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// `DELETE /api/session`: ends the bearer token's session. 204 either way.
async fn api_sign_out(State(wiki): State<Wiki>, headers: HeaderMap) -> StatusCode {
    if let Some(sessions::Credential::Bearer(token)) = sessions::credential(&headers) {
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

async fn form(headers: HeaderMap, Query(query): Query<FormQuery>) -> Response {
    let token = cookie(&headers, LOGIN_COOKIE).unwrap_or_else(sessions::random_token);
    let return_to = safe_return_to(query.return_to.as_deref()).to_owned();
    render_form(StatusCode::OK, &token, "", &return_to, None, false)
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
    let cookie = sessions::set_cookie(LOGIN_COOKIE, token, LOGIN_COOKIE_SECS, secure);
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
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(input): Form<SignIn>,
) -> Result<Response, PageError> {
    let return_to = safe_return_to(Some(&input.return_to)).to_owned();
    let username = input.username.trim().to_owned();
    let secure = wiki.secure_cookies;
    let expected = cookie(&headers, LOGIN_COOKIE);
    let Some(token) = expected.filter(|t| same_secret(t, &input.csrf)) else {
        let fresh = sessions::random_token();
        let message = "This sign-in form expired. Please try again.";
        return Ok(render_form(
            StatusCode::FORBIDDEN,
            &fresh,
            &username,
            &return_to,
            Some(message),
            secure,
        ));
    };

    let keys = throttle::keys(
        &username,
        peer.map(|Extension(ConnectInfo(addr))| addr.ip()),
    );
    if let Err(wait) = wiki.throttle.check(&keys) {
        let message = format!(
            "Too many failed sign-ins. Try again in {} minute(s).",
            wait.div_ceil(60)
        );
        let mut response = render_form(
            StatusCode::TOO_MANY_REQUESTS,
            &token,
            &username,
            &return_to,
            Some(&message),
            secure,
        );
        if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }

    let name = username.clone();
    let password = input.password;
    let store = wiki.store.as_ref();
    let session = match users::verify(store, &name, &password).await? {
        Some(user) => Some(sessions::create(store, user.id, Kind::Browser, "").await?),
        None => None,
    };
    match session {
        Some(session) => {
            if let Some(user_key) = keys.first() {
                wiki.throttle.clear(user_key);
            }
            tracing::info!(user = %username, "signed in");
            let max_age = sessions::SESSION_DAYS * 24 * 60 * 60;
            let mut response = Redirect::to(&return_to).into_response();
            for cookie in [
                sessions::set_cookie(sessions::COOKIE, &session, max_age, secure),
                sessions::set_cookie(LOGIN_COOKIE, "", 0, secure),
            ] {
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            Ok(response)
        }
        None => {
            wiki.throttle.fail(&keys);
            tracing::info!(user = %username, "failed sign-in");
            Ok(render_form(
                StatusCode::UNAUTHORIZED,
                &token,
                &username,
                &return_to,
                Some("Wrong username or password."),
                secure,
            ))
        }
    }
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
    let Some(token) = cookie(&headers, sessions::COOKIE) else {
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
    let cookie = sessions::set_cookie(sessions::COOKIE, "", 0, wiki.secure_cookies);
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
