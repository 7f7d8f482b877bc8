//! `AppState`: the cheap-to-clone handle every handler receives.

use crate::bus::{Bus, NodeLink};
use crate::gossip::PresenceGossip;
use crate::host::Host;
use crate::presence::PresenceBoard;
use crate::store::Store;
use std::path::PathBuf;
use std::sync::Arc;

/// Typing notices a user may send per [`TYPING_WINDOW_SECS`]; clients send
/// one every few seconds while the user types, extra ones are refused.
pub const TYPING_NOTICES_PER_WINDOW: u32 = 3;
pub const TYPING_WINDOW_SECS: u64 = 6;

/// Tunables, with defaults that suit a single small install.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory holding the built wasm bundle (`backchannel.js`,
    /// `backchannel_bg.wasm`), served under `/assets/ui/`.
    pub ui_dir: PathBuf,
    /// Largest accepted message body in bytes.
    pub max_body_bytes: usize,
    /// Messages a user may post per `rate_window`, across all rooms.
    pub posts_per_window: u32,
    pub rate_window: std::time::Duration,
    /// Where uploaded files are kept (content-addressed).
    pub files_dir: PathBuf,
    /// Largest accepted upload in bytes (default 25 MiB).
    pub max_upload_bytes: u64,
    /// Uploads a user may make per minute.
    pub uploads_per_minute: u32,
    /// Stamps messages and tells the transcript publisher which day it is;
    /// the system clock unless a test shifts it.
    pub clock: crate::clock::Clock,
}

impl Default for Config {
    fn default() -> Self {
        let (posts_per_window, rate_window) = post_limit_from_env().unwrap_or(DEFAULT_POST_LIMIT);
        Self {
            ui_dir: default_ui_dir(),
            max_body_bytes: protocol::MAX_BODY_BYTES,
            posts_per_window,
            rate_window,
            files_dir: crate::files::default_files_dir(),
            max_upload_bytes: crate::files::DEFAULT_MAX_UPLOAD_BYTES,
            uploads_per_minute: 20,
            clock: crate::clock::Clock::system(),
        }
    }
}

/// 30 posts per 10 seconds per user.
const DEFAULT_POST_LIMIT: (u32, std::time::Duration) = (30, std::time::Duration::from_secs(10));

/// `BACKCHANNEL_POST_LIMIT=N/SECS` (e.g. `30/10`): posts a user may make per
/// SECS seconds. A value that does not parse is reported and ignored.
fn post_limit_from_env() -> Option<(u32, std::time::Duration)> {
    let value = std::env::var("BACKCHANNEL_POST_LIMIT").ok()?;
    let parsed = parse_post_limit(&value);
    if parsed.is_none() {
        tracing::warn!(%value, "BACKCHANNEL_POST_LIMIT should look like 30/10 (posts/seconds); using the default");
    }
    parsed
}

fn parse_post_limit(value: &str) -> Option<(u32, std::time::Duration)> {
    let (posts, seconds) = value.trim().split_once('/')?;
    let posts: u32 = posts.trim().parse().ok().filter(|p| *p > 0)?;
    let seconds: u64 = seconds.trim().parse().ok().filter(|s| *s > 0)?;
    Some((posts, std::time::Duration::from_secs(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_limits_parse_or_are_refused() {
        assert_eq!(
            parse_post_limit("30/10"),
            Some((30, std::time::Duration::from_secs(10)))
        );
        assert_eq!(
            parse_post_limit(" 5 / 1 "),
            Some((5, std::time::Duration::from_secs(1)))
        );
        for bad in ["", "30", "0/10", "30/0", "x/10", "-1/5"] {
            assert_eq!(parse_post_limit(bad), None, "{bad}");
        }
    }
}

/// Where `cargo xtask build-ui` puts the bundle: `BACKCHANNEL_UI_DIR` if set,
/// else `target/ui` in the workspace this binary was built from.
pub fn default_ui_dir() -> PathBuf {
    std::env::var_os("BACKCHANNEL_UI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/ui")))
}

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
    pub post_limiter: crate::limit::RateLimiter,
    /// Per-user budget for typing notices.
    pub typing_limiter: crate::limit::RateLimiter,
    /// Who is in which room now, on every node.
    pub presence: Arc<PresenceBoard>,
    /// Marks transcript days for publishing.
    pub transcripts: crate::transcripts::Transcripts,
    /// Where file bytes live.
    pub blobs: Arc<dyn crate::files::Blobs>,
    /// Per-user upload budget.
    pub upload_limiter: crate::limit::RateLimiter,
    /// The page each room seen so far belongs to (see [`crate::chat::RoomPages`]).
    pub room_pages: crate::chat::RoomPages,
}

impl AppState {
    pub fn new(
        host: Arc<dyn Host>,
        store: Arc<dyn Store>,
        bus: Arc<dyn NodeLink>,
        config: Config,
    ) -> Self {
        let gossip: Arc<dyn PresenceGossip> = Arc::clone(&bus) as _;
        let bus: Arc<dyn Bus> = bus;
        let post_limiter =
            crate::limit::RateLimiter::new(config.posts_per_window, config.rate_window);
        let typing_limiter = crate::limit::RateLimiter::new(
            TYPING_NOTICES_PER_WINDOW,
            std::time::Duration::from_secs(TYPING_WINDOW_SECS),
        );
        let presence = Arc::new(PresenceBoard::new());
        // Outside a runtime (some unit tests) nothing expires presence; the
        // server always builds its state inside one.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(crate::presence::sweep_forever(
                Arc::downgrade(&presence),
                Arc::downgrade(&bus),
            ));
            runtime.spawn(crate::presence::absorb_remote(
                Arc::downgrade(&presence),
                Arc::downgrade(&gossip),
            ));
        }
        let (transcripts, touches) = crate::transcripts::Transcripts::new();
        let blobs = Arc::new(crate::files::DiskBlobs::new(config.files_dir.clone()));
        let upload_limiter = crate::limit::RateLimiter::new(
            config.uploads_per_minute,
            std::time::Duration::from_secs(60),
        );
        let shared = Arc::new(Shared {
            host,
            store,
            bus,
            gossip,
            config,
            post_limiter,
            typing_limiter,
            presence,
            transcripts,
            blobs,
            upload_limiter,
            room_pages: crate::chat::RoomPages::default(),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(crate::transcripts::publish_forever(
                Arc::downgrade(&shared),
                touches,
            ));
        }
        Self(shared)
    }

    /// The state behind a weak handle a background task kept.
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self(shared)
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
