//! Removing a deleted host page's rooms ([`Store::remove_page`]) on SQLite:
//! one write job on the writer thread, so it commits or fails as a whole.
//! Also the other page-shaped bookkeeping: how many pages a transcript day
//! takes.
//!
//! [`Store::remove_page`]: crate::store::Store::remove_page

use crate::store::{DayParts, RemovedPage};
use protocol::RoomId;
use rusqlite::{params, Connection, OptionalExtension};

/// Every table holding a room's rows, children before parents (the foreign
/// keys point from the later ones to `rooms`, from `files` and
/// `message_revisions` to `messages`; notifications name their room
/// without one).
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
pub(super) fn transcript_parts(
    conn: &Connection,
    room: &str,
    day: &str,
) -> anyhow::Result<DayParts> {
    let row: Option<(i64, String)> = conn
        .query_row(
            "SELECT parts, part_starts FROM transcripts WHERE room_id = ?1 AND day = ?2",
            params![room, day],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((count, starts)) = row else {
        return Ok(DayParts::default());
    };
    let starts: Vec<u64> = starts
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    Ok(DayParts {
        count: u32::try_from(count).unwrap_or(1).max(1),
        starts,
    })
}

/// See [`Store::swap_transcript_parts`](crate::store::Store::swap_transcript_parts).
pub(super) fn swap_transcript_parts(
    conn: &Connection,
    room: &str,
    day: &str,
    starts: &[u64],
) -> anyhow::Result<DayParts> {
    let before = transcript_parts(conn, room, day)?;
    let text = starts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    conn.execute(
        "UPDATE transcripts SET parts = ?3, part_starts = ?4 WHERE room_id = ?1 AND day = ?2",
        params![room, day, starts.len().max(1) as i64, text],
    )?;
    Ok(before)
}

/// Deletes the rooms of `page` inside the writer's transaction.
pub(super) fn remove_page(conn: &Connection, page: &str) -> anyhow::Result<RemovedPage> {
    // A group or direct room that published its transcripts there keeps
    // everything it holds and stops publishing.
    conn.execute(
        "UPDATE rooms SET page_id = NULL WHERE page_id = ?1 AND kind != 'page'",
        [page],
    )?;
    let rooms: Vec<String> = conn
        .prepare("SELECT id FROM rooms WHERE page_id = ?1 ORDER BY id")?
        .query_map([page], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut blobs: Vec<String> = Vec::new();
    for room in &rooms {
        let mut hashes = conn.prepare("SELECT DISTINCT sha256 FROM files WHERE room_id = ?1")?;
        for hash in hashes.query_map([room], |row| row.get::<_, String>(0))? {
            blobs.push(hash?);
        }
        for table in ROOM_TABLES {
            conn.execute(&format!("DELETE FROM {table} WHERE room_id = ?1"), [room])?;
        }
        conn.execute("DELETE FROM rooms WHERE id = ?1", [room])?;
    }
    blobs.sort();
    blobs.dedup();
    // Blobs are shared by content: the same bytes uploaded in another room
    // stay as long as a file row there names them.
    let mut still_used = conn.prepare("SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = ?1)")?;
    let mut unreferenced_blobs = Vec::with_capacity(blobs.len());
    for hash in blobs {
        let used: bool = still_used.query_row(params![hash], |row| row.get(0))?;
        if !used {
            unreferenced_blobs.push(hash);
        }
    }
    Ok(RemovedPage {
        rooms: rooms.into_iter().map(RoomId).collect(),
        unreferenced_blobs,
    })
}
