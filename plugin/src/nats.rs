//! The multi-node `Bus`: room events travel between `backchannel` nodes on
//! NATS subjects `backchannel.room.<room_id>`.
//!
//! Each node keeps, like [`LocalBus`](crate::bus::LocalBus), one local
//! `broadcast` channel per room that has readers on this node. The first
//! local reader of a room makes the node subscribe to the room's subject; a
//! task (the room's *pump*) turns what arrives into [`RoomEvent`]s on the
//! local channel. When the last local reader is gone, the pump notices (on
//! its next message, or within [`IDLE_CHECK`]), removes the room and drops
//! the NATS subscription, so a node only hears rooms someone on it follows.
//!
//! # Exactly once for this node's own events
//! [`publish`](Bus::publish) hands the event to local readers directly and
//! publishes it on NATS for the other nodes; the connection is opened with
//! `no_echo`, so the server never sends a node its own publications back.
//! Compared with "deliver only via NATS", local readers keep working while
//! NATS is away (the node degrades to a single node instead of going silent),
//! get no extra round trip, and share the already-built event (no JSON
//! round-trip between components). No node-id filter is needed, so two nodes
//! misconfigured with the same id cannot swallow each other's events; the id
//! names the connection and stamps a `Backchannel-Node` header for tracing.
//!
//! # What may be lost, and why that is fine
//! Only committed events are published (the store has them), and NATS
//! delivery is at most once: an event published while a node is disconnected
//! is not replayed. Readers do not depend on the bus for completeness: the
//! feed detects the seq gap at the next message and refills from the store.
//! A reconnect is logged at info, a disconnect at warn; async-nats
//! re-subscribes every room by itself after a reconnect.
//! Events from one node reach the others in publish order; events from
//! different nodes may interleave, which the feed's seq ordering absorbs.
//!
//! # Credentials
//! A NATS server that requires authentication gets it from the URL:
//! `nats://user:password@host:4222` or `nats://token@host:4222` (see
//! [`NatsAddress`]); the secret is passed to async-nats's connect options
//! and never logged (errors and log lines name the server without it).
//!
//! # Presence across nodes
//! Every heartbeat a node receives is shared on [`PRESENCE_SUBJECT`], which
//! every node subscribes to, so each node's `PresenceBoard` holds the union
//! of who is present anywhere. Remote entries expire on the receiving node's
//! own clock: when a node dies its users stop being refreshed and drop out on
//! every other node within `presence::HEARTBEAT_TTL`. Each node announces
//! expiries to its own readers only ([`Bus::publish_local`]), so a reader
//! hears "offline" once, not once per node.

mod address;

pub use address::NatsAddress;

use crate::bus::{Bus, RoomEvent, SharedEvent, ROOM_CHANNEL_CAPACITY};
use crate::gossip::{Heartbeat, PresenceGossip};
use anyhow::Context;
use async_trait::async_trait;
use futures_util::StreamExt;
use protocol::{Event, RoomId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, OnceCell};
use tokio::task::JoinHandle;

/// Subjects are `backchannel.room.<room_id>`.
pub const SUBJECT_PREFIX: &str = "backchannel.room.";
/// Every node shares the presence heartbeats it receives on this subject.
pub const PRESENCE_SUBJECT: &str = "backchannel.presence";
/// How many remote heartbeats may wait for the board before the newest are
/// dropped (a dropped heartbeat is repeated by its client within seconds).
const HEARTBEAT_BACKLOG: usize = 4096;
/// The header naming the node that published an event (diagnostics only).
pub const NODE_HEADER: &str = "Backchannel-Node";
/// How often a quiet room's pump checks whether anyone still reads it.
pub const IDLE_CHECK: Duration = Duration::from_secs(30);
/// Longest a publish or a new subscription waits on NATS. Past that the
/// event is left to the store (readers refill gaps), so a NATS outage never
/// holds up posting.
const NATS_WAIT: Duration = Duration::from_secs(2);

