//! The `Store`: durable rooms and messages.
//!
//! Callers only ever see this trait; `sqlite` is the embedded default and a
//! PostgreSQL implementation slots in beside it. Every write returns after its
//! transaction has committed, so an acknowledged message survives a crash.
//! Reads of a room's messages go through one method, [`Store::messages`],
//! with a [`MessageQuery`] saying which; what only maintenance commands use
//! is in [`StoreMaintenance`].
//!
//! # Layout
//! - [`sqlite`], [`postgres`]: the two backends, each split into its
//!   connection handling, schema, row mapping and queries.
//! - [`membership`]: the `Membership` trait (group and direct rooms, members,
//!   invitations, notifications) every `Store` also implements.
//! - [`profiles`]: the `Profiles` trait (display names, status, contact
//!   links, pictures) every `Store` also implements.
//! - [`copy`]: the chat's tables for the one-shot SQLite-to-PostgreSQL copy
//!   (the engine is [`infra::copy`]).
//! - `suite` (tests): one contract, run on both backends; `suite_files`
//!   adds the cases for file bytes (quotas, blob references); `suite/profiles`
//!   the profile cases.

pub mod copy;
pub mod membership;
pub mod postgres;
pub mod profiles;
pub mod sqlite;
#[cfg(test)]
mod suite;
#[cfg(test)]
mod suite_files;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use protocol::{Attachment, Message, PageId, RoomId, RoomKind, TranscriptRef, UserId};
use std::collections::HashSet;

pub use membership::{
    Claimed, Member, Membered, Membership, NewInvitation, NewNotification, NewRoom, RoomSettings,
    StoredInvitation, StoredNotification,
};
pub use postgres::PostgresStore;
pub use profiles::{AvatarImage, ProfileRecord, Profiles};
pub use sqlite::SqliteStore;

/// A room as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub id: RoomId,
    pub kind: RoomKind,
    /// The host page: where access comes from for [`RoomKind::Page`], and
    /// where transcripts are published. `None` for group and direct rooms,
    /// which publish nothing.
    pub page: Option<PageId>,
    /// Unique human-readable handle (`private:A:B` for direct rooms);
    /// `None` for page rooms, which are named by page and name.
    pub alias: Option<String>,
    pub name: String,
    pub topic: String,
    /// Id of an uploaded image in this room, or `None` for the stock icon.
    pub avatar: Option<String>,
    /// Listed in the directory and open to anyone signed in (group rooms).
    pub is_public: bool,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    /// The newest message's seq (0 for an empty room).
    pub last_seq: u64,
    pub last_activity: Option<DateTime<Utc>>,
}

/// A message to append; the store assigns id and seq.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub room: RoomId,
    /// When it was posted, on the chat's [`Clock`](crate::clock::Clock).
    /// The store keeps it to the millisecond and raises it to the room's
    /// last activity if it is earlier, so time order follows seq order in a
    /// room even when clocks (nodes, or a step back of one) disagree.
    pub created_at: DateTime<Utc>,
    pub author: UserId,
    pub author_name: String,
    pub body: String,
    /// Idempotency key: a second append with the same (room, author, key)
    /// returns the first message instead of storing another.
    pub client_msg_id: String,
    pub reply_to: Option<u64>,
    pub mentions: Vec<UserId>,
    /// Files shared with the message (already stored as blobs).
    pub files: Vec<StoredFile>,
}

/// A file as the store records it; the bytes live in a blob store under
/// `sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub id: String,
    /// The sanitised display name.
    pub name: String,
    pub size: u64,
    pub content_type: Option<String>,
    /// Hex SHA-256 of the bytes: the blob's key.
    pub sha256: String,
}

impl StoredFile {
    /// The attachment as messages carry it, with the URL it is served at
    /// (`/files/{room}/{id}/{name}`; the name is there for people and
    /// browsers, the id alone selects the file).
    pub fn attachment(&self, room: &RoomId) -> Attachment {
        let name =
            percent_encoding::utf8_percent_encode(&self.name, percent_encoding::NON_ALPHANUMERIC);
        Attachment {
            id: self.id.clone(),
            name: self.name.clone(),
            size: self.size,
            url: format!("/files/{room}/{}/{name}", self.id),
            content_type: self.content_type.clone(),
            uploaded_by: None,
            uploaded_at: None,
        }
    }
}

/// A file in a room's listing.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    pub file: StoredFile,
    /// The message that shared it.
    pub seq: u64,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

