//! The [`Store`] and [`StoreMaintenance`] methods on SQLite: reads on the
//! pooled read connections, writes as jobs for the writer thread.

use super::rows::{
    collect_messages, find_message, find_room, first_seq_at, from_millis, message_from_row, millis,
    new_room_id, room_from_row, seq_param, stored_file_from_row, MESSAGE_COLUMNS, ROOM_COLUMNS,
    TIME_ORDER_SLACK,
};
use super::writer::committed;
use super::SqliteStore;
use crate::store::{
    Appended, Changed, DayParts, FileEntry, MessageQuery, NewMessage, Poster, RemovedPage,
    Revision, Room, Store, StoreMaintenance, StoredFile, UploadUsage,
};
use anyhow::anyhow;
use async_trait::async_trait;
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use protocol::TranscriptRef;
use protocol::{Message, MessageId, PageId, RoomId, UserId};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;

/// Inserts one message on the writer thread (see [`Store::append`]).
fn append_row(conn: &Connection, new: NewMessage) -> anyhow::Result<(Message, Appended)> {
    // Cached statements: this runs for every message, and parsing the
    // SQL each time costs more than running it.
    let earlier = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE room_id = ?1 AND author = ?2 AND client_msg_id = ?3"
        ))?
        .query_row(
            params![new.room.0, new.author.0, new.client_msg_id],
            message_from_row,
        )
        .optional()?;
    if let Some(message) = earlier {
        return Ok((message, Appended::Duplicate));
    }

    // The seq is assigned here, inside the transaction that inserts the
    // row, from the room's counter: gapless because only the single
    // writer thread ever runs this. The time is the caller's, never
    // earlier than the room's last message (see `NewMessage`).
    let (seq, now): (i64, i64) = conn
        .prepare_cached(
            "UPDATE rooms SET last_seq = last_seq + 1,
                              last_activity = MAX(?2, COALESCE(last_activity, ?2))
             WHERE id = ?1 RETURNING last_seq, last_activity",
        )?
        .query_row(params![new.room.0, millis(new.created_at)], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?
        .ok_or_else(|| anyhow!("room {} does not exist", new.room))?;
    let id = MessageId(uuid::Uuid::now_v7().to_string());
    let attachments: Vec<protocol::Attachment> =
        new.files.iter().map(|f| f.attachment(&new.room)).collect();
    conn.prepare_cached(
        "INSERT INTO messages (room_id, seq, id, author, author_name, body, created_at,
                               reply_to, client_msg_id, mentions, attachments)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        new.room.0,
        seq,
        id.0,
        new.author.0,
        new.author_name,
        new.body,
        now,
        new.reply_to.map(|s| s as i64),
        new.client_msg_id,
        serde_json::to_string(&new.mentions)?,
        serde_json::to_string(&attachments)?,
    ])?;
    for file in &new.files {
        conn.execute(
            "INSERT INTO files (id, room_id, seq, sha256, name, size, content_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                file.id,
                new.room.0,
                seq,
                file.sha256,
                file.name,
                file.size as i64,
                file.content_type
            ],
        )?;
    }
    let message = Message {
        id,
        room: new.room,
        seq: seq as u64,
        author: new.author,
        author_name: new.author_name,
        body: new.body,
        html: String::new(),
        // What is stored is millisecond precision; hand back the same.
        created_at: from_millis(now),
        edited_at: None,
        deleted_at: None,
        reply_to: new.reply_to,
        client_msg_id: Some(new.client_msg_id),
        mentions: new.mentions,
        attachments,
    };
    Ok((message, Appended::Created))
}