type Rooms = HashMap<RoomId, Relay>;

/// A NATS-backed [`Bus`] for running several nodes on one store.
pub struct NatsBus {
    client: async_nats::Client,
    /// This node's name, for logs, the connection name and the header.
    node: String,
    /// Rooms with local readers. A std Mutex is fine: it is held only to
    /// look up, insert or remove a room, never across an `.await`. Pumps hold
    /// a `Weak` so dropping the bus drops every room (and aborts the pumps).
    rooms: Arc<Mutex<Rooms>>,
    /// The task forwarding other nodes' heartbeats, once someone asked.
    heartbeats: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for NatsBus {
    fn drop(&mut self) {
        if let Some(task) = self.heartbeats.get_mut().ok().and_then(Option::take) {
            task.abort();
        }
    }
}

/// One room followed on this node.
struct Relay {
    sender: broadcast::Sender<SharedEvent>,
    /// The pump feeding `sender` from NATS, set once its subscription is
    /// registered. Shared so concurrent first readers wait for the same one.
    pump: Arc<OnceCell<JoinHandle<()>>>,
}

impl Relay {
    fn new() -> Self {
        Self {
            sender: broadcast::channel(ROOM_CHANNEL_CAPACITY).0,
            pump: Arc::new(OnceCell::new()),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Ending the pump drops its `Subscriber`, which unsubscribes.
        if let Some(pump) = self.pump.get() {
            pump.abort();
        }
    }
}

impl NatsBus {
    /// Connects to the NATS server at `url` (e.g. `nats://127.0.0.1:4222`,
    /// with `user:password@` or `token@` before the host when the server
    /// asks for them; see [`NatsAddress`]) as node `node_id`. Fails if the
    /// server cannot be reached or refuses the credentials now; later
    /// outages are reconnected in the background.
    pub async fn connect(url: &str, node_id: &str) -> anyhow::Result<Self> {
        let address = NatsAddress::parse(url)?;
        let node = node_id.to_owned();
        let options = async_nats::ConnectOptions::new()
            .name(format!("backchannel {node_id}"))
            .no_echo()
            .event_callback(move |event| {
                let node = node.clone();
                async move { log_connection_event(&node, event) }
            });
        let client = address
            .authenticate(options)
            .connect(address.server())
            .await
            .with_context(|| format!("connecting to NATS at {address}"))?;
        tracing::info!(node = node_id, server = %address, auth = address.auth_kind(), "NATS bus");
        Ok(Self {
            client,
            node: node_id.to_owned(),
            rooms: Arc::new(Mutex::new(HashMap::new())),
            heartbeats: Mutex::new(None),
        })
    }

    /// How many rooms this node currently follows (has local readers for).
    pub fn followed_rooms(&self) -> usize {
        lock(&self.rooms).len()
    }

