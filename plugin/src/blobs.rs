//! Blob storage: file bytes kept by content hash, apart from who may see them.
//!
//! [`Blobs`] is the storage boundary (on disk by default, [`DiskBlobs`]; an
//! object store can implement it for several nodes). It knows nothing of
//! rooms, callers or requests: [`crate::files`] checks access, streams an
//! upload into [`Blobs::staging_path`] while hashing it, and hands the
//! [`Staged`] result to [`Blobs::keep`]. Bytes no file references any
//! more are removed by [`crate::collector`] through [`Blobs::list`] and
//! [`Blobs::remove`].

use async_trait::async_trait;
use axum::body::Body;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A finished upload in the staging area. Dropping it removes the staged
/// bytes unless [`Blobs::keep`] moved them away first, so a form that fails
/// later (bad CSRF token, rate limit) leaves nothing behind.
#[derive(Debug)]
pub struct Staged {
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// The first bytes, to tell the type.
    pub head: Vec<u8>,
}

/// Where file bytes live, by content hash.
#[async_trait]
pub trait Blobs: Send + Sync + 'static {
    /// A fresh path in the staging area for an upload in progress.
    fn staging_path(&self) -> anyhow::Result<PathBuf>;
    /// Moves a finished upload into storage under its hash; if those bytes
    /// are already stored the staged copy is just removed and the stored
    /// one marked as stored now (see [`Blobs::stored_at`]).
    async fn keep(&self, staged: &Staged) -> anyhow::Result<()>;
    /// The stored bytes and their length, or `None`.
    async fn open(&self, sha256: &str) -> anyhow::Result<Option<(Body, u64)>>;
    /// When these bytes were last kept (a second upload of the same bytes
    /// counts), or `None` if they are not stored.
    async fn stored_at(&self, sha256: &str) -> anyhow::Result<Option<SystemTime>>;
    /// Every stored blob with [`Blobs::stored_at`]; staging is not listed.
    async fn list(&self) -> anyhow::Result<Vec<(String, SystemTime)>>;
    /// Removes the bytes; `Ok(Some(size))` if they were there.
    async fn remove(&self, sha256: &str) -> anyhow::Result<Option<u64>>;
}

/// Blobs on the local disk: `<dir>/ab/cd/<sha256>`, staging in `<dir>/tmp`.
pub struct DiskBlobs {
    dir: PathBuf,
}

impl DiskBlobs {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn blob_path(&self, sha256: &str) -> Option<PathBuf> {
        // The hash comes from our own database, but a path is built from it:
        // accept nothing but 64 hex digits.
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.dir.join(&sha256[..2]).join(&sha256[2..4]).join(sha256))
    }
}

#[async_trait]
impl Blobs for DiskBlobs {
    fn staging_path(&self) -> anyhow::Result<PathBuf> {
        let staging = self.dir.join("tmp");
        std::fs::create_dir_all(&staging)?;
        Ok(staging.join(format!("upload-{}", uuid::Uuid::new_v4().simple())))
    }

    async fn keep(&self, staged: &Staged) -> anyhow::Result<()> {
        let target = self
            .blob_path(&staged.sha256)
            .ok_or_else(|| anyhow::anyhow!("bad blob hash"))?;
        if tokio::fs::try_exists(&target).await? {
            tokio::fs::remove_file(&staged.path).await?;
            // Newly referenced: a collection that began before this must
            // not count the bytes as old.
            let touched = target.clone();
            tokio::task::spawn_blocking(move || {
                std::fs::File::open(touched)?.set_modified(SystemTime::now())
            })
            .await??;
            return Ok(());
        }
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        tokio::fs::rename(&staged.path, &target).await?;
        Ok(())
    }

    async fn open(&self, sha256: &str) -> anyhow::Result<Option<(Body, u64)>> {
        let Some(path) = self.blob_path(sha256) else {
            return Ok(None);
        };
        let file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = file.metadata().await?.len();
        let stream = tokio_util::io::ReaderStream::new(file);
        Ok(Some((Body::from_stream(stream), size)))
    }

    async fn stored_at(&self, sha256: &str) -> anyhow::Result<Option<SystemTime>> {
        let Some(path) = self.blob_path(sha256) else {
            return Ok(None);
        };
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(Some(meta.modified()?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self) -> anyhow::Result<Vec<(String, SystemTime)>> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || list_blobs(&dir)).await?
    }

    async fn remove(&self, sha256: &str) -> anyhow::Result<Option<u64>> {
        let Some(path) = self.blob_path(sha256) else {
            return Ok(None);
        };
        let size = match tokio::fs::metadata(&path).await {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(Some(size)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The blobs under `<dir>/ab/cd/`: files named by a hash that fits their
/// place (anything else there, and `tmp/`, is not ours to judge).
fn list_blobs(dir: &Path) -> anyhow::Result<Vec<(String, SystemTime)>> {
    let mut found = Vec::new();
    let Some(level1) = read_dir_if_any(dir)? else {
        return Ok(found);
    };
    for first in level1 {
        let first = first?;
        let first_name = first.file_name().to_string_lossy().into_owned();
        if first_name.len() != 2 || !first.file_type()?.is_dir() {
            continue;
        }
        for second in std::fs::read_dir(first.path())? {
            let second = second?;
            let second_name = second.file_name().to_string_lossy().into_owned();
            if second_name.len() != 2 || !second.file_type()?.is_dir() {
                continue;
            }
            for blob in std::fs::read_dir(second.path())? {
                let blob = blob?;
                let name = blob.file_name().to_string_lossy().into_owned();
                let placed = name.len() == 64
                    && name.bytes().all(|b| b.is_ascii_hexdigit())
                    && name[..2] == first_name
                    && name[2..4] == second_name;
                if placed && blob.file_type()?.is_file() {
                    found.push((name, blob.metadata()?.modified()?));
                }
            }
        }
    }
    Ok(found)
}

fn read_dir_if_any(dir: &Path) -> anyhow::Result<Option<std::fs::ReadDir>> {
    match std::fs::read_dir(dir) {
        Ok(entries) => Ok(Some(entries)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // After `keep` the path is gone and this fails harmlessly.
        let _ = std::fs::remove_file(&self.path);
    }
}
