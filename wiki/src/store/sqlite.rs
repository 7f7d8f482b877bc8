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

use super::{NewSession, NewUser, PageWrite, RawHit, Store, StoredSession};
use crate::model::{
    self, AccessMap, Member, Page, PagePath, Permissions, Revision, Rules, User, Written,
};
use crate::query::{self, Term};
use anyhow::{bail, Context as _};
use async_trait::async_trait;
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
        migrate(&mut conn).with_context(|| format!("migrating {}", path.display()))?;
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
    r#"
-- Every search reads the page tree (id, parent, inherit) to filter hits by
-- permission. This index covers that read, so it skips the page bodies:
-- with a year of transcripts it took 3 ms of a search, now under 1.
CREATE INDEX pages_tree ON pages(parent_id, inherit);
DROP INDEX pages_parent;
"#,
];

/// The `user_version` of a database this binary has migrated: what the
/// copy to PostgreSQL reads ([`super::copy`]).
pub(crate) const SCHEMA_VERSION: usize = MIGRATIONS.len();

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

/// The FTS5 expression for parsed terms, `None` if there are none: every
/// term a quoted string, so user input is never FTS5 syntax.
fn fts_query(terms: &[Term]) -> Option<String> {
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let parts: Vec<String> = terms
        .iter()
        .map(|term| match term {
            Term::Word { text, prefix } => {
                let quoted = quote(text);
                if *prefix {
                    format!("{quoted}*")
                } else {
                    quoted
                }
            }
            Term::Phrase(text) => quote(text),
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

// ---- settings and the ACL epoch ---------------------------------------------

fn setting(conn: &Connection, key: &str) -> anyhow::Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?)
}

fn bump_epoch(conn: &Connection) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (?1, '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [super::EPOCH_KEY],
    )?;
    Ok(())
}

// ---- users --------------------------------------------------------------------

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        is_admin: row.get(2)?,
    })
}

fn find_user(conn: &Connection, name: &str) -> anyhow::Result<Option<User>> {
    Ok(conn
        .query_row(
            "SELECT id, name, is_admin FROM users WHERE name = ?1",
            [name],
            user_from_row,
        )
        .optional()?)
}

fn groups_of(conn: &Connection, user_id: i64) -> anyhow::Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT g.name FROM groups g JOIN group_members m ON m.group_id = g.id
         WHERE m.user_id = ?1 ORDER BY g.name",
    )?;
    let names = stmt
        .query_map([user_id], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

fn group_id(conn: &Connection, name: &str) -> anyhow::Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT id FROM groups WHERE name = ?1", [name], |row| {
            row.get(0)
        })
        .optional()?)
}

fn create_group(conn: &Connection, name: &str) -> anyhow::Result<i64> {
    if group_id(conn, name)?.is_some() {
        bail!("group {name:?} already exists");
    }
    conn.execute("INSERT INTO groups(name) VALUES (?1)", [name])?;
    bump_epoch(conn)?;
    Ok(conn.last_insert_rowid())
}

fn add_to_group(
    conn: &Connection,
    user: &str,
    group: &str,
    create_missing: bool,
) -> anyhow::Result<()> {
    let user = find_user(conn, user)?.with_context(|| format!("no user {user:?}"))?;
    let group_id = match group_id(conn, group)? {
        Some(id) => id,
        None if create_missing => create_group(conn, group)?,
        None => bail!("no group {group:?}"),
    };
    conn.execute(
        "INSERT OR IGNORE INTO group_members(group_id, user_id) VALUES (?1, ?2)",
        [group_id, user.id],
    )?;
    bump_epoch(conn)?;
    Ok(())
}

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

fn by_path(conn: &Connection, path: &PagePath) -> anyhow::Result<Option<Page>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pages WHERE path = ?1"),
            [path.as_str()],
            page_from_row,
        )
        .optional()?)
}

fn by_id(conn: &Connection, id: i64) -> anyhow::Result<Option<Page>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM pages WHERE id = ?1"),
            [id],
            page_from_row,
        )
        .optional()?)
}

