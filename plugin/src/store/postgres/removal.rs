//! Removing a deleted host page's rooms ([`Store::remove_page`]) on
//! PostgreSQL, in one transaction; and how many pages a transcript day
//! takes.
//!
//! The rooms are locked first (`FOR UPDATE`): an append on another node
//! updates its room row before inserting, so it waits for this transaction
//! and then finds no room, instead of adding a message between the delete
//! of the messages and the delete of the room.
//!
//! [`Store::remove_page`]: crate::store::Store::remove_page

use super::PostgresStore;
use crate::store::RemovedPage;
use protocol::{PageId, RoomId};

/// Every table holding a room's rows, children before parents.
const ROOM_TABLES: [&str; 5] = [
    "files",
    "message_revisions",
    "members",
    "transcripts",
    "messages",
];

/// See [`Store::swap_transcript_parts`](crate::store::Store::swap_transcript_parts).
pub(super) async fn swap_transcript_parts(
    store: &PostgresStore,
    room: &RoomId,
    day: chrono::NaiveDate,
    parts: u32,
) -> anyhow::Result<u32> {
    let before: Option<i32> = sqlx::query_scalar(
        "UPDATE transcripts t SET parts = $3
         FROM (SELECT room_id, day, parts FROM transcripts
               WHERE room_id = $1 AND day = $2 FOR UPDATE) old
         WHERE t.room_id = old.room_id AND t.day = old.day
         RETURNING old.parts",
    )
    .bind(&room.0)
    .bind(day)
    .bind(i32::try_from(parts).unwrap_or(i32::MAX))
    .fetch_optional(&store.pool)
    .await?;
    Ok(before.map_or(1, |p| u32::try_from(p).unwrap_or(1)))
}

pub(super) async fn remove_page(
    store: &PostgresStore,
    page: &PageId,
) -> anyhow::Result<RemovedPage> {
    let mut tx = store.pool.begin().await?;
    let rooms: Vec<String> =
        sqlx::query_scalar("SELECT id FROM rooms WHERE page_id = $1 ORDER BY id FOR UPDATE")
            .bind(&page.0)
            .fetch_all(&mut *tx)
            .await?;
    let blobs: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT sha256 FROM files WHERE room_id = ANY($1)")
            .bind(&rooms)
            .fetch_all(&mut *tx)
            .await?;
    for table in ROOM_TABLES {
        sqlx::query(&format!("DELETE FROM {table} WHERE room_id = ANY($1)"))
            .bind(&rooms)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM rooms WHERE id = ANY($1)")
        .bind(&rooms)
        .execute(&mut *tx)
        .await?;
    // Blobs are shared by content: bytes another room's file names stay.
    let mut unreferenced_blobs: Vec<String> = sqlx::query_scalar(
        "SELECT h FROM unnest($1::text[]) AS h
         WHERE NOT EXISTS (SELECT 1 FROM files WHERE sha256 = h)",
    )
    .bind(&blobs)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    unreferenced_blobs.sort();
    Ok(RemovedPage {
        rooms: rooms.into_iter().map(RoomId).collect(),
        unreferenced_blobs,
    })
}