    /// Returns once the server has processed everything this connection
    /// sent before: a request nobody answers comes back as "no responders"
    /// only after the server has read it, and it reads in order. (`flush`
    /// only proves the bytes left this node.)
    async fn round_trip(&self) -> anyhow::Result<()> {
        let probe = format!("_BACKCHANNEL.ping.{}", uuid::Uuid::new_v4().simple());
        let answer = tokio::time::timeout(NATS_WAIT, self.client.request(probe, Vec::new().into()))
            .await
            .context("NATS did not answer in time")?;
        match answer {
            Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
            Ok(_) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Subscribes to `room`'s subject and starts its pump.
    async fn start_pump(
        &self,
        room: &RoomId,
        subject: String,
        sender: broadcast::Sender<SharedEvent>,
    ) -> anyhow::Result<JoinHandle<()>> {
        let subscription = tokio::time::timeout(NATS_WAIT, self.client.subscribe(subject))
            .await
            .context("NATS did not take the subscription in time")??;
        // The caller reads the store next; an event another node commits
        // after that read must reach us, so wait until the server has
        // registered the SUB. Skipped while disconnected: async-nats
        // registers it again on reconnect, and readers refill from the store.
        if self.client.connection_state() == async_nats::connection::State::Connected {
            if let Err(e) = self.round_trip().await {
                tracing::warn!(room = %room, error = %e, "confirming a NATS subscription");
            }
        }
        Ok(tokio::spawn(pump(
            subscription,
            room.clone(),
            sender,
            Arc::downgrade(&self.rooms),
        )))
    }
}

fn lock(rooms: &Mutex<Rooms>) -> MutexGuard<'_, Rooms> {
    rooms.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The room's subject, or `None` if its id is not a safe subject token.
fn subject(room: &RoomId) -> Option<String> {
    let id = room.0.as_str();
    let safe = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    safe.then(|| format!("{SUBJECT_PREFIX}{id}"))
}

fn log_connection_event(node: &str, event: async_nats::Event) {
    use async_nats::Event as E;
    match event {
        E::Connected => tracing::info!(
            node,
            "connected to NATS; events missed while away are refilled from the store"
        ),
        E::Disconnected => tracing::warn!(node, "lost the NATS connection; reconnecting"),
        E::SlowConsumer(sid) => {
            tracing::warn!(node, sid, "NATS dropped events for a slow subscription")
        }
        E::ServerError(e) => tracing::warn!(node, error = %e, "NATS server error"),
        E::ClientError(e) => tracing::warn!(node, error = %e, "NATS client error"),
        other => tracing::info!(node, event = %other, "NATS connection event"),
    }
}

/// Feeds one room's NATS messages to its local channel until nobody on this
/// node reads the room any more.
async fn pump(
    mut subscription: async_nats::Subscriber,
    room: RoomId,
    sender: broadcast::Sender<SharedEvent>,
    rooms: Weak<Mutex<Rooms>>,
) {
    let mut idle_check = tokio::time::interval(IDLE_CHECK);
    idle_check.tick().await;
    loop {
        tokio::select! {
            incoming = subscription.next() => match incoming {
                Some(message) => match serde_json::from_slice::<Event>(&message.payload) {
                    // No readers left between the check and now: not an error.
                    Ok(event) => drop(sender.send(RoomEvent::new(room.clone(), event))),
                    Err(e) => tracing::warn!(
                        room = %room,
                        from = ?message.headers.as_ref().and_then(|h| h.get(NODE_HEADER)),
                        error = %e,
                        "ignoring an undecodable event from NATS"
                    ),
                },
                None => {
                    // The client is shutting down. Forget the room so its
                    // readers see the channel close and reconnect.
                    tracing::info!(room = %room, "NATS subscription ended");
                    retire(&rooms, &room, &sender, true);
                    return;
                }
            },
            _ = idle_check.tick() => {}
        }
        if sender.receiver_count() == 0 && retire(&rooms, &room, &sender, false) {
            return;
        }
    }
}

/// Removes `room` if it is still this `sender`'s and (unless `always`) has
/// no readers. Returns whether the pump should stop. Readers are only ever
/// added under the same lock, so none can appear between check and removal.
fn retire(
    rooms: &Weak<Mutex<Rooms>>,
    room: &RoomId,
    sender: &broadcast::Sender<SharedEvent>,
    always: bool,
) -> bool {
    let Some(rooms) = rooms.upgrade() else {
        return true;
    };
    let mut rooms = lock(&rooms);
    let ours = rooms
        .get(room)
        .is_some_and(|relay| relay.sender.same_channel(sender));
    if !ours {
        return true;
    }
    if always || sender.receiver_count() == 0 {
        // Dropping the relay aborts this very task; it is returning anyway.
        rooms.remove(room);
        return true;
    }
    false
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(&self, room: &RoomId, event: SharedEvent) {
        let local = lock(&self.rooms).get(room).map(|r| r.sender.clone());
        if let Some(local) = local {
            // Every local reader may have gone since the lookup: fine.
            let _ = local.send(Arc::clone(&event));
        }

        let Some(subject) = subject(room) else {
            tracing::warn!(room = %room, "room id is not a NATS subject token; delivered on this node only");
            return;
        };
        let payload = match serde_json::to_vec(&event.event) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(room = %room, error = %e, "serialising an event for NATS");
                return;
            }
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(NODE_HEADER, self.node.as_str());
        let sent = tokio::time::timeout(
            NATS_WAIT,
            self.client
                .publish_with_headers(subject, headers, payload.into()),
        )
        .await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(room = %room, error = %e, "publishing an event on NATS"),
            Err(_) => {
                tracing::warn!(room = %room, "NATS publish timed out; other nodes refill from the store")
            }
        }
    }

