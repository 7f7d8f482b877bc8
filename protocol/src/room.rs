//! Rooms: identity, the info shown in the popup's side panel, and the summary
//! the wiki macro table renders.

use crate::id::{PageId, RoomId, UserId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Everything the popup's info panel and the macro table show about a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub id: RoomId,
    pub name: String,
    /// The wiki page a page room lives on; absent for group and direct rooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageRef>,
    #[serde(default)]
    pub topic: String,
    /// Time of the newest message, if any.
    pub last_activity: Option<DateTime<Utc>>,
    /// Everyone who has posted in the room, most recent first.
    pub participants: Vec<Participant>,
    /// Who is connected now (invisible users are left out).
    #[serde(default)]
    pub present: Vec<Participant>,
    #[serde(default)]
    pub files: Vec<crate::message::Attachment>,
    #[serde(default)]
    pub transcripts: Vec<TranscriptRef>,
    /// The seq of the newest message (0 for an empty room).
    pub last_seq: u64,
}

/// The host page a room lives on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRef {
    pub id: PageId,
    pub title: String,
    pub url: String,
}

/// A person in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    pub id: UserId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<Presence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

/// Presence states (seed 000). `Invisible` users appear offline to others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Active,
    Away,
    Idle,
    Invisible,
}

/// One day's transcript page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptRef {
    pub date: NaiveDate,
    /// The page's path in the host wiki, e.g. `Welcome/Chat/Lobby/2026-11-22`.
    pub path: String,
    /// Where a browser reads it, e.g. `/pages/Welcome/Chat/Lobby/2026-11-22`.
    pub url: String,
}

/// The compact view used by the live macro table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub id: RoomId,
    pub last_activity: Option<DateTime<Utc>>,
    pub participants: usize,
    pub online: usize,
    pub messages_today: u64,
}

/// A member's place in a room's history: what they have read and what they
/// missed. `first_unread` is where the "new messages" divider goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unread {
    pub last_read_seq: u64,
    pub last_seq: u64,
    /// Messages after the read mark (`last_seq - last_read_seq`).
    pub unread: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_unread: Option<u64>,
}

impl Unread {
    /// The unread state for a read mark in a room whose newest seq is `last_seq`.
    pub fn new(last_read_seq: u64, last_seq: u64) -> Self {
        let last_read_seq = last_read_seq.min(last_seq);
        let unread = last_seq - last_read_seq;
        Self {
            last_read_seq,
            last_seq,
            unread,
            first_unread: (unread > 0).then_some(last_read_seq + 1),
        }
    }
}
