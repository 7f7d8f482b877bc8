//! Signing in the way a browser does, over async HTTP: `GET /login` (the
//! `bc_login` double-submit cookie and the form's token), `POST /login`
//! (the `bc_session` cookie), and the session's CSRF token read from the
//! sign-out form. For suites that need a cookie session rather than a
//! bearer token (CSRF attacks ride on cookies; browsers sign out with
//! `POST /logout`).
//!
//! The client must not follow redirects (build it with
//! `redirect(Policy::none())`): the session cookie comes on the 303.

use crate::http::{find_form, form_encode};
use anyhow::{anyhow, Result};

/// A signed-in browser: its cookie and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    /// `bc_session=<token>`, ready for a `Cookie` header.
    pub cookie: String,
    /// The token the session's forms carry in their `csrf` field.
    pub csrf: String,
}

/// Signs `user` in through the sign-in form of the server at `base`
/// (`http://127.0.0.1:PORT`).
pub async fn sign_in(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> Result<BrowserSession> {
    let (login_cookie, token) = login_form(http, base).await?;
    let fields = vec![
        ("username".to_owned(), user.to_owned()),
        ("password".to_owned(), password.to_owned()),
        ("csrf".to_owned(), token),
    ];
    let response = http
        .post(format!("{base}/login"))
        .header("origin", base)
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&fields))
        .send()
        .await?;
    let cookie = set_cookie(&response, "bc_session")
        .ok_or_else(|| anyhow!("signing in set no session cookie: {}", response.status()))?;
    let home = http
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    let csrf = find_form(&home, "/logout")
        .and_then(|form| form.input("csrf").map(str::to_owned))
        .ok_or_else(|| anyhow!("the signed-in home page has no sign-out form"))?;
    Ok(BrowserSession { cookie, csrf })
}

/// Signs the session out with the sign-out form, as the browser would.
pub async fn sign_out(http: &reqwest::Client, base: &str, session: &BrowserSession) -> Result<()> {
    let fields = vec![("csrf".to_owned(), session.csrf.clone())];
    let response = http
        .post(format!("{base}/logout"))
        .header("origin", base)
        .header("cookie", &session.cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encode(&fields))
        .send()
        .await?;
    if !response.status().is_redirection() {
        return Err(anyhow!("POST /logout answered {}", response.status()));
    }
    Ok(())
}

/// `GET /login`: the `bc_login=<token>` cookie and the form's `csrf` value.
pub async fn login_form(http: &reqwest::Client, base: &str) -> Result<(String, String)> {
    let response = http.get(format!("{base}/login")).send().await?;
    let cookie = set_cookie(&response, "bc_login")
        .ok_or_else(|| anyhow!("GET /login set no bc_login cookie"))?;
    let page = response.text().await?;
    let token = find_form(&page, "password")
        .and_then(|form| form.input("csrf").map(str::to_owned))
        .ok_or_else(|| anyhow!("the sign-in form has no csrf field"))?;
    Ok((cookie, token))
}

/// The `name=value` pair of the non-empty cookie `name` the response sets.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(key, value)| key.trim() == name && !value.is_empty())
        })
        .map(str::to_owned)
}
