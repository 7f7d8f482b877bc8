//! WebSocket frames (JSON text frames, tagged by `type`).
//!
//! A client subscribes to rooms with the last seq it has seen; the server
//! first replays what it missed from the store, then sends live events.

use crate::error::ErrorCode;
use crate::event::Event;
use crate::id::{MessageId, RoomId};
use crate::room::Presence;
use serde::{Deserialize, Serialize};

/// Client to server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Start receiving a room's events after `after` (0 or absent: from now,
    /// with no replay).
    Subscribe {
        room: RoomId,
        #[serde(default)]
        after: Option<u64>,
    },
    /// Stop receiving a room's events.
    Unsubscribe {
        room: RoomId,
    },
    /// Post a message. `client_msg_id` makes retries idempotent.
    Send {
        room: RoomId,
        body: String,
        client_msg_id: String,
        #[serde(default)]
        reply_to: Option<u64>,
    },
    /// Keep-alive; answered with `pong`.
    /// A presence heartbeat for a room (`null` status: leaving). Repeat
    /// at least every 45 s or the status expires.
    Presence {
        room: RoomId,
        #[serde(default)]
        status: Option<Presence>,
    },
    /// The user is typing in `room`; others see it for a few seconds.
    Typing {
        room: RoomId,
    },
    /// The user has read `room` up to `seq`.
    Read {
        room: RoomId,
        seq: u64,
    },
    /// Follow the caller's own notifications on this connection: the
    /// server answers with `notifications` (the newest page and the unread
    /// count), then a `notification` frame for each new one.
    Notifications,
    Ping,
}

/// Server to client.
// Frames are built and serialised at once, never stored in bulk, so the size
// of the largest variant costs nothing worth a Box per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The subscription is live; replayed events (if any) follow before live ones.
    Subscribed {
        room: RoomId,
        last_seq: u64,
    },
    /// An event in a subscribed room.
    Event {
        room: RoomId,
        event: Event,
    },
    /// A `send` was committed.
    Ack {
        client_msg_id: String,
        id: MessageId,
        seq: u64,
    },
    /// The requested cursor is older than the retained history: the client must
    /// drop its view and reload from `first_seq`.
    Reset {
        room: RoomId,
        first_seq: u64,
    },
    /// A request failed. `client_msg_id` is set when a `send` failed.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_msg_id: Option<String>,
    },
    Pong,
    /// The answer to a `notifications` frame: the newest page.
    Notifications {
        #[serde(flatten)]
        page: crate::people::Notifications,
    },
    /// A new notification for the connection's user.
    Notification {
        notification: crate::people::Notification,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_frames_are_tagged_by_type() {
        let f: ClientFrame =
            serde_json::from_str(r#"{"type":"subscribe","room":"abc","after":7}"#).unwrap();
        assert_eq!(
            f,
            ClientFrame::Subscribe {
                room: RoomId::new("abc"),
                after: Some(7)
            }
        );
        let f: ClientFrame = serde_json::from_str(
            r#"{"type":"send","room":"abc","body":"hi","client_msg_id":"c1"}"#,
        )
        .unwrap();
        assert!(matches!(f, ClientFrame::Send { reply_to: None, .. }));
    }

    #[test]
    fn ack_wire_format_is_stable() {
        let f = ServerFrame::Ack {
            client_msg_id: "c1".into(),
            id: MessageId::new("m1"),
            seq: 3,
        };
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"type":"ack","client_msg_id":"c1","id":"m1","seq":3}"#
        );
    }
}
