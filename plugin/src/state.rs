//! `AppState`: the cheap-to-clone handle every handler receives.
//!
//! Building one starts nothing: the background work (presence expiry and
//! gossip, transcript publishing) starts from
//! [`start_background`](crate::background::start_background), so a test or a
//! one-shot command decides whether it runs.

use crate::blobs::{Blobs, DiskBlobs};
use crate::bus::{Bus, NodeLink};
use crate::cache::UserCache;
use crate::config::{Config, TYPING_NOTICES_PER_WINDOW, TYPING_WINDOW_SECS};
use crate::gossip::PresenceGossip;
use crate::host::Host;
use crate::limit::RateLimiter;
use crate::presence::PresenceBoard;
use crate::publisher::{Publisher, Transcripts};
use crate::rooms::RoomPages;
use crate::store::{ProfileRecord, Store};
use std::sync::Arc;
use std::time::Duration;

/// How long a node trusts what it cached about a person: a change made on
/// another node shows here within this.
pub const PROFILE_TTL: Duration = Duration::from_secs(30);
/// People whose profile a node keeps cached at once.
const PROFILE_CACHE_ENTRIES: usize = 10_000;

/// Shared state behind every handler. Clone is an `Arc` bump.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] points at.
pub struct Shared {
    pub host: Arc<dyn Host>,
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    /// Presence heartbeats to and from the other nodes.
    pub gossip: Arc<dyn PresenceGossip>,
    pub config: Config,
    /// Per-user post budget.
    pub post_limiter: RateLimiter,
    /// Per-user budget for typing notices.
    pub typing_limiter: RateLimiter,
    /// Per-user budget for message edits and deletions, together.
    pub edit_limiter: RateLimiter,
    /// Per-user budget for presence changes and heartbeats.
    pub presence_limiter: RateLimiter,
    /// Per-user budget for read marks.
    pub read_limiter: RateLimiter,
    /// Per-user budget for rooms created by macro views.
    pub room_limiter: RateLimiter,
    /// Per-user budget for invitations, direct chats and group rooms.
    pub invite_limiter: RateLimiter,
    /// Per-user budget for profile writes (texts and pictures).
    pub profile_limiter: RateLimiter,
    /// Profiles as stored (`None`: the person never saved one), so that
    /// resolving a caller's display name or a list of faces seldom costs a
    /// query (see [`crate::profiles`]).
    pub profile_cache: UserCache<Option<ProfileRecord>>,
    /// The host's names for people (`None`: the host knows nobody by that
    /// id), for faces of people without a display name.
    pub host_names: UserCache<Option<String>>,
    /// Who is in which room now, on every node.
    pub presence: Arc<PresenceBoard>,
    /// Marks transcript days for publishing.
    pub transcripts: Transcripts,
    /// Writes transcript days to the host (its worker drains `transcripts`).
    pub publisher: Publisher,
    /// Where file bytes live.
    pub blobs: Arc<dyn Blobs>,
    /// Per-user upload budget.
    pub upload_limiter: RateLimiter,
    /// The page each room seen so far belongs to (see [`RoomPages`]).
    pub room_pages: RoomPages,
    /// Held shared from storing an upload's bytes until its message is
    /// committed, and exclusively while unreferenced blobs are removed, so
    /// a collection never takes bytes a message is about to reference
    /// (see [`crate::collector`]).
    pub blob_gate: tokio::sync::RwLock<()>,
}

impl AppState {
    /// The state handlers share. Starts no task (see the module doc).
    pub fn new(
        host: Arc<dyn Host>,
        store: Arc<dyn Store>,
        bus: Arc<dyn NodeLink>,
        config: Config,
    ) -> Self {
        let gossip: Arc<dyn PresenceGossip> = Arc::clone(&bus) as _;
        let bus: Arc<dyn Bus> = bus;
        let post_limiter = RateLimiter::new(config.posts_per_window, config.rate_window);
        let typing_limiter = RateLimiter::new(
            TYPING_NOTICES_PER_WINDOW,
            Duration::from_secs(TYPING_WINDOW_SECS),
        );
        let upload_limiter = RateLimiter::new(config.uploads_per_minute, Duration::from_secs(60));
        let edit_limiter = RateLimiter::for_rate(config.edit_limit);
        let presence_limiter = RateLimiter::for_rate(config.presence_limit);
        let read_limiter = RateLimiter::for_rate(config.read_limit);
        let room_limiter = RateLimiter::for_rate(config.room_limit);
        let invite_limiter = RateLimiter::for_rate(config.invite_limit);
        let profile_limiter = RateLimiter::for_rate(config.profile_limit);
        let publisher = Publisher::new(Arc::clone(&store), Arc::clone(&host), config.clock);
        let blobs = Arc::new(DiskBlobs::new(config.files_dir.clone()));
        Self(Arc::new(Shared {
            host,
            store,
            bus,
            gossip,
            config,
            post_limiter,
            typing_limiter,
            edit_limiter,
            presence_limiter,
            read_limiter,
            room_limiter,
            invite_limiter,
            profile_limiter,
            profile_cache: UserCache::new(PROFILE_TTL, PROFILE_CACHE_ENTRIES),
            host_names: UserCache::new(PROFILE_TTL, PROFILE_CACHE_ENTRIES),
            presence: Arc::new(PresenceBoard::new()),
            transcripts: Transcripts::new(),
            publisher,
            blobs,
            upload_limiter,
            room_pages: RoomPages::default(),
            blob_gate: tokio::sync::RwLock::new(()),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
