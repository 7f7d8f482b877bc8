//! The `Bus`: fans committed room events out to every open connection.
//!
//! The default is in-process (`LocalBus`, one `tokio::sync::broadcast` channel
//! per room). A multi-node deployment swaps in a NATS bus behind the same trait.
//! Events go on the bus only after the store has committed them, so a reader
//! never sees a message the store could lose.
//!
//! The bus carries protocol types as they are: whoever publishes has already
//! rendered the message (`chat` does, once), and each transport encodes what
//! it sends. Presence heartbeats between nodes are [`PresenceGossip`]'s, a
//! trait of their own; [`NodeLink`] is both, as one connection provides them.

use crate::gossip::{Heartbeat, PresenceGossip};
use async_trait::async_trait;
use protocol::{Event, RoomId};
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{broadcast, mpsc};

/// An event as it travels the bus: shared, so a room with a thousand readers
/// clones a pointer a thousand times, not the message.
pub type SharedEvent = Arc<RoomEvent>;

/// A committed event of one room.
pub struct RoomEvent {
    pub room: RoomId,
    pub event: Event,
    /// One encoding of the event for a transport, made by the first
    /// recipient that asks and shared by the rest (see [`RoomEvent::encoded`]).
    /// The bus never looks inside.
    encoded: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl RoomEvent {
    /// Wraps a committed event for the bus, as it is: a message in it should
    /// already carry its `html` (see [`crate::render`]).
    pub fn new(room: RoomId, event: Event) -> SharedEvent {
        Arc::new(Self {
            room,
            event,
            encoded: OnceLock::new(),
        })
    }

    /// The event's seq, if it is part of the durable, ordered history.
    pub fn seq(&self) -> Option<u64> {
        self.event.seq()
    }

    /// What `encode` makes of this event, made by the first caller and then
    /// shared by every recipient, so a frame is serialised once per event,
    /// not once per reader (`ws` keeps its frame here). One encoding per
    /// event: `None` if one of another type was made first, and the caller
    /// encodes for itself.
    pub fn encoded<T: Any + Send + Sync>(&self, encode: impl FnOnce(&Self) -> T) -> Option<&T> {
        self.encoded
            .get_or_init(|| Box::new(encode(self)))
            .downcast_ref()
    }
}

impl std::fmt::Debug for RoomEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomEvent")
            .field("room", &self.room)
            .field("event", &self.event)
            .finish_non_exhaustive()
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
}

/// Everything a node shares with the others: room events ([`Bus`]) and
/// presence heartbeats ([`PresenceGossip`]). [`LocalBus`] and
/// [`NatsBus`](crate::nats::NatsBus) are both; [`AppState::new`] takes one
/// and gives each part only to what uses it.
///
/// [`AppState::new`]: crate::state::AppState::new
pub trait NodeLink: Bus + PresenceGossip {}

impl<T: Bus + PresenceGossip + ?Sized> NodeLink for T {}

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

/// A single node has no one to gossip with.
#[async_trait]
impl PresenceGossip for LocalBus {
    async fn share_heartbeat(&self, _beat: &Heartbeat) {}

    async fn remote_heartbeats(&self) -> Option<mpsc::Receiver<Heartbeat>> {
        None
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
