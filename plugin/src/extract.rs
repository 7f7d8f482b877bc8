//! The request extractors every handler shares: [`MaybeCaller`] (who is
//! asking), [`Json`] and [`Query`] (axum's, answering with our error shape)
//! and [`SameOrigin`] (refuses cross-site requests before the handler runs),
//! and [`cookie`], the one reading of a `Cookie` header (the wiki's sessions
//! and the Connect host's both use it).
//!
//! Transports (`ws`, `sse`, `poll`, `popup`, `files`) and the JSON API all
//! import them from here, so none of them depends on another's handlers.

use crate::error::AppError;
use crate::host::Caller;
use crate::origin::check_same_origin;
use crate::profiles;
use crate::state::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::ErrorCode;
use serde::Serialize;

/// `axum::Json`, but a malformed body becomes our error shape (400, or 413
/// when the body is over the request size limit).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return AppError::new(ErrorCode::PayloadTooLarge, "the request body is too large");
        }
        AppError::bad_request(rejection.body_text())
    }
}

/// `axum::extract::Query` with our error shape.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::bad_request(rejection.body_text())
    }
}

/// The signed-in caller, if any, as the host sees them, named by their
/// display name if they set one ([`profiles::with_display_name`]).
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let caller = match state.host.caller(&parts.headers).await {
            Some(caller) => Some(profiles::with_display_name(state, caller).await),
            None => None,
        };
        Ok(MaybeCaller(caller))
    }
}

/// Proof that the request is not cross-site (see [`crate::origin`]): a
/// handler that changes something or opens a stream with the caller's
/// cookies takes it, and a request from another origin never reaches it.
pub struct SameOrigin;

impl<S: Send + Sync> FromRequestParts<S> for SameOrigin {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        check_same_origin(&parts.headers)?;
        Ok(SameOrigin)
    }
}

/// The value of cookie `name` in the request's `Cookie` headers (all of
/// them, pairs split on `;`, blanks trimmed); an empty value is none.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_in_every_header_and_trimmed() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("other=1;  bc=tok ; x=y"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("late=2; empty="));
        assert_eq!(cookie(&headers, "bc").as_deref(), Some("tok"));
        assert_eq!(cookie(&headers, "late").as_deref(), Some("2"));
        assert_eq!(cookie(&headers, "empty"), None);
        assert_eq!(cookie(&headers, "missing"), None);
        assert_eq!(cookie(&headers, "ot"), None);
    }
}
