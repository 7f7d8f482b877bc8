//! Reading the server's frames and events from JSON, cheaply.
//!
//! `protocol::ServerFrame` and `protocol::Event` are internally tagged
//! (`"type": "..."`) enums. serde's derive reads those by first buffering
//! the whole object into its private `Content` tree and then reading the
//! variant back out of it, which in the bundle meant a second copy of every
//! wire type's decoder plus the buffering code: about a quarter of the
//! module. Here each is read in one pass into a flat struct holding every
//! field any variant has, and then checked and turned into the protocol
//! type by hand. The wire format is the protocol's, unchanged; the tests
//! below pin that both readings agree.

use protocol::{ErrorCode, Event, Message, MessageId, Presence, Role, RoomId, ServerFrame, UserId};
use serde::de::Error as _;
use serde::Deserialize;

/// A WebSocket frame (or, without `type`, the data of an SSE `subscribed`
/// or `reset` event): the fields of every [`ServerFrame`] variant.
#[derive(Deserialize)]
pub struct FrameFields {
    #[serde(rename = "type", default)]
    kind: String,
    room: Option<RoomId>,
    pub last_seq: Option<u64>,
    pub first_seq: Option<u64>,
    event: Option<EventFields>,
    client_msg_id: Option<String>,
    id: Option<MessageId>,
    seq: Option<u64>,
    code: Option<ErrorCode>,
    message: Option<String>,
}

/// An event: the fields of every [`Event`] variant.
#[derive(Deserialize)]
pub struct EventFields {
    #[serde(rename = "type")]
    kind: String,
    message: Option<Message>,
    user: Option<UserId>,
    name: Option<String>,
    presence: Option<Presence>,
    /// `membership`'s new role; `null` (or absent) when no longer a member.
    role: Option<Role>,
    /// `profile`'s picture URL; absent for the letter.
    avatar: Option<String>,
}

/// Reads a WebSocket text frame.
pub fn server_frame(json: &str) -> Result<ServerFrame, serde_json::Error> {
    serde_json::from_str::<FrameFields>(json)?.into_frame()
}

/// Reads one event (an SSE event's data).
pub fn event(json: &str) -> Result<Event, serde_json::Error> {
    serde_json::from_str::<EventFields>(json)?.into_event()
}

/// The field `name`, or the error serde would give for its absence.
pub fn need<T>(value: Option<T>, name: &'static str) -> Result<T, serde_json::Error> {
    value.ok_or_else(|| serde_json::Error::missing_field(name))
}

impl FrameFields {
    /// The frame these fields make, checked as serde would check the enum.
    pub fn into_frame(self) -> Result<ServerFrame, serde_json::Error> {
        Ok(match self.kind.as_str() {
            "subscribed" => ServerFrame::Subscribed {
                room: need(self.room, "room")?,
                last_seq: need(self.last_seq, "last_seq")?,
            },
            "event" => ServerFrame::Event {
                room: need(self.room, "room")?,
                event: need(self.event, "event")?.into_event()?,
            },
            "ack" => ServerFrame::Ack {
                client_msg_id: need(self.client_msg_id, "client_msg_id")?,
                id: need(self.id, "id")?,
                seq: need(self.seq, "seq")?,
            },
            "reset" => ServerFrame::Reset {
                room: need(self.room, "room")?,
                first_seq: need(self.first_seq, "first_seq")?,
            },
            "error" => ServerFrame::Error {
                code: need(self.code, "code")?,
                message: need(self.message, "message")?,
                client_msg_id: self.client_msg_id,
            },
            "pong" => ServerFrame::Pong,
            other => return Err(unknown(other)),
        })
    }
}

impl EventFields {
    /// The event these fields make, checked as serde would check the enum.
    pub fn into_event(self) -> Result<Event, serde_json::Error> {
        Ok(match self.kind.as_str() {
            "message" => Event::Message {
                message: need(self.message, "message")?,
            },
            "edited" => Event::Edited {
                message: need(self.message, "message")?,
            },
            "deleted" => Event::Deleted {
                message: need(self.message, "message")?,
            },
            "presence" => Event::Presence {
                user: need(self.user, "user")?,
                name: need(self.name, "name")?,
                presence: self.presence,
            },
            "typing" => Event::Typing {
                user: need(self.user, "user")?,
                name: need(self.name, "name")?,
            },
            "membership" => Event::Membership {
                user: need(self.user, "user")?,
                name: need(self.name, "name")?,
                role: self.role,
            },
            "profile" => Event::Profile {
                user: need(self.user, "user")?,
                name: need(self.name, "name")?,
                avatar: self.avatar,
            },
            other => return Err(unknown(other)),
        })
    }
}

