//! The request extractors every handler shares: [`MaybeCaller`] (who is
//! asking), [`Json`] and [`Query`] (axum's, answering with our error shape)
//! and [`SameOrigin`] (refuses cross-site requests before the handler runs).
//!
//! Transports (`ws`, `sse`, `poll`, `popup`, `files`) and the JSON API all
//! import them from here, so none of them depends on another's handlers.

use crate::error::AppError;
use crate::host::Caller;
use crate::origin::check_same_origin;
use crate::state::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;
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

/// The signed-in caller, if any, as the host sees them.
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(MaybeCaller(state.host.caller(&parts.headers).await))
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
