//! The embedded default `Store`: one SQLite file in WAL mode.
//!
//! Writes go through a single writer thread that practises group commit: it
//! takes every write waiting in its queue, runs each inside its own SAVEPOINT
//! of one transaction, COMMITs once, and only then answers the callers. A
//! failing write rolls back to its savepoint without touching its neighbours.
//! So a burst of messages costs one fsync, and nothing is acknowledged before
//! the COMMIT that makes it durable has returned.
//!
//! Reads run on a small pool of read-only connections via `spawn_blocking`;
//! WAL lets them proceed while the writer commits.
//!
//! `synchronous = FULL`: a COMMIT has reached the disk when it returns, so an
//! acknowledged message survives a power loss, not just a process crash.
//!
//! Each COMMIT appends every page its group touched to the WAL: a message
//! dirties about three B-tree leaves of its room (the messages table, which
//! is clustered by room, and two per-room indexes), so busy rooms rewrite
//! the same few pages over and over. That is why there is no index on
//! `created_at`: times follow seq order within a room, so time ranges are
//! binary searches over seq (`first_seq_at`), and dropping the index took
//! 100 rooms of writers from 14,500 to 19,600 acknowledged messages a second. `wal_autocheckpoint = 10000` (about
//! 40 MB of WAL) lets many of those rewrites fold into one page write at
//! checkpoint time; the default (1,000 pages) checkpointed every few
//! milliseconds under load and cost a third of the write throughput.

use super::{Appended, Changed, FileEntry, NewMessage, Poster, Revision, Room, Store, StoredFile};
use anyhow::{anyhow, Context};
use async_trait::async_trait;
use chrono::NaiveDate;
use chrono::{DateTime, TimeZone, Utc};
use protocol::TranscriptRef;
use protocol::{Message, MessageId, PageId, RoomId, UserId};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::oneshot;

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE rooms (
    id            TEXT PRIMARY KEY,
    page_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    topic         TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL DEFAULT 0,
    last_activity INTEGER,
    UNIQUE (page_id, name)
);
CREATE TABLE messages (
    room_id       TEXT NOT NULL REFERENCES rooms(id),
    seq           INTEGER NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    author        TEXT NOT NULL,
    author_name   TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    edited_at     INTEGER,
    deleted_at    INTEGER,
    reply_to      INTEGER,
    client_msg_id TEXT,
    mentions      TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX messages_idempotency
    ON messages (room_id, author, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX messages_author ON messages (room_id, author, seq);
"#,
    r#"
CREATE TABLE message_revisions (
    room_id     TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    body        TEXT NOT NULL,
    replaced_at INTEGER NOT NULL,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq)
);
CREATE INDEX message_revisions_by_message ON message_revisions (room_id, seq);
CREATE INDEX messages_replies ON messages (room_id, reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX messages_created ON messages (room_id, created_at);
CREATE TABLE members (
    room_id       TEXT NOT NULL REFERENCES rooms(id),
    user_id       TEXT NOT NULL,
    last_read_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;
"#,
    r#"
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    room_id      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq)
);
CREATE INDEX files_by_room ON files (room_id, seq);
CREATE TABLE transcripts (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    day     TEXT NOT NULL,
    path    TEXT NOT NULL,
    url     TEXT NOT NULL,
    PRIMARY KEY (room_id, day)
) WITHOUT ROWID;
"#,
    // Times never go backwards within a room, so seq order is time order and
    // time ranges are found by binary search over seq (`first_seq_at`); the
    // index was a fourth page every message dirtied in its room.
    r#"
DROP INDEX IF EXISTS messages_created;
"#,
];

/// Most writes folded into one transaction.
const MAX_GROUP: usize = 512;
/// Read connections kept open between requests.
const READ_POOL: usize = 4;

/// A write waiting for the writer thread.
trait WriteJob: Send {
    /// Runs the write inside a savepoint. Returns whether it succeeded and the
    /// callback that answers the caller once the COMMIT outcome is known.
    fn run(self: Box<Self>, conn: &Connection) -> (bool, CommitReply);
    /// Answers the caller without running the write.
    fn abort(self: Box<Self>, why: String);
}

type CommitReply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A closure and the channel its caller waits on.
struct Job<F, R> {
    write: F,
    reply: oneshot::Sender<anyhow::Result<R>>,
}

impl<F, R> WriteJob for Job<F, R>
where
    R: Send + 'static,
    F: FnOnce(&Connection) -> anyhow::Result<R> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &Connection) -> (bool, CommitReply) {
        let Job { write, reply } = *self;
        let result = write(conn);
        let ok = result.is_ok();
        let answer: CommitReply = Box::new(move |commit| {
            let outcome = match commit {
                Ok(()) => result,
                Err(e) => Err(anyhow!("commit failed: {e}")),
            };
            // The caller may have gone away (request cancelled): fine.
            let _ = reply.send(outcome);
        });
        (ok, answer)
    }

    fn abort(self: Box<Self>, why: String) {
        let _ = self.reply.send(Err(anyhow!(why)));
    }
}