/// A `type` this client does not know (from a newer server, say).
fn unknown(kind: &str) -> serde_json::Error {
    serde_json::Error::custom(format_args!("unknown type `{kind}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use protocol::Attachment;

    fn message() -> Message {
        Message {
            id: MessageId::new("m1"),
            room: RoomId::new("r1"),
            seq: 7,
            author: UserId::new("alice"),
            author_name: "Alice".into(),
            body: "**hi**".into(),
            html: "<p><strong>hi</strong></p>\n".into(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 22, 8, 15, 0).unwrap(),
            edited_at: Some(Utc.with_ymd_and_hms(2026, 11, 22, 8, 16, 0).unwrap()),
            deleted_at: None,
            reply_to: Some(3),
            client_msg_id: Some("c1".into()),
            mentions: vec![UserId::new("bob")],
            attachments: vec![Attachment {
                id: "f1".into(),
                name: "a.png".into(),
                size: 12,
                url: "/files/f1".into(),
                content_type: Some("image/png".into()),
                uploaded_by: None,
                uploaded_at: None,
            }],
        }
    }

    /// Every frame the server can send, as the server's own serde writes it.
    fn frames() -> Vec<ServerFrame> {
        let room = RoomId::new("r1");
        let events = vec![
            Event::Message { message: message() },
            Event::Edited { message: message() },
            Event::Deleted { message: message() },
            Event::Presence {
                user: UserId::new("bob"),
                name: "Bob".into(),
                presence: Some(Presence::Away),
            },
            Event::Presence {
                user: UserId::new("bob"),
                name: "Bob".into(),
                presence: None,
            },
            Event::Typing {
                user: UserId::new("bob"),
                name: "Bob".into(),
            },
            Event::Membership {
                user: UserId::new("carol"),
                name: "Carol".into(),
                role: Some(Role::Moderator),
            },
            Event::Membership {
                user: UserId::new("carol"),
                name: "Carol".into(),
                role: None,
            },
            Event::Profile {
                user: UserId::new("carol"),
                name: "Carol C.".into(),
                avatar: Some("/users/carol/avatar/64?v=2".into()),
            },
            Event::Profile {
                user: UserId::new("carol"),
                name: "Carol".into(),
                avatar: None,
            },
        ];
        let mut frames: Vec<ServerFrame> = events
            .into_iter()
            .map(|event| ServerFrame::Event {
                room: room.clone(),
                event,
            })
            .collect();
        frames.extend([
            ServerFrame::Subscribed {
                room: room.clone(),
                last_seq: 4,
            },
            ServerFrame::Ack {
                client_msg_id: "c1".into(),
                id: MessageId::new("m1"),
                seq: 7,
            },
            ServerFrame::Reset {
                room: room.clone(),
                first_seq: 2,
            },
            ServerFrame::Error {
                code: ErrorCode::RateLimited,
                message: "slow down".into(),
                client_msg_id: Some("c2".into()),
            },
            ServerFrame::Error {
                code: ErrorCode::NotFound,
                message: "gone".into(),
                client_msg_id: None,
            },
            ServerFrame::Pong,
        ]);
        frames
    }

    #[test]
    fn every_frame_reads_back_as_the_protocol_wrote_it() {
        for frame in frames() {
            let json = serde_json::to_string(&frame).unwrap();
            assert_eq!(server_frame(&json).unwrap(), frame, "{json}");
            // And as the protocol's own decoder reads it.
            assert_eq!(serde_json::from_str::<ServerFrame>(&json).unwrap(), frame);
            if let ServerFrame::Event { event: inner, .. } = &frame {
                let json = serde_json::to_string(inner).unwrap();
                assert_eq!(&event(&json).unwrap(), inner, "{json}");
            }
        }
    }

    #[test]
    fn field_order_and_unknown_fields_do_not_matter() {
        let frame = server_frame(
            r#"{"last_seq":9,"extra":[1,{"a":null}],"room":"r1","type":"subscribed"}"#,
        )
        .unwrap();
        assert_eq!(
            frame,
            ServerFrame::Subscribed {
                room: RoomId::new("r1"),
                last_seq: 9
            }
        );
    }

    #[test]
    fn unknown_or_incomplete_frames_are_errors_not_guesses() {
        assert!(server_frame(r#"{"type":"shiny","room":"r1"}"#).is_err());
        assert!(server_frame(r#"{"type":"subscribed","room":"r1"}"#).is_err());
        assert!(
            server_frame(r#"{"type":"event","room":"r1","event":{"type":"message"}}"#).is_err()
        );
        assert!(server_frame(r#"{"room":"r1","last_seq":1}"#).is_err());
        assert!(event(r#"{"type":"typing","user":"bob"}"#).is_err());
        assert!(event("not json").is_err());
    }
}
