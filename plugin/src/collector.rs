//! Blob collection: removing file bytes that no file references any more.
//!
//! Uploaded bytes are stored once by content hash ([`crate::blobs`]), so
//! several files may share a blob. A blob loses its last reference when its
//! message is deleted ([`release`] removes it right away), when retention
//! prunes the message (`backchannel chat prune` runs [`collect`] after
//! pruning), or when a node stopped between keeping an upload's bytes and
//! committing the message that names them. [`collect`] walks every stored
//! blob and removes the ones no undeleted message's file names, sparing any
//! stored within [`GRACE`]; the background task runs it every
//! [`COLLECT_EVERY`].
//!
//! Races. An upload keeps its bytes, then commits the message naming them;
//! a blob removed in between would leave that message pointing at nothing.
//! On one node [`AppState::blob_gate`] orders them: uploads hold it shared
//! from keeping to committing, removal holds it exclusively from its
//! reference check to the removal. Nodes sharing a blob directory each have
//! their own gate, so time does the rest: keeping bytes marks them stored
//! now (also when they were already there), [`collect`] spares what was
//! stored within [`GRACE`] (far longer than any keep-to-commit), and
//! [`release`] spares a blob stored again after the deleted message was
//! posted (someone shared the same bytes since; [`collect`] takes it later
//! if that share goes too).

use crate::blobs::Blobs;
use crate::state::AppState;
use crate::store::{Store, StoredFile};
use chrono::{DateTime, Utc};
use std::time::{Duration, SystemTime};
use tokio::sync::RwLock;

/// How often the background task collects.
pub const COLLECT_EVERY: Duration = Duration::from_secs(3600);
/// Blobs stored more recently than this are never collected: their
/// message may still be on its way to the database (on another node).
pub const GRACE: Duration = Duration::from_secs(3600);
/// Clock difference between nodes that [`release`] tolerates.
const RELEASE_SLACK: Duration = Duration::from_secs(5);

/// What one [`collect`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collected {
    pub blobs: u64,
    pub bytes: u64,
}

/// After a message with `files` was deleted: removes the bytes of each file
/// that nothing else references. `posted_at` is the message's time on the
/// chat's clock. Failures are logged; [`collect`] retries them later.
pub async fn release(state: &AppState, files: &[StoredFile], posted_at: DateTime<Utc>) {
    if files.is_empty() {
        return;
    }
    // The chat's clock may be shifted (a testing aid); blob times are the
    // system's.
    let shift = state.config.clock.now() - Utc::now();
    let posted = SystemTime::from(posted_at - shift) + RELEASE_SLACK;
    let _gate = state.blob_gate.write().await;
    for file in files {
        if let Err(e) = release_one(state, &file.sha256, posted).await {
            tracing::warn!(error = ?e, sha256 = %file.sha256, "removing a deleted file's bytes");
        }
    }
}

async fn release_one(state: &AppState, sha256: &str, posted: SystemTime) -> anyhow::Result<()> {
    if state.store.blob_in_use(sha256).await? {
        return Ok(());
    }
    match state.blobs.stored_at(sha256).await? {
        Some(stored) if stored <= posted => {
            state.blobs.remove(sha256).await?;
        }
        // Gone already, or kept again since the message was posted.
        _ => {}
    }
    Ok(())
}

/// After a page's rooms were removed: removes each of `blobs` that nothing
/// references any more, under the gate, so an upload of the same bytes
/// racing in another room keeps them (it holds the gate shared from
/// keeping to committing, and is seen by the reference check).
pub async fn remove_unreferenced(state: &AppState, blobs: &[String]) -> anyhow::Result<()> {
    if blobs.is_empty() {
        return Ok(());
    }
    let _gate = state.blob_gate.write().await;
    for sha256 in blobs {
        if !state.store.blob_in_use(sha256).await? {
            state.blobs.remove(sha256).await?;
        }
    }
    Ok(())
}

/// Removes every blob that no undeleted message's file references and that
/// was not stored within `grace`.
pub async fn collect(
    store: &dyn Store,
    blobs: &dyn Blobs,
    gate: &RwLock<()>,
    grace: Duration,
) -> anyhow::Result<Collected> {
    let old_enough = |stored: SystemTime| {
        SystemTime::now()
            .duration_since(stored)
            .is_ok_and(|age| age >= grace)
    };
    let candidates: Vec<String> = blobs
        .list()
        .await?
        .into_iter()
        .filter(|(_, stored)| old_enough(*stored))
        .map(|(sha256, _)| sha256)
        .collect();
    let mut collected = Collected::default();
    if candidates.is_empty() {
        return Ok(collected);
    }
    let _gate = gate.write().await;
    let in_use = store.blobs_in_use().await?;
    for sha256 in candidates.iter().filter(|sha256| !in_use.contains(*sha256)) {
        // Kept again since the listing: no longer a candidate.
        if !blobs.stored_at(sha256).await?.is_some_and(old_enough) {
            continue;
        }
        if let Some(size) = blobs.remove(sha256).await? {
            collected.blobs += 1;
            collected.bytes += size;
        }
    }
    Ok(collected)
}

/// [`collect`] every [`COLLECT_EVERY`], for as long as the future runs.
pub async fn collect_forever(state: AppState) {
    let mut every = tokio::time::interval(COLLECT_EVERY);
    // The first tick is immediate; a server just started has nothing old.
    every.tick().await;
    loop {
        every.tick().await;
        match collect(&*state.store, &*state.blobs, &state.blob_gate, GRACE).await {
            Ok(collected) if collected.blobs > 0 => tracing::info!(
                blobs = collected.blobs,
                bytes = collected.bytes,
                "removed file bytes no message references"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "collecting unreferenced file bytes"),
        }
    }
}
