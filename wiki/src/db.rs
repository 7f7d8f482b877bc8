//! `Db`: the wiki's SQLite database (`<data>/wiki.db`) and its schema.
//!
//! rusqlite is synchronous, so every query runs on tokio's blocking pool via
//! [`Db::call`], on a connection borrowed from a small idle list. WAL mode lets
//! readers proceed while one writer commits; `busy_timeout` makes concurrent
//! writers wait instead of failing.

use anyhow::Context as _;
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How many idle connections are kept for reuse; more may be open at once
/// while the blocking pool is busy, they are just closed afterwards.
const MAX_IDLE: usize = 8;

/// Cheap-to-clone handle to the wiki database.
#[derive(Clone)]
pub struct Db(Arc<Shared>);

struct Shared {
    /// The database file; every connection opens it.
    path: PathBuf,
    /// Connections waiting for the next call. A std `Mutex` is fine: it is
    /// held only to push or pop, never across an `.await`.
    idle: Mutex<Vec<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        let mut conn = connect(path)?;
        migrate(&mut conn).with_context(|| format!("migrating {}", path.display()))?;
        Ok(Db(Arc::new(Shared {
            path: path.to_owned(),
            idle: Mutex::new(vec![conn]),
        })))
    }

    /// Runs `f` with a connection on the blocking pool and returns its result.
    pub async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.call_blocking(f))
            .await
            .context("database task panicked")?
    }

    /// Runs `f` on the current thread; for code that is already off the
    /// async executor (the CLI, tests, `spawn_blocking` bodies).
    pub fn call_blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let pooled = self.idle().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => connect(&self.0.path)?,
        };
        let result = f(&mut conn);
        let mut idle = self.idle();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        result
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.0.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn connect(path: &Path) -> anyhow::Result<Connection> {
    let conn =
        Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // WAL + synchronous=NORMAL: a committed transaction survives a process
    // crash; a power loss may lose the last few commits but never corrupts.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Schema versions, applied in order; `PRAGMA user_version` records how many
/// have run. Append new steps, never edit old ones.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
CREATE TABLE groups (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE
);
CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE TABLE sessions (
    token      TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('browser', 'api')),
    label      TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    expires_at TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE pages (
    id         INTEGER PRIMARY KEY,
    parent_id  INTEGER REFERENCES pages(id),
    path       TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    markdown   TEXT NOT NULL DEFAULT '',
    time_zone  TEXT NOT NULL DEFAULT 'UTC',
    inherit    INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX pages_parent ON pages(parent_id);
CREATE TABLE page_revisions (
    id         INTEGER PRIMARY KEY,
    page_id    INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    markdown   TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX page_revisions_page ON page_revisions(page_id, id);
CREATE TABLE page_grants (
    page_id   INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL CHECK (kind IN ('view', 'edit')),
    principal TEXT NOT NULL,
    PRIMARY KEY (page_id, kind, principal)
);
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE VIRTUAL TABLE pages_fts USING fts5(
    title, markdown, content='pages', content_rowid='id'
);
CREATE TRIGGER pages_fts_insert AFTER INSERT ON pages BEGIN
    INSERT INTO pages_fts(rowid, title, markdown) VALUES (new.id, new.title, new.markdown);
END;
CREATE TRIGGER pages_fts_delete AFTER DELETE ON pages BEGIN
    INSERT INTO pages_fts(pages_fts, rowid, title, markdown)
        VALUES ('delete', old.id, old.title, old.markdown);
END;
CREATE TRIGGER pages_fts_update AFTER UPDATE OF title, markdown ON pages BEGIN
    INSERT INTO pages_fts(pages_fts, rowid, title, markdown)
        VALUES ('delete', old.id, old.title, old.markdown);
    INSERT INTO pages_fts(rowid, title, markdown) VALUES (new.id, new.title, new.markdown);
END;
"#,
    r#"
-- Search matches word forms ("deploys" finds "deploy"): the Porter stemmer
-- over unicode61. The index is rebuilt from the pages table.
DROP TABLE pages_fts;
CREATE VIRTUAL TABLE pages_fts USING fts5(
    title, markdown, content='pages', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO pages_fts(pages_fts) VALUES ('rebuild');
"#,
];

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, step) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)
            .with_context(|| format!("schema step {}", index + 1))?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// Reads a value from the `settings` table.
pub fn setting(conn: &Connection, key: &str) -> anyhow::Result<Option<String>> {
    use rusqlite::OptionalExtension as _;
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?)
}

/// Writes a value to the `settings` table.
pub fn set_setting(conn: &Connection, key: &str, value: &str) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// The current time as stored in the database (RFC 3339, UTC, seconds).
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_twice_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wiki.db");
        let db = Db::open(&path).unwrap();
        db.call(|c| set_setting(c, "k", "v")).await.unwrap();
        drop(db);
        let db = Db::open(&path).unwrap();
        let value = db.call(|c| setting(c, "k")).await.unwrap();
        assert_eq!(value.as_deref(), Some("v"));
    }
}