/// What [`Store::upload_usage`] counts, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadUsage {
    pub room_bytes: u64,
    pub user_bytes: u64,
}

/// Whether an append stored a new row or found an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Created,
    Duplicate,
}

/// Someone who has posted in a room.
#[derive(Debug, Clone, PartialEq)]
pub struct Poster {
    pub id: UserId,
    pub name: String,
    pub last_posted: DateTime<Utc>,
    pub messages: u64,
}

/// What happened to an edit or delete.
#[derive(Debug, Clone, PartialEq)]
pub enum Changed {
    /// The message in its new state.
    Done(Box<Message>),
    /// No message with that seq in the room.
    Missing,
    /// The message was deleted earlier and cannot change any more.
    Deleted,
}

/// An earlier version of an edited message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Revision {
    pub body: String,
    /// When this text was replaced by the next version.
    pub replaced_at: DateTime<Utc>,
}

/// What [`Store::remove_page`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovedPage {
    /// The page's rooms, now gone with everything they held.
    pub rooms: Vec<RoomId>,
    /// Hashes of the blobs that only the removed files referred to: no file
    /// row names them any more, so their bytes may be deleted.
    pub unreferenced_blobs: Vec<String>,
}

/// Which of a room's messages [`Store::messages`] reads. Seq bounds are
/// exclusive; time bounds are the messages' `created_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageQuery {
    /// `seq > after`, oldest first: catching up from a cursor.
    After(u64),
    /// `seq < before`, newest first: paging back through history.
    Before(u64),
    /// Created at or after `since` with `seq < before`, newest first:
    /// history by time range, a page at a time.
    Since { since: DateTime<Utc>, before: u64 },
    /// Created in `[from, to)` with `seq > after`, oldest first: one
    /// transcript day (`after: 0`), or the rest of it from one of its pages.
    Between {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: u64,
    },
    /// Replies to the message with this seq, oldest first: a thread.
    Replies(u64),
}

/// Where a transcript day's pages start (see the publisher's `parts`): a
/// busy day is several pages, and only the last (or one whose messages
/// changed) is written again, so publishing costs what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayParts {
    /// How many pages the day takes (1 for a day never split).
    pub count: u32,
    /// The seq of each page's first message, page 1 first; empty when not
    /// known (a day never published, or published before they were kept:
    /// the next publish then renders the whole day and records them).
    pub starts: Vec<u64>,
}

impl Default for DayParts {
    fn default() -> Self {
        Self {
            count: 1,
            starts: Vec::new(),
        }
    }
}

