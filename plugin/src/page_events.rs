//! What the plugin does when its host reports a page event ([`PageEvent`]).
//!
//! A deleted page takes its chat with it (seed 000: a buffer is cleared when
//! it is deleted): the store removes the page's rooms and all they hold in
//! one transaction ([`Store::remove_page`]), then the bytes of files no
//! other room shares are deleted (under the collector's gate, so a racing
//! upload of the same bytes keeps them: [`crate::collector`]), and the
//! rooms are forgotten from the
//! in-memory room-to-page map. Open streams stop by themselves: deleting a
//! page moves the host's ACL epoch, and a deleted page grants no access.
//!
//! Order matters: the host deletes the page first and commits, so no
//! request can create a room on it afterwards, and only then calls this.
//! If this fails after that commit, the rooms stay behind but can never
//! reattach to another page (host page ids are never reused), and calling
//! it again finishes the job: every step is idempotent.
//!
//! The built-in wiki calls [`AppState::page_event`] in-process. A Connect
//! host would need a webhook (see docs/OPERATING.md, "Pages and
//! transcripts"); none is built yet.
//!
//! [`Store::remove_page`]: crate::store::Store::remove_page

use crate::host::PageEvent;
use crate::state::AppState;
use crate::store::RemovedPage;

impl AppState {
    /// Acts on `event` from the host; see the module doc. Returns what the
    /// store removed.
    pub async fn page_event(&self, event: PageEvent) -> anyhow::Result<RemovedPage> {
        match event {
            PageEvent::Deleted(page) => {
                let removed = self.store.remove_page(&page).await?;
                for room in &removed.rooms {
                    self.room_pages.forget(room);
                }
                crate::collector::remove_unreferenced(self, &removed.unreferenced_blobs).await?;
                if !removed.rooms.is_empty() {
                    tracing::info!(
                        page = %page,
                        rooms = removed.rooms.len(),
                        blobs = removed.unreferenced_blobs.len(),
                        "a deleted page's chat removed"
                    );
                }
                Ok(removed)
            }
        }
    }
}
