//! The multi-node `Store`: PostgreSQL, shared by every `backchannel` node.
//!
//! Same semantics as [`SqliteStore`](super::SqliteStore), method for method;
//! `store::suite` runs one test suite against both.
//!
//! # Why the seq stays gapless and ordered across nodes
//! [`append`](Store::append) assigns the seq with
//! `UPDATE rooms SET last_seq = last_seq + 1 … RETURNING last_seq` inside the
//! transaction that inserts the message. The UPDATE row-locks the room until
//! COMMIT or ROLLBACK, so appends to one room are serialised whichever node
//! runs them: the next writer waits for the lock and, under READ COMMITTED,
//! then reads the committed counter. A rolled-back append rolls its increment
//! back too (no gap), and seq order is commit order, so a reader that sees
//! seq `n` committed can always read `1..n` from the store too (what
//! `feed`'s gap refill relies on). Appends to different rooms do not contend.
//! The message's `created_at` is the posting node's clock reading
//! ([`NewMessage::created_at`]), raised to the room's `last_activity` under
//! that lock if it is earlier, so time order follows seq order in a room
//! even when node clocks disagree (a node running behind stamps its message
//! with the previous one's time rather than an earlier one). The nodes'
//! clocks are the chat's clock, not the database's, so that day boundaries
//! and message times come from one [`Clock`](crate::clock::Clock).
//!
//! # Idempotency under a race
//! A unique index on (room, author, client_msg_id) backs the key. An append
//! first looks the key up (the cheap retry path); if two nodes race past
//! that, the second one's insert meets the first one's row
//! (`ON CONFLICT … DO NOTHING` returns nothing), so it rolls back, taking its
//! seq increment with it, and answers with the committed row as
//! [`Appended::Duplicate`].
//!
//! # What is acknowledged when
//! Every write method returns only after its COMMIT has returned (PostgreSQL's
//! default `synchronous_commit = on`: the WAL is flushed), so a message the
//! caller acknowledges survives a crash of the database server.
//!
//! # Schemas
//! [`PostgresStore::connect`] uses the connection's default `search_path`;
//! [`PostgresStore::connect_with_schema`] creates a schema and points every
//! pooled connection at it (a startup parameter, so there is no window where a
//! connection uses another schema). Tests use a fresh schema each. Migrations
//! are embedded SQL, versioned by sqlx's migrator in `_sqlx_migrations` of
//! that schema, behind an advisory lock so nodes starting together migrate
//! once.

use super::{Appended, Changed, FileEntry, NewMessage, Poster, Revision, Room, Store, StoredFile};
use anyhow::{anyhow, bail, Context};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use futures_util::future::BoxFuture;
use protocol::{Message, MessageId, PageId, RoomId, TranscriptRef, UserId};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Executor, PgConnection, Row};
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

/// Schema versions, applied in order; sqlx records each by its number.
/// Never edit one that has shipped: add the next.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "chat schema",
        r#"
CREATE TABLE rooms (
    id            TEXT PRIMARY KEY,
    page_id       TEXT NOT NULL,
    name          TEXT NOT NULL,
    topic         TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seq      BIGINT NOT NULL DEFAULT 0,
    last_activity TIMESTAMPTZ,
    UNIQUE (page_id, name)
);
CREATE TABLE messages (
    room_id       TEXT NOT NULL REFERENCES rooms (id),
    seq           BIGINT NOT NULL,
    id            TEXT NOT NULL UNIQUE,
    author        TEXT NOT NULL,
    author_name   TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    edited_at     TIMESTAMPTZ,
    deleted_at    TIMESTAMPTZ,
    reply_to      BIGINT,
    client_msg_id TEXT,
    mentions      TEXT[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (room_id, seq)
);
CREATE UNIQUE INDEX messages_idempotency
    ON messages (room_id, author, client_msg_id) WHERE client_msg_id IS NOT NULL;
CREATE INDEX messages_author ON messages (room_id, author, seq);
CREATE INDEX messages_replies ON messages (room_id, reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX messages_created ON messages (room_id, created_at);
CREATE INDEX messages_created_all ON messages (created_at);
CREATE TABLE message_revisions (
    id          BIGSERIAL PRIMARY KEY,
    room_id     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    body        TEXT NOT NULL,
    replaced_at TIMESTAMPTZ NOT NULL,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);
CREATE INDEX message_revisions_by_message ON message_revisions (room_id, seq);
CREATE TABLE members (
    room_id       TEXT NOT NULL REFERENCES rooms (id),
    user_id       TEXT NOT NULL,
    last_read_seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);
"#,
    ),
    (
        2,
        "transcripts",
        r#"
CREATE TABLE transcripts (
    room_id TEXT NOT NULL REFERENCES rooms (id),
    day     DATE NOT NULL,
    path    TEXT NOT NULL,
    url     TEXT NOT NULL,
    PRIMARY KEY (room_id, day)
);
"#,
    ),
    (
        3,
        "files",
        r#"
ALTER TABLE messages ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    room_id      TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT,
    FOREIGN KEY (room_id, seq) REFERENCES messages (room_id, seq) ON DELETE CASCADE
);
CREATE INDEX files_by_room ON files (room_id, seq);
"#,
    ),
];