/// SQLite-backed [`Store`]. Cheap to share behind an `Arc`.
pub struct SqliteStore {
    path: PathBuf,
    jobs: mpsc::Sender<Box<dyn WriteJob>>,
    /// Idle read connections. A std Mutex is fine: it is held only to push or
    /// pop a connection, never across an `.await`.
    readers: Arc<Mutex<Vec<Connection>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating directory {}", dir.display()))?;
        }
        let mut conn = Connection::open(path)
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA wal_autocheckpoint = 10000;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )?;
        migrate(&mut conn)?;

        let (jobs, queue) = mpsc::channel::<Box<dyn WriteJob>>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(conn, queue))
            .context("starting the SQLite writer thread")?;

        Ok(Self {
            path: path.to_owned(),
            jobs,
            readers: Arc::new(Mutex::new(Vec::new())),
        })
    }

    /// Runs `f` on the writer thread inside one savepoint of a group commit and
    /// returns its result after COMMIT.
    async fn write<R, F>(&self, f: F) -> anyhow::Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<R> + Send + 'static,
    {
        committed(self.queue(f)).await
    }

    /// Hands `f` to the writer thread now; the receiver answers after its
    /// COMMIT. Writes run in the order they were queued.
    fn queue<R, F>(&self, f: F) -> anyhow::Result<oneshot::Receiver<anyhow::Result<R>>>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<R> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(Job { write: f, reply }))
            .map_err(|_| anyhow!("the SQLite writer thread has stopped"))?;
        Ok(rx)
    }

    /// Runs `f` on a pooled read connection off the async runtime.
    async fn read<R, F>(&self, f: F) -> anyhow::Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<R> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_reader(&path)?,
            };
            let result = f(&conn);
            let mut idle = readers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if idle.len() < READ_POOL {
                idle.push(conn);
            }
            result
        })
        .await
        .context("read task panicked")?
    }
}

fn open_reader(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening {} for reading", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let applied: usize = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("applying chat schema migration {}", index + 1))?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The writer thread: group commit until every `SqliteStore` handle is gone.
fn run_writer(conn: Connection, queue: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }

        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let message = format!("could not begin a transaction: {e}");
            tracing::error!(%message);
            for job in batch {
                job.abort(message.clone());
            }
            continue;
        }

        let mut replies = Vec::with_capacity(batch.len());
        for job in batch {
            let savepoint = run_cached(&conn, "SAVEPOINT job");
            let (ok, reply) = job.run(&conn);
            if savepoint.is_ok() {
                let end = if ok {
                    run_cached(&conn, "RELEASE job")
                } else {
                    conn.execute_batch("ROLLBACK TO job; RELEASE job")
                };
                if let Err(e) = end {
                    tracing::error!(error = %e, "ending a write savepoint failed");
                }
            }
            replies.push(reply);
        }

        let commit = conn.execute_batch("COMMIT").map_err(|e| {
            tracing::error!(error = %e, "group commit failed; rolling back");
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        });
        for reply in replies {
            reply(commit.clone());
        }
    }
}

/// Waits for a queued write's answer (sent after its COMMIT).
async fn committed<R>(
    queued: anyhow::Result<oneshot::Receiver<anyhow::Result<R>>>,
) -> anyhow::Result<R> {
    queued?
        .await
        .map_err(|_| anyhow!("the SQLite writer dropped a write"))?
}

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

/// Runs a statement without parameters from the connection's statement cache.
fn run_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

const ROOM_COLUMNS: &str =
    "id, page_id, name, topic, created_by, created_at, last_seq, last_activity";

fn room_from_row(row: &Row<'_>) -> rusqlite::Result<Room> {
    Ok(Room {
        id: RoomId(row.get(0)?),
        page: PageId(row.get(1)?),
        name: row.get(2)?,
        topic: row.get(3)?,
        created_by: UserId(row.get(4)?),
        created_at: from_millis(row.get(5)?),
        last_seq: row.get::<_, i64>(6)?.max(0) as u64,
        last_activity: row.get::<_, Option<i64>>(7)?.map(from_millis),
    })
}

const MESSAGE_COLUMNS: &str = "id, room_id, seq, author, author_name, body, created_at, \
     edited_at, deleted_at, reply_to, client_msg_id, mentions, attachments";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let mentions: String = row.get(11)?;
    Ok(Message {
        id: MessageId(row.get(0)?),
        room: RoomId(row.get(1)?),
        seq: row.get::<_, i64>(2)?.max(0) as u64,
        author: UserId(row.get(3)?),
        author_name: row.get(4)?,
        body: row.get(5)?,
        html: String::new(),
        created_at: from_millis(row.get(6)?),
        edited_at: row.get::<_, Option<i64>>(7)?.map(from_millis),
        deleted_at: row.get::<_, Option<i64>>(8)?.map(from_millis),
        reply_to: row.get::<_, Option<i64>>(9)?.map(|s| s.max(0) as u64),
        client_msg_id: row.get(10)?,
        mentions: serde_json::from_str(&mentions).unwrap_or_default(),
        attachments: serde_json::from_str(&row.get::<_, String>(12)?).unwrap_or_default(),
    })
}

