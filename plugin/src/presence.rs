//! Who is in a room right now: presence with heartbeats that expire.
//!
//! Presence is soft state, kept in memory on each node: a client says it is
//! `active`, `away`, `idle` or `invisible` and repeats it (a heartbeat) at
//! least every [`HEARTBEAT_TTL`]; an entry not refreshed in time expires and
//! the user shows as offline. Invisible users are tracked but shown to
//! nobody: to others they look exactly like offline users.
//!
//! Changes others can see become `presence` events on the bus; a sweeper task
//! announces the expiries to this node's readers. With several nodes, every
//! heartbeat is also shared ([`PresenceGossip::share_heartbeat`]) and
//! [`absorb_remote`] records the other nodes' heartbeats here, so each node
//! knows the union and expires a dead node's users by itself.

use crate::bus::{Bus, RoomEvent, SharedEvent};
use crate::gossip::{Heartbeat, PresenceGossip};
use protocol::{Event, Participant, Presence, RoomId, UserId};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

/// How long a heartbeat keeps a user present. Clients beat every 20 s.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(45);
/// How often expired entries are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    status: Presence,
    expires: Instant,
}

/// Presence for every room on this node.
#[derive(Default)]
pub struct PresenceBoard {
    // A std Mutex: held only for map updates, never across an `.await`.
    rooms: Mutex<HashMap<RoomId, HashMap<UserId, Entry>>>,
}

/// How others see someone: their status, or `None` for offline/invisible.
fn visible(status: Option<Presence>) -> Option<Presence> {
    status.filter(|s| *s != Presence::Invisible)
}

impl PresenceBoard {
    pub fn new() -> Self {
        Self::default()
    }

    fn rooms(&self) -> MutexGuard<'_, HashMap<RoomId, HashMap<UserId, Entry>>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a heartbeat with `status` (`None`: the user left). Returns the
    /// presence others should now see if it changed, else `None`.
    pub fn beat(
        &self,
        room: &RoomId,
        user: &UserId,
        name: &str,
        status: Option<Presence>,
    ) -> Option<Option<Presence>> {
        let now = Instant::now();
        let mut rooms = self.rooms();
        let members = rooms.entry(room.clone()).or_default();
        let before = members
            .get(user)
            .filter(|e| e.expires > now)
            .map(|e| e.status);
        match status {
            Some(status) => {
                members.insert(
                    user.clone(),
                    Entry {
                        name: name.to_owned(),
                        status,
                        expires: now + HEARTBEAT_TTL,
                    },
                );
            }
            None => {
                members.remove(user);
            }
        }
        let (was, is) = (visible(before), visible(status));
        (was != is).then_some(is)
    }

    /// Who others can see in `room` now, by name.
    pub fn present(&self, room: &RoomId) -> Vec<Participant> {
        let now = Instant::now();
        let rooms = self.rooms();
        let mut present: Vec<Participant> = rooms
            .get(room)
            .into_iter()
            .flat_map(|members| members.iter())
            .filter(|(_, e)| e.expires > now && visible(Some(e.status)).is_some())
            .map(|(id, e)| Participant {
                id: id.clone(),
                name: e.name.clone(),
                presence: Some(e.status),
                last_seen: None,
            })
            .collect();
        present.sort_by(|a, b| a.name.cmp(&b.name));
        present
    }

    /// The rooms `user` is present in now (invisible included).
    pub fn rooms_of(&self, user: &UserId) -> Vec<RoomId> {
        let now = Instant::now();
        self.rooms()
            .iter()
            .filter(|(_, members)| members.get(user).is_some_and(|e| e.expires > now))
            .map(|(room, _)| room.clone())
            .collect()
    }

    /// `user`'s own status in `room`, invisible included.
    pub fn status(&self, room: &RoomId, user: &UserId) -> Option<Presence> {
        let now = Instant::now();
        self.rooms()
            .get(room)
            .and_then(|m| m.get(user))
            .filter(|e| e.expires > now)
            .map(|e| e.status)
    }