    async fn subscribe(&self, room: &RoomId) -> broadcast::Receiver<SharedEvent> {
        let (receiver, sender, pump) = {
            let mut rooms = lock(&self.rooms);
            let relay = rooms.entry(room.clone()).or_insert_with(Relay::new);
            (
                relay.sender.subscribe(),
                relay.sender.clone(),
                Arc::clone(&relay.pump),
            )
        };
        let Some(subject) = subject(room) else {
            tracing::warn!(room = %room, "room id is not a NATS subject token; following it on this node only");
            return receiver;
        };
        // The first reader starts the pump; readers arriving meanwhile wait
        // for it, so none returns before the room is subscribed on NATS.
        let started = pump
            .get_or_try_init(|| self.start_pump(room, subject, sender))
            .await;
        if let Err(e) = started {
            // Local events still arrive; the next reader tries NATS again.
            tracing::warn!(room = %room, error = ?e, "subscribing to the room on NATS");
        }
        receiver
    }

    async fn publish_local(&self, room: &RoomId, event: SharedEvent) {
        let local = lock(&self.rooms).get(room).map(|r| r.sender.clone());
        if let Some(local) = local {
            let _ = local.send(event);
        }
    }
}

#[async_trait]
impl PresenceGossip for NatsBus {
    async fn share_heartbeat(&self, beat: &Heartbeat) {
        let payload = match serde_json::to_vec(beat) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "serialising a heartbeat for NATS");
                return;
            }
        };
        let sent = tokio::time::timeout(
            NATS_WAIT,
            self.client.publish(PRESENCE_SUBJECT, payload.into()),
        )
        .await;
        // A lost heartbeat is repeated by its client within seconds.
        if !matches!(sent, Ok(Ok(()))) {
            tracing::debug!(room = %beat.room, "sharing a heartbeat on NATS failed");
        }
    }

    async fn remote_heartbeats(&self) -> Option<mpsc::Receiver<Heartbeat>> {
        let mut subscription = match self.client.subscribe(PRESENCE_SUBJECT).await {
            Ok(subscription) => subscription,
            Err(e) => {
                tracing::warn!(error = %e, "subscribing to presence on NATS; presence stays per node");
                return None;
            }
        };
        let (sender, receiver) = mpsc::channel(HEARTBEAT_BACKLOG);
        let task = tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                match serde_json::from_slice::<Heartbeat>(&message.payload) {
                    Ok(beat) => {
                        if let Err(mpsc::error::TrySendError::Closed(_)) = sender.try_send(beat) {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "ignoring a malformed heartbeat from NATS")
                    }
                }
            }
        });
        if let Some(old) = lock_task(&self.heartbeats).replace(task) {
            old.abort();
        }
        Some(receiver)
    }
}

