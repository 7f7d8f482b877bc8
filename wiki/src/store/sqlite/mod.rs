//! The embedded `Store`: SQLite in `<data>/wiki.db`.
//!
//! rusqlite is synchronous, so every query runs on tokio's blocking pool via
//! [`SqliteStore::call`], on a connection borrowed from a small idle list.
//! WAL mode lets readers proceed while one writer commits; `busy_timeout`
//! makes concurrent writers (the server and a CLI command) wait instead of
//! failing.
//!
//! # Search: FTS5
//! The pages already live in `wiki.db`; an FTS5 table with `content='pages'`
//! and triggers keeps the index in the same file and the same transactions
//! as the pages, so it can never drift from them, survives crashes the same
//! way, and needs no second store, background indexer or extra dependency
//! (rusqlite's bundled SQLite has FTS5). bm25 ranking, phrase queries and
//! `snippet()` are built in. The tokenizer is Porter over unicode61, so
//! `deploys` also finds `deploy` and `deployed`.

mod access;
mod pages;
mod search;
#[cfg(test)]
mod tests;
mod users;

use super::{Keep, NewSession, NewUser, PageWrite, RawHit, StoredSession};
use crate::model::{
    self, AccessMap, Member, Page, PagePath, Permissions, Revision, RevisionInfo, Rules, User,
    Written,
};
use crate::query::{self, Term};
use anyhow::{bail, Context as _};
use rusqlite::{params, Connection, OptionalExtension as _, Row};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How many idle connections are kept for reuse; more may be open at once
/// while the blocking pool is busy, they are just closed afterwards.
const MAX_IDLE: usize = 8;

/// bm25 weights: a hit in the title counts this much more than in the body.
const TITLE_WEIGHT: f64 = 10.0;

/// Cheap-to-clone handle to the wiki database.
#[derive(Clone)]
pub struct SqliteStore(Arc<Shared>);

struct Shared {
    /// The database file; every connection opens it.
    path: PathBuf,
    /// Connections waiting for the next call. A std `Mutex` is fine: it is
    /// held only to push or pop, never across an `.await`.
    idle: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema
    /// up to date. Blocking.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        let mut conn = connect(path)?;
        // Rebuilding a table (the AUTOINCREMENT step) must not cascade into
        // the tables that reference it, and `foreign_keys` cannot change
        // inside a migration's transaction: off around them, checked, then
        // on again.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        infra::sqlite::migrate(&mut conn, "wiki", &MIGRATIONS[..HASHED_TOKENS])
            .with_context(|| format!("migrating {}", path.display()))?;
        if infra::sqlite::version(&conn)? == HASHED_TOKENS {
            hash_stored_tokens(&mut conn)
                .with_context(|| format!("hashing the session tokens in {}", path.display()))?;
        }
        infra::sqlite::migrate(&mut conn, "wiki", MIGRATIONS)
            .with_context(|| format!("migrating {}", path.display()))?;
        let dangling: Option<String> = conn
            .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
            .optional()?;
        if let Some(table) = dangling {
            bail!("{} has rows in {table} pointing nowhere", path.display());
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(SqliteStore(Arc::new(Shared {
            path: path.to_owned(),
            idle: Mutex::new(vec![conn]),
        })))
    }

    /// Runs `f` with a connection on the blocking pool and returns its result.
    async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.call_blocking(f))
            .await
            .context("database task panicked")?
    }

    fn call_blocking<T>(
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
    let mut conn =
        Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // Every transaction here reads, then writes. A deferred one takes the
    // write lock only at its first write, and if another connection wrote
    // in between, SQLite answers "database is locked" at once (waiting could
    // not help: its snapshot is stale) without consulting `busy_timeout`.
    // IMMEDIATE takes the write lock at BEGIN, where the timeout applies.
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    // WAL + synchronous=NORMAL: a committed transaction survives a process
    // crash; a power loss may lose the last few commits but never corrupts.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // One limit for the whole process (both databases, every connection):
    // each connection's page cache may grow to 2 MB, and a dozen of them
    // would slowly take 25 MB as the databases grow; past this SQLite
    // recycles cache pages instead.
    conn.pragma_update(None, "soft_heap_limit", SQLITE_HEAP_LIMIT)?;
    Ok(conn)
}

/// SQLite's soft heap limit, process-wide, in bytes.
const SQLITE_HEAP_LIMIT: i64 = 8 * 1024 * 1024;

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
    r#"
