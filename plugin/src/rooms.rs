//! Rooms as the plugin shows them: `RoomPages`, which host page each room
//! belongs to, remembered in memory; a room's [`card`]; and who the other
//! person of a direct room is.
//!
//! A room never moves to another page, and host page ids are never reused,
//! so once seen the answer cannot go stale (a deleted page's rooms are
//! forgotten with it, [`RoomPages::forget`]); the hot paths (posting, long-polling) ask
//! the host about access without reading the room row each time.

use crate::store::Room;
use protocol::{PageId, RoomCard, RoomId, RoomKind, UserId};
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

/// The stock room icon, for rooms without an avatar.
pub const STOCK_AVATAR: &str = "/assets/room.svg";

/// The room as lists, invitations and the directory show it.
pub fn card(room: &Room) -> RoomCard {
    RoomCard {
        id: room.id.clone(),
        kind: room.kind,
        alias: room.alias.clone(),
        name: room.name.clone(),
        topic: room.topic.clone(),
        avatar_url: match &room.avatar {
            Some(file) => format!("/files/{}/{file}/avatar", room.id),
            None => STOCK_AVATAR.to_owned(),
        },
        is_public: room.is_public,
        encryption_status: "cleartext".to_owned(),
        media_types: vec!["text".to_owned()],
        created_by: room.created_by.clone(),
        created_at: room.created_at,
        last_activity: room.last_activity,
        url: format!("/rooms/{}", room.id),
    }
}

/// The other person of a direct room (its alias is `private:A:B` with `me`
/// one of the two; ids may hold ':', so `me` is matched whole).
pub fn direct_partner(room: &Room, me: &UserId) -> Option<UserId> {
    if room.kind != RoomKind::Direct {
        return None;
    }
    let pair = room.alias.as_deref()?.strip_prefix("private:")?;
    let other = pair
        .strip_prefix(&format!("{me}:"))
        .or_else(|| pair.strip_suffix(&format!(":{me}")))?;
    Some(UserId::new(other))
}
