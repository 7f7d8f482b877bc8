//! Wire types shared by the Backchannel server (`plugin`), the browser UI
//! (`wasm-ui`) and the tests.
//!
//! Everything here is plain data with serde derives: no I/O, no async, so the
//! same definitions compile natively and to `wasm32-unknown-unknown`.
//!
//! # Layout
//! - [`id`]: typed identifiers (`RoomId`, `MessageId`, `UserId`, `PageId`).
//! - [`room`]: what a room is and what its info panel / macro table shows.
//! - [`message`]: a chat message as stored and delivered.
//! - [`people`]: members, roles, invitations and notifications (rooms with people).
//! - [`event`]: the per-room event stream every transport carries.
//! - [`frame`]: WebSocket frames, client to server and server to client.
//! - [`error`]: the JSON error shape and its machine-readable codes.
//! - [`size`]: file sizes as people read them (`1.5 KB`), the same on every page.
//! - [`answer`]: the HTTP API's JSON answers both the server and the browser
//!   use (`History`, `Thread`, `Uploaded`).
#![forbid(unsafe_code)]

pub mod answer;
pub mod error;
pub mod event;
pub mod frame;
pub mod id;
pub mod message;
pub mod people;
pub mod room;
pub mod size;

pub use answer::{History, Thread, Uploaded};
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use event::Event;
pub use frame::{ClientFrame, ServerFrame};
pub use id::{MessageId, PageId, RoomId, UserId};
pub use message::{Attachment, Message, ACTION_PREFIX, MAX_BODY_BYTES};
pub use people::{
    Contacts, Invitation, InvitationStatus, MemberInfo, MemberStatus, MyRoom, Notification,
    NotificationBody, Notifications, Profile, ProfileEdit, Rights, Role, RoomCard, RoomKind,
    Status, UserProfile,
};
pub use room::{PageRef, Participant, Presence, RoomInfo, RoomSummary, TranscriptRef, Unread};