#[async_trait]
impl Store for SqliteStore {
    async fn ensure_room(
        &self,
        page: &PageId,
        name: &str,
        created_by: &UserId,
    ) -> anyhow::Result<Room> {
        let (page, name, created_by) = (page.0.clone(), name.to_owned(), created_by.0.clone());
        // Fast path: most calls find an existing room and need no write.
        let lookup = (page.clone(), name.clone());
        let existing = self
            .read(move |conn| {
                Ok(conn
                    .query_row(
                        &format!(
                            "SELECT {ROOM_COLUMNS} FROM rooms WHERE page_id = ?1 AND name = ?2"
                        ),
                        params![lookup.0, lookup.1],
                        room_from_row,
                    )
                    .optional()?)
            })
            .await?;
        if let Some(room) = existing {
            return Ok(room);
        }
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO rooms (id, page_id, name, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (page_id, name) DO NOTHING",
                params![new_room_id().0, page, name, created_by, millis(Utc::now())],
            )?;
            let room = conn.query_row(
                &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE page_id = ?1 AND name = ?2"),
                params![page, name],
                room_from_row,
            )?;
            Ok(room)
        })
        .await
    }

    async fn room(&self, id: &RoomId) -> anyhow::Result<Option<Room>> {
        let id = id.0.clone();
        self.read(move |conn| Ok(find_room(conn, &id)?)).await
    }

    async fn room_named(&self, page: &PageId, name: &str) -> anyhow::Result<Option<Room>> {
        let (page, name) = (page.0.clone(), name.to_owned());
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE page_id = ?1 AND name = ?2"),
                    params![page, name],
                    room_from_row,
                )
                .optional()?)
        })
        .await
    }

    async fn upload_usage(&self, room: &RoomId, user: &UserId) -> anyhow::Result<UploadUsage> {
        let (room, user) = (room.0.clone(), user.0.clone());
        self.read(move |conn| {
            let (room_bytes, user_bytes): (i64, i64) = conn.query_row(
                "SELECT COALESCE(SUM(CASE WHEN f.room_id = ?1 THEN f.size END), 0),
                        COALESCE(SUM(CASE WHEN m.author = ?2 THEN f.size END), 0)
                 FROM files f JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
                 WHERE m.deleted_at IS NULL AND (f.room_id = ?1 OR m.author = ?2)",
                params![room, user],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            Ok(UploadUsage {
                room_bytes: room_bytes.max(0) as u64,
                user_bytes: user_bytes.max(0) as u64,
            })
        })
        .await
    }

    async fn blob_in_use(&self, sha256: &str) -> anyhow::Result<bool> {
        let sha256 = sha256.to_owned();
        self.read(move |conn| {
            Ok(conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM files f
                 JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
                 WHERE f.sha256 = ?1 AND m.deleted_at IS NULL)",
                [sha256],
                |row| row.get(0),
            )?)
        })
        .await
    }

    async fn blobs_in_use(&self) -> anyhow::Result<HashSet<String>> {
        self.read(move |conn| {
            let mut statement = conn.prepare(
                "SELECT DISTINCT f.sha256 FROM files f
                 JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
                 WHERE m.deleted_at IS NULL",
            )?;
            let rows = statement.query_map([], |row| row.get(0))?;
            Ok(rows.collect::<Result<HashSet<String>, _>>()?)
        })
        .await
    }

    async fn file(&self, room: &RoomId, id: &str) -> anyhow::Result<Option<StoredFile>> {
        let (room, id) = (room.0.clone(), id.to_owned());
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT f.id, f.name, f.size, f.content_type, f.sha256 FROM files f
                     JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
                     WHERE f.room_id = ?1 AND f.id = ?2 AND m.deleted_at IS NULL",
                    params![room, id],
                    stored_file_from_row,
                )
                .optional()?)
        })
        .await
    }

    async fn files(&self, room: &RoomId, limit: usize) -> anyhow::Result<Vec<FileEntry>> {
        let room = room.0.clone();
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT f.id, f.name, f.size, f.content_type, f.sha256,
                        f.seq, m.author_name, m.created_at
                 FROM files f JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
                 WHERE f.room_id = ?1 AND m.deleted_at IS NULL
                 ORDER BY f.seq DESC, f.id LIMIT ?2",
            )?;
            let rows = statement.query_map(params![room, limit as i64], |row| {
                Ok(FileEntry {
                    file: stored_file_from_row(row)?,
                    seq: row.get::<_, i64>(5)?.max(0) as u64,
                    uploaded_by: row.get(6)?,
                    uploaded_at: from_millis(row.get(7)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn append(&self, new: NewMessage) -> anyhow::Result<(Message, Appended)> {
        self.write(move |conn| append_row(conn, new)).await
    }

    async fn append_all(
        &self,
        messages: Vec<NewMessage>,
    ) -> Vec<anyhow::Result<(Message, Appended)>> {
        // All queued before any is awaited: the writer thread takes them in
        // this order into as few group commits as it can.
        let queued: Vec<_> = messages
            .into_iter()
            .map(|new| self.queue(move |conn| append_row(conn, new)))
            .collect();
        let mut appended = Vec::with_capacity(queued.len());
        for receiver in queued {
            appended.push(committed(receiver).await);
        }
        appended
    }

    async fn messages(
        &self,
        room: &RoomId,
        query: MessageQuery,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let room = room.0.clone();
        let limit = limit as i64;
        self.read(move |conn| {
            let messages = match query {
                MessageQuery::After(after) => collect_messages(
                    conn,
                    &format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages
                         WHERE room_id = ?1 AND seq > ?2 ORDER BY seq ASC LIMIT ?3"
                    ),
                    params![room, seq_param(after), limit],
                )?,
                MessageQuery::Before(before) => collect_messages(
                    conn,
                    &format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages
                         WHERE room_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
                    ),
                    params![room, seq_param(before), limit],
                )?,
                MessageQuery::Since { since, before } => {
                    let from = first_seq_at(conn, &room, millis(since))? - TIME_ORDER_SLACK;
                    collect_messages(
                        conn,
                        &format!(
                            "SELECT {MESSAGE_COLUMNS} FROM messages
                             WHERE room_id = ?1 AND seq >= ?2 AND seq < ?3 AND created_at >= ?4
                             ORDER BY seq DESC LIMIT ?5"
                        ),
                        params![room, from, seq_param(before), millis(since), limit],
                    )?
                }
                MessageQuery::Between { from, to, after } => {
                    let (from, to) = (millis(from), millis(to));
                    let first = (first_seq_at(conn, &room, from)? - TIME_ORDER_SLACK)
                        .max(seq_param(after).saturating_add(1));
                    let end = first_seq_at(conn, &room, to)? + TIME_ORDER_SLACK;
                    collect_messages(
                        conn,
                        &format!(
                            "SELECT {MESSAGE_COLUMNS} FROM messages
                             WHERE room_id = ?1 AND seq >= ?2 AND seq < ?3
                               AND created_at >= ?4 AND created_at < ?5
                             ORDER BY seq LIMIT ?6"
                        ),
                        params![room, first, end, from, to, limit],
                    )?
                }
                MessageQuery::Replies(parent) => collect_messages(
                    conn,
                    &format!(
                        "SELECT {MESSAGE_COLUMNS} FROM messages
                         WHERE room_id = ?1 AND reply_to = ?2 ORDER BY seq LIMIT ?3"
                    ),
                    params![room, seq_param(parent), limit],
                )?,
            };
            Ok(messages)
        })
        .await
    }

    async fn first_seq(&self, room: &RoomId) -> anyhow::Result<Option<u64>> {
        let room = room.0.clone();
        self.read(move |conn| {
            let first: Option<i64> = conn.query_row(
                "SELECT MIN(seq) FROM messages WHERE room_id = ?1",
                [room],
                |row| row.get(0),
            )?;
            Ok(first.map(|s| s.max(0) as u64))
        })
        .await
    }

    async fn posters(&self, room: &RoomId) -> anyhow::Result<Vec<Poster>> {
        let room = room.0.clone();
        self.read(move |conn| {
            // The name is the one on the author's newest message.
            let mut stmt = conn.prepare_cached(
                "SELECT author,
                        (SELECT author_name FROM messages m2
                          WHERE m2.room_id = m.room_id AND m2.author = m.author
                          ORDER BY seq DESC LIMIT 1),
                        MAX(created_at), COUNT(*)
                 FROM messages m WHERE room_id = ?1
                 GROUP BY author ORDER BY MAX(seq) DESC",
            )?;
            let rows = stmt.query_map([room], |row| {
                Ok(Poster {
                    id: UserId(row.get(0)?),
                    name: row.get(1)?,
                    last_posted: from_millis(row.get(2)?),
                    messages: row.get::<_, i64>(3)?.max(0) as u64,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn message(&self, room: &RoomId, seq: u64) -> anyhow::Result<Option<Message>> {
        let room = room.0.clone();
        self.read(move |conn| Ok(find_message(conn, &room, seq)?))
            .await
    }

    async fn edit(
        &self,
        room: &RoomId,
        seq: u64,
        body: String,
        mentions: Vec<UserId>,
    ) -> anyhow::Result<Changed> {
        let room = room.0.clone();
        self.write(move |conn| {
            let Some(old) = find_message(conn, &room, seq)? else {
                return Ok(Changed::Missing);
            };
            if old.deleted_at.is_some() {
                return Ok(Changed::Deleted);
            }
            let now = millis(Utc::now());
            conn.execute(
                "INSERT INTO message_revisions (room_id, seq, body, replaced_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![room, seq as i64, old.body, now],
            )?;
            conn.execute(
                "UPDATE messages SET body = ?3, mentions = ?4, edited_at = ?5
                 WHERE room_id = ?1 AND seq = ?2",
                params![
                    room,
                    seq as i64,
                    body,
                    serde_json::to_string(&mentions)?,
                    now
                ],
            )?;
            let message = find_message(conn, &room, seq)?
                .ok_or_else(|| anyhow!("message {room}/{seq} vanished during an edit"))?;
            Ok(Changed::Done(Box::new(message)))
        })
        .await
    }

    async fn delete(&self, room: &RoomId, seq: u64) -> anyhow::Result<Changed> {
        let room = room.0.clone();
        self.write(move |conn| {
            let Some(old) = find_message(conn, &room, seq)? else {
                return Ok(Changed::Missing);
            };
            if old.deleted_at.is_some() {
                return Ok(Changed::Deleted);
            }
            conn.execute(
                "DELETE FROM message_revisions WHERE room_id = ?1 AND seq = ?2",
                params![room, seq as i64],
            )?;
            conn.execute(
                "UPDATE messages SET body = '', mentions = '[]', attachments = '[]', deleted_at = ?3
                 WHERE room_id = ?1 AND seq = ?2",
                params![room, seq as i64, millis(Utc::now())],
            )?;
            let message = find_message(conn, &room, seq)?
                .ok_or_else(|| anyhow!("message {room}/{seq} vanished during a delete"))?;
            Ok(Changed::Done(Box::new(message)))
        })
        .await
    }

    async fn revisions(&self, room: &RoomId, seq: u64) -> anyhow::Result<Vec<Revision>> {
        let room = room.0.clone();
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT body, replaced_at FROM message_revisions
                 WHERE room_id = ?1 AND seq = ?2 ORDER BY replaced_at, rowid",
            )?;
            let rows = statement.query_map(params![room, seq as i64], |row| {
                Ok(Revision {
                    body: row.get(0)?,
                    replaced_at: from_millis(row.get(1)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn mark_read(&self, room: &RoomId, user: &UserId, seq: u64) -> anyhow::Result<u64> {
        let (room, user) = (room.0.clone(), user.0.clone());
        self.write(move |conn| {
            let mark: i64 = conn.query_row(
                "INSERT INTO members (room_id, user_id, last_read_seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT (room_id, user_id)
                 DO UPDATE SET last_read_seq = MAX(last_read_seq, excluded.last_read_seq)
                 RETURNING last_read_seq",
                params![room, user, seq as i64],
                |row| row.get(0),
            )?;
            Ok(mark.max(0) as u64)
        })
        .await
    }

    async fn last_read(&self, room: &RoomId, user: &UserId) -> anyhow::Result<u64> {
        let (room, user) = (room.0.clone(), user.0.clone());
        self.read(move |conn| {
            let mark: Option<i64> = conn
                .query_row(
                    "SELECT last_read_seq FROM members WHERE room_id = ?1 AND user_id = ?2",
                    params![room, user],
                    |row| row.get(0),
                )
                .optional()?;
            Ok(mark.unwrap_or(0).max(0) as u64)
        })
        .await
    }

    async fn set_transcript(
        &self,
        room: &RoomId,
        transcript: &TranscriptRef,
    ) -> anyhow::Result<()> {
        let room = room.0.clone();
        let (day, path, url) = (
            transcript.date.to_string(),
            transcript.path.clone(),
            transcript.url.clone(),
        );
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO transcripts (room_id, day, path, url) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (room_id, day) DO UPDATE SET path = excluded.path, url = excluded.url",
                params![room, day, path, url],
            )?;
            Ok(())
        })
        .await
    }

    async fn transcripts(&self, room: &RoomId) -> anyhow::Result<Vec<TranscriptRef>> {
        let room = room.0.clone();
        self.read(move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT day, path, url FROM transcripts WHERE room_id = ?1 ORDER BY day DESC",
            )?;
            let rows = statement.query_map([room], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?;
            let mut refs = Vec::new();
            for row in rows {
                let (day, path, url) = row?;
                if let Ok(date) = day.parse::<NaiveDate>() {
                    refs.push(TranscriptRef { date, path, url });
                }
            }
            Ok(refs)
        })
        .await
    }

    async fn transcript_parts(&self, room: &RoomId, day: NaiveDate) -> anyhow::Result<DayParts> {
        let (room, day) = (room.0.clone(), day.to_string());
        self.read(move |conn| super::removal::transcript_parts(conn, &room, &day))
            .await
    }

    async fn swap_transcript_parts(
        &self,
        room: &RoomId,
        day: NaiveDate,
        starts: &[u64],
    ) -> anyhow::Result<DayParts> {
        let (room, day, starts) = (room.0.clone(), day.to_string(), starts.to_vec());
        self.write(move |conn| super::removal::swap_transcript_parts(conn, &room, &day, &starts))
            .await
    }

    async fn remove_page(&self, page: &PageId) -> anyhow::Result<RemovedPage> {
        let page = page.0.clone();
        self.write(move |conn| super::removal::remove_page(conn, &page))
            .await
    }
}

#[async_trait]
impl StoreMaintenance for SqliteStore {
    async fn rooms(&self) -> anyhow::Result<Vec<Room>> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {ROOM_COLUMNS} FROM rooms ORDER BY created_at, id"
            ))?;
            let rows = statement.query_map([], room_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn prune(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        let before = millis(before);
        self.write(move |conn| {
            let doomed = "FROM messages WHERE created_at < ?1
                 AND seq < (SELECT last_seq FROM rooms WHERE rooms.id = messages.room_id)";
            // Revisions and file rows go with their message (the blobs
            // they name are left to the collector, see crate::collector).
            for dependent in ["message_revisions", "files"] {
                conn.execute(
                    &format!(
                        "DELETE FROM {dependent} WHERE (room_id, seq) IN
                         (SELECT room_id, seq {doomed})"
                    ),
                    [before],
                )?;
            }
            let removed = conn.execute(&format!("DELETE {doomed}"), [before])?;
            Ok(removed as u64)
        })
        .await
    }
}
