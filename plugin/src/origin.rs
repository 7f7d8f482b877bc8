//! Origin checks for cookie-authenticated requests that a browser could be
//! tricked into making cross-site: WebSocket upgrades, SSE, form posts, and
//! (through [`refuse_cross_site_writes`]) every write the wiki answers.
//!
//! A request whose `Origin` names another host than the one it was sent to
//! is refused. Requests without `Origin` (non-browser clients) pass: they
//! cannot carry a victim's cookies by accident.

use crate::error::AppError;
use axum::extract::Request;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use protocol::ErrorCode;

/// Refuses the request if its `Origin` is not this server.
pub fn check_same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or_default();
    if !host.is_empty() && origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::CsrfRejected,
            "cross-origin request refused",
        ))
    }
}

/// Middleware: refuses any request that may change state (every method but
/// GET, HEAD and OPTIONS) when [`check_same_origin`] does. Forms carry CSRF
/// tokens too; this is the second lock, and the one that also covers the
/// sign-in form and JSON routes a browser could be tricked into calling.
pub async fn refuse_cross_site_writes(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe {
        if let Err(err) = check_same_origin(request.headers()) {
            return err.into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static(host));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        h
    }

    #[test]
    fn same_origin_and_originless_requests_pass() {
        assert!(
            check_same_origin(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080")).is_ok()
        );
        assert!(check_same_origin(&headers(None, "127.0.0.1:8080")).is_ok());
    }

    #[test]
    fn other_origins_are_refused() {
        for origin in ["http://evil.example", "null", "http://127.0.0.1:8081"] {
            let err = check_same_origin(&headers(Some(origin), "127.0.0.1:8080")).unwrap_err();
            assert_eq!(err.code, ErrorCode::CsrfRejected);
        }
    }
}
