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

    /// [`Bus::subscribe`], plus the highest seq published to `room` on this
    /// node's channel before the receiver was made, where the bus knows it.
    /// A reader whose cursor is at or past it has nothing to read from the
    /// store: anything newer is still to be published, so the receiver
    /// gets it. `None` (unknown) means "read the store".
    async fn subscribe_seen(
        &self,
        room: &RoomId,
    ) -> (broadcast::Receiver<SharedEvent>, Option<u64>) {
        (self.subscribe(room).await, None)
    }

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
    rooms: Mutex<HashMap<RoomId, Channel>>,
}

/// One room's channel and the highest seq published on it.
struct Channel {
    sender: broadcast::Sender<SharedEvent>,
    /// Set by the first publish after the channel was made; a channel is
    /// dropped with its last reader, and with it what it had seen.
    seen: Option<u64>,
}

impl LocalBus {
    pub fn new() -> Self {
        Self::default()
    }

    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Channel>> {
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, room: &RoomId, event: SharedEvent) {
        let sender = self.rooms().get_mut(room).map(|channel| {
            if let Some(seq) = event.seq() {
                channel.seen = Some(channel.seen.map_or(seq, |seen| seen.max(seq)));
            }
            channel.sender.clone()
        });
        if let Some(sender) = sender {
            // Every receiver may have gone since the lookup: not an error.
            let _ = sender.send(event);
        }
    }

    async fn subscribe(&self, room: &RoomId) -> broadcast::Receiver<SharedEvent> {
        self.subscribe_seen(room).await.0
    }

    async fn subscribe_seen(
        &self,
        room: &RoomId,
    ) -> (broadcast::Receiver<SharedEvent>, Option<u64>) {
        let mut rooms = self.rooms();
        // Drop channels nobody listens to any more, so the map does not grow
        // with every room ever opened. Done here, not on the publish path.
        rooms.retain(|id, channel| id == room || channel.sender.receiver_count() > 0);
        let channel = rooms.entry(room.clone()).or_insert_with(|| Channel {
            sender: broadcast::channel(ROOM_CHANNEL_CAPACITY).0,
            seen: None,
        });
        (channel.sender.subscribe(), channel.seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::Event;

    fn posted(room: &RoomId, seq: u64) -> SharedEvent {
        let message = crate::render::sample(room, seq, "hi");
        RoomEvent::new(room.clone(), Event::Message { message })
    }

    #[tokio::test]
    async fn the_local_bus_knows_the_last_seq_published_while_someone_listens() {
        let bus = LocalBus::new();
        let (lobby, other) = (RoomId::new("lobby"), RoomId::new("other"));
        let (first, seen) = bus.subscribe_seen(&lobby).await;
        assert_eq!(seen, None, "a new channel has seen nothing");
        bus.publish(&lobby, posted(&lobby, 7)).await;
        bus.publish(&lobby, posted(&lobby, 6)).await;
        let (_second, seen) = bus.subscribe_seen(&lobby).await;
        assert_eq!(seen, Some(7), "the highest seq, whatever the order");

        // Once nobody listens the channel goes, and what it knew with it.
        drop(first);
        drop(_second);
        let _ = bus.subscribe_seen(&other).await;
        let (_third, seen) = bus.subscribe_seen(&lobby).await;
        assert_eq!(seen, None);
    }
}
