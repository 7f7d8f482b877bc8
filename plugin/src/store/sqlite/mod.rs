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
//!
//! # Layout
//! - this file: `SqliteStore`, its read pool and the hand-off to the writer.
//! - `schema`: the migrations.
//! - `writer`: the writer thread and its group commit.
//! - `rows`: column lists, row mapping and the lookups queries share.
//! - `queries`: the [`Store`] and [`StoreMaintenance`] methods.
//! - `membership`: the [`Membership`](super::Membership) methods.
//! - `profiles`: the [`Profiles`](super::Profiles) methods.
//! - `removal`: a deleted host page's rooms removed with all they hold.

mod membership;
mod profiles;
mod queries;
mod removal;
mod rows;
mod schema;
mod writer;

use anyhow::{anyhow, Context};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::oneshot;
use writer::{committed, run_writer, Job, WriteJob};

#[cfg(doc)]
use super::{Store, StoreMaintenance};

/// Read connections kept open between requests.
const READ_POOL: usize = 4;

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
             PRAGMA busy_timeout = 5000;",
        )?;
        // Rebuilding a table (rooms, for rooms with people) must not
        // cascade into the tables that reference it, and `foreign_keys`
        // cannot change inside a migration's transaction: off around them,
        // checked, then on. (The bundled SQLite starts with them on.)
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        infra::sqlite::migrate(&mut conn, "chat", schema::MIGRATIONS)?;
        let dangling: Option<String> = conn
            .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
            .optional()?;
        if let Some(table) = dangling {
            anyhow::bail!("{} has rows in {table} pointing nowhere", path.display());
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;

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
