//! A wiki page holding a chat room, with the transcript publisher writing
//! under it and no server: for tests that drive publishing directly over
//! messages stamped with simulated times.

use plugin::publisher::Publisher;
use plugin::store::{Room, Store as _};
use plugin::Clock;
use protocol::{PageId, UserId};
use std::sync::Arc;
use wiki::host::WikiHost;
use wiki::pages::{self, PagePath};
use wiki::store::Store;

pub struct Publishing {
    /// Holds both databases; removed when the test ends.
    pub dir: tempfile::TempDir,
    pub wiki: Arc<dyn Store>,
    pub chat: Arc<plugin::SqliteStore>,
    pub publisher: Publisher,
    pub room: Room,
}

/// Page `page` holding `{chat:ROOM}` in a fresh wiki, the room, and a
/// publisher writing its transcripts through the real `WikiHost`.
pub async fn publishing(page: &str, room: &str) -> Publishing {
    let dir = tempfile::tempdir().unwrap();
    let wiki: Arc<dyn Store> =
        Arc::new(wiki::store::SqliteStore::open(&dir.path().join("wiki.db")).unwrap());
    let chat = Arc::new(plugin::SqliteStore::open(&dir.path().join("chat.db")).unwrap());
    let host_page = pages::put(
        wiki.as_ref(),
        &PagePath::parse(page).unwrap(),
        None,
        &format!("{{chat:{room}}}"),
        "a",
    )
    .await
    .unwrap();
    let host = Arc::new(WikiHost::new(Arc::clone(&wiki)));
    let publisher = Publisher::new(chat.clone(), host, Clock::system());
    let room = chat
        .ensure_room(
            &PageId::new(host_page.id.to_string()),
            room,
            &UserId::new("alice"),
        )
        .await
        .unwrap();
    Publishing {
        dir,
        wiki,
        chat,
        publisher,
        room,
    }
}