/// Pooled connections per node.
const MAX_CONNECTIONS: u32 = 16;
/// How long a caller waits for a pooled connection (or a first connect).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The database's clock (one clock for every node), at the millisecond
/// precision SQLite stores, so both stores hand out identical timestamps.
macro_rules! now {
    () => {
        "date_trunc('milliseconds', clock_timestamp())"
    };
}

/// The message columns in [`message_from_row`]'s order, as a literal so
/// queries can be built with `concat!` and stay `&'static str`.
macro_rules! message_columns {
    () => {
        "id, room_id, seq, author, author_name, body, created_at, \
         edited_at, deleted_at, reply_to, client_msg_id, mentions, attachments"
    };
}

macro_rules! room_columns {
    () => {
        "id, page_id, name, topic, created_by, created_at, last_seq, last_activity"
    };
}

/// PostgreSQL-backed [`Store`]. Cheap to share behind an `Arc`; the pool
/// inside is already shared.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (e.g. `postgres://user@host/db`) and migrates the
    /// schema the connection's `search_path` selects (normally `public`).
    /// sqlx records versions in that schema's `_sqlx_migrations`, so if
    /// anything else migrates the same schema with sqlx, give the chat its
    /// own with [`connect_with_schema`](Self::connect_with_schema).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
        Self::open(options).await
    }

    /// Like [`connect`](Self::connect), but keeps every table in `schema`
    /// (created if missing; lowercase letters, digits and `_`).
    pub async fn connect_with_schema(url: &str, schema: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("parsing the PostgreSQL URL")?;
        ensure_schema(&options, schema).await?;
        Self::open(options.options([("search_path", schema)])).await
    }

    async fn open(options: PgConnectOptions) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .context("connecting to PostgreSQL")?;
        let migrator = Migrator::new(Embedded)
            .await
            .context("loading the chat schema migrations")?;
        migrator
            .run(&pool)
            .await
            .context("migrating the chat schema")?;
        Ok(Self { pool })
    }

    /// The connection pool, for the SQLite-to-PostgreSQL copy.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The message `author` sent with idempotency key `key`, if any.
    async fn by_key(&self, room: &str, author: &str, key: &str) -> anyhow::Result<Option<Message>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND author = $2 AND client_msg_id = $3"
        ))
        .bind(room)
        .bind(author)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(message_from_row).transpose()?)
    }

    async fn messages(
        &self,
        sql: &'static str,
        room: &RoomId,
        cursor: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let rows = sqlx::query(sql)
            .bind(&room.0)
            .bind(to_i64(cursor))
            .bind(to_i64(limit as u64))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }
}

/// Creates `schema` unless it exists. Its name goes into SQL unquoted, so
/// only lowercase letters, digits and `_` (at most 63) are accepted. The
/// wiki's PostgreSQL store keeps its tables the same way.
pub async fn ensure_schema(options: &PgConnectOptions, schema: &str) -> anyhow::Result<()> {
    check_schema_name(schema)?;
    let mut conn = PgConnection::connect_with(options)
        .await
        .context("connecting to PostgreSQL")?;
    // Asking first keeps "already exists" notices out of every start's log.
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(schema)
            .fetch_one(&mut conn)
            .await
            .with_context(|| format!("looking for schema {schema}"))?;
    if !exists {
        let created = conn
            .execute(format!("CREATE SCHEMA IF NOT EXISTS {schema}").as_str())
            .await;
        // Two nodes creating the schema at once: one of them gets a
        // duplicate error although the schema now exists, which is fine.
        if let Err(e) = created {
            let duplicate = e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|code| code == "42P06" || code == "23505");
            if !duplicate {
                return Err(e).with_context(|| format!("creating schema {schema}"));
            }
        }
    }
    conn.close().await.ok();
    Ok(())
}

