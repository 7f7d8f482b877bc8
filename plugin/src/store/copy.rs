//! Copying a single-node chat database (SQLite) into PostgreSQL, the chat's
//! half of `backchannel migrate`.
//!
//! The copy is row for row, table by table, not through the [`Store`]
//! trait: ids, seqs, timestamps, revisions, tombstones and read marks must
//! arrive exactly as they were, which appending would not preserve. The two
//! schemas are the same tables with native types on each side (SQLite keeps
//! times as Unix milliseconds and mentions as JSON; PostgreSQL as
//! `timestamptz` and `text[]`), converted here.
//!
//! Everything goes in one PostgreSQL transaction, so an interrupted copy
//! leaves the target as it was. The target must hold no chat data yet: a
//! merge of two histories is not a migration. Reading uses one read-only
//! SQLite connection; the source may stay in use, though messages posted
//! after the copy started are not part of it (stop the server first for a
//! final copy).
//!
//! [`Store`]: super::Store

use super::PostgresStore;
use anyhow::{bail, Context as _};
use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use rusqlite::{Connection, OpenFlags};
use sqlx::{Postgres, QueryBuilder};
use std::path::Path;

/// Rows per read from SQLite and per INSERT into PostgreSQL (13 columns ×
/// 1,000 rows stays well below PostgreSQL's 65,535 bind parameters).
const BATCH: i64 = 1_000;

/// The chat's tables in copy order (parents before children).
pub const TABLES: [&str; 6] = [
    "rooms",
    "messages",
    "message_revisions",
    "members",
    "files",
    "transcripts",
];

/// How many rows of each table were copied (and verified), in [`TABLES`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied(pub Vec<(&'static str, u64)>);