fn stored_file_from_row(row: &Row<'_>) -> rusqlite::Result<StoredFile> {
    Ok(StoredFile {
        id: row.get(0)?,
        name: row.get(1)?,
        size: row.get::<_, i64>(2)?.max(0) as u64,
        content_type: row.get(3)?,
        sha256: row.get(4)?,
    })
}

fn find_message(conn: &Connection, room: &str, seq: u64) -> rusqlite::Result<Option<Message>> {
    conn.query_row(
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE room_id = ?1 AND seq = ?2"),
        params![room, seq as i64],
        message_from_row,
    )
    .optional()
}

/// Runs a prepared message query and collects the rows.
fn collect_messages(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<Message>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, message_from_row)?;
    rows.collect()
}

/// How far outside the binary-searched seq bounds time-range reads still
/// look, filtering by time: messages stored before `append` kept times from
/// going backwards may be a little out of order.
const TIME_ORDER_SLACK: i64 = 1_000;

/// The first seq of `room` stamped at or after `at_ms` (one past the last
/// message if none is). `append` never stamps a message earlier than the
/// room's previous one, so times follow seq order and this is a binary
/// search of point lookups on the primary key: about twenty for a million
/// messages, and no index on `created_at` for every write to update.
fn first_seq_at(conn: &Connection, room: &str, at_ms: i64) -> rusqlite::Result<i64> {
    // Invariant: seqs below `low` are earlier than `at_ms`; `high` and above
    // are not (`high` starts one past the last message).
    let (mut low, mut high): (i64, i64) = conn
        .prepare_cached(
            "SELECT COALESCE(MIN(seq), 1), COALESCE(MAX(seq), 0) + 1
             FROM messages WHERE room_id = ?1",
        )?
        .query_row([room], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let mut probe = conn.prepare_cached(
        "SELECT created_at FROM messages WHERE room_id = ?1 AND seq >= ?2 ORDER BY seq LIMIT 1",
    )?;
    while low < high {
        let middle = low + (high - low) / 2;
        let at: Option<i64> = probe
            .query_row(params![room, middle], |row| row.get(0))
            .optional()?;
        match at {
            Some(at) if at < at_ms => low = middle + 1,
            _ => high = middle,
        }
    }
    Ok(low)
}

fn find_room(conn: &Connection, id: &str) -> rusqlite::Result<Option<Room>> {
    conn.query_row(
        &format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE id = ?1"),
        [id],
        room_from_row,
    )
    .optional()
}

/// A new random room id: 16 lowercase hex digits (64 random bits).
fn new_room_id() -> RoomId {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    RoomId(simple[..16].to_owned())
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

    async fn messages_after(
        &self,
        room: &RoomId,
        after: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let room = room.0.clone();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE room_id = ?1 AND seq > ?2 ORDER BY seq ASC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                params![room, after.min(i64::MAX as u64) as i64, limit as i64],
                message_from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn messages_before(
        &self,
        room: &RoomId,
        before: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let room = room.0.clone();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE room_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                params![room, before.min(i64::MAX as u64) as i64, limit as i64],
                message_from_row,
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
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

    async fn replies(
        &self,
        room: &RoomId,
        parent: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let room = room.0.clone();
        self.read(move |conn| {
            Ok(collect_messages(
                conn,
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE room_id = ?1 AND reply_to = ?2 ORDER BY seq LIMIT ?3"
                ),
                params![room, parent as i64, limit as i64],
            )?)
        })
        .await
    }

    async fn messages_since(
        &self,
        room: &RoomId,
        since: DateTime<Utc>,
        before: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let room = room.0.clone();
        let before = i64::try_from(before).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let from = first_seq_at(conn, &room, millis(since))? - TIME_ORDER_SLACK;
            Ok(collect_messages(
                conn,
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE room_id = ?1 AND seq >= ?2 AND seq < ?3 AND created_at >= ?4
                     ORDER BY seq DESC LIMIT ?5"
                ),
                params![room, from, before, millis(since), limit as i64],
            )?)
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

    async fn prune(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        let before = millis(before);
        self.write(move |conn| {
            let doomed = "FROM messages WHERE created_at < ?1
                 AND seq < (SELECT last_seq FROM rooms WHERE rooms.id = messages.room_id)";
            conn.execute(
                &format!(
                    "DELETE FROM message_revisions WHERE (room_id, seq) IN
                     (SELECT room_id, seq {doomed})"
                ),
                [before],
            )?;
            let removed = conn.execute(&format!("DELETE {doomed}"), [before])?;
            Ok(removed as u64)
        })
        .await
    }

    async fn messages_between(
        &self,
        room: &RoomId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let room = room.0.clone();
        self.read(move |conn| {
            let (from, to) = (millis(from), millis(to));
            let first = first_seq_at(conn, &room, from)? - TIME_ORDER_SLACK;
            let end = first_seq_at(conn, &room, to)? + TIME_ORDER_SLACK;
            Ok(collect_messages(
                conn,
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE room_id = ?1 AND seq >= ?2 AND seq < ?3
                       AND created_at >= ?4 AND created_at < ?5
                     ORDER BY seq LIMIT ?6"
                ),
                params![room, first, end, from, to, limit as i64],
            )?)
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
}
