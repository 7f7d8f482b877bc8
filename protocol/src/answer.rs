//! The JSON answers of the HTTP API that the server writes and the browser
//! reads: a page of history, a thread, and an upload's result.
//!
//! Declared once here so the plugin (which serializes them) and the browser
//! UI (which deserializes them) cannot drift apart; the tests below pin the
//! wire shape.
//!
//! [`Uploaded`] puts the attachment's fields at the top level next to
//! `message`. serde reads a `flatten`ed field by buffering the whole object
//! first, which would bring that buffering code into the browser bundle
//! (see `wasm-ui/src/wire.rs`), so it is read in one pass through a flat
//! struct with every field instead; the written shape is the same.

use crate::message::{Attachment, Message};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET /api/rooms/{room}/messages`: a page of history, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub messages: Vec<Message>,
    /// The room's newest seq when the page was read.
    pub last_seq: u64,
}

/// `GET /api/rooms/{room}/messages/{seq}/thread`: a message and its replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub parent: Message,
    pub replies: Vec<Message>,
}

/// `POST /api/rooms/{room}/files`: the stored file (its fields at the top
/// level) and the message that shares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "UploadedFields")]
pub struct Uploaded {
    #[serde(flatten)]
    pub file: Attachment,
    /// The message that shares it.
    pub message: Message,
}

/// [`Uploaded`] as it is read: the attachment's fields and `message`, flat.
#[derive(Deserialize)]
struct UploadedFields {
    id: String,
    name: String,
    size: u64,
    url: String,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    uploaded_by: Option<String>,
    #[serde(default)]
    uploaded_at: Option<DateTime<Utc>>,
    message: Message,
}

impl From<UploadedFields> for Uploaded {
    fn from(f: UploadedFields) -> Self {
        Uploaded {
            file: Attachment {
                id: f.id,
                name: f.name,
                size: f.size,
                url: f.url,
                content_type: f.content_type,
                uploaded_by: f.uploaded_by,
                uploaded_at: f.uploaded_at,
            },
            message: f.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE_1: &str = r#"{"id":"m1","room":"r1","seq":1,"author":"alice","author_name":"Alice","body":"hi","html":"<p>hi</p>","created_at":"2026-11-22T08:15:00Z"}"#;

    fn message_1() -> Message {
        serde_json::from_str(MESSAGE_1).unwrap()
    }

    #[test]
    fn history_and_thread_keep_their_field_names() {
        let history = History {
            messages: vec![message_1()],
            last_seq: 7,
        };
        let json = serde_json::to_string(&history).unwrap();
        assert_eq!(
            json,
            format!(r#"{{"messages":[{MESSAGE_1}],"last_seq":7}}"#)
        );
        assert_eq!(serde_json::from_str::<History>(&json).unwrap(), history);

        let thread = Thread {
            parent: message_1(),
            replies: vec![],
        };
        let json = serde_json::to_string(&thread).unwrap();
        assert_eq!(json, format!(r#"{{"parent":{MESSAGE_1},"replies":[]}}"#));
        assert_eq!(serde_json::from_str::<Thread>(&json).unwrap(), thread);
    }

    #[test]
    fn an_upload_answer_has_the_file_at_the_top_level_and_reads_back() {
        let uploaded = Uploaded {
            file: Attachment {
                id: "f1".into(),
                name: "a.png".into(),
                size: 3,
                url: "/files/f1".into(),
                content_type: Some("image/png".into()),
                uploaded_by: None,
                uploaded_at: None,
            },
            message: message_1(),
        };
        let json = serde_json::to_string(&uploaded).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"id":"f1","name":"a.png","size":3,"url":"/files/f1","content_type":"image/png","message":{MESSAGE_1}}}"#
            )
        );
        assert_eq!(serde_json::from_str::<Uploaded>(&json).unwrap(), uploaded);
        let shared = Uploaded {
            file: Attachment {
                uploaded_by: Some("Alice".into()),
                uploaded_at: Some(message_1().created_at),
                ..uploaded.file.clone()
            },
            ..uploaded
        };
        let json = serde_json::to_string(&shared).unwrap();
        assert_eq!(serde_json::from_str::<Uploaded>(&json).unwrap(), shared);
    }
}
