//! Maintenance commands that act on an install without serving it:
//! `backchannel transcripts rebuild` and `backchannel chat prune` (which
//! also removes file bytes no message references, `plugin::collector`).
//!
//! They open the same stores as `serve` (safe while it runs: SQLite in WAL
//! mode lets both write in turn, PostgreSQL is shared anyway) and show
//! progress on long work.

use crate::backends::{chat_backends, chat_config, Backends};
use crate::install::Install;
use crate::web;
use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use protocol::RoomId;
use std::path::Path;

/// Re-publishes transcript pages for one room or all, from `since` on.
pub async fn rebuild_transcripts(
    data: &Path,
    backends: &Backends,
    room: Option<String>,
    since: Option<NaiveDate>,
) -> anyhow::Result<()> {
    let install = Install::at(data)?;
    let wiki_store = install.wiki_store(backends.database_url.as_deref()).await?;
    let (store, bus) = chat_backends(&install, backends).await?;
    let rooms = match room {
        Some(id) => vec![store
            .room(&RoomId::new(id.clone()))
            .await?
            .with_context(|| format!("no room with id {id}"))?],
        None => store.rooms().await?,
    };
    let parts = web::app(wiki_store, store, bus, chat_config(&install))?;
    let state = &parts.plugin;
    let total: u64 = rooms.iter().map(|r| r.last_seq).sum();
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{msg:20} [{bar:40}] {pos}/{len} messages ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut pages = 0;
    let mut done_before = 0;
    for room in &rooms {
        bar.set_message(room.name.chars().take(20).collect::<String>());
        let published = state
            .publisher
            .rebuild_room(room, since, |done, _| {
                bar.set_position(done_before + done);
            })
            .await
            .with_context(|| format!("rebuilding the transcripts of room {}", room.id))?;
        done_before += room.last_seq;
        pages += published.len();
    }
    bar.finish_and_clear();
    println!(
        "rebuilt {pages} transcript page(s) for {} room(s); unchanged days wrote nothing",
        rooms.len()
    );
    Ok(())
}

/// Deletes messages older than `days` days.
pub async fn prune(data: &Path, backends: &Backends, days: u32) -> anyhow::Result<()> {
    let install = Install::at(data)?;
    let (store, _bus) = chat_backends(&install, backends).await?;
    let before = Utc::now() - chrono::Duration::days(i64::from(days));
    let spinner = ProgressBar::new_spinner().with_message(format!(
        "deleting messages from before {}",
        before.format("%Y-%m-%d %H:%M UTC")
    ));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let removed = store.prune(before).await?;
    // The pruned messages' files are gone from the database; their bytes
    // go too unless another message still shares them.
    spinner.set_message("removing file bytes no message references");
    let blobs = plugin::files::DiskBlobs::new(chat_config(&install).files_dir);
    let gate = tokio::sync::RwLock::new(());
    let collected =
        plugin::collector::collect(store.as_ref(), &blobs, &gate, plugin::collector::GRACE)
            .await
            .context("removing unreferenced file bytes")?;
    spinner.finish_and_clear();
    println!(
        "deleted {removed} message(s) older than {days} day(s) and {} unreferenced file(s) \
         ({} bytes); transcripts are kept",
        collected.blobs, collected.bytes
    );
    Ok(())
}