    /// Removes expired entries; returns those others could see, to announce.
    fn sweep(&self) -> Vec<(RoomId, UserId, String)> {
        let now = Instant::now();
        let mut gone = Vec::new();
        let mut rooms = self.rooms();
        for (room, members) in rooms.iter_mut() {
            members.retain(|user, e| {
                let alive = e.expires > now;
                if !alive && visible(Some(e.status)).is_some() {
                    gone.push((room.clone(), user.clone(), e.name.clone()));
                }
                alive
            });
        }
        rooms.retain(|_, members| !members.is_empty());
        gone
    }
}

/// The `presence` event announcing `status` for `user`.
pub fn event(room: &RoomId, user: &UserId, name: &str, status: Option<Presence>) -> SharedEvent {
    RoomEvent::new(
        room.clone(),
        Event::Presence {
            user: user.clone(),
            name: name.to_owned(),
            presence: status,
        },
    )
}

/// Sweeps `board` every few seconds and announces expiries to this node's
/// readers, until the board is dropped (the app shut down). Every node
/// sweeps its own copy of the union, so each announces to its own readers.
pub async fn sweep_forever(board: Weak<PresenceBoard>, bus: Weak<dyn Bus>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        let (Some(board), Some(bus)) = (board.upgrade(), bus.upgrade()) else {
            return;
        };
        for (room, user, name) in board.sweep() {
            bus.publish_local(&room, event(&room, &user, &name, None))
                .await;
        }
    }
}

/// Records the heartbeats other nodes share on `board` until the gossip or
/// the board goes. The node that received a heartbeat announced any change
/// already (on every node), so nothing is published here.
pub async fn absorb_remote(board: Weak<PresenceBoard>, gossip: Weak<dyn PresenceGossip>) {
    let beats = match gossip.upgrade() {
        Some(gossip) => gossip.remote_heartbeats().await,
        None => return,
    };
    let Some(mut beats) = beats else {
        return;
    };
    while let Some(Heartbeat {
        room,
        user,
        name,
        status,
    }) = beats.recv().await
    {
        let Some(board) = board.upgrade() else {
            return;
        };
        board.beat(&room, &user, &name, status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_users_look_offline_to_others() {
        let board = PresenceBoard::new();
        let (room, ann) = (RoomId::new("r"), UserId::new("ann"));
        assert_eq!(
            board.beat(&room, &ann, "Ann", Some(Presence::Active)),
            Some(Some(Presence::Active))
        );
        // A repeated heartbeat changes nothing others see.
        assert_eq!(board.beat(&room, &ann, "Ann", Some(Presence::Active)), None);
        assert_eq!(board.present(&room).len(), 1);
        // Going invisible is announced as going offline.
        assert_eq!(
            board.beat(&room, &ann, "Ann", Some(Presence::Invisible)),
            Some(None)
        );
        assert!(board.present(&room).is_empty());
        assert_eq!(board.status(&room, &ann), Some(Presence::Invisible));
        // Leaving while invisible is not news to anyone.
        assert_eq!(board.beat(&room, &ann, "Ann", None), None);
    }

    #[test]
    fn expired_heartbeats_are_swept_and_announced() {
        let board = PresenceBoard::new();
        let room = RoomId::new("r");
        board.beat(&room, &UserId::new("ann"), "Ann", Some(Presence::Away));
        board.beat(&room, &UserId::new("eve"), "Eve", Some(Presence::Invisible));
        // Age every entry past its expiry.
        for members in board.rooms().values_mut() {
            for entry in members.values_mut() {
                entry.expires = Instant::now() - Duration::from_secs(1);
            }
        }
        let gone = board.sweep();
        assert_eq!(gone.len(), 1, "only visible users are announced");
        assert_eq!(gone[0].2, "Ann");
        assert!(board.present(&room).is_empty());
    }
}
