//! `RoomPages`: which host page each room belongs to, remembered in memory.
//!
//! A room never moves to another page, and host page ids are never reused,
//! so once seen the answer cannot go stale (a deleted page's rooms are
//! forgotten with it, [`RoomPages::forget`]); the hot paths (posting, long-polling) ask
//! the host about access without reading the room row each time.

use crate::store::Room;
use protocol::{PageId, RoomId, RoomKind};
use std::collections::HashMap;
use std::sync::Mutex;

/// The page each room belongs to, remembered once seen: a room never moves
/// to another page, so the answer cannot go stale.
/// Posting and long-polling need only the page (for the access check), so
/// they skip reading the room row every time.
#[derive(Default)]
pub struct RoomPages(Mutex<HashMap<RoomId, PageId>>);

/// Rooms remembered before the map starts over (it refills as asked).
const MAX_ROOM_PAGES: usize = 100_000;

impl RoomPages {
    pub fn get(&self, room: &RoomId) -> Option<PageId> {
        self.lock().get(room).cloned()
    }

    /// Remembers a page room's page; other rooms' access comes from
    /// membership, which changes, so they are not remembered.
    pub fn remember(&self, room: &Room) {
        let (Some(page), RoomKind::Page) = (&room.page, room.kind) else {
            return;
        };
        let mut pages = self.lock();
        if pages.len() >= MAX_ROOM_PAGES {
            pages.clear();
        }
        pages.insert(room.id.clone(), page.clone());
    }

    /// Drops a room that is gone (its host page was deleted).
    pub fn forget(&self, room: &RoomId) {
        self.lock().remove(room);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, PageId>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
