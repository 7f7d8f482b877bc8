//! The [`Store`] and [`StoreMaintenance`] methods on PostgreSQL, each one
//! query or one transaction.

use super::rows::{
    lock_message, message_from_row, new_room_id, room_from_row, stored_file_from_row, to_i64,
    to_u64, Current,
};
use super::PostgresStore;
use crate::store::{
    Appended, Changed, DayParts, FileEntry, MessageQuery, NewMessage, Poster, RemovedPage,
    Revision, Room, Store, StoreMaintenance, StoredFile, UploadUsage,
};
use anyhow::{anyhow, Context};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use protocol::{Message, PageId, RoomId, TranscriptRef, UserId};
use sqlx::Row;
use std::collections::HashSet;

#[async_trait]
impl Store for PostgresStore {
    async fn ensure_room(
        &self,
        page: &PageId,
        name: &str,
        created_by: &UserId,
    ) -> anyhow::Result<Room> {
        const FIND: &str = concat!(
            "SELECT ",
            room_columns!(),
            " FROM rooms WHERE page_id = $1 AND name = $2"
        );
        // Fast path: most calls find an existing room and need no write.
        let existing = sqlx::query(FIND)
            .bind(&page.0)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = existing {
            return Ok(room_from_row(&row)?);
        }
        // A racing node's insert makes ours do nothing; either way the row
        // read next is the one that won.
        sqlx::query(concat!(
            "INSERT INTO rooms (id, page_id, name, created_by, created_at)
             VALUES ($1, $2, $3, $4, ",
            now!(),
            ") ON CONFLICT (page_id, name) DO NOTHING"
        ))
        .bind(new_room_id().0)
        .bind(&page.0)
        .bind(name)
        .bind(&created_by.0)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(FIND)
            .bind(&page.0)
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(room_from_row(&row)?)
    }

    async fn room_named(&self, page: &PageId, name: &str) -> anyhow::Result<Option<Room>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            room_columns!(),
            " FROM rooms WHERE page_id = $1 AND name = $2"
        ))
        .bind(&page.0)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(room_from_row).transpose()?)
    }

    async fn upload_usage(&self, room: &RoomId, user: &UserId) -> anyhow::Result<UploadUsage> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(f.size) FILTER (WHERE f.room_id = $1), 0)::BIGINT AS room_bytes,
                    COALESCE(SUM(f.size) FILTER (WHERE m.author = $2), 0)::BIGINT AS user_bytes
             FROM files f JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
             WHERE m.deleted_at IS NULL AND (f.room_id = $1 OR m.author = $2)",
        )
        .bind(&room.0)
        .bind(&user.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(UploadUsage {
            room_bytes: to_u64(row.try_get("room_bytes")?),
            user_bytes: to_u64(row.try_get("user_bytes")?),
        })
    }

    async fn blob_in_use(&self, sha256: &str) -> anyhow::Result<bool> {
        let row = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM files f
             JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
             WHERE f.sha256 = $1 AND m.deleted_at IS NULL) AS used",
        )
        .bind(sha256)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("used")?)
    }

    async fn blobs_in_use(&self) -> anyhow::Result<HashSet<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT f.sha256 FROM files f
             JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
             WHERE m.deleted_at IS NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok(row.try_get("sha256")?)).collect()
    }

    async fn file(&self, room: &RoomId, id: &str) -> anyhow::Result<Option<StoredFile>> {
        let row = sqlx::query(
            "SELECT f.id, f.name, f.size, f.content_type, f.sha256 FROM files f
             JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
             WHERE f.room_id = $1 AND f.id = $2 AND m.deleted_at IS NULL",
        )
        .bind(&room.0)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(stored_file_from_row).transpose()?)
    }

    async fn files(&self, room: &RoomId, limit: usize) -> anyhow::Result<Vec<FileEntry>> {
        let rows = sqlx::query(
            "SELECT f.id, f.name, f.size, f.content_type, f.sha256,
                    f.seq, m.author_name, m.created_at
             FROM files f JOIN messages m ON m.room_id = f.room_id AND m.seq = f.seq
             WHERE f.room_id = $1 AND m.deleted_at IS NULL
             ORDER BY f.seq DESC, f.id LIMIT $2",
        )
        .bind(&room.0)
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(FileEntry {
                    file: stored_file_from_row(row)?,
                    seq: to_u64(row.try_get("seq")?),
                    uploaded_by: row.try_get("author_name")?,
                    uploaded_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn room(&self, id: &RoomId) -> anyhow::Result<Option<Room>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            room_columns!(),
            " FROM rooms WHERE id = $1"
        ))
        .bind(&id.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(room_from_row).transpose()?)
    }

    async fn append(&self, new: NewMessage) -> anyhow::Result<(Message, Appended)> {
        let room = new.room.0.as_str();
        // A retry of something already committed needs no lock.
        if let Some(earlier) = self.by_key(room, &new.author.0, &new.client_msg_id).await? {
            return Ok((earlier, Appended::Duplicate));
        }

        let mut tx = self.pool.begin().await?;
        // Takes the room's row lock until COMMIT: see the module docs.
        // GREATEST skips a NULL (the room's first message).
        let counter = sqlx::query(
            "UPDATE rooms SET last_seq = last_seq + 1,
                              last_activity = GREATEST($2, last_activity)
             WHERE id = $1 RETURNING last_seq, last_activity",
        )
        .bind(room)
        .bind(new.created_at.trunc_subsecs(3))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| anyhow!("room {} does not exist", new.room))?;
        let seq: i64 = counter.try_get(0)?;
        let now: DateTime<Utc> = counter.try_get(1)?;
        let mentions: Vec<&str> = new.mentions.iter().map(|m| m.0.as_str()).collect();
        let attachments: Vec<protocol::Attachment> =
            new.files.iter().map(|f| f.attachment(&new.room)).collect();
        let inserted = sqlx::query(concat!(
            "INSERT INTO messages (room_id, seq, id, author, author_name, body, created_at,
                                   reply_to, client_msg_id, mentions, attachments)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (room_id, author, client_msg_id) WHERE client_msg_id IS NOT NULL
             DO NOTHING
             RETURNING ",
            message_columns!()
        ))
        .bind(room)
        .bind(seq)
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&new.author.0)
        .bind(&new.author_name)
        .bind(&new.body)
        .bind(now)
        .bind(new.reply_to.map(to_i64))
        .bind(&new.client_msg_id)
        .bind(&mentions)
        .bind(serde_json::to_string(&attachments)?)
        .fetch_optional(&mut *tx)
        .await?;

        match inserted {
            Some(row) => {
                let message = message_from_row(&row)?;
                for file in &new.files {
                    sqlx::query(
                        "INSERT INTO files (id, room_id, seq, sha256, name, size, content_type)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&file.id)
                    .bind(room)
                    .bind(seq)
                    .bind(&file.sha256)
                    .bind(&file.name)
                    .bind(to_i64(file.size))
                    .bind(&file.content_type)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await.context("committing a message")?;
                Ok((message, Appended::Created))
            }
            None => {
                // Another node committed the same key while we waited for the
                // room lock. Rolling back returns our seq; answer with theirs.
                tx.rollback().await?;
                let earlier = self
                    .by_key(room, &new.author.0, &new.client_msg_id)
                    .await?
                    .ok_or_else(|| {
                        anyhow!("idempotency conflict in room {} without a row", new.room)
                    })?;
                Ok((earlier, Appended::Duplicate))
            }
        }
    }

    async fn messages(
        &self,
        room: &RoomId,
        query: MessageQuery,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let limit = to_i64(limit as u64);
        let select = match query {
            MessageQuery::After(after) => sqlx::query(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE room_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3"
            ))
            .bind(&room.0)
            .bind(to_i64(after))
            .bind(limit),
            MessageQuery::Before(before) => sqlx::query(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
            ))
            .bind(&room.0)
            .bind(to_i64(before))
            .bind(limit),
            MessageQuery::Since { since, before } => sqlx::query(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE room_id = $1 AND seq < $2 AND created_at >= $3
                  ORDER BY seq DESC LIMIT $4"
            ))
            .bind(&room.0)
            .bind(to_i64(before))
            .bind(since)
            .bind(limit),
            MessageQuery::Between { from, to, after } => sqlx::query(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE room_id = $1 AND created_at >= $2 AND created_at < $3
                  AND seq > $5 ORDER BY seq LIMIT $4"
            ))
            .bind(&room.0)
            .bind(from)
            .bind(to)
            .bind(limit)
            .bind(to_i64(after)),
            MessageQuery::Replies(parent) => sqlx::query(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE room_id = $1 AND reply_to = $2 ORDER BY seq LIMIT $3"
            ))
            .bind(&room.0)
            .bind(to_i64(parent))
            .bind(limit),
        };
        let rows = select.fetch_all(&self.pool).await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn first_seq(&self, room: &RoomId) -> anyhow::Result<Option<u64>> {
        let first: Option<i64> =
            sqlx::query_scalar("SELECT MIN(seq) FROM messages WHERE room_id = $1")
                .bind(&room.0)
                .fetch_one(&self.pool)
                .await?;
        Ok(first.map(to_u64))
    }

    async fn posters(&self, room: &RoomId) -> anyhow::Result<Vec<Poster>> {
        // The name is the one on the author's newest message.
        let rows = sqlx::query(
            "SELECT author,
                    (SELECT author_name FROM messages m2
                      WHERE m2.room_id = m.room_id AND m2.author = m.author
                      ORDER BY seq DESC LIMIT 1) AS name,
                    MAX(created_at) AS last_posted, COUNT(*) AS messages
             FROM messages m WHERE room_id = $1
             GROUP BY room_id, author ORDER BY MAX(seq) DESC",
        )
        .bind(&room.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Poster {
                    id: UserId(row.try_get("author")?),
                    name: row.try_get("name")?,
                    last_posted: row.try_get("last_posted")?,
                    messages: to_u64(row.try_get("messages")?),
                })
            })
            .collect()
    }

    async fn message(&self, room: &RoomId, seq: u64) -> anyhow::Result<Option<Message>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND seq = $2"
        ))
        .bind(&room.0)
        .bind(to_i64(seq))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(message_from_row).transpose()?)
    }

    async fn edit(
        &self,
        room: &RoomId,
        seq: u64,
        body: String,
        mentions: Vec<UserId>,
    ) -> anyhow::Result<Changed> {
        let mut tx = self.pool.begin().await?;
        match lock_message(&mut tx, &room.0, seq).await? {
            Current::Missing => return Ok(Changed::Missing),
            Current::Deleted => return Ok(Changed::Deleted),
            Current::Live => {}
        }
        let now: DateTime<Utc> = sqlx::query_scalar(concat!("SELECT ", now!()))
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO message_revisions (room_id, seq, body, replaced_at)
             SELECT room_id, seq, body, $3 FROM messages WHERE room_id = $1 AND seq = $2",
        )
        .bind(&room.0)
        .bind(to_i64(seq))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mentions: Vec<&str> = mentions.iter().map(|m| m.0.as_str()).collect();
        let row = sqlx::query(concat!(
            "UPDATE messages SET body = $3, mentions = $4, edited_at = $5
             WHERE room_id = $1 AND seq = $2 RETURNING ",
            message_columns!()
        ))
        .bind(&room.0)
        .bind(to_i64(seq))
        .bind(&body)
        .bind(&mentions)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let message = message_from_row(&row)?;
        tx.commit().await.context("committing an edit")?;
        Ok(Changed::Done(Box::new(message)))
    }

    async fn delete(&self, room: &RoomId, seq: u64) -> anyhow::Result<Changed> {
        let mut tx = self.pool.begin().await?;
        match lock_message(&mut tx, &room.0, seq).await? {
            Current::Missing => return Ok(Changed::Missing),
            Current::Deleted => return Ok(Changed::Deleted),
            Current::Live => {}
        }
        sqlx::query("DELETE FROM message_revisions WHERE room_id = $1 AND seq = $2")
            .bind(&room.0)
            .bind(to_i64(seq))
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(concat!(
            "UPDATE messages SET body = '', mentions = '{}', attachments = '[]', deleted_at = ",
            now!(),
            " WHERE room_id = $1 AND seq = $2 RETURNING ",
            message_columns!()
        ))
        .bind(&room.0)
        .bind(to_i64(seq))
        .fetch_one(&mut *tx)
        .await?;
        let message = message_from_row(&row)?;
        tx.commit().await.context("committing a delete")?;
        Ok(Changed::Done(Box::new(message)))
    }

    async fn revisions(&self, room: &RoomId, seq: u64) -> anyhow::Result<Vec<Revision>> {
        let rows = sqlx::query(
            "SELECT body, replaced_at FROM message_revisions
             WHERE room_id = $1 AND seq = $2 ORDER BY replaced_at, id",
        )
        .bind(&room.0)
        .bind(to_i64(seq))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Revision {
                    body: row.try_get("body")?,
                    replaced_at: row.try_get("replaced_at")?,
                })
            })
            .collect()
    }

    async fn mark_read(&self, room: &RoomId, user: &UserId, seq: u64) -> anyhow::Result<u64> {
        let mark: i64 = sqlx::query_scalar(
            "INSERT INTO members (room_id, user_id, last_read_seq) VALUES ($1, $2, $3)
             ON CONFLICT (room_id, user_id) DO UPDATE
             SET last_read_seq = GREATEST(members.last_read_seq, excluded.last_read_seq)
             RETURNING last_read_seq",
        )
        .bind(&room.0)
        .bind(&user.0)
        .bind(to_i64(seq))
        .fetch_one(&self.pool)
        .await?;
        Ok(to_u64(mark))
    }

    async fn last_read(&self, room: &RoomId, user: &UserId) -> anyhow::Result<u64> {
        let mark: Option<i64> = sqlx::query_scalar(
            "SELECT last_read_seq FROM members WHERE room_id = $1 AND user_id = $2",
        )
        .bind(&room.0)
        .bind(&user.0)
        .fetch_optional(&self.pool)
        .await?;
        Ok(mark.map(to_u64).unwrap_or(0))
    }

    async fn set_transcript(
        &self,
        room: &RoomId,
        transcript: &TranscriptRef,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO transcripts (room_id, day, path, url) VALUES ($1, $2, $3, $4)
             ON CONFLICT (room_id, day) DO UPDATE SET path = EXCLUDED.path, url = EXCLUDED.url",
        )
        .bind(&room.0)
        .bind(transcript.date)
        .bind(&transcript.path)
        .bind(&transcript.url)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn transcripts(&self, room: &RoomId) -> anyhow::Result<Vec<TranscriptRef>> {
        let rows: Vec<(NaiveDate, String, String)> = sqlx::query_as(
            "SELECT day, path, url FROM transcripts WHERE room_id = $1 ORDER BY day DESC",
        )
        .bind(&room.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(date, path, url)| TranscriptRef { date, path, url })
            .collect())
    }

    async fn transcript_parts(&self, room: &RoomId, day: NaiveDate) -> anyhow::Result<DayParts> {
        super::removal::transcript_parts(&self.pool, room, day).await
    }

    async fn swap_transcript_parts(
        &self,
        room: &RoomId,
        day: NaiveDate,
        starts: &[u64],
    ) -> anyhow::Result<DayParts> {
        super::removal::swap_transcript_parts(self, room, day, starts).await
    }

    async fn remove_page(&self, page: &PageId) -> anyhow::Result<RemovedPage> {
        super::removal::remove_page(self, page).await
    }
}

#[async_trait]
impl StoreMaintenance for PostgresStore {
    async fn rooms(&self) -> anyhow::Result<Vec<Room>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            room_columns!(),
            " FROM rooms ORDER BY created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(room_from_row).collect::<Result<_, _>>()?)
    }

    async fn prune(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        // Revisions go with their message (ON DELETE CASCADE). A room's
        // newest message (seq = last_seq) is never removed; an append that
        // commits meanwhile only makes this keep one more.
        let removed = sqlx::query(
            "DELETE FROM messages m USING rooms r
             WHERE r.id = m.room_id AND m.created_at < $1 AND m.seq < r.last_seq",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(removed.rows_affected())
    }
}
