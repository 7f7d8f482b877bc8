//! `AppState`: the cheap-to-clone handle every handler receives.

use crate::bus::Bus;
use crate::host::Host;
use crate::store::Store;
use std::path::PathBuf;
use std::sync::Arc;

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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ui_dir: default_ui_dir(),
            max_body_bytes: protocol::MAX_BODY_BYTES,
            posts_per_window: 30,
            rate_window: std::time::Duration::from_secs(10),
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
    pub config: Config,
    /// Per-user post budget.
    pub post_limiter: crate::limit::RateLimiter,
}

impl AppState {
    pub fn new(
        host: Arc<dyn Host>,
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        config: Config,
    ) -> Self {
        let post_limiter =
            crate::limit::RateLimiter::new(config.posts_per_window, config.rate_window);
        Self(Arc::new(Shared {
            host,
            store,
            bus,
            config,
            post_limiter,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
