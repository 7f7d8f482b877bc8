//! The per-room event stream. WebSocket, SSE, long-poll and the no-JS page all
//! read this one stream; message events carry the room's `seq` so any reader
//! can resume from the last one it saw.

use crate::id::UserId;
use crate::message::Message;
use crate::people::{Notification, Role};
use crate::room::Presence;
use serde::{Deserialize, Serialize};

/// Something that happened in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A new message; its `seq` is the resume cursor.
    Message { message: Message },
    /// A message was edited; carries the new state.
    Edited { message: Message },
    /// A message was deleted; carries the tombstone.
    Deleted { message: Message },
    /// Someone's presence changed (never sent for invisible users).
    Presence {
        user: UserId,
        name: String,
        presence: Option<Presence>,
    },
    /// Someone is typing. Expires on the client after a few seconds.
    Typing { user: UserId, name: String },
    /// Someone joined, left, was removed or given another role; `role` is
    /// `None` when they are no longer a member. A reader who is removed
    /// has their stream closed right after.
    Membership {
        user: UserId,
        name: String,
        role: Option<Role>,
    },
    /// Someone changed how they appear: their display name or picture
    /// (`avatar`, a URL; `None` for the letter). Sent to the rooms they are
    /// a member of or present in.
    Profile {
        user: UserId,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        avatar: Option<String>,
    },
    /// A notification for the connection's user (their own channel only,
    /// never a room's).
    Notification { notification: Notification },
}

impl Event {
    /// The seq that orders this event, for events that are part of the
    /// durable history. Ephemeral events (presence, typing) have none.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Event::Message { message } => Some(message.seq),
            Event::Edited { .. } | Event::Deleted { .. } => None,
            Event::Presence { .. }
            | Event::Typing { .. }
            | Event::Membership { .. }
            | Event::Profile { .. }
            | Event::Notification { .. } => None,
        }
    }
}