/// Durable storage for rooms and messages.
#[async_trait]
pub trait Store: Membership + Profiles + Send + Sync + 'static {
    /// The room called `name` on `page`, created on first use.
    async fn ensure_room(
        &self,
        page: &PageId,
        name: &str,
        created_by: &UserId,
    ) -> anyhow::Result<Room>;

    /// A room by id.
    async fn room(&self, id: &RoomId) -> anyhow::Result<Option<Room>>;

    /// The room called `name` on `page` if it exists; unlike
    /// [`Store::ensure_room`] it never creates one (an anonymous page view
    /// must not write).
    async fn room_named(&self, page: &PageId, name: &str) -> anyhow::Result<Option<Room>>;

    /// Bytes of files still shared (their message not deleted) in `room`,
    /// and by `user` across all rooms: what the upload quotas count.
    async fn upload_usage(&self, room: &RoomId, user: &UserId) -> anyhow::Result<UploadUsage>;

    /// Whether a file of an undeleted message still has the bytes stored
    /// under `sha256` (content addressing: several files may share them).
    async fn blob_in_use(&self, sha256: &str) -> anyhow::Result<bool>;

    /// Every blob key a file of an undeleted message has: what the blob
    /// collector keeps.
    async fn blobs_in_use(&self) -> anyhow::Result<HashSet<String>>;

    /// A file shared in `room`, unless its message was deleted.
    async fn file(&self, room: &RoomId, id: &str) -> anyhow::Result<Option<StoredFile>>;

    /// The room's files, newest first, at most `limit`; files of deleted
    /// messages are left out.
    async fn files(&self, room: &RoomId, limit: usize) -> anyhow::Result<Vec<FileEntry>>;

    /// Appends a message, assigning the next seq inside the insert transaction.
    /// Returns only after COMMIT.
    async fn append(&self, message: NewMessage) -> anyhow::Result<(Message, Appended)>;

    /// Appends `messages` in order, each with its own outcome, as if
    /// [`Store::append`] ran for each one after the other. Returns after
    /// the last COMMIT. A backend may commit them together: SQLite queues
    /// them all at once, so one client's burst costs one group commit, not
    /// one commit wait per message. The default appends one at a time.
    async fn append_all(
        &self,
        messages: Vec<NewMessage>,
    ) -> Vec<anyhow::Result<(Message, Appended)>> {
        let mut appended = Vec::with_capacity(messages.len());
        for message in messages {
            appended.push(self.append(message).await);
        }
        appended
    }

    /// The room's messages that `query` selects, at most `limit`, in the
    /// order [`MessageQuery`] gives for each kind.
    async fn messages(
        &self,
        room: &RoomId,
        query: MessageQuery,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>>;

    /// The lowest seq still retained (1 unless history was pruned), or `None`
    /// for an empty room.
    async fn first_seq(&self, room: &RoomId) -> anyhow::Result<Option<u64>>;

    /// Everyone who has posted in the room, most recent first.
    async fn posters(&self, room: &RoomId) -> anyhow::Result<Vec<Poster>>;

    /// One message by seq (tombstones included).
    async fn message(&self, room: &RoomId, seq: u64) -> anyhow::Result<Option<Message>>;

    /// Replaces a message's body, keeping the old one as a [`Revision`].
    async fn edit(
        &self,
        room: &RoomId,
        seq: u64,
        body: String,
        mentions: Vec<UserId>,
    ) -> anyhow::Result<Changed>;

    /// Turns a message into a tombstone: body, mentions and edit history go,
    /// seq, author and times stay so the order and threads remain intact.
    async fn delete(&self, room: &RoomId, seq: u64) -> anyhow::Result<Changed>;

    /// A message's earlier versions, oldest first.
    async fn revisions(&self, room: &RoomId, seq: u64) -> anyhow::Result<Vec<Revision>>;

    /// Raises `user`'s read mark in `room` to `seq` (never lowers it);
    /// returns the mark now stored.
    async fn mark_read(&self, room: &RoomId, user: &UserId, seq: u64) -> anyhow::Result<u64>;

    /// `user`'s read mark in `room`: the last seq they have seen (0: none).
    async fn last_read(&self, room: &RoomId, user: &UserId) -> anyhow::Result<u64>;

    /// Records where `room`'s transcript for its day lives in the host.
    async fn set_transcript(&self, room: &RoomId, transcript: &TranscriptRef)
        -> anyhow::Result<()>;

    /// The room's published transcripts, newest day first.
    async fn transcripts(&self, room: &RoomId) -> anyhow::Result<Vec<TranscriptRef>>;

    /// Where `room`'s transcript of `day` is cut into pages, as last
    /// recorded ([`DayParts::default`] for a day never published).
    async fn transcript_parts(
        &self,
        room: &RoomId,
        day: chrono::NaiveDate,
    ) -> anyhow::Result<DayParts>;

    /// Records that `room`'s transcript of `day` (already recorded with
    /// [`Store::set_transcript`]) now takes one page per entry of `starts`,
    /// and returns what was recorded before, so the publisher can empty
    /// parts a shrunken day no longer uses. Does nothing for a day not
    /// recorded.
    async fn swap_transcript_parts(
        &self,
        room: &RoomId,
        day: chrono::NaiveDate,
        starts: &[u64],
    ) -> anyhow::Result<DayParts>;

    /// The host deleted `page`: removes its rooms and everything they hold
    /// (messages, their edit history, members and read marks, file rows,
    /// transcript records, invitations and notifications about them), in
    /// one transaction. Seed 000: a buffer is cleared when it
    /// is deleted. Idempotent: a page without rooms removes nothing.
    async fn remove_page(&self, page: &PageId) -> anyhow::Result<RemovedPage>;
}

/// What only maintenance commands (`backchannel chat prune`, transcript
/// rebuilds, the PostgreSQL migration) need from a store; the running chat
/// sees only [`Store`]. Every backend implements both, so a command opens
/// one store as `dyn StoreMaintenance` and hands it on as `dyn Store`.
#[async_trait]
pub trait StoreMaintenance: Store {
    /// Every room, oldest first.
    async fn rooms(&self) -> anyhow::Result<Vec<Room>>;

    /// Retention: removes every message created before `before`, in all
    /// rooms, except each room's newest (so its seq counter and last
    /// activity stay meaningful). Returns how many were removed. Readers whose
    /// cursor falls before what is left get a `reset`.
    async fn prune(&self, before: DateTime<Utc>) -> anyhow::Result<u64>;
}