/// One page write inside the caller's transaction.
fn put(conn: &Connection, write: &PageWrite, author: &str) -> anyhow::Result<Written> {
    if let Some(page) = by_path(conn, &write.path)? {
        let title = super::title_for(write.title.as_deref(), Some(&page.title), &write.path);
        if page.title == title && page.markdown == write.markdown {
            return Ok(Written {
                id: page.id,
                created: false,
                changed: false,
            });
        }
        conn.execute(
            "UPDATE pages SET title = ?1, markdown = ?2, updated_at = ?3, updated_by = ?4
             WHERE id = ?5",
            params![title, write.markdown, super::now(), author, page.id],
        )?;
        record_revision(conn, page.id, title, &write.markdown, author)?;
        return Ok(Written {
            id: page.id,
            created: false,
            changed: true,
        });
    }
    let parent_id = match write.path.parent() {
        Some(parent) => Some(ensure(conn, &parent, author)?),
        None => None,
    };
    let title = super::title_for(write.title.as_deref(), None, &write.path);
    let id = insert(conn, parent_id, &write.path, title, &write.markdown, author)?;
    Ok(Written {
        id,
        created: true,
        changed: true,
    })
}

/// The id of the page at `path`, creating it (and its ancestors) empty.
fn ensure(conn: &Connection, path: &PagePath, author: &str) -> anyhow::Result<i64> {
    if let Some(page) = by_path(conn, path)? {
        return Ok(page.id);
    }
    let parent_id = match path.parent() {
        Some(parent) => Some(ensure(conn, &parent, author)?),
        None => None,
    };
    insert(conn, parent_id, path, path.name(), "", author)
}

fn insert(
    conn: &Connection,
    parent_id: Option<i64>,
    path: &PagePath,
    title: &str,
    markdown: &str,
    author: &str,
) -> anyhow::Result<i64> {
    // New pages take their parent's time zone.
    let time_zone: String = match parent_id {
        Some(parent) => conn.query_row(
            "SELECT time_zone FROM pages WHERE id = ?1",
            [parent],
            |row| row.get(0),
        )?,
        None => "UTC".to_owned(),
    };
    conn.execute(
        "INSERT INTO pages(parent_id, path, title, markdown, time_zone, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            parent_id,
            path.as_str(),
            title,
            markdown,
            time_zone,
            super::now(),
            author
        ],
    )?;
    let id = conn.last_insert_rowid();
    record_revision(conn, id, title, markdown, author)?;
    Ok(id)
}

fn record_revision(
    conn: &Connection,
    page_id: i64,
    title: &str,
    markdown: &str,
    author: &str,
) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO page_revisions(page_id, title, markdown, author, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![page_id, title, markdown, author, super::now()],
    )?;
    Ok(())
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

fn grants(
    conn: &Connection,
    page_id: i64,
) -> anyhow::Result<(Vec<model::Principal>, Vec<model::Principal>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, principal FROM page_grants WHERE page_id = ?1 ORDER BY kind, principal",
    )?;
    let rows: Vec<(String, String)> = stmt
        .query_map([page_id], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(model::split_grants(rows))
}

