//! How wiki HTML pages answer when they cannot show what was asked:
//! [`PageError`] (not found, not allowed, CSRF refused, sign in first, the
//! logged 500), which handlers return with `?`.

use crate::layout::layout;
use crate::sessions::Session;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

/// A plain HTML error page with `status`.
fn error_page(
    status: StatusCode,
    session: Option<&Session>,
    here: &str,
    title: &str,
    message: &str,
) -> Response {
    let body = maud::html! {
        h1 { (title) }
        p.error role="alert" { (message) }
        p { a href="/" { "Back to the Welcome page" } }
    };
    (status, layout(title, session, here, body)).into_response()
}

/// A 500 page for an unexpected failure; the cause goes to the log only.
fn internal_error(err: anyhow::Error) -> Response {
    tracing::error!(error = ?err, "request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on the server; the error was logged.",
    )
        .into_response()
}

/// Why a wiki HTML page answers with something other than what was asked.
/// Each variant renders exactly as the page the handlers used to build by
/// hand, and [`From<anyhow::Error>`] makes any store failure a logged 500, so
/// handlers return `Result<Response, PageError>` and use `?`. (The JSON
/// routes answer with the chat plugin's [`plugin::AppError`], the
/// `{"error":{"code","message"}}` shape every JSON client already reads.)
#[derive(Debug)]
pub enum PageError {
    /// An error page in the wiki's layout (boxed: errors are rare, and a
    /// small `Result` keeps every handler's happy path cheap).
    Page(Box<ErrorPage>),
    /// Somewhere to go first: the sign-in form, coming back afterwards.
    Redirect(String),
    /// An unexpected failure: logged, and a 500 without details.
    Internal(anyhow::Error),
}

/// What an error page shows.
#[derive(Debug)]
pub struct ErrorPage {
    pub status: StatusCode,
    /// Who is signed in, for the layout's header.
    pub session: Option<Session>,
    /// The URL to come back to after signing in.
    pub here: String,
    pub title: &'static str,
    pub message: String,
    /// For a 429: seconds until a retry may succeed (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl PageError {
    /// An error page with `status`, `title` and `message`.
    pub fn page(
        status: StatusCode,
        session: Option<&Session>,
        here: &str,
        title: &'static str,
        message: impl Into<String>,
    ) -> PageError {
        PageError::Page(Box::new(ErrorPage {
            status,
            session: session.cloned(),
            here: here.to_owned(),
            title,
            message: message.into(),
            retry_after: None,
        }))
    }

    /// 429: the caller used up a budget (page writes); `Retry-After` says
    /// when to try again.
    pub fn rate_limited(session: Option<&Session>, here: &str, wait: u64) -> PageError {
        let wait = wait.max(1);
        let mut error = PageError::page(
            StatusCode::TOO_MANY_REQUESTS,
            session,
            here,
            "Too many changes",
            format!("You changed pages too often; try again in {wait} second(s)."),
        );
        if let PageError::Page(page) = &mut error {
            page.retry_after = Some(wait);
        }
        error
    }

    /// 404: no such page, or one the caller may not see (the same answer,
    /// so a page's existence does not leak).
    pub fn not_found(session: Option<&Session>, here: &str) -> PageError {
        PageError::page(
            StatusCode::NOT_FOUND,
            session,
            here,
            "Page not found",
            "There is no such page, or you may not see it.",
        )
    }

    /// 403 for a signed-in caller without the rights to `what`.
    pub fn forbidden(session: Option<&Session>, here: &str, what: &str) -> PageError {
        PageError::page(
            StatusCode::FORBIDDEN,
            session,
            here,
            "Not allowed",
            format!("You may not {what}."),
        )
    }

    /// The 403 a form gets when its CSRF token is missing or wrong.
    pub fn csrf_rejected(session: Option<&Session>, here: &str) -> PageError {
        PageError::page(
            StatusCode::FORBIDDEN,
            session,
            here,
            "Form expired",
            "This form was not sent by this site or has expired (CSRF token mismatch). \
             Go back, reload the page and try again.",
        )
    }

    /// To the sign-in form, coming back to `here` afterwards.
    pub fn sign_in_first(here: &str) -> PageError {
        PageError::Redirect(format!(
            "/login?return_to={}",
            percent_encoding::utf8_percent_encode(here, percent_encoding::NON_ALPHANUMERIC)
        ))
    }
}

impl From<anyhow::Error> for PageError {
    fn from(err: anyhow::Error) -> Self {
        PageError::Internal(err)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Page(page) => {
                let mut response = error_page(
                    page.status,
                    page.session.as_ref(),
                    &page.here,
                    page.title,
                    &page.message,
                );
                if let Some(wait) = page.retry_after {
                    response
                        .headers_mut()
                        .insert(axum::http::header::RETRY_AFTER, wait.into());
                }
                response
            }
            PageError::Redirect(to) => Redirect::to(&to).into_response(),
            PageError::Internal(err) => internal_error(err),
        }
    }
}
