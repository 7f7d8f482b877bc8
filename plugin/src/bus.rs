//! The `Bus`: fans committed room events out to every open connection.
//!
//! The default is in-process (`LocalBus`, one `tokio::sync::broadcast` channel
//! per room). A multi-node deployment swaps in a NATS bus behind the same trait.
//! Events go on the bus only after the store has committed them, so a reader
//! never sees a message the store could lose.

use async_trait::async_trait;
use protocol::{Event, RoomId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// An event as it travels the bus: shared, so a room with a thousand readers
/// clones a pointer a thousand times, not the message.
pub type SharedEvent = Arc<Event>;

/// How many events a slow reader may fall behind before it is told it lagged
/// (and resyncs from the store).
pub const ROOM_CHANNEL_CAPACITY: usize = 1024;

/// Publish/subscribe for room events.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Sends a committed event to every subscriber of `room` (on every node).
    async fn publish(&self, room: &RoomId, event: SharedEvent);

    /// Receives `room`'s events published from now on. A receiver that falls
    /// more than [`ROOM_CHANNEL_CAPACITY`] behind gets `RecvError::Lagged` and
    /// must resync from the store.
    async fn subscribe(&self, room: &RoomId) -> broadcast::Receiver<SharedEvent>;
}

/// The in-process bus for single-node installs.
#[derive(Default)]
pub struct LocalBus {
    // A std Mutex is fine: it is held only to look up or insert a sender, never
    // across an `.await`.
    rooms: Mutex<HashMap<RoomId, broadcast::Sender<SharedEvent>>>,
}

impl LocalBus {
    pub fn new() -> Self {
        Self::default()
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, broadcast::Sender<SharedEvent>>> {
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, room: &RoomId, event: SharedEvent) {
        let sender = self.rooms().get(room).cloned();
        if let Some(sender) = sender {
            // Every receiver may have gone since the lookup: not an error.
            let _ = sender.send(event);
        }
    }

    async fn subscribe(&self, room: &RoomId) -> broadcast::Receiver<SharedEvent> {
        let mut rooms = self.rooms();
        // Drop channels nobody listens to any more, so the map does not grow
        // with every room ever opened. Done here, not on the publish path.
        rooms.retain(|id, sender| id == room || sender.receiver_count() > 0);
        rooms
            .entry(room.clone())
            .or_insert_with(|| broadcast::channel(ROOM_CHANNEL_CAPACITY).0)
            .subscribe()
    }
}
