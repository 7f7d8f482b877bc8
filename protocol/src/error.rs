//! The JSON error shape every endpoint uses:
//! `{"error":{"code":"snake_case","message":"..."}}`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Machine-readable error codes. The HTTP status for each is given by
/// [`ErrorCode::status`]; clients switch on the code, people read the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body or query is malformed (bad JSON, wrong types, bad UTF-8).
    BadRequest,
    /// A field is present but its value is not acceptable (e.g. empty body).
    InvalidInput,
    /// No valid session or token.
    Unauthenticated,
    /// Signed in but not allowed (e.g. posting without edit rights on the page).
    Forbidden,
    /// Missing CSRF token or a cross-site Origin.
    CsrfRejected,
    /// Unknown, or not readable by the caller (we never say which).
    NotFound,
    /// Conflicts with the current state (e.g. editing a deleted message).
    Conflict,
    /// A message body over [`crate::MAX_BODY_BYTES`].
    MessageTooLarge,
    /// A request or upload body over its size limit.
    PayloadTooLarge,
    /// An upload would take the uploader or the room past its storage
    /// quota (bytes of files still shared); deleting files frees quota.
    QuotaExceeded,
    /// The body is not of a type the endpoint takes (an avatar that is not
    /// a PNG, JPEG, GIF or WebP image: SVG, HTML, a renamed file).
    UnsupportedMediaType,
    /// Too many requests; retry after the `Retry-After` seconds.
    RateLimited,
    /// Something failed on our side; the cause is in the server log.
    Internal,
}

impl ErrorCode {
    /// The HTTP status that goes with this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest | ErrorCode::InvalidInput => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden | ErrorCode::CsrfRejected => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::MessageTooLarge | ErrorCode::PayloadTooLarge | ErrorCode::QuotaExceeded => {
                413
            }
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
        }
    }

    /// The snake_case wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::CsrfRejected => "csrf_rejected",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The top-level error document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_pinned() {
        let body = ErrorBody::new(ErrorCode::NotFound, "no such room");
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"error":{"code":"not_found","message":"no such room"}}"#
        );
    }

    #[test]
    fn as_str_matches_serde() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::InvalidInput,
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::CsrfRejected,
            ErrorCode::NotFound,
            ErrorCode::Conflict,
            ErrorCode::MessageTooLarge,
            ErrorCode::PayloadTooLarge,
            ErrorCode::QuotaExceeded,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::RateLimited,
            ErrorCode::Internal,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
