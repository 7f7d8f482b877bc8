//! Files for upload: chosen with the attach button, dropped on the popup or
//! pasted. The popup holds each `Blob` under a number while
//! [`state::update`](crate::state::update) decides when it goes;
//! [`http::FileUpload`](crate::http::FileUpload) sends it and reports progress.

use super::{callback, warn, Inner};
use crate::dom;
use crate::http::{self, FileUpload, UploadAnswer};
use crate::state::{Msg, UploadFailure, UploadMsg};
use crate::view;
use protocol::Uploaded;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{Blob, DragEvent};

impl Inner {
    /// Holds `blob` as the next upload and tells [`state`] about it.
    pub(super) fn queue_file(self: &Rc<Self>, blob: Blob, name: String) {
        let id = self.next_upload.get();
        self.next_upload.set(id.wrapping_add(1));
        // File sizes are far below 2^53: exact in an f64.
        let size = blob.size() as u64;
        self.files.borrow_mut().insert(id, (blob, name.clone()));
        self.dispatch(Msg::Upload(UploadMsg::Chosen { id, name, size }));
    }

    /// Drag and drop of files onto the popup: highlight while over it,
    /// share what is dropped. Drags of text or links are left alone.
    pub(super) fn drag(self: &Rc<Self>, event: &str, e: &web_sys::Event) {
        let Some(data) = e.dyn_ref::<DragEvent>().and_then(DragEvent::data_transfer) else {
            return;
        };
        let has_files = data.types().includes(&"Files".into(), 0);
        if !has_files {
            return;
        }
        // Taking the event is what makes this a drop target (and stops the
        // browser from navigating to a dropped file).
        e.prevent_default();
        match event {
            "dragenter" => {
                self.drag_depth.set(self.drag_depth.get() + 1);
                self.view.show_dragging(true);
            }
            "dragover" => data.set_drop_effect("copy"),
            "dragleave" => {
                let depth = (self.drag_depth.get() - 1).max(0);
                self.drag_depth.set(depth);
                if depth == 0 {
                    self.view.show_dragging(false);
                }
            }
            "drop" => {
                self.drag_depth.set(0);
                self.view.show_dragging(false);
                let files = data.files().map(|l| view::files_of(&l)).unwrap_or_default();
                for f in files {
                    self.queue_file(f.clone().into(), f.name());
                }
            }
            _ => {}
        }
    }

    /// Sends upload `id`'s file, reporting progress and the end to [`state`].
    pub(super) fn start_upload(self: &Rc<Self>, id: u32) {
        let Some((blob, name)) = self.files.borrow().get(&id).cloned() else {
            return;
        };
        let room = self.model.borrow().room.clone();
        let progress = callback(self, move |inner, sent: u64| {
            inner.dispatch(Msg::Upload(UploadMsg::Progress { id, sent }));
        });
        let done = callback(self, move |inner, answer: UploadAnswer| {
            inner.dispatch(Msg::Upload(upload_result(id, answer)));
        });
        let started = FileUpload::start(
            &http::room_api(&room, "/files"),
            &blob,
            &name,
            &dom::random_hex(16),
            progress,
            done,
        );
        match started {
            Ok(upload) => {
                self.uploading.borrow_mut().insert(id, upload);
            }
            Err(err) => {
                warn(&err);
                self.dispatch(Msg::Upload(UploadMsg::Failed {
                    id,
                    failure: UploadFailure {
                        status: 0,
                        message: None,
                        retry_after: None,
                    },
                }));
            }
        }
    }

    /// Lets go of upload `id`'s file, aborting the request if it still runs.
    pub(super) fn drop_upload(&self, id: u32) {
        self.files.borrow_mut().remove(&id);
        if let Some(upload) = self.uploading.borrow_mut().remove(&id) {
            // This often runs inside the upload's own `load` listener: drop
            // it (and that listener) once the event is over, not under it.
            wasm_bindgen_futures::spawn_local(async move { drop(upload) });
        }
    }
}

/// An upload's end as [`state`] hears it: the shared message, or why not.
fn upload_result(id: u32, answer: UploadAnswer) -> UploadMsg {
    let failure = match answer {
        Ok((a, _)) if a.ok() => match serde_json::from_str::<Uploaded>(&a.text) {
            Ok(up) => {
                return UploadMsg::Done {
                    id,
                    message: Box::new(up.message),
                }
            }
            Err(_) => UploadFailure {
                status: a.status,
                message: Some("the server's answer was not understood".to_owned()),
                retry_after: None,
            },
        },
        Ok((a, retry_after)) => UploadFailure {
            status: a.status,
            message: Some(a.error().1),
            retry_after,
        },
        Err(_) => UploadFailure {
            status: 0,
            message: None,
            retry_after: None,
        },
    };
    UploadMsg::Failed { id, failure }
}
