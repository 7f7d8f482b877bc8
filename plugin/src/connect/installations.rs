//! Where the plugin remembers the external wikis that installed it: client
//! key → shared secret and base URL.
//!
//! A small trait of its own rather than a table behind [`crate::Store`]:
//! `Store` is shared with the PostgreSQL implementation, and an installation
//! is tiny, rarely written and read on every signed request (so the reader
//! caches nothing and the SQLite lookup is a primary-key probe).
//! [`SqliteInstallations`] keeps them durable in a file of their own
//! (created `0600`, since it holds secrets); [`MemoryInstallations`] is for
//! tests and throwaway runs. Several nodes behind a load balancer need a
//! shared implementation (a file on shared storage, or a table in the
//! cluster's database) that this trait leaves room for.

use anyhow::Context as _;
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One external wiki the plugin is installed in.
#[derive(Clone, PartialEq, Eq)]
pub struct Installation {
    /// The wiki's identity; the `iss` of every token it signs.
    pub client_key: String,
    /// The HS256 key both sides sign with. Never logged.
    pub shared_secret: String,
    /// Where the wiki's REST API lives, e.g. `https://wiki.example.com`.
    pub base_url: String,
}

/// The secret stays out of logs and panic messages.
impl std::fmt::Debug for Installation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installation")
            .field("client_key", &self.client_key)
            .field("shared_secret", &"<redacted>")
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// Durable storage for [`Installation`]s.
#[async_trait]
pub trait Installations: Send + Sync + 'static {
    async fn get(&self, client_key: &str) -> anyhow::Result<Option<Installation>>;

    /// Stores a first installation. Returns false, changing nothing, when the
    /// client key is already installed: the check and the write are one step,
    /// so two racing first installs cannot both win.
    async fn insert_new(&self, installation: &Installation) -> anyhow::Result<bool>;

    /// Replaces an installation (a re-install the old secret signed).
    async fn replace(&self, installation: &Installation) -> anyhow::Result<()>;

    async fn remove(&self, client_key: &str) -> anyhow::Result<()>;
}

/// Installations in memory: gone when the process exits.
#[derive(Default)]
pub struct MemoryInstallations {
    /// A std Mutex is fine: held for one map operation, never across `.await`.
    by_key: Mutex<HashMap<String, Installation>>,
}

impl MemoryInstallations {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Installation>> {
        self.by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Installations for MemoryInstallations {
    async fn get(&self, client_key: &str) -> anyhow::Result<Option<Installation>> {
        Ok(self.map().get(client_key).cloned())
    }

    async fn insert_new(&self, installation: &Installation) -> anyhow::Result<bool> {
        let mut map = self.map();
        if map.contains_key(&installation.client_key) {
            return Ok(false);
        }
        map.insert(installation.client_key.clone(), installation.clone());
        Ok(true)
    }

    async fn replace(&self, installation: &Installation) -> anyhow::Result<()> {
        self.map()
            .insert(installation.client_key.clone(), installation.clone());
        Ok(())
    }

    async fn remove(&self, client_key: &str) -> anyhow::Result<()> {
        self.map().remove(client_key);
        Ok(())
    }
}

/// Installations in their own SQLite file (one table).
#[derive(Clone)]
pub struct SqliteInstallations {
    /// One connection: writes are rare and lookups are single-row probes.
    /// Used only inside `spawn_blocking`, so the std Mutex never meets an
    /// `.await`.
    conn: Arc<Mutex<Connection>>,
}

impl SqliteInstallations {
    /// Opens (creating if needed) the installations database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating directory {}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("opening SQLite database {}", path.display()))?;
        restrict_permissions(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS connect_installations (
                 client_key    TEXT PRIMARY KEY,
                 shared_secret TEXT NOT NULL,
                 base_url      TEXT NOT NULL,
                 installed_at  TEXT NOT NULL
             );",
        )
        .context("creating the connect_installations table")?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn call<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            job(&conn)
        })
        .await
        .context("installations task failed")?
        .context("installations query failed")
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[async_trait]
impl Installations for SqliteInstallations {
    async fn get(&self, client_key: &str) -> anyhow::Result<Option<Installation>> {
        let client_key = client_key.to_owned();
        self.call(move |conn| {
            conn.query_row(
                "SELECT client_key, shared_secret, base_url FROM connect_installations
                 WHERE client_key = ?1",
                params![client_key],
                |row| {
                    Ok(Installation {
                        client_key: row.get(0)?,
                        shared_secret: row.get(1)?,
                        base_url: row.get(2)?,
                    })
                },
            )
            .optional()
        })
        .await
    }

    async fn insert_new(&self, installation: &Installation) -> anyhow::Result<bool> {
        let i = installation.clone();
        let inserted = self
            .call(move |conn| {
                conn.execute(
                    "INSERT INTO connect_installations
                         (client_key, shared_secret, base_url, installed_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (client_key) DO NOTHING",
                    params![
                        i.client_key,
                        i.shared_secret,
                        i.base_url,
                        chrono::Utc::now().to_rfc3339()
                    ],
                )
            })
            .await?;
        Ok(inserted == 1)
    }

    async fn replace(&self, installation: &Installation) -> anyhow::Result<()> {
        let i = installation.clone();
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO connect_installations
                     (client_key, shared_secret, base_url, installed_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (client_key) DO UPDATE SET
                     shared_secret = excluded.shared_secret,
                     base_url = excluded.base_url,
                     installed_at = excluded.installed_at",
                params![
                    i.client_key,
                    i.shared_secret,
                    i.base_url,
                    chrono::Utc::now().to_rfc3339()
                ],
            )
        })
        .await?;
        Ok(())
    }

    async fn remove(&self, client_key: &str) -> anyhow::Result<()> {
        let client_key = client_key.to_owned();
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM connect_installations WHERE client_key = ?1",
                params![client_key],
            )
        })
        .await?;
        Ok(())
    }
}
