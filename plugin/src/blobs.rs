//! Blob storage: file bytes kept by content hash, apart from who may see them.
//!
//! [`Blobs`] is the storage boundary (on disk by default, [`DiskBlobs`]; an
//! object store can implement it for several nodes). It knows nothing of
//! rooms, callers or requests: [`crate::files`] checks access, streams an
//! upload into [`Blobs::staging_path`] while hashing it, and hands the
//! [`Staged`] result to [`Blobs::keep`].

use async_trait::async_trait;
use axum::body::Body;
use std::path::PathBuf;

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
    /// are already stored the staged copy is just removed.
    async fn keep(&self, staged: &Staged) -> anyhow::Result<()>;
    /// The stored bytes and their length, or `None`.
    async fn open(&self, sha256: &str) -> anyhow::Result<Option<(Body, u64)>>;
    /// Deletes the stored bytes; no error if they are already gone.
    async fn remove(&self, sha256: &str) -> anyhow::Result<()>;
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

    async fn remove(&self, sha256: &str) -> anyhow::Result<()> {
        let Some(path) = self.blob_path(sha256) else {
            return Ok(());
        };
        match tokio::fs::remove_file(&path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // After `keep` the path is gone and this fails harmlessly.
        let _ = std::fs::remove_file(&self.path);
    }
}