-- Every search reads the page tree (id, parent, inherit) to filter hits by
-- permission. This index covers that read, so it skips the page bodies:
-- with a year of transcripts it took 3 ms of a search, now under 1.
CREATE INDEX pages_tree ON pages(parent_id, inherit);
DROP INDEX pages_parent;
"#,
    // Applied by `hash_stored_tokens` in Rust (SQLite has no SHA-256).
    "-- session tokens stored as their SHA-256",
    r#"
-- Page ids are never reused (AUTOINCREMENT): the chat keys rooms by page
-- id, and a new page taking a deleted page's id must not find its rooms.
-- SQLite cannot add AUTOINCREMENT to a table, so `pages` is rebuilt with
-- the same rows and ids (foreign keys are off around this migration, see
-- `SqliteStore::open`); the rename keeps the references of page_revisions,
-- page_grants and parent_id pointing at `pages`, and carries the id
-- counter (seeded by the copy with the highest id) along. The FTS index
-- keys rows by the same ids, so it stays as it is; its triggers went with
-- the old table and are made again.
CREATE TABLE pages_rebuilt (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id  INTEGER REFERENCES pages(id),
    path       TEXT NOT NULL UNIQUE,
    title      TEXT NOT NULL,
    markdown   TEXT NOT NULL DEFAULT '',
    time_zone  TEXT NOT NULL DEFAULT 'UTC',
    inherit    INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);
INSERT INTO pages_rebuilt (id, parent_id, path, title, markdown, time_zone, inherit,
                           updated_at, updated_by)
    SELECT id, parent_id, path, title, markdown, time_zone, inherit, updated_at, updated_by
    FROM pages ORDER BY id;
DROP TABLE pages;
ALTER TABLE pages_rebuilt RENAME TO pages;
CREATE INDEX pages_tree ON pages(parent_id, inherit);
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
];

/// The index in [`MIGRATIONS`] of the step from which `sessions.token`
/// holds [`super::token_hash`] of each token instead of the token.
const HASHED_TOKENS: usize = 3;

/// Migration step [`HASHED_TOKENS`]: replaces every stored token by its
/// hash, in one transaction with the version bump, so signed-in browsers
/// and API tokens keep working across the upgrade.
fn hash_stored_tokens(conn: &mut Connection) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    let tokens: Vec<String> = tx
        .prepare("SELECT token FROM sessions")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    for token in tokens {
        tx.execute(
            "UPDATE sessions SET token = ?1 WHERE token = ?2",
            params![super::token_hash(&token), token],
        )?;
    }
    tx.pragma_update(None, "user_version", HASHED_TOKENS + 1)?;
    tx.commit()?;
    Ok(())
}

/// The `user_version` of a database this binary has migrated: what the
/// copy to PostgreSQL reads ([`super::copy`]).
pub(crate) const SCHEMA_VERSION: usize = MIGRATIONS.len();

// ---- settings and the ACL epoch ---------------------------------------------

fn bump_epoch(conn: &Connection) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (?1, '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [super::EPOCH_KEY],
    )?;
    Ok(())
}

// ---- users --------------------------------------------------------------------

// ---- pages --------------------------------------------------------------------

const COLUMNS: &str =
    "id, parent_id, path, title, markdown, time_zone, inherit, updated_at, updated_by";

fn page_from_row(row: &Row<'_>) -> rusqlite::Result<Page> {
    Ok(Page {
        id: row.get(0)?,
        parent_id: row.get(1)?,
        path: PagePath::from_stored(row.get(2)?),
        title: row.get(3)?,
        markdown: row.get(4)?,
        time_zone: row.get(5)?,
        inherit: row.get(6)?,
        updated_at: row.get(7)?,
        updated_by: row.get(8)?,
    })
}

fn revision_info_from_row(row: &Row<'_>) -> rusqlite::Result<RevisionInfo> {
    Ok(RevisionInfo {
        id: row.get(0)?,
        title: row.get(1)?,
        author: row.get(2)?,
        created_at: row.get(3)?,
        bytes: row.get(4)?,
    })
}

fn revision_from_row(row: &Row<'_>) -> rusqlite::Result<Revision> {
    Ok(Revision {
        id: row.get(0)?,
        title: row.get(1)?,
        markdown: row.get(2)?,
        author: row.get(3)?,
        created_at: row.get(4)?,
    })
}

// ---- permissions -------------------------------------------------------------

super::store_by_concern!(SqliteStore);
