//! `Config`: the chat's tunables, and the one place the environment is read.
//!
//! [`Config::default`] is pure: no environment, no working directory, so a
//! test or an embedding host gets the same settings wherever it runs.
//! [`Config::from_env`] is what a binary calls: the defaults, then the
//! `BACKCHANNEL_*` variables documented in docs/OPERATING.md
//! (`BACKCHANNEL_POST_LIMIT`, `BACKCHANNEL_UI_DIR`,
//! `BACKCHANNEL_CLOCK_OFFSET_SECS`). A value that does not parse is logged
//! and ignored, never fatal.

use crate::clock::Clock;
use chrono::TimeDelta;
use std::path::PathBuf;
use std::time::Duration;

/// Typing notices a user may send per [`TYPING_WINDOW_SECS`]; clients send
/// one every few seconds while the user types, extra ones are refused.
pub const TYPING_NOTICES_PER_WINDOW: u32 = 3;
pub const TYPING_WINDOW_SECS: u64 = 6;

/// Default largest upload: 25 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 25 * 1024 * 1024;

/// The environment variable holding a clock offset in whole seconds.
pub const OFFSET_ENV: &str = "BACKCHANNEL_CLOCK_OFFSET_SECS";
/// The environment variable holding a post limit, `N/SECS`.
pub const POST_LIMIT_ENV: &str = "BACKCHANNEL_POST_LIMIT";
/// The environment variable holding a page write limit, `N/SECS`.
pub const PAGE_WRITE_LIMIT_ENV: &str = "BACKCHANNEL_PAGE_WRITE_LIMIT";
/// The environment variable naming the wasm bundle's directory.
pub const UI_DIR_ENV: &str = "BACKCHANNEL_UI_DIR";

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
    pub rate_window: Duration,
    /// Where uploaded files are kept (content-addressed).
    pub files_dir: PathBuf,
    /// Largest accepted upload in bytes (default 25 MiB).
    pub max_upload_bytes: u64,
    /// Uploads a user may make per minute.
    pub uploads_per_minute: u32,
    /// Page writes (save, create, move, delete) a user may make per
    /// `page_write_window` through the host wiki's forms and API.
    pub page_writes_per_window: u32,
    pub page_write_window: Duration,
    /// Stamps messages and tells the transcript publisher which day it is;
    /// the system clock unless a test shifts it.
    pub clock: Clock,
}

impl Default for Config {
    /// Reads no environment. Uploads go to a scratch directory under the
    /// system's temporary directory: an embedding binary sets its own (the
    /// wiki uses `<data>/files`).
    fn default() -> Self {
        let (posts_per_window, rate_window) = DEFAULT_POST_LIMIT;
        Self {
            ui_dir: build_tree_ui_dir(),
            max_body_bytes: protocol::MAX_BODY_BYTES,
            posts_per_window,
            rate_window,
            files_dir: std::env::temp_dir().join("backchannel-files"),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            uploads_per_minute: 20,
            page_writes_per_window: DEFAULT_PAGE_WRITE_LIMIT.0,
            page_write_window: DEFAULT_PAGE_WRITE_LIMIT.1,
            clock: Clock::system(),
        }
    }
}

impl Config {
    /// [`Config::default`] with the `BACKCHANNEL_*` environment applied:
    /// `BACKCHANNEL_POST_LIMIT=N/SECS`, `BACKCHANNEL_PAGE_WRITE_LIMIT=N/SECS`,
    /// `BACKCHANNEL_UI_DIR=<dir>` and
    /// `BACKCHANNEL_CLOCK_OFFSET_SECS=<seconds>` (a testing aid).
    pub fn from_env() -> Self {
        let defaults = Self::default();
        let (posts_per_window, rate_window) =
            post_limit_from_env().unwrap_or((defaults.posts_per_window, defaults.rate_window));
        let (page_writes_per_window, page_write_window) = limit_from_env(PAGE_WRITE_LIMIT_ENV)
            .unwrap_or((defaults.page_writes_per_window, defaults.page_write_window));
        Self {
            ui_dir: std::env::var_os(UI_DIR_ENV)
                .map(PathBuf::from)
                .unwrap_or(defaults.ui_dir.clone()),
            posts_per_window,
            rate_window,
            page_writes_per_window,
            page_write_window,
            clock: clock_from_env(),
            ..defaults
        }
    }
}