#[async_trait]
impl Store for SqliteStore {
    async fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
        let key = key.to_owned();
        self.call(move |conn| setting(conn, &key)).await
    }

    async fn set_setting(&self, key: &str, value: &str) -> anyhow::Result<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )?;
            Ok(())
        })
        .await
    }

    async fn acl_epoch(&self) -> anyhow::Result<u64> {
        self.call(|conn| {
            Ok(setting(conn, super::EPOCH_KEY)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0))
        })
        .await
    }

    async fn create_user(&self, user: NewUser) -> anyhow::Result<User> {
        self.call(move |conn| {
            let tx = conn.transaction()?;
            if find_user(&tx, &user.name)?.is_some() {
                bail!("user {:?} already exists", user.name);
            }
            bump_epoch(&tx)?;
            tx.execute(
                "INSERT INTO users(name, password_hash, is_admin, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![user.name, user.password_hash, user.is_admin, super::now()],
            )?;
            let created = User {
                id: tx.last_insert_rowid(),
                name: user.name.clone(),
                is_admin: user.is_admin,
            };
            for group in &user.groups {
                add_to_group(&tx, &user.name, group, true)?;
            }
            tx.commit()?;
            Ok(created)
        })
        .await
    }

    async fn set_password_hash(&self, name: &str, hash: &str) -> anyhow::Result<()> {
        let (name, hash) = (name.to_owned(), hash.to_owned());
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let user = find_user(&tx, &name)?.with_context(|| format!("no user {name:?}"))?;
            tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                params![hash, user.id],
            )?;
            tx.execute(
                "DELETE FROM sessions WHERE user_id = ?1 AND kind = 'browser'",
                [user.id],
            )?;
            bump_epoch(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn user(&self, name: &str) -> anyhow::Result<Option<User>> {
        let name = name.to_owned();
        self.call(move |conn| find_user(conn, &name)).await
    }

    async fn user_with_hash(&self, name: &str) -> anyhow::Result<Option<(User, String)>> {
        let name = name.to_owned();
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT id, name, is_admin, password_hash FROM users WHERE name = ?1",
                    [name],
                    |row| Ok((user_from_row(row)?, row.get(3)?)),
                )
                .optional()?)
        })
        .await
    }

    async fn groups_of(&self, user_id: i64) -> anyhow::Result<Vec<String>> {
        self.call(move |conn| groups_of(conn, user_id)).await
    }

    async fn any_admin(&self) -> anyhow::Result<bool> {
        self.call(|conn| {
            Ok(conn.query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE is_admin)",
                [],
                |row| row.get(0),
            )?)
        })
        .await
    }

    async fn users(&self) -> anyhow::Result<Vec<Member>> {
        self.call(|conn| {
            let mut stmt = conn.prepare("SELECT id, name, is_admin FROM users ORDER BY name")?;
            let users: Vec<User> = stmt
                .query_map([], user_from_row)?
                .collect::<Result<_, _>>()?;
            users
                .into_iter()
                .map(|user| {
                    let groups = groups_of(conn, user.id)?;
                    Ok(Member { user, groups })
                })
                .collect()
        })
        .await
    }

    async fn create_group(&self, name: &str) -> anyhow::Result<()> {
        let name = name.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            create_group(&tx, &name)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn add_to_group(
        &self,
        user: &str,
        group: &str,
        create_missing: bool,
    ) -> anyhow::Result<()> {
        let (user, group) = (user.to_owned(), group.to_owned());
        self.call(move |conn| {
            let tx = conn.transaction()?;
            add_to_group(&tx, &user, &group, create_missing)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn remove_from_group(&self, user: &str, group: &str) -> anyhow::Result<()> {
        let (user, group) = (user.to_owned(), group.to_owned());
        self.call(move |conn| {
            let tx = conn.transaction()?;
            if find_user(&tx, &user)?.is_none() {
                bail!("no user {user:?}");
            }
            if group_id(&tx, &group)?.is_none() {
                bail!("no group {group:?}");
            }
            bump_epoch(&tx)?;
            tx.execute(
                "DELETE FROM group_members WHERE
                    user_id = (SELECT id FROM users WHERE name = ?1) AND
                    group_id = (SELECT id FROM groups WHERE name = ?2)",
                [&user, &group],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn members_of(&self, group: &str) -> anyhow::Result<Option<Vec<String>>> {
        let group = group.to_owned();
        self.call(move |conn| {
            let Some(id) = group_id(conn, &group)? else {
                return Ok(None);
            };
            let mut stmt = conn.prepare(
                "SELECT u.name FROM users u JOIN group_members m ON m.user_id = u.id
                 WHERE m.group_id = ?1 ORDER BY u.name",
            )?;
            let names = stmt
                .query_map([id], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(Some(names))
        })
        .await
    }

    async fn groups(&self) -> anyhow::Result<Vec<String>> {
        self.call(|conn| {
            let mut stmt = conn.prepare("SELECT name FROM groups ORDER BY name")?;
            let names = stmt
                .query_map([], |row| row.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(names)
        })
        .await
    }

    async fn insert_session(&self, session: NewSession) -> anyhow::Result<()> {
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO sessions(token, user_id, csrf_token, kind, label, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    session.token,
                    session.user_id,
                    session.csrf_token,
                    session.kind,
                    session.label,
                    session.created_at,
                    session.expires_at
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn session(&self, token: &str) -> anyhow::Result<Option<StoredSession>> {
        let token = token.to_owned();
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT u.name, s.csrf_token, s.expires_at FROM sessions s
                     JOIN users u ON u.id = s.user_id WHERE s.token = ?1",
                    [token],
                    |row| {
                        Ok(StoredSession {
                            user_name: row.get(0)?,
                            csrf_token: row.get(1)?,
                            expires_at: row.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
        .await
    }

    async fn delete_session(&self, token: &str) -> anyhow::Result<()> {
        let token = token.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            if tx.execute("DELETE FROM sessions WHERE token = ?1", [token])? > 0 {
                bump_epoch(&tx)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn page_by_path(&self, path: &PagePath) -> anyhow::Result<Option<Page>> {
        let path = path.clone();
        self.call(move |conn| by_path(conn, &path)).await
    }

    async fn page_by_id(&self, id: i64) -> anyhow::Result<Option<Page>> {
        self.call(move |conn| by_id(conn, id)).await
    }

    async fn children(&self, id: i64) -> anyhow::Result<Vec<Page>> {
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM pages WHERE parent_id = ?1
                 ORDER BY title COLLATE NOCASE, path"
            ))?;
            let pages = stmt
                .query_map([id], page_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(pages)
        })
        .await
    }

    async fn roots(&self) -> anyhow::Result<Vec<Page>> {
        self.call(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM pages WHERE parent_id IS NULL ORDER BY title COLLATE NOCASE"
            ))?;
            let pages = stmt
                .query_map([], page_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(pages)
        })
        .await
    }

    async fn put_pages(&self, pages: Vec<PageWrite>, author: &str) -> anyhow::Result<Vec<Written>> {
        let author = author.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let mut written = Vec::with_capacity(pages.len());
            for write in &pages {
                written.push(
                    put(&tx, write, &author).with_context(|| format!("writing {}", write.path))?,
                );
            }
            tx.commit()?;
            Ok(written)
        })
        .await
    }

    async fn revisions(&self, page_id: i64) -> anyhow::Result<Vec<Revision>> {
        self.call(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, title, markdown, author, created_at FROM page_revisions
                 WHERE page_id = ?1 ORDER BY id DESC",
            )?;
            let revisions = stmt
                .query_map([page_id], revision_from_row)?
                .collect::<Result<_, _>>()?;
            Ok(revisions)
        })
        .await
    }

    async fn revision(&self, page_id: i64, id: i64) -> anyhow::Result<Option<Revision>> {
        self.call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT id, title, markdown, author, created_at FROM page_revisions
                     WHERE page_id = ?1 AND id = ?2",
                    [page_id, id],
                    revision_from_row,
                )
                .optional()?)
        })
        .await
    }

    async fn delete_page(&self, page_id: i64) -> anyhow::Result<()> {
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let children: i64 = tx.query_row(
                "SELECT COUNT(*) FROM pages WHERE parent_id = ?1",
                [page_id],
                |row| row.get(0),
            )?;
            if children > 0 {
                bail!("move or delete this page's {children} child page(s) first");
            }
            bump_epoch(&tx)?;
            tx.execute("DELETE FROM pages WHERE id = ?1", [page_id])?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn move_page(&self, page_id: i64, to: &PagePath, author: &str) -> anyhow::Result<()> {
        let (to, author) = (to.clone(), author.to_owned());
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let page = by_id(&tx, page_id)?.context("no such page")?;
            let from = page.path.as_str().to_owned();
            if to.as_str() == from {
                return Ok(());
            }
            if to.as_str().starts_with(&format!("{from}/")) {
                bail!("a page cannot move below itself");
            }
            if by_path(&tx, &to)?.is_some() {
                bail!("a page already exists at {to}");
            }
            let parent_id = match to.parent() {
                Some(parent) => Some(ensure(&tx, &parent, &author)?),
                None => None,
            };
            // Rewrite the prefix of every path in the subtree. substr()
            // counts characters, so the prefix length is length(), not the
            // byte length Rust would give.
            tx.execute(
                "UPDATE pages SET path = ?1 || substr(path, length(?2) + 1)
                 WHERE path = ?2 OR substr(path, 1, length(?2) + 1) = ?2 || '/'",
                params![to.as_str(), from],
            )?;
            tx.execute(
                "UPDATE pages SET parent_id = ?1, updated_at = ?2, updated_by = ?3 WHERE id = ?4",
                params![parent_id, super::now(), author, page_id],
            )?;
            bump_epoch(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn set_time_zone(&self, page_id: i64, zone: &str) -> anyhow::Result<()> {
        let zone = zone.to_owned();
        self.call(move |conn| {
            conn.execute(
                "UPDATE pages SET time_zone = ?1 WHERE id = ?2",
                params![zone, page_id],
            )?;
            Ok(())
        })
        .await
    }

    async fn permissions(&self, page_id: i64) -> anyhow::Result<Permissions> {
        self.call(move |conn| {
            let inherit: bool = conn.query_row(
                "SELECT inherit FROM pages WHERE id = ?1",
                [page_id],
                |row| row.get(0),
            )?;
            let (view, edit) = grants(conn, page_id)?;
            Ok(Permissions {
                inherit,
                view,
                edit,
            })
        })
        .await
    }

    async fn set_permissions(&self, page_id: i64, perms: &Permissions) -> anyhow::Result<()> {
        let perms = perms.clone();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            bump_epoch(&tx)?;
            tx.execute(
                "UPDATE pages SET inherit = ?1 WHERE id = ?2",
                params![perms.inherit, page_id],
            )?;
            tx.execute("DELETE FROM page_grants WHERE page_id = ?1", [page_id])?;
            {
                let mut insert = tx.prepare(
                    "INSERT OR IGNORE INTO page_grants(page_id, kind, principal)
                     VALUES (?1, ?2, ?3)",
                )?;
                for (kind, list) in [("view", &perms.view), ("edit", &perms.edit)] {
                    for principal in list {
                        insert.execute(params![page_id, kind, principal.to_string()])?;
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn effective_rules(&self, page_id: i64) -> anyhow::Result<Rules> {
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "WITH RECURSIVE chain(id, parent_id, inherit, depth) AS (
                     SELECT id, parent_id, inherit, 0 FROM pages WHERE id = ?1
                     UNION ALL
                     SELECT p.id, p.parent_id, p.inherit, c.depth + 1
                     FROM pages p JOIN chain c ON p.id = c.parent_id
                     WHERE c.depth < 256
                 )
                 SELECT id FROM chain WHERE inherit = 0 ORDER BY depth LIMIT 1",
            )?;
            let owner: Option<i64> = stmt
                .query_map([page_id], |row| row.get(0))?
                .next()
                .transpose()?;
            match owner {
                Some(owner) => {
                    let (view, edit) = grants(conn, owner)?;
                    Ok(Rules { view, edit })
                }
                None => Ok(model::default_rules()),
            }
        })
        .await
    }

    async fn access_map(&self) -> anyhow::Result<AccessMap> {
        self.call(|conn| {
            let mut stmt = conn.prepare("SELECT id, parent_id, inherit FROM pages")?;
            let tree = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stmt = conn.prepare("SELECT page_id, kind, principal FROM page_grants")?;
            let grants = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(AccessMap::from_rows(tree, grants))
        })
        .await
    }

    async fn search(&self, terms: &[Term]) -> anyhow::Result<Vec<i64>> {
        let Some(query) = fts_query(terms) else {
            return Ok(Vec::new());
        };
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT rowid FROM pages_fts WHERE pages_fts MATCH ?1
                 ORDER BY bm25(pages_fts, ?2, 1.0), rowid",
            )?;
            let ids: Result<Vec<i64>, _> = stmt
                .query_map(params![query, TITLE_WEIGHT], |row| row.get(0))?
                .collect();
            match ids {
                Ok(ids) => Ok(ids),
                // Quoting should make this unreachable; if FTS5 still refuses
                // the expression, the searcher gets "no results", not a 500.
                Err(err) => {
                    tracing::warn!(%query, error = %err, "FTS5 refused a query");
                    Ok(Vec::new())
                }
            }
        })
        .await
    }

    async fn hits(&self, terms: &[Term], ids: &[i64]) -> anyhow::Result<Vec<RawHit>> {
        let Some(query) = fts_query(terms) else {
            return Ok(Vec::new());
        };
        let terms = terms.to_vec();
        let ids = ids.to_vec();
        self.call(move |conn| {
            let mut page =
                conn.prepare_cached("SELECT path, title, markdown FROM pages WHERE id = ?1")?;
            // FTS5's snippet() tokenizes the whole page: only for a page
            // that holds the terms in a stemmed form alone (see `search`).
            let mut fts_snippet = conn.prepare_cached(
                "SELECT snippet(pages_fts, 1, ?2, ?3, '…', ?4)
                 FROM pages_fts WHERE pages_fts MATCH ?1 AND pages_fts.rowid = ?5",
            )?;
            let mut hits = Vec::with_capacity(ids.len());
            for id in ids {
                let Some((path, title, markdown)) = page
                    .query_row([id], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get(1)?,
                            row.get::<_, String>(2)?,
                        ))
                    })
                    .optional()?
                else {
                    continue;
                };
                let snippet = match query::literal_snippet(&markdown, &terms) {
                    Some(snippet) => snippet,
                    None => fts_snippet
                        .query_row(
                            params![
                                query,
                                query::OPEN.to_string(),
                                query::CLOSE.to_string(),
                                query::SNIPPET_WORDS,
                                id
                            ],
                            |row| row.get(0),
                        )
                        .optional()?
                        .unwrap_or_default(),
                };
                hits.push(RawHit {
                    id,
                    path,
                    title,
                    snippet,
                });
            }
            Ok(hits)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts_query(input: &str) -> Option<String> {
        super::fts_query(&query::terms(input))
    }

    #[test]
    fn queries_are_quoted_so_user_syntax_cannot_break_them() {
        assert_eq!(
            fts_query("hello world").as_deref(),
            Some(r#""hello" AND "world""#)
        );
        assert_eq!(
            fts_query(r#"say "exact phrase" now"#).as_deref(),
            Some(r#""say" AND "exact phrase" AND "now""#)
        );
        assert_eq!(fts_query("plan*").as_deref(), Some(r#""plan"*"#));
        assert_eq!(
            fts_query(r#"AND OR NOT ( "#).as_deref(),
            Some(r#""AND" AND "OR" AND "NOT""#)
        );
        assert_eq!(fts_query(r#"a"b"#).as_deref(), Some(r#""a" AND "b""#));
        assert_eq!(
            fts_query(r#""unclosed phrase"#).as_deref(),
            Some(r#""unclosed phrase""#)
        );
        assert_eq!(fts_query(r#"col:umn"#).as_deref(), Some(r#""col:umn""#));
        assert_eq!(fts_query("  \" \" *** -- "), None);
        assert_eq!(fts_query(""), None);
    }
}
