//! `fetch` for the JSON API: one small async helper, the API's paths, and
//! turning an error answer into its [`ErrorCode`] and message; and
//! [`FileUpload`], a multipart `POST` over `XMLHttpRequest`, the one browser
//! API that reports upload progress (`fetch` does not).
//!
//! Requests go to the page's own origin, so the session cookie goes with them.

use crate::dom::{self, DomError, Listener};
use protocol::{ErrorBody, ErrorCode, RoomId};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Blob, FormData, ProgressEvent, RequestInit, Response, XmlHttpRequest};

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

/// How an upload ended: the answer (any status) with its `Retry-After`,
/// or `Err` when none came (network down, aborted).
pub type UploadAnswer = Result<(Answer, Option<u32>), DomError>;

/// A file on its way to `POST /api/rooms/{room}/files`. Dropping it before
/// it finishes aborts the request; its listeners are removed either way.
pub struct FileUpload {
    xhr: XmlHttpRequest,
    /// Set once the request finished, so dropping does not abort it.
    finished: Rc<RefCell<bool>>,
    _listeners: Vec<Listener>,
}

impl FileUpload {
    /// Sends `blob` as the multipart field `file` named `name`, with
    /// `client_msg_id`. `progress` hears the bytes sent so far; `done` hears
    /// the end once. Neither is called after the upload is dropped.
    ///
    /// Callbacks run inside the request's event listeners: `done` must not
    /// drop this `FileUpload` synchronously (defer it, e.g. with
    /// `spawn_local`), or the running listener would be freed under itself.
    pub fn start(
        url: &str,
        blob: &Blob,
        name: &str,
        client_msg_id: &str,
        progress: impl Fn(u64) + 'static,
        done: impl FnOnce(UploadAnswer) + 'static,
    ) -> Result<FileUpload, DomError> {
        let form = FormData::new()?;
        form.append_with_str("client_msg_id", client_msg_id)?;
        form.append_with_blob_and_filename("file", blob, name)?;
        let xhr = XmlHttpRequest::new()?;
        xhr.open_with_async("POST", url, true)?;
        let finished = Rc::new(RefCell::new(false));
        let done = Rc::new(RefCell::new(Some(done)));
        let finish = {
            let (xhr, finished) = (xhr.clone(), finished.clone());
            move |answered: bool| {
                if finished.replace(true) {
                    // Already over, or dropped (which aborts: no callback then).
                    return;
                }
                let Some(done) = done.borrow_mut().take() else {
                    return;
                };
                let answer = if answered {
                    let retry_after = xhr
                        .get_response_header("retry-after")
                        .ok()
                        .flatten()
                        .and_then(|s| s.trim().parse().ok());
                    Ok((
                        Answer {
                            status: xhr.status().unwrap_or(0),
                            text: xhr.response_text().ok().flatten().unwrap_or_default(),
                        },
                        retry_after,
                    ))
                } else {
                    Err(DomError::Js("the upload got no answer".to_owned()))
                };
                done(answer);
            }
        };
        let finish = Rc::new(finish);
        let mut listeners = Vec::new();
        let target: web_sys::EventTarget = xhr.upload()?.into();
        listeners.push(Listener::new(&target, "progress", move |e| {
            if let Some(p) = e.dyn_ref::<ProgressEvent>() {
                // Byte counts are far below 2^53: exact in an f64.
                progress(p.loaded() as u64);
            }
        })?);
        let target: web_sys::EventTarget = xhr.clone().into();
        for (event, answered) in [
            ("load", true),
            ("error", false),
            ("abort", false),
            ("timeout", false),
        ] {
            let finish = finish.clone();
            listeners.push(Listener::new(&target, event, move |_| finish(answered))?);
        }
        xhr.send_with_opt_form_data(Some(&form))?;
        Ok(FileUpload {
            xhr,
            finished,
            _listeners: listeners,
        })
    }
}

impl Drop for FileUpload {
    fn drop(&mut self) {
        // Mark first: the abort event fires synchronously and must not call
        // back into a popup that is letting go of this upload.
        if !self.finished.replace(true) {
            let _ = self.xhr.abort();
        }
    }
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
