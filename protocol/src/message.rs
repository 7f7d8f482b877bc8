//! A chat message as stored, returned by the history API and delivered live.

use crate::id::{MessageId, RoomId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The largest message body accepted, in bytes of UTF-8 (16 KiB). Larger
/// bodies are refused with `message_too_large` (HTTP 413).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// One message in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub room: RoomId,
    /// Position in the room's total order: per room, gapless, starting at 1.
    pub seq: u64,
    pub author: UserId,
    /// The author's display name when the message was written.
    pub author_name: String,
    /// Markdown source, exactly as the author wrote it.
    pub body: String,
    /// The body rendered by `transcript::render_html`, filled in by the
    /// server as the message leaves it, so the browser shows it exactly as
    /// the no-JS page and transcripts do without shipping a markdown parser
    /// (about half of its bundle once did). Empty for deleted messages, and
    /// absent in what clients send and what the store keeps.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub html: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<DateTime<Utc>>,
    /// Set when the message was deleted; `body` is then empty (a tombstone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// The seq of the message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    /// The sender's idempotency key, echoed back so a client can match its outbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    /// Users named with `@username` in the body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<UserId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// How an action line (`/me waves`) starts.
pub const ACTION_PREFIX: &str = "/me ";

impl Message {
    /// The text of an action line ("* Alice waves"): a body that starts
    /// with `/me `, posted by the `/me` command.
    pub fn action(&self) -> Option<&str> {
        self.body.strip_prefix(ACTION_PREFIX)
    }
}

/// A file shared in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Who shared it (display name), in file listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_by: Option<String>,
    /// When it was shared, in file listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_at: Option<DateTime<Utc>>,
}
