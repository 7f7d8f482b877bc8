//! The `Store`: durable rooms and messages.
//!
//! Callers only ever see this trait; `sqlite` is the embedded default and a
//! PostgreSQL implementation slots in beside it. Every write returns after its
//! transaction has committed, so an acknowledged message survives a crash.

pub mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use protocol::{Message, PageId, RoomId, UserId};

pub use sqlite::SqliteStore;

/// A room as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    pub id: RoomId,
    pub page: PageId,
    pub name: String,
    pub topic: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    /// The newest message's seq (0 for an empty room).
    pub last_seq: u64,
    pub last_activity: Option<DateTime<Utc>>,
}

/// A message to append; the store assigns id, seq and time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub room: RoomId,
    pub author: UserId,
    pub author_name: String,
    pub body: String,
    /// Idempotency key: a second append with the same (room, author, key)
    /// returns the first message instead of storing another.
    pub client_msg_id: String,
    pub reply_to: Option<u64>,
    pub mentions: Vec<UserId>,
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

/// Durable storage for rooms and messages.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The room called `name` on `page`, created on first use.
    async fn ensure_room(
        &self,
        page: &PageId,
        name: &str,
        created_by: &UserId,
    ) -> anyhow::Result<Room>;

    /// A room by id.
    async fn room(&self, id: &RoomId) -> anyhow::Result<Option<Room>>;

    /// Appends a message, assigning the next seq inside the insert transaction.
    /// Returns only after COMMIT.
    async fn append(&self, message: NewMessage) -> anyhow::Result<(Message, Appended)>;

    /// Messages with `seq > after`, oldest first, at most `limit`.
    async fn messages_after(
        &self,
        room: &RoomId,
        after: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>>;

    /// Messages with `seq < before`, newest first, at most `limit`.
    async fn messages_before(
        &self,
        room: &RoomId,
        before: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>>;

    /// The lowest seq still retained (1 unless history was pruned), or `None`
    /// for an empty room.
    async fn first_seq(&self, room: &RoomId) -> anyhow::Result<Option<u64>>;

    /// Everyone who has posted in the room, most recent first.
    async fn posters(&self, room: &RoomId) -> anyhow::Result<Vec<Poster>>;
}
