//! The `Bus`: fans committed room events out to every open connection.
//!
//! The default is in-process (`LocalBus`, one `tokio::sync::broadcast` channel
//! per room). A multi-node deployment swaps in a NATS bus behind the same trait.
//! Events go on the bus only after the store has committed them, so a reader
//! never sees a message the store could lose.

use async_trait::async_trait;
use axum::extract::ws::Utf8Bytes;
use protocol::{Event, Presence, RoomId, ServerFrame, UserId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{broadcast, mpsc};

/// An event as it travels the bus: shared, so a room with a thousand readers
/// clones a pointer a thousand times, not the message.
pub type SharedEvent = Arc<RoomEvent>;

/// A committed event and, once first needed, its WebSocket frame. The frame
/// is serialised once per event, not once per recipient.
#[derive(Debug)]
pub struct RoomEvent {
    pub room: RoomId,
    pub event: Event,
    frame: OnceLock<Utf8Bytes>,
}

impl RoomEvent {
    /// Wraps a committed event for the bus. Its message (if any) is
    /// rendered to HTML here, once per event, rather than once per reader.
    pub fn new(room: RoomId, event: Event) -> SharedEvent {
        Arc::new(Self {
            room,
            event: crate::render::event(event),
            frame: OnceLock::new(),
        })
    }

    /// The `ServerFrame::Event` JSON for this event; cheap to clone.
    pub fn frame(&self) -> Utf8Bytes {
        self.frame
            .get_or_init(|| {
                let frame = ServerFrame::Event {
                    room: self.room.clone(),
                    event: self.event.clone(),
                };
                // Serialising these plain data types cannot fail.
                Utf8Bytes::from(serde_json::to_string(&frame).unwrap_or_default())
            })
            .clone()
    }

    /// The event's seq, if it is part of the durable, ordered history.
    pub fn seq(&self) -> Option<u64> {
        self.event.seq()
    }
}

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

    /// Sends `event` to this node's subscribers of `room` only. For news every
    /// node works out by itself (a presence expiry), so that readers hear it
    /// once rather than once per node.
    async fn publish_local(&self, room: &RoomId, event: SharedEvent) {
        self.publish(room, event).await;
    }

    /// Tells the other nodes about a presence heartbeat this node received,
    /// so that each knows everyone present on any node. A single node has
    /// no one to tell.
    async fn share_heartbeat(&self, _beat: &Heartbeat) {}

    /// Heartbeats the other nodes share, as they arrive; `None` where there
    /// are no other nodes. Called once, when the app starts.
    async fn remote_heartbeats(&self) -> Option<mpsc::Receiver<Heartbeat>> {
        None
    }
}

/// A presence heartbeat as nodes share it: `status: None` means the user
/// left. Receiving nodes record it with their own expiry, so a node that
/// dies stops refreshing its users and they expire everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub room: RoomId,
    pub user: UserId,
    pub name: String,
    pub status: Option<Presence>,
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