/// 30 posts per 10 seconds per user.
const DEFAULT_POST_LIMIT: (u32, Duration) = (30, Duration::from_secs(10));

/// 60 page writes per 60 seconds per user: a person saving, moving or
/// deleting pages by hand never comes near it, a script filling the disk
/// with revisions is slowed to one write a second.
const DEFAULT_PAGE_WRITE_LIMIT: (u32, Duration) = (60, Duration::from_secs(60));

/// Where `cargo xtask build-ui` puts the bundle: `target/ui` in the
/// workspace this binary was built from.
fn build_tree_ui_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/ui"))
}

/// `BACKCHANNEL_POST_LIMIT=N/SECS` (e.g. `30/10`): posts a user may make per
/// SECS seconds. A value that does not parse is reported and ignored.
fn post_limit_from_env() -> Option<(u32, Duration)> {
    let value = std::env::var(POST_LIMIT_ENV).ok()?;
    let parsed = parse_post_limit(&value);
    if parsed.is_none() {
        tracing::warn!(%value, "{POST_LIMIT_ENV} should look like 30/10 (posts/seconds); using the default");
    }
    parsed
}

/// A `N/SECS` limit from `env`; a value that does not parse is reported
/// and ignored.
fn limit_from_env(env: &str) -> Option<(u32, Duration)> {
    let value = std::env::var(env).ok()?;
    let parsed = parse_post_limit(&value);
    if parsed.is_none() {
        tracing::warn!(%value, "{env} should look like 60/60 (writes/seconds); using the default");
    }
    parsed
}

fn parse_post_limit(value: &str) -> Option<(u32, Duration)> {
    let (posts, seconds) = value.trim().split_once('/')?;
    let posts: u32 = posts.trim().parse().ok().filter(|p| *p > 0)?;
    let seconds: u64 = seconds.trim().parse().ok().filter(|s| *s > 0)?;
    Some((posts, Duration::from_secs(seconds)))
}

/// The system clock shifted by `BACKCHANNEL_CLOCK_OFFSET_SECS` if set.
/// A value that does not parse is reported and ignored; a shift is
/// logged loudly, because a production server should never run one.
fn clock_from_env() -> Clock {
    let Ok(value) = std::env::var(OFFSET_ENV) else {
        return Clock::system();
    };
    match parse_offset(&value) {
        Some(offset) => {
            tracing::warn!(
                seconds = offset.num_seconds(),
                "{OFFSET_ENV} is set: the chat clock is shifted (a testing aid; \
                 messages get shifted times)"
            );
            Clock::shifted(offset)
        }
        None => {
            tracing::warn!(%value, "{OFFSET_ENV} should be a whole number of seconds; ignoring it");
            Clock::system()
        }
    }
}

/// `-3600`, `86395`, ` 5 `: whole seconds within ±100 years (beyond that
/// chrono's dates would overflow; no test needs it).
fn parse_offset(value: &str) -> Option<TimeDelta> {
    const LIMIT: i64 = 100 * 366 * 24 * 3600;
    let seconds: i64 = value.trim().parse().ok()?;
    (seconds.abs() <= LIMIT).then(|| TimeDelta::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_limits_parse_or_are_refused() {
        assert_eq!(
            parse_post_limit("30/10"),
            Some((30, Duration::from_secs(10)))
        );
        assert_eq!(
            parse_post_limit(" 5 / 1 "),
            Some((5, Duration::from_secs(1)))
        );
        for bad in ["", "30", "0/10", "30/0", "x/10", "-1/5"] {
            assert_eq!(parse_post_limit(bad), None, "{bad}");
        }
    }

    #[test]
    fn offsets_parse_or_are_refused() {
        assert_eq!(parse_offset("-3600"), Some(TimeDelta::hours(-1)));
        assert_eq!(parse_offset(" 86395 "), Some(TimeDelta::seconds(86_395)));
        assert_eq!(parse_offset("0"), Some(TimeDelta::zero()));
        for bad in ["", "1.5", "1h", "99999999999999"] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn defaults_do_not_depend_on_the_working_directory() {
        let config = Config::default();
        assert!(config.files_dir.is_absolute(), "{:?}", config.files_dir);
        assert!(config.ui_dir.is_absolute(), "{:?}", config.ui_dir);
        assert_eq!(config.clock, Clock::system());
    }
}