/// Schema names go into SQL unquoted, so only the plainest are accepted.
fn check_schema_name(schema: &str) -> anyhow::Result<()> {
    let mut chars = schema.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63;
    if !plain {
        bail!("schema name {schema:?} must be lowercase letters, digits and _ (at most 63)");
    }
    Ok(())
}

/// [`MIGRATIONS`] as sqlx's migrator wants them.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Seqs and limits are u64 in the API and BIGINT in the table.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    n.max(0) as u64
}

fn room_from_row(row: &PgRow) -> Result<Room, sqlx::Error> {
    Ok(Room {
        id: RoomId(row.try_get("id")?),
        page: PageId(row.try_get("page_id")?),
        name: row.try_get("name")?,
        topic: row.try_get("topic")?,
        created_by: UserId(row.try_get("created_by")?),
        created_at: row.try_get("created_at")?,
        last_seq: to_u64(row.try_get("last_seq")?),
        last_activity: row.try_get("last_activity")?,
    })
}

fn message_from_row(row: &PgRow) -> Result<Message, sqlx::Error> {
    let mentions: Vec<String> = row.try_get("mentions")?;
    Ok(Message {
        id: MessageId(row.try_get("id")?),
        room: RoomId(row.try_get("room_id")?),
        seq: to_u64(row.try_get("seq")?),
        author: UserId(row.try_get("author")?),
        author_name: row.try_get("author_name")?,
        body: row.try_get("body")?,
        html: String::new(),
        created_at: row.try_get("created_at")?,
        edited_at: row.try_get("edited_at")?,
        deleted_at: row.try_get("deleted_at")?,
        reply_to: row.try_get::<Option<i64>, _>("reply_to")?.map(to_u64),
        client_msg_id: row.try_get("client_msg_id")?,
        mentions: mentions.into_iter().map(UserId).collect(),
        attachments: serde_json::from_str(&row.try_get::<String, _>("attachments")?)
            .unwrap_or_default(),
    })
}

fn stored_file_from_row(row: &PgRow) -> Result<StoredFile, sqlx::Error> {
    Ok(StoredFile {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        size: to_u64(row.try_get("size")?),
        content_type: row.try_get("content_type")?,
        sha256: row.try_get("sha256")?,
    })
}

/// A new random room id: 16 lowercase hex digits (64 random bits).
fn new_room_id() -> RoomId {
    let simple = uuid::Uuid::new_v4().simple().to_string();
    RoomId(simple[..16].to_owned())
}

/// What a locked message looks like before an edit or delete.
enum Current {
    Missing,
    Deleted,
    Live,
}

/// Locks message `seq` of `room` for the rest of `tx`.
async fn lock_message(tx: &mut PgConnection, room: &str, seq: u64) -> anyhow::Result<Current> {
    let row =
        sqlx::query("SELECT deleted_at FROM messages WHERE room_id = $1 AND seq = $2 FOR UPDATE")
            .bind(room)
            .bind(to_i64(seq))
            .fetch_optional(tx)
            .await?;
    Ok(match row {
        None => Current::Missing,
        Some(row) if row.try_get::<Option<DateTime<Utc>>, _>(0)?.is_some() => Current::Deleted,
        Some(_) => Current::Live,
    })
}

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

    async fn messages_after(
        &self,
        room: &RoomId,
        after: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        self.messages(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE room_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3"
            ),
            room,
            after,
            limit,
        )
        .await
    }

    async fn messages_before(
        &self,
        room: &RoomId,
        before: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        self.messages(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE room_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
            ),
            room,
            before,
            limit,
        )
        .await
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

    async fn replies(
        &self,
        room: &RoomId,
        parent: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        self.messages(
            concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE room_id = $1 AND reply_to = $2 ORDER BY seq LIMIT $3"
            ),
            room,
            parent,
            limit,
        )
        .await
    }

    async fn messages_since(
        &self,
        room: &RoomId,
        since: DateTime<Utc>,
        before: u64,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND seq < $2 AND created_at >= $3
              ORDER BY seq DESC LIMIT $4"
        ))
        .bind(&room.0)
        .bind(to_i64(before))
        .bind(since)
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
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

    async fn messages_between(
        &self,
        room: &RoomId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<Message>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE room_id = $1 AND created_at >= $2 AND created_at < $3
              ORDER BY seq LIMIT $4"
        ))
        .bind(&room.0)
        .bind(from)
        .bind(to)
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
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
}
