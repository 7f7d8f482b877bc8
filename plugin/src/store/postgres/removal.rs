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
use crate::store::{DayParts, RemovedPage};
use protocol::{PageId, RoomId};

/// Every table holding a room's rows, children before parents.
const ROOM_TABLES: [&str; 7] = [
    "notifications",
    "invitations",
    "files",
    "message_revisions",
    "members",
    "transcripts",
    "messages",
];

/// See [`Store::transcript_parts`](crate::store::Store::transcript_parts).
pub(super) async fn transcript_parts<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    room: &RoomId,
    day: chrono::NaiveDate,
) -> anyhow::Result<DayParts> {
    let row: Option<(i32, Vec<i64>)> = sqlx::query_as(
        "SELECT parts, part_starts FROM transcripts WHERE room_id = $1 AND day = $2",
    )
    .bind(&room.0)
    .bind(day)
    .fetch_optional(executor)
    .await?;
    Ok(
        row.map_or_else(DayParts::default, |(count, starts)| DayParts {
            count: u32::try_from(count).unwrap_or(1).max(1),
            starts: starts.into_iter().map(|s| s.max(0) as u64).collect(),
        }),
    )
}

/// See [`Store::swap_transcript_parts`](crate::store::Store::swap_transcript_parts).
pub(super) async fn swap_transcript_parts(
    store: &PostgresStore,
    room: &RoomId,
    day: chrono::NaiveDate,
    starts: &[u64],
) -> anyhow::Result<DayParts> {
    let mut tx = store.pool.begin().await?;
    // Locks the row, so two nodes publishing the same day swap in turn.
    sqlx::query("SELECT 1 FROM transcripts WHERE room_id = $1 AND day = $2 FOR UPDATE")
        .bind(&room.0)
        .bind(day)
        .execute(&mut *tx)
        .await?;
    let before = transcript_parts(&mut *tx, room, day).await?;
    let seqs: Vec<i64> = starts
        .iter()
        .map(|s| i64::try_from(*s).unwrap_or(i64::MAX))
        .collect();
    sqlx::query(
        "UPDATE transcripts SET parts = $3, part_starts = $4 WHERE room_id = $1 AND day = $2",
    )
    .bind(&room.0)
    .bind(day)
    .bind(i32::try_from(starts.len().max(1)).unwrap_or(i32::MAX))
    .bind(&seqs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(before)
}

pub(super) async fn remove_page(
    store: &PostgresStore,
    page: &PageId,
) -> anyhow::Result<RemovedPage> {
    let mut tx = store.pool.begin().await?;
    // A group or direct room that published its transcripts there keeps
    // everything it holds and stops publishing.
    sqlx::query("UPDATE rooms SET page_id = NULL WHERE page_id = $1 AND kind <> 'page'")
        .bind(&page.0)
        .execute(&mut *tx)
        .await?;
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
