//! `PresenceGossip`: presence heartbeats shared between nodes.
//!
//! Presence is soft state each node keeps in memory ([`crate::presence`]).
//! With several nodes, every heartbeat a node receives is told to the others
//! so each knows everyone present on any node; the NATS bus carries them
//! ([`crate::nats`]), and a single node ([`LocalBus`](crate::bus::LocalBus))
//! has no one to tell.

use async_trait::async_trait;
use protocol::{Presence, RoomId, UserId};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

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

/// Heartbeats between nodes.
#[async_trait]
pub trait PresenceGossip: Send + Sync + 'static {
    /// Tells the other nodes about a presence heartbeat this node received,
    /// so that each knows everyone present on any node.
    async fn share_heartbeat(&self, beat: &Heartbeat);

    /// Heartbeats the other nodes share, as they arrive; `None` where there
    /// are no other nodes. Called once, when the app starts.
    async fn remote_heartbeats(&self) -> Option<mpsc::Receiver<Heartbeat>>;
}