fn lock_task(task: &Mutex<Option<JoinHandle<()>>>) -> MutexGuard<'_, Option<JoinHandle<()>>> {
    task.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra::services::nats_url;
    use infra::skip;
    use protocol::{Message, UserId};

    /// Two buses on one NATS server: two nodes. `None` when NATS is missing
    /// outside CI (after printing the skip line).
    async fn two_nodes() -> Option<(NatsBus, NatsBus)> {
        let url = nats_url();
        let a = match NatsBus::connect(&url, "node-a").await {
            Ok(bus) => bus,
            Err(e) => {
                skip::missing("nats bus tests", &format!("NATS is unreachable: {e:#}"));
                return None;
            }
        };
        let b = NatsBus::connect(&url, "node-b").await.unwrap();
        Some((a, b))
    }

    /// A random room id, so parallel tests on one server do not meet.
    fn fresh_room() -> RoomId {
        RoomId(uuid::Uuid::new_v4().simple().to_string()[..16].to_owned())
    }

    fn message(room: &RoomId, seq: u64) -> SharedEvent {
        let message = Message {
            client_msg_id: Some(format!("k{seq}")),
            ..crate::render::sample(room, seq, &format!("hello {seq}"))
        };
        RoomEvent::new(room.clone(), Event::Message { message })
    }

    async fn next(receiver: &mut broadcast::Receiver<SharedEvent>) -> Option<SharedEvent> {
        tokio::time::timeout(Duration::from_secs(2), receiver.recv())
            .await
            .ok()
            .map(|received| received.unwrap())
    }

    /// Nothing more arrives within a moment.
    async fn quiet(receiver: &mut broadcast::Receiver<SharedEvent>) -> bool {
        tokio::time::timeout(Duration::from_millis(300), receiver.recv())
            .await
            .is_err()
    }

    #[test]
    fn only_plain_room_ids_become_subjects() {
        assert_eq!(
            subject(&RoomId::new("0a1b2c3d4e5f6789")).as_deref(),
            Some("backchannel.room.0a1b2c3d4e5f6789")
        );
        for bad in ["", "a.b", "a*", ">", "a b", "ü"] {
            assert_eq!(subject(&RoomId::new(bad)), None, "{bad:?}");
        }
    }

    #[tokio::test]
    async fn an_event_reaches_both_nodes_exactly_once() {
        let Some((a, b)) = two_nodes().await else {
            return;
        };
        let room = fresh_room();
        let mut on_a = a.subscribe(&room).await;
        let mut on_b = b.subscribe(&room).await;

        let sent = message(&room, 1);
        a.publish(&room, Arc::clone(&sent)).await;

        let got = next(&mut on_b).await.expect("the other node got the event");
        assert_eq!(got.room, room);
        assert_eq!(got.event, sent.event);
        let local = next(&mut on_a).await.expect("the publishing node got it");
        assert!(Arc::ptr_eq(&local, &sent), "local readers share the event");
        assert!(quiet(&mut on_a).await, "no echo back from NATS");
        assert!(quiet(&mut on_b).await, "delivered once");

        // And the other way round.
        b.publish(&room, message(&room, 2)).await;
        assert_eq!(next(&mut on_a).await.and_then(|e| e.seq()), Some(2));
        assert_eq!(next(&mut on_b).await.and_then(|e| e.seq()), Some(2));
        assert!(quiet(&mut on_a).await && quiet(&mut on_b).await);
    }

    #[tokio::test]
    async fn a_node_only_follows_rooms_it_has_readers_for() {
        let Some((a, b)) = two_nodes().await else {
            return;
        };
        let (followed, other) = (fresh_room(), fresh_room());
        let mut reader = b.subscribe(&followed).await;
        a.publish(&other, message(&other, 1)).await;
        a.publish(&followed, message(&followed, 7)).await;
        let got = next(&mut reader).await.expect("the followed room's event");
        assert_eq!((got.room.clone(), got.seq()), (followed.clone(), Some(7)));
        assert_eq!(b.followed_rooms(), 1, "the other room was never subscribed");
        // A reader arriving later does not get earlier events.
        let mut late = b.subscribe(&other).await;
        assert!(quiet(&mut late).await);
    }

    #[tokio::test]
    async fn the_subscription_goes_with_the_last_reader() {
        let Some((a, b)) = two_nodes().await else {
            return;
        };
        let room = fresh_room();
        let reader = b.subscribe(&room).await;
        assert_eq!(b.followed_rooms(), 1);
        drop(reader);
        // The next event shows the pump nobody listens any more.
        a.publish(&room, message(&room, 1)).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while b.followed_rooms() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(b.followed_rooms(), 0);

        // Following the room again works.
        let mut again = b.subscribe(&room).await;
        a.publish(&room, message(&room, 2)).await;
        assert_eq!(next(&mut again).await.and_then(|e| e.seq()), Some(2));
        assert!(quiet(&mut again).await);
    }

    #[tokio::test]
    async fn delivery_resumes_after_a_reconnect() {
        let Some((a, b)) = two_nodes().await else {
            return;
        };
        let room = fresh_room();
        let mut reader = b.subscribe(&room).await;
        b.client.force_reconnect().await.unwrap();
        // Events sent while b is away may be lost (the store refills them);
        // once b is back, they flow again.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut seq = 0;
        let got = loop {
            seq += 1;
            a.publish(&room, message(&room, seq)).await;
            if let Ok(Ok(event)) =
                tokio::time::timeout(Duration::from_millis(200), reader.recv()).await
            {
                break event;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no event after reconnecting"
            );
        };
        assert_eq!(got.room, room);
    }

    #[tokio::test]
    async fn odd_room_ids_stay_on_their_node() {
        let Some((a, b)) = two_nodes().await else {
            return;
        };
        let room = RoomId::new("not.a.token");
        let mut on_a = a.subscribe(&room).await;
        let mut on_b = b.subscribe(&room).await;
        a.publish(&room, message(&room, 1)).await;
        assert_eq!(next(&mut on_a).await.and_then(|e| e.seq()), Some(1));
        assert!(quiet(&mut on_b).await);
    }

    #[tokio::test]
    async fn local_news_stays_on_its_node() {
        let Some((a, b)) = two_nodes().await else {
            return;
        };
        let room = fresh_room();
        let mut on_a = a.subscribe(&room).await;
        let mut on_b = b.subscribe(&room).await;
        a.publish_local(&room, message(&room, 1)).await;
        assert_eq!(next(&mut on_a).await.and_then(|e| e.seq()), Some(1));
        assert!(quiet(&mut on_b).await);
    }

    #[tokio::test]
    async fn each_node_sees_who_is_present_on_the_others() {
        let Some((a, b)) = two_nodes().await else {
            return;
        };
        let b: Arc<dyn PresenceGossip> = Arc::new(b);
        let board_on_b = Arc::new(crate::presence::PresenceBoard::new());
        tokio::spawn(crate::presence::absorb_remote(
            Arc::downgrade(&board_on_b),
            Arc::downgrade(&b),
        ));
        let room = fresh_room();
        let mut beat = Heartbeat {
            room: room.clone(),
            user: UserId::new("ann"),
            name: "Ann".into(),
            status: Some(protocol::Presence::Active),
        };
        // b subscribes in the background; beat (as clients do) until it hears.
        let present_on_b = |beat: Heartbeat| {
            let (a, board) = (&a, &board_on_b);
            async move {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                loop {
                    a.share_heartbeat(&beat).await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let names: Vec<String> = board
                        .present(&beat.room)
                        .into_iter()
                        .map(|p| p.name)
                        .collect();
                    if names.is_empty() == beat.status.is_none()
                        || tokio::time::Instant::now() > deadline
                    {
                        return names;
                    }
                }
            }
        };
        assert_eq!(present_on_b(beat.clone()).await, vec!["Ann".to_owned()]);
        beat.status = None;
        assert!(present_on_b(beat).await.is_empty(), "leaving reaches b too");
    }
}