/// Progress as the copy goes: the table, rows done, rows in all.
pub type Progress<'a> = &'a (dyn Fn(&'static str, u64, u64) + Sync);

/// Copies the chat database at `sqlite` into `target` (migrated, empty),
/// then checks that every table holds as many rows as the source.
pub async fn sqlite_to_postgres(
    sqlite: &Path,
    target: &PostgresStore,
    progress: Progress<'_>,
) -> anyhow::Result<Copied> {
    if !sqlite.exists() {
        bail!("{} does not exist", sqlite.display());
    }
    let conn = Connection::open_with_flags(sqlite, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", sqlite.display()))?;
    let mut tx = target.pool().begin().await?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM rooms")
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        bail!("the PostgreSQL database already holds {existing} chat rooms; migrate into an empty database");
    }

    // A reader thread streams every table, batch by batch, while this task
    // writes; the bounded channel keeps memory flat on big histories.
    let (sender, mut batches) = tokio::sync::mpsc::channel(4);
    let reader = tokio::task::spawn_blocking(move || read_all(conn, &sender));

    let mut copied: Vec<(&'static str, u64)> = Vec::new();
    let mut done = 0;
    while let Some(batch) = batches.recv().await {
        match batch {
            Batch::Table(table, total) => {
                copied.push((table, total));
                done = 0;
                progress(table, 0, total);
            }
            Batch::Rows(table, rows) => {
                let n = rows.len() as u64;
                insert(&mut tx, table, rows).await?;
                done += n;
                let total = copied.last().map_or(done, |(_, total)| *total);
                progress(table, done, total);
            }
        }
    }
    reader.await.context("the SQLite reader panicked")??;

    // The revisions' serial continues after the copied rows.
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('message_revisions', 'id'),
                       COALESCE((SELECT max(id) FROM message_revisions), 0) + 1, false)",
    )
    .execute(&mut *tx)
    .await?;

    for (table, expected) in &copied {
        let found: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await?;
        if found as u64 != *expected {
            bail!("{table}: SQLite has {expected} rows but PostgreSQL counts {found}; nothing was committed");
        }
    }
    tx.commit().await.context("committing the copy")?;
    Ok(Copied(copied))
}

/// What the reader thread sends: a table's row count, then its rows.
enum Batch {
    Table(&'static str, u64),
    Rows(&'static str, Vec<Row>),
}

/// Reads every table inside one read transaction (one consistent snapshot)
/// and sends it in batches of [`BATCH`]. Stops early if the writer is gone.
fn read_all(mut conn: Connection, sender: &tokio::sync::mpsc::Sender<Batch>) -> anyhow::Result<()> {
    let snapshot = conn.transaction()?;
    for table in TABLES {
        let total: i64 =
            snapshot.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        if sender
            .blocking_send(Batch::Table(table, total as u64))
            .is_err()
        {
            return Ok(());
        }
        let mut statement = snapshot.prepare(select(table))?;
        let mut rows = statement.query([])?;
        let mut batch = Vec::new();
        while let Some(row) = rows.next()? {
            batch.push(convert(table, row)?);
            if batch.len() as i64 == BATCH {
                let full = std::mem::take(&mut batch);
                if sender.blocking_send(Batch::Rows(table, full)).is_err() {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() && sender.blocking_send(Batch::Rows(table, batch)).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// One row, as values PostgreSQL takes.
enum Value {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Time(DateTime<Utc>),
    OptTime(Option<DateTime<Utc>>),
    TextArray(Vec<String>),
    Date(NaiveDate),
}

type Row = Vec<Value>;

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The SELECT reading all of `table` in primary-key order.
fn select(table: &str) -> &'static str {
    match table {
        "rooms" => {
            "SELECT id, page_id, name, topic, created_by, created_at, last_seq, last_activity
                    FROM rooms ORDER BY id"
        }
        "messages" => {
            "SELECT room_id, seq, id, author, author_name, body, created_at, edited_at,
                              deleted_at, reply_to, client_msg_id, mentions, attachments
                       FROM messages ORDER BY room_id, seq"
        }
        "message_revisions" => {
            "SELECT rowid, room_id, seq, body, replaced_at
                                FROM message_revisions ORDER BY rowid"
        }
        "members" => {
            "SELECT room_id, user_id, last_read_seq FROM members ORDER BY room_id, user_id"
        }
        "files" => {
            "SELECT id, room_id, seq, sha256, name, size, content_type FROM files ORDER BY id"
        }
        _ => "SELECT room_id, day, path, url FROM transcripts ORDER BY room_id, day",
    }
}

/// One SQLite row of `table` as PostgreSQL values.
fn convert(table: &str, r: &rusqlite::Row<'_>) -> anyhow::Result<Row> {
    use Value::*;
    Ok(match table {
        "rooms" => vec![
            Text(r.get(0)?),
            Text(r.get(1)?),
            Text(r.get(2)?),
            Text(r.get(3)?),
            Text(r.get(4)?),
            Time(time(r.get(5)?)),
            Int(r.get(6)?),
            OptTime(r.get::<_, Option<i64>>(7)?.map(time)),
        ],
        "messages" => {
            let mentions: String = r.get(11)?;
            vec![
                Text(r.get(0)?),
                Int(r.get(1)?),
                Text(r.get(2)?),
                Text(r.get(3)?),
                Text(r.get(4)?),
                Text(r.get(5)?),
                Time(time(r.get(6)?)),
                OptTime(r.get::<_, Option<i64>>(7)?.map(time)),
                OptTime(r.get::<_, Option<i64>>(8)?.map(time)),
                OptInt(r.get(9)?),
                OptText(r.get(10)?),
                TextArray(serde_json::from_str(&mentions).unwrap_or_default()),
                Text(r.get(12)?),
            ]
        }
        "message_revisions" => vec![
            Int(r.get(0)?),
            Text(r.get(1)?),
            Int(r.get(2)?),
            Text(r.get(3)?),
            Time(time(r.get(4)?)),
        ],
        "members" => vec![Text(r.get(0)?), Text(r.get(1)?), Int(r.get(2)?)],
        "files" => vec![
            Text(r.get(0)?),
            Text(r.get(1)?),
            Int(r.get(2)?),
            Text(r.get(3)?),
            Text(r.get(4)?),
            Int(r.get(5)?),
            OptText(r.get(6)?),
        ],
        _ => {
            let day: String = r.get(1)?;
            vec![
                Text(r.get(0)?),
                Date(
                    NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                        .with_context(|| format!("transcript day {day:?}"))?,
                ),
                Text(r.get(2)?),
                Text(r.get(3)?),
            ]
        }
    })
}

/// The PostgreSQL columns of `table`, in the order [`select`] reads them.
fn columns(table: &str) -> &'static str {
    match table {
        "rooms" => "id, page_id, name, topic, created_by, created_at, last_seq, last_activity",
        "messages" => {
            "room_id, seq, id, author, author_name, body, created_at, edited_at, \
                       deleted_at, reply_to, client_msg_id, mentions, attachments"
        }
        "message_revisions" => "id, room_id, seq, body, replaced_at",
        "members" => "room_id, user_id, last_read_seq",
        "files" => "id, room_id, seq, sha256, name, size, content_type",
        _ => "room_id, day, path, url",
    }
}

async fn insert(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    table: &str,
    rows: Vec<Row>,
) -> anyhow::Result<()> {
    let mut query: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("INSERT INTO {table} ({}) ", columns(table)));
    query.push_values(rows, |mut b, row| {
        for value in row {
            match value {
                Value::Text(v) => b.push_bind(v),
                Value::OptText(v) => b.push_bind(v),
                Value::Int(v) => b.push_bind(v),
                Value::OptInt(v) => b.push_bind(v),
                Value::Time(v) => b.push_bind(v),
                Value::OptTime(v) => b.push_bind(v),
                Value::TextArray(v) => b.push_bind(v),
                Value::Date(v) => b.push_bind(v),
            };
        }
    });
    query
        .build()
        .execute(&mut **tx)
        .await
        .with_context(|| format!("copying rows into {table}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::suite::service_missing;
    use crate::store::{NewMessage, SqliteStore, Store, StoredFile};
    use protocol::{PageId, TranscriptRef, UserId};
    use sqlx::{Connection as _, Executor as _, PgConnection};

    fn said(room: &protocol::RoomId, i: usize, files: Vec<StoredFile>) -> NewMessage {
        NewMessage {
            room: room.clone(),
            created_at: Utc::now(),
            author: UserId::new(if i % 2 == 0 { "alice" } else { "bob" }),
            author_name: "Someone".into(),
            body: format!("message {i} with **markdown**"),
            client_msg_id: format!("k{i}"),
            reply_to: (i > 3).then_some(1),
            mentions: vec![UserId::new("carol")],
            files,
        }
    }

    /// Rooms, messages with replies, mentions and files, an edit with its
    /// revision, a tombstone, read marks and transcripts: all copied,
    /// equal through the `Store` trait, and the copy refuses to run twice.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_populated_sqlite_database_arrives_whole() {
        let url = std::env::var("BACKCHANNEL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let Ok(Ok(mut admin)) = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            PgConnection::connect(&url),
        )
        .await
        else {
            return service_missing(
                "sqlite-to-postgres copy",
                &format!("PostgreSQL at {url} is unreachable"),
            );
        };

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        let sqlite = SqliteStore::open(&path).unwrap();
        let mut rooms = Vec::new();
        for name in ["Lobby", "Planning"] {
            let room = sqlite
                .ensure_room(&PageId::new("7"), name, &UserId::new("alice"))
                .await
                .unwrap();
            for i in 0..25 {
                let files = if i == 2 {
                    vec![StoredFile {
                        id: format!("f-{name}"),
                        name: "notes.txt".into(),
                        size: 12,
                        content_type: Some("text/plain".into()),
                        sha256: "ab".repeat(32),
                    }]
                } else {
                    Vec::new()
                };
                sqlite.append(said(&room.id, i, files)).await.unwrap();
            }
            sqlite
                .edit(&room.id, 3, "edited".into(), Vec::new())
                .await
                .unwrap();
            sqlite.delete(&room.id, 5).await.unwrap();
            sqlite
                .mark_read(&room.id, &UserId::new("bob"), 20)
                .await
                .unwrap();
            let transcript = TranscriptRef {
                date: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                path: format!("Welcome/Chat/{name}/2026-11-30"),
                url: format!("/pages/Welcome/Chat/{name}/2026-11-30"),
            };
            sqlite.set_transcript(&room.id, &transcript).await.unwrap();
            rooms.push(room.id);
        }

        let schema = format!("backchannel_copy_{}", uuid::Uuid::new_v4().simple());
        let pg = PostgresStore::connect_with_schema(&url, &schema)
            .await
            .unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let copied = sqlite_to_postgres(&path, &pg, &|table, done, total| {
            seen.lock().unwrap().push((table, done, total));
        })
        .await;
        let second = sqlite_to_postgres(&path, &pg, &|_, _, _| {}).await;

        // Compare before dropping the schema, but drop it whatever happens.
        let compared = async {
            let copied = copied.unwrap();
            assert_eq!(
                copied.0,
                vec![
                    ("rooms", 2),
                    ("messages", 50),
                    ("message_revisions", 2),
                    ("members", 2),
                    ("files", 2),
                    ("transcripts", 2),
                ]
            );
            assert!(
                seen.lock().unwrap().contains(&("messages", 50, 50)),
                "progress reaches the end"
            );
            let mut before = sqlite.rooms().await.unwrap();
            let mut after = pg.rooms().await.unwrap();
            before.sort_by(|a, b| a.id.0.cmp(&b.id.0));
            after.sort_by(|a, b| a.id.0.cmp(&b.id.0));
            assert_eq!(before, after);
            for room in &rooms {
                assert_eq!(
                    sqlite.messages_after(room, 0, 100).await.unwrap(),
                    pg.messages_after(room, 0, 100).await.unwrap()
                );
                assert_eq!(
                    sqlite.revisions(room, 3).await.unwrap(),
                    pg.revisions(room, 3).await.unwrap()
                );
                let bob = UserId::new("bob");
                assert_eq!(pg.last_read(room, &bob).await.unwrap(), 20);
                assert_eq!(
                    sqlite.transcripts(room).await.unwrap(),
                    pg.transcripts(room).await.unwrap()
                );
                assert_eq!(
                    sqlite.files(room, 10).await.unwrap(),
                    pg.files(room, 10).await.unwrap()
                );
            }
            let refused = second.unwrap_err().to_string();
            assert!(refused.contains("empty database"), "{refused}");
            let next = pg.append(said(&rooms[0], 99, Vec::new())).await.unwrap();
            assert_eq!(next.0.seq, 26, "seqs continue after the copy");
        };
        let outcome =
            futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(compared)).await;
        admin
            .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
            .await
            .unwrap();
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    }
}
