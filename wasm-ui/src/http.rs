//! `fetch` for the JSON API: one small async helper, the API's paths, and
//! turning an error answer into its [`ErrorCode`] and message.
//!
//! Requests go to the page's own origin, so the session cookie goes with them.

use crate::dom::{self, DomError};
use protocol::{ErrorBody, ErrorCode, RoomId};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, RequestInit, Response};

/// An HTTP answer: the status and the body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub text: String,
}

impl Answer {
    /// A 2xx status.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error code and message of a failed answer (the API's error shape,
    /// or a generic one for a proxy's page).
    pub fn error(&self) -> (ErrorCode, String) {
        match serde_json::from_str::<ErrorBody>(&self.text) {
            Ok(body) => (body.error.code, body.error.message),
            Err(_) => (
                if self.status == 429 {
                    ErrorCode::RateLimited
                } else {
                    ErrorCode::Internal
                },
                format!("the server answered {}", self.status),
            ),
        }
    }
}

/// `/api/rooms/{room}` plus `rest`.
pub fn room_api(room: &RoomId, rest: &str) -> String {
    format!("/api/rooms/{room}{rest}")
}

/// Sends `method url` with an optional JSON body; `Err` only when there was
/// no answer at all (network down, aborted).
pub async fn request(
    method: &str,
    url: &str,
    json: Option<&str>,
    signal: Option<&AbortSignal>,
) -> Result<Answer, DomError> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = json {
        let headers = web_sys::Headers::new()?;
        headers.set("content-type", "application/json")?;
        init.set_headers(&headers);
        init.set_body(&body.into());
    }
    if let Some(signal) = signal {
        init.set_signal(Some(signal));
    }
    let promise = dom::window()?.fetch_with_str_and_init(url, &init);
    let response: Response = JsFuture::from(promise)
        .await?
        .dyn_into()
        .map_err(|_| DomError::Js("fetch answered something else".to_owned()))?;
    let text = JsFuture::from(response.text()?).await?;
    Ok(Answer {
        status: response.status(),
        text: text.as_string().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_give_their_code_or_a_generic_one() {
        let a = Answer {
            status: 409,
            text: r#"{"error":{"code":"conflict","message":"already deleted"}}"#.into(),
        };
        assert_eq!(a.error(), (ErrorCode::Conflict, "already deleted".into()));
        let proxy = Answer {
            status: 502,
            text: "<html>bad gateway</html>".into(),
        };
        assert_eq!(proxy.error().0, ErrorCode::Internal);
        assert!(!proxy.ok());
        assert_eq!(room_api(&RoomId::new("r1"), "/read"), "/api/rooms/r1/read");
    }
}
